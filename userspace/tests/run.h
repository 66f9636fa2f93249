/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a program under test: the CLI and daemon tests spawn the built
 * binaries with posix_spawn, stdin from /dev/null and stdout and stderr
 * captured in unlinked scratch files, and look at the exit status and the
 * text.  A failure of the harness itself (no memory, no /tmp) is a TAP
 * "Bail out!", never a test result.
 */
#ifndef GPUSCHED_TESTS_RUN_H
#define GPUSCHED_TESTS_RUN_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* What one run of a program gave. */
struct run {
	int status;		/* exit code, or 128 + signal */
	char *out;
	char *err;
};

static inline void run_bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		run_bail("vasprintf");
	va_end(ap);
	return text;
}

/* Reads all of the open file @fd from its start; returns a malloc'ed string. */
static inline char *run_slurp(int fd)
{
	size_t used = 0, size = 4096;
	char *text = malloc(size);
	ssize_t got;

	if (!text || lseek(fd, 0, SEEK_SET) < 0)
		run_bail("reading output");
	while ((got = read(fd, text + used, size - used - 1)) > 0) {
		used += (size_t)got;
		if (size - used < 2) {
			char *bigger = realloc(text, size * 2);

			if (!bigger)
				run_bail("reading output");
			text = bigger;
			size *= 2;
		}
	}
	text[used] = '\0';
	return text;
}

static inline int run_scratch_file(void)
{
	char path[] = "/tmp/gpusched-test.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		run_bail("mkstemp");
	unlink(path);
	return fd;
}

/*
 * Runs @path with the NULL-terminated @args after argv[0] and the
 * environment @envp (NULL: ours), stdin from /dev/null and stdout and
 * stderr on @out and @err, and waits for it; returns its exit code, or
 * 128 + the signal that ended it.
 */
static inline int run_spawn(const char *path, char *const *envp, const char *const *args,
			    int out, int err)
{
	posix_spawn_file_actions_t actions;
	int status, nr = 0;
	char *argv[48];
	pid_t pid;

	argv[nr++] = (char *)path;
	while (*args && nr < 47)
		argv[nr++] = (char *)*args++;
	argv[nr] = NULL;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
	errno = posix_spawn(&pid, path, &actions, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&actions);
	if (errno)
		run_bail(path);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* run_spawn() with stdout and stderr captured. */
static inline struct run run_program(const char *path, char *const *envp,
				     const char *const *args)
{
	int out = run_scratch_file(), err = run_scratch_file();
	struct run run;

	run.status = run_spawn(path, envp, args, out, err);
	run.out = run_slurp(out);
	run.err = run_slurp(err);
	close(out);
	close(err);
	return run;
}

/*
 * The fixtures folder: @given (argv[1]) when set, else $GS_FIXTURES_DIR,
 * else the one beside the tests' sources, where this header lives too.
 * The caller frees it.
 */
static inline char *run_fixtures_dir(const char *given)
{
	const char *slash = strrchr(__FILE__, '/');

	if (!given || !*given)
		given = getenv("GS_FIXTURES_DIR");
	if (given && *given)
		return xprintf("%s", given);
	if (!slash)
		return xprintf("fixtures");
	return xprintf("%.*s/fixtures", (int)(slash - __FILE__), __FILE__);
}

/*
 * A built program the test runs: $@env when set, else @relative to the
 * directory of the test program @argv0 (out/unit/../bin/...).  Bails out
 * when it is not executable.  The caller frees it.
 */
static inline char *run_program_path(const char *argv0, const char *env, const char *relative)
{
	const char *given = getenv(env), *slash = strrchr(argv0, '/');
	char *path;

	if (given && *given)
		path = xprintf("%s", given);
	else if (slash)
		path = xprintf("%.*s/%s", (int)(slash - argv0), argv0, relative);
	else
		path = xprintf("./%s", relative);
	if (access(path, X_OK)) {
		printf("Bail out! %s: %s (build it first: make)\n", path, strerror(errno));
		exit(1);
	}
	return path;
}

static inline void run_free(struct run *run)
{
	free(run->out);
	free(run->err);
}

#endif /* GPUSCHED_TESTS_RUN_H */
