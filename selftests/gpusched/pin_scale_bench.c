// SPDX-License-Identifier: GPL-2.0
/*
 * What pinned threads cost the machine, as numbers: the latency of PIN,
 * UNPIN and QUERY of one thread, and the rates of fork+exit and
 * pthread_create+join in a process that is not pinned, while a holder
 * process has 0, 1, 1,000 and 10,000 threads pinned, and the latter in a
 * process that is pinned itself; the kernel memory
 * the module takes per pinned thread; and the cost of one pass of the
 * cpuset watch over all of them.  Nothing here is judged against a
 * time: each step is "ok" when it could be measured, and the figures go to
 * the log as "# bench ..." lines (medians over repeated calls, in
 * microseconds, or calls per second).  "0 pinned" is the module loaded
 * with nothing pinned: its tracepoint probes then return after one atomic
 * read, which is what the module costs an idle machine; the guest's /init
 * runs "pin_scale_bench --unloaded" before it loads the module, for the
 * same rates without it.
 *
 * Under KASAN and lockdep (the debug guest) the largest step is 1,000
 * threads: creating 10,000 there takes minutes.
 *
 * Output: TAP, through kselftest.h.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"

#include "kselftest.h"

#define REPEATS 51		/* latency samples per figure (odd: a true median) */
#define FORKS 200		/* fork+exit per rate */
#define THREADS 400		/* pthread_create+join per rate */

static const unsigned int steps[] = { 0, 1, 1000, 10000 };

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static double median_us(long long *ns, unsigned int n)
{
	qsort(ns, n, sizeof(*ns), compare_ll);
	return ns[n / 2] / 1000.0;
}

/* Lets the kernel run @n more threads than it has now; 0 or -1. */
static int allow_threads(unsigned int n)
{
	char text[32];
	long max;

	if (gs_read_intf(&max, "/proc/sys/kernel/threads-max"))
		return -1;
	if (max >= (long)n + 2000)
		return 0;
	snprintf(text, sizeof(text), "%u", n + 2000);
	return gs_write_text("/proc/sys/kernel/threads-max", text) ? -1 : 0;
}

static double fork_exit_rate(void)
{
	long long start = now_ns();
	unsigned int i;
	pid_t pid;

	for (i = 0; i < FORKS; i++) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (!pid)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	return FORKS / ((now_ns() - start) / 1e9);
}

static void *nothing(void *arg)
{
	return arg;
}

static double thread_rate(void)
{
	long long start = now_ns();
	pthread_t thread;
	unsigned int i;

	for (i = 0; i < THREADS; i++) {
		if (pthread_create(&thread, NULL, nothing, NULL))
			return -1;
		pthread_join(thread, NULL);
	}
	return THREADS / ((now_ns() - start) / 1e9);
}

/* Median latency of PIN, UNPIN and QUERY of the calling thread. */
/*
 * pthread_create+join in this process while it is pinned as a whole: each
 * new thread joins the pin and each exit is reaped, so this is what a
 * training program's thread churn costs with the pins that exist.
 */
static double pinned_thread_rate(int fd, const struct gs_machine *m)
{
	struct gpusched_pin pin = gs_pin_arg(m, GPUSCHED_TARGET_PROCESS, getpid(), 0,
					     GPUSCHED_POLICY_NODE, NULL);
	double rate;

	if (ioctl(fd, GPUSCHED_IOC_PIN, &pin))
		return -1;
	rate = thread_rate();
	if (gs_unpin(fd, GPUSCHED_TARGET_PROCESS, getpid(), NULL))
		return -1;
	return rate;
}

static int pin_latencies(int fd, const struct gs_machine *m, double out[3])
{
	long long pin[REPEATS], unpin[REPEATS], query[REPEATS], t;
	struct gpusched_query q;
	unsigned int i;

	for (i = 0; i < REPEATS; i++) {
		t = now_ns();
		if (gs_pin_thread(fd, m, 0, 0, GPUSCHED_POLICY_NODE, NULL))
			return -1;
		pin[i] = now_ns() - t;
		t = now_ns();
		if (gs_query(fd, m, 0, &q, NULL, NULL))
			return -1;
		query[i] = now_ns() - t;
		t = now_ns();
		if (gs_unpin(fd, GPUSCHED_TARGET_THREAD, 0, NULL))
			return -1;
		unpin[i] = now_ns() - t;
	}
	out[0] = median_us(pin, REPEATS);
	out[1] = median_us(unpin, REPEATS);
	out[2] = median_us(query, REPEATS);
	return 0;
}

/* System CPU time of the whole machine so far, in nanoseconds; -1 when unreadable. */
static long long system_cpu_ns(void)
{
	unsigned long long user, nice, sys;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *stat = fopen("/proc/stat", "re");
	int n;

	if (!stat)
		return -1;
	n = fscanf(stat, "cpu %llu %llu %llu", &user, &nice, &sys);
	fclose(stat);
	if (n != 3 || hz <= 0)
		return -1;
	return (long long)(sys * (1000000000ULL / hz));
}

/*
 * What one pass of the module's cpuset watch costs with the pins that
 * exist, from the machine's system CPU time: D more of it in a window of W
 * with a pass every I than without passes.  Passes then come every I + c
 * for a cost c = D / (W / (I + c)), so c = D * I / (W - D).  Clock-tick
 * resolution (10 ms in W): about 70 us per pass.  -1 when not measurable.
 */
#define WATCH_WINDOW_MS 3000
#define WATCH_EVERY_MS 20

static double watch_pass_us(void)
{
	char old[32], every[16];
	long long t0, t1, t2;
	double d, w = WATCH_WINDOW_MS * 1e6;

	snprintf(every, sizeof(every), "%d", WATCH_EVERY_MS);
	if (gs_read_text(GS_SYSFS "/watch_interval_ms", old, sizeof(old)) ||
	    gs_write_text(GS_SYSFS "/watch_interval_ms", "0"))
		return -1;
	/* Let what the steps before left behind (reaping, RCU) settle. */
	gs_sleep_ms(500);
	t0 = system_cpu_ns();
	gs_sleep_ms(WATCH_WINDOW_MS);
	t1 = system_cpu_ns();
	gs_write_text(GS_SYSFS "/watch_interval_ms", every);
	gs_sleep_ms(WATCH_WINDOW_MS);
	t2 = system_cpu_ns();
	gs_write_text(GS_SYSFS "/watch_interval_ms", old);
	if (t0 < 0 || t1 < 0 || t2 < 0)
		return -1;
	d = (double)((t2 - t1) - (t1 - t0));
	if (d >= w)
		return -1;
	return d * WATCH_EVERY_MS * 1e6 / (w - d) / 1000.0;
}

/*
 * --unloaded: the same fork+exit and pthread_create+join rates before the
 * module is loaded (the guest's /init runs this first), the baseline the
 * "pinned=0" figures compare with.
 */
static int bench_unloaded(void)
{
	double forks, threads;

	ksft_print_header();
	ksft_set_plan(1);
	if (!access(GS_DEV_PATH, F_OK))
		ksft_exit_fail_msg("%s exists: the module is loaded\n", GS_DEV_PATH);
	forks = fork_exit_rate();
	threads = thread_rate();
	if (forks < 0 || threads < 0)
		ksft_exit_fail_msg("a measurement failed: %s\n", strerror(errno));
	ksft_print_msg("bench module=unloaded fork_exit_per_s=%.0f thread_create_join_per_s=%.0f\n",
		       forks, threads);
	ksft_test_result_pass("rates without the module: measured\n");
	ksft_finished();
}

int main(int argc, char **argv)
{
	unsigned int max_threads = 10000, i, nr_steps = ARRAY_SIZE(steps);
	const char *why = "";
	struct gs_machine m;
	struct gs_topo full;
	double lat[3];
	struct gs_slab_probe probe;
	long long before = 0, after = 0;
	bool probed;
	long long t;
	pid_t holder;
	int fd, ret;

	if (argc > 1 && !strcmp(argv[1], "--unloaded"))
		return bench_unloaded();
	ksft_print_header();
	ksft_set_plan(nr_steps);
	fd = gs_open_device();
	if (fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", GS_DEV_PATH, strerror(errno));
	if (gs_discover(fd, &m, &why))
		ksft_exit_fail_msg("%s\n", why);
	if (!m.nr_gpus)
		ksft_exit_skip("no stand-in GPU (PCI class 0x0380) in this machine\n");
	gs_topo_full(&full, &m);
	if (gs_set_topology(fd, &full))
		ksft_exit_fail_msg("SET_TOPOLOGY: %s\n", strerror(errno));
	if (gs_path_exists("/sys/kernel/debug/kmemleak"))
		max_threads = 1000;

	for (i = 0; i < nr_steps; i++) {
		unsigned int n = steps[i];
		struct gpusched_pin pin;
		double forks, threads, pinned_threads;

		if (n > max_threads) {
			ksft_test_result_skip("%u pinned threads: this kernel (KASAN, lockdep) bench stops at %u\n",
					      n, max_threads);
			continue;
		}
		holder = 0;
		t = 0;
		if (n) {
			/* A 1 GiB guest's default threads-max is about 8,000. */
			holder = allow_threads(n) ? -1 : gs_holder_start(n);
			if (holder < 0) {
				ksft_test_result_fail("%u pinned threads: cannot start a holder of that many threads\n",
						      n);
				continue;
			}
			/* Only around the counts: the forks below would copy its descriptors. */
			probed = !gs_slab_probe_open(&probe);
			gs_slab_settle(probed ? &probe : NULL);
			before = probed ? gs_slab_bytes(&probe) : -1;
			pin = gs_pin_arg(&m, GPUSCHED_TARGET_PROCESS, holder, 0,
					 GPUSCHED_POLICY_NODE, NULL);
			t = now_ns();
			ret = ioctl(fd, GPUSCHED_IOC_PIN, &pin);
			t = now_ns() - t;
			if (ret || pin.nr_threads != n) {
				ksft_test_result_fail("%u pinned threads: PIN of the holder: %s, %u threads\n",
						      n, ret ? strerror(errno) : "ok", pin.nr_threads);
				gs_slab_probe_close(&probe);
				gs_holder_stop(holder);
				continue;
			}
			after = probed ? gs_slab_bytes(&probe) : -1;
			gs_slab_probe_close(&probe);
		}
		ret = pin_latencies(fd, &m, lat);
		forks = fork_exit_rate();
		threads = thread_rate();
		pinned_threads = pinned_thread_rate(fd, &m);
		if (ret || forks < 0 || threads < 0 || pinned_threads < 0) {
			ksft_test_result_fail("%u pinned threads: a measurement failed: %s\n", n,
					      strerror(errno));
		} else {
			ksft_print_msg("bench pinned=%u pin_us=%.1f unpin_us=%.1f query_us=%.1f fork_exit_per_s=%.0f thread_create_join_per_s=%.0f pinned_process_thread_create_join_per_s=%.0f\n",
				       n, lat[0], lat[1], lat[2], forks, threads, pinned_threads);
			if (n)
				ksft_print_msg("bench pinned=%u pin_of_the_holder_ms=%.1f slab_bytes_per_pinned_thread=%.0f watch_pass_us=%.0f\n",
					       n, t / 1e6,
					       before >= 0 && after >= 0 ?
					       (double)(after - before) / n : -1.0,
					       watch_pass_us());
			ksft_test_result_pass("%u pinned threads: measured\n", n);
		}
		if (holder)
			gs_holder_stop(holder);
	}
	close(fd);
	ksft_finished();
}
