// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched bench: a reproducible measurement of what placement does to a
 * training-like job.  It starts N stand-in workers (gpusched-standin-worker:
 * a main thread and data loaders streaming over buffers, a background
 * thread) under each policy in turn, several repetitions each, pinning
 * every worker through the module before it runs a single instruction of
 * its own, exactly as `gpusched exec` would.  Each worker is watched with
 * the BPF scheduler monitor (migrations, cross-node migrations, run time
 * per node, run-queue latency); without it, migrations and run-queue
 * waits come from procfs and the rest is reported unavailable, with the
 * reason.  Repetitions are interleaved (one of every policy, then the next
 * round) so a drift of the machine's state spreads over all policies
 * instead of biasing one.  The workers are told --hold, so their counters
 * are read after the last pass, while every thread still exists.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "libgpusched.h"
#include "sched_monitor.h"

const struct bench_metric_info bench_metrics[BENCH_NR_METRICS] = {
	[BENCH_THROUGHPUT] = { "throughput_passes_per_s", "THROUGHPUT/s", "throughput (passes/s)", 0 },
	[BENCH_MIGRATIONS] = { "migrations", "MIGRATIONS", "migrations", 0 },
	[BENCH_CROSS_NODE] = { "cross_node_migrations", "CROSS-NODE", "cross-node migrations", 0 },
	[BENCH_GPU_NODE_SHARE] = { "gpu_node_share", "ON GPU NODE",
				   "share of run time on the GPU's node", 3 },
	[BENCH_RQ_P50] = { "rq_latency_p50_us", "RQ p50 us", "run-queue latency p50 (us)", 0 },
	[BENCH_RQ_P99] = { "rq_latency_p99_us", "RQ p99 us", "run-queue latency p99 (us)", 0 },
	[BENCH_RQ_WAIT_MEAN] = { "rq_wait_mean_us", "RQ WAIT us", "mean run-queue wait (us)", 1 },
};

enum {
	OPT_WORKERS = 0x4000,
	OPT_LOADERS,
	OPT_BUFFER_MIB,
	OPT_SECONDS,
	OPT_REPETITIONS,
	OPT_POLICIES,
	OPT_GPUS,
	OPT_CSV,
	OPT_SVG,
	OPT_MICRO_ONLY,
	OPT_NO_MICRO,
	OPT_STANDIN,
	OPT_HOTPLUG_CPU,
	OPT_DAEMON_SECONDS,
};

#define STANDIN_NAME	"gpusched-standin-worker"

static void bench_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched bench [--workers N] [--loaders N] [--buffer-mib M] [--seconds S]\n"
		"                      [--repetitions R] [--policies LIST] [--gpus LIST]\n"
		"                      [--json] [--csv FILE] [--svg FILE] [--micro-only | --no-micro]\n"
		"                      [--standin PATH] [--hotplug-cpu CPU] [--daemon-seconds S]\n"
		"                      [--device PATH] [--match VENDOR[:CLASS]]...\n\n"
		"Runs N stand-in training workers under each policy, R rounds, and reports per\n"
		"policy the throughput, migrations, cross-node migrations, share of run time on\n"
		"the GPU's node and run-queue latency (median and min-max over the rounds);\n"
		"then times one pin against sched_setaffinity, launching through taskset,\n"
		"numactl and `gpusched exec`, and the placement engine.\n\n"
		"  --workers N       workers (default: one per GPU)\n"
		"  --loaders N       data-loader threads per worker (default 2)\n"
		"  --buffer-mib M    buffer of each streaming thread (default 64)\n"
		"  --seconds S       length of one run (default 10)\n"
		"  --repetitions R   runs of each policy (default 3)\n"
		"  --policies LIST   from none, node, socket, exclusive, l3, single\n"
		"                    (default none,node,exclusive,l3)\n"
		"  --gpus LIST       GPUs the workers use, round robin (default: all, in order)\n"
		"  --csv FILE        one row per policy and repetition\n"
		"  --svg FILE        a plot of throughput and run-queue latency per policy\n"
		"  --micro-only      only the micro-benchmarks; --no-micro: none of them\n"
		"  --standin PATH    the stand-in worker (default: " STANDIN_NAME " beside\n"
		"                    this program, else in PATH)\n"
		"  --hotplug-cpu CPU also time CPU going offline and online again until the\n"
		"                    module has the new topology (needs gpuschedd running)\n"
		"  --daemon-seconds S\n"
		"                    take gpuschedd's idle CPU time over at least S seconds,\n"
		"                    waiting after the micro-benchmarks for the rest\n");
}

/* A bounded count into an unsigned int, through the CLI's one number parser. */
static int parse_count(const char *option, const char *arg, unsigned int min, unsigned int max,
		       unsigned int *value)
{
	unsigned long n;

	if (cli_parse_uint(option, arg, min, max, &n))
		return -1;
	*value = n;
	return 0;
}

static int parse_policies(struct bench *b, const char *arg)
{
	char *copy = strdup(arg), *name, *save = NULL;
	unsigned int i;
	int policy;

	if (!copy)
		return -1;
	b->nr_policies = 0;
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "none"))
			policy = BENCH_POLICY_NONE;
		else if ((policy = gpusched_policy_parse(name)) <= 0)
			goto bad;
		for (i = 0; i < b->nr_policies; i++)
			if (b->policies[i].policy == (unsigned int)policy)
				goto bad;
		if (b->nr_policies == BENCH_MAX_POLICIES)
			goto bad;
		b->policies[b->nr_policies].policy = policy;
		b->policies[b->nr_policies].name = policy == BENCH_POLICY_NONE ? "none" :
						   gpusched_policy_name(policy);
		b->nr_policies++;
	}
	free(copy);
	if (b->nr_policies)
		return 0;
	cli_error("--policies %s: empty list", arg);
	return -1;
bad:
	cli_error("--policies %s: '%s' is unknown or repeated; expected a list of distinct none, node, socket, exclusive, l3, single",
		  arg, name);
	free(copy);
	return -1;
}

static int parse_gpus(struct bench *b, const char *arg)
{
	struct gs_bitmap list = GS_BITMAP_INIT;
	int gpu;

	if (gs_bitmap_parse_list(&list, arg)) {
		cli_error("--gpus %s: expected a list like 0-3,6", arg);
		return -1;
	}
	b->nr_gpu_list = 0;
	gs_bitmap_for_each(gpu, &list) {
		if (b->nr_gpu_list == sizeof(b->gpu_list) / sizeof(b->gpu_list[0]) ||
		    gpu >= GPUSCHED_MAX_GPUS) {
			cli_error("--gpus %s: at most 64 GPUs, each below %d", arg, GPUSCHED_MAX_GPUS);
			gs_bitmap_free(&list);
			return -1;
		}
		b->gpu_list[b->nr_gpu_list++] = gpu;
	}
	gs_bitmap_free(&list);
	b->gpus_given = true;
	return 0;
}

static int parse_options(struct bench *b, int argc, char **argv)
{
	static const struct option options[] = {
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "loaders", required_argument, NULL, OPT_LOADERS },
		{ "buffer-mib", required_argument, NULL, OPT_BUFFER_MIB },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "repetitions", required_argument, NULL, OPT_REPETITIONS },
		{ "policies", required_argument, NULL, OPT_POLICIES },
		{ "gpus", required_argument, NULL, OPT_GPUS },
		{ "csv", required_argument, NULL, OPT_CSV },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "micro-only", no_argument, NULL, OPT_MICRO_ONLY },
		{ "no-micro", no_argument, NULL, OPT_NO_MICRO },
		{ "standin", required_argument, NULL, OPT_STANDIN },
		{ "hotplug-cpu", required_argument, NULL, OPT_HOTPLUG_CPU },
		{ "daemon-seconds", required_argument, NULL, OPT_DAEMON_SECONDS },
		CLI_COMMON_LONG_OPTIONS,
		{ 0 }
	};
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		ret = cli_common_option(&b->common, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		switch (opt) {
		case OPT_WORKERS:
			ret = parse_count("--workers", optarg, 1, 1024, &b->workers);
			break;
		case OPT_LOADERS:
			ret = parse_count("--loaders", optarg, 0, 64, &b->loaders);
			break;
		case OPT_BUFFER_MIB:
			ret = parse_count("--buffer-mib", optarg, 1, 4096, &b->buffer_mib);
			break;
		case OPT_SECONDS:
			ret = parse_count("--seconds", optarg, 1, 86400, &b->seconds);
			break;
		case OPT_REPETITIONS:
			ret = parse_count("--repetitions", optarg, 1, 1000, &b->repetitions);
			break;
		case OPT_POLICIES:
			ret = parse_policies(b, optarg);
			break;
		case OPT_GPUS:
			ret = parse_gpus(b, optarg);
			break;
		case OPT_CSV:
			b->csv_path = optarg;
			break;
		case OPT_SVG:
			b->svg_path = optarg;
			break;
		case OPT_MICRO_ONLY:
			b->micro_only = true;
			break;
		case OPT_NO_MICRO:
			b->no_micro = true;
			break;
		case OPT_STANDIN:
			b->standin_option = optarg;
			break;
		case OPT_HOTPLUG_CPU: {
			unsigned int cpu;

			ret = parse_count("--hotplug-cpu", optarg, 1, CPU_SETSIZE - 1, &cpu);
			b->hotplug_cpu = cpu;
			break;
		}
		case OPT_DAEMON_SECONDS:
			ret = parse_count("--daemon-seconds", optarg, 1, 86400, &b->daemon_seconds);
			break;
		default:
			bench_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? -1 : EXIT_USAGE;
		}
		if (ret)
			return EXIT_USAGE;
	}
	if (optind != argc) {
		cli_error("bench: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (b->micro_only && b->no_micro) {
		cli_error("--micro-only and --no-micro exclude each other");
		return EXIT_USAGE;
	}
	if (b->micro_only && (b->csv_path || b->svg_path)) {
		cli_error("--csv and --svg plot the policy runs, which --micro-only leaves out");
		return EXIT_USAGE;
	}
	return 0;
}

static bool any_pinning_policy(const struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->nr_policies; i++)
		if (b->policies[i].policy != BENCH_POLICY_NONE)
			return true;
	return false;
}

/* The CPU-to-node map, GPU nodes and kernel release of this machine. */
static int describe_machine(struct bench *b)
{
	struct gpusched_topology_copy topo = { 0 };
	struct utsname uts;
	unsigned int i;
	int ret, err;

	ret = cli_discover(&b->common, true, &b->machine);
	if (ret)
		return ret;
	for (i = 0; i < gs_topo_nr_cpus(b->machine); i++)
		if (gs_topo_cpu(b->machine, i)->id + 1 > b->nr_cpus)
			b->nr_cpus = gs_topo_cpu(b->machine, i)->id + 1;
	b->cpu_node = calloc(b->nr_cpus ? b->nr_cpus : 1, sizeof(*b->cpu_node));
	if (!b->cpu_node)
		goto nomem;
	for (i = 0; i < b->nr_cpus; i++)
		b->cpu_node[i] = -1;
	for (i = 0; i < gs_topo_nr_cpus(b->machine); i++) {
		const struct gs_machine_cpu *cpu = gs_topo_cpu(b->machine, i);

		b->cpu_node[cpu->id] = cpu->node;
	}

	/* The module's GPU indices are the ones a pin names, so they win. */
	if (b->gs) {
		err = gpusched_get_topology(b->gs, &topo);
		if (err) {
			cli_error("reading the module's topology: %s", strerror(-err));
			return EXIT_FAILURE_RUNTIME;
		}
		b->gpus_from_module = topo.nr_gpus > 0;
	}
	b->nr_gpus = b->gpus_from_module ? topo.nr_gpus : gs_topo_nr_gpus(b->machine);
	b->gpu_node = calloc(b->nr_gpus ? b->nr_gpus : 1, sizeof(*b->gpu_node));
	if (!b->gpu_node) {
		gpusched_topology_copy_free(&topo);
		goto nomem;
	}
	for (i = 0; i < b->nr_gpus; i++)
		b->gpu_node[i] = b->gpus_from_module ? (int)topo.gpus[i].node :
				 gs_topo_gpu(b->machine, i)->node;
	gpusched_topology_copy_free(&topo);

	if (uname(&uts) == 0)
		snprintf(b->kernel, sizeof(b->kernel), "%s", uts.release);
	return 0;
nomem:
	cli_error("out of memory");
	return EXIT_FAILURE_RUNTIME;
}

/* The stand-in worker: --standin, beside this program, or in PATH. */
static int find_standin(struct bench *b)
{
	char self[4096], *slash, *path, *dir, *save = NULL;
	ssize_t len;

	if (b->standin_option) {
		if (access(b->standin_option, X_OK)) {
			cli_error("--standin %s: %s", b->standin_option, strerror(errno));
			return EXIT_USAGE;
		}
		b->standin = strdup(b->standin_option);
		return b->standin ? 0 : EXIT_FAILURE_RUNTIME;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - sizeof(STANDIN_NAME) - 1);
	if (len > 0) {
		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			strcpy(slash + 1, STANDIN_NAME);
			if (!access(self, X_OK)) {
				b->standin = strdup(self);
				return b->standin ? 0 : EXIT_FAILURE_RUNTIME;
			}
		}
	}
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&b->standin, "%s/%s", dir, STANDIN_NAME) < 0) {
			b->standin = NULL;
			break;
		}
		if (!access(b->standin, X_OK))
			break;
		free(b->standin);
		b->standin = NULL;
	}
	free(path);
	if (b->standin)
		return 0;
	cli_error("cannot find %s beside this program or in PATH; install it or give --standin PATH",
		  STANDIN_NAME);
	return EXIT_FAILURE_RUNTIME;
}

static void open_monitor(struct bench *b)
{
	struct gs_sched_monitor_opts opts = {
		.filter = GS_MONITOR_PIDS,
		.cpu_node = b->cpu_node,
		.nr_cpus = b->nr_cpus,
		.latency = true,	/* the rounds' p50 and p99 */
	};
	char message[256] = "";
	int err;

	if (b->nr_cpus > GS_MONITOR_MAX_CPUS) {
		snprintf(b->monitor_reason, sizeof(b->monitor_reason),
			 "the machine has %u CPUs, the monitor maps at most %d", b->nr_cpus,
			 GS_MONITOR_MAX_CPUS);
		return;
	}
	err = gs_sched_monitor_open(&opts, &b->monitor, message);
	if (err) {
		b->monitor = NULL;
		snprintf(b->monitor_reason, sizeof(b->monitor_reason), "%s",
			 message[0] ? message : strerror(-err));
	}
}

/* One running stand-in worker. */
struct worker_run {
	pid_t pid;
	int pidfd;
	int go;			/* write end: a byte lets the child exec */
	int report;		/* read end of its stdout */
	int hold;		/* write end of its stdin: closing it lets it exit */
	char output[4096];
	size_t used;
	double rate;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Forks a worker that waits for a byte on a pipe, says "ready", and waits
 * for a second byte before it execs the stand-in: the parent pins it
 * before the first, so not one instruction of the worker (nor a page it
 * touches) runs before its placement, and starts the count before the
 * second.
 */
static int spawn_worker(const struct bench *b, struct worker_run *w)
{
	int go[2], report[2], hold[2];
	char loaders[16], mib[16], seconds[16];
	char *args[] = { b->standin, "--loaders", loaders, "--buffer-mib", mib,
			 "--seconds", seconds, "--hold", NULL };
	char byte;

	snprintf(loaders, sizeof(loaders), "%u", b->loaders);
	snprintf(mib, sizeof(mib), "%u", b->buffer_mib);
	snprintf(seconds, sizeof(seconds), "%u", b->seconds);
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(report, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	if (pipe2(hold, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		close(report[0]);
		close(report[1]);
		return -errno;
	}
	fflush(NULL);
	w->pid = fork();
	if (w->pid == 0) {
		/* dup2 clears close-on-exec on the copies; other workers' pipes close at exec. */
		if (dup2(hold[0], STDIN_FILENO) < 0 || dup2(report[1], STDOUT_FILENO) < 0)
			_exit(127);
		if (read(go[0], &byte, 1) != 1)
			_exit(0);
		/*
		 * Woken where the pin put it: the move a pin of a sleeping task
		 * causes at its next wakeup is over before the counting starts.
		 */
		if (write(STDOUT_FILENO, "ready\n", 6) != 6 || read(go[0], &byte, 1) != 1)
			_exit(0);
		execv(b->standin, args);
		fprintf(stderr, "gpusched: %s: %s\n", b->standin, strerror(errno));
		_exit(127);
	}
	close(go[0]);
	close(report[1]);
	close(hold[0]);
	w->go = go[1];
	w->report = report[0];
	w->hold = hold[1];
	if (w->pid < 0) {
		int err = -errno;

		close_fd(&w->go);
		close_fd(&w->report);
		close_fd(&w->hold);
		return err;
	}
	w->pidfd = syscall(SYS_pidfd_open, w->pid, 0);
	return w->pidfd < 0 ? -errno : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads the "ready" line of a worker that woke up; 0 or -1. */
static int wait_ready(struct worker_run *w)
{
	struct pollfd fd = { .fd = w->report, .events = POLLIN };
	char line[6];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(line)) {
		if (poll(&fd, 1, 30 * 1000) <= 0)
			return -1;
		n = read(w->report, line + got, sizeof(line) - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return memcmp(line, "ready\n", 6) ? -1 : 0;
}

/*
 * Reads a worker's report until its "rate" line, waiting until @deadline,
 * @wait seconds after the workers started; 0, or -1 after printing why.
 */
static int read_report(struct worker_run *w, double deadline, double wait)
{
	for (;;) {
		struct pollfd fd = { .fd = w->report, .events = POLLIN };
		char *line;
		ssize_t n;
		int left = (int)((deadline - now_s()) * 1000);

		line = memmem(w->output, w->used, "\nrate", 5);
		if (line && memchr(line + 1, '\n', w->used - (line + 1 - w->output))) {
			if (sscanf(line + 1, "rate %lf passes/s", &w->rate) == 1)
				return 0;
			break;
		}
		if (left <= 0) {
			cli_error("worker %d has not reported %.0f s after it started; is the machine overloaded?",
				  w->pid, wait);
			return -1;
		}
		if (poll(&fd, 1, left) < 0 && errno != EINTR)
			break;
		if (!fd.revents)
			continue;
		n = read(w->report, w->output + w->used, sizeof(w->output) - 1 - w->used);
		if (n <= 0)
			break;
		w->used += n;
		w->output[w->used] = '\0';
		if (w->used == sizeof(w->output) - 1)
			break;
	}
	cli_error("worker %d ended without its report (its output: \"%.*s\")", w->pid,
		  (int)w->used, w->output);
	return -1;
}

/* Sums what the monitor saw of the workers' threads. */
static void measure_with_monitor(struct bench *b, const struct worker_run *runs,
				 struct bench_repetition *rep)
{
	uint64_t latency[GS_MONITOR_LATENCY_SLOTS] = { 0 }, migrations = 0, cross = 0;
	uint64_t on_gpu_node = 0, run_total = 0, waits = 0;
	struct gs_task_stats *stats = NULL;
	bool nodes_known = true;
	size_t nr = 0, i;
	unsigned int w, slot, node;
	int err;

	err = gs_sched_monitor_read(b->monitor, &stats, &nr);
	if (err) {
		cli_warn("reading the scheduler monitor: %s; this repetition's scheduler numbers are unavailable",
			 strerror(-err));
		return;
	}
	for (i = 0; i < nr; i++) {
		for (w = 0; w < b->workers && runs[w].pid != stats[i].pid; w++)
			;
		if (w == b->workers)
			continue;
		migrations += stats[i].migrations;
		cross += stats[i].cross_node_migrations;
		for (node = 0; node < GS_MONITOR_MAX_NODES; node++) {
			run_total += stats[i].run_ns[node];
			if ((int)node == rep->workers[w].gpu_node)
				on_gpu_node += stats[i].run_ns[node];
		}
		for (slot = 0; slot < GS_MONITOR_LATENCY_SLOTS; slot++)
			latency[slot] += stats[i].latency[slot];
		waits += stats[i].nr_waits;
	}
	free(stats);
	for (w = 0; w < b->workers; w++)
		nodes_known &= rep->workers[w].gpu_node >= 0;
	rep->metric[BENCH_MIGRATIONS] = migrations;
	rep->metric[BENCH_CROSS_NODE] = cross;
	if (run_total && nodes_known)
		rep->metric[BENCH_GPU_NODE_SHARE] = (double)on_gpu_node / run_total;
	if (waits) {
		rep->metric[BENCH_RQ_P50] = gs_monitor_latency_percentile(latency, 0.5);
		rep->metric[BENCH_RQ_P99] = gs_monitor_latency_percentile(latency, 0.99);
	}
}

/*
 * Without the monitor: se.nr_migrations of /proc/PID/task/TID/sched
 * (CONFIG_SCHED_DEBUG) and the wait total and time slices of
 * /proc/PID/task/TID/schedstat (CONFIG_SCHEDSTATS), read while every
 * thread is held alive after its last pass.
 */
static void measure_with_procfs(const struct bench *b, const struct worker_run *runs,
				struct bench_repetition *rep)
{
	unsigned long long migrations = 0, wait_ns = 0, slices = 0, value, run, wait, count;
	bool have_migrations = false, have_waits = false;
	char path[320], line[256];
	unsigned int w;

	for (w = 0; w < b->workers; w++) {
		struct dirent *entry;
		DIR *dir;

		snprintf(path, sizeof(path), "/proc/%d/task", runs[w].pid);
		dir = opendir(path);
		if (!dir)
			continue;
		while ((entry = readdir(dir))) {
			FILE *file;

			if (entry->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/sched", runs[w].pid,
				 entry->d_name);
			file = fopen(path, "re");
			while (file && fgets(line, sizeof(line), file)) {
				char *colon = strchr(line, ':');

				if (strncmp(line, "se.nr_migrations", 16) || !colon)
					continue;
				if (sscanf(colon + 1, "%llu", &value) == 1) {
					migrations += value;
					have_migrations = true;
				}
			}
			if (file)
				fclose(file);
			snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", runs[w].pid,
				 entry->d_name);
			file = fopen(path, "re");
			if (file && fscanf(file, "%llu %llu %llu", &run, &wait, &count) == 3) {
				wait_ns += wait;
				slices += count;
				have_waits = true;
			}
			if (file)
				fclose(file);
		}
		closedir(dir);
	}
	if (have_migrations)
		rep->metric[BENCH_MIGRATIONS] = migrations;
	if (have_waits && slices)
		rep->metric[BENCH_RQ_WAIT_MEAN] = (double)wait_ns / slices / 1000.0;
}

static const char *pin_failure(int err)
{
	switch (err) {
	case -ENOSPC:
		return "no free cores left on the GPU's node (other exclusive workers hold them, see `gpusched status`); use fewer --workers or spread them with --gpus";
	case -EBUSY:
		return "the worker is already pinned (is bench itself running under `gpusched exec`?)";
	case -ENODEV:
		return "the GPU is not in the module's topology; see `gpusched topo`";
	default:
		return strerror(-err);
	}
}

/* Pins worker @w by its pidfd through @gs; 0 or -1 after printing why. */
static int pin_worker(struct bench *b, struct gpusched *gs, unsigned int policy,
		      struct worker_run *run, struct bench_worker *worker)
{
	struct gpusched_pin pin = {
		.target_type = GPUSCHED_TARGET_PIDFD,
		.target_id = run->pidfd,
		.gpu = worker->gpu,
		.policy = policy,
	};
	size_t size = CPU_ALLOC_SIZE(b->nr_cpus > 8192 ? b->nr_cpus : 8192);
	cpu_set_t *cpus = CPU_ALLOC(b->nr_cpus > 8192 ? b->nr_cpus : 8192);
	int err;

	if (!cpus) {
		cli_error("out of memory");
		return -1;
	}
	err = gpusched_pin_task(gs, &pin, cpus, size);
	if (err) {
		cli_error("pinning worker %d to GPU %u with policy %s: %s", run->pid, worker->gpu,
			  gpusched_policy_name(policy), pin_failure(err));
		CPU_FREE(cpus);
		return -1;
	}
	worker->cpus = cli_cpu_set_list(cpus, size);
	CPU_FREE(cpus);
	return 0;
}

/* Runs one repetition of @p; 0 or an exit code after printing why. */
static int run_repetition(struct bench *b, struct bench_policy *p, struct bench_repetition *rep)
{
	struct worker_run *runs = calloc(b->workers, sizeof(*runs));
	struct gpusched *gs = NULL;
	unsigned int w, started = 0, m;
	int ret = EXIT_FAILURE_RUNTIME, err, status;
	double deadline, wait;

	rep->workers = calloc(b->workers, sizeof(*rep->workers));
	if (!runs || !rep->workers) {
		cli_error("out of memory");
		free(runs);
		return EXIT_FAILURE_RUNTIME;
	}
	for (m = 0; m < BENCH_NR_METRICS; m++)
		rep->metric[m] = NAN;
	/* A handle of its own: closing it ends every pin and reservation of the round. */
	if (p->policy != BENCH_POLICY_NONE) {
		err = gpusched_open(b->common.device, 0, &gs);
		if (err) {
			cli_error("%s: %s", b->common.device ? b->common.device : GPUSCHED_DEVICE,
				  strerror(-err));
			goto out;
		}
	}

	for (w = 0; w < b->workers; w++) {
		runs[w].go = runs[w].report = runs[w].hold = runs[w].pidfd = -1;
		rep->workers[w].gpu = bench_worker_gpu(b, w);
		rep->workers[w].gpu_node = rep->workers[w].gpu < b->nr_gpus ?
					   b->gpu_node[rep->workers[w].gpu] : -1;
		err = spawn_worker(b, &runs[w]);
		if (runs[w].pid > 0)
			started++;
		if (err) {
			cli_error("starting worker %u: %s", w, strerror(-err));
			goto stop;
		}
		rep->workers[w].pid = runs[w].pid;
		if (gs && pin_worker(b, gs, p->policy, &runs[w], &rep->workers[w]))
			goto stop;
		if (b->monitor && gs_sched_monitor_watch_pid(b->monitor, runs[w].pid))
			cli_warn("the scheduler monitor cannot watch worker %d", runs[w].pid);
	}
	/* All pinned and watched: wake them onto their CPUs, then count from zero. */
	for (w = 0; w < b->workers; w++)
		if (write(runs[w].go, "g", 1) != 1 || wait_ready(&runs[w])) {
			cli_error("starting worker %d: it did not get ready", runs[w].pid);
			goto stop;
		}
	if (b->monitor && gs_sched_monitor_reset(b->monitor))
		cli_warn("resetting the scheduler monitor failed; counts include the start");
	for (w = 0; w < b->workers; w++) {
		if (write(runs[w].go, "g", 1) != 1) {
			cli_error("starting worker %d: %s", runs[w].pid, strerror(errno));
			goto stop;
		}
		close_fd(&runs[w].go);
	}

	/* Generous: an emulated guest can take many times the nominal length. */
	wait = b->seconds * 10.0 + 30;
	deadline = now_s() + wait;
	rep->metric[BENCH_THROUGHPUT] = 0;
	for (w = 0; w < b->workers; w++) {
		if (read_report(&runs[w], deadline, wait))
			goto stop;
		rep->workers[w].rate = runs[w].rate;
		rep->metric[BENCH_THROUGHPUT] += runs[w].rate;
	}
	/* Every worker has reported and holds its threads: count now. */
	measure_with_procfs(b, runs, rep);
	if (b->monitor)
		measure_with_monitor(b, runs, rep);
	ret = 0;
stop:
	for (w = 0; w < b->workers; w++) {
		if (ret && runs[w].pid > 0)
			kill(runs[w].pid, SIGKILL);
		close_fd(&runs[w].go);
		close_fd(&runs[w].hold);
	}
	for (w = 0; w < started; w++) {
		if (waitpid(runs[w].pid, &status, 0) == runs[w].pid && !ret &&
		    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			cli_error("worker %d ended with status %d", runs[w].pid, status);
			ret = EXIT_FAILURE_RUNTIME;
		}
		close_fd(&runs[w].report);
		close_fd(&runs[w].pidfd);
	}
out:
	gpusched_close(gs);
	free(runs);
	return ret;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_percentiles(double *samples, unsigned int n, double *median, double *p10, double *p90)
{
	if (!n) {
		*median = *p10 = *p90 = NAN;
		return;
	}
	qsort(samples, n, sizeof(*samples), compare_double);
	*median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	*p10 = samples[(n - 1) / 10];
	*p90 = samples[(n - 1) * 9 / 10];
}

/* Median, min and max over the repetitions; NAN when any repetition lacks the number. */
static void summarise(struct bench *b, struct bench_policy *p)
{
	double values[1000], p10, p90;
	unsigned int m, r;

	for (m = 0; m < BENCH_NR_METRICS; m++) {
		for (r = 0; r < b->repetitions; r++) {
			values[r] = p->repetitions[r].metric[m];
			if (isnan(values[r]))
				break;
		}
		if (r < b->repetitions) {
			p->median[m] = p->min[m] = p->max[m] = NAN;
			continue;
		}
		bench_percentiles(values, b->repetitions, &p->median[m], &p10, &p90);
		p->min[m] = values[0];
		p->max[m] = values[b->repetitions - 1];
	}
}

static int run_policies(struct bench *b)
{
	bool progress = isatty(STDERR_FILENO) || b->common.verbose;
	unsigned int i, r;
	int ret;

	for (i = 0; i < b->nr_policies; i++) {
		b->policies[i].repetitions = calloc(b->repetitions,
						    sizeof(*b->policies[i].repetitions));
		if (!b->policies[i].repetitions) {
			cli_error("out of memory");
			return EXIT_FAILURE_RUNTIME;
		}
	}
	for (r = 0; r < b->repetitions; r++) {
		for (i = 0; i < b->nr_policies; i++) {
			if (progress)
				fprintf(stderr, "gpusched: bench: round %u/%u, policy %s\n", r + 1,
					b->repetitions, b->policies[i].name);
			ret = run_repetition(b, &b->policies[i], &b->policies[i].repetitions[r]);
			if (ret)
				return ret;
		}
	}
	for (i = 0; i < b->nr_policies; i++)
		summarise(b, &b->policies[i]);
	return 0;
}

static void bench_free(struct bench *b)
{
	unsigned int i, r, w;

	for (i = 0; i < b->nr_policies; i++) {
		for (r = 0; b->policies[i].repetitions && r < b->repetitions; r++) {
			for (w = 0; b->policies[i].repetitions[r].workers && w < b->workers; w++)
				free(b->policies[i].repetitions[r].workers[w].cpus);
			free(b->policies[i].repetitions[r].workers);
		}
		free(b->policies[i].repetitions);
	}
	for (i = 0; i < b->nr_micro; i++) {
		free(b->micro[i].group);
		free(b->micro[i].name);
		free(b->micro[i].condition);
		free(b->micro[i].note);
	}
	free(b->micro);
	gs_sched_monitor_close(b->monitor);
	gpusched_close(b->gs);
	if (b->machine)
		gs_machine_free(b->machine);
	free(b->cpu_node);
	free(b->gpu_node);
	free(b->standin);
}

int cmd_bench(int argc, char **argv)
{
	struct bench b = {
		.loaders = 2, .buffer_mib = 64, .seconds = 10, .repetitions = 3,
		.hotplug_cpu = -1,
	};
	unsigned int i;
	int ret;

	parse_policies(&b, "none,node,exclusive,l3");
	ret = parse_options(&b, argc, argv);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;

	ret = cli_open(&b.common, 0, true, &b.gs);
	if (ret == EXIT_NO_MODULE) {
		b.gs = NULL;
		if (!b.micro_only && any_pinning_policy(&b)) {
			cli_error("%s is missing: the gpusched module is not loaded, and every policy but none pins through it; load it (`modprobe gpusched`) and start gpuschedd, or give --policies none",
				  b.common.device ? b.common.device : GPUSCHED_DEVICE);
			return EXIT_NO_MODULE;
		}
	} else if (ret) {
		return ret;
	}
	ret = describe_machine(&b);
	if (ret)
		goto out;
	if (b.gs && !b.gpus_from_module && !b.micro_only && any_pinning_policy(&b)) {
		cli_error("the module holds no topology yet: start gpuschedd (`systemctl start gpuschedd` or `gpuschedd --once`)");
		ret = EXIT_FAILURE_RUNTIME;
		goto out;
	}
	if (!b.gpus_given) {
		b.nr_gpu_list = b.nr_gpus ? b.nr_gpus : 1;
		if (b.nr_gpu_list > sizeof(b.gpu_list) / sizeof(b.gpu_list[0]))
			b.nr_gpu_list = sizeof(b.gpu_list) / sizeof(b.gpu_list[0]);
		for (i = 0; i < b.nr_gpu_list; i++)
			b.gpu_list[i] = i;
	}
	for (i = 0; b.gpus_given && i < b.nr_gpu_list; i++) {
		if (b.gpu_list[i] >= b.nr_gpus) {
			cli_error("--gpus: GPU %u does not exist; %s has %u GPU%s%s", b.gpu_list[i],
				  b.gpus_from_module ? "the module's topology" : "this machine",
				  b.nr_gpus, b.nr_gpus == 1 ? "" : "s",
				  b.gpus_from_module ? "" : " (stand-in vendors need --match)");
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (!b.workers)
		b.workers = b.nr_gpus ? b.nr_gpus : 1;

	bench_daemon_start(&b);
	if (!b.micro_only) {
		ret = find_standin(&b);
		if (ret)
			goto out;
		open_monitor(&b);
		if (!b.monitor)
			cli_warn("scheduler monitor unavailable (%s): cross-node migrations, time on the GPU's node and run-queue latency percentiles are not measured; migrations and mean run-queue wait come from /proc/PID/task/TID/{sched,schedstat}",
				 b.monitor_reason);
		ret = run_policies(&b);
		if (ret)
			goto out;
		/* Detached, so that the micro-benchmarks time the kernel without it. */
		b.monitor_used = b.monitor != NULL;
		gs_sched_monitor_close(b.monitor);
		b.monitor = NULL;
	}
	if (!b.no_micro)
		bench_run_micro(&b);
	bench_daemon_finish(&b);
	if (!b.no_micro)
		bench_micro_hotplug(&b);
	ret = bench_report(&b);
out:
	bench_free(&b);
	return ret;
}
