// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug and new topologies: pins placed again from what is left.
 * When a CPU goes offline, the workers that used it are placed again and
 * their threads move; shared-policy workers and those that could not keep
 * their policy are placed again on every event, so that a CPU that comes
 * back is theirs again.  An exclusive worker never lets go of its cores
 * while it waits.  A topology with the same GPUs carries the pins over and
 * places them all again.  The hotplug callbacks only queue the work, which
 * runs under cpus_read_lock() and gpusched_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/pid.h>
#include <linux/workqueue.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/* Scratch masks of the hotplug work; under gpusched_lock. */
static cpumask_var_t gpusched_hotplug_allowed;
static cpumask_var_t gpusched_hotplug_held;

static void gpusched_hotplug_workfn(struct work_struct *work);
static DECLARE_WORK(gpusched_hotplug_work, gpusched_hotplug_workfn);

static enum cpuhp_state gpusched_cpuhp_state;

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

/**
 * gpusched_hotplug_init() - follow CPU hotplug
 *
 * Context: module init, after the pin state exists.
 * Return: 0 or a negative errno with nothing left behind.
 */
int gpusched_hotplug_init(void)
{
	int ret = -ENOMEM;

	if (!zalloc_cpumask_var(&gpusched_hotplug_allowed, GFP_KERNEL))
		return -ENOMEM;
	if (!zalloc_cpumask_var(&gpusched_hotplug_held, GFP_KERNEL))
		goto err_allowed;
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "gpusched:online",
					gpusched_cpu_changed, gpusched_cpu_changed);
	if (ret < 0)
		goto err_held;
	gpusched_cpuhp_state = ret;
	return 0;

err_held:
	free_cpumask_var(gpusched_hotplug_held);
err_allowed:
	free_cpumask_var(gpusched_hotplug_allowed);
	return ret;
}

/**
 * gpusched_hotplug_exit() - undo gpusched_hotplug_init()
 *
 * Context: module exit; no file is open, so no worker exists.
 */
void gpusched_hotplug_exit(void)
{
	cpuhp_remove_state_nocalls(gpusched_cpuhp_state);
	cancel_work_sync(&gpusched_hotplug_work);
	free_cpumask_var(gpusched_hotplug_held);
	free_cpumask_var(gpusched_hotplug_allowed);
}
