#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) and describe the debug guest kernel: Debian's linux-source-6.12
# on top of `make tinyconfig`, with the fragment debug-kernel.config (KUnit,
# KASAN, lockdep, kmemleak, ...).  The build is cached in
#   $GPUSCHED_CACHE/debug-kernel/<source version>_<fragment hash>/
# so a fresh clone reuses it; it takes about 15 minutes on 2 cores.
# Prints shell assignments like kernels.sh: KREL KDIR VMLINUZ KCONFIG.
set -euo pipefail
. "$(dirname "$0")/common.sh"

fragment=$GS_TOP/selftests/vm/debug-kernel.config
gs_need_packages linux-source-6.12 xz-utils make gcc flex bison bc libelf-dev libssl-dev
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
hash=$(sha256sum "$fragment" | cut -c1-12)
dir=$GS_CACHE/debug-kernel/${ver}_$hash
src=$dir/linux-source-6.12

if [ ! -f "$dir/.complete" ]; then
	gs_log "building the debug kernel from linux-source-6.12 $ver (once, about 15 minutes on 2 cores)"
	rm -rf "$dir" && mkdir -p "$dir"
	tar -C "$dir" -xJf /usr/src/linux-source-6.12.tar.xz
	(
		cd "$src"
		make -s tinyconfig
		scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
		make -s olddefconfig
	) >"$dir/config.log" 2>&1 || { cat "$dir/config.log" >&2; gs_die "configuring the debug kernel failed"; }
	# olddefconfig drops what it cannot satisfy: make sure nothing was lost.
	for option in $(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$/\1/p' "$fragment"); do
		grep -qx "$option=y" "$src/.config" ||
			gs_die "debug kernel: $option=y from $fragment did not survive olddefconfig"
	done
	if ! make -C "$src" -j"$(($(nproc) + 1))" bzImage modules >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		gs_die "building the debug kernel failed; the log is $dir/build.log"
	fi
	touch "$dir/.complete"
fi

printf 'KREL=%s\nKDIR=%s\nVMLINUZ=%s\nKCONFIG=%s\n' "$(make -s -C "$src" kernelrelease)" \
	"$src" "$src/arch/x86/boot/bzImage" "$src/.config"
