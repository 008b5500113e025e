/*
 * test_bytes.c - the word-at-a-time byte class tests (lib/bytes_int.h)
 * against the byte-by-byte answer: every byte value at every position of
 * a word over backgrounds of every single byte value, then random words.
 * They must answer "is some byte in the class" exactly, whatever the
 * other bytes do to the borrows and carries.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bytes_int.h"
#include "t.h"

static int
naive_below(const unsigned char *b, unsigned n)
{
	int i;

	for (i = 0; i < 8; i++)
		if (b[i] < n)
			return 1;
	return 0;
}

static int
naive_above(const unsigned char *b, unsigned n)
{
	int i;

	for (i = 0; i < 8; i++)
		if (b[i] > n)
			return 1;
	return 0;
}

static int
naive_equal(const unsigned char *b, unsigned v)
{
	int i;

	for (i = 0; i < 8; i++)
		if (b[i] == v)
			return 1;
	return 0;
}

/* The thresholds the library uses, and the ends of the valid ranges. */
static const unsigned below_n[] = { 0, 1, 0x20, 0x21, 0x7f, 0x80 };
static const unsigned above_n[] = { 0, 0x20, 0x7e, 0x7f };
static const unsigned equal_v[] = { 0, '"', ',', ';', '\\', 0x7f, 0x80, 0xff };

static long wrong;

static void
check_word(const unsigned char *b)
{
	uint64_t w = oa_word(b);
	size_t i;

	for (i = 0; i < sizeof(below_n) / sizeof(below_n[0]); i++)
		if ((oa_any_below(w, below_n[i]) != 0) !=
		    naive_below(b, below_n[i]))
			wrong++;
	for (i = 0; i < sizeof(above_n) / sizeof(above_n[0]); i++)
		if ((oa_any_above(w, above_n[i]) != 0) !=
		    naive_above(b, above_n[i]))
			wrong++;
	for (i = 0; i < sizeof(equal_v) / sizeof(equal_v[0]); i++)
		if ((oa_any_equal(w, equal_v[i]) != 0) !=
		    naive_equal(b, equal_v[i]))
			wrong++;
}

int
main(void)
{
	unsigned char b[8];
	unsigned bg, v, pos, q;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	long i;

	/* One byte v at pos, the others bg; and v at two positions. */
	for (bg = 0; bg < 256; bg++)
		for (v = 0; v < 256; v++)
			for (pos = 0; pos < 8; pos++) {
				memset(b, (int)bg, sizeof(b));
				b[pos] = (unsigned char)v;
				check_word(b);
				q = (pos + 3) % 8;
				b[q] = (unsigned char)(v ^ 0x80);
				check_word(b);
			}
	CHECK(wrong == 0);
	/* Random words (xorshift64). */
	for (i = 0; i < 2000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b, &x, sizeof(b));
		check_word(b);
	}
	CHECK(wrong == 0);
	if (wrong != 0)
		fprintf(stderr, "%ld wrong answers\n", wrong);
	return t_done("bytes");
}
