// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF side of the scheduler monitor: programs on the scheduler's
 * tracepoints keep, per watched thread, its migrations (and those that cross
 * NUMA nodes), its run time on each node and its run-queue waits as a log2
 * histogram, in the "tasks" hash map the loader (sched_monitor.c) reads.
 * Run time and waits are both counted at switch-out, so a round trip of
 * two threads costs two program runs, not four: the waits come from the
 * kernel's own accounting (see count_waits()) rather than from programs on
 * the wakeup tracepoints.  A switch looks up only the record of the thread
 * switched out: the one switched in is noted in its CPU's slot of the
 * "running" per-CPU array, which the loader also reads to add the slice
 * still running.  The kernel types are declared here, reduced to the
 * fields read and marked preserve_access_index, instead of a vmlinux.h
 * dumped from the build machine's kernel: CO-RE relocates each field on
 * the running kernel (Debian's 6.1, 6.12 and newer), and the build needs
 * no kernel BTF.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sched_monitor_record.h"

struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

/* x86 keeps the task's CPU here from 6.18 on, in task_struct before. */
struct thread_info {
	__u32 cpu;
} __attribute__((preserve_access_index));

/* CONFIG_SCHED_INFO, which every Debian kernel has: what /proc/PID/schedstat shows. */
struct sched_info {
	unsigned long pcount;
	unsigned long long run_delay;
} __attribute__((preserve_access_index));

struct task_struct {
	struct thread_info thread_info;
	int pid;
	int tgid;
	unsigned int cpu;
	char comm[GS_RECORD_COMM_LEN];
	struct css_set *cgroups;
	struct sched_info sched_info;
} __attribute__((preserve_access_index));

/* Set by the loader before load. */
const volatile __u32 filter = GS_RECORD_FILTER_ALL;
const volatile __u64 cgroup_id;		/* GS_RECORD_FILTER_CGROUP: kernfs id of the cgroup */
const volatile __s32 cpu_node[GS_RECORD_CPUS];	/* -1 where unknown */

/* Written by the loader's reset: records of an older epoch count from zero. */
volatile __u32 epoch;
volatile __u64 epoch_start_ns;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_RECORD_MAX_TASKS);
	__type(key, __u32);			/* thread id */
	__type(value, struct gs_task_record);
} tasks SEC(".maps");

/* GS_RECORD_FILTER_PIDS: the watched processes, by tgid, so new threads count too. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} watched_tgids SEC(".maps");

/* A zeroed record to create entries from: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_task_record);
} empty_record SEC(".maps");

/* Each CPU's running thread (struct gs_running); only that CPU writes its slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_running);
} running SEC(".maps");

static __always_inline int node_of(__u32 cpu)
{
	if (cpu >= GS_RECORD_CPUS)
		return -1;
	/*
	 * clang may test the bound as "cpu & ~4095", which the verifier does
	 * not read as one: the mask (a no-op here, and kept by the barrier) is.
	 */
	barrier_var(cpu);
	return cpu_node[cpu & (GS_RECORD_CPUS - 1)];
}


/* The CPU @task is on (the kernel's task_cpu()). */
static __always_inline __u32 task_cpu(struct task_struct *task)
{
	if (bpf_core_field_exists(task->cpu))
		return task->cpu;
	return task->thread_info.cpu;
}

static __always_inline bool watched(struct task_struct *task)
{
	__u32 tgid;

	switch (filter) {
	case GS_RECORD_FILTER_PIDS:
		tgid = task->tgid;
		return bpf_map_lookup_elem(&watched_tgids, &tgid) != NULL;
	case GS_RECORD_FILTER_CGROUP:
		/* Another task's cgroup, not current's: read it through the task. */
		return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id) == cgroup_id;
	default:
		return true;
	}
}

/*
 * Whether the kernel counts @task's waits (CONFIG_SCHED_INFO): the struct
 * is in task_struct either way, only its fields depend on the option.
 */
static __always_inline bool has_sched_info(struct task_struct *task)
{
	return bpf_core_field_exists(task->sched_info.pcount) &&
	       bpf_core_field_exists(task->sched_info.run_delay);
}

/*
 * The record of @task, created on first sight, its counters in the current
 * epoch.  @slot, when it holds @task (at its switch-out), has its wait marks
 * from before the slice now ending: a record made then starts from those.
 */
static struct gs_task_record *record_of(struct task_struct *task, const struct gs_running *slot)
{
	__u32 tid = task->pid, zero = 0, now_epoch = epoch, i;
	struct gs_task_record *record, *empty;

	record = bpf_map_lookup_elem(&tasks, &tid);
	/* New, or left by an exited thread of another process with this id. */
	if (!record || record->pid != (__u32)task->tgid) {
		empty = bpf_map_lookup_elem(&empty_record, &zero);
		if (!empty)
			return NULL;
		/* Fails when the map is full (the thread goes uncounted) or on a race. */
		bpf_map_update_elem(&tasks, &tid, empty, record ? BPF_EXIST : BPF_NOEXIST);
		record = bpf_map_lookup_elem(&tasks, &tid);
		if (!record)
			return NULL;
		record->pid = task->tgid;
		record->last_cpu = -1;
		record->epoch = now_epoch;
		/* Waits before it was first seen are not counted. */
		if (has_sched_info(task)) {
			record->seen_run_delay = task->sched_info.run_delay;
			record->seen_slices = task->sched_info.pcount;
		}
		/*
		 * Apart, so that the compiler cannot make one load of the task
		 * and the map value: the verifier refuses that.
		 */
		barrier();
		if (slot && slot->tid == (__u32)task->pid) {
			record->seen_run_delay = slot->run_delay;
			record->seen_slices = slot->slices;
		}
		bpf_core_read_str(record->comm, sizeof(record->comm), &task->comm);
	}
	if (record->epoch != now_epoch) {
		record->epoch = now_epoch;
		record->migrations = 0;
		record->cross_node_migrations = 0;
		record->nr_waits = 0;
		for (i = 0; i < GS_RECORD_NODES; i++)
			record->run_ns[i] = 0;
		for (i = 0; i < GS_RECORD_LATENCY_SLOTS; i++)
			record->latency[i] = 0;
	}
	return record;
}

/*
 * The record of @task when it is watched, else NULL.  Under a pid filter a
 * current record of the task's own process says it is watched (the set of
 * processes only grows), which saves looking the process up at each event.
 */
static __always_inline struct gs_task_record *watched_record(struct task_struct *task,
							      const struct gs_running *slot)
{
	struct gs_task_record *record;
	__u32 tid = task->pid;

	if (!tid)
		return NULL;	/* the idle task */
	if (filter == GS_RECORD_FILTER_PIDS) {
		record = bpf_map_lookup_elem(&tasks, &tid);
		if (record && record->pid == (__u32)task->tgid && record->epoch == epoch)
			return record;
	}
	return watched(task) ? record_of(task, slot) : NULL;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	return r | (__u32)(v >> 1);
}

/*
 * The verifier needs an array index bounded in the register the access
 * uses; barrier_var() keeps the compiler from indexing with a copy taken
 * before the clamp.
 */
static __always_inline __u32 clamp_index(__u32 index, __u32 size)
{
	if (index >= size)
		index = size - 1;
	barrier_var(index);
	return index;
}

/* Adds @ns to the run time on @node; higher node ids share the last slot. */
static __always_inline void add_run_time(struct gs_task_record *record, int node, __u64 ns)
{
	__u32 slot = clamp_index(node < 0 ? 0 : node, GS_RECORD_NODES);

	if (slot < GS_RECORD_NODES)
		record->run_ns[slot] += ns;
}

/*
 * Counts the run-queue waits of @task since its last switch-out, at the
 * switch-out of @record's thread.  The kernel keeps them itself: with
 * CONFIG_SCHED_INFO, sched_info.run_delay adds up every wait, from being
 * queued (woken, or preempted) to running, and sched_info.pcount counts the
 * slices; both are brought up to date when the thread is switched in, after
 * that switch's tracepoint.  So what they gained since the last switch-out
 * is the wait that led to the slice now ending, or several (their mean) if
 * a switch-out was missed.  A slice that began before a reset (@counted
 * false) only moves the marks.  Only the thread's own switch-out counts its
 * waits, on one CPU at a time: plain additions, no atomic ones.
 */
static __always_inline void count_waits(struct gs_task_record *record,
					struct task_struct *task, bool counted)
{
	__u64 delay, slices, waits;
	__u32 slot;

	if (!has_sched_info(task))
		return;
	delay = task->sched_info.run_delay;
	slices = task->sched_info.pcount;
	waits = slices - record->seen_slices;
	/* Marks of an exited thread whose id a thread of this process took count nothing. */
	if (counted && slices > record->seen_slices && delay >= record->seen_run_delay) {
		slot = clamp_index(log2_u64((delay - record->seen_run_delay) / waits / 1000),
				   GS_RECORD_LATENCY_SLOTS);
		if (slot < GS_RECORD_LATENCY_SLOTS)
			record->latency[slot] += waits;
		record->nr_waits += waits;
	}
	record->seen_run_delay = delay;
	record->seen_slices = slices;
}

static __always_inline void note_running(struct gs_running *slot, struct task_struct *task,
					 __u64 now)
{
	slot->tid = task->pid;
	slot->pid = task->tgid;
	slot->since = now;
	if (has_sched_info(task)) {
		slot->run_delay = task->sched_info.run_delay;
		slot->slices = task->sched_info.pcount;
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	__u64 now = bpf_ktime_get_ns(), start;
	struct gs_task_record *record;
	struct gs_running *slot;

	slot = bpf_map_lookup_elem(&running, &zero);
	if (!slot)
		return 0;
	record = watched_record(prev, slot);
	if (record) {
		/* Its slice, unless it began before the programs saw it. */
		start = slot->tid == (__u32)prev->pid ? slot->since : 0;
		count_waits(record, prev, start && start >= epoch_start_ns);
		/* A slice that began before a reset counts from the reset. */
		if (start && start < epoch_start_ns)
			start = epoch_start_ns;
		if (start && now > start)
			add_run_time(record, node_of(cpu), now - start);
		record->last_cpu = cpu;
		/* The loader adds no running slice that began before this. */
		record->last_out = now;
	}
	note_running(slot, next, now);
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(sched_migrate_task, struct task_struct *task, int dest_cpu)
{
	struct gs_task_record *record = watched_record(task, NULL);
	int from, to;

	if (!record)
		return 0;
	__sync_fetch_and_add(&record->migrations, 1);
	from = node_of(task_cpu(task));
	to = node_of(dest_cpu);
	if (from >= 0 && to >= 0 && from != to)
		__sync_fetch_and_add(&record->cross_node_migrations, 1);
	return 0;
}

/*
 * exec and prctl(PR_SET_NAME) rename a thread: the record follows, here
 * rather than at every switch.  The tracepoint fires before the new name is
 * copied into the task, so it is read from the argument.
 */
SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	struct gs_task_record *record = watched_record(task, NULL);

	if (record)
		bpf_probe_read_kernel_str(record->comm, sizeof(record->comm), comm);
	return 0;
}

/*
 * The catch-up sampler: the loader attaches this to a CPU-clock perf event
 * on every online CPU, CATCH_UP_HZ times a second.  A thread that was
 * already running when the programs were attached, and is never switched
 * out (a busy loop alone on its CPU), has no switch-in to be seen at: it
 * is seen here, within one period, as its CPU's current task, and noted
 * in the CPU's slot from then on.  (One whose process came to be watched
 * while it ran was noted at its switch-in already.)  A tracepoint that
 * fires at every tick (sched_stat_runtime) did this before, at a cost on
 * every switch.
 */
SEC("perf_event")
int catch_up(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct gs_task_record *record = watched_record(task, NULL);
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct gs_running *slot;

	if (!record)
		return 0;
	record->last_cpu = cpu;
	slot = bpf_map_lookup_elem(&running, &zero);
	if (slot && slot->tid != (__u32)task->pid)
		note_running(slot, task, bpf_ktime_get_ns());
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
