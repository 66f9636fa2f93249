// SPDX-License-Identifier: GPL-2.0
/*
 * Every fault point of every command: for each operation on the module
 * (open, each ioctl, sysfs reads and writes, module load), the calling
 * thread's /proc/thread-self/fail-nth is set to n = 1, 2, 3, ... and the
 * operation made, until it completes with no fault injected.  The nth
 * allocation (slab or pages) or user copy of the call then fails, wherever
 * it is: in the module or in the kernel code around it.  At every n the
 * operation must succeed or fail with ENOMEM or EFAULT, and a failed one
 * must leave the module exactly as it was: nr_pinned_tasks, every GPU's
 * reserved_cpus, the topology and its generation, default_policy and the
 * target threads' CPUs.  The guest's kernel-log check fails the run on any
 * report (WARNING, BUG, KASAN, lockdep) and kmemleak on any leak.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_USERCOPY and FAULT_INJECTION_DEBUG_FS (the debug guest
 * kernel); skips elsewhere and says so.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"


#include "kselftest_harness.h"

/* A sweep that reaches this many points without an end is broken. */
#define MAX_POINTS		20000
#define HOLDER_THREADS		3
#define MAX_SYSFS_FILES		64

/* ---- what must not change ------------------------------------------------ */

struct fault_state {
	long nr_pinned_tasks;
	long nr_gpus;
	__u64 generation;
	char default_policy[32];
	char reserved[GS_MAX_TEST_GPUS][GS_CPULIST_LEN];
	unsigned int nr_tids;
	pid_t tids[HOLDER_THREADS];
	struct gs_mask affinity[HOLDER_THREADS];
};

FIXTURE(fault) {
	int fd;
	struct gs_machine m;
	struct gs_topo full;
	pid_t holder;
	int pidfd;
	pid_t tids[HOLDER_THREADS];
	unsigned int nr_tids;
	/* the operation under test */
	__u32 target_type;
	__u32 policy;
	char path[256];
	int open_fd;
};

/* The module's state and the holder's CPUs, read with no fault armed. */
static int fault_state_read(FIXTURE_DATA(fault) *self, struct fault_state *s)
{
	struct gpusched_get_info info = { .size = sizeof(info) };
	unsigned int i;
	int ret;

	memset(s, 0, sizeof(*s));
	s->nr_pinned_tasks = gs_sysfs_long("nr_pinned_tasks");
	s->nr_gpus = gs_sysfs_long("nr_gpus");
	if (ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info))
		return -errno;
	s->generation = info.generation;
	ret = gs_read_text(GS_SYSFS "/default_policy", s->default_policy,
			   sizeof(s->default_policy));
	if (ret)
		return ret;
	for (i = 0; i < self->m.nr_gpus && (long)i < s->nr_gpus; i++) {
		ret = gs_sysfs_gpu_text(i, "reserved_cpus", s->reserved[i],
					sizeof(s->reserved[i]));
		if (ret)
			return ret;
	}
	s->nr_tids = self->nr_tids;
	for (i = 0; i < self->nr_tids; i++) {
		s->tids[i] = self->tids[i];
		ret = gs_affinity(self->tids[i], &s->affinity[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Logs every difference between @a and @b; true when there is none. */
static bool fault_state_same(struct __test_metadata *_metadata, const char *what,
			     unsigned int n, const struct fault_state *a,
			     const struct fault_state *b)
{
	char ca[GS_CPULIST_LEN], cb[GS_CPULIST_LEN];
	bool same = true;
	unsigned int i;

	if (a->nr_pinned_tasks != b->nr_pinned_tasks || a->nr_gpus != b->nr_gpus ||
	    a->generation != b->generation || strcmp(a->default_policy, b->default_policy)) {
		TH_LOG("%s, fault %u: nr_pinned_tasks %ld -> %ld, nr_gpus %ld -> %ld, generation %llu -> %llu, default_policy %s -> %s",
		       what, n, a->nr_pinned_tasks, b->nr_pinned_tasks, a->nr_gpus, b->nr_gpus,
		       (unsigned long long)a->generation, (unsigned long long)b->generation,
		       a->default_policy, b->default_policy);
		same = false;
	}
	for (i = 0; i < GS_MAX_TEST_GPUS; i++) {
		if (strcmp(a->reserved[i], b->reserved[i])) {
			TH_LOG("%s, fault %u: gpu%u reserved_cpus '%s' -> '%s'", what, n, i,
			       a->reserved[i], b->reserved[i]);
			same = false;
		}
	}
	for (i = 0; i < a->nr_tids; i++) {
		if (!gs_mask_equal(&a->affinity[i], &b->affinity[i])) {
			TH_LOG("%s, fault %u: thread %d CPUs %s -> %s", what, n, a->tids[i],
			       gs_cpulist_format(&a->affinity[i], ca, sizeof(ca)),
			       gs_cpulist_format(&b->affinity[i], cb, sizeof(cb)));
			same = false;
		}
	}
	return same;
}

/* ---- the sweep ----------------------------------------------------------- */

/*
 * One operation: @call makes it (0 or an errno); @prepare, when set, brings
 * the module to the state the call starts from before every attempt;
 * @undo, when set, takes back a call that succeeded.
 */
struct fault_op {
	const char *name;
	int (*prepare)(FIXTURE_DATA(fault) *self);
	int (*call)(FIXTURE_DATA(fault) *self);
	int (*undo)(FIXTURE_DATA(fault) *self);
};

/*
 * Sweeps @op; returns the fault points reached.  Fails the test on an
 * errno other than ENOMEM or EFAULT, on a failed call that changed the
 * state, and when the call without any fault does not succeed.
 */
static unsigned int fault_sweep(struct __test_metadata *_metadata,
				FIXTURE_DATA(fault) *self, const struct fault_op *op)
{
	unsigned int n, nr_enomem = 0, nr_efault = 0, nr_ok = 0, bad = 0;
	struct fault_state before, after;
	bool injected;
	int err;

	for (n = 1; n <= MAX_POINTS; n++) {
		if (op->prepare)
			ASSERT_EQ(0, op->prepare(self)) TH_LOG("%s: preparing: %s",
							      op->name, strerror(errno));
		ASSERT_EQ(0, fault_state_read(self, &before))
			TH_LOG("%s: reading the state before fault %u: %s", op->name, n,
			       strerror(errno));
		ASSERT_EQ(0, gs_inject_arm(n)) TH_LOG("arming fail-nth: %s", strerror(errno));
		err = op->call(self);
		injected = gs_inject_fired();
		if (!injected) {
			EXPECT_EQ(0, err) TH_LOG("%s without a fault: %s", op->name,
						 strerror(err));
			if (!err && op->undo)
				ASSERT_EQ(0, op->undo(self)) TH_LOG("%s: undo: %s", op->name,
								    strerror(errno));
			break;
		}
		if (!err) {
			/* The fault was absorbed (a fallback, a retry). */
			nr_ok++;
			if (op->undo)
				ASSERT_EQ(0, op->undo(self)) TH_LOG("%s: undo after fault %u: %s",
								    op->name, n, strerror(errno));
			continue;
		}
		if (err == ENOMEM) {
			nr_enomem++;
		} else if (err == EFAULT) {
			nr_efault++;
		} else if (bad++ < 5) {
			TH_LOG("%s, fault %u: errno %d (%s), not ENOMEM or EFAULT", op->name, n,
			       err, strerror(err));
		}
		ASSERT_EQ(0, fault_state_read(self, &after))
			TH_LOG("%s: reading the state after fault %u: %s", op->name, n,
			       strerror(errno));
		if (!fault_state_same(_metadata, op->name, n, &before, &after))
			bad++;
	}
	EXPECT_GE(MAX_POINTS, n) TH_LOG("%s: still faulting after %u points", op->name, n);
	EXPECT_EQ(0, bad) TH_LOG("%s: %u bad outcomes", op->name, bad);
	/* A sweep that injects nothing tests nothing. */
	EXPECT_LT(1, n) TH_LOG("%s: no fault point reached: fail-nth is not working", op->name);
	ksft_print_msg("%-34s %4u fault points: %u ENOMEM, %u EFAULT, %u absorbed\n",
		       op->name, n - 1, nr_enomem, nr_efault, nr_ok);
	return n - 1;
}

/* ---- operations ---------------------------------------------------------- */

static int op_open_close(FIXTURE_DATA(fault) *self)
{
	int fd = open(GS_DEV_PATH, O_RDWR | O_CLOEXEC);

	(void)self;
	if (fd < 0)
		return errno;
	/* A failure in close() would be lost: the descriptor is gone anyway. */
	close(fd);
	return 0;
}

static int op_get_info(FIXTURE_DATA(fault) *self)
{
	struct gpusched_get_info info = { .size = sizeof(info) };

	return ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info) ? errno : 0;
}

static int op_set_topology(FIXTURE_DATA(fault) *self)
{
	return gs_set_topology(self->fd, &self->full);
}

static int op_get_topology(FIXTURE_DATA(fault) *self)
{
	struct gs_topo *t = malloc(sizeof(*t));
	int err;

	if (!t)
		return ENOMEM;
	err = gs_get_topology(self->fd, t, &self->m);
	free(t);
	return err;
}

static __u32 target_id(FIXTURE_DATA(fault) *self)
{
	switch (self->target_type) {
	case GPUSCHED_TARGET_THREAD:
		return self->tids[1];
	case GPUSCHED_TARGET_PIDFD:
		return self->pidfd;
	default:
		return self->holder;
	}
}

static int op_pin(FIXTURE_DATA(fault) *self)
{
	struct gs_mask cpus;
	struct gpusched_pin pin = gs_pin_arg(&self->m, self->target_type, target_id(self), 0,
					     self->policy, &cpus);

	return ioctl(self->fd, GPUSCHED_IOC_PIN, &pin) ? errno : 0;
}

static int op_unpin(FIXTURE_DATA(fault) *self)
{
	return gs_unpin(self->fd, self->target_type, target_id(self), NULL);
}

/* PIN unless the target's thread is pinned already: UNPIN's starting point. */
static int op_ensure_pinned(FIXTURE_DATA(fault) *self)
{
	__u32 result = gs_query_result(self->fd, &self->m, self->tids[1]);

	if (result == ~0U)
		return -1;
	if (result & GPUSCHED_QUERY_PINNED)
		return 0;
	return op_pin(self);
}

static int op_query(FIXTURE_DATA(fault) *self)
{
	struct gs_mask cpus, original;
	struct gpusched_query q;

	return gs_query(self->fd, &self->m, self->tids[1], &q, &cpus, &original);
}

static int op_read_file(FIXTURE_DATA(fault) *self)
{
	char buf[4096];
	ssize_t len;
	int fd;

	fd = open(self->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	len = read(fd, buf, sizeof(buf));
	close(fd);
	return len < 0 ? errno : 0;
}

static int op_write_policy(FIXTURE_DATA(fault) *self)
{
	(void)self;
	return -gs_write_text(GS_SYSFS "/default_policy", "exclusive");
}

static int op_restore_policy(FIXTURE_DATA(fault) *self)
{
	(void)self;
	return -gs_write_text(GS_SYSFS "/default_policy", "node");
}

/* ---- fixture ------------------------------------------------------------- */

FIXTURE_SETUP(fault)
{
	int ret, n;

	self->holder = 0;
	self->pidfd = -1;
	self->nr_tids = 0;
	GS_FIXTURE_START(self);
	ret = gs_inject_setup();
	if (ret == -ENOENT)
		SKIP(return, "this kernel cannot inject faults (%s or %s/failslab missing: no CONFIG_FAULT_INJECTION, FAILSLAB, FAULT_INJECTION_DEBUG_FS)",
		     GS_FAIL_NTH, GS_FAULT_DEBUGFS);
	ASSERT_EQ(0, ret) TH_LOG("setting up fault injection: %s", strerror(-ret));
	ASSERT_EQ(0, gs_inject_open()) TH_LOG("open %s: %s", GS_FAIL_NTH, strerror(errno));
	ASSERT_EQ(0, gs_write_text(GS_SYSFS "/default_policy", "node"));
	self->holder = gs_holder_start(HOLDER_THREADS);
	ASSERT_LT(0, self->holder);
	n = gs_thread_ids(self->holder, self->tids, HOLDER_THREADS);
	ASSERT_EQ(HOLDER_THREADS, n);
	self->nr_tids = n;
	self->pidfd = syscall(SYS_pidfd_open, self->holder, 0);
	ASSERT_LE(0, self->pidfd) TH_LOG("pidfd_open: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->pidfd >= 0)
		close(self->pidfd);
	if (self->holder > 0)
		gs_holder_stop(self->holder);
	if (self->fd >= 0)
		close(self->fd);
}

/* ---- the sweeps ---------------------------------------------------------- */

TEST_F(fault, open_and_close)
{
	const struct fault_op op = { "open+close " GS_DEV_PATH, NULL, op_open_close, NULL };

	fault_sweep(_metadata, self, &op);
}

TEST_F(fault, get_info)
{
	const struct fault_op op = { "GET_INFO", NULL, op_get_info, NULL };

	fault_sweep(_metadata, self, &op);
}

TEST_F(fault, set_topology_replacing)
{
	const struct fault_op op = { "SET_TOPOLOGY (replacing)", NULL, op_set_topology, NULL };

	fault_sweep(_metadata, self, &op);
}

TEST_F(fault, get_topology)
{
	const struct fault_op op = { "GET_TOPOLOGY", NULL, op_get_topology, NULL };

	fault_sweep(_metadata, self, &op);
}

static const struct {
	__u32 type;
	const char *name;
} targets[] = {
	{ GPUSCHED_TARGET_THREAD, "thread" },
	{ GPUSCHED_TARGET_PROCESS, "process" },
	{ GPUSCHED_TARGET_PIDFD, "pidfd" },
};

static const struct {
	__u32 policy;
	const char *name;
} policies[] = {
	{ GPUSCHED_POLICY_DEFAULT, "default" },
	{ GPUSCHED_POLICY_NODE, "node" },
	{ GPUSCHED_POLICY_SOCKET, "socket" },
	{ GPUSCHED_POLICY_EXCLUSIVE, "exclusive" },
	{ GPUSCHED_POLICY_L3, "l3" },
	{ GPUSCHED_POLICY_SINGLE, "single" },
};

TEST_F(fault, pin_of_every_target_and_policy)
{
	char name[64];
	unsigned int t, p;

	for (t = 0; t < ARRAY_SIZE(targets); t++) {
		for (p = 0; p < ARRAY_SIZE(policies); p++) {
			struct fault_op op = { name, NULL, op_pin, op_unpin };

			snprintf(name, sizeof(name), "PIN %s %s", targets[t].name,
				 policies[p].name);
			self->target_type = targets[t].type;
			self->policy = policies[p].policy;
			fault_sweep(_metadata, self, &op);
		}
	}
}

TEST_F(fault, unpin_of_every_target)
{
	char name[64];
	unsigned int t;

	for (t = 0; t < ARRAY_SIZE(targets); t++) {
		struct fault_op op = { name, op_ensure_pinned, op_unpin, NULL };

		snprintf(name, sizeof(name), "UNPIN %s", targets[t].name);
		self->target_type = targets[t].type;
		self->policy = GPUSCHED_POLICY_EXCLUSIVE;
		fault_sweep(_metadata, self, &op);
	}
}

TEST_F(fault, query)
{
	const struct fault_op op = { "QUERY (pinned thread)", NULL, op_query, NULL };

	self->target_type = GPUSCHED_TARGET_THREAD;
	self->policy = GPUSCHED_POLICY_EXCLUSIVE;
	ASSERT_EQ(0, op_pin(self)) TH_LOG("PIN: %s", strerror(errno));
	fault_sweep(_metadata, self, &op);
}

/* Appends the regular files of @dir to @paths; how many now. */
static unsigned int list_files(const char *dir, char paths[][256], unsigned int n)
{
	struct dirent *d;
	struct stat st;
	DIR *dp = opendir(dir);

	if (!dp)
		return n;
	while ((d = readdir(dp)) && n < MAX_SYSFS_FILES) {
		if (snprintf(paths[n], 256, "%s/%s", dir, d->d_name) >= 256)
			continue;
		if (!stat(paths[n], &st) && S_ISREG(st.st_mode) && (st.st_mode & 0444))
			n++;
	}
	closedir(dp);
	return n;
}

TEST_F(fault, sysfs_reads)
{
	static char paths[MAX_SYSFS_FILES][256];
	unsigned int i, n;

	/* With a pin, so that the per-GPU files have something to say. */
	self->target_type = GPUSCHED_TARGET_PROCESS;
	self->policy = GPUSCHED_POLICY_EXCLUSIVE;
	ASSERT_EQ(0, op_pin(self)) TH_LOG("PIN: %s", strerror(errno));
	n = list_files(GS_SYSFS, paths, 0);
	n = list_files(GS_SYSFS "/gpus/gpu0", paths, n);
	ASSERT_LE(8, n) TH_LOG("only %u files under %s", n, GS_SYSFS);
	for (i = 0; i < n; i++) {
		const struct fault_op op = { paths[i] + strlen(GS_SYSFS) + 1, NULL,
					     op_read_file, NULL };

		snprintf(self->path, sizeof(self->path), "%s", paths[i]);
		fault_sweep(_metadata, self, &op);
	}
}

TEST_F(fault, default_policy_write)
{
	const struct fault_op op = { "default_policy write", NULL, op_write_policy,
				     op_restore_policy };

	fault_sweep(_metadata, self, &op);
}

/* ---- module load and the first topology ----------------------------------- */

/* Unloads the module once the files just closed let go of it; 0 or errno. */
static int module_unload(void)
{
	int tries, err;

	for (tries = 0; tries < 100; tries++) {
		err = gs_module_unload();
		if (!err || err == ENOENT)
			return 0;
		if (err != EWOULDBLOCK && err != EAGAIN)
			return err;
		gs_sleep_ms(20);
	}
	return EBUSY;
}

FIXTURE(load) {
	int ko;
	int fd;
	struct gs_machine m;
	struct gs_topo full;
	char path[512];
};

FIXTURE_SETUP(load)
{
	const char *ko = getenv("GPUSCHED_KO");
	int ret;

	self->ko = -1;
	self->fd = -1;
	if (!ko)
		SKIP(return, "GPUSCHED_KO does not name the module file to load");
	snprintf(self->path, sizeof(self->path), "%s", ko);
	/* The machine and its topology, while the module is loaded. */
	GS_FIXTURE_START(self);
	close(self->fd);
	self->fd = -1;
	ret = gs_inject_setup();
	if (ret == -ENOENT)
		SKIP(return, "this kernel cannot inject faults (no %s)", GS_FAIL_NTH);
	ASSERT_EQ(0, ret) TH_LOG("setting up fault injection: %s", strerror(-ret));
	ASSERT_EQ(0, gs_inject_open());
	self->ko = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->ko) TH_LOG("open %s: %s", ko, strerror(errno));
}

FIXTURE_TEARDOWN(load)
{
	struct stat st;

	if (self->fd >= 0)
		close(self->fd);
	/* Leave the module loaded, as every other suite expects it. */
	if (self->ko >= 0 && stat(GS_DEV_PATH, &st))
		gs_module_load(self->ko);
	if (self->ko >= 0)
		close(self->ko);
}

TEST_F(load, module_load)
{
	unsigned int n, enomem = 0, efault = 0, other = 0;
	struct stat st;
	bool injected;
	int err;

	ASSERT_EQ(0, module_unload()) TH_LOG("delete_module: %s", strerror(errno));
	for (n = 1; n <= MAX_POINTS; n++) {
		ASSERT_EQ(0, gs_inject_arm(n));
		err = syscall(SYS_finit_module, self->ko, "", 0) ? errno : 0;
		injected = gs_inject_fired();
		if (!injected) {
			ASSERT_EQ(0, err) TH_LOG("finit_module %s: %s", self->path, strerror(err));
			break;
		}
		if (!err) {
			ASSERT_EQ(0, module_unload()) TH_LOG("delete_module after fault %u: %s", n,
							     strerror(errno));
			continue;
		}
		if (err == ENOMEM)
			enomem++;
		else if (err == EFAULT)
			efault++;
		else if (other++ < 5)
			TH_LOG("load, fault %u: errno %d (%s), not ENOMEM or EFAULT", n, err,
			       strerror(err));
		/* A failed load leaves nothing behind. */
		EXPECT_NE(0, stat(GS_DEV_PATH, &st)) TH_LOG("fault %u left %s", n, GS_DEV_PATH);
		EXPECT_NE(0, stat(GS_SYSFS, &st)) TH_LOG("fault %u left %s", n, GS_SYSFS);
		EXPECT_NE(0, stat("/sys/module/gpusched", &st))
			TH_LOG("fault %u left the module loaded", n);
	}
	EXPECT_EQ(0, other);
	EXPECT_LT(1, n) TH_LOG("no fault point reached: fail-nth is not working");
	ksft_print_msg("%-34s %4u fault points: %u ENOMEM, %u EFAULT\n", "module load", n - 1,
		       enomem, efault);
	EXPECT_EQ(0, gs_apply_udev_rule());
}

TEST_F(load, first_set_topology)
{
	unsigned int n, enomem = 0, efault = 0, other = 0;
	struct gpusched_get_info info;
	bool injected;
	int err;

	for (n = 1; n <= MAX_POINTS; n++) {
		/* A module that never had a topology. */
		if (self->fd >= 0)
			close(self->fd);
		self->fd = -1;
		ASSERT_EQ(0, module_unload()) TH_LOG("delete_module: %s", strerror(errno));
		ASSERT_EQ(0, gs_module_load(self->ko)) TH_LOG("finit_module: %s", strerror(errno));
		self->fd = gs_open_device();
		ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GS_DEV_PATH, strerror(errno));
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
		ASSERT_EQ(0, info.nr_gpus);
		ASSERT_EQ(0, gs_inject_arm(n));
		err = gs_set_topology(self->fd, &self->full);
		injected = gs_inject_fired();
		if (!injected) {
			ASSERT_EQ(0, err) TH_LOG("first SET_TOPOLOGY: %s", strerror(err));
			break;
		}
		if (!err)
			continue;
		if (err == ENOMEM)
			enomem++;
		else if (err == EFAULT)
			efault++;
		else if (other++ < 5)
			TH_LOG("first SET, fault %u: errno %d (%s)", n, err, strerror(err));
		/* Still no topology, and nothing under sysfs says otherwise. */
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
		EXPECT_EQ(0, info.nr_gpus) TH_LOG("fault %u", n);
		EXPECT_EQ(0, info.generation) TH_LOG("fault %u", n);
		EXPECT_EQ(0, gs_sysfs_long("nr_gpus")) TH_LOG("fault %u", n);
		EXPECT_FALSE(gs_path_exists(GS_SYSFS "/gpus/gpu0")) TH_LOG("fault %u", n);
	}
	EXPECT_EQ(0, other);
	EXPECT_LT(1, n) TH_LOG("no fault point reached: fail-nth is not working");
	ksft_print_msg("%-34s %4u fault points: %u ENOMEM, %u EFAULT\n", "SET_TOPOLOGY (first)",
		       n - 1, enomem, efault);
}

TEST_HARNESS_MAIN
