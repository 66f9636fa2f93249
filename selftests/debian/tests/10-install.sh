#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Step 1 of installing gpusched on a Debian node, as an admin does it:
# apt install the module (DKMS), the programs and the library from the
# .debs; DKMS builds the module for the running kernel, modprobe loads it,
# udev gives /dev/gpusched to root:gpusched 0660; parameters come from
# /etc/modprobe.d and loading at boot from /etc/modules-load.d.
# Leaves the packages installed and the module loaded for the next steps.
set -u
. "$(dirname "$0")/../tap-debian.sh"
krel=$(uname -r)
version=$(dpkg-deb -f "$GS_DEBS"/gpusched-dkms_*.deb Version)
version=${version%-*}

cd "$GS_DEBS" || exit 1
step "apt install ./gpusched-dkms_*.deb ./gpusched_*.deb ./libgpusched0_*.deb" \
	apt-get install -y --no-install-recommends ./gpusched-dkms_*.deb ./gpusched_*.deb ./libgpusched0_*.deb
cd / || exit 1

step "dkms status: gpusched/$version built and installed for $krel" \
	sh -c "dkms status gpusched/$version -k $krel | grep -q ': installed'"
step "the module is in /lib/modules/$krel/updates/dkms" \
	test -f "/lib/modules/$krel/updates/dkms/gpusched.ko"
is "modinfo finds it, version $version" "$version" "$(modinfo -F version gpusched 2>/dev/null)"
step "getent group gpusched: the package added a system group" \
	sh -c 'gid=$(getent group gpusched | cut -d: -f3) && [ "$gid" -lt 1000 ]'
step "/lib/udev/rules.d/60-gpusched.rules is installed" test -f /lib/udev/rules.d/60-gpusched.rules
step "/etc/modprobe.d/gpusched.conf is a commented example (sets nothing)" \
	sh -c '[ -f /etc/modprobe.d/gpusched.conf ] && ! grep -q "^[[:space:]]*options" /etc/modprobe.d/gpusched.conf'

step "modprobe gpusched" modprobe gpusched
udevadm settle
is "/dev/gpusched is root:gpusched, mode 660 (the udev rule)" "root:gpusched 660" \
	"$(stat -c '%U:%G %a' /dev/gpusched 2>&1)"
step "gpusched-dkms's default policy without parameters is node" \
	grep -qx node /sys/kernel/gpusched/default_policy

# A parameter from modprobe.d, the way an admin sets one.
echo "options gpusched default_policy=exclusive" >/etc/modprobe.d/gpusched-site.conf
step "modprobe -r gpusched; modprobe gpusched, with default_policy=exclusive in modprobe.d" \
	sh -c 'modprobe -r gpusched && modprobe gpusched'
is "the module took default_policy from modprobe.d" exclusive \
	"$(cat /sys/kernel/gpusched/default_policy 2>&1)"
rm -f /etc/modprobe.d/gpusched-site.conf

# Loading at boot: systemd-modules-load reads /etc/modules-load.d at boot;
# restarting it is the same code path without a reboot.
echo gpusched >/etc/modules-load.d/gpusched.conf
modprobe -r gpusched
step "modules-load.d: systemd-modules-load loads gpusched" \
	sh -c 'systemctl restart systemd-modules-load.service && test -d /sys/module/gpusched'
udevadm settle
is "/dev/gpusched is root:gpusched 660 again" "root:gpusched 660" "$(stat -c '%U:%G %a' /dev/gpusched 2>&1)"
is "default policy back to node without the modprobe.d line" node \
	"$(cat /sys/kernel/gpusched/default_policy 2>&1)"
rm -f /etc/modules-load.d/gpusched.conf
finish
