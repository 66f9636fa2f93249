/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The gpusched SPANK plugin's arguments (plugstack.conf and --gpusched),
 * kept apart from Slurm's SPANK calls (gpusched_spank.c) so that they are
 * tested on any machine.  How a task's Slurm GPU becomes a gpusched GPU is
 * in the library (userspace/lib/slurm.h), which `gpusched exec` shares.
 *
 * Functions return 0 or a negative errno and fill a caller's message
 * buffer of GPUSCHED_MESSAGE_SIZE bytes when they fail.
 */
#ifndef GPUSCHED_SLURM_H
#define GPUSCHED_SLURM_H

#include <limits.h>
#include <stdbool.h>

#include "libgpusched.h"
#include "slurm.h"

/** GS_SLURM_POLICY_OFF - the --gpusched value that leaves tasks as Slurm placed them. */
#define GS_SLURM_POLICY_OFF	(-1)

/* What a task gets when gpusched cannot place it. */
enum gs_slurm_on_error {
	GS_SLURM_FAIL = 0,	/* the task fails before the program runs */
	GS_SLURM_WARN,		/* the task runs unpinned, with a warning */
};

/*
 * The plugin's configuration: plugstack.conf arguments give the site's
 * defaults, --gpusched and --gpusched-verbose a job's own choice.
 */
struct gs_slurm_config {
	int policy;			/* GPUSCHED_POLICY_* or GS_SLURM_POLICY_OFF */
	unsigned int cores;		/* exclusive only: cores per task, 0: the share */
	enum gs_slurm_on_error missing;	/* no module, no topology, no mapping */
	enum gs_slurm_on_error nofit;	/* the module refused the pin */
	enum gpusched_mem_policy mem_policy;
	bool verbose;
	char gres_conf[PATH_MAX];
	char device[PATH_MAX];
	char sysfs_root[PATH_MAX];	/* root of /sys and /proc, for tests */
};

/** gs_slurm_config_init() - the defaults (policy=default missing=warn nofit=fail). */
void gs_slurm_config_init(struct gs_slurm_config *config);

/**
 * gs_slurm_config_arg() - apply one plugstack.conf argument, "key=value"
 *
 * Keys: policy (a policy name, "POLICY:CORES" for exclusive, or off),
 * missing and nofit (fail or warn), mem_policy (none, bind, preferred,
 * interleave), verbose (yes or no), gres_conf, device, sysfs_root (paths).
 * Return: 0 or -EINVAL with @message naming the argument.
 */
int gs_slurm_config_arg(struct gs_slurm_config *config, const char *arg, char *message);

/**
 * gs_slurm_policy_parse() - a --gpusched value: POLICY, exclusive:CORES or off
 * @value: the text
 * @policy: receives GPUSCHED_POLICY_* or GS_SLURM_POLICY_OFF
 * @cores: receives the cores of exclusive:CORES, else 0
 *
 * Return: 0 or -EINVAL with @message saying what is accepted.
 */
int gs_slurm_policy_parse(const char *value, int *policy, unsigned int *cores, char *message);

#endif /* GPUSCHED_SLURM_H */
