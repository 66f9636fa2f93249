// SPDX-License-Identifier: GPL-2.0
/*
 * gpuschedd's two channels to its supervisor: log lines on stderr and
 * sd_notify(3) state messages.  Under systemd, stderr is a stream to
 * journald, which takes a leading "<N>" as the line's priority
 * (sd-daemon(3)); anywhere else the lines carry the program's name like
 * any other tool's.  The notify protocol is one datagram per message to
 * the socket in $NOTIFY_SOCKET, which is all libsystemd does for it too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gpuschedd.h"

static bool log_journal;
static bool log_verbose;

static int notify_fd = -1;
static struct sockaddr_un notify_address;
static socklen_t notify_address_length;

/*
 * $JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected; it is
 * inherited by children whose stderr may be redirected elsewhere, so it
 * only counts when it still describes our stderr.
 */
static bool stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long device, inode;
	struct stat st;

	if (!stream || sscanf(stream, "%llu:%llu", &device, &inode) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == device && (unsigned long long)st.st_ino == inode;
}

void gs_log_init(bool verbose)
{
	log_verbose = verbose;
	log_journal = stderr_is_journal();
}

void gs_log(enum gs_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level == GS_LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line: journald and terminals never see a line cut in two. */
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else if (level == GS_LOG_WARNING)
		fprintf(stderr, "gpuschedd: warning: %s\n", line);
	else
		fprintf(stderr, "gpuschedd: %s\n", line);
}

void gs_notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t length;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	length = strlen(path);
	if (length >= sizeof(notify_address.sun_path)) {
		gs_log(GS_LOG_WARNING, "NOTIFY_SOCKET=%s: longer than a socket address; "
		       "systemd will not hear that the daemon is ready", path);
		return;
	}
	memset(&notify_address, 0, sizeof(notify_address));
	notify_address.sun_family = AF_UNIX;
	memcpy(notify_address.sun_path, path, length);
	if (path[0] == '@')
		notify_address.sun_path[0] = '\0';	/* abstract: no NUL at the end */
	notify_address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0)
		gs_log(GS_LOG_WARNING, "NOTIFY_SOCKET=%s: socket: %s; systemd will not hear "
		       "that the daemon is ready", path, strerror(errno));
}

void gs_notify(const char *fmt, ...)
{
	char message[512];
	va_list ap;
	int length;

	if (notify_fd < 0)
		return;
	va_start(ap, fmt);
	length = vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (length < 0 || (size_t)length >= sizeof(message))
		length = (int)strlen(message);
	if (sendto(notify_fd, message, (size_t)length, MSG_NOSIGNAL,
		   (const struct sockaddr *)&notify_address, notify_address_length) < 0)
		gs_log(GS_LOG_WARNING, "NOTIFY_SOCKET=%s: %s", getenv("NOTIFY_SOCKET"),
		       strerror(errno));
}
