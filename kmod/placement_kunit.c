// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the placement engine, run inside the kernel it serves
 * (the debug guest kernel has KASAN and lockdep).  Built into the test
 * module gpusched_kunit.ko together with placement.c itself (see
 * gpusched_kunit.c), so that it reaches the engine exactly as gpusched.ko
 * links it.  The userspace tests
 * (userspace/tests/test_placement.c) cover every rule in depth; this suite
 * checks, on the same kinds of synthetic machines, the properties the
 * module depends on: shares are balanced and disjoint, GPU nodes need not be
 * linear, memory-only GPU nodes use the nearest node, offline and
 * housekeeping CPUs are never given, random requests keep the reservation
 * table consistent, and inconsistent snapshots are refused.
 */
#include <kunit/test.h>
#include <linux/random.h>

/* A synthetic machine and every table the engine needs, test-managed. */
struct gs_test_machine {
	struct gs_topology topo;
	struct gs_cpu *cpus;
	u32 *distance;
	struct gs_gpu *gpus;
	u32 *index;
	struct gs_reservations resv;
	struct gs_workspace ws;
	unsigned long *worker_cpus;
	u32 worker_node;
	struct gs_placement out;
	unsigned long *allowed;
};

/*
 * @packages x @nodes_per_package nodes of @cores_per_node cores of @threads
 * threads; with @siblings_far, CPU c's sibling is c + number of cores, as
 * Linux numbers Intel and AMD machines.  @gpu_nodes[i] is GPU i's node.
 */
static struct gs_test_machine *gs_test_machine(struct kunit *test, u32 packages,
					       u32 nodes_per_package, u32 cores_per_node,
					       u32 threads, bool siblings_far, u32 nr_gpus,
					       const u32 *gpu_nodes)
{
	u32 nr_nodes = packages * nodes_per_package;
	u32 nr_cores = nr_nodes * cores_per_node;
	u32 nr_cpus = nr_cores * threads;
	u32 cores_per_package = nodes_per_package * cores_per_node;
	struct gs_test_machine *m;
	u32 core, thread, a, b, gpu;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->cpus = kunit_kcalloc(test, nr_cpus, sizeof(*m->cpus), GFP_KERNEL);
	m->distance = kunit_kcalloc(test, nr_nodes * nr_nodes, sizeof(u32), GFP_KERNEL);
	m->gpus = kunit_kcalloc(test, nr_gpus, sizeof(*m->gpus), GFP_KERNEL);
	m->index = kunit_kcalloc(test, gs_topology_index_words(nr_cpus, nr_nodes), sizeof(u32),
				 GFP_KERNEL);
	m->resv.holds = kunit_kcalloc(test, nr_cpus, sizeof(struct gs_hold), GFP_KERNEL);
	m->ws.core_marks = kunit_kcalloc(test, gs_workspace_words(nr_cpus, nr_nodes),
					 sizeof(u32), GFP_KERNEL);
	m->worker_cpus = kunit_kcalloc(test, gs_bitmap_words(nr_cpus), sizeof(long),
				       GFP_KERNEL);
	m->allowed = kunit_kcalloc(test, gs_bitmap_words(nr_cpus), sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->cpus);
	KUNIT_ASSERT_NOT_NULL(test, m->distance);
	KUNIT_ASSERT_NOT_NULL(test, m->gpus);
	KUNIT_ASSERT_NOT_NULL(test, m->index);
	KUNIT_ASSERT_NOT_NULL(test, m->resv.holds);
	KUNIT_ASSERT_NOT_NULL(test, m->ws.core_marks);
	KUNIT_ASSERT_NOT_NULL(test, m->worker_cpus);
	KUNIT_ASSERT_NOT_NULL(test, m->allowed);

	for (core = 0; core < nr_cores; core++) {
		u32 first = siblings_far ? core : core * threads;
		u32 package_first = core / cores_per_package * cores_per_package;

		if (!siblings_far)
			package_first *= threads;
		for (thread = 0; thread < threads; thread++) {
			u32 cpu = siblings_far ? core + thread * nr_cores : first + thread;

			m->cpus[cpu].core = first;
			m->cpus[cpu].package = package_first;
			m->cpus[cpu].llc = package_first;
			m->cpus[cpu].node = core / cores_per_node;
			m->cpus[cpu].flags = GS_CPU_ONLINE;
		}
	}
	for (a = 0; a < nr_nodes; a++)
		for (b = 0; b < nr_nodes; b++)
			m->distance[a * nr_nodes + b] = a == b ? 10 :
				a / nodes_per_package == b / nodes_per_package ? 12 : 32;
	for (gpu = 0; gpu < nr_gpus; gpu++) {
		m->gpus[gpu].cpu_node = gpu_nodes[gpu];
		m->gpus[gpu].mem_node = gpu_nodes[gpu];
	}

	m->topo.nr_cpus = nr_cpus;
	m->topo.nr_nodes = nr_nodes;
	m->topo.nr_gpus = nr_gpus;
	m->topo.cpus = m->cpus;
	m->topo.distance = m->distance;
	m->topo.gpus = m->gpus;
	gs_topology_index(&m->topo, m->index);
	gs_reservations_init(&m->resv, m->resv.holds, nr_cpus);
	gs_workspace_init(&m->ws, m->ws.core_marks, nr_cpus, nr_nodes);
	m->out.max_workers = 1;
	m->out.worker_cpus = m->worker_cpus;
	m->out.worker_node = &m->worker_node;
	for (a = 0; a < nr_cpus; a++)
		gs_bit_set(m->allowed, a);
	return m;
}

static int gs_test_reserve(struct gs_test_machine *m, u32 gpu, u32 policy, u32 id)
{
	struct gs_request req = {
		.gpu = gpu,
		.policy = policy,
		.nr_workers = 1,
		.reservation_id = id,
		.allowed_cpus = m->allowed,
	};

	return gs_reserve(&m->topo, &m->resv, &req, &m->ws, &m->out);
}

static u32 gs_test_weight(const struct gs_test_machine *m)
{
	u32 cpu, weight = 0;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		weight += gs_bit_test(m->worker_cpus, cpu);
	return weight;
}

/* Every chosen CPU is on @node, and its SMT siblings were chosen with it. */
static void gs_expect_local_whole_cores(struct kunit *test, const struct gs_test_machine *m,
					u32 node)
{
	u32 cpu, sibling;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		if (!gs_bit_test(m->worker_cpus, cpu))
			continue;
		KUNIT_EXPECT_EQ(test, m->cpus[cpu].node, node);
		for (sibling = 0; sibling < m->topo.nr_cpus; sibling++)
			if (m->cpus[sibling].core == m->cpus[cpu].core)
				KUNIT_EXPECT_TRUE(test, gs_bit_test(m->worker_cpus, sibling));
	}
}

static void placement_dgx_exclusive_shares_are_balanced_and_disjoint(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	struct gs_test_machine *m;
	u32 gpu, cpu;

	/* 2 sockets x 56 cores x 2 threads, cpu c's sibling is c + 112. */
	m = gs_test_machine(test, 2, 1, 56, 2, true, 8, gpu_nodes);
	KUNIT_ASSERT_EQ(test, gs_topology_validate(&m->topo, &m->out.error), 0);
	for (gpu = 0; gpu < 8; gpu++) {
		KUNIT_ASSERT_EQ(test, gs_test_reserve(m, gpu, GS_POLICY_EXCLUSIVE, gpu + 1), 0);
		/* 56 cores over 4 GPUs: 14 whole cores, 28 CPUs each. */
		KUNIT_EXPECT_EQ(test, gs_test_weight(m), 28u);
		gs_expect_local_whole_cores(test, m, gpu_nodes[gpu]);
		for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
			if (gs_bit_test(m->worker_cpus, cpu))
				KUNIT_EXPECT_EQ(test, m->resv.holds[cpu].reservation, gpu + 1);
	}
	/* Every share is taken: one more exclusive worker does not fit. */
	KUNIT_EXPECT_EQ(test, gs_test_reserve(m, 0, GS_POLICY_EXCLUSIVE, 9), -ENOSPC);
	for (gpu = 0; gpu < 8; gpu++)
		KUNIT_EXPECT_EQ(test, gs_release(&m->resv, gpu + 1, NULL), 28u);
}

static void placement_epyc_gpu_nodes_are_not_linear(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 7, 7, 5, 5, 3, 3, 1, 1 };
	struct gs_test_machine *m;
	u32 gpu;

	/* 2 sockets x 4 nodes x 8 cores, no SMT. */
	m = gs_test_machine(test, 2, 4, 8, 1, false, 8, gpu_nodes);
	KUNIT_ASSERT_EQ(test, gs_topology_validate(&m->topo, &m->out.error), 0);
	for (gpu = 0; gpu < 8; gpu++) {
		KUNIT_ASSERT_EQ(test, gs_test_reserve(m, gpu, GS_POLICY_NODE, 0), 0);
		KUNIT_EXPECT_EQ(test, gs_test_weight(m), 8u);
		KUNIT_EXPECT_EQ(test, m->out.gpu_node, gpu_nodes[gpu]);
		gs_expect_local_whole_cores(test, m, gpu_nodes[gpu]);
	}
}

static void placement_workstation_single_node_every_policy(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0, 0 };
	struct gs_test_machine *m;
	u32 gpu;

	/* One socket, one node, 8 cores x 2 threads, siblings adjacent: 2 GPUs. */
	m = gs_test_machine(test, 1, 1, 8, 2, false, 2, gpu_nodes);
	KUNIT_ASSERT_EQ(test, gs_topology_validate(&m->topo, &m->out.error), 0);
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 1, GS_POLICY_NODE, 0), 0);
	KUNIT_EXPECT_EQ(test, gs_test_weight(m), 16u);
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 1, GS_POLICY_SOCKET, 0), 0);
	KUNIT_EXPECT_EQ(test, gs_test_weight(m), 16u);
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 1, GS_POLICY_L3, 0), 0);
	KUNIT_EXPECT_EQ(test, gs_test_weight(m), 16u);
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 1, GS_POLICY_SINGLE, 0), 0);
	KUNIT_EXPECT_EQ(test, gs_test_weight(m), 2u);
	gs_expect_local_whole_cores(test, m, 0);
	/* The two GPUs split the node's 8 cores evenly, then it is full. */
	for (gpu = 0; gpu < 2; gpu++) {
		KUNIT_ASSERT_EQ(test, gs_test_reserve(m, gpu, GS_POLICY_EXCLUSIVE, gpu + 1), 0);
		KUNIT_EXPECT_EQ(test, gs_test_weight(m), 8u);
		gs_expect_local_whole_cores(test, m, 0);
	}
	KUNIT_EXPECT_EQ(test, gs_test_reserve(m, 0, GS_POLICY_EXCLUSIVE, 3), -ENOSPC);
	/* Shared policies stay off exclusive cores: with all held, none is left. */
	KUNIT_EXPECT_EQ(test, gs_test_reserve(m, 0, GS_POLICY_NODE, 0), -ENOSPC);
	KUNIT_EXPECT_EQ(test, gs_release(&m->resv, 1, NULL), 8u);
	KUNIT_EXPECT_EQ(test, gs_release(&m->resv, 2, NULL), 8u);
}

static void placement_memory_only_gpu_node_uses_the_nearest(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0 };
	struct gs_test_machine *m;
	u32 cpu;

	/* 3 nodes of 4 cores; node 2 then loses its CPUs to become memory-only. */
	m = gs_test_machine(test, 3, 1, 4, 1, false, 1, gpu_nodes);
	for (cpu = 8; cpu < 12; cpu++) {
		m->cpus[cpu].flags = 0;
		m->cpus[cpu].node = 0;
	}
	/* CPUs changed nodes: the index must follow, or validation refuses it. */
	gs_topology_index(&m->topo, m->index);
	m->gpus[0].cpu_node = 2;
	m->gpus[0].mem_node = 2;
	m->distance[2 * 3 + 0] = 40;
	m->distance[2 * 3 + 1] = 20;
	KUNIT_ASSERT_EQ(test, gs_topology_validate(&m->topo, &m->out.error), 0);
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 0, GS_POLICY_NODE, 0), 0);
	KUNIT_EXPECT_EQ(test, m->out.gpu_node, 1u);
	gs_expect_local_whole_cores(test, m, 1);
}

static void placement_offline_and_housekeeping_cpus_are_never_given(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0 };
	struct gs_test_machine *m;

	/* One node of 4 cores x 2 threads: cores {0,1} {2,3} {4,5} {6,7}. */
	m = gs_test_machine(test, 1, 1, 4, 2, false, 1, gpu_nodes);
	m->cpus[0].flags |= GS_CPU_HOUSEKEEPING;
	m->cpus[5].flags &= ~GS_CPU_ONLINE;
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 0, GS_POLICY_NODE, 0), 0);
	KUNIT_EXPECT_FALSE(test, gs_bit_test(m->worker_cpus, 0));
	KUNIT_EXPECT_FALSE(test, gs_bit_test(m->worker_cpus, 5));
	KUNIT_EXPECT_EQ(test, gs_test_weight(m), 6u);

	/* Exclusive skips the housekeeping core {0,1} entirely. */
	KUNIT_ASSERT_EQ(test, gs_test_reserve(m, 0, GS_POLICY_EXCLUSIVE, 1), 0);
	KUNIT_EXPECT_FALSE(test, gs_bit_test(m->worker_cpus, 0));
	KUNIT_EXPECT_FALSE(test, gs_bit_test(m->worker_cpus, 1));
	KUNIT_EXPECT_FALSE(test, gs_bit_test(m->worker_cpus, 5));
}

/*
 * The node and usable bitmaps change how node places, not what: nodes
 * whose CPUs span three words (siblings far), CPUs offline, housekeeping,
 * held by an exclusive reservation or not allowed, each request placed
 * CPU by CPU and then from the bitmaps, as the module does.
 */
static void placement_node_from_bitmaps_matches_cpu_by_cpu(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0, 1 };
	struct gs_request held = {
		.gpu = 0, .policy = GS_POLICY_EXCLUSIVE, .nr_workers = 1,
		.cores_per_worker = 6, .reservation_id = 1,
	};
	struct gs_test_machine *m;
	unsigned long *masks, *plain;
	struct gs_error error;
	size_t set_bytes;
	struct rnd_state rnd;
	u32 step, cpu, gpu, id;
	int ret;

	/* 2 nodes of 40 cores x 2 threads: node 0 is CPUs 0-39 and 80-119. */
	m = gs_test_machine(test, 2, 1, 40, 2, true, 2, gpu_nodes);
	set_bytes = gs_bitmap_words(m->topo.nr_cpus) * sizeof(long);
	masks = kunit_kcalloc(test, gs_topology_masks_words(m->topo.nr_cpus, m->topo.nr_nodes),
			      sizeof(long), GFP_KERNEL);
	plain = kunit_kzalloc(test, set_bytes, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, masks);
	KUNIT_ASSERT_NOT_NULL(test, plain);
	prandom_seed_state(&rnd, 20261207);
	/* Six cores of node 0 (12 CPUs) held for reservation 1. */
	held.allowed_cpus = m->allowed;
	KUNIT_ASSERT_EQ(test, gs_reserve(&m->topo, &m->resv, &held, &m->ws, &m->out), 0);
	for (step = 0; step < 300; step++) {
		cpu = prandom_u32_state(&rnd) % m->topo.nr_cpus;
		if (step % 3 == 0)
			m->cpus[cpu].flags ^= step % 2 ? GS_CPU_ONLINE : GS_CPU_HOUSEKEEPING;
		for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
			if (prandom_u32_state(&rnd) % 8)
				gs_bit_set(m->allowed, cpu);
			else
				gs_bit_clear(m->allowed, cpu);
		}
		gpu = step % 2;
		/* Now and then as reservation 1, which may use what it holds. */
		id = step % 4 ? 0 : 1;
		m->topo.node_masks = NULL;
		m->topo.usable_cpus = NULL;
		ret = gs_test_reserve(m, gpu, GS_POLICY_NODE, id);
		memcpy(plain, m->worker_cpus, set_bytes);
		error = m->out.error;
		gs_topology_masks(&m->topo, masks);
		KUNIT_ASSERT_EQ(test, gs_topology_validate(&m->topo, NULL), 0);
		KUNIT_EXPECT_EQ(test, gs_test_reserve(m, gpu, GS_POLICY_NODE, id), ret);
		KUNIT_EXPECT_EQ(test, m->out.error.reason, error.reason);
		if (!ret)
			KUNIT_EXPECT_EQ(test, memcmp(plain, m->worker_cpus, set_bytes), 0);
	}
}

static void placement_random_requests_keep_reservations_consistent(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0, 0, 1, 1 };
	struct gs_test_machine *m;
	u32 held_by[17] = {};
	struct rnd_state rnd;
	u32 step, cpu, id, count;

	m = gs_test_machine(test, 2, 1, 8, 2, true, 4, gpu_nodes);
	prandom_seed_state(&rnd, 20261125);
	for (step = 0; step < 2000; step++) {
		id = 1 + prandom_u32_state(&rnd) % 16;
		if (held_by[id]) {
			/* Release gives back exactly what the reservation took. */
			KUNIT_EXPECT_EQ(test, gs_release(&m->resv, id, NULL), held_by[id]);
			held_by[id] = 0;
			continue;
		}
		if (gs_test_reserve(m, prandom_u32_state(&rnd) % 4, GS_POLICY_EXCLUSIVE, id))
			continue;
		count = 0;
		for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
			count += m->resv.holds[cpu].reservation == id;
		KUNIT_EXPECT_GT(test, count, 0u);
		/* Whole cores only, and no CPU counted for two reservations. */
		KUNIT_EXPECT_EQ(test, count % 2, 0u);
		held_by[id] = count;
	}
	count = 0;
	for (id = 1; id <= 16; id++)
		count += held_by[id];
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		count -= m->resv.holds[cpu].reservation != 0;
	KUNIT_EXPECT_EQ(test, count, 0u);
}

static void placement_inconsistent_snapshots_are_refused(struct kunit *test)
{
	static const u32 gpu_nodes[] = { 0 };
	struct gs_test_machine *m;
	struct gs_error error;

	/* CPU 3, the SMT sibling of CPU 2, claims a package of its own. */
	m = gs_test_machine(test, 1, 1, 4, 2, false, 1, gpu_nodes);
	m->cpus[3].package = 3;
	KUNIT_EXPECT_EQ(test, gs_topology_validate(&m->topo, &error), -EINVAL);
	KUNIT_EXPECT_EQ(test, error.reason, (u32)GS_REASON_CORE_SPLIT);
	m->cpus[3].package = 0;

	m->distance[0] = 20;
	KUNIT_EXPECT_EQ(test, gs_topology_validate(&m->topo, &error), -EINVAL);
	KUNIT_EXPECT_EQ(test, error.reason, (u32)GS_REASON_DISTANCE_SELF);
	m->distance[0] = 10;

	m->gpus[0].cpu_node = 5;
	KUNIT_EXPECT_EQ(test, gs_topology_validate(&m->topo, &error), -EINVAL);
	KUNIT_EXPECT_EQ(test, error.reason, (u32)GS_REASON_GPU_NODE);
	m->gpus[0].cpu_node = 0;

	/* The node index lists CPU 1 before CPU 0. */
	m->index[0] = 1;
	KUNIT_EXPECT_EQ(test, gs_topology_validate(&m->topo, &error), -EINVAL);
	KUNIT_EXPECT_EQ(test, error.reason, (u32)GS_REASON_NODE_INDEX);
	m->index[0] = 0;
	KUNIT_EXPECT_EQ(test, gs_topology_validate(&m->topo, &error), 0);
}

static struct kunit_case gpusched_placement_cases[] = {
	KUNIT_CASE(placement_dgx_exclusive_shares_are_balanced_and_disjoint),
	KUNIT_CASE(placement_epyc_gpu_nodes_are_not_linear),
	KUNIT_CASE(placement_workstation_single_node_every_policy),
	KUNIT_CASE(placement_memory_only_gpu_node_uses_the_nearest),
	KUNIT_CASE(placement_offline_and_housekeeping_cpus_are_never_given),
	KUNIT_CASE(placement_node_from_bitmaps_matches_cpu_by_cpu),
	KUNIT_CASE(placement_random_requests_keep_reservations_consistent),
	KUNIT_CASE(placement_inconsistent_snapshots_are_refused),
	{}
};

static struct kunit_suite gpusched_placement_suite = {
	.name = "gpusched_placement",
	.test_cases = gpusched_placement_cases,
};

kunit_test_suite(gpusched_placement_suite);
