// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched monitor: what the scheduler does to the watched threads, one
 * table (or one JSON line) per interval: their migrations and how many
 * crossed NUMA nodes, their run time on each node, the share of it on the
 * node of their GPU, their run-queue waits (with --latency, their p50 and
 * p99) and the CPU they ran on last.  The counting is done by the kernel
 * and by BPF programs on the scheduler's tracepoints
 * (userspace/bpf/sched_monitor.c); this file chooses what to watch (given
 * processes, a cgroup, every task, or every process the module has pinned,
 * found like `gpusched status` finds them and looked for again every
 * interval) and learns each pinned thread's GPU from GPUSCHED_IOC_QUERY.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "libgpusched.h"
#include "sched_monitor.h"

#define MAX_PIDS	64

enum {
	OPT_PID = 0x2000,
	OPT_CGROUP,
	OPT_PINNED,
	OPT_ALL,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_DURATION,
	OPT_LATENCY,
};

struct monitor_args {
	struct cli_common common;
	pid_t pids[MAX_PIDS];
	unsigned int nr_pids;
	const char *cgroup;
	bool pinned, all;
	bool latency;		/* --latency: p50/p99 from a program at every switch */
	double interval;	/* seconds */
	unsigned long count;	/* 0: until a signal */
};

static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void monitor_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched monitor (--pid PID... | --pinned | --cgroup PATH | --all)\n"
		"                        [--interval SECONDS] [--count N] [--duration SECONDS]\n"
		"                        [--latency] [--json]\n\n"
		"Shows per thread, every interval (1 s), its migrations (X-NODE: those between\n"
		"NUMA nodes), run time by node, the share of it on its GPU's node (pinned\n"
		"threads), its run-queue waits (how many, and their mean) and its last CPU, from\n"
		"the kernel's own counts and BPF programs that run when a thread migrates.\n"
		"--latency adds the p50 and p99 of the waits, from a program at every context\n"
		"switch, which makes every switch on the machine slower (7%% in a ping-pong).\n"
		"--pid watches a process and every thread it has or creates (repeatable);\n"
		"--pinned every process gpusched has pinned, looked for again each interval;\n"
		"--cgroup the tasks of one cgroup v2 directory; --all every task.  Runs until\n"
		"SIGINT or SIGTERM, --count intervals or --duration seconds.  --json prints one\n"
		"JSON object per interval, one a line.\n"
		"Needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF.\n");
}

static int parse_seconds(const char *option, const char *arg, double *seconds)
{
	char *end;

	errno = 0;
	*seconds = strtod(arg, &end);
	if (errno || end == arg || *end || !(*seconds > 0) || *seconds > 86400) {
		cli_error("%s %s: expected a number of seconds above 0, e.g. 1 or 0.5", option, arg);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct monitor_args *args)
{
	static const struct option options[] = {
		{ "pid", required_argument, NULL, OPT_PID },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "pinned", no_argument, NULL, OPT_PINNED },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "latency", no_argument, NULL, OPT_LATENCY },
		CLI_COMMON_LONG_OPTIONS,
		{ 0 }
	};
	double duration = 0;
	unsigned long value;
	int opt, ret;

	args->interval = 1;
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		ret = cli_common_option(&args->common, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		switch (opt) {
		case OPT_PID:
			if (cli_parse_uint("--pid", optarg, 1, INT_MAX, &value))
				return EXIT_USAGE;
			if (args->nr_pids == MAX_PIDS) {
				cli_error("--pid: at most %d processes", MAX_PIDS);
				return EXIT_USAGE;
			}
			args->pids[args->nr_pids++] = value;
			break;
		case OPT_CGROUP:
			args->cgroup = optarg;
			break;
		case OPT_PINNED:
			args->pinned = true;
			break;
		case OPT_ALL:
			args->all = true;
			break;
		case OPT_INTERVAL:
			if (parse_seconds("--interval", optarg, &args->interval))
				return EXIT_USAGE;
			break;
		case OPT_COUNT:
			if (cli_parse_uint("--count", optarg, 1, INT_MAX, &value))
				return EXIT_USAGE;
			args->count = value;
			break;
		case OPT_DURATION:
			if (parse_seconds("--duration", optarg, &duration))
				return EXIT_USAGE;
			break;
		case OPT_LATENCY:
			args->latency = true;
			break;
		default:
			monitor_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("monitor: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (args->common.sysfs_root) {
		cli_error("monitor: --sysfs-root does not apply: monitor watches the live machine");
		return EXIT_USAGE;
	}
	if ((args->nr_pids > 0) + !!args->cgroup + args->pinned + args->all != 1) {
		cli_error("monitor: say what to watch with one of --pid, --pinned, --cgroup and --all");
		return EXIT_USAGE;
	}
	if (duration > 0) {
		/* Whole intervals, rounded up (less a rounding error's worth). */
		double exact = duration / args->interval;
		unsigned long intervals = (unsigned long)exact;

		if (exact - intervals > 1e-9 || !intervals)
			intervals++;
		if (!args->count || intervals < args->count)
			args->count = intervals;
	}
	return -1;	/* go on */
}

/* Every online CPU's node, from discovery: cpu_node[id], -1 where unknown. */
static int cpu_nodes(const struct cli_common *common, int **cpu_node, unsigned int *nr_cpus)
{
	struct gs_machine *machine;
	unsigned int i, nr = 0;
	int ret = cli_discover(common, true, &machine);

	if (ret)
		return ret;
	for (i = 0; i < gs_topo_nr_cpus(machine); i++)
		if (gs_topo_cpu(machine, i)->id + 1 > nr)
			nr = gs_topo_cpu(machine, i)->id + 1;
	if (nr > GS_MONITOR_MAX_CPUS) {
		cli_warn("this machine has %u CPUs; the monitor maps the nodes of the first %d",
			 nr, GS_MONITOR_MAX_CPUS);
		nr = GS_MONITOR_MAX_CPUS;
	}
	*cpu_node = malloc((nr ? nr : 1) * sizeof(**cpu_node));
	if (!*cpu_node) {
		gs_machine_free(machine);
		cli_error("out of memory");
		return EXIT_FAILURE_RUNTIME;
	}
	for (i = 0; i < nr; i++)
		(*cpu_node)[i] = -1;
	for (i = 0; i < gs_topo_nr_cpus(machine); i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(machine, i);

		if (cpu->id < nr)
			(*cpu_node)[cpu->id] = cpu->node;
	}
	*nr_cpus = nr;
	gs_machine_free(machine);
	return 0;
}

/* Whether any thread of process @pid is pinned by the module. */
static bool process_is_pinned(struct gpusched *gs, pid_t pid)
{
	struct gpusched_query query;
	struct dirent *entry;
	bool pinned = false;
	char path[64];
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return false;	/* exited meanwhile */
	while (!pinned && (entry = readdir(dir)))
		pinned = cli_is_pid(entry->d_name) &&
			 !gpusched_query_thread(gs, atoi(entry->d_name), &query, NULL, NULL, 0) &&
			 (query.result & GPUSCHED_QUERY_PINNED);
	closedir(dir);
	return pinned;
}

/* --pinned: watches every process with a pinned thread; returns how many there are. */
static unsigned int watch_pinned(struct gpusched *gs, struct gs_sched_monitor *monitor)
{
	struct dirent *entry;
	unsigned int nr = 0;
	DIR *proc = opendir("/proc");

	if (!proc)
		return 0;
	while ((entry = readdir(proc)))
		if (cli_is_pid(entry->d_name) && process_is_pinned(gs, atoi(entry->d_name))) {
			gs_sched_monitor_watch_pid(monitor, atoi(entry->d_name));
			nr++;
		}
	closedir(proc);
	return nr;
}

/* The node of @tid's GPU when it is pinned, else -1 (and *gpu = -1). */
static int gpu_node_of(struct gpusched *gs, const struct gpusched_topology_copy *topo,
		       pid_t tid, int *gpu)
{
	struct gpusched_query query;

	*gpu = -1;
	if (!gs || gpusched_query_thread(gs, tid, &query, NULL, NULL, 0) ||
	    !(query.result & GPUSCHED_QUERY_PINNED) || query.gpu >= topo->nr_gpus)
		return -1;
	*gpu = query.gpu;
	return topo->gpus[query.gpu].node;
}

static double wall_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec + now.tv_nsec / 1e9;
}

/* Sleeps @seconds; false when a signal asked to stop. */
static bool wait_interval(double seconds)
{
	struct timespec left = { (time_t)seconds,
				 (long)((seconds - (time_t)seconds) * 1e9) };

	while (!stop_requested && nanosleep(&left, &left))
		if (errno != EINTR)
			break;
	return !stop_requested;
}

static void print_interval(const struct monitor_args *args, struct gpusched *gs,
			   const struct gpusched_topology_copy *topo, unsigned long interval,
			   double seconds, const struct gs_task_stats *stats, size_t nr, bool tty)
{
	static const char *const headers[] = {
		"PID", "TID", "COMM", "MIGRATIONS", "X-NODE", "RUN MS BY NODE", "ON-GPU-NODE",
		"RUNQ WAITS", "MEAN US", "CPU", "P50/P99 US"
	};
	struct json_object *root = json_object_new_object(), *tasks = json_object_new_array();
	struct cli_table *table = cli_table_new(args->latency ? 11 : 10, headers);
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct gs_task_stats *s = &stats[i];
		struct json_object *task = json_object_new_object(), *by_node = json_object_new_object();
		char pid[16], tid[16], migrations[24], cross[24], share[16], runq[48], cpu[16];
		char waits[24], mean[24];
		char run[256] = "", key[16];
		uint64_t total = 0, p50, p99;
		int gpu, gpu_node = gpu_node_of(gs, topo, s->tid, &gpu);
		unsigned int node;
		size_t len = 0;

		for (node = 0; node < GS_MONITOR_MAX_NODES; node++) {
			uint64_t ms = (s->run_ns[node] + 500000) / 1000000;

			total += s->run_ns[node];
			if (!s->run_ns[node])
				continue;
			snprintf(key, sizeof(key), "%u", node);
			json_object_object_add(by_node, key, json_object_new_int64(ms));
			if (len < sizeof(run))
				len += snprintf(run + len, sizeof(run) - len, "%sn%u:%llu",
						len ? " " : "", node, (unsigned long long)ms);
		}
		p50 = gs_monitor_latency_percentile(s->latency, 0.5);
		p99 = gs_monitor_latency_percentile(s->latency, 0.99);
		snprintf(pid, sizeof(pid), "%d", s->pid);
		snprintf(tid, sizeof(tid), "%d", s->tid);
		snprintf(migrations, sizeof(migrations), "%llu", (unsigned long long)s->migrations);
		snprintf(cross, sizeof(cross), "%llu", (unsigned long long)s->cross_node_migrations);
		/* Floor, so that 100 means every nanosecond ran on the GPU's node. */
		if (gpu_node >= 0 && gpu_node < GS_MONITOR_MAX_NODES && total)
			snprintf(share, sizeof(share), "%llu%%",
				 (unsigned long long)(s->run_ns[gpu_node] * 100 / total));
		else
			snprintf(share, sizeof(share), "-");
		if (p99)
			snprintf(runq, sizeof(runq), "%llu/%llu", (unsigned long long)p50,
				 (unsigned long long)p99);
		else
			snprintf(runq, sizeof(runq), "-");
		snprintf(waits, sizeof(waits), "%llu", (unsigned long long)s->nr_waits);
		if (s->nr_waits)
			snprintf(mean, sizeof(mean), "%.1f", s->wait_ns / 1e3 / s->nr_waits);
		else
			snprintf(mean, sizeof(mean), "-");
		if (s->last_cpu >= 0)
			snprintf(cpu, sizeof(cpu), "%d", s->last_cpu);
		else
			snprintf(cpu, sizeof(cpu), "-");
		cli_table_row_cells(table, (const char *const[]){
			pid, tid, s->comm, migrations, cross, run[0] ? run : "-", share, waits, mean,
			cpu, runq });

		json_object_object_add(task, "pid", json_object_new_int(s->pid));
		json_object_object_add(task, "tid", json_object_new_int(s->tid));
		json_object_object_add(task, "comm", json_object_new_string(s->comm));
		json_object_object_add(task, "migrations", json_object_new_int64(s->migrations));
		json_object_object_add(task, "cross_node_migrations",
				       json_object_new_int64(s->cross_node_migrations));
		json_object_object_add(task, "run_ms_by_node", by_node);
		json_object_object_add(task, "gpu", gpu >= 0 ? json_object_new_int(gpu) : NULL);
		json_object_object_add(task, "gpu_node",
				       gpu_node >= 0 ? json_object_new_int(gpu_node) : NULL);
		json_object_object_add(task, "on_gpu_node_percent",
				       share[0] != '-' ? json_object_new_int(atoi(share)) : NULL);
		json_object_object_add(task, "runq_waits", json_object_new_int64(s->nr_waits));
		json_object_object_add(task, "runq_wait_us",
				       json_object_new_int64((s->wait_ns + 500) / 1000));
		json_object_object_add(task, "runq_p50_us", p99 ? json_object_new_int64(p50) : NULL);
		json_object_object_add(task, "runq_p99_us", p99 ? json_object_new_int64(p99) : NULL);
		json_object_object_add(task, "last_cpu",
				       s->last_cpu >= 0 ? json_object_new_int(s->last_cpu) : NULL);
		json_object_array_add(tasks, task);
	}
	if (args->common.json) {
		json_object_object_add(root, "interval", json_object_new_int64(interval));
		char text[32];

		snprintf(text, sizeof(text), "%.3f", seconds);
		json_object_object_add(root, "seconds", json_object_new_double_s(seconds, text));
		json_object_object_add(root, "tasks", tasks);
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		cli_table_discard(table);
	} else {
		json_object_put(tasks);
		if (tty)
			fputs("\033[H\033[2J", stdout);
		printf("%sInterval %lu, %.2f s, %zu thread%s\n", interval > 1 && !tty ? "\n" : "",
		       interval, seconds, nr, nr == 1 ? "" : "s");
		if (nr)
			cli_table_print(table, stdout);
		else
			cli_table_discard(table);
	}
	json_object_put(root);
	fflush(stdout);
}

/* Whether any of the --pid processes is still there. */
static bool any_alive(const struct monitor_args *args)
{
	unsigned int i;

	for (i = 0; i < args->nr_pids; i++)
		if (!kill(args->pids[i], 0) || errno != ESRCH)
			return true;
	return false;
}

int cmd_monitor(int argc, char **argv)
{
	struct gpusched_topology_copy topo = { 0 };
	struct monitor_args args = { 0 };
	struct gs_sched_monitor_opts opts = { 0 };
	struct gs_sched_monitor *monitor = NULL;
	char message[256];
	struct gpusched *gs = NULL;
	struct sigaction action = { .sa_handler = request_stop };
	unsigned long interval;
	int *cpu_node = NULL;
	unsigned int i;
	double start;
	bool tty;
	int ret, err;

	ret = parse_args(argc, argv, &args);
	if (ret >= 0)
		return ret;
	ret = cpu_nodes(&args.common, &cpu_node, &opts.nr_cpus);
	if (ret)
		return ret;
	opts.cpu_node = cpu_node;

	/* The module tells pinned threads' GPUs; without it, no thread has one. */
	ret = cli_open(&args.common, 0, !args.pinned, &gs);
	if (ret && args.pinned)
		goto out;
	if (!ret && gpusched_get_topology(gs, &topo)) {
		gpusched_close(gs);
		gs = NULL;
	}

	opts.filter = args.all ? GS_MONITOR_ALL : args.cgroup ? GS_MONITOR_CGROUP : GS_MONITOR_PIDS;
	opts.cgroup_path = args.cgroup;
	opts.latency = args.latency;
	err = gs_sched_monitor_open(&opts, &monitor, message);
	if (err) {
		cli_error("monitor: %s", message);
		ret = err == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
		goto out;
	}
	for (i = 0; i < args.nr_pids; i++) {
		err = gs_sched_monitor_watch_pid(monitor, args.pids[i]);
		if (err) {
			cli_error("--pid %d: %s", args.pids[i],
				  err == -ESRCH ? "no such process" : strerror(-err));
			ret = err == -ESRCH ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
			goto out;
		}
	}

	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	tty = isatty(STDOUT_FILENO);
	ret = EXIT_OK;
	for (interval = 1; !args.count || interval <= args.count; interval++) {
		struct gs_task_stats *stats;
		size_t nr;

		if (args.pinned) {
			/* New pins since the last interval join the watch. */
			gpusched_topology_copy_free(&topo);
			if (gpusched_get_topology(gs, &topo)) {
				cli_error("%s: cannot read the module's topology",
					  args.common.device ? args.common.device : GPUSCHED_DEVICE);
				ret = EXIT_FAILURE_RUNTIME;
				break;
			}
			watch_pinned(gs, monitor);
		}
		start = wall_seconds();
		err = gs_sched_monitor_reset(monitor);
		if (!err && !wait_interval(args.interval))
			break;
		if (!err)
			err = gs_sched_monitor_read(monitor, &stats, &nr);
		if (err) {
			cli_error("monitor: reading the counters: %s", strerror(-err));
			ret = EXIT_FAILURE_RUNTIME;
			break;
		}
		print_interval(&args, gs, &topo, interval, wall_seconds() - start, stats, nr, tty);
		free(stats);
		if (args.nr_pids && !any_alive(&args)) {
			if (!args.common.json)
				printf("Every watched process has exited.\n");
			break;
		}
	}
out:
	gs_sched_monitor_close(monitor);
	gpusched_topology_copy_free(&topo);
	gpusched_close(gs);
	free(cpu_node);
	return ret;
}
