// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the module's /dev/gpusched, preloaded (LD_PRELOAD) into
 * the gpusched CLI so that test_cli can check what `status` prints for
 * pins in every state without a kernel module, and into gpuschedd so that
 * test_gpuschedd can run the daemon as it serves.  It replaces ioctl(2) on
 * the one file named by FAKE_GPUSCHED_DEVICE (any regular file; the CLI
 * opens it through --device) and passes every other ioctl on.  It answers
 * GPUSCHED_IOC_GET_INFO, GPUSCHED_IOC_GET_TOPOLOGY and GPUSCHED_IOC_QUERY
 * the way the module does (the size rules of Documentation/ioctl.rst, the
 * fields written back, EMSGSIZE for short masks); GPUSCHED_IOC_SET_TOPOLOGY
 * is checked for its sizes, counted and otherwise dropped; other commands
 * give ENOTTY.  What it holds comes from the environment, read at the
 * first call:
 *
 *   FAKE_GPUSCHED_DEVICE  the path standing for /dev/gpusched
 *   FAKE_GPUSCHED_GPUS    GPUs in the topology (default 2), all on node 0,
 *                         at PCI addresses 0000:18:00.0, 0000:28:00.0, ...
 *   FAKE_GPUSCHED_PINS    the pinned threads, ';'-separated entries
 *                         TID:GPU:POLICY:RESULT:REASON:NR_FOLLOWED:OWNER:CPUS
 *                         (RESULT the GPUSCHED_QUERY_* bits besides PINNED,
 *                         REASON a GPUSCHED_PIN_REASON_* value, CPUS a
 *                         cpulist); every other thread is not pinned
 *   FAKE_GPUSCHED_FEEDS   a file to which every SET_TOPOLOGY it takes
 *                         appends a line "gpus=N uuid0=HEX": the GPU
 *                         count and GPU 0's UUID in hex, all zero when
 *                         unknown
 *   FAKE_GPUSCHED_OLD     "1": a module from before
 *                         GPUSCHED_FEATURE_PIN_STATE: no feature bits, and
 *                         QUERY knows only the fields up to original_cpus
 *
 * The module's machine has 64 possible CPUs.  Apart from the module,
 * FAKE_POSSIBLE_CPUS=N makes sched_getaffinity(2) refuse, as the kernel
 * does, a set of fewer than N bits: a kernel with N possible CPUs, most
 * of them absent (hotplug slots).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/gpusched.h>

#define FAKE_NR_CPU_IDS		64
#define FAKE_MAX_PINS		64
#define FAKE_GENERATION		7

struct fake_pin {
	pid_t tid, owner;
	unsigned int gpu, policy, result, reason, nr_followed;
	uint64_t cpus;
};

static struct {
	bool ready;
	char device[PATH_MAX];
	unsigned int nr_gpus;
	bool old;
	struct fake_pin pins[FAKE_MAX_PINS];
	unsigned int nr_pins;
} fake;

/* "0-3,8" into a mask of the first 64 CPUs; returns 0 or -1. */
static int parse_cpus(const char *text, uint64_t *mask)
{
	*mask = 0;
	while (*text) {
		char *end;
		unsigned long first = strtoul(text, &end, 10), last = first;

		if (end == text)
			return -1;
		if (*end == '-')
			last = strtoul(end + 1, &end, 10);
		if (first > last || last >= FAKE_NR_CPU_IDS || (*end && *end != ','))
			return -1;
		for (; first <= last; first++)
			*mask |= 1ULL << first;
		text = *end ? end + 1 : end;
	}
	return 0;
}

static void fake_setup(void)
{
	const char *device = getenv("FAKE_GPUSCHED_DEVICE"), *gpus = getenv("FAKE_GPUSCHED_GPUS");
	const char *old = getenv("FAKE_GPUSCHED_OLD");
	char *pins = getenv("FAKE_GPUSCHED_PINS") ? strdup(getenv("FAKE_GPUSCHED_PINS")) : NULL;
	char *entry, *save = NULL;

	fake.ready = true;
	if (!device || !realpath(device, fake.device))
		fake.device[0] = '\0';
	fake.nr_gpus = gpus ? (unsigned int)atoi(gpus) : 2;
	fake.old = old && !strcmp(old, "1");
	for (entry = pins ? strtok_r(pins, ";", &save) : NULL; entry && fake.nr_pins < FAKE_MAX_PINS;
	     entry = strtok_r(NULL, ";", &save)) {
		struct fake_pin *pin = &fake.pins[fake.nr_pins];
		char cpus[256];

		if (sscanf(entry, "%d:%u:%u:%u:%u:%u:%d:%255s", &pin->tid, &pin->gpu, &pin->policy,
			   &pin->result, &pin->reason, &pin->nr_followed, &pin->owner, cpus) != 8 ||
		    parse_cpus(cpus, &pin->cpus)) {
			fprintf(stderr, "fake_gpusched: bad FAKE_GPUSCHED_PINS entry \"%s\"\n", entry);
			continue;
		}
		fake.nr_pins++;
	}
	free(pins);
}

/* Whether @fd is the stand-in device. */
static bool fake_fd(int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t len;

	if (!fake.ready)
		fake_setup();
	if (!fake.device[0])
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return false;
	target[len] = '\0';
	return !strcmp(target, fake.device);
}

/*
 * The module's rules for a command struct of @known bytes whose first
 * version ends at @min_size: reads the caller's @arg into @buf.  Returns
 * the bytes to write back, or -errno.
 */
static long fake_copy_in(void *arg, void *buf, size_t known, size_t min_size)
{
	uint32_t size;
	size_t i;

	memcpy(&size, arg, sizeof(size));
	if (size < min_size)
		return -EINVAL;
	for (i = known; i < size; i++)
		if (((const unsigned char *)arg)[i])
			return -E2BIG;
	memset(buf, 0, known);
	memcpy(buf, arg, size < known ? size : known);
	return size < known ? size : known;
}

static void fake_write_mask(uint64_t user, uint64_t mask)
{
	if (user)
		memcpy((void *)(uintptr_t)user, &mask, sizeof(mask));
}

static int fake_get_info(struct gpusched_get_info *info)
{
	info->abi_version = GPUSCHED_ABI_VERSION;
	info->nr_cpu_ids = FAKE_NR_CPU_IDS;
	info->nr_node_ids = 1;
	info->features = fake.old ? 0 : GPUSCHED_FEATURE_PIN_STATE;
	info->max_gpus = GPUSCHED_MAX_GPUS;
	info->nr_gpus = fake.nr_gpus;
	info->default_policy = GPUSCHED_POLICY_NODE;
	info->generation = FAKE_GENERATION;
	return 0;
}

static int fake_get_topology(struct gpusched_topology *topo)
{
	struct gpusched_gpu *gpus = (struct gpusched_gpu *)(uintptr_t)topo->gpus;
	uint32_t *llc = (uint32_t *)(uintptr_t)topo->llc;
	unsigned int i;

	if (topo->nr_gpus < fake.nr_gpus || topo->nr_cpus < FAKE_NR_CPU_IDS) {
		topo->nr_gpus = fake.nr_gpus;
		topo->nr_cpus = FAKE_NR_CPU_IDS;
		return -EMSGSIZE;
	}
	for (i = 0; i < fake.nr_gpus; i++) {
		memset(&gpus[i], 0, topo->gpu_entry_size);
		gpus[i].bus = 0x18 + 0x10 * i;
		gpus[i].node = 0;
		gpus[i].mem_node = GPUSCHED_NODE_ANY;
	}
	for (i = 0; llc && i < FAKE_NR_CPU_IDS; i++)
		llc[i] = i;
	fake_write_mask(topo->housekeeping, 0);
	topo->nr_gpus = fake.nr_gpus;
	topo->nr_cpus = FAKE_NR_CPU_IDS;
	topo->generation = FAKE_GENERATION;
	return 0;
}

/* Takes a SET_TOPOLOGY whose sizes fit this machine and notes it in the feed log. */
static int fake_set_topology(struct gpusched_topology *topo)
{
	const struct gpusched_gpu *gpus = (const struct gpusched_gpu *)(uintptr_t)topo->gpus;
	const char *path = getenv("FAKE_GPUSCHED_FEEDS");
	FILE *log;
	unsigned int i;

	if (topo->flags || topo->__reserved || topo->nr_gpus > GPUSCHED_MAX_GPUS ||
	    topo->gpu_entry_size != sizeof(*gpus) || topo->nr_cpus != FAKE_NR_CPU_IDS ||
	    (topo->nr_gpus && !gpus))
		return -EINVAL;
	topo->generation = FAKE_GENERATION + 1;
	if (!path || !*path)
		return 0;
	log = fopen(path, "a");
	if (!log)
		return 0;
	fprintf(log, "gpus=%u uuid0=", topo->nr_gpus);
	for (i = 0; i < 16; i++)
		fprintf(log, "%02x", topo->nr_gpus ? gpus[0].uuid[i] : 0);
	fputc('\n', log);
	fclose(log);
	return 0;
}

static int fake_query(struct gpusched_query *query)
{
	const struct fake_pin *pin = NULL;
	unsigned int i;

	if (query->target_type != GPUSCHED_TARGET_THREAD)
		return -EINVAL;
	if ((query->cpus || query->original_cpus) && query->nr_cpus < FAKE_NR_CPU_IDS) {
		query->nr_cpus = FAKE_NR_CPU_IDS;
		return -EMSGSIZE;
	}
	for (i = 0; i < fake.nr_pins; i++)
		if (fake.pins[i].tid == (pid_t)query->target_id)
			pin = &fake.pins[i];
	query->result = 0;
	query->gpu = 0;
	query->policy = 0;
	query->owner_pid = 0;
	query->nr_cpus = FAKE_NR_CPU_IDS;
	query->reason = 0;
	query->nr_followed = 0;
	if (!pin)
		return 0;
	query->result = GPUSCHED_QUERY_PINNED | pin->result;
	if (fake.old)
		query->result &= GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE;
	query->gpu = pin->gpu;
	query->policy = pin->policy;
	query->owner_pid = pin->owner;
	query->reason = pin->reason;
	query->nr_followed = pin->nr_followed;
	fake_write_mask(query->cpus, pin->cpus);
	fake_write_mask(query->original_cpus, pin->cpus);
	return 0;
}

int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set)
{
	static int (*real)(pid_t, size_t, cpu_set_t *);
	const char *possible = getenv("FAKE_POSSIBLE_CPUS");

	if (possible && size * 8 < strtoul(possible, NULL, 10)) {
		errno = EINVAL;
		return -1;
	}
	if (!real)
		real = (int (*)(pid_t, size_t, cpu_set_t *))dlsym(RTLD_NEXT, "sched_getaffinity");
	return real(pid, size, set);
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real_ioctl)(int, unsigned long, ...);
	union {
		struct gpusched_get_info info;
		struct gpusched_topology topo;
		struct gpusched_query query;
	} buf;
	size_t known, min_size;
	void *arg;
	va_list ap;
	long copy;
	int ret;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!fake_fd(fd)) {
		if (!real_ioctl)
			real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
		return real_ioctl(fd, request, arg);
	}
	switch (request) {
	case GPUSCHED_IOC_GET_INFO:
		known = sizeof(struct gpusched_get_info);
		min_size = offsetof(struct gpusched_get_info, max_gpus);
		break;
	case GPUSCHED_IOC_GET_TOPOLOGY:
	case GPUSCHED_IOC_SET_TOPOLOGY:
		known = sizeof(struct gpusched_topology);
		min_size = sizeof(struct gpusched_topology);
		break;
	case GPUSCHED_IOC_QUERY:
		known = fake.old ? offsetof(struct gpusched_query, reason) :
		        sizeof(struct gpusched_query);
		min_size = offsetof(struct gpusched_query, reason);
		break;
	default:
		errno = ENOTTY;
		return -1;
	}
	copy = fake_copy_in(arg, &buf, known, min_size);
	if (copy < 0) {
		errno = (int)-copy;
		return -1;
	}
	if (request == GPUSCHED_IOC_GET_INFO)
		ret = fake_get_info(&buf.info);
	else if (request == GPUSCHED_IOC_GET_TOPOLOGY)
		ret = fake_get_topology(&buf.topo);
	else if (request == GPUSCHED_IOC_SET_TOPOLOGY)
		ret = fake_set_topology(&buf.topo);
	else
		ret = fake_query(&buf.query);
	if (ret && ret != -EMSGSIZE) {
		errno = -ret;
		return -1;
	}
	memcpy(arg, &buf, (size_t)copy);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}
