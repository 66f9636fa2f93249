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
if ! "$GS_TOP/selftests/vm/run-guest.sh" --demo "$VMLINUZ" \
	"$GS_OUT/initramfs-demo-$KREL.cpio.gz" "$topology" "$dir"; then
	tail -n 30 "$dir/console.log" >&2
	gs_die "the demo guest did not finish; its console is in $dir/console.log"
fi
grep -v '^=== done' "$dir/results.txt" | tr -d '\r'
