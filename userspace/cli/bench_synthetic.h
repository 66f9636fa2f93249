/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Synthetic machines for timing the placement engine at sizes no test
 * machine has: packages of NUMA nodes of cores with 2 SMT threads and
 * 8-core caches, CPUs numbered as Linux numbers Intel and AMD servers (all
 * first threads, then all second threads), GPUs spread over the nodes in
 * reverse order as on boards whose GPU 0 hangs off the last node.  Both
 * `gpusched bench` and bench_placement (make bench) time jobs on them, so
 * the two report the same workload.
 */
#ifndef GPUSCHED_BENCH_SYNTHETIC_H
#define GPUSCHED_BENCH_SYNTHETIC_H

#include <stdint.h>

#include "placement.h"

/* A synthetic machine with every table the engine needs; owns its arrays. */
struct gs_synthetic {
	struct gs_topology topo;
	struct gs_reservations resv;
	struct gs_workspace ws;
	struct gs_placement out;
	unsigned long *all_cpus;	/* every CPU: the workers' allowed CPUs */
	struct gs_cpu *cpus;
	uint32_t *distance;
	struct gs_gpu *gpus;
	uint32_t *index;
	unsigned long *masks;		/* the node and usable bitmaps */
	struct gs_hold *holds;
	uint32_t *scratch;
	unsigned long *worker_cpus;
	uint32_t *worker_node;
};

/*
 * A machine of @packages x @nodes_per_package nodes of @cores_per_node
 * cores, with @nr_gpus GPUs and room for @max_workers workers per
 * placement.  Nodes of one package are at distance 12, of two at 32.
 * Returns NULL when out of memory.
 */
struct gs_synthetic *gs_synthetic_new(uint32_t packages, uint32_t nodes_per_package,
				      uint32_t cores_per_node, uint32_t nr_gpus,
				      uint32_t max_workers);
void gs_synthetic_free(struct gs_synthetic *m);

/*
 * The request of GPU @gpu's job: @workers workers under @policy, any CPU
 * allowed, spilling allowed, exclusive ones 1 core each, reservation id
 * @gpu + 1.
 */
struct gs_request gs_synthetic_request(const struct gs_synthetic *m, uint32_t gpu,
				       uint32_t policy, uint32_t workers);

/*
 * One job: gs_reserve() of every GPU's request in GPU order.  Returns 0,
 * or the first error (the GPUs before it keep their reservations).
 */
int gs_synthetic_job(struct gs_synthetic *m, uint32_t policy, uint32_t workers);

/* Releases the reservations of every GPU's job. */
void gs_synthetic_release(struct gs_synthetic *m);

#endif /* GPUSCHED_BENCH_SYNTHETIC_H */
