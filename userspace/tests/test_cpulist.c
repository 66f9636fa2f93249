// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of userspace/lib/cpulist.c: the growable bitmap, the cpulist
 * and hex cpumask parsers (every shape the kernel prints, and the malformed
 * ones it never prints, which must be refused without touching the
 * bitmap), the two formatters with their snprintf() contract, and round
 * trips at NR_CPUS=8192 scale.  Prints TAP through tap.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/cpulist.h"
#include "tap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Formats @bitmap as a cpulist into a malloc'ed string the caller frees. */
static char *list_text(const struct gs_bitmap *bitmap)
{
	int len = gs_bitmap_format_list(bitmap, NULL, 0);
	char *text = malloc((size_t)len + 1);

	if (!text)
		abort();
	gs_bitmap_format_list(bitmap, text, (size_t)len + 1);
	return text;
}

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

/* Checks that @bitmap is the cpulist @expected; returns the TAP result. */
static int check_list(const struct gs_bitmap *bitmap, const char *expected,
		      const char *what)
{
	char *text = list_text(bitmap);
	int pass = tap_ok(!strcmp(text, expected), "%s: \"%s\"", what, expected);

	if (!pass)
		tap_diag("got \"%s\"", text);
	free(text);
	return pass;
}

struct parse_case {
	const char *input;
	int err;
	const char *expected;	/* as a cpulist, when err is 0 */
};

static const struct parse_case list_cases[] = {
	{ "0-3,8,10-11", 0, "0-3,8,10-11" },
	{ "0-3,8,10-11\n", 0, "0-3,8,10-11" },
	{ "", 0, "" },
	{ "\n", 0, "" },
	{ "5", 0, "5" },
	{ "0,1,2,3", 0, "0-3" },
	{ "3,1,2", 0, "1-3" },
	{ "  7 \n", 0, "7" },
	{ "0-0", 0, "0" },
	{ "1023", 0, "1023" },
	{ "0,4,8,12,16,20,24,28,32,36", 0, "0,4,8,12,16,20,24,28,32,36" },
	{ "1048575", 0, "1048575" },
	{ "3-1", -EINVAL, NULL },
	{ "1,,2", -EINVAL, NULL },
	{ "1,", -EINVAL, NULL },
	{ ",1", -EINVAL, NULL },
	{ "a", -EINVAL, NULL },
	{ "-1", -EINVAL, NULL },
	{ "1-", -EINVAL, NULL },
	{ "1 2", -EINVAL, NULL },
	{ "0x3", -EINVAL, NULL },
	{ "1-2-3", -EINVAL, NULL },
	{ "1;2", -EINVAL, NULL },
	{ "(null)", -EINVAL, NULL },
	{ "1048576", -ERANGE, NULL },
	{ "0-1048576", -ERANGE, NULL },
	{ "99999999999999999999", -ERANGE, NULL },
};

static const struct parse_case mask_cases[] = {
	{ "ffffffff,00000003", 0, "0-1,32-63" },
	{ "00000000,00000101", 0, "0,8" },
	{ "00000000,0000ffff\n", 0, "0-15" },
	{ "ff,ffffffff", 0, "0-39" },	/* nr_cpu_ids 40: a short first word */
	{ "1", 0, "0" },
	{ "0", 0, "" },
	{ "", 0, "" },
	{ "FFFF", 0, "0-15" },
	{ "80000000,00000000,00000000", 0, "95" },
	{ "00000001,00000000", 0, "32" },
	{ "00000055,55555555", 0, "0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38" },
	{ "g", -EINVAL, NULL },
	{ "123456789", -EINVAL, NULL },
	{ ",1", -EINVAL, NULL },
	{ "1,", -EINVAL, NULL },
	{ "1,,2", -EINVAL, NULL },
	{ "0x1", -EINVAL, NULL },
	{ "1 2", -EINVAL, NULL },
	{ "-1", -EINVAL, NULL },
};

static void test_parse_table(const char *kind, const struct parse_case *cases,
			     size_t nr_cases,
			     int (*parse)(struct gs_bitmap *, const char *))
{
	size_t i;

	for (i = 0; i < nr_cases; i++) {
		struct gs_bitmap bitmap = GS_BITMAP_INIT;
		const struct parse_case *c = &cases[i];
		int err;

		/* A failed parse must leave the previous contents alone. */
		gs_bitmap_set(&bitmap, 77);
		err = parse(&bitmap, c->input);
		if (!tap_ok(err == c->err, "%s \"%s\" returns %d", kind,
			    escaped(c->input), c->err)) {
			tap_diag("got %d", err);
		} else if (!err) {
			check_list(&bitmap, c->expected, "  the set");
		} else {
			check_list(&bitmap, "77", "  the bitmap is unchanged");
		}
		gs_bitmap_free(&bitmap);
	}
}

/* Builds a mask text of one set bit followed by @nr_zero_words zero words. */
static char *mask_with_zero_words(size_t nr_zero_words)
{
	char *text = malloc(2 + nr_zero_words * 9), *p;
	size_t i;

	if (!text)
		abort();
	p = text;
	*p++ = '1';
	for (i = 0; i < nr_zero_words; i++) {
		memcpy(p, ",00000000", 9);
		p += 9;
	}
	*p = '\0';
	return text;
}

static void test_mask_limits(void)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT;
	char *text;
	int err;

	/* 32767 zero words put the one set bit at 1048544, the last whole word. */
	text = mask_with_zero_words(32767);
	err = gs_bitmap_parse_mask(&bitmap, text);
	tap_ok(err == 0 && gs_bitmap_weight(&bitmap) == 1 &&
	       gs_bitmap_last(&bitmap) == 1048544,
	       "mask with its bit at 1048544 parses");
	free(text);
	text = mask_with_zero_words(32768);
	err = gs_bitmap_parse_mask(&bitmap, text);
	tap_ok(err == -ERANGE, "mask with its bit at 1048576 is -ERANGE");
	free(text);
	/* Leading zero words cost nothing and are not a range error. */
	text = mask_with_zero_words(1);
	text[0] = '0';
	err = gs_bitmap_parse_mask(&bitmap, text);
	tap_ok(err == 0 && gs_bitmap_empty(&bitmap), "all-zero mask is empty");
	free(text);
	gs_bitmap_free(&bitmap);
}

static void test_bitmap_ops(void)
{
	struct gs_bitmap a = GS_BITMAP_INIT, b = GS_BITMAP_INIT;
	struct gs_bitmap c = GS_BITMAP_INIT;
	int bit, count;

	tap_ok(gs_bitmap_empty(&a) && gs_bitmap_weight(&a) == 0 &&
	       gs_bitmap_next(&a, -1) == -1 && gs_bitmap_last(&a) == -1,
	       "a new bitmap is empty");
	tap_ok(gs_bitmap_set(&a, 8191) == 0 && gs_bitmap_test(&a, 8191) &&
	       !gs_bitmap_test(&a, 8190) && gs_bitmap_weight(&a) == 1,
	       "setting CPU 8191 grows an empty bitmap");
	tap_ok(gs_bitmap_set(&a, 0) == 0 && gs_bitmap_next(&a, -1) == 0 &&
	       gs_bitmap_next(&a, 0) == 8191 && gs_bitmap_next(&a, 8191) == -1 &&
	       gs_bitmap_last(&a) == 8191, "next and last walk 0 and 8191");
	tap_ok(gs_bitmap_set(&a, GS_BITMAP_MAX_BITS) == -ERANGE &&
	       gs_bitmap_set(&a, GS_BITMAP_MAX_BITS - 1) == 0,
	       "set refuses GS_BITMAP_MAX_BITS and takes the bit below");
	gs_bitmap_clear(&a, GS_BITMAP_MAX_BITS - 1);
	gs_bitmap_clear(&a, 5000000);	/* beyond the storage: a no-op */
	tap_ok(gs_bitmap_last(&a) == 8191, "clear removes a bit");
	tap_ok(gs_bitmap_next(&a, INT_MAX) == -1 && gs_bitmap_next(&a, -2) == -1,
	       "next refuses out-of-range starting points");
	tap_ok(gs_bitmap_set_range(&b, 5, 4) == -EINVAL &&
	       gs_bitmap_set_range(&b, 0, GS_BITMAP_MAX_BITS) == -ERANGE &&
	       gs_bitmap_empty(&b), "set_range refuses first > last and overflow");

	gs_bitmap_set_range(&b, 0, 15);
	gs_bitmap_set_range(&c, 4, 7);
	tap_ok(gs_bitmap_subset(&c, &b) && !gs_bitmap_subset(&b, &c),
	       "4-7 is a subset of 0-15, not the reverse");
	tap_ok(gs_bitmap_intersects(&a, &b) && !gs_bitmap_intersects(&a, &c),
	       "{0,8191} meets 0-15 but not 4-7");
	gs_bitmap_set(&c, 9000);
	tap_ok(!gs_bitmap_subset(&c, &b), "a bit beyond the other's storage breaks subset");
	gs_bitmap_and(&c, &b);
	check_list(&c, "4-7", "4-7,9000 and 0-15");
	tap_ok(gs_bitmap_or(&c, &a) == 0, "or succeeds");
	check_list(&c, "0,4-7,8191", "4-7 or {0,8191}");
	{
		const size_t bits = 8 * sizeof(unsigned long);
		const unsigned long words[] = { 1UL | 1UL << (bits - 1), 1UL, 0, 1UL << 2, 0, 0 };
		const char *expect = bits == 64 ? "0,4-7,63-64,194,8191" : "0,4-7,31-32,98,8191";
		size_t nr_huge = GS_BITMAP_MAX_BITS / bits + 1;
		unsigned long *huge = calloc(nr_huge, sizeof(*huge));

		tap_ok(gs_bitmap_or_words(&c, words, ARRAY_SIZE(words)) == 0,
		       "or_words succeeds");
		check_list(&c, expect,
			   "or of words: a word's first and last bits, the next word's first, empty words");
		tap_ok(gs_bitmap_or_words(&c, words + 4, 2) == 0, "or_words of zero words succeeds");
		check_list(&c, expect, "and sets nothing");
		if (huge) {
			huge[nr_huge - 1] = 1;
			tap_ok(gs_bitmap_or_words(&c, huge, nr_huge) == -ERANGE,
			       "or_words refuses a bit beyond the limit");
			check_list(&c, expect, "and leaves the bitmap as it was");
			free(huge);
		} else {
			tap_skip("out of memory", "or_words refuses a bit beyond the limit");
			tap_skip("out of memory", "and leaves the bitmap as it was");
		}
	}
	tap_ok(gs_bitmap_copy(&b, &a) == 0 && gs_bitmap_equal(&a, &b),
	       "copy makes equal bitmaps");
	check_list(&b, "0,8191", "the copy");
	/* Equal sets with different storage sizes are equal. */
	gs_bitmap_free(&b);
	gs_bitmap_set(&b, 3);
	gs_bitmap_free(&c);
	gs_bitmap_set(&c, 3);
	gs_bitmap_set(&c, 8000);
	gs_bitmap_clear(&c, 8000);
	tap_ok(gs_bitmap_equal(&b, &c) && gs_bitmap_equal(&c, &b),
	       "equal ignores storage size");
	gs_bitmap_zero(&c);
	tap_ok(gs_bitmap_empty(&c) && !gs_bitmap_equal(&b, &c),
	       "zero clears every bit");

	count = 0;
	gs_bitmap_for_each(bit, &a)
		count++;
	tap_ok(count == 2, "for_each visits both bits of {0,8191}");
	gs_bitmap_free(&a);
	gs_bitmap_free(&b);
	gs_bitmap_free(&c);
	tap_ok(a.words == NULL && a.nr_words == 0, "free leaves an empty bitmap");
}

static void test_format_list(void)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT;
	char buf[8];
	int len;

	len = gs_bitmap_format_list(&bitmap, buf, sizeof(buf));
	tap_ok(len == 0 && buf[0] == '\0', "empty set formats as \"\"");
	gs_bitmap_parse_list(&bitmap, "0-3,8,10-11");
	len = gs_bitmap_format_list(&bitmap, NULL, 0);
	tap_ok(len == 11, "size 0 returns the needed length 11 (got %d)", len);
	memset(buf, 'x', sizeof(buf));
	len = gs_bitmap_format_list(&bitmap, buf, sizeof(buf));
	tap_ok(len == 11 && !strcmp(buf, "0-3,8,1"),
	       "an 8-byte buffer gets \"0-3,8,1\" and the full length");
	len = gs_bitmap_format_list(&bitmap, buf, 1);
	tap_ok(len == 11 && buf[0] == '\0', "a 1-byte buffer gets only the NUL");

	gs_bitmap_parse_list(&bitmap, "0-8191");
	check_list(&bitmap, "0-8191", "8192 CPUs");
	gs_bitmap_clear(&bitmap, 4096);
	check_list(&bitmap, "0-4095,4097-8191", "8192 CPUs but 4096");
	gs_bitmap_free(&bitmap);
}

static void test_format_mask(void)
{
	struct gs_bitmap bitmap = GS_BITMAP_INIT, back = GS_BITMAP_INIT;
	char buf[3000];
	int len;

	len = gs_bitmap_format_mask(&bitmap, buf, sizeof(buf));
	tap_ok(len == 8 && !strcmp(buf, "00000000"), "empty set is \"00000000\"");
	gs_bitmap_parse_list(&bitmap, "0-1");
	gs_bitmap_format_mask(&bitmap, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "00000003"), "0-1 is \"00000003\" (got \"%s\")", buf);
	gs_bitmap_parse_list(&bitmap, "32");
	gs_bitmap_format_mask(&bitmap, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "00000001,00000000"),
	       "32 is \"00000001,00000000\" (got \"%s\")", buf);
	gs_bitmap_parse_list(&bitmap, "0-39");
	gs_bitmap_format_mask(&bitmap, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "000000ff,ffffffff"),
	       "0-39 is \"000000ff,ffffffff\" (got \"%s\")", buf);
	gs_bitmap_parse_list(&bitmap, "8191");
	len = gs_bitmap_format_mask(&bitmap, buf, sizeof(buf));
	tap_ok(len == 256 * 9 - 1 && !strncmp(buf, "80000000,00000000,", 18) &&
	       !strcmp(buf + len - 9, ",00000000"),
	       "CPU 8191 is 256 words starting with 80000000 (length %d)", len);
	tap_ok(gs_bitmap_parse_mask(&back, buf) == 0 &&
	       gs_bitmap_equal(&bitmap, &back), "and parses back to CPU 8191");
	len = gs_bitmap_format_mask(&bitmap, buf, 10);
	tap_ok(len == 256 * 9 - 1 && !strcmp(buf, "80000000,"),
	       "a 10-byte buffer is cut to \"80000000,\"");
	gs_bitmap_free(&bitmap);
	gs_bitmap_free(&back);
}

/* Deterministic sets from a linear congruential generator, so a failure repeats. */
static void test_round_trips(void)
{
	unsigned long long state = 12345;
	unsigned int round, i, failures = 0;
	char list[40000], mask[3000];

	for (round = 0; round < 200; round++) {
		struct gs_bitmap set = GS_BITMAP_INIT, back = GS_BITMAP_INIT;
		unsigned int nr_bits = round % 3 == 0 ? 8192 : 1 + round * 7;

		for (i = 0; i < nr_bits; i++) {
			state = state * 6364136223846793005ULL + 1442695040888963407ULL;
			/* About one bit in three, in runs and gaps of every length. */
			if ((state >> 33) % 3 == 0)
				gs_bitmap_set(&set, i);
		}
		gs_bitmap_format_list(&set, list, sizeof(list));
		if (gs_bitmap_parse_list(&back, list) || !gs_bitmap_equal(&set, &back))
			failures++;
		gs_bitmap_format_mask(&set, mask, sizeof(mask));
		if (gs_bitmap_parse_mask(&back, mask) || !gs_bitmap_equal(&set, &back))
			failures++;
		gs_bitmap_free(&set);
		gs_bitmap_free(&back);
	}
	tap_ok(failures == 0, "200 random sets survive list and mask round trips (%u failed)",
	       failures);
}

int main(void)
{
	tap_start();
	test_parse_table("parse_list", list_cases, ARRAY_SIZE(list_cases),
			 gs_bitmap_parse_list);
	test_parse_table("parse_mask", mask_cases, ARRAY_SIZE(mask_cases),
			 gs_bitmap_parse_mask);
	test_mask_limits();
	test_bitmap_ops();
	test_format_list();
	test_format_mask();
	test_round_trips();
	return tap_done();
}
