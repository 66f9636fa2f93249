#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot one guest under QEMU (software emulation) in a named topology.
#
#   run-guest.sh [--shell | --demo] [--timeout SECONDS] VMLINUZ INITRAMFS TOPOLOGY OUTDIR
#
# TOPOLOGY names a file in selftests/vm/topologies; this script turns it into
# the QEMU machine (sockets, cores, threads, NUMA nodes with their memory and
# distances, stand-in GPUs behind PCI expander bridges on their nodes).
# The guest's console goes to OUTDIR/console.log and its test results, sent
# over a second serial port, to OUTDIR/results.txt.  --shell instead gives an
# interactive shell on this terminal (Ctrl-A X leaves QEMU); --demo runs the
# demo (selftests/vm/demo-guest.sh) instead of the tests.
#
# Exit status: 0 when the guest reported completion, 2 when it died, hung
# past the timeout or exited without reporting, 1 on usage errors.
set -euo pipefail
. "$(dirname "$0")/common.sh"

shell=0
mode=test
timeout=${GPUSCHED_VM_TIMEOUT:-300}
while [ $# -gt 0 ]; do
	case $1 in
	--shell) shell=1; shift ;;
	--demo) mode=demo; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 4 ] || gs_die "usage: run-guest.sh [--shell | --demo] [--timeout S] VMLINUZ INITRAMFS TOPOLOGY OUTDIR"
vmlinuz=$1 initramfs=$2 topology=$3 outdir=$4

gs_qemu_topology "$topology"
args=("${GS_QEMU_ARGS[@]}" -nodefaults -display none -no-reboot)

append="console=ttyS0 panic=-1 oops=panic no5lvl gpusched_test.topology=$topology"
# The ioctl fuzzer runs this long in every guest (a suite gets a minute
# more than that to start and clean up); GPUSCHED_IOCTL_FUZZ_SEED replays
# the choices of a run.
fuzz_seconds=${GPUSCHED_IOCTL_FUZZ_SECONDS:-60}
suite_timeout=${GPUSCHED_SUITE_TIMEOUT:-120}
[ "$suite_timeout" -ge $((fuzz_seconds + 60)) ] || suite_timeout=$((fuzz_seconds + 60))
timeout=$((timeout + fuzz_seconds))
append+=" gpusched_test.suite_timeout=$suite_timeout gpusched_test.fuzz_seconds=$fuzz_seconds"
[ -n "${GPUSCHED_IOCTL_FUZZ_SEED:-}" ] && append+=" gpusched_test.fuzz_seed=$GPUSCHED_IOCTL_FUZZ_SEED"
# Fault injection makes the page allocator report failures: keep the whole
# kernel log anyway, for the check of it at the end.
append+=" log_buf_len=4M"
# Every slab cache keeps its own name in /sys/kernel/slab, so a test can
# count the struct pid objects a leak would pile up.
append+=" slab_nomerge"
# A vCPU of an emulated guest can wait tens of seconds for the host: report
# soft lockups and RCU stalls after 120 s rather than about 20 s (see
# selftests/debian/run-guest.sh).
append+=" watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120"
append+=$GS_KERNEL_ARGS
args+=(-kernel "$vmlinuz" -initrd "$initramfs" -device isa-debug-exit,iobase=0xf4,iosize=0x04)
# More QEMU arguments, split at spaces: `make icount` loads its TCG plugin so.
if [ -n "${GPUSCHED_QEMU_EXTRA_ARGS:-}" ]; then
	read -r -a extra <<<"$GPUSCHED_QEMU_EXTRA_ARGS"
	args+=("${extra[@]}")
fi

if [ "$shell" -eq 1 ]; then
	exec qemu-system-x86_64 "${args[@]}" -serial mon:stdio \
		-append "$append gpusched_test.mode=shell"
fi

mkdir -p "$outdir"
rm -f "$outdir/console.log" "$outdir/results.txt"
rc=0
timeout --kill-after=10 "$timeout" qemu-system-x86_64 "${args[@]}" \
	-chardev "file,id=console,path=$outdir/console.log" -serial chardev:console \
	-chardev "file,id=results,path=$outdir/results.txt" -serial chardev:results \
	-append "$append loglevel=7 gpusched_test.mode=$mode" </dev/null >"$outdir/qemu.log" 2>&1 || rc=$?
# The guest writes 0 to isa-debug-exit once it has reported everything.
case $rc in
1) grep -q '^=== done' "$outdir/results.txt" 2>/dev/null && exit 0
   gs_log "guest exited without reporting completion" ;;
124 | 137) gs_log "guest did not finish within ${timeout}s" ;;
0) gs_log "guest powered off or panicked before reporting" ;;
*) gs_log "QEMU exited with status $rc: $(tail -n 3 "$outdir/qemu.log")" ;;
esac
exit 2
