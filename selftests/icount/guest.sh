#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make icount` (selftests/icount/icount.sh), run by the
# test guest's /init as its only suite: gpuschedd feeds the module, then
# icount_probe makes the counted calls (PIN and the calls it is compared
# with; a pipe ping-pong without, with and again without `gpusched
# monitor` watching it), and the kernel's symbols are printed for the host
# to name the functions the instructions ran in.  TAP on stdout.
set -u
rounds=3000
log=/tmp/icount
mkdir -p "$log"
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; sed 's/^/# /' "$2"; }

gpuschedd --match 1234 --match 1af4 2>"$log/gpuschedd.log" &
daemon=$!
i=0
while [ "$(cat /sys/kernel/gpusched/nr_gpus 2>/dev/null || echo 0)" = 0 ] && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill "$daemon"
wait "$daemon"

if icount_probe pin "$rounds" >"$log/pin.out" 2>&1; then
	ok "the PIN rounds ran"
	cat "$log/pin.out"
else
	not_ok "the PIN rounds ran" "$log/pin.out"
fi

# Kind 8 without the monitor, 9 with it watching, 10 after it exited.
pingpong() {
	rm -f /tmp/icount-go
	icount_probe pingpong "$rounds" "$1" >"$log/pingpong-$1.out" 2>&1 &
	probe=$!
	if [ "$1" = 9 ]; then
		gpusched monitor --pid "$probe" --json >"$log/monitor.json" 2>"$log/monitor.err" &
		monitor=$!
		i=0
		while [ ! -s "$log/monitor.json" ] && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	touch /tmp/icount-go
	wait "$probe"
	rc=$?
	if [ "$1" = 9 ]; then
		kill "$monitor"
		wait "$monitor"
		[ -s "$log/monitor.json" ] || rc=1
		cat "$log/monitor.err" >>"$log/pingpong-$1.out"
	fi
	if [ $rc -eq 0 ]; then
		ok "ping-pong as kind $1"
	else
		not_ok "ping-pong as kind $1" "$log/pingpong-$1.out"
	fi
}
pingpong 8
pingpong 9
pingpong 10

echo "=== icount-kallsyms"
grep -i ' t ' /proc/kallsyms | gzip -c | base64
echo "=== icount-kallsyms-end"
echo "1..$n"
