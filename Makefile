# SPDX-License-Identifier: GPL-2.0
#
# gpusched top-level Makefile.
#
#   make                 build kmod/gpusched.ko, the userspace programs and
#                        libgpusched
#   make check           the whole test suite: static checks, unit tests, and
#                        the selftests inside QEMU guests on every kernel of
#                        the matrix (see selftests/check.sh)
#   make bench           placement engine timings (numbers, no verdict)
#   make icount          guest instructions of PIN, UNPIN, sched_setaffinity,
#                        the monitor's ping-pong and launches, counted by a
#                        QEMU plugin, and the pages each launcher maps
#                        (numbers, no verdict; KERNEL=6.12,
#                        TOPOLOGY=2s-smt, FUNCTIONS=N for the top N kernel
#                        functions)
#   make fuzz            the placement engine's fuzzer for FUZZ_SECONDS (20)
#   make vm              an interactive guest with the module loaded
#                        (KERNEL=6.1|6.12, TOPOLOGY=2s-smt|4n|memnode)
#   make demo            the guest runs gpuschedd and a four-worker stand-in
#                        job through `gpusched exec` and shows where it runs
#   make slurm-plugin    the Slurm SPANK plugin, out/slurm/gpusched_spank.so
#                        (built by plain make too when libslurm-dev is there)
#   make install         programs, library, headers, man pages, systemd unit,
#                        udev rule
#                        (PREFIX=/usr/local, DESTDIR)
#   make clean
#
# The module is built against KDIR: /lib/modules/$(uname -r)/build when this
# machine has it, otherwise the headers of the harness's default guest kernel
# (Debian's newest 6.1, installed on demand).  `make KDIR=/path/to/tree`
# picks any other kernel tree.

# Plain `make` builds everything; without this the first rule of an included
# fragment (userspace/bpf/bpf.mk) would be the default goal.
.DEFAULT_GOAL := all

KERNEL ?= 6.1
TOPOLOGY ?= 2s-smt
OUT ?= $(CURDIR)/out

ifeq ($(origin KDIR),undefined)
ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
KDIR := /lib/modules/$(shell uname -r)/build
else
KDIR = $(shell selftests/vm/kernels.sh $(KERNEL) | sed -n 's/^KDIR=//p')
endif
endif

CC ?= cc
UAPI := kmod/include/uapi

# Userspace unit tests: every userspace/tests/test_*.c is one TAP program,
# linked with the shared sources and built with ASan and UBSan.
USER_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -I$(UAPI) -Iuserspace/lib -Ikmod
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
USER_LIB_SRCS := $(wildcard userspace/lib/*.c) kmod/placement.c kmod/placement_topology.c
USER_HDRS := $(wildcard userspace/lib/*.h kmod/*.h $(UAPI)/linux/*.h)
USER_LIBS := -ljson-c -ldl
UNIT_TESTS := $(patsubst userspace/tests/%.c,$(OUT)/unit/%,$(wildcard userspace/tests/test_*.c)) \
	$(patsubst userspace/tests/%.sh,$(OUT)/unit/%,$(wildcard userspace/tests/test_*.sh))

# The programs and the library.  The programs link the library's objects
# statically; the shared library exports only the gpusched_* API.
PROG_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -I$(UAPI) -Iuserspace/lib -Ikmod
# The installed CLI loads json-c when it first builds JSON (jsonc_dl.c), and
# libbpf when the monitor opens, both through dl.c; the guest's static
# build links them.
DL_SRCS := userspace/cli/dl.c
CLI_DL_SRCS := userspace/cli/jsonc_dl.c $(DL_SRCS)
CLI_DL_CFLAGS := -DGPUSCHED_JSONC_DLOPEN
CLI_SRCS := $(filter-out $(CLI_DL_SRCS),$(wildcard userspace/cli/*.c))
DAEMON_SRCS := $(wildcard userspace/daemon/*.c)
PROGRAMS := $(OUT)/bin/gpusched $(OUT)/bin/gpuschedd $(OUT)/bin/gpusched-standin-worker
LIB_VERSION := 0
LIBRARY := $(OUT)/lib/libgpusched.so.$(LIB_VERSION) $(OUT)/lib/libgpusched.a $(OUT)/lib/libgpusched.pc
PREFIX ?= /usr/local
# One version for the module and the programs: kmod/gpusched.h holds it.
GPUSCHED_VERSION := $(shell sed -n 's/^\#define GPUSCHED_VERSION "\(.*\)"/\1/p' kmod/gpusched.h)
PROG_CFLAGS += -DGPUSCHED_VERSION='"$(GPUSCHED_VERSION)"'
# A distribution's flags (dpkg-buildflags: hardening, debug prefix maps) come
# last, so they apply to what is installed; unset, they change nothing.
PROG_CFLAGS += $(CPPFLAGS) $(CFLAGS)
PROG_LDFLAGS := $(LDFLAGS)
USER_CFLAGS += -DGPUSCHED_VERSION='"$(GPUSCHED_VERSION)"'

# The scheduler monitor (BPF) that gpusched monitor and bench use.
include userspace/bpf/bpf.mk

# Selftests run inside the guest, which has no libc: link them statically.
# The kselftest harness macros trip -Wextra's unused-parameter, sign-compare
# and clobbered warnings, hence the three exceptions.
KSFT_DIR ?= $(shell selftests/vm/tools.sh)/tools/testing/selftests
SELFTEST_CFLAGS := -std=gnu11 -static -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-sign-compare -Wno-clobbered -I$(UAPI)
SELFTESTS := $(patsubst selftests/gpusched/%.c,$(OUT)/selftests/%,$(wildcard selftests/gpusched/*.c))
# Userspace unit tests that need no fixture files also run in every guest,
# statically linked, so the engine is tested on each kernel's machine too.
GUEST_UNIT_TESTS := $(addprefix $(OUT)/selftests/unit-,$(filter test_placement test_cpulist,\
	$(patsubst userspace/tests/%.c,%,$(wildcard userspace/tests/test_*.c))))

# The placement engine's libFuzzer target (clang only) and benchmark.
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -Ikmod
FUZZ_SECONDS ?= 20

.PHONY: all module userspace programs library unit-tests selftests check vm clean fuzz bench \
	icount demo install slurm-plugin

all: module userspace $(if $(wildcard /usr/include/slurm/spank.h),slurm-plugin)

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: programs library

# The programs and tests need json-c's headers and static library: installed
# on demand (as root) like every other package the build needs.
USER_DEPS := $(OUT)/.userspace-deps
$(USER_DEPS):
	@bash -c '. selftests/vm/common.sh && gs_need_packages libjson-c-dev'
	@mkdir -p $(@D) && touch $@

programs: $(PROGRAMS)

library: $(LIBRARY)

# The CLI's sources in link order: what `gpusched exec` runs first, the
# monitor's (with its embedded BPF object) last.  The kernel maps a
# program's pages around each page fault in 64 KiB windows, and at exit
# unmaps what it mapped: a launch that touches a little code in every
# window pays for the whole binary.  In this order a launch through the
# module maps 156 KiB of it rather than 280 KiB (research-guide.rst).
# discover_pci.c parses --match.
CLI_EXEC_SRCS := userspace/cli/main.c userspace/cli/exec.c userspace/lib/gpusched.c \
	userspace/lib/env.c userspace/lib/cpulist.c userspace/lib/discover_pci.c \
	userspace/lib/fallback_cache.c \
	userspace/lib/snapshot.c kmod/placement.c kmod/placement_topology.c \
	userspace/lib/sysfs.c userspace/lib/slurm.c
CLI_LINK_SRCS := $(CLI_EXEC_SRCS) $(filter-out $(CLI_EXEC_SRCS) $(MONITOR_SRCS),\
	$(CLI_SRCS) $(CLI_DL_SRCS) $(MONITOR_DL_SRCS) $(USER_LIB_SRCS)) $(MONITOR_SRCS)

$(OUT)/bin/gpusched: $(CLI_SRCS) $(CLI_DL_SRCS) $(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/cli/*.h) \
		$(MONITOR_SRCS) $(MONITOR_DL_SRCS) $(MONITOR_HDRS) $(MONITOR_GEN) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(CLI_DL_CFLAGS) $(MONITOR_CFLAGS) $(MONITOR_DL_CFLAGS) $(PROG_LDFLAGS) \
		-o $@ $(CLI_LINK_SRCS) -ldl

$(OUT)/bin/gpuschedd: $(DAEMON_SRCS) $(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/daemon/*.h) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(PROG_LDFLAGS) -o $@ $(DAEMON_SRCS) $(USER_LIB_SRCS) $(USER_LIBS)

$(OUT)/bin/gpusched-standin-worker: userspace/bench/standin_worker.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(PROG_LDFLAGS) -pthread -o $@ $<

$(OUT)/lib/libgpusched.so.$(LIB_VERSION): $(USER_LIB_SRCS) $(USER_HDRS) userspace/lib/libgpusched.map
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(PROG_LDFLAGS) -fPIC -shared -Wl,-soname,libgpusched.so.$(LIB_VERSION) \
		-Wl,--version-script=userspace/lib/libgpusched.map -o $@ $(USER_LIB_SRCS) -ldl
	ln -sf libgpusched.so.$(LIB_VERSION) $(OUT)/lib/libgpusched.so

$(OUT)/lib/libgpusched.a: $(USER_LIB_SRCS) $(USER_HDRS)
	@mkdir -p $(OUT)/lib/obj
	cd $(OUT)/lib/obj && rm -f *.o && $(CC) $(PROG_CFLAGS:-I%=-I$(CURDIR)/%) -c \
		$(addprefix $(CURDIR)/,$(USER_LIB_SRCS))
	rm -f $@ && ar rcs $@ $(OUT)/lib/obj/*.o

# The Slurm SPANK plugin: its sources and libgpusched's, built -fPIC into
# one .so that exports only what slurmstepd looks up.  It is built against
# libslurm-dev (installed on demand) and must be rebuilt for every Slurm
# major release.
SLURM_SRCS := $(wildcard userspace/slurm/*.c)
SLURM_LOGIC_SRCS := $(filter-out userspace/slurm/gpusched_spank.c,$(SLURM_SRCS))
SLURM_HDRS := $(wildcard userspace/slurm/*.h)
SLURM_PLUGIN := $(OUT)/slurm/gpusched_spank.so
SLURM_DEPS := $(OUT)/.slurm-deps
$(SLURM_DEPS):
	@bash -c '. selftests/vm/common.sh && gs_need_packages libslurm-dev'
	@mkdir -p $(@D) && touch $@

slurm-plugin: $(SLURM_PLUGIN)

$(SLURM_PLUGIN): $(SLURM_SRCS) $(SLURM_HDRS) userspace/slurm/gpusched_spank.map $(USER_LIB_SRCS) \
		$(USER_HDRS) | $(SLURM_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(PROG_LDFLAGS) -Iuserspace/slurm -fPIC -shared \
		-Wl,--version-script=userspace/slurm/gpusched_spank.map -o $@ $(SLURM_SRCS) \
		$(USER_LIB_SRCS) -ldl

$(OUT)/lib/libgpusched.pc: userspace/lib/libgpusched.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(GPUSCHED_VERSION)|' $< >$@

unit-tests: $(UNIT_TESTS) $(PROGRAMS) $(OUT)/unit/libnvidia-ml.so.1 $(OUT)/unit/fake_gpusched.so

$(OUT)/unit/%: userspace/tests/%.c $(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/tests/*.h) \
		$(wildcard userspace/daemon/*.h) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(SANITIZE) -o $@ $< $(USER_LIB_SRCS) $(USER_LIBS)

# The monitor's own test links the monitor and libbpf too.
$(OUT)/unit/test_monitor: userspace/tests/test_monitor.c $(MONITOR_SRCS) $(MONITOR_HDRS) \
		$(MONITOR_GEN) $(USER_LIB_SRCS) $(USER_HDRS) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(MONITOR_CFLAGS) $(SANITIZE) -o $@ $< $(MONITOR_SRCS) $(USER_LIB_SRCS) \
		$(USER_LIBS) $(MONITOR_LIBS)

# The libbpf the CLI loads only for the monitor.
$(OUT)/unit/test_libbpf_dl: userspace/tests/test_libbpf_dl.c $(MONITOR_DL_SRCS) $(MONITOR_HDRS) \
		$(DL_SRCS) userspace/cli/dl.h $(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/tests/*.h) | $(USER_DEPS) $(MONITOR_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(MONITOR_DL_CFLAGS) $(SANITIZE) -o $@ $< $(MONITOR_DL_SRCS) \
		$(DL_SRCS) $(USER_LIB_SRCS) $(USER_LIBS)

# The json-c the CLI loads when it first builds JSON.
$(OUT)/unit/test_jsonc_dl: userspace/tests/test_jsonc_dl.c $(CLI_DL_SRCS) $(wildcard userspace/cli/*.h) \
		$(wildcard userspace/tests/*.h) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(CLI_DL_CFLAGS) $(SANITIZE) -o $@ $< $(CLI_DL_SRCS) -ldl

# The daemon's uevent classification, linked from the daemon's own sources.
$(OUT)/unit/test_uevent: userspace/tests/test_uevent.c userspace/daemon/uevent.c \
		userspace/daemon/log.c $(wildcard userspace/daemon/*.h) $(USER_HDRS) \
		$(wildcard userspace/tests/*.h) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(SANITIZE) -o $@ $< userspace/daemon/uevent.c userspace/daemon/log.c \
		$(USER_LIB_SRCS) $(USER_LIBS)

# The SPANK plugin's logic, without Slurm.
$(OUT)/unit/test_slurm: userspace/tests/test_slurm.c $(SLURM_LOGIC_SRCS) $(SLURM_HDRS) \
		$(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/tests/*.h) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -Iuserspace/slurm $(SANITIZE) -o $@ $< $(SLURM_LOGIC_SRCS) \
		$(USER_LIB_SRCS) $(USER_LIBS)

# Tests that are shell scripts (the launchers under mpirun).
$(OUT)/unit/%: userspace/tests/%.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

# A stand-in for NVML that the NVML tests load instead of the real one.
$(OUT)/unit/libnvidia-ml.so.1: userspace/tests/fake_nvml.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $<

# A stand-in for /dev/gpusched that the CLI tests preload into gpusched.
$(OUT)/unit/fake_gpusched.so: userspace/tests/fake_gpusched.c $(UAPI)/linux/gpusched.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -g -Wall -Wextra -Werror -I$(UAPI) -fPIC -shared -o $@ $< -ldl

$(OUT)/fuzz/fuzz_placement: userspace/tests/fuzz_placement.c kmod/placement.c kmod/placement_topology.c \
		kmod/placement.h kmod/placement_internal.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< kmod/placement.c kmod/placement_topology.c

fuzz: $(OUT)/fuzz/fuzz_placement
	@mkdir -p $(OUT)/fuzz/corpus
	$(OUT)/fuzz/fuzz_placement -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(OUT)/fuzz/corpus

$(OUT)/bench/bench_placement: userspace/bench/bench_placement.c userspace/cli/bench_synthetic.c \
		userspace/cli/bench_synthetic.h kmod/placement.c kmod/placement_topology.c \
		kmod/placement.h kmod/placement_internal.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -Ikmod -Iuserspace/cli -o $@ $< \
		userspace/cli/bench_synthetic.c kmod/placement.c kmod/placement_topology.c

bench: $(OUT)/bench/bench_placement
	$(OUT)/bench/bench_placement

# Shell-script suites (end to end through the programs) run in the guest too.
SCRIPT_SELFTESTS := $(patsubst selftests/e2e/%.sh,$(OUT)/selftests/%,$(wildcard selftests/e2e/*_test.sh))

selftests: $(SELFTESTS) $(GUEST_UNIT_TESTS) $(SCRIPT_SELFTESTS) $(OUT)/guest-bin/gpusched \
	$(OUT)/guest-bin/gpuschedd $(OUT)/guest-bin/gpusched-standin-worker \
	$(OUT)/guest-bin/json_check $(OUT)/guest-bin/fifo_spin

$(OUT)/selftests/%: selftests/e2e/%.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(OUT)/selftests/unit-%: userspace/tests/%.c $(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/tests/*.h) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DGPUSCHED_STATIC -static -o $@ $< $(USER_LIB_SRCS) $(USER_LIBS)

# The programs again, statically linked for the guest, which has no libc.
$(OUT)/guest-bin/gpusched: $(CLI_SRCS) $(USER_LIB_SRCS) $(USER_HDRS) $(wildcard userspace/cli/*.h) \
		$(MONITOR_SRCS) $(MONITOR_HDRS) $(MONITOR_GEN) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(MONITOR_CFLAGS) -DGPUSCHED_STATIC -static -o $@ $(CLI_SRCS) \
		$(MONITOR_SRCS) $(USER_LIB_SRCS) $(USER_LIBS) $(MONITOR_STATIC_LIBS)

# The guest suites check JSON output with this (the guest has no jq).
$(OUT)/guest-bin/json_check: userspace/tests/json_check.c | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -static -o $@ $< -ljson-c

# A thread no normal task can preempt, for the monitor suite (busybox has no chrt).
$(OUT)/guest-bin/fifo_spin: userspace/tests/fifo_spin.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -static -o $@ $<

$(OUT)/guest-bin/gpuschedd: $(DAEMON_SRCS) $(USER_LIB_SRCS) $(USER_HDRS) | $(USER_DEPS)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -DGPUSCHED_STATIC -static -o $@ $(DAEMON_SRCS) $(USER_LIB_SRCS) $(USER_LIBS)

$(OUT)/guest-bin/gpusched-standin-worker: userspace/bench/standin_worker.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -static -pthread -o $@ $<

$(OUT)/selftests/%: selftests/gpusched/%.c $(wildcard $(UAPI)/linux/*.h selftests/gpusched/*.h) \
		userspace/lib/kmem_probe.h
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -I$(KSFT_DIR) -o $@ $<

check:
	@bash selftests/check.sh

vm:
	@bash selftests/vm/vm.sh $(KERNEL) $(TOPOLOGY)

# KERNEL and TOPOLOGY as given on the command line or in the environment,
# else 6.12 (not vm's 6.1: the kernel the instruction counts were made on).
icount:
	@bash selftests/icount/icount.sh \
		--kernel $(if $(filter command line environment,$(origin KERNEL)),$(KERNEL),6.12) \
		--topology $(TOPOLOGY) --functions $(or $(FUNCTIONS),0)

demo:
	@bash selftests/vm/demo.sh $(KERNEL) $(TOPOLOGY)

# Installs the programs, the library, its headers and pkg-config file, the
# man pages, the systemd unit and the udev rule below DESTDIR/PREFIX (the
# module goes through DKMS or `make module` + modules_install, not here; the
# rule gives /dev/gpusched to a gpusched group: `groupadd --system gpusched`).
install: programs library
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/linux $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)/lib/systemd/system $(DESTDIR)/etc/default \
		$(DESTDIR)/lib/udev/rules.d
	install -m 755 $(OUT)/bin/gpusched $(OUT)/bin/gpusched-standin-worker $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(OUT)/bin/gpuschedd $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 $(OUT)/lib/libgpusched.so.$(LIB_VERSION) $(OUT)/lib/libgpusched.a \
		$(DESTDIR)$(PREFIX)/lib/
	ln -sf libgpusched.so.$(LIB_VERSION) $(DESTDIR)$(PREFIX)/lib/libgpusched.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(GPUSCHED_VERSION)|' \
		userspace/lib/libgpusched.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/libgpusched.pc
	install -m 644 userspace/lib/libgpusched.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(UAPI)/linux/gpusched.h $(DESTDIR)$(PREFIX)/include/linux/
	install -m 644 userspace/cli/gpusched.1 userspace/cli/gpusched-standin-worker.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 userspace/daemon/gpuschedd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|/usr/sbin/gpuschedd|$(PREFIX)/sbin/gpuschedd|' userspace/daemon/gpuschedd.service \
		>$(DESTDIR)/lib/systemd/system/gpuschedd.service
	install -m 644 userspace/daemon/60-gpusched.rules $(DESTDIR)/lib/udev/rules.d/
	[ -e $(DESTDIR)/etc/default/gpuschedd ] || \
		install -m 644 userspace/daemon/gpuschedd.default $(DESTDIR)/etc/default/gpuschedd

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf $(OUT)
