// SPDX-License-Identifier: GPL-2.0
/*
 * Synthetic machines for timing the placement engine; see bench_synthetic.h.
 */
#include <stdlib.h>

#include "bench_synthetic.h"

struct gs_synthetic *gs_synthetic_new(uint32_t packages, uint32_t nodes_per_package,
				      uint32_t cores_per_node, uint32_t nr_gpus,
				      uint32_t max_workers)
{
	uint32_t nr_nodes = packages * nodes_per_package;
	uint32_t cores = nr_nodes * cores_per_node, nr_cpus = 2 * cores;
	uint32_t cores_per_package = nodes_per_package * cores_per_node;
	uint32_t words = gs_bitmap_words(nr_cpus);
	uint32_t core, thread, from, to, gpu, cpu;
	struct gs_synthetic *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cpus = calloc(nr_cpus, sizeof(*m->cpus));
	m->distance = calloc((size_t)nr_nodes * nr_nodes, sizeof(*m->distance));
	m->gpus = calloc(nr_gpus ? nr_gpus : 1, sizeof(*m->gpus));
	m->index = calloc(gs_topology_index_words(nr_cpus, nr_nodes), sizeof(*m->index));
	m->masks = calloc(gs_topology_masks_words(nr_cpus, nr_nodes), sizeof(*m->masks));
	m->holds = calloc(nr_cpus, sizeof(*m->holds));
	m->scratch = calloc(gs_workspace_words(nr_cpus, nr_nodes), sizeof(*m->scratch));
	m->all_cpus = calloc(words, sizeof(*m->all_cpus));
	m->worker_cpus = calloc((size_t)max_workers * words, sizeof(*m->worker_cpus));
	m->worker_node = calloc(max_workers, sizeof(*m->worker_node));
	if (!m->cpus || !m->distance || !m->gpus || !m->index || !m->masks || !m->holds ||
	    !m->scratch || !m->all_cpus || !m->worker_cpus || !m->worker_node) {
		gs_synthetic_free(m);
		return NULL;
	}
	for (core = 0; core < cores; core++) {
		for (thread = 0; thread < 2; thread++) {
			cpu = core + thread * cores;
			m->cpus[cpu] = (struct gs_cpu){
				.core = core,
				.package = core / cores_per_package * cores_per_package,
				.llc = core - core % 8,
				.node = core / cores_per_node,
				.flags = GS_CPU_ONLINE,
			};
			gs_bit_set(m->all_cpus, cpu);
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
	/* As the module has them. */
	gs_topology_masks(&m->topo, m->masks);
	gs_reservations_init(&m->resv, m->holds, nr_cpus);
	gs_workspace_init(&m->ws, m->scratch, nr_cpus, nr_nodes);
	m->out = (struct gs_placement){ .max_workers = max_workers,
					.worker_cpus = m->worker_cpus,
					.worker_node = m->worker_node };
	return m;
}

void gs_synthetic_free(struct gs_synthetic *m)
{
	if (!m)
		return;
	free(m->cpus);
	free(m->distance);
	free(m->gpus);
	free(m->index);
	free(m->masks);
	free(m->holds);
	free(m->scratch);
	free(m->all_cpus);
	free(m->worker_cpus);
	free(m->worker_node);
	free(m);
}

struct gs_request gs_synthetic_request(const struct gs_synthetic *m, uint32_t gpu,
				       uint32_t policy, uint32_t workers)
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

int gs_synthetic_job(struct gs_synthetic *m, uint32_t policy, uint32_t workers)
{
	struct gs_request req;
	uint32_t gpu;
	int err;

	for (gpu = 0; gpu < m->topo.nr_gpus; gpu++) {
		req = gs_synthetic_request(m, gpu, policy, workers);
		err = gs_reserve(&m->topo, &m->resv, &req, &m->ws, &m->out);
		if (err)
			return err;
	}
	return 0;
}

void gs_synthetic_release(struct gs_synthetic *m)
{
	uint32_t gpu;

	for (gpu = 0; gpu < m->topo.nr_gpus; gpu++)
		gs_release(&m->resv, gpu + 1, NULL);
}
