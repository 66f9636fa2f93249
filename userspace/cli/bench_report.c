// SPDX-License-Identifier: GPL-2.0
/*
 * What `gpusched bench` hands back: aligned tables for a person (per
 * policy the median of each number and its min-max over the repetitions;
 * the micro-benchmarks), one JSON object for programs, a CSV file with one
 * row per policy and repetition for spreadsheets and plotting scripts, and
 * an SVG plot drawn by hand (no library), so a result can be looked at in
 * any browser: throughput per policy with min-max whiskers and every
 * repetition as a dot, beside run-queue latency p99 (or, without the
 * scheduler monitor, migrations).  Unavailable numbers are "-" in tables,
 * null in JSON and empty in CSV.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "libgpusched.h"

static void format_number(char *text, size_t size, double value, int decimals)
{
	if (isnan(value))
		snprintf(text, size, "-");
	else
		snprintf(text, size, "%.*f", decimals, value);
}

/* "median (min-max)", or the median alone when the spread is nil. */
static void format_spread(char *text, size_t size, const struct bench_policy *p,
			  enum bench_metric m)
{
	char median[32], min[32], max[32];
	int decimals = bench_metrics[m].decimals;

	format_number(median, sizeof(median), p->median[m], decimals);
	format_number(min, sizeof(min), p->min[m], decimals);
	format_number(max, sizeof(max), p->max[m], decimals);
	if (isnan(p->median[m]) || !strcmp(min, max))
		snprintf(text, size, "%s", median);
	else
		snprintf(text, size, "%s (%s-%s)", median, min, max);
}

static bool metric_measured(const struct bench *b, enum bench_metric m)
{
	unsigned int i;

	for (i = 0; i < b->nr_policies; i++)
		if (!isnan(b->policies[i].median[m]))
			return true;
	return false;
}

static void print_policy_table(const struct bench *b)
{
	const char *headers[1 + BENCH_NR_METRICS];
	const char *cells[1 + BENCH_NR_METRICS];
	char text[BENCH_NR_METRICS][112];
	struct cli_table *table;
	unsigned int i, m, n;

	n = 0;
	headers[n++] = "POLICY";
	for (m = 0; m < BENCH_NR_METRICS; m++)
		/* Mean wait is the procfs stand-in for the percentiles: shown only when they are missing. */
		if (m != BENCH_RQ_WAIT_MEAN || !metric_measured(b, BENCH_RQ_P99))
			headers[n++] = bench_metrics[m].header;
	table = cli_table_new(n, headers);
	for (i = 0; i < b->nr_policies; i++) {
		n = 0;
		cells[n++] = b->policies[i].name;
		for (m = 0; m < BENCH_NR_METRICS; m++) {
			if (m == BENCH_RQ_WAIT_MEAN && metric_measured(b, BENCH_RQ_P99))
				continue;
			format_spread(text[m], sizeof(text[m]), &b->policies[i], m);
			cells[n++] = text[m];
		}
		cli_table_row_cells(table, cells);
	}
	printf("%u worker%s (main + %u loader%s + background, %u MiB buffers), %u s per run, %u run%s per policy, interleaved; median (min-max):\n",
	       b->workers, b->workers == 1 ? "" : "s", b->loaders, b->loaders == 1 ? "" : "s",
	       b->buffer_mib, b->seconds, b->repetitions, b->repetitions == 1 ? "" : "s");
	cli_table_print(table, stdout);
	if (b->monitor_used)
		printf("Scheduler numbers from the BPF monitor (run-queue latency: upper edge of a log2 bucket).\n");
	else
		printf("Scheduler monitor unavailable (%s): migrations from /proc/PID/task/TID/sched, mean run-queue wait per time slice from .../schedstat; the other columns are not measured.\n",
		       b->monitor_reason);
}

static void format_ns(char *text, size_t size, double ns)
{
	if (isnan(ns))
		snprintf(text, size, "-");
	else if (ns >= 1e6)
		snprintf(text, size, "%.2f ms", ns / 1e6);
	else if (ns >= 1e4)
		snprintf(text, size, "%.1f us", ns / 1e3);
	else
		snprintf(text, size, "%.0f ns", ns);
}

/* A figure of a micro-benchmark row in its unit: a time, or bytes. */
static void format_figure(char *text, size_t size, double value, const char *unit)
{
	if (strcmp(unit, "bytes") || isnan(value))
		format_ns(text, size, value);
	else
		snprintf(text, size, "%.0f B", value);
}

static void print_micro_table(const struct bench *b)
{
	static const char *const headers[] = {
		"GROUP", "WHAT", "CONDITION", "MEDIAN", "P10-P90", "N", "NOTE"
	};
	struct cli_table *table = cli_table_new(7, headers);
	char median[32], p10[32], p90[32], spread[80], count[16];
	unsigned int i;

	for (i = 0; i < b->nr_micro; i++) {
		const struct bench_micro *row = &b->micro[i];

		format_figure(median, sizeof(median), row->median_ns, row->unit);
		format_figure(p10, sizeof(p10), row->p10_ns, row->unit);
		format_figure(p90, sizeof(p90), row->p90_ns, row->unit);
		if (row->samples)
			snprintf(spread, sizeof(spread), "%s-%s", p10, p90);
		else
			snprintf(spread, sizeof(spread), "-");
		snprintf(count, sizeof(count), "%u", row->samples);
		cli_table_row(table, row->group, row->name, row->condition[0] ? row->condition : "-",
			      median, spread, count, row->note);
	}
	printf("Micro-benchmarks (median per call or per thread, spread as 10th-90th percentile):\n");
	cli_table_print(table, stdout);
}

/* Counts as integers, other numbers to 10 significant digits (not 17 digits of binary noise). */
static struct json_object *json_number(double value)
{
	char text[32];

	if (isnan(value))
		return NULL;
	if (value > -1e15 && value < 1e15 && (double)(long long)value == value)
		return json_object_new_int64((long long)value);
	snprintf(text, sizeof(text), "%.10g", value);
	return json_object_new_double_s(value, text);
}

static struct json_object *policy_json(const struct bench *b, const struct bench_policy *p)
{
	struct json_object *entry = json_object_new_object(), *summary = json_object_new_object();
	struct json_object *repetitions = json_object_new_array();
	unsigned int m, r, w;

	json_object_object_add(entry, "policy", json_object_new_string(p->name));
	for (m = 0; m < BENCH_NR_METRICS; m++) {
		struct json_object *spread = json_object_new_object();

		json_object_object_add(spread, "median", json_number(p->median[m]));
		json_object_object_add(spread, "min", json_number(p->min[m]));
		json_object_object_add(spread, "max", json_number(p->max[m]));
		json_object_object_add(summary, bench_metrics[m].key, spread);
	}
	json_object_object_add(entry, "summary", summary);
	for (r = 0; r < b->repetitions; r++) {
		const struct bench_repetition *rep = &p->repetitions[r];
		struct json_object *row = json_object_new_object();
		struct json_object *workers = json_object_new_array();

		json_object_object_add(row, "repetition", json_object_new_int(r + 1));
		for (m = 0; m < BENCH_NR_METRICS; m++)
			json_object_object_add(row, bench_metrics[m].key,
					       json_number(rep->metric[m]));
		for (w = 0; w < b->workers; w++) {
			struct json_object *worker = json_object_new_object();

			json_object_object_add(worker, "pid", json_object_new_int(rep->workers[w].pid));
			json_object_object_add(worker, "gpu", json_object_new_int(rep->workers[w].gpu));
			json_object_object_add(worker, "gpu_node", rep->workers[w].gpu_node < 0 ? NULL :
					       json_object_new_int(rep->workers[w].gpu_node));
			json_object_object_add(worker, "cpus", rep->workers[w].cpus ?
					       json_object_new_string(rep->workers[w].cpus) : NULL);
			json_object_object_add(worker, "throughput_passes_per_s",
					       json_number(rep->workers[w].rate));
			json_object_array_add(workers, worker);
		}
		json_object_object_add(row, "workers", workers);
		json_object_array_add(repetitions, row);
	}
	json_object_object_add(entry, "repetitions", repetitions);
	return entry;
}

static struct json_object *bench_json(const struct bench *b)
{
	struct json_object *root = json_object_new_object(), *machine = json_object_new_object();
	struct json_object *parameters = json_object_new_object(), *list, *policies, *micro;
	struct json_object *monitor = json_object_new_object();
	unsigned int i;

	json_object_object_add(machine, "kernel", json_object_new_string(b->kernel));
	json_object_object_add(machine, "nr_cpus", json_object_new_int(gs_topo_nr_cpus(b->machine)));
	json_object_object_add(machine, "nr_nodes",
			       json_object_new_int(gs_topo_nr_nodes(b->machine)));
	json_object_object_add(machine, "nr_gpus", json_object_new_int(b->nr_gpus));
	json_object_object_add(machine, "gpus_from", json_object_new_string(b->gpus_from_module ?
			       "module" : "discovery"));
	json_object_object_add(machine, "module_loaded", json_object_new_boolean(b->gs != NULL));
	json_object_object_add(root, "machine", machine);

	json_object_object_add(parameters, "workers", json_object_new_int(b->workers));
	json_object_object_add(parameters, "loaders", json_object_new_int(b->loaders));
	json_object_object_add(parameters, "buffer_mib", json_object_new_int(b->buffer_mib));
	json_object_object_add(parameters, "seconds", json_object_new_int(b->seconds));
	json_object_object_add(parameters, "repetitions", json_object_new_int(b->repetitions));
	list = json_object_new_array();
	for (i = 0; i < b->nr_policies; i++)
		json_object_array_add(list, json_object_new_string(b->policies[i].name));
	json_object_object_add(parameters, "policies", list);
	list = json_object_new_array();
	for (i = 0; i < b->nr_gpu_list; i++)
		json_object_array_add(list, json_object_new_int(b->gpu_list[i]));
	json_object_object_add(parameters, "gpus", list);
	json_object_object_add(parameters, "micro_only", json_object_new_boolean(b->micro_only));
	json_object_object_add(root, "parameters", parameters);

	json_object_object_add(monitor, "available", json_object_new_boolean(b->monitor_used));
	json_object_object_add(monitor, "reason", b->monitor_used ? NULL :
			       json_object_new_string(b->monitor_reason));
	json_object_object_add(monitor, "migrations_from", json_object_new_string(b->monitor_used ?
			       "bpf" : "procfs se.nr_migrations"));
	json_object_object_add(root, "monitor", monitor);

	policies = json_object_new_object();
	for (i = 0; !b->micro_only && i < b->nr_policies; i++)
		json_object_object_add(policies, b->policies[i].name, policy_json(b, &b->policies[i]));
	json_object_object_add(root, "policies", policies);

	micro = json_object_new_array();
	for (i = 0; i < b->nr_micro; i++) {
		const struct bench_micro *row = &b->micro[i];
		struct json_object *entry = json_object_new_object();
		char key[32];

		json_object_object_add(entry, "group", json_object_new_string(row->group));
		json_object_object_add(entry, "name", json_object_new_string(row->name));
		json_object_object_add(entry, "condition", json_object_new_string(row->condition));
		json_object_object_add(entry, "samples", json_object_new_int(row->samples));
		/* The unit, and again in the figures' names: median_ns, median_bytes. */
		json_object_object_add(entry, "unit", json_object_new_string(row->unit));
		snprintf(key, sizeof(key), "median_%s", row->unit);
		json_object_object_add(entry, key, json_number(row->median_ns));
		snprintf(key, sizeof(key), "p10_%s", row->unit);
		json_object_object_add(entry, key, json_number(row->p10_ns));
		snprintf(key, sizeof(key), "p90_%s", row->unit);
		json_object_object_add(entry, key, json_number(row->p90_ns));
		json_object_object_add(entry, "note", json_object_new_string(row->note));
		json_object_array_add(micro, entry);
	}
	json_object_object_add(root, "micro", micro);
	return root;
}

static int write_csv(const struct bench *b)
{
	FILE *out = fopen(b->csv_path, "we");
	unsigned int i, r, m;

	if (!out) {
		cli_error("--csv %s: %s", b->csv_path, strerror(errno));
		return EXIT_FAILURE_RUNTIME;
	}
	fprintf(out, "policy,repetition,workers,seconds");
	for (m = 0; m < BENCH_NR_METRICS; m++)
		fprintf(out, ",%s", bench_metrics[m].key);
	fprintf(out, ",scheduler_source\n");
	for (i = 0; i < b->nr_policies; i++) {
		for (r = 0; r < b->repetitions; r++) {
			fprintf(out, "%s,%u,%u,%u", b->policies[i].name, r + 1, b->workers,
				b->seconds);
			for (m = 0; m < BENCH_NR_METRICS; m++) {
				double value = b->policies[i].repetitions[r].metric[m];

				if (isnan(value))
					fputc(',', out);
				else
					fprintf(out, ",%.6g", value);
			}
			fprintf(out, ",%s\n", b->monitor_used ? "bpf" : "procfs");
		}
	}
	if (fclose(out)) {
		cli_error("--csv %s: %s", b->csv_path, strerror(errno));
		return EXIT_FAILURE_RUNTIME;
	}
	return 0;
}

/* ---- The SVG plot ---- */

#define SVG_WIDTH	960
#define SVG_HEIGHT	440
#define PANEL_WIDTH	440
#define PLOT_TOP	70
#define PLOT_HEIGHT	280

static const char *const policy_colours[] = {
	"#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"
};

/* A round axis maximum (1, 2, 2.5 or 5 times a power of ten) at or above @value. */
static double axis_max(double value)
{
	static const double steps[] = { 1, 2, 2.5, 5, 10 };
	double power = 1;
	unsigned int i;

	if (!(value > 0))
		return 1;
	/* The power of ten at or below @value, without libm. */
	while (power * 10 <= value)
		power *= 10;
	while (power > value)
		power /= 10;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] * power >= value)
			return steps[i] * power;
	return 10 * power;
}

static void svg_axis_label(FILE *out, double value, char *text, size_t size)
{
	(void)out;
	if (value >= 1e6)
		snprintf(text, size, "%gM", value / 1e6);
	else if (value >= 1e4)
		snprintf(text, size, "%gk", value / 1e3);
	else
		snprintf(text, size, "%g", value);
}

/* One panel: a bar per policy at its median, whiskers at min and max, a dot per repetition. */
static void svg_panel(FILE *out, const struct bench *b, enum bench_metric m, int left,
		      const char *title)
{
	int plot_left = left + 60, plot_width = PANEL_WIDTH - 80;
	int slot = plot_width / (int)b->nr_policies, bar = slot * 3 / 5;
	double top = 0, value, scale;
	char label[32];
	unsigned int i, r, tick;

	for (i = 0; i < b->nr_policies; i++)
		for (r = 0; r < b->repetitions; r++) {
			value = b->policies[i].repetitions[r].metric[m];
			if (!isnan(value) && value > top)
				top = value;
		}
	top = axis_max(top);
	scale = PLOT_HEIGHT / top;
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
		left + PANEL_WIDTH / 2, PLOT_TOP - 25, title);
	for (tick = 0; tick <= 5; tick++) {
		double y = PLOT_TOP + PLOT_HEIGHT - tick * PLOT_HEIGHT / 5.0;

		svg_axis_label(out, top * tick / 5, label, sizeof(label));
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n",
			plot_left, y, plot_left + plot_width, y);
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%s</text>\n",
			plot_left - 6, y + 4, label);
	}
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n",
		plot_left, PLOT_TOP, plot_left, PLOT_TOP + PLOT_HEIGHT);
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n",
		plot_left, PLOT_TOP + PLOT_HEIGHT, plot_left + plot_width, PLOT_TOP + PLOT_HEIGHT);
	for (i = 0; i < b->nr_policies; i++) {
		const struct bench_policy *p = &b->policies[i];
		int x = plot_left + slot * (int)i + (slot - bar) / 2, centre = x + bar / 2;
		const char *colour = policy_colours[i % 8];

		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">%s</text>\n",
			centre, PLOT_TOP + PLOT_HEIGHT + 18, p->name);
		if (isnan(p->median[m])) {
			fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#999999\">n/a</text>\n",
				centre, PLOT_TOP + PLOT_HEIGHT - 6);
			continue;
		}
		fprintf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.75\"><title>%s: median %g, min %g, max %g</title></rect>\n",
			x, PLOT_TOP + PLOT_HEIGHT - p->median[m] * scale, bar, p->median[m] * scale,
			colour, p->name, p->median[m], p->min[m], p->max[m]);
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\" stroke-width=\"1.5\"/>\n",
			centre, PLOT_TOP + PLOT_HEIGHT - p->min[m] * scale, centre,
			PLOT_TOP + PLOT_HEIGHT - p->max[m] * scale);
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\" stroke-width=\"1.5\"/>\n",
			centre - bar / 4, PLOT_TOP + PLOT_HEIGHT - p->min[m] * scale,
			centre + bar / 4, PLOT_TOP + PLOT_HEIGHT - p->min[m] * scale);
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\" stroke-width=\"1.5\"/>\n",
			centre - bar / 4, PLOT_TOP + PLOT_HEIGHT - p->max[m] * scale,
			centre + bar / 4, PLOT_TOP + PLOT_HEIGHT - p->max[m] * scale);
		for (r = 0; r < b->repetitions; r++) {
			value = p->repetitions[r].metric[m];
			fprintf(out, "<circle cx=\"%d\" cy=\"%.1f\" r=\"3\" fill=\"white\" stroke=\"black\"/>\n",
				x + bar / 5 + (int)(r * (bar * 3 / 5) / (b->repetitions > 1 ?
								       b->repetitions - 1 : 1)),
				PLOT_TOP + PLOT_HEIGHT - value * scale);
		}
	}
}

static int write_svg(const struct bench *b)
{
	FILE *out = fopen(b->svg_path, "we");
	enum bench_metric second = BENCH_RQ_P99;
	char title[320];

	if (!out) {
		cli_error("--svg %s: %s", b->svg_path, strerror(errno));
		return EXIT_FAILURE_RUNTIME;
	}
	/* The second panel shows the scheduler's side: latency if measured, else migrations. */
	if (!metric_measured(b, BENCH_RQ_P99))
		second = metric_measured(b, BENCH_CROSS_NODE) ? BENCH_CROSS_NODE : BENCH_MIGRATIONS;
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
		SVG_WIDTH, SVG_HEIGHT, SVG_WIDTH, SVG_HEIGHT);
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	snprintf(title, sizeof(title),
		 "gpusched bench on %s: %u worker%s, %u s x %u runs; bars: median, whiskers: min-max, dots: runs",
		 b->kernel, b->workers, b->workers == 1 ? "" : "s", b->seconds, b->repetitions);
	fprintf(out, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n",
		SVG_WIDTH / 2, title);
	svg_panel(out, b, BENCH_THROUGHPUT, 20, bench_metrics[BENCH_THROUGHPUT].label);
	svg_panel(out, b, second, 20 + PANEL_WIDTH + 40, bench_metrics[second].label);
	if (!b->monitor_used)
		fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#666666\">scheduler monitor unavailable: migrations from procfs</text>\n",
			SVG_WIDTH / 2, SVG_HEIGHT - 12);
	fprintf(out, "</svg>\n");
	if (fclose(out)) {
		cli_error("--svg %s: %s", b->svg_path, strerror(errno));
		return EXIT_FAILURE_RUNTIME;
	}
	return 0;
}

int bench_report(struct bench *b)
{
	int ret = 0;

	if (b->csv_path)
		ret = write_csv(b);
	if (!ret && b->svg_path)
		ret = write_svg(b);
	if (b->common.json) {
		cli_print_json(bench_json(b));
	} else {
		if (!b->micro_only)
			print_policy_table(b);
		if (!b->micro_only && b->nr_micro)
			putchar('\n');
		if (b->nr_micro)
			print_micro_table(b);
	}
	return ret;
}
