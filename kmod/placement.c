// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched placement engine.  Given a topology snapshot, the exclusive
 * reservations in force and a request (GPU, policy, workers, allowed CPUs),
 * it computes the CPU set of every worker, or a negative errno with a reason
 * the caller can print; gs_reserve() also records exclusive placements so
 * that no later request gets the same cores, and gs_release()
 * (placement_topology.c) gives them back.  The code is deterministic and
 * self-contained: it compiles unchanged in the kernel module and in
 * userspace, allocates nothing and uses only the caller's storage, so
 * every decision can be tested outside the kernel.  The
 * policies and their tie-breaking are specified in Documentation/placement.rst;
 * comments here say why the code follows them the way it does.
 */
#include "placement.h"
#include "placement_internal.h"

/*
 * Per-call state kept in workspace->core_marks.  An entry is indexed by a CPU
 * number that names a group (see struct gs_cpu), so the one array serves
 * cores, caches and packages at once.  The low byte holds flags gathered over
 * the group's CPUs, the bits above it a 1-based sequence number: the worker a
 * core is dealt to, or the rank of a core or cache in the walk that chose it.
 *
 * A call only marks the nodes it looks at, each the first time it does:
 * workspace->node_marks[n] is non-zero once node n's entries are set for
 * this call, and entries of unmarked nodes hold leftovers of earlier calls.
 * A core lies within one node (validation sees to it), so marking a node
 * sets every entry its cores are named by; a cache or package can reach
 * into other nodes, and is read only after its leader's node is marked.
 */
#define GS_MARK_ONLINE		0x01u	/* core: a CPU is online */
#define GS_MARK_HOUSEKEEPING	0x02u	/* core: a CPU is housekeeping */
#define GS_MARK_USABLE		0x04u	/* core: a CPU is usable by the request */
#define GS_MARK_FREE		0x08u	/* core: ... and not held by another reservation */
#define GS_MARK_HELD		0x10u	/* core: a CPU is held by any reservation */
#define GS_MARK_HELD_FOR_GPU	0x20u	/* core: a CPU is held for the request's GPU */
#define GS_MARK_PACKAGE		0x40u	/* package: has a CPU on the node being filled */
#define GS_MARK_FLAGS		0xffu
#define GS_MARK_SEQ_SHIFT	8

/* Everything one placement call works on. */
struct gs_placer {
	const struct gs_topology *topo;
	const struct gs_reservations *resv;
	const struct gs_request *req;
	struct gs_workspace *ws;
	struct gs_placement *out;
	struct gs_hold *hold;	/* gs_reserve(): the table its cores go into, else NULL */
	u32 origin;	/* the GPU's device node, from which distances count */
	u32 home;	/* the node whose CPUs are local to the GPU */
};

/*
 * The GPU's share of its home node (see "exclusive" in placement.rst): the
 * node's capable cores split as evenly as possible over the GPUs that call
 * it home, each GPU owning a block of consecutive cores.
 */
struct gs_share {
	u32 left;	/* cores the GPU may still take on its node */
	u32 start;	/* first core of the GPU's block, where walks begin */
	u32 usable;	/* capable cores with a usable CPU, held or not */
	u32 free;	/* ... of which no reservation holds any CPU */
};

/* Progress of dealing exclusive cores out to workers. */
struct gs_deal {
	u32 need;	/* cores to deal in all */
	u32 dealt;	/* cores dealt so far */
};

/*
 * Walks the physical cores of one node in CPU order, starting at a given CPU
 * and wrapping around: the one order in which every policy visits cores.
 * It goes through the node's run of the topology's node index.
 */
struct gs_core_walk {
	const u32 *cpus;	/* the node's CPUs, in increasing order */
	u32 nr_cpus;		/* ... and how many */
	u32 first;		/* position of the first CPU at or after the start */
	u32 step;		/* CPUs visited so far */
};

static u32 gs_min(u32 a, u32 b)
{
	return a < b ? a : b;
}

/* Spill order: by distance from the GPU's device node @origin, ties to the lower id. */
static bool gs_node_before(const struct gs_topology *topo, u32 origin, u32 a, u32 b)
{
	u32 distance_a = gs_distance(topo, origin, a);
	u32 distance_b = gs_distance(topo, origin, b);

	return distance_a < distance_b || (distance_a == distance_b && a < b);
}

/*
 * The node after @prev in spill order among nodes that have CPUs (the first
 * one when @prev is nr_nodes), or nr_nodes after the last.  O(nodes) per
 * step keeps the walk free of sorting and of storage.
 */
static u32 gs_next_node(const struct gs_topology *topo, u32 origin, u32 prev)
{
	u32 node, best = topo->nr_nodes;

	for (node = 0; node < topo->nr_nodes; node++) {
		if (!gs_node_nr_cpus(topo, node))
			continue;
		if (prev < topo->nr_nodes && !gs_node_before(topo, origin, prev, node))
			continue;
		if (best == topo->nr_nodes || gs_node_before(topo, origin, node, best))
			best = node;
	}
	return best;
}

/*
 * The node a GPU's workers call home: the first node in its spill order.
 * That is its device's node, or for a node without CPUs (GPU memory exposed
 * as a NUMA node) the nearest node with CPUs, ties to the lowest id.  A node
 * with CPUs needs no search: validation keeps every other node farther than
 * 10, a node's distance to itself.
 */
static u32 gs_home_node(const struct gs_topology *topo, u32 gpu)
{
	u32 origin = topo->gpus[gpu].cpu_node;

	if (gs_node_nr_cpus(topo, origin))
		return origin;
	return gs_next_node(topo, origin, topo->nr_nodes);
}

/**
 * gs_gpu_cpu_node() - the node whose CPUs are local to a GPU
 * @topo: a validated topology
 * @ws: a workspace sized for @topo
 * @gpu: the GPU index
 *
 * This is the GPU's device node unless that node has no CPUs, in which case
 * it is the nearest node with CPUs (ties: lowest node id).
 *
 * Context: Any context; the caller owns @ws.
 * Return: the node, -ENODEV if @gpu does not exist, -EINVAL for a missing or
 * undersized argument.
 */
int gs_gpu_cpu_node(const struct gs_topology *topo, struct gs_workspace *ws, u32 gpu)
{
	if (!topo || !ws || ws->nr_cpus < topo->nr_cpus || ws->nr_nodes < topo->nr_nodes)
		return -EINVAL;
	if (gpu >= topo->nr_gpus)
		return -ENODEV;
	return (int)gs_home_node(topo, gpu);
}

static bool gs_core_walk_next(const struct gs_topology *topo, struct gs_core_walk *walk,
			      u32 *core)
{
	while (walk->step < walk->nr_cpus) {
		u32 position = walk->first + walk->step;
		u32 cpu;

		walk->step++;
		if (position >= walk->nr_cpus)
			position -= walk->nr_cpus;
		cpu = walk->cpus[position];
		if (topo->cpus[cpu].core == cpu) {
			*core = cpu;
			return true;
		}
	}
	return false;
}

static u32 gs_marks(const struct gs_placer *placer, u32 leader)
{
	return placer->ws->core_marks[leader] & GS_MARK_FLAGS;
}

/* The sequence number in a mark. */
static u32 gs_mark_seq(u32 mark)
{
	return mark >> GS_MARK_SEQ_SHIFT;
}

static u32 gs_seq(const struct gs_placer *placer, u32 leader)
{
	return gs_mark_seq(placer->ws->core_marks[leader]);
}

static void gs_set_seq(struct gs_placer *placer, u32 leader, u32 seq)
{
	u32 *mark = &placer->ws->core_marks[leader];

	*mark = (*mark & GS_MARK_FLAGS) | (seq << GS_MARK_SEQ_SHIFT);
}

/*
 * Exclusive placement only uses cores with an online CPU and no housekeeping
 * CPU: a sibling of a housekeeping CPU would share its core with the very OS
 * work the admin set that CPU aside for.
 */
static bool gs_core_capable(u32 marks)
{
	return (marks & GS_MARK_ONLINE) && !(marks & GS_MARK_HOUSEKEEPING);
}

static bool gs_core_takeable(u32 marks)
{
	return gs_core_capable(marks) && (marks & GS_MARK_USABLE) && !(marks & GS_MARK_HELD);
}

/*
 * What tells whether a CPU is usable and free, copied out of the placer
 * once for a loop over CPUs.  The loops store to marks and bitmaps, and
 * the kernel is built without strict aliasing: read through the placer,
 * each store would make the compiler load the placer's pointers again for
 * the next CPU, which it need not do for a local copy whose address is
 * never stored.  At 112 CPUs a node this took a node placement from about
 * 5,400 instructions to 4,000.
 */
struct gs_cpu_filter {
	const struct gs_cpu *cpus;
	const unsigned long *allowed;
	const struct gs_hold *holds;
	u32 reservation_id;
};

static void gs_cpu_filter_init(const struct gs_placer *placer, struct gs_cpu_filter *filter)
{
	filter->cpus = placer->topo->cpus;
	filter->allowed = placer->req->allowed_cpus;
	filter->holds = placer->resv->holds;
	filter->reservation_id = placer->req->reservation_id;
}

static bool gs_cpu_usable(const struct gs_cpu_filter *filter, u32 cpu)
{
	return gs_flags_usable(filter->cpus[cpu].flags) && gs_bit_test(filter->allowed, cpu);
}

/* A request may always use what its own reservation holds. */
static bool gs_cpu_held_by_other(const struct gs_cpu_filter *filter, u32 cpu)
{
	u32 holder = filter->holds[cpu].reservation;

	return holder && holder != filter->reservation_id;
}

static bool gs_cpu_free(const struct gs_cpu_filter *filter, u32 cpu)
{
	return gs_cpu_usable(filter, cpu) && !gs_cpu_held_by_other(filter, cpu);
}

/*
 * Gathers the state of each core of @node into the mark of its lowest CPU,
 * once per call; see node_marks above.
 */
static void gs_mark_node(struct gs_placer *placer, u32 node)
{
	const struct gs_topology *topo = placer->topo;
	const u32 *cpus = topo->node_cpus + topo->node_start[node];
	u32 i, cpu, flags, mark, nr_cpus = gs_node_nr_cpus(topo, node);
	u32 *core_marks = placer->ws->core_marks;
	u32 gpu = placer->req->gpu;
	struct gs_cpu_filter filter;

	if (placer->ws->node_marks[node])
		return;
	placer->ws->node_marks[node] = 1;
	gs_cpu_filter_init(placer, &filter);
	for (i = 0; i < nr_cpus; i++)
		core_marks[cpus[i]] = 0;
	for (i = 0; i < nr_cpus; i++) {
		cpu = cpus[i];
		flags = filter.cpus[cpu].flags;
		mark = 0;
		if (flags & GS_CPU_ONLINE)
			mark |= GS_MARK_ONLINE;
		if (flags & GS_CPU_HOUSEKEEPING)
			mark |= GS_MARK_HOUSEKEEPING;
		if (gs_cpu_usable(&filter, cpu)) {
			mark |= GS_MARK_USABLE;
			if (!gs_cpu_held_by_other(&filter, cpu))
				mark |= GS_MARK_FREE;
		}
		if (filter.holds[cpu].reservation) {
			mark |= GS_MARK_HELD;
			if (filter.holds[cpu].gpu == gpu)
				mark |= GS_MARK_HELD_FOR_GPU;
		}
		core_marks[filter.cpus[cpu].core] |= mark;
	}
}

/*
 * Starts a walk of @node's cores at CPU @start.  A walk reads the cores'
 * marks, so the node is marked first, if this call has not marked it yet.
 */
static void gs_core_walk_init(struct gs_placer *placer, struct gs_core_walk *walk, u32 node,
			      u32 start)
{
	const struct gs_topology *topo = placer->topo;

	gs_mark_node(placer, node);
	walk->cpus = topo->node_cpus + topo->node_start[node];
	walk->nr_cpus = gs_node_nr_cpus(topo, node);
	walk->first = gs_node_position(topo, node, start);
	walk->step = 0;
}

/* Position @position among the home node's capable cores, or CPU 0 if none. */
static u32 gs_capable_core_at(struct gs_placer *placer, u32 position)
{
	struct gs_core_walk walk;
	u32 core, seen = 0;

	gs_core_walk_init(placer, &walk, placer->home, 0);
	while (gs_core_walk_next(placer->topo, &walk, &core)) {
		if (!gs_core_capable(gs_marks(placer, core)))
			continue;
		if (seen++ == position)
			return core;
	}
	return 0;
}

/* Works out the request's GPU's share of its home node; see struct gs_share. */
static void gs_gpu_share(struct gs_placer *placer, struct gs_share *share)
{
	const struct gs_topology *topo = placer->topo;
	u32 gpu, local_gpus = 0, rank = 0, capable = 0, held = 0;
	u32 core, marks, base, extra, quota;
	struct gs_core_walk walk;

	/* Rank the GPUs by index, never by any assumed GPU-to-CPU pattern. */
	for (gpu = 0; gpu < topo->nr_gpus; gpu++) {
		if (gs_home_node(topo, gpu) != placer->home)
			continue;
		local_gpus++;
		if (gpu < placer->req->gpu)
			rank++;
	}
	share->usable = 0;
	share->free = 0;
	gs_core_walk_init(placer, &walk, placer->home, 0);
	while (gs_core_walk_next(topo, &walk, &core)) {
		marks = gs_marks(placer, core);
		if (!gs_core_capable(marks))
			continue;
		capable++;
		if (marks & GS_MARK_HELD_FOR_GPU)
			held++;
		if (marks & GS_MARK_USABLE)
			share->usable++;
		if (gs_core_takeable(marks))
			share->free++;
	}
	base = capable / local_gpus;
	extra = capable % local_gpus;
	quota = base + (rank < extra);
	share->left = quota > held ? quota - held : 0;
	share->start = gs_capable_core_at(placer, rank * base + gs_min(rank, extra));
}

/* Worker of the @index-th dealt core: consecutive blocks, larger blocks first. */
static u32 gs_worker_of_core(u32 index, u32 need, u32 workers)
{
	u32 base = need / workers;
	u32 extra = need % workers;
	u32 in_large_blocks = extra * (base + 1);

	if (index < in_large_blocks)
		return index / (base + 1);
	return extra + (index - in_large_blocks) / base;
}

/* Deals up to @limit free cores of @node, walking from @start. */
static void gs_deal_cores(struct gs_placer *placer, struct gs_deal *deal, u32 node, u32 start,
			  u32 limit)
{
	u32 workers = placer->req->nr_workers;
	u32 core, worker, dealt_here = 0;
	struct gs_core_walk walk;

	gs_core_walk_init(placer, &walk, node, start);
	while (dealt_here < limit && deal->dealt < deal->need &&
	       gs_core_walk_next(placer->topo, &walk, &core)) {
		if (!gs_core_takeable(gs_marks(placer, core)))
			continue;
		worker = gs_worker_of_core(deal->dealt, deal->need, workers);
		gs_set_seq(placer, core, worker + 1);
		/* A worker's node is where its first core is. */
		if (!deal->dealt ||
		    worker != gs_worker_of_core(deal->dealt - 1, deal->need, workers))
			placer->out->worker_node[worker] = node;
		deal->dealt++;
		dealt_here++;
	}
}

/* Cores of @node an exclusive worker could use if nobody held them. */
static u32 gs_usable_cores(struct gs_placer *placer, u32 node)
{
	struct gs_core_walk walk;
	u32 core, marks, usable = 0;

	gs_core_walk_init(placer, &walk, node, 0);
	while (gs_core_walk_next(placer->topo, &walk, &core)) {
		marks = gs_marks(placer, core);
		if (gs_core_capable(marks) && (marks & GS_MARK_USABLE))
			usable++;
	}
	return usable;
}

static int gs_no_space(struct gs_placer *placer, u32 reason)
{
	placer->out->nr_workers = 0;
	return gs_fail(&placer->out->error, reason, placer->home, -ENOSPC);
}

/*
 * Picks the most telling reason: too few usable cores even if nothing were
 * held, else the GPU's share being the limit, else other reservations.
 */
static int gs_exclusive_no_space(struct gs_placer *placer, const struct gs_share *share,
				 u32 need)
{
	const struct gs_topology *topo = placer->topo;
	u32 node, elsewhere = 0;

	if (placer->req->flags & GS_REQUEST_SPILL) {
		node = gs_next_node(topo, placer->origin, placer->home);
		while (node < topo->nr_nodes) {
			elsewhere += gs_usable_cores(placer, node);
			node = gs_next_node(topo, placer->origin, node);
		}
	}
	if (share->usable + elsewhere < need)
		return gs_no_space(placer, GS_REASON_NO_USABLE_CPUS);
	if (share->left + elsewhere < need)
		return gs_no_space(placer, GS_REASON_GPU_SHARE_FULL);
	return gs_no_space(placer, GS_REASON_CPUS_HELD);
}

/*
 * Gives each worker the free CPUs of the cores whose mark names it and,
 * for gs_reserve() of exclusive cores, holds every CPU of those cores.
 * Cores are only dealt on nodes the call has marked, so only those are
 * visited.  Called once the placement has succeeded.
 */
static void gs_write_cores(struct gs_placer *placer)
{
	const struct gs_topology *topo = placer->topo;
	const u32 *core_marks = placer->ws->core_marks;
	const u32 *node_marks = placer->ws->node_marks;
	u32 node, position, end, cpu, seq, gpu = placer->req->gpu;
	u32 words = gs_bitmap_words(topo->nr_cpus);
	unsigned long *worker_cpus = placer->out->worker_cpus;
	struct gs_hold *hold = placer->hold;
	struct gs_cpu_filter filter;

	gs_cpu_filter_init(placer, &filter);
	for (node = 0; node < topo->nr_nodes; node++) {
		if (!node_marks[node])
			continue;
		end = topo->node_start[node + 1];
		for (position = topo->node_start[node]; position < end; position++) {
			cpu = topo->node_cpus[position];
			seq = gs_mark_seq(core_marks[filter.cpus[cpu].core]);
			if (!seq)
				continue;
			if (gs_cpu_free(&filter, cpu))
				gs_bit_set(worker_cpus + (size_t)(seq - 1) * words, cpu);
			if (hold) {
				hold[cpu].reservation = filter.reservation_id;
				hold[cpu].gpu = gpu;
			}
		}
	}
}

static int gs_placed(struct gs_placer *placer)
{
	struct gs_placement *out = placer->out;
	u32 worker;

	out->nr_workers = placer->req->nr_workers;
	out->nr_spilled = 0;
	for (worker = 0; worker < out->nr_workers; worker++) {
		if (out->worker_node[worker] != placer->home)
			out->nr_spilled++;
	}
	return gs_fail(&out->error, GS_REASON_NONE, 0, 0);
}

static int gs_place_exclusive(struct gs_placer *placer)
{
	const struct gs_topology *topo = placer->topo;
	const struct gs_request *req = placer->req;
	struct gs_deal deal = { 0 };
	struct gs_share share;
	u32 available, node;

	/* Checked before multiplying: the product could overflow 32 bits. */
	if (req->cores_per_worker > topo->nr_cpus / req->nr_workers)
		return gs_no_space(placer, GS_REASON_NO_USABLE_CPUS);
	gs_gpu_share(placer, &share);
	available = gs_min(share.left, share.free);
	if (req->cores_per_worker)
		deal.need = req->cores_per_worker * req->nr_workers;
	else
		deal.need = available > req->nr_workers ? available : req->nr_workers;

	if (deal.need > available && !(req->flags & GS_REQUEST_SPILL))
		return gs_exclusive_no_space(placer, &share, deal.need);
	gs_deal_cores(placer, &deal, placer->home, share.start, available);
	node = gs_next_node(topo, placer->origin, placer->home);
	while (deal.dealt < deal.need && node < topo->nr_nodes) {
		gs_deal_cores(placer, &deal, node, 0, deal.need);
		node = gs_next_node(topo, placer->origin, node);
	}
	if (deal.dealt < deal.need)
		return gs_exclusive_no_space(placer, &share, deal.need);
	gs_write_cores(placer);
	return gs_placed(placer);
}

/* Workers past the @units distinct sets found share them round-robin. */
static void gs_repeat_workers(struct gs_placer *placer, u32 units)
{
	u32 nr_cpus = placer->topo->nr_cpus;
	u32 worker;

	for (worker = units; worker < placer->req->nr_workers; worker++) {
		gs_map_copy(gs_worker_cpus(placer->out, nr_cpus, worker),
			    gs_worker_cpus(placer->out, nr_cpus, worker % units), nr_cpus);
		placer->out->worker_node[worker] = placer->out->worker_node[worker % units];
	}
}

/*
 * Sets or clears the package flag of every package with a CPU on @node.
 * Between calls no entry has the flag (gs_workspace_init() starts from
 * zero, node marks never set it, and the socket policy clears what it
 * set), so setting it for one node's packages flags exactly those, with no
 * pass over every CPU to clear it first.
 */
static void gs_flag_packages(struct gs_placer *placer, u32 node, bool set)
{
	const struct gs_topology *topo = placer->topo;
	u32 position, package;

	for (position = topo->node_start[node]; position < topo->node_start[node + 1];
	     position++) {
		package = topo->cpus[topo->node_cpus[position]].package;
		if (set)
			placer->ws->core_marks[package] |= GS_MARK_PACKAGE;
		else
			placer->ws->core_marks[package] &= ~GS_MARK_PACKAGE;
	}
}

/*
 * Adds @cpu to @set if it is free; returns whether it was added.  Inline:
 * a call for each CPU of a node cost more than the test itself.
 */
static inline bool gs_add_free_cpu(const struct gs_cpu_filter *filter, unsigned long *set,
				   u32 cpu, bool *usable_seen)
{
	if (!gs_cpu_usable(filter, cpu))
		return false;
	*usable_seen = true;
	if (gs_cpu_held_by_other(filter, cpu))
		return false;
	gs_bit_set(set, cpu);
	return true;
}

/*
 * Adds to @set the free CPUs of @node a word at a time, from the
 * topology's bitmaps: those of the node that are usable and allowed, less
 * any held by another reservation, which only the CPUs left are looked up
 * for.  The words run from the node's first CPU to its last.  Returns
 * whether it added any; *@usable_seen as gs_add_free_cpu().
 */
static bool gs_add_free_node_words(const struct gs_topology *topo,
				   const struct gs_cpu_filter *filter, unsigned long *set,
				   u32 node, bool *usable_seen)
{
	u32 words = gs_bitmap_words(topo->nr_cpus);
	const unsigned long *mask = topo->node_masks + (size_t)node * words;
	const unsigned long *usable = topo->usable_cpus;
	u32 word, last, bit, first = topo->node_start[node];
	unsigned long take, left;
	bool found = false;

	if (first == topo->node_start[node + 1])
		return false;
	last = topo->node_cpus[topo->node_start[node + 1] - 1] / GS_BITS_PER_WORD;
	for (word = topo->node_cpus[first] / GS_BITS_PER_WORD; word <= last; word++) {
		take = mask[word] & usable[word] & filter->allowed[word];
		if (!take)
			continue;
		*usable_seen = true;
		for (left = take; left; left &= left - 1) {
			bit = __builtin_ctzl(left);
			if (gs_cpu_held_by_other(filter, word * GS_BITS_PER_WORD + bit))
				take &= ~(1UL << bit);
		}
		set[word] |= take;
		found |= take != 0;
	}
	return found;
}

/* node and socket: one set for all workers, every free CPU of the node or its packages. */
static u32 gs_fill_cpu_set(struct gs_placer *placer, u32 node, bool whole_packages,
			   bool *usable_seen)
{
	const struct gs_topology *topo = placer->topo;
	unsigned long *set = gs_worker_cpus(placer->out, topo->nr_cpus, 0);
	const u32 *core_marks = placer->ws->core_marks;
	u32 cpu, position, end, found = 0;
	struct gs_cpu_filter filter;
	bool usable = false;

	gs_cpu_filter_init(placer, &filter);
	if (whole_packages) {
		gs_flag_packages(placer, node, true);
		for (cpu = 0, end = topo->nr_cpus; cpu < end; cpu++) {
			if (core_marks[filter.cpus[cpu].package] & GS_MARK_PACKAGE)
				found += gs_add_free_cpu(&filter, set, cpu, &usable);
		}
		gs_flag_packages(placer, node, false);
	} else if (topo->node_masks) {
		found = gs_add_free_node_words(topo, &filter, set, node, &usable);
	} else {
		const u32 *node_cpus = topo->node_cpus;

		end = topo->node_start[node + 1];
		for (position = topo->node_start[node]; position < end; position++)
			found += gs_add_free_cpu(&filter, set, node_cpus[position], &usable);
	}
	if (usable)
		*usable_seen = true;
	if (!found)
		return 0;
	placer->out->worker_node[0] = node;
	gs_repeat_workers(placer, 1);
	return 1;
}

/* single: one free core per worker, in walk order, round-robin when short. */
static u32 gs_fill_cores(struct gs_placer *placer, u32 node, u32 start, bool *usable_seen)
{
	u32 core, marks, units = 0;
	struct gs_core_walk walk;

	gs_core_walk_init(placer, &walk, node, start);
	while (units < placer->req->nr_workers &&
	       gs_core_walk_next(placer->topo, &walk, &core)) {
		marks = gs_marks(placer, core);
		if (marks & GS_MARK_USABLE)
			*usable_seen = true;
		if (!(marks & GS_MARK_FREE))
			continue;
		placer->out->worker_node[units] = node;
		gs_set_seq(placer, core, ++units);
	}
	if (!units)
		return 0;
	gs_write_cores(placer);
	gs_repeat_workers(placer, units);
	return units;
}

/*
 * l3: one cache per worker.  Caches are ranked by the first core the walk
 * meets in them, so distinct workers get distinct caches while there are
 * enough, and only then share them round-robin.
 */
static u32 gs_fill_caches(struct gs_placer *placer, u32 node, u32 start, bool *usable_seen)
{
	const struct gs_topology *topo = placer->topo;
	u32 core, cpu, llc, seq, marks, position, units = 0;
	struct gs_cpu_filter filter;
	struct gs_core_walk walk;

	gs_core_walk_init(placer, &walk, node, start);
	while (units < placer->req->nr_workers && gs_core_walk_next(topo, &walk, &core)) {
		marks = gs_marks(placer, core);
		llc = topo->cpus[core].llc;
		gs_mark_node(placer, topo->cpus[llc].node);
		if (marks & GS_MARK_USABLE)
			*usable_seen = true;
		if (!(marks & GS_MARK_FREE) || gs_seq(placer, llc))
			continue;
		placer->out->worker_node[units] = node;
		gs_set_seq(placer, llc, ++units);
	}
	if (!units)
		return 0;
	/* A cache can span nodes (sub-NUMA clustering); keep to this node's part. */
	gs_cpu_filter_init(placer, &filter);
	for (position = topo->node_start[node]; position < topo->node_start[node + 1];
	     position++) {
		cpu = topo->node_cpus[position];
		llc = topo->cpus[cpu].llc;
		gs_mark_node(placer, topo->cpus[llc].node);
		seq = gs_seq(placer, llc);
		if (seq && gs_cpu_free(&filter, cpu))
			gs_bit_set(gs_worker_cpus(placer->out, topo->nr_cpus, seq - 1), cpu);
	}
	gs_repeat_workers(placer, units);
	return units;
}

static u32 gs_fill_from_node(struct gs_placer *placer, u32 node, u32 start, bool *usable_seen)
{
	switch (placer->req->policy) {
	case GS_POLICY_NODE:
		return gs_fill_cpu_set(placer, node, false, usable_seen);
	case GS_POLICY_SOCKET:
		return gs_fill_cpu_set(placer, node, true, usable_seen);
	case GS_POLICY_L3:
		return gs_fill_caches(placer, node, start, usable_seen);
	default:
		return gs_fill_cores(placer, node, start, usable_seen);
	}
}

/*
 * The shared policies take the first node in spill order that has anything
 * free; without GS_REQUEST_SPILL that is the home node or nothing.
 */
static int gs_place_shared(struct gs_placer *placer)
{
	const struct gs_topology *topo = placer->topo;
	bool usable_seen = false;
	struct gs_share share = { 0 };
	u32 node, start;

	/* Only the walks of l3 and single start in the GPU's block of cores. */
	if (placer->req->policy == GS_POLICY_L3 || placer->req->policy == GS_POLICY_SINGLE)
		gs_gpu_share(placer, &share);
	for (node = placer->home; node < topo->nr_nodes;
	     node = gs_next_node(topo, placer->origin, node)) {
		start = node == placer->home ? share.start : 0;
		if (gs_fill_from_node(placer, node, start, &usable_seen))
			return gs_placed(placer);
		if (!(placer->req->flags & GS_REQUEST_SPILL))
			break;
	}
	return gs_no_space(placer, usable_seen ? GS_REASON_CPUS_HELD : GS_REASON_NO_USABLE_CPUS);
}

static int gs_check_arguments(const struct gs_placer *placer)
{
	const struct gs_topology *topo = placer->topo;
	struct gs_placement *out = placer->out;

	if (!topo || !placer->resv || !placer->req || !placer->ws || !out->worker_cpus ||
	    !out->worker_node || !placer->req->allowed_cpus || !placer->resv->holds ||
	    !placer->ws->core_marks || !placer->ws->node_marks)
		return gs_fail(&out->error, GS_REASON_ARGUMENT, 0, -EINVAL);
	if (placer->resv->nr_cpus != topo->nr_cpus || placer->ws->nr_cpus < topo->nr_cpus ||
	    placer->ws->nr_nodes < topo->nr_nodes)
		return gs_fail(&out->error, GS_REASON_SIZE_MISMATCH, 0, -EINVAL);
	return 0;
}

static int gs_check_request(const struct gs_placer *placer, bool reserving)
{
	const struct gs_request *req = placer->req;
	struct gs_error *error = &placer->out->error;

	if (req->policy < GS_POLICY_NODE || req->policy > GS_POLICY_SINGLE)
		return gs_fail(error, GS_REASON_POLICY, req->policy, -EINVAL);
	if (req->flags & ~GS_REQUEST_FLAGS)
		return gs_fail(error, GS_REASON_FLAGS, req->flags, -EINVAL);
	if (!req->nr_workers || req->nr_workers > GS_MAX_WORKERS)
		return gs_fail(error, GS_REASON_WORKERS, req->nr_workers, -EINVAL);
	if (req->cores_per_worker &&
	    (req->policy != GS_POLICY_EXCLUSIVE || req->cores_per_worker > placer->topo->nr_cpus))
		return gs_fail(error, GS_REASON_CORES_PER_WORKER, req->cores_per_worker, -EINVAL);
	if (reserving && req->policy == GS_POLICY_EXCLUSIVE && !req->reservation_id)
		return gs_fail(error, GS_REASON_RESERVATION_ID, 0, -EINVAL);
	if (req->gpu >= placer->topo->nr_gpus)
		return gs_fail(error, GS_REASON_NO_SUCH_GPU, req->gpu, -ENODEV);
	if (req->nr_workers > placer->out->max_workers)
		return gs_fail(error, GS_REASON_OUTPUT_TOO_SMALL, req->nr_workers, -EMSGSIZE);
	return 0;
}

static int gs_run(struct gs_placer *placer, bool reserving)
{
	const struct gs_topology *topo;
	u32 worker, node;
	int err;

	placer->out->nr_workers = 0;
	placer->out->nr_spilled = 0;
	placer->out->gpu_node = 0;
	err = gs_check_arguments(placer);
	if (!err)
		err = gs_check_request(placer, reserving);
	if (err)
		return err;

	topo = placer->topo;
	for (worker = 0; worker < placer->req->nr_workers; worker++)
		gs_map_zero(gs_worker_cpus(placer->out, topo->nr_cpus, worker), topo->nr_cpus);
	for (node = 0; node < topo->nr_nodes; node++)
		placer->ws->node_marks[node] = 0;
	placer->origin = topo->gpus[placer->req->gpu].cpu_node;
	placer->home = gs_home_node(topo, placer->req->gpu);
	placer->out->gpu_node = placer->home;
	if (placer->req->policy == GS_POLICY_EXCLUSIVE)
		return gs_place_exclusive(placer);
	return gs_place_shared(placer);
}

/**
 * gs_place() - compute a placement without changing any reservation
 * @topo: a topology that passed gs_topology_validate()
 * @resv: the reservations in force
 * @req: the request
 * @ws: a workspace sized for @topo
 * @out: where the workers' CPU sets go; @out->error says why a call failed
 *
 * This answers "what would happen": gs_reserve() with the same arguments
 * places the workers identically.
 *
 * Context: Any context; the caller serialises against writers of @resv.
 * Return: 0 on success; -EINVAL for a bad argument or request, -ENODEV for
 * a GPU that does not exist, -EMSGSIZE if @out has room for fewer workers
 * than requested (@out->error.subject is the count needed), -ENOSPC if the
 * CPUs are not there.
 */
int gs_place(const struct gs_topology *topo, const struct gs_reservations *resv,
	     const struct gs_request *req, struct gs_workspace *ws,
	     struct gs_placement *out)
{
	struct gs_placer placer = {
		.topo = topo, .resv = resv, .req = req, .ws = ws, .out = out,
	};

	if (!out)
		return -EINVAL;
	return gs_run(&placer, false);
}

/**
 * gs_reserve() - place workers and hold exclusive cores for them
 * @topo: a topology that passed gs_topology_validate()
 * @resv: the reservations in force; updated on success
 * @req: the request; an exclusive one needs a non-zero reservation_id
 * @ws: a workspace sized for @topo
 * @out: where the workers' CPU sets go; @out->error says why a call failed
 *
 * For %GS_POLICY_EXCLUSIVE every CPU of every granted core is recorded
 * under @req->reservation_id and @req->gpu, including siblings the workers
 * cannot use, so that no other exclusive worker shares those cores.  The
 * shared policies record nothing and behave exactly like gs_place().
 * Calling again with the same id adds to that reservation.
 *
 * Context: Any context; the caller serialises all users of @resv.
 * Return: as gs_place(), plus -EINVAL for an exclusive request with id 0.
 * On failure @resv is unchanged.
 */
int gs_reserve(const struct gs_topology *topo, struct gs_reservations *resv,
	       const struct gs_request *req, struct gs_workspace *ws,
	       struct gs_placement *out)
{
	struct gs_placer placer = {
		.topo = topo, .resv = resv, .req = req, .ws = ws, .out = out,
	};

	if (!out)
		return -EINVAL;
	/* The holds are written with the workers' CPUs, once placing has succeeded. */
	if (req && req->policy == GS_POLICY_EXCLUSIVE && resv)
		placer.hold = resv->holds;
	return gs_run(&placer, true);
}
