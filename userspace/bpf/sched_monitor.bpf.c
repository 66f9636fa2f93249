// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF side of the scheduler monitor.  Nothing runs at a context switch
 * unless the loader asks for run-queue latency histograms: the kernel
 * already counts each thread's run time (se.sum_exec_runtime) and its
 * run-queue waits (sched_info, as /proc/PID/schedstat shows them), so the
 * programs only say where the run time was spent.  At each migration the
 * run time since the last one was all spent on the CPU the thread leaves
 * (set_task_cpu() moves a thread that is waking or queued, never one that
 * runs, so its sum_exec_runtime is up to date there): it is credited to
 * that CPU's node in the thread's record in the "tasks" hash map.  At exit
 * the last share is credited the same way.  The loader adds the share since
 * the last migration of each live thread, read with the "dump_tasks" task
 * iterator together with its wait counts, so that a reading walks the
 * threads once rather than opening a file per thread.  With histograms, sched_switch
 * also sorts each wait into a log2 slot at the switch-out of the thread that
 * waited (see count_waits()), at a cost on every switch.
 * The kernel types are declared here, reduced to the fields read and marked
 * preserve_access_index, instead of a vmlinux.h dumped from the build
 * machine's kernel: CO-RE relocates each field on the running kernel
 * (Debian's 6.1, 6.12 and newer), and the build needs no kernel BTF.
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

/* x86 keeps the task's CPU here (CONFIG_THREAD_INFO_IN_TASK), others in task_struct. */
struct thread_info {
	__u32 cpu;
} __attribute__((preserve_access_index));

/* CONFIG_SCHED_INFO, which every Debian kernel has: what /proc/PID/schedstat shows. */
struct sched_info {
	unsigned long pcount;
	unsigned long long run_delay;
} __attribute__((preserve_access_index));

struct sched_entity {
	__u64 sum_exec_runtime;
} __attribute__((preserve_access_index));

/* task_struct.flags: do_exit() has begun. */
#define PF_EXITING	0x00000004

struct task_struct {
	struct thread_info thread_info;
	unsigned int flags;
	int pid;
	int tgid;
	unsigned int cpu;
	__u64 start_time;
	char comm[GS_RECORD_COMM_LEN];
	struct css_set *cgroups;
	struct sched_entity se;
	struct sched_info sched_info;
} __attribute__((preserve_access_index));

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

/* Set by the loader before load. */
const volatile __u32 filter = GS_RECORD_FILTER_ALL;
const volatile __u64 cgroup_id;		/* GS_RECORD_FILTER_CGROUP: kernfs id of the cgroup */
const volatile __s32 cpu_node[GS_RECORD_CPUS];	/* -1 where unknown */

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

/*
 * With histograms: each CPU's running thread and its wait marks from just
 * before its switch-in (struct gs_running); only that CPU writes its slot.
 */
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
 * Whether @record is @task's.  One of the same id but another process or
 * start time was left by a thread that exited.  So was one marked exited
 * when @task is not exiting: a thread that calls exec while its process's
 * main thread is alive takes over that thread's id and start time.
 */
static __always_inline bool record_is(const struct gs_task_record *record,
				      struct task_struct *task)
{
	return record->pid == (__u32)task->tgid && record->start_time == task->start_time &&
	       (!record->exited || (task->flags & PF_EXITING));
}

/*
 * The record of @task, created on first sight unless @task is exiting
 * (NULL then).  A record left by another thread of its id is taken over.
 * A new record has credited none of the thread's run time yet.  @slot,
 * when it holds @task (at its switch-out, with histograms), has its wait
 * marks from before the slice now ending: a record made then starts from
 * those.
 */
static struct gs_task_record *record_of(struct task_struct *task, const struct gs_running *slot,
					bool create)
{
	__u32 tid = task->pid, zero = 0;
	struct gs_task_record *record, *empty;

	record = bpf_map_lookup_elem(&tasks, &tid);
	if (record && record_is(record, task))
		return record;
	if (!create)
		return NULL;
	empty = bpf_map_lookup_elem(&empty_record, &zero);
	if (!empty)
		return NULL;
	/* Fails when the map is full (the thread goes uncounted) or on a race. */
	bpf_map_update_elem(&tasks, &tid, empty, record ? BPF_EXIST : BPF_NOEXIST);
	record = bpf_map_lookup_elem(&tasks, &tid);
	if (!record)
		return NULL;
	record->pid = task->tgid;
	record->start_time = task->start_time;
	record->last_cpu = task_cpu(task);
	/* Waits before it was first seen are not sorted into the histogram. */
	if (has_sched_info(task)) {
		record->seen_run_delay = task->sched_info.run_delay;
		record->seen_slices = task->sched_info.pcount;
	}
	/*
	 * Apart, so that the compiler cannot make one load of the task and
	 * the map value: the verifier refuses that.
	 */
	barrier();
	if (slot && slot->tid == (__u32)task->pid) {
		record->seen_run_delay = slot->run_delay;
		record->seen_slices = slot->slices;
	}
	bpf_core_read_str(record->comm, sizeof(record->comm), &task->comm);
	return record;
}

/*
 * The record of @task when it is watched (made if @create), else NULL.
 * Under a pid filter a record of the task itself says it is watched (the
 * set of processes only grows), which saves looking the process up at
 * each event.
 */
static __always_inline struct gs_task_record *watched_record(struct task_struct *task,
							      const struct gs_running *slot,
							      bool create)
{
	struct gs_task_record *record;
	__u32 tid = task->pid;

	if (!tid)
		return NULL;	/* the idle task */
	if (filter == GS_RECORD_FILTER_PIDS) {
		record = bpf_map_lookup_elem(&tasks, &tid);
		if (record && record_is(record, task))
			return record;
	}
	return watched(task) ? record_of(task, slot, create) : NULL;
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

/*
 * Credits the run time @task gained since the last credit to the node of
 * the CPU it has been on since then.  The callers run where @task cannot
 * run (a migration) or as @task itself (its exit), so only one of them
 * touches the record's run time at a time.  Higher node ids share the last
 * slot, unknown ones the first.
 */
static __always_inline void credit_run_time(struct gs_task_record *record,
					    struct task_struct *task)
{
	__u64 runtime = task->se.sum_exec_runtime;
	int node = node_of(task_cpu(task));
	__u32 slot = clamp_index(node < 0 ? 0 : node, GS_RECORD_NODES);

	if (runtime <= record->seen_runtime)
		return;
	__sync_fetch_and_add(&record->seq, 1);
	if (slot < GS_RECORD_NODES)
		record->run_ns[slot] += runtime - record->seen_runtime;
	record->seen_runtime = runtime;
	__sync_fetch_and_add(&record->seq, 1);
}

/*
 * With histograms: sorts the run-queue waits of @task since its last
 * switch-out into @record's log2 slots, at its switch-out.  The kernel
 * keeps them itself: with CONFIG_SCHED_INFO, sched_info.run_delay adds up
 * every wait, from being queued (woken, or preempted) to running, and
 * sched_info.pcount counts the slices; both are brought up to date when
 * the thread is switched in, after that switch's tracepoint.  So what they
 * gained since the last switch-out is the wait that led to the slice now
 * ending, or several (their mean) if a switch-out was missed.  Only the
 * thread's own switch-out counts its waits, on one CPU at a time: plain
 * additions, no atomic ones.
 */
static __always_inline void count_waits(struct gs_task_record *record, struct task_struct *task)
{
	__u64 delay, slices, waits;
	__u32 slot;

	if (!has_sched_info(task))
		return;
	delay = task->sched_info.run_delay;
	slices = task->sched_info.pcount;
	waits = slices - record->seen_slices;
	if (slices > record->seen_slices && delay >= record->seen_run_delay) {
		slot = clamp_index(log2_u64((delay - record->seen_run_delay) / waits / 1000),
				   GS_RECORD_LATENCY_SLOTS);
		if (slot < GS_RECORD_LATENCY_SLOTS)
			record->latency[slot] += waits;
	}
	record->seen_run_delay = delay;
	record->seen_slices = slices;
}

/* Loaded and attached only when the loader asks for histograms. */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct gs_task_record *record;
	struct gs_running *slot;
	__u32 zero = 0;

	slot = bpf_map_lookup_elem(&running, &zero);
	if (!slot)
		return 0;
	/* An exiting thread whose record a reset deleted gets none again. */
	record = watched_record(prev, slot, !(prev->flags & PF_EXITING));
	if (record)
		count_waits(record, prev);
	slot->tid = next->pid;
	if (has_sched_info(next)) {
		slot->run_delay = next->sched_info.run_delay;
		slot->slices = next->sched_info.pcount;
	}
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(sched_migrate_task, struct task_struct *task, int dest_cpu)
{
	/*
	 * A thread that exited keeps the record its exit made; one that a
	 * reset has since deleted gets none again.
	 */
	struct gs_task_record *record = watched_record(task, NULL,
						       !(task->flags & PF_EXITING));
	int from, to;

	if (!record)
		return 0;
	credit_run_time(record, task);
	record->migrations++;
	from = node_of(task_cpu(task));
	to = node_of(dest_cpu);
	if (from >= 0 && to >= 0 && from != to)
		record->cross_node_migrations++;
	record->last_cpu = dest_cpu;
	return 0;
}

/*
 * The last share of an exiting thread's run time, and its wait counts,
 * which the loader can no longer read from the thread.  The run time of
 * the slice that ends in exit is up to date as of the last tick or
 * switch, like every reading of sum_exec_runtime not taken by the kernel
 * itself.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	struct gs_task_record *record = watched_record(task, NULL, true);

	if (!record)
		return 0;
	credit_run_time(record, task);
	record->last_cpu = task_cpu(task);
	if (has_sched_info(task)) {
		record->exit_run_delay = task->sched_info.run_delay;
		record->exit_slices = task->sched_info.pcount;
	}
	record->exited = 1;
	return 0;
}

/*
 * exec and prctl(PR_SET_NAME) rename a thread: a record follows, here
 * rather than at every switch.  The tracepoint fires before the new name is
 * copied into the task, so it is read from the argument.
 */
SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	struct gs_task_record *record = watched_record(task, NULL, true);

	if (record)
		bpf_probe_read_kernel_str(record->comm, sizeof(record->comm), comm);
	return 0;
}

/*
 * One struct gs_task_sample per watched thread alive now: what the kernel
 * counts of it, for the loader to add the run time since its record's
 * last credit.  Reads no record and writes none.
 */
SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct gs_task_sample sample = { 0 };

	if (!task || !task->pid || !watched(task))
		return 0;
	sample.tid = task->pid;
	sample.pid = task->tgid;
	sample.cpu = task_cpu(task);
	sample.start_time = task->start_time;
	sample.runtime = task->se.sum_exec_runtime;
	if (has_sched_info(task)) {
		sample.run_delay = task->sched_info.run_delay;
		sample.slices = task->sched_info.pcount;
	}
	bpf_probe_read_kernel_str(sample.comm, sizeof(sample.comm), task->comm);
	bpf_seq_write(ctx->meta->seq, &sample, sizeof(sample));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
