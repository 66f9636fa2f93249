// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgpusched: the ioctl wrappers, the memory policy and the placement
 * made without the module.  Every wrapper sets the struct's size itself
 * so a caller compiled against an older header keeps working, and turns
 * the ioctl's -1/errno into a negative errno.  The fallback runs the same
 * placement engine the module runs, on a snapshot discovery makes of the
 * machine, so a job placed without the module lands where the module
 * would have put it, minus the arbitration between jobs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libgpusched.h"
#include "discover.h"
#include "snapshot.h"
#include "fallback_cache.h"

/* From <linux/mempolicy.h>, which glibc does not wrap. */
#define GS_MPOL_PREFERRED	1
#define GS_MPOL_BIND		2
#define GS_MPOL_INTERLEAVE	3

struct gpusched {
	int fd;
	struct gpusched_get_info info;
};

static int gs_ioctl(const struct gpusched *gs, unsigned long request, void *arg)
{
	return ioctl(gs->fd, request, arg) ? -errno : 0;
}

int gpusched_get_info(struct gpusched *gs, struct gpusched_get_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return gs_ioctl(gs, GPUSCHED_IOC_GET_INFO, info);
}

int gpusched_open(const char *path, unsigned int flags, struct gpusched **out)
{
	int oflags = O_RDWR, err;
	struct gpusched *gs;

	*out = NULL;
	if (flags & ~GPUSCHED_OPEN_KEEP_ON_EXEC)
		return -EINVAL;
	if (!(flags & GPUSCHED_OPEN_KEEP_ON_EXEC))
		oflags |= O_CLOEXEC;

	gs = calloc(1, sizeof(*gs));
	if (!gs)
		return -ENOMEM;
	gs->fd = open(path ? path : GPUSCHED_DEVICE, oflags);
	if (gs->fd < 0) {
		err = -errno;
		goto out_free;
	}
	err = gpusched_get_info(gs, &gs->info);
	if (err == -ENOTTY)
		err = -EPROTO;	/* some other device lives at this path */
	if (!err && gs->info.abi_version != GPUSCHED_ABI_VERSION)
		err = -EPROTO;
	if (err)
		goto out_close;
	*out = gs;
	return 0;

out_close:
	close(gs->fd);
out_free:
	free(gs);
	return err;
}

void gpusched_close(struct gpusched *gs)
{
	if (!gs)
		return;
	close(gs->fd);
	free(gs);
}

int gpusched_fd(const struct gpusched *gs)
{
	return gs->fd;
}

int gpusched_set_topology(struct gpusched *gs, struct gpusched_topology *topo)
{
	topo->size = sizeof(*topo);
	topo->gpu_entry_size = sizeof(struct gpusched_gpu);
	return gs_ioctl(gs, GPUSCHED_IOC_SET_TOPOLOGY, topo);
}

void gpusched_topology_copy_free(struct gpusched_topology_copy *copy)
{
	free(copy->gpus);
	free(copy->llc);
	free(copy->housekeeping);
	memset(copy, 0, sizeof(*copy));
}

/* Room for @nr_gpus GPUs and @nr_cpus CPUs in @copy's arrays. */
static int copy_grow(struct gpusched_topology_copy *copy, uint32_t nr_gpus, uint32_t nr_cpus)
{
	struct gpusched_gpu *gpus = NULL;
	uint64_t *housekeeping = NULL;
	uint32_t *llc = NULL;

	gpus = calloc(nr_gpus ? nr_gpus : 1, sizeof(*gpus));
	llc = calloc(nr_cpus ? nr_cpus : 1, sizeof(*llc));
	housekeeping = calloc(nr_cpus / 64 + 1, sizeof(*housekeeping));
	if (!gpus || !llc || !housekeeping) {
		free(gpus);
		free(llc);
		free(housekeeping);
		return -ENOMEM;
	}
	gpusched_topology_copy_free(copy);
	copy->gpus = gpus;
	copy->llc = llc;
	copy->housekeeping = housekeeping;
	copy->nr_gpus = nr_gpus;
	copy->nr_cpus = nr_cpus;
	return 0;
}

int gpusched_get_topology(struct gpusched *gs, struct gpusched_topology_copy *copy)
{
	uint32_t room_gpus = gs->info.nr_gpus, room_cpus = gs->info.nr_cpu_ids;
	int attempt, err;

	memset(copy, 0, sizeof(*copy));
	/* A topology that changes size between two calls is re-read, a few times. */
	for (attempt = 0; attempt < 4; attempt++) {
		struct gpusched_topology args = { .size = sizeof(args) };

		err = copy_grow(copy, room_gpus, room_cpus);
		if (err)
			return err;
		args.nr_gpus = room_gpus;
		args.gpu_entry_size = sizeof(struct gpusched_gpu);
		args.gpus = (uintptr_t)copy->gpus;
		args.nr_cpus = room_cpus;
		args.llc = (uintptr_t)copy->llc;
		args.housekeeping = (uintptr_t)copy->housekeeping;
		err = gs_ioctl(gs, GPUSCHED_IOC_GET_TOPOLOGY, &args);
		if (err == -EMSGSIZE) {
			room_gpus = args.nr_gpus;
			room_cpus = args.nr_cpus;
			continue;
		}
		if (err)
			break;
		copy->generation = args.generation;
		copy->nr_gpus = args.nr_gpus;
		copy->nr_cpus = args.nr_cpus;
		return 0;
	}
	gpusched_topology_copy_free(copy);
	return err == -EMSGSIZE ? -EAGAIN : err;
}

/*
 * The module exchanges CPU masks as __u64 words; cpu_set_t is unsigned
 * long words.  Converting bit by bit keeps both right on every ABI.
 */
static uint64_t *mask_alloc(const struct gpusched *gs, uint32_t *nr_bits)
{
	*nr_bits = gs->info.nr_cpu_ids;
	return calloc(*nr_bits / 64 + 1, sizeof(uint64_t));
}

static void mask_to_cpu_set(const uint64_t *mask, uint32_t nr_bits, cpu_set_t *set,
			    size_t set_size)
{
	uint32_t cpu;

	CPU_ZERO_S(set_size, set);
	for (cpu = 0; cpu < nr_bits && cpu < set_size * 8; cpu++)
		if (mask[cpu / 64] & (1ULL << (cpu % 64)))
			CPU_SET_S(cpu, set_size, set);
}

bool gpusched_disabled(void)
{
	static atomic_flag said = ATOMIC_FLAG_INIT;
	const char *value = getenv(GPUSCHED_DISABLE_VARIABLE);

	if (!value || !*value || !strcmp(value, "0"))
		return false;
	if (!atomic_flag_test_and_set(&said))
		fprintf(stderr, "gpusched: " GPUSCHED_DISABLE_VARIABLE
			"=%.32s: not pinning; CPUs and memory policy stay as they are\n", value);
	return true;
}

/* The thread id a pidfd refers to, from /proc/self/fdinfo; or -errno. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = -EBADF;
	FILE *file;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	file = fopen(path, "re");
	if (!file)
		return -errno;
	while (fgets(line, sizeof(line), file))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(file);
	/* -1: the process has been reaped, as for the module. */
	return pid == -1 ? -ESRCH : pid;
}

/* GPUSCHED_DISABLE's PIN: the target's CPUs as they are, into @cpus. */
static int pin_pass_through(const struct gpusched_pin *pin, cpu_set_t *cpus,
			    size_t cpus_size)
{
	pid_t tid;

	switch (pin->target_type) {
	case GPUSCHED_TARGET_THREAD:
	case GPUSCHED_TARGET_PROCESS:
		tid = (pid_t)pin->target_id;
		break;
	case GPUSCHED_TARGET_PIDFD:
		tid = pidfd_pid((int)pin->target_id);
		if (tid < 0)
			return tid;
		break;
	default:
		return -EINVAL;
	}
	if (tid < 0)
		return -EINVAL;
	if (cpus && sched_getaffinity(tid, cpus_size, cpus))
		return -errno;
	return 0;
}

int gpusched_pin_task(struct gpusched *gs, struct gpusched_pin *pin,
		      cpu_set_t *cpus, size_t cpus_size)
{
	uint64_t *mask = NULL;
	uint32_t nr_bits = 0;
	int err;

	pin->size = sizeof(*pin);
	pin->nr_cpus = 0;
	pin->cpus = 0;
	if (gpusched_disabled())
		return pin_pass_through(pin, cpus, cpus_size);
	if (cpus) {
		mask = mask_alloc(gs, &nr_bits);
		if (!mask)
			return -ENOMEM;
		pin->nr_cpus = nr_bits;
		pin->cpus = (uintptr_t)mask;
	}
	err = gs_ioctl(gs, GPUSCHED_IOC_PIN, pin);
	if (!err && cpus)
		mask_to_cpu_set(mask, nr_bits, cpus, cpus_size);
	pin->cpus = 0;
	free(mask);
	return err;
}

int gpusched_unpin_task(struct gpusched *gs, struct gpusched_unpin *unpin)
{
	unpin->size = sizeof(*unpin);
	if (gpusched_disabled())
		return 0;
	return gs_ioctl(gs, GPUSCHED_IOC_UNPIN, unpin);
}

/* struct gpusched_query as libgpusched 0.3.0, and programs built then, know it. */
#define GS_QUERY_V1_SIZE (offsetof(struct gpusched_query, original_cpus) + sizeof(__u64))

int gpusched_query(struct gpusched *gs, pid_t tid, struct gpusched_query *query,
		   size_t query_size, cpu_set_t *cpus, cpu_set_t *original, size_t cpus_size)
{
	uint64_t *mask = NULL, *original_mask = NULL;
	uint32_t nr_bits = gs->info.nr_cpu_ids;
	size_t known = query_size < sizeof(*query) ? query_size : sizeof(*query);
	struct gpusched_query q = {
		.size = known,
		.target_type = GPUSCHED_TARGET_THREAD,
		.target_id = tid,
	};
	int err = -ENOMEM;

	if (query_size < GS_QUERY_V1_SIZE)
		return -EINVAL;
	if (cpus || original) {
		mask = mask_alloc(gs, &nr_bits);
		original_mask = mask_alloc(gs, &nr_bits);
		if (!mask || !original_mask)
			goto out;
		q.nr_cpus = nr_bits;
		q.cpus = (uintptr_t)mask;
		q.original_cpus = (uintptr_t)original_mask;
	}
	err = gs_ioctl(gs, GPUSCHED_IOC_QUERY, &q);
	if (!err && cpus)
		mask_to_cpu_set(mask, nr_bits, cpus, cpus_size);
	if (!err && original)
		mask_to_cpu_set(original_mask, nr_bits, original, cpus_size);
out:
	q.cpus = 0;
	q.original_cpus = 0;
	/* Only what the caller's struct holds: its size is all it promised. */
	memcpy(query, &q, known);
	memset((char *)query + known, 0, query_size - known);
	free(mask);
	free(original_mask);
	return err;
}

int gpusched_query_thread(struct gpusched *gs, pid_t tid,
			  struct gpusched_query *query, cpu_set_t *cpus,
			  cpu_set_t *original, size_t cpus_size)
{
	return gpusched_query(gs, tid, query, GS_QUERY_V1_SIZE, cpus, original, cpus_size);
}

static const char *const policy_names[] = {
	[GPUSCHED_POLICY_DEFAULT] = "default",
	[GPUSCHED_POLICY_NODE] = "node",
	[GPUSCHED_POLICY_SOCKET] = "socket",
	[GPUSCHED_POLICY_EXCLUSIVE] = "exclusive",
	[GPUSCHED_POLICY_L3] = "l3",
	[GPUSCHED_POLICY_SINGLE] = "single",
};

int gpusched_policy_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (!strcmp(name, policy_names[i]))
			return i;
	return -EINVAL;
}

const char *gpusched_policy_name(unsigned int policy)
{
	if (policy >= sizeof(policy_names) / sizeof(policy_names[0]))
		return "unknown";
	return policy_names[policy];
}

void gpusched_format_pci_address(const struct gpusched_gpu *gpu, char *text)
{
	snprintf(text, GPUSCHED_PCI_ADDRESS_SIZE, "%04x:%02x:%02x.%x", gpu->domain,
		 gpu->bus & 0xff, (gpu->devfn >> 3) & 0x1f, gpu->devfn & 7);
}

static const char *const mem_policy_names[] = {
	[GPUSCHED_MEM_NONE] = "none",
	[GPUSCHED_MEM_BIND] = "bind",
	[GPUSCHED_MEM_PREFERRED] = "preferred",
	[GPUSCHED_MEM_INTERLEAVE] = "interleave",
};

int gpusched_mem_policy_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mem_policy_names) / sizeof(mem_policy_names[0]); i++)
		if (!strcmp(name, mem_policy_names[i]))
			return i;
	return -EINVAL;
}

int gpusched_set_mem_policy(enum gpusched_mem_policy mode, unsigned int node)
{
	/* The kernel reads maxnode - 1 bits; one word per 64 nodes plus one. */
	unsigned long nodemask[GS_MAX_NODES / (8 * sizeof(unsigned long)) + 1] = { 0 };
	const unsigned int bits = 8 * sizeof(unsigned long);
	int mpol;

	if (gpusched_disabled())
		return 0;
	switch (mode) {
	case GPUSCHED_MEM_NONE:
		return 0;
	case GPUSCHED_MEM_BIND:
		mpol = GS_MPOL_BIND;
		break;
	case GPUSCHED_MEM_PREFERRED:
		mpol = GS_MPOL_PREFERRED;
		break;
	case GPUSCHED_MEM_INTERLEAVE:
		mpol = GS_MPOL_INTERLEAVE;
		break;
	default:
		return -EINVAL;
	}
	if (node >= GS_MAX_NODES)
		return -EINVAL;
	nodemask[node / bits] |= 1UL << (node % bits);
	if (syscall(SYS_set_mempolicy, mpol, nodemask, sizeof(nodemask) * 8))
		return -errno;
	return 0;
}

int gs_fallback_fail(char *message, int err, const char *fmt, ...)
{
	va_list ap;

	if (message) {
		va_start(ap, fmt);
		vsnprintf(message, GPUSCHED_MESSAGE_SIZE, fmt, ap);
		va_end(ap);
	}
	return err;
}

/*
 * Runs the engine for one worker of @gpu within @allowed and leaves its
 * CPUs in @out_cpus (a bitmap of the snapshot's nr_cpus bits).
 */
static int fallback_place(const struct gs_snapshot *snapshot, const struct gs_request *request,
			  unsigned long *out_cpus, unsigned int *node, char *message)
{
	const struct gs_topology *topo = &snapshot->topo;
	struct gs_placement placement = { .max_workers = 1, .worker_cpus = out_cpus };
	struct gs_reservations resv;
	struct gs_workspace ws;
	struct gs_hold *holds;
	uint32_t *storage, worker_node;
	int err;

	placement.worker_node = &worker_node;
	holds = calloc(topo->nr_cpus, sizeof(*holds));
	storage = calloc(gs_workspace_words(topo->nr_cpus, topo->nr_nodes), sizeof(*storage));
	if (!holds || !storage) {
		err = gs_fallback_fail(message, -ENOMEM, "out of memory");
		goto out;
	}
	gs_reservations_init(&resv, holds, topo->nr_cpus);
	gs_workspace_init(&ws, storage, topo->nr_cpus, topo->nr_nodes);
	err = gs_place(topo, &resv, request, &ws, &placement);
	if (err) {
		gs_fallback_fail(message, err, "no placement for GPU %u with policy %s: %s",
				 request->gpu, gpusched_policy_name(request->policy),
				 gs_reason_name(placement.error.reason));
		goto out;
	}
	*node = placement.gpu_node;
out:
	free(holds);
	free(storage);
	return err;
}

/*
 * The caller's CPUs, in a set of *@size bytes that the kernel takes:
 * sched_getaffinity(2) refuses a set with fewer bits than its possible CPUs
 * (nr_cpu_ids), and a machine with CPU hotplug slots has many more of
 * those than discovery sees online or present (VMs, some firmware).  The
 * set holds at least @nr_cpus and is doubled until the kernel takes it.
 */
static cpu_set_t *fallback_affinity(uint32_t nr_cpus, size_t *size, int *err)
{
	uint32_t bits = nr_cpus > CPU_SETSIZE ? nr_cpus : CPU_SETSIZE;
	cpu_set_t *cpus;

	for (;;) {
		cpus = CPU_ALLOC(bits);
		if (!cpus) {
			*err = -ENOMEM;
			return NULL;
		}
		*size = CPU_ALLOC_SIZE(bits);
		if (!sched_getaffinity(0, *size, cpus))
			return cpus;
		*err = -errno;
		CPU_FREE(cpus);
		/* The kernel's own limit (NR_CPUS) is 8192 on Debian, 1 << 22 at most. */
		if (*err != -EINVAL || bits >= 1U << 22)
			return NULL;
		bits *= 2;
	}
}

bool gs_fallback_needs_cpu_groups(unsigned int policy)
{
	return policy != GPUSCHED_POLICY_DEFAULT && policy != GPUSCHED_POLICY_NODE;
}

/* Places and pins the caller on @machine once gs_fallback_pin_on() checked the request. */
static int fallback_pin(const struct gs_fallback_machine *machine, unsigned int gpu,
			unsigned int policy, unsigned int cores, unsigned int flags,
			struct gpusched_fallback *out, char *message)
{
	const struct gs_topology *topo = &machine->snapshot.topo;
	unsigned long *allowed = NULL, *placed = NULL;
	struct gs_request request;
	cpu_set_t *current = NULL;
	size_t current_size;
	uint32_t cpu, words;
	int err;

	/* The engine never widens: it places within what the caller may use now. */
	words = gs_bitmap_words(topo->nr_cpus);
	allowed = calloc(words, sizeof(*allowed));
	placed = calloc(words, sizeof(*placed));
	if (!allowed || !placed) {
		err = gs_fallback_fail(message, -ENOMEM, "out of memory");
		goto out;
	}
	current = fallback_affinity(topo->nr_cpus, &current_size, &err);
	if (!current) {
		gs_fallback_fail(message, err, "sched_getaffinity: %s", strerror(-err));
		goto out;
	}
	for (cpu = 0; cpu < topo->nr_cpus; cpu++)
		if (CPU_ISSET_S(cpu, current_size, current))
			gs_bit_set(allowed, cpu);

	request = (struct gs_request){
		.gpu = gpu,
		.policy = policy,
		.nr_workers = 1,
		.cores_per_worker = cores,
		/* The uapi's GPUSCHED_PIN_SPILL is the engine's GS_REQUEST_SPILL. */
		.flags = flags & GPUSCHED_PIN_SPILL ? GS_REQUEST_SPILL : 0,
		.allowed_cpus = allowed,
	};
	err = fallback_place(&machine->snapshot, &request, placed, &out->node, message);
	if (err)
		goto out;

	/* Under GPUSCHED_DISABLE, @current already holds the CPUs the caller keeps. */
	if (!gpusched_disabled()) {
		CPU_ZERO_S(current_size, current);
		for (cpu = 0; cpu < topo->nr_cpus; cpu++)
			if (gs_bit_test(placed, cpu))
				CPU_SET_S(cpu, current_size, current);
		if (sched_setaffinity(0, current_size, current)) {
			err = gs_fallback_fail(message, -errno, "sched_setaffinity: %s",
					       strerror(errno));
			goto out;
		}
	}
	out->cpus = current;
	out->cpus_size = current_size;
	current = NULL;

out:
	if (current)
		CPU_FREE(current);
	free(allowed);
	free(placed);
	return err;
}

int gs_fallback_pin_on(const struct gs_fallback_machine *machine, unsigned int gpu,
		       unsigned int policy, unsigned int cores, unsigned int flags,
		       struct gpusched_fallback *out, char *message)
{
	memset(out, 0, sizeof(*out));
	out->nr_gpus = machine->nr_gpus;
	if (policy == GPUSCHED_POLICY_DEFAULT)
		policy = GPUSCHED_POLICY_NODE;
	if (flags & ~GPUSCHED_PIN_SPILL)
		return gs_fallback_fail(message, -EINVAL, "unknown flags %#x", flags);
	if (cores && policy != GPUSCHED_POLICY_EXCLUSIVE)
		return gs_fallback_fail(message, -EINVAL, "cores apply to the exclusive policy only");
	if (!machine->cpu_groups_known && gs_fallback_needs_cpu_groups(policy))
		return gs_fallback_fail(message, -EINVAL,
					"the %s policy needs cores and caches, which this discovery skipped",
					gpusched_policy_name(policy));
	if (gpu >= machine->nr_gpus)
		return gs_fallback_fail(message, -ERANGE,
					"GPU %u does not exist: discovery found %u GPUs (see `gpusched topo`)",
					gpu, machine->nr_gpus);
	if (machine->error)
		return gs_fallback_fail(message, machine->error, "%s", machine->error_message);
	return fallback_pin(machine, gpu, policy, cores, flags, out, message);
}

int gs_fallback_pin_machine(const struct gs_machine *machine, unsigned int gpu,
			    unsigned int policy, unsigned int cores, unsigned int flags,
			    struct gpusched_fallback *out, char *message)
{
	struct gs_fallback_machine built;
	int err;

	memset(out, 0, sizeof(*out));
	err = gs_fallback_machine_build(machine, &built, message);
	if (err)
		return err;
	err = gs_fallback_pin_on(&built, gpu, policy, cores, flags, out, message);
	gs_fallback_machine_free(&built);
	return err;
}

int gpusched_fallback_pin(const char *sysfs_root,
			  const char *const *gpu_matches,
			  unsigned int nr_gpu_matches, unsigned int gpu,
			  unsigned int policy, unsigned int cores, unsigned int flags,
			  struct gpusched_fallback *out, char *message)
{
	struct gs_discover_opts opts = {
		.root = sysfs_root,
		.gpu_matches = gpu_matches,
		.nr_gpu_matches = nr_gpu_matches,
	};
	struct gs_fallback_machine machine;
	int err;

	memset(out, 0, sizeof(*out));
	err = gs_fallback_machine_get(&opts, gs_fallback_needs_cpu_groups(policy), &machine,
				      message);
	if (err)
		return err;
	err = gs_fallback_pin_on(&machine, gpu, policy, cores, flags, out, message);
	gs_fallback_machine_free(&machine);
	return err;
}
