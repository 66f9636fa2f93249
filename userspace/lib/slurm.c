// SPDX-License-Identifier: GPL-2.0
/*
 * Slurm's numbers for a node's GPUs, and the PCI function behind each.
 *
 * SLURM_STEP_GPUS lists a step's GPUs by slurmd's index, which is the
 * position of the GPU's device file in slurmd's device list.  In Slurm
 * 22.05 with AutoDetect off, slurmd builds that list from gres.conf: every
 * "Name=" line (for all nodes) in file order, then every "NodeName=" line
 * naming this node in file order (s_p_parse_file collects the two kinds
 * into two arrays, src/common/gres.c gres_g_node_config_load), each
 * line's File= expanded as a hostlist (common_node_config_load in
 * src/plugins/gres/common/gres_common.c).  The index is not the number in
 * the file's name and not PCI order.  With AutoDetect=nvml and friends, or
 * a fake_gpus.conf, the gres/gpu plugin sorts the list by file name and by
 * NVML's links (_merge_system_gres_conf), and several GPU types in
 * slurm.conf group it by type (_merge_config); those orders come from
 * outside gres.conf, so the plugin refuses them instead of guessing.
 *
 * A device file leads to its PCI function through /sys/dev/char, or for
 * /dev/nvidiaN through the NVIDIA driver's /proc/driver/nvidia/gpus, and
 * the PCI function to the GPU of the module's topology.  The SPANK plugin
 * and `gpusched exec` under srun both resolve a task's GPU this way.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "slurm.h"
#include "sysfs.h"

#define NVIDIA_MAJOR		195
#define HOSTLIST_MAX_NAMES	65536

static int fail(char *message, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *message, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, GPUSCHED_MESSAGE_SIZE, fmt, ap);
	va_end(ap);
	return err;
}

/* ---- hostlists: "node[01-04,7]", "/dev/nvidia[0-3]", "a,b" ---- */

struct names {
	unsigned int count;
	char **names;
};

static void names_free(struct names *names)
{
	unsigned int i;

	for (i = 0; i < names->count; i++)
		free(names->names[i]);
	free(names->names);
	names->count = 0;
	names->names = NULL;
}

static int names_add(struct names *names, const char *prefix, size_t prefix_len,
		     const char *middle, const char *suffix, size_t suffix_len)
{
	char **grown, *name;

	if (names->count >= HOSTLIST_MAX_NAMES)
		return -E2BIG;
	if (asprintf(&name, "%.*s%s%.*s", (int)prefix_len, prefix, middle, (int)suffix_len,
		     suffix) < 0)
		return -ENOMEM;
	grown = realloc(names->names, (names->count + 1) * sizeof(*grown));
	if (!grown) {
		free(name);
		return -ENOMEM;
	}
	names->names = grown;
	names->names[names->count++] = name;
	return 0;
}

/* One "lo" or "lo-hi" of a bracket: numbers, zero-padded to lo's width. */
static int expand_range(struct names *names, const char *prefix, size_t prefix_len,
			const char *range, size_t range_len, const char *suffix, size_t suffix_len)
{
	char lo_text[24], middle[24];
	unsigned long lo, hi, n;
	const char *dash = memchr(range, '-', range_len);
	size_t lo_len = dash ? (size_t)(dash - range) : range_len;
	size_t i;
	int err;

	if (!lo_len || lo_len >= sizeof(lo_text) || (dash && dash + 1 == range + range_len))
		return -EINVAL;
	for (i = 0; i < range_len; i++)
		if (!isdigit((unsigned char)range[i]) && range + i != dash)
			return -EINVAL;
	memcpy(lo_text, range, lo_len);
	lo_text[lo_len] = '\0';
	lo = strtoul(lo_text, NULL, 10);
	hi = dash ? strtoul(dash + 1, NULL, 10) : lo;
	if (hi < lo || hi - lo >= HOSTLIST_MAX_NAMES)
		return -EINVAL;
	for (n = lo; n <= hi; n++) {
		snprintf(middle, sizeof(middle), "%0*lu", (int)lo_len, n);
		err = names_add(names, prefix, prefix_len, middle, suffix, suffix_len);
		if (err)
			return err;
	}
	return 0;
}

/* One comma-free piece: "prefix[ranges]suffix" or a plain name. */
static int expand_piece(struct names *names, const char *piece, size_t len)
{
	const char *open = memchr(piece, '[', len), *close, *range, *end;
	int err;

	if (!len)
		return -EINVAL;
	if (!open)
		return memchr(piece, ']', len) ? -EINVAL :
		       names_add(names, piece, len, "", "", 0);
	close = memchr(open, ']', len - (open - piece));
	if (!close || memchr(close + 1, '[', len - (close + 1 - piece)) ||
	    memchr(close + 1, ']', len - (close + 1 - piece)))
		return -EINVAL;
	for (range = open + 1; range < close; range = end + 1) {
		end = memchr(range, ',', close - range);
		if (!end)
			end = close;
		err = expand_range(names, piece, open - piece, range, end - range, close + 1,
				   len - (close + 1 - piece));
		if (err)
			return err;
	}
	return 0;
}

/* Expands a hostlist expression into names, left to right. */
static int hostlist_expand(const char *list, struct names *names)
{
	const char *piece = list, *p;
	int depth = 0, err;

	names->count = 0;
	names->names = NULL;
	for (p = list;; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		if (depth < 0 || depth > 1)
			goto bad;
		if ((*p == ',' && !depth) || !*p) {
			err = expand_piece(names, piece, p - piece);
			if (err)
				goto out;
			piece = p + 1;
		}
		if (!*p)
			break;
	}
	if (depth)
		goto bad;
	return 0;
bad:
	err = -EINVAL;
out:
	names_free(names);
	return err;
}

int gs_slurm_hostlist_match(const char *list, const char *name)
{
	struct names names;
	unsigned int i;
	int err, match = 0;

	err = hostlist_expand(list, &names);
	if (err)
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	for (i = 0; i < names.count && !match; i++)
		match = !strcmp(names.names[i], name);
	names_free(&names);
	return match;
}

/* ---- gres.conf ---- */

/* The keys of one gres.conf line that decide the GPU order. */
struct gres_line {
	unsigned int number;
	bool has_node, is_gpu;
	const char *first_key;
	char *node, *name, *file, *type, *autodetect, *multiple_files;
};

static void gres_free_files(struct gs_slurm_gres *gres)
{
	unsigned int i;

	for (i = 0; i < gres->nr_files; i++)
		free(gres->files[i]);
	free(gres->files);
	gres->files = NULL;
	gres->nr_files = 0;
}

void gs_slurm_gres_free(struct gs_slurm_gres *gres)
{
	gres_free_files(gres);
}

/*
 * Splits one logical line (comments and continuations already gone) into
 * key=value words, NUL-terminating them in place.
 */
static int gres_line_parse(char *text, struct gres_line *line, const char *path, char *message)
{
	char *p = text, *key, *value;

	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			if (!strncasecmp(key, "include", 7) && (p - key) == 7)
				return fail(message, -ENOTSUP,
					    "%s line %u: Include is not followed by the gpusched plugin; put the GPU lines in %s itself",
					    path, line->number, path);
			return fail(message, -EINVAL, "%s line %u: \"%.*s\" is not key=value", path,
				    line->number, (int)(p - key), key);
		}
		*p++ = '\0';
		if (*p == '"') {
			value = ++p;
			while (*p && *p != '"')
				p++;
			if (!*p)
				return fail(message, -EINVAL, "%s line %u: unterminated quote", path,
					    line->number);
		} else {
			value = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
		if (*p)
			*p++ = '\0';
		if (!line->first_key)
			line->first_key = key;
		if (!strcasecmp(key, "NodeName")) {
			line->has_node = true;
			line->node = value;
		} else if (!strcasecmp(key, "Name")) {
			line->name = value;
		} else if (!strcasecmp(key, "File") || !strcasecmp(key, "Files")) {
			line->file = value;
		} else if (!strcasecmp(key, "Type")) {
			line->type = value;
		} else if (!strcasecmp(key, "AutoDetect")) {
			line->autodetect = value;
		} else if (!strcasecmp(key, "MultipleFiles")) {
			line->multiple_files = value;
		}
	}
	return 0;
}

/* Appends the expanded File= of a GPU line to @gres. */
static int gres_add_files(struct gs_slurm_gres *gres, const struct gres_line *line,
			  const char *path, char *message)
{
	struct names files;
	char **grown;
	unsigned int i;
	int err;

	err = hostlist_expand(line->file, &files);
	if (err)
		return fail(message, err == -ENOMEM ? -ENOMEM : -EINVAL,
			    "%s line %u: File=%s is not a valid file list", path, line->number,
			    line->file);
	grown = realloc(gres->files, (gres->nr_files + files.count) * sizeof(*grown));
	if (!grown) {
		names_free(&files);
		return fail(message, -ENOMEM, "out of memory");
	}
	gres->files = grown;
	for (i = 0; i < files.count; i++)
		gres->files[gres->nr_files++] = files.names[i];
	free(files.names);
	return 0;
}

/* Cuts @text into logical lines: "#" comments removed, "\" continuations joined. */
static char *next_logical_line(char **cursor, unsigned int *number, unsigned int *next_number)
{
	char *start = *cursor, *in = start, *out = start;

	if (!*start)
		return NULL;
	*number = *next_number;
	for (;;) {
		if (!*in) {
			*cursor = in;
			break;
		}
		if (*in == '\n') {
			(*next_number)++;
			*cursor = in + 1;
			break;
		}
		if (*in == '\\' && in[1] == '\n') {
			(*next_number)++;
			in += 2;
			continue;
		}
		if (*in == '\\' && in[1] == '#') {
			*out++ = '#';
			in += 2;
			continue;
		}
		if (*in == '#') {
			while (*in && *in != '\n')
				in++;
			continue;
		}
		*out++ = *in++;
	}
	*out = '\0';
	return start;
}

int gs_slurm_gres_parse(const char *text, const char *path, const char *node_name,
			struct gs_slurm_gres *gres, char *message)
{
	struct gs_slurm_gres node_lines = { 0 };
	char *copy, *cursor, *logical, *first_type = NULL;
	unsigned int number = 0, next_number = 1;
	int err = 0, match;

	gres->nr_files = 0;
	gres->files = NULL;
	copy = strdup(text);
	if (!copy)
		return fail(message, -ENOMEM, "out of memory");
	cursor = copy;
	while ((logical = next_logical_line(&cursor, &number, &next_number))) {
		struct gres_line line = { .number = number };

		err = gres_line_parse(logical, &line, path, message);
		if (err)
			goto out;
		if (!line.first_key)
			continue;
		if (line.has_node && strcasecmp(line.first_key, "NodeName")) {
			err = fail(message, -EINVAL, "%s line %u: NodeName= must come first on its line",
				   path, number);
			goto out;
		}
		if (line.has_node) {
			match = gs_slurm_hostlist_match(line.node, node_name);
			if (match < 0) {
				err = fail(message, match, "%s line %u: NodeName=%s is not a valid hostlist",
					   path, number, line.node);
				goto out;
			}
			if (!match)
				continue;
		}
		if (line.autodetect && strcasecmp(line.autodetect, "off")) {
			err = fail(message, -ENOTSUP,
				   "%s line %u: AutoDetect=%s: slurmd then orders GPUs as the vendor library enumerates them, which the gpusched plugin cannot see; list the GPUs with File= and AutoDetect=off",
				   path, number, line.autodetect);
			goto out;
		}
		if (!line.name && !line.has_node)
			continue;	/* a global AutoDetect=off line */
		line.is_gpu = line.name && !strcasecmp(line.name, "gpu");
		if (line.is_gpu && line.multiple_files) {
			err = fail(message, -ENOTSUP,
				   "%s line %u: MultipleFiles= is not supported by the gpusched plugin",
				   path, number);
			goto out;
		}
		if (!line.is_gpu || !line.file)
			continue;	/* slurmd gives a GPU without File= no index */
		if (line.type) {
			if (!first_type) {
				first_type = strdup(line.type);
				if (!first_type) {
					err = fail(message, -ENOMEM, "out of memory");
					goto out;
				}
			} else if (strcmp(first_type, line.type)) {
				err = fail(message, -ENOTSUP,
					   "%s line %u: GPUs of two types (%s, %s): slurmd then orders them by the types' order in slurm.conf, which the gpusched plugin does not read",
					   path, number, first_type, line.type);
				goto out;
			}
		}
		err = gres_add_files(line.has_node ? &node_lines : gres, &line, path, message);
		if (err)
			goto out;
	}
	/* The NodeName= lines come after all the Name= lines, as slurmd reads them. */
	if (node_lines.nr_files) {
		char **grown = realloc(gres->files,
				       (gres->nr_files + node_lines.nr_files) * sizeof(*grown));

		if (!grown) {
			err = fail(message, -ENOMEM, "out of memory");
			goto out;
		}
		gres->files = grown;
		memcpy(gres->files + gres->nr_files, node_lines.files,
		       node_lines.nr_files * sizeof(*grown));
		gres->nr_files += node_lines.nr_files;
		free(node_lines.files);
		node_lines.files = NULL;
		node_lines.nr_files = 0;
	}
out:
	if (err)
		gres_free_files(gres);
	gres_free_files(&node_lines);
	free(first_type);
	free(copy);
	return err;
}

/* ---- device files to PCI functions ---- */

/* "0000:3b:00.0" and nothing else. */
static bool is_pci_address(const char *text)
{
	unsigned int domain, bus, device, function;
	char tail;

	return strlen(text) == 12 &&
	       sscanf(text, "%4x:%2x:%2x.%1x%c", &domain, &bus, &device, &function, &tail) == 4 &&
	       device < 32 && function < 8;
}

static void lower(char *text)
{
	for (; *text; text++)
		*text = tolower((unsigned char)*text);
}

/* The NVIDIA driver's GPU whose "Device Minor:" is @minor. */
static int nvidia_pci(const char *root, unsigned int minor, char *address)
{
	char dir_path[PATH_MAX], file_path[PATH_MAX + 300], line[256];
	struct dirent *entry;
	int err = -ENODEV;
	DIR *dir;

	snprintf(dir_path, sizeof(dir_path), "%s/proc/driver/nvidia/gpus", root);
	dir = opendir(dir_path);
	if (!dir)
		return -ENODEV;
	while (err && (entry = readdir(dir))) {
		unsigned int found;
		FILE *info;

		if (!is_pci_address(entry->d_name))
			continue;
		snprintf(file_path, sizeof(file_path), "%s/%s/information", dir_path, entry->d_name);
		info = fopen(file_path, "re");
		if (!info)
			continue;
		while (fgets(line, sizeof(line), info))
			if (sscanf(line, "Device Minor: %u", &found) == 1 && found == minor) {
				snprintf(address, GPUSCHED_PCI_ADDRESS_SIZE, "%.12s", entry->d_name);
				lower(address);
				err = 0;
				break;
			}
		fclose(info);
	}
	closedir(dir);
	return err;
}

int gs_slurm_chardev_pci(const char *root, const char *path, unsigned int major,
			 unsigned int minor, char *address, char *message)
{
	char link_path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t len;

	if (!strcmp(root, "/"))
		root = "";
	snprintf(link_path, sizeof(link_path), "%s/sys/dev/char/%u:%u/device", root, major, minor);
	len = readlink(link_path, target, sizeof(target) - 1);
	if (len > 0) {
		target[len] = '\0';
		base = strrchr(target, '/');
		base = base ? base + 1 : target;
		if (!is_pci_address(base))
			return fail(message, -ENODEV,
				    "%s (%u:%u): its device %s is not a PCI function", path, major,
				    minor, base);
		snprintf(address, GPUSCHED_PCI_ADDRESS_SIZE, "%.12s", base);
		lower(address);
		return 0;
	}
	if (major == NVIDIA_MAJOR) {
		if (!nvidia_pci(root, minor, address))
			return 0;
		return fail(message, -ENODEV,
			    "%s (%u:%u): no GPU of %s/proc/driver/nvidia/gpus/*/information has Device Minor: %u (is the NVIDIA driver loaded?)",
			    path, major, minor, root, minor);
	}
	return fail(message, -ENODEV, "%s (%u:%u): %s does not lead to a PCI device", path, major,
		    minor, link_path);
}

int gs_slurm_device_pci(const char *root, const char *path, char *address, char *message)
{
	struct stat st;

	if (stat(path, &st))
		return fail(message, -ENODEV, "%s: %s (a device file of gres.conf)", path,
			    strerror(errno));
	if (!S_ISCHR(st.st_mode))
		return fail(message, -ENODEV, "%s: not a character device (a device file of gres.conf)",
			    path);
	return gs_slurm_chardev_pci(root, path, major(st.st_rdev), minor(st.st_rdev), address,
				    message);
}

int gs_slurm_topology_gpu(const char *address, unsigned int nr_gpus,
			  const struct gpusched_gpu *gpus)
{
	char text[GPUSCHED_PCI_ADDRESS_SIZE];
	unsigned int i;

	for (i = 0; i < nr_gpus; i++) {
		gpusched_format_pci_address(&gpus[i], text);
		if (!strcasecmp(text, address))
			return i;
	}
	return -ENODEV;
}

/* ---- the task's own GPU ---- */

/* Counts the entries of "1,3"; -EINVAL unless each is a decimal index. */
static int gpu_list_count(const char *list)
{
	const char *p = list;
	int count = 0;

	if (!*list)
		return 0;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
		if (++count > GPUSCHED_MAX_GPUS)
			return -EINVAL;
		if (!*p)
			return count;
		if (*p++ != ',')
			return -EINVAL;
	}
}

static unsigned int gpu_list_entry(const char *list, unsigned int entry)
{
	const char *p = list;

	while (entry--)
		p = strchr(p, ',') + 1;
	return strtoul(p, NULL, 10);
}

int gs_slurm_task_gpu(const char *task_gpus, const char *step_gpus, unsigned int local_id,
		      unsigned int *gpu, char *explanation)
{
	int count = gpu_list_count(task_gpus);
	unsigned int entry;

	if (count < 0)
		return fail(explanation, -EINVAL,
			    "SLURM_STEP_GPUS=\"%s\" is not a list of GPU indices", task_gpus);
	if (!count)
		return fail(explanation, -ENOENT, "SLURM_STEP_GPUS is empty: the task has no GPU");
	if (step_gpus && strcmp(task_gpus, step_gpus)) {
		*gpu = gpu_list_entry(task_gpus, 0);
		snprintf(explanation, GPUSCHED_MESSAGE_SIZE,
			 "Slurm bound the task to GPUs %s of the step's %s: Slurm GPU %u", task_gpus,
			 step_gpus, *gpu);
		return 0;
	}
	entry = local_id % count;
	*gpu = gpu_list_entry(task_gpus, entry);
	snprintf(explanation, GPUSCHED_MESSAGE_SIZE,
		 "SLURM_LOCALID=%u -> SLURM_STEP_GPUS=%s[%u] -> Slurm GPU %u", local_id, task_gpus,
		 entry, *gpu);
	return 0;
}

int gs_slurm_resolve_gpu(const char *root, const char *gres_conf, const char *node_name,
			 const char *task_gpus, const char *step_gpus, unsigned int local_id,
			 unsigned int nr_gpus, const struct gpusched_gpu *gpus, char *explanation)
{
	char chosen[GPUSCHED_MESSAGE_SIZE], address[GPUSCHED_PCI_ADDRESS_SIZE];
	struct gs_slurm_gres gres;
	struct gs_sysfs *files;
	unsigned int slurm_gpu;
	char *text = NULL;
	int err, gpu;

	err = gs_slurm_task_gpu(task_gpus, step_gpus, local_id, &slurm_gpu, chosen);
	if (err) {
		snprintf(explanation, GPUSCHED_MESSAGE_SIZE, "%s", chosen);
		return err;
	}
	/* slurmd re-sorts its GPUs when a fake_gpus.conf sits beside gres.conf. */
	{
		const char *slash = strrchr(gres_conf, '/');
		char fake[PATH_MAX];

		snprintf(fake, sizeof(fake), "%.*sfake_gpus.conf",
			 slash ? (int)(slash - gres_conf + 1) : 0, gres_conf);
		if (!access(fake, F_OK))
			return fail(explanation, -ENOTSUP,
				    "%s exists: slurmd then sorts the GPUs by file name and links, which the gpusched plugin does not follow; remove it",
				    fake);
	}
	err = gs_sysfs_open(&files, "/");
	if (!err) {
		err = gs_sysfs_read_text(files, gres_conf, &text);
		gs_sysfs_close(files);
	}
	if (err < 0)
		return fail(explanation, err, "%s: %s (Slurm's GPU numbers are gres.conf's order)",
			    gres_conf, strerror(-err));
	err = gs_slurm_gres_parse(text, gres_conf, node_name, &gres, explanation);
	free(text);
	if (err)
		return err;
	if (slurm_gpu >= gres.nr_files) {
		err = fail(explanation, -ENODEV,
			   "Slurm GPU %u, but %s lists %u GPU device files for node %s", slurm_gpu,
			   gres_conf, gres.nr_files, node_name);
		goto out;
	}
	err = gs_slurm_device_pci(root ? root : "/", gres.files[slurm_gpu], address, explanation);
	if (err)
		goto out;
	gpu = gs_slurm_topology_gpu(address, nr_gpus, gpus);
	if (gpu < 0) {
		err = fail(explanation, -ENODEV,
			   "Slurm GPU %u (%.100s, PCI %s) is not among the %u GPUs gpuschedd gave the module (see `gpusched topo`; does gpuschedd need --match for it?)",
			   slurm_gpu, gres.files[slurm_gpu], address, nr_gpus);
		goto out;
	}
	snprintf(explanation, GPUSCHED_MESSAGE_SIZE, "%.300s (%.100s, PCI %s) -> gpusched GPU %d",
		 chosen, gres.files[slurm_gpu], address, gpu);
	err = gpu;
out:
	gs_slurm_gres_free(&gres);
	return err;
}
