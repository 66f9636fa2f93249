// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the built gpuschedd as a user runs it: --dry-run on the
 * committed sysfs snapshots (what the module would be sent: GPUs with
 * their addresses, nodes, memory nodes and NVML UUIDs, the per-CPU cache
 * groups and the housekeeping CPUs), and the exit codes and messages of
 * the failures an administrator meets first (a bad option, a wrong
 * --sysfs-root, the module not loaded).  The daemon's output is read
 * with json-c, the way a script would read it.
 *
 * Usage: test_gpuschedd [FIXTURES_DIR]
 *   The daemon is $GPUSCHEDD, else ../bin/gpuschedd beside this program;
 *   the fake NVML is libnvidia-ml.so.1 beside this program.
 *   FIXTURES_DIR defaults to $GS_FIXTURES_DIR, then to "fixtures" beside
 *   this source file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "tap.h"

extern char **environ;

static const char *daemon_path;
static const char *fixtures_dir;
static char *fake_nvml;
static char *fake_device;

/* Runs the daemon with the NULL-terminated @args, stdout and stderr captured. */
static struct run run_daemon(const char *const *args)
{
	return run_program(daemon_path, NULL, args);
}

/*
 * Runs --dry-run --no-nvml (unless @nvml) on fixture @machine with the
 * extra @args and returns the parsed request, or NULL after a failed
 * check that says why.
 */
/*
 * Runs gpuschedd --dry-run on fixture @machine and returns the request it
 * prints, or NULL; its log goes to *@log (malloc'ed) when @log is not NULL.
 */
static json_object *dry_run_log(const char *machine, bool nvml, const char *const *extra,
				char **log)
{
	char *root = xprintf("%s/%s", fixtures_dir, machine);
	const char *args[24] = { "--dry-run", "--sysfs-root", root };
	unsigned int nr = 3;
	json_object *request = NULL;
	struct run run;

	if (!nvml)
		args[nr++] = "--no-nvml";
	while (extra && *extra && nr < 23)
		args[nr++] = *extra++;
	args[nr] = NULL;
	run = run_daemon(args);
	if (tap_ok(run.status == 0, "%s: --dry-run exits 0", machine))
		request = json_tokener_parse(run.out);
	else
		tap_diag("exit %d, stderr: %s", run.status, run.err);
	if (run.status == 0 && !tap_ok(request != NULL, "%s: stdout is JSON", machine))
		tap_diag("stdout: %s", run.out);
	if (log)
		*log = xprintf("%s", run.err ? run.err : "");
	run_free(&run);
	free(root);
	return request;
}

static json_object *dry_run(const char *machine, bool nvml, const char *const *extra)
{
	return dry_run_log(machine, nvml, extra, NULL);
}

static json_object *field(json_object *object, const char *name)
{
	json_object *value = NULL;

	json_object_object_get_ex(object, name, &value);
	return value;
}

static json_object *gpu_field(json_object *request, size_t index, const char *name)
{
	json_object *gpus = field(request, "gpus");

	if (!gpus || index >= json_object_array_length(gpus))
		return NULL;
	return field(json_object_array_get_idx(gpus, index), name);
}

static const char *string_or_null(json_object *value)
{
	return value && json_object_is_type(value, json_type_string) ?
	       json_object_get_string(value) : "(not a string)";
}

/* Checks GPU count, and each GPU's address and node, in one result each. */
static void check_gpus(json_object *request, const char *machine, unsigned int nr,
		       const char *const *addresses, const int *nodes)
{
	json_object *gpus = field(request, "gpus");
	unsigned int i;

	if (!tap_ok(gpus && json_object_get_type(gpus) == json_type_array &&
		    json_object_array_length(gpus) == nr, "%s: %u GPUs", machine, nr)) {
		tap_diag("gpus: %s", gpus ? json_object_to_json_string(gpus) : "(missing)");
		return;
	}
	for (i = 0; i < nr; i++) {
		const char *address = string_or_null(gpu_field(request, i, "pci_address"));
		json_object *node = gpu_field(request, i, "node");

		tap_ok(!strcmp(address, addresses[i]) && node &&
		       json_object_is_type(node, json_type_int) &&
		       json_object_get_int(node) == nodes[i],
		       "%s: GPU %u is %s on node %d (got %s on %s)", machine, i, addresses[i],
		       nodes[i], address, node ? json_object_to_json_string(node) : "(missing)");
	}
}

static void check_int(json_object *value, int expected, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_int(json_object *value, int expected, const char *fmt, ...)
{
	char *what;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!tap_ok(value && json_object_is_type(value, json_type_int) &&
		    json_object_get_int(value) == expected, "%s is %d", what ? what : fmt,
		    expected))
		tap_diag("got %s", value ? json_object_to_json_string(value) : "(missing)");
	free(what);
}

static void check_llc(json_object *request, const char *machine, unsigned int cpu, int expected)
{
	json_object *llc = field(request, "llc");

	check_int(llc && json_object_is_type(llc, json_type_array) ?
		  json_object_array_get_idx(llc, cpu) : NULL, expected,
		  "%s: llc of CPU %u", machine, cpu);
}

static void check_string(json_object *value, const char *expected, const char *what)
{
	const char *got = string_or_null(value);

	if (!tap_ok(!strcmp(got, expected), "%s is \"%s\"", what, expected))
		tap_diag("got \"%s\"", got);
}

static void test_hgx(void)
{
	static const char *const machine = "hgx-2s-smt-8gpu";
	static const char *const addresses[] = {
		"0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0",
		"0000:9a:00.0", "0000:ab:00.0", "0000:ba:00.0", "0000:db:00.0",
	};
	static const int nodes[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	json_object *request = dry_run(machine, false, NULL);

	if (!request)
		return;
	check_int(field(request, "nr_cpus"), 16, "%s: nr_cpus", machine);
	check_gpus(request, machine, 8, addresses, nodes);
	/* One L3 per socket: CPUs 0-3,8-11 and 4-7,12-15, named by their lowest CPU. */
	check_llc(request, machine, 0, 0);
	check_llc(request, machine, 5, 4);
	check_llc(request, machine, 11, 0);
	check_llc(request, machine, 15, 4);
	check_string(field(request, "housekeeping"), "", "hgx-2s-smt-8gpu: housekeeping");
	tap_ok(json_object_is_type(gpu_field(request, 3, "mem_node"), json_type_null) &&
	       json_object_is_type(gpu_field(request, 3, "uuid"), json_type_null),
	       "%s: no mem_node and no UUID without --mem-node and NVML", machine);
	json_object_put(request);
}

static void test_epyc(void)
{
	static const char *const machine = "epyc-nps4-8gpu";
	static const char *const addresses[] = {
		"0000:05:00.0", "0000:15:00.0", "0000:65:00.0", "0000:75:00.0",
		"0000:85:00.0", "0000:95:00.0", "0000:e5:00.0", "0000:f5:00.0",
	};
	/* Not linear: and 0000:85:00.0 has numa_node -1, its node comes from local_cpulist. */
	static const int nodes[] = { 7, 7, 5, 5, 3, 3, 1, 1 };
	json_object *request = dry_run(machine, false, NULL);

	if (!request)
		return;
	check_int(field(request, "nr_cpus"), 32, "%s: nr_cpus", machine);
	check_gpus(request, machine, 8, addresses, nodes);
	/* One L3 per core pair: CPU c shares it with c +/- 16. */
	check_llc(request, machine, 0, 0);
	check_llc(request, machine, 7, 7);
	check_llc(request, machine, 17, 1);
	check_llc(request, machine, 31, 15);
	check_string(field(request, "housekeeping"), "", "epyc-nps4-8gpu: housekeeping");
	json_object_put(request);
}

static void test_workstation(void)
{
	static const char *const machine = "workstation-isolated";
	static const char *const match[] = { "--match", "1002:0300", "--housekeeping", "0", NULL };
	static const char *const addresses[] = { "0000:01:00.0", "0000:03:00.0" };
	static const int nodes[] = { 0, 0 };
	json_object *request = dry_run(machine, false, NULL);

	if (request) {
		check_gpus(request, machine, 1, addresses, nodes);
		check_string(field(request, "housekeeping"), "2-3,6-7",
			     "workstation-isolated: housekeeping (the isolated CPUs)");
		json_object_put(request);
	}
	request = dry_run(machine, false, match);
	if (request) {
		check_gpus(request, "workstation-isolated --match 1002:0300", 2, addresses, nodes);
		check_string(field(request, "housekeeping"), "0,2-3,6-7",
			     "workstation-isolated --housekeeping 0: housekeeping");
		json_object_put(request);
	}
}

static void test_grace_mem_nodes(void)
{
	static const char *const machine = "grace-blackwell-memnodes";
	static const char *const args[] = {
		"--mem-node", "0008:01:00.0=18", "--mem-node", "3=26", NULL,
	};
	json_object *request;
	char *log = NULL;

	/* The driver's numa_status names nodes 2, 10 and 18; node 26 is offline. */
	request = dry_run_log(machine, false, NULL, &log);
	if (request) {
		check_int(gpu_field(request, 0, "mem_node"), 2,
			  "%s: mem_node of 0008:01:00.0 from numa_status", machine);
		check_int(gpu_field(request, 1, "mem_node"), 10,
			  "%s: mem_node of 0009:01:00.0 from numa_status", machine);
		tap_ok(json_object_is_type(gpu_field(request, 3, "mem_node"), json_type_null),
		       "%s: mem_node of 0019:01:00.0, whose node is offline, is null", machine);
		tap_ok(strstr(log, "GPU 0 (0008:01:00.0): memory on node 2 (the driver's numa_status)") &&
		       strstr(log, "0019:01:00.0/numa_status: node 26 is \"offline\""),
		       "%s: the log says where each memory node came from, and why 26 is not used",
		       machine);
		json_object_put(request);
	}
	free(log);

	request = dry_run(machine, false, args);
	if (!request)
		return;
	check_int(gpu_field(request, 0, "mem_node"), 18,
		  "%s: --mem-node by address overrides numa_status", machine);
	check_int(gpu_field(request, 1, "mem_node"), 10,
		  "%s: mem_node of 0009:01:00.0 still from numa_status", machine);
	check_int(gpu_field(request, 3, "mem_node"), 26,
		  "%s: mem_node of GPU 3 (--mem-node by index)", machine);
	json_object_put(request);
}

/* NVML's node is taken where the driver's /proc says nothing, if it has memory. */
static void test_nvml_mem_nodes(void)
{
	static const char *const machine = "hgx-2s-smt-8gpu";
	json_object *request;
	char *log = NULL;

	if (access(fake_nvml, R_OK)) {
		tap_skip("no fake NVML", "%s: memory nodes from NVML (%s)", machine, fake_nvml);
		return;
	}
	setenv("GPUSCHED_NVML_LIBRARY", fake_nvml, 1);
	setenv("FAKE_NVML_DEVICES", "0000:18:00.0=GPU-5b6f3a1c-0d2e-4f7a-8b9c-0123456789ab;"
	       "0000:2a:00.0=GPU-ffeeddcc-bbaa-9988-7766-554433221100", 1);
	setenv("FAKE_NVML_NUMA_NODES", "0000:18:00.0=1;0000:2a:00.0=7", 1);
	request = dry_run_log(machine, true, NULL, &log);
	unsetenv("FAKE_NVML_NUMA_NODES");
	unsetenv("FAKE_NVML_DEVICES");
	unsetenv("GPUSCHED_NVML_LIBRARY");
	if (request) {
		check_int(gpu_field(request, 0, "mem_node"), 1,
			  "%s with NVML: mem_node of 0000:18:00.0 from nvmlDeviceGetNumaNodeId",
			  machine);
		tap_ok(json_object_is_type(gpu_field(request, 1, "mem_node"), json_type_null),
		       "%s with NVML: node 7, which the machine lacks, is not fed", machine);
		tap_ok(strstr(log, "memory on node 1 (NVML)") &&
		       strstr(log, "0000:2a:00.0): NVML puts its memory on node 7, which does not exist"),
		       "%s with NVML: the log names both", machine);
		json_object_put(request);
	}
	free(log);
}

static void test_nvml_uuids(void)
{
	static const char *const machine = "hgx-2s-smt-8gpu";
	json_object *request;

	if (access(fake_nvml, R_OK)) {
		tap_skip("no fake NVML", "%s: UUIDs from NVML (%s)", machine, fake_nvml);
		return;
	}
	setenv("GPUSCHED_NVML_LIBRARY", fake_nvml, 1);
	setenv("FAKE_NVML_DEVICES", "0000:18:00.0=GPU-5b6f3a1c-0d2e-4f7a-8b9c-0123456789ab;"
	       "0000:db:00.0=GPU-ffeeddcc-bbaa-9988-7766-554433221100", 1);
	request = dry_run(machine, true, NULL);
	unsetenv("FAKE_NVML_DEVICES");
	unsetenv("GPUSCHED_NVML_LIBRARY");
	if (!request)
		return;
	check_string(gpu_field(request, 0, "uuid"), "GPU-5b6f3a1c-0d2e-4f7a-8b9c-0123456789ab",
		     "hgx-2s-smt-8gpu with NVML: UUID of 0000:18:00.0");
	check_string(gpu_field(request, 7, "uuid"), "GPU-ffeeddcc-bbaa-9988-7766-554433221100",
		     "hgx-2s-smt-8gpu with NVML: UUID of 0000:db:00.0");
	tap_ok(json_object_is_type(gpu_field(request, 1, "uuid"), json_type_null),
	       "%s with NVML: 0000:2a:00.0, unknown to NVML, has no UUID", machine);
	json_object_put(request);
}

/* Lines of the file @path that contain @text (0 for a missing file). */
static unsigned int count_lines(const char *path, const char *text)
{
	FILE *file = fopen(path, "r");
	unsigned int found = 0;
	char line[1024];

	if (!file)
		return 0;
	while (fgets(line, sizeof(line), file))
		found += strstr(line, text) != NULL;
	fclose(file);
	return found;
}

/* A gpuschedd serving in the background, its output in @log. */
struct serving {
	pid_t pid;
	bool exited;
	int status;
	char *log;
};

/* Whether @daemon has exited, reaping it once. */
static bool serving_exited(struct serving *daemon)
{
	if (!daemon->exited && waitpid(daemon->pid, &daemon->status, WNOHANG) == daemon->pid)
		daemon->exited = true;
	return daemon->exited;
}

/*
 * Waits up to 30 s for @nr lines of @path with @text, giving up early when
 * the daemon has exited; returns whether they came.
 */
static bool wait_lines(struct serving *daemon, const char *path, const char *text,
		       unsigned int nr)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned int i;

	for (i = 0; i < 600; i++) {
		if (count_lines(path, text) >= nr)
			return true;
		if (serving_exited(daemon))
			return count_lines(path, text) >= nr;
		nanosleep(&tick, NULL);
	}
	return false;
}

/* Shows the daemon's log after a failed check. */
static void show_log(const struct serving *daemon)
{
	char *text = NULL;
	int fd = open(daemon->log, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		text = run_slurp(fd);
		close(fd);
	}
	tap_diag("gpuschedd's log:\n%s", text ? text : "(none)");
	free(text);
}

/* Checks that @nr lines of the daemon's log come to hold @text; shows the log if not. */
static void expect_log(struct serving *daemon, const char *text, unsigned int nr,
		       const char *what)
{
	if (!tap_ok(wait_lines(daemon, daemon->log, text, nr), "%s", what))
		show_log(daemon);
}

/* Writes @action to @path (a sysfs uevent file): the kernel sends that uevent. */
static int synth_uevent(const char *path, const char *action)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, action, strlen(action)) != (ssize_t)strlen(action))
		err = -errno;
	close(fd);
	return err;
}

/*
 * Whether a uevent synthesised through @path reaches a listener on the
 * kernel's uevent group here, as it must reach the daemon: it needs root
 * (the write), a writable sysfs and uevents in this network namespace.
 * Returns NULL, or why not.
 */
static const char *uevents_reach_us(const char *path)
{
	struct sockaddr_nl address = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	const char *why = NULL;
	struct pollfd ready;
	char payload[4096];

	if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof(address)))
		why = "no uevent socket here";
	else if (synth_uevent(path, "change"))
		why = "cannot write a CPU's uevent file (it needs root and a writable sysfs)";
	ready = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (!why && (poll(&ready, 1, 2000) != 1 || recv(fd, payload, sizeof(payload), 0) <= 0))
		why = "a synthesised uevent does not reach this network namespace";
	if (fd >= 0)
		close(fd);
	return why;
}

/*
 * Starts gpuschedd serving fixture @root through the stand-in device
 * @device, with the fake NVML knowing the GPUs in @nvml_devices and
 * logging its nvmlInit_v2 calls to @inits, the stand-in logging the
 * topologies it takes to @feeds.
 */
static void serving_start(struct serving *daemon, const char *root, const char *device,
			  const char *inits, const char *feeds, const char *nvml_devices)
{
	posix_spawn_file_actions_t actions;
	char *argv[] = {
		(char *)daemon_path, "--device", (char *)device, "--sysfs-root", (char *)root,
		"--verbose", NULL,
	};
	int fd, err;

	fd = open(daemon->log, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		run_bail(daemon->log);
	unlink(inits);
	unlink(feeds);
	setenv("LD_PRELOAD", fake_device, 1);
	setenv("FAKE_GPUSCHED_DEVICE", device, 1);
	setenv("FAKE_GPUSCHED_FEEDS", feeds, 1);
	setenv("GPUSCHED_NVML_LIBRARY", fake_nvml, 1);
	setenv("FAKE_NVML_INIT_LOG", inits, 1);
	setenv("FAKE_NVML_DEVICES", nvml_devices, 1);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
	err = posix_spawn(&daemon->pid, daemon_path, &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(fd);
	unsetenv("LD_PRELOAD");
	unsetenv("FAKE_GPUSCHED_DEVICE");
	unsetenv("FAKE_GPUSCHED_FEEDS");
	unsetenv("GPUSCHED_NVML_LIBRARY");
	unsetenv("FAKE_NVML_INIT_LOG");
	unsetenv("FAKE_NVML_DEVICES");
	if (err) {
		errno = err;
		run_bail(daemon_path);
	}
	daemon->exited = false;
}

/* Stops the daemon with SIGTERM (SIGKILL after 10 s); returns its exit status or -1. */
static int serving_stop(struct serving *daemon)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned int i;

	if (!serving_exited(daemon))
		kill(daemon->pid, SIGTERM);
	for (i = 0; i < 200 && !serving_exited(daemon); i++)
		nanosleep(&tick, NULL);
	if (!serving_exited(daemon)) {
		kill(daemon->pid, SIGKILL);
		waitpid(daemon->pid, &daemon->status, 0);
		return -1;
	}
	return WIFEXITED(daemon->status) ? WEXITSTATUS(daemon->status) : -1;
}

/*
 * The daemon serving, with the stand-in device and the fake NVML: a CPU
 * hotplug uevent (synthesised by writing "online" to a CPU's uevent file,
 * which needs root) makes it look at the machine again without loading
 * NVML, and SIGHUP makes it ask NVML again.  Then an answer that leaves
 * NVIDIA GPUs unknown to NVML is not kept.  The fake NVML logs every
 * nvmlInit_v2 call and the stand-in device every topology it takes.
 */
static void test_serve_nvml_kept(void)
{
	static const char *const machine = "hgx-2s-smt-8gpu";
	static const char *const cpu_uevent = "/sys/devices/system/cpu/cpu0/uevent";
	static const char *const uuid0 = "gpus=8 uuid0=5b6f3a1c0d2e4f7a8b9c0123456789a0";
	char dir[] = "/tmp/gpusched-test-serve-XXXXXX";
	char *root, *device, *inits, *feeds, *all = NULL, *part;
	struct serving daemon = { 0 };
	unsigned int nr_checks = 14, i;
	const char *why = NULL;
	int fd, status;

	if (access(fake_nvml, R_OK) || access(fake_device, R_OK))
		why = "no fake NVML or stand-in device beside this program";
	else if (geteuid() != 0)
		why = "synthesising a CPU uevent needs root";
	else if (!mkdtemp(dir))
		why = "no scratch directory in /tmp";
	else
		why = uevents_reach_us(cpu_uevent);
	if (why) {
		while (nr_checks--)
			tap_skip(why, "serving: NVML's answers kept across a CPU hotplug");
		if (dir[strlen(dir) - 1] != 'X')
			rmdir(dir);
		return;
	}
	root = xprintf("%s/%s", fixtures_dir, machine);
	device = xprintf("%s/gpusched", dir);
	inits = xprintf("%s/nvml-inits", dir);
	feeds = xprintf("%s/feeds", dir);
	daemon.log = xprintf("%s/log", dir);
	fd = open(device, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	/* NVML knows all eight NVIDIA GPUs of the fixture. */
	for (i = 0; i < 8; i++) {
		static const char *const addresses[] = {
			"18", "2a", "3a", "5d", "9a", "ab", "ba", "db",
		};

		part = xprintf("%s%s0000:%s:00.0=GPU-5b6f3a1c-0d2e-4f7a-8b9c-0123456789a%u",
			       all ? all : "", all ? ";" : "", addresses[i], i);
		free(all);
		all = part;
	}

	serving_start(&daemon, root, device, inits, feeds, all);
	expect_log(&daemon, "fed 8 GPUs", 1, "serving: the daemon feeds the 8 GPUs");
	tap_ok(count_lines(inits, "nvmlInit_v2") == 1,
	       "serving: NVML was initialised once for it (%u)", count_lines(inits, "nvmlInit_v2"));
	tap_ok(count_lines(feeds, uuid0) == 1, "serving: the module got GPU 0's UUID from NVML");
	synth_uevent(cpu_uevent, "online");
	expect_log(&daemon, "topology unchanged", 1, "serving: a CPU uevent makes it look again");
	tap_ok(count_lines(inits, "nvmlInit_v2") == 1,
	       "serving: that look kept NVML's answers: still one nvmlInit_v2 (%u)",
	       count_lines(inits, "nvmlInit_v2"));
	tap_ok(count_lines(daemon.log, "kept from an earlier look") >= 1,
	       "serving: the debug log says the answers were kept");
	kill(daemon.pid, SIGHUP);
	expect_log(&daemon, "fed 8 GPUs", 2, "serving: SIGHUP feeds the topology again");
	tap_ok(count_lines(inits, "nvmlInit_v2") == 2 && count_lines(feeds, uuid0) == 2,
	       "serving: SIGHUP asks NVML again, and its answer is fed (%u inits)",
	       count_lines(inits, "nvmlInit_v2"));
	status = serving_stop(&daemon);
	tap_ok(status == 0, "serving: SIGTERM ends it with 0 (%d)", status);

	/* NVML knows GPU 0 only: seven NVIDIA GPUs unknown is no answer to keep. */
	serving_start(&daemon, root, device, inits, feeds,
		      "0000:18:00.0=GPU-5b6f3a1c-0d2e-4f7a-8b9c-0123456789a0");
	expect_log(&daemon, "fed 8 GPUs", 1,
		   "serving, NVML knowing one GPU: the daemon feeds the 8 GPUs");
	tap_ok(count_lines(daemon.log, "NVML does not know GPU 1 (0000:2a:00.0)") == 1,
	       "serving, NVML knowing one GPU: the log says which GPU NVML does not know");
	synth_uevent(cpu_uevent, "online");
	expect_log(&daemon, "topology unchanged", 1,
		   "serving, NVML knowing one GPU: a CPU uevent makes it look again");
	tap_ok(count_lines(inits, "nvmlInit_v2") == 2,
	       "serving, NVML knowing one GPU: that look asked NVML again (%u inits)",
	       count_lines(inits, "nvmlInit_v2"));
	status = serving_stop(&daemon);
	tap_ok(status == 0, "serving, NVML knowing one GPU: SIGTERM ends it with 0 (%d)", status);

	unlink(device);
	unlink(inits);
	unlink(feeds);
	unlink(daemon.log);
	rmdir(dir);
	free(all);
	free(daemon.log);
	free(feeds);
	free(inits);
	free(device);
	free(root);
}

static void test_failures(void)
{
	char *hgx = xprintf("%s/hgx-2s-smt-8gpu", fixtures_dir);
	const char *missing_root = "/nonexistent-gpusched-test/sysroot";
	const char *missing_device = "/nonexistent-gpusched-test/gpusched";
	struct run run;

	run = run_daemon((const char *const[]){ "--bogus-option", NULL });
	tap_ok(run.status == 2, "an unknown option exits 2 (got %d)", run.status);
	run_free(&run);

	run = run_daemon((const char *const[]){ "--housekeeping", "3-", "--dry-run", NULL });
	tap_ok(run.status == 2 && strstr(run.err, "\"3-\""),
	       "--housekeeping 3- exits 2 and quotes the list (got %d)", run.status);
	run_free(&run);

	run = run_daemon((const char *const[]){ "--dry-run", "--no-nvml", "--sysfs-root",
						missing_root, NULL });
	if (!tap_ok(run.status != 0 && strstr(run.err, missing_root),
		    "--sysfs-root of a missing directory fails and names it (exit %d)", run.status))
		tap_diag("stderr: %s", run.err);
	run_free(&run);

	run = run_daemon((const char *const[]){ "--dry-run", "--no-nvml", "--sysfs-root", hgx,
						"--mem-node", "0000:99:00.0=1", NULL });
	if (!tap_ok(run.status == 1 && strstr(run.err, "0000:99:00.0=1"),
		    "--mem-node of a GPU the machine lacks exits 1 and names it (exit %d)",
		    run.status))
		tap_diag("stderr: %s", run.err);
	run_free(&run);

	run = run_daemon((const char *const[]){ "--once", "--no-nvml", "--sysfs-root", hgx,
						"--device", missing_device, NULL });
	if (!tap_ok(run.status == 3 && strstr(run.err, missing_device) &&
		    strstr(run.err, "modprobe gpusched"),
		    "a missing --device exits 3 and says to modprobe (exit %d)", run.status))
		tap_diag("stderr: %s", run.err);
	run_free(&run);

	run = run_daemon((const char *const[]){ "--version", NULL });
	tap_ok(run.status == 0 && !strncmp(run.out, "gpuschedd ", 10),
	       "--version prints \"gpuschedd VERSION\" (%.*s)", (int)strcspn(run.out, "\n"),
	       run.out);
	run_free(&run);
	free(hgx);
}

int main(int argc, char **argv)
{
	char *fixtures, *daemon, *dir, *self = xprintf("%s", argv[0]);

	tap_start();
	fixtures = run_fixtures_dir(argc > 1 ? argv[1] : NULL);
	daemon = run_program_path(argv[0], "GPUSCHEDD", "../bin/gpuschedd");
	fixtures_dir = fixtures;
	daemon_path = daemon;
	dir = dirname(self);
	fake_nvml = xprintf("%s/libnvidia-ml.so.1", dir);
	fake_device = xprintf("%s/fake_gpusched.so", dir);
	tap_diag("daemon %s, fixtures %s", daemon_path, fixtures_dir);
	/* Runs must not depend on an NVML that happens to be installed here. */
	unsetenv("GPUSCHED_NVML_LIBRARY");
	unsetenv("JOURNAL_STREAM");
	unsetenv("NOTIFY_SOCKET");

	test_hgx();
	test_epyc();
	test_workstation();
	test_grace_mem_nodes();
	test_nvml_uuids();
	test_nvml_mem_nodes();
	test_serve_nvml_kept();
	test_failures();

	free(fake_device);
	free(fake_nvml);
	free(daemon);
	free(fixtures);
	free(self);
	return tap_done();
}
