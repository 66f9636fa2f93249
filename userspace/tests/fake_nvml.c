// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for libnvidia-ml.so.1, built as a shared object of that name
 * so that test_nvml and test_gpuschedd can exercise userspace/lib/nvml.c
 * on machines without an NVIDIA driver.  It exports the six functions
 * nvml.c resolves, with NVML's return codes, and answers from the
 * environment, read at nvmlInit_v2():
 *
 *   FAKE_NVML_DEVICES   "0000:21:00.0=GPU-...;0000:41:00.0=GPU-..." the
 *                       devices it knows, by sysfs address, with the UUID
 *                       text nvmlDeviceGetUUID returns (any text)
 *   FAKE_NVML_NUMA_NODES  "0008:01:00.0=2;0009:01:00.0=x" the answer of
 *                       nvmlDeviceGetNumaNodeId for those devices: a node
 *                       id, or a non-number for NVML_ERROR_UNKNOWN; every
 *                       other device gets NVML_ERROR_NOT_SUPPORTED, as
 *                       GPUs whose memory is no NUMA node do
 *   FAKE_NVML_INIT_ERROR  an NVML return code nvmlInit_v2 fails with
 *   FAKE_NVML_INIT_LOG  a file to which every nvmlInit_v2 call, failed
 *                       ones included, appends one line "nvmlInit_v2",
 *                       so that a test can count how often NVML was asked
 *
 * Like a strict NVML, it accepts only the bus-id form NVML prints itself,
 * "00000000:3B:00.0", so the tests also check nvml.c's conversion; other
 * forms give NVML_ERROR_INVALID_ARGUMENT.  Calls made before nvmlInit_v2
 * or after the matching nvmlShutdown give NVML_ERROR_UNINITIALIZED.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

#define NVML_SUCCESS			0
#define NVML_ERROR_UNINITIALIZED	1
#define NVML_ERROR_INVALID_ARGUMENT	2
#define NVML_ERROR_NOT_SUPPORTED	3
#define NVML_ERROR_NOT_FOUND		6
#define NVML_ERROR_INSUFFICIENT_SIZE	7
#define NVML_ERROR_DRIVER_NOT_LOADED	9
#define NVML_ERROR_UNKNOWN		999

#define FAKE_MAX_DEVICES	16

struct nvmlDevice_st {
	char bus_id[32];	/* NVML's form, "00000000:3B:00.0" */
	char uuid[96];
	int numa_node;		/* -1: not supported; -2: an unknown error */
};

static struct nvmlDevice_st devices[FAKE_MAX_DEVICES];
static unsigned int nr_devices;
static int init_count;

/* Prototypes: the shared object is built with -Wmissing-prototypes too. */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *bus_id, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length);
nvmlReturn_t nvmlDeviceGetNumaNodeId(nvmlDevice_t device, unsigned int *node);
const char *nvmlErrorString(nvmlReturn_t result);

/* Reads one "ADDRESS=UUID" entry of FAKE_NVML_DEVICES. */
static void add_device(const char *entry, size_t length)
{
	unsigned int domain, bus, slot, function;
	const char *equals = memchr(entry, '=', length);
	struct nvmlDevice_st *device;
	char address[32];
	size_t address_length;

	if (!equals || nr_devices == FAKE_MAX_DEVICES)
		return;
	address_length = (size_t)(equals - entry);
	if (address_length >= sizeof(address))
		return;
	memcpy(address, entry, address_length);
	address[address_length] = '\0';
	if (sscanf(address, "%x:%x:%x.%x", &domain, &bus, &slot, &function) != 4)
		return;
	device = &devices[nr_devices++];
	snprintf(device->bus_id, sizeof(device->bus_id), "%08X:%02X:%02X.%X",
		 domain, bus, slot, function);
	snprintf(device->uuid, sizeof(device->uuid), "%.*s",
		 (int)(length - address_length - 1), equals + 1);
	device->numa_node = -1;
}

/* Sets the NUMA node of the devices FAKE_NVML_NUMA_NODES names. */
static void set_numa_nodes(const char *list)
{
	unsigned int domain, bus, slot, function, i;
	char bus_id[32], *end;
	long node;

	while (list && *list) {
		size_t length = strcspn(list, ";");
		const char *equals = memchr(list, '=', length);

		if (equals && sscanf(list, "%x:%x:%x.%x=", &domain, &bus, &slot, &function) == 4) {
			snprintf(bus_id, sizeof(bus_id), "%08X:%02X:%02X.%X", domain, bus, slot,
				 function);
			node = strtol(equals + 1, &end, 10);
			for (i = 0; i < nr_devices; i++)
				if (!strcmp(devices[i].bus_id, bus_id))
					devices[i].numa_node = end == equals + 1 ? -2 : (int)node;
		}
		list += length;
		if (*list == ';')
			list++;
	}
}

nvmlReturn_t nvmlInit_v2(void)
{
	const char *error = getenv("FAKE_NVML_INIT_ERROR");
	const char *list = getenv("FAKE_NVML_DEVICES");
	const char *log = getenv("FAKE_NVML_INIT_LOG");

	if (log && *log) {
		FILE *file = fopen(log, "a");

		if (file) {
			fputs("nvmlInit_v2\n", file);
			fclose(file);
		}
	}
	if (error && *error)
		return atoi(error);
	if (init_count++)
		return NVML_SUCCESS;
	nr_devices = 0;
	while (list && *list) {
		size_t length = strcspn(list, ";");

		add_device(list, length);
		list += length;
		if (*list == ';')
			list++;
	}
	set_numa_nodes(getenv("FAKE_NVML_NUMA_NODES"));
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
	if (!init_count)
		return NVML_ERROR_UNINITIALIZED;
	init_count--;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *bus_id, nvmlDevice_t *device)
{
	unsigned int i;

	if (!init_count)
		return NVML_ERROR_UNINITIALIZED;
	if (!bus_id || !device || strlen(bus_id) != strlen("00000000:00:00.0") ||
	    strspn(bus_id, "0123456789ABCDEF:.") != strlen(bus_id))
		return NVML_ERROR_INVALID_ARGUMENT;
	for (i = 0; i < nr_devices; i++) {
		if (!strcmp(devices[i].bus_id, bus_id)) {
			*device = &devices[i];
			return NVML_SUCCESS;
		}
	}
	return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
	size_t needed;

	if (!init_count)
		return NVML_ERROR_UNINITIALIZED;
	if (!device || !uuid)
		return NVML_ERROR_INVALID_ARGUMENT;
	needed = strlen(device->uuid) + 1;
	if (needed > length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(uuid, device->uuid, needed);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNumaNodeId(nvmlDevice_t device, unsigned int *node)
{
	if (!init_count)
		return NVML_ERROR_UNINITIALIZED;
	if (!device || !node)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (device->numa_node == -1)
		return NVML_ERROR_NOT_SUPPORTED;
	if (device->numa_node < 0)
		return NVML_ERROR_UNKNOWN;
	*node = (unsigned int)device->numa_node;
	return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result)
{
	switch (result) {
	case NVML_SUCCESS:
		return "Success";
	case NVML_ERROR_UNINITIALIZED:
		return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT:
		return "Invalid Argument";
	case NVML_ERROR_NOT_FOUND:
		return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE:
		return "Insufficient Size";
	case NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case NVML_ERROR_DRIVER_NOT_LOADED:
		return "Driver Not Loaded";
	default:
		return "Unknown Error";
	}
}
