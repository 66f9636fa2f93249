/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gpusched: GPU-aware CPU placement hints, userspace ABI of /dev/gpusched.
 *
 * Every command is one ioctl whose argument is a struct that starts with
 * __u32 size.  The caller sets size to sizeof() the struct it was compiled
 * with; the module accepts any size from the command's first version up,
 * zero-fills what an older caller did not send and refuses (E2BIG) a newer
 * caller's non-zero fields that it does not understand.  Results are copied
 * back for min(caller's size, module's size) bytes.  Fields named
 * __reserved must be zero and unknown flag bits give EINVAL, so that both
 * can be given a meaning later without breaking anyone.
 */
#ifndef _UAPI_LINUX_GPUSCHED_H
#define _UAPI_LINUX_GPUSCHED_H

#include <linux/ioctl.h>
#include <linux/const.h>
#include <linux/types.h>

/** define GPUSCHED_TYPE - ioctl type byte of /dev/gpusched, unused in the kernel tree. */
#define GPUSCHED_TYPE		0xB9

/** define GPUSCHED_ABI_VERSION - bumped only for incompatible changes, never for additions. */
#define GPUSCHED_ABI_VERSION	1

/** define GPUSCHED_MAX_GPUS - most GPU records one topology may hold. */
#define GPUSCHED_MAX_GPUS	1024

/**
 * define GPUSCHED_FEATURE_PIN_STATE - pins follow cpuset changes and
 * GPUSCHED_IOC_QUERY reports the state of a pin: the FALLBACK, BROKEN and
 * OWN_CPUS result flags, @reason and @nr_followed.
 */
#define GPUSCHED_FEATURE_PIN_STATE	_BITULL(0)

/** define GPUSCHED_NODE_ANY - "no node given" in node fields. */
#define GPUSCHED_NODE_ANY	0xffffffffu

enum {
	GPUSCHED_CMD_BASE = 0x00,
	GPUSCHED_CMD_GET_INFO = GPUSCHED_CMD_BASE,
	GPUSCHED_CMD_SET_TOPOLOGY,
	GPUSCHED_CMD_GET_TOPOLOGY,
	GPUSCHED_CMD_PIN,
	GPUSCHED_CMD_UNPIN,
	GPUSCHED_CMD_QUERY,
};

/**
 * enum gpusched_policy - how the CPUs of a pin are chosen
 * @GPUSCHED_POLICY_DEFAULT: the module's default_policy parameter
 * @GPUSCHED_POLICY_NODE: every usable CPU of the GPU's node
 * @GPUSCHED_POLICY_SOCKET: every usable CPU of the packages of the GPU's node
 * @GPUSCHED_POLICY_EXCLUSIVE: a share of whole physical cores of the GPU's
 *	node that no other exclusive pin on the machine holds
 * @GPUSCHED_POLICY_L3: the CPUs of one last-level cache of the GPU's node
 * @GPUSCHED_POLICY_SINGLE: one physical core of the GPU's node
 *
 * Documentation/placement.rst has the exact rules.
 */
enum gpusched_policy {
	GPUSCHED_POLICY_DEFAULT = 0,
	GPUSCHED_POLICY_NODE = 1,
	GPUSCHED_POLICY_SOCKET = 2,
	GPUSCHED_POLICY_EXCLUSIVE = 3,
	GPUSCHED_POLICY_L3 = 4,
	GPUSCHED_POLICY_SINGLE = 5,
};

/**
 * struct gpusched_get_info - ioctl(GPUSCHED_IOC_GET_INFO)
 * @size: sizeof(struct gpusched_get_info)
 * @flags: must be 0
 * @abi_version: output, GPUSCHED_ABI_VERSION of the loaded module
 * @nr_cpu_ids: output, number of possible CPU ids; every CPU mask exchanged
 *              with the module holds this many bits
 * @nr_node_ids: output, number of possible NUMA node ids
 * @__reserved: must be 0
 * @features: output, GPUSCHED_FEATURE_* bits of the commands and flags this
 *            module implements beyond the ones of @abi_version 1
 * @max_gpus: output, GPUSCHED_MAX_GPUS of the loaded module
 * @nr_gpus: output, GPUs in the current topology (0 before the first
 *           GPUSCHED_IOC_SET_TOPOLOGY)
 * @default_policy: output, the policy GPUSCHED_POLICY_DEFAULT stands for
 * @__reserved2: must be 0
 * @generation: output, generation of the current topology; every successful
 *              GPUSCHED_IOC_SET_TOPOLOGY increments it
 *
 * The handshake a launcher makes before it relies on anything else: it
 * needs no privilege and has no side effect.
 */
struct gpusched_get_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 nr_cpu_ids;
	__u32 nr_node_ids;
	__u32 __reserved;
	__aligned_u64 features;
	__u32 max_gpus;
	__u32 nr_gpus;
	__u32 default_policy;
	__u32 __reserved2;
	__aligned_u64 generation;
};

/**
 * struct gpusched_gpu - one GPU record of a topology
 * @domain: PCI domain (segment) of the GPU's PCI function
 * @bus: PCI bus number, 0..255
 * @devfn: PCI device and function, (device << 3) | function, 0..255
 * @flags: must be 0
 * @node: NUMA node whose CPUs are local to the GPU.  In: GPUSCHED_NODE_ANY
 *	to take the device's node; any other value must equal the device's
 *	node, and is used only when the device reports none.  Out: the node
 *	the module uses
 * @mem_node: NUMA node of the GPU's memory when it is exposed as a node of
 *	its own (Grace Hopper, Blackwell), else GPUSCHED_NODE_ANY
 * @uuid: the GPU's UUID as the vendor's library reports it (NVML's
 *	GPU-xxxxxxxx-... in binary), all zero when unknown
 *
 * GPUs are numbered by their position in the array passed to
 * GPUSCHED_IOC_SET_TOPOLOGY; gpusched_pin.gpu is that index.
 */
struct gpusched_gpu {
	__u32 domain;
	__u32 bus;
	__u32 devfn;
	__u32 flags;
	__u32 node;
	__u32 mem_node;
	__u8 uuid[16];
};

/**
 * struct gpusched_topology - ioctl(GPUSCHED_IOC_SET_TOPOLOGY / _GET_TOPOLOGY)
 * @size: sizeof(struct gpusched_topology)
 * @flags: must be 0
 * @nr_gpus: SET: entries in @gpus, 0..GPUSCHED_MAX_GPUS.  GET: in, room in
 *	@gpus; out, GPUs in the topology (EMSGSIZE when that exceeds the room)
 * @gpu_entry_size: sizeof(struct gpusched_gpu) as the caller knows it
 * @gpus: user pointer to the struct gpusched_gpu array
 * @nr_cpus: bits of the @housekeeping mask and entries of @llc.  SET: must
 *	be nr_cpu_ids of GPUSCHED_IOC_GET_INFO.  GET: in, room; out,
 *	nr_cpu_ids (EMSGSIZE when that exceeds the room)
 * @__reserved: must be 0
 * @llc: user pointer to @nr_cpus __u32: for each CPU the lowest-numbered CPU
 *	sharing its last-level cache.  0 (no array) on SET means "not known":
 *	the module then takes each CPU's package as its cache group
 * @housekeeping: user pointer to a CPU mask of @nr_cpus bits in __u64 words
 *	(bit n of word n / 64 is CPU n): CPUs kept for the system that no pin
 *	may use.  0 on SET means none
 * @generation: output, the generation of the topology set or read
 *
 * SET needs CAP_SYS_ADMIN.  The module resolves every GPU's PCI function
 * itself and refuses a record that contradicts what the kernel sees; the
 * whole update is then refused and the previous topology stays.  A
 * successful SET replaces the previous topology at once; pins made under the
 * previous one stay until their owners unpin or close.
 */
struct gpusched_topology {
	__u32 size;
	__u32 flags;
	__u32 nr_gpus;
	__u32 gpu_entry_size;
	__aligned_u64 gpus;
	__u32 nr_cpus;
	__u32 __reserved;
	__aligned_u64 llc;
	__aligned_u64 housekeeping;
	__aligned_u64 generation;
};

/**
 * enum gpusched_target_type - what a pin, unpin or query applies to
 * @GPUSCHED_TARGET_THREAD: one thread, by thread id in the caller's PID
 *	namespace; 0 is the calling thread
 * @GPUSCHED_TARGET_PROCESS: every thread of a process, by process id;
 *	0 is the calling process
 * @GPUSCHED_TARGET_PIDFD: by a pidfd (pidfd_open(2), clone(CLONE_PIDFD)):
 *	every thread of the process it refers to, or the one thread of a
 *	PIDFD_THREAD pidfd.  Unlike an id, a pidfd can never name a process
 *	that took over the id of one that exited.  Not for
 *	GPUSCHED_IOC_QUERY.
 */
enum gpusched_target_type {
	GPUSCHED_TARGET_THREAD = 1,
	GPUSCHED_TARGET_PROCESS = 2,
	GPUSCHED_TARGET_PIDFD = 3,
};

/** define GPUSCHED_PIN_SPILL - may use CPUs of farther nodes when the GPU's node has too few. */
#define GPUSCHED_PIN_SPILL	0x1u

/**
 * struct gpusched_pin - ioctl(GPUSCHED_IOC_PIN)
 * @size: sizeof(struct gpusched_pin)
 * @flags: GPUSCHED_PIN_* bits
 * @target_type: a GPUSCHED_TARGET_* value
 * @target_id: thread id, process id or pidfd, see &enum gpusched_target_type
 * @gpu: index of the GPU in the current topology
 * @policy: in, a GPUSCHED_POLICY_* value; out, the policy applied
 * @cores: GPUSCHED_POLICY_EXCLUSIVE only: physical cores wanted, or 0 for
 *	an even share of what is left of the GPU's part of its node; must be
 *	0 for the other policies
 * @nr_cpus: bits of room in @cpus; out, nr_cpu_ids.  EMSGSIZE (and
 *	nothing pinned) when @cpus is given with less room than nr_cpu_ids
 * @cpus: user pointer to a CPU mask (__u64 words) that receives the CPUs
 *	chosen, or 0
 * @nr_threads: output, threads pinned
 * @__reserved: must be 0
 *
 * The target is pinned as one worker: all its threads share the CPUs
 * chosen.  Threads a whole-process target creates later inherit them and
 * join the worker, and so do the processes its threads start (they keep an
 * exclusive worker's cores held until the last of them ends); a process
 * that a single-thread target starts gets the thread's CPUs from before the
 * pin.  The CPUs never include ones the target was not allowed to use
 * when it was first pinned (its cpuset), nor housekeeping or offline CPUs.
 * The pin belongs to the open file it was made through and ends with it.
 * Pinning a task of another user needs CAP_SYS_NICE in that task's user
 * namespace.  EBUSY when a target thread is already pinned; EDQUOT when an
 * exclusive pin would take the caller's user over the module's
 * max_reserved_cpus_per_user (CAP_SYS_NICE is not limited).
 */
struct gpusched_pin {
	__u32 size;
	__u32 flags;
	__u32 target_type;
	__u32 target_id;
	__u32 gpu;
	__u32 policy;
	__u32 cores;
	__u32 nr_cpus;
	__aligned_u64 cpus;
	__u32 nr_threads;
	__u32 __reserved;
};

/**
 * struct gpusched_unpin - ioctl(GPUSCHED_IOC_UNPIN)
 * @size: sizeof(struct gpusched_unpin)
 * @flags: must be 0
 * @target_type: a GPUSCHED_TARGET_* value
 * @target_id: thread id, process id or pidfd
 * @nr_threads: output, threads unpinned
 * @__reserved: must be 0
 *
 * Restores each thread's CPUs to what they were before its first pin (or,
 * after a cpuset change the module followed, to the CPUs the cpuset allows
 * now: QUERY's @original_cpus) and releases the CPUs the pin held.  A
 * thread that changed its own CPUs since (GPUSCHED_QUERY_OWN_CPUS), or
 * whose CPUs someone else changed since the module last set them, keeps
 * them.  Allowed to the file that made the pin
 * and to callers who could have pinned the target.  ENOENT when no thread
 * of the target is pinned.
 */
struct gpusched_unpin {
	__u32 size;
	__u32 flags;
	__u32 target_type;
	__u32 target_id;
	__u32 nr_threads;
	__u32 __reserved;
};

/** define GPUSCHED_QUERY_PINNED - result flag: the thread is pinned. */
#define GPUSCHED_QUERY_PINNED	0x1u
/** define GPUSCHED_QUERY_OWN_FILE - result flag: pinned through the caller's file. */
#define GPUSCHED_QUERY_OWN_FILE	0x2u
/**
 * define GPUSCHED_QUERY_FALLBACK - result flag: the pin's policy does not
 * fit what is online and allowed; its threads use the GPU's node meanwhile.
 */
#define GPUSCHED_QUERY_FALLBACK	0x4u
/**
 * define GPUSCHED_QUERY_BROKEN - result flag: no CPU of the GPU's node is
 * online and allowed to the pin's threads; they run where their cpuset puts
 * them until one is.
 */
#define GPUSCHED_QUERY_BROKEN	0x8u
/**
 * define GPUSCHED_QUERY_OWN_CPUS - result flag: the thread changed its own
 * CPUs after the pin (sched_setaffinity(), seen on kernels 6.2 and later);
 * the module no longer moves it.
 */
#define GPUSCHED_QUERY_OWN_CPUS	0x10u

/**
 * enum gpusched_pin_reason - why a pin is a fallback or broken
 * @GPUSCHED_PIN_REASON_NONE: it is neither
 * @GPUSCHED_PIN_REASON_NO_CPUS: too few CPUs of the GPU's node are online,
 *	allowed to the pin's threads (their cpuset) and not kept for
 *	housekeeping
 * @GPUSCHED_PIN_REASON_HELD: the CPUs that are left are held by other
 *	exclusive pins
 */
enum gpusched_pin_reason {
	GPUSCHED_PIN_REASON_NONE = 0,
	GPUSCHED_PIN_REASON_NO_CPUS = 1,
	GPUSCHED_PIN_REASON_HELD = 2,
};

/**
 * struct gpusched_query - ioctl(GPUSCHED_IOC_QUERY)
 * @size: sizeof(struct gpusched_query)
 * @flags: must be 0
 * @target_type: must be GPUSCHED_TARGET_THREAD
 * @target_id: thread id, 0 for the calling thread
 * @result: output, GPUSCHED_QUERY_* bits
 * @gpu: output, GPU of the pin
 * @policy: output, policy of the pin
 * @owner_pid: output, process that opened the file holding the pin, in the
 *	caller's PID namespace (0 when it is not visible there)
 * @nr_cpus: bits of room in @cpus and @original_cpus; out, nr_cpu_ids
 * @__reserved: must be 0
 * @cpus: user pointer to a mask receiving the pin's CPUs (for a broken
 *	pin, the online CPUs its threads are allowed), or 0
 * @original_cpus: user pointer to a mask receiving the CPUs the thread was
 *	allowed before its first pin, or, once the module has followed a
 *	change of them (a cpuset rewrite), the CPUs it is allowed now: what
 *	UNPIN gives back.  Or 0
 * @reason: output, a &enum gpusched_pin_reason when @result has
 *	GPUSCHED_QUERY_FALLBACK or GPUSCHED_QUERY_BROKEN, else 0
 *	(GPUSCHED_FEATURE_PIN_STATE)
 * @nr_followed: output, times the module placed the pin again because the
 *	CPUs its threads are allowed changed under it (a cpuset rewrite or a
 *	move to another cgroup) (GPUSCHED_FEATURE_PIN_STATE)
 *
 * Anyone may query any thread they can see.  Fields other than @result are
 * 0 and the masks are not written when the thread is not pinned.  A caller
 * built against an older header passes a smaller @size and gets the fields
 * it knows.
 */
struct gpusched_query {
	__u32 size;
	__u32 flags;
	__u32 target_type;
	__u32 target_id;
	__u32 result;
	__u32 gpu;
	__u32 policy;
	__u32 owner_pid;
	__u32 nr_cpus;
	__u32 __reserved;
	__aligned_u64 cpus;
	__aligned_u64 original_cpus;
	__u32 reason;
	__u32 nr_followed;
};

#define GPUSCHED_IOC_GET_INFO		_IO(GPUSCHED_TYPE, GPUSCHED_CMD_GET_INFO)
#define GPUSCHED_IOC_SET_TOPOLOGY	_IO(GPUSCHED_TYPE, GPUSCHED_CMD_SET_TOPOLOGY)
#define GPUSCHED_IOC_GET_TOPOLOGY	_IO(GPUSCHED_TYPE, GPUSCHED_CMD_GET_TOPOLOGY)
#define GPUSCHED_IOC_PIN		_IO(GPUSCHED_TYPE, GPUSCHED_CMD_PIN)
#define GPUSCHED_IOC_UNPIN		_IO(GPUSCHED_TYPE, GPUSCHED_CMD_UNPIN)
#define GPUSCHED_IOC_QUERY		_IO(GPUSCHED_TYPE, GPUSCHED_CMD_QUERY)

#endif /* _UAPI_LINUX_GPUSCHED_H */
