/*
 * jwt.c - minting and strict verification of JWTs (RFC 7519) following
 * the JWT BCP (RFC 8725), and the strict JSON parser used for every JOSE
 * header, claims set and JWK.
 *
 * Verification order: shape (three base64url parts of JSON objects, no
 * duplicate member names, at most OA_JWT_MAX bytes), header (an algorithm
 * we know, none of crit / jku / x5u / jwk / x5c, typ JWT), key (by kid;
 * the header alg must equal the key's own alg), signature, then claims
 * (exp required, iat / nbf not in the future, iss, aud, nonce).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ownauth.h"

#define JSON_MAX (1024 * 1024)
#define TID_MAX 64

/* ------------------------------------------------------------------ */
/* Strict JSON.                                                         */

/*
 * 0 when text has no NUL byte, no raw control character inside a string
 * (RFC 8259 §7 requires them escaped) and no "\u0000" escape. cJSON
 * returns C strings, so a NUL inside a member would silently cut it
 * short: "https://issuer\u0000.evil" would read as "https://issuer".
 */
static int
json_scan(const char *text, size_t len)
{
	size_t i;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\0')
			return -1;
		if (!in_str) {
			if (c == '"')
				in_str = 1;
			continue;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (i + 1 >= len)
				return -1;
			if (text[i + 1] == 'u' && len - i >= 6 &&
			    memcmp(text + i + 2, "0000", 4) == 0)
				return -1;
			i++; /* skip the escaped character */
			continue;
		}
		if (c == '"')
			in_str = 0;
	}
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when some object inside item (item included) has two members with
 * the same name, 0 when none does, -1 when out of memory. */
static int
json_has_duplicates(const cJSON *item)
{
	const cJSON *c;
	const char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (cJSON_IsObject(item)) {
		for (c = item->child; c != NULL; c = c->next)
			n++;
		if (n > 1) {
			if ((names = calloc(n, sizeof *names)) == NULL) {
				oa_log(OA_LOG_ERROR, "calloc failed");
				return -1;
			}
			i = 0;
			for (c = item->child; c != NULL; c = c->next)
				names[i++] = c->string ? c->string : "";
			qsort(names, n, sizeof *names, cmp_names);
			for (i = 1; i < n && rc == 0; i++)
				if (strcmp(names[i - 1], names[i]) == 0)
					rc = 1;
			free(names);
			if (rc != 0)
				return rc;
		}
	}
	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		for (c = item->child; c != NULL && rc == 0; c = c->next)
			rc = json_has_duplicates(c);
	return rc;
}

/*
 * Parses len bytes of untrusted JSON text that must be exactly one
 * object: refuses NUL bytes, "\u0000", raw control characters in
 * strings, trailing bytes other than whitespace, and duplicate member
 * names at any depth (RFC 7515 §5.2 step 4, RFC 7519 §4, RFC 8725 §3.x:
 * two parsers must never read different values). Returns the object
 * (cJSON_Delete it) or NULL.
 */
cJSON *
oa_json_parse_object(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *obj = NULL;
	size_t i;

	if (text == NULL || len == 0 || len > JSON_MAX)
		goto fail;
	if (json_scan(text, len) != 0)
		goto fail;
	if ((obj = cJSON_ParseWithLengthOpts(text, len, &end, 0)) == NULL)
		goto fail;
	if (end == NULL || end < text || (size_t)(end - text) > len)
		goto fail;
	for (i = (size_t)(end - text); i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
		    text[i] != '\n')
			goto fail;
	if (!cJSON_IsObject(obj) || json_has_duplicates(obj) != 0)
		goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Parsing.                                                             */

/* Decodes one base64url part into a JSON object. */
static cJSON *
part_json(const char *s, size_t len)
{
	uint8_t *buf = NULL;
	size_t blen = 0;
	cJSON *obj = NULL;

	if (len == 0 || oa_b64url_decode(s, len, &buf, &blen) != 0)
		return NULL;
	obj = oa_json_parse_object((const char *)buf, blen);
	free(buf);
	return obj;
}

static int
jwt_split(const char *token, size_t len, cJSON **header, cJSON **payload)
{
	const char *d1, *d2;
	uint8_t *sig = NULL;
	size_t siglen = 0, slen;
	cJSON *h = NULL, *p = NULL;
	int rc = -1;

	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL)
		goto out;
	slen = len - (size_t)(d2 + 1 - token);
	/* A fourth part (a JWE has five) is refused. */
	if (memchr(d2 + 1, '.', slen) != NULL)
		goto out;
	if (oa_b64url_decode(d2 + 1, slen, &sig, &siglen) != 0)
		goto out;
	if ((h = part_json(token, (size_t)(d1 - token))) == NULL ||
	    (p = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
		goto out;
	if (header != NULL) {
		*header = h;
		h = NULL;
	}
	if (payload != NULL) {
		*payload = p;
		p = NULL;
	}
	rc = 0;
out:
	free(sig);
	cJSON_Delete(h);
	cJSON_Delete(p);
	return rc;
}

/*
 * Splits a compact JWT (at most OA_JWT_MAX bytes) into its decoded
 * header and payload objects without verifying anything. Either out
 * pointer may be NULL. 0 or -1.
 */
int
oa_jwt_parse(const char *token, cJSON **header, cJSON **payload)
{
	size_t len;

	if (token == NULL)
		return -1;
	if ((len = strnlen(token, OA_JWT_MAX + 1)) > OA_JWT_MAX)
		return -1;
	return jwt_split(token, len, header, payload);
}

/* ------------------------------------------------------------------ */
/* Minting.                                                             */

/*
 * Mints a JWT: header exactly {"alg":..,"kid":..,"typ":"JWT"} (SPEC §3:
 * always a kid, typ JWT, never at+jwt) and the claims printed unformatted
 * as they are. Returns the malloc'd token (free it) or NULL.
 */
char *
oa_jwt_sign(const struct oa_key *key, const cJSON *claims)
{
	cJSON *h = NULL;
	char *hs = NULL, *ps = NULL, *tok = NULL;
	const char *alg;

	if (key == NULL || !cJSON_IsObject(claims) ||
	    (alg = oa_alg_name(key->alg)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_jwt_sign: no key or claims");
		goto out;
	}
	if ((h = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(h, "alg", alg) == NULL ||
	    cJSON_AddStringToObject(h, "kid", key->kid) == NULL ||
	    cJSON_AddStringToObject(h, "typ", "JWT") == NULL ||
	    (hs = cJSON_PrintUnformatted(h)) == NULL ||
	    (ps = cJSON_PrintUnformatted(claims)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_jwt_sign: out of memory");
		goto out;
	}
	if (oa_jws_sign(key, hs, ps, &tok) != 0)
		tok = NULL;
out:
	cJSON_Delete(h);
	cJSON_free(hs);
	cJSON_free(ps);
	return tok;
}

/* ------------------------------------------------------------------ */
/* Verification.                                                        */

const char *
oa_jwt_result_str(enum oa_jwt_result r)
{
	switch (r) {
	case OA_JWT_OK:
		return "the token is valid";
	case OA_JWT_MALFORMED:
		return "the token is not a well-formed JWT (three base64url"
		       " parts of JSON objects, no duplicate members, at most"
		       " 16 KB)";
	case OA_JWT_BAD_HEADER:
		return "the token header is refused (alg none, HMAC or"
		       " unknown; crit, jku, x5u, jwk or x5c present; or typ"
		       " other than JWT)";
	case OA_JWT_NO_KEY:
		return "no known key matches the token's kid";
	case OA_JWT_ALG_MISMATCH:
		return "the token's alg differs from its key's algorithm";
	case OA_JWT_BAD_SIGNATURE:
		return "the signature does not verify";
	case OA_JWT_EXPIRED:
		return "the token has expired, or has no numeric exp claim";
	case OA_JWT_IAT_FUTURE:
		return "the token's iat or nbf is in the future";
	case OA_JWT_BAD_ISS:
		return "the token's iss is not the expected issuer";
	case OA_JWT_BAD_AUD:
		return "the token's aud is not exactly the expected audience";
	case OA_JWT_BAD_NONCE:
		return "the token's nonce does not match";
	}
	return "unknown result";
}

/* RFC 8725 §3.1-3.2, §3.10-3.11; RFC 7515 §4.1.11 (crit: we understand
 * no extension, so any crit is refused). */
static enum oa_jwt_result
check_header(const cJSON *hdr, enum oa_alg *alg, const char **kid)
{
	static const char *const refused[] = {
	    "crit",
	    "jku",
	    "x5u",
	    "jwk",
	    "x5c",
	};
	const cJSON *a, *t, *k;
	size_t i;

	a = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(a) || oa_alg_parse(a->valuestring, alg) != 0)
		return OA_JWT_BAD_HEADER;
	for (i = 0; i < sizeof refused / sizeof *refused; i++)
		if (cJSON_GetObjectItemCaseSensitive(hdr, refused[i]) != NULL)
			return OA_JWT_BAD_HEADER;
	/* RFC 7519 §5.1: "JWT", compared case-insensitively. */
	t = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
	if (t != NULL &&
	    (!cJSON_IsString(t) || strcasecmp(t->valuestring, "JWT") != 0))
		return OA_JWT_BAD_HEADER;
	k = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	if (k != NULL && !cJSON_IsString(k))
		return OA_JWT_BAD_HEADER;
	*kid = k != NULL ? k->valuestring : NULL;
	return OA_JWT_OK;
}

/* The key for (kid, alg): matched against each key's published kid, or
 * its thumbprint when it has none. */
static enum oa_jwt_result
pick_key(const struct oa_keyset *keys, const char *kid, enum oa_alg alg,
    const struct oa_key **out)
{
	size_t i;
	int matched = 0;

	if (keys == NULL || keys->n == 0 || keys->keys == NULL)
		return OA_JWT_NO_KEY;
	if (kid == NULL) {
		/* No kid: only an unambiguous single key will do. */
		if (keys->n != 1 || keys->keys[0] == NULL)
			return OA_JWT_NO_KEY;
		if (keys->keys[0]->alg != alg)
			return OA_JWT_ALG_MISMATCH;
		*out = keys->keys[0];
		return OA_JWT_OK;
	}
	for (i = 0; i < keys->n; i++) {
		const struct oa_key *k = keys->keys[i];
		const char *dk =
		    keys->doc_kids != NULL ? keys->doc_kids[i] : NULL;
		if (k == NULL || strcmp(dk != NULL ? dk : k->kid, kid) != 0)
			continue;
		matched = 1;
		if (k->alg == alg) {
			*out = k;
			return OA_JWT_OK;
		}
	}
	return matched ? OA_JWT_ALG_MISMATCH : OA_JWT_NO_KEY;
}

/* A NumericDate member (RFC 7519 §2): 1 and *v when present and a
 * finite number, 0 when absent, -1 when present with another type. */
static int
numeric_date(const cJSON *pl, const char *name, double *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(pl, name);

	if (it == NULL)
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return -1;
	*v = it->valuedouble;
	return 1;
}

/* tid values are GUIDs; anything else could smuggle text into iss. */
static int
tid_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') ||
		        (s[n] >= 'a' && s[n] <= 'z') ||
		        (s[n] >= 'A' && s[n] <= 'Z') || s[n] == '-'))
			return 0;
	return n > 0 && n <= TID_MAX;
}

/* RFC 7519 §4.1.1 / OIDC Core §3.1.3.7 item 2: iss exactly. With
 * iss_tenant, "{tenantid}" in the expected value stands for the token's
 * tid claim (Microsoft's multi-tenant "common" endpoint). */
static int
iss_ok(const cJSON *pl, const struct oa_jwt_expect *ex)
{
	static const char ph[] = "{tenantid}";
	const cJSON *iss, *tid;
	const char *at;
	char *want = NULL;
	size_t pre, tlen, plen = sizeof ph - 1;
	int ok = 0;

	iss = cJSON_GetObjectItemCaseSensitive(pl, "iss");
	if (!cJSON_IsString(iss))
		return 0;
	if (!ex->iss_tenant || (at = strstr(ex->iss, ph)) == NULL)
		return strcmp(iss->valuestring, ex->iss) == 0;
	tid = cJSON_GetObjectItemCaseSensitive(pl, "tid");
	if (!cJSON_IsString(tid) || !tid_ok(tid->valuestring))
		return 0;
	pre = (size_t)(at - ex->iss);
	tlen = strlen(tid->valuestring);
	if ((want = malloc(strlen(ex->iss) - plen + tlen + 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		return 0;
	}
	memcpy(want, ex->iss, pre);
	memcpy(want + pre, tid->valuestring, tlen);
	strcpy(want + pre + tlen, at + plen);
	ok = strcmp(iss->valuestring, want) == 0;
	free(want);
	return ok;
}

/* RFC 7519 §4.1.3, RFC 8725 §3.9, SPEC §3: exactly one audience, ours.
 * An array of more than one member fails (OIDC Core azp rules do not
 * apply: we never accept tokens meant for several parties). */
static int
aud_ok(const cJSON *pl, const char *want)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(pl, "aud");

	if (cJSON_IsArray(aud)) {
		if (cJSON_GetArraySize(aud) != 1)
			return 0;
		aud = cJSON_GetArrayItem(aud, 0);
	}
	return cJSON_IsString(aud) && strcmp(aud->valuestring, want) == 0;
}

static enum oa_jwt_result
check_claims(const cJSON *pl, const struct oa_jwt_expect *ex)
{
	const cJSON *nonce;
	double now, leeway, exp = 0, iat = 0, nbf = 0;
	int r;

	now = (double)(ex->now != 0 ? ex->now : time(NULL));
	leeway = ex->leeway > 0 ? (double)ex->leeway : 0;
	/* RFC 7519 §4.1.4: now must be before exp; exp is required here. */
	if (numeric_date(pl, "exp", &exp) != 1 || now >= exp + leeway)
		return OA_JWT_EXPIRED;
	/* RFC 7519 §4.1.5-6: optional, but numeric when present. */
	if ((r = numeric_date(pl, "nbf", &nbf)) == -1)
		return OA_JWT_MALFORMED;
	if (r == 1 && nbf > now + leeway)
		return OA_JWT_IAT_FUTURE;
	if ((r = numeric_date(pl, "iat", &iat)) == -1)
		return OA_JWT_MALFORMED;
	if (r == 1 && iat > now + leeway)
		return OA_JWT_IAT_FUTURE;
	if (ex->iss != NULL && !iss_ok(pl, ex))
		return OA_JWT_BAD_ISS;
	if (ex->aud != NULL && !aud_ok(pl, ex->aud))
		return OA_JWT_BAD_AUD;
	if (ex->nonce != NULL) {
		nonce = cJSON_GetObjectItemCaseSensitive(pl, "nonce");
		if (!cJSON_IsString(nonce) ||
		    !oa_ct_streq(nonce->valuestring, ex->nonce))
			return OA_JWT_BAD_NONCE;
	}
	return OA_JWT_OK;
}

/*
 * Verifies token against keys and expect (see ownauth.h). On OA_JWT_OK
 * and when claims is not NULL, writes the payload object (the caller
 * cJSON_Deletes it); *claims is untouched otherwise. expect NULL checks
 * only exp, against time(NULL), without leeway.
 */
enum oa_jwt_result
oa_jwt_verify(const char *token, const struct oa_keyset *keys,
    const struct oa_jwt_expect *expect, cJSON **claims)
{
	static const struct oa_jwt_expect none;
	cJSON *hdr = NULL, *pl = NULL;
	const struct oa_key *key = NULL;
	enum oa_alg alg = OA_ALG_UNKNOWN;
	const char *kid = NULL;
	enum oa_jwt_result r = OA_JWT_MALFORMED;
	size_t len;

	if (expect == NULL)
		expect = &none;
	if (token == NULL ||
	    (len = strnlen(token, OA_JWT_MAX + 1)) > OA_JWT_MAX)
		goto out;
	if (jwt_split(token, len, &hdr, &pl) != 0)
		goto out;
	if ((r = check_header(hdr, &alg, &kid)) != OA_JWT_OK)
		goto out;
	if ((r = pick_key(keys, kid, alg, &key)) != OA_JWT_OK)
		goto out;
	if (oa_jws_verify_sig(key, token, len) != 0) {
		r = OA_JWT_BAD_SIGNATURE;
		goto out;
	}
	if ((r = check_claims(pl, expect)) != OA_JWT_OK)
		goto out;
	if (claims != NULL) {
		*claims = pl;
		pl = NULL;
	}
out:
	cJSON_Delete(hdr);
	cJSON_Delete(pl);
	return r;
}
