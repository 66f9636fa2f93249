// SPDX-License-Identifier: GPL-2.0
/*
 * ABI tests of GPUSCHED_IOC_SET_TOPOLOGY and GPUSCHED_IOC_GET_TOPOLOGY, of
 * the topology fields of GPUSCHED_IOC_GET_INFO (nr_gpus, generation) and of
 * the per-GPU files under /sys/kernel/gpusched.  The expectations come from
 * kmod/include/uapi/linux/gpusched.h and from the guest's own sysfs: the
 * stand-in GPUs are found on the PCI bus, and each one's node and local
 * CPUs are what the kernel says they are.  Runs as root in the test guest
 * with gpusched.ko loaded; every test starts from a SET of every stand-in
 * GPU and checks, when a call must fail, that nothing changed.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"

#include "kselftest_harness.h"

FIXTURE(topology) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;	/* every stand-in GPU, as set by the setup */
	struct gs_topo req;	/* a copy of it for the test to change */
	__u64 generation;	/* generation after the setup's SET */
};

FIXTURE_SETUP(topology)
{
	GS_FIXTURE_START(self);
	self->generation = self->full.arg.generation;
	gs_topo_copy(&self->req, &self->full);
}

FIXTURE_TEARDOWN(topology)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The fixture's topology is still the current one, at the same generation. */
#define EXPECT_TOPOLOGY_UNCHANGED() do {					\
	struct gs_topo _now;							\
										\
	EXPECT_EQ(self->generation, gs_generation(self->fd));			\
	EXPECT_EQ(0, gs_get_topology(self->fd, &_now, &self->m));		\
	EXPECT_TRUE(gs_same_gpus(&_now, &self->full));				\
} while (0)

/* SET of self->req fails with @err, writes nothing back and changes nothing. */
#define EXPECT_SET_REFUSED(err) do {						\
	EXPECT_ERRNO(err, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, &self->req.arg)); \
	EXPECT_EQ(0, self->req.arg.generation);					\
	EXPECT_TOPOLOGY_UNCHANGED();						\
} while (0)

/* ---- GET_INFO --------------------------------------------------------- */

TEST_F(topology, get_info_counts_the_gpus_of_the_current_topology)
{
	struct gpusched_get_info info;

	ASSERT_EQ(0, gs_get_info(self->fd, &info));
	EXPECT_EQ(self->m.nr_gpus, info.nr_gpus);
	EXPECT_EQ(self->generation, info.generation);
	EXPECT_NE(0, info.generation);
}

TEST_F(topology, get_info_reports_max_gpus_and_a_real_default_policy)
{
	struct gpusched_get_info info;

	ASSERT_EQ(0, gs_get_info(self->fd, &info));
	EXPECT_EQ(GPUSCHED_MAX_GPUS, info.max_gpus);
	EXPECT_LE(GPUSCHED_POLICY_NODE, info.default_policy);
	EXPECT_GE(GPUSCHED_POLICY_SINGLE, info.default_policy);
	EXPECT_EQ(0, info.__reserved2);
}

TEST_F(topology, get_info_of_version_1_size_still_works)
{
	const size_t v1_size = offsetof(struct gpusched_get_info, features) + sizeof(__u64);
	struct gpusched_get_info info;

	/* A launcher built before the topology fields: they are not written. */
	memset(&info, 0xa5, sizeof(info));
	info.size = v1_size;
	info.flags = 0;
	info.__reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
	EXPECT_EQ(GPUSCHED_ABI_VERSION, info.abi_version);
	EXPECT_EQ(0xa5a5a5a5, info.nr_gpus);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, info.generation);
}

/* ---- SET_TOPOLOGY: what a good one does --------------------------------- */

TEST_F(topology, set_topology_bumps_the_generation_by_one)
{
	struct gpusched_get_info info;

	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	EXPECT_EQ(self->generation + 1, self->req.arg.generation);
	ASSERT_EQ(0, gs_get_info(self->fd, &info));
	EXPECT_EQ(self->generation + 1, info.generation);
	EXPECT_EQ(self->m.nr_gpus, info.nr_gpus);
}

TEST_F(topology, get_topology_returns_the_gpus_with_their_device_node)
{
	struct gs_topo got;
	unsigned int i;

	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	ASSERT_EQ(self->m.nr_gpus, got.arg.nr_gpus);
	EXPECT_EQ(self->m.nr_cpu_ids, got.arg.nr_cpus);
	EXPECT_EQ(self->generation, got.arg.generation);
	for (i = 0; i < self->m.nr_gpus; i++) {
		const struct gpusched_gpu *gpu = &got.gpus[i];

		EXPECT_EQ(self->m.gpus[i].domain, gpu->domain);
		EXPECT_EQ(self->m.gpus[i].bus, gpu->bus);
		EXPECT_EQ(self->m.gpus[i].devfn, gpu->devfn);
		EXPECT_EQ(0, gpu->flags);
		/* Given as "any": the module fills in the device's node. */
		EXPECT_EQ((__u32)self->m.gpus[i].node, gpu->node)
			TH_LOG("GPU %u (%s)", i, self->m.gpus[i].address);
		EXPECT_EQ(GPUSCHED_NODE_ANY, gpu->mem_node);
		EXPECT_EQ(0, memcmp(self->full.gpus[i].uuid, gpu->uuid, sizeof(gpu->uuid)));
	}
}

TEST_F(topology, get_topology_returns_the_llc_and_housekeeping_set)
{
	unsigned int last = gs_mask_last(&self->m.online);
	struct gs_topo got;

	gs_mask_set(&self->req.housekeeping, last);
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	EXPECT_EQ(0, memcmp(self->req.llc, got.llc, self->m.nr_cpu_ids * sizeof(__u32)));
	EXPECT_MASK_EQ(&self->req.housekeeping, &got.housekeeping);
}

TEST_F(topology, set_topology_without_llc_takes_each_package_as_the_cache)
{
	struct gs_topo got;

	self->req.arg.llc = 0;
	self->req.arg.housekeeping = 0;
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	/* llc names each CPU's lowest package sibling, as the fixture does. */
	EXPECT_EQ(0, memcmp(self->full.llc, got.llc, self->m.nr_cpu_ids * sizeof(__u32)));
	EXPECT_TRUE(gs_mask_empty(&got.housekeeping));
}

TEST_F(topology, set_topology_with_no_gpus_is_accepted)
{
	struct gs_topo got;

	self->req.arg.nr_gpus = 0;
	self->req.arg.gpus = 0;
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	EXPECT_EQ(0, gs_info_nr_gpus(self->fd));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	EXPECT_EQ(0, got.arg.nr_gpus);
	EXPECT_EQ(0, gs_sysfs_long("nr_gpus"));
}

TEST_F(topology, set_topology_accepts_the_devices_own_node)
{
	struct gs_topo got;
	unsigned int i;

	for (i = 0; i < self->m.nr_gpus; i++)
		self->req.gpus[i].node = self->m.gpus[i].node;
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	for (i = 0; i < self->m.nr_gpus; i++)
		EXPECT_EQ((__u32)self->m.gpus[i].node, got.gpus[i].node);
}

TEST_F(topology, set_topology_keeps_the_order_given)
{
	struct gs_topo reversed, got;

	if (self->m.nr_gpus < 2)
		SKIP(return, "needs two GPUs");
	gs_topo_reversed(&reversed, &self->m);
	ASSERT_EQ(0, gs_set_topology(self->fd, &reversed));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	EXPECT_TRUE(gs_same_gpus(&reversed, &got));
}

/* ---- SET_TOPOLOGY: struct sizes, flags, reserved fields ----------------- */

TEST_F(topology, set_topology_size_sweep)
{
	struct {
		struct gpusched_topology arg;
		__u64 tail;
		__u64 canary;
	} buf;

	/* Every field is version 1: one byte short is refused. */
	memset(&buf, 0, sizeof(buf));
	buf.arg = self->req.arg;
	buf.arg.size = sizeof(buf.arg) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, &buf));
	buf.arg.size = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, &buf));
	EXPECT_TOPOLOGY_UNCHANGED();

	/* A newer caller's unknown non-zero field. */
	buf.arg.size = sizeof(buf.arg) + sizeof(buf.tail);
	buf.tail = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, &buf));
	EXPECT_TOPOLOGY_UNCHANGED();

	/* The same caller with the field zero: a normal SET, tail untouched. */
	buf.tail = 0;
	buf.canary = 0x5a5a5a5a5a5a5a5aULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, &buf));
	EXPECT_EQ(self->generation + 1, buf.arg.generation);
	EXPECT_EQ(self->generation + 1, gs_generation(self->fd));
	EXPECT_EQ(0, buf.tail);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, buf.canary);
}

TEST_F(topology, set_topology_rejects_nonzero_flags)
{
	self->req.arg.flags = 1;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.arg.flags = 0x80000000;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_nonzero_reserved)
{
	self->req.arg.__reserved = 1;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_nonzero_gpu_flags)
{
	self->req.gpus[self->m.nr_gpus - 1].flags = 1;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.gpus[self->m.nr_gpus - 1].flags = 0x80000000;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_more_than_max_gpus)
{
	size_t len = self->m.nr_gpus * sizeof(struct gpusched_gpu);
	struct gpusched_gpu *gpus = gs_alloc_before_guard(len);

	/*
	 * The real records end at an inaccessible page: a module that read
	 * the array before checking the count would fail with EFAULT.
	 */
	ASSERT_NE(NULL, gpus);
	memcpy(gpus, self->req.gpus, len);
	self->req.arg.gpus = (uintptr_t)gpus;
	self->req.arg.nr_gpus = GPUSCHED_MAX_GPUS + 1;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.arg.nr_gpus = 0xffffffff;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_a_short_gpu_entry_size)
{
	self->req.arg.gpu_entry_size = sizeof(struct gpusched_gpu) - 1;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.arg.gpu_entry_size = 0;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, gpu_entry_size_above_a_page_is_refused)
{
	struct gs_topo got;

	self->req.arg.gpu_entry_size = sysconf(_SC_PAGESIZE) + 8;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.arg.gpu_entry_size = 0xffffffff;
	EXPECT_SET_REFUSED(EINVAL);

	/* GET is unprivileged: a huge stride must not make it clear gigabytes. */
	memset(&got, 0, sizeof(got));
	got.arg.size = sizeof(got.arg);
	got.arg.nr_gpus = GS_MAX_TEST_GPUS;
	got.arg.gpu_entry_size = 0xffffffff;
	gs_topo_point(&got);
	got.arg.llc = 0;
	got.arg.housekeeping = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
}

/* Copies the fixture's records into entries of @stride bytes, tails set to @tail. */
static void *long_gpu_entries(const struct gs_topo *t, unsigned int nr, size_t stride, __u8 tail)
{
	char *entries = calloc(nr, stride);
	unsigned int i;

	for (i = 0; entries && i < nr; i++) {
		memcpy(entries + i * stride, &t->gpus[i], sizeof(struct gpusched_gpu));
		memset(entries + i * stride + sizeof(struct gpusched_gpu), tail,
		       stride - sizeof(struct gpusched_gpu));
	}
	return entries;
}

TEST_F(topology, set_topology_accepts_longer_gpu_entries_with_zero_tails)
{
	const size_t stride = sizeof(struct gpusched_gpu) + 8;
	void *entries = long_gpu_entries(&self->req, self->m.nr_gpus, stride, 0);
	struct gs_topo got;

	ASSERT_NE(NULL, entries);
	self->req.arg.gpus = (uintptr_t)entries;
	self->req.arg.gpu_entry_size = stride;
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	EXPECT_EQ(self->generation + 1, gs_generation(self->fd));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	EXPECT_TRUE(gs_same_gpus(&got, &self->full));
	free(entries);
}

TEST_F(topology, set_topology_rejects_longer_gpu_entries_with_nonzero_tails)
{
	const size_t stride = sizeof(struct gpusched_gpu) + 8;
	void *entries = long_gpu_entries(&self->req, self->m.nr_gpus, stride, 1);

	ASSERT_NE(NULL, entries);
	self->req.arg.gpus = (uintptr_t)entries;
	self->req.arg.gpu_entry_size = stride;
	EXPECT_SET_REFUSED(E2BIG);
	free(entries);
}

TEST_F(topology, set_topology_rejects_nr_cpus_other_than_nr_cpu_ids)
{
	self->req.arg.nr_cpus = self->m.nr_cpu_ids - 1;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.arg.nr_cpus = self->m.nr_cpu_ids + 1;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.arg.nr_cpus = 0;
	EXPECT_SET_REFUSED(EINVAL);
}

/* ---- SET_TOPOLOGY: GPU records the kernel contradicts ------------------- */

TEST_F(topology, set_topology_rejects_a_pci_address_without_a_device)
{
	ASSERT_EQ(0, gs_absent_pci_address(&self->req.gpus[0]));
	EXPECT_SET_REFUSED(ENODEV);
}

TEST_F(topology, set_topology_rejects_a_bus_above_255)
{
	self->req.gpus[0].bus = 256 + self->m.gpus[0].bus;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_a_devfn_above_255)
{
	self->req.gpus[0].devfn = 256 + self->m.gpus[0].devfn;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_a_node_that_contradicts_the_device)
{
	unsigned int nr_nodes = self->m.info.nr_node_ids;
	int node = self->m.gpus[0].node;

	if (nr_nodes < 2 || node < 0)
		SKIP(return, "needs two nodes and a GPU with a node");
	self->req.gpus[0].node = (node + 1) % nr_nodes;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_a_node_out_of_range)
{
	self->req.gpus[0].node = self->m.info.nr_node_ids;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.gpus[0].node = GPUSCHED_NODE_ANY - 1;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_a_mem_node_out_of_range)
{
	self->req.gpus[0].mem_node = self->m.info.nr_node_ids;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.gpus[0].mem_node = GPUSCHED_NODE_ANY - 1;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_a_mem_node_without_memory)
{
	int node = gs_find_node(&self->m, false, false);

	if (node < 0)
		node = gs_find_node(&self->m, false, true);
	if (node < 0)
		SKIP(return, "every possible node of this machine has memory");
	self->req.gpus[0].mem_node = node;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_accepts_a_cpuless_memory_node)
{
	int node = gs_find_node(&self->m, true, false);
	struct gs_topo got;
	long sysfs_node;

	if (node < 0)
		SKIP(return, "no CPU-less memory node (only the memnode topology has one)");
	self->req.gpus[0].mem_node = node;
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	EXPECT_EQ((__u32)node, got.gpus[0].mem_node);
	/* The GPU's CPUs are still those of its device's node. */
	EXPECT_EQ((__u32)self->m.gpus[0].node, got.gpus[0].node);
	sysfs_node = gs_sysfs_gpu_long(0, "memory_node");
	EXPECT_EQ(node, sysfs_node);
}

TEST_F(topology, set_topology_rejects_a_duplicate_pci_address)
{
	unsigned int n = self->m.nr_gpus;

	ASSERT_GT(GS_MAX_TEST_GPUS, n);
	self->req.gpus[n] = self->req.gpus[0];
	self->req.arg.nr_gpus = n + 1;
	EXPECT_SET_REFUSED(EINVAL);
}

/* ---- SET_TOPOLOGY: CPU facts ------------------------------------------- */

TEST_F(topology, set_topology_rejects_housekeeping_bits_beyond_nr_cpu_ids)
{
	unsigned int nr = self->m.nr_cpu_ids;

	if (nr % 64 == 0)
		SKIP(return, "nr_cpu_ids %u fills its last mask word", nr);
	gs_mask_set(&self->req.housekeeping, nr);
	EXPECT_SET_REFUSED(EINVAL);
	gs_mask_zero(&self->req.housekeeping);
	gs_mask_set(&self->req.housekeeping, (nr / 64) * 64 + 63);
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_an_llc_naming_a_higher_cpu)
{
	if (self->m.nr_cpu_ids < 2)
		SKIP(return, "needs two CPUs");
	self->req.llc[0] = 1;
	EXPECT_SET_REFUSED(EINVAL);
}

TEST_F(topology, set_topology_rejects_an_llc_naming_a_nonexistent_cpu)
{
	unsigned int last = self->m.nr_cpu_ids - 1;

	self->req.llc[last] = self->m.nr_cpu_ids;
	EXPECT_SET_REFUSED(EINVAL);
	self->req.llc[last] = 0xffffffff;
	EXPECT_SET_REFUSED(EINVAL);
}

/* ---- SET_TOPOLOGY: atomicity, permissions, pointers --------------------- */

TEST_F(topology, rejected_set_topology_keeps_the_previous_one)
{
	struct gs_topo reversed, got;
	__u64 generation;

	if (self->m.nr_gpus < 2)
		SKIP(return, "needs two GPUs to tell two topologies apart");
	gs_topo_reversed(&reversed, &self->m);
	ASSERT_EQ(0, gs_set_topology(self->fd, &reversed));
	generation = gs_generation(self->fd);

	/* Valid records first, one bad record last: none of it is taken. */
	self->req.gpus[self->m.nr_gpus - 1].flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, &self->req.arg));
	EXPECT_EQ(generation, gs_generation(self->fd));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	EXPECT_TRUE(gs_same_gpus(&reversed, &got));
	EXPECT_EQ(generation, got.arg.generation);
}

static int set_topology_as_caller(void *arg)
{
	int fd = gs_open_device();

	if (fd < 0)
		return 254;
	return gs_set_topology(fd, arg);
}

TEST_F(topology, set_topology_needs_cap_sys_admin)
{
	EXPECT_EQ(EPERM, gs_run_unprivileged(set_topology_as_caller, &self->req));
	EXPECT_TOPOLOGY_UNCHANGED();
}

TEST_F(topology, set_topology_bad_argument_pointer_gives_efault)
{
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_SET_TOPOLOGY, gs_inaccessible()));
	EXPECT_TOPOLOGY_UNCHANGED();
}

TEST_F(topology, set_topology_unreadable_arrays_give_efault)
{
	__u64 bad = (uintptr_t)gs_inaccessible();

	self->req.arg.gpus = bad;
	EXPECT_SET_REFUSED(EFAULT);
	gs_topo_point(&self->req);
	self->req.arg.llc = bad;
	EXPECT_SET_REFUSED(EFAULT);
	gs_topo_point(&self->req);
	self->req.arg.housekeeping = bad;
	EXPECT_SET_REFUSED(EFAULT);
}

/* ---- GET_TOPOLOGY ------------------------------------------------------ */

TEST_F(topology, get_topology_size_sweep)
{
	struct {
		struct gpusched_topology arg;
		__u64 tail;
		__u64 canary;
	} buf;
	struct gs_topo got;

	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	memset(&buf, 0, sizeof(buf));
	buf.arg = got.arg;
	buf.arg.nr_gpus = GS_MAX_TEST_GPUS;
	buf.arg.nr_cpus = self->m.nr_cpu_ids;
	buf.arg.generation = 0;

	buf.arg.size = sizeof(buf.arg) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &buf));
	EXPECT_EQ(GS_MAX_TEST_GPUS, buf.arg.nr_gpus);

	buf.arg.size = sizeof(buf.arg) + sizeof(buf.tail);
	buf.tail = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &buf));
	EXPECT_EQ(GS_MAX_TEST_GPUS, buf.arg.nr_gpus);

	buf.tail = 0;
	buf.canary = 0x5a5a5a5a5a5a5a5aULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &buf));
	EXPECT_EQ(self->m.nr_gpus, buf.arg.nr_gpus);
	EXPECT_EQ(self->generation, buf.arg.generation);
	EXPECT_EQ(0, buf.tail);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, buf.canary);
}

TEST_F(topology, get_topology_rejects_nonzero_flags_and_reserved)
{
	struct gs_topo got;

	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	got.arg.nr_gpus = GS_MAX_TEST_GPUS;
	got.arg.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	got.arg.flags = 0;
	got.arg.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	EXPECT_EQ(GS_MAX_TEST_GPUS, got.arg.nr_gpus);
}

TEST_F(topology, get_topology_with_too_little_room_gives_emsgsize_and_the_count)
{
	struct gs_topo got;

	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	got.arg.nr_gpus = self->m.nr_gpus - 1;
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	EXPECT_EQ(self->m.nr_gpus, got.arg.nr_gpus);

	/* The usual "how many?" call: no array at all. */
	got.arg.nr_gpus = 0;
	got.arg.gpus = 0;
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	EXPECT_EQ(self->m.nr_gpus, got.arg.nr_gpus);
}

TEST_F(topology, get_topology_with_too_few_cpus_gives_emsgsize_and_nr_cpu_ids)
{
	struct gs_topo got;

	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	got.arg.nr_gpus = GS_MAX_TEST_GPUS;
	got.arg.nr_cpus = self->m.nr_cpu_ids - 1;
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	EXPECT_EQ(self->m.nr_cpu_ids, got.arg.nr_cpus);
}

TEST_F(topology, get_topology_unwritable_arrays_give_efault)
{
	__u64 bad = (uintptr_t)gs_inaccessible();
	struct gs_topo got;

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, NULL));
	ASSERT_EQ(0, gs_get_topology(self->fd, &got, &self->m));
	got.arg.nr_gpus = GS_MAX_TEST_GPUS;
	got.arg.gpus = bad;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	gs_topo_point(&got);
	got.arg.llc = bad;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
	gs_topo_point(&got);
	got.arg.housekeeping = bad;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_GET_TOPOLOGY, &got.arg));
}

/* ---- sysfs -------------------------------------------------------------- */

TEST_F(topology, sysfs_nr_gpus_is_the_gpu_count)
{
	EXPECT_EQ(self->m.nr_gpus, gs_sysfs_long("nr_gpus"));
}

TEST_F(topology, sysfs_has_one_directory_per_gpu)
{
	self->req.arg.nr_gpus = 1;
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->req));
	EXPECT_EQ(1, gs_sysfs_long("nr_gpus"));
	EXPECT_TRUE(gs_path_exists(GS_SYSFS "/gpus/gpu0"));
	EXPECT_FALSE(gs_path_exists(GS_SYSFS "/gpus/gpu1"));

	ASSERT_EQ(0, gs_set_topology(self->fd, &self->full));
	EXPECT_TRUE(gs_path_exists(GS_SYSFS "/gpus/gpu%u", self->m.nr_gpus - 1));
	EXPECT_FALSE(gs_path_exists(GS_SYSFS "/gpus/gpu%u", self->m.nr_gpus));
}

TEST_F(topology, sysfs_gpu_describes_its_device)
{
	char buf[GS_CPULIST_LEN], want[GS_CPULIST_LEN];
	unsigned int i;

	for (i = 0; i < self->m.nr_gpus; i++) {
		const struct gs_gpu_dev *dev = &self->m.gpus[i];

		ASSERT_EQ(0, gs_sysfs_gpu_text(i, "pci_address", buf, sizeof(buf)));
		EXPECT_STREQ(dev->address, buf);
		EXPECT_EQ(dev->node, gs_sysfs_gpu_long(i, "numa_node"));
		ASSERT_EQ(0, gs_sysfs_gpu_text(i, "local_cpus", buf, sizeof(buf)));
		ASSERT_EQ(0, gs_read_textf(want, sizeof(want), GS_PCI_DEVICES "/%s/local_cpulist",
					   dev->address));
		EXPECT_STREQ(want, buf);
	}
}

TEST_F(topology, sysfs_gpu_memory_node_without_own_memory_is_the_gpus_node)
{
	unsigned int i;

	for (i = 0; i < self->m.nr_gpus; i++)
		EXPECT_EQ(self->m.gpus[i].node, gs_sysfs_gpu_long(i, "memory_node"))
			TH_LOG("gpu%u", i);
}

TEST_F(topology, sysfs_gpu_has_no_reservations_or_tasks_before_any_pin)
{
	char buf[GS_CPULIST_LEN];
	unsigned int i;

	for (i = 0; i < self->m.nr_gpus; i++) {
		ASSERT_EQ(0, gs_sysfs_gpu_text(i, "reserved_cpus", buf, sizeof(buf)));
		EXPECT_STREQ("", buf);
		EXPECT_EQ(0, gs_sysfs_gpu_long(i, "nr_tasks"));
	}
}

TEST_HARNESS_MAIN
