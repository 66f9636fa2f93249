/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slurm's numbers for a node's GPUs, and the gpusched GPU each one is: the
 * one mapping that the SPANK plugin and `gpusched exec` under srun share.
 * Functions return 0 or a negative errno and fill a caller's message
 * buffer of GPUSCHED_MESSAGE_SIZE bytes when they fail.
 */
#ifndef GPUSCHED_LIB_SLURM_H
#define GPUSCHED_LIB_SLURM_H

#include "libgpusched.h"

/** GS_SLURM_GRES_CONF - where Debian's Slurm keeps gres.conf. */
#define GS_SLURM_GRES_CONF	"/etc/slurm/gres.conf"

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

/**
 * gs_slurm_resolve_gpu() - the gpusched GPU of a task that srun started
 * @root: root of /sys and /proc, NULL for "/"
 * @gres_conf: gres.conf's path
 * @node_name: the node, as SLURMD_NODENAME names it
 * @task_gpus: the task's SLURM_STEP_GPUS
 * @step_gpus: the step's SLURM_STEP_GPUS, or NULL when unknown
 * @local_id: the task's SLURM_LOCALID
 * @nr_gpus: GPUs of the module's topology
 * @gpus: their records
 * @explanation: receives "SLURM_LOCALID=1 -> SLURM_STEP_GPUS=3,1[1] -> Slurm
 *	GPU 1 (/dev/dri/card3, PCI 0000:21:00.0) -> gpusched GPU 0", or why not
 *
 * gs_slurm_task_gpu(), then gres.conf's device file for that Slurm GPU,
 * its PCI function and the topology's GPU there.  A fake_gpus.conf beside
 * gres.conf makes slurmd re-sort its GPUs, and is refused (-ENOTSUP).
 * Return: the topology index, or -errno (-ENOENT, -EINVAL, -ENOTSUP,
 * -ENODEV, -ENOMEM, or gres.conf's read error).
 */
int gs_slurm_resolve_gpu(const char *root, const char *gres_conf, const char *node_name,
			 const char *task_gpus, const char *step_gpus, unsigned int local_id,
			 unsigned int nr_gpus, const struct gpusched_gpu *gpus, char *explanation);

#endif /* GPUSCHED_LIB_SLURM_H */
