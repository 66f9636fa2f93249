// SPDX-License-Identifier: GPL-2.0
/*
 * icount_probe: the guest side of selftests/icount.  Makes the calls whose
 * guest instructions icount_plugin.c counts, each between the plugin's
 * begin marker and the end marker of its kind:
 *
 *   icount_probe pin ROUNDS
 *	kind 0 PIN of this thread (its first GPU, policy node; it is on
 *	       those CPUs already, so nothing moves), 1 UNPIN,
 *	2 sched_setaffinity() to the same CPUs, 3 sched_setaffinity() back,
 *	4 getppid(), 5 GPUSCHED_IOC_GET_INFO, ROUNDS of each; then,
 *	with PROCESS_THREADS - 1 more threads waiting, kind 6 PIN of the
 *	whole process and 7 its UNPIN, ROUNDS / 6 of each
 *   icount_probe pingpong ROUNDS KIND
 *	once FILE_GO exists: a round trip of one byte between two threads
 *	on CPU 0 through two pipes (two switches, two wakeups), as kind KIND
 *   icount_probe launch ROUNDS KIND PROGRAM [ARGS...]
 *	a launch of PROGRAM, from fork() to waitpid() of a child that
 *	execs it, as kind KIND (after LAUNCH_WARMUP uncounted); the plugin
 *	counts per vCPU, so the guest has only one CPU online for these
 *   icount_probe pages SHIM PROGRAM [ARGS...]
 *	counts nothing: runs the launcher PROGRAM with SHIM
 *	(icount_pages.so) preloaded, which stops it at its execvp(), and
 *	prints the pages it has mapped by then of its own file, of libc, of
 *	the loader and of other files, each as mapped of all in its
 *	mappings (medians of PAGES_ROUNDS launches): what the launch rows
 *	pay to map and unmap
 *
 * Prints "# ..." lines; exits 1 with a message naming what failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/gpusched.h>

#define ICOUNT_BEGIN	0x5a003000UL
#define ICOUNT_STRIDE	0x40UL
#define ICOUNT_KINDS	24
#define PROCESS_THREADS	16
#define FILE_GO		"/tmp/icount-go"
#define MASK_WORDS	16
#define LAUNCH_WARMUP	3
#define PAGES_ROUNDS	9

typedef void (*marker_fn)(void);

static marker_fn begin;
static marker_fn end_of[ICOUNT_KINDS];

static int fail(const char *what)
{
	fprintf(stderr, "icount_probe: %s: %s\n", what, strerror(errno));
	return 1;
}

/* The page of markers: every byte a `ret`, at the address the plugin watches. */
static int map_markers(void)
{
	unsigned char *page = mmap((void *)ICOUNT_BEGIN, 4096,
				   PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	unsigned int kind;

	if (page == MAP_FAILED)
		return fail("mmap of the marker page at 0x5a003000");
	memset(page, 0xc3, 4096);
	begin = (marker_fn)ICOUNT_BEGIN;
	for (kind = 0; kind < ICOUNT_KINDS; kind++)
		end_of[kind] = (marker_fn)(ICOUNT_BEGIN + ICOUNT_STRIDE * (kind + 1));
	return 0;
}

static void *wait_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int probe_pin(unsigned int rounds)
{
	struct gpusched_get_info info = { .size = sizeof(info) };
	uint64_t mask[MASK_WORDS] = { 0 };
	/*
	 * Thread id 0 names the caller, as pid 0 does for sched_setaffinity():
	 * neither looks a thread up by its id, so the two compare like for like.
	 */
	struct gpusched_pin pin = {
		.size = sizeof(pin),
		.target_type = GPUSCHED_TARGET_THREAD,
		.target_id = 0,
		.policy = GPUSCHED_POLICY_NODE,
		.nr_cpus = MASK_WORDS * 64,
		.cpus = (uintptr_t)mask,
	};
	struct gpusched_unpin unpin = {
		.size = sizeof(unpin),
		.target_type = GPUSCHED_TARGET_THREAD,
		.target_id = pin.target_id,
	};
	cpu_set_t all, node;
	unsigned int r, i;
	pthread_t thread;
	int fd;

	fd = open("/dev/gpusched", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("/dev/gpusched (is gpusched.ko loaded?)");
	if (sched_getaffinity(0, sizeof(all), &all))
		return fail("sched_getaffinity");
	/* One pin first, for the CPUs of GPU 0's node; the rest do not ask. */
	if (ioctl(fd, GPUSCHED_IOC_PIN, &pin))
		return fail("PIN (has gpuschedd fed the module a topology?)");
	if (ioctl(fd, GPUSCHED_IOC_UNPIN, &unpin))
		return fail("UNPIN");
	pin.cpus = 0;
	CPU_ZERO(&node);
	for (i = 0; i < MASK_WORDS * 64 && i < CPU_SETSIZE; i++)
		if (mask[i / 64] >> (i % 64) & 1)
			CPU_SET(i, &node);
	if (sched_setaffinity(0, sizeof(node), &node) || sched_setaffinity(0, sizeof(all), &all))
		return fail("sched_setaffinity");
	printf("# GPU 0's node has %d of the %d CPUs this thread may use\n",
	       CPU_COUNT(&node), CPU_COUNT(&all));
	for (r = 0; r < rounds; r++) {
		begin();
		ioctl(fd, GPUSCHED_IOC_PIN, &pin);
		end_of[0]();
		begin();
		ioctl(fd, GPUSCHED_IOC_UNPIN, &unpin);
		end_of[1]();
		begin();
		sched_setaffinity(0, sizeof(node), &node);
		end_of[2]();
		begin();
		sched_setaffinity(0, sizeof(all), &all);
		end_of[3]();
		begin();
		syscall(SYS_getppid);
		end_of[4]();
		begin();
		ioctl(fd, GPUSCHED_IOC_GET_INFO, &info);
		end_of[5]();
	}
	for (i = 1; i < PROCESS_THREADS; i++) {
		errno = pthread_create(&thread, NULL, wait_forever, NULL);
		if (errno)
			return fail("pthread_create");
	}
	pin.target_type = GPUSCHED_TARGET_PROCESS;
	pin.target_id = (__u32)getpid();
	unpin.target_type = GPUSCHED_TARGET_PROCESS;
	unpin.target_id = pin.target_id;
	for (r = 0; r < rounds / 6; r++) {
		begin();
		ioctl(fd, GPUSCHED_IOC_PIN, &pin);
		end_of[6]();
		begin();
		ioctl(fd, GPUSCHED_IOC_UNPIN, &unpin);
		end_of[7]();
	}
	if (pin.nr_threads != PROCESS_THREADS) {
		errno = ESRCH;
		return fail("the process pin did not take every thread");
	}
	printf("# %u rounds, then %u of a process of %u threads\n", rounds, rounds / 6,
	       pin.nr_threads);
	return 0;
}

struct pipes {
	int to_peer[2];
	int to_main[2];
};

static void *echo(void *arg)
{
	struct pipes *p = arg;
	char byte;

	while (read(p->to_peer[0], &byte, 1) == 1 && byte)
		if (write(p->to_main[1], &byte, 1) != 1)
			break;
	return NULL;
}

static int probe_pingpong(unsigned int rounds, unsigned int kind)
{
	struct pipes p;
	char byte = 1;
	pthread_t peer;
	cpu_set_t one;
	unsigned int r;

	if (kind >= ICOUNT_KINDS) {
		fprintf(stderr, "icount_probe: kind %u: at most %d\n", kind, ICOUNT_KINDS - 1);
		return 1;
	}
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	/* The peer inherits CPU 0: a round trip is two switches on one CPU. */
	if (sched_setaffinity(0, sizeof(one), &one))
		return fail("sched_setaffinity to CPU 0");
	if (pipe(p.to_peer) || pipe(p.to_main))
		return fail("pipe");
	errno = pthread_create(&peer, NULL, echo, &p);
	if (errno)
		return fail("pthread_create");
	while (access(FILE_GO, F_OK))
		usleep(100000);
	for (r = 0; r < rounds + 200; r++) {
		/* The first 200 warm up, uncounted. */
		if (r >= 200)
			begin();
		if (write(p.to_peer[1], &byte, 1) != 1 || read(p.to_main[0], &byte, 1) != 1)
			return fail("the ping-pong pipes");
		if (r >= 200)
			end_of[kind]();
	}
	byte = 0;
	if (write(p.to_peer[1], &byte, 1) != 1)
		return fail("stopping the peer");
	pthread_join(peer, NULL);
	printf("# %u round trips as kind %u\n", rounds, kind);
	return 0;
}

/* One launch of @argv: fork, exec in the child, wait; 0 when it exited 0. */
static int launch_once(char **argv)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "icount_probe: %s: exit status %d (127: it could not be run)\n",
			argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return 1;
	}
	return 0;
}

static int probe_launch(unsigned int rounds, unsigned int kind, char **argv)
{
	unsigned int r;

	if (kind >= ICOUNT_KINDS) {
		fprintf(stderr, "icount_probe: kind %u: at most %d\n", kind, ICOUNT_KINDS - 1);
		return 1;
	}
	for (r = 0; r < LAUNCH_WARMUP; r++)
		if (launch_once(argv))
			return 1;
	for (r = 0; r < rounds; r++) {
		begin();
		if (launch_once(argv))
			return 1;
		end_of[kind]();
	}
	printf("# %u launches of %s as kind %u\n", rounds, argv[0], kind);
	return 0;
}

/* Pages of one file's mappings: mapped (present) and in all. */
struct pages_tally {
	unsigned long present;
	unsigned long total;
};

static int tally_mapping(int pagemap, unsigned long start, unsigned long end,
			 struct pages_tally *tally)
{
	unsigned long page;
	uint64_t entry;

	for (page = start / 4096; page < end / 4096; page++) {
		if (pread(pagemap, &entry, sizeof(entry), (off_t)(page * sizeof(entry))) !=
		    sizeof(entry))
			return fail("/proc/PID/pagemap");
		tally->present += entry >> 63;
		tally->total++;
	}
	return 0;
}

/* What a stopped launcher has mapped: its own file, libc, the loader, the rest. */
struct pages_report {
	struct pages_tally own, libc, loader, other;
};

static int read_pages(pid_t pid, const char *program, struct pages_report *report)
{
	char path[64], line[512], file[400];
	unsigned long start, end;
	struct pages_tally *tally;
	int pagemap, ret = 0;
	const char *name;
	FILE *maps;

	memset(report, 0, sizeof(*report));
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || pagemap < 0) {
		ret = fail("/proc/PID/maps or pagemap of the stopped launcher");
		if (maps)
			fclose(maps);
		if (pagemap >= 0)
			close(pagemap);
		return ret;
	}
	while (!ret && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %399s", &start, &end, file) != 3 ||
		    file[0] != '/' || strstr(file, "icount_pages"))
			continue;
		name = strrchr(file, '/') + 1;
		if (!strcmp(file, program))
			tally = &report->own;
		else if (!strncmp(name, "libc.so", 7))
			tally = &report->libc;
		else if (!strncmp(name, "ld-linux", 8))
			tally = &report->loader;
		else
			tally = &report->other;
		ret = tally_mapping(pagemap, start, end, tally);
	}
	fclose(maps);
	close(pagemap);
	return ret;
}

/*
 * One launch of @argv with @shim preloaded, stopped at its execvp() and
 * read; @argv[0] is an absolute path without symbolic links, as
 * /proc/PID/maps names the launcher's own file.
 */
static int pages_once(const char *shim, char **argv, struct pages_report *report)
{
	int status, ret;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		setenv("LD_PRELOAD", shim, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, WUNTRACED) != pid) {
		ret = fail("waitpid");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ret;
	}
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		fprintf(stderr, "icount_probe: %s %s before its execvp() (status %#x)\n",
			argv[0], WIFSTOPPED(status) ? "stopped otherwise" : "ended", status);
		if (WIFSTOPPED(status)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return 1;
	}
	ret = read_pages(pid, argv[0], report);
	kill(pid, SIGCONT);
	if (waitpid(pid, &status, 0) != pid)
		return fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "icount_probe: %s: exit status %#x after its execvp()\n",
			argv[0], status);
		return 1;
	}
	return ret;
}

static int compare_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

static unsigned long median_of(unsigned long *values, unsigned int n)
{
	qsort(values, n, sizeof(*values), compare_ulong);
	return values[n / 2];
}

/*
 * Medians over PAGES_ROUNDS launches: where a library lands is random, and
 * with it how the kernel's 64 KiB windows fall on the code it runs.
 */
static int probe_pages(const char *shim, char **argv)
{
	unsigned long own[PAGES_ROUNDS], libc[PAGES_ROUNDS], loader[PAGES_ROUNDS];
	unsigned long other[PAGES_ROUNDS], all[PAGES_ROUNDS];
	unsigned long median_all;
	struct pages_report report;
	unsigned int r;

	for (r = 0; r < PAGES_ROUNDS; r++) {
		if (pages_once(shim, argv, &report))
			return 1;
		own[r] = report.own.present;
		libc[r] = report.libc.present;
		loader[r] = report.loader.present;
		other[r] = report.other.present;
		all[r] = own[r] + libc[r] + loader[r] + other[r];
	}
	/* Sorted by it: the least and the most are at the ends. */
	median_all = median_of(all, PAGES_ROUNDS);
	printf("# pages at execvp() of %s, medians of %d: %lu of its own %lu, libc %lu of %lu, "
	       "loader %lu of %lu, other files %lu of %lu; in all %lu (%lu to %lu)\n",
	       argv[0], PAGES_ROUNDS, median_of(own, PAGES_ROUNDS), report.own.total,
	       median_of(libc, PAGES_ROUNDS), report.libc.total,
	       median_of(loader, PAGES_ROUNDS), report.loader.total,
	       median_of(other, PAGES_ROUNDS), report.other.total,
	       median_all, all[0], all[PAGES_ROUNDS - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int rounds;

	if (argc < 3 || (strcmp(argv[1], "pin") &&
			 (strcmp(argv[1], "pingpong") || argc < 4) &&
			 (strcmp(argv[1], "launch") || argc < 5) &&
			 (strcmp(argv[1], "pages") || argc < 4))) {
		fprintf(stderr, "usage: icount_probe pin ROUNDS | pingpong ROUNDS KIND |\n"
			"       launch ROUNDS KIND PROGRAM [ARGS...] |\n"
			"       pages SHIM PROGRAM [ARGS...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "pages"))
		return probe_pages(argv[2], argv + 3);
	rounds = (unsigned int)strtoul(argv[2], NULL, 10);
	if (map_markers())
		return 1;
	if (!strcmp(argv[1], "pin"))
		return probe_pin(rounds);
	if (!strcmp(argv[1], "launch"))
		return probe_launch(rounds, (unsigned int)strtoul(argv[3], NULL, 10), argv + 4);
	return probe_pingpong(rounds, (unsigned int)strtoul(argv[3], NULL, 10));
}
