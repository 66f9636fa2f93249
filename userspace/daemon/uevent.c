// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's uevents, straight from its netlink multicast group, so
 * gpuschedd needs neither libudev nor a running udevd (initramfs, minimal
 * containers).  A payload is "ACTION@DEVPATH" followed by NUL-separated
 * KEY=VALUE lines; gpuschedd cares about CPUs going online or offline,
 * PCI functions and NUMA nodes appearing or leaving, drivers being bound
 * to or unbound from display and accelerator functions (what NVML knows
 * of them changes), memory blocks going online or offline (the NVIDIA
 * driver onlining a GPU's memory node), and its own misc device being
 * created when the module loads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "discover.h"
#include "gpuschedd.h"

/* The kernel's group; udevd re-broadcasts on group 2 in its own format. */
#define UEVENT_KERNEL_GROUP	1
/* UEVENT_BUFFER_SIZE in the kernel is 2048; leave room. */
#define UEVENT_PAYLOAD_MAX	8192
/*
 * A CPU hotplug of a whole socket is hundreds of events at once: a
 * larger receive buffer keeps them from overrunning it (an overrun is
 * handled, it only costs a rediscovery).
 */
#define UEVENT_RCVBUF		(1 << 20)

int gs_uevent_open(void)
{
	struct sockaddr_nl address = {
		.nl_family = AF_NETLINK,
		.nl_groups = UEVENT_KERNEL_GROUP,
	};
	int fd, size = UEVENT_RCVBUF, err;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	/* Best effort: the default buffer works, only less well in a storm. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&address, sizeof(address))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static bool is_one_of(const char *value, const char *const *names)
{
	for (; value && *names; names++)
		if (!strcmp(value, *names))
			return true;
	return false;
}

/*
 * Whether the function whose PCI_CLASS is @text (as pci_uevent() writes
 * it, the 24-bit class in hex without leading zeros: "30200") may be a
 * GPU: a display or accelerator class, or a class that is missing or
 * cannot be read.
 */
static bool class_may_be_gpu(const char *text)
{
	unsigned long value;
	char *end;

	if (!text)
		return true;
	errno = 0;
	value = strtoul(text, &end, 16);
	if (errno || end == text || *end || value > 0xffffff)
		return true;
	return gs_pci_class_is_accelerator((unsigned int)(value >> 8));
}

unsigned int gs_uevent_classify(const char *payload, size_t length, const char *devname)
{
	static const char *const cpu_actions[] = { "online", "offline", "add", "remove", NULL };
	static const char *const device_actions[] = { "add", "remove", NULL };
	/*
	 * A driver bound to a GPU (nvidia after vfio-pci, say) makes NVML
	 * know it: a look picks its UUID up.
	 */
	static const char *const driver_actions[] = { "bind", "unbind", NULL };
	static const char *const memory_actions[] = { "online", "offline", NULL };
	const char *action = NULL, *subsystem = NULL, *name = NULL, *pci_class = NULL;
	const char *p = payload, *end = payload + length;

	/* The header line: the sender must be the kernel's "ACTION@DEVPATH". */
	if (!length || !memchr(p, '@', strnlen(p, length)))
		return 0;
	for (p += strnlen(p, length) + 1; p < end; p += strnlen(p, (size_t)(end - p)) + 1) {
		if (!strncmp(p, "ACTION=", 7))
			action = p + 7;
		else if (!strncmp(p, "SUBSYSTEM=", 10))
			subsystem = p + 10;
		else if (!strncmp(p, "DEVNAME=", 8))
			name = p + 8;
		else if (!strncmp(p, "PCI_CLASS=", 10))
			pci_class = p + 10;
	}
	if (!subsystem || !action)
		return 0;
	if (!strcmp(subsystem, "cpu") && is_one_of(action, cpu_actions))
		return GS_UEVENT_TOPOLOGY;
	if (!strcmp(subsystem, "pci")) {
		/*
		 * Only a display or accelerator function can be a GPU NVML
		 * knows; bind and unbind of anything else (SR-IOV network
		 * functions, often) change nothing gpuschedd sends.  A class
		 * that cannot be read counts as an accelerator's.
		 */
		bool accelerator = class_may_be_gpu(pci_class);

		if (is_one_of(action, device_actions))
			return GS_UEVENT_TOPOLOGY | (accelerator ? GS_UEVENT_PCI : 0);
		if (accelerator && is_one_of(action, driver_actions))
			return GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI;
		return 0;
	}
	if (!strcmp(subsystem, "node") && is_one_of(action, device_actions))
		return GS_UEVENT_TOPOLOGY;
	if (!strcmp(subsystem, "memory") && is_one_of(action, memory_actions))
		return GS_UEVENT_TOPOLOGY;
	if (!strcmp(subsystem, "misc") && !strcmp(action, "add") && name &&
	    !strcmp(name, devname))
		return GS_UEVENT_DEVICE;
	return 0;
}

unsigned int gs_uevent_read(int fd, const char *devname)
{
	char payload[UEVENT_PAYLOAD_MAX + 1];
	unsigned int events = 0;

	for (;;) {
		struct sockaddr_nl sender;
		struct iovec iov = { payload, UEVENT_PAYLOAD_MAX };
		struct msghdr message = {
			.msg_name = &sender,
			.msg_namelen = sizeof(sender),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t length = recvmsg(fd, &message, 0);

		if (length < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				gs_log(GS_LOG_DEBUG,
				       "uevent socket overrun: looking at everything again");
				events |= GS_UEVENT_TOPOLOGY | GS_UEVENT_DEVICE | GS_UEVENT_PCI;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				gs_log(GS_LOG_WARNING, "uevent socket: %s", strerror(errno));
			return events;
		}
		/* Only the kernel (port 0) speaks for the hardware. */
		if (message.msg_namelen != sizeof(sender) || sender.nl_pid != 0)
			continue;
		payload[length] = '\0';
		events |= gs_uevent_classify(payload, (size_t)length, devname);
	}
}
