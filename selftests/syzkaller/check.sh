#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Keeps selftests/syzkaller/dev_gpusched.txt honest against the uapi header
# without syzkaller: compares what can be compared mechanically and prints
# TAP (ok N / not ok N, plan 1..N at the end); exits non-zero on any
# mismatch.  Run as:
#
#   bash selftests/syzkaller/check.sh [DESCRIPTION [HEADER]]
#
# DESCRIPTION defaults to selftests/syzkaller/dev_gpusched.txt, HEADER to
# kmod/include/uapi/linux/gpusched.h, both of the tree the script is in.  It checks that:
#  - every GPUSCHED_IOC_* of the header has an ioctl$GPUSCHED_IOC_* call with
#    cmd const[GPUSCHED_IOC_*], and the description names no other;
#  - each such call passes the struct the module's dispatch table
#    (kmod/gpusched_main.c) gives that command;
#  - every struct of the header has a syzlang struct (or $variants), each
#    with the same field names in the same order;
#  - their layouts agree: offsetof/sizeof of every field and sizeof of every
#    struct, from a C program compiled against the header, against what
#    the syzlang types give (intN, const/flags/len/bitsize over intN,
#    ptr64, array[T, N], resources, unions, type aliases);
#  - the header's structs have no implicit padding (so one description
#    fits every arch);
#  - every flag and enum constant of the header appears in the description,
#    and every GPUSCHED_* the description names is in the header or is one
#    of its own defines;
#  - the device is opened as /dev/<name of the miscdevice> and returns
#    fd_gpusched, and the file is closed through close$gpusched.
# Needs cc and python3.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
desc=${1:-$top/selftests/syzkaller/dev_gpusched.txt}
header=${2:-$top/kmod/include/uapi/linux/gpusched.h}
main_c=$top/kmod/gpusched_main.c

for f in "$desc" "$header" "$main_c"; do
	if [ ! -r "$f" ]; then
		echo "check.sh: $f not found; check the path" >&2
		echo "1..1"
		echo "not ok 1 - inputs readable"
		exit 1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Step 1 (python): the header's structs -> a C program printing the layout.
python3 - "$header" >"$tmp/layout.c" <<'EOF' || { echo "1..1"; echo "not ok 1 - header parsed"; exit 1; }
import re, sys
src = open(sys.argv[1]).read()
src = re.sub(r'/\*.*?\*/', ' ', src, flags=re.S)
src = re.sub(r'//[^\n]*', ' ', src)
structs = re.findall(r'\bstruct\s+(\w+)\s*\{(.*?)\};', src, flags=re.S)
if not structs:
    sys.exit(1)
print('#include <stdio.h>\n#include <stddef.h>\n#include <linux/gpusched.h>\n')
print('int main(void)\n{')
for name, body in structs:
    print('\tprintf("struct %%s %%zu\\n", "%s", sizeof(struct %s));' % (name, name))
    for decl in body.split(';'):
        decl = decl.strip()
        if not decl:
            continue
        m = re.match(r'^[\w\s\*]*?\b(\w+)\s*(\[[^\]]*\])?$', decl)
        if not m:
            sys.exit(1)
        f = m.group(1)
        print('\tprintf("field %%s %%s %%zu %%zu\\n", "%s", "%s", offsetof(struct %s, %s), '
              'sizeof(((struct %s *)0)->%s));' % (name, f, name, f, name, f))
print('\treturn 0;\n}')
EOF

hdr_dir=$(dirname "$(dirname "$header")")
if ! cc -Wall -Werror -I"$hdr_dir" -o "$tmp/layout" "$tmp/layout.c" 2>"$tmp/cc.err" ||
   ! "$tmp/layout" >"$tmp/layout.txt"; then
	cat "$tmp/cc.err" >&2
	echo "1..1"
	echo "not ok 1 - layout program built against $header"
	exit 1
fi

# Step 2 (python): every comparison, as TAP.
python3 - "$desc" "$header" "$main_c" "$tmp/layout.txt" <<'EOF'
import re, sys

desc_path, header_path, main_path, layout_path = sys.argv[1:5]
results = []


def check(ok, what, details=()):
    results.append((bool(ok), what, list(details)))


# ---------------------------------------------------------------- header --
hsrc = open(header_path).read()
hsrc_nc = re.sub(r'/\*.*?\*/', ' ', hsrc, flags=re.S)
hsrc_nc = re.sub(r'//[^\n]*', ' ', hsrc_nc)

hdr_ioctls = {}     # GPUSCHED_IOC_X -> GPUSCHED_CMD_Y
for m in re.finditer(r'^\s*#\s*define\s+(GPUSCHED_IOC_\w+)\s+_IO\w*\s*\(\s*\w+\s*,\s*(\w+)',
                     hsrc_nc, flags=re.M):
    hdr_ioctls[m.group(1)] = m.group(2)
hdr_ioc_names = set(re.findall(r'\bGPUSCHED_IOC_\w+', hsrc_nc))

hdr_defines = set(re.findall(r'^\s*#\s*define\s+(GPUSCHED_\w+)', hsrc_nc, flags=re.M))
hdr_enum_members = set()
for body in re.findall(r'\benum\b[^{;]*\{(.*?)\}', hsrc_nc, flags=re.S):
    for item in body.split(','):
        item = item.strip()
        if item:
            hdr_enum_members.add(re.match(r'(\w+)', item).group(1))
hdr_consts = hdr_defines | hdr_enum_members

# C layout from the compiled program: struct -> (size, [(field, off, size)])
c_structs = {}
for line in open(layout_path):
    w = line.split()
    if w[0] == 'struct':
        c_structs[w[1]] = (int(w[2]), [])
    else:
        c_structs[w[1]][1].append((w[2], int(w[3]), int(w[4])))

# The module's dispatch table: GPUSCHED_CMD_X -> struct name.
msrc = open(main_path).read()
dispatch = dict(re.findall(r'GPUSCHED_IOCTL_OP\(\s*(GPUSCHED_CMD_\w+)\s*,\s*\w+\s*,\s*struct\s+(\w+)',
                           msrc))
misc_name = re.search(r'struct\s+miscdevice\s+\w+\s*=\s*\{[^}]*\.name\s*=\s*"([^"]+)"', msrc)

check(hdr_ioctls and c_structs,
      'header parsed: %d ioctls, %d structs' % (len(hdr_ioctls), len(c_structs)))
check(dispatch and set(dispatch) == set(hdr_ioctls.values()),
      'dispatch table of %s parsed, one entry per header command' % main_path,
      ['table: %s' % sorted(dispatch), 'header: %s' % sorted(hdr_ioctls.values())])

# ----------------------------------------------------------- description --
dlines = []
for raw in open(desc_path):
    s = raw.rstrip('\n')
    if s.lstrip().startswith('#'):
        continue
    dlines.append(s)
dtext = '\n'.join(dlines)


def split_top(s, sep=','):
    """Split s at sep outside brackets, quotes and parentheses."""
    out, depth, cur, q = [], 0, '', False
    for ch in s:
        if ch == '"':
            q = not q
        if not q:
            if ch in '[(':
                depth += 1
            elif ch in '])':
                depth -= 1
            elif ch == sep and depth == 0:
                out.append(cur.strip())
                cur = ''
                continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_type(s):
    """'a[b, c[d]]' -> ('a', ['b', 'c[d]']); literals stay strings."""
    s = s.strip()
    m = re.match(r'^([A-Za-z_]\w*(?:\$\w+)*)\s*(?:\[(.*)\])?$', s, flags=re.S)
    if not m:
        return (s, None)
    return (m.group(1), split_top(m.group(2)) if m.group(2) is not None else [])


def strip_attrs(s):
    """'T\t(out)' -> 'T'; a trailing top-level (...) is a field attribute."""
    s = s.strip()
    if s.endswith(')'):
        depth = 0
        for i in range(len(s) - 1, -1, -1):
            if s[i] == ')':
                depth += 1
            elif s[i] == '(':
                depth -= 1
                if depth == 0:
                    if i > 0 and s[:i].strip():
                        return s[:i].strip()
                    break
    return s


syscalls = []       # (name, [args], ret)
structs = {}        # name -> ([(field, type)], attrs)
unions = {}         # name -> [(field, type)]
aliases = {}        # name -> (params, type)
resources = {}      # name -> base
flagsets = {}       # name -> [values]
defines = {}        # name -> expr
lines = dlines
i = 0
while i < len(lines):
    line = lines[i].strip()
    i += 1
    if not line:
        continue
    m = re.match(r'^(struct|union)?\s*([A-Za-z_]\w*(?:\$\w+)*)\s*([\{\[])\s*$', line)
    if m:
        name, opener = m.group(2), m.group(3)
        closer = '}' if opener == '{' else ']'
        fields = []
        while i < len(lines) and not lines[i].strip().startswith(closer):
            fl = lines[i].strip()
            i += 1
            if not fl:
                continue
            fname, ftype = re.match(r'^(\S+)\s+(.*)$', fl).groups()
            fields.append((fname, strip_attrs(ftype)))
        end = lines[i].strip() if i < len(lines) else ''
        i += 1
        attrs = end[1:].strip()
        (structs if opener == '{' else unions)[name] = (fields, attrs) if opener == '{' else fields
        continue
    m = re.match(r'^resource\s+(\w+)\[(\w+)\]', line)
    if m:
        resources[m.group(1)] = m.group(2)
        continue
    m = re.match(r'^type\s+(\w+)(?:\[([^\]]*)\])?\s+(.*)$', line)
    if m:
        params = [p.strip() for p in m.group(2).split(',')] if m.group(2) else []
        aliases[m.group(1)] = (params, m.group(3).strip())
        continue
    m = re.match(r'^define\s+(\w+)\s+(.*)$', line)
    if m:
        defines[m.group(1)] = m.group(2)
        continue
    m = re.match(r'^(include|incdir)\s+<|^meta\s', line)
    if m:
        continue
    m = re.match(r'^(\w+)\s*=\s*(.*)$', line)
    if m:
        flagsets[m.group(1)] = [v.strip() for v in m.group(2).split(',')]
        continue
    m = re.match(r'^(\w+(?:\$\w+)*)\((.*?)\)\s*(\w+)?\s*(\(.*\))?$', line)
    if m:
        syscalls.append((m.group(1), split_top(m.group(2)), m.group(3)))
        continue
    check(False, 'description line understood: %r' % line)

# ----------------------------------------------------------------- ioctls --
desc_ioctls = {}    # GPUSCHED_IOC_X -> [(syscall, cmd const, arg type)]
for name, args, ret in syscalls:
    if not name.startswith('ioctl$'):
        continue
    argmap = {}
    for a in args:
        an, at = re.match(r'^(\w+)\s+(.*)$', a).groups()
        argmap[an] = at
    cmd = parse_type(argmap.get('cmd', ''))
    base = name.split('$')[1]
    if base.startswith('GPUSCHED_IOC_'):
        desc_ioctls.setdefault(base, []).append((name, cmd, argmap.get('arg')))

desc_ioc_names = set(re.findall(r'\bGPUSCHED_IOC_\w+', dtext))
for ioc in sorted(hdr_ioctls):
    calls = desc_ioctls.get(ioc, [])
    good = [c for c in calls if c[1][0] == 'const' and c[1][1] and c[1][1][0] == ioc]
    check(calls and len(good) == len(calls),
          'header ioctl %s has ioctl$%s with cmd const[%s]' % (ioc, ioc, ioc),
          ['calls: %s' % [c[0] for c in calls]])
extra = sorted(desc_ioc_names - set(hdr_ioctls))
check(not extra, 'description names no ioctl the header lacks',
      ['not in the header: %s' % extra])

# The struct each call passes against the module's dispatch table.
for ioc in sorted(hdr_ioctls):
    want = dispatch.get(hdr_ioctls[ioc])
    got = []
    for name, cmd, arg in desc_ioctls.get(ioc, []):
        t = parse_type(arg or '')
        if t[0] in ('ptr', 'ptr64') and t[1] and len(t[1]) >= 2:
            got.append(parse_type(t[1][1])[0])
        else:
            got.append(None)
    check(want and got and all(g and g.split('$')[0] == want for g in got),
          '%s passes struct %s, as the dispatch table has it' % (ioc, want),
          ['description passes: %s' % got])

# ---------------------------------------------------------------- layouts --
# Resources of syzkaller's sys/linux/sys.txt this description uses.
EXTERNAL_RESOURCES = {'fd': 'int32', 'pid': 'int32', 'fd_pidfd': 'fd', 'uid': 'int32',
                      'gid': 'int32'}
INT_SIZES = {'int8': 1, 'int16': 2, 'int32': 4, 'int64': 8, 'intptr': 8}


class Varlen(Exception):
    pass


def int_size(n):
    n = n[:-2] if n.endswith('be') else n
    if n in INT_SIZES:
        return INT_SIZES[n]
    if re.match(r'^int\d+:\d+$', n):
        raise ValueError('bitfield %s not handled' % n)
    return None


def subst(t, env):
    name, args = parse_type(t)
    if args is None:
        return t
    if not args and name in env:
        return env[name]
    if not args:
        return name
    return '%s[%s]' % (name, ', '.join(subst(a, env) for a in args))


def layout(t, seen=()):
    """(size, align) of a syzlang type as a struct field (amd64)."""
    name, args = parse_type(t)
    if args is None:
        raise ValueError('cannot size %r' % t)
    s = int_size(name)
    if s:
        return s, s
    if name in ('const', 'flags', 'len', 'bytesize', 'bytesize2', 'bytesize4', 'bytesize8',
                'bitsize', 'offsetof', 'proc'):
        if len(args) < 2:
            raise ValueError('%s without a base int: %s' % (name, t))
        return layout(args[-1], seen)
    if name in ('ptr64', 'vma64', 'ptr', 'vma'):
        return 8, 8
    if name == 'array':
        es, ea = layout(args[0], seen)
        if len(args) < 2:
            raise Varlen(t)
        n = args[1].replace(' ', '')
        if ':' in n:
            lo, hi = n.split(':')
            if lo != hi:
                raise Varlen(t)
            n = lo
        return es * int(n, 0), ea
    if name in resources:
        return layout(resources[name], seen)
    if name in EXTERNAL_RESOURCES:
        return layout(EXTERNAL_RESOURCES[name], seen)
    if name in aliases:
        params, body = aliases[name]
        return layout(subst(body, dict(zip(params, args))), seen)
    if name in structs:
        return struct_layout(name)[0:2]
    if name in unions:
        sizes = [layout(ft) for _, ft in unions[name]]
        return max(s for s, _ in sizes), max(a for _, a in sizes)
    raise ValueError('unknown type %r' % t)


def struct_layout(name):
    fields, attrs = structs[name]
    packed = 'packed' in attrs
    off, maxalign, out = 0, 1, []
    for fname, ftype in fields:
        size, align = layout(ftype)
        if packed:
            align = 1
        off = (off + align - 1) // align * align
        out.append((fname, off, size))
        off += size
        maxalign = max(maxalign, align)
    m = re.search(r'align\[(\d+)\]', attrs)
    if m:
        maxalign = int(m.group(1))
    total = (off + maxalign - 1) // maxalign * maxalign
    return total, maxalign, out


for cname in sorted(c_structs):
    csize, cfields = c_structs[cname]
    variants = sorted(n for n in structs if n.split('$')[0] == cname)
    check(variants, 'struct %s has a syzlang struct' % cname,
          ['no %s or %s$<variant> in the description' % (cname, cname)])
    names = [f for f, _, _ in cfields]
    padded = [f for (f, o, s), nxt in zip(cfields, cfields[1:] + [(None, csize, 0)])
              if o + s != nxt[1]]
    check(not padded, 'struct %s has no implicit padding' % cname,
          ['padding after: %s' % padded])
    for v in variants:
        snames = [f for f, _ in structs[v][0]]
        check(snames == names, '%s has the fields of struct %s, in order' % (v, cname),
              ['header:      %s' % ' '.join(names), 'description: %s' % ' '.join(snames)])
        try:
            ssize, _, sfields = struct_layout(v)
        except Varlen as e:
            check(False, '%s lays out like struct %s' % (v, cname),
                  ['variable-length field %s' % e])
            continue
        except ValueError as e:
            check(False, '%s lays out like struct %s' % (v, cname), [str(e)])
            continue
        diffs = []
        cmap = {f: (o, s) for f, o, s in cfields}
        for f, o, s in sfields:
            if f in cmap and cmap[f] != (o, s):
                diffs.append('%s: C offset %d size %d, syzlang offset %d size %d'
                             % (f, cmap[f][0], cmap[f][1], o, s))
        if ssize != csize:
            diffs.append('sizeof: C %d, syzlang %d' % (csize, ssize))
        check(not diffs, '%s lays out like struct %s (%d bytes)' % (v, cname, csize), diffs)

# -------------------------------------------------------------- constants --
# Numbering and limits, not argument values: the description has no use for
# them (GPUSCHED_CMD_* reach it through GPUSCHED_IOC_*).
NOT_ARGUMENTS = re.compile(r'^GPUSCHED_(CMD_\w+|TYPE|ABI_VERSION|MAX_GPUS)$')
desc_words = set(re.findall(r'\bGPUSCHED_\w+', dtext))
wanted = sorted(c for c in hdr_consts
                if not NOT_ARGUMENTS.match(c) and not c.startswith('GPUSCHED_IOC_'))
missing = [c for c in wanted if c not in desc_words]
check(not missing, 'description names all %d flag and enum constants of the header'
      % len(wanted), ['missing: %s' % missing])
unknown = sorted(w for w in desc_words if w not in hdr_consts and w not in defines)
check(not unknown, 'every GPUSCHED_* of the description is in the header or a define',
      ['unknown: %s' % unknown])

# ------------------------------------------------------------ open, close --
opens = [(n, a, r) for n, a, r in syscalls if n.startswith('openat$')]
path = '/dev/%s' % misc_name.group(1) if misc_name else None
ok_open = [o for o in opens if o[2] == 'fd_gpusched' and path and
           any('string["%s"]' % path in a for a in o[1])]
check(ok_open, 'openat$... opens %s and returns fd_gpusched' % path,
      ['openat variants: %s' % [(n, r) for n, _, r in opens]])
check(resources.get('fd_gpusched') == 'fd', 'resource fd_gpusched[fd]')
check(any(n.startswith('close$') and a == ['fd fd_gpusched'] for n, a, _ in syscalls),
      'close$... takes fd_gpusched')
wrong_fd = [n for n, a, _ in syscalls if n.startswith('ioctl$') and (not a or a[0] != 'fd fd_gpusched')]
check(not wrong_fd, 'every ioctl$ call takes fd fd_gpusched first', ['others: %s' % wrong_fd])

# -------------------------------------------------------------------- TAP --
failed = 0
for n, (ok, what, details) in enumerate(results, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, what))
    if not ok:
        failed += 1
        for d in details:
            print('#   %s' % d)
print('1..%d' % len(results))
if failed:
    print('# %d of %d failed' % (failed, len(results)))
sys.exit(1 if failed else 0)
EOF
