#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the Debian packages of this checkout on the host, as a packager
# would: `dpkg-buildpackage -us -uc -b` in a copy of the source under OUT
# (dpkg-buildpackage writes its .debs into the parent directory and
# debhelper its files into debian/, neither of which may touch the
# checkout), then lintian on the result.
#
#   build-debs.sh DEBDIR
#
# Leaves the .debs and the .changes in DEBDIR, the build's output in
# DEBDIR/build.log and lintian's in DEBDIR/lintian.log.  Exit status: 0 when
# the packages were built (lintian's verdict is the caller's to judge from
# lintian.log and lintian.rc), 1 otherwise.
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"

debdir=${1:?usage: build-debs.sh DEBDIR}
# debian/control's Build-Depends: the harness's own packages cover the rest;
# libslurm-dev only the Slurm plugin needs, and a fresh machine lacks it.
gs_need_packages dpkg-dev debhelper dh-dkms fakeroot lintian libslurm-dev "${GS_HOST_PACKAGES[@]}"

version=$(sed -n 's/^#define GPUSCHED_VERSION "\(.*\)"/\1/p' "$GS_TOP/kmod/gpusched.h")
work=$GS_OUT/debian/pkg
src=$work/gpusched-$version
rm -rf "$work" "$debdir" && mkdir -p "$src" "$debdir"

# The sources only (tracked, or new and not ignored): never out/ or a .ko
# a `make` left behind.
(cd "$GS_TOP" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 tar -cf - --no-recursion) | tar -C "$src" -xf -

if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$debdir/build.log" 2>&1; then
	tail -n 40 "$debdir/build.log" >&2
	gs_log "dpkg-buildpackage failed; the whole log is $debdir/build.log"
	exit 1
fi
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$debdir/"
rm -rf "$work"

# --fail-on warning,error: an info or pedantic tag is not a failure; each
# tag we keep is overridden, with the reason, in debian/*.lintian-overrides.
rc=0
lintian --info --display-info --fail-on error,warning "$debdir"/*.changes \
	>"$debdir/lintian.log" 2>&1 || rc=$?
echo "$rc" >"$debdir/lintian.rc"
ls "$debdir"/*.deb >&2
