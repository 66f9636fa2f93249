# SPDX-License-Identifier: GPL-2.0
# TAP helpers of the shell suites in selftests/e2e, sourced by each (the
# guest has it as /etc/gpusched/e2e-tap.sh).  It prints the TAP header; a
# suite reports with ok/check/skip/diag and ends with finish, which prints
# the plan and exits non-zero when a check failed.

n=0
failed=0
echo "TAP version 13"

# ok STATUS DESCRIPTION: one result, passed when STATUS is 0.
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# check DESCRIPTION COMMAND...: one result, passed when COMMAND succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok 0 "$desc"; else ok 1 "$desc"; fi
}

# skip DESCRIPTION REASON
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

diag() { echo "$*" | sed 's/^/# /'; }

finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
	tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}
