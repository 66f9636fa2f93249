/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the files of the placement engine share (placement.c and
 * placement_topology.c); not part of its interface, placement.h.
 */
#ifndef _GPUSCHED_PLACEMENT_INTERNAL_H
#define _GPUSCHED_PLACEMENT_INTERNAL_H

#include "placement.h"

/* The distance from node @from to node @to. */
static inline u32 gs_distance(const struct gs_topology *topo, u32 from, u32 to)
{
	return topo->distance[(size_t)from * topo->nr_nodes + to];
}

/* Whether a CPU with @flags may go to a worker: online and not housekeeping. */
static inline bool gs_flags_usable(u32 flags)
{
	return (flags & (GS_CPU_ONLINE | GS_CPU_HOUSEKEEPING)) == GS_CPU_ONLINE;
}

/* Number of CPUs of node @node, from the topology's node index. */
static inline u32 gs_node_nr_cpus(const struct gs_topology *topo, u32 node)
{
	return topo->node_start[node + 1] - topo->node_start[node];
}

/*
 * Position, among node @node's CPUs in the index, of the first CPU that is
 * @cpu or above; gs_node_nr_cpus() if there is none.
 */
static inline u32 gs_node_position(const struct gs_topology *topo, u32 node, u32 cpu)
{
	const u32 *cpus = topo->node_cpus + topo->node_start[node];
	u32 low = 0, high = gs_node_nr_cpus(topo, node), middle;

	while (low < high) {
		middle = low + (high - low) / 2;
		if (cpus[middle] < cpu)
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

/* Stores @reason and @subject in @error (if any) and returns @err. */
static inline int gs_fail(struct gs_error *error, u32 reason, u32 subject, int err)
{
	if (error) {
		error->reason = reason;
		error->subject = subject;
	}
	return err;
}

#endif /* _GPUSCHED_PLACEMENT_INTERNAL_H */
