#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Step 2: gpuschedd under systemd.  `systemctl enable --now gpuschedd`
# returns once the daemon told systemd it is ready (Type=notify), having fed
# the module the topology; its lines reach the journal with their
# priorities; a CPU going offline while it runs is fed again; `systemctl
# stop` ends it cleanly.  Leaves it enabled and running for the next steps.
set -u
. "$(dirname "$0")/../tap-debian.sh"
sysgs=/sys/kernel/gpusched
nr_gpus=$(grep -c '^gpu ' "$GS_TOPOLOGY_FILE")

generation() { gpusched topo --json 2>/dev/null | sed -n 's/^ *"generation": *\([0-9]*\).*/\1/p'; }
feeds() { journalctl -u gpuschedd -o cat --no-pager 2>/dev/null | grep -c '^fed [0-9]* GPUs'; }
fed() { [ "$(cat $sysgs/nr_gpus 2>/dev/null)" = "$nr_gpus" ]; }

[ -d /sys/module/gpusched ] || modprobe gpusched
# The stand-in GPUs are display adapters of QEMU's vendors, which gpuschedd
# does not count as GPUs unless told: the admin's way is /etc/default.
sed -i "s/^GPUSCHEDD_OPTS=.*/GPUSCHEDD_OPTS=\"$(standin_matches)\"/" /etc/default/gpuschedd
logged grep '^GPUSCHEDD_OPTS' /etc/default/gpuschedd

began=$(date +%s%N)
step "systemctl enable --now gpuschedd" systemctl enable --now gpuschedd
diag "systemctl enable --now took $((($(date +%s%N) - began) / 1000000)) ms"
is "the unit is active" active "$(systemctl is-active gpuschedd)"
is "it is Type=notify and said READY (NotifyAccess main)" "notify main" \
	"$(systemctl show -P Type gpuschedd) $(systemctl show -P NotifyAccess gpuschedd)"
# With Type=notify, start returns only after READY=1; READY is sent once the
# module took the first topology, so it must be there already, not later.
is "the module holds the $nr_gpus GPUs when start returns (nr_gpus)" "$nr_gpus" \
	"$(cat $sysgs/nr_gpus 2>&1)"
logged systemctl status --no-pager gpuschedd
topo=$(gpusched topo 2>&1)
diag "$topo"
topo_ok=0
while read -r kind addr rest; do
	[ "$kind" = gpu ] || continue
	node=$(echo "$rest" | sed -n 's/.*node=\([0-9]*\).*/\1/p')
	echo "$topo" | awk -v a="$addr" -v n="$node" '$2 == a && $4 == n { found = 1 } END { exit !found }' ||
		topo_ok=1
done <"$GS_TOPOLOGY_FILE"
ok $topo_ok "gpusched topo shows every GPU of the topology on its node"

# The journal: gpuschedd writes "<N>" in front of each line when stderr is
# journald's stream, and journald turns that into the entry's PRIORITY.
json=$(journalctl -u gpuschedd -o json --no-pager _COMM=gpuschedd 2>&1)
fed_entry=$(echo "$json" | grep '"MESSAGE":"fed [0-9]* GPUs' | tail -n 1)
diag "$fed_entry"
is "journalctl -u gpuschedd -o json: the 'fed N GPUs' line has PRIORITY 6 (info)" 1 \
	"$(echo "$fed_entry" | grep -c '"PRIORITY":"6"')"
is "no journal line of gpuschedd carries a raw <N> prefix" 0 \
	"$(echo "$json" | grep -c '"MESSAGE":"<[0-7]>')"
by_priority() { journalctl -u gpuschedd -p "$1" -o cat --no-pager | grep -c '^fed '; }
fed_info=$(by_priority info) fed_notice=$(by_priority notice)
ok $(( fed_info > 0 && fed_notice == 0 ? 0 : 1 )) \
	"journalctl -u gpuschedd -p info shows the 'fed' lines ($fed_info), -p notice none ($fed_notice)"

# CPU hotplug while it runs: the daemon hears the uevent and feeds again.
before_gen=$(generation) before_feeds=$(feeds)
cpu=$(($(nproc --all) - 3))
online() { echo "$2" >"/sys/devices/system/cpu/cpu$1/online"; }
step "echo 0 > /sys/devices/system/cpu/cpu$cpu/online" online "$cpu" 0
refed() { [ "$(feeds)" -gt "$before_feeds" ] && [ "$(generation)" -gt "$before_gen" ]; }
check "gpuschedd fed the module again (generation and a new 'fed' line in the journal)" \
	wait_for 30 refed
diag "generation $before_gen -> $(generation)"
logged journalctl -u gpuschedd -o short-monotonic --no-pager -n 6
before_gen=$(generation) before_feeds=$(feeds)
step "echo 1 > /sys/devices/system/cpu/cpu$cpu/online" online "$cpu" 1
check "and again when it comes back" wait_for 30 refed
is "the unit is still active" active "$(systemctl is-active gpuschedd)"

step "systemctl stop gpuschedd" systemctl stop gpuschedd
is "stopped cleanly: inactive, result success, exit status 0" "inactive success 0" \
	"$(systemctl is-active gpuschedd) $(systemctl show -P Result gpuschedd) $(systemctl show -P ExecMainStatus gpuschedd)"
logged journalctl -u gpuschedd -o short-monotonic --no-pager -n 4
step "systemctl start gpuschedd (running for the steps after this one)" systemctl start gpuschedd
check "fed again" wait_for 20 fed
finish
