// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched topo: each GPU with its PCI address, NUMA node, local CPUs and
 * memory node, then the nodes with their CPUs and the distance matrix, in
 * the spirit of `nvidia-smi topo -m`.  On a live machine whose module holds
 * a topology the GPU rows are the module's (its indices, the nodes it
 * resolved, the UUIDs gpuschedd sent), because those are what pins use;
 * otherwise, and always with --sysfs-root, they are discovery's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libgpusched.h"
#include "sysfs.h"

enum {
	OPT_CPUS = 0x2000,
};

static void topo_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched topo [--cpus] [--sysfs-root DIR] [--match VENDOR[:CLASS]]...\n"
		"                     [--device PATH] [--json]\n\n"
		"Shows every GPU's PCI address, NUMA node, local CPUs and memory node, and the\n"
		"NUMA distance matrix.  With the module loaded and fed, GPU rows are the\n"
		"module's; with --sysfs-root (a snapshot of another machine) they are discovery's.\n\n"
		"  --cpus   one row per CPU instead: node, package, core, last-level cache,\n"
		"           online, isolated, nohz_full (--json always has them)\n");
}

/* Whether the kernel names any CPU for @node, usable or not. */
static bool node_has_cpus(const struct gs_machine_node *node)
{
	return !gs_bitmap_empty(&node->cpus) || !gs_bitmap_empty(&node->unusable_cpus);
}

/*
 * The node whose CPUs serve @node: itself, or, for a node without any CPU
 * (GPU memory), the nearest node with usable CPUs.  A node whose CPUs are
 * all offline serves itself: placement would find no CPU there either.
 */
static const struct gs_machine_node *cpu_node_for(const struct gs_machine *machine, int node)
{
	const struct gs_machine_node *self = node >= 0 ? gs_topo_node_by_id(machine, node) : NULL;
	const struct gs_machine_node *best = NULL;
	int best_distance = 0;
	unsigned int i;

	if (!self || node_has_cpus(self))
		return self;
	for (i = 0; i < gs_topo_nr_nodes(machine); i++) {
		const struct gs_machine_node *other = gs_topo_node(machine, i);
		int d = gs_topo_node_distance(machine, self->id, other->id);

		if (gs_bitmap_empty(&other->cpus) || d < 0)
			continue;
		if (!best || d < best_distance) {
			best = other;
			best_distance = d;
		}
	}
	return best;
}

static const char *node_source_name(enum gs_pci_node_source source)
{
	switch (source) {
	case GS_PCI_NODE_FROM_NUMA_NODE:
		return "numa_node";
	case GS_PCI_NODE_FROM_LOCAL_CPUS:
		return "local_cpulist";
	default:
		return "unknown";
	}
}

static const char *verdict_reason(enum gs_pci_verdict verdict)
{
	switch (verdict) {
	case GS_PCI_BMC_DISPLAY:
		return "BMC or onboard display (ASPEED, Matrox): never a GPU";
	case GS_PCI_UNMATCHED:
		return "display/accelerator class of a vendor in no table: add --match VENDOR";
	default:
		return "not a GPU";
	}
}

/*
 * The PCI function at @address among discovery's GPUs and, since the
 * module may hold GPUs that only gpuschedd's --match made GPUs, among the
 * devices discovery set aside.
 */
static const struct gs_pci_device *device_by_address(const struct gs_machine *machine,
						     const char *address)
{
	unsigned int i;

	for (i = 0; i < gs_topo_nr_gpus(machine); i++)
		if (!strcmp(gs_topo_gpu(machine, i)->address, address))
			return gs_topo_gpu(machine, i);
	for (i = 0; i < gs_topo_nr_ignored_devices(machine); i++)
		if (!strcmp(gs_topo_ignored_device(machine, i)->address, address))
			return gs_topo_ignored_device(machine, i);
	return NULL;
}

struct topo_row {
	char index[16], address[GS_PCI_ADDRESS_SIZE], ids[16], node[16], mem_node[16];
	char uuid[41];
	char *local_cpus;
	const struct gs_pci_device *pci;
};

static void add_gpu(struct cli_table *table, struct json_object *gpus, struct topo_row *row,
		    int node, int mem_node, const char *node_source, const char *mem_node_source)
{
	struct json_object *gpu = json_object_new_object();

	if (row->pci)
		snprintf(row->ids, sizeof(row->ids), "%04x:%04x", row->pci->vendor_id,
			 row->pci->device_id);
	else
		snprintf(row->ids, sizeof(row->ids), "-");
	if (node >= 0)
		snprintf(row->node, sizeof(row->node), "%d", node);
	else
		snprintf(row->node, sizeof(row->node), "?");
	if (mem_node >= 0)
		snprintf(row->mem_node, sizeof(row->mem_node), "%d", mem_node);
	else
		snprintf(row->mem_node, sizeof(row->mem_node), "-");
	cli_table_row(table, row->index, row->address, row->ids, row->node, row->mem_node,
		      row->local_cpus, row->uuid[0] ? row->uuid : "-");

	json_object_object_add(gpu, "index", json_object_new_int(atoi(row->index)));
	json_object_object_add(gpu, "pci_address", json_object_new_string(row->address));
	if (row->pci) {
		json_object_object_add(gpu, "vendor_id", json_object_new_int(row->pci->vendor_id));
		json_object_object_add(gpu, "device_id", json_object_new_int(row->pci->device_id));
	}
	json_object_object_add(gpu, "node", node >= 0 ? json_object_new_int(node) : NULL);
	json_object_object_add(gpu, "node_source", json_object_new_string(node_source));
	json_object_object_add(gpu, "memory_node",
			       mem_node >= 0 ? json_object_new_int(mem_node) : NULL);
	json_object_object_add(gpu, "memory_node_source",
			       json_object_new_string(mem_node_source));
	json_object_object_add(gpu, "local_cpus", json_object_new_string(row->local_cpus));
	json_object_object_add(gpu, "uuid",
			       row->uuid[0] ? json_object_new_string(row->uuid) : NULL);
	json_object_array_add(gpus, gpu);
	free(row->local_cpus);
}

/* Rows from the module's topology; returns false when it has none to give. */
static bool module_rows(const struct cli_common *common, const struct gs_machine *machine,
			struct cli_table *table, struct json_object *root, struct json_object *gpus)
{
	struct gpusched_topology_copy copy;
	struct gs_sysfs *sysfs = NULL;
	struct gpusched *gs;
	unsigned int i;

	if (common->sysfs_root || cli_open(common, 0, true, &gs))
		return false;
	if (gpusched_get_topology(gs, &copy) || !copy.nr_gpus || gs_sysfs_open(&sysfs, "/")) {
		if (copy.gpus)
			gpusched_topology_copy_free(&copy);
		gpusched_close(gs);
		return false;
	}
	json_object_object_add(root, "source", json_object_new_string("module"));
	json_object_object_add(root, "generation", json_object_new_int64(copy.generation));
	for (i = 0; i < copy.nr_gpus; i++) {
		const struct gpusched_gpu *rec = &copy.gpus[i];
		struct gs_bitmap local = GS_BITMAP_INIT;
		struct topo_row row = { 0 };
		char path[96];

		snprintf(row.index, sizeof(row.index), "%u", i);
		gpusched_format_pci_address(rec, row.address);
		gpusched_uuid_format(rec->uuid, row.uuid);
		snprintf(path, sizeof(path), "sys/kernel/gpusched/gpus/gpu%u/local_cpus", i);
		if (gs_sysfs_read_cpulist(sysfs, path, &local))
			cli_warn("/%s: unreadable; local CPUs not shown", path);
		/* The module shows cpumask_of_node(), which keeps offline CPUs on powerpc. */
		gs_bitmap_and(&local, gs_topo_online_cpus(machine));
		row.local_cpus = cli_cpulist(&local);
		gs_bitmap_free(&local);
		row.pci = device_by_address(machine, row.address);
		add_gpu(table, gpus, &row, rec->node,
			rec->mem_node == GPUSCHED_NODE_ANY ? (int)rec->node : (int)rec->mem_node,
			"module", "module");
	}
	gs_sysfs_close(sysfs);
	gpusched_topology_copy_free(&copy);
	gpusched_close(gs);
	return true;
}

static void discovery_rows(const struct gs_machine *machine, struct cli_table *table,
			   struct json_object *root, struct json_object *gpus)
{
	unsigned int i;

	json_object_object_add(root, "source", json_object_new_string("sysfs"));
	for (i = 0; i < gs_topo_nr_gpus(machine); i++) {
		const struct gs_pci_device *pci = gs_topo_gpu(machine, i);
		const struct gs_machine_node *local = cpu_node_for(machine, pci->node);
		struct gs_bitmap none = GS_BITMAP_INIT;
		struct topo_row row = { .pci = pci };

		snprintf(row.index, sizeof(row.index), "%u", i);
		snprintf(row.address, sizeof(row.address), "%s", pci->address);
		row.local_cpus = cli_cpulist(local ? &local->cpus : &none);
		add_gpu(table, gpus, &row, pci->node, pci->mem_node >= 0 ? pci->mem_node : pci->node,
			node_source_name(pci->node_source),
			pci->mem_node >= 0 ? "numa_status" : "gpu_node");
	}
}

/*
 * Under the node table, the CPUs each node's cpulist names that are
 * offline or absent, so that a reader comparing with node/cpulist knows
 * why CPUS shows fewer.
 */
static void unusable_lines(const struct gs_machine *machine)
{
	unsigned int i;

	for (i = 0; i < gs_topo_nr_nodes(machine); i++) {
		const struct gs_machine_node *node = gs_topo_node(machine, i);
		char *unusable;

		if (gs_bitmap_empty(&node->unusable_cpus))
			continue;
		unusable = cli_cpulist(&node->unusable_cpus);
		printf("Node %u: CPUs %s are offline or not present and are never used.\n",
		       node->id, unusable);
		free(unusable);
	}
}

/* The nodes with their usable CPUs, memory and distance rows. */
static void node_rows(const struct gs_machine *machine, bool json, struct json_object *root)
{
	unsigned int i, j, nr = gs_topo_nr_nodes(machine);
	struct json_object *nodes = json_object_new_array();
	const char **headers = calloc(nr + 3, sizeof(*headers));
	char (*names)[16] = calloc(nr + 1, sizeof(*names));
	struct cli_table *table;

	if (!headers || !names) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	headers[0] = "NODE";
	headers[1] = "CPUS";
	headers[2] = "MEMORY";
	for (i = 0; i < nr; i++) {
		snprintf(names[i], sizeof(names[i]), "%u", gs_topo_node(machine, i)->id);
		headers[i + 3] = names[i];
	}
	table = cli_table_new(nr + 3, headers);
	for (i = 0; i < nr; i++) {
		const struct gs_machine_node *node = gs_topo_node(machine, i);
		struct json_object *entry = json_object_new_object();
		struct json_object *distances = json_object_new_array();
		char *cpus = cli_cpulist(&node->cpus), *unusable = cli_cpulist(&node->unusable_cpus);
		char **cells = calloc(nr + 3, sizeof(*cells));

		if (!cells) {
			cli_error("out of memory");
			exit(EXIT_FAILURE_RUNTIME);
		}
		cells[0] = strdup(names[i]);
		cells[1] = strdup(cpus[0] ? cpus : "(none)");
		cells[2] = strdup(node->has_memory ? "yes" : "no");
		for (j = 0; j < nr; j++) {
			int d = gs_topo_node_distance(machine, node->id, gs_topo_node(machine, j)->id);

			if (asprintf(&cells[j + 3], d < 0 ? "?" : "%d", d) < 0)
				cells[j + 3] = NULL;
			json_object_array_add(distances, d < 0 ? NULL : json_object_new_int(d));
		}
		for (j = 0; j < nr + 3; j++)
			if (!cells[j]) {
				cli_error("out of memory");
				exit(EXIT_FAILURE_RUNTIME);
			}
		cli_table_row_cells(table, (const char *const *)cells);
		for (j = 0; j < nr + 3; j++)
			free(cells[j]);
		free(cells);

		json_object_object_add(entry, "node", json_object_new_int(node->id));
		json_object_object_add(entry, "cpus", json_object_new_string(cpus));
		json_object_object_add(entry, "unusable_cpus", json_object_new_string(unusable));
		json_object_object_add(entry, "has_memory", json_object_new_boolean(node->has_memory));
		json_object_object_add(entry, "memory_only",
				       json_object_new_boolean(gs_node_is_memory_only(node)));
		json_object_object_add(entry, "distances", distances);
		json_object_array_add(nodes, entry);
		free(cpus);
		free(unusable);
	}
	json_object_object_add(root, "nodes", nodes);
	if (json) {
		cli_table_discard(table);
	} else {
		printf("\n");
		cli_table_print(table, stdout);
		unusable_lines(machine);
	}
	free(headers);
	free(names);
}

/* Whether the GPU rows shown include the device at @address. */
static bool shown_as_gpu(struct json_object *gpus, const char *address)
{
	size_t i;

	for (i = 0; i < json_object_array_length(gpus); i++) {
		struct json_object *gpu = json_object_array_get_idx(gpus, i), *field;

		if (json_object_object_get_ex(gpu, "pci_address", &field) &&
		    !strcmp(json_object_get_string(field), address))
			return true;
	}
	return false;
}

static void ignored_rows(const struct gs_machine *machine, bool json, struct json_object *root,
			 struct json_object *gpus)
{
	unsigned int i, nr = gs_topo_nr_ignored_devices(machine);
	struct json_object *ignored = json_object_new_array();
	bool heading = false;

	for (i = 0; i < nr; i++) {
		const struct gs_pci_device *pci = gs_topo_ignored_device(machine, i);
		struct json_object *entry;

		if (shown_as_gpu(gpus, pci->address))
			continue;	/* the module holds it: gpuschedd matched it */
		entry = json_object_new_object();
		if (!json && !heading) {
			printf("\nNot counted as GPUs:\n");
			heading = true;
		}
		if (!json)
			printf("  %s  %04x:%04x  class %06x  %s\n", pci->address, pci->vendor_id,
			       pci->device_id, pci->class_code, verdict_reason(pci->verdict));
		json_object_object_add(entry, "pci_address", json_object_new_string(pci->address));
		json_object_object_add(entry, "vendor_id", json_object_new_int(pci->vendor_id));
		json_object_object_add(entry, "device_id", json_object_new_int(pci->device_id));
		json_object_object_add(entry, "class", json_object_new_int(pci->class_code));
		json_object_object_add(entry, "reason",
				       json_object_new_string(verdict_reason(pci->verdict)));
		json_object_array_add(ignored, entry);
	}
	json_object_object_add(root, "ignored_devices", ignored);
}

/* A group number of discovery's, or null (JSON) and "-" (table) when unknown. */
static struct json_object *json_id(int id)
{
	return id < 0 ? NULL : json_object_new_int(id);
}

static void format_id(int id, char *text, size_t size)
{
	if (id < 0)
		snprintf(text, size, "-");
	else
		snprintf(text, size, "%d", id);
}

/*
 * Every present CPU with what discovery knows of it, in the spirit of
 * `lscpu -e`: its node, package (physical_package_id), core and
 * last-level cache group (numbered machine-wide, see discovery.rst), and
 * whether it is online, isolated and nohz_full.  An offline CPU's core,
 * package and cache are unknown: the kernel removes its topology.  Added
 * to @root as "cpus"; printed as a table when @table.
 */
static void cpu_rows(const struct gs_machine *machine, bool table, struct json_object *root)
{
	static const char *const headers[] = {
		"CPU", "NODE", "PACKAGE", "CORE", "LLC", "ONLINE", "ISOLATED", "NOHZ FULL"
	};
	struct json_object *cpus = json_object_new_array();
	struct cli_table *rows = cli_table_new(8, headers);
	unsigned int i;

	for (i = 0; i < gs_topo_nr_cpus(machine); i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(machine, i);
		struct json_object *entry = json_object_new_object();
		char id[16], node[16], package[16], core[16], llc[16];
		char *siblings = cli_cpulist(&cpu->siblings);

		snprintf(id, sizeof(id), "%u", cpu->id);
		format_id(cpu->node, node, sizeof(node));
		format_id(cpu->package, package, sizeof(package));
		format_id(cpu->core, core, sizeof(core));
		format_id(cpu->llc, llc, sizeof(llc));
		cli_table_row(rows, id, node, package, core, llc, cpu->online ? "yes" : "no",
			      cpu->isolated ? "yes" : "no", cpu->nohz_full ? "yes" : "no");

		json_object_object_add(entry, "cpu", json_object_new_int(cpu->id));
		json_object_object_add(entry, "online", json_object_new_boolean(cpu->online));
		json_object_object_add(entry, "node", json_id(cpu->node));
		json_object_object_add(entry, "package", json_id(cpu->package));
		json_object_object_add(entry, "core", json_id(cpu->core));
		json_object_object_add(entry, "core_id", json_id(cpu->core_id));
		json_object_object_add(entry, "llc", json_id(cpu->llc));
		json_object_object_add(entry, "siblings",
				       json_object_new_string(cpu->online ? siblings : ""));
		json_object_object_add(entry, "isolated", json_object_new_boolean(cpu->isolated));
		json_object_object_add(entry, "nohz_full", json_object_new_boolean(cpu->nohz_full));
		json_object_array_add(cpus, entry);
		free(siblings);
	}
	json_object_object_add(root, "cpus", cpus);
	if (table)
		cli_table_print(rows, stdout);
	else
		cli_table_discard(rows);
}

int cmd_topo(int argc, char **argv)
{
	static const char *const headers[] = {
		"GPU", "PCI ADDRESS", "VENDOR:DEV", "NODE", "MEM NODE", "LOCAL CPUS", "UUID"
	};
	static const struct option options[] = {
		{ "cpus", no_argument, NULL, OPT_CPUS },
		CLI_COMMON_LONG_OPTIONS,
		{ 0 }
	};
	struct json_object *root, *gpus;
	struct cli_common common = { 0 };
	struct gs_machine *machine;
	struct cli_table *table;
	bool cpus_only = false, quiet;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		ret = cli_common_option(&common, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		if (opt == OPT_CPUS) {
			cpus_only = true;
			continue;
		}
		topo_usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	if (optind != argc) {
		cli_error("topo: unexpected argument '%s'; see `gpusched topo --help`", argv[optind]);
		return EXIT_USAGE;
	}
	/* It builds the JSON whatever it prints. */
	gs_jsonc_need();
	/* Human output is either the CPU table or the rest; JSON is all of it. */
	quiet = common.json || cpus_only;
	ret = cli_discover(&common, false, &machine);
	if (ret)
		return ret;

	root = json_object_new_object();
	gpus = json_object_new_array();
	table = cli_table_new(7, headers);
	if (!module_rows(&common, machine, table, root, gpus))
		discovery_rows(machine, table, root, gpus);
	json_object_object_add(root, "gpus", gpus);
	if (quiet) {
		cli_table_discard(table);
	} else {
		if (!json_object_array_length(gpus))
			printf("No GPUs found%s.\n",
			       gs_topo_nr_ignored_devices(machine) ? " (see the devices not counted below)" : "");
		else
			cli_table_print(table, stdout);
	}
	node_rows(machine, quiet, root);
	ignored_rows(machine, quiet, root, gpus);
	cpu_rows(machine, cpus_only && !common.json, root);
	if (common.json)
		cli_print_json(root);
	else
		json_object_put(root);
	gs_machine_free(machine);
	return EXIT_OK;
}
