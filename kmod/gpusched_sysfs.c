// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/gpusched: what an administrator reads about the module.  One
 * value per file; every file is described in
 * Documentation/ABI/testing/sysfs-kernel-gpusched.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "gpusched.h"

/*
 * Created by gpusched_sysfs_init() and dropped by gpusched_sysfs_exit();
 * module init and exit never run concurrently, so it needs no lock.
 */
static struct kobject *gpusched_kobj;

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", GPUSCHED_VERSION);
}

static struct kobj_attribute version_attr = __ATTR_RO(version);

static struct attribute *gpusched_root_attrs[] = {
	&version_attr.attr,
	NULL,
};

static const struct attribute_group gpusched_root_group = {
	.attrs = gpusched_root_attrs,
};

/**
 * gpusched_sysfs_init() - create /sys/kernel/gpusched and its files
 *
 * Context: module init, process context.
 * Return: 0, or a negative errno with nothing left behind.
 */
int gpusched_sysfs_init(void)
{
	int ret;

	gpusched_kobj = kobject_create_and_add("gpusched", kernel_kobj);
	if (!gpusched_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(gpusched_kobj, &gpusched_root_group);
	if (ret)
		goto err_put;
	return 0;

err_put:
	kobject_put(gpusched_kobj);
	gpusched_kobj = NULL;
	return ret;
}

/**
 * gpusched_sysfs_exit() - remove /sys/kernel/gpusched
 *
 * Context: module exit, process context, after the device is gone.
 */
void gpusched_sysfs_exit(void)
{
	sysfs_remove_group(gpusched_kobj, &gpusched_root_group);
	kobject_put(gpusched_kobj);
	gpusched_kobj = NULL;
}
