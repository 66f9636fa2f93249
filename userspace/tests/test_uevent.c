// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of gpuschedd's uevent classification (gs_uevent_classify()
 * in userspace/daemon/uevent.c): which kernel uevents make the daemon
 * look at the machine again, which of them also make it forget NVML's
 * answers (a display or accelerator function, or its driver, came or
 * went), and which announce its device.  Prints TAP
 * through tap.h.
 */
#include <stdio.h>
#include <string.h>

#include "../daemon/gpuschedd.h"
#include "tap.h"

/*
 * Classifies a uevent given as "ACTION@DEVPATH|KEY=VAL|...": each '|'
 * becomes the NUL the kernel puts between fields.
 */
static unsigned int classify(const char *text)
{
	char payload[512];
	size_t length = strlen(text), i;

	if (length >= sizeof(payload))
		return ~0u;
	for (i = 0; i < length; i++)
		payload[i] = text[i] == '|' ? '\0' : text[i];
	payload[length] = '\0';
	return gs_uevent_classify(payload, length + 1, "gpusched");
}

static void check(const char *text, unsigned int expected, const char *what)
{
	unsigned int got = classify(text);

	if (!tap_ok(got == expected, "%s: 0x%x", what, expected))
		tap_diag("got 0x%x for %s", got, text);
}

int main(void)
{
	tap_start();
	check("offline@/devices/system/cpu/cpu3|ACTION=offline|"
	      "DEVPATH=/devices/system/cpu/cpu3|SUBSYSTEM=cpu", GS_UEVENT_TOPOLOGY,
	      "a CPU going offline is a topology change");
	check("online@/devices/system/cpu/cpu3|ACTION=online|SUBSYSTEM=cpu",
	      GS_UEVENT_TOPOLOGY, "a CPU coming online is a topology change");
	check("online@/devices/system/memory/memory40|ACTION=online|SUBSYSTEM=memory",
	      GS_UEVENT_TOPOLOGY, "a memory block coming online is a topology change");
	check("add@/devices/system/node/node2|ACTION=add|SUBSYSTEM=node",
	      GS_UEVENT_TOPOLOGY, "a node added is a topology change, NVML's answers stay");
	check("add@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=add|SUBSYSTEM=pci|"
	      "PCI_CLASS=30200|PCI_SLOT_NAME=0000:18:00.0", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a GPU added is a topology change and drops NVML's answers");
	check("remove@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=remove|"
	      "SUBSYSTEM=pci|PCI_CLASS=30200", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a GPU removed likewise");
	check("add@/devices/pci0000:00/0000:00:03.0|ACTION=add|SUBSYSTEM=pci|PCI_CLASS=20000",
	      GS_UEVENT_TOPOLOGY, "a network function added is a topology change, NVML's answers stay");
	check("bind@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=bind|SUBSYSTEM=pci|"
	      "DRIVER=nvidia|PCI_CLASS=30200", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a driver bound to a GPU: NVML may know it now");
	check("unbind@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=unbind|"
	      "SUBSYSTEM=pci|PCI_CLASS=30200", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a driver unbound from a GPU: NVML may no longer know it");
	check("bind@/devices/pci0000:40/0000:40:01.0/0000:41:00.0|ACTION=bind|SUBSYSTEM=pci|"
	      "DRIVER=gaudi|PCI_CLASS=120000", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a driver bound to a processing accelerator likewise");
	check("bind@/devices/pci0000:40/0000:40:01.0/0000:41:00.0|ACTION=bind|SUBSYSTEM=pci|"
	      "PCI_CLASS=b4000", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a driver bound to a co-processor likewise");
	check("bind@/devices/pci0000:00/0000:00:03.2|ACTION=bind|SUBSYSTEM=pci|DRIVER=iavf|"
	      "PCI_CLASS=20000", 0, "a driver bound to a network function (an SR-IOV VF) changes nothing");
	check("unbind@/devices/pci0000:00/0000:00:03.2|ACTION=unbind|SUBSYSTEM=pci|"
	      "PCI_CLASS=20000", 0, "nor one unbound from it");
	check("bind@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=bind|SUBSYSTEM=pci",
	      GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI, "a bind without PCI_CLASS counts as a GPU's");
	check("bind@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=bind|SUBSYSTEM=pci|"
	      "PCI_CLASS=3x200", GS_UEVENT_TOPOLOGY | GS_UEVENT_PCI,
	      "a bind with an unreadable PCI_CLASS counts as a GPU's");
	check("change@/devices/pci0000:17/0000:17:00.0/0000:18:00.0|ACTION=change|"
	      "SUBSYSTEM=pci|PCI_CLASS=30200", 0, "a GPU's change event changes nothing");
	check("change@/devices/system/cpu/cpu1|ACTION=change|SUBSYSTEM=cpu", 0,
	      "a CPU's change event (a synthetic one, say) changes nothing");
	check("add@/devices/virtual/misc/gpusched|ACTION=add|SUBSYSTEM=misc|DEVNAME=gpusched",
	      GS_UEVENT_DEVICE, "the module's device appearing is announced");
	check("add@/devices/virtual/misc/other|ACTION=add|SUBSYSTEM=misc|DEVNAME=other", 0,
	      "another misc device is not");
	check("libudev|ACTION=add|SUBSYSTEM=pci", 0,
	      "a message without the kernel's ACTION@DEVPATH header is ignored");
	check("add@/devices/system/cpu/cpu4|SUBSYSTEM=cpu", 0, "an event without an action is ignored");
	return tap_done();
}
