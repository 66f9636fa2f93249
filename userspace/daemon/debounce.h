/* SPDX-License-Identifier: GPL-2.0 */
/*
 * When gpuschedd looks at the machine again after topology uevents.  A
 * change that follows a quiet spell is looked at at once, so that one CPU
 * or device coming or going is in the module within the time discovery
 * takes.  The events that follow it within the quiet spell belong to the
 * same burst (SMT switched off, a socket taken offline, a GPU driver
 * onlining its memory) and are looked at once more, a quiet spell after
 * the last of them, so a burst ends with one look at the settled machine
 * instead of one look per event.  Times are CLOCK_MONOTONIC milliseconds.
 */
#ifndef GPUSCHEDD_DEBOUNCE_H
#define GPUSCHEDD_DEBOUNCE_H

#include <stdbool.h>
#include <stdint.h>

struct gs_debounce {
	int64_t quiet_ms;	/* the quiet spell that ends a burst */
	int64_t quiet_until;	/* an event before this belongs to the current burst */
	int64_t deadline;	/* when to look at the burst's later events; -1: none */
};

static inline void gs_debounce_init(struct gs_debounce *db, int64_t quiet_ms)
{
	db->quiet_ms = quiet_ms;
	db->quiet_until = INT64_MIN;
	db->deadline = -1;
}

/* A topology event at @now.  Returns true when the machine is to be looked at now. */
static inline bool gs_debounce_event(struct gs_debounce *db, int64_t now)
{
	bool first = db->deadline < 0 && now >= db->quiet_until;

	db->quiet_until = now + db->quiet_ms;
	if (!first)
		db->deadline = db->quiet_until;
	return first;
}

/* The poll(2) timeout until the pending look: -1 when none is pending. */
static inline int gs_debounce_timeout(const struct gs_debounce *db, int64_t now)
{
	if (db->deadline < 0)
		return -1;
	return db->deadline > now ? (int)(db->deadline - now) : 0;
}

/* Returns true, once, when the pending look is due at @now. */
static inline bool gs_debounce_due(struct gs_debounce *db, int64_t now)
{
	if (db->deadline < 0 || now < db->deadline)
		return false;
	db->deadline = -1;
	return true;
}

/* Drops the pending look: the machine was just looked at for another reason. */
static inline void gs_debounce_cancel(struct gs_debounce *db)
{
	db->deadline = -1;
}

#endif /* GPUSCHEDD_DEBOUNCE_H */
