# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# What the Debian guest's suites share beyond the TAP helpers of
# selftests/e2e/tap.sh (sourced first): admin steps whose every line of
# output goes into the TAP stream as a diagnostic, so the run's results
# hold what each step printed.  Sourced by selftests/debian/tests/*.sh.
# shellcheck source=../e2e/tap.sh
. "${GS_TAP:?run by selftests/debian/guest-run.sh}"

# logged COMMAND...: runs COMMAND, its output as "# " lines, then how
# long it took and its status; returns COMMAND's status.
logged() {
	local out rc=0 began
	began=$(date +%s%N)
	out=$("$@" 2>&1) || rc=$?
	echo "$ $*" | sed 's/^/# /'
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
	printf '# (%d.%01d s, status %d)\n' $((($(date +%s%N) - began) / 1000000000)) \
		$((($(date +%s%N) - began) / 100000000 % 10)) $rc
	return $rc
}

# step DESCRIPTION COMMAND...: one TAP check of an admin step, logged.
step() {
	local desc=$1
	shift
	if logged "$@"; then ok 0 "$desc"; else ok 1 "$desc"; fi
}

# is DESCRIPTION EXPECTED ACTUAL: a check of one value, saying what it was.
is() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "expected '$2', got '$3'"
	fi
}

# The stand-in GPUs of a topology file (selftests/vm/topologies), their
# vendors, as gpuschedd --match options.
standin_matches() {
	awk '$1 == "gpu" { for (i = 3; i <= NF; i++) if ($i ~ /^vendor=/) { sub("vendor=", "", $i); v[$i] = 1 } }
	     END { for (x in v) printf "--match %s ", x }' "$GS_TOPOLOGY_FILE"
}
