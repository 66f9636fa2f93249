/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of `gpusched bench` share: the run's options, the machine
 * it runs on, the measurements of every policy and repetition, and the
 * micro-benchmarks.  bench.c runs the stand-in workers under each policy,
 * bench_micro.c times single operations, bench_report.c prints tables,
 * JSON, CSV and the SVG plot.
 */
#ifndef GPUSCHED_CLI_BENCH_H
#define GPUSCHED_CLI_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "cli.h"

struct gpusched;
struct gs_sched_monitor;

#define BENCH_MAX_POLICIES	8
/* Internal policy value for "none": the uapi's 0 is its "default", which bench does not take. */
#define BENCH_POLICY_NONE	0u

/* The numbers of one policy's repetition; NAN where a number is unavailable. */
enum bench_metric {
	BENCH_THROUGHPUT,	/* passes/s summed over the workers' streaming threads */
	BENCH_MIGRATIONS,	/* migrations of all the workers' threads */
	BENCH_CROSS_NODE,	/* ... of them between NUMA nodes */
	BENCH_GPU_NODE_SHARE,	/* run time on the worker's GPU's node / all run time */
	BENCH_RQ_P50,		/* run-queue latency percentiles, microseconds */
	BENCH_RQ_P99,
	BENCH_RQ_WAIT_MEAN,	/* mean run-queue wait per time slice (schedstat), microseconds */
	BENCH_NR_METRICS,
};

struct bench_metric_info {
	const char *key;	/* JSON and CSV name */
	const char *header;	/* table column */
	const char *label;	/* plot axis */
	int decimals;		/* in the table */
};

extern const struct bench_metric_info bench_metrics[BENCH_NR_METRICS];

/* Where a worker ran in one repetition. */
struct bench_worker {
	pid_t pid;
	unsigned int gpu;
	int gpu_node;		/* -1: unknown */
	char *cpus;		/* the pin's CPUs; NULL when not pinned */
	double rate;		/* its passes/s */
};

struct bench_repetition {
	double metric[BENCH_NR_METRICS];
	struct bench_worker *workers;
};

struct bench_policy {
	unsigned int policy;	/* GPUSCHED_POLICY_* or BENCH_POLICY_NONE */
	const char *name;
	struct bench_repetition *repetitions;
	double median[BENCH_NR_METRICS], min[BENCH_NR_METRICS], max[BENCH_NR_METRICS];
};

/* One row of the micro-benchmark table. */
struct bench_micro {
	char *group;		/* "pin", "launch", "placement" */
	char *name;		/* what was timed */
	char *condition;	/* "CPU move", "no CPU move", a policy ... or "" */
	unsigned int samples;	/* 0: not measured, see note */
	const char *unit;	/* of the three figures: "ns" (the default) or "bytes" */
	double median_ns, p10_ns, p90_ns;
	char *note;		/* why it was not measured, or a remark */
};

struct bench {
	struct cli_common common;
	/* Options. */
	unsigned int workers, loaders, buffer_mib, seconds, repetitions;
	unsigned int nr_gpu_list;
	unsigned int gpu_list[64];	/* GPUs the workers use, round robin */
	bool gpus_given;
	struct bench_policy policies[BENCH_MAX_POLICIES];
	unsigned int nr_policies;
	const char *csv_path, *svg_path, *standin_option;
	char *standin;
	bool micro_only, no_micro;
	int hotplug_cpu;		/* --hotplug-cpu, or -1 */
	unsigned int daemon_seconds;	/* --daemon-seconds, or 0 */
	/* The machine. */
	struct gs_machine *machine;
	struct gpusched *gs;		/* NULL: the module is not loaded */
	unsigned int nr_gpus;		/* of the module's topology, else discovery's */
	int *gpu_node;			/* nr_gpus entries */
	bool gpus_from_module;
	int *cpu_node;			/* nr_cpus entries, -1 unknown */
	unsigned int nr_cpus;		/* highest CPU id + 1 */
	char kernel[128];
	/* The scheduler monitor, or why there is none. */
	struct gs_sched_monitor *monitor;	/* open while the policies run */
	bool monitor_used;			/* the policies' numbers come from it */
	char monitor_reason[256];
	/* Micro-benchmarks. */
	struct bench_micro *micro;
	unsigned int nr_micro;
	/* gpuschedd's CPU time while bench runs: its pid (0: none), the start. */
	int daemon_pid;
	double daemon_cpu_ns, daemon_since_ns;
};

/* The GPU worker @w uses. */
static inline unsigned int bench_worker_gpu(const struct bench *b, unsigned int w)
{
	return b->gpu_list[w % b->nr_gpu_list];
}

/* Median and the 10th and 90th percentiles of @n samples (sorted in place). */
void bench_percentiles(double *samples, unsigned int n, double *median, double *p10,
		       double *p90);

/* Adds a micro-benchmark row; the strings are copied.  @samples 0 with a @note: skipped. */
void bench_micro_add(struct bench *b, const char *group, const char *name, const char *condition,
		     double *samples, unsigned int nr_samples, const char *note, ...)
	__attribute__((format(printf, 7, 8)));

/* Sets the unit of the last row added: "ns" unless said otherwise. */
void bench_micro_unit(struct bench *b, const char *unit);

/* Runs the micro-benchmarks into b->micro.  Never fails: what cannot run says why. */
void bench_run_micro(struct bench *b);

/*
 * bench_kernel.c: rows of the kernel memory a pin keeps per thread and per
 * worker, and of CPU hotplug to the module's new topology (--hotplug-cpu;
 * run after bench_daemon_finish(), since it makes gpuschedd work).
 */
void bench_micro_memory(struct bench *b);
void bench_micro_hotplug(struct bench *b);

/*
 * Notes gpuschedd's CPU time now; bench_daemon_finish() adds a row with its
 * CPU time per second since, which is its idle cost (bench changes nothing
 * the daemon watches), or says why there is none.  With --daemon-seconds S
 * it first waits until S seconds have passed since the start.
 */
void bench_daemon_start(struct bench *b);
void bench_daemon_finish(struct bench *b);

/* Prints the tables, or the JSON; writes the CSV and SVG files.  Returns 0 or an exit code. */
int bench_report(struct bench *b);

#endif /* GPUSCHED_CLI_BENCH_H */
