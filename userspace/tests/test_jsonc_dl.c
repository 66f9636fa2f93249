// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of userspace/cli/jsonc_dl.c, the json-c the gpusched CLI loads when
 * a command needs it: nothing maps json-c at start, a missing library and a
 * library without json-c's functions fail in words that name the file and
 * leave nothing loaded, gs_jsonc_need() or a JSON call that cannot load it
 * ends the program saying what to install, and once loaded the calls reach
 * json-c with their arguments.  Built like the CLI: not linked with json-c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../cli/jsonc_dl.h"
#include "dl_test.h"
#include "tap.h"

#define SONAME "libjson-c.so.5"
#define MESSAGE_SIZE 512

/* Loads @library (GPUSCHED_JSONC_LIBRARY), which must fail naming @words. */
static void fails(const char *library, const char *words, const char *what)
{
	dl_load_fails("GPUSCHED_JSONC_LIBRARY", gs_jsonc_load, library, words, what);
	tap_ok(!dl_mapped(SONAME) && !dl_mapped(library), "%s: nothing is left loaded", what);
}

/*
 * gs_jsonc_need(), or a JSON call made without it, in a process that cannot
 * load json-c: it must exit 1 with the reason on stderr, not go on with a
 * NULL object.
 */
static void call_without_library(bool need, const char *what)
{
	const char *library = "/nonexistent/" SONAME;
	char text[MESSAGE_SIZE] = "";
	int pipefd[2], status = -1;
	ssize_t len = 0, n;
	pid_t pid;

	if (pipe(pipefd)) {
		tap_ok(0, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDERR_FILENO);
		setenv("GPUSCHED_JSONC_LIBRARY", library, 1);
		if (need)
			gs_jsonc_need();
		else
			json_object_new_object();
		_exit(99);	/* only if the call came back */
	}
	close(pipefd[1]);
	while (pid > 0 && len < (ssize_t)sizeof(text) - 1 &&
	       (n = read(pipefd[0], text + len, sizeof(text) - 1 - len)) > 0)
		len += n;
	close(pipefd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	       "%s that cannot load json-c exits 1 (status %#x)", what, status);
	tap_ok(!strncmp(text, "gpusched: ", 10) && strstr(text, library) &&
	       strstr(text, "install the libjson-c5 package"),
	       "%s: the message names %s and the package to install (got \"%.*s\")", what,
	       library, (int)strcspn(text, "\n"), text);
}

static void loaded(void)
{
	struct json_object *root, *array, *member = NULL;
	char message[MESSAGE_SIZE] = "";
	const char *text;

	tap_ok(json_object_put(NULL) == 0 && !dl_mapped(SONAME),
	       "freeing NULL before any JSON was built loads nothing");
	root = json_object_new_object();
	if (!tap_ok(root != NULL, "the first call loads json-c and builds an object"))
		return;
	tap_ok(dl_mapped(SONAME), "json-c is mapped once a call was made");
	tap_ok(gs_jsonc_load(message, sizeof(message)) == 0, "loading it again is a no-op (%s)",
	       message);
	array = json_object_new_array();
	json_object_array_add(array, json_object_new_int(1));
	json_object_array_add(array, json_object_new_boolean(1));
	json_object_array_add(array, json_object_new_string("x"));
	json_object_array_add(array, json_object_new_double_s(2.5, "2.50"));
	json_object_object_add(root, "a", array);
	json_object_object_add(root, "b", json_object_new_int64(-5000000000LL));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	tap_ok(text && !strcmp(text, "{\"a\":[1,true,\"x\",2.50],\"b\":-5000000000}"),
	       "every builder reaches json-c with its arguments: %s", text ? text : "(null)");
	tap_ok(json_object_object_get_ex(root, "a", &member) && member == array &&
	       json_object_array_length(array) == 4,
	       "json_object_object_get_ex() and json_object_array_length() reach json-c");
	text = json_object_get_string(json_object_array_get_idx(array, 2));
	tap_ok(text && !strcmp(text, "x"), "json_object_array_get_idx() and "
	       "json_object_get_string() reach json-c (\"%s\")", text ? text : "(null)");
	tap_ok(json_object_put(root) == 1, "json_object_put() frees the object");
}

int main(void)
{
	tap_start();
	tap_ok(!dl_mapped(SONAME), "json-c is not mapped when the program starts");
	fails("/nonexistent/" SONAME, "install the libjson-c5 package", "a missing library");
	fails("libz.so.1", "has no json_object_array_add", "a library that is not json-c");
	call_without_library(true, "gs_jsonc_need()");
	call_without_library(false, "a JSON call");
	loaded();
	return tap_done();
}
