// SPDX-License-Identifier: GPL-2.0
/*
 * From a discovered machine to the placement engine's snapshot and to the
 * module's SET_TOPOLOGY request.  The module builds its own engine
 * snapshot from the kernel's view plus the cache groups and housekeeping
 * CPUs userspace sends; this file builds the userspace one by the same
 * rules (groups named by their lowest online CPU, an offline CPU naming
 * itself, packages standing in for caches when any online CPU's cache is
 * unknown), so that `gpusched plan` answers what a pin would get.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

/* Linux's REMOTE_DISTANCE: what a node pair without a distance entry gets. */
#define DEFAULT_REMOTE_DISTANCE	20u

static int fail(char *message, int err, const char *fmt, ...)
{
	va_list ap;

	if (message) {
		va_start(ap, fmt);
		vsnprintf(message, GS_SNAPSHOT_MESSAGE_SIZE, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* One past the highest CPU id of @machine, 0 for a machine without CPUs. */
static unsigned int cpu_id_limit(const struct gs_machine *machine)
{
	unsigned int nr = gs_topo_nr_cpus(machine);

	return nr ? gs_topo_cpu(machine, nr - 1)->id + 1 : 0;
}

/* Whether every online CPU knows its last-level cache group. */
static bool caches_known(const struct gs_machine *machine)
{
	unsigned int i;

	for (i = 0; i < gs_topo_nr_cpus(machine); i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(machine, i);

		if (cpu->online && cpu->llc < 0)
			return false;
	}
	return true;
}

/*
 * The canonical names of one CPU's groups: for each online CPU the lowest
 * online CPU of its core (its SMT siblings), package and cache, for an
 * offline CPU itself.  @first_of_package and @first_of_llc are scratch
 * arrays indexed by package id and cache group, filled as CPUs are visited
 * in ascending order; (unsigned int)-1 marks "not seen yet".
 */
struct group_names {
	unsigned int core, package, llc;
};

static void name_groups(const struct gs_machine_cpu *cpu, bool use_llc,
			unsigned int *first_of_package, unsigned int *first_of_llc,
			struct group_names *names)
{
	int sibling;

	names->core = cpu->id;
	names->package = cpu->id;
	names->llc = cpu->id;
	if (!cpu->online)
		return;

	sibling = gs_bitmap_next(&cpu->siblings, -1);
	if (sibling >= 0 && (unsigned int)sibling < cpu->id)
		names->core = sibling;
	if (cpu->package >= 0) {
		if (first_of_package[cpu->package] == (unsigned int)-1)
			first_of_package[cpu->package] = cpu->id;
		names->package = first_of_package[cpu->package];
	}
	if (use_llc) {
		if (first_of_llc[cpu->llc] == (unsigned int)-1)
			first_of_llc[cpu->llc] = cpu->id;
		names->llc = first_of_llc[cpu->llc];
	} else {
		names->llc = names->package;
	}
}

/*
 * Calls @visit for every CPU of @machine with its group names.  Returns 0
 * or -ENOMEM.
 */
static int for_each_cpu_named(const struct gs_machine *machine,
			      void (*visit)(void *arg, const struct gs_machine_cpu *cpu,
					    const struct group_names *names),
			      void *arg)
{
	unsigned int i, max_package = 0, nr_llcs = gs_topo_nr_llcs(machine);
	unsigned int *first_of_package, *first_of_llc;
	bool use_llc = caches_known(machine);

	for (i = 0; i < gs_topo_nr_cpus(machine); i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(machine, i);

		if (cpu->package >= 0 && (unsigned int)cpu->package > max_package)
			max_package = cpu->package;
		if (cpu->llc >= 0 && (unsigned int)cpu->llc >= nr_llcs)
			nr_llcs = cpu->llc + 1;
	}
	first_of_package = malloc((max_package + 1) * sizeof(*first_of_package));
	first_of_llc = malloc((nr_llcs + 1) * sizeof(*first_of_llc));
	if (!first_of_package || !first_of_llc) {
		free(first_of_package);
		free(first_of_llc);
		return -ENOMEM;
	}
	memset(first_of_package, 0xff, (max_package + 1) * sizeof(*first_of_package));
	memset(first_of_llc, 0xff, (nr_llcs + 1) * sizeof(*first_of_llc));

	for (i = 0; i < gs_topo_nr_cpus(machine); i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(machine, i);
		struct group_names names;

		name_groups(cpu, use_llc, first_of_package, first_of_llc, &names);
		visit(arg, cpu, &names);
	}
	free(first_of_package);
	free(first_of_llc);
	return 0;
}

struct snapshot_visit {
	struct gs_snapshot *snapshot;
	const struct gs_bitmap *housekeeping;
};

static void snapshot_cpu(void *arg, const struct gs_machine_cpu *cpu,
			 const struct group_names *names)
{
	struct snapshot_visit *visit = arg;
	struct gs_cpu *out = &visit->snapshot->cpus[cpu->id];

	out->core = names->core;
	out->package = names->package;
	out->llc = names->llc;
	out->node = cpu->node >= 0 ? (u32)cpu->node : 0;
	out->flags = cpu->online ? GS_CPU_ONLINE : 0;
	if (visit->housekeeping && gs_bitmap_test(visit->housekeeping, cpu->id))
		out->flags |= GS_CPU_HOUSEKEEPING;
}

static unsigned int node_id_limit(const struct gs_machine *machine)
{
	unsigned int nr = gs_topo_nr_nodes(machine);

	return nr ? gs_topo_node(machine, nr - 1)->id + 1 : 1;
}

static void fill_distances(const struct gs_machine *machine, uint32_t nr_nodes,
			   uint32_t *distance)
{
	uint32_t a, b;

	for (a = 0; a < nr_nodes; a++) {
		for (b = 0; b < nr_nodes; b++) {
			bool known = gs_topo_node_by_id(machine, a) && gs_topo_node_by_id(machine, b);
			int d = known ? gs_topo_node_distance(machine, a, b) : -1;

			if (a == b)
				distance[a * nr_nodes + b] = GS_LOCAL_DISTANCE;
			else if (d > 0)
				distance[a * nr_nodes + b] = d;
			else
				distance[a * nr_nodes + b] = known ? DEFAULT_REMOTE_DISTANCE :
								     GS_MAX_DISTANCE;
		}
	}
}

int gs_snapshot_alloc(struct gs_snapshot *snapshot, uint32_t nr_cpus, uint32_t nr_nodes,
		      uint32_t nr_gpus)
{
	memset(snapshot, 0, sizeof(*snapshot));
	snapshot->cpus = calloc(nr_cpus, sizeof(*snapshot->cpus));
	snapshot->distance = calloc((size_t)nr_nodes * nr_nodes, sizeof(*snapshot->distance));
	snapshot->gpus = calloc(nr_gpus ? nr_gpus : 1, sizeof(*snapshot->gpus));
	snapshot->index = calloc(gs_topology_index_words(nr_cpus, nr_nodes),
				 sizeof(*snapshot->index));
	if (!snapshot->cpus || !snapshot->distance || !snapshot->gpus || !snapshot->index) {
		gs_snapshot_free(snapshot);
		return -ENOMEM;
	}
	snapshot->topo = (struct gs_topology){
		.nr_cpus = nr_cpus,
		.nr_nodes = nr_nodes,
		.nr_gpus = nr_gpus,
		.cpus = snapshot->cpus,
		.distance = snapshot->distance,
		.gpus = nr_gpus ? snapshot->gpus : NULL,
	};
	return 0;
}

int gs_snapshot_build(const struct gs_machine *machine,
		      const struct gs_bitmap *housekeeping,
		      struct gs_snapshot *snapshot, char *message)
{
	uint32_t nr_cpus = cpu_id_limit(machine), nr_nodes = node_id_limit(machine);
	uint32_t nr_gpus = gs_topo_nr_gpus(machine), i;
	struct snapshot_visit visit = { snapshot, housekeeping };
	struct gs_error error;
	int err;

	memset(snapshot, 0, sizeof(*snapshot));
	if (!nr_cpus)
		return fail(message, -EINVAL, "the machine has no CPUs");
	if (nr_cpus > GS_MAX_CPUS || nr_nodes > GS_MAX_NODES || nr_gpus > GS_MAX_GPUS)
		return fail(message, -EINVAL,
			    "%u CPU ids, %u node ids, %u GPUs: beyond the engine's limits (%u, %u, %u)",
			    nr_cpus, nr_nodes, nr_gpus, GS_MAX_CPUS, GS_MAX_NODES, GS_MAX_GPUS);

	if (gs_snapshot_alloc(snapshot, nr_cpus, nr_nodes, nr_gpus))
		return fail(message, -ENOMEM, "out of memory");

	/* CPU ids without a directory are possible-but-absent: offline. */
	for (i = 0; i < nr_cpus; i++)
		snapshot->cpus[i] = (struct gs_cpu){ i, i, i, 0, 0 };
	err = for_each_cpu_named(machine, snapshot_cpu, &visit);
	if (err) {
		fail(message, err, "out of memory");
		goto out_free;
	}
	fill_distances(machine, nr_nodes, snapshot->distance);

	for (i = 0; i < nr_gpus; i++) {
		const struct gs_pci_device *gpu = gs_topo_gpu(machine, i);
		int node = gpu->node;

		if (node < 0 && gs_topo_nr_nodes(machine) <= 1)
			node = gs_topo_nr_nodes(machine) ? (int)gs_topo_node(machine, 0)->id : 0;
		if (node < 0) {
			err = fail(message, -ENODEV,
				   "GPU %u (%s): its numa_node is -1 and its local_cpulist names no single node, so its node is unknown",
				   i, gpu->address);
			goto out_free;
		}
		snapshot->gpus[i].cpu_node = node;
		/* A memory node the driver names and gpuschedd would feed. */
		snapshot->gpus[i].mem_node = gpu->mem_node >= 0 ? gpu->mem_node : node;
	}

	gs_topology_index(&snapshot->topo, snapshot->index);
	if (gs_topology_validate(&snapshot->topo, &error)) {
		err = fail(message, -EINVAL, "the machine's topology is inconsistent: %s (%u)",
			   gs_reason_name(error.reason), error.subject);
		goto out_free;
	}
	return 0;

out_free:
	gs_snapshot_free(snapshot);
	return err;
}

void gs_snapshot_free(struct gs_snapshot *snapshot)
{
	free(snapshot->cpus);
	free(snapshot->distance);
	free(snapshot->gpus);
	free(snapshot->index);
	memset(snapshot, 0, sizeof(*snapshot));
}

static void feed_llc(void *arg, const struct gs_machine_cpu *cpu,
		     const struct group_names *names)
{
	uint32_t *llc = arg;

	llc[cpu->id] = names->llc;
}

int gs_feed_build(const struct gs_machine *machine, uint32_t nr_cpu_ids,
		  const struct gs_bitmap *housekeeping, const int *mem_nodes,
		  const uint8_t (*uuids)[16], struct gs_feed *feed)
{
	uint32_t nr_gpus = gs_topo_nr_gpus(machine), words = (nr_cpu_ids + 63) / 64, i;
	int cpu, err;

	memset(feed, 0, sizeof(*feed));
	/* Discovered without cores and caches: the module would take every CPU as its own core. */
	if (!gs_topo_cpu_groups_known(machine))
		return -EINVAL;
	if (cpu_id_limit(machine) > nr_cpu_ids || nr_gpus > GPUSCHED_MAX_GPUS || !nr_cpu_ids)
		return -ERANGE;

	feed->gpus = calloc(nr_gpus ? nr_gpus : 1, sizeof(*feed->gpus));
	feed->housekeeping = calloc(words, sizeof(*feed->housekeeping));
	feed->llc = caches_known(machine) ? calloc(nr_cpu_ids, sizeof(*feed->llc)) : NULL;
	if (!feed->gpus || !feed->housekeeping || (caches_known(machine) && !feed->llc)) {
		err = -ENOMEM;
		goto out_free;
	}

	for (i = 0; i < nr_gpus; i++) {
		const struct gs_pci_device *gpu = gs_topo_gpu(machine, i);
		struct gpusched_gpu *out = &feed->gpus[i];

		out->domain = gpu->domain;
		out->bus = gpu->bus;
		out->devfn = gpu->slot << 3 | gpu->function;
		out->node = gpu->node >= 0 ? (uint32_t)gpu->node : GPUSCHED_NODE_ANY;
		out->mem_node = mem_nodes && mem_nodes[i] >= 0 ? (uint32_t)mem_nodes[i] :
								  GPUSCHED_NODE_ANY;
		if (uuids)
			memcpy(out->uuid, uuids[i], sizeof(out->uuid));
	}

	if (feed->llc) {
		for (i = 0; i < nr_cpu_ids; i++)
			feed->llc[i] = i;
		err = for_each_cpu_named(machine, feed_llc, feed->llc);
		if (err)
			goto out_free;
	}

	if (housekeeping) {
		for (cpu = gs_bitmap_next(housekeeping, -1); cpu >= 0;
		     cpu = gs_bitmap_next(housekeeping, cpu)) {
			if ((uint32_t)cpu >= nr_cpu_ids) {
				err = -ERANGE;
				goto out_free;
			}
			feed->housekeeping[cpu / 64] |= 1ULL << (cpu % 64);
		}
	}

	feed->request = (struct gpusched_topology){
		.size = sizeof(feed->request),
		.nr_gpus = nr_gpus,
		.gpu_entry_size = sizeof(struct gpusched_gpu),
		.gpus = (uintptr_t)feed->gpus,
		.nr_cpus = nr_cpu_ids,
		.llc = (uintptr_t)feed->llc,
		.housekeeping = (uintptr_t)feed->housekeeping,
	};
	return 0;

out_free:
	gs_feed_free(feed);
	return err;
}

void gs_feed_free(struct gs_feed *feed)
{
	free(feed->gpus);
	free(feed->llc);
	free(feed->housekeeping);
	memset(feed, 0, sizeof(*feed));
}

int gs_default_housekeeping(const struct gs_machine *machine,
			    struct gs_bitmap *housekeeping)
{
	return gs_bitmap_or(housekeeping, gs_topo_isolated_cpus(machine));
}
