// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched status: what the module holds, by GPU: its local and reserved
 * CPUs; by node: its GPUs and how many whole cores are still free for
 * their exclusive workers (one count for the node, since its GPUs share
 * those cores); and every pinned process with its command, threads,
 * policy, CPUs and the state of its pin (holding its policy, fallen back
 * to the GPU's node, or broken by a cpuset without the node's CPUs;
 * threads that chose CPUs of their own).  The module keeps no list a user could read in one call,
 * so the pins are found the way ps finds processes: every thread of /proc
 * is queried (GPUSCHED_IOC_QUERY answers anyone about any thread they can
 * see).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libgpusched.h"
#include "sysfs.h"

/* The QUERY result bits that say a pin does not hold its policy. */
#define PIN_STATE_BITS	(GPUSCHED_QUERY_FALLBACK | GPUSCHED_QUERY_BROKEN)

/*
 * One pinned process's threads on one GPU, with the same CPUs and the
 * same state (so the threads of one pin, normally).
 */
struct pinned {
	unsigned int gpu, policy;
	pid_t pid, owner;
	char comm[64];
	char *cpus;
	uint32_t state;		/* its PIN_STATE_BITS */
	uint32_t reason;	/* a GPUSCHED_PIN_REASON_* value */
	uint32_t nr_followed;	/* the most any of its threads reported */
	unsigned int nr_threads;
	unsigned int nr_own_cpus;	/* threads that chose CPUs of their own */
	pid_t first_tid;
};

struct pin_list {
	struct pinned *items;
	size_t nr, room;
};

static struct pinned *pin_list_find(struct pin_list *list, unsigned int gpu, pid_t pid,
				    const char *cpus, uint32_t state, uint32_t reason)
{
	size_t i;

	for (i = 0; i < list->nr; i++) {
		struct pinned *p = &list->items[i];

		if (p->gpu == gpu && p->pid == pid && !strcmp(p->cpus, cpus) &&
		    p->state == state && p->reason == reason)
			return p;
	}
	if (list->nr == list->room) {
		size_t room = list->room ? 2 * list->room : 16;
		struct pinned *items = realloc(list->items, room * sizeof(*items));

		if (!items)
			return NULL;
		list->items = items;
		list->room = room;
	}
	memset(&list->items[list->nr], 0, sizeof(list->items[0]));
	return &list->items[list->nr++];
}

/*
 * The process's command: the name it was started as (argv[0] without its
 * directory), which stays meaningful when the main thread renames itself,
 * else its comm.
 */
static void read_command(pid_t pid, char *command, size_t size)
{
	char path[64], argv0[256];
	const char *base;
	size_t len = 0;
	FILE *file;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	file = fopen(path, "re");
	if (file) {
		len = fread(argv0, 1, sizeof(argv0) - 1, file);
		fclose(file);
	}
	argv0[len] = '\0';
	if (len && argv0[0]) {
		base = strrchr(argv0, '/');
		snprintf(command, size, "%s", base ? base + 1 : argv0);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	file = fopen(path, "re");
	if (!file || !fgets(command, size, file))
		snprintf(command, size, "?");
	else
		command[strcspn(command, "\n")] = '\0';
	if (file)
		fclose(file);
}

/* Queries every thread of process @pid; adds the pinned ones to @list. */
static int scan_process(struct gpusched *gs, pid_t pid, cpu_set_t *cpus, size_t size,
			struct pin_list *list)
{
	struct dirent *entry;
	char path[64];
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;	/* exited meanwhile */
	while ((entry = readdir(dir))) {
		struct gpusched_query query;
		struct pinned *p;
		pid_t tid;
		char *text;

		if (!cli_is_pid(entry->d_name))
			continue;
		tid = atoi(entry->d_name);
		if (gpusched_query(gs, tid, &query, sizeof(query), cpus, NULL, size) ||
		    !(query.result & GPUSCHED_QUERY_PINNED))
			continue;
		text = cli_cpu_set_list(cpus, size);
		p = pin_list_find(list, query.gpu, pid, text, query.result & PIN_STATE_BITS,
				  query.reason);
		if (!p) {
			free(text);
			goto out_nomem;
		}
		if (p->cpus) {
			free(text);
		} else {
			p->cpus = text;
			p->gpu = query.gpu;
			p->pid = pid;
			p->policy = query.policy;
			p->owner = query.owner_pid;
			p->state = query.result & PIN_STATE_BITS;
			p->reason = query.reason;
			p->first_tid = tid;
			read_command(pid, p->comm, sizeof(p->comm));
		}
		p->nr_threads++;
		if (query.nr_followed > p->nr_followed)
			p->nr_followed = query.nr_followed;
		if (query.result & GPUSCHED_QUERY_OWN_CPUS)
			p->nr_own_cpus++;
	}
	closedir(dir);
	return 0;

out_nomem:
	closedir(dir);
	return -ENOMEM;
}

static int scan_pins(struct gpusched *gs, uint32_t nr_cpus, struct pin_list *list)
{
	size_t size = CPU_ALLOC_SIZE(nr_cpus);
	cpu_set_t *cpus = CPU_ALLOC(nr_cpus);
	struct dirent *entry;
	DIR *proc;
	int err = 0;

	if (!cpus)
		return -ENOMEM;
	proc = opendir("/proc");
	if (!proc) {
		err = -errno;
		goto out;
	}
	while (!err && (entry = readdir(proc)))
		if (cli_is_pid(entry->d_name))
			err = scan_process(gs, atoi(entry->d_name), cpus, size, list);
	closedir(proc);
out:
	CPU_FREE(cpus);
	return err;
}

static int compare_pinned(const void *a, const void *b)
{
	const struct pinned *x = a, *y = b;

	if (x->gpu != y->gpu)
		return x->gpu < y->gpu ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * Whole cores of @local none of whose CPUs is reserved by anyone or kept
 * for housekeeping: what a new exclusive worker of this GPU could get.
 */
static unsigned int free_cores(const struct gs_machine *machine, const struct gs_bitmap *local,
			       const struct gs_bitmap *unavailable)
{
	unsigned int count = 0;
	int cpu;

	gs_bitmap_for_each(cpu, local) {
		const struct gs_machine_cpu *c = gs_topo_cpu_by_id(machine, cpu);
		int sibling;
		bool whole = true;

		if (!c || !c->online || gs_bitmap_next(&c->siblings, -1) != cpu)
			continue;	/* count each core once, at its first CPU */
		gs_bitmap_for_each(sibling, &c->siblings)
			if (!gs_bitmap_test(local, sibling) || gs_bitmap_test(unavailable, sibling))
				whole = false;
		count += whole;
	}
	return count;
}

static const char *pin_state_name(uint32_t state)
{
	if (state & GPUSCHED_QUERY_BROKEN)
		return "broken";
	return state & GPUSCHED_QUERY_FALLBACK ? "fallback" : "ok";
}

static const char *pin_reason_name(uint32_t reason)
{
	switch (reason) {
	case GPUSCHED_PIN_REASON_NONE:
		return "none";
	case GPUSCHED_PIN_REASON_NO_CPUS:
		return "no-cpus";
	case GPUSCHED_PIN_REASON_HELD:
		return "held";
	}
	return "unknown";
}

/*
 * The STATE cell: "ok", "fallback (cpus held)", "broken (no cpus)"...,
 * then ", own cpus: N threads" when some threads chose CPUs of their own;
 * "-" when the module does not report states (@known false).
 */
static void format_state(const struct pinned *pin, bool known, char *text, size_t size)
{
	const char *why = "";
	int len;

	if (!known) {
		snprintf(text, size, "-");
		return;
	}
	if (pin->state && pin->reason == GPUSCHED_PIN_REASON_NO_CPUS)
		why = " (no cpus)";
	else if (pin->state && pin->reason == GPUSCHED_PIN_REASON_HELD)
		why = " (cpus held)";
	len = snprintf(text, size, "%s%s", pin_state_name(pin->state), why);
	if (pin->nr_own_cpus && len > 0 && (size_t)len < size)
		snprintf(text + len, size - (size_t)len, ", own cpus: %u thread%s",
			 pin->nr_own_cpus, pin->nr_own_cpus == 1 ? "" : "s");
}

static void status_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched status [--device PATH] [--json]\n\n"
		"Shows, for every GPU of the module's topology, its local and reserved CPUs;\n"
		"for every node with GPUs, the whole cores still free, which its GPUs share;\n"
		"and every pinned process with the state of its pin.\n");
}

/*
 * The usable CPUs of the module's GPU @gpu on @node: the node's, as
 * discovery reads them; for a node discovery does not know, the module's
 * local_cpus (its cpumask_of_node(), which keeps offline CPUs on powerpc)
 * less what is not usable.
 */
static void gpu_local_cpus(const struct gs_machine *machine, struct gs_sysfs *sysfs,
			   unsigned int gpu, unsigned int node, struct gs_bitmap *local)
{
	const struct gs_machine_node *known = gs_topo_node_by_id(machine, node);
	char path[96];

	if (known) {
		if (gs_bitmap_copy(local, &known->cpus)) {
			cli_error("out of memory");
			exit(EXIT_FAILURE_RUNTIME);
		}
		return;
	}
	snprintf(path, sizeof(path), "sys/kernel/gpusched/gpus/gpu%u/local_cpus", gpu);
	if (gs_sysfs_read_cpulist(sysfs, path, local))
		cli_warn("/%s: unreadable, and node %u is not in /sys/devices/system/node; GPU %u's local CPUs are not shown",
			 path, node, gpu);
	gs_bitmap_and(local, gs_topo_online_cpus(machine));
}

/*
 * One row and one JSON entry per node that holds a GPU of the module: its
 * CPUs, its GPUs, the CPUs reserved or kept for housekeeping there, and
 * the whole cores none of whose CPUs is: what new exclusive workers of
 * these GPUs share.  Counting them per GPU would count each core once for
 * every GPU of the node.
 */
static void node_rows(const struct gs_machine *machine, const struct gpusched_topology_copy *topo,
		      const struct gs_bitmap *local, const struct gs_bitmap *unavailable,
		      struct cli_table *table, struct json_object *nodes)
{
	unsigned int i, j;

	for (i = 0; i < topo->nr_gpus; i++) {
		struct gs_bitmap gpus = GS_BITMAP_INIT, reserved = GS_BITMAP_INIT;
		struct json_object *entry, *gpu_list;
		char node[16], cores[16], *cpus, *gpus_text, *reserved_text;
		unsigned int nr_free;
		int gpu;

		for (j = 0; j < i && topo->gpus[j].node != topo->gpus[i].node; j++)
			;
		if (j < i)
			continue;	/* the node has a row already */
		for (j = i; j < topo->nr_gpus; j++)
			if (topo->gpus[j].node == topo->gpus[i].node && gs_bitmap_set(&gpus, j)) {
				cli_error("out of memory");
				exit(EXIT_FAILURE_RUNTIME);
			}
		if (gs_bitmap_copy(&reserved, unavailable)) {
			cli_error("out of memory");
			exit(EXIT_FAILURE_RUNTIME);
		}
		gs_bitmap_and(&reserved, &local[i]);
		nr_free = free_cores(machine, &local[i], unavailable);
		cpus = cli_cpulist(&local[i]);
		gpus_text = cli_cpulist(&gpus);
		reserved_text = cli_cpulist(&reserved);
		snprintf(node, sizeof(node), "%u", topo->gpus[i].node);
		snprintf(cores, sizeof(cores), "%u", nr_free);
		cli_table_row(table, node, cpus, gpus_text, reserved_text[0] ? reserved_text : "-",
			      cores);

		entry = json_object_new_object();
		gpu_list = json_object_new_array();
		gs_bitmap_for_each(gpu, &gpus)
			json_object_array_add(gpu_list, json_object_new_int(gpu));
		json_object_object_add(entry, "node", json_object_new_int(topo->gpus[i].node));
		json_object_object_add(entry, "cpus", json_object_new_string(cpus));
		json_object_object_add(entry, "gpus", gpu_list);
		json_object_object_add(entry, "unavailable_cpus",
				       json_object_new_string(reserved_text));
		json_object_object_add(entry, "free_cores", json_object_new_int(nr_free));
		json_object_array_add(nodes, entry);
		free(cpus);
		free(gpus_text);
		free(reserved_text);
		gs_bitmap_free(&gpus);
		gs_bitmap_free(&reserved);
	}
}

int cmd_status(int argc, char **argv)
{
	static const char *const gpu_headers[] = {
		"GPU", "PCI ADDRESS", "NODE", "LOCAL CPUS", "RESERVED", "TASKS"
	};
	static const char *const node_headers[] = {
		"NODE", "CPUS", "GPUS", "UNAVAILABLE", "FREE CORES"
	};
	static const char *const pin_headers[] = {
		"GPU", "PID", "COMMAND", "THREADS", "POLICY", "CPUS", "HELD BY", "STATE"
	};
	struct gs_bitmap *local = NULL, reserved_all = GS_BITMAP_INIT;
	struct cli_table *gpu_table, *node_table, *pin_table;
	struct gpusched_topology_copy topo;
	struct gpusched_get_info info;
	struct cli_common common = { 0 };
	struct pin_list pins = { 0 };
	struct json_object *root, *gpus, *nodes;
	struct gs_machine *machine = NULL;
	struct gs_sysfs *sysfs = NULL;
	struct gpusched *gs;
	bool known_state;
	unsigned int i;
	size_t p;
	int ret, err;

	ret = cli_parse_common_only(argc, argv, &common, status_usage);
	if (ret >= 0)
		return ret;
	if (common.sysfs_root) {
		cli_error("status: --sysfs-root does not apply: status shows the live module");
		return EXIT_USAGE;
	}
	/* It builds the JSON whatever it prints. */
	gs_jsonc_need();
	ret = cli_open(&common, 0, false, &gs);
	if (ret)
		return ret;
	err = gpusched_get_info(gs, &info);
	if (!err)
		err = gpusched_get_topology(gs, &topo);
	if (err) {
		cli_error("%s: %s", common.device ? common.device : GPUSCHED_DEVICE, strerror(-err));
		gpusched_close(gs);
		return EXIT_FAILURE_RUNTIME;
	}
	/* A module from before the pin states reports none: show them unknown. */
	known_state = info.features & GPUSCHED_FEATURE_PIN_STATE;
	ret = cli_discover(&common, true, &machine);
	if (ret)
		goto out_topo;
	ret = EXIT_FAILURE_RUNTIME;
	if (gs_sysfs_open(&sysfs, "/"))
		goto out_machine;
	local = calloc(topo.nr_gpus ? topo.nr_gpus : 1, sizeof(*local));
	if (!local || scan_pins(gs, topo.nr_cpus, &pins)) {
		cli_error("out of memory");
		goto out_lists;
	}
	qsort(pins.items, pins.nr, sizeof(*pins.items), compare_pinned);

	/* Reservations of every GPU count: a core another GPU holds is not free. */
	for (i = 0; i < topo.nr_gpus; i++) {
		struct gs_bitmap reserved = GS_BITMAP_INIT;
		char path[96];

		gpu_local_cpus(machine, sysfs, i, topo.gpus[i].node, &local[i]);
		snprintf(path, sizeof(path), "sys/kernel/gpusched/gpus/gpu%u/reserved_cpus", i);
		if (!gs_sysfs_read_cpulist(sysfs, path, &reserved))
			gs_bitmap_or(&reserved_all, &reserved);
		gs_bitmap_free(&reserved);
	}
	for (i = 0; i < topo.nr_cpus; i++)
		if (topo.housekeeping[i / 64] & (1ULL << (i % 64)))
			gs_bitmap_set(&reserved_all, i);

	root = json_object_new_object();
	gpus = json_object_new_array();
	json_object_object_add(root, "generation", json_object_new_int64(info.generation));
	json_object_object_add(root, "default_policy",
			       json_object_new_string(gpusched_policy_name(info.default_policy)));
	gpu_table = cli_table_new(6, gpu_headers);
	node_table = cli_table_new(5, node_headers);
	pin_table = cli_table_new(8, pin_headers);
	for (i = 0, p = 0; i < topo.nr_gpus; i++) {
		struct gs_bitmap reserved = GS_BITMAP_INIT;
		struct json_object *gpu = json_object_new_object(), *list = json_object_new_array();
		char index[16], node[16], tasks[16], path[96], address[GPUSCHED_PCI_ADDRESS_SIZE];
		char *local_text = cli_cpulist(&local[i]), *reserved_text;
		unsigned int nr_tasks = 0;

		snprintf(path, sizeof(path), "sys/kernel/gpusched/gpus/gpu%u/reserved_cpus", i);
		gs_sysfs_read_cpulist(sysfs, path, &reserved);
		reserved_text = cli_cpulist(&reserved);
		gs_bitmap_free(&reserved);
		gpusched_format_pci_address(&topo.gpus[i], address);
		for (; p < pins.nr && pins.items[p].gpu == i; p++) {
			struct pinned *pin = &pins.items[p];
			struct json_object *entry = json_object_new_object();
			char pid[16], threads[16], owner[16], state[64];

			snprintf(pid, sizeof(pid), "%d", pin->pid);
			snprintf(threads, sizeof(threads), "%u", pin->nr_threads);
			snprintf(owner, sizeof(owner), "%d", pin->owner);
			snprintf(index, sizeof(index), "%u", i);
			format_state(pin, known_state, state, sizeof(state));
			cli_table_row(pin_table, index, pid, pin->comm, threads,
				      gpusched_policy_name(pin->policy), pin->cpus,
				      pin->owner ? owner : "-", state);
			json_object_object_add(entry, "pid", json_object_new_int(pin->pid));
			json_object_object_add(entry, "command", json_object_new_string(pin->comm));
			json_object_object_add(entry, "nr_threads",
					       json_object_new_int(pin->nr_threads));
			json_object_object_add(entry, "policy",
					       json_object_new_string(gpusched_policy_name(pin->policy)));
			json_object_object_add(entry, "cpus", json_object_new_string(pin->cpus));
			json_object_object_add(entry, "owner_pid",
					       pin->owner ? json_object_new_int(pin->owner) : NULL);
			json_object_object_add(entry, "state", !known_state ? NULL :
					       json_object_new_string(pin_state_name(pin->state)));
			json_object_object_add(entry, "reason", !known_state ? NULL :
					       json_object_new_string(pin_reason_name(pin->state ? pin->reason :
									      GPUSCHED_PIN_REASON_NONE)));
			json_object_object_add(entry, "nr_followed", !known_state ? NULL :
					       json_object_new_int64(pin->nr_followed));
			json_object_object_add(entry, "nr_own_cpus_threads", !known_state ? NULL :
					       json_object_new_int(pin->nr_own_cpus));
			json_object_array_add(list, entry);
			nr_tasks += pin->nr_threads;
		}
		snprintf(index, sizeof(index), "%u", i);
		snprintf(node, sizeof(node), "%u", topo.gpus[i].node);
		snprintf(tasks, sizeof(tasks), "%u", nr_tasks);
		cli_table_row(gpu_table, index, address, node, local_text,
			      reserved_text[0] ? reserved_text : "-", tasks);
		json_object_object_add(gpu, "gpu", json_object_new_int(i));
		json_object_object_add(gpu, "pci_address", json_object_new_string(address));
		json_object_object_add(gpu, "node", json_object_new_int(topo.gpus[i].node));
		json_object_object_add(gpu, "local_cpus", json_object_new_string(local_text));
		json_object_object_add(gpu, "reserved_cpus", json_object_new_string(reserved_text));
		json_object_object_add(gpu, "nr_pinned_threads", json_object_new_int(nr_tasks));
		json_object_object_add(gpu, "pins", list);
		json_object_array_add(gpus, gpu);
		free(local_text);
		free(reserved_text);
	}
	json_object_object_add(root, "gpus", gpus);
	nodes = json_object_new_array();
	node_rows(machine, &topo, local, &reserved_all, node_table, nodes);
	json_object_object_add(root, "nodes", nodes);
	if (common.json) {
		cli_table_discard(gpu_table);
		cli_table_discard(node_table);
		cli_table_discard(pin_table);
		cli_print_json(root);
	} else {
		printf("Topology generation %llu, %u GPU%s, default policy %s\n\n",
		       (unsigned long long)info.generation, topo.nr_gpus, topo.nr_gpus == 1 ? "" : "s",
		       gpusched_policy_name(info.default_policy));
		if (topo.nr_gpus) {
			cli_table_print(gpu_table, stdout);
			printf("\n");
			cli_table_print(node_table, stdout);
		} else {
			cli_table_discard(gpu_table);
			cli_table_discard(node_table);
		}
		if (pins.nr) {
			printf("\n");
			cli_table_print(pin_table, stdout);
		} else {
			cli_table_discard(pin_table);
			printf("\nNo pinned tasks.\n");
		}
		if (!topo.nr_gpus)
			printf("The module holds no topology: start gpuschedd.\n");
		json_object_put(root);
	}
	ret = EXIT_OK;

out_lists:
	for (p = 0; p < pins.nr; p++)
		free(pins.items[p].cpus);
	free(pins.items);
	for (i = 0; local && i < topo.nr_gpus; i++)
		gs_bitmap_free(&local[i]);
	free(local);
	gs_bitmap_free(&reserved_all);
	gs_sysfs_close(sysfs);
out_machine:
	gs_machine_free(machine);
out_topo:
	gpusched_topology_copy_free(&topo);
	gpusched_close(gs);
	return ret;
}
