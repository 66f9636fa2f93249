// SPDX-License-Identifier: GPL-2.0
/*
 * Pins: which threads run where and who holds which cores.
 *
 * A pin makes one worker: a set of threads (one thread, or every thread of
 * a process) that share the CPUs the placement engine chose for them.  An
 * exclusive worker also holds its cores in the one reservation table of the
 * machine, so no other job gets them, within its user's
 * max_reserved_cpus_per_user.  A worker belongs to the open file it was
 * pinned through and ends with it: closing the file, or the death of the
 * process that holds it, unpins and releases everything.  Threads are
 * remembered by struct pid, never by task pointer (gpusched_track.c keeps
 * them as threads exit and create others; gpusched_hotplug.c places
 * workers again when CPUs come and go; gpusched_target.c resolves what a
 * command names).
 *
 * Every set_cpus_allowed_ptr() call runs in process context under
 * cpus_read_lock() and gpusched_lock (a mutex), and outside any RCU read
 * section, because it may sleep until the task has migrated.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/* See gpusched.h: every change of pins, reservations and the table. */
DEFINE_MUTEX(gpusched_lock);

/**
 * gpusched_lock_cpus() - take gpusched_lock to change threads' CPUs
 *
 * Holds off CPU hotplug first, then takes gpusched_lock: the order of the
 * module (see gpusched.h).  For every path that may call
 * set_cpus_allowed_ptr().
 *
 * Context: process context, neither lock held.
 */
void gpusched_lock_cpus(void)
{
	cpus_read_lock();
	mutex_lock(&gpusched_lock);
}

/**
 * gpusched_unlock_cpus() - undo gpusched_lock_cpus()
 *
 * Context: both locks held by gpusched_lock_cpus().
 */
void gpusched_unlock_cpus(void)
{
	mutex_unlock(&gpusched_lock);
	cpus_read_unlock();
}

/* Every pinned worker, struct gpusched_worker.node; under gpusched_lock. */
LIST_HEAD(gpusched_workers);

/*
 * The placement engine's state, all under gpusched_lock: the machine's
 * exclusive reservations (one hold per CPU), the engine's scratch space,
 * and the output buffers of one placement.  Sized once for nr_cpu_ids and
 * nr_node_ids, which never change while the module is loaded.
 */
struct gs_reservations gpusched_resv;
static struct gs_workspace gpusched_ws;
static unsigned long *gpusched_out_cpus;
static u32 gpusched_out_node;

/* Next struct gpusched_worker.id; under gpusched_lock. */
static u64 gpusched_next_worker_id = 1;

/* Scratch masks for work done under gpusched_lock. */
cpumask_var_t gpusched_scratch;

/*
 * Reservation ids handed to the engine (never 0), each mapped to the worker
 * that holds it, so that a CPU's hold leads to its holder; under
 * gpusched_lock.
 */
static DEFINE_IDR(gpusched_reservations);

/*
 * Unpins one thread: gives it back the CPUs it had before (or those its
 * cpuset allows since a change the module followed), unless they were
 * changed under the module (see gpusched_thread_restore()), and frees its
 * record.
 */
static void gpusched_thread_unpin(struct gpusched_thread *thread)
{
	const struct cpumask *original = gpusched_mask_cpus(thread->original);
	int ret;

	ret = gpusched_thread_restore(thread);
	if (ret)
		pr_warn_ratelimited("cannot restore the CPUs of thread %d (%*pbl): %d\n",
				    pid_nr(thread->pid), cpumask_pr_args(original), ret);
	gpusched_thread_free(thread);
}

static struct gpusched_worker *gpusched_worker_alloc(struct gpusched_file *owner,
						     const struct gpusched_pin *args,
						     u32 policy)
{
	struct gpusched_worker *worker;

	worker = kzalloc(struct_size(worker, mask, cpumask_size() / sizeof(unsigned long)),
			 GFP_KERNEL_ACCOUNT);
	if (!worker)
		return NULL;
	worker->cpus = to_cpumask(worker->mask);
	INIT_LIST_HEAD(&worker->node);
	INIT_LIST_HEAD(&worker->threads);
	worker->owner = owner;
	worker->uid = current_uid();
	/* Only exclusive workers are charged, so only they need the check (and its audit). */
	worker->unlimited = policy == GPUSCHED_POLICY_EXCLUSIVE && capable(CAP_SYS_NICE);
	worker->gpu = args->gpu;
	worker->policy = policy;
	worker->cores = args->cores;
	worker->flags = args->flags;
	return worker;
}

/**
 * gpusched_worker_free() - end a listed worker that has no thread left
 * @worker: the worker
 *
 * Gives back its cores and its reservation id, unlists and frees it.
 *
 * Context: gpusched_lock held.
 */
void gpusched_worker_free(struct gpusched_worker *worker)
{
	lockdep_assert_held(&gpusched_lock);
	if (worker->reservation) {
		gs_release(&gpusched_resv, worker->reservation, NULL);
		idr_remove(&gpusched_reservations, worker->reservation);
	}
	put_pid(worker->process);
	list_del(&worker->node);
	kfree(worker);
}

/*
 * Unpins every thread of a listed worker and frees it; a task its threads
 * are creating meanwhile gets the CPUs from before the pin
 * (gpusched_worker_bury()).
 */
static void gpusched_worker_unpin(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread, *next;

	gpusched_worker_bury(worker, NULL);
	list_for_each_entry_safe(thread, next, &worker->threads, node)
		gpusched_thread_unpin(thread);
	gpusched_worker_free(worker);
}

/**
 * gpusched_place_locked() - ask the engine for a worker's CPUs
 * @table: the current topology
 * @worker: the worker; its GPU, cores and flags make the request
 * @policy: the policy to place under (the worker's own, or a fallback)
 * @allowed: the CPUs the worker may use at most
 *
 * On success the CPUs are in @worker->cpus and, for an exclusive placement,
 * held under the worker's reservation id.
 *
 * The online CPUs stay as they are until the caller lets CPU hotplug go
 * on; a CPU that goes or comes after that queues the hotplug work, which
 * places the worker again.
 *
 * Context: cpus_read_lock() and gpusched_lock held (gpusched_lock_cpus()).
 * Return: 0, or the engine's negative errno (ENOSPC when nothing fits).
 */
int gpusched_place_locked(struct gpusched_table *table, struct gpusched_worker *worker,
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

	lockdep_assert_held(&gpusched_lock);
	gpusched_table_refresh_online(table);
	ret = gs_reserve(&table->engine, &gpusched_resv, &req, &gpusched_ws, &out);
	if (ret) {
		worker->reason = out.error.reason == GS_REASON_GPU_SHARE_FULL ||
				 out.error.reason == GS_REASON_CPUS_HELD ?
				 GPUSCHED_PIN_REASON_HELD : GPUSCHED_PIN_REASON_NO_CPUS;
		pr_debug("GPU %u, policy %s: %s\n", worker->gpu, gs_policy_name(policy),
			 gs_reason_name(out.error.reason));
		return ret;
	}
	bitmap_copy(cpumask_bits(worker->cpus), gpusched_out_cpus, nr_cpu_ids);
	return 0;
}

/**
 * gpusched_worker_allowed() - the CPUs a worker may be placed on
 * @worker: the worker
 * @allowed: receives the intersection of the CPUs each of its threads had
 *	before the pin (a pin never widens)
 *
 * Context: gpusched_lock held.
 */
void gpusched_worker_allowed(const struct gpusched_worker *worker, struct cpumask *allowed)
{
	const struct gpusched_thread *thread;

	cpumask_setall(allowed);
	list_for_each_entry(thread, &worker->threads, node)
		if (!thread->own_cpus)
			cpumask_and(allowed, allowed, gpusched_mask_cpus(thread->original));
}

/*
 * Gives the threads before @stop their original CPUs back, for a pin that
 * fails: their records are discarded, so nothing is noted and nothing
 * allocated, and running out of memory cannot leave one on the pin's CPUs.
 */
static void gpusched_worker_restore(struct gpusched_worker *worker, struct gpusched_thread *stop)
{
	struct gpusched_thread *thread;
	struct task_struct *task;

	list_for_each_entry(thread, &worker->threads, node) {
		if (thread == stop)
			break;
		task = get_pid_task(thread->pid, PIDTYPE_PID);
		if (!task)
			continue;
		set_cpus_allowed_ptr(task, gpusched_mask_cpus(thread->original));
		put_task_struct(task);
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

/*
 * Frees a worker that was never listed, with its threads.  It holds no
 * reservation id: gpusched_pin_locked() gives one back before it fails.
 * Called without gpusched_lock.
 */
static void gpusched_worker_discard(struct gpusched_worker *worker)
{
	struct gpusched_thread *thread, *next;

	list_for_each_entry_safe(thread, next, &worker->threads, node)
		gpusched_thread_free(thread);
	put_pid(worker->process);
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
		if (gpusched_read_affinity(thread->pid, gpusched_scratch)) {
			gpusched_thread_free(thread);
			continue;
		}
		thread->original = gpusched_mask_get(gpusched_scratch);
		if (!thread->original)
			return -ENOMEM;
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
		goto err_id;
	ret = gpusched_charge_user(worker);
	if (ret)
		goto err_release;
	/*
	 * The records are found before any thread is moved: a process that a
	 * moved thread forks while the others are being moved carries the
	 * pin's CPUs, and the fork tracepoint must queue it for the adopt work.
	 */
	list_for_each_entry(thread, &worker->threads, node)
		gpusched_thread_track(thread);
	/* CPU hotplug is held off: the CPUs just chosen are still active. */
	ret = gpusched_worker_apply(worker);
	if (ret)
		goto err_untrack;

	worker->id = gpusched_next_worker_id++;
	worker->generation = table->generation;
	list_add_tail(&worker->node, &gpusched_workers);
	/*
	 * Threads created while the pin was being made were not targets, and
	 * one created before its creator was moved has the CPUs from before:
	 * take them in now.  The tasks they created meanwhile were queued
	 * (their leader is pinned) and are settled once the adopt work runs.
	 */
	if (worker->process)
		gpusched_worker_adopt(worker, true);
	gpusched_watch_start();
	return 0;

err_untrack:
	/* Tasks that the moved threads created meanwhile get their creators' CPUs. */
	gpusched_worker_bury(worker, worker->process);
	list_for_each_entry(thread, &worker->threads, node)
		gpusched_thread_untrack(thread);
err_release:
	gs_release(&gpusched_resv, worker->reservation, NULL);
err_id:
	/* The id goes back under the lock: the IDR is not safe without it. */
	if (worker->reservation) {
		idr_remove(&gpusched_reservations, worker->reservation);
		worker->reservation = 0;
	}
	return ret;
}

/* Takes back a pin whose answer could not be written, if it still exists. */
static void gpusched_unpin_worker_id(struct gpusched_file *owner, u64 id)
{
	struct gpusched_worker *worker;

	gpusched_lock_cpus();
	list_for_each_entry(worker, &gpusched_workers, node) {
		if (worker->id == id && worker->owner == owner) {
			gpusched_worker_unpin(worker);
			break;
		}
	}
	gpusched_unlock_cpus();
}

/**
 * gpusched_pin() - GPUSCHED_IOC_PIN
 * @file: the caller's open file; the pin belongs to it
 * @ucmd: the command; its struct gpusched_pin is copied in
 *
 * Context: process context; takes cpus_read_lock() and gpusched_lock, and
 * writes to userspace only after dropping them.
 * Return: 0 with every target thread pinned and the answer written, or a
 * negative errno with nothing changed: -EFAULT when the answer could not
 * be written (the pin is then taken back).
 */
int gpusched_pin(struct file *file, struct gpusched_ucmd *ucmd)
{
	struct gpusched_targets targets = {};
	struct gpusched_pin *args = ucmd->cmd;
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
	/* Where the answer's CPUs wait until the locks are dropped, if asked for. */
	if (args->cpus && !zalloc_cpumask_var(&chosen, GFP_KERNEL))
		return -ENOMEM;

	ret = gpusched_resolve_targets(args->target_type, args->target_id, &targets);
	if (ret)
		goto out_mask;
	for (i = 0; i < targets.nr; i++) {
		ret = gpusched_check_target(targets.pids[i]);
		/*
		 * A thread of a process can be reaped after it was counted
		 * (one that pthread_join() just returned for): it is no
		 * target, and gpusched_read_originals() drops it.
		 */
		if (ret == -ESRCH && targets.process)
			continue;
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

	/*
	 * Workers whose last thread just exited give their cores back first,
	 * and tasks that copied the CPUs of a pin taken back a moment ago get
	 * their own before they are read as the targets' CPUs from before.
	 */
	gpusched_reap_flush();
	gpusched_adopt_flush();
	gpusched_lock_cpus();
	ret = gpusched_pin_locked(worker, &targets);
	if (!ret) {
		id = worker->id;
		if (args->cpus)
			cpumask_copy(chosen, worker->cpus);
		list_for_each_entry(thread, &worker->threads, node)
			nr_threads++;
	}
	gpusched_unlock_cpus();
	if (ret)
		goto out_discard;

	ret = args->cpus ? gpusched_put_bitmap(args->cpus, cpumask_bits(chosen)) : 0;
	if (!ret) {
		args->policy = policy;
		args->nr_cpus = nr_cpu_ids;
		args->nr_threads = nr_threads;
		ret = gpusched_ucmd_respond(ucmd);
	}
	if (ret)
		gpusched_unpin_worker_id(file->private_data, id);
	goto out_targets;

out_discard:
	gpusched_worker_discard(worker);
out_targets:
	gpusched_put_targets(&targets);
out_mask:
	if (args->cpus)
		free_cpumask_var(chosen);
	return ret;
}

/**
 * gpusched_unpin() - GPUSCHED_IOC_UNPIN
 * @file: the caller's open file
 * @ucmd: the command; its struct gpusched_unpin is copied in
 *
 * Context: process context; takes cpus_read_lock() and gpusched_lock,
 * finds the target's threads under them, and writes the answer to
 * userspace under them, with page faults disabled, before any thread is
 * unpinned.
 * Return: 0 with the target's pinned threads restored; -ENOENT when none
 * was pinned; -EPERM, with nothing changed, when one of them was pinned
 * through another file and the caller could not have pinned it; -EFAULT,
 * with nothing changed, when the answer could not be written.
 */
int gpusched_unpin(struct file *file, struct gpusched_ucmd *ucmd)
{
	struct gpusched_targets targets = {};
	struct gpusched_worker *worker, *buried = NULL;
	struct gpusched_unpin *args = ucmd->cmd;
	struct gpusched_thread *thread;
	unsigned int i, found = 0;
	int ret;

	if (args->flags || args->__reserved)
		return -EINVAL;
	/*
	 * The threads are counted under the lock: a thread that a process pin
	 * took in after an earlier count would stay pinned.
	 */
	gpusched_lock_cpus();
	ret = gpusched_resolve_targets(args->target_type, args->target_id, &targets);
	if (ret)
		goto unlock;
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
	args->nr_threads = found;
	ret = gpusched_ucmd_respond_nofault(ucmd);
	if (ret)
		goto unlock;
	for (i = 0; i < targets.nr; i++) {
		thread = gpusched_find_thread(targets.pids[i]);
		if (!thread)
			continue;
		worker = thread->worker;
		/* Once for each pin a process target takes back, before its first thread. */
		if (targets.process && worker != buried) {
			gpusched_worker_bury(worker, targets.process);
			buried = worker;
		}
		gpusched_thread_unpin(thread);
		if (list_empty(&worker->threads))
			gpusched_worker_free(worker);
	}
unlock:
	gpusched_unlock_cpus();
	gpusched_put_targets(&targets);
	return ret;
}

/**
 * gpusched_query() - GPUSCHED_IOC_QUERY
 * @file: the caller's open file
 * @ucmd: the command; its struct gpusched_query is copied in
 *
 * Context: process context; reads under gpusched_lock, writes to userspace
 * after dropping it.
 * Return: 0; -ESRCH for a thread that does not exist; -EINVAL; -EMSGSIZE;
 * -EFAULT; -ENOMEM.
 */
int gpusched_query(struct file *file, struct gpusched_ucmd *ucmd)
{
	struct gpusched_targets targets = {};
	struct gpusched_query *args = ucmd->cmd;
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
	args->reason = 0;
	args->nr_followed = 0;

	mutex_lock(&gpusched_lock);
	thread = gpusched_find_thread(targets.pids[0]);
	if (thread) {
		args->result = GPUSCHED_QUERY_PINNED;
		if (thread->worker->owner == file->private_data)
			args->result |= GPUSCHED_QUERY_OWN_FILE;
		args->gpu = thread->worker->gpu;
		args->policy = thread->worker->policy;
		args->owner_pid = pid_vnr(thread->worker->owner->opener);
		if (thread->worker->broken)
			args->result |= GPUSCHED_QUERY_BROKEN;
		else if (thread->worker->fallback)
			args->result |= GPUSCHED_QUERY_FALLBACK;
		if (thread->worker->broken || thread->worker->fallback)
			args->reason = thread->worker->reason;
		if (thread->own_cpus)
			args->result |= GPUSCHED_QUERY_OWN_CPUS;
		args->nr_followed = thread->worker->nr_followed;
		cpumask_copy(cpus, thread->worker->cpus);
		cpumask_copy(original, gpusched_mask_cpus(thread->original));
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

	gpusched_lock_cpus();
	list_for_each_entry_safe(worker, next, &gpusched_workers, node)
		if (worker->owner == gfile)
			gpusched_worker_unpin(worker);
	gpusched_unlock_cpus();
}

/* Whether @worker was pinned for GPU @gpu of the current topology. */
static bool gpusched_worker_of_gpu(const struct gpusched_worker *worker, u32 gpu)
{
	const struct gpusched_table *table;

	table = rcu_dereference_protected(gpusched_current_table,
					  lockdep_is_held(&gpusched_lock));
	return table && worker->generation == table->generation && worker->gpu == gpu;
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

	gpusched_reap_flush();
	mutex_lock(&gpusched_lock);
	list_for_each_entry(worker, &gpusched_workers, node)
		if (gpusched_worker_of_gpu(worker, gpu))
			list_for_each_entry(thread, &worker->threads, node)
				nr++;
	mutex_unlock(&gpusched_lock);
	return nr;
}

/**
 * gpusched_nr_pins_in_state() - pins that do not have their policy's CPUs
 * @broken: count broken pins; else fallbacks (which are not broken)
 *
 * Context: process context; takes gpusched_lock.
 * Return: the number of such pins (workers).
 */
unsigned int gpusched_nr_pins_in_state(bool broken)
{
	struct gpusched_worker *worker;
	unsigned int nr = 0;

	gpusched_reap_flush();
	mutex_lock(&gpusched_lock);
	list_for_each_entry(worker, &gpusched_workers, node)
		if (broken ? worker->broken : worker->fallback && !worker->broken)
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
	gpusched_reap_flush();
	mutex_lock(&gpusched_lock);
	list_for_each_entry(worker, &gpusched_workers, node) {
		if (!worker->reservation || !gpusched_worker_of_gpu(worker, gpu))
			continue;
		for (cpu = 0; cpu < nr_cpu_ids; cpu++)
			if (gpusched_resv.holds[cpu].reservation == worker->reservation)
				cpumask_set_cpu(cpu, mask);
	}
	mutex_unlock(&gpusched_lock);
}

/**
 * gpusched_pin_init() - allocate the engine's state, then watch tasks and CPUs
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
	gpusched_mask_init();
	gs_reservations_init(&gpusched_resv, holds, nr_cpu_ids);
	gs_workspace_init(&gpusched_ws, ws_storage, nr_cpu_ids, nr_node_ids);

	ret = gpusched_track_init();
	if (ret)
		goto err_scratch;
	ret = gpusched_hotplug_init();
	if (ret)
		goto err_track;
	return 0;

err_track:
	gpusched_track_exit();
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
	gpusched_watch_exit();
	gpusched_hotplug_exit();
	gpusched_track_exit();
	gpusched_mask_exit();
	free_cpumask_var(gpusched_scratch);
	bitmap_free(gpusched_out_cpus);
	kvfree(gpusched_ws.core_marks);
	kvfree(gpusched_resv.holds);
	idr_destroy(&gpusched_reservations);
}
