// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions each vCPU executes
 * between marker addresses, so that the cost of a system call can be had
 * in numbers that do not depend on how fast the emulator runs.
 *
 * The guest program (icount_probe.c) maps a page of `ret` instructions at
 * ICOUNT_BEGIN and calls ICOUNT_BEGIN before the call it measures and
 * ICOUNT_END(kind) after it.  Between the two, every translation block the
 * vCPU runs adds its instructions to the vCPU's count; at the end marker
 * the count goes to that kind's total.  Everything the vCPU runs in
 * between is counted: the kernel's work for the call, and interrupts and
 * other tasks that happen to run there, which the minimum leaves out and
 * the median (of every call's count, kept) mostly does.
 *
 * Of each count, the instructions run in the kernel's half of the address
 * space are also added up apart.
 *
 * With "functions=on" the plugin also keeps, per kind, the instructions
 * of each kernel block by its start address, which icount.sh names from
 * the guest's /proc/kallsyms, and those of user space as one sum: a new
 * process's code is at new addresses, and the table would fill up.
 *
 * Debian 12 packages QEMU 7.2 without its plugin header, so the few
 * functions of its plugin API (version 1) used here are declared below.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICOUNT_BEGIN	0x5a003000ULL
#define ICOUNT_END0	(ICOUNT_BEGIN + 0x40)
#define ICOUNT_STRIDE	0x40ULL
#define ICOUNT_KINDS	24
#define ICOUNT_VCPUS	64
/* Blocks one vCPU may run between two markers before the rest go uncounted by function. */
#define ICOUNT_TRAIL	(1u << 22)
#define ICOUNT_SLOTS	(1u << 16)
/* x86-64: the kernel's half of the address space. */
#define ICOUNT_KERNEL	0xffff800000000000ULL

/* QEMU's plugin API, version 1 (QEMU 7.2). */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
				    void *userdata);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One translated block: where it starts and how many instructions it has. */
struct block {
	uint64_t vaddr;
	uint32_t nr_insns;
};

/* Each vCPU's state, touched only by that vCPU's thread. */
struct vcpu {
	bool counting;
	uint64_t count;
	uint64_t kernel;		/* of @count, in the kernel */
	uint32_t nr_trail;
	const struct block **trail;	/* blocks run since the begin marker */
};

struct slot {
	uint64_t vaddr;
	uint64_t insns;
};

/* Per kind, under lock: the totals, and the instructions by block start. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total[ICOUNT_KINDS], calls[ICOUNT_KINDS], least[ICOUNT_KINDS];
static uint64_t total_kernel[ICOUNT_KINDS];
/* Every call's count, for the median; a call that found no room is left out of it. */
static uint64_t *samples[ICOUNT_KINDS];
static size_t nr_samples[ICOUNT_KINDS], room[ICOUNT_KINDS];
/* functions=on: user space by kind, one sum (its addresses move with every exec). */
static uint64_t by_user[ICOUNT_KINDS];
static struct slot *by_block[ICOUNT_KINDS];
static uint64_t dropped;
static struct vcpu vcpus[ICOUNT_VCPUS];
static bool functions;

static void slot_add(struct slot *table, uint64_t vaddr, uint64_t insns)
{
	uint32_t i = (uint32_t)((vaddr * 0x9e3779b97f4a7c15ULL) >> 48) & (ICOUNT_SLOTS - 1);
	uint32_t probes;

	for (probes = 0; probes < ICOUNT_SLOTS; probes++, i = (i + 1) & (ICOUNT_SLOTS - 1)) {
		if (table[i].vaddr == vaddr || !table[i].vaddr) {
			table[i].vaddr = vaddr;
			table[i].insns += insns;
			return;
		}
	}
	__atomic_add_fetch(&dropped, insns, __ATOMIC_RELAXED);
}

/* Under lock. */
static void sample_add(uint32_t kind, uint64_t count)
{
	if (nr_samples[kind] == room[kind]) {
		size_t more = room[kind] ? 2 * room[kind] : 1024;
		uint64_t *grown = realloc(samples[kind], more * sizeof(*grown));

		if (!grown)
			return;
		samples[kind] = grown;
		room[kind] = more;
	}
	samples[kind][nr_samples[kind]++] = count;
}

static int compare_counts(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of @kind's calls (the mean of the middle two of an even number). */
static uint64_t median(uint32_t kind)
{
	size_t n = nr_samples[kind];

	if (!n)
		return 0;
	qsort(samples[kind], n, sizeof(*samples[kind]), compare_counts);
	return n % 2 ? samples[kind][n / 2] : (samples[kind][n / 2 - 1] + samples[kind][n / 2]) / 2;
}

static void block_run(unsigned int vcpu_index, void *userdata)
{
	const struct block *block = userdata;
	struct vcpu *vcpu;

	if (vcpu_index >= ICOUNT_VCPUS)
		return;
	vcpu = &vcpus[vcpu_index];
	if (!vcpu->counting)
		return;
	vcpu->count += block->nr_insns;
	if (block->vaddr >= ICOUNT_KERNEL)
		vcpu->kernel += block->nr_insns;
	if (!functions)
		return;
	if (vcpu->nr_trail < ICOUNT_TRAIL)
		vcpu->trail[vcpu->nr_trail++] = block;
	else
		__atomic_add_fetch(&dropped, block->nr_insns, __ATOMIC_RELAXED);
}

static void marker_run(unsigned int vcpu_index, void *userdata)
{
	uintptr_t kind = (uintptr_t)userdata;
	struct vcpu *vcpu;
	uint32_t i;

	if (vcpu_index >= ICOUNT_VCPUS)
		return;
	vcpu = &vcpus[vcpu_index];
	if (kind == ICOUNT_KINDS) {
		/* Up to 32 MiB a vCPU, taken by those that count only. */
		if (functions && !vcpu->trail) {
			vcpu->trail = calloc(ICOUNT_TRAIL, sizeof(*vcpu->trail));
			if (!vcpu->trail)
				return;
		}
		vcpu->counting = true;
		vcpu->count = 0;
		vcpu->kernel = 0;
		vcpu->nr_trail = 0;
		return;
	}
	/* An end on a vCPU that saw no begin: the thread moved; not counted. */
	if (!vcpu->counting)
		return;
	vcpu->counting = false;
	pthread_mutex_lock(&lock);
	total[kind] += vcpu->count;
	total_kernel[kind] += vcpu->kernel;
	calls[kind]++;
	if (!least[kind] || vcpu->count < least[kind])
		least[kind] = vcpu->count;
	sample_add(kind, vcpu->count);
	for (i = 0; i < vcpu->nr_trail; i++) {
		if (vcpu->trail[i]->vaddr < ICOUNT_KERNEL)
			by_user[kind] += vcpu->trail[i]->nr_insns;
		else
			slot_add(by_block[kind], vcpu->trail[i]->vaddr, vcpu->trail[i]->nr_insns);
	}
	pthread_mutex_unlock(&lock);
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	struct block *block = malloc(sizeof(*block));

	(void)id;
	if (!block)
		return;
	/* Lives as long as QEMU may run the block: never freed. */
	block->vaddr = qemu_plugin_tb_vaddr(tb);
	block->nr_insns = (uint32_t)n;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_run, QEMU_PLUGIN_CB_NO_REGS, block);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t vaddr = qemu_plugin_insn_vaddr(insn), kind;

		if (vaddr == ICOUNT_BEGIN) {
			kind = ICOUNT_KINDS;
		} else if (vaddr >= ICOUNT_END0 && !((vaddr - ICOUNT_END0) % ICOUNT_STRIDE) &&
			   (vaddr - ICOUNT_END0) / ICOUNT_STRIDE < ICOUNT_KINDS) {
			kind = (vaddr - ICOUNT_END0) / ICOUNT_STRIDE;
		} else {
			continue;
		}
		qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_run, QEMU_PLUGIN_CB_NO_REGS,
						       (void *)(uintptr_t)kind);
	}
}

static void report(qemu_plugin_id_t id, void *userdata)
{
	char line[160];
	uint32_t kind, i;

	(void)id;
	(void)userdata;
	for (kind = 0; kind < ICOUNT_KINDS; kind++) {
		if (!calls[kind])
			continue;
		snprintf(line, sizeof(line), "icount kind %" PRIu32 " calls %" PRIu64
			 " total %" PRIu64 " min %" PRIu64 " kernel %" PRIu64
			 " median %" PRIu64 "\n", kind, calls[kind], total[kind], least[kind],
			 total_kernel[kind], median(kind));
		qemu_plugin_outs(line);
		if (functions) {
			/* At address 0: icount.sh names what is below every symbol user space. */
			snprintf(line, sizeof(line), "icount-block %" PRIu32 " 0 %" PRIu64 "\n",
				 kind, by_user[kind]);
			qemu_plugin_outs(line);
		}
		for (i = 0; functions && i < ICOUNT_SLOTS; i++) {
			if (!by_block[kind][i].vaddr)
				continue;
			snprintf(line, sizeof(line), "icount-block %" PRIu32 " %" PRIx64 " %" PRIu64 "\n",
				 kind, by_block[kind][i].vaddr, by_block[kind][i].insns);
			qemu_plugin_outs(line);
		}
	}
	snprintf(line, sizeof(line), "icount-dropped %" PRIu64 "\n", dropped);
	qemu_plugin_outs(line);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "functions=on")) {
			functions = true;
		} else {
			fprintf(stderr, "icount: unknown argument '%s' (functions=on is the only one)\n",
				argv[i]);
			return -1;
		}
	}
	for (i = 0; functions && i < ICOUNT_KINDS; i++) {
		by_block[i] = calloc(ICOUNT_SLOTS, sizeof(*by_block[i]));
		if (!by_block[i])
			return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
	qemu_plugin_register_atexit_cb(id, report, NULL);
	return 0;
}
