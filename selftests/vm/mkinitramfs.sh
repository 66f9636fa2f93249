#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test guest's initramfs.
#
#   mkinitramfs.sh OUTPUT MODULE.ko TESTDIR [BINDIR]
#
# It holds static busybox, /init (selftests/vm/init), the module as
# /lib/modules/gpusched.ko (and gpusched_kunit.ko when it was built beside it), every executable of TESTDIR under /tests and of
# BINDIR (gpusched, gpuschedd) under /usr/bin (binaries must be statically
# linked: the guest has no libc) and every topology file under
# /etc/gpusched/topologies.
set -euo pipefail
. "$(dirname "$0")/common.sh"

out=${1:?usage: mkinitramfs.sh OUTPUT MODULE.ko TESTDIR}
module=${2:?usage: mkinitramfs.sh OUTPUT MODULE.ko TESTDIR}
testdir=${3:?usage: mkinitramfs.sh OUTPUT MODULE.ko TESTDIR}
bindir=${4:-}

# A static binary has no PT_INTERP program header.
file_is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp makes it 0700; the guest's / must be searchable by unprivileged tests.
chmod 755 "$root"
mkdir -p "$root"/{bin,usr/bin,dev,proc,sys,tmp,lib/modules,tests,etc/gpusched/topologies}
cp /bin/busybox "$root/bin/busybox"
cp "$GS_TOP/selftests/vm/init" "$root/init"
chmod 755 "$root/init"
install -m 755 "$GS_TOP/selftests/vm/demo-guest.sh" "$root/etc/gpusched/demo.sh"
install -m 644 "$GS_TOP/selftests/e2e/tap.sh" "$root/etc/gpusched/e2e-tap.sh"
cp "$module" "$root/lib/modules/gpusched.ko"
# The KUnit test module, where the harness built one beside it.
[ -f "${module%/*}/gpusched_kunit.ko" ] &&
	cp "${module%/*}/gpusched_kunit.ko" "$root/lib/modules/gpusched_kunit.ko"
for test in "$testdir"/*; do
	[ -f "$test" ] && [ -x "$test" ] || continue
	if ! file_is_static "$test"; then
		gs_die "$test is dynamically linked; the guest has no libc"
	fi
	cp "$test" "$root/tests/"
done
for program in ${bindir:+"$bindir"/*}; do
	[ -f "$program" ] && [ -x "$program" ] || continue
	file_is_static "$program" || gs_die "$program is dynamically linked; the guest has no libc"
	cp "$program" "$root/usr/bin/"
done
# The users the permission tests become, and the group the packaged udev
# rule gives the device to (init applies the rule: the guest has no udev).
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/:/bin/sh
gsuser2:x:65533:65533:second user:/:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
gpusched:x:990:
gsuser2:x:65533:
nogroup:x:65534:
EOF
for topo in "$GS_TOPOLOGIES"/*; do
	[ "${topo##*/}" = README ] || cp "$topo" "$root/etc/gpusched/topologies/"
done
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --owner 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
