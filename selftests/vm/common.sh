# SPDX-License-Identifier: GPL-2.0
# Shared by the VM harness scripts: where things are cached, how packages get
# installed, and how progress is reported.  Sourced, never run.
#
# Guest kernels and extracted kernel sources are kept outside the checkout so
# that a fresh clone (which is what CI runs in) still finds them warm:
#   $GPUSCHED_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/gpusched)
# Build products of one checkout go to $GPUSCHED_OUT (default <checkout>/out).

GS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GS_CACHE=${GPUSCHED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpusched}
GS_OUT=${GPUSCHED_OUT:-$GS_TOP/out}
GS_TOPOLOGIES=$GS_TOP/selftests/vm/topologies

gs_log() { printf '[gpusched] %s\n' "$*" >&2; }
gs_die() { printf '[gpusched] error: %s\n' "$*" >&2; exit 1; }

# Install the Debian packages named on the command line that are not
# installed yet.  Quiet when there is nothing to do; needs root otherwise.
gs_need_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] ||
		gs_die "missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})"
	gs_log "installing ${missing[*]}"
	gs_apt_update
	local log
	log=$(mktemp)
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		gs_die "apt-get install ${missing[*]} failed"
	fi
	rm -f "$log"
}

# apt-cache knows nothing before the first update on a fresh machine; update
# once per run, and only when a lookup or an install needs it.
gs_apt_update() {
	[ -n "${GS_APT_UPDATED:-}" ] && return 0
	apt-get update -qq >/dev/null || gs_die "apt-get update failed"
	GS_APT_UPDATED=1
	export GS_APT_UPDATED
}

# Packages every stage of the harness relies on.
GS_HOST_PACKAGES=(make gcc libc6-dev clang libclang-rt-dev qemu-system-x86 busybox-static cpio
	kmod sparse perl xz-utils linux-source-6.12 libjson-c-dev openmpi-bin
	bpftool libbpf-dev libelf-dev zlib1g-dev linux-libc-dev python3)

# The extracted pieces of Debian's linux-source-6.12 the harness needs:
# checkpatch, the kselftest harness headers and the KUnit parser.  Prints the
# directory that holds them, keyed by the source package's version.
gs_kernel_source_tools() {
	local ver dir
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
		gs_die "linux-source-6.12 is not installed"
	dir=$GS_CACHE/source-tools/$ver
	if [ ! -f "$dir/.complete" ]; then
		gs_log "extracting checkpatch and kselftest headers from linux-source-6.12 $ver"
		rm -rf "$dir" && mkdir -p "$dir"
		tar -C "$dir" --strip-components=1 -xJf /usr/src/linux-source-6.12.tar.xz \
			--wildcards 'linux-source-6.12/scripts/checkpatch.pl' \
			'linux-source-6.12/scripts/spelling.txt' \
			'linux-source-6.12/scripts/const_structs.checkpatch' \
			'linux-source-6.12/tools/testing/selftests/kselftest*.h' \
			'linux-source-6.12/tools/testing/kunit/*' ||
			gs_die "cannot extract tools from /usr/src/linux-source-6.12.tar.xz"
		touch "$dir/.complete"
	fi
	printf '%s\n' "$dir"
}

# gs_qemu_topology TOPOLOGY: the QEMU machine of a topology file in
# selftests/vm/topologies (sockets, cores, threads, NUMA nodes with their
# memory and distances, stand-in GPUs behind PCI expander bridges on their
# nodes) as the array GS_QEMU_ARGS.  Every guest, busybox or Debian, boots
# the same machine from it; the caller adds the disks, kernel and consoles,
# and appends GS_KERNEL_ARGS (the file's kernel lines) to the command line.
# Devices the caller adds must say bus=pcie.0: with pxb-pcie bridges present
# QEMU would otherwise try to plug them into a bridge and fail.
gs_qemu_topology() {
	local topology=$1
	local topo_file=$GS_TOPOLOGIES/$topology
	[ -f "$topo_file" ] || gs_die "no topology '$topology' in $GS_TOPOLOGIES ($(ls "$GS_TOPOLOGIES" | grep -v README | tr '\n' ' '))"
	GS_QEMU_ARGS=(-machine q35 -cpu qemu64,vendor=GenuineIntel -accel tcg,thread=multi)
	GS_KERNEL_ARGS=""
	local kw rest n opts id cpus mem opt a b v addr node model bus_nr mem_total=0 gpu=0
	while read -r kw rest; do
		case $kw in
		'' | '#'* | description) ;;
		kernel) GS_KERNEL_ARGS+=" $rest" ;;
		cpus)
			read -r n opts <<<"$rest"
			GS_QEMU_ARGS+=(-smp "cpus=$n,${opts// /,}")
			;;
		node)
			read -r id opts <<<"$rest"
			cpus= mem=
			for opt in $opts; do
				case $opt in
				cpus=*) cpus=${opt#cpus=} ;;
				mem=*) mem=${opt#mem=} ;;
				*) gs_die "$topo_file: unknown node option '$opt'" ;;
				esac
			done
			[ -n "$mem" ] || gs_die "$topo_file: node $id needs mem=MiB"
			mem_total=$((mem_total + mem))
			GS_QEMU_ARGS+=(-object "memory-backend-ram,id=mem$id,size=${mem}M")
			GS_QEMU_ARGS+=(-numa "node,nodeid=$id${cpus:+,cpus=$cpus},memdev=mem$id")
			;;
		distance)
			read -r a b v <<<"$rest"
			GS_QEMU_ARGS+=(-numa "dist,src=$a,dst=$b,val=$v")
			;;
		gpu)
			read -r addr opts <<<"$rest"
			node= model=
			for opt in $opts; do
				case $opt in
				node=*) node=${opt#node=} ;;
				model=*) model=${opt#model=} ;;
				esac
			done
			[[ $addr =~ ^0000:([0-9a-f]{2}):00\.0$ ]] ||
				gs_die "$topo_file: gpu address '$addr' must be 0000:BUS:00.0"
			# The bridge owns bus BUS-1; the root port behind it is BUS.
			bus_nr=$((16#${BASH_REMATCH[1]} - 1))
			GS_QEMU_ARGS+=(-device "pxb-pcie,id=pxb$gpu,bus_nr=$bus_nr,numa_node=$node,bus=pcie.0"
				-device "pcie-root-port,id=rp$gpu,bus=pxb$gpu,chassis=$((gpu + 1))"
				-device "$model,bus=rp$gpu")
			gpu=$((gpu + 1))
			;;
		*) gs_die "$topo_file: unknown line '$kw $rest'" ;;
		esac
	done <"$topo_file"
	GS_QEMU_ARGS+=(-m "${mem_total}M")
}

# Seconds since the epoch, for stage timings.
gs_now() { date +%s; }

# Build gpusched.ko for one kernel in its own copy of the sources, so that
# builds for several kernels never share object files:
#   gs_build_module KREL KDIR [MAKE ARGS...]   -> $GS_OUT/kmod-KREL/kmod/gpusched.ko
# gs_prepare_guest SERIES: what an interactive or demo guest needs: the
# packages, the kernel of SERIES (sets KREL, KDIR, VMLINUZ), the module
# built for it, and the guest's programs and selftests.
gs_prepare_guest() {
	gs_need_packages "${GS_HOST_PACKAGES[@]}"
	eval "$("$GS_TOP/selftests/vm/kernels.sh" "$1")"
	gs_build_module "$KREL" "$KDIR" >/dev/null
	make -s -C "$GS_TOP" selftests OUT="$GS_OUT"
}

gs_build_module() {
	local krel=$1 kdir=$2 dir=$GS_OUT/kmod-$1
	shift 2
	rm -rf "$dir" && mkdir -p "$dir"
	cp "$GS_TOP/Kbuild" "$dir/"
	cp -r "$GS_TOP/kmod" "$dir/kmod"
	find "$dir/kmod" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	make -C "$kdir" M="$dir" "$@" modules
}
