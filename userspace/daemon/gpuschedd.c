// SPDX-License-Identifier: GPL-2.0
/*
 * gpuschedd: keeps the gpusched module's topology true to the machine.
 * It discovers the CPUs, caches, isolated CPUs and GPUs from sysfs, adds
 * the GPUs' UUIDs from NVML when that is installed, sends the result with
 * GPUSCHED_IOC_SET_TOPOLOGY, and sends it again whenever a CPU goes
 * online or offline or a PCI function or NUMA node comes or goes, once
 * the uevents have been quiet for a moment and only when the request
 * differs from the last one the module took.  --dry-run prints the
 * request as JSON instead, which is also how the tests look at it.
 * Exit codes: 0 done, 1 runtime failure, 2 usage, 3 module not loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cpulist.h"
#include "discover.h"
#include "libgpusched.h"
#include "nvml.h"
#include "snapshot.h"
#include "debounce.h"
#include "gpuschedd.h"

#ifndef GPUSCHED_VERSION
#define GPUSCHED_VERSION	"0.4.0"
#endif

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_NO_MODULE = 3,
};

/* NVML's GPUs are this vendor's. */
#define PCI_VENDOR_NVIDIA	0x10de
/* Quiet time that ends a burst of uevents; see debounce.h. */
#define DEBOUNCE_MS		250
/* How often --wait retries the device when no uevent says it appeared. */
#define WAIT_POLL_MS		1000

/* One --mem-node GPU=NODE: the GPU by PCI address, or by index when address is -1. */
struct mem_node_arg {
	const char *text;
	long index;
	unsigned int domain, bus, slot, function;
	unsigned int node;
};

struct options {
	bool once, wait, no_nvml, dry_run, verbose;
	const char *device;
	const char *sysfs_root;
	const char **matches;
	unsigned int nr_matches;
	struct gs_bitmap housekeeping;
	struct mem_node_arg *mem_nodes;
	unsigned int nr_mem_nodes;
};

struct daemon {
	struct options opts;
	struct gpusched *gs;
	uint32_t nr_cpu_ids;
	char devname[256];		/* the device's name below /dev, as uevents give it */
	struct gs_feed last;		/* the request the module last took */
	bool fed;
	int signal_fd;
	int uevent_fd;
	/*
	 * NVML's answers for the GPUs of the last look: a CPU or memory
	 * hotplug does not load NVML again.  Dropped on SIGHUP, on a uevent
	 * of a display or accelerator function or its driver (a GPU may have
	 * been replaced at the same address, or NVML may know it now), and
	 * when NVML did not know an NVIDIA GPU (forget_incomplete_nvml()).
	 */
	struct gs_nvml_cache nvml_cache;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gpuschedd [OPTION]...\n"
		"Feed the gpusched module the machine's GPU and CPU topology,\n"
		"and again on CPU and PCI hotplug.\n"
		"\n"
		"  -1, --once                 feed the topology once and exit\n"
		"  -w, --wait                 if the module is not loaded, wait for its device\n"
		"  -d, --device PATH          the module's device (default " GPUSCHED_DEVICE ")\n"
		"  -r, --sysfs-root DIR       discover below DIR instead of /\n"
		"  -m, --match VENDOR[:CLASS] count this PCI vendor (and class) as a GPU;\n"
		"                             repeatable\n"
		"  -k, --housekeeping CPULIST keep these CPUs from every pin, as isolated\n"
		"                             CPUs are\n"
		"  -M, --mem-node GPU=NODE    GPU (PCI address or index) has its memory on NODE,\n"
		"                             whatever the NVIDIA driver says; repeatable\n"
		"  -N, --no-nvml              do not ask NVML for GPU UUIDs and memory nodes\n"
		"  -n, --dry-run              print the request as JSON instead of sending it\n"
		"                             (implies --once; the device is not opened)\n"
		"  -v, --verbose              log debug messages too\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error, 3 module not loaded.\n"
		"See gpuschedd(8).\n");
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpuschedd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'gpuschedd --help' for more information.\n");
	exit(EXIT_USAGE);
}

/* "GPU=NODE": GPU a PCI address ("0000:3b:00.0", "3b:00.0") or an index. */
static void parse_mem_node(const char *text, struct mem_node_arg *arg)
{
	const char *equals = strrchr(text, '=');
	char gpu[64], *end;
	unsigned long node;
	int used = 0;

	if (!equals || equals == text || (size_t)(equals - text) >= sizeof(gpu))
		usage_error("--mem-node \"%s\": expected GPU=NODE, like 0000:3b:00.0=2 or 0=2",
			    text);
	memcpy(gpu, text, (size_t)(equals - text));
	gpu[equals - text] = '\0';
	errno = 0;
	node = strtoul(equals + 1, &end, 10);
	if (errno || end == equals + 1 || *end || node >= GS_MAX_NODES)
		usage_error("--mem-node \"%s\": \"%s\" is not a NUMA node id (0..%u)", text,
			    equals + 1, GS_MAX_NODES - 1);
	arg->text = text;
	arg->node = (unsigned int)node;
	arg->index = -1;
	arg->domain = 0;
	if (gpu[strspn(gpu, "0123456789")] == '\0') {
		errno = 0;
		arg->index = (long)strtoul(gpu, NULL, 10);
		if (errno || arg->index >= GPUSCHED_MAX_GPUS)
			usage_error("--mem-node \"%s\": GPU index %s is out of range", text, gpu);
		return;
	}
	/* With a domain ("0000:3b:00.0"), else domain 0 ("3b:00.0"), as lspci prints it. */
	if (sscanf(gpu, "%x:%x:%x.%x%n", &arg->domain, &arg->bus, &arg->slot, &arg->function,
		   &used) != 4 || gpu[used]) {
		arg->domain = 0;
		used = 0;
		if (sscanf(gpu, "%x:%x.%x%n", &arg->bus, &arg->slot, &arg->function, &used) != 3)
			used = 0;
	}
	if (used && !gpu[used] && arg->bus <= 0xff && arg->slot <= 0x1f && arg->function <= 7)
		return;
	usage_error("--mem-node \"%s\": \"%s\" is neither a PCI address (0000:3b:00.0) nor a "
		    "GPU index", text, gpu);
}

static void parse_options(int argc, char **argv, struct options *opts)
{
	static const struct option long_options[] = {
		{ "once", no_argument, NULL, '1' },
		{ "wait", no_argument, NULL, 'w' },
		{ "device", required_argument, NULL, 'd' },
		{ "sysfs-root", required_argument, NULL, 'r' },
		{ "match", required_argument, NULL, 'm' },
		{ "housekeeping", required_argument, NULL, 'k' },
		{ "mem-node", required_argument, NULL, 'M' },
		{ "no-nvml", no_argument, NULL, 'N' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct gs_gpu_match match;
	int c, err;

	opts->device = GPUSCHED_DEVICE;
	/* Every argument fits: argc bounds the repeatable options' counts. */
	opts->matches = calloc((size_t)argc, sizeof(*opts->matches));
	opts->mem_nodes = calloc((size_t)argc, sizeof(*opts->mem_nodes));
	if (!opts->matches || !opts->mem_nodes) {
		fprintf(stderr, "gpuschedd: out of memory\n");
		exit(EXIT_RUNTIME);
	}
	while ((c = getopt_long(argc, argv, "1wd:r:m:k:M:NnvhV", long_options, NULL)) != -1) {
		switch (c) {
		case '1':
			opts->once = true;
			break;
		case 'w':
			opts->wait = true;
			break;
		case 'd':
			if (!*optarg)
				usage_error("--device: empty path");
			opts->device = optarg;
			break;
		case 'r':
			if (!*optarg)
				usage_error("--sysfs-root: empty path");
			opts->sysfs_root = optarg;
			break;
		case 'm':
			if (gs_gpu_match_parse(optarg, &match))
				usage_error("--match \"%s\": expected VENDOR[:CLASS] in hex, "
					    "like 1af4 or 1234:0380 (not an ASPEED or Matrox "
					    "BMC display)", optarg);
			opts->matches[opts->nr_matches++] = optarg;
			break;
		case 'k': {
			struct gs_bitmap cpus = GS_BITMAP_INIT;

			err = gs_bitmap_parse_list(&cpus, optarg);
			if (err)
				usage_error("--housekeeping \"%s\": %s", optarg,
					    err == -ERANGE ? "CPU id too large" :
					    "not a CPU list (like 0-1,32-33)");
			err = gs_bitmap_or(&opts->housekeeping, &cpus);
			gs_bitmap_free(&cpus);
			if (err) {
				fprintf(stderr, "gpuschedd: out of memory\n");
				exit(EXIT_RUNTIME);
			}
			break;
		}
		case 'M':
			parse_mem_node(optarg, &opts->mem_nodes[opts->nr_mem_nodes++]);
			break;
		case 'N':
			opts->no_nvml = true;
			break;
		case 'n':
			opts->dry_run = true;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf("gpuschedd " GPUSCHED_VERSION "\n");
			exit(EXIT_OK);
		default:
			fprintf(stderr, "Try 'gpuschedd --help' for more information.\n");
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (opts->dry_run)
		opts->once = true;
}

static void log_discovery_warning(void *arg, const char *message)
{
	(void)arg;
	gs_log(GS_LOG_WARNING, "%s", message);
}

static const char *root_name(const struct options *opts)
{
	return opts->sysfs_root ? opts->sysfs_root : "/";
}

/*
 * Fills @mem_nodes (one per GPU, -1 for none) from the --mem-node
 * options.  A GPU or node the machine does not have is an error: the
 * administrator named the wrong one, and guessing would misplace memory.
 */
static int resolve_mem_nodes(const struct daemon *d, const struct gs_machine *machine,
			     int *mem_nodes)
{
	unsigned int nr_gpus = gs_topo_nr_gpus(machine), i, j;

	for (i = 0; i < nr_gpus; i++)
		mem_nodes[i] = -1;
	for (i = 0; i < d->opts.nr_mem_nodes; i++) {
		const struct mem_node_arg *arg = &d->opts.mem_nodes[i];
		long gpu = -1;

		if (arg->index >= 0) {
			gpu = arg->index < (long)nr_gpus ? arg->index : -1;
		} else {
			for (j = 0; j < nr_gpus && gpu < 0; j++) {
				const struct gs_pci_device *dev = gs_topo_gpu(machine, j);

				if (dev->domain == arg->domain && dev->bus == arg->bus &&
				    dev->slot == arg->slot && dev->function == arg->function)
					gpu = j;
			}
		}
		if (gpu < 0) {
			gs_log(GS_LOG_ERR, "--mem-node %s: no such GPU among the %u found below %s "
			       "(see `gpusched topo`, or add --match for its vendor)",
			       arg->text, nr_gpus, root_name(&d->opts));
			return -ENODEV;
		}
		if (!gs_topo_node_by_id(machine, arg->node)) {
			gs_log(GS_LOG_ERR, "--mem-node %s: node %u does not exist in "
			       "%s/sys/devices/system/node", arg->text, arg->node,
			       d->opts.sysfs_root ? d->opts.sysfs_root : "");
			return -ENODEV;
		}
		mem_nodes[gpu] = (int)arg->node;
	}
	return 0;
}

/*
 * The housekeeping CPUs: the isolated ones plus --housekeeping, minus any
 * CPU the machine does not have (the module would refuse the whole mask,
 * and a CPU of a smaller machine in a shared config is no reason to fail).
 */
static int build_housekeeping(const struct daemon *d, const struct gs_machine *machine,
			      struct gs_bitmap *housekeeping)
{
	int cpu, err;

	err = gs_default_housekeeping(machine, housekeeping);
	if (!err)
		err = gs_bitmap_or(housekeeping, &d->opts.housekeeping);
	if (err)
		return err;
	gs_bitmap_for_each(cpu, &d->opts.housekeeping) {
		if (!gs_topo_cpu_by_id(machine, (unsigned int)cpu)) {
			gs_log(GS_LOG_WARNING,
			       "--housekeeping: this machine has no CPU %d; ignored", cpu);
			gs_bitmap_clear(housekeeping, (unsigned int)cpu);
		}
	}
	return 0;
}

/*
 * Drops the NVML answer just kept when it left an NVIDIA GPU without a
 * UUID: NVML not knowing a GPU of its own vendor is passing (a driver
 * still starting, the GPU handed to vfio-pci), unlike the GPUs of other
 * vendors, which it never knows.  The next look asks again.
 */
static void forget_incomplete_nvml(struct daemon *d, const struct gs_machine *machine,
				   const struct gs_nvml_gpu *nvml)
{
	static const uint8_t unknown[16];
	unsigned int i;

	for (i = 0; i < gs_topo_nr_gpus(machine); i++) {
		const struct gs_pci_device *gpu = gs_topo_gpu(machine, i);

		if (gpu->vendor_id == PCI_VENDOR_NVIDIA && !memcmp(nvml[i].uuid, unknown, 16)) {
			gs_log(GS_LOG_DEBUG, "NVML does not know GPU %u (%s); asking again at "
			       "the next look", i, gpu->address);
			gs_nvml_cache_clear(&d->nvml_cache);
			return;
		}
	}
}

/*
 * What NVML knows of the GPUs into @nvml (UUIDs zero and nodes -1 when
 * NVML is absent, turned off or does not know a GPU).
 */
static void lookup_nvml(struct daemon *d, const struct gs_machine *machine,
			struct gs_nvml_gpu *nvml)
{
	unsigned long asked = d->nvml_cache.asked;
	unsigned int nr_gpus = gs_topo_nr_gpus(machine), i;
	const char **addresses;
	char message[GS_NVML_MESSAGE_SIZE];
	int err;

	for (i = 0; i < nr_gpus; i++)
		nvml[i] = (struct gs_nvml_gpu){ .mem_node = -1 };
	if (d->opts.no_nvml || !nr_gpus)
		return;
	addresses = calloc(nr_gpus, sizeof(*addresses));
	if (!addresses) {
		gs_log(GS_LOG_WARNING, "out of memory for the NVML lookup; GPU UUIDs stay unknown");
		return;
	}
	for (i = 0; i < nr_gpus; i++)
		addresses[i] = gs_topo_gpu(machine, i)->address;
	err = gs_nvml_cache_lookup(&d->nvml_cache, nr_gpus, addresses, nvml, message);
	if (d->nvml_cache.asked == asked)
		gs_log(GS_LOG_DEBUG, "NVML: the answers for these %u GPUs are kept from an "
		       "earlier look (SIGHUP asks again)", nr_gpus);
	else if (err == -ENOENT)
		gs_log(GS_LOG_DEBUG, "no NVML (%s); GPU UUIDs stay unknown", message);
	else if (err)
		gs_log(GS_LOG_WARNING, "%s; GPU UUIDs stay unknown (--no-nvml skips NVML)",
		       message);
	else if (message[0])
		gs_log(GS_LOG_WARNING, "NVML: %s; those GPUs have no UUID or memory node", message);
	else
		forget_incomplete_nvml(d, machine, nvml);
	free(addresses);
}

/*
 * Fills in the memory node of every GPU that --mem-node left open: the
 * one the driver's numa_status names (discovery read it), else the one
 * NVML names if the machine has memory there.  Each choice is logged with
 * where it came from, since it decides where every worker's memory goes.
 */
static void fill_driver_mem_nodes(const struct gs_machine *machine,
				  const struct gs_nvml_gpu *nvml, int *mem_nodes)
{
	unsigned int nr_gpus = gs_topo_nr_gpus(machine), i;

	for (i = 0; i < nr_gpus; i++) {
		const struct gs_pci_device *gpu = gs_topo_gpu(machine, i);
		const struct gs_machine_node *node;
		const char *source;

		if (mem_nodes[i] >= 0) {
			source = "--mem-node";
		} else if (gpu->mem_node >= 0) {
			mem_nodes[i] = gpu->mem_node;
			source = "the driver's numa_status";
		} else if (nvml[i].mem_node >= 0) {
			node = gs_topo_node_by_id(machine, (unsigned int)nvml[i].mem_node);
			if (!node || !node->has_memory) {
				gs_log(GS_LOG_WARNING, "GPU %u (%s): NVML puts its memory on node %d, which %s; the GPU's memory node is not used (--mem-node sets one)",
				       i, gpu->address, nvml[i].mem_node,
				       node ? "has no memory" : "does not exist");
				continue;
			}
			mem_nodes[i] = nvml[i].mem_node;
			source = "NVML";
		} else {
			continue;
		}
		gs_log(GS_LOG_INFO, "GPU %u (%s): memory on node %d (%s)", i, gpu->address,
		       mem_nodes[i], source);
	}
}

/*
 * Discovers the machine and builds the SET_TOPOLOGY request into @feed for
 * a module with @nr_cpu_ids CPU ids (0: the machine's highest CPU id + 1,
 * for --dry-run).  Logs what went wrong and returns -errno.
 */
static int build_feed(struct daemon *d, uint32_t nr_cpu_ids, struct gs_feed *feed)
{
	struct gs_discover_opts discover_opts = {
		.root = d->opts.sysfs_root,
		.gpu_matches = d->opts.matches,
		.nr_gpu_matches = d->opts.nr_matches,
		.warn = log_discovery_warning,
	};
	struct gs_bitmap housekeeping = GS_BITMAP_INIT;
	struct gs_machine *machine = NULL;
	struct gs_nvml_gpu *nvml = NULL;
	uint8_t (*uuids)[16] = NULL;
	unsigned int nr_gpus, nr_cpus, i;
	int *mem_nodes = NULL;
	int err;

	err = gs_discover(&discover_opts, &machine);
	if (err) {
		gs_log(GS_LOG_ERR, "%s: cannot discover the topology: %s%s", root_name(&d->opts),
		       strerror(-err), err == -ENOENT ?
		       " (is it a sysfs root, with sys/devices/system/cpu/cpuN?)" : "");
		return err;
	}
	nr_gpus = gs_topo_nr_gpus(machine);
	nr_cpus = gs_topo_nr_cpus(machine);
	if (!nr_cpu_ids)
		nr_cpu_ids = nr_cpus ? gs_topo_cpu(machine, nr_cpus - 1)->id + 1 : 0;
	mem_nodes = calloc(nr_gpus ? nr_gpus : 1, sizeof(*mem_nodes));
	uuids = calloc(nr_gpus ? nr_gpus : 1, sizeof(*uuids));
	nvml = calloc(nr_gpus ? nr_gpus : 1, sizeof(*nvml));
	if (!mem_nodes || !uuids || !nvml) {
		err = -ENOMEM;
		gs_log(GS_LOG_ERR, "out of memory");
		goto out;
	}
	err = resolve_mem_nodes(d, machine, mem_nodes);
	if (err)
		goto out;
	err = build_housekeeping(d, machine, &housekeeping);
	if (err) {
		gs_log(GS_LOG_ERR, "out of memory");
		goto out;
	}
	lookup_nvml(d, machine, nvml);
	fill_driver_mem_nodes(machine, nvml, mem_nodes);
	for (i = 0; i < nr_gpus; i++)
		memcpy(uuids[i], nvml[i].uuid, sizeof(uuids[i]));
	err = gs_feed_build(machine, nr_cpu_ids, &housekeeping, mem_nodes,
			    (const uint8_t (*)[16])uuids, feed);
	if (err == -ERANGE)
		gs_log(GS_LOG_ERR, "%s: the machine does not fit the module: more than %u GPUs, "
		       "or a CPU id at or above the module's nr_cpu_ids %u",
		       root_name(&d->opts), GPUSCHED_MAX_GPUS, nr_cpu_ids);
	else if (err)
		gs_log(GS_LOG_ERR, "cannot build the topology request: %s", strerror(-err));
out:
	free(nvml);
	free(uuids);
	free(mem_nodes);
	gs_bitmap_free(&housekeeping);
	gs_machine_free(machine);
	return err;
}

static size_t housekeeping_words(uint32_t nr_cpus)
{
	return (nr_cpus + 63) / 64;
}

/* Whether two requests would give the module the same topology (generation aside). */
static bool feeds_equal(const struct gs_feed *a, const struct gs_feed *b)
{
	const struct gpusched_topology *x = &a->request, *y = &b->request;

	if (x->nr_gpus != y->nr_gpus || x->nr_cpus != y->nr_cpus || !a->llc != !b->llc)
		return false;
	if (x->nr_gpus && memcmp(a->gpus, b->gpus, x->nr_gpus * sizeof(*a->gpus)))
		return false;
	if (a->llc && memcmp(a->llc, b->llc, x->nr_cpus * sizeof(*a->llc)))
		return false;
	return !memcmp(a->housekeeping, b->housekeeping,
		       housekeeping_words(x->nr_cpus) * sizeof(*a->housekeeping));
}

static json_object *node_json(uint32_t node)
{
	return node == GPUSCHED_NODE_ANY ? NULL : json_object_new_int64(node);
}

/* The request as JSON: what --dry-run prints. */
static json_object *feed_json(const struct gs_feed *feed)
{
	const struct gpusched_topology *request = &feed->request;
	struct gs_bitmap housekeeping = GS_BITMAP_INIT;
	json_object *root = json_object_new_object(), *gpus = json_object_new_array();
	json_object *llc = feed->llc ? json_object_new_array() : NULL;
	char *list = NULL;
	uint32_t i;
	int length;

	json_object_object_add(root, "nr_cpus", json_object_new_int64(request->nr_cpus));
	for (i = 0; i < request->nr_gpus; i++) {
		const struct gpusched_gpu *gpu = &feed->gpus[i];
		json_object *entry = json_object_new_object();
		char address[GPUSCHED_PCI_ADDRESS_SIZE], uuid[41];

		gpusched_format_pci_address(gpu, address);
		gpusched_uuid_format(gpu->uuid, uuid);
		json_object_object_add(entry, "pci_address", json_object_new_string(address));
		json_object_object_add(entry, "node", node_json(gpu->node));
		json_object_object_add(entry, "mem_node", node_json(gpu->mem_node));
		json_object_object_add(entry, "uuid",
				       uuid[0] ? json_object_new_string(uuid) : NULL);
		json_object_array_add(gpus, entry);
	}
	json_object_object_add(root, "gpus", gpus);
	for (i = 0; llc && i < request->nr_cpus; i++)
		json_object_array_add(llc, json_object_new_int64(feed->llc[i]));
	json_object_object_add(root, "llc", llc);
	for (i = 0; i < request->nr_cpus; i++)
		if (feed->housekeeping[i / 64] & (1ULL << (i % 64)) &&
		    gs_bitmap_set(&housekeeping, i))
			break;
	length = gs_bitmap_format_list(&housekeeping, NULL, 0);
	list = malloc((size_t)length + 1);
	if (list)
		gs_bitmap_format_list(&housekeeping, list, (size_t)length + 1);
	json_object_object_add(root, "housekeeping", json_object_new_string(list ? list : ""));
	free(list);
	gs_bitmap_free(&housekeeping);
	return root;
}

static int dry_run(struct daemon *d)
{
	struct gs_feed feed;
	json_object *json;
	int status = EXIT_OK;

	if (build_feed(d, 0, &feed))
		return EXIT_RUNTIME;
	json = feed_json(&feed);
	if (printf("%s\n", json_object_to_json_string_ext(json, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_SPACED)) < 0 ||
	    fflush(stdout)) {
		gs_log(GS_LOG_ERR, "standard output: %s", strerror(errno));
		status = EXIT_RUNTIME;
	}
	json_object_put(json);
	gs_feed_free(&feed);
	return status;
}

static bool device_missing(int err)
{
	return err == -ENOENT || err == -ENODEV || err == -ENXIO;
}

/* Explains a failed gpusched_open(); returns the exit code it calls for. */
static int open_failed(const struct daemon *d, int err)
{
	if (device_missing(err)) {
		gs_log(GS_LOG_ERR, "%s: no such device: the gpusched module is not loaded "
		       "(modprobe gpusched), or use --wait", d->opts.device);
		return EXIT_NO_MODULE;
	}
	if (err == -EACCES || err == -EPERM)
		gs_log(GS_LOG_ERR, "%s: %s: run gpuschedd as root (it needs CAP_SYS_ADMIN)",
		       d->opts.device, strerror(-err));
	else if (err == -EPROTO)
		gs_log(GS_LOG_ERR, "%s: the loaded module speaks another ABI than gpuschedd "
		       "(version %u): install matching versions of both",
		       d->opts.device, GPUSCHED_ABI_VERSION);
	else if (err == -ENOTTY)
		gs_log(GS_LOG_ERR, "%s: not the gpusched device (GET_INFO: %s); check --device",
		       d->opts.device, strerror(-err));
	else
		gs_log(GS_LOG_ERR, "%s: %s", d->opts.device, strerror(-err));
	return EXIT_RUNTIME;
}

/*
 * Reads the pending signal.  Returns the signal number, or 0 when there
 * was none.
 */
static int read_signal(int fd)
{
	struct signalfd_siginfo info;

	if (read(fd, &info, sizeof(info)) != sizeof(info))
		return 0;
	return (int)info.ssi_signo;
}

/*
 * --wait: retries the device whenever the kernel announces a misc device
 * of its name, and every second in case the announcement was missed (no
 * uevents in this network namespace, an overrun).  Returns 0 with the
 * device open, 1 when asked to stop, or the open error.
 */
static int wait_for_device(struct daemon *d)
{
	int err;

	gs_log(GS_LOG_INFO, "%s: waiting for the gpusched module to be loaded", d->opts.device);
	gs_notify("STATUS=waiting for %s (modprobe gpusched)", d->opts.device);
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = d->signal_fd, .events = POLLIN },
			{ .fd = d->uevent_fd, .events = POLLIN },
		};
		int ready = poll(fds, d->uevent_fd >= 0 ? 2 : 1, WAIT_POLL_MS);

		if (ready < 0 && errno != EINTR) {
			gs_log(GS_LOG_ERR, "poll: %s", strerror(errno));
			return -errno;
		}
		if (ready > 0 && fds[0].revents & POLLIN) {
			int signo = read_signal(d->signal_fd);

			if (signo == SIGTERM || signo == SIGINT) {
				gs_log(GS_LOG_INFO, "%s: exiting", strsignal(signo));
				return 1;
			}
		}
		if (ready > 0 && d->uevent_fd >= 0 && fds[1].revents & POLLIN)
			gs_uevent_read(d->uevent_fd, d->devname);
		err = gpusched_open(d->opts.device, 0, &d->gs);
		if (!device_missing(err))
			return err;
	}
}

/*
 * Re-discovers and sends the topology: always when @force, else only when
 * the request differs from the last one the module took.  Returns 0 or
 * -errno; everything is logged.
 */
static int refeed(struct daemon *d, bool force)
{
	struct gs_feed feed;
	int err;

	err = build_feed(d, d->nr_cpu_ids, &feed);
	if (err)
		return err;
	if (d->fed && !force && feeds_equal(&feed, &d->last)) {
		gs_log(GS_LOG_INFO, "topology unchanged");
		gs_feed_free(&feed);
		return 0;
	}
	err = gpusched_set_topology(d->gs, &feed.request);
	if (err) {
		if (err == -EPERM)
			gs_log(GS_LOG_ERR, "%s: SET_TOPOLOGY: %s: gpuschedd needs CAP_SYS_ADMIN",
			       d->opts.device, strerror(-err));
		else
			gs_log(GS_LOG_ERR, "%s: the module refused the topology "
			       "(SET_TOPOLOGY: %s); `dmesg` has its reason",
			       d->opts.device, strerror(-err));
		if (d->fed)
			gs_notify("STATUS=topology refused (%s); still serving generation %llu",
				  strerror(-err), (unsigned long long)d->last.request.generation);
		gs_feed_free(&feed);
		return err;
	}
	gs_log(GS_LOG_INFO, "fed %u GPUs, generation %llu", feed.request.nr_gpus,
	       (unsigned long long)feed.request.generation);
	gs_notify("%sSTATUS=fed %u GPUs, generation %llu", d->fed ? "" : "READY=1\n",
		  feed.request.nr_gpus, (unsigned long long)feed.request.generation);
	gs_feed_free(&d->last);
	d->last = feed;
	d->fed = true;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Serves hotplug and SIGHUP until SIGTERM or SIGINT. */
static void serve(struct daemon *d)
{
	struct gs_debounce debounce;

	gs_debounce_init(&debounce, DEBOUNCE_MS);
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = d->signal_fd, .events = POLLIN },
			{ .fd = d->uevent_fd, .events = POLLIN },
		};
		unsigned int events = 0;
		int ready;

		ready = poll(fds, d->uevent_fd >= 0 ? 2 : 1,
			     gs_debounce_timeout(&debounce, now_ms()));
		if (ready < 0 && errno != EINTR) {
			gs_log(GS_LOG_ERR, "poll: %s", strerror(errno));
			return;
		}
		/* Read first, so that a SIGHUP's look sees what they dropped. */
		if (ready > 0 && d->uevent_fd >= 0 && fds[1].revents & POLLIN)
			events = gs_uevent_read(d->uevent_fd, d->devname);
		if (events & GS_UEVENT_PCI)
			gs_nvml_cache_clear(&d->nvml_cache);
		if (ready > 0 && fds[0].revents & POLLIN) {
			int signo = read_signal(d->signal_fd);

			if (signo == SIGTERM || signo == SIGINT) {
				gs_log(GS_LOG_INFO, "%s: exiting", strsignal(signo));
				return;
			}
			if (signo == SIGHUP) {
				gs_log(GS_LOG_INFO, "SIGHUP: discovering the topology again");
				gs_nvml_cache_clear(&d->nvml_cache);
				refeed(d, true);
				gs_debounce_cancel(&debounce);
			}
		}
		if (events & GS_UEVENT_TOPOLOGY) {
			if (gs_debounce_event(&debounce, now_ms())) {
				gs_log(GS_LOG_DEBUG, "hotplug: looking again now");
				refeed(d, false);
			} else {
				gs_log(GS_LOG_DEBUG, "hotplug: looking again after %d ms of quiet",
				       DEBOUNCE_MS);
			}
		}
		if (gs_debounce_due(&debounce, now_ms()))
			refeed(d, false);
	}
}

/* The device's name below /dev, which a misc device's uevent carries as DEVNAME. */
static void set_devname(struct daemon *d)
{
	const char *name = d->opts.device;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	else if (strrchr(name, '/'))
		name = strrchr(name, '/') + 1;
	snprintf(d->devname, sizeof(d->devname), "%s", name);
}

static int run(struct daemon *d)
{
	struct gpusched_get_info info;
	int err;

	set_devname(d);
	d->uevent_fd = -1;
	if (!d->opts.once || d->opts.wait) {
		/*
		 * Opened before the first discovery, so that a CPU that goes
		 * offline while discovery reads sysfs is not missed.
		 */
		d->uevent_fd = gs_uevent_open();
		if (d->uevent_fd < 0)
			gs_log(GS_LOG_WARNING, "uevent socket: %s; CPU and PCI hotplug will go "
			       "unnoticed until SIGHUP", strerror(-d->uevent_fd));
	}
	err = gpusched_open(d->opts.device, 0, &d->gs);
	if (device_missing(err) && d->opts.wait) {
		err = wait_for_device(d);
		if (err == 1) {
			gs_notify("STOPPING=1");
			return EXIT_OK;
		}
	}
	if (err)
		return open_failed(d, err);
	err = gpusched_get_info(d->gs, &info);
	if (err) {
		gs_log(GS_LOG_ERR, "%s: GET_INFO: %s", d->opts.device, strerror(-err));
		return EXIT_RUNTIME;
	}
	d->nr_cpu_ids = info.nr_cpu_ids;
	gs_log(GS_LOG_DEBUG, "%s: ABI %u, nr_cpu_ids %u, generation %llu", d->opts.device,
	       info.abi_version, info.nr_cpu_ids, (unsigned long long)info.generation);
	if (refeed(d, true))
		return EXIT_RUNTIME;
	if (!d->opts.once)
		serve(d);
	gs_notify("STOPPING=1");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct daemon d = { .signal_fd = -1, .uevent_fd = -1 };
	sigset_t signals;
	int status;

	gs_bitmap_init(&d.opts.housekeeping);
	parse_options(argc, argv, &d.opts);
	gs_log_init(d.opts.verbose);
	if (d.opts.dry_run) {
		status = dry_run(&d);
		goto out;
	}
	gs_notify_init();
	/* Signals arrive as reads of signalfd in the loop: no work in handlers. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	if (!sigprocmask(SIG_BLOCK, &signals, NULL))
		d.signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d.signal_fd < 0) {
		gs_log(GS_LOG_ERR, "signalfd: %s", strerror(errno));
		status = EXIT_RUNTIME;
		goto out;
	}
	status = run(&d);
out:
	gs_feed_free(&d.last);
	gs_nvml_cache_clear(&d.nvml_cache);
	gpusched_close(d.gs);
	if (d.uevent_fd >= 0)
		close(d.uevent_fd);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	gs_bitmap_free(&d.opts.housekeeping);
	free(d.opts.matches);
	free(d.opts.mem_nodes);
	return status;
}
