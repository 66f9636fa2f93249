// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of userspace/bpf/libbpf_dl.c, the libbpf the gpusched CLI loads
 * only when the monitor opens: calls before loading fail with ENOSYS, a
 * missing library and a library without libbpf's functions fail in words
 * that name the file and leave nothing loaded, and once libbpf.so.1 is
 * loaded the calls reach it with their arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/libbpf_dl.h"
#include "../lib/cpulist.h"
#include "../lib/sysfs.h"
#include "dl_test.h"
#include "tap.h"

#define MESSAGE_SIZE 256

/* CPUs in /sys/devices/system/cpu/possible, or -1. */
static int possible_cpus(void)
{
	struct gs_bitmap cpus = GS_BITMAP_INIT;
	struct gs_sysfs *sysfs;
	int nr = -1;

	if (gs_sysfs_open(&sysfs, "/"))
		return -1;
	if (!gs_sysfs_read_cpulist(sysfs, "sys/devices/system/cpu/possible", &cpus))
		nr = (int)gs_bitmap_weight(&cpus);
	gs_bitmap_free(&cpus);
	gs_sysfs_close(sysfs);
	return nr > 0 ? nr : -1;
}

static void before_loading(void)
{
	char text[64] = "";
	int ret;

	errno = 0;
	ret = libbpf_num_possible_cpus();
	tap_ok(ret == -ENOSYS && errno == ENOSYS,
	       "before loading, an int call fails with -ENOSYS and errno ENOSYS (got %d, errno %d)",
	       ret, errno);
	errno = 0;
	tap_ok(!bpf_program__attach_iter(NULL, NULL) && errno == ENOSYS,
	       "before loading, a pointer call gives NULL with errno ENOSYS");
	tap_ok(bpf_map__key_size(NULL) == 0, "before loading, a size is 0");
	ret = libbpf_strerror(-ENOENT, text, sizeof(text));
	tap_ok(ret == -ENOSYS && !strcmp(text, strerror(ENOENT)),
	       "before loading, libbpf_strerror() still says what the error is (\"%s\")", text);
	bpf_object__destroy_skeleton(NULL);
	tap_ok(1, "before loading, a void call does nothing");
}

/* Loads @library (GPUSCHED_LIBBPF_LIBRARY), which must fail naming @words. */
static void fails(const char *library, const char *words, const char *what)
{
	dl_load_fails("GPUSCHED_LIBBPF_LIBRARY", gs_libbpf_load, library, words, what);
	tap_ok(libbpf_num_possible_cpus() == -ENOSYS && !dl_mapped(library),
	       "%s: nothing is left loaded", what);
}

static void loaded(void)
{
	char message[MESSAGE_SIZE] = "", text[64] = "";
	int ret, cpus = possible_cpus(), value;

	ret = gs_libbpf_load(message, sizeof(message));
	if (!tap_ok(ret == 0, "libbpf.so.1 loads (%d: %s)", ret, message))
		return;
	tap_ok(gs_libbpf_load(message, sizeof(message)) == 0, "loading it again is a no-op");
	ret = libbpf_num_possible_cpus();
	if (cpus < 0)
		tap_skip("/sys/devices/system/cpu/possible is unreadable",
			 "libbpf counts the possible CPUs");
	else
		tap_ok(ret == cpus, "libbpf counts %d possible CPUs, as sysfs says (%d)", ret, cpus);
	libbpf_strerror(-ENOENT, text, sizeof(text));
	tap_ok(!strcmp(text, strerror(ENOENT)), "libbpf_strerror() reaches libbpf (\"%s\")", text);
	/* libbpf 1.x returns -errno: the file descriptor and key got through. */
	value = 0;
	ret = bpf_map_lookup_elem(-1, &value, &value);
	tap_ok(ret == -EBADF, "bpf_map_lookup_elem() on fd -1 reaches the kernel: %d (-EBADF)", ret);
}

int main(void)
{
	tap_start();
	before_loading();
	fails("/nonexistent/libbpf.so.1", "install the libbpf1 package", "a missing library");
	fails("libz.so.1", "has no bpf_iter_create", "a library that is not libbpf");
	loaded();
	return tap_done();
}
