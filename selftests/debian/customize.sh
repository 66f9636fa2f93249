#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mmdebstrap's customize hook for the Debian guest image (image.sh):
#   customize.sh ROOTFS
# Makes the fresh Debian 12 tree bootable from /dev/vda without a password
# and, when the kernel command line says guest_test=1, has it run the tests
# on the 9p share at boot and power off (selftests/debian/run.sh boots it).
set -euo pipefail
root=${1:?usage: customize.sh ROOTFS}

echo gsguest >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	gsguest
HOSTS
echo '/dev/vda / ext4 rw,relatime 0 1' >"$root/etc/fstab"
# The console logs in as root without a password (an interactive boot).
chroot "$root" passwd -d root >/dev/null

# Nothing may take apt's lock or the CPUs behind the tests' back: the
# timers would fire during a test boot (the image has no network anyway).
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# The test runner: mounts the run's share (the tests, the .debs) and the
# repository (read-only), runs run.sh with its output on the second serial
# port, says it is done and powers off.
cat >"$root/usr/local/sbin/guest-test" <<'RUNNER'
#!/bin/sh
# Runs the tests of selftests/debian on the 9p shares, then powers off.
stty -F /dev/ttyS1 -opost 2>/dev/null
modprobe 9pnet_virtio
mkdir -p /mnt/host /mnt/repo
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host0 /mnt/host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro repo /mnt/repo
/bin/bash /mnt/host/run.sh >/dev/ttyS1 2>&1
echo "=== done rc=$?" >/dev/ttyS1
systemctl poweroff --no-block
RUNNER
chmod 755 "$root/usr/local/sbin/guest-test"

cat >"$root/etc/systemd/system/guest-test.service" <<'UNIT'
[Unit]
Description=gpusched Debian guest tests (selftests/debian)
ConditionKernelCommandLine=guest_test=1
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/guest-test
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/guest-test.service \
	"$root/etc/systemd/system/multi-user.target.wants/guest-test.service"

# Without a NIC the guest has 127.0.0.1 only, and glibc's getaddrinfo with
# AI_ADDRCONFIG then resolves no IPv4 name: Slurm fails to start.  Any second
# IPv4 address cures it.
cat >"$root/etc/systemd/system/lo-addr.service" <<'UNIT'
[Unit]
Description=A second loopback IPv4 address (Slurm's name lookups need one)
DefaultDependencies=no
Before=network-pre.target munge.service slurmctld.service slurmd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/sbin/ip addr add 127.0.1.1/8 dev lo

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/lo-addr.service \
	"$root/etc/systemd/system/multi-user.target.wants/lo-addr.service"
