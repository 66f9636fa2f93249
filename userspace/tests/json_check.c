// SPDX-License-Identifier: GPL-2.0
/*
 * json_check: does a file hold one JSON document, and does it have the
 * given members?  The guest's shell suites use it to check the JSON the
 * programs print (busybox has no JSON parser):
 *
 *   json_check FILE [PATH]...
 *
 * A PATH is member names separated by dots ("policies.exclusive.summary");
 * a number selects an array element ("micro.0.name").  Exits 0 when the
 * file parses and every PATH exists, 1 otherwise (saying which), 2 on bad
 * usage.  PATH=VALUE also checks that the member's text form is VALUE
 * ("null" for a JSON null).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* The member @path names, or NULL. */
static struct json_object *lookup(struct json_object *root, const char *path)
{
	char *copy = strdup(path), *name, *save = NULL, *end;
	struct json_object *node = root;

	for (name = copy ? strtok_r(copy, ".", &save) : NULL; node && name;
	     name = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(node, json_type_array)) {
			unsigned long index = strtoul(name, &end, 10);

			node = *end || index >= json_object_array_length(node) ? NULL :
			       json_object_array_get_idx(node, index);
		} else if (!json_object_object_get_ex(node, name, &node)) {
			node = NULL;
		}
	}
	free(copy);
	return node;
}

int main(int argc, char **argv)
{
	struct json_object *root;
	int i, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: json_check FILE [PATH[=VALUE]]...\n");
		return 2;
	}
	root = json_object_from_file(argv[1]);
	if (!root) {
		fprintf(stderr, "json_check: %s: not one JSON document: %s\n", argv[1],
			json_util_get_last_err() ? json_util_get_last_err() : "unreadable");
		return 1;
	}
	for (i = 2; i < argc; i++) {
		char *path = strdup(argv[i]), *value = path ? strchr(path, '=') : NULL;
		struct json_object *member;
		const char *text;

		if (!path) {
			fprintf(stderr, "json_check: out of memory\n");
			return 1;
		}
		if (value)
			*value++ = '\0';
		member = lookup(root, path);
		text = member ? json_object_get_string(member) : "null";
		if (!member) {
			/* json-c keeps a JSON null as a NULL member: tell it from a missing one. */
			char *dot = strrchr(path, '.');
			struct json_object *parent = root;

			if (dot) {
				*dot = '\0';
				parent = lookup(root, path);
				*dot = '.';
			}
			if (!parent || !json_object_is_type(parent, json_type_object) ||
			    !json_object_object_get_ex(parent, dot ? dot + 1 : path, NULL)) {
				fprintf(stderr, "json_check: %s: no member %s\n", argv[1], path);
				failed = 1;
				free(path);
				continue;
			}
		}
		if (value && strcmp(text, value)) {
			fprintf(stderr, "json_check: %s: %s is %s, expected %s\n", argv[1], path, text,
				value);
			failed = 1;
		}
		free(path);
	}
	json_object_put(root);
	return failed;
}
