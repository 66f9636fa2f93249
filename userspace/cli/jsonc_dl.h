/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPUSCHED_JSONC_DL_H
#define GPUSCHED_JSONC_DL_H

#include <stddef.h>

/**
 * gs_jsonc_load() - load json-c for the CLI's JSON output (jsonc_dl.c)
 * @message: where a failure is told in words, naming the library
 * @size: the room in @message
 *
 * Loads libjson-c.so.5, or the file named by GPUSCHED_JSONC_LIBRARY (for
 * tests), and finds the functions the CLI calls.  Loading twice is loading
 * once.  The CLI's json_object_*() calls load the library themselves the
 * first time one is made; this is for a caller that wants the failure in
 * words rather than the exit those calls make.
 *
 * Return: 0, or -ENOENT when the library or one of its functions is missing.
 */
int gs_jsonc_load(char *message, size_t size);

#endif
