// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery of PCI devices: every function of sys/bus/pci/devices is
 * classified by the accelerator match table (BMC displays never count),
 * and the GPUs and the display or accelerator functions set aside get
 * their ids, numa_node and local CPUs and a node, decided from numa_node
 * or, failing that, from local_cpulist.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover_internal.h"

static const struct gs_cpus_file pci_files[] = {
	{ "local_cpulist", false },
	{ "local_cpus", true },
	{ NULL, false },
};

/*
 * The default accelerator table.  AMD's 0x0300 (VGA) is left out on
 * purpose: Instinct accelerators present as 0x0380 or 0x1200, while AMD
 * VGA functions are desktop Radeons, APU graphics and QEMU's ati-vga;
 * a workstation that trains on a Radeon adds "1002:0300".
 */
static const struct gs_gpu_match default_gpus[] = {
	{ 0x10de, 0x0300 },	/* NVIDIA, VGA */
	{ 0x10de, 0x0302 },	/* NVIDIA, 3D controller (data-center GPUs) */
	{ 0x1002, 0x0380 },	/* AMD Instinct, display controller */
	{ 0x1002, 0x1200 },	/* AMD Instinct, processing accelerator */
	{ 0x8086, 0x0380 },	/* Intel data-center GPU */
	{ 0x1da3, 0x1200 },	/* Habana Gaudi */
};

/* Vendors whose display functions are BMC or onboard adapters, never GPUs. */
static const unsigned int bmc_display_vendors[] = {
	0x1a03,		/* ASPEED */
	0x102b,		/* Matrox */
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Returns whether @vendor_id is on the BMC display deny list. */
static bool is_bmc_display_vendor(unsigned int vendor_id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bmc_display_vendors); i++) {
		if (bmc_display_vendors[i] == vendor_id)
			return true;
	}
	return false;
}

bool gs_pci_class_is_accelerator(unsigned int pci_class)
{
	return (pci_class >> 8) == 0x03 || (pci_class >> 8) == 0x12 ||
	       pci_class == 0x0b40;
}

/* Returns whether @match covers this vendor and 16-bit class. */
static bool match_applies(const struct gs_gpu_match *match,
			  unsigned int vendor_id, unsigned int pci_class)
{
	if (match->vendor_id != vendor_id)
		return false;
	if (match->pci_class < 0)
		return gs_pci_class_is_accelerator(pci_class);
	return (unsigned int)match->pci_class == pci_class;
}

enum gs_pci_verdict gs_pci_classify(unsigned int vendor_id,
				    unsigned int class_code,
				    const struct gs_gpu_match *extra,
				    unsigned int nr_extra)
{
	unsigned int pci_class = class_code >> 8;
	unsigned int i;

	if (is_bmc_display_vendor(vendor_id))
		return gs_pci_class_is_accelerator(pci_class) ? GS_PCI_BMC_DISPLAY :
							 GS_PCI_OTHER;
	for (i = 0; i < ARRAY_SIZE(default_gpus); i++) {
		if (match_applies(&default_gpus[i], vendor_id, pci_class))
			return GS_PCI_GPU;
	}
	for (i = 0; i < nr_extra; i++) {
		if (match_applies(&extra[i], vendor_id, pci_class))
			return GS_PCI_GPU_EXTRA;
	}
	return gs_pci_class_is_accelerator(pci_class) ? GS_PCI_UNMATCHED : GS_PCI_OTHER;
}

/*
 * Reads @min..@max hex digits at *@pos into *@value and moves *@pos past
 * them.  Returns whether that many digits were there.
 */
static bool parse_hex_field(const char **pos, unsigned int min,
			    unsigned int max, unsigned int *value)
{
	const char *p = *pos;
	unsigned int digits = 0, number = 0;

	for (;; p++, digits++) {
		unsigned int digit;

		if (*p >= '0' && *p <= '9')
			digit = (unsigned int)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			digit = (unsigned int)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			digit = (unsigned int)(*p - 'A' + 10);
		else
			break;
		if (digits == max)
			return false;
		number = number << 4 | digit;
	}
	if (digits < min)
		return false;
	*pos = p;
	*value = number;
	return true;
}

/* Moves *@pos past an optional "0x" or "0X". */
static void skip_hex_prefix(const char **pos)
{
	if ((*pos)[0] == '0' && ((*pos)[1] == 'x' || (*pos)[1] == 'X'))
		*pos += 2;
}

int gs_gpu_match_parse(const char *text, struct gs_gpu_match *match)
{
	const char *p = text;
	unsigned int vendor_id, pci_class;

	skip_hex_prefix(&p);
	if (!parse_hex_field(&p, 1, 4, &vendor_id) || vendor_id == 0xffff ||
	    is_bmc_display_vendor(vendor_id))
		return -EINVAL;
	if (*p == '\0') {
		match->vendor_id = vendor_id;
		match->pci_class = -1;
		return 0;
	}
	if (*p++ != ':')
		return -EINVAL;
	skip_hex_prefix(&p);
	if (!parse_hex_field(&p, 1, 4, &pci_class) || *p != '\0')
		return -EINVAL;
	match->vendor_id = vendor_id;
	match->pci_class = (int)pci_class;
	return 0;
}

/*
 * Parses a sysfs PCI device name, "DDDD:BB:SS.F" with a domain of four or
 * more hex digits.  Returns whether @name is one.
 */
static bool parse_pci_address(const char *name, struct gs_pci_device *dev)
{
	const char *p = name;

	if (!parse_hex_field(&p, 4, 8, &dev->domain) || *p++ != ':' ||
	    !parse_hex_field(&p, 2, 2, &dev->bus) || *p++ != ':' ||
	    !parse_hex_field(&p, 2, 2, &dev->slot) || dev->slot > 0x1f ||
	    *p++ != '.' || !parse_hex_field(&p, 1, 1, &dev->function) ||
	    dev->function > 7 || *p)
		return false;
	snprintf(dev->address, sizeof(dev->address), "%s", name);
	return true;
}

/*
 * Returns the index of the one node whose online CPUs are exactly the
 * online CPUs in @local, or -1.  Comparing online CPUs only makes old
 * kernels (whose node masks keep offline CPUs) and new ones agree.
 */
static int node_with_cpus(struct gs_discovery *d, const struct gs_bitmap *local)
{
	struct gs_machine *topo = d->topo;
	struct gs_bitmap want = GS_BITMAP_INIT, have = GS_BITMAP_INIT;
	int found = -1;
	unsigned int i;

	if (gs_bitmap_copy(&want, local)) {
		d->error = -ENOMEM;
		return -1;
	}
	gs_bitmap_and(&want, &topo->online_cpus);
	for (i = 0; i < topo->nr_nodes && !gs_bitmap_empty(&want); i++) {
		if (gs_bitmap_copy(&have, &topo->nodes[i].cpus)) {
			d->error = -ENOMEM;
			break;
		}
		gs_bitmap_and(&have, &topo->online_cpus);
		if (!gs_bitmap_equal(&want, &have))
			continue;
		if (found >= 0) {	/* two nodes claim the same CPUs */
			found = -1;
			break;
		}
		found = (int)i;
	}
	gs_bitmap_free(&want);
	gs_bitmap_free(&have);
	return found;
}

/* Returns how many nodes have at least one online CPU. */
static unsigned int nr_cpu_nodes(const struct gs_machine *topo)
{
	unsigned int i, count = 0;

	for (i = 0; i < topo->nr_nodes; i++) {
		if (gs_bitmap_intersects(&topo->nodes[i].cpus, &topo->online_cpus))
			count++;
	}
	return count;
}

/* Whether @dev's numa_node names a node of the machine: then it is the device's node. */
static bool numa_node_is_known(const struct gs_discovery *d, const struct gs_pci_device *dev)
{
	return dev->numa_node >= 0 &&
	       gs_machine_node_index(d->topo, (unsigned int)dev->numa_node) >= 0;
}

/*
 * Decides the node of a PCI device in directory @dir: its numa_node when
 * that names a node; else the node whose CPUs are exactly local_cpulist;
 * else unknown, with a warning.
 */
static void resolve_pci_node(struct gs_discovery *d, struct gs_pci_device *dev,
			     const char *dir, int local_err)
{
	struct gs_machine *topo = d->topo;
	char *list;
	int index;

	dev->node = -1;
	dev->node_source = GS_PCI_NODE_UNKNOWN;
	dev->local_cpus_whole_machine =
		nr_cpu_nodes(topo) > 1 && !gs_bitmap_empty(&dev->local_cpus) &&
		gs_bitmap_subset(&topo->online_cpus, &dev->local_cpus);

	if (numa_node_is_known(d, dev)) {
		dev->node = dev->numa_node;
		dev->node_source = GS_PCI_NODE_FROM_NUMA_NODE;
		return;
	}
	if (dev->numa_node >= 0)
		gs_discovery_warn(d, "%s/%s/numa_node: node %d does not exist; the node is taken from local_cpulist",
				  root_of(d), dir, dev->numa_node);
	if (gs_bitmap_empty(&dev->local_cpus)) {
		gs_discovery_warn(d, "%s/%s: numa_node is %d and local_cpulist is %s; the node is unknown",
				  root_of(d), dir, dev->numa_node,
				  local_err == -ENOENT ? "missing" :
				  local_err ? "unusable" : "empty");
		return;
	}
	index = node_with_cpus(d, &dev->local_cpus);
	if (index >= 0) {
		dev->node = (int)topo->nodes[index].id;
		dev->node_source = GS_PCI_NODE_FROM_LOCAL_CPUS;
		return;
	}
	list = gs_discovery_cpulist_text(d, &dev->local_cpus);
	if (!list)
		return;
	if (dev->local_cpus_whole_machine)
		gs_discovery_warn(d, "%s/%s/local_cpulist: %s covers the whole machine, which is no locality hint, and numa_node is %d; the node is unknown",
				  root_of(d), dir, list, dev->numa_node);
	else
		gs_discovery_warn(d, "%s/%s/local_cpulist: %s is not the CPU list of one node, and numa_node is %d; the node is unknown",
				  root_of(d), dir, list, dev->numa_node);
	free(list);
}

/*
 * Reads the ids, numa_node and local CPUs of a GPU or ignored device.
 * Missing numa_node (a kernel without NUMA) means -1; a missing device id
 * is reported and left 0.  Under skip_gpu_details the device id is not
 * read, nor local_cpulist when numa_node names a node.
 */
static void read_pci_device(struct gs_discovery *d, struct gs_pci_device *dev,
			    const char *dir)
{
	bool details = !d->opts->skip_gpu_details;
	char *path;
	int err;

	if (details) {
		path = gs_discovery_path(d, "%s/device", dir);
		if (!path)
			return;
		err = gs_discovery_read_hex(d, path, &dev->device_id,
					    "the device id is taken as 0");
		if (err == -ENOENT)
			gs_discovery_warn(d, "%s/%s: missing; the device id is taken as 0",
					  root_of(d), path);
		free(path);
	}

	path = gs_discovery_path(d, "%s/numa_node", dir);
	if (!path)
		return;
	if (gs_discovery_read_int(d, path, &dev->numa_node, "numa_node is taken as -1"))
		dev->numa_node = -1;
	if (dev->numa_node < -1) {
		gs_discovery_warn(d, "%s/%s: %d is not a node id; numa_node is taken as -1",
				  root_of(d), path, dev->numa_node);
		dev->numa_node = -1;
	}
	free(path);

	/* Unread, local_cpus stays empty: resolve_pci_node() goes by numa_node. */
	err = 0;
	if (details || !numa_node_is_known(d, dev))
		err = gs_discovery_read_cpus(d, dir, pci_files, &dev->local_cpus,
					     "the device's local CPUs are unknown");
	resolve_pci_node(d, dev, dir, err);
	/* Like node cpulists, local_cpulist may name offline or absent CPUs. */
	gs_bitmap_and(&dev->local_cpus, &d->topo->online_cpus);
}

/* Appends @dev to @list, taking over its bitmap; returns 0 or -ENOMEM. */
static int append_device(struct gs_pci_device **list, unsigned int *count,
			 const struct gs_pci_device *dev)
{
	struct gs_pci_device *bigger;

	bigger = realloc(*list, (*count + 1) * sizeof(**list));
	if (!bigger)
		return -ENOMEM;
	*list = bigger;
	bigger[(*count)++] = *dev;
	return 0;
}

/*
 * qsort() order of PCI devices, returns <0, 0 or >0: numeric PCI bus order,
 * which is also CUDA's order under CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
static int compare_pci_address(const void *a, const void *b)
{
	const struct gs_pci_device *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->function != y->function)
		return x->function < y->function ? -1 : 1;
	return 0;
}

/*
 * Whether gs_pci_classify() can give a function of 16-bit class
 * @pci_class anything but GS_PCI_OTHER, whatever its vendor: only for a
 * display, accelerator or co-processor class, or the class an extra match
 * names.
 */
static bool class_may_be_kept(const struct gs_discovery *d, unsigned int pci_class)
{
	unsigned int i;

	if (gs_pci_class_is_accelerator(pci_class))
		return true;
	for (i = 0; i < d->nr_matches; i++) {
		if (d->matches[i].pci_class >= 0 &&
		    (unsigned int)d->matches[i].pci_class == pci_class)
			return true;
	}
	return false;
}

/*
 * Classifies one entry of the PCI device directory and, for a GPU or an
 * ignored display/accelerator, reads and records it.
 */
static void discover_pci_device(struct gs_discovery *d, const char *name)
{
	struct gs_machine *topo = d->topo;
	struct gs_pci_device dev;
	char *dir, *path;
	int err;

	memset(&dev, 0, sizeof(dev));
	dev.mem_node = -1;
	if (!parse_pci_address(name, &dev)) {
		gs_discovery_warn(d, "%s/" PCI_DIR "/%s: not a PCI address; skipped",
				  root_of(d), name);
		return;
	}
	dir = gs_discovery_path(d, PCI_DIR "/%s", name);
	if (!dir)
		return;

	/*
	 * Every PCI function has both files: without them it cannot be
	 * classified.  The class comes first: most functions (bridges, NICs,
	 * a Xeon's hundreds of uncore functions) are of a class no vendor
	 * makes a GPU or an ignored device of, and their vendor is not read.
	 */
	path = gs_discovery_path(d, "%s/class", dir);
	err = path ? gs_discovery_read_hex(d, path, &dev.class_code, "the device is skipped") :
		     -ENOMEM;
	if (err == -ENOENT)
		gs_discovery_warn(d, "%s/%s: missing; the device is skipped", root_of(d), path);
	free(path);
	if (err || !class_may_be_kept(d, dev.class_code >> 8))
		goto out;
	path = gs_discovery_path(d, "%s/vendor", dir);
	err = path ? gs_discovery_read_hex(d, path, &dev.vendor_id, "the device is skipped") :
		     -ENOMEM;
	if (err == -ENOENT)
		gs_discovery_warn(d, "%s/%s: missing; the device is skipped", root_of(d), path);
	free(path);
	if (err)
		goto out;

	dev.verdict = gs_pci_classify(dev.vendor_id, dev.class_code,
				      d->matches, d->nr_matches);
	if (dev.verdict == GS_PCI_OTHER)
		goto out;
	gs_bitmap_init(&dev.local_cpus);
	d->quiet = dev.verdict != GS_PCI_GPU && dev.verdict != GS_PCI_GPU_EXTRA;
	read_pci_device(d, &dev, dir);
	d->quiet = false;
	if (dev.verdict == GS_PCI_GPU || dev.verdict == GS_PCI_GPU_EXTRA)
		err = append_device(&topo->gpus, &topo->nr_gpus, &dev);
	else
		err = append_device(&topo->ignored, &topo->nr_ignored, &dev);
	if (err) {
		gs_bitmap_free(&dev.local_cpus);
		d->error = err;
	}
out:
	free(dir);
}

/*
 * Reads every PCI function and sorts what it keeps; returns 0 or -ENOMEM.
 * A machine without a PCI directory has no GPU.
 */
int gs_discover_pci(struct gs_discovery *d)
{
	struct gs_machine *topo = d->topo;
	char **names = NULL;
	int nr_names, i;

	nr_names = gs_sysfs_list_names(d->sysfs, PCI_DIR, &names);
	if (nr_names == -ENOMEM)
		return nr_names;
	if (nr_names < 0) {
		if (nr_names != -ENOENT)
			gs_discovery_warn(d, "%s/" PCI_DIR ": %s; no GPU is found",
					  root_of(d), strerror(-nr_names));
		return 0;
	}
	for (i = 0; i < nr_names && !d->error; i++)
		discover_pci_device(d, names[i]);
	gs_sysfs_free_names(names, nr_names);
	if (topo->nr_gpus)
		qsort(topo->gpus, topo->nr_gpus, sizeof(*topo->gpus),
		      compare_pci_address);
	if (topo->nr_ignored)
		qsort(topo->ignored, topo->nr_ignored, sizeof(*topo->ignored),
		      compare_pci_address);
	return d->error;
}

/* Parses the caller's extra matches; returns 0, -EINVAL (warned) or -ENOMEM. */
int gs_discover_gpu_matches(struct gs_discovery *d)
{
	unsigned int i, count = d->opts->nr_gpu_matches;

	if (!count)
		return 0;
	d->matches = calloc(count, sizeof(*d->matches));
	if (!d->matches)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		const char *text = d->opts->gpu_matches[i];

		if (!text || gs_gpu_match_parse(text, &d->matches[i])) {
			gs_discovery_warn(d, "GPU match \"%s\": not VENDOR[:CLASS] in hex, or an ASPEED/Matrox vendor, whose displays are never GPUs",
					  text ? text : "(null)");
			return -EINVAL;
		}
	}
	d->nr_matches = count;
	return 0;
}
