// SPDX-License-Identifier: GPL-2.0
/*
 * The loader of the scheduler monitor (sched_monitor.h): opens the BPF
 * skeleton built from sched_monitor.bpf.c, sets what to watch and the
 * CPU-to-node map in its read-only data, loads and attaches it, and turns
 * the kernel's counts (read with its task iterator) and the per-thread
 * records of its "tasks" map into struct gs_task_stats.
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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Capabilities that may be missing from an older <linux/capability.h>. */
#ifndef CAP_PERFMON
#define CAP_PERFMON	38
#endif
#ifndef CAP_BPF
#define CAP_BPF		39
#endif

/*
 * The counters of one thread as they stand, since it started or since it
 * was first seen (a struct gs_task_stats not yet less its baseline), and
 * which thread: @start_time tells it from a later one with its id.
 */
struct tally {
	uint64_t start_time;
	bool live;		/* read from the thread itself, not only its record */
	struct gs_task_stats stats;
};

struct gs_sched_monitor {
	struct sched_monitor_bpf *skel;
	enum gs_monitor_filter filter;
	bool latency;
	unsigned int nr_cpus;
	int *cpu_node;		/* the loader's copy, for the run time since the last credit */
	struct bpf_link *iter;	/* dump_tasks, attached while the monitor is open */
	/* The tallies at the last reset, sorted by thread id and start time. */
	struct tally *baseline;
	size_t nr_baseline;
	uint64_t baseline_ns;	/* CLOCK_MONOTONIC, as task->start_time, before it was read */
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

	/* The clock of the kernel's task->start_time. */
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

/* Empties every CPU's "running" slot: one left from before a detach could name a thread since gone. */
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

/* Attaches the tracepoint programs; on failure, none. */
static int attach_all(struct gs_sched_monitor *mon, char *message)
{
	int err = mon->latency ? clear_running(mon, message) : 0;

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
	return 0;
}

static int take_baseline(struct gs_sched_monitor *mon);
static int add_baseline(struct gs_sched_monitor *mon, pid_t pid);

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
	mon->latency = opts->latency;
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
	/* The iterator runs on each reading, not at an event. */
	bpf_program__set_autoattach(mon->skel->progs.dump_tasks, false);
	if (!opts->latency)
		bpf_program__set_autoload(mon->skel->progs.sched_switch, false);

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
	mon->iter = bpf_program__attach_iter(mon->skel->progs.dump_tasks, NULL);
	if (!mon->iter) {
		err = -errno;
		say(message, err, "attaching the task iterator: %s (it needs Linux 5.8 or later)",
		    strerror(-err));
		goto fail;
	}
	err = attach_all(mon, message);
	if (err)
		goto fail;
	err = take_baseline(mon);
	if (err) {
		say(message, err, "reading the watched threads' counters: %s", strerror(-err));
		goto fail;
	}
	*monitor = mon;
	return 0;

fail:
	gs_sched_monitor_close(mon);
	return err;
}

int gs_sched_monitor_watch_pid(struct gs_sched_monitor *monitor, pid_t pid)
{
	int fd, err;
	__u32 tgid = pid;
	__u8 yes = 1;

	if (!monitor || monitor->filter != GS_MONITOR_PIDS || pid <= 0)
		return -EINVAL;
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	fd = bpf_map__fd(monitor->skel->maps.watched_tgids);
	if (!bpf_map_lookup_elem(fd, &tgid, &yes))
		return 0;	/* watched already */
	if (bpf_map_update_elem(fd, &tgid, &yes, BPF_NOEXIST))
		return errno == EEXIST ? 0 : -errno;
	/* Its threads count from here; unwatched again if they cannot. */
	err = add_baseline(monitor, pid);
	if (err)
		bpf_map_delete_elem(fd, &tgid);
	return err;
}

static int compare_stats(const void *a, const void *b)
{
	const struct gs_task_stats *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int compare_tallies(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	if (x->stats.tid != y->stats.tid)
		return x->stats.tid < y->stats.tid ? -1 : 1;
	return x->start_time < y->start_time ? -1 : x->start_time > y->start_time;
}

static int compare_samples(const void *a, const void *b)
{
	const struct gs_task_sample *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->start_time < y->start_time ? -1 : x->start_time > y->start_time;
}

/*
 * One gs_task_sample per watched thread alive, from the "dump_tasks"
 * iterator, malloc'ed and sorted by thread id and start time.
 */
static int read_samples(struct gs_sched_monitor *mon, struct gs_task_sample **samples,
			size_t *nr)
{
	size_t room = 64 * sizeof(**samples), used = 0;
	char *buf = malloc(room), *more;
	int fd, err = 0;
	ssize_t got;

	*samples = NULL;
	*nr = 0;
	if (!buf)
		return -ENOMEM;
	fd = bpf_iter_create(bpf_link__fd(mon->iter));
	if (fd < 0) {
		free(buf);
		return fd;
	}
	for (;;) {
		if (room - used < 4096) {
			more = realloc(buf, 2 * room);
			if (!more) {
				err = -ENOMEM;
				break;
			}
			buf = more;
			room *= 2;
		}
		got = read(fd, buf + used, room - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			break;
		}
		if (!got)
			break;
		used += got;
	}
	close(fd);
	if (!err && used % sizeof(**samples))
		err = -EPROTO;
	if (err) {
		free(buf);
		return err;
	}
	*samples = (struct gs_task_sample *)buf;
	*nr = used / sizeof(**samples);
	qsort(*samples, *nr, sizeof(**samples), compare_samples);
	return 0;
}

static int compare_keys(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Every thread id in the tasks map, malloc'ed, sorted. */
static int record_keys(struct gs_sched_monitor *monitor, __u32 **keys, size_t *nr)
{
	int fd = bpf_map__fd(monitor->skel->maps.tasks);
	size_t room = 256, i, n;
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
	/*
	 * A record a program replaced while the walk went on moved to the
	 * head of its bucket, and its key may come twice.
	 */
	qsort(*keys, *nr, sizeof(**keys), compare_keys);
	for (i = 0, n = 0; i < *nr; i++)
		if (!n || (*keys)[n - 1] != (*keys)[i])
			(*keys)[n++] = (*keys)[i];
	*nr = n;
	return 0;
}

/*
 * Thread @tid's record, copied whole between two equal and even values of
 * its seq, so that its run_ns[] and seen_runtime agree; after a few tries
 * (a thread migrating all the time), as it is.  Returns 0 or -errno.
 */
static int read_record(int fd, __u32 tid, struct gs_task_record *record)
{
	struct gs_task_record again;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (bpf_map_lookup_elem(fd, &tid, record))
			return -errno;
		if (record->seq % 2)
			continue;
		if (bpf_map_lookup_elem(fd, &tid, &again))
			return -errno;
		if (again.seq == record->seq)
			return 0;
	}
	return 0;
}

/* The node slot of @cpu's run time, as the BPF side picks it. */
static unsigned int node_slot(const struct gs_sched_monitor *mon, int cpu)
{
	int node = cpu >= 0 && (unsigned int)cpu < mon->nr_cpus ? mon->cpu_node[cpu] : -1;

	if (node < 0)
		return 0;
	return node < GS_MONITOR_MAX_NODES ? node : GS_MONITOR_MAX_NODES - 1;
}

/* A thread's name from BPF, which may fill all of @comm without a NUL. */
static void copy_comm(struct gs_task_stats *s, const char *comm)
{
	memcpy(s->comm, comm, sizeof(s->comm));
	s->comm[sizeof(s->comm) - 1] = '\0';
}

/* The counters @record holds, in @t. */
static void tally_record(struct tally *t, __u32 tid, const struct gs_task_record *record)
{
	t->start_time = record->start_time;
	t->stats.tid = tid;
	t->stats.pid = record->pid;
	copy_comm(&t->stats, record->comm);
	t->stats.migrations = record->migrations;
	t->stats.cross_node_migrations = record->cross_node_migrations;
	memcpy(t->stats.run_ns, record->run_ns, sizeof(t->stats.run_ns));
	memcpy(t->stats.latency, record->latency, sizeof(t->stats.latency));
	t->stats.last_cpu = record->last_cpu;
	if (record->exited) {
		t->stats.nr_waits = record->exit_slices;
		t->stats.wait_ns = record->exit_run_delay;
	}
}

/*
 * What @sample says of a live thread, in @t: the run time since its
 * record's last credit (@seen_runtime, 0 without a record) on the node it
 * is on now, and its waits, CPU and name as they are.
 */
static void tally_sample(const struct gs_sched_monitor *mon, struct tally *t,
			 const struct gs_task_sample *sample, uint64_t seen_runtime)
{
	t->start_time = sample->start_time;
	t->live = true;
	t->stats.tid = sample->tid;
	t->stats.pid = sample->pid;
	copy_comm(&t->stats, sample->comm);
	if (sample->runtime > seen_runtime)
		t->stats.run_ns[node_slot(mon, sample->cpu)] += sample->runtime - seen_runtime;
	t->stats.nr_waits = sample->slices;
	t->stats.wait_ns = sample->run_delay;
	t->stats.last_cpu = sample->cpu;
}

/*
 * The tallies of every watched thread alive (its sample, and its record if
 * it has one) and of every other thread with a record (one that exited, or
 * left the watched cgroup), malloc'ed and sorted by thread id and start
 * time.  The samples are read before the records: a migration between the
 * two is then in the record, and the run time since the record's last
 * credit, which the loader adds, can only come out short (it is clamped at
 * 0), never counted twice, as long as the record is read whole
 * (read_record()).
 */
static int read_tallies(struct gs_sched_monitor *mon, struct tally **tallies, size_t *nr)
{
	int fd = bpf_map__fd(mon->skel->maps.tasks);
	size_t nr_samples, nr_keys, i, n = 0;
	struct gs_task_sample *samples, key;
	struct gs_task_record record;
	struct tally *out;
	__u32 *keys;
	int err;

	*tallies = NULL;
	*nr = 0;
	err = read_samples(mon, &samples, &nr_samples);
	if (err)
		return err;
	err = record_keys(mon, &keys, &nr_keys);
	if (err) {
		free(samples);
		return err;
	}
	out = calloc(nr_samples + nr_keys + 1, sizeof(*out));
	if (!out) {
		free(keys);
		free(samples);
		return -ENOMEM;
	}
	/* The threads with a record; those alive take their sample's counts. */
	for (i = 0; i < nr_keys; i++) {
		struct gs_task_sample *sample;
		struct tally *t = &out[n];

		if (read_record(fd, keys[i], &record))
			continue;	/* deleted since: only a reset does */
		tally_record(t, keys[i], &record);
		key.tid = keys[i];
		key.start_time = record.start_time;
		sample = bsearch(&key, samples, nr_samples, sizeof(*samples), compare_samples);
		if (sample && sample->pid == record.pid) {
			tally_sample(mon, t, sample, record.seen_runtime);
			sample->pid = 0;	/* taken */
		}
		n++;
	}
	/* The threads alive that neither migrated nor exited: their run time is all on one node. */
	for (i = 0; i < nr_samples; i++)
		if (samples[i].pid)
			tally_sample(mon, &out[n++], &samples[i], 0);
	free(keys);
	free(samples);
	qsort(out, n, sizeof(*out), compare_tallies);
	*tallies = out;
	*nr = n;
	return 0;
}

static uint64_t less(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* @t's counters since the baseline @base of the same thread. */
static void subtract(struct gs_task_stats *t, const struct gs_task_stats *base)
{
	unsigned int i;

	t->migrations = less(t->migrations, base->migrations);
	t->cross_node_migrations = less(t->cross_node_migrations, base->cross_node_migrations);
	for (i = 0; i < GS_MONITOR_MAX_NODES; i++)
		t->run_ns[i] = less(t->run_ns[i], base->run_ns[i]);
	for (i = 0; i < GS_MONITOR_LATENCY_SLOTS; i++)
		t->latency[i] = less(t->latency[i], base->latency[i]);
	t->nr_waits = less(t->nr_waits, base->nr_waits);
	t->wait_ns = less(t->wait_ns, base->wait_ns);
}

/* The baseline of @t's thread, or NULL. */
static const struct tally *baseline_of(const struct gs_sched_monitor *mon, const struct tally *t)
{
	if (!mon->nr_baseline)
		return NULL;
	return bsearch(t, mon->baseline, mon->nr_baseline, sizeof(*t), compare_tallies);
}

/*
 * Adds @nr tallies of threads that have none to the baseline, which the
 * next readings subtract from them.
 */
static int merge_baseline(struct gs_sched_monitor *mon, const struct tally *tallies, size_t nr)
{
	struct tally *merged;

	if (!nr)
		return 0;
	merged = realloc(mon->baseline, (mon->nr_baseline + nr) * sizeof(*merged));
	if (!merged)
		return -ENOMEM;
	memcpy(merged + mon->nr_baseline, tallies, nr * sizeof(*merged));
	mon->baseline = merged;
	mon->nr_baseline += nr;
	qsort(merged, mon->nr_baseline, sizeof(*merged), compare_tallies);
	return 0;
}

/*
 * Whether the record of @t, a thread the iterator did not find, can go: the
 * thread exited, and from here on it counts nothing.  One the iterator
 * missed because it was created after the iterator passed is still there,
 * and one that left the watched cgroup keeps its record until it exits.
 */
static bool gone(const struct tally *t, const struct gs_task_record *record)
{
	return record->exited || (kill(t->stats.tid, 0) && errno == ESRCH);
}

/*
 * Takes the counters as they stand as the baseline the next readings
 * subtract (a reset), and deletes the records of threads that exited:
 * they would fill the map.
 */
static int take_baseline(struct gs_sched_monitor *mon)
{
	int fd = bpf_map__fd(mon->skel->maps.tasks);
	uint64_t start = monotonic_ns();
	struct tally *tallies;
	size_t nr, i, n = 0;
	int err;

	err = read_tallies(mon, &tallies, &nr);
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		struct gs_task_record record;
		__u32 tid = tallies[i].stats.tid;

		if (!tallies[i].live && !bpf_map_lookup_and_delete_elem(fd, &tid, &record)) {
			/* Unless a new thread of the id took the record over meanwhile. */
			if (record.start_time == tallies[i].start_time &&
			    gone(&tallies[i], &record))
				continue;
			bpf_map_update_elem(fd, &tid, &record, BPF_NOEXIST);
		}
		tallies[n++] = tallies[i];
	}
	free(mon->baseline);
	mon->baseline = tallies;
	mon->nr_baseline = n;
	mon->baseline_ns = start;
	return 0;
}

/*
 * Adds the counters of process @pid's threads as they stand to the
 * baseline, for a process that has just joined the watch: the other
 * threads keep counting from the last reset.
 */
static int add_baseline(struct gs_sched_monitor *mon, pid_t pid)
{
	struct tally *tallies;
	size_t nr, i, n = 0;
	int err;

	err = read_tallies(mon, &tallies, &nr);
	if (err)
		return err;
	for (i = 0; i < nr; i++)
		if (tallies[i].stats.pid == pid && !baseline_of(mon, &tallies[i]))
			tallies[n++] = tallies[i];
	err = merge_baseline(mon, tallies, n);
	free(tallies);
	return err;
}

int gs_sched_monitor_read(struct gs_sched_monitor *monitor, struct gs_task_stats **stats,
			  size_t *nr)
{
	const struct tally *base;
	struct tally *tallies;
	size_t nr_tallies, i, nr_new = 0;
	struct gs_task_stats *out;
	int err;

	*stats = NULL;
	*nr = 0;
	err = read_tallies(monitor, &tallies, &nr_tallies);
	if (err)
		return err;
	out = calloc(nr_tallies ? nr_tallies : 1, sizeof(*out));
	if (!out) {
		free(tallies);
		return -ENOMEM;
	}
	for (i = 0; i < nr_tallies; i++) {
		out[i] = tallies[i].stats;
		base = baseline_of(monitor, &tallies[i]);
		if (base) {
			subtract(&out[i], &base->stats);
		} else if (tallies[i].start_time < monitor->baseline_ns) {
			/*
			 * A thread first seen after a reset although it started
			 * before it (it moved into the watched cgroup) counts
			 * from here.
			 */
			subtract(&out[i], &tallies[i].stats);
			tallies[nr_new++] = tallies[i];	/* below the ones still to come */
		}
	}
	err = merge_baseline(monitor, tallies, nr_new);
	free(tallies);
	if (err) {
		free(out);
		return err;
	}
	qsort(out, nr_tallies, sizeof(*out), compare_stats);
	*stats = out;
	*nr = nr_tallies;
	return 0;
}

int gs_sched_monitor_reset(struct gs_sched_monitor *monitor)
{
	return take_baseline(monitor);
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
	sched_monitor_bpf__detach(monitor->skel);
	return attached ? attach_all(monitor, message) : 0;
}

void gs_sched_monitor_close(struct gs_sched_monitor *monitor)
{
	if (!monitor)
		return;
	bpf_link__destroy(monitor->iter);
	sched_monitor_bpf__destroy(monitor->skel);
	free(monitor->baseline);
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
