// SPDX-License-Identifier: GPL-2.0
/*
 * The loader of the scheduler monitor (sched_monitor.h): opens the BPF
 * skeleton built from sched_monitor.bpf.c, sets what to watch and the
 * CPU-to-node map in its read-only data, loads and attaches it, and turns
 * the per-thread records of its "tasks" map into struct gs_task_stats.
 * Before libbpf is asked anything, the two usual reasons a load fails are
 * checked so that the user reads them in words: a kernel without BTF and a
 * caller without the capabilities.  libbpf's own messages are printed only
 * when GPUSCHED_BPF_DEBUG is set.  The gpusched CLI loads libbpf only here
 * (libbpf_dl.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libbpf_dl.h"
#include "sched_monitor.h"
#include "sched_monitor_record.h"
#include "sched_monitor.skel.h"

_Static_assert(GS_RECORD_NODES == GS_MONITOR_MAX_NODES, "run_ns[] sizes differ");
_Static_assert(GS_RECORD_LATENCY_SLOTS == GS_MONITOR_LATENCY_SLOTS, "latency[] sizes differ");
_Static_assert(GS_RECORD_CPUS == GS_MONITOR_MAX_CPUS, "CPU map sizes differ");
_Static_assert(GS_RECORD_FILTER_PIDS == GS_MONITOR_PIDS &&
	       GS_RECORD_FILTER_CGROUP == GS_MONITOR_CGROUP &&
	       GS_RECORD_FILTER_ALL == GS_MONITOR_ALL, "filter numbers differ");

#define KERNEL_BTF	"/sys/kernel/btf/vmlinux"
#define MESSAGE_SIZE	256
/*
 * How often the catch-up sampler looks at each CPU's current thread: a
 * thread running since before it was watched is seen within 1/CATCH_UP_HZ s.
 */
#define CATCH_UP_HZ	20
/* Descriptors the monitor needs besides the samplers' (maps, programs, links). */
#define SPARE_FILES	64

/* Capabilities that may be missing from an older <linux/capability.h>. */
#ifndef CAP_PERFMON
#define CAP_PERFMON	38
#endif
#ifndef CAP_BPF
#define CAP_BPF		39
#endif

struct gs_sched_monitor {
	struct sched_monitor_bpf *skel;
	enum gs_monitor_filter filter;
	unsigned int nr_cpus;
	int *cpu_node;		/* the loader's copy, for the slice still running */
	struct bpf_link **samplers;	/* catch_up on each CPU; NULL where offline */
	int nr_samplers;
};

static int print_libbpf(enum libbpf_print_level level, const char *format, va_list args)
{
	(void)level;
	return vfprintf(stderr, format, args);
}

static int say(char *message, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, MESSAGE_SIZE, fmt, ap);
	va_end(ap);
	return err;
}

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: the two can be subtracted. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

/* Loading tracing programs needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN. */
static bool has_bpf_privilege(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

#define HAS_CAP(cap)	(data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap))
	if (syscall(SYS_capget, &header, data))
		return true;	/* cannot tell: let the kernel decide */
	return HAS_CAP(CAP_SYS_ADMIN) || (HAS_CAP(CAP_BPF) && HAS_CAP(CAP_PERFMON));
#undef HAS_CAP
}

/* The kernfs id BPF reads from task->cgroups->dfl_cgrp->kn->id: the directory's inode. */
static int cgroup_id_of(const char *path, uint64_t *id, char *message)
{
	struct statfs fs;
	struct stat st;

	if (stat(path, &st) || statfs(path, &fs))
		return say(message, -errno, "%s: %s", path, strerror(errno));
	if (fs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode))
		return say(message, -EINVAL,
			   "%s: not a cgroup v2 directory (expected one below /sys/fs/cgroup)",
			   path);
	*id = st.st_ino;
	return 0;
}

/*
 * Raises the soft limit on open files, within the hard one, to leave the
 * samplers @needed descriptors above the usual 1024: a sampler takes two
 * (its perf event and its link) on every CPU, past 1024 on a machine of
 * 500 CPUs.
 */
static int room_for_files(unsigned long needed, char *message)
{
	unsigned long want = needed + 1024;
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit))
		return say(message, -errno, "reading RLIMIT_NOFILE: %s", strerror(errno));
	if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= want)
		return 0;
	if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < want) {
		if (limit.rlim_max < needed + SPARE_FILES)
			return say(message, -EMFILE,
				   "the monitor needs %lu open files (two per CPU), but RLIMIT_NOFILE allows at most %lu: raise it (ulimit -Hn, LimitNOFILE=)",
				   needed + SPARE_FILES, (unsigned long)limit.rlim_max);
		want = limit.rlim_max;
	}
	limit.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &limit))
		return say(message, -errno, "raising RLIMIT_NOFILE to %lu: %s", want, strerror(errno));
	return 0;
}

/*
 * Attaches the catch-up program to a CPU-clock event on every CPU that is
 * online now.  A CPU that comes online later gets none: a thread can only
 * be running there after a switch-in, which the tracepoints see.
 */
static int attach_samplers(struct gs_sched_monitor *mon, char *message)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ULL / CATCH_UP_HZ,	/* ns of the CPU clock */
	};
	int nr_cpus = libbpf_num_possible_cpus(), cpu, fd, err, online = 0;

	if (nr_cpus < 0)
		return say(message, nr_cpus, "counting the possible CPUs: %s", strerror(-nr_cpus));
	err = room_for_files(2 * nr_cpus, message);
	if (err)
		return err;
	if (!mon->samplers) {
		mon->samplers = calloc(nr_cpus, sizeof(*mon->samplers));
		if (!mon->samplers)
			return say(message, -ENOMEM, "out of memory");
		mon->nr_samplers = nr_cpus;
	}
	for (cpu = 0; cpu < mon->nr_samplers; cpu++) {
		fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0 && errno == ENODEV)
			continue;	/* offline */
		if (fd < 0)
			return say(message, -errno,
				   "opening a CPU-clock perf event on CPU %d: %s (kernel.perf_event_paranoid, CAP_PERFMON)",
				   cpu, strerror(errno));
		mon->samplers[cpu] = bpf_program__attach_perf_event(mon->skel->progs.catch_up, fd);
		if (!mon->samplers[cpu]) {
			err = -errno;
			close(fd);
			return say(message, err, "attaching the catch-up program to CPU %d: %s",
				   cpu, strerror(-err));
		}
		online++;
	}
	return online ? 0 : say(message, -ENODEV, "no online CPU took a perf event");
}

static void detach_all(struct gs_sched_monitor *mon)
{
	int cpu;

	for (cpu = 0; cpu < mon->nr_samplers; cpu++) {
		bpf_link__destroy(mon->samplers[cpu]);
		mon->samplers[cpu] = NULL;
	}
	sched_monitor_bpf__detach(mon->skel);
}

/*
 * Empties every CPU's "running" slot: one left from before a detach could
 * name a thread that has since stopped, or date its slice from before.
 */
static int clear_running(struct gs_sched_monitor *mon, char *message)
{
	int nr_cpus = libbpf_num_possible_cpus(), err = 0;
	struct gs_running *slots;
	__u32 zero = 0;

	if (nr_cpus <= 0)
		return say(message, nr_cpus ? nr_cpus : -EINVAL, "cannot count the possible CPUs");
	slots = calloc(nr_cpus, sizeof(*slots));
	if (!slots)
		return say(message, -ENOMEM, "out of memory");
	if (bpf_map_update_elem(bpf_map__fd(mon->skel->maps.running), &zero, slots, BPF_ANY))
		err = say(message, -errno, "clearing the monitor's running slots: %s",
			  strerror(errno));
	free(slots);
	return err;
}

/* Attaches the tracepoint programs and the samplers; on failure, none. */
static int attach_all(struct gs_sched_monitor *mon, char *message)
{
	int err = clear_running(mon, message);

	if (err)
		return err;
	err = sched_monitor_bpf__attach(mon->skel);
	if (err) {
		char reason[128];

		libbpf_strerror(err, reason, sizeof(reason));
		return say(message, err,
			   "attaching to the scheduler tracepoints: %s (set GPUSCHED_BPF_DEBUG=1 for libbpf's log)",
			   reason);
	}
	err = attach_samplers(mon, message);
	if (err)
		detach_all(mon);
	return err;
}

int gs_sched_monitor_open(const struct gs_sched_monitor_opts *opts,
			  struct gs_sched_monitor **monitor, char *message)
{
	struct gs_sched_monitor *mon;
	uint64_t cgroup_id = 0;
	const char *debug;
	unsigned int cpu;
	int err;

	*monitor = NULL;
	message[0] = '\0';
	if (!opts || opts->filter > GS_MONITOR_ALL)
		return say(message, -EINVAL, "no or an unknown filter to watch with");
	if (opts->nr_cpus > GS_MONITOR_MAX_CPUS || (opts->nr_cpus && !opts->cpu_node))
		return say(message, -EINVAL, "%u CPUs in the CPU-to-node map; at most %d",
			   opts->nr_cpus, GS_MONITOR_MAX_CPUS);
	if (opts->filter == GS_MONITOR_CGROUP) {
		if (!opts->cgroup_path)
			return say(message, -EINVAL, "a cgroup filter needs a cgroup v2 directory");
		err = cgroup_id_of(opts->cgroup_path, &cgroup_id, message);
		if (err)
			return err;
	}
	if (access(KERNEL_BTF, R_OK))
		return say(message, -ENOENT,
			   "%s: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF); gpusched monitor needs it",
			   KERNEL_BTF);
	if (!has_bpf_privilege())
		return say(message, -EPERM, "loading BPF programs needs root or CAP_BPF+CAP_PERFMON");

	err = gs_libbpf_load(message, MESSAGE_SIZE);
	if (err)
		return err;
	debug = getenv("GPUSCHED_BPF_DEBUG");
	libbpf_set_print(debug && *debug ? print_libbpf : NULL);

	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return say(message, -ENOMEM, "out of memory");
	mon->filter = opts->filter;
	mon->nr_cpus = opts->nr_cpus;
	mon->cpu_node = calloc(opts->nr_cpus ? opts->nr_cpus : 1, sizeof(*mon->cpu_node));
	if (!mon->cpu_node) {
		err = say(message, -ENOMEM, "out of memory");
		goto fail;
	}
	if (opts->nr_cpus)
		memcpy(mon->cpu_node, opts->cpu_node, opts->nr_cpus * sizeof(*mon->cpu_node));

	mon->skel = sched_monitor_bpf__open();
	if (!mon->skel) {
		err = -errno;
		say(message, err, "opening the BPF object: %s", strerror(errno));
		goto fail;
	}
	mon->skel->rodata->filter = opts->filter;
	mon->skel->rodata->cgroup_id = cgroup_id;
	for (cpu = 0; cpu < GS_MONITOR_MAX_CPUS; cpu++)
		mon->skel->rodata->cpu_node[cpu] = cpu < opts->nr_cpus ? opts->cpu_node[cpu] : -1;

	err = sched_monitor_bpf__load(mon->skel);
	if (err) {
		char reason[128];

		libbpf_strerror(err, reason, sizeof(reason));
		if (err == -EPERM)
			say(message, err, "loading the BPF programs: %s; needs root or CAP_BPF+CAP_PERFMON",
			    reason);
		else
			say(message, err,
			    "loading the BPF programs: %s (set GPUSCHED_BPF_DEBUG=1 for libbpf's log)",
			    reason);
		goto fail;
	}
	err = attach_all(mon, message);
	if (err)
		goto fail;
	*monitor = mon;
	return 0;

fail:
	gs_sched_monitor_close(mon);
	return err;
}

int gs_sched_monitor_watch_pid(struct gs_sched_monitor *monitor, pid_t pid)
{
	__u32 tgid = pid;
	__u8 yes = 1;

	if (!monitor || monitor->filter != GS_MONITOR_PIDS || pid <= 0)
		return -EINVAL;
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	if (bpf_map_update_elem(bpf_map__fd(monitor->skel->maps.watched_tgids), &tgid, &yes,
				BPF_ANY))
		return -errno;
	return 0;
}

static int compare_stats(const void *a, const void *b)
{
	const struct gs_task_stats *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* libbpf's per-CPU values are 8-byte aligned: a slot must be a multiple of that. */
_Static_assert(sizeof(struct gs_running) % 8 == 0, "struct gs_running is not 8-byte sized");

/* A thread running now, from the "running" slots: on @cpu since @since. */
struct running_now {
	__u32 tid;
	__u32 pid;
	__u64 since;
	unsigned int cpu;
};

static int compare_running(const void *a, const void *b)
{
	const struct running_now *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/*
 * The threads running on the CPUs now, by thread id, malloc'ed.  The map
 * gives one slot per possible CPU, in order: slot i is CPU i where the
 * possible CPUs are numbered without gaps, as on every machine seen.
 */
static int read_running(struct gs_sched_monitor *monitor, struct running_now **running,
			size_t *nr)
{
	int fd = bpf_map__fd(monitor->skel->maps.running), nr_cpus = libbpf_num_possible_cpus();
	struct gs_running *slots;
	struct running_now *out;
	__u32 zero = 0;
	size_t n = 0;
	int cpu, err = 0;

	*running = NULL;
	*nr = 0;
	if (nr_cpus <= 0)
		return nr_cpus ? nr_cpus : -EINVAL;
	slots = calloc(nr_cpus, sizeof(*slots));
	out = calloc(nr_cpus, sizeof(*out));
	if (!slots || !out) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(fd, &zero, slots)) {
		err = -errno;
		goto out;
	}
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		if (!slots[cpu].tid)
			continue;
		out[n].tid = slots[cpu].tid;
		out[n].pid = slots[cpu].pid;
		out[n].since = slots[cpu].since;
		out[n].cpu = cpu;
		n++;
	}
	qsort(out, n, sizeof(*out), compare_running);
	*running = out;
	*nr = n;
	out = NULL;
out:
	free(slots);
	free(out);
	return err;
}

/* Where thread @tid of process @pid runs now, or NULL. */
static const struct running_now *running_of(const struct running_now *running, size_t nr,
					    __u32 tid, __u32 pid)
{
	const struct running_now key = { .tid = tid }, *found;

	found = nr ? bsearch(&key, running, nr, sizeof(*running), compare_running) : NULL;
	return found && found->pid == pid ? found : NULL;
}

/* Every thread id in the tasks map, malloc'ed. */
static int record_keys(struct gs_sched_monitor *monitor, __u32 **keys, size_t *nr)
{
	int fd = bpf_map__fd(monitor->skel->maps.tasks);
	size_t room = 256;
	__u32 key, next;
	bool first = true;

	*nr = 0;
	*keys = malloc(room * sizeof(**keys));
	if (!*keys)
		return -ENOMEM;
	/* Only reset deletes keys, from this thread, so the walk cannot restart. */
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		if (*nr == room) {
			__u32 *more = realloc(*keys, 2 * room * sizeof(*more));

			if (!more) {
				free(*keys);
				*keys = NULL;
				return -ENOMEM;
			}
			*keys = more;
			room *= 2;
		}
		(*keys)[(*nr)++] = next;
		key = next;
		first = false;
	}
	return 0;
}

int gs_sched_monitor_read(struct gs_sched_monitor *monitor, struct gs_task_stats **stats,
			  size_t *nr)
{
	int fd = bpf_map__fd(monitor->skel->maps.tasks);
	size_t nr_keys, nr_running, i, n = 0;
	struct running_now *running;
	uint64_t now, epoch_start;
	struct gs_task_stats *out;
	__u32 *keys, epoch;
	int err;

	*stats = NULL;
	*nr = 0;
	err = record_keys(monitor, &keys, &nr_keys);
	if (err)
		return err;
	err = read_running(monitor, &running, &nr_running);
	if (err) {
		free(keys);
		return err;
	}
	out = calloc(nr_keys ? nr_keys : 1, sizeof(*out));
	if (!out) {
		free(running);
		free(keys);
		return -ENOMEM;
	}
	epoch = __atomic_load_n(&monitor->skel->bss->epoch, __ATOMIC_ACQUIRE);
	epoch_start = monitor->skel->bss->epoch_start_ns;
	now = monotonic_ns();
	for (i = 0; i < nr_keys; i++) {
		struct gs_task_stats *s = &out[n];
		const struct running_now *run;
		struct gs_task_record record;
		bool current;

		if (bpf_map_lookup_elem(fd, &keys[i], &record))
			continue;
		current = record.epoch == epoch;
		run = running_of(running, nr_running, keys[i], record.pid);
		/* Nothing happened to it since the reset, and it is not running. */
		if (!current && !run)
			continue;
		memset(s, 0, sizeof(*s));
		s->tid = keys[i];
		s->pid = record.pid;
		memcpy(s->comm, record.comm, sizeof(s->comm));
		s->comm[sizeof(s->comm) - 1] = '\0';
		s->last_cpu = run ? (int)run->cpu : record.last_cpu;
		if (current) {
			s->migrations = record.migrations;
			s->cross_node_migrations = record.cross_node_migrations;
			s->nr_waits = record.nr_waits;
			memcpy(s->run_ns, record.run_ns, sizeof(s->run_ns));
			memcpy(s->latency, record.latency, sizeof(s->latency));
		}
		/*
		 * The slice it is running now is counted by BPF only at
		 * switch-out: unless that came after the slots were read.
		 */
		if (run && run->since > record.last_out) {
			uint64_t start = run->since > epoch_start ? run->since : epoch_start;
			int node = run->cpu < monitor->nr_cpus ? monitor->cpu_node[run->cpu] : -1;

			if (node < 0)
				node = 0;
			if (node >= GS_MONITOR_MAX_NODES)
				node = GS_MONITOR_MAX_NODES - 1;
			if (now > start)
				s->run_ns[node] += now - start;
		}
		n++;
	}
	free(running);
	free(keys);
	qsort(out, n, sizeof(*out), compare_stats);
	*stats = out;
	*nr = n;
	return 0;
}

int gs_sched_monitor_reset(struct gs_sched_monitor *monitor)
{
	int fd = bpf_map__fd(monitor->skel->maps.tasks);
	size_t nr_keys, nr_running, i;
	struct running_now *running;
	__u32 *keys;
	int err;

	/*
	 * The programs zero a record's counters when they next touch it; the
	 * slice running now counts from epoch_start_ns on.  The start is
	 * published before the epoch that makes programs use it.
	 */
	monitor->skel->bss->epoch_start_ns = monotonic_ns();
	__atomic_store_n(&monitor->skel->bss->epoch, monitor->skel->bss->epoch + 1,
			 __ATOMIC_RELEASE);

	/* Threads not running now are forgotten: exited ones would fill the map. */
	err = record_keys(monitor, &keys, &nr_keys);
	if (err)
		return err;
	err = read_running(monitor, &running, &nr_running);
	if (err) {
		free(keys);
		return err;
	}
	for (i = 0; i < nr_keys; i++) {
		struct gs_task_record record;

		if (!bpf_map_lookup_elem(fd, &keys[i], &record) &&
		    !running_of(running, nr_running, keys[i], record.pid))
			bpf_map_delete_elem(fd, &keys[i]);
	}
	free(running);
	free(keys);
	return 0;
}

void gs_sched_monitor_memory(const struct gs_sched_monitor *monitor, size_t *per_thread,
			     size_t *max_threads)
{
	const struct bpf_map *tasks = monitor->skel->maps.tasks;

	*per_thread = bpf_map__key_size(tasks) + bpf_map__value_size(tasks);
	*max_threads = bpf_map__max_entries(tasks);
}

int gs_sched_monitor_attach(struct gs_sched_monitor *monitor, bool attached, char *message)
{
	message[0] = '\0';
	detach_all(monitor);
	return attached ? attach_all(monitor, message) : 0;
}

void gs_sched_monitor_close(struct gs_sched_monitor *monitor)
{
	if (!monitor)
		return;
	if (monitor->skel)
		detach_all(monitor);
	free(monitor->samplers);
	sched_monitor_bpf__destroy(monitor->skel);
	free(monitor->cpu_node);
	free(monitor);
}

uint64_t gs_monitor_latency_percentile(const uint64_t *latency, double fraction)
{
	uint64_t total = 0, seen = 0, target;
	unsigned int slot;

	for (slot = 0; slot < GS_MONITOR_LATENCY_SLOTS; slot++)
		total += latency[slot];
	if (!total)
		return 0;
	if (fraction <= 0)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	/* The rank of the wait the fraction names, counted from 1. */
	target = (uint64_t)(fraction * (double)total);
	if ((double)target < fraction * (double)total)
		target++;
	if (!target)
		target = 1;
	for (slot = 0; slot < GS_MONITOR_LATENCY_SLOTS; slot++) {
		seen += latency[slot];
		if (seen >= target)
			break;
	}
	if (slot == GS_MONITOR_LATENCY_SLOTS)
		slot--;
	return 1ULL << (slot + 1);
}
