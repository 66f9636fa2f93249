/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the gpusched ABI selftests (topology_ioctl_test.c,
 * pin_test.c): the machine as the guest's own sysfs describes it (stand-in
 * GPUs, their nodes and local CPUs, SMT cores, packages, memory nodes), a
 * SET_TOPOLOGY request built from it, CPU masks in the module's format
 * (bits of nr_cpu_ids in __u64 words) with one cpulist parser and
 * formatter, sysfs readers for /sys/kernel/gpusched, dropping privileges,
 * and an "agent": a forked process that opens its own file of the device
 * and runs ioctls on request, so that a test can act as a second job, a
 * second user or a process to kill.
 *
 * Everything is static inline: each test program includes this header once
 * and uses part of it.  Helpers never use the harness's EXPECT/ASSERT
 * macros (they also run in forked children); the macros at the end do, and
 * are only for test bodies.
 */
#ifndef GPUSCHED_TEST_UTIL_H
#define GPUSCHED_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/gpusched.h>
/* Holders of many threads and slab counts, shared with gpusched bench. */
#include "../../userspace/lib/kmem_probe.h"

#define GS_DEV_PATH		"/dev/gpusched"
#define GS_SYSFS		"/sys/kernel/gpusched"
#define GS_PCI_DEVICES		"/sys/bus/pci/devices"
#define GS_CGROUP_ROOT		"/sys/fs/cgroup"

/* The unprivileged account of the tests; the guest has no other user. */
#define GS_NOBODY		65534
/* A second ordinary user, for the per-user limits. */
#define GS_SECOND_USER		65533
/*
 * The group the packaged udev rule gives /dev/gpusched to; the test guest's
 * /init does the rule's work (its /etc/group names it gpusched).
 */
#define GS_DEVICE_GID		990

/* Bounds of the tests' own arrays; far above the guests (8 CPUs, 4 GPUs). */
#define GS_MAX_CPUS		1024
#define GS_MASK_WORDS		(GS_MAX_CPUS / 64)
#define GS_MAX_TEST_GPUS	32
#define GS_CPULIST_LEN		512

/* Expect @call to fail with @err (as in module_test.c). */
#define EXPECT_ERRNO(err, call)			\
	({					\
		errno = 0;			\
		EXPECT_EQ(-1, call);		\
		EXPECT_EQ(err, errno);		\
	})

/* ---- CPU and node masks ------------------------------------------------ */

/* A set of CPU (or node) ids, laid out as the module's masks: bit n of word n / 64. */
struct gs_mask {
	__u64 w[GS_MASK_WORDS];
};

static inline void gs_mask_zero(struct gs_mask *m)
{
	memset(m, 0, sizeof(*m));
}

static inline void gs_mask_set(struct gs_mask *m, unsigned int bit)
{
	if (bit < GS_MAX_CPUS)
		m->w[bit / 64] |= 1ULL << (bit % 64);
}

static inline void gs_mask_clear(struct gs_mask *m, unsigned int bit)
{
	if (bit < GS_MAX_CPUS)
		m->w[bit / 64] &= ~(1ULL << (bit % 64));
}

static inline bool gs_mask_test(const struct gs_mask *m, unsigned int bit)
{
	return bit < GS_MAX_CPUS && (m->w[bit / 64] >> (bit % 64)) & 1;
}

static inline unsigned int gs_mask_weight(const struct gs_mask *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < GS_MASK_WORDS; i++)
		n += __builtin_popcountll(m->w[i]);
	return n;
}

static inline bool gs_mask_empty(const struct gs_mask *m)
{
	return gs_mask_weight(m) == 0;
}

static inline bool gs_mask_equal(const struct gs_mask *a, const struct gs_mask *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static inline bool gs_mask_intersects(const struct gs_mask *a, const struct gs_mask *b)
{
	unsigned int i;

	for (i = 0; i < GS_MASK_WORDS; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

/* Whether every bit of @a is in @b. */
static inline bool gs_mask_subset(const struct gs_mask *a, const struct gs_mask *b)
{
	unsigned int i;

	for (i = 0; i < GS_MASK_WORDS; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

static inline struct gs_mask gs_mask_and(const struct gs_mask *a, const struct gs_mask *b)
{
	struct gs_mask r;
	unsigned int i;

	for (i = 0; i < GS_MASK_WORDS; i++)
		r.w[i] = a->w[i] & b->w[i];
	return r;
}

static inline struct gs_mask gs_mask_or(const struct gs_mask *a, const struct gs_mask *b)
{
	struct gs_mask r;
	unsigned int i;

	for (i = 0; i < GS_MASK_WORDS; i++)
		r.w[i] = a->w[i] | b->w[i];
	return r;
}

static inline struct gs_mask gs_mask_andnot(const struct gs_mask *a, const struct gs_mask *b)
{
	struct gs_mask r;
	unsigned int i;

	for (i = 0; i < GS_MASK_WORDS; i++)
		r.w[i] = a->w[i] & ~b->w[i];
	return r;
}

/* The lowest bit set, or -1. */
static inline int gs_mask_first(const struct gs_mask *m)
{
	unsigned int bit;

	for (bit = 0; bit < GS_MAX_CPUS; bit++)
		if (gs_mask_test(m, bit))
			return bit;
	return -1;
}

/* The highest bit set, or -1. */
static inline int gs_mask_last(const struct gs_mask *m)
{
	int bit;

	for (bit = GS_MAX_CPUS - 1; bit >= 0; bit--)
		if (gs_mask_test(m, bit))
			return bit;
	return -1;
}

/*
 * Parses a cpulist as the kernel prints it ("0-3,8,10-11", "" for none,
 * trailing newline allowed).  Returns 0 or -EINVAL.
 */
static inline int gs_cpulist_parse(const char *list, struct gs_mask *m)
{
	const char *p = list;
	unsigned long first, last;
	char *end;

	gs_mask_zero(m);
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != '\n') {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		first = strtoul(p, &end, 10);
		last = first;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			last = strtoul(p, &end, 10);
			p = end;
		}
		if (last < first || last >= GS_MAX_CPUS)
			return -EINVAL;
		for (; first <= last; first++)
			gs_mask_set(m, first);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

/* Formats @m as a cpulist ("" when empty) into @buf; returns @buf. */
static inline char *gs_cpulist_format(const struct gs_mask *m, char *buf, size_t len)
{
	size_t off = 0;
	int bit, end;

	buf[0] = '\0';
	for (bit = 0; bit < GS_MAX_CPUS; bit++) {
		if (!gs_mask_test(m, bit))
			continue;
		for (end = bit; end + 1 < GS_MAX_CPUS && gs_mask_test(m, end + 1); end++)
			;
		if (off >= len)
			break;
		if (end == bit)
			off += snprintf(buf + off, len - off, "%s%d", off ? "," : "", bit);
		else
			off += snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", bit, end);
		bit = end;
	}
	return buf;
}

/* ---- sysfs and procfs files -------------------------------------------- */

/* Reads a whole (small) file without its trailing newline; 0 or -errno. */
static inline int gs_read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static inline int gs_read_textf(char *buf, size_t len, const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return gs_read_text(path, buf, len);
}

/* Reads a decimal (possibly negative) integer file; 0 or -errno. */
static inline int gs_read_intf(long *value, const char *fmt, ...)
{
	char path[512], buf[64], *end;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ret = gs_read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*value = strtol(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

/* Reads a cpulist file; 0 or -errno. */
static inline int gs_read_cpulistf(struct gs_mask *m, const char *fmt, ...)
{
	char path[512], buf[GS_CPULIST_LEN];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	ret = gs_read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	return gs_cpulist_parse(buf, m);
}

static inline int gs_write_text(const char *path, const char *text)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static inline bool gs_path_exists(const char *fmt, ...)
{
	char path[512];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return stat(path, &st) == 0;
}

/* /sys/kernel/gpusched/gpus/gpuN/ATTR as text; 0 or -errno. */
static inline int gs_sysfs_gpu_text(unsigned int gpu, const char *attr, char *buf, size_t len)
{
	return gs_read_textf(buf, len, GS_SYSFS "/gpus/gpu%u/%s", gpu, attr);
}

/* /sys/kernel/gpusched/gpus/gpuN/ATTR as a cpulist; 0 or -errno. */
static inline int gs_sysfs_gpu_cpus(unsigned int gpu, const char *attr, struct gs_mask *m)
{
	return gs_read_cpulistf(m, GS_SYSFS "/gpus/gpu%u/%s", gpu, attr);
}

/* /sys/kernel/gpusched/gpus/gpuN/ATTR as a number, or -1 when unreadable. */
static inline long gs_sysfs_gpu_long(unsigned int gpu, const char *attr)
{
	long v;

	return gs_read_intf(&v, GS_SYSFS "/gpus/gpu%u/%s", gpu, attr) ? -1 : v;
}

/* /sys/kernel/gpusched/ATTR as a number, or -1 when unreadable. */
static inline long gs_sysfs_long(const char *attr)
{
	long v;

	return gs_read_intf(&v, GS_SYSFS "/%s", attr) ? -1 : v;
}

/* ---- the machine -------------------------------------------------------- */

/* A stand-in GPU as the guest's PCI sysfs describes it. */
struct gs_gpu_dev {
	char address[32];		/* "0000:21:00.0" */
	__u32 domain, bus, devfn;
	int node;			/* numa_node */
	struct gs_mask local_cpus;	/* local_cpulist */
};

/* What the tests need to know about the guest. */
struct gs_machine {
	struct gpusched_get_info info;		/* GET_INFO of the loaded module */
	unsigned int nr_cpu_ids;		/* = info.nr_cpu_ids */
	unsigned int nr_gpus;
	struct gs_gpu_dev gpus[GS_MAX_TEST_GPUS];	/* sorted by PCI address */
	struct gs_mask online;			/* online CPUs */
	__u32 core[GS_MAX_CPUS];		/* lowest CPU of each CPU's SMT core */
	__u32 package[GS_MAX_CPUS];		/* lowest CPU of each CPU's package */
	bool smt;				/* some core has two CPUs or more */
	struct gs_mask has_memory;		/* nodes with memory */
	struct gs_mask has_cpu;			/* nodes with CPUs */
};

/* Set by gs_drop_privileges() once it has made /dev the working directory. */
static bool gs_cwd_is_dev;

static inline int gs_open_device(void)
{
	int fd = open(GS_DEV_PATH, O_RDWR | O_CLOEXEC);

	/* See gs_drop_privileges(): "/" may be closed to unprivileged users. */
	if (fd < 0 && errno == EACCES && gs_cwd_is_dev)
		fd = open("gpusched", O_RDWR | O_CLOEXEC);
	return fd;
}

static inline int gs_get_info(int fd, struct gpusched_get_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, GPUSCHED_IOC_GET_INFO, info);
}

/* The current topology generation, or ~0 when GET_INFO fails. */
static inline __u64 gs_generation(int fd)
{
	struct gpusched_get_info info;

	return gs_get_info(fd, &info) ? ~0ULL : info.generation;
}

/* GET_INFO's nr_gpus, or ~0 when GET_INFO fails. */
static inline __u32 gs_info_nr_gpus(int fd)
{
	struct gpusched_get_info info;

	return gs_get_info(fd, &info) ? ~0U : info.nr_gpus;
}

static inline int gs_compare_strings(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/*
 * The stand-in GPUs: PCI functions of class 0x0380 (display controller;
 * bochs-display and virtio-gpu-pci), or 0x0300 (VGA) except on bus 0, where
 * an emulated chipset's own VGA sits; the stand-ins are behind PCI expander
 * bridges.  Sorted by PCI address (fixed-width hex, so strcmp() order).
 */
static inline int gs_discover_gpus(struct gs_machine *m)
{
	char names[GS_MAX_TEST_GPUS][32], class[32], buf[GS_CPULIST_LEN];
	unsigned int domain, bus, dev, fn, n = 0, i;
	struct dirent *de;
	long node;
	DIR *d;

	d = opendir(GS_PCI_DEVICES);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < GS_MAX_TEST_GPUS) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(names[0]))
			continue;
		if (gs_read_textf(class, sizeof(class), GS_PCI_DEVICES "/%s/class", de->d_name))
			continue;
		if (sscanf(de->d_name, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4)
			continue;
		if (strncmp(class, "0x0380", 6) && (strncmp(class, "0x0300", 6) || bus == 0))
			continue;
		snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), gs_compare_strings);

	for (i = 0; i < n; i++) {
		struct gs_gpu_dev *gpu = &m->gpus[i];

		memcpy(gpu->address, names[i], sizeof(gpu->address));
		gpu->address[sizeof(gpu->address) - 1] = '\0';
		sscanf(names[i], "%x:%x:%x.%x", &domain, &bus, &dev, &fn);
		gpu->domain = domain;
		gpu->bus = bus;
		gpu->devfn = dev << 3 | fn;
		if (gs_read_intf(&node, GS_PCI_DEVICES "/%s/numa_node", names[i]))
			node = -1;
		gpu->node = node;
		if (gs_read_textf(buf, sizeof(buf), GS_PCI_DEVICES "/%s/local_cpulist", names[i]) ||
		    gs_cpulist_parse(buf, &gpu->local_cpus))
			return -EINVAL;
	}
	m->nr_gpus = n;
	return 0;
}

/* Lowest CPU of a topology cpulist of @cpu, or @cpu itself when absent (offline). */
static inline __u32 gs_cpu_group_leader(unsigned int cpu, const char *file)
{
	struct gs_mask group;

	if (gs_read_cpulistf(&group, "/sys/devices/system/cpu/cpu%u/topology/%s", cpu, file) ||
	    gs_mask_empty(&group))
		return cpu;
	return gs_mask_first(&group);
}

/*
 * Fills @m from GET_INFO on @fd and the guest's sysfs.  0, or -errno with
 * the reason in @why.
 */
static inline int gs_discover(int fd, struct gs_machine *m, const char **why)
{
	char buf[GS_CPULIST_LEN];
	unsigned int cpu;
	int ret;

	memset(m, 0, sizeof(*m));
	if (gs_get_info(fd, &m->info)) {
		*why = "GET_INFO failed";
		return -errno;
	}
	m->nr_cpu_ids = m->info.nr_cpu_ids;
	if (!m->nr_cpu_ids || m->nr_cpu_ids > GS_MAX_CPUS) {
		*why = "nr_cpu_ids is 0 or above the tests' GS_MAX_CPUS";
		return -ERANGE;
	}
	if (gs_read_cpulistf(&m->online, "/sys/devices/system/cpu/online")) {
		*why = "cannot read /sys/devices/system/cpu/online";
		return -EIO;
	}
	for (cpu = 0; cpu < m->nr_cpu_ids; cpu++) {
		m->core[cpu] = gs_cpu_group_leader(cpu, "thread_siblings_list");
		/* package_cpus_list is the newer name of core_siblings_list. */
		m->package[cpu] = gs_cpu_group_leader(cpu, "package_cpus_list");
		if (m->package[cpu] == cpu)
			m->package[cpu] = gs_cpu_group_leader(cpu, "core_siblings_list");
		if (m->core[cpu] != cpu)
			m->smt = true;
	}
	if (gs_read_textf(buf, sizeof(buf), "/sys/devices/system/node/has_memory") ||
	    gs_cpulist_parse(buf, &m->has_memory) ||
	    gs_read_textf(buf, sizeof(buf), "/sys/devices/system/node/has_cpu") ||
	    gs_cpulist_parse(buf, &m->has_cpu)) {
		*why = "cannot read the node masks";
		return -EIO;
	}
	ret = gs_discover_gpus(m);
	if (ret) {
		*why = "cannot read the PCI devices";
		return ret;
	}
	return 0;
}

/* GPUs of the machine on the same node as @gpu, @gpu included. */
static inline unsigned int gs_gpus_on_node_of(const struct gs_machine *m, unsigned int gpu)
{
	unsigned int i, n = 0;

	for (i = 0; i < m->nr_gpus; i++)
		n += m->gpus[i].node == m->gpus[gpu].node;
	return n;
}

/* Another GPU on the node of @gpu, or -1. */
static inline int gs_gpu_sharing_node_with(const struct gs_machine *m, unsigned int gpu)
{
	unsigned int i;

	for (i = 0; i < m->nr_gpus; i++)
		if (i != gpu && m->gpus[i].node == m->gpus[gpu].node)
			return i;
	return -1;
}

/* Physical cores with a CPU in @mask. */
static inline unsigned int gs_cores_in(const struct gs_machine *m, const struct gs_mask *mask)
{
	struct gs_mask leaders;
	unsigned int cpu;

	gs_mask_zero(&leaders);
	for (cpu = 0; cpu < m->nr_cpu_ids; cpu++)
		if (gs_mask_test(mask, cpu))
			gs_mask_set(&leaders, m->core[cpu]);
	return gs_mask_weight(&leaders);
}

/* Whether @mask holds every online SMT sibling of each of its CPUs. */
static inline bool gs_whole_cores(const struct gs_machine *m, const struct gs_mask *mask)
{
	unsigned int cpu, sibling;

	for (cpu = 0; cpu < m->nr_cpu_ids; cpu++) {
		if (!gs_mask_test(mask, cpu))
			continue;
		for (sibling = 0; sibling < m->nr_cpu_ids; sibling++)
			if (m->core[sibling] == m->core[cpu] && gs_mask_test(&m->online, sibling) &&
			    !gs_mask_test(mask, sibling))
				return false;
	}
	return true;
}

/* The online SMT siblings of @cpu, @cpu included. */
static inline struct gs_mask gs_core_of(const struct gs_machine *m, unsigned int cpu)
{
	struct gs_mask core;
	unsigned int i;

	gs_mask_zero(&core);
	for (i = 0; i < m->nr_cpu_ids; i++)
		if (m->core[i] == m->core[cpu])
			gs_mask_set(&core, i);
	return core;
}

/* An address no PCI function has (domain 0, highest free bus, 1f.7), or -ENOENT. */
static inline int gs_absent_pci_address(struct gpusched_gpu *gpu)
{
	int bus;

	for (bus = 0xfe; bus > 0; bus--) {
		if (gs_path_exists(GS_PCI_DEVICES "/0000:%02x:1f.7", bus))
			continue;
		gpu->domain = 0;
		gpu->bus = bus;
		gpu->devfn = 0x1f << 3 | 7;
		return 0;
	}
	return -ENOENT;
}

/* A node id below nr_node_ids whose memory and CPUs are as asked, or -1. */
static inline int gs_find_node(const struct gs_machine *m, bool memory, bool cpus)
{
	unsigned int node;

	for (node = 0; node < m->info.nr_node_ids; node++)
		if (gs_mask_test(&m->has_memory, node) == memory &&
		    gs_mask_test(&m->has_cpu, node) == cpus)
			return node;
	return -1;
}

/* ---- topologies --------------------------------------------------------- */

/*
 * A SET_TOPOLOGY (or GET_TOPOLOGY) argument with its arrays.  @arg points
 * into this struct: never copy one by value, use gs_topo_copy().
 */
struct gs_topo {
	struct gpusched_topology arg;
	struct gpusched_gpu gpus[GS_MAX_TEST_GPUS];
	__u32 llc[GS_MAX_CPUS];
	struct gs_mask housekeeping;
};

static inline void gs_topo_point(struct gs_topo *t)
{
	t->arg.gpus = (uintptr_t)t->gpus;
	t->arg.llc = (uintptr_t)t->llc;
	t->arg.housekeeping = (uintptr_t)&t->housekeeping;
}

/* A recognisable UUID per GPU, so GET_TOPOLOGY shows it came back. */
static inline void gs_test_uuid(__u8 uuid[16], unsigned int gpu)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		uuid[i] = 0x10 * (gpu + 1) + i;
}

/*
 * Every stand-in GPU in PCI order with node and mem_node "any", the
 * package as each CPU's cache group, no housekeeping CPUs.
 */
static inline void gs_topo_full(struct gs_topo *t, const struct gs_machine *m)
{
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->arg.size = sizeof(t->arg);
	t->arg.nr_gpus = m->nr_gpus;
	t->arg.gpu_entry_size = sizeof(struct gpusched_gpu);
	t->arg.nr_cpus = m->nr_cpu_ids;
	for (i = 0; i < m->nr_gpus; i++) {
		t->gpus[i].domain = m->gpus[i].domain;
		t->gpus[i].bus = m->gpus[i].bus;
		t->gpus[i].devfn = m->gpus[i].devfn;
		t->gpus[i].node = GPUSCHED_NODE_ANY;
		t->gpus[i].mem_node = GPUSCHED_NODE_ANY;
		gs_test_uuid(t->gpus[i].uuid, i);
	}
	for (i = 0; i < m->nr_cpu_ids; i++)
		t->llc[i] = m->package[i];
	gs_topo_point(t);
}

/* The GPUs of the full topology in reverse order (same GPUs, new indices). */
static inline void gs_topo_reversed(struct gs_topo *t, const struct gs_machine *m)
{
	struct gpusched_gpu tmp;
	unsigned int i, n = m->nr_gpus;

	gs_topo_full(t, m);
	for (i = 0; i < n / 2; i++) {
		tmp = t->gpus[i];
		t->gpus[i] = t->gpus[n - 1 - i];
		t->gpus[n - 1 - i] = tmp;
	}
}

static inline void gs_topo_copy(struct gs_topo *dst, const struct gs_topo *src)
{
	memcpy(dst, src, sizeof(*dst));
	dst->arg.generation = 0;
	gs_topo_point(dst);
}

/* SET_TOPOLOGY (generation zeroed first); 0 or errno, the new generation in @t. */
static inline int gs_set_topology(int fd, struct gs_topo *t)
{
	t->arg.generation = 0;
	return ioctl(fd, GPUSCHED_IOC_SET_TOPOLOGY, &t->arg) ? errno : 0;
}

/* GET_TOPOLOGY into @t with room for everything; 0 or errno. */
static inline int gs_get_topology(int fd, struct gs_topo *t, const struct gs_machine *m)
{
	memset(t, 0, sizeof(*t));
	t->arg.size = sizeof(t->arg);
	t->arg.nr_gpus = GS_MAX_TEST_GPUS;
	t->arg.gpu_entry_size = sizeof(struct gpusched_gpu);
	t->arg.nr_cpus = m->nr_cpu_ids;
	gs_topo_point(t);
	return ioctl(fd, GPUSCHED_IOC_GET_TOPOLOGY, &t->arg) ? errno : 0;
}

/* Whether two GPU records name the same PCI functions in the same order. */
static inline bool gs_same_gpus(const struct gs_topo *a, const struct gs_topo *b)
{
	unsigned int i;

	if (a->arg.nr_gpus != b->arg.nr_gpus)
		return false;
	for (i = 0; i < a->arg.nr_gpus; i++)
		if (a->gpus[i].domain != b->gpus[i].domain || a->gpus[i].bus != b->gpus[i].bus ||
		    a->gpus[i].devfn != b->gpus[i].devfn)
			return false;
	return true;
}

/*
 * @size bytes whose end touches an inaccessible page, so that reading or
 * writing one byte past them faults; NULL on failure.  Never freed: each
 * test runs in its own process.
 */
static inline void *gs_alloc_before_guard(size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t span = (size + page - 1) / page * page;
	char *p;

	p = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + span, page, PROT_NONE))
		return NULL;
	memset(p, 0, span);
	return p + span - size;
}

/* An address in mapped but inaccessible memory (EFAULT for the kernel). */
static inline void *gs_inaccessible(void)
{
	void *p = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? (void *)8 : p;
}

/* ---- tasks -------------------------------------------------------------- */

static inline pid_t gs_gettid(void)
{
	return syscall(SYS_gettid);
}

/* The CPUs thread @tid (0: the caller) may run on; 0 or -errno. */
static inline int gs_affinity(pid_t tid, struct gs_mask *m)
{
	cpu_set_t set;
	unsigned int cpu;

	gs_mask_zero(m);
	CPU_ZERO(&set);
	if (sched_getaffinity(tid, sizeof(set), &set))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE && cpu < GS_MAX_CPUS; cpu++)
		if (CPU_ISSET(cpu, &set))
			gs_mask_set(m, cpu);
	return 0;
}

static inline int gs_set_affinity(pid_t tid, const struct gs_mask *m)
{
	cpu_set_t set;
	unsigned int cpu;

	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE && cpu < GS_MAX_CPUS; cpu++)
		if (gs_mask_test(m, cpu))
			CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

/*
 * What the packaged udev rule does when the module registers the device:
 * group gpusched, mode 0660.  The test guest has no udev; a test that
 * loads the module again calls this.
 */
static inline int gs_apply_udev_rule(void)
{
	if (chown(GS_DEV_PATH, 0, GS_DEVICE_GID) || chmod(GS_DEV_PATH, 0660))
		return -errno;
	return 0;
}

/* Loads the module from the open file @ko as /init does; 0 or errno. */
static inline int gs_module_load(int ko)
{
	if (syscall(SYS_finit_module, ko, "", 0))
		return errno;
	return -gs_apply_udev_rule();
}

/* Unloads the module, failing at once while it is in use; 0 or errno. */
static inline int gs_module_unload(void)
{
	return syscall(SYS_delete_module, "gpusched", O_NONBLOCK) ? errno : 0;
}

/*
 * Becomes @uid/@uid with no capabilities at all, as an ordinary user's
 * process is, a member of the device's group when @in_group and of no
 * supplementary group otherwise; 0 or -errno.  The test guest's initramfs
 * root directory is mode 0700 (mkinitramfs.sh builds it in a mktemp -d
 * directory), so an unprivileged process cannot resolve /dev/gpusched; it
 * moves to /dev first, from where gs_open_device() opens the device by its
 * relative name.
 */
static inline int gs_drop_privileges_to(uid_t uid, bool in_group)
{
	gid_t device_group = GS_DEVICE_GID;
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (chdir("/dev"))
		return -errno;
	gs_cwd_is_dev = true;
	if (setgroups(in_group, &device_group) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	if (syscall(SYS_capset, &header, data))
		return -errno;
	return 0;
}

/* An ordinary user of the device: a member of its group. */
static inline int gs_drop_privileges(uid_t uid)
{
	return gs_drop_privileges_to(uid, true);
}

/* Closes every descriptor from 3 up except @keep1 and @keep2. */
static inline void gs_close_other_fds(int keep1, int keep2)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != keep1 && fd != keep2)
			close(fd);
}

/*
 * Runs @fn in a forked child that has become @uid (in the device's group
 * when @in_group) and closed every inherited descriptor.  Returns @fn's
 * return value (0..255, an errno by convention), or -1 if the child could
 * not do its part.
 */
static inline int gs_run_as(uid_t uid, bool in_group, int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		gs_close_other_fds(-1, -1);
		if (gs_drop_privileges_to(uid, in_group))
			_exit(255);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

/* gs_run_as() as nobody, a member of the device's group. */
static inline int gs_run_unprivileged(int (*fn)(void *arg), void *arg)
{
	return gs_run_as(GS_NOBODY, true, fn, arg);
}

/* A process id that no task has right now (a reaped child's). */
static inline pid_t gs_unused_pid(void)
{
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

static inline long long gs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void gs_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- cgroup v2 cpusets --------------------------------------------------- */

/*
 * Creates the cgroup @path (below GS_CGROUP_ROOT) with the cpuset
 * controller and cpuset.cpus = @cpus.  0 or -errno; fails when the guest's
 * cgroup2 has no cpuset controller.
 */
static inline int gs_cpuset_create(const char *path, const struct gs_mask *cpus)
{
	char list[GS_CPULIST_LEN], file[512];
	int ret;

	ret = gs_write_text(GS_CGROUP_ROOT "/cgroup.subtree_control", "+cpuset");
	if (ret)
		return ret;
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	snprintf(file, sizeof(file), "%s/cpuset.cpus", path);
	return gs_write_text(file, gs_cpulist_format(cpus, list, sizeof(list)));
}

/* Moves process @pid into the cgroup @path; 0 or -errno. */
static inline int gs_cgroup_move(const char *path, pid_t pid)
{
	char file[512], text[32];

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(text, sizeof(text), "%d", pid);
	return gs_write_text(file, text);
}

/* Removes the cgroup @path once its (killed) processes are gone; 0 or -errno. */
static inline int gs_cgroup_remove(const char *path)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		gs_sleep_ms(10);
	}
	return -EBUSY;
}

/* ---- fault injection (fail-nth) ---------------------------------------- */

#define GS_FAIL_NTH		"/proc/thread-self/fail-nth"
#define GS_FAULT_DEBUGFS	"/sys/kernel/debug"

/*
 * Makes the injectors fail what fail-nth asks for: GFP_KERNEL allocations
 * (they are ignored by default because they may sleep), order-0 pages, and
 * without a stack dump per injected fault.  0, or -errno when the kernel
 * cannot inject faults.
 */
static inline int gs_inject_setup(void)
{
	static const char *const settings[][2] = {
		{ GS_FAULT_DEBUGFS "/failslab/ignore-gfp-wait", "N" },
		{ GS_FAULT_DEBUGFS "/failslab/verbose", "0" },
		{ GS_FAULT_DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ GS_FAULT_DEBUGFS "/fail_page_alloc/min-order", "0" },
		{ GS_FAULT_DEBUGFS "/fail_page_alloc/verbose", "0" },
		{ GS_FAULT_DEBUGFS "/fail_usercopy/verbose", "0" },
	};
	struct stat st;
	unsigned int i;
	int ret;

	if (stat(GS_FAIL_NTH, &st))
		return -errno;
	if (stat(GS_FAULT_DEBUGFS "/failslab", &st) &&
	    mount("debugfs", GS_FAULT_DEBUGFS, "debugfs", 0, NULL))
		return -errno;
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		ret = gs_write_text(settings[i][0], settings[i][1]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The calling thread's fail-nth, opened once: opening it is itself a call. */
static __thread int gs_fail_nth_fd __attribute__((unused)) = -1;

static inline int gs_inject_open(void)
{
	if (gs_fail_nth_fd < 0)
		gs_fail_nth_fd = open(GS_FAIL_NTH, O_RDWR | O_CLOEXEC);
	return gs_fail_nth_fd < 0 ? -errno : 0;
}

/* The next call of this thread fails its @n-th fault point. */
static inline int gs_inject_arm(unsigned int n)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%u", n);

	return pwrite(gs_fail_nth_fd, text, len, 0) == len ? 0 : -errno;
}

/*
 * Whether the call since gs_inject_arm() had a fault injected (fail-nth
 * counted down to 0), and disarms.  Reading copies to user space, itself a
 * fault point while fail-nth is still counting: EFAULT then also means
 * "not reached".
 */
static inline bool gs_inject_fired(void)
{
	unsigned int tries;
	char text[16] = "";
	ssize_t len;

	len = pread(gs_fail_nth_fd, text, sizeof(text) - 1, 0);
	/* The write's own user copy may be the one that fails: then it is 0. */
	for (tries = 0; tries < 3; tries++)
		if (pwrite(gs_fail_nth_fd, "0", 1, 0) == 1)
			break;
	return len > 0 && text[0] == '0';
}

/* ---- fixtures ------------------------------------------------------------ */

/*
 * What every ABI fixture starts with: a file of its own on the device, the
 * machine as the guest's sysfs shows it, and every stand-in GPU set as the
 * topology.  0; 1 with a reason in @why when the machine has no stand-in
 * GPU; -1 with the failed step in @why (and errno) otherwise.
 */
static inline int gs_fixture_start(int *fd, struct gs_machine *m, struct gs_topo *full,
				   const char **why)
{
	*fd = gs_open_device();
	if (*fd < 0) {
		*why = "open " GS_DEV_PATH;
		return -1;
	}
	if (gs_discover(*fd, m, why))
		return -1;
	if (!m->nr_gpus) {
		*why = "no stand-in GPU (PCI class 0x0380) in this machine";
		return 1;
	}
	gs_topo_full(full, m);
	if (gs_set_topology(*fd, full)) {
		*why = "SET_TOPOLOGY of every stand-in GPU";
		return -1;
	}
	return 0;
}

/* gs_fixture_start() for a FIXTURE_SETUP with fd, m and full members. */
#define GS_FIXTURE_START(self) do {						\
	const char *_gs_why = "";						\
	int _gs_ret = gs_fixture_start(&(self)->fd, &(self)->m, &(self)->full,	\
				       &_gs_why);				\
										\
	ASSERT_LE(0, _gs_ret) TH_LOG("%s: %s", _gs_why, strerror(errno));	\
	if (_gs_ret)								\
		SKIP(return, "%s", _gs_why);					\
} while (0)

/* ---- PIN / UNPIN / QUERY ------------------------------------------------ */

/* A PIN argument; @cpus (may be NULL) gets nr_cpu_ids bits of room. */
static inline struct gpusched_pin gs_pin_arg(const struct gs_machine *m, __u32 target_type,
					     __u32 target_id, __u32 gpu, __u32 policy,
					     struct gs_mask *cpus)
{
	struct gpusched_pin pin = {
		.size = sizeof(pin),
		.target_type = target_type,
		.target_id = target_id,
		.gpu = gpu,
		.policy = policy,
		.nr_cpus = cpus ? m->nr_cpu_ids : 0,
		.cpus = (uintptr_t)cpus,
	};

	if (cpus)
		gs_mask_zero(cpus);
	return pin;
}

/* Pins thread @tid (0: the caller) through @fd; 0 or errno. */
static inline int gs_pin_thread(int fd, const struct gs_machine *m, pid_t tid, __u32 gpu,
				__u32 policy, struct gs_mask *cpus)
{
	struct gpusched_pin pin = gs_pin_arg(m, GPUSCHED_TARGET_THREAD, tid, gpu, policy, cpus);

	return ioctl(fd, GPUSCHED_IOC_PIN, &pin) ? errno : 0;
}

/* Unpins @target_id through @fd; 0 or errno, threads unpinned in @nr_threads. */
static inline int gs_unpin(int fd, __u32 target_type, __u32 target_id, __u32 *nr_threads)
{
	struct gpusched_unpin unpin = {
		.size = sizeof(unpin),
		.target_type = target_type,
		.target_id = target_id,
	};

	if (ioctl(fd, GPUSCHED_IOC_UNPIN, &unpin))
		return errno;
	if (nr_threads)
		*nr_threads = unpin.nr_threads;
	return 0;
}

/* QUERY of thread @tid through @fd into @q (masks may be NULL); 0 or errno. */
static inline int gs_query(int fd, const struct gs_machine *m, pid_t tid,
			   struct gpusched_query *q, struct gs_mask *cpus,
			   struct gs_mask *original)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->target_type = GPUSCHED_TARGET_THREAD;
	q->target_id = tid;
	q->nr_cpus = m->nr_cpu_ids;
	q->cpus = (uintptr_t)cpus;
	q->original_cpus = (uintptr_t)original;
	return ioctl(fd, GPUSCHED_IOC_QUERY, q) ? errno : 0;
}

/* QUERY's result bits for @tid, or ~0 when QUERY fails. */
static inline __u32 gs_query_result(int fd, const struct gs_machine *m, pid_t tid)
{
	struct gpusched_query q;

	return gs_query(fd, m, tid, &q, NULL, NULL) ? ~0U : q.result;
}

/*
 * CPUs a NODE pin of @gpu gives a task allowed @allowed when @housekeeping
 * is kept back: the GPU's local CPUs that are online, allowed and not
 * housekeeping.
 */
static inline struct gs_mask gs_expected_node_cpus(const struct gs_machine *m, unsigned int gpu,
						   const struct gs_mask *allowed,
						   const struct gs_mask *housekeeping)
{
	struct gs_mask r = gs_mask_and(&m->gpus[gpu].local_cpus, &m->online);

	r = gs_mask_and(&r, allowed);
	if (housekeeping)
		r = gs_mask_andnot(&r, housekeeping);
	return r;
}

/* ---- agents: other processes with their own file ------------------------ */

#define GS_AGENT_MAX_THREADS	8

enum gs_agent_op {
	GS_AGENT_OPEN = 1,		/* open its own file of the device */
	GS_AGENT_CLOSE,			/* close it */
	GS_AGENT_DROP_PRIVILEGES,	/* become @arg with no capabilities */
	GS_AGENT_PIN,			/* PIN with @pin (cpus: non-zero = want them) */
	GS_AGENT_UNPIN,			/* UNPIN with @unpin */
	GS_AGENT_QUERY,			/* QUERY with @query (masks: non-zero = want them) */
	GS_AGENT_THREADS,		/* start @arg more threads that only sleep */
	GS_AGENT_EXIT,
};

struct gs_agent_request {
	int op;
	unsigned int arg;
	struct gpusched_pin pin;
	struct gpusched_unpin unpin;
	struct gpusched_query query;
};

struct gs_agent_reply {
	int err;			/* 0 or the errno of the operation */
	struct gpusched_pin pin;	/* as the module left it */
	struct gpusched_unpin unpin;
	struct gpusched_query query;
	struct gs_mask cpus;
	struct gs_mask original;
	unsigned int nr_tids;		/* THREADS: the new threads' ids */
	pid_t tids[GS_AGENT_MAX_THREADS];
};

/* A forked helper process; pid 0 when not running. */
struct gs_agent {
	pid_t pid;
	int request;	/* write end: test -> agent */
	int reply;	/* read end: agent -> test */
};

static inline bool gs_full_io(int fd, void *buf, size_t len, bool writing)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static inline void *gs_agent_sleeper(void *arg)
{
	pid_t tid = gs_gettid();

	gs_full_io(*(int *)arg, &tid, sizeof(tid), true);
	for (;;)
		pause();
	return NULL;
}

static inline void gs_agent_run(struct gs_agent_request *req, struct gs_agent_reply *rep, int *fd)
{
	int tid_pipe[2];
	pthread_t thread;
	unsigned int i;

	switch (req->op) {
	case GS_AGENT_OPEN:
		*fd = gs_open_device();
		rep->err = *fd < 0 ? errno : 0;
		break;
	case GS_AGENT_CLOSE:
		rep->err = close(*fd) ? errno : 0;
		*fd = -1;
		break;
	case GS_AGENT_DROP_PRIVILEGES:
		rep->err = -gs_drop_privileges(req->arg);
		break;
	case GS_AGENT_PIN:
		if (req->pin.cpus)
			req->pin.cpus = (uintptr_t)&rep->cpus;
		rep->err = ioctl(*fd, GPUSCHED_IOC_PIN, &req->pin) ? errno : 0;
		rep->pin = req->pin;
		break;
	case GS_AGENT_UNPIN:
		rep->err = ioctl(*fd, GPUSCHED_IOC_UNPIN, &req->unpin) ? errno : 0;
		rep->unpin = req->unpin;
		break;
	case GS_AGENT_QUERY:
		if (req->query.cpus)
			req->query.cpus = (uintptr_t)&rep->cpus;
		if (req->query.original_cpus)
			req->query.original_cpus = (uintptr_t)&rep->original;
		rep->err = ioctl(*fd, GPUSCHED_IOC_QUERY, &req->query) ? errno : 0;
		rep->query = req->query;
		break;
	case GS_AGENT_THREADS:
		if (req->arg > GS_AGENT_MAX_THREADS || pipe(tid_pipe)) {
			rep->err = EINVAL;
			break;
		}
		for (i = 0; i < req->arg; i++) {
			rep->err = pthread_create(&thread, NULL, gs_agent_sleeper, &tid_pipe[1]);
			if (rep->err || !gs_full_io(tid_pipe[0], &rep->tids[i], sizeof(pid_t), false))
				break;
			rep->nr_tids++;
		}
		close(tid_pipe[0]);
		close(tid_pipe[1]);
		break;
	default:
		_exit(0);
	}
}

static inline void gs_agent_main(int requests, int replies, pid_t parent)
{
	struct gs_agent_request req;
	struct gs_agent_reply rep;
	int fd = -1;

	/* Never outlive the test, whatever happens to it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* Ready: the inherited descriptors are closed (see gs_agent_start()). */
	memset(&rep, 0, sizeof(rep));
	if (!gs_full_io(replies, &rep, sizeof(rep), true))
		_exit(0);
	for (;;) {
		if (!gs_full_io(requests, &req, sizeof(req), false))
			_exit(0);
		memset(&rep, 0, sizeof(rep));
		gs_agent_run(&req, &rep, &fd);
		if (!gs_full_io(replies, &rep, sizeof(rep), true))
			_exit(0);
	}
}

/* SIGKILLs the agent, if running, and reaps it. */
static inline void gs_agent_kill(struct gs_agent *a)
{
	if (!a->pid)
		return;
	kill(a->pid, SIGKILL);
	close(a->request);
	close(a->reply);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
}

/*
 * Starts an agent: a child that has closed every descriptor it inherited
 * when this returns (so that closing the test's own files really releases
 * them) and waits for requests.  0 or -errno.
 */
static inline int gs_agent_start(struct gs_agent *a)
{
	int to_agent[2], from_agent[2];
	struct gs_agent_reply ready;
	pid_t parent = getpid();

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(to_agent, O_CLOEXEC))
		return -errno;
	if (pipe2(from_agent, O_CLOEXEC)) {
		close(to_agent[0]);
		close(to_agent[1]);
		return -errno;
	}
	fflush(stdout);
	fflush(stderr);
	a->pid = fork();
	if (a->pid < 0) {
		a->pid = 0;
		return -errno;
	}
	if (!a->pid) {
		gs_close_other_fds(to_agent[0], from_agent[1]);
		gs_agent_main(to_agent[0], from_agent[1], parent);
	}
	close(to_agent[0]);
	close(from_agent[1]);
	a->request = to_agent[1];
	a->reply = from_agent[0];
	if (!gs_full_io(a->reply, &ready, sizeof(ready), false)) {
		gs_agent_kill(a);
		return -ECHILD;
	}
	return 0;
}

/* One request; the operation's errno (0 on success), or -1 if the agent is gone. */
static inline int gs_agent_call(struct gs_agent *a, struct gs_agent_request *req,
				struct gs_agent_reply *rep)
{
	if (!a->pid || !gs_full_io(a->request, req, sizeof(*req), true) ||
	    !gs_full_io(a->reply, rep, sizeof(*rep), false))
		return -1;
	return rep->err;
}

static inline int gs_agent_simple(struct gs_agent *a, int op, unsigned int arg)
{
	struct gs_agent_request req = { .op = op, .arg = arg };
	struct gs_agent_reply rep;

	return gs_agent_call(a, &req, &rep);
}

static inline int gs_agent_open(struct gs_agent *a)
{
	return gs_agent_simple(a, GS_AGENT_OPEN, 0);
}

static inline int gs_agent_close(struct gs_agent *a)
{
	return gs_agent_simple(a, GS_AGENT_CLOSE, 0);
}

static inline int gs_agent_drop_privileges(struct gs_agent *a, uid_t uid)
{
	return gs_agent_simple(a, GS_AGENT_DROP_PRIVILEGES, uid);
}

/* The agent PINs through its file; @pin is updated, @cpus gets the CPUs. */
static inline int gs_agent_pin(struct gs_agent *a, struct gpusched_pin *pin, struct gs_mask *cpus)
{
	struct gs_agent_request req = { .op = GS_AGENT_PIN, .pin = *pin };
	struct gs_agent_reply rep;
	int ret;

	req.pin.cpus = cpus ? 1 : 0;
	ret = gs_agent_call(a, &req, &rep);
	if (ret < 0)
		return ret;
	rep.pin.cpus = pin->cpus;
	*pin = rep.pin;
	if (cpus)
		*cpus = rep.cpus;
	return ret;
}

/* The agent pins itself (one thread) through its file. */
static inline int gs_agent_pin_self(struct gs_agent *a, const struct gs_machine *m, __u32 gpu,
				    __u32 policy, __u32 flags, struct gs_mask *cpus)
{
	struct gpusched_pin pin = gs_pin_arg(m, GPUSCHED_TARGET_THREAD, 0, gpu, policy, cpus);

	pin.flags = flags;
	return gs_agent_pin(a, &pin, cpus);
}

static inline int gs_agent_unpin(struct gs_agent *a, __u32 target_type, __u32 target_id)
{
	struct gs_agent_request req = {
		.op = GS_AGENT_UNPIN,
		.unpin = {
			.size = sizeof(struct gpusched_unpin),
			.target_type = target_type,
			.target_id = target_id,
		},
	};
	struct gs_agent_reply rep;

	return gs_agent_call(a, &req, &rep);
}

/* Starts @n sleeping threads in the agent; their ids go to @tids. */
static inline int gs_agent_threads(struct gs_agent *a, unsigned int n, pid_t *tids)
{
	struct gs_agent_request req = { .op = GS_AGENT_THREADS, .arg = n };
	struct gs_agent_reply rep;
	int ret;

	ret = gs_agent_call(a, &req, &rep);
	if (ret)
		return ret;
	if (rep.nr_tids != n)
		return -1;
	memcpy(tids, rep.tids, n * sizeof(pid_t));
	return 0;
}

/* Ends the agent normally and reaps it; its exit status, or -1. */
static inline int gs_agent_stop(struct gs_agent *a)
{
	int status;

	if (!a->pid)
		return -1;
	close(a->request);
	close(a->reply);
	if (waitpid(a->pid, &status, 0) != a->pid) {
		a->pid = 0;
		return -1;
	}
	a->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- macros for test bodies --------------------------------------------- */

/* Expect two masks to be equal, and show both as cpulists when not. */
#define EXPECT_MASK_EQ(expected, seen) do {					\
	const struct gs_mask *_gs_e = (expected), *_gs_s = (seen);		\
	char _gs_eb[GS_CPULIST_LEN], _gs_sb[GS_CPULIST_LEN];			\
										\
	EXPECT_TRUE(gs_mask_equal(_gs_e, _gs_s))				\
		TH_LOG("expected CPUs '%s', got '%s'",				\
		       gs_cpulist_format(_gs_e, _gs_eb, sizeof(_gs_eb)),	\
		       gs_cpulist_format(_gs_s, _gs_sb, sizeof(_gs_sb)));	\
} while (0)

/* Expect thread @tid's affinity to be @expected. */
#define EXPECT_AFFINITY(expected, tid) do {					\
	struct gs_mask _gs_now;							\
										\
	EXPECT_EQ(0, gs_affinity(tid, &_gs_now));				\
	EXPECT_MASK_EQ(expected, &_gs_now);					\
} while (0)

#endif /* GPUSCHED_TEST_UTIL_H */
