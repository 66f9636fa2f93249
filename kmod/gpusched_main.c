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
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/*
 * The policy GPUSCHED_POLICY_DEFAULT stands for: module parameter
 * default_policy and /sys/kernel/gpusched/default_policy.  Read and written
 * whole, so READ_ONCE/WRITE_ONCE are all the locking it needs.
 */
static u32 gpusched_default_policy_value = GS_POLICY_NODE;

/**
 * gpusched_default_policy() - the policy GPUSCHED_POLICY_DEFAULT stands for
 *
 * Context: any.
 * Return: a GPUSCHED_POLICY_* value other than GPUSCHED_POLICY_DEFAULT.
 */
u32 gpusched_default_policy(void)
{
	return READ_ONCE(gpusched_default_policy_value);
}

/**
 * gpusched_set_default_policy() - change the default policy by name
 * @name: a policy keyword ("node", "socket", "exclusive", "l3", "single"),
 *	optionally followed by a newline
 *
 * Context: any sleepable context.
 * Return: 0, or -EINVAL for a name that is not a policy.
 */
int gpusched_set_default_policy(const char *name)
{
	u32 policy;

	for (policy = GS_POLICY_NODE; policy <= GS_POLICY_SINGLE; policy++) {
		if (sysfs_streq(name, gs_policy_name(policy))) {
			WRITE_ONCE(gpusched_default_policy_value, policy);
			return 0;
		}
	}
	return -EINVAL;
}

static int gpusched_param_set_policy(const char *val, const struct kernel_param *kp)
{
	return gpusched_set_default_policy(val);
}

static int gpusched_param_get_policy(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n", gs_policy_name(gpusched_default_policy()));
}

static const struct kernel_param_ops gpusched_policy_param_ops = {
	.set = gpusched_param_set_policy,
	.get = gpusched_param_get_policy,
};
module_param_cb(default_policy, &gpusched_policy_param_ops, NULL, 0644);
MODULE_PARM_DESC(default_policy,
		 "Policy of pins that ask for the default: node (default), socket, exclusive, l3 or single");

/*
 * The most CPUs one user without CAP_SYS_NICE may hold in exclusive pins,
 * over every file; 0 for no limit.  Module parameter
 * max_reserved_cpus_per_user and /sys/kernel/gpusched/max_reserved_cpus_per_user.
 * Read and written whole: READ_ONCE/WRITE_ONCE.
 */
static unsigned int gpusched_max_user_cpus;
module_param_named(max_reserved_cpus_per_user, gpusched_max_user_cpus, uint, 0644);
MODULE_PARM_DESC(max_reserved_cpus_per_user,
		 "CPUs one user without CAP_SYS_NICE may hold in exclusive pins; 0 (default) for no limit");

/**
 * gpusched_max_reserved_cpus_per_user() - the per-user limit on held CPUs
 *
 * Context: any.
 * Return: the limit, 0 when there is none.
 */
unsigned int gpusched_max_reserved_cpus_per_user(void)
{
	return READ_ONCE(gpusched_max_user_cpus);
}

/**
 * gpusched_set_max_reserved_cpus_per_user() - change the per-user limit
 * @limit: CPUs, 0 for no limit
 *
 * Pins already made keep what they hold; the limit applies to new ones.
 *
 * Context: any.
 */
void gpusched_set_max_reserved_cpus_per_user(unsigned int limit)
{
	WRITE_ONCE(gpusched_max_user_cpus, limit);
}

/* Every command's argument; the dispatcher copies it in here. */
union gpusched_ucmd_buffer {
	struct gpusched_get_info get_info;
	struct gpusched_topology topology;
	struct gpusched_pin pin;
	struct gpusched_unpin unpin;
	struct gpusched_query query;
};

/* Indexed by _IOC_NR(); every command is _IO(GPUSCHED_TYPE, nr). */
struct gpusched_ioctl_op {
	unsigned int size;	/* what this module knows of the struct */
	unsigned int min_size;	/* offsetofend() of its last version 1 field */
	int (*execute)(struct file *file, struct gpusched_ucmd *ucmd);
};

#define GPUSCHED_IOCTL_OP(_cmd, _fn, _struct, _last)			\
	[(_cmd) - GPUSCHED_CMD_BASE] = {					\
		.size = sizeof(_struct) +					\
			BUILD_BUG_ON_ZERO(sizeof(union gpusched_ucmd_buffer) <	\
					  sizeof(_struct)),			\
		.min_size = offsetofend(_struct, _last),			\
		.execute = _fn,							\
	}

static int gpusched_get_info(struct file *file, struct gpusched_ucmd *ucmd)
{
	struct gpusched_get_info *info = ucmd->cmd;
	struct gpusched_table *table;

	if (info->flags || info->__reserved || info->__reserved2)
		return -EINVAL;

	info->abi_version = GPUSCHED_ABI_VERSION;
	info->nr_cpu_ids = nr_cpu_ids;
	info->nr_node_ids = nr_node_ids;
	info->features = GPUSCHED_FEATURE_PIN_STATE;
	info->max_gpus = GPUSCHED_MAX_GPUS;
	info->default_policy = gpusched_default_policy();
	rcu_read_lock();
	table = rcu_dereference(gpusched_current_table);
	info->nr_gpus = table ? table->nr_gpus : 0;
	info->generation = table ? table->generation : 0;
	rcu_read_unlock();
	return 0;
}

static const struct gpusched_ioctl_op gpusched_ioctl_ops[] = {
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_GET_INFO, gpusched_get_info,
			  struct gpusched_get_info, features),
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_SET_TOPOLOGY, gpusched_set_topology,
			  struct gpusched_topology, generation),
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_GET_TOPOLOGY, gpusched_get_topology,
			  struct gpusched_topology, generation),
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_PIN, gpusched_pin, struct gpusched_pin, __reserved),
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_UNPIN, gpusched_unpin, struct gpusched_unpin, __reserved),
	GPUSCHED_IOCTL_OP(GPUSCHED_CMD_QUERY, gpusched_query, struct gpusched_query,
			  original_cpus),
};

/**
 * gpusched_ucmd_respond() - write a command's answer back to the caller
 * @ucmd: the command
 *
 * For the commands that change state: called while the change can still
 * be given up, so that a failure here leaves nothing changed.
 *
 * Context: process context; may fault in user memory, so no spinlock held.
 * Return: 0, or -EFAULT.
 */
int gpusched_ucmd_respond(struct gpusched_ucmd *ucmd)
{
	if (copy_to_user(ucmd->uarg, ucmd->cmd, min(ucmd->user_size, ucmd->size)))
		return -EFAULT;
	ucmd->responded = true;
	return 0;
}

/**
 * gpusched_ucmd_respond_nofault() - write an answer under a lock
 * @ucmd: the command, whose buffer the dispatcher proved writable before
 *	the command ran (it wrote back the caller's own bytes)
 *
 * For a command that answers under cpus_read_lock() and gpusched_lock: a
 * page fault there could wait for as long as a FUSE server likes, holding
 * off CPU hotplug and every pin.  With faults disabled, a buffer unmapped
 * or paged out since it was proven writable fails the command instead.
 *
 * Context: process context, any lock but a spinlock held.
 * Return: 0, or -EFAULT.
 */
int gpusched_ucmd_respond_nofault(struct gpusched_ucmd *ucmd)
{
	int ret;

	pagefault_disable();
	ret = gpusched_ucmd_respond(ucmd);
	pagefault_enable();
	return ret;
}

/*
 * Makes sure the answer can be written back before anything changes:
 * rewriting the caller's own bytes is invisible, and a read-only struct
 * fails here with nothing done.  The struct is smaller than a page, so it
 * spans two pages at most, and its first and last bytes stand for all of
 * it: a byte each is what a copy of the whole struct proved, for two
 * user accesses instead of a checked copy.
 */
static int gpusched_probe_answer(void __user *uarg, const union gpusched_ucmd_buffer *buf,
				 u32 size)
{
	const u8 *bytes = (const u8 *)buf;
	u8 __user *ubytes = uarg;

	BUILD_BUG_ON(sizeof(*buf) > PAGE_SIZE);
	if (put_user(bytes[0], ubytes) || put_user(bytes[size - 1], ubytes + size - 1))
		return -EFAULT;
	return 0;
}

static long gpusched_fops_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct gpusched_ioctl_op *op;
	union gpusched_ucmd_buffer buf;
	struct gpusched_ucmd ucmd = { .cmd = &buf, .uarg = uarg };
	unsigned int nr = _IOC_NR(cmd);
	u32 user_size;
	int ret, ret2;

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
	ret = gpusched_probe_answer(uarg, &buf, min_t(u32, user_size, op->size));
	if (ret)
		return ret;

	/* EMSGSIZE still reports the room needed; other errors write nothing. */
	ucmd.user_size = user_size;
	ucmd.size = op->size;
	ret = op->execute(file, &ucmd);
	if ((ret && ret != -EMSGSIZE) || ucmd.responded)
		return ret;

	/*
	 * A command that only read, or one that changed nothing (EMSGSIZE):
	 * failing here, because the caller unmapped its argument during the
	 * call, loses an answer but no change.
	 */
	ret2 = gpusched_ucmd_respond(&ucmd);
	return ret2 ? ret2 : ret;
}

static int gpusched_fops_open(struct inode *inode, struct file *file)
{
	struct gpusched_file *gfile;

	gfile = kzalloc(sizeof(*gfile), GFP_KERNEL);
	if (!gfile)
		return -ENOMEM;
	gfile->opener = get_task_pid(current, PIDTYPE_TGID);
	file->private_data = gfile;
	return 0;
}

/* The last reference to the file is gone: its pins end with it. */
static int gpusched_fops_release(struct inode *inode, struct file *file)
{
	struct gpusched_file *gfile = file->private_data;

	gpusched_release_file(gfile);
	put_pid(gfile->opener);
	kfree(gfile);
	return 0;
}

static const struct file_operations gpusched_fops = {
	.owner = THIS_MODULE,
	.open = gpusched_fops_open,
	.release = gpusched_fops_release,
	.unlocked_ioctl = gpusched_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * Root only until udev says otherwise: the packaged rule gives the node to
 * the gpusched group (mode 0660), so an administrator decides who may hold
 * cores at all.  Each command then checks the caller's rights over its
 * target the way sched_setaffinity() does, and max_reserved_cpus_per_user
 * bounds what one user of the group may hold.
 */
static struct miscdevice gpusched_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gpusched",
	.fops = &gpusched_fops,
	.mode = 0660,
};

static int __init gpusched_init(void)
{
	int ret;

	ret = gpusched_pin_init();
	if (ret)
		return ret;
	ret = gpusched_sysfs_init();
	if (ret)
		goto err_pin;

	/* Last: once the device exists, userspace can call in. */
	ret = misc_register(&gpusched_miscdev);
	if (ret)
		goto err_sysfs;

	pr_info("version %s loaded, ABI %d\n", GPUSCHED_VERSION,
		GPUSCHED_ABI_VERSION);
	return 0;

err_sysfs:
	gpusched_sysfs_exit();
err_pin:
	gpusched_pin_exit();
	return ret;
}

/* No file is open (each holds a module reference), so nothing is pinned. */
static void __exit gpusched_exit(void)
{
	misc_deregister(&gpusched_miscdev);
	gpusched_sysfs_exit();
	gpusched_pin_exit();
	gpusched_topology_exit();
}

module_init(gpusched_init);
module_exit(gpusched_exit);

MODULE_DESCRIPTION("GPU-aware CPU placement for AI-training workers");
MODULE_AUTHOR("The gpusched developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(GPUSCHED_VERSION);
