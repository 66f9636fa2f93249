// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the placement engine (kmod/placement.c), which compiles
 * unchanged in userspace.  Synthetic machines built here (a DGX-H100-like
 * box with Intel CPU numbering, an 8-node EPYC with GPUs on nodes
 * 7,7,5,5,3,3,1,1, a workstation, Grace-style CPU-less GPU nodes, offline and
 * housekeeping CPUs, split cpusets) get hand-checked placements compared
 * exactly, every error path is provoked once, and long random sequences of
 * reserve/release/hotplug from a fixed seed are checked against a simple
 * reference model of the invariants.  Output is TAP; the exit status is
 * non-zero when a test fails.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "tap.h"

#define MAX_WORKERS 256u
#define LIST_LEN 2048

_Static_assert(sizeof(u32) == sizeof(uint32_t), "engine u32 is uint32_t");

/* A machine under test: the snapshot plus every table the engine needs. */
struct machine {
	const char *name;
	struct gs_topology topo;
	struct gs_cpu *cpus;
	uint32_t *distance;
	struct gs_gpu *gpus;
	uint32_t *index;
	unsigned long *masks;		/* storage of topo.node_masks and topo.usable_cpus */
	struct gs_hold *holds;
	struct gs_reservations resv;
	uint32_t *scratch;
	struct gs_workspace ws;
	unsigned long *all_cpus;
	unsigned long *worker_cpus;
	uint32_t worker_node[MAX_WORKERS];
	struct gs_placement out;
};

/* A regular machine: packages of nodes of cores of SMT threads. */
struct shape {
	uint32_t packages;
	uint32_t nodes_per_package;
	uint32_t cores_per_node;
	uint32_t threads;
	uint32_t cores_per_llc;		/* counted within a package */
	bool siblings_far;		/* Intel/AMD Linux numbering: cpu c's sibling is c + cores */
	uint32_t near_distance;		/* between nodes of one package */
	uint32_t far_distance;		/* between packages */
};

static void *zalloc(size_t bytes)
{
	void *p = calloc(1, bytes ? bytes : 1);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static uint32_t words_for(uint32_t nr_cpus)
{
	return gs_bitmap_words(nr_cpus);
}

static unsigned long *bitmap_new(uint32_t nr_bits)
{
	return zalloc(words_for(nr_bits) * sizeof(unsigned long));
}

static uint32_t bitmap_weight(const unsigned long *map, uint32_t nr_bits)
{
	uint32_t bit, weight = 0;

	for (bit = 0; bit < nr_bits; bit++)
		weight += gs_bit_test(map, bit);
	return weight;
}

static bool bitmap_equal(const unsigned long *a, const unsigned long *b, uint32_t nr_bits)
{
	uint32_t bit;

	for (bit = 0; bit < nr_bits; bit++) {
		if (gs_bit_test(a, bit) != gs_bit_test(b, bit))
			return false;
	}
	return true;
}

/* Parses a cpulist such as "0-13,112-125"; "" is the empty set. */
static void bitmap_from_list(unsigned long *map, uint32_t nr_bits, const char *list)
{
	unsigned long first, last;
	char *end;

	gs_map_zero(map, nr_bits);
	while (*list) {
		first = strtoul(list, &end, 10);
		last = first;
		if (*end == '-')
			last = strtoul(end + 1, &end, 10);
		for (; first <= last && first < nr_bits; first++)
			gs_bit_set(map, (uint32_t)first);
		list = *end == ',' ? end + 1 : end;
	}
}

static const char *bitmap_to_list(const unsigned long *map, uint32_t nr_bits, char *buf)
{
	uint32_t bit, last;
	size_t used = 0;

	buf[0] = '\0';
	for (bit = 0; bit < nr_bits; bit++) {
		if (!gs_bit_test(map, bit))
			continue;
		for (last = bit; last + 1 < nr_bits && gs_bit_test(map, last + 1); last++)
			;
		if (used + 24 >= LIST_LEN)
			break;
		if (last == bit)
			used += (size_t)snprintf(buf + used, LIST_LEN - used, "%s%u", used ? "," : "",
						 bit);
		else
			used += (size_t)snprintf(buf + used, LIST_LEN - used, "%s%u-%u",
						 used ? "," : "", bit, last);
		bit = last;
	}
	return buf;
}

static struct machine *machine_new(const char *name, uint32_t nr_cpus, uint32_t nr_nodes,
				   uint32_t nr_gpus)
{
	struct machine *m = zalloc(sizeof(*m));
	uint32_t cpu, from, to;

	m->name = name;
	m->cpus = zalloc(nr_cpus * sizeof(*m->cpus));
	m->distance = zalloc((size_t)nr_nodes * nr_nodes * sizeof(*m->distance));
	m->gpus = zalloc(nr_gpus * sizeof(*m->gpus));
	m->index = zalloc(gs_topology_index_words(nr_cpus, nr_nodes) * sizeof(*m->index));
	m->masks = zalloc(gs_topology_masks_words(nr_cpus, nr_nodes) * sizeof(*m->masks));
	m->holds = zalloc(nr_cpus * sizeof(*m->holds));
	m->scratch = zalloc(gs_workspace_words(nr_cpus, nr_nodes) * sizeof(*m->scratch));
	m->all_cpus = bitmap_new(nr_cpus);
	m->worker_cpus = zalloc((size_t)MAX_WORKERS * words_for(nr_cpus) * sizeof(unsigned long));
	m->topo = (struct gs_topology){ .nr_cpus = nr_cpus, .nr_nodes = nr_nodes,
					.nr_gpus = nr_gpus, .cpus = m->cpus,
					.distance = m->distance, .gpus = m->gpus };
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		m->cpus[cpu] = (struct gs_cpu){ cpu, cpu, cpu, 0, GS_CPU_ONLINE };
		gs_bit_set(m->all_cpus, cpu);
	}
	for (from = 0; from < nr_nodes; from++)
		for (to = 0; to < nr_nodes; to++)
			m->distance[from * nr_nodes + to] = from == to ? 10 : 20;
	gs_reservations_init(&m->resv, m->holds, nr_cpus);
	gs_workspace_init(&m->ws, m->scratch, nr_cpus, nr_nodes);
	m->out = (struct gs_placement){ .max_workers = MAX_WORKERS,
					.worker_cpus = m->worker_cpus,
					.worker_node = m->worker_node };
	return m;
}

static void machine_free(struct machine *m)
{
	free(m->cpus);
	free(m->distance);
	free(m->gpus);
	free(m->index);
	free(m->masks);
	free(m->holds);
	free(m->scratch);
	free(m->all_cpus);
	free(m->worker_cpus);
	free(m);
}

static uint32_t shape_cpu(const struct shape *s, uint32_t core, uint32_t thread)
{
	uint32_t cores = s->packages * s->nodes_per_package * s->cores_per_node;

	return s->siblings_far ? core + thread * cores : core * s->threads + thread;
}

/* Builds a regular machine; GPU g's device sits on node gpu_nodes[g]. */
static struct machine *machine_shaped(const char *name, const struct shape *s, uint32_t nr_gpus,
				      const uint32_t *gpu_nodes)
{
	uint32_t cores_per_package = s->nodes_per_package * s->cores_per_node;
	uint32_t nr_nodes = s->packages * s->nodes_per_package;
	uint32_t nr_cpus = nr_nodes * s->cores_per_node * s->threads;
	struct machine *m = machine_new(name, nr_cpus, nr_nodes, nr_gpus);
	uint32_t core, thread, package, in_package, llc_core, from, to, gpu;

	for (core = 0; core < nr_nodes * s->cores_per_node; core++) {
		package = core / cores_per_package;
		in_package = core % cores_per_package;
		llc_core = package * cores_per_package +
			   in_package / s->cores_per_llc * s->cores_per_llc;
		for (thread = 0; thread < s->threads; thread++) {
			m->cpus[shape_cpu(s, core, thread)] = (struct gs_cpu){
				.core = shape_cpu(s, core, 0),
				.package = shape_cpu(s, package * cores_per_package, 0),
				.llc = shape_cpu(s, llc_core, 0),
				.node = core / s->cores_per_node,
				.flags = GS_CPU_ONLINE,
			};
		}
	}
	for (from = 0; from < nr_nodes; from++) {
		for (to = 0; to < nr_nodes; to++) {
			if (from == to)
				m->distance[from * nr_nodes + to] = 10;
			else if (from / s->nodes_per_package == to / s->nodes_per_package)
				m->distance[from * nr_nodes + to] = s->near_distance;
			else
				m->distance[from * nr_nodes + to] = s->far_distance;
		}
	}
	for (gpu = 0; gpu < nr_gpus; gpu++)
		m->gpus[gpu] = (struct gs_gpu){ gpu_nodes[gpu], gpu_nodes[gpu] };
	gs_topology_index(&m->topo, m->index);
	return m;
}

/* 2 sockets x 56 cores x 2 threads; cpu c's sibling is c + 112; GPUs 0-3 node 0, 4-7 node 1. */
static struct machine *dgx_h100(void)
{
	static const struct shape shape = { 2, 1, 56, 2, 56, true, 21, 21 };
	static const uint32_t gpu_nodes[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };

	return machine_shaped("dgx", &shape, 8, gpu_nodes);
}

/* 2 sockets x 4 nodes (NPS4) x 8 cores x 2 threads, 4-core caches; GPUs on 7,7,5,5,3,3,1,1. */
static struct machine *epyc(void)
{
	static const struct shape shape = { 2, 4, 8, 2, 4, true, 12, 32 };
	static const uint32_t gpu_nodes[8] = { 7, 7, 5, 5, 3, 3, 1, 1 };

	return machine_shaped("epyc", &shape, 8, gpu_nodes);
}

/* One node, 8 cores, siblings numbered next to each other (core k = CPUs 2k, 2k+1), 3 GPUs. */
static struct machine *workstation(void)
{
	static const struct shape shape = { 1, 1, 8, 2, 8, false, 0, 0 };
	static const uint32_t gpu_nodes[3] = { 0, 0, 0 };

	return machine_shaped("workstation", &shape, 3, gpu_nodes);
}

/* Sub-NUMA clustering: one package split into 2 nodes of 4 cores under one shared cache. */
static struct machine *snc(void)
{
	static const struct shape shape = { 1, 2, 4, 2, 8, true, 12, 12 };
	static const uint32_t gpu_nodes[2] = { 0, 1 };

	return machine_shaped("snc", &shape, 2, gpu_nodes);
}

/*
 * Grace-style: nodes 0 and 1 have 4 cores each (no SMT); nodes 2 and 3 are
 * the GPUs' memory, without CPUs, and are where the GPU devices report.
 */
static struct machine *grace(void)
{
	static const uint32_t distance[16] = {
		10, 40, 80, 120,
		40, 10, 120, 80,
		80, 120, 10, 120,
		120, 80, 120, 10,
	};
	struct machine *m = machine_new("grace", 8, 4, 2);
	uint32_t cpu;

	for (cpu = 0; cpu < 8; cpu++)
		m->cpus[cpu] = (struct gs_cpu){ cpu, cpu < 4 ? 0 : 4, cpu < 4 ? 0 : 4, cpu / 4,
						GS_CPU_ONLINE };
	memcpy(m->distance, distance, sizeof(distance));
	m->gpus[0] = (struct gs_gpu){ 2, 2 };
	m->gpus[1] = (struct gs_gpu){ 3, 3 };
	gs_topology_index(&m->topo, m->index);
	return m;
}

static struct gs_request request(uint32_t gpu, uint32_t policy, uint32_t workers,
				 const unsigned long *allowed)
{
	return (struct gs_request){ .gpu = gpu, .policy = policy, .nr_workers = workers,
				    .allowed_cpus = allowed };
}

static int reserve(struct machine *m, const struct gs_request *req)
{
	return gs_reserve(&m->topo, &m->resv, req, &m->ws, &m->out);
}

static int place(struct machine *m, const struct gs_request *req)
{
	return gs_place(&m->topo, &m->resv, req, &m->ws, &m->out);
}

/* gs_place() the CPU-at-a-time way, as if the topology had no bitmaps. */
static int place_without_masks(struct machine *m, const struct gs_request *req)
{
	struct gs_topology topo = m->topo;

	topo.node_masks = NULL;
	topo.usable_cpus = NULL;
	return gs_place(&topo, &m->resv, req, &m->ws, &m->out);
}

static unsigned long *worker_set(struct machine *m, uint32_t worker)
{
	return gs_worker_cpus(&m->out, m->topo.nr_cpus, worker);
}

static bool expect_cpus(struct machine *m, uint32_t worker, const char *list, const char *what)
{
	unsigned long *want = bitmap_new(m->topo.nr_cpus);
	char buf[LIST_LEN];
	bool pass;

	bitmap_from_list(want, m->topo.nr_cpus, list);
	pass = tap_ok(bitmap_equal(want, worker_set(m, worker), m->topo.nr_cpus),
		      "%s: %s: worker %u gets %s", m->name, what, worker, list);
	if (!pass)
		tap_diag("got %s", bitmap_to_list(worker_set(m, worker), m->topo.nr_cpus, buf));
	free(want);
	return pass;
}

static void expect_error(struct machine *m, int got, int want_err, uint32_t want_reason,
			 const char *what)
{
	if (!tap_ok(got == want_err && m->out.error.reason == want_reason,
		    "%s: %s fails with %d (%s)", m->name, what, want_err,
		    gs_reason_name(want_reason)))
		tap_diag("got %d, reason %u (%s)", got, m->out.error.reason,
			 gs_reason_name(m->out.error.reason));
}

/* The CPUs reservation @id holds, as a cpulist check. */
static void expect_held(struct machine *m, uint32_t id, const char *list, const char *what)
{
	unsigned long *want = bitmap_new(m->topo.nr_cpus);
	unsigned long *held = bitmap_new(m->topo.nr_cpus);
	char buf[LIST_LEN];
	uint32_t cpu;

	bitmap_from_list(want, m->topo.nr_cpus, list);
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		if (m->holds[cpu].reservation == id)
			gs_bit_set(held, cpu);
	if (!tap_ok(bitmap_equal(want, held, m->topo.nr_cpus), "%s: %s: reservation %u holds %s",
		    m->name, what, id, list))
		tap_diag("holds %s", bitmap_to_list(held, m->topo.nr_cpus, buf));
	free(want);
	free(held);
}

static void release_all(struct machine *m)
{
	uint32_t cpu;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		if (m->holds[cpu].reservation)
			gs_release(&m->resv, m->holds[cpu].reservation, NULL);
}

static void test_valid_machines(void)
{
	struct machine *machines[5] = { dgx_h100(), epyc(), workstation(), grace(), snc() };
	struct gs_error error;
	uint32_t i;

	for (i = 0; i < 5; i++) {
		error.reason = 99;
		tap_ok(gs_topology_validate(&machines[i]->topo, &error) == 0 &&
		       error.reason == GS_REASON_NONE, "%s: snapshot validates", machines[i]->name);
		machine_free(machines[i]);
	}
}

static void expect_invalid(struct machine *m, uint32_t want_reason, uint32_t want_subject,
			   const char *what)
{
	struct gs_error error = { 0, 0 };
	int err = gs_topology_validate(&m->topo, &error);

	if (!tap_ok(err == -EINVAL && error.reason == want_reason && error.subject == want_subject,
		    "validate: %s is %s (subject %u)", what, gs_reason_name(want_reason),
		    want_subject))
		tap_diag("got %d, reason %u, subject %u", err, error.reason, error.subject);
}

static void test_validation_errors(void)
{
	struct machine *m = dgx_h100();
	struct gs_topology saved = m->topo;
	struct gs_cpu cpu112 = m->cpus[112], cpu200 = m->cpus[200];
	struct gs_error error;

	tap_ok(gs_topology_validate(NULL, &error) == -EINVAL &&
	       error.reason == GS_REASON_ARGUMENT, "validate: NULL snapshot is rejected");
	m->topo.nr_cpus = 0;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "zero CPUs");
	m->topo.nr_cpus = GS_MAX_CPUS + 1;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "too many CPUs");
	m->topo = saved;
	m->topo.nr_nodes = 0;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "zero nodes");
	m->topo.nr_nodes = GS_MAX_NODES + 1;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "too many nodes");
	m->topo = saved;
	m->topo.nr_gpus = GS_MAX_GPUS + 1;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "too many GPUs");
	m->topo = saved;
	m->topo.cpus = NULL;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "missing CPU table");
	m->topo = saved;
	m->topo.distance = NULL;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "missing distance table");
	m->topo = saved;
	m->topo.gpus = NULL;
	expect_invalid(m, GS_REASON_TOPOLOGY_SIZE, 0, "missing GPU table");
	m->topo.nr_gpus = 0;
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0,
	       "validate: no GPUs and no GPU table is a valid snapshot");
	m->topo = saved;

	m->cpus[7].node = 2;
	expect_invalid(m, GS_REASON_CPU_NODE, 7, "CPU on a node out of range");
	m->cpus[7].node = 0;
	m->cpus[9].flags = 0x4;
	expect_invalid(m, GS_REASON_CPU_FLAGS, 9, "unknown CPU flag");
	m->cpus[9].flags = GS_CPU_ONLINE;
	m->cpus[3].core = 5;
	expect_invalid(m, GS_REASON_CPU_CORE, 3, "core named by a higher CPU");
	m->cpus[3].core = 3;
	m->cpus[112].core = 113;
	expect_invalid(m, GS_REASON_CPU_CORE, 112, "core named by its own higher sibling");
	m->cpus[112] = cpu112;
	m->cpus[1].core = 0;	/* cpu 113 still names 1, which no longer names itself */
	expect_invalid(m, GS_REASON_CPU_CORE, 113, "core leader that names another core");
	m->cpus[1].core = 1;
	m->cpus[5].package = 6;
	expect_invalid(m, GS_REASON_CPU_PACKAGE, 5, "package named by a higher CPU");
	m->cpus[5].package = 0;
	m->cpus[120].package = 1;
	expect_invalid(m, GS_REASON_CPU_PACKAGE, 120, "package leader that names another package");
	m->cpus[120].package = 0;
	m->cpus[30].llc = 31;
	expect_invalid(m, GS_REASON_CPU_LLC, 30, "cache named by a higher CPU");
	m->cpus[30].llc = 0;
	m->cpus[200].llc = 57;
	expect_invalid(m, GS_REASON_CPU_LLC, 200, "cache leader that names another cache");
	m->cpus[200] = cpu200;
	m->cpus[112].node = 1;
	expect_invalid(m, GS_REASON_CORE_SPLIT, 112, "SMT siblings on two nodes");
	m->cpus[112] = cpu112;
	m->cpus[112].package = 56;
	expect_invalid(m, GS_REASON_CORE_SPLIT, 112, "SMT siblings in two packages");
	m->cpus[112] = cpu112;
	m->cpus[112].llc = 56;
	expect_invalid(m, GS_REASON_CORE_SPLIT, 112, "SMT siblings under two caches");
	m->cpus[112] = cpu112;

	m->distance[3] = 11;
	expect_invalid(m, GS_REASON_DISTANCE_SELF, 1, "node 1 at distance 11 from itself");
	m->distance[3] = 10;
	m->distance[1] = 10;
	expect_invalid(m, GS_REASON_DISTANCE_RANGE, 1, "distance 10 between two nodes");
	m->distance[1] = 256;
	expect_invalid(m, GS_REASON_DISTANCE_RANGE, 1, "distance 256 between two nodes");
	m->distance[1] = 21;
	m->distance[2] = 30;
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0,
	       "validate: asymmetric distances (21 one way, 30 back) are accepted");
	m->distance[2] = 21;

	m->gpus[3].cpu_node = 2;
	expect_invalid(m, GS_REASON_GPU_NODE, 3, "GPU device node out of range");
	m->gpus[3].cpu_node = 0;
	m->gpus[6].mem_node = 9;
	expect_invalid(m, GS_REASON_GPU_NODE, 6, "GPU memory node out of range");
	m->gpus[6].mem_node = 1;
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0, "validate: restored snapshot passes");
	machine_free(m);
}

static bool expect_run(const struct machine *m, uint32_t node, const char *list)
{
	unsigned long *run = bitmap_new(m->topo.nr_cpus);
	char buf[LIST_LEN];
	uint32_t position;
	bool ascending = true;

	for (position = m->topo.node_start[node]; position < m->topo.node_start[node + 1];
	     position++) {
		gs_bit_set(run, m->topo.node_cpus[position]);
		ascending = ascending && (position == m->topo.node_start[node] ||
					  m->topo.node_cpus[position - 1] < m->topo.node_cpus[position]);
	}
	bitmap_to_list(run, m->topo.nr_cpus, buf);
	ascending = ascending && strcmp(buf, list) == 0;
	if (!ascending)
		tap_diag("node %u: got %s, want %s in increasing order", node, buf, list);
	free(run);
	return ascending;
}

static void test_node_index(void)
{
	struct machine *m = dgx_h100(), *g = grace();
	uint32_t *index = m->index, saved;

	tap_ok(gs_topology_index_words(224, 2) == 227,
	       "index: one word per CPU and one more than the nodes");
	tap_ok(m->topo.node_start[0] == 0 && m->topo.node_start[1] == 112 &&
	       m->topo.node_start[2] == 224 && expect_run(m, 0, "0-55,112-167") &&
	       expect_run(m, 1, "56-111,168-223"),
	       "index: dgx nodes list their CPUs in increasing order, siblings included");
	tap_ok(expect_run(g, 0, "0-3") && expect_run(g, 1, "4-7") &&
	       g->topo.node_start[2] == 8 && g->topo.node_start[3] == 8 &&
	       g->topo.node_start[4] == 8,
	       "index: grace's GPU memory nodes have empty runs");
	machine_free(g);

	m->topo.node_cpus = NULL;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "missing node index");
	m->topo.node_cpus = index;
	m->topo.node_start = NULL;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "missing node offsets");
	m->topo.node_start = index + 224;
	index[224] = 1;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "node 0 starting past the first entry");
	index[224] = 0;
	index[225] = 225;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "node 0 ending past the last CPU");
	index[225] = 111;
	expect_invalid(m, GS_REASON_NODE_INDEX, 1, "node 1's run starting on a node-0 CPU");
	index[225] = 112;
	index[226] = 223;
	expect_invalid(m, GS_REASON_NODE_INDEX, 1, "CPU 223 left out of node 1's run");
	index[226] = 224;
	saved = index[120];
	index[120] = index[121];
	index[121] = saved;
	expect_invalid(m, GS_REASON_NODE_INDEX, 1, "two CPUs of node 1 out of order");
	index[121] = index[120];
	index[120] = saved;
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0, "index: restored index passes");

	/* Core 55 (CPUs 55 and 167) moves to node 1: the old index no longer fits. */
	m->cpus[55].node = 1;
	m->cpus[167].node = 1;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "an index older than the CPUs' nodes");
	gs_topology_index(&m->topo, m->index);
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0 && expect_run(m, 0, "0-54,112-166") &&
	       expect_run(m, 1, "55-111,167-223"),
	       "index: rebuilt after a node change, it validates and lists the move");

	/* The bitmaps must say what the CPUs say. */
	gs_topology_masks(&m->topo, m->masks);
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0 &&
	       gs_bit_test(m->topo.node_masks + words_for(224), 55) &&
	       !gs_bit_test(m->topo.node_masks, 55) && gs_bit_test(m->topo.usable_cpus, 223),
	       "masks: CPU 55 is in node 1's mask only, and CPU 223 is usable");
	m->cpus[3].flags |= GS_CPU_HOUSEKEEPING;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "masks older than a CPU's flags");
	gs_topology_masks(&m->topo, m->masks);
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0 && !gs_bit_test(m->topo.usable_cpus, 3),
	       "masks: filled again, they validate and CPU 3 is not usable");
	m->masks[words_for(224)] |= 1UL << 60;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "a CPU of node 1 in node 0's mask too");
	m->masks[words_for(224)] &= ~(1UL << 60);
	m->masks[0] ^= 1UL << 4;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "a usable CPU missing from the usable mask");
	m->masks[0] ^= 1UL << 4;
	m->masks[words_for(224) - 1] |= 1UL << 63;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "a usable bit past the last CPU");
	m->masks[words_for(224) - 1] &= ~(1UL << 63);
	m->topo.usable_cpus = NULL;
	expect_invalid(m, GS_REASON_NODE_INDEX, 0, "node masks without the usable mask");
	m->topo.node_masks = NULL;
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0, "masks: a topology without any validates");

	m->cpus[7].node = 2;
	gs_topology_index(&m->topo, m->index);
	expect_invalid(m, GS_REASON_CPU_NODE, 7, "indexing a CPU on a node out of range");
	machine_free(m);
}

static void test_request_errors(void)
{
	struct machine *m = dgx_h100();
	struct gs_request req = request(0, GS_POLICY_NODE, 1, m->all_cpus);
	struct gs_reservations small_resv = m->resv;
	struct gs_workspace small_ws = m->ws;
	unsigned long *node1 = bitmap_new(m->topo.nr_cpus);
	uint32_t policy;

	tap_ok(gs_place(&m->topo, &m->resv, &req, &m->ws, NULL) == -EINVAL &&
	       gs_reserve(&m->topo, &m->resv, &req, &m->ws, NULL) == -EINVAL,
	       "place/reserve without a placement are -EINVAL");
	expect_error(m, gs_place(NULL, &m->resv, &req, &m->ws, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "no topology");
	expect_error(m, gs_place(&m->topo, NULL, &req, &m->ws, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "no reservations");
	expect_error(m, gs_place(&m->topo, &m->resv, NULL, &m->ws, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "no request");
	expect_error(m, gs_place(&m->topo, &m->resv, &req, NULL, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "no workspace");
	req.allowed_cpus = NULL;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_ARGUMENT, "no allowed CPUs");
	req.allowed_cpus = m->all_cpus;
	m->out.worker_node = NULL;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_ARGUMENT, "no worker nodes");
	m->out.worker_node = m->worker_node;
	m->out.worker_cpus = NULL;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_ARGUMENT, "no worker CPU sets");
	m->out.worker_cpus = m->worker_cpus;
	small_resv.holds = NULL;
	expect_error(m, gs_place(&m->topo, &small_resv, &req, &m->ws, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "reservations without storage");
	small_resv = m->resv;
	small_ws.core_marks = NULL;
	expect_error(m, gs_place(&m->topo, &m->resv, &req, &small_ws, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "workspace without core storage");
	small_ws = m->ws;
	small_ws.node_marks = NULL;
	expect_error(m, gs_place(&m->topo, &m->resv, &req, &small_ws, &m->out), -EINVAL,
		     GS_REASON_ARGUMENT, "workspace without node storage");
	small_ws = m->ws;

	small_resv.nr_cpus = 223;
	expect_error(m, gs_place(&m->topo, &small_resv, &req, &m->ws, &m->out), -EINVAL,
		     GS_REASON_SIZE_MISMATCH, "reservations for 223 CPUs");
	small_ws.nr_cpus = 223;
	expect_error(m, gs_place(&m->topo, &m->resv, &req, &small_ws, &m->out), -EINVAL,
		     GS_REASON_SIZE_MISMATCH, "workspace for 223 CPUs");
	small_ws = m->ws;
	small_ws.nr_nodes = 1;
	expect_error(m, gs_place(&m->topo, &m->resv, &req, &small_ws, &m->out), -EINVAL,
		     GS_REASON_SIZE_MISMATCH, "workspace for 1 node");

	req.policy = 0;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_POLICY, "policy 0");
	req.policy = GS_POLICY_SINGLE + 1;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_POLICY, "policy 6");
	tap_ok(m->out.error.subject == 6, "request: the bad policy is the error's subject");
	req.policy = GS_POLICY_NODE;
	req.flags = 0x2;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_FLAGS, "unknown flag 0x2");
	req.flags = 0;
	req.nr_workers = 0;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_WORKERS, "zero workers");
	req.nr_workers = GS_MAX_WORKERS + 1;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_WORKERS, "too many workers");
	req.nr_workers = 1;
	req.cores_per_worker = 1;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_CORES_PER_WORKER,
		     "cores_per_worker with the node policy");
	req.policy = GS_POLICY_EXCLUSIVE;
	req.cores_per_worker = 225;
	expect_error(m, place(m, &req), -EINVAL, GS_REASON_CORES_PER_WORKER,
		     "more cores per worker than CPUs");
	req.cores_per_worker = 0;
	expect_error(m, reserve(m, &req), -EINVAL, GS_REASON_RESERVATION_ID,
		     "exclusive reservation with id 0");
	tap_ok(place(m, &req) == 0, "request: planning an exclusive placement needs no id");
	req.gpu = 8;
	expect_error(m, place(m, &req), -ENODEV, GS_REASON_NO_SUCH_GPU, "GPU 8 of 8");
	tap_ok(m->out.error.subject == 8 && m->out.nr_workers == 0,
	       "request: the missing GPU is the subject and nothing is placed");
	req.gpu = 0;
	req.nr_workers = 3;
	m->out.max_workers = 2;
	expect_error(m, place(m, &req), -EMSGSIZE, GS_REASON_OUTPUT_TOO_SMALL,
		     "3 workers into room for 2");
	tap_ok(m->out.error.subject == 3, "request: -EMSGSIZE reports the 3 workers needed");
	m->out.max_workers = MAX_WORKERS;

	bitmap_from_list(node1, m->topo.nr_cpus, "56-111,168-223");
	req.allowed_cpus = node1;
	req.nr_workers = 1;
	for (policy = GS_POLICY_NODE; policy <= GS_POLICY_SINGLE; policy++) {
		req.policy = policy;
		expect_error(m, place(m, &req), -ENOSPC, GS_REASON_NO_USABLE_CPUS,
			     gs_policy_name(policy));
		tap_ok(m->out.error.subject == 0, "%s: the subject is the GPU's node 0",
		       gs_policy_name(policy));
	}
	req.allowed_cpus = m->all_cpus;
	req.policy = GS_POLICY_EXCLUSIVE;
	req.nr_workers = 2;
	req.cores_per_worker = 224;
	expect_error(m, place(m, &req), -ENOSPC, GS_REASON_NO_USABLE_CPUS,
		     "2 workers x 224 cores (more than the machine has)");
	req.cores_per_worker = 15;
	req.nr_workers = 1;
	expect_error(m, place(m, &req), -ENOSPC, GS_REASON_GPU_SHARE_FULL,
		     "15 cores for a GPU whose share is 14");
	free(node1);
	machine_free(m);
}

static void test_helper_errors(void)
{
	struct machine *m = dgx_h100();
	struct gs_workspace small_ws = m->ws;
	unsigned long *released = bitmap_new(m->topo.nr_cpus);
	uint32_t reason;
	bool named = true;

	tap_ok(gs_gpu_cpu_node(NULL, &m->ws, 0) == -EINVAL &&
	       gs_gpu_cpu_node(&m->topo, NULL, 0) == -EINVAL,
	       "gpu_cpu_node: missing arguments are -EINVAL");
	small_ws.nr_nodes = 1;
	tap_ok(gs_gpu_cpu_node(&m->topo, &small_ws, 0) == -EINVAL,
	       "gpu_cpu_node: a workspace for fewer nodes is -EINVAL");
	small_ws = m->ws;
	small_ws.nr_cpus = 223;
	tap_ok(gs_gpu_cpu_node(&m->topo, &small_ws, 0) == -EINVAL,
	       "gpu_cpu_node: a workspace for fewer CPUs is -EINVAL");
	tap_ok(gs_workspace_words(224, 2) == 226, "workspace: one word per CPU and per node");
	tap_ok(gs_gpu_cpu_node(&m->topo, &m->ws, 8) == -ENODEV,
	       "gpu_cpu_node: GPU 8 of 8 is -ENODEV");
	gs_bit_set(released, 5);
	tap_ok(gs_release(&m->resv, 0, released) == 0 && bitmap_weight(released, 224) == 0,
	       "release: id 0 releases nothing and clears the bitmap");
	tap_ok(gs_release(&m->resv, 77, NULL) == 0, "release: an unknown id releases nothing");
	for (reason = 0; reason < GS_NR_REASONS; reason++)
		named = named && gs_reason_name(reason) &&
			strcmp(gs_reason_name(reason), "unknown reason") != 0;
	tap_ok(named, "every reason has a name");
	tap_ok(strcmp(gs_reason_name(GS_NR_REASONS), "unknown reason") == 0,
	       "an out-of-range reason is named \"unknown reason\"");
	tap_ok(gs_policy_name(0) == NULL && gs_policy_name(6) == NULL &&
	       strcmp(gs_policy_name(GS_POLICY_NODE), "node") == 0 &&
	       strcmp(gs_policy_name(GS_POLICY_SOCKET), "socket") == 0 &&
	       strcmp(gs_policy_name(GS_POLICY_EXCLUSIVE), "exclusive") == 0 &&
	       strcmp(gs_policy_name(GS_POLICY_L3), "l3") == 0 &&
	       strcmp(gs_policy_name(GS_POLICY_SINGLE), "single") == 0,
	       "policy names are the keywords users type; 0 and 6 have none");
	tap_ok(GS_POLICY_NODE == 1 && GS_POLICY_SOCKET == 2 && GS_POLICY_EXCLUSIVE == 3 &&
	       GS_POLICY_L3 == 4 && GS_POLICY_SINGLE == 5 && GS_REQUEST_SPILL == 1 &&
	       GS_REASON_CPUS_HELD == 22 && GS_REASON_NODE_INDEX == 23,
	       "policy, flag and reason values are the stable ABI ones");
	free(released);
	machine_free(m);
}

static void test_bitmap_helpers(void)
{
	unsigned long map[3] = { 0, 0, 0 }, copy[3] = { ~0UL, ~0UL, ~0UL };
	uint32_t bits = 2 * GS_BITS_PER_WORD + 5;

	tap_ok(gs_bitmap_words(0) == 0 && gs_bitmap_words(1) == 1 &&
	       gs_bitmap_words(GS_BITS_PER_WORD) == 1 && gs_bitmap_words(GS_BITS_PER_WORD + 1) == 2,
	       "bitmap: word counts round up");
	gs_bit_set(map, 0);
	gs_bit_set(map, GS_BITS_PER_WORD - 1);
	gs_bit_set(map, bits - 1);
	tap_ok(gs_bit_test(map, 0) && gs_bit_test(map, GS_BITS_PER_WORD - 1) &&
	       gs_bit_test(map, bits - 1) && !gs_bit_test(map, 1) &&
	       bitmap_weight(map, bits) == 3, "bitmap: set and test across word boundaries");
	gs_bit_clear(map, GS_BITS_PER_WORD - 1);
	tap_ok(!gs_bit_test(map, GS_BITS_PER_WORD - 1) && bitmap_weight(map, bits) == 2,
	       "bitmap: clear drops one bit");
	gs_map_copy(copy, map, bits);
	tap_ok(bitmap_equal(copy, map, bits), "bitmap: copy");
	gs_map_zero(map, bits);
	tap_ok(bitmap_weight(map, bits) == 0, "bitmap: zero");
}

static void test_dgx_exclusive(void)
{
	struct machine *m = dgx_h100();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	uint32_t gpu;
	int got[8];

	for (gpu = 0; gpu < 8; gpu++)
		got[gpu] = gs_gpu_cpu_node(&m->topo, &m->ws, gpu);
	tap_ok(got[0] == 0 && got[3] == 0 && got[4] == 1 && got[7] == 1,
	       "dgx: GPUs 0-3 are local to node 0, GPUs 4-7 to node 1");

	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0 && m->out.nr_workers == 1 && m->out.gpu_node == 0 &&
	       m->out.nr_spilled == 0 && m->worker_node[0] == 0,
	       "dgx: exclusive GPU 0, one worker, whole share");
	expect_cpus(m, 0, "0-13,112-125", "GPU 0's share is cores 0-13 with siblings");
	expect_held(m, 1, "0-13,112-125", "GPU 0");
	req.gpu = 1;
	req.reservation_id = 2;
	tap_ok(reserve(m, &req) == 0, "dgx: exclusive GPU 1");
	expect_cpus(m, 0, "14-27,126-139", "GPU 1's block follows GPU 0's");
	req.gpu = 5;
	req.reservation_id = 3;
	tap_ok(reserve(m, &req) == 0 && m->out.gpu_node == 1, "dgx: exclusive GPU 5 on node 1");
	expect_cpus(m, 0, "70-83,182-195", "GPU 5 is the second GPU of node 1");

	req.gpu = 0;
	req.reservation_id = 4;
	expect_error(m, reserve(m, &req), -ENOSPC, GS_REASON_GPU_SHARE_FULL,
		     "a second job on GPU 0");
	expect_held(m, 4, "", "the failed second job on GPU 0");
	req.flags = GS_REQUEST_SPILL;
	tap_ok(reserve(m, &req) == 0 && m->worker_node[0] == 1 && m->out.nr_spilled == 1,
	       "dgx: with SPILL the second GPU 0 job goes to node 1");
	expect_cpus(m, 0, "56,168", "spilled worker takes node 1's first free core");
	tap_ok(gs_release(&m->resv, 4, NULL) == 2, "dgx: releasing the spilled job frees 2 CPUs");
	req.flags = 0;

	req.gpu = 2;
	req.reservation_id = 5;
	req.nr_workers = 4;
	req.cores_per_worker = 1;
	tap_ok(reserve(m, &req) == 0, "dgx: GPU 2, 4 workers x 1 core");
	expect_cpus(m, 0, "28,140", "one core per worker, siblings together");
	expect_cpus(m, 1, "29,141", "next core");
	expect_cpus(m, 3, "31,143", "last core");
	req.gpu = 3;
	req.reservation_id = 6;
	req.cores_per_worker = 0;
	tap_ok(reserve(m, &req) == 0, "dgx: GPU 3, 4 workers splitting its 14 cores");
	expect_cpus(m, 0, "42-45,154-157", "14 cores split 4+4+3+3: first worker");
	expect_cpus(m, 1, "46-49,158-161", "second worker");
	expect_cpus(m, 2, "50-52,162-164", "third worker");
	expect_cpus(m, 3, "53-55,165-167", "fourth worker");
	req.gpu = 2;
	req.reservation_id = 5;
	req.nr_workers = 1;
	tap_ok(reserve(m, &req) == 0, "dgx: GPU 2 again under the same id takes its remaining 10");
	expect_cpus(m, 0, "32-41,144-153", "the rest of GPU 2's share");
	expect_held(m, 5, "28-41,140-153", "GPU 2 after two calls");
	tap_ok(gs_release(&m->resv, 5, NULL) == 28, "dgx: release returns both calls' 28 CPUs");
	machine_free(m);
}

static void test_dgx_shared(void)
{
	struct machine *m = dgx_h100();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	uint32_t worker;
	bool same = true;

	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0, "dgx: GPU 0 holds cores 0-13 exclusively");
	req.policy = GS_POLICY_NODE;
	req.gpu = 1;
	req.reservation_id = 0;
	req.nr_workers = 3;
	tap_ok(place(m, &req) == 0 && m->out.nr_workers == 3, "dgx: node policy for GPU 1");
	expect_cpus(m, 0, "14-55,126-167", "node policy skips another job's exclusive cores");
	for (worker = 1; worker < 3; worker++)
		same = same && bitmap_equal(worker_set(m, 0), worker_set(m, worker), 224);
	tap_ok(same, "dgx: node policy gives every worker the same set");
	req.reservation_id = 1;
	tap_ok(place(m, &req) == 0, "dgx: node policy under the holder's own id");
	expect_cpus(m, 0, "0-55,112-167", "a job may use the cores it holds itself");
	req.reservation_id = 0;
	req.gpu = 6;
	req.policy = GS_POLICY_SOCKET;
	tap_ok(place(m, &req) == 0, "dgx: socket policy for GPU 6");
	expect_cpus(m, 0, "56-111,168-223", "socket 1 is node 1 here");
	req.policy = GS_POLICY_L3;
	req.nr_workers = 2;
	tap_ok(place(m, &req) == 0, "dgx: l3 with one cache per socket");
	expect_cpus(m, 1, "56-111,168-223", "two workers must share the socket's only cache");
	req.policy = GS_POLICY_SINGLE;
	req.gpu = 1;
	req.nr_workers = 3;
	tap_ok(place(m, &req) == 0, "dgx: single policy for GPU 1, 3 workers");
	expect_cpus(m, 0, "14,126", "single starts at GPU 1's block");
	expect_cpus(m, 2, "16,128", "and takes consecutive cores");
	req.gpu = 0;
	req.nr_workers = 1;
	tap_ok(place(m, &req) == 0, "dgx: single policy for GPU 0 whose block is held");
	expect_cpus(m, 0, "14,126", "single skips held cores and wraps forward");
	machine_free(m);
}

static void test_dgx_housekeeping_offline(void)
{
	struct machine *m = dgx_h100();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);

	m->cpus[0].flags |= GS_CPU_HOUSEKEEPING;
	m->cpus[112].flags |= GS_CPU_HOUSEKEEPING;
	m->cpus[5].flags = 0;		/* offline; sibling 117 stays online */
	m->cpus[60].flags |= GS_CPU_HOUSEKEEPING;	/* only one thread of core 60 */
	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0, "dgx-hk: exclusive GPU 0 with core 0 housekeeping");
	expect_cpus(m, 0, "1-4,6-14,113-126", "share shifts past core 0; offline CPU 5 left out");
	expect_held(m, 1, "1-14,113-126", "offline CPU 5 is held with its core");
	req.gpu = 3;
	req.reservation_id = 2;
	tap_ok(reserve(m, &req) == 0, "dgx-hk: exclusive GPU 3");
	expect_cpus(m, 0, "43-55,155-167", "55 capable cores: the last GPU's share is 13");
	req.gpu = 4;
	req.reservation_id = 3;
	tap_ok(reserve(m, &req) == 0, "dgx-hk: exclusive GPU 4");
	expect_cpus(m, 0, "56-59,61-70,168-171,173-182",
		    "a core with one housekeeping thread is never exclusive");
	req.policy = GS_POLICY_NODE;
	req.gpu = 1;
	req.reservation_id = 0;
	tap_ok(place(m, &req) == 0, "dgx-hk: node policy for GPU 1");
	expect_cpus(m, 0, "15-42,127-154", "node skips housekeeping, offline and held CPUs");
	req.gpu = 5;
	tap_ok(place(m, &req) == 0, "dgx-hk: node policy for GPU 5");
	expect_cpus(m, 0, "71-111,172,183-223",
		    "a shared policy may use core 60's non-housekeeping thread");
	machine_free(m);
}

static void test_dgx_split_cpuset(void)
{
	struct machine *m = dgx_h100();
	unsigned long *allowed = bitmap_new(224);
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 2, allowed);

	bitmap_from_list(allowed, 224, "0-27");	/* a container given first threads only */
	req.cores_per_worker = 1;
	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0, "dgx-cpuset: exclusive in a cpuset without siblings");
	expect_cpus(m, 0, "0", "the worker gets only the allowed thread");
	expect_cpus(m, 1, "1", "second worker");
	expect_held(m, 1, "0-1,112-113", "the whole cores are held");
	req.policy = GS_POLICY_NODE;
	req.cores_per_worker = 0;
	req.reservation_id = 0;
	req.nr_workers = 1;
	bitmap_from_list(allowed, 224, "0-223");
	tap_ok(place(m, &req) == 0, "dgx-cpuset: node policy for another job");
	expect_cpus(m, 0, "2-55,114-167", "held siblings 112-113 stay off-limits");
	machine_free(m);
	free(allowed);
}

static void test_epyc(void)
{
	struct machine *m = epyc();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	static const int want_nodes[8] = { 7, 7, 5, 5, 3, 3, 1, 1 };
	bool nodes_ok = true;
	uint32_t gpu;

	for (gpu = 0; gpu < 8; gpu++)
		nodes_ok = nodes_ok && gs_gpu_cpu_node(&m->topo, &m->ws, gpu) == want_nodes[gpu];
	tap_ok(nodes_ok, "epyc: GPUs map to nodes 7,7,5,5,3,3,1,1, not to CPU ranges");
	tap_ok(place(m, &req) == 0 && m->out.gpu_node == 7, "epyc: exclusive GPU 0 plan");
	expect_cpus(m, 0, "56-59,120-123", "GPU 0 gets the first half of node 7");
	req.gpu = 1;
	tap_ok(place(m, &req) == 0, "epyc: exclusive GPU 1 plan");
	expect_cpus(m, 0, "60-63,124-127", "GPU 1 the second half");
	req.gpu = 6;
	tap_ok(place(m, &req) == 0 && m->out.gpu_node == 1, "epyc: exclusive GPU 6 plan");
	expect_cpus(m, 0, "8-11,72-75", "GPU 6 the first half of node 1");

	req.policy = GS_POLICY_L3;
	req.gpu = 0;
	tap_ok(place(m, &req) == 0, "epyc: l3 GPU 0");
	expect_cpus(m, 0, "56-59,120-123", "GPU 0's cache is the one its block starts in");
	req.gpu = 1;
	tap_ok(place(m, &req) == 0, "epyc: l3 GPU 1");
	expect_cpus(m, 0, "60-63,124-127", "GPU 1 gets the other cache of node 7");
	req.gpu = 0;
	req.nr_workers = 3;
	tap_ok(place(m, &req) == 0, "epyc: l3 GPU 0 with 3 workers and 2 caches");
	expect_cpus(m, 0, "56-59,120-123", "first worker, first cache");
	expect_cpus(m, 1, "60-63,124-127", "second worker, the other cache");
	expect_cpus(m, 2, "56-59,120-123", "third worker shares round-robin");

	req.policy = GS_POLICY_NODE;
	req.gpu = 2;
	req.nr_workers = 1;
	tap_ok(place(m, &req) == 0 && m->out.gpu_node == 5, "epyc: node policy GPU 2");
	expect_cpus(m, 0, "40-47,104-111", "node 5");
	req.policy = GS_POLICY_SOCKET;
	tap_ok(place(m, &req) == 0, "epyc: socket policy GPU 2");
	expect_cpus(m, 0, "32-63,96-127", "package 1 = nodes 4-7");

	req.policy = GS_POLICY_EXCLUSIVE;
	req.gpu = 0;
	req.nr_workers = 6;
	req.cores_per_worker = 1;
	req.reservation_id = 1;
	expect_error(m, reserve(m, &req), -ENOSPC, GS_REASON_GPU_SHARE_FULL,
		     "6 cores for a GPU whose share is 4");
	req.flags = GS_REQUEST_SPILL;
	tap_ok(reserve(m, &req) == 0 && m->out.nr_spilled == 2 && m->worker_node[3] == 7 &&
	       m->worker_node[4] == 4 && m->worker_node[5] == 4,
	       "epyc: with SPILL 4 workers stay on node 7, 2 go to node 4");
	expect_cpus(m, 3, "59,123", "last local worker");
	expect_cpus(m, 4, "32,96", "nearest other node: 4,5,6 tie at 12, lowest id wins");
	expect_cpus(m, 5, "33,97", "second spilled worker");
	machine_free(m);
}

static void test_epyc_spill_order(void)
{
	struct machine *m = epyc();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 20, m->all_cpus);

	req.cores_per_worker = 1;
	req.flags = GS_REQUEST_SPILL;
	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0 && m->out.nr_spilled == 16,
	       "epyc-spill: 20 single-core workers for GPU 0 fill node 7's share, nodes 4 and 5");
	expect_held(m, 1, "32-47,56-59,96-111,120-123", "the spilling job");
	req = request(2, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	req.reservation_id = 2;
	expect_error(m, reserve(m, &req), -ENOSPC, GS_REASON_CPUS_HELD,
		     "GPU 2 after node 5 was taken by a spill");
	req.policy = GS_POLICY_NODE;
	expect_error(m, place(m, &req), -ENOSPC, GS_REASON_CPUS_HELD, "node policy on node 5");
	req.policy = GS_POLICY_SINGLE;
	expect_error(m, place(m, &req), -ENOSPC, GS_REASON_CPUS_HELD, "single policy on node 5");
	req.policy = GS_POLICY_L3;
	expect_error(m, place(m, &req), -ENOSPC, GS_REASON_CPUS_HELD, "l3 policy on node 5");
	req.policy = GS_POLICY_SOCKET;
	tap_ok(place(m, &req) == 0, "epyc-spill: socket policy still finds package 1's free CPUs");
	expect_cpus(m, 0, "48-55,60-63,112-119,124-127", "package 1 minus the held cores");
	req.policy = GS_POLICY_NODE;
	req.flags = GS_REQUEST_SPILL;
	tap_ok(place(m, &req) == 0 && m->worker_node[0] == 6 && m->out.nr_spilled == 1,
	       "epyc-spill: node policy with SPILL moves to node 6");
	expect_cpus(m, 0, "48-55,112-119", "node 6: nearest with free CPUs (4 held, 6 free)");
	req.policy = GS_POLICY_SINGLE;
	tap_ok(place(m, &req) == 0 && m->worker_node[0] == 6, "epyc-spill: single with SPILL");
	expect_cpus(m, 0, "48,112", "first free core of node 6");
	req.policy = GS_POLICY_L3;
	req.nr_workers = 2;
	tap_ok(place(m, &req) == 0 && m->worker_node[1] == 6, "epyc-spill: l3 with SPILL");
	expect_cpus(m, 1, "52-55,116-119", "node 6's second cache");
	req.policy = GS_POLICY_EXCLUSIVE;
	req.nr_workers = 1;
	tap_ok(reserve(m, &req) == 0 && m->worker_node[0] == 6,
	       "epyc-spill: exclusive GPU 2 with SPILL");
	expect_cpus(m, 0, "48,112", "one core (nothing local) from node 6");
	tap_ok(gs_release(&m->resv, 1, NULL) == 40, "epyc-spill: releasing the 20-core job frees 40 CPUs");
	machine_free(m);
}

static void test_workstation(void)
{
	struct machine *m = workstation();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);

	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0, "workstation: GPU 0 of 3 on 8 cores");
	expect_cpus(m, 0, "0-5", "shares 3,3,2: GPU 0 gets cores 0-2 (CPUs 0-5)");
	req.gpu = 2;
	req.reservation_id = 3;
	tap_ok(reserve(m, &req) == 0, "workstation: GPU 2");
	expect_cpus(m, 0, "12-15", "GPU 2 gets the short share, cores 6-7");
	req.gpu = 1;
	req.reservation_id = 2;
	req.nr_workers = 4;
	req.flags = GS_REQUEST_SPILL;
	expect_error(m, reserve(m, &req), -ENOSPC, GS_REASON_GPU_SHARE_FULL,
		     "4 workers on a 3-core share, SPILL but no other node");
	req.nr_workers = 3;
	req.cores_per_worker = 1;
	tap_ok(reserve(m, &req) == 0, "workstation: GPU 1, 3 workers x 1 core");
	expect_cpus(m, 2, "10-11", "adjacent sibling numbering keeps cores whole");
	req.policy = GS_POLICY_SINGLE;
	req.cores_per_worker = 0;
	req.reservation_id = 0;
	req.nr_workers = 1;
	expect_error(m, place(m, &req), -ENOSPC, GS_REASON_CPUS_HELD,
		     "single policy with every core held");
	req.reservation_id = 2;
	tap_ok(place(m, &req) == 0, "workstation: single under GPU 1's own reservation");
	expect_cpus(m, 0, "6-7", "its own first core");
	release_all(m);
	req = request(1, GS_POLICY_EXCLUSIVE, 9, m->all_cpus);
	req.cores_per_worker = 1;
	req.reservation_id = 4;
	req.flags = GS_REQUEST_SPILL;
	expect_error(m, reserve(m, &req), -ENOSPC, GS_REASON_NO_USABLE_CPUS,
		     "9 cores on an 8-core machine");
	machine_free(m);
}

static void test_grace(void)
{
	struct machine *m = grace();
	struct gs_request req = request(1, GS_POLICY_NODE, 1, m->all_cpus);

	tap_ok(gs_gpu_cpu_node(&m->topo, &m->ws, 0) == 0 &&
	       gs_gpu_cpu_node(&m->topo, &m->ws, 1) == 1,
	       "grace: GPUs on CPU-less nodes 2 and 3 are local to nodes 0 and 1");
	tap_ok(place(m, &req) == 0 && m->out.gpu_node == 1 && m->out.nr_spilled == 0,
	       "grace: node policy for GPU 1");
	expect_cpus(m, 0, "4-7", "the nearest node with CPUs is home, not a spill");
	req.policy = GS_POLICY_EXCLUSIVE;
	req.gpu = 0;
	req.reservation_id = 1;
	tap_ok(reserve(m, &req) == 0, "grace: exclusive GPU 0");
	expect_cpus(m, 0, "0-3", "GPU 0 alone on node 0 gets all of it");
	gs_release(&m->resv, 1, NULL);

	req.gpu = 1;
	req.nr_workers = 8;
	req.cores_per_worker = 1;
	req.flags = GS_REQUEST_SPILL;
	req.reservation_id = 2;
	tap_ok(reserve(m, &req) == 0 && m->out.nr_spilled == 4 && m->worker_node[4] == 0,
	       "grace: GPU 1 spills from node 1 to node 0, skipping CPU-less node 2");
	req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	req.flags = GS_REQUEST_SPILL;
	req.reservation_id = 3;
	expect_error(m, reserve(m, &req), -ENOSPC, GS_REASON_CPUS_HELD,
		     "GPU 0 with SPILL when every core is held");
	gs_release(&m->resv, 2, NULL);

	m->distance[2 * 4 + 1] = 80;	/* node 2 now as near to node 1 as to node 0 */
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0 &&
	       gs_gpu_cpu_node(&m->topo, &m->ws, 0) == 0,
	       "grace: equidistant CPU nodes tie to the lowest node id");
	m->distance[2 * 4 + 0] = 120;	/* asymmetric: node 0 -> 2 stays 80 */
	tap_ok(gs_topology_validate(&m->topo, NULL) == 0 &&
	       gs_gpu_cpu_node(&m->topo, &m->ws, 0) == 1,
	       "grace: the GPU node's own distance row decides");
	machine_free(m);
}

static void test_snc(void)
{
	struct machine *m = snc();
	struct gs_request req = request(1, GS_POLICY_L3, 2, m->all_cpus);

	tap_ok(place(m, &req) == 0 && m->out.gpu_node == 1, "snc: l3 for the GPU on node 1");
	expect_cpus(m, 0, "4-7,12-15", "a cache spanning two nodes is cut to the GPU's node");
	expect_cpus(m, 1, "4-7,12-15", "one cache on the node: the second worker shares it");
	req.policy = GS_POLICY_SOCKET;
	tap_ok(place(m, &req) == 0, "snc: socket policy for the GPU on node 1");
	expect_cpus(m, 0, "0-15", "the package holds both nodes");
	machine_free(m);
}

/* Different allowed sets and failing calls must leave the table untouched. */
static void test_failure_leaves_reservations(void)
{
	struct machine *m = dgx_h100();
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	struct gs_hold *before = zalloc(224 * sizeof(*before));

	req.reservation_id = 1;
	reserve(m, &req);
	memcpy(before, m->holds, 224 * sizeof(*before));
	req.reservation_id = 2;
	req.nr_workers = 50;
	req.cores_per_worker = 1;
	req.flags = GS_REQUEST_SPILL;
	tap_ok(reserve(m, &req) == 0, "dgx: 50 workers with SPILL succeed");
	gs_release(&m->resv, 2, NULL);
	tap_ok(memcmp(before, m->holds, 224 * sizeof(*before)) == 0,
	       "dgx: releasing them restores the table exactly");
	req.nr_workers = 250;
	tap_ok(reserve(m, &req) == -ENOSPC && m->out.nr_workers == 0 &&
	       memcmp(before, m->holds, 224 * sizeof(*before)) == 0,
	       "dgx: a failed reservation changes nothing");
	free(before);
	machine_free(m);
}


/*
 * Reference model for the random tests: slow, obvious restatements of the
 * rules in Documentation/placement.rst, evaluated on the snapshot and the
 * reservation table as they were before each call.
 */
#define NONE UINT32_MAX
#define NR_IDS 5u

struct model {
	bool *has_cpus;		/* per node */
	bool *capable;		/* per core leader: an online CPU and no housekeeping CPU */
	bool *usable;		/* per core leader: a CPU the request may use */
	bool *held;		/* per core leader: a CPU held by any reservation */
	bool *held_for_gpu;	/* per core leader: a CPU held for the request's GPU */
	bool *seen;		/* scratch per CPU */
	uint32_t *owner;	/* per core leader: its worker; per worker: its core or cache */
	uint32_t *order;	/* nodes with CPUs in spill order from the request's GPU */
	uint32_t nr_order;
};

struct share_model {
	uint32_t home, quota, held, left, usable, free;
};

static bool ref_usable(const struct machine *m, const unsigned long *allowed, uint32_t cpu)
{
	uint32_t flags = m->cpus[cpu].flags;

	return (flags & GS_CPU_ONLINE) && !(flags & GS_CPU_HOUSEKEEPING) &&
	       gs_bit_test(allowed, cpu);
}

static bool ref_free(const struct machine *m, const struct gs_request *req, uint32_t cpu)
{
	uint32_t holder = m->holds[cpu].reservation;

	return ref_usable(m, req->allowed_cpus, cpu) &&
	       (!holder || holder == req->reservation_id);
}

static bool is_leader(const struct machine *m, uint32_t cpu)
{
	return m->cpus[cpu].core == cpu;
}

/* Does node @a come before node @b in the spill order from @origin? */
static bool ref_before(const struct machine *m, uint32_t origin, uint32_t a, uint32_t b)
{
	uint32_t da = m->distance[origin * m->topo.nr_nodes + a];
	uint32_t db = m->distance[origin * m->topo.nr_nodes + b];

	return da < db || (da == db && a < b);
}

static uint32_t ref_home(const struct model *model, const struct machine *m, uint32_t gpu)
{
	uint32_t node, best = NONE;

	for (node = 0; node < m->topo.nr_nodes; node++)
		if (model->has_cpus[node] &&
		    (best == NONE || ref_before(m, m->gpus[gpu].cpu_node, node, best)))
			best = node;
	return best;
}

static struct model *model_new(const struct machine *m)
{
	struct model *model = zalloc(sizeof(*model));
	uint32_t n = m->topo.nr_cpus;

	model->has_cpus = zalloc(m->topo.nr_nodes * sizeof(bool));
	model->capable = zalloc(n * sizeof(bool));
	model->usable = zalloc(n * sizeof(bool));
	model->held = zalloc(n * sizeof(bool));
	model->held_for_gpu = zalloc(n * sizeof(bool));
	model->seen = zalloc(n * sizeof(bool));
	model->owner = zalloc((n > MAX_WORKERS ? n : MAX_WORKERS) * sizeof(uint32_t));
	model->order = zalloc(m->topo.nr_nodes * sizeof(uint32_t));
	return model;
}

static void model_free(struct model *model)
{
	free(model->has_cpus);
	free(model->capable);
	free(model->usable);
	free(model->held);
	free(model->held_for_gpu);
	free(model->seen);
	free(model->owner);
	free(model->order);
	free(model);
}

static void model_fill(struct model *model, const struct machine *m, const struct gs_request *req)
{
	uint32_t cpu, core, node, i, j, origin = m->gpus[req->gpu].cpu_node;

	for (node = 0; node < m->topo.nr_nodes; node++)
		model->has_cpus[node] = false;
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		model->has_cpus[m->cpus[cpu].node] = true;
		model->capable[cpu] = false;
		model->usable[cpu] = false;
		model->held[cpu] = false;
		model->held_for_gpu[cpu] = false;
	}
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		core = m->cpus[cpu].core;
		model->capable[core] |= (m->cpus[cpu].flags & GS_CPU_ONLINE) != 0;
		model->usable[core] |= ref_usable(m, req->allowed_cpus, cpu);
		model->held[core] |= m->holds[cpu].reservation != 0;
		model->held_for_gpu[core] |= m->holds[cpu].reservation != 0 &&
					     m->holds[cpu].gpu == req->gpu;
	}
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		if (m->cpus[cpu].flags & GS_CPU_HOUSEKEEPING)
			model->capable[m->cpus[cpu].core] = false;
	model->nr_order = 0;
	for (node = 0; node < m->topo.nr_nodes; node++) {
		if (!model->has_cpus[node])
			continue;
		for (i = model->nr_order; i > 0 && ref_before(m, origin, node, model->order[i - 1]);
		     i--)
			model->order[i] = model->order[i - 1];
		model->order[i] = node;
		model->nr_order++;
	}
	for (j = 0; j < MAX_WORKERS; j++)
		model->owner[j] = NONE;
}

static void model_share(const struct model *model, const struct machine *m, uint32_t gpu,
			struct share_model *share)
{
	uint32_t other, local_gpus = 0, rank = 0, capable = 0, core;

	share->home = ref_home(model, m, gpu);
	share->held = 0;
	share->usable = 0;
	share->free = 0;
	for (other = 0; other < m->topo.nr_gpus; other++) {
		if (ref_home(model, m, other) != share->home)
			continue;
		local_gpus++;
		rank += other < gpu;
	}
	for (core = 0; core < m->topo.nr_cpus; core++) {
		if (!is_leader(m, core) || m->cpus[core].node != share->home || !model->capable[core])
			continue;
		capable++;
		share->held += model->held_for_gpu[core];
		share->usable += model->usable[core];
		share->free += model->usable[core] && !model->held[core];
	}
	share->quota = capable / local_gpus + (rank < capable % local_gpus);
	share->left = share->quota > share->held ? share->quota - share->held : 0;
}

/* Capable cores of @node with a usable CPU; *@free counts those nobody holds. */
static uint32_t model_node_cores(const struct model *model, const struct machine *m,
				 uint32_t node, uint32_t *free_cores)
{
	uint32_t core, usable = 0;

	*free_cores = 0;
	for (core = 0; core < m->topo.nr_cpus; core++) {
		if (!is_leader(m, core) || m->cpus[core].node != node || !model->capable[core] ||
		    !model->usable[core])
			continue;
		usable++;
		*free_cores += !model->held[core];
	}
	return usable;
}

static uint32_t exclusive_need(const struct gs_request *req, const struct share_model *share,
			       uint32_t nr_cpus)
{
	uint32_t available = share->left < share->free ? share->left : share->free;

	if (req->cores_per_worker > nr_cpus / req->nr_workers)
		return nr_cpus + 1;
	if (req->cores_per_worker)
		return req->cores_per_worker * req->nr_workers;
	return available > req->nr_workers ? available : req->nr_workers;
}

/* An exclusive failure must be justified and carry the documented reason. */
static const char *check_exclusive_failure(const struct model *model, const struct machine *m,
					   const struct gs_request *req, int err)
{
	uint32_t need, usable_elsewhere = 0, free_elsewhere = 0, free_cores, i, want, available;
	struct share_model share;

	if (err != -ENOSPC)
		return "exclusive failed with an errno other than -ENOSPC";
	model_share(model, m, req->gpu, &share);
	need = exclusive_need(req, &share, m->topo.nr_cpus);
	available = share.left < share.free ? share.left : share.free;
	if (req->flags & GS_REQUEST_SPILL) {
		for (i = 1; i < model->nr_order; i++) {
			usable_elsewhere += model_node_cores(model, m, model->order[i], &free_cores);
			free_elsewhere += free_cores;
		}
	}
	if (available + free_elsewhere >= need)
		return "exclusive failed although enough free cores were within reach";
	if (share.usable + usable_elsewhere < need)
		want = GS_REASON_NO_USABLE_CPUS;
	else if (share.left + usable_elsewhere < need)
		want = GS_REASON_GPU_SHARE_FULL;
	else
		want = GS_REASON_CPUS_HELD;
	return m->out.error.reason == want ? NULL : "exclusive failed with the wrong reason";
}

/* Checks one worker's CPUs, recording which worker owns each core. */
static const char *check_exclusive_worker(struct model *model, struct machine *m,
					  const struct gs_request *req, uint32_t worker,
					  uint32_t home, uint32_t *cores, bool *spilled)
{
	uint32_t cpu, core;

	*cores = 0;
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		if (!gs_bit_test(worker_set(m, worker), cpu))
			continue;
		core = m->cpus[cpu].core;
		if (!ref_usable(m, req->allowed_cpus, cpu))
			return "a worker got an unusable CPU";
		if (model->held[core])
			return "a worker got a core that was already held";
		if (!model->capable[core])
			return "a worker got a core with a housekeeping CPU";
		if (model->owner[core] != NONE && model->owner[core] != worker)
			return "a core was split between two workers";
		if (model->owner[core] == NONE) {
			model->owner[core] = worker;
			(*cores)++;
		}
		if (m->cpus[cpu].node != home) {
			if (!(req->flags & GS_REQUEST_SPILL))
				return "a CPU off the GPU's node without SPILL";
			*spilled = true;
		}
	}
	return *cores ? NULL : "a worker got no CPUs";
}

static const char *check_exclusive(struct model *model, struct model *after_model,
				   struct machine *m, const struct gs_request *req,
				   const struct gs_hold *before)
{
	uint32_t worker, cpu, cores, fewest = NONE, most = 0, total = 0, spilled_workers = 0;
	struct share_model share, after;
	bool spilled = false;
	const char *why;

	model_share(model, m, req->gpu, &share);
	if (m->out.gpu_node != share.home)
		return "gpu_node is not the GPU's home";
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		model->owner[cpu] = NONE;
	for (worker = 0; worker < req->nr_workers; worker++) {
		why = check_exclusive_worker(model, m, req, worker, share.home, &cores, &spilled);
		if (why)
			return why;
		if (req->cores_per_worker && cores != req->cores_per_worker)
			return "a worker got other than cores_per_worker cores";
		fewest = cores < fewest ? cores : fewest;
		most = cores > most ? cores : most;
		total += cores;
		spilled_workers += m->worker_node[worker] != share.home;
	}
	if (most - fewest > 1)
		return "workers' core counts differ by more than one";
	if (total != exclusive_need(req, &share, m->topo.nr_cpus))
		return "the job got other than the documented number of cores";
	if (spilled_workers != m->out.nr_spilled)
		return "nr_spilled does not count the workers off the GPU's node";
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		worker = model->owner[m->cpus[cpu].core];
		if (worker != NONE && ref_usable(m, req->allowed_cpus, cpu) &&
		    !gs_bit_test(worker_set(m, worker), cpu))
			return "a usable SMT sibling was left out of its core's worker";
		if (worker != NONE && (m->holds[cpu].reservation != req->reservation_id ||
				       m->holds[cpu].gpu != req->gpu))
			return "a CPU of a granted core is not held by the reservation";
		if (worker == NONE && (m->holds[cpu].reservation != before[cpu].reservation ||
				       m->holds[cpu].gpu != before[cpu].gpu))
			return "a hold changed outside the granted cores";
	}
	model_fill(after_model, m, req);
	model_share(after_model, m, req->gpu, &after);
	if (after.held > (share.held > share.quota ? share.held : share.quota))
		return "the GPU now holds more than its share of its node";
	if (spilled && after.left && after.free)
		return "spilled while the GPU's share still had free local cores";
	return NULL;
}

/* Marks in model->seen the packages with a CPU on @node. */
static void mark_packages(struct model *model, const struct machine *m, uint32_t node)
{
	uint32_t cpu;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		model->seen[cpu] = false;
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		if (m->cpus[cpu].node == node)
			model->seen[m->cpus[cpu].package] = true;
}

/* Is @cpu in the set the node or socket policy draws from @node?  Needs mark_packages(). */
static bool in_cpu_set(const struct model *model, const struct machine *m,
		       const struct gs_request *req, uint32_t node, uint32_t cpu)
{
	if (req->policy == GS_POLICY_NODE)
		return m->cpus[cpu].node == node;
	return model->seen[m->cpus[cpu].package];
}

static bool uses_cpu_set(const struct gs_request *req)
{
	return req->policy == GS_POLICY_NODE || req->policy == GS_POLICY_SOCKET;
}

static bool node_has_free(struct model *model, const struct machine *m,
			  const struct gs_request *req, uint32_t node, bool *usable_seen)
{
	bool member, found = false;
	uint32_t cpu;

	mark_packages(model, m, node);
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		member = uses_cpu_set(req) ? in_cpu_set(model, m, req, node, cpu) :
					     m->cpus[cpu].node == node;
		if (!member || !ref_usable(m, req->allowed_cpus, cpu))
			continue;
		*usable_seen = true;
		found |= ref_free(m, req, cpu);
	}
	return found;
}

static uint32_t group_of(const struct machine *m, const struct gs_request *req, uint32_t cpu)
{
	return req->policy == GS_POLICY_L3 ? m->cpus[cpu].llc : m->cpus[cpu].core;
}

/* Cores (single) or caches (l3) of @node that have a free CPU there. */
static uint32_t free_groups(struct model *model, const struct machine *m,
			    const struct gs_request *req, uint32_t node)
{
	uint32_t cpu, count = 0;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		model->seen[cpu] = false;
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		if (m->cpus[cpu].node != node || !ref_free(m, req, cpu) ||
		    model->seen[group_of(m, req, cpu)])
			continue;
		model->seen[group_of(m, req, cpu)] = true;
		count++;
	}
	return count;
}

/* A single/l3 worker's set must be exactly the free CPUs on @node of one core or cache. */
static const char *check_group_worker(struct machine *m, const struct gs_request *req,
				      uint32_t worker, uint32_t node, uint32_t *group)
{
	uint32_t cpu, first = NONE;
	bool want;

	for (cpu = 0; cpu < m->topo.nr_cpus && first == NONE; cpu++)
		if (gs_bit_test(worker_set(m, worker), cpu))
			first = cpu;
	if (first == NONE)
		return "a worker got no CPUs";
	*group = group_of(m, req, first);
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		want = group_of(m, req, cpu) == *group && m->cpus[cpu].node == node &&
		       ref_free(m, req, cpu);
		if (want != gs_bit_test(worker_set(m, worker), cpu))
			return "a worker's set is not exactly the free CPUs of one core or cache";
	}
	return NULL;
}

static const char *check_shared_workers(struct model *model, struct machine *m,
					const struct gs_request *req, uint32_t node)
{
	uint32_t worker, other, cpu, distinct;
	const char *why;

	distinct = free_groups(model, m, req, node);
	distinct = distinct < req->nr_workers ? distinct : req->nr_workers;
	mark_packages(model, m, node);
	for (worker = 0; worker < req->nr_workers; worker++) {
		if (m->worker_node[worker] != node)
			return "a worker is not on the first node with free CPUs";
		if (uses_cpu_set(req)) {
			for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
				if (gs_bit_test(worker_set(m, worker), cpu) !=
				    (in_cpu_set(model, m, req, node, cpu) && ref_free(m, req, cpu)))
					return "a node/socket set is not every free CPU of its node";
			continue;
		}
		why = check_group_worker(m, req, worker, node, &model->owner[worker]);
		if (why)
			return why;
		for (other = 0; other < worker && worker < distinct; other++)
			if (model->owner[other] == model->owner[worker])
				return "two workers share a core or cache while others were free";
		if (worker >= distinct && model->owner[worker] != model->owner[worker % distinct])
			return "workers beyond the free cores or caches are not round-robin";
	}
	return NULL;
}

static const char *check_shared(struct model *model, struct machine *m,
				const struct gs_request *req, int err)
{
	uint32_t i, node = NONE;
	bool usable_seen = false;

	for (i = 0; i < model->nr_order; i++) {
		if (node_has_free(model, m, req, model->order[i], &usable_seen)) {
			node = model->order[i];
			break;
		}
		if (!(req->flags & GS_REQUEST_SPILL))
			break;
	}
	if (err) {
		if (node != NONE || err != -ENOSPC)
			return "a shared policy failed although CPUs were free";
		if (m->out.error.reason != (usable_seen ? GS_REASON_CPUS_HELD :
					    GS_REASON_NO_USABLE_CPUS))
			return "a shared policy failed with the wrong reason";
		return NULL;
	}
	if (node == NONE)
		return "a shared policy succeeded with nothing free";
	if (m->out.nr_spilled != (node == model->order[0] ? 0 : req->nr_workers))
		return "nr_spilled is wrong";
	return check_shared_workers(model, m, req, node);
}

/* splitmix64: a fixed seed makes every run check the same sequence. */
static uint64_t rng_state;

static uint32_t rng_below(uint32_t bound)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) % bound);
}

/* Mostly the whole machine; sometimes a random cpuset, one node, or first threads only. */
static void random_allowed(const struct machine *m, unsigned long *allowed)
{
	uint32_t cpu, kind = rng_below(10), node = rng_below(m->topo.nr_nodes);

	gs_map_zero(allowed, m->topo.nr_cpus);
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		if (kind < 6 || (kind < 8 && rng_below(4)) ||
		    (kind == 8 && m->cpus[cpu].node == node) || (kind == 9 && is_leader(m, cpu)))
			gs_bit_set(allowed, cpu);
	}
}

static void random_request(const struct machine *m, struct gs_request *req,
			   unsigned long *allowed)
{
	uint32_t policy = GS_POLICY_NODE + rng_below(5);
	uint32_t exclusive_workers = m->topo.nr_cpus / 8 < 6 ? m->topo.nr_cpus / 8 + 1 : 6;

	random_allowed(m, allowed);
	*req = request(rng_below(m->topo.nr_gpus), policy,
		       1 + rng_below(policy == GS_POLICY_EXCLUSIVE ? exclusive_workers : 10),
		       allowed);
	if (policy == GS_POLICY_EXCLUSIVE && rng_below(2))
		req->cores_per_worker = 1 + rng_below(3);
	if (!rng_below(3))
		req->flags = GS_REQUEST_SPILL;
	req->reservation_id = policy == GS_POLICY_EXCLUSIVE || rng_below(2) ?
			      1 + rng_below(NR_IDS) : 0;
}

/* Every core is held whole by one reservation or not at all, exactly as tracked. */
static const char *check_table(const struct machine *m, unsigned long *const *taken)
{
	uint32_t cpu, id, holder;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++) {
		holder = m->holds[cpu].reservation;
		if (holder != m->holds[m->cpus[cpu].core].reservation)
			return "a core is held by two reservations, or only in part";
		for (id = 1; id <= NR_IDS; id++)
			if (gs_bit_test(taken[id], cpu) != (holder == id))
				return "the table differs from what the reservations took";
	}
	return NULL;
}

struct random_run {
	struct machine *m;
	struct model *model, *after;
	struct gs_hold *before;
	unsigned long *allowed, *released, *plan;
	uint32_t plan_node[MAX_WORKERS];
	unsigned long *taken[NR_IDS + 1];
	uint32_t placed[GS_POLICY_SINGLE + 1];
	uint32_t failed[GS_POLICY_SINGLE + 1];
	uint32_t spilled;
	uint32_t releases;
	bool both_ways;		/* the topology has bitmaps: place without them too */
};

static const char *random_release(struct random_run *run)
{
	struct machine *m = run->m;
	uint32_t id = 1 + rng_below(NR_IDS);
	uint32_t count = gs_release(&m->resv, id, run->released);

	run->releases++;
	if (!bitmap_equal(run->released, run->taken[id], m->topo.nr_cpus) ||
	    count != bitmap_weight(run->taken[id], m->topo.nr_cpus))
		return "release did not return exactly what was taken";
	gs_map_zero(run->taken[id], m->topo.nr_cpus);
	return NULL;
}

/* CPU hotplug and housekeeping changes between requests, as the daemon reports them. */
static void random_topology_change(struct machine *m)
{
	uint32_t cpu = rng_below(m->topo.nr_cpus);

	if (rng_below(2))
		m->cpus[cpu].flags ^= GS_CPU_ONLINE;
	else
		m->cpus[cpu].flags ^= GS_CPU_HOUSEKEEPING;
	if (m->topo.node_masks)
		gs_topology_masks(&m->topo, m->masks);
}

static const char *random_placement(struct random_run *run)
{
	struct machine *m = run->m;
	size_t set_bytes = (size_t)words_for(m->topo.nr_cpus) * sizeof(unsigned long);
	struct gs_request req;
	int planned, err;
	uint32_t cpu;

	random_request(m, &req, run->allowed);
	model_fill(run->model, m, &req);
	memcpy(run->before, m->holds, m->topo.nr_cpus * sizeof(*run->before));
	planned = place(m, &req);
	memcpy(run->plan, m->worker_cpus, req.nr_workers * set_bytes);
	memcpy(run->plan_node, m->worker_node, req.nr_workers * sizeof(uint32_t));
	if (run->both_ways && place_without_masks(m, &req) != planned)
		return "the bitmaps changed gs_place()'s answer";
	if (run->both_ways && !planned &&
	    (memcmp(run->plan, m->worker_cpus, req.nr_workers * set_bytes) ||
	     memcmp(run->plan_node, m->worker_node, req.nr_workers * sizeof(uint32_t))))
		return "the bitmaps changed gs_place()'s CPUs";
	err = reserve(m, &req);
	if (err != planned || (!err && (memcmp(run->plan, m->worker_cpus,
					       req.nr_workers * set_bytes) ||
					memcmp(run->plan_node, m->worker_node,
					       req.nr_workers * sizeof(uint32_t)))))
		return "gs_place and gs_reserve disagree";
	if (err)
		run->failed[req.policy]++;
	else
		run->placed[req.policy]++;
	run->spilled += !err && m->out.nr_spilled;
	if (req.policy != GS_POLICY_EXCLUSIVE || err) {
		if (memcmp(run->before, m->holds, m->topo.nr_cpus * sizeof(*run->before)))
			return "a call that reserves nothing changed the table";
		if (req.policy == GS_POLICY_EXCLUSIVE)
			return check_exclusive_failure(run->model, m, &req, err);
		return check_shared(run->model, m, &req, err);
	}
	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		if (m->holds[cpu].reservation != run->before[cpu].reservation)
			gs_bit_set(run->taken[req.reservation_id], cpu);
	return check_exclusive(run->model, run->after, m, &req, run->before);
}

static void test_random(struct machine *m, uint64_t seed, uint32_t steps)
{
	struct random_run run = { .m = m };
	uint32_t step, id, roll, policy;
	const char *why = NULL;
	bool exercised;

	rng_state = seed;
	/*
	 * With the bitmaps the node policy places a word at a time; each
	 * placement is checked against the CPU-at-a-time one too.
	 */
	gs_topology_masks(&m->topo, m->masks);
	run.both_ways = true;
	run.model = model_new(m);
	run.after = model_new(m);
	run.before = zalloc(m->topo.nr_cpus * sizeof(*run.before));
	run.allowed = bitmap_new(m->topo.nr_cpus);
	run.released = bitmap_new(m->topo.nr_cpus);
	run.plan = zalloc((size_t)MAX_WORKERS * words_for(m->topo.nr_cpus) * sizeof(unsigned long));
	for (id = 0; id <= NR_IDS; id++)
		run.taken[id] = bitmap_new(m->topo.nr_cpus);
	for (step = 0; step < steps && !why; step++) {
		roll = rng_below(100);
		if (roll < 4)
			random_topology_change(m);
		else if (roll < 30)
			why = random_release(&run);
		else
			why = random_placement(&run);
		if (!why && gs_topology_validate(&m->topo, NULL))
			why = "the snapshot stopped validating";
		if (!why)
			why = check_table(m, run.taken);
	}
	if (!tap_ok(!why, "random: %s: %u steps keep every invariant", m->name, steps))
		tap_diag("step %u: %s", step - 1, why);
	exercised = run.releases > steps / 10 &&
		    (m->topo.nr_nodes == 1 || run.spilled > steps / 50);
	for (policy = GS_POLICY_NODE; policy <= GS_POLICY_SINGLE; policy++) {
		tap_diag("%s: %-9s placed %4u, failed %4u", m->name, gs_policy_name(policy),
			 run.placed[policy], run.failed[policy]);
		exercised = exercised && run.placed[policy] > steps / 100 && run.failed[policy];
	}
	tap_ok(exercised, "random: %s: every policy succeeded and failed, %u spills, %u releases",
	       m->name, run.spilled, run.releases);
	for (id = 0; id <= NR_IDS; id++)
		free(run.taken[id]);
	free(run.plan);
	free(run.released);
	free(run.allowed);
	free(run.before);
	model_free(run.after);
	model_free(run.model);
	machine_free(m);
}

static uint32_t cores_held(const struct machine *m, uint32_t id)
{
	uint32_t cpu, cores = 0;

	for (cpu = 0; cpu < m->topo.nr_cpus; cpu++)
		cores += is_leader(m, cpu) && m->holds[cpu].reservation == id;
	return cores;
}

/* Every GPU of a node asking for its whole share gets shares that differ by at most one. */
static void test_balanced_shares(struct machine *m, uint32_t want_total)
{
	struct gs_request req = request(0, GS_POLICY_EXCLUSIVE, 1, m->all_cpus);
	uint32_t gpu, node, cores, fewest, most, total = 0;
	bool balanced = true, placed = true;
	int home;

	for (gpu = 0; gpu < m->topo.nr_gpus; gpu++) {
		req.gpu = gpu;
		req.reservation_id = gpu + 1;
		placed = placed && reserve(m, &req) == 0;
	}
	for (node = 0; node < m->topo.nr_nodes; node++) {
		fewest = NONE;
		most = 0;
		for (gpu = 0; gpu < m->topo.nr_gpus; gpu++) {
			home = gs_gpu_cpu_node(&m->topo, &m->ws, gpu);
			if (home != (int)node)
				continue;
			cores = cores_held(m, gpu + 1);
			total += cores;
			fewest = cores < fewest ? cores : fewest;
			most = cores > most ? cores : most;
		}
		balanced = balanced && (fewest == NONE || most - fewest <= 1);
	}
	if (!tap_ok(placed && balanced,
		    "%s: GPUs of a node get shares differing by at most one core", m->name))
		tap_diag("placed %d, balanced %d", placed, balanced);
	tap_ok(total == want_total, "%s: together they hold every capable core of their nodes (%u)",
	       m->name, want_total);
	machine_free(m);
}

/* The workstation after hotplug took core 2 (CPUs 4-5) away: 7 cores for 3 GPUs. */
static struct machine *workstation_offline(void)
{
	struct machine *m = workstation();

	m->cpus[4].flags = 0;
	m->cpus[5].flags = 0;
	m->name = "workstation-offline";
	return m;
}

int main(void)
{
	tap_start();
	test_bitmap_helpers();
	test_valid_machines();
	test_validation_errors();
	test_node_index();
	test_request_errors();
	test_helper_errors();
	test_dgx_exclusive();
	test_dgx_shared();
	test_dgx_housekeeping_offline();
	test_dgx_split_cpuset();
	test_epyc();
	test_epyc_spill_order();
	test_workstation();
	test_grace();
	test_snc();
	test_failure_leaves_reservations();
	test_balanced_shares(dgx_h100(), 112);
	test_balanced_shares(epyc(), 32);
	test_balanced_shares(workstation(), 8);
	test_balanced_shares(workstation_offline(), 7);
	test_random(dgx_h100(), 1, 3000);
	test_random(epyc(), 2, 3000);
	test_random(workstation(), 3, 3000);
	test_random(grace(), 4, 3000);
	test_random(snc(), 5, 3000);
	return tap_done();
}
