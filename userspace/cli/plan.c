// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched plan: the placement the engine would make for a job of N
 * workers per GPU, on this machine or on a sysfs snapshot of another.  It
 * runs the module's own engine source on a snapshot built the way the
 * module builds its own, with one reservation table for the whole job, so
 * exclusive workers of different GPUs never share a core here either.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libgpusched.h"
#include "snapshot.h"
#include "sysfs.h"

enum {
	OPT_POLICY = 0x2000,
	OPT_WORKERS,
	OPT_GPUS,
	OPT_CORES,
	OPT_SPILL,
	OPT_HOUSEKEEPING,
};

static void plan_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched plan [--policy P] [--workers-per-gpu N] [--gpus LIST] [--cores N]\n"
		"                     [--spill] [--housekeeping CPULIST] [--sysfs-root DIR]\n"
		"                     [--match VENDOR[:CLASS]]... [--json]\n\n"
		"Prints where the placement engine would put N workers per GPU.\n\n"
		"  --policy P            node, socket, exclusive, l3, single (default: node)\n"
		"  --workers-per-gpu N   workers on each GPU (default 1)\n"
		"  --gpus LIST           GPU indices, a list like 0-3,6 (default: every GPU)\n"
		"  --cores N             exclusive only: physical cores per worker (default: an\n"
		"                        even share of the GPU's part of its node)\n"
		"  --spill               use farther nodes when the GPU's node runs out\n"
		"  --housekeeping LIST   CPUs kept from workers, besides the isolated ones\n");
}

/* The engine's bitmap of @nr_bits as a cpulist string; the caller frees it. */
static char *engine_cpulist(const unsigned long *map, uint32_t nr_bits, unsigned int *weight)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT;
	uint32_t cpu;
	char *text;

	*weight = 0;
	for (cpu = 0; cpu < nr_bits; cpu++) {
		if (!gs_bit_test(map, cpu))
			continue;
		if (gs_bitmap_set(&bitmap, cpu)) {
			cli_error("out of memory");
			exit(EXIT_FAILURE_RUNTIME);
		}
		(*weight)++;
	}
	text = cli_cpulist(&bitmap);
	gs_bitmap_free(&bitmap);
	return text;
}

struct plan {
	const struct gs_snapshot *snapshot;
	struct gs_reservations resv;
	struct gs_workspace ws;
	struct gs_placement placement;
	unsigned long *allowed;
	unsigned int policy, workers, cores, flags;
};

/*
 * The arithmetic behind a failed placement, counted the way the engine
 * counts (placement.rst, "exclusive"): the node's capable cores (a CPU
 * online, none kept for housekeeping), how many of them no reservation of
 * this plan holds, the GPUs that call the node home and this GPU's share.
 */
struct node_numbers {
	int node;			/* -1 when the engine could not tell */
	unsigned int cores, free_cores;	/* capable cores of the node, not held */
	unsigned int usable_cpus;	/* online CPUs not kept for housekeeping */
	unsigned int gpus, share;	/* GPUs calling it home, this GPU's cores */
	unsigned int per_worker, need;	/* cores each worker needs, in all */
};

#define CORE_ONLINE		0x1
#define CORE_HOUSEKEEPING	0x2
#define CORE_HELD		0x4

static void count_node(struct plan *plan, unsigned int gpu, struct node_numbers *n)
{
	const struct gs_topology *topo = &plan->snapshot->topo;
	unsigned char *marks;
	unsigned int g, rank = 0;
	uint32_t cpu;

	memset(n, 0, sizeof(*n));
	n->node = gs_gpu_cpu_node(topo, &plan->ws, gpu);
	marks = calloc(topo->nr_cpus, sizeof(*marks));
	if (!marks) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	for (g = 0; n->node >= 0 && g < topo->nr_gpus; g++) {
		if (gs_gpu_cpu_node(topo, &plan->ws, g) != n->node)
			continue;
		n->gpus++;
		rank += g < gpu;
	}
	/* Each core's state gathered at its lowest CPU, as the engine does. */
	for (cpu = 0; cpu < topo->nr_cpus; cpu++) {
		const struct gs_cpu *c = &topo->cpus[cpu];

		if (c->flags & GS_CPU_ONLINE)
			marks[c->core] |= CORE_ONLINE;
		if (c->flags & GS_CPU_HOUSEKEEPING)
			marks[c->core] |= CORE_HOUSEKEEPING;
		if (plan->resv.holds[cpu].reservation)
			marks[c->core] |= CORE_HELD;
		if (c->node == (uint32_t)n->node && (c->flags & GS_CPU_ONLINE) &&
		    !(c->flags & GS_CPU_HOUSEKEEPING))
			n->usable_cpus++;
	}
	for (cpu = 0; n->node >= 0 && cpu < topo->nr_cpus; cpu++) {
		if (topo->cpus[cpu].core != cpu || topo->cpus[cpu].node != (uint32_t)n->node ||
		    (marks[cpu] & (CORE_ONLINE | CORE_HOUSEKEEPING)) != CORE_ONLINE)
			continue;
		n->cores++;
		n->free_cores += !(marks[cpu] & CORE_HELD);
	}
	free(marks);
	if (n->gpus)
		n->share = n->cores / n->gpus + (rank < n->cores % n->gpus);
	n->per_worker = plan->cores ? plan->cores : 1;
	n->need = n->per_worker * plan->workers;
}

/* Says why @gpu's workers found no place, with the numbers, into @text. */
static void explain_failure(struct plan *plan, const struct node_numbers *n, char *text,
			    size_t size)
{
	const char *reason = gs_reason_name(plan->placement.error.reason);
	const char *spill = plan->flags & GS_REQUEST_SPILL ? "" :
			    "; --spill would use farther nodes";
	int len;

	if (n->node < 0) {
		snprintf(text, size, "no placement: %s", reason);
		return;
	}
	if (plan->policy != GS_POLICY_EXCLUSIVE) {
		snprintf(text, size, "no placement: %s: node %d has %u usable CPU%s%s", reason,
			 n->node, n->usable_cpus, n->usable_cpus == 1 ? "" : "s", spill);
		return;
	}
	len = snprintf(text, size,
		       "no placement: %s: node %d has %u usable core%s (%u not held) for %u GPU%s, %u for this one; %u worker%s x %u core%s need %u",
		       reason, n->node, n->cores, n->cores == 1 ? "" : "s", n->free_cores,
		       n->gpus, n->gpus == 1 ? "" : "s", n->share, plan->workers,
		       plan->workers == 1 ? "" : "s", n->per_worker, n->per_worker == 1 ? "" : "s",
		       n->need);
	if (len > 0 && (size_t)len < size)
		snprintf(text + len, size - (size_t)len, "; at most %u worker%s per GPU fit",
			 n->share / n->per_worker, n->share / n->per_worker == 1 ? "" : "s");
}

/* Records a failed GPU in the table and the JSON entry. */
static void plan_failure(struct plan *plan, unsigned int gpu, const char *address,
			 struct cli_table *table, struct json_object *entry)
{
	struct json_object *numbers = json_object_new_object();
	char text[512], index[16], node[16], workers[32];
	struct node_numbers n;

	count_node(plan, gpu, &n);
	explain_failure(plan, &n, text, sizeof(text));
	snprintf(index, sizeof(index), "%u", gpu);
	snprintf(node, sizeof(node), n.node < 0 ? "?" : "%d", n.node);
	if (plan->workers == 1)
		snprintf(workers, sizeof(workers), "0");
	else
		snprintf(workers, sizeof(workers), "0-%u", plan->workers - 1);
	cli_table_row(table, index, address, workers, node, "-", text);

	json_object_object_add(entry, "node", n.node < 0 ? NULL : json_object_new_int(n.node));
	json_object_object_add(entry, "error",
			       json_object_new_string(gs_reason_name(plan->placement.error.reason)));
	json_object_object_add(entry, "message", json_object_new_string(text));
	if (n.node < 0) {
		json_object_put(numbers);
		return;
	}
	json_object_object_add(numbers, "usable_cpus_on_node", json_object_new_int(n.usable_cpus));
	json_object_object_add(numbers, "cores_on_node", json_object_new_int(n.cores));
	json_object_object_add(numbers, "free_cores_on_node", json_object_new_int(n.free_cores));
	json_object_object_add(numbers, "gpus_on_node", json_object_new_int(n.gpus));
	json_object_object_add(numbers, "cores_for_gpu", json_object_new_int(n.share));
	json_object_object_add(numbers, "cores_per_worker", json_object_new_int(n.per_worker));
	json_object_object_add(numbers, "cores_needed", json_object_new_int(n.need));
	json_object_object_add(entry, "numbers", numbers);
}

/* Places one GPU's workers; prints or records them.  Returns 0 or -errno. */
static int plan_gpu(struct plan *plan, unsigned int gpu, const struct gs_machine *machine,
		    struct cli_table *table, struct json_object *gpus)
{
	const struct gs_topology *topo = &plan->snapshot->topo;
	struct gs_request request = {
		.gpu = gpu,
		.policy = plan->policy,
		.nr_workers = plan->workers,
		.cores_per_worker = plan->cores,
		.flags = plan->flags,
		.reservation_id = gpu + 1,
		.allowed_cpus = plan->allowed,
	};
	struct json_object *entry = json_object_new_object(), *workers = json_object_new_array();
	const char *address = gs_topo_gpu(machine, gpu)->address;
	unsigned int w;
	int err;

	if (plan->policy == GS_POLICY_EXCLUSIVE)
		err = gs_reserve(topo, &plan->resv, &request, &plan->ws, &plan->placement);
	else
		err = gs_place(topo, &plan->resv, &request, &plan->ws, &plan->placement);

	json_object_object_add(entry, "gpu", json_object_new_int(gpu));
	json_object_object_add(entry, "pci_address", json_object_new_string(address));
	if (err) {
		plan_failure(plan, gpu, address, table, entry);
	} else {
		json_object_object_add(entry, "node",
				       json_object_new_int(plan->placement.gpu_node));
		json_object_object_add(entry, "error", NULL);
		json_object_object_add(entry, "message", NULL);
	}
	for (w = 0; !err && w < plan->placement.nr_workers; w++) {
		unsigned long *cpus = gs_worker_cpus(&plan->placement, topo->nr_cpus, w);
		struct json_object *worker = json_object_new_object();
		char index[16], worker_index[16], node[16], count[16];
		unsigned int weight;
		char *list = engine_cpulist(cpus, topo->nr_cpus, &weight);

		snprintf(index, sizeof(index), "%u", gpu);
		snprintf(worker_index, sizeof(worker_index), "%u", w);
		snprintf(node, sizeof(node), "%u", plan->placement.worker_node[w]);
		snprintf(count, sizeof(count), "%u", weight);
		cli_table_row(table, w ? "" : index, w ? "" : address, worker_index, node, count,
			      list);
		json_object_object_add(worker, "worker", json_object_new_int(w));
		json_object_object_add(worker, "node",
				       json_object_new_int(plan->placement.worker_node[w]));
		json_object_object_add(worker, "cpus", json_object_new_string(list));
		json_object_object_add(worker, "nr_cpus", json_object_new_int(weight));
		json_object_array_add(workers, worker);
		free(list);
	}
	json_object_object_add(entry, "workers", workers);
	json_object_array_add(gpus, entry);
	return err;
}

/* "default" means the module's default_policy when this is the live machine. */
static int default_policy(const struct cli_common *common)
{
	struct gs_sysfs *sysfs;
	char *text = NULL;
	int policy = GS_POLICY_NODE;

	if (common->sysfs_root || gs_sysfs_open(&sysfs, "/"))
		return policy;
	if (gs_sysfs_read_text(sysfs, "sys/kernel/gpusched/default_policy", &text) > 0) {
		text[strcspn(text, "\n")] = '\0';
		if (gpusched_policy_parse(text) > 0)
			policy = gpusched_policy_parse(text);
	}
	free(text);
	gs_sysfs_close(sysfs);
	return policy;
}

int cmd_plan(int argc, char **argv)
{
	static const struct option options[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "workers-per-gpu", required_argument, NULL, OPT_WORKERS },
		{ "gpus", required_argument, NULL, OPT_GPUS },
		{ "cores", required_argument, NULL, OPT_CORES },
		{ "spill", no_argument, NULL, OPT_SPILL },
		{ "housekeeping", required_argument, NULL, OPT_HOUSEKEEPING },
		CLI_COMMON_LONG_OPTIONS,
		{ 0 }
	};
	static const char *const headers[] = {
		"GPU", "PCI ADDRESS", "WORKER", "NODE", "NR CPUS", "CPUS"
	};
	struct gs_bitmap gpu_list = GS_BITMAP_INIT, housekeeping = GS_BITMAP_INIT;
	char message[GS_SNAPSHOT_MESSAGE_SIZE];
	struct plan plan = { .policy = 0, .workers = 1 };
	struct cli_common common = { 0 };
	struct json_object *root, *gpus;
	struct gs_snapshot snapshot;
	struct gs_machine *machine;
	struct cli_table *table;
	bool gpus_given = false;
	int opt, ret, gpu, failed = 0;
	struct gs_hold *holds = NULL;
	uint32_t *storage = NULL;
	uint32_t cpu, words;
	unsigned long value;

	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		ret = cli_common_option(&common, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		switch (opt) {
		case OPT_POLICY:
			ret = gpusched_policy_parse(optarg);
			if (ret < 0) {
				cli_error("--policy %s: expected node, socket, exclusive, l3, single or default",
					  optarg);
				return EXIT_USAGE;
			}
			plan.policy = ret;
			break;
		case OPT_WORKERS:
			if (cli_parse_uint("--workers-per-gpu", optarg, 1, GS_MAX_WORKERS, &value))
				return EXIT_USAGE;
			plan.workers = value;
			break;
		case OPT_CORES:
			if (cli_parse_uint("--cores", optarg, 0, GS_MAX_CPUS, &value))
				return EXIT_USAGE;
			plan.cores = value;
			break;
		case OPT_SPILL:
			plan.flags |= GS_REQUEST_SPILL;
			break;
		case OPT_GPUS:
		case OPT_HOUSEKEEPING:
			if (gs_bitmap_parse_list(opt == OPT_GPUS ? &gpu_list : &housekeeping, optarg)) {
				cli_error("%s %s: expected a list like 0-3,6",
					  opt == OPT_GPUS ? "--gpus" : "--housekeeping", optarg);
				return EXIT_USAGE;
			}
			gpus_given |= opt == OPT_GPUS;
			break;
		default:
			plan_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("plan: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (plan.policy == 0)
		plan.policy = default_policy(&common);
	if (plan.cores && plan.policy != GS_POLICY_EXCLUSIVE) {
		cli_error("--cores applies to --policy exclusive only");
		return EXIT_USAGE;
	}
	/* It builds the JSON whatever it prints. */
	gs_jsonc_need();

	ret = cli_discover(&common, common.json, &machine);
	if (ret)
		goto out_lists;
	ret = gs_default_housekeeping(machine, &housekeeping);
	if (!ret)
		ret = gs_snapshot_build(machine, &housekeeping, &snapshot, message);
	if (ret) {
		cli_error("%s: %s", common.sysfs_root ? common.sysfs_root : "this machine",
			  ret == -ENOMEM ? "out of memory" : message);
		ret = EXIT_FAILURE_RUNTIME;
		goto out_machine;
	}
	if (!snapshot.topo.nr_gpus) {
		cli_error("no GPUs found%s; `gpusched topo` shows what was found and why",
			  common.nr_matches ? "" : " (stand-in or unlisted vendors need --match)");
		ret = EXIT_FAILURE_RUNTIME;
		goto out_snapshot;
	}
	gs_bitmap_for_each(gpu, &gpu_list) {
		if ((unsigned int)gpu >= snapshot.topo.nr_gpus) {
			cli_error("--gpus: GPU %d does not exist; the machine has GPUs 0-%u",
				  gpu, snapshot.topo.nr_gpus - 1);
			ret = EXIT_USAGE;
			goto out_snapshot;
		}
	}
	if (!gpus_given && gs_bitmap_set_range(&gpu_list, 0, snapshot.topo.nr_gpus - 1)) {
		ret = EXIT_FAILURE_RUNTIME;
		goto out_snapshot;
	}

	words = gs_bitmap_words(snapshot.topo.nr_cpus);
	plan.snapshot = &snapshot;
	holds = calloc(snapshot.topo.nr_cpus, sizeof(*holds));
	storage = calloc(gs_workspace_words(snapshot.topo.nr_cpus, snapshot.topo.nr_nodes),
			 sizeof(*storage));
	plan.allowed = calloc(words, sizeof(*plan.allowed));
	plan.placement.max_workers = plan.workers;
	plan.placement.worker_cpus = calloc((size_t)words * plan.workers, sizeof(unsigned long));
	plan.placement.worker_node = calloc(plan.workers, sizeof(uint32_t));
	if (!holds || !storage || !plan.allowed || !plan.placement.worker_cpus ||
	    !plan.placement.worker_node) {
		cli_error("out of memory");
		ret = EXIT_FAILURE_RUNTIME;
		goto out_plan;
	}
	gs_reservations_init(&plan.resv, holds, snapshot.topo.nr_cpus);
	gs_workspace_init(&plan.ws, storage, snapshot.topo.nr_cpus, snapshot.topo.nr_nodes);
	for (cpu = 0; cpu < snapshot.topo.nr_cpus; cpu++)
		gs_bit_set(plan.allowed, cpu);

	root = json_object_new_object();
	gpus = json_object_new_array();
	table = cli_table_new(6, headers);
	json_object_object_add(root, "source",
			       json_object_new_string(common.sysfs_root ? common.sysfs_root : "/"));
	json_object_object_add(root, "policy",
			       json_object_new_string(gpusched_policy_name(plan.policy)));
	json_object_object_add(root, "workers_per_gpu", json_object_new_int(plan.workers));
	gs_bitmap_for_each(gpu, &gpu_list)
		failed += plan_gpu(&plan, gpu, machine, table, gpus) != 0;
	json_object_object_add(root, "gpus", gpus);
	if (common.json) {
		cli_table_discard(table);
		cli_print_json(root);
	} else {
		printf("Policy %s, %u worker%s per GPU:\n", gpusched_policy_name(plan.policy),
		       plan.workers, plan.workers == 1 ? "" : "s");
		cli_table_print(table, stdout);
		json_object_put(root);
	}
	ret = failed ? EXIT_FAILURE_RUNTIME : EXIT_OK;

out_plan:
	free(holds);
	free(storage);
	free(plan.allowed);
	free(plan.placement.worker_cpus);
	free(plan.placement.worker_node);
out_snapshot:
	gs_snapshot_free(&snapshot);
out_machine:
	gs_machine_free(machine);
out_lists:
	gs_bitmap_free(&gpu_list);
	gs_bitmap_free(&housekeeping);
	return ret;
}
