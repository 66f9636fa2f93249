#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Slurm SPANK plugin against real slurmctld and slurmd, in the Debian
# guest: the module loaded and gpuschedd running (from the packages the
# suites before this one installed), the plugin installed with apt from
# the gpusched-slurm package, as an admin installs it.  It configures Slurm on loopback with the stand-in GPUs as Slurm GPUs,
# gres.conf generated from /sys in reverse PCI order, so a plugin that took
# Slurm's numbers for PCI order would put tasks on the wrong node, and then:
#   1. srun -n4 --gres=gpu:4 --gpusched=exclusive: disjoint whole cores of
#      each task's own GPU's node, the tasks in `gpusched status` among the
#      job's processes, the pins gone when the step ends;
#   2. two jobs at once on disjoint cores; a third whose tasks outnumber its
#      GPUs' free cores follows nofit=fail, then nofit=warn;
#   3. scancel -s KILL of a running step returns its cores;
#   4. --gpusched=off leaves tasks as Slurm bound them; a task bound by
#      --cpu-bind=cores is never widened;
#   5. without the module: missing=fail and missing=warn, with the messages;
#   6. sbatch with two steps, and srun ... gpusched exec -- in the same
#      allocation, give the same pins as the plugin.
# TAP on stdout.  Runs as root, after the suites that installed gpusched
# (10-install...45-remove-reinstall); jobs run as a user of the gpusched
# group when that group exists.  Slurm's configuration is the test's own;
# the plugin's plugstack.conf.d file is put back at the end.
set -u

# guest-run.sh gives the repository (GS_REPO), the .debs (GS_DEBS) and the
# TAP helpers (GS_TAP); run by hand from a checkout, they are found beside it.
here=$(cd "$(dirname "$0")" && pwd)
repo=${GS_REPO:-$(cd "$here/../../.." && pwd)}
. "${GS_TAP:-$repo/selftests/e2e/tap.sh}"
# tap.sh's wait_for counts tries of 0.1 s, and in a loaded TCG guest a try
# takes far longer: here the seconds are the clock's.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

dir=/tmp/gs-slurm
log=$dir/log
rm -rf "$dir"
mkdir -p "$log"
chmod 1777 "$dir" "$log"
plugin_dir=/usr/lib/x86_64-linux-gnu/slurm-wlm
plugin=$plugin_dir/gpusched_spank.so
stack_conf=/etc/slurm/plugstack.conf.d/gpusched.conf
host=$(hostname -s)
sysgs=/sys/kernel/gpusched
started=$(date +%s)

bail() {
	echo "Bail out! $*"
	exit 1
}
elapsed() { echo "$(($(date +%s) - started)) s"; }

# ---- cpulist arithmetic ----------------------------------------------------
expand() {
	local part a b
	for part in ${1//,/ }; do
		a=${part%-*} b=${part#*-}
		seq "$a" "$b"
	done | tr '\n' ' '
}
subset() {	# every CPU of $1 is in $2, and $1 is not empty
	local c
	[ -n "$1" ] || return 1
	for c in $(expand "$1"); do
		case " $(expand "$2") " in *" $c "*) ;; *) return 1 ;; esac
	done
}
disjoint() {
	local c
	for c in $(expand "$1"); do
		case " $(expand "$2") " in *" $c "*) return 1 ;; esac
	done
}
whole_cores() {	# with every CPU of $1 come its SMT siblings
	local c
	for c in $(expand "$1"); do
		subset "$(cat /sys/devices/system/cpu/cpu$c/topology/thread_siblings_list)" "$1" ||
			return 1
	done
}
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
mask_to_list() {	# "0x11" -> "0,4"
	local mask=$((16#${1#0x})) cpu=0 out=
	while [ "$mask" -gt 0 ]; do
		[ $((mask & 1)) -eq 1 ] && out=$out${out:+,}$cpu
		mask=$((mask >> 1))
		cpu=$((cpu + 1))
	done
	echo "$out"
}

# ---- what must be there ----------------------------------------------------
for cmd in srun sbatch scancel sinfo slurmctld slurmd gpusched; do
	command -v $cmd >/dev/null || bail "$cmd is not installed in the guest"
done
[ -e /dev/gpusched ] || bail "/dev/gpusched is missing: the gpusched module is not loaded"
[ "$(cat $sysgs/nr_gpus 2>/dev/null)" -gt 0 ] 2>/dev/null ||
	bail "the module holds no topology: gpuschedd is not running"

# The plugin is installed as an admin installs it: the gpusched-slurm package.
if ! dpkg -s gpusched-slurm >/dev/null 2>&1; then
	debs=(${GS_DEBS:-/nonexistent}/gpusched-slurm_*.deb)
	[ -e "${debs[0]}" ] || bail "gpusched-slurm is not installed and GS_DEBS has no gpusched-slurm_*.deb"
	t0=$(date +%s)
	(cd "$(dirname "${debs[0]}")" &&
		apt-get install -y --no-install-recommends "./$(basename "${debs[0]}")") \
		>"$log/apt.log" 2>&1
	installed() { dpkg -s gpusched-slurm >/dev/null 2>&1; }
	check "apt install ./gpusched-slurm_*.deb ($(($(date +%s) - t0)) s)" installed
fi
check "the package put the plugin in Slurm's plugin directory ($plugin)" [ -f "$plugin" ]
check "and an example $stack_conf whose line is commented out" \
	grep -q "^#required $plugin" "$stack_conf"

# ---- the stand-in GPUs, in PCI order and in Slurm's (reverse) order -------
# cardN numbers change from boot to boot; the PCI address and node do not.
declare -a pci_of node_of
cards=()
for d in /sys/class/drm/card[0-9]*; do
	[[ ${d##*/} =~ ^card[0-9]+$ ]] || continue
	[ -e "$d/device" ] || continue
	cards+=("${d##*/}")
done
[ ${#cards[@]} -ge 4 ] || bail "the guest has ${#cards[@]} DRM cards, the test needs the 4 stand-in GPUs"
pci_sorted=$(for c in "${cards[@]}"; do
	echo "$(basename "$(readlink -f /sys/class/drm/$c/device)") $c"
done | sort)
# Slurm's GPU i: reverse PCI order, so Slurm's numbers are not gpusched's.
slurm_cards=($(echo "$pci_sorted" | sort -r | awk '{ print $2 }'))
nr_gpus=${#slurm_cards[@]}
for i in $(seq 0 $((nr_gpus - 1))); do
	c=${slurm_cards[$i]}
	pci_of[$i]=$(basename "$(readlink -f /sys/class/drm/$c/device)")
	node_of[$i]=$(cat /sys/class/drm/$c/device/numa_node)
done
node_cpus() { cat /sys/devices/system/node/node$1/cpulist; }
# gpusched's index of a PCI address, from `gpusched topo`.
gpusched topo >"$log/topo" 2>&1
gs_index() { awk -v a="$1" '$2 == a { print $1; exit }' "$log/topo"; }

# ---- Slurm on loopback -----------------------------------------------------
nr_cpus=$(nproc --all)
threads=$(expand "$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)" | wc -w)
sockets=$(sort -u /sys/devices/system/cpu/cpu*/topology/physical_package_id | wc -l)
cores_per_socket=$((nr_cpus / threads / sockets))
# Slurm's core numbers of a node's CPUs: socket-major, as slurmd counts them.
slurm_cores() {
	local c core list=
	for c in $(expand "$(node_cpus "$1")"); do
		local t=/sys/devices/system/cpu/cpu$c/topology
		core=$(($(cat $t/physical_package_id) * cores_per_socket + $(cat $t/core_id) % cores_per_socket))
		case ",$list," in *",$core,"*) ;; *) list=$list${list:+,}$core ;; esac
	done
	echo "$list"
}

cat >/etc/slurm/slurm.conf <<EOF
ClusterName=gsguest
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
ReturnToService=2
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
NodeName=$host NodeAddr=127.0.0.1 CPUs=$nr_cpus Boards=1 SocketsPerBoard=$sockets CoresPerSocket=$cores_per_socket ThreadsPerCore=$threads Gres=gpu:$nr_gpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES State=UP
EOF
{
	echo "# Generated by 50-slurm.sh from /sys: Slurm GPU i is line i, reverse PCI order."
	echo "AutoDetect=off"
	for i in $(seq 0 $((nr_gpus - 1))); do
		echo "NodeName=$host Name=gpu File=/dev/dri/${slurm_cards[$i]} Cores=$(slurm_cores "${node_of[$i]}")   # ${pci_of[$i]} node ${node_of[$i]}"
	done
} >/etc/slurm/gres.conf
[ -e /etc/slurm/plugstack.conf ] || echo "include /etc/slurm/plugstack.conf.d/*.conf" >/etc/slurm/plugstack.conf
mkdir -p /etc/slurm/plugstack.conf.d
saved_conf=
[ -e "$stack_conf" ] && saved_conf=$(cat "$stack_conf")
stack() {	# stack ARGS...: the plugin's plugstack.conf line, as an admin writes it
	echo "required $plugin $*" >"$stack_conf"
}
stack policy=exclusive missing=fail nofit=fail verbose=yes
diag "gres.conf:"
diag "$(cat /etc/slurm/gres.conf)"

t0=$(date +%s)
systemctl restart slurmctld slurmd || bail "systemctl restart slurmctld slurmd failed"
node_idle() { sinfo -h -n "$host" -o %t 2>/dev/null | grep -qx idle; }
wait_for 60 node_idle ||
	bail "node $host is not idle: $(sinfo 2>&1; tail -n 5 /var/log/slurm/slurmd.log)"
diag "slurmctld and slurmd up, node idle, in $(($(date +%s) - t0)) s"

# Jobs run as a user of the gpusched group, as on a cluster, where it exists.
user=root
if getent group gpusched >/dev/null; then
	id gsuser >/dev/null 2>&1 || useradd -m -G gpusched gsuser
	user=gsuser
fi
diag "jobs run as $user"
as_user() { if [ "$user" = root ]; then "$@"; else runuser -u "$user" -- "$@"; fi; }
cd "$dir" || bail "cd $dir"

# One task: says who it is, waits for its stop file, then (when the
# stand-in worker is there) runs it briefly, pinned as it is.
cat >"$dir/task.sh" <<'TASK'
#!/bin/sh
tag=$1
echo "${SLURM_LOCALID:-?} $$ ${SLURM_STEP_GPUS:-none} ${SLURM_JOB_ID:-?} ${SLURM_STEP_ID:-?}" >"$GS_DIR/$tag.$SLURM_LOCALID.tmp"
mv "$GS_DIR/$tag.$SLURM_LOCALID.tmp" "$GS_DIR/$tag.$SLURM_LOCALID"
while [ ! -e "$GS_DIR/$tag.stop" ]; do sleep 0.2; done
if command -v gpusched-standin-worker >/dev/null; then
	exec gpusched-standin-worker --seconds 1 --loaders 1 >/dev/null
fi
TASK
chmod 755 "$dir/task.sh"
export GS_DIR=$dir
task=$dir/task.sh

# Slurm confines a task to its job's cores (here even with --cpu-bind=none),
# so every GPU job asks for one core per task (-c2: both threads) on its
# GPUs' sockets, as gres.conf's Cores= name them.
near=--gres-flags=enforce-binding

records() { ls "$dir/$1".[0-9]* 2>/dev/null | grep -vc '\.tmp$'; }
have_records() { [ "$(records "$1")" -ge "$2" ]; }
field() { awk -v f="$3" '{ print $f }' "$dir/$1.$2"; }	# field TAG LOCALID N
pid_of() { field "$1" "$2" 2; }
# The Slurm GPU task LOCALID of TAG should have: its SLURM_STEP_GPUS[localid % n].
slurm_gpu_of() {
	local list=$(field "$1" "$2" 3) n
	local -a gpus=(${list//,/ })
	n=${#gpus[@]}
	echo "${gpus[$(($2 % n))]}"
}
stop() { touch "$dir/$1.stop"; }
reserved_all() { cat $sysgs/gpus/gpu*/reserved_cpus | tr -s '\n' ',' | sed 's/^,//; s/,$//'; }
no_reservations() { [ -z "$(reserved_all)" ]; }

# check_pins TAG N POLICY: each of the N tasks pinned to its own GPU's node,
# whole disjoint cores for exclusive, and listed by gpusched status.
check_pins() {
	local tag=$1 nr=$2 policy=$3 i j ok_node=0 ok_disjoint=0 ok_status=0 g idx cpus row
	gpusched status >"$log/$tag.status" 2>&1
	for i in $(seq 0 $((nr - 1))); do
		g=$(slurm_gpu_of "$tag" $i)
		idx=$(gs_index "${pci_of[$g]}")
		cpus=$(allowed "$(pid_of "$tag" $i)")
		eval "cpus_${tag}_$i=\$cpus"
		diag "$tag task $i (pid $(pid_of "$tag" $i)): Slurm GPU $g = ${slurm_cards[$g]} = ${pci_of[$g]} = gpusched GPU $idx, node ${node_of[$g]}: CPUs $cpus"
		subset "$cpus" "$(node_cpus "${node_of[$g]}")" || ok_node=1
		[ "$policy" != exclusive ] || whole_cores "$cpus" || ok_node=1
		for j in $(seq 0 $((i - 1))); do
			disjoint "$cpus" "$(eval echo \$cpus_${tag}_$j)" || ok_disjoint=1
		done
		row=$(awk -v p="$(pid_of "$tag" $i)" '$2 == p { print $1, $5, $6 }' "$log/$tag.status")
		[ "$row" = "$idx $policy $cpus" ] || ok_status=1
	done
	[ $ok_status -eq 0 ] || diag "$(cat "$log/$tag.status")"
	return $((ok_node | ok_disjoint << 1 | ok_status << 2))
}

# ---- 1. four tasks, four GPUs ---------------------------------------------
as_user srun -N1 -n4 -c2 --gres=gpu:4 $near --gpusched=exclusive --cpu-bind=none -l "$task" one \
	>"$log/one.out" 2>"$log/one.err" &
srun_one=$!
if wait_for 120 have_records one 4; then
	check_pins one 4 exclusive
	rc=$?
	ok $((rc & 1)) "1. srun -n4 --gres=gpu:4 --gpusched=exclusive: each task on whole cores of its own GPU's node (gres.conf in reverse PCI order)"
	ok $((rc & 2)) "1. the four tasks' exclusive cores are disjoint"
	jobid=$(field one 0 4)
	pids=$(scontrol listpids "$jobid" 2>/dev/null | awk 'NR > 1 { print $1 }')
	in_job=0
	for i in 0 1 2 3; do
		echo "$pids" | grep -qx "$(pid_of one $i)" || in_job=1
	done
	ok $(((rc & 4) | in_job)) "1. gpusched status lists the four tasks, which scontrol listpids $jobid counts as the job's, with their GPU, policy and CPUs"
	stop one
	wait $srun_one
	rc=$?
	check "1. the step ran to its end (srun exit $rc)" [ $rc -eq 0 ]
	check "1. the pins ended with the step: no CPU reserved ($(reserved_all))" wait_for 10 no_reservations
	grep -q "gpusched: task 0 (pid [0-9]*): SLURM_LOCALID=0 -> SLURM_STEP_GPUS=" "$log/one.err" &&
		diag "what the user sees with verbose=yes: $(grep -m1 'gpusched: task 0' "$log/one.err")"
else
	ok 1 "1. srun -n4 --gres=gpu:4 --gpusched=exclusive started its four tasks"
	diag "$(cat "$log/one.err")"
	stop one
	wait $srun_one
fi

# ---- 2. two jobs at once, and a third that does not fit -------------------
as_user srun -n1 -c2 --gres=gpu:1 $near --gpusched=exclusive --cpu-bind=none "$task" jobA \
	>"$log/jobA.out" 2>"$log/jobA.err" &
srun_a=$!
wait_for 120 have_records jobA 1
as_user srun -n1 -c2 --gres=gpu:1 $near --gpusched=exclusive --cpu-bind=none "$task" jobB \
	>"$log/jobB.out" 2>"$log/jobB.err" &
srun_b=$!
if wait_for 120 have_records jobB 1 && have_records jobA 1; then
	a=$(allowed "$(pid_of jobA 0)") b=$(allowed "$(pid_of jobB 0)")
	ga=$(slurm_gpu_of jobA 0) gb=$(slurm_gpu_of jobB 0)
	diag "job A: Slurm GPU $ga (node ${node_of[$ga]}) CPUs $a; job B: Slurm GPU $gb (node ${node_of[$gb]}) CPUs $b"
	check "2. two jobs at once: their exclusive cores never overlap ($a / $b), each on its GPU's node" \
		eval 'disjoint "$a" "$b" && subset "$a" "$(node_cpus ${node_of[$ga]})" && subset "$b" "$(node_cpus ${node_of[$gb]})"'
	# The third job has the two GPUs left and three tasks: two of its tasks
	# share a GPU, and whichever pins second finds the GPU's exclusive share
	# of cores held (by its sibling, or by job A or B where Slurm gave those
	# the cores of the third job's GPU).
	as_user srun -n3 --gres=gpu:2 $near --gpusched=exclusive --cpu-bind=none true \
		>"$log/jobC.out" 2>"$log/jobC.err"
	rc=$?
	check "2. a third job that cannot fit fails under nofit=fail (srun exit $rc)" [ $rc -ne 0 ]
	check "2. ... and says why: no free cores near the GPU" \
		grep -q "error: gpusched: task [0-9] not started (the site set nofit=fail): .*no free core near the GPU" "$log/jobC.err"
	diag "what the user sees: $(grep -m1 'gpusched: task' "$log/jobC.err")"
	stack policy=exclusive missing=fail nofit=warn
	as_user srun -n3 --gres=gpu:2 $near --gpusched=exclusive --cpu-bind=none true \
		>"$log/jobC2.out" 2>"$log/jobC2.err"
	rc=$?
	check "2. under nofit=warn the third job runs (exit $rc), its extra task unpinned with a warning" \
		eval '[ $rc -eq 0 ] && grep -q "gpusched: warning: task [0-9] runs unpinned, where Slurm placed it: .*no free core near the GPU" "$log/jobC2.err"'
	diag "what the user sees: $(grep -m1 'gpusched: warning' "$log/jobC2.err")"
	stack policy=exclusive missing=fail nofit=fail verbose=yes
else
	ok 1 "2. two jobs at once started"
	diag "$(cat "$log/jobA.err" "$log/jobB.err")"
fi
stop jobA
stop jobB
wait $srun_a $srun_b
wait_for 10 no_reservations

# ---- 3. scancel -s KILL of a running step ----------------------------------
as_user srun -n2 -c2 --gres=gpu:2 $near --gpusched=exclusive --cpu-bind=none "$task" kill \
	>"$log/kill.out" 2>"$log/kill.err" &
srun_kill=$!
if wait_for 120 have_records kill 2; then
	held=$(reserved_all)
	step="$(field kill 0 4).$(field kill 0 5)"
	scancel -s KILL "$step"
	check "3. scancel -s KILL $step returns the step's cores ($held)" wait_for 20 no_reservations
else
	ok 1 "3. a step to kill started"
	diag "$(cat "$log/kill.err")"
fi
stop kill
wait $srun_kill 2>/dev/null

# ---- 4. off, and --cpu-bind=cores -----------------------------------------
slurm_mask() {	# the mask Slurm's verbose binding reports for task $2 in file $1
	sed -n "s/.*task *$2 *$2 \[[0-9]*\]: mask \(0x[0-9a-f]*\) set.*/\1/p" "$1" | head -n 1
}
as_user srun -n2 --gres=gpu:2 --gpusched=off --cpu-bind=verbose,cores "$task" off \
	>"$log/off.out" 2>"$log/off.err" &
srun_off=$!
if wait_for 120 have_records off 2; then
	gpusched status >"$log/off.status" 2>&1
	off_ok=0
	for i in 0 1; do
		mine=$(allowed "$(pid_of off $i)") slurm=$(mask_to_list "$(slurm_mask "$log/off.err" $i)")
		diag "off task $i: CPUs $mine, Slurm's binding $slurm"
		[ -n "$slurm" ] && [ "$(expand "$mine")" = "$(expand "$slurm")" ] || off_ok=1
		awk -v p="$(pid_of off $i)" '$2 == p' "$log/off.status" | grep -q . && off_ok=1
	done
	ok $off_ok "4. --gpusched=off: tasks keep exactly Slurm's --cpu-bind=cores binding and are not pinned"
else
	ok 1 "4. --gpusched=off started its tasks"
	diag "$(cat "$log/off.err")"
fi
stop off
wait $srun_off

stack policy=exclusive missing=fail nofit=warn verbose=yes
as_user srun -n2 --gres=gpu:2 --gpusched=node --cpu-bind=verbose,cores "$task" bound \
	>"$log/bound.out" 2>"$log/bound.err" &
srun_bound=$!
if wait_for 120 have_records bound 2; then
	bound_ok=0
	for i in 0 1; do
		mine=$(allowed "$(pid_of bound $i)") slurm=$(mask_to_list "$(slurm_mask "$log/bound.err" $i)")
		diag "bound task $i: CPUs $mine within Slurm's binding $slurm"
		subset "$mine" "$slurm" || bound_ok=1
	done
	ok $bound_ok "4. --gpusched=node with --cpu-bind=cores: no task is widened beyond Slurm's binding"
	grep 'gpusched:' "$log/bound.err" | while read -r line; do diag "$line"; done
else
	ok 1 "4. --cpu-bind=cores step started its tasks"
	diag "$(cat "$log/bound.err")"
fi
stop bound
wait $srun_bound
stack policy=exclusive missing=fail nofit=fail verbose=yes

# ---- 5. without the module -------------------------------------------------
daemon_unit=0
systemctl is-active -q gpuschedd && daemon_unit=1
if [ $daemon_unit -eq 1 ]; then
	systemctl stop gpuschedd
	modprobe -r gpusched 2>"$log/rmmod.err"
fi
if [ ! -e /dev/gpusched ]; then
	as_user srun -n1 --gres=gpu:1 --cpu-bind=none true >"$log/nomod.out" 2>"$log/nomod.err"
	rc=$?
	check "5. without the module, missing=fail: the step fails (srun exit $rc)" [ $rc -ne 0 ]
	check "5. ... with: error: gpusched: task 0 not started (the site set missing=fail): /dev/gpusched: does not exist" \
		grep -q "error: gpusched: task 0 not started (the site set missing=fail): /dev/gpusched: does not exist: the gpusched module is not loaded" "$log/nomod.err"
	diag "what the user sees: $(grep -m1 'gpusched:' "$log/nomod.err")"
	stack policy=exclusive missing=warn nofit=fail
	as_user srun -n1 --gres=gpu:1 --cpu-bind=verbose,cores grep Cpus_allowed_list /proc/self/status \
		>"$log/nomod2.out" 2>"$log/nomod2.err"
	rc=$?
	mine=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$log/nomod2.out")
	slurm=$(mask_to_list "$(slurm_mask "$log/nomod2.err" 0)")
	check "5. without the module, missing=warn: the task runs (exit $rc) as Slurm bound it (CPUs $mine, Slurm's $slurm)" \
		eval '[ $rc -eq 0 ] && [ -n "$slurm" ] && [ "$(expand "$mine")" = "$(expand "$slurm")" ]'
	check "5. ... with: gpusched: warning: task 0 runs unpinned, where Slurm placed it" \
		grep -q "gpusched: warning: task 0 runs unpinned, where Slurm placed it: /dev/gpusched: does not exist" "$log/nomod2.err"
	diag "what the user sees: $(grep -m1 'gpusched:' "$log/nomod2.err")"
	stack policy=exclusive missing=fail nofit=fail verbose=yes
else
	skip "5. without the module" "the module could not be unloaded: $(cat "$log/rmmod.err" 2>/dev/null; [ $daemon_unit -eq 0 ] && echo 'gpuschedd is not a systemd unit here')"
fi
if [ $daemon_unit -eq 1 ]; then
	modprobe gpusched
	systemctl start gpuschedd
	fed() { [ "$(cat $sysgs/nr_gpus 2>/dev/null)" -gt 0 ] 2>/dev/null; }
	wait_for 30 fed || bail "gpuschedd did not feed the module again"
	gpusched topo >"$log/topo" 2>&1
fi

# ---- 6. sbatch with two steps; the gpusched exec wrapper -------------------
# The site default is node: the job's --gpusched=exclusive must reach its steps.
stack policy=node missing=fail nofit=fail
cat >"$dir/batch.sh" <<EOF
#!/bin/sh
srun -n2 -c2 --gres=gpu:2 $near --cpu-bind=none $task s0
srun -n2 -c2 --gres=gpu:2 $near --cpu-bind=none $task s1
srun -n2 -c2 --gres=gpu:2 $near --cpu-bind=none --gpusched=off gpusched exec --policy exclusive -- $task wrap
EOF
chmod 755 "$dir/batch.sh"
batch=$(as_user sbatch --parsable -n2 -c2 --gres=gpu:2 $near --gpusched=exclusive -o "$log/batch.out" "$dir/batch.sh")
if [ -n "$batch" ] && wait_for 120 have_records s0 2; then
	check_pins s0 2 exclusive
	ok $? "6. sbatch --gpusched=exclusive, step 0: each task on disjoint whole cores of its GPU's node, in gpusched status"
	stop s0
	if wait_for 120 have_records s1 2; then
		check_pins s1 2 exclusive
		rc=$?
		same=0
		for i in 0 1; do
			[ "$(eval echo \$cpus_s1_$i)" = "$(eval echo \$cpus_s0_$i)" ] || same=1
		done
		ok $((rc | same)) "6. step 1 gets the same pins as step 0"
	else
		ok 1 "6. step 1 started"
	fi
	stop s1
	if wait_for 120 have_records wrap 2; then
		same=0
		for i in 0 1; do
			w=$(allowed "$(pid_of wrap $i)")
			diag "wrapper task $i: CPUs $w; plugin's step 0 task $i: $(eval echo \$cpus_s0_$i)"
			[ "$w" = "$(eval echo \$cpus_s0_$i)" ] || same=1
		done
		ok $same "6. srun ... gpusched exec -- (the wrapper) gives the same pins as the plugin"
	else
		ok 1 "6. the wrapper step started"
	fi
	stop wrap
	finished() { ! squeue -h -j "$batch" 2>/dev/null | grep -q .; }
	wait_for 60 finished
	check "6. the batch job ended and left no pins" wait_for 10 no_reservations
else
	ok 1 "6. sbatch with two steps started ($batch)"
	diag "$(cat "$log/batch.out" 2>/dev/null)"
fi

# ---- put back what the test changed ---------------------------------------
if [ -n "$saved_conf" ]; then echo "$saved_conf" >"$stack_conf"; else rm -f "$stack_conf"; fi
diag "50-slurm.sh took $(elapsed)"
finish
