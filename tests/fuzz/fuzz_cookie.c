/*
 * fuzz_cookie.c - the Cookie header parser (lib/req.c) and the sealed
 * cookie / login-cookie openers (lib/cookie.c).
 *
 * Each input is used four ways:
 *  1. as a Cookie header: parsed, its login cookie looked up and opened;
 *  2. as a sealed value: opened (a forgery must never open);
 *  3. as the plaintext of a login cookie: sealed with the fuzz key, so
 *     that the JSON login decoder behind the tag check is reached, then
 *     re-sealed and re-opened;
 *  4. as an issuer URL and a cookie value for the Set-Cookie builders.
 * It aborts when a promise is broken: a round trip that does not give
 * the data back, a tampered value that opens, a login set over
 * OA_LOGIN_MAX, a parsed pair with ';' or a control byte in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ownauth.h"

#define LOGIN_NAME "__Host-ownauth_login"
#define T0 ((time_t)1700000000)

static const uint8_t key[32] = {
    0x6f,
    0x77,
    0x6e,
    0x61,
    0x75,
    0x74,
    0x68,
    0x2d,
    0x66,
    0x75,
    0x7a,
    0x7a,
    0x2d,
    0x6b,
    0x65,
    0x79,
    0x2d,
    0x6e,
    0x6f,
    0x74,
    0x2d,
    0x61,
    0x2d,
    0x73,
    0x65,
    0x63,
    0x72,
    0x65,
    0x74,
    0x21,
    0x21,
    0x21,
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* A login set that came out of oa_logins_open is well-formed. */
static void
check_set(const struct oa_logins *set, time_t now)
{
	size_t i;

	check(set->n <= OA_LOGIN_MAX);
	for (i = 0; i < set->n; i++) {
		const struct oa_login *l = set->v[i];
		check(l != NULL && l->state && l->state[0] && l->provider &&
		    l->provider[0]);
		check(l->created >= now - OA_LOGIN_TTL &&
		    l->created <= now + OA_SEAL_SKEW);
	}
}

/* Seals set again, opens it, takes one login out. */
static void
reseal(struct oa_logins *set, time_t now)
{
	struct oa_logins *again = NULL;
	struct oa_login *l = NULL;
	size_t n = set->n;
	char *v, *h;

	if (n == 0)
		return;
	v = oa_logins_seal(key, LOGIN_NAME, set, now);
	if (v != NULL) {
		check(strlen(v) <= OA_LOGIN_MAX_VALUE);
		check(oa_logins_open(key, LOGIN_NAME, v, now, &again) ==
		    OA_SEAL_OK);
		check(again->n == set->n && set->n <= n && set->n > 0);
		check(strcmp(again->v[again->n - 1]->state,
		          set->v[set->n - 1]->state) == 0);
		check(oa_logins_take(again, set->v[0]->state, &l) == 0);
		check(strcmp(l->state, set->v[0]->state) == 0);
		oa_login_free(l);
		oa_logins_free(again);
		free(v);
	}
	h = oa_logins_cookie(key, "https://auth.example.com", set, now);
	if (h != NULL) {
		check(strlen(h) < 4096);
		free(h);
	}
	/* A new tab starts a login: the oldest goes when 3 are in flight. */
	if (set->n > 0) {
		struct oa_login nl = *set->v[set->n - 1];
		size_t before = set->n;
		nl.state = "fuzz-new-state";
		nl.created = now;
		check(oa_logins_add(set, &nl) == 0);
		check(set->n == (before == OA_LOGIN_MAX ? before : before + 1));
		check(strcmp(set->v[set->n - 1]->state, "fuzz-new-state") == 0);
		check(oa_logins_take(set, "fuzz-new-state", &l) == 0);
		oa_login_free(l);
	}
}

static void
as_header(const uint8_t *data, size_t size)
{
	struct oa_cookies *c = NULL;
	struct oa_logins *set = NULL;
	const char *v = NULL;
	size_t i;

	if (oa_cookies_parse((const char *)data, size, &c) != 0)
		return;
	check(c->n <= OA_COOKIES_MAX_COUNT);
	for (i = 0; i < c->n; i++) {
		const char *n = c->names[i], *val = c->values[i];
		size_t nl = strlen(n), vl = strlen(val);
		check(nl > 0 && strchr(n, ';') == NULL &&
		    strchr(n, '=') == NULL && strchr(val, ';') == NULL);
		check(n[0] != ' ' && n[0] != '\t' && n[nl - 1] != ' ' &&
		    n[nl - 1] != '\t');
		check(vl == 0 ||
		    (val[0] != ' ' && val[0] != '\t' && val[vl - 1] != ' ' &&
		        val[vl - 1] != '\t'));
		check(strpbrk(n, "\r\n\x01\x7f") == NULL);
	}
	(void)oa_cookies_get(c, "ownauth_refresh", &v);
	if (oa_cookies_get(c, LOGIN_NAME, &v) == OA_COOKIE_FOUND &&
	    oa_logins_open(key, LOGIN_NAME, v, T0, &set) == OA_SEAL_OK) {
		check_set(set, T0);
		reseal(set, T0);
		oa_logins_free(set);
	}
	oa_cookies_free(c);
}

static void
as_sealed(const uint8_t *data, size_t size)
{
	uint8_t *pt = NULL;
	size_t len = 0;

	if (oa_cookie_open(key, "n", (const char *)data, size, T0, 600, &pt,
	        &len) == OA_SEAL_OK) {
		check(pt != NULL && pt[len] == 0);
		OPENSSL_cleanse(pt, len);
		free(pt);
	}
}

static void
as_plaintext(const uint8_t *data, size_t size)
{
	struct oa_logins *set = NULL;
	uint8_t *pt = NULL, *raw = NULL;
	size_t len = 0, rawlen = 0;
	char *v, *t;
	enum oa_seal_result r;

	v = oa_cookie_seal(key, LOGIN_NAME, data, size, T0);
	if (v == NULL) {
		check(size > OA_SEAL_MAX_DATA);
		return;
	}
	/* Round trip. */
	check(oa_cookie_open(key, LOGIN_NAME, v, strlen(v), T0, 600, &pt,
	          &len) == OA_SEAL_OK);
	check(len == size && (size == 0 || memcmp(pt, data, size) == 0));
	free(pt);
	pt = NULL;
	/* Expired, wrong name. */
	check(oa_cookie_open(key, LOGIN_NAME, v, strlen(v), T0 + 601, 600, &pt,
	          &len) == OA_SEAL_EXPIRED);
	check(oa_cookie_open(key, "ownauth_login", v, strlen(v), T0, 600, &pt,
	          &len) == OA_SEAL_BAD_TAG);
	/* One flipped bit, chosen by the input, never opens. */
	check(oa_b64url_decode(v, strlen(v), &raw, &rawlen) == 0);
	raw[(size * 31 + (size ? data[0] : 0)) % rawlen] ^=
	    (uint8_t)(1u << (size % 8));
	t = oa_b64url_encode(raw, rawlen);
	free(raw);
	if (t != NULL) {
		r = oa_cookie_open(
		    key, LOGIN_NAME, t, strlen(t), T0, 600, &pt, &len);
		check(r == OA_SEAL_BAD_TAG || r == OA_SEAL_BAD_VERSION);
		free(t);
	}
	/* The login decoder. */
	if (oa_logins_open(key, LOGIN_NAME, v, T0, &set) == OA_SEAL_OK) {
		check_set(set, T0);
		reseal(set, T0);
		oa_logins_free(set);
	}
	free(v);
}

static void
as_strings(const uint8_t *data, size_t size)
{
	char *s, *h;

	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	h = oa_cookie_name(s, OA_LOGIN_COOKIE);
	free(h);
	h = oa_cookie_header(s, OA_REFRESH_COOKIE, "v", 60, OA_SAMESITE_STRICT);
	if (h != NULL) {
		/* The issuer's path went into Path=: no attribute injected. */
		size_t i, semis = 0;
		for (i = 0; h[i]; i++)
			semis += h[i] == ';';
		check(semis == 4 || semis == 5);
		check(strpbrk(h, "\r\n,") == NULL);
		free(h);
	}
	h = oa_cookie_header(
	    "https://auth.example.com", OA_LOGIN_COOKIE, s, 1, OA_SAMESITE_LAX);
	if (h != NULL) {
		check(strpbrk(s, "; ,\"\\") == NULL);
		free(h);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_header(data, size);
	as_sealed(data, size);
	as_plaintext(data, size);
	as_strings(data, size);
	return 0;
}
