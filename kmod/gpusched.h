/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between the files of gpusched.ko.  Nothing here is
 * visible to userspace; the ABI lives in the uapi header.
 *
 * Locking, for the whole module:
 *
 * gpusched_lock (a mutex) serialises every change of state: publishing a
 * new topology, the reservation table, the list of pinned workers and
 * threads, and the online flags of the current topology's CPUs.  It may be
 * held across set_cpus_allowed_ptr(), which sleeps.  Whoever may change a
 * thread's CPUs under it (PIN, UNPIN, the release of a file, the hotplug,
 * watch and adopt works) takes cpus_read_lock() first, through
 * gpusched_lock_cpus(), as the cpuset code does: the online CPUs cannot
 * change between a placement and the move it asks for.  Without it a CPU
 * could go down between the two, set_cpus_allowed_ptr() could then leave a
 * migration-disabled thread on a CPU outside its new mask, and 6.12's
 * affine_move_task() warns when that thread next calls migrate_enable()
 * (on PREEMPT_RT, where every spinlock disables migration; plain
 * sched_setaffinity() racing CPU hot-unplug does it without the module, so
 * the fault is the kernel's, but the module need not add to it).  Holding
 * off hotplug costs it the time a pin of a process's threads takes, as a
 * cpuset change of a cgroup's tasks does.  The order is always
 * cpus_read_lock(), then gpusched_lock.  Nothing under either faults in
 * user memory: UNPIN writes its answer under them with page faults
 * disabled (the dispatcher proved the buffer writable before), so that
 * neither a slow fault (a FUSE mapping) nor mmap_lock nests inside them.
 *
 * gpusched_current_table is published with rcu_assign_pointer() under
 * gpusched_lock and read under rcu_read_lock() by sysfs and GET_INFO; a
 * table is never modified once published, except for the CPU online flags
 * used by the placement engine and the mask they were set from, which only
 * holders of gpusched_lock read.
 */
#ifndef _GPUSCHED_H
#define _GPUSCHED_H

#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "placement.h"

#define GPUSCHED_VERSION "0.4.0"

struct pid;
struct file;
struct task_struct;

/**
 * struct gpusched_ucmd - one ioctl as its command function sees it
 * @cmd: the command's struct, copied in and zero-filled to @size
 * @uarg: the caller's struct
 * @user_size: its size as the caller gave it
 * @size: sizeof() the struct this module knows
 * @responded: the command wrote its answer itself (gpusched_ucmd_respond())
 *
 * A command that changes state writes its answer before the change becomes
 * final (SET_TOPOLOGY, UNPIN) or takes the change back when the answer
 * cannot be written (PIN): a caller that gets EFAULT (say, an argument
 * unmapped during the call) finds everything as it was.  Commands that only
 * read let the dispatcher write the answer after them.
 */
struct gpusched_ucmd {
	void *cmd;
	void __user *uarg;
	u32 user_size;
	u32 size;
	bool responded;
};

int gpusched_ucmd_respond(struct gpusched_ucmd *ucmd);
int gpusched_ucmd_respond_nofault(struct gpusched_ucmd *ucmd);

/**
 * struct gpusched_gpu_rec - one GPU of a topology, as the module resolved it
 * @domain: PCI domain
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @node: node whose CPUs the GPU is attached to (may have no CPUs)
 * @mem_node: node of the GPU's memory, @node when it has none of its own
 * @uuid: as userspace gave it
 */
struct gpusched_gpu_rec {
	u32 domain;
	u32 bus;
	u32 devfn;
	u32 node;
	u32 mem_node;
	u8 uuid[16];
};

/**
 * struct gpusched_table - one immutable topology table
 * @rcu: frees the table after readers are done with it
 * @generation: number of the SET_TOPOLOGY that created it
 * @nr_gpus: entries in @gpus and @engine.gpus
 * @gpus: the GPUs as resolved
 * @engine: the snapshot the placement engine works on; its CPU online
 *	flags are refreshed under gpusched_lock before every placement
 * @cpus: backing store of @engine.cpus (nr_cpu_ids entries)
 * @index: backing store of @engine.node_cpus and @engine.node_start
 * @housekeeping: CPUs no pin may use, a bitmap of nr_cpu_ids bits
 * @online: the online CPUs @engine's flags were last set from, a bitmap of
 *	nr_cpu_ids bits; changed with the flags, under gpusched_lock
 * @masks: backing store of @engine.usable_cpus and @engine.node_masks,
 *	filled again with the flags, under gpusched_lock
 *
 * Allocated as one block by gpusched_table_alloc(); all arrays live in it.
 */
struct gpusched_table {
	struct rcu_head rcu;
	u64 generation;
	u32 nr_gpus;
	struct gpusched_gpu_rec *gpus;
	struct gs_topology engine;
	struct gs_cpu *cpus;
	u32 *index;
	unsigned long *housekeeping;
	unsigned long *online;
	unsigned long *masks;
};

extern struct mutex gpusched_lock;

void gpusched_lock_cpus(void);
void gpusched_unlock_cpus(void);

/*
 * gpusched_topology_lock serialises topology updates against each other and
 * guards the gpus/gpuN sysfs directories.  Order: gpusched_topology_lock,
 * then gpusched_lock; never the other way, since removing a directory waits
 * for readers of its files, and those take gpusched_lock.
 */
extern struct mutex gpusched_topology_lock;
extern struct gpusched_table __rcu *gpusched_current_table;

/**
 * struct gpusched_file - state of one open file of /dev/gpusched
 * @opener: thread-group pid of the process that opened it (reference held)
 *
 * Its workers are the entries of the worker list whose owner it is.
 */
struct gpusched_file {
	struct pid *opener;
};

/**
 * struct gpusched_worker - one pin: a set of threads sharing chosen CPUs
 * @node: entry in the global worker list, under gpusched_lock
 * @owner: the open file the pin belongs to
 * @threads: its struct gpusched_thread entries
 * @gpu: GPU index in the topology it was made under
 * @policy: policy applied (never GPUSCHED_POLICY_DEFAULT)
 * @cores: cores per worker asked for (exclusive only)
 * @flags: GPUSCHED_PIN_* flags asked for
 * @reservation: engine reservation id, 0 for a shared policy
 * @id: unique for the module's lifetime, to find the worker again safely
 * @generation: generation of the topology @gpu indexes
 * @uid: real user id of the caller that made the pin, charged for its
 *	exclusive CPUs
 * @unlimited: an exclusive worker whose caller had CAP_SYS_NICE:
 *	max_reserved_cpus_per_user does not apply
 * @fallback: CPU hotplug or a cpuset change left no room for @policy; the
 *	worker runs on its GPU's node until a later event makes room again
 * @broken: not even that: no CPU of the GPU's node is online and allowed
 *	to its threads, which run where the kernel put them (their cpuset)
 * @reason: a GPUSCHED_PIN_REASON_* value saying why, when @fallback
 * @nr_followed: times its threads' allowed CPUs changed under it (a cpuset
 *	rewrite, a move to another cgroup) and it was placed again
 * @replace_pending: a new topology was published; the next run of the
 *	hotplug work places the worker again whatever its policy
 * @process: the thread group of a whole-process pin (reference held), whose
 *	threads created after the pin join the worker; NULL for a thread pin
 * @cpus: the CPUs the threads are pinned to; points into @mask
 * @mask: storage of @cpus, cpumask_size() bytes allocated with the worker
 *
 * Everything in it is protected by gpusched_lock.
 */
struct gpusched_worker {
	struct list_head node;
	struct gpusched_file *owner;
	struct list_head threads;
	u32 gpu;
	u32 policy;
	u32 cores;
	u32 flags;
	u32 reservation;
	u64 id;
	u64 generation;
	kuid_t uid;
	bool unlimited;
	bool fallback;
	bool broken;
	bool replace_pending;
	u32 reason;
	u32 nr_followed;
	struct pid *process;
	struct cpumask *cpus;
	unsigned long mask[];
};

/**
 * struct gpusched_mask - a set of CPUs, kept once for all who hold it
 * @node: entry in the table of masks by @digest, or in the list of
 *	spares once no one holds it (gpusched_mask.c)
 * @ref: one per holder
 * @filled: @bits and @digest were set by an intern; false only for a
 *	spare allocated blank, which holds no CPUs yet
 * @digest: gpusched_mask_digest() of the CPUs
 * @bits: the CPUs, cpumask_size() bytes; never changed once in the table
 */
struct gpusched_mask {
	struct hlist_node node;
	refcount_t ref;
	bool filled;
	u64 digest;
	unsigned long bits[];
};

static inline const struct cpumask *gpusched_mask_cpus(const struct gpusched_mask *mask)
{
	return to_cpumask(mask->bits);
}

/* gpusched_mask.c: get and intern under gpusched_lock, the rest anywhere; see there */
void gpusched_mask_init(void);
void gpusched_mask_exit(void);
u64 gpusched_mask_digest(const struct cpumask *cpus);
int gpusched_mask_reserve(void);
struct gpusched_mask *gpusched_mask_intern(const struct cpumask *cpus);
struct gpusched_mask *gpusched_mask_get(const struct cpumask *cpus);
struct gpusched_mask *gpusched_mask_hold(struct gpusched_mask *mask);
void gpusched_mask_put(struct gpusched_mask *mask);

/**
 * struct gpusched_thread - one pinned thread
 * @node: entry in its worker's thread list, under gpusched_lock
 * @worker: the worker it belongs to
 * @pid: the thread (PIDTYPE_PID), reference held; the task itself is never
 *	kept, so an exited thread costs nothing but this record until reaped
 * @original: the CPUs it may use at most: those it was allowed before the
 *	pin, or, once a cpuset change was followed, those it is allowed now;
 *	restored on unpin.  Held; NULL only before the pin reads them
 * @applied: its CPUs as the kernel keeps them since the module last set
 *	them; any other value means someone else changed them.  Held; NULL
 *	until the module first sets them
 * @user_cpus: gpusched_mask_digest() of the CPUs the thread itself had
 *	asked for then (the kernel's user_cpus_ptr, kept since 6.2), when
 *	@has_user_cpus; only ever compared, so the digest stands for them
 * @has_user_cpus: it had asked for some
 * @own_cpus: it has asked for other CPUs since: the module never moves it
 *	again, nor gives it @original back on unpin
 * @whole_process: @worker pins a whole process (its @process is set); set
 *	when the record is tracked, for the fork tracepoint, which reads it
 *	under RCU and may not follow @worker
 * @hash: entry in the table of pinned threads by @pid, added and removed
 *	under gpusched_lock and read under RCU by the fork tracepoint
 * @rcu: frees the record once those readers are done
 *
 * The masks are shared with every record of the same CPUs (struct
 * gpusched_mask), so a record is the same size whatever the number of
 * possible CPUs.
 */
struct gpusched_thread {
	struct list_head node;
	struct gpusched_worker *worker;
	struct pid *pid;
	struct gpusched_mask *original;
	struct gpusched_mask *applied;
	u64 user_cpus;
	bool has_user_cpus;
	bool own_cpus;
	bool whole_process;
	struct hlist_node hash;
	struct rcu_head rcu;
};

/* gpusched_main.c */
u32 gpusched_default_policy(void);
int gpusched_set_default_policy(const char *name);
unsigned int gpusched_max_reserved_cpus_per_user(void);
void gpusched_set_max_reserved_cpus_per_user(unsigned int limit);

/* gpusched_table.c */
struct gpusched_gpu;
struct gpusched_table *gpusched_table_alloc(u32 nr_gpus);
void gpusched_fill_cpus(struct gpusched_table *topo, const u32 *llc);
int gpusched_resolve_gpu(const struct gpusched_gpu *in, u32 index, struct gpusched_gpu_rec *rec);

/* gpusched_topology.c */
int gpusched_set_topology(struct file *file, struct gpusched_ucmd *ucmd);
int gpusched_get_topology(struct file *file, struct gpusched_ucmd *ucmd);
void gpusched_table_refresh_online(struct gpusched_table *table);
int gpusched_put_bitmap(u64 uptr, const unsigned long *bits);
int gpusched_probe_user_bitmap(u64 uptr);
void gpusched_topology_exit(void);

/*
 * The pin files: gpusched_pin.c (workers, reservations and the PIN, UNPIN
 * and QUERY commands), gpusched_target.c (what a command names),
 * gpusched_track.c (thread records, exits, tasks pinned threads create) and
 * gpusched_hotplug.c (placing workers again when CPUs or the topology
 * change).  Everything below is under gpusched_lock unless it says so.
 */

/**
 * struct gpusched_targets - the threads a PIN, UNPIN or QUERY names
 * @pids: one pid reference per thread; points to @one for a single thread
 * @nr: entries in @pids
 * @process: the thread group, with a reference, when a whole process was
 *	named; NULL otherwise
 * @one: the storage of @pids when the command names a single thread, so
 *	that the common case allocates nothing; the struct is never copied
 */
struct gpusched_targets {
	struct pid **pids;
	unsigned int nr;
	struct pid *process;
	struct pid *one;
};

/* Every pinned worker, struct gpusched_worker.node. */
extern struct list_head gpusched_workers;
/* The machine's exclusive reservations: one hold per CPU. */
extern struct gs_reservations gpusched_resv;
/* A scratch mask for whoever holds gpusched_lock, for the length of a call. */
extern cpumask_var_t gpusched_scratch;

/* gpusched_target.c: no lock needed */
void gpusched_put_targets(struct gpusched_targets *targets);
int gpusched_collect_threads(struct task_struct *leader, struct gpusched_targets *targets);
int gpusched_resolve_targets(u32 type, u32 id, struct gpusched_targets *targets);
int gpusched_check_target(struct pid *pid);

/* gpusched_track.c */
int gpusched_track_init(void);
void gpusched_track_exit(void);
struct gpusched_thread *gpusched_find_thread(struct pid *pid);
struct gpusched_thread *gpusched_thread_alloc(struct pid *pid);
void gpusched_thread_track(struct gpusched_thread *thread);
void gpusched_thread_untrack(struct gpusched_thread *thread);
void gpusched_thread_free(struct gpusched_thread *thread);
bool gpusched_thread_gone(const struct gpusched_thread *thread);
int gpusched_thread_apply(struct gpusched_thread *thread, const struct cpumask *mask);
int gpusched_thread_restore(struct gpusched_thread *thread);
int gpusched_read_affinity(struct pid *pid, struct cpumask *mask);
int gpusched_thread_note(struct gpusched_thread *thread, const struct cpumask *mask);

/**
 * enum gpusched_thread_change - what gpusched_thread_check() found
 * @GPUSCHED_THREAD_SAME: its CPUs are the ones the module gave it (or it is gone)
 * @GPUSCHED_THREAD_ALLOWED: someone else changed them (a cpuset rewrite, a
 *	move to another cgroup); @original now holds the new ones
 * @GPUSCHED_THREAD_OWN: the thread asked for CPUs of its own
 * @GPUSCHED_THREAD_STRANDED: none of the CPUs it was given is online and the
 *	scheduler chose others; @original is unchanged
 */
enum gpusched_thread_change {
	GPUSCHED_THREAD_SAME,
	GPUSCHED_THREAD_ALLOWED,
	GPUSCHED_THREAD_OWN,
	GPUSCHED_THREAD_STRANDED,
};

enum gpusched_thread_change gpusched_thread_check(struct gpusched_thread *thread);
void gpusched_reap_locked(void);
void gpusched_reap_flush(void);
void gpusched_worker_adopt(struct gpusched_worker *worker, bool just_pinned);
void gpusched_worker_bury(struct gpusched_worker *worker, struct pid *process);
void gpusched_adopt_flush(void);

/* gpusched_hotplug.c */
int gpusched_hotplug_init(void);
void gpusched_hotplug_exit(void);
void gpusched_worker_replace(struct gpusched_table *table, struct gpusched_worker *worker,
			     bool moved_away);
void gpusched_worker_follow(struct gpusched_table *table, struct gpusched_worker *worker);

/* gpusched_watch.c */
void gpusched_watch_exit(void);
void gpusched_watch_start(void);
void gpusched_watch_locked(struct gpusched_table *table);
unsigned int gpusched_watch_interval_ms(void);
int gpusched_set_watch_interval_ms(unsigned int ms);

/* gpusched_pin.c */
void gpusched_worker_free(struct gpusched_worker *worker);
void gpusched_worker_allowed(const struct gpusched_worker *worker, struct cpumask *allowed);
int gpusched_place_locked(struct gpusched_table *table, struct gpusched_worker *worker,
			  u32 policy, const struct cpumask *allowed);
int gpusched_pin_init(void);
void gpusched_pin_exit(void);
int gpusched_pin(struct file *file, struct gpusched_ucmd *ucmd);
int gpusched_unpin(struct file *file, struct gpusched_ucmd *ucmd);
int gpusched_query(struct file *file, struct gpusched_ucmd *ucmd);
void gpusched_release_file(struct gpusched_file *gfile);
unsigned int gpusched_nr_pinned_threads(void);
unsigned int gpusched_gpu_nr_threads(u32 gpu);
unsigned int gpusched_nr_pins_in_state(bool broken);
void gpusched_gpu_reserved_cpus(u32 gpu, struct cpumask *mask);
void gpusched_pins_carry_over(const struct gpusched_table *old, const struct gpusched_table *new);

/* gpusched_sysfs.c */
int gpusched_sysfs_init(void);
void gpusched_sysfs_exit(void);
int gpusched_sysfs_resize_gpus(u32 nr_gpus);

#endif /* _GPUSCHED_H */
