// SPDX-License-Identifier: GPL-2.0
/*
 * Shared CPU masks.  A pinned thread remembers two sets of CPUs: those it
 * may use at most (restored on unpin) and those the kernel keeps for it
 * since the module last set them.  The threads of a process nearly always
 * have the same ones: the same cpuset before the pin, the worker's CPUs
 * after it, the same new CPUs when a cpuset change is followed.  So each
 * distinct set is kept once, with a count of its holders, and a thread
 * record holds pointers: its size does not grow with the number of
 * possible CPUs (a mask is 288 bytes on a machine of 2304).
 *
 * A mask never changes while it is held; a holder that needs other CPUs
 * takes another mask and puts its old one.  gpusched_masks_lock, a spinlock,
 * guards the table and the spares, so that a mask can be put from any
 * process context, with or without gpusched_lock.  Only gpusched_mask_get()
 * and gpusched_mask_reserve() allocate, and only outside the lock.  Masks
 * are made (gpusched_mask_get(), gpusched_mask_intern()) only under
 * gpusched_lock: that is what lets a caller that reserved a spare count on
 * it while it sleeps in set_cpus_allowed_ptr() (gpusched_thread_apply()).
 *
 * A mask is charged to the memory cgroup of whoever allocated it, which
 * for a spare may be another pin than the one that uses it (a spare may be
 * a mask an earlier pin let go), and for the module's own works no cgroup.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cpumask.h>
#include <linux/hashtable.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "gpusched.h"

/* Drawn at load; no user sees it, so nobody can choose masks that collide. */
static siphash_key_t gpusched_digest_key;

/*
 * Masks by digest, and up to GPUSCHED_MASK_SPARES allocated masks kept for
 * gpusched_mask_intern() (see gpusched_mask_reserve()), with their count;
 * all under gpusched_masks_lock.  A mask whose last holder lets go becomes
 * a spare while there are fewer: a thread pinned alone holds two new masks
 * (its CPUs from before and the pin's), so pinning and unpinning it again
 * and again allocates and frees none.  A spare keeps the CPUs and the
 * digest it had, and a mask of the same CPUs is that spare taken back:
 * the same pin made again (the next job step on the same GPU, from the
 * same cpuset) takes no digest.  No mask in the table has the CPUs of a
 * spare: it was the only one with them when it was let go, and any
 * intern of them since would have taken it back.  (The price: KASAN
 * cannot see a mask used after its last put while it waits as a spare.)
 */
#define GPUSCHED_MASK_SPARES 2U
static DEFINE_HASHTABLE(gpusched_masks, 6);
static HLIST_HEAD(gpusched_mask_spares);
static unsigned int gpusched_nr_spares;
static DEFINE_SPINLOCK(gpusched_masks_lock);
/*
 * The mask interned last, while it is in the table: the threads of a
 * process nearly always take the same masks one after the other, and a
 * comparison with it saves them the digest; under gpusched_masks_lock.
 */
static struct gpusched_mask *gpusched_mask_last;
/* Masks in the table, for the KUnit suite and the exit check. */
static unsigned int gpusched_nr_masks;

/**
 * gpusched_mask_init() - draw the key of the digests
 *
 * Context: module init, before any mask is made.
 */
void gpusched_mask_init(void)
{
	get_random_bytes(&gpusched_digest_key, sizeof(gpusched_digest_key));
}

/**
 * gpusched_mask_exit() - free the spare masks
 *
 * Context: module exit; no thread is pinned, so every mask was put.
 */
void gpusched_mask_exit(void)
{
	struct gpusched_mask *mask;
	struct hlist_node *next;

	if (gpusched_nr_masks)
		pr_err("%u CPU masks still held at exit\n", gpusched_nr_masks);
	hlist_for_each_entry_safe(mask, next, &gpusched_mask_spares, node)
		kfree(mask);
	INIT_HLIST_HEAD(&gpusched_mask_spares);
	gpusched_nr_spares = 0;
	gpusched_mask_last = NULL;
}

/**
 * gpusched_mask_digest() - a 64-bit digest of a set of CPUs
 * @cpus: the CPUs; bits past nr_cpu_ids, which a mask a thread asked for
 *	may carry, are ignored
 *
 * Masks that cpumask_equal() finds equal have equal digests, whether it
 * compares the bits past nr_cpu_ids (a kernel built for one word of CPUs)
 * or not; two different sets of CPUs share one with odds of 2^-64,
 * through a SipHash under a key drawn at load.
 *
 * A PIN takes three (the CPUs from before, those set, those the thread
 * asked for itself), so the digest is one SipHash of the mask's words
 * whenever it can be: only a last word that is partly past nr_cpu_ids,
 * after full ones, takes a second.
 *
 * Context: any, even under a raw spinlock: it only reads @cpus.
 * Return: the digest.
 */
u64 gpusched_mask_digest(const struct cpumask *cpus)
{
	const unsigned long *bits = cpumask_bits(cpus);
	unsigned int full = nr_cpu_ids / BITS_PER_LONG;
	size_t size = full * sizeof(unsigned long);
	unsigned long last;

	if (!(nr_cpu_ids % BITS_PER_LONG))
		return siphash(bits, size, &gpusched_digest_key);
	last = bits[full] & BITMAP_LAST_WORD_MASK(nr_cpu_ids);
	if (!full)
		return siphash_1u64(last, &gpusched_digest_key);
	return siphash_2u64(siphash(bits, size, &gpusched_digest_key), last,
			    &gpusched_digest_key);
}

static struct gpusched_mask *gpusched_mask_alloc(void)
{
	struct gpusched_mask *mask;

	mask = kzalloc(struct_size(mask, bits, cpumask_size() / sizeof(unsigned long)),
		       GFP_KERNEL_ACCOUNT);
	if (mask)
		INIT_HLIST_NODE(&mask->node);
	return mask;
}

/*
 * Keeps @mask, in no table, as a spare while there are fewer than
 * GPUSCHED_MASK_SPARES; returns whether it did.  Under gpusched_masks_lock.
 */
static bool gpusched_mask_keep_spare(struct gpusched_mask *mask)
{
	if (gpusched_nr_spares >= GPUSCHED_MASK_SPARES)
		return false;
	hlist_add_head(&mask->node, &gpusched_mask_spares);
	WRITE_ONCE(gpusched_nr_spares, gpusched_nr_spares + 1);
	return true;
}

/* Moves a filled spare into the table, with one holder; under gpusched_masks_lock. */
static void gpusched_mask_unspare(struct gpusched_mask *mask)
{
	hlist_del(&mask->node);
	WRITE_ONCE(gpusched_nr_spares, gpusched_nr_spares - 1);
	refcount_set(&mask->ref, 1);
	hash_add(gpusched_masks, &mask->node, mask->digest);
	gpusched_nr_masks++;
}

/**
 * gpusched_mask_reserve() - make sure the next gpusched_mask_intern() succeeds
 *
 * Keeps an allocated mask aside, so that a caller can be sure, before it
 * changes anything, that it will be able to remember what it changed.
 * The promise holds until the next intern, for a caller that holds
 * gpusched_lock throughout.
 *
 * Context: process context, may sleep.
 * Return: 0, or -ENOMEM.
 */
int gpusched_mask_reserve(void)
{
	struct gpusched_mask *mask;

	if (READ_ONCE(gpusched_nr_spares))
		return 0;
	mask = gpusched_mask_alloc();
	if (!mask)
		return -ENOMEM;
	spin_lock(&gpusched_masks_lock);
	if (gpusched_mask_keep_spare(mask))
		mask = NULL;
	spin_unlock(&gpusched_masks_lock);
	kfree(mask);
	return 0;
}

/**
 * gpusched_mask_intern() - a held mask of some CPUs, from the reserve if new
 * @cpus: the CPUs
 *
 * The mask of the same CPUs already held by someone, with one more
 * holder, or a spare mask filled with @cpus.  The mask interned last is
 * compared first, then the spares, and the digest is taken only when
 * neither has the same CPUs: a spare that has them goes back into the
 * table with the digest it kept.
 *
 * Context: gpusched_lock held (in the module); allocates nothing.
 * Return: the mask, or NULL when it is new and no spare was reserved.
 */
struct gpusched_mask *gpusched_mask_intern(const struct cpumask *cpus)
{
	struct gpusched_mask *mask;
	u64 digest;

	spin_lock(&gpusched_masks_lock);
	mask = gpusched_mask_last;
	if (mask && cpumask_equal(gpusched_mask_cpus(mask), cpus)) {
		refcount_inc(&mask->ref);
		goto out;
	}
	/* The table has no mask of a spare's CPUs (see gpusched_mask_spares). */
	hlist_for_each_entry(mask, &gpusched_mask_spares, node) {
		if (mask->filled && cpumask_equal(gpusched_mask_cpus(mask), cpus)) {
			gpusched_mask_unspare(mask);
			goto out;
		}
	}
	digest = gpusched_mask_digest(cpus);
	hash_for_each_possible(gpusched_masks, mask, node, digest) {
		if (mask->digest == digest && cpumask_equal(gpusched_mask_cpus(mask), cpus)) {
			refcount_inc(&mask->ref);
			goto out;
		}
	}
	mask = hlist_entry_safe(gpusched_mask_spares.first, struct gpusched_mask, node);
	if (mask) {
		cpumask_copy(to_cpumask(mask->bits), cpus);
		mask->digest = digest;
		mask->filled = true;
		gpusched_mask_unspare(mask);
	}
out:
	if (mask)
		gpusched_mask_last = mask;
	spin_unlock(&gpusched_masks_lock);
	return mask;
}

/**
 * gpusched_mask_get() - a held mask of some CPUs
 * @cpus: the CPUs
 *
 * Context: gpusched_lock held (in the module), may sleep.
 * Return: the mask, or NULL when out of memory.
 */
struct gpusched_mask *gpusched_mask_get(const struct cpumask *cpus)
{
	if (gpusched_mask_reserve())
		return NULL;
	return gpusched_mask_intern(cpus);
}

/**
 * gpusched_mask_hold() - one more holder of a mask
 * @mask: a mask the caller holds, directly or through a record it may read
 *
 * Context: any.
 * Return: @mask.
 */
struct gpusched_mask *gpusched_mask_hold(struct gpusched_mask *mask)
{
	refcount_inc(&mask->ref);
	return mask;
}

/**
 * gpusched_mask_put() - drop a holder of a mask, letting it go after the last
 * @mask: the mask, or NULL
 *
 * After its last holder, the mask becomes a spare, or is freed when there
 * are enough spares.
 *
 * Context: process context, without gpusched_masks_lock.
 */
void gpusched_mask_put(struct gpusched_mask *mask)
{
	bool last, spare = false;

	if (!mask)
		return;
	/* Under the lock, so that gpusched_mask_intern() never finds it dead. */
	spin_lock(&gpusched_masks_lock);
	last = refcount_dec_and_test(&mask->ref);
	if (last) {
		hash_del(&mask->node);
		gpusched_nr_masks--;
		if (gpusched_mask_last == mask)
			gpusched_mask_last = NULL;
		spare = gpusched_mask_keep_spare(mask);
	}
	spin_unlock(&gpusched_masks_lock);
	if (last && !spare)
		kfree(mask);
}
