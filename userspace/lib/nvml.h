/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What NVIDIA's management library knows of each GPU, loaded with
 * dlopen() when it is there: the UUID, which CUDA_VISIBLE_DEVICES=GPU-...
 * names, so the module's topology carries it and launchers can match a
 * UUID list to a PCI function; and, on machines whose GPU memory is a NUMA
 * node of its own (Grace Hopper, Grace Blackwell), that node.  NVML is
 * never a build or run dependency: a machine without it (no NVIDIA
 * driver, AMD GPUs, a test host) simply learns nothing from it.
 */
#ifndef GPUSCHED_NVML_H
#define GPUSCHED_NVML_H

#include <stdint.h>

/* The library gs_nvml_uuids() loads; GPUSCHED_NVML_LIBRARY overrides it. */
#define GS_NVML_LIBRARY		"libnvidia-ml.so.1"

/* Bytes of the message buffer gs_nvml_uuids() fills. */
#define GS_NVML_MESSAGE_SIZE	256

/* What NVML says of one GPU. */
struct gs_nvml_gpu {
	uint8_t uuid[16];	/* all zero when unknown */
	/*
	 * nvmlDeviceGetNumaNodeId(): the node holding the GPU's memory, -1
	 * where GPU memory is no NUMA node (NVML says "not supported") or
	 * the driver predates the call.
	 */
	int mem_node;
};

/*
 * Looks up the @nr PCI functions in @pci_addresses ("0000:3b:00.0", as
 * sysfs and discovery name them) and writes what NVML knows of them to
 * @gpus[0..@nr-1].  Every entry starts unknown (zero UUID, mem_node -1); a
 * device NVML does not know (not an NVIDIA GPU), or a UUID in an unknown
 * form, stays so.
 *
 * Returns 0, and then @message is "" or says which devices NVML could
 * not answer for; -ENOENT when the library cannot be loaded, which is no
 * error for callers (@message says why, for a debug log); -EOPNOTSUPP when
 * it lacks a function gpusched needs; -EIO when nvmlInit_v2() fails (the
 * driver is not loaded: @message has NVML's reason).  @message holds
 * GS_NVML_MESSAGE_SIZE bytes.
 */
int gs_nvml_lookup(unsigned int nr, const char *const *pci_addresses,
		   struct gs_nvml_gpu *gpus, char *message);

/*
 * NVML's last complete answer, kept so that a look at the machine after a
 * CPU or memory hotplug does not load and initialise NVML again: where
 * GPUs run without persistence mode, nvmlInit_v2() alone can take longer
 * than the whole rest of the look.  Zero-initialise it; free it with
 * gs_nvml_cache_clear().
 */
struct gs_nvml_cache {
	unsigned int nr;		/* GPUs answered for; 0: nothing kept */
	char **addresses;		/* their PCI addresses, in order */
	struct gs_nvml_gpu *gpus;	/* NVML's answer for each */
	unsigned long asked;		/* times NVML itself was asked */
};

/*
 * gs_nvml_lookup() through @cache: when @cache holds an answer for the
 * same @nr addresses in the same order, copies it to @gpus and returns 0
 * with @message "" without loading NVML.  Otherwise asks NVML, and keeps
 * the answer only when the lookup returned 0 with @message "" (every
 * device answered for, or not NVIDIA's), so that a failure, a driver not
 * yet loaded or a device NVML could not answer for is asked about again
 * at the next look.  Returns what gs_nvml_lookup() returns.  Keeping the
 * answer needs memory; without it the answer is simply not kept.  A
 * lookup of no GPUs (@nr 0) is never kept.
 */
int gs_nvml_cache_lookup(struct gs_nvml_cache *cache, unsigned int nr,
			 const char *const *pci_addresses, struct gs_nvml_gpu *gpus,
			 char *message);

/*
 * Forgets the kept answer (the next lookup asks NVML) and frees it;
 * @cache->asked is kept.  Call it when GPUs may have been replaced at
 * the same addresses, and before @cache goes.
 */
void gs_nvml_cache_clear(struct gs_nvml_cache *cache);

#endif /* GPUSCHED_NVML_H */
