// SPDX-License-Identifier: GPL-2.0
/*
 * Targets: the threads a PIN, UNPIN or QUERY names (a thread, a whole
 * process, or a pidfd of either), each held by struct pid, and whether the
 * caller may pin them.  Nothing here touches the module's state; a lookup
 * that fails leaves no reference behind.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/* Drops the threads of @targets, not the process. */
static void gpusched_put_thread_targets(struct gpusched_targets *targets)
{
	unsigned int i;

	for (i = 0; i < targets->nr; i++)
		put_pid(targets->pids[i]);
	if (targets->pids != &targets->one)
		kvfree(targets->pids);
	targets->pids = NULL;
	targets->nr = 0;
}

/**
 * gpusched_put_targets() - drop every reference @targets holds
 * @targets: filled by gpusched_resolve_targets() or gpusched_collect_threads()
 *
 * Context: any process context.  @targets is left empty and reusable.
 */
void gpusched_put_targets(struct gpusched_targets *targets)
{
	gpusched_put_thread_targets(targets);
	put_pid(targets->process);
	targets->process = NULL;
}

/**
 * gpusched_collect_threads() - every thread of a process
 * @leader: the process's leader, whose task the caller holds
 * @targets: empty; receives a pid reference per live thread
 *
 * Counts again when threads are created meanwhile; @targets->process, if
 * the caller set it, is kept throughout.
 *
 * Context: process context, may sleep.
 * Return: 0; -ENOMEM; -ESRCH when every thread is exiting.
 */
int gpusched_collect_threads(struct task_struct *leader, struct gpusched_targets *targets)
{
	struct task_struct *task;
	unsigned int room;
	bool full;

	do {
		room = get_nr_threads(leader) + 8;
		targets->pids = kvcalloc(room, sizeof(*targets->pids), GFP_KERNEL_ACCOUNT);
		if (!targets->pids)
			return -ENOMEM;
		full = false;
		rcu_read_lock();
		for_each_thread(leader, task) {
			struct pid *pid;

			if (targets->nr == room) {
				full = true;
				break;
			}
			/* NULL for a thread that is exiting: not a target. */
			pid = get_task_pid(task, PIDTYPE_PID);
			if (pid)
				targets->pids[targets->nr++] = pid;
		}
		rcu_read_unlock();
		/*
		 * Threads were created meanwhile: count again, keeping
		 * @targets->process, so that the pin stays a process pin.
		 */
		if (full)
			gpusched_put_thread_targets(targets);
	} while (full);
	return targets->nr ? 0 : -ESRCH;
}

/* The magic of pidfs (6.9 on), absent from older headers. */
#ifndef PID_FS_MAGIC
#define PID_FS_MAGIC 0x50494446
#endif

/*
 * The struct pid a pidfd holds.  pidfd_pid() is not exported to modules, so
 * a pidfd is recognised the way the kernel makes it: from 6.9 a file of
 * pidfs whose inode carries the pid, before that an anonymous inode file
 * named "[pidfd]" whose private_data is the pid.  A kernel has only one of
 * the two kinds.
 */
static struct pid *gpusched_pidfd_pid(u32 fd, bool *thread)
{
	struct pid *pid = ERR_PTR(-EBADF);
	unsigned long magic;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	magic = file_inode(file)->i_sb->s_magic;
	*thread = false;
	if (magic == PID_FS_MAGIC) {
		pid = get_pid(file_inode(file)->i_private);
		/* PIDFD_THREAD is O_EXCL, kept in the file's flags. */
		*thread = file->f_flags & O_EXCL;
	} else if (magic == ANON_INODE_FS_MAGIC &&
		   !strcmp(file->f_path.dentry->d_name.name, "[pidfd]")) {
		pid = get_pid(file->private_data);
	}
	fput(file);
	return pid;
}

/* A single thread: its reference moves to @targets, into the inline slot. */
static void gpusched_one_target(struct pid *pid, struct gpusched_targets *targets)
{
	targets->one = pid;
	targets->pids = &targets->one;
	targets->nr = 1;
}

/*
 * Every thread of the process @pid leads; the reference on @pid moves to
 * @targets->process.
 */
static int gpusched_process_targets(struct pid *pid, struct gpusched_targets *targets)
{
	struct task_struct *leader;
	int ret;

	targets->process = pid;
	leader = get_pid_task(pid, PIDTYPE_TGID);
	if (!leader)
		return -ESRCH;
	ret = gpusched_collect_threads(leader, targets);
	put_task_struct(leader);
	return ret;
}

static int gpusched_lookup_targets(u32 type, u32 id, struct gpusched_targets *targets)
{
	struct pid *pid;
	bool thread;

	switch (type) {
	case GPUSCHED_TARGET_THREAD:
		pid = id ? find_get_pid(id) : get_task_pid(current, PIDTYPE_PID);
		if (!pid)
			return -ESRCH;
		gpusched_one_target(pid, targets);
		return 0;
	case GPUSCHED_TARGET_PROCESS:
		pid = id ? find_get_pid(id) : get_task_pid(current, PIDTYPE_TGID);
		return gpusched_process_targets(pid, targets);
	case GPUSCHED_TARGET_PIDFD:
		pid = gpusched_pidfd_pid(id, &thread);
		if (IS_ERR(pid))
			return PTR_ERR(pid);
		/* A PIDFD_THREAD pidfd names one thread, not a process. */
		if (thread) {
			gpusched_one_target(pid, targets);
			return 0;
		}
		return gpusched_process_targets(pid, targets);
	default:
		return -EINVAL;
	}
}

/**
 * gpusched_resolve_targets() - the threads a command names
 * @type: a GPUSCHED_TARGET_* value
 * @id: thread id, process id (0: the caller's) or pidfd
 * @targets: empty; receives the threads, and the process for a whole process
 *
 * Fills @targets for a PIN, UNPIN or QUERY.  On failure @targets holds no
 * reference: a PROCESS id that names a thread other than the leader, or a
 * pidfd of a process that was reaped, found a struct pid before it found
 * no task, and that reference must not outlive the call.
 *
 * Context: process context, may sleep.
 * Return: 0; -ESRCH; -EBADF for a descriptor that is not a pidfd; -EINVAL
 * for an unknown type; -ENOMEM.
 */
int gpusched_resolve_targets(u32 type, u32 id, struct gpusched_targets *targets)
{
	int ret = gpusched_lookup_targets(type, id, targets);

	if (ret)
		gpusched_put_targets(targets);
	return ret;
}

/* The rule of sched_setaffinity(): same owner, or CAP_SYS_NICE over the task. */
static bool gpusched_may_pin(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	bool allowed;

	rcu_read_lock();
	tcred = __task_cred(task);
	allowed = uid_eq(cred->euid, tcred->euid) || uid_eq(cred->euid, tcred->uid) ||
		  ns_capable(tcred->user_ns, CAP_SYS_NICE);
	rcu_read_unlock();
	return allowed;
}

/**
 * gpusched_check_target() - whether the caller may pin a thread
 * @pid: the thread
 *
 * set_cpus_allowed_ptr() checks neither of what sched_setaffinity() refuses,
 * kernel threads and tasks whose affinity the kernel manages, nor the
 * caller's rights: this does, with sched_setaffinity()'s rule.
 *
 * Context: process context of the caller.
 * Return: 0; -ESRCH; -EINVAL for a kernel thread or PF_NO_SETAFFINITY;
 * -EPERM.
 */
int gpusched_check_target(struct pid *pid)
{
	struct task_struct *task;
	int ret = 0;

	/* The caller itself, the common case: the rule always lets a thread pin itself. */
	if (pid == task_pid(current))
		return current->flags & (PF_KTHREAD | PF_NO_SETAFFINITY) ? -EINVAL : 0;
	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	if (task->flags & (PF_KTHREAD | PF_NO_SETAFFINITY))
		ret = -EINVAL;
	else if (!gpusched_may_pin(task))
		ret = -EPERM;
	put_task_struct(task);
	return ret;
}
