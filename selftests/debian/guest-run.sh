#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Inside the booted Debian guest (the image's guest-test.service runs it from
# the run's 9p share as /mnt/host/run.sh, its output on the results serial
# port): every executable tests/*.sh of the share, in name order, each a
# TAP suite framed by "=== suite NAME" and "=== end-suite NAME rc=N" the way
# selftests/check.sh reads the busybox guests, then the kernel log and the
# taint flags.  The suites get, in their environment:
#   GS_DEBS   the .debs built on the host (read-only share)
#   GS_REPO   the repository (read-only share)
#   GS_TAP    the TAP helpers (selftests/e2e/tap.sh)
#   GS_TOPOLOGY_FILE  the topology the guest was booted in
# and run as root, one after the other, so a later suite (Slurm) finds the
# node the earlier ones (the gpusched packages) left: installed, module
# loaded, gpuschedd running.
set -u
share=/mnt/host
export GS_DEBS=$share/debs GS_REPO=/mnt/repo GS_TAP=$share/tap.sh
export GS_TOPOLOGY_FILE=$share/topology
export GS_SUITE_TIMEOUT=${GS_SUITE_TIMEOUT:-$(cat "$share/suite-timeout" 2>/dev/null || echo 900)}
export DEBIAN_FRONTEND=noninteractive

echo "=== guest $(uname -r), systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), $(systemctl is-system-running)"
# The stand-in GPUs' drm modules still load after multi-user.target.
udevadm settle --timeout=60

for test in "$share"/tests/*.sh; do
	[ -x "$test" ] || continue
	name=${test##*/}
	name=${name%.sh}
	echo "=== suite $name"
	began=$(date +%s)
	timeout --kill-after=10 "$GS_SUITE_TIMEOUT" "$test" </dev/null 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "# $name: killed after ${GS_SUITE_TIMEOUT} s"
	echo "=== end-suite $name rc=$rc"
	echo "=== suite-time $name $(($(date +%s) - began))"
done

echo "=== journal (warnings and worse)"
journalctl -b -p warning --no-pager -o short-monotonic | tail -n 200
echo "=== dmesg"
dmesg
echo "=== taint-after $(cat /proc/sys/kernel/tainted)"
# The console goes on through the poweroff, where drivers the tests never
# touched may complain (virtio-gpu warns as its queues go away on 6.1):
# this line marks where the tests' part of the console ends.
echo "gpusched-guest-tests: finished, powering off" >/dev/kmsg
