/*
 * bytes_int.h - word-at-a-time tests of byte classes, private to lib/.
 *
 * The response checks run over every byte of a login redirect's headers
 * (a sealed cookie of several hundred bytes, the upstream URL): eight
 * bytes at a time they cost an eighth. Each test answers exactly whether
 * SOME byte of the word is in the class (not which one): the classic
 * "has less / has more / has zero byte" identities, exact for that
 * question when n is at most 128 (below) or 127 (above).
 */
#ifndef OA_BYTES_INT_H
#define OA_BYTES_INT_H

#include <stdint.h>
#include <string.h>

#define OA_ONES UINT64_C(0x0101010101010101)
#define OA_HIGHS UINT64_C(0x8080808080808080)

/* The 8 bytes at p, in any order (the tests look at all of them). */
static inline uint64_t
oa_word(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Nonzero when some byte of w is below n (n <= 128). */
static inline uint64_t
oa_any_below(uint64_t w, unsigned n)
{
	return (w - OA_ONES * n) & ~w & OA_HIGHS;
}

/* Nonzero when some byte of w is above n (n <= 127). */
static inline uint64_t
oa_any_above(uint64_t w, unsigned n)
{
	return ((w + OA_ONES * (127 - n)) | w) & OA_HIGHS;
}

/* Nonzero when some byte of w is b. */
static inline uint64_t
oa_any_equal(uint64_t w, unsigned b)
{
	return oa_any_below(w ^ (OA_ONES * b), 1);
}

#endif
