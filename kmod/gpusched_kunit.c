// SPDX-License-Identifier: GPL-2.0
/*
 * gpusched_kunit.ko: the KUnit suites of gpusched, in a module of their own
 * that only the test harness builds (make CONFIG_GPUSCHED_KUNIT_TEST=m, on
 * a kernel with KUnit).  gpusched.ko itself never contains them, so a
 * distribution kernel with CONFIG_KUNIT=m does not make the production
 * module depend on kunit.ko or taint the kernel with test code.
 *
 * The suites test code whose state, if any, is its own file's: the
 * placement engine, the building of a topology table and the shared CPU
 * masks (this module has its own table of them).  Their sources
 * are included here whole, so the suites reach static functions and test
 * exactly what gpusched.ko links; nothing is exported between the two
 * modules, and both may be loaded at once.
 */
/* gpusched_table.c's, before any header defines the default. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "placement.c"
#include "placement_topology.c"
#include "placement_kunit.c"
#include "gpusched_table.c"
#include "gpusched_topology_kunit.c"
#include "gpusched_mask.c"
#include "gpusched_mask_kunit.c"

MODULE_DESCRIPTION("KUnit suites of gpusched: the placement engine, topology tables and CPU masks");
MODULE_LICENSE("GPL");
