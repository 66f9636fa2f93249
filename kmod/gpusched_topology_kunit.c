// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the module's topology checks, run against the kernel it is
 * loaded into (the debug guest): the table built from the kernel's own CPU
 * masks passes the engine's validation, a cache group that names a higher
 * CPU does not, and GPU records are refused for an absent PCI function, an
 * out-of-range bus or a node that contradicts the device.  Built into the
 * test module gpusched_kunit.ko together with gpusched_table.c (see
 * gpusched_kunit.c).
 */
#include <kunit/test.h>

static struct gpusched_table *gpusched_test_table(struct kunit *test, const u32 *llc)
{
	struct gpusched_table *topo = gpusched_table_alloc(0);

	KUNIT_ASSERT_NOT_NULL(test, topo);
	cpus_read_lock();
	gpusched_fill_cpus(topo, llc);
	cpus_read_unlock();
	return topo;
}

static void topology_the_kernels_own_view_validates(struct kunit *test)
{
	struct gpusched_table *topo = gpusched_test_table(test, NULL);
	struct gs_error error = {};

	KUNIT_EXPECT_EQ(test, gs_topology_validate(&topo->engine, &error), 0);
	KUNIT_EXPECT_EQ(test, error.reason, (u32)GS_REASON_NONE);
	kvfree(topo);
}

static void topology_a_cache_group_naming_a_higher_cpu_is_refused(struct kunit *test)
{
	struct gpusched_table *topo;
	struct gs_error error = {};
	unsigned int cpu;
	u32 *llc;

	if (nr_cpu_ids < 2)
		kunit_skip(test, "needs two CPUs");
	llc = kunit_kcalloc(test, nr_cpu_ids, sizeof(*llc), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, llc);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		llc[cpu] = cpu;
	llc[0] = 1;
	topo = gpusched_test_table(test, llc);
	KUNIT_EXPECT_EQ(test, gs_topology_validate(&topo->engine, &error), -EINVAL);
	KUNIT_EXPECT_EQ(test, error.reason, (u32)GS_REASON_CPU_LLC);
	KUNIT_EXPECT_EQ(test, error.subject, 0u);
	kvfree(topo);
}

static void topology_gpu_records_are_checked_against_the_kernel(struct kunit *test)
{
	struct gpusched_gpu in = { .node = GPUSCHED_NODE_ANY, .mem_node = GPUSCHED_NODE_ANY };
	struct gpusched_gpu_rec rec;
	struct pci_dev *pdev = NULL;
	int node = NUMA_NO_NODE;

	/* Domain 0xffff does not exist on the test machine. */
	in.domain = 0xffff;
	KUNIT_EXPECT_EQ(test, gpusched_resolve_gpu(&in, 0, &rec), -ENODEV);
	in.domain = 0;
	in.bus = 0x100;
	KUNIT_EXPECT_EQ(test, gpusched_resolve_gpu(&in, 0, &rec), -EINVAL);
	in.bus = 0;
	in.flags = 1;
	KUNIT_EXPECT_EQ(test, gpusched_resolve_gpu(&in, 0, &rec), -EINVAL);
	in.flags = 0;

	/* A device that knows its node: it is taken, and contradicting it fails. */
	while ((pdev = pci_get_device(PCI_ANY_ID, PCI_ANY_ID, pdev))) {
		node = dev_to_node(&pdev->dev);
		if (node != NUMA_NO_NODE)
			break;
	}
	if (!pdev)
		kunit_skip(test, "no PCI device with a NUMA node");
	in.domain = pci_domain_nr(pdev->bus);
	in.bus = pdev->bus->number;
	in.devfn = pdev->devfn;
	pci_dev_put(pdev);
	KUNIT_EXPECT_EQ(test, gpusched_resolve_gpu(&in, 0, &rec), 0);
	KUNIT_EXPECT_EQ(test, rec.node, (u32)node);
	KUNIT_EXPECT_EQ(test, rec.mem_node, (u32)node);
	in.node = node + 1;
	KUNIT_EXPECT_EQ(test, gpusched_resolve_gpu(&in, 0, &rec), -EINVAL);
}

static struct kunit_case gpusched_topology_cases[] = {
	KUNIT_CASE(topology_the_kernels_own_view_validates),
	KUNIT_CASE(topology_a_cache_group_naming_a_higher_cpu_is_refused),
	KUNIT_CASE(topology_gpu_records_are_checked_against_the_kernel),
	{}
};

static struct kunit_suite gpusched_topology_suite = {
	.name = "gpusched_topology",
	.test_cases = gpusched_topology_cases,
};

kunit_test_suite(gpusched_topology_suite);
