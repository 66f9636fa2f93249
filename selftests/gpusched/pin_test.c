// SPDX-License-Identifier: GPL-2.0
/*
 * ABI tests of GPUSCHED_IOC_PIN, GPUSCHED_IOC_UNPIN and GPUSCHED_IOC_QUERY:
 * what a pin does to a task's affinity (NODE and EXCLUSIVE policies, one
 * thread, a thread of another process, a whole process), that unpin and
 * the end of the pinning file restore it, that exclusive cores are
 * disjoint across files and come back when the holder closes or is killed,
 * that pins stay inside the task's cpuset and off housekeeping CPUs, the
 * sched_setaffinity()-like permissions, every error path with its errno
 * and no side effect, and a bounded stress of all of it against topology
 * replacement.  Expectations come from kmod/include/uapi/linux/gpusched.h
 * and the guest's own sysfs.  Runs as root in the test guest with
 * gpusched.ko loaded; the fixture sets every stand-in GPU as the topology,
 * so GPU 0 is the first stand-in by PCI address.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"

#include "kselftest_harness.h"

#define NR_AGENTS 4

FIXTURE(pin) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;		/* every stand-in GPU, as set by the setup */
	struct gs_mask before;		/* this process's affinity at the start */
	struct gs_agent agent[NR_AGENTS];	/* helpers; the teardown kills them */
	char cgroup[128];		/* a cgroup to remove, or "" */
};

FIXTURE_SETUP(pin)
{
	GS_FIXTURE_START(self);
	ASSERT_EQ(0, gs_affinity(0, &self->before));
}

FIXTURE_TEARDOWN(pin)
{
	unsigned int i;

	for (i = 0; i < NR_AGENTS; i++)
		gs_agent_kill(&self->agent[i]);
	if (self->cgroup[0])
		gs_cgroup_remove(self->cgroup);
	gs_write_text(GS_SYSFS "/max_reserved_cpus_per_user", "0");
	if (self->fd >= 0)
		close(self->fd);
}

/* The CPUs a NODE pin of GPU @gpu gives a task that was allowed every CPU it started with. */
#define NODE_CPUS(gpu) gs_expected_node_cpus(&self->m, gpu, &self->before, NULL)

/* Thread @tid is not pinned and still has the affinity it started with. */
#define EXPECT_NOT_PINNED(tid) do {						\
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, tid));		\
	EXPECT_AFFINITY(&self->before, tid);					\
} while (0)

static int pin_self(FIXTURE_DATA(pin) *self, __u32 gpu, __u32 policy, struct gs_mask *cpus)
{
	return gs_pin_thread(self->fd, &self->m, 0, gpu, policy, cpus);
}

/* Starts agent @i; with @open, it opens its own file of the device. */
static int start_agent(FIXTURE_DATA(pin) *self, unsigned int i, bool open)
{
	int ret = gs_agent_start(&self->agent[i]);

	if (!ret && open)
		ret = gs_agent_open(&self->agent[i]);
	return ret;
}

/* Waits up to two seconds for gpuN/reserved_cpus to become empty. */
static bool reserved_cpus_drain(unsigned int gpu)
{
	long long deadline = gs_now_ms() + 2000;
	struct gs_mask held;

	do {
		if (!gs_sysfs_gpu_cpus(gpu, "reserved_cpus", &held) && gs_mask_empty(&held))
			return true;
		gs_sleep_ms(10);
	} while (gs_now_ms() < deadline);
	return false;
}

/* ---- PIN: one thread, NODE ---------------------------------------------- */

TEST_F(pin, pin_self_node_gets_the_gpus_local_cpus)
{
	struct gs_mask want = NODE_CPUS(0), cpus;
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_NODE, &cpus);

	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1, pin.nr_threads);
	EXPECT_EQ(GPUSCHED_POLICY_NODE, pin.policy);
	EXPECT_EQ(self->m.nr_cpu_ids, pin.nr_cpus);
	EXPECT_MASK_EQ(&want, &cpus);
	EXPECT_AFFINITY(&want, 0);
}

TEST_F(pin, pin_without_a_cpus_buffer_is_accepted)
{
	struct gs_mask want = NODE_CPUS(0);

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_AFFINITY(&want, 0);
}

TEST_F(pin, pin_default_policy_applies_the_modules_default)
{
	struct gpusched_get_info info;
	struct gpusched_pin pin;
	struct gpusched_query q;

	ASSERT_EQ(0, gs_get_info(self->fd, &info));
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0, GPUSCHED_POLICY_DEFAULT, NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(info.default_policy, pin.policy);
	EXPECT_NE(GPUSCHED_POLICY_DEFAULT, pin.policy);
	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, NULL, NULL));
	EXPECT_EQ(info.default_policy, q.policy);
}

TEST_F(pin, pin_never_widens_the_original_affinity)
{
	struct gs_mask allowed = self->before, want, cpus, original;
	struct gpusched_query q;

	if (gs_mask_weight(&self->m.gpus[0].local_cpus) < 2)
		SKIP(return, "GPU 0 has fewer than two local CPUs");
	gs_mask_clear(&allowed, gs_mask_first(&self->m.gpus[0].local_cpus));
	ASSERT_EQ(0, gs_set_affinity(0, &allowed));
	want = gs_expected_node_cpus(&self->m, 0, &allowed, NULL);

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	EXPECT_MASK_EQ(&want, &cpus);
	EXPECT_AFFINITY(&want, 0);
	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, NULL, &original));
	EXPECT_MASK_EQ(&allowed, &original);
}

/* ---- QUERY -------------------------------------------------------------- */

TEST_F(pin, query_reports_a_pin_made_through_this_file)
{
	struct gs_mask cpus, qcpus, original, seen;
	struct gpusched_query q;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, &qcpus, &original));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, q.result);
	EXPECT_EQ(0, q.gpu);
	EXPECT_EQ(GPUSCHED_POLICY_NODE, q.policy);
	EXPECT_EQ(getpid(), q.owner_pid);
	EXPECT_EQ(self->m.nr_cpu_ids, q.nr_cpus);
	EXPECT_MASK_EQ(&cpus, &qcpus);
	/*
	 * The mask as the kernel holds it, which on a machine with possible
	 * CPUs that are not online may name them; sched_getaffinity() does not.
	 */
	seen = gs_mask_and(&original, &self->m.online);
	EXPECT_MASK_EQ(&self->before, &seen);
	EXPECT_TRUE(gs_mask_subset(&self->before, &original));

	/* The thread's own id names the same thread as 0. */
	ASSERT_EQ(0, gs_query(self->fd, &self->m, gs_gettid(), &q, NULL, NULL));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, q.result);
}

TEST_F(pin, query_through_another_file_lacks_own_file)
{
	struct gpusched_query q;
	int fd2 = gs_open_device();

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	ASSERT_EQ(0, gs_query(fd2, &self->m, 0, &q, NULL, NULL));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED, q.result);
	EXPECT_EQ(getpid(), q.owner_pid);
	close(fd2);
}

TEST_F(pin, query_of_an_unpinned_thread_reports_nothing)
{
	struct gs_mask cpus, original, canary;
	struct gpusched_query q;

	memset(&canary, 0x5a, sizeof(canary));
	cpus = canary;
	original = canary;
	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, &cpus, &original));
	EXPECT_EQ(0, q.result);
	EXPECT_EQ(0, q.gpu);
	EXPECT_EQ(0, q.policy);
	EXPECT_EQ(0, q.owner_pid);
	/* The masks are not written for a thread that is not pinned. */
	EXPECT_TRUE(gs_mask_equal(&canary, &cpus));
	EXPECT_TRUE(gs_mask_equal(&canary, &original));
}

/* ---- UNPIN -------------------------------------------------------------- */

TEST_F(pin, unpin_restores_the_original_affinity_exactly)
{
	struct gs_mask original = self->before;
	struct gs_mask away = gs_mask_andnot(&self->before, &self->m.gpus[0].local_cpus);
	__u32 nr_threads = 0;

	/* An original mask that is neither "all" nor the pin's, when possible. */
	if (!gs_mask_empty(&away)) {
		gs_mask_clear(&original, gs_mask_first(&away));
		ASSERT_EQ(0, gs_set_affinity(0, &original));
	}
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, &nr_threads));
	EXPECT_EQ(1, nr_threads);
	EXPECT_AFFINITY(&original, 0);
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, 0));
}

TEST_F(pin, unpin_leaves_a_thread_whose_cpus_were_changed_since)
{
	struct gs_mask cpus, narrowed;
	int first;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	first = gs_mask_first(&cpus);
	ASSERT_LE(0, first);
	/* The thread narrows its own CPUs, as a cpuset change would. */
	gs_mask_zero(&narrowed);
	gs_mask_set(&narrowed, first);
	ASSERT_EQ(0, gs_set_affinity(0, &narrowed));

	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, 0));
	/* Restoring the pre-pin mask would widen what someone else decided. */
	EXPECT_AFFINITY(&narrowed, 0);
}

TEST_F(pin, unpin_of_an_unpinned_target_gives_enoent)
{
	EXPECT_EQ(ENOENT, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	EXPECT_EQ(ENOENT, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, 0, NULL));
	EXPECT_NOT_PINNED(0);
}

/* ---- other tasks: a child's thread, a whole process --------------------- */

TEST_F(pin, pin_a_thread_of_a_child_by_tid)
{
	struct gs_mask want = NODE_CPUS(0);
	struct gpusched_pin pin;
	pid_t child;

	ASSERT_EQ(0, start_agent(self, 0, false));
	child = self->agent[0].pid;
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, child, 0, GPUSCHED_POLICY_NODE, NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1, pin.nr_threads);
	EXPECT_AFFINITY(&want, child);
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE,
		  gs_query_result(self->fd, &self->m, child));
	/* The caller itself is left alone. */
	EXPECT_NOT_PINNED(0);
}

TEST_F(pin, pin_process_pins_every_thread)
{
	struct gs_mask want = NODE_CPUS(0);
	pid_t tids[4];
	struct gpusched_pin pin;
	unsigned int i;

	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 3, &tids[1]));

	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, tids[0], 0, GPUSCHED_POLICY_NODE,
			 NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(4, pin.nr_threads);
	for (i = 0; i < 4; i++) {
		EXPECT_AFFINITY(&want, tids[i]);
		EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE,
			  gs_query_result(self->fd, &self->m, tids[i]));
	}
}

TEST_F(pin, unpin_process_restores_every_thread)
{
	__u32 nr_threads = 0;
	struct gpusched_pin pin;
	pid_t tids[4];
	unsigned int i;

	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 3, &tids[1]));
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, tids[0], 0, GPUSCHED_POLICY_NODE,
			 NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));

	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, tids[0], &nr_threads));
	EXPECT_EQ(4, nr_threads);
	for (i = 0; i < 4; i++)
		EXPECT_NOT_PINNED(tids[i]);
}

/* How long the module's work item may take to take in a new thread. */
#define ADOPT_SETTLE_MS 5000

/* Waits up to @ms until @tid is pinned through this file; returns whether it was. */
static bool wait_pinned(FIXTURE_DATA(pin) *self, pid_t tid, int ms)
{
	long long deadline = gs_now_ms() + ms;

	do {
		if (gs_query_result(self->fd, &self->m, tid) ==
		    (GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE))
			return true;
		usleep(10000);
	} while (gs_now_ms() < deadline);
	return false;
}

TEST_F(pin, threads_created_after_a_process_pin_join_it)
{
	struct gs_mask want = NODE_CPUS(0);
	__u32 nr_threads = 0;
	struct gpusched_pin pin;
	pid_t tids[3];
	unsigned int i;

	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, tids[0], 0, GPUSCHED_POLICY_NODE,
			 NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1, pin.nr_threads);

	/* As a training program starts its loaders after `gpusched exec`. */
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 2, &tids[1]));
	for (i = 1; i < 3; i++) {
		EXPECT_AFFINITY(&want, tids[i]);
		EXPECT_TRUE(wait_pinned(self, tids[i], ADOPT_SETTLE_MS)) TH_LOG("thread %d never joined the pin",
							      tids[i]);
	}

	/* They are the pin's now: unpin gives them their CPUs from before it. */
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, tids[0], &nr_threads));
	EXPECT_EQ(3, nr_threads);
	for (i = 0; i < 3; i++)
		EXPECT_NOT_PINNED(tids[i]);
}

TEST_F(pin, threads_created_after_a_thread_pin_stay_out_of_it)
{
	struct gs_mask want = NODE_CPUS(0);
	struct gpusched_pin pin;
	pid_t tids[2];

	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, tids[0], 0, GPUSCHED_POLICY_NODE,
			 NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 1, &tids[1]));
	/* It inherits the CPUs, as any thread does, but a thread pin is one thread. */
	EXPECT_AFFINITY(&want, tids[1]);
	EXPECT_FALSE(wait_pinned(self, tids[1], 500));
}

TEST_F(pin, unpin_of_one_thread_is_not_undone_by_a_new_thread)
{
	struct gpusched_pin pin;
	pid_t tids[4];

	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 2, &tids[1]));
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, tids[0], 0, GPUSCHED_POLICY_NODE,
			 NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, tids[1], NULL));
	EXPECT_NOT_PINNED(tids[1]);

	/* The process goes on creating threads; the one unpinned stays out. */
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 1, &tids[3]));
	EXPECT_TRUE(wait_pinned(self, tids[3], ADOPT_SETTLE_MS));
	EXPECT_FALSE(wait_pinned(self, tids[1], 500));
	EXPECT_NOT_PINNED(tids[1]);
}

/* ---- a process whose threads come and go ------------------------------------- */

#define CHURN_MS 3000

static void *churn_thread(void *arg)
{
	return arg;
}

/* A child that creates and joins a thread again and again, as data loaders do. */
static pid_t start_churner(void)
{
	pthread_t thread;
	pid_t pid;

	pid = fork();
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		if (pthread_create(&thread, NULL, churn_thread, NULL))
			_exit(1);
		pthread_join(thread, NULL);
	}
}

/*
 * Two races of a process that creates threads all the time.  A thread that
 * pthread_join() returned for is not reaped yet: PIN can count it, then
 * find it gone (ESRCH).  A thread the pin took in after UNPIN counted the
 * process's threads stayed pinned, so the next PIN found it pinned
 * (EBUSY).  Neither may fail the command.
 */
TEST_F_TIMEOUT(pin, pin_and_unpin_of_a_process_hold_while_its_threads_come_and_go, 60)
{
	unsigned int rounds = 0, esrch = 0, ebusy = 0, other = 0, failed_unpins = 0;
	long long deadline = gs_now_ms() + CHURN_MS;
	int other_err = 0, unpin_err = 0, err;
	struct gpusched_pin pin;
	pid_t churner;

	churner = start_churner();
	ASSERT_LT(0, churner);
	while (gs_now_ms() < deadline) {
		rounds++;
		pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, churner, 0,
				 GPUSCHED_POLICY_NODE, NULL);
		if (ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) {
			err = errno;
			esrch += err == ESRCH;
			ebusy += err == EBUSY;
			if (err != ESRCH && err != EBUSY) {
				other++;
				other_err = err;
			}
			continue;
		}
		err = gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, churner, NULL);
		if (err) {
			unpin_err = err;
			failed_unpins++;
		}
	}
	/* Thousands of rounds later, the process has its own CPUs back. */
	EXPECT_NOT_PINNED(churner);
	kill(churner, SIGKILL);
	ASSERT_EQ(churner, waitpid(churner, NULL, 0));
	TH_LOG("%u rounds of PIN and UNPIN of the process", rounds);
	EXPECT_EQ(0, esrch) TH_LOG("PIN failed with ESRCH");
	EXPECT_EQ(0, ebusy) TH_LOG("PIN failed with EBUSY");
	EXPECT_EQ(0, other) TH_LOG("PIN failed, last with %s", strerror(other_err));
	EXPECT_EQ(0, failed_unpins) TH_LOG("UNPIN failed, last with %s", strerror(unpin_err));
}

#define SPAWN_LIVE	128	/* tasks of the spawner alive at once, at most */
#define SPAWN_LIFE_MS	2000	/* how long each lives */
#define SPAWN_SETTLE_MS	300	/* how long UNPIN's stragglers may take to settle */
#define MAX_STRAYS	16	/* stragglers of a round followed, at most */

/* The tests of children started while PIN runs or by threads not taken in yet. */
#define GAP_IDLE	255	/* idle threads of the forking process: PIN takes a while */
#define GAP_LIVE	512	/* its child processes alive at once, at most */
#define GAP_LIFE_MS	4000	/* how long each lives */
#define GAP_SETTLE_MS	2000	/* how long the adopt work may take to settle them */

/* Shared by the test, the spawner and the spawner's children. */
struct spawn_state {
	int live;	/* the spawner's tasks alive */
	int hold;	/* the test asks the spawner to start no task */
	int starting;	/* the spawner is starting one */
	int started;	/* tasks it started */
	int life_ms;	/* how long each lives */
};

static struct spawn_state *spawn;

static void *spawned_thread(void *arg)
{
	usleep(spawn->life_ms * 1000);
	__atomic_sub_fetch(&spawn->live, 1, __ATOMIC_RELAXED);
	return arg;
}

#define IDLE_STACK	(64 * 1024)

/* Forks one child of the spawner (as a thread that ends right after, too). */
static void *fork_child(void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		_exit(1);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		spawned_thread(NULL);
		_exit(0);
	}
	return arg;
}

static void *idle_thread(void *arg)
{
	pause();
	return arg;
}

/*
 * A child that keeps creating threads (@processes: processes) that live a
 * while (@life_ms), as a pool of data loaders grows and shrinks, at most
 * @live at once; its main thread creates them (@via_thread: each process
 * through a new thread that forks it and ends), and @idle other threads
 * only make the process bigger.
 */
static pid_t start_spawner(bool processes, int life_ms, int live, int idle, bool via_thread)
{
	pthread_attr_t attr;
	pthread_t thread;
	pid_t pid;

	spawn = mmap(NULL, sizeof(*spawn), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (spawn == MAP_FAILED)
		return -1;
	memset(spawn, 0, sizeof(*spawn));
	spawn->life_ms = life_ms;
	pid = fork();
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The kernel reaps the processes. */
	signal(SIGCHLD, SIG_IGN);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/*
	 * Their stacks are one mapping, so that a fork, which copies every
	 * mapping, stays quick: several then fall within one PIN.
	 */
	if (idle) {
		char *stacks = mmap(NULL, (size_t)idle * IDLE_STACK, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		pthread_attr_t idle_attr;

		if (stacks == MAP_FAILED)
			_exit(1);
		pthread_attr_init(&idle_attr);
		pthread_attr_setdetachstate(&idle_attr, PTHREAD_CREATE_DETACHED);
		while (idle--) {
			pthread_attr_setstack(&idle_attr, stacks + (size_t)idle * IDLE_STACK,
					      IDLE_STACK);
			if (pthread_create(&thread, &idle_attr, idle_thread, NULL))
				_exit(1);
		}
	}
	for (;;) {
		if (__atomic_load_n(&spawn->live, __ATOMIC_RELAXED) >= live ||
		    __atomic_load_n(&spawn->hold, __ATOMIC_SEQ_CST)) {
			usleep(1000);
			continue;
		}
		/* Against hold_spawner(): one of the two sees the other's store. */
		__atomic_store_n(&spawn->starting, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&spawn->hold, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&spawn->starting, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		__atomic_add_fetch(&spawn->live, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&spawn->started, 1, __ATOMIC_RELAXED);
		if (!processes) {
			if (pthread_create(&thread, &attr, spawned_thread, NULL))
				_exit(1);
		} else if (via_thread) {
			if (pthread_create(&thread, NULL, fork_child, NULL) ||
			    pthread_join(thread, NULL))
				_exit(1);
		} else {
			fork_child(NULL);
		}
		/* The new task is complete: the fork tracepoint has seen it. */
		__atomic_store_n(&spawn->starting, 0, __ATOMIC_SEQ_CST);
	}
}

/*
 * Stops (@hold) the spawner from starting tasks, once the one it may be
 * starting is complete, or lets it go on.
 */
static void hold_spawner(bool hold)
{
	__atomic_store_n(&spawn->hold, hold, __ATOMIC_SEQ_CST);
	while (hold && __atomic_load_n(&spawn->starting, __ATOMIC_SEQ_CST))
		usleep(100);
}

/* Kills the spawner @pid and reaps it; returns what waitpid() did. */
static pid_t stop_spawner(pid_t pid)
{
	pid_t ret;

	kill(pid, SIGKILL);
	ret = waitpid(pid, NULL, 0);
	munmap(spawn, sizeof(*spawn));
	return ret;
}

/*
 * Whether the task @tid of process @pid is ending, or gone: a zombie, or
 * exiting (PF_EXITING, 0x4, in the flags, field 9 of its stat), which
 * UNPIN leaves on its CPUs.  Its parent's pid in *@ppid.
 */
static bool task_ending(pid_t pid, pid_t tid, int *ppid)
{
	char path[64], stat[512], *paren, state;
	unsigned int flags;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	len = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (len <= 0)
		return true;
	stat[len] = '\0';
	/* After the name in parentheses: state, ppid, pgrp, session, tty, tpgid, flags. */
	paren = strrchr(stat, ')');
	if (!paren || sscanf(paren, ") %c %d %*d %*d %*d %*d %u", &state, ppid, &flags) != 3)
		return true;
	return state == 'Z' || state == 'X' || (flags & 0x4);
}

/*
 * Tasks of the spawner @pid, its threads or (@processes) its child
 * processes, that are not ending, carry exactly @cpus and are not pinned
 * (a child process the pin took in stays pinned after UNPIN of its
 * parent); the first MAX_STRAYS of them in @strays.
 */
static int strays_on(FIXTURE_DATA(pin) *self, pid_t pid, bool processes,
		     const cpu_set_t *cpus, pid_t *strays)
{
	struct dirent *entry;
	cpu_set_t set;
	int nr = 0, ppid;
	char path[64];
	__u32 result;
	DIR *dir;

	snprintf(path, sizeof(path), processes ? "/proc" : "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((entry = readdir(dir))) {
		pid_t tid = atoi(entry->d_name);

		if (tid <= 0 || task_ending(processes ? tid : pid, tid, &ppid) ||
		    (processes && ppid != pid))
			continue;
		if (sched_getaffinity(tid, sizeof(set), &set) || !CPU_EQUAL(&set, cpus))
			continue;
		/* A QUERY that fails for another reason than the task being gone counts it. */
		result = gs_query_result(self->fd, &self->m, tid);
		if (result == ~0U ? errno == ESRCH : !!(result & GPUSCHED_QUERY_PINNED))
			continue;
		if (nr < MAX_STRAYS)
			strays[nr] = tid;
		nr++;
	}
	closedir(dir);
	return nr;
}

/*
 * The child processes of the spawner @spawner on @cpus and not pinned
 * once the adopt work had GAP_SETTLE_MS to take them in (the first
 * MAX_STRAYS in @strays): the spawner starts none meanwhile.
 */
static int unpinned_children(FIXTURE_DATA(pin) *self, pid_t spawner, const cpu_set_t *cpus,
			     pid_t *strays)
{
	long long until = gs_now_ms() + GAP_SETTLE_MS;
	int nr;

	for (;;) {
		nr = strays_on(self, spawner, true, cpus, strays);
		if (nr <= 0 || gs_now_ms() >= until)
			return nr;
		usleep(10 * 1000);
	}
}

/* What became of the tasks still on the pin's CPUs when a round's settle window ended. */
struct stragglers {
	pid_t tids[MAX_STRAYS];
	int nr;
	int stuck;		/* ended on the pin's CPUs, or still there at the end */
	pid_t stuck_tid;	/* the first of them */
	long long stuck_ms;	/* when it was last seen there, in ms after UNPIN */
	long long latest_ms;	/* when the last of the others left, in ms after UNPIN */
};

/*
 * Follows @st's tasks, of the spawner @spawner (their parent, if
 * @processes), all at once until each has left @cpus or ended, or until
 * a second after the life of a task created at UNPIN (@unpinned_at).
 */
static void follow_strays(struct stragglers *st, pid_t spawner, bool processes,
			  const cpu_set_t *cpus, long long unpinned_at)
{
	long long end = unpinned_at + SPAWN_LIFE_MS + 1000, seen[MAX_STRAYS], now;
	bool done[MAX_STRAYS] = { false };
	int i, ppid, open = st->nr;
	cpu_set_t set;
	bool gone;

	for (i = 0; i < st->nr; i++)
		seen[i] = gs_now_ms();
	while (open) {
		now = gs_now_ms();
		for (i = 0; i < st->nr; i++) {
			if (done[i])
				continue;
			gone = task_ending(processes ? st->tids[i] : spawner, st->tids[i], &ppid) ||
			       sched_getaffinity(st->tids[i], sizeof(set), &set);
			if (!gone && !CPU_EQUAL(&set, cpus)) {
				if (now - unpinned_at > st->latest_ms)
					st->latest_ms = now - unpinned_at;
			} else if (gone || now >= end) {
				/* On them at the last look, 10 ms ago, or still now. */
				if (!st->stuck++) {
					st->stuck_tid = st->tids[i];
					st->stuck_ms = (gone ? seen[i] : now) - unpinned_at;
				}
			} else {
				seen[i] = now;
				continue;
			}
			done[i] = true;
			open--;
		}
		if (open)
			usleep(10 * 1000);
	}
}

/*
 * PIN and UNPIN of a spawner of threads or processes, for CHURN_MS; after
 * each UNPIN, every task it created must leave the pin's CPUs.  The tasks
 * still on them SPAWN_SETTLE_MS after UNPIN are followed: one that leaves
 * later is only reported (the adopt work can be slow in an emulated guest,
 * whose clock also jumps ahead when the host is busy); one that ends on
 * them, or stays, fails the test.
 */
static void churn_spawner(struct __test_metadata *_metadata, FIXTURE_DATA(pin) *self,
			  bool processes)
{
	unsigned int rounds = 0, stray_rounds = 0, late_rounds = 0, failed = 0;
	long long deadline = gs_now_ms() + CHURN_MS, unpinned_at, latest = 0;
	cpu_set_t original, pinned;
	struct gpusched_pin pin;
	struct stragglers st;
	int strays = 0, err = 0;
	pid_t spawner;

	spawner = start_spawner(processes, SPAWN_LIFE_MS, SPAWN_LIVE, 0, false);
	ASSERT_LT(0, spawner);
	ASSERT_EQ(0, sched_getaffinity(spawner, sizeof(original), &original));
	while (gs_now_ms() < deadline) {
		rounds++;
		pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, spawner, 0,
				 GPUSCHED_POLICY_NODE, NULL);
		if (ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) {
			err = errno;
			failed++;
			continue;
		}
		ASSERT_EQ(0, sched_getaffinity(spawner, sizeof(pinned), &pinned));
		if (CPU_EQUAL(&pinned, &original))
			SKIP(break, "GPU 0's node holds every CPU: nothing tells the pin's apart");
		err = gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, spawner, NULL);
		if (err) {
			failed++;
			continue;
		}
		unpinned_at = gs_now_ms();
		memset(&st, 0, sizeof(st));
		for (;;) {
			strays = strays_on(self, spawner, processes, &pinned, st.tids);
			if (strays <= 0 || gs_now_ms() >= unpinned_at + SPAWN_SETTLE_MS)
				break;
			usleep(10 * 1000);
		}
		if (strays <= 0)
			continue;
		st.nr = strays < MAX_STRAYS ? strays : MAX_STRAYS;
		follow_strays(&st, spawner, processes, &pinned, unpinned_at);
		if (st.latest_ms > latest)
			latest = st.latest_ms;
		if (!st.stuck)
			late_rounds++;
		else if (++stray_rounds <= 5)
			TH_LOG("round %u: %d of %d tasks followed never left the pin's CPUs; task %d was last seen there %lld ms after UNPIN",
			       rounds, st.stuck, st.nr, st.stuck_tid, st.stuck_ms);
	}
	ASSERT_EQ(spawner, stop_spawner(spawner));
	TH_LOG("%u rounds of PIN and UNPIN of a process creating %s", rounds,
	       processes ? "processes" : "threads");
	if (late_rounds)
		TH_LOG("%u rounds left tasks on the pin's CPUs past %d ms; the slowest left %lld ms after UNPIN",
		       late_rounds, SPAWN_SETTLE_MS, latest);
	EXPECT_EQ(0, stray_rounds) TH_LOG("rounds that left tasks on the pin's CPUs, unpinned");
	EXPECT_EQ(0, failed) TH_LOG("PIN or UNPIN failed, last with %s", strerror(err));
}

/*
 * A task that a pinned thread creates while UNPIN runs is born with the
 * pin's CPUs; the pin takes it in only once the adopt work has seen its
 * birth, and by then UNPIN may have freed the creator's record.  It kept
 * the pin's CPUs, tracked by nothing, and the next PIN of the process even
 * took those for its CPUs from before.
 */
TEST_F_TIMEOUT(pin, threads_created_while_unpin_runs_get_the_cpus_back, 60)
{
	churn_spawner(_metadata, self, false);
}

TEST_F_TIMEOUT(pin, processes_started_while_unpin_runs_get_the_cpus_back, 60)
{
	churn_spawner(_metadata, self, true);
}

/*
 * PIN moves a process's threads one after the other.  A process that a
 * moved thread forks meanwhile carries the pin's CPUs, and only the adopt
 * work can take it in: the fork tracepoint must have queued it, which it
 * did not when PIN made the records findable after moving the threads.
 * Such a child stayed on the pin's CPUs, tracked by nothing, and kept
 * them after UNPIN.  Here the main thread of a process of 256 threads
 * forks all the time, and is the first that PIN moves; after each PIN,
 * with forks held, every child on the pin's CPUs must be pinned once the
 * adopt work had time.
 */
TEST_F_TIMEOUT(pin, processes_started_while_pin_runs_join_the_pin, 60)
{
	unsigned int rounds = 0, stray_rounds = 0, failed = 0, during = 0;
	long long deadline = gs_now_ms() + CHURN_MS;
	int nr = 0, err = 0, ret, before;
	cpu_set_t original, pinned;
	pid_t spawner, strays[MAX_STRAYS];
	struct gpusched_pin pin;

	spawner = start_spawner(true, GAP_LIFE_MS, GAP_LIVE, GAP_IDLE, false);
	ASSERT_LT(0, spawner);
	/* Its idle threads exist once it has started a process. */
	while (!__atomic_load_n(&spawn->started, __ATOMIC_RELAXED))
		usleep(1000);
	ASSERT_EQ(0, sched_getaffinity(spawner, sizeof(original), &original));
	while (gs_now_ms() < deadline) {
		rounds++;
		/* It forks again, with the CPUs it had, while PIN begins. */
		hold_spawner(false);
		usleep(2000);
		before = __atomic_load_n(&spawn->started, __ATOMIC_RELAXED);
		pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, spawner, 0,
				 GPUSCHED_POLICY_NODE, NULL);
		ret = ioctl(self->fd, GPUSCHED_IOC_PIN, &pin);
		if (ret)
			err = errno;
		during += __atomic_load_n(&spawn->started, __ATOMIC_RELAXED) - before;
		hold_spawner(true);
		if (ret) {
			failed++;
			continue;
		}
		ASSERT_EQ(0, sched_getaffinity(spawner, sizeof(pinned), &pinned));
		if (CPU_EQUAL(&pinned, &original))
			SKIP(break, "GPU 0's node holds every CPU: nothing tells the pin's apart");
		nr = unpinned_children(self, spawner, &pinned, strays);
		if (nr > 0 && ++stray_rounds <= 5)
			TH_LOG("round %u: %d child processes on the pin's CPUs still not pinned %d ms after PIN, process %d among them",
			       rounds, nr, GAP_SETTLE_MS, strays[0]);
		ret = gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, spawner, NULL);
		if (ret) {
			err = ret;
			failed++;
		}
	}
	ASSERT_EQ(spawner, stop_spawner(spawner));
	TH_LOG("%u rounds of PIN of a process of %d threads forking; %u processes started while PIN ran",
	       rounds, GAP_IDLE + 1, during);
	EXPECT_EQ(0, stray_rounds) TH_LOG("rounds that left child processes on the pin's CPUs, unpinned");
	EXPECT_EQ(0, failed) TH_LOG("PIN or UNPIN failed, last with %s", strerror(err));
}

#define VIA_THREAD_FORKS	32	/* processes forked through new threads, per round */

/*
 * A thread of a pinned process forks before the module has taken it in
 * (the adopt work has not run yet), and ends.  The fork tracepoint did not
 * queue the child when its creator had no record, and then the adopt work
 * dropped it for a creator it could not find: it stayed on the pin's CPUs,
 * tracked by nothing.  Now the child is queued because the process's main
 * thread is pinned, and settled through that thread's pin.
 */
TEST_F_TIMEOUT(pin, processes_started_by_threads_not_taken_in_yet_join_the_pin, 60)
{
	unsigned int rounds = 0, stray_rounds = 0, forked = 0;
	long long deadline = gs_now_ms() + CHURN_MS, until;
	cpu_set_t original, pinned;
	pid_t spawner, strays[MAX_STRAYS];
	struct gpusched_pin pin;
	int nr = 0, before;

	spawner = start_spawner(true, GAP_LIFE_MS, GAP_LIVE, 0, true);
	ASSERT_LT(0, spawner);
	ASSERT_EQ(0, sched_getaffinity(spawner, sizeof(original), &original));
	while (gs_now_ms() < deadline) {
		rounds++;
		hold_spawner(true);
		pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, spawner, 0,
				 GPUSCHED_POLICY_NODE, NULL);
		ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, sched_getaffinity(spawner, sizeof(pinned), &pinned));
		if (CPU_EQUAL(&pinned, &original))
			SKIP(break, "GPU 0's node holds every CPU: nothing tells the pin's apart");
		before = __atomic_load_n(&spawn->started, __ATOMIC_RELAXED);
		hold_spawner(false);
		until = gs_now_ms() + GAP_SETTLE_MS;
		while (__atomic_load_n(&spawn->started, __ATOMIC_RELAXED) - before < VIA_THREAD_FORKS &&
		       gs_now_ms() < until)
			usleep(1000);
		hold_spawner(true);
		forked += __atomic_load_n(&spawn->started, __ATOMIC_RELAXED) - before;
		nr = unpinned_children(self, spawner, &pinned, strays);
		if (nr > 0 && ++stray_rounds <= 5)
			TH_LOG("round %u: %d child processes on the pin's CPUs still not pinned %d ms after they were started, process %d among them",
			       rounds, nr, GAP_SETTLE_MS, strays[0]);
		ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, spawner, NULL));
	}
	ASSERT_EQ(spawner, stop_spawner(spawner));
	TH_LOG("%u rounds; %u processes forked by threads that ended right after", rounds, forked);
	EXPECT_EQ(0, stray_rounds) TH_LOG("rounds that left child processes on the pin's CPUs, unpinned");
}

/*
 * A single-threaded child that starts a process (a "loader" that only
 * sleeps) each time it reads 'f', reporting its pid, and exits on 'x'.
 */
struct starter {
	pid_t pid;
	int commands;	/* write end */
	int replies;	/* read end */
};

static int starter_run(struct starter *st)
{
	int commands[2], replies[2];
	pid_t loader;
	char cmd;

	if (pipe(commands) || pipe(replies))
		return -1;
	st->pid = fork();
	if (st->pid < 0)
		return -1;
	if (!st->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(commands[1]);
		close(replies[0]);
		while (gs_full_io(commands[0], &cmd, 1, false) && cmd == 'f') {
			loader = fork();
			if (!loader) {
				for (;;)
					pause();
			}
			gs_full_io(replies[1], &loader, sizeof(loader), true);
		}
		_exit(0);
	}
	close(commands[0]);
	close(replies[1]);
	st->commands = commands[1];
	st->replies = replies[0];
	return 0;
}

/* The starter starts a loader; its pid, or -1. */
static pid_t starter_start_loader(struct starter *st)
{
	pid_t loader;

	if (!gs_full_io(st->commands, "f", 1, true) ||
	    !gs_full_io(st->replies, &loader, sizeof(loader), false))
		return -1;
	return loader;
}

static void starter_stop(struct starter *st)
{
	gs_full_io(st->commands, "x", 1, true);
	waitpid(st->pid, NULL, 0);
	close(st->commands);
	close(st->replies);
}

/* Waits up to @ms for @tid's affinity to become @want. */
static bool wait_affinity(const struct gs_mask *want, pid_t tid, int ms)
{
	long long deadline = gs_now_ms() + ms;
	struct gs_mask now;

	do {
		if (!gs_affinity(tid, &now) && gs_mask_equal(want, &now))
			return true;
		gs_sleep_ms(20);
	} while (gs_now_ms() < deadline);
	return false;
}

/*
 * Starts a starter, pins it exclusively for GPU 0 as @target_type (its
 * CPUs in @cpus), then has it start a loader; the loader's pid, or -1.
 */
static pid_t pinned_starter_loader(FIXTURE_DATA(pin) *self, struct starter *st,
				   __u32 target_type, struct gs_mask *cpus)
{
	struct gpusched_pin pin;

	if (starter_run(st))
		return -1;
	pin = gs_pin_arg(&self->m, target_type, st->pid, 0, GPUSCHED_POLICY_EXCLUSIVE, cpus);
	if (ioctl(self->fd, GPUSCHED_IOC_PIN, &pin))
		return -1;
	return starter_start_loader(st);
}

TEST_F(pin, a_process_that_a_pinned_process_starts_joins_the_pin_and_keeps_its_cores)
{
	struct gs_mask cpus, held;
	struct starter st;
	pid_t loader;

	loader = pinned_starter_loader(self, &st, GPUSCHED_TARGET_PROCESS, &cpus);
	ASSERT_LT(0, loader) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(wait_pinned(self, loader, ADOPT_SETTLE_MS))
		TH_LOG("the loader never joined its parent's pin");
	EXPECT_AFFINITY(&cpus, loader);

	/* The parent ends; the loader still runs on the cores, so they stay held. */
	starter_stop(&st);
	gs_sleep_ms(300);
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&cpus, &held);
	EXPECT_NE(0, gs_query_result(self->fd, &self->m, loader) & GPUSCHED_QUERY_PINNED);

	kill(loader, SIGKILL);
	waitpid(loader, NULL, 0);
	EXPECT_TRUE(reserved_cpus_drain(0));
}

TEST_F(pin, a_process_that_a_pinned_thread_starts_gets_the_cpus_from_before_the_pin)
{
	struct gs_mask cpus;
	struct starter st;
	pid_t loader;

	loader = pinned_starter_loader(self, &st, GPUSCHED_TARGET_THREAD, &cpus);
	ASSERT_LT(0, loader) TH_LOG("%s", strerror(errno));
	/* A thread pin is one thread: the loader does not sit on its cores. */
	EXPECT_TRUE(wait_affinity(&self->before, loader, ADOPT_SETTLE_MS))
		TH_LOG("the loader kept the exclusive cores of its parent's thread pin");
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, loader));
	EXPECT_AFFINITY(&cpus, st.pid);
	kill(loader, SIGKILL);
	waitpid(loader, NULL, 0);
	starter_stop(&st);
}

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

TEST_F(pin, pin_by_pidfd_pins_every_thread_of_the_process)
{
	struct gs_mask want = NODE_CPUS(0);
	__u32 nr_threads = 0;
	struct gpusched_pin pin;
	pid_t tids[3];
	unsigned int i;
	int pidfd;

	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], 2, &tids[1]));
	pidfd = pidfd_open(tids[0]);
	ASSERT_LE(0, pidfd) TH_LOG("pidfd_open: %s", strerror(errno));

	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PIDFD, pidfd, 0, GPUSCHED_POLICY_NODE, NULL);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(3, pin.nr_threads);
	for (i = 0; i < 3; i++)
		EXPECT_AFFINITY(&want, tids[i]);

	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_PIDFD, pidfd, &nr_threads));
	EXPECT_EQ(3, nr_threads);
	for (i = 0; i < 3; i++)
		EXPECT_NOT_PINNED(tids[i]);
	close(pidfd);
}

/* A pidfd of a child that has exited and been reaped, or -1. */
static int reaped_pidfd(void)
{
	pid_t child;
	int pidfd;

	child = fork();
	if (child < 0)
		return -1;
	if (!child)
		_exit(0);
	pidfd = pidfd_open(child);
	if (waitpid(child, NULL, 0) != child && pidfd >= 0) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

TEST_F(pin, pin_by_pidfd_of_a_reaped_process_gives_esrch)
{
	struct gpusched_pin pin;
	int pidfd;

	pidfd = reaped_pidfd();
	ASSERT_LE(0, pidfd) TH_LOG("pidfd_open: %s", strerror(errno));

	/* Whoever gets the id next, the pidfd still names the dead process. */
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PIDFD, pidfd, 0, GPUSCHED_POLICY_NODE, NULL);
	EXPECT_ERRNO(ESRCH, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	EXPECT_EQ(ESRCH, gs_unpin(self->fd, GPUSCHED_TARGET_PIDFD, pidfd, NULL));
	close(pidfd);
}

/*
 * Objects of the struct pid slab in use ("N N0=..." in SLUB's sysfs; the
 * guests boot with slab_nomerge so the cache has its own), or -1.
 */
static long pid_slab_objects(void)
{
	char text[256];
	long objects;

	if (gs_read_text("/sys/kernel/slab/pid/objects", text, sizeof(text)) ||
	    sscanf(text, "%ld", &objects) != 1)
		return -1;
	return objects;
}

static void *thread_reporting_its_tid(void *arg)
{
	int *pipe_fds = arg;
	pid_t tid = gs_gettid();
	char go;

	gs_full_io(pipe_fds[1], &tid, sizeof(tid), true);
	gs_full_io(pipe_fds[2], &go, 1, false);
	return NULL;
}

/*
 * PIN and UNPIN calls that find a struct pid and then no task (a PROCESS
 * id naming a thread that is not the leader, a pidfd of a reaped process)
 * must not keep the struct pid: any user could grow the slab without
 * bound.  Each round uses a new thread and a new child, so a kept
 * reference shows as a struct pid that outlives its task.
 */
TEST_F(pin, failed_target_lookups_leave_no_pid_reference)
{
	const unsigned int rounds = 1000;
	long long deadline;
	int fds[4], pipe_fds[3];
	struct gpusched_pin pin;
	long before, after;
	pthread_t thread;
	unsigned int i;
	pid_t tid;
	int pidfd;

	if (pid_slab_objects() < 0)
		SKIP(return, "no /sys/kernel/slab/pid/objects to count struct pid with");
	ASSERT_EQ(0, pipe(&fds[0]));
	ASSERT_EQ(0, pipe(&fds[2]));
	/* The thread writes its id to fds[1] and waits on fds[2] to end. */
	pipe_fds[1] = fds[1];
	pipe_fds[2] = fds[2];

	before = pid_slab_objects();
	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(0, pthread_create(&thread, NULL, thread_reporting_its_tid, pipe_fds));
		ASSERT_TRUE(gs_full_io(fds[0], &tid, sizeof(tid), false));
		pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, tid, 0, GPUSCHED_POLICY_NODE,
				 NULL);
		ASSERT_EQ(-1, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
		ASSERT_EQ(ESRCH, errno);
		ASSERT_EQ(ESRCH, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, tid, NULL));
		ASSERT_TRUE(gs_full_io(fds[3], "x", 1, true));
		ASSERT_EQ(0, pthread_join(thread, NULL));

		pidfd = reaped_pidfd();
		ASSERT_LE(0, pidfd) TH_LOG("pidfd_open: %s", strerror(errno));
		pin.target_type = GPUSCHED_TARGET_PIDFD;
		pin.target_id = pidfd;
		ASSERT_EQ(-1, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
		ASSERT_EQ(ESRCH, errno);
		ASSERT_EQ(ESRCH, gs_unpin(self->fd, GPUSCHED_TARGET_PIDFD, pidfd, NULL));
		close(pidfd);
	}
	/*
	 * A leak keeps two struct pid a round.  Freed ones go after an RCU
	 * grace period (slow under KASAN and lockdep), so let them settle.
	 */
	deadline = gs_now_ms() + 5000;
	do {
		after = pid_slab_objects();
		if (after - before < (long)rounds / 2)
			break;
		gs_sleep_ms(100);
	} while (gs_now_ms() < deadline);
	EXPECT_GT(rounds / 2, after - before)
		TH_LOG("%u rounds of failed lookups: struct pid objects %ld -> %ld", rounds,
		       before, after);
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

TEST_F(pin, pin_by_a_descriptor_that_is_not_a_pidfd_gives_ebadf)
{
	struct gpusched_pin pin;
	int fd;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PIDFD, fd, 0, GPUSCHED_POLICY_NODE, NULL);
	EXPECT_ERRNO(EBADF, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	/* The device itself, and a descriptor that is not open. */
	pin.target_id = self->fd;
	EXPECT_ERRNO(EBADF, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	close(fd);
	pin.target_id = fd;
	EXPECT_ERRNO(EBADF, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, 0));
}

TEST_F(pin, pins_survive_a_topology_replacement)
{
	struct gs_mask cpus;
	struct gs_topo reversed;
	struct gpusched_query q;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	gs_topo_reversed(&reversed, &self->m);
	ASSERT_EQ(0, gs_set_topology(self->fd, &reversed));

	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, NULL, NULL));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, q.result);
	EXPECT_AFFINITY(&cpus, 0);
	EXPECT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	EXPECT_NOT_PINNED(0);
}

TEST_F(pin, exclusive_pins_carry_over_a_topology_with_the_same_gpus)
{
	struct gs_mask cpus, held;
	struct gs_topo reversed;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &cpus));
	/* What gpuschedd does after CPU hotplug: the same GPUs sent again. */
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->full));
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&cpus, &held);
	/* Other GPUs, or another order: the old index means nothing now. */
	gs_topo_reversed(&reversed, &self->m);
	ASSERT_EQ(0, gs_set_topology(self->fd, &reversed));
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	if (self->m.nr_gpus > 1)
		EXPECT_TRUE(gs_mask_empty(&held));
	EXPECT_AFFINITY(&cpus, 0);
}

/* ---- EXCLUSIVE ----------------------------------------------------------- */

TEST_F(pin, pin_exclusive_gets_whole_cores_near_the_gpu)
{
	struct gs_mask cpus;
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_EXCLUSIVE, &cpus);

	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(GPUSCHED_POLICY_EXCLUSIVE, pin.policy);
	EXPECT_FALSE(gs_mask_empty(&cpus));
	EXPECT_TRUE(gs_mask_subset(&cpus, &self->m.gpus[0].local_cpus));
	EXPECT_TRUE(gs_whole_cores(&self->m, &cpus));
	EXPECT_AFFINITY(&cpus, 0);
}

TEST_F(pin, pin_exclusive_keeps_smt_siblings_together)
{
	struct gs_mask cpus, core;
	unsigned int cpu;

	if (!self->m.smt)
		SKIP(return, "no SMT in this machine");
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &cpus));
	ASSERT_FALSE(gs_mask_empty(&cpus));
	for (cpu = 0; cpu < self->m.nr_cpu_ids; cpu++) {
		if (!gs_mask_test(&cpus, cpu))
			continue;
		core = gs_core_of(&self->m, cpu);
		EXPECT_LE(2, gs_mask_weight(&core));
		EXPECT_TRUE(gs_mask_subset(&core, &cpus)) TH_LOG("CPU %u without its siblings", cpu);
	}
}

TEST_F(pin, pin_exclusive_takes_the_gpus_share_of_its_node)
{
	struct gs_mask node = gs_mask_and(&self->m.gpus[0].local_cpus, &self->m.online);
	unsigned int cores = gs_cores_in(&self->m, &node);
	unsigned int gpus = gs_gpus_on_node_of(&self->m, 0);
	struct gs_mask cpus;

	if (cores % gpus)
		SKIP(return, "%u cores do not split evenly over %u GPUs", cores, gpus);
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &cpus));
	EXPECT_EQ(cores / gpus, gs_cores_in(&self->m, &cpus));
}

TEST_F(pin, pin_exclusive_with_cores_gets_that_many_cores)
{
	struct gs_mask cpus;
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_EXCLUSIVE, &cpus);

	pin.cores = 1;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1, gs_cores_in(&self->m, &cpus));
	EXPECT_TRUE(gs_whole_cores(&self->m, &cpus));
}

TEST_F(pin, pin_exclusive_two_files_get_disjoint_cores)
{
	int other = gs_gpu_sharing_node_with(&self->m, 0);
	struct gs_mask mine, theirs, held;

	if (other < 0)
		SKIP(return, "no second GPU on the node of GPU 0");
	ASSERT_EQ(0, start_agent(self, 0, true));
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &mine));
	ASSERT_EQ(0, gs_agent_pin_self(&self->agent[0], &self->m, other,
				       GPUSCHED_POLICY_EXCLUSIVE, 0, &theirs));

	EXPECT_FALSE(gs_mask_empty(&mine));
	EXPECT_FALSE(gs_mask_empty(&theirs));
	EXPECT_FALSE(gs_mask_intersects(&mine, &theirs));
	EXPECT_TRUE(gs_mask_subset(&theirs, &self->m.gpus[other].local_cpus));
	EXPECT_TRUE(gs_whole_cores(&self->m, &mine));
	EXPECT_TRUE(gs_whole_cores(&self->m, &theirs));

	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&mine, &held);
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(other, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&theirs, &held);
}

TEST_F(pin, pin_exclusive_on_a_used_up_gpu_share_gets_enospc)
{
	struct gs_mask mine, held;

	ASSERT_EQ(0, start_agent(self, 0, true));
	/* With cores 0 the first worker takes all that is left of the GPU's share. */
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &mine));
	EXPECT_EQ(ENOSPC, gs_agent_pin_self(&self->agent[0], &self->m, 0,
					    GPUSCHED_POLICY_EXCLUSIVE, 0, NULL));
	EXPECT_NOT_PINNED(self->agent[0].pid);
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&mine, &held);
}

TEST_F(pin, pin_exclusive_with_spill_goes_beyond_a_used_up_share)
{
	struct gs_mask mine, theirs;

	ASSERT_EQ(0, start_agent(self, 0, true));
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &mine));
	ASSERT_EQ(0, gs_agent_pin_self(&self->agent[0], &self->m, 0, GPUSCHED_POLICY_EXCLUSIVE,
				       GPUSCHED_PIN_SPILL, &theirs));
	EXPECT_FALSE(gs_mask_empty(&theirs));
	EXPECT_FALSE(gs_mask_intersects(&mine, &theirs));
	EXPECT_TRUE(gs_whole_cores(&self->m, &theirs));
}

TEST_F(pin, pin_exclusive_more_cores_than_the_node_has_gets_enospc)
{
	struct gs_mask node = gs_mask_and(&self->m.gpus[0].local_cpus, &self->m.online);
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_EXCLUSIVE, NULL);
	struct gs_mask held;

	pin.cores = gs_cores_in(&self->m, &node) + 1;
	EXPECT_ERRNO(ENOSPC, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	EXPECT_NOT_PINNED(0);
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_TRUE(gs_mask_empty(&held));
}

/* ---- the end of a file, of a holder, of a pinned task -------------------- */

TEST_F(pin, close_restores_the_affinity_of_the_files_pins)
{
	struct gs_mask want = NODE_CPUS(0);
	int fd2 = gs_open_device();
	pid_t child;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, start_agent(self, 0, false));
	child = self->agent[0].pid;
	ASSERT_EQ(0, gs_pin_thread(fd2, &self->m, child, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_AFFINITY(&want, child);

	close(fd2);
	EXPECT_NOT_PINNED(child);
}

TEST_F(pin, close_releases_exclusive_cores_to_another_file)
{
	struct gs_mask mine, theirs;
	int fd2;

	ASSERT_EQ(0, start_agent(self, 0, true));
	fd2 = gs_open_device();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, gs_pin_thread(fd2, &self->m, 0, 0, GPUSCHED_POLICY_EXCLUSIVE, &mine));
	close(fd2);
	EXPECT_NOT_PINNED(0);
	EXPECT_TRUE(reserved_cpus_drain(0));

	ASSERT_EQ(0, gs_agent_pin_self(&self->agent[0], &self->m, 0, GPUSCHED_POLICY_EXCLUSIVE,
				       0, &theirs));
	EXPECT_MASK_EQ(&mine, &theirs);
}

TEST_F(pin, sigkill_of_the_holder_releases_its_cores)
{
	struct gs_mask theirs, mine, held;

	ASSERT_EQ(0, start_agent(self, 0, true));
	ASSERT_EQ(0, gs_agent_pin_self(&self->agent[0], &self->m, 0, GPUSCHED_POLICY_EXCLUSIVE,
				       0, &theirs));
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&theirs, &held);

	gs_agent_kill(&self->agent[0]);
	EXPECT_TRUE(reserved_cpus_drain(0));
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &mine));
	EXPECT_MASK_EQ(&theirs, &mine);
}

TEST_F(pin, sysfs_counts_pinned_tasks)
{
	long tasks = gs_sysfs_long("nr_pinned_tasks");
	long gpu_tasks = gs_sysfs_gpu_long(0, "nr_tasks");

	ASSERT_LE(0, tasks);
	ASSERT_LE(0, gpu_tasks);
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_EQ(tasks + 1, gs_sysfs_long("nr_pinned_tasks"));
	EXPECT_EQ(gpu_tasks + 1, gs_sysfs_gpu_long(0, "nr_tasks"));
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	EXPECT_EQ(tasks, gs_sysfs_long("nr_pinned_tasks"));
	EXPECT_EQ(gpu_tasks, gs_sysfs_gpu_long(0, "nr_tasks"));
}

TEST_F(pin, exited_task_record_is_reclaimed)
{
	long tasks = gs_sysfs_long("nr_pinned_tasks");
	long gpu_tasks = gs_sysfs_gpu_long(0, "nr_tasks");
	long long deadline;
	pid_t child;

	ASSERT_LE(0, tasks);
	ASSERT_EQ(0, start_agent(self, 0, false));
	child = self->agent[0].pid;
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, child, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_EQ(tasks + 1, gs_sysfs_long("nr_pinned_tasks"));

	/* The task exits with its pin in place; the file stays open. */
	EXPECT_EQ(0, gs_agent_stop(&self->agent[0]));
	deadline = gs_now_ms() + 2000;
	do {
		/* Reclaim may wait for the module's next look at its records. */
		gs_query_result(self->fd, &self->m, 0);
		if (gs_sysfs_long("nr_pinned_tasks") == tasks)
			break;
		gs_sleep_ms(20);
	} while (gs_now_ms() < deadline);
	EXPECT_EQ(tasks, gs_sysfs_long("nr_pinned_tasks"));
	EXPECT_EQ(gpu_tasks, gs_sysfs_gpu_long(0, "nr_tasks"));
	EXPECT_EQ(ESRCH, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, child, NULL));
}

TEST_F(pin, exited_task_releases_its_exclusive_cores)
{
	struct gs_mask theirs, mine, held;
	pid_t child;

	ASSERT_EQ(0, start_agent(self, 0, false));
	child = self->agent[0].pid;
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, child, 0, GPUSCHED_POLICY_EXCLUSIVE,
				   &theirs));

	/* This file stays open; the pinned thread alone goes away. */
	EXPECT_EQ(0, gs_agent_stop(&self->agent[0]));
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &mine));
	EXPECT_MASK_EQ(&theirs, &mine);
	ASSERT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &held));
	EXPECT_MASK_EQ(&mine, &held);
}

/* ---- housekeeping CPUs and cpusets -------------------------------------- */

/* Sets the fixture's topology again with CPU @cpu kept for housekeeping. */
static int set_housekeeping(FIXTURE_DATA(pin) *self, unsigned int cpu, struct gs_mask *hk)
{
	struct gs_topo t;

	gs_topo_copy(&t, &self->full);
	gs_mask_zero(&t.housekeeping);
	gs_mask_set(&t.housekeeping, cpu);
	*hk = t.housekeeping;
	return gs_set_topology(self->fd, &t);
}

TEST_F(pin, housekeeping_cpus_are_never_given_to_node_pins)
{
	struct gs_mask hk, want, cpus;

	if (gs_mask_weight(&self->m.gpus[0].local_cpus) < 2)
		SKIP(return, "GPU 0 has fewer than two local CPUs");
	ASSERT_EQ(0, set_housekeeping(self, gs_mask_first(&self->m.gpus[0].local_cpus), &hk));
	want = gs_expected_node_cpus(&self->m, 0, &self->before, &hk);

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	EXPECT_MASK_EQ(&want, &cpus);
	EXPECT_AFFINITY(&want, 0);
}

TEST_F(pin, housekeeping_cpus_are_never_given_to_exclusive_pins)
{
	struct gs_mask hk, cpus;

	if (gs_cores_in(&self->m, &self->m.gpus[0].local_cpus) < 2)
		SKIP(return, "GPU 0 has fewer than two local cores");
	ASSERT_EQ(0, set_housekeeping(self, gs_mask_first(&self->m.gpus[0].local_cpus), &hk));

	/* GPU 0 is the first GPU of its node, so the one core left is its share. */
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &cpus));
	EXPECT_FALSE(gs_mask_empty(&cpus));
	EXPECT_FALSE(gs_mask_intersects(&cpus, &hk));
	/* Whole cores only: not even the housekeeping CPU's sibling. */
	EXPECT_TRUE(gs_whole_cores(&self->m, &cpus));
}

/* Starts agent 0 inside a new cpuset of @cpus; 0, or a reason to skip in @why. */
static int agent_in_cpuset(FIXTURE_DATA(pin) *self, const struct gs_mask *cpus,
			   const char **why)
{
	int ret;

	snprintf(self->cgroup, sizeof(self->cgroup), GS_CGROUP_ROOT "/gpusched-pin-test-%d",
		 getpid());
	ret = gs_cpuset_create(self->cgroup, cpus);
	if (ret) {
		*why = "cannot create a cgroup v2 cpuset (no cpuset controller?)";
		return ret;
	}
	ret = start_agent(self, 0, false);
	if (!ret)
		ret = gs_cgroup_move(self->cgroup, self->agent[0].pid);
	if (ret)
		*why = "cannot move a process into the cpuset";
	return ret;
}

TEST_F(pin, pin_in_a_cpuset_gets_only_the_cpuset_cpus)
{
	struct gs_mask allowed = self->m.online, want, cpus;
	const char *why = "";
	struct gpusched_pin pin;

	if (gs_mask_weight(&self->m.gpus[0].local_cpus) < 2)
		SKIP(return, "GPU 0 has fewer than two local CPUs");
	gs_mask_clear(&allowed, gs_mask_first(&self->m.gpus[0].local_cpus));
	if (agent_in_cpuset(self, &allowed, &why))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, gs_affinity(self->agent[0].pid, &cpus));
	ASSERT_TRUE(gs_mask_equal(&allowed, &cpus)) TH_LOG("the cpuset did not apply");
	want = gs_expected_node_cpus(&self->m, 0, &allowed, NULL);

	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, self->agent[0].pid, 0,
			 GPUSCHED_POLICY_NODE, &cpus);
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("%s", strerror(errno));
	EXPECT_MASK_EQ(&want, &cpus);
	EXPECT_AFFINITY(&want, self->agent[0].pid);
}

TEST_F(pin, pin_in_a_cpuset_without_local_cpus_gets_enospc)
{
	struct gs_mask allowed = gs_mask_andnot(&self->m.online, &self->m.gpus[0].local_cpus);
	struct gs_mask cpus;
	const char *why = "";
	pid_t child;

	if (gs_mask_empty(&allowed))
		SKIP(return, "every CPU is local to GPU 0");
	if (agent_in_cpuset(self, &allowed, &why))
		SKIP(return, "%s", why);
	child = self->agent[0].pid;
	ASSERT_EQ(0, gs_affinity(child, &cpus));
	ASSERT_TRUE(gs_mask_equal(&allowed, &cpus)) TH_LOG("the cpuset did not apply");

	EXPECT_EQ(ENOSPC, gs_pin_thread(self->fd, &self->m, child, 0, GPUSCHED_POLICY_NODE,
					NULL));
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, child));
	EXPECT_AFFINITY(&allowed, child);
}

/* ---- permissions --------------------------------------------------------- */

TEST_F(pin, pin_own_task_needs_no_privilege)
{
	struct gs_mask want = NODE_CPUS(0), cpus;

	ASSERT_EQ(0, gs_agent_start(&self->agent[0]));
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[0], GS_NOBODY));
	ASSERT_EQ(0, gs_agent_open(&self->agent[0]));
	ASSERT_EQ(0, gs_agent_pin_self(&self->agent[0], &self->m, 0, GPUSCHED_POLICY_NODE, 0,
				       &cpus));
	EXPECT_MASK_EQ(&want, &cpus);
	EXPECT_AFFINITY(&want, self->agent[0].pid);
}

TEST_F(pin, pin_another_users_task_unprivileged_gives_eperm)
{
	struct gpusched_pin pin;

	ASSERT_EQ(0, gs_agent_start(&self->agent[0]));
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[0], GS_NOBODY));
	ASSERT_EQ(0, gs_agent_open(&self->agent[0]));
	/* The target is this (root) test process. */
	pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, gs_gettid(), 0, GPUSCHED_POLICY_NODE,
			 NULL);
	EXPECT_EQ(EPERM, gs_agent_pin(&self->agent[0], &pin, NULL));
	pin.target_type = GPUSCHED_TARGET_PROCESS;
	pin.target_id = getpid();
	EXPECT_EQ(EPERM, gs_agent_pin(&self->agent[0], &pin, NULL));
	EXPECT_NOT_PINNED(0);
}

TEST_F(pin, pin_another_users_task_with_cap_sys_nice_succeeds)
{
	struct gs_mask want = NODE_CPUS(0);

	ASSERT_EQ(0, gs_agent_start(&self->agent[0]));
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[0], GS_NOBODY));
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, self->agent[0].pid, 0,
				   GPUSCHED_POLICY_NODE, NULL));
	EXPECT_AFFINITY(&want, self->agent[0].pid);
}

TEST_F(pin, unpin_by_an_unprivileged_other_user_gives_eperm)
{
	struct gs_mask cpus;

	ASSERT_EQ(0, gs_agent_start(&self->agent[0]));
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[0], GS_NOBODY));
	ASSERT_EQ(0, gs_agent_open(&self->agent[0]));
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	EXPECT_EQ(EPERM, gs_agent_unpin(&self->agent[0], GPUSCHED_TARGET_THREAD, gs_gettid()));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE,
		  gs_query_result(self->fd, &self->m, 0));
	EXPECT_AFFINITY(&cpus, 0);
}

TEST_F(pin, unpin_by_the_targets_owner_through_another_file_is_allowed)
{
	pid_t child;

	ASSERT_EQ(0, gs_agent_start(&self->agent[0]));
	child = self->agent[0].pid;
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[0], GS_NOBODY));
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, child, 0, GPUSCHED_POLICY_NODE, NULL));
	/* The task's owner could have pinned it, so may unpin it. */
	ASSERT_EQ(0, gs_agent_open(&self->agent[0]));
	EXPECT_EQ(0, gs_agent_unpin(&self->agent[0], GPUSCHED_TARGET_THREAD, 0));
	EXPECT_NOT_PINNED(child);
}

/*
 * The shared-node model: max_reserved_cpus_per_user bounds what one user
 * may hold in exclusive pins over all files, so nobody can take every
 * GPU's share and starve a second user.  Root (CAP_SYS_NICE) is exempt.
 */
TEST_F(pin, one_user_cannot_hold_more_than_max_reserved_cpus_per_user)
{
	struct gs_mask share, cpus;
	unsigned int gpu, granted = 0;
	struct gpusched_pin pin;
	char limit[16];
	pid_t tids[GS_MAX_TEST_GPUS];
	int ret;

	if (self->m.nr_gpus < 2 || self->m.nr_gpus > GS_MAX_TEST_GPUS)
		SKIP(return, "needs two GPUs or more");
	/* One GPU's share is what the limit allows. */
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, &share));
	ASSERT_EQ(0, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, 0, NULL));
	snprintf(limit, sizeof(limit), "%u", gs_mask_weight(&share));
	ASSERT_EQ(0, gs_write_text(GS_SYSFS "/max_reserved_cpus_per_user", limit))
		TH_LOG("write max_reserved_cpus_per_user: %s", strerror(errno));
	EXPECT_EQ((long)gs_mask_weight(&share), gs_sysfs_long("max_reserved_cpus_per_user"));

	/* nobody, in the device's group, tries to take every GPU's share. */
	ASSERT_EQ(0, start_agent(self, 0, false));
	tids[0] = self->agent[0].pid;
	ASSERT_EQ(0, gs_agent_threads(&self->agent[0], self->m.nr_gpus - 1, &tids[1]));
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[0], GS_NOBODY));
	ASSERT_EQ(0, gs_agent_open(&self->agent[0]));
	for (gpu = 0; gpu < self->m.nr_gpus; gpu++) {
		pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, tids[gpu], gpu,
				 GPUSCHED_POLICY_EXCLUSIVE, &cpus);
		ret = gs_agent_pin(&self->agent[0], &pin, &cpus);
		/* ENOSPC where the GPU has no share of its own (4n's GPU 1). */
		if (!ret)
			granted += gs_mask_weight(&cpus);
		else
			EXPECT_TRUE(ret == EDQUOT || ret == ENOSPC)
				TH_LOG("GPU %u: %s", gpu, strerror(ret));
	}
	EXPECT_LT(0, granted);
	EXPECT_GE(gs_mask_weight(&share), granted);

	/* A second user still gets a GPU's share. */
	ASSERT_EQ(0, start_agent(self, 1, false));
	ASSERT_EQ(0, gs_agent_drop_privileges(&self->agent[1], GS_SECOND_USER));
	ASSERT_EQ(0, gs_agent_open(&self->agent[1]));
	ret = ENOSPC;
	for (gpu = 0; gpu < self->m.nr_gpus && ret; gpu++)
		ret = gs_agent_pin_self(&self->agent[1], &self->m, gpu, GPUSCHED_POLICY_EXCLUSIVE,
					0, &cpus);
	EXPECT_EQ(0, ret) TH_LOG("the second user got no exclusive pin: %s", strerror(ret));

	/* Root is not limited: with the users gone, it holds two shares. */
	gs_agent_kill(&self->agent[0]);
	gs_agent_kill(&self->agent[1]);
	ASSERT_TRUE(reserved_cpus_drain(0));
	ASSERT_EQ(0, start_agent(self, 2, true));
	ASSERT_EQ(0, start_agent(self, 3, true));
	granted = 0;
	for (gpu = 0; gpu < self->m.nr_gpus; gpu++) {
		if (!gs_agent_pin_self(&self->agent[2 + granted], &self->m, gpu,
				       GPUSCHED_POLICY_EXCLUSIVE, 0, &cpus) && ++granted == 2)
			break;
	}
	EXPECT_EQ(2, granted) TH_LOG("root could not hold two GPUs' shares under the limit");
}

TEST_F(pin, max_reserved_cpus_per_user_rejects_what_is_not_a_number)
{
	EXPECT_NE(0, gs_write_text(GS_SYSFS "/max_reserved_cpus_per_user", "many"));
	EXPECT_NE(0, gs_write_text(GS_SYSFS "/max_reserved_cpus_per_user", "-1"));
	EXPECT_EQ(0, gs_sysfs_long("max_reserved_cpus_per_user"));
}

/* ---- PIN: errors ----------------------------------------------------------- */

TEST_F(pin, pin_a_kernel_thread_gives_einval)
{
	char comm[64];

	if (gs_read_text("/proc/2/comm", comm, sizeof(comm)) || strcmp(comm, "kthreadd"))
		SKIP(return, "pid 2 is not kthreadd");
	EXPECT_EQ(EINVAL, gs_pin_thread(self->fd, &self->m, 2, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_EQ(0, gs_query_result(self->fd, &self->m, 2));
}

TEST_F(pin, pin_an_already_pinned_thread_gives_ebusy)
{
	struct gs_mask cpus;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	EXPECT_EQ(EBUSY, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_EQ(EBUSY, pin_self(self, 0, GPUSCHED_POLICY_EXCLUSIVE, NULL));
	EXPECT_AFFINITY(&cpus, 0);
}

TEST_F(pin, pin_a_thread_pinned_through_another_file_gives_ebusy)
{
	struct gs_mask cpus;
	struct gpusched_query q;
	int fd2 = gs_open_device();

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	EXPECT_EQ(EBUSY, gs_pin_thread(fd2, &self->m, 0, 0, GPUSCHED_POLICY_NODE, NULL));
	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, NULL, NULL));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, q.result);
	EXPECT_AFFINITY(&cpus, 0);
	close(fd2);
}

/* PIN of the calling thread with one field changed must fail with @err, pinning nothing. */
#define EXPECT_PIN_REFUSED(err, field, value) do {				\
	struct gpusched_pin _pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD,	\
					      0, 0, GPUSCHED_POLICY_NODE, NULL);	\
										\
	_pin.field = (value);							\
	EXPECT_ERRNO(err, ioctl(self->fd, GPUSCHED_IOC_PIN, &_pin));		\
	EXPECT_EQ(0, _pin.nr_threads);						\
	EXPECT_NOT_PINNED(0);							\
} while (0)

TEST_F(pin, pin_rejects_an_unknown_policy)
{
	EXPECT_PIN_REFUSED(EINVAL, policy, GPUSCHED_POLICY_SINGLE + 1);
	EXPECT_PIN_REFUSED(EINVAL, policy, 0xffffffff);
}

TEST_F(pin, pin_rejects_unknown_flags)
{
	EXPECT_PIN_REFUSED(EINVAL, flags, GPUSCHED_PIN_SPILL << 1);
	EXPECT_PIN_REFUSED(EINVAL, flags, 0x80000000);
}

TEST_F(pin, pin_rejects_cores_with_a_shared_policy)
{
	static const __u32 shared[] = {
		GPUSCHED_POLICY_NODE, GPUSCHED_POLICY_SOCKET, GPUSCHED_POLICY_L3,
		GPUSCHED_POLICY_SINGLE,
	};
	unsigned int i;

	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
						     shared[i], NULL);

		pin.cores = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin)) TH_LOG("policy %u", shared[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("policy %u", shared[i]);
	}
	EXPECT_NOT_PINNED(0);
}

TEST_F(pin, pin_rejects_nonzero_reserved)
{
	EXPECT_PIN_REFUSED(EINVAL, __reserved, 1);
}

TEST_F(pin, pin_rejects_an_unknown_target_type)
{
	EXPECT_PIN_REFUSED(EINVAL, target_type, 0);
	EXPECT_PIN_REFUSED(EINVAL, target_type, GPUSCHED_TARGET_PIDFD + 1);
}

TEST_F(pin, pin_a_gpu_out_of_range_gives_enodev)
{
	EXPECT_PIN_REFUSED(ENODEV, gpu, self->m.nr_gpus);
	EXPECT_PIN_REFUSED(ENODEV, gpu, 0xffffffff);
}

TEST_F(pin, pin_a_nonexistent_thread_gives_esrch)
{
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_PROCESS, 0, 0,
					     GPUSCHED_POLICY_NODE, NULL);
	pid_t gone = gs_unused_pid();

	ASSERT_LT(0, gone);
	EXPECT_PIN_REFUSED(ESRCH, target_id, gone);
	pin.target_id = gone;
	EXPECT_ERRNO(ESRCH, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
}

TEST_F(pin, pin_with_too_little_cpus_room_gives_emsgsize_and_pins_nothing)
{
	struct gs_mask cpus, canary;
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_NODE, &cpus);

	memset(&canary, 0x5a, sizeof(canary));
	cpus = canary;
	pin.nr_cpus = self->m.nr_cpu_ids - 1;
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	/* The one error that writes back: the room needed. */
	EXPECT_EQ(self->m.nr_cpu_ids, pin.nr_cpus);
	EXPECT_TRUE(gs_mask_equal(&canary, &cpus));
	EXPECT_NOT_PINNED(0);
}

TEST_F(pin, pin_with_no_gpus_in_the_topology_gives_enodev)
{
	struct gs_topo none;

	gs_topo_copy(&none, &self->full);
	none.arg.nr_gpus = 0;
	none.arg.gpus = 0;
	ASSERT_EQ(0, gs_set_topology(self->fd, &none));
	EXPECT_PIN_REFUSED(ENODEV, gpu, 0);
}

TEST_F(pin, pin_size_sweep)
{
	struct {
		struct gpusched_pin pin;
		__u64 tail;
		__u64 canary;
	} buf;

	memset(&buf, 0, sizeof(buf));
	buf.pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0, GPUSCHED_POLICY_NODE, NULL);
	buf.pin.size = sizeof(buf.pin) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_PIN, &buf));
	buf.pin.size = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_PIN, &buf));
	EXPECT_NOT_PINNED(0);

	buf.pin.size = sizeof(buf.pin) + sizeof(buf.tail);
	buf.tail = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, GPUSCHED_IOC_PIN, &buf));
	EXPECT_NOT_PINNED(0);

	buf.tail = 0;
	buf.canary = 0x5a5a5a5a5a5a5a5aULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_PIN, &buf));
	EXPECT_EQ(1, buf.pin.nr_threads);
	EXPECT_EQ(0, buf.tail);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, buf.canary);
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE,
		  gs_query_result(self->fd, &self->m, 0));
}

TEST_F(pin, pin_bad_pointers_give_efault)
{
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_NODE, NULL);

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_PIN, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_PIN, gs_inaccessible()));
	EXPECT_NOT_PINNED(0);

	/* A mask the module cannot write: refused, and nothing left pinned. */
	pin.nr_cpus = self->m.nr_cpu_ids;
	pin.cpus = (uintptr_t)gs_inaccessible();
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	EXPECT_NOT_PINNED(0);
}

/* A page the test can fill and then make read-only, or NULL. */
static void *read_only_page(const void *content, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, content, len);
	if (mprotect(p, page, PROT_READ)) {
		munmap(p, page);
		return NULL;
	}
	return p;
}

TEST_F(pin, pin_with_a_read_only_argument_gives_efault_and_pins_nothing)
{
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_NODE, NULL);
	void *ro = read_only_page(&pin, sizeof(pin));

	ASSERT_NE(NULL, ro);
	/* The module can read the request but not write the answer back. */
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_PIN, ro));
	EXPECT_NOT_PINNED(0);
	EXPECT_AFFINITY(&self->before, 0);
	munmap(ro, sysconf(_SC_PAGESIZE));
}

/* The struct straddles two pages and only the second is read-only. */
TEST_F(pin, pin_whose_argument_ends_in_a_read_only_page_pins_nothing)
{
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_NODE, NULL);
	long page = sysconf(_SC_PAGESIZE);
	char *two, *arg;

	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	arg = two + page - 8;
	memcpy(arg, &pin, sizeof(pin));
	ASSERT_EQ(0, mprotect(two + page, page, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_PIN, arg));
	EXPECT_NOT_PINNED(0);
	EXPECT_AFFINITY(&self->before, 0);
	munmap(two, 2 * page);
}

/*
 * UNPIN answers under its locks with page faults disabled, so the module
 * must make the whole struct writable before it takes them.  Here the
 * struct's last 8 bytes (nr_threads and __reserved, 0 going in) lie in a
 * page never written: reading it maps the shared zero page, and only a
 * write before the locks gives the caller a page of its own to answer in.
 */
TEST_F(pin, unpin_whose_argument_ends_in_an_unwritten_page_answers)
{
	struct gpusched_unpin unpin = {
		.size = sizeof(unpin),
		.target_type = GPUSCHED_TARGET_THREAD,
	};
	size_t head = offsetof(struct gpusched_unpin, nr_threads);
	long page = sysconf(_SC_PAGESIZE);
	struct gpusched_unpin *arg;
	char *two;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	arg = (struct gpusched_unpin *)(two + page - head);
	/* Only the first page is written: the second is not even mapped yet. */
	memcpy(arg, &unpin, head);
	EXPECT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_UNPIN, arg));
	EXPECT_EQ(1, arg->nr_threads);
	EXPECT_NOT_PINNED(0);
	munmap(two, 2 * page);
}

TEST_F(pin, exclusive_pin_with_a_read_only_mask_holds_no_cores)
{
	struct gs_mask zero, first, again;
	struct gpusched_pin pin = gs_pin_arg(&self->m, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_EXCLUSIVE, NULL);
	void *ro;

	gs_mask_zero(&zero);
	ro = read_only_page(&zero, sizeof(zero));
	ASSERT_NE(NULL, ro);
	pin.nr_cpus = self->m.nr_cpu_ids;
	pin.cpus = (uintptr_t)ro;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_PIN, &pin));
	EXPECT_NOT_PINNED(0);
	EXPECT_EQ(0, gs_sysfs_gpu_cpus(0, "reserved_cpus", &first));
	EXPECT_TRUE(gs_mask_empty(&first));

	/* The cores were not left held: the same pin gets them now. */
	ASSERT_EQ(0, gs_pin_thread(self->fd, &self->m, 0, 0, GPUSCHED_POLICY_EXCLUSIVE, &again));
	EXPECT_FALSE(gs_mask_empty(&again));
	munmap(ro, sysconf(_SC_PAGESIZE));
}

/* ---- UNPIN and QUERY: errors ---------------------------------------------- */

TEST_F(pin, unpin_rejects_nonzero_flags_reserved_and_unknown_target_types)
{
	struct gpusched_unpin unpin = {
		.size = sizeof(unpin),
		.target_type = GPUSCHED_TARGET_THREAD,
	};
	struct gs_mask cpus;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, &cpus));
	unpin.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &unpin));
	unpin.flags = 0;
	unpin.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &unpin));
	unpin.__reserved = 0;
	unpin.target_type = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &unpin));
	unpin.target_type = GPUSCHED_TARGET_PIDFD + 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &unpin));

	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE,
		  gs_query_result(self->fd, &self->m, 0));
	EXPECT_AFFINITY(&cpus, 0);
}

TEST_F(pin, unpin_of_a_nonexistent_thread_gives_esrch)
{
	pid_t gone = gs_unused_pid();

	ASSERT_LT(0, gone);
	EXPECT_EQ(ESRCH, gs_unpin(self->fd, GPUSCHED_TARGET_THREAD, gone, NULL));
	EXPECT_EQ(ESRCH, gs_unpin(self->fd, GPUSCHED_TARGET_PROCESS, gone, NULL));
}

TEST_F(pin, unpin_size_sweep)
{
	struct {
		struct gpusched_unpin unpin;
		__u64 tail;
		__u64 canary;
	} buf;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	memset(&buf, 0, sizeof(buf));
	buf.unpin.target_type = GPUSCHED_TARGET_THREAD;
	buf.unpin.size = sizeof(buf.unpin) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &buf));
	buf.unpin.size = sizeof(buf.unpin) + sizeof(buf.tail);
	buf.tail = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &buf));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE,
		  gs_query_result(self->fd, &self->m, 0));

	buf.tail = 0;
	buf.canary = 0x5a5a5a5a5a5a5a5aULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_UNPIN, &buf));
	EXPECT_EQ(1, buf.unpin.nr_threads);
	EXPECT_EQ(0, buf.tail);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, buf.canary);
	EXPECT_NOT_PINNED(0);
}

TEST_F(pin, query_rejects_everything_but_the_thread_target_type)
{
	struct gpusched_query q;

	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, NULL, NULL));
	q.target_type = GPUSCHED_TARGET_PROCESS;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_QUERY, &q));
	q.target_type = GPUSCHED_TARGET_PIDFD;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_QUERY, &q));
	q.target_type = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_QUERY, &q));
}

TEST_F(pin, query_rejects_nonzero_flags_and_reserved)
{
	struct gpusched_query q;

	ASSERT_EQ(0, gs_query(self->fd, &self->m, 0, &q, NULL, NULL));
	q.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_QUERY, &q));
	q.flags = 0;
	q.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_QUERY, &q));
}

TEST_F(pin, query_of_a_nonexistent_thread_gives_esrch)
{
	struct gpusched_query q;
	pid_t gone = gs_unused_pid();

	ASSERT_LT(0, gone);
	EXPECT_EQ(ESRCH, gs_query(self->fd, &self->m, gone, &q, NULL, NULL));
}

TEST_F(pin, query_with_too_little_cpus_room_gives_emsgsize)
{
	struct gs_mask cpus, canary;
	struct gpusched_query q;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	memset(&canary, 0x5a, sizeof(canary));
	cpus = canary;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.target_type = GPUSCHED_TARGET_THREAD;
	q.nr_cpus = self->m.nr_cpu_ids - 1;
	q.cpus = (uintptr_t)&cpus;
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, GPUSCHED_IOC_QUERY, &q));
	EXPECT_EQ(self->m.nr_cpu_ids, q.nr_cpus);
	EXPECT_TRUE(gs_mask_equal(&canary, &cpus));
}

TEST_F(pin, query_size_sweep)
{
	/* The struct as version 1 callers know it, without reason and nr_followed. */
	const size_t v1_size = offsetof(struct gpusched_query, original_cpus) + sizeof(__u64);
	struct {
		struct gpusched_query q;
		__u64 tail;
		__u64 canary;
	} buf;

	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	memset(&buf, 0, sizeof(buf));
	buf.q.target_type = GPUSCHED_TARGET_THREAD;
	buf.q.size = v1_size - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_QUERY, &buf));

	/* A version 1 caller gets its fields, and nothing is written past them. */
	buf.q.size = v1_size;
	buf.q.reason = 0xa5a5a5a5;
	buf.q.nr_followed = 0xa5a5a5a5;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_QUERY, &buf));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, buf.q.result);
	EXPECT_EQ(0xa5a5a5a5, buf.q.reason);
	EXPECT_EQ(0xa5a5a5a5, buf.q.nr_followed);
	memset(&buf, 0, sizeof(buf));
	buf.q.target_type = GPUSCHED_TARGET_THREAD;
	buf.q.size = sizeof(buf.q) + sizeof(buf.tail);
	buf.tail = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, GPUSCHED_IOC_QUERY, &buf));
	EXPECT_EQ(0, buf.q.result);

	buf.tail = 0;
	buf.canary = 0x5a5a5a5a5a5a5a5aULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_QUERY, &buf));
	EXPECT_EQ(GPUSCHED_QUERY_PINNED | GPUSCHED_QUERY_OWN_FILE, buf.q.result);
	EXPECT_EQ(0, buf.tail);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, buf.canary);
}

TEST_F(pin, query_and_unpin_bad_pointers_give_efault)
{
	struct gpusched_query q;

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_QUERY, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_UNPIN, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_UNPIN, gs_inaccessible()));

	/* Masks are written only for a pinned thread: pin, then ask into bad memory. */
	ASSERT_EQ(0, pin_self(self, 0, GPUSCHED_POLICY_NODE, NULL));
	EXPECT_EQ(EFAULT, gs_query(self->fd, &self->m, 0, &q, gs_inaccessible(), NULL));
	EXPECT_EQ(EFAULT, gs_query(self->fd, &self->m, 0, &q, NULL, gs_inaccessible()));
}

/* ---- everything at once ------------------------------------------------------ */

#define STRESS_WORKERS	4
#define STRESS_MS	4000

/*
 * One worker process: open, pin itself (EXCLUSIVE or NODE, GPUs in turn),
 * unpin or leave the pin to close(), close, again.  The only acceptable
 * failures are the ones a changing topology and a full node cause.
 */
static int stress_worker(const struct gs_machine *m, unsigned int id, long long deadline)
{
	unsigned int round = 0, k;
	__u32 policy;
	int fd, err;

	while (gs_now_ms() < deadline) {
		fd = gs_open_device();
		if (fd < 0)
			return 1;
		for (k = 0; k < 6; k++, round++) {
			policy = (id + round) % 2 ? GPUSCHED_POLICY_EXCLUSIVE : GPUSCHED_POLICY_NODE;
			err = gs_pin_thread(fd, m, 0, (id + round) % m->nr_gpus, policy, NULL);
			if (err == ENOSPC || err == EBUSY || err == ENODEV)
				continue;
			if (err) {
				fprintf(stderr, "# worker %u: PIN: %s\n", id, strerror(err));
				return 1;
			}
			if (round % 3 == 2)
				break;	/* close() ends this one */
			err = gs_unpin(fd, GPUSCHED_TARGET_THREAD, 0, NULL);
			if (err) {
				fprintf(stderr, "# worker %u: UNPIN: %s\n", id, strerror(err));
				return 1;
			}
		}
		close(fd);
	}
	return 0;
}

TEST_F_TIMEOUT(pin, concurrent_pins_closes_and_topology_changes_leave_nothing_behind, 60)
{
	long long deadline = gs_now_ms() + STRESS_MS;
	struct gs_topo reversed, fewer, *t;
	unsigned int i, sets = 0, failed_sets = 0;
	pid_t workers[STRESS_WORKERS];
	struct gs_mask held;
	int status;

	gs_topo_reversed(&reversed, &self->m);
	gs_topo_copy(&fewer, &self->full);
	fewer.arg.nr_gpus = self->m.nr_gpus / 2;

	for (i = 0; i < STRESS_WORKERS; i++) {
		workers[i] = fork();
		ASSERT_LE(0, workers[i]);
		if (!workers[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(self->fd);
			_exit(stress_worker(&self->m, i, deadline));
		}
	}
	while (gs_now_ms() < deadline) {
		t = sets % 3 == 0 ? &reversed : sets % 3 == 1 ? &fewer : &self->full;
		failed_sets += gs_set_topology(self->fd, t) != 0;
		sets++;
		gs_sleep_ms(2);
	}
	for (i = 0; i < STRESS_WORKERS; i++) {
		ASSERT_EQ(workers[i], waitpid(workers[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("worker %u: status 0x%x", i, status);
	}
	EXPECT_EQ(0, failed_sets);
	TH_LOG("%u topology replacements", sets);

	/* Every file is closed: no reservation and no pinned task is left. */
	ASSERT_EQ(0, gs_set_topology(self->fd, &self->full));
	for (i = 0; i < self->m.nr_gpus; i++) {
		ASSERT_EQ(0, gs_sysfs_gpu_cpus(i, "reserved_cpus", &held));
		EXPECT_TRUE(gs_mask_empty(&held)) TH_LOG("gpu%u", i);
		EXPECT_EQ(0, gs_sysfs_gpu_long(i, "nr_tasks"));
	}
	EXPECT_EQ(0, gs_sysfs_long("nr_pinned_tasks"));
}

TEST_HARNESS_MAIN
