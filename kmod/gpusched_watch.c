// SPDX-License-Identifier: GPL-2.0
/*
 * Following cpuset changes.  Slurm, the kubelet and systemd rewrite the
 * cpusets of running jobs, and the kernel then sets every task of the
 * cgroup to the cpuset's CPUs, a pinned thread too, without telling
 * anyone: cpusets have no notifier a module can use, and the pin's mask is
 * simply gone.  So the module looks: while pins exist, a delayed work
 * compares every pinned thread's CPUs with the ones the module gave it,
 * every watch_interval_ms, and before it places pins again on CPU hotplug.
 * A worker whose threads were moved is placed again, with its policy,
 * inside the CPUs they are allowed now (gpusched_worker_follow()); when
 * nothing of the GPU's node is left in them it is broken, says so in
 * QUERY and sysfs, and is placed again when its cpuset changes back.  A
 * thread that asked for CPUs of its own is left alone from then on.
 *
 * The cost is one look at each pinned thread's mask per interval, under
 * gpusched_lock: pin_scale_bench measured about 0.1 ms per pass with 1,000
 * pinned threads and 9 ms with 10,000, in a 6.12 guest under QEMU's
 * software emulation.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include <linux/gpusched.h>
#include "gpusched.h"

#define GPUSCHED_WATCH_MIN_MS	10
#define GPUSCHED_WATCH_MAX_MS	60000

/*
 * Milliseconds between two looks, 0 for none (then only CPU hotplug
 * looks).  Module parameter watch_interval_ms and
 * /sys/kernel/gpusched/watch_interval_ms; read and written whole.
 */
static unsigned int gpusched_watch_ms = 1000;

static void gpusched_watch_workfn(struct work_struct *work);
static DECLARE_DELAYED_WORK(gpusched_watch_work, gpusched_watch_workfn);

/*
 * Whether pins exist to look at: set by gpusched_watch_start(), cleared by
 * the work when it finds none, read when the interval changes.
 */
static bool gpusched_watch_wanted;

/*
 * Serialises interval changes against module exit: a write to the module
 * parameter can come while the module goes away, and must not queue the
 * work once gpusched_watch_exit() has stopped it (@gpusched_watch_stopped).
 */
static DEFINE_MUTEX(gpusched_watch_mutex);
static bool gpusched_watch_stopped;

static int gpusched_param_set_watch(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;
	int ret = kstrtouint(val, 10, &ms);

	return ret ? ret : gpusched_set_watch_interval_ms(ms);
}

static int gpusched_param_get_watch(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%u\n", gpusched_watch_interval_ms());
}

static const struct kernel_param_ops gpusched_watch_param_ops = {
	.set = gpusched_param_set_watch,
	.get = gpusched_param_get_watch,
};
module_param_cb(watch_interval_ms, &gpusched_watch_param_ops, NULL, 0644);
MODULE_PARM_DESC(watch_interval_ms,
		 "Milliseconds between two checks that pins still hold after cpuset changes: 10..60000, 1000 by default, 0 for none");

/**
 * gpusched_watch_interval_ms() - how often pinned threads are looked at
 *
 * Context: any.
 * Return: milliseconds, 0 when only CPU hotplug looks.
 */
unsigned int gpusched_watch_interval_ms(void)
{
	return READ_ONCE(gpusched_watch_ms);
}

/**
 * gpusched_set_watch_interval_ms() - change how often pinned threads are looked at
 * @ms: 0, or GPUSCHED_WATCH_MIN_MS..GPUSCHED_WATCH_MAX_MS
 *
 * Takes effect at once: while pins exist, the next look is @ms from now;
 * 0 stops the looks, waiting for one under way to end.
 *
 * Context: process context; takes gpusched_watch_mutex, and waits for a look
 * under way when @ms is 0.
 * Return: 0, or -EINVAL for a value out of range.
 */
int gpusched_set_watch_interval_ms(unsigned int ms)
{
	if (ms && (ms < GPUSCHED_WATCH_MIN_MS || ms > GPUSCHED_WATCH_MAX_MS))
		return -EINVAL;
	mutex_lock(&gpusched_watch_mutex);
	WRITE_ONCE(gpusched_watch_ms, ms);
	/*
	 * Pairs with gpusched_watch_start(): a first pin made meanwhile either
	 * reads the new interval there or is seen wanted here, so it is never
	 * left without a look.
	 */
	smp_mb();
	if (!ms)
		cancel_delayed_work_sync(&gpusched_watch_work);
	/* Never at load time, when no pin exists and the work must stay idle. */
	else if (READ_ONCE(gpusched_watch_wanted) && !gpusched_watch_stopped)
		mod_delayed_work(system_unbound_wq, &gpusched_watch_work,
				 msecs_to_jiffies(ms));
	mutex_unlock(&gpusched_watch_mutex);
	return 0;
}

/**
 * gpusched_watch_start() - make sure the next look is scheduled
 *
 * Called when a pin is made; the work stops rescheduling itself once no
 * pin is left.  A look already queued is left as it is, without the cost
 * of queueing it again on every pin: it has not started, so it will find
 * the new pin.  Once the work starts it is no longer pending, and this
 * queues the next look.
 *
 * Context: gpusched_lock held with the new pin listed, which a look that
 * starts meanwhile waits for; or the watch work itself, which is running
 * and so not pending.
 */
void gpusched_watch_start(void)
{
	unsigned int ms;

	WRITE_ONCE(gpusched_watch_wanted, true);
	/* Pairs with the barrier in gpusched_set_watch_interval_ms(). */
	smp_mb();
	ms = gpusched_watch_interval_ms();
	if (ms && !delayed_work_pending(&gpusched_watch_work))
		queue_delayed_work(system_unbound_wq, &gpusched_watch_work,
				   msecs_to_jiffies(ms));
}

/**
 * gpusched_watch_locked() - follow the changes made to pinned threads' CPUs
 * @table: the current topology, or NULL
 *
 * Every worker some of whose threads were moved by someone else is placed
 * again inside the CPUs they may use now; a thread that chose CPUs of its
 * own is marked and never moved again.
 *
 * Context: gpusched_lock held.
 */
void gpusched_watch_locked(struct gpusched_table *table)
{
	struct gpusched_worker *worker;
	struct gpusched_thread *thread;

	lockdep_assert_held(&gpusched_lock);
	list_for_each_entry(worker, &gpusched_workers, node) {
		bool allowed = false, stranded = false;

		list_for_each_entry(thread, &worker->threads, node) {
			if (thread->own_cpus)
				continue;
			switch (gpusched_thread_check(thread)) {
			case GPUSCHED_THREAD_SAME:
				break;
			case GPUSCHED_THREAD_ALLOWED:
				allowed = true;
				break;
			case GPUSCHED_THREAD_STRANDED:
				stranded = true;
				break;
			case GPUSCHED_THREAD_OWN:
				thread->own_cpus = true;
				pr_info_ratelimited("thread %d chose its own CPUs; its pin no longer moves it\n",
						    pid_nr(thread->pid));
				break;
			}
		}
		/*
		 * Stranded threads (none of their CPUs was online, the
		 * scheduler chose others) are placed again in what they
		 * were allowed before.
		 */
		if (allowed)
			worker->nr_followed++;
		if (allowed || stranded)
			gpusched_worker_follow(table, worker);
	}
}

static void gpusched_watch_workfn(struct work_struct *work)
{
	struct gpusched_table *table;
	bool more;

	gpusched_lock_cpus();
	gpusched_reap_locked();
	table = rcu_dereference_protected(gpusched_current_table,
					  lockdep_is_held(&gpusched_lock));
	gpusched_watch_locked(table);
	more = !list_empty(&gpusched_workers);
	if (!more)
		WRITE_ONCE(gpusched_watch_wanted, false);
	gpusched_unlock_cpus();
	if (more)
		gpusched_watch_start();
}

/**
 * gpusched_watch_exit() - stop looking
 *
 * Context: module exit; no file is open, so no worker exists.
 */
void gpusched_watch_exit(void)
{
	mutex_lock(&gpusched_watch_mutex);
	gpusched_watch_stopped = true;
	mutex_unlock(&gpusched_watch_mutex);
	cancel_delayed_work_sync(&gpusched_watch_work);
}
