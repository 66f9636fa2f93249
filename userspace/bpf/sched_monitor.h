/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler monitor behind `gpusched monitor` and `gpusched bench`:
 * per thread of the processes it is told to watch, migrations (and those
 * that cross NUMA nodes), run time on each node, and run-queue waits (queued
 * to running, as the kernel counts them for /proc/PID/schedstat), with
 * optionally a log2 histogram of the waits.  BPF programs run at migrations,
 * exits and renames, and a task iterator reads the kernel's own counts; only
 * the histograms need a program at every context switch.  This header is
 * the interface both commands use; the BPF side is sched_monitor.bpf.c, the
 * loader sched_monitor.c.
 */
#ifndef GPUSCHED_SCHED_MONITOR_H
#define GPUSCHED_SCHED_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Nodes the per-node run time is kept for; higher node ids count as this-1. */
#define GS_MONITOR_MAX_NODES	64
/* Run-queue latency slots: slot i counts waits in [2^i, 2^(i+1)) microseconds. */
#define GS_MONITOR_LATENCY_SLOTS	24
/* CPUs the CPU-to-node map covers. */
#define GS_MONITOR_MAX_CPUS	4096

/* What to watch. */
enum gs_monitor_filter {
	GS_MONITOR_PIDS,	/* the processes added with gs_sched_monitor_watch_pid() */
	GS_MONITOR_CGROUP,	/* every task of one cgroup v2 (and none of its children) */
	GS_MONITOR_ALL,		/* every task */
};

struct gs_sched_monitor_opts {
	enum gs_monitor_filter filter;
	const char *cgroup_path;	/* GS_MONITOR_CGROUP: a cgroup v2 directory */
	/* cpu_node[c] is CPU c's NUMA node; nr_cpus entries (<= GS_MONITOR_MAX_CPUS). */
	const int *cpu_node;
	unsigned int nr_cpus;
	/*
	 * Sort each run-queue wait into gs_task_stats.latency[]: a program at
	 * every context switch, which the scheduler pays for (6.5% more
	 * instructions a pipe ping-pong round trip, `make icount`).
	 */
	bool latency;
};

/*
 * Counters of one thread since the last reset, or since it started if that
 * was later; a thread that came to be watched later (a process added with
 * gs_sched_monitor_watch_pid()) counts from then, and one that moved
 * into the watched cgroup from the first reading that found it there.
 */
struct gs_task_stats {
	pid_t tid;
	pid_t pid;			/* its process */
	char comm[16];
	uint64_t migrations;		/* sched_migrate_task events */
	uint64_t cross_node_migrations;	/* ... whose source and target nodes differ */
	uint64_t run_ns[GS_MONITOR_MAX_NODES];	/* time running, by node of the CPU */
	uint64_t nr_waits;		/* run-queue waits: the slices it was given */
	uint64_t wait_ns;		/* their total */
	/* With gs_sched_monitor_opts.latency: waits sorted by log2 us, else 0. */
	uint64_t latency[GS_MONITOR_LATENCY_SLOTS];
	int last_cpu;			/* CPU it is on or last ran on */
};

struct gs_sched_monitor;

/*
 * Loads and attaches the BPF programs; the counters of threads watched
 * already count from here.  Returns 0, or a negative errno with
 * @message (256 bytes) saying what is wrong in words a user can act on:
 * -EPERM without CAP_BPF/CAP_SYS_ADMIN, -ENOENT without kernel BTF
 * (/sys/kernel/btf/vmlinux), -EINVAL for bad options.
 */
int gs_sched_monitor_open(const struct gs_sched_monitor_opts *opts,
			  struct gs_sched_monitor **monitor, char *message);

/*
 * Adds process @pid (all its threads, present and future) to a
 * GS_MONITOR_PIDS watch; the threads it has count from here.
 */
int gs_sched_monitor_watch_pid(struct gs_sched_monitor *monitor, pid_t pid);

/*
 * Copies the counters of every watched thread, and of those that exited
 * since the last reset, into a malloc'ed array (*stats, *nr entries, sorted
 * by pid then tid).  The run time of a thread running now is the kernel's,
 * up to date as of the last tick or switch on its CPU.  Returns 0 or -errno.
 */
int gs_sched_monitor_read(struct gs_sched_monitor *monitor, struct gs_task_stats **stats,
			  size_t *nr);

/*
 * Counts every thread from zero (for the next measurement), and forgets
 * those that exited.
 */
int gs_sched_monitor_reset(struct gs_sched_monitor *monitor);

/*
 * Detaches every program (@attached false) or attaches them again (true),
 * keeping the records: migrations and exits while detached are not seen.
 * The kernel keeps counting run time and waits: the run time of the time
 * detached is credited to the node of the CPU a thread is on at its next
 * migration seen, and a thread's first switch-out after they are attached
 * again sorts the waits the kernel saw meanwhile (as their mean).
 * Reset after attaching again to count from there on.
 * For comparing the scheduler with and without the monitor in one run.
 * The programs are attached through file descriptors: a child forked while
 * they were attached keeps them attached until it closes its copies (exec
 * does) or exits.  Returns 0 or a negative errno with @message (256 bytes)
 * saying why.
 */
int gs_sched_monitor_attach(struct gs_sched_monitor *monitor, bool attached, char *message);

/* Detaches and frees (NULL is allowed). */
void gs_sched_monitor_close(struct gs_sched_monitor *monitor);

/*
 * The kernel memory of the per-thread counters: *@per_thread bytes of key
 * and value for each thread that migrated, exited or was renamed (with
 * histograms, each thread switched out), in a hash map the kernel allocates
 * whole for *@max_threads threads when the monitor loads (its own
 * per-element bookkeeping comes on top).
 */
void gs_sched_monitor_memory(const struct gs_sched_monitor *monitor, size_t *per_thread,
			     size_t *max_threads);

/*
 * The latency below which @fraction (0.5 for p50, 0.99 for p99) of the
 * waits in @latency fall, in microseconds: the upper edge of the slot
 * that crosses it.  0 when there are no samples.
 */
uint64_t gs_monitor_latency_percentile(const uint64_t *latency, double fraction);

#endif /* GPUSCHED_SCHED_MONITOR_H */
