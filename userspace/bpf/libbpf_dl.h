/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPUSCHED_LIBBPF_DL_H
#define GPUSCHED_LIBBPF_DL_H

#include <stddef.h>

#ifdef GPUSCHED_LIBBPF_DLOPEN
/**
 * gs_libbpf_load() - load libbpf for the monitor (libbpf_dl.c)
 * @message: where a failure is told in words, naming the library
 * @size: the room in @message
 *
 * Loads libbpf.so.1, or the file named by GPUSCHED_LIBBPF_LIBRARY (for
 * tests), and finds the functions the monitor calls.  Loading twice is
 * loading once.
 *
 * Return: 0, or -ENOENT when the library or one of its functions is missing.
 */
int gs_libbpf_load(char *message, size_t size);
#else
/* Linked with libbpf itself: nothing to load. */
static inline int gs_libbpf_load(char *message, size_t size)
{
	(void)message;
	(void)size;
	return 0;
}
#endif

#endif
