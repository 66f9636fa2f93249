// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the shared CPU masks (gpusched_mask.c): a set of CPUs is
 * kept once however many records hold it, let go with its last holder (a
 * few are kept as spares for the next new masks), told apart by a digest
 * that ignores bits past nr_cpu_ids, and taken from the reserve only when
 * new, so that a caller that reserved first cannot fail.
 * Built into gpusched_kunit.ko with its own copy of the table (see
 * gpusched_kunit.c), so the loaded gpusched.ko is not touched.
 */
#include <kunit/test.h>

static int gpusched_mask_test_init(struct kunit *test)
{
	gpusched_mask_init();
	return 0;
}

static void gpusched_mask_test_exit(struct kunit *test)
{
	/* Every case puts what it took: nothing is left but spares. */
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 0U);
	gpusched_mask_exit();
}

/*
 * Frees the spare masks, as if none had ever been reserved or let go, and
 * forgets the mask interned last.
 */
static void gpusched_test_drop_spares(void)
{
	gpusched_mask_exit();
}

static struct cpumask *gpusched_test_cpus(struct kunit *test)
{
	struct cpumask *cpus = kunit_kzalloc(test, cpumask_size(), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, cpus);
	return cpus;
}

static void mask_same_cpus_are_kept_once(struct kunit *test)
{
	struct cpumask *cpus = gpusched_test_cpus(test);
	struct gpusched_mask *a, *b, *c, *d;

	cpumask_set_cpu(0, cpus);
	a = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, a);
	b = gpusched_mask_get(cpus);
	KUNIT_ASSERT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, refcount_read(&a->ref), 2U);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 1U);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(gpusched_mask_cpus(a), cpus));

	/* Other CPUs, another mask; the first is untouched. */
	cpumask_clear(cpus);
	c = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_PTR_NE(test, a, c);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 2U);
	KUNIT_EXPECT_TRUE(test, cpumask_test_cpu(0, gpusched_mask_cpus(a)));
	KUNIT_EXPECT_TRUE(test, cpumask_empty(gpusched_mask_cpus(c)));

	/* Found by its digest too, not only as the mask interned last. */
	cpumask_set_cpu(0, cpus);
	d = gpusched_mask_get(cpus);
	KUNIT_EXPECT_PTR_EQ(test, d, a);
	KUNIT_EXPECT_EQ(test, refcount_read(&a->ref), 3U);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 2U);

	gpusched_mask_put(d);
	gpusched_mask_put(c);
	gpusched_mask_put(b);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 1U);
	KUNIT_EXPECT_EQ(test, refcount_read(&a->ref), 1U);
	gpusched_mask_put(a);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 0U);
	gpusched_mask_put(NULL);
}

static void mask_digest_tells_cpus_apart(struct kunit *test)
{
	struct cpumask *cpus = gpusched_test_cpus(test);
	unsigned int i, j, n = min(nr_cpu_ids, 64U);
	u64 *digests;

	digests = kunit_kcalloc(test, n + 1, sizeof(*digests), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, digests);
	for (i = 0; i < n; i++) {
		cpumask_clear(cpus);
		cpumask_set_cpu(i, cpus);
		digests[i] = gpusched_mask_digest(cpus);
	}
	cpumask_clear(cpus);
	digests[n] = gpusched_mask_digest(cpus);
	for (i = 0; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			KUNIT_EXPECT_NE(test, digests[i], digests[j]);
	/* The last possible CPU is part of the digest too. */
	cpumask_set_cpu(nr_cpu_ids - 1, cpus);
	KUNIT_EXPECT_NE(test, gpusched_mask_digest(cpus), digests[n]);
}

static void mask_digest_ignores_bits_past_the_last_cpu(struct kunit *test)
{
	struct cpumask *cpus = gpusched_test_cpus(test);
	u64 digest;

	if (nr_cpu_ids % BITS_PER_LONG == 0)
		kunit_skip(test, "nr_cpu_ids (%u) fills its last word", nr_cpu_ids);
	cpumask_set_cpu(0, cpus);
	digest = gpusched_mask_digest(cpus);
	/*
	 * As a thread's own mask from sched_setaffinity() may carry them:
	 * masks that cpumask_equal() finds equal must never differ in
	 * digest, whether it compares those bits (NR_CPUS of one word) or
	 * not.
	 */
	__set_bit(nr_cpu_ids, cpumask_bits(cpus));
	KUNIT_EXPECT_EQ(test, gpusched_mask_digest(cpus), digest);
}

static void mask_intern_takes_the_reserve_only_when_new(struct kunit *test)
{
	struct cpumask *cpus = gpusched_test_cpus(test);
	struct gpusched_mask *a, *b;

	/* No spare: a new set of CPUs cannot be kept... */
	gpusched_test_drop_spares();
	cpumask_set_cpu(nr_cpu_ids - 1, cpus);
	KUNIT_EXPECT_NULL(test, gpusched_mask_intern(cpus));
	/* ...until one is reserved, and one reserve serves one new mask. */
	KUNIT_ASSERT_EQ(test, gpusched_mask_reserve(), 0);
	a = gpusched_mask_intern(cpus);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, 0U);
	/* A set already kept needs no spare. */
	b = gpusched_mask_intern(cpus);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	cpumask_clear(cpus);
	KUNIT_EXPECT_NULL(test, gpusched_mask_intern(cpus));
	/* Reserving twice keeps one spare. */
	KUNIT_ASSERT_EQ(test, gpusched_mask_reserve(), 0);
	KUNIT_ASSERT_EQ(test, gpusched_mask_reserve(), 0);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, 1U);
	gpusched_mask_put(b);
	gpusched_mask_put(gpusched_mask_hold(a));
	gpusched_mask_put(a);
}

/* @cpus set to the first @n CPUs: a different set for each @n. */
static void gpusched_test_first_cpus(struct cpumask *cpus, unsigned int n)
{
	unsigned int cpu;

	cpumask_clear(cpus);
	for (cpu = 0; cpu < n; cpu++)
		cpumask_set_cpu(cpu, cpus);
}

static void mask_let_go_becomes_a_spare(struct kunit *test)
{
	struct gpusched_mask *masks[GPUSCHED_MASK_SPARES + 1], *again, *other;
	struct cpumask *cpus = gpusched_test_cpus(test);
	unsigned int i;

	if (nr_cpu_ids < ARRAY_SIZE(masks) - 1)
		kunit_skip(test, "needs %zu CPUs, nr_cpu_ids is %u", ARRAY_SIZE(masks) - 1,
			   nr_cpu_ids);
	gpusched_test_drop_spares();
	for (i = 0; i < ARRAY_SIZE(masks); i++) {
		gpusched_test_first_cpus(cpus, i);
		masks[i] = gpusched_mask_get(cpus);
		KUNIT_ASSERT_NOT_NULL(test, masks[i]);
	}
	KUNIT_ASSERT_EQ(test, gpusched_nr_masks, (unsigned int)ARRAY_SIZE(masks));
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, 0U);
	/* A mask that a holder still holds stays in the table. */
	gpusched_mask_put(gpusched_mask_hold(masks[0]));
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, (unsigned int)ARRAY_SIZE(masks));
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, 0U);
	/* The last holder's put keeps the mask, up to GPUSCHED_MASK_SPARES of them... */
	for (i = 0; i < ARRAY_SIZE(masks); i++)
		gpusched_mask_put(masks[i]);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 0U);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, GPUSCHED_MASK_SPARES);
	/* ...and a new set of CPUs takes the last one kept, without allocating. */
	cpumask_setall(cpus);
	again = gpusched_mask_intern(cpus);
	KUNIT_ASSERT_NOT_NULL(test, again);
	KUNIT_EXPECT_PTR_EQ(test, again, masks[GPUSCHED_MASK_SPARES - 1]);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, GPUSCHED_MASK_SPARES - 1);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(gpusched_mask_cpus(again), cpus));
	KUNIT_EXPECT_EQ(test, again->digest, gpusched_mask_digest(cpus));
	KUNIT_EXPECT_EQ(test, refcount_read(&again->ref), 1U);
	/* It is no longer found by the CPUs it had before. */
	gpusched_test_first_cpus(cpus, GPUSCHED_MASK_SPARES - 1);
	other = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, other);
	KUNIT_EXPECT_PTR_NE(test, other, again);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(gpusched_mask_cpus(other), cpus));
	gpusched_mask_put(other);
	gpusched_mask_put(again);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, GPUSCHED_MASK_SPARES);

	/*
	 * The mask interned last, let go, is a spare and no longer the last:
	 * the same CPUs again take that spare back, with its digest and one
	 * holder, into the table, where the next intern finds it.
	 */
	gpusched_test_first_cpus(cpus, 1);
	other = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, other);
	gpusched_mask_put(other);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 0U);
	again = gpusched_mask_intern(cpus);
	KUNIT_ASSERT_NOT_NULL(test, again);
	KUNIT_EXPECT_PTR_EQ(test, again, other);
	KUNIT_EXPECT_EQ(test, again->digest, gpusched_mask_digest(cpus));
	KUNIT_EXPECT_EQ(test, refcount_read(&again->ref), 1U);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 1U);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, GPUSCHED_MASK_SPARES - 1);
	/* Found in the table under that digest, once it is not the mask interned last. */
	gpusched_test_first_cpus(cpus, 2);
	other = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, other);
	gpusched_test_first_cpus(cpus, 1);
	KUNIT_EXPECT_PTR_EQ(test, gpusched_mask_intern(cpus), again);
	KUNIT_EXPECT_EQ(test, refcount_read(&again->ref), 2U);
	gpusched_mask_put(other);
	gpusched_mask_put(again);
	gpusched_mask_put(again);
}

/*
 * Two spares of different CPUs: each set is given back its own spare, and
 * a blank spare (allocated, never interned) is no mask of the empty set.
 */
static void mask_spare_taken_back_by_its_cpus(struct kunit *test)
{
	struct gpusched_mask *one, *two, *empty;
	struct cpumask *cpus = gpusched_test_cpus(test);

	if (nr_cpu_ids < 2)
		kunit_skip(test, "needs 2 CPUs, nr_cpu_ids is %u", nr_cpu_ids);
	gpusched_test_drop_spares();
	gpusched_test_first_cpus(cpus, 1);
	one = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, one);
	gpusched_test_first_cpus(cpus, 2);
	two = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, two);
	gpusched_mask_put(one);
	gpusched_mask_put(two);
	KUNIT_ASSERT_EQ(test, gpusched_nr_spares, 2U);
	/* The first spare on the list is two's: one's CPUs still find one. */
	gpusched_test_first_cpus(cpus, 1);
	KUNIT_EXPECT_PTR_EQ(test, gpusched_mask_intern(cpus), one);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(gpusched_mask_cpus(one), cpus));
	gpusched_test_first_cpus(cpus, 2);
	KUNIT_EXPECT_PTR_EQ(test, gpusched_mask_intern(cpus), two);
	KUNIT_EXPECT_TRUE(test, cpumask_equal(gpusched_mask_cpus(two), cpus));
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 2U);
	KUNIT_EXPECT_EQ(test, gpusched_nr_spares, 0U);
	gpusched_mask_put(one);
	gpusched_mask_put(two);

	gpusched_test_drop_spares();
	KUNIT_ASSERT_EQ(test, gpusched_mask_reserve(), 0);
	cpumask_clear(cpus);
	empty = gpusched_mask_intern(cpus);
	KUNIT_ASSERT_NOT_NULL(test, empty);
	KUNIT_EXPECT_EQ(test, empty->digest, gpusched_mask_digest(cpus));
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 1U);
	/* In the table under its digest: found again, once another mask was interned last. */
	gpusched_test_first_cpus(cpus, 1);
	one = gpusched_mask_get(cpus);
	KUNIT_ASSERT_NOT_NULL(test, one);
	cpumask_clear(cpus);
	KUNIT_EXPECT_PTR_EQ(test, gpusched_mask_intern(cpus), empty);
	KUNIT_EXPECT_EQ(test, gpusched_nr_masks, 2U);
	gpusched_mask_put(one);
	gpusched_mask_put(empty);
	gpusched_mask_put(empty);
}

static struct kunit_case gpusched_mask_cases[] = {
	KUNIT_CASE(mask_same_cpus_are_kept_once),
	KUNIT_CASE(mask_digest_tells_cpus_apart),
	KUNIT_CASE(mask_digest_ignores_bits_past_the_last_cpu),
	KUNIT_CASE(mask_intern_takes_the_reserve_only_when_new),
	KUNIT_CASE(mask_let_go_becomes_a_spare),
	KUNIT_CASE(mask_spare_taken_back_by_its_cpus),
	{}
};

static struct kunit_suite gpusched_mask_suite = {
	.name = "gpusched_mask",
	.init = gpusched_mask_test_init,
	.exit = gpusched_mask_test_exit,
	.test_cases = gpusched_mask_cases,
};

kunit_test_suite(gpusched_mask_suite);
