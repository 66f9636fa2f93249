// SPDX-License-Identifier: GPL-2.0
/*
 * Pins while cpusets change under them, as Slurm, the kubelet and systemd
 * change them on a running node: a cpuset that shrinks, moves off the
 * GPU's node and back, a process moved to another cgroup, an exclusive pin
 * whose cores leave its cpuset, a cpuset shrink followed at once by CPU
 * hotplug, and a thread that sets its own CPUs.  The kernel sets every
 * task of a cpuset to its new CPUs and tells nobody; the module must find
 * out within its watch interval and place the pin again inside the new
 * cpuset (or say it is broken, and why), never put a thread outside its
 * cpuset, and never overwrite CPUs a thread chose itself.  Runs as root in
 * the test guest, with agents (forked helpers) in cgroups of its own.
 */
#define _GNU_SOURCE
#include <sys/utsname.h>

#include "gpusched_test_util.h"

#include "kselftest_harness.h"

/*
 * How long a change may take to be followed: the watch interval is set to
 * WATCH_MS by the fixture (the default is 1000 ms), and TCG is slow.
 */
#define WATCH_MS	100
#define WATCH_MS_TEXT	"100"
#define SETTLE_MS	5000

FIXTURE(cpuset) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;
	struct gs_agent agent;
	struct gs_mask local;		/* GPU 0's online CPUs */
	struct gs_mask far;		/* online CPUs not local to GPU 0 */
	struct gs_mask offlined;	/* CPUs this test took offline */
	char cgroup[2][128];		/* cgroups to remove, or "" */
	char interval[32];		/* watch_interval_ms before the test */
};

static int set_online(unsigned int cpu, bool online)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/online", cpu);
	return gs_write_text(path, online ? "1" : "0");
}

FIXTURE_SETUP(cpuset)
{
	gs_mask_zero(&self->offlined);
	self->cgroup[0][0] = self->cgroup[1][0] = '\0';
	self->interval[0] = '\0';
	GS_FIXTURE_START(self);
	self->local = gs_mask_and(&self->m.gpus[0].local_cpus, &self->m.online);
	self->far = gs_mask_andnot(&self->m.online, &self->local);
	ASSERT_EQ(0, gs_read_text(GS_SYSFS "/watch_interval_ms", self->interval,
				  sizeof(self->interval)));
	ASSERT_EQ(0, gs_write_text(GS_SYSFS "/watch_interval_ms", WATCH_MS_TEXT));
}

FIXTURE_TEARDOWN(cpuset)
{
	unsigned int cpu, i;

	gs_agent_kill(&self->agent);
	for (i = 0; i < 2; i++)
		if (self->cgroup[i][0])
			gs_cgroup_remove(self->cgroup[i]);
	for (cpu = 0; cpu < GS_MAX_CPUS; cpu++)
		if (gs_mask_test(&self->offlined, cpu) && set_online(cpu, true))
			TH_LOG("cannot bring cpu%u back online: %s", cpu, strerror(errno));
	if (self->interval[0])
		gs_write_text(GS_SYSFS "/watch_interval_ms", self->interval);
	if (self->fd >= 0)
		close(self->fd);
}

/* Creates cgroup @i with cpuset.cpus = @cpus; 0, or a reason to skip in @why. */
static int make_cpuset(FIXTURE_DATA(cpuset) *self, unsigned int i, const struct gs_mask *cpus,
		       const char **why)
{
	snprintf(self->cgroup[i], sizeof(self->cgroup[i]),
		 GS_CGROUP_ROOT "/gpusched-cpuset-test-%d-%u", getpid(), i);
	if (gs_cpuset_create(self->cgroup[i], cpus)) {
		*why = "cannot create a cgroup v2 cpuset (no cpuset controller?)";
		self->cgroup[i][0] = '\0';
		return -1;
	}
	return 0;
}

/* Rewrites cgroup @i's cpuset.cpus, as a resource manager would. */
static int rewrite_cpuset(FIXTURE_DATA(cpuset) *self, unsigned int i, const struct gs_mask *cpus)
{
	char list[GS_CPULIST_LEN], file[192];

	snprintf(file, sizeof(file), "%s/cpuset.cpus", self->cgroup[i]);
	return gs_write_text(file, gs_cpulist_format(cpus, list, sizeof(list)));
}

/*
 * Starts the agent in cgroup 0 (made with @cpus) and pins it to GPU 0
 * with @policy through the test's file; its CPUs in @pinned.  0, or a
 * reason to skip in @why.
 */
static int pinned_agent(FIXTURE_DATA(cpuset) *self, const struct gs_mask *cpus, __u32 policy,
			struct gs_mask *pinned, const char **why)
{
	struct gpusched_pin pin;

	if (make_cpuset(self, 0, cpus, why))
		return -1;
	if (gs_agent_start(&self->agent) || gs_cgroup_move(self->cgroup[0], self->agent.pid)) {
		*why = "cannot move a process into the cpuset";
		return -1;
	}
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, self->agent.pid, 0, policy, pinned);
	if (policy == GPUSCHED_POLICY_EXCLUSIVE)
		pin.cores = 1;
	return ioctl(self->fd, GPUSCHED_IOC_PIN, &pin) ? errno : 0;
}

/* pinned_agent() in a test: skips when the machine cannot, fails when PIN does. */
#define PIN_AGENT(allowed, policy, cpus) do {					\
	const char *_why = "";							\
	int _ret = pinned_agent(self, allowed, policy, cpus, &_why);		\
										\
	if (_ret < 0)								\
		SKIP(return, "%s", _why);					\
	ASSERT_EQ(0, _ret) TH_LOG("PIN: %s", strerror(_ret));			\
} while (0)

/* Polls until thread @tid's CPUs are @want; false after SETTLE_MS. */
static bool wait_affinity(pid_t tid, const struct gs_mask *want)
{
	long long deadline = gs_now_ms() + SETTLE_MS;
	struct gs_mask now;

	do {
		if (!gs_affinity(tid, &now) && gs_mask_equal(&now, want))
			return true;
		gs_sleep_ms(20);
	} while (gs_now_ms() < deadline);
	return false;
}

/*
 * Polls until thread @tid's CPUs are some of @inside and none of @avoid;
 * false after SETTLE_MS.
 */
static bool wait_affinity_within(pid_t tid, const struct gs_mask *inside,
				 const struct gs_mask *avoid)
{
	long long deadline = gs_now_ms() + SETTLE_MS;
	struct gs_mask now;

	do {
		if (!gs_affinity(tid, &now) && gs_mask_subset(&now, inside) &&
		    !gs_mask_intersects(&now, avoid))
			return true;
		gs_sleep_ms(20);
	} while (gs_now_ms() < deadline);
	return false;
}

/*
 * Samples thread @tid's CPUs for @ms: whether they were @want every time;
 * the first other value in @seen.
 */
static bool affinity_stays(pid_t tid, const struct gs_mask *want, unsigned int ms,
			   struct gs_mask *seen)
{
	long long deadline = gs_now_ms() + ms;

	do {
		if (gs_affinity(tid, seen) || !gs_mask_equal(seen, want))
			return false;
		gs_sleep_ms(20);
	} while (gs_now_ms() < deadline);
	return true;
}

/* Polls QUERY of @tid until all of @bits are set in its result; false after SETTLE_MS. */
static bool wait_result(FIXTURE_DATA(cpuset) *self, pid_t tid, __u32 bits)
{
	long long deadline = gs_now_ms() + SETTLE_MS;

	do {
		__u32 result = gs_query_result(self->fd, &self->m, tid);

		if (result != ~0U && (result & bits) == bits)
			return true;
		gs_sleep_ms(20);
	} while (gs_now_ms() < deadline);
	return false;
}

/* ---- a cpuset rewrite is followed --------------------------------------- */

TEST_F(cpuset, shrunk_cpuset_is_followed_inside_the_new_cpuset)
{
	struct gs_mask shrunk = self->far, want, cpus, original;
	int first = gs_mask_first(&self->local);
	struct gpusched_query q;

	if (gs_mask_weight(&self->local) < 2)
		SKIP(return, "GPU 0 has fewer than two online local CPUs");
	PIN_AGENT(&self->m.online, GPUSCHED_POLICY_NODE, &cpus);
	EXPECT_MASK_EQ(&self->local, &cpus);

	/* One CPU of the node stays in the cpuset, with every far one. */
	gs_mask_set(&shrunk, first);
	ASSERT_EQ(0, rewrite_cpuset(self, 0, &shrunk));
	gs_mask_zero(&want);
	gs_mask_set(&want, first);
	EXPECT_TRUE(wait_affinity(self->agent.pid, &want))
		TH_LOG("the pin was not made again inside the new cpuset");
	EXPECT_AFFINITY(&want, self->agent.pid);

	ASSERT_EQ(0, gs_query(self->fd, &self->m, self->agent.pid, &q, &cpus, &original));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, q.result);
	EXPECT_EQ(GPUSCHED_PIN_REASON_NONE, q.reason);
	EXPECT_LE(1, q.nr_followed);
	EXPECT_MASK_EQ(&want, &cpus);
	/* What UNPIN gives back is the new cpuset, not the old one. */
	EXPECT_MASK_EQ(&shrunk, &original);
	EXPECT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, self->agent.pid, NULL));
	EXPECT_AFFINITY(&shrunk, self->agent.pid);
}

TEST_F(cpuset, move_to_another_cgroup_is_followed)
{
	struct gs_mask other, want = self->local, cpus;
	int first = gs_mask_first(&self->local);
	const char *why = "";

	if (gs_mask_weight(&self->local) < 2)
		SKIP(return, "GPU 0 has fewer than two online local CPUs");
	PIN_AGENT(&self->m.online, GPUSCHED_POLICY_NODE, &cpus);

	/* The second cgroup lacks the node's first CPU. */
	gs_mask_clear(&want, first);
	other = gs_mask_or(&self->far, &want);
	if (make_cpuset(self, 1, &other, &why))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, gs_cgroup_move(self->cgroup[1], self->agent.pid));
	EXPECT_TRUE(wait_affinity(self->agent.pid, &want))
		TH_LOG("the pin did not follow its process into the other cgroup");
	EXPECT_AFFINITY(&want, self->agent.pid);
}

/* ---- nothing of the node left: broken, and said so ---------------------- */

TEST_F(cpuset, cpuset_off_the_gpus_node_breaks_the_pin_until_it_returns)
{
	struct gs_mask cpus;
	struct gpusched_query q;

	if (gs_mask_empty(&self->far))
		SKIP(return, "every online CPU is local to GPU 0");
	PIN_AGENT(&self->m.online, GPUSCHED_POLICY_NODE, &cpus);
	EXPECT_EQ(0, gs_sysfs_long("nr_broken_pins"));

	ASSERT_EQ(0, rewrite_cpuset(self, 0, &self->far));
	EXPECT_TRUE(wait_result(self, self->agent.pid, GPUSCHED_QUERY_BROKEN))
		TH_LOG("QUERY does not say the pin is broken");
	ASSERT_EQ(0, gs_query(self->fd, &self->m, self->agent.pid, &q, &cpus, NULL));
	EXPECT_TRUE(q.result & GPUSCHED_QUERY_PINNED);
	EXPECT_FALSE(q.result & GPUSCHED_QUERY_FALLBACK);
	EXPECT_EQ(GPUSCHED_PIN_REASON_NO_CPUS, q.reason);
	/* It runs where its cpuset puts it, and nowhere else. */
	EXPECT_AFFINITY(&self->far, self->agent.pid);
	EXPECT_MASK_EQ(&self->far, &cpus);
	EXPECT_EQ(1, gs_sysfs_long("nr_broken_pins"));

	/* The cpuset comes back: so does the pin. */
	ASSERT_EQ(0, rewrite_cpuset(self, 0, &self->m.online));
	EXPECT_TRUE(wait_affinity(self->agent.pid, &self->local))
		TH_LOG("the pin was not made again when its node came back");
	ASSERT_EQ(0, gs_query(self->fd, &self->m, self->agent.pid, &q, &cpus, NULL));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, q.result);
	EXPECT_EQ(GPUSCHED_PIN_REASON_NONE, q.reason);
	EXPECT_EQ(2, q.nr_followed);
	EXPECT_MASK_EQ(&self->local, &cpus);
	EXPECT_EQ(0, gs_sysfs_long("nr_broken_pins"));
}

/* ---- exclusive cores follow the cpuset, and so does the hold ------------ */

TEST_F(cpuset, exclusive_pin_moves_its_cores_and_hold_with_the_cpuset)
{
	struct gs_mask first, allowed, cpus, held;

	if (gs_cores_in(&self->m, &self->local) < 2)
		SKIP(return, "GPU 0 has fewer than two online local cores");
	PIN_AGENT(&self->m.online, GPUSCHED_POLICY_EXCLUSIVE, &first);
	ASSERT_TRUE(gs_whole_cores(&self->m, &first));
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&first, &held);

	/* The cpuset loses the pin's core but keeps others of the node. */
	allowed = gs_mask_andnot(&self->m.online, &first);
	ASSERT_EQ(0, rewrite_cpuset(self, 0, &allowed));
	EXPECT_TRUE(wait_affinity_within(self->agent.pid, &self->local, &first))
		TH_LOG("the pin did not leave the core its cpuset lost");
	ASSERT_EQ(0, gs_affinity(self->agent.pid, &cpus));
	EXPECT_TRUE(gs_mask_subset(&cpus, &self->local));
	EXPECT_FALSE(gs_mask_intersects(&cpus, &first)) TH_LOG("still on the core its cpuset lost");
	EXPECT_TRUE(gs_whole_cores(&self->m, &cpus));
	EXPECT_EQ(gs_mask_weight(&first), gs_mask_weight(&cpus));
	/* The reservation moved with it: the old core is free for others. */
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&cpus, &held);
}

/* ---- a shrink, then hotplug: never outside the cpuset ------------------- */

TEST_F(cpuset, hotplug_after_a_shrink_keeps_the_pin_inside_the_cpuset)
{
	struct gs_mask one, cpus, now;
	char list[GS_CPULIST_LEN];
	int keep, gone = -1, cpu;

	/* Two local CPUs that can go offline: one kept, one taken away. */
	keep = gs_mask_first(&self->local);
	for (cpu = gs_mask_last(&self->local); cpu > keep; cpu--)
		if (gs_mask_test(&self->local, cpu) &&
		    gs_path_exists("/sys/devices/system/cpu/cpu%d/online", cpu)) {
			gone = cpu;
			break;
		}
	if (gone < 0)
		SKIP(return, "GPU 0 has no second local CPU that can go offline");
	PIN_AGENT(&self->local, GPUSCHED_POLICY_NODE, &cpus);
	EXPECT_MASK_EQ(&self->local, &cpus);

	gs_mask_zero(&one);
	gs_mask_set(&one, keep);
	ASSERT_EQ(0, rewrite_cpuset(self, 0, &one));
	ASSERT_EQ(0, set_online(gone, false));
	gs_mask_set(&self->offlined, gone);

	/* Every sample, until the hotplug work and a watch pass are done. */
	EXPECT_TRUE(affinity_stays(self->agent.pid, &one, 2000, &now))
		TH_LOG("after the offline, on '%s'", gs_cpulist_format(&now, list, sizeof(list)));
	ASSERT_EQ(0, set_online(gone, true));
	gs_mask_clear(&self->offlined, gone);
	EXPECT_TRUE(affinity_stays(self->agent.pid, &one, 1000, &now))
		TH_LOG("after the online, on '%s'", gs_cpulist_format(&now, list, sizeof(list)));
}

/* ---- CPUs a thread chose itself are its own ----------------------------- */

/* Whether the running kernel keeps the CPUs a thread asked for (6.2 and later). */
static bool kernel_keeps_user_cpus(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 2);
}

TEST_F(cpuset, cpus_a_thread_chose_itself_are_never_overwritten)
{
	struct gs_mask own, shrunk, cpus;
	int first = gs_mask_first(&self->local);

	if (!kernel_keeps_user_cpus())
		SKIP(return, "kernels before 6.2 keep no record of the CPUs a thread asked for (user_cpus_ptr): the module takes any change for a cpuset's");
	if (gs_mask_weight(&self->local) < 2 || gs_mask_empty(&self->far))
		SKIP(return, "needs two online CPUs local to GPU 0 and one that is not");
	PIN_AGENT(&self->m.online, GPUSCHED_POLICY_NODE, &cpus);

	/* sched_setaffinity() on the thread: its own choice from now on. */
	gs_mask_zero(&own);
	gs_mask_set(&own, first);
	ASSERT_EQ(0, gs_set_affinity(self->agent.pid, &own));
	EXPECT_TRUE(wait_result(self, self->agent.pid,
				GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_CPUS))
		TH_LOG("QUERY does not say the thread chose its own CPUs");

	/* A cpuset rewrite keeps its choice (the kernel does), and so does the module. */
	shrunk = self->far;
	gs_mask_set(&shrunk, first);
	ASSERT_EQ(0, rewrite_cpuset(self, 0, &shrunk));
	gs_sleep_ms(5 * WATCH_MS);
	EXPECT_AFFINITY(&own, self->agent.pid);

	/* UNPIN does not give it the CPUs from before the pin either. */
	EXPECT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, self->agent.pid, NULL));
	EXPECT_AFFINITY(&own, self->agent.pid);
}

/* ---- the interval ------------------------------------------------------- */

TEST_F(cpuset, watch_resumes_when_the_interval_is_set_again)
{
	struct gs_mask shrunk = self->far, want, cpus;
	int first = gs_mask_first(&self->local);

	if (gs_mask_weight(&self->local) < 2)
		SKIP(return, "GPU 0 has fewer than two online local CPUs");
	PIN_AGENT(&self->m.online, GPUSCHED_POLICY_NODE, &cpus);

	/* With no interval, nothing looks (no CPU hotplug happens here). */
	ASSERT_EQ(0, gs_write_text(GS_SYSFS "/watch_interval_ms", "0"));
	gs_mask_set(&shrunk, first);
	ASSERT_EQ(0, rewrite_cpuset(self, 0, &shrunk));
	gs_sleep_ms(5 * WATCH_MS);
	EXPECT_AFFINITY(&shrunk, self->agent.pid);

	/* Set again, it looks again, without waiting for a new pin. */
	ASSERT_EQ(0, gs_write_text(GS_SYSFS "/watch_interval_ms", WATCH_MS_TEXT));
	gs_mask_zero(&want);
	gs_mask_set(&want, first);
	EXPECT_TRUE(wait_affinity(self->agent.pid, &want))
		TH_LOG("the watch did not resume");
}

TEST_F(cpuset, watch_interval_takes_only_sane_values)
{
	char text[32];

	EXPECT_EQ(-EINVAL, gs_write_text(GS_SYSFS "/watch_interval_ms", "5"));
	EXPECT_EQ(-EINVAL, gs_write_text(GS_SYSFS "/watch_interval_ms", "60001"));
	EXPECT_EQ(-EINVAL, gs_write_text(GS_SYSFS "/watch_interval_ms", "ten"));
	ASSERT_EQ(0, gs_read_text(GS_SYSFS "/watch_interval_ms", text, sizeof(text)));
	EXPECT_STREQ(WATCH_MS_TEXT, text);
	EXPECT_EQ(0, gs_write_text(GS_SYSFS "/watch_interval_ms", "0"));
	EXPECT_EQ(0, gs_write_text(GS_SYSFS "/watch_interval_ms", "60000"));
	EXPECT_EQ(0, gs_write_text("/sys/module/gpusched/parameters/watch_interval_ms", "250"));
	ASSERT_EQ(0, gs_read_text(GS_SYSFS "/watch_interval_ms", text, sizeof(text)));
	EXPECT_STREQ("250", text);
}

TEST_HARNESS_MAIN
