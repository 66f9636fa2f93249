// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of userspace/lib/sysfs.c and userspace/lib/discover*.c against
 * sysfs trees: small trees this program writes itself (the sysfs layer,
 * a machine with CPU ids up to 4095 and node 1023), the committed synthetic
 * snapshots in userspace/tests/fixtures/ (HGX-like 8-GPU server, EPYC with
 * GPUs on nodes 7,7,5,5,3,3,1,1, Grace Blackwell memory-only nodes, an
 * isolated-CPU workstation, a malformed tree) and real machine dumps from
 * hwloc's test suite, extracted here at run time.  Expected values for the
 * real dumps come from the .lstopo.txt/.hwloc.xml references beside them.
 *
 * Usage: test_discover [FIXTURES_DIR [TARBALL_DIR]]
 *   FIXTURES_DIR defaults to $GS_FIXTURES_DIR, then to GS_FIXTURES_DIR as
 *   compiled in, then to "fixtures" beside this source file.  TARBALL_DIR
 *   (the *.tar.bz2 dumps) defaults to $GS_SYSFS_TARBALLS, then to
 *   GS_SYSFS_TARBALLS_DIR as compiled in; without one those tests SKIP.
 *   Scratch trees go to $GS_TEST_TMPDIR, else /dev/shm, else $TMPDIR.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_HEADER 1
#endif
#endif

#include "../lib/discover.h"
#include "../lib/sysfs.h"
#include "tap.h"

extern char **environ;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char *scratch_dir;	/* removed at exit */

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns a malloc'ed string built like printf(); exits on failure. */
static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *text;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	text = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(text, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return text;
}

/* Creates every missing directory above the file @path. */
static void make_parents(const char *path)
{
	char *copy = xprintf("%s", path), *slash;

	for (slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(copy, 0755) && errno != EEXIST) {
			perror(copy);
			exit(2);
		}
		*slash = '/';
	}
	free(copy);
}

/* Writes @content plus a newline to @root/@rel, as sysfs would show it. */
static void write_file(const char *root, const char *rel, const char *content)
{
	char *path = xprintf("%s/%s", root, rel);
	FILE *file = fopen(path, "w");

	/* Parents only when needed: each mkdir costs, and trees here are wide. */
	if (!file && errno == ENOENT) {
		make_parents(path);
		file = fopen(path, "w");
	}
	if (!file || fprintf(file, "%s\n", content) < 0 || fclose(file)) {
		perror(path);
		exit(2);
	}
	free(path);
}

static void make_link(const char *root, const char *rel, const char *target)
{
	char *path = xprintf("%s/%s", root, rel);

	make_parents(path);
	if (symlink(target, path)) {
		perror(path);
		exit(2);
	}
	free(path);
}

/*
 * Removes everything in the directory open as @dir_fd and closes it.  It
 * makes each directory writable first: tar keeps a dump's 0555 modes.
 */
static void remove_contents(int dir_fd)
{
	DIR *stream = fdopendir(dir_fd);
	struct dirent *entry;

	if (!stream) {
		close(dir_fd);
		return;
	}
	fchmod(dir_fd, 0700);
	while ((entry = readdir(stream))) {
		int fd;

		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (!unlinkat(dir_fd, entry->d_name, 0))
			continue;
		/* Not a file: a directory (EISDIR, or EPERM on some systems). */
		fd = openat(dir_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd >= 0) {
			remove_contents(fd);
			unlinkat(dir_fd, entry->d_name, AT_REMOVEDIR);
		}
	}
	closedir(stream);
}

static void remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

	if (fd >= 0) {
		remove_contents(fd);
		rmdir(path);
	}
}

/* Returns a new empty directory below the scratch directory. */
static char *scratch_subdir(const char *name)
{
	char *path = xprintf("%s/%s", scratch_dir, name);

	if (mkdir(path, 0755)) {
		perror(path);
		exit(2);
	}
	return path;
}

static const char *fixtures_dir;	/* the committed synthetic snapshots */

/* Returns the malloc'ed root of synthetic snapshot @name. */
static char *fixtures_root(const char *name)
{
	return xprintf("%s/%s", fixtures_dir, name);
}

/* --- checks that print what they got when they fail --- */

static char *list_text(const struct gs_bitmap *bitmap)
{
	int len = gs_bitmap_format_list(bitmap, NULL, 0);
	char *text = xmalloc((size_t)len + 1);

	gs_bitmap_format_list(bitmap, text, (size_t)len + 1);
	return text;
}

static int expect_int(long got, long expected, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int expect_int(long got, long expected, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int pass;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pass = tap_ok(got == expected, "%s is %ld", what, expected);
	if (!pass)
		tap_diag("got %ld", got);
	return pass;
}

static int expect_list(const struct gs_bitmap *bitmap, const char *expected,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int expect_list(const struct gs_bitmap *bitmap, const char *expected,
		       const char *fmt, ...)
{
	char what[256], *text = list_text(bitmap);
	va_list ap;
	int pass;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pass = tap_ok(!strcmp(text, expected), "%s is \"%s\"", what, expected);
	if (!pass)
		tap_diag("got \"%s\"", text);
	free(text);
	return pass;
}

struct cpu_expect {
	unsigned int id;
	bool online;
	int core, core_id, package, node, llc;
	const char *siblings;
};

/* One TAP line per CPU: every field, with all of them shown on failure. */
static void check_cpu(const struct gs_machine *topo, const char *machine,
		      const struct cpu_expect *want)
{
	const struct gs_machine_cpu *cpu = gs_topo_cpu_by_id(topo, want->id);
	char *siblings;
	int pass;

	if (!cpu) {
		tap_ok(0, "%s: cpu%u exists", machine, want->id);
		return;
	}
	siblings = list_text(&cpu->siblings);
	pass = cpu->online == want->online && cpu->core == want->core &&
	       cpu->core_id == want->core_id && cpu->package == want->package &&
	       cpu->node == want->node && cpu->llc == want->llc &&
	       !strcmp(siblings, want->siblings);
	if (!tap_ok(pass, "%s: cpu%u online %d core %d core_id %d package %d node %d llc %d siblings \"%s\"",
		    machine, want->id, want->online, want->core, want->core_id,
		    want->package, want->node, want->llc, want->siblings))
		tap_diag("got online %d core %d core_id %d package %d node %d llc %d siblings \"%s\"",
			 cpu->online, cpu->core, cpu->core_id, cpu->package,
			 cpu->node, cpu->llc, siblings);
	free(siblings);
}

struct node_expect {
	unsigned int id;
	bool has_memory;
	bool memory_only;
	const char *cpus;
};

static void check_node(const struct gs_machine *topo, const char *machine,
		       unsigned int index, const struct node_expect *want)
{
	const struct gs_machine_node *node = gs_topo_node(topo, index);
	char *cpus;
	int pass;

	if (!node) {
		tap_ok(0, "%s: node index %u exists", machine, index);
		return;
	}
	cpus = list_text(&node->cpus);
	pass = node->id == want->id && node->has_memory == want->has_memory &&
	       gs_node_is_memory_only(node) == want->memory_only &&
	       !strcmp(cpus, want->cpus);
	if (!tap_ok(pass, "%s: node %u of the list is node%u, memory %d, memory-only %d, CPUs \"%s\"",
		    machine, index, want->id, want->has_memory,
		    want->memory_only, want->cpus))
		tap_diag("got node%u memory %d memory-only %d CPUs \"%s\"",
			 node->id, node->has_memory,
			 gs_node_is_memory_only(node), cpus);
	free(cpus);
}

/* The CPUs the kernel names for a node but that cannot be used. */
static void check_node_unusable(const struct gs_machine *topo, const char *machine,
				unsigned int id, const char *want)
{
	const struct gs_machine_node *node = gs_topo_node_by_id(topo, id);

	if (!node) {
		tap_ok(0, "%s: node%u exists", machine, id);
		return;
	}
	expect_list(&node->unusable_cpus, want,
		    "%s: node%u's offline or absent CPUs", machine, id);
}

struct pci_expect {
	const char *address;
	unsigned int vendor_id, device_id, class_code;
	enum gs_pci_verdict verdict;
	int numa_node, node;
	enum gs_pci_node_source node_source;
	bool whole_machine;
	const char *local_cpus;
};

static void check_pci(const struct gs_pci_device *dev, const char *what,
		      const struct pci_expect *want)
{
	char *local;
	int pass;

	if (!dev) {
		tap_ok(0, "%s %s exists", what, want->address);
		return;
	}
	local = list_text(&dev->local_cpus);
	pass = !strcmp(dev->address, want->address) &&
	       dev->vendor_id == want->vendor_id &&
	       dev->device_id == want->device_id &&
	       dev->class_code == want->class_code &&
	       dev->verdict == want->verdict &&
	       dev->numa_node == want->numa_node && dev->node == want->node &&
	       dev->node_source == want->node_source &&
	       dev->local_cpus_whole_machine == want->whole_machine &&
	       !strcmp(local, want->local_cpus);
	if (!tap_ok(pass, "%s %s %04x:%04x class %06x verdict %d numa_node %d node %d source %d whole %d local \"%s\"",
		    what, want->address, want->vendor_id, want->device_id,
		    want->class_code, want->verdict, want->numa_node,
		    want->node, want->node_source, want->whole_machine,
		    want->local_cpus))
		tap_diag("got %s %04x:%04x class %06x verdict %d numa_node %d node %d source %d whole %d local \"%s\"",
			 dev->address, dev->vendor_id, dev->device_id,
			 dev->class_code, dev->verdict, dev->numa_node,
			 dev->node, dev->node_source,
			 dev->local_cpus_whole_machine, local);
	free(local);
}

/* Returns how many warnings contain @needle. */
static unsigned int count_warnings(const struct gs_machine *topo,
				   const char *needle)
{
	unsigned int i, count = 0;

	for (i = 0; i < gs_topo_nr_warnings(topo); i++) {
		if (strstr(gs_topo_warning(topo, i), needle))
			count++;
	}
	return count;
}

static void show_warnings(const struct gs_machine *topo)
{
	unsigned int i;

	for (i = 0; i < gs_topo_nr_warnings(topo); i++)
		tap_diag("warning: %s", gs_topo_warning(topo, i));
}

static int expect_no_warnings(const struct gs_machine *topo,
			      const char *machine)
{
	int pass = expect_int(gs_topo_nr_warnings(topo), 0,
			      "%s: number of warnings", machine);

	if (!pass)
		show_warnings(topo);
	return pass;
}

/* Warnings a discovery sent to its callback, to compare with the kept list. */
struct warning_log {
	char **messages;
	unsigned int count;
};

static void log_warning(void *arg, const char *message)
{
	struct warning_log *log = arg;
	char **bigger = realloc(log->messages,
				(log->count + 1) * sizeof(*log->messages));

	if (!bigger)
		exit(2);
	log->messages = bigger;
	log->messages[log->count++] = xprintf("%s", message);
}

static void free_log(struct warning_log *log)
{
	unsigned int i;

	for (i = 0; i < log->count; i++)
		free(log->messages[i]);
	free(log->messages);
	log->messages = NULL;
	log->count = 0;
}

/* Runs discovery on @root; reports failure as a TAP line and returns NULL. */
static struct gs_machine *discover(const char *root, const char *machine,
				    const char *const *matches,
				    unsigned int nr_matches)
{
	struct gs_discover_opts opts = {
		.root = root,
		.gpu_matches = matches,
		.nr_gpu_matches = nr_matches,
	};
	struct gs_machine *topo = NULL;
	int err = gs_discover(&opts, &topo);

	if (!expect_int(err, 0, "%s: gs_discover() result", machine))
		return NULL;
	return topo;
}

/* --- the sysfs layer --- */

/*
 * A small file takes one read(); a longer one is read to its end.  The
 * small file is a FIFO that gives "42\n" and stays open for writing, so
 * that a second read() would wait: an alarm ends the test then.
 */
static void test_sysfs_read_sizes(const char *root, struct gs_sysfs *sysfs)
{
	static const size_t sizes[] = { 254, 255, 256, 300, 5000 };
	char *fifo = xprintf("%s/fifo", root), *content, *text = NULL;
	int value = 0, fd, count;
	size_t i;

	if (mkfifo(fifo, 0600)) {
		perror(fifo);
		exit(2);
	}
	/* O_RDWR: a FIFO opened so neither waits nor gives EOF to readers. */
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fd < 0 || write(fd, "42\n", 3) != 3) {
		perror(fifo);
		exit(2);
	}
	alarm(30);
	expect_int(gs_sysfs_read_int(sysfs, "fifo", &value), 0,
		   "sysfs: a file shorter than the first read takes one read()");
	alarm(0);
	expect_int(value, 42, "sysfs: the value read");
	close(fd);
	free(fifo);

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char name[32];

		/* write_file() adds the newline. */
		content = xmalloc(sizes[i]);
		memset(content, 'x', sizes[i] - 1);
		content[sizes[i] - 1] = '\0';
		snprintf(name, sizeof(name), "sizes/%zu", sizes[i]);
		write_file(root, name, content);
		count = gs_sysfs_read_text(sysfs, name, &text);
		tap_ok(count == (int)sizes[i] && text && strlen(text) == sizes[i] &&
		       !strncmp(text, content, sizes[i] - 1) && text[sizes[i] - 1] == '\n',
		       "sysfs: read_text of a %zu-byte file reads all of it", sizes[i]);
		if (count >= 0)
			free(text);
		text = NULL;
		free(content);
	}
}

static void test_sysfs(void)
{
	char *root = scratch_subdir("sysfs"), *root_slashes;
	struct gs_bitmap cpus = GS_BITMAP_INIT;
	struct gs_sysfs *sysfs;
	unsigned int *ids = NULL, hex = 0;
	char **names = NULL, *text = NULL;
	int value = 0, count, err;

	write_file(root, "int/good", "42");
	write_file(root, "int/negative", "-1");
	write_file(root, "int/garbage", "banana");
	write_file(root, "int/trailing", "12abc");
	write_file(root, "int/huge", "99999999999");
	write_file(root, "int/empty", "");
	write_file(root, "hex/vendor", "0x10de");
	write_file(root, "hex/bare", "10DE");
	write_file(root, "hex/prefix-only", "0x");
	write_file(root, "hex/nine-digits", "0x123456789");
	write_file(root, "hex/garbage", "zz");
	write_file(root, "hex/negative", "-1");
	write_file(root, "cpus/list", "0-3,8");
	write_file(root, "cpus/mask", "00000000,00000101");
	write_file(root, "cpus/bad", "0-");
	write_file(root, "dir/not-a-file/x", "");
	write_file(root, "inside/target", "inside");
	make_link(root, "absolute-link", "/inside/target");
	write_file(root, "entries/cpu0/x", "");
	write_file(root, "entries/cpu1/x", "");
	write_file(root, "entries/cpu10/x", "");
	write_file(root, "entries/cpu2", "");
	write_file(root, "entries/cpufreq/x", "");
	write_file(root, "entries/cpu01/x", "");
	write_file(root, "entries/cpu/x", "");
	write_file(root, "entries/online", "0-10");

	root_slashes = xprintf("%s///", root);
	err = gs_sysfs_open(&sysfs, root_slashes);
	if (!expect_int(err, 0, "sysfs: open of a root with trailing slashes")) {
		free(root_slashes);
		free(root);
		return;
	}
	tap_ok(!strcmp(gs_sysfs_root(sysfs), root),
	       "sysfs: the root is shown without trailing slashes");

	expect_int(gs_sysfs_read_int(sysfs, "int/good", &value), 0, "sysfs: read_int 42");
	expect_int(value, 42, "sysfs: the value read");
	expect_int(gs_sysfs_read_int(sysfs, "/int/negative", &value), 0,
		   "sysfs: read_int of \"-1\" through a leading slash");
	expect_int(value, -1, "sysfs: the value read");
	expect_int(gs_sysfs_read_int(sysfs, "int/garbage", &value), -EINVAL,
		   "sysfs: read_int \"banana\"");
	expect_int(gs_sysfs_read_int(sysfs, "int/trailing", &value), -EINVAL,
		   "sysfs: read_int \"12abc\"");
	expect_int(gs_sysfs_read_int(sysfs, "int/huge", &value), -ERANGE,
		   "sysfs: read_int 99999999999");
	expect_int(gs_sysfs_read_int(sysfs, "int/empty", &value), -EINVAL,
		   "sysfs: read_int of an empty file");
	expect_int(gs_sysfs_read_int(sysfs, "int/missing", &value), -ENOENT,
		   "sysfs: read_int of a missing file");
	expect_int(gs_sysfs_read_int(sysfs, "dir/not-a-file", &value), -EISDIR,
		   "sysfs: read_int of a directory");

	expect_int(gs_sysfs_read_hex(sysfs, "hex/vendor", &hex), 0, "sysfs: read_hex 0x10de");
	expect_int(hex, 0x10de, "sysfs: the value read");
	expect_int(gs_sysfs_read_hex(sysfs, "hex/bare", &hex), 0, "sysfs: read_hex 10DE");
	expect_int(hex, 0x10de, "sysfs: the value read");
	expect_int(gs_sysfs_read_hex(sysfs, "hex/prefix-only", &hex), -EINVAL,
		   "sysfs: read_hex \"0x\"");
	expect_int(gs_sysfs_read_hex(sysfs, "hex/nine-digits", &hex), -ERANGE,
		   "sysfs: read_hex of nine digits");
	expect_int(gs_sysfs_read_hex(sysfs, "hex/garbage", &hex), -EINVAL,
		   "sysfs: read_hex \"zz\"");
	expect_int(gs_sysfs_read_hex(sysfs, "hex/negative", &hex), -EINVAL,
		   "sysfs: read_hex \"-1\"");

	expect_int(gs_sysfs_read_cpulist(sysfs, "cpus/list", &cpus), 0, "sysfs: read_cpulist");
	expect_list(&cpus, "0-3,8", "sysfs: the list read");
	expect_int(gs_sysfs_read_cpumask(sysfs, "cpus/mask", &cpus), 0, "sysfs: read_cpumask");
	expect_list(&cpus, "0,8", "sysfs: the mask read");
	expect_int(gs_sysfs_read_cpulist(sysfs, "cpus/bad", &cpus), -EINVAL,
		   "sysfs: read_cpulist \"0-\"");
	expect_list(&cpus, "0,8", "sysfs: a failed read leaves the set");
	expect_int(gs_sysfs_read_cpulist(sysfs, "cpus/missing", &cpus), -ENOENT,
		   "sysfs: read_cpulist of a missing file");

	count = gs_sysfs_read_text(sysfs, "inside/target", &text);
	expect_int(count, 7, "sysfs: read_text length of \"inside\\n\"");
	if (count == 7)
		tap_ok(!strcmp(text, "inside\n"), "sysfs: read_text content");
	free(text);
	text = NULL;
	test_sysfs_read_sizes(root, sysfs);

	count = gs_sysfs_list_ids(sysfs, "entries", "cpu", &ids);
	expect_int(count, 4, "sysfs: list_ids finds cpu0 cpu1 cpu2 cpu10, not cpufreq cpu01 cpu");
	if (count == 4)
		tap_ok(ids[0] == 0 && ids[1] == 1 && ids[2] == 2 && ids[3] == 10,
		       "sysfs: list_ids sorts numerically: 0 1 2 10");
	free(ids);
	expect_int(gs_sysfs_list_ids(sysfs, "missing", "cpu", &ids), -ENOENT,
		   "sysfs: list_ids of a missing directory");
	expect_int(gs_sysfs_list_ids(sysfs, "entries/online", "cpu", &ids), -ENOTDIR,
		   "sysfs: list_ids of a file");
	count = gs_sysfs_list_names(sysfs, "entries", &names);
	expect_int(count, 8, "sysfs: list_names sees 8 entries");
	if (count == 8)
		tap_ok(!strcmp(names[0], "cpu") && !strcmp(names[1], "cpu0") &&
		       !strcmp(names[7], "online"), "sysfs: list_names sorts by name");
	if (count > 0)
		gs_sysfs_free_names(names, count);

#if defined(HAVE_OPENAT2_HEADER) && defined(SYS_openat2)
	{
		struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_IN_ROOT };
		int fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));

		if (fd >= 0) {
			close(fd);
			count = gs_sysfs_read_text(sysfs, "absolute-link", &text);
			tap_ok(count == 7 && !strcmp(text, "inside\n"),
			       "sysfs: an absolute symlink resolves inside the root");
			if (count >= 0)
				free(text);
			text = NULL;
		} else {
			tap_skip("openat2() is not available", "sysfs: absolute symlinks stay in the root");
		}
	}
#else
	tap_skip("built without linux/openat2.h", "sysfs: absolute symlinks stay in the root");
#endif

	if (geteuid() != 0) {
		char *unreadable = xprintf("%s/unreadable", root);

		write_file(root, "unreadable", "1");
		chmod(unreadable, 0);
		expect_int(gs_sysfs_read_int(sysfs, "unreadable", &value), -EACCES,
			   "sysfs: read_int of a mode 000 file");
		free(unreadable);
	} else {
		tap_skip("root ignores file modes", "sysfs: read_int of a mode 000 file is -EACCES");
	}
	gs_sysfs_close(sysfs);

	err = gs_sysfs_open(&sysfs, "/");
	if (expect_int(err, 0, "sysfs: open of \"/\""))
		tap_ok(!strcmp(gs_sysfs_root(sysfs), ""), "sysfs: \"/\" is shown as \"\"");
	gs_sysfs_close(sysfs);
	expect_int(gs_sysfs_open(&sysfs, "/nonexistent-gpusched-root"), -ENOENT,
		   "sysfs: open of a missing root");

	gs_bitmap_free(&cpus);
	free(root_slashes);
	free(root);
}

/* --- the accelerator match table --- */

static void test_gpu_match_parse(void)
{
	static const struct {
		const char *text;
		int err;
		unsigned int vendor_id;
		int pci_class;
	} cases[] = {
		{ "1234:0380", 0, 0x1234, 0x0380 },
		{ "1af4", 0, 0x1af4, -1 },
		{ "0x10de:0x0302", 0, 0x10de, 0x0302 },
		{ "10DE:302", 0, 0x10de, 0x0302 },
		{ "8086:0b40", 0, 0x8086, 0x0b40 },
		{ "", -EINVAL, 0, 0 },
		{ ":0380", -EINVAL, 0, 0 },
		{ "1234:", -EINVAL, 0, 0 },
		{ "12345", -EINVAL, 0, 0 },
		{ "1234:03800", -EINVAL, 0, 0 },
		{ "1234:0380:1", -EINVAL, 0, 0 },
		{ "xyz", -EINVAL, 0, 0 },
		{ "1234 ", -EINVAL, 0, 0 },
		{ "ffff", -EINVAL, 0, 0 },
		{ "1a03", -EINVAL, 0, 0 },	/* ASPEED: never a GPU */
		{ "102b:0300", -EINVAL, 0, 0 },	/* Matrox: never a GPU */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		/* The class as text: 0380, or "any" for a vendor-only match. */
		char want_class[12] = "any", got_class[12] = "any";
		struct gs_gpu_match match = { 0, 0 };
		int err = gs_gpu_match_parse(cases[i].text, &match);
		int pass = err == cases[i].err &&
			   (err || (match.vendor_id == cases[i].vendor_id &&
				    match.pci_class == cases[i].pci_class));

		if (cases[i].pci_class >= 0)
			snprintf(want_class, sizeof(want_class), "%04x",
				 (unsigned int)cases[i].pci_class);
		if (match.pci_class >= 0)
			snprintf(got_class, sizeof(got_class), "%04x",
				 (unsigned int)match.pci_class & 0xffff);
		if (!tap_ok(pass, "gpu_match_parse \"%s\" gives %d (%04x:%s)",
			    cases[i].text, cases[i].err, cases[i].vendor_id,
			    want_class))
			tap_diag("got %d (%04x:%s)", err, match.vendor_id, got_class);
	}
}

static void test_pci_classify(void)
{
	static const struct gs_gpu_match phi = { 0x8086, 0x0b40 };
	static const struct gs_gpu_match any_1234 = { 0x1234, -1 };
	static const struct gs_gpu_match any_1af4 = { 0x1af4, -1 };
	static const struct gs_gpu_match nic_1af4 = { 0x1af4, 0x0200 };
	static const struct gs_gpu_match aspeed = { 0x1a03, -1 };
	static const struct {
		unsigned int vendor_id, class_code;
		const struct gs_gpu_match *extra;
		enum gs_pci_verdict verdict;
		const char *what;
	} cases[] = {
		{ 0x10de, 0x030200, NULL, GS_PCI_GPU, "NVIDIA 3D controller" },
		{ 0x10de, 0x030000, NULL, GS_PCI_GPU, "NVIDIA VGA" },
		{ 0x10de, 0x068000, NULL, GS_PCI_OTHER, "NVSwitch bridge" },
		{ 0x10de, 0x040300, NULL, GS_PCI_OTHER, "NVIDIA HD audio" },
		{ 0x1002, 0x038000, NULL, GS_PCI_GPU, "AMD Instinct 0x0380" },
		{ 0x1002, 0x120000, NULL, GS_PCI_GPU, "AMD Instinct 0x1200" },
		{ 0x1002, 0x030000, NULL, GS_PCI_UNMATCHED, "AMD VGA (Radeon, ati-vga)" },
		{ 0x8086, 0x038000, NULL, GS_PCI_GPU, "Intel data-center GPU" },
		{ 0x8086, 0x030000, NULL, GS_PCI_UNMATCHED, "Intel integrated VGA" },
		{ 0x1da3, 0x120000, NULL, GS_PCI_GPU, "Habana Gaudi" },
		{ 0x1a03, 0x030000, NULL, GS_PCI_BMC_DISPLAY, "ASPEED VGA" },
		{ 0x1a03, 0x060400, NULL, GS_PCI_OTHER, "ASPEED PCI bridge" },
		{ 0x102b, 0x030000, NULL, GS_PCI_BMC_DISPLAY, "Matrox VGA" },
		{ 0x8086, 0x0b4000, NULL, GS_PCI_UNMATCHED, "Xeon Phi" },
		{ 0x8086, 0x0b4000, &phi, GS_PCI_GPU_EXTRA, "Xeon Phi with 8086:0b40" },
		{ 0x8086, 0x020000, &phi, GS_PCI_OTHER, "Intel NIC with 8086:0b40" },
		{ 0x1234, 0x038000, NULL, GS_PCI_UNMATCHED, "bochs-display" },
		{ 0x1234, 0x038000, &any_1234, GS_PCI_GPU_EXTRA, "bochs-display with 1234" },
		{ 0x1af4, 0x038000, &any_1af4, GS_PCI_GPU_EXTRA, "virtio-gpu with 1af4" },
		{ 0x1af4, 0x020000, &any_1af4, GS_PCI_OTHER, "virtio-net with 1af4" },
		{ 0x1af4, 0x020000, &nic_1af4, GS_PCI_GPU_EXTRA, "virtio-net with 1af4:0200" },
		{ 0x1a03, 0x030000, &aspeed, GS_PCI_BMC_DISPLAY, "ASPEED VGA even with 1a03" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum gs_pci_verdict verdict;
		unsigned int nr_extra = cases[i].extra != NULL;

		verdict = gs_pci_classify(cases[i].vendor_id, cases[i].class_code,
					  cases[i].extra, nr_extra);
		expect_int(verdict, cases[i].verdict, "classify %s (%04x, %06x)",
			   cases[i].what, cases[i].vendor_id, cases[i].class_code);
	}
}

/* --- failures that stop discovery --- */

static void test_discover_errors(void)
{
	static const char *const bad_match[] = { "10de:0302", "zz" };
	static const char *const bmc_match[] = { "1a03" };
	struct warning_log log = { NULL, 0 };
	struct gs_discover_opts opts = { .warn = log_warning, .warn_arg = &log };
	struct gs_machine *topo = NULL;
	char *empty = scratch_subdir("empty-root");

	opts.root = "/nonexistent-gpusched-root";
	expect_int(gs_discover(&opts, &topo), -ENOENT, "errors: a missing root");
	tap_ok(log.count == 1 && strstr(log.messages[0], "/nonexistent-gpusched-root"),
	       "errors: the callback hears which root is missing");
	free_log(&log);

	opts.root = empty;
	expect_int(gs_discover(&opts, &topo), -ENOENT, "errors: a root without sys/devices/system/cpu");
	tap_ok(log.count == 1 && strstr(log.messages[0], "sys/devices/system/cpu") &&
	       strstr(log.messages[0], "not a sysfs root"),
	       "errors: the callback hears that it is not a sysfs root");
	free_log(&log);

	opts.root = fixtures_root("hgx-2s-smt-8gpu");
	opts.gpu_matches = bad_match;
	opts.nr_gpu_matches = 2;
	expect_int(gs_discover(&opts, &topo), -EINVAL, "errors: extra match \"zz\"");
	tap_ok(log.count == 1 && strstr(log.messages[0], "\"zz\""),
	       "errors: the callback hears which match is bad");
	free_log(&log);
	opts.gpu_matches = bmc_match;
	opts.nr_gpu_matches = 1;
	expect_int(gs_discover(&opts, &topo), -EINVAL, "errors: extra match \"1a03\" (ASPEED)");
	free_log(&log);
	tap_ok(topo == NULL, "errors: no topology is returned on failure");
	free((char *)opts.root);
	free(empty);
}

/* --- the committed synthetic snapshots --- */

static void test_hgx(void)
{
	static const char *const machine = "hgx-2s-smt-8gpu";
	static const int core_ids[] = { 0, 1, 8, 9 };
	static const struct node_expect nodes[] = {
		{ 0, true, false, "0-3,8-11" },
		{ 1, true, false, "4-7,12-15" },
	};
	static const char *const gpu_addresses[] = {
		"0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0",
		"0000:9a:00.0", "0000:ab:00.0", "0000:ba:00.0", "0000:db:00.0",
	};
	static const struct pci_expect aspeed = {
		"0000:03:00.0", 0x1a03, 0x2000, 0x030000, GS_PCI_BMC_DISPLAY,
		0, 0, GS_PCI_NODE_FROM_NUMA_NODE, false, "0-3,8-11",
	};
	char *root = fixtures_root(machine), siblings[16];
	struct gs_machine *topo = discover(root, machine, NULL, 0);
	unsigned int i;

	if (!topo)
		goto out;
	expect_int(gs_topo_nr_cpus(topo), 16, "%s: CPUs", machine);
	expect_int(gs_topo_nr_cores(topo), 8, "%s: cores (SMT pairs)", machine);
	/* The per-core L2 is Unified too: the highest level, L3, must win. */
	expect_int(gs_topo_nr_llcs(topo), 2, "%s: LLC groups (one L3 per socket)", machine);
	expect_int(gs_topo_nr_packages(topo), 2, "%s: packages", machine);
	for (i = 0; i < 16; i++) {
		unsigned int first = i % 8, package = first / 4;
		struct cpu_expect want = {
			i, true, (int)first, core_ids[first % 4], (int)package,
			(int)package, (int)package, siblings,
		};

		snprintf(siblings, sizeof(siblings), "%u,%u", first, first + 8);
		check_cpu(topo, machine, &want);
	}
	expect_list(gs_topo_online_cpus(topo), "0-15", "%s: online CPUs", machine);
	expect_list(gs_topo_isolated_cpus(topo), "", "%s: isolated (an empty file)", machine);
	expect_list(gs_topo_nohz_full_cpus(topo), "", "%s: nohz_full (\"(null)\")", machine);
	expect_int(gs_topo_nr_nodes(topo), 2, "%s: nodes", machine);
	for (i = 0; i < 2; i++)
		check_node(topo, machine, i, &nodes[i]);
	expect_int(gs_topo_node_distance(topo, 0, 1), 21, "%s: distance 0->1", machine);
	expect_int(gs_topo_node_distance(topo, 1, 1), 10, "%s: distance 1->1", machine);
	expect_int(gs_topo_nr_gpus(topo), 8, "%s: GPUs (not the BMC, NVSwitch or NIC)", machine);
	for (i = 0; i < 8; i++) {
		struct pci_expect want = {
			gpu_addresses[i], 0x10de, 0x2330, 0x030200, GS_PCI_GPU,
			i < 4 ? 0 : 1, i < 4 ? 0 : 1, GS_PCI_NODE_FROM_NUMA_NODE,
			false, i < 4 ? "0-3,8-11" : "4-7,12-15",
		};

		check_pci(gs_topo_gpu(topo, i), "hgx: GPU", &want);
	}
	expect_int(gs_topo_nr_ignored_devices(topo), 1, "%s: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "hgx: ignored", &aspeed);
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);
out:
	free(root);
}

static void test_epyc(void)
{
	static const char *const machine = "epyc-nps4-8gpu";
	static const char *const gpu_addresses[] = {
		"0000:05:00.0", "0000:15:00.0", "0000:65:00.0", "0000:75:00.0",
		"0000:85:00.0", "0000:95:00.0", "0000:e5:00.0", "0000:f5:00.0",
	};
	static const int gpu_nodes[] = { 7, 7, 5, 5, 3, 3, 1, 1 };
	static const struct pci_expect aspeed = {
		"0000:c2:00.0", 0x1a03, 0x2000, 0x030000, GS_PCI_BMC_DISPLAY,
		0, 0, GS_PCI_NODE_FROM_NUMA_NODE, false, "0-1,16-17",
	};
	char *root = fixtures_root(machine), siblings[16], cpus[64];
	struct gs_machine *topo = discover(root, machine, NULL, 0);
	unsigned int i;

	if (!topo)
		goto out;
	expect_int(gs_topo_nr_cpus(topo), 32, "%s: CPUs", machine);
	expect_int(gs_topo_nr_cores(topo), 16, "%s: cores (from thread_siblings_list)", machine);
	expect_int(gs_topo_nr_llcs(topo), 16, "%s: LLC groups (two per node)", machine);
	expect_int(gs_topo_nr_packages(topo), 2, "%s: packages", machine);
	for (i = 0; i < 32; i++) {
		unsigned int core = i % 16, node = core / 2;
		struct cpu_expect want = {
			i, true, (int)core, (int)(core % 8), (int)(node / 4),
			(int)node, (int)core, siblings,
		};

		snprintf(siblings, sizeof(siblings), "%u,%u", core, core + 16);
		check_cpu(topo, machine, &want);
	}
	expect_int(gs_topo_nr_nodes(topo), 8, "%s: nodes", machine);
	for (i = 0; i < 8; i++) {
		struct node_expect want = { i, true, false, cpus };

		snprintf(cpus, sizeof(cpus), "%u-%u,%u-%u", 2 * i, 2 * i + 1,
			 2 * i + 16, 2 * i + 17);
		check_node(topo, machine, i, &want);
	}
	expect_int(gs_topo_node_distance(topo, 0, 1), 12, "%s: distance 0->1 (same socket)", machine);
	expect_int(gs_topo_node_distance(topo, 0, 4), 32, "%s: distance 0->4 (other socket)", machine);
	expect_int(gs_topo_node_distance(topo, 3, 5), 32, "%s: distance 3->5", machine);
	expect_int(gs_topo_node_distance(topo, 7, 7), 10, "%s: distance 7->7", machine);
	expect_int(gs_topo_nr_gpus(topo), 8, "%s: GPUs", machine);
	for (i = 0; i < 8; i++) {
		/* 0000:85:00.0 has numa_node -1: its node comes from local_cpulist. */
		bool derived = i == 4;
		struct pci_expect want = {
			gpu_addresses[i], 0x1002, 0x74a1, 0x120000, GS_PCI_GPU,
			derived ? -1 : gpu_nodes[i], gpu_nodes[i],
			derived ? GS_PCI_NODE_FROM_LOCAL_CPUS :
				  GS_PCI_NODE_FROM_NUMA_NODE,
			false, cpus,
		};

		snprintf(cpus, sizeof(cpus), "%d-%d,%d-%d", 2 * gpu_nodes[i],
			 2 * gpu_nodes[i] + 1, 2 * gpu_nodes[i] + 16,
			 2 * gpu_nodes[i] + 17);
		check_pci(gs_topo_gpu(topo, i), "epyc: GPU", &want);
	}
	expect_int(gs_topo_nr_ignored_devices(topo), 1, "%s: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "epyc: ignored", &aspeed);
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);
out:
	free(root);
}

static void test_grace(void)
{
	static const char *const machine = "grace-blackwell-memnodes";
	static const struct node_expect nodes[] = {
		{ 0, true, false, "0-3" },
		{ 1, true, false, "4-7" },
		{ 2, true, true, "" },
		{ 10, true, true, "" },
		{ 18, true, true, "" },
		{ 26, false, false, "" },	/* GPU memory not onlined */
	};
	static const struct cpu_expect cpus[] = {
		{ 0, true, 0, 0, 0, 0, 0, "0" },
		{ 5, true, 5, 1, 1, 1, 1, "5" },
	};
	static const struct pci_expect gpus[] = {
		{ "0008:01:00.0", 0x10de, 0x2941, 0x030200, GS_PCI_GPU, 0, 0,
		  GS_PCI_NODE_FROM_NUMA_NODE, false, "0-3" },
		{ "0009:01:00.0", 0x10de, 0x2941, 0x030200, GS_PCI_GPU, 0, 0,
		  GS_PCI_NODE_FROM_NUMA_NODE, false, "0-3" },
		{ "0018:01:00.0", 0x10de, 0x2941, 0x030200, GS_PCI_GPU, 1, 1,
		  GS_PCI_NODE_FROM_NUMA_NODE, false, "4-7" },
		{ "0019:01:00.0", 0x10de, 0x2941, 0x030200, GS_PCI_GPU, 1, 1,
		  GS_PCI_NODE_FROM_NUMA_NODE, false, "4-7" },
	};
	static const int mem_nodes[] = { 2, 10, 18, -1 };
	char *root = fixtures_root(machine);
	struct gs_machine *topo = discover(root, machine, NULL, 0);
	unsigned int i;

	if (!topo)
		goto out;
	expect_int(gs_topo_nr_cpus(topo), 8, "%s: CPUs", machine);
	expect_int(gs_topo_nr_cores(topo), 8, "%s: cores", machine);
	expect_int(gs_topo_nr_llcs(topo), 2, "%s: LLC groups", machine);
	expect_int(gs_topo_nr_packages(topo), 2, "%s: packages", machine);
	for (i = 0; i < 2; i++)
		check_cpu(topo, machine, &cpus[i]);
	expect_int(gs_topo_nr_nodes(topo), 6, "%s: nodes (0 1 2 10 18 26)", machine);
	for (i = 0; i < 6; i++)
		check_node(topo, machine, i, &nodes[i]);
	tap_ok(gs_topo_node_by_id(topo, 3) == NULL &&
	       gs_topo_node_by_id(topo, 18) == gs_topo_node(topo, 4),
	       "%s: node ids are not indexes: no node3, node18 is the fifth", machine);
	expect_int(gs_topo_node_distance(topo, 0, 2), 80, "%s: distance 0->2", machine);
	expect_int(gs_topo_node_distance(topo, 1, 18), 80, "%s: distance 1->18", machine);
	expect_int(gs_topo_node_distance(topo, 2, 10), 120, "%s: distance 2->10", machine);
	expect_int(gs_topo_node_distance(topo, 26, 26), 10, "%s: distance 26->26", machine);
	expect_int(gs_topo_node_distance(topo, 0, 3), -1, "%s: distance to a missing node", machine);
	expect_int(gs_topo_nr_gpus(topo), 4, "%s: GPUs", machine);
	for (i = 0; i < 4; i++) {
		check_pci(gs_topo_gpu(topo, i), "grace: GPU", &gpus[i]);
		if (gs_topo_gpu(topo, i))
			expect_int(gs_topo_gpu(topo, i)->mem_node, mem_nodes[i],
				   "%s: GPU %s has its memory on node %d (numa_status)",
				   machine, gpus[i].address, mem_nodes[i]);
	}
	/* The fourth GPU's memory node is not online yet: one warning, no node. */
	if (!expect_int(gs_topo_nr_warnings(topo), 1, "%s: number of warnings", machine))
		show_warnings(topo);
	expect_int(count_warnings(topo, "proc/driver/nvidia/gpus/0019:01:00.0/numa_status: node 26 is \"offline\", not online"),
		   1, "%s: the warning names the file, the node and its status", machine);
	gs_machine_free(topo);
out:
	free(root);
}

/*
 * The NVIDIA driver's directory on copies of the Grace fixture: a GPU it
 * does not list has no memory node and no warning, the others keep
 * theirs; a "directory" that is a file is read GPU by GPU, each failure
 * warned about, as before discovery listed it.
 */
static void test_nvidia_listing(void)
{
	static const char *const gpus_dir = "proc/driver/nvidia/gpus";
	static const int unlisted[] = { 2, -1, 18, -1 }, as_file[] = { -1, -1, -1, -1 };
	char *root = fixtures_root("grace-blackwell-memnodes");
	char *copy = xprintf("%s/grace-nvidia-listing", scratch_dir), *command;
	struct gs_machine *topo;
	unsigned int i, variant;

	for (variant = 0; variant < 2; variant++) {
		const int *expected = variant ? as_file : unlisted;
		const char *what = variant ? "grace, the driver's gpus a file" :
				   "grace, 0009:01:00.0 not listed by the driver";

		remove_tree(copy);
		command = variant ?
			xprintf("cp -R '%s' '%s' && rm -r '%s/%s' && echo x > '%s/%s'", root, copy,
				copy, gpus_dir, copy, gpus_dir) :
			xprintf("cp -R '%s' '%s' && rm -r '%s/%s/0009:01:00.0'", root, copy, copy,
				gpus_dir);
		if (!tap_ok(system(command) == 0, "%s: %s", what, command)) {
			free(command);
			continue;
		}
		free(command);
		topo = discover(copy, what, NULL, 0);
		if (!topo)
			continue;
		for (i = 0; i < 4 && i < gs_topo_nr_gpus(topo); i++)
			expect_int(gs_topo_gpu(topo, i)->mem_node, expected[i], "%s: GPU %u's memory node",
				   what, i);
		if (variant)
			expect_int(count_warnings(topo, "/numa_status"), 4,
				   "%s: each GPU's numa_status is tried and warned about", what);
		else
			expect_int(count_warnings(topo, "0009:01:00.0"), 0,
				   "%s: the GPU the driver does not list costs no warning", what);
		gs_machine_free(topo);
	}
	remove_tree(copy);
	free(copy);
	free(root);
}

static void test_workstation(void)
{
	static const char *const machine = "workstation-isolated";
	static const char *const radeon_match[] = { "1002:0300" };
	static const struct pci_expect rtx = {
		"0000:01:00.0", 0x10de, 0x2684, 0x030000, GS_PCI_GPU, -1, 0,
		GS_PCI_NODE_FROM_LOCAL_CPUS, false, "0-7",
	};
	static const struct pci_expect igpu = {
		"0000:00:02.0", 0x8086, 0xa780, 0x030000, GS_PCI_UNMATCHED, -1, 0,
		GS_PCI_NODE_FROM_LOCAL_CPUS, false, "0-7",
	};
	struct pci_expect radeon = {
		"0000:03:00.0", 0x1002, 0x7448, 0x030000, GS_PCI_UNMATCHED, -1, 0,
		GS_PCI_NODE_FROM_LOCAL_CPUS, false, "0-7",
	};
	static const struct cpu_expect cpu6 = { 6, true, 2, 2, 0, 0, 0, "2,6" };
	static const struct node_expect node0 = { 0, true, false, "0-7" };
	char *root = fixtures_root(machine);
	struct gs_machine *topo = discover(root, machine, NULL, 0);
	unsigned int i, wrong = 0;

	if (!topo)
		goto out;
	expect_list(gs_topo_isolated_cpus(topo), "2-3,6-7", "%s: isolated CPUs", machine);
	expect_list(gs_topo_nohz_full_cpus(topo), "3,7", "%s: nohz_full CPUs", machine);
	for (i = 0; i < 8; i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(topo, i);

		if (cpu->isolated != (i % 4 >= 2) || cpu->nohz_full != (i % 4 == 3))
			wrong++;
	}
	expect_int(wrong, 0, "%s: CPUs with wrong isolated/nohz_full flags", machine);
	check_cpu(topo, machine, &cpu6);
	expect_int(gs_topo_nr_cores(topo), 4, "%s: cores", machine);
	/* No node directory: a kernel without NUMA is one node 0. */
	expect_int(gs_topo_nr_nodes(topo), 1, "%s: nodes", machine);
	check_node(topo, machine, 0, &node0);
	expect_int(gs_topo_node_distance(topo, 0, 0), 10, "%s: distance 0->0", machine);
	if (expect_int(gs_topo_nr_warnings(topo), 1, "%s: number of warnings", machine))
		tap_ok(count_warnings(topo, "/sys/devices/system/node: missing") == 1,
		       "%s: the warning says the node directory is missing", machine);
	else
		show_warnings(topo);
	expect_int(gs_topo_nr_gpus(topo), 1, "%s: GPUs (AMD VGA is not one by default)", machine);
	check_pci(gs_topo_gpu(topo, 0), "workstation: GPU", &rtx);
	expect_int(gs_topo_nr_ignored_devices(topo), 2, "%s: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "workstation: ignored", &igpu);
	check_pci(gs_topo_ignored_device(topo, 1), "workstation: ignored", &radeon);
	gs_machine_free(topo);

	topo = discover(root, "workstation with 1002:0300", radeon_match, 1);
	if (!topo)
		goto out;
	expect_int(gs_topo_nr_gpus(topo), 2, "%s with 1002:0300: GPUs", machine);
	radeon.verdict = GS_PCI_GPU_EXTRA;
	check_pci(gs_topo_gpu(topo, 0), "workstation with 1002:0300: GPU", &rtx);
	check_pci(gs_topo_gpu(topo, 1), "workstation with 1002:0300: GPU", &radeon);
	expect_int(gs_topo_nr_ignored_devices(topo), 1, "%s with 1002:0300: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "workstation with 1002:0300: ignored", &igpu);
	gs_machine_free(topo);
out:
	free(root);
}

/*
 * power9-smt-offline: nodes 0 and 8, 4 cores x SMT4 each, SMT turned off:
 * node cpulists and local_cpulist still name every thread, as powerpc's
 * cpumask_of_node() does, while only thread 0 of each core is online.
 */
static void test_power9_offline(void)
{
	static const char *const machine = "power9-smt-offline";
	static const struct node_expect nodes[] = {
		{ 0, true, false, "0,4,8,12" },
		{ 8, true, false, "16,20,24,28" },
	};
	static const char *const gpu_addresses[] = {
		"0004:04:00.0", "0004:05:00.0", "0035:03:00.0", "0035:04:00.0",
	};
	char *root = fixtures_root(machine);
	struct gs_machine *topo = discover(root, machine, NULL, 0);
	unsigned int i;

	if (!topo)
		goto out;
	expect_int(gs_topo_nr_cpus(topo), 32, "%s: CPU directories", machine);
	expect_list(gs_topo_online_cpus(topo), "0,4,8,12,16,20,24,28", "%s: online CPUs", machine);
	expect_int(gs_topo_nr_cores(topo), 8, "%s: cores", machine);
	expect_int(gs_topo_nr_llcs(topo), 4, "%s: L3 pairs", machine);
	for (i = 0; i < 32; i += 5) {
		struct cpu_expect want = {
			i, !(i % 4), -1, -1, -1, i < 16 ? 0 : 8, -1, "",
		};
		char siblings[8];

		if (want.online) {
			snprintf(siblings, sizeof(siblings), "%u", i);
			want = (struct cpu_expect){ i, true, (int)i / 4, (int)i, i < 16 ? 0 : 8,
						    i < 16 ? 0 : 8, (int)i / 8, siblings };
		}
		check_cpu(topo, machine, &want);
	}
	expect_int(gs_topo_nr_nodes(topo), 2, "%s: nodes", machine);
	for (i = 0; i < 2; i++)
		check_node(topo, machine, i, &nodes[i]);
	check_node_unusable(topo, machine, 0, "1-3,5-7,9-11,13-15");
	check_node_unusable(topo, machine, 8, "17-19,21-23,25-27,29-31");
	expect_int(gs_topo_nr_gpus(topo), 4, "%s: GPUs", machine);
	for (i = 0; i < 4; i++) {
		struct pci_expect want = {
			gpu_addresses[i], 0x10de, 0x1db1, 0x030200, GS_PCI_GPU,
			i < 2 ? 0 : i == 2 ? 8 : -1, i < 2 ? 0 : 8,
			i < 3 ? GS_PCI_NODE_FROM_NUMA_NODE : GS_PCI_NODE_FROM_LOCAL_CPUS,
			false, i < 2 ? "0,4,8,12" : "16,20,24,28",
		};

		check_pci(gs_topo_gpu(topo, i), "power9: GPU", &want);
	}
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);
out:
	free(root);
}

/*
 * hotplug-no-online-file: a kernel without cpu/online, so each cpuN/online
 * decides, and cpu0 has none (it is online); CPUs 3 and 6 are offline and
 * 12-15 are empty hotplug slots without a directory, yet the node cpulists
 * and the GPUs' local_cpulist name all of them.
 */
static void test_hotplug_no_online_file(void)
{
	static const char *const machine = "hotplug-no-online-file";
	static const struct node_expect nodes[] = {
		{ 0, true, false, "0-2,8-11" },
		{ 1, true, false, "4-5,7" },
	};
	static const struct pci_expect gpus[] = {
		{ "0000:17:00.0", 0x10de, 0x2330, 0x030200, GS_PCI_GPU, 0, 0,
		  GS_PCI_NODE_FROM_NUMA_NODE, false, "0-2,8-11" },
		{ "0000:b1:00.0", 0x10de, 0x2330, 0x030200, GS_PCI_GPU, -1, 1,
		  GS_PCI_NODE_FROM_LOCAL_CPUS, false, "4-5,7" },
	};
	static const struct cpu_expect cpus[] = {
		{ 0, true, 0, 0, 0, 0, 0, "0,8" },
		{ 3, false, -1, -1, -1, 0, -1, "" },
		{ 6, false, -1, -1, -1, 1, -1, "" },
		{ 7, true, 5, 3, 1, 1, 1, "7" },
		{ 11, true, 6, 3, 0, 0, 0, "11" },
	};
	char *root = fixtures_root(machine);
	struct gs_machine *topo = discover(root, machine, NULL, 0);
	unsigned int i;

	if (!topo)
		goto out;
	expect_int(gs_topo_nr_cpus(topo), 12, "%s: CPU directories", machine);
	expect_list(gs_topo_online_cpus(topo), "0-2,4-5,7-11",
		    "%s: online CPUs from each cpuN/online, cpu0 without one", machine);
	expect_int(gs_topo_nr_cores(topo), 7, "%s: cores", machine);
	for (i = 0; i < ARRAY_SIZE(cpus); i++)
		check_cpu(topo, machine, &cpus[i]);
	expect_int(gs_topo_nr_nodes(topo), 2, "%s: nodes", machine);
	for (i = 0; i < 2; i++)
		check_node(topo, machine, i, &nodes[i]);
	check_node_unusable(topo, machine, 0, "3");
	check_node_unusable(topo, machine, 1, "6,12-15");
	expect_int(gs_topo_nr_gpus(topo), 2, "%s: GPUs", machine);
	for (i = 0; i < 2; i++)
		check_pci(gs_topo_gpu(topo, i), "hotplug: GPU", &gpus[i]);
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);
out:
	free(root);
}

static void test_malformed(void)
{
	static const char *const machine = "malformed";
	static const char *const expected_warnings[] = {
		"/sys/devices/system/cpu/cpu1/topology/core_id: Is a directory; core_id unknown",
		"/sys/devices/system/cpu/cpu2/topology/physical_package_id: \"zero\" is not an integer; package unknown",
		"/sys/devices/system/cpu/cpu2/cache/index3/shared_cpu_list: \"2-\" is not a CPU list",
		"/sys/devices/system/cpu/cpuN/topology/core_cpus_list: missing, like thread_siblings_list and thread_siblings, for CPUs 3; each CPU counts as a core of its own",
		"/sys/devices/system/cpu/cpuN/cache: no unified cache for CPUs 3;",
		"/sys/devices/system/cpu/isolated: \"1-\" is not a CPU list; no CPU is taken as isolated",
		"/sys/devices/system/node/node1/cpulist: missing, and no cpumap either; its CPUs are taken from the cpuN/node1 links",
		"/sys/devices/system/node/node1/distance: \"20 10 30\" has 3 distances for 2 nodes",
		"/sys/bus/pci/devices/0000:17:00.0/numa_node: \"banana\" is not an integer; numa_node is taken as -1",
		"/sys/bus/pci/devices/0000:31:00.0: numa_node is -1 and local_cpulist is missing; the node is unknown",
		"/sys/bus/pci/devices/0000:4b:00.0/local_cpulist: 0-3 covers the whole machine, which is no locality hint",
		"/sys/bus/pci/devices/0000:65:00.0/numa_node: node 7 does not exist; the node is taken from local_cpulist",
		"/sys/bus/pci/devices/0000:7f:00.0/class: \"0xzz0200\" is not a hex number; the device is skipped",
		"/sys/bus/pci/devices/0000:99:00.0/class: missing; the device is skipped",
		"/sys/bus/pci/devices/0000:b3:00.0/local_cpulist: 1-2 is not the CPU list of one node",
		"/sys/bus/pci/devices/0000:cd:00.0/local_cpulist: Is a directory; the device's local CPUs are unknown",
		"/proc/driver/nvidia/gpus/0000:17:00.0/numa_status: the Node: line holds no node id; the GPU's memory node is not known",
		"/proc/driver/nvidia/gpus/0000:31:00.0/numa_status: no \"Node:\" or no \"Status:\" line; the GPU's memory node is not known",
		"/proc/driver/nvidia/gpus/0000:4b:00.0/numa_status: node 5 is not in sys/devices/system/node; the GPU's memory node is not known",
		"/proc/driver/nvidia/gpus/0000:65:00.0/numa_status: node 1 is \"online_in_progress\", not online; the GPU's memory node is not used until it is",
	};
	static const struct cpu_expect cpus[] = {
		{ 0, true, 0, 0, 0, 0, 0, "0" },
		{ 1, true, 1, -1, 0, 0, 0, "1" },	/* core_id unreadable */
		{ 2, true, 2, 0, -1, 1, -1, "2" },	/* package, LLC malformed; node from link */
		{ 3, true, 3, 1, 1, 1, -1, "3" },	/* no siblings, no cache; node from link */
	};
	static const struct node_expect nodes[] = {
		{ 0, true, false, "0-1" },
		{ 1, true, false, "2-3" },	/* from the cpuN/node1 links */
	};
	static const struct pci_expect gpus[] = {
		{ "0000:17:00.0", 0x10de, 0x20b0, 0x030200, GS_PCI_GPU, -1, 0,
		  GS_PCI_NODE_FROM_LOCAL_CPUS, false, "0-1" },
		{ "0000:31:00.0", 0x10de, 0x20b0, 0x030200, GS_PCI_GPU, -1, -1,
		  GS_PCI_NODE_UNKNOWN, false, "" },
		{ "0000:4b:00.0", 0x10de, 0x20b0, 0x030200, GS_PCI_GPU, -1, -1,
		  GS_PCI_NODE_UNKNOWN, true, "0-3" },
		{ "0000:65:00.0", 0x10de, 0x20b0, 0x030200, GS_PCI_GPU, 7, 1,
		  GS_PCI_NODE_FROM_LOCAL_CPUS, false, "2-3" },
		{ "0000:b3:00.0", 0x10de, 0x20b0, 0x030200, GS_PCI_GPU, -1, -1,
		  GS_PCI_NODE_UNKNOWN, false, "1-2" },
		{ "0000:cd:00.0", 0x10de, 0x20b0, 0x030200, GS_PCI_GPU, 1, 1,
		  GS_PCI_NODE_FROM_NUMA_NODE, false, "" },
	};
	/* The BMC's garbage numa_node is not ours to report: it is no GPU. */
	static const struct pci_expect aspeed = {
		"0000:02:00.0", 0x1a03, 0x2000, 0x030000, GS_PCI_BMC_DISPLAY,
		-1, 0, GS_PCI_NODE_FROM_LOCAL_CPUS, false, "0-1",
	};
	const size_t nr_expected = ARRAY_SIZE(expected_warnings);
	struct warning_log log = { NULL, 0 };
	char *root = fixtures_root(machine), *prefix = xprintf("%s/sys/", root);
	char *proc_prefix = xprintf("%s/proc/", root);
	struct gs_discover_opts opts = {
		.root = root, .warn = log_warning, .warn_arg = &log,
	};
	struct gs_machine *topo = NULL;
	unsigned int i, same, named;

	if (!expect_int(gs_discover(&opts, &topo), 0, "%s: gs_discover() result", machine))
		goto out;
	for (i = 0; i < nr_expected; i++) {
		char *needle = xprintf("%s%s", root, expected_warnings[i]);

		expect_int(count_warnings(topo, needle), 1, "%s: warnings with \"%s\"",
			   machine, expected_warnings[i]);
		free(needle);
	}
	if (!expect_int(gs_topo_nr_warnings(topo), nr_expected, "%s: number of warnings", machine))
		show_warnings(topo);
	for (i = 0, named = 0; i < gs_topo_nr_warnings(topo); i++)
		named += !strncmp(gs_topo_warning(topo, i), prefix, strlen(prefix)) ||
			 !strncmp(gs_topo_warning(topo, i), proc_prefix, strlen(proc_prefix));
	expect_int(named, gs_topo_nr_warnings(topo), "%s: warnings that start with the file's path", machine);
	expect_int(count_warnings(topo, "0000:02:00.0"), 0, "%s: warnings about the BMC", machine);
	for (i = 0, same = 0; i < log.count && i < gs_topo_nr_warnings(topo); i++)
		same += !strcmp(log.messages[i], gs_topo_warning(topo, i));
	tap_ok(log.count == gs_topo_nr_warnings(topo) && same == log.count,
	       "%s: the callback heard every kept warning, in order", machine);

	for (i = 0; i < 4; i++)
		check_cpu(topo, machine, &cpus[i]);
	expect_int(gs_topo_nr_cores(topo), 4, "%s: cores", machine);
	expect_int(gs_topo_nr_llcs(topo), 1, "%s: LLC groups", machine);
	expect_int(gs_topo_nr_packages(topo), 2, "%s: packages", machine);
	expect_list(gs_topo_isolated_cpus(topo), "", "%s: isolated after a bad list", machine);
	expect_int(gs_topo_nr_nodes(topo), 2, "%s: nodes", machine);
	for (i = 0; i < 2; i++)
		check_node(topo, machine, i, &nodes[i]);
	expect_int(gs_topo_node_distance(topo, 0, 1), 20, "%s: distance 0->1", machine);
	expect_int(gs_topo_node_distance(topo, 1, 0), -1, "%s: distance 1->0 (bad row)", machine);
	expect_int(gs_topo_nr_gpus(topo), 6, "%s: GPUs (the bad class and the dangling link are skipped)", machine);
	for (i = 0; i < 6; i++) {
		check_pci(gs_topo_gpu(topo, i), "malformed: GPU", &gpus[i]);
		/* No numa_status here is usable; "disabled" (0000:cd:00.0) is no warning. */
		if (gs_topo_gpu(topo, i))
			expect_int(gs_topo_gpu(topo, i)->mem_node, -1,
				   "%s: GPU %s has no memory node", machine, gpus[i].address);
	}
	expect_int(gs_topo_nr_ignored_devices(topo), 1, "%s: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "malformed: ignored", &aspeed);
	gs_machine_free(topo);
out:
	free_log(&log);
	free(prefix);
	free(proc_prefix);
	free(root);
}

/*
 * The class of a PCI function is read before its vendor, and the vendor
 * only where the class can make it a GPU or an ignored device: on a copy
 * of the HGX fixture, a network function with an unreadable vendor costs
 * no warning, and one whose class an extra match names ("15b3:0207") is
 * still read, classified and counted.
 */
static void test_pci_class_first(void)
{
	static const char *const infiniband[] = { "15b3:0207" };
	struct gs_machine *plain = NULL, *matched = NULL;
	char *root = fixtures_root("hgx-2s-smt-8gpu");
	char *copy = xprintf("%s/hgx-class-first", scratch_dir);
	char *command = xprintf("cp -R '%s' '%s'", root, copy);

	if (!tap_ok(system(command) == 0, "hgx copy for the class-first checks: %s", command))
		goto out;
	write_file(copy, "sys/bus/pci/devices/0000:e0:00.0/class", "0x020000");
	write_file(copy, "sys/bus/pci/devices/0000:e0:00.0/vendor", "0xnotahexvendor");
	write_file(copy, "sys/bus/pci/devices/0000:e1:00.0/class", "0x020700");
	write_file(copy, "sys/bus/pci/devices/0000:e1:00.0/vendor", "0x15b3");
	write_file(copy, "sys/bus/pci/devices/0000:e1:00.0/device", "0x1021");
	write_file(copy, "sys/bus/pci/devices/0000:e1:00.0/numa_node", "1");
	write_file(copy, "sys/bus/pci/devices/0000:e1:00.0/local_cpulist", "4-7,12-15");
	plain = discover(copy, "hgx with two NICs", NULL, 0);
	matched = discover(copy, "hgx with two NICs, 15b3:0207 matched", infiniband, 1);
	if (!plain || !matched)
		goto out;
	expect_no_warnings(plain, "hgx with two NICs: a NIC's vendor is never read, so");
	expect_int(gs_topo_nr_gpus(plain), 8, "hgx with two NICs: GPUs");
	expect_int(gs_topo_nr_gpus(matched), 9, "hgx with two NICs, 15b3:0207 matched: GPUs");
	if (gs_topo_nr_gpus(matched) == 9)
		tap_ok(!strcmp(gs_topo_gpu(matched, 8)->address, "0000:e1:00.0") &&
		       gs_topo_gpu(matched, 8)->vendor_id == 0x15b3 &&
		       gs_topo_gpu(matched, 8)->node == 1,
		       "hgx with two NICs, 15b3:0207 matched: the InfiniBand function is GPU 8, vendor 15b3, node 1");
out:
	gs_machine_free(plain);
	gs_machine_free(matched);
	remove_tree(copy);
	free(command);
	free(copy);
	free(root);
}

/*
 * Whether @skipped, discovered with skip_cpu_groups, holds what the node
 * policy places by exactly as @full does: the CPUs, their online state,
 * isolation and nodes, every node's CPUs, memory and distances, and every
 * GPU's address and nodes.  Each difference is a failed check naming it.
 */
static bool same_without_groups(const struct gs_machine *full,
				const struct gs_machine *skipped, const char *what)
{
	unsigned int i, j, nr_nodes = gs_topo_nr_nodes(full);
	bool same = true;

	same &= expect_int(gs_topo_nr_cpus(skipped), gs_topo_nr_cpus(full), "%s: CPUs", what);
	for (i = 0; same && i < gs_topo_nr_cpus(full); i++) {
		const struct gs_machine_cpu *a = gs_topo_cpu(full, i), *b = gs_topo_cpu(skipped, i);

		if (a->id != b->id || a->online != b->online || a->isolated != b->isolated ||
		    a->nohz_full != b->nohz_full || a->node != b->node)
			same = tap_ok(false, "%s: CPU %u: id, online, isolation and node as in full discovery",
				      what, a->id);
	}
	same &= gs_bitmap_equal(gs_topo_online_cpus(full), gs_topo_online_cpus(skipped)) &&
		gs_bitmap_equal(gs_topo_isolated_cpus(full), gs_topo_isolated_cpus(skipped)) &&
		gs_bitmap_equal(gs_topo_nohz_full_cpus(full), gs_topo_nohz_full_cpus(skipped));
	same &= expect_int(gs_topo_nr_nodes(skipped), nr_nodes, "%s: nodes", what);
	for (i = 0; same && i < nr_nodes; i++) {
		const struct gs_machine_node *a = gs_topo_node(full, i), *b = gs_topo_node(skipped, i);

		same = a->id == b->id && a->has_memory == b->has_memory &&
		       gs_bitmap_equal(&a->cpus, &b->cpus) &&
		       gs_bitmap_equal(&a->unusable_cpus, &b->unusable_cpus);
		for (j = 0; same && j < nr_nodes; j++)
			same = gs_topo_node_distance(full, a->id, gs_topo_node(full, j)->id) ==
			       gs_topo_node_distance(skipped, b->id, gs_topo_node(skipped, j)->id);
	}
	same &= expect_int(gs_topo_nr_gpus(skipped), gs_topo_nr_gpus(full), "%s: GPUs", what);
	for (i = 0; same && i < gs_topo_nr_gpus(full); i++) {
		const struct gs_pci_device *a = gs_topo_gpu(full, i), *b = gs_topo_gpu(skipped, i);

		same = !strcmp(a->address, b->address) && a->node == b->node &&
		       a->mem_node == b->mem_node && a->node_source == b->node_source &&
		       gs_bitmap_equal(&a->local_cpus, &b->local_cpus);
	}
	return tap_ok(same, "%s: CPUs, nodes and GPUs as full discovery found them", what);
}

/* One discovery of @root with skip_cpu_groups; NULL (and a failed check) on error. */
static struct gs_machine *discover_skipping(const char *root, const char *what)
{
	struct gs_discover_opts opts = { .root = root, .skip_cpu_groups = true };
	struct gs_machine *topo = NULL;

	if (!expect_int(gs_discover(&opts, &topo), 0, "%s: gs_discover() result", what))
		return NULL;
	return topo;
}

/*
 * skip_cpu_groups, which the node policy's fallback discovers with: on
 * every fixture it leaves cores, packages, siblings and caches unread and
 * says so, and changes nothing the node policy places by.  Then the proof
 * that it reads none of their files: on a copy of the HGX fixture with
 * every CPU's topology and cache directory removed, full discovery warns
 * and the skipping one neither warns nor differs from the intact fixture.
 */
static void test_skip_cpu_groups(void)
{
	static const char *const machines[] = {
		"hgx-2s-smt-8gpu", "epyc-nps4-8gpu", "grace-blackwell-memnodes",
		"workstation-isolated", "power9-smt-offline", "hotplug-no-online-file",
	};
	struct gs_machine *full, *skipped, *stripped;
	char *root, *copy, *command;
	bool unread;
	unsigned int i, j;

	for (i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
		root = fixtures_root(machines[i]);
		full = discover(root, machines[i], NULL, 0);
		skipped = discover_skipping(root, machines[i]);
		if (full && skipped) {
			tap_ok(gs_topo_cpu_groups_known(full) && !gs_topo_cpu_groups_known(skipped),
			       "%s: full discovery knows the CPU groups, skip_cpu_groups says it does not",
			       machines[i]);
			unread = !gs_topo_nr_cores(skipped) && !gs_topo_nr_llcs(skipped) &&
				 !gs_topo_nr_packages(skipped);
			for (j = 0; unread && j < gs_topo_nr_cpus(skipped); j++) {
				const struct gs_machine_cpu *cpu = gs_topo_cpu(skipped, j);

				unread = cpu->core < 0 && cpu->core_id < 0 && cpu->package < 0 &&
					 cpu->llc < 0 && gs_bitmap_empty(&cpu->siblings);
			}
			tap_ok(unread, "%s: skip_cpu_groups leaves no core, package, cache or sibling",
			       machines[i]);
			same_without_groups(full, skipped, machines[i]);
		}
		gs_machine_free(full);
		gs_machine_free(skipped);
		free(root);
	}

	root = fixtures_root("hgx-2s-smt-8gpu");
	copy = xprintf("%s/hgx-no-cpu-groups", scratch_dir);
	command = xprintf("cp -R '%s' '%s' && rm -r '%s'/sys/devices/system/cpu/cpu*/topology '%s'/sys/devices/system/cpu/cpu*/cache",
			  root, copy, copy, copy);
	if (!tap_ok(system(command) == 0, "hgx copy without CPU topology or caches: %s", command))
		goto out;
	full = discover(root, "hgx-2s-smt-8gpu", NULL, 0);
	stripped = discover(copy, "hgx without CPU groups", NULL, 0);
	skipped = discover_skipping(copy, "hgx without CPU groups, skipping");
	if (full && stripped && skipped) {
		tap_ok(count_warnings(stripped, "core_cpus_list") == 1 &&
		       count_warnings(stripped, "no unified cache") == 1,
		       "hgx without CPU groups: full discovery warns of the missing files");
		expect_no_warnings(skipped, "hgx without CPU groups, skipping");
		same_without_groups(full, skipped, "hgx without CPU groups, skipping");
	}
	gs_machine_free(full);
	gs_machine_free(stripped);
	gs_machine_free(skipped);
out:
	remove_tree(copy);
	free(command);
	free(copy);
	free(root);
}

/*
 * skip_gpu_details, which the fallback discovers with: on every fixture
 * each GPU has the address, node, node source and memory node of a full
 * discovery; a GPU placed by numa_node has no device id or local CPUs
 * read, any other keeps the local CPUs full discovery read.  Then a copy
 * of the HGX fixture whose GPU 0 has numa_node -1: its node still comes
 * from local_cpulist.
 */
static void test_skip_gpu_details(void)
{
	static const char *const machines[] = {
		"hgx-2s-smt-8gpu", "epyc-nps4-8gpu", "grace-blackwell-memnodes",
		"workstation-isolated", "power9-smt-offline", "hotplug-no-online-file",
	};
	struct gs_discover_opts opts = { .skip_cpu_groups = true, .skip_gpu_details = true };
	struct gs_machine *full, *skipped;
	unsigned int i, j, by_numa_node = 0, by_local_cpus = 0;
	char *root, *copy, *command;

	for (i = 0; i <= sizeof(machines) / sizeof(machines[0]); i++) {
		const char *name = i < sizeof(machines) / sizeof(machines[0]) ? machines[i] :
				   "hgx without GPU 0's numa_node";
		bool same = true, unread = true;

		if (i < sizeof(machines) / sizeof(machines[0])) {
			root = fixtures_root(machines[i]);
		} else {
			/* The copy: GPU 0 (0000:18:00.0) without a numa_node. */
			root = fixtures_root("hgx-2s-smt-8gpu");
			copy = xprintf("%s/hgx-no-numa-node", scratch_dir);
			command = xprintf("cp -R '%s' '%s'", root, copy);
			free(root);
			root = copy;
			if (!tap_ok(system(command) == 0, "hgx copy without GPU 0's numa_node: %s",
				    command)) {
				free(command);
				remove_tree(root);
				free(root);
				break;
			}
			free(command);
			write_file(root, "sys/bus/pci/devices/0000:18:00.0/numa_node", "-1\n");
		}
		full = discover(root, name, NULL, 0);
		skipped = NULL;
		opts.root = root;
		expect_int(gs_discover(&opts, &skipped), 0, "%s: skipping gs_discover() result", name);
		if (!full || !skipped)
			goto next;
		same = expect_int(gs_topo_nr_gpus(skipped), gs_topo_nr_gpus(full), "%s: GPUs", name);
		for (j = 0; same && j < gs_topo_nr_gpus(full); j++) {
			const struct gs_pci_device *a = gs_topo_gpu(full, j);
			const struct gs_pci_device *b = gs_topo_gpu(skipped, j);

			same = !strcmp(a->address, b->address) && a->node == b->node &&
			       a->mem_node == b->mem_node && a->node_source == b->node_source;
			if (b->node_source == GS_PCI_NODE_FROM_NUMA_NODE) {
				unread &= !b->device_id && gs_bitmap_empty(&b->local_cpus);
				by_numa_node++;
			} else {
				same &= gs_bitmap_equal(&a->local_cpus, &b->local_cpus);
				by_local_cpus++;
			}
		}
		tap_ok(same, "%s: skip_gpu_details finds every GPU's node and memory node as full discovery does",
		       name);
		tap_ok(unread, "%s: a GPU placed by numa_node has no device id or local CPUs read",
		       name);
		if (i == sizeof(machines) / sizeof(machines[0]))
			tap_ok(gs_topo_nr_gpus(skipped) &&
			       gs_topo_gpu(skipped, 0)->node_source == GS_PCI_NODE_FROM_LOCAL_CPUS &&
			       gs_topo_gpu(skipped, 0)->node == 0,
			       "hgx without GPU 0's numa_node: skip_gpu_details still reads its local_cpulist (node %d)",
			       gs_topo_nr_gpus(skipped) ? gs_topo_gpu(skipped, 0)->node : -2);
next:
		gs_machine_free(full);
		gs_machine_free(skipped);
		if (i == sizeof(machines) / sizeof(machines[0]))
			remove_tree(root);
		free(root);
	}
	tap_ok(by_numa_node && by_local_cpus,
	       "skip_gpu_details: %u GPUs placed by numa_node, %u by local_cpulist (both kinds seen)",
	       by_numa_node, by_local_cpus);
}

/* --- a generated machine: CPU ids up to 4095, node ids up to 1023 --- */

static void build_big_machine(const char *root)
{
	char rel[128], value[64];
	unsigned int id, node;

	for (id = 0; id < 4096; id++) {
		if (id == 128)
			id = 4064;
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/topology/core_id", id);
		snprintf(value, sizeof(value), "%u", id < 128 ? id % 64 / 2 : (id - 4064) / 2);
		write_file(root, rel, value);
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/topology/physical_package_id", id);
		snprintf(value, sizeof(value), "%u", id < 128 ? id / 64 : 2);
		write_file(root, rel, value);
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/topology/core_cpus_list", id);
		snprintf(value, sizeof(value), "%u-%u", id & ~1u, id | 1u);
		write_file(root, rel, value);
	}
	write_file(root, "sys/devices/system/cpu/online", "0-127,4064-4095");
	write_file(root, "sys/devices/system/node/has_memory", "0-7,1000,1023");
	for (node = 0; node < 1024; node++) {
		char row[64] = "";
		unsigned int other;
		size_t len = 0;

		if (node == 8)
			node = 1000;
		if (node == 1001)
			node = 1023;
		if (node < 8)
			snprintf(value, sizeof(value), "%u-%u", node * 16, node * 16 + 15);
		else
			snprintf(value, sizeof(value), "%s", node == 1023 ? "4064-4095" : "");
		snprintf(rel, sizeof(rel), "sys/devices/system/node/node%u/cpulist", node);
		write_file(root, rel, value);
		for (other = 0; other < 10; other++) {
			unsigned int other_id = other < 8 ? other : other == 8 ? 1000 : 1023;

			len += (size_t)snprintf(row + len, sizeof(row) - len, "%s%u",
						other ? " " : "", other_id == node ? 10 : 20);
		}
		snprintf(rel, sizeof(rel), "sys/devices/system/node/node%u/distance", node);
		write_file(root, rel, row);
	}
	/* Lexical order of these names is not PCI order: 0000 < 10000 < ffff. */
	write_file(root, "sys/bus/pci/devices/0000:01:00.0/vendor", "0x10de");
	write_file(root, "sys/bus/pci/devices/0000:01:00.0/class", "0x030200");
	write_file(root, "sys/bus/pci/devices/0000:01:00.0/device", "0x2330");
	write_file(root, "sys/bus/pci/devices/0000:01:00.0/numa_node", "0");
	write_file(root, "sys/bus/pci/devices/0000:01:00.0/local_cpulist", "0-15");
	write_file(root, "sys/bus/pci/devices/ffff:01:00.0/vendor", "0x10de");
	write_file(root, "sys/bus/pci/devices/ffff:01:00.0/class", "0x030200");
	write_file(root, "sys/bus/pci/devices/ffff:01:00.0/device", "0x2330");
	write_file(root, "sys/bus/pci/devices/ffff:01:00.0/numa_node", "1023");
	write_file(root, "sys/bus/pci/devices/ffff:01:00.0/local_cpulist", "4064-4095");
	write_file(root, "sys/bus/pci/devices/10000:01:00.0/vendor", "0x10de");
	write_file(root, "sys/bus/pci/devices/10000:01:00.0/class", "0x030200");
	write_file(root, "sys/bus/pci/devices/10000:01:00.0/device", "0x2330");
	write_file(root, "sys/bus/pci/devices/10000:01:00.0/numa_node", "7");
	write_file(root, "sys/bus/pci/devices/10000:01:00.0/local_cpulist", "112-127");
}

static void test_big_machine(void)
{
	static const char *const machine = "generated 160-CPU machine";
	static const struct cpu_expect cpu4095 = {
		4095, true, 79, 15, 2, 1023, -1, "4094-4095",
	};
	static const struct node_expect nodes[] = {
		{ 1000, true, true, "" },
		{ 1023, true, false, "4064-4095" },
	};
	static const struct {
		const char *address;
		unsigned int domain;
		int node;
	} gpus[] = {
		{ "0000:01:00.0", 0x0, 0 },
		{ "ffff:01:00.0", 0xffff, 1023 },
		{ "10000:01:00.0", 0x10000, 7 },
	};
	char *root = scratch_subdir("big-machine");
	struct gs_machine *topo;
	unsigned int i;

	build_big_machine(root);
	topo = discover(root, machine, NULL, 0);
	if (!topo)
		goto out;
	expect_int(gs_topo_nr_cpus(topo), 160, "%s: CPUs", machine);
	expect_int(gs_topo_cpu(topo, 159)->id, 4095, "%s: id of the last CPU", machine);
	tap_ok(gs_topo_cpu_by_id(topo, 128) == NULL && gs_topo_cpu_by_id(topo, 4063) == NULL &&
	       gs_topo_cpu_by_id(topo, 4064) == gs_topo_cpu(topo, 128),
	       "%s: CPU lookup by id skips the hole 128-4063", machine);
	check_cpu(topo, machine, &cpu4095);
	expect_int(gs_topo_nr_cores(topo), 80, "%s: cores", machine);
	expect_int(gs_topo_nr_packages(topo), 3, "%s: packages", machine);
	expect_int(gs_topo_nr_llcs(topo), 0, "%s: LLC groups (no cache directories)", machine);
	expect_list(gs_topo_online_cpus(topo), "0-127,4064-4095", "%s: online CPUs", machine);
	expect_int(gs_topo_nr_nodes(topo), 10, "%s: nodes", machine);
	for (i = 0; i < 2; i++)
		check_node(topo, machine, 8 + i, &nodes[i]);
	expect_int(gs_topo_node_distance(topo, 1023, 1000), 20, "%s: distance 1023->1000", machine);
	expect_int(gs_topo_node_distance(topo, 1000, 1000), 10, "%s: distance 1000->1000", machine);
	expect_int(gs_topo_nr_gpus(topo), 3, "%s: GPUs", machine);
	for (i = 0; i < 3; i++) {
		const struct gs_pci_device *gpu = gs_topo_gpu(topo, i);

		tap_ok(gpu && !strcmp(gpu->address, gpus[i].address) &&
		       gpu->domain == gpus[i].domain && gpu->node == gpus[i].node,
		       "%s: GPU %u is %s (domain %x) on node %d", machine, i,
		       gpus[i].address, gpus[i].domain, gpus[i].node);
	}
	if (expect_int(gs_topo_nr_warnings(topo), 1, "%s: number of warnings", machine))
		tap_ok(count_warnings(topo, "/cpuN/cache: no unified cache for CPUs 0-127,4064-4095;") == 1,
		       "%s: one warning covers every CPU without cache information", machine);
	else
		show_warnings(topo);
	gs_machine_free(topo);
out:
	free(root);
}

/* --- real machine dumps --- */

static const char *const real_tarballs[] = {
	"16em64t-4s2c2t-offlines.tar.bz2",
	"32em64t-2n8c+dax+nvme+mic+dimms.tar.bz2",
	"40intel64-2g2n4c+pcilocality.tar.bz2",
};

#define NR_REAL_DUMPS	ARRAY_SIZE(real_tarballs)

/* Returns the one directory inside @dir (each dump has one top folder), or NULL. */
static char *only_subdirectory(const char *dir)
{
	struct dirent *entry;
	char *found = NULL;
	DIR *stream = opendir(dir);

	if (!stream)
		return NULL;
	while ((entry = readdir(stream))) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (found) {	/* more than one entry */
			free(found);
			found = NULL;
			break;
		}
		found = xprintf("%s/%s", dir, entry->d_name);
	}
	closedir(stream);
	return found;
}

/*
 * The members of a dump that discovery reads.  A dump holds thousands of
 * other files (memory block links, PCI config spaces, /proc), and creating
 * them took seconds on the CI machines: only these are extracted.  A file
 * that discovery starts to read must be added here.
 */
static const char *const dump_members[] = {
	"*/sys/devices/system/cpu/online",
	"*/sys/devices/system/cpu/isolated",
	"*/sys/devices/system/cpu/nohz_full",
	"*/sys/devices/system/cpu/cpu*/online",
	"*/sys/devices/system/cpu/cpu*/topology/*",
	"*/sys/devices/system/cpu/cpu*/cache/index*/level",
	"*/sys/devices/system/cpu/cpu*/cache/index*/type",
	"*/sys/devices/system/cpu/cpu*/cache/index*/shared_cpu_list",
	"*/sys/devices/system/cpu/cpu*/cache/index*/shared_cpu_map",
	"*/sys/devices/system/cpu/cpu*/node*",
	"*/sys/devices/system/node/has_memory",
	"*/sys/devices/system/node/node*/cpulist",
	"*/sys/devices/system/node/node*/cpumap",
	"*/sys/devices/system/node/node*/distance",
	"*/sys/devices/system/node/node*/meminfo",
	"*/sys/bus/pci/devices/*",
	"*/sys/devices/pci*/vendor",
	"*/sys/devices/pci*/device",
	"*/sys/devices/pci*/class",
	"*/sys/devices/pci*/numa_node",
	"*/sys/devices/pci*/local_cpulist",
	"*/sys/devices/pci*/local_cpus",
};

#define NR_DUMP_MEMBERS	ARRAY_SIZE(dump_members)

/*
 * Extracts every dump with tar, all at once, and sets roots[i] to the
 * folder inside, or NULL (with a diagnostic) when that dump failed.  tar
 * exits with 2 when a pattern matches nothing in one dump (old kernels
 * have no isolated file); that is accepted and its complaint silenced, and
 * a dump that really failed to extract fails the exact checks that follow.
 */
static void extract_real_dumps(const char *tarball_dir, char *roots[NR_REAL_DUMPS])
{
	posix_spawn_file_actions_t quiet;
	char *argv[6 + NR_DUMP_MEMBERS + 1];
	pid_t pids[NR_REAL_DUMPS];
	char *dests[NR_REAL_DUMPS];
	size_t i, j;

	posix_spawn_file_actions_init(&quiet);
	posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	for (i = 0; i < NR_REAL_DUMPS; i++) {
		char *tarball = xprintf("%s/%s", tarball_dir, real_tarballs[i]);
		char *name = xprintf("real-%zu", i);
		int err;

		dests[i] = scratch_subdir(name);
		argv[0] = "tar";
		argv[1] = "-xjf";
		argv[2] = tarball;
		argv[3] = "-C";
		argv[4] = dests[i];
		argv[5] = "--wildcards";
		for (j = 0; j < NR_DUMP_MEMBERS; j++)
			argv[6 + j] = (char *)dump_members[j];
		argv[6 + NR_DUMP_MEMBERS] = NULL;
		pids[i] = -1;
		roots[i] = NULL;
		if (access(tarball, R_OK)) {
			tap_diag("%s: %s", tarball, strerror(errno));
		} else {
			err = posix_spawnp(&pids[i], "tar", &quiet, NULL, argv, environ);
			if (err) {
				tap_diag("cannot run tar: %s", strerror(err));
				pids[i] = -1;
			}
		}
		free(tarball);
		free(name);
	}
	posix_spawn_file_actions_destroy(&quiet);
	for (i = 0; i < NR_REAL_DUMPS; i++) {
		int status;

		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) <= 2)
			roots[i] = only_subdirectory(dests[i]);
		else if (pids[i] > 0)
			tap_diag("tar -xjf %s failed", real_tarballs[i]);
		free(dests[i]);
	}
}

/* 16em64t-4s2c2t-offlines: 4 packages x 2 cores x 2 threads, CPUs 2 5 13 14 offline. */
static void test_real_4s2c2t(const char *root)
{
	static const char *const machine = "4s2c2t";
	/*
	 * From 16em64t-4s2c2t-offlines.lstopo.txt: Package P#0 holds PUs
	 * 0,8 (core P#0) and 4,12 (core P#1); P#1 holds 1,9; P#2 holds 6 and
	 * 10 alone; P#3 holds 3,11 and 7,15; PUs 0x6024 (2,5,13,14) are not
	 * in the topology.  One L3 per package.  Cores are numbered machine-
	 * wide in the order of their lowest CPU.
	 */
	static const struct cpu_expect cpus[] = {
		{ 0, true, 0, 0, 0, 0, 0, "0,8" },
		{ 1, true, 1, 0, 1, 0, 1, "1,9" },
		{ 2, false, -1, -1, -1, 0, -1, "" },
		{ 3, true, 2, 0, 3, 0, 2, "3,11" },
		{ 4, true, 3, 1, 0, 0, 0, "4,12" },
		{ 5, false, -1, -1, -1, 0, -1, "" },
		{ 6, true, 4, 1, 2, 0, 3, "6" },
		{ 7, true, 5, 1, 3, 0, 2, "7,15" },
		{ 8, true, 0, 0, 0, 0, 0, "0,8" },
		{ 9, true, 1, 0, 1, 0, 1, "1,9" },
		{ 10, true, 6, 0, 2, 0, 3, "10" },
		{ 11, true, 2, 0, 3, 0, 2, "3,11" },
		{ 12, true, 3, 1, 0, 0, 0, "4,12" },
		{ 13, false, -1, -1, -1, 0, -1, "" },
		{ 14, false, -1, -1, -1, 0, -1, "" },
		{ 15, true, 5, 1, 3, 0, 2, "7,15" },
	};
	static const struct node_expect node0 = { 0, true, false, "0-1,3-4,6-12,15" };
	struct gs_machine *topo;
	unsigned int i;

	if (!root) {
		tap_skip("dump not extracted", "%s: real dump", machine);
		return;
	}
	topo = discover(root, machine, NULL, 0);
	if (!topo)
		return;
	expect_int(gs_topo_nr_cpus(topo), 16, "%s: CPU directories", machine);
	expect_list(gs_topo_online_cpus(topo), "0-1,3-4,6-12,15", "%s: online CPUs (12 PUs)", machine);
	expect_int(gs_topo_nr_cores(topo), 7, "%s: cores", machine);
	expect_int(gs_topo_nr_packages(topo), 4, "%s: packages", machine);
	expect_int(gs_topo_nr_llcs(topo), 4, "%s: L3 caches", machine);
	for (i = 0; i < 16; i++)
		check_cpu(topo, machine, &cpus[i]);
	/* An old kernel: cpumap (a mask) instead of cpulist, meminfo instead of has_memory. */
	expect_int(gs_topo_nr_nodes(topo), 1, "%s: nodes", machine);
	check_node(topo, machine, 0, &node0);
	check_node_unusable(topo, machine, 0, "2,5,13-14");
	expect_int(gs_topo_node_distance(topo, 0, 0), 10, "%s: distance 0->0", machine);
	expect_int(gs_topo_nr_gpus(topo), 0, "%s: GPUs (no PCI directory)", machine);
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);
}

/* 32em64t-2n8c+dax+nvme+mic+dimms: 2 nodes x 8 cores, ASPEED BMC, Xeon Phi on node 1. */
static void test_real_32em64t(const char *root)
{
	static const char *const machine = "2n8c+mic";
	static const char *const phi_match[] = { "8086:0b40" };
	static const char *const intel_match[] = { "8086" };
	static const struct node_expect nodes[] = {
		{ 0, true, false, "0-7" },
		{ 1, true, false, "8-15" },
	};
	/* hwloc.xml: PCIDev 0000:05:00.0 "0300 [1a03:2000]" under Package 0 / NUMANode 0. */
	static const struct pci_expect aspeed = {
		"0000:05:00.0", 0x1a03, 0x2000, 0x030000, GS_PCI_BMC_DISPLAY,
		0, 0, GS_PCI_NODE_FROM_NUMA_NODE, false, "0-7",
	};
	/* hwloc.xml: PCIDev 0000:83:00.0 "0b40 [8086:225c]" under Package 1 / NUMANode 1. */
	struct pci_expect phi = {
		"0000:83:00.0", 0x8086, 0x225c, 0x0b4000, GS_PCI_UNMATCHED,
		1, 1, GS_PCI_NODE_FROM_NUMA_NODE, false, "8-15",
	};
	struct gs_machine *topo;
	char siblings[8];
	unsigned int i;

	if (!root) {
		tap_skip("dump not extracted", "%s: real dump", machine);
		return;
	}
	topo = discover(root, machine, NULL, 0);
	if (!topo)
		return;
	expect_int(gs_topo_nr_cpus(topo), 16, "%s: CPUs", machine);
	expect_list(gs_topo_online_cpus(topo), "0-15", "%s: online CPUs", machine);
	expect_int(gs_topo_nr_cores(topo), 16, "%s: cores", machine);
	expect_int(gs_topo_nr_packages(topo), 2, "%s: packages", machine);
	expect_int(gs_topo_nr_llcs(topo), 2, "%s: L3 caches", machine);
	for (i = 0; i < 16; i++) {
		struct cpu_expect want = {
			i, true, (int)i, (int)(i % 8), (int)(i / 8), (int)(i / 8),
			(int)(i / 8), siblings,
		};

		snprintf(siblings, sizeof(siblings), "%u", i);
		check_cpu(topo, machine, &want);
	}
	expect_int(gs_topo_nr_nodes(topo), 2, "%s: nodes", machine);
	for (i = 0; i < 2; i++)
		check_node(topo, machine, i, &nodes[i]);
	expect_int(gs_topo_node_distance(topo, 0, 1), 21, "%s: distance 0->1", machine);
	expect_int(gs_topo_nr_gpus(topo), 0, "%s: GPUs (ASPEED and Xeon Phi are not)", machine);
	expect_int(gs_topo_nr_ignored_devices(topo), 2, "%s: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "2n8c+mic: ignored", &aspeed);
	check_pci(gs_topo_ignored_device(topo, 1), "2n8c+mic: ignored", &phi);
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);

	phi.verdict = GS_PCI_GPU_EXTRA;
	topo = discover(root, "2n8c+mic with 8086:0b40", phi_match, 1);
	if (topo) {
		expect_int(gs_topo_nr_gpus(topo), 1, "%s with 8086:0b40: GPUs", machine);
		check_pci(gs_topo_gpu(topo, 0), "2n8c+mic with 8086:0b40: GPU", &phi);
		expect_int(gs_topo_nr_ignored_devices(topo), 1, "%s with 8086:0b40: ignored", machine);
		gs_machine_free(topo);
	}
	/* Vendor alone: Intel's 100+ bridges and NICs must not become GPUs. */
	topo = discover(root, "2n8c+mic with 8086", intel_match, 1);
	if (topo) {
		expect_int(gs_topo_nr_gpus(topo), 1, "%s with 8086: GPUs", machine);
		check_pci(gs_topo_gpu(topo, 0), "2n8c+mic with 8086: GPU", &phi);
		gs_machine_free(topo);
	}
}

/* 40intel64-2g2n4c+pcilocality: 4 nodes x 10 cores, Matrox with numa_node -1. */
static void test_real_40intel64(const char *root)
{
	static const char *const machine = "40intel64";
	static const int core_ids[] = { 0, 1, 2, 8, 9, 16, 17, 18, 24, 25 };
	/*
	 * hwloc.xml puts PCIDev 0000:09:03.0 "0300 [102b:0532]" under the
	 * Group of nodes 0 and 2 because hwloc's test gave it a pci_locality
	 * hint; sysfs itself says numa_node -1 and local_cpulist 0-39.
	 */
	static const struct pci_expect matrox = {
		"0000:09:03.0", 0x102b, 0x0532, 0x030000, GS_PCI_BMC_DISPLAY,
		-1, -1, GS_PCI_NODE_UNKNOWN, true, "0-39",
	};
	struct gs_machine *topo;
	char siblings[8], cpus[64];
	unsigned int i;

	if (!root) {
		tap_skip("dump not extracted", "%s: real dump", machine);
		return;
	}
	topo = discover(root, machine, NULL, 0);
	if (!topo)
		return;
	expect_int(gs_topo_nr_cpus(topo), 40, "%s: CPUs", machine);
	expect_list(gs_topo_online_cpus(topo), "0-39", "%s: online CPUs", machine);
	expect_int(gs_topo_nr_cores(topo), 40, "%s: cores", machine);
	expect_int(gs_topo_nr_packages(topo), 4, "%s: packages", machine);
	expect_int(gs_topo_nr_llcs(topo), 4, "%s: L3 caches", machine);
	for (i = 0; i < 40; i++) {
		struct cpu_expect want = {
			i, true, (int)i, core_ids[i / 4], (int)(i % 4), (int)(i % 4),
			(int)(i % 4), siblings,
		};

		snprintf(siblings, sizeof(siblings), "%u", i);
		check_cpu(topo, machine, &want);
	}
	expect_int(gs_topo_nr_nodes(topo), 4, "%s: nodes", machine);
	for (i = 0; i < 4; i++) {
		struct node_expect want = { i, true, false, cpus };
		unsigned int cpu;
		size_t len = 0;

		for (cpu = i; cpu < 40; cpu += 4)
			len += (size_t)snprintf(cpus + len, sizeof(cpus) - len, "%s%u",
						cpu > i ? "," : "", cpu);
		check_node(topo, machine, i, &want);
	}
	expect_int(gs_topo_node_distance(topo, 0, 1), 20, "%s: distance 0->1", machine);
	expect_int(gs_topo_node_distance(topo, 2, 2), 10, "%s: distance 2->2", machine);
	expect_int(gs_topo_nr_gpus(topo), 0, "%s: GPUs", machine);
	expect_int(gs_topo_nr_ignored_devices(topo), 1, "%s: ignored devices", machine);
	check_pci(gs_topo_ignored_device(topo, 0), "40intel64: ignored", &matrox);
	/* The Matrox is no GPU, so its missing locality is no warning either. */
	expect_no_warnings(topo, machine);
	gs_machine_free(topo);
}

static void test_real_dumps(const char *tarball_dir)
{
	char *roots[NR_REAL_DUMPS];
	size_t i;

	if (!tarball_dir) {
		for (i = 0; i < NR_REAL_DUMPS; i++)
			tap_skip("no TARBALL_DIR argument or $GS_SYSFS_TARBALLS",
				 "real dump %s", real_tarballs[i]);
		return;
	}
	extract_real_dumps(tarball_dir, roots);
	test_real_4s2c2t(roots[0]);
	test_real_32em64t(roots[1]);
	test_real_40intel64(roots[2]);
	for (i = 0; i < NR_REAL_DUMPS; i++)
		free(roots[i]);
}

/* --- the machine this runs on --- */

static void test_live_root(void)
{
	struct gs_machine *topo = NULL;
	unsigned int i, without_core = 0;
	int cpu_id;

	if (access("/sys/devices/system/cpu", F_OK)) {
		tap_skip("no /sys/devices/system/cpu here", "live: discovery of /");
		return;
	}
	if (!expect_int(gs_discover(NULL, &topo), 0, "live: gs_discover(NULL) of /"))
		return;
	tap_ok(gs_topo_nr_cpus(topo) >= 1 && !gs_bitmap_empty(gs_topo_online_cpus(topo)) &&
	       gs_topo_nr_nodes(topo) >= 1,
	       "live: at least one CPU, one online CPU and one node");
	gs_bitmap_for_each(cpu_id, gs_topo_online_cpus(topo)) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu_by_id(topo, (unsigned int)cpu_id);

		if (!cpu || cpu->core < 0 || cpu->node < 0)
			without_core++;
	}
	expect_int(without_core, 0, "live: online CPUs without a core or node");
	for (i = 0; i < gs_topo_nr_warnings(topo); i++)
		tap_diag("live warning: %s", gs_topo_warning(topo, i));
	gs_machine_free(topo);
}

/* Returns the fixtures folder beside this source file, as the compiler named it. */
static char *fixtures_beside_source(void)
{
	const char *slash = strrchr(__FILE__, '/');

	if (!slash)
		return xprintf("fixtures");
	return xprintf("%.*s/fixtures", (int)(slash - __FILE__), __FILE__);
}

int main(int argc, char **argv)
{
	const char *tarball_dir = NULL;
	char *default_fixtures = NULL, *probe, *template;
	const char *tmp = getenv("GS_TEST_TMPDIR");
	int status;

	tap_start();
	if (argc > 1)
		fixtures_dir = argv[1];
	else if (getenv("GS_FIXTURES_DIR"))
		fixtures_dir = getenv("GS_FIXTURES_DIR");
#ifdef GS_FIXTURES_DIR
	else
		fixtures_dir = GS_FIXTURES_DIR;
#endif
	if (!fixtures_dir)
		fixtures_dir = default_fixtures = fixtures_beside_source();
	if (argc > 2)
		tarball_dir = argv[2];
	else if (getenv("GS_SYSFS_TARBALLS"))
		tarball_dir = getenv("GS_SYSFS_TARBALLS");
#ifdef GS_SYSFS_TARBALLS_DIR
	else
		tarball_dir = GS_SYSFS_TARBALLS_DIR;
#endif

	probe = fixtures_root("hgx-2s-smt-8gpu");
	if (access(probe, F_OK)) {
		printf("Bail out! synthetic fixtures not found in %s\n", fixtures_dir);
		return 1;
	}
	free(probe);
	/*
	 * The trees here are thousands of small files: on a busy disk their
	 * creation alone took seconds, on tmpfs a tenth of that.  So tmpfs
	 * comes before $TMPDIR unless GS_TEST_TMPDIR says otherwise.
	 */
	if (!tmp || !*tmp)
		tmp = !access("/dev/shm", W_OK) ? "/dev/shm" : getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	template = xprintf("%s/gpusched-test-discover.XXXXXX", tmp);
	scratch_dir = mkdtemp(template);
	if (!scratch_dir) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	tap_diag("fixtures %s, dumps %s, scratch %s", fixtures_dir,
		 tarball_dir ? tarball_dir : "(none)", scratch_dir);

	test_sysfs();
	test_gpu_match_parse();
	test_pci_classify();
	test_discover_errors();
	test_hgx();
	test_epyc();
	test_grace();
	test_nvidia_listing();
	test_workstation();
	test_power9_offline();
	test_hotplug_no_online_file();
	test_malformed();
	test_skip_cpu_groups();
	test_skip_gpu_details();
	test_pci_class_first();
	test_big_machine();
	test_real_dumps(tarball_dir);
	test_live_root();

	remove_tree(scratch_dir);
	free(template);
	free(default_fixtures);
	status = tap_done();
	return status;
}
