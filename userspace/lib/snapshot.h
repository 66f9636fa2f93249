/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A discovered machine (discover.h) turned into the two forms the rest of
 * gpusched consumes: the placement engine's topology snapshot, which
 * `gpusched plan` and the library's fallback place on, and the arrays of
 * GPUSCHED_IOC_SET_TOPOLOGY, which gpuschedd sends to the module.  Both are
 * made here so that the engine in userspace sees the machine exactly as
 * the module will: cores, packages and caches named by their lowest CPU,
 * housekeeping CPUs flagged, GPUs in discovery's PCI address order.
 */
#ifndef GPUSCHED_SNAPSHOT_H
#define GPUSCHED_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/gpusched.h>

#include "cpulist.h"
#include "discover.h"
#include "libgpusched.h"
#include "placement.h"

/*
 * The engine's view of a machine; owns its arrays.  topo points into
 * them.  Node ids are the machine's own (0..max id); a node id with no
 * directory is an empty node at distance 255 from every other.
 */
struct gs_snapshot {
	struct gs_topology topo;
	struct gs_cpu *cpus;
	uint32_t *distance;
	struct gs_gpu *gpus;
	uint32_t *index;	/* storage of topo.node_cpus and topo.node_start */
};

/*
 * Builds the engine's snapshot of @machine.  CPUs in @housekeeping (may
 * be NULL) are flagged GS_CPU_HOUSEKEEPING.  A GPU whose node discovery
 * could not tell is refused with -ENODEV unless the machine has a single
 * node.  The snapshot is checked with gs_topology_validate().  Returns 0,
 * -ENOMEM, -ENODEV or -EINVAL; @message (GS_SNAPSHOT_MESSAGE_SIZE bytes)
 * then says what was wrong.
 */
#define GS_SNAPSHOT_MESSAGE_SIZE	256

/*
 * Allocates zeroed arrays for a snapshot of @nr_cpus CPU ids, @nr_nodes
 * node ids and @nr_gpus GPUs and points snapshot->topo at them, its node
 * index not built yet (gs_topology_index()).  Returns 0 or -ENOMEM, with
 * nothing left allocated.
 */
int gs_snapshot_alloc(struct gs_snapshot *snapshot, uint32_t nr_cpus, uint32_t nr_nodes,
		      uint32_t nr_gpus);

int gs_snapshot_build(const struct gs_machine *machine,
		      const struct gs_bitmap *housekeeping,
		      struct gs_snapshot *snapshot, char *message);

/* Frees the arrays of a snapshot built by gs_snapshot_build() and zeroes it. */
void gs_snapshot_free(struct gs_snapshot *snapshot);

/*
 * gpusched_fallback_pin() on a machine the caller has discovered already
 * (gpusched exec, which needs the GPUs first to choose one): the same
 * arguments, results and errors, without a second discovery.  In
 * gpusched.c, not exported.
 */
int gs_fallback_pin_machine(const struct gs_machine *machine, unsigned int gpu,
			    unsigned int policy, unsigned int cores, unsigned int flags,
			    struct gpusched_fallback *out, char *message);

/*
 * Whether the fallback's placement under @policy (a GPUSCHED_POLICY_*
 * value) needs the machine's cores, packages and caches.  Only the node
 * policy (and DEFAULT, which is node) does not: it takes every usable CPU
 * of the GPU's node.  A caller that discovers for gs_fallback_pin_machine()
 * sets gs_discover_opts.skip_cpu_groups to its negation; given a machine
 * without them, a policy that needs them fails with -EINVAL.
 */
bool gs_fallback_needs_cpu_groups(unsigned int policy);

/*
 * The arrays of one GPUSCHED_IOC_SET_TOPOLOGY, owned by this struct.
 * request points into them and is ready for gpusched_set_topology().
 */
struct gs_feed {
	struct gpusched_topology request;
	struct gpusched_gpu *gpus;
	uint32_t *llc;
	uint64_t *housekeeping;
};

/*
 * Builds the SET_TOPOLOGY request for @machine and a module whose
 * nr_cpu_ids is @nr_cpu_ids.  Every GPU is sent with the node discovery
 * found (or GPUSCHED_NODE_ANY when it found none, for the module to take
 * the device's), mem_node from @mem_nodes (may be NULL: every GPU
 * GPUSCHED_NODE_ANY; entries of -1 likewise) and the UUID from @uuids
 * (may be NULL: all zero).  @housekeeping (may be NULL) becomes the
 * housekeeping mask.  Returns 0, -ENOMEM, -EINVAL for a machine discovered
 * with skip_cpu_groups, or -ERANGE when the machine has a CPU at or above
 * @nr_cpu_ids or more than GPUSCHED_MAX_GPUS GPUs.
 */
int gs_feed_build(const struct gs_machine *machine, uint32_t nr_cpu_ids,
		  const struct gs_bitmap *housekeeping, const int *mem_nodes,
		  const uint8_t (*uuids)[16], struct gs_feed *feed);

/* Frees the arrays of a feed and zeroes it. */
void gs_feed_free(struct gs_feed *feed);

/*
 * The CPUs gpusched keeps away from pins by default: the isolated ones
 * (isolcpus=), which the scheduler does not balance, so a worker given
 * several of them would run all its threads on the first.  Adds them to
 * @housekeeping.  Returns 0 or -ENOMEM.
 */
int gs_default_housekeeping(const struct gs_machine *machine,
			    struct gs_bitmap *housekeeping);

#endif /* GPUSCHED_SNAPSHOT_H */
