// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched: GPU-aware CPU placement for AI-training workers.
 *
 * This file owns the misc device /dev/gpusched and the dispatch of its
 * ioctls.  Commands follow one pattern (iommufd's): the first __u32 of the
 * argument is its size, the op table says the smallest size each command
 * accepts, copy_struct_from_user() zero-fills a short struct and refuses a
 * non-zero tail it does not know, and results go back for at most the size
 * the caller sent.  A launcher built against an older or newer header keeps
 * working.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/* Every command's argument; the dispatcher copies it in here. */
union gpusched_ucmd_buffer {
	struct gpusched_get_info get_info;
};

/* Indexed by _IOC_NR(); every command is _IO(GPUSCHED_TYPE, nr). */
struct gpusched_ioctl_op {
	unsigned int size;	/* what this module knows of the struct */
	unsigned int min_size;	/* offsetofend() of its last version 1 field */
	int (*execute)(struct file *file, void *cmd);
};

#define GPUSCHED_IOCTL_OP(_cmd, _fn, _struct, _last)			\
	[(_cmd) - GPUSCHED_CMD_BASE] = {					\
		.size = sizeof(_struct) +					\
			BUILD_BUG_ON_ZERO(sizeof(union gpusched_ucmd_buffer) <	\
					  sizeof(_struct)),			\
		.min_size = offsetofend(_struct, _last),			\
		.execute = _fn,							\
	}

static int gpusched_get_info(struct file *file, void *cmd)
{
	struct gpusched_get_info *info = cmd;

	if (info->flags || info->__reserved)
		return -EINVAL;

	info->abi_version = GPUSCHED_ABI_VERSION;
	info->nr_cpu_ids = nr_cpu_ids;
	info->nr_node_ids = nr_node_ids;
	info->features = 0;
	return 0;
}

static const struct gpusched_ioctl_op gpusched_ioctl_ops[] = {
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_GET_INFO, gpusched_get_info,
			  struct gpusched_get_info, features),
};

static long gpusched_fops_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct gpusched_ioctl_op *op;
	union gpusched_ucmd_buffer buf;
	unsigned int nr = _IOC_NR(cmd);
	u32 user_size;
	int ret;

	/* Also refuses the right number with direction or size bits set. */
	if (cmd != _IO(GPUSCHED_TYPE, nr) || nr < GPUSCHED_CMD_BASE ||
	    nr - GPUSCHED_CMD_BASE >= ARRAY_SIZE(gpusched_ioctl_ops))
		return -ENOTTY;
	op = &gpusched_ioctl_ops[nr - GPUSCHED_CMD_BASE];
	if (!op->execute)
		return -ENOTTY;

	if (get_user(user_size, (u32 __user *)uarg))
		return -EFAULT;
	if (user_size < op->min_size)
		return -EINVAL;

	/* Zero-fills what a short struct lacks; -E2BIG on an unknown non-zero tail. */
	ret = copy_struct_from_user(&buf, op->size, uarg, user_size);
	if (ret)
		return ret;

	ret = op->execute(file, &buf);
	if (ret)
		return ret;

	if (copy_to_user(uarg, &buf, min_t(u32, user_size, op->size)))
		return -EFAULT;
	return 0;
}

static const struct file_operations gpusched_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = gpusched_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * World-accessible on purpose: each command checks the caller's rights
 * itself, the way sched_setaffinity() does, so that unprivileged launchers
 * can pin their own workers.
 */
static struct miscdevice gpusched_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gpusched",
	.fops = &gpusched_fops,
	.mode = 0666,
};

static int __init gpusched_init(void)
{
	int ret;

	ret = gpusched_sysfs_init();
	if (ret)
		return ret;

	/* Last: once the device exists, userspace can call in. */
	ret = misc_register(&gpusched_miscdev);
	if (ret)
		goto err_sysfs;

	pr_info("version %s loaded, ABI %d\n", GPUSCHED_VERSION,
		GPUSCHED_ABI_VERSION);
	return 0;

err_sysfs:
	gpusched_sysfs_exit();
	return ret;
}

static void __exit gpusched_exit(void)
{
	misc_deregister(&gpusched_miscdev);
	gpusched_sysfs_exit();
}

module_init(gpusched_init);
module_exit(gpusched_exit);

MODULE_DESCRIPTION("GPU-aware CPU placement for AI-training workers");
MODULE_AUTHOR("The gpusched developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(GPUSCHED_VERSION);
