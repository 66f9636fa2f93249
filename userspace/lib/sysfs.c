// SPDX-License-Identifier: GPL-2.0
/*
 * Reading small files below a movable root.  Every path is opened relative
 * to a directory file descriptor of the root, so the same code reads the
 * live /sys and an extracted snapshot.  Where the kernel has openat2() the
 * lookup uses RESOLVE_IN_ROOT: a snapshot's absolute or "../" symlinks then
 * stay inside the snapshot instead of silently reading the test machine's
 * own /sys.  Older kernels and seccomp filters that refuse openat2() get a
 * plain openat(), which is exact for the live root "/".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_HEADER 1
#endif
#endif

#include "sysfs.h"

struct gs_sysfs {
	int root_fd;
	bool use_openat2;	/* cleared once the kernel refuses openat2() */
	char *root;		/* without trailing slashes, "" for "/" */
};

int gs_sysfs_open(struct gs_sysfs **sysfs, const char *root)
{
	struct gs_sysfs *ctx;
	size_t len;
	int err;

	if (!root || !*root)
		root = "/";
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->root = strdup(root);
	if (!ctx->root) {
		err = -ENOMEM;
		goto fail;
	}
	len = strlen(ctx->root);
	while (len && ctx->root[len - 1] == '/')
		ctx->root[--len] = '\0';
	ctx->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->root_fd < 0) {
		err = -errno;
		goto fail;
	}
	ctx->use_openat2 = true;
	*sysfs = ctx;
	return 0;
fail:
	free(ctx->root);
	free(ctx);
	return err;
}

void gs_sysfs_close(struct gs_sysfs *sysfs)
{
	if (!sysfs)
		return;
	close(sysfs->root_fd);
	free(sysfs->root);
	free(sysfs);
}

const char *gs_sysfs_root(const struct gs_sysfs *sysfs)
{
	return sysfs->root;
}

/* Opens @path below the root; returns a file descriptor or -errno. */
static int sysfs_open_at(struct gs_sysfs *sysfs, const char *path, int flags)
{
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
#if defined(HAVE_OPENAT2_HEADER) && defined(SYS_openat2)
	if (sysfs->use_openat2) {
		struct open_how how = {
			.flags = (unsigned long long)(flags | O_CLOEXEC),
			.resolve = RESOLVE_IN_ROOT,
		};
		int tries;

		/* EAGAIN: a concurrent rename; the kernel asks for a retry. */
		for (tries = 0; tries < 3; tries++) {
			fd = (int)syscall(SYS_openat2, sysfs->root_fd, path,
					  &how, sizeof(how));
			if (fd >= 0)
				return fd;
			if (errno != EAGAIN)
				break;
		}
		/* ENOSYS before 5.6; EPERM from container seccomp filters. */
		if (errno != ENOSYS && errno != EPERM)
			return -errno;
		sysfs->use_openat2 = false;
	}
#endif
	fd = openat(sysfs->root_fd, path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int gs_sysfs_read_text(struct gs_sysfs *sysfs, const char *path, char **text)
{
	size_t capacity = 256, len = 0;
	char *buf, *bigger;
	ssize_t n;
	int fd, err = 0;

	fd = sysfs_open_at(sysfs, path, O_RDONLY);
	if (fd < 0)
		return fd;
	buf = malloc(capacity);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 >= capacity) {
			if (capacity >= GS_SYSFS_MAX_FILE_SIZE) {
				err = -EFBIG;
				break;
			}
			bigger = realloc(buf, capacity * 2);
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			buf = bigger;
			capacity *= 2;
		}
		n = read(fd, buf + len, capacity - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/*
		 * sysfs and procfs make an attribute's whole text in one go:
		 * a first read that returns less than it asked for has all of
		 * it, and the read that would return 0 is one system call
		 * more per file, which discovery reads dozens of.
		 */
		if (len == (size_t)n && len + 1 < capacity)
			break;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*text = buf;
	return (int)len;
}

/*
 * Reads @path for a parser: returns the text with surrounding whitespace
 * removed in *@value_start (inside *@text, which the caller frees), or an
 * error.  A file with a NUL byte inside is -EINVAL: no parser would see
 * what follows it.
 */
static int read_value(struct gs_sysfs *sysfs, const char *path, char **text,
		      char **value_start)
{
	char *start, *end;
	int len;

	len = gs_sysfs_read_text(sysfs, path, text);
	if (len < 0)
		return len;
	if (strlen(*text) != (size_t)len) {
		free(*text);
		return -EINVAL;
	}
	start = *text;
	while (*start == ' ' || *start == '\t' || *start == '\n')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\n'))
		*--end = '\0';
	*value_start = start;
	return 0;
}

int gs_sysfs_read_int(struct gs_sysfs *sysfs, const char *path, int *value)
{
	char *text, *start, *end;
	long number;
	int err;

	err = read_value(sysfs, path, &text, &start);
	if (err)
		return err;
	errno = 0;
	number = strtol(start, &end, 10);
	if (end == start || *end || (*start != '-' && (*start < '0' || *start > '9')))
		err = -EINVAL;
	else if (errno == ERANGE || number < INT_MIN || number > INT_MAX)
		err = -ERANGE;
	else
		*value = (int)number;
	free(text);
	return err;
}

int gs_sysfs_read_hex(struct gs_sysfs *sysfs, const char *path,
		      unsigned int *value)
{
	unsigned int number = 0, digits = 0;
	char *text, *p;
	int err;

	err = read_value(sysfs, path, &text, &p);
	if (err)
		return err;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p; p++, digits++) {
		unsigned int digit;

		if (*p >= '0' && *p <= '9')
			digit = (unsigned int)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			digit = (unsigned int)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			digit = (unsigned int)(*p - 'A' + 10);
		else
			break;
		if (digits == 8) {
			err = -ERANGE;
			break;
		}
		number = number << 4 | digit;
	}
	if (!err && (*p || !digits))
		err = -EINVAL;
	if (!err)
		*value = number;
	free(text);
	return err;
}

/*
 * Reads @path and hands its text to @parse; a NUL inside the file is
 * malformed.  Returns 0, a negative errno from the read, or @parse's.
 */
static int sysfs_read_bitmap(struct gs_sysfs *sysfs, const char *path, struct gs_bitmap *cpus,
			     int (*parse)(struct gs_bitmap *, const char *))
{
	char *text;
	int len, err;

	len = gs_sysfs_read_text(sysfs, path, &text);
	if (len < 0)
		return len;
	err = strlen(text) == (size_t)len ? parse(cpus, text) : -EINVAL;
	free(text);
	return err;
}

int gs_sysfs_read_cpulist(struct gs_sysfs *sysfs, const char *path,
			  struct gs_bitmap *cpus)
{
	return sysfs_read_bitmap(sysfs, path, cpus, gs_bitmap_parse_list);
}

int gs_sysfs_read_cpumask(struct gs_sysfs *sysfs, const char *path,
			  struct gs_bitmap *cpus)
{
	return sysfs_read_bitmap(sysfs, path, cpus, gs_bitmap_parse_mask);
}

/* Opens directory @dir below the root; returns a stream or NULL with errno. */
static DIR *sysfs_open_dir(struct gs_sysfs *sysfs, const char *dir)
{
	DIR *stream;
	int fd;

	fd = sysfs_open_at(sysfs, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	stream = fdopendir(fd);
	if (!stream) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return stream;
}

/*
 * Returns whether @name is @prefix followed by a canonical decimal number
 * (no sign, no leading zero, at most INT_MAX), and stores the number.
 */
static bool match_numbered(const char *name, const char *prefix,
			   unsigned int *id)
{
	size_t prefix_len = strlen(prefix);
	const char *p = name + prefix_len;
	unsigned long number = 0;

	if (strncmp(name, prefix, prefix_len) || !*p)
		return false;
	if (p[0] == '0' && p[1])
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		number = number * 10 + (unsigned long)(*p - '0');
		if (number > INT_MAX)
			return false;
	}
	*id = (unsigned int)number;
	return true;
}

/* qsort() order of ids: returns <0, 0 or >0. */
static int compare_ids(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

int gs_sysfs_list_ids(struct gs_sysfs *sysfs, const char *dir,
		      const char *prefix, unsigned int **ids)
{
	unsigned int *list = NULL, *bigger, id;
	size_t count = 0, capacity = 0;
	struct dirent *entry;
	DIR *stream;
	int err = 0;

	stream = sysfs_open_dir(sysfs, dir);
	if (!stream)
		return -errno;
	while ((errno = 0, entry = readdir(stream))) {
		if (!match_numbered(entry->d_name, prefix, &id))
			continue;
		if (count == INT_MAX) {
			err = -EOVERFLOW;
			break;
		}
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 16;
			bigger = realloc(list, capacity * sizeof(*list));
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			list = bigger;
		}
		list[count++] = id;
	}
	if (!err && errno)
		err = -errno;
	closedir(stream);
	if (err) {
		free(list);
		return err;
	}
	if (count)
		qsort(list, count, sizeof(*list), compare_ids);
	*ids = list;
	return (int)count;
}

/* qsort() order of names: strcmp() of the two strings. */
static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gs_sysfs_list_names(struct gs_sysfs *sysfs, const char *dir,
			char ***names)
{
	size_t count = 0, capacity = 0;
	char **list = NULL, **bigger;
	struct dirent *entry;
	DIR *stream;
	int err = 0;

	stream = sysfs_open_dir(sysfs, dir);
	if (!stream)
		return -errno;
	while ((errno = 0, entry = readdir(stream))) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (count == INT_MAX) {
			err = -EOVERFLOW;
			break;
		}
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 16;
			bigger = realloc(list, capacity * sizeof(*list));
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			list = bigger;
		}
		list[count] = strdup(entry->d_name);
		if (!list[count]) {
			err = -ENOMEM;
			break;
		}
		count++;
	}
	if (!err && errno)
		err = -errno;
	closedir(stream);
	if (err) {
		gs_sysfs_free_names(list, (int)count);
		return err;
	}
	if (count)
		qsort(list, count, sizeof(*list), compare_names);
	*names = list;
	return (int)count;
}

void gs_sysfs_free_names(char **names, int count)
{
	int i;

	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
