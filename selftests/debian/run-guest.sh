#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the Debian 12 guest (image.sh) in a topology and run its tests.
#
#   run-guest.sh [--shell] [--timeout SECONDS] DEBDIR TOPOLOGY OUTDIR
#
# The machine is the one selftests/vm/run-guest.sh boots for the busybox
# guests (gs_qemu_topology), with the image's own kernel (the modules and
# headers inside the image must match the running kernel, so kernels.sh's
# is not used) and a throw-away qcow2 overlay on the cached image, so every
# boot starts from the same clean system.  Two 9p shares: OUTDIR/share,
# made afresh for the run (guest-run.sh as run.sh, tests/*.sh, the .debs of
# DEBDIR, the TAP helpers, the topology file: a copy, because bash reads a
# script in pieces and a file edited mid-run breaks the run), and the
# repository itself, read-only.  The guest's console goes to
# OUTDIR/console.log, what the tests print to OUTDIR/results.txt.
# --shell boots the same guest with its console on this terminal (root, no
# password; the shares are not mounted, the tests do not run).
#
# Exit status: 0 when the guest reported completion, 2 when it did not
# (died, hung past the timeout), 1 on usage errors.
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"

shell=0
timeout=${GPUSCHED_DEBIAN_VM_TIMEOUT:-2400}
while [ $# -gt 0 ]; do
	case $1 in
	--shell) shell=1; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 3 ] || gs_die "usage: run-guest.sh [--shell] [--timeout S] DEBDIR TOPOLOGY OUTDIR"
debdir=$1 topology=$2 outdir=$3
here=$GS_TOP/selftests/debian

eval "$("$here/image.sh")"
gs_qemu_topology "$topology"

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
share=$outdir/share
rm -rf "$share" "$outdir/console.log" "$outdir/results.txt"
mkdir -p "$share/tests" "$share/debs"
install -m 755 "$here/guest-run.sh" "$share/run.sh"
install -m 644 "$GS_TOP/selftests/e2e/tap.sh" "$share/tap.sh"
install -m 644 "$here/tap-debian.sh" "$share/tap-debian.sh"
install -m 644 "$GS_TOPOLOGIES/$topology" "$share/topology"
echo "${GPUSCHED_DEBIAN_SUITE_TIMEOUT:-900}" >"$share/suite-timeout"
# Only the executable tests run; the copy keeps the mode.
cp -p "$here"/tests/*.sh "$share/tests/" 2>/dev/null || true
# The dbgsym packages are not installed by anything.
for deb in "$debdir"/*.deb; do
	case $deb in *-dbgsym_*) ;; *) cp "$deb" "$share/debs/" ;; esac
done

overlay=$outdir/overlay.qcow2
rm -f "$overlay"
qemu-img create -q -f qcow2 -b "$IMAGE" -F qcow2 "$overlay"
trap 'rm -f "$overlay"' EXIT

# Devices on pcie.0 explicitly: the topology's pxb-pcie bridges would
# otherwise catch them ("Only PCI/PCIe bridges can be plugged into pxb-pcie").
args=("${GS_QEMU_ARGS[@]}" -nodefaults -display none -no-reboot
	-drive "file=$overlay,if=none,id=root,format=qcow2,cache=unsafe,discard=unmap"
	-device virtio-blk-pci,drive=root,bus=pcie.0
	-fsdev "local,id=host0,path=$share,security_model=none"
	-device virtio-9p-pci,fsdev=host0,mount_tag=host0,bus=pcie.0
	-fsdev "local,id=repo,path=$GS_TOP,security_model=none,readonly=on"
	-device virtio-9p-pci,fsdev=repo,mount_tag=repo,bus=pcie.0
	-kernel "$VMLINUZ" -initrd "$INITRD")
append="root=/dev/vda rw console=ttyS0 panic=-1 no5lvl"
# Under QEMU's emulation on two host cores a vCPU can wait tens of seconds
# for the host: during the DKMS builds the soft lockup detector (20 s) and
# the RCU stall detector (21 s) each fired once, on a compiler and a shell
# clearing a page, nowhere near the module.  watchdog_thresh=60 (its
# largest) reports a CPU stuck for 120 s, and so does the RCU stall
# timeout below; either still catches a CPU stuck for good.
append+=" watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120"
append+=$GS_KERNEL_ARGS

if [ "$shell" -eq 1 ]; then
	qemu-system-x86_64 "${args[@]}" -serial mon:stdio -append "$append"
	exit 0
fi

gs_log "Debian guest ($topology, $(basename "$(dirname "$IMAGE")")): booting; console in $outdir/console.log"
rc=0
timeout --kill-after=10 "$timeout" qemu-system-x86_64 "${args[@]}" \
	-chardev "file,id=console,path=$outdir/console.log" -serial chardev:console \
	-chardev "file,id=results,path=$outdir/results.txt" -serial chardev:results \
	-append "$append guest_test=1" </dev/null >"$outdir/qemu.log" 2>&1 || rc=$?
# The guest powers itself off once it has reported, and QEMU exits 0.
if [ $rc -eq 0 ] && grep -q '^=== done rc=' "$outdir/results.txt" 2>/dev/null; then
	exit 0
fi
case $rc in
0) gs_log "the Debian guest powered off without reporting completion" ;;
124 | 137) gs_log "the Debian guest did not finish within ${timeout}s" ;;
*) gs_log "QEMU exited with status $rc: $(tail -n 3 "$outdir/qemu.log")" ;;
esac
exit 2
