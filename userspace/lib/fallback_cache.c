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
#define CACHE_VERSION	2u
#define CACHE_CPU_GROUPS	0x1u
#define CACHE_QUICK	0x2u	/* the quick key is set */
#define CACHE_FLAGS	(CACHE_CPU_GROUPS | CACHE_QUICK)

struct cache_header {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;		/* CACHE_* */
	uint64_t key;		/* what the file was made from: keys_full() */
	uint64_t quick;		/* and the uevent count before: keys_begin() */
	uint32_t nr_cpus;
	uint32_t nr_nodes;
	uint32_t nr_gpus;
	uint32_t reserved;	/* 0 */
	uint64_t checksum;	/* of the header with this 0, then the arrays */
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
 * The keys of one launch.  A file is used when its key is the machine's:
 * what it was made from reads the same.  Part of that the kernel announces
 * with a uevent once it has changed, which /sys/kernel/uevent_seqnum counts:
 * nodes and memory going online or offline, PCI functions added or removed
 * (their names leave sys/bus/pci/devices before the remove event).  So the
 * file also keeps the count read before its key was, and a launch that
 * finds the same count takes the file on the quick key, without reading
 * those.  Any uevent, related or not, sends the next launch back to the
 * full key, which writes the file again with the new count.  Both keys
 * start from what no uevent announces: this program and format, the root,
 * the match rules, the boot, the isolated CPUs, the NVIDIA driver's memory
 * nodes and the online CPUs (a write to cpuN/hotplug/target takes a CPU
 * down or up without one, and lxcfs shows a container's cpuset there).
 * A change whose uevent the kernel failed to send (out of memory before
 * the count is raised) is not seen while the count stands.
 */
struct cache_keys {
	struct gs_sysfs *sysfs;	/* the root, open between begin and end */
	uint64_t start;		/* what both keys hash first */
	uint64_t quick;		/* valid when has_quick */
	uint64_t full;		/* valid when has_full */
	bool has_online;	/* the root has cpu/online: keys can be had */
	bool has_quick;
	bool has_full;
};

/*
 * Opens the root of @opts and reads the start of the keys, then the quick
 * key; a kernel whose uevent count cannot be read (a sysfs root without
 * it, such as a test's fixture) has none, nor has a root without
 * cpu/online (a kernel that old tells hotplug only in each CPU's
 * directory, which is not worth reading for this).  Returns 0, or -errno
 * when the root cannot be opened.
 */
static int keys_begin(const struct gs_discover_opts *opts, struct cache_keys *keys)
{
	static const uint32_t layout[] = {
		CACHE_VERSION, sizeof(struct cache_header), sizeof(struct gs_cpu),
		sizeof(struct gs_gpu), sizeof(struct gpusched_gpu),
	};
	uint64_t hash = FNV_OFFSET;
	char *seqnum = NULL, *online = NULL;
	struct gs_sysfs *proc;
	unsigned int i;
	int err;

	memset(keys, 0, sizeof(*keys));
	err = gs_sysfs_open(&keys->sysfs, opts->root);
	if (err)
		return err;
	hash = fnv(hash, layout, sizeof(layout));
	/* Another build may number or place GPUs by other rules. */
	hash = fnv_text(hash, GPUSCHED_VERSION);
	hash = fnv_text(hash, opts->root ? opts->root : "/");
	hash = fnv(hash, &opts->nr_gpu_matches, sizeof(opts->nr_gpu_matches));
	for (i = 0; i < opts->nr_gpu_matches; i++)
		hash = fnv_text(hash, opts->gpu_matches[i]);
	/* The count first: whatever changes after it is read raises it. */
	if (gs_sysfs_read_text(keys->sysfs, "sys/kernel/uevent_seqnum", &seqnum) < 0)
		seqnum = NULL;
	/* The host's boot even under a fixture root: a file never outlives a boot. */
	if (real_root(opts->root)) {
		hash = fnv_file(hash, keys->sysfs, BOOT_ID);
	} else if (!gs_sysfs_open(&proc, "/")) {
		hash = fnv_file(hash, proc, BOOT_ID);
		gs_sysfs_close(proc);
	}
	if (gs_sysfs_read_text(keys->sysfs, "sys/devices/system/cpu/online", &online) >= 0) {
		keys->has_online = true;
		hash = fnv_text(hash, online);
		free(online);
	}
	/*
	 * The isolated CPUs, should a kernel change them after boot, and the
	 * NVIDIA driver's memory nodes (Grace; one failed open elsewhere),
	 * which the driver updates on its own.
	 */
	hash = fnv_file(hash, keys->sysfs, "sys/devices/system/cpu/isolated");
	hash = fnv_dir(hash, keys->sysfs, "proc/driver/nvidia/gpus", "numa_status");
	keys->start = hash;
	if (seqnum && keys->has_online) {
		keys->quick = fnv_text(hash, seqnum);
		keys->has_quick = true;
	}
	free(seqnum);
	return 0;
}

/*
 * Reads the rest of the full key: what else can change within a boot and
 * alter the snapshot, the GPUs' numbering or their memory nodes.  Returns
 * 0, or -ENOENT when the root has no cpu/online.
 */
static int keys_full(struct cache_keys *keys)
{
	struct gs_sysfs *sysfs = keys->sysfs;
	uint64_t hash = keys->start;

	if (keys->has_full)
		return 0;
	if (!keys->has_online)
		return -ENOENT;
	hash = fnv_file(hash, sysfs, "sys/devices/system/node/online");
	/* Memory onlined or offlined changes which node holds a GPU's memory. */
	hash = fnv_file(hash, sysfs, "sys/devices/system/node/has_memory");
	/* A PCI function added or removed may renumber the GPUs. */
	hash = fnv_dir(hash, sysfs, "sys/bus/pci/devices", NULL);
	keys->full = hash;
	keys->has_full = true;
	return 0;
}

/* Closes the root; what was read stays. */
static void keys_end(struct cache_keys *keys)
{
	gs_sysfs_close(keys->sysfs);
	keys->sysfs = NULL;
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
 * directory of the caller's own that nobody else may enter will do.  Its
 * owner, the caller, goes in *@uid.
 */
static int open_cache_dir(const char *path, bool create, uid_t *uid)
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
	*uid = st.st_uid;
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
 * Reads the whole file in @dir, of the caller @uid alone, into *@buf
 * (the caller frees it) and its header into @h, after checking that it is
 * whole: its sizes are those of a snapshot and its checksum holds.
 * Returns 0, or -1 when there is none or it is not such a file.
 */
static int cache_load(int dir, uid_t uid, struct cache_header *h, unsigned char **buf)
{
	unsigned char *data = NULL;
	size_t size = 0, most;
	struct stat st;
	int fd;

	payload_size(GS_MAX_CPUS, GS_MAX_NODES, GS_MAX_GPUS, &most);
	/* Not blocking on a FIFO put in its place: fstat() refuses one below. */
	fd = openat(dir, GS_FALLBACK_CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) ||
	    st.st_size < (off_t)sizeof(*h) || (uint64_t)st.st_size > sizeof(*h) + most)
		goto fail;
	/* One read for header and arrays; a file of the wrong size fails below. */
	data = malloc((size_t)st.st_size);
	if (!data || pread(fd, data, (size_t)st.st_size, 0) != (ssize_t)st.st_size)
		goto fail;
	memcpy(h, data, sizeof(*h));
	if (h->magic != CACHE_MAGIC || h->version != CACHE_VERSION || (h->flags & ~CACHE_FLAGS) ||
	    h->reserved || !payload_size(h->nr_cpus, h->nr_nodes, h->nr_gpus, &size) ||
	    (uint64_t)st.st_size != sizeof(*h) + size ||
	    checksum(h, data + sizeof(*h), size) != h->checksum)
		goto fail;
	close(fd);
	*buf = data;
	return 0;
fail:
	free(data);
	close(fd);
	return -1;
}

/*
 * Builds @out from the file @h, @data that cache_load() read.  Returns 0,
 * or -1 when it does not hold a machine that @need_cpu_groups can place on.
 */
static int cache_use(const struct cache_header *h, const unsigned char *data,
		     bool need_cpu_groups, struct gs_fallback_machine *out)
{
	const unsigned char *p = data + sizeof(*h);
	struct gs_error error;
	unsigned int i;

	if (need_cpu_groups && !(h->flags & CACHE_CPU_GROUPS))
		return -1;
	if (alloc_machine(out, h->nr_cpus, h->nr_nodes, h->nr_gpus))
		return -1;
	take(out->snapshot.cpus, &p, (size_t)h->nr_cpus * sizeof(*out->snapshot.cpus));
	take(out->snapshot.distance, &p, (size_t)h->nr_nodes * h->nr_nodes * sizeof(uint32_t));
	take(out->snapshot.gpus, &p, (size_t)h->nr_gpus * sizeof(*out->snapshot.gpus));
	take(out->gpus, &p, (size_t)h->nr_gpus * sizeof(*out->gpus));
	gs_topology_index(&out->snapshot.topo, out->snapshot.index);
	if (gs_topology_validate(&out->snapshot.topo, &error))
		goto fail;
	for (i = 0; i < h->nr_gpus; i++)
		if (!gpu_identity_valid(&out->gpus[i], &out->snapshot.gpus[i]))
			goto fail;
	out->nr_gpus = h->nr_gpus;
	out->cpu_groups_known = h->flags & CACHE_CPU_GROUPS;
	out->from_cache = true;
	return 0;
fail:
	gs_fallback_machine_free(out);
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
 * Writes @m made from @keys (the full one read) as the file in @dir: to
 * a new file first, renamed over the old one, so that a launch reading
 * meanwhile sees one whole file or the other.  With @only_replace, only
 * where a file is: exchanged with it in one step, so that one removed
 * meanwhile stays removed (on a filesystem that cannot exchange, such as
 * NFS, renamed over it).  Returns 0 or -errno; a failure leaves no new
 * file behind (a writer killed between the two leaves its ".fallback-
 * machine.PID.N", which nothing reads).
 */
static int cache_write(int dir, const struct cache_keys *keys, const struct gs_fallback_machine *m,
		       bool only_replace)
{
	const struct gs_topology *topo = &m->snapshot.topo;
	struct cache_header h = {
		.magic = CACHE_MAGIC,
		.version = CACHE_VERSION,
		.flags = (m->cpu_groups_known ? CACHE_CPU_GROUPS : 0) |
			 (keys->has_quick ? CACHE_QUICK : 0),
		.key = keys->full,
		.quick = keys->has_quick ? keys->quick : 0,
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
	if (!err && only_replace) {
		if (!renameat2(dir, tmp, dir, GS_FALLBACK_CACHE_FILE, RENAME_EXCHANGE)) {
			unlinkat(dir, tmp, 0);	/* the old file now */
			return 0;
		}
		/* ENOENT: removed meanwhile, and left so. */
		if (errno != EINVAL) {
			err = -errno;
			unlinkat(dir, tmp, 0);
			return err;
		}
		/*
		 * A filesystem that cannot exchange (NFS): renamed over, lest
		 * every launch read the full key; a file removed at this very
		 * moment can come back.
		 */
	}
	if (!err && renameat(dir, tmp, dir, GS_FALLBACK_CACHE_FILE))
		err = -errno;
	if (err)
		unlinkat(dir, tmp, 0);
	return err;
}

/*
 * Writes @m for @opts into the cache directory @path, made if need be,
 * with keys read now.  Returns 0 or -errno: -ESTALE when @expected is given
 * and the machine's keys no longer are its: something changed during the
 * discovery that made @m, or the kernel sent a uevent meanwhile (a change
 * undone before the end, which @m may have caught half-way).
 */
static int save(const struct gs_discover_opts *opts, const char *path,
		const struct cache_keys *expected, const struct gs_fallback_machine *m)
{
	struct cache_keys keys;
	uid_t uid;
	int dir, err;

	err = keys_begin(opts, &keys);
	if (err)
		return err;
	err = keys_full(&keys);
	keys_end(&keys);
	if (err)
		return err;
	if (expected && (keys.full != expected->full || keys.has_quick != expected->has_quick ||
			 keys.quick != expected->quick))
		return -ESTALE;
	dir = open_cache_dir(path, true, &uid);
	if (dir < 0)
		return -EACCES;
	err = cache_write(dir, &keys, m, false);
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

/*
 * Reads the file in @path into @out when @keys say it is current: by the
 * quick key, else by the full one, which is then read; a file taken on
 * the full key alone is written again with the quick key, for the next
 * launch.  Returns 0, or -1 when the file cannot be used.
 */
static int cache_get(struct cache_keys *keys, const char *path, bool need_cpu_groups,
		     struct gs_fallback_machine *out)
{
	struct cache_header h;
	unsigned char *data;
	bool quick;
	uid_t uid;
	int dir, err = -1;

	dir = open_cache_dir(path, false, &uid);
	if (dir < 0)
		return -1;
	if (cache_load(dir, uid, &h, &data))
		goto out;
	quick = keys->has_quick && (h.flags & CACHE_QUICK) && h.quick == keys->quick;
	if ((quick || (!keys_full(keys) && h.key == keys->full)) &&
	    !cache_use(&h, data, need_cpu_groups, out)) {
		err = 0;
		if (!quick && keys->has_quick)
			cache_write(dir, keys, out, true);
	}
	free(data);
out:
	close(dir);
	return err;
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
	struct cache_keys keys;
	char path[4096];
	bool cached;
	int err;

	memset(out, 0, sizeof(*out));
	cached = !gs_fallback_cache_dir(opts->root, path, sizeof(path)) &&
		 !keys_begin(opts, &keys);
	if (cached) {
		/* A discovery asked to warn is made, so that its warnings are seen. */
		if (!opts->warn && !cache_get(&keys, path, need_cpu_groups, out)) {
			keys_end(&keys);
			return 0;
		}
		/* The key before the discovery, to check that nothing changed during it. */
		cached = !keys_full(&keys);
		keys_end(&keys);
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
	if (!err && cached && !out->error)
		save(opts, path, &keys, out);
	return err;
}

void gs_fallback_machine_free(struct gs_fallback_machine *machine)
{
	gs_snapshot_free(&machine->snapshot);
	free(machine->gpus);
	memset(machine, 0, sizeof(*machine));
}
