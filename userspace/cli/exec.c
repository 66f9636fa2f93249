// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched exec, pin and unpin.  exec is the launcher's tool: it works out
 * the worker's GPU from the variables torchrun, srun and mpirun set, pins
 * its own process through the module, sets the memory policy and only
 * then execs the program, so every thread the program creates and every
 * page it first touches starts local.  The descriptor of /dev/gpusched is
 * kept open across the exec on purpose: the pin belongs to it, so the pin
 * lives exactly as long as the worker (and whatever inherits it).
 *
 * pin acts on a running process; since a pin ends with the file it was
 * made through, `gpusched pin` stays until its target exits (or it is
 * told to stop), holding the pin for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "fallback_cache.h"
#include "libgpusched.h"
#include "slurm.h"
#include "snapshot.h"
#include "sysfs.h"

extern char **environ;

enum {
	OPT_GPU = 0x3000,
	OPT_POLICY,
	OPT_CORES,
	OPT_SPILL,
	OPT_MEM_POLICY,
	OPT_MEM_NODE,
	OPT_NO_FALLBACK,
	OPT_PID,
	OPT_TID,
};

/* What exec and pin were asked for. */
struct pin_options {
	struct cli_common common;
	int gpu;			/* -1: from the environment */
	unsigned int policy, cores, flags;
	int mem_policy;
	int mem_node;			/* -1: the GPU's node; -2: the GPU's memory node */
	bool no_fallback;
	pid_t pid, tid;
};

/* Handles an option exec and pin share; returns 1, 0 (not one), or -1. */
static int pin_option(struct pin_options *o, int opt, const char *arg)
{
	unsigned long value;
	int ret = cli_common_option(&o->common, opt, arg);

	if (ret)
		return ret;
	switch (opt) {
	case OPT_GPU:
		if (cli_parse_uint("--gpu", arg, 0, GPUSCHED_MAX_GPUS - 1, &value))
			return -1;
		o->gpu = value;
		return 1;
	case OPT_POLICY:
		ret = gpusched_policy_parse(arg);
		if (ret < 0) {
			cli_error("--policy %s: expected node, socket, exclusive, l3, single or default",
				  arg);
			return -1;
		}
		o->policy = ret;
		return 1;
	case OPT_CORES:
		if (cli_parse_uint("--cores", arg, 0, INT_MAX, &value))
			return -1;
		o->cores = value;
		return 1;
	case OPT_SPILL:
		o->flags |= GPUSCHED_PIN_SPILL;
		return 1;
	}
	return 0;
}

static int check_pin_options(const struct pin_options *o)
{
	if (o->cores && o->policy != GPUSCHED_POLICY_EXCLUSIVE) {
		cli_error("--cores applies to --policy exclusive only");
		return -1;
	}
	return 0;
}

static const char *pin_error_hint(int err)
{
	switch (err) {
	case -ENOSPC:
		return "the GPU's node has no free cores left (other exclusive workers hold them; see `gpusched status`); use --policy node, or --spill to take cores of farther nodes";
	case -EBUSY:
		return "a thread of the target is already pinned (by an enclosing gpusched exec or another launcher?); `gpusched unpin` first";
	case -EDQUOT:
		return "your exclusive pins would hold more CPUs than /sys/kernel/gpusched/max_reserved_cpus_per_user allows; ask for fewer with --cores, or use --policy node";
	case -EPERM:
		return "pinning another user's task needs CAP_SYS_NICE";
	case -ESRCH:
		return "no such process or thread";
	case -ENODEV:
		return "the GPU is not in the module's topology (it changed?); see `gpusched topo`";
	case -EINVAL:
		return "the module refused the request; its log (dmesg) says why";
	default:
		return strerror(-err);
	}
}

/*
 * The module's topology.  Returns 0, or an exit code after printing why:
 * no topology yet means gpuschedd has not run.
 */
static int read_topology(struct gpusched *gs, struct gpusched_topology_copy *copy)
{
	int err = gpusched_get_topology(gs, copy);

	if (err) {
		cli_error("reading the module's topology: %s", strerror(-err));
		return EXIT_FAILURE_RUNTIME;
	}
	if (!copy->nr_gpus) {
		gpusched_topology_copy_free(copy);
		cli_error("the module holds no topology yet: start gpuschedd (`systemctl start gpuschedd` or `gpuschedd --once`)");
		return EXIT_FAILURE_RUNTIME;
	}
	return 0;
}

/* The value of @name in the NULL-terminated @envp, or NULL. */
static const char *env_value(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, len) && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

/*
 * Under srun, CUDA_VISIBLE_DEVICES holds Slurm's GPU numbers, which follow
 * gres.conf's order and not gpusched's PCI order.  A task that srun
 * started itself (SLURM_STEP_GPUS, SLURM_LOCALID and SLURMD_NODENAME set,
 * no LOCAL_RANK of a launcher in between) is resolved through gres.conf
 * as the SPANK plugin resolves it.  Returns the index, -1 after printing
 * why, or -2 when the task is not one srun started.
 */
static int choose_slurm_gpu(const struct pin_options *o, char *const *envp, unsigned int nr_gpus,
			    const struct gpusched_gpu *gpus)
{
	const char *task_gpus = env_value(envp, "SLURM_STEP_GPUS");
	const char *local_id = env_value(envp, "SLURM_LOCALID");
	const char *node_name = env_value(envp, "SLURMD_NODENAME");
	const char *slurm_conf = env_value(envp, "SLURM_CONF");
	char message[GPUSCHED_MESSAGE_SIZE], gres_conf[PATH_MAX];
	unsigned long id;
	char *end;
	int gpu;

	if (!task_gpus || !*task_gpus || !local_id || !node_name || env_value(envp, "LOCAL_RANK"))
		return -2;
	errno = 0;
	id = strtoul(local_id, &end, 10);
	if (!*local_id || *end || errno || id > INT_MAX) {
		cli_error("SLURM_LOCALID=\"%s\" is not a task number; or give --gpu N", local_id);
		return -1;
	}
	/* slurmd reads gres.conf beside slurm.conf. */
	if (slurm_conf && strrchr(slurm_conf, '/'))
		snprintf(gres_conf, sizeof(gres_conf), "%.*s/gres.conf",
			 (int)(strrchr(slurm_conf, '/') - slurm_conf), slurm_conf);
	else
		snprintf(gres_conf, sizeof(gres_conf), "%s", GS_SLURM_GRES_CONF);
	gpu = gs_slurm_resolve_gpu(o->common.sysfs_root, gres_conf, node_name, task_gpus, NULL, id,
				   nr_gpus, gpus, message);
	if (gpu < 0) {
		cli_error("under srun, Slurm's GPU numbers follow gres.conf: %s; or give --gpu N",
			  message);
		return -1;
	}
	if (o->common.verbose)
		fprintf(stderr, "gpusched: %s\n", message);
	return gpu;
}

/*
 * The GPU to use: --gpu, or what @envp says.  Returns the index, or -1
 * after printing why.
 */
static int choose_gpu(const struct pin_options *o, char *const *envp, unsigned int nr_gpus,
		      const struct gpusched_gpu *gpus, const char *whose)
{
	struct gpusched_gpu_choice choice;
	char message[GPUSCHED_MESSAGE_SIZE];
	int err;

	if (o->gpu >= 0) {
		if ((unsigned int)o->gpu >= nr_gpus) {
			cli_error("--gpu %d: there are %u GPUs (0-%u); see `gpusched topo`", o->gpu,
				  nr_gpus, nr_gpus - 1);
			return -1;
		}
		return o->gpu;
	}
	err = choose_slurm_gpu(o, envp, nr_gpus, gpus);
	if (err != -2)
		return err;
	err = gpusched_resolve_gpu(envp, nr_gpus, gpus, &choice, message);
	if (err) {
		cli_error("cannot tell the GPU from %s environment: %s; or give --gpu N", whose,
			  message);
		return -1;
	}
	if (o->common.verbose)
		fprintf(stderr, "gpusched: %s\n", choice.explanation);
	return choice.gpu;
}

static int apply_mem_policy(const struct pin_options *o, unsigned int gpu_node,
			    unsigned int gpu_mem_node)
{
	unsigned int node = o->mem_node >= 0 ? (unsigned int)o->mem_node :
			    o->mem_node == -2 ? gpu_mem_node : gpu_node;
	int err = gpusched_set_mem_policy(o->mem_policy, node);

	if (err) {
		cli_error("--mem-policy on node %u: set_mempolicy: %s%s", node, strerror(-err),
			  err == -EINVAL ? " (the node has no memory or does not exist)" : "");
		return -1;
	}
	if (o->mem_policy && o->common.verbose)
		fprintf(stderr, "gpusched: memory policy %s on node %u\n",
			o->mem_policy == GPUSCHED_MEM_BIND ? "bind" :
			o->mem_policy == GPUSCHED_MEM_PREFERRED ? "preferred" : "interleave", node);
	return 0;
}

/*
 * The line that says what a pin applied, printed with --verbose or
 * GPUSCHED_VERBOSE.  Its form is documented in gpusched(1) and
 * Documentation/launchers.rst for log scrapers; keep it.
 */
static void report_pinned(int gpu, const char *address, unsigned int node,
			  const cpu_set_t *cpus, size_t size, unsigned int policy,
			  bool arbitrated)
{
	char *list = cli_cpu_set_list(cpus, size);

	fprintf(stderr, "gpusched: pid %d pinned to GPU %d (%s, node %u): CPUs %s, policy %s%s\n",
		getpid(), gpu, address, node, list ? list : "?",
		gpusched_policy_name(policy), arbitrated ? "" : ", not arbitrated");
	free(list);
}

/*
 * exec without the module: the library's unarbitrated fallback, on the
 * machine as the last launch of this boot found it when nothing it was
 * found from has changed (fallback_cache.h).
 */
static int exec_fallback(const struct pin_options *o)
{
	char message[GPUSCHED_MESSAGE_SIZE];
	char address[GPUSCHED_PCI_ADDRESS_SIZE];
	struct gs_discover_opts opts = {
		.root = o->common.sysfs_root,
		.gpu_matches = o->common.matches,
		.nr_gpu_matches = o->common.nr_matches,
		.warn = o->common.verbose ? cli_print_warning : NULL,
	};
	struct gpusched_fallback placed;
	struct gs_fallback_machine machine;
	unsigned int nr;
	uint32_t mem_node;
	int gpu, err;
	char *list;

	err = gs_fallback_machine_get(&opts, gs_fallback_needs_cpu_groups(o->policy), &machine,
				      message);
	if (err) {
		cli_error("%s: cannot read the topology: %s%s",
			  o->common.sysfs_root ? o->common.sysfs_root : "/sys", strerror(-err),
			  o->common.sysfs_root ?
			  " (--sysfs-root must hold sys/devices/system/cpu)" : "");
		return EXIT_FAILURE_RUNTIME;
	}
	nr = machine.nr_gpus;
	gpu = nr ? choose_gpu(o, environ, nr, machine.gpus, "the") : -1;
	if (gpu >= 0) {
		mem_node = machine.gpus[gpu].mem_node;
		gpusched_format_pci_address(&machine.gpus[gpu], address);
	}
	if (!nr)
		cli_error("the module is not loaded and discovery found no GPUs; `gpusched topo` shows why");
	if (gpu < 0) {
		gs_fallback_machine_free(&machine);
		return EXIT_FAILURE_RUNTIME;
	}

	err = gs_fallback_pin_on(&machine, gpu, o->policy, o->cores, o->flags, &placed, message);
	gs_fallback_machine_free(&machine);
	if (err) {
		cli_error("placing without the module: %s", message);
		return EXIT_FAILURE_RUNTIME;
	}
	list = cli_cpu_set_list(placed.cpus, placed.cpus_size);
	cli_warn("%s is missing (the gpusched module is not loaded): placed on CPUs %s of node %u with sched_setaffinity, NOT arbitrated with other jobs",
		 o->common.device ? o->common.device : GPUSCHED_DEVICE, list, placed.node);
	free(list);
	if (o->common.verbose)
		report_pinned(gpu, address, placed.node, placed.cpus, placed.cpus_size,
			      o->policy == GPUSCHED_POLICY_DEFAULT ? GPUSCHED_POLICY_NODE :
			      o->policy, false);
	CPU_FREE(placed.cpus);
	return apply_mem_policy(o, placed.node,
				mem_node == GPUSCHED_NODE_ANY ? placed.node : mem_node) ?
	       EXIT_FAILURE_RUNTIME : EXIT_OK;
}

/* exec through the module; leaves the pin on the kept-open @gs. */
static int exec_pin(const struct pin_options *o, struct gpusched *gs)
{
	struct gpusched_pin pin = {
		.flags = o->flags,
		.target_type = GPUSCHED_TARGET_PROCESS,
		.target_id = 0,
		.policy = o->policy,
		.cores = o->cores,
	};
	struct gpusched_topology_copy topo;
	cpu_set_t *cpus;
	size_t size;
	int gpu, err, ret;
	char address[GPUSCHED_PCI_ADDRESS_SIZE];

	ret = read_topology(gs, &topo);
	if (ret)
		return ret;
	gpu = choose_gpu(o, environ, topo.nr_gpus, topo.gpus, "the");
	if (gpu < 0) {
		ret = EXIT_FAILURE_RUNTIME;
		goto out;
	}
	size = CPU_ALLOC_SIZE(topo.nr_cpus);
	cpus = CPU_ALLOC(topo.nr_cpus);
	if (!cpus) {
		cli_error("out of memory");
		ret = EXIT_FAILURE_RUNTIME;
		goto out;
	}
	pin.gpu = gpu;
	err = gpusched_pin_task(gs, &pin, cpus, size);
	/* Formatted only to be printed: see the comment on snprintf() in main(). */
	if (err) {
		gpusched_format_pci_address(&topo.gpus[gpu], address);
		cli_error("pinning to GPU %d (%s) with policy %s: %s", gpu, address,
			  gpusched_policy_name(o->policy), pin_error_hint(err));
		ret = EXIT_FAILURE_RUNTIME;
	} else {
		if (o->common.verbose) {
			gpusched_format_pci_address(&topo.gpus[gpu], address);
			report_pinned(gpu, address, topo.gpus[gpu].node, cpus, size, pin.policy,
				      true);
		}
		ret = apply_mem_policy(o, topo.gpus[gpu].node,
				       topo.gpus[gpu].mem_node == GPUSCHED_NODE_ANY ?
				       topo.gpus[gpu].node : topo.gpus[gpu].mem_node) ?
		      EXIT_FAILURE_RUNTIME : EXIT_OK;
	}
	CPU_FREE(cpus);
out:
	gpusched_topology_copy_free(&topo);
	return ret;
}

static void exec_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched exec [--gpu N] [--policy P] [--cores N] [--spill]\n"
		"                     [--mem-policy none|bind|preferred|interleave] [--mem-node N|gpu-memory]\n"
		"                     [--no-fallback] [--device PATH] [--sysfs-root DIR]\n"
		"                     [--match VENDOR[:CLASS]]... [--verbose] -- PROGRAM [ARGS...]\n\n"
		"Pins this process near its GPU, sets its memory policy, then runs PROGRAM in\n"
		"its place, so every thread and first-touched page of PROGRAM starts local.\n"
		"The GPU comes from --gpu, or from LOCAL_RANK / SLURM_LOCALID /\n"
		"OMPI_COMM_WORLD_LOCAL_RANK / MPI_LOCALRANKID and CUDA_VISIBLE_DEVICES /\n"
		"HIP_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES.  The pin ends when PROGRAM exits.\n\n"
		"  --policy P      node, socket, exclusive, l3, single, default (the module's)\n"
		"  --cores N       exclusive only: physical cores for this worker\n"
		"  --spill         take cores of farther nodes when the GPU's node runs out\n"
		"  --mem-policy M  memory policy on the GPU's node (default none)\n"
		"  --mem-node N    use node N instead; gpu-memory: the GPU's own memory node\n"
		"  --no-fallback   fail (exit 3) when the module is not loaded, instead of\n"
		"                  placing with sched_setaffinity, unarbitrated\n");
}

static const struct option pin_long_options[] = {
	{ "gpu", required_argument, NULL, OPT_GPU },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "cores", required_argument, NULL, OPT_CORES },
	{ "spill", no_argument, NULL, OPT_SPILL },
	{ "mem-policy", required_argument, NULL, OPT_MEM_POLICY },
	{ "mem-node", required_argument, NULL, OPT_MEM_NODE },
	{ "no-fallback", no_argument, NULL, OPT_NO_FALLBACK },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "tid", required_argument, NULL, OPT_TID },
	CLI_COMMON_LONG_OPTIONS,
	{ 0 }
};

/* Whether variable @name is set to anything but "" or "0". */
static bool env_set(const char *name)
{
	const char *value = getenv(name);

	return value && *value && strcmp(value, "0");
}

int cmd_exec(int argc, char **argv)
{
	struct pin_options o = { .gpu = -1, .mem_node = -1 };
	struct gpusched *gs = NULL;
	int opt, ret;
	unsigned long value;

	/* "+": options end at the program's name even without "--". */
	while ((opt = getopt_long(argc, argv, "+vh", pin_long_options, NULL)) != -1) {
		ret = pin_option(&o, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		switch (opt) {
		case OPT_MEM_POLICY:
			o.mem_policy = gpusched_mem_policy_parse(optarg);
			if (o.mem_policy < 0) {
				cli_error("--mem-policy %s: expected none, bind, preferred or interleave",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_MEM_NODE:
			if (!strcmp(optarg, "gpu-memory")) {
				o.mem_node = -2;
				break;
			}
			if (cli_parse_uint("--mem-node", optarg, 0, 1023, &value))
				return EXIT_USAGE;
			o.mem_node = value;
			break;
		case OPT_NO_FALLBACK:
			o.no_fallback = true;
			break;
		default:
			exec_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind == argc) {
		cli_error("exec: no program given; usage: gpusched exec [OPTIONS] -- PROGRAM [ARGS...]");
		return EXIT_USAGE;
	}
	if (check_pin_options(&o))
		return EXIT_USAGE;
	if (o.mem_node != -1 && !o.mem_policy) {
		cli_error("--mem-node needs --mem-policy bind, preferred or interleave");
		return EXIT_USAGE;
	}
	if (env_set("GPUSCHED_VERBOSE"))
		o.common.verbose = true;

	/* A rollout's opt-out: the program runs as it would without gpusched. */
	if (gpusched_disabled()) {
		execvp(argv[optind], argv + optind);
		ret = errno;
		cli_error("%s: %s", argv[optind], strerror(ret));
		return ret == ENOENT ? EXIT_EXEC_NOT_FOUND : EXIT_EXEC_NOT_EXECUTABLE;
	}

	ret = cli_open(&o.common, GPUSCHED_OPEN_KEEP_ON_EXEC, !o.no_fallback, &gs);
	if (ret == EXIT_NO_MODULE && !o.no_fallback)
		ret = exec_fallback(&o);
	else if (!ret)
		ret = exec_pin(&o, gs);
	if (ret) {
		gpusched_close(gs);
		return ret;
	}

	/* The descriptor stays open in PROGRAM: the pin lives as long as it does. */
	execvp(argv[optind], argv + optind);
	ret = errno;
	cli_error("%s: %s", argv[optind], strerror(ret));
	gpusched_close(gs);
	return ret == ENOENT ? EXIT_EXEC_NOT_FOUND : EXIT_EXEC_NOT_EXECUTABLE;
}

/* Reads /proc/PID/environ into an envp array; both freed by the caller. */
static char **read_environ(pid_t pid, char **text)
{
	struct gs_sysfs *proc;
	char path[64], **envp;
	size_t n = 0, i;
	int len;

	*text = NULL;
	if (gs_sysfs_open(&proc, "/"))
		return NULL;
	snprintf(path, sizeof(path), "proc/%d/environ", pid);
	len = gs_sysfs_read_text(proc, path, text);
	gs_sysfs_close(proc);
	if (len < 0)
		return NULL;
	for (i = 0; i < (size_t)len; i++)
		n += (*text)[i] == '\0';
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	n = 0;
	for (i = 0; i < (size_t)len; i += strlen(*text + i) + 1)
		envp[n++] = *text + i;
	return envp;
}

static pid_t thread_group_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	FILE *status;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	status = fopen(path, "re");
	if (!status)
		return -1;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(status);
	return tgid;
}

/* Waits until @pid exits or a SIGINT, SIGTERM or SIGHUP arrives. */
static int hold_until_exit(int pidfd, bool verbose)
{
	struct pollfd fds[2];
	sigset_t signals;
	int sfd;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	sfd = signalfd(-1, &signals, SFD_CLOEXEC);
	if (sfd < 0) {
		cli_error("signalfd: %s", strerror(errno));
		return EXIT_FAILURE_RUNTIME;
	}
	fds[0] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (poll(fds, 2, -1) < 0 && errno == EINTR)
		;
	if (verbose)
		fprintf(stderr, "gpusched: %s; the pin ends\n",
			fds[0].revents ? "the target exited" : "stopped by a signal");
	close(sfd);
	return EXIT_OK;
}

/* Handles --pid and --tid for pin and unpin; returns 1, 0 (not one), or -1. */
static int target_option(struct pin_options *o, int opt, const char *arg)
{
	unsigned long value;

	if (opt != OPT_PID && opt != OPT_TID)
		return 0;
	if (cli_parse_uint(opt == OPT_PID ? "--pid" : "--tid", arg, 1, INT_MAX, &value))
		return -1;
	*(opt == OPT_PID ? &o->pid : &o->tid) = value;
	return 1;
}

static void pin_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched pin (--pid PID | --tid TID) [--gpu N] [--policy P] [--cores N]\n"
		"                    [--spill] [--device PATH] [--verbose] [--json]\n\n"
		"Pins a running process (every thread it has now) or one thread near a GPU,\n"
		"then stays to hold the pin until the target exits or this command gets\n"
		"SIGINT/SIGTERM; a pin ends with the descriptor it was made through.  Without\n"
		"--gpu the GPU comes from the target's own environment (/proc/PID/environ).\n");
}

int cmd_pin(int argc, char **argv)
{
	struct pin_options o = { .gpu = -1, .mem_node = -1 };
	struct gpusched_topology_copy topo;
	char address[GPUSCHED_PCI_ADDRESS_SIZE];
	struct gpusched_pin pin = { 0 };
	struct gpusched *gs;
	char **envp = NULL, *env_text = NULL, *list = NULL;
	cpu_set_t *cpus = NULL;
	int opt, ret, gpu, err, pidfd = -1;
	size_t size;
	pid_t process;

	while ((opt = getopt_long(argc, argv, "vh", pin_long_options, NULL)) != -1) {
		ret = pin_option(&o, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		ret = target_option(&o, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		pin_usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	if (optind != argc || !o.pid == !o.tid) {
		cli_error("pin: give exactly one of --pid PID or --tid TID");
		return EXIT_USAGE;
	}
	if (check_pin_options(&o))
		return EXIT_USAGE;

	process = o.pid ? o.pid : thread_group_of(o.tid);
	if (process <= 0) {
		cli_error("--tid %d: no such thread", o.tid);
		return EXIT_FAILURE_RUNTIME;
	}
	/* A pidfd names the process even if its id is reused while we wait. */
	pidfd = syscall(SYS_pidfd_open, process, 0);
	if (pidfd < 0) {
		cli_error("process %d: %s", process, strerror(errno));
		return EXIT_FAILURE_RUNTIME;
	}
	ret = cli_open(&o.common, 0, false, &gs);
	if (ret)
		goto out_pidfd;
	ret = read_topology(gs, &topo);
	if (ret)
		goto out_close;
	if (o.gpu < 0) {
		envp = read_environ(process, &env_text);
		if (!envp) {
			cli_error("/proc/%d/environ: unreadable (another user's process?); give --gpu N",
				  process);
			ret = EXIT_FAILURE_RUNTIME;
			goto out_topo;
		}
	}
	gpu = choose_gpu(&o, envp, topo.nr_gpus, topo.gpus, "the target's");
	if (gpu < 0) {
		ret = EXIT_FAILURE_RUNTIME;
		goto out_topo;
	}
	size = CPU_ALLOC_SIZE(topo.nr_cpus);
	cpus = CPU_ALLOC(topo.nr_cpus);
	if (!cpus) {
		ret = EXIT_FAILURE_RUNTIME;
		goto out_topo;
	}
	pin.flags = o.flags;
	pin.target_type = o.pid ? GPUSCHED_TARGET_PIDFD : GPUSCHED_TARGET_THREAD;
	pin.target_id = o.pid ? (uint32_t)pidfd : (uint32_t)o.tid;
	pin.gpu = gpu;
	pin.policy = o.policy;
	pin.cores = o.cores;
	err = gpusched_pin_task(gs, &pin, cpus, size);
	gpusched_format_pci_address(&topo.gpus[gpu], address);
	if (err) {
		cli_error("pinning %s %d to GPU %d (%s): %s", o.pid ? "process" : "thread",
			  o.pid ? o.pid : o.tid, gpu, address, pin_error_hint(err));
		ret = EXIT_FAILURE_RUNTIME;
		goto out_cpus;
	}
	list = cli_cpu_set_list(cpus, size);
	if (o.common.json) {
		struct json_object *root = json_object_new_object();

		json_object_object_add(root, o.pid ? "pid" : "tid",
				       json_object_new_int(o.pid ? o.pid : o.tid));
		json_object_object_add(root, "gpu", json_object_new_int(gpu));
		json_object_object_add(root, "pci_address", json_object_new_string(address));
		json_object_object_add(root, "policy",
				       json_object_new_string(gpusched_policy_name(pin.policy)));
		json_object_object_add(root, "cpus", json_object_new_string(list));
		json_object_object_add(root, "nr_threads", json_object_new_int(pin.nr_threads));
		cli_print_json(root);
	} else {
		printf("%s %d: %u thread%s pinned to GPU %d (%s): CPUs %s, policy %s; holding the pin until it exits\n",
		       o.pid ? "process" : "thread", o.pid ? o.pid : o.tid, pin.nr_threads,
		       pin.nr_threads == 1 ? "" : "s", gpu, address, list,
		       gpusched_policy_name(pin.policy));
	}
	fflush(stdout);
	ret = hold_until_exit(pidfd, o.common.verbose);

	free(list);
out_cpus:
	CPU_FREE(cpus);
out_topo:
	free(envp);
	free(env_text);
	gpusched_topology_copy_free(&topo);
out_close:
	gpusched_close(gs);
out_pidfd:
	close(pidfd);
	return ret;
}

static void unpin_usage(FILE *out)
{
	fprintf(out,
		"Usage: gpusched unpin (--pid PID | --tid TID) [--device PATH]\n\n"
		"Ends the pin of every pinned thread of a process, or of one thread, and\n"
		"restores the CPUs each was allowed before.  Allowed to whoever could pin it.\n");
}

int cmd_unpin(int argc, char **argv)
{
	struct pin_options o = { .gpu = -1 };
	struct gpusched_unpin unpin = { 0 };
	struct gpusched *gs;
	int opt, ret, err;

	while ((opt = getopt_long(argc, argv, "vh", pin_long_options, NULL)) != -1) {
		ret = cli_common_option(&o.common, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		ret = target_option(&o, opt, optarg);
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		unpin_usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	if (optind != argc || !o.pid == !o.tid) {
		cli_error("unpin: give exactly one of --pid PID or --tid TID");
		return EXIT_USAGE;
	}
	ret = cli_open(&o.common, 0, false, &gs);
	if (ret)
		return ret;
	unpin.target_type = o.pid ? GPUSCHED_TARGET_PROCESS : GPUSCHED_TARGET_THREAD;
	unpin.target_id = o.pid ? o.pid : o.tid;
	err = gpusched_unpin_task(gs, &unpin);
	gpusched_close(gs);
	if (err) {
		cli_error("unpinning %s %d: %s", o.pid ? "process" : "thread", o.pid ? o.pid : o.tid,
			  err == -ENOENT ? "nothing of it is pinned" :
			  err == -EPERM ? "not yours to unpin (needs CAP_SYS_NICE)" :
			  err == -ESRCH ? "no such process or thread" : strerror(-err));
		return EXIT_FAILURE_RUNTIME;
	}
	if (o.common.json) {
		struct json_object *root = json_object_new_object();

		json_object_object_add(root, "nr_threads", json_object_new_int(unpin.nr_threads));
		cli_print_json(root);
	} else {
		printf("%u thread%s unpinned\n", unpin.nr_threads, unpin.nr_threads == 1 ? "" : "s");
	}
	return EXIT_OK;
}
