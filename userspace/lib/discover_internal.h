/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of discovery share and nothing else sees: the machine
 * struct behind the opaque struct gs_machine, the state of one
 * gs_discover() call, the reading and warning helpers of discover_read.c
 * and the stages gs_discover() runs.  Not installed.
 */
#ifndef GPUSCHED_DISCOVER_INTERNAL_H
#define GPUSCHED_DISCOVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "discover.h"
#include "sysfs.h"

#define CPU_DIR		"sys/devices/system/cpu"
#define NODE_DIR	"sys/devices/system/node"
#define PCI_DIR		"sys/bus/pci/devices"

/* Quoted values are cut here, visibly, so a corrupt file cannot flood a log. */
#define SHOWN_VALUE_SIZE	64

struct gs_machine {
	struct gs_machine_cpu *cpus;		/* ascending id */
	unsigned int nr_cpus;
	struct gs_machine_node *nodes;		/* ascending id */
	unsigned int nr_nodes;
	struct gs_pci_device *gpus;	/* PCI address order */
	unsigned int nr_gpus;
	struct gs_pci_device *ignored;	/* PCI address order */
	unsigned int nr_ignored;
	struct gs_bitmap online_cpus;
	struct gs_bitmap isolated_cpus;
	struct gs_bitmap nohz_full_cpus;
	unsigned int nr_cores;
	unsigned int nr_llcs;
	unsigned int nr_packages;
	bool cpu_groups_known;	/* false: skip_cpu_groups, all three are 0 */
	char **warnings;
	unsigned int nr_warnings;
};

/* State of one gs_discover() call. */
struct gs_discovery {
	const struct gs_discover_opts *opts;
	struct gs_sysfs *sysfs;
	struct gs_machine *topo;
	struct gs_gpu_match *matches;
	unsigned int nr_matches;
	/* Per node index: neither cpulist nor cpumap could be read. */
	bool *node_cpus_unread;
	/* Set while reading a device that is no GPU: its oddities are not ours. */
	bool quiet;
	int error;	/* -ENOMEM once any allocation failed */
};

/* One file that may hold a CPU set, as a list or as a hex mask. */
struct gs_cpus_file {
	const char *name;
	bool is_mask;
};

/* Returns the root to put before a relative path in a warning. */
static inline const char *root_of(const struct gs_discovery *d)
{
	return gs_sysfs_root(d->sysfs);
}

/* discover_read.c: one sysfs value, with a warning for whatever is wrong. */
void gs_discovery_warn(struct gs_discovery *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *gs_discovery_path(struct gs_discovery *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gs_discovery_show_text(const char *text, char *shown, size_t size);
void gs_discovery_warn_file(struct gs_discovery *d, const char *path, int err,
			    const char *what, const char *consequence);
int gs_discovery_read_int(struct gs_discovery *d, const char *path, int *value,
			  const char *consequence);
int gs_discovery_read_hex(struct gs_discovery *d, const char *path, unsigned int *value,
			  const char *consequence);
int gs_discovery_read_string(struct gs_discovery *d, const char *path, char **value,
			     const char *consequence);
int gs_discovery_read_required_string(struct gs_discovery *d, const char *path,
				      char **value, const char *consequence);
int gs_discovery_read_cpus(struct gs_discovery *d, const char *dir,
			   const struct gs_cpus_file *files, struct gs_bitmap *cpus,
			   const char *consequence);
char *gs_discovery_cpulist_text(struct gs_discovery *d, const struct gs_bitmap *cpus);
void gs_discovery_warn_cpus(struct gs_discovery *d, const struct gs_bitmap *cpus,
			    const char *file, const char *problem,
			    const char *consequence);

/* discover.c: lookups in the machine being built (ids ascending). */
struct gs_machine_cpu *gs_machine_find_cpu(const struct gs_machine *topo, unsigned int id);
int gs_machine_node_index(const struct gs_machine *topo, unsigned int id);

/* The stages of gs_discover(), in the order it runs them. */
int gs_discover_gpu_matches(struct gs_discovery *d);	/* discover_pci.c */
int gs_discover_cpus(struct gs_discovery *d);		/* discover_cpus.c */
void gs_discover_isolation(struct gs_discovery *d);	/* discover_cpus.c */
int gs_discover_nodes(struct gs_discovery *d);		/* discover_nodes.c */
int gs_discover_pci(struct gs_discovery *d);		/* discover_pci.c */
void gs_discover_gpu_memory(struct gs_discovery *d);	/* discover_nvidia.c */

#endif /* GPUSCHED_DISCOVER_INTERNAL_H */
