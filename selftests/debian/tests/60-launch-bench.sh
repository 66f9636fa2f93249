#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Step 6: what starting a program through gpusched costs on a Debian node
# (issue 17).  As root, with gpuschedd running under systemd, `gpusched
# bench --micro-only` times `true` started plainly, through taskset,
# through numactl (which a Debian node has, and the busybox guests do not)
# and through `gpusched exec` by way of the module.  Then, with gpuschedd
# stopped and the module unloaded, twice more: exec falls back to
# sched_setaffinity on the machine as the first launch of the boot
# discovered it, then (GPUSCHED_CACHE_DIR empty) discovering it each time.
# With the module and with the file, once more each with address-space
# randomization off, so that QEMU reuses its translations.  Each launch
# must have been timed; the times are printed, not judged (under TCG they
# are the emulator's: Documentation/research-guide.rst).  The first run
# also takes gpuschedd's idle CPU time, under systemd, over at least 60 s
# (--daemon-seconds), printed and not judged either.  Leaves the module
# loaded and gpuschedd running.
set -u
. "$(dirname "$0")/../tap-debian.sh"
sysgs=/sys/kernel/gpusched
log=/var/tmp/gpusched-launch-bench
mkdir -p "$log"
nr_gpus=$(grep -c '^gpu ' "$GS_TOPOLOGY_FILE")
fed() { [ "$(cat $sysgs/nr_gpus 2>/dev/null)" = "$nr_gpus" ]; }

# median FILE NAME [CONDITION]: the median in ns of the micro-benchmark row
# of bench's JSON with that name (and condition), when it has samples.
median() {
	awk -v name="$2" -v cond="${3-}" '
		/^ *"name":/ { n = $0; sub(/^ *"name":"/, "", n); sub(/",?$/, "", n); c = ""; s = 0 }
		/^ *"condition":/ { c = $0; sub(/^ *"condition":"/, "", c); sub(/",?$/, "", c) }
		/^ *"samples":/ { s = $0; gsub(/[^0-9]/, "", s) }
		/^ *"median_ns":/ {
			if (n == name && (cond == "" || c == cond) && s > 0) {
				m = $0; sub(/^ *"median_ns":/, "", m); sub(/,$/, "", m); print m; exit
			}
		}' "$1"
}

# timed DESCRIPTION FILE NAME [CONDITION]: a check that the row was timed.
timed() {
	local value
	value=$(median "$2" "$3" "${4-}")
	if [ -n "$value" ]; then
		ok 0 "$1 ($(awk -v v="$value" 'BEGIN { printf "%.2f ms", v / 1e6 }'))"
	else
		ok 1 "$1"
		diag "$(grep -A 8 "\"name\":\"$3" "$2")"
	fi
}

# overhead FILE EXEC_CONDITION [LABEL]: each launcher's time less a plain
# fork+exec, and gpusched exec's against taskset's and numactl's, printed
# under LABEL (by default the condition).
overhead() {
	local plain taskset numactl exec
	plain=$(median "$1" "fork + exec of true")
	taskset=$(median "$1" "taskset -c CPUS true")
	numactl=$(median "$1" "numactl --cpunodebind=NODE true")
	exec=$(median "$1" "gpusched exec --gpu G -- true" "$2")
	[ -n "$plain" ] && [ -n "$taskset" ] && [ -n "$numactl" ] && [ -n "$exec" ] || return 0
	awk -v p="$plain" -v t="$taskset" -v n="$numactl" -v e="$exec" -v c="${3-$2}" 'BEGIN {
		printf "launch overhead over a plain fork+exec (%.2f ms), %s: taskset %.2f ms, numactl %.2f ms, gpusched exec %.2f ms (%.2fx taskset, %.2fx numactl)\n",
			p / 1e6, c, (t - p) / 1e6, (n - p) / 1e6, (e - p) / 1e6, (e - p) / (t - p), (e - p) / (n - p) }'
}

[ -d /sys/module/gpusched ] || logged modprobe gpusched
systemctl is-active -q gpuschedd || logged systemctl start gpuschedd
check "gpuschedd under systemd has fed the module its $nr_gpus GPUs" wait_for 30 fed
check "numactl is installed (the image's package list)" hash numactl
# What exec maps before it starts the program: json-c and libbpf are loaded
# only by the commands that use them (jsonc_dl.c, libbpf_dl.c).
is "/usr/bin/gpusched links no library but libc" "" \
	"$(ldd /usr/bin/gpusched | awk '$1 ~ /^lib/ && $1 !~ /^libc[.]so/ { print $1 }' | xargs)"
topo_json() { gpusched topo --json 2>/dev/null | grep -q '"generation"'; }
check "gpusched topo --json loads json-c when it needs it" topo_json

# bench NAME DESCRIPTION [OPTION...]: `gpusched bench --micro-only --json`
# into $log/NAME.json, checked to exit 0 (its errors into the TAP stream if
# not).  With $fixed set, bench and every launcher it times run with
# address-space randomization off (setarch -R, which children inherit).
bench() {
	local name=$1 began rc=0 run=()
	began=$(date +%s)
	shift
	[ -z "${fixed-}" ] || run=(setarch -R)
	# shellcheck disable=SC2046 # one option a word
	"${run[@]}" gpusched bench --micro-only --json $(standin_matches) "${@:2}" \
		>"$log/$name.json" 2>"$log/$name.err" || rc=$?
	ok $rc "gpusched bench --micro-only --json, $1 (exit $rc, $(($(date +%s) - began)) s)"
	[ $rc -eq 0 ] || diag "$(cat "$log/$name.err")"
}

# daemon_idle FILE: "SECONDS NS_PER_S NOTE" of the gpuschedd row, when it
# has its sample.
daemon_idle() {
	awk '
		/^ *"name":/ { n = ($0 ~ /"gpuschedd CPU time/); s = 0; m = "" }
		n && /^ *"condition":/ { c = $0; sub(/^.*over /, "", c); sub(/ s",?$/, "", c) }
		n && /^ *"samples":/ { s = $0; gsub(/[^0-9]/, "", s) }
		n && /^ *"median_ns":/ && s > 0 { m = $0; sub(/^ *"median_ns":/, "", m); sub(/,$/, "", m) }
		n && /^ *"note":/ && m != "" { t = $0; sub(/^ *"note":"/, "", t); sub(/",?$/, "", t); print c, m, t; exit }
	' "$1"
}

bench module "with the module" --daemon-seconds 60
idle=$(daemon_idle "$log/module.json")
if [ -n "$idle" ] && awk -v s="${idle%% *}" 'BEGIN { exit !(s >= 60) }'; then
	ok 0 "gpuschedd's idle CPU time was taken over ${idle%% *} s (--daemon-seconds 60)"
	read -r _ ns note <<<"$idle"
	diag "gpuschedd under systemd, idle: $ns ns of CPU per second ($note)"
else
	ok 1 "gpuschedd's idle CPU time was taken over at least 60 s (--daemon-seconds 60)"
	diag "$(grep -A 8 '"name":"gpuschedd CPU time' "$log/module.json")"
fi
timed "true started plainly was timed" "$log/module.json" "fork + exec of true"
timed "... through taskset" "$log/module.json" "taskset -c CPUS true"
timed "... through numactl" "$log/module.json" "numactl --cpunodebind=NODE true"
timed "... through gpusched exec and the module" "$log/module.json" \
	"gpusched exec --gpu G -- true" "through the module"
diag "$(overhead "$log/module.json" "through the module")"
# Under TCG most of a launch is QEMU translating the code the new process
# runs, again at each launch since randomization moves it: with it off, the
# translations are reused and what is left is closer to what each launcher
# does (Documentation/research-guide.rst).
fixed=1 bench module-fixed "with the module, address-space randomization off"
timed "... through gpusched exec and the module, randomization off" \
	"$log/module-fixed.json" "gpusched exec --gpu G -- true" "through the module"
diag "$(overhead "$log/module-fixed.json" "through the module" \
	"through the module, randomization off")"

# Without the module: gpuschedd first, since it holds the device open.
step "systemctl stop gpuschedd" systemctl stop gpuschedd
step "modprobe -r gpusched" modprobe -r gpusched
# Once with the fallback's file of the machine (every launch but the
# first reads it), once with none (every launch discovers).
bench fallback "without the module"
timed "... through gpusched exec's sched_setaffinity fallback" "$log/fallback.json" \
	"gpusched exec --gpu G -- true" "module not loaded: sched_setaffinity fallback"
diag "$(overhead "$log/fallback.json" "module not loaded: sched_setaffinity fallback")"
check "the fallback left the machine it found in /run/gpusched/fallback-machine" \
	test -s /run/gpusched/fallback-machine
fixed=1 bench fallback-fixed "without the module, address-space randomization off"
timed "... through the fallback, randomization off" "$log/fallback-fixed.json" \
	"gpusched exec --gpu G -- true" "module not loaded: sched_setaffinity fallback"
diag "$(overhead "$log/fallback-fixed.json" "module not loaded: sched_setaffinity fallback" \
	"module not loaded: fallback, randomization off")"
GPUSCHED_CACHE_DIR='' bench fallback-discovering "without the module, GPUSCHED_CACHE_DIR empty"
timed "... through the fallback, discovering at every launch" \
	"$log/fallback-discovering.json" "gpusched exec --gpu G -- true" \
	"module not loaded: sched_setaffinity fallback"
diag "$(overhead "$log/fallback-discovering.json" "module not loaded: sched_setaffinity fallback" \
	"module not loaded: fallback discovering at every launch")"

# ---- put back what the test changed ---------------------------------------
step "modprobe gpusched" modprobe gpusched
step "systemctl start gpuschedd" systemctl start gpuschedd
check "gpuschedd has fed the module again" wait_for 30 fed
finish
