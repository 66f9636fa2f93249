// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the placement engine.  The input bytes describe a
 * small machine (CPUs grouped into cores, caches, packages and nodes, node
 * distances, GPUs), usually consistent and sometimes deliberately not, then
 * a sequence of reserve, plan, release and hotplug operations.  Every
 * snapshot goes through gs_topology_validate(); a valid one is driven
 * through the sequence and the engine's promises are checked after each
 * step: workers only get usable CPUs, local ones unless spilling was
 * allowed; exclusive cores are whole, disjoint and never double-booked; a
 * GPU never takes more than its share of its node; planning and reserving
 * agree; failures change nothing; release returns exactly what was taken.
 * A broken promise aborts, which libFuzzer reports as a crash.
 *
 * Build: clang -std=c11 -g -fsanitize=fuzzer,address,undefined -I kmod
 *        userspace/tests/fuzz_placement.c kmod/placement.c
 *        kmod/placement_topology.c -o fuzz_placement
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

/* Over two words of 64 bits, so that nodes span words and the last is partial. */
#define FUZZ_MAX_CPUS		160u
#define FUZZ_MAX_NODES		6u
#define FUZZ_MAX_GPUS		8u
#define FUZZ_MAX_WORKERS	12u
#define FUZZ_MAX_STEPS		48u
#define FUZZ_NR_IDS		4u
#define FUZZ_WORDS		((FUZZ_MAX_CPUS + GS_BITS_PER_WORD - 1) / GS_BITS_PER_WORD)

#define PROMISE(cond, what)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "broken promise: %s\n", what);	\
			abort();					\
		}							\
	} while (0)

struct bytes {
	const uint8_t *next;
	size_t left;
};

/* Everything the engine works on, in fixed static storage (libFuzzer runs one input at a time). */
static struct {
	struct gs_cpu cpus[FUZZ_MAX_CPUS];
	uint32_t distance[FUZZ_MAX_NODES * FUZZ_MAX_NODES];
	struct gs_gpu gpus[FUZZ_MAX_GPUS];
	uint32_t index[FUZZ_MAX_CPUS + FUZZ_MAX_NODES + 1];
	unsigned long masks[(FUZZ_MAX_NODES + 1) * FUZZ_WORDS];
	struct gs_topology topo;
	struct gs_hold holds[FUZZ_MAX_CPUS], before[FUZZ_MAX_CPUS];
	struct gs_reservations resv;
	uint32_t scratch[FUZZ_MAX_CPUS + FUZZ_MAX_NODES];
	struct gs_workspace ws;
	unsigned long allowed[FUZZ_WORDS], released[FUZZ_WORDS];
	unsigned long taken[FUZZ_NR_IDS + 1][FUZZ_WORDS];
	unsigned long worker_cpus[FUZZ_MAX_WORKERS * FUZZ_WORDS];
	unsigned long plan_cpus[FUZZ_MAX_WORKERS * FUZZ_WORDS];
	uint32_t worker_node[FUZZ_MAX_WORKERS], plan_node[FUZZ_MAX_WORKERS];
	uint32_t core_owner[FUZZ_MAX_CPUS];
	struct gs_placement out;
} fz;

static uint32_t take(struct bytes *in, uint32_t bound)
{
	uint32_t value;

	if (!in->left)
		return 0;
	value = *in->next++;
	in->left--;
	return bound ? value % bound : value;
}

/* A CPU either starts a core or joins a recent one; groups are named by their lowest CPU. */
static void build_cpu(struct bytes *in, uint32_t cpu)
{
	struct gs_cpu *this = &fz.cpus[cpu];
	uint32_t shape = take(in, 0);
	uint32_t flags = (shape & 0x30) ? GS_CPU_ONLINE : 0;

	if (shape & 0x40)
		flags |= GS_CPU_HOUSEKEEPING;
	if (cpu && (shape & 3)) {
		*this = fz.cpus[fz.cpus[cpu - 1 - take(in, cpu < 4 ? cpu : 4)].core];
		this->flags = flags;
		return;
	}
	this->core = cpu;
	this->node = take(in, fz.topo.nr_nodes);
	this->package = cpu && (shape & 4) ? fz.cpus[cpu - 1].package : cpu;
	this->llc = cpu && (shape & 8) ? fz.cpus[cpu - 1].llc : cpu;
	this->flags = flags;
}

/* Now and then one field gets an arbitrary value, to exercise the validator. */
static void maybe_corrupt(struct bytes *in)
{
	uint32_t what = take(in, 0), value = take(in, 0) % 80;
	struct gs_cpu *cpu = &fz.cpus[take(in, fz.topo.nr_cpus)];

	switch (what) {
	case 0: cpu->core = value; break;
	case 1: cpu->package = value; break;
	case 2: cpu->llc = value; break;
	case 3: cpu->node = value % 8; break;
	case 4: cpu->flags = value; break;
	case 5: fz.distance[take(in, fz.topo.nr_nodes * fz.topo.nr_nodes)] = value * 4; break;
	case 6: fz.gpus[take(in, FUZZ_MAX_GPUS)].cpu_node = value % 8; break;
	case 7: fz.gpus[take(in, FUZZ_MAX_GPUS)].mem_node = value % 8; break;
	default: break;
	}
}

/* Now and then the node index gets an arbitrary entry too. */
static void maybe_corrupt_index(struct bytes *in)
{
	uint32_t words = gs_topology_index_words(fz.topo.nr_cpus, fz.topo.nr_nodes);

	if (!take(in, 16))
		fz.index[take(in, words)] = take(in, FUZZ_MAX_CPUS + 1);
}

static void build_machine(struct bytes *in)
{
	uint32_t cpu, from, to, gpu, n;

	fz.topo.nr_cpus = 1 + take(in, FUZZ_MAX_CPUS);
	fz.topo.nr_nodes = 1 + take(in, FUZZ_MAX_NODES);
	fz.topo.nr_gpus = take(in, FUZZ_MAX_GPUS + 1);
	fz.topo.cpus = fz.cpus;
	fz.topo.distance = fz.distance;
	fz.topo.gpus = fz.gpus;
	n = fz.topo.nr_nodes;
	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++)
		build_cpu(in, cpu);
	for (from = 0; from < n; from++)
		for (to = 0; to < n; to++)
			fz.distance[from * n + to] = from == to ? 10 : 11 + take(in, 40);
	for (gpu = 0; gpu < FUZZ_MAX_GPUS; gpu++) {
		fz.gpus[gpu].cpu_node = take(in, n);
		fz.gpus[gpu].mem_node = take(in, n);
	}
	maybe_corrupt(in);
	gs_topology_index(&fz.topo, fz.index);
	maybe_corrupt_index(in);
	/* Half the machines have the bitmaps: gs_reserve() then places node from them. */
	fz.topo.node_masks = NULL;
	fz.topo.usable_cpus = NULL;
	if (take(in, 2)) {
		gs_topology_masks(&fz.topo, fz.masks);
		if (!take(in, 16))
			fz.masks[take(in, gs_topology_masks_words(fz.topo.nr_cpus,
								  fz.topo.nr_nodes))] ^=
				1UL << take(in, GS_BITS_PER_WORD);
	}
	gs_reservations_init(&fz.resv, fz.holds, fz.topo.nr_cpus);
	gs_workspace_init(&fz.ws, fz.scratch, fz.topo.nr_cpus, fz.topo.nr_nodes);
	memset(fz.taken, 0, sizeof(fz.taken));
	fz.out = (struct gs_placement){ .max_workers = FUZZ_MAX_WORKERS,
					.worker_cpus = fz.worker_cpus,
					.worker_node = fz.worker_node };
}

static bool usable(uint32_t cpu)
{
	uint32_t flags = fz.cpus[cpu].flags;

	return (flags & GS_CPU_ONLINE) && !(flags & GS_CPU_HOUSEKEEPING) &&
	       gs_bit_test(fz.allowed, cpu);
}

static unsigned long *worker_set(uint32_t worker)
{
	return gs_worker_cpus(&fz.out, fz.topo.nr_cpus, worker);
}

/* A core whose CPU @cpu is in: held before the call, by anyone. */
static bool core_was_held(uint32_t cpu)
{
	uint32_t other;

	for (other = 0; other < fz.topo.nr_cpus; other++)
		if (fz.cpus[other].core == fz.cpus[cpu].core && fz.before[other].reservation)
			return true;
	return false;
}

static bool core_has_housekeeping(uint32_t cpu)
{
	uint32_t other;

	for (other = 0; other < fz.topo.nr_cpus; other++)
		if (fz.cpus[other].core == fz.cpus[cpu].core &&
		    (fz.cpus[other].flags & GS_CPU_HOUSEKEEPING))
			return true;
	return false;
}

static bool core_capable(uint32_t core)
{
	uint32_t cpu;
	bool online = false;

	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
		if (fz.cpus[cpu].core != core)
			continue;
		online |= (fz.cpus[cpu].flags & GS_CPU_ONLINE) != 0;
		if (fz.cpus[cpu].flags & GS_CPU_HOUSEKEEPING)
			return false;
	}
	return online;
}

/* The GPU's share of its home node's capable cores, and how many it holds there. */
static void gpu_share(uint32_t gpu, uint32_t home, const struct gs_hold *holds,
		      uint32_t *quota, uint32_t *held)
{
	uint32_t other, local = 0, rank = 0, capable = 0, core;

	for (other = 0; other < fz.topo.nr_gpus; other++) {
		if (gs_gpu_cpu_node(&fz.topo, &fz.ws, other) != (int)home)
			continue;
		local++;
		rank += other < gpu;
	}
	*held = 0;
	for (core = 0; core < fz.topo.nr_cpus; core++) {
		if (fz.cpus[core].core != core || fz.cpus[core].node != home || !core_capable(core))
			continue;
		capable++;
		*held += holds[core].reservation && holds[core].gpu == gpu;
	}
	*quota = capable / local + (rank < capable % local);
}

/* What validation let through: each node's CPUs, in order, in its run of the index. */
static void check_index(void)
{
	uint32_t node, cpu, position;

	for (node = 0; node < fz.topo.nr_nodes; node++) {
		position = fz.topo.node_start[node];
		for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
			if (fz.cpus[cpu].node != node)
				continue;
			PROMISE(position < fz.topo.node_start[node + 1] &&
				fz.topo.node_cpus[position] == cpu,
				"a valid index lists each node's CPUs in order");
			position++;
		}
		PROMISE(position == fz.topo.node_start[node + 1],
			"a valid index lists nothing else");
	}
}

static void check_gpu_homes(void)
{
	uint32_t gpu, cpu, origin;
	int home;

	for (gpu = 0; gpu < fz.topo.nr_gpus; gpu++) {
		home = gs_gpu_cpu_node(&fz.topo, &fz.ws, gpu);
		PROMISE(home >= 0 && (uint32_t)home < fz.topo.nr_nodes, "GPU home in range");
		origin = fz.gpus[gpu].cpu_node;
		for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
			uint32_t node = fz.cpus[cpu].node;
			uint32_t d = fz.distance[origin * fz.topo.nr_nodes + node];
			uint32_t d_home = fz.distance[origin * fz.topo.nr_nodes + home];

			PROMISE(d > d_home || (d == d_home && node >= (uint32_t)home),
				"GPU home is the nearest node with CPUs, lowest id on ties");
		}
	}
	PROMISE(gs_gpu_cpu_node(&fz.topo, &fz.ws, fz.topo.nr_gpus) == -ENODEV,
		"a GPU past the last is -ENODEV");
}

static void check_exclusive(const struct gs_request *req)
{
	uint32_t worker, cpu, core, quota, held_before, held_after;
	uint32_t home = fz.out.gpu_node;

	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++)
		fz.core_owner[cpu] = UINT32_MAX;
	for (worker = 0; worker < req->nr_workers; worker++) {
		for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
			if (!gs_bit_test(worker_set(worker), cpu))
				continue;
			core = fz.cpus[cpu].core;
			PROMISE(!core_was_held(cpu), "exclusive core was free before");
			PROMISE(!core_has_housekeeping(cpu), "exclusive core has no housekeeping CPU");
			PROMISE(fz.core_owner[core] == UINT32_MAX || fz.core_owner[core] == worker,
				"a core goes to one worker");
			fz.core_owner[core] = worker;
		}
	}
	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
		worker = fz.core_owner[fz.cpus[cpu].core];
		if (worker == UINT32_MAX) {
			PROMISE(fz.holds[cpu].reservation == fz.before[cpu].reservation,
				"holds outside the granted cores are unchanged");
			continue;
		}
		PROMISE(fz.holds[cpu].reservation == req->reservation_id &&
			fz.holds[cpu].gpu == req->gpu, "every CPU of a granted core is held");
		PROMISE(!usable(cpu) || gs_bit_test(worker_set(worker), cpu),
			"usable SMT siblings stay together");
		gs_bit_set(fz.taken[req->reservation_id], cpu);
	}
	gpu_share(req->gpu, home, fz.before, &quota, &held_before);
	gpu_share(req->gpu, home, fz.holds, &quota, &held_after);
	PROMISE(held_after <= (held_before > quota ? held_before : quota),
		"a GPU never grows past its share of its node");
}

static void check_placed(const struct gs_request *req)
{
	uint32_t worker, cpu, group, first;
	bool spill = req->flags & GS_REQUEST_SPILL;

	PROMISE(fz.out.nr_workers == req->nr_workers, "every worker placed");
	for (worker = 0; worker < req->nr_workers; worker++) {
		first = UINT32_MAX;
		for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
			if (!gs_bit_test(worker_set(worker), cpu))
				continue;
			if (first == UINT32_MAX)
				first = cpu;
			PROMISE(usable(cpu), "workers get usable CPUs only");
			PROMISE(!fz.before[cpu].reservation ||
				fz.before[cpu].reservation == req->reservation_id,
				"workers never get CPUs another reservation holds");
			PROMISE(spill || req->policy == GS_POLICY_SOCKET ||
				fz.cpus[cpu].node == fz.out.gpu_node,
				"CPUs are local unless spilling was allowed");
			group = req->policy == GS_POLICY_L3 ? fz.cpus[cpu].llc : fz.cpus[cpu].core;
			if (req->policy == GS_POLICY_L3 || req->policy == GS_POLICY_SINGLE)
				PROMISE(group == (req->policy == GS_POLICY_L3 ?
						  fz.cpus[first].llc : fz.cpus[first].core) &&
					fz.cpus[cpu].node == fz.cpus[first].node,
					"l3/single workers stay in one cache or core on one node");
		}
		PROMISE(first != UINT32_MAX, "no worker is left without CPUs");
		PROMISE(spill || fz.worker_node[worker] == fz.out.gpu_node,
			"worker nodes are local unless spilling was allowed");
	}
	if (req->policy == GS_POLICY_EXCLUSIVE)
		check_exclusive(req);
	else
		PROMISE(!memcmp(fz.before, fz.holds, sizeof(fz.holds[0]) * fz.topo.nr_cpus),
			"shared policies reserve nothing");
}

static void random_allowed(struct bytes *in)
{
	uint32_t cpu, mode = take(in, 4), node = take(in, fz.topo.nr_nodes);

	gs_map_zero(fz.allowed, fz.topo.nr_cpus);
	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
		if (mode < 2 || (mode == 2 && fz.cpus[cpu].node == node) ||
		    (mode == 3 && take(in, 4)))
			gs_bit_set(fz.allowed, cpu);
	}
}

static void step_request(struct bytes *in)
{
	size_t set_bytes = gs_bitmap_words(fz.topo.nr_cpus) * sizeof(unsigned long);
	struct gs_topology plain = fz.topo;
	struct gs_request req;
	struct gs_error why;
	int planned, err;

	random_allowed(in);
	req = (struct gs_request){
		.policy = take(in, GS_POLICY_SINGLE + 2),
		.gpu = take(in, fz.topo.nr_gpus + 1),
		.nr_workers = take(in, FUZZ_MAX_WORKERS + 2),
		.cores_per_worker = take(in, 4) == 3 ? take(in, 4) : 0,
		.flags = take(in, 8) == 7 ? 2 : take(in, 2),
		.reservation_id = take(in, FUZZ_NR_IDS + 1),
		.allowed_cpus = fz.allowed,
	};
	memcpy(fz.before, fz.holds, sizeof(fz.holds[0]) * fz.topo.nr_cpus);
	/* Planned CPU by CPU: the plan must be what gets reserved with the bitmaps too. */
	plain.node_masks = NULL;
	plain.usable_cpus = NULL;
	planned = gs_place(&plain, &fz.resv, &req, &fz.ws, &fz.out);
	why = fz.out.error;
	PROMISE(!memcmp(fz.before, fz.holds, sizeof(fz.holds[0]) * fz.topo.nr_cpus),
		"planning changes nothing");
	if (!planned) {
		memcpy(fz.plan_cpus, fz.worker_cpus, req.nr_workers * set_bytes);
		memcpy(fz.plan_node, fz.worker_node, req.nr_workers * sizeof(uint32_t));
	}
	err = gs_reserve(&fz.topo, &fz.resv, &req, &fz.ws, &fz.out);
	PROMISE(err == 0 || err == -EINVAL || err == -ENODEV || err == -EMSGSIZE ||
		err == -ENOSPC, "only the documented errnos");
	PROMISE((err == 0) == (fz.out.error.reason == GS_REASON_NONE) &&
		fz.out.error.reason < GS_NR_REASONS, "a reason exactly when failing");
	PROMISE(err == planned || (err == -EINVAL && !req.reservation_id &&
				   req.policy == GS_POLICY_EXCLUSIVE),
		"gs_place and gs_reserve agree");
	PROMISE(err != planned || (fz.out.error.reason == why.reason &&
				   fz.out.error.subject == why.subject),
		"gs_place and gs_reserve give the same reason");
	if (err) {
		PROMISE(!memcmp(fz.before, fz.holds, sizeof(fz.holds[0]) * fz.topo.nr_cpus),
			"a failed call changes nothing");
		PROMISE(fz.out.nr_workers == 0, "a failed call places nobody");
		return;
	}
	PROMISE(!memcmp(fz.plan_cpus, fz.worker_cpus, req.nr_workers * set_bytes) &&
		!memcmp(fz.plan_node, fz.worker_node, req.nr_workers * sizeof(uint32_t)),
		"the plan is what gets reserved");
	check_placed(&req);
}

static void step_release(struct bytes *in)
{
	uint32_t id = take(in, FUZZ_NR_IDS + 1), count, cpu, weight = 0;

	count = gs_release(&fz.resv, id, fz.released);
	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
		PROMISE(gs_bit_test(fz.released, cpu) == gs_bit_test(fz.taken[id], cpu),
			"release returns exactly what was taken");
		weight += gs_bit_test(fz.released, cpu);
	}
	PROMISE(count == weight && (id || !count), "release counts what it returns");
	memset(fz.taken[id], 0, sizeof(fz.taken[id]));
}

static void step_hotplug(struct bytes *in)
{
	uint32_t cpu = take(in, fz.topo.nr_cpus);

	fz.cpus[cpu].flags ^= take(in, 2) ? GS_CPU_ONLINE : GS_CPU_HOUSEKEEPING;
	if (fz.topo.node_masks)
		gs_topology_masks(&fz.topo, fz.masks);
	PROMISE(gs_topology_validate(&fz.topo, NULL) == 0, "flag changes keep a snapshot valid");
}

/* Cores are held whole, by one reservation, exactly as the reservations took them. */
static void check_table(void)
{
	uint32_t cpu, id, holder;

	for (cpu = 0; cpu < fz.topo.nr_cpus; cpu++) {
		holder = fz.holds[cpu].reservation;
		PROMISE(holder == fz.holds[fz.cpus[cpu].core].reservation,
			"no core is double-booked or held in part");
		for (id = 1; id <= FUZZ_NR_IDS; id++)
			PROMISE(gs_bit_test(fz.taken[id], cpu) == (holder == id),
				"the table holds what the reservations took");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytes in = { data, size };
	struct gs_error error = { 0, 0 };
	uint32_t step, op;
	int err;

	build_machine(&in);
	err = gs_topology_validate(&fz.topo, &error);
	PROMISE(err == 0 || err == -EINVAL, "validation answers 0 or -EINVAL");
	PROMISE((err == 0) == (error.reason == GS_REASON_NONE) && error.reason < GS_NR_REASONS,
		"validation gives a reason exactly when it fails");
	if (err)
		return 0;
	check_index();
	check_gpu_homes();
	for (step = 0; step < FUZZ_MAX_STEPS && in.left; step++) {
		op = take(&in, 8);
		if (op < 5)
			step_request(&in);
		else if (op < 7)
			step_release(&in);
		else
			step_hotplug(&in);
		check_table();
	}
	return 0;
}
