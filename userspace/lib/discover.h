/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Topology discovery: what gpuschedd learns from sysfs before it feeds the
 * module and what `gpusched topo` and `gpusched plan` show.  One call reads
 * CPUs (online state, physical core, package, node, last-level cache group,
 * SMT siblings, isolated and nohz_full), NUMA nodes (CPUs, memory, distance
 * row) and GPUs (PCI address, ids, class, node, local CPUs and, from the
 * NVIDIA driver's /proc files, the node of the GPU's memory) below a root
 * that is "/" on a live machine and a snapshot directory in tests.  The
 * result is one heap object read through the accessors below, so it can
 * grow without breaking callers; the element structs may gain fields at
 * their end and are never allocated by callers.  What is read from where,
 * and how every oddity is handled, is in Documentation/discovery.rst.
 */
#ifndef GPUSCHED_DISCOVER_H
#define GPUSCHED_DISCOVER_H

#include <stdbool.h>

#include "cpulist.h"

struct gs_machine;

struct gs_machine_cpu {
	unsigned int id;	/* the N of /sys/devices/system/cpu/cpuN */
	bool online;
	bool isolated;		/* in /sys/devices/system/cpu/isolated */
	bool nohz_full;		/* in /sys/devices/system/cpu/nohz_full */
	/*
	 * Physical core, numbered 0..nr_cores-1 across the whole machine in
	 * the order of each core's lowest CPU; -1 for an offline CPU, whose
	 * topology the kernel removes, and for every CPU under
	 * skip_cpu_groups (then core_id, package and llc are -1 too and
	 * siblings is empty).  core_id is the kernel's own value,
	 * which repeats in every package and may have holes.
	 */
	int core;
	int core_id;
	int package;		/* physical_package_id, -1 when unknown */
	int node;		/* NUMA node id, -1 when unknown */
	/*
	 * Last-level cache group, numbered 0..nr_llcs-1 like core: CPUs with
	 * the same llc share the highest-level unified cache.  -1 when unknown.
	 */
	int llc;
	struct gs_bitmap siblings;	/* SMT siblings including this CPU */
};

struct gs_machine_node {
	unsigned int id;	/* the N of /sys/devices/system/node/nodeN */
	bool has_memory;
	/*
	 * The node's usable CPUs: online and present (with a cpuN
	 * directory).  Empty for a memory-only node, and for a node whose
	 * CPUs are all offline.
	 */
	struct gs_bitmap cpus;
	/*
	 * The node's row of the distance table: distances[i] is the distance
	 * to gs_topo_node(topo, i).  nr_distances is 0 when the row was
	 * missing or did not have one entry per node.
	 */
	unsigned int nr_distances;
	int *distances;
	/*
	 * CPUs the kernel names for this node (its cpulist or a cpuN/nodeM
	 * link) that are offline or have no cpuN directory: never used.
	 */
	struct gs_bitmap unusable_cpus;
};

/* What the accelerator match table made of a PCI function. */
enum gs_pci_verdict {
	GS_PCI_OTHER,		/* not display/accelerator class, no match */
	GS_PCI_GPU,		/* in the default accelerator table */
	GS_PCI_GPU_EXTRA,	/* matched a caller's extra match */
	GS_PCI_BMC_DISPLAY,	/* ASPEED or Matrox display: never a GPU */
	GS_PCI_UNMATCHED,	/* display/accelerator class, in no table */
};

/* Where a PCI device's node came from. */
enum gs_pci_node_source {
	GS_PCI_NODE_UNKNOWN,		/* node is -1 */
	GS_PCI_NODE_FROM_NUMA_NODE,	/* the device's numa_node file */
	GS_PCI_NODE_FROM_LOCAL_CPUS,	/* no usable numa_node; local_cpulist = one node */
};

/* "ffffffff:ff:1f.7" is the longest address; the kernel prints domains in hex. */
#define GS_PCI_ADDRESS_SIZE	sizeof("ffffffff:ff:1f.7")

struct gs_pci_device {
	char address[GS_PCI_ADDRESS_SIZE];	/* "0000:3b:00.0" */
	unsigned int domain, bus, slot, function;
	unsigned int vendor_id, device_id;
	unsigned int class_code;	/* all 24 bits: 0x030200 */
	enum gs_pci_verdict verdict;
	int numa_node;			/* as read; -1 when absent or malformed */
	int node;			/* resolved node, -1 when unknown */
	enum gs_pci_node_source node_source;
	/*
	 * local_cpulist holds every online CPU of a machine with several
	 * CPU nodes: the kernel knows nothing of the device's locality.
	 * False when skip_gpu_details left local_cpulist unread.
	 */
	bool local_cpus_whole_machine;
	/*
	 * The usable (online and present) CPUs of local_cpulist; empty when
	 * the file is missing, or skip_gpu_details left it unread (the node
	 * came from numa_node).
	 */
	struct gs_bitmap local_cpus;
	/*
	 * The CPU-less node that holds the GPU's own memory (Grace Hopper,
	 * Grace Blackwell), from the NVIDIA driver's numa_status once that
	 * node is online; -1 when the driver names none.  Always -1 for an
	 * ignored device.
	 */
	int mem_node;
};

/*
 * An extra accelerator match, "VENDOR[:CLASS]" in hex.  pci_class is the
 * upper 16 bits of the class code (0x0380 for 0x038000), or -1: any
 * display (0x03xx), processing accelerator (0x12xx) or co-processor
 * (0x0b40) class of that vendor.
 */
struct gs_gpu_match {
	unsigned int vendor_id;
	int pci_class;
};

struct gs_discover_opts {
	const char *root;		/* NULL means "/" */
	const char *const *gpu_matches;	/* extra "VENDOR[:CLASS]" strings */
	unsigned int nr_gpu_matches;
	/*
	 * Called with each warning as it is found, in addition to the list
	 * kept in the topology; may be NULL.  Warnings found before a failed
	 * gs_discover() returns reach only this callback.
	 */
	void (*warn)(void *arg, const char *message);
	void *warn_arg;
	/*
	 * Leave each online CPU's core, package, SMT siblings and caches
	 * unread: about ten files per CPU, most of what discovery reads.
	 * The CPUs, their online state and nodes, the isolated lists and
	 * the PCI devices are read as always.  For a caller that places by
	 * node alone (the node policy of the unarbitrated fallback); the
	 * machine then answers gs_topo_cpu_groups_known() with false, has
	 * no cores, caches or packages, and must not be fed to the module.
	 */
	bool skip_cpu_groups;
	/*
	 * Leave each GPU's and set-aside device's device id unread, and its
	 * local_cpulist wherever numa_node names a node of the machine:
	 * two files per GPU that placement does not use.  device_id is then
	 * 0, and local_cpus empty for a device whose node came from
	 * numa_node.  For the unarbitrated fallback, which places by the
	 * GPU's node; never for a listing (gpusched topo) or gpuschedd.
	 */
	bool skip_gpu_details;
};

/*
 * Parses "VENDOR[:CLASS]" (1-4 hex digits each, "0x" optional: "1af4",
 * "1234:0380").  Returns 0, or -EINVAL for bad syntax, vendor 0xffff, or an
 * ASPEED/Matrox vendor, whose display functions are never GPUs.
 */
int gs_gpu_match_parse(const char *text, struct gs_gpu_match *match);

/*
 * Applies the BMC deny list, the default accelerator table and then the
 * @nr_extra matches in @extra to one PCI function.  Returns its verdict.
 */
enum gs_pci_verdict gs_pci_classify(unsigned int vendor_id,
				    unsigned int class_code,
				    const struct gs_gpu_match *extra,
				    unsigned int nr_extra);

/*
 * Discovers the topology below @opts->root (@opts may be NULL for the live
 * machine with defaults).  Returns 0 and sets *@topo, -EINVAL for a
 * malformed extra match, -ENOENT (or the open error) when the root has no
 * sys/devices/system/cpu/cpuN directories, or -ENOMEM.  Missing or
 * malformed files elsewhere are warnings, never failures.
 */
int gs_discover(const struct gs_discover_opts *opts, struct gs_machine **topo);

/* Frees everything gs_discover() returned (NULL is allowed). */
void gs_machine_free(struct gs_machine *topo);

/*
 * Returns whether the machine's cores, packages, SMT siblings and caches
 * were read: false after gs_discover_opts.skip_cpu_groups.
 */
bool gs_topo_cpu_groups_known(const struct gs_machine *topo);

/*
 * Whether a 16-bit PCI class (0x0302 of 0x030200) is one that makes GPUs:
 * display (0x03xx), processing accelerator (0x12xx) or co-processor
 * (0x0b40).
 */
bool gs_pci_class_is_accelerator(unsigned int pci_class);

/* Returns the number of CPUs with a cpuN directory (online or not). */
unsigned int gs_topo_nr_cpus(const struct gs_machine *topo);

/* Returns CPU number @index in ascending id order, or NULL. */
const struct gs_machine_cpu *gs_topo_cpu(const struct gs_machine *topo,
				 unsigned int index);

/* Returns the CPU with id @id, or NULL when there is no cpu@id directory. */
const struct gs_machine_cpu *gs_topo_cpu_by_id(const struct gs_machine *topo,
				       unsigned int id);

/* Returns the set of usable CPUs: online, with a cpuN directory. */
const struct gs_bitmap *gs_topo_online_cpus(const struct gs_machine *topo);

/* Returns the set of isolated CPUs (isolcpus=, empty when none). */
const struct gs_bitmap *gs_topo_isolated_cpus(const struct gs_machine *topo);

/* Returns the set of nohz_full CPUs (empty when none). */
const struct gs_bitmap *gs_topo_nohz_full_cpus(const struct gs_machine *topo);

/* Returns the number of physical cores with an online CPU. */
unsigned int gs_topo_nr_cores(const struct gs_machine *topo);

/* Returns the number of distinct last-level cache groups. */
unsigned int gs_topo_nr_llcs(const struct gs_machine *topo);

/* Returns the number of distinct packages of online CPUs. */
unsigned int gs_topo_nr_packages(const struct gs_machine *topo);

/* Returns the number of NUMA nodes. */
unsigned int gs_topo_nr_nodes(const struct gs_machine *topo);

/* Returns node number @index in ascending id order, or NULL. */
const struct gs_machine_node *gs_topo_node(const struct gs_machine *topo,
				   unsigned int index);

/* Returns the node with id @id, or NULL. */
const struct gs_machine_node *gs_topo_node_by_id(const struct gs_machine *topo,
					 unsigned int id);

/* Returns the distance from node id @from to node id @to, or -1 if unknown. */
int gs_topo_node_distance(const struct gs_machine *topo, unsigned int from,
			  unsigned int to);

/*
 * Returns whether @node has memory but no CPUs, online or not (Grace
 * Hopper GPU memory).
 */
bool gs_node_is_memory_only(const struct gs_machine_node *node);

/* Returns the number of GPUs. */
unsigned int gs_topo_nr_gpus(const struct gs_machine *topo);

/* Returns GPU number @index in PCI address order, or NULL. */
const struct gs_pci_device *gs_topo_gpu(const struct gs_machine *topo,
					unsigned int index);

/*
 * Returns the number of display and accelerator-class PCI devices that
 * are not GPUs (BMC displays, unmatched vendors), kept so that a user can
 * be told why a device was not counted.
 */
unsigned int gs_topo_nr_ignored_devices(const struct gs_machine *topo);

/* Returns ignored device number @index in PCI address order, or NULL. */
const struct gs_pci_device *
gs_topo_ignored_device(const struct gs_machine *topo, unsigned int index);

/* Returns the number of warnings discovery produced. */
unsigned int gs_topo_nr_warnings(const struct gs_machine *topo);

/* Returns warning number @index, or NULL. */
const char *gs_topo_warning(const struct gs_machine *topo, unsigned int index);

#endif /* GPUSCHED_DISCOVER_H */
