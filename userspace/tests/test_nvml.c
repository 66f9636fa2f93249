// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of userspace/lib/nvml.c against a fake libnvidia-ml.so.1
 * (fake_nvml.c, built beside this program): a missing library, known and
 * unknown devices, the bus-id form NVML is given, UUID texts that are not
 * GPU UUIDs, GPU memory nodes, a failing nvmlInit_v2 and a library without
 * NVML's functions.
 *
 * Usage: test_nvml [FAKE_LIBRARY]
 *   FAKE_LIBRARY defaults to libnvidia-ml.so.1 in the directory of argv[0];
 *   without it the tests that need it SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/nvml.h"
#include "tap.h"

#define UUID_A		"GPU-5b6f3a1c-0d2e-4f7a-8b9c-0123456789ab"
#define UUID_B		"GPU-FFEEDDCC-BBAA-9988-7766-554433221100"

static const uint8_t uuid_a[16] = {
	0x5b, 0x6f, 0x3a, 0x1c, 0x0d, 0x2e, 0x4f, 0x7a,
	0x8b, 0x9c, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
};
static const uint8_t uuid_b[16] = {
	0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
	0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00,
};
static const uint8_t zero[16];

/* Fills @gpus with a pattern so that the tests see which entries were written. */
static void scribble(struct gs_nvml_gpu *gpus, unsigned int nr)
{
	memset(gpus, 0xa5, (size_t)nr * sizeof(*gpus));
}

/* Whether @gpu is what a lookup leaves for a device NVML knows nothing of. */
static bool unknown(const struct gs_nvml_gpu *gpu)
{
	return !memcmp(gpu->uuid, zero, 16) && gpu->mem_node == -1;
}

static void test_missing_library(void)
{
	static const char *const addresses[] = { "0000:3b:00.0" };
	char message[GS_NVML_MESSAGE_SIZE];
	struct gs_nvml_gpu gpus[1];
	int err;

	setenv("GPUSCHED_NVML_LIBRARY", "/nonexistent-gpusched/libnvidia-ml.so.1", 1);
	scribble(gpus, 1);
	err = gs_nvml_lookup(1, addresses, gpus, message);
	if (!tap_ok(err == -ENOENT, "missing library: -ENOENT"))
		tap_diag("got %d (%s)", err, message);
	tap_ok(unknown(&gpus[0]), "missing library: nothing is known");
	tap_ok(strstr(message, "/nonexistent-gpusched/libnvidia-ml.so.1") != NULL,
	       "missing library: the message names the file (%s)", message);
}

static void test_no_nvml_symbols(void)
{
	static const char *const addresses[] = { "0000:3b:00.0" };
	char message[GS_NVML_MESSAGE_SIZE];
	struct gs_nvml_gpu gpus[1];
	int err;

	/* libc loads everywhere and has no NVML function. */
	setenv("GPUSCHED_NVML_LIBRARY", "libc.so.6", 1);
	err = gs_nvml_lookup(1, addresses, gpus, message);
	if (!tap_ok(err == -EOPNOTSUPP, "a library without NVML's functions: -EOPNOTSUPP"))
		tap_diag("got %d (%s)", err, message);
	tap_ok(strstr(message, "nvmlInit_v2") && strstr(message, "libc.so.6"),
	       "a library without NVML's functions: the message names both (%s)", message);
}

static void test_fake(const char *fake)
{
	static const char *const addresses[] = {
		"0000:3b:00.0", "0000:5d:00.0", "0000:db:00.0", "0008:01:00.0",
	};
	char message[GS_NVML_MESSAGE_SIZE];
	struct gs_nvml_gpu gpus[4];
	int err;

	setenv("GPUSCHED_NVML_LIBRARY", fake, 1);
	unsetenv("FAKE_NVML_INIT_ERROR");
	/* The fake knows 3b (lower-case here), db and the Grace-style domain 8. */
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=" UUID_A ";0000:DB:00.0=" UUID_B
	       ";0008:01:00.0=" UUID_B, 1);
	scribble(gpus, 4);
	err = gs_nvml_lookup(4, addresses, gpus, message);
	if (!tap_ok(err == 0, "fake: lookup succeeds"))
		tap_diag("got %d (%s)", err, message);
	tap_ok(!memcmp(gpus[0].uuid, uuid_a, 16), "fake: 0000:3b:00.0 has its UUID (lower-case hex)");
	tap_ok(unknown(&gpus[1]), "fake: 0000:5d:00.0, unknown to NVML, stays unknown");
	tap_ok(!memcmp(gpus[2].uuid, uuid_b, 16), "fake: 0000:db:00.0 has its UUID (upper-case hex)");
	tap_ok(!memcmp(gpus[3].uuid, uuid_b, 16),
	       "fake: 0008:01:00.0 is found as bus id 00000008:01:00.0");
	tap_ok(gpus[0].mem_node == -1 && gpus[2].mem_node == -1 && gpus[3].mem_node == -1,
	       "fake: \"not supported\" leaves every memory node unknown");
	tap_ok(message[0] == '\0', "fake: nothing to report (\"%s\")", message);

	err = gs_nvml_lookup(0, NULL, NULL, message);
	tap_ok(err == 0 && !message[0], "fake: no devices is no error");

	/* A MIG instance UUID and a cut one name no PCI function. */
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=MIG-5b6f3a1c-0d2e-4f7a-8b9c-0123456789ab;"
	       "0000:5d:00.0=GPU-5b6f3a1c-0d2e;0000:db:00.0=" UUID_A, 1);
	scribble(gpus, 3);
	err = gs_nvml_lookup(3, addresses, gpus, message);
	tap_ok(err == 0, "odd UUIDs: still no error");
	tap_ok(unknown(&gpus[0]) && unknown(&gpus[1]),
	       "odd UUIDs: a MIG UUID and a short one stay zero");
	tap_ok(!memcmp(gpus[2].uuid, uuid_a, 16), "odd UUIDs: the good one is still read");
	tap_ok(strstr(message, "0000:3b:00.0") && strstr(message, "MIG-") &&
	       strstr(message, "0000:5d:00.0"),
	       "odd UUIDs: the message names both devices (%s)", message);

	/* Grace Blackwell: GPU memory is a node; one GPU's answer is an error. */
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=" UUID_A ";0000:5d:00.0=" UUID_B
	       ";0000:db:00.0=" UUID_A, 1);
	setenv("FAKE_NVML_NUMA_NODES", "0000:3b:00.0=2;0000:5d:00.0=x", 1);
	scribble(gpus, 3);
	err = gs_nvml_lookup(3, addresses, gpus, message);
	unsetenv("FAKE_NVML_NUMA_NODES");
	tap_ok(err == 0, "memory nodes: no error");
	if (!tap_ok(gpus[0].mem_node == 2 && !memcmp(gpus[0].uuid, uuid_a, 16),
		    "memory nodes: 0000:3b:00.0 has node 2 and its UUID"))
		tap_diag("got node %d", gpus[0].mem_node);
	tap_ok(gpus[1].mem_node == -1 && !memcmp(gpus[1].uuid, uuid_b, 16),
	       "memory nodes: an NVML error leaves the node unknown, not the UUID");
	tap_ok(gpus[2].mem_node == -1, "memory nodes: \"not supported\" is no node");
	tap_ok(strstr(message, "0000:5d:00.0: Unknown Error") && !strstr(message, "0000:db"),
	       "memory nodes: only the error is reported (%s)", message);

	setenv("FAKE_NVML_INIT_ERROR", "9", 1);
	scribble(gpus, 1);
	err = gs_nvml_lookup(1, addresses, gpus, message);
	if (!tap_ok(err == -EIO, "init failure: -EIO"))
		tap_diag("got %d", err);
	tap_ok(strstr(message, "nvmlInit_v2") && strstr(message, "Driver Not Loaded"),
	       "init failure: the message has NVML's reason (%s)", message);
	tap_ok(unknown(&gpus[0]), "init failure: nothing is known");
	unsetenv("FAKE_NVML_INIT_ERROR");
	unsetenv("FAKE_NVML_DEVICES");
}

/* Lines in @path: the fake's nvmlInit_v2 calls so far. */
static unsigned int init_calls(const char *path)
{
	FILE *file = fopen(path, "r");
	unsigned int lines = 0;
	int c;

	if (!file)
		return 0;
	while ((c = fgetc(file)) != EOF)
		lines += c == '\n';
	fclose(file);
	return lines;
}

static void test_cache(const char *fake)
{
	static const char *const addresses[] = { "0000:3b:00.0", "0000:5d:00.0" };
	static const char *const swapped[] = { "0000:5d:00.0", "0000:3b:00.0" };
	char log[] = "/tmp/gpusched-test-nvml-XXXXXX", message[GS_NVML_MESSAGE_SIZE];
	struct gs_nvml_cache cache = { 0 };
	struct gs_nvml_gpu gpus[2];
	int fd = mkstemp(log), err;

	if (fd < 0) {
		tap_skip(strerror(errno), "cache: no scratch file in /tmp for the init log");
		return;
	}
	close(fd);
	setenv("GPUSCHED_NVML_LIBRARY", fake, 1);
	setenv("FAKE_NVML_INIT_LOG", log, 1);
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=" UUID_A ";0000:5d:00.0=" UUID_B, 1);
	setenv("FAKE_NVML_NUMA_NODES", "0000:3b:00.0=2", 1);

	scribble(gpus, 2);
	err = gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	unsetenv("FAKE_NVML_NUMA_NODES");
	tap_ok(err == 0 && !message[0] && !memcmp(gpus[0].uuid, uuid_a, 16) &&
	       !memcmp(gpus[1].uuid, uuid_b, 16) && gpus[0].mem_node == 2,
	       "cache: the first lookup asks NVML (%d, %s)", err, message);
	tap_ok(init_calls(log) == 1 && cache.asked == 1,
	       "cache: NVML initialised once (%u), asked once (%lu)", init_calls(log),
	       cache.asked);

	/* What NVML would say now differs: a kept answer shows the old one. */
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=" UUID_B ";0000:5d:00.0=" UUID_A, 1);
	scribble(gpus, 2);
	err = gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	tap_ok(err == 0 && !message[0] && init_calls(log) == 1 && cache.asked == 1,
	       "cache: the same GPUs again do not load NVML (%u inits)", init_calls(log));
	tap_ok(!memcmp(gpus[0].uuid, uuid_a, 16) && !memcmp(gpus[1].uuid, uuid_b, 16) &&
	       gpus[0].mem_node == 2 && gpus[1].mem_node == -1,
	       "cache: the kept answer is copied whole, memory nodes included");

	scribble(gpus, 2);
	err = gs_nvml_cache_lookup(&cache, 2, swapped, gpus, message);
	tap_ok(err == 0 && init_calls(log) == 2 && !memcmp(gpus[0].uuid, uuid_a, 16),
	       "cache: other addresses (the same two, reordered) ask NVML again (%u inits)",
	       init_calls(log));
	err = gs_nvml_cache_lookup(&cache, 1, swapped, gpus, message);
	tap_ok(err == 0 && init_calls(log) == 3,
	       "cache: one GPU fewer asks NVML again (%u inits)", init_calls(log));

	/* A device NVML could not answer for is asked about at every look. */
	setenv("FAKE_NVML_NUMA_NODES", "0000:5d:00.0=x", 1);
	gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	err = gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	unsetenv("FAKE_NVML_NUMA_NODES");
	tap_ok(err == 0 && strstr(message, "0000:5d:00.0") && init_calls(log) == 5 &&
	       !cache.nr, "cache: an answer with a device error is not kept (%u inits, %s)",
	       init_calls(log), message);

	/* Nor a failed initialisation: the driver may be loaded by the next look. */
	setenv("FAKE_NVML_INIT_ERROR", "9", 1);
	err = gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	unsetenv("FAKE_NVML_INIT_ERROR");
	tap_ok(err == -EIO && !cache.nr, "cache: a failed nvmlInit_v2 is not kept (%d)", err);
	scribble(gpus, 2);
	err = gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	tap_ok(err == 0 && init_calls(log) == 7 && !memcmp(gpus[0].uuid, uuid_b, 16),
	       "cache: the look after the failure asks NVML and gets its answer (%u inits)",
	       init_calls(log));
	gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	tap_ok(init_calls(log) == 7, "cache: and keeps it (%u inits)", init_calls(log));

	gs_nvml_cache_clear(&cache);
	tap_ok(!cache.nr && !cache.addresses && !cache.gpus,
	       "cache: clearing frees the kept answer");
	gs_nvml_cache_lookup(&cache, 2, addresses, gpus, message);
	tap_ok(init_calls(log) == 8 && cache.asked == 8,
	       "cache: after clearing, NVML is asked again (%u inits, asked %lu)",
	       init_calls(log), cache.asked);
	gs_nvml_cache_clear(&cache);

	unsetenv("FAKE_NVML_DEVICES");
	unsetenv("FAKE_NVML_INIT_LOG");
	unlink(log);
}

int main(int argc, char **argv)
{
	char *fake, *self = strdup(argv[0]);
	int err;

	tap_start();
	if (argc > 1) {
		fake = strdup(argv[1]);
	} else {
		const char *dir = dirname(self);

		fake = malloc(strlen(dir) + sizeof("/libnvidia-ml.so.1"));
		if (fake)
			sprintf(fake, "%s/libnvidia-ml.so.1", dir);
	}
	if (!self || !fake) {
		printf("Bail out! out of memory\n");
		return 1;
	}
	test_missing_library();
	test_no_nvml_symbols();
	if (access(fake, R_OK)) {
		err = errno;
		tap_skip(strerror(err), "fake NVML %s", fake);
	} else {
		tap_diag("fake NVML %s", fake);
		test_fake(fake);
		test_cache(fake);
	}
	free(fake);
	free(self);
	return tap_done();
}
