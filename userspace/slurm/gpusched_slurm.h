/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the gpusched SPANK plugin decides without Slurm, so that it can be
 * tested on any machine: the plugin's arguments (plugstack.conf and
 * --gpusched), Slurm's numbering of a node's GPUs (the device files of
 * gres.conf in the order slurmd 22.05 indexes them), the PCI function
 * behind a device file, and which of a task's GPUs is the task's own.
 * gpusched_spank.c is the glue between these and Slurm's SPANK calls.
 *
 * Functions return 0 or a negative errno and fill a caller's message
 * buffer of GPUSCHED_MESSAGE_SIZE bytes when they fail.
 */
#ifndef GPUSCHED_SLURM_H
#define GPUSCHED_SLURM_H

#include <limits.h>
#include <stdbool.h>

#include "libgpusched.h"

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

/**
 * struct gs_slurm_gres - the GPU device files of one node, in Slurm's order
 * @nr_files: entries of @files
 * @files: device file of Slurm's GPU i at [i]
 */
struct gs_slurm_gres {
	unsigned int nr_files;
	char **files;
};

/**
 * gs_slurm_gres_parse() - the GPUs gres.conf gives @node_name, as slurmd numbers them
 * @text: gres.conf's contents
 * @path: its name, for messages
 * @node_name: the node (SLURMD_NODENAME)
 * @gres: receives the device files; free with gs_slurm_gres_free()
 *
 * slurmd 22.05 with AutoDetect off numbers GPUs by their device files in
 * this order: the Name=gpu lines without NodeName= in file order, then
 * the NodeName= lines naming this node in file order, each line's File=
 * expanded left to right ("/dev/nvidia[0-3]").  Configurations in which
 * slurmd re-sorts (AutoDetect=nvml/rsmi/oneapi), groups by several GPU
 * types, or uses Include or MultipleFiles are refused rather than guessed.
 * Return: 0, -EINVAL or -ENOTSUP with @message, -ENOMEM.
 */
int gs_slurm_gres_parse(const char *text, const char *path, const char *node_name,
			struct gs_slurm_gres *gres, char *message);

/** gs_slurm_gres_free() - free what gs_slurm_gres_parse() filled in. */
void gs_slurm_gres_free(struct gs_slurm_gres *gres);

/**
 * gs_slurm_hostlist_match() - is @name one of Slurm hostlist @list ("gpu[01-08],login")
 *
 * Return: 1 yes, 0 no, -EINVAL for a malformed list.
 */
int gs_slurm_hostlist_match(const char *list, const char *name);

/**
 * gs_slurm_chardev_pci() - the PCI function of character device MAJOR:MINOR
 * @root: root of /sys and /proc ("" or "/" on a live machine)
 * @path: the device file, for messages
 * @address: receives "0000:3b:00.0"; GPUSCHED_PCI_ADDRESS_SIZE bytes
 *
 * /sys/dev/char/MAJOR:MINOR/device for devices with a sysfs class
 * (/dev/dri/cardN, /dev/dri/renderDN, /dev/accel/accelN); for the NVIDIA
 * driver's /dev/nvidiaN (major 195), which has none, the "Device Minor:"
 * of /proc/driver/nvidia/gpus/<bus id>/information.
 * Return: 0, or -ENODEV with @message.
 */
int gs_slurm_chardev_pci(const char *root, const char *path, unsigned int major,
			 unsigned int minor, char *address, char *message);

/** gs_slurm_device_pci() - stat(2) @path, then gs_slurm_chardev_pci(). */
int gs_slurm_device_pci(const char *root, const char *path, char *address, char *message);

/**
 * gs_slurm_topology_gpu() - the index of the GPU at PCI @address in a topology
 *
 * Return: the index, or -ENODEV when no GPU of @gpus is at @address.
 */
int gs_slurm_topology_gpu(const char *address, unsigned int nr_gpus,
			  const struct gpusched_gpu *gpus);

/**
 * gs_slurm_task_gpu() - the Slurm GPU index that is a task's own
 * @task_gpus: SLURM_STEP_GPUS as the task sees it ("1,3")
 * @step_gpus: SLURM_STEP_GPUS of the step as a whole, or NULL if unknown
 * @local_id: the task's SLURM_LOCALID
 * @gpu: receives the Slurm index
 * @explanation: receives how it was chosen, or why not
 *
 * When Slurm gave the task a list of its own (--gpus-per-task,
 * --gpu-bind), the list differs from the step's and its first GPU is the
 * task's.  Otherwise every task sees all the step's GPUs on the node and
 * task @local_id takes entry [@local_id modulo their number], so tasks
 * are dealt to GPUs round robin.
 * Return: 0, -ENOENT for an empty list, -EINVAL for a malformed one.
 */
int gs_slurm_task_gpu(const char *task_gpus, const char *step_gpus, unsigned int local_id,
		      unsigned int *gpu, char *explanation);

#endif /* GPUSCHED_SLURM_H */
