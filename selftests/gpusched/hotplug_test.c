// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug and pins: when a CPU goes offline, pins that used it are
 * placed again from what is left and their threads move there; when it
 * returns, shared-policy pins get it back.  Runs as root in the test guest
 * and brings every CPU it took offline back online in its teardown, so the
 * suites after it see the whole machine.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"

#include "kselftest_harness.h"

/* How long the module's hotplug work may take to re-place pins. */
#define HOTPLUG_SETTLE_MS 5000

FIXTURE(hotplug) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;
	struct gs_mask offlined;	/* CPUs this test took offline */
};

static int set_online(unsigned int cpu, bool online)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/online", cpu);
	return gs_write_text(path, online ? "1" : "0");
}

/* Whether @cpu can be taken offline here (cpu0 usually cannot). */
static bool hotpluggable(unsigned int cpu)
{
	return gs_path_exists("/sys/devices/system/cpu/cpu%u/online", cpu);
}

FIXTURE_SETUP(hotplug)
{
	gs_mask_zero(&self->offlined);
	GS_FIXTURE_START(self);
}

FIXTURE_TEARDOWN(hotplug)
{
	unsigned int cpu;

	for (cpu = 0; cpu < GS_MAX_CPUS; cpu++)
		if (gs_mask_test(&self->offlined, cpu) && set_online(cpu, true))
			TH_LOG("cannot bring cpu%u back online: %s", cpu, strerror(errno));
	if (self->fd >= 0)
		close(self->fd);
}

static int take_offline(FIXTURE_DATA(hotplug) *self, unsigned int cpu)
{
	int ret = set_online(cpu, false);

	if (!ret)
		gs_mask_set(&self->offlined, cpu);
	return ret;
}

static int bring_online(FIXTURE_DATA(hotplug) *self, unsigned int cpu)
{
	int ret = set_online(cpu, true);

	if (!ret)
		gs_mask_clear(&self->offlined, cpu);
	return ret;
}

/* The pin's CPUs as the module holds them (QUERY), or an empty mask. */
static struct gs_mask pinned_cpus(const FIXTURE_DATA(hotplug) *self)
{
	struct gpusched_query q;
	struct gs_mask cpus;

	gs_mask_zero(&cpus);
	if (gs_query(self->fd, &self->m, 0, &q, &cpus, NULL) ||
	    !(q.result & GPUSCHED_QUERY_PINNED))
		gs_mask_zero(&cpus);
	return cpus;
}

/* Polls QUERY until @done says yes or the settle time is over. */
static bool wait_for_pin(const FIXTURE_DATA(hotplug) *self,
			 bool (*done)(const struct gs_mask *cpus, const void *arg), const void *arg)
{
	long long deadline = gs_now_ms() + HOTPLUG_SETTLE_MS;
	struct gs_mask cpus;

	do {
		cpus = pinned_cpus(self);
		if (done(&cpus, arg))
			return true;
		gs_sleep_ms(50);
	} while (gs_now_ms() < deadline);
	return false;
}

static bool avoids(const struct gs_mask *cpus, const void *arg)
{
	return !gs_mask_empty(cpus) && !gs_mask_intersects(cpus, arg);
}

static bool contains(const struct gs_mask *cpus, const void *arg)
{
	return gs_mask_subset(arg, cpus);
}

/* The pin's CPUs are all held exclusively for GPU *@arg (sysfs reserved_cpus). */
static bool held_for_gpu(const struct gs_mask *cpus, const void *arg)
{
	struct gs_mask reserved;

	if (gs_sysfs_gpu_cpus(*(const unsigned int *)arg, "reserved_cpus", &reserved))
		return false;
	return !gs_mask_empty(cpus) && gs_mask_subset(cpus, &reserved);
}

/*
 * A GPU and a hotpluggable CPU of its node that is not the node's only one,
 * for the shared-policy tests; -1 when the machine has none.
 */
static int gpu_with_spare_cpu(const struct gs_machine *m, unsigned int *cpu)
{
	unsigned int gpu, c;

	for (gpu = 0; gpu < m->nr_gpus; gpu++) {
		if (gs_mask_weight(&m->gpus[gpu].local_cpus) < 2)
			continue;
		for (c = 0; c < m->nr_cpu_ids; c++) {
			if (gs_mask_test(&m->gpus[gpu].local_cpus, c) && hotpluggable(c)) {
				*cpu = c;
				return gpu;
			}
		}
	}
	return -1;
}

TEST_F(hotplug, node_pin_drops_an_offline_cpu_and_gets_it_back)
{
	struct gs_mask cpus, gone, local;
	unsigned int cpu;
	int gpu;

	gpu = gpu_with_spare_cpu(&self->m, &cpu);
	if (gpu < 0)
		SKIP(return, "no GPU node with a hotpluggable CPU and another one");
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, 0, gpu, GPUSCHED_POLICY_NODE, &cpus));
	ASSERT_TRUE(gs_mask_test(&cpus, cpu));

	gs_mask_zero(&gone);
	gs_mask_set(&gone, cpu);
	ASSERT_EQ(0, take_offline(self, cpu)) TH_LOG("offline cpu%u: %s", cpu, strerror(errno));
	EXPECT_TRUE(wait_for_pin(self, avoids, &gone))
		TH_LOG("the pin still holds cpu%u after it went offline", cpu);
	cpus = pinned_cpus(self);
	EXPECT_AFFINITY(&cpus, 0);
	/* The module's local_cpus names online CPUs only (powerpc keeps the rest). */
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(gpu, "local_cpus", &local));
	EXPECT_FALSE(gs_mask_test(&local, cpu))
		TH_LOG("gpu%u/local_cpus still names cpu%u, which is offline", gpu, cpu);

	ASSERT_EQ(0, bring_online(self, cpu));
	EXPECT_TRUE(wait_for_pin(self, contains, &gone))
		TH_LOG("the node pin did not get cpu%u back", cpu);
	cpus = pinned_cpus(self);
	EXPECT_MASK_EQ(&self->m.gpus[gpu].local_cpus, &cpus);
	EXPECT_AFFINITY(&cpus, 0);
}

TEST_F(hotplug, exclusive_pin_moves_off_its_offline_cores)
{
	struct gs_mask cpus, before, online_now;
	unsigned int gpu, cpu;
	bool found = false;

	/*
	 * Find a GPU whose exclusive cores can all go offline while its node
	 * keeps another core: then the pin has somewhere to move to.
	 */
	for (gpu = 0; gpu < self->m.nr_gpus && !found; gpu++) {
		if (gs_pin_thread(self->fd, &self->m, 0, gpu, GPUSCHED_POLICY_EXCLUSIVE, &before))
			continue;
		found = !gs_mask_subset(&self->m.gpus[gpu].local_cpus, &before);
		for (cpu = 0; cpu < self->m.nr_cpu_ids && found; cpu++)
			if (gs_mask_test(&before, cpu) && !hotpluggable(cpu))
				found = false;
		if (!found)
			ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	}
	if (!found)
		SKIP(return, "no GPU whose exclusive cores can all go offline");
	gpu--;

	for (cpu = 0; cpu < self->m.nr_cpu_ids; cpu++)
		if (gs_mask_test(&before, cpu))
			ASSERT_EQ(0, take_offline(self, cpu))
				TH_LOG("offline cpu%u: %s", cpu, strerror(errno));

	EXPECT_TRUE(wait_for_pin(self, avoids, &before))
		TH_LOG("the exclusive pin was not moved off its offline cores");
	cpus = pinned_cpus(self);
	ASSERT_EQ(0, gs_read_cpulistf(&online_now, "/sys/devices/system/cpu/online"));
	/* Still near the GPU, on CPUs that exist, and the thread is really there. */
	EXPECT_TRUE(gs_mask_subset(&cpus, &self->m.gpus[gpu].local_cpus));
	EXPECT_TRUE(gs_mask_subset(&cpus, &online_now));
	EXPECT_AFFINITY(&cpus, 0);

	/*
	 * When the cores return, the pin holds exclusive cores of its GPU
	 * again: it kept some, or it ran on the GPU's node meanwhile and gets
	 * its share back now.
	 */
	for (cpu = 0; cpu < self->m.nr_cpu_ids; cpu++)
		if (gs_mask_test(&before, cpu))
			ASSERT_EQ(0, bring_online(self, cpu));
	EXPECT_TRUE(wait_for_pin(self, held_for_gpu, &gpu))
		TH_LOG("the pin does not hold exclusive cores of GPU %u again", gpu);
	cpus = pinned_cpus(self);
	EXPECT_TRUE(gs_mask_subset(&cpus, &self->m.gpus[gpu].local_cpus));
	EXPECT_AFFINITY(&cpus, 0);
}

/*
 * Review trigger (4n: GPU 0 alone on node 3's one core): an exclusive pin
 * whose every CPU went offline keeps its cores, so that the first of them
 * to return is its own again and never another pin's.
 */
TEST_F(hotplug, exclusive_pin_keeps_its_cores_while_they_are_all_offline)
{
	struct gs_mask cpus, node, other_cpus, held;
	struct gs_agent other = { 0 };
	unsigned int gpu, cpu, back;
	bool found = false;
	int ret;

	/* A GPU whose node's CPUs can all go offline (not node 0 with cpu0). */
	for (gpu = 0; gpu < self->m.nr_gpus && !found; gpu++) {
		node = self->m.gpus[gpu].local_cpus;
		found = !gs_mask_empty(&node);
		for (cpu = 0; cpu < self->m.nr_cpu_ids && found; cpu++)
			if (gs_mask_test(&node, cpu) && !hotpluggable(cpu))
				found = false;
	}
	if (!found)
		SKIP(return, "no GPU whose node's CPUs can all go offline");
	gpu--;
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, 0, gpu, GPUSCHED_POLICY_EXCLUSIVE, &cpus));

	for (cpu = 0; cpu < self->m.nr_cpu_ids; cpu++) {
		if (!gs_mask_test(&node, cpu))
			continue;
		ASSERT_EQ(0, take_offline(self, cpu)) TH_LOG("offline cpu%u: %s", cpu,
							     strerror(errno));
	}
	/* Let the hotplug work run, then check that nothing was let go. */
	gs_sleep_ms(1000);
	EXPECT_NE(0, gs_query_result(self->fd, &self->m, 0) & GPUSCHED_QUERY_PINNED);
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(gpu, "reserved_cpus", &held));
	ASSERT_FALSE(gs_mask_empty(&held))
		TH_LOG("GPU %u holds no core while its node is offline", gpu);
	back = gs_mask_first(&held);

	/* One core comes back: a second exclusive pin of the GPU must not get it. */
	ASSERT_EQ(0, bring_online(self, back));
	ASSERT_EQ(0, gs_agent_start(&other));
	ASSERT_EQ(0, gs_agent_open(&other));
	ret = gs_agent_pin_self(&other, &self->m, gpu, GPUSCHED_POLICY_EXCLUSIVE, 0,
				&other_cpus);
	if (!ret) {
		EXPECT_FALSE(gs_mask_test(&other_cpus, back))
			TH_LOG("cpu%u was granted to a second exclusive pin", back);
	} else {
		EXPECT_EQ(ENOSPC, ret);
	}

	gs_mask_zero(&node);
	gs_mask_set(&node, back);
	EXPECT_TRUE(wait_for_pin(self, contains, &node))
		TH_LOG("the pin did not get cpu%u back", back);
	EXPECT_TRUE(wait_for_pin(self, held_for_gpu, &gpu))
		TH_LOG("the pin does not hold exclusive cores of GPU %u again", gpu);
	cpus = pinned_cpus(self);
	EXPECT_AFFINITY(&cpus, 0);
	if (!ret)
		EXPECT_FALSE(gs_mask_intersects(&cpus, &other_cpus));
	gs_agent_kill(&other);
}

TEST_F(hotplug, offline_cpus_are_not_given_to_new_pins)
{
	struct gs_mask cpus;
	unsigned int cpu;
	int gpu;

	gpu = gpu_with_spare_cpu(&self->m, &cpu);
	if (gpu < 0)
		SKIP(return, "no GPU node with a hotpluggable CPU and another one");
	ASSERT_EQ(0, take_offline(self, cpu)) TH_LOG("offline cpu%u: %s", cpu, strerror(errno));
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, 0, gpu, GPUSCHED_POLICY_NODE, &cpus));
	EXPECT_FALSE(gs_mask_test(&cpus, cpu));
	EXPECT_FALSE(gs_mask_empty(&cpus));
}

TEST_F(hotplug, unpin_after_hotplug_restores_the_original_affinity)
{
	struct gs_mask before, cpus;
	unsigned int cpu;
	int gpu;

	gpu = gpu_with_spare_cpu(&self->m, &cpu);
	if (gpu < 0)
		SKIP(return, "no GPU node with a hotpluggable CPU and another one");
	ASSERT_EQ(0, gs_affinity(0, &before));
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, 0, gpu, GPUSCHED_POLICY_NODE, &cpus));
	ASSERT_EQ(0, take_offline(self, cpu));
	ASSERT_EQ(0, bring_online(self, cpu));
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	EXPECT_AFFINITY(&before, 0);
}

TEST_HARNESS_MAIN
