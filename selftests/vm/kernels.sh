#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Resolve, fetch and cache one Debian guest kernel of the test matrix.
#
#   kernels.sh SERIES        (SERIES is 6.1, 6.12 or 6.12-rt)
#
# Picks the newest Debian ABI of SERIES for which both the unsigned image and
# the headers are available (never a hard-coded version), installs the headers
# package on this machine (headers only: nothing goes to /boot), extracts the
# image's vmlinuz into the cache and prints shell assignments.  6.12-rt is
# Debian's PREEMPT_RT flavour of 6.12 (linux-image-*-rt-amd64-unsigned), where
# spinlocks sleep and softirqs run in threads.  Prints:
#   KREL=<uname -r of the guest>  KDIR=<headers to build against>
#   VMLINUZ=<kernel image>        KCONFIG=<its .config>
set -euo pipefail
. "$(dirname "$0")/common.sh"

series=${1:?usage: kernels.sh SERIES}
flavour=amd64
case $series in
6.1 | 6.12) ;;
6.12-rt) series=6.12 flavour=rt-amd64 ;;
*) gs_die "unknown kernel series '$series' (the matrix is 6.1, 6.12 and 6.12-rt)" ;;
esac

# The package lists are empty on a machine that never ran apt-get update.
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
	gs_apt_update
fi

# ABI names look like 6.1.0-56 (6.1) or 6.12.117+deb12 (6.12); other
# flavours (-cloud, and -rt unless asked for) are not part of the matrix.
abi_re="^${series//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)\$"
list_abis() {
	apt-cache search --names-only "^linux-$1-${series//./\\.}\\..*-$flavour$2\$" |
		awk '{print $1}' | sed -e "s/^linux-$1-//" -e "s/-$flavour$2\$//" |
		grep -E "$abi_re" | sort -V
}
abi=$(comm -12 <(list_abis image -unsigned | sort) <(list_abis headers '' | sort) |
	sort -V | tail -n1)
[ -n "$abi" ] || gs_die "no Debian $series kernel with both image and headers in the package lists; run apt-get update"

krel=$abi-$flavour
image_pkg=linux-image-$krel-unsigned
image_ver=$(apt-cache show --no-all-versions "$image_pkg" | awk '/^Version:/{print $2; exit}')
dir=$GS_CACHE/kernels/${krel}_$image_ver

if [ ! -f "$dir/.complete" ]; then
	gs_log "downloading $image_pkg $image_ver"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$image_pkg=$image_ver" >/dev/null) ||
		gs_die "apt-get download $image_pkg=$image_ver failed"
	rm -rf "$dir" && mkdir -p "$dir"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb |
		tar -C "$tmp" -x "./boot/vmlinuz-$krel" "./boot/config-$krel"
	mv "$tmp/boot/vmlinuz-$krel" "$dir/vmlinuz"
	mv "$tmp/boot/config-$krel" "$dir/config"
	touch "$dir/.complete"
fi

gs_need_packages "linux-headers-$krel"
kdir=/usr/src/linux-headers-$krel
[ -f "$kdir/Makefile" ] || gs_die "$kdir has no Makefile; reinstall linux-headers-$krel"

printf 'KREL=%s\nKDIR=%s\nVMLINUZ=%s\nKCONFIG=%s\n' "$krel" "$kdir" "$dir/vmlinuz" "$dir/config"
