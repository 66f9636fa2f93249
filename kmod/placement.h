/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gpusched placement engine: decides which CPUs each worker of a GPU job may
 * run on.  Placement is a pure function of a topology snapshot, the current
 * exclusive reservations and a request, so the same source runs in the
 * kernel module (which enforces the answer) and in userspace (where
 * `gpusched plan` predicts it and the unit tests and fuzzers check it).  The
 * engine allocates nothing and calls nothing outside this file pair: every
 * table, scratch array and output bitmap belongs to the caller, which also
 * serialises calls that share a reservation table.  The policies and their
 * exact tie-breaking are described in Documentation/placement.rst.
 */
#ifndef GPUSCHED_PLACEMENT_H
#define GPUSCHED_PLACEMENT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
/*
 * The engine is kernel code first and spells fixed-width types the kernel's
 * way; in userspace u32 is the same type as uint32_t on every Linux ABI.
 */
typedef unsigned int u32;
#endif

/* Limits that keep every count and index computation inside 32 bits. */
#define GS_MAX_CPUS		65536u
#define GS_MAX_NODES		1024u
#define GS_MAX_GPUS		1024u
#define GS_MAX_WORKERS		65536u

/* ACPI SLIT conventions, which Linux's node distances follow. */
#define GS_LOCAL_DISTANCE	10u
#define GS_MAX_DISTANCE		255u

/* Bits of struct gs_cpu.flags. */
#define GS_CPU_ONLINE		0x1u	/* the CPU is online */
#define GS_CPU_HOUSEKEEPING	0x2u	/* kept for the OS: never given to workers */
#define GS_CPU_FLAGS		(GS_CPU_ONLINE | GS_CPU_HOUSEKEEPING)

/**
 * struct gs_cpu - one logical CPU of the topology snapshot
 * @core: lowest CPU number of the CPU's physical core (its SMT siblings)
 * @package: lowest CPU number of the CPU's package (socket)
 * @llc: lowest CPU number of the CPUs sharing the CPU's last-level cache
 * @node: NUMA node of the CPU
 * @flags: %GS_CPU_ONLINE, %GS_CPU_HOUSEKEEPING
 *
 * Groups are named by their lowest-numbered member so that a snapshot of a
 * machine has one canonical form, both the module (cpumask_first() of the
 * sibling mask) and sysfs readers (the first entry of a cpulist) produce it
 * directly, and the engine can check and use it without scratch memory.  An
 * offline CPU whose topology is unknown names itself as its core, package
 * and cache.
 */
struct gs_cpu {
	u32 core;
	u32 package;
	u32 llc;
	u32 node;
	u32 flags;
};

/**
 * struct gs_gpu - one GPU of the topology snapshot
 * @cpu_node: node of the GPU's PCI device; may be a node without CPUs
 * @mem_node: node holding the GPU's memory when it is exposed as a NUMA node
 *	(Grace Hopper/Blackwell), else equal to @cpu_node
 */
struct gs_gpu {
	u32 cpu_node;
	u32 mem_node;
};

/**
 * struct gs_topology - a snapshot of the machine, owned by the caller
 * @nr_cpus: entries in @cpus; CPU numbers are indices into it
 * @nr_nodes: number of NUMA nodes; node ids are 0..@nr_nodes-1
 * @nr_gpus: entries in @gpus; GPU indices are indices into it
 * @cpus: every possible CPU, online or not
 * @distance: @nr_nodes x @nr_nodes node distances, row-major: the distance
 *	from node a to node b is @distance[a * @nr_nodes + b]; need not be
 *	symmetric
 * @gpus: the GPUs; may be NULL when @nr_gpus is 0
 * @node_cpus: every CPU, grouped by node: node n's CPUs, in increasing
 *	order, are @node_cpus[@node_start[n]] up to @node_cpus[@node_start[n + 1] - 1]
 * @node_start: @nr_nodes + 1 offsets into @node_cpus
 * @node_masks: optional (NULL, or set with @usable_cpus): @nr_nodes bitmaps
 *	of gs_bitmap_words(@nr_cpus) words each, back to back, node n's CPUs
 * @usable_cpus: optional, with @node_masks: a bitmap of the CPUs that are
 *	online and not housekeeping
 *
 * gs_topology_index() fills in @node_cpus and @node_start from @cpus; it
 * lets a placement visit only the nodes it can use instead of every CPU.
 * gs_topology_masks() fills in @node_masks and @usable_cpus, with which
 * the node policy takes a node's CPUs a word at a time.
 */
struct gs_topology {
	u32 nr_cpus;
	u32 nr_nodes;
	u32 nr_gpus;
	const struct gs_cpu *cpus;
	const u32 *distance;
	const struct gs_gpu *gpus;
	const u32 *node_cpus;
	const u32 *node_start;
	const unsigned long *node_masks;
	const unsigned long *usable_cpus;
};

/**
 * struct gs_hold - the exclusive reservation holding one CPU
 * @reservation: id of the holding reservation, 0 when the CPU is free
 * @gpu: the GPU that reservation was made for (meaningless when free)
 */
struct gs_hold {
	u32 reservation;
	u32 gpu;
};

/**
 * struct gs_reservations - the node's exclusive reservations, owned by the caller
 * @nr_cpus: entries in @holds; must equal the topology's nr_cpus
 * @holds: one entry per CPU
 *
 * Reservations hold whole physical cores: every CPU of a granted core is
 * held, so no other exclusive worker can get a sibling of it.
 */
struct gs_reservations {
	u32 nr_cpus;
	struct gs_hold *holds;
};

/**
 * struct gs_workspace - scratch memory for one placement, owned by the caller
 * @nr_cpus: CPUs the workspace is sized for
 * @nr_nodes: nodes the workspace is sized for
 * @core_marks: @nr_cpus entries of per-core, per-cache and per-package state
 * @node_marks: @nr_nodes entries of per-node state
 *
 * Initialise with gs_workspace_init() over gs_workspace_words() u32s; after
 * that only the engine writes to it, as calls leave state the next relies
 * on.  Kept apart from the reservations so that gs_place() can take them
 * read-only.
 */
struct gs_workspace {
	u32 nr_cpus;
	u32 nr_nodes;
	u32 *core_marks;
	u32 *node_marks;
};

/**
 * enum gs_policy - placement policies; the values are ABI (ioctl uapi)
 * @GS_POLICY_NODE: every worker gets all usable CPUs of the GPU's node
 * @GS_POLICY_SOCKET: every worker gets all usable CPUs of the package(s)
 *	the GPU's node belongs to
 * @GS_POLICY_EXCLUSIVE: each worker gets a disjoint share of whole physical
 *	cores, held until released
 * @GS_POLICY_L3: each worker gets the CPUs of one last-level cache
 * @GS_POLICY_SINGLE: each worker gets one physical core
 *
 * 0 is deliberately not a policy, so a zeroed request is rejected.
 */
enum gs_policy {
	GS_POLICY_NODE = 1,
	GS_POLICY_SOCKET = 2,
	GS_POLICY_EXCLUSIVE = 3,
	GS_POLICY_L3 = 4,
	GS_POLICY_SINGLE = 5,
};

/* Bits of struct gs_request.flags. */
#define GS_REQUEST_SPILL	0x1u	/* may use farther nodes when the GPU's runs out */
#define GS_REQUEST_FLAGS	GS_REQUEST_SPILL

/**
 * struct gs_request - what a job asks for
 * @gpu: index of the GPU in the topology
 * @policy: an &enum gs_policy value
 * @nr_workers: workers to place, 1..%GS_MAX_WORKERS
 * @cores_per_worker: %GS_POLICY_EXCLUSIVE only: physical cores per worker,
 *	or 0 to split what is left of the GPU's share of its node evenly
 *	(at least one core per worker); must be 0 for the other policies
 * @flags: %GS_REQUEST_SPILL
 * @reservation_id: the caller's reservation.  gs_reserve() records an
 *	exclusive placement under it (must be non-zero then); the shared
 *	policies may use CPUs this reservation holds.  0 means none.
 * @allowed_cpus: the task's allowed CPUs, a bitmap of the topology's
 *	nr_cpus bits
 */
struct gs_request {
	u32 gpu;
	u32 policy;
	u32 nr_workers;
	u32 cores_per_worker;
	u32 flags;
	u32 reservation_id;
	const unsigned long *allowed_cpus;
};

/**
 * enum gs_reason - why a call failed; the values are ABI
 * @GS_REASON_NONE: success
 * @GS_REASON_TOPOLOGY_SIZE: a count is 0 or over its limit, or a table is missing
 * @GS_REASON_CPU_NODE: a CPU's node is out of range (subject: CPU)
 * @GS_REASON_CPU_FLAGS: a CPU has unknown flag bits (subject: CPU)
 * @GS_REASON_CPU_CORE: a CPU's core is not named by its lowest CPU (subject: CPU)
 * @GS_REASON_CPU_PACKAGE: a CPU's package is not named by its lowest CPU
 *	(subject: CPU)
 * @GS_REASON_CPU_LLC: a CPU's cache is not named by its lowest CPU (subject: CPU)
 * @GS_REASON_CORE_SPLIT: SMT siblings disagree on node, package or cache
 *	(subject: CPU)
 * @GS_REASON_DISTANCE_SELF: a node's distance to itself is not 10
 *	(subject: node)
 * @GS_REASON_DISTANCE_RANGE: a distance between two nodes is outside 11..255
 *	(subject: index into the distance table)
 * @GS_REASON_GPU_NODE: a GPU's cpu_node or mem_node is out of range
 *	(subject: GPU)
 * @GS_REASON_ARGUMENT: a required pointer is NULL
 * @GS_REASON_SIZE_MISMATCH: the reservations or workspace were sized for
 *	another topology
 * @GS_REASON_POLICY: unknown policy (subject: policy)
 * @GS_REASON_FLAGS: unknown request flags (subject: flags)
 * @GS_REASON_WORKERS: nr_workers is 0 or over the limit (subject: nr_workers)
 * @GS_REASON_CORES_PER_WORKER: cores_per_worker is set for a shared policy
 *	or exceeds the CPU count (subject: cores_per_worker)
 * @GS_REASON_RESERVATION_ID: an exclusive reservation needs a non-zero id
 * @GS_REASON_NO_SUCH_GPU: the GPU index is out of range (subject: GPU)
 * @GS_REASON_OUTPUT_TOO_SMALL: the placement has room for fewer workers than
 *	requested (subject: workers needed)
 * @GS_REASON_NO_USABLE_CPUS: the candidate nodes have too few usable CPUs or
 *	cores even ignoring reservations (subject: the GPU's node)
 * @GS_REASON_GPU_SHARE_FULL: the GPU's share of its node is used up
 *	(subject: the GPU's node)
 * @GS_REASON_CPUS_HELD: the usable CPUs or cores are held by reservations
 *	(subject: the GPU's node)
 * @GS_REASON_NODE_INDEX: the per-node CPU index is missing or does not list
 *	each node's CPUs in increasing order, or the node or usable CPU
 *	bitmaps disagree with the CPUs (subject: node)
 * @GS_NR_REASONS: number of reasons
 */
enum gs_reason {
	GS_REASON_NONE = 0,
	GS_REASON_TOPOLOGY_SIZE = 1,
	GS_REASON_CPU_NODE = 2,
	GS_REASON_CPU_FLAGS = 3,
	GS_REASON_CPU_CORE = 4,
	GS_REASON_CPU_PACKAGE = 5,
	GS_REASON_CPU_LLC = 6,
	GS_REASON_CORE_SPLIT = 7,
	GS_REASON_DISTANCE_SELF = 8,
	GS_REASON_DISTANCE_RANGE = 9,
	GS_REASON_GPU_NODE = 10,
	GS_REASON_ARGUMENT = 11,
	GS_REASON_SIZE_MISMATCH = 12,
	GS_REASON_POLICY = 13,
	GS_REASON_FLAGS = 14,
	GS_REASON_WORKERS = 15,
	GS_REASON_CORES_PER_WORKER = 16,
	GS_REASON_RESERVATION_ID = 17,
	GS_REASON_NO_SUCH_GPU = 18,
	GS_REASON_OUTPUT_TOO_SMALL = 19,
	GS_REASON_NO_USABLE_CPUS = 20,
	GS_REASON_GPU_SHARE_FULL = 21,
	GS_REASON_CPUS_HELD = 22,
	GS_REASON_NODE_INDEX = 23,
	GS_NR_REASONS
};

/**
 * struct gs_error - why a call failed, for the caller to print
 * @reason: an &enum gs_reason value
 * @subject: the CPU, node, GPU, table index or count the reason is about
 */
struct gs_error {
	u32 reason;
	u32 subject;
};

/**
 * struct gs_placement - where the workers go; storage owned by the caller
 * @max_workers: in: room in @worker_cpus and @worker_node
 * @worker_cpus: in: @max_workers bitmaps of gs_bitmap_words(nr_cpus) words
 *	each, back to back; out: worker w's CPUs, see gs_worker_cpus()
 * @worker_node: in: @max_workers entries; out: the node of each worker's
 *	first CPU
 * @nr_workers: out: workers placed (the request's count), 0 on failure
 * @gpu_node: out: the node whose CPUs are local to the GPU
 * @nr_spilled: out: workers whose first CPU is not on @gpu_node
 * @error: out: why the call failed, %GS_REASON_NONE on success
 */
struct gs_placement {
	u32 max_workers;
	unsigned long *worker_cpus;
	u32 *worker_node;
	u32 nr_workers;
	u32 gpu_node;
	u32 nr_spilled;
	struct gs_error error;
};

#define GS_BITS_PER_WORD	((u32)(8 * sizeof(unsigned long)))

/* Words in a bitmap of @nr_bits bits. */
static inline u32 gs_bitmap_words(u32 nr_bits)
{
	return nr_bits / GS_BITS_PER_WORD + (nr_bits % GS_BITS_PER_WORD != 0);
}

static inline void gs_bit_set(unsigned long *map, u32 bit)
{
	map[bit / GS_BITS_PER_WORD] |= 1UL << (bit % GS_BITS_PER_WORD);
}

static inline void gs_bit_clear(unsigned long *map, u32 bit)
{
	map[bit / GS_BITS_PER_WORD] &= ~(1UL << (bit % GS_BITS_PER_WORD));
}

static inline bool gs_bit_test(const unsigned long *map, u32 bit)
{
	return (map[bit / GS_BITS_PER_WORD] >> (bit % GS_BITS_PER_WORD)) & 1UL;
}

static inline void gs_map_zero(unsigned long *map, u32 nr_bits)
{
	u32 i, words = gs_bitmap_words(nr_bits);

	for (i = 0; i < words; i++)
		map[i] = 0;
}

static inline void gs_map_copy(unsigned long *dst, const unsigned long *src, u32 nr_bits)
{
	u32 i, words = gs_bitmap_words(nr_bits);

	for (i = 0; i < words; i++)
		dst[i] = src[i];
}

/* Worker @worker's CPU bitmap inside @placement, for a topology of @nr_cpus. */
static inline unsigned long *gs_worker_cpus(const struct gs_placement *placement,
					    u32 nr_cpus, u32 worker)
{
	return placement->worker_cpus + (size_t)worker * gs_bitmap_words(nr_cpus);
}

u32 gs_topology_index_words(u32 nr_cpus, u32 nr_nodes);
void gs_topology_index(struct gs_topology *topo, u32 *storage);
u32 gs_topology_masks_words(u32 nr_cpus, u32 nr_nodes);
void gs_topology_masks(struct gs_topology *topo, unsigned long *storage);
int gs_topology_validate(const struct gs_topology *topo, struct gs_error *error);
u32 gs_workspace_words(u32 nr_cpus, u32 nr_nodes);
void gs_workspace_init(struct gs_workspace *ws, u32 *storage, u32 nr_cpus, u32 nr_nodes);
void gs_reservations_init(struct gs_reservations *resv, struct gs_hold *holds, u32 nr_cpus);
int gs_gpu_cpu_node(const struct gs_topology *topo, struct gs_workspace *ws, u32 gpu);
int gs_place(const struct gs_topology *topo, const struct gs_reservations *resv,
	     const struct gs_request *req, struct gs_workspace *ws,
	     struct gs_placement *out);
int gs_reserve(const struct gs_topology *topo, struct gs_reservations *resv,
	       const struct gs_request *req, struct gs_workspace *ws,
	       struct gs_placement *out);
u32 gs_release(struct gs_reservations *resv, u32 reservation_id, unsigned long *released);
const char *gs_reason_name(u32 reason);
const char *gs_policy_name(u32 policy);

#endif /* GPUSCHED_PLACEMENT_H */
