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
 * A file is used only while what it was made from reads the same: the
 * boot, the online CPUs, the isolated CPUs, the online nodes, the names of
 * the PCI functions, the GPU match rules, the sysfs root and this format.
 * Reading those takes six small reads.  Anything else that could change
 * within a boot is documented in gpusched(1) (FILES): a numa_node that
 * root rewrites after the first launch is not seen until the file goes.
 */
#ifndef GPUSCHED_FALLBACK_CACHE_H
#define GPUSCHED_FALLBACK_CACHE_H

#include <stdbool.h>

#include <linux/gpusched.h>

#include "discover.h"
#include "snapshot.h"

/*
 * The machine as the fallback places on it; owns its arrays.  gpus has
 * snapshot.topo.nr_gpus entries in discovery's order, with each GPU's
 * address, node and memory node as gpuschedd would feed them.
 */
struct gs_fallback_machine {
	struct gs_snapshot snapshot;
	struct gpusched_gpu *gpus;
	bool cpu_groups_known;	/* cores, packages and caches are in the snapshot */
	bool from_cache;	/* read from the file, no discovery made */
};

/*
 * Builds @out from a discovered @machine, housekeeping CPUs flagged as
 * gs_default_housekeeping() tells.  Returns 0, or -errno with @message
 * (GPUSCHED_MESSAGE_SIZE bytes) saying why.
 */
int gs_fallback_machine_build(const struct gs_machine *machine,
			      struct gs_fallback_machine *out, char *message);

/*
 * The machine for a fallback placement that needs the CPU groups when
 * @need_cpu_groups: read from the caller's file when it is current, else
 * discovered with @opts (its skip flags are set here) and written to the
 * file for the next launch.  @opts->warn makes a discovery of its own: its
 * warnings are for the caller to see.  Failing to read or write the file
 * is never an error.  Returns 0, or -errno with @message saying why.
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
