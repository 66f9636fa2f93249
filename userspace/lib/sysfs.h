/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one path context through which gpusched reads sysfs and procfs.  It
 * holds a root directory, "/" on a live machine or an extracted snapshot in
 * tests (like hwloc's HWLOC_FSROOT and lscpu's --sysfs-root), and every
 * path handed to it is relative to that root, with or without a leading
 * slash.  A missing file is information, not an error: readers return
 * -ENOENT and leave it to the caller to decide what absence means.
 */
#ifndef GPUSCHED_SYSFS_H
#define GPUSCHED_SYSFS_H

#include "cpulist.h"

/* Largest file the readers accept; sysfs attributes are at most a page. */
#define GS_SYSFS_MAX_FILE_SIZE	(1u << 20)

struct gs_sysfs;

/*
 * Opens @root (NULL means "/") as the root of every later path.  Returns
 * 0 and sets *@sysfs, or -errno when @root is not an openable directory.
 */
int gs_sysfs_open(struct gs_sysfs **sysfs, const char *root);

/* Closes the root and frees @sysfs (NULL is allowed). */
void gs_sysfs_close(struct gs_sysfs *sysfs);

/*
 * Returns the root as given without trailing slashes ("" for "/"), so
 * that "%s/%s" with a relative path names the file a user would open.
 */
const char *gs_sysfs_root(const struct gs_sysfs *sysfs);

/*
 * Reads the whole file @path into a NUL-terminated buffer that the caller
 * frees.  Returns the length read, -ENOENT when the file does not exist,
 * -EFBIG beyond GS_SYSFS_MAX_FILE_SIZE, -ENOMEM, or the -errno of the
 * failed open or read (-EACCES, -EISDIR, -EIO...).  A first read that
 * returns less than the 255 bytes it asks for is taken as the whole file,
 * as sysfs, procfs and local files give it: not for a pipe or a file that
 * is still being written.
 */
int gs_sysfs_read_text(struct gs_sysfs *sysfs, const char *path, char **text);

/*
 * Reads a decimal int ("-1\n", "42\n").  Returns 0, -EINVAL when the file
 * holds anything else, -ERANGE when the number does not fit an int, or a
 * gs_sysfs_read_text() error.
 */
int gs_sysfs_read_int(struct gs_sysfs *sysfs, const char *path, int *value);

/*
 * Reads a hex number of up to eight digits with or without "0x", as PCI
 * vendor, device and class files hold it.  Returns 0, -EINVAL, -ERANGE or
 * a gs_sysfs_read_text() error.
 */
int gs_sysfs_read_hex(struct gs_sysfs *sysfs, const char *path,
		      unsigned int *value);

/*
 * Reads a cpulist file ("0-3,8") into @cpus.  Returns 0, a
 * gs_bitmap_parse_list() error, or a gs_sysfs_read_text() error; on error
 * @cpus is unchanged.
 */
int gs_sysfs_read_cpulist(struct gs_sysfs *sysfs, const char *path,
			  struct gs_bitmap *cpus);

/*
 * Reads a hex cpumask file ("ff,ffffffff") into @cpus.  Returns 0, a
 * gs_bitmap_parse_mask() error, or a gs_sysfs_read_text() error; on error
 * @cpus is unchanged.
 */
int gs_sysfs_read_cpumask(struct gs_sysfs *sysfs, const char *path,
			  struct gs_bitmap *cpus);

/*
 * Lists the entries of directory @dir named @prefix followed by a decimal
 * number without leading zeros ("node0", "cpu12", "index3"; not "cpufreq"),
 * whatever their type.  Sets *@ids to a malloc'ed array of the numbers in
 * ascending order (NULL when there are none) and returns how many there
 * are, or -errno (-ENOENT when @dir does not exist, -ENOTDIR, -ENOMEM).
 */
int gs_sysfs_list_ids(struct gs_sysfs *sysfs, const char *dir,
		      const char *prefix, unsigned int **ids);

/*
 * Lists every entry of directory @dir but "." and "..", sorted by name.
 * Sets *@names to a malloc'ed array of malloc'ed names (free it with
 * gs_sysfs_free_names()) and returns how many there are, or -errno.
 */
int gs_sysfs_list_names(struct gs_sysfs *sysfs, const char *dir,
			char ***names);

/* Frees an array returned by gs_sysfs_list_names(). */
void gs_sysfs_free_names(char **names, int count);

#endif /* GPUSCHED_SYSFS_H */
