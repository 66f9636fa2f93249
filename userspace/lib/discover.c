// SPDX-License-Identifier: GPL-2.0
/*
 * Topology discovery from sysfs.  It reads, below a movable root, the CPU
 * directories (online state, core, package, SMT siblings, caches), the
 * isolated and nohz_full lists, the NUMA node directories (enumerated,
 * never assumed to be 0..N-1) and the PCI functions, and turns them into
 * one struct gs_machine.  Real machines and kernels disagree on details:
 * old kernels print masks where new ones print lists, offline CPUs lose
 * their topology, firmware leaves numa_node at -1, BMCs bring a display
 * adapter.  Each such case has one documented answer here (see
 * Documentation/discovery.rst), and whatever cannot be answered becomes a
 * warning naming the file and the value, so that discovery never stops
 * half-way on a machine it was not tested on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "sysfs.h"

#define CPU_DIR		"sys/devices/system/cpu"
#define NODE_DIR	"sys/devices/system/node"
#define PCI_DIR		"sys/bus/pci/devices"

/* Quoted values are cut here, visibly, so a corrupt file cannot flood a log. */
#define SHOWN_VALUE_SIZE	64

struct gs_machine {
	struct gs_machine_cpu *cpus;		/* ascending id */
	unsigned int nr_cpus;
	struct gs_machine_node *nodes;		/* ascending id */
	unsigned int nr_nodes;
	struct gs_pci_device *gpus;	/* PCI address order */
	unsigned int nr_gpus;
	struct gs_pci_device *ignored;	/* PCI address order */
	unsigned int nr_ignored;
	struct gs_bitmap online_cpus;
	struct gs_bitmap isolated_cpus;
	struct gs_bitmap nohz_full_cpus;
	unsigned int nr_cores;
	unsigned int nr_llcs;
	unsigned int nr_packages;
	char **warnings;
	unsigned int nr_warnings;
};

/* State of one gs_discover() call. */
struct discovery {
	const struct gs_discover_opts *opts;
	struct gs_sysfs *sysfs;
	struct gs_machine *topo;
	struct gs_gpu_match *matches;
	unsigned int nr_matches;
	/* Per node index: neither cpulist nor cpumap could be read. */
	bool *node_cpus_unread;
	/* Set while reading a device that is no GPU: its oddities are not ours. */
	bool quiet;
	int error;	/* -ENOMEM once any allocation failed */
};

/* One file that may hold a CPU set, as a list or as a hex mask. */
struct cpus_file {
	const char *name;
	bool is_mask;
};

/* Newest name first: core_cpus_list replaced thread_siblings_list in 5.x. */
static const struct cpus_file sibling_files[] = {
	{ "topology/core_cpus_list", false },
	{ "topology/thread_siblings_list", false },
	{ "topology/thread_siblings", true },
	{ NULL, false },
};

static const struct cpus_file cache_files[] = {
	{ "shared_cpu_list", false },
	{ "shared_cpu_map", true },
	{ NULL, false },
};

static const struct cpus_file node_files[] = {
	{ "cpulist", false },
	{ "cpumap", true },
	{ NULL, false },
};

static const struct cpus_file pci_files[] = {
	{ "local_cpulist", false },
	{ "local_cpus", true },
	{ NULL, false },
};

/*
 * The default accelerator table.  AMD's 0x0300 (VGA) is left out on
 * purpose: Instinct accelerators present as 0x0380 or 0x1200, while AMD
 * VGA functions are desktop Radeons, APU graphics and QEMU's ati-vga;
 * a workstation that trains on a Radeon adds "1002:0300".
 */
static const struct gs_gpu_match default_gpus[] = {
	{ 0x10de, 0x0300 },	/* NVIDIA, VGA */
	{ 0x10de, 0x0302 },	/* NVIDIA, 3D controller (data-center GPUs) */
	{ 0x1002, 0x0380 },	/* AMD Instinct, display controller */
	{ 0x1002, 0x1200 },	/* AMD Instinct, processing accelerator */
	{ 0x8086, 0x0380 },	/* Intel data-center GPU */
	{ 0x1da3, 0x1200 },	/* Habana Gaudi */
};

/* Vendors whose display functions are BMC or onboard adapters, never GPUs. */
static const unsigned int bmc_display_vendors[] = {
	0x1a03,		/* ASPEED */
	0x102b,		/* Matrox */
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Returns whether @vendor_id is on the BMC display deny list. */
static bool is_bmc_display_vendor(unsigned int vendor_id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bmc_display_vendors); i++) {
		if (bmc_display_vendors[i] == vendor_id)
			return true;
	}
	return false;
}

/* Returns whether a 16-bit class is display, processing accelerator or co-processor. */
static bool is_accelerator_class(unsigned int pci_class)
{
	return (pci_class >> 8) == 0x03 || (pci_class >> 8) == 0x12 ||
	       pci_class == 0x0b40;
}

/* Returns whether @match covers this vendor and 16-bit class. */
static bool match_applies(const struct gs_gpu_match *match,
			  unsigned int vendor_id, unsigned int pci_class)
{
	if (match->vendor_id != vendor_id)
		return false;
	if (match->pci_class < 0)
		return is_accelerator_class(pci_class);
	return (unsigned int)match->pci_class == pci_class;
}

enum gs_pci_verdict gs_pci_classify(unsigned int vendor_id,
				    unsigned int class_code,
				    const struct gs_gpu_match *extra,
				    unsigned int nr_extra)
{
	unsigned int pci_class = class_code >> 8;
	unsigned int i;

	if (is_bmc_display_vendor(vendor_id))
		return is_accelerator_class(pci_class) ? GS_PCI_BMC_DISPLAY :
							 GS_PCI_OTHER;
	for (i = 0; i < ARRAY_SIZE(default_gpus); i++) {
		if (match_applies(&default_gpus[i], vendor_id, pci_class))
			return GS_PCI_GPU;
	}
	for (i = 0; i < nr_extra; i++) {
		if (match_applies(&extra[i], vendor_id, pci_class))
			return GS_PCI_GPU_EXTRA;
	}
	return is_accelerator_class(pci_class) ? GS_PCI_UNMATCHED : GS_PCI_OTHER;
}

/*
 * Reads @min..@max hex digits at *@pos into *@value and moves *@pos past
 * them.  Returns whether that many digits were there.
 */
static bool parse_hex_field(const char **pos, unsigned int min,
			    unsigned int max, unsigned int *value)
{
	const char *p = *pos;
	unsigned int digits = 0, number = 0;

	for (;; p++, digits++) {
		unsigned int digit;

		if (*p >= '0' && *p <= '9')
			digit = (unsigned int)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			digit = (unsigned int)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			digit = (unsigned int)(*p - 'A' + 10);
		else
			break;
		if (digits == max)
			return false;
		number = number << 4 | digit;
	}
	if (digits < min)
		return false;
	*pos = p;
	*value = number;
	return true;
}

/* Moves *@pos past an optional "0x" or "0X". */
static void skip_hex_prefix(const char **pos)
{
	if ((*pos)[0] == '0' && ((*pos)[1] == 'x' || (*pos)[1] == 'X'))
		*pos += 2;
}

int gs_gpu_match_parse(const char *text, struct gs_gpu_match *match)
{
	const char *p = text;
	unsigned int vendor_id, pci_class;

	skip_hex_prefix(&p);
	if (!parse_hex_field(&p, 1, 4, &vendor_id) || vendor_id == 0xffff ||
	    is_bmc_display_vendor(vendor_id))
		return -EINVAL;
	if (*p == '\0') {
		match->vendor_id = vendor_id;
		match->pci_class = -1;
		return 0;
	}
	if (*p++ != ':')
		return -EINVAL;
	skip_hex_prefix(&p);
	if (!parse_hex_field(&p, 1, 4, &pci_class) || *p != '\0')
		return -EINVAL;
	match->vendor_id = vendor_id;
	match->pci_class = (int)pci_class;
	return 0;
}

static void warn(struct discovery *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Records one warning in the topology and hands it to the caller's
 * callback; a failed allocation is noted in d->error.
 */
static void warn(struct discovery *d, const char *fmt, ...)
{
	struct gs_machine *topo = d->topo;
	char *message, **bigger;
	va_list ap;
	int len;

	if (d->quiet)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	message = malloc((size_t)len + 1);
	if (!message) {
		d->error = -ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(message, (size_t)len + 1, fmt, ap);
	va_end(ap);
	if (d->opts->warn)
		d->opts->warn(d->opts->warn_arg, message);
	bigger = realloc(topo->warnings,
			 (topo->nr_warnings + 1) * sizeof(*topo->warnings));
	if (!bigger) {
		free(message);
		d->error = -ENOMEM;
		return;
	}
	topo->warnings = bigger;
	topo->warnings[topo->nr_warnings++] = message;
}

static char *pathf(struct discovery *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns a malloc'ed path built like printf(), or NULL (and -ENOMEM noted). */
static char *pathf(struct discovery *d, const char *fmt, ...)
{
	char *path;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	path = len < 0 ? NULL : malloc((size_t)len + 1);
	if (!path) {
		d->error = -ENOMEM;
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(path, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return path;
}

/* Returns the root to put before a relative path in a warning. */
static const char *root_of(const struct discovery *d)
{
	return gs_sysfs_root(d->sysfs);
}

/*
 * Copies @text into @shown for a warning: trailing whitespace dropped,
 * newlines as "\n", other control bytes as '?', cut with "..." when long.
 */
static void show_text(const char *text, char *shown, size_t size)
{
	size_t len = strlen(text), out = 0, i;

	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (out + 2 + sizeof("...") > size) {
			memcpy(shown + out, "...", sizeof("..."));
			return;
		}
		if (c == '\n') {
			shown[out++] = '\\';
			shown[out++] = 'n';
		} else {
			shown[out++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
	}
	shown[out] = '\0';
}

/*
 * Warns that @path could not be used.  A malformed value (@err -EINVAL or
 * -ERANGE) is quoted and said not to be @what; any other error is named.
 * @consequence says what discovery does instead.
 */
static void warn_file(struct discovery *d, const char *path, int err,
		      const char *what, const char *consequence)
{
	char shown[SHOWN_VALUE_SIZE];
	char *text;

	if (err == -ENOMEM) {
		d->error = err;
		return;
	}
	if (d->quiet)
		return;
	if (err != -EINVAL && err != -ERANGE) {
		warn(d, "%s/%s: %s; %s", root_of(d), path, strerror(-err),
		     consequence);
		return;
	}
	/* Read again for the message only: the parsers keep no copy. */
	if (gs_sysfs_read_text(d->sysfs, path, &text) < 0) {
		warn(d, "%s/%s: not %s; %s", root_of(d), path, what, consequence);
		return;
	}
	show_text(text, shown, sizeof(shown));
	free(text);
	warn(d, "%s/%s: \"%s\" is not %s; %s", root_of(d), path, shown, what,
	     consequence);
}

/* Reads a decimal int; returns 0, -ENOENT unreported, or an error it warned about. */
static int read_int(struct discovery *d, const char *path, int *value,
		    const char *consequence)
{
	int err = gs_sysfs_read_int(d->sysfs, path, value);

	if (err && err != -ENOENT)
		warn_file(d, path, err, "an integer", consequence);
	return err;
}

/* Reads a hex number; returns 0, -ENOENT unreported, or an error it warned about. */
static int read_hex(struct discovery *d, const char *path, unsigned int *value,
		    const char *consequence)
{
	int err = gs_sysfs_read_hex(d->sysfs, path, value);

	if (err && err != -ENOENT)
		warn_file(d, path, err, "a hex number", consequence);
	return err;
}

/*
 * Reads a file with surrounding whitespace removed into a malloc'ed
 * string.  Returns 0, -ENOENT unreported, or an error it warned about.
 */
static int read_string(struct discovery *d, const char *path, char **value,
		       const char *consequence)
{
	char *text, *start, *end;
	int len;

	len = gs_sysfs_read_text(d->sysfs, path, &text);
	if (len < 0) {
		if (len != -ENOENT)
			warn_file(d, path, len, "text", consequence);
		return len;
	}
	start = text + strspn(text, " \t\n");
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\n'))
		end--;
	*end = '\0';
	memmove(text, start, (size_t)(end - start) + 1);
	*value = text;
	return 0;
}

/* Like read_string(), but a missing file is warned about too. */
static int read_required_string(struct discovery *d, const char *path,
				char **value, const char *consequence)
{
	int err = read_string(d, path, value, consequence);

	if (err == -ENOENT)
		warn(d, "%s/%s: missing; %s", root_of(d), path, consequence);
	return err;
}

/*
 * Reads the first of @files in directory @dir that exists into @cpus.
 * Returns 0, -ENOENT when none exists (unreported), or an error it warned
 * about; @cpus is unchanged unless 0 is returned.
 */
static int read_cpus(struct discovery *d, const char *dir,
		     const struct cpus_file *files, struct gs_bitmap *cpus,
		     const char *consequence)
{
	const struct cpus_file *file;
	char *path;
	int err;

	for (file = files; file->name; file++) {
		path = pathf(d, "%s/%s", dir, file->name);
		if (!path)
			return -ENOMEM;
		if (file->is_mask)
			err = gs_sysfs_read_cpumask(d->sysfs, path, cpus);
		else
			err = gs_sysfs_read_cpulist(d->sysfs, path, cpus);
		if (err != -ENOENT) {
			if (err)
				warn_file(d, path, err, file->is_mask ?
					  "a hex CPU mask" : "a CPU list",
					  consequence);
			free(path);
			return err;
		}
		free(path);
	}
	return -ENOENT;
}

/* bsearch() order of CPUs: returns <0, 0 or >0 as @key's id is below, at or above. */
static int compare_cpu_id(const void *key, const void *element)
{
	unsigned int id = *(const unsigned int *)key;
	const struct gs_machine_cpu *cpu = element;

	return id < cpu->id ? -1 : id > cpu->id;
}

/* Returns the CPU with id @id, or NULL. */
static struct gs_machine_cpu *find_cpu(const struct gs_machine *topo, unsigned int id)
{
	return bsearch(&id, topo->cpus, topo->nr_cpus, sizeof(*topo->cpus),
		       compare_cpu_id);
}

/* bsearch() order of nodes, like compare_cpu_id(). */
static int compare_node_id(const void *key, const void *element)
{
	unsigned int id = *(const unsigned int *)key;
	const struct gs_machine_node *node = element;

	return id < node->id ? -1 : id > node->id;
}

/* Returns the index of node @id in topo->nodes, or -1. */
static int find_node_index(const struct gs_machine *topo, unsigned int id)
{
	const struct gs_machine_node *node;

	node = bsearch(&id, topo->nodes, topo->nr_nodes, sizeof(*topo->nodes),
		       compare_node_id);
	return node ? (int)(node - topo->nodes) : -1;
}

/* qsort() order of ints: returns <0, 0 or >0. */
static int compare_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/*
 * Replaces every non-negative key in @keys by its rank among the distinct
 * non-negative keys, so that CPUs with equal keys get one dense number in
 * key order.  Returns the number of distinct keys, or -ENOMEM.
 */
static int rank_keys(int *keys, unsigned int nr_keys)
{
	unsigned int i, nr_sorted = 0, nr_distinct = 0;
	int *sorted, *found;

	sorted = malloc((nr_keys ? nr_keys : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (i = 0; i < nr_keys; i++) {
		if (keys[i] >= 0)
			sorted[nr_sorted++] = keys[i];
	}
	qsort(sorted, nr_sorted, sizeof(*sorted), compare_int);
	for (i = 0; i < nr_sorted; i++) {
		if (!nr_distinct || sorted[nr_distinct - 1] != sorted[i])
			sorted[nr_distinct++] = sorted[i];
	}
	for (i = 0; i < nr_keys; i++) {
		if (keys[i] < 0)
			continue;
		found = bsearch(&keys[i], sorted, nr_distinct, sizeof(*sorted),
				compare_int);
		keys[i] = (int)(found - sorted);
	}
	free(sorted);
	return (int)nr_distinct;
}

/* Formats @cpus as a malloc'ed cpulist for a warning, or NULL (-ENOMEM noted). */
static char *cpulist_text(struct discovery *d, const struct gs_bitmap *cpus)
{
	int len = gs_bitmap_format_list(cpus, NULL, 0);
	char *text = len < 0 ? NULL : malloc((size_t)len + 1);

	if (!text) {
		d->error = -ENOMEM;
		return NULL;
	}
	gs_bitmap_format_list(cpus, text, (size_t)len + 1);
	return text;
}

/*
 * Sets cpu->online for every CPU: from the machine-wide online list when
 * there is one, else from each cpuN/online.  cpu0 often has no online
 * file because the boot CPU cannot be unplugged; it is online.
 */
static void read_online(struct discovery *d)
{
	struct gs_machine *topo = d->topo;
	struct gs_bitmap online = GS_BITMAP_INIT;
	unsigned int i;
	int err, value = 1;

	err = gs_sysfs_read_cpulist(d->sysfs, CPU_DIR "/online", &online);
	if (err && err != -ENOENT)
		warn_file(d, CPU_DIR "/online", err, "a CPU list",
			  "each CPU's own online file is used instead");
	for (i = 0; i < topo->nr_cpus; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];
		char *path;

		if (!err) {
			cpu->online = gs_bitmap_test(&online, cpu->id);
		} else {
			path = pathf(d, CPU_DIR "/cpu%u/online", cpu->id);
			if (!path)
				break;
			cpu->online = read_int(d, path, &value,
					       "the CPU is taken as online") ||
				      value != 0;
			free(path);
		}
		if (cpu->online && gs_bitmap_set(&topo->online_cpus, cpu->id))
			d->error = -ENOMEM;
	}
	gs_bitmap_free(&online);
}

/*
 * Reads core_id, physical_package_id and the SMT siblings of an online
 * CPU, whose directory is @dir.  Returns the lowest CPU of its core (the
 * key that numbers cores), and adds the CPU to @no_siblings when no
 * sibling file exists.
 */
static int read_cpu_topology(struct discovery *d, struct gs_machine_cpu *cpu,
			     const char *dir, struct gs_bitmap *no_siblings)
{
	char *path;
	int err;

	path = pathf(d, "%s/topology/core_id", dir);
	if (path && read_int(d, path, &cpu->core_id, "core_id unknown"))
		cpu->core_id = -1;
	free(path);
	path = pathf(d, "%s/topology/physical_package_id", dir);
	if (path && read_int(d, path, &cpu->package, "package unknown"))
		cpu->package = -1;
	free(path);

	err = read_cpus(d, dir, sibling_files, &cpu->siblings,
			"the CPU is counted as a core of its own");
	if (err == -ENOENT && gs_bitmap_set(no_siblings, cpu->id))
		d->error = -ENOMEM;
	/* A CPU is always its own sibling, even where the kernel said nothing. */
	if (gs_bitmap_set(&cpu->siblings, cpu->id))
		d->error = -ENOMEM;
	return gs_bitmap_next(&cpu->siblings, -1);
}

/*
 * Finds the CPU's last-level cache: the cache/indexN with the highest
 * level whose type is Unified (L1 data and instruction caches are split,
 * so they never qualify).  Returns the lowest CPU sharing it (the key that
 * numbers LLC groups), -ENOENT when the CPU has no such cache, or another
 * error it warned about.
 */
static int read_cpu_llc(struct discovery *d, struct gs_machine_cpu *cpu,
			const char *dir)
{
	struct gs_bitmap shared = GS_BITMAP_INIT;
	unsigned int *indexes = NULL;
	int nr_indexes, i, best_level = -1, best_index = -1, level, err;
	char *cache_dir, *path, *type;

	cache_dir = pathf(d, "%s/cache", dir);
	if (!cache_dir)
		return -ENOMEM;
	nr_indexes = gs_sysfs_list_ids(d->sysfs, cache_dir, "index", &indexes);
	if (nr_indexes == -ENOMEM)
		d->error = -ENOMEM;
	for (i = 0; i < nr_indexes; i++) {
		path = pathf(d, "%s/index%u/type", cache_dir, indexes[i]);
		if (!path)
			break;
		err = read_string(d, path, &type, "this cache is skipped");
		free(path);
		if (err)
			continue;
		if (strcmp(type, "Unified")) {
			free(type);
			continue;
		}
		free(type);
		path = pathf(d, "%s/index%u/level", cache_dir, indexes[i]);
		if (!path)
			break;
		if (!read_int(d, path, &level, "this cache is skipped") &&
		    level > best_level) {
			best_level = level;
			best_index = (int)indexes[i];
		}
		free(path);
	}
	free(indexes);
	if (best_index < 0) {
		free(cache_dir);
		return -ENOENT;
	}
	path = pathf(d, "%s/index%d", cache_dir, best_index);
	free(cache_dir);
	if (!path)
		return -ENOMEM;
	err = read_cpus(d, path, cache_files, &shared,
			"the CPU's last-level cache group is unknown");
	free(path);
	if (!err) {
		int first = gs_bitmap_next(&shared, -1);

		err = first >= 0 && first < (int)cpu->id ? first : (int)cpu->id;
	}
	gs_bitmap_free(&shared);
	return err;
}

/*
 * Warns once for all CPUs in @cpus, naming the file pattern rather than
 * one file per CPU: on a 512-CPU machine without cache information one
 * line says more than 512.
 */
static void warn_cpus(struct discovery *d, const struct gs_bitmap *cpus,
		      const char *file, const char *problem,
		      const char *consequence)
{
	char *list;

	if (gs_bitmap_empty(cpus))
		return;
	list = cpulist_text(d, cpus);
	if (!list)
		return;
	warn(d, "%s/" CPU_DIR "/cpuN/%s: %s for CPUs %s; %s", root_of(d), file,
	     problem, list, consequence);
	free(list);
}

/*
 * Numbers cores, LLC groups and packages from the per-CPU keys (the lowest
 * CPU of each group); returns 0 or -ENOMEM.
 */
static int number_cpu_groups(struct discovery *d, int *core_keys,
			     int *llc_keys)
{
	struct gs_machine *topo = d->topo;
	unsigned int i;
	int nr;

	nr = rank_keys(core_keys, topo->nr_cpus);
	if (nr < 0)
		return nr;
	topo->nr_cores = (unsigned int)nr;
	nr = rank_keys(llc_keys, topo->nr_cpus);
	if (nr < 0)
		return nr;
	topo->nr_llcs = (unsigned int)nr;
	for (i = 0; i < topo->nr_cpus; i++) {
		topo->cpus[i].core = core_keys[i];
		topo->cpus[i].llc = llc_keys[i];
		core_keys[i] = topo->cpus[i].online ? topo->cpus[i].package : -1;
	}
	nr = rank_keys(core_keys, topo->nr_cpus);
	if (nr < 0)
		return nr;
	topo->nr_packages = (unsigned int)nr;
	return 0;
}

/*
 * Reads every cpuN directory.  Offline CPUs keep core, package and llc at
 * -1: the kernel removes their topology and cache directories, and the
 * daemon rediscovers when they come back.  Returns 0, -ENOENT when there
 * is no CPU directory at all (the root is not a sysfs root), or -ENOMEM.
 */
static int discover_cpus(struct discovery *d)
{
	struct gs_bitmap no_siblings = GS_BITMAP_INIT, no_llc = GS_BITMAP_INIT;
	struct gs_machine *topo = d->topo;
	int *core_keys = NULL, *llc_keys = NULL;
	unsigned int *ids = NULL, i;
	int nr_ids, err = 0;

	nr_ids = gs_sysfs_list_ids(d->sysfs, CPU_DIR, "cpu", &ids);
	if (nr_ids == -ENOMEM)
		return nr_ids;
	if (nr_ids <= 0) {
		warn(d, "%s/" CPU_DIR ": %s; the root is not a sysfs root",
		     root_of(d), nr_ids ? strerror(-nr_ids) : "no cpuN directory");
		free(ids);
		return nr_ids ? nr_ids : -ENOENT;
	}
	topo->cpus = calloc((size_t)nr_ids, sizeof(*topo->cpus));
	core_keys = malloc((size_t)nr_ids * sizeof(*core_keys));
	llc_keys = malloc((size_t)nr_ids * sizeof(*llc_keys));
	if (!topo->cpus || !core_keys || !llc_keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < (unsigned int)nr_ids; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[topo->nr_cpus];

		if (ids[i] >= GS_BITMAP_MAX_BITS) {
			warn(d, "%s/" CPU_DIR "/cpu%u: CPU id beyond %u; ignored",
			     root_of(d), ids[i], GS_BITMAP_MAX_BITS - 1);
			continue;
		}
		cpu->id = ids[i];
		cpu->core = cpu->core_id = cpu->package = -1;
		cpu->node = cpu->llc = -1;
		gs_bitmap_init(&cpu->siblings);
		topo->nr_cpus++;
	}
	read_online(d);
	for (i = 0; i < topo->nr_cpus && !d->error; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];
		char *dir;

		core_keys[i] = llc_keys[i] = -1;
		if (!cpu->online)
			continue;
		dir = pathf(d, CPU_DIR "/cpu%u", cpu->id);
		if (!dir)
			break;
		core_keys[i] = read_cpu_topology(d, cpu, dir, &no_siblings);
		llc_keys[i] = read_cpu_llc(d, cpu, dir);
		if (llc_keys[i] == -ENOENT && gs_bitmap_set(&no_llc, cpu->id))
			d->error = -ENOMEM;
		if (llc_keys[i] < 0)
			llc_keys[i] = -1;
		free(dir);
	}
	if (d->error) {
		err = d->error;
		goto out;
	}
	warn_cpus(d, &no_siblings, "topology/core_cpus_list",
		  "missing, like thread_siblings_list and thread_siblings,",
		  "each CPU counts as a core of its own");
	warn_cpus(d, &no_llc, "cache", "no unified cache",
		  "their last-level cache group is unknown");
	err = number_cpu_groups(d, core_keys, llc_keys);
out:
	gs_bitmap_free(&no_siblings);
	gs_bitmap_free(&no_llc);
	free(core_keys);
	free(llc_keys);
	free(ids);
	return err;
}

/*
 * Reads a machine-wide CPU list such as isolated or nohz_full into @set
 * and returns nothing: absent means no CPU is in it.  A kernel built with
 * NO_HZ_FULL but booted without nohz_full= prints "(null)" there.
 */
static void read_cpu_set_file(struct discovery *d, const char *path,
			      struct gs_bitmap *set, const char *consequence)
{
	char shown[SHOWN_VALUE_SIZE];
	char *text;
	int err;

	if (read_string(d, path, &text, consequence))
		return;
	if (strcmp(text, "(null)")) {
		err = gs_bitmap_parse_list(set, text);
		if (err == -ENOMEM) {
			d->error = err;
		} else if (err) {
			show_text(text, shown, sizeof(shown));
			warn(d, "%s/%s: \"%s\" is not a CPU list; %s",
			     root_of(d), path, shown, consequence);
		}
	}
	free(text);
}

/* Reads isolated and nohz_full and flags each CPU. */
static void discover_isolation(struct discovery *d)
{
	struct gs_machine *topo = d->topo;
	unsigned int i;

	read_cpu_set_file(d, CPU_DIR "/isolated", &topo->isolated_cpus,
			  "no CPU is taken as isolated");
	read_cpu_set_file(d, CPU_DIR "/nohz_full", &topo->nohz_full_cpus,
			  "no CPU is taken as nohz_full");
	for (i = 0; i < topo->nr_cpus; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];

		cpu->isolated = gs_bitmap_test(&topo->isolated_cpus, cpu->id);
		cpu->nohz_full = gs_bitmap_test(&topo->nohz_full_cpus, cpu->id);
	}
}

/*
 * Returns whether the node in directory @dir has memory, from the
 * "Node N MemTotal: X kB" line of its meminfo (kernels before 3.8 have no
 * has_memory list).  Without a usable meminfo it warns and says yes: the
 * kernel only makes directories for online nodes, and an online node
 * without CPUs exists for its memory.
 */
static bool node_meminfo_has_memory(struct discovery *d, const char *dir)
{
	const char *consequence = "the node is taken to have memory";
	unsigned long long kib;
	char *path, *text, *line, *number, *end;
	bool has_memory = true;

	path = pathf(d, "%s/meminfo", dir);
	if (!path)
		return true;
	if (read_required_string(d, path, &text, consequence)) {
		free(path);
		return true;
	}
	line = strstr(text, "MemTotal:");
	number = line ? line + strlen("MemTotal:") : NULL;
	if (!line) {
		warn(d, "%s/%s: no MemTotal line; %s", root_of(d), path,
		     consequence);
	} else {
		errno = 0;
		kib = strtoull(number, &end, 10);
		if (errno || end == number)
			warn(d, "%s/%s: MemTotal is not a number; %s",
			     root_of(d), path, consequence);
		else
			has_memory = kib > 0;
	}
	free(text);
	free(path);
	return has_memory;
}

/*
 * Reads the distance row of @node (directory @dir): one distance per
 * online node, in ascending node id order, which is the order of
 * topo->nodes.  A row of any other length is not trusted.
 */
static void read_node_distances(struct discovery *d, struct gs_machine_node *node,
				const char *dir)
{
	const char *consequence = "distances from this node are unknown";
	unsigned int nr_nodes = d->topo->nr_nodes, count = 0;
	char shown[SHOWN_VALUE_SIZE];
	char *path, *text, *p, *end;
	long value;

	path = pathf(d, "%s/distance", dir);
	if (!path)
		return;
	if (read_required_string(d, path, &text, consequence)) {
		free(path);
		return;
	}
	node->distances = calloc(nr_nodes, sizeof(*node->distances));
	if (!node->distances) {
		d->error = -ENOMEM;
		goto out;
	}
	for (p = text; *p; p = end + strspn(end, " \t")) {
		errno = 0;
		value = strtol(p, &end, 10);
		if (end == p || errno || value < 0 || value > INT_MAX ||
		    (*end && *end != ' ' && *end != '\t')) {
			show_text(text, shown, sizeof(shown));
			warn(d, "%s/%s: \"%s\" is not a list of distances; %s",
			     root_of(d), path, shown, consequence);
			goto bad;
		}
		if (count < nr_nodes)
			node->distances[count] = (int)value;
		count++;
	}
	if (count != nr_nodes) {
		show_text(text, shown, sizeof(shown));
		warn(d, "%s/%s: \"%s\" has %u distances for %u nodes; %s",
		     root_of(d), path, shown, count, nr_nodes, consequence);
		goto bad;
	}
	node->nr_distances = nr_nodes;
	goto out;
bad:
	free(node->distances);
	node->distances = NULL;
out:
	free(text);
	free(path);
}

/*
 * Without node directories (a kernel built without CONFIG_NUMA) the
 * machine is one node 0 that holds every CPU and all memory.
 */
static int single_node_fallback(struct discovery *d, int err)
{
	struct gs_machine *topo = d->topo;
	struct gs_machine_node *node;
	unsigned int i;

	warn(d, "%s/" NODE_DIR ": %s; the machine is taken as one node 0 with every CPU and all memory",
	     root_of(d), err == -ENOENT ? "missing (a kernel without NUMA)" :
	     err ? strerror(-err) : "no nodeN directory");
	node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	topo->nodes = node;
	topo->nr_nodes = 1;
	node->has_memory = true;
	node->distances = malloc(sizeof(*node->distances));
	if (!node->distances)
		return -ENOMEM;
	node->distances[0] = 10;	/* the ACPI SLIT distance of a node to itself */
	node->nr_distances = 1;
	for (i = 0; i < topo->nr_cpus; i++) {
		topo->cpus[i].node = 0;
		if (gs_bitmap_set(&node->cpus, topo->cpus[i].id))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Gives each CPU its node: from the nodes' CPU lists, else from the
 * cpuN/nodeM link, which also names the node of an offline CPU (newer
 * kernels drop offline CPUs from node cpulists).  A CPU found through its
 * link joins its node's set, so that a node lists its offline CPUs the
 * same way on every kernel, and a node whose own list was unreadable gets
 * its CPUs.
 */
static void assign_cpu_nodes(struct discovery *d)
{
	struct gs_machine *topo = d->topo;
	struct gs_bitmap unplaced = GS_BITMAP_INIT;
	unsigned int i, j, *links;
	int cpu_id, nr_links, index;

	for (i = 0; i < topo->nr_nodes; i++) {
		struct gs_machine_node *node = &topo->nodes[i];

		gs_bitmap_for_each(cpu_id, &node->cpus) {
			struct gs_machine_cpu *cpu = find_cpu(topo, (unsigned int)cpu_id);

			if (!cpu)
				continue;
			if (cpu->node < 0)
				cpu->node = (int)node->id;
			else
				warn(d, "%s/" NODE_DIR "/node%u/cpulist: CPU %d is also in node %d; it stays in node %d",
				     root_of(d), node->id, cpu_id, cpu->node,
				     cpu->node);
		}
	}
	for (i = 0; i < topo->nr_cpus && !d->error; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];
		char *dir;

		if (cpu->node >= 0)
			continue;
		dir = pathf(d, CPU_DIR "/cpu%u", cpu->id);
		if (!dir)
			break;
		links = NULL;
		nr_links = gs_sysfs_list_ids(d->sysfs, dir, "node", &links);
		if (nr_links == -ENOMEM)
			d->error = -ENOMEM;
		for (j = 0; nr_links > 0 && j < (unsigned int)nr_links; j++) {
			index = find_node_index(topo, links[j]);
			if (index < 0)
				continue;
			cpu->node = (int)links[j];
			if (gs_bitmap_set(&topo->nodes[index].cpus, cpu->id))
				d->error = -ENOMEM;
			break;
		}
		free(links);
		free(dir);
		if (cpu->node < 0 && cpu->online &&
		    gs_bitmap_set(&unplaced, cpu->id))
			d->error = -ENOMEM;
	}
	warn_cpus(d, &unplaced, "nodeM",
		  "no node's cpulist and no cpuN/nodeM link",
		  "their node is unknown");
	gs_bitmap_free(&unplaced);
}

/*
 * Moves every CPU of a node's set that is offline or has no cpuN
 * directory to its unusable set.  Old kernels and powerpc keep offline
 * CPUs in node cpulists (a POWER9 with SMT off lists 0-87 for a node
 * whose online CPUs are 0-15), and a cpulist may name hotplug slots that
 * hold no CPU; nothing that places or shows a node's CPUs may use them.
 */
static void split_unusable_cpus(struct discovery *d)
{
	struct gs_machine *topo = d->topo;
	unsigned int i;
	int cpu;

	for (i = 0; i < topo->nr_nodes; i++) {
		struct gs_machine_node *node = &topo->nodes[i];

		gs_bitmap_for_each(cpu, &node->cpus) {
			if (gs_bitmap_test(&topo->online_cpus, (unsigned int)cpu))
				continue;
			if (gs_bitmap_set(&node->unusable_cpus, (unsigned int)cpu))
				d->error = -ENOMEM;
		}
		gs_bitmap_and(&node->cpus, &topo->online_cpus);
	}
}

/* Reads every nodeN directory and gives CPUs their node; returns 0 or -ENOMEM. */
static int read_nodes(struct discovery *d)
{
	struct gs_bitmap with_memory = GS_BITMAP_INIT;
	struct gs_machine *topo = d->topo;
	unsigned int *ids = NULL, i;
	int nr_ids, memory_err;

	nr_ids = gs_sysfs_list_ids(d->sysfs, NODE_DIR, "node", &ids);
	if (nr_ids == -ENOMEM)
		return nr_ids;
	if (nr_ids <= 0) {
		free(ids);
		return single_node_fallback(d, nr_ids);
	}
	topo->nodes = calloc((size_t)nr_ids, sizeof(*topo->nodes));
	d->node_cpus_unread = calloc((size_t)nr_ids, sizeof(*d->node_cpus_unread));
	if (!topo->nodes || !d->node_cpus_unread) {
		free(ids);
		return -ENOMEM;
	}
	topo->nr_nodes = (unsigned int)nr_ids;
	for (i = 0; i < topo->nr_nodes; i++)
		topo->nodes[i].id = ids[i];
	free(ids);

	memory_err = gs_sysfs_read_cpulist(d->sysfs, NODE_DIR "/has_memory",
					   &with_memory);
	if (memory_err && memory_err != -ENOENT)
		warn_file(d, NODE_DIR "/has_memory", memory_err, "a node list",
			  "each node's meminfo is used instead");

	for (i = 0; i < topo->nr_nodes && !d->error; i++) {
		struct gs_machine_node *node = &topo->nodes[i];
		char *dir;
		int err;

		dir = pathf(d, NODE_DIR "/node%u", node->id);
		if (!dir)
			break;
		err = read_cpus(d, dir, node_files, &node->cpus,
				"its CPUs are taken from the cpuN/nodeM links");
		if (err == -ENOENT)
			warn(d, "%s/%s/cpulist: missing, and no cpumap either; its CPUs are taken from the cpuN/node%u links",
			     root_of(d), dir, node->id);
		d->node_cpus_unread[i] = err != 0;
		if (!memory_err)
			node->has_memory = gs_bitmap_test(&with_memory, node->id);
		else
			node->has_memory = node_meminfo_has_memory(d, dir);
		read_node_distances(d, node, dir);
		free(dir);
	}
	gs_bitmap_free(&with_memory);
	if (!d->error)
		assign_cpu_nodes(d);
	return d->error;
}

/*
 * Reads every nodeN directory, gives CPUs their node and splits each
 * node's CPUs into usable and unusable; returns 0 or -ENOMEM.
 */
static int discover_nodes(struct discovery *d)
{
	int err = read_nodes(d);

	if (!err)
		split_unusable_cpus(d);
	return err ? err : d->error;
}

/*
 * Parses a sysfs PCI device name, "DDDD:BB:SS.F" with a domain of four or
 * more hex digits.  Returns whether @name is one.
 */
static bool parse_pci_address(const char *name, struct gs_pci_device *dev)
{
	const char *p = name;

	if (!parse_hex_field(&p, 4, 8, &dev->domain) || *p++ != ':' ||
	    !parse_hex_field(&p, 2, 2, &dev->bus) || *p++ != ':' ||
	    !parse_hex_field(&p, 2, 2, &dev->slot) || dev->slot > 0x1f ||
	    *p++ != '.' || !parse_hex_field(&p, 1, 1, &dev->function) ||
	    dev->function > 7 || *p)
		return false;
	snprintf(dev->address, sizeof(dev->address), "%s", name);
	return true;
}

/*
 * Returns the index of the one node whose online CPUs are exactly the
 * online CPUs in @local, or -1.  Comparing online CPUs only makes old
 * kernels (whose node masks keep offline CPUs) and new ones agree.
 */
static int node_with_cpus(struct discovery *d, const struct gs_bitmap *local)
{
	struct gs_machine *topo = d->topo;
	struct gs_bitmap want = GS_BITMAP_INIT, have = GS_BITMAP_INIT;
	int found = -1;
	unsigned int i;

	if (gs_bitmap_copy(&want, local)) {
		d->error = -ENOMEM;
		return -1;
	}
	gs_bitmap_and(&want, &topo->online_cpus);
	for (i = 0; i < topo->nr_nodes && !gs_bitmap_empty(&want); i++) {
		if (gs_bitmap_copy(&have, &topo->nodes[i].cpus)) {
			d->error = -ENOMEM;
			break;
		}
		gs_bitmap_and(&have, &topo->online_cpus);
		if (!gs_bitmap_equal(&want, &have))
			continue;
		if (found >= 0) {	/* two nodes claim the same CPUs */
			found = -1;
			break;
		}
		found = (int)i;
	}
	gs_bitmap_free(&want);
	gs_bitmap_free(&have);
	return found;
}

/* Returns how many nodes have at least one online CPU. */
static unsigned int nr_cpu_nodes(const struct gs_machine *topo)
{
	unsigned int i, count = 0;

	for (i = 0; i < topo->nr_nodes; i++) {
		if (gs_bitmap_intersects(&topo->nodes[i].cpus, &topo->online_cpus))
			count++;
	}
	return count;
}

/*
 * Decides the node of a PCI device in directory @dir: its numa_node when
 * that names a node; else the node whose CPUs are exactly local_cpulist;
 * else unknown, with a warning.
 */
static void resolve_pci_node(struct discovery *d, struct gs_pci_device *dev,
			     const char *dir, int local_err)
{
	struct gs_machine *topo = d->topo;
	char *list;
	int index;

	dev->node = -1;
	dev->node_source = GS_PCI_NODE_UNKNOWN;
	dev->local_cpus_whole_machine =
		nr_cpu_nodes(topo) > 1 && !gs_bitmap_empty(&dev->local_cpus) &&
		gs_bitmap_subset(&topo->online_cpus, &dev->local_cpus);

	if (dev->numa_node >= 0) {
		if (find_node_index(topo, (unsigned int)dev->numa_node) >= 0) {
			dev->node = dev->numa_node;
			dev->node_source = GS_PCI_NODE_FROM_NUMA_NODE;
			return;
		}
		warn(d, "%s/%s/numa_node: node %d does not exist; the node is taken from local_cpulist",
		     root_of(d), dir, dev->numa_node);
	}
	if (gs_bitmap_empty(&dev->local_cpus)) {
		warn(d, "%s/%s: numa_node is %d and local_cpulist is %s; the node is unknown",
		     root_of(d), dir, dev->numa_node,
		     local_err == -ENOENT ? "missing" :
		     local_err ? "unusable" : "empty");
		return;
	}
	index = node_with_cpus(d, &dev->local_cpus);
	if (index >= 0) {
		dev->node = (int)topo->nodes[index].id;
		dev->node_source = GS_PCI_NODE_FROM_LOCAL_CPUS;
		return;
	}
	list = cpulist_text(d, &dev->local_cpus);
	if (!list)
		return;
	if (dev->local_cpus_whole_machine)
		warn(d, "%s/%s/local_cpulist: %s covers the whole machine, which is no locality hint, and numa_node is %d; the node is unknown",
		     root_of(d), dir, list, dev->numa_node);
	else
		warn(d, "%s/%s/local_cpulist: %s is not the CPU list of one node, and numa_node is %d; the node is unknown",
		     root_of(d), dir, list, dev->numa_node);
	free(list);
}

/*
 * Reads the ids, numa_node and local CPUs of a GPU or ignored device.
 * Missing numa_node (a kernel without NUMA) means -1; a missing device id
 * is reported and left 0.
 */
static void read_pci_device(struct discovery *d, struct gs_pci_device *dev,
			    const char *dir)
{
	char *path;
	int err;

	path = pathf(d, "%s/device", dir);
	if (!path)
		return;
	err = read_hex(d, path, &dev->device_id, "the device id is taken as 0");
	if (err == -ENOENT)
		warn(d, "%s/%s: missing; the device id is taken as 0",
		     root_of(d), path);
	free(path);

	path = pathf(d, "%s/numa_node", dir);
	if (!path)
		return;
	if (read_int(d, path, &dev->numa_node, "numa_node is taken as -1"))
		dev->numa_node = -1;
	if (dev->numa_node < -1) {
		warn(d, "%s/%s: %d is not a node id; numa_node is taken as -1",
		     root_of(d), path, dev->numa_node);
		dev->numa_node = -1;
	}
	free(path);

	err = read_cpus(d, dir, pci_files, &dev->local_cpus,
			"the device's local CPUs are unknown");
	resolve_pci_node(d, dev, dir, err);
	/* Like node cpulists, local_cpulist may name offline or absent CPUs. */
	gs_bitmap_and(&dev->local_cpus, &d->topo->online_cpus);
}

/* Appends @dev to @list, taking over its bitmap; returns 0 or -ENOMEM. */
static int append_device(struct gs_pci_device **list, unsigned int *count,
			 const struct gs_pci_device *dev)
{
	struct gs_pci_device *bigger;

	bigger = realloc(*list, (*count + 1) * sizeof(**list));
	if (!bigger)
		return -ENOMEM;
	*list = bigger;
	bigger[(*count)++] = *dev;
	return 0;
}

/*
 * qsort() order of PCI devices, returns <0, 0 or >0: numeric PCI bus order,
 * which is also CUDA's order under CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
static int compare_pci_address(const void *a, const void *b)
{
	const struct gs_pci_device *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->function != y->function)
		return x->function < y->function ? -1 : 1;
	return 0;
}

/*
 * Classifies one entry of the PCI device directory and, for a GPU or an
 * ignored display/accelerator, reads and records it.
 */
static void discover_pci_device(struct discovery *d, const char *name)
{
	struct gs_machine *topo = d->topo;
	struct gs_pci_device dev;
	char *dir, *path;
	int err;

	memset(&dev, 0, sizeof(dev));
	if (!parse_pci_address(name, &dev)) {
		warn(d, "%s/" PCI_DIR "/%s: not a PCI address; skipped",
		     root_of(d), name);
		return;
	}
	dir = pathf(d, PCI_DIR "/%s", name);
	if (!dir)
		return;

	/* Every PCI function has both files: without them it cannot be classified. */
	path = pathf(d, "%s/vendor", dir);
	err = path ? read_hex(d, path, &dev.vendor_id, "the device is skipped") :
		     -ENOMEM;
	if (err == -ENOENT)
		warn(d, "%s/%s: missing; the device is skipped", root_of(d), path);
	free(path);
	if (err)
		goto out;
	path = pathf(d, "%s/class", dir);
	err = path ? read_hex(d, path, &dev.class_code, "the device is skipped") :
		     -ENOMEM;
	if (err == -ENOENT)
		warn(d, "%s/%s: missing; the device is skipped", root_of(d), path);
	free(path);
	if (err)
		goto out;

	dev.verdict = gs_pci_classify(dev.vendor_id, dev.class_code,
				      d->matches, d->nr_matches);
	if (dev.verdict == GS_PCI_OTHER)
		goto out;
	gs_bitmap_init(&dev.local_cpus);
	d->quiet = dev.verdict != GS_PCI_GPU && dev.verdict != GS_PCI_GPU_EXTRA;
	read_pci_device(d, &dev, dir);
	d->quiet = false;
	if (dev.verdict == GS_PCI_GPU || dev.verdict == GS_PCI_GPU_EXTRA)
		err = append_device(&topo->gpus, &topo->nr_gpus, &dev);
	else
		err = append_device(&topo->ignored, &topo->nr_ignored, &dev);
	if (err) {
		gs_bitmap_free(&dev.local_cpus);
		d->error = err;
	}
out:
	free(dir);
}

/*
 * Reads every PCI function and sorts what it keeps; returns 0 or -ENOMEM.
 * A machine without a PCI directory has no GPU.
 */
static int discover_pci(struct discovery *d)
{
	struct gs_machine *topo = d->topo;
	char **names = NULL;
	int nr_names, i;

	nr_names = gs_sysfs_list_names(d->sysfs, PCI_DIR, &names);
	if (nr_names == -ENOMEM)
		return nr_names;
	if (nr_names < 0) {
		if (nr_names != -ENOENT)
			warn(d, "%s/" PCI_DIR ": %s; no GPU is found",
			     root_of(d), strerror(-nr_names));
		return 0;
	}
	for (i = 0; i < nr_names && !d->error; i++)
		discover_pci_device(d, names[i]);
	gs_sysfs_free_names(names, nr_names);
	if (topo->nr_gpus)
		qsort(topo->gpus, topo->nr_gpus, sizeof(*topo->gpus),
		      compare_pci_address);
	if (topo->nr_ignored)
		qsort(topo->ignored, topo->nr_ignored, sizeof(*topo->ignored),
		      compare_pci_address);
	return d->error;
}

/* Parses the caller's extra matches; returns 0, -EINVAL (warned) or -ENOMEM. */
static int parse_gpu_matches(struct discovery *d)
{
	unsigned int i, count = d->opts->nr_gpu_matches;

	if (!count)
		return 0;
	d->matches = calloc(count, sizeof(*d->matches));
	if (!d->matches)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		const char *text = d->opts->gpu_matches[i];

		if (!text || gs_gpu_match_parse(text, &d->matches[i])) {
			warn(d, "GPU match \"%s\": not VENDOR[:CLASS] in hex, or an ASPEED/Matrox vendor, whose displays are never GPUs",
			     text ? text : "(null)");
			return -EINVAL;
		}
	}
	d->nr_matches = count;
	return 0;
}

int gs_discover(const struct gs_discover_opts *opts, struct gs_machine **topo)
{
	static const struct gs_discover_opts defaults;
	struct discovery d = { .opts = opts ? opts : &defaults };
	int err;

	d.topo = calloc(1, sizeof(*d.topo));
	if (!d.topo)
		return -ENOMEM;
	err = parse_gpu_matches(&d);
	if (err)
		goto fail;
	err = gs_sysfs_open(&d.sysfs, d.opts->root);
	if (err) {
		if (d.opts->warn) {
			char message[512];

			/* No topology to keep it in: only the callback hears of it. */
			snprintf(message, sizeof(message), "%s: %s",
				 d.opts->root ? d.opts->root : "/", strerror(-err));
			d.opts->warn(d.opts->warn_arg, message);
		}
		goto fail;
	}
	err = discover_cpus(&d);
	if (err)
		goto fail;
	discover_isolation(&d);
	err = d.error ? d.error : discover_nodes(&d);
	if (err)
		goto fail;
	err = discover_pci(&d);
	if (!err)
		err = d.error;
	if (err)
		goto fail;
	gs_sysfs_close(d.sysfs);
	free(d.matches);
	free(d.node_cpus_unread);
	*topo = d.topo;
	return 0;
fail:
	gs_sysfs_close(d.sysfs);
	free(d.matches);
	free(d.node_cpus_unread);
	gs_machine_free(d.topo);
	return err;
}

void gs_machine_free(struct gs_machine *topo)
{
	unsigned int i;

	if (!topo)
		return;
	for (i = 0; i < topo->nr_cpus; i++)
		gs_bitmap_free(&topo->cpus[i].siblings);
	free(topo->cpus);
	for (i = 0; i < topo->nr_nodes; i++) {
		gs_bitmap_free(&topo->nodes[i].cpus);
		gs_bitmap_free(&topo->nodes[i].unusable_cpus);
		free(topo->nodes[i].distances);
	}
	free(topo->nodes);
	for (i = 0; i < topo->nr_gpus; i++)
		gs_bitmap_free(&topo->gpus[i].local_cpus);
	free(topo->gpus);
	for (i = 0; i < topo->nr_ignored; i++)
		gs_bitmap_free(&topo->ignored[i].local_cpus);
	free(topo->ignored);
	gs_bitmap_free(&topo->online_cpus);
	gs_bitmap_free(&topo->isolated_cpus);
	gs_bitmap_free(&topo->nohz_full_cpus);
	for (i = 0; i < topo->nr_warnings; i++)
		free(topo->warnings[i]);
	free(topo->warnings);
	free(topo);
}

unsigned int gs_topo_nr_cpus(const struct gs_machine *topo)
{
	return topo->nr_cpus;
}

const struct gs_machine_cpu *gs_topo_cpu(const struct gs_machine *topo,
				 unsigned int index)
{
	return index < topo->nr_cpus ? &topo->cpus[index] : NULL;
}

const struct gs_machine_cpu *gs_topo_cpu_by_id(const struct gs_machine *topo,
				       unsigned int id)
{
	return find_cpu(topo, id);
}

const struct gs_bitmap *gs_topo_online_cpus(const struct gs_machine *topo)
{
	return &topo->online_cpus;
}

const struct gs_bitmap *gs_topo_isolated_cpus(const struct gs_machine *topo)
{
	return &topo->isolated_cpus;
}

const struct gs_bitmap *gs_topo_nohz_full_cpus(const struct gs_machine *topo)
{
	return &topo->nohz_full_cpus;
}

unsigned int gs_topo_nr_cores(const struct gs_machine *topo)
{
	return topo->nr_cores;
}

unsigned int gs_topo_nr_llcs(const struct gs_machine *topo)
{
	return topo->nr_llcs;
}

unsigned int gs_topo_nr_packages(const struct gs_machine *topo)
{
	return topo->nr_packages;
}

unsigned int gs_topo_nr_nodes(const struct gs_machine *topo)
{
	return topo->nr_nodes;
}

const struct gs_machine_node *gs_topo_node(const struct gs_machine *topo,
				   unsigned int index)
{
	return index < topo->nr_nodes ? &topo->nodes[index] : NULL;
}

const struct gs_machine_node *gs_topo_node_by_id(const struct gs_machine *topo,
					 unsigned int id)
{
	int index = find_node_index(topo, id);

	return index < 0 ? NULL : &topo->nodes[index];
}

int gs_topo_node_distance(const struct gs_machine *topo, unsigned int from,
			  unsigned int to)
{
	int from_index = find_node_index(topo, from);
	int to_index = find_node_index(topo, to);
	const struct gs_machine_node *node;

	if (from_index < 0 || to_index < 0)
		return -1;
	node = &topo->nodes[from_index];
	if ((unsigned int)to_index >= node->nr_distances)
		return -1;
	return node->distances[to_index];
}

bool gs_node_is_memory_only(const struct gs_machine_node *node)
{
	return node->has_memory && gs_bitmap_empty(&node->cpus) &&
	       gs_bitmap_empty(&node->unusable_cpus);
}

unsigned int gs_topo_nr_gpus(const struct gs_machine *topo)
{
	return topo->nr_gpus;
}

const struct gs_pci_device *gs_topo_gpu(const struct gs_machine *topo,
					unsigned int index)
{
	return index < topo->nr_gpus ? &topo->gpus[index] : NULL;
}

unsigned int gs_topo_nr_ignored_devices(const struct gs_machine *topo)
{
	return topo->nr_ignored;
}

const struct gs_pci_device *
gs_topo_ignored_device(const struct gs_machine *topo, unsigned int index)
{
	return index < topo->nr_ignored ? &topo->ignored[index] : NULL;
}

unsigned int gs_topo_nr_warnings(const struct gs_machine *topo)
{
	return topo->nr_warnings;
}

const char *gs_topo_warning(const struct gs_machine *topo, unsigned int index)
{
	return index < topo->nr_warnings ? topo->warnings[index] : NULL;
}
