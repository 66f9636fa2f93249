// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark for the placement engine: how long one placement and one whole
 * job take on synthetic machines the size of today's GPU servers, and how
 * the cost grows with the CPU count and the number of workers.  It prints
 * numbers for people to read and asserts nothing about time; placement runs
 * in the module under a lock on every pin, so these are the numbers to watch
 * when the engine changes.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -Werror -I kmod
 *        userspace/bench/bench_placement.c kmod/placement.c -o bench_placement
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "placement.h"

/*
 * Each figure is the best of BATCHES batches of at least BATCH_NS each: on a
 * shared machine the fastest batch is the one least disturbed by others.
 */
#define BATCHES		5
#define BATCH_NS	4e6
#define MAX_WORKERS	512u

/* A synthetic machine: packages of nodes of cores with 2 SMT threads, 8-core caches. */
struct machine {
	struct gs_topology topo;
	struct gs_cpu *cpus;
	uint32_t *distance;
	struct gs_gpu *gpus;
	uint32_t *index;		/* storage of topo.node_cpus and topo.node_start */
	struct gs_hold *holds;
	struct gs_reservations resv;
	uint32_t *scratch;
	struct gs_workspace ws;
	unsigned long *all_cpus;
	unsigned long *worker_cpus;
	uint32_t worker_node[MAX_WORKERS];
	struct gs_placement out;
};

static void *zalloc(size_t bytes)
{
	void *p = calloc(1, bytes ? bytes : 1);

	if (!p) {
		fprintf(stderr, "bench_placement: out of memory\n");
		exit(1);
	}
	return p;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * CPUs are numbered the way Linux numbers Intel and AMD servers (all first
 * threads, then all second threads), and GPUs are spread over the nodes in
 * reverse order, as on boards whose GPU 0 hangs off the last node.
 */
static struct machine *machine_new(uint32_t packages, uint32_t nodes_per_package,
				   uint32_t cores_per_node, uint32_t nr_gpus)
{
	uint32_t nr_nodes = packages * nodes_per_package;
	uint32_t cores = nr_nodes * cores_per_node, nr_cpus = 2 * cores;
	uint32_t cores_per_package = nodes_per_package * cores_per_node;
	struct machine *m = zalloc(sizeof(*m));
	uint32_t core, thread, from, to, gpu, package;
	struct gs_error error;

	m->cpus = zalloc(nr_cpus * sizeof(*m->cpus));
	m->distance = zalloc((size_t)nr_nodes * nr_nodes * sizeof(*m->distance));
	m->gpus = zalloc(nr_gpus * sizeof(*m->gpus));
	m->index = zalloc(gs_topology_index_words(nr_cpus, nr_nodes) * sizeof(*m->index));
	m->holds = zalloc(nr_cpus * sizeof(*m->holds));
	m->scratch = zalloc(gs_workspace_words(nr_cpus, nr_nodes) * sizeof(*m->scratch));
	m->all_cpus = zalloc(gs_bitmap_words(nr_cpus) * sizeof(unsigned long));
	m->worker_cpus = zalloc((size_t)MAX_WORKERS * gs_bitmap_words(nr_cpus) *
				sizeof(unsigned long));
	for (core = 0; core < cores; core++) {
		package = core / cores_per_package;
		for (thread = 0; thread < 2; thread++) {
			m->cpus[core + thread * cores] = (struct gs_cpu){
				.core = core,
				.package = package * cores_per_package,
				.llc = core - core % 8,
				.node = core / cores_per_node,
				.flags = GS_CPU_ONLINE,
			};
			gs_bit_set(m->all_cpus, core + thread * cores);
		}
	}
	for (from = 0; from < nr_nodes; from++)
		for (to = 0; to < nr_nodes; to++)
			m->distance[from * nr_nodes + to] = from == to ? 10 :
				from / nodes_per_package == to / nodes_per_package ? 12 : 32;
	for (gpu = 0; gpu < nr_gpus; gpu++) {
		m->gpus[gpu].cpu_node = nr_nodes - 1 - (uint32_t)((uint64_t)gpu * nr_nodes / nr_gpus);
		m->gpus[gpu].mem_node = m->gpus[gpu].cpu_node;
	}
	m->topo = (struct gs_topology){ .nr_cpus = nr_cpus, .nr_nodes = nr_nodes,
					.nr_gpus = nr_gpus, .cpus = m->cpus,
					.distance = m->distance, .gpus = m->gpus };
	gs_topology_index(&m->topo, m->index);
	gs_reservations_init(&m->resv, m->holds, nr_cpus);
	gs_workspace_init(&m->ws, m->scratch, nr_cpus, nr_nodes);
	m->out = (struct gs_placement){ .max_workers = MAX_WORKERS,
					.worker_cpus = m->worker_cpus,
					.worker_node = m->worker_node };
	if (gs_topology_validate(&m->topo, &error)) {
		fprintf(stderr, "bench_placement: bad synthetic machine: %s\n",
			gs_reason_name(error.reason));
		exit(1);
	}
	return m;
}

static void machine_free(struct machine *m)
{
	free(m->cpus);
	free(m->distance);
	free(m->gpus);
	free(m->index);
	free(m->holds);
	free(m->scratch);
	free(m->all_cpus);
	free(m->worker_cpus);
	free(m);
}

static struct gs_request job_request(struct machine *m, uint32_t gpu, uint32_t policy,
				     uint32_t workers)
{
	return (struct gs_request){
		.gpu = gpu,
		.policy = policy,
		.nr_workers = workers,
		.cores_per_worker = policy == GS_POLICY_EXCLUSIVE ? 1 : 0,
		.flags = GS_REQUEST_SPILL,
		.reservation_id = gpu + 1,
		.allowed_cpus = m->all_cpus,
	};
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

/* ns of gs_place() for one GPU's workers, cycling over the GPUs; < 0 if it fails. */
static double ns_per_placement(struct machine *m, uint32_t policy, uint32_t workers)
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
			req = job_request(m, (uint32_t)(calls % m->topo.nr_gpus), policy, workers);
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
static double ns_per_job(struct machine *m, uint32_t policy, uint32_t workers,
			 double *release_ns)
{
	double placing, releasing, mark, fastest = 1e30;
	struct gs_request req;
	uint64_t jobs;
	uint32_t gpu;
	int batch;

	*release_ns = 1e30;
	for (batch = 0; batch < BATCHES; batch++) {
		placing = 0;
		releasing = 0;
		jobs = 0;
		do {
			mark = now_ns();
			for (gpu = 0; gpu < m->topo.nr_gpus; gpu++) {
				req = job_request(m, gpu, policy, workers);
				if (gs_reserve(&m->topo, &m->resv, &req, &m->ws, &m->out))
					return -1;
			}
			placing += now_ns() - mark;
			mark = now_ns();
			for (gpu = 0; gpu < m->topo.nr_gpus; gpu++)
				gs_release(&m->resv, gpu + 1, NULL);
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

static void bench_job(const char *title, struct machine *m, uint32_t workers)
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
	machine_free(m);
}

static double ns_to_validate(struct machine *m)
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
	struct machine *m;
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
		machine_free(m);
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
