// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery of CPUs and caches: which cpuN directories exist and which are
 * online (cpu/online, else each cpuN/online), each online CPU's core,
 * package, SMT siblings and last-level cache, the machine-wide numbering
 * of cores, cache groups and packages, and the isolated and nohz_full
 * lists.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "discover_internal.h"

/* Newest name first: core_cpus_list replaced thread_siblings_list in 5.x. */
static const struct gs_cpus_file sibling_files[] = {
	{ "topology/core_cpus_list", false },
	{ "topology/thread_siblings_list", false },
	{ "topology/thread_siblings", true },
	{ NULL, false },
};

static const struct gs_cpus_file cache_files[] = {
	{ "shared_cpu_list", false },
	{ "shared_cpu_map", true },
	{ NULL, false },
};

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

/*
 * Sets cpu->online for every CPU: from the machine-wide online list when
 * there is one, else from each cpuN/online.  cpu0 often has no online
 * file because the boot CPU cannot be unplugged; it is online.
 */
static void read_online(struct gs_discovery *d)
{
	struct gs_machine *topo = d->topo;
	struct gs_bitmap online = GS_BITMAP_INIT;
	unsigned int i;
	int err, value = 1;

	err = gs_sysfs_read_cpulist(d->sysfs, CPU_DIR "/online", &online);
	if (err && err != -ENOENT)
		gs_discovery_warn_file(d, CPU_DIR "/online", err, "a CPU list",
				       "each CPU's own online file is used instead");
	for (i = 0; i < topo->nr_cpus; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];
		char *path;

		if (!err) {
			cpu->online = gs_bitmap_test(&online, cpu->id);
		} else {
			path = gs_discovery_path(d, CPU_DIR "/cpu%u/online", cpu->id);
			if (!path)
				break;
			cpu->online = gs_discovery_read_int(d, path, &value,
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
static int read_cpu_topology(struct gs_discovery *d, struct gs_machine_cpu *cpu,
			     const char *dir, struct gs_bitmap *no_siblings)
{
	char *path;
	int err;

	path = gs_discovery_path(d, "%s/topology/core_id", dir);
	if (path && gs_discovery_read_int(d, path, &cpu->core_id, "core_id unknown"))
		cpu->core_id = -1;
	free(path);
	path = gs_discovery_path(d, "%s/topology/physical_package_id", dir);
	if (path && gs_discovery_read_int(d, path, &cpu->package, "package unknown"))
		cpu->package = -1;
	free(path);

	err = gs_discovery_read_cpus(d, dir, sibling_files, &cpu->siblings,
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
static int read_cpu_llc(struct gs_discovery *d, struct gs_machine_cpu *cpu,
			const char *dir)
{
	struct gs_bitmap shared = GS_BITMAP_INIT;
	unsigned int *indexes = NULL;
	int nr_indexes, i, best_level = -1, best_index = -1, level, err;
	char *cache_dir, *path, *type;

	cache_dir = gs_discovery_path(d, "%s/cache", dir);
	if (!cache_dir)
		return -ENOMEM;
	nr_indexes = gs_sysfs_list_ids(d->sysfs, cache_dir, "index", &indexes);
	if (nr_indexes == -ENOMEM)
		d->error = -ENOMEM;
	for (i = 0; i < nr_indexes; i++) {
		path = gs_discovery_path(d, "%s/index%u/type", cache_dir, indexes[i]);
		if (!path)
			break;
		err = gs_discovery_read_string(d, path, &type, "this cache is skipped");
		free(path);
		if (err)
			continue;
		if (strcmp(type, "Unified")) {
			free(type);
			continue;
		}
		free(type);
		path = gs_discovery_path(d, "%s/index%u/level", cache_dir, indexes[i]);
		if (!path)
			break;
		if (!gs_discovery_read_int(d, path, &level, "this cache is skipped") &&
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
	path = gs_discovery_path(d, "%s/index%d", cache_dir, best_index);
	free(cache_dir);
	if (!path)
		return -ENOMEM;
	err = gs_discovery_read_cpus(d, path, cache_files, &shared,
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
 * Numbers cores, LLC groups and packages from the per-CPU keys (the lowest
 * CPU of each group); returns 0 or -ENOMEM.
 */
static int number_cpu_groups(struct gs_discovery *d, int *core_keys,
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
 * daemon rediscovers when they come back.  Under skip_cpu_groups online
 * CPUs keep them at -1 too, and no group is numbered.  Returns 0, -ENOENT
 * when there is no CPU directory at all (the root is not a sysfs root), or
 * -ENOMEM.
 */
int gs_discover_cpus(struct gs_discovery *d)
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
		gs_discovery_warn(d, "%s/" CPU_DIR ": %s; the root is not a sysfs root",
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
			gs_discovery_warn(d, "%s/" CPU_DIR "/cpu%u: CPU id beyond %u; ignored",
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
	if (d->opts->skip_cpu_groups) {
		err = d->error;
		goto out;
	}
	for (i = 0; i < topo->nr_cpus && !d->error; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];
		char *dir;

		core_keys[i] = llc_keys[i] = -1;
		if (!cpu->online)
			continue;
		dir = gs_discovery_path(d, CPU_DIR "/cpu%u", cpu->id);
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
	gs_discovery_warn_cpus(d, &no_siblings, "topology/core_cpus_list",
			       "missing, like thread_siblings_list and thread_siblings,",
			       "each CPU counts as a core of its own");
	gs_discovery_warn_cpus(d, &no_llc, "cache", "no unified cache",
			       "their last-level cache group is unknown");
	err = number_cpu_groups(d, core_keys, llc_keys);
	topo->cpu_groups_known = !err;
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
static void read_cpu_set_file(struct gs_discovery *d, const char *path,
			      struct gs_bitmap *set, const char *consequence)
{
	char shown[SHOWN_VALUE_SIZE];
	char *text;
	int err;

	if (gs_discovery_read_string(d, path, &text, consequence))
		return;
	if (strcmp(text, "(null)")) {
		err = gs_bitmap_parse_list(set, text);
		if (err == -ENOMEM) {
			d->error = err;
		} else if (err) {
			gs_discovery_show_text(text, shown, sizeof(shown));
			gs_discovery_warn(d, "%s/%s: \"%s\" is not a CPU list; %s",
					  root_of(d), path, shown, consequence);
		}
	}
	free(text);
}

/* Reads isolated and nohz_full and flags each CPU. */
void gs_discover_isolation(struct gs_discovery *d)
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
