// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched bench: what the module costs besides the time of a call.  The
 * kernel memory a pin keeps, per pinned thread and per worker, from the
 * slab bytes in use before and after pinning the threads of holder
 * processes; and, with --hotplug-cpu, how long a CPU going offline or online
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
#include "kmem_probe.h"
#include "libgpusched.h"

/*
 * Threads of each holder, and rounds of each measurement, a holder each:
 * 1000 threads in all, under the 1,200 or so tasks systemd allows a
 * service in a 1 GiB machine.  And how long the first pins' records may
 * take to be freed.
 */
#define MEMORY_THREADS		200u
#define MEMORY_ROUNDS		5u
#define MEMORY_RETURN_S		10u
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
 * Pins each of the @nr threads @tids alone, each its own worker; 0 or a
 * negative errno.
 */
static int pin_each_thread(struct bench *b, const pid_t *tids, unsigned int nr)
{
	struct gpusched_pin pin = {
		.target_type = GPUSCHED_TARGET_THREAD,
		.gpu = b->gpu_list[0],
		.policy = GPUSCHED_POLICY_NODE,
	};
	unsigned int i;
	int err = 0;

	for (i = 0; i < nr && !err; i++) {
		pin.target_id = tids[i];
		err = gpusched_pin_task(b->gs, &pin, NULL, 0);
	}
	return err;
}

/* Undoes every pin of the @nr holders' threads. */
static void unpin_holders(struct bench *b, const pid_t *holders, unsigned int nr)
{
	struct gpusched_unpin unpin = { .target_type = GPUSCHED_TARGET_PROCESS };
	unsigned int i;

	for (i = 0; i < nr; i++) {
		unpin.target_id = holders[i];
		gpusched_unpin_task(b->gs, &unpin);
	}
}

/* The slab bytes in use, through @probe; an error once in *@err. */
static long long slab_count(const struct gs_slab_probe *probe, int *err)
{
	long long bytes = gs_slab_bytes(probe);

	if (bytes < 0 && !*err)
		*err = errno ? -errno : -EIO;
	return bytes;
}

/* The median of @n values, @values left as they are. */
static double median_of(const double *values, unsigned int n)
{
	double sorted[MEMORY_ROUNDS], median, p10, p90;

	memcpy(sorted, values, n * sizeof(*values));
	bench_percentiles(sorted, n, &median, &p10, &p90);
	return median;
}

/*
 * The slab bytes the module keeps per thread, in @per_thread, for a pin of
 * each holder whole; and in @per_worker what pinning each of a holder's
 * threads alone, each its own worker, adds to the median of those.  One
 * holder a round, and no pin undone until every round of a kind is
 * measured: UNPIN frees thread records with kfree_rcu(), which may hold a
 * batch for seconds (a preemptible kernel takes the batch while UNPIN
 * still queues, and the rest waits for the next), and frees landing inside
 * a later round would make it read low, below zero on 6.12-rt.  Between
 * the kinds, waits for the records to come back, all but an eighth of the
 * bytes (other slab users drift by a few KiB meanwhile), and says in
 * *@returned whether they did.  Returns 0 or a negative errno.
 */
static int memory_rounds(struct bench *b, const struct gs_slab_probe *probe,
			 const pid_t *holders, pid_t *const *tids, double *per_thread,
			 double *per_worker, bool *returned)
{
	struct gpusched_pin pin = {
		.target_type = GPUSCHED_TARGET_PROCESS,
		.gpu = b->gpu_list[0],
		.policy = GPUSCHED_POLICY_NODE,
	};
	long long base, before, after = 0;
	double thread_share;
	unsigned int r;
	int err = 0;

	gs_slab_settle(probe);
	base = slab_count(probe, &err);
	for (r = 0; r < MEMORY_ROUNDS && !err; r++) {
		pin.target_id = holders[r];
		before = slab_count(probe, &err);
		if (!err)
			err = gpusched_pin_task(b->gs, &pin, NULL, 0);
		after = slab_count(probe, &err);
		if (!err && pin.nr_threads != MEMORY_THREADS)
			err = -ESRCH;
		per_thread[r] = (double)(after - before) / MEMORY_THREADS;
	}
	unpin_holders(b, holders, MEMORY_ROUNDS);
	if (err)
		return err;
	*returned = gs_slab_return(probe, base, (after - base) / 8,
				   MEMORY_RETURN_S * 1000);

	thread_share = median_of(per_thread, MEMORY_ROUNDS);
	for (r = 0; r < MEMORY_ROUNDS && !err; r++) {
		before = slab_count(probe, &err);
		if (!err)
			err = pin_each_thread(b, tids[r], MEMORY_THREADS);
		after = slab_count(probe, &err);
		per_worker[r] = (double)(after - before) / MEMORY_THREADS - thread_share;
	}
	unpin_holders(b, holders, MEMORY_ROUNDS);
	return err;
}

/*
 * Kernel memory per pinned thread and per worker.  A worker's figure is
 * what a one-thread pin keeps less what a thread of a larger pin keeps.
 */
void bench_micro_memory(struct bench *b)
{
	const char *thread_name = "kernel memory per pinned thread (slab bytes)";
	const char *worker_name = "kernel memory per worker (slab bytes)";
	double per_thread[MEMORY_ROUNDS], per_worker[MEMORY_ROUNDS];
	char thread_condition[96], worker_condition[96], why_text[96], worker_text[96];
	pid_t holders[MEMORY_ROUNDS], *tids[MEMORY_ROUNDS] = { NULL };
	const char *why = NULL, *thread_note, *worker_note = "";
	struct gs_slab_probe probe = { 0 };
	unsigned int r, started = 0;
	bool returned = true;
	int err;

	snprintf(thread_condition, sizeof(thread_condition),
		 "a process of %u threads, pinned whole (policy node)", MEMORY_THREADS);
	snprintf(worker_condition, sizeof(worker_condition),
		 "each of its %u threads pinned alone, less a thread's share", MEMORY_THREADS);
	if (!b->gs || !b->gpus_from_module)
		why = "the module is not loaded";
	else if (gs_slab_bytes(NULL) < 0)
		why = "/proc/slabinfo is unreadable (root only)";
	for (r = 0; r < MEMORY_ROUNDS && !why; r++, started++) {
		tids[r] = calloc(MEMORY_THREADS, sizeof(*tids[r]));
		holders[r] = tids[r] ? gs_holder_start(MEMORY_THREADS) : -1;
		if (holders[r] < 0 ||
		    gs_thread_ids(holders[r], tids[r], MEMORY_THREADS) != (int)MEMORY_THREADS)
			why = "cannot start processes of that many threads";
	}
	/* After the holders: each fork would copy the probe's descriptors. */
	if (!why && gs_slab_probe_open(&probe)) {
		snprintf(why_text, sizeof(why_text),
			 "/proc/slabinfo and /sys/kernel/slab/*/shrink: %s", strerror(errno));
		why = why_text;
	}
	if (!why) {
		err = memory_rounds(b, &probe, holders, tids, per_thread, per_worker,
				    &returned);
		if (err)
			why = strerror(-err);
	}
	thread_note = probe.nr ? "goal: at most 256 bytes" :
		"goal: at most 256 bytes; may read low: no cache in /sys/kernel/slab to shrink";
	if (!returned) {
		snprintf(worker_text, sizeof(worker_text),
			 "may read low: the first pins' records were not all freed in %u s",
			 MEMORY_RETURN_S);
		worker_note = worker_text;
	}
	gs_slab_probe_close(&probe);
	for (r = 0; r < started; r++) {
		if (holders[r] > 0)
			gs_holder_stop(holders[r]);
		free(tids[r]);
	}
	bench_micro_add(b, "memory", thread_name, thread_condition, per_thread,
			why ? 0 : MEMORY_ROUNDS, why ? "not measured: %s" : "%s",
			why ? why : thread_note);
	bench_micro_unit(b, "bytes");
	bench_micro_add(b, "memory", worker_name, worker_condition, per_worker,
			why ? 0 : MEMORY_ROUNDS, why ? "not measured: %s" : "%s",
			why ? why : worker_note);
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
 * topology of a newer generation (gpuschedd fed it), in *@total, after a
 * second without a change; of which the write itself, the kernel taking
 * the CPU down or up (its uevent goes out before the write returns), in
 * *@write.
 */
static int time_hotplug(struct bench *b, int cpu, int online, double *total, double *write)
{
	uint64_t before;
	double t0, t1, end;
	int err;

	sleep_ms(HOTPLUG_QUIET_MS);
	before = generation(b);
	t0 = now_ns();
	end = t0 + HOTPLUG_TIMEOUT_S * 1e9;
	err = set_online(cpu, online);
	if (err)
		return err;
	t1 = now_ns();
	while (generation(b) <= before) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(500);
	}
	*total = now_ns() - t0;
	*write = t1 - t0;
	return 0;
}

/*
 * The three rows of one direction of hotplug from @n rounds: the whole,
 * the write, and what follows the write.  @why: why nothing was measured.
 */
static void hotplug_rows(struct bench *b, const char *direction, const char *condition,
			 double *total, double *write, unsigned int n, const char *why)
{
	static const char *const rows[3][2] = {
		{ " to the module's new topology",
		  "from the write to its online file, after 1 s without hotplug" },
		{ ": the write to its online file",
		  "the kernel's own work; its uevent goes out before the write returns" },
		{ ": the write's return to the module's new topology",
		  "gpuschedd's look and SET_TOPOLOGY (goal: under 100 ms from the uevent)" },
	};
	double after[HOTPLUG_ROUNDS], *samples[3] = { total, write, after };
	char name[96];
	unsigned int i;

	if (why[0])
		n = 0;
	/* Before the rows sort the samples in place. */
	for (i = 0; i < n; i++)
		after[i] = total[i] - write[i];
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "CPU %s%s", direction, rows[i][0]);
		if (why[0])
			bench_micro_add(b, "hotplug", name, condition, NULL, 0, "not measured: %s",
					why);
		else
			bench_micro_add(b, "hotplug", name, condition, samples[i], n, "%s",
					rows[i][1]);
	}
}

/*
 * With --hotplug-cpu C: C goes offline and online again HOTPLUG_ROUNDS
 * times, each timed to the module's next topology, as a whole and split
 * at the write's return.  The CPU is left online whatever happens.
 */
void bench_micro_hotplug(struct bench *b)
{
	double offline[HOTPLUG_ROUNDS], online[HOTPLUG_ROUNDS];
	double offline_write[HOTPLUG_ROUNDS], online_write[HOTPLUG_ROUNDS];
	char condition[96], why[160] = "";
	unsigned int n = 0;
	int err = 0;

	if (b->hotplug_cpu >= 0)
		snprintf(condition, sizeof(condition), "CPU %d, through gpuschedd", b->hotplug_cpu);
	else
		snprintf(condition, sizeof(condition), "through gpuschedd");
	if (b->hotplug_cpu < 0)
		snprintf(why, sizeof(why), "needs --hotplug-cpu CPU (takes that CPU offline)");
	else if (!b->gs || !b->gpus_from_module)
		snprintf(why, sizeof(why), "the module is not loaded");
	else if (!b->daemon_pid)
		snprintf(why, sizeof(why), "no gpuschedd runs to feed the module");
	else if (!generation(b))
		snprintf(why, sizeof(why), "the module's topology generation is unreadable");
	for (n = 0; !why[0] && n < HOTPLUG_ROUNDS; n++) {
		err = time_hotplug(b, b->hotplug_cpu, 0, &offline[n], &offline_write[n]);
		if (!err)
			err = time_hotplug(b, b->hotplug_cpu, 1, &online[n], &online_write[n]);
		if (err) {
			snprintf(why, sizeof(why), "CPU %d: %s", b->hotplug_cpu,
				 err == -ETIMEDOUT ?
				 "gpuschedd fed no new topology within 10 s (does it see uevents? its log says)" :
				 strerror(-err));
			set_online(b->hotplug_cpu, 1);
		}
	}
	hotplug_rows(b, "offline", condition, offline, offline_write, n, why);
	hotplug_rows(b, "online", condition, online, online_write, n, why);
}
