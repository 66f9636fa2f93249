#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# gpusched exec under a real launcher: Open MPI's mpirun starts four ranks,
# each `gpusched exec` reads its own OMPI_COMM_WORLD_LOCAL_RANK (and the
# CUDA_VISIBLE_DEVICES mpirun exports) and binds its rank before the
# program runs.  This host has no module, so exec places through the
# library's fallback on a fixture machine; in the guests, e2e_test covers
# the module path with the variables torchrun and srun set.  TAP output.
#
# Usage: test_launchers [FIXTURES_DIR]; the CLI is ../bin/gpusched beside
# this program (GPUSCHED overrides).
set -u
here=$(cd "$(dirname "$0")" && pwd)
gpusched=${GPUSCHED:-$here/../bin/gpusched}
fixtures=${1:-${GS_FIXTURES_DIR:-$here/../../userspace/tests/fixtures}}
machine=$fixtures/hgx-2s-smt-8gpu
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

n=0 failed=0
echo "TAP version 13"
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

if ! command -v mpirun >/dev/null; then
	skip "gpusched exec under mpirun" "mpirun is not installed (Debian: openmpi-bin)"
	echo "1..$n"
	exit 0
fi
mpi=(mpirun --allow-run-as-root --oversubscribe -np 4)
# Each rank prints its local rank and the GPU gpusched chose for it.
report='echo "rank=$OMPI_COMM_WORLD_LOCAL_RANK cpus=$(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status)"'

# mpirun LOG -- ARGS: runs ARGS in four ranks, each rank's stdout and stderr
# in files of its own, then gathered in LOG.out and LOG.err.  mpirun's own
# forwarding was seen to drop the output of a rank that exits at once.
mpirun_ranks() {
	local to=$1 rc
	shift 2
	"${mpi[@]}" sh -c 'out=$1 && shift && exec "$@" >"$out.out.$OMPI_COMM_WORLD_RANK" 2>"$out.err.$OMPI_COMM_WORLD_RANK"' \
		sh "$to" "$@"
	rc=$?
	cat "$to".out.* >"$to.out" 2>/dev/null
	cat "$to".err.* >"$to.err" 2>/dev/null
	return $rc
}

mpirun_ranks "$log/run1" -- "$gpusched" exec --verbose --device /nonexistent/gpusched \
	--sysfs-root "$machine" --policy node --spill -- sh -c "$report"
ok $? "mpirun -np 4 gpusched exec -- PROGRAM runs every rank"
chosen=$(sed -n 's/^gpusched: OMPI_COMM_WORLD_LOCAL_RANK=\([0-9]\) -> GPU \([0-9]\) .*/\1:\2/p' \
	"$log/run1.err" | sort | tr '\n' ' ')
[ "$chosen" = "0:0 1:1 2:2 3:3 " ]
ok $? "each rank resolves OMPI_COMM_WORLD_LOCAL_RANK to its own GPU ($chosen)"
[ "$(grep -c '^rank=[0-3] cpus=.' "$log/run1.out")" -eq 4 ]
ok $? "each rank's program runs bound (4 reports)"
[ "$(grep -c 'NOT arbitrated' "$log/run1.err")" -eq 4 ]
ok $? "without the module each rank says its placement is unarbitrated"

mpi+=(-x CUDA_VISIBLE_DEVICES)
CUDA_VISIBLE_DEVICES=7,6,5,4 mpirun_ranks "$log/run2" -- "$gpusched" exec --verbose \
	--device /nonexistent/gpusched --sysfs-root "$machine" --policy node --spill -- true
ok $? "mpirun -x CUDA_VISIBLE_DEVICES=7,6,5,4 runs every rank"
chosen=$(sed -n 's/^gpusched: OMPI_COMM_WORLD_LOCAL_RANK=\([0-9]\) -> CUDA_VISIBLE_DEVICES\[[0-9]\]=[0-9] -> GPU \([0-9]\) .*/\1:\2/p' \
	"$log/run2.err" | sort | tr '\n' ' ')
[ "$chosen" = "0:7 1:6 2:5 3:4 " ]
ok $? "rank r gets CUDA_VISIBLE_DEVICES[r] ($chosen)"

"${mpi[@]}" "$gpusched" exec --device /nonexistent/gpusched --sysfs-root "$machine" \
	--policy bogus -- true >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "a rank whose gpusched exec fails fails the mpirun job"

echo "1..$n"
[ "$failed" -eq 0 ]
