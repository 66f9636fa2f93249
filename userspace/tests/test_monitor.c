// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the scheduler monitor (userspace/bpf/sched_monitor.h): the
 * run-queue latency percentiles, and, where this machine can load BPF
 * (root, kernel BTF, two CPUs), a live run.  The live run pretends CPU 0
 * is node 0 and CPU 1 node 1, so that a busy child the test moves between
 * them must show as many migrations, all of them cross-node, and run time
 * on both nodes; a child held on CPU 1 must show none, and as many
 * run-queue waits as the kernel gave it slices; a thread its watched
 * process creates later must be counted too, under the name it gives
 * itself once running; a thread that exits keeps its run time until the
 * next reset; a process watched late counts from then.  A second monitor
 * keeps latency histograms.  Where BPF cannot be loaded the live cases are
 * skipped with the loader's reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sched_monitor.h"
#include "tap.h"

static void test_percentiles(void)
{
	uint64_t latency[GS_MONITOR_LATENCY_SLOTS] = { 0 };

	tap_ok(gs_monitor_latency_percentile(latency, 0.5) == 0, "no samples: p50 is 0");
	latency[0] = 4;
	tap_ok(gs_monitor_latency_percentile(latency, 0.5) == 2 &&
	       gs_monitor_latency_percentile(latency, 0.99) == 2,
	       "waits under 2 us: p50 and p99 are 2 us, the slot's upper edge");
	latency[0] = 10;
	latency[3] = 90;
	tap_ok(gs_monitor_latency_percentile(latency, 0.10) == 2,
	       "p10 of 10 short and 90 long waits is in the first slot");
	tap_ok(gs_monitor_latency_percentile(latency, 0.11) == 16,
	       "p11 of 10 short and 90 long waits crosses into slot 3 ([8, 16) us)");
	tap_ok(gs_monitor_latency_percentile(latency, 0.5) == 16, "p50 is 16 us");
	memset(latency, 0, sizeof(latency));
	latency[1] = 99;
	latency[10] = 1;
	tap_ok(gs_monitor_latency_percentile(latency, 0.99) == 4,
	       "p99 of 99 waits in [2, 4) us and one of 1 ms is 4 us");
	tap_ok(gs_monitor_latency_percentile(latency, 1.0) == 2048, "p100 is the longest wait's slot");
	tap_ok(gs_monitor_latency_percentile(latency, 0.0) == 4,
	       "p0 is the first non-empty slot");
	memset(latency, 0, sizeof(latency));
	latency[GS_MONITOR_LATENCY_SLOTS - 1] = 1;
	tap_ok(gs_monitor_latency_percentile(latency, 0.5) == 1ULL << GS_MONITOR_LATENCY_SLOTS,
	       "the last slot's upper edge is 2^%d us", GS_MONITOR_LATENCY_SLOTS);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int set_cpu(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

static void *spin(void *arg)
{
	volatile unsigned long n = 0;

	/* A name to take first, which the monitor must show. */
	if (arg)
		prctl(PR_SET_NAME, arg);
	for (;;)
		n++;
	return NULL;
}

/* Whether a thread of @pid is recorded under the name @comm. */
static bool named(struct gs_sched_monitor *monitor, pid_t pid, const char *comm)
{
	struct gs_task_stats *stats;
	bool found = false;
	size_t nr, i;

	if (gs_sched_monitor_read(monitor, &stats, &nr))
		return false;
	for (i = 0; i < nr; i++)
		found = found || (stats[i].pid == pid && !strcmp(stats[i].comm, comm));
	free(stats);
	return found;
}

/*
 * In a child: the monitor's programs stay attached while any process holds
 * their links, which are file descriptors, so drop the copies fork() made
 * (all but @keep).
 */
static void close_inherited(int keep)
{
	for (int fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}

/*
 * A child that spins on @cpu (-1: anywhere); with @thread_after_ms, it
 * starts a second spinning thread that late.
 */
static pid_t start_spinner(int cpu, long thread_after_ms)
{
	int ready[2];
	pid_t pid;
	char byte;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid) {
		/* Its move to @cpu is done before the test starts to watch it. */
		close(ready[1]);
		if (pid > 0 && read(ready[0], &byte, 1) != 1)
			pid = -1;
		close(ready[0]);
		return pid;
	}
	close(ready[0]);
	close_inherited(ready[1]);
	if (cpu >= 0 && set_cpu(0, cpu))
		_exit(1);
	if (write(ready[1], "", 1) != 1)
		_exit(1);
	close(ready[1]);
	if (thread_after_ms) {
		pthread_t thread;

		sleep_ms(thread_after_ms);
		if (pthread_create(&thread, NULL, spin, "gs-renamed"))
			_exit(1);
	}
	spin(NULL);
	_exit(0);
}

/*
 * A child that sleeps 300 ms at a time, adding one to *@wakes (shared
 * memory) each time it wakes: one short slice, after a wait, every 300 ms.
 */
static pid_t start_sleeper(unsigned int *wakes)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	close_inherited(-1);
	for (;;) {
		sleep_ms(300);
		__atomic_add_fetch(wakes, 1, __ATOMIC_RELEASE);
	}
}

/* Waits up to 2 s for *@wakes to pass @from, then 30 ms for the sleeper to sleep again. */
static bool woke_after(const unsigned int *wakes, unsigned int from)
{
	int tries;

	for (tries = 0; tries < 200 && __atomic_load_n(wakes, __ATOMIC_ACQUIRE) == from; tries++)
		sleep_ms(10);
	sleep_ms(30);
	return __atomic_load_n(wakes, __ATOMIC_ACQUIRE) != from;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * What the kernel counts of @pid's main thread (/proc/PID/schedstat): its
 * run time, and with CONFIG_SCHED_INFO its run-queue waits and its time
 * slices (0 where the kernel keeps no such count).
 */
static void schedstat_of(pid_t pid, unsigned long long *run_ns, unsigned long long *slices)
{
	unsigned long long wait_ns;
	char path[64];
	FILE *file;

	*run_ns = *slices = 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	file = fopen(path, "re");
	if (!file)
		return;
	if (fscanf(file, "%llu %llu %llu", run_ns, &wait_ns, slices) != 3)
		*run_ns = *slices = 0;
	fclose(file);
}

static unsigned long long slices_of(pid_t pid)
{
	unsigned long long run_ns, slices;

	schedstat_of(pid, &run_ns, &slices);
	return slices;
}

static uint64_t run_ns_of(const struct gs_task_stats *s)
{
	uint64_t total = 0;

	for (unsigned int node = 0; node < GS_MONITOR_MAX_NODES; node++)
		total += s->run_ns[node];
	return total;
}

static uint64_t in_histogram(const struct gs_task_stats *s)
{
	uint64_t total = 0;

	for (unsigned int slot = 0; slot < GS_MONITOR_LATENCY_SLOTS; slot++)
		total += s->latency[slot];
	return total;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The counters of the threads of @pid, summed, and how many threads it had. */
static int stats_of(struct gs_sched_monitor *monitor, pid_t pid, struct gs_task_stats *sum,
		    unsigned int *nr_threads)
{
	struct gs_task_stats *stats;
	size_t nr, i, node, slot;
	int err = gs_sched_monitor_read(monitor, &stats, &nr);

	memset(sum, 0, sizeof(*sum));
	*nr_threads = 0;
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		if (stats[i].pid != pid)
			continue;
		(*nr_threads)++;
		sum->migrations += stats[i].migrations;
		sum->cross_node_migrations += stats[i].cross_node_migrations;
		for (node = 0; node < GS_MONITOR_MAX_NODES; node++)
			sum->run_ns[node] += stats[i].run_ns[node];
		for (slot = 0; slot < GS_MONITOR_LATENCY_SLOTS; slot++)
			sum->latency[slot] += stats[i].latency[slot];
		sum->nr_waits += stats[i].nr_waits;
		sum->wait_ns += stats[i].wait_ns;
		sum->last_cpu = stats[i].last_cpu;
		memcpy(sum->comm, stats[i].comm, sizeof(sum->comm));
	}
	free(stats);
	return 0;
}

/*
 * A child that moves to the other CPU and back to @cpu (0 or 1), so that
 * it has a record, renames itself "gs-brief" once there, waits for a byte
 * on @go, spins until it has used @ms of CPU time and exits.
 */
static pid_t start_brief(int cpu, long ms, int go[2])
{
	struct timespec used;
	pid_t pid = fork();
	char byte;

	if (pid)
		return pid;
	close(go[1]);
	close_inherited(go[0]);
	if (set_cpu(0, !cpu) || set_cpu(0, cpu) || prctl(PR_SET_NAME, "gs-brief"))
		_exit(1);
	if (read(go[0], &byte, 1) != 1)
		_exit(1);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
	while (used.tv_sec * 1000L + used.tv_nsec / 1000000 < ms);
	_exit(0);
}

/*
 * A thread that never migrates has no record until it exits: its run time
 * must outlive it, until the next reset.  A process watched after it ran
 * counts from the watch on, not from its start.
 */
static void test_exit_and_late_watch(struct gs_sched_monitor *monitor)
{
	unsigned long long kernel_ns, slices;
	struct gs_task_stats sum;
	unsigned int nr_threads;
	pid_t brief, late;
	int err, tries, go[2];

	if (pipe(go)) {
		tap_ok(0, "a pipe for the brief child: %s", strerror(errno));
		return;
	}
	brief = start_brief(0, 200, go);
	close(go[0]);
	err = brief > 0 ? gs_sched_monitor_watch_pid(monitor, brief) : -ECHILD;
	if (!err && write(go[1], "", 1) != 1)
		err = -errno;
	if (!err && waitpid(brief, NULL, 0) != brief)
		err = -errno;
	close(go[1]);
	if (!err)
		err = stats_of(monitor, brief, &sum, &nr_threads);
	/* Until its move back to CPU 0 it ran on CPU 1, node 1. */
	tap_ok(!err && nr_threads == 1 && sum.run_ns[0] >= 150000000 &&
	       run_ns_of(&sum) <= 300000000 && !strcmp(sum.comm, "gs-brief"),
	       "a child that used 200 ms of CPU 0 and exited: %u thread \"%s\", %llu ms on node 0 of %llu",
	       nr_threads, sum.comm, (unsigned long long)sum.run_ns[0] / 1000000,
	       (unsigned long long)run_ns_of(&sum) / 1000000);
	err = gs_sched_monitor_reset(monitor);
	if (!err)
		err = stats_of(monitor, brief, &sum, &nr_threads);
	tap_ok(!err && nr_threads == 0, "... which the next reset forgets (%u threads)",
	       nr_threads);

	late = start_spinner(0, 0);
	for (tries = 0, kernel_ns = 0; late > 0 && tries < 300 && kernel_ns < 300000000; tries++) {
		sleep_ms(10);
		schedstat_of(late, &kernel_ns, &slices);
	}
	err = late > 0 ? gs_sched_monitor_watch_pid(monitor, late) : -ECHILD;
	if (!err)
		err = stats_of(monitor, late, &sum, &nr_threads);
	tap_ok(!err && nr_threads == 1 && kernel_ns >= 300000000 &&
	       run_ns_of(&sum) < kernel_ns / 2,
	       "a process watched after it ran %llu ms counts from the watch: %llu ms",
	       kernel_ns / 1000000, (unsigned long long)run_ns_of(&sum) / 1000000);
	sleep_ms(200);
	if (!err)
		err = stats_of(monitor, late, &sum, &nr_threads);
	tap_ok(!err && run_ns_of(&sum) > 10000000, "... and counts on: %llu ms 200 ms later",
	       (unsigned long long)run_ns_of(&sum) / 1000000);
	if (late > 0)
		stop(late);
}

/*
 * The histograms: a second monitor, with opts.latency, sorts the waits of
 * the child held on CPU 1 (which shares it with a spinning child) into
 * log2 slots at its switch-outs.  The kernel counts a wait when the slice
 * it led to begins, the histogram when that slice ends: at the reset and
 * at the read the slice running may have its wait in one and not yet in
 * the other, so the two counts since the reset differ by at most one (a
 * switch-out missed only delays its wait to the next one).  A thread
 * asleep at a reset has the wait before its next slice sorted.
 */
static void test_latency(struct gs_sched_monitor_opts opts, pid_t held)
{
	struct gs_sched_monitor *monitor;
	unsigned int nr_threads, *wakes, from, counted, i;
	struct gs_task_stats sum;
	char message[256];
	pid_t sleeper;
	int err;

	opts.latency = true;
	err = gs_sched_monitor_open(&opts, &monitor, message);
	tap_ok(!err, "a monitor with latency histograms loads (%s)", err ? message : "no error");
	if (err)
		return;
	err = gs_sched_monitor_watch_pid(monitor, held);
	if (!err)
		err = gs_sched_monitor_reset(monitor);
	sleep_ms(500);
	if (!err)
		err = stats_of(monitor, held, &sum, &nr_threads);
	if (!slices_of(getpid()))
		tap_skip("this kernel keeps no per-thread slice count (/proc/PID/schedstat)",
			 "run-queue waits sorted into the histogram");
	else
		tap_ok(!err && sum.nr_waits >= 2 && in_histogram(&sum) + 1 >= sum.nr_waits &&
		       in_histogram(&sum) <= sum.nr_waits + 1,
		       "the held child's waits in the histogram: %llu of %llu, p50 %llu us, p99 %llu us",
		       (unsigned long long)in_histogram(&sum), (unsigned long long)sum.nr_waits,
		       (unsigned long long)gs_monitor_latency_percentile(sum.latency, 0.5),
		       (unsigned long long)gs_monitor_latency_percentile(sum.latency, 0.99));

	wakes = mmap(NULL, sizeof(*wakes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (wakes == MAP_FAILED) {
		tap_ok(0, "shared memory for the sleeping child: %s", strerror(errno));
		gs_sched_monitor_close(monitor);
		return;
	}
	*wakes = 0;
	sleeper = start_sleeper(wakes);
	err = sleeper > 0 ? gs_sched_monitor_watch_pid(monitor, sleeper) : -ECHILD;
	for (i = 0, counted = 0; i < 3 && !err; i++) {
		from = __atomic_load_n(wakes, __ATOMIC_ACQUIRE);
		woke_after(wakes, from);
		err = gs_sched_monitor_reset(monitor);
		from = __atomic_load_n(wakes, __ATOMIC_ACQUIRE);
		if (!err && !woke_after(wakes, from))
			err = -ETIMEDOUT;
		if (!err)
			err = stats_of(monitor, sleeper, &sum, &nr_threads);
		counted += !err && in_histogram(&sum) >= 1;
	}
	if (!slices_of(getpid()))
		tap_skip("this kernel keeps no per-thread slice count (/proc/PID/schedstat)",
			 "a wait after a reset is sorted");
	else
		tap_ok(!err && counted == 3,
		       "a thread asleep at a reset has its next wait sorted, %u of 3 times", counted);
	if (sleeper > 0)
		stop(sleeper);
	munmap(wakes, sizeof(*wakes));
	gs_sched_monitor_close(monitor);
}

static void test_live(void)
{
	static const int cpu_node[2] = { 0, 1 };
	struct gs_sched_monitor_opts opts = {
		.filter = GS_MONITOR_PIDS, .cpu_node = cpu_node, .nr_cpus = 2,
	};
	char message[256], reason[300];
	struct gs_sched_monitor *monitor;
	struct gs_task_stats sum, first = { 0 };
	unsigned int nr_threads, moves = 6, i;
	unsigned long long slices[4] = { 0 }, waits;
	pid_t moving, held, growing;
	uint64_t over;
	int err, tries;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		tap_skip("this machine has one online CPU", "live monitor run");
		return;
	}
	err = gs_sched_monitor_open(&opts, &monitor, message);
	if (err) {
		snprintf(reason, sizeof(reason), "cannot load BPF here: %s", message);
		tap_skip(reason, "live monitor run");
		return;
	}
	tap_ok(1, "the monitor loads and attaches");
	tap_ok(gs_sched_monitor_watch_pid(monitor, 0x7ffffff0) == -ESRCH,
	       "watching a process that does not exist is ESRCH");

	moving = start_spinner(0, 0);
	held = start_spinner(1, 0);
	growing = start_spinner(0, 100);
	tap_ok(moving > 0 && held > 0 && growing > 0 &&
	       !gs_sched_monitor_watch_pid(monitor, moving) &&
	       !gs_sched_monitor_watch_pid(monitor, held) &&
	       !gs_sched_monitor_watch_pid(monitor, growing), "three children watched");
	tap_ok(!gs_sched_monitor_reset(monitor), "reset");
	for (i = 0; i < moves; i++) {
		int cpu = i % 2 ? 0 : 1;
		uint64_t before;

		/* On a loaded machine a move may take a while to run: wait until it ran there. */
		stats_of(monitor, moving, &sum, &nr_threads);
		before = sum.run_ns[cpu];
		set_cpu(moving, cpu);
		for (tries = 0; tries < 300; tries++) {
			sleep_ms(10);
			stats_of(monitor, moving, &sum, &nr_threads);
			if (sum.run_ns[cpu] > before + 2000000)
				break;
		}
		/* The held child has shared CPU 1 once: a first count of its waits. */
		if (!i) {
			slices[0] = slices_of(held);
			stats_of(monitor, held, &first, &nr_threads);
			slices[1] = slices_of(held);
		}
	}

	err = stats_of(monitor, moving, &sum, &nr_threads);
	tap_ok(!err && nr_threads == 1, "the moved child is seen (%u thread)", nr_threads);
	tap_ok(sum.migrations >= moves, "moved %u times between CPU 0 and 1: %llu migrations",
	       moves, (unsigned long long)sum.migrations);
	tap_ok(sum.cross_node_migrations >= moves, "... %llu of them cross-node",
	       (unsigned long long)sum.cross_node_migrations);
	tap_ok(sum.run_ns[0] > 0 && sum.run_ns[1] > 0, "it ran on both nodes: %llu and %llu ms",
	       (unsigned long long)sum.run_ns[0] / 1000000,
	       (unsigned long long)sum.run_ns[1] / 1000000);
	tap_ok(sum.last_cpu == 0 || sum.last_cpu == 1, "its last CPU is %d", sum.last_cpu);
	tap_diag("moved child: %llu run-queue waits, %llu us in all",
		 (unsigned long long)sum.nr_waits, (unsigned long long)sum.wait_ns / 1000);

	slices[2] = slices_of(held);
	err = stats_of(monitor, held, &sum, &nr_threads);
	slices[3] = slices_of(held);
	tap_ok(!err && nr_threads == 1, "the child held on CPU 1 is seen (%u thread)", nr_threads);
	/*
	 * It shared CPU 1 with the moved child twice more (and with this
	 * process) since the first count: each of its slices followed a wait.
	 * The monitor's count is the kernel's, read on both sides of each of
	 * the monitor's reads: between the two reads it must count at least
	 * the slices begun between the inner two looks and at most those
	 * between the outer two.
	 */
	waits = sum.nr_waits - first.nr_waits;
	if (!slices_of(getpid()))
		tap_skip("this kernel keeps no per-thread slice count (/proc/PID/schedstat)",
			 "run-queue waits counted per slice");
	else
		tap_ok(slices[2] - slices[1] >= 2 && waits >= slices[2] - slices[1] &&
		       waits <= slices[3] - slices[0] && sum.wait_ns > first.wait_ns &&
		       !in_histogram(&sum),
		       "... its run-queue waits counted, one per slice: %llu (%llu in all, none in a histogram not asked for), %llu to %llu slices",
		       waits, (unsigned long long)sum.nr_waits, slices[2] - slices[1],
		       slices[3] - slices[0]);
	tap_ok(sum.migrations == 0 && sum.cross_node_migrations == 0,
	       "... with no migrations (%llu)", (unsigned long long)sum.migrations);
	tap_ok(sum.run_ns[1] > 0 && sum.run_ns[0] == 0, "... and run time on node 1 only (%llu ms)",
	       (unsigned long long)sum.run_ns[1] / 1000000);
	tap_ok(sum.last_cpu == 1, "... last on CPU 1 (%d)", sum.last_cpu);

	/*
	 * The moves take tens of ms on an idle machine, less than the child's
	 * sleep: wait for its second thread, which started after the reset.
	 */
	for (tries = 0; tries < 300; tries++) {
		err = stats_of(monitor, growing, &sum, &nr_threads);
		if (err || nr_threads >= 2)
			break;
		sleep_ms(10);
	}
	tap_ok(!err && nr_threads == 2,
	       "a thread the watched process created later is counted (%u threads)", nr_threads);
	for (tries = 0; tries < 100 && !named(monitor, growing, "gs-renamed"); tries++)
		sleep_ms(10);
	tap_ok(named(monitor, growing, "gs-renamed"),
	       "... under the name it gave itself after it started");

	tap_ok(!gs_sched_monitor_reset(monitor) &&
	       !stats_of(monitor, moving, &sum, &nr_threads) && sum.migrations == 0,
	       "after a reset the migrations count from zero");

	/* Detached, the programs count nothing; attached again, they do. */
	err = gs_sched_monitor_attach(monitor, false, message);
	for (i = 0; i < 4 && !err; i++)
		err = set_cpu(moving, i % 2);
	if (!err)
		err = stats_of(monitor, moving, &sum, &nr_threads);
	tap_ok(!err && sum.migrations == 0, "detached: 4 moves, %llu migrations counted",
	       (unsigned long long)sum.migrations);
	err = gs_sched_monitor_attach(monitor, true, message);
	tap_ok(!err && !gs_sched_monitor_reset(monitor), "attached again (%s)",
	       err ? message : "no error");
	for (i = 0; i < 4 && !err; i++)
		err = set_cpu(moving, i % 2);
	if (!err)
		err = stats_of(monitor, moving, &sum, &nr_threads);
	tap_ok(!err && sum.migrations >= 4, "attached again: 4 moves, %llu migrations counted",
	       (unsigned long long)sum.migrations);
	/*
	 * Two children spinning on CPU 1 run no longer, together, than the
	 * time since the reset: a slice is counted once, whether it ended
	 * before the read or still runs, also when it ends while the loader
	 * reads.  The kernel's run time of the thread running at the reset is
	 * up to a tick old (4 ms at Debian's HZ=250), more when the emulator
	 * stalls the vCPU, which the count since may exceed the time by: 25 ms
	 * are allowed.  Counting the run time since the last migration twice
	 * would exceed it by the 50 ms slept.
	 */
	err = set_cpu(moving, 1);
	for (i = 0, over = 0; i < 20 && !err; i++) {
		uint64_t t0 = now_ns(), ran;
		struct gs_task_stats other;

		err = gs_sched_monitor_reset(monitor);
		sleep_ms(50);
		if (!err)
			err = stats_of(monitor, moving, &sum, &nr_threads);
		if (!err)
			err = stats_of(monitor, held, &other, &nr_threads);
		ran = sum.run_ns[1] + other.run_ns[1];
		if (!err && ran > now_ns() - t0 + 25000000 && !over)
			over = ran - (now_ns() - t0);
	}
	tap_ok(!err && !over,
	       "two children sharing CPU 1 never ran longer than the time since the reset (%llu us over)",
	       (unsigned long long)over / 1000);

	test_exit_and_late_watch(monitor);
	test_latency(opts, held);
	stop(moving);
	stop(held);
	stop(growing);
	gs_sched_monitor_close(monitor);
}

/* Where cgroup v2 is mounted, from /proc/self/mounts, in @dir (PATH_MAX). */
static bool cgroup2_mount(char *dir)
{
	char line[4096], type[64];
	bool found = false;
	FILE *mounts = fopen("/proc/self/mounts", "re");

	if (!mounts)
		return false;
	while (!found && fgets(line, sizeof(line), mounts))
		found = sscanf(line, "%*s %4095s %63s", dir, type) == 2 && !strcmp(type, "cgroup2");
	fclose(mounts);
	return found;
}

/*
 * A thread that moves into the watched cgroup after a reset counts from
 * when the monitor first sees it there, not from its start.
 */
static void test_cgroup_newcomer(void)
{
	static const int cpu_node[2] = { 0, 1 };
	struct gs_sched_monitor_opts opts = {
		.filter = GS_MONITOR_CGROUP, .cpu_node = cpu_node, .nr_cpus = 2,
	};
	char mount[4096], dir[4200], procs[4300], message[256], reason[4300];
	const char *what = "a thread moved into the watched cgroup counts from then";
	unsigned long long kernel_ns = 0, slices;
	struct gs_sched_monitor *monitor = NULL;
	struct gs_task_stats first, later;
	unsigned int nr_first = 0, nr_later = 0;
	pid_t child;
	FILE *file;
	int err, tries;

	if (!cgroup2_mount(mount)) {
		tap_skip("no cgroup v2 mount in /proc/self/mounts", what);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/gs-test-monitor-%d", mount, (int)getpid());
	if (mkdir(dir, 0755)) {
		snprintf(reason, sizeof(reason), "cannot make a cgroup %s: %s", dir, strerror(errno));
		tap_skip(reason, what);
		return;
	}
	opts.cgroup_path = dir;
	err = gs_sched_monitor_open(&opts, &monitor, message);
	if (err) {
		tap_skip("cannot load BPF here", what);
		rmdir(dir);
		return;
	}
	child = start_spinner(0, 0);
	for (tries = 0; child > 0 && tries < 300 && kernel_ns < 300000000; tries++) {
		sleep_ms(10);
		schedstat_of(child, &kernel_ns, &slices);
	}
	err = child > 0 ? gs_sched_monitor_reset(monitor) : -ECHILD;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	file = err ? NULL : fopen(procs, "we");
	if (!err && (!file || fprintf(file, "%d\n", (int)child) < 0 || fclose(file)))
		err = -EIO;
	if (!err)
		err = stats_of(monitor, child, &first, &nr_first);
	sleep_ms(200);
	if (!err)
		err = stats_of(monitor, child, &later, &nr_later);
	tap_ok(!err && nr_first == 1 && kernel_ns >= 300000000 &&
	       run_ns_of(&first) < kernel_ns / 2 && run_ns_of(&later) > 10000000,
	       "a child that ran %llu ms moved into the watched cgroup: %llu ms at once, %llu ms 200 ms later",
	       kernel_ns / 1000000, (unsigned long long)run_ns_of(&first) / 1000000,
	       (unsigned long long)run_ns_of(&later) / 1000000);
	if (child > 0)
		stop(child);
	gs_sched_monitor_close(monitor);
	rmdir(dir);
}

static void test_bad_options(void)
{
	struct gs_sched_monitor_opts opts = { .filter = GS_MONITOR_CGROUP, .cgroup_path = "/proc" };
	struct gs_sched_monitor *monitor;
	char message[256];

	tap_ok(gs_sched_monitor_open(&opts, &monitor, message) == -EINVAL && !monitor &&
	       strstr(message, "/proc"), "a cgroup filter on a non-cgroup directory: EINVAL (%s)",
	       message);
	opts.filter = GS_MONITOR_ALL;
	opts.nr_cpus = GS_MONITOR_MAX_CPUS + 1;
	tap_ok(gs_sched_monitor_open(&opts, &monitor, message) == -EINVAL,
	       "more CPUs than the map holds: EINVAL");
	gs_sched_monitor_close(NULL);
}

int main(void)
{
	tap_start();
	test_percentiles();
	test_bad_options();
	test_live();
	test_cgroup_newcomer();
	return tap_done();
}
