#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make icount` (selftests/icount/icount.sh), run by the
# test guest's /init as its only suite: gpuschedd feeds the module, then
# icount_probe makes the counted calls (PIN and the calls it is compared
# with; a pipe ping-pong without, with and again without `gpusched
# monitor` watching it; launches through taskset, numactl and `gpusched
# exec`), and the kernel's symbols are printed for the host to name the
# functions the instructions ran in.  TAP on stdout.
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

# Kind 8 without the monitor, 9 with it watching, 10 after it exited, 17
# with it watching and keeping latency histograms (--latency).
pingpong() {
	rm -f /tmp/icount-go
	icount_probe pingpong "$rounds" "$1" >"$log/pingpong-$1.out" 2>&1 &
	probe=$!
	if [ "$1" = 9 ] || [ "$1" = 17 ]; then
		latency=
		[ "$1" = 17 ] && latency=--latency
		# shellcheck disable=SC2086 # $latency is one word or none
		gpusched monitor --pid "$probe" $latency --json >"$log/monitor.json" \
			2>"$log/monitor.err" &
		monitor=$!
		i=0
		while [ ! -s "$log/monitor.json" ] && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		# Its programs' symbols, gone when it exits: they name the
		# JIT-compiled code in the function tables.
		grep ' bpf_prog_' /proc/kallsyms >>"$log/kallsyms-bpf"
	fi
	touch /tmp/icount-go
	wait "$probe"
	rc=$?
	if [ "$1" = 9 ] || [ "$1" = 17 ]; then
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
pingpong 17

# Launches of Debian's own binaries (icount.sh adds them, with their
# libraries, under $bin): a plain fork and exec of true, and the launchers
# that bind it to node 0's CPUs.  The plugin counts per vCPU, and a
# launched program has to run on the vCPU whose count it adds to, so every
# CPU but 0 goes offline first; the module keeps to the CPUs online.
# Kinds 11 plain, 12 taskset, 13 numactl, 14 gpusched exec through the
# module; with the module unloaded, 15 the fallback reading its file and
# 16 the fallback discovering the machine (GPUSCHED_CACHE_DIR empty).
bin=/opt/icount/bin
launch_rounds=$((rounds / 30))
exec_args="exec --gpu 0 --match 1234 --match 1af4 --"
launch() {
	kind=$1
	shift
	if icount_probe launch "$launch_rounds" "$kind" "$@" >"$log/launch-$kind.out" 2>&1; then
		ok "launches as kind $kind"
		grep '^#' "$log/launch-$kind.out"
	else
		not_ok "launches as kind $kind" "$log/launch-$kind.out"
	fi
}
# What a launcher has mapped when it execs its program (icount_pages.so
# stops it there): the pages the launch rows map, and unmap at exit.
# After the launches of the same kind, so that the files are in the page
# cache, where the kernel maps them from.
pages() {
	name=$1
	shift
	if icount_probe pages /opt/icount/lib/icount_pages.so "$@" >"$log/pages-$name.out" 2>&1
	then
		ok "pages mapped by $name at its execvp()"
		sed -n "s|^# pages at execvp() of [^,]*,|# pages at execvp(), $name,|p" \
			"$log/pages-$name.out"
	else
		not_ok "pages mapped by $name at its execvp()" "$log/pages-$name.out"
	fi
}
# Every CPU but 0 (which cannot go) offline (0) or online (1).
cpus_but_0() {
	for online in /sys/devices/system/cpu/cpu[0-9]*/online; do
		[ "$online" = /sys/devices/system/cpu/cpu0/online ] || echo "$1" >"$online"
	done
}
cpus_but_0 0
# A child on another vCPU would go uncounted.
echo "CPUs online: $(cat /sys/devices/system/cpu/online)" >"$log/online"
if [ "$(cat /sys/devices/system/cpu/online)" = 0 ]; then
	ok "CPU 0 alone online for the launches"
else
	not_ok "CPU 0 alone online for the launches" "$log/online"
fi
# shellcheck disable=SC2086 # exec_args is words
echo "# gpusched exec's CPUs: $($bin/gpusched $exec_args /bin/cat /proc/self/status |
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p')"
launch 11 "$bin/true"
launch 12 "$bin/taskset" -c 0 "$bin/true"
pages taskset "$bin/taskset" -c 0 "$bin/true"
launch 13 "$bin/numactl" --cpunodebind=0 "$bin/true"
pages numactl "$bin/numactl" --cpunodebind=0 "$bin/true"
# shellcheck disable=SC2086
launch 14 "$bin/gpusched" $exec_args "$bin/true"
# shellcheck disable=SC2086
pages gpusched-module "$bin/gpusched" $exec_args "$bin/true"
# The module's symbols name its functions in the PIN rows; they go with it.
grep -i ' t ' /proc/kallsyms >"$log/kallsyms"
if rmmod gpusched >"$log/rmmod" 2>&1; then
	ok "gpusched.ko unloaded for the fallback"
else
	not_ok "gpusched.ko unloaded for the fallback" "$log/rmmod"
fi
mkdir -m 700 /tmp/icount-cache
export GPUSCHED_CACHE_DIR=/tmp/icount-cache
# shellcheck disable=SC2086
launch 15 "$bin/gpusched" $exec_args "$bin/true"
# shellcheck disable=SC2086
pages gpusched-fallback "$bin/gpusched" $exec_args "$bin/true"
# Else kind 15 would count discoveries.
ls -l /tmp/icount-cache >"$log/cache" 2>&1
if [ -s /tmp/icount-cache/fallback-machine ]; then
	ok "the fallback wrote its file"
else
	not_ok "the fallback wrote its file" "$log/cache"
fi
GPUSCHED_CACHE_DIR=
# shellcheck disable=SC2086
launch 16 "$bin/gpusched" $exec_args "$bin/true"
unset GPUSCHED_CACHE_DIR
cpus_but_0 1

echo "=== icount-kallsyms"
cat "$log/kallsyms" "$log/kallsyms-bpf" 2>/dev/null | gzip -c | base64
echo "=== icount-kallsyms-end"
echo "1..$n"
