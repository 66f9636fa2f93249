/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checks shared by the tests of the CLI's dlopen() shims, test_jsonc_dl.c
 * and test_libbpf_dl.c.
 */
#ifndef GPUSCHED_DL_TEST_H
#define GPUSCHED_DL_TEST_H

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* Whether the dynamic loader has @library mapped in this process. */
static inline int dl_mapped(const char *library)
{
	void *handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD);

	if (!handle)
		return 0;
	dlclose(handle);
	return 1;
}

/*
 * Calls @load with @variable naming @library: it must fail with -ENOENT and
 * a message that names @library and says @words.
 */
static inline void dl_load_fails(const char *variable, int (*load)(char *, size_t),
				 const char *library, const char *words, const char *what)
{
	char message[512] = "";
	int ret;

	setenv(variable, library, 1);
	ret = load(message, sizeof(message));
	unsetenv(variable);
	tap_ok(ret == -ENOENT && strstr(message, library) && strstr(message, words),
	       "%s: -ENOENT, and the message names %s and says \"%s\" (got %d: %s)", what,
	       library, words, ret, message);
}

#endif
