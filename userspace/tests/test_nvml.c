// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of userspace/lib/nvml.c against a fake libnvidia-ml.so.1
 * (fake_nvml.c, built beside this program): a missing library, known and
 * unknown devices, the bus-id form NVML is given, UUID texts that are not
 * GPU UUIDs, a failing nvmlInit_v2 and a library without NVML's functions.
 *
 * Usage: test_nvml [FAKE_LIBRARY]
 *   FAKE_LIBRARY defaults to libnvidia-ml.so.1 in the directory of argv[0];
 *   without it the tests that need it SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
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

/* Fills @uuids with a pattern so that the tests see which entries were written. */
static void scribble(uint8_t (*uuids)[16], unsigned int nr)
{
	memset(uuids, 0xa5, (size_t)nr * 16);
}

static void test_missing_library(void)
{
	static const char *const addresses[] = { "0000:3b:00.0" };
	char message[GS_NVML_MESSAGE_SIZE];
	uint8_t uuids[1][16];
	int err;

	setenv("GPUSCHED_NVML_LIBRARY", "/nonexistent-gpusched/libnvidia-ml.so.1", 1);
	scribble(uuids, 1);
	err = gs_nvml_uuids(1, addresses, uuids, message);
	if (!tap_ok(err == -ENOENT, "missing library: -ENOENT"))
		tap_diag("got %d (%s)", err, message);
	tap_ok(!memcmp(uuids[0], zero, 16), "missing library: UUIDs are zeroed");
	tap_ok(strstr(message, "/nonexistent-gpusched/libnvidia-ml.so.1") != NULL,
	       "missing library: the message names the file (%s)", message);
}

static void test_no_nvml_symbols(void)
{
	static const char *const addresses[] = { "0000:3b:00.0" };
	char message[GS_NVML_MESSAGE_SIZE];
	uint8_t uuids[1][16];
	int err;

	/* libc loads everywhere and has no NVML function. */
	setenv("GPUSCHED_NVML_LIBRARY", "libc.so.6", 1);
	err = gs_nvml_uuids(1, addresses, uuids, message);
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
	uint8_t uuids[4][16];
	int err;

	setenv("GPUSCHED_NVML_LIBRARY", fake, 1);
	unsetenv("FAKE_NVML_INIT_ERROR");
	/* The fake knows 3b (lower-case here), db and the Grace-style domain 8. */
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=" UUID_A ";0000:DB:00.0=" UUID_B
	       ";0008:01:00.0=" UUID_B, 1);
	scribble(uuids, 4);
	err = gs_nvml_uuids(4, addresses, uuids, message);
	if (!tap_ok(err == 0, "fake: lookup succeeds"))
		tap_diag("got %d (%s)", err, message);
	tap_ok(!memcmp(uuids[0], uuid_a, 16), "fake: 0000:3b:00.0 has its UUID (lower-case hex)");
	tap_ok(!memcmp(uuids[1], zero, 16), "fake: 0000:5d:00.0, unknown to NVML, stays zero");
	tap_ok(!memcmp(uuids[2], uuid_b, 16), "fake: 0000:db:00.0 has its UUID (upper-case hex)");
	tap_ok(!memcmp(uuids[3], uuid_b, 16),
	       "fake: 0008:01:00.0 is found as bus id 00000008:01:00.0");
	tap_ok(message[0] == '\0', "fake: nothing to report (\"%s\")", message);

	err = gs_nvml_uuids(0, NULL, NULL, message);
	tap_ok(err == 0 && !message[0], "fake: no devices is no error");

	/* A MIG instance UUID and a cut one name no PCI function. */
	setenv("FAKE_NVML_DEVICES", "0000:3b:00.0=MIG-5b6f3a1c-0d2e-4f7a-8b9c-0123456789ab;"
	       "0000:5d:00.0=GPU-5b6f3a1c-0d2e;0000:db:00.0=" UUID_A, 1);
	scribble(uuids, 3);
	err = gs_nvml_uuids(3, addresses, uuids, message);
	tap_ok(err == 0, "odd UUIDs: still no error");
	tap_ok(!memcmp(uuids[0], zero, 16) && !memcmp(uuids[1], zero, 16),
	       "odd UUIDs: a MIG UUID and a short one stay zero");
	tap_ok(!memcmp(uuids[2], uuid_a, 16), "odd UUIDs: the good one is still read");
	tap_ok(strstr(message, "0000:3b:00.0") && strstr(message, "MIG-") &&
	       strstr(message, "0000:5d:00.0"),
	       "odd UUIDs: the message names both devices (%s)", message);

	setenv("FAKE_NVML_INIT_ERROR", "9", 1);
	scribble(uuids, 1);
	err = gs_nvml_uuids(1, addresses, uuids, message);
	if (!tap_ok(err == -EIO, "init failure: -EIO"))
		tap_diag("got %d", err);
	tap_ok(strstr(message, "nvmlInit_v2") && strstr(message, "Driver Not Loaded"),
	       "init failure: the message has NVML's reason (%s)", message);
	tap_ok(!memcmp(uuids[0], zero, 16), "init failure: UUIDs are zeroed");
	unsetenv("FAKE_NVML_INIT_ERROR");
	unsetenv("FAKE_NVML_DEVICES");
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
	}
	free(fake);
	free(self);
	return tap_done();
}
