// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched bench: what the module costs besides the time of a call.  The
 * kernel memory a pin keeps, per pinned thread and per worker, from the
 * slab bytes in use before and after pinning the threads of a holder
 * process; and, with --hotplug-cpu, how long a CPU going offline or online
 * takes to reach the module as a new topology through gpuschedd.  Both
 * land in the micro-benchmark rows (group "memory" and "hotplug").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "libgpusched.h"

/* Threads of the holder, rounds of each measurement, and its stack per thread. */
#define MEMORY_THREADS		1000u
#define MEMORY_ROUNDS		5u
#define MEMORY_STACK		(64u * 1024)
/*
 * Offline-online cycles, how long one may take to reach the module, and
 * the quiet before each change: gpuschedd looks at once only at the first
 * event after a quiet spell, and at a burst 250 ms after its last event.
 */
#define HOTPLUG_ROUNDS		3u
#define HOTPLUG_TIMEOUT_S	10.0
#define HOTPLUG_QUIET_MS	1000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * SLUB counts the free objects of the slabs a CPU keeps for itself as in
 * use: after rounds of pins and unpins those hold most of the freed
 * records, and new ones land there unseen (1000 thread records read as
 * 102 bytes each, not 128).  Shrinking a cache hands them back first.
 */
static void slab_shrink_all(void)
{
	struct dirent *entry;
	char path[320];
	DIR *dir;
	int fd;

	dir = opendir("/sys/kernel/slab");
	while (dir && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", entry->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) != 1) {
			/* Nothing to do: the count is then only coarser. */
		}
		close(fd);
	}
	if (dir)
		closedir(dir);
}

/*
 * Bytes of slab objects in use over every cache of /proc/slabinfo (active
 * objects times object size), or -1 when it cannot be read (it is root's
 * only); after shrinking every cache when @exact.  Finer than meminfo's
 * Slab, which counts whole pages.
 */
static long long slab_bytes(bool exact)
{
	unsigned long active, total, size;
	long long bytes = 0;
	char line[512];
	FILE *f;

	if (exact)
		slab_shrink_all();
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %lu %lu %lu", &active, &total, &size) == 3)
			bytes += (long long)active * size;
	fclose(f);
	return bytes;
}

/*
 * Waits, at most 2 s, until the slab bytes in use stop falling: the module
 * frees thread records after an RCU grace period, and frees of a previous
 * round landing inside the next would make it look smaller.
 */
static void slab_settle(void)
{
	long long last = slab_bytes(false), now;
	unsigned int i;

	for (i = 0; i < 40; i++) {
		sleep_ms(50);
		now = slab_bytes(false);
		if (now > last - 4096)
			break;
		last = now;
	}
}

static void *hold(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* A child of @nr threads that only sleep; its pid, or -1. */
static pid_t holder_start(unsigned int nr)
{
	pthread_attr_t attr;
	pthread_t thread;
	int ready[2];
	unsigned int i;
	char c = 0;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, MEMORY_STACK);
		for (i = 1; i < nr; i++)
			if (pthread_create(&thread, &attr, hold, NULL))
				_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		hold(NULL);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	return pid;
}

static void holder_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The thread ids of @pid into @tids (room for @max); how many, or -1. */
static int thread_ids(pid_t pid, pid_t *tids, unsigned int max)
{
	struct dirent *entry;
	char path[64];
	unsigned int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((entry = readdir(dir)) && n < max)
		if (cli_is_pid(entry->d_name))
			tids[n++] = atoi(entry->d_name);
	closedir(dir);
	return n;
}

/*
 * One round: the slab bytes the module keeps per thread for a pin of the
 * whole holder (*@per_thread), and per thread for a pin of each of its
 * threads alone, each its own worker (*@per_worker_pin).  Every pin is
 * undone before it returns.  Returns 0 or a negative errno.
 */
static int memory_round(struct bench *b, pid_t holder, const pid_t *tids, unsigned int nr,
			double *per_thread, double *per_worker_pin)
{
	struct gpusched_pin pin = {
		.target_type = GPUSCHED_TARGET_PROCESS,
		.target_id = holder,
		.gpu = b->gpu_list[0],
		.policy = GPUSCHED_POLICY_NODE,
	};
	struct gpusched_unpin unpin = {
		.target_type = GPUSCHED_TARGET_PROCESS,
		.target_id = holder,
	};
	long long before, after;
	unsigned int i, pinned = 0;
	int err;

	before = slab_bytes(true);
	err = gpusched_pin_task(b->gs, &pin, NULL, 0);
	after = slab_bytes(true);
	if (err)
		return err;
	if (pin.nr_threads != nr)
		err = -ESRCH;
	gpusched_unpin_task(b->gs, &unpin);
	if (err)
		return err;
	*per_thread = (double)(after - before) / nr;
	slab_settle();

	before = slab_bytes(true);
	for (i = 0; i < nr && !err; i++) {
		pin.target_type = GPUSCHED_TARGET_THREAD;
		pin.target_id = tids[i];
		err = gpusched_pin_task(b->gs, &pin, NULL, 0);
		pinned += !err;
	}
	after = slab_bytes(true);
	unpin.target_type = GPUSCHED_TARGET_PROCESS;
	gpusched_unpin_task(b->gs, &unpin);
	if (err)
		return err;
	*per_worker_pin = (double)(after - before) / nr;
	slab_settle();
	return 0;
}

/*
 * Kernel memory per pinned thread and per worker.  A worker's figure is
 * what a one-thread pin keeps less what a thread of a larger pin keeps.
 */
void bench_micro_memory(struct bench *b)
{
	const char *thread_name = "kernel memory per pinned thread (slab bytes)";
	const char *worker_name = "kernel memory per worker (slab bytes)";
	double per_thread[MEMORY_ROUNDS], per_worker[MEMORY_ROUNDS], one_thread_pin = 0;
	char thread_condition[96], worker_condition[96];
	pid_t *tids = NULL, holder = -1;
	unsigned int round = 0;
	const char *why = NULL;
	int err = 0, nr;

	snprintf(thread_condition, sizeof(thread_condition),
		 "one process of %u threads, pinned whole (policy node)", MEMORY_THREADS);
	snprintf(worker_condition, sizeof(worker_condition),
		 "each of its %u threads pinned alone, less a thread's share", MEMORY_THREADS);
	if (!b->gs || !b->gpus_from_module)
		why = "the module is not loaded";
	else if (slab_bytes(false) < 0)
		why = "/proc/slabinfo is unreadable (root only)";
	if (why)
		goto out;
	tids = calloc(MEMORY_THREADS, sizeof(*tids));
	holder = tids ? holder_start(MEMORY_THREADS) : -1;
	nr = holder > 0 ? thread_ids(holder, tids, MEMORY_THREADS) : -1;
	if (nr != (int)MEMORY_THREADS) {
		why = "cannot start a process of that many threads";
		goto out;
	}
	slab_settle();
	for (round = 0; round < MEMORY_ROUNDS && !err; round++) {
		err = memory_round(b, holder, tids, MEMORY_THREADS, &per_thread[round],
				   &one_thread_pin);
		per_worker[round] = one_thread_pin - per_thread[round];
	}
	if (err)
		why = strerror(-err);
out:
	if (holder > 0)
		holder_stop(holder);
	free(tids);
	if (why) {
		bench_micro_add(b, "memory", thread_name, thread_condition, NULL, 0,
				"not measured: %s", why);
		bench_micro_unit(b, "bytes");
		bench_micro_add(b, "memory", worker_name, worker_condition, NULL, 0,
				"not measured: %s", why);
	} else {
		bench_micro_add(b, "memory", thread_name, thread_condition, per_thread, round,
				"goal: at most 256 bytes");
		bench_micro_unit(b, "bytes");
		bench_micro_add(b, "memory", worker_name, worker_condition, per_worker, round,
				NULL);
	}
	bench_micro_unit(b, "bytes");
}

/* Writes @online to CPU @cpu's online file; 0 or a negative errno. */
static int set_online(int cpu, int online)
{
	char path[96];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, online ? "1" : "0", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

/* The module's topology generation, or 0 when it cannot be read. */
static uint64_t generation(struct bench *b)
{
	struct gpusched_get_info info = { 0 };

	return gpusched_get_info(b->gs, &info) ? 0 : info.generation;
}

/*
 * ns from the write to CPU @cpu's online file to the module holding a
 * topology of a newer generation (gpuschedd fed it), in *@ns, after a
 * second without a change.
 */
static int time_hotplug(struct bench *b, int cpu, int online, double *ns)
{
	uint64_t before;
	double t0, end;
	int err;

	sleep_ms(HOTPLUG_QUIET_MS);
	before = generation(b);
	t0 = now_ns();
	end = t0 + HOTPLUG_TIMEOUT_S * 1e9;
	err = set_online(cpu, online);
	if (err)
		return err;
	while (generation(b) <= before) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(500);
	}
	*ns = now_ns() - t0;
	return 0;
}

/*
 * With --hotplug-cpu C: C goes offline and online again HOTPLUG_ROUNDS
 * times, each timed to the module's next topology.  The CPU is left
 * online whatever happens.
 */
void bench_micro_hotplug(struct bench *b)
{
	const char *offline_name = "CPU offline to the module's new topology";
	const char *online_name = "CPU online to the module's new topology";
	double offline[HOTPLUG_ROUNDS], online[HOTPLUG_ROUNDS];
	char condition[96], why[160] = "";
	unsigned int n = 0;
	int err = 0;

	snprintf(condition, sizeof(condition), "CPU %d, through gpuschedd", b->hotplug_cpu);
	if (b->hotplug_cpu < 0)
		snprintf(why, sizeof(why), "needs --hotplug-cpu CPU (takes that CPU offline)");
	else if (!b->gs || !b->gpus_from_module)
		snprintf(why, sizeof(why), "the module is not loaded");
	else if (!b->daemon_pid)
		snprintf(why, sizeof(why), "no gpuschedd runs to feed the module");
	else if (!generation(b))
		snprintf(why, sizeof(why), "the module's topology generation is unreadable");
	for (n = 0; !why[0] && n < HOTPLUG_ROUNDS; n++) {
		err = time_hotplug(b, b->hotplug_cpu, 0, &offline[n]);
		if (!err)
			err = time_hotplug(b, b->hotplug_cpu, 1, &online[n]);
		if (err) {
			snprintf(why, sizeof(why), "CPU %d: %s", b->hotplug_cpu,
				 err == -ETIMEDOUT ? "the module's topology did not change within 10 s" :
				 strerror(-err));
			set_online(b->hotplug_cpu, 1);
		}
	}
	if (why[0]) {
		bench_micro_add(b, "hotplug", offline_name, condition, NULL, 0,
				"not measured: %s", why);
		bench_micro_add(b, "hotplug", online_name, condition, NULL, 0,
				"not measured: %s", why);
		return;
	}
	bench_micro_add(b, "hotplug", offline_name, condition, offline, n,
			"from the write to its online file, after 1 s without hotplug (goal: under 100 ms)");
	bench_micro_add(b, "hotplug", online_name, condition, online, n,
			"from the write to its online file, after 1 s without hotplug (goal: under 100 ms)");
}
