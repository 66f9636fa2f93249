// SPDX-License-Identifier: GPL-2.0
/*
 * Tracking pinned threads: their records, found by struct pid, and what
 * happens to them while the program runs.  A thread that exits is reaped
 * (its record freed, its worker's cores released when it was the last) by
 * a work item to which the sched_process_exit tracepoint queues pinned
 * threads only.  A task that a pinned thread creates, or any thread of a
 * process whose leader a process pin holds, is queued by the
 * sched_process_fork tracepoint and settled by another work item: it joins
 * a process pin, or gets its creator's CPUs from before a thread pin.
 *
 * The records are listed in their worker under gpusched_lock and indexed
 * by struct pid in gpusched_thread_hash, which the tracepoints read under
 * RCU with preemption off; records are freed after a grace period.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/cpu.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tracepoint.h>
#include <linux/workqueue.h>
#include <trace/events/sched.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/*
 * Pinned thread records, by struct pid: added and removed under
 * gpusched_lock; the tracepoints, which must not sleep, read it under RCU,
 * so records are freed after a grace period.
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
	struct pid *creator;	/* the thread that created the task (held) */
	struct pid *child;	/* the new thread or process (held) */
	struct pid *process;	/* the creator's process (held) */
	u64 born;		/* jiffies_64 when the probe saw it */
	bool thread;		/* a thread of the creator's process */
};

struct gpusched_births {
	unsigned int nr;
	unsigned int seen;	/* births recorded, in @entries or lost to the overflow */
	bool overflow;
	struct gpusched_birth entries[GPUSCHED_MAX_BIRTHS];
};

static DEFINE_RAW_SPINLOCK(gpusched_births_lock);
static struct gpusched_births gpusched_births_buf[2];
/* The array the probe fills; under gpusched_births_lock. */
static struct gpusched_births *gpusched_births = &gpusched_births_buf[0];
/*
 * Births queued and not settled yet; the adopt work subtracts what it
 * settled after dropping gpusched_lock (release), so that at 0 (acquire)
 * gpusched_adopt_flush() has nothing to wait for.
 */
static atomic_t gpusched_births_unsettled = ATOMIC_INIT(0);

/*
 * Processes whose pin was taken back a moment ago.  A task that one of
 * their threads was creating meanwhile copied the pin's CPUs, but its
 * birth reaches the adopt work only after the records are gone: it was
 * queued before UNPIN and settled after, or the fork tracepoint, which
 * fires once the task is complete, found its creator no longer pinned.
 * Either way no creator is found, and the work asks these instead
 * (gpusched_settle_stray()).  Under gpusched_lock; an entry counts for
 * the tasks whose creation the probe saw within GPUSCHED_TOMBSTONE_LIFE
 * of the UNPIN, however late their birth is settled, and is dropped by
 * gpusched_tombstone_work once the births queued until it expired are
 * settled; when all are taken the one that expires first makes room.
 * gpusched_strays_until (jiffies, read by the fork probe without the
 * lock) is when the newest stops counting; the work sets it to the
 * present when it drops the last, so that a wrap of jiffies on 32-bit
 * machines cannot make it count again.
 */
#define GPUSCHED_NR_TOMBSTONES	64
#define GPUSCHED_TOMBSTONE_LIFE	(2 * HZ)

struct gpusched_tombstone {
	struct pid *process;		/* a process of the pin (held); NULL: unused */
	struct gpusched_mask *cpus;	/* the pin's CPUs (held) */
	u64 expires;			/* jiffies_64 */
};

static struct gpusched_tombstone gpusched_tombstones[GPUSCHED_NR_TOMBSTONES];
static unsigned long gpusched_strays_until;

static void gpusched_tombstone_workfn(struct work_struct *work);
static DECLARE_DELAYED_WORK(gpusched_tombstone_work, gpusched_tombstone_workfn);

/*
 * Pinned threads that exited, queued by the exit probe for the reap work,
 * each with a reference: like the births, a fixed array under a raw
 * spinlock, swapped with the spare by the work; an overflow makes the work
 * sweep every record instead.
 */
#define GPUSCHED_MAX_EXITS 256

struct gpusched_exits {
	unsigned int nr;
	unsigned int seen;	/* exits recorded, in @entries or lost to the overflow */
	bool overflow;
	struct pid *entries[GPUSCHED_MAX_EXITS];
};

static DEFINE_RAW_SPINLOCK(gpusched_exits_lock);
static struct gpusched_exits gpusched_exits_buf[2];
/* The array the probe fills; under gpusched_exits_lock. */
static struct gpusched_exits *gpusched_exits = &gpusched_exits_buf[0];
/*
 * Exits the probe recorded that the reap work has not finished reaping.
 * Raised by the probe before it queues the work, lowered (release) by the
 * work once the reaps are done and gpusched_lock is dropped; while it reads
 * 0 (acquire), gpusched_reap_flush() has nothing to wait for.
 */
static atomic_t gpusched_exits_unreaped = ATOMIC_INIT(0);

static void gpusched_reap_workfn(struct work_struct *work);
static void gpusched_adopt_workfn(struct work_struct *work);
static DECLARE_WORK(gpusched_reap_work, gpusched_reap_workfn);
static DECLARE_WORK(gpusched_adopt_work, gpusched_adopt_workfn);

static struct tracepoint *gpusched_exit_tp;
static struct tracepoint *gpusched_fork_tp;

/*
 * Where a thread's CPUs are read under its pi_lock before they are kept in
 * a shared mask; under gpusched_lock.  Not gpusched_scratch, which callers
 * pass in as the CPUs to note.
 */
static cpumask_var_t gpusched_note_cpus;

/**
 * gpusched_find_thread() - the record of a pinned thread
 * @pid: the thread's struct pid
 *
 * Context: gpusched_lock held.
 * Return: the record, or NULL when the thread is not pinned.
 */
struct gpusched_thread *gpusched_find_thread(struct pid *pid)
{
	struct gpusched_thread *thread;

	lockdep_assert_held(&gpusched_lock);
	hash_for_each_possible(gpusched_thread_hash, thread, hash, (unsigned long)pid)
		if (thread->pid == pid)
			return thread;
	return NULL;
}

/*
 * Whether the thread of @pid has a record (@whole_process: one of a pin of
 * its whole process).  Context: rcu_read_lock() held.
 */
static bool gpusched_pid_tracked(struct pid *pid, bool whole_process)
{
	struct gpusched_thread *thread;

	hash_for_each_possible_rcu(gpusched_thread_hash, thread, hash, (unsigned long)pid)
		if (READ_ONCE(thread->pid) == pid)
			return !whole_process || thread->whole_process;
	return false;
}

/*
 * Whether @task is a pinned thread (@leader: or a thread of a process whose
 * leader a process pin holds), for the tracepoint probes, which run with
 * preemption off for every exit and task creation on the machine: a
 * counter check when nothing is pinned, a hash lookup or two otherwise.
 */
static bool gpusched_task_pinned(struct task_struct *task, bool leader)
{
	bool pinned;

	if (!atomic_read(&gpusched_nr_threads))
		return false;
	rcu_read_lock();
	pinned = gpusched_pid_tracked(task_pid(task), false) ||
		 (leader && task_tgid(task) != task_pid(task) &&
		  gpusched_pid_tracked(task_tgid(task), true));
	rcu_read_unlock();
	return pinned;
}

/**
 * gpusched_thread_track() - make a record findable and counted
 * @thread: a record already on its worker's thread list
 *
 * PIN tracks its targets' records before it gives them the pin's CPUs, so
 * that the fork tracepoint queues every task they create with those.
 *
 * Context: gpusched_lock held.
 */
void gpusched_thread_track(struct gpusched_thread *thread)
{
	lockdep_assert_held(&gpusched_lock);
	/* What the fork tracepoint may read of it: its worker is not RCU-freed. */
	thread->whole_process = !!thread->worker->process;
	hash_add_rcu(gpusched_thread_hash, &thread->hash, (unsigned long)thread->pid);
	atomic_inc(&gpusched_nr_threads);
	/* The record before the CPUs: pairs with gpusched_task_pinned(). */
	smp_wmb();
}

/**
 * gpusched_thread_untrack() - make a tracked record no longer findable
 * @thread: the record
 *
 * The record may be freed only after a grace period (kfree_rcu()).
 *
 * Context: gpusched_lock held.
 */
void gpusched_thread_untrack(struct gpusched_thread *thread)
{
	lockdep_assert_held(&gpusched_lock);
	hash_del_rcu(&thread->hash);
	atomic_dec(&gpusched_nr_threads);
}

/**
 * gpusched_thread_gone() - whether a record's thread has exited or is exiting
 * @thread: the record
 *
 * Context: any process context.
 * Return: true when no task has the pid any more, or it is exiting.
 */
bool gpusched_thread_gone(const struct gpusched_thread *thread)
{
	struct task_struct *task;
	bool gone;

	rcu_read_lock();
	task = pid_task(thread->pid, PIDTYPE_PID);
	gone = !task || (task->flags & PF_EXITING);
	rcu_read_unlock();
	return gone;
}

/**
 * gpusched_thread_alloc() - a new, unlisted record of a thread
 * @pid: the thread; the record takes its own reference
 *
 * The record is charged to the memory cgroup of the caller: the pinning
 * process for a PIN, nobody's for threads the adopt work takes in later.
 *
 * Context: process context, may sleep.
 * Return: the record, or NULL when out of memory.
 */
struct gpusched_thread *gpusched_thread_alloc(struct pid *pid)
{
	struct gpusched_thread *thread;

	thread = kzalloc(sizeof(*thread), GFP_KERNEL_ACCOUNT);
	if (!thread)
		return NULL;
	INIT_LIST_HEAD(&thread->node);
	INIT_HLIST_NODE(&thread->hash);
	thread->pid = get_pid(pid);
	return thread;
}

/**
 * gpusched_thread_free() - unlink a record and free it after a grace period
 * @thread: the record, listed on a worker or not, tracked or not
 *
 * The pid reference and the masks go at once: RCU readers only compare
 * the pid pointer.
 *
 * Context: gpusched_lock held when the record is listed.
 */
void gpusched_thread_free(struct gpusched_thread *thread)
{
	list_del(&thread->node);
	/* Only a tracked record needs gpusched_lock (a discarded one is freed without). */
	if (!hlist_unhashed(&thread->hash))
		gpusched_thread_untrack(thread);
	put_pid(thread->pid);
	gpusched_mask_put(thread->original);
	gpusched_mask_put(thread->applied);
	kfree_rcu(thread, rcu);
}

/*
 * The digest of @user, the CPUs @thread's task asked for itself, which are
 * most often the CPUs it had before the pin: those have theirs already.
 * Context: gpusched_lock held (it guards @thread->original).
 */
static u64 gpusched_user_digest(const struct gpusched_thread *thread, const struct cpumask *user)
{
	const struct gpusched_mask *original = thread->original;

	if (original && cpumask_equal(user, gpusched_mask_cpus(original)))
		return original->digest;
	return gpusched_mask_digest(user);
}

/*
 * Records in @thread what the kernel keeps of @mask for @task: since 6.2,
 * set_cpus_allowed_ptr() narrows it to the CPUs the task asked for itself,
 * when the two meet.  Read under pi_lock, which guards user_cpus_ptr, into
 * gpusched_note_cpus; kept in a shared mask taken after the lock is dropped.
 * Returns -ENOMEM, with nothing recorded, when that mask is new and no
 * spare was reserved (gpusched_mask_reserve()).
 */
static int gpusched_task_note(struct gpusched_thread *thread, struct task_struct *task,
			      const struct cpumask *mask)
{
	struct gpusched_mask *applied;
	const struct cpumask *user;
	unsigned long flags;
	u64 user_cpus = 0;

	lockdep_assert_held(&gpusched_lock);
	raw_spin_lock_irqsave(&task->pi_lock, flags);
	user = task->user_cpus_ptr;
	if (user)
		user_cpus = gpusched_user_digest(thread, user);
	if (!user || !cpumask_and(gpusched_note_cpus, mask, user))
		cpumask_copy(gpusched_note_cpus, mask);
	raw_spin_unlock_irqrestore(&task->pi_lock, flags);

	applied = gpusched_mask_intern(gpusched_note_cpus);
	if (!applied)
		return -ENOMEM;
	gpusched_mask_put(thread->applied);
	thread->applied = applied;
	thread->has_user_cpus = user;
	thread->user_cpus = user_cpus;
	return 0;
}

/**
 * gpusched_thread_apply() - set a record's thread to some CPUs
 * @thread: the record
 * @mask: the CPUs
 *
 * The memory to remember the new CPUs is found before the thread is
 * moved, so that a thread is never moved without the record knowing.
 *
 * Context: gpusched_lock held; outside RCU and spinlocks: it may sleep
 * until the thread has moved.
 * Return: 0 (also for a thread that is gone), -ENOMEM with the thread
 * where it was, or set_cpus_allowed_ptr()'s negative errno.
 */
int gpusched_thread_apply(struct gpusched_thread *thread, const struct cpumask *mask)
{
	struct task_struct *task;
	int ret;

	task = get_pid_task(thread->pid, PIDTYPE_PID);
	if (!task)
		return 0;
	ret = gpusched_mask_reserve();
	if (!ret)
		ret = set_cpus_allowed_ptr(task, mask);
	/* Cannot fail: a spare was reserved under the same lock hold. */
	if (!ret)
		ret = gpusched_task_note(thread, task, mask);
	put_task_struct(task);
	return ret;
}

/**
 * gpusched_thread_restore() - give a record's thread its CPUs before the pin
 * @thread: a record about to be freed, which the module placed
 *
 * Sets the thread back to @thread->original, unless it chose CPUs of its
 * own since (@thread->own_cpus), is gone or exiting, or someone else
 * changed its CPUs since the module last set them (a cpuset change not
 * followed yet, or its own sched_setaffinity()): restoring the old mask
 * then could move it out of a cpuset that shrank.  One lookup of the task
 * serves the checks and the change; what the kernel keeps of the mask is
 * not noted, since the record goes away.
 *
 * Context: gpusched_lock held; outside RCU and spinlocks (may sleep).
 * Return: 0 (also when the thread keeps its CPUs), or
 * set_cpus_allowed_ptr()'s negative errno.
 */
int gpusched_thread_restore(struct gpusched_thread *thread)
{
	struct task_struct *task;
	unsigned long flags;
	bool unchanged;
	int ret = 0;

	lockdep_assert_held(&gpusched_lock);
	if (thread->own_cpus)
		return 0;
	task = get_pid_task(thread->pid, PIDTYPE_PID);
	if (!task)
		return 0;
	if (!(task->flags & PF_EXITING)) {
		raw_spin_lock_irqsave(&task->pi_lock, flags);
		unchanged = cpumask_equal(&task->cpus_mask, gpusched_mask_cpus(thread->applied));
		raw_spin_unlock_irqrestore(&task->pi_lock, flags);
		if (unchanged)
			ret = set_cpus_allowed_ptr(task, gpusched_mask_cpus(thread->original));
	}
	put_task_struct(task);
	return ret;
}

/**
 * gpusched_thread_note() - remember the CPUs a record's thread was given
 * @thread: the record
 * @mask: the CPUs the thread carries now because of the module (it was
 *	set to them, or inherited them from a pinned creator)
 *
 * What the kernel keeps of @mask, and the CPUs the thread had asked for
 * itself, become what gpusched_thread_check() compares against.
 *
 * Context: gpusched_lock held; may sleep.
 * Return: 0 (also for a thread that is gone), or -ENOMEM with the record
 * unchanged.
 */
int gpusched_thread_note(struct gpusched_thread *thread, const struct cpumask *mask)
{
	struct task_struct *task;
	int ret;

	task = get_pid_task(thread->pid, PIDTYPE_PID);
	if (!task)
		return 0;
	ret = gpusched_mask_reserve();
	if (!ret)
		ret = gpusched_task_note(thread, task, mask);
	put_task_struct(task);
	return ret;
}

/**
 * gpusched_thread_check() - whether someone else changed a thread's CPUs
 * @thread: a listed record whose thread the module placed
 *
 * A change that keeps the CPUs the thread asked for itself is a cpuset
 * rewrite or a move to another cgroup (both set every task of the cgroup
 * to its effective CPUs), or the scheduler's last resort when none of the
 * thread's CPUs is online (the CPUs of its cpuset): the new CPUs are what
 * the thread may use from now on, except after that last resort, which
 * says nothing about the cpuset.  On kernels that keep the CPUs a thread
 * asked for (user_cpus_ptr, 6.2 and later), a change of those is the
 * program's own sched_setaffinity().  Before 6.2 the two cannot be told
 * apart and every change is taken for a cpuset's.
 *
 * When the memory to remember new CPUs cannot be had, nothing is recorded
 * and the change is reported the next time.
 *
 * Context: gpusched_lock held; may sleep.
 * Return: what was found; for %GPUSCHED_THREAD_ALLOWED, @thread->original
 * holds the CPUs the thread may use now.
 */
enum gpusched_thread_change gpusched_thread_check(struct gpusched_thread *thread)
{
	enum gpusched_thread_change change = GPUSCHED_THREAD_SAME;
	const struct cpumask *user;
	struct gpusched_mask *now;
	struct task_struct *task;
	unsigned long flags;

	lockdep_assert_held(&gpusched_lock);
	task = get_pid_task(thread->pid, PIDTYPE_PID);
	if (!task)
		return GPUSCHED_THREAD_SAME;
	raw_spin_lock_irqsave(&task->pi_lock, flags);
	if (cpumask_equal(&task->cpus_mask, gpusched_mask_cpus(thread->applied)))
		goto unlock;
	user = task->user_cpus_ptr;
	if (user && (!thread->has_user_cpus ||
		     gpusched_user_digest(thread, user) != thread->user_cpus)) {
		change = GPUSCHED_THREAD_OWN;
		goto unlock;
	}
	if (cpumask_intersects(gpusched_mask_cpus(thread->applied), cpu_active_mask))
		change = GPUSCHED_THREAD_ALLOWED;
	else
		change = GPUSCHED_THREAD_STRANDED;
	cpumask_copy(gpusched_note_cpus, &task->cpus_mask);
unlock:
	raw_spin_unlock_irqrestore(&task->pi_lock, flags);
	if (change != GPUSCHED_THREAD_ALLOWED && change != GPUSCHED_THREAD_STRANDED)
		goto out;
	/* gpusched_note_cpus keeps the new CPUs while this may sleep. */
	now = gpusched_mask_get(gpusched_note_cpus);
	if (!now) {
		change = GPUSCHED_THREAD_SAME;
		goto out;
	}
	gpusched_mask_put(thread->applied);
	thread->applied = now;
	if (change == GPUSCHED_THREAD_ALLOWED) {
		gpusched_mask_put(thread->original);
		thread->original = gpusched_mask_hold(now);
	}
out:
	put_task_struct(task);
	return change;
}

/**
 * gpusched_read_affinity() - the CPUs a thread may use now
 * @pid: the thread
 * @mask: receives its own mask, as sched_getaffinity() reads it
 *
 * Context: any process context.
 * Return: 0, or -ESRCH when the thread is gone.
 */
int gpusched_read_affinity(struct pid *pid, struct cpumask *mask)
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

/**
 * gpusched_reap_locked() - forget threads that exited
 *
 * Frees every record whose thread has exited, and the workers left
 * without threads (releasing their cores).
 *
 * Context: gpusched_lock held.
 */
void gpusched_reap_locked(void)
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

/**
 * gpusched_nr_pinned_threads() - live pinned threads, for sysfs
 *
 * Context: process context, without gpusched_lock (see gpusched_reap_flush()).
 * Return: the count once the threads that have exited are reaped.
 */
unsigned int gpusched_nr_pinned_threads(void)
{
	gpusched_reap_flush();
	return atomic_read(&gpusched_nr_threads);
}

/* Frees the record of the exited thread of @pid, and its worker if it was the last. */
static void gpusched_reap_pid(struct pid *pid)
{
	struct gpusched_thread *thread = gpusched_find_thread(pid);
	struct gpusched_worker *worker;

	if (!thread || !gpusched_thread_gone(thread))
		return;
	worker = thread->worker;
	gpusched_thread_free(thread);
	if (list_empty(&worker->threads))
		gpusched_worker_free(worker);
}

/* Puts the references of a queue of exits and empties it. */
static void gpusched_exits_clear(struct gpusched_exits *exits)
{
	unsigned int i;

	for (i = 0; i < exits->nr; i++)
		put_pid(exits->entries[i]);
	exits->nr = 0;
	exits->seen = 0;
	exits->overflow = false;
}

/* Costs what the exits queued cost, not what every record would. */
static void gpusched_reap_workfn(struct work_struct *work)
{
	struct gpusched_exits *exits;
	unsigned int i;

	/* The work never runs twice at once, so the spare array is empty. */
	raw_spin_lock(&gpusched_exits_lock);
	exits = gpusched_exits;
	gpusched_exits = exits == &gpusched_exits_buf[0] ? &gpusched_exits_buf[1] :
							   &gpusched_exits_buf[0];
	raw_spin_unlock(&gpusched_exits_lock);

	mutex_lock(&gpusched_lock);
	if (exits->overflow) {
		gpusched_reap_locked();
	} else {
		for (i = 0; i < exits->nr; i++)
			gpusched_reap_pid(exits->entries[i]);
	}
	mutex_unlock(&gpusched_lock);
	atomic_sub_return_release(exits->seen, &gpusched_exits_unreaped);
	gpusched_exits_clear(exits);
}

/**
 * gpusched_reap_flush() - wait until the exits seen so far are reaped
 *
 * Every exit of a pinned thread queues the reap work (gpusched_exit_probe()),
 * so after this the records of threads that exited before the call are
 * gone and their workers' cores free.  Commands and sysfs readers call it
 * instead of scanning every record themselves: when no exit is waiting to
 * be reaped it is one atomic read, not a flush of the work.
 *
 * Context: process context; gpusched_lock must not be held (the work takes it).
 */
void gpusched_reap_flush(void)
{
	if (!atomic_read_acquire(&gpusched_exits_unreaped))
		return;
	flush_work(&gpusched_reap_work);
}

/* Runs for every exiting task: only the exit of a pinned thread is queued for the reap work. */
static void gpusched_exit_probe(void *data, struct task_struct *task)
{
	if (!gpusched_task_pinned(task, false))
		return;
	raw_spin_lock(&gpusched_exits_lock);
	if (gpusched_exits->nr < GPUSCHED_MAX_EXITS)
		gpusched_exits->entries[gpusched_exits->nr++] = get_task_pid(task, PIDTYPE_PID);
	else
		gpusched_exits->overflow = true;
	gpusched_exits->seen++;
	atomic_inc(&gpusched_exits_unreaped);
	raw_spin_unlock(&gpusched_exits_lock);
	queue_work(system_unbound_wq, &gpusched_reap_work);
}

/*
 * Whether the thread of @pid is one no pin holds and whose CPUs are
 * exactly @cpus: the pin's, inherited from a pinned creator, or the ones
 * from before the pin.  Kernel threads, tasks whose affinity the kernel
 * manages (io_uring workers) and exiting ones never join a pin, as they
 * could not be pinned.
 */
static bool gpusched_untracked_on(struct pid *pid, const struct cpumask *cpus)
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
	       cpumask_equal(gpusched_scratch, cpus);
}

/* Adds the thread of @pid to @worker; unpin gives it @original. */
static int gpusched_worker_take(struct gpusched_worker *worker, struct pid *pid,
				struct gpusched_mask *original)
{
	struct gpusched_thread *thread;

	thread = gpusched_thread_alloc(pid);
	if (!thread)
		goto nomem;
	thread->worker = worker;
	thread->original = gpusched_mask_hold(original);
	/* It carries the worker's CPUs, or is given them right after. */
	if (gpusched_thread_note(thread, worker->cpus)) {
		gpusched_thread_free(thread);
		goto nomem;
	}
	list_add_tail(&thread->node, &worker->threads);
	gpusched_thread_track(thread);
	return 0;

nomem:
	pr_warn_ratelimited("out of memory: thread %d stays out of its creator's pin\n",
			    pid_nr(pid));
	return -ENOMEM;
}

/**
 * gpusched_worker_adopt() - take in threads of a pinned process
 * @worker: a worker of a whole process, listed
 * @just_pinned: the pin was made a moment ago, under the same lock hold
 *
 * Takes into @worker the threads of its process that no pin holds yet and
 * that carry its CPUs.  Right after the pin (@just_pinned), a thread that
 * was created while the pin was being made may still have the CPUs from
 * before it, and is moved; later that would undo an UNPIN of one thread,
 * so only threads that carry the pin's CPUs are taken.  A thread whose
 * CPUs are neither was given its own by the program, and is left alone.
 *
 * Context: gpusched_lock held.
 */
void gpusched_worker_adopt(struct gpusched_worker *worker, bool just_pinned)
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
		if (!gpusched_untracked_on(targets.pids[i], worker->cpus)) {
			moved = just_pinned &&
				gpusched_untracked_on(targets.pids[i],
						      gpusched_mask_cpus(first->original));
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

/*
 * Whether the tasks of @a and @b belong to the same user; when @a has no
 * task (it ended) and @a_else is given, @a_else's task answers for it.
 * Both in one RCU read section: @a ending between a check of its own and
 * this comparison would otherwise make the comparison fail.
 */
static bool gpusched_same_owner(struct pid *a, struct pid *a_else, struct pid *b)
{
	const struct cred *ca, *cb;
	struct task_struct *ta, *tb;
	bool same = false;

	rcu_read_lock();
	ta = pid_task(a, PIDTYPE_PID);
	if (!ta && a_else)
		ta = pid_task(a_else, PIDTYPE_PID);
	tb = pid_task(b, PIDTYPE_PID);
	if (ta && tb) {
		ca = __task_cred(ta);
		cb = __task_cred(tb);
		same = uid_eq(ca->uid, cb->uid) && uid_eq(ca->euid, cb->euid);
	}
	rcu_read_unlock();
	return same;
}

/* Drops what a tombstone holds; it is then unused. */
static void gpusched_tombstone_clear(struct gpusched_tombstone *stone)
{
	put_pid(stone->process);
	gpusched_mask_put(stone->cpus);
	memset(stone, 0, sizeof(*stone));
}

/*
 * Drops the tombstones that expired before the births queued so far were
 * settled: a birth they count for was queued before they expired.  Comes
 * back when the next one expires.
 */
static void gpusched_tombstone_workfn(struct work_struct *work)
{
	struct gpusched_tombstone *stone;
	u64 settled = get_jiffies_64(), next = 0;
	unsigned int i;

	/* Outside gpusched_lock, which the adopt work takes. */
	flush_work(&gpusched_adopt_work);
	mutex_lock(&gpusched_lock);
	for (i = 0; i < GPUSCHED_NR_TOMBSTONES; i++) {
		stone = &gpusched_tombstones[i];
		if (!stone->process)
			continue;
		if (time_before_eq64(stone->expires, settled))
			gpusched_tombstone_clear(stone);
		else if (!next || time_before64(stone->expires, next))
			next = stone->expires;
	}
	/* What this run found is what counts, whatever a gpusched_bury() meanwhile queued. */
	if (next)
		mod_delayed_work(system_wq, &gpusched_tombstone_work, next - settled);
	else
		WRITE_ONCE(gpusched_strays_until, jiffies);
	mutex_unlock(&gpusched_lock);
}

/* Keeps, or keeps longer, that @process was pinned to @cpus. */
static void gpusched_bury(struct pid *process, const struct cpumask *cpus)
{
	struct gpusched_tombstone *stone, *slot = NULL;
	u64 now = get_jiffies_64();
	struct gpusched_mask *mask;
	unsigned int i;

	for (i = 0; i < GPUSCHED_NR_TOMBSTONES; i++) {
		stone = &gpusched_tombstones[i];
		if (stone->process == process &&
		    cpumask_equal(gpusched_mask_cpus(stone->cpus), cpus)) {
			slot = stone;
			goto keep;
		}
		if (!slot || (slot->process && (!stone->process ||
						time_before64(stone->expires, slot->expires))))
			slot = stone;
	}
	mask = gpusched_mask_get(cpus);
	if (!mask)
		return;
	gpusched_tombstone_clear(slot);
	slot->process = get_pid(process);
	slot->cpus = mask;
keep:
	slot->expires = now + GPUSCHED_TOMBSTONE_LIFE;
	WRITE_ONCE(gpusched_strays_until, jiffies + GPUSCHED_TOMBSTONE_LIFE);
	/* Before the records go: pairs with gpusched_maybe_stray(). */
	smp_wmb();
	/* Pending already if an older one is kept: it comes back for this one. */
	queue_delayed_work(system_wq, &gpusched_tombstone_work, GPUSCHED_TOMBSTONE_LIFE);
}

/**
 * gpusched_worker_bury() - remember a process pin about to be taken back
 * @worker: a listed worker, or one whose PIN is failing after it moved
 *	threads
 * @process: the process whose threads are being unpinned, or NULL for
 *	every process with a thread in @worker
 *
 * For a worker of a whole process, keeps for GPUSCHED_TOMBSTONE_LIFE that
 * @process (or each process of the worker: the one pinned and those it
 * started) was pinned to the worker's CPUs, so that a task one of their
 * threads was creating meanwhile does not keep them (see
 * gpusched_tombstones).  Out of memory, nothing is kept.
 *
 * Context: gpusched_lock held; may sleep.
 */
void gpusched_worker_bury(struct gpusched_worker *worker, struct pid *process)
{
	struct pid *tgid, *last = NULL;
	struct gpusched_thread *thread;
	struct task_struct *task;

	lockdep_assert_held(&gpusched_lock);
	if (!worker->process)
		return;
	if (process) {
		gpusched_bury(process, worker->cpus);
		return;
	}
	/* A process's threads are mostly listed together. */
	list_for_each_entry(thread, &worker->threads, node) {
		task = get_pid_task(thread->pid, PIDTYPE_PID);
		if (!task)
			continue;
		tgid = get_task_pid(task, PIDTYPE_TGID);
		put_task_struct(task);
		if (tgid == last) {
			put_pid(tgid);
			continue;
		}
		if (tgid)
			gpusched_bury(tgid, worker->cpus);
		put_pid(last);
		last = tgid;
	}
	put_pid(last);
}

/*
 * A tombstone of @process whose CPUs are exactly @cpus and that counted
 * when a task was created at @born, or NULL.
 */
static const struct gpusched_tombstone *gpusched_find_tombstone(struct pid *process,
								const struct cpumask *cpus,
								u64 born)
{
	const struct gpusched_tombstone *stone;
	unsigned int i;

	lockdep_assert_held(&gpusched_lock);
	for (i = 0; i < GPUSCHED_NR_TOMBSTONES; i++) {
		stone = &gpusched_tombstones[i];
		if (stone->process == process && time_before64(born, stone->expires) &&
		    cpumask_equal(gpusched_mask_cpus(stone->cpus), cpus))
			return stone;
	}
	return NULL;
}

/*
 * Whether the tasks of @a and @b are in the same cpuset: a task started
 * in another (clone3() with CLONE_INTO_CGROUP) has that cpuset's CPUs,
 * which the module does not change for the creator's.
 */
static bool gpusched_same_cpuset(struct pid *a, struct pid *b)
{
	bool same = true;
#ifdef CONFIG_CPUSETS
	struct task_struct *ta, *tb;

	rcu_read_lock();
	ta = pid_task(a, PIDTYPE_PID);
	tb = pid_task(b, PIDTYPE_PID);
	same = ta && tb && task_css(ta, cpuset_cgrp_id) == task_css(tb, cpuset_cgrp_id);
	rcu_read_unlock();
#endif
	return same;
}

/* Gives the thread of @pid the CPUs @cpus, if it still exists. */
static void gpusched_give_cpus(struct pid *pid, const struct cpumask *cpus)
{
	struct task_struct *task = get_pid_task(pid, PIDTYPE_PID);

	if (task) {
		set_cpus_allowed_ptr(task, cpus);
		put_task_struct(task);
	}
}

/*
 * The pin of @birth's creator may have been taken back while the task was
 * being created (and another made since).  If the creator's process has
 * a tombstone whose CPUs the child carries, and the creator does not
 * carry them now (else the child has them from its creator, as any task
 * would), the child gets its creator's CPUs, as it would have inherited
 * them a moment later: the new thread, or each thread of the new process
 * that has the same owner and is in the same cpuset.
 */
static void gpusched_settle_stray(const struct gpusched_birth *birth)
{
	struct gpusched_targets targets = {};
	cpumask_var_t child_cpus, creator_cpus;
	struct task_struct *leader;
	unsigned int i;

	lockdep_assert_held(&gpusched_lock);
	/* Most births are settled outside the life of every tombstone. */
	if (!time_before((unsigned long)birth->born, READ_ONCE(gpusched_strays_until)))
		return;
	if (!alloc_cpumask_var(&child_cpus, GFP_KERNEL))
		return;
	if (!alloc_cpumask_var(&creator_cpus, GFP_KERNEL))
		goto out_child;
	if (gpusched_read_affinity(birth->child, child_cpus) ||
	    gpusched_read_affinity(birth->creator, creator_cpus) ||
	    cpumask_equal(child_cpus, creator_cpus))
		goto out;
	/* Tombstone and birth hold their process: a match is that process, not a reuse. */
	if (!gpusched_find_tombstone(birth->process, child_cpus, birth->born) ||
	    !gpusched_same_cpuset(birth->creator, birth->child))
		goto out;
	if (birth->thread) {
		if (gpusched_untracked_on(birth->child, child_cpus))
			gpusched_give_cpus(birth->child, creator_cpus);
		goto out;
	}
	if (!gpusched_same_owner(birth->creator, NULL, birth->child))
		goto out;
	leader = get_pid_task(birth->child, PIDTYPE_PID);
	if (!leader)
		goto out;
	if (!gpusched_collect_threads(leader, &targets)) {
		for (i = 0; i < targets.nr; i++)
			if (gpusched_untracked_on(targets.pids[i], child_cpus))
				gpusched_give_cpus(targets.pids[i], creator_cpus);
	}
	gpusched_put_targets(&targets);
	put_task_struct(leader);
out:
	free_cpumask_var(creator_cpus);
out_child:
	free_cpumask_var(child_cpus);
}

/*
 * A pinned thread created @birth->child, or a thread of a pinned process
 * not taken in yet, or one whose pin was taken back meanwhile
 * (gpusched_settle_stray()).  A pin covers what it names: a
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
	struct task_struct *leader;
	unsigned int i;

	lockdep_assert_held(&gpusched_lock);
	/* First what it would have inherited a moment later, then as any birth. */
	gpusched_settle_stray(birth);
	creator = gpusched_find_thread(birth->creator);
	/*
	 * A creator not taken in yet (a thread created a moment ago, which
	 * may have ended since) of a process whose leader a process pin
	 * holds: the pin's as well, as gpusched_worker_adopt() would have it.
	 */
	if (!creator) {
		creator = gpusched_find_thread(birth->process);
		if (!creator || !creator->whole_process)
			return;
	}
	worker = creator->worker;
	if (birth->thread) {
		if (worker->process && gpusched_untracked_on(birth->child, worker->cpus))
			gpusched_worker_take(worker, birth->child, creator->original);
		return;
	}
	/*
	 * The creator may have ended, even since it was looked up (a thread
	 * that forks and ends at once): its process answers for it then.
	 */
	if (!gpusched_same_owner(birth->creator, birth->process, birth->child))
		return;
	leader = get_pid_task(birth->child, PIDTYPE_PID);
	if (!leader)
		return;
	if (gpusched_collect_threads(leader, &targets))
		goto out;
	for (i = 0; i < targets.nr; i++) {
		if (!gpusched_untracked_on(targets.pids[i], worker->cpus))
			continue;
		if (worker->process) {
			if (gpusched_worker_take(worker, targets.pids[i], creator->original))
				break;
			continue;
		}
		gpusched_give_cpus(targets.pids[i], gpusched_mask_cpus(creator->original));
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
		put_pid(births->entries[i].process);
	}
	births->nr = 0;
	births->seen = 0;
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

	gpusched_lock_cpus();
	for (i = 0; i < births->nr; i++)
		gpusched_settle_birth(&births->entries[i]);
	if (births->overflow) {
		pr_warn_ratelimited("more than %u task creations to settle at once: processes among them started by pinned threads run untracked\n",
				    GPUSCHED_MAX_BIRTHS);
		list_for_each_entry(worker, &gpusched_workers, node)
			if (worker->process)
				gpusched_worker_adopt(worker, false);
	}
	gpusched_unlock_cpus();
	atomic_sub_return_release(births->seen, &gpusched_births_unsettled);
	gpusched_births_clear(births);
}

/**
 * gpusched_adopt_flush() - wait until the task creations seen so far are settled
 *
 * So that a PIN does not read a task whose birth still waits, one that
 * carries the CPUs of a pin taken back a moment ago (see
 * gpusched_tombstones), as a task whose CPUs from before are those, and
 * give them back to it at UNPIN.  When no birth waits it is one atomic
 * read, not a flush of the work.
 *
 * Context: process context; gpusched_lock must not be held (the work takes it).
 */
void gpusched_adopt_flush(void)
{
	if (!atomic_read_acquire(&gpusched_births_unsettled))
		return;
	flush_work(&gpusched_adopt_work);
}

/*
 * Whether @child, created by a thread that is not pinned, may have copied
 * the CPUs of a pin taken back while it was being created: only while a
 * tombstone counts, and only if its CPUs differ from its creator's.
 */
static bool gpusched_maybe_stray(struct task_struct *parent, struct task_struct *child)
{
	/*
	 * A creator whose record was missed was unpinned, or its pin failed:
	 * its tombstone came first (the smp_wmb() in gpusched_bury()).
	 */
	smp_rmb();
	if (time_after_eq(jiffies, READ_ONCE(gpusched_strays_until)))
		return false;
	/* Without pi_lock, which a probe need not take: the adopt work checks again under it. */
	return !data_race(cpumask_equal(&child->cpus_mask, &parent->cpus_mask));
}

/*
 * Runs for every fork and thread creation on the machine.  A task created
 * by a pinned thread, or by any thread of a process whose leader a process
 * pin holds (a thread the adopt work has not taken in yet: one created a
 * moment ago, or while PIN ran), or one that may have copied the CPUs of a
 * pin taken back meanwhile, is queued for the adopt work, which decides
 * (see gpusched_settle_birth()).
 */
static void gpusched_fork_probe(void *data, struct task_struct *parent, struct task_struct *child)
{
	struct gpusched_birth *birth;

	/*
	 * Pairs with the smp_wmb() in gpusched_thread_track(): a task created
	 * with the CPUs a pin gave its creator sees the creator's record.
	 */
	smp_rmb();
	if (!gpusched_task_pinned(parent, true) && !gpusched_maybe_stray(parent, child))
		return;
	raw_spin_lock(&gpusched_births_lock);
	if (gpusched_births->nr < GPUSCHED_MAX_BIRTHS) {
		birth = &gpusched_births->entries[gpusched_births->nr++];
		birth->creator = get_task_pid(parent, PIDTYPE_PID);
		birth->child = get_task_pid(child, PIDTYPE_PID);
		birth->process = get_task_pid(parent, PIDTYPE_TGID);
		birth->born = get_jiffies_64();
		birth->thread = same_thread_group(parent, child);
	} else {
		gpusched_births->overflow = true;
	}
	gpusched_births->seen++;
	atomic_inc(&gpusched_births_unsettled);
	raw_spin_unlock(&gpusched_births_lock);
	queue_work(system_unbound_wq, &gpusched_adopt_work);
}

static void gpusched_find_tps(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		gpusched_exit_tp = tp;
	else if (!strcmp(tp->name, "sched_process_fork"))
		gpusched_fork_tp = tp;
}

/**
 * gpusched_track_init() - watch exits and task creation
 *
 * Context: module init, after the pin state exists.
 * Return: 0 or a negative errno with nothing registered.
 */
int gpusched_track_init(void)
{
	int ret;

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
		return -ENOENT;
	}
	if (!zalloc_cpumask_var(&gpusched_note_cpus, GFP_KERNEL))
		return -ENOMEM;
	gpusched_strays_until = jiffies;
	ret = tracepoint_probe_register(gpusched_exit_tp, gpusched_exit_probe, NULL);
	if (ret)
		goto err_note;
	ret = tracepoint_probe_register(gpusched_fork_tp, gpusched_fork_probe, NULL);
	if (ret)
		goto err_exit;
	return 0;

err_exit:
	tracepoint_probe_unregister(gpusched_exit_tp, gpusched_exit_probe, NULL);
	tracepoint_synchronize_unregister();
err_note:
	free_cpumask_var(gpusched_note_cpus);
	return ret;
}

/**
 * gpusched_track_exit() - undo gpusched_track_init()
 *
 * Context: module exit; no file is open, so no thread is pinned.
 */
void gpusched_track_exit(void)
{
	unsigned int i;

	tracepoint_probe_unregister(gpusched_fork_tp, gpusched_fork_probe, NULL);
	tracepoint_probe_unregister(gpusched_exit_tp, gpusched_exit_probe, NULL);
	tracepoint_synchronize_unregister();
	cancel_work_sync(&gpusched_reap_work);
	cancel_work_sync(&gpusched_adopt_work);
	/* Births and exits the works did not get to, then records in their grace period. */
	gpusched_births_clear(&gpusched_births_buf[0]);
	gpusched_births_clear(&gpusched_births_buf[1]);
	gpusched_exits_clear(&gpusched_exits_buf[0]);
	gpusched_exits_clear(&gpusched_exits_buf[1]);
	cancel_delayed_work_sync(&gpusched_tombstone_work);
	for (i = 0; i < GPUSCHED_NR_TOMBSTONES; i++)
		gpusched_tombstone_clear(&gpusched_tombstones[i]);
	rcu_barrier();
	free_cpumask_var(gpusched_note_cpus);
}
