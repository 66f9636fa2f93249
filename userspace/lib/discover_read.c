// SPDX-License-Identifier: GPL-2.0
/*
 * How discovery reads one sysfs value: through the root's path context,
 * with a missing file left to the caller (it is information) and every
 * other problem turned into one warning that names the file, quotes the
 * value (cut, control bytes shown as '?') and says what discovery does
 * instead.  The warnings are kept in the machine and handed to the
 * caller's callback as they are found.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover_internal.h"

/*
 * Records one warning in the topology and hands it to the caller's
 * callback; a failed allocation is noted in d->error.
 */
void gs_discovery_warn(struct gs_discovery *d, const char *fmt, ...)
{
	struct gs_machine *topo = d->topo;
	char *message, **bigger;
	va_list ap;
	int len;

	if (d->quiet)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	message = malloc((size_t)len + 1);
	if (!message) {
		d->error = -ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(message, (size_t)len + 1, fmt, ap);
	va_end(ap);
	if (d->opts->warn)
		d->opts->warn(d->opts->warn_arg, message);
	bigger = realloc(topo->warnings,
			 (topo->nr_warnings + 1) * sizeof(*topo->warnings));
	if (!bigger) {
		free(message);
		d->error = -ENOMEM;
		return;
	}
	topo->warnings = bigger;
	topo->warnings[topo->nr_warnings++] = message;
}

/* Returns a malloc'ed path built like printf(), or NULL (and -ENOMEM noted). */
char *gs_discovery_path(struct gs_discovery *d, const char *fmt, ...)
{
	char *path;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	path = len < 0 ? NULL : malloc((size_t)len + 1);
	if (!path) {
		d->error = -ENOMEM;
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(path, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return path;
}

/*
 * Copies @text into @shown for a warning: trailing whitespace dropped,
 * newlines as "\n", other control bytes as '?', cut with "..." when long.
 */
void gs_discovery_show_text(const char *text, char *shown, size_t size)
{
	size_t len = strlen(text), out = 0, i;

	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (out + 2 + sizeof("...") > size) {
			memcpy(shown + out, "...", sizeof("..."));
			return;
		}
		if (c == '\n') {
			shown[out++] = '\\';
			shown[out++] = 'n';
		} else {
			shown[out++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
	}
	shown[out] = '\0';
}

/*
 * Warns that @path could not be used.  A malformed value (@err -EINVAL or
 * -ERANGE) is quoted and said not to be @what; any other error is named.
 * @consequence says what discovery does instead.
 */
void gs_discovery_warn_file(struct gs_discovery *d, const char *path, int err,
			    const char *what, const char *consequence)
{
	char shown[SHOWN_VALUE_SIZE];
	char *text;

	if (err == -ENOMEM) {
		d->error = err;
		return;
	}
	if (d->quiet)
		return;
	if (err != -EINVAL && err != -ERANGE) {
		gs_discovery_warn(d, "%s/%s: %s; %s", root_of(d), path, strerror(-err),
				  consequence);
		return;
	}
	/* Read again for the message only: the parsers keep no copy. */
	if (gs_sysfs_read_text(d->sysfs, path, &text) < 0) {
		gs_discovery_warn(d, "%s/%s: not %s; %s", root_of(d), path, what, consequence);
		return;
	}
	gs_discovery_show_text(text, shown, sizeof(shown));
	free(text);
	gs_discovery_warn(d, "%s/%s: \"%s\" is not %s; %s", root_of(d), path, shown, what,
			  consequence);
}

/* Reads a decimal int; returns 0, -ENOENT unreported, or an error it warned about. */
int gs_discovery_read_int(struct gs_discovery *d, const char *path, int *value,
			  const char *consequence)
{
	int err = gs_sysfs_read_int(d->sysfs, path, value);

	if (err && err != -ENOENT)
		gs_discovery_warn_file(d, path, err, "an integer", consequence);
	return err;
}

/* Reads a hex number; returns 0, -ENOENT unreported, or an error it warned about. */
int gs_discovery_read_hex(struct gs_discovery *d, const char *path, unsigned int *value,
			  const char *consequence)
{
	int err = gs_sysfs_read_hex(d->sysfs, path, value);

	if (err && err != -ENOENT)
		gs_discovery_warn_file(d, path, err, "a hex number", consequence);
	return err;
}

/*
 * Reads a file with surrounding whitespace removed into a malloc'ed
 * string.  Returns 0, -ENOENT unreported, or an error it warned about.
 */
int gs_discovery_read_string(struct gs_discovery *d, const char *path, char **value,
			     const char *consequence)
{
	char *text, *start, *end;
	int len;

	len = gs_sysfs_read_text(d->sysfs, path, &text);
	if (len < 0) {
		if (len != -ENOENT)
			gs_discovery_warn_file(d, path, len, "text", consequence);
		return len;
	}
	start = text + strspn(text, " \t\n");
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\n'))
		end--;
	*end = '\0';
	memmove(text, start, (size_t)(end - start) + 1);
	*value = text;
	return 0;
}

/* Like gs_discovery_read_string(), but a missing file is warned about too. */
int gs_discovery_read_required_string(struct gs_discovery *d, const char *path,
				      char **value, const char *consequence)
{
	int err = gs_discovery_read_string(d, path, value, consequence);

	if (err == -ENOENT)
		gs_discovery_warn(d, "%s/%s: missing; %s", root_of(d), path, consequence);
	return err;
}

/*
 * Reads the first of @files in directory @dir that exists into @cpus.
 * Returns 0, -ENOENT when none exists (unreported), or an error it warned
 * about; @cpus is unchanged unless 0 is returned.
 */
int gs_discovery_read_cpus(struct gs_discovery *d, const char *dir,
			   const struct gs_cpus_file *files, struct gs_bitmap *cpus,
			   const char *consequence)
{
	const struct gs_cpus_file *file;
	char *path;
	int err;

	for (file = files; file->name; file++) {
		path = gs_discovery_path(d, "%s/%s", dir, file->name);
		if (!path)
			return -ENOMEM;
		if (file->is_mask)
			err = gs_sysfs_read_cpumask(d->sysfs, path, cpus);
		else
			err = gs_sysfs_read_cpulist(d->sysfs, path, cpus);
		if (err != -ENOENT) {
			if (err)
				gs_discovery_warn_file(d, path, err, file->is_mask ?
						       "a hex CPU mask" : "a CPU list",
						       consequence);
			free(path);
			return err;
		}
		free(path);
	}
	return -ENOENT;
}

/* Formats @cpus as a malloc'ed cpulist for a warning, or NULL (-ENOMEM noted). */
char *gs_discovery_cpulist_text(struct gs_discovery *d, const struct gs_bitmap *cpus)
{
	int len = gs_bitmap_format_list(cpus, NULL, 0);
	char *text = len < 0 ? NULL : malloc((size_t)len + 1);

	if (!text) {
		d->error = -ENOMEM;
		return NULL;
	}
	gs_bitmap_format_list(cpus, text, (size_t)len + 1);
	return text;
}

/*
 * Warns once for all CPUs in @cpus, naming the file pattern rather than
 * one file per CPU: on a 512-CPU machine without cache information one
 * line says more than 512.
 */
void gs_discovery_warn_cpus(struct gs_discovery *d, const struct gs_bitmap *cpus,
			    const char *file, const char *problem,
			    const char *consequence)
{
	char *list;

	if (gs_bitmap_empty(cpus))
		return;
	list = gs_discovery_cpulist_text(d, cpus);
	if (!list)
		return;
	gs_discovery_warn(d, "%s/" CPU_DIR "/cpuN/%s: %s for CPUs %s; %s", root_of(d), file,
			  problem, list, consequence);
	free(list);
}
