// SPDX-License-Identifier: GPL-2.0
/*
 * Pins: which threads run where, who holds which cores, and keeping that
 * true while jobs come and go and CPUs go offline.
 *
 * A pin makes one worker: a set of threads (one thread, or every thread of
 * a process) that share the CPUs the placement engine chose for them.  An
 * exclusive worker also holds its cores in the one reservation table of the
 * machine, so no other job gets them.  A worker belongs to the open file it
 * was pinned through and ends with it: closing the file, or the death of
 * the process that holds it, unpins and releases everything.  Threads are
 * remembered by struct pid, never by task pointer; a thread that exits is
 * reaped (its record freed, its worker's cores released when it was the
 * last) by a work item that the sched_process_exit tracepoint kicks.  The
 * threads a pinned process creates later inherit its CPUs from the start;
 * a work item that the sched_process_fork tracepoint kicks then adds them
 * to the worker, so that they move with it on hotplug and get their CPUs
 * back on unpin like the threads that were there at the pin.
 *
 * Every set_cpus_allowed_ptr() call here runs in process context under
 * gpusched_lock (a mutex) and outside any RCU read section, because it may
 * sleep until the task has migrated.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/idr.h>
#include <linux/magic.h>
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include <linux/workqueue.h>
#include <trace/events/sched.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/* See gpusched.h: every change of pins, reservations and the table. */
DEFINE_MUTEX(gpusched_lock);

/* Every pinned worker, struct gpusched_worker.node; under gpusched_lock. */
static LIST_HEAD(gpusched_workers);

/*
 * The placement engine's state, all under gpusched_lock: the machine's
 * exclusive reservations (one hold per CPU), the engine's scratch space,
 * and the output buffers of one placement.  Sized once for nr_cpu_ids and
 * nr_node_ids, which never change while the module is loaded.
 */
static struct gs_reservations gpusched_resv;
static struct gs_workspace gpusched_ws;
static unsigned long *gpusched_out_cpus;
static u32 gpusched_out_node;

/* Next struct gpusched_worker.id; under gpusched_lock. */
static u64 gpusched_next_worker_id = 1;

/* Scratch masks for work done under gpusched_lock. */
static cpumask_var_t gpusched_scratch;
static cpumask_var_t gpusched_hotplug_allowed;
static cpumask_var_t gpusched_hotplug_held;

/*
 * Reservation ids handed to the engine (never 0), each mapped to the worker
 * that holds it, so that a CPU's hold leads to its holder; under
 * gpusched_lock.
 */
static DEFINE_IDR(gpusched_reservations);

/*
 * Pinned thread records, by struct pid: added and removed under
 * gpusched_lock; the fork tracepoint, which must not sleep, reads it under
 * RCU, so records are freed after a grace period.
 */
static DEFINE_HASHTABLE(gpusched_thread_hash, 10);

/* Pinned thread records; lets the tracepoints do nothing when zero. */
static atomic_t gpusched_nr_threads = ATOMIC_INIT(0);

/*
 * Tasks that pinned threads created, queued by the fork tracepoint for the
 * adopt work (see gpusched_fork_probe()).  The probe may not allocate (it
 * runs with preemption off, and slab locks sleep on PREEMPT_RT), so the
 * queue is a fixed array under a raw spinlock; when a burst overflows it,
 * the work sweeps every pinned process instead.  The work swaps in the
 * spare array to empty the queue quickly.
 */
#define GPUSCHED_MAX_BIRTHS 256

struct gpusched_birth {
	struct pid *creator;	/* the pinned thread that created the task (held) */
	struct pid *child;	/* the new thread or process (held) */
	bool thread;		/* a thread of the creator's process */
};

struct gpusched_births {
	unsigned int nr;
	bool overflow;
	struct gpusched_birth entries[GPUSCHED_MAX_BIRTHS];
};

static DEFINE_RAW_SPINLOCK(gpusched_births_lock);
static struct gpusched_births gpusched_births_buf[2];
/* The array the probe fills; under gpusched_births_lock. */
static struct gpusched_births *gpusched_births = &gpusched_births_buf[0];

static void gpusched_worker_adopt(struct gpusched_worker *worker, bool just_pinned);
static void gpusched_reap_workfn(struct work_struct *work);
static void gpusched_hotplug_workfn(struct work_struct *work);
static void gpusched_adopt_workfn(struct work_struct *work);
static DECLARE_WORK(gpusched_reap_work, gpusched_reap_workfn);
static DECLARE_WORK(gpusched_hotplug_work, gpusched_hotplug_workfn);
static DECLARE_WORK(gpusched_adopt_work, gpusched_adopt_workfn);

static enum cpuhp_state gpusched_cpuhp_state;
static struct tracepoint *gpusched_exit_tp;
static struct tracepoint *gpusched_fork_tp;

/*
 * The threads a pin, unpin or query names, each with a pid reference, and
 * the thread group too (with a reference) when it named a whole process.
 */
struct gpusched_targets {
	struct pid **pids;
	unsigned int nr;
	struct pid *process;
};

/* Drops the threads of @targets, not the process. */
static void gpusched_put_thread_targets(struct gpusched_targets *targets)
{
	unsigned int i;

	for (i = 0; i < targets->nr; i++)
		put_pid(targets->pids[i]);
	kvfree(targets->pids);
	targets->pids = NULL;
	targets->nr = 0;
}

static void gpusched_put_targets(struct gpusched_targets *targets)
{
	gpusched_put_thread_targets(targets);
	put_pid(targets->process);
	targets->process = NULL;
}

/* Every thread of the process led by @leader, which the caller holds. */
static int gpusched_collect_threads(struct task_struct *leader,
				    struct gpusched_targets *targets)
{
	struct task_struct *task;
	unsigned int room;
	bool full;

	do {
		room = get_nr_threads(leader) + 8;
		targets->pids = kvcalloc(room, sizeof(*targets->pids), GFP_KERNEL);
		if (!targets->pids)
			return -ENOMEM;
		full = false;
		rcu_read_lock();
		for_each_thread(leader, task) {
			struct pid *pid;

			if (targets->nr == room) {
				full = true;
				break;
			}
			/* NULL for a thread that is exiting: not a target. */
			pid = get_task_pid(task, PIDTYPE_PID);
			if (pid)
				targets->pids[targets->nr++] = pid;
		}
		rcu_read_unlock();
		/*
		 * Threads were created meanwhile: count again, keeping
		 * @targets->process, so that the pin stays a process pin.
		 */
		if (full)
			gpusched_put_thread_targets(targets);
	} while (full);
	return targets->nr ? 0 : -ESRCH;
}

/* The magic of pidfs (6.9 on), absent from older headers. */
#ifndef PID_FS_MAGIC
#define PID_FS_MAGIC 0x50494446
#endif

/*
 * The struct pid a pidfd holds.  pidfd_pid() is not exported to modules, so
 * a pidfd is recognised the way the kernel makes it: from 6.9 a file of
 * pidfs whose inode carries the pid, before that an anonymous inode file
 * named "[pidfd]" whose private_data is the pid.  A kernel has only one of
 * the two kinds.
 */
static struct pid *gpusched_pidfd_pid(u32 fd, bool *thread)
{
	struct pid *pid = ERR_PTR(-EBADF);
	unsigned long magic;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	magic = file_inode(file)->i_sb->s_magic;
	*thread = false;
	if (magic == PID_FS_MAGIC) {
		pid = get_pid(file_inode(file)->i_private);
		/* PIDFD_THREAD is O_EXCL, kept in the file's flags. */
		*thread = file->f_flags & O_EXCL;
	} else if (magic == ANON_INODE_FS_MAGIC &&
		   !strcmp(file->f_path.dentry->d_name.name, "[pidfd]")) {
		pid = get_pid(file->private_data);
	}
	fput(file);
	return pid;
}

static int gpusched_one_target(struct pid *pid, struct gpusched_targets *targets)
{
	targets->pids = kvcalloc(1, sizeof(*targets->pids), GFP_KERNEL);
	if (!targets->pids) {
		put_pid(pid);
		return -ENOMEM;
	}
	targets->pids[0] = pid;
	targets->nr = 1;
	return 0;
}

/*
 * Every thread of the process @pid leads; the reference on @pid moves to
 * @targets->process.
 */
static int gpusched_process_targets(struct pid *pid, struct gpusched_targets *targets)
{
	struct task_struct *leader;
	int ret;

	targets->process = pid;
	leader = get_pid_task(pid, PIDTYPE_TGID);
	if (!leader)
		return -ESRCH;
	ret = gpusched_collect_threads(leader, targets);
	put_task_struct(leader);
	return ret;
}

static int gpusched_lookup_targets(u32 type, u32 id, struct gpusched_targets *targets)
{
	struct pid *pid;
	bool thread;

	switch (type) {
	case GPUSCHED_TARGET_THREAD:
		pid = id ? find_get_pid(id) : get_task_pid(current, PIDTYPE_PID);
		if (!pid)
			return -ESRCH;
		return gpusched_one_target(pid, targets);
	case GPUSCHED_TARGET_PROCESS:
		pid = id ? find_get_pid(id) : get_task_pid(current, PIDTYPE_TGID);
		return gpusched_process_targets(pid, targets);
	case GPUSCHED_TARGET_PIDFD:
		pid = gpusched_pidfd_pid(id, &thread);
		if (IS_ERR(pid))
			return PTR_ERR(pid);
		/* A PIDFD_THREAD pidfd names one thread, not a process. */
		if (thread)
			return gpusched_one_target(pid, targets);
		return gpusched_process_targets(pid, targets);
	default:
		return -EINVAL;
	}
}

/*
 * Fills @targets for a PIN, UNPIN or QUERY.  On failure @targets holds no
 * reference: a PROCESS id that names a thread other than the leader, or a
 * pidfd of a process that was reaped, found a struct pid before it found
 * no task, and that reference must not outlive the call.
 */
static int gpusched_resolve_targets(u32 type, u32 id, struct gpusched_targets *targets)
{
	int ret = gpusched_lookup_targets(type, id, targets);

	if (ret)
		gpusched_put_targets(targets);
	return ret;
}

/* The rule of sched_setaffinity(): same owner, or CAP_SYS_NICE over the task. */
static bool gpusched_may_pin(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	bool allowed;

	rcu_read_lock();
	tcred = __task_cred(task);
	allowed = uid_eq(cred->euid, tcred->euid) || uid_eq(cred->euid, tcred->uid) ||
		  ns_capable(tcred->user_ns, CAP_SYS_NICE);
	rcu_read_unlock();
	return allowed;
}

/*
 * set_cpus_allowed_ptr() checks neither of what sched_setaffinity() refuses:
 * kernel threads and tasks whose affinity the kernel manages.
 */
static int gpusched_check_target(struct pid *pid)
{
	struct task_struct *task;
	int ret = 0;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	if (task->flags & (PF_KTHREAD | PF_NO_SETAFFINITY))
		ret = -EINVAL;
	else if (!gpusched_may_pin(task))
		ret = -EPERM;
	put_task_struct(task);
	return ret;
}

static struct gpusched_thread *gpusched_find_thread(struct pid *pid)
{
	struct gpusched_thread *thread;

	lockdep_assert_held(&gpusched_lock);
	hash_for_each_possible(gpusched_thread_hash, thread, hash, (unsigned long)pid)
		if (thread->pid == pid)
			return thread;
	return NULL;
}

/* Whether @pid is a pinned thread; under rcu_read_lock() or with preemption off. */
static bool gpusched_thread_pinned_rcu(struct pid *pid)
{
	struct gpusched_thread *thread;

	hash_for_each_possible_rcu(gpusched_thread_hash, thread, hash, (unsigned long)pid)
		if (READ_ONCE(thread->pid) == pid)
			return true;
	return false;
}

/* Makes a record of a listed worker findable; it counts from now on. */
static void gpusched_thread_track(struct gpusched_thread *thread)
{
	lockdep_assert_held(&gpusched_lock);
	hash_add_rcu(gpusched_thread_hash, &thread->hash, (unsigned long)thread->pid);
	atomic_inc(&gpusched_nr_threads);
}

static bool gpusched_thread_gone(const struct gpusched_thread *thread)
{
	struct task_struct *task;
	bool gone;

	rcu_read_lock();
	task = pid_task(thread->pid, PIDTYPE_PID);
	gone = !task || (task->flags & PF_EXITING);
	rcu_read_unlock();
	return gone;
}

static struct gpusched_thread *gpusched_thread_alloc(struct pid *pid)
{
	struct gpusched_thread *thread;

	thread = kzalloc(sizeof(*thread), GFP_KERNEL);
	if (!thread)
		return NULL;
	if (!zalloc_cpumask_var(&thread->original, GFP_KERNEL)) {
		kfree(thread);
		return NULL;
	}
	INIT_LIST_HEAD(&thread->node);
	INIT_HLIST_NODE(&thread->hash);
	thread->pid = get_pid(pid);
	return thread;
}

static void gpusched_thread_free_rcu(struct rcu_head *rcu)
{
	struct gpusched_thread *thread = container_of(rcu, struct gpusched_thread, rcu);

	free_cpumask_var(thread->original);
	kfree(thread);
}

/*
 * Unlinks a record and frees it once tracepoint readers are done.  The pid
 * reference goes now: readers only compare the pointer.
 */
static void gpusched_thread_free(struct gpusched_thread *thread)
{
	list_del(&thread->node);
	if (!hlist_unhashed(&thread->hash)) {
		hash_del_rcu(&thread->hash);
		atomic_dec(&gpusched_nr_threads);
	}
	put_pid(thread->pid);
	call_rcu(&thread->rcu, gpusched_thread_free_rcu);
}

/* Sets @thread's task to @mask; a task that is gone is not an error. */
static int gpusched_thread_apply(struct gpusched_thread *thread, const struct cpumask *mask)
{
	struct task_struct *task;
	int ret;

	task = get_pid_task(thread->pid, PIDTYPE_PID);
	if (!task)
		return 0;
	ret = set_cpus_allowed_ptr(task, mask);
	put_task_struct(task);
	return ret;
}

/* The CPUs the task may use now: its own mask, read as sched_getaffinity() does. */
static int gpusched_read_affinity(struct pid *pid, struct cpumask *mask)
{
	struct task_struct *task;
	unsigned long flags;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	raw_spin_lock_irqsave(&task->pi_lock, flags);
	cpumask_copy(mask, &task->cpus_mask);
	raw_spin_unlock_irqrestore(&task->pi_lock, flags);
	put_task_struct(task);
	return 0;
}

/*
 * Unpins one thread: gives it back the CPUs it had before and frees its
 * record.  A thread whose CPUs someone else changed since the pin (its
 * cpuset was changed, or it called sched_setaffinity() itself) keeps them:
 * restoring the old mask could move it out of a cpuset that shrank.
 */
static void gpusched_thread_unpin(struct gpusched_thread *thread)
{
	int ret;

	lockdep_assert_held(&gpusched_lock);
	if (!gpusched_thread_gone(thread) &&
	    !gpusched_read_affinity(thread->pid, gpusched_scratch) &&
	    cpumask_equal(gpusched_scratch, thread->worker->cpus)) {
		ret = gpusched_thread_apply(thread, thread->original);
		if (ret)
			pr_warn_ratelimited("cannot restore the CPUs of thread %d (%*pbl): %d\n",
					    pid_nr(thread->pid), cpumask_pr_args(thread->original),
					    ret);
	}
	gpusched_thread_free(thread);
}

static struct gpusched_worker *gpusched_worker_alloc(struct gpusched_file *owner,
						     const struct gpusched_pin *args,
						     u32 policy)
{
	struct gpusched_worker *worker;

	worker = kzalloc(sizeof(*worker), GFP_KERNEL);
	if (!worker)
		return NULL;
	if (!zalloc_cpumask_var(&worker->cpus, GFP_KERNEL)) {
		kfree(worker);
		return NULL;
	}
	INIT_LIST_HEAD(&worker->node);
	INIT_LIST_HEAD(&worker->threads);
	worker->owner = owner;
	worker->uid = current_uid();
	worker->unlimited = capable(CAP_SYS_NICE);
	worker->gpu = args->gpu;
	worker->policy = policy;
	worker->cores = args->cores;
	worker->flags = args->flags;
	return worker;
}

/* Gives back the worker's cores and reservation id and frees it; no threads left. */
static void gpusched_worker_free(struct gpusched_worker *worker)
{
	lockdep_assert_held(&gpusched_lock);
	if (worker->reservation) {
		gs_release(&gpusched_resv, worker->reservation, NULL);
		idr_remove(&gpusched_reservations, worker->reservation);
	}
	put_pid(worker->process);
	list_del(&worker->node);
	free_cpumask_var(worker->cpus);
	kfree(worker);
}

/* Unpins every thread of a listed worker and frees it. */
static void gpusched_worker_unpin(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread, *next;

	list_for_each_entry_safe(thread, next, &worker->threads, node)
		gpusched_thread_unpin(thread);
	gpusched_worker_free(worker);
}

/* Frees every record whose thread has exited, and workers left without threads. */
static void gpusched_reap_locked(void)
{
	struct gpusched_worker *worker, *next_worker;
	struct gpusched_thread *thread, *next_thread;

	lockdep_assert_held(&gpusched_lock);
	list_for_each_entry_safe(worker, next_worker, &gpusched_workers, node) {
		list_for_each_entry_safe(thread, next_thread, &worker->threads, node) {
			if (!gpusched_thread_gone(thread))
				continue;
			gpusched_thread_free(thread);
		}
		if (list_empty(&worker->threads))
			gpusched_worker_free(worker);
	}
}

/*
 * Asks the engine for @worker's CPUs under @policy within @allowed; on
 * success they are in @worker->cpus and, for an exclusive worker, held
 * under its reservation id.
 */
static int gpusched_place_locked(struct gpusched_table *table, struct gpusched_worker *worker,
				 u32 policy, const struct cpumask *allowed)
{
	struct gs_request req = {
		.gpu = worker->gpu,
		.policy = policy,
		.nr_workers = 1,
		.cores_per_worker = policy == GS_POLICY_EXCLUSIVE ? worker->cores : 0,
		.flags = worker->flags & GPUSCHED_PIN_SPILL ? GS_REQUEST_SPILL : 0,
		.reservation_id = worker->reservation,
		.allowed_cpus = cpumask_bits(allowed),
	};
	struct gs_placement out = {
		.max_workers = 1,
		.worker_cpus = gpusched_out_cpus,
		.worker_node = &gpusched_out_node,
	};
	int ret;

	/*
	 * The online flags must not change between the refresh and the
	 * apply: every caller holds cpus_read_lock().  (lockdep_assert_cpus_held()
	 * would say so, but the kernel does not export it to modules.)
	 */
	lockdep_assert_held(&gpusched_lock);
	gpusched_table_refresh_online(table);
	ret = gs_reserve(&table->engine, &gpusched_resv, &req, &gpusched_ws, &out);
	if (ret) {
		pr_debug("GPU %u, policy %s: %s\n", worker->gpu, gs_policy_name(policy),
			 gs_reason_name(out.error.reason));
		return ret;
	}
	bitmap_copy(cpumask_bits(worker->cpus), gpusched_out_cpus, nr_cpu_ids);
	return 0;
}

/* The intersection of the CPUs every thread of @worker had before its pin. */
static void gpusched_worker_allowed(const struct gpusched_worker *worker, struct cpumask *allowed)
{
	const struct gpusched_thread *thread;

	cpumask_setall(allowed);
	list_for_each_entry(thread, &worker->threads, node)
		cpumask_and(allowed, allowed, thread->original);
}

/* Gives the threads before @stop (all when NULL) their original CPUs back. */
static void gpusched_worker_restore(struct gpusched_worker *worker, struct gpusched_thread *stop)
{
	struct gpusched_thread *thread;

	list_for_each_entry(thread, &worker->threads, node) {
		if (thread == stop)
			break;
		gpusched_thread_apply(thread, thread->original);
	}
}

/* Applies @worker's CPUs to its threads; on failure all have their own back. */
static int gpusched_worker_apply(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread;
	int ret;

	list_for_each_entry(thread, &worker->threads, node) {
		ret = gpusched_thread_apply(thread, worker->cpus);
		if (ret) {
			gpusched_worker_restore(worker, thread);
			return ret;
		}
	}
	return 0;
}

/* Frees a worker that was never listed, with its threads and its id. */
static void gpusched_worker_discard(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread, *next;

	list_for_each_entry_safe(thread, next, &worker->threads, node)
		gpusched_thread_free(thread);
	if (worker->reservation)
		idr_remove(&gpusched_reservations, worker->reservation);
	put_pid(worker->process);
	free_cpumask_var(worker->cpus);
	kfree(worker);
}

/*
 * Records each thread's CPUs before the pin.  A thread of a process that
 * exited meanwhile is dropped; a single thread that did is an error.
 */
static int gpusched_read_originals(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread, *next;

	list_for_each_entry_safe(thread, next, &worker->threads, node) {
		if (!gpusched_read_affinity(thread->pid, thread->original))
			continue;
		gpusched_thread_free(thread);
	}
	return list_empty(&worker->threads) ? -ESRCH : 0;
}

/* CPUs held by exclusive workers whose pins @uid made. */
static unsigned int gpusched_user_held_cpus(kuid_t uid)
{
	const struct gpusched_worker *holder;
	unsigned int cpu, nr = 0;
	u32 id;

	lockdep_assert_held(&gpusched_lock);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		id = gpusched_resv.holds[cpu].reservation;
		if (!id)
			continue;
		holder = idr_find(&gpusched_reservations, id);
		if (holder && uid_eq(holder->uid, uid))
			nr++;
	}
	return nr;
}

/*
 * An exclusive worker just placed counts against its user's limit (its
 * own cores included); over it, the pin fails with -EDQUOT.  Users with
 * CAP_SYS_NICE, like root, have no limit.
 */
static int gpusched_charge_user(const struct gpusched_worker *worker)
{
	unsigned int limit = gpusched_max_reserved_cpus_per_user();
	unsigned int held;

	if (!worker->reservation || !limit || worker->unlimited)
		return 0;
	held = gpusched_user_held_cpus(worker->uid);
	if (held <= limit)
		return 0;
	pr_info_ratelimited("user %u: an exclusive pin would hold %u CPUs, over max_reserved_cpus_per_user (%u)\n",
			    from_kuid(&init_user_ns, worker->uid), held, limit);
	return -EDQUOT;
}

static int gpusched_pin_locked(struct gpusched_worker *worker,
			       const struct gpusched_targets *targets)
{
	struct gpusched_thread *thread;
	struct gpusched_table *table;
	unsigned int i;
	int ret;

	lockdep_assert_held(&gpusched_lock);
	table = rcu_dereference_protected(gpusched_current_table,
					  lockdep_is_held(&gpusched_lock));
	if (!table || worker->gpu >= table->nr_gpus)
		return -ENODEV;
	worker->gpu = array_index_nospec(worker->gpu, table->nr_gpus);
	for (i = 0; i < targets->nr; i++)
		if (gpusched_find_thread(targets->pids[i]))
			return -EBUSY;

	/* Never widen: the pin stays inside what each thread was allowed. */
	ret = gpusched_read_originals(worker);
	if (ret)
		return ret;
	gpusched_worker_allowed(worker, gpusched_scratch);

	if (worker->policy == GS_POLICY_EXCLUSIVE) {
		ret = idr_alloc(&gpusched_reservations, worker, 1, 0, GFP_KERNEL);
		if (ret < 0)
			return ret;
		worker->reservation = ret;
	}
	ret = gpusched_place_locked(table, worker, worker->policy, gpusched_scratch);
	if (ret)
		return ret;
	ret = gpusched_charge_user(worker);
	if (ret) {
		gs_release(&gpusched_resv, worker->reservation, NULL);
		return ret;
	}
	ret = gpusched_worker_apply(worker);
	if (ret) {
		gs_release(&gpusched_resv, worker->reservation, NULL);
		return ret;
	}

	worker->id = gpusched_next_worker_id++;
	worker->generation = table->generation;
	list_add_tail(&worker->node, &gpusched_workers);
	list_for_each_entry(thread, &worker->threads, node)
		gpusched_thread_track(thread);
	/*
	 * Threads created while the pin was being made were not targets, and
	 * their creators were not pinned yet: take them in now.
	 */
	if (worker->process)
		gpusched_worker_adopt(worker, true);
	return 0;
}

/* Undoes a pin whose answer could not be written back, if it still exists. */
static void gpusched_unpin_worker_id(struct gpusched_file *owner, u64 id)
{
	struct gpusched_worker *worker;

	cpus_read_lock();
	mutex_lock(&gpusched_lock);
	list_for_each_entry(worker, &gpusched_workers, node) {
		if (worker->id == id && worker->owner == owner) {
			gpusched_worker_unpin(worker);
			break;
		}
	}
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
}

/**
 * gpusched_pin() - GPUSCHED_IOC_PIN
 * @file: the caller's open file; the pin belongs to it
 * @cmd: the struct gpusched_pin, copied in
 *
 * Context: process context; takes cpus_read_lock() and gpusched_lock, and
 * writes to userspace only after dropping them.
 * Return: 0 with every target thread pinned, or a negative errno with
 * nothing changed.
 */
int gpusched_pin(struct file *file, void *cmd)
{
	struct gpusched_targets targets = {};
	struct gpusched_pin *args = cmd;
	struct gpusched_worker *worker;
	struct gpusched_thread *thread;
	unsigned int i, nr_threads = 0;
	cpumask_var_t chosen;
	u64 id = 0;
	u32 policy;
	int ret;

	if (args->flags & ~GPUSCHED_PIN_SPILL || args->__reserved)
		return -EINVAL;
	policy = args->policy == GPUSCHED_POLICY_DEFAULT ? gpusched_default_policy() : args->policy;
	if (!gs_policy_name(policy))
		return -EINVAL;
	if (args->cores && policy != GPUSCHED_POLICY_EXCLUSIVE)
		return -EINVAL;
	if (args->cpus && args->nr_cpus < nr_cpu_ids) {
		args->nr_cpus = nr_cpu_ids;
		return -EMSGSIZE;
	}
	/*
	 * An unwritable answer fails now, before anything changes, and without
	 * changing the caller's buffer: its own bytes are written back.
	 */
	if (args->cpus) {
		ret = gpusched_probe_user_bitmap(args->cpus);
		if (ret)
			return ret;
	}
	if (!zalloc_cpumask_var(&chosen, GFP_KERNEL))
		return -ENOMEM;

	ret = gpusched_resolve_targets(args->target_type, args->target_id, &targets);
	if (ret)
		goto out_mask;
	for (i = 0; i < targets.nr; i++) {
		ret = gpusched_check_target(targets.pids[i]);
		if (ret)
			goto out_targets;
	}

	ret = -ENOMEM;
	worker = gpusched_worker_alloc(file->private_data, args, policy);
	if (!worker)
		goto out_targets;
	worker->process = get_pid(targets.process);
	for (i = 0; i < targets.nr; i++) {
		thread = gpusched_thread_alloc(targets.pids[i]);
		if (!thread)
			goto out_discard;
		thread->worker = worker;
		list_add_tail(&thread->node, &worker->threads);
	}

	cpus_read_lock();
	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	ret = gpusched_pin_locked(worker, &targets);
	if (!ret) {
		id = worker->id;
		cpumask_copy(chosen, worker->cpus);
		list_for_each_entry(thread, &worker->threads, node)
			nr_threads++;
	}
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
	if (ret)
		goto out_discard;

	if (args->cpus) {
		ret = gpusched_put_bitmap(args->cpus, cpumask_bits(chosen));
		if (ret) {
			gpusched_unpin_worker_id(file->private_data, id);
			goto out_targets;
		}
	}
	args->policy = policy;
	args->nr_cpus = nr_cpu_ids;
	args->nr_threads = nr_threads;
	goto out_targets;

out_discard:
	gpusched_worker_discard(worker);
out_targets:
	gpusched_put_targets(&targets);
out_mask:
	free_cpumask_var(chosen);
	return ret;
}

/**
 * gpusched_unpin() - GPUSCHED_IOC_UNPIN
 * @file: the caller's open file
 * @cmd: the struct gpusched_unpin, copied in
 *
 * Context: process context; takes cpus_read_lock() and gpusched_lock.
 * Return: 0 with the target's pinned threads restored; -ENOENT when none
 * was pinned; -EPERM, with nothing changed, when one of them was pinned
 * through another file and the caller could not have pinned it.
 */
int gpusched_unpin(struct file *file, void *cmd)
{
	struct gpusched_targets targets = {};
	struct gpusched_unpin *args = cmd;
	struct gpusched_thread *thread;
	struct gpusched_worker *worker;
	unsigned int i, found = 0;
	int ret;

	if (args->flags || args->__reserved)
		return -EINVAL;
	ret = gpusched_resolve_targets(args->target_type, args->target_id, &targets);
	if (ret)
		return ret;

	cpus_read_lock();
	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	/* Check every thread before changing any. */
	for (i = 0; i < targets.nr; i++) {
		thread = gpusched_find_thread(targets.pids[i]);
		if (!thread)
			continue;
		found++;
		if (thread->worker->owner != file->private_data &&
		    gpusched_check_target(thread->pid) == -EPERM) {
			ret = -EPERM;
			goto unlock;
		}
	}
	if (!found) {
		ret = -ENOENT;
		goto unlock;
	}
	for (i = 0; i < targets.nr; i++) {
		thread = gpusched_find_thread(targets.pids[i]);
		if (!thread)
			continue;
		worker = thread->worker;
		gpusched_thread_unpin(thread);
		if (list_empty(&worker->threads))
			gpusched_worker_free(worker);
	}
	args->nr_threads = found;
unlock:
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
	gpusched_put_targets(&targets);
	return ret;
}

/**
 * gpusched_query() - GPUSCHED_IOC_QUERY
 * @file: the caller's open file
 * @cmd: the struct gpusched_query, copied in
 *
 * Context: process context; reads under gpusched_lock, writes to userspace
 * after dropping it.
 * Return: 0; -ESRCH for a thread that does not exist; -EINVAL; -EMSGSIZE;
 * -EFAULT; -ENOMEM.
 */
int gpusched_query(struct file *file, void *cmd)
{
	struct gpusched_targets targets = {};
	struct gpusched_query *args = cmd;
	struct gpusched_thread *thread;
	cpumask_var_t cpus, original;
	int ret;

	if (args->flags || args->__reserved || args->target_type != GPUSCHED_TARGET_THREAD)
		return -EINVAL;
	if ((args->cpus || args->original_cpus) && args->nr_cpus < nr_cpu_ids) {
		args->nr_cpus = nr_cpu_ids;
		return -EMSGSIZE;
	}
	if (!zalloc_cpumask_var(&cpus, GFP_KERNEL))
		return -ENOMEM;
	if (!zalloc_cpumask_var(&original, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto out_cpus;
	}
	ret = gpusched_resolve_targets(args->target_type, args->target_id, &targets);
	if (ret)
		goto out_original;
	if (gpusched_check_target(targets.pids[0]) == -ESRCH) {
		ret = -ESRCH;
		goto out_targets;
	}

	args->result = 0;
	args->gpu = 0;
	args->policy = 0;
	args->owner_pid = 0;
	args->nr_cpus = nr_cpu_ids;

	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	thread = gpusched_find_thread(targets.pids[0]);
	if (thread) {
		args->result = GPUSCHED_QUERY_PINNED;
		if (thread->worker->owner == file->private_data)
			args->result |= GPUSCHED_QUERY_OWN_FILE;
		args->gpu = thread->worker->gpu;
		args->policy = thread->worker->policy;
		args->owner_pid = pid_vnr(thread->worker->owner->opener);
		cpumask_copy(cpus, thread->worker->cpus);
		cpumask_copy(original, thread->original);
	}
	mutex_unlock(&gpusched_lock);

	if (thread && args->cpus)
		ret = gpusched_put_bitmap(args->cpus, cpumask_bits(cpus));
	if (!ret && thread && args->original_cpus)
		ret = gpusched_put_bitmap(args->original_cpus, cpumask_bits(original));
out_targets:
	gpusched_put_targets(&targets);
out_original:
	free_cpumask_var(original);
out_cpus:
	free_cpumask_var(cpus);
	return ret;
}

/**
 * gpusched_release_file() - unpin everything pinned through a file
 * @gfile: the file being released
 *
 * Context: process context (the file's release); takes cpus_read_lock()
 * and gpusched_lock.
 */
void gpusched_release_file(struct gpusched_file *gfile)
{
	struct gpusched_worker *worker, *next;

	cpus_read_lock();
	mutex_lock(&gpusched_lock);
	list_for_each_entry_safe(worker, next, &gpusched_workers, node)
		if (worker->owner == gfile)
			gpusched_worker_unpin(worker);
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
}

/**
 * gpusched_nr_pinned_threads() - live pinned threads, for sysfs
 *
 * Context: process context; takes gpusched_lock.
 * Return: the count after reaping threads that exited.
 */
unsigned int gpusched_nr_pinned_threads(void)
{
	unsigned int nr;

	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	nr = atomic_read(&gpusched_nr_threads);
	mutex_unlock(&gpusched_lock);
	return nr;
}

/* Whether @worker was pinned for GPU @gpu of the current topology. */
static bool gpusched_worker_of_gpu(const struct gpusched_worker *worker, u32 gpu)
{
	const struct gpusched_table *table;

	table = rcu_dereference_protected(gpusched_current_table,
					  lockdep_is_held(&gpusched_lock));
	return table && worker->generation == table->generation && worker->gpu == gpu;
}

/* Whether two tables number the same GPUs the same way. */
static bool gpusched_same_gpus(const struct gpusched_table *a, const struct gpusched_table *b)
{
	u32 i;

	if (a->nr_gpus != b->nr_gpus)
		return false;
	for (i = 0; i < a->nr_gpus; i++) {
		const struct gpusched_gpu_rec *x = &a->gpus[i], *y = &b->gpus[i];

		if (x->domain != y->domain || x->bus != y->bus || x->devfn != y->devfn ||
		    x->node != y->node || x->mem_node != y->mem_node)
			return false;
	}
	return true;
}

/**
 * gpusched_pins_carry_over() - keep pins first-class across a new topology
 * @old: the table being replaced
 * @new: the table being published
 *
 * A pin's GPU index belongs to the topology it was made under, so pins made
 * under an older one only shrink on CPU hotplug.  When the new table has
 * the same GPUs in the same order (what gpuschedd sends after CPU hotplug:
 * only cache groups or online CPUs changed), their indices still mean the
 * same GPUs: the pins move to the new generation, and are placed again
 * against it.
 *
 * Context: gpusched_lock held, as the caller publishes @new.
 */
void gpusched_pins_carry_over(const struct gpusched_table *old, const struct gpusched_table *new)
{
	struct gpusched_worker *worker;
	bool moved = false;

	lockdep_assert_held(&gpusched_lock);
	if (!old || !gpusched_same_gpus(old, new))
		return;
	list_for_each_entry(worker, &gpusched_workers, node) {
		if (worker->generation != old->generation)
			continue;
		worker->generation = new->generation;
		/* Even an exclusive pin: the new table may make its CPUs housekeeping. */
		worker->replace_pending = true;
		moved = true;
	}
	if (moved)
		queue_work(system_unbound_wq, &gpusched_hotplug_work);
}

/**
 * gpusched_gpu_nr_threads() - live threads pinned for one GPU, for sysfs
 * @gpu: GPU index in the current topology
 *
 * Context: process context; takes gpusched_lock.
 * Return: the count.
 */
unsigned int gpusched_gpu_nr_threads(u32 gpu)
{
	struct gpusched_worker *worker;
	struct gpusched_thread *thread;
	unsigned int nr = 0;

	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	list_for_each_entry(worker, &gpusched_workers, node)
		if (gpusched_worker_of_gpu(worker, gpu))
			list_for_each_entry(thread, &worker->threads, node)
				nr++;
	mutex_unlock(&gpusched_lock);
	return nr;
}

/**
 * gpusched_gpu_reserved_cpus() - CPUs held exclusively for one GPU, for sysfs
 * @gpu: GPU index in the current topology
 * @mask: receives them
 *
 * Context: process context; takes gpusched_lock.
 */
void gpusched_gpu_reserved_cpus(u32 gpu, struct cpumask *mask)
{
	struct gpusched_worker *worker;
	unsigned int cpu;

	cpumask_clear(mask);
	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	list_for_each_entry(worker, &gpusched_workers, node) {
		if (!worker->reservation || !gpusched_worker_of_gpu(worker, gpu))
			continue;
		for (cpu = 0; cpu < nr_cpu_ids; cpu++)
			if (gpusched_resv.holds[cpu].reservation == worker->reservation)
				cpumask_set_cpu(cpu, mask);
	}
	mutex_unlock(&gpusched_lock);
}

static void gpusched_reap_workfn(struct work_struct *work)
{
	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	mutex_unlock(&gpusched_lock);
}

/* Runs for every exiting task on the machine: nothing but a check when idle. */
static void gpusched_exit_probe(void *data, struct task_struct *task)
{
	if (atomic_read(&gpusched_nr_threads))
		queue_work(system_unbound_wq, &gpusched_reap_work);
}

/*
 * Whether the thread of @pid carries @worker's CPUs without being one of
 * its threads: it inherited them from a pinned creator.  Kernel threads,
 * tasks whose affinity the kernel manages (io_uring workers) and exiting
 * ones never join a pin, as they could not be pinned.
 */
static bool gpusched_inherited(struct gpusched_worker *worker, struct pid *pid)
{
	struct task_struct *task;
	bool user_task;

	lockdep_assert_held(&gpusched_lock);
	if (gpusched_find_thread(pid))
		return false;
	rcu_read_lock();
	task = pid_task(pid, PIDTYPE_PID);
	user_task = task && !(task->flags & (PF_KTHREAD | PF_NO_SETAFFINITY | PF_EXITING));
	rcu_read_unlock();
	return user_task && !gpusched_read_affinity(pid, gpusched_scratch) &&
	       cpumask_equal(gpusched_scratch, worker->cpus);
}

/* Adds the thread of @pid to @worker; unpin gives it @original. */
static int gpusched_worker_take(struct gpusched_worker *worker, struct pid *pid,
				const struct cpumask *original)
{
	struct gpusched_thread *thread;

	thread = gpusched_thread_alloc(pid);
	if (!thread) {
		pr_warn_ratelimited("out of memory: thread %d stays out of its creator's pin\n",
				    pid_nr(pid));
		return -ENOMEM;
	}
	thread->worker = worker;
	cpumask_copy(thread->original, original);
	list_add_tail(&thread->node, &worker->threads);
	gpusched_thread_track(thread);
	return 0;
}

/*
 * Takes into @worker the threads of its process that no pin holds yet and
 * that carry its CPUs.  Right after the pin (@just_pinned), a thread that
 * was created while the pin was being made may still have the CPUs from
 * before it, and is moved; later that would undo an UNPIN of one thread,
 * so only threads that carry the pin's CPUs are taken.  A thread whose
 * CPUs are neither was given its own by the program, and is left alone.
 */
static void gpusched_worker_adopt(struct gpusched_worker *worker, bool just_pinned)
{
	struct gpusched_targets targets = {};
	struct gpusched_thread *first, *thread;
	struct task_struct *leader;
	unsigned int i;
	bool moved;

	lockdep_assert_held(&gpusched_lock);
	first = list_first_entry_or_null(&worker->threads, struct gpusched_thread, node);
	leader = get_pid_task(worker->process, PIDTYPE_TGID);
	if (!first || !leader)
		goto out;
	if (gpusched_collect_threads(leader, &targets))
		goto out;
	for (i = 0; i < targets.nr; i++) {
		moved = false;
		if (!gpusched_inherited(worker, targets.pids[i])) {
			moved = just_pinned && !gpusched_find_thread(targets.pids[i]) &&
				!gpusched_read_affinity(targets.pids[i], gpusched_scratch) &&
				cpumask_equal(gpusched_scratch, first->original);
			if (!moved)
				continue;
		}
		if (gpusched_worker_take(worker, targets.pids[i], first->original))
			break;
		thread = list_last_entry(&worker->threads, struct gpusched_thread, node);
		if (moved)
			gpusched_thread_apply(thread, worker->cpus);
	}
out:
	gpusched_put_targets(&targets);
	if (leader)
		put_task_struct(leader);
}

/* Whether the tasks of @a and @b belong to the same user. */
static bool gpusched_same_owner(struct pid *a, struct pid *b)
{
	const struct cred *ca, *cb;
	struct task_struct *ta, *tb;
	bool same = false;

	rcu_read_lock();
	ta = pid_task(a, PIDTYPE_PID);
	tb = pid_task(b, PIDTYPE_PID);
	if (ta && tb) {
		ca = __task_cred(ta);
		cb = __task_cred(tb);
		same = uid_eq(ca->uid, cb->uid) && uid_eq(ca->euid, cb->euid);
	}
	rcu_read_unlock();
	return same;
}

/*
 * A pinned thread created @birth->child.  A pin covers what it names: a
 * process pin takes in the new threads of its process and every process
 * its threads start (a data loader forked by the training program), which
 * then keep its cores held until the last of them ends; a thread pin is
 * that one thread, so a process it starts is given back the CPUs the
 * thread had before its pin rather than run untracked on the pin's
 * (possibly exclusive) cores.  A child that already chose other CPUs, or
 * changed its owner (a setuid program), is left alone.
 */
static void gpusched_settle_birth(const struct gpusched_birth *birth)
{
	struct gpusched_targets targets = {};
	struct gpusched_thread *creator;
	struct gpusched_worker *worker;
	struct task_struct *leader, *task;
	unsigned int i;

	lockdep_assert_held(&gpusched_lock);
	creator = gpusched_find_thread(birth->creator);
	if (!creator)
		return;
	worker = creator->worker;
	if (birth->thread) {
		if (worker->process && gpusched_inherited(worker, birth->child))
			gpusched_worker_take(worker, birth->child, creator->original);
		return;
	}
	if (!gpusched_same_owner(birth->creator, birth->child))
		return;
	leader = get_pid_task(birth->child, PIDTYPE_PID);
	if (!leader)
		return;
	if (gpusched_collect_threads(leader, &targets))
		goto out;
	for (i = 0; i < targets.nr; i++) {
		if (!gpusched_inherited(worker, targets.pids[i]))
			continue;
		if (worker->process) {
			if (gpusched_worker_take(worker, targets.pids[i], creator->original))
				break;
			continue;
		}
		task = get_pid_task(targets.pids[i], PIDTYPE_PID);
		if (task) {
			set_cpus_allowed_ptr(task, creator->original);
			put_task_struct(task);
		}
	}
out:
	gpusched_put_targets(&targets);
	put_task_struct(leader);
}

/* Puts the references of a queue of births and empties it. */
static void gpusched_births_clear(struct gpusched_births *births)
{
	unsigned int i;

	for (i = 0; i < births->nr; i++) {
		put_pid(births->entries[i].creator);
		put_pid(births->entries[i].child);
	}
	births->nr = 0;
	births->overflow = false;
}

static void gpusched_adopt_workfn(struct work_struct *work)
{
	struct gpusched_births *births;
	struct gpusched_worker *worker;
	unsigned int i;

	/* The work never runs twice at once, so the spare array is empty. */
	raw_spin_lock(&gpusched_births_lock);
	births = gpusched_births;
	gpusched_births = births == &gpusched_births_buf[0] ? &gpusched_births_buf[1] :
							       &gpusched_births_buf[0];
	raw_spin_unlock(&gpusched_births_lock);

	cpus_read_lock();
	mutex_lock(&gpusched_lock);
	for (i = 0; i < births->nr; i++)
		gpusched_settle_birth(&births->entries[i]);
	if (births->overflow) {
		pr_warn_ratelimited("more than %u tasks created at once by pinned threads: processes among them run untracked\n",
				    GPUSCHED_MAX_BIRTHS);
		list_for_each_entry(worker, &gpusched_workers, node)
			if (worker->process)
				gpusched_worker_adopt(worker, false);
	}
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
	gpusched_births_clear(births);
}

/*
 * Runs for every fork and thread creation on the machine, with preemption
 * off: nothing but a counter check when nothing is pinned, and one hash
 * lookup otherwise.  A task created by a pinned thread is queued for the
 * adopt work, which decides (see gpusched_settle_birth()).
 */
static void gpusched_fork_probe(void *data, struct task_struct *parent, struct task_struct *child)
{
	struct gpusched_birth *birth;
	bool pinned;

	if (!atomic_read(&gpusched_nr_threads))
		return;
	rcu_read_lock();
	pinned = gpusched_thread_pinned_rcu(task_pid(parent));
	rcu_read_unlock();
	if (!pinned)
		return;
	raw_spin_lock(&gpusched_births_lock);
	if (gpusched_births->nr < GPUSCHED_MAX_BIRTHS) {
		birth = &gpusched_births->entries[gpusched_births->nr++];
		birth->creator = get_task_pid(parent, PIDTYPE_PID);
		birth->child = get_task_pid(child, PIDTYPE_PID);
		birth->thread = same_thread_group(parent, child);
	} else {
		gpusched_births->overflow = true;
	}
	raw_spin_unlock(&gpusched_births_lock);
	queue_work(system_unbound_wq, &gpusched_adopt_work);
}

static void gpusched_worker_move(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread;
	int ret;

	list_for_each_entry(thread, &worker->threads, node) {
		ret = gpusched_thread_apply(thread, worker->cpus);
		if (ret)
			pr_warn_ratelimited("cannot move thread %d to %*pbl: %d\n",
					    pid_nr(thread->pid), cpumask_pr_args(worker->cpus),
					    ret);
	}
}

/*
 * Holds again, for an exclusive worker that could not be placed under its
 * policy, the cores it held before: offline ones come back to it and to no
 * other worker, and online ones stay out of other exclusive pins while it
 * waits for room.  They were released a moment ago under the same lock, so
 * nobody else holds them.
 */
static void gpusched_worker_rehold(const struct gpusched_worker *worker,
				   const struct cpumask *held)
{
	unsigned int cpu;

	lockdep_assert_held(&gpusched_lock);
	if (!worker->reservation)
		return;
	for_each_cpu(cpu, held) {
		if (gpusched_resv.holds[cpu].reservation)
			continue;
		gpusched_resv.holds[cpu].reservation = worker->reservation;
		gpusched_resv.holds[cpu].gpu = worker->gpu;
	}
}

/*
 * Places @worker again after the online CPUs changed.  When its policy no
 * longer fits (an exclusive worker whose node has no free core left), it
 * runs on its GPU's node, marked as a fallback, until a later hotplug event
 * makes room.  When nothing fits at all (every CPU of the node it may use
 * went offline), its threads run where the scheduler put them and it is a
 * fallback too.  Either way an exclusive worker keeps holding the cores it
 * had, so that they are its own again when they come back.
 */
static void gpusched_worker_replace(struct gpusched_table *table, struct gpusched_worker *worker)
{
	struct cpumask *before = gpusched_scratch;
	bool was_fallback = worker->fallback;
	int ret;

	gpusched_worker_allowed(worker, gpusched_hotplug_allowed);
	cpumask_copy(before, worker->cpus);
	gs_release(&gpusched_resv, worker->reservation, cpumask_bits(gpusched_hotplug_held));
	ret = gpusched_place_locked(table, worker, worker->policy, gpusched_hotplug_allowed);
	if (!ret) {
		worker->fallback = false;
		goto move;
	}
	gpusched_worker_rehold(worker, gpusched_hotplug_held);
	if (!worker->fallback)
		pr_warn_ratelimited("GPU %u: no room for a %s pin after CPU hotplug; it uses the GPU's node until there is\n",
				    worker->gpu, gs_policy_name(worker->policy));
	worker->fallback = true;
	if (worker->policy != GS_POLICY_NODE) {
		ret = gpusched_place_locked(table, worker, GS_POLICY_NODE,
					    gpusched_hotplug_allowed);
		if (!ret)
			goto move;
	}
	pr_warn_ratelimited("GPU %u: no usable CPU left near the GPU for a pin: %d\n",
			    worker->gpu, ret);
	return;
move:
	/*
	 * A worker that had nowhere to run may have been moved by the
	 * scheduler (CPUs of its cpuset, or any CPU): apply even an unchanged
	 * mask then.
	 */
	if (was_fallback || !cpumask_equal(before, worker->cpus))
		gpusched_worker_move(worker);
}

/*
 * Workers pinned under an older topology: their GPU index means nothing to
 * the engine now, so they only lose the CPUs that went offline.
 */
static void gpusched_worker_shrink(struct gpusched_worker *worker)
{
	if (!cpumask_intersects(worker->cpus, cpu_online_mask))
		return;
	cpumask_and(worker->cpus, worker->cpus, cpu_online_mask);
	gpusched_worker_move(worker);
}

/*
 * After CPU hotplug: workers that lost a CPU are placed again from what is
 * left; shared-policy workers and fallbacks are placed again so that a CPU
 * that came back is theirs again.  An exclusive worker keeps its cores
 * when none went away.
 */
static void gpusched_hotplug_workfn(struct work_struct *work)
{
	struct gpusched_worker *worker;
	struct gpusched_table *table;

	cpus_read_lock();
	mutex_lock(&gpusched_lock);
	gpusched_reap_locked();
	table = rcu_dereference_protected(gpusched_current_table,
					  lockdep_is_held(&gpusched_lock));
	list_for_each_entry(worker, &gpusched_workers, node) {
		bool lost = !cpumask_subset(worker->cpus, cpu_online_mask);
		bool shared = worker->policy != GS_POLICY_EXCLUSIVE &&
			      worker->policy != GS_POLICY_SINGLE;

		if (!table || worker->generation != table->generation) {
			if (lost)
				gpusched_worker_shrink(worker);
			continue;
		}
		if (lost || shared || worker->fallback || worker->replace_pending)
			gpusched_worker_replace(table, worker);
		worker->replace_pending = false;
	}
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
}

/* Hotplug callbacks run in the hotplug thread: only queue the work. */
static int gpusched_cpu_changed(unsigned int cpu)
{
	queue_work(system_unbound_wq, &gpusched_hotplug_work);
	return 0;
}

static void gpusched_find_tps(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		gpusched_exit_tp = tp;
	else if (!strcmp(tp->name, "sched_process_fork"))
		gpusched_fork_tp = tp;
}

/**
 * gpusched_pin_init() - allocate the engine's state, watch hotplug and exits
 *
 * Context: module init.
 * Return: 0 or a negative errno with nothing left behind.
 */
int gpusched_pin_init(void)
{
	struct gs_hold *holds;
	u32 *ws_storage;
	int ret = -ENOMEM;

	holds = kvcalloc(nr_cpu_ids, sizeof(*holds), GFP_KERNEL);
	if (!holds)
		return -ENOMEM;
	ws_storage = kvcalloc(gs_workspace_words(nr_cpu_ids, nr_node_ids), sizeof(u32),
			      GFP_KERNEL);
	if (!ws_storage)
		goto err_holds;
	gpusched_out_cpus = bitmap_zalloc(nr_cpu_ids, GFP_KERNEL);
	if (!gpusched_out_cpus)
		goto err_ws;
	if (!zalloc_cpumask_var(&gpusched_scratch, GFP_KERNEL))
		goto err_out;
	if (!zalloc_cpumask_var(&gpusched_hotplug_allowed, GFP_KERNEL))
		goto err_scratch;
	if (!zalloc_cpumask_var(&gpusched_hotplug_held, GFP_KERNEL))
		goto err_allowed;
	gs_reservations_init(&gpusched_resv, holds, nr_cpu_ids);
	gs_workspace_init(&gpusched_ws, ws_storage, nr_cpu_ids, nr_node_ids);

	/*
	 * The probes are registered by name, past the compiler; these fail
	 * the build on a kernel whose tracepoints take other arguments
	 * (sched_process_exit gained one in 2025) instead of letting kCFI
	 * or a wrong argument find out at run time.
	 */
	check_trace_callback_type_sched_process_exit(gpusched_exit_probe);
	check_trace_callback_type_sched_process_fork(gpusched_fork_probe);
	for_each_kernel_tracepoint(gpusched_find_tps, NULL);
	if (!gpusched_exit_tp || !gpusched_fork_tp) {
		pr_err("tracepoint sched_process_exit or sched_process_fork not found\n");
		ret = -ENOENT;
		goto err_held;
	}
	ret = tracepoint_probe_register(gpusched_exit_tp, gpusched_exit_probe, NULL);
	if (ret)
		goto err_held;
	ret = tracepoint_probe_register(gpusched_fork_tp, gpusched_fork_probe, NULL);
	if (ret)
		goto err_exit_tp;

	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "gpusched:online",
					gpusched_cpu_changed, gpusched_cpu_changed);
	if (ret < 0)
		goto err_fork_tp;
	gpusched_cpuhp_state = ret;
	return 0;

err_fork_tp:
	tracepoint_probe_unregister(gpusched_fork_tp, gpusched_fork_probe, NULL);
err_exit_tp:
	tracepoint_probe_unregister(gpusched_exit_tp, gpusched_exit_probe, NULL);
	tracepoint_synchronize_unregister();
err_held:
	free_cpumask_var(gpusched_hotplug_held);
err_allowed:
	free_cpumask_var(gpusched_hotplug_allowed);
err_scratch:
	free_cpumask_var(gpusched_scratch);
err_out:
	bitmap_free(gpusched_out_cpus);
err_ws:
	kvfree(ws_storage);
err_holds:
	kvfree(holds);
	return ret;
}

/**
 * gpusched_pin_exit() - undo gpusched_pin_init()
 *
 * Context: module exit; no file is open, so no worker exists.
 */
void gpusched_pin_exit(void)
{
	cpuhp_remove_state_nocalls(gpusched_cpuhp_state);
	tracepoint_probe_unregister(gpusched_fork_tp, gpusched_fork_probe, NULL);
	tracepoint_probe_unregister(gpusched_exit_tp, gpusched_exit_probe, NULL);
	tracepoint_synchronize_unregister();
	cancel_work_sync(&gpusched_hotplug_work);
	cancel_work_sync(&gpusched_reap_work);
	cancel_work_sync(&gpusched_adopt_work);
	/* Births the work did not get to, then records still in their grace period. */
	gpusched_births_clear(&gpusched_births_buf[0]);
	gpusched_births_clear(&gpusched_births_buf[1]);
	rcu_barrier();
	free_cpumask_var(gpusched_hotplug_held);
	free_cpumask_var(gpusched_hotplug_allowed);
	free_cpumask_var(gpusched_scratch);
	bitmap_free(gpusched_out_cpus);
	kvfree(gpusched_ws.core_marks);
	kvfree(gpusched_resv.holds);
	idr_destroy(&gpusched_reservations);
}
