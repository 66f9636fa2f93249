/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growable bitmap of CPU (or NUMA node) ids, and the one parser and one
 * formatter for each of the two text forms the kernel uses for such sets:
 * the cpulist "0-3,8,10-11" (cpulist, *_list files, %*pbl) and the hex
 * cpumask "ffffffff,00000003" (cpumap, *_map and local_cpus files, %*pb).
 * The bitmap grows on demand so that no reader depends on NR_CPUS: Debian
 * kernels are built with NR_CPUS=8192 and node ids reach 1023.
 */
#ifndef GPUSCHED_CPULIST_H
#define GPUSCHED_CPULIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Highest number of bits a bitmap may hold.  Far above any kernel's
 * NR_CPUS (8192) or MAX_NUMNODES (1024); it only stops a corrupt file such
 * as "0-4000000000" from allocating gigabytes.
 */
#define GS_BITMAP_MAX_BITS	(1u << 20)

struct gs_bitmap {
	unsigned long *words;	/* NULL while empty and never grown */
	size_t nr_words;	/* allocated words; bits beyond are clear */
};

#define GS_BITMAP_INIT		{ NULL, 0 }

/* Makes @bitmap an empty bitmap that owns no memory. */
void gs_bitmap_init(struct gs_bitmap *bitmap);

/* Frees the storage of @bitmap and leaves it empty and reusable. */
void gs_bitmap_free(struct gs_bitmap *bitmap);

/* Clears every bit, keeping the storage. */
void gs_bitmap_zero(struct gs_bitmap *bitmap);

/* Sets @bit; returns 0, -ERANGE beyond GS_BITMAP_MAX_BITS, or -ENOMEM. */
int gs_bitmap_set(struct gs_bitmap *bitmap, unsigned int bit);

/* Sets @first..@last inclusive; returns 0, -EINVAL, -ERANGE or -ENOMEM. */
int gs_bitmap_set_range(struct gs_bitmap *bitmap, unsigned int first,
			unsigned int last);

/* Clears @bit (a no-op beyond the allocated words). */
void gs_bitmap_clear(struct gs_bitmap *bitmap, unsigned int bit);

/* Returns whether @bit is set. */
bool gs_bitmap_test(const struct gs_bitmap *bitmap, unsigned int bit);

/* Returns the number of set bits. */
unsigned int gs_bitmap_weight(const struct gs_bitmap *bitmap);

/* Returns whether no bit is set. */
bool gs_bitmap_empty(const struct gs_bitmap *bitmap);

/* Returns the lowest set bit above @prev (pass -1 to start), or -1. */
int gs_bitmap_next(const struct gs_bitmap *bitmap, int prev);

/* Returns the highest set bit, or -1 when empty. */
int gs_bitmap_last(const struct gs_bitmap *bitmap);

/* Returns whether @a and @b have the same bits set. */
bool gs_bitmap_equal(const struct gs_bitmap *a, const struct gs_bitmap *b);

/* Returns whether every bit of @a is also set in @b. */
bool gs_bitmap_subset(const struct gs_bitmap *a, const struct gs_bitmap *b);

/* Returns whether @a and @b share at least one bit. */
bool gs_bitmap_intersects(const struct gs_bitmap *a, const struct gs_bitmap *b);

/* Makes @dst equal to @src; returns 0 or -ENOMEM (then @dst is unchanged). */
int gs_bitmap_copy(struct gs_bitmap *dst, const struct gs_bitmap *src);

/* Sets in @dst every bit of @src; returns 0 or -ENOMEM. */
int gs_bitmap_or(struct gs_bitmap *dst, const struct gs_bitmap *src);

/*
 * Sets in @dst every bit of the @nr_words words at @words, bit n in word
 * n / (8 * sizeof(long)) as in a cpu_set_t, a word at a time.  Returns 0,
 * -ERANGE for a bit at or beyond GS_BITMAP_MAX_BITS, or -ENOMEM; on error
 * @dst is unchanged.
 */
int gs_bitmap_or_words(struct gs_bitmap *dst, const unsigned long *words, size_t nr_words);

/* Clears in @dst every bit that is not set in @src. */
void gs_bitmap_and(struct gs_bitmap *dst, const struct gs_bitmap *src);

#define gs_bitmap_for_each(bit, bitmap)					\
	for ((bit) = gs_bitmap_next((bitmap), -1); (bit) >= 0;		\
	     (bit) = gs_bitmap_next((bitmap), (bit)))

/*
 * Parses a cpulist ("0-3,8,10-11"; "" and a lone newline are the empty
 * set) into @bitmap, replacing its contents.  Returns 0, -EINVAL for a
 * malformed list, -ERANGE for an id at or beyond GS_BITMAP_MAX_BITS, or
 * -ENOMEM; on error @bitmap is left as it was.
 */
int gs_bitmap_parse_list(struct gs_bitmap *bitmap, const char *text);

/*
 * Parses a hex cpumask ("ffffffff,00000003": comma-separated 32-bit words
 * of one to eight hex digits, most significant first) into @bitmap,
 * replacing its contents.  Returns 0, -EINVAL, -ERANGE or -ENOMEM; on
 * error @bitmap is left as it was.
 */
int gs_bitmap_parse_mask(struct gs_bitmap *bitmap, const char *text);

/*
 * Writes @bitmap as a cpulist ("0-3,8,10-11", "" when empty) into @buf of
 * @size bytes, NUL-terminated when @size > 0.  Returns the length of the
 * whole list without the NUL, like snprintf(): a result >= @size means the
 * text was cut and a buffer of result + 1 bytes is needed.
 */
int gs_bitmap_format_list(const struct gs_bitmap *bitmap, char *buf,
			  size_t size);

/*
 * Writes @bitmap as a hex cpumask of eight-digit 32-bit words, as many as
 * the highest set bit needs ("00000000" when empty), with snprintf()
 * semantics like gs_bitmap_format_list().
 */
int gs_bitmap_format_mask(const struct gs_bitmap *bitmap, char *buf,
			  size_t size);

#endif /* GPUSCHED_CPULIST_H */
