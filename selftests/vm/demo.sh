#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: boots the 2s-smt guest (2 sockets x 2 cores x 2 threads, four
# stand-in GPUs, two per node), loads gpusched.ko, starts gpuschedd, runs a
# four-worker stand-in training job through `gpusched exec` and prints the
# topology and where every thread of every worker runs.
#   demo.sh [KERNEL [TOPOLOGY]]     (defaults: 6.1 2s-smt)
set -euo pipefail
. "$(dirname "$0")/common.sh"

series=${1:-6.1}
topology=${2:-2s-smt}
gs_prepare_guest "$series"
"$GS_TOP/selftests/vm/mkinitramfs.sh" "$GS_OUT/initramfs-demo-$KREL.cpio.gz" \
	"$GS_OUT/kmod-$KREL/kmod/gpusched.ko" /dev/null "$GS_OUT/guest-bin"
gs_log "booting the $topology guest on $KREL (about a minute under software emulation)"
dir=$GS_OUT/vm/demo
# QEMU's multi-threaded emulation of x86 text patching now and then hangs
# or kills a guest at boot (an "Oops: int3", or CPUs stuck in the int3
# handler), before /init runs; Documentation/testing.rst says more.  Such a
# boot is tried again, twice at most; the demo itself takes under a minute,
# so three minutes mean a hung boot.
for attempt in 1 2 3; do
	if "$GS_TOP/selftests/vm/run-guest.sh" --demo --timeout 180 "$VMLINUZ" \
		"$GS_OUT/initramfs-demo-$KREL.cpio.gz" "$topology" "$dir"; then
		grep -v '^=== done' "$dir/results.txt" | tr -d '\r'
		exit 0
	fi
	if [ "$attempt" -eq 3 ] || { [ -s "$dir/results.txt" ] &&
		! grep -q 'Oops: int3' "$dir/console.log"; }; then
		break
	fi
	mv "$dir/console.log" "$dir/console.attempt-$attempt.log"
	gs_log "the guest hung or died at boot (console in $dir/console.attempt-$attempt.log); booting it again"
done
tail -n 30 "$dir/console.log" >&2
gs_die "the demo guest did not finish; its console is in $dir/console.log"
