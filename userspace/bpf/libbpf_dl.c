// SPDX-License-Identifier: GPL-2.0
/*
 * libbpf, loaded by the monitor when it is opened rather than by the
 * dynamic loader when the gpusched CLI starts.  Linked in, libbpf brings
 * libelf and libz, and every command pays for mapping and relocating the
 * three, `gpusched exec` before it starts the program included, while only
 * `monitor` and `bench` use them.
 *
 * The functions below are the libbpf calls that sched_monitor.c and its
 * skeleton make.  Each calls the library's own, which gs_libbpf_load()
 * found with dlsym(); <bpf/libbpf.h> and <bpf/bpf.h> declare them, so the
 * compiler checks every prototype here against libbpf's.  Called before a
 * successful gs_libbpf_load(), they fail as libbpf fails (a negative errno,
 * or NULL with errno set), with ENOSYS.  The static build (the test
 * guest's) links libbpf itself and leaves this file out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../cli/dl.h"
#include "libbpf_dl.h"

/* Debian 12's libbpf1 (1.1); every function below is in libbpf 1.0. */
#define LIBBPF_SONAME "libbpf.so.1"

#define GS_LIBBPF_FUNCTIONS(X)				\
	X(bpf_iter_create)				\
	X(bpf_link__destroy)				\
	X(bpf_link__fd)					\
	X(bpf_map__fd)					\
	X(bpf_map__key_size)				\
	X(bpf_map__max_entries)				\
	X(bpf_map__value_size)				\
	X(bpf_map_delete_elem)				\
	X(bpf_map_get_next_key)				\
	X(bpf_map_lookup_and_delete_elem)		\
	X(bpf_map_lookup_elem)				\
	X(bpf_map_update_elem)				\
	X(bpf_object__attach_skeleton)			\
	X(bpf_object__destroy_skeleton)			\
	X(bpf_object__detach_skeleton)			\
	X(bpf_object__load_skeleton)			\
	X(bpf_object__open_skeleton)			\
	X(bpf_program__attach_iter)			\
	X(bpf_program__set_autoattach)			\
	X(bpf_program__set_autoload)			\
	X(libbpf_num_possible_cpus)			\
	X(libbpf_set_print)				\
	X(libbpf_strerror)

#define GS_DECLARE(name) __typeof__(name) *name;
#define GS_NAME(name) #name,

/* The library's functions; all set, or none. */
static struct {
	GS_LIBBPF_FUNCTIONS(GS_DECLARE)
} libbpf;

static const char *const names[] = { GS_LIBBPF_FUNCTIONS(GS_NAME) };

static void *library;

int gs_libbpf_load(char *message, size_t size)
{
	const char *name = getenv("GPUSCHED_LIBBPF_LIBRARY");
	void *functions[sizeof(names) / sizeof(names[0])];
	void *handle;

	_Static_assert(sizeof(libbpf) == sizeof(functions), "one pointer per name");
	if (library)
		return 0;
	if (!name || !*name)
		name = LIBBPF_SONAME;
	handle = gs_dl_open(name, names, sizeof(names) / sizeof(names[0]), functions, message,
			    size, "gpusched monitor and bench need libbpf (install the libbpf1 package)",
			    "gpusched needs libbpf 1.0 or later");
	if (!handle)
		return -ENOENT;
	/* POSIX guarantees that a dlsym() result survives this copy. */
	memcpy(&libbpf, functions, sizeof(libbpf));
	library = handle;
	return 0;
}

/* Fails a call made before the library was loaded, as libbpf would. */
static int not_loaded(void)
{
	errno = ENOSYS;
	return -ENOSYS;
}

int bpf_iter_create(int link_fd)
{
	return library ? libbpf.bpf_iter_create(link_fd) : not_loaded();
}

int bpf_link__destroy(struct bpf_link *link)
{
	return library ? libbpf.bpf_link__destroy(link) : not_loaded();
}

int bpf_link__fd(const struct bpf_link *link)
{
	return library ? libbpf.bpf_link__fd(link) : not_loaded();
}

int bpf_map__fd(const struct bpf_map *map)
{
	return library ? libbpf.bpf_map__fd(map) : not_loaded();
}

__u32 bpf_map__key_size(const struct bpf_map *map)
{
	return library ? libbpf.bpf_map__key_size(map) : 0;
}

__u32 bpf_map__max_entries(const struct bpf_map *map)
{
	return library ? libbpf.bpf_map__max_entries(map) : 0;
}

__u32 bpf_map__value_size(const struct bpf_map *map)
{
	return library ? libbpf.bpf_map__value_size(map) : 0;
}

int bpf_map_delete_elem(int fd, const void *key)
{
	return library ? libbpf.bpf_map_delete_elem(fd, key) : not_loaded();
}

int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	return library ? libbpf.bpf_map_get_next_key(fd, key, next_key) : not_loaded();
}

int bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value)
{
	return library ? libbpf.bpf_map_lookup_and_delete_elem(fd, key, value) : not_loaded();
}

int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return library ? libbpf.bpf_map_lookup_elem(fd, key, value) : not_loaded();
}

int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)
{
	return library ? libbpf.bpf_map_update_elem(fd, key, value, flags) : not_loaded();
}

int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
	return library ? libbpf.bpf_object__attach_skeleton(s) : not_loaded();
}

void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
	if (library)
		libbpf.bpf_object__destroy_skeleton(s);
}

void bpf_object__detach_skeleton(struct bpf_object_skeleton *s)
{
	if (library)
		libbpf.bpf_object__detach_skeleton(s);
}

int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
	return library ? libbpf.bpf_object__load_skeleton(s) : not_loaded();
}

int bpf_object__open_skeleton(struct bpf_object_skeleton *s,
			      const struct bpf_object_open_opts *opts)
{
	return library ? libbpf.bpf_object__open_skeleton(s, opts) : not_loaded();
}

struct bpf_link *bpf_program__attach_iter(const struct bpf_program *prog,
					  const struct bpf_iter_attach_opts *opts)
{
	if (!library) {
		not_loaded();
		return NULL;
	}
	return libbpf.bpf_program__attach_iter(prog, opts);
}

void bpf_program__set_autoattach(struct bpf_program *prog, bool autoattach)
{
	if (library)
		libbpf.bpf_program__set_autoattach(prog, autoattach);
}

int bpf_program__set_autoload(struct bpf_program *prog, bool autoload)
{
	return library ? libbpf.bpf_program__set_autoload(prog, autoload) : not_loaded();
}

int libbpf_num_possible_cpus(void)
{
	return library ? libbpf.libbpf_num_possible_cpus() : not_loaded();
}

libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)
{
	return library ? libbpf.libbpf_set_print(fn) : NULL;
}

int libbpf_strerror(int err, char *buf, size_t size)
{
	if (library)
		return libbpf.libbpf_strerror(err, buf, size);
	snprintf(buf, size, "%s", strerror(err < 0 ? -err : err));
	return not_loaded();
}
