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
