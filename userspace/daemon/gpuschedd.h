/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of gpuschedd share: logging in the form journald reads,
 * the sd_notify protocol spoken without libsystemd, and the kernel's
 * uevent socket, read without libudev.  The daemon is small and runs as
 * root, so it implements each of these few lines of protocol itself
 * rather than depend on the libraries.
 */
#ifndef GPUSCHEDD_H
#define GPUSCHEDD_H

#include <stdbool.h>
#include <stddef.h>

/* syslog(3) priorities, the numbers journald reads in a "<N>" prefix. */
enum gs_log_level {
	GS_LOG_ERR = 3,
	GS_LOG_WARNING = 4,
	GS_LOG_INFO = 6,
	GS_LOG_DEBUG = 7,
};

/*
 * Decides once how lines are written: with "<N>" prefixes when stderr is
 * the stream $JOURNAL_STREAM names, else with "gpuschedd: ".  Debug lines
 * are written only when @verbose.
 */
void gs_log_init(bool verbose);

void gs_log(enum gs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Opens the datagram socket to $NOTIFY_SOCKET ('@' is the abstract
 * namespace).  Without the variable every gs_notify() is a no-op, as
 * outside systemd it must be.
 */
void gs_notify_init(void);

/* Sends one state message ("READY=1\nSTATUS=..."); failures are only logged. */
void gs_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What a batch of uevents was about, as bits. */
#define GS_UEVENT_TOPOLOGY	0x1u	/* CPU, PCI function, node, memory or GPU driver change */
#define GS_UEVENT_DEVICE	0x2u	/* the gpusched misc device was added */
#define GS_UEVENT_PCI		0x4u	/* a GPU-class function or its driver came or went */

/*
 * Opens a NETLINK_KOBJECT_UEVENT socket on the kernel's group (1),
 * non-blocking.  Returns the descriptor or -errno.
 */
int gs_uevent_open(void);

/*
 * Reads every queued uevent on @fd and returns GS_UEVENT_* bits;
 * @devname is the device's name below /dev ("gpusched").  A receive
 * buffer overrun gives every bit: an event may have been lost, so
 * everything is looked at again.
 */
unsigned int gs_uevent_read(int fd, const char *devname);

/* Classifies one uevent payload of @length bytes ("ACTION@DEVPATH\0KEY=VAL\0..."). */
unsigned int gs_uevent_classify(const char *payload, size_t length, const char *devname);

#endif /* GPUSCHEDD_H */
