/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the BPF programs (sched_monitor.bpf.c) and their loader
 * (sched_monitor.c) share: the record kept per thread in the "tasks" hash
 * map, what runs on each CPU in the "running" per-CPU array, and the
 * filter modes.  It uses only <linux/types.h> types so that it
 * compiles for the BPF target, which has no libc headers, and for userspace
 * alike; the public interface, sched_monitor.h, is libc-based and so cannot
 * be included by the BPF side.  The loader checks at compile time that the
 * sizes below equal the public GS_MONITOR_* ones.
 */
#ifndef GPUSCHED_SCHED_MONITOR_RECORD_H
#define GPUSCHED_SCHED_MONITOR_RECORD_H

#include <linux/types.h>

#define GS_RECORD_NODES			64	/* = GS_MONITOR_MAX_NODES */
#define GS_RECORD_LATENCY_SLOTS		24	/* = GS_MONITOR_LATENCY_SLOTS */
#define GS_RECORD_CPUS			4096	/* = GS_MONITOR_MAX_CPUS */
#define GS_RECORD_COMM_LEN		16	/* TASK_COMM_LEN */
/* Threads followed at once; a thread beyond it is not counted. */
#define GS_RECORD_MAX_TASKS		8192

/* The filter modes, numbered as enum gs_monitor_filter. */
#define GS_RECORD_FILTER_PIDS		0
#define GS_RECORD_FILTER_CGROUP		1
#define GS_RECORD_FILTER_ALL		2

/*
 * One thread.  The counters belong to reset epoch @epoch: a program that
 * finds an older epoch zeroes them first, so a reset from userspace never
 * has to write a record a program may be updating at the same time.
 */
struct gs_task_record {
	__u32 pid;			/* the thread's process (tgid) */
	__s32 last_cpu;			/* -1 until seen running */
	__u32 epoch;
	char comm[GS_RECORD_COMM_LEN];
	__u64 last_out;			/* ns of its last switch-out the programs counted */
	__u64 seen_run_delay;		/* the kernel's sched_info.run_delay at last count */
	__u64 seen_slices;		/* and its sched_info.pcount */
	__u64 migrations;
	__u64 cross_node_migrations;
	__u64 nr_waits;
	__u64 run_ns[GS_RECORD_NODES];
	__u64 latency[GS_RECORD_LATENCY_SLOTS];
};

/*
 * The thread running on a CPU, watched or not, since when (ns of its
 * switch-in), and the kernel's wait marks of it from just before that
 * switch-in (its sched_info.run_delay and pcount, which the kernel brings
 * up to date after the tracepoint): written at every switch-in, so that
 * only the switch-out of a thread looks its record up, and a record made
 * at that switch-out still counts the wait that led to the slice.  @tid 0
 * is the idle task, or nothing seen yet.
 */
struct gs_running {
	__u32 tid;
	__u32 pid;
	__u64 since;
	__u64 run_delay;
	__u64 slices;
};

#endif /* GPUSCHED_SCHED_MONITOR_RECORD_H */
