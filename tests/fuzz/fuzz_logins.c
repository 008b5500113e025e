/*
 * fuzz_logins.c - the login cookie's writer and reader (lib/cookie.c):
 * oa_logins_seal writes the JSON by hand, oa_logins_open reads it with
 * cJSON. Whatever the writer writes, the reader must give back exactly.
 *
 * The input is cut at NUL bytes into strings, eleven per login (state,
 * provider, client_id, redirect_uri, client_state, client_nonce,
 * code_challenge, response_type, scope, verifier, nonce; a string that
 * is the one byte 0x01 stands for an absent field), up to five logins.
 * The set is sealed, and it aborts when a promise is broken:
 *  - the plaintext differs from what cJSON_PrintUnformatted gives for
 *    the same set (the encoder it replaced), byte for byte;
 *  - the sealed set does not open, or opens to other fields or times;
 *  - the value is longer than OA_LOGIN_MAX_VALUE, or the Set-Cookie
 *    header is not one clean header line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ownauth.h"
#include "logins_ref.h"

#define T0 ((time_t)1700000000)
#define MAXLOGINS 5

static const uint8_t key[32] = {
    0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6c, 0x6f, 0x67, 0x69, 0x6e, 0x73,
    0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x61, 0x2d,
    0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x21, 0x21, 0x21, 0x21,
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
round_trip(struct oa_logins *set)
{
	struct oa_logins *got = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0, i, k;
	char *v, *want, *h;

	h = oa_logins_cookie(key, "https://auth.example.com", set, T0);
	if (h != NULL) {
		check(strlen(h) < 4096 && strpbrk(h, "\r\n\",\\") == NULL);
		free(h);
	}
	if ((v = oa_logins_seal(key, "__Host-ownauth_login", set, T0)) ==
	    NULL)
		return;
	check(strlen(v) <= OA_LOGIN_MAX_VALUE && set->n > 0);
	/* The plaintext: cJSON's text, byte for byte. */
	check(oa_cookie_open(key, "__Host-ownauth_login", v, strlen(v), T0,
	          OA_LOGIN_TTL, &pt, &ptlen) == OA_SEAL_OK);
	want = ref_cjson_text(set);
	check(want != NULL && strlen(want) == ptlen &&
	    memcmp(want, pt, ptlen) == 0);
	cJSON_free(want);
	free(pt);
	/* The reader gives back every field. */
	check(oa_logins_open(key, "__Host-ownauth_login", v, T0, &got) ==
	    OA_SEAL_OK);
	check(got->n == set->n);
	for (i = 0; i < set->n; i++) {
		check(got->v[i]->created == set->v[i]->created);
		for (k = 0; k < REF_NF; k++) {
			const char *a = *ref_field(set->v[i], k);
			const char *b = *ref_field(got->v[i], k);
			check((a == NULL) == (b == NULL));
			check(a == NULL || strcmp(a, b) == 0);
		}
	}
	oa_logins_free(got);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa_logins *set;
	struct oa_login l;
	char *buf, *p, *end;
	size_t n, k;

	if (size > 16384 || (set = oa_logins_new()) == NULL)
		return 0;
	if ((buf = malloc(size + 1)) == NULL) {
		oa_logins_free(set);
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf;
	end = buf + size;
	for (n = 0; n < MAXLOGINS && p < end; n++) {
		memset(&l, 0, sizeof(l));
		for (k = 0; k < REF_NF && p <= end; k++) {
			*ref_field(&l, k) = strcmp(p, "\x01") == 0 ? NULL : p;
			p += strlen(p) + 1;
		}
		/* Oldest first, all within the login lifetime. */
		l.created = T0 - (time_t)(MAXLOGINS - n);
		if (oa_logins_add(set, &l) != 0)
			continue;
		check(set->n <= OA_LOGIN_MAX);
	}
	if (set->n > 0)
		round_trip(set);
	oa_logins_free(set);
	free(buf);
	return 0;
}
