/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gpusched: GPU-aware CPU placement hints, userspace ABI of /dev/gpusched.
 *
 * Every command is one ioctl whose argument is a struct that starts with
 * __u32 size.  The caller sets size to sizeof() the struct it was compiled
 * with; the module accepts any size from the command's first version up,
 * zero-fills what an older caller did not send and refuses (E2BIG) a newer
 * caller's non-zero fields that it does not understand.  Results are copied
 * back for min(caller's size, module's size) bytes.  Fields named
 * __reserved must be zero and unknown flag bits give EINVAL, so that both
 * can be given a meaning later without breaking anyone.
 */
#ifndef _UAPI_LINUX_GPUSCHED_H
#define _UAPI_LINUX_GPUSCHED_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** define GPUSCHED_TYPE - ioctl type byte of /dev/gpusched, unused in the kernel tree. */
#define GPUSCHED_TYPE		0xB9

/** define GPUSCHED_ABI_VERSION - bumped only for incompatible changes, never for additions. */
#define GPUSCHED_ABI_VERSION	1

enum {
	GPUSCHED_CMD_BASE = 0x00,
	GPUSCHED_CMD_GET_INFO = GPUSCHED_CMD_BASE,
};

/**
 * struct gpusched_get_info - ioctl(GPUSCHED_IOC_GET_INFO)
 * @size: sizeof(struct gpusched_get_info)
 * @flags: must be 0
 * @abi_version: output, GPUSCHED_ABI_VERSION of the loaded module
 * @nr_cpu_ids: output, number of possible CPU ids; every CPU mask exchanged
 *              with the module holds this many bits
 * @nr_node_ids: output, number of possible NUMA node ids
 * @__reserved: must be 0
 * @features: output, GPUSCHED_FEATURE_* bits of the commands and flags this
 *            module implements beyond the ones of @abi_version 1
 *
 * The handshake a launcher makes before it relies on anything else: it
 * needs no privilege and has no side effect.
 */
struct gpusched_get_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 nr_cpu_ids;
	__u32 nr_node_ids;
	__u32 __reserved;
	__aligned_u64 features;
};

#define GPUSCHED_IOC_GET_INFO	_IO(GPUSCHED_TYPE, GPUSCHED_CMD_GET_INFO)

#endif /* _UAPI_LINUX_GPUSCHED_H */
