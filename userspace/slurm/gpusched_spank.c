// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched's SPANK plugin: every task of a Slurm job step that has GPUs is
 * pinned near its GPU through /dev/gpusched just before it executes the
 * program, as `gpusched exec` pins itself, with no change to job scripts.
 *
 * Where it runs, from Slurm 22.05's slurmstepd (src/slurmd/slurmstepd/
 * task.c exec_task): slurm_spank_task_init runs in the forked task, as the
 * user, after task/affinity has set the task's CPUs (the parent did that
 * before releasing the child, mgr.c _fork_all_tasks) and after the task's
 * own GPU variables are set (gres_g_task_set_env), and just before
 * execve().  task_init_privileged runs earlier, before the affinity is
 * set, so a pin there would be overwritten, and before the task's GPU
 * variables exist.  22.05 has no spank_prepend_task_argv (new in 23.11),
 * so wrapping the program in `gpusched exec` is not an option either.
 *
 * The task opens the device without O_CLOEXEC and pins itself: the
 * descriptor passes into the program, so the pin lasts exactly as long as
 * the task and its cores return when it exits or is killed.  The module
 * intersects the pin with the task's CPUs, so it never widens what
 * task/affinity or task/cgroup gave the task.
 *
 * Slurm's GPU numbers (SLURM_STEP_GPUS) are slurmd's indices into
 * gres.conf's device files, so each is mapped to its device file, the
 * file to its PCI function, and the PCI function to the GPU of the
 * topology gpuschedd fed the module (userspace/lib/slurm.c, which
 * `gpusched exec` uses under srun too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "cpulist.h"
#include "gpusched_slurm.h"

SPANK_PLUGIN(gpusched, 1);

/* The site's defaults from plugstack.conf, then the job's options. */
static struct gs_slurm_config config;
static bool job_policy_given, job_verbose;
static int job_policy;
static unsigned int job_cores;

/* SLURM_STEP_GPUS of the step as a whole, from before the tasks forked. */
static char step_gpus[4096];
static bool step_gpus_known;

static int option_policy(int val, const char *optarg, int remote)
{
	char message[GPUSCHED_MESSAGE_SIZE];

	(void)val;
	(void)remote;
	if (!optarg || gs_slurm_policy_parse(optarg, &job_policy, &job_cores, message)) {
		slurm_error("gpusched: --gpusched=%s: %s", optarg ? optarg : "",
			    optarg ? message : "a value is needed");
		return -1;
	}
	job_policy_given = true;
	return 0;
}

static int option_verbose(int val, const char *optarg, int remote)
{
	(void)val;
	(void)optarg;
	(void)remote;
	job_verbose = true;
	return 0;
}

static struct spank_option options[] = {
	{ "gpusched", "POLICY|off",
	  "Pin each task of a GPU step near its GPU through the gpusched kernel module "
	  "(node, socket, exclusive, exclusive:CORES, l3, single, default), or leave the "
	  "tasks as Slurm placed them (off).  The site's default is in plugstack.conf.",
	  1, 0, option_policy },
	{ "gpusched-verbose", NULL,
	  "Print on each task's standard error the GPU and CPUs gpusched chose.",
	  0, 0, option_verbose },
	SPANK_OPTIONS_TABLE_END
};

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	char message[GPUSCHED_MESSAGE_SIZE];
	struct spank_option *opt;
	int i;

	gs_slurm_config_init(&config);
	for (i = 0; i < ac; i++)
		if (gs_slurm_config_arg(&config, av[i], message)) {
			slurm_error("gpusched: plugstack.conf: %s", message);
			return -1;
		}
	for (opt = options; opt->name; opt++)
		if (spank_option_register(sp, opt) != ESPANK_SUCCESS) {
			slurm_error("gpusched: cannot register --%s", opt->name);
			return -1;
		}
	return 0;
}

/* slurmstepd, as the user, once per step before the tasks fork. */
int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	step_gpus_known = spank_getenv(sp, "SLURM_STEP_GPUS", step_gpus, sizeof(step_gpus)) ==
			  ESPANK_SUCCESS;
	return 0;
}

/*
 * Says why the task cannot be pinned and applies @on_error: 0 lets the
 * task run unpinned, -1 fails it (when the plugin is "required").
 */
static int give_up(enum gs_slurm_on_error on_error, const char *setting, unsigned int task,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int give_up(enum gs_slurm_on_error on_error, const char *setting, unsigned int task,
		   const char *fmt, ...)
{
	char why[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/*
	 * In the task, slurm_error() reaches both the user's standard error
	 * and the slurmd log; slurm_info() only the log.
	 */
	if (on_error == GS_SLURM_WARN) {
		fprintf(stderr, "gpusched: warning: task %u runs unpinned, where Slurm placed it: %s\n",
			task, why);
		slurm_info("gpusched: task %u runs unpinned (%s=warn): %s", task, setting, why);
		return 0;
	}
	slurm_error("gpusched: task %u not started (the site set %s=fail): %s", task, setting, why);
	return -1;
}

/* The CPUs the calling task may use now, as a cpulist, into @list. */
static void task_cpus(char *list, size_t size)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT;
	cpu_set_t *set = CPU_ALLOC(CPU_SETSIZE * 8);
	size_t set_size = CPU_ALLOC_SIZE(CPU_SETSIZE * 8);
	unsigned int cpu;

	snprintf(list, size, "?");
	if (!set)
		return;
	if (!sched_getaffinity(0, set_size, set)) {
		for (cpu = 0; cpu < set_size * 8; cpu++)
			if (CPU_ISSET_S(cpu, set_size, set))
				gs_bitmap_set(&bitmap, cpu);
		gs_bitmap_format_list(&bitmap, list, size);
	}
	gs_bitmap_free(&bitmap);
	CPU_FREE(set);
}

/* Why the module refused a pin, for a person who has to act on it. */
static void pin_refusal(int err, char *why, size_t size)
{
	char cpus[512];

	switch (err) {
	case -ENOSPC:
		task_cpus(cpus, sizeof(cpus));
		snprintf(why, size,
			 "no free core near the GPU among the CPUs the task may use (%s, as Slurm allocated and bound them): other exclusive tasks hold them (see `gpusched status`); ask Slurm for cores near the GPU (--gres-flags=enforce-binding), fewer tasks per GPU, or --gpusched=node",
			 cpus);
		break;
	case -EBUSY:
		snprintf(why, size, "the task is already pinned (by gpusched exec?): use --gpusched=off with gpusched exec");
		break;
	case -ENODEV:
		snprintf(why, size, "the GPU left the module's topology (gpuschedd re-fed it?)");
		break;
	default:
		snprintf(why, size, "%s", strerror(-err));
	}
}

/* The task's Slurm GPU as a GPU of the module's topology, or -1 after give_up(). */
static int task_topology_gpu(spank_t sp, unsigned int task, const struct gpusched_topology_copy *topo,
			     const char *task_gpus, char *explanation)
{
	char node_name[256];
	int gpu;

	if (spank_getenv(sp, "SLURMD_NODENAME", node_name, sizeof(node_name)) != ESPANK_SUCCESS)
		return give_up(config.missing, "missing", task,
			       "SLURMD_NODENAME is not set, so the node's lines of %s cannot be told apart",
			       config.gres_conf) ? -2 : -1;
	gpu = gs_slurm_resolve_gpu(config.sysfs_root[0] ? config.sysfs_root : NULL,
				   config.gres_conf, node_name, task_gpus,
				   step_gpus_known ? step_gpus : NULL, task, topo->nr_gpus,
				   topo->gpus, explanation);
	if (gpu < 0)
		return give_up(config.missing, "missing", task, "%s", explanation) ? -2 : -1;
	return gpu;
}

static void print_pin(unsigned int task, const char *explanation, const cpu_set_t *cpus,
		      size_t size, unsigned int node, const char *policy)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT;
	char list[1024] = "?";
	unsigned int cpu;

	for (cpu = 0; cpu < size * 8; cpu++)
		if (CPU_ISSET_S(cpu, size, cpus))
			gs_bitmap_set(&bitmap, cpu);
	gs_bitmap_format_list(&bitmap, list, sizeof(list));
	gs_bitmap_free(&bitmap);
	fprintf(stderr, "gpusched: task %u (pid %d): %s: CPUs %s of node %u, policy %s\n", task,
		getpid(), explanation, list, node, policy);
}

/* In the task, as the user, after task/affinity, just before execve(). */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	char task_gpus[4096], explanation[GPUSCHED_MESSAGE_SIZE];
	int policy = job_policy_given ? job_policy : config.policy;
	unsigned int cores = job_policy_given ? job_cores : config.cores;
	struct gpusched_topology_copy topo = { 0 };
	struct gpusched *gs = NULL;
	uint32_t step_id;
	int task_id, gpu, err, ret = 0;
	cpu_set_t *cpus = NULL;
	size_t size;

	(void)ac;
	(void)av;
	if (!spank_remote(sp) || policy == GS_SLURM_POLICY_OFF)
		return 0;
	/* The batch script, the extern and interactive steps are not tasks of a step. */
	if (spank_get_item(sp, S_JOB_STEPID, &step_id) != ESPANK_SUCCESS ||
	    step_id >= SLURM_MAX_NORMAL_STEP_ID)
		return 0;
	if (spank_get_item(sp, S_TASK_ID, &task_id) != ESPANK_SUCCESS || task_id < 0)
		return 0;
	if (spank_getenv(sp, "SLURM_STEP_GPUS", task_gpus, sizeof(task_gpus)) != ESPANK_SUCCESS ||
	    !task_gpus[0])
		return 0;	/* a step without GPUs on this node */

	err = gpusched_open(config.device, GPUSCHED_OPEN_KEEP_ON_EXEC, &gs);
	if (err)
		return give_up(config.missing, "missing", task_id, "%s: %s", config.device,
			       err == -ENOENT ? "does not exist: the gpusched module is not loaded on this node" :
			       err == -EACCES ? "permission denied (is the user in the gpusched group?)" :
			       err == -EPROTO ? "speaks another ABI version than this plugin" :
			       strerror(-err));
	err = gpusched_get_topology(gs, &topo);
	if (err || !topo.nr_gpus) {
		ret = give_up(config.missing, "missing", task_id, "%s",
			      err ? strerror(-err) :
			      "the module holds no topology yet: gpuschedd is not running on this node");
		goto out_close;
	}
	gpu = task_topology_gpu(sp, task_id, &topo, task_gpus, explanation);
	if (gpu < 0) {
		ret = gpu == -2 ? -1 : 0;
		goto out_close;
	}

	size = CPU_ALLOC_SIZE(topo.nr_cpus);
	cpus = CPU_ALLOC(topo.nr_cpus);
	if (!cpus) {
		ret = give_up(config.nofit, "nofit", task_id, "out of memory");
		goto out_close;
	}
	{
		struct gpusched_pin pin = {
			.target_type = GPUSCHED_TARGET_PROCESS,
			.target_id = 0,
			.gpu = gpu,
			.policy = policy,
			.cores = policy == GPUSCHED_POLICY_EXCLUSIVE ? cores : 0,
		};
		char address[GPUSCHED_PCI_ADDRESS_SIZE];

		err = gpusched_pin_task(gs, &pin, cpus, size);
		gpusched_format_pci_address(&topo.gpus[gpu], address);
		if (err) {
			char why[2048];

			pin_refusal(err, why, sizeof(why));
			ret = give_up(config.nofit, "nofit", task_id,
				      "pinning to GPU %d (%s, node %u) with policy %s: %s", gpu,
				      address, topo.gpus[gpu].node, gpusched_policy_name(policy),
				      why);
			goto out_close;
		}
		if (config.verbose || job_verbose)
			print_pin(task_id, explanation, cpus, size, topo.gpus[gpu].node,
				  gpusched_policy_name(pin.policy));
		slurm_info("gpusched: task %d pinned: %s, policy %s", task_id, explanation,
			   gpusched_policy_name(pin.policy));
	}
	err = gpusched_set_mem_policy(config.mem_policy, topo.gpus[gpu].node);
	if (err)
		fprintf(stderr, "gpusched: warning: task %d: memory policy on node %u: %s\n",
			task_id, topo.gpus[gpu].node, strerror(-err));
	/* The descriptor, and with it the pin, stays open into the program. */
	CPU_FREE(cpus);
	gpusched_topology_copy_free(&topo);
	return 0;

out_close:
	if (cpus)
		CPU_FREE(cpus);
	gpusched_topology_copy_free(&topo);
	gpusched_close(gs);
	return ret;
}
