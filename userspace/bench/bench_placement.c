// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark for the placement engine: how long one placement and one whole
 * job take on synthetic machines the size of today's GPU servers, and how
 * the cost grows with the CPU count and the number of workers.  It prints
 * numbers for people to read and asserts nothing about time; placement runs
 * in the module under a lock on every pin, so these are the numbers to watch
 * when the engine changes.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -Werror -I kmod -I userspace/cli
 *        userspace/bench/bench_placement.c userspace/cli/bench_synthetic.c
 *        kmod/placement.c kmod/placement_topology.c -o bench_placement
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_synthetic.h"
#include "placement.h"

/*
 * Each figure is the best of BATCHES batches of at least BATCH_NS each: on a
 * shared machine the fastest batch is the one least disturbed by others.
 */
#define BATCHES		5
#define BATCH_NS	4e6
#define MAX_WORKERS	512u

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The synthetic machine (bench_synthetic.h), checked; exits if it cannot be made. */
static struct gs_synthetic *machine_new(uint32_t packages, uint32_t nodes_per_package,
					uint32_t cores_per_node, uint32_t nr_gpus)
{
	struct gs_synthetic *m = gs_synthetic_new(packages, nodes_per_package, cores_per_node,
						  nr_gpus, MAX_WORKERS);
	struct gs_error error;

	if (!m) {
		fprintf(stderr, "bench_placement: out of memory\n");
		exit(1);
	}
	if (gs_topology_validate(&m->topo, &error)) {
		fprintf(stderr, "bench_placement: bad synthetic machine: %s\n",
			gs_reason_name(error.reason));
		exit(1);
	}
	return m;
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

/* ns of gs_place() for one GPU's workers, cycling over the GPUs; < 0 if it fails. */
static double ns_per_placement(struct gs_synthetic *m, uint32_t policy, uint32_t workers)
{
	double start, elapsed, fastest = 1e30;
	struct gs_request req;
	uint64_t calls;
	int batch;

	for (batch = 0; batch < BATCHES; batch++) {
		start = now_ns();
		elapsed = 0;
		calls = 0;
		do {
			req = gs_synthetic_request(m, (uint32_t)(calls % m->topo.nr_gpus), policy, workers);
			if (gs_place(&m->topo, &m->resv, &req, &m->ws, &m->out))
				return -1;
			if (++calls % 16 == 0)
				elapsed = now_ns() - start;
		} while (elapsed < BATCH_NS);
		fastest = best(fastest, elapsed / (double)calls);
	}
	return fastest;
}

/*
 * ns of one whole job: gs_reserve() for every GPU in turn, then gs_release()
 * of every reservation (timed apart, into *@release_ns).
 */
static double ns_per_job(struct gs_synthetic *m, uint32_t policy, uint32_t workers,
			 double *release_ns)
{
	double placing, releasing, mark, fastest = 1e30;
	uint64_t jobs;
	int batch;

	*release_ns = 1e30;
	for (batch = 0; batch < BATCHES; batch++) {
		placing = 0;
		releasing = 0;
		jobs = 0;
		do {
			mark = now_ns();
			if (gs_synthetic_job(m, policy, workers)) {
				gs_synthetic_release(m);
				return -1;
			}
			placing += now_ns() - mark;
			mark = now_ns();
			gs_synthetic_release(m);
			releasing += now_ns() - mark;
			jobs++;
		} while (placing + releasing < BATCH_NS);
		fastest = best(fastest, placing / (double)jobs);
		*release_ns = best(*release_ns, releasing / (double)jobs);
	}
	return fastest;
}

static void print_ns(double ns, int width)
{
	if (ns < 0)
		printf(" %*s", width, "-");
	else if (ns < 1e4)
		printf(" %*.0f", width, ns);
	else
		printf(" %*.1fk", width - 1, ns / 1e3);
}

static void bench_job(const char *title, struct gs_synthetic *m, uint32_t workers)
{
	double placement, job, release;
	uint32_t policy;

	printf("\n%s: %u CPUs, %u nodes, %u GPUs x %u workers\n", title, m->topo.nr_cpus,
	       m->topo.nr_nodes, m->topo.nr_gpus, workers);
	printf("  %-10s %12s %12s %12s %12s\n", "policy", "ns/placement", "ns/worker",
	       "ns/job", "ns/release");
	for (policy = GS_POLICY_NODE; policy <= GS_POLICY_SINGLE; policy++) {
		placement = ns_per_placement(m, policy, workers);
		job = ns_per_job(m, policy, workers, &release);
		printf("  %-10s", gs_policy_name(policy));
		print_ns(placement, 12);
		print_ns(placement < 0 ? -1 : placement / workers, 12);
		print_ns(job, 12);
		print_ns(job < 0 ? -1 : release, 12);
		printf("\n");
	}
	gs_synthetic_free(m);
}

static double ns_to_validate(struct gs_synthetic *m)
{
	double start, elapsed, fastest = 1e30;
	uint64_t calls;
	int batch;

	for (batch = 0; batch < BATCHES; batch++) {
		start = now_ns();
		elapsed = 0;
		calls = 0;
		do {
			gs_topology_validate(&m->topo, NULL);
			if (++calls % 16 == 0)
				elapsed = now_ns() - start;
		} while (elapsed < BATCH_NS);
		fastest = best(fastest, elapsed / (double)calls);
	}
	return fastest;
}

/* Rows: CPU count; columns: workers.  8 GPUs, 64 cores (128 CPUs) per node. */
static void bench_growth(uint32_t policy)
{
	static const uint32_t workers[] = { 1, 8, 64, 512 };
	uint32_t nr_cpus, column, cores_per_node, nodes;
	struct gs_synthetic *m;
	char label[16];

	printf("\n%s policy, ns per placement of one GPU's workers (8 GPUs, SPILL allowed)\n",
	       gs_policy_name(policy));
	printf("  %6s %5s %10s", "CPUs", "nodes", "validate");
	for (column = 0; column < sizeof(workers) / sizeof(workers[0]); column++) {
		snprintf(label, sizeof(label), "W=%u", workers[column]);
		printf(" %10s", label);
	}
	printf("\n");
	for (nr_cpus = 64; nr_cpus <= 8192; nr_cpus *= 2) {
		cores_per_node = nr_cpus / 2 < 64 ? nr_cpus / 2 : 64;
		nodes = nr_cpus / 2 / cores_per_node;
		m = machine_new(nodes > 1 ? 2 : 1, nodes > 1 ? nodes / 2 : 1, cores_per_node, 8);
		printf("  %6u %5u", m->topo.nr_cpus, m->topo.nr_nodes);
		print_ns(ns_to_validate(m), 10);
		for (column = 0; column < sizeof(workers) / sizeof(workers[0]); column++)
			print_ns(ns_per_placement(m, policy, workers[column]), 10);
		printf("\n");
		gs_synthetic_free(m);
	}
}

int main(void)
{
	printf("gpusched placement engine benchmark (CLOCK_MONOTONIC; each figure is the best\n");
	printf("of %d batches of >= %.0f ms)\n", BATCHES, BATCH_NS / 1e6);
	printf("exclusive uses 1 core per worker; '-' means the request does not fit (ENOSPC);\n");
	printf("a job is one gs_reserve() per GPU; release frees every GPU's reservation\n");
	bench_job("8 GPUs x 64 workers", machine_new(2, 2, 128, 8), 64);
	bench_job("72 GPUs x 16 workers", machine_new(18, 1, 64, 72), 16);
	bench_growth(GS_POLICY_EXCLUSIVE);
	bench_growth(GS_POLICY_NODE);
	bench_growth(GS_POLICY_L3);
	return 0;
}
