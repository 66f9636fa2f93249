#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Step 4: a launcher built against libgpusched-dev.  apt install the -dev
# package, compile a program with `pkg-config --cflags --libs libgpusched`,
# and run it: it opens the device and asks the module for GET_INFO, so it
# needs the headers (libgpusched.h and <linux/gpusched.h>), the .so link
# and the runtime library of libgpusched0 to all work together.
set -u
. "$(dirname "$0")/../tap-debian.sh"
nr_gpus=$(grep -c '^gpu ' "$GS_TOPOLOGY_FILE")
work=$(mktemp -d)
chmod 755 "$work"	# the group member runs the program too

step "apt install ./libgpusched-dev_*.deb" \
	sh -c "cd '$GS_DEBS' && apt-get install -y --no-install-recommends ./libgpusched-dev_*.deb"
flags=$(pkg-config --cflags --libs libgpusched 2>&1)
step "pkg-config --cflags --libs libgpusched ($flags)" pkg-config --exists libgpusched

cat >"$work/info.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <libgpusched.h>

int main(void)
{
	struct gpusched_get_info info;
	struct gpusched *gs;
	int err = gpusched_open(NULL, 0, &gs);

	if (err) {
		fprintf(stderr, "gpusched_open: %s\n", strerror(-err));
		return 1;
	}
	err = gpusched_get_info(gs, &info);
	gpusched_close(gs);
	if (err) {
		fprintf(stderr, "gpusched_get_info: %s\n", strerror(-err));
		return 1;
	}
	printf("abi %u gpus %u generation %llu policy %s\n", info.abi_version, info.nr_gpus,
	       (unsigned long long)info.generation, gpusched_policy_name(info.default_policy));
	return 0;
}
C
# shellcheck disable=SC2086
step "cc info.c \$(pkg-config --cflags --libs libgpusched)" \
	sh -c "cc -Wall -Wextra -Werror -o '$work/info' '$work/info.c' $flags"
# ldd may name the file through /lib (the merged /usr): compare real paths.
packaged=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libgpusched.so.0
linked=$(ldd "$work/info" 2>/dev/null | awk '$1 == "libgpusched.so.0" { print $3 }')
is "it links libgpusched0's $packaged ($linked)" "$(readlink -f "$packaged")" \
	"$(readlink -f "${linked:-/nonexistent}")"
out=$(runuser -u gsmember -- "$work/info" 2>&1)
diag "$out"
is "it runs (as a gpusched member): GET_INFO sees the $nr_gpus GPUs gpuschedd fed" "$nr_gpus" \
	"$(echo "$out" | sed -n 's/.* gpus \([0-9]*\) .*/\1/p')"
rm -rf "$work"
finish
