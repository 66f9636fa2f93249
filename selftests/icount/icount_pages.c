// SPDX-License-Identifier: GPL-2.0
/*
 * icount_pages: preloaded (LD_PRELOAD) into a launcher by `icount_probe
 * pages`, it stops the launcher at its execvp() of the program it starts,
 * so that the probe can read, from outside, which pages of each file the
 * launcher has mapped by then.  taskset, numactl and `gpusched exec` all
 * start their program with execvp().
 *
 * The stop is two raw system calls: a libc call here could map pages of
 * libc that the launcher never touched.  The real execvp() is looked up
 * only after the probe has read the pages.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#if !defined(__x86_64__)
#error "icount is for x86-64 guests"
#endif

static long raw_syscall2(long nr, long a, long b)
{
	long ret;

	__asm__ volatile ("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b)
			  : "rcx", "r11", "memory");
	return ret;
}

__attribute__((visibility("default")))
int execvp(const char *file, char *const argv[])
{
	int (*real)(const char *, char *const []);

	raw_syscall2(SYS_kill, raw_syscall2(SYS_getpid, 0, 0), SIGSTOP);
	real = (int (*)(const char *, char *const []))dlsym(RTLD_NEXT, "execvp");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(file, argv);
}
