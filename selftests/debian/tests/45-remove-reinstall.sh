#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Step 5: taking gpusched off a node and putting it back.  `apt remove`
# stops the daemon, unloads and deletes the module (from every kernel DKMS
# built it for), and deletes the unit and the udev rule; the gpusched group
# and the configuration (/etc) stay, as Debian keeps a removed package's
# configuration.  `apt purge` then deletes those too.  A reinstall works
# like the first install, and leaves the node as step 2 left it (module
# loaded, gpuschedd enabled and running) for the suites after this one.
set -u
. "$(dirname "$0")/../tap-debian.sh"
krel=$(uname -r)
nr_gpus=$(grep -c '^gpu ' "$GS_TOPOLOGY_FILE")
packages="gpusched-dkms gpusched libgpusched0 libgpusched-dev"

# Everything of ours that may be left on the system.
module_files() { find /lib/modules /var/lib/dkms /usr/src -name 'gpusched*' 2>/dev/null; }
unit_files() { find /etc/systemd /lib/systemd /usr/lib/systemd /run/systemd/system -name 'gpuschedd*' 2>/dev/null; }
rule_files() { find /etc/udev /lib/udev /usr/lib/udev -name '*gpusched*' 2>/dev/null; }
package_left() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $packages 2>/dev/null | grep -v '^un ' ; }
nothing() { [ -z "$("$@")" ] || { "$@" | sed 's/^/# left: /'; return 1; }; }

logged systemctl is-enabled gpuschedd
# shellcheck disable=SC2086
step "apt remove $packages" apt-get remove -y $packages
is "gpuschedd is no longer running" inactive "$(systemctl is-active gpuschedd)"
check "the module is not loaded" test ! -d /sys/module/gpusched
check "no module file, DKMS tree or module source is left" nothing module_files
check "no gpuschedd unit file is left (/lib/systemd/system)" test ! -e /lib/systemd/system/gpuschedd.service
check "no udev rule is left" nothing rule_files
check "the gpusched group stays until purge" sh -c 'getent group gpusched >/dev/null'
# What is left to purge: the packages that had configuration files
# (dpkg's "rc"); the libraries had none and are gone already, and apt knows
# no package it has neither installed nor in a list.
configured=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $packages 2>/dev/null |
	awk '$1 == "rc" { print $2 }' | tr '\n' ' ')
is "left in dpkg's database after remove: the two with configuration files" \
	"gpusched gpusched-dkms" "$(echo $configured | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
# shellcheck disable=SC2086
step "apt purge $configured" apt-get purge -y $configured
check "no gpusched group" sh -c '! getent group gpusched'
check "no unit file or enablement link is left anywhere" nothing unit_files
check "no /etc/modprobe.d/gpusched.conf, no /etc/default/gpuschedd" \
	test ! -e /etc/modprobe.d/gpusched.conf -a ! -e /etc/default/gpuschedd
check "dpkg knows none of the packages" nothing package_left
logged systemctl daemon-reload
is "systemd has forgotten gpuschedd.service" not-found "$(systemctl show -P LoadState gpuschedd)"

# Back again, the whole install in one go.
step "apt install all four .debs again" \
	sh -c "cd '$GS_DEBS' && apt-get install -y --no-install-recommends ./gpusched-dkms_*.deb ./gpusched_*.deb ./libgpusched0_*.deb ./libgpusched-dev_*.deb"
step "dkms built the module again for $krel" test -f "/lib/modules/$krel/updates/dkms/gpusched.ko"
step "modprobe gpusched" modprobe gpusched
udevadm settle
is "/dev/gpusched is root:gpusched 660" "root:gpusched 660" "$(stat -c '%U:%G %a' /dev/gpusched 2>&1)"
sed -i "s/^GPUSCHEDD_OPTS=.*/GPUSCHEDD_OPTS=\"$(standin_matches)\"/" /etc/default/gpuschedd
step "systemctl enable --now gpuschedd" systemctl enable --now gpuschedd
is "the module holds the $nr_gpus GPUs again" "$nr_gpus" "$(cat /sys/kernel/gpusched/nr_gpus 2>&1)"
finish
