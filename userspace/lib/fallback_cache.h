/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the fallback places on, and the file that spares it a discovery.
 *
 * Without the module, every `gpusched exec` and gpusched_fallback_pin()
 * used to discover the machine: some forty sysfs files, half of them the
 * class of each PCI function, read to number the GPUs.  The machine does
 * not change between two launches, so the first launch of a boot writes
 * what it found (the engine's snapshot and each GPU's PCI identity) to a
 * file in the caller's own runtime directory, and later launches read that
 * one file instead.
 *
 * The file is made from the boot, the online CPUs, the isolated CPUs, the
 * online nodes, the nodes with memory, the names of the PCI functions,
 * the NVIDIA driver's GPU memory nodes, the GPU match rules, this
 * program's version, the sysfs root and this format.  Of those the kernel
 * announces a change of the online nodes, the memory and the PCI
 * functions with a uevent, and counts uevents in /sys/kernel/uevent_seqnum:
 * the file keeps the count from before it was checked.  A launch reads
 * the count, the boot id, the online and the isolated CPUs (four small
 * files) and the driver's directory (one failed open without the driver,
 * a file per GPU with it), and when those are as the file has them takes
 * it.  After any uevent the next launch also reads the online nodes, the
 * nodes with memory and the PCI directory, takes the file only when they
 * are unchanged too, and writes it again with the new count.  What the
 * key does not cover is documented in gpusched(1): a numa_node that root
 * rewrites after the first launch is not seen until the file goes.
 */
#ifndef GPUSCHED_FALLBACK_CACHE_H
#define GPUSCHED_FALLBACK_CACHE_H

#include <stdbool.h>

#include <linux/gpusched.h>

#include "discover.h"
#include "snapshot.h"

/*
 * The machine as the fallback places on it; owns its arrays.  gpus has
 * nr_gpus entries in discovery's order, with each GPU's address, node (as
 * discovery read it: (u32)-1 when unknown) and memory node as gpuschedd
 * would feed them.  When the engine's snapshot could not be built from
 * what was discovered (a GPU of unknown node on a machine of several),
 * error is its -errno and error_message says why: the GPUs can still be
 * named, but nothing can be placed.
 */
struct gs_fallback_machine {
	struct gs_snapshot snapshot;
	struct gpusched_gpu *gpus;
	unsigned int nr_gpus;
	bool cpu_groups_known;	/* cores, packages and caches are in the snapshot */
	bool from_cache;	/* read from the file, no discovery made */
	int error;
	char error_message[GPUSCHED_MESSAGE_SIZE];
};

/*
 * Builds @out from a discovered @machine, housekeeping CPUs flagged as
 * gs_default_housekeeping() tells; a snapshot that cannot be built is
 * left in out->error.  Returns 0, or -ENOMEM with @message
 * (GPUSCHED_MESSAGE_SIZE bytes) saying so.
 */
int gs_fallback_machine_build(const struct gs_machine *machine,
			      struct gs_fallback_machine *out, char *message);

/*
 * The machine for a fallback placement that needs the CPU groups when
 * @need_cpu_groups: read from the caller's file when it is current, else
 * discovered with @opts (its skip flags are set here) and, when nothing
 * the file's key covers changed meanwhile, written to the file for the
 * next launch.  @opts->warn makes a discovery of its own: its warnings are
 * for the caller to see.  Failing to read or write the file is never an
 * error.  Returns 0, or the discovery's -errno with @message saying why.
 */
int gs_fallback_machine_get(const struct gs_discover_opts *opts, bool need_cpu_groups,
			    struct gs_fallback_machine *out, char *message);

/*
 * Places one worker of @gpu under @policy, @cores and @flags (as
 * gpusched_fallback_pin() takes them) within the caller's affinity and
 * applies it with sched_setaffinity(2).  Defined in gpusched.c.
 */
int gs_fallback_pin_on(const struct gs_fallback_machine *machine, unsigned int gpu,
		       unsigned int policy, unsigned int cores, unsigned int flags,
		       struct gpusched_fallback *out, char *message);

/*
 * Writes the message of a failed fallback into @message
 * (GPUSCHED_MESSAGE_SIZE bytes; NULL: none) and returns @err.  Defined in
 * gpusched.c.
 */
int gs_fallback_fail(char *message, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Writes @machine as the file for @opts, whatever it holds (the tests'
 * way to make files of their own).  Returns 0 or -errno.
 */
int gs_fallback_machine_save(const struct gs_discover_opts *opts,
			     const struct gs_fallback_machine *machine);

/* Frees what @machine owns and zeroes it. */
void gs_fallback_machine_free(struct gs_fallback_machine *machine);

/*
 * The directory the file goes in, into @path of @size bytes: the
 * GPUSCHED_CACHE_DIR environment variable when set (empty: no file), else,
 * for the real machine only (@root NULL or "/"), /run/gpusched for root,
 * $XDG_RUNTIME_DIR/gpusched or /run/user/UID/gpusched for anyone else.
 * Returns 0, or -ENOENT when there is none to use.
 */
int gs_fallback_cache_dir(const char *root, char *path, size_t size);

#define GS_FALLBACK_CACHE_FILE	"fallback-machine"

#endif /* GPUSCHED_FALLBACK_CACHE_H */
