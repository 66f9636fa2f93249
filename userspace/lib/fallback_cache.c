// SPDX-License-Identifier: GPL-2.0
/*
 * The fallback's machine, and the per-boot file that spares later
 * launches a discovery (fallback_cache.h says what it holds and when it
 * is used).
 *
 * The file is host-endian and private to one user: a header, then the
 * snapshot's CPUs, node distances and GPUs, then each GPU's PCI identity.
 * The node index is not stored; gs_topology_index() rebuilds it.  A
 * checksum covers the whole file, and what is read back goes through
 * gs_topology_validate(), the check the module makes of a topology fed
 * from userspace, so a damaged file is refused, never placed on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fallback_cache.h"
#include "libgpusched.h"
#include "sysfs.h"

#define CACHE_MAGIC	0x6862667363687367ull	/* "gshcsfbh" */
#define CACHE_VERSION	1u
#define CACHE_CPU_GROUPS	0x1u

struct cache_header {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;		/* CACHE_CPU_GROUPS */
	uint64_t key;		/* what the file was made from: cache_key() */
	uint32_t nr_cpus;
	uint32_t nr_nodes;
	uint32_t nr_gpus;
	uint32_t reserved;	/* 0 */
	uint64_t checksum;	/* of everything after the header */
};

/* 64-bit FNV-1a: a change detector for files only their owner can write. */
#define FNV_OFFSET	0xcbf29ce484222325ull
#define FNV_PRIME	0x100000001b3ull

static uint64_t fnv(uint64_t hash, const void *data, size_t size)
{
	const unsigned char *p = data;

	while (size--)
		hash = (hash ^ *p++) * FNV_PRIME;
	return hash;
}

/* Hashes @text with its length, so that "ab","c" and "a","bc" differ; NULL as its own value. */
static uint64_t fnv_text(uint64_t hash, const char *text)
{
	uint64_t len = text ? strlen(text) : UINT64_MAX;

	hash = fnv(hash, &len, sizeof(len));
	return text ? fnv(hash, text, len) : hash;
}

/* Hashes the text of @path below @sysfs; a file that cannot be read hashes as absent. */
static uint64_t fnv_file(uint64_t hash, struct gs_sysfs *sysfs, const char *path)
{
	char *text = NULL;

	if (gs_sysfs_read_text(sysfs, path, &text) < 0)
		text = NULL;
	hash = fnv_text(hash, text);
	free(text);
	return hash;
}

/* Whether @root names the machine itself. */
static bool real_root(const char *root)
{
	if (!root)
		return true;
	while (*root == '/')
		root++;
	return !*root;
}

#define BOOT_ID	"proc/sys/kernel/random/boot_id"

/* Hashes the names in directory @dir below @sysfs, and each one's @file when @file is given. */
static uint64_t fnv_dir(uint64_t hash, struct gs_sysfs *sysfs, const char *dir, const char *file)
{
	char **names, *path;
	int i, nr;

	nr = gs_sysfs_list_names(sysfs, dir, &names);
	hash = fnv(hash, &nr, sizeof(nr));
	for (i = 0; i < nr; i++) {
		hash = fnv_text(hash, names[i]);
		if (file && asprintf(&path, "%s/%s/%s", dir, names[i], file) >= 0) {
			hash = fnv_file(hash, sysfs, path);
			free(path);
		}
	}
	if (nr > 0)
		gs_sysfs_free_names(names, nr);
	return hash;
}

/*
 * What a file must have been made from to be used: this program and
 * format, the root, the boot, and what can change within a boot and alter
 * the snapshot, the GPUs' numbering or their memory nodes.  Returns 0, or
 * -errno when the root cannot be opened, -ENOENT when it has no
 * cpu/online (a kernel that old tells hotplug only in each CPU's
 * directory, which is not worth reading for this).
 */
static int cache_key(const struct gs_discover_opts *opts, uint64_t *key)
{
	static const uint32_t layout[] = {
		CACHE_VERSION, sizeof(struct cache_header), sizeof(struct gs_cpu),
		sizeof(struct gs_gpu), sizeof(struct gpusched_gpu),
	};
	uint64_t hash = FNV_OFFSET;
	struct gs_sysfs *sysfs, *proc;
	char *online = NULL;
	unsigned int i;
	int err;

	err = gs_sysfs_open(&sysfs, opts->root);
	if (err)
		return err;
	err = gs_sysfs_read_text(sysfs, "sys/devices/system/cpu/online", &online);
	if (err < 0) {
		gs_sysfs_close(sysfs);
		return -ENOENT;
	}
	hash = fnv(hash, layout, sizeof(layout));
	/* Another build may number or place GPUs by other rules. */
	hash = fnv_text(hash, GPUSCHED_VERSION);
	hash = fnv_text(hash, opts->root ? opts->root : "/");
	/* The host's boot even under a fixture root: a file never outlives a boot. */
	if (real_root(opts->root)) {
		hash = fnv_file(hash, sysfs, BOOT_ID);
	} else if (!gs_sysfs_open(&proc, "/")) {
		hash = fnv_file(hash, proc, BOOT_ID);
		gs_sysfs_close(proc);
	}
	hash = fnv_text(hash, online);
	free(online);
	hash = fnv_file(hash, sysfs, "sys/devices/system/cpu/isolated");
	hash = fnv_file(hash, sysfs, "sys/devices/system/node/online");
	/* Memory onlined or offlined changes which node holds a GPU's memory. */
	hash = fnv_file(hash, sysfs, "sys/devices/system/node/has_memory");
	/* A PCI function added or removed may renumber the GPUs. */
	hash = fnv_dir(hash, sysfs, "sys/bus/pci/devices", NULL);
	/* The NVIDIA driver's memory nodes (Grace): one failed open elsewhere. */
	hash = fnv_dir(hash, sysfs, "proc/driver/nvidia/gpus", "numa_status");
	hash = fnv(hash, &opts->nr_gpu_matches, sizeof(opts->nr_gpu_matches));
	for (i = 0; i < opts->nr_gpu_matches; i++)
		hash = fnv_text(hash, opts->gpu_matches[i]);
	gs_sysfs_close(sysfs);
	*key = hash;
	return 0;
}

int gs_fallback_cache_dir(const char *root, char *path, size_t size)
{
	const char *env = secure_getenv("GPUSCHED_CACHE_DIR");
	const char *runtime = secure_getenv("XDG_RUNTIME_DIR");
	int len;

	if (env)
		len = *env ? snprintf(path, size, "%s", env) : -1;
	else if (!real_root(root))
		len = -1;
	else if (!geteuid())
		len = snprintf(path, size, "/run/gpusched");
	else if (runtime && runtime[0] == '/')
		len = snprintf(path, size, "%s/gpusched", runtime);
	else
		len = snprintf(path, size, "/run/user/%u/gpusched", (unsigned int)geteuid());
	return len < 0 || (size_t)len >= size ? -ENOENT : 0;
}

/*
 * Opens the cache directory @path, made first when @create; only a
 * directory of the caller's own that nobody else may enter will do.
 */
static int open_cache_dir(const char *path, bool create)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && !mkdir(path, 0700))
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sizes of the arrays after the header; false when they cannot be a snapshot. */
static bool payload_size(uint32_t nr_cpus, uint32_t nr_nodes, uint32_t nr_gpus, size_t *size)
{
	if (!nr_cpus || nr_cpus > GS_MAX_CPUS || !nr_nodes || nr_nodes > GS_MAX_NODES ||
	    nr_gpus > GS_MAX_GPUS)
		return false;
	*size = (size_t)nr_cpus * sizeof(struct gs_cpu) +
		(size_t)nr_nodes * nr_nodes * sizeof(uint32_t) +
		(size_t)nr_gpus * (sizeof(struct gs_gpu) + sizeof(struct gpusched_gpu));
	return true;
}

static int alloc_machine(struct gs_fallback_machine *m, uint32_t nr_cpus, uint32_t nr_nodes,
			 uint32_t nr_gpus)
{
	memset(m, 0, sizeof(*m));
	if (gs_snapshot_alloc(&m->snapshot, nr_cpus, nr_nodes, nr_gpus))
		return -ENOMEM;
	m->gpus = calloc(nr_gpus ? nr_gpus : 1, sizeof(*m->gpus));
	if (!m->gpus) {
		gs_snapshot_free(&m->snapshot);
		return -ENOMEM;
	}
	return 0;
}

/* Copies @size bytes at *@p to @dst and moves *@p past them. */
static void take(void *dst, const unsigned char **p, size_t size)
{
	memcpy(dst, *p, size);
	*p += size;
}

/*
 * Whether a GPU's PCI identity read back is one discovery could have made
 * for the snapshot's GPU @gpu: its node is the snapshot's, or unknown on a
 * machine of one node.
 */
static bool gpu_identity_valid(const struct gpusched_gpu *id, const struct gs_gpu *gpu)
{
	return id->domain <= 0xffff && id->bus <= 0xff && id->devfn <= 0xff && !id->flags &&
	       (id->node == gpu->cpu_node || id->node == (uint32_t)-1) &&
	       (id->mem_node == GPUSCHED_NODE_ANY || id->mem_node == gpu->mem_node);
}

/* The checksum of a file: its header with the checksum field zero, then its arrays. */
static uint64_t checksum(const struct cache_header *header, const void *payload, size_t size)
{
	struct cache_header h = *header;

	h.checksum = 0;
	return fnv(fnv(FNV_OFFSET, &h, sizeof(h)), payload, size);
}

/*
 * Reads the file in @dir made from @key into @out.  Returns 0, or -1 when
 * there is none, it is not the caller's alone, or it does not hold a
 * machine that @need_cpu_groups can place on.
 */
static int cache_read(int dir, uint64_t key, bool need_cpu_groups,
		      struct gs_fallback_machine *out)
{
	struct cache_header h;
	unsigned char *buf = NULL;
	const unsigned char *p;
	struct gs_error error;
	size_t size = 0;
	struct stat st;
	unsigned int i;
	ssize_t n;
	int fd;

	fd = openat(dir, GS_FALLBACK_CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || st.st_size < (off_t)sizeof(h))
		goto fail;
	n = pread(fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h) || h.magic != CACHE_MAGIC || h.version != CACHE_VERSION ||
	    h.key != key || (h.flags & ~CACHE_CPU_GROUPS) || h.reserved ||
	    (need_cpu_groups && !(h.flags & CACHE_CPU_GROUPS)) ||
	    !payload_size(h.nr_cpus, h.nr_nodes, h.nr_gpus, &size) ||
	    (uint64_t)st.st_size != sizeof(h) + size)
		goto fail;
	buf = malloc(size);
	if (!buf || pread(fd, buf, size, sizeof(h)) != (ssize_t)size ||
	    checksum(&h, buf, size) != h.checksum)
		goto fail;
	close(fd);
	fd = -1;

	if (alloc_machine(out, h.nr_cpus, h.nr_nodes, h.nr_gpus))
		goto fail;
	p = buf;
	take(out->snapshot.cpus, &p, (size_t)h.nr_cpus * sizeof(*out->snapshot.cpus));
	take(out->snapshot.distance, &p, (size_t)h.nr_nodes * h.nr_nodes * sizeof(uint32_t));
	take(out->snapshot.gpus, &p, (size_t)h.nr_gpus * sizeof(*out->snapshot.gpus));
	take(out->gpus, &p, (size_t)h.nr_gpus * sizeof(*out->gpus));
	gs_topology_index(&out->snapshot.topo, out->snapshot.index);
	if (gs_topology_validate(&out->snapshot.topo, &error))
		goto fail_machine;
	for (i = 0; i < h.nr_gpus; i++)
		if (!gpu_identity_valid(&out->gpus[i], &out->snapshot.gpus[i]))
			goto fail_machine;
	out->nr_gpus = h.nr_gpus;
	out->cpu_groups_known = h.flags & CACHE_CPU_GROUPS;
	out->from_cache = true;
	free(buf);
	return 0;

fail_machine:
	gs_fallback_machine_free(out);
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

static bool write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		size -= (size_t)n;
	}
	return true;
}

/*
 * Writes @m made from @key as the file in @dir: to a new file first,
 * renamed over the old one, so that a launch reading meanwhile sees one
 * whole file or the other.  Returns 0 or -errno; a failure leaves no new
 * file behind (a writer killed between the two leaves its ".fallback-
 * machine.PID.N", which nothing reads).
 */
static int cache_write(int dir, uint64_t key, const struct gs_fallback_machine *m)
{
	const struct gs_topology *topo = &m->snapshot.topo;
	struct cache_header h = {
		.magic = CACHE_MAGIC,
		.version = CACHE_VERSION,
		.flags = m->cpu_groups_known ? CACHE_CPU_GROUPS : 0,
		.key = key,
		.nr_cpus = topo->nr_cpus,
		.nr_nodes = topo->nr_nodes,
		.nr_gpus = topo->nr_gpus,
	};
	size_t cpus = (size_t)topo->nr_cpus * sizeof(*topo->cpus);
	size_t distance = (size_t)topo->nr_nodes * topo->nr_nodes * sizeof(*topo->distance);
	size_t gpus = (size_t)topo->nr_gpus * sizeof(*m->snapshot.gpus);
	size_t ids = (size_t)topo->nr_gpus * sizeof(*m->gpus);
	size_t size = cpus + distance + gpus + ids;
	unsigned char *payload;
	char tmp[64];
	int fd, err, i;
	bool ok;

	if (m->error || m->nr_gpus != topo->nr_gpus)
		return -EINVAL;
	payload = malloc(size ? size : 1);
	if (!payload)
		return -ENOMEM;
	memcpy(payload, topo->cpus, cpus);
	memcpy(payload + cpus, topo->distance, distance);
	memcpy(payload + cpus + distance, m->snapshot.gpus, gpus);
	memcpy(payload + cpus + distance + gpus, m->gpus, ids);
	h.checksum = checksum(&h, payload, size);

	for (i = 0, fd = -1; fd < 0 && i < 100; i++) {
		snprintf(tmp, sizeof(tmp), ".%s.%d.%d", GS_FALLBACK_CACHE_FILE, (int)getpid(), i);
		fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err = -errno;
		free(payload);
		return err;
	}
	ok = write_all(fd, &h, sizeof(h)) && write_all(fd, payload, size);
	err = ok ? 0 : -errno;
	free(payload);
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dir, tmp, dir, GS_FALLBACK_CACHE_FILE))
		err = -errno;
	if (err)
		unlinkat(dir, tmp, 0);
	return err;
}

/*
 * Writes @m, made from @key, for @opts into the cache directory @path,
 * made if need be.  Returns 0 or -errno: -ESTALE when @expected is given
 * and the machine's key no longer is it (it changed during the discovery
 * that made @m).
 */
static int save(const struct gs_discover_opts *opts, const char *path, const uint64_t *expected,
		const struct gs_fallback_machine *m)
{
	uint64_t key;
	int dir, err;

	err = cache_key(opts, &key);
	if (err)
		return err;
	if (expected && key != *expected)
		return -ESTALE;
	dir = open_cache_dir(path, true);
	if (dir < 0)
		return -EACCES;
	err = cache_write(dir, key, m);
	close(dir);
	return err;
}

int gs_fallback_machine_save(const struct gs_discover_opts *opts,
			     const struct gs_fallback_machine *machine)
{
	char path[4096];

	if (gs_fallback_cache_dir(opts->root, path, sizeof(path)))
		return -ENOENT;
	return save(opts, path, NULL, machine);
}

int gs_fallback_machine_build(const struct gs_machine *machine,
			      struct gs_fallback_machine *out, char *message)
{
	struct gs_bitmap housekeeping = GS_BITMAP_INIT;
	char snapshot_message[GS_SNAPSHOT_MESSAGE_SIZE];
	unsigned int i, nr = gs_topo_nr_gpus(machine);
	int err;

	memset(out, 0, sizeof(*out));
	out->gpus = calloc(nr ? nr : 1, sizeof(*out->gpus));
	if (!out->gpus)
		return gs_fallback_fail(message, -ENOMEM, "out of memory");
	out->nr_gpus = nr;
	for (i = 0; i < nr; i++) {
		const struct gs_pci_device *pci = gs_topo_gpu(machine, i);

		out->gpus[i].domain = pci->domain;
		out->gpus[i].bus = pci->bus;
		out->gpus[i].devfn = pci->slot << 3 | pci->function;
		out->gpus[i].node = pci->node;
		/* The driver's numa_status node, as gpuschedd would feed it. */
		out->gpus[i].mem_node = pci->mem_node >= 0 ? (uint32_t)pci->mem_node :
							     GPUSCHED_NODE_ANY;
	}
	out->cpu_groups_known = gs_topo_cpu_groups_known(machine);

	/* A machine the engine cannot take fails its placement, not this. */
	err = gs_default_housekeeping(machine, &housekeeping);
	if (!err)
		err = gs_snapshot_build(machine, &housekeeping, &out->snapshot, snapshot_message);
	gs_bitmap_free(&housekeeping);
	if (err == -ENOMEM) {
		gs_fallback_machine_free(out);
		return gs_fallback_fail(message, err, "out of memory");
	}
	if (err) {
		out->error = err;
		snprintf(out->error_message, sizeof(out->error_message), "%s", snapshot_message);
	}
	return 0;
}

int gs_fallback_machine_get(const struct gs_discover_opts *opts, bool need_cpu_groups,
			    struct gs_fallback_machine *out, char *message)
{
	struct gs_discover_opts discover = *opts;
	struct gs_machine *machine;
	uint64_t key = 0;
	char path[4096];
	bool have_key;
	int err, dir;

	memset(out, 0, sizeof(*out));
	have_key = !gs_fallback_cache_dir(opts->root, path, sizeof(path)) &&
		   !cache_key(opts, &key);
	/* A discovery asked to warn is made, so that its warnings are seen. */
	if (have_key && !opts->warn) {
		dir = open_cache_dir(path, false);
		if (dir >= 0) {
			err = cache_read(dir, key, need_cpu_groups, out);
			close(dir);
			if (!err)
				return 0;
		}
	}

	discover.skip_cpu_groups = !need_cpu_groups;
	discover.skip_gpu_details = true;
	err = gs_discover(&discover, &machine);
	if (err)
		return gs_fallback_fail(message, err, "cannot discover the topology below %s: %s",
					opts->root ? opts->root : "/", strerror(-err));
	err = gs_fallback_machine_build(machine, out, message);
	gs_machine_free(machine);
	/* Only what was discovered from an unchanged machine is kept. */
	if (!err && have_key && !out->error)
		save(opts, path, &key, out);
	return err;
}

void gs_fallback_machine_free(struct gs_fallback_machine *machine)
{
	gs_snapshot_free(&machine->snapshot);
	free(machine->gpus);
	memset(machine, 0, sizeof(*machine));
}
