// SPDX-License-Identifier: GPL-2.0
/*
 * The lookup of nvml.h.  libnvidia-ml.so.1 is opened with dlopen() and
 * its functions found with dlsym(), so gpusched neither builds
 * against NVIDIA's headers nor needs the library at run time; the few
 * NVML types and return codes used are declared here, as NVML's ABI
 * fixes them.  The library is loaded for one lookup and unloaded again:
 * holding NVML open would keep the NVIDIA driver's device files open for
 * the daemon's whole life.  Instead gs_nvml_cache keeps the answers, which
 * do not change while the same GPUs sit at the same addresses.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libgpusched.h"
#include "nvml.h"

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

#define NVML_SUCCESS			0
#define NVML_ERROR_NOT_SUPPORTED	3
#define NVML_ERROR_NOT_FOUND		6
/* NVML_DEVICE_UUID_V2_BUFFER_SIZE: room for every UUID form NVML prints. */
#define NVML_UUID_BUFFER_SIZE		96

struct nvml_api {
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	nvmlReturn_t (*handle_by_bus_id)(const char *bus_id, nvmlDevice_t *device);
	nvmlReturn_t (*get_uuid)(nvmlDevice_t device, char *uuid, unsigned int length);
	const char *(*error_string)(nvmlReturn_t result);
	/* Since the R530 drivers; NULL before. */
	nvmlReturn_t (*get_numa_node)(nvmlDevice_t device, unsigned int *node);
};

static void set_message(char *message, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_message(char *message, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, GS_NVML_MESSAGE_SIZE, fmt, ap);
	va_end(ap);
}

/* Appends to @message what went wrong with one device, keeping the first ones. */
static void add_device_problem(char *message, const char *address, const char *problem)
{
	size_t used = strlen(message);

	if (used + 1 >= GS_NVML_MESSAGE_SIZE)
		return;
	snprintf(message + used, GS_NVML_MESSAGE_SIZE - used, "%s%s: %s",
		 used ? "; " : "", address, problem);
}

/*
 * sysfs's "0000:3b:00.0" to NVML's "00000000:3B:00.0".  NVML documents
 * the long upper-case form as its own and some driver versions match
 * the text, so the form is given exactly.
 */
static int nvml_bus_id(const char *address, char *bus_id, size_t size)
{
	unsigned int domain, bus, slot, function;
	int end = 0;

	if (sscanf(address, "%x:%x:%x.%x%n", &domain, &bus, &slot, &function, &end) != 4 ||
	    address[end] || bus > 0xff || slot > 0x1f || function > 7)
		return -EINVAL;
	snprintf(bus_id, size, "%08X:%02X:%02X.%X", domain, bus, slot, function);
	return 0;
}

static int resolve(void *library, const char *name, char *message, void **function)
{
	*function = dlsym(library, name);
	if (*function)
		return 0;
	set_message(message, "%s has no %s; too old an NVIDIA driver for gpusched",
		    getenv("GPUSCHED_NVML_LIBRARY") ? getenv("GPUSCHED_NVML_LIBRARY") :
		    GS_NVML_LIBRARY, name);
	return -EOPNOTSUPP;
}

static int resolve_api(void *library, struct nvml_api *api, char *message)
{
	void *functions[5];
	static const char *const names[] = {
		"nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetHandleByPciBusId_v2",
		"nvmlDeviceGetUUID", "nvmlErrorString",
	};
	unsigned int i;
	int err;

	for (i = 0; i < 5; i++) {
		err = resolve(library, names[i], message, &functions[i]);
		if (err)
			return err;
	}
	/*
	 * ISO C has no conversion from void * to a function pointer; POSIX
	 * guarantees dlsym() results survive this copy.
	 */
	memcpy(&api->init, &functions[0], sizeof(api->init));
	memcpy(&api->shutdown, &functions[1], sizeof(api->shutdown));
	memcpy(&api->handle_by_bus_id, &functions[2], sizeof(api->handle_by_bus_id));
	memcpy(&api->get_uuid, &functions[3], sizeof(api->get_uuid));
	memcpy(&api->error_string, &functions[4], sizeof(api->error_string));
	functions[0] = dlsym(library, "nvmlDeviceGetNumaNodeId");
	if (functions[0])
		memcpy(&api->get_numa_node, &functions[0], sizeof(api->get_numa_node));
	else
		api->get_numa_node = NULL;
	return 0;
}

static const char *nvml_error(const struct nvml_api *api, nvmlReturn_t result)
{
	const char *text = api->error_string(result);

	return text ? text : "unknown NVML error";
}

/*
 * The node of one device's memory into @gpu->mem_node.  "Not supported"
 * is the answer for every GPU whose memory is no NUMA node: nothing to
 * report.
 */
static void lookup_numa_node(const struct nvml_api *api, nvmlDevice_t device,
			     const char *address, struct gs_nvml_gpu *gpu, char *message)
{
	unsigned int node;
	nvmlReturn_t result;

	if (!api->get_numa_node)
		return;
	result = api->get_numa_node(device, &node);
	if (result == NVML_ERROR_NOT_SUPPORTED)
		return;
	if (result != NVML_SUCCESS) {
		add_device_problem(message, address, nvml_error(api, result));
		return;
	}
	if (node > 0xffff) {
		add_device_problem(message, address, "nvmlDeviceGetNumaNodeId gave no node id");
		return;
	}
	gpu->mem_node = (int)node;
}

/* One device's UUID and memory node into @gpu, or a note in @message. */
static void lookup_device(const struct nvml_api *api, const char *address,
			  struct gs_nvml_gpu *gpu, char *message)
{
	char bus_id[32], text[NVML_UUID_BUFFER_SIZE], problem[160];
	nvmlDevice_t device;
	nvmlReturn_t result;

	if (nvml_bus_id(address, bus_id, sizeof(bus_id))) {
		add_device_problem(message, address, "not a PCI address");
		return;
	}
	result = api->handle_by_bus_id(bus_id, &device);
	if (result == NVML_ERROR_NOT_FOUND)
		return;		/* not NVIDIA's: nothing known, and nothing to say */
	if (result != NVML_SUCCESS) {
		add_device_problem(message, address, nvml_error(api, result));
		return;
	}
	lookup_numa_node(api, device, address, gpu, message);
	result = api->get_uuid(device, text, sizeof(text));
	if (result != NVML_SUCCESS) {
		add_device_problem(message, address, nvml_error(api, result));
		return;
	}
	text[sizeof(text) - 1] = '\0';
	/* MIG instances ("MIG-...") are no PCI function and are refused with the rest. */
	if (gpusched_uuid_parse(text, gpu->uuid)) {
		memset(gpu->uuid, 0, sizeof(gpu->uuid));
		snprintf(problem, sizeof(problem), "UUID \"%.100s\" is not GPU-xxxxxxxx-...", text);
		add_device_problem(message, address, problem);
	}
}

#ifdef GPUSCHED_STATIC
/*
 * A statically linked program (the test guest's) cannot load the vendor's
 * shared library into itself, so it does not link dlopen() in at all.
 */
static void *load_library(const char *name)
{
	(void)name;
	return NULL;
}
#else
static void *load_library(const char *name)
{
	return dlopen(name, RTLD_NOW | RTLD_LOCAL);
}
#endif

int gs_nvml_lookup(unsigned int nr, const char *const *pci_addresses,
		   struct gs_nvml_gpu *gpus, char *message)
{
	const char *name = getenv("GPUSCHED_NVML_LIBRARY");
	struct nvml_api api;
	nvmlReturn_t result;
	void *library;
	unsigned int i;
	int err;

	message[0] = '\0';
	for (i = 0; i < nr; i++)
		gpus[i] = (struct gs_nvml_gpu){ .mem_node = -1 };
	if (!name || !*name)
		name = GS_NVML_LIBRARY;
	library = load_library(name);
	if (!library) {
		const char *why = dlerror();

		set_message(message, "%s", why ? why : "cannot be loaded by a static program");
		return -ENOENT;
	}
	err = resolve_api(library, &api, message);
	if (err)
		goto out;
	result = api.init();
	if (result != NVML_SUCCESS) {
		set_message(message, "%s: nvmlInit_v2: %s (is the NVIDIA driver loaded?)",
			    name, nvml_error(&api, result));
		err = -EIO;
		goto out;
	}
	for (i = 0; i < nr; i++)
		lookup_device(&api, pci_addresses[i], &gpus[i], message);
	api.shutdown();
out:
	dlclose(library);
	return err;
}

void gs_nvml_cache_clear(struct gs_nvml_cache *cache)
{
	unsigned int i;

	for (i = 0; i < cache->nr; i++)
		free(cache->addresses[i]);
	free(cache->addresses);
	free(cache->gpus);
	cache->addresses = NULL;
	cache->gpus = NULL;
	cache->nr = 0;
}

/* Whether @cache holds an answer for exactly these @nr addresses, in order. */
static bool cache_holds(const struct gs_nvml_cache *cache, unsigned int nr,
			const char *const *pci_addresses)
{
	unsigned int i;

	if (!cache->nr || cache->nr != nr)
		return false;
	for (i = 0; i < nr; i++)
		if (strcmp(cache->addresses[i], pci_addresses[i]))
			return false;
	return true;
}

/*
 * Keeps @gpus as the answer for @pci_addresses in the empty @cache; on no
 * memory, keeps nothing.
 */
static void cache_keep(struct gs_nvml_cache *cache, unsigned int nr,
		       const char *const *pci_addresses, const struct gs_nvml_gpu *gpus)
{
	unsigned int i;

	cache->addresses = calloc(nr, sizeof(*cache->addresses));
	cache->gpus = calloc(nr, sizeof(*cache->gpus));
	if (!cache->addresses || !cache->gpus)
		goto fail;
	for (; cache->nr < nr; cache->nr++) {
		cache->addresses[cache->nr] = strdup(pci_addresses[cache->nr]);
		if (!cache->addresses[cache->nr])
			goto fail;
	}
	for (i = 0; i < nr; i++)
		cache->gpus[i] = gpus[i];
	return;
fail:
	gs_nvml_cache_clear(cache);
}

int gs_nvml_cache_lookup(struct gs_nvml_cache *cache, unsigned int nr,
			 const char *const *pci_addresses, struct gs_nvml_gpu *gpus,
			 char *message)
{
	unsigned int i;
	int err;

	if (cache_holds(cache, nr, pci_addresses)) {
		for (i = 0; i < nr; i++)
			gpus[i] = cache->gpus[i];
		message[0] = '\0';
		return 0;
	}
	gs_nvml_cache_clear(cache);
	cache->asked++;
	err = gs_nvml_lookup(nr, pci_addresses, gpus, message);
	if (!err && !message[0] && nr)
		cache_keep(cache, nr, pci_addresses, gpus);
	return err;
}
