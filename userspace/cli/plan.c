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
		const char *reason = gs_reason_name(plan->placement.error.reason);
		char text[160];

		snprintf(text, sizeof(text), "no placement: %s", reason);
		cli_table_row(table, "", address, "-", "-", "-", text);
		json_object_object_add(entry, "node", NULL);
		json_object_object_add(entry, "error", json_object_new_string(reason));
	} else {
		json_object_object_add(entry, "node",
				       json_object_new_int(plan->placement.gpu_node));
		json_object_object_add(entry, "error", NULL);
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
