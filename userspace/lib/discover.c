// SPDX-License-Identifier: GPL-2.0
/*
 * Topology discovery from sysfs: gs_discover() and the machine it returns.
 * It reads, below a movable root, the CPU directories (online state, core,
 * package, SMT siblings, caches), the isolated and nohz_full lists, the
 * NUMA node directories (enumerated, never assumed to be 0..N-1) and the
 * PCI functions, and turns them into one struct gs_machine.  Real machines
 * and kernels disagree on details: old kernels print masks where new ones
 * print lists, offline CPUs lose their topology, firmware leaves numa_node
 * at -1, BMCs bring a display adapter.  Each such case has one documented
 * answer (see Documentation/discovery.rst), and whatever cannot be answered
 * becomes a warning naming the file and the value, so that discovery never
 * stops half-way on a machine it was not tested on.  This file runs the
 * stages in order (discover_cpus.c, discover_nodes.c, discover_pci.c),
 * frees the result and answers the accessors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover_internal.h"

/* bsearch() order of CPUs: returns <0, 0 or >0 as @key's id is below, at or above. */
static int compare_cpu_id(const void *key, const void *element)
{
	unsigned int id = *(const unsigned int *)key;
	const struct gs_machine_cpu *cpu = element;

	return id < cpu->id ? -1 : id > cpu->id;
}

/* Returns the CPU with id @id, or NULL. */
struct gs_machine_cpu *gs_machine_find_cpu(const struct gs_machine *topo, unsigned int id)
{
	return bsearch(&id, topo->cpus, topo->nr_cpus, sizeof(*topo->cpus),
		       compare_cpu_id);
}

/* bsearch() order of nodes, like compare_cpu_id(). */
static int compare_node_id(const void *key, const void *element)
{
	unsigned int id = *(const unsigned int *)key;
	const struct gs_machine_node *node = element;

	return id < node->id ? -1 : id > node->id;
}

/* Returns the index of node @id in topo->nodes, or -1. */
int gs_machine_node_index(const struct gs_machine *topo, unsigned int id)
{
	const struct gs_machine_node *node;

	node = bsearch(&id, topo->nodes, topo->nr_nodes, sizeof(*topo->nodes),
		       compare_node_id);
	return node ? (int)(node - topo->nodes) : -1;
}

int gs_discover(const struct gs_discover_opts *opts, struct gs_machine **topo)
{
	static const struct gs_discover_opts defaults;
	struct gs_discovery d = { .opts = opts ? opts : &defaults };
	int err;

	d.topo = calloc(1, sizeof(*d.topo));
	if (!d.topo)
		return -ENOMEM;
	err = gs_discover_gpu_matches(&d);
	if (err)
		goto fail;
	err = gs_sysfs_open(&d.sysfs, d.opts->root);
	if (err) {
		if (d.opts->warn) {
			char message[512];

			/* No topology to keep it in: only the callback hears of it. */
			snprintf(message, sizeof(message), "%s: %s",
				 d.opts->root ? d.opts->root : "/", strerror(-err));
			d.opts->warn(d.opts->warn_arg, message);
		}
		goto fail;
	}
	err = gs_discover_cpus(&d);
	if (err)
		goto fail;
	gs_discover_isolation(&d);
	err = d.error ? d.error : gs_discover_nodes(&d);
	if (err)
		goto fail;
	err = gs_discover_pci(&d);
	if (!err)
		gs_discover_gpu_memory(&d);
	if (!err)
		err = d.error;
	if (err)
		goto fail;
	gs_sysfs_close(d.sysfs);
	free(d.matches);
	free(d.node_cpus_unread);
	*topo = d.topo;
	return 0;
fail:
	gs_sysfs_close(d.sysfs);
	free(d.matches);
	free(d.node_cpus_unread);
	gs_machine_free(d.topo);
	return err;
}

void gs_machine_free(struct gs_machine *topo)
{
	unsigned int i;

	if (!topo)
		return;
	for (i = 0; i < topo->nr_cpus; i++)
		gs_bitmap_free(&topo->cpus[i].siblings);
	free(topo->cpus);
	for (i = 0; i < topo->nr_nodes; i++) {
		gs_bitmap_free(&topo->nodes[i].cpus);
		gs_bitmap_free(&topo->nodes[i].unusable_cpus);
		free(topo->nodes[i].distances);
	}
	free(topo->nodes);
	for (i = 0; i < topo->nr_gpus; i++)
		gs_bitmap_free(&topo->gpus[i].local_cpus);
	free(topo->gpus);
	for (i = 0; i < topo->nr_ignored; i++)
		gs_bitmap_free(&topo->ignored[i].local_cpus);
	free(topo->ignored);
	gs_bitmap_free(&topo->online_cpus);
	gs_bitmap_free(&topo->isolated_cpus);
	gs_bitmap_free(&topo->nohz_full_cpus);
	for (i = 0; i < topo->nr_warnings; i++)
		free(topo->warnings[i]);
	free(topo->warnings);
	free(topo);
}

bool gs_topo_cpu_groups_known(const struct gs_machine *topo)
{
	return topo->cpu_groups_known;
}

unsigned int gs_topo_nr_cpus(const struct gs_machine *topo)
{
	return topo->nr_cpus;
}

const struct gs_machine_cpu *gs_topo_cpu(const struct gs_machine *topo,
				 unsigned int index)
{
	return index < topo->nr_cpus ? &topo->cpus[index] : NULL;
}

const struct gs_machine_cpu *gs_topo_cpu_by_id(const struct gs_machine *topo,
				       unsigned int id)
{
	return gs_machine_find_cpu(topo, id);
}

const struct gs_bitmap *gs_topo_online_cpus(const struct gs_machine *topo)
{
	return &topo->online_cpus;
}

const struct gs_bitmap *gs_topo_isolated_cpus(const struct gs_machine *topo)
{
	return &topo->isolated_cpus;
}

const struct gs_bitmap *gs_topo_nohz_full_cpus(const struct gs_machine *topo)
{
	return &topo->nohz_full_cpus;
}

unsigned int gs_topo_nr_cores(const struct gs_machine *topo)
{
	return topo->nr_cores;
}

unsigned int gs_topo_nr_llcs(const struct gs_machine *topo)
{
	return topo->nr_llcs;
}

unsigned int gs_topo_nr_packages(const struct gs_machine *topo)
{
	return topo->nr_packages;
}

unsigned int gs_topo_nr_nodes(const struct gs_machine *topo)
{
	return topo->nr_nodes;
}

const struct gs_machine_node *gs_topo_node(const struct gs_machine *topo,
				   unsigned int index)
{
	return index < topo->nr_nodes ? &topo->nodes[index] : NULL;
}

const struct gs_machine_node *gs_topo_node_by_id(const struct gs_machine *topo,
					 unsigned int id)
{
	int index = gs_machine_node_index(topo, id);

	return index < 0 ? NULL : &topo->nodes[index];
}

int gs_topo_node_distance(const struct gs_machine *topo, unsigned int from,
			  unsigned int to)
{
	int from_index = gs_machine_node_index(topo, from);
	int to_index = gs_machine_node_index(topo, to);
	const struct gs_machine_node *node;

	if (from_index < 0 || to_index < 0)
		return -1;
	node = &topo->nodes[from_index];
	if ((unsigned int)to_index >= node->nr_distances)
		return -1;
	return node->distances[to_index];
}

bool gs_node_is_memory_only(const struct gs_machine_node *node)
{
	return node->has_memory && gs_bitmap_empty(&node->cpus) &&
	       gs_bitmap_empty(&node->unusable_cpus);
}

unsigned int gs_topo_nr_gpus(const struct gs_machine *topo)
{
	return topo->nr_gpus;
}

const struct gs_pci_device *gs_topo_gpu(const struct gs_machine *topo,
					unsigned int index)
{
	return index < topo->nr_gpus ? &topo->gpus[index] : NULL;
}

unsigned int gs_topo_nr_ignored_devices(const struct gs_machine *topo)
{
	return topo->nr_ignored;
}

const struct gs_pci_device *
gs_topo_ignored_device(const struct gs_machine *topo, unsigned int index)
{
	return index < topo->nr_ignored ? &topo->ignored[index] : NULL;
}

unsigned int gs_topo_nr_warnings(const struct gs_machine *topo)
{
	return topo->nr_warnings;
}

const char *gs_topo_warning(const struct gs_machine *topo, unsigned int index)
{
	return index < topo->nr_warnings ? topo->warnings[index] : NULL;
}
