#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) and cache the Debian 12 guest image that the Debian stage of
# `make check` boots: systemd as PID 1, udev, DKMS, the headers of the
# image's own kernel and what the gpusched and Slurm tests need
# (selftests/debian/packages).  Prints shell assignments:
#   IMAGE=<base.qcow2, never written: boots use an overlay>
#   VMLINUZ=<the image's kernel>  INITRD=<its initramfs>
#   MANIFEST=<dpkg-query -W of the image>
#
# The image lives outside the checkout, in
#   $GS_CACHE/debian-guest/<key>/
# where <key> is the sha256 of this script, customize.sh, the package list
# and the candidate versions apt gives for the listed packages, so a new
# kernel ABI or a Slurm update in the archive builds a new image.  Other
# keys are deleted once a new image is in place.  Needs root (mmdebstrap's
# root mode, chroot).
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"

here=$GS_TOP/selftests/debian
top=$GS_CACHE/debian-guest
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security

mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages")
gs_need_packages mmdebstrap qemu-utils e2fsprogs
# Candidate versions need package lists; a machine that never ran apt-get
# update has none.
compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || gs_apt_update

versions=$(apt-cache show --no-all-versions "${pkgs[@]}" |
	awk '/^Package:/ { p = $2 } /^Version:/ { print p, $2 }') ||
	gs_die "apt-cache show failed for the guest's packages"
key=$({
	cat "$here/image.sh" "$here/customize.sh" "$here/packages"
	printf '%s\n' "$versions"
} | sha256sum | cut -c1-16)
dir=$top/$key

print_image() {
	printf 'IMAGE=%s\nVMLINUZ=%s\nINITRD=%s\nMANIFEST=%s\n' "$dir/base.qcow2" \
		"$dir/vmlinuz" "$dir/initrd.img" "$dir/manifest.txt"
}
[ -f "$dir/.complete" ] && { print_image; exit 0; }

mkdir -p "$top"
# Two checkouts building the same image wait for each other, then reuse it.
exec 9>"$top/.lock"
flock 9
[ -f "$dir/.complete" ] && { print_image; exit 0; }
[ "$(id -u)" -eq 0 ] || gs_die "building the Debian guest image needs root (mmdebstrap, chroot)"

tmp=$top/.build-$key
rm -rf "$tmp" && mkdir -p "$tmp/boot"
trap 'rm -rf "$tmp"' EXIT
log=$tmp/build.log
began=$(gs_now)
gs_log "building the Debian 12 guest image $key (${#pkgs[@]} packages; about 6 min)"
if ! mmdebstrap --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
	--customize-hook="\"$here/customize.sh\" \"\$1\"" \
	bookworm "$tmp/rootfs" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
	"deb $security bookworm-security main" >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	gs_die "mmdebstrap failed (log above)"
fi
gs_log "mmdebstrap: $(($(gs_now) - began)) s"
cp -L "$tmp/rootfs/vmlinuz" "$tmp/boot/vmlinuz"
cp -L "$tmp/rootfs/initrd.img" "$tmp/boot/initrd.img"
chroot "$tmp/rootfs" dpkg-query -W >"$tmp/boot/manifest.txt"
# mkfs.ext4 -d copies the tree into the file system: no loop mount needed.
mkfs.ext4 -q -F -L root -d "$tmp/rootfs" "$tmp/base.raw" 4G
rm -rf "$tmp/rootfs"
qemu-img convert -c -O qcow2 "$tmp/base.raw" "$tmp/boot/base.qcow2"
rm -f "$tmp/base.raw"
touch "$tmp/boot/.complete"
rm -rf "$dir"
mv "$tmp/boot" "$dir"
# One image is kept: the older keys are 400 MiB each.
for old in "$top"/*/; do
	[ "${old%/}" = "$dir" ] || rm -rf "${old%/}"
done
gs_log "Debian guest image $key built in $(($(gs_now) - began)) s"
print_image
