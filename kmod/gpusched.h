/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between the files of gpusched.ko.  Nothing here is
 * visible to userspace; the ABI lives in the uapi header.
 */
#ifndef _GPUSCHED_H
#define _GPUSCHED_H

#define GPUSCHED_VERSION "0.1.0"

int gpusched_sysfs_init(void);
void gpusched_sysfs_exit(void);

#endif /* _GPUSCHED_H */
