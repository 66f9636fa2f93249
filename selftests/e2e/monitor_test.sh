#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `gpusched monitor` in the test guest, on the guest's kernel: a busy
# thread that is moved between CPUs of different nodes shows migrations
# and cross-node migrations; a loop no switch interrupts, running before
# it was watched, is counted from the first interval; a worker pinned through
# `gpusched exec --policy node` shows none across nodes and all its run
# time on its GPU's node; and a user without privilege is told what the
# monitor needs.  TAP on stdout.  Runs as root under busybox sh; kills
# what it started.
set -u

topology_file=${GPUSCHED_TOPOLOGY:-/etc/gpusched/topologies/2s-smt}
sysgs=/sys/kernel/gpusched
log=/tmp/monitor
mkdir -p "$log"

. "${GPUSCHED_E2E_TAP:-/etc/gpusched/e2e-tap.sh}"


# A kernel without BTF (the harness's debug kernel is one) cannot run the
# monitor at all: say so once and skip, rather than fail every check.
if [ ! -e /sys/kernel/btf/vmlinux ]; then
	skip "gpusched monitor on this kernel" \
		"$(uname -r) has no BTF (/sys/kernel/btf/vmlinux): the monitor cannot load here"
	finish
fi

# The first CPU of each node with CPUs, and GPU 0's node, from the topology file.
nr_gpus=0
nodes=
while read -r kind id rest; do
	case $kind in
	gpu)
		[ "$nr_gpus" -eq 0 ] &&
			gpu0_node=$(echo "$rest" | sed -n 's/.*node=\([0-9]*\).*/\1/p')
		nr_gpus=$((nr_gpus + 1))
		;;
	node)
		cpus=$(echo "$rest" | sed -n 's/.*cpus=\([0-9,-]*\).*/\1/p')
		[ -n "$cpus" ] && nodes="$nodes ${cpus%%[,-]*}"
		;;
	esac
done <"$topology_file"
set -- $nodes
cpu_a=${1:-}
cpu_b=${2:-}

pids=
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	if [ -n "${daemon:-}" ]; then
		kill "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
	fi
}
trap cleanup EXIT

# sum FIELD FILE: the sum of "FIELD":N over the JSON lines of FILE.
sum() {
	grep -o "\"$1\":[0-9]*" "$2" | sed 's/.*://' | awk '{ s += $1 } END { print s + 0 }'
}
# task_objects PID FILE: the task objects of process PID, one a line.
task_objects() {
	grep -o "{\"pid\":$1,[^{]*{[^}]*}[^}]*}" "$2"
}

# --- a thread moved across nodes ---------------------------------------------
if [ -z "$cpu_b" ]; then
	skip "migrations across nodes are counted" "$topology_file has one node with CPUs"
else
	sh -c 'while :; do :; done' &
	busy=$!
	pids="$pids $busy"
	(
		i=0
		while [ $i -lt 15 ]; do
			taskset -pc "$cpu_a" "$busy" >/dev/null
			sleep 0.1
			taskset -pc "$cpu_b" "$busy" >/dev/null
			sleep 0.1
			i=$((i + 1))
		done
	) &
	mover=$!
	pids="$pids $mover"
	gpusched monitor --pid "$busy" --count 2 --interval 1 --json >"$log/moved.json" \
		2>"$log/moved.err"
	rc=$?
	wait "$mover" 2>/dev/null
	lines=$(grep -c '^{' "$log/moved.json")
	check "monitor --pid --json prints 2 intervals, a line each ($lines, rc $rc)" \
		[ "$rc" -eq 0 -a "$lines" -eq 2 ]
	task_objects "$busy" "$log/moved.json" >"$log/moved.task"
	migrations=$(sum migrations "$log/moved.task")
	cross=$(sum cross_node_migrations "$log/moved.task")
	diag "moved between CPU $cpu_a and CPU $cpu_b: $migrations migrations, $cross cross-node"
	check "a thread moved between nodes shows migrations ($migrations)" [ "$migrations" -gt 0 ]
	check "... and cross-node migrations ($cross)" [ "$cross" -gt 0 ]
	[ "$rc" -eq 0 ] || diag "$(cat "$log/moved.err")"
	kill -9 "$busy" 2>/dev/null
fi

# --- a thread that was running before it was watched -------------------------
# A SCHED_FIFO loop alone on the last CPU is never switched out once RT
# throttling (6.1) and the fair server that gives normal tasks 50 ms a
# second (6.12 on) are off there: no program of the monitor ever runs for
# it.  Its run time comes from the kernel's own count, read with the
# monitor's task iterator, and over the first 1-s interval is close to the
# interval.
# PREEMPT_RT runs RCU's callbacks in threads of the same priority, which
# such a loop starves (an RCU stall, the next BPF load waiting for ever).
catch_up_check() {
	rt_runtime=$(cat /proc/sys/kernel/sched_rt_runtime_us)
	echo -1 >/proc/sys/kernel/sched_rt_runtime_us
	fair_server=/sys/kernel/debug/sched/fair_server/cpu$last_cpu/runtime
	fair_runtime=
	if [ -w "$fair_server" ]; then
		fair_runtime=$(cat "$fair_server")
		# Debian's 6.12 stops the fair server on this write whether or
		# not it runs, and stopping one that does not (no normal task
		# queued on the CPU) underflows the deadline class's running
		# bandwidth: a kernel WARNING, "dl_rq->running_bw > old" in
		# task_non_contending().  A normal task kept busy on the CPU
		# keeps the server running while it is written.
		taskset -c "$last_cpu" sh -c 'while :; do :; done' &
		hog=$!
		sleep 1
		echo 0 >"$fair_server"
		kill -9 "$hog" 2>/dev/null
		wait "$hog" 2>/dev/null
	fi
	fifo_spin "$last_cpu" 2>"$log/fifo.err" &
	alone=$!
	pids="$pids $alone"
	sleep 1
	gpusched monitor --pid "$alone" --count 1 --interval 1 --json >"$log/alone.json" \
		2>"$log/alone.err"
	rc=$?
	kill -9 "$alone" 2>/dev/null
	wait "$alone" 2>/dev/null
	[ -n "$fair_runtime" ] && echo "$fair_runtime" >"$fair_server"
	echo "$rt_runtime" >/proc/sys/kernel/sched_rt_runtime_us
	alone_ms=$(task_objects "$alone" "$log/alone.json" | grep -o '"run_ms_by_node":{[^}]*}' |
		grep -o ':[0-9]*' | tr -d : | awk '{ s += $1 } END { print s + 0 }')
	diag "SCHED_FIFO loop alone on CPU $last_cpu since 1 s before the monitor:" \
		"$alone_ms ms run in its first 1-s interval"
	check "a thread running since before it was watched is counted from the start ($alone_ms ms >= 500, rc $rc)" \
		[ "$rc" -eq 0 -a "$alone_ms" -ge 500 ]
	[ "$rc" -eq 0 ] || diag "$(cat "$log/alone.err")"
	[ -s "$log/fifo.err" ] && diag "$(cat "$log/fifo.err")"
}
last_cpu=$(sed -n 's/^processor[[:space:]]*: //p' /proc/cpuinfo | tail -n 1)
if [ "$(cat /sys/kernel/realtime 2>/dev/null)" = 1 ]; then
	skip "a thread running since before it was watched is counted from the start" \
		"PREEMPT_RT: a SCHED_FIFO loop would starve RCU's threads on CPU $last_cpu"
else
	catch_up_check
fi

# --- a worker pinned to its GPU's node ---------------------------------------
gpuschedd --match 1234 --match 1af4 2>"$log/gpuschedd.log" &
daemon=$!
fed() { [ "$(cat $sysgs/nr_gpus 2>/dev/null)" = "$nr_gpus" ]; }
if ! wait_for 20 fed; then
	ok 1 "gpuschedd feeds the module"
	diag "$(cat "$log/gpuschedd.log")"
else
	gpusched exec --gpu 0 --policy node -- sh -c 'while :; do :; done' 2>"$log/exec.err" &
	worker=$!
	pids="$pids $worker"
	sleep 0.5
	gpusched monitor --pinned --count 3 --interval 1 --json >"$log/pinned.json" \
		2>"$log/pinned.err"
	rc=$?
	task_objects "$worker" "$log/pinned.json" >"$log/pinned.task"
	check "monitor --pinned sees the worker started by gpusched exec (rc $rc)" \
		[ -s "$log/pinned.task" ]
	cross=$(sum cross_node_migrations "$log/pinned.task")
	shares=$(grep -o '"on_gpu_node_percent":[0-9a-z]*' "$log/pinned.task" | sed 's/.*://' |
		tr '\n' ' ')
	diag "pinned worker on GPU 0 (node $gpu0_node): $(sum migrations "$log/pinned.task")" \
		"migrations, $cross cross-node, on-GPU-node % per interval: $shares"
	check "... with no cross-node migrations ($cross)" [ "$cross" -eq 0 ]
	share_ok() {
		case " $shares " in *" 100 "*) ;; *) return 1 ;; esac
		for s in $shares; do [ "$s" = 100 ] || [ "$s" = null ] || return 1; done
	}
	check "... and all its run time on its GPU's node ($shares)" share_ok
	check "... whose GPU node is GPU 0's, node $gpu0_node" \
		grep -q "\"gpu_node\":$gpu0_node," "$log/pinned.task"
	[ -s "$log/pinned.task" ] || diag "$(cat "$log/pinned.err" "$log/pinned.json")"
	kill -9 "$worker" 2>/dev/null
fi

# --- without privilege ---------------------------------------------------------
grep -q '^nobody:' /etc/passwd 2>/dev/null ||
	echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
grep -q '^nogroup:' /etc/group 2>/dev/null || echo 'nogroup:x:65534:' >>/etc/group
su -s /bin/sh nobody -c 'id -u' >"$log/su.out" 2>&1
if [ "$(cat "$log/su.out")" != 65534 ]; then
	skip "without privilege, a clear error" "cannot become an unprivileged user: $(cat "$log/su.out")"
else
	su -s /bin/sh nobody -c 'gpusched monitor --all --count 1' >/dev/null 2>"$log/unpriv.err"
	rc=$?
	diag "as nobody: rc $rc: $(cat "$log/unpriv.err")"
	check "without privilege, monitor fails (rc $rc)" [ "$rc" -ne 0 ]
	check "... saying it needs root or CAP_BPF+CAP_PERFMON" grep -q 'CAP_BPF+CAP_PERFMON' \
		"$log/unpriv.err"
fi

finish
