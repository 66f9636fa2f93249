// SPDX-License-Identifier: GPL-2.0
/*
 * fifo_spin CPU: spins on CPU at SCHED_FIFO priority 1 until killed, so
 * that nothing of the normal scheduling class runs there and it is never
 * switched out.  The guest's monitor suite needs such a thread, which
 * busybox cannot make (it has no chrt).  With RT throttling on (the
 * default 0.95 s of every second), it is switched out once a second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct sched_param param = { .sched_priority = 1 };
	volatile unsigned long n = 0;
	cpu_set_t one;
	char *end;
	long cpu;

	cpu = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || *end || cpu < 0 || cpu >= CPU_SETSIZE) {
		fprintf(stderr, "usage: fifo_spin CPU\n");
		return 2;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		fprintf(stderr, "fifo_spin: CPU %ld: %s\n", cpu, strerror(errno));
		return 1;
	}
	if (sched_setscheduler(0, SCHED_FIFO, &param)) {
		fprintf(stderr, "fifo_spin: SCHED_FIFO: %s (needs root or CAP_SYS_NICE)\n",
			strerror(errno));
		return 1;
	}
	for (;;)
		n++;
}
