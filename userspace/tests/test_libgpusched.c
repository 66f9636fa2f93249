// SPDX-License-Identifier: GPL-2.0
/*
 * libgpusched without a module, and the snapshot that feeds both the
 * engine in userspace and the module: opening the device's error paths,
 * the name tables, the memory policy, the PCI address format, the engine
 * snapshot and SET_TOPOLOGY request of fixture machines (groups named by
 * their lowest CPU, offline CPUs naming themselves, isolated CPUs kept
 * from workers, unknown GPU nodes refused), the fallback placement (never
 * on a CPU a fixture has offline or absent), and
 * that QUERY writes no more of the caller's struct than its size (checked
 * in a copy of this program run against the stand-in module,
 * fake_gpusched.so beside it).
 *
 * Usage: test_libgpusched [FIXTURES_DIR] (default $GS_FIXTURES_DIR, then
 * "fixtures" beside this program's source).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fallback_cache.h"
#include "libgpusched.h"
#include "snapshot.h"
#include "tap.h"

static const char *fixtures;

static struct gs_machine *discover(const char *root)
{
	struct gs_discover_opts opts = { .root = root };
	struct gs_machine *machine = NULL;

	if (gs_discover(&opts, &machine))
		return NULL;
	return machine;
}

static char *fixture(const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", fixtures, name) < 0)
		exit(1);
	return path;
}

static void test_open(void)
{
	struct gpusched *gs = NULL;

	tap_ok(gpusched_open("/nonexistent/gpusched", 0, &gs) == -ENOENT && !gs,
	       "gpusched_open of a missing device gives -ENOENT");
	tap_ok(gpusched_open("/dev/null", 0, &gs) == -EPROTO && !gs,
	       "gpusched_open of a device that is not gpusched gives -EPROTO");
	tap_ok(gpusched_open("/dev/null", 0x80, &gs) == -EINVAL,
	       "gpusched_open with an unknown flag gives -EINVAL");
}

static void test_names(void)
{
	static const char *const policies[] = {
		"default", "node", "socket", "exclusive", "l3", "single"
	};
	unsigned int i;
	bool round_trip = true;

	for (i = 0; i < 6; i++)
		round_trip &= gpusched_policy_parse(policies[i]) == (int)i &&
			      !strcmp(gpusched_policy_name(i), policies[i]);
	tap_ok(round_trip, "every policy name parses to its uapi value and back");
	tap_ok(i == GPUSCHED_POLICY_SINGLE + 1 && GPUSCHED_POLICY_EXCLUSIVE == 3,
	       "the names cover exactly the uapi policies");
	tap_ok(gpusched_policy_parse("Exclusive") == -EINVAL &&
	       gpusched_policy_parse("") == -EINVAL, "unknown policy names are -EINVAL");
	tap_ok(!strcmp(gpusched_policy_name(99), "unknown"), "an unknown policy value names itself unknown");
	tap_ok(gpusched_mem_policy_parse("none") == GPUSCHED_MEM_NONE &&
	       gpusched_mem_policy_parse("bind") == GPUSCHED_MEM_BIND &&
	       gpusched_mem_policy_parse("preferred") == GPUSCHED_MEM_PREFERRED &&
	       gpusched_mem_policy_parse("interleave") == GPUSCHED_MEM_INTERLEAVE &&
	       gpusched_mem_policy_parse("local") == -EINVAL, "memory policy names parse");
}

static void test_mem_policy(void)
{
	int status, mode = -1;
	unsigned long mask[16] = { 0 };
	pid_t child;

	tap_ok(gpusched_set_mem_policy(GPUSCHED_MEM_NONE, 0) == 0, "mem policy none changes nothing");
	tap_ok(gpusched_set_mem_policy(GPUSCHED_MEM_BIND, 5000) == -EINVAL,
	       "a node beyond any kernel's limit is -EINVAL");
	/* In a child: the policy sticks to the thread that set it. */
	child = fork();
	if (child == 0) {
		if (gpusched_set_mem_policy(GPUSCHED_MEM_BIND, 0))
			_exit(2);
		if (syscall(SYS_get_mempolicy, &mode, mask, 8 * sizeof(mask), NULL, 0))
			_exit(3);
		_exit(mode == 2 /* MPOL_BIND */ && mask[0] == 1 ? 0 : 4);
	}
	waitpid(child, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "bind on node 0 sets MPOL_BIND with node 0 alone (child status %d)", status);
}

static void test_address(void)
{
	struct gpusched_gpu gpu = { .domain = 0x18, .bus = 0x3b, .devfn = (0x1f << 3) | 7 };
	char text[GPUSCHED_PCI_ADDRESS_SIZE];

	gpusched_format_pci_address(&gpu, text);
	tap_ok(!strcmp(text, "0018:3b:1f.7"), "PCI address formats as sysfs names it (%s)", text);
}

static void test_snapshot_hgx(void)
{
	char *root = fixture("hgx-2s-smt-8gpu"), message[GS_SNAPSHOT_MESSAGE_SIZE];
	struct gs_machine *machine = discover(root);
	struct gs_snapshot snap;
	struct gs_feed feed;
	uint8_t uuids[8][16] = { { 0 } };
	int mem_nodes[8] = { -1, -1, -1, -1, 0, -1, -1, -1 };

	if (!tap_ok(machine != NULL, "discover %s", root))
		goto out;
	if (!tap_ok(gs_snapshot_build(machine, NULL, &snap, message) == 0, "snapshot of hgx builds"))
		goto out_machine;
	tap_ok(snap.topo.nr_cpus == 16 && snap.topo.nr_nodes == 2 && snap.topo.nr_gpus == 8,
	       "16 CPUs, 2 nodes, 8 GPUs");
	tap_ok(snap.cpus[8].core == 0 && snap.cpus[0].core == 0 && snap.cpus[15].core == 7,
	       "SMT siblings name their core by its lowest CPU (8 -> 0, 15 -> 7)");
	tap_ok(snap.cpus[12].package == 4 && snap.cpus[3].package == 0,
	       "packages are named by their lowest CPU (12 -> 4)");
	tap_ok(snap.cpus[9].llc == 0 && snap.cpus[13].llc == 4, "caches are named by their lowest CPU");
	tap_ok(snap.gpus[3].cpu_node == 0 && snap.gpus[4].cpu_node == 1 &&
	       snap.gpus[4].mem_node == 1, "GPU 3 is on node 0, GPU 4 on node 1");
	tap_ok(snap.distance[1] == 21 && snap.distance[3] == 10, "the distance table is the machine's");
	gs_snapshot_free(&snap);

	memcpy(uuids[2], "0123456789abcdef", 16);
	if (tap_ok(gs_feed_build(machine, 32, NULL, mem_nodes, uuids, &feed) == 0,
		   "SET_TOPOLOGY request for nr_cpu_ids 32")) {
		tap_ok(feed.request.nr_gpus == 8 && feed.request.nr_cpus == 32 &&
		       feed.request.gpu_entry_size == sizeof(struct gpusched_gpu),
		       "request counts and entry size");
		tap_ok(feed.gpus[0].domain == 0 && feed.gpus[0].bus == 0x18 && feed.gpus[0].devfn == 0 &&
		       feed.gpus[7].bus == 0xdb && feed.gpus[7].node == 1,
		       "GPU records carry address and node");
		tap_ok(feed.gpus[4].mem_node == 0 && feed.gpus[5].mem_node == GPUSCHED_NODE_ANY,
		       "mem_node given for GPU 4 only");
		tap_ok(!memcmp(feed.gpus[2].uuid, "0123456789abcdef", 16), "UUIDs are copied");
		tap_ok(feed.llc && feed.llc[11] == 0 && feed.llc[15] == 4 && feed.llc[20] == 20,
		       "llc per CPU, absent CPUs naming themselves");
		tap_ok(feed.housekeeping[0] == 0, "no housekeeping CPUs by default on hgx");
		gs_feed_free(&feed);
	}
	tap_ok(gs_feed_build(machine, 8, NULL, NULL, NULL, &feed) == -ERANGE,
	       "a module with fewer CPU ids than the machine is -ERANGE");
out_machine:
	gs_machine_free(machine);
out:
	free(root);
}

static void test_isolated(void)
{
	char *root = fixture("workstation-isolated"), message[GS_SNAPSHOT_MESSAGE_SIZE];
	struct gs_bitmap housekeeping = GS_BITMAP_INIT;
	struct gs_machine *machine = discover(root);
	struct gs_snapshot snap;
	struct gs_feed feed;

	if (!tap_ok(machine != NULL, "discover %s", root))
		goto out;
	tap_ok(gs_default_housekeeping(machine, &housekeeping) == 0 &&
	       gs_bitmap_weight(&housekeeping) == 4 && gs_bitmap_test(&housekeeping, 2) &&
	       gs_bitmap_test(&housekeeping, 7) && !gs_bitmap_test(&housekeeping, 4),
	       "the isolated CPUs 2-3,6-7 are kept from workers by default");
	if (tap_ok(gs_snapshot_build(machine, &housekeeping, &snap, message) == 0,
		   "snapshot with housekeeping builds: %s", message)) {
		tap_ok((snap.cpus[6].flags & GS_CPU_HOUSEKEEPING) &&
		       !(snap.cpus[5].flags & GS_CPU_HOUSEKEEPING) &&
		       (snap.cpus[5].flags & GS_CPU_ONLINE), "housekeeping flags set on 2-3,6-7 only");
		gs_snapshot_free(&snap);
	}
	if (tap_ok(gs_feed_build(machine, 8, &housekeeping, NULL, NULL, &feed) == 0,
		   "request with housekeeping builds")) {
		tap_ok(feed.housekeeping[0] == 0xcc, "housekeeping mask is 0xcc (%#llx)",
		       (unsigned long long)feed.housekeeping[0]);
		gs_feed_free(&feed);
	}
	gs_machine_free(machine);
out:
	gs_bitmap_free(&housekeeping);
	free(root);
}

/* A copy of @name in a temporary directory, for a test to change. */
static char *copy_fixture(const char *name)
{
	char *dir = strdup("/tmp/gpusched-test-XXXXXX"), *cmd;
	int ret;

	if (!dir || !mkdtemp(dir))
		return NULL;
	if (asprintf(&cmd, "cp -a '%s/%s/.' '%s'", fixtures, name, dir) < 0)
		return NULL;
	ret = system(cmd);
	free(cmd);
	return ret ? NULL : dir;
}

static void write_file(const char *dir, const char *path, const char *text)
{
	char *full;
	FILE *f;

	if (asprintf(&full, "%s/%s", dir, path) < 0)
		exit(1);
	f = fopen(full, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(full);
}

static void remove_tree(char *dir)
{
	char *cmd;

	if (dir && asprintf(&cmd, "rm -rf '%s'", dir) >= 0) {
		if (system(cmd))
			tap_diag("could not remove %s", dir);
		free(cmd);
	}
	free(dir);
}

/*
 * Takes CPU 15 of a copy of hgx-2s-smt-8gpu offline: the kernel leaves it
 * out of the online list, its sibling's core and its node's list.
 */
static void hgx_cpu15_offline(const char *dir)
{
	write_file(dir, "sys/devices/system/cpu/online", "0-14\n");
	write_file(dir, "sys/devices/system/cpu/cpu7/topology/core_cpus_list", "7\n");
	write_file(dir, "sys/devices/system/node/node1/cpulist", "4-7,12-14\n");
}

static void test_offline_and_unknown_node(void)
{
	char *dir = copy_fixture("hgx-2s-smt-8gpu"), message[GS_SNAPSHOT_MESSAGE_SIZE];
	struct gs_machine *machine;
	struct gs_snapshot snap;

	if (!tap_ok(dir != NULL, "temporary copy of the hgx fixture"))
		return;
	hgx_cpu15_offline(dir);
	machine = discover(dir);
	if (tap_ok(machine && gs_snapshot_build(machine, NULL, &snap, message) == 0,
		   "snapshot with CPU 15 offline builds")) {
		tap_ok(snap.cpus[15].core == 15 && snap.cpus[15].llc == 15 &&
		       snap.cpus[15].package == 15 && !(snap.cpus[15].flags & GS_CPU_ONLINE),
		       "the offline CPU names itself and is not online");
		tap_ok(snap.cpus[7].core == 7 && (snap.cpus[7].flags & GS_CPU_ONLINE),
		       "its sibling is a core of its own");
		gs_snapshot_free(&snap);
	}
	gs_machine_free(machine);

	/* GPU 4's firmware gives no node and its local CPUs are the whole machine. */
	write_file(dir, "sys/bus/pci/devices/0000:9a:00.0/numa_node", "-1\n");
	write_file(dir, "sys/bus/pci/devices/0000:9a:00.0/local_cpulist", "0-14\n");
	machine = discover(dir);
	tap_ok(machine && gs_snapshot_build(machine, NULL, &snap, message) == -ENODEV &&
	       strstr(message, "0000:9a:00.0"),
	       "a GPU of unknown node on a two-node machine is refused, naming it: %s", message);
	gs_machine_free(machine);
	remove_tree(dir);
}

static void test_fallback(void)
{
	char *root = fixture("workstation-isolated");
	int status;
	pid_t child;

	/*
	 * In a child, whose affinity may change: the workstation is one node
	 * of CPUs 0-7 (2-3,6-7 isolated); this machine runs on some of 0-1.
	 */
	child = fork();
	if (child == 0) {
		char message[GPUSCHED_MESSAGE_SIZE];
		struct gpusched_fallback placed;
		cpu_set_t *before = CPU_ALLOC(1024), *now = CPU_ALLOC(1024);
		size_t size = CPU_ALLOC_SIZE(1024);
		unsigned int cpu;

		if (!before || !now || sched_getaffinity(0, size, before))
			_exit(10);
		if (gpusched_fallback_pin(root, NULL, 0, 0, GPUSCHED_POLICY_NODE, 0, 0, &placed,
					  message)) {
			fprintf(stderr, "%s\n", message);
			_exit(11);
		}
		if (sched_getaffinity(0, size, now))
			_exit(12);
		for (cpu = 0; cpu < 1024; cpu++) {
			bool placed_here = cpu < placed.cpus_size * 8 &&
					   CPU_ISSET_S(cpu, placed.cpus_size, placed.cpus);

			if (CPU_ISSET_S(cpu, size, now) != placed_here)
				_exit(13);	/* affinity is not what was reported */
			if (placed_here && (!CPU_ISSET_S(cpu, size, before) ||
					    cpu == 2 || cpu == 3 || cpu >= 6))
				_exit(14);	/* widened, or an isolated CPU */
		}
		_exit(placed.node == 0 && CPU_COUNT_S(size, now) > 0 ? 0 : 15);
	}
	waitpid(child, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 11)
		tap_skip("no CPU of this machine's affinity is usable in the fixture",
			 "fallback placement within the caller's affinity");
	else
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "fallback placement sets exactly the reported CPUs, inside the old affinity, off isolated CPUs (status %d)",
		       status);

	child = fork();
	if (child == 0) {
		char message[GPUSCHED_MESSAGE_SIZE];
		struct gpusched_fallback placed;

		_exit(gpusched_fallback_pin(root, NULL, 0, 9, 0, 0, 0, &placed, message) == -ERANGE &&
		      strstr(message, "GPU 9") ? 0 : 1);
	}
	waitpid(child, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "fallback for a GPU that does not exist is -ERANGE, naming it");
	free(root);
}

/*
 * Places GPU @gpu of @root with the node policy twice, each from the
 * affinity @before: through gpusched_fallback_pin(), whose discovery
 * skips the CPU groups, and through gs_fallback_pin_machine() on @full,
 * a full discovery.  Returns 1 when both placed on the same node and
 * CPUs, 0 when both failed alike, -1 (after saying how) when they differ.
 */
static int place_node_both_ways(const char *root, const struct gs_machine *full,
				unsigned int gpu, unsigned int flags, const cpu_set_t *before,
				size_t size)
{
	char message[GPUSCHED_MESSAGE_SIZE];
	struct gpusched_fallback a, b;
	int err_a, err_b, ret = -1;

	err_a = gpusched_fallback_pin(root, NULL, 0, gpu, GPUSCHED_POLICY_NODE, 0, flags, &a,
				      message);
	if (sched_setaffinity(0, size, before))
		return -1;
	err_b = gs_fallback_pin_machine(full, gpu, GPUSCHED_POLICY_NODE, 0, flags, &b, message);
	if (sched_setaffinity(0, size, before))
		return -1;
	if (err_a || err_b)
		ret = err_a == err_b ? 0 : -1;
	else if (a.node == b.node && a.cpus_size == b.cpus_size &&
		 CPU_EQUAL_S(a.cpus_size, a.cpus, b.cpus))
		ret = 1;
	if (ret < 0)
		fprintf(stderr, "%s, GPU %u%s: without CPU groups %d (node %u, %d CPUs), with them %d (node %u, %d CPUs)\n",
			root, gpu, flags ? ", spill" : "", err_a, a.node,
			err_a ? 0 : CPU_COUNT_S(a.cpus_size, a.cpus), err_b, b.node,
			err_b ? 0 : CPU_COUNT_S(b.cpus_size, b.cpus));
	if (!err_a)
		CPU_FREE(a.cpus);
	if (!err_b)
		CPU_FREE(b.cpus);
	return ret;
}

/*
 * The node policy's fallback discovers without the CPU groups (cores,
 * packages, caches): it must place every GPU of every fixture, with and
 * without spill, where the full discovery's placement would.  Each
 * machine runs in a child, whose affinity may change.  A machine
 * discovered that way is refused, with -EINVAL naming the policy, for the
 * policies that need the groups.
 */
static void test_fallback_without_cpu_groups(void)
{
	static const char *const machines[] = {
		"hgx-2s-smt-8gpu", "epyc-nps4-8gpu", "grace-blackwell-memnodes",
		"workstation-isolated", "power9-smt-offline", "hotplug-no-online-file",
	};
	char message[GPUSCHED_MESSAGE_SIZE];
	struct gs_discover_opts opts = { .skip_cpu_groups = true };
	struct gpusched_fallback out;
	struct gs_machine *machine = NULL;
	struct gs_feed feed;
	unsigned int i;
	int status;

	for (i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
		char *root = fixture(machines[i]);
		pid_t child = fork();

		if (child == 0) {
			struct gs_machine *full = discover(root);
			size_t size = CPU_ALLOC_SIZE(1024);
			cpu_set_t *before = CPU_ALLOC(1024);
			unsigned int gpu, spill, placed = 0;
			int same;

			if (!full || !before || sched_getaffinity(0, size, before))
				_exit(10);
			for (gpu = 0; gpu < gs_topo_nr_gpus(full); gpu++) {
				for (spill = 0; spill < 2; spill++) {
					same = place_node_both_ways(root, full, gpu,
								    spill ? GPUSCHED_PIN_SPILL : 0,
								    before, size);
					if (same < 0)
						_exit(12);
					placed += same;
				}
			}
			_exit(placed ? 0 : 11);
		}
		waitpid(child, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 11)
			tap_skip("no GPU's node has a CPU of this machine's affinity",
				 "fallback without CPU groups on %s", machines[i]);
		else
			tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			       "fallback without CPU groups on %s: every GPU, with and without spill, placed as with them (status %d)",
			       machines[i], status);
		free(root);
	}

	opts.root = fixture("hgx-2s-smt-8gpu");
	if (gs_discover(&opts, &machine))
		machine = NULL;
	for (i = 0; i < 2; i++) {
		unsigned int policy = i ? GPUSCHED_POLICY_SOCKET : GPUSCHED_POLICY_EXCLUSIVE;

		message[0] = '\0';
		tap_ok(machine && gs_fallback_pin_machine(machine, 0, policy, 0, 0, &out,
							  message) == -EINVAL &&
		       strstr(message, gpusched_policy_name(policy)),
		       "a machine discovered without CPU groups is refused for the %s policy: %s",
		       gpusched_policy_name(policy), message);
	}
	tap_ok(machine && gs_feed_build(machine, 64, NULL, NULL, NULL, &feed) == -EINVAL,
	       "a machine discovered without CPU groups is never fed to the module (-EINVAL)");
	gs_machine_free(machine);
	free((char *)opts.root);
}

/*
 * A machine whose SMT siblings sit on two nodes (CPUs 0 and 8 of node 0
 * and CPU 4 of node 1 made one core): the node policy, whose discovery
 * never reads the siblings, places on it; the exclusive policy, which
 * places by cores, refuses it as inconsistent.  launchers.rst says so.
 * Each placement runs in a child, whose affinity it changes.
 */
static void test_fallback_split_core(void)
{
	static const unsigned int policies[] = { GPUSCHED_POLICY_NODE, GPUSCHED_POLICY_EXCLUSIVE };
	static const char *const cpus[] = { "cpu0", "cpu4", "cpu8" };
	static const unsigned int node0[] = { 0, 1, 2, 3, 8, 9, 10, 11 };
	char *dir = NULL, path[128];
	const char *why = NULL;
	bool usable = false;
	unsigned int i;
	cpu_set_t own;
	int status;

	/* The node policy places GPU 0 on the CPUs of node 0 we may use. */
	CPU_ZERO(&own);
	if (sched_getaffinity(0, sizeof(own), &own))
		why = "sched_getaffinity failed";
	for (i = 0; i < 8; i++)
		usable |= CPU_ISSET(node0[i], &own);
	if (!why && !usable)
		why = "none of the fixture's node 0 CPUs (0-3, 8-11) is in this process's affinity";
	if (!why) {
		dir = copy_fixture("hgx-2s-smt-8gpu");
		if (!dir)
			why = "cannot copy the fixture";
	}
	if (why) {
		tap_skip(why, "a core split across nodes: the node policy");
		tap_skip(why, "a core split across nodes: the exclusive policy");
		return;
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "sys/devices/system/cpu/%s/topology/core_cpus_list",
			 cpus[i]);
		write_file(dir, path, "0,4,8\n");
		snprintf(path, sizeof(path), "sys/devices/system/cpu/%s/topology/core_id", cpus[i]);
		write_file(dir, path, "0\n");
		snprintf(path, sizeof(path), "sys/devices/system/cpu/%s/topology/physical_package_id",
			 cpus[i]);
		write_file(dir, path, "0\n");
	}
	for (i = 0; i < 2; i++) {
		pid_t child = fork();

		if (child == 0) {
			char message[GPUSCHED_MESSAGE_SIZE];
			struct gpusched_fallback placed;
			int err = gpusched_fallback_pin(dir, NULL, 0, 0, policies[i], 0, 0, &placed,
							message);

			if (i == 0 && err)
				fprintf(stderr, "node policy: %d: %s\n", err, message);
			if (i == 1 && (err != -EINVAL || !strstr(message, "inconsistent")))
				fprintf(stderr, "exclusive policy: %d: %s\n", err, message);
			_exit(i == 0 ? err != 0 : err != -EINVAL || !strstr(message, "inconsistent"));
		}
		waitpid(child, &status, 0);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       i == 0 ? "a core split across nodes: the node policy places anyway" :
		       "a core split across nodes: the exclusive policy refuses it (-EINVAL, \"inconsistent\")");
	}
	remove_tree(dir);
}

/* Whether two fallback machines hold the same snapshot and GPUs. */
static bool same_machine(const struct gs_fallback_machine *a, const struct gs_fallback_machine *b)
{
	const struct gs_topology *x = &a->snapshot.topo, *y = &b->snapshot.topo;

	return x->nr_cpus == y->nr_cpus && x->nr_nodes == y->nr_nodes &&
	       x->nr_gpus == y->nr_gpus && a->cpu_groups_known == b->cpu_groups_known &&
	       !memcmp(x->cpus, y->cpus, x->nr_cpus * sizeof(*x->cpus)) &&
	       !memcmp(x->distance, y->distance, (size_t)x->nr_nodes * x->nr_nodes * sizeof(uint32_t)) &&
	       !memcmp(x->gpus, y->gpus, x->nr_gpus * sizeof(*x->gpus)) &&
	       !memcmp(x->node_cpus, y->node_cpus, x->nr_cpus * sizeof(uint32_t)) &&
	       !memcmp(x->node_start, y->node_start, (x->nr_nodes + 1) * sizeof(uint32_t)) &&
	       !memcmp(a->gpus, b->gpus, x->nr_gpus * sizeof(*a->gpus));
}

/*
 * One fallback machine of @root through the cache in GPUSCHED_CACHE_DIR:
 * whether it was read from the file, or -1 when it could not be had.
 * @keep, when given, receives it.
 */
static int cached_machine(const char *root, const char *const *matches, unsigned int nr_matches,
			  bool need_cpu_groups, struct gs_fallback_machine *keep)
{
	struct gs_discover_opts opts = {
		.root = root,
		.gpu_matches = matches,
		.nr_gpu_matches = nr_matches,
	};
	char message[GPUSCHED_MESSAGE_SIZE];
	struct gs_fallback_machine m;
	int from_cache;

	if (gs_fallback_machine_get(&opts, need_cpu_groups, &m, message)) {
		tap_diag("%s", message);
		return -1;
	}
	from_cache = m.from_cache;
	if (keep)
		*keep = m;
	else
		gs_fallback_machine_free(&m);
	return from_cache;
}

/* Flips the byte at @offset of the file at @path, or appends one when @offset < 0. */
static void damage(const char *path, long offset)
{
	FILE *f = fopen(path, offset >= 0 ? "r+" : "a");
	int c;

	if (!f)
		return;
	if (offset >= 0 && !fseek(f, offset, SEEK_SET) && (c = fgetc(f)) != EOF &&
	    !fseek(f, offset, SEEK_SET))
		fputc(c ^ 0x5a, f);
	else if (offset < 0)
		fputc(0, f);
	fclose(f);
}

/*
 * Sets @flag in the header of the file at @path and makes its checksum
 * right again (64-bit FNV-1a of the file with the checksum, the header's
 * last eight bytes, zero), so that only the flags check can refuse it.
 */
static bool set_header_flag(const char *path, uint32_t flag)
{
	const size_t flags_at = 12, checksum_at = 48;
	unsigned char buf[1 << 16];
	uint64_t hash = 0xcbf29ce484222325ull;
	uint32_t flags;
	size_t size, i;
	FILE *f = fopen(path, "r+");

	if (!f)
		return false;
	size = fread(buf, 1, sizeof(buf), f);
	if (size < checksum_at + sizeof(hash) || size == sizeof(buf)) {
		fclose(f);
		return false;
	}
	memcpy(&flags, buf + flags_at, sizeof(flags));
	flags |= flag;
	memcpy(buf + flags_at, &flags, sizeof(flags));
	memset(buf + checksum_at, 0, sizeof(hash));
	for (i = 0; i < size; i++)
		hash = (hash ^ buf[i]) * 0x100000001b3ull;
	memcpy(buf + checksum_at, &hash, sizeof(hash));
	rewind(f);
	return (fwrite(buf, 1, size, f) == size) + !fclose(f) == 2;
}

/*
 * On a copy @dir of hgx-2s-smt-8gpu whose file is current: CPU 15 going
 * offline and CPU 3 isolated each make the next launch discover again and
 * see it, with the fixture's uevent count left as it was when @counted.
 */
static void check_cpus_seen(const char *dir, bool counted)
{
	struct gs_fallback_machine m;

	hgx_cpu15_offline(dir);
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 &&
	       !(m.snapshot.topo.cpus[15].flags & GS_CPU_ONLINE),
	       "a CPU gone offline%s: discovered again, and offline in the snapshot",
	       counted ? ", no uevent (cpuN/hotplug/target)" : "");
	gs_fallback_machine_free(&m);
	write_file(dir, "sys/devices/system/cpu/isolated", "3\n");
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 &&
	       (m.snapshot.topo.cpus[3].flags & GS_CPU_HOUSEKEEPING),
	       "other isolated CPUs%s: discovered again, and kept from workers",
	       counted ? ", no uevent" : "");
	gs_fallback_machine_free(&m);
}

/*
 * The fallback's per-boot file: a second launch reads the machine the
 * first one discovered instead of discovering it again, and gets the same
 * snapshot; any change of what the file was made from makes the next
 * launch discover (and write) again; a damaged file, one of another user
 * or one in a directory others may enter is never read.
 */
static void test_fallback_cache(void)
{
	static const char *const match[] = { "1af4:0300" };
	char *dir = copy_fixture("hgx-2s-smt-8gpu"), *cache = strdup("/tmp/gpusched-cache-XXXXXX");
	struct gs_fallback_machine first, again, fresh;
	char path[4096], file[4200], gone[4200], message[GPUSCHED_MESSAGE_SIZE];
	struct gs_machine *machine;
	struct stat st;

	if (!tap_ok(dir && cache && mkdtemp(cache), "temporary fixture and cache directory"))
		return;
	snprintf(file, sizeof(file), "%s/%s", cache, GS_FALLBACK_CACHE_FILE);

	setenv("GPUSCHED_CACHE_DIR", "", 1);
	tap_ok(gs_fallback_cache_dir(NULL, path, sizeof(path)) == -ENOENT,
	       "GPUSCHED_CACHE_DIR empty: no cache, even for the machine itself");
	unsetenv("GPUSCHED_CACHE_DIR");
	tap_ok(gs_fallback_cache_dir(dir, path, sizeof(path)) == -ENOENT,
	       "no cache for a sysfs root other than the machine's unless GPUSCHED_CACHE_DIR names one");
	tap_ok(gs_fallback_cache_dir("//", path, sizeof(path)) == 0 &&
	       (geteuid() || !strcmp(path, "/run/gpusched")),
	       "root's cache of the machine itself is in /run/gpusched (got %s)", path);
	setenv("GPUSCHED_CACHE_DIR", cache, 1);
	tap_ok(gs_fallback_cache_dir(dir, path, sizeof(path)) == 0 && !strcmp(path, cache),
	       "GPUSCHED_CACHE_DIR names the cache directory");

	tap_ok(cached_machine(dir, NULL, 0, false, &first) == 0 && stat(file, &st) == 0 &&
	       (st.st_mode & 0777) == 0600,
	       "first launch discovers and leaves a file only its user may read");
	tap_ok(cached_machine(dir, NULL, 0, false, &again) == 1 && same_machine(&first, &again),
	       "second launch reads the file: the same snapshot, node index and GPUs");
	gs_fallback_machine_free(&again);
	machine = discover(dir);
	tap_ok(machine && gs_fallback_machine_build(machine, &fresh, message) == 0 &&
	       fresh.cpu_groups_known && !first.cpu_groups_known &&
	       fresh.snapshot.topo.nr_gpus == first.snapshot.topo.nr_gpus &&
	       !memcmp(fresh.gpus, first.gpus, first.snapshot.topo.nr_gpus * sizeof(*first.gpus)),
	       "the file's GPUs are those of a full discovery");
	gs_machine_free(machine);
	gs_fallback_machine_free(&fresh);
	gs_fallback_machine_free(&first);

	tap_ok(cached_machine(dir, NULL, 0, true, &first) == 0 && first.cpu_groups_known,
	       "a policy that needs the CPU groups does not take a file without them");
	gs_fallback_machine_free(&first);
	tap_ok(cached_machine(dir, NULL, 0, true, NULL) == 1 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "a file with the CPU groups serves every policy");
	tap_ok(cached_machine(dir, match, 1, false, NULL) == 0 &&
	       cached_machine(dir, match, 1, false, NULL) == 1 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 0,
	       "other GPU match rules: discovered again");

	check_cpus_seen(dir, false);
	write_file(dir, "sys/devices/system/node/online", "0-1\n");
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 0 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "other online nodes: discovered again, then read");
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:03:00.0", dir);
	snprintf(gone, sizeof(gone), "%s/removed-pci-function", dir);
	tap_ok(!rename(path, gone) && cached_machine(dir, NULL, 0, false, NULL) == 0 &&
	       !rename(gone, path) && cached_machine(dir, NULL, 0, false, NULL) == 0 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "a PCI function removed, then added: discovered again each time");

	damage(file, (long)sizeof(uint64_t) * 7 + 3);
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 0 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "a damaged file is not read, and is written anew");
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1 && (damage(file, 12), true) &&
	       cached_machine(dir, NULL, 0, false, NULL) == 0,
	       "a damaged header is not read either");
	/* The header's flags, of which only the two lowest bits may be set. */
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1 && set_header_flag(file, 0x4) &&
	       cached_machine(dir, NULL, 0, false, NULL) == 0,
	       "a header with an unknown flag, its checksum right, is not read");
	damage(file, -1);
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 0,
	       "a file longer than its header says is not read");
	/* Files the checksum passes but the engine must not take. */
	if (tap_ok(cached_machine(dir, NULL, 0, false, &first) == 1, "the file is read")) {
		struct gs_discover_opts opts = { .root = dir };

		first.snapshot.gpus[1].cpu_node = first.snapshot.topo.nr_nodes;
		first.gpus[1].node = first.snapshot.topo.nr_nodes;
		tap_ok(gs_fallback_machine_save(&opts, &first) == 0 &&
		       cached_machine(dir, NULL, 0, false, NULL) == 0,
		       "a file whose GPU is on a node that does not exist is not read");
		first.snapshot.gpus[1].cpu_node = first.gpus[1].node = 1;
		first.gpus[1].bus = 0x100;
		tap_ok(gs_fallback_machine_save(&opts, &first) == 0 &&
		       cached_machine(dir, NULL, 0, false, NULL) == 0,
		       "a file whose GPU has a bus number no PCI address has is not read");
		first.gpus[1].bus = 0x18;
		first.gpus[1].node = 0;
		tap_ok(gs_fallback_machine_save(&opts, &first) == 0 &&
		       cached_machine(dir, NULL, 0, false, NULL) == 0,
		       "a file whose GPU's node differs from the snapshot's is not read");
		gs_fallback_machine_free(&first);
	}
	if (geteuid() == 0) {
		tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1 && !chown(file, 65534, 65534) &&
		       cached_machine(dir, NULL, 0, false, NULL) == 0,
		       "a file of another user is not read");
	} else {
		tap_skip("not root: cannot give the file to another user",
			 "a file of another user is not read");
	}
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1 && !chmod(file, 0640) &&
	       cached_machine(dir, NULL, 0, false, NULL) == 0,
	       "a file others may read is not read");
	if (tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1 && !stat(file, &st),
		   "the file is read")) {
		struct stat now;

		chmod(cache, 0755);
		tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 0 && !stat(file, &now) &&
		       now.st_ino == st.st_ino && now.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
		       now.st_mtim.tv_sec == st.st_mtim.tv_sec,
		       "a cache directory others may enter is neither read nor written");
		chmod(cache, 0700);
	}
	if (!unlink(file) && !mkfifo(file, 0600)) {
		pid_t child = fork();
		int status = -1;

		if (child == 0) {
			alarm(10);
			_exit(cached_machine(dir, NULL, 0, false, NULL) == 0 ? 0 : 1);
		}
		tap_ok(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0 && !stat(file, &st) && S_ISREG(st.st_mode),
		       "a FIFO in the file's place is not waited on, and a file replaces it");
	} else {
		tap_skip("cannot make a FIFO", "a FIFO in the file's place is not waited on");
	}
	unlink(file);
	setenv("GPUSCHED_CACHE_DIR", "", 1);
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 0 && stat(file, &st) && errno == ENOENT,
	       "GPUSCHED_CACHE_DIR empty: nothing read or written");
	unsetenv("GPUSCHED_CACHE_DIR");
	remove_tree(dir);
	remove_tree(cache);
}

/*
 * The fallback's file and the nodes that hold GPU memory (Grace): the
 * NVIDIA driver brings a GPU's memory node online after boot, and memory
 * can go offline; either must make the next launch discover again.
 */
static void test_fallback_cache_memory_nodes(void)
{
	char *dir = copy_fixture("grace-blackwell-memnodes"), *cache = strdup("/tmp/gpusched-cache-XXXXXX");
	struct gs_fallback_machine m;

	if (!tap_ok(dir && cache && mkdtemp(cache), "temporary Grace fixture and cache directory"))
		return;
	setenv("GPUSCHED_CACHE_DIR", cache, 1);
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 && m.nr_gpus == 4 &&
	       m.gpus[0].mem_node == 2 && cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "GPU 0's memory node (2) is in the file, which the next launch reads");
	gs_fallback_machine_free(&m);
	write_file(dir, "proc/driver/nvidia/gpus/0008:01:00.0/numa_status",
		   "Node:      2\nStatus:    offline\n");
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 && m.gpus[0].mem_node == GPUSCHED_NODE_ANY,
	       "the driver's node offline: discovered again, and no memory node");
	gs_fallback_machine_free(&m);
	write_file(dir, "proc/driver/nvidia/gpus/0008:01:00.0/numa_status",
		   "Node:      2\nStatus:    online\n");
	write_file(dir, "sys/devices/system/node/has_memory", "0-1,10,18\n");
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 && m.gpus[0].mem_node == GPUSCHED_NODE_ANY &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "node 2's memory offline: discovered again, then read");
	gs_fallback_machine_free(&m);
	unsetenv("GPUSCHED_CACHE_DIR");
	remove_tree(dir);
	remove_tree(cache);
}

/*
 * The fallback's quick key: while the kernel's uevent count stays what the
 * file was written with, a launch takes the file without reading the rest
 * of the full key, so a PCI function removed without a uevent is not seen;
 * a new count sends the next launch to the full key, which rediscovers
 * when the machine changed and otherwise writes the file again with the
 * new count.  The online and isolated CPUs, the NVIDIA driver's memory
 * nodes and the match rules are in the quick key too: every launch reads
 * them.
 */
static void test_fallback_cache_uevents(void)
{
	static const char *const match[] = { "1af4:0300" };
	char *dir = copy_fixture("hgx-2s-smt-8gpu"), *grace = copy_fixture("grace-blackwell-memnodes");
	char *cache = strdup("/tmp/gpusched-cache-XXXXXX"), path[4200], gone[4200];
	struct gs_fallback_machine m;

	if (!tap_ok(dir && grace && cache && mkdtemp(cache),
		    "temporary fixtures and cache directory"))
		return;
	snprintf(path, sizeof(path), "%s/sys/kernel", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/kernel", grace);
	mkdir(path, 0755);
	setenv("GPUSCHED_CACHE_DIR", cache, 1);

	write_file(dir, "sys/kernel/uevent_seqnum", "4242\n");
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 0 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "with a uevent count: discovered, then read");
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:db:00.0", dir);
	snprintf(gone, sizeof(gone), "%s/removed-pci-function", dir);
	tap_ok(!rename(path, gone) && cached_machine(dir, NULL, 0, false, &m) == 1 && m.nr_gpus == 8,
	       "a GPU's PCI function removed, no uevent counted: the file is taken on the count");
	gs_fallback_machine_free(&m);
	write_file(dir, "sys/kernel/uevent_seqnum", "4243\n");
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 && m.nr_gpus == 7 &&
	       cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "its uevent counted: discovered again, 7 GPUs, then read");
	gs_fallback_machine_free(&m);

	write_file(dir, "sys/kernel/uevent_seqnum", "4250\n");
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1,
	       "uevents that changed nothing the key covers: the file is still read");
	tap_ok(!rename(gone, path) && cached_machine(dir, NULL, 0, false, &m) == 1 && m.nr_gpus == 7,
	       "and the file took their count: the function back, unseen until the next uevent");
	gs_fallback_machine_free(&m);
	write_file(dir, "sys/kernel/uevent_seqnum", "4251\n");
	tap_ok(cached_machine(dir, NULL, 0, false, &m) == 0 && m.nr_gpus == 8,
	       "the next uevent: discovered again, 8 GPUs");
	gs_fallback_machine_free(&m);

	/* Read at every launch: changed by no uevent, or not always by one. */
	check_cpus_seen(dir, true);
	tap_ok(cached_machine(dir, NULL, 0, false, NULL) == 1 &&
	       cached_machine(dir, match, 1, false, NULL) == 0 &&
	       cached_machine(dir, match, 1, false, NULL) == 1,
	       "other GPU match rules, the same count: discovered again, then read");

	write_file(grace, "sys/kernel/uevent_seqnum", "77\n");
	tap_ok(cached_machine(grace, NULL, 0, false, NULL) == 0 &&
	       cached_machine(grace, NULL, 0, false, NULL) == 1,
	       "Grace with a uevent count: discovered, then read");
	write_file(grace, "proc/driver/nvidia/gpus/0008:01:00.0/numa_status",
		   "Node:      2\nStatus:    offline\n");
	tap_ok(cached_machine(grace, NULL, 0, false, &m) == 0 &&
	       m.gpus[0].mem_node == GPUSCHED_NODE_ANY,
	       "the driver's memory node offline, no uevent: discovered again all the same");
	gs_fallback_machine_free(&m);

	unsetenv("GPUSCHED_CACHE_DIR");
	remove_tree(dir);
	remove_tree(grace);
	remove_tree(cache);
}

/*
 * The fallback never places on a CPU the fixture has offline or absent,
 * even where this machine's affinity has it: on power9-smt-offline node 0
 * is cpulist 0-15 with 0,4,8,12 online, so a caller on CPUs 0-1 gets CPU 0
 * and never CPU 1; on hotplug-no-online-file node 0 is 0-3,8-11 with 3
 * offline.  Each case runs in a child, whose affinity may change.
 */
static void test_fallback_offline(void)
{
	static const struct {
		const char *machine;
		unsigned int gpu, policy, flags;
		const char *usable;
	} cases[] = {
		{ "power9-smt-offline", 0, GPUSCHED_POLICY_NODE, 0, "0,4,8,12" },
		{ "power9-smt-offline", 1, GPUSCHED_POLICY_EXCLUSIVE, 0, "0,4,8,12" },
		/* Node 8 (16-31) or, spilling, node 0: online CPUs all the same. */
		{ "power9-smt-offline", 2, GPUSCHED_POLICY_SINGLE, GPUSCHED_PIN_SPILL,
		  "0,4,8,12,16,20,24,28" },
		{ "hotplug-no-online-file", 0, GPUSCHED_POLICY_NODE, 0, "0-2,8-11" },
		{ "hotplug-no-online-file", 1, GPUSCHED_POLICY_EXCLUSIVE, GPUSCHED_PIN_SPILL,
		  "0-2,4-5,7-11" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *root = fixture(cases[i].machine);
		int status;
		pid_t child = fork();

		if (child == 0) {
			char message[GPUSCHED_MESSAGE_SIZE];
			struct gpusched_fallback placed;
			struct gs_bitmap usable = GS_BITMAP_INIT;
			cpu_set_t *before = CPU_ALLOC(1024);
			size_t size = CPU_ALLOC_SIZE(1024);
			unsigned int cpu;

			if (!before || sched_getaffinity(0, size, before) ||
			    gs_bitmap_parse_list(&usable, cases[i].usable))
				_exit(10);
			if (gpusched_fallback_pin(root, NULL, 0, cases[i].gpu, cases[i].policy, 0,
						  cases[i].flags, &placed, message))
				_exit(11);
			for (cpu = 0; cpu < placed.cpus_size * 8; cpu++)
				if (CPU_ISSET_S(cpu, placed.cpus_size, placed.cpus) &&
				    (!gs_bitmap_test(&usable, cpu) || !CPU_ISSET_S(cpu, size, before)))
					_exit(12);	/* offline, absent or outside the affinity */
			_exit(CPU_COUNT_S(placed.cpus_size, placed.cpus) ? 0 : 13);
		}
		waitpid(child, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 11)
			tap_skip("no CPU of this machine's affinity is usable in the fixture",
				 "fallback on %s, GPU %u: usable CPUs only", cases[i].machine,
				 cases[i].gpu);
		else
			tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			       "fallback on %s, GPU %u, %s%s: only the fixture's usable CPUs %s, inside the old affinity (status %d)",
			       cases[i].machine, cases[i].gpu, gpusched_policy_name(cases[i].policy),
			       cases[i].flags ? ", spill" : "", cases[i].usable, status);
		free(root);
	}
}

/*
 * GPUSCHED_DISABLE, through the stand-in device, which answers PIN with
 * ENOTTY: before it is set the module is asked (ENOTTY); once it is set,
 * PIN succeeds with the caller's own CPUs and UNPIN and the memory policy
 * (of a node that does not exist) succeed without doing anything.  The
 * library's one line goes to standard error, which the parent reads too.
 */
static void disabled_child(struct gpusched *gs)
{
	struct gpusched_pin pin = {
		.target_type = GPUSCHED_TARGET_THREAD, .policy = GPUSCHED_POLICY_NODE,
	};
	struct gpusched_unpin unpin = { .target_type = GPUSCHED_TARGET_THREAD };
	size_t size = CPU_ALLOC_SIZE(1024);
	cpu_set_t *got = CPU_ALLOC(1024), *own = CPU_ALLOC(1024);
	int err;

	if (!got || !own || sched_getaffinity(0, size, own))
		exit(1);
	err = gpusched_pin_task(gs, &pin, got, size);
	printf("enabled-pin %d\n", err);
	setenv(GPUSCHED_DISABLE_VARIABLE, "1", 1);
	CPU_ZERO_S(size, got);
	err = gpusched_pin_task(gs, &pin, got, size);
	printf("disabled-pin %d %d\n", err, CPU_EQUAL_S(size, got, own) ? 1 : 0);
	printf("disabled-unpin %d\n", gpusched_unpin_task(gs, &unpin));
	printf("disabled-mem %d\n", gpusched_set_mem_policy(GPUSCHED_MEM_BIND, 1000));
	fflush(stdout);
	unsetenv(GPUSCHED_DISABLE_VARIABLE);
	CPU_FREE(got);
	CPU_FREE(own);
}

/*
 * The query half of test_query_sizes(), in a copy of this program with the
 * stand-in module preloaded: prints what each call left in a struct with
 * a canary behind it.
 */
static int query_child(const char *device)
{
	struct {
		struct gpusched_query q;
		uint32_t canary[4];
	} buf;
	struct gpusched *gs;
	char pins[64];
	int err;

	/* This thread, pinned: a fallback (4) for want of CPUs, followed 3 times. */
	snprintf(pins, sizeof(pins), "%d:0:1:4:1:3:0:0-3", (int)getpid());
	setenv("FAKE_GPUSCHED_PINS", pins, 1);
	err = gpusched_open(device, 0, &gs);
	if (err)
		return printf("open %d\n", err) < 0;
	/* A 0.3.0 caller: its struct ends at original_cpus. */
	memset(&buf, 0xa5, sizeof(buf));
	err = gpusched_query_thread(gs, getpid(), &buf.q, NULL, NULL, 0);
	printf("v1 %d %u %#x %#x\n", err, buf.q.result, buf.q.reason, buf.q.nr_followed);
	memset(&buf, 0xa5, sizeof(buf));
	err = gpusched_query(gs, getpid(), &buf.q, sizeof(buf.q), NULL, NULL, 0);
	printf("full %d %u %u %u %#x\n", err, buf.q.result, buf.q.reason, buf.q.nr_followed,
	       buf.canary[0]);
	memset(&buf, 0xa5, sizeof(buf));
	err = gpusched_query(gs, getpid(), &buf.q, sizeof(buf), NULL, NULL, 0);
	printf("larger %d %u %#x\n", err, buf.q.result, buf.canary[0]);
	err = gpusched_query(gs, getpid(), &buf.q, 8, NULL, NULL, 0);
	printf("small %d\n", err);
	fflush(stdout);
	disabled_child(gs);
	gpusched_close(gs);
	return 0;
}

static void test_query_sizes(const char *self)
{
	char dir[4096], device[] = "/tmp/test_libgpusched.XXXXXX", *preload, *device_env;
	char line[256], *out = NULL;
	unsigned int result = 0, reason = 0, followed = 0, canary = 0;
	size_t size = 0;
	int err = -1, fd;
	FILE *child;
	char *cmd;

	snprintf(dir, sizeof(dir), "%s", self);
	*(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = '\0';
	fd = mkstemp(device);
	if (fd < 0 || asprintf(&preload, "%s/fake_gpusched.so", dir[0] ? dir : ".") < 0 ||
	    asprintf(&device_env, "FAKE_GPUSCHED_DEVICE=%s", device) < 0)
		exit(1);
	close(fd);
	/* ASan, when built in, tolerates the stand-in loaded before it. */
	if (asprintf(&cmd, "env ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD=%s %s %s --query-child %s 2>&1",
		     preload, device_env, self, device) < 0)
		exit(1);
	child = popen(cmd, "r");
	if (child) {
		while (fgets(line, sizeof(line), child)) {
			out = realloc(out, size + strlen(line) + 1);
			if (!out)
				exit(1);
			strcpy(out + size, line);
			size += strlen(line);
		}
		pclose(child);
	}
	unlink(device);
	tap_ok(out && sscanf(out, "v1 %d %u %x %x", &err, &result, &reason, &followed) == 4 &&
	       !err && result == (GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_FALLBACK) &&
	       reason == 0xa5a5a5a5 &&
	       followed == 0xa5a5a5a5,
	       "gpusched_query_thread fills a 0.3.0 caller's struct and writes nothing past it");
	tap_ok(out && strstr(out, "full ") &&
	       sscanf(strstr(out, "full "), "full %d %u %u %u %x", &err, &result, &reason,
		      &followed, &canary) == 5 &&
	       !err && reason == GPUSCHED_PIN_REASON_NO_CPUS && followed == 3 &&
	       canary == 0xa5a5a5a5,
	       "gpusched_query fills reason and nr_followed, and nothing past the struct");
	tap_ok(out && strstr(out, "larger ") &&
	       sscanf(strstr(out, "larger "), "larger %d %u %x", &err, &result, &canary) == 3 &&
	       !err && canary == 0,
	       "gpusched_query zeroes what a larger caller's struct has beyond the library's");
	tap_ok(out && strstr(out, "small ") && sscanf(strstr(out, "small "), "small %d", &err) == 1 &&
	       err == -EINVAL,
	       "gpusched_query of a struct smaller than the first version gives -EINVAL");
	tap_ok(out && strstr(out, "enabled-pin ") &&
	       sscanf(strstr(out, "enabled-pin "), "enabled-pin %d", &err) == 1 && err == -ENOTTY,
	       "without GPUSCHED_DISABLE, gpusched_pin_task asks the device");
	tap_ok(out && strstr(out, "disabled-pin ") &&
	       sscanf(strstr(out, "disabled-pin "), "disabled-pin %d %u", &err, &result) == 2 &&
	       !err && result == 1,
	       "GPUSCHED_DISABLE=1: gpusched_pin_task succeeds without the device, reporting the caller's own CPUs");
	tap_ok(out && strstr(out, "disabled-unpin 0\n") && strstr(out, "disabled-mem 0\n"),
	       "GPUSCHED_DISABLE=1: gpusched_unpin_task and gpusched_set_mem_policy change nothing and succeed");
	tap_ok(out && strstr(out, "gpusched: GPUSCHED_DISABLE=1: not pinning; CPUs and memory policy stay as they are\n") &&
	       !strstr(strstr(out, "not pinning") + 1, "not pinning"),
	       "GPUSCHED_DISABLE=1: the library says so once, on standard error");
	if (!out)
		printf("# no answer from the query child: %s\n", cmd);
	else if (!strstr(out, "disabled-mem"))
		printf("# query child said: %s\n", out);
	free(out);
	free(cmd);
	free(device_env);
	free(preload);
}

int main(int argc, char **argv)
{
	static char beside[4096];

	if (argc > 2 && !strcmp(argv[1], "--query-child"))
		return query_child(argv[2]);

	fixtures = argc > 1 ? argv[1] : getenv("GS_FIXTURES_DIR");
	if (!fixtures) {
		snprintf(beside, sizeof(beside), "%s", __FILE__);
		*strrchr(beside, '/') = '\0';
		strncat(beside, "/fixtures", sizeof(beside) - strlen(beside) - 1);
		fixtures = beside;
	}
	/* The fallback's file only where a test asks for one. */
	unsetenv("GPUSCHED_CACHE_DIR");
	tap_start();
	test_open();
	test_names();
	test_mem_policy();
	test_address();
	test_snapshot_hgx();
	test_isolated();
	test_offline_and_unknown_node();
	test_fallback();
	test_fallback_offline();
	test_fallback_without_cpu_groups();
	test_fallback_split_core();
	test_fallback_cache();
	test_fallback_cache_memory_nodes();
	test_fallback_cache_uevents();
	test_query_sizes(argv[0]);
	return tap_done();
}
