// SPDX-License-Identifier: GPL-2.0
/*
 * The topology table: which GPUs the machine has, on which nodes, and the
 * CPU facts the placement engine needs.  gpuschedd sends the GPU records,
 * the last-level-cache groups and the housekeeping CPUs (none of which the
 * kernel exports to modules); this file checks every record against the
 * kernel's own view (the PCI function exists, its node matches, the nodes
 * exist and hold memory), builds a complete new table, has the engine
 * validate it, and only then publishes it with RCU.  A refused update
 * changes nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/uaccess.h>

#include <linux/gpusched.h>
#include "gpusched.h"

struct gpusched_table __rcu *gpusched_current_table;
/* See gpusched.h: serialises updates, guards the gpus/gpuN directories. */
DEFINE_MUTEX(gpusched_topology_lock);

/* Generation of the last table published; under gpusched_topology_lock. */
static u64 gpusched_generation;

/**
 * gpusched_table_refresh_online() - bring the engine's online flags up to date
 * @topo: the current table
 *
 * Every placement calls it, so it compares the online CPUs with those the
 * flags were last set from a word at a time, and walks the CPUs, and fills
 * the engine's bitmaps again, only when one came or went since.
 *
 * Context: gpusched_lock held, and cpus_read_lock() so that the answer stays
 * true while it is used.
 */
void gpusched_table_refresh_online(struct gpusched_table *topo)
{
	struct gs_cpu *cpus = topo->cpus;
	unsigned int cpu;

	lockdep_assert_held(&gpusched_lock);
	if (bitmap_equal(topo->online, cpumask_bits(cpu_online_mask), nr_cpu_ids))
		return;
	/* From the copy: the flags must say what the next comparison compares. */
	bitmap_copy(topo->online, cpumask_bits(cpu_online_mask), nr_cpu_ids);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (test_bit(cpu, topo->online))
			cpus[cpu].flags |= GS_CPU_ONLINE;
		else
			cpus[cpu].flags &= ~GS_CPU_ONLINE;
	}
	gs_topology_masks(&topo->engine, topo->masks);
}

/**
 * gpusched_get_bitmap() - read a CPU mask of nr_cpu_ids bits from userspace
 * @uptr: user pointer to DIV_ROUND_UP(nr_cpu_ids, 64) __u64 words
 * @bits: a bitmap of nr_cpu_ids bits
 *
 * Context: process context, may sleep.
 * Return: 0; -EFAULT; -EINVAL when a bit names a CPU that is not possible.
 */
static int gpusched_get_bitmap(u64 uptr, unsigned long *bits)
{
	unsigned int words = DIV_ROUND_UP(nr_cpu_ids, 64);
	int ret = 0;
	u64 *tmp;

	tmp = kcalloc(words, sizeof(u64), GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	if (copy_from_user(tmp, u64_to_user_ptr(uptr), words * sizeof(u64))) {
		ret = -EFAULT;
		goto out;
	}
	if (nr_cpu_ids % 64 && tmp[words - 1] >> (nr_cpu_ids % 64)) {
		ret = -EINVAL;
		goto out;
	}
	bitmap_from_arr64(bits, tmp, nr_cpu_ids);
	if (!bitmap_subset(bits, cpumask_bits(cpu_possible_mask), nr_cpu_ids))
		ret = -EINVAL;
out:
	kfree(tmp);
	return ret;
}

/**
 * gpusched_put_bitmap() - write a CPU mask of nr_cpu_ids bits to userspace
 * @uptr: user pointer to DIV_ROUND_UP(nr_cpu_ids, 64) __u64 words
 * @bits: a bitmap of nr_cpu_ids bits
 *
 * Context: process context, may sleep.
 * Return: 0, -ENOMEM or -EFAULT.
 */
int gpusched_put_bitmap(u64 uptr, const unsigned long *bits)
{
	unsigned int words = DIV_ROUND_UP(nr_cpu_ids, 64);
	int ret = 0;
	u64 *tmp;

	tmp = kcalloc(words, sizeof(u64), GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	bitmap_to_arr64(tmp, bits, nr_cpu_ids);
	if (copy_to_user(u64_to_user_ptr(uptr), tmp, words * sizeof(u64)))
		ret = -EFAULT;
	kfree(tmp);
	return ret;
}

/**
 * gpusched_probe_user_bitmap() - check that a CPU mask can be written back
 * @uptr: user pointer to DIV_ROUND_UP(nr_cpu_ids, 64) __u64 words
 *
 * Reads the words and writes the same bytes back, so that a command can
 * fail on an unwritable answer before it changes anything, and leaves the
 * caller's buffer as it was either way.
 *
 * Context: process context, may sleep.
 * Return: 0, -ENOMEM or -EFAULT.
 */
int gpusched_probe_user_bitmap(u64 uptr)
{
	size_t len = DIV_ROUND_UP(nr_cpu_ids, 64) * sizeof(u64);
	int ret = 0;
	void *tmp;

	tmp = kmalloc(len, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	if (copy_from_user(tmp, u64_to_user_ptr(uptr), len) ||
	    copy_to_user(u64_to_user_ptr(uptr), tmp, len))
		ret = -EFAULT;
	kfree(tmp);
	return ret;
}

/*
 * A GPU record may grow like a command struct, but never past a page: the
 * bound keeps every offset of the array far inside size_t.
 */
static bool gpusched_entry_size_ok(u32 entry_size)
{
	return entry_size >= offsetofend(struct gpusched_gpu, uuid) && entry_size <= PAGE_SIZE;
}

/* The GPU array, entry by entry, each one size-checked like a command. */
static int gpusched_read_gpus(const struct gpusched_topology *args,
			      struct gpusched_table *topo)
{
	void __user *entries = u64_to_user_ptr(args->gpus);
	struct gs_gpu *engine_gpus = (struct gs_gpu *)topo->engine.gpus;
	struct gpusched_gpu in;
	u32 i, j;
	int ret;

	for (i = 0; i < args->nr_gpus; i++) {
		ret = copy_struct_from_user(&in, sizeof(in),
					    entries + (size_t)i * args->gpu_entry_size,
					    args->gpu_entry_size);
		if (ret)
			return ret;
		ret = gpusched_resolve_gpu(&in, i, &topo->gpus[i]);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			if (topo->gpus[j].domain == in.domain && topo->gpus[j].bus == in.bus &&
			    topo->gpus[j].devfn == in.devfn) {
				pr_err_ratelimited("topology: GPUs %u and %u are the same PCI function\n",
						   j, i);
				return -EINVAL;
			}
		}
		engine_gpus[i].cpu_node = topo->gpus[i].node;
		engine_gpus[i].mem_node = topo->gpus[i].mem_node;
	}
	return 0;
}

static u32 *gpusched_read_llc(const struct gpusched_topology *args)
{
	u32 *llc;

	llc = kvmalloc_array(nr_cpu_ids, sizeof(u32), GFP_KERNEL);
	if (!llc)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(llc, u64_to_user_ptr(args->llc), nr_cpu_ids * sizeof(u32))) {
		kvfree(llc);
		return ERR_PTR(-EFAULT);
	}
	return llc;
}

/* Builds a complete table from the command; nothing is published. */
static struct gpusched_table *gpusched_build_table(const struct gpusched_topology *args)
{
	struct gpusched_table *topo;
	struct gs_error error;
	u32 *llc = NULL;
	int ret;

	topo = gpusched_table_alloc(args->nr_gpus);
	if (!topo)
		return ERR_PTR(-ENOMEM);
	ret = gpusched_read_gpus(args, topo);
	if (ret)
		goto err_free;
	if (args->housekeeping) {
		ret = gpusched_get_bitmap(args->housekeeping, topo->housekeeping);
		if (ret)
			goto err_free;
	}
	if (args->llc) {
		llc = gpusched_read_llc(args);
		if (IS_ERR(llc)) {
			ret = PTR_ERR(llc);
			goto err_free;
		}
	}
	/* The kernel's core and package masks must not change while read. */
	cpus_read_lock();
	gpusched_fill_cpus(topo, llc);
	ret = gs_topology_validate(&topo->engine, &error);
	cpus_read_unlock();
	kvfree(llc);
	if (ret) {
		pr_err_ratelimited("topology: refused, %s (subject %u)\n",
				   gs_reason_name(error.reason), error.subject);
		goto err_free;
	}
	return topo;

err_free:
	kvfree(topo);
	return ERR_PTR(ret);
}

/**
 * gpusched_set_topology() - GPUSCHED_IOC_SET_TOPOLOGY
 * @file: the caller's open file
 * @ucmd: the command; its struct gpusched_topology is copied in
 *
 * Context: process context; takes gpusched_topology_lock, then gpusched_lock.
 * Writes the answer under gpusched_topology_lock, before the new table is
 * published.
 * Return: 0 with the new table published, or a negative errno with the
 * previous table untouched (-EFAULT when the answer could not be written).
 */
int gpusched_set_topology(struct file *file, struct gpusched_ucmd *ucmd)
{
	struct gpusched_topology *args = ucmd->cmd;
	struct gpusched_table *topo, *old;
	u32 old_nr_gpus;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (args->flags || args->__reserved)
		return -EINVAL;
	if (args->nr_gpus > GPUSCHED_MAX_GPUS || args->nr_cpus != nr_cpu_ids)
		return -EINVAL;
	if (args->nr_gpus && !gpusched_entry_size_ok(args->gpu_entry_size))
		return -EINVAL;

	topo = gpusched_build_table(args);
	if (IS_ERR(topo))
		return PTR_ERR(topo);

	mutex_lock(&gpusched_topology_lock);
	old = rcu_dereference_protected(gpusched_current_table,
					lockdep_is_held(&gpusched_topology_lock));
	old_nr_gpus = old ? old->nr_gpus : 0;
	/* New sysfs directories first: failing there must leave everything as it was. */
	if (topo->nr_gpus > old_nr_gpus) {
		ret = gpusched_sysfs_resize_gpus(topo->nr_gpus);
		if (ret)
			goto err_unlock;
	}
	/* The answer, while the table can still be given up. */
	args->generation = gpusched_generation + 1;
	ret = gpusched_ucmd_respond(ucmd);
	if (ret) {
		if (topo->nr_gpus > old_nr_gpus)
			gpusched_sysfs_resize_gpus(old_nr_gpus);
		goto err_unlock;
	}
	topo->generation = ++gpusched_generation;
	mutex_lock(&gpusched_lock);
	rcu_assign_pointer(gpusched_current_table, topo);
	gpusched_pins_carry_over(old, topo);
	mutex_unlock(&gpusched_lock);
	if (topo->nr_gpus < old_nr_gpus)
		gpusched_sysfs_resize_gpus(topo->nr_gpus);
	mutex_unlock(&gpusched_topology_lock);

	if (old)
		kvfree_rcu(old, rcu);
	pr_info("topology %llu: %u GPUs\n", topo->generation, topo->nr_gpus);
	return 0;

err_unlock:
	mutex_unlock(&gpusched_topology_lock);
	kvfree(topo);
	return ret;
}

/* What GET_TOPOLOGY copies out, taken under gpusched_lock, written after. */
struct gpusched_topology_copy {
	u64 generation;
	u32 nr_gpus;
	struct gpusched_gpu *gpus;
	u32 *llc;
	unsigned long *housekeeping;
};

static void gpusched_copy_free(struct gpusched_topology_copy *copy)
{
	kvfree(copy->gpus);
	kvfree(copy->llc);
	bitmap_free(copy->housekeeping);
}

static int gpusched_copy_table(const struct gpusched_table *topo,
			       struct gpusched_topology_copy *copy)
{
	unsigned int cpu;
	u32 i;

	copy->generation = topo->generation;
	copy->nr_gpus = topo->nr_gpus;
	copy->gpus = kvcalloc(topo->nr_gpus, sizeof(*copy->gpus), GFP_KERNEL);
	copy->llc = kvcalloc(nr_cpu_ids, sizeof(*copy->llc), GFP_KERNEL);
	copy->housekeeping = bitmap_zalloc(nr_cpu_ids, GFP_KERNEL);
	if ((topo->nr_gpus && !copy->gpus) || !copy->llc || !copy->housekeeping)
		return -ENOMEM;

	for (i = 0; i < topo->nr_gpus; i++) {
		const struct gpusched_gpu_rec *rec = &topo->gpus[i];
		struct gpusched_gpu *out = &copy->gpus[i];

		out->domain = rec->domain;
		out->bus = rec->bus;
		out->devfn = rec->devfn;
		out->node = rec->node;
		out->mem_node = rec->mem_node == rec->node ? GPUSCHED_NODE_ANY : rec->mem_node;
		memcpy(out->uuid, rec->uuid, sizeof(out->uuid));
	}
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		copy->llc[cpu] = topo->cpus[cpu].llc;
	bitmap_copy(copy->housekeeping, topo->housekeeping, nr_cpu_ids);
	return 0;
}

static int gpusched_put_gpus(const struct gpusched_topology *args,
			     const struct gpusched_topology_copy *copy)
{
	void __user *entries = u64_to_user_ptr(args->gpus);
	size_t len = min_t(size_t, args->gpu_entry_size, sizeof(struct gpusched_gpu));
	u32 i;

	for (i = 0; i < copy->nr_gpus; i++) {
		void __user *entry = entries + (size_t)i * args->gpu_entry_size;

		if (copy_to_user(entry, &copy->gpus[i], len))
			return -EFAULT;
		if (args->gpu_entry_size > len &&
		    clear_user(entry + len, args->gpu_entry_size - len))
			return -EFAULT;
	}
	return 0;
}

/**
 * gpusched_get_topology() - GPUSCHED_IOC_GET_TOPOLOGY
 * @file: the caller's open file
 * @ucmd: the command; its struct gpusched_topology is copied in
 *
 * Context: process context; copies the table under gpusched_lock and
 * writes it to userspace after dropping it, so that a caller whose buffer
 * faults slowly holds up nobody.
 * Return: 0; -EMSGSIZE with the needed counts in the struct; -EINVAL; -EFAULT;
 * -ENOMEM.
 */
int gpusched_get_topology(struct file *file, struct gpusched_ucmd *ucmd)
{
	struct gpusched_topology_copy copy = {};
	struct gpusched_topology *args = ucmd->cmd;
	const struct gpusched_table *topo;
	int ret = 0;

	if (args->flags || args->__reserved)
		return -EINVAL;
	if (args->nr_gpus && !gpusched_entry_size_ok(args->gpu_entry_size))
		return -EINVAL;

	mutex_lock(&gpusched_lock);
	topo = rcu_dereference_protected(gpusched_current_table,
					 lockdep_is_held(&gpusched_lock));
	if (topo)
		ret = gpusched_copy_table(topo, &copy);
	mutex_unlock(&gpusched_lock);
	if (ret)
		goto out;

	if (args->nr_gpus < copy.nr_gpus ||
	    ((args->llc || args->housekeeping) && args->nr_cpus < nr_cpu_ids)) {
		args->nr_gpus = copy.nr_gpus;
		args->nr_cpus = nr_cpu_ids;
		ret = -EMSGSIZE;
		goto out;
	}
	args->nr_gpus = copy.nr_gpus;
	args->nr_cpus = nr_cpu_ids;
	args->generation = copy.generation;
	if (!topo)
		goto out;
	ret = gpusched_put_gpus(args, &copy);
	if (!ret && args->llc &&
	    copy_to_user(u64_to_user_ptr(args->llc), copy.llc, nr_cpu_ids * sizeof(u32)))
		ret = -EFAULT;
	if (!ret && args->housekeeping)
		ret = gpusched_put_bitmap(args->housekeeping, copy.housekeeping);
out:
	gpusched_copy_free(&copy);
	return ret;
}

/**
 * gpusched_topology_exit() - free the current table at module exit
 *
 * Context: module exit, after the device and sysfs are gone.
 */
void gpusched_topology_exit(void)
{
	struct gpusched_table *topo;

	topo = rcu_dereference_protected(gpusched_current_table, 1);
	RCU_INIT_POINTER(gpusched_current_table, NULL);
	if (topo)
		kvfree_rcu(topo, rcu);
}

