// SPDX-License-Identifier: GPL-2.0
/*
 * What outlives what: a pin by id never follows its id to another task
 * (the target exits and a new process takes the id: the pin is gone and
 * the new process untouched), and the module unloads only when nothing
 * holds it, again and again: rmmod with a pin held fails and changes
 * nothing; after close it succeeds; then 100 cycles of load, pins (ended
 * by close and by SIGKILL of their holder) and unload.  The guest's checks
 * add the kernel log and kmemleak after the cycles.
 */
#define _GNU_SOURCE
#include <limits.h>

#include "gpusched_test_util.h"

#include "kselftest_harness.h"

#define PID_MAX_PATH	"/proc/sys/kernel/pid_max"
/*
 * A low pid_max, so that ids come back quickly: the kernel's floor is 301
 * (ids up to 300 are kept for it) or 8 per possible CPU, if more.
 */
#define LOW_PID_MAX	400
#define PIDS_PER_CPU_MIN	8
#define REUSE_TRIES	5000
/* After a wrap the kernel hands out ids from RESERVED_PIDS (300) up only. */
#define FIRST_REUSABLE_PID	300
#define LOAD_CYCLES	100

FIXTURE(reuse) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;
	char old_pid_max[32];
};

FIXTURE_SETUP(reuse)
{
	unsigned int low = LOW_PID_MAX;
	char text[16];

	self->old_pid_max[0] = '\0';
	GS_FIXTURE_START(self);
	ASSERT_EQ(0, gs_read_text(PID_MAX_PATH, self->old_pid_max, sizeof(self->old_pid_max)));
	if (low < PIDS_PER_CPU_MIN * self->m.nr_cpu_ids + 100)
		low = PIDS_PER_CPU_MIN * self->m.nr_cpu_ids + 100;
	/* Every new id comes from a range of 100 or a few more: ids come back quickly. */
	snprintf(text, sizeof(text), "%u", low);
	ASSERT_EQ(0, gs_write_text(PID_MAX_PATH, text)) TH_LOG("pid_max %s", text);
}

FIXTURE_TEARDOWN(reuse)
{
	if (self->old_pid_max[0])
		gs_write_text(PID_MAX_PATH, self->old_pid_max);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Forks until a child gets an id in @low..@high; that child, sleeping until
 * it is killed (or its parent dies), or -1.  Children with other ids exit
 * at once and are reaped.
 */
static pid_t sleeper_in(pid_t low, pid_t high)
{
	unsigned int tries;
	pid_t pid;

	for (tries = 0; tries < REUSE_TRIES; tries++) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (!pid) {
			if (getpid() < low || getpid() > high)
				_exit(0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		if (pid >= low && pid <= high)
			return pid;
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/*
 * A sleeping child whose id can be given out again: early in a guest's
 * life the next ids are below FIRST_REUSABLE_PID, which the kernel never
 * hands out again once pid_max wraps.
 */
static pid_t sleeper(void)
{
	return sleeper_in(FIRST_REUSABLE_PID, INT_MAX);
}

/* A sleeping child with id @want, or -1. */
static pid_t take_id(pid_t want)
{
	return sleeper_in(want, want);
}

static void pin_then_reuse(struct __test_metadata *_metadata, FIXTURE_DATA(reuse) *self,
			   __u32 target_type)
{
	struct gs_mask before, after, cpus;
	struct gpusched_pin pin;
	long long deadline;
	pid_t first, second;

	ASSERT_EQ(0, gs_affinity(0, &before));
	first = sleeper();
	ASSERT_LT(0, first);
	pin = gs_pin_arg(&self->m, target_type, first, 0, GPUSCHED_POLICY_SINGLE, &cpus);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("PIN %d: %s", first,
								   strerror(errno));
	ASSERT_TRUE(gs_query_result(self->fd, &self->m, first) & GPUSCHED_QUERY_PINNED);
	kill(first, SIGKILL);
	ASSERT_EQ(first, waitpid(first, NULL, 0));

	/* The exit is seen at once; the pin's record goes soon after. */
	deadline = gs_now_ms() + 5000;
	while (gs_sysfs_long("nr_pinned_tasks") && gs_now_ms() < deadline)
		gs_sleep_ms(20);
	EXPECT_EQ(0, gs_sysfs_long("nr_pinned_tasks"));

	second = take_id(first);
	ASSERT_EQ(first, second) TH_LOG("no new process got id %d in %d forks", first,
					 REUSE_TRIES);
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, second))
		TH_LOG("the new process %d shows as pinned", second);
	EXPECT_EQ(ENOENT, gs_unpin(self->fd, target_type, second, NULL));
	ASSERT_EQ(0, gs_affinity(second, &after));
	EXPECT_MASK_EQ(&before, &after);
	EXPECT_EQ(0, gs_sysfs_long("nr_pinned_tasks"));
	kill(second, SIGKILL);
	waitpid(second, NULL, 0);
}

TEST_F(reuse, process_id_taken_over)
{
	pin_then_reuse(_metadata, self, GPUSCHED_TARGET_PROCESS);
}

TEST_F(reuse, thread_id_taken_over)
{
	pin_then_reuse(_metadata, self, GPUSCHED_TARGET_THREAD);
}

/* ---- load and unload ----------------------------------------------------- */

FIXTURE(cycles) {
	int ko;
	struct gs_machine m;
	struct gs_topo full;
};

FIXTURE_SETUP(cycles)
{
	const char *ko = getenv("GPUSCHED_KO");
	const char *why = "";
	int fd;

	self->ko = -1;
	if (!ko)
		SKIP(return, "GPUSCHED_KO does not name the module file to load");
	fd = gs_open_device();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gs_discover(fd, &self->m, &why)) TH_LOG("%s", why);
	close(fd);
	if (!self->m.nr_gpus)
		SKIP(return, "no stand-in GPU in this machine");
	gs_topo_full(&self->full, &self->m);
	self->ko = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->ko) TH_LOG("open %s: %s", ko, strerror(errno));
}

FIXTURE_TEARDOWN(cycles)
{
	struct stat st;

	/* Leave the module loaded, as every other suite expects it. */
	if (self->ko >= 0 && stat(GS_DEV_PATH, &st))
		gs_module_load(self->ko);
	if (self->ko >= 0)
		close(self->ko);
}

/* Opens the device, sets the topology, pins @holder (@policy) and the caller. */
static int open_and_pin(const struct gs_machine *m, struct gs_topo *full, pid_t holder,
			__u32 policy)
{
	struct gpusched_pin pin;
	int fd = gs_open_device();

	if (fd < 0)
		return -1;
	if (gs_set_topology(fd, full))
		goto fail;
	pin = gs_pin_arg(m, GPUSCHED_TARGET_PROCESS, holder, 0, policy, NULL);
	if (ioctl(fd, GPUSCHED_IOC_PIN, &pin))
		goto fail;
	pin = gs_pin_arg(m, GPUSCHED_TARGET_THREAD, 0, m->nr_gpus - 1, GPUSCHED_POLICY_NODE, NULL);
	if (ioctl(fd, GPUSCHED_IOC_PIN, &pin))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

TEST_F(cycles, unload_refused_while_pins_are_held)
{
	struct gs_mask pinned, now;
	pid_t holder;
	int fd;

	holder = gs_holder_start(2);
	ASSERT_LT(0, holder);
	fd = open_and_pin(&self->m, &self->full, holder, GPUSCHED_POLICY_EXCLUSIVE);
	ASSERT_LE(0, fd) TH_LOG("pinning: %s", strerror(errno));
	ASSERT_EQ(0, gs_affinity(holder, &pinned));
	EXPECT_EQ(EWOULDBLOCK, gs_module_unload());
	/* Nothing changed: the pins hold, the device answers. */
	EXPECT_TRUE(gs_query_result(fd, &self->m, holder) & GPUSCHED_QUERY_PINNED);
	ASSERT_EQ(0, gs_affinity(holder, &now));
	EXPECT_MASK_EQ(&pinned, &now);
	EXPECT_EQ(3, gs_sysfs_long("nr_pinned_tasks"));
	close(fd);
	EXPECT_EQ(0, gs_module_unload());
	EXPECT_EQ(0, gs_module_load(self->ko));
	gs_holder_stop(holder);
}

TEST_F_TIMEOUT(cycles, load_pin_unload_100_times, 600)
{
	unsigned int cycle, failed = 0;
	pid_t holder, pinner;
	int fd, status, err;

	holder = gs_holder_start(4);
	ASSERT_LT(0, holder);
	for (cycle = 0; cycle < LOAD_CYCLES && !failed; cycle++) {
		__u32 policy = cycle % 3 ? GPUSCHED_POLICY_NODE : GPUSCHED_POLICY_EXCLUSIVE;

		err = gs_module_unload();
		if (err) {
			TH_LOG("cycle %u: delete_module: %s", cycle, strerror(err));
			failed++;
			break;
		}
		err = gs_module_load(self->ko);
		if (err) {
			TH_LOG("cycle %u: finit_module: %s", cycle, strerror(err));
			failed++;
			break;
		}
		if (cycle % 2) {
			/* The pins end with the file. */
			fd = open_and_pin(&self->m, &self->full, holder, policy);
			if (fd < 0) {
				TH_LOG("cycle %u: pinning: %s", cycle, strerror(errno));
				failed++;
			}
			close(fd);
			continue;
		}
		/* The pins end with their holder, killed. */
		pinner = fork();
		ASSERT_LE(0, pinner);
		if (!pinner) {
			fd = open_and_pin(&self->m, &self->full, holder, policy);
			if (fd < 0)
				_exit(1);
			for (;;)
				pause();
		}
		/* The pin is made once the holder's CPUs changed. */
		while (gs_sysfs_long("nr_pinned_tasks") < 5 && !waitpid(pinner, &status, WNOHANG))
			gs_sleep_ms(5);
		kill(pinner, SIGKILL);
		waitpid(pinner, &status, 0);
		if (!WIFSIGNALED(status)) {
			TH_LOG("cycle %u: the pinning child failed", cycle);
			failed++;
		}
	}
	EXPECT_EQ(0, failed);
	EXPECT_EQ(LOAD_CYCLES, cycle);
	EXPECT_EQ(0, gs_module_unload());
	EXPECT_EQ(0, gs_module_load(self->ko));
	EXPECT_EQ(0, gs_sysfs_long("nr_pinned_tasks"));
	gs_holder_stop(holder);
	ksft_print_msg("%u cycles of load, pin, unload\n", cycle);
}

TEST_HARNESS_MAIN
