/*
 * test_b64.c - base64url (RFC 4648 §10 vectors, §5 alphabet, strictness)
 * and the util.c helpers built on it (random tokens, constant-time
 * compare, SHA-256).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"
#include "t.h"

/* Decodes s (strlen) and returns 1 when it gives exactly want[0..wlen). */
static int
decodes_to(const char *s, const void *want, size_t wlen)
{
	uint8_t *out = NULL;
	size_t olen = 0;
	int ok;

	if (oa_b64url_decode(s, strlen(s), &out, &olen) != 0)
		return 0;
	ok = olen == wlen && memcmp(out, want, wlen) == 0 && out[olen] == 0;
	free(out);
	return ok;
}

/* 1 when decoding s[0..len) is refused and the out-parameters are
 * left alone. */
static int
refused(const char *s, size_t len)
{
	uint8_t *out = (uint8_t *)"untouched";
	size_t olen = 12345;

	if (oa_b64url_decode(s, len, &out, &olen) == 0) {
		free(out);
		return 0;
	}
	return olen == 12345 && strcmp((char *)out, "untouched") == 0;
}

static void
test_rfc4648_vectors(void)
{
	/* RFC 4648 §10, with the padding removed (RFC 7515 §2). */
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	};
	size_t i;

	for (i = 0; i < sizeof v / sizeof *v; i++) {
		char *e = oa_b64url_encode(v[i].in, strlen(v[i].in));
		CHECK_STR(e, v[i].out);
		free(e);
		CHECK(decodes_to(v[i].out, v[i].in, strlen(v[i].in)));
	}
}

static void
test_url_alphabet(void)
{
	/* RFC 4648 §5: 62 is '-' and 63 is '_' (not '+' and '/'). */
	static const uint8_t a[] = {0xfb, 0xff}, b[] = {0xff, 0xff, 0xfe};
	static const uint8_t c[] = {0x03, 0xe0};
	char *e;

	e = oa_b64url_encode(a, sizeof a);
	CHECK_STR(e, "-_8");
	free(e);
	e = oa_b64url_encode(b, sizeof b);
	CHECK_STR(e, "___-");
	free(e);
	CHECK(decodes_to("-_8", a, sizeof a));
	CHECK(decodes_to("___-", b, sizeof b));
	CHECK(decodes_to("A-A", c, sizeof c));
	/* RFC 7515 Appendix C example: 3, 236, 255, 224, 193 */
	{
		static const uint8_t d[] = {3, 236, 255, 224, 193};
		e = oa_b64url_encode(d, sizeof d);
		CHECK_STR(e, "A-z_4ME");
		free(e);
		CHECK(decodes_to("A-z_4ME", d, sizeof d));
	}
}

static void
test_strictness(void)
{
	/* Padding, standard alphabet, whitespace. */
	CHECK(refused("Zg==", 4));
	CHECK(refused("Zg=", 3));
	CHECK(refused("Zm8=", 4));
	CHECK(refused("Zm9v+w", 6));
	CHECK(refused("Zm9v/w", 6));
	CHECK(refused("++8", 3));
	CHECK(refused("Zm9 v", 5));
	CHECK(refused(" Zm9v", 5));
	CHECK(refused("Zm9v\n", 5));
	CHECK(refused("Zm9v\r\nYg", 8));
	CHECK(refused("Zm\t9v", 5));
	CHECK(refused("Zm9.v", 5));
	/* An embedded NUL inside the given length. */
	CHECK(refused("Zm\0v", 4));
	CHECK(refused("Zm9v\0", 5));
	/* A byte above 0x7f. */
	CHECK(refused("Zm9\xc3\xa9", 5));
	/* Length 1 mod 4 cannot encode whole bytes (RFC 4648 §3.5...). */
	CHECK(refused("Z", 1));
	CHECK(refused("Zm9vY", 5));
	CHECK(refused("Zm9vYmFyZ", 9));
	/* ... and non-zero trailing bits make a second spelling of the
	 * same bytes: "Zh" would also be "f", "Zm9" also "fo". */
	CHECK(refused("Zh", 2));
	CHECK(refused("Zp", 2));
	CHECK(refused("Zm9", 3));
	CHECK(refused("Zm-", 3));
	CHECK(refused("Zm9vYh", 6));
	CHECK(!decodes_to("Zh", "f", 1));
	/* The canonical spellings are accepted. */
	CHECK(decodes_to("Zg", "f", 1));
	CHECK(decodes_to("Zm8", "fo", 2));
	/* The explicit length is honoured (not strlen). */
	{
		uint8_t *out = NULL;
		size_t olen = 0;
		CHECK(oa_b64url_decode("Zm9vYmFy", 4, &out, &olen) == 0);
		CHECK(olen == 3 && out != NULL && memcmp(out, "foo", 3) == 0);
		free(out);
		CHECK(oa_b64url_decode(NULL, 0, &out, &olen) == -1);
	}
}

static void
test_round_trip(void)
{
	uint8_t buf[300], *out = NULL;
	size_t len, olen = 0, i;
	int all = 1;

	CHECK(oa_random(buf, sizeof buf) == 0);
	for (len = 0; len <= sizeof buf; len++) {
		char *e = oa_b64url_encode(buf, len);
		if (e == NULL || strlen(e) != (len * 4 + 2) / 3) {
			all = 0;
			free(e);
			continue;
		}
		for (i = 0; e[i] != '\0'; i++)
			if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			           "qrstuvwxyz0123456789-_",
			        e[i]) == NULL)
				all = 0;
		if (oa_b64url_decode(e, strlen(e), &out, &olen) != 0 ||
		    olen != len || memcmp(out, buf, len) != 0)
			all = 0;
		free(out);
		out = NULL;
		free(e);
	}
	CHECK(all);
}

static void
test_util(void)
{
	uint8_t a[32] = {0}, b[32] = {0}, md[32];
	char *t1, *t2, *h;

	/* oa_random fills, and two draws differ. */
	CHECK(oa_random(a, sizeof a) == 0);
	CHECK(oa_random(b, sizeof b) == 0);
	CHECK(memcmp(a, b, sizeof a) != 0);
	CHECK(oa_random(NULL, 0) == 0);

	/* 32 random bytes -> 43 base64url characters, never the same. */
	t1 = oa_random_token(32);
	t2 = oa_random_token(32);
	CHECK(t1 != NULL && strlen(t1) == 43);
	CHECK(t2 != NULL && strlen(t2) == 43);
	CHECK(t1 != NULL && t2 != NULL && strcmp(t1, t2) != 0);
	CHECK(t1 != NULL &&
	    strspn(t1,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	        "klmnopqrstuvwxyz0123456789-_") == 43);
	oa_secret_free(t1);
	oa_secret_free(t2);
	CHECK(oa_random_token(0) == NULL);
	oa_secret_free(NULL);

	/* Constant-time compare: lengths first, NULL never matches. */
	CHECK(oa_ct_eq("abc", 3, "abc", 3) == 1);
	CHECK(oa_ct_eq("abc", 3, "abd", 3) == 0);
	CHECK(oa_ct_eq("abc", 3, "abcd", 4) == 0);
	CHECK(oa_ct_eq("abc", 2, "abd", 2) == 1);
	CHECK(oa_ct_eq(NULL, 0, NULL, 0) == 0);
	CHECK(oa_ct_eq("", 0, NULL, 0) == 0);
	CHECK(oa_ct_eq("", 0, "", 0) == 1);
	CHECK(oa_ct_streq("secret", "secret") == 1);
	CHECK(oa_ct_streq("secret", "secreT") == 0);
	CHECK(oa_ct_streq("secret", "secret2") == 0);
	CHECK(oa_ct_streq("", "") == 1);
	CHECK(oa_ct_streq(NULL, "") == 0);
	CHECK(oa_ct_streq("", NULL) == 0);
	CHECK(oa_ct_streq(NULL, NULL) == 0);

	/* FIPS 180-2 / RFC 6234 vector: SHA-256("abc"). */
	oa_sha256("abc", 3, md);
	h = oa_b64url_encode(md, 32);
	CHECK_STR(h, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	free(h);
	h = oa_sha256_b64("abc", 3);
	CHECK_STR(h, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	free(h);
	/* SHA-256 of the empty string. */
	h = oa_sha256_b64("", 0);
	CHECK_STR(h, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	free(h);
	/* RFC 7636 Appendix B: S256 challenge of the example verifier. */
	h = oa_sha256_b64("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 43);
	CHECK_STR(h, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	free(h);
}

int
main(void)
{
	test_rfc4648_vectors();
	test_url_alphabet();
	test_strictness();
	test_round_trip();
	test_util();
	return t_done("b64");
}
