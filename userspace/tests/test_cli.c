// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the built gpusched CLI as a user and a launcher run it: `topo`
 * and `plan` on the committed sysfs snapshots, the usage errors and exit
 * codes gpusched(1) documents, and `exec` without the module (its
 * unarbitrated fallback, the GPU it resolves from the launcher's
 * variables, and the env(1)-style 126/127), and `status` against a
 * stand-in module (fake_gpusched.so, preloaded into the CLI).  Expected
 * values come from the fixture files themselves (node cpulists, SMT
 * siblings, L3 groups, isolated CPUs), read here with the library's one
 * cpulist parser, or from what the stand-in module was told to answer,
 * never from the program's own output.
 *
 * Usage: test_cli [FIXTURES_DIR]
 *   The CLI is $GPUSCHED, else ../bin/gpusched beside this program; the
 *   stand-in module is $FAKE_GPUSCHED, else fake_gpusched.so beside it.
 *   FIXTURES_DIR defaults to $GS_FIXTURES_DIR, then to "fixtures" beside
 *   this source file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <linux/gpusched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpulist.h"
#include "discover.h"
#include "run.h"
#include "tap.h"

extern char **environ;

static const char *cli_path;
static const char *fixtures_dir;
static const char *fake_module;		/* fake_gpusched.so */
static const char *self_command;	/* our argv[0] without its directory */

#define HGX		"hgx-2s-smt-8gpu"
#define EPYC		"epyc-nps4-8gpu"
#define GRACE		"grace-blackwell-memnodes"
#define WORKSTATION	"workstation-isolated"
#define POWER9		"power9-smt-offline"
#define HOTPLUG		"hotplug-no-online-file"
#define MISSING_ROOT	"/nonexistent-gpusched-test/sysroot"
#define MISSING_DEVICE	"/nonexistent-gpusched"

/* The GPUs' nodes, worked out by hand from each fixture's numa_node/local_cpulist. */
static const int hgx_nodes[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
static const int epyc_nodes[] = { 7, 7, 5, 5, 3, 3, 1, 1 };
static const int grace_nodes[] = { 0, 0, 1, 1 };
static const int workstation_nodes[] = { 0 };

/* Runs the CLI with @args (NULL-terminated) and @envp (NULL: ours), output captured. */
static struct run run_cli(char *const *envp, const char *const *args)
{
	return run_program(cli_path, envp, args);
}

#define CLI(...)		run_cli(NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define CLI_ENV(envp, ...)	run_cli(envp, (const char *const[]){ __VA_ARGS__, NULL })

static char *fixture(const char *machine)
{
	return xprintf("%s/%s", fixtures_dir, machine);
}

/* Parses the cpulist in fixture file @machine/sys/@path; returns 0 or -1 (missing). */
static int fixture_cpulist(const char *machine, const char *path, struct gs_bitmap *bitmap)
{
	char *name = xprintf("%s/%s/sys/%s", fixtures_dir, machine, path);
	char text[256] = "";
	FILE *file = fopen(name, "re");
	int ret = -1;

	if (file) {
		if (!fgets(text, sizeof(text), file))
			text[0] = '\0';
		fclose(file);
		text[strcspn(text, "\n")] = '\0';
		ret = gs_bitmap_parse_list(bitmap, text) ? -1 : 0;
	}
	free(name);
	return ret;
}

/* A node's CPUs; a fixture without node directories is one node 0 of every online CPU. */
static void node_cpus(const char *machine, int node, struct gs_bitmap *cpus)
{
	char *path = xprintf("devices/system/node/node%d/cpulist", node);

	if (fixture_cpulist(machine, path, cpus) &&
	    (node || fixture_cpulist(machine, "devices/system/cpu/online", cpus)))
		gs_bitmap_zero(cpus);
	free(path);
}

/* The CPUs of @cpu's physical core, from thread_siblings_list or core_cpus_list. */
static void core_cpus(const char *machine, int cpu, struct gs_bitmap *core)
{
	char *path = xprintf("devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
	char *alt = xprintf("devices/system/cpu/cpu%d/topology/core_cpus_list", cpu);

	if (fixture_cpulist(machine, path, core) && fixture_cpulist(machine, alt, core)) {
		gs_bitmap_zero(core);
		gs_bitmap_set(core, cpu);
	}
	free(path);
	free(alt);
}

static void l3_cpus(const char *machine, int cpu, struct gs_bitmap *l3)
{
	char *path = xprintf("devices/system/cpu/cpu%d/cache/index3/shared_cpu_list", cpu);

	if (fixture_cpulist(machine, path, l3))
		gs_bitmap_zero(l3);
	free(path);
}

static char *format_cpus(const struct gs_bitmap *cpus)
{
	char text[256];

	if (gs_bitmap_format_list(cpus, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(too long)");
	return xprintf("%s", text);
}

static json_object *field(json_object *object, const char *name)
{
	json_object *value = NULL;

	json_object_object_get_ex(object, name, &value);
	return value;
}

static json_object *item(json_object *array, size_t index)
{
	if (!array || !json_object_is_type(array, json_type_array) ||
	    index >= json_object_array_length(array))
		return NULL;
	return json_object_array_get_idx(array, index);
}

static size_t length(json_object *array)
{
	return array && json_object_is_type(array, json_type_array) ?
	       json_object_array_length(array) : 0;
}

static const char *string_of(json_object *value)
{
	return value && json_object_is_type(value, json_type_string) ?
	       json_object_get_string(value) : "(not a string)";
}

static int int_of(json_object *value)
{
	return value && json_object_is_type(value, json_type_int) ? json_object_get_int(value) :
	       -1000;
}

/* Runs @args, which must print JSON; returns it or NULL (after a failed check). */
static json_object *run_json(struct run *run, const char *what, const char *const *args)
{
	json_object *parsed;

	*run = run_cli(NULL, args);
	parsed = json_tokener_parse(run->out);
	if (!tap_ok(parsed != NULL, "%s: stdout is JSON", what))
		tap_diag("exit %d, stderr: %s", run->status, run->err);
	return parsed;
}

/* ---- topo ---- */

static void check_topo_gpu(json_object *topo, const char *machine, unsigned int index,
			   const char *address, int node, const char *local_cpus)
{
	json_object *gpu = item(field(topo, "gpus"), index);

	if (!tap_ok(gpu && !strcmp(string_of(field(gpu, "pci_address")), address) &&
		    int_of(field(gpu, "node")) == node &&
		    !strcmp(string_of(field(gpu, "local_cpus")), local_cpus),
		    "topo %s: GPU %u is %s on node %d, local CPUs %s", machine, index, address,
		    node, local_cpus))
		tap_diag("got %s", gpu ? json_object_to_json_string(gpu) : "(missing)");
}

static void check_ignored(json_object *topo, const char *machine, const char *address)
{
	json_object *ignored = field(topo, "ignored_devices"), *entry = NULL;
	size_t i;

	for (i = 0; i < length(ignored); i++)
		if (!strcmp(string_of(field(item(ignored, i), "pci_address")), address))
			entry = item(ignored, i);
	if (!tap_ok(entry && int_of(field(entry, "vendor_id")) == 0x1a03 &&
		    strstr(string_of(field(entry, "reason")), "BMC"),
		    "topo %s: the ASPEED display %s is an ignored device, reason naming a BMC",
		    machine, address))
		tap_diag("ignored_devices: %s", json_object_to_json_string(ignored));
}

static void check_distances(json_object *topo, const char *machine, const int *row,
			    unsigned int nr)
{
	json_object *distances = field(item(field(topo, "nodes"), 0), "distances");
	bool same = length(distances) == nr;
	unsigned int i;

	for (i = 0; same && i < nr; i++)
		same = int_of(item(distances, i)) == row[i];
	if (!tap_ok(same && int_of(field(item(field(topo, "nodes"), 0), "node")) == 0,
		    "topo %s: node 0's distances are its fixture's distance row", machine))
		tap_diag("got %s", distances ? json_object_to_json_string(distances) : "(missing)");
}

static void test_topo_json(void)
{
	static const char *const hgx_addresses[] = {
		"0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0",
		"0000:9a:00.0", "0000:ab:00.0", "0000:ba:00.0", "0000:db:00.0",
	};
	static const char *const epyc_addresses[] = {
		"0000:05:00.0", "0000:15:00.0", "0000:65:00.0", "0000:75:00.0",
		"0000:85:00.0", "0000:95:00.0", "0000:e5:00.0", "0000:f5:00.0",
	};
	static const char *const epyc_cpus[] = {
		[1] = "2-3,18-19", [3] = "6-7,22-23", [5] = "10-11,26-27", [7] = "14-15,30-31",
	};
	static const int hgx_row[] = { 10, 21 };
	static const int epyc_row[] = { 10, 12, 12, 12, 32, 32, 32, 32 };
	char *hgx = fixture(HGX), *epyc = fixture(EPYC), *grace = fixture(GRACE);
	json_object *topo, *nodes;
	struct run run;
	unsigned int i;

	topo = run_json(&run, "topo --json " HGX,
			(const char *const[]){ "topo", "--json", "--sysfs-root", hgx, NULL });
	if (topo) {
		tap_ok(run.status == 0, "topo %s exits 0 (got %d)", HGX, run.status);
		tap_ok(!strcmp(string_of(field(topo, "source")), "sysfs"),
		       "topo %s: source is \"sysfs\"", HGX);
		/* 0000:03:00.0 is the BMC display, 0000:05:00.0 an NVSwitch (class 0680). */
		tap_ok(length(field(topo, "gpus")) == 8, "topo %s: 8 GPUs (got %zu)", HGX,
		       length(field(topo, "gpus")));
		for (i = 0; i < 8; i++)
			check_topo_gpu(topo, HGX, i, hgx_addresses[i], hgx_nodes[i],
				       hgx_nodes[i] ? "4-7,12-15" : "0-3,8-11");
		check_ignored(topo, HGX, "0000:03:00.0");
		check_distances(topo, HGX, hgx_row, 2);
		json_object_put(topo);
	}
	run_free(&run);

	topo = run_json(&run, "topo --json " EPYC,
			(const char *const[]){ "topo", "--json", "--sysfs-root", epyc, NULL });
	if (topo) {
		tap_ok(length(field(topo, "gpus")) == 8, "topo %s: 8 GPUs (got %zu)", EPYC,
		       length(field(topo, "gpus")));
		/* 0000:85:00.0 has numa_node -1: node 3 comes from its local_cpulist. */
		for (i = 0; i < 8; i++)
			check_topo_gpu(topo, EPYC, i, epyc_addresses[i], epyc_nodes[i],
				       epyc_cpus[epyc_nodes[i]]);
		check_ignored(topo, EPYC, "0000:c2:00.0");
		check_distances(topo, EPYC, epyc_row, 8);
		json_object_put(topo);
	}
	run_free(&run);

	topo = run_json(&run, "topo --json " GRACE,
			(const char *const[]){ "topo", "--json", "--sysfs-root", grace, NULL });
	if (topo) {
		nodes = field(topo, "nodes");
		tap_ok(length(field(topo, "gpus")) == 4, "topo %s: 4 GPUs", GRACE);
		check_topo_gpu(topo, GRACE, 0, "0008:01:00.0", 0, "0-3");
		check_topo_gpu(topo, GRACE, 2, "0018:01:00.0", 1, "4-7");
		/* The driver's numa_status: nodes 2, 10, 18 online, 26 offline. */
		for (i = 0; i < 4; i++) {
			json_object *gpu = item(field(topo, "gpus"), i);
			static const int memory[] = { 2, 10, 18, 1 };
			const char *source = i < 3 ? "numa_status" : "gpu_node";
			const char *got = json_object_get_string(field(gpu, "memory_node_source"));

			tap_ok(int_of(field(gpu, "memory_node")) == memory[i] && got &&
			       !strcmp(got, source),
			       "topo %s: GPU %u has its memory on node %d (%s)", GRACE, i,
			       memory[i], source);
		}
		/* Nodes 0,1,2,10,18,26 in that order; has_memory is 0-2,10,18. */
		for (i = 0; i < length(nodes); i++) {
			json_object *node = item(nodes, i);
			int id = int_of(field(node, "node"));
			bool memory_only = id == 2 || id == 10 || id == 18;

			tap_ok(json_object_get_boolean(field(node, "memory_only")) == memory_only &&
			       json_object_get_boolean(field(node, "has_memory")) == (id != 26),
			       "topo %s: node %d has_memory %s, memory_only %s", GRACE, id,
			       id != 26 ? "true" : "false", memory_only ? "true" : "false");
		}
		tap_ok(length(nodes) == 6, "topo %s: 6 nodes (got %zu)", GRACE, length(nodes));
		json_object_put(topo);
	}
	run_free(&run);
	free(hgx);
	free(epyc);
	free(grace);
}

/* The human table: a header starting "GPU", and each row's PCI address under its title. */
static void test_topo_table(void)
{
	char *hgx = fixture(HGX), *line, *next, *header;
	struct run run = CLI("topo", "--sysfs-root", hgx);
	long column = -1;
	unsigned int rows = 0, misaligned = 0;

	header = run.out;
	tap_ok(run.status == 0 && !strncmp(header, "GPU ", 4),
	       "topo %s: the table's header line starts with \"GPU\"", HGX);
	if (strstr(header, "PCI ADDRESS"))
		column = strstr(header, "PCI ADDRESS") - header;
	for (line = strchr(header, '\n'); line && line[1] && line[1] != '\n'; line = next) {
		char *address = strstr(++line, "0000:");

		next = strchr(line, '\n');
		rows++;
		if (!address || address - line != column || (next && address > next))
			misaligned++;
	}
	if (!tap_ok(column > 0 && rows == 8 && !misaligned,
		    "topo %s: 8 rows, every PCI address at column %ld of the header", HGX, column))
		tap_diag("%u rows, %u misaligned; stdout:\n%s", rows, misaligned, run.out);
	run_free(&run);
	free(hgx);
}

/*
 * Fixtures whose node cpulists and local_cpulist name offline CPUs and
 * CPUs without a directory: topo shows only the usable ones as a node's or
 * a GPU's CPUs, and the others apart (worked out by hand from each
 * fixture's cpu/online or cpuN/online files and its cpuN directories).
 */
struct offline_fixture {
	const char *machine;
	unsigned int nr_gpus;
	const int *gpu_nodes;
	int nodes[2];
	const char *cpus[2], *unusable[2];
	const char *online;
};

static const int power9_nodes[] = { 0, 0, 8, 8 };
static const int hotplug_nodes[] = { 0, 1 };

static const struct offline_fixture offline_fixtures[] = {
	{ POWER9, 4, power9_nodes, { 0, 8 }, { "0,4,8,12", "16,20,24,28" },
	  { "1-3,5-7,9-11,13-15", "17-19,21-23,25-27,29-31" }, "0,4,8,12,16,20,24,28" },
	{ HOTPLUG, 2, hotplug_nodes, { 0, 1 }, { "0-2,8-11", "4-5,7" },
	  { "3", "6,12-15" }, "0-2,4-5,7-11" },
};

static void test_topo_offline(void)
{
	unsigned int f, i;

	for (f = 0; f < sizeof(offline_fixtures) / sizeof(offline_fixtures[0]); f++) {
		const struct offline_fixture *fx = &offline_fixtures[f];
		char *root = fixture(fx->machine), *line;
		json_object *topo, *nodes;
		struct run run;

		topo = run_json(&run, fx->machine, (const char *const[]){
				"topo", "--json", "--sysfs-root", root, NULL });
		if (topo) {
			nodes = field(topo, "nodes");
			tap_ok(run.status == 0 && length(nodes) == 2 &&
			       length(field(topo, "gpus")) == fx->nr_gpus,
			       "topo %s: exit 0, 2 nodes, %u GPUs", fx->machine, fx->nr_gpus);
			for (i = 0; i < 2; i++) {
				json_object *node = item(nodes, i);

				if (!tap_ok(int_of(field(node, "node")) == fx->nodes[i] &&
					    !strcmp(string_of(field(node, "cpus")), fx->cpus[i]) &&
					    !strcmp(string_of(field(node, "unusable_cpus")),
						    fx->unusable[i]),
					    "topo %s: node %d has CPUs %s, unusable %s", fx->machine,
					    fx->nodes[i], fx->cpus[i], fx->unusable[i]))
					tap_diag("got %s", json_object_to_json_string(node));
			}
			for (i = 0; i < fx->nr_gpus; i++) {
				json_object *gpu = item(field(topo, "gpus"), i);
				int n = fx->gpu_nodes[i] == fx->nodes[0] ? 0 : 1;

				if (!tap_ok(int_of(field(gpu, "node")) == fx->gpu_nodes[i] &&
					    !strcmp(string_of(field(gpu, "local_cpus")), fx->cpus[n]),
					    "topo %s: GPU %u on node %d, local CPUs %s", fx->machine,
					    i, fx->gpu_nodes[i], fx->cpus[n]))
					tap_diag("got %s", json_object_to_json_string(gpu));
			}
			json_object_put(topo);
		}
		run_free(&run);

		run = CLI("topo", "--sysfs-root", root);
		for (i = 0; i < 2; i++) {
			char *want = xprintf("Node %d: CPUs %s are offline or not present",
					     fx->nodes[i], fx->unusable[i]);
			char *row = xprintf("\n%d ", fx->nodes[i]);
			bool usable_row = false;

			line = strstr(run.out, "\nNODE ");
			line = line ? strstr(line, row) : NULL;
			if (line) {
				char *end = strchr(line + 1, '\n');

				*end = '\0';
				usable_row = strstr(line, fx->cpus[i]) && !strstr(line, fx->unusable[i]);
				*end = '\n';
			}
			if (!tap_ok(run.status == 0 && usable_row && strstr(run.out, want),
				    "topo %s: the table lists node %d's CPUs as %s and says %s",
				    fx->machine, fx->nodes[i], fx->cpus[i], want))
				tap_diag("stdout:\n%s", run.out);
			free(want);
			free(row);
		}
		run_free(&run);
		free(root);
	}
}

/* ---- plan ---- */

#define MAX_WORKERS 64

struct worker {
	int gpu, node;
	struct gs_bitmap cpus;
	const char *text;
};

struct plan {
	const char *machine;
	const int *gpu_nodes;
	char *what;
	struct run run;
	json_object *json;
	struct worker workers[MAX_WORKERS];
	unsigned int nr_workers;
};

/* Runs plan --json on @machine with @extra arguments and collects every worker. */
static bool plan_run(struct plan *plan, const char *machine, const int *gpu_nodes,
		     const char *const *extra)
{
	const char *args[24] = { "plan", "--json", "--sysfs-root" };
	unsigned int nr = 4, g, w;
	char *root = fixture(machine);
	json_object *gpus;

	memset(plan, 0, sizeof(*plan));
	plan->machine = machine;
	plan->gpu_nodes = gpu_nodes;
	plan->what = xprintf("plan %s", machine);
	args[3] = root;
	while (*extra && nr < 23) {
		char *what = xprintf("%s %s", plan->what, *extra);

		free(plan->what);
		plan->what = what;
		args[nr++] = *extra++;
	}
	args[nr] = NULL;
	plan->json = run_json(&plan->run, plan->what, args);
	free(root);
	gpus = field(plan->json, "gpus");
	for (g = 0; g < length(gpus); g++) {
		json_object *workers = field(item(gpus, g), "workers");

		for (w = 0; w < length(workers) && plan->nr_workers < MAX_WORKERS; w++) {
			struct worker *worker = &plan->workers[plan->nr_workers++];

			worker->gpu = int_of(field(item(gpus, g), "gpu"));
			worker->node = int_of(field(item(workers, w), "node"));
			worker->text = string_of(field(item(workers, w), "cpus"));
			gs_bitmap_init(&worker->cpus);
			if (gs_bitmap_parse_list(&worker->cpus, worker->text))
				worker->node = -1000;
		}
	}
	return plan->json != NULL;
}

static void plan_free(struct plan *plan)
{
	unsigned int i;

	for (i = 0; i < plan->nr_workers; i++)
		gs_bitmap_free(&plan->workers[i].cpus);
	json_object_put(plan->json);
	run_free(&plan->run);
	free(plan->what);
}

/* Exit 0, @nr_gpus GPUs without error, @per_gpu workers each. */
static void check_plan_shape(struct plan *plan, unsigned int nr_gpus, unsigned int per_gpu)
{
	json_object *gpus = field(plan->json, "gpus");
	unsigned int g, errors = 0;

	for (g = 0; g < length(gpus); g++)
		errors += !json_object_is_type(field(item(gpus, g), "error"), json_type_null);
	if (!tap_ok(plan->run.status == 0 && length(gpus) == nr_gpus && !errors &&
		    plan->nr_workers == nr_gpus * per_gpu,
		    "%s: exits 0 with %u GPUs of %u workers each", plan->what, nr_gpus, per_gpu))
		tap_diag("exit %d, %zu GPUs, %u errors, %u workers; stderr: %s",
			 plan->run.status, length(gpus), errors, plan->nr_workers, plan->run.err);
}

static bool worker_in_node(const struct plan *plan, const struct worker *worker)
{
	struct gs_bitmap node = GS_BITMAP_INIT;
	int expected = plan->gpu_nodes[worker->gpu];
	bool inside;

	node_cpus(plan->machine, expected, &node);
	inside = worker->node == expected && !gs_bitmap_empty(&worker->cpus) &&
		 gs_bitmap_subset(&worker->cpus, &node);
	gs_bitmap_free(&node);
	return inside;
}

static void check_in_node(struct plan *plan)
{
	unsigned int i;

	for (i = 0; i < plan->nr_workers; i++)
		if (!worker_in_node(plan, &plan->workers[i]))
			break;
	if (!tap_ok(plan->nr_workers && i == plan->nr_workers,
		    "%s: every worker's CPUs are in its GPU's node", plan->what))
		tap_diag("GPU %d's worker on node %d has CPUs %s", plan->workers[i].gpu,
			 plan->workers[i].node, plan->workers[i].text);
}

static void check_disjoint(struct plan *plan)
{
	unsigned int i, j;

	for (i = 0; i < plan->nr_workers; i++)
		for (j = 0; j < i; j++)
			if (gs_bitmap_intersects(&plan->workers[i].cpus, &plan->workers[j].cpus)) {
				tap_ok(0, "%s: no CPU is in two workers", plan->what);
				tap_diag("%s (GPU %d) and %s (GPU %d) overlap",
					 plan->workers[i].text, plan->workers[i].gpu,
					 plan->workers[j].text, plan->workers[j].gpu);
				return;
			}
	tap_ok(plan->nr_workers > 0, "%s: no CPU is in two workers", plan->what);
}

/* Each worker holds whole cores: every CPU's SMT siblings are in the same worker. */
static void check_siblings(struct plan *plan)
{
	struct gs_bitmap core = GS_BITMAP_INIT;
	unsigned int i;
	int cpu, bad = -1;

	for (i = 0; i < plan->nr_workers && bad < 0; i++)
		gs_bitmap_for_each(cpu, &plan->workers[i].cpus) {
			core_cpus(plan->machine, cpu, &core);
			if (!gs_bitmap_subset(&core, &plan->workers[i].cpus)) {
				bad = cpu;
				break;
			}
		}
	if (!tap_ok(plan->nr_workers && bad < 0, "%s: SMT siblings stay together", plan->what))
		tap_diag("CPU %d's core is split; worker %s", bad, plan->workers[i - 1].text);
	gs_bitmap_free(&core);
}

/* Whole cores each GPU got, over all its workers; GPUs of one node differ by at most one. */
static void check_balance(struct plan *plan, unsigned int nr_gpus)
{
	struct gs_bitmap core = GS_BITMAP_INIT;
	unsigned int cores[16] = { 0 }, i, g, h;
	bool balanced = true;
	int cpu;

	for (i = 0; i < plan->nr_workers; i++)
		gs_bitmap_for_each(cpu, &plan->workers[i].cpus) {
			core_cpus(plan->machine, cpu, &core);
			if (gs_bitmap_next(&core, -1) == cpu && plan->workers[i].gpu < 16)
				cores[plan->workers[i].gpu]++;
		}
	for (g = 0; g < nr_gpus; g++)
		for (h = 0; h < nr_gpus; h++)
			if (plan->gpu_nodes[g] == plan->gpu_nodes[h] && cores[g] > cores[h] + 1)
				balanced = false;
	if (!tap_ok(plan->nr_workers && balanced,
		    "%s: GPUs of one node get shares within one core of each other", plan->what))
		for (g = 0; g < nr_gpus; g++)
			tap_diag("GPU %u (node %d): %u cores", g, plan->gpu_nodes[g], cores[g]);
	gs_bitmap_free(&core);
}

static void test_plan_exclusive(void)
{
	struct plan plan;

	/* 4 cores and 4 GPUs per node: one core (two siblings) each. */
	if (plan_run(&plan, HGX, hgx_nodes, (const char *const[]){
		     "--policy", "exclusive", "--workers-per-gpu", "1", NULL })) {
		check_plan_shape(&plan, 8, 1);
		check_in_node(&plan);
		check_disjoint(&plan);
		check_siblings(&plan);
		check_balance(&plan, 8);
	}
	plan_free(&plan);

	/*
	 * 8 workers on each node's 4 physical cores cannot each hold whole
	 * cores of their own: every GPU must fail, and say why.
	 */
	if (plan_run(&plan, HGX, hgx_nodes, (const char *const[]){
		     "--policy", "exclusive", "--workers-per-gpu", "2", NULL })) {
		json_object *gpus = field(plan.json, "gpus");
		unsigned int g, errors = 0;

		for (g = 0; g < length(gpus); g++)
			errors += json_object_is_type(field(item(gpus, g), "error"),
						      json_type_string);
		tap_ok(plan.run.status == 1 && errors == 8 && !plan.nr_workers,
		       "%s: 4 cores per node: exit 1, an error for each GPU (exit %d, %u errors)",
		       plan.what, plan.run.status, errors);
	}
	plan_free(&plan);

	/* Two workers per GPU where they fit: SMT on the workstation, none on Grace. */
	if (plan_run(&plan, WORKSTATION, workstation_nodes, (const char *const[]){
		     "--policy", "exclusive", "--workers-per-gpu", "2", NULL })) {
		check_plan_shape(&plan, 1, 2);
		check_in_node(&plan);
		check_disjoint(&plan);
		check_siblings(&plan);
	}
	plan_free(&plan);
	if (plan_run(&plan, GRACE, grace_nodes, (const char *const[]){
		     "--policy", "exclusive", "--workers-per-gpu", "2", NULL })) {
		check_plan_shape(&plan, 4, 2);
		check_in_node(&plan);
		check_disjoint(&plan);
		check_balance(&plan, 4);
	}
	plan_free(&plan);
	if (plan_run(&plan, EPYC, epyc_nodes, (const char *const[]){
		     "--policy", "exclusive", NULL })) {
		check_plan_shape(&plan, 8, 1);
		check_in_node(&plan);
		check_disjoint(&plan);
		check_siblings(&plan);
		check_balance(&plan, 8);
	}
	plan_free(&plan);
}

/* policy node: every worker gets exactly its GPU's node's CPUs. */
static void check_whole_node(struct plan *plan)
{
	struct gs_bitmap node = GS_BITMAP_INIT;
	unsigned int i;

	for (i = 0; i < plan->nr_workers; i++) {
		node_cpus(plan->machine, plan->gpu_nodes[plan->workers[i].gpu], &node);
		if (!gs_bitmap_equal(&node, &plan->workers[i].cpus))
			break;
	}
	if (!tap_ok(plan->nr_workers && i == plan->nr_workers,
		    "%s: every worker gets exactly its GPU's node's CPUs", plan->what))
		tap_diag("GPU %d's worker has %s", plan->workers[i].gpu, plan->workers[i].text);
	gs_bitmap_free(&node);
}

static void check_one_l3(struct plan *plan)
{
	struct gs_bitmap l3 = GS_BITMAP_INIT;
	unsigned int i;

	for (i = 0; i < plan->nr_workers; i++) {
		l3_cpus(plan->machine, gs_bitmap_next(&plan->workers[i].cpus, -1), &l3);
		if (gs_bitmap_empty(&l3) || !gs_bitmap_subset(&plan->workers[i].cpus, &l3))
			break;
	}
	if (!tap_ok(plan->nr_workers && i == plan->nr_workers,
		    "%s: each worker's CPUs share one L3 (index3/shared_cpu_list)", plan->what))
		tap_diag("GPU %d's worker has %s", plan->workers[i].gpu, plan->workers[i].text);
	gs_bitmap_free(&l3);
}

static void check_one_core(struct plan *plan)
{
	struct gs_bitmap core = GS_BITMAP_INIT;
	unsigned int i;

	for (i = 0; i < plan->nr_workers; i++) {
		core_cpus(plan->machine, gs_bitmap_next(&plan->workers[i].cpus, -1), &core);
		if (!gs_bitmap_equal(&core, &plan->workers[i].cpus))
			break;
	}
	if (!tap_ok(plan->nr_workers && i == plan->nr_workers,
		    "%s: each worker gets exactly one core with its SMT siblings", plan->what))
		tap_diag("GPU %d's worker has %s", plan->workers[i].gpu, plan->workers[i].text);
	gs_bitmap_free(&core);
}

static void test_plan_policies(void)
{
	struct plan plan;
	json_object *gpus;

	if (plan_run(&plan, HGX, hgx_nodes, (const char *const[]){
		     "--policy", "node", "--workers-per-gpu", "2", NULL })) {
		check_plan_shape(&plan, 8, 2);
		check_whole_node(&plan);
	}
	plan_free(&plan);
	if (plan_run(&plan, EPYC, epyc_nodes, (const char *const[]){ "--policy", "node", NULL })) {
		check_plan_shape(&plan, 8, 1);
		check_whole_node(&plan);
	}
	plan_free(&plan);
	if (plan_run(&plan, EPYC, epyc_nodes, (const char *const[]){
		     "--policy", "l3", "--workers-per-gpu", "2", NULL })) {
		check_plan_shape(&plan, 8, 2);
		check_in_node(&plan);
		check_one_l3(&plan);
	}
	plan_free(&plan);
	if (plan_run(&plan, HGX, hgx_nodes, (const char *const[]){ "--policy", "single", NULL })) {
		check_plan_shape(&plan, 8, 1);
		check_in_node(&plan);
		check_one_core(&plan);
	}
	plan_free(&plan);

	if (plan_run(&plan, HGX, hgx_nodes, (const char *const[]){
		     "--policy", "single", "--gpus", "0,7", NULL })) {
		gpus = field(plan.json, "gpus");
		if (!tap_ok(plan.run.status == 0 && length(gpus) == 2 &&
			    int_of(field(item(gpus, 0), "gpu")) == 0 &&
			    !strcmp(string_of(field(item(gpus, 0), "pci_address")),
				    "0000:18:00.0") &&
			    int_of(field(item(gpus, 1), "gpu")) == 7 &&
			    !strcmp(string_of(field(item(gpus, 1), "pci_address")),
				    "0000:db:00.0"),
			    "%s: only GPUs 0 (0000:18:00.0) and 7 (0000:db:00.0)", plan.what))
			tap_diag("gpus: %s", json_object_to_json_string(gpus));
		check_in_node(&plan);
	}
	plan_free(&plan);

	if (plan_run(&plan, HGX, hgx_nodes, (const char *const[]){
		     "--policy", "exclusive", "--workers-per-gpu", "64", NULL })) {
		unsigned int g, errors = 0;

		gpus = field(plan.json, "gpus");
		for (g = 0; g < length(gpus); g++)
			errors += json_object_is_type(field(item(gpus, g), "error"),
						      json_type_string) &&
				  *string_of(field(item(gpus, g), "error"));
		tap_ok(plan.run.status == 1 && length(gpus) == 8 && errors == 8,
		       "%s: exit 1, an \"error\" string for each GPU (exit %d, %u errors)",
		       plan.what, plan.run.status, errors);
	}
	plan_free(&plan);
}

/* No plan on the workstation uses its isolated CPUs (2-3,6-7 in cpu/isolated). */
static void test_plan_isolated(void)
{
	static const char *const policies[] = { "node", "socket", "exclusive", "l3", "single" };
	struct gs_bitmap isolated = GS_BITMAP_INIT;
	struct plan plan;
	unsigned int p, i;

	if (fixture_cpulist(WORKSTATION, "devices/system/cpu/isolated", &isolated) ||
	    gs_bitmap_empty(&isolated)) {
		tap_skip("the fixture lists no isolated CPUs", "%s: isolated CPUs", WORKSTATION);
		return;
	}
	for (p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		if (!plan_run(&plan, WORKSTATION, workstation_nodes, (const char *const[]){
			      "--policy", policies[p], NULL })) {
			plan_free(&plan);
			continue;
		}
		for (i = 0; i < plan.nr_workers; i++)
			if (gs_bitmap_intersects(&plan.workers[i].cpus, &isolated))
				break;
		if (!tap_ok(plan.run.status == 0 && plan.nr_workers == 1 && i == plan.nr_workers,
			    "%s: places its worker, on no isolated CPU", plan.what))
			tap_diag("exit %d, worker CPUs %s", plan.run.status,
				 plan.nr_workers ? plan.workers[0].text : "(none)");
		/* node 0 is CPUs 0-7 (no node directories), less the isolated 2-3,6-7 */
		if (p == 0)
			tap_ok(plan.nr_workers == 1 && !strcmp(plan.workers[0].text, "0-1,4-5"),
			       "%s: the worker gets 0-1,4-5", plan.what);
		plan_free(&plan);
	}
	gs_bitmap_free(&isolated);
}

/* No policy places a worker on an offline or absent CPU. */
static void test_plan_offline(void)
{
	static const char *const policies[] = { "node", "socket", "exclusive", "l3", "single" };
	struct gs_bitmap online = GS_BITMAP_INIT;
	struct plan plan;
	unsigned int f, p, i;

	for (f = 0; f < sizeof(offline_fixtures) / sizeof(offline_fixtures[0]); f++) {
		const struct offline_fixture *fx = &offline_fixtures[f];

		gs_bitmap_parse_list(&online, fx->online);
		for (p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
			if (!plan_run(&plan, fx->machine, fx->gpu_nodes, (const char *const[]){
				      "--policy", policies[p], NULL })) {
				plan_free(&plan);
				continue;
			}
			for (i = 0; i < plan.nr_workers; i++)
				if (gs_bitmap_empty(&plan.workers[i].cpus) ||
				    !gs_bitmap_subset(&plan.workers[i].cpus, &online))
					break;
			if (!tap_ok(plan.run.status == 0 && plan.nr_workers == fx->nr_gpus &&
				    i == plan.nr_workers,
				    "%s: every GPU's worker is placed on online CPUs (%s) only",
				    plan.what, fx->online))
				tap_diag("exit %d, worker %u CPUs %s; stderr %s", plan.run.status, i,
					 i < plan.nr_workers ? plan.workers[i].text : "-", plan.run.err);
			/* --policy node: all usable CPUs of the GPU's node, no more. */
			for (i = 0; p == 0 && i < plan.nr_workers; i++) {
				const struct worker *worker = &plan.workers[i];
				int n = fx->gpu_nodes[worker->gpu] == fx->nodes[0] ? 0 : 1;

				if (!tap_ok(!strcmp(worker->text, fx->cpus[n]),
					    "%s: GPU %d's worker gets %s", plan.what, worker->gpu,
					    fx->cpus[n]))
					tap_diag("got %s", worker->text);
			}
			plan_free(&plan);
		}
	}
	gs_bitmap_free(&online);
}

/* ---- usage, exit codes, messages ---- */

static void expect_exit(struct run run, int status, const char *needle, const char *what)
{
	if (!tap_ok(run.status == status && (!needle || strstr(run.err, needle)),
		    "%s exits %d%s%s%s", what, status, needle ? ", stderr names \"" : "",
		    needle ? needle : "", needle ? "\"" : ""))
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	run_free(&run);
}

static void test_usage(void)
{
	static const char *const commands[] = { "topo", "status", "plan", "exec", "pin", "unpin" };
	char *hgx = fixture(HGX);
	struct run run;
	unsigned int i;

	expect_exit(CLI("frobnicate"), 2, "frobnicate", "an unknown subcommand");
	expect_exit(CLI("topo", "--frobnicate"), 2, "--frobnicate", "topo --frobnicate");
	expect_exit(CLI("plan", "--sysfs-root", hgx, "--policy", "bogus"), 2, "bogus",
		    "plan --policy bogus");
	expect_exit(CLI("plan", "--sysfs-root", hgx, "--workers-per-gpu", "0"), 2,
		    "--workers-per-gpu 0", "plan --workers-per-gpu 0");
	expect_exit(CLI("plan", "--sysfs-root", hgx, "--policy", "node", "--cores", "2"), 2,
		    "--cores", "plan --policy node --cores 2");
	expect_exit(CLI("plan", "--sysfs-root", hgx, "--gpus", "99"), 2, "99",
		    "plan --gpus 99 on 8 GPUs");
	expect_exit(CLI("exec", "--device", MISSING_DEVICE, "--gpu", "0"), 2, "no program",
		    "exec without a program");
	expect_exit(CLI("exec", "--policy", "bogus", "--", "/bin/true"), 2, "bogus",
		    "exec --policy bogus");
	expect_exit(CLI("pin", "--gpu", "0"), 2, "--pid", "pin without --pid/--tid");
	expect_exit(CLI("unpin"), 2, "--pid", "unpin without --pid/--tid");
	expect_exit(CLI("status", "--sysfs-root", "X"), 2, "--sysfs-root", "status --sysfs-root X");
	expect_exit(CLI(NULL), 2, "Usage:", "gpusched without a subcommand");

	run = CLI("--version");
#ifdef GPUSCHED_VERSION
	tap_ok(run.status == 0 && !strcmp(run.out, "gpusched " GPUSCHED_VERSION "\n"),
	       "--version prints \"gpusched %s\" (got \"%.*s\")", GPUSCHED_VERSION,
	       (int)strcspn(run.out, "\n"), run.out);
#else
	tap_ok(run.status == 0 && !strncmp(run.out, "gpusched ", 9) && run.out[9] > ' ',
	       "--version prints \"gpusched VERSION\" (got \"%.*s\")",
	       (int)strcspn(run.out, "\n"), run.out);
#endif
	run_free(&run);
	run = CLI("--help");
	tap_ok(run.status == 0 && strstr(run.out, "Usage:"), "--help exits 0 and prints Usage:");
	run_free(&run);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		run = CLI(commands[i], "--help");
		tap_ok(run.status == 0 && strstr(run.out, "Usage:"),
		       "%s --help exits 0 and prints Usage: (exit %d)", commands[i], run.status);
		run_free(&run);
	}

	expect_exit(CLI("topo", "--sysfs-root", MISSING_ROOT), 1, MISSING_ROOT,
		    "topo --sysfs-root of a missing directory");
	expect_exit(CLI("plan", "--sysfs-root", MISSING_ROOT), 1, MISSING_ROOT,
		    "plan --sysfs-root of a missing directory");
	expect_exit(CLI("exec", "--device", MISSING_DEVICE, "--no-fallback", "--gpu", "0", "--",
			"/bin/true"), 3, "modprobe", "exec --no-fallback without the module");
	expect_exit(CLI("status", "--device", MISSING_DEVICE), 3, "modprobe",
		    "status without the module");
	free(hgx);
}

/* ---- status, against a stand-in module ---- */

/*
 * status reads the module only through ioctl(2) on --device, and finds the
 * pinned threads in /proc.  So the threads are real ones, children of this
 * test that wait and two threads of this process, and fake_gpusched.so
 * answers QUERY for them as the module would for pins in each state.
 */

/* One pinned process, as the stand-in module is told to report it. */
struct status_pin {
	const char *what;
	pid_t pid;
	unsigned int gpu, policy;
	unsigned int result;		/* GPUSCHED_QUERY_* besides PINNED */
	unsigned int reason, nr_followed;
	bool owned;			/* owner_pid is the process itself */
	const char *cpus;
	unsigned int nr_threads;
	/* What status should say of its state */
	const char *state_cell;		/* under STATE */
	const char *state, *reason_name;	/* in --json */
	unsigned int nr_own_cpus;
};

static int thread_ready[2], thread_release[2];

static void *waiting_thread(void *arg)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char byte;

	(void)arg;
	if (write(thread_ready[1], &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	while (read(thread_release[0], &byte, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A child that waits for SIGKILL, and gets it if this test dies first. */
static pid_t waiting_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		run_bail("fork");
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* FAKE_GPUSCHED_PINS for @pins; the threads of this process beyond the first in @extra_tids. */
static char *fake_pins(const struct status_pin *pins, size_t nr, const pid_t *extra_tids,
		       const unsigned int *extra_results, size_t nr_extra)
{
	char *text = xprintf("FAKE_GPUSCHED_PINS="), *more;
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct status_pin *p = &pins[i];

		more = xprintf("%s%d:%u:%u:%u:%u:%u:%d:%s;", text, p->pid, p->gpu, p->policy,
			       p->result, p->reason, p->nr_followed, p->owned ? p->pid : 0, p->cpus);
		free(text);
		text = more;
	}
	/* The other threads of this process: pins[0] is this process. */
	for (i = 0; i < nr_extra; i++) {
		const struct status_pin *p = &pins[0];

		more = xprintf("%s%d:%u:%u:%u:%u:%u:%d:%s;", text, extra_tids[i], p->gpu, p->policy,
			       p->result | extra_results[i], p->reason, p->nr_followed,
			       p->owned ? p->pid : 0, p->cpus);
		free(text);
		text = more;
	}
	return text;
}

/* Runs `gpusched status @args` against the stand-in module holding @pins_env. */
static struct run run_status(const char *device, const char *pins_env, bool old,
			     const char *const *args)
{
	char *preload = xprintf("LD_PRELOAD=%s", fake_module);
	char *device_env = xprintf("FAKE_GPUSCHED_DEVICE=%s", device);
	char *envp[] = { "PATH=/usr/bin:/bin", preload, device_env, (char *)pins_env,
			 old ? "FAKE_GPUSCHED_OLD=1" : NULL, NULL };
	const char *argv[8] = { "status", "--device", device };
	struct run run;
	size_t n = 3;

	while (*args && n < 7)
		argv[n++] = *args++;
	argv[n] = NULL;
	run = run_cli(envp, argv);
	free(preload);
	free(device_env);
	return run;
}

/* The header line of status's pin table in @out, or NULL. */
static const char *pin_table_header(const char *out)
{
	const char *line;

	for (line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, "GPU  ", 5) && strstr(line, "  PID  ") &&
		    strstr(line, "  PID  ") < strchr(line, '\n'))
			return line;
	return NULL;
}

/*
 * The cell of @line under the column @title of @header: from where the
 * title starts to where the next title starts (the end of the line for
 * the last), trailing blanks dropped.  NULL when @header has no such
 * title.  A cell that is not where its title is comes out wrong, so this
 * checks the alignment too.  The caller frees it.
 */
static char *table_cell(const char *header, const char *line, const char *title)
{
	size_t header_len = strcspn(header, "\n"), line_len = strcspn(line, "\n");
	size_t start, end, i;
	const char *at;

	for (at = header; (at = strstr(at, title)) && at < header + header_len; at++)
		if ((at == header || at[-1] == ' ') &&
		    (at[strlen(title)] == ' ' || at[strlen(title)] == '\n' || !at[strlen(title)]))
			break;
	if (!at || at >= header + header_len)
		return NULL;
	start = (size_t)(at - header);
	/* The next title begins after two blanks at least. */
	for (end = start + strlen(title); end < header_len; end++)
		if (header[end] == ' ' && header[end + 1] == ' ')
			break;
	while (end < header_len && header[end] == ' ')
		end++;
	if (end >= header_len)
		end = line_len;
	if (start >= line_len)
		return xprintf("%s", "");
	if (end > line_len)
		end = line_len;
	for (i = end; i > start && line[i - 1] == ' '; i--)
		;
	return xprintf("%.*s", (int)(i - start), line + start);
}

/* The row of @pid in the pin table under @header, or NULL. */
static const char *pin_row(const char *header, pid_t pid)
{
	char *want = xprintf("%d", pid);
	const char *line = strchr(header, '\n');

	for (line = line ? line + 1 : NULL; line && *line && *line != '\n';
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *cell = table_cell(header, line, "PID");
		bool found = cell && !strcmp(cell, want);

		free(cell);
		if (found)
			break;
	}
	free(want);
	return line && *line && *line != '\n' ? line : NULL;
}

/* Whether the cell of @row under @title is @want; says what it was when not. */
static bool cell_is(const char *header, const char *row, const char *title, const char *want)
{
	char *cell = table_cell(header, row, title);
	bool same = cell && !strcmp(cell, want);

	if (!same)
		tap_diag("%s: \"%s\", expected \"%s\"", title, cell ? cell : "(no such column)", want);
	free(cell);
	return same;
}

/* The pin entry of @pid under GPU @gpu of status --json, or NULL. */
static json_object *json_pin(json_object *status, unsigned int gpu, pid_t pid)
{
	json_object *pins = field(item(field(status, "gpus"), gpu), "pins");
	size_t i;

	for (i = 0; i < length(pins); i++)
		if (int_of(field(item(pins, i), "pid")) == pid)
			return item(pins, i);
	return NULL;
}

static const char *const policy_names[] = {
	[GPUSCHED_POLICY_NODE] = "node", [GPUSCHED_POLICY_SOCKET] = "socket",
	[GPUSCHED_POLICY_EXCLUSIVE] = "exclusive",
};

static void check_status_table(const char *out, const struct status_pin *pins, size_t nr)
{
	const char *header = pin_table_header(out);
	size_t i;

	if (!tap_ok(header != NULL, "status: a pin table whose header starts \"GPU  PID\"")) {
		tap_diag("stdout:\n%s", out);
		return;
	}
	for (i = 0; i < nr; i++) {
		const struct status_pin *p = &pins[i];
		const char *row = pin_row(header, p->pid);
		char *gpu = xprintf("%u", p->gpu), *pid = xprintf("%d", p->pid);
		char *threads = xprintf("%u", p->nr_threads);
		bool same;

		same = row && cell_is(header, row, "GPU", gpu) &&
		       cell_is(header, row, "COMMAND", self_command) &&
		       cell_is(header, row, "THREADS", threads) &&
		       cell_is(header, row, "POLICY", policy_names[p->policy]) &&
		       cell_is(header, row, "CPUS", p->cpus) &&
		       cell_is(header, row, "HELD BY", p->owned ? pid : "-");
		if (!tap_ok(same, "status: %s: one row, GPU %u, %s threads, %s, CPUs %s, held by %s, "
			    "each under its title", p->what, p->gpu, threads, policy_names[p->policy],
			    p->cpus, p->owned ? "itself" : "-"))
			tap_diag("stdout:\n%s", out);
		free(gpu);
		free(pid);
		free(threads);
	}
}

/*
 * The STATE column, the last, under its title: each pin's state, or "-"
 * from a module that does not report states (@old).
 */
static void check_status_states(const char *out, const struct status_pin *pins, size_t nr,
				bool old)
{
	const char *header = pin_table_header(out);
	size_t i;

	if (!tap_ok(header && strstr(header, "  STATE\n") &&
		    strstr(header, "  STATE\n") < strchr(header, '\n'),
		    "status%s: the pin table's last column is STATE", old ? " (old module)" : ""))
		tap_diag("stdout:\n%s", out);
	for (i = 0; header && i < nr; i++) {
		const char *row = pin_row(header, pins[i].pid);
		const char *want = old ? "-" : pins[i].state_cell;

		if (!tap_ok(row && cell_is(header, row, "STATE", want), "status%s: %s: STATE \"%s\"",
			    old ? " (old module)" : "", pins[i].what, want))
			tap_diag("stdout:\n%s", out);
	}
}

/* Scripts read status with awk: $1 GPU, $2 PID, $5 POLICY, $6 CPUS must stay so. */
static void check_status_fields(const char *out, const struct status_pin *pins, size_t nr)
{
	const char *header = pin_table_header(out);
	unsigned int wrong = 0;
	size_t i;

	for (i = 0; header && i < nr; i++) {
		const char *row = pin_row(header, pins[i].pid);
		char *line = row ? xprintf("%.*s", (int)strcspn(row, "\n"), row) : NULL;
		char *words[16] = { NULL }, *save = NULL, *word;
		unsigned int n = 0;

		for (word = line ? strtok_r(line, " ", &save) : NULL; word && n < 16;
		     word = strtok_r(NULL, " ", &save))
			words[n++] = word;
		if (n < 6 || atoi(words[0]) != (int)pins[i].gpu || atoi(words[1]) != pins[i].pid ||
		    strcmp(words[4], policy_names[pins[i].policy]) || strcmp(words[5], pins[i].cpus))
			wrong++;
		free(line);
	}
	if (!tap_ok(header && !wrong, "status: in every pin row, awk's $1 $2 $5 $6 are GPU, PID, "
		    "POLICY and CPUS (the selftests read them so)"))
		tap_diag("%u rows wrong; stdout:\n%s", wrong, out);
}

static void check_status_json(json_object *status, const struct status_pin *pins, size_t nr)
{
	unsigned int tasks[2] = { 0, 0 };
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct status_pin *p = &pins[i];
		json_object *pin = json_pin(status, p->gpu, p->pid);

		tasks[p->gpu] += p->nr_threads;
		if (!tap_ok(pin && int_of(field(pin, "nr_threads")) == (int)p->nr_threads &&
			    !strcmp(string_of(field(pin, "command")), self_command) &&
			    !strcmp(string_of(field(pin, "policy")), policy_names[p->policy]) &&
			    !strcmp(string_of(field(pin, "cpus")), p->cpus) &&
			    (p->owned ? int_of(field(pin, "owner_pid")) == p->pid :
			     json_object_object_get_ex(pin, "owner_pid", NULL) &&
			     !field(pin, "owner_pid")),
			    "status --json: %s: under GPU %u, %u threads, %s, CPUs %s, owner_pid %s",
			    p->what, p->gpu, p->nr_threads, policy_names[p->policy], p->cpus,
			    p->owned ? "itself" : "null"))
			tap_diag("got %s", pin ? json_object_to_json_string(pin) : "(missing)");
	}
	for (i = 0; i < 2; i++)
		tap_ok(int_of(field(item(field(status, "gpus"), i), "nr_pinned_threads")) ==
		       (int)tasks[i], "status --json: GPU %zu has %u pinned threads", i, tasks[i]);
}

/* Whether @object has @name, set to JSON null. */
static bool null_field(json_object *object, const char *name)
{
	return object && json_object_object_get_ex(object, name, NULL) && !field(object, name);
}

/* Each pin's state, reason, nr_followed and nr_own_cpus_threads; null from an old module. */
static void check_status_json_states(json_object *status, const struct status_pin *pins,
				     size_t nr, bool old)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct status_pin *p = &pins[i];
		json_object *pin = json_pin(status, p->gpu, p->pid);
		bool same;

		if (old)
			same = null_field(pin, "state") && null_field(pin, "reason") &&
			       null_field(pin, "nr_followed") &&
			       null_field(pin, "nr_own_cpus_threads");
		else
			same = pin && !strcmp(string_of(field(pin, "state")), p->state) &&
			       !strcmp(string_of(field(pin, "reason")), p->reason_name) &&
			       int_of(field(pin, "nr_followed")) == (int)p->nr_followed &&
			       int_of(field(pin, "nr_own_cpus_threads")) == (int)p->nr_own_cpus;
		if (old && !tap_ok(same, "status --json (old module): %s: state, reason, "
				   "nr_followed and nr_own_cpus_threads are null", p->what))
			tap_diag("got %s", pin ? json_object_to_json_string(pin) : "(missing)");
		if (!old && !tap_ok(same, "status --json: %s: state \"%s\", reason \"%s\", "
				    "nr_followed %u, nr_own_cpus_threads %u", p->what, p->state,
				    p->reason_name, p->nr_followed, p->nr_own_cpus))
			tap_diag("got %s", pin ? json_object_to_json_string(pin) : "(missing)");
	}
}

/*
 * Four GPUs of the stand-in module, all on node 0: the free whole cores of
 * that node are counted once, for the node, not once for every GPU.  The
 * expected count is this machine's (status reads the live sysfs): the cores
 * of node 0 all of whose SMT siblings are usable, none being reserved.
 */
static void test_status_nodes(void)
{
	char device[] = "/tmp/gpusched-fake.XXXXXX", *preload, *device_env, *cpus, *want_row;
	const struct gs_machine_node *node0;
	struct gs_machine *machine = NULL;
	unsigned int g, expected = 0, with_free = 0;
	json_object *json, *nodes;
	const char *nodes_header, *gpu_header;
	bool ok;
	struct run run;
	int cpu, fd;

	if (access(fake_module, R_OK) || gs_discover(NULL, &machine) ||
	    !(node0 = gs_topo_node_by_id(machine, 0))) {
		tap_skip("no stand-in module, or this machine has no node 0", "status: free cores per node");
		gs_machine_free(machine);
		return;
	}
	gs_bitmap_for_each(cpu, &node0->cpus) {
		const struct gs_machine_cpu *c = gs_topo_cpu_by_id(machine, cpu);

		if (c && gs_bitmap_next(&c->siblings, -1) == cpu &&
		    gs_bitmap_subset(&c->siblings, &node0->cpus))
			expected++;
	}
	cpus = format_cpus(&node0->cpus);
	fd = mkstemp(device);
	if (fd < 0)
		run_bail("status: scratch device");
	close(fd);
	preload = xprintf("LD_PRELOAD=%s", fake_module);
	device_env = xprintf("FAKE_GPUSCHED_DEVICE=%s", device);

	run = run_cli((char *const[]){ "PATH=/usr/bin:/bin", preload, device_env,
				       "FAKE_GPUSCHED_GPUS=4", NULL },
		      (const char *const[]){ "status", "--device", device, "--json", NULL });
	json = json_tokener_parse(run.out);
	nodes = field(json, "nodes");
	for (g = 0; g < length(field(json, "gpus")); g++)
		with_free += field(item(field(json, "gpus"), g), "free_cores") != NULL;
	if (!tap_ok(run.status == 0 && length(nodes) == 1 &&
		    int_of(field(item(nodes, 0), "node")) == 0 &&
		    length(field(item(nodes, 0), "gpus")) == 4 &&
		    int_of(item(field(item(nodes, 0), "gpus"), 3)) == 3 &&
		    !strcmp(string_of(field(item(nodes, 0), "cpus")), cpus) &&
		    int_of(field(item(nodes, 0), "free_cores")) == (int)expected,
		    "status --json, 4 GPUs on node 0: one node entry, GPUs 0-3, CPUs %s, %u free cores",
		    cpus, expected))
		tap_diag("exit %d, nodes %s, stderr %s", run.status,
			 nodes ? json_object_to_json_string(nodes) : "(missing)", run.err);
	tap_ok(length(field(json, "gpus")) == 4 && !with_free,
	       "status --json: no GPU entry carries a free core count of its own (%u do)", with_free);
	json_object_put(json);
	run_free(&run);

	run = run_cli((char *const[]){ "PATH=/usr/bin:/bin", preload, device_env,
				       "FAKE_GPUSCHED_GPUS=4", NULL },
		      (const char *const[]){ "status", "--device", device, NULL });
	nodes_header = strstr(run.out, "\nNODE ");
	gpu_header = strstr(run.out, "GPU  PCI ADDRESS");
	want_row = xprintf("%u", expected);
	ok = run.status == 0 && nodes_header && gpu_header &&
	     !(strstr(gpu_header, "FREE CORES") &&
	       strstr(gpu_header, "FREE CORES") < strchr(gpu_header, '\n'));
	if (ok) {
		const char *header = nodes_header + 1, *row = strchr(header, '\n');

		ok = row && cell_is(header, row + 1, "NODE", "0") &&
		     cell_is(header, row + 1, "GPUS", "0-3") &&
		     cell_is(header, row + 1, "FREE CORES", want_row) &&
		     (!strchr(row + 1, '\n') || strchr(row + 1, '\n')[1] == '\n');
	}
	if (!tap_ok(ok, "status, 4 GPUs on node 0: FREE CORES not per GPU; a node table with one row, GPUS 0-3, FREE CORES %u",
		    expected))
		tap_diag("exit %d, stdout:\n%s", run.status, run.out);
	run_free(&run);
	unlink(device);
	free(want_row);
	free(preload);
	free(device_env);
	free(cpus);
	gs_machine_free(machine);
}

/* Physical cores of @node in @machine's fixture files: distinct lowest siblings. */
static unsigned int fixture_node_cores(const char *machine, int node)
{
	struct gs_bitmap cpus = GS_BITMAP_INIT, core = GS_BITMAP_INIT, firsts = GS_BITMAP_INIT;
	unsigned int count;
	int cpu;

	node_cpus(machine, node, &cpus);
	gs_bitmap_for_each(cpu, &cpus) {
		core_cpus(machine, cpu, &core);
		gs_bitmap_set(&firsts, (unsigned int)gs_bitmap_next(&core, -1));
	}
	count = gs_bitmap_weight(&firsts);
	gs_bitmap_free(&cpus);
	gs_bitmap_free(&core);
	gs_bitmap_free(&firsts);
	return count;
}

/*
 * A GPU whose workers do not fit keeps its index and node in the JSON and
 * the table, and says the arithmetic: the node's cores, the GPUs sharing
 * them, the cores each worker needs.
 */
static void test_plan_failure_numbers(void)
{
	static const char *const args[] = {
		"--policy", "exclusive", "--workers-per-gpu", "2", NULL
	};
	char *hgx = fixture(HGX);
	struct plan plan;
	struct run run;
	unsigned int g, gpus_on_node[2] = { 0 }, cores[2];

	for (g = 0; g < 8; g++)
		gpus_on_node[hgx_nodes[g]]++;
	cores[0] = fixture_node_cores(HGX, 0);
	cores[1] = fixture_node_cores(HGX, 1);
	if (plan_run(&plan, HGX, hgx_nodes, args)) {
		json_object *gpus = field(plan.json, "gpus");

		for (g = 0; g < length(gpus); g++) {
			json_object *gpu = item(gpus, g), *numbers = field(gpu, "numbers");
			int node = hgx_nodes[g];
			char *says = xprintf("node %d has %u usable cores", node, cores[node]);
			char *gpus_text = xprintf("for %u GPUs", gpus_on_node[node]);

			if (!tap_ok(int_of(field(gpu, "gpu")) == (int)g &&
				    int_of(field(gpu, "node")) == node &&
				    int_of(field(numbers, "cores_on_node")) == (int)cores[node] &&
				    int_of(field(numbers, "gpus_on_node")) == (int)gpus_on_node[node] &&
				    int_of(field(numbers, "cores_per_worker")) == 1 &&
				    int_of(field(numbers, "cores_needed")) == 2 &&
				    strstr(string_of(field(gpu, "message")), says) &&
				    strstr(string_of(field(gpu, "message")), gpus_text) &&
				    strstr(string_of(field(gpu, "message")), "2 workers x 1 core need 2"),
				    "%s: GPU %u's failure keeps node %d and says %s %s, 2 workers x 1 core need 2",
				    plan.what, g, node, says, gpus_text))
				tap_diag("got %s", json_object_to_json_string(gpu));
			free(says);
			free(gpus_text);
		}
		tap_ok(length(gpus) == 8, "%s: 8 GPU entries (got %zu)", plan.what, length(gpus));
	}
	plan_free(&plan);

	run = CLI("plan", "--sysfs-root", hgx, "--policy", "exclusive", "--workers-per-gpu", "2");
	{
		const char *header = strstr(run.out, "GPU ");
		unsigned int good = 0;

		for (g = 0; header && g < 8; g++) {
			char *start = xprintf("\n%u ", g);
			const char *row = strstr(header, start), *end;

			end = row ? strchr(row + 1, '\n') : NULL;
			if (row && end && cell_is(header, row + 1, "WORKER", "0-1") &&
			    cell_is(header, row + 1, "NODE", hgx_nodes[g] ? "1" : "0") &&
			    strstr(row, "usable cores") && strstr(row, "usable cores") < end)
				good++;
			free(start);
		}
		if (!tap_ok(run.status == 1 && good == 8,
			    "plan %s exclusive x2: 8 table rows with GPU, WORKER 0-1, NODE and the numbers",
			    HGX))
			tap_diag("exit %d, stdout:\n%s", run.status, run.out);
	}
	run_free(&run);
	free(hgx);
}

/* A fixture file holding one integer, or -1 when it is missing. */
static int fixture_int(const char *machine, const char *path)
{
	char *name = xprintf("%s/%s/sys/%s", fixtures_dir, machine, path);
	FILE *file = fopen(name, "re");
	int value = -1;

	if (file && fscanf(file, "%d", &value) != 1)
		value = -1;
	if (file)
		fclose(file);
	free(name);
	return value;
}

/* The lowest CPU of a fixture CPU set file, or -1 when it is missing. */
static int fixture_first(const char *machine, const char *path)
{
	struct gs_bitmap cpus = GS_BITMAP_INIT;
	int first = fixture_cpulist(machine, path, &cpus) ? -1 : gs_bitmap_next(&cpus, -1);

	gs_bitmap_free(&cpus);
	return first;
}

/*
 * topo --json has every present CPU with its node, package, core,
 * last-level cache, online, isolated and nohz_full, each checked against
 * the fixture's own files: cpuN/online (cpu0 without one is online),
 * physical_package_id, core_cpus_list (two CPUs share a core number
 * exactly when their sibling lists start at the same CPU), the L3's
 * shared_cpu_list (likewise for the cache number), the node cpulists, and
 * cpu/isolated and cpu/nohz_full.
 */
static void check_topo_cpus(const char *machine, unsigned int nr_cpus, int nr_nodes)
{
	struct gs_bitmap isolated = GS_BITMAP_INIT, nohz = GS_BITMAP_INIT, node = GS_BITMAP_INIT;
	int core_of_first[64], llc_of_first[64];
	char *root = fixture(machine);
	unsigned int i, wrong = 0;
	json_object *topo, *cpus;
	struct run run;

	memset(core_of_first, 0xff, sizeof(core_of_first));
	memset(llc_of_first, 0xff, sizeof(llc_of_first));
	fixture_cpulist(machine, "devices/system/cpu/isolated", &isolated);
	fixture_cpulist(machine, "devices/system/cpu/nohz_full", &nohz);
	topo = run_json(&run, machine, (const char *const[]){
			"topo", "--json", "--sysfs-root", root, NULL });
	cpus = field(topo, "cpus");
	for (i = 0; topo && i < nr_cpus; i++) {
		json_object *cpu = item(cpus, i);
		char *path = xprintf("devices/system/cpu/cpu%u/online", i);
		char *package = xprintf("devices/system/cpu/cpu%u/topology/physical_package_id", i);
		char *siblings = xprintf("devices/system/cpu/cpu%u/topology/core_cpus_list", i);
		char *l3 = xprintf("devices/system/cpu/cpu%u/cache/index3/shared_cpu_list", i);
		int online = fixture_int(machine, path), want_node = -1, first, llc, n;
		bool is_online = online != 0, ok;
		struct gs_bitmap want_siblings = GS_BITMAP_INIT;
		char *want_text;

		for (n = 0; n < nr_nodes; n++) {
			node_cpus(machine, n, &node);
			if (gs_bitmap_test(&node, i))
				want_node = n;
		}
		if (fixture_cpulist(machine, siblings, &want_siblings))
			gs_bitmap_zero(&want_siblings);
		want_text = format_cpus(&want_siblings);
		first = fixture_first(machine, siblings);
		llc = fixture_first(machine, l3);
		ok = int_of(field(cpu, "cpu")) == (int)i &&
		     json_object_get_boolean(field(cpu, "online")) == is_online &&
		     int_of(field(cpu, "node")) == want_node &&
		     (is_online ? int_of(field(cpu, "package")) == fixture_int(machine, package) :
				  field(cpu, "package") == NULL && field(cpu, "core") == NULL &&
				  field(cpu, "llc") == NULL) &&
		     !strcmp(string_of(field(cpu, "siblings")), want_text) &&
		     json_object_get_boolean(field(cpu, "isolated")) == gs_bitmap_test(&isolated, i) &&
		     json_object_get_boolean(field(cpu, "nohz_full")) == gs_bitmap_test(&nohz, i);
		if (ok && is_online && first >= 0 && first < 64) {
			if (core_of_first[first] < 0)
				core_of_first[first] = int_of(field(cpu, "core"));
			ok = core_of_first[first] == int_of(field(cpu, "core"));
		}
		if (ok && is_online && llc >= 0 && llc < 64) {
			if (llc_of_first[llc] < 0)
				llc_of_first[llc] = int_of(field(cpu, "llc"));
			ok = llc_of_first[llc] == int_of(field(cpu, "llc"));
		}
		if (!ok) {
			wrong++;
			tap_diag("cpu%u: got %s", i, cpu ? json_object_to_json_string(cpu) : "(missing)");
		}
		gs_bitmap_free(&want_siblings);
		free(want_text);
		free(path);
		free(package);
		free(siblings);
		free(l3);
	}
	/* ... and CPUs of different cores or caches have different numbers. */
	for (i = 0; i < 64; i++) {
		unsigned int j;

		for (j = i + 1; j < 64; j++) {
			wrong += core_of_first[i] >= 0 && core_of_first[i] == core_of_first[j];
			wrong += llc_of_first[i] >= 0 && llc_of_first[i] == llc_of_first[j];
		}
	}
	tap_ok(topo && length(cpus) == nr_cpus && !wrong,
	       "topo --json %s: %u CPUs with the fixture's node, package, core, cache, online, isolated, nohz_full (%u wrong)",
	       machine, nr_cpus, wrong);
	json_object_put(topo);
	run_free(&run);
	gs_bitmap_free(&isolated);
	gs_bitmap_free(&nohz);
	gs_bitmap_free(&node);
	free(root);
}

static void test_topo_cpus(void)
{
	char *root = fixture(HOTPLUG);
	const char *row3;
	struct run run;

	check_topo_cpus(HOTPLUG, 12, 2);
	check_topo_cpus(WORKSTATION, 8, 1);
	check_topo_cpus(HGX, 16, 2);

	/* The table: only CPU rows, under their titles, offline CPU 3 unknown. */
	run = CLI("topo", "--cpus", "--sysfs-root", root);
	row3 = strstr(run.out, "\n3 ");
	if (!tap_ok(run.status == 0 && !strncmp(run.out, "CPU ", 4) && !strstr(run.out, "PCI") &&
		    row3 && cell_is(run.out, row3 + 1, "NODE", "0") &&
		    cell_is(run.out, row3 + 1, "PACKAGE", "-") &&
		    cell_is(run.out, row3 + 1, "CORE", "-") &&
		    cell_is(run.out, row3 + 1, "ONLINE", "no") &&
		    cell_is(run.out, strchr(run.out, '\n') + 1, "ONLINE", "yes"),
		    "topo --cpus %s: a CPU table only; CPU 3 offline, node 0, package and core -",
		    HOTPLUG))
		tap_diag("exit %d, stdout:\n%s\nstderr: %s", run.status, run.out, run.err);
	tap_ok(run.status == 0 && strstr(run.out, "\n11 ") && !strstr(run.out, "\n12 "),
	       "topo --cpus %s: rows for CPUs 0-11, none for the absent 12-15", HOTPLUG);
	run_free(&run);
	free(root);
}

static void test_status(void)
{
	struct status_pin pins[] = {
		{ "this process (3 threads, one with CPUs of its own)", getpid(), 0,
		  GPUSCHED_POLICY_NODE, 0, GPUSCHED_PIN_REASON_NONE, 3, true, "0-7", 3,
		  "ok, own cpus: 1 thread", "ok", "none", 1 },
		{ "a pin that holds", 0, 0, GPUSCHED_POLICY_EXCLUSIVE, 0,
		  GPUSCHED_PIN_REASON_NONE, 0, true, "2-3", 1, "ok", "ok", "none", 0 },
		{ "a fallback, too few CPUs", 0, 0, GPUSCHED_POLICY_SOCKET,
		  GPUSCHED_QUERY_FALLBACK, GPUSCHED_PIN_REASON_NO_CPUS, 1, false, "0-7", 1,
		  "fallback (no cpus)", "fallback", "no-cpus", 0 },
		{ "a fallback, CPUs held by others", 0, 1, GPUSCHED_POLICY_EXCLUSIVE,
		  GPUSCHED_QUERY_FALLBACK, GPUSCHED_PIN_REASON_HELD, 2, false, "8-15", 1,
		  "fallback (cpus held)", "fallback", "held", 0 },
		{ "a broken pin", 0, 1, GPUSCHED_POLICY_NODE, GPUSCHED_QUERY_BROKEN,
		  GPUSCHED_PIN_REASON_NO_CPUS, 1, true, "4-5", 1,
		  "broken (no cpus)", "broken", "no-cpus", 0 },
	};
	const size_t nr = sizeof(pins) / sizeof(pins[0]);
	const unsigned int extra_results[2] = { 0, GPUSCHED_QUERY_OWN_CPUS };
	char device[] = "/tmp/gpusched-fake.XXXXXX", *pins_env;
	pthread_t threads[2];
	pid_t tids[2];
	json_object *json;
	struct run run;
	size_t i;
	int fd;

	if (access(fake_module, R_OK)) {
		tap_skip("no stand-in module (make unit-tests builds it)", "status");
		return;
	}
	fd = mkstemp(device);
	if (fd < 0 || pipe(thread_ready) || pipe(thread_release))
		run_bail("status: scratch device");
	close(fd);
	for (i = 1; i < nr; i++)
		pins[i].pid = waiting_child();
	for (i = 0; i < 2; i++)
		if (pthread_create(&threads[i], NULL, waiting_thread, NULL) ||
		    read(thread_ready[0], &tids[i], sizeof(tids[i])) != sizeof(tids[i]))
			run_bail("status: threads");
	pins_env = fake_pins(pins, nr, tids, extra_results, 2);

	run = run_status(device, pins_env, false, (const char *const[]){ NULL });
	if (!tap_ok(run.status == 0, "status with a stand-in module exits 0 (got %d)", run.status))
		tap_diag("stderr: %s", run.err);
	check_status_table(run.out, pins, nr);
	check_status_states(run.out, pins, nr, false);
	check_status_fields(run.out, pins, nr);
	run_free(&run);

	run = run_status(device, pins_env, false, (const char *const[]){ "--json", NULL });
	json = json_tokener_parse(run.out);
	if (tap_ok(json != NULL, "status --json with a stand-in module prints JSON")) {
		check_status_json(json, pins, nr);
		check_status_json_states(json, pins, nr, false);
	} else {
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	}
	json_object_put(json);
	run_free(&run);

	/* A module from before GPUSCHED_FEATURE_PIN_STATE: states unknown, not "ok". */
	run = run_status(device, pins_env, true, (const char *const[]){ NULL });
	tap_ok(run.status == 0, "status with an old stand-in module exits 0 (got %d)", run.status);
	check_status_states(run.out, pins, nr, true);
	check_status_fields(run.out, pins, nr);
	run_free(&run);
	run = run_status(device, pins_env, true, (const char *const[]){ "--json", NULL });
	json = json_tokener_parse(run.out);
	if (tap_ok(json != NULL, "status --json with an old stand-in module prints JSON"))
		check_status_json_states(json, pins, nr, true);
	json_object_put(json);
	run_free(&run);

	if (write(thread_release[1], "xx", 2) != 2)
		run_bail("status: threads");
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	for (i = 1; i < nr; i++) {
		kill(pins[i].pid, SIGKILL);
		waitpid(pins[i].pid, NULL, 0);
	}
	close(thread_ready[0]);
	close(thread_ready[1]);
	close(thread_release[0]);
	close(thread_release[1]);
	unlink(device);
	free(pins_env);
}

/* ---- exec without the module ---- */

/*
 * What the fallback should give GPU @gpu of @machine here: its node's CPUs,
 * less isolated ones, within our own affinity (which the child inherits).
 * Empty when the fixture's node shares no CPU with this machine.
 */
static void expected_fallback(const char *machine, int node, struct gs_bitmap *cpus)
{
	struct gs_bitmap isolated = GS_BITMAP_INIT, here = GS_BITMAP_INIT;
	cpu_set_t set;
	int cpu;

	node_cpus(machine, node, cpus);
	if (!fixture_cpulist(machine, "devices/system/cpu/isolated", &isolated))
		gs_bitmap_for_each(cpu, &isolated)
			gs_bitmap_clear(cpus, cpu);
	CPU_ZERO(&set);
	if (!sched_getaffinity(0, sizeof(set), &set))
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &set))
				gs_bitmap_set(&here, cpu);
	gs_bitmap_and(cpus, &here);
	gs_bitmap_free(&isolated);
	gs_bitmap_free(&here);
}

/*
 * What the fallback reads before execve: the node policy needs no CPU's
 * cores or caches, so on a copy of @root without any CPU's topology and
 * cache directories `exec --verbose` places without a warning about them;
 * the exclusive policy, which needs them, still reads them and warns.
 */
static void test_exec_fallback_reads(const char *root)
{
	char dir[] = "/tmp/gpusched-cli-fixture.XXXXXX", *command;
	struct run run;

	if (!mkdtemp(dir))
		run_bail("exec fallback: scratch fixture");
	command = xprintf("cp -R '%s/.' '%s' && rm -r '%s'/sys/devices/system/cpu/cpu*/topology '%s'/sys/devices/system/cpu/cpu*/cache",
			  root, dir, dir, dir);
	if (system(command))
		run_bail("exec fallback: copying the fixture");
	run = CLI("exec", "--verbose", "--device", MISSING_DEVICE, "--sysfs-root", dir, "--gpu", "0",
		  "--", "/bin/true");
	if (!tap_ok(run.status == 0 && !strstr(run.err, "core_cpus_list") &&
		    !strstr(run.err, "cache"),
		    "exec fallback, node policy: places without reading any CPU's topology or caches"))
		tap_diag("status %d, stderr: %s", run.status, run.err);
	run_free(&run);
	run = CLI("exec", "--verbose", "--device", MISSING_DEVICE, "--sysfs-root", dir, "--gpu", "0",
		  "--policy", "exclusive", "--", "/bin/true");
	if (!tap_ok(run.status == 0 && strstr(run.err, "core_cpus_list") &&
		    strstr(run.err, "no unified cache"),
		    "exec fallback, exclusive policy: still reads the CPUs' topology and caches"))
		tap_diag("status %d, stderr: %s", run.status, run.err);
	run_free(&run);
	free(command);
	command = xprintf("rm -rf '%s'", dir);
	if (system(command))
		tap_diag("could not remove %s", dir);
	free(command);
}

/* Whether @out, a /proc/PID/status, has the line "Cpus_allowed_list: @want". */
static bool allowed_list_is(const char *out, const char *want)
{
	const char *line = strstr(out, "Cpus_allowed_list:");

	if (!line)
		return false;
	line += strlen("Cpus_allowed_list:");
	line += strspn(line, " \t");
	return !strncmp(line, want, strlen(want)) && line[strlen(want)] == '\n';
}

static void test_exec_fallback(void)
{
	char *root = fixture(WORKSTATION), *want, *preload;
	struct gs_bitmap cpus = GS_BITMAP_INIT;
	struct run run;

	expected_fallback(WORKSTATION, 0, &cpus);
	if (gs_bitmap_empty(&cpus)) {
		tap_skip("the fixture's GPU node has no CPU of this machine",
			 "exec fallback on %s", WORKSTATION);
		tap_skip("cannot place here",
			 "exec fallback where the kernel has 4096 possible CPUs");
		tap_skip("cannot place here", "exec -- /nonexistent-program exits 127");
		tap_skip("cannot place here", "exec -- /etc/passwd exits 126");
		tap_skip("cannot place here",
			 "exec fallback, node policy: places without reading any CPU's topology or caches");
		tap_skip("cannot place here",
			 "exec fallback, exclusive policy: still reads the CPUs' topology and caches");
		goto out;
	}
	want = format_cpus(&cpus);
	run = CLI("exec", "--device", MISSING_DEVICE, "--sysfs-root", root, "--gpu", "0", "--",
		  "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status");
	tap_ok(run.status == 0, "exec fallback on %s exits 0 (got %d)", WORKSTATION, run.status);
	if (!tap_ok(allowed_list_is(run.out, want), "exec fallback: the program runs on CPUs %s",
		    want))
		tap_diag("stdout: %s", run.out);
	if (!tap_ok(strstr(run.err, "NOT arbitrated") != NULL,
		    "exec fallback warns that the placement is NOT arbitrated"))
		tap_diag("stderr: %s", run.err);
	run_free(&run);

	/*
	 * A kernel with many more possible CPUs than discovery sees (hotplug
	 * slots) refuses a CPU set sized for the ones it sees.
	 */
	preload = xprintf("LD_PRELOAD=%s", fake_module);
	run = CLI_ENV(((char *[]){ "PATH=/usr/bin:/bin", preload, "FAKE_POSSIBLE_CPUS=4096", NULL }),
		      "exec", "--device", MISSING_DEVICE, "--sysfs-root", root, "--gpu", "0", "--",
		      "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status");
	if (!tap_ok(run.status == 0 && allowed_list_is(run.out, want),
		    "exec fallback where the kernel has 4096 possible CPUs places on %s", want))
		tap_diag("status %d, stdout: %s, stderr: %s", run.status, run.out, run.err);
	run_free(&run);
	free(preload);
	free(want);

	expect_exit(CLI("exec", "--device", MISSING_DEVICE, "--sysfs-root", root, "--gpu", "0",
			"--", "/nonexistent-program"), 127, "/nonexistent-program",
		    "exec -- /nonexistent-program");
	expect_exit(CLI("exec", "--device", MISSING_DEVICE, "--sysfs-root", root, "--gpu", "0",
			"--", "/etc/passwd"), 126, "/etc/passwd", "exec -- /etc/passwd");
	test_exec_fallback_reads(root);
out:
	gs_bitmap_free(&cpus);
	free(root);
}

/*
 * GPUSCHED_DISABLE makes exec a pass-through: even with --no-fallback and
 * no module, the program runs with the CPUs it was given, its exit status
 * is exec's, and one line says so.  GPUSCHED_VERBOSE prints the line that
 * reports the applied CPUs, in its documented form.
 */
static void test_exec_disabled(void)
{
	char *const disabled_env[] = { "PATH=/usr/bin:/bin", "GPUSCHED_DISABLE=1", NULL };
	char *const zero_env[] = { "PATH=/usr/bin:/bin", "GPUSCHED_DISABLE=0", NULL };
	char *const verbose_env[] = { "PATH=/usr/bin:/bin", "GPUSCHED_VERBOSE=1", NULL };
	static const char line[] =
		"gpusched: GPUSCHED_DISABLE=1: not pinning; CPUs and memory policy stay as they are\n";
	struct gs_bitmap here = GS_BITMAP_INIT, cpus = GS_BITMAP_INIT;
	char *root = fixture(WORKSTATION), *want, *expected, *self;
	cpu_set_t set;
	struct run run;
	int cpu;

	CPU_ZERO(&set);
	if (!sched_getaffinity(0, sizeof(set), &set))
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &set))
				gs_bitmap_set(&here, cpu);
	self = format_cpus(&here);
	run = CLI_ENV(disabled_env, "exec", "--device", MISSING_DEVICE, "--no-fallback", "--gpu",
		      "0", "--mem-policy", "bind", "--", "/bin/sh", "-c",
		      "grep Cpus_allowed_list /proc/self/status; exit 7");
	if (!tap_ok(run.status == 7 && !strcmp(run.err, line),
		    "GPUSCHED_DISABLE=1 exec: the program's exit status and only the one line"))
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	expected = xprintf("Cpus_allowed_list:\t%s\n", self);
	if (!tap_ok(!strcmp(run.out, expected), "GPUSCHED_DISABLE=1 exec: the program keeps CPUs %s",
		    self))
		tap_diag("stdout: %s", run.out);
	run_free(&run);
	free(expected);
	expect_exit(CLI_ENV(zero_env, "exec", "--device", MISSING_DEVICE, "--no-fallback",
			    "--gpu", "0", "--", "/bin/true"), 3, "modprobe",
		    "GPUSCHED_DISABLE=0 is no opt-out");

	expected_fallback(WORKSTATION, 0, &cpus);
	if (gs_bitmap_empty(&cpus)) {
		tap_skip("the fixture's GPU node has no CPU of this machine",
			 "GPUSCHED_VERBOSE=1 exec prints the applied CPUs");
		goto out;
	}
	want = format_cpus(&cpus);
	expected = xprintf("gpusched: pid %%d pinned to GPU 0 (0000:01:00.0, node 0): CPUs %s, policy node, not arbitrated\n",
			   want);
	run = CLI_ENV(verbose_env, "exec", "--device", MISSING_DEVICE, "--sysfs-root", root,
		      "--gpu", "0", "--", "/bin/true");
	{
		const char *at = strstr(run.err, "gpusched: pid ");
		char *line_seen = at ? strndup(at, strcspn(at, "\n") + 1) : NULL;
		char *made = NULL;
		int pid = 0;

		if (line_seen && sscanf(line_seen, "gpusched: pid %d", &pid) == 1)
			made = xprintf(expected, pid);
		if (!tap_ok(run.status == 0 && made && !strcmp(made, line_seen),
			    "GPUSCHED_VERBOSE=1 exec prints \"pinned to GPU 0 (0000:01:00.0, node 0): CPUs %s, policy node, not arbitrated\"",
			    want))
			tap_diag("exit %d, stderr: %s", run.status, run.err);
		free(made);
		free(line_seen);
	}
	run_free(&run);
	free(expected);
	free(want);
out:
	gs_bitmap_free(&cpus);
	gs_bitmap_free(&here);
	free(self);
	free(root);
}

/*
 * --spill without the module: GPU 4 of hgx is on node 1 (CPUs 4-7,12-15).
 * Where none of those is ours but some of node 0 (0-3,8-11) are, the
 * worker must spill to node 0's CPUs that are ours, as the module would.
 */
static void test_exec_fallback_spill(void)
{
	struct gs_bitmap home = GS_BITMAP_INIT, near = GS_BITMAP_INIT;
	char *root = fixture(HGX), *want, *line;
	struct run run;

	expected_fallback(HGX, hgx_nodes[4], &home);
	expected_fallback(HGX, hgx_nodes[0], &near);
	if (!gs_bitmap_empty(&home) || gs_bitmap_empty(&near)) {
		tap_skip("needs CPUs of hgx node 0 and none of node 1 here",
			 "exec fallback --spill on %s", HGX);
		goto out;
	}
	want = format_cpus(&near);
	run = CLI("exec", "--device", MISSING_DEVICE, "--sysfs-root", root, "--gpu", "4",
		  "--spill", "--", "/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status");
	line = strstr(run.out, "Cpus_allowed_list:");
	if (!tap_ok(run.status == 0 && line &&
		    !strncmp(line + 18 + strspn(line + 18, " \t"), want, strlen(want)),
		    "exec fallback --gpu 4 --spill on %s spills to node 0's CPUs %s", HGX, want))
		tap_diag("exit %d, stdout: %s, stderr: %s", run.status, run.out, run.err);
	run_free(&run);
	free(want);
out:
	gs_bitmap_free(&home);
	gs_bitmap_free(&near);
	free(root);
}

/* The GPU from LOCAL_RANK and CUDA_VISIBLE_DEVICES, with the environment given explicitly. */
static void test_exec_environment(void)
{
	char *const rank_env[] = {
		"PATH=/usr/bin:/bin", "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=5,3", NULL
	};
	char *const pci_order_env[] = {
		"PATH=/usr/bin:/bin", "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=5,3",
		"CUDA_DEVICE_ORDER=PCI_BUS_ID", NULL
	};
	char *const fastest_env[] = {
		"PATH=/usr/bin:/bin", "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=5,3",
		"CUDA_DEVICE_ORDER=FASTEST_FIRST", NULL
	};
	char *const slurm_env[] = { "PATH=/usr/bin:/bin", "SLURM_LOCALID=2", NULL };
	struct gs_bitmap cpus = GS_BITMAP_INIT;
	char *root = fixture(HGX);
	struct run run;

	/* Refused before any placement, so this runs wherever the test does. */
	expect_exit(CLI_ENV(fastest_env, "exec", "--device", MISSING_DEVICE, "--sysfs-root", root,
			    "--", "/bin/true"), 1, "PCI_BUS_ID",
		    "exec with CUDA_DEVICE_ORDER=FASTEST_FIRST and an index list");

	/* LOCAL_RANK=1 -> entry [1] = 3 -> GPU 3, 0000:5d:00.0 on node 0. */
	expected_fallback(HGX, hgx_nodes[3], &cpus);
	if (gs_bitmap_empty(&cpus)) {
		tap_skip("hgx node 0 has no CPU of this machine", "exec resolves LOCAL_RANK=1");
		goto out;
	}
	run = CLI_ENV(rank_env, "exec", "--verbose", "--device", MISSING_DEVICE, "--sysfs-root",
		      root, "--", "/bin/true");
	if (!tap_ok(run.status == 0 && strstr(run.err, "GPU 3 (0000:5d:00.0)"),
		    "exec --verbose, LOCAL_RANK=1 CUDA_VISIBLE_DEVICES=5,3: GPU 3 (0000:5d:00.0)"))
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	run_free(&run);
	run = CLI_ENV(pci_order_env, "exec", "--verbose", "--device", MISSING_DEVICE,
		      "--sysfs-root", root, "--", "/bin/true");
	if (!tap_ok(run.status == 0 && strstr(run.err, "GPU 3 (0000:5d:00.0)"),
		    "exec with CUDA_DEVICE_ORDER=PCI_BUS_ID takes the index: GPU 3"))
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	run_free(&run);
	run = CLI_ENV(slurm_env, "exec", "--verbose", "--device", MISSING_DEVICE, "--sysfs-root",
		      root, "--", "/bin/true");
	if (!tap_ok(run.status == 0 && strstr(run.err, "GPU 2 (0000:3a:00.0)"),
		    "exec --verbose, SLURM_LOCALID=2 and no list: GPU 2 (0000:3a:00.0)"))
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	run_free(&run);
out:
	gs_bitmap_free(&cpus);
	free(root);
}

/* ---- json-c, which the installed CLI loads when a command needs it ---- */

/*
 * With json-c not loadable (GPUSCHED_JSONC_LIBRARY naming no file), a
 * command that will report in JSON stops before it does anything, naming
 * the package: bench --json must not run its benchmark (its CSV file is
 * not written), and topo, which builds JSON for its tables too, stops as
 * well.  exec without --json needs no json-c and still runs its program.
 */
static void test_jsonc_missing(void)
{
	char *const env[] = { "PATH=/usr/bin:/bin",
			      "GPUSCHED_JSONC_LIBRARY=/nonexistent-gpusched/libjson-c.so.5", NULL };
	char *const disabled_env[] = { "PATH=/usr/bin:/bin", "GPUSCHED_DISABLE=1", env[1], NULL };
	char dir[] = "/tmp/gpusched-test-jsonc-XXXXXX";
	char *root = fixture(WORKSTATION), *csv;
	struct run run;

	if (!mkdtemp(dir)) {
		tap_skip("mkdtemp failed", "bench --json without json-c writes nothing");
		free(root);
		return;
	}
	csv = xprintf("%s/bench.csv", dir);
	expect_exit(CLI_ENV(env, "bench", "--json", "--no-micro", "--policies", "none",
			    "--seconds", "1", "--repetitions", "1", "--csv", csv),
		    1, "install the libjson-c5 package", "bench --json without json-c");
	tap_ok(access(csv, F_OK) && errno == ENOENT,
	       "bench --json without json-c stopped before it ran: %s was not written", csv);
	expect_exit(CLI_ENV(env, "topo", "--sysfs-root", root), 1,
		    "/nonexistent-gpusched/libjson-c.so.5", "topo without json-c");
	run = CLI_ENV(disabled_env, "exec", "--gpu", "0", "--", "/bin/sh", "-c", "exit 7");
	if (!tap_ok(run.status == 7, "exec without --json runs its program without json-c"))
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	run_free(&run);
	unlink(csv);
	rmdir(dir);
	free(csv);
	free(root);
}

/*
 * The first write(2) of the CLI run with @args (NULL-terminated) to its
 * stderr, which is a SOCK_SEQPACKET socket: each write is one record, so
 * the record is what one write held.  The caller frees it.
 */
static char *first_stderr_write(const char *const *args)
{
	int sv[2], out = run_scratch_file();
	char *record = calloc(1, 65536);
	ssize_t got;

	if (!record || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		run_bail("a socket for stderr");
	run_spawn(cli_path, NULL, args, out, sv[1]);
	close(sv[1]);
	close(out);
	got = recv(sv[0], record, 65535, 0);
	close(sv[0]);
	if (got < 0)
		run_bail("reading the stderr socket");
	return record;
}

/*
 * An error or a warning is one write: ranks of a job that share a log file
 * must not get their lines cut into each other's.
 */
static void test_message_one_write(void)
{
	char *malformed = fixture("malformed"), *record;
	size_t len;

	record = first_stderr_write((const char *const[]){ "exec", "--device", MISSING_DEVICE,
							   "--no-fallback", "--gpu", "0", "--",
							   "/bin/true", NULL });
	len = strlen(record);
	if (!tap_ok(!strncmp(record, "gpusched: ", 10) && strstr(record, "modprobe") &&
		    len && record[len - 1] == '\n' && !strchr(record, '\n')[1],
		    "an error is one line in one write"))
		tap_diag("first write: \"%s\"", record);
	free(record);
	record = first_stderr_write((const char *const[]){ "topo", "--sysfs-root", malformed,
							   NULL });
	len = strlen(record);
	if (!tap_ok(!strncmp(record, "gpusched: warning: ", 19) && strstr(record, malformed) &&
		    len && record[len - 1] == '\n' && !strchr(record, '\n')[1],
		    "a warning is one line in one write"))
		tap_diag("first write: \"%s\"", record);
	free(record);
	free(malformed);
}

int main(int argc, char **argv)
{
	char *fixtures, *cli, *fake, *self = xprintf("%s", argv[0]), *dir;

	tap_start();
	fixtures = run_fixtures_dir(argc > 1 ? argv[1] : NULL);
	cli = run_program_path(argv[0], "GPUSCHED", "../bin/gpusched");
	fixtures_dir = fixtures;
	cli_path = cli;
	self_command = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	dir = realpath(dirname(self), NULL);
	fake = getenv("FAKE_GPUSCHED") && *getenv("FAKE_GPUSCHED") ?
	       xprintf("%s", getenv("FAKE_GPUSCHED")) :
	       xprintf("%s/fake_gpusched.so", dir ? dir : ".");
	fake_module = fake;
	tap_diag("cli %s, fixtures %s, stand-in module %s", cli_path, fixtures_dir, fake_module);
	/* Runs must not depend on the launcher variables of whoever runs the tests. */
	unsetenv("LOCAL_RANK");
	unsetenv("SLURM_LOCALID");
	unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
	unsetenv("MPI_LOCALRANKID");
	unsetenv("CUDA_VISIBLE_DEVICES");
	unsetenv("CUDA_DEVICE_ORDER");
	unsetenv("HIP_VISIBLE_DEVICES");
	unsetenv("ROCR_VISIBLE_DEVICES");

	test_topo_json();
	test_topo_table();
	test_topo_offline();
	test_topo_cpus();
	test_plan_exclusive();
	test_plan_policies();
	test_plan_isolated();
	test_plan_offline();
	test_plan_failure_numbers();
	test_usage();
	test_message_one_write();
	test_status();
	test_status_nodes();
	test_exec_fallback();
	test_exec_disabled();
	test_exec_fallback_spill();
	test_exec_environment();
	test_jsonc_missing();

	free(cli);
	free(fixtures);
	free(fake);
	free(dir);
	free(self);
	return tap_done();
}
