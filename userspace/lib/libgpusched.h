/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgpusched: what a launcher links to place its workers near their GPUs.
 *
 * It wraps every ioctl of /dev/gpusched (the structs are the uapi's own,
 * <linux/gpusched.h>, installed beside this header), answers "which GPU is
 * this worker's" from the variables launchers set, applies the GPU's memory
 * policy, and, where the module is not loaded, places the caller with the
 * same placement engine the module runs and sched_setaffinity(2), telling
 * the caller that such a placement is not arbitrated against other jobs.
 *
 * Conventions: functions return 0 or a negative errno and never print
 * (but for gpusched_disabled()'s one line);
 * where a failure needs explaining they fill a caller's message buffer.
 * Handles are opaque.  Nothing here is thread-safe on one handle.
 */
#ifndef LIBGPUSCHED_H
#define LIBGPUSCHED_H

#ifndef _GNU_SOURCE
#error "libgpusched.h needs _GNU_SOURCE defined before any include (for cpu_set_t)"
#endif

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/gpusched.h>

#ifdef __cplusplus
extern "C" {
#endif

/** GPUSCHED_DEVICE - the module's character device. */
#define GPUSCHED_DEVICE		"/dev/gpusched"

/** GPUSCHED_MESSAGE_SIZE - room a caller gives for an explanation. */
#define GPUSCHED_MESSAGE_SIZE	512

/* An open /dev/gpusched, with the GET_INFO handshake already made. */
struct gpusched;

/** GPUSCHED_OPEN_KEEP_ON_EXEC - keep the descriptor, and so the pins, across execve(2). */
#define GPUSCHED_OPEN_KEEP_ON_EXEC	0x1u

/**
 * gpusched_open() - open the device and make the GET_INFO handshake
 * @path: the device, NULL for GPUSCHED_DEVICE
 * @flags: GPUSCHED_OPEN_* bits
 * @out: receives the handle
 *
 * Return: 0; -ENOENT when the device does not exist (the module is not
 * loaded), -EACCES, -EPROTO when the module speaks another ABI version,
 * -EINVAL for unknown @flags, -ENOMEM.
 */
int gpusched_open(const char *path, unsigned int flags, struct gpusched **out);

/** gpusched_close() - close the device; pins made through it end. NULL is allowed. */
void gpusched_close(struct gpusched *gs);

/** gpusched_fd() - the descriptor, for poll(2) or to keep across exec. */
int gpusched_fd(const struct gpusched *gs);

/**
 * gpusched_get_info() - GPUSCHED_IOC_GET_INFO, made afresh
 * @gs: the handle
 * @info: receives the module's answer (size is set by the library)
 *
 * Return: 0 or -errno of the ioctl.
 */
int gpusched_get_info(struct gpusched *gs, struct gpusched_get_info *info);

/**
 * gpusched_set_topology() - GPUSCHED_IOC_SET_TOPOLOGY
 * @gs: the handle
 * @topo: the request; the library sets size and gpu_entry_size
 *
 * Return: 0 and @topo->generation, or -errno (EPERM without CAP_SYS_ADMIN,
 * ENODEV for a GPU that is not a PCI device, EINVAL for a record the
 * kernel contradicts: its log names the GPU).
 */
int gpusched_set_topology(struct gpusched *gs, struct gpusched_topology *topo);

/**
 * struct gpusched_topology_copy - the module's topology, read whole
 * @generation: generation of the copy
 * @nr_gpus: entries in @gpus
 * @gpus: the GPU records in index order
 * @nr_cpus: bits of @housekeeping and entries of @llc
 * @llc: per CPU, the lowest CPU sharing its last-level cache
 * @housekeeping: CPUs no pin may use, as __u64 words
 */
struct gpusched_topology_copy {
	uint64_t generation;
	uint32_t nr_gpus;
	struct gpusched_gpu *gpus;
	uint32_t nr_cpus;
	uint32_t *llc;
	uint64_t *housekeeping;
};

/**
 * gpusched_get_topology() - GPUSCHED_IOC_GET_TOPOLOGY into allocated arrays
 * @gs: the handle
 * @copy: receives the copy; free with gpusched_topology_copy_free()
 *
 * Grows its arrays and retries when the topology changes in between.
 * Return: 0, -ENOMEM, -EAGAIN when it kept changing, or -errno.
 */
int gpusched_get_topology(struct gpusched *gs, struct gpusched_topology_copy *copy);

/** gpusched_topology_copy_free() - free the arrays of a copy and zero it. */
void gpusched_topology_copy_free(struct gpusched_topology_copy *copy);

/**
 * gpusched_pin_task() - GPUSCHED_IOC_PIN
 * @gs: the handle the pin will belong to
 * @pin: the request: target_type, target_id, gpu, policy, flags, cores;
 *	the library sets size and, when @cpus is given, nr_cpus and cpus
 * @cpus: receives the CPUs chosen, or NULL
 * @cpus_size: bytes of @cpus, as CPU_ALLOC_SIZE() gives it
 *
 * Under GPUSCHED_DISABLE (gpusched_disabled()) the module is not asked:
 * @cpus receives the target's current affinity and nothing changes.
 *
 * Return: 0 or -errno of the ioctl (EBUSY: already pinned; ENOSPC: no
 * free cores; ESRCH: no such task; EPERM; EMSGSIZE: @cpus too small).
 */
int gpusched_pin_task(struct gpusched *gs, struct gpusched_pin *pin,
		      cpu_set_t *cpus, size_t cpus_size);

/**
 * gpusched_unpin_task() - GPUSCHED_IOC_UNPIN
 * @gs: the handle
 * @unpin: the request; the library sets size
 *
 * Under GPUSCHED_DISABLE (gpusched_disabled()) the module is not asked and
 * 0 is returned: nothing was pinned.
 *
 * Return: 0 or -errno (ENOENT: nothing of the target is pinned).
 */
int gpusched_unpin_task(struct gpusched *gs, struct gpusched_unpin *unpin);

/**
 * gpusched_query() - GPUSCHED_IOC_QUERY
 * @gs: the handle
 * @tid: thread id, 0 for the caller
 * @query: receives the answer
 * @query_size: sizeof(*@query) as the caller was built with; the library
 *	writes that many bytes and no more, fields it or the module does not
 *	know as 0
 * @cpus: receives the pin's CPUs, or NULL
 * @original: receives what UNPIN would give back (the CPUs allowed before
 *	the pin, or those of a cpuset change the module followed), or NULL
 * @cpus_size: bytes of @cpus and @original
 *
 * Return: 0 (pinned or not: see query->result), -EINVAL for a
 * @query_size smaller than the first version of the struct, or -errno.
 */
int gpusched_query(struct gpusched *gs, pid_t tid, struct gpusched_query *query,
		   size_t query_size, cpu_set_t *cpus, cpu_set_t *original, size_t cpus_size);

/**
 * gpusched_query_thread() - GPUSCHED_IOC_QUERY, first version
 * @gs: the handle
 * @tid: thread id, 0 for the caller
 * @query: receives the answer, up to and including @original_cpus: the
 *	struct as libgpusched 0.3.0 knew it (@reason and @nr_followed are
 *	neither read nor written; gpusched_query() fills them)
 * @cpus: receives the pin's CPUs, or NULL
 * @original: receives what UNPIN would give back, or NULL
 * @cpus_size: bytes of @cpus and @original
 *
 * Return: 0 (pinned or not: see query->result), or -errno.
 */
int gpusched_query_thread(struct gpusched *gs, pid_t tid,
			  struct gpusched_query *query, cpu_set_t *cpus,
			  cpu_set_t *original, size_t cpus_size);

/**
 * gpusched_policy_parse() - a policy name ("node", "socket", "exclusive",
 * "l3", "single", "default") to its GPUSCHED_POLICY_* value
 *
 * Return: the value, or -EINVAL.
 */
int gpusched_policy_parse(const char *name);

/** GPUSCHED_PCI_ADDRESS_SIZE - room for "ffffffff:ff:1f.7" and its NUL. */
#define GPUSCHED_PCI_ADDRESS_SIZE	17

/**
 * gpusched_format_pci_address() - a GPU record's PCI address as sysfs names it
 * @gpu: the record
 * @text: receives "0000:3b:00.0"; GPUSCHED_PCI_ADDRESS_SIZE bytes
 */
void gpusched_format_pci_address(const struct gpusched_gpu *gpu, char *text);

/** gpusched_policy_name() - the name of a GPUSCHED_POLICY_* value, or "unknown". */
const char *gpusched_policy_name(unsigned int policy);

/* ---- Which GPU is this worker's ---- */

/**
 * enum gpusched_gpu_source - where gpusched_resolve_gpu() found its answer
 * @GPUSCHED_GPU_FROM_RANK: the local rank, with no visible-devices list
 * @GPUSCHED_GPU_FROM_VISIBLE_INDEX: entry [local rank] of a visible-devices
 *	list, an index (CUDA_DEVICE_ORDER=PCI_BUS_ID order)
 * @GPUSCHED_GPU_FROM_VISIBLE_UUID: entry [local rank] of a visible-devices
 *	list, a GPU UUID matched against the topology's UUIDs
 * @GPUSCHED_GPU_FROM_ONLY_VISIBLE: no rank variable, and the visible list
 *	names exactly one GPU
 */
enum gpusched_gpu_source {
	GPUSCHED_GPU_FROM_RANK = 1,
	GPUSCHED_GPU_FROM_VISIBLE_INDEX,
	GPUSCHED_GPU_FROM_VISIBLE_UUID,
	GPUSCHED_GPU_FROM_ONLY_VISIBLE,
};

/**
 * struct gpusched_gpu_choice - the answer of gpusched_resolve_gpu()
 * @gpu: index of the GPU in the topology
 * @source: a &enum gpusched_gpu_source value
 * @local_rank: the local rank used, -1 when none was set
 * @rank_variable: the variable the rank came from, or NULL
 * @visible_variable: the visible-devices variable used, or NULL
 * @explanation: one line a person can read: "LOCAL_RANK=1 ->
 *	CUDA_VISIBLE_DEVICES[1]=3 -> GPU 3 (0000:41:00.0)"
 */
struct gpusched_gpu_choice {
	unsigned int gpu;
	enum gpusched_gpu_source source;
	int local_rank;
	const char *rank_variable;
	const char *visible_variable;
	char explanation[GPUSCHED_MESSAGE_SIZE];
};

/**
 * gpusched_resolve_gpu() - the GPU of this worker, from its environment
 * @envp: the environment, NULL-terminated "NAME=value" strings (environ)
 * @nr_gpus: GPUs in the topology
 * @gpus: their records (PCI address and UUID), in index order
 * @choice: receives the answer
 * @message: receives why it failed; GPUSCHED_MESSAGE_SIZE bytes
 *
 * The local rank is the first of LOCAL_RANK (torchrun), SLURM_LOCALID
 * (srun), OMPI_COMM_WORLD_LOCAL_RANK (Open MPI) and MPI_LOCALRANKID
 * (MPICH, Intel MPI) that is set.  The visible-devices list is the first
 * of CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES and ROCR_VISIBLE_DEVICES
 * that is set; its entries are indices or "GPU-" UUIDs (a unique prefix
 * is enough).  Indices are taken in PCI address order, the order of the
 * topology, which is CUDA's order only under CUDA_DEVICE_ORDER=PCI_BUS_ID;
 * with another CUDA_DEVICE_ORDER an index list is refused rather than
 * guessed.  MIG instance UUIDs name no PCI function and are refused.
 *
 * Return: 0, -ENOENT when neither a rank nor a one-GPU list is set,
 * -EINVAL for a malformed value, -ERANGE for a rank or index past the
 * end, -ENODEV for a UUID no GPU has; @message says which variable.
 */
int gpusched_resolve_gpu(char *const *envp, unsigned int nr_gpus, const struct gpusched_gpu *gpus,
			 struct gpusched_gpu_choice *choice, char *message);

/**
 * gpusched_uuid_parse() - "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" to 16 bytes
 *
 * Return: 0 or -EINVAL.
 */
int gpusched_uuid_parse(const char *text, uint8_t uuid[16]);

/** gpusched_uuid_format() - 16 bytes to "GPU-...", 41 bytes with the NUL; "" when all zero. */
void gpusched_uuid_format(const uint8_t uuid[16], char text[41]);

/* ---- Memory policy ---- */

/**
 * enum gpusched_mem_policy - what gpusched_set_mem_policy() applies
 * @GPUSCHED_MEM_NONE: leave the memory policy alone
 * @GPUSCHED_MEM_BIND: MPOL_BIND: allocate only on the node
 * @GPUSCHED_MEM_PREFERRED: MPOL_PREFERRED: the node first, others when full
 * @GPUSCHED_MEM_INTERLEAVE: MPOL_INTERLEAVE over the node and nothing else
 *	(useful with a list of nodes; with one node it equals bind)
 */
enum gpusched_mem_policy {
	GPUSCHED_MEM_NONE = 0,
	GPUSCHED_MEM_BIND,
	GPUSCHED_MEM_PREFERRED,
	GPUSCHED_MEM_INTERLEAVE,
};

/** gpusched_mem_policy_parse() - "none", "bind", "preferred", "interleave"; or -EINVAL. */
int gpusched_mem_policy_parse(const char *name);

/**
 * gpusched_set_mem_policy() - set the calling thread's memory policy to one node
 * @mode: a &enum gpusched_mem_policy value
 * @node: the NUMA node
 *
 * Threads created later inherit it, and so does a program exec'd after.
 * Under GPUSCHED_DISABLE (gpusched_disabled()) nothing is set.
 *
 * Return: 0, or -errno of set_mempolicy(2) (EINVAL: no such node or no
 * memory on it).
 */
int gpusched_set_mem_policy(enum gpusched_mem_policy mode, unsigned int node);

/* ---- Turning pinning off for a rollout ---- */

/* Set to anything but "" or "0", it turns every pin into a pass-through. */
#define GPUSCHED_DISABLE_VARIABLE	"GPUSCHED_DISABLE"

/**
 * gpusched_disabled() - whether GPUSCHED_DISABLE turns pinning off
 *
 * With GPUSCHED_DISABLE set to anything but "" or "0", gpusched_pin_task(),
 * gpusched_unpin_task(), gpusched_fallback_pin() and
 * gpusched_set_mem_policy() change nothing and succeed (a pin reports the
 * CPUs its target already has), and `gpusched exec` runs its program as it
 * is: an administrator can turn gpusched off for a job, or a whole
 * rollout, without touching a launch script.  The first call in a process
 * that finds it set writes one line to standard error:
 *
 *   gpusched: GPUSCHED_DISABLE=VALUE: not pinning; CPUs and memory policy stay as they are
 *
 * Return: true when pinning is off.
 */
bool gpusched_disabled(void);

/* ---- Placement without the module ---- */

/**
 * struct gpusched_fallback - where gpusched_fallback_pin() put the caller
 * @node: the GPU's node
 * @cpus: the CPUs set with sched_setaffinity(2)
 * @nr_gpus: GPUs discovery found
 */
struct gpusched_fallback {
	unsigned int node;
	cpu_set_t *cpus;
	size_t cpus_size;
	unsigned int nr_gpus;
};

/**
 * gpusched_fallback_pin() - place the calling process without the module
 * @sysfs_root: root of the sysfs to discover, NULL for "/"
 * @gpu_matches: extra "VENDOR[:CLASS]" accelerator matches, or NULL
 * @nr_gpu_matches: entries in @gpu_matches
 * @gpu: GPU index in discovery's (PCI address) order
 * @policy: a GPUSCHED_POLICY_* value (DEFAULT means node)
 * @cores: GPUSCHED_POLICY_EXCLUSIVE only: physical cores, 0 for the
 *	GPU's even share, as in &struct gpusched_pin
 * @flags: GPUSCHED_PIN_SPILL or 0
 * @out: receives the result; free out->cpus with CPU_FREE()
 * @message: receives why it failed; GPUSCHED_MESSAGE_SIZE bytes
 *
 * Discovers the machine, runs the placement engine for one worker
 * within the caller's current affinity and applies it to the calling
 * thread with sched_setaffinity(2), which threads created later inherit.
 * For the machine itself (@sysfs_root NULL or "/"), the first call of a
 * boot leaves what it discovered in a file of the caller's runtime
 * directory, and later calls read it while the machine is unchanged, as
 * `gpusched exec` does (gpusched(1), WITHOUT THE MODULE; GPUSCHED_CACHE_DIR).
 * Nothing arbitrates between jobs: two exclusive workers placed this way
 * may get the same cores.
 *
 * Under GPUSCHED_DISABLE (gpusched_disabled()) the placement is computed
 * but not applied: @out->cpus is the caller's own affinity.
 *
 * Return: 0, or -errno with @message saying what was wrong (-EINVAL for
 * unknown @flags or @cores with another policy).
 */
int gpusched_fallback_pin(const char *sysfs_root,
			  const char *const *gpu_matches,
			  unsigned int nr_gpu_matches, unsigned int gpu,
			  unsigned int policy, unsigned int cores, unsigned int flags,
			  struct gpusched_fallback *out, char *message);

#ifdef __cplusplus
}
#endif

#endif /* LIBGPUSCHED_H */
