// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of gpuschedd's uevent debounce (userspace/daemon/debounce.h):
 * a change after a quiet spell is looked at at once, the rest of its burst
 * once more a quiet spell after the burst's last event, a SIGHUP's look
 * drops the pending one, and poll(2) gets the right timeout throughout.
 * Prints TAP through tap.h.
 */
#include <stdint.h>

#include "../daemon/debounce.h"
#include "tap.h"

#define QUIET	250

static void test_single_event(void)
{
	struct gs_debounce db;

	gs_debounce_init(&db, QUIET);
	tap_ok(gs_debounce_timeout(&db, 0) == -1, "nothing pending: poll waits without a timeout");
	tap_ok(gs_debounce_event(&db, 1000), "the first event is looked at at once");
	tap_ok(gs_debounce_timeout(&db, 1000) == -1 && !gs_debounce_due(&db, 5000),
	       "a lone event leaves no look pending");
	tap_ok(gs_debounce_event(&db, 1250), "an event a whole quiet spell later is looked at at once");
	tap_ok(!gs_debounce_event(&db, 1251) && gs_debounce_timeout(&db, 1251) == QUIET,
	       "one a millisecond later waits a quiet spell");
}

static void test_burst(void)
{
	struct gs_debounce db;

	gs_debounce_init(&db, QUIET);
	tap_ok(gs_debounce_event(&db, 1000), "burst: its first event is looked at at once");
	tap_ok(!gs_debounce_event(&db, 1100) && !gs_debounce_event(&db, 1200),
	       "burst: the events after it wait");
	tap_ok(gs_debounce_timeout(&db, 1200) == QUIET && gs_debounce_timeout(&db, 1400) == 50,
	       "burst: poll times out a quiet spell after the last event");
	tap_ok(!gs_debounce_due(&db, 1449), "burst: not due before the quiet spell ends");
	tap_ok(gs_debounce_timeout(&db, 1500) == 0, "burst: an overdue look gives a zero timeout");
	tap_ok(gs_debounce_due(&db, 1450), "burst: due when the quiet spell ends");
	tap_ok(!gs_debounce_due(&db, 1451) && gs_debounce_timeout(&db, 1451) == -1,
	       "burst: looked at once, then nothing pending");
	tap_ok(gs_debounce_event(&db, 1460), "after the burst's look, a new change is looked at at once");
}

static void test_storm(void)
{
	struct gs_debounce db;
	int64_t t;
	unsigned int looks = 0;

	gs_debounce_init(&db, QUIET);
	/* An event every 100 ms for 10 s, as when CPUs go offline one by one. */
	for (t = 0; t < 10000; t += 10) {
		if (t % 100 == 0)
			looks += gs_debounce_event(&db, t);
		looks += gs_debounce_due(&db, t);
	}
	for (; t < 11000; t += 10)
		looks += gs_debounce_due(&db, t);
	tap_ok(looks == 2, "storm: 100 events 100 ms apart give 2 looks, the first and the last (%u)",
	       looks);
}

static void test_sighup(void)
{
	struct gs_debounce db;

	gs_debounce_init(&db, QUIET);
	gs_debounce_event(&db, 0);
	gs_debounce_event(&db, 10);
	gs_debounce_cancel(&db);
	tap_ok(gs_debounce_timeout(&db, 20) == -1 && !gs_debounce_due(&db, 1000),
	       "SIGHUP's look drops the pending one");
	tap_ok(!gs_debounce_event(&db, 30), "an event inside the spell still waits after it");
	tap_ok(gs_debounce_due(&db, 280), "and is looked at a quiet spell later");
}

int main(void)
{
	tap_start();
	test_single_event();
	test_burst();
	test_storm();
	test_sighup();
	return tap_done();
}
