#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Step 3: who may use /dev/gpusched.  An admin adds a user to the gpusched
# group; that user runs a four-worker stand-in training job through
# `gpusched exec` the way torchrun --no-python starts one (LOCAL_RANK per
# worker), and every worker is pinned to disjoint cores of its GPU's node.
# A user outside the group gets the documented refusal and status 1.
set -u
. "$(dirname "$0")/../tap-debian.sh"

expected_error="/dev/gpusched: permission denied: only root and members of the gpusched group may use it; ask an admin to add you (usermod -aG gpusched USER) and log in again"
member=gsmember outsider=gsoutsider
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
expand() {
	echo "$1" | tr ',' '\n' | while IFS=- read -r a b; do
		[ -n "$a" ] && seq "$a" "${b:-$a}"
	done | tr '\n' ' '
}
node_cpus() { cat "/sys/devices/system/node/node$1/cpulist"; }
# GPU i's node, in the order gpuschedd numbers them (the topology file's).
gpu_node() { awk -v i="$1" '$1 == "gpu" { if (n++ == i) { sub(".*node=", ""); sub(" .*", ""); print } }' "$GS_TOPOLOGY_FILE"; }

step "useradd -m $member; usermod -aG gpusched $member" \
	sh -c "useradd -m -s /bin/bash $member && usermod -aG gpusched $member"
step "useradd -m $outsider (not in the group)" useradd -m -s /bin/bash $outsider
is "id -nG $member" "$member gpusched" "$(id -nG $member)"

# The job, as the member: four workers, LOCAL_RANK 0-3, each through exec.
# Each streams for a second and then holds every thread alive and idle
# until its standard input ends (a FIFO it holds open itself, so until it
# is killed): four workers streaming without end would take all eight
# emulated CPUs from this script for minutes.
job=/home/$member/job.sh
cat >"$job" <<'JOB'
#!/bin/bash
rm -f "$HOME/hold" && mkfifo "$HOME/hold"
for rank in 0 1 2 3; do
	LOCAL_RANK=$rank gpusched exec --verbose --policy exclusive -- \
		gpusched-standin-worker --loaders 2 --buffer-mib 4 --seconds 1 --hold \
		<>"$HOME/hold" >"$HOME/worker$rank.out" 2>"$HOME/worker$rank.err" &
	echo $!
done
JOB
chmod 755 "$job"
mapfile -t workers < <(runuser -u $member -- "$job")
is "four workers started as $member" 4 "${#workers[@]}"
# The worker renames its main thread ("main"): look at what it runs instead.
worker_runs() { [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = /usr/bin/gpusched-standin-worker ]; }
started=0
for pid in "${workers[@]}"; do wait_for 15 worker_runs "$pid" || started=1; done
ok $started "every worker runs gpusched-standin-worker (exec'd by gpusched exec)"
for rank in 0 1 2 3; do
	diag "worker $rank: $(cat /home/$member/worker$rank.err 2>/dev/null)"
done
is "the workers belong to $member" "$member $member $member $member" \
	"$(for pid in "${workers[@]}"; do ps -o user= -p "$pid"; done | tr '\n' ' ' | sed 's/ $//')"

seen=" " local_ok=0 disjoint_ok=0 threads_ok=0
for rank in 0 1 2 3; do
	pid=${workers[$rank]:-0}
	mine=$(allowed "$pid")
	node_list=" $(expand "$(node_cpus "$(gpu_node $rank)")")"
	for c in $(expand "$mine"); do
		case $node_list in *" $c "*) ;; *) local_ok=1 ;; esac
		case $seen in *" $c "*) disjoint_ok=1 ;; esac
		seen="$seen$c "
	done
	[ -n "$mine" ] || local_ok=1
	# Every thread the worker started after exec carries the same pin.
	for task in /proc/"$pid"/task/*; do
		[ "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$task/status")" = "$mine" ] || threads_ok=1
	done
	diag "rank $rank (GPU node $(gpu_node $rank)): pid $pid, $(ls /proc/"$pid"/task 2>/dev/null | wc -l) threads, CPUs $mine"
done
ok $local_ok "each worker is pinned to CPUs of its GPU's node"
ok $disjoint_ok "no CPU is given to two workers (exclusive)"
ok $threads_ok "every thread of each worker carries its pin"
status=$(runuser -u $member -- gpusched status 2>&1)
diag "$status"
is "gpusched status (as $member) lists the four pinned workers" 4 \
	"$(for pid in "${workers[@]}"; do echo "$status" | grep -qw "$pid" && echo "$pid"; done | wc -l)"
kill "${workers[@]}" 2>/dev/null
gone() { for pid in "${workers[@]}"; do [ -d "/proc/$pid" ] && return 1; done; return 0; }
check "the job ends" wait_for 10 gone

# Outside the group: refused, told why and what to do.
rc=0
err=$(runuser -u $outsider -- gpusched exec --policy exclusive -- true 2>&1 >/dev/null) || rc=$?
diag "$err"
is "$outsider: gpusched exec exits 1" 1 "$rc"
is "$outsider: the documented message on stderr" 1 "$(echo "$err" | grep -cxF "gpusched: $expected_error")"
finish
