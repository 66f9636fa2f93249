// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the Slurm SPANK plugin's logic (userspace/lib/slurm.c and
 * userspace/slurm/options.c), without Slurm: the plugstack.conf arguments and --gpusched
 * values, Slurm hostlists, slurmd's order of a node's GPUs read from
 * gres.conf (deliberately not PCI order, with node lines before global
 * ones in the file), device files to PCI functions on a fixture /sys and
 * /proc built in a scratch directory, and which GPU of a task's list is
 * the task's own.  Prints TAP through tap.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpusched_slurm.h"
#include "tap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char message[GPUSCHED_MESSAGE_SIZE];

static bool says(const char *needle)
{
	return strstr(message, needle) != NULL;
}

static void test_options(void)
{
	struct gs_slurm_config config;
	unsigned int cores;
	int policy, err;

	gs_slurm_config_init(&config);
	tap_ok(config.policy == GPUSCHED_POLICY_DEFAULT && config.missing == GS_SLURM_WARN &&
	       config.nofit == GS_SLURM_FAIL && !strcmp(config.gres_conf, "/etc/slurm/gres.conf") &&
	       !strcmp(config.device, "/dev/gpusched"),
	       "defaults: policy=default missing=warn nofit=fail gres_conf=/etc/slurm/gres.conf");

	tap_ok(!gs_slurm_config_arg(&config, "policy=exclusive", message) &&
	       config.policy == GPUSCHED_POLICY_EXCLUSIVE && config.cores == 0,
	       "policy=exclusive");
	tap_ok(!gs_slurm_config_arg(&config, "policy=exclusive:2", message) &&
	       config.policy == GPUSCHED_POLICY_EXCLUSIVE && config.cores == 2,
	       "policy=exclusive:2 asks for 2 cores per task");
	tap_ok(!gs_slurm_config_arg(&config, "policy=off", message) &&
	       config.policy == GS_SLURM_POLICY_OFF, "policy=off");
	err = gs_slurm_config_arg(&config, "policy=numa", message);
	tap_ok(err == -EINVAL && says("policy=\"numa\"") && says("exclusive:CORES"),
	       "policy=numa is refused, naming the value and what is accepted (%s)", message);
	tap_ok(!gs_slurm_config_arg(&config, "missing=fail", message) &&
	       config.missing == GS_SLURM_FAIL &&
	       !gs_slurm_config_arg(&config, "nofit=warn", message) && config.nofit == GS_SLURM_WARN,
	       "missing=fail nofit=warn");
	err = gs_slurm_config_arg(&config, "missing=ignore", message);
	tap_ok(err == -EINVAL && says("missing=ignore") && says("missing=fail or missing=warn"),
	       "missing=ignore is refused (%s)", message);
	tap_ok(!gs_slurm_config_arg(&config, "mem_policy=bind", message) &&
	       config.mem_policy == GPUSCHED_MEM_BIND, "mem_policy=bind");
	tap_ok(gs_slurm_config_arg(&config, "mem_policy=local", message) == -EINVAL &&
	       says("mem_policy=local"), "mem_policy=local is refused (%s)", message);
	tap_ok(!gs_slurm_config_arg(&config, "gres_conf=/srv/slurm/gres.conf", message) &&
	       !strcmp(config.gres_conf, "/srv/slurm/gres.conf"), "gres_conf=/srv/slurm/gres.conf");
	tap_ok(gs_slurm_config_arg(&config, "gres_conf=gres.conf", message) == -EINVAL &&
	       says("absolute path"), "a relative gres_conf is refused (%s)", message);
	tap_ok(!gs_slurm_config_arg(&config, "verbose=yes", message) && config.verbose,
	       "verbose=yes");
	tap_ok(gs_slurm_config_arg(&config, "exclusive", message) == -EINVAL &&
	       says("key=value"), "a bare word is refused (%s)", message);
	tap_ok(gs_slurm_config_arg(&config, "polcy=node", message) == -EINVAL &&
	       says("unknown argument \"polcy=node\""), "a misspelt key is refused (%s)", message);

	tap_ok(!gs_slurm_policy_parse("node", &policy, &cores, message) &&
	       policy == GPUSCHED_POLICY_NODE && cores == 0, "--gpusched=node");
	tap_ok(!gs_slurm_policy_parse("off", &policy, &cores, message) &&
	       policy == GS_SLURM_POLICY_OFF, "--gpusched=off");
	tap_ok(gs_slurm_policy_parse("node:2", &policy, &cores, message) == -EINVAL,
	       "--gpusched=node:2 is refused: cores are for exclusive only");
	tap_ok(gs_slurm_policy_parse("exclusive:0", &policy, &cores, message) == -EINVAL &&
	       gs_slurm_policy_parse("exclusive:", &policy, &cores, message) == -EINVAL &&
	       gs_slurm_policy_parse("exclusive:2x", &policy, &cores, message) == -EINVAL &&
	       gs_slurm_policy_parse("off:1", &policy, &cores, message) == -EINVAL,
	       "exclusive:0, exclusive:, exclusive:2x and off:1 are refused");
}

static void test_hostlist(void)
{
	static const struct {
		const char *list, *name;
		int expect;
	} cases[] = {
		{ "gsguest", "gsguest", 1 },
		{ "gsguest", "gsguest2", 0 },
		{ "node[01-04]", "node03", 1 },
		{ "node[01-04]", "node3", 0 },
		{ "node[01-04]", "node05", 0 },
		{ "login,gpu[1-2,7]", "gpu7", 1 },
		{ "login,gpu[1-2,7]", "login", 1 },
		{ "login,gpu[1-2,7]", "gpu3", 0 },
		{ "rack[1-2]-gpu", "rack2-gpu", 1 },
		{ "node[1-", "node1", -EINVAL },
		{ "node[4-2]", "node3", -EINVAL },
		{ "node[[1]]", "node1", -EINVAL },
		{ "a,,b", "a", -EINVAL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = gs_slurm_hostlist_match(cases[i].list, cases[i].name);

		tap_ok(got == cases[i].expect, "hostlist %s %s %s (got %d)", cases[i].list,
		       cases[i].expect < 0 ? "is malformed for" :
		       cases[i].expect ? "has" : "lacks", cases[i].name, got);
	}
}

static bool files_are(const struct gs_slurm_gres *gres, const char *const *want, unsigned int n)
{
	unsigned int i;

	if (gres->nr_files != n)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(gres->files[i], want[i]))
			return false;
	return true;
}

static void test_gres(void)
{
	/*
	 * The node's own lines come first in the file and list the cards out
	 * of PCI and name order; a global line follows; another node's line
	 * and a non-GPU line are in between.  slurmd puts the global line's
	 * GPU first.
	 */
	static const char conf[] =
		"# stand-in GPUs, order differs from PCI order\n"
		"AutoDetect=off\n"
		"NodeName=gsguest Name=gpu File=/dev/dri/card[3,1] Cores=0-1   # numa 0\n"
		"NodeName=other Name=gpu File=/dev/nvidia[0-7]\n"
		"nodename=gshost,gsguest name=GPU \\\n"
		"   file=/dev/dri/card2\n"
		"Name=mps Count=100\n"
		"Name=gpu Type=standin File=\"/dev/dri/card0\"\n"
		"Name=gpu Count=2\n";
	static const char *const want[] = {
		"/dev/dri/card0", "/dev/dri/card3", "/dev/dri/card1", "/dev/dri/card2",
	};
	static const char *const other_want[] = {
		"/dev/dri/card0", "/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2", "/dev/nvidia3",
		"/dev/nvidia4", "/dev/nvidia5", "/dev/nvidia6", "/dev/nvidia7",
	};
	static const struct {
		const char *conf, *why, *says;
		int err;
	} refused[] = {
		{ "AutoDetect=nvml\nName=gpu File=/dev/nvidia0\n", "a global AutoDetect=nvml",
		  "AutoDetect=nvml", -ENOTSUP },
		{ "NodeName=gsguest AutoDetect=rsmi\n", "this node's AutoDetect=rsmi",
		  "line 1: AutoDetect=rsmi", -ENOTSUP },
		{ "Name=gpu Type=a100 File=/dev/nvidia0\nName=gpu Type=t4 File=/dev/nvidia1\n",
		  "two GPU types", "two types (a100, t4)", -ENOTSUP },
		{ "Include /etc/slurm/gres.d/gpus.conf\n", "Include", "Include is not followed",
		  -ENOTSUP },
		{ "Name=gpu MultipleFiles=/dev/dri/card0,/dev/dri/renderD128\n", "MultipleFiles",
		  "MultipleFiles", -ENOTSUP },
		{ "Name=gpu File=/dev/nvidia[0-\n", "a malformed File=", "File=/dev/nvidia[0- is",
		  -EINVAL },
		{ "Name gpu\n", "a word without =", "line 1: \"Name\" is not key=value", -EINVAL },
		{ "Name=gpu NodeName=gsguest File=/dev/nvidia0\n", "NodeName= after Name=",
		  "NodeName= must come first", -EINVAL },
	};
	struct gs_slurm_gres gres;
	size_t i;
	int err;

	err = gs_slurm_gres_parse(conf, "gres.conf", "gsguest", &gres, message);
	tap_ok(!err && files_are(&gres, want, ARRAY_SIZE(want)),
	       "gres.conf: Name= lines first, then this node's NodeName= lines, File= expanded in written order");
	if (!err) {
		for (i = 0; i < gres.nr_files; i++)
			tap_diag("Slurm GPU %zu: %s", i, gres.files[i]);
		gs_slurm_gres_free(&gres);
	} else {
		tap_diag("%s", message);
	}
	err = gs_slurm_gres_parse(conf, "gres.conf", "other", &gres, message);
	tap_ok(!err && files_are(&gres, other_want, ARRAY_SIZE(other_want)),
	       "gres.conf for another node: its own lines only, /dev/nvidia[0-7] in order");
	if (!err)
		gs_slurm_gres_free(&gres);
	err = gs_slurm_gres_parse("NodeName=elsewhere AutoDetect=nvml\nName=gpu File=/dev/nvidia1\n",
				  "gres.conf", "gsguest", &gres, message);
	tap_ok(!err && gres.nr_files == 1, "another node's AutoDetect=nvml does not concern this one");
	if (!err)
		gs_slurm_gres_free(&gres);
	err = gs_slurm_gres_parse("", "gres.conf", "gsguest", &gres, message);
	tap_ok(!err && gres.nr_files == 0, "an empty gres.conf has no GPUs");

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		message[0] = '\0';
		err = gs_slurm_gres_parse(refused[i].conf, "/etc/slurm/gres.conf", "gsguest", &gres,
					  message);
		tap_ok(err == refused[i].err && says(refused[i].says) &&
		       says("/etc/slurm/gres.conf"),
		       "gres.conf with %s is refused, naming the file and line (%s)", refused[i].why,
		       message);
		if (!err)
			gs_slurm_gres_free(&gres);
	}
}

static char root[] = "/tmp/test_slurm.XXXXXX";

/* Creates the directories leading to @path below the scratch root. */
static void make_parents(const char *path, char *full, size_t size)
{
	char *slash;

	snprintf(full, size, "%s/%s", root, path);
	for (slash = strchr(full + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(full, 0755);
		*slash = '/';
	}
}

static void put_file(const char *path, const char *text)
{
	char full[512];
	FILE *f;

	make_parents(path, full, sizeof(full));
	f = fopen(full, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		printf("Bail out! cannot write %s\n", full);
		exit(1);
	}
}

static void put_link(const char *path, const char *target)
{
	char full[512];

	make_parents(path, full, sizeof(full));
	if (symlink(target, full)) {
		printf("Bail out! cannot link %s: %s\n", full, strerror(errno));
		exit(1);
	}
}

static void test_devices(void)
{
	char address[GPUSCHED_PCI_ADDRESS_SIZE];
	char scratch[600];
	int err;

	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	/* /dev/dri/card1 of the test guest, behind a PCI expander bridge. */
	put_link("sys/dev/char/226:1/device",
		 "../../../devices/pci0000:30/0000:30:00.0/0000:31:00.0");
	/* A platform DRM device, as a BMC's display can be. */
	put_link("sys/dev/char/226:2/device", "../../../devices/platform/simple-framebuffer.0");
	put_file("placeholder", "");
	put_file("proc/driver/nvidia/gpus/0000:3B:00.0/information",
		 "Model: \t\t NVIDIA H100\nIRQ:   \t\t 150\nDevice Minor: \t 1\nBus Location: \t 0000:3b:00.0\n");
	put_file("proc/driver/nvidia/gpus/0000:18:00.0/information",
		 "Model: \t\t NVIDIA H100\nDevice Minor: \t 0\nBus Location: \t 0000:18:00.0\n");

	err = gs_slurm_chardev_pci(root, "/dev/dri/card1", 226, 1, address, message);
	tap_ok(!err && !strcmp(address, "0000:31:00.0"),
	       "/dev/dri/card1 (226:1) -> /sys/dev/char/226:1/device -> %s", err ? message : address);
	err = gs_slurm_chardev_pci(root, "/dev/dri/card2", 226, 2, address, message);
	tap_ok(err == -ENODEV && says("/dev/dri/card2") && says("simple-framebuffer.0") &&
	       says("not a PCI function"), "a DRM device that is no PCI function is refused (%s)",
	       message);
	err = gs_slurm_chardev_pci(root, "/dev/nvidia1", 195, 1, address, message);
	tap_ok(!err && !strcmp(address, "0000:3b:00.0"),
	       "/dev/nvidia1 (195:1) -> Device Minor: 1 in /proc/driver/nvidia/gpus -> %s (lower case)",
	       err ? message : address);
	err = gs_slurm_chardev_pci(root, "/dev/nvidia5", 195, 5, address, message);
	tap_ok(err == -ENODEV && says("/dev/nvidia5") && says("Device Minor: 5") &&
	       says("NVIDIA driver loaded"), "/dev/nvidia5 with no such minor is refused (%s)",
	       message);
	err = gs_slurm_chardev_pci(root, "/dev/dri/card7", 226, 7, address, message);
	tap_ok(err == -ENODEV && says("/dev/dri/card7 (226:7)") && says("sys/dev/char/226:7/device"),
	       "a device unknown to /sys is refused, naming the path looked at (%s)", message);

	err = gs_slurm_device_pci("/", "/dev/null", address, message);
	tap_ok(err == -ENODEV && says("/dev/null (1:3)"),
	       "/dev/null is a character device but no PCI function (%s)", message);
	snprintf(scratch, sizeof(scratch), "%s/placeholder", root);
	err = gs_slurm_device_pci("/", scratch, address, message);
	tap_ok(err == -ENODEV && says("not a character device"),
	       "a regular file in gres.conf is refused (%s)", message);
	err = gs_slurm_device_pci("/", "/dev/gpusched-test-no-such-card", address, message);
	tap_ok(err == -ENODEV && says("No such file") && says("gres.conf"),
	       "a missing device file is refused, pointing at gres.conf (%s)", message);

	/*
	 * The whole chain on two character devices every machine has, whose
	 * /sys/dev/char links the fixture fakes: Slurm GPU 0 is /dev/zero at
	 * 0000:51:00.0 (gpusched GPU 2), Slurm GPU 1 /dev/null at 0000:21:00.0
	 * (gpusched GPU 0).
	 */
	{
		static const struct gpusched_gpu topo[] = {
			{ .bus = 0x21 }, { .bus = 0x31 }, { .bus = 0x51 },
		};
		char conf[600];
		int gpu;

		put_link("sys/dev/char/1:5/device", "../../../devices/pci0000:50/0000:50:00.0/0000:51:00.0");
		put_link("sys/dev/char/1:3/device", "../../../devices/pci0000:20/0000:20:00.0/0000:21:00.0");
		put_file("etc/slurm/gres.conf", "NodeName=n1 Name=gpu File=/dev/null\nName=gpu File=/dev/zero\n");
		snprintf(conf, sizeof(conf), "%s/etc/slurm/gres.conf", root);
		gpu = gs_slurm_resolve_gpu(root, conf, "n1", "0,1", "0,1", 1, 3, topo, message);
		tap_ok(gpu == 0 && says("Slurm GPU 1 (/dev/null, PCI 0000:21:00.0) -> gpusched GPU 0"),
		       "task 1 of Slurm GPUs 0,1: Slurm GPU 1 is /dev/null, PCI 0000:21:00.0, gpusched GPU 0 (%s)",
		       message);
		gpu = gs_slurm_resolve_gpu(root, conf, "n1", "0,1", "0,1", 0, 3, topo, message);
		tap_ok(gpu == 2 && says("(/dev/zero, PCI 0000:51:00.0) -> gpusched GPU 2"),
		       "task 0: Slurm GPU 0 is /dev/zero, gpusched GPU 2 (%s)", message);
		gpu = gs_slurm_resolve_gpu(root, conf, "n2", "1", NULL, 0, 3, topo, message);
		tap_ok(gpu == -ENODEV && says("Slurm GPU 1, but") && says("lists 1 GPU device files for node n2"),
		       "on a node with one GPU in gres.conf, Slurm GPU 1 is refused (%s)", message);
		gpu = gs_slurm_resolve_gpu(root, conf, "n1", "0", NULL, 0, 2, topo, message);
		tap_ok(gpu == -ENODEV && says("not among the 2 GPUs gpuschedd gave the module"),
		       "a Slurm GPU the module's topology lacks is refused (%s)", message);
		put_file("etc/slurm/fake_gpus.conf", "stand-in|8|0-3|-1|/dev/null\n");
		gpu = gs_slurm_resolve_gpu(root, conf, "n1", "0", NULL, 0, 3, topo, message);
		tap_ok(gpu == -ENOTSUP && says("fake_gpus.conf exists"),
		       "a fake_gpus.conf beside gres.conf is refused (%s)", message);
		gpu = gs_slurm_resolve_gpu(root, "/nonexistent/gres.conf", "n1", "0", NULL, 0, 3, topo,
					   message);
		tap_ok(gpu == -ENOENT && says("/nonexistent/gres.conf"),
		       "a missing gres.conf is refused, naming it (%s)", message);
	}

	snprintf(scratch, sizeof(scratch), "rm -rf '%s'", root);
	if (system(scratch))
		tap_diag("could not remove %s", root);
}

static void test_topology_and_tasks(void)
{
	static const struct gpusched_gpu gpus[] = {
		{ .domain = 0, .bus = 0x21, .devfn = 0 },
		{ .domain = 0, .bus = 0x31, .devfn = 0 },
		{ .domain = 1, .bus = 0x3b, .devfn = 2 << 3 | 1 },
	};
	unsigned int gpu;
	int err;

	tap_ok(gs_slurm_topology_gpu("0000:31:00.0", 3, gpus) == 1, "PCI 0000:31:00.0 is GPU 1");
	tap_ok(gs_slurm_topology_gpu("0001:3B:02.1", 3, gpus) == 2,
	       "PCI 0001:3B:02.1 is GPU 2, in either case");
	tap_ok(gs_slurm_topology_gpu("0000:41:00.0", 3, gpus) == -ENODEV,
	       "a PCI address no GPU has is -ENODEV");

	err = gs_slurm_task_gpu("3,1,0,2", "3,1,0,2", 1, &gpu, message);
	tap_ok(!err && gpu == 1 && says("SLURM_LOCALID=1") && says("[1]"),
	       "task 1 of a step that sees 3,1,0,2 gets Slurm GPU 1 (%s)", message);
	err = gs_slurm_task_gpu("3,1", "3,1", 2, &gpu, message);
	tap_ok(!err && gpu == 3, "task 2 of two GPUs wraps round to the first (%s)", message);
	err = gs_slurm_task_gpu("2", "0,2", 1, &gpu, message);
	tap_ok(!err && gpu == 2 && says("Slurm bound the task"),
	       "a task Slurm bound to GPU 2 of 0,2 takes 2 (%s)", message);
	err = gs_slurm_task_gpu("2,3", "0,1,2,3", 0, &gpu, message);
	tap_ok(!err && gpu == 2, "a task bound to 2,3 takes its first, 2, whatever its local id");
	err = gs_slurm_task_gpu("1", NULL, 3, &gpu, message);
	tap_ok(!err && gpu == 1, "without the step's list, one GPU is the task's");
	err = gs_slurm_task_gpu("", "", 0, &gpu, message);
	tap_ok(err == -ENOENT, "an empty list is -ENOENT");
	err = gs_slurm_task_gpu("1,,2", "1,,2", 0, &gpu, message);
	tap_ok(err == -EINVAL && says("\"1,,2\""), "a malformed list is refused (%s)", message);
	err = gs_slurm_task_gpu("GPU-1234", "GPU-1234", 0, &gpu, message);
	tap_ok(err == -EINVAL, "a UUID is not a Slurm index");
}

int main(void)
{
	tap_start();
	test_options();
	test_hostlist();
	test_gres();
	test_devices();
	test_topology_and_tasks();
	return tap_done();
}
