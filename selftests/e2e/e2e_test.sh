#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# End to end in the test guest: gpuschedd feeds the module, workers start
# through `gpusched exec` the way torchrun, srun and mpirun start them, and
# what they get is checked against the guest's topology file: disjoint
# exclusive cores local to each GPU, cores returned on SIGKILL, a second
# job kept off the first one's cores, a cpuset respected, a CPU going
# offline re-fed by the daemon and the pin moved, the memory policy set,
# `status` and `topo` showing what the kernel holds, the fallback without
# the module, and a GPU memory node taken from the driver's numa_status.  TAP on stdout.  Runs as root under busybox sh; puts
# back everything it changed (CPUs online, cgroup, processes) so the suites
# after it find the machine as it was.
set -u

topology_file=${GPUSCHED_TOPOLOGY:-/etc/gpusched/topologies/2s-smt}
matches="--match 1234 --match 1af4"	# the stand-in GPUs' vendors
sysgs=/sys/kernel/gpusched
log=/tmp/e2e
mkdir -p "$log"

. "${GPUSCHED_E2E_TAP:-/etc/gpusched/e2e-tap.sh}"

# Cpulist arithmetic on "0-3,8" strings.
expand() {
	echo "$1" | tr ',' '\n' | while IFS=- read -r a b; do
		[ -n "$a" ] && seq "$a" "${b:-$a}"
	done | tr '\n' ' '
}
subset() {
	for c in $(expand "$1"); do
		case " $(expand "$2") " in *" $c "*) ;; *) return 1 ;; esac
	done
	[ -n "$1" ]
}
disjoint() {
	for c in $(expand "$1"); do
		case " $(expand "$2") " in *" $c "*) return 1 ;; esac
	done
	return 0
}
contains() { case " $(expand "$1") " in *" $2 "*) return 0 ;; esac; return 1; }
contains_word() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }


# The topology file: GPU i's address and node, node n's CPUs.
nr_gpus=0
memory_only_node=
while read -r kind id rest; do
	case $kind in
	gpu)
		eval "gpu_addr_$nr_gpus=$id"
		eval "gpu_node_$nr_gpus=$(echo "$rest" | sed -n 's/.*node=\([0-9]*\).*/\1/p')"
		nr_gpus=$((nr_gpus + 1))
		;;
	node)
		cpus=$(echo "$rest" | sed -n 's/.*cpus=\([0-9,-]*\).*/\1/p')
		eval "node_cpus_$id=$cpus"
		[ -z "$cpus" ] && memory_only_node=$id
		;;
	esac
done <"$topology_file"
gpu_addr() { eval "echo \$gpu_addr_$1"; }
gpu_node() { eval "echo \$gpu_node_$1"; }
gpu_cpus() { eval "echo \$node_cpus_$(gpu_node "$1")"; }
# The CPUs a task is allowed as the kernel shows them: on a machine with
# possible CPUs that are not online (hotplug slots) Cpus_allowed_list names
# those too, so take this shell's own rather than the online list.
all_cpus=$(allowed $$)

generation() { gpusched status --json 2>/dev/null | sed -n 's/^ *"generation": *\([0-9]*\).*/\1/p'; }
# Milliseconds from the last kernel line containing $1 (a CPU going offline
# or booting, just before its uevent) to the next topology the module took,
# from the two dmesg timestamps; empty when either line is missing.
to_topology_ms() {
	dmesg | awk -v pat="$1" '
		{ t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t) }
		index($0, pat) { start = t; end = ""; next }
		start != "" && end == "" && /gpusched: topology [0-9]+:/ { end = t }
		END { if (start != "" && end != "") printf "%.0f\n", (end - start) * 1000 }'
}
comm_is() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

pids=
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	for c in $offlined; do echo 1 >"/sys/devices/system/cpu/cpu$c/online"; done
	[ -d /sys/fs/cgroup/e2e ] && rmdir /sys/fs/cgroup/e2e 2>/dev/null
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null
	grep -q ' /proc/driver ' /proc/mounts && umount /proc/driver
}
offlined=
trap cleanup EXIT

# --- the daemon feeds the module -------------------------------------------
mem_opt=
[ -n "$memory_only_node" ] && mem_opt="--mem-node 0=$memory_only_node"
# shellcheck disable=SC2086
gpuschedd $matches $mem_opt 2>"$log/gpuschedd.log" &
daemon=$!
fed() { [ "$(cat $sysgs/nr_gpus)" = "$nr_gpus" ]; }
check "gpuschedd feeds the module the $nr_gpus GPUs of $topology_file" wait_for 20 fed
fed || { diag "$(cat "$log/gpuschedd.log")"; echo "1..$n"; exit 1; }
generation_fed=$(generation)
check "the topology has a generation once fed ($generation_fed)" [ -n "$generation_fed" ]

topo_ok=0
gpusched topo >"$log/topo" 2>&1 || topo_ok=1
i=0
while [ $i -lt "$nr_gpus" ]; do
	row=$(awk -v g=$i '$1 == g && $2 ~ /:/ { print $2, $4, $6 }' "$log/topo")
	[ "$row" = "$(gpu_addr $i) $(gpu_node $i) $(gpu_cpus $i)" ] || topo_ok=1
	i=$((i + 1))
done
check "gpusched topo shows each GPU's address, node and local CPUs as the kernel holds them" [ $topo_ok -eq 0 ]
[ $topo_ok -eq 0 ] || diag "$(cat "$log/topo")"

# --- four workers, one per GPU, as torchrun starts them ----------------------
gpusched plan --policy exclusive $matches >"$log/plan" 2>&1
i=0
while [ $i -lt "$nr_gpus" ]; do
	LOCAL_RANK=$i gpusched exec --policy exclusive -- sleep 1000 2>"$log/worker$i.err" &
	eval "w$i=$!"
	pids="$pids $!"
	i=$((i + 1))
done
worker() { eval "echo \$w$1"; }
started=0
i=0
while [ $i -lt "$nr_gpus" ]; do
	wait_for 10 comm_is "$(worker $i)" sleep || started=1
	i=$((i + 1))
done
check "$nr_gpus workers started through gpusched exec" [ $started -eq 0 ]

local_ok=0 disjoint_ok=0 plan_ok=0
i=0
while [ $i -lt "$nr_gpus" ]; do
	mine=$(allowed "$(worker $i)")
	diag "worker $i (GPU $i, node $(gpu_node $i)): CPUs $mine"
	subset "$mine" "$(gpu_cpus $i)" || local_ok=1
	planned=$(awk -v g=$i '$1 == g { print $6 }' "$log/plan")
	[ "$planned" = "$mine" ] || plan_ok=1
	j=0
	while [ $j -lt $i ]; do
		disjoint "$mine" "$(allowed "$(worker $j)")" || disjoint_ok=1
		j=$((j + 1))
	done
	i=$((i + 1))
done
check "every worker runs only on CPUs of its GPU's node" [ $local_ok -eq 0 ]
check "no two exclusive workers share a CPU" [ $disjoint_ok -eq 0 ]
check "gpusched plan predicted exactly the CPUs the module chose" [ $plan_ok -eq 0 ]
[ $plan_ok -eq 0 ] || diag "$(cat "$log/plan")"

gpusched status >"$log/status" 2>&1
status_ok=0
i=0
while [ $i -lt "$nr_gpus" ]; do
	row=$(awk -v p="$(worker $i)" '$2 == p { print $1, $3, $5, $6 }' "$log/status")
	[ "$row" = "$i sleep exclusive $(allowed "$(worker $i)")" ] || status_ok=1
	i=$((i + 1))
done
check "gpusched status lists each worker with its GPU, command, policy and CPUs" [ $status_ok -eq 0 ]
[ $status_ok -eq 0 ] || diag "$(cat "$log/status")"

# --- SIGKILL returns the cores; a second job stays off the first ----------
w0_cpus=$(allowed "$w0")
kill -9 "$w0"
wait "$w0" 2>/dev/null
released() { [ -z "$(cat $sysgs/gpus/gpu0/reserved_cpus)" ]; }
check "SIGKILL of worker 0 releases its cores ($w0_cpus)" wait_for 10 released

LOCAL_RANK=0 gpusched exec --policy exclusive -- sleep 1000 2>"$log/job2.err" &
j2=$!
pids="$pids $j2"
wait_for 10 comm_is "$j2" sleep
j2_cpus=$(allowed "$j2")
second_ok=0
subset "$j2_cpus" "$(gpu_cpus 0)" || second_ok=1
i=1
while [ $i -lt "$nr_gpus" ]; do
	disjoint "$j2_cpus" "$(allowed "$(worker $i)")" || second_ok=1
	i=$((i + 1))
done
check "a second job's worker gets the freed cores ($j2_cpus), none of the first job's" [ $second_ok -eq 0 ]

LOCAL_RANK=1 gpusched exec --policy exclusive -- true 2>"$log/full.err"
rc=$?
check "a worker for a GPU whose cores are all held is refused (exit $rc), not doubled up" \
	[ $rc -eq 1 ]
check "the refusal says no free cores are left" grep -q "no free cores" "$log/full.err"

# Exclusive cores are off limits to every other pin, shared ones included:
# end the jobs but worker 3 (kept for the hotplug test) to make room.
for p in "$w1" "$w2" "$j2"; do kill -9 "$p"; wait "$p" 2>/dev/null; done

# --- a worker inside a cpuset stays inside it ------------------------------
if echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null &&
	mkdir -p /sys/fs/cgroup/e2e; then
	set -- $(expand "$(gpu_cpus 2)")
	cpuset_cpu=$1
	echo "$cpuset_cpu" >/sys/fs/cgroup/e2e/cpuset.cpus
	sh -c 'echo $$ >/sys/fs/cgroup/e2e/cgroup.procs &&
		exec gpusched exec --gpu 2 --policy node -- sleep 1000' 2>"$log/cpuset.err" &
	c=$!
	pids="$pids $c"
	wait_for 10 comm_is "$c" sleep
	check "a worker in a cpuset of CPU $cpuset_cpu is pinned inside it ($(allowed "$c"))" \
		[ "$(allowed "$c")" = "$cpuset_cpu" ]
	kill -9 "$c"
	wait "$c" 2>/dev/null
	rmdir /sys/fs/cgroup/e2e
else
	skip "a worker in a cpuset stays inside it" "the guest kernel has no cgroup v2 cpuset controller"
fi

# --- pin and unpin a running process ---------------------------------------
sleep 1000 &
p=$!
pids="$pids $p"
gpusched pin --pid "$p" --gpu 2 --policy node >"$log/pin.out" 2>&1 &
holder=$!
pinned() { subset "$(allowed "$p")" "$(gpu_cpus 2)" && [ "$(allowed "$p")" != "$all_cpus" ]; }
check "gpusched pin --pid moves a running process to GPU 2's node" wait_for 10 pinned
gpusched unpin --pid "$p" >"$log/unpin.out" 2>&1
check "gpusched unpin --pid restores its CPUs ($(allowed "$p"))" [ "$(allowed "$p")" = "$all_cpus" ]
kill -9 "$p"
wait "$holder"
check "gpusched pin returns once its target is gone" [ $? -eq 0 ]

# --- the memory policy -----------------------------------------------------
mem_node=$(gpu_node 0)
mem_arg=
if [ -n "$memory_only_node" ]; then
	mem_node=$memory_only_node
	mem_arg="--mem-node gpu-memory"
fi
# shellcheck disable=SC2086
gpusched exec --gpu 0 --policy node --mem-policy bind $mem_arg -- sleep 1000 2>"$log/mem.err" &
m=$!
pids="$pids $m"
wait_for 10 comm_is "$m" sleep
check "gpusched exec --mem-policy bind ${mem_arg:+$mem_arg }binds memory to node $mem_node" \
	grep -q "bind:$mem_node" "/proc/$m/numa_maps"
kill -9 "$m"
wait "$m" 2>/dev/null

# --- the GPU from the launcher's variables ----------------------------------
LOCAL_RANK=1 CUDA_VISIBLE_DEVICES=3,2 gpusched exec --verbose --policy node -- true \
	2>"$log/visible.err"
rc=$?
check "LOCAL_RANK=1 CUDA_VISIBLE_DEVICES=3,2 pins to GPU 2 (exit $rc)" \
	grep -q "pinned to GPU 2 " "$log/visible.err"
diag "$(cat "$log/visible.err")"
SLURM_LOCALID=3 gpusched exec --verbose --policy node -- true 2>"$log/slurm.err"
check "SLURM_LOCALID=3 pins to GPU 3" grep -q "pinned to GPU 3 " "$log/slurm.err"
OMPI_COMM_WORLD_LOCAL_RANK=0 gpusched exec --verbose --policy node -- true 2>"$log/ompi.err"
check "OMPI_COMM_WORLD_LOCAL_RANK=0 pins to GPU 0" grep -q "pinned to GPU 0 " "$log/ompi.err"

# --- the rollout opt-out -------------------------------------------------------
out=$(GPUSCHED_DISABLE=1 gpusched exec --gpu 0 --policy exclusive -- \
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>"$log/disabled.err")
check "GPUSCHED_DISABLE=1 gpusched exec leaves the program on the CPUs it had ($out)" \
	[ "$out" = "$all_cpus" ]
check "and says so in one line" [ "$(cat "$log/disabled.err")" = \
	"gpusched: GPUSCHED_DISABLE=1: not pinning; CPUs and memory policy stay as they are" ]

# --- CPU hotplug: the daemon feeds again and the pin moves ---------------------
victim=
for c in $(expand "$(allowed "$w3")"); do
	[ "$c" != 0 ] && [ -e "/sys/devices/system/cpu/cpu$c/online" ] && { victim=$c; break; }
done
# A kernel without networking has no uevent socket (the harness's debug
# kernel): the daemon warns that it cannot see hotplug, and says so here.
no_uevents=$(grep 'hotplug will go unnoticed' "$log/gpuschedd.log")
if [ -n "$victim" ] && [ -n "$no_uevents" ]; then
	skip "CPU hotplug re-feed" "gpuschedd cannot see uevents on $(uname -r): ${no_uevents#*: }"
elif [ -n "$victim" ]; then
	before=$(generation)
	echo 0 >"/sys/devices/system/cpu/cpu$victim/online" && offlined=$victim
	refed() { [ "$(generation)" -gt "$before" ]; }
	check "offlining CPU $victim makes gpuschedd feed the topology again" wait_for 15 refed
	diag "bench hotplug_offline_to_topology_ms=$(to_topology_ms "CPU $victim is now offline")"
	moved() { ! contains "$(allowed "$w3")" "$victim" && [ -n "$(allowed "$w3")" ]; }
	check "worker 3's pin moved off CPU $victim (now $(allowed "$w3"))" wait_for 10 moved
	before=$(generation)
	echo 1 >"/sys/devices/system/cpu/cpu$victim/online" && offlined=
	check "onlining CPU $victim makes gpuschedd feed again" wait_for 15 refed
	diag "bench hotplug_online_to_topology_ms=$(to_topology_ms "Processor $victim APIC")"
	diag "$(grep -v '^$' "$log/gpuschedd.log" | tail -n 6)"
else
	skip "CPU hotplug re-feed" "no CPU of worker 3 can go offline"
fi

# --- without the module: the unarbitrated fallback ----------------------------
# GPU 2's CPUs as a fallback launch places them; its warnings in fallback.err.
fallback_cpus() {
	# shellcheck disable=SC2086
	gpusched exec --device /dev/gpusched-absent --gpu 2 $matches -- \
		sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>"$log/fallback.err"
}
out=$(fallback_cpus)
check "without the module, exec places on GPU 2's node ($out)" subset "$out" "$(gpu_cpus 2)"
check "and warns that the placement is not arbitrated" grep -q "NOT arbitrated" "$log/fallback.err"
# The fallback keeps what it discovered for the next launch of this boot
# (fallback_cache.h); a CPU going offline or online must make the next
# launch see the machine as it is now, not as the file has it.
check "the fallback leaves the machine it found in /run/gpusched, for root only" \
	[ "$(stat -c %a /run/gpusched/fallback-machine 2>/dev/null)" = 600 ]
now=$(fallback_cpus)
check "a second fallback launch places as the first did ($now)" [ "$now" = "$out" ]
victim=
for c in $(expand "$out"); do
	[ "$c" != 0 ] && [ -e "/sys/devices/system/cpu/cpu$c/online" ] && { victim=$c; break; }
done
# The kernel itself drops an offline CPU from an affinity, so only the way
# back shows a file that outlived the change: one made while the CPU was
# offline must not be read once it is online again.
if [ -n "$victim" ] && echo 0 >"/sys/devices/system/cpu/cpu$victim/online"; then
	offlined=$victim
	rm -f /run/gpusched/fallback-machine
	now=$(fallback_cpus)
	left_out() { [ -n "$now" ] && ! contains "$now" "$victim"; }
	check "with CPU $victim offline, a fallback launch leaves it out ($now)" left_out
	check "and leaves the machine without it in the file" test -s /run/gpusched/fallback-machine
	echo 1 >"/sys/devices/system/cpu/cpu$victim/online" && offlined=
	now=$(fallback_cpus)
	check "online again, CPU $victim is placed on again ($now)" [ "$now" = "$out" ]
else
	skip "the fallback after CPU hotplug" "no CPU of GPU 2's placement ($out) can go offline"
fi
# The file is taken on the kernel's uevent count while it stands; after
# any uevent the next launch checks the whole key and, the machine being
# the same, writes the file again with the new count.  A uevent from
# elsewhere can come at any time: settle launches until one has none
# around it, so that the file holds the count, and a check lets the file
# change when the count moved.  A new file never gets the inode of the
# one it replaces, which is still there when it is made.
seqnum() { cat /sys/kernel/uevent_seqnum; }
file_id() { stat -c %i /run/gpusched/fallback-machine 2>/dev/null; }
settle() {
	for _ in 1 2 3 4 5; do
		seq=$(seqnum)
		fallback_cpus >/dev/null
		[ "$(seqnum)" = "$seq" ] && { id=$(file_id); return 0; }
	done
	return 1
}
# Placed as the first launch, and the file untouched unless a uevent came.
placed_file_kept() {
	[ -n "$id" ] && [ "$now" = "$out" ] && { [ "$(seqnum)" != "$seq" ] || [ "$(file_id)" = "$id" ]; }
}
placed_file_new() { [ "$now" = "$out" ] && [ "$(file_id)" != "$id" ]; }
if settle; then
	now=$(fallback_cpus)
	check "with no uevent since, a fallback launch leaves the file as it is ($now)" placed_file_kept
	echo change >/sys/devices/system/cpu/cpu0/uevent
	check "a uevent raises the kernel's count ($seq to $(seqnum))" [ "$(seqnum)" -gt "$seq" ]
	now=$(fallback_cpus)
	check "the next launch places the same ($now) and writes the file again" placed_file_new
	if settle; then
		now=$(fallback_cpus)
		check "and the launch after it takes the file as it is ($now)" placed_file_kept
	else
		skip "and the launch after it takes the file as it is" "uevents at every launch"
	fi
else
	skip "the fallback's file and the kernel's uevent count" "uevents at every launch"
fi
gpusched exec --no-fallback --device /dev/gpusched-absent --gpu 2 -- true 2>/dev/null
check "--no-fallback without the module exits 3" [ $? -eq 3 ]

# --- shutdown ----------------------------------------------------------------
for p in $pids; do kill -9 "$p" 2>/dev/null; done
for p in $pids; do wait "$p" 2>/dev/null; done
pids=
none_left() { [ "$(cat $sysgs/nr_pinned_tasks)" = 0 ]; }
check "every pin is gone once its worker is" wait_for 10 none_left
kill -TERM "$daemon"
wait "$daemon"
check "gpuschedd exits 0 on SIGTERM" [ $? -eq 0 ]
daemon=

# --- the GPU's memory node from the NVIDIA driver, with no --mem-node ----------
# The guest has no NVIDIA driver, so its /proc/driver/nvidia/gpus/ADDR/numa_status
# is written on a tmpfs mounted over /proc/driver.  The node is offline first (not
# used) and then goes online, which the driver follows with memory block uevents:
# one is sent by hand, and the daemon must feed the node without a restart.
gpu0_memory_node() {
	gpusched topo --json >"$log/topo-numa.json" 2>&1 &&
		json_check "$log/topo-numa.json" "gpus.0.memory_node=$1" >/dev/null
}
if [ -z "$memory_only_node" ]; then
	skip "the GPU's memory node from the driver's numa_status" \
		"$topology_file has no CPU-less memory node"
elif ! mount -t tmpfs gpusched-e2e /proc/driver 2>"$log/mount.err"; then
	skip "the GPU's memory node from the driver's numa_status" \
		"cannot mount a tmpfs over /proc/driver: $(cat "$log/mount.err")"
else
	numa_dir=/proc/driver/nvidia/gpus/$(gpu_addr 0)
	mkdir -p "$numa_dir"
	printf 'Node:      %s\nStatus:    offline\n' "$memory_only_node" >"$numa_dir/numa_status"
	before=$(generation)
	# shellcheck disable=SC2086
	gpuschedd $matches 2>"$log/gpuschedd-numa.log" &
	daemon=$!
	refed() { [ "$(generation)" -gt "$before" ]; }
	check "gpuschedd without --mem-node feeds the module" wait_for 20 refed
	check "numa_status with node $memory_only_node offline: GPU 0's memory stays on node $(gpu_node 0)" \
		gpu0_memory_node "$(gpu_node 0)"
	check "and gpuschedd says why" grep -q "node $memory_only_node is \"offline\", not online" \
		"$log/gpuschedd-numa.log"
	printf 'Node:      %s\nStatus:    online\n' "$memory_only_node" >"$numa_dir/numa_status"
	before=$(generation)
	block=$(ls -d /sys/devices/system/memory/memory[0-9]* 2>/dev/null | head -n 1)
	if [ -n "$block" ]; then
		echo online >"$block/uevent"
		check "a memory block's online uevent makes gpuschedd feed again" wait_for 15 refed
		check "numa_status with node $memory_only_node online: GPU 0's memory is on it" \
			gpu0_memory_node "$memory_only_node"
		check "and gpuschedd says where it came from" \
			grep -q "memory on node $memory_only_node (the driver's numa_status)" \
			"$log/gpuschedd-numa.log"
		out=$(gpusched exec --gpu 0 --policy node --mem-policy bind --mem-node gpu-memory -- \
			cat /proc/self/numa_maps 2>"$log/numa-exec.err" | head -n 1)
		check "gpusched exec --mem-node gpu-memory binds to node $memory_only_node ($out)" \
			contains_word "$out" "bind:$memory_only_node"
	else
		skip "a memory block's online uevent makes gpuschedd feed again" \
			"no /sys/devices/system/memory on $(uname -r)"
	fi
	kill -TERM "$daemon"
	wait "$daemon"
	daemon=
	umount /proc/driver
	diag "$(grep -v '^$' "$log/gpuschedd-numa.log" | tail -n 4)"
fi

finish
