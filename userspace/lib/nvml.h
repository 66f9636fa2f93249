/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GPU UUIDs from NVIDIA's management library, loaded with dlopen() when it
 * is there.  The UUID is what CUDA_VISIBLE_DEVICES=GPU-... names, so the
 * module's topology carries it and launchers can match a UUID list to a
 * PCI function.  NVML is never a build or run dependency: a machine
 * without it (no NVIDIA driver, AMD GPUs, a test host) simply gets zero
 * UUIDs.
 */
#ifndef GPUSCHED_NVML_H
#define GPUSCHED_NVML_H

#include <stdint.h>

/* The library gs_nvml_uuids() loads; GPUSCHED_NVML_LIBRARY overrides it. */
#define GS_NVML_LIBRARY		"libnvidia-ml.so.1"

/* Bytes of the message buffer gs_nvml_uuids() fills. */
#define GS_NVML_MESSAGE_SIZE	256

/*
 * Looks up the UUIDs of the @nr PCI functions in @pci_addresses
 * ("0000:3b:00.0", as sysfs and discovery name them) and writes them to
 * @uuids[0..@nr-1].  Every entry is zeroed first; one NVML does not know
 * (not an NVIDIA GPU, or a UUID in an unknown form) stays zero.
 *
 * Returns 0, and then @message is "" or says which devices NVML could
 * not answer for; -ENOENT when the library cannot be loaded, which is no
 * error for callers (@message says why, for a debug log); -EOPNOTSUPP when
 * it lacks a function gpusched needs; -EIO when nvmlInit_v2() fails (the
 * driver is not loaded: @message has NVML's reason).  @message holds
 * GS_NVML_MESSAGE_SIZE bytes.
 */
int gs_nvml_uuids(unsigned int nr, const char *const *pci_addresses,
		  uint8_t (*uuids)[16], char *message);

#endif /* GPUSCHED_NVML_H */
