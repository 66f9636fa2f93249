// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/gpusched: what an administrator reads about the module.  One
 * value per file; every file is described in
 * Documentation/ABI/testing/sysfs-kernel-gpusched.
 *
 * gpus/gpuN exists for every GPU of the current topology.  A directory
 * holds only its index and reads the current table when a file is read, so
 * a topology update never has to rewrite directories: SET_TOPOLOGY adds the
 * missing ones before it publishes a larger table and removes the extra
 * ones after it published a smaller one.  A file of a directory about to go
 * reads as ENODEV.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/topology.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/*
 * The sysfs tree.  gpusched_kobj and gpusched_gpus_kobj live from init to
 * exit.  gpusched_gpu_dirs[0..gpusched_nr_gpu_dirs) are changed only by
 * gpusched_sysfs_resize_gpus(), whose callers hold gpusched_topology_lock,
 * and by init/exit.  Readers of files never touch these variables.
 */
static struct kobject *gpusched_kobj;
static struct kobject *gpusched_gpus_kobj;
static struct gpusched_gpu_dir **gpusched_gpu_dirs;
static u32 gpusched_nr_gpu_dirs;

/**
 * struct gpusched_gpu_dir - /sys/kernel/gpusched/gpus/gpuN
 * @kobj: the directory
 * @index: N, the GPU's index in the topology
 */
struct gpusched_gpu_dir {
	struct kobject kobj;
	u32 index;
};

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", GPUSCHED_VERSION);
}

static ssize_t nr_gpus_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_table *table;
	u32 nr;

	rcu_read_lock();
	table = rcu_dereference(gpusched_current_table);
	nr = table ? table->nr_gpus : 0;
	rcu_read_unlock();
	return sysfs_emit(buf, "%u\n", nr);
}

static ssize_t nr_pinned_tasks_show(struct kobject *kobj, struct kobj_attribute *attr,
				    char *buf)
{
	return sysfs_emit(buf, "%u\n", gpusched_nr_pinned_threads());
}

static ssize_t default_policy_show(struct kobject *kobj, struct kobj_attribute *attr,
				   char *buf)
{
	return sysfs_emit(buf, "%s\n", gs_policy_name(gpusched_default_policy()));
}

static ssize_t default_policy_store(struct kobject *kobj, struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	int ret = gpusched_set_default_policy(buf);

	return ret ? ret : count;
}

static ssize_t max_reserved_cpus_per_user_show(struct kobject *kobj,
					       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", gpusched_max_reserved_cpus_per_user());
}

static ssize_t max_reserved_cpus_per_user_store(struct kobject *kobj,
						struct kobj_attribute *attr,
						const char *buf, size_t count)
{
	unsigned int limit;
	int ret = kstrtouint(buf, 10, &limit);

	if (ret)
		return ret;
	gpusched_set_max_reserved_cpus_per_user(limit);
	return count;
}

static ssize_t nr_broken_pins_show(struct kobject *kobj, struct kobj_attribute *attr,
				   char *buf)
{
	return sysfs_emit(buf, "%u\n", gpusched_nr_pins_in_state(true));
}

static ssize_t nr_fallback_pins_show(struct kobject *kobj, struct kobj_attribute *attr,
				     char *buf)
{
	return sysfs_emit(buf, "%u\n", gpusched_nr_pins_in_state(false));
}

static ssize_t watch_interval_ms_show(struct kobject *kobj, struct kobj_attribute *attr,
				      char *buf)
{
	return sysfs_emit(buf, "%u\n", gpusched_watch_interval_ms());
}

static ssize_t watch_interval_ms_store(struct kobject *kobj, struct kobj_attribute *attr,
				       const char *buf, size_t count)
{
	unsigned int ms;
	int ret = kstrtouint(buf, 10, &ms);

	if (!ret)
		ret = gpusched_set_watch_interval_ms(ms);
	return ret ? ret : count;
}

static struct kobj_attribute version_attr = __ATTR_RO(version);
static struct kobj_attribute nr_gpus_attr = __ATTR_RO(nr_gpus);
static struct kobj_attribute nr_pinned_tasks_attr = __ATTR_RO(nr_pinned_tasks);
static struct kobj_attribute default_policy_attr = __ATTR_RW(default_policy);
static struct kobj_attribute max_reserved_cpus_per_user_attr =
	__ATTR_RW(max_reserved_cpus_per_user);
static struct kobj_attribute nr_broken_pins_attr = __ATTR_RO(nr_broken_pins);
static struct kobj_attribute nr_fallback_pins_attr = __ATTR_RO(nr_fallback_pins);
static struct kobj_attribute watch_interval_ms_attr = __ATTR_RW(watch_interval_ms);

static struct attribute *gpusched_root_attrs[] = {
	&version_attr.attr,
	&nr_gpus_attr.attr,
	&nr_pinned_tasks_attr.attr,
	&default_policy_attr.attr,
	&max_reserved_cpus_per_user_attr.attr,
	&nr_broken_pins_attr.attr,
	&nr_fallback_pins_attr.attr,
	&watch_interval_ms_attr.attr,
	NULL,
};

static const struct attribute_group gpusched_root_group = {
	.attrs = gpusched_root_attrs,
};

static u32 gpusched_dir_index(struct kobject *kobj)
{
	return container_of(kobj, struct gpusched_gpu_dir, kobj)->index;
}

/* A copy of GPU @index of the current table, or -ENODEV. */
static int gpusched_dir_gpu(struct kobject *kobj, struct gpusched_gpu_rec *rec)
{
	struct gpusched_table *table;
	u32 index = gpusched_dir_index(kobj);
	int ret = -ENODEV;

	rcu_read_lock();
	table = rcu_dereference(gpusched_current_table);
	if (table && index < table->nr_gpus) {
		*rec = table->gpus[index];
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}

static ssize_t pci_address_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_gpu_rec rec;
	int ret = gpusched_dir_gpu(kobj, &rec);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%04x:%02x:%02x.%x\n", rec.domain, rec.bus,
			  PCI_SLOT(rec.devfn), PCI_FUNC(rec.devfn));
}

static ssize_t numa_node_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_gpu_rec rec;
	int ret = gpusched_dir_gpu(kobj, &rec);

	return ret ? ret : sysfs_emit(buf, "%u\n", rec.node);
}

static ssize_t memory_node_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_gpu_rec rec;
	int ret = gpusched_dir_gpu(kobj, &rec);

	return ret ? ret : sysfs_emit(buf, "%u\n", rec.mem_node);
}

/*
 * The node's online CPUs: powerpc keeps offline CPUs in cpumask_of_node(),
 * and a CPU that is offline is no CPU a pin can use.
 */
static ssize_t local_cpus_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_gpu_rec rec;
	cpumask_var_t mask;
	int ret;

	ret = gpusched_dir_gpu(kobj, &rec);
	if (ret)
		return ret;
	if (!alloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	cpumask_and(mask, cpumask_of_node(rec.node), cpu_online_mask);
	ret = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(mask));
	free_cpumask_var(mask);
	return ret;
}

static ssize_t reserved_cpus_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_gpu_rec rec;
	cpumask_var_t mask;
	int ret;

	ret = gpusched_dir_gpu(kobj, &rec);
	if (ret)
		return ret;
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	gpusched_gpu_reserved_cpus(gpusched_dir_index(kobj), mask);
	ret = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(mask));
	free_cpumask_var(mask);
	return ret;
}

static ssize_t nr_tasks_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct gpusched_gpu_rec rec;
	int ret = gpusched_dir_gpu(kobj, &rec);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%u\n", gpusched_gpu_nr_threads(gpusched_dir_index(kobj)));
}

static struct kobj_attribute pci_address_attr = __ATTR_RO(pci_address);
static struct kobj_attribute numa_node_attr = __ATTR_RO(numa_node);
static struct kobj_attribute memory_node_attr = __ATTR_RO(memory_node);
static struct kobj_attribute local_cpus_attr = __ATTR_RO(local_cpus);
static struct kobj_attribute reserved_cpus_attr = __ATTR_RO(reserved_cpus);
static struct kobj_attribute nr_tasks_attr = __ATTR_RO(nr_tasks);

static struct attribute *gpusched_gpu_attrs[] = {
	&pci_address_attr.attr,
	&numa_node_attr.attr,
	&memory_node_attr.attr,
	&local_cpus_attr.attr,
	&reserved_cpus_attr.attr,
	&nr_tasks_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(gpusched_gpu);

static void gpusched_gpu_dir_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct gpusched_gpu_dir, kobj));
}

static const struct kobj_type gpusched_gpu_ktype = {
	.release = gpusched_gpu_dir_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = gpusched_gpu_groups,
};

static int gpusched_add_gpu_dir(u32 index)
{
	struct gpusched_gpu_dir *dir;
	int ret;

	dir = kzalloc(sizeof(*dir), GFP_KERNEL);
	if (!dir)
		return -ENOMEM;
	dir->index = index;
	ret = kobject_init_and_add(&dir->kobj, &gpusched_gpu_ktype, gpusched_gpus_kobj,
				   "gpu%u", index);
	if (ret) {
		kobject_put(&dir->kobj);
		return ret;
	}
	gpusched_gpu_dirs[index] = dir;
	return 0;
}

static void gpusched_remove_gpu_dirs(u32 from)
{
	while (gpusched_nr_gpu_dirs > from) {
		struct gpusched_gpu_dir *dir = gpusched_gpu_dirs[--gpusched_nr_gpu_dirs];

		gpusched_gpu_dirs[gpusched_nr_gpu_dirs] = NULL;
		kobject_put(&dir->kobj);
	}
}

/**
 * gpusched_sysfs_resize_gpus() - make gpus/ hold exactly gpu0..gpu@nr_gpus-1
 * @nr_gpus: number of directories wanted, at most GPUSCHED_MAX_GPUS
 *
 * Context: process context; the caller holds gpusched_topology_lock and
 * must not hold gpusched_lock, which readers of the files take (removing a
 * directory waits for them).
 * Return: 0, or a negative errno with the directories as they were.
 */
int gpusched_sysfs_resize_gpus(u32 nr_gpus)
{
	u32 before = gpusched_nr_gpu_dirs;
	int ret;

	lockdep_assert_held(&gpusched_topology_lock);
	while (gpusched_nr_gpu_dirs < nr_gpus) {
		ret = gpusched_add_gpu_dir(gpusched_nr_gpu_dirs);
		if (ret) {
			gpusched_remove_gpu_dirs(before);
			return ret;
		}
		gpusched_nr_gpu_dirs++;
	}
	gpusched_remove_gpu_dirs(nr_gpus);
	return 0;
}

/**
 * gpusched_sysfs_init() - create /sys/kernel/gpusched and its files
 *
 * Context: module init, process context.
 * Return: 0, or a negative errno with nothing left behind.
 */
int gpusched_sysfs_init(void)
{
	int ret = -ENOMEM;

	gpusched_gpu_dirs = kcalloc(GPUSCHED_MAX_GPUS, sizeof(*gpusched_gpu_dirs), GFP_KERNEL);
	if (!gpusched_gpu_dirs)
		return -ENOMEM;
	gpusched_kobj = kobject_create_and_add("gpusched", kernel_kobj);
	if (!gpusched_kobj)
		goto err_dirs;
	ret = sysfs_create_group(gpusched_kobj, &gpusched_root_group);
	if (ret)
		goto err_put;
	gpusched_gpus_kobj = kobject_create_and_add("gpus", gpusched_kobj);
	if (!gpusched_gpus_kobj) {
		ret = -ENOMEM;
		goto err_group;
	}
	return 0;

err_group:
	sysfs_remove_group(gpusched_kobj, &gpusched_root_group);
err_put:
	kobject_put(gpusched_kobj);
	gpusched_kobj = NULL;
err_dirs:
	kfree(gpusched_gpu_dirs);
	return ret;
}

/**
 * gpusched_sysfs_exit() - remove /sys/kernel/gpusched
 *
 * Context: module exit, process context, after the device is gone.
 */
void gpusched_sysfs_exit(void)
{
	gpusched_remove_gpu_dirs(0);
	kobject_put(gpusched_gpus_kobj);
	sysfs_remove_group(gpusched_kobj, &gpusched_root_group);
	kobject_put(gpusched_kobj);
	gpusched_kobj = NULL;
	kfree(gpusched_gpu_dirs);
}
