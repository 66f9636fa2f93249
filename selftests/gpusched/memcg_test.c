// SPDX-License-Identifier: GPL-2.0
/*
 * The module's records of pinned threads are charged to the memory cgroup
 * of the process that made the pin, so that one user pinning many threads
 * spends their own memory limit, not the machine's: a process in a memory
 * cgroup pins a holder of many threads, and the cgroup's unreclaimable
 * slab grows by at least a record per thread, then shrinks back after
 * UNPIN.  Runs as root in the test guest; skips where the kernel has no
 * memory controller.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"

#include "kselftest_harness.h"

#define NR_THREADS	1000
/* The smallest record a pinned thread can have: its struct alone is larger. */
#define MIN_RECORD	64
#define SETTLE_MS	5000
/*
 * Records are freed with kfree_rcu(), which holds a batch of fewer than a
 * page of pointers (about 500) for up to 5 s (KFREE_DRAIN_JIFFIES) before
 * its grace period starts; then the kernel flushes cgroup statistics
 * within 2 s.  Of 1000 records, the last few hundred can take all that.
 */
#define UNCHARGE_MS	15000

FIXTURE(memcg) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;
	pid_t holder;
	bool moved;			/* this process is in @cgroup */
	char cgroup[128];		/* the cgroup to remove, or "" */
};

FIXTURE_SETUP(memcg)
{
	char controllers[256];

	self->holder = 0;
	self->moved = false;
	self->cgroup[0] = '\0';
	GS_FIXTURE_START(self);
	if (gs_read_text(GS_CGROUP_ROOT "/cgroup.controllers", controllers,
			 sizeof(controllers)) || !strstr(controllers, "memory"))
		SKIP(return, "this kernel's cgroup2 has no memory controller");
}

FIXTURE_TEARDOWN(memcg)
{
	char pid[32];

	if (self->holder > 0)
		gs_holder_stop(self->holder);
	if (self->moved) {
		snprintf(pid, sizeof(pid), "%d", getpid());
		gs_write_text(GS_CGROUP_ROOT "/cgroup.procs", pid);
	}
	if (self->cgroup[0])
		gs_cgroup_remove(self->cgroup);
	if (self->fd >= 0)
		close(self->fd);
}

/* The cgroup's memory.stat slab_unreclaimable in bytes, or -1. */
static long long slab_unreclaimable(const char *cgroup)
{
	char path[192], line[256];
	long long bytes = -1;
	FILE *stat;

	snprintf(path, sizeof(path), "%s/memory.stat", cgroup);
	stat = fopen(path, "re");
	if (!stat)
		return -1;
	while (fgets(line, sizeof(line), stat))
		if (sscanf(line, "slab_unreclaimable %lld", &bytes) == 1)
			break;
	fclose(stat);
	return bytes;
}

/* The default 30 s would not cover starting the holder and both waits. */
TEST_F_TIMEOUT(memcg, records_are_charged_to_the_pinning_process, 90)
{
	long long before, pinned, after;
	long long deadline;
	struct gpusched_pin pin;

	snprintf(self->cgroup, sizeof(self->cgroup),
		 GS_CGROUP_ROOT "/gpusched-memcg-test-%d", getpid());
	ASSERT_EQ(0, gs_write_text(GS_CGROUP_ROOT "/cgroup.subtree_control", "+memory"));
	ASSERT_EQ(0, mkdir(self->cgroup, 0755)) TH_LOG("mkdir %s: %s", self->cgroup,
						      strerror(errno));
	/* The holder stays where it is: only the pinning process moves. */
	self->holder = gs_holder_start(NR_THREADS);
	ASSERT_LT(0, self->holder) TH_LOG("cannot start %d threads", NR_THREADS);
	ASSERT_EQ(0, gs_cgroup_move(self->cgroup, getpid()));
	self->moved = true;

	before = slab_unreclaimable(self->cgroup);
	ASSERT_LE(0, before) TH_LOG("no slab_unreclaimable in %s/memory.stat", self->cgroup);
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, self->holder, 0,
			 GPUSCHED_POLICY_NODE, NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(NR_THREADS, pin.nr_threads);
	/* The kernel flushes cgroup statistics every two seconds, or sooner. */
	deadline = gs_now_ms() + SETTLE_MS;
	do {
		pinned = slab_unreclaimable(self->cgroup);
		if (pinned >= before + (long long)NR_THREADS * MIN_RECORD)
			break;
		gs_sleep_ms(50);
	} while (gs_now_ms() < deadline);
	EXPECT_LE(before + (long long)NR_THREADS * MIN_RECORD, pinned)
		TH_LOG("%d pinned threads added %lld bytes to the pinning cgroup's slab",
		       NR_THREADS, pinned - before);

	/* Freed after an RCU grace period, uncharged with it, and flushed. */
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, self->holder, NULL));
	deadline = gs_now_ms() + UNCHARGE_MS;
	do {
		after = slab_unreclaimable(self->cgroup);
		if (after - before < (pinned - before) / 2)
			break;
		gs_sleep_ms(50);
	} while (gs_now_ms() < deadline);
	EXPECT_GT((pinned - before) / 2, after - before)
		TH_LOG("after UNPIN the cgroup still holds %lld of the %lld bytes",
		       after - before, pinned - before);
}

TEST_HARNESS_MAIN
