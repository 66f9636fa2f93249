// SPDX-License-Identifier: GPL-2.0
/*
 * What the NVIDIA driver adds to discovery: the NUMA node that holds a
 * GPU's own memory where that memory is a CPU-less node of the machine
 * (Grace Hopper, Grace Blackwell).  The driver gives it per GPU in
 * /proc/driver/nvidia/gpus/DOMAIN:BUS:SLOT.FUNCTION/numa_status:
 *
 *	Node:      2
 *	Status:    online
 *
 * followed, once online, by the memory's address and size.  Only an
 * online node is taken: until the driver onlines it, the node has no
 * memory to bind to.  GPUs of other vendors, and NVIDIA GPUs whose memory
 * is no NUMA node, have no such file.  The driver's directory is listed
 * once, and numa_status is read only for the GPUs it lists: a machine
 * without the driver costs one failed open, not one per GPU.  A directory
 * that exists but cannot be listed is read GPU by GPU, as it was before
 * the listing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover_internal.h"

#define NVIDIA_GPUS_DIR	"proc/driver/nvidia/gpus"

/*
 * Finds "@key <value>" at the start of a line of @text and returns the
 * value with its leading blanks skipped, or NULL.  The value runs to the
 * end of its line.
 */
static const char *field_value(const char *text, const char *key)
{
	size_t len = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, len))
			return line + len + strspn(line + len, " \t");
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

/* Whether the @len bytes at @word are @expected. */
static bool word_is(const char *word, size_t len, const char *expected)
{
	return len == strlen(expected) && !strncmp(word, expected, len);
}

/*
 * Reads one GPU's numa_status into @dev->mem_node.  A missing file says
 * nothing; a malformed one, a node that is not online yet, and a node the
 * machine has no memory on are each one warning, and the GPU keeps no
 * memory node.
 */
static void read_numa_status(struct gs_discovery *d, struct gs_pci_device *dev)
{
	const char *consequence = "the GPU's memory node is not known";
	const struct gs_machine_node *node;
	const char *node_text, *status;
	char *path, *text, *end;
	size_t status_len;
	long id;
	int err;

	path = gs_discovery_path(d, NVIDIA_GPUS_DIR "/%s/numa_status", dev->address);
	if (!path)
		return;
	err = gs_discovery_read_string(d, path, &text, consequence);
	if (err)
		goto out_path;
	node_text = field_value(text, "Node:");
	status = field_value(text, "Status:");
	if (!node_text || !status) {
		gs_discovery_warn(d, "%s/%s: no \"Node:\" or no \"Status:\" line; %s",
				  root_of(d), path, consequence);
		goto out_text;
	}
	status_len = strcspn(status, " \t\n");
	/* A GPU whose memory is no NUMA node says "disabled": nothing to report. */
	if (word_is(status, status_len, "disabled"))
		goto out_text;
	errno = 0;
	id = strtol(node_text, &end, 10);
	if (errno || end == node_text || (*end && *end != '\n' && *end != ' ') ||
	    id < 0 || id > 0xffff) {
		gs_discovery_warn(d, "%s/%s: the Node: line holds no node id; %s",
				  root_of(d), path, consequence);
		goto out_text;
	}
	if (!word_is(status, status_len, "online")) {
		gs_discovery_warn(d, "%s/%s: node %ld is \"%.*s\", not online; %s until it is",
				  root_of(d), path, id, (int)(status_len > 32 ? 32 : status_len),
				  status, "the GPU's memory node is not used");
		goto out_text;
	}
	node = gs_topo_node_by_id(d->topo, (unsigned int)id);
	if (!node || !node->has_memory) {
		gs_discovery_warn(d, "%s/%s: node %ld %s; %s", root_of(d), path, id,
				  node ? "has no memory in " NODE_DIR "/has_memory" :
				  "is not in " NODE_DIR, consequence);
		goto out_text;
	}
	dev->mem_node = (int)id;
out_text:
	free(text);
out_path:
	free(path);
}

/* Whether @address is one of the @count @names. */
static bool listed(char **names, int count, const char *address)
{
	int i;

	for (i = 0; i < count; i++)
		if (!strcmp(names[i], address))
			return true;
	return false;
}

void gs_discover_gpu_memory(struct gs_discovery *d)
{
	char **names = NULL;
	unsigned int i;
	int count;

	if (!d->topo->nr_gpus)
		return;
	count = gs_sysfs_list_names(d->sysfs, NVIDIA_GPUS_DIR, &names);
	if (count == -ENOMEM)
		d->error = -ENOMEM;
	if (count == -ENOENT || count == -ENOMEM)
		return;
	/*
	 * A directory that cannot be listed (no read permission, not a
	 * directory) may still have files to open: each GPU's is tried, and
	 * warned about, as if it were listed.
	 */
	for (i = 0; i < d->topo->nr_gpus && !d->error; i++)
		if (count < 0 || listed(names, count, d->topo->gpus[i].address))
			read_numa_status(d, &d->topo->gpus[i]);
	if (count > 0)
		gs_sysfs_free_names(names, count);
}
