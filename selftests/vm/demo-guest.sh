#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo, inside the guest (selftests/vm/demo.sh boots it): gpuschedd feeds
# the module, a four-worker stand-in training job starts the way torchrun
# --no-python starts one, every worker through `gpusched exec`, and the
# topology and where each worker's threads run are printed.
matches="--match 1234 --match 1af4"	# the stand-in GPUs' vendors

step() { printf '\n### %s\n\n' "$*"; }

step "gpuschedd discovers the machine and feeds the module"
# shellcheck disable=SC2086
gpuschedd $matches &
daemon=$!
tries=100
while [ "$(cat /sys/kernel/gpusched/nr_gpus)" = 0 ] && [ $tries -gt 0 ]; do
	sleep 0.1
	tries=$((tries - 1))
done

step "gpusched topo"
# shellcheck disable=SC2086
gpusched topo $matches

step "a four-worker job: LOCAL_RANK=r gpusched exec --policy exclusive -- gpusched-standin-worker"
workers=
for rank in 0 1 2 3; do
	LOCAL_RANK=$rank gpusched exec --verbose --policy exclusive -- \
		gpusched-standin-worker --loaders 2 --buffer-mib 4 >/dev/null &
	workers="$workers $!"
done
sleep 3

step "where each worker's threads run"
printf '%-6s %-7s %-7s %-11s %-10s %s\n' RANK PID TID THREAD ALLOWED "LAST CPU"
rank=0
for pid in $workers; do
	for task in /proc/"$pid"/task/*; do
		tid=${task##*/}
		# Field 39 of stat is the CPU the thread last ran on.
		last=$(sed 's/.*) //' "$task/stat" | cut -d' ' -f37)
		printf '%-6s %-7s %-7s %-11s %-10s %s\n' "$rank" "$pid" "$tid" \
			"$(cat "$task/comm")" \
			"$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$task/status")" "$last"
	done
	rank=$((rank + 1))
done

step "gpusched status"
gpusched status

step "the job ends: every core goes back"
for pid in $workers; do kill "$pid"; done
for pid in $workers; do wait "$pid" 2>/dev/null; done
gpusched status
kill -TERM "$daemon"
wait "$daemon"
