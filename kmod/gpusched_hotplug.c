// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug, cpuset changes and new topologies: pins placed again from
 * what is left.  When a CPU goes offline, the workers that used it are
 * placed again and their threads move; shared-policy workers and those
 * that could not keep their policy are placed again on every event, so
 * that a CPU that comes back is theirs again.  An exclusive worker never
 * lets go of its cores while it waits.  A worker whose threads' cpuset
 * changed (gpusched_watch.c finds it) is placed again inside the new one.
 * A topology with the same GPUs carries the pins over and places them all
 * again.  The hotplug callbacks only queue the work, which runs under
 * cpus_read_lock() and gpusched_lock.
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
		if (thread->own_cpus)
			continue;
		ret = gpusched_thread_apply(thread, worker->cpus);
		if (ret)
			pr_warn_ratelimited("cannot move thread %d to %*pbl: %d\n",
					    pid_nr(thread->pid), cpumask_pr_args(worker->cpus),
					    ret);
	}
}

/*
 * Holds again, for an exclusive worker that could not be placed under its
 * policy, the cores it held before that it may still use: offline ones
 * come back to it and to no other worker, and online ones stay out of
 * other exclusive pins while it waits for room.  Cores a cpuset change took
 * away from it are left to others.  They were released a moment ago under
 * the same lock, so nobody else holds them.
 */
static void gpusched_worker_rehold(const struct gpusched_worker *worker,
				   const struct cpumask *held, const struct cpumask *allowed)
{
	unsigned int cpu;

	lockdep_assert_held(&gpusched_lock);
	if (!worker->reservation)
		return;
	for_each_cpu_and(cpu, held, allowed) {
		if (gpusched_resv.holds[cpu].reservation)
			continue;
		gpusched_resv.holds[cpu].reservation = worker->reservation;
		gpusched_resv.holds[cpu].gpu = worker->gpu;
	}
}

/*
 * Gives up on moving @worker's threads: they stay where the kernel put
 * them, and @worker->cpus says where that is (@allowed, online), except
 * for a worker of an older topology, whose CPUs are all that is left to
 * say where its GPU's node is.
 */
static void gpusched_worker_break(struct gpusched_worker *worker, const struct cpumask *allowed,
				  bool keep_cpus)
{
	struct gpusched_thread *thread;

	if (!worker->broken)
		pr_warn_ratelimited("GPU %u: no CPU of the GPU's node is online and allowed to a pin; its threads run where their cpuset puts them\n",
				    worker->gpu);
	worker->broken = true;
	if (!keep_cpus)
		cpumask_and(worker->cpus, allowed, cpu_online_mask);
	/*
	 * A record that cannot note its thread's CPUs now (out of memory)
	 * keeps the old ones: the next look finds the change and comes back.
	 */
	list_for_each_entry(thread, &worker->threads, node)
		if (!thread->own_cpus && !gpusched_read_affinity(thread->pid, gpusched_scratch))
			gpusched_thread_note(thread, gpusched_scratch);
}

/**
 * gpusched_worker_replace() - place a worker again and move its threads
 * @table: the current topology, the one @worker was made under
 * @worker: the worker
 * @moved_away: someone else changed its threads' CPUs: move them even if
 *	the worker's CPUs stay the same
 *
 * When its policy no longer fits (an exclusive worker whose node has no
 * free core left, in what is online and allowed), it runs on its GPU's
 * node, marked as a fallback, until a later event makes room.  When
 * nothing fits at all (every CPU of the node it may use is offline or
 * outside its cpuset), it is broken: its threads run where the kernel put
 * them.  Either way an exclusive worker keeps holding the cores it had and
 * may still use, so that they are its own again when they come back.
 *
 * Context: gpusched_lock held.
 */
void gpusched_worker_replace(struct gpusched_table *table, struct gpusched_worker *worker,
			     bool moved_away)
{
	struct cpumask *before = gpusched_scratch;
	bool was_astray = worker->fallback || moved_away;
	int ret;

	lockdep_assert_held(&gpusched_lock);
	gpusched_worker_allowed(worker, gpusched_hotplug_allowed);
	cpumask_copy(before, worker->cpus);
	gs_release(&gpusched_resv, worker->reservation, cpumask_bits(gpusched_hotplug_held));
	ret = gpusched_place_locked(table, worker, worker->policy, gpusched_hotplug_allowed);
	if (!ret) {
		worker->fallback = false;
		worker->broken = false;
		worker->reason = GPUSCHED_PIN_REASON_NONE;
		goto move;
	}
	gpusched_worker_rehold(worker, gpusched_hotplug_held, gpusched_hotplug_allowed);
	if (!worker->fallback)
		pr_warn_ratelimited("GPU %u: no room for a %s pin after a CPU or cpuset change; it uses the GPU's node until there is\n",
				    worker->gpu, gs_policy_name(worker->policy));
	worker->fallback = true;
	if (worker->policy != GS_POLICY_NODE) {
		ret = gpusched_place_locked(table, worker, GS_POLICY_NODE,
					    gpusched_hotplug_allowed);
		if (!ret) {
			worker->broken = false;
			goto move;
		}
	}
	gpusched_worker_break(worker, gpusched_hotplug_allowed, false);
	return;
move:
	/*
	 * A worker that had nowhere to run, or whose threads someone else
	 * moved, may sit elsewhere with unchanged CPUs: apply them anyway.
	 */
	if (was_astray || !cpumask_equal(before, worker->cpus))
		gpusched_worker_move(worker);
}

/*
 * Workers pinned under an older topology: their GPU index means nothing to
 * the engine now, so they only lose the CPUs that went offline.
 */
static void gpusched_worker_shrink(struct gpusched_worker *worker)
{
	/* A broken one waits for its cpuset to change back. */
	if (worker->broken || !cpumask_intersects(worker->cpus, cpu_online_mask))
		return;
	cpumask_and(worker->cpus, worker->cpus, cpu_online_mask);
	gpusched_worker_move(worker);
}

/**
 * gpusched_worker_follow() - place a worker again inside its threads' new CPUs
 * @table: the current topology, or NULL
 * @worker: a worker some of whose threads were moved by someone else
 *
 * A worker made under an older topology only keeps the CPUs it may still
 * use, and is broken when none is left.
 *
 * Context: gpusched_lock held.
 */
void gpusched_worker_follow(struct gpusched_table *table, struct gpusched_worker *worker)
{
	lockdep_assert_held(&gpusched_lock);
	if (table && worker->generation == table->generation) {
		gpusched_worker_replace(table, worker, true);
		return;
	}
	gpusched_worker_allowed(worker, gpusched_hotplug_allowed);
	cpumask_and(gpusched_hotplug_allowed, gpusched_hotplug_allowed, cpu_online_mask);
	if (!cpumask_intersects(worker->cpus, gpusched_hotplug_allowed)) {
		worker->reason = GPUSCHED_PIN_REASON_NO_CPUS;
		gpusched_worker_break(worker, gpusched_hotplug_allowed, true);
		return;
	}
	worker->broken = false;
	cpumask_and(worker->cpus, worker->cpus, gpusched_hotplug_allowed);
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

	gpusched_lock_cpus();
	gpusched_reap_locked();
	table = rcu_dereference_protected(gpusched_current_table,
					  lockdep_is_held(&gpusched_lock));
	/*
	 * Cpusets change with hotplug too, and a cpuset that shrank before
	 * this event must bound the placement below.
	 */
	gpusched_watch_locked(table);
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
			gpusched_worker_replace(table, worker, false);
		worker->replace_pending = false;
	}
	gpusched_unlock_cpus();
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
