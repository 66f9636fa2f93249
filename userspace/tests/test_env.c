// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of userspace/lib/env.c: which GPU gpusched_resolve_gpu() picks
 * from a worker's environment, and the GPU UUID parser and formatter.  The
 * environments are tables, one per case, resolved against an 8-GPU
 * topology whose UUIDs share prefixes on purpose (GPUs 0 and 1 begin with
 * "1a2b"), one GPU has no UUID, and the PCI addresses cover a non-zero
 * domain, device and function.  Every case checks the return code, the
 * GPU, the source, and that the message or explanation names the right
 * variables, since a person has to act on it.  Prints TAP through tap.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libgpusched.h"
#include "tap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_ENV		8
#define MAX_SAYS	6

#define PCI(dom, b, dev, fn)	.domain = (dom), .bus = (b), .devfn = (dev) << 3 | (fn)

static const struct gpusched_gpu gpus[] = {
	{ PCI(0, 0x18, 0, 0), .node = 0, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-1a2b3c4d */
	  .uuid = { 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x01, 0x00, 0x02,
		    0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	{ PCI(0, 0x2a, 0, 0), .node = 0, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-1a2b9f00 */
	  .uuid = { 0x1a, 0x2b, 0x9f, 0x00, 0x11, 0x22, 0x33, 0x44,
		    0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc } },
	{ PCI(0, 0x3a, 0, 0), .node = 0, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-7f6e5d4c */
	  .uuid = { 0x7f, 0x6e, 0x5d, 0x4c, 0x3b, 0x2a, 0x19, 0x08,
		    0xf7, 0xe6, 0xd5, 0xc4, 0xb3, 0xa2, 0x91, 0x80 } },
	{ PCI(0, 0x41, 0, 0), .node = 1, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-e0e1e2e3 */
	  .uuid = { 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
		    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef } },
	{ PCI(0, 0x5d, 0, 0), .node = 1, .mem_node = GPUSCHED_NODE_ANY },	/* no UUID */
	{ PCI(0, 0x9a, 0x1f, 3), .node = 2, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-c0ffee00 */
	  .uuid = { 0xc0, 0xff, 0xee, 0x00, 0x01, 0x02, 0x03, 0x04,
		    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c } },
	{ PCI(0, 0xab, 0, 0), .node = 3, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-deadbeef */
	  .uuid = { 0xde, 0xad, 0xbe, 0xef, 0x10, 0x20, 0x30, 0x40,
		    0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0 } },
	{ PCI(1, 0xdb, 0, 1), .node = 3, .mem_node = GPUSCHED_NODE_ANY,	/* GPU-0badf00d */
	  .uuid = { 0x0b, 0xad, 0xf0, 0x0d, 0xaa, 0xbb, 0xcc, 0xdd,
		    0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 } },
};

#define UUID_GPU3	"GPU-e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeef"
#define UUID_GPU6	"GPU-deadbeef-1020-3040-5060-708090a0b0c0"

/*
 * One environment and what must come of it.  @says are substrings of the
 * message on failure, of the explanation on success; @says_not must be in
 * neither.
 */
struct resolve_case {
	const char *name;
	char *env[MAX_ENV];
	int err;
	unsigned int gpu;
	enum gpusched_gpu_source source;
	const char *rank_variable;
	const char *visible_variable;
	const char *says[MAX_SAYS];
	const char *says_not;
};

#define OK(g, src)	.err = 0, .gpu = (g), .source = GPUSCHED_GPU_FROM_##src
#define RANK_VAR(v)	.rank_variable = (v)
#define LIST_VAR(v)	.visible_variable = (v)

static const struct resolve_case resolve_cases[] = {
	/* The local rank alone: its variables in precedence order. */
	{ "LOCAL_RANK alone", { "LOCAL_RANK=1" },
	  OK(1, RANK), RANK_VAR("LOCAL_RANK"),
	  .says = { "LOCAL_RANK=1 -> GPU 1 (0000:2a:00.0)", "PCI bus order" } },
	{ "SLURM_LOCALID alone", { "SLURM_LOCALID=2" },
	  OK(2, RANK), RANK_VAR("SLURM_LOCALID"), .says = { "SLURM_LOCALID=2", "0000:3a:00.0" } },
	{ "OMPI_COMM_WORLD_LOCAL_RANK alone", { "OMPI_COMM_WORLD_LOCAL_RANK=3" },
	  OK(3, RANK), RANK_VAR("OMPI_COMM_WORLD_LOCAL_RANK"),
	  .says = { "OMPI_COMM_WORLD_LOCAL_RANK=3", "GPU 3 (0000:41:00.0)" } },
	{ "MPI_LOCALRANKID alone", { "MPI_LOCALRANKID=5" },
	  OK(5, RANK), RANK_VAR("MPI_LOCALRANKID"), .says = { "GPU 5 (0000:9a:1f.3)" } },
	{ "PCI address with a domain and a function", { "LOCAL_RANK=7" },
	  OK(7, RANK), RANK_VAR("LOCAL_RANK"), .says = { "GPU 7 (0001:db:00.1)" } },
	{ "leading zeros are decimal", { "LOCAL_RANK=007" },
	  OK(7, RANK), RANK_VAR("LOCAL_RANK"), .says = { "LOCAL_RANK=7" } },
	{ "LOCAL_RANK before SLURM_LOCALID", { "SLURM_LOCALID=2", "LOCAL_RANK=1" },
	  OK(1, RANK), RANK_VAR("LOCAL_RANK") },
	{ "SLURM_LOCALID before OMPI_COMM_WORLD_LOCAL_RANK",
	  { "OMPI_COMM_WORLD_LOCAL_RANK=3", "SLURM_LOCALID=2" },
	  OK(2, RANK), RANK_VAR("SLURM_LOCALID") },
	{ "OMPI_COMM_WORLD_LOCAL_RANK before MPI_LOCALRANKID",
	  { "MPI_LOCALRANKID=4", "OMPI_COMM_WORLD_LOCAL_RANK=3" },
	  OK(3, RANK), RANK_VAR("OMPI_COMM_WORLD_LOCAL_RANK") },
	{ "all four: LOCAL_RANK wins",
	  { "MPI_LOCALRANKID=4", "OMPI_COMM_WORLD_LOCAL_RANK=3", "SLURM_LOCALID=2",
	    "LOCAL_RANK=6" },
	  OK(6, RANK), RANK_VAR("LOCAL_RANK") },
	{ "the first of duplicate names wins", { "LOCAL_RANK=2", "LOCAL_RANK=5" },
	  OK(2, RANK), RANK_VAR("LOCAL_RANK") },
	{ "names that only start alike are other variables",
	  { "LOCAL_RANKS=1", "XLOCAL_RANK=2", "LOCAL_RANK_=3", "SLURM_LOCALID2=4" },
	  .err = -ENOENT, .says = { "--gpu" } },

	/* Malformed ranks: refused, and the first set variable is the one read. */
	{ "empty rank", { "LOCAL_RANK=" }, .err = -EINVAL, .says = { "LOCAL_RANK=\"\"" } },
	{ "an empty rank is set: it hides the next variable",
	  { "LOCAL_RANK=", "SLURM_LOCALID=2" }, .err = -EINVAL, .says = { "LOCAL_RANK" },
	  .says_not = "SLURM_LOCALID" },
	{ "rank with a suffix", { "LOCAL_RANK=1x" }, .err = -EINVAL,
	  .says = { "LOCAL_RANK=\"1x\"", "decimal" } },
	{ "negative rank", { "SLURM_LOCALID=-1" }, .err = -EINVAL,
	  .says = { "SLURM_LOCALID=\"-1\"" } },
	{ "rank with a plus sign", { "LOCAL_RANK=+1" }, .err = -EINVAL, .says = { "\"+1\"" } },
	{ "rank with a blank", { "LOCAL_RANK= 1" }, .err = -EINVAL, .says = { "\" 1\"" } },
	{ "hex rank", { "MPI_LOCALRANKID=0x1" }, .err = -EINVAL,
	  .says = { "MPI_LOCALRANKID=\"0x1\"" } },
	{ "rank past INT_MAX", { "OMPI_COMM_WORLD_LOCAL_RANK=2147483648" }, .err = -EINVAL,
	  .says = { "OMPI_COMM_WORLD_LOCAL_RANK=\"2147483648\"" } },
	{ "rank far past INT_MAX", { "LOCAL_RANK=99999999999999999999999" }, .err = -EINVAL,
	  .says = { "LOCAL_RANK" } },
	{ "rank with a newline stays one line", { "LOCAL_RANK=1\n" }, .err = -EINVAL,
	  .says = { "LOCAL_RANK=\"1?\"" } },
	{ "rank INT_MAX is a rank, past the GPUs", { "LOCAL_RANK=2147483647" }, .err = -ERANGE,
	  .says = { "LOCAL_RANK=2147483647", "8 GPUs" } },
	{ "rank past the GPUs without a list", { "SLURM_LOCALID=8" }, .err = -ERANGE,
	  .says = { "SLURM_LOCALID=8", "8 GPUs" } },

	/* A rank and a list of indices. */
	{ "CUDA_VISIBLE_DEVICES index", { "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=4,6" },
	  OK(6, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { "LOCAL_RANK=1 -> CUDA_VISIBLE_DEVICES[1]=6 -> GPU 6 (0000:ab:00.0)",
		    "CUDA_DEVICE_ORDER unset" } },
	{ "index under CUDA_DEVICE_ORDER=PCI_BUS_ID",
	  { "CUDA_DEVICE_ORDER=PCI_BUS_ID", "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=4,6" },
	  OK(4, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { "CUDA_VISIBLE_DEVICES[0]=4 -> GPU 4 (0000:5d:00.0)" },
	  .says_not = "CUDA_DEVICE_ORDER" },
	{ "index under CUDA_DEVICE_ORDER=FASTEST_FIRST is refused",
	  { "CUDA_DEVICE_ORDER=FASTEST_FIRST", "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=4,6" },
	  .err = -EINVAL,
	  .says = { "CUDA_VISIBLE_DEVICES[1]=\"6\"", "CUDA_DEVICE_ORDER=\"FASTEST_FIRST\"",
		    "PCI bus order", "CUDA_DEVICE_ORDER=PCI_BUS_ID", "UUID" } },
	{ "index under an empty CUDA_DEVICE_ORDER is refused",
	  { "CUDA_DEVICE_ORDER=", "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=4" },
	  .err = -EINVAL, .says = { "CUDA_DEVICE_ORDER=\"\"" } },
	{ "CUDA_DEVICE_ORDER is compared exactly",
	  { "CUDA_DEVICE_ORDER=pci_bus_id", "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=4" },
	  .err = -EINVAL, .says = { "pci_bus_id" } },
	{ "CUDA_DEVICE_ORDER does not concern HIP_VISIBLE_DEVICES",
	  { "CUDA_DEVICE_ORDER=FASTEST_FIRST", "LOCAL_RANK=0", "HIP_VISIBLE_DEVICES=2,3" },
	  OK(2, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("HIP_VISIBLE_DEVICES"),
	  .says = { "HIP_VISIBLE_DEVICES[0]=2 -> GPU 2 (0000:3a:00.0)" },
	  .says_not = "CUDA_DEVICE_ORDER" },
	{ "ROCR_VISIBLE_DEVICES index", { "SLURM_LOCALID=1", "ROCR_VISIBLE_DEVICES=5,1" },
	  OK(1, VISIBLE_INDEX), RANK_VAR("SLURM_LOCALID"), LIST_VAR("ROCR_VISIBLE_DEVICES"),
	  .says = { "SLURM_LOCALID=1 -> ROCR_VISIBLE_DEVICES[1]=1 -> GPU 1" } },
	{ "CUDA_VISIBLE_DEVICES before HIP_VISIBLE_DEVICES",
	  { "HIP_VISIBLE_DEVICES=2", "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=3" },
	  OK(3, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "HIP_VISIBLE_DEVICES before ROCR_VISIBLE_DEVICES",
	  { "ROCR_VISIBLE_DEVICES=2", "LOCAL_RANK=0", "HIP_VISIBLE_DEVICES=3" },
	  OK(3, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("HIP_VISIBLE_DEVICES") },
	{ "an empty CUDA_VISIBLE_DEVICES hides the next list",
	  { "HIP_VISIBLE_DEVICES=2", "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=" },
	  .err = -ENODEV, .says = { "CUDA_VISIBLE_DEVICES", "no GPU is visible" } },
	{ "blanks around entries", { "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES= 3 ,\t5 " },
	  OK(5, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { "CUDA_VISIBLE_DEVICES[1]=5 -> GPU 5" } },
	{ "blanks around the first entry", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES= 3 ,\t5 " },
	  OK(3, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "a trailing comma past the rank's entry", { "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=0,1," },
	  OK(1, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "a malformed entry after the rank's one is not read",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=2,banana" },
	  OK(2, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },

	/* Lists that name no GPU, or not this worker's. */
	{ "empty CUDA_VISIBLE_DEVICES", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=" },
	  .err = -ENODEV, .says = { "CUDA_VISIBLE_DEVICES=\"\"", "no GPU is visible" } },
	{ "blank CUDA_VISIBLE_DEVICES", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=  " },
	  .err = -ENODEV, .says = { "CUDA_VISIBLE_DEVICES", "empty" } },
	{ "empty HIP_VISIBLE_DEVICES without a rank", { "HIP_VISIBLE_DEVICES=" },
	  .err = -ENODEV, .says = { "HIP_VISIBLE_DEVICES", "no GPU is visible" } },
	{ "rank past the end of the list", { "LOCAL_RANK=2", "CUDA_VISIBLE_DEVICES=0,1" },
	  .err = -ERANGE, .says = { "LOCAL_RANK=2", "CUDA_VISIBLE_DEVICES=\"0,1\"", "2 GPUs" } },
	{ "rank past a one-GPU list", { "SLURM_LOCALID=1", "CUDA_VISIBLE_DEVICES=3" },
	  .err = -ERANGE, .says = { "SLURM_LOCALID=1", "CUDA_VISIBLE_DEVICES", "1 GPU,",
				    "--gpu" } },
	{ "index past the GPUs", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=8" },
	  .err = -ERANGE, .says = { "CUDA_VISIBLE_DEVICES[0]=\"8\"", "8 GPUs" } },
	{ "index far past the GPUs", { "LOCAL_RANK=0", "HIP_VISIBLE_DEVICES=99999999999999999999" },
	  .err = -ERANGE, .says = { "HIP_VISIBLE_DEVICES[0]", "8 GPUs" } },

	/* Malformed entries. */
	{ "word entry", { "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=0,abc" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[1]=\"abc\"", "neither" } },
	{ "negative entry", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=-1" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]=\"-1\"" } },
	{ "decimal point entry", { "LOCAL_RANK=0", "ROCR_VISIBLE_DEVICES=1.5" },
	  .err = -EINVAL, .says = { "ROCR_VISIBLE_DEVICES[0]=\"1.5\"" } },
	{ "hex entry", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=0x1" },
	  .err = -EINVAL, .says = { "\"0x1\"" } },
	{ "empty entry", { "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=0,,1" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[1]=\"\"" } },
	{ "a malformed entry before the rank's one",
	  { "LOCAL_RANK=2", "CUDA_VISIBLE_DEVICES=0,x,2" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[1]=\"x\"", "CUDA ignores" } },
	{ "blank inside an entry", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=1 2" },
	  .err = -EINVAL, .says = { "\"1 2\"" } },

	/* UUIDs and their prefixes. */
	{ "full UUID", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=" UUID_GPU3 },
	  OK(3, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { "CUDA_VISIBLE_DEVICES[0]=" UUID_GPU3 " -> GPU 3 (0000:41:00.0, " UUID_GPU3
		    ")" },
	  .says_not = "CUDA_DEVICE_ORDER" },
	{ "upper-case UUID",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-E0E1E2E3-E4E5-E6E7-E8E9-EAEBECEDEEEF" },
	  OK(3, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "UUID without dashes",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1e2e3e4e5e6e7e8e9eaebecedeeef" },
	  OK(3, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "UUID with some dashes",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1e2e3e4e5-e6e7e8e9-eaebecedeeef" },
	  OK(3, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "UUID with a dash out of place",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1-e2e3-e4e5-e6e7-e8e9eaebecedeeef" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]", "neither" } },
	{ "UUID with two dashes in a row",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1e2e3--e4e5" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]" } },
	{ "UUID with 33 digits",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=" UUID_GPU3 "0" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]" } },
	{ "UUID with a non-hex digit", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1e2eg" },
	  .err = -EINVAL, .says = { "\"GPU-e0e1e2eg\"" } },
	{ "lower-case gpu- is no UUID", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=gpu-e0e1e2e3" },
	  .err = -EINVAL, .says = { "\"gpu-e0e1e2e3\"" } },
	{ "GPU- alone", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-" },
	  .err = -EINVAL, .says = { "\"GPU-\"" } },
	{ "unique 4-digit prefix", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1" },
	  OK(3, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { "=GPU-e0e1 -> GPU 3 (0000:41:00.0, " UUID_GPU3 ")" } },
	{ "unique prefix ending in a dash",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-deadbeef-" },
	  OK(6, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { UUID_GPU6 } },
	{ "prefix that tells GPU 0 from GPU 1",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-1a2b3" },
	  OK(0, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "prefix that tells GPU 1 from GPU 0",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-1a2b9" },
	  OK(1, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "ambiguous prefix", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-1a2b" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]=\"GPU-1a2b\"", "several" } },
	{ "prefix of 3 digits is too short", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]=\"GPU-e0e\"", "at least 4" } },
	{ "UUID no GPU has",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-12345678-0000-0000-0000-000000000000" },
	  .err = -ENODEV,
	  .says = { "CUDA_VISIBLE_DEVICES[0]", "no GPU of the gpusched topology has UUID "
		    "GPU-12345678-0000-0000-0000-000000000000;", "NVML" } },
	{ "prefix no GPU has", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-9999" },
	  .err = -ENODEV, .says = { "has UUID GPU-9999...", "gpuschedd" } },
	{ "the all-zero UUID matches no GPU",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-00000000-0000-0000-0000-000000000000" },
	  .err = -ENODEV, .says = { "CUDA_VISIBLE_DEVICES[0]" } },
	{ "a zero prefix matches no GPU", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-0000" },
	  .err = -ENODEV, .says = { "GPU-0000" } },
	{ "UUID under CUDA_DEVICE_ORDER=FASTEST_FIRST",
	  { "CUDA_DEVICE_ORDER=FASTEST_FIRST", "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-dead" },
	  OK(6, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "mixed list: the UUID entry",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-deadbeef,3" },
	  OK(6, VISIBLE_UUID), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "mixed list: the index entry",
	  { "LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=GPU-deadbeef,3" },
	  OK(3, VISIBLE_INDEX), RANK_VAR("LOCAL_RANK"), LIST_VAR("CUDA_VISIBLE_DEVICES") },
	{ "UUID entry with blanks",
	  { "OMPI_COMM_WORLD_LOCAL_RANK=1", "CUDA_VISIBLE_DEVICES=0, " UUID_GPU6 " " },
	  OK(6, VISIBLE_UUID), RANK_VAR("OMPI_COMM_WORLD_LOCAL_RANK"),
	  LIST_VAR("CUDA_VISIBLE_DEVICES") },

	/* MIG instances and AMD UUIDs. */
	{ "MIG instance",
	  { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=MIG-7ed1e8a4-9a2d-5c5b-8b43-1b5e1a0b9c11" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]", "MIG", "PCI function",
				    "parent GPU" } },
	{ "MIG instance in the old format",
	  { "LOCAL_RANK=1",
	    "CUDA_VISIBLE_DEVICES=0,MIG-GPU-e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeef/1/0" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[1]", "MIG instance" } },
	{ "MIG instance without a rank", { "CUDA_VISIBLE_DEVICES=MIG-7ed1e8a4" },
	  .err = -EINVAL, .says = { "CUDA_VISIBLE_DEVICES[0]", "MIG" } },
	{ "MIG- alone is malformed", { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=MIG-" },
	  .err = -EINVAL, .says = { "neither" } },
	{ "AMD UUID in HIP_VISIBLE_DEVICES",
	  { "LOCAL_RANK=0", "HIP_VISIBLE_DEVICES=GPU-4a0b1c2d3e4f5a6b" },
	  .err = -EINVAL, .says = { "HIP_VISIBLE_DEVICES[0]", "not AMD's", "by index" } },
	{ "AMD UUID in ROCR_VISIBLE_DEVICES",
	  { "SLURM_LOCALID=1", "ROCR_VISIBLE_DEVICES=0,GPU-4a0b1c2d3e4f5a6b" },
	  .err = -EINVAL, .says = { "ROCR_VISIBLE_DEVICES[1]", "by index" } },

	/* No rank. */
	{ "one index and no rank", { "CUDA_VISIBLE_DEVICES=3" },
	  OK(3, ONLY_VISIBLE), LIST_VAR("CUDA_VISIBLE_DEVICES"),
	  .says = { "no local rank", "CUDA_VISIBLE_DEVICES=3", "GPU 3 (0000:41:00.0)",
		    "CUDA_DEVICE_ORDER unset" } },
	{ "one blank-wrapped index and no rank", { "HIP_VISIBLE_DEVICES= 2 " },
	  OK(2, ONLY_VISIBLE), LIST_VAR("HIP_VISIBLE_DEVICES") },
	{ "one UUID and no rank", { "CUDA_VISIBLE_DEVICES=GPU-deadbeef" },
	  OK(6, ONLY_VISIBLE), LIST_VAR("CUDA_VISIBLE_DEVICES"), .says = { UUID_GPU6 } },
	{ "one index under FASTEST_FIRST and no rank",
	  { "CUDA_DEVICE_ORDER=FASTEST_FIRST", "CUDA_VISIBLE_DEVICES=3" },
	  .err = -EINVAL, .says = { "CUDA_DEVICE_ORDER", "PCI_BUS_ID" } },
	{ "one index past the GPUs and no rank", { "ROCR_VISIBLE_DEVICES=9" },
	  .err = -ERANGE, .says = { "ROCR_VISIBLE_DEVICES[0]", "8 GPUs" } },
	{ "several GPUs and no rank", { "CUDA_VISIBLE_DEVICES=2,3" },
	  .err = -ENOENT, .says = { "CUDA_VISIBLE_DEVICES=\"2,3\"", "2 GPUs", "LOCAL_RANK",
				    "--gpu" } },
	{ "nothing set", { "PATH=/usr/bin", "HOME=/root" },
	  .err = -ENOENT,
	  .says = { "LOCAL_RANK, SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID",
		    "CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES",
		    "--gpu" } },
	{ "an empty environment", { NULL }, .err = -ENOENT, .says = { "--gpu" } },
};

static const char *source_name(enum gpusched_gpu_source source)
{
	switch (source) {
	case GPUSCHED_GPU_FROM_RANK:
		return "rank";
	case GPUSCHED_GPU_FROM_VISIBLE_INDEX:
		return "visible index";
	case GPUSCHED_GPU_FROM_VISIBLE_UUID:
		return "visible UUID";
	case GPUSCHED_GPU_FROM_ONLY_VISIBLE:
		return "only visible";
	}
	return "none";
}

static bool same_name(const char *got, const char *expected)
{
	return got == expected || (got && expected && !strcmp(got, expected));
}

/* The local rank a case's environment holds in @variable, as the resolver must read it. */
static int expected_rank(char *const *env, const char *variable)
{
	size_t len;

	if (!variable)
		return -1;
	len = strlen(variable);
	for (; *env; env++) {
		if (!strncmp(*env, variable, len) && (*env)[len] == '=')
			return atoi(*env + len + 1);
	}
	return -2;
}

static void test_resolve_table(void)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(resolve_cases); i++) {
		const struct resolve_case *c = &resolve_cases[i];
		struct gpusched_gpu_choice choice;
		char message[GPUSCHED_MESSAGE_SIZE];
		const char *text;
		bool pass;
		int err;

		/* Garbage first: the message must be terminated, the choice written. */
		memset(message, 'X', sizeof(message));
		memset(&choice, 0xa5, sizeof(choice));
		err = gpusched_resolve_gpu(c->env, ARRAY_SIZE(gpus), gpus, &choice, message);

		pass = err == c->err && memchr(message, '\0', sizeof(message)) &&
		       !strchr(message, '\n');
		text = err ? message : choice.explanation;
		if (!err) {
			pass = pass && !message[0] && choice.gpu == c->gpu &&
			       choice.source == c->source &&
			       same_name(choice.rank_variable, c->rank_variable) &&
			       same_name(choice.visible_variable, c->visible_variable) &&
			       choice.local_rank == expected_rank(c->env, c->rank_variable) &&
			       memchr(choice.explanation, '\0', sizeof(choice.explanation)) &&
			       choice.explanation[0] && !strchr(choice.explanation, '\n');
		}
		for (j = 0; j < MAX_SAYS && c->says[j] && pass; j++)
			pass = strstr(text, c->says[j]) != NULL;
		if (c->says_not && pass)
			pass = !strstr(text, c->says_not);

		if (!tap_ok(pass, "resolve: %s", c->name)) {
			tap_diag("expected %d gpu %u source %s; got %d", c->err, c->gpu,
				 source_name(c->source), err);
			if (!err)
				tap_diag("got gpu %u source %s rank %d (%s) list %s", choice.gpu,
					 source_name(choice.source), choice.local_rank,
					 choice.rank_variable ? choice.rank_variable : "-",
					 choice.visible_variable ? choice.visible_variable : "-");
			if (memchr(message, '\0', sizeof(message)))
				tap_diag("message: %s", message);
			if (!err)
				tap_diag("explanation: %s", choice.explanation);
		}
	}
}

/* What the table cannot say: NULL arguments, other topologies, long values. */
static void test_resolve_edges(void)
{
	char *rank1[] = { "LOCAL_RANK=1", NULL };
	char *uuid_entry[] = { "LOCAL_RANK=0", "CUDA_VISIBLE_DEVICES=GPU-e0e1", NULL };
	char *no_rank[] = { "CUDA_VISIBLE_DEVICES=1,2", NULL };
	struct gpusched_gpu_choice choice;
	char message[GPUSCHED_MESSAGE_SIZE];
	struct gpusched_gpu twins[2], blank[2];
	char long_list[400], long_var[440];
	char *long_env[] = { "LOCAL_RANK=0", long_var, NULL };
	char rank_var[] = "LOCAL_RANK=2";
	char *mutable_env[] = { rank_var, NULL };
	int err;

	err = gpusched_resolve_gpu(NULL, ARRAY_SIZE(gpus), gpus, &choice, message);
	tap_ok(err == -ENOENT && strstr(message, "--gpu"), "resolve: a NULL envp is empty");

	err = gpusched_resolve_gpu(rank1, ARRAY_SIZE(gpus), gpus, &choice, NULL);
	tap_ok(err == 0 && choice.gpu == 1, "resolve: success without a message buffer");
	err = gpusched_resolve_gpu(no_rank, ARRAY_SIZE(gpus), gpus, &choice, NULL);
	tap_ok(err == -ENOENT, "resolve: failure without a message buffer");

	strcpy(message, "left over from before");
	err = gpusched_resolve_gpu(rank1, ARRAY_SIZE(gpus), gpus, &choice, message);
	tap_ok(err == 0 && message[0] == '\0', "resolve: success empties the message");

	err = gpusched_resolve_gpu(rank1, ARRAY_SIZE(gpus), gpus, NULL, message);
	tap_ok(err == -EINVAL && strstr(message, "choice"), "resolve: NULL choice is -EINVAL");
	err = gpusched_resolve_gpu(rank1, 2, NULL, &choice, message);
	tap_ok(err == -EINVAL && strstr(message, "gpus"), "resolve: NULL gpus is -EINVAL");

	err = gpusched_resolve_gpu(rank1, 0, NULL, &choice, message);
	tap_ok(err == -ERANGE && strstr(message, "0 GPUs") && strstr(message, "gpuschedd"),
	       "resolve: an empty topology asks whether gpuschedd runs");

	err = gpusched_resolve_gpu(no_rank, ARRAY_SIZE(gpus), gpus, &choice, message);
	tap_ok(err && choice.local_rank == -1 && !choice.rank_variable &&
	       same_name(choice.visible_variable, "CUDA_VISIBLE_DEVICES"),
	       "resolve: a failure still says what was read");

	/* Two GPUs with one UUID: even the whole UUID is ambiguous. */
	memcpy(twins, &gpus[3], sizeof(twins[0]));
	memcpy(&twins[1], &gpus[3], sizeof(twins[1]));
	twins[1].bus = 0x42;
	err = gpusched_resolve_gpu(uuid_entry, 2, twins, &choice, message);
	tap_ok(err == -EINVAL && strstr(message, "several"),
	       "resolve: a UUID two GPUs report is ambiguous");

	/* Without NVML the daemon leaves every UUID zero. */
	memcpy(blank, gpus, sizeof(blank));
	memset(blank[0].uuid, 0, sizeof(blank[0].uuid));
	memset(blank[1].uuid, 0, sizeof(blank[1].uuid));
	err = gpusched_resolve_gpu(uuid_entry, 2, blank, &choice, message);
	tap_ok(err == -ENODEV && strstr(message, "NVML"),
	       "resolve: UUIDs against a topology without UUIDs are -ENODEV");

	/* A long value is quoted cut, and the message still ends in the buffer. */
	memset(long_list, 'x', sizeof(long_list) - 1);
	long_list[sizeof(long_list) - 1] = '\0';
	snprintf(long_var, sizeof(long_var), "CUDA_VISIBLE_DEVICES=%s", long_list);
	memset(message, 'X', sizeof(message));
	err = gpusched_resolve_gpu(long_env, ARRAY_SIZE(gpus), gpus, &choice, message);
	tap_ok(err == -EINVAL && memchr(message, '\0', sizeof(message)) &&
	       strstr(message, "xxx...") && strlen(message) < 300,
	       "resolve: a long value is cut in the message");

	/* The variable names are the library's, not pointers into the environment. */
	err = gpusched_resolve_gpu(mutable_env, ARRAY_SIZE(gpus), gpus, &choice, message);
	memset(rank_var, '#', sizeof(rank_var) - 1);
	tap_ok(err == 0 && choice.gpu == 2 && !strcmp(choice.rank_variable, "LOCAL_RANK"),
	       "resolve: rank_variable outlives the environment");
}

struct uuid_parse_case {
	const char *text;
	int err;
	int gpu;		/* whose UUID it is, when err is 0 */
};

static const struct uuid_parse_case uuid_parse_cases[] = {
	{ UUID_GPU3, 0, 3 },
	{ "GPU-E0E1E2E3-E4E5-E6E7-E8E9-EAEBECEDEEEF", 0, 3 },
	{ "GPU-e0e1e2e3e4e5e6e7e8e9eaebecedeeef", 0, 3 },
	{ "GPU-e0e1e2e3-e4e5e6e7e8e9-eaebecedeeef", 0, 3 },
	{ UUID_GPU6, 0, 6 },
	{ "GPU-0badf00d-aabb-ccdd-eeff-001122334455", 0, 7 },
	{ "", -EINVAL, 0 },
	{ "GPU-", -EINVAL, 0 },
	{ "GPU-e0e1", -EINVAL, 0 },
	{ "GPU-e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeee", -EINVAL, 0 },
	{ UUID_GPU3 "0", -EINVAL, 0 },
	{ UUID_GPU3 "-", -EINVAL, 0 },
	{ UUID_GPU3 "\n", -EINVAL, 0 },
	{ " " UUID_GPU3, -EINVAL, 0 },
	{ "gpu-e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeef", -EINVAL, 0 },
	{ "MIG-e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeef", -EINVAL, 0 },
	{ "e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeef", -EINVAL, 0 },
	{ "GPU-e0e1e2e3--e4e5-e6e7-e8e9-eaebecedeeef", -EINVAL, 0 },
	{ "GPU--e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeef", -EINVAL, 0 },
	{ "GPU-e0e1e2e-3e4e5-e6e7-e8e9-eaebecedeeef", -EINVAL, 0 },
	{ "GPU-e0e1e2e3-e4e5-e6e7-e8e9-eaebecedeeeg", -EINVAL, 0 },
	{ "GPU-e0e1e2e3-e4e5-e6e7-e8e9-eaeb-ecedeeef", -EINVAL, 0 },
};

/*
 * Returns @text with newlines shown as "\n", in a static buffer: a raw
 * newline in a test name would end the TAP line.
 */
static const char *escaped(const char *text)
{
	static char buf[128];
	size_t out = 0;

	for (; *text && out + 3 < sizeof(buf); text++) {
		if (*text == '\n') {
			buf[out++] = '\\';
			buf[out++] = 'n';
		} else {
			buf[out++] = *text;
		}
	}
	buf[out] = '\0';
	return buf;
}

static void test_uuid_parse(void)
{
	uint8_t uuid[16], untouched[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(uuid_parse_cases); i++) {
		const struct uuid_parse_case *c = &uuid_parse_cases[i];
		int err;

		memset(uuid, 0xa5, sizeof(uuid));
		memset(untouched, 0xa5, sizeof(untouched));
		err = gpusched_uuid_parse(c->text, uuid);
		if (c->err)
			tap_ok(err == c->err && !memcmp(uuid, untouched, sizeof(uuid)),
			       "uuid_parse: \"%s\" is %d and leaves the UUID alone",
			       escaped(c->text), c->err);
		else
			tap_ok(err == 0 && !memcmp(uuid, gpus[c->gpu].uuid, sizeof(uuid)),
			       "uuid_parse: \"%s\" is GPU %d's", c->text, c->gpu);
	}
	tap_ok(gpusched_uuid_parse(NULL, uuid) == -EINVAL, "uuid_parse: NULL is -EINVAL");
}

static void test_uuid_format(void)
{
	static const uint8_t zero[16];
	uint8_t back[16];
	char text[41];
	size_t i;
	bool pass = true;

	gpusched_uuid_format(gpus[3].uuid, text);
	tap_ok(!strcmp(text, UUID_GPU3), "uuid_format: GPU 3 is \"%s\" (got \"%s\")",
	       UUID_GPU3, text);
	gpusched_uuid_format(gpus[7].uuid, text);
	tap_ok(!strcmp(text, "GPU-0badf00d-aabb-ccdd-eeff-001122334455") && strlen(text) == 40,
	       "uuid_format: leading zero digits are kept, 40 characters");
	memset(text, 'X', sizeof(text));
	gpusched_uuid_format(zero, text);
	tap_ok(text[0] == '\0', "uuid_format: all zero is \"\"");

	for (i = 0; i < ARRAY_SIZE(gpus); i++) {
		if (!memcmp(gpus[i].uuid, zero, sizeof(zero)))
			continue;
		gpusched_uuid_format(gpus[i].uuid, text);
		pass = pass && !gpusched_uuid_parse(text, back) &&
		       !memcmp(back, gpus[i].uuid, sizeof(back));
	}
	tap_ok(pass, "uuid_format then uuid_parse gives back every fixture UUID");

	/* Every byte value in every position, against a formatter we trust. */
	pass = true;
	for (i = 0; i < 256; i++) {
		uint8_t uuid[16];
		char expected[41];
		size_t b;

		for (b = 0; b < 16; b++)
			uuid[b] = (uint8_t)(i * 17 + b * 31 + 1);
		snprintf(expected, sizeof(expected),
			 "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x%02x%02x%02x%02x",
			 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7],
			 uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14],
			 uuid[15]);
		gpusched_uuid_format(uuid, text);
		pass = pass && !strcmp(text, expected) && !gpusched_uuid_parse(text, back) &&
		       !memcmp(back, uuid, sizeof(back));
	}
	tap_ok(pass, "uuid_format matches the NVML layout and round-trips for 256 UUIDs");
}

int main(void)
{
	tap_start();
	test_resolve_table();
	test_resolve_edges();
	test_uuid_parse();
	test_uuid_format();
	return tap_done();
}
