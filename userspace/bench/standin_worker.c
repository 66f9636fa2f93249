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
 * buffer passes it made, so runs under different placements compare.
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

static bool past_deadline(void)
{
	struct timespec now;

	if (!deadline.tv_sec)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void *stream(void *arg)
{
	struct worker_thread *t = arg;
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
		return NULL;
	}
	/* First touch from this thread: the pages land where it runs. */
	buffer = malloc(t->buffer_bytes);
	if (!buffer)
		return NULL;
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
	return (void *)(uintptr_t)(sum & 1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched-standin-worker [--loaders N] [--seconds S] [--buffer-mib M]\n\n"
		"Runs a main thread and N data-loader threads streaming over M MiB buffers of\n"
		"their own, plus one background thread, for S seconds (0: until killed), then\n"
		"prints the buffer passes each made.\n");
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
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long loaders = 2, seconds = 0, mib = 8;
	struct worker_thread *threads;
	unsigned long long total = 0;
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
	if (seconds) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += seconds;
	}
	for (i = 1; i < nr; i++) {
		err = pthread_create(&threads[i].thread, NULL, stream, &threads[i]);
		if (err) {
			fprintf(stderr, "gpusched-standin-worker: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	/* The background thread ends the run at the deadline; the main thread streams. */
	pthread_setname_np(pthread_self(), "main");
	stream(&threads[0]);
	for (i = 1; i < nr; i++)
		pthread_join(threads[i].thread, NULL);
	for (i = 0; i < nr; i++) {
		printf("%-10s %llu passes\n", threads[i].name, threads[i].passes);
		if (!threads[i].background)
			total += threads[i].passes;
	}
	printf("total      %llu passes of %ld MiB\n", total, mib);
	free(threads);
	return 0;
}
