// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched-standin-worker: a stand-in for one training worker, for the
 * demo and for measuring what placement does.  A real worker has a main
 * thread that feeds the GPU from host buffers, data-loader threads that
 * decode and copy batches, and a background thread or two (logging,
 * checkpoints).  This one has the same shape without a GPU: the main
 * thread and the loaders stream over buffers of their own (memory-bound,
 * like staging copies), the background thread wakes every few
 * milliseconds.  Every thread names itself so `ps -L` and
 * /proc/PID/task/TID/comm tell them apart.  It prints the number of
 * buffer passes it made and the rate of the streaming threads, so runs
 * under different placements compare.  With --hold, every thread stays
 * alive (idle) after the report until standard input reaches end of file:
 * `gpusched bench` reads each thread's scheduler counters then, complete
 * and with nothing running to disturb them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker_thread {
	pthread_t thread;
	char name[16];
	size_t buffer_bytes;
	bool background;
	unsigned long long passes;
};

static atomic_bool stop;
static struct timespec deadline;	/* tv_sec 0: run until killed */
/* Every thread waits at "finished" after its last pass, and at "release" before it exits. */
static pthread_barrier_t finished, release;

static bool past_deadline(void)
{
	struct timespec now;

	if (!deadline.tv_sec)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void stream(struct worker_thread *t)
{
	unsigned char *buffer;
	unsigned long long sum = 0;

	pthread_setname_np(pthread_self(), t->name);
	if (t->background) {
		while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
			struct timespec pause = { 0, 5 * 1000 * 1000 };

			nanosleep(&pause, NULL);
			t->passes++;
			if (past_deadline())
				atomic_store(&stop, true);
		}
		return;
	}
	/* First touch from this thread: the pages land where it runs. */
	buffer = malloc(t->buffer_bytes);
	if (!buffer) {
		fprintf(stderr, "gpusched-standin-worker: %s: out of memory for %zu bytes\n",
			t->name, t->buffer_bytes);
		atomic_store(&stop, true);
		return;
	}
	memset(buffer, 1, t->buffer_bytes);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		size_t i;

		for (i = 0; i < t->buffer_bytes; i += 64) {
			sum += buffer[i];
			buffer[i] = (unsigned char)sum;
		}
		t->passes++;
	}
	free(buffer);
	/* Keeps the stores above from being optimised away. */
	if (sum == 1)
		t->name[15] = '\0';
}

/* A thread other than main: streams, then waits until main has reported. */
static void *worker_thread_run(void *arg)
{
	stream(arg);
	pthread_barrier_wait(&finished);
	pthread_barrier_wait(&release);
	return NULL;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched-standin-worker [--loaders N] [--seconds S] [--buffer-mib M] [--hold]\n\n"
		"Runs a main thread and N data-loader threads streaming over M MiB buffers of\n"
		"their own, plus one background thread, for S seconds (0: until killed), then\n"
		"prints the buffer passes each made, their total and the streaming threads'\n"
		"rate as a line \"rate R passes/s over T s\".  --hold keeps every thread\n"
		"alive and idle after that until standard input reaches end of file.\n");
}

static int parse(const char *option, const char *arg, long max, long *value)
{
	char *end;

	errno = 0;
	*value = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *value < 0 || *value > max) {
		fprintf(stderr, "gpusched-standin-worker: %s %s: expected 0..%ld\n", option, arg, max);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "loaders", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 's' },
		{ "buffer-mib", required_argument, NULL, 'b' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long loaders = 2, seconds = 0, mib = 8;
	struct worker_thread *threads;
	unsigned long long total = 0;
	struct timespec start;
	bool hold = false;
	double elapsed;
	int opt, nr, i, err;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse("--loaders", optarg, 64, &loaders))
				return 2;
			break;
		case 's':
			if (parse("--seconds", optarg, 86400, &seconds))
				return 2;
			break;
		case 'b':
			if (parse("--buffer-mib", optarg, 4096, &mib) || !mib) {
				fprintf(stderr, "gpusched-standin-worker: --buffer-mib must be 1..4096\n");
				return 2;
			}
			break;
		case 'H':
			hold = true;
			break;
		default:
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}

	/* Thread 0 is this one, the "main" thread; then loaders; then background. */
	nr = loaders + 2;
	threads = calloc(nr, sizeof(*threads));
	if (!threads) {
		fprintf(stderr, "gpusched-standin-worker: out of memory\n");
		return 1;
	}
	for (i = 0; i < nr; i++) {
		threads[i].buffer_bytes = (size_t)mib << 20;
		threads[i].background = i == nr - 1;
		if (i == 0)
			snprintf(threads[i].name, sizeof(threads[i].name), "main");
		else if (i == nr - 1)
			snprintf(threads[i].name, sizeof(threads[i].name), "background");
		else
			snprintf(threads[i].name, sizeof(threads[i].name), "loader%d", (i - 1) % 100);
	}
	if (pthread_barrier_init(&finished, NULL, nr) || pthread_barrier_init(&release, NULL, nr)) {
		fprintf(stderr, "gpusched-standin-worker: pthread_barrier_init failed\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (seconds) {
		deadline = start;
		deadline.tv_sec += seconds;
	}
	for (i = 1; i < nr; i++) {
		err = pthread_create(&threads[i].thread, NULL, worker_thread_run, &threads[i]);
		if (err) {
			fprintf(stderr, "gpusched-standin-worker: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	/* The background thread ends the run at the deadline; the main thread streams. */
	pthread_setname_np(pthread_self(), "main");
	stream(&threads[0]);
	pthread_barrier_wait(&finished);
	elapsed = seconds_since(&start);
	for (i = 0; i < nr; i++) {
		printf("%-10s %llu passes\n", threads[i].name, threads[i].passes);
		if (!threads[i].background)
			total += threads[i].passes;
	}
	printf("total      %llu passes of %ld MiB\n", total, mib);
	printf("rate       %.3f passes/s over %.3f s\n", elapsed > 0 ? total / elapsed : 0.0,
	       elapsed);
	fflush(stdout);
	if (hold) {
		char discard[256];

		while (fread(discard, 1, sizeof(discard), stdin) > 0)
			;
	}
	pthread_barrier_wait(&release);
	for (i = 1; i < nr; i++)
		pthread_join(threads[i].thread, NULL);
	free(threads);
	return 0;
}
