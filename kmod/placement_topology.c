// SPDX-License-Identifier: GPL-2.0
/*
 * What the placement engine works on: the check of a topology snapshot,
 * workspaces and reservation tables over the caller's storage, the release
 * of a reservation, and the names of reasons and policies.  Like
 * placement.c, it compiles unchanged in the module and in userspace.
 */
#include "placement.h"
#include "placement_internal.h"

static const char * const gs_reason_names[GS_NR_REASONS] = {
	[GS_REASON_NONE] = "success",
	[GS_REASON_TOPOLOGY_SIZE] = "topology counts out of range or tables missing",
	[GS_REASON_CPU_NODE] = "a CPU's node is out of range",
	[GS_REASON_CPU_FLAGS] = "a CPU has unknown flags",
	[GS_REASON_CPU_CORE] = "a CPU's core is not named by its lowest CPU",
	[GS_REASON_CPU_PACKAGE] = "a CPU's package is not named by its lowest CPU",
	[GS_REASON_CPU_LLC] = "a CPU's cache is not named by its lowest CPU",
	[GS_REASON_CORE_SPLIT] = "SMT siblings disagree on node, package or cache",
	[GS_REASON_DISTANCE_SELF] = "a node's distance to itself is not 10",
	[GS_REASON_DISTANCE_RANGE] = "a distance between two nodes is outside 11..255",
	[GS_REASON_GPU_NODE] = "a GPU's node is out of range",
	[GS_REASON_ARGUMENT] = "a required argument is missing",
	[GS_REASON_SIZE_MISMATCH] = "reservations or workspace sized for another topology",
	[GS_REASON_POLICY] = "unknown policy",
	[GS_REASON_FLAGS] = "unknown request flags",
	[GS_REASON_WORKERS] = "worker count is 0 or too large",
	[GS_REASON_CORES_PER_WORKER] = "cores per worker not allowed for this policy or too large",
	[GS_REASON_RESERVATION_ID] = "an exclusive reservation needs a non-zero id",
	[GS_REASON_NO_SUCH_GPU] = "no such GPU",
	[GS_REASON_OUTPUT_TOO_SMALL] = "the placement has room for fewer workers",
	[GS_REASON_NO_USABLE_CPUS] =
		"too few usable CPUs near the GPU (offline, housekeeping or not allowed)",
	[GS_REASON_GPU_SHARE_FULL] = "the GPU's share of its node's cores is used up",
	[GS_REASON_CPUS_HELD] = "the usable CPUs near the GPU are held by other reservations",
	[GS_REASON_NODE_INDEX] = "the per-node CPU index does not match the CPUs' nodes",
};

static const char * const gs_policy_names[] = {
	[GS_POLICY_NODE] = "node",
	[GS_POLICY_SOCKET] = "socket",
	[GS_POLICY_EXCLUSIVE] = "exclusive",
	[GS_POLICY_L3] = "l3",
	[GS_POLICY_SINGLE] = "single",
};

static int gs_validate_cpu(const struct gs_topology *topo, u32 cpu, struct gs_error *error)
{
	const struct gs_cpu *this = &topo->cpus[cpu];
	const struct gs_cpu *core_leader;

	if (this->node >= topo->nr_nodes)
		return gs_fail(error, GS_REASON_CPU_NODE, cpu, -EINVAL);
	if (this->flags & ~GS_CPU_FLAGS)
		return gs_fail(error, GS_REASON_CPU_FLAGS, cpu, -EINVAL);
	/*
	 * A group's name must be a CPU no higher than this one that names
	 * itself: then it is the group's lowest CPU, which is what lets the
	 * engine index core_marks by it.
	 */
	if (this->core > cpu || topo->cpus[this->core].core != this->core)
		return gs_fail(error, GS_REASON_CPU_CORE, cpu, -EINVAL);
	if (this->package > cpu || topo->cpus[this->package].package != this->package)
		return gs_fail(error, GS_REASON_CPU_PACKAGE, cpu, -EINVAL);
	if (this->llc > cpu || topo->cpus[this->llc].llc != this->llc)
		return gs_fail(error, GS_REASON_CPU_LLC, cpu, -EINVAL);
	/* The engine moves whole cores, so a core must sit in one node and cache. */
	core_leader = &topo->cpus[this->core];
	if (core_leader->node != this->node || core_leader->package != this->package ||
	    core_leader->llc != this->llc)
		return gs_fail(error, GS_REASON_CORE_SPLIT, cpu, -EINVAL);
	return 0;
}

/* The node of the first CPU the index leaves out; the index is otherwise sound. */
static u32 gs_node_left_out(const struct gs_topology *topo)
{
	u32 cpu, node, position;

	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		node = topo->cpus[cpu].node;
		position = gs_node_position(topo, node, cpu);
		if (position == gs_node_nr_cpus(topo, node) ||
		    topo->node_cpus[topo->node_start[node] + position] != cpu)
			return node;
	}
	return 0;
}

/*
 * Each node's run of the index must hold only that node's CPUs, in strictly
 * increasing order.  Then no CPU is listed twice, and runs totalling
 * nr_cpus entries list every CPU exactly once.  Needs the CPUs' nodes
 * checked first.
 */
static int gs_validate_index(const struct gs_topology *topo, struct gs_error *error)
{
	const u32 *start = topo->node_start;
	u32 node, position, cpu;

	if (!topo->node_cpus || !start || start[0])
		return gs_fail(error, GS_REASON_NODE_INDEX, 0, -EINVAL);
	for (node = 0; node < topo->nr_nodes; node++) {
		if (start[node + 1] < start[node] || start[node + 1] > topo->nr_cpus)
			return gs_fail(error, GS_REASON_NODE_INDEX, node, -EINVAL);
		for (position = start[node]; position < start[node + 1]; position++) {
			cpu = topo->node_cpus[position];
			if (cpu >= topo->nr_cpus || topo->cpus[cpu].node != node ||
			    (position > start[node] && cpu <= topo->node_cpus[position - 1]))
				return gs_fail(error, GS_REASON_NODE_INDEX, node, -EINVAL);
		}
	}
	if (start[topo->nr_nodes] != topo->nr_cpus)
		return gs_fail(error, GS_REASON_NODE_INDEX, gs_node_left_out(topo), -EINVAL);
	return 0;
}

/* Bits set in @word. */
static u32 gs_word_weight(unsigned long word)
{
	u32 weight = 0;

	for (; word; word &= word - 1)
		weight++;
	return weight;
}

/*
 * The bitmaps, when there are any, say what the CPUs say: each CPU is in
 * its node's mask, a node's mask has as many bits as the node has CPUs
 * (so no other), and a CPU is usable exactly when online and not
 * housekeeping.  Runs after gs_validate_index(), which checked the counts.
 */
static int gs_validate_masks(const struct gs_topology *topo, struct gs_error *error)
{
	u32 words = gs_bitmap_words(topo->nr_cpus);
	const unsigned long *mask;
	u32 node, cpu, word, weight;
	bool usable;

	if (!topo->node_masks && !topo->usable_cpus)
		return 0;
	if (!topo->node_masks || !topo->usable_cpus)
		return gs_fail(error, GS_REASON_NODE_INDEX, 0, -EINVAL);
	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		node = topo->cpus[cpu].node;
		usable = gs_flags_usable(topo->cpus[cpu].flags);
		if (!gs_bit_test(topo->node_masks + (size_t)node * words, cpu) ||
		    gs_bit_test(topo->usable_cpus, cpu) != usable)
			return gs_fail(error, GS_REASON_NODE_INDEX, node, -EINVAL);
	}
	for (node = 0; node < topo->nr_nodes; node++) {
		mask = topo->node_masks + (size_t)node * words;
		weight = 0;
		for (word = 0; word < words; word++)
			weight += gs_word_weight(mask[word]);
		if (weight != gs_node_nr_cpus(topo, node))
			return gs_fail(error, GS_REASON_NODE_INDEX, node, -EINVAL);
	}
	/* Nor a usable bit past the last CPU. */
	if (topo->nr_cpus % GS_BITS_PER_WORD &&
	    topo->usable_cpus[words - 1] >> (topo->nr_cpus % GS_BITS_PER_WORD))
		return gs_fail(error, GS_REASON_NODE_INDEX, 0, -EINVAL);
	return 0;
}

/*
 * Firmware tables are not always symmetric, so only each entry is checked:
 * 10 to itself, 11..255 to any other node (Linux's own rule for the SLIT).
 */
static int gs_validate_distances(const struct gs_topology *topo, struct gs_error *error)
{
	u32 from, to, distance;

	for (from = 0; from < topo->nr_nodes; from++) {
		for (to = 0; to < topo->nr_nodes; to++) {
			distance = gs_distance(topo, from, to);
			if (from == to && distance != GS_LOCAL_DISTANCE)
				return gs_fail(error, GS_REASON_DISTANCE_SELF, from, -EINVAL);
			if (from != to &&
			    (distance <= GS_LOCAL_DISTANCE || distance > GS_MAX_DISTANCE))
				return gs_fail(error, GS_REASON_DISTANCE_RANGE,
					       from * topo->nr_nodes + to, -EINVAL);
		}
	}
	return 0;
}

/**
 * gs_topology_index_words() - size of the storage gs_topology_index() fills
 * @nr_cpus: the topology's CPU count
 * @nr_nodes: the topology's node count
 *
 * Context: Any context.
 * Return: the number of u32 entries to pass to gs_topology_index().
 */
u32 gs_topology_index_words(u32 nr_cpus, u32 nr_nodes)
{
	return nr_cpus + nr_nodes + 1;
}

/**
 * gs_topology_index() - group a topology's CPUs by node
 * @topo: a topology whose counts and CPUs are filled in
 * @storage: gs_topology_index_words() u32 entries, which must live as long
 *	as @topo is used
 *
 * Points @topo->node_cpus and @topo->node_start into @storage and fills
 * them: a counting sort by node, so each node's CPUs stay in increasing
 * order.  Call it again after changing any CPU's node; flags may change
 * without it.  A CPU whose node is out of range is left out, and
 * gs_topology_validate() then refuses the topology for that CPU.
 *
 * Context: Any context; the caller owns @topo.
 */
void gs_topology_index(struct gs_topology *topo, u32 *storage)
{
	u32 *start = storage + topo->nr_cpus;
	u32 cpu, node, count, sum = 0;

	for (node = 0; node <= topo->nr_nodes; node++)
		start[node] = 0;
	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		if (topo->cpus[cpu].node < topo->nr_nodes)
			start[topo->cpus[cpu].node]++;
	}
	for (node = 0; node < topo->nr_nodes; node++) {
		count = start[node];
		start[node] = sum;
		sum += count;
	}
	/* Filling moves each node's entry from its first CPU to past its last... */
	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		node = topo->cpus[cpu].node;
		if (node < topo->nr_nodes)
			storage[start[node]++] = cpu;
	}
	/* ...which is where the next node starts. */
	for (node = topo->nr_nodes; node > 0; node--)
		start[node] = start[node - 1];
	start[0] = 0;
	topo->node_cpus = storage;
	topo->node_start = start;
}

/**
 * gs_topology_masks_words() - size of the storage gs_topology_masks() fills
 * @nr_cpus: the topology's CPU count
 * @nr_nodes: the topology's node count
 *
 * Context: Any context.
 * Return: the number of unsigned longs to pass to gs_topology_masks().
 */
u32 gs_topology_masks_words(u32 nr_cpus, u32 nr_nodes)
{
	return (nr_nodes + 1) * gs_bitmap_words(nr_cpus);
}

/**
 * gs_topology_masks() - a bitmap of each node's CPUs, and of the usable ones
 * @topo: a topology whose counts and CPUs are filled in
 * @storage: gs_topology_masks_words() unsigned longs, which must live as
 *	long as @topo is used
 *
 * Points @topo->usable_cpus and @topo->node_masks into @storage and fills
 * them from @topo->cpus.  Call it again after changing any CPU's node or
 * flags: gs_topology_validate() refuses bitmaps that disagree with the
 * CPUs, and a placement trusts them.  A CPU whose node is out of range is
 * in no node's mask.
 *
 * Context: Any context; the caller owns @topo.
 */
void gs_topology_masks(struct gs_topology *topo, unsigned long *storage)
{
	u32 i, cpu, node, words = gs_bitmap_words(topo->nr_cpus);
	unsigned long *node_masks = storage + words;

	for (i = 0; i < gs_topology_masks_words(topo->nr_cpus, topo->nr_nodes); i++)
		storage[i] = 0;
	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		node = topo->cpus[cpu].node;
		if (gs_flags_usable(topo->cpus[cpu].flags))
			gs_bit_set(storage, cpu);
		if (node < topo->nr_nodes)
			gs_bit_set(node_masks + (size_t)node * words, cpu);
	}
	topo->usable_cpus = storage;
	topo->node_masks = node_masks;
}

/**
 * gs_topology_validate() - check a topology snapshot for internal consistency
 * @topo: the snapshot
 * @error: where to store the reason and its subject; may be NULL
 *
 * Every other engine function trusts a snapshot that passed this check.
 *
 * Context: Any context; reads @topo only.
 * Return: 0 if @topo is consistent, else -EINVAL with @error saying why.
 */
int gs_topology_validate(const struct gs_topology *topo, struct gs_error *error)
{
	u32 cpu, gpu;
	int err;

	if (!topo)
		return gs_fail(error, GS_REASON_ARGUMENT, 0, -EINVAL);
	if (!topo->nr_cpus || topo->nr_cpus > GS_MAX_CPUS || !topo->cpus ||
	    !topo->nr_nodes || topo->nr_nodes > GS_MAX_NODES || !topo->distance ||
	    topo->nr_gpus > GS_MAX_GPUS || (topo->nr_gpus && !topo->gpus))
		return gs_fail(error, GS_REASON_TOPOLOGY_SIZE, 0, -EINVAL);
	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		err = gs_validate_cpu(topo, cpu, error);
		if (err)
			return err;
	}
	err = gs_validate_distances(topo, error);
	if (err)
		return err;
	for (gpu = 0; gpu < topo->nr_gpus; gpu++) {
		if (topo->gpus[gpu].cpu_node >= topo->nr_nodes ||
		    topo->gpus[gpu].mem_node >= topo->nr_nodes)
			return gs_fail(error, GS_REASON_GPU_NODE, gpu, -EINVAL);
	}
	err = gs_validate_index(topo, error);
	if (err)
		return err;
	err = gs_validate_masks(topo, error);
	if (err)
		return err;
	return gs_fail(error, GS_REASON_NONE, 0, 0);
}

/**
 * gs_workspace_words() - size of the storage a workspace needs
 * @nr_cpus: CPUs of the topologies the workspace will serve
 * @nr_nodes: nodes of those topologies
 *
 * Context: Any context.
 * Return: the number of u32 entries to pass to gs_workspace_init().
 */
u32 gs_workspace_words(u32 nr_cpus, u32 nr_nodes)
{
	return nr_cpus + nr_nodes;
}

/**
 * gs_workspace_init() - lay a workspace over caller-provided storage
 * @ws: the workspace
 * @storage: gs_workspace_words(@nr_cpus, @nr_nodes) u32 entries
 * @nr_cpus: CPUs of the topologies the workspace will serve
 * @nr_nodes: nodes of those topologies
 *
 * Clears @storage: the engine relies on state it leaves there between
 * calls (see placement.c), so only the engine may write to it afterwards.
 *
 * Context: Any context.
 */
void gs_workspace_init(struct gs_workspace *ws, u32 *storage, u32 nr_cpus, u32 nr_nodes)
{
	u32 i;

	for (i = 0; i < nr_cpus + nr_nodes; i++)
		storage[i] = 0;
	ws->nr_cpus = nr_cpus;
	ws->nr_nodes = nr_nodes;
	ws->core_marks = storage;
	ws->node_marks = storage + nr_cpus;
}

/**
 * gs_reservations_init() - start a reservation table with every CPU free
 * @resv: the table
 * @holds: @nr_cpus entries of storage
 * @nr_cpus: the topology's CPU count
 *
 * Context: Any context; the caller serialises users of @resv.
 */
void gs_reservations_init(struct gs_reservations *resv, struct gs_hold *holds, u32 nr_cpus)
{
	u32 cpu;

	resv->nr_cpus = nr_cpus;
	resv->holds = holds;
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		holds[cpu].reservation = 0;
		holds[cpu].gpu = 0;
	}
}

/**
 * gs_release() - give back every CPU a reservation holds
 * @resv: the reservations
 * @reservation_id: the reservation; 0 releases nothing
 * @released: if not NULL, a bitmap of @resv->nr_cpus bits set to exactly
 *	the CPUs released
 *
 * Context: Any context; the caller serialises all users of @resv.
 * Return: the number of CPUs released.
 */
u32 gs_release(struct gs_reservations *resv, u32 reservation_id, unsigned long *released)
{
	u32 cpu, count = 0;

	if (released)
		gs_map_zero(released, resv->nr_cpus);
	if (!reservation_id)
		return 0;
	for (cpu = 0; cpu < resv->nr_cpus; cpu++) {
		if (resv->holds[cpu].reservation != reservation_id)
			continue;
		resv->holds[cpu].reservation = 0;
		resv->holds[cpu].gpu = 0;
		if (released)
			gs_bit_set(released, cpu);
		count++;
	}
	return count;
}

/**
 * gs_reason_name() - a reason code in words
 * @reason: an &enum gs_reason value
 *
 * Context: Any context.
 * Return: a static string, "unknown reason" for a value out of range.
 */
const char *gs_reason_name(u32 reason)
{
	if (reason >= GS_NR_REASONS)
		return "unknown reason";
	return gs_reason_names[reason];
}

/**
 * gs_policy_name() - the keyword of a policy, as users type it
 * @policy: an &enum gs_policy value
 *
 * Context: Any context.
 * Return: a static string, NULL for a value that is not a policy.
 */
const char *gs_policy_name(u32 policy)
{
	if (policy < GS_POLICY_NODE || policy > GS_POLICY_SINGLE)
		return NULL;
	return gs_policy_names[policy];
}
