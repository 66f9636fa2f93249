# SPDX-License-Identifier: GPL-2.0
#
# The scheduler monitor's BPF build, included by the top Makefile (which
# defines OUT, CC and UAPI).  sched_monitor.bpf.c is compiled by clang for
# the BPF target into $(OUT)/bpf/sched_monitor.bpf.o, and bpftool turns
# that object into the skeleton $(OUT)/bpf/sched_monitor.skel.h that
# sched_monitor.c includes (the libbpf-bootstrap layout).  No vmlinux.h is
# generated: the program declares the few kernel fields it reads with
# preserve_access_index, so the build needs no BTF of the build machine's
# kernel and CO-RE relocates them on the kernel it runs on.
#
# For the gpusched CLI (and any unit test that links the monitor):
#   MONITOR_SRCS         userspace sources to compile and link
#   MONITOR_HDRS         hand-written headers they depend on
#   MONITOR_GEN          generated files they depend on (build them first)
#   MONITOR_CFLAGS       include paths for the sources and the skeleton
#   MONITOR_LIBS         dynamic link with libbpf (the monitor's unit test)
#   MONITOR_DL_SRCS      instead of MONITOR_LIBS, for the installed CLI: libbpf
#   MONITOR_DL_CFLAGS    loaded with dlopen() when the monitor is opened, so
#                        that no other command loads it (libbpf_dl.c); link
#                        the top Makefile's DL_SRCS with them
#   MONITOR_STATIC_LIBS  static link (the guest binary): what libbpf.a needs,
#                        as `pkg-config --static --libs libbpf` says on Debian 12
#   MONITOR_PACKAGES     the Debian packages the build needs; MONITOR_DEPS is
#                        a stamp whose rule installs them on demand (as root)

MONITOR_OUT := $(OUT)/bpf
MONITOR_SRCS := userspace/bpf/sched_monitor.c
MONITOR_HDRS := userspace/bpf/sched_monitor.h userspace/bpf/sched_monitor_record.h \
	userspace/bpf/libbpf_dl.h
MONITOR_GEN := $(MONITOR_OUT)/sched_monitor.bpf.o $(MONITOR_OUT)/sched_monitor.skel.h
MONITOR_CFLAGS := -Iuserspace/bpf -I$(MONITOR_OUT)
MONITOR_LIBS := -lbpf -lelf -lz
MONITOR_DL_SRCS := userspace/bpf/libbpf_dl.c
MONITOR_DL_CFLAGS := -DGPUSCHED_LIBBPF_DLOPEN
MONITOR_STATIC_LIBS := -lbpf -lelf -lz
MONITOR_PACKAGES := clang bpftool libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
MONITOR_DEPS := $(OUT)/.bpf-deps

# -target bpf does not search the multiarch directory that holds <asm/types.h>.
MONITOR_BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 \
	-I/usr/include/$(shell $(CC) -dumpmachine) -Iuserspace/bpf

$(MONITOR_DEPS):
	@bash -c '. selftests/vm/common.sh && gs_need_packages $(MONITOR_PACKAGES)'
	@mkdir -p $(@D) && touch $@

$(MONITOR_OUT)/sched_monitor.bpf.o: userspace/bpf/sched_monitor.bpf.c \
		userspace/bpf/sched_monitor_record.h | $(MONITOR_DEPS)
	@mkdir -p $(@D)
	clang $(MONITOR_BPF_CFLAGS) -c $< -o $@

$(MONITOR_OUT)/sched_monitor.skel.h: $(MONITOR_OUT)/sched_monitor.bpf.o
	bpftool gen skeleton $< name sched_monitor_bpf >$@.tmp
	mv $@.tmp $@
