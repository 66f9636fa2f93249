#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make vm`: an interactive guest shell with gpusched.ko loaded.
#   vm.sh [KERNEL [TOPOLOGY]]     (defaults: 6.1 2s-smt)
# The selftests are in /tests, gpusched and gpuschedd in /usr/bin, the
# topologies in /etc/gpusched/topologies.
# Leave with `exit` (or Ctrl-A X).
set -euo pipefail
. "$(dirname "$0")/common.sh"

series=${1:-6.1}
topology=${2:-2s-smt}
gs_prepare_guest "$series"
"$GS_TOP/selftests/vm/mkinitramfs.sh" "$GS_OUT/initramfs-$KREL.cpio.gz" \
	"$GS_OUT/kmod-$KREL/kmod/gpusched.ko" "$GS_OUT/selftests" "$GS_OUT/guest-bin"
exec "$GS_TOP/selftests/vm/run-guest.sh" --shell "$VMLINUZ" \
	"$GS_OUT/initramfs-$KREL.cpio.gz" "$topology" "$GS_OUT/vm/shell"
