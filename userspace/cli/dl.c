// SPDX-License-Identifier: GPL-2.0
/*
 * The loading that the CLI's dlopen() shims share (jsonc_dl.c for json-c,
 * ../bpf/libbpf_dl.c for libbpf): the library, and every function it is
 * asked for, or nothing.  Only the dynamic build links it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

#include "dl.h"

void *gs_dl_open(const char *name, const char *const *names, size_t nr, void **functions,
		 char *message, size_t size, const char *missing, const char *too_old)
{
	void *handle;
	size_t i;

	handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		snprintf(message, size, "%s; %s", dlerror(), missing);
		return NULL;
	}
	for (i = 0; i < nr; i++) {
		functions[i] = dlsym(handle, names[i]);
		if (!functions[i]) {
			snprintf(message, size, "%s has no %s; %s", name, names[i], too_old);
			dlclose(handle);
			return NULL;
		}
	}
	return handle;
}
