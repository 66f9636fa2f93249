// SPDX-License-Identifier: GPL-2.0
/*
 * json-c, loaded by the gpusched CLI when a command needs it rather than
 * by the dynamic loader when it starts.  Linked in, json-c is mapped and
 * relocated at every start, `gpusched exec` before it starts the program
 * included, while only --json output and the tables of topo, plan and
 * status use it.
 *
 * The functions below are the json-c calls the CLI makes.  Each calls the
 * library's own, which gs_jsonc_load() found with dlsym(); <json-c/json.h>
 * declares them, so the compiler checks every prototype here against
 * json-c's.  A command that will build JSON loads the library with
 * gs_jsonc_need() before it does anything else (--json, and topo, plan
 * and status, which build JSON whatever they print), so that a missing
 * library stops it before it has pinned or measured anything, with a
 * message naming the library and the package to install; a call made
 * without that loads it the same way.  The first load is not thread-safe:
 * the CLI makes its JSON calls from its main thread.  The static build
 * (the test guest's) links json-c itself and leaves this file out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dl.h"
#include "jsonc_dl.h"

/* Debian 12's libjson-c5 (0.16); every function below is in json-c 0.14. */
#define JSONC_SONAME "libjson-c.so.5"

#define GS_JSONC_FUNCTIONS(X)				\
	X(json_object_array_add)			\
	X(json_object_array_get_idx)			\
	X(json_object_array_length)			\
	X(json_object_get_string)			\
	X(json_object_new_array)			\
	X(json_object_new_boolean)			\
	X(json_object_new_double_s)			\
	X(json_object_new_int)				\
	X(json_object_new_int64)			\
	X(json_object_new_object)			\
	X(json_object_new_string)			\
	X(json_object_object_add)			\
	X(json_object_object_get_ex)			\
	X(json_object_put)				\
	X(json_object_to_json_string_ext)

#define GS_DECLARE(name) __typeof__(name) *name;
#define GS_NAME(name) #name,

/* The library's functions; all set, or none. */
static struct {
	GS_JSONC_FUNCTIONS(GS_DECLARE)
} jsonc;

static const char *const names[] = { GS_JSONC_FUNCTIONS(GS_NAME) };

static void *library;

int gs_jsonc_load(char *message, size_t size)
{
	const char *name = getenv("GPUSCHED_JSONC_LIBRARY");
	void *functions[sizeof(names) / sizeof(names[0])];
	void *handle;

	_Static_assert(sizeof(jsonc) == sizeof(functions), "one pointer per name");
	if (library)
		return 0;
	if (!name || !*name)
		name = JSONC_SONAME;
	handle = gs_dl_open(name, names, sizeof(names) / sizeof(names[0]), functions,
			    message, size, "gpusched needs json-c (install the libjson-c5 package)",
			    "gpusched needs json-c 0.14 or later");
	if (!handle)
		return -ENOENT;
	/* POSIX guarantees that a dlsym() result survives this copy. */
	memcpy(&jsonc, functions, sizeof(jsonc));
	library = handle;
	return 0;
}

void gs_jsonc_need(void)
{
	char message[512];

	if (library)
		return;
	if (gs_jsonc_load(message, sizeof(message))) {
		fprintf(stderr, "gpusched: %s\n", message);
		exit(EXIT_FAILURE);
	}
}

int json_object_array_add(struct json_object *obj, struct json_object *val)
{
	gs_jsonc_need();
	return jsonc.json_object_array_add(obj, val);
}

struct json_object *json_object_array_get_idx(const struct json_object *obj, size_t idx)
{
	gs_jsonc_need();
	return jsonc.json_object_array_get_idx(obj, idx);
}

size_t json_object_array_length(const struct json_object *obj)
{
	gs_jsonc_need();
	return jsonc.json_object_array_length(obj);
}

const char *json_object_get_string(struct json_object *obj)
{
	gs_jsonc_need();
	return jsonc.json_object_get_string(obj);
}

struct json_object *json_object_new_array(void)
{
	gs_jsonc_need();
	return jsonc.json_object_new_array();
}

struct json_object *json_object_new_boolean(json_bool b)
{
	gs_jsonc_need();
	return jsonc.json_object_new_boolean(b);
}

struct json_object *json_object_new_double_s(double d, const char *ds)
{
	gs_jsonc_need();
	return jsonc.json_object_new_double_s(d, ds);
}

struct json_object *json_object_new_int(int32_t i)
{
	gs_jsonc_need();
	return jsonc.json_object_new_int(i);
}

struct json_object *json_object_new_int64(int64_t i)
{
	gs_jsonc_need();
	return jsonc.json_object_new_int64(i);
}

struct json_object *json_object_new_object(void)
{
	gs_jsonc_need();
	return jsonc.json_object_new_object();
}

struct json_object *json_object_new_string(const char *s)
{
	gs_jsonc_need();
	return jsonc.json_object_new_string(s);
}

int json_object_object_add(struct json_object *obj, const char *key, struct json_object *val)
{
	gs_jsonc_need();
	return jsonc.json_object_object_add(obj, key, val);
}

json_bool json_object_object_get_ex(const struct json_object *obj, const char *key,
				    struct json_object **value)
{
	gs_jsonc_need();
	return jsonc.json_object_object_get_ex(obj, key, value);
}

int json_object_put(struct json_object *obj)
{
	/* Nothing was built without the library: there is nothing to free. */
	if (!library)
		return 0;
	return jsonc.json_object_put(obj);
}

const char *json_object_to_json_string_ext(struct json_object *obj, int flags)
{
	gs_jsonc_need();
	return jsonc.json_object_to_json_string_ext(obj, flags);
}
