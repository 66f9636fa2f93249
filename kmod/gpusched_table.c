// SPDX-License-Identifier: GPL-2.0
/*
 * Building a topology table from what the kernel knows: the one block that
 * holds a table, the CPU facts (cores, packages, nodes, online CPUs) read
 * from the kernel's own masks, and the check of each GPU record against
 * its PCI device.  Nothing here touches the module's state, so the KUnit
 * test module links this file as it is (see gpusched_kunit.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cpu.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include <linux/gpusched.h>
#include "gpusched.h"

/**
 * gpusched_table_alloc() - allocate an empty table for @nr_gpus GPUs
 * @nr_gpus: GPU records it will hold, at most GPUSCHED_MAX_GPUS
 *
 * Context: process context, may sleep.
 * Return: the table, zeroed, with every array in one block; NULL when out
 * of memory.  Free it with kvfree() (kvfree_rcu() once published).
 */
struct gpusched_table *gpusched_table_alloc(u32 nr_gpus)
{
	size_t words = BITS_TO_LONGS(nr_cpu_ids);
	struct gpusched_table *topo;
	size_t size, off_gpus, off_engine_gpus, off_cpus, off_dist, off_index, off_hk, off_online;
	size_t off_masks;

	/* One block: header, GPU records, engine GPUs, CPUs, distances, node index, masks. */
	off_gpus = ALIGN(sizeof(*topo), 8);
	off_engine_gpus = off_gpus + array_size(nr_gpus, sizeof(struct gpusched_gpu_rec));
	off_cpus = ALIGN(off_engine_gpus + array_size(nr_gpus, sizeof(struct gs_gpu)), 8);
	off_dist = off_cpus + array_size(nr_cpu_ids, sizeof(struct gs_cpu));
	off_index = off_dist + array3_size(nr_node_ids, nr_node_ids, sizeof(u32));
	off_hk = ALIGN(off_index + array_size(gs_topology_index_words(nr_cpu_ids, nr_node_ids),
					      sizeof(u32)), 8);
	off_online = off_hk + array_size(words, sizeof(unsigned long));
	off_masks = off_online + array_size(words, sizeof(unsigned long));
	size = off_masks + array_size(gs_topology_masks_words(nr_cpu_ids, nr_node_ids),
				      sizeof(unsigned long));

	topo = kvzalloc(size, GFP_KERNEL);
	if (!topo)
		return NULL;
	topo->nr_gpus = nr_gpus;
	topo->gpus = (void *)topo + off_gpus;
	topo->cpus = (void *)topo + off_cpus;
	topo->index = (void *)topo + off_index;
	topo->housekeeping = (void *)topo + off_hk;
	topo->online = (void *)topo + off_online;
	topo->masks = (void *)topo + off_masks;
	topo->engine.nr_cpus = nr_cpu_ids;
	topo->engine.nr_nodes = nr_node_ids;
	topo->engine.nr_gpus = nr_gpus;
	topo->engine.cpus = topo->cpus;
	topo->engine.distance = (void *)topo + off_dist;
	topo->engine.gpus = nr_gpus ? (void *)topo + off_engine_gpus : NULL;
	return topo;
}

/**
 * gpusched_fill_cpus() - the CPU half of the engine's snapshot
 * @topo: a table from gpusched_table_alloc() whose housekeeping mask is set
 * @llc: the last-level-cache group of every CPU as userspace gave them, or
 *	NULL to group by package
 *
 * Takes the cores, packages, nodes and online CPUs from the kernel's own
 * topology masks and indexes the CPUs by node.  Groups are named by their
 * lowest CPU, as the engine expects; the engine's validation then checks
 * what userspace gave.
 *
 * Context: cpus_read_lock() held, so that the masks stay as read.
 */
void gpusched_fill_cpus(struct gpusched_table *topo, const u32 *llc)
{
	u32 *distance = (u32 *)topo->engine.distance;
	unsigned int cpu, a, b;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct gs_cpu *c = &topo->cpus[cpu];

		/* cpu_to_node() is defined for possible CPUs only. */
		c->node = cpu_possible(cpu) ? cpu_to_node(cpu) : 0;
		if (cpu_possible(cpu) && cpu_online(cpu)) {
			c->core = cpumask_first(topology_sibling_cpumask(cpu));
			c->package = cpumask_first(topology_core_cpumask(cpu));
			c->flags = GS_CPU_ONLINE;
			__set_bit(cpu, topo->online);
		} else {
			c->core = cpu;
			c->package = cpu;
		}
		c->llc = llc ? llc[cpu] : c->package;
		if (test_bit(cpu, topo->housekeeping))
			c->flags |= GS_CPU_HOUSEKEEPING;
	}
	for (a = 0; a < nr_node_ids; a++)
		for (b = 0; b < nr_node_ids; b++)
			distance[a * nr_node_ids + b] = node_distance(a, b);
	gs_topology_index(&topo->engine, topo->index);
	gs_topology_masks(&topo->engine, topo->masks);
}

static bool gpusched_node_ok(u32 node)
{
	return node < nr_node_ids && node_online(node);
}

/**
 * gpusched_resolve_gpu() - check one GPU record against the kernel's view
 * @in: the record as userspace gave it
 * @index: its place in the command, for the log line
 * @rec: receives the GPU as resolved: the device's own node (or the one
 *	given, for a device that reports none), the memory node, the address
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL for a record that is out of range or contradicts the
 * kernel; -ENODEV when no such PCI function exists.  Each refusal logs one
 * rate-limited line naming the GPU.
 */
int gpusched_resolve_gpu(const struct gpusched_gpu *in, u32 index, struct gpusched_gpu_rec *rec)
{
	struct pci_dev *pdev;
	int dev_node;

	if (in->flags || in->bus > 0xff || in->devfn > 0xff) {
		pr_err_ratelimited("topology: GPU %u: flags 0x%x, bus %u, devfn %u out of range\n",
				   index, in->flags, in->bus, in->devfn);
		return -EINVAL;
	}
	pdev = pci_get_domain_bus_and_slot(in->domain, in->bus, in->devfn);
	if (!pdev) {
		pr_err_ratelimited("topology: GPU %u: no PCI device %04x:%02x:%02x.%u\n",
				   index, in->domain, in->bus, PCI_SLOT(in->devfn),
				   PCI_FUNC(in->devfn));
		return -ENODEV;
	}
	dev_node = dev_to_node(&pdev->dev);
	pci_dev_put(pdev);

	if (dev_node != NUMA_NO_NODE && in->node != GPUSCHED_NODE_ANY &&
	    in->node != dev_node) {
		pr_err_ratelimited("topology: GPU %u (%04x:%02x:%02x.%u): node %u given, the device is on node %d\n",
				   index, in->domain, in->bus, PCI_SLOT(in->devfn),
				   PCI_FUNC(in->devfn), in->node, dev_node);
		return -EINVAL;
	}
	if (dev_node != NUMA_NO_NODE) {
		rec->node = dev_node;
	} else if (in->node != GPUSCHED_NODE_ANY) {
		rec->node = in->node;
	} else if (num_online_nodes() == 1) {
		rec->node = first_online_node;
	} else {
		pr_err_ratelimited("topology: GPU %u (%04x:%02x:%02x.%u) reports no NUMA node; give one\n",
				   index, in->domain, in->bus, PCI_SLOT(in->devfn),
				   PCI_FUNC(in->devfn));
		return -EINVAL;
	}
	if (!gpusched_node_ok(rec->node)) {
		pr_err_ratelimited("topology: GPU %u: node %u is not online\n", index, rec->node);
		return -EINVAL;
	}

	rec->mem_node = in->mem_node == GPUSCHED_NODE_ANY ? rec->node : in->mem_node;
	if (!gpusched_node_ok(rec->mem_node) || !node_state(rec->mem_node, N_MEMORY)) {
		pr_err_ratelimited("topology: GPU %u: memory node %u is not an online node with memory\n",
				   index, in->mem_node);
		return -EINVAL;
	}
	rec->domain = in->domain;
	rec->bus = in->bus;
	rec->devfn = in->devfn;
	memcpy(rec->uuid, in->uuid, sizeof(rec->uuid));
	return 0;
}
