// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery of NUMA nodes: the nodeN directories (enumerated, never
 * assumed to be 0..N-1, or one node 0 on a kernel without NUMA), each
 * node's CPUs, memory and distance row, the node of every CPU, and the
 * split of each node's CPUs into usable ones and the offline or absent
 * ones its cpulist may still name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "discover_internal.h"

static const struct gs_cpus_file node_files[] = {
	{ "cpulist", false },
	{ "cpumap", true },
	{ NULL, false },
};

/*
 * Returns whether the node in directory @dir has memory, from the
 * "Node N MemTotal: X kB" line of its meminfo (kernels before 3.8 have no
 * has_memory list).  Without a usable meminfo it warns and says yes: the
 * kernel only makes directories for online nodes, and an online node
 * without CPUs exists for its memory.
 */
static bool node_meminfo_has_memory(struct gs_discovery *d, const char *dir)
{
	const char *consequence = "the node is taken to have memory";
	unsigned long long kib;
	char *path, *text, *line, *number, *end;
	bool has_memory = true;

	path = gs_discovery_path(d, "%s/meminfo", dir);
	if (!path)
		return true;
	if (gs_discovery_read_required_string(d, path, &text, consequence)) {
		free(path);
		return true;
	}
	line = strstr(text, "MemTotal:");
	number = line ? line + strlen("MemTotal:") : NULL;
	if (!line) {
		gs_discovery_warn(d, "%s/%s: no MemTotal line; %s", root_of(d), path,
				  consequence);
	} else {
		errno = 0;
		kib = strtoull(number, &end, 10);
		if (errno || end == number)
			gs_discovery_warn(d, "%s/%s: MemTotal is not a number; %s",
					  root_of(d), path, consequence);
		else
			has_memory = kib > 0;
	}
	free(text);
	free(path);
	return has_memory;
}

/*
 * Reads the distance row of @node (directory @dir): one distance per
 * online node, in ascending node id order, which is the order of
 * topo->nodes.  A row of any other length is not trusted.
 */
static void read_node_distances(struct gs_discovery *d, struct gs_machine_node *node,
				const char *dir)
{
	const char *consequence = "distances from this node are unknown";
	unsigned int nr_nodes = d->topo->nr_nodes, count = 0;
	char shown[SHOWN_VALUE_SIZE];
	char *path, *text, *p, *end;
	long value;

	path = gs_discovery_path(d, "%s/distance", dir);
	if (!path)
		return;
	if (gs_discovery_read_required_string(d, path, &text, consequence)) {
		free(path);
		return;
	}
	node->distances = calloc(nr_nodes, sizeof(*node->distances));
	if (!node->distances) {
		d->error = -ENOMEM;
		goto out;
	}
	for (p = text; *p; p = end + strspn(end, " \t")) {
		errno = 0;
		value = strtol(p, &end, 10);
		if (end == p || errno || value < 0 || value > INT_MAX ||
		    (*end && *end != ' ' && *end != '\t')) {
			gs_discovery_show_text(text, shown, sizeof(shown));
			gs_discovery_warn(d, "%s/%s: \"%s\" is not a list of distances; %s",
					  root_of(d), path, shown, consequence);
			goto bad;
		}
		if (count < nr_nodes)
			node->distances[count] = (int)value;
		count++;
	}
	if (count != nr_nodes) {
		gs_discovery_show_text(text, shown, sizeof(shown));
		gs_discovery_warn(d, "%s/%s: \"%s\" has %u distances for %u nodes; %s",
				  root_of(d), path, shown, count, nr_nodes, consequence);
		goto bad;
	}
	node->nr_distances = nr_nodes;
	goto out;
bad:
	free(node->distances);
	node->distances = NULL;
out:
	free(text);
	free(path);
}

/*
 * Without node directories (a kernel built without CONFIG_NUMA) the
 * machine is one node 0 that holds every CPU and all memory.
 */
static int single_node_fallback(struct gs_discovery *d, int err)
{
	struct gs_machine *topo = d->topo;
	struct gs_machine_node *node;
	unsigned int i;

	gs_discovery_warn(d, "%s/" NODE_DIR ": %s; the machine is taken as one node 0 with every CPU and all memory",
			  root_of(d), err == -ENOENT ? "missing (a kernel without NUMA)" :
			  err ? strerror(-err) : "no nodeN directory");
	node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	topo->nodes = node;
	topo->nr_nodes = 1;
	node->has_memory = true;
	node->distances = malloc(sizeof(*node->distances));
	if (!node->distances)
		return -ENOMEM;
	node->distances[0] = 10;	/* the ACPI SLIT distance of a node to itself */
	node->nr_distances = 1;
	for (i = 0; i < topo->nr_cpus; i++) {
		topo->cpus[i].node = 0;
		if (gs_bitmap_set(&node->cpus, topo->cpus[i].id))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Gives each CPU its node: from the nodes' CPU lists, else from the
 * cpuN/nodeM link, which also names the node of an offline CPU (newer
 * kernels drop offline CPUs from node cpulists).  A CPU found through its
 * link joins its node's set, so that a node lists its offline CPUs the
 * same way on every kernel, and a node whose own list was unreadable gets
 * its CPUs.
 */
static void assign_cpu_nodes(struct gs_discovery *d)
{
	struct gs_machine *topo = d->topo;
	struct gs_bitmap unplaced = GS_BITMAP_INIT;
	unsigned int i, j, *links;
	int cpu_id, nr_links, index;

	for (i = 0; i < topo->nr_nodes; i++) {
		struct gs_machine_node *node = &topo->nodes[i];

		gs_bitmap_for_each(cpu_id, &node->cpus) {
			struct gs_machine_cpu *cpu;

			cpu = gs_machine_find_cpu(topo, (unsigned int)cpu_id);
			if (!cpu)
				continue;
			if (cpu->node < 0)
				cpu->node = (int)node->id;
			else
				gs_discovery_warn(d, "%s/" NODE_DIR "/node%u/cpulist: CPU %d is also in node %d; it stays in node %d",
						  root_of(d), node->id, cpu_id, cpu->node,
						  cpu->node);
		}
	}
	for (i = 0; i < topo->nr_cpus && !d->error; i++) {
		struct gs_machine_cpu *cpu = &topo->cpus[i];
		char *dir;

		if (cpu->node >= 0)
			continue;
		dir = gs_discovery_path(d, CPU_DIR "/cpu%u", cpu->id);
		if (!dir)
			break;
		links = NULL;
		nr_links = gs_sysfs_list_ids(d->sysfs, dir, "node", &links);
		if (nr_links == -ENOMEM)
			d->error = -ENOMEM;
		for (j = 0; nr_links > 0 && j < (unsigned int)nr_links; j++) {
			index = gs_machine_node_index(topo, links[j]);
			if (index < 0)
				continue;
			cpu->node = (int)links[j];
			if (gs_bitmap_set(&topo->nodes[index].cpus, cpu->id))
				d->error = -ENOMEM;
			break;
		}
		free(links);
		free(dir);
		if (cpu->node < 0 && cpu->online &&
		    gs_bitmap_set(&unplaced, cpu->id))
			d->error = -ENOMEM;
	}
	gs_discovery_warn_cpus(d, &unplaced, "nodeM",
			       "no node's cpulist and no cpuN/nodeM link",
			       "their node is unknown");
	gs_bitmap_free(&unplaced);
}

/*
 * Moves every CPU of a node's set that is offline or has no cpuN
 * directory to its unusable set.  Old kernels and powerpc keep offline
 * CPUs in node cpulists (a POWER9 with SMT off lists 0-87 for a node
 * whose online CPUs are 0-15), and a cpulist may name hotplug slots that
 * hold no CPU; nothing that places or shows a node's CPUs may use them.
 */
static void split_unusable_cpus(struct gs_discovery *d)
{
	struct gs_machine *topo = d->topo;
	unsigned int i;
	int cpu;

	for (i = 0; i < topo->nr_nodes; i++) {
		struct gs_machine_node *node = &topo->nodes[i];

		gs_bitmap_for_each(cpu, &node->cpus) {
			if (gs_bitmap_test(&topo->online_cpus, (unsigned int)cpu))
				continue;
			if (gs_bitmap_set(&node->unusable_cpus, (unsigned int)cpu))
				d->error = -ENOMEM;
		}
		gs_bitmap_and(&node->cpus, &topo->online_cpus);
	}
}

/* Reads every nodeN directory and gives CPUs their node; returns 0 or -ENOMEM. */
static int read_nodes(struct gs_discovery *d)
{
	struct gs_bitmap with_memory = GS_BITMAP_INIT;
	struct gs_machine *topo = d->topo;
	unsigned int *ids = NULL, i;
	int nr_ids, memory_err;

	nr_ids = gs_sysfs_list_ids(d->sysfs, NODE_DIR, "node", &ids);
	if (nr_ids == -ENOMEM)
		return nr_ids;
	if (nr_ids <= 0) {
		free(ids);
		return single_node_fallback(d, nr_ids);
	}
	topo->nodes = calloc((size_t)nr_ids, sizeof(*topo->nodes));
	d->node_cpus_unread = calloc((size_t)nr_ids, sizeof(*d->node_cpus_unread));
	if (!topo->nodes || !d->node_cpus_unread) {
		free(ids);
		return -ENOMEM;
	}
	topo->nr_nodes = (unsigned int)nr_ids;
	for (i = 0; i < topo->nr_nodes; i++)
		topo->nodes[i].id = ids[i];
	free(ids);

	memory_err = gs_sysfs_read_cpulist(d->sysfs, NODE_DIR "/has_memory",
					   &with_memory);
	if (memory_err && memory_err != -ENOENT)
		gs_discovery_warn_file(d, NODE_DIR "/has_memory", memory_err, "a node list",
				       "each node's meminfo is used instead");

	for (i = 0; i < topo->nr_nodes && !d->error; i++) {
		struct gs_machine_node *node = &topo->nodes[i];
		char *dir;
		int err;

		dir = gs_discovery_path(d, NODE_DIR "/node%u", node->id);
		if (!dir)
			break;
		err = gs_discovery_read_cpus(d, dir, node_files, &node->cpus,
					     "its CPUs are taken from the cpuN/nodeM links");
		if (err == -ENOENT)
			gs_discovery_warn(d, "%s/%s/cpulist: missing, and no cpumap either; its CPUs are taken from the cpuN/node%u links",
					  root_of(d), dir, node->id);
		d->node_cpus_unread[i] = err != 0;
		if (!memory_err)
			node->has_memory = gs_bitmap_test(&with_memory, node->id);
		else
			node->has_memory = node_meminfo_has_memory(d, dir);
		read_node_distances(d, node, dir);
		free(dir);
	}
	gs_bitmap_free(&with_memory);
	if (!d->error)
		assign_cpu_nodes(d);
	return d->error;
}

/*
 * Reads every nodeN directory, gives CPUs their node and splits each
 * node's CPUs into usable and unusable; returns 0 or -ENOMEM.
 */
int gs_discover_nodes(struct gs_discovery *d)
{
	int err = read_nodes(d);

	if (!err)
		split_unusable_cpus(d);
	return err ? err : d->error;
}
