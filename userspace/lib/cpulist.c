// SPDX-License-Identifier: GPL-2.0
/*
 * The growable bitmap behind every CPU and node set gpusched reads from
 * sysfs, and the only code that turns the kernel's cpulist and hex cpumask
 * text into such a set and back.  Both parsers are strict (a file that is
 * not exactly what the kernel prints is reported, not guessed at) except
 * for surrounding whitespace, since sysfs ends every value with a newline.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"

#define BITS_PER_WORD	(sizeof(unsigned long) * CHAR_BIT)
#define MASK_WORD_BITS	32u	/* the kernel prints cpumasks in 32-bit words */

void gs_bitmap_init(struct gs_bitmap *bitmap)
{
	bitmap->words = NULL;
	bitmap->nr_words = 0;
}

void gs_bitmap_free(struct gs_bitmap *bitmap)
{
	free(bitmap->words);
	gs_bitmap_init(bitmap);
}

void gs_bitmap_zero(struct gs_bitmap *bitmap)
{
	if (bitmap->nr_words)
		memset(bitmap->words, 0, bitmap->nr_words * sizeof(unsigned long));
}

/*
 * Makes room for @nr_words words; returns 0 or -ENOMEM.  Growth doubles so
 * that setting ids one by one in ascending order stays linear.
 */
static int bitmap_reserve(struct gs_bitmap *bitmap, size_t nr_words)
{
	unsigned long *words;
	size_t capacity;

	if (nr_words <= bitmap->nr_words)
		return 0;
	capacity = bitmap->nr_words ? bitmap->nr_words : 1;
	while (capacity < nr_words)
		capacity *= 2;
	words = realloc(bitmap->words, capacity * sizeof(*words));
	if (!words)
		return -ENOMEM;
	memset(words + bitmap->nr_words, 0,
	       (capacity - bitmap->nr_words) * sizeof(*words));
	bitmap->words = words;
	bitmap->nr_words = capacity;
	return 0;
}

int gs_bitmap_set(struct gs_bitmap *bitmap, unsigned int bit)
{
	int err;

	if (bit >= GS_BITMAP_MAX_BITS)
		return -ERANGE;
	err = bitmap_reserve(bitmap, bit / BITS_PER_WORD + 1);
	if (err)
		return err;
	bitmap->words[bit / BITS_PER_WORD] |= 1UL << (bit % BITS_PER_WORD);
	return 0;
}

int gs_bitmap_set_range(struct gs_bitmap *bitmap, unsigned int first,
			unsigned int last)
{
	unsigned int bit;
	int err;

	if (first > last)
		return -EINVAL;
	if (last >= GS_BITMAP_MAX_BITS)
		return -ERANGE;
	err = bitmap_reserve(bitmap, last / BITS_PER_WORD + 1);
	if (err)
		return err;
	for (bit = first; bit <= last; bit++)
		bitmap->words[bit / BITS_PER_WORD] |= 1UL << (bit % BITS_PER_WORD);
	return 0;
}

void gs_bitmap_clear(struct gs_bitmap *bitmap, unsigned int bit)
{
	if (bit / BITS_PER_WORD < bitmap->nr_words)
		bitmap->words[bit / BITS_PER_WORD] &= ~(1UL << (bit % BITS_PER_WORD));
}

bool gs_bitmap_test(const struct gs_bitmap *bitmap, unsigned int bit)
{
	if (bit / BITS_PER_WORD >= bitmap->nr_words)
		return false;
	return bitmap->words[bit / BITS_PER_WORD] & (1UL << (bit % BITS_PER_WORD));
}

unsigned int gs_bitmap_weight(const struct gs_bitmap *bitmap)
{
	unsigned int weight = 0;
	size_t i;

	for (i = 0; i < bitmap->nr_words; i++)
		weight += (unsigned int)__builtin_popcountl(bitmap->words[i]);
	return weight;
}

bool gs_bitmap_empty(const struct gs_bitmap *bitmap)
{
	return gs_bitmap_next(bitmap, -1) < 0;
}

int gs_bitmap_next(const struct gs_bitmap *bitmap, int prev)
{
	size_t start, i;
	unsigned long word;

	if (prev < -1 || prev >= (int)GS_BITMAP_MAX_BITS)
		return -1;
	start = (size_t)(prev + 1);
	i = start / BITS_PER_WORD;
	if (i >= bitmap->nr_words)
		return -1;
	word = bitmap->words[i] & (~0UL << (start % BITS_PER_WORD));
	for (;;) {
		if (word)
			return (int)(i * BITS_PER_WORD) + __builtin_ctzl(word);
		if (++i >= bitmap->nr_words)
			return -1;
		word = bitmap->words[i];
	}
}

int gs_bitmap_last(const struct gs_bitmap *bitmap)
{
	size_t i;

	for (i = bitmap->nr_words; i-- > 0;) {
		if (bitmap->words[i])
			return (int)(i * BITS_PER_WORD + BITS_PER_WORD - 1) -
			       __builtin_clzl(bitmap->words[i]);
	}
	return -1;
}

/* Returns word @i of @bitmap, 0 beyond its storage. */
static unsigned long word_at(const struct gs_bitmap *bitmap, size_t i)
{
	return i < bitmap->nr_words ? bitmap->words[i] : 0;
}

/* Returns the larger storage size of @a and @b, in words. */
static size_t max_words(const struct gs_bitmap *a, const struct gs_bitmap *b)
{
	return a->nr_words > b->nr_words ? a->nr_words : b->nr_words;
}

bool gs_bitmap_equal(const struct gs_bitmap *a, const struct gs_bitmap *b)
{
	size_t i, n = max_words(a, b);

	for (i = 0; i < n; i++) {
		if (word_at(a, i) != word_at(b, i))
			return false;
	}
	return true;
}

bool gs_bitmap_subset(const struct gs_bitmap *a, const struct gs_bitmap *b)
{
	size_t i;

	for (i = 0; i < a->nr_words; i++) {
		if (a->words[i] & ~word_at(b, i))
			return false;
	}
	return true;
}

bool gs_bitmap_intersects(const struct gs_bitmap *a, const struct gs_bitmap *b)
{
	size_t i;

	for (i = 0; i < a->nr_words; i++) {
		if (a->words[i] & word_at(b, i))
			return true;
	}
	return false;
}

int gs_bitmap_copy(struct gs_bitmap *dst, const struct gs_bitmap *src)
{
	int err;

	if (dst == src)
		return 0;
	err = bitmap_reserve(dst, src->nr_words);
	if (err)
		return err;
	gs_bitmap_zero(dst);
	if (src->nr_words)
		memcpy(dst->words, src->words, src->nr_words * sizeof(unsigned long));
	return 0;
}

int gs_bitmap_or_words(struct gs_bitmap *dst, const unsigned long *words, size_t nr_words)
{
	size_t i;
	int err;

	while (nr_words && !words[nr_words - 1])
		nr_words--;
	if (nr_words > GS_BITMAP_MAX_BITS / BITS_PER_WORD)
		return -ERANGE;
	err = bitmap_reserve(dst, nr_words);
	if (err)
		return err;
	for (i = 0; i < nr_words; i++)
		dst->words[i] |= words[i];
	return 0;
}

/* @src holds no bit at or beyond GS_BITMAP_MAX_BITS: only -ENOMEM can come back. */
int gs_bitmap_or(struct gs_bitmap *dst, const struct gs_bitmap *src)
{
	return gs_bitmap_or_words(dst, src->words, src->nr_words);
}

void gs_bitmap_and(struct gs_bitmap *dst, const struct gs_bitmap *src)
{
	size_t i;

	for (i = 0; i < dst->nr_words; i++)
		dst->words[i] &= word_at(src, i);
}

/* Returns whether @c is whitespace that sysfs puts around a value. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Returns @p moved past leading whitespace. */
static const char *skip_space(const char *p)
{
	while (is_space(*p))
		p++;
	return p;
}

/* Returns the length of @text without its trailing whitespace. */
static size_t trimmed_length(const char *text)
{
	size_t len = strlen(text);

	while (len && is_space(text[len - 1]))
		len--;
	return len;
}

/*
 * Reads one decimal id at *@pos and moves *@pos past it.  Returns 0,
 * -EINVAL when no digit is there, or -ERANGE for an id the bitmap cannot
 * hold (checked per digit, so a 30-digit number cannot overflow).
 */
static int parse_id(const char **pos, unsigned int *id)
{
	const char *p = *pos;
	unsigned long value = 0;
	bool too_big = false;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		value = value * 10 + (unsigned long)(*p - '0');
		if (value >= GS_BITMAP_MAX_BITS) {
			too_big = true;
			value = GS_BITMAP_MAX_BITS;
		}
	}
	*pos = p;
	if (too_big)
		return -ERANGE;
	*id = (unsigned int)value;
	return 0;
}

int gs_bitmap_parse_list(struct gs_bitmap *bitmap, const char *text)
{
	struct gs_bitmap parsed = GS_BITMAP_INIT;
	const char *p = skip_space(text);
	int err = 0;

	while (*p && !is_space(*p)) {
		unsigned int first, last;

		err = parse_id(&p, &first);
		if (err)
			goto fail;
		last = first;
		if (*p == '-') {
			p++;
			err = parse_id(&p, &last);
			if (err)
				goto fail;
		}
		err = gs_bitmap_set_range(&parsed, first, last);
		if (err)
			goto fail;
		if (*p != ',')
			break;
		p++;
		/* "1,2," and "1,,2" are not lists the kernel prints. */
		if (*p < '0' || *p > '9') {
			err = -EINVAL;
			goto fail;
		}
	}
	if (*skip_space(p)) {
		err = -EINVAL;
		goto fail;
	}
	gs_bitmap_free(bitmap);
	*bitmap = parsed;
	return 0;
fail:
	gs_bitmap_free(&parsed);
	return err;
}

/* Returns the value of hex digit @c, or -1. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gs_bitmap_parse_mask(struct gs_bitmap *bitmap, const char *text)
{
	struct gs_bitmap parsed = GS_BITMAP_INIT;
	const char *start = skip_space(text);
	size_t len = trimmed_length(start);
	size_t nr_chunks = 1, chunk, i;
	const char *p;
	int err;

	if (len == 0) {
		gs_bitmap_zero(bitmap);
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (start[i] == ',')
			nr_chunks++;
	}
	/* Chunks come most significant first: chunk 0 holds the top word. */
	p = start;
	for (chunk = 0; chunk < nr_chunks; chunk++) {
		size_t word = nr_chunks - 1 - chunk;
		uint32_t value = 0;
		unsigned int digits = 0, bit;
		int digit;

		while (p < start + len && (digit = hex_digit(*p)) >= 0) {
			if (++digits > 8) {
				err = -EINVAL;
				goto fail;
			}
			value = value << 4 | (uint32_t)digit;
			p++;
		}
		if (!digits || (p < start + len && *p != ',')) {
			err = -EINVAL;
			goto fail;
		}
		p++;	/* past the comma, or past the end on the last chunk */
		if (!value)
			continue;
		if (word >= GS_BITMAP_MAX_BITS / MASK_WORD_BITS) {
			err = -ERANGE;
			goto fail;
		}
		for (bit = 0; bit < MASK_WORD_BITS; bit++) {
			if (!(value & (UINT32_C(1) << bit)))
				continue;
			err = gs_bitmap_set(&parsed,
					    (unsigned int)word * MASK_WORD_BITS + bit);
			if (err)
				goto fail;
		}
	}
	gs_bitmap_free(bitmap);
	*bitmap = parsed;
	return 0;
fail:
	gs_bitmap_free(&parsed);
	return err;
}

/* snprintf() into a fixed buffer that keeps counting once it is full. */
struct text_sink {
	char *buf;
	size_t size;
	size_t len;	/* length of the whole text, written or not */
};

static void sink_printf(struct text_sink *sink, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends printf() output to @sink, counting what does not fit. */
static void sink_printf(struct text_sink *sink, const char *fmt, ...)
{
	size_t room = sink->len < sink->size ? sink->size - sink->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? sink->buf + sink->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sink->len += (size_t)n;
}

/* Returns the sink's total length as the int that snprintf() callers expect. */
static int sink_finish(struct text_sink *sink)
{
	if (sink->size && sink->len < sink->size)
		sink->buf[sink->len] = '\0';
	else if (sink->size)
		sink->buf[sink->size - 1] = '\0';
	return sink->len > INT_MAX ? -EOVERFLOW : (int)sink->len;
}

int gs_bitmap_format_list(const struct gs_bitmap *bitmap, char *buf,
			  size_t size)
{
	struct text_sink sink = { .buf = buf, .size = size, .len = 0 };
	int first = gs_bitmap_next(bitmap, -1);

	while (first >= 0) {
		int last = first, next;

		while ((next = gs_bitmap_next(bitmap, last)) == last + 1)
			last = next;
		sink_printf(&sink, "%s%d", sink.len ? "," : "", first);
		if (last > first)
			sink_printf(&sink, "-%d", last);
		first = next;
	}
	return sink_finish(&sink);
}

int gs_bitmap_format_mask(const struct gs_bitmap *bitmap, char *buf,
			  size_t size)
{
	struct text_sink sink = { .buf = buf, .size = size, .len = 0 };
	int last = gs_bitmap_last(bitmap);
	size_t nr_chunks = last < 0 ? 1 : (size_t)last / MASK_WORD_BITS + 1;
	size_t chunk;

	for (chunk = nr_chunks; chunk-- > 0;) {
		size_t bit = chunk * MASK_WORD_BITS;
		unsigned long word = word_at(bitmap, bit / BITS_PER_WORD);
		uint32_t value = (uint32_t)(word >> (bit % BITS_PER_WORD));

		sink_printf(&sink, "%s%08x", chunk + 1 < nr_chunks ? "," : "",
			    (unsigned int)value);
	}
	return sink_finish(&sink);
}
