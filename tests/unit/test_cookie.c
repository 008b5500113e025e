/*
 * test_cookie.c - sealed cookies, Set-Cookie values and the in-flight
 * login cookie (lib/cookie.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include "ownauth.h"
#include "t.h"
#include "../fuzz/logins_ref.h"

static uint8_t key[32], key2[32];
static const time_t T0 = 1700000000;

static enum oa_seal_result
open_str(const uint8_t *k, const char *name, const char *v, time_t now,
    long max_age, char **out)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	enum oa_seal_result r;

	r = oa_cookie_open(k, name, v, strlen(v), now, max_age, &pt, &len);
	if (r == OA_SEAL_OK) {
		CHECK(pt != NULL && pt[len] == '\0');
		if (out != NULL)
			*out = (char *)pt;
		else
			free(pt);
	} else
		CHECK(pt == NULL);
	return r;
}

/* Re-encodes a sealed value after flipping bits of raw byte i. */
static char *
tamper(const char *v, size_t i, uint8_t mask)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	char *out;

	if (oa_b64url_decode(v, strlen(v), &raw, &len) != 0 || i >= len) {
		free(raw);
		return NULL;
	}
	raw[i] ^= mask;
	out = oa_b64url_encode(raw, len);
	free(raw);
	return out;
}

/*
 * Opens a sealed value with a context of its own (not cookie.c's): the
 * layout version || nonce[12] || AES-256-GCM(be64 time || data) || tag,
 * the AAD version || name. 1 when it opens to time t and data msg.
 */
static int
open_independently(const uint8_t *k, const char *name, const char *v,
    time_t t, const char *msg)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t *raw = NULL, pt[512];
	size_t len = 0, ct, i;
	int n, ok = 0;
	int64_t when = 0;

	if (oa_b64url_decode(v, strlen(v), &raw, &len) != 0 ||
	    len < 1 + 12 + 8 + 16 || len - 1 - 12 - 16 > sizeof(pt)) {
		free(raw);
		return 0;
	}
	ct = len - 1 - 12 - 16;
	if ((ctx = EVP_CIPHER_CTX_new()) != NULL &&
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k, raw + 1) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, raw, 1) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)name,
	    (int)strlen(name)) == 1 &&
	    EVP_DecryptUpdate(ctx, pt, &n, raw + 13, (int)ct) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
	    raw + len - 16) == 1 &&
	    EVP_DecryptFinal_ex(ctx, pt + n, &n) == 1) {
		for (i = 0; i < 8; i++)
			when = when << 8 | pt[i];
		ok = when == (int64_t)t && ct - 8 == strlen(msg) &&
		    memcmp(pt + 8, msg, ct - 8) == 0;
	}
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	return ok;
}

/*
 * cookie.c keeps its GCM contexts from one call to the next: every seal
 * must still be under the key it was given (also when the caller's key
 * buffer changes in place, as a reloaded key ring may) with a fresh
 * nonce, and a failed open must not spoil the next one.
 */
static void
test_key_switch(void)
{
	uint8_t k[32];
	char *v[6] = { NULL };
	char msg[32];
	size_t i;

	memcpy(k, key, sizeof(k));
	for (i = 0; i < 6; i++) {
		/* key, key2, key, key2... and in place: k flips each time. */
		const uint8_t *use = i % 3 == 0 ? key : i % 3 == 1 ? key2 : k;
		snprintf(msg, sizeof(msg), "message %zu", i);
		if (i % 3 == 2)
			k[i] ^= 0x5a;
		v[i] = oa_cookie_seal(use, "login", msg, strlen(msg), T0 + i);
		CHECK(v[i] != NULL);
		if (v[i] == NULL)
			continue;
		CHECK(open_independently(use, "login", v[i], T0 + (time_t)i,
		    msg));
		CHECK(!open_independently(use == key ? key2 : key, "login",
		    v[i], T0 + (time_t)i, msg));
		/* A wrong key first, then the right one. */
		CHECK(open_str(use == key ? key2 : key, "login", v[i], T0,
		    600, NULL) == OA_SEAL_BAD_TAG);
		CHECK(open_str(use, "login", v[i], T0, 600, NULL) ==
		    OA_SEAL_OK);
		if (i > 0 && v[i - 1] != NULL)
			CHECK(strncmp(v[i], v[i - 1], 17) != 0);
	}
	/* The in-place key of the last round no longer opens the third. */
	CHECK(v[2] != NULL && open_str(k, "login", v[2], T0, 600, NULL) ==
	    OA_SEAL_BAD_TAG);
	for (i = 0; i < 6; i++)
		free(v[i]);
}

/* RFC 6265 §4.1.1 cookie-octet. */
static int
cookie_octet(int b)
{
	return b == 0x21 || (b >= 0x23 && b <= 0x2b) ||
	    (b >= 0x2d && b <= 0x3a) || (b >= 0x3c && b <= 0x5b) ||
	    (b >= 0x5d && b <= 0x7e);
}

/* Every byte value at every position of values of 1 to 24 bytes (the
 * check goes eight bytes at a time, the rest one by one): a value is
 * taken exactly when all its bytes are cookie-octets. */
static void
test_value_bytes(void)
{
	char v[25], *s;
	size_t len, pos;
	int b, wrong = 0;

	for (len = 1; len <= 24; len++)
		for (pos = 0; pos < len; pos++)
			for (b = 1; b < 256; b++) {
				memset(v, 'A' + (int)(len % 26), len);
				v[len] = '\0';
				v[pos] = (char)b;
				s = oa_cookie_header("https://a.example",
				    OA_LOGIN_COOKIE, v, 1, OA_SAMESITE_LAX);
				if ((s != NULL) != cookie_octet(b))
					wrong++;
				free(s);
			}
	CHECK(wrong == 0);
}

static void
test_seal(void)
{
	const char *msg = "hello, sealed world";
	char *v, *v2, *pt = NULL;
	uint8_t *raw = NULL, bin[5] = {0, 1, 0, 255, 0};
	size_t rawlen = 0, i, len;
	int all_refused;

	v = oa_cookie_seal(key, "login", msg, strlen(msg), T0);
	CHECK(v != NULL);
	if (v == NULL)
		return;
	/* Layout: version || nonce[12] || ciphertext (8 + len) || tag[16]. */
	CHECK(oa_b64url_decode(v, strlen(v), &raw, &rawlen) == 0);
	CHECK(rawlen == 1 + 12 + 8 + strlen(msg) + 16);
	CHECK(raw != NULL && raw[0] == OA_SEAL_VERSION);
	CHECK(raw != NULL && memmem(raw, rawlen, msg, strlen(msg)) == NULL);
	free(raw);

	CHECK(open_str(key, "login", v, T0, 600, &pt) == OA_SEAL_OK);
	CHECK_STR(pt, msg);
	free(pt);

	/* Random nonce: sealing twice gives two values, both open. */
	v2 = oa_cookie_seal(key, "login", msg, strlen(msg), T0);
	CHECK(v2 != NULL && strcmp(v, v2) != 0);
	CHECK(v2 && open_str(key, "login", v2, T0, 600, NULL) == OA_SEAL_OK);
	free(v2);

	/* Wrong key, wrong name (AAD). */
	CHECK(open_str(key2, "login", v, T0, 600, NULL) == OA_SEAL_BAD_TAG);
	CHECK(open_str(key, "logi", v, T0, 600, NULL) == OA_SEAL_BAD_TAG);
	CHECK(open_str(key, "login2", v, T0, 600, NULL) == OA_SEAL_BAD_TAG);
	CHECK(open_str(key, "", v, T0, 600, NULL) == OA_SEAL_BAD_TAG);

	/* Expiry: max_age inclusive; issue time at most OA_SEAL_SKEW ahead. */
	CHECK(open_str(key, "login", v, T0 + 600, 600, NULL) == OA_SEAL_OK);
	CHECK(
	    open_str(key, "login", v, T0 + 601, 600, NULL) == OA_SEAL_EXPIRED);
	CHECK(open_str(key, "login", v, T0 + 100000, 600, NULL) ==
	    OA_SEAL_EXPIRED);
	CHECK(open_str(key, "login", v, T0 - OA_SEAL_SKEW, 600, NULL) ==
	    OA_SEAL_OK);
	CHECK(open_str(key, "login", v, T0 - OA_SEAL_SKEW - 1, 600, NULL) ==
	    OA_SEAL_EXPIRED);
	CHECK(open_str(key, "login", v, T0 + 1, 0, NULL) == OA_SEAL_EXPIRED);
	CHECK(open_str(key, "login", v, T0, 0, NULL) == OA_SEAL_OK);

	/* Tampering with any bit of any byte is refused. */
	CHECK(oa_b64url_decode(v, strlen(v), &raw, &rawlen) == 0);
	free(raw);
	all_refused = 1;
	for (i = 0; i < rawlen; i++) {
		uint8_t masks[] = {0x01, 0x80, 0xff};
		size_t m;
		for (m = 0; m < sizeof(masks); m++) {
			char *t = tamper(v, i, masks[m]);
			enum oa_seal_result r;
			if (t == NULL) {
				all_refused = 0;
				continue;
			}
			r = open_str(key, "login", t, T0, 600, NULL);
			if (r == OA_SEAL_OK ||
			    r !=
			        (i == 0 ? OA_SEAL_BAD_VERSION
			                : OA_SEAL_BAD_TAG)) {
				fprintf(stderr, "  byte %zu mask %02x: %s\n", i,
				    masks[m], oa_seal_result_str(r));
				all_refused = 0;
			}
			free(t);
		}
	}
	CHECK(all_refused);

	/* Truncated, extended, not base64url, empty, too long. */
	len = strlen(v);
	{
		char *c = strdup(v);
		size_t cut;
		all_refused = 1;
		for (cut = 0; cut < len; cut++) {
			c[cut] = '\0';
			if (open_str(key, "login", c, T0, 600, NULL) ==
			    OA_SEAL_OK)
				all_refused = 0;
			c[cut] = v[cut];
		}
		CHECK(all_refused);
		free(c);
	}
	{
		char *c = malloc(len + 8);
		memcpy(c, v, len);
		memcpy(c + len, "AAAA", 5);
		CHECK(open_str(key, "login", c, T0, 600, NULL) ==
		    OA_SEAL_BAD_TAG);
		c[len] = '=';
		CHECK(open_str(key, "login", c, T0, 600, NULL) ==
		    OA_SEAL_MALFORMED);
		c[len] = '\0';
		c[3] = '+';
		CHECK(open_str(key, "login", c, T0, 600, NULL) ==
		    OA_SEAL_MALFORMED);
		free(c);
	}
	CHECK(open_str(key, "login", "", T0, 600, NULL) == OA_SEAL_MALFORMED);
	CHECK(open_str(key, "login", "AQ", T0, 600, NULL) == OA_SEAL_MALFORMED);
	{
		char *c = malloc(OA_SEAL_MAX_VALUE + 2);
		memset(c, 'A', OA_SEAL_MAX_VALUE + 1);
		c[OA_SEAL_MAX_VALUE + 1] = '\0';
		CHECK(open_str(key, "login", c, T0, 600, NULL) ==
		    OA_SEAL_MALFORMED);
		free(c);
	}
	CHECK(oa_cookie_open(key, "login", NULL, 0, T0, 600, &raw, NULL) ==
	    OA_SEAL_MALFORMED);
	CHECK(oa_cookie_open(key, "login", v, len, T0, -1, &raw, NULL) ==
	    OA_SEAL_ERROR);
	free(v);

	/* Another version byte: refused before the tag is looked at. */
	{
		uint8_t b[1 + 12 + 8 + 16];
		memset(b, 0, sizeof(b));
		b[0] = OA_SEAL_VERSION + 1;
		v = oa_b64url_encode(b, sizeof(b));
		CHECK(open_str(key, "login", v, T0, 600, NULL) ==
		    OA_SEAL_BAD_VERSION);
		free(v);
	}

	/* Binary data with NULs, and empty data. */
	v = oa_cookie_seal(key, "b", bin, sizeof(bin), T0);
	raw = NULL;
	CHECK(v &&
	    oa_cookie_open(key, "b", v, strlen(v), T0, 10, &raw, &len) ==
	        OA_SEAL_OK);
	CHECK(raw != NULL && len == sizeof(bin) && memcmp(raw, bin, len) == 0 &&
	    raw[len] == 0);
	free(raw);
	free(v);
	v = oa_cookie_seal(key, "b", NULL, 0, T0);
	raw = NULL;
	CHECK(v &&
	    oa_cookie_open(key, "b", v, strlen(v), T0, 10, &raw, &len) ==
	        OA_SEAL_OK &&
	    len == 0 && raw && raw[0] == 0);
	free(raw);
	free(v);

	/* Size bound on sealing. */
	{
		char *big = calloc(1, OA_SEAL_MAX_DATA + 1);
		v = oa_cookie_seal(key, "b", big, OA_SEAL_MAX_DATA, T0);
		CHECK(v != NULL && strlen(v) <= OA_SEAL_MAX_VALUE);
		CHECK(v &&
		    oa_cookie_open(key, "b", v, strlen(v), T0, 10, &raw,
		        &len) == OA_SEAL_OK &&
		    len == OA_SEAL_MAX_DATA);
		if (v)
			free(raw);
		free(v);
		CHECK(oa_cookie_seal(key, "b", big, OA_SEAL_MAX_DATA + 1, T0) ==
		    NULL);
		free(big);
	}
	CHECK(oa_cookie_seal(key, NULL, "x", 1, T0) == NULL);
	CHECK_STR(
	    oa_seal_result_str(OA_SEAL_BAD_TAG), "authentication tag mismatch");
}

static void
test_headers(void)
{
	char *s;

	s = oa_cookie_name("https://auth.example.com", OA_LOGIN_COOKIE);
	CHECK_STR(s, "__Host-ownauth_login");
	free(s);
	s = oa_cookie_name("https://auth.example.com:8443", OA_LOGIN_COOKIE);
	CHECK_STR(s, "__Host-ownauth_login");
	free(s);
	s = oa_cookie_name("https://example.com/auth", OA_LOGIN_COOKIE);
	CHECK_STR(s, "__Secure-ownauth_login");
	free(s);
	s = oa_cookie_name("http://127.0.0.1:8080", OA_LOGIN_COOKIE);
	CHECK_STR(s, "ownauth_login");
	free(s);
	s = oa_cookie_name("http://localhost/x", OA_REFRESH_COOKIE);
	CHECK_STR(s, "ownauth_refresh");
	free(s);
	CHECK(oa_cookie_name("http://example.com", OA_LOGIN_COOKIE) == NULL);
	CHECK(oa_cookie_name("ftp://example.com", OA_LOGIN_COOKIE) == NULL);
	CHECK(oa_cookie_name("https://example.com", "bad name") == NULL);
	CHECK(oa_cookie_name("https://example.com", "") == NULL);
	CHECK(oa_cookie_name(NULL, OA_LOGIN_COOKIE) == NULL);

	s = oa_cookie_header("https://auth.example.com", OA_LOGIN_COOKIE, "abc",
	    600, OA_SAMESITE_LAX);
	CHECK_STR(s,
	    "__Host-ownauth_login=abc; Path=/; Max-Age=600; "
	    "HttpOnly; Secure; SameSite=Lax");
	free(s);
	/* Path no wider than the issuer's (SECURITY 23). */
	s = oa_cookie_header("https://example.com/auth", OA_REFRESH_COOKIE,
	    "r-1_x", 2592000, OA_SAMESITE_STRICT);
	CHECK_STR(s,
	    "__Secure-ownauth_refresh=r-1_x; Path=/auth; "
	    "Max-Age=2592000; HttpOnly; Secure; SameSite=Strict");
	free(s);
	/* Secure dropped only for http loopback. */
	s = oa_cookie_header("http://127.0.0.1:8080", OA_REFRESH_COOKIE, "r",
	    60, OA_SAMESITE_STRICT);
	CHECK_STR(s,
	    "ownauth_refresh=r; Path=/; Max-Age=60; HttpOnly; "
	    "SameSite=Strict");
	free(s);
	s = oa_cookie_header(
	    "http://[::1]:8080/a/b", OA_LOGIN_COOKIE, "", 0, OA_SAMESITE_LAX);
	CHECK_STR(s,
	    "ownauth_login=; Path=/a/b; Max-Age=0; HttpOnly; "
	    "SameSite=Lax");
	free(s);
	CHECK(oa_cookie_header("http://auth.example.com", OA_LOGIN_COOKIE, "x",
	          1, OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example", OA_LOGIN_COOKIE, "x;y", 1,
	          OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example", OA_LOGIN_COOKIE, "x y", 1,
	          OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example", OA_LOGIN_COOKIE, "\"x\"", 1,
	          OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example", OA_LOGIN_COOKIE, "x", -1,
	          OA_SAMESITE_LAX) == NULL);
	test_value_bytes();
	CHECK(oa_cookie_header("https://a.example", OA_LOGIN_COOKIE, NULL, 1,
	          OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example/x;y", OA_LOGIN_COOKIE, "x", 1,
	          OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example/x,y", OA_LOGIN_COOKIE, "x", 1,
	          OA_SAMESITE_LAX) == NULL);
	CHECK(oa_cookie_header("https://a.example/x?y", OA_LOGIN_COOKIE, "x", 1,
	          OA_SAMESITE_LAX) == NULL);
}

static void
fill(struct oa_login *l, const char *state)
{
	memset(l, 0, sizeof(*l));
	l->state = (char *)state;
	l->provider = "google";
	l->client_id = "web";
	l->redirect_uri = "https://app.example.com/cb?x=1";
	l->client_state = "client \"state\" \xc3\xa9";
	l->client_nonce = "n-0S6_WzA2Mj";
	l->code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	l->response_type = "code";
	l->scope = "openid email";
	l->verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	l->nonce = "upstream-nonce";
	l->created = T0;
}

static void
test_logins(void)
{
	struct oa_logins *set = oa_logins_new(), *got = NULL;
	struct oa_login l, *t = NULL;
	char *v = NULL, *h;

	CHECK(set != NULL && set->n == 0);
	if (set == NULL)
		return;

	/* Required members. */
	fill(&l, NULL);
	CHECK(oa_logins_add(set, &l) == -1);
	fill(&l, "");
	CHECK(oa_logins_add(set, &l) == -1);
	fill(&l, "s1");
	l.provider = NULL;
	CHECK(oa_logins_add(set, &l) == -1);
	CHECK(set->n == 0);

	/* Four logins: the oldest is evicted. */
	fill(&l, "s1");
	CHECK(oa_logins_add(set, &l) == 0);
	fill(&l, "s2");
	l.created = T0 + 1;
	CHECK(oa_logins_add(set, &l) == 0);
	fill(&l, "s3");
	l.created = T0 + 2;
	CHECK(oa_logins_add(set, &l) == 0);
	CHECK(set->n == 3);
	fill(&l, "s4");
	l.created = T0 + 3;
	l.client_nonce = NULL; /* optional members may be absent */
	l.nonce = NULL;
	CHECK(oa_logins_add(set, &l) == 0);
	CHECK(set->n == OA_LOGIN_MAX);
	CHECK_STR(set->v[0]->state, "s2");
	CHECK_STR(set->v[2]->state, "s4");
	CHECK(oa_logins_take(set, "s1", &t) == -1 && t == NULL);

	/* Seal and open: every member survives. */
	v = oa_logins_seal(key, "__Host-ownauth_login", set, T0 + 3);
	CHECK(v != NULL && strlen(v) <= OA_LOGIN_MAX_VALUE);
	CHECK(v &&
	    oa_logins_open(key, "__Host-ownauth_login", v, T0 + 10, &got) ==
	        OA_SEAL_OK);
	CHECK(got != NULL && got->n == 3);
	if (got != NULL && got->n == 3) {
		struct oa_login *g = got->v[0];
		CHECK_STR(g->state, "s2");
		CHECK_STR(g->provider, "google");
		CHECK_STR(g->client_id, "web");
		CHECK_STR(g->redirect_uri, "https://app.example.com/cb?x=1");
		CHECK_STR(g->client_state, "client \"state\" \xc3\xa9");
		CHECK_STR(g->client_nonce, "n-0S6_WzA2Mj");
		CHECK_STR(g->code_challenge,
		    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
		CHECK_STR(g->response_type, "code");
		CHECK_STR(g->scope, "openid email");
		CHECK_STR(
		    g->verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
		CHECK_STR(g->nonce, "upstream-nonce");
		CHECK(g->created == T0 + 1);
		CHECK(got->v[2]->client_nonce == NULL);
		CHECK(got->v[2]->nonce == NULL);
		CHECK(got->v[2]->created == T0 + 3);
	}

	/* Take: single use, by exact state. */
	CHECK(oa_logins_take(got, "s", &t) == -1);
	CHECK(oa_logins_take(got, "s33", &t) == -1);
	CHECK(oa_logins_take(got, NULL, &t) == -1);
	CHECK(oa_logins_take(got, "s3", &t) == 0);
	CHECK(t != NULL && strcmp(t->state, "s3") == 0 && got->n == 2);
	oa_login_free(t);
	t = NULL;
	CHECK(oa_logins_take(got, "s3", &t) == -1 && t == NULL);
	CHECK_STR(got->v[0]->state, "s2");
	CHECK_STR(got->v[1]->state, "s4");
	oa_logins_free(got);
	got = NULL;

	/* A value sealed under one name does not open under another. */
	CHECK(oa_logins_open(key, "ownauth_login", v, T0 + 10, &got) ==
	        OA_SEAL_BAD_TAG &&
	    got == NULL);
	CHECK(oa_logins_open(key2, "__Host-ownauth_login", v, T0 + 10, &got) ==
	        OA_SEAL_BAD_TAG &&
	    got == NULL);
	/* The whole cookie expires... */
	CHECK(oa_logins_open(key, "__Host-ownauth_login", v,
	          T0 + 3 + OA_LOGIN_TTL + 1, &got) == OA_SEAL_EXPIRED &&
	    got == NULL);
	free(v);

	/* ... and so does each login inside it. */
	v = oa_logins_seal(key, "n", set, T0 + 500);
	CHECK(v &&
	    oa_logins_open(key, "n", v, T0 + OA_LOGIN_TTL + 2, &got) ==
	        OA_SEAL_OK);
	CHECK(got != NULL && got->n == 2);
	if (got != NULL && got->n == 2) {
		CHECK_STR(got->v[0]->state, "s3");
		CHECK_STR(got->v[1]->state, "s4");
	}
	oa_logins_free(got);
	got = NULL;
	free(v);

	/* No cookie: an empty set. */
	CHECK(oa_logins_open(key, "n", NULL, T0, &got) == OA_SEAL_OK &&
	    got != NULL && got->n == 0);
	oa_logins_free(got);
	got = NULL;
	CHECK(oa_logins_open(key, "n", "", T0, &got) == OA_SEAL_OK &&
	    got != NULL && got->n == 0);
	oa_logins_free(got);
	got = NULL;
	CHECK(oa_logins_open(key, "n", "garbage", T0, &got) ==
	        OA_SEAL_MALFORMED &&
	    got == NULL);

	/* Sealed data that is not a login list. */
	{
		static const char *bad[] = {
		    "not json",
		    "{}",
		    "[1]",
		    "[{}]",
		    "[{\"s\":\"a\",\"t\":1700000000}]", /* no p */
		    "[{\"s\":\"a\",\"p\":\"g\"}]",      /* no t */
		    "[{\"s\":\"a\",\"p\":\"g\",\"t\":\"1\"}]",
		    "[{\"s\":\"a\",\"p\":\"g\",\"t\":1.5}]",
		    "[{\"s\":\"a\",\"p\":\"g\",\"t\":-1}]",
		    "[{\"s\":1,\"p\":\"g\",\"t\":1700000000}]",
		    "[{\"s\":\"\",\"p\":\"g\",\"t\":1700000000}]",
		    "[{\"s\":\"a\",\"p\":\"g\",\"c\":null,\"t\":1700000000}]",
		    "[{\"s\":\"a\",\"p\":\"g\",\"t\":1700000000},{\"s\":\"b\","
		    "\"p\":\"g\",\"t\":1700000000},{\"s\":\"c\",\"p\":\"g\","
		    "\"t\":1700000000},{\"s\":\"d\",\"p\":\"g\","
		    "\"t\":1700000000}]",
		};
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			v = oa_cookie_seal(
			    key, "n", bad[i], strlen(bad[i]), T0);
			got = NULL;
			if (oa_logins_open(key, "n", v, T0, &got) !=
			        OA_SEAL_MALFORMED ||
			    got != NULL) {
				fprintf(stderr, "  accepted: %s\n", bad[i]);
				CHECK(0);
			}
			oa_logins_free(got);
			free(v);
		}
		/* Unknown members are ignored; an old login is dropped. */
		{
			const char *ok =
			    "[{\"s\":\"a\",\"p\":\"g\",\"x\":[1],"
			    "\"t\":1700000000},{\"s\":\"b\",\"p\":\"g\","
			    "\"t\":1600000000}]";
			v = oa_cookie_seal(key, "n", ok, strlen(ok), T0);
			got = NULL;
			CHECK(oa_logins_open(key, "n", v, T0, &got) ==
			        OA_SEAL_OK &&
			    got != NULL && got->n == 1);
			oa_logins_free(got);
			got = NULL;
			free(v);
		}
	}

	/* Set-Cookie: sealed when logins are in flight, cleared when not. */
	h = oa_logins_cookie(key, "https://auth.example.com", set, T0 + 3);
	CHECK(h != NULL && strncmp(h, "__Host-ownauth_login=", 21) == 0);
	CHECK(h != NULL &&
	    strstr(h,
	        "; Path=/; Max-Age=600; HttpOnly; "
	        "Secure; SameSite=Lax") != NULL);
	CHECK(h != NULL && strlen(h) < 4096);
	if (h != NULL) {
		char *val = strndup(h + 21, strcspn(h + 21, ";"));
		got = NULL;
		CHECK(oa_logins_open(key, "__Host-ownauth_login", val, T0 + 3,
		          &got) == OA_SEAL_OK &&
		    got != NULL && got->n == 3);
		oa_logins_free(got);
		free(val);
	}
	free(h);
	oa_logins_free(set);
	set = oa_logins_new();
	h = oa_logins_cookie(key, "http://127.0.0.1:8080", set, T0);
	CHECK_STR(h,
	    "ownauth_login=; Path=/; Max-Age=0; HttpOnly; "
	    "SameSite=Lax");
	free(h);
	h = oa_logins_cookie(key, "http://127.0.0.1:8080", NULL, T0);
	CHECK_STR(h,
	    "ownauth_login=; Path=/; Max-Age=0; HttpOnly; "
	    "SameSite=Lax");
	free(h);
	CHECK(oa_logins_seal(key, "n", set, T0) == NULL);
	oa_logins_free(set);
	oa_logins_free(NULL);
	oa_login_free(NULL);
}

/*
 * The login cookie's JSON writer (written by hand) against what cJSON
 * printed for the same set before it, byte for byte, and the reader
 * giving every field back as written: every byte value, invalid UTF-8,
 * U+2028/2029, quotes, backslashes, control bytes and long values.
 */
/* Seals set at now, checks the plaintext against cJSON's and the
 * opened set against set. Returns 1 when all held. */
static int
writer_round_trip(struct oa_logins *set, time_t now)
{
	struct oa_logins *got = NULL;
	char *v, *pt = NULL, *want;
	size_t i, k;
	int ok = 1;

	if ((v = oa_logins_seal(key, "n", set, now)) == NULL)
		return 0;
	want = ref_cjson_text(set);
	if (open_str(key, "n", v, now, OA_LOGIN_TTL, &pt) != OA_SEAL_OK ||
	    want == NULL || strcmp(pt, want) != 0)
		ok = 0;
	if (oa_logins_open(key, "n", v, now, &got) != OA_SEAL_OK ||
	    got->n != set->n)
		ok = 0;
	for (i = 0; ok && i < set->n; i++) {
		if (got->v[i]->created != set->v[i]->created)
			ok = 0;
		for (k = 0; k < REF_NF; k++) {
			const char *a = *ref_field(set->v[i], k);
			const char *b = *ref_field(got->v[i], k);
			if ((a == NULL) != (b == NULL) ||
			    (a != NULL && strcmp(a, b) != 0))
				ok = 0;
		}
	}
	oa_logins_free(got);
	cJSON_free(want);
	free(pt);
	free(v);
	return ok;
}

/* A set of one login whose client_state (and, with all, every optional
 * field) is s. */
static int
one_value(const char *s, int all, time_t created)
{
	struct oa_logins *set = oa_logins_new();
	struct oa_login l;
	size_t k;
	int ok;

	if (set == NULL)
		return 0;
	fill(&l, "st");
	l.created = created;
	l.client_state = (char *)s;
	if (all)
		for (k = 2; k < REF_NF; k++)
			*ref_field(&l, k) = (char *)s;
	ok = oa_logins_add(set, &l) == 0 && writer_round_trip(set, created);
	oa_logins_free(set);
	return ok;
}

static void
test_writer(void)
{
	static const char *const odd[] = {
		"\xe2\x80\xa8", "\xe2\x80\xa9",       /* U+2028, U+2029 */
		"a\xe2\x80\xa8" "b</script>",
		"\xc0\xaf", "\xed\xa0\x80", "\xff\xfe", "\x80",
		"\xe2\x80", "\xf4\x90\x80\x80",       /* invalid UTF-8 */
		"\"", "\\", "\\\"", "\\u0000", "\\ud800", "\"}]",
		"\",\"t\":1,\"s\":\"x", "\x7f", "\x1f\x01\x0b\x1b",
		"\b\f\n\r\t", "/", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	};
	struct oa_logins *set;
	struct oa_login l;
	char s[4], all[256], big[1001];
	size_t i;
	int bad = 0;

	/* Every byte value, alone and between others, in one field and
	 * in every optional field at once. */
	for (i = 1; i < 256; i++) {
		s[0] = 'a';
		s[1] = (char)i;
		s[2] = 'z';
		s[3] = '\0';
		if (!one_value(s, 0, T0) || !one_value(s + 1, 1, T0)) {
			fprintf(stderr, "writer: byte 0x%02zx\n", i);
			bad++;
		}
	}
	CHECK(bad == 0);
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	CHECK(one_value(all, 0, T0));
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		CHECK(one_value(odd[i], 1, T0));
	/* Long values: escapes that double (backslashes) or sextuple
	 * (control bytes) the length. */
	memset(big, '\\', 900);
	big[900] = '\0';
	CHECK(one_value(big, 0, T0));
	memset(big, '\x01', 300);
	big[300] = '\0';
	CHECK(one_value(big, 0, T0));
	memset(big, '"', 900);
	big[900] = '\0';
	CHECK(one_value(big, 0, T0));
	/* Creation times: now, and a 64-bit one past 2038. */
	CHECK(one_value("x", 0, 4102444800));
	CHECK(one_value("x", 0, (time_t)1 << 40));

	/* A field longer than the reader takes (OA_LOGIN_MAX_FIELD) in a
	 * login that fits in a cookie: never written, or the cookie would
	 * be refused as a whole (and every login in flight with it). */
	{
		char *longer = malloc(OA_LOGIN_MAX_FIELD + 2);
		struct oa_logins *got = NULL;
		char *v;

		CHECK(longer != NULL && (set = oa_logins_new()) != NULL);
		if (longer == NULL || set == NULL) {
			free(longer);
			oa_logins_free(set);
			return;
		}
		memset(longer, 'L', OA_LOGIN_MAX_FIELD + 1);
		longer[OA_LOGIN_MAX_FIELD + 1] = '\0';
		memset(&l, 0, sizeof(l));
		l.state = "s";
		l.provider = "p";
		l.created = T0;
		l.client_state = longer;
		CHECK(oa_logins_add(set, &l) == -1 && set->n == 0);
		if (oa_logins_add(set, &l) == 0 &&
		    (v = oa_logins_seal(key, "n", set, T0)) != NULL) {
			CHECK(oa_logins_open(key, "n", v, T0, &got) ==
			    OA_SEAL_OK);
			oa_logins_free(got);
			free(v);
		}
		oa_logins_free(set);
		/* Exactly OA_LOGIN_MAX_FIELD: written and read back. */
		longer[OA_LOGIN_MAX_FIELD] = '\0';
		CHECK((set = oa_logins_new()) != NULL &&
		    oa_logins_add(set, &l) == 0 &&
		    writer_round_trip(set, T0));
		oa_logins_free(set);
		free(longer);
	}

	/* Three logins, absent members, as login.c writes them. */
	set = oa_logins_new();
	CHECK(set != NULL);
	if (set == NULL)
		return;
	fill(&l, "one");
	l.nonce = NULL;
	l.client_nonce = NULL;
	CHECK(oa_logins_add(set, &l) == 0);
	fill(&l, "two");
	l.verifier = NULL;
	l.scope = "";
	CHECK(oa_logins_add(set, &l) == 0);
	fill(&l, "th\"ree");
	l.created = T0 + 1;
	CHECK(oa_logins_add(set, &l) == 0);
	CHECK(writer_round_trip(set, T0 + 1));
	oa_logins_free(set);
}

static void
test_size_bound(void)
{
	struct oa_logins *set = oa_logins_new(), *got = NULL;
	struct oa_login l;
	char big[601], huge[OA_LOGIN_MAX_FIELD + 1];
	char *v, *h;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Three logins of ~0.9 KB each: they do not all fit in 3000
	 * characters, so sealing evicts the oldest until they do. */
	fill(&l, "big1");
	l.client_state = big;
	CHECK(oa_logins_add(set, &l) == 0);
	fill(&l, "big2");
	l.client_state = big;
	CHECK(oa_logins_add(set, &l) == 0);
	fill(&l, "big3");
	l.client_state = big;
	CHECK(oa_logins_add(set, &l) == 0);
	v = oa_logins_seal(key, "n", set, T0);
	CHECK(v != NULL && strlen(v) <= OA_LOGIN_MAX_VALUE);
	CHECK(set->n == 1 || set->n == 2);
	CHECK(set->n > 0 && strcmp(set->v[set->n - 1]->state, "big3") == 0);
	CHECK(set->n == 2 && strcmp(set->v[0]->state, "big2") == 0);
	CHECK(v && oa_logins_open(key, "n", v, T0, &got) == OA_SEAL_OK &&
	    got->n == set->n);
	oa_logins_free(got);
	free(v);
	h = oa_logins_cookie(key, "https://auth.example.com", set, T0);
	CHECK(h != NULL && strlen(h) < 3400);
	free(h);
	oa_logins_free(set);

	/* A single login too big for a cookie is refused. */
	set = oa_logins_new();
	memset(huge, 'z', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	fill(&l, "huge");
	l.client_state = huge;
	l.client_nonce = huge;
	CHECK(oa_logins_add(set, &l) == 0);
	CHECK(oa_logins_seal(key, "n", set, T0) == NULL);
	CHECK(
	    oa_logins_cookie(key, "https://auth.example.com", set, T0) == NULL);
	oa_logins_free(set);
}

/* oa_login_dup: one allocation, every field copied, NULL kept. */
static void
test_login_dup(void)
{
	struct oa_login src, *d;
	char state[] = "st", prov[] = "google", scope[] = "openid email";

	memset(&src, 0, sizeof(src));
	src.state = state;
	src.provider = prov;
	src.scope = scope;
	src.created = T0;
	d = oa_login_dup(&src);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK(d->state != state && strcmp(d->state, "st") == 0);
	CHECK(d->provider != prov && strcmp(d->provider, "google") == 0);
	CHECK(d->scope != scope && strcmp(d->scope, "openid email") == 0);
	CHECK(d->client_id == NULL && d->verifier == NULL &&
	    d->nonce == NULL && d->redirect_uri == NULL);
	CHECK(d->created == T0);
	/* The strings live right after the struct. */
	CHECK((char *)d->state >= (char *)(d + 1) &&
	    (char *)d->scope < (char *)d + d->block);
	state[0] = 'X';
	CHECK(strcmp(d->state, "st") == 0);
	oa_login_free(d);
	CHECK(oa_login_dup(NULL) == NULL);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(key); i++) {
		key[i] = (uint8_t)(i * 7 + 1);
		key2[i] = key[i];
	}
	key2[31] ^= 1;
	test_seal();
	test_key_switch();
	test_headers();
	test_logins();
	test_login_dup();
	test_size_bound();
	test_writer();
	return t_done("cookie");
}
