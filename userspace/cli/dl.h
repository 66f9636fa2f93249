/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GPUSCHED_DL_H
#define GPUSCHED_DL_H

#include <stddef.h>

/**
 * gs_dl_open() - load a library the CLI uses only in some commands (dl.c)
 * @name: the file or soname to load
 * @names: the names of the functions the CLI calls
 * @nr: the number of @names
 * @functions: receives each function's address, in the order of @names
 * @message: where a failure is told in words, naming the library
 * @size: the room in @message
 * @missing: the end of the message when @name cannot be loaded: what
 *	needs it and which package to install
 * @too_old: the end of the message when a function is missing: the
 *	version needed
 *
 * Return: the library's handle with every function found, or NULL with
 * nothing left loaded and @message set.
 */
void *gs_dl_open(const char *name, const char *const *names, size_t nr, void **functions,
		 char *message, size_t size, const char *missing, const char *too_old);

#endif
