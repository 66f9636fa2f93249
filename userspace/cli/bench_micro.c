// SPDX-License-Identifier: GPL-2.0
/*
 * The micro-benchmarks of `gpusched bench`: what one pin through the
 * module costs against a raw sched_setaffinity(2) of the same thread to
 * the same CPUs, with the thread already on one of them and with it on a
 * CPU outside (so the call must move it); what launching a process costs
 * through taskset, numactl and `gpusched exec` against a plain fork and
 * exec; and how long the placement engine takes for one worker on this
 * machine's snapshot.  Each figure is a median over many samples, with the
 * 10th and 90th percentiles as its spread; a measurement that cannot run
 * here (no module, a tool not installed, one CPU) is listed with why.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_synthetic.h"
#include "libgpusched.h"
#include "sched_monitor.h"
#include "snapshot.h"

/* Affinity calls per condition, and the time they may take at most. */
#define PIN_ITERATIONS		2000u
#define PIN_SECONDS		1.5
/* Rounds of launches (one of each tool) after two warm-up rounds; the time limit per tool. */
#define LAUNCHES		30u
#define LAUNCH_SECONDS		10.0
/* true, taskset, numactl, gpusched exec. */
#define LAUNCHERS		4u
/* Placement: batches of calls, each timed as a whole (a call is well under a microsecond). */
#define PLACE_BATCHES		201u
#define PLACE_BATCH		50u
#define PLACE_SECONDS		0.5
/* Whole jobs on the synthetic machine: jobs per policy, and their time limit. */
#define JOB_SAMPLES		101u
#define JOB_SECONDS		1.0
#define JOB_GPUS		72u
#define JOB_WORKERS		16u
/*
 * Pipe ping-pong: samples of a batch of round trips each, and their time
 * limit, taken in rounds that alternate without and with the monitor.
 */
#define PINGPONG_SAMPLES	101u
#define PINGPONG_BATCH		200u
#define PINGPONG_SECONDS	2.0
#define PINGPONG_ROUNDS		5u
#define PINGPONG_SETTLE_MS	250

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *checked_strdup(const char *s)
{
	char *copy = strdup(s ? s : "");

	if (!copy) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	return copy;
}

void bench_micro_add(struct bench *b, const char *group, const char *name, const char *condition,
		     double *samples, unsigned int nr_samples, const char *note, ...)
{
	struct bench_micro *row, *grown;
	char text[512] = "";
	va_list ap;

	grown = realloc(b->micro, (b->nr_micro + 1) * sizeof(*b->micro));
	if (!grown) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	b->micro = grown;
	row = &b->micro[b->nr_micro++];
	if (note) {
		va_start(ap, note);
		vsnprintf(text, sizeof(text), note, ap);
		va_end(ap);
	}
	row->group = checked_strdup(group);
	row->name = checked_strdup(name);
	row->condition = checked_strdup(condition);
	row->note = checked_strdup(text);
	row->samples = nr_samples;
	row->unit = "ns";
	bench_percentiles(samples, nr_samples, &row->median_ns, &row->p10_ns, &row->p90_ns);
}

void bench_micro_unit(struct bench *b, const char *unit)
{
	if (b->nr_micro)
		b->micro[b->nr_micro - 1].unit = unit;
}

static double *samples_new(unsigned int n)
{
	double *samples = calloc(n, sizeof(*samples));

	if (!samples) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	return samples;
}

/* ---- One pin against sched_setaffinity ---- */

struct affinity_masks {
	size_t size;
	cpu_set_t *original, *target, *one;
	char *target_list;
	int target_node;
	int inside, outside;	/* a CPU of the target and one outside it, -1 if none */
};

/*
 * The CPUs a pin of the first worker's GPU with policy node gives (asked
 * of the module itself when it is loaded), and the node they belong to.
 */
static int target_cpus(struct bench *b, struct affinity_masks *m, char *why, size_t why_size)
{
	unsigned int gpu = b->gpu_list[0], i;
	const struct gs_machine_node *node = NULL;
	int cpu;

	if (b->gs && b->gpus_from_module) {
		struct gpusched_pin pin = {
			.target_type = GPUSCHED_TARGET_THREAD,
			.gpu = gpu,
			.policy = GPUSCHED_POLICY_NODE,
		};
		struct gpusched_unpin unpin = { .target_type = GPUSCHED_TARGET_THREAD };
		int err = gpusched_pin_task(b->gs, &pin, m->target, m->size);

		if (err) {
			snprintf(why, why_size, "a pin of this thread to GPU %u failed: %s", gpu,
				 strerror(-err));
			return -1;
		}
		gpusched_unpin_task(b->gs, &unpin);
		m->target_node = b->gpu_node[gpu];
		return 0;
	}
	if (gpu < b->nr_gpus && b->gpu_node[gpu] >= 0)
		node = gs_topo_node_by_id(b->machine, b->gpu_node[gpu]);
	for (i = 0; !node && i < gs_topo_nr_nodes(b->machine); i++)
		if (!gs_node_is_memory_only(gs_topo_node(b->machine, i)))
			node = gs_topo_node(b->machine, i);
	if (!node) {
		snprintf(why, why_size, "no NUMA node with CPUs found");
		return -1;
	}
	gs_bitmap_for_each(cpu, &node->cpus)
		if ((size_t)cpu < m->size * 8)
			CPU_SET_S(cpu, m->size, m->target);
	m->target_node = node->id;
	return 0;
}

static int affinity_masks_init(struct bench *b, struct affinity_masks *m, char *why,
			       size_t why_size)
{
	unsigned int nr = b->nr_cpus > 8192 ? b->nr_cpus : 8192, cpu;
	struct gs_bitmap list = GS_BITMAP_INIT;

	m->size = CPU_ALLOC_SIZE(nr);
	m->original = CPU_ALLOC(nr);
	m->target = CPU_ALLOC(nr);
	m->one = CPU_ALLOC(nr);
	if (!m->original || !m->target || !m->one) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	CPU_ZERO_S(m->size, m->target);
	if (sched_getaffinity(0, m->size, m->original)) {
		snprintf(why, why_size, "sched_getaffinity: %s", strerror(errno));
		return -1;
	}
	if (target_cpus(b, m, why, why_size))
		return -1;
	m->inside = m->outside = -1;
	for (cpu = 0; cpu < m->size * 8; cpu++) {
		if (!CPU_ISSET_S(cpu, m->size, m->original))
			continue;
		if (CPU_ISSET_S(cpu, m->size, m->target)) {
			if (m->inside < 0)
				m->inside = cpu;
			if (gs_bitmap_set(&list, cpu)) {
				snprintf(why, why_size, "out of memory");
				return -1;
			}
		} else if (m->outside < 0) {
			m->outside = cpu;
		}
	}
	if (m->inside < 0) {
		snprintf(why, why_size, "this process may not run on any CPU of node %d",
			 m->target_node);
		gs_bitmap_free(&list);
		return -1;
	}
	m->target_list = cli_cpulist(&list);
	gs_bitmap_free(&list);
	return 0;
}

static void affinity_masks_free(struct affinity_masks *m)
{
	if (m->original)
		sched_setaffinity(0, m->size, m->original);
	CPU_FREE(m->original);
	CPU_FREE(m->target);
	CPU_FREE(m->one);
	free(m->target_list);
}

/* Moves the calling thread to @cpu and widens it again: it stays there, allowed everything. */
static int run_on(struct affinity_masks *m, int cpu)
{
	CPU_ZERO_S(m->size, m->one);
	CPU_SET_S(cpu, m->size, m->one);
	if (sched_setaffinity(0, m->size, m->one))
		return -1;
	return sched_setaffinity(0, m->size, m->original);
}

/*
 * With the calling thread on CPU @start but allowed its original CPUs (a
 * pin is confined to what the task was allowed when pinned, so it must
 * not start confined to @start), it is pinned and unpinned (which restores
 * the original CPUs without a move), then set to the same CPUs and back
 * with sched_setaffinity; the two alternate so both see the same
 * conditions.
 */
static void time_affinity(struct bench *b, struct affinity_masks *m, int start,
			  const char *condition)
{
	double *pin = samples_new(PIN_ITERATIONS), *unpin = samples_new(PIN_ITERATIONS);
	double *set = samples_new(PIN_ITERATIONS), *back = samples_new(PIN_ITERATIONS);
	bool module = b->gs && b->gpus_from_module;
	double t0, t1, t2, end = now_ns() + PIN_SECONDS * 1e9;
	unsigned int n;
	int err = 0;

	for (n = 0; n < PIN_ITERATIONS && now_ns() < end; n++) {
		if (run_on(m, start)) {
			err = -errno;
			break;
		}
		if (module) {
			struct gpusched_pin request = {
				.target_type = GPUSCHED_TARGET_THREAD,
				.gpu = b->gpu_list[0],
				.policy = GPUSCHED_POLICY_NODE,
			};
			struct gpusched_unpin release = { .target_type = GPUSCHED_TARGET_THREAD };

			t0 = now_ns();
			err = gpusched_pin_task(b->gs, &request, NULL, 0);
			t1 = now_ns();
			if (!err)
				err = gpusched_unpin_task(b->gs, &release);
			t2 = now_ns();
			if (err)
				break;
			pin[n] = t1 - t0;
			unpin[n] = t2 - t1;
			/* The pin moved it: back to the start for the same conditions. */
			if (run_on(m, start)) {
				err = -errno;
				break;
			}
		}
		t0 = now_ns();
		if (sched_setaffinity(0, m->size, m->target)) {
			err = -errno;
			break;
		}
		t1 = now_ns();
		if (sched_setaffinity(0, m->size, m->original)) {
			err = -errno;
			break;
		}
		t2 = now_ns();
		set[n] = t1 - t0;
		back[n] = t2 - t1;
	}
	if (module)
		bench_micro_add(b, "pin", "GPUSCHED_IOC_PIN of this thread, policy node", condition,
				pin, err ? 0 : n, err ? "failed: %s" : "CPUs %s", err ?
				strerror(-err) : m->target_list);
	else
		bench_micro_add(b, "pin", "GPUSCHED_IOC_PIN of this thread, policy node", condition,
				NULL, 0, "not measured: the module is not loaded");
	if (module)
		bench_micro_add(b, "pin", "GPUSCHED_IOC_UNPIN (restores the CPUs before)", condition,
				unpin, err ? 0 : n, NULL);
	bench_micro_add(b, "pin", "sched_setaffinity to the same CPUs", condition, set,
			err ? 0 : n, err ? "failed: %s" : "CPUs %s",
			err ? strerror(-err) : m->target_list);
	bench_micro_add(b, "pin", "sched_setaffinity back to the CPUs before", condition, back,
			err ? 0 : n, NULL);
	free(pin);
	free(unpin);
	free(set);
	free(back);
}

/*
 * What every call above pays before doing anything: an empty system call,
 * and an ioctl of the module that only reads (the file lookup, the
 * security hooks, the module's copies of the struct in and out).  A PIN's
 * own work is its time less the second; sched_setaffinity's is its time
 * less the first.  The two alternate, like the rows above.
 */
static void micro_floor(struct bench *b)
{
	double *empty = samples_new(PIN_ITERATIONS), *info = samples_new(PIN_ITERATIONS);
	bool module = b->gs != NULL;	/* GET_INFO needs no topology */
	double t0, t1, end = now_ns() + PIN_SECONDS * 1e9;
	struct gpusched_get_info answer;
	unsigned int n;
	int err = 0;

	for (n = 0; n < PIN_ITERATIONS && now_ns() < end; n++) {
		t0 = now_ns();
		getppid();
		t1 = now_ns();
		empty[n] = t1 - t0;
		if (!module)
			continue;
		t0 = now_ns();
		err = gpusched_get_info(b->gs, &answer);
		t1 = now_ns();
		if (err)
			break;
		info[n] = t1 - t0;
	}
	bench_micro_add(b, "pin", "getppid (an empty system call)", "", empty, n, NULL);
	bench_micro_add(b, "pin", "GPUSCHED_IOC_GET_INFO (the module's ioctl path alone)", "",
			info, module && !err ? n : 0,
			!module ? "not measured: the module is not loaded" : err ? "failed: %s" : NULL,
			strerror(-err));
	free(empty);
	free(info);
}

static void micro_pin(struct bench *b, struct affinity_masks *m, bool usable, const char *why)
{
	char condition[64];

	if (!usable) {
		bench_micro_add(b, "pin", "GPUSCHED_IOC_PIN and sched_setaffinity", "", NULL, 0,
				"not measured: %s", why);
		return;
	}
	snprintf(condition, sizeof(condition), "no CPU move (from CPU %d)", m->inside);
	time_affinity(b, m, m->inside, condition);
	if (m->outside < 0) {
		bench_micro_add(b, "pin", "GPUSCHED_IOC_PIN and sched_setaffinity", "CPU move",
				NULL, 0, "not measured: every CPU this process may use is in CPUs %s",
				m->target_list);
		return;
	}
	snprintf(condition, sizeof(condition), "CPU move (from CPU %d)", m->outside);
	time_affinity(b, m, m->outside, condition);
}

/* ---- Launching a process ---- */

static char *find_program(const char *name)
{
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *dir, *save = NULL, *candidate = NULL;

	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&candidate, "%s/%s", dir, name) < 0) {
			candidate = NULL;
			break;
		}
		if (!access(candidate, X_OK))
			break;
		free(candidate);
		candidate = NULL;
	}
	free(path);
	return candidate;
}

/* Runs @argv with its output discarded; the wait status, or -1. */
static int launch(char *const *argv)
{
	int status, null;
	pid_t pid = fork();

	if (pid == 0) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/*
 * One row of the launch group: a launcher's command and its samples, or
 * (@note set) why it is not measured.
 */
struct launcher {
	const char *name;
	const char *condition;
	/* exec --gpu G [--device PATH] [--match M]... -- true, and the NULL */
	char *argv[9 + 2 * CLI_MAX_MATCHES];
	double *samples;
	unsigned int n;
	int status;		/* nonzero: a launch failed, so timing it stopped */
	char note[128];
};

/* Adds @l as not measured, saying why. */
static void launcher_skip(struct launcher *l, const char *name, const char *why)
{
	l->name = name;
	l->condition = "";
	snprintf(l->note, sizeof(l->note), "not measured: %s", why);
}

/*
 * Times the launchers round by round, one launch of each per round, after
 * two warm-up rounds: the machine's speed drifts under an emulator, and a
 * launcher timed in a stretch of its own would take the drift alone.  Each
 * round starts one measured launcher further on, so that no launcher
 * always runs first, right after the bench's own work.  A launcher
 * whose program fails in warm-up gets no time; one that fails later keeps
 * the samples before.  Adds the rows in the launchers' order.
 */
static void time_launchers(struct bench *b, struct launcher *launchers, unsigned int nr)
{
	unsigned int i, k, round, measured = 0, active[LAUNCHERS], nr_active;
	double t0, end;

	for (i = 0; i < nr; i++) {
		if (!launchers[i].note[0]) {
			launchers[i].samples = samples_new(LAUNCHES);
			measured++;
		}
	}
	for (round = 0; round < 2; round++)
		for (i = 0; i < nr; i++)
			if (launchers[i].samples && !launchers[i].status)
				launchers[i].status = launch(launchers[i].argv);
	end = now_ns() + measured * LAUNCH_SECONDS * 1e9;
	for (round = 0; round < LAUNCHES && now_ns() < end; round++) {
		for (i = 0, nr_active = 0; i < nr && nr_active < LAUNCHERS; i++)
			if (launchers[i].samples && !launchers[i].status)
				active[nr_active++] = i;
		for (k = 0; k < nr_active; k++) {
			struct launcher *l = &launchers[active[(round + k) % nr_active]];

			t0 = now_ns();
			l->status = launch(l->argv);
			if (!l->status)
				l->samples[l->n++] = now_ns() - t0;
		}
	}
	for (i = 0; i < nr; i++) {
		struct launcher *l = &launchers[i];

		if (l->note[0])
			bench_micro_add(b, "launch", l->name, l->condition, NULL, 0, "%s", l->note);
		else if (!l->n)
			bench_micro_add(b, "launch", l->name, l->condition, NULL, 0,
					"not measured: `%s ...` exited with status %d", l->argv[0],
					WIFEXITED(l->status) ? WEXITSTATUS(l->status) : l->status);
		else
			bench_micro_add(b, "launch", l->name, l->condition, l->samples, l->n,
					"%s", l->argv[0]);
		free(l->samples);
	}
}

static void micro_launch(struct bench *b, const struct affinity_masks *m, bool usable)
{
	char *true_path = find_program("true"), *taskset = find_program("taskset");
	char *numactl = find_program("numactl");
	char self[4096], node[32], gpu[16];
	struct launcher launchers[LAUNCHERS], *l = launchers;
	unsigned int i, n;
	ssize_t len;

	memset(launchers, 0, sizeof(launchers));
	if (!true_path) {
		bench_micro_add(b, "launch", "every launcher", "", NULL, 0,
				"not measured: no `true` program in PATH");
		goto out;
	}
	l->name = "fork + exec of true";
	l->condition = "";
	l->argv[0] = true_path;
	l++;

	if (!usable) {
		launcher_skip(l++, "taskset and numactl", "no node's CPUs to bind to");
	} else {
		if (taskset) {
			l->name = "taskset -c CPUS true";
			l->condition = m->target_list;
			l->argv[0] = taskset;
			l->argv[1] = "-c";
			l->argv[2] = m->target_list;
			l->argv[3] = true_path;
		} else {
			launcher_skip(l, "taskset -c CPUS true", "taskset is not installed (util-linux)");
		}
		l++;
		if (numactl) {
			snprintf(node, sizeof(node), "--cpunodebind=%d", m->target_node);
			l->name = "numactl --cpunodebind=NODE true";
			l->condition = node + strlen("--cpunodebind=");
			l->argv[0] = numactl;
			l->argv[1] = node;
			l->argv[2] = true_path;
		} else {
			launcher_skip(l, "numactl --cpunodebind=NODE true", "numactl is not installed");
		}
		l++;
	}

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		launcher_skip(l++, "gpusched exec -- true", "/proc/self/exe is unreadable");
	} else {
		self[len] = '\0';
		snprintf(gpu, sizeof(gpu), "%u", b->gpu_list[0]);
		l->name = "gpusched exec --gpu G -- true";
		l->condition = b->gs ? "through the module" :
				       "module not loaded: sched_setaffinity fallback";
		n = 0;
		l->argv[n++] = self;
		l->argv[n++] = "exec";
		l->argv[n++] = "--gpu";
		l->argv[n++] = gpu;
		if (b->common.device) {
			l->argv[n++] = "--device";
			l->argv[n++] = (char *)b->common.device;
		}
		for (i = 0; i < b->common.nr_matches; i++) {
			l->argv[n++] = "--match";
			l->argv[n++] = (char *)b->common.matches[i];
		}
		l->argv[n++] = "--";
		l->argv[n++] = true_path;
		l++;
	}
	time_launchers(b, launchers, (unsigned int)(l - launchers));
out:
	free(true_path);
	free(taskset);
	free(numactl);
}

/* ---- The placement engine ---- */

static void time_placement(struct bench *b, const struct gs_topology *topo, unsigned int policy,
			   unsigned int gpu, const char *note)
{
	uint32_t words = gs_bitmap_words(topo->nr_cpus);
	struct gs_hold *holds = calloc(topo->nr_cpus, sizeof(*holds));
	uint32_t *storage = calloc(gs_workspace_words(topo->nr_cpus, topo->nr_nodes),
				   sizeof(*storage));
	unsigned long *allowed = calloc(words, sizeof(*allowed));
	unsigned long *worker_cpus = calloc(words, sizeof(*worker_cpus));
	double *samples = samples_new(PLACE_BATCHES), t0, end;
	struct gs_request request = {
		.gpu = gpu,
		.policy = policy,
		.nr_workers = 1,
		.reservation_id = 1,
	};
	struct gs_placement placement = { .max_workers = 1 };
	struct gs_reservations resv;
	struct gs_workspace ws;
	uint32_t worker_node, cpu;
	unsigned int n, i;
	int err = 0;

	if (!holds || !storage || !allowed || !worker_cpus) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	gs_reservations_init(&resv, holds, topo->nr_cpus);
	gs_workspace_init(&ws, storage, topo->nr_cpus, topo->nr_nodes);
	for (cpu = 0; cpu < topo->nr_cpus; cpu++)
		gs_bit_set(allowed, cpu);
	request.allowed_cpus = allowed;
	placement.worker_cpus = worker_cpus;
	placement.worker_node = &worker_node;

	end = now_ns() + PLACE_SECONDS * 1e9;
	for (n = 0; n < PLACE_BATCHES && !err && now_ns() < end; n++) {
		t0 = now_ns();
		for (i = 0; i < PLACE_BATCH && !err; i++) {
			if (policy == GS_POLICY_EXCLUSIVE) {
				err = gs_reserve(topo, &resv, &request, &ws, &placement);
				gs_release(&resv, 1, NULL);
			} else {
				err = gs_place(topo, &resv, &request, &ws, &placement);
			}
		}
		samples[n] = (now_ns() - t0) / PLACE_BATCH;
	}
	if (err)
		bench_micro_add(b, "placement", policy == GS_POLICY_EXCLUSIVE ?
				"gs_reserve + gs_release, one worker" : "gs_place, one worker",
				gs_policy_name(policy), NULL, 0, "no placement: %s",
				gs_reason_name(placement.error.reason));
	else
		bench_micro_add(b, "placement", policy == GS_POLICY_EXCLUSIVE ?
				"gs_reserve + gs_release, one worker" : "gs_place, one worker",
				gs_policy_name(policy), samples, n, "%s", note);
	free(samples);
	free(holds);
	free(storage);
	free(allowed);
	free(worker_cpus);
}

static void micro_placement(struct bench *b)
{
	static const unsigned int policies[] = {
		GS_POLICY_NODE, GS_POLICY_SOCKET, GS_POLICY_EXCLUSIVE, GS_POLICY_L3,
		GS_POLICY_SINGLE,
	};
	char message[GS_SNAPSHOT_MESSAGE_SIZE], note[160];
	struct gs_bitmap housekeeping = GS_BITMAP_INIT;
	struct gs_snapshot snapshot;
	struct gs_gpu *gpus = NULL;
	struct gs_topology topo;
	unsigned int i, gpu = b->gpu_list[0];
	int err;

	err = gs_default_housekeeping(b->machine, &housekeeping);
	if (!err)
		err = gs_snapshot_build(b->machine, &housekeeping, &snapshot, message);
	gs_bitmap_free(&housekeeping);
	if (err) {
		bench_micro_add(b, "placement", "gs_place", "", NULL, 0,
				"not measured: no snapshot of this machine: %s",
				err == -ENOMEM ? "out of memory" : message);
		return;
	}
	/* The GPUs bench pins for: the module's, else discovery's, else one on the first node. */
	topo = snapshot.topo;
	snprintf(note, sizeof(note), "%u CPUs, %u nodes, GPUs of %s", topo.nr_cpus,
		 topo.nr_nodes, b->gpus_from_module ? "the module" : "discovery");
	if (b->nr_gpus) {
		gpus = calloc(b->nr_gpus, sizeof(*gpus));
		for (i = 0; gpus && i < b->nr_gpus; i++) {
			gpus[i].cpu_node = b->gpu_node[i] >= 0 ? b->gpu_node[i] : 0;
			gpus[i].mem_node = gpus[i].cpu_node;
		}
		topo.nr_gpus = b->nr_gpus;
	} else {
		gpus = calloc(1, sizeof(*gpus));
		for (i = 0; gpus && i < topo.nr_cpus; i++)
			if (topo.cpus[i].flags & GS_CPU_ONLINE) {
				gpus->cpu_node = gpus->mem_node = topo.cpus[i].node;
				break;
			}
		topo.nr_gpus = 1;
		gpu = 0;
		snprintf(note, sizeof(note),
			 "%u CPUs, %u nodes; no GPU found, timed for one assumed on node %u",
			 topo.nr_cpus, topo.nr_nodes, gpus ? gpus->cpu_node : 0);
	}
	if (!gpus) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	topo.gpus = gpus;
	for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		time_placement(b, &topo, policies[i], gpu, note);
	free(gpus);
	gs_snapshot_free(&snapshot);
}

/*
 * A whole job on a machine the size of a 72-GPU rack node (18 nodes of 64
 * cores, 2304 CPUs): one gs_reserve() per GPU, timed as one sample, then
 * gs_release() of all 72 reservations, timed apart.  It measures the engine,
 * which the module runs under its lock on every pin, at a size no test
 * machine has; the machine is the one bench_placement (make bench) uses.
 */
static void micro_engine_job(struct bench *b, uint32_t policy)
{
	struct gs_synthetic *m = gs_synthetic_new(18, 1, 64, JOB_GPUS, JOB_WORKERS);
	double *placing = samples_new(JOB_SAMPLES), *releasing = samples_new(JOB_SAMPLES);
	const char *name = "placement job: gs_reserve for each of 72 GPUs x 16 workers";
	char condition[64];
	double t0, end;
	unsigned int n;
	int err = 0;

	if (!m) {
		cli_error("out of memory");
		exit(EXIT_FAILURE_RUNTIME);
	}
	snprintf(condition, sizeof(condition), "%s, 2304 CPUs, 18 nodes (synthetic)",
		 gs_policy_name(policy));
	end = now_ns() + JOB_SECONDS * 1e9;
	for (n = 0; n < JOB_SAMPLES && !err && now_ns() < end; n++) {
		t0 = now_ns();
		err = gs_synthetic_job(m, policy, JOB_WORKERS);
		placing[n] = now_ns() - t0;
		t0 = now_ns();
		gs_synthetic_release(m);
		releasing[n] = now_ns() - t0;
	}
	if (err) {
		bench_micro_add(b, "placement", name, condition, NULL, 0, "no placement: %s",
				gs_reason_name(m->out.error.reason));
	} else {
		bench_micro_add(b, "placement", name, condition, placing, n,
				"the engine alone, in this process");
		if (policy == GS_POLICY_EXCLUSIVE)
			bench_micro_add(b, "placement", "gs_release of that job's 72 reservations",
					condition, releasing, n, "the engine alone, in this process");
	}
	free(placing);
	free(releasing);
	gs_synthetic_free(m);
}

/* Two pipes between the timing thread and its peer, which echoes each byte; 0 stops it. */
struct pingpong {
	int to_peer[2];
	int to_timer[2];
};

static void *pingpong_peer(void *arg)
{
	struct pingpong *pp = arg;
	char byte;

	while (read(pp->to_peer[0], &byte, 1) == 1 && byte) {
		if (write(pp->to_timer[1], &byte, 1) != 1)
			break;
	}
	return NULL;
}

/*
 * Times round trips of one byte between this thread and a peer thread, both
 * on this thread's first allowed CPU so that a round trip is exactly two
 * context switches (on two CPUs it would time cross-CPU wakeups instead):
 * up to @max samples of ns per round trip, for at most @seconds, appended
 * at samples[*n].  This thread's CPUs are restored.  Returns 0 or a
 * negative errno.
 */
static int time_pingpong(double *samples, unsigned int max, double seconds, unsigned int *n)
{
	cpu_set_t before, one;
	struct pingpong pp;
	char byte = 1, stop = 0;
	pthread_t peer;
	double t0, end;
	unsigned int i;
	int cpu, err = 0;

	if (sched_getaffinity(0, sizeof(before), &before))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &before); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu % CPU_SETSIZE, &one);
	/* The peer inherits the one CPU when it is created. */
	if (sched_setaffinity(0, sizeof(one), &one))
		return -errno;
	if (pipe(pp.to_peer)) {
		err = -errno;
		goto out_affinity;
	}
	if (pipe(pp.to_timer)) {
		err = -errno;
		goto out_to_peer;
	}
	err = -pthread_create(&peer, NULL, pingpong_peer, &pp);
	if (err)
		goto out_to_timer;
	end = now_ns() + seconds * 1e9;
	for (; *n < max && !err && now_ns() < end; (*n)++) {
		t0 = now_ns();
		for (i = 0; i < PINGPONG_BATCH && !err; i++) {
			if (write(pp.to_peer[1], &byte, 1) != 1 || read(pp.to_timer[0], &byte, 1) != 1)
				err = -EIO;
		}
		samples[*n] = (now_ns() - t0) / PINGPONG_BATCH;
	}
	if (write(pp.to_peer[1], &stop, 1) != 1)
		close(pp.to_peer[1]);	/* the peer's read then ends */
	pthread_join(peer, NULL);
out_to_timer:
	close(pp.to_timer[0]);
	close(pp.to_timer[1]);
out_to_peer:
	close(pp.to_peer[0]);
	close(pp.to_peer[1]);
out_affinity:
	sched_setaffinity(0, sizeof(before), &before);
	return err;
}

/*
 * What the scheduler monitor costs the scheduler: a pipe ping-pong between
 * two threads of this process without it and with it attached and watching
 * them.  Without @latency no program runs at their switches (they never
 * migrate); with it, every switch of both goes through the histograms'
 * program.  The two are timed in alternating rounds, detaching and
 * attaching the monitor's programs between them, so that a drift of the
 * machine's speed during the run lands on both alike.
 */
static void micro_monitor(struct bench *b, bool latency)
{
	const char *name = "pipe ping-pong of two threads on one CPU, one round trip";
	const char *off_row = latency ? "no scheduler monitor, rounds of the next row" :
			      "no scheduler monitor";
	const char *on_row = latency ? "the monitor with --latency watching both" :
			     "the monitor watching both";
	const unsigned int per_round = PINGPONG_SAMPLES / PINGPONG_ROUNDS;
	const double round_seconds = PINGPONG_SECONDS / PINGPONG_ROUNDS;
	const struct timespec settle = { 0, PINGPONG_SETTLE_MS * 1000000L };
	struct gs_sched_monitor_opts opts = {
		.filter = GS_MONITOR_PIDS,
		.cpu_node = b->cpu_node,
		.nr_cpus = b->nr_cpus,
		.latency = latency,
	};
	double *off = samples_new(PINGPONG_SAMPLES), *on = samples_new(PINGPONG_SAMPLES);
	double ratio[PINGPONG_ROUNDS] = { 0 };
	double median_off, median_on, p10, p90, median_ratio;
	unsigned int n_off = 0, n_on = 0, round, nr_ratios = 0, off_from, on_from;
	struct gs_sched_monitor *monitor = NULL;
	size_t per_thread, max_threads;
	char message[256] = "";
	int err = -EOPNOTSUPP;

	if (b->nr_cpus > GS_MONITOR_MAX_CPUS)
		snprintf(message, sizeof(message), "the machine has %u CPUs, the monitor maps at most %d",
			 b->nr_cpus, GS_MONITOR_MAX_CPUS);
	else
		err = gs_sched_monitor_open(&opts, &monitor, message);
	if (!err)
		err = gs_sched_monitor_watch_pid(monitor, getpid());
	if (err) {
		/* Without the monitor, the baseline alone. */
		gs_sched_monitor_close(monitor);
		monitor = NULL;
		err = time_pingpong(off, PINGPONG_SAMPLES, PINGPONG_SECONDS, &n_off);
		if (err)
			bench_micro_add(b, "monitor", name, off_row, NULL, 0,
					"not measured: %s", strerror(-err));
		else
			bench_micro_add(b, "monitor", name, off_row, off, n_off, NULL);
		bench_micro_add(b, "monitor", name, on_row, NULL, 0,
				"not measured: %s", message[0] ? message : strerror(EOPNOTSUPP));
		goto out;
	}
	/*
	 * Detaching and attaching leave the kernel RCU callbacks to run, in
	 * threads on PREEMPT_RT: a round timed at once could pay for them
	 * (+74% one run, -30% the next in an RT guest).  Each waits first.
	 */
	for (round = 0; round < PINGPONG_ROUNDS && !err; round++) {
		off_from = n_off;
		on_from = n_on;
		err = gs_sched_monitor_attach(monitor, false, message);
		if (!err) {
			nanosleep(&settle, NULL);
			err = time_pingpong(off, n_off + per_round, round_seconds, &n_off);
		}
		if (!err)
			err = gs_sched_monitor_attach(monitor, true, message);
		if (!err) {
			nanosleep(&settle, NULL);
			err = time_pingpong(on, n_on + per_round, round_seconds, &n_on);
		}
		/* The round's own ratio: a round the emulator slowed on one side moves only it. */
		if (!err && n_off > off_from && n_on > on_from) {
			bench_percentiles(off + off_from, n_off - off_from, &median_off, &p10, &p90);
			bench_percentiles(on + on_from, n_on - on_from, &median_on, &p10, &p90);
			ratio[nr_ratios++] = median_on / median_off;
		}
	}
	if (err) {
		bench_micro_add(b, "monitor", name, off_row, NULL, 0,
				"not measured: %s", message[0] ? message : strerror(-err));
		bench_micro_add(b, "monitor", name, on_row, NULL, 0,
				"not measured: %s", message[0] ? message : strerror(-err));
		goto out;
	}
	bench_micro_add(b, "monitor", name, off_row, off, n_off,
			"%u rounds alternating with the next row", PINGPONG_ROUNDS);
	gs_sched_monitor_memory(monitor, &per_thread, &max_threads);
	/* Sorted in place: ratio[0] and ratio[nr_ratios - 1] are the extremes. */
	bench_percentiles(ratio, nr_ratios, &median_ratio, &p10, &p90);
	bench_micro_add(b, "monitor", name, on_row, on, n_on,
			"%+.1f%% against no monitor, the median of %u rounds' own (%+.1f%% to %+.1f%%%s); %zu bytes of counters per thread, in a map the kernel allocates for %zu threads at load",
			(median_ratio - 1) * 100, nr_ratios, (ratio[0] - 1) * 100,
			(ratio[nr_ratios ? nr_ratios - 1 : 0] - 1) * 100,
			latency ? "" : "; goal: under 5%", per_thread, max_threads);
out:
	gs_sched_monitor_close(monitor);
	free(off);
	free(on);
}

/* The pid of the first process named gpuschedd, or 0. */
static int find_daemon(void)
{
	DIR *proc = opendir("/proc");
	char path[64], comm[32];
	struct dirent *entry;
	int pid = 0;
	FILE *f;

	while (proc && !pid && (entry = readdir(proc))) {
		if (!cli_is_pid(entry->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", atoi(entry->d_name));
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && strcmp(comm, "gpuschedd\n") == 0)
			pid = atoi(entry->d_name);
		fclose(f);
	}
	if (proc)
		closedir(proc);
	return pid;
}

/*
 * CPU time of every thread of @pid in ns, summed from the first field of
 * /proc/PID/task/TID/schedstat; < 0 if the process is gone or the kernel
 * lacks the file (CONFIG_SCHED_INFO).
 */
static double daemon_cpu_ns(int pid)
{
	char path[96];
	unsigned long long ns;
	struct dirent *entry;
	double total = 0;
	bool seen = false;
	DIR *tasks;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return -1;
	while ((entry = readdir(tasks))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid,
			 atoi(entry->d_name));
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1) {
			total += (double)ns;
			seen = true;
		}
		fclose(f);
	}
	closedir(tasks);
	return seen ? total : -1;
}

void bench_daemon_start(struct bench *b)
{
	b->daemon_pid = find_daemon();
	b->daemon_since_ns = now_ns();
	b->daemon_cpu_ns = b->daemon_pid ? daemon_cpu_ns(b->daemon_pid) : -1;
}

/* Sleeps until @seconds have passed since gpuschedd's CPU time was first read. */
static void daemon_wait(const struct bench *b, unsigned int seconds)
{
	double left = b->daemon_since_ns + seconds * 1e9 - now_ns();
	struct timespec ts;

	if (left <= 0)
		return;
	if (isatty(STDERR_FILENO) || b->common.verbose)
		fprintf(stderr, "gpusched bench: %.0f s more of gpuschedd idle (--daemon-seconds %u)\n",
			ceil(left / 1e9), seconds);
	ts.tv_sec = (time_t)(left / 1e9);
	ts.tv_nsec = (long)(left - ts.tv_sec * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void bench_daemon_finish(struct bench *b)
{
	const char *name = "gpuschedd CPU time per second of bench";
	double seconds, cpu = -1, per_second;
	char condition[64];

	if (b->daemon_pid && b->daemon_seconds)
		daemon_wait(b, b->daemon_seconds);
	seconds = (now_ns() - b->daemon_since_ns) / 1e9;
	snprintf(condition, sizeof(condition), "idle, over %.1f s", seconds);
	if (!b->daemon_pid) {
		bench_micro_add(b, "daemon", name, condition, NULL, 0,
				"not measured: no process named gpuschedd");
		return;
	}
	if (b->daemon_cpu_ns >= 0)
		cpu = daemon_cpu_ns(b->daemon_pid);
	if (cpu < 0) {
		bench_micro_add(b, "daemon", name, condition, NULL, 0,
				"not measured: /proc/%d/task/*/schedstat unreadable or pid gone",
				b->daemon_pid);
		return;
	}
	per_second = (cpu - b->daemon_cpu_ns) / seconds;
	bench_micro_add(b, "daemon", name, condition, &per_second, 1,
			"pid %d; %.4f%% of a core (goal: under 0.1%%)", b->daemon_pid,
			per_second / 1e7);
}

void bench_run_micro(struct bench *b)
{
	struct affinity_masks masks = { 0 };
	bool progress = isatty(STDERR_FILENO) || b->common.verbose;
	char why[256] = "";
	uint32_t policy;
	bool usable;

	if (progress)
		fprintf(stderr, "gpusched: bench: micro-benchmarks\n");
	usable = affinity_masks_init(b, &masks, why, sizeof(why)) == 0;
	micro_pin(b, &masks, usable, why);
	micro_floor(b);
	affinity_masks_free(&masks);
	masks = (struct affinity_masks){ 0 };
	/* Launch from the CPUs this process had, whatever the timing above left. */
	usable = affinity_masks_init(b, &masks, why, sizeof(why)) == 0;
	micro_launch(b, &masks, usable);
	affinity_masks_free(&masks);
	micro_placement(b);
	for (policy = GS_POLICY_NODE; policy <= GS_POLICY_SINGLE; policy++)
		micro_engine_job(b, policy);
	micro_monitor(b, false);
	micro_monitor(b, true);
	bench_micro_memory(b);
}
