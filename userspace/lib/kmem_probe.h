/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `gpusched bench` and the selftests share to measure the module's
 * kernel memory: a holder process of many sleeping threads, its thread
 * ids, and the slab bytes in use.  Header-only, for the static selftests
 * too, which do not link the library.  Needs _GNU_SOURCE.
 */
#ifndef GPUSCHED_KMEM_PROBE_H
#define GPUSCHED_KMEM_PROBE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Stack of each holder thread: they only sleep. */
#define GS_HOLDER_STACK (64 * 1024)

static inline void *gs_holder_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * Starts a process of @nr_threads threads in all, every one of them
 * started, that only sleep until it is killed; its pid or -1.  It dies
 * with its parent.
 */
static inline pid_t gs_holder_start(unsigned int nr_threads)
{
	pthread_attr_t attr;
	pthread_t thread;
	unsigned int i;
	int ready[2];
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
		pthread_attr_setstacksize(&attr, GS_HOLDER_STACK);
		for (i = 1; i < nr_threads; i++)
			if (pthread_create(&thread, &attr, gs_holder_thread, NULL))
				_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		gs_holder_thread(NULL);
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

static inline void gs_holder_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The thread ids of process @pid, the main thread first; how many, or -1. */
static inline int gs_thread_ids(pid_t pid, pid_t *tids, unsigned int max)
{
	struct dirent *d;
	unsigned int n = 0;
	char path[64];
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir || !max) {
		if (dir)
			closedir(dir);
		return dir ? 0 : -1;
	}
	tids[n++] = pid;
	while ((d = readdir(dir)) && n < max) {
		pid_t tid = atoi(d->d_name);

		if (tid > 0 && tid != pid)
			tids[n++] = tid;
	}
	closedir(dir);
	return n;
}

/*
 * SLUB counts the free objects of the slabs a CPU keeps for itself as in
 * use: after rounds of pins and unpins those hold most of the freed
 * records, and new ones land there unseen (1000 thread records of 128
 * bytes read as 102 bytes each in a 6.12 guest).  Shrinking every cache
 * (/sys/kernel/slab/NAME/shrink) hands them back first.  The shrink files
 * and /proc/slabinfo stay open from one count to the next: each open of a
 * sysfs file allocates a record that its close frees with kfree_rcu(),
 * seconds later on some kernels, and a few hundred of those landing
 * inside the next measurement would read as tens of bytes per thread
 * (and before 6.7 every close frees its struct file after a grace
 * period).  Open it around the counts only: a child forked meanwhile
 * copies every descriptor.
 */
struct gs_slab_probe {
	FILE *info;
	int *fds;
	unsigned int nr;
};

static inline void gs_slab_probe_close(struct gs_slab_probe *p)
{
	while (p->nr)
		close(p->fds[--p->nr]);
	free(p->fds);
	p->fds = NULL;
	if (p->info)
		fclose(p->info);
	p->info = NULL;
}

/*
 * Opens /proc/slabinfo and the shrink file of every cache (not the alias
 * links to them).  0, or -1 with errno set when slabinfo cannot be read,
 * /sys/kernel/slab exists but cannot be listed, or it ran out of memory
 * or descriptors, and then holds nothing: closing it does nothing.
 * Without /sys/kernel/slab (no SLUB sysfs) it opens no shrink file: nr is
 * 0, and counts are coarser.
 */
static inline int gs_slab_probe_open(struct gs_slab_probe *p)
{
	unsigned int room = 0;
	struct dirent *d;
	char path[320];
	int fd, err, *grown;
	DIR *dir;

	p->fds = NULL;
	p->nr = 0;
	p->info = fopen("/proc/slabinfo", "re");
	if (!p->info)
		return -1;
	dir = opendir("/sys/kernel/slab");
	if (!dir && errno != ENOENT)
		goto fail;
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.' || d->d_type == DT_LNK)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
			goto fail;
		if (fd < 0)
			continue;
		if (p->nr == room) {
			room = room ? 2 * room : 256;
			grown = realloc(p->fds, room * sizeof(*p->fds));
			if (!grown) {
				close(fd);
				goto fail;
			}
			p->fds = grown;
		}
		p->fds[p->nr++] = fd;
	}
	if (dir)
		closedir(dir);
	return 0;
fail:
	err = errno;
	if (dir)
		closedir(dir);
	gs_slab_probe_close(p);
	errno = err;
	return -1;
}

/*
 * Bytes of slab objects in use over every cache of /proc/slabinfo (active
 * objects times object size), after shrinking every cache of @p, through
 * its open slabinfo, when @p is not NULL; -1 when it cannot be read (it
 * is root's only).  Finer than meminfo's Slab, which counts whole pages.
 */
static inline long long gs_slab_bytes(const struct gs_slab_probe *p)
{
	unsigned long active, total, size;
	long long bytes = 0;
	char line[512];
	unsigned int i;
	FILE *f;

	/* A cache that cannot be shrunk only makes the count coarser. */
	for (i = 0; p && i < p->nr; i++)
		(void)!pwrite(p->fds[i], "1", 1, 0);
	if (p) {
		f = p->info;
		if (fseek(f, 0, SEEK_SET))
			return -1;
		clearerr(f);
	} else {
		f = fopen("/proc/slabinfo", "re");
		if (!f)
			return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %lu %lu %lu", &active, &total, &size) == 3)
			bytes += (long long)active * size;
	if (ferror(f))
		bytes = -1;
	if (!p)
		fclose(f);
	return bytes;
}

/*
 * Waits, 40 counts 50 ms apart at most, until the slab bytes in use,
 * counted through @p, stop falling: the module frees thread records, and
 * the kernel tasks, after an RCU grace period, and frees of what came
 * before landing inside a measurement would make it look smaller.
 */
static inline void gs_slab_settle(const struct gs_slab_probe *p)
{
	const struct timespec step = { 0, 50 * 1000 * 1000 };
	long long last = gs_slab_bytes(p), now;
	unsigned int i;

	for (i = 0; i < 40; i++) {
		nanosleep(&step, NULL);
		now = gs_slab_bytes(p);
		if (now > last - 4096)
			break;
		last = now;
	}
}

/*
 * Waits, at most @timeout_ms, until the slab bytes in use, counted through
 * @p, are back within @slack of @level: what a measurement has freed is
 * all returned.  The module frees thread records with kfree_rcu(), which
 * may hold a batch for seconds before it even waits for a grace period.
 * True when they are back; false after the timeout, or when the count
 * cannot be read.
 */
static inline bool gs_slab_return(const struct gs_slab_probe *p, long long level,
				  long long slack, unsigned int timeout_ms)
{
	const struct timespec step = { 0, 100 * 1000 * 1000 };
	unsigned int waited;
	long long now;

	for (waited = 0; (now = gs_slab_bytes(p)) > level + slack; waited += 100) {
		if (waited >= timeout_ms)
			return false;
		nanosleep(&step, NULL);
	}
	return now >= 0;
}

#endif /* GPUSCHED_KMEM_PROBE_H */
