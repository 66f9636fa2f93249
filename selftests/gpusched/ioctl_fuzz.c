// SPDX-License-Identifier: GPL-2.0
/*
 * A multi-threaded fuzzer of /dev/gpusched, run for a bounded time
 * (GPUSCHED_IOCTL_FUZZ_SECONDS, 60 by default).  Worker threads issue random
 * commands (the real ones, unknown numbers, other ioctl types) with random
 * sizes (0, odd, huge), pointers (NULL, unmapped, read-only, straddling into
 * a guard page) and fields (targets that are kernel threads, PID 1, exited
 * or reused ids, random GPUs, policies, flags, cores, mask sizes), and, on
 * a kernel that can inject faults, fail the nth allocation or user copy of
 * every FUZZ_FAULT_EVERY-th call.  Meanwhile other threads replace the
 * topology with random subsets of the GPUs, close and reopen the shared
 * files, start children that pin themselves and exit or are killed, and
 * take CPUs offline and online.
 *
 * Afterwards every file is closed and the module must be back to nothing:
 * nr_pinned_tasks 0, no GPU with reserved CPUs, and every task that existed
 * before the run (PID 1, kthreadd, the fuzzer's main thread, the test
 * runner) on the CPUs it had.  The guest's checks add the kernel log and
 * kmemleak.  The seed is printed; GPUSCHED_IOCTL_FUZZ_SEED replays a run's
 * choices (the interleaving of the threads is the scheduler's).
 *
 * The workers never call sched_setaffinity() themselves: on the debug
 * kernel, a task with a mask of its own whose CPUs all go offline makes
 * the scheduler's fallback (do_set_cpus_allowed() freeing the mask with
 * kfree_rcu() under the runqueue lock) report a circular locking
 * dependency through kmemleak and the serial console, without the module
 * in the chain.
 */
#define _GNU_SOURCE
#include "gpusched_test_util.h"

#include <stdatomic.h>

#include "kselftest.h"

#define NR_WORKERS		4
#define NR_FILES		4
#define NR_RECENT		32
#define FUZZ_FAULT_EVERY	8
#define MAX_TASKS		512
/* Room for twice GPUSCHED_MAX_GPUS records after the struct and the mask. */
#define BUF_SIZE		(128 * 1024)
#define GPUS_OFFSET		4096
#define MASK_OFFSET		2048

static atomic_bool fuzz_stop;
static atomic_ulong nr_calls, nr_ok, nr_injected, nr_topologies, nr_children, nr_hotplugs;
/* Per command (GPUSCHED_CMD_*, then "other numbers"): calls and successes. */
#define NR_KINDS		7
static atomic_ulong kind_calls[NR_KINDS], kind_ok[NR_KINDS];
static const char *const kind_names[NR_KINDS] = {
	"GET_INFO", "SET_TOPOLOGY", "GET_TOPOLOGY", "PIN", "UNPIN", "QUERY", "other",
};
static atomic_int files[NR_FILES];
/* Ids and pidfds of recent children: soon exited, then reused. */
static atomic_int recent_pids[NR_RECENT], recent_pidfds[NR_RECENT];
static struct gs_machine machine;
static struct gs_topo full;
static bool can_inject;
static unsigned long long seed;
static pid_t kthread_ids[8];
static unsigned int nr_kthread_ids;
static unsigned int nr_possible;

/* xorshift64*: one generator per thread, from the run's seed. */
struct rng {
	unsigned long long s;
};

static unsigned long long rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_below(struct rng *r, unsigned int n)
{
	return n ? rnd(r) % n : 0;
}

static bool one_in(struct rng *r, unsigned int n)
{
	return rnd_below(r, n) == 0;
}

static void rng_init(struct rng *r, unsigned int stream)
{
	r->s = seed ^ (0x9E3779B97F4A7C15ULL * (stream + 1));
	if (!r->s)
		r->s = 1;
	rnd(r);
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	nanosleep(&ts, NULL);
}

/* ---- what a worker throws at the module ---------------------------------- */

/* The places an argument can be: each worker has its own. */
struct places {
	unsigned char *buf;		/* BUF_SIZE writable bytes */
	unsigned char *ro;		/* a read-only page holding a plausible struct */
	unsigned char *guard_end;	/* the first byte of a PROT_NONE page */
	void *unmapped;
};

static int places_init(struct places *p, struct rng *r)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gpusched_pin pin = gs_pin_arg(&machine, GPUSCHED_TARGET_THREAD, 0, 0,
					     GPUSCHED_POLICY_NODE, NULL);

	p->buf = calloc(1, BUF_SIZE);
	p->ro = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->guard_end = gs_alloc_before_guard(page);
	p->unmapped = gs_inaccessible();
	if (!p->buf || p->ro == MAP_FAILED || !p->guard_end)
		return -1;
	p->guard_end += page;
	/* Read-only: the module can read it but not write results back. */
	if (one_in(r, 2))
		memcpy(p->ro, &pin, sizeof(pin));
	else
		*(__u32 *)p->ro = sizeof(struct gpusched_get_info);
	return mprotect(p->ro, page, PROT_READ);
}

/*
 * Where an argument of @len bytes goes: usually the worker's buffer (into
 * which it was written), else NULL, an unmapped page, a read-only page, or
 * a copy straddling into the guard page.
 */
static unsigned long long place(struct rng *r, struct places *p, const void *arg, size_t len)
{
	size_t cut, page = sysconf(_SC_PAGESIZE);

	switch (rnd_below(r, 40)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)p->unmapped;
	case 2:
		return (uintptr_t)p->ro;
	case 3:
		cut = len ? 1 + rnd_below(r, len < page ? len : page) : 0;
		memcpy(p->guard_end - cut, arg, cut);
		return (uintptr_t)(p->guard_end - cut);
	case 4:
		return rnd(r);
	default:
		return (uintptr_t)arg;
	}
}

static __u32 random_size(struct rng *r, __u32 real)
{
	static const __u32 odd[] = { 0, 1, 3, 4, 7, 8, 9, 23, 24, 25, 63, 64, 65, 4095, 4096,
				     4097, 65536, 1U << 20, 0x7fffffff, 0xffffffff };

	switch (rnd_below(r, 16)) {
	case 0:
		return odd[rnd_below(r, ARRAY_SIZE(odd))];
	case 1:
		return real + 8 * (1 + rnd_below(r, 4));
	case 2:
		return real - 4 * (1 + rnd_below(r, 2));
	default:
		return real;
	}
}

static __u32 random_flags(struct rng *r)
{
	if (one_in(r, 16))
		return 1U << rnd_below(r, 32);
	return one_in(r, 32) ? (__u32)rnd(r) : 0;
}

static __u32 random_target(struct rng *r, __u32 *type)
{
	*type = one_in(r, 16) ? rnd_below(r, 6) : 1 + rnd_below(r, 3);
	if (*type == GPUSCHED_TARGET_PIDFD && one_in(r, 2))
		return recent_pidfds[rnd_below(r, NR_RECENT)];
	switch (rnd_below(r, 12)) {
	case 0:
	case 8:
	case 9:
		return 0;
	case 1:
		return gs_gettid();
	case 2:
		return getpid();
	case 3:
		return 1;
	case 4:
		return nr_kthread_ids ? kthread_ids[rnd_below(r, nr_kthread_ids)] : 2;
	case 5:
		return rnd_below(r, 1 << 22);
	case 6:
		return (__u32)rnd(r);
	default:
		return recent_pids[rnd_below(r, NR_RECENT)];
	}
}

static __u32 random_cpus(struct rng *r)
{
	static const __u32 sizes[] = { 0, 1, 63, 64, 65, 1024, 4096, 0xffffffff };

	return one_in(r, 3) ? sizes[rnd_below(r, ARRAY_SIZE(sizes))] : machine.nr_cpu_ids;
}

/* A mask pointer: a worker-owned buffer, or one of the bad places. */
static __u64 random_mask(struct rng *r, struct places *p)
{
	unsigned char *mask = p->buf + MASK_OFFSET;

	return place(r, p, mask, GS_MAX_CPUS / 8);
}

/* Fills the worker's buffer with the argument of command @cmd; its address. */
static unsigned long long random_arg(struct rng *r, struct places *p, unsigned int cmd)
{
	union {
		struct gpusched_get_info info;
		struct gpusched_topology topo;
		struct gpusched_pin pin;
		struct gpusched_unpin unpin;
		struct gpusched_query query;
		unsigned char raw[256];
	} *a = (void *)p->buf;
	struct gpusched_gpu *gpus = (void *)(p->buf + GPUS_OFFSET);
	unsigned int i, nr;
	size_t len = 0;

	/*
	 * Now and then a few bytes are garbage: the fields set below overwrite
	 * theirs, so it stays in reserved and output fields and past the
	 * struct.  Never in a pointer: the module would write the answer into
	 * this program's own memory (its heap, a stack) and corrupt it.
	 */
	memset(a, 0, sizeof(*a));
	if (one_in(r, 8))
		for (i = 1 + rnd_below(r, 4); i > 0; i--)
			a->raw[rnd_below(r, 80)] = rnd(r);
	switch (cmd) {
	case GPUSCHED_CMD_GET_INFO:
		a->info.size = random_size(r, sizeof(a->info));
		a->info.flags = random_flags(r);
		len = sizeof(a->info);
		break;
	case GPUSCHED_CMD_SET_TOPOLOGY:
	case GPUSCHED_CMD_GET_TOPOLOGY:
		nr = one_in(r, 8) ? rnd_below(r, 2 * GPUSCHED_MAX_GPUS) :
				    rnd_below(r, machine.nr_gpus + 2);
		memcpy(gpus, full.gpus, sizeof(full.gpus));
		for (i = 0; i < machine.nr_gpus; i++) {
			if (one_in(r, 8))
				gpus[i].node = rnd_below(r, 6);
			if (one_in(r, 16))
				gpus[i].devfn ^= 1 << rnd_below(r, 8);
			if (one_in(r, 16))
				gpus[i].flags = random_flags(r);
		}
		a->topo.size = random_size(r, sizeof(a->topo));
		a->topo.flags = random_flags(r);
		a->topo.nr_gpus = nr;
		a->topo.gpu_entry_size = one_in(r, 4) ? random_size(r, sizeof(*gpus)) :
							sizeof(*gpus);
		a->topo.gpus = place(r, p, gpus, nr * sizeof(*gpus));
		a->topo.nr_cpus = random_cpus(r);
		a->topo.llc = one_in(r, 2) ? 0 : place(r, p, full.llc, sizeof(full.llc));
		a->topo.housekeeping = one_in(r, 2) ? 0 : random_mask(r, p);
		len = sizeof(a->topo);
		break;
	case GPUSCHED_CMD_PIN:
		a->pin.size = random_size(r, sizeof(a->pin));
		a->pin.flags = one_in(r, 4) ? GPUSCHED_PIN_SPILL : random_flags(r);
		a->pin.target_id = random_target(r, &a->pin.target_type);
		a->pin.gpu = one_in(r, 8) ? (__u32)rnd(r) : rnd_below(r, machine.nr_gpus + 1);
		a->pin.policy = one_in(r, 8) ? (__u32)rnd(r) : rnd_below(r, 7);
		a->pin.cores = one_in(r, 2) ? 0 : rnd_below(r, 6);
		a->pin.nr_cpus = random_cpus(r);
		a->pin.cpus = one_in(r, 3) ? 0 : random_mask(r, p);
		len = sizeof(a->pin);
		break;
	case GPUSCHED_CMD_UNPIN:
		a->unpin.size = random_size(r, sizeof(a->unpin));
		a->unpin.flags = random_flags(r);
		a->unpin.target_id = random_target(r, &a->unpin.target_type);
		len = sizeof(a->unpin);
		break;
	default:
		a->query.size = random_size(r, sizeof(a->query));
		a->query.flags = random_flags(r);
		a->query.target_id = random_target(r, &a->query.target_type);
		a->query.nr_cpus = random_cpus(r);
		a->query.cpus = one_in(r, 2) ? 0 : random_mask(r, p);
		a->query.original_cpus = one_in(r, 2) ? 0 : random_mask(r, p);
		len = sizeof(a->query);
		break;
	}
	return place(r, p, a, len);
}

/* A request number; @kind is the command it is, or NR_KINDS - 1. */
static unsigned long random_request(struct rng *r, unsigned int *cmd, unsigned int *kind)
{
	*cmd = rnd_below(r, 6);
	*kind = NR_KINDS - 1;
	switch (rnd_below(r, 32)) {
	case 0:
		return _IO(GPUSCHED_TYPE, 6 + rnd_below(r, 250));
	case 1:
		return _IOWR(GPUSCHED_TYPE, *cmd, struct gpusched_pin);
	case 2:
		return (unsigned long)rnd(r);
	default:
		*kind = *cmd;
		return _IO(GPUSCHED_TYPE, *cmd);
	}
}

static void *worker(void *arg)
{
	unsigned int id = (uintptr_t)arg, cmd, kind;
	unsigned long request, calls = 0;
	unsigned long long argp;
	struct places places;
	struct rng r;
	bool armed;
	int ret;

	rng_init(&r, id);
	if (places_init(&places, &r))
		return (void *)1;
	if (can_inject && gs_inject_open())
		return (void *)1;
	while (!atomic_load(&fuzz_stop)) {
		request = random_request(&r, &cmd, &kind);
		argp = random_arg(&r, &places, cmd);
		armed = can_inject && ++calls % FUZZ_FAULT_EVERY == 0 &&
			!gs_inject_arm(1 + rnd_below(&r, 12));
		ret = ioctl(files[rnd_below(&r, NR_FILES)], request, (uintptr_t)argp);
		if (armed && gs_inject_fired())
			atomic_fetch_add(&nr_injected, 1);
		atomic_fetch_add(&nr_calls, 1);
		atomic_fetch_add(&kind_calls[kind], 1);
		if (!ret) {
			atomic_fetch_add(&nr_ok, 1);
			atomic_fetch_add(&kind_ok[kind], 1);
		}
	}
	return NULL;
}

/* ---- what changes under the workers -------------------------------------- */

static void *reopener(void *arg)
{
	struct rng r;
	int i, fd;

	rng_init(&r, 100 + (uintptr_t)arg);
	while (!atomic_load(&fuzz_stop)) {
		i = rnd_below(&r, NR_FILES);
		fd = atomic_exchange(&files[i], -1);
		if (fd >= 0)
			close(fd);
		atomic_store(&files[i], gs_open_device());
		sleep_us(rnd_below(&r, 20000));
	}
	return NULL;
}

static void *topologist(void *arg)
{
	unsigned int i, j, nr;
	struct gs_topo *t = malloc(sizeof(*t));
	struct gpusched_gpu tmp;
	struct rng r;
	int fd;

	rng_init(&r, 200 + (uintptr_t)arg);
	fd = gs_open_device();
	if (!t || fd < 0)
		return (void *)1;
	while (!atomic_load(&fuzz_stop)) {
		/* A random subset of the GPUs in a random order. */
		gs_topo_copy(t, &full);
		for (i = machine.nr_gpus - 1; i > 0; i--) {
			j = rnd_below(&r, i + 1);
			tmp = t->gpus[i];
			t->gpus[i] = t->gpus[j];
			t->gpus[j] = tmp;
		}
		nr = rnd_below(&r, machine.nr_gpus + 1);
		t->arg.nr_gpus = nr;
		if (one_in(&r, 3))
			gs_mask_set(&t->housekeeping, rnd_below(&r, machine.nr_cpu_ids));
		if (!gs_set_topology(fd, t))
			atomic_fetch_add(&nr_topologies, 1);
		sleep_us(rnd_below(&r, 150000));
	}
	close(fd);
	free(t);
	return NULL;
}

static void *child_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* A short-lived job: pins itself, maybe starts a thread, and exits. */
static void child_main(struct rng *r)
{
	struct gpusched_pin pin;
	pthread_t thread;
	int fd;

	fd = gs_open_device();
	if (fd < 0)
		_exit(1);
	pin = gs_pin_arg(&machine, one_in(r, 2) ? GPUSCHED_TARGET_PROCESS : GPUSCHED_TARGET_THREAD,
			 0, rnd_below(r, machine.nr_gpus), 1 + rnd_below(r, 5), NULL);
	ioctl(fd, GPUSCHED_IOC_PIN, &pin);
	if (one_in(r, 2))
		pthread_create(&thread, NULL, child_thread, NULL);
	if (one_in(r, 3))
		fork();
	sleep_us(rnd_below(r, 30000));
	_exit(0);
}

static void *spawner(void *arg)
{
	unsigned int slot = 0;
	struct rng r;
	pid_t pid;
	int pidfd, old;

	rng_init(&r, 300 + (uintptr_t)arg);
	while (!atomic_load(&fuzz_stop)) {
		rnd(&r);
		pid = fork();
		if (pid < 0) {
			sleep_us(10000);
			continue;
		}
		if (!pid)
			child_main(&r);
		pidfd = syscall(SYS_pidfd_open, pid, 0);
		slot = (slot + 1) % NR_RECENT;
		atomic_store(&recent_pids[slot], pid);
		old = atomic_exchange(&recent_pidfds[slot], pidfd);
		if (old >= 0)
			close(old);
		if (one_in(&r, 3)) {
			sleep_us(rnd_below(&r, 10000));
			kill(pid, SIGKILL);
		}
		waitpid(pid, NULL, 0);
		atomic_fetch_add(&nr_children, 1);
	}
	return NULL;
}

static int cpu_online_write(unsigned int cpu, bool online)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/online", cpu);
	return gs_write_text(path, online ? "1" : "0");
}

static void *hotplugger(void *arg)
{
	struct gs_mask online;
	unsigned int cpu;
	struct rng r;

	rng_init(&r, 400 + (uintptr_t)arg);
	while (!atomic_load(&fuzz_stop)) {
		/*
		 * Every hotplug patches kernel text (static keys), which QEMU's
		 * emulation of several vCPUs gets wrong now and then ("Oops:
		 * int3"): one every second or two is plenty.
		 */
		sleep_us(1000000 + rnd_below(&r, 1000000));
		if (nr_possible < 2 || gs_read_cpulistf(&online, "/sys/devices/system/cpu/online"))
			continue;
		cpu = 1 + rnd_below(&r, nr_possible - 1);
		if (!cpu_online_write(cpu, !gs_mask_test(&online, cpu)))
			atomic_fetch_add(&nr_hotplugs, 1);
	}
	return NULL;
}

/* ---- the tasks that must come out as they went in ------------------------ */

struct task_cpus {
	pid_t tid;
	char comm[32];
	struct gs_mask cpus;
};

/* The threads of user-space processes, and kthreadd; how many. */
static unsigned int tasks_snapshot(struct task_cpus *tasks, unsigned int max)
{
	char path[64], exe[16];
	struct dirent *p, *t;
	unsigned int n = 0;
	DIR *procs, *threads;
	pid_t pid;

	procs = opendir("/proc");
	if (!procs)
		return 0;
	while ((p = readdir(procs)) && n < max) {
		pid = atoi(p->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (pid != 2 && readlink(path, exe, sizeof(exe)) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		threads = opendir(path);
		if (!threads)
			continue;
		while ((t = readdir(threads)) && n < max) {
			tasks[n].tid = atoi(t->d_name);
			if (tasks[n].tid <= 0 || gs_affinity(tasks[n].tid, &tasks[n].cpus))
				continue;
			if (gs_read_textf(tasks[n].comm, sizeof(tasks[n].comm), "/proc/%d/task/%d/comm",
					  pid, tasks[n].tid))
				tasks[n].comm[0] = '\0';
			tasks[n].comm[strcspn(tasks[n].comm, "\n")] = '\0';
			n++;
		}
		closedir(threads);
	}
	closedir(procs);
	return n;
}

/* ---- the run ------------------------------------------------------------- */

static void find_kthreads(void)
{
	char path[64], exe[16];
	struct dirent *d;
	DIR *procs = opendir("/proc");
	pid_t pid;

	if (!procs)
		return;
	while ((d = readdir(procs)) && nr_kthread_ids < ARRAY_SIZE(kthread_ids)) {
		pid = atoi(d->d_name);
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (pid > 0 && readlink(path, exe, sizeof(exe)) < 0 && errno == ENOENT)
			kthread_ids[nr_kthread_ids++] = pid;
	}
	closedir(procs);
}

/* Brings every CPU that was online before the run online again. */
static bool all_back_online(void)
{
	struct gs_mask online;
	unsigned int cpu;

	for (cpu = 1; cpu < nr_possible; cpu++)
		if (gs_mask_test(&machine.online, cpu))
			cpu_online_write(cpu, true);
	return !gs_read_cpulistf(&online, "/sys/devices/system/cpu/online") &&
	       gs_mask_equal(&online, &machine.online);
}

int main(void)
{
	static struct task_cpus before[MAX_TASKS];
	pthread_t threads[NR_WORKERS + 4];
	unsigned int i, nr_before, nr_threads = 0, moved = 0, held = 0;
	const char *env, *why = "";
	long long deadline, seconds = 60;
	char text[GS_CPULIST_LEN], c1[GS_CPULIST_LEN], c2[GS_CPULIST_LEN];
	long pinned = -1;
	struct gs_mask now;
	void *status;
	bool threads_ok = true;
	int fd;

	ksft_print_header();
	ksft_set_plan(5);
	env = getenv("GPUSCHED_IOCTL_FUZZ_SECONDS");
	if (env)
		seconds = atoll(env);
	env = getenv("GPUSCHED_IOCTL_FUZZ_SEED");
	seed = env ? strtoull(env, NULL, 0) : (unsigned long long)time(NULL) ^ getpid();
	ksft_print_msg("seed %llu (GPUSCHED_IOCTL_FUZZ_SEED=%llu replays it), %lld s, %d workers\n",
		       seed, seed, seconds, NR_WORKERS);

	fd = gs_open_device();
	if (fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", GS_DEV_PATH, strerror(errno));
	if (gs_discover(fd, &machine, &why))
		ksft_exit_fail_msg("discovering the machine: %s\n", why);
	if (!machine.nr_gpus)
		ksft_exit_skip("no stand-in GPU in this machine\n");
	gs_topo_full(&full, &machine);
	nr_possible = machine.nr_cpu_ids;
	can_inject = !gs_inject_setup();
	ksft_print_msg("fault injection: %s\n",
		       can_inject ? "every 8th call fails its nth fault point" :
				    "not in this kernel (no /proc/thread-self/fail-nth)");
	find_kthreads();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	for (i = 0; i < NR_RECENT; i++) {
		recent_pids[i] = 0;
		recent_pidfds[i] = -1;
	}
	for (i = 0; i < NR_FILES; i++)
		files[i] = gs_open_device();
	nr_before = tasks_snapshot(before, MAX_TASKS);

	for (i = 0; i < NR_WORKERS; i++)
		pthread_create(&threads[nr_threads++], NULL, worker, (void *)(uintptr_t)i);
	pthread_create(&threads[nr_threads++], NULL, reopener, NULL);
	pthread_create(&threads[nr_threads++], NULL, topologist, NULL);
	pthread_create(&threads[nr_threads++], NULL, spawner, NULL);
	pthread_create(&threads[nr_threads++], NULL, hotplugger, NULL);
	deadline = gs_now_ms() + seconds * 1000;
	while (gs_now_ms() < deadline)
		gs_sleep_ms(200);
	atomic_store(&fuzz_stop, true);
	for (i = 0; i < nr_threads; i++) {
		pthread_join(threads[i], &status);
		threads_ok &= status == NULL;
	}
	ksft_print_msg("%lu calls (%lu succeeded, %lu with a fault injected), %lu topologies set, %lu children, %lu CPU hotplugs\n",
		       atomic_load(&nr_calls), atomic_load(&nr_ok), atomic_load(&nr_injected),
		       atomic_load(&nr_topologies), atomic_load(&nr_children),
		       atomic_load(&nr_hotplugs));
	for (i = 0; i < NR_KINDS; i++)
		ksft_print_msg("  %-13s %9lu calls, %8lu succeeded\n", kind_names[i],
			       atomic_load(&kind_calls[i]), atomic_load(&kind_ok[i]));
	ksft_test_result(threads_ok && atomic_load(&nr_calls) > 0, "fuzzing threads ran\n");

	/* Everything closed: the module must hold nothing. */
	for (i = 0; i < NR_FILES; i++)
		if (files[i] >= 0)
			close(files[i]);
	for (i = 0; i < NR_RECENT; i++)
		if (recent_pidfds[i] >= 0)
			close(recent_pidfds[i]);
	/* Children's children come here (a subreaper) and end soon. */
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	ksft_test_result(all_back_online(), "every CPU back online\n");
	close(fd);
	deadline = gs_now_ms() + 10000;
	do {
		pinned = gs_sysfs_long("nr_pinned_tasks");
		if (!pinned)
			break;
		gs_sleep_ms(100);
	} while (gs_now_ms() < deadline);
	ksft_test_result(pinned == 0, "nr_pinned_tasks back to 0 (%ld)\n", pinned);
	for (i = 0; i < GS_MAX_TEST_GPUS; i++) {
		if (gs_sysfs_gpu_text(i, "reserved_cpus", text, sizeof(text)))
			continue;
		text[strcspn(text, "\n")] = '\0';
		if (text[0]) {
			ksft_print_msg("gpu%u still reserves CPUs %s\n", i, text);
			held++;
		}
	}
	ksft_test_result(held == 0, "no GPU reserves CPUs\n");
	for (i = 0; i < nr_before; i++) {
		if (gs_affinity(before[i].tid, &now))
			continue;	/* gone */
		if (gs_mask_equal(&now, &before[i].cpus))
			continue;
		ksft_print_msg("thread %d (%s) was on CPUs %s, is on %s\n", before[i].tid,
			       before[i].comm, gs_cpulist_format(&before[i].cpus, c1, sizeof(c1)),
			       gs_cpulist_format(&now, c2, sizeof(c2)));
		moved++;
	}
	ksft_test_result(moved == 0, "%u tasks from before the run on their CPUs again\n",
			 nr_before);

	/* The next suite finds the whole topology, as set by its own fixture. */
	fd = gs_open_device();
	if (fd >= 0) {
		gs_set_topology(fd, &full);
		close(fd);
	}
	ksft_finished();
}
