/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the BPF programs (sched_monitor.bpf.c) and their loader
 * (sched_monitor.c) share: the record kept per thread in the "tasks" hash
 * map, the sample the task iterator writes per thread, what runs on each
 * CPU in the "running" per-CPU array, and the filter modes.  It uses only <linux/types.h> types so that it
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
 * One thread, from its first migration, exit or rename seen (with
 * histograms also its first switch-out).  Its counters only grow; the
 * loader subtracts what they were at a reset.  @pid and @start_time tell
 * it from a later thread given the same id.
 */
struct gs_task_record {
	__u32 pid;			/* the thread's process (tgid) */
	__s32 last_cpu;			/* where it went at its last migration, or exited */
	__u64 start_time;		/* the kernel's task->start_time */
	char comm[GS_RECORD_COMM_LEN];
	/*
	 * Odd while run time is being credited: a copy the loader takes
	 * whole, between two even and equal values of it (read before the
	 * run time, as a copy goes from the first byte to the last), holds a
	 * run_ns[] and a seen_runtime that agree.
	 */
	__u32 seq;
	__u32 exited;			/* 1 once it exited: the exit_ fields are set */
	__u64 seen_runtime;		/* se.sum_exec_runtime credited to run_ns[] so far */
	__u64 migrations;
	__u64 cross_node_migrations;
	__u64 run_ns[GS_RECORD_NODES];
	__u64 exit_run_delay;		/* sched_info.run_delay at exit */
	__u64 exit_slices;		/* sched_info.pcount at exit */
	/* With histograms only. */
	__u64 seen_run_delay;		/* sched_info.run_delay when last sorted */
	__u64 seen_slices;		/* and its sched_info.pcount */
	__u64 latency[GS_RECORD_LATENCY_SLOTS];
};

/*
 * What the "dump_tasks" iterator writes for each watched thread alive:
 * the kernel's counts of it (CONFIG_SCHED_INFO for the waits; 0 without).
 */
struct gs_task_sample {
	__u32 tid;
	__u32 pid;
	__s32 cpu;			/* the CPU it is on or last ran on */
	__u32 reserved;
	__u64 start_time;		/* task->start_time */
	__u64 runtime;			/* se.sum_exec_runtime, ns */
	__u64 run_delay;		/* sched_info.run_delay, ns */
	__u64 slices;			/* sched_info.pcount */
	char comm[GS_RECORD_COMM_LEN];
};

/*
 * With histograms: the thread running on a CPU, watched or not, and the
 * kernel's wait marks of it from just before its switch-in (its
 * sched_info.run_delay and pcount, which the kernel brings up to date after
 * the tracepoint), so that a record made at its switch-out still sorts the
 * wait that led to the slice.  @tid 0 is the idle task, or nothing seen yet.
 */
struct gs_running {
	__u32 tid;
	__u32 reserved;
	__u64 run_delay;
	__u64 slices;
};

#endif /* GPUSCHED_SCHED_MONITOR_RECORD_H */
