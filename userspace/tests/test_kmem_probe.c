// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the slab counter `gpusched bench` and pin_scale_bench
 * measure the module's kernel memory with (userspace/lib/kmem_probe.h),
 * on this host's own /proc/slabinfo and /sys/kernel/slab: the probe opens
 * one shrink file per cache and none per alias, counts again and again
 * through the slabinfo it keeps open, sees memory the kernel allocates,
 * gives every descriptor back, and fails whole when it runs out of them.
 * Needs root (slabinfo is root's only); skips, saying why, without it.
 * Prints TAP through tap.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kmem_probe.h"
#include "tap.h"

/* Threads started to make the kernel allocate, and what each costs it at least. */
#define SLEEPERS		200u
#define SLEEPER_SLAB_BYTES	4096

/* Descriptors this process has open. */
static unsigned int open_fds(void)
{
	unsigned int n = 0;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");

	while (dir && (d = readdir(dir)))
		n += d->d_name[0] != '.';
	if (dir)
		closedir(dir);
	return n - 1;	/* the directory's own */
}

/* Caches of /sys/kernel/slab with a shrink file, alias links left out; and the links. */
static unsigned int count_caches(unsigned int *links)
{
	unsigned int n = 0;
	struct dirent *d;
	char path[320];
	DIR *dir = opendir("/sys/kernel/slab");

	*links = 0;
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (d->d_type == DT_LNK) {
			(*links)++;
			continue;
		}
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		n += access(path, W_OK) == 0;
	}
	if (dir)
		closedir(dir);
	return n;
}

/* Sleeps until the write end of the pipe whose read end is @arg closes. */
static void *sleeper(void *arg)
{
	char c;

	while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* The slab bytes the kernel keeps for SLEEPERS more threads, counted through @p; -1 on error. */
static long long threads_cost(const struct gs_slab_probe *p)
{
	pthread_t threads[SLEEPERS];
	long long before, after;
	unsigned int i, started;
	int wake[2];

	if (pipe(wake))
		return -1;
	before = gs_slab_bytes(p);
	for (started = 0; started < SLEEPERS; started++)
		if (pthread_create(&threads[started], NULL, sleeper, &wake[0]))
			break;
	after = gs_slab_bytes(p);
	close(wake[1]);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	close(wake[0]);
	if (started < SLEEPERS || before < 0 || after < 0)
		return -1;
	return after - before;
}

int main(void)
{
	unsigned int caches, links, fds_before;
	struct gs_slab_probe probe = { 0 };
	long long first, second, cost, try;
	struct rlimit limit, low;
	const char *why = NULL;
	unsigned int i;
	int ret, err;

	tap_start();
	if (geteuid() != 0)
		why = "not root: /proc/slabinfo is root's only";
	else if (gs_slab_bytes(NULL) < 0)
		why = "/proc/slabinfo cannot be read";
	else if (!count_caches(&links))
		why = "no cache in /sys/kernel/slab to shrink (not SLUB, or no SLUB sysfs)";
	if (why) {
		tap_skip(why, "the slab probe");
		return tap_done();
	}
	caches = count_caches(&links);
	fds_before = open_fds();

	ret = gs_slab_probe_open(&probe);
	tap_ok(ret == 0, "the probe opens on this host");
	if (!tap_ok(probe.nr == caches, "one shrink file per cache, none per alias link (%u caches)",
		    caches))
		tap_diag("opened %u; /sys/kernel/slab has %u caches and %u links", probe.nr,
			 caches, links);

	first = gs_slab_bytes(&probe);
	second = gs_slab_bytes(&probe);
	if (!tap_ok(first > 0 && second > first / 2 && second < first * 2,
		    "a second count through the open slabinfo reads it whole again"))
		tap_diag("first %lld bytes, second %lld", first, second);

	/* The whole machine's slab is counted: the best of three tries. */
	for (i = 0, cost = -1; i < 3 && cost < (long long)SLEEPERS * SLEEPER_SLAB_BYTES; i++) {
		try = threads_cost(&probe);
		cost = try > cost ? try : cost;
	}
	if (!tap_ok(cost >= (long long)SLEEPERS * SLEEPER_SLAB_BYTES,
		    "%u more threads read as at least %d slab bytes each", SLEEPERS,
		    SLEEPER_SLAB_BYTES))
		tap_diag("counted at most %lld bytes for %u threads in %u tries", cost, SLEEPERS,
			 i);

	tap_ok(gs_slab_return(&probe, gs_slab_bytes(&probe), 1 << 30, 1000),
	       "the bytes are back at once when the level is above them");
	tap_ok(!gs_slab_return(&probe, 0, 0, 200),
	       "and not back after the timeout when the level is below them");

	gs_slab_probe_close(&probe);
	tap_ok(probe.nr == 0 && !probe.fds && !probe.info, "closing empties the probe");
	if (!tap_ok(open_fds() == fds_before, "and gives back every descriptor it opened"))
		tap_diag("%u descriptors open before the probe, %u after", fds_before, open_fds());

	/* Room for slabinfo and a few shrink files, not for all of them. */
	getrlimit(RLIMIT_NOFILE, &limit);
	low = limit;
	low.rlim_cur = fds_before + 4;
	if (caches < 8 || setrlimit(RLIMIT_NOFILE, &low)) {
		tap_skip(caches < 8 ? "too few caches" : strerror(errno),
			 "out of descriptors, the probe fails whole");
		tap_skip("see above", "and leaves none open");
		return tap_done();
	}
	ret = gs_slab_probe_open(&probe);
	err = errno;
	setrlimit(RLIMIT_NOFILE, &limit);
	if (!tap_ok(ret == -1 && err == EMFILE, "out of descriptors, the probe fails whole (EMFILE)"))
		tap_diag("returned %d, errno %s, %u shrink files open", ret, strerror(err), probe.nr);
	if (!tap_ok(open_fds() == fds_before && probe.nr == 0 && !probe.info,
		    "and leaves none open"))
		tap_diag("%u descriptors open before, %u after", fds_before, open_fds());
	gs_slab_probe_close(&probe);
	return tap_done();
}
