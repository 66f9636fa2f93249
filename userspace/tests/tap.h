/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP 13 producer for the userspace unit tests.  The VM harness and
 * `make check` count the "ok" / "not ok" / "# SKIP" lines these macros print,
 * so every test program in userspace/tests reports through here and ends with
 * tap_done(), whose return value is the program's exit status.
 */
#ifndef GPUSCHED_TAP_H
#define GPUSCHED_TAP_H

#include <stdarg.h>
#include <stdio.h>

static unsigned int tap_run, tap_failed;

/* Call first; the plan comes at the end, from tap_done(). */
static inline void tap_start(void)
{
	printf("TAP version 13\n");
}

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* Record one result; returns @pass so callers can bail out of dependent checks. */
static inline int tap_ok(int pass, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %u - ", pass ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return pass;
}

static inline void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	printf("ok %u - ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	fflush(stdout);
}

/* Print the trailing plan; returns the program's exit status. */
static inline int tap_done(void)
{
	printf("1..%u\n", tap_run);
	return tap_failed ? 1 : 0;
}

#endif /* GPUSCHED_TAP_H */
