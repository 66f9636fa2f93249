// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched: the command-line face of gpusched.  `topo` shows what the GPUs
 * are near, `status` what the module holds, `plan` what the placement
 * engine would do, `exec` binds a worker before its program starts, and
 * `pin`/`unpin` act on running tasks.  This file dispatches the
 * subcommands and holds what they share: the common options, discovery
 * with its warnings, opening the device, tables and JSON.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libgpusched.h"
#include "snapshot.h"

struct cli_table {
	unsigned int nr_columns, nr_rows, room;
	char **cells;		/* (nr_rows + 1) x nr_columns, the header first */
};

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "topo", cmd_topo, "GPUs, their NUMA nodes and local CPUs, node distances" },
	{ "status", cmd_status, "pins the module holds, by GPU, and free local cores" },
	{ "plan", cmd_plan, "the placement the engine would make for a job" },
	{ "exec", cmd_exec, "pin this worker near its GPU, then run a program" },
	{ "pin", cmd_pin, "pin a running process or thread near a GPU" },
	{ "unpin", cmd_unpin, "end the pin of a process or thread" },
	{ "monitor", cmd_monitor, "per-task migrations, time per node, run-queue latency (BPF)" },
	{ "bench", cmd_bench, "measure what placement policies do to a stand-in training job" },
};

/*
 * One line on stderr in one write(2), so that the lines of the ranks of a
 * job that share a log file do not break into each other.  The line is
 * put together first and handed over in one fwrite(): stderr is
 * unbuffered, and glibc writes a block given to it that way at once,
 * where its printf functions write in chunks of 128 bytes from 2.37 on.
 */
static void cli_message(const char *prefix, const char *fmt, va_list ap)
{
	size_t prefix_len = strlen(prefix), len = 0;
	char *text = NULL, *line = NULL;
	va_list again;
	int text_len;

	va_copy(again, ap);
	text_len = vasprintf(&text, fmt, ap);
	if (text_len >= 0) {
		len = prefix_len + (size_t)text_len + 1;
		line = malloc(len);
	}
	if (line) {
		memcpy(line, prefix, prefix_len);
		memcpy(line + prefix_len, text, (size_t)text_len);
		line[len - 1] = '\n';
		fwrite(line, 1, len, stderr);
	} else {
		/* No memory for the line: in pieces, then. */
		fputs(prefix, stderr);
		vfprintf(stderr, fmt, again);
		fputc('\n', stderr);
	}
	va_end(again);
	free(line);
	if (text_len >= 0)
		free(text);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_message("gpusched: ", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_message("gpusched: warning: ", fmt, ap);
	va_end(ap);
}

int cli_common_option(struct cli_common *common, int opt, const char *arg)
{
	struct gs_gpu_match match;

	switch (opt) {
	case CLI_OPT_SYSFS_ROOT:
		common->sysfs_root = arg;
		return 1;
	case CLI_OPT_DEVICE:
		common->device = arg;
		return 1;
	case CLI_OPT_MATCH:
		if (gs_gpu_match_parse(arg, &match)) {
			cli_error("--match %s: expected VENDOR[:CLASS] in hex, e.g. 10de or 1234:0380 (ASPEED and Matrox displays are never GPUs)",
				  arg);
			return -1;
		}
		if (common->nr_matches == CLI_MAX_MATCHES) {
			cli_error("--match: at most %d matches", CLI_MAX_MATCHES);
			return -1;
		}
		common->matches[common->nr_matches++] = arg;
		return 1;
	case CLI_OPT_JSON:
		/* Before the command pins or measures anything it would report. */
		gs_jsonc_need();
		common->json = true;
		return 1;
	case 'v':
		common->verbose = true;
		return 1;
	}
	return 0;
}

int cli_parse_common_only(int argc, char **argv, struct cli_common *common,
			  void (*usage)(FILE *out))
{
	static const struct option options[] = { CLI_COMMON_LONG_OPTIONS, { 0 } };
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		ret = cli_common_option(common, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	if (optind != argc) {
		cli_error("unexpected argument '%s'; see `%s --help`", argv[optind], argv[0]);
		return EXIT_USAGE;
	}
	return -1;
}

int cli_parse_uint(const char *option, const char *arg, unsigned long min, unsigned long max,
		   unsigned long *value)
{
	char *end;

	errno = 0;
	*value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || *value < min || *value > max) {
		cli_error("%s %s: expected a number from %lu to %lu", option, arg, min, max);
		return -1;
	}
	return 0;
}

void cli_print_warning(void *arg, const char *message)
{
	(void)arg;
	cli_warn("%s", message);
}

int cli_discover(const struct cli_common *common, bool quiet, struct gs_machine **machine)
{
	struct gs_discover_opts opts = {
		.root = common->sysfs_root,
		.gpu_matches = common->matches,
		.nr_gpu_matches = common->nr_matches,
		.warn = quiet ? NULL : cli_print_warning,
	};
	int err = gs_discover(&opts, machine);

	if (err) {
		cli_error("%s: cannot read the topology: %s%s",
			  common->sysfs_root ? common->sysfs_root : "/sys", strerror(-err),
			  common->sysfs_root ? " (--sysfs-root must hold sys/devices/system/cpu)" : "");
		return EXIT_FAILURE_RUNTIME;
	}
	return 0;
}

int cli_open(const struct cli_common *common, unsigned int flags, bool quiet,
	     struct gpusched **gs)
{
	const char *path = common->device ? common->device : GPUSCHED_DEVICE;
	int err = gpusched_open(path, flags, gs);

	if (!err)
		return 0;
	if (err == -ENOENT || err == -ENODEV || err == -ENXIO) {
		if (!quiet)
			cli_error("%s: %s: the gpusched module is not loaded (run `modprobe gpusched`, then start gpuschedd)",
				  path, strerror(-err));
		return EXIT_NO_MODULE;
	}
	if (err == -EPROTO)
		cli_error("%s: not a gpusched device of ABI version %d; is the module older or newer than this program?",
			  path, GPUSCHED_ABI_VERSION);
	else if (err == -EACCES)
		cli_error("%s: permission denied: only root and members of the gpusched group may use it; ask an admin to add you (usermod -aG gpusched USER) and log in again",
			  path);
	else
		cli_error("%s: %s", path, strerror(-err));
	return EXIT_FAILURE_RUNTIME;
}

char *cli_cpulist(const struct gs_bitmap *bitmap)
{
	size_t size = 64;
	char *text;

	for (;;) {
		int len;

		text = malloc(size);
		if (!text)
			break;
		len = gs_bitmap_format_list(bitmap, text, size);
		if (len >= 0 && (size_t)len < size)
			return text;
		free(text);
		size *= 4;
	}
	cli_error("out of memory");
	exit(EXIT_FAILURE_RUNTIME);
}

bool cli_is_pid(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isdigit((unsigned char)*name))
			return false;
	return true;
}

char *cli_cpu_set_list(const cpu_set_t *set, size_t size)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT;
	char *text;
	int err;

	/* A cpu_set_t is an array of unsigned long: taken a word at a time. */
	err = gs_bitmap_or_words(&bitmap, (const unsigned long *)set,
				 size / sizeof(unsigned long));
	if (err) {
		cli_error("cannot list the CPUs of a set of %zu bytes: %s", size, strerror(-err));
		exit(EXIT_FAILURE_RUNTIME);
	}
	text = cli_cpulist(&bitmap);
	gs_bitmap_free(&bitmap);
	return text;
}

void cli_print_json(struct json_object *object)
{
	puts(json_object_to_json_string_ext(object, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(object);
}

static void *cli_alloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	return p;
}

static char *cli_strdup(const char *s)
{
	char *copy = strdup(s ? s : "");

	if (!copy) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	return copy;
}

struct cli_table *cli_table_new(unsigned int nr_columns, const char *const *headers)
{
	struct cli_table *table = cli_alloc(sizeof(*table));
	unsigned int i;

	table->nr_columns = nr_columns;
	table->room = 16;
	table->cells = cli_alloc(table->room * nr_columns * sizeof(*table->cells));
	for (i = 0; i < nr_columns; i++)
		table->cells[i] = cli_strdup(headers[i]);
	return table;
}

static char **table_new_row(struct cli_table *table)
{
	unsigned int row = table->nr_rows + 1;

	if (row == table->room) {
		char **cells = realloc(table->cells,
				       2 * table->room * table->nr_columns * sizeof(*cells));

		if (!cells) {
			cli_error("out of memory");
			exit(EXIT_FAILURE_RUNTIME);
		}
		table->cells = cells;
		table->room *= 2;
	}
	table->nr_rows++;
	return &table->cells[row * table->nr_columns];
}

void cli_table_row(struct cli_table *table, ...)
{
	char **cells = table_new_row(table);
	unsigned int i;
	va_list ap;

	va_start(ap, table);
	for (i = 0; i < table->nr_columns; i++)
		cells[i] = cli_strdup(va_arg(ap, const char *));
	va_end(ap);
}

void cli_table_row_cells(struct cli_table *table, const char *const *cells)
{
	char **row = table_new_row(table);
	unsigned int i;

	for (i = 0; i < table->nr_columns; i++)
		row[i] = cli_strdup(cells[i]);
}

void cli_table_discard(struct cli_table *table)
{
	unsigned int i;

	for (i = 0; i < (table->nr_rows + 1) * table->nr_columns; i++)
		free(table->cells[i]);
	free(table->cells);
	free(table);
}

void cli_table_print(struct cli_table *table, FILE *out)
{
	unsigned int row, column, n = table->nr_columns;
	size_t *width = cli_alloc(n * sizeof(*width));

	for (row = 0; row <= table->nr_rows; row++)
		for (column = 0; column < n; column++) {
			size_t len = strlen(table->cells[row * n + column]);

			if (len > width[column])
				width[column] = len;
		}
	for (row = 0; row <= table->nr_rows; row++) {
		for (column = 0; column < n; column++) {
			const char *cell = table->cells[row * n + column];

			if (column + 1 < n)
				fprintf(out, "%-*s  ", (int)width[column], cell);
			else
				fprintf(out, "%s\n", cell);
			free(table->cells[row * n + column]);
		}
	}
	free(width);
	free(table->cells);
	free(table);
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: gpusched COMMAND [OPTIONS]\n\n"
		"GPU-aware CPU placement for training workers.\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`gpusched COMMAND --help` describes a command; gpusched(1) has the details.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("gpusched %s\n", GPUSCHED_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		static const char prefix[] = "gpusched ";
		static char program[32];
		size_t len;

		if (strcmp(argv[1], commands[i].name))
			continue;
		/*
		 * getopt names argv[0] in its messages: "gpusched topo:
		 * unrecognized...".  Put together without snprintf(), which
		 * would map printf's pages of libc into every `gpusched exec`
		 * (research-guide.rst, "launch").
		 */
		len = strlen(commands[i].name) + 1;
		if (sizeof(prefix) - 1 + len <= sizeof(program)) {
			memcpy(program, prefix, sizeof(prefix) - 1);
			memcpy(program + sizeof(prefix) - 1, commands[i].name, len);
			argv[1] = program;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s'; `gpusched --help` lists the commands", argv[1]);
	return EXIT_USAGE;
}
