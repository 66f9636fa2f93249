// SPDX-License-Identifier: GPL-2.0
/*
 * ABI tests of the gpusched module's device, sysfs root and GET_INFO
 * handshake, and of its load/unload life cycle.  Runs as root in the test
 * guest with gpusched.ko already loaded; $GPUSCHED_KO names the module file
 * for the reload test.
 */
#define _GNU_SOURCE
#include <sys/sysmacros.h>

#include "gpusched_test_util.h"

#include "kselftest_harness.h"

/* The highest CPU or node id in a cpulist such as "0-7" or "0,2-5", plus one. */
static unsigned int cpulist_span(const char *path)
{
	struct gs_mask mask;

	if (gs_read_cpulistf(&mask, "%s", path))
		return 0;
	return gs_mask_last(&mask) + 1;
}

FIXTURE(device) {
	int fd;
};

FIXTURE_SETUP(device)
{
	self->fd = open(GS_DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GS_DEV_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(device)
{
	close(self->fd);
}

TEST(device_node_is_the_registered_misc_device)
{
	unsigned int major, minor;
	char buf[64];
	struct stat st;

	ASSERT_EQ(0, stat(GS_DEV_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	/* The packaged udev rule's group and mode (the guest's init applies it). */
	EXPECT_EQ(0660, st.st_mode & 0777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(GS_DEVICE_GID, st.st_gid);
	ASSERT_EQ(0, gs_read_text("/sys/class/misc/gpusched/dev", buf, sizeof(buf)));
	ASSERT_EQ(2, sscanf(buf, "%u:%u", &major, &minor));
	EXPECT_EQ(10, major);	/* MISC_MAJOR */
	EXPECT_EQ(major, major(st.st_rdev));
	EXPECT_EQ(minor, minor(st.st_rdev));
}

TEST(sysfs_version_is_the_module_version)
{
	char sysfs[64], module[64];

	ASSERT_EQ(0, gs_read_text(GS_SYSFS "/version", sysfs, sizeof(sysfs)));
	ASSERT_EQ(0, gs_read_text("/sys/module/gpusched/version", module, sizeof(module)));
	EXPECT_STREQ(module, sysfs);
	EXPECT_NE(0, strlen(sysfs));
}

TEST(sysfs_files_are_not_world_writable)
{
	static const char * const read_only[] = { "version", "nr_gpus", "nr_pinned_tasks" };
	char path[128];
	struct stat st;

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		snprintf(path, sizeof(path), GS_SYSFS "/%s", read_only[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		EXPECT_EQ(0444, st.st_mode & 0777) TH_LOG("%s", path);
	}
	ASSERT_EQ(0, stat(GS_SYSFS "/default_policy", &st));
	EXPECT_EQ(0644, st.st_mode & 0777);
}

TEST(default_policy_takes_keywords_only)
{
	static const char * const policies[] = { "socket", "exclusive", "l3", "single", "node" };
	struct gpusched_get_info info = { .size = sizeof(info) };
	char buf[32];
	int fd;

	fd = open(GS_DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		ASSERT_EQ(0, gs_write_text(GS_SYSFS "/default_policy", policies[i]));
		ASSERT_EQ(0, gs_read_text(GS_SYSFS "/default_policy", buf, sizeof(buf)));
		EXPECT_STREQ(policies[i], buf);
		ASSERT_EQ(0, gs_read_text("/sys/module/gpusched/parameters/default_policy",
				       buf, sizeof(buf)));
		EXPECT_STREQ(policies[i], buf);
		ASSERT_EQ(0, ioctl(fd, GPUSCHED_IOC_GET_INFO, &info));
		/* GPUSCHED_POLICY_NODE..SINGLE are 1..5 in the order of the keywords. */
		EXPECT_EQ(i == 4 ? GPUSCHED_POLICY_NODE : GPUSCHED_POLICY_SOCKET + i,
			  info.default_policy);
	}
	EXPECT_EQ(-EINVAL, gs_write_text(GS_SYSFS "/default_policy", "nodes"));
	EXPECT_EQ(-EINVAL, gs_write_text("/sys/module/gpusched/parameters/default_policy", "numa"));
	ASSERT_EQ(0, gs_read_text(GS_SYSFS "/default_policy", buf, sizeof(buf)));
	EXPECT_STREQ("node", buf);
	close(fd);
}

TEST_F(device, get_info_reports_the_running_kernel)
{
	struct gpusched_get_info info = { .size = sizeof(info) };

	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
	EXPECT_EQ(GPUSCHED_ABI_VERSION, info.abi_version);
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.__reserved);
	EXPECT_EQ(GPUSCHED_FEATURE_PIN_STATE, info.features);
	EXPECT_EQ(GPUSCHED_MAX_GPUS, info.max_gpus);
	EXPECT_NE(GPUSCHED_POLICY_DEFAULT, info.default_policy);
	EXPECT_EQ(0, info.__reserved2);

	EXPECT_EQ(cpulist_span("/sys/devices/system/cpu/possible"), info.nr_cpu_ids);
	EXPECT_EQ(cpulist_span("/sys/devices/system/node/possible"), info.nr_node_ids);
}

TEST_F(device, get_info_rejects_nonzero_flags_and_reserved)
{
	struct gpusched_get_info info = { .size = sizeof(info), .flags = 1 };

	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
	info.flags = 0x80000000;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
	info.flags = 0;
	info.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
	info.__reserved = 0;
	info.__reserved2 = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &info));
	/* A rejected call writes nothing back. */
	EXPECT_EQ(0, info.abi_version);
}

TEST_F(device, get_info_size_sweep)
{
	const size_t min_size = offsetof(struct gpusched_get_info, features) +
				sizeof(((struct gpusched_get_info *)0)->features);
	struct {
		struct gpusched_get_info info;
		__u64 tail;
		__u64 canary;
	} buf;

	/* One byte short of version 1: refused. */
	memset(&buf, 0, sizeof(buf));
	buf.info.size = min_size - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &buf));
	buf.info.size = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &buf));

	/* A newer caller's unknown non-zero field: refused with E2BIG. */
	memset(&buf, 0, sizeof(buf));
	buf.info.size = sizeof(buf.info) + sizeof(buf.tail);
	buf.tail = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &buf));

	/* The same caller with the unknown field zero: works, tail untouched. */
	memset(&buf, 0, sizeof(buf));
	buf.info.size = sizeof(buf.info) + sizeof(buf.tail);
	buf.canary = 0x5a5a5a5a5a5a5a5aULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &buf));
	EXPECT_EQ(GPUSCHED_ABI_VERSION, buf.info.abi_version);
	EXPECT_EQ(0, buf.tail);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, buf.canary);
}

TEST_F(device, get_info_copies_back_at_most_the_callers_size)
{
	struct {
		struct gpusched_get_info info;
		__u64 canary;
	} buf;

	memset(&buf, 0, sizeof(buf));
	buf.info.size = sizeof(buf.info);
	buf.canary = 0xa5a5a5a5a5a5a5a5ULL;
	ASSERT_EQ(0, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, &buf));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, buf.canary);
}

TEST_F(device, bad_pointers_give_efault)
{
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, GPUSCHED_IOC_GET_INFO, (void *)8));
}

TEST_F(device, unknown_commands_give_enotty)
{
	struct gpusched_get_info info = { .size = sizeof(info) };

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(GPUSCHED_TYPE, 0x7f), &info));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(GPUSCHED_TYPE, 0xff), &info));
	/* Right number, wrong type byte or wrong direction bits. */
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('G', GPUSCHED_CMD_GET_INFO), &info));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(GPUSCHED_TYPE, GPUSCHED_CMD_GET_INFO,
						 struct gpusched_get_info), &info));
}

TEST(module_is_pinned_while_a_file_is_open)
{
	int fd = open(GS_DEV_PATH, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_ERRNO(EWOULDBLOCK, syscall(SYS_delete_module, "gpusched", O_NONBLOCK));
	close(fd);
}

TEST(unload_removes_everything_and_reload_restores_it)
{
	const char *ko = getenv("GPUSCHED_KO");
	struct stat st;
	int fd;

	if (!ko)
		SKIP(return, "GPUSCHED_KO does not name the module file to reload");

	ASSERT_EQ(0, syscall(SYS_delete_module, "gpusched", O_NONBLOCK))
		TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_ERRNO(ENOENT, stat(GS_DEV_PATH, &st));
	EXPECT_ERRNO(ENOENT, stat(GS_SYSFS, &st));
	EXPECT_ERRNO(ENOENT, stat("/sys/class/misc/gpusched", &st));

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", ko, strerror(errno));
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0))
		TH_LOG("finit_module %s: %s", ko, strerror(errno));
	close(fd);
	ASSERT_EQ(0, stat(GS_DEV_PATH, &st));
	/* Root only until udev gives it to the group. */
	EXPECT_EQ(0660, st.st_mode & 0777);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(0, gs_apply_udev_rule());
	EXPECT_EQ(0, stat(GS_SYSFS "/version", &st));
}

static int open_device_errno(void *arg)
{
	int fd = gs_open_device();

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

TEST(device_opens_for_its_group_and_root_only)
{
	EXPECT_EQ(0, open_device_errno(NULL));
	/* gs_run_unprivileged() keeps the device's group. */
	EXPECT_EQ(0, gs_run_unprivileged(open_device_errno, NULL));
	EXPECT_EQ(EACCES, gs_run_as(GS_NOBODY, false, open_device_errno, NULL));
}

TEST_HARNESS_MAIN
