#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test of gpusched, from a fresh Debian 12 machine.
#
#  1. installs the Debian packages the harness needs (only the missing ones);
#  2. resolves and caches the guest kernels of the matrix (kernels.sh);
#  3. static checks: checkpatch --strict on kmod/, the module built with
#     -Werror and sparse (C=2) against every kernel of the matrix;
#  4. userspace unit tests, built with ASan and UBSan, and the placement
#     engine's libFuzzer target for GPUSCHED_FUZZ_SECONDS (20);
#  5. boots every kernel in every topology under QEMU and runs the
#     selftests inside (run-guest.sh); a guest passes only if it reported,
#     every suite passed, and its kernel log and taint flags are clean;
#  6. builds the Debian packages (lintian too) and, in a Debian 12 guest
#     with systemd (selftests/debian: image built once and cached), installs
#     them and runs the admin steps and every selftests/debian/tests/*.sh.
#
# Ends with "N passed, N failed, N skipped" over everything, and exits
# non-zero on any failure.  Environment: GPUSCHED_KERNELS ("6.1 6.12 6.12-rt
# debug"), GPUSCHED_TOPOLOGIES ("2s-smt 4n memnode"), GPUSCHED_RT_TOPOLOGIES
# ("2s-smt"), GPUSCHED_SUITE_TIMEOUT (120 s per
# suite), GPUSCHED_DEBUG_SUITE_TIMEOUT (480 s on the debug kernel),
# GPUSCHED_DEBUG_VM_TIMEOUT (1800 s per debug boot), GPUSCHED_VM_TIMEOUT (300 s per
# boot), GPUSCHED_DEBIAN_GUEST (1; 0 skips the Debian guest),
# GPUSCHED_DEBIAN_VM_TIMEOUT (2400 s), GPUSCHED_DEBIAN_SUITE_TIMEOUT (900 s per
# suite there), GPUSCHED_CACHE, GPUSCHED_OUT.
set -uo pipefail
. "$(dirname "$0")/vm/common.sh"

# An empty GPUSCHED_KERNELS boots no busybox guest (the Debian one still runs).
kernels=${GPUSCHED_KERNELS-6.1 6.12 6.12-rt debug}
topologies=${GPUSCHED_TOPOLOGIES:-2s-smt 4n memnode}
# The debug kernel is slow under KASAN and lockdep: one topology by default.
debug_topologies=${GPUSCHED_DEBUG_TOPOLOGIES:-2s-smt}
# PREEMPT_RT (sleeping spinlocks, threaded softirqs) is about locking, not
# about the machine's shape: one topology by default.
rt_topologies=${GPUSCHED_RT_TOPOLOGIES:-2s-smt}
logs=$GS_OUT/check
rm -rf "$logs" && mkdir -p "$logs"

passed=0 failed=0 skipped=0
stage_rows=()
failed_rows=()
stage_name= stage_began=

stage() {
	local now
	now=$(gs_now)
	[ -n "$stage_name" ] && stage_rows+=("$(printf '%-40s %5ss' "$stage_name" $((now - stage_began)))")
	stage_name=$1 stage_began=$now
	[ -n "$stage_name" ] && gs_log "== $stage_name"
}

# record NAME PASS FAIL SKIP: one suite's counts into the totals.
record() {
	passed=$((passed + $2)) failed=$((failed + $3)) skipped=$((skipped + $4))
	[ "$3" -gt 0 ] && failed_rows+=("$1 ($3 failed)")
	printf '  %-52s %3d passed, %d failed, %d skipped\n' "$1" "$2" "$3" "$4" >&2
}

# verdict NAME STATUS [LOG]: a check that is one test; prints LOG on failure.
verdict() {
	if [ "$2" -eq 0 ]; then
		record "$1" 1 0 0
	else
		record "$1" 0 1 0
		if [ -n "${3:-}" ] && [ -s "$3" ]; then
			sed 's/^/    | /' "$3" | tail -n 60 >&2
			# The start of the log again in the list at the end.
			while IFS= read -r line; do
				failed_rows+=("    | ${line:0:160}")
			done < <(head -n 8 "$3")
		fi
	fi
}

# Counts one TAP stream (top-level lines only); a plan that promised more
# results than arrived, or a non-zero exit with no failure reported, counts
# as failed.  For a KUnit suite (NAME ends in kunit.SUITE) the cases are the
# lines one level in, and a failed suite line fails too.
# tap_record NAME FILE EXIT-STATUS
tap_record() {
	local counts kunit=0
	case $1 in *kunit.*) kunit=1 ;; esac
	counts=$(tr -d '\r' <"$2" | awk -v rc="$3" -v kunit=$kunit '
		kunit && /^not ok / { rc = 1 }
		kunit && !/^    [^ ]/ { next }
		kunit { $0 = substr($0, 5) }
		/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0 }
		/^not ok [0-9]+/ { fail++; n++; next }
		/^ok [0-9]+/ { if (tolower($0) ~ /# skip/) skip++; else pass++; n++ }
		END {
			if (plan > n) fail += plan - n
			if (rc != 0 && fail == 0) fail = 1
			printf "%d %d %d\n", pass, fail, skip
		}')
	# shellcheck disable=SC2086
	record "$1" $counts
	if [ "${counts#* }" != "0 ${counts##* }" ]; then
		grep -E '^not ok|^# .*(FAIL|fail|Expected|error)' "$2" | head -n 40 | sed 's/^/    | /' >&2
		local first
		first=$(tr -d '\r' <"$2" | grep -m1 -E '^ *not ok')
		[ -n "$first" ] && failed_rows+=("    first: ${first#"${first%%[! ]*}"}")
	fi
}

# guest_suites DIR NAME: the suites a guest reported in DIR/results.clean,
# split into one TAP file per suite ("=== suite S" ... "=== end-suite S
# rc=N secs=T") and each counted with its exit status; the five slowest
# are logged (the Debian guest gives their times as "=== suite-time S T").
guest_suites() {
	local dir=$1 name=$2 tap suite rc
	rm -f "$dir"/suite-*.tap "$dir"/suite-*.rc
	awk -v dir="$dir" '
		/^=== suite / { name = $3; file = dir "/suite-" name ".tap"; printf "" >file; next }
		/^=== end-suite / { split($4, a, "="); print a[2] >(dir "/suite-" $3 ".rc"); file = ""; next }
		file != "" { print >>file }
	' "$dir/results.clean"
	for tap in "$dir"/suite-*.tap; do
		[ -f "$tap" ] || continue
		suite=${tap##*/suite-}
		suite=${suite%.tap}
		rc=$(cat "$dir/suite-$suite.rc" 2>/dev/null ||
			sed -n "s/^=== suite-status.* $suite=\([0-9]*\).*/\1/p" "$dir/results.clean")
		rc=${rc:-255}
		tap_record "$name: $suite" "$tap" "$rc"
	done
	# Where the guest's time went, for whoever has to keep CI short.
	local slow
	slow=$(sed -n -e 's/^=== end-suite \([^ ]*\) rc=[0-9]* secs=\([0-9]*\)$/\2 \1/p' \
		-e 's/^=== suite-time \([^ ]*\) \([0-9]*\)$/\2 \1/p' "$dir/results.clean" |
		sort -rn | head -n 5 | awk '{ printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1 }')
	[ -n "$slow" ] && gs_log "$name: slowest suites: $slow"
	return 0
}

# guest_kernel_clean DIR NAME LOG [CONSOLE]: one check that the guest's
# kernel log (DIR/results.clean from "=== dmesg" on, and the console,
# DIR/console.log unless CONSOLE names another file) has no kernel problem,
# no kmemleak report of the module and no bad taint bit.
guest_kernel_clean() {
	local dir=$1 name=$2 log=$3 console=${4:-$1/console.log} taint
	sed -n '/^=== dmesg/,/^=== done/p' "$dir/results.clean" >"$dir/dmesg.txt"
	# kmemleak reports that are the module's: objects it allocated (its
	# symbols, or raw module addresses once an instance was unloaded),
	# and any object allocated on behalf of a test program or one of the
	# project's programs (a struct pid or file the module kept a
	# reference to is its leak too).  comm is at most 15 characters.
	comms=$( { sed -n 's/^=== suite \([^ ]*\)$/\1/p' "$dir/results.clean" |
		grep -v '^kunit\.'; printf '%s\n' gpusched gpuschedd gpusched-standin-worker \
		json_check; } | cut -c1-15 | sed 's/[.]/[.]/g' | paste -sd'|')
	sed -n '/^=== kmemleak/,/^=== taint-after/p' "$dir/results.clean" |
		awk -v comms="^  comm \"($comms)\"" '
		function judge() { if (block ~ /gpusched|\[<ffffffff[a-f][0-9a-f]*>\] 0x/ || mine) print block }
		/^unreferenced object/ { judge(); block = ""; mine = 0 }
		$0 ~ comms { mine = 1 }
		{ block = block $0 "\n" }
		END { judge() }' >"$dir/kmemleak.txt"
	taint=$(sed -n 's/^=== taint-after //p' "$dir/results.clean")
	[ -n "$taint" ] || taint=$(sed -n 's/^=== done taint=//p' "$dir/results.clean")
	{
		grep -nE "$kernel_problems" "$dir/dmesg.txt" "$console" 2>/dev/null |
			head -n 20
		[ -s "$dir/kmemleak.txt" ] && head -n 40 "$dir/kmemleak.txt"
		if [ -z "$taint" ]; then
			echo "no taint value reported"
		elif ((taint & bad_taint)); then
			echo "kernel tainted: $taint (bad bits $((taint & bad_taint)))"
		fi
	} >"$log"
	if [ -s "$log" ]; then
		# Show the report itself, not only its first line.
		grep -A 30 -E "$kernel_problems" "$dir/dmesg.txt" 2>/dev/null |
			head -n 60 >>"$log"
	fi
	[ ! -s "$log" ]
	verdict "$name: kernel log and taint clean" $? "$log"
}

finish() {
	stage ""
	printf '\nStage times:\n' >&2
	printf '  %s\n' "${stage_rows[@]}" >&2
	# Repeated here, next to the totals, so that the tail of a long log
	# (all that some CI systems keep) names what failed.
	if [ "${#failed_rows[@]}" -gt 0 ]; then
		printf '\nFailed:\n' >&2
		printf '  %s\n' "${failed_rows[@]}" >&2
		printf '(details under %s)\n' "$logs" >&2
	fi
	printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
	[ "$failed" -eq 0 ]
	exit
}

# Messages that mean the kernel is broken even if every test passed.
kernel_problems='(^|\] )(BUG:|WARNING:|UBSAN:|Oops|kernel BUG at|general protection fault|Kernel panic|watchdog: BUG: soft lockup|Watchdog detected hard LOCKUP|INFO: task .* blocked for more than|INFO: rcu_.*stall|rcu: INFO: .*stall|INFO: possible .*locking|possible circular locking|inconsistent lock state|KASAN:|Unable to handle kernel)'
# Taint bits that mean the same: B bad page (5), D died (7), W warned (9),
# L soft lockup (14).  O and E (out-of-tree, unsigned) are expected.
bad_taint=$(((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))

stage "packages"
gs_need_packages "${GS_HOST_PACKAGES[@]}"
tools=$("$GS_TOP/selftests/vm/tools.sh") || { record "kernel source tools" 0 1 0; finish; }

stage "kernels"
declare -A KREL KDIR VMLINUZ
for k in $kernels; do
	if [ "$k" = debug ]; then
		stage "debug kernel (built once, then cached)"
		getter=$GS_TOP/selftests/vm/debug-kernel.sh
	else
		getter="$GS_TOP/selftests/vm/kernels.sh $k"
	fi
	if ! out=$($getter); then
		record "kernel $k: fetch or build" 0 1 0
		continue
	fi
	eval "$out"
	KREL[$k]=$KREL KDIR[$k]=$KDIR VMLINUZ[$k]=$VMLINUZ
	gs_log "$k: $KREL"
done

stage "static checks"
# The sources only: files git tracks or would track, never build products.
kernel_sources=$(cd "$GS_TOP" && git ls-files --cached --others --exclude-standard \
	-- 'kmod/*.c' 'kmod/*.h' 2>/dev/null || find kmod -name '*.[ch]' ! -name '*.mod.c')
for rel in $kernel_sources; do
	f=$GS_TOP/$rel
	perl "$tools/scripts/checkpatch.pl" --strict --no-tree --show-types -f "$f" \
		>"$logs/checkpatch.log" 2>&1
	grep -q '^total: 0 errors, 0 warnings, 0 checks' "$logs/checkpatch.log"
	verdict "checkpatch --strict $rel" $? "$logs/checkpatch.log"
done
# The syzkaller description of the ABI must match the uapi header.
bash "$GS_TOP/selftests/syzkaller/check.sh" >"$logs/syzkaller-check.tap" 2>&1
tap_record "syzkaller description matches the uapi header" "$logs/syzkaller-check.tap" $?

stage "module builds (-Werror, sparse)"
for k in $kernels; do
	[ -n "${KREL[$k]:-}" ] || continue
	# The KUnit suites are a test module of their own, for the kernel that
	# has KUnit; gpusched.ko never carries them.
	kunit=
	[ "$k" = debug ] && kunit=CONFIG_GPUSCHED_KUNIT_TEST=m
	gs_build_module "${KREL[$k]}" "${KDIR[$k]}" C=2 KCFLAGS=-Werror $kunit \
		>"$logs/build-$k.log" 2>&1
	verdict "build gpusched.ko for ${KREL[$k]}" $? "$logs/build-$k.log"
	ko=$GS_OUT/kmod-${KREL[$k]}/kmod/gpusched.ko
	{
		[ -f "$ko" ] || echo "no $ko"
		nm "$ko" 2>/dev/null | grep -i kunit
		modinfo -F depends "$ko" 2>/dev/null | grep -w kunit
	} >"$logs/no-kunit-$k.log"
	[ ! -s "$logs/no-kunit-$k.log" ]
	verdict "gpusched.ko for ${KREL[$k]} carries no KUnit code" $? "$logs/no-kunit-$k.log"
	if [ -n "$kunit" ]; then
		[ -f "${ko%/*}/gpusched_kunit.ko" ]
		verdict "build the KUnit test module gpusched_kunit.ko for ${KREL[$k]}" $?
	fi
	# sparse reports as "file:line:col: warning|error: ..." for our sources.
	grep -E '^[^ ]*\.[ch]:[0-9]+:[0-9]+: (warning|error):' "$logs/build-$k.log" \
		>"$logs/sparse-$k.log"
	[ ! -s "$logs/sparse-$k.log" ]
	verdict "sparse (C=2) for ${KREL[$k]}" $? "$logs/sparse-$k.log"
done

stage "userspace unit tests"
# Snapshots of real machines (hwloc's test dumps) sit in shared/ beside the
# checkout; the discovery tests report SKIP, saying so, when it is absent.
export GS_FIXTURES_DIR=$GS_TOP/userspace/tests/fixtures
export GS_SYSFS_TARBALLS=${GS_SYSFS_TARBALLS:-$GS_TOP/../shared/fixtures/sysfs}
if make -s -C "$GS_TOP" unit-tests OUT="$GS_OUT" >"$logs/unit-build.log" 2>&1; then
	for t in "$GS_OUT"/unit/test_*; do
		[ -x "$t" ] || continue
		"$t" >"$logs/unit-${t##*/}.tap" 2>&1
		tap_record "unit ${t##*/}" "$logs/unit-${t##*/}.tap" $?
	done
else
	verdict "build unit tests" 1 "$logs/unit-build.log"
fi

stage "placement fuzzer"
make -s -C "$GS_TOP" fuzz OUT="$GS_OUT" FUZZ_SECONDS="${GPUSCHED_FUZZ_SECONDS:-20}" \
	>"$logs/fuzz.log" 2>&1
verdict "fuzz placement engine (${GPUSCHED_FUZZ_SECONDS:-20} s)" $? "$logs/fuzz.log"

stage "selftests and initramfs"
make -s -C "$GS_TOP" selftests OUT="$GS_OUT" KSFT_DIR="$tools/tools/testing/selftests" \
	>"$logs/selftests-build.log" 2>&1
verdict "build selftests" $? "$logs/selftests-build.log"
for k in $kernels; do
	ko=$GS_OUT/kmod-${KREL[$k]:-none}/kmod/gpusched.ko
	[ -f "$ko" ] || continue
	tests=$GS_OUT/selftests status=0
	: >"$logs/initramfs-$k.log"
	if [ "$k" = debug ]; then
		# bench_test is left out of the debug guest: there a benchmark
		# times KASAN and lockdep, and the 3 minutes it took bought no
		# coverage pin_test, pin_scale_bench and hotplug_test lack.  A
		# copy that fails fails the initramfs (a guest with fewer
		# programs would report fewer suites and pass).
		tests=$GS_OUT/selftests-debug
		{ rm -rf "$tests" && mkdir -p "$tests" && cp -a "$GS_OUT/selftests/." "$tests/" &&
			rm -f "$tests/bench_test"; } 2>>"$logs/initramfs-$k.log" || status=1
	fi
	[ $status -eq 0 ] && "$GS_TOP/selftests/vm/mkinitramfs.sh" \
		"$GS_OUT/initramfs-${KREL[$k]}.cpio.gz" "$ko" "$tests" "$GS_OUT/guest-bin" \
		2>>"$logs/initramfs-$k.log" || status=1
	verdict "initramfs for ${KREL[$k]}" $status "$logs/initramfs-$k.log"
done

for k in $kernels; do
	initramfs=$GS_OUT/initramfs-${KREL[$k]:-none}.cpio.gz
	guest_topologies=$topologies
	[ "$k" = debug ] && guest_topologies=$debug_topologies
	[ "$k" = 6.12-rt ] && guest_topologies=$rt_topologies
	for t in $guest_topologies; do
		name="$k/$t"
		stage "guest $name"
		if [ ! -f "$initramfs" ]; then
			record "guest $name: not booted, no module or initramfs" 0 1 0
			continue
		fi
		dir=$GS_OUT/vm/$k-$t
		# KASAN and lockdep under emulation make the debug guest several
		# times slower: its suites and the whole boot get longer limits.
		if [ "$k" = debug ]; then
			export GPUSCHED_SUITE_TIMEOUT=${GPUSCHED_DEBUG_SUITE_TIMEOUT:-480}
			export GPUSCHED_VM_TIMEOUT=${GPUSCHED_DEBUG_VM_TIMEOUT:-1800}
		else
			export GPUSCHED_SUITE_TIMEOUT=${suite_timeout_default:=${GPUSCHED_SUITE_TIMEOUT:-120}}
			export GPUSCHED_VM_TIMEOUT=${vm_timeout_default:=${GPUSCHED_VM_TIMEOUT:-300}}
		fi
		"$GS_TOP/selftests/vm/run-guest.sh" "${VMLINUZ[$k]}" "$initramfs" "$t" "$dir" \
			2>"$logs/guest-$k-$t.log"
		boot=$?
		# A guest that never reached /init ran none of our code: a stuck
		# emulated boot, seen rarely under load, or QEMU itself crashing.
		# A guest killed by an "Oops: int3" died of QEMU's multi-threaded
		# emulation of x86 text patching (a vCPU runs an int3 the kernel
		# already took back; seen at boot and after CPU hotplug, with and
		# without the module loaded).  The PREEMPT_RT kernel dies of it at
		# boot, at "sched_clock: Marking stable": at least 4 of its 13
		# boots on 2026-12-04, two in a row in one CI run.  Boot it
		# again and say so, keeping each failed console: up to five times
		# for a guest that died before /init reported anything (a few
		# seconds each), twice for one that died later; then it counts.
		early=0 late=0
		while :; do
			why=
			[ $boot -ne 0 ] && [ ! -s "$dir/results.txt" ] && why="never reached /init"
			[ $boot -ne 0 ] && grep -q 'Oops: int3' "$dir/console.log" 2>/dev/null &&
				why="died of an int3 trap (emulated text patching)"
			[ -n "$why" ] || break
			if [ -s "$dir/results.txt" ]; then
				late=$((late + 1))
				[ $late -le 2 ] || break
			else
				early=$((early + 1))
				[ $early -le 5 ] || break
			fi
			attempt=$((early + late))
			mv "$dir/console.log" "$dir/console.attempt-$attempt.log"
			gs_log "guest $name $why ($(grep -m1 'Oops: int3' "$dir/console.attempt-$attempt.log" || tail -n 1 "$dir/console.attempt-$attempt.log")); booting it again"
			"$GS_TOP/selftests/vm/run-guest.sh" "${VMLINUZ[$k]}" "$initramfs" "$t" "$dir" \
				2>>"$logs/guest-$k-$t.log"
			boot=$?
		done
		results=$dir/results.txt
		[ -f "$results" ] || : >"$results"
		tr -d '\r' <"$results" >"$dir/results.clean"
		if [ $boot -ne 0 ]; then
			{
				cat "$logs/guest-$k-$t.log"
				echo "--- console (last lines)"; tail -n 40 "$dir/console.log" 2>/dev/null
				echo "--- results (last lines)"; grep -v '^\[' "$dir/results.clean" | tail -n 20
			} >"$logs/guest-$k-$t.fail"
		fi
		verdict "guest $name: boots and reports" $boot "$logs/guest-$k-$t.fail"

		grep -q '^=== insmod rc=0$' "$dir/results.clean"
		verdict "guest $name: insmod gpusched.ko" $?
		if [ "$k" = debug ]; then
			grep -q '^=== insmod-kunit rc=0$' "$dir/results.clean" &&
				grep -q '^=== suite kunit.gpusched_placement$' "$dir/results.clean" &&
				grep -q '^=== suite kunit.gpusched_topology$' "$dir/results.clean" &&
				grep -q '^=== suite kunit.gpusched_mask$' "$dir/results.clean" &&
				grep -q '^=== rmmod-kunit rc=0$' "$dir/results.clean"
			verdict "guest $name: gpusched_kunit.ko loads, reports its three suites, unloads" $?
		fi

		guest_suites "$dir" "guest $name"
		[ "$k" = debug ] && record "guest $name: bench_test (not run on the debug kernel: its timings are KASAN's and lockdep's)" 0 0 1

		guest_kernel_clean "$dir" "guest $name" "$logs/kernel-$k-$t.log"
	done
done


# The Debian node: the packages built on this machine as a packager builds
# them, then installed, used and removed in a booted Debian 12 guest with
# systemd, udev and DKMS, by the admin steps of selftests/debian/tests (and
# any suite added there).  GPUSCHED_DEBIAN_GUEST=0 skips the guest (image
# build and boot) for a quick local run; the packages are still built.
stage "Debian packages (dpkg-buildpackage, lintian)"
debs=$GS_OUT/debian/debs
version=$(sed -n 's/^#define GPUSCHED_VERSION "\(.*\)"/\1/p' "$GS_TOP/kmod/gpusched.h")
versions="$version $(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$GS_TOP/dkms.conf") $(
	sed -n '1s/^gpusched (\([^-]*\)-.*/\1/p' "$GS_TOP/debian/changelog")"
echo "GPUSCHED_VERSION, dkms.conf, debian/changelog: $versions" >"$logs/debian-versions.log"
[ "$versions" = "$version $version $version" ]
verdict "one version: GPUSCHED_VERSION = dkms.conf = debian/changelog ($version)" $? \
	"$logs/debian-versions.log"
"$GS_TOP/selftests/debian/build-debs.sh" "$debs" >"$logs/debian-build.log" 2>&1
debs_built=$?
cat "$debs/build.log" >>"$logs/debian-build.log" 2>/dev/null
verdict "dpkg-buildpackage -us -uc -b: gpusched-dkms, gpusched, libgpusched0, libgpusched-dev, gpusched-slurm" \
	$debs_built "$logs/debian-build.log"
if [ $debs_built -eq 0 ]; then
	cp "$debs/lintian.log" "$logs/lintian.log"
	[ "$(cat "$debs/lintian.rc")" = 0 ]
	verdict "lintian: no error or warning (the tags kept are overridden, with reasons)" $? \
		"$logs/lintian.log"
fi

if [ "${GPUSCHED_DEBIAN_GUEST:-1}" = 0 ]; then
	gs_log "Debian guest skipped: GPUSCHED_DEBIAN_GUEST=0"
	record "Debian guest: skipped, GPUSCHED_DEBIAN_GUEST=0" 0 0 1
elif [ $debs_built -ne 0 ]; then
	record "Debian guest: not booted, the packages did not build" 0 1 0
else
	stage "Debian guest image (built once, then cached)"
	"$GS_TOP/selftests/debian/image.sh" >"$logs/debian-image.log" 2>&1
	verdict "Debian 12 guest image (systemd, udev, DKMS, Slurm)" $? "$logs/debian-image.log"
	if grep -q '^IMAGE=' "$logs/debian-image.log"; then
		stage "Debian guest 2s-smt"
		dir=$GS_OUT/vm/debian-2s-smt
		"$GS_TOP/selftests/debian/run-guest.sh" "$debs" 2s-smt "$dir" \
			>"$logs/guest-debian.log" 2>&1
		boot=$?
		[ -f "$dir/results.txt" ] || : >"$dir/results.txt"
		tr -d '\r' <"$dir/results.txt" >"$dir/results.clean"
		if [ $boot -ne 0 ]; then
			{
				echo "--- console (last lines)"; tail -n 40 "$dir/console.log" 2>/dev/null
				echo "--- results (last lines)"; grep -v '^\[' "$dir/results.clean" | tail -n 20
			} >>"$logs/guest-debian.log"
		fi
		verdict "guest debian/2s-smt: boots under systemd and reports" $boot "$logs/guest-debian.log"
		guest_suites "$dir" "guest debian/2s-smt"
		# The console up to the end of the tests: systemd's poweroff after
		# them unloads drivers we never touch (virtio-gpu warns then).
		sed '/gpusched-guest-tests: finished/q' "$dir/console.log" >"$dir/console.tests.log" 2>/dev/null
		guest_kernel_clean "$dir" "guest debian/2s-smt" "$logs/kernel-debian-2s-smt.log" \
			"$dir/console.tests.log"
	fi
fi

finish
