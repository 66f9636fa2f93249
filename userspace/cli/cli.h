/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the subcommands of the gpusched CLI share: the options every
 * subcommand takes, the aligned table printer, JSON output and the exit
 * codes documented in gpusched(1).
 */
#ifndef GPUSCHED_CLI_H
#define GPUSCHED_CLI_H

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cpulist.h"
#include "discover.h"
#include "jsonc_dl.h"

/* Exit codes of every subcommand; gpusched(1) lists them. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_RUNTIME = 1,	/* the operation failed */
	EXIT_USAGE = 2,			/* bad command line */
	EXIT_NO_MODULE = 3,		/* /dev/gpusched is missing */
	EXIT_EXEC_NOT_EXECUTABLE = 126,	/* as env(1): found, cannot run */
	EXIT_EXEC_NOT_FOUND = 127,	/* as env(1): no such program */
};

#define CLI_MAX_MATCHES	32

/* Options every subcommand accepts. */
struct cli_common {
	const char *sysfs_root;		/* NULL: the live machine */
	const char *device;		/* NULL: /dev/gpusched */
	const char *matches[CLI_MAX_MATCHES];
	unsigned int nr_matches;
	bool json;
	bool verbose;
};

/*
 * Handles one of the common options (the CLI_COMMON_* getopt values);
 * returns 1 when @opt was one, 0 when not, -1 after printing a usage
 * error.
 */
int cli_common_option(struct cli_common *common, int opt, const char *arg);

#define CLI_OPT_SYSFS_ROOT	0x1000
#define CLI_OPT_DEVICE		0x1001
#define CLI_OPT_MATCH		0x1002
#define CLI_OPT_JSON		0x1003

#define CLI_COMMON_LONG_OPTIONS						\
	{ "sysfs-root", required_argument, NULL, CLI_OPT_SYSFS_ROOT },	\
	{ "device", required_argument, NULL, CLI_OPT_DEVICE },		\
	{ "match", required_argument, NULL, CLI_OPT_MATCH },		\
	{ "json", no_argument, NULL, CLI_OPT_JSON },			\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "help", no_argument, NULL, 'h' }

/*
 * Parses a command line of common options only (topo, status).  Returns
 * -1 to go on, or the exit code to return (after usage or an error).
 */
int cli_parse_common_only(int argc, char **argv, struct cli_common *common,
			  void (*usage)(FILE *out));

/*
 * Parses @arg, the value of @option, as a decimal number in @min..@max.
 * Returns 0, or -1 after saying what was expected.
 */
int cli_parse_uint(const char *option, const char *arg, unsigned long min, unsigned long max,
		   unsigned long *value);

/* Prints "gpusched: " and the message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "gpusched: warning: " and the message to stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Discovers the machine the common options name, printing discovery's
 * warnings (unless @quiet) to stderr.  Returns 0 or an exit code after
 * printing why.
 */
int cli_discover(const struct cli_common *common, bool quiet, struct gs_machine **machine);

/* Prints a discovery warning (a gs_discover_opts.warn callback). */
void cli_print_warning(void *arg, const char *message);

/*
 * Opens the device.  Returns 0; EXIT_NO_MODULE after printing that the
 * module is not loaded (unless @quiet); another exit code after printing.
 */
struct gpusched;
int cli_open(const struct cli_common *common, unsigned int flags, bool quiet,
	     struct gpusched **gs);

/* Formats @bitmap as a cpulist into a static-free, caller-freed string. */
char *cli_cpulist(const struct gs_bitmap *bitmap);

/*
 * Formats a cpu_set_t of @size bytes, a whole number of unsigned longs as
 * CPU_ALLOC_SIZE() gives, as a cpulist; the caller frees it.
 */
char *cli_cpu_set_list(const cpu_set_t *set, size_t size);

/* Whether @name, an entry of /proc, is a process id: digits only. */
bool cli_is_pid(const char *name);

/* Prints @object as pretty JSON on stdout and frees it. */
void cli_print_json(struct json_object *object);

/* An aligned text table: add the header, then rows, then print. */
struct cli_table;
struct cli_table *cli_table_new(unsigned int nr_columns, const char *const *headers);
/* Appends a row: nr_columns const char * cells (copied). */
void cli_table_row(struct cli_table *table, ...);
/* Appends a row from an array of nr_columns cells (copied). */
void cli_table_row_cells(struct cli_table *table, const char *const *cells);
/* Prints with two spaces between columns, the last column unpadded, and frees. */
void cli_table_print(struct cli_table *table, FILE *out);
/* Frees a table without printing it (the --json path). */
void cli_table_discard(struct cli_table *table);

int cmd_topo(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_unpin(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif /* GPUSCHED_CLI_H */
