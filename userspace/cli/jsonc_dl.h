/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPUSCHED_JSONC_DL_H
#define GPUSCHED_JSONC_DL_H

#include <stddef.h>

#ifdef GPUSCHED_JSONC_DLOPEN
/**
 * gs_jsonc_load() - load json-c for the CLI (jsonc_dl.c)
 * @message: where a failure is told in words, naming the library
 * @size: the room in @message
 *
 * Loads libjson-c.so.5, or the file named by GPUSCHED_JSONC_LIBRARY (for
 * tests), and finds the functions the CLI calls.  Loading twice is loading
 * once.
 *
 * Return: 0, or -ENOENT when the library or one of its functions is missing.
 */
int gs_jsonc_load(char *message, size_t size);

/**
 * gs_jsonc_need() - load json-c, or end the program saying why it cannot
 *
 * For a command that will build JSON, before it changes or measures
 * anything: without json-c it could not report what it did.  The CLI's
 * json_object_*() calls load the library themselves, and end the program
 * the same way, if no command asked for it first.
 */
void gs_jsonc_need(void);
#else
/* Linked with json-c itself: nothing to load. */
static inline void gs_jsonc_need(void)
{
}
#endif

#endif
