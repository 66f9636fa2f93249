#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make icount`: guest instructions per call, counted by a QEMU TCG plugin,
# so that the cost of PIN, UNPIN and the scheduler monitor can be compared
# with sched_setaffinity() and a bare ping-pong in numbers that do not
# depend on the emulator's speed (see Documentation/research-guide.rst).
#
#   icount.sh [--kernel SERIES] [--topology NAME] [--functions N]
#
# Boots one busybox guest (6.12 and 2s-smt by default) whose only suite is
# selftests/icount/guest.sh, with icount_plugin.c loaded into QEMU, and
# prints a table: per call, the mean, the median and the least
# instructions and the mean of those in the kernel; then the ratios of the
# medians, among them each launcher's instructions over a plain fork and
# exec of true against taskset's and numactl's; then, for each launcher,
# the pages it has mapped of its own file, libc, the loader and others
# when it execs true (icount_pages.c stops it there), which its launch
# row pays to map and to unmap.
# --functions N adds, for PIN, UNPIN, the sched_setaffinity() PIN is compared
# with, GET_INFO, the ping-pong without and with the monitor (and with
# --latency) and the
# launches, the N kernel functions that ran the most instructions (the
# guest's symbols name them: the module's taken before it is unloaded, the
# monitor's JIT-compiled BPF programs while it watches; code in no symbol
# is counted under the one before it).  Prints numbers and judges nothing;
# exits non-zero only when the guest or a probe failed.  Takes about 5
# minutes.
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"

series=6.12 topology=2s-smt functions=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) series=$2; shift 2 ;;
	--topology) topology=$2; shift 2 ;;
	--functions) functions=$2; shift 2 ;;
	*) gs_die "usage: icount.sh [--kernel SERIES] [--topology NAME] [--functions N]" ;;
	esac
done
[[ $functions =~ ^[0-9]+$ ]] || gs_die "--functions takes a count, not '$functions'"

gs_prepare_guest "$series"
dir=$GS_OUT/icount
rm -rf "$dir"
mkdir -p "$dir/tests" "$dir/bin"
cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
	-o "$dir/icount_plugin.so" "$GS_TOP/selftests/icount/icount_plugin.c" -lpthread
cc -std=c11 -O2 -Wall -Wextra -Werror -static -pthread -I"$GS_TOP/kmod/include/uapi" \
	-o "$dir/bin/icount_probe" "$GS_TOP/selftests/icount/icount_probe.c"
cp "$GS_OUT"/guest-bin/* "$dir/bin/"
cp "$GS_TOP/selftests/icount/guest.sh" "$dir/tests/icount"
"$GS_TOP/selftests/vm/mkinitramfs.sh" "$dir/initramfs.cpio.gz" \
	"$GS_OUT/kmod-$KREL/kmod/gpusched.ko" "$dir/tests" "$dir/bin"

# For the launch rows: Debian's true, taskset and numactl, and gpusched
# built as its package builds it (dpkg-buildflags, hardening=+all), under
# /opt/icount/bin with the libraries they load at their own paths.  The
# busybox guest has no libc, so they come as a second archive after the
# first, which the kernel unpacks over it.
gs_need_packages numactl dpkg-dev
flags=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)
(
	eval "$flags"
	make -s -C "$GS_TOP" OUT="$dir/pkg" "$dir/pkg/bin/gpusched"
)
extra=$dir/extra
mkdir -p "$extra/opt/icount/bin" "$extra/opt/icount/lib" "$extra/etc"
# Preloaded into a launcher to stop it at its execvp() (the pages rows).
cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
	-o "$extra/opt/icount/lib/icount_pages.so" "$GS_TOP/selftests/icount/icount_pages.c"
# Without the loader's cache every start would search for its libraries.
cp /etc/ld.so.cache "$extra/etc/"
cp /usr/bin/true /usr/bin/taskset /usr/bin/numactl "$dir/pkg/bin/gpusched" "$extra/opt/icount/bin/"
# ldd names a library "name => /path (address)" and the loader "/path (address)".
ldd "$extra"/opt/icount/bin/* |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' |
	sort -u | while read -r lib; do
		mkdir -p "$extra${lib%/*}"
		cp -L "$lib" "$extra$lib"
	done
# The kernel gives a directory that exists already the mode in the archive.
chmod -R go+rX "$extra"
(cd "$extra" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner 0:0) |
	gzip -1 >>"$dir/initramfs.cpio.gz"

plugin=$dir/icount_plugin.so
[ "$functions" -gt 0 ] && plugin+=,functions=on
# A boot that dies before /init (QEMU's multi-threaded TCG is seen to hit
# an "Oops: int3" while the kernel patches its code) is tried once more.
for attempt in 1 2; do
	rm -f "$dir/plugin.log"
	rc=0
	GPUSCHED_QEMU_EXTRA_ARGS="-plugin $plugin -d plugin -D $dir/plugin.log" \
		GPUSCHED_IOCTL_FUZZ_SECONDS=0 GPUSCHED_SUITE_TIMEOUT=600 \
		GPUSCHED_VM_TIMEOUT=${GPUSCHED_VM_TIMEOUT:-900} \
		"$GS_TOP/selftests/vm/run-guest.sh" "$VMLINUZ" "$dir/initramfs.cpio.gz" \
		"$topology" "$dir/vm" || rc=$?
	[ $rc -ne 0 ] && ! grep -q '^=== suite icount' "$dir/vm/results.txt" 2>/dev/null &&
		[ $attempt -eq 1 ] && gs_log "the guest died before its suite; booting it again" &&
		continue
	break
done
[ "$rc" -eq 0 ] || gs_die "the guest failed: $dir/vm/console.log"
if grep -q '^not ok' "$dir/vm/results.txt"; then
	grep -A5 '^not ok' "$dir/vm/results.txt" >&2
	gs_die "a probe failed in the guest: $dir/vm/results.txt"
fi

names=("PIN of this thread" "UNPIN of it" "sched_setaffinity() to the same CPUs"
	"sched_setaffinity() back" "getppid()" "GET_INFO"
	"PIN of a process of 16 threads" "UNPIN of it"
	"ping-pong round trip" "ping-pong, gpusched monitor watching"
	"ping-pong, monitor gone" "launch: fork, exec true" "launch: taskset -c 0 true"
	"launch: numactl --cpunodebind=0 true" "launch: gpusched exec, module"
	"launch: gpusched exec, fallback, file" "launch: exec, fallback, discovering"
	"ping-pong, monitor --latency watching")
printf 'guest instructions per call: %s, %s, kernel %s\n' "$series" "$topology" "$KREL"
printf '%-40s %8s %10s %10s %10s %10s\n' call calls mean median min kernel
while read -r _ _ kind _ calls _ total _ least _ kernel _ median; do
	printf '%-40s %8d %10.0f %10d %10d %10.0f\n' "${names[$kind]:-kind $kind}" "$calls" \
		"$((total / calls))" "$median" "$least" "$((kernel / calls))"
done < <(grep '^icount kind' "$dir/plugin.log")
# The ratios are of medians: a timer tick or a kernel worker that ran in a
# few calls moves a mean (the launch rows' by a few percent), not them.
awk '$1 == "icount" && $2 == "kind" { med[$3] = $13 }
	function launch(name, k) {
		if (med[k] && med[12] > med[11] && med[13] > med[11])
			printf "%s over a plain launch: %.0f, %.2fx taskset, %.2fx numactl\n",
				name, med[k] - med[11], (med[k] - med[11]) / (med[12] - med[11]),
				(med[k] - med[11]) / (med[13] - med[11])
	}
	END {
		if (med[2] && med[0]) printf "PIN / sched_setaffinity() %.2f\n", med[0] / med[2]
		if (med[3] && med[1]) printf "UNPIN / sched_setaffinity() back %.2f\n", med[1] / med[3]
		if (med[8] && med[9]) printf "ping-pong with the monitor %+.1f%%\n", (med[9] / med[8] - 1) * 100
		if (med[8] && med[17])
			printf "ping-pong with the monitor --latency %+.1f%%\n", (med[17] / med[8] - 1) * 100
		launch("taskset", 12)
		launch("numactl", 13)
		launch("gpusched exec, module", 14)
		launch("gpusched exec, fallback, file", 15)
		launch("gpusched exec, fallback, discovering", 16)
	}' "$dir/plugin.log"
# Pages mapped when each launcher execs true: counted by no plugin, read
# from /proc/PID/pagemap of the launcher stopped there.
sed -n 's/^# pages at execvp(), /pages at execvp(), /p' "$dir/vm/results.txt"
[ "$functions" -gt 0 ] || exit 0

# The guest's text symbols, by address, then each counted block under the
# symbol at or before it.
sed -n '/^=== icount-kallsyms$/,/^=== icount-kallsyms-end$/p' "$dir/vm/results.txt" |
	sed '1d;$d' | base64 -d | gunzip >"$dir/kallsyms"
for kind in 0 1 2 5 8 9 17 11 12 13 14 15 16; do
	calls=$(awk -v k="$kind" '$1 == "icount" && $3 == k { print $5 }' "$dir/plugin.log")
	[ -n "$calls" ] || continue
	printf '\n%s: instructions per call by function\n' "${names[$kind]}"
	{
		awk 'function pad(a) { a = sprintf("%16s", a); gsub(/ /, "0", a); return a }
			{ print pad($1), "S", $3, $4 }' "$dir/kallsyms"
		awk -v k="$kind" 'function pad(a) { a = sprintf("%16s", a); gsub(/ /, "0", a); return a }
			$1 == "icount-block" && $2 == k { print pad($3), "B", $4 }' "$dir/plugin.log"
	} | tr ' ' '\t' | LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2r |
		awk -F '\t' -v calls="$calls" '
		$2 == "S" { name = $3 ($4 == "" ? "" : " " $4); next }
		# A block before the first symbol is user space (the plugin sums it at 0).
		{ by[name == "" ? "(user space)" : name] += $3 }
		END { for (f in by) printf "%10.1f  %s\n", by[f] / calls, f }' |
		sort -rn | awk -v n="$functions" 'NR <= n'
done
