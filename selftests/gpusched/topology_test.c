// SPDX-License-Identifier: GPL-2.0
/*
 * Checks that the booted guest is the machine its topology file describes
 * (selftests/vm/topologies/), so that a harness which silently boots the
 * wrong machine fails instead of testing placement on it: NUMA nodes and
 * their CPUs, memory and distances, SMT siblings and packages of every CPU,
 * and every stand-in GPU's vendor, numa_node and local_cpulist.
 *
 * Usage: topology_test [FILE]   (default: $GPUSCHED_TOPOLOGY)
 * Output: TAP, through kselftest.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest.h"

#define MAX_NODES 64
#define MAX_GPUS 32

struct topo_node {
	int id;
	char cpus[128];		/* cpulist as the kernel prints it; "" when memory-only */
	unsigned long mem_mib;
};

struct topo_gpu {
	char pci_address[32];
	int node;
	char vendor[16];
};

struct topology {
	int nr_cpus, sockets, cores, threads;
	int nr_nodes;
	struct topo_node nodes[MAX_NODES];
	int distance[MAX_NODES][MAX_NODES];	/* indexed by position in nodes[] */
	int nr_gpus;
	struct topo_gpu gpus[MAX_GPUS];
};

static int node_index(const struct topology *t, int id)
{
	for (int i = 0; i < t->nr_nodes; i++)
		if (t->nodes[i].id == id)
			return i;
	return -1;
}

static int parse_line(struct topology *t, char *line)
{
	char kw[32];
	int n;

	if (sscanf(line, "%31s%n", kw, &n) != 1 || kw[0] == '#')
		return 0;
	line += n;

	if (!strcmp(kw, "description") || !strcmp(kw, "kernel"))
		return 0;
	if (!strcmp(kw, "cpus"))
		return sscanf(line, "%d sockets=%d cores=%d threads=%d", &t->nr_cpus,
			      &t->sockets, &t->cores, &t->threads) == 4 &&
		       t->nr_cpus == t->sockets * t->cores * t->threads ? 0 : -1;
	if (!strcmp(kw, "node")) {
		struct topo_node *node = &t->nodes[t->nr_nodes];
		char *tok, *save = NULL;

		if (t->nr_nodes == MAX_NODES || sscanf(line, "%d", &node->id) != 1)
			return -1;
		node->cpus[0] = '\0';
		for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
			if (!strncmp(tok, "cpus=", 5))
				snprintf(node->cpus, sizeof(node->cpus), "%s", tok + 5);
			else if (!strncmp(tok, "mem=", 4))
				node->mem_mib = strtoul(tok + 4, NULL, 10);
		}
		t->nr_nodes++;
		return 0;
	}
	if (!strcmp(kw, "distance")) {
		int a, b, v, ia, ib;

		if (sscanf(line, "%d %d %d", &a, &b, &v) != 3)
			return -1;
		ia = node_index(t, a);
		ib = node_index(t, b);
		if (ia < 0 || ib < 0)
			return -1;
		t->distance[ia][ib] = v;
		t->distance[ib][ia] = v;
		return 0;
	}
	if (!strcmp(kw, "gpu")) {
		struct topo_gpu *gpu = &t->gpus[t->nr_gpus];

		if (t->nr_gpus == MAX_GPUS ||
		    sscanf(line, "%31s node=%d model=%*s vendor=%15s", gpu->pci_address,
			   &gpu->node, gpu->vendor) != 3)
			return -1;
		t->nr_gpus++;
		return 0;
	}
	return -1;
}

static int load_topology(const char *path, struct topology *t)
{
	char line[512];
	int lineno = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	f = fopen(path, "r");
	if (!f)
		ksft_exit_fail_msg("cannot open topology file %s: %s\n", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (parse_line(t, line))
			ksft_exit_fail_msg("%s:%d: cannot parse '%s'\n", path, lineno, line);
	}
	fclose(f);

	/* Unlisted pairs take the ACPI defaults QEMU also uses. */
	for (int i = 0; i < t->nr_nodes; i++)
		for (int j = 0; j < t->nr_nodes; j++)
			if (!t->distance[i][j])
				t->distance[i][j] = i == j ? 10 : 20;
	if (!t->nr_cpus || !t->nr_nodes)
		ksft_exit_fail_msg("%s: needs a cpus line and at least one node\n", path);
	return 0;
}

/* Reads the first line of a sysfs file without its newline; false if absent. */
static bool read_line(char *buf, size_t len, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

static int count_entries(const char *dir, const char *prefix)
{
	size_t len = strlen(prefix);
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, len) && de->d_name[len] >= '0' &&
		    de->d_name[len] <= '9')
			n++;
	closedir(d);
	return n;
}

static void check_counts(const struct topology *t)
{
	int n;

	n = count_entries("/sys/devices/system/node", "node");
	ksft_test_result(n == t->nr_nodes, "nodes: guest has %d, topology %d\n", n, t->nr_nodes);
	n = count_entries("/sys/devices/system/cpu", "cpu");
	ksft_test_result(n == t->nr_cpus, "cpus: guest has %d, topology %d\n", n, t->nr_cpus);
}

static void check_node(const struct topology *t, int i)
{
	const struct topo_node *node = &t->nodes[i];
	unsigned long mem_kib = 0;
	char buf[4096], want[1024];
	size_t off = 0;
	char *p;

	if (!read_line(buf, sizeof(buf), "/sys/devices/system/node/node%d/cpulist", node->id))
		snprintf(buf, sizeof(buf), "(missing)");
	ksft_test_result(!strcmp(buf, node->cpus), "node%d cpulist '%s', topology '%s'\n",
			 node->id, buf, node->cpus);

	/* "Node 2 MemTotal:  262144 kB" is the first line of meminfo. */
	if (read_line(buf, sizeof(buf), "/sys/devices/system/node/node%d/meminfo", node->id)) {
		p = strstr(buf, "MemTotal:");
		if (p)
			mem_kib = strtoul(p + strlen("MemTotal:"), NULL, 10);
	}
	ksft_test_result(mem_kib <= node->mem_mib * 1024 && mem_kib > node->mem_mib * 1024 / 2,
			 "node%d memory %lu KiB, topology %lu MiB\n", node->id, mem_kib,
			 node->mem_mib);

	for (int j = 0; j < t->nr_nodes; j++)
		off += snprintf(want + off, sizeof(want) - off, "%s%d", j ? " " : "",
				t->distance[i][j]);
	if (!read_line(buf, sizeof(buf), "/sys/devices/system/node/node%d/distance", node->id))
		snprintf(buf, sizeof(buf), "(missing)");
	ksft_test_result(!strcmp(buf, want), "node%d distances '%s', topology '%s'\n",
			 node->id, buf, want);
}

static void check_cpu(const struct topology *t, int cpu)
{
	int first = cpu - cpu % t->threads;
	char buf[256], want[64];

	/* QEMU numbers CPUs socket-major, then core, then thread. */
	if (t->threads == 1)
		snprintf(want, sizeof(want), "%d", cpu);
	else
		snprintf(want, sizeof(want), "%d-%d", first, first + t->threads - 1);
	if (!read_line(buf, sizeof(buf),
		       "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu))
		snprintf(buf, sizeof(buf), "(missing)");
	ksft_test_result(!strcmp(buf, want), "cpu%d SMT siblings '%s', topology '%s'\n",
			 cpu, buf, want);

	snprintf(want, sizeof(want), "%d", cpu / (t->cores * t->threads));
	if (!read_line(buf, sizeof(buf),
		       "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu))
		snprintf(buf, sizeof(buf), "(missing)");
	ksft_test_result(!strcmp(buf, want), "cpu%d package %s, topology %s\n", cpu, buf, want);
}

static void check_gpu(const struct topology *t, const struct topo_gpu *gpu)
{
	const char *dev = "/sys/bus/pci/devices";
	int i = node_index(t, gpu->node);
	char buf[256], want[32];

	snprintf(want, sizeof(want), "0x%s", gpu->vendor);
	if (!read_line(buf, sizeof(buf), "%s/%s/vendor", dev, gpu->pci_address))
		snprintf(buf, sizeof(buf), "(no device)");
	ksft_test_result(!strcmp(buf, want), "gpu %s vendor %s, topology %s\n",
			 gpu->pci_address, buf, want);

	snprintf(want, sizeof(want), "%d", gpu->node);
	if (!read_line(buf, sizeof(buf), "%s/%s/numa_node", dev, gpu->pci_address))
		snprintf(buf, sizeof(buf), "(no device)");
	ksft_test_result(!strcmp(buf, want), "gpu %s numa_node %s, topology %s\n",
			 gpu->pci_address, buf, want);

	if (!read_line(buf, sizeof(buf), "%s/%s/local_cpulist", dev, gpu->pci_address))
		snprintf(buf, sizeof(buf), "(no device)");
	ksft_test_result(i >= 0 && !strcmp(buf, t->nodes[i].cpus),
			 "gpu %s local_cpulist '%s', topology '%s'\n", gpu->pci_address, buf,
			 i >= 0 ? t->nodes[i].cpus : "(node not in topology)");
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : getenv("GPUSCHED_TOPOLOGY");
	static struct topology t;

	ksft_print_header();
	if (!path)
		ksft_exit_fail_msg("usage: %s TOPOLOGY-FILE (or set GPUSCHED_TOPOLOGY)\n", argv[0]);
	load_topology(path, &t);
	ksft_print_msg("topology %s: %d cpus, %d nodes, %d gpus\n", path, t.nr_cpus,
		       t.nr_nodes, t.nr_gpus);
	ksft_set_plan(2 + 3 * t.nr_nodes + 2 * t.nr_cpus + 3 * t.nr_gpus);

	check_counts(&t);
	for (int i = 0; i < t.nr_nodes; i++)
		check_node(&t, i);
	for (int cpu = 0; cpu < t.nr_cpus; cpu++)
		check_cpu(&t, cpu);
	for (int i = 0; i < t.nr_gpus; i++)
		check_gpu(&t, &t.gpus[i]);
	ksft_finished();
}
