/*
 * test_jwt.c - minting and strict verification (RFC 7519, RFC 8725):
 * the exact header and claims we mint, and every token that must be
 * refused - alg none, HS256 keyed with our RSA public key (the classic
 * algorithm confusion), tampering, unknown kid, wrong alg, crit / jku /
 * x5u / jwk / x5c, expiry, future iat / nbf, iss, aud, nonce, duplicate
 * members, sizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "ownauth.h"
#include "t.h"

#define NOW 1700000000L
#define ISS "https://auth.example.com"
#define AUD "convex"

static struct oa_key *rsa, *ec, *ed;

/* A keyset that borrows keys (not freed with oa_keyset_free). */
struct set {
	struct oa_keyset ks;
	struct oa_key *keys[4];
	char *kids[4];
};

static const struct oa_keyset *
set1(struct set *s, struct oa_key *k, const char *doc_kid)
{
	memset(s, 0, sizeof *s);
	s->keys[0] = k;
	s->kids[0] = (char *)doc_kid;
	s->ks.keys = s->keys;
	s->ks.doc_kids = s->kids;
	s->ks.n = 1;
	return &s->ks;
}

static const struct oa_keyset *
set3(struct set *s)
{
	memset(s, 0, sizeof *s);
	s->keys[0] = rsa;
	s->keys[1] = ec;
	s->keys[2] = ed;
	s->ks.keys = s->keys;
	s->ks.doc_kids = s->kids;
	s->ks.n = 3;
	return &s->ks;
}

static struct oa_jwt_expect
expect(void)
{
	struct oa_jwt_expect e;

	memset(&e, 0, sizeof e);
	e.iss = ISS;
	e.aud = AUD;
	e.nonce = "n-0S6_WzA2Mj";
	e.now = NOW;
	e.leeway = 0;
	return e;
}

/* Standard claims, valid at NOW, with extra members appended. */
static char *
claims_json(const char *extra)
{
	char *s = NULL;

	if (asprintf(&s,
	        "{\"iss\":\"" ISS "\",\"sub\":\"u1\",\"aud\":\"" AUD
	        "\",\"iat\":%ld,\"exp\":%ld,\"nonce\":\"n-0S6_WzA2Mj\"%s%s}",
	        NOW - 10, NOW + 3600, extra && *extra ? "," : "",
	        extra ? extra : "") < 0)
		return NULL;
	return s;
}

/* A JWS with this exact header and payload text, signed by k. */
static char *
mk(const struct oa_key *k, const char *header, const char *payload)
{
	char *tok = NULL;

	if (oa_jws_sign(k, header, payload, &tok) != 0)
		return NULL;
	return tok;
}

/* Signs claims text with k and the normal header. */
static char *
mk_claims(const struct oa_key *k, const char *payload)
{
	char hdr[160];

	snprintf(hdr, sizeof hdr,
	    "{\"alg\":\"%s\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}",
	    oa_alg_name(k->alg), k->kid);
	return mk(k, hdr, payload);
}

/* Verifies against {rsa, ec, ed} with the standard expectations. */
static enum oa_jwt_result
ver(const char *tok)
{
	struct set s;
	struct oa_jwt_expect e = expect();

	return oa_jwt_verify(tok, set3(&s), &e, NULL);
}

/* The result for claims (text plus extra members) signed by rsa. */
static enum oa_jwt_result
ver_claims(const char *payload)
{
	char *tok = mk_claims(rsa, payload);
	enum oa_jwt_result r = tok ? ver(tok) : (enum oa_jwt_result) - 1;

	free(tok);
	return r;
}

static enum oa_jwt_result
ver_header(const char *header)
{
	char *c = claims_json(NULL);
	char *tok = c ? mk(rsa, header, c) : NULL;
	enum oa_jwt_result r = tok ? ver(tok) : (enum oa_jwt_result) - 1;

	free(c);
	free(tok);
	return r;
}

static char *
b64s(const char *s)
{
	return oa_b64url_encode(s, strlen(s));
}

static void
test_mint(void)
{
	struct oa_key *keys[3] = {rsa, ec, ed};
	cJSON *claims = NULL, *h = NULL, *p = NULL, *out = NULL;
	struct oa_jwt_expect e = expect();
	struct set s;
	char want[200], *txt, *tok;
	size_t i;

	claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "iss", ISS);
	cJSON_AddStringToObject(claims, "sub", "u1");
	cJSON_AddStringToObject(claims, "aud", AUD);
	cJSON_AddNumberToObject(claims, "iat", NOW);
	cJSON_AddNumberToObject(claims, "exp", NOW + 3600);
	cJSON_AddStringToObject(claims, "nonce", "n-0S6_WzA2Mj");
	cJSON_AddStringToObject(claims, "name", "Zo\xc3\xab \"Q\"");
	for (i = 0; i < 3; i++) {
		tok = oa_jwt_sign(keys[i], claims);
		CHECK(tok != NULL);
		if (tok == NULL)
			continue;
		/* The header is exactly {"alg","kid","typ":"JWT"}. */
		h = p = NULL;
		CHECK(oa_jwt_parse(tok, &h, &p) == 0);
		txt = h ? cJSON_PrintUnformatted(h) : NULL;
		snprintf(want, sizeof want,
		    "{\"alg\":\"%s\",\"kid\":\"%s\","
		    "\"typ\":\"JWT\"}",
		    oa_alg_name(keys[i]->alg), keys[i]->kid);
		CHECK_STR(txt, want);
		cJSON_free(txt);
		/* ... and it is the first part, byte for byte. */
		{
			char *hb = b64s(want);
			CHECK(hb != NULL && strncmp(tok, hb, strlen(hb)) == 0 &&
			    tok[strlen(hb)] == '.');
			free(hb);
		}
		/* The claims, unformatted, as the second part. */
		{
			char *ct = cJSON_PrintUnformatted(claims);
			char *cb = ct ? b64s(ct) : NULL;
			const char *second = strchr(tok, '.');
			CHECK(cb != NULL && second != NULL &&
			    strncmp(second + 1, cb, strlen(cb)) == 0 &&
			    second[1 + strlen(cb)] == '.');
			CHECK(ct != NULL && strchr(ct, '\n') == NULL &&
			    strchr(ct, '\t') == NULL &&
			    strstr(ct, "{\"iss\":\"" ISS "\",\"sub\"") == ct);
			cJSON_free(ct);
			free(cb);
		}
		cJSON_Delete(h);
		cJSON_Delete(p);

		/* It verifies, against its own key alone and in a set. */
		out = NULL;
		CHECK(oa_jwt_verify(tok, set1(&s, keys[i], NULL), &e, &out) ==
		    OA_JWT_OK);
		CHECK_STR(cJSON_GetStringValue(
		              cJSON_GetObjectItemCaseSensitive(out, "sub")),
		    "u1");
		cJSON_Delete(out);
		out = NULL;
		CHECK(oa_jwt_verify(tok, set3(&s), &e, &out) == OA_JWT_OK);
		CHECK(out != NULL);
		cJSON_Delete(out);
		free(tok);
	}
	/* RS256 is deterministic: the same claims give the same token, so
	 * uniqueness must come from jti (the caller's job). */
	{
		char *a = oa_jwt_sign(rsa, claims),
		     *b = oa_jwt_sign(rsa, claims);
		CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
		free(a);
		free(b);
	}
	CHECK(oa_jwt_sign(rsa, NULL) == NULL);
	{
		cJSON *arr = cJSON_CreateArray();
		CHECK(oa_jwt_sign(rsa, arr) == NULL);
		cJSON_Delete(arr);
	}
	cJSON_Delete(claims);
}

static void
test_alg_none_and_hmac(void)
{
	char *c = claims_json(NULL), *cb = c ? b64s(c) : NULL, *tok = NULL;
	char *hb = NULL, *input = NULL, *sb = NULL;
	unsigned char *pem = NULL, mac[32];
	size_t pemlen = 0, maclen = 0;
	OSSL_ENCODER_CTX *ectx = NULL;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *mctx = NULL;
	OSSL_PARAM params[2];
	char hdr[160];

	/* RFC 7515 A.5 style unsecured JWS: refused, with or without a
	 * kid, with an empty or a garbage signature. */
	hb = b64s("{\"alg\":\"none\"}");
	if (asprintf(&tok, "%s.%s.", hb, cb) > 0)
		CHECK(ver(tok) == OA_JWT_BAD_HEADER);
	free(tok);
	free(hb);
	snprintf(hdr, sizeof hdr,
	    "{\"alg\":\"none\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}",
	    rsa->kid);
	hb = b64s(hdr);
	if (asprintf(&tok, "%s.%s.", hb, cb) > 0)
		CHECK(ver(tok) == OA_JWT_BAD_HEADER);
	free(tok);
	if (asprintf(&tok, "%s.%s.AAAA", hb, cb) > 0)
		CHECK(ver(tok) == OA_JWT_BAD_HEADER);
	free(tok);
	free(hb);
	CHECK(ver_header("{\"alg\":\"None\"}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"alg\":\"\"}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"kid\":\"x\"}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"alg\":null}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"alg\":[\"RS256\"]}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"alg\":\"PS256\"}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"alg\":\"rs256\"}") == OA_JWT_BAD_HEADER);
	CHECK(ver_header("{\"alg\":\"RS512\"}") == OA_JWT_BAD_HEADER);

	/* HS256 keyed with the RSA public key's PEM text: a verifier that
	 * took the algorithm from the header would accept this. */
	ectx = OSSL_ENCODER_CTX_new_for_pkey(rsa->pkey, EVP_PKEY_PUBLIC_KEY,
	    "PEM", "SubjectPublicKeyInfo", NULL);
	CHECK(ectx != NULL && OSSL_ENCODER_to_data(ectx, &pem, &pemlen) == 1);
	CHECK(
	    pem != NULL && memcmp(pem, "-----BEGIN PUBLIC KEY-----", 26) == 0);
	snprintf(hdr, sizeof hdr,
	    "{\"alg\":\"HS256\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}",
	    rsa->kid);
	hb = b64s(hdr);
	if (pem != NULL && hb != NULL && cb != NULL &&
	    asprintf(&input, "%s.%s", hb, cb) > 0) {
		m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		mctx = m ? EVP_MAC_CTX_new(m) : NULL;
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		CHECK(mctx != NULL &&
		    EVP_MAC_init(mctx, pem, pemlen, params) == 1 &&
		    EVP_MAC_update(
		        mctx, (unsigned char *)input, strlen(input)) == 1 &&
		    EVP_MAC_final(mctx, mac, &maclen, sizeof mac) == 1 &&
		    maclen == 32);
		sb = oa_b64url_encode(mac, maclen);
		tok = NULL;
		if (sb != NULL && asprintf(&tok, "%s.%s", input, sb) > 0) {
			CHECK(ver(tok) == OA_JWT_BAD_HEADER);
			/* Also with one key only, and without a kid. */
			{
				struct set s;
				struct oa_jwt_expect e = expect();
				CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL),
				          &e, NULL) == OA_JWT_BAD_HEADER);
			}
		}
		free(tok);
		free(input);
		input = NULL;
		free(hb);
		hb = b64s("{\"alg\":\"HS256\"}");
		if (hb != NULL && asprintf(&input, "%s.%s", hb, cb) > 0 &&
		    EVP_MAC_init(mctx, pem, pemlen, params) == 1 &&
		    EVP_MAC_update(
		        mctx, (unsigned char *)input, strlen(input)) == 1 &&
		    EVP_MAC_final(mctx, mac, &maclen, sizeof mac) == 1) {
			struct set s;
			struct oa_jwt_expect e = expect();
			free(sb);
			sb = oa_b64url_encode(mac, maclen);
			tok = NULL;
			if (sb && asprintf(&tok, "%s.%s", input, sb) > 0)
				CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL),
				          &e, NULL) == OA_JWT_BAD_HEADER);
			free(tok);
		}
	}
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(m);
	OSSL_ENCODER_CTX_free(ectx);
	OPENSSL_free(pem);
	free(sb);
	free(input);
	free(hb);
	free(cb);
	free(c);
}

static void
test_header_members(void)
{
	char h[400];
	const char *bad[] = {
	    "\"crit\":[\"exp\"]",
	    "\"crit\":[]",
	    "\"jku\":\"https://evil.example/jwks.json\"",
	    "\"x5u\":\"https://evil.example/cert.pem\"",
	    "\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	    "\"x5c\":[\"MIIB\"]",
	    "\"typ\":\"at+jwt\"",
	    "\"typ\":\"application/at+jwt\"",
	    "\"typ\":\"JWS\"",
	    "\"typ\":1",
	    "\"typ\":null",
	};
	size_t i;

	/* Control: the same header without the extra member is fine. */
	snprintf(h, sizeof h, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", rsa->kid);
	CHECK(ver_header(h) == OA_JWT_OK);
	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(h, sizeof h, "{\"alg\":\"RS256\",\"kid\":\"%s\",%s}",
		    rsa->kid, bad[i]);
		if (ver_header(h) != OA_JWT_BAD_HEADER) {
			fprintf(stderr, "header accepted: %s\n", h);
			CHECK(!"header refused");
		}
	}
	/* A kid that is not a string. */
	CHECK(ver_header("{\"alg\":\"RS256\",\"kid\":5}") == OA_JWT_BAD_HEADER);
	/* typ "JWT" in any case (RFC 7519 §5.1). */
	snprintf(h, sizeof h,
	    "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":"
	    "\"jwt\"}",
	    rsa->kid);
	CHECK(ver_header(h) == OA_JWT_OK);
	/* Duplicate members in the header: refused. */
	snprintf(h, sizeof h,
	    "{\"alg\":\"RS256\",\"kid\":\"%s\","
	    "\"alg\":\"none\"}",
	    rsa->kid);
	CHECK(ver_header(h) == OA_JWT_MALFORMED);
	snprintf(h, sizeof h,
	    "{\"alg\":\"RS256\",\"kid\":\"%s\","
	    "\"kid\":\"other\"}",
	    rsa->kid);
	CHECK(ver_header(h) == OA_JWT_MALFORMED);
}

static void
test_keys(void)
{
	char h[200], *c = claims_json(NULL), *tok;
	struct set s;
	struct oa_jwt_expect e = expect();

	/* Unknown kid. */
	CHECK(ver_header("{\"alg\":\"RS256\",\"kid\":\"no-such-key\"}") ==
	    OA_JWT_NO_KEY);
	snprintf(h, sizeof h, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", ec->kid);
	/* kid of the EC key, alg RS256 (signed by RSA): the alg must be the
	 * key's. */
	CHECK(ver_header(h) == OA_JWT_ALG_MISMATCH);
	/* Header says ES256 for the RSA key's kid. */
	snprintf(h, sizeof h, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", rsa->kid);
	CHECK(ver_header(h) == OA_JWT_ALG_MISMATCH);
	snprintf(h, sizeof h, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", rsa->kid);
	CHECK(ver_header(h) == OA_JWT_ALG_MISMATCH);

	/* No kid: fine with exactly one key, refused with several. */
	tok = mk(rsa, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", c);
	CHECK(tok != NULL && ver(tok) == OA_JWT_NO_KEY);
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) == OA_JWT_OK);
	CHECK(oa_jwt_verify(tok, set1(&s, ec, NULL), &e, NULL) ==
	    OA_JWT_ALG_MISMATCH);
	free(tok);
	/* No keys at all. */
	tok = mk_claims(rsa, c);
	CHECK(oa_jwt_verify(tok, NULL, &e, NULL) == OA_JWT_NO_KEY);
	memset(&s, 0, sizeof s);
	CHECK(oa_jwt_verify(tok, &s.ks, &e, NULL) == OA_JWT_NO_KEY);
	/* A key published with its own kid is matched by that kid. */
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, "upstream-1"), &e, NULL) ==
	    OA_JWT_NO_KEY);
	free(tok);
	tok = mk(rsa, "{\"alg\":\"RS256\",\"kid\":\"upstream-1\"}", c);
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, "upstream-1"), &e, NULL) ==
	    OA_JWT_OK);
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, "upstream-2"), &e, NULL) ==
	    OA_JWT_NO_KEY);
	/* Two keys share the kid: the one with the header's alg is used. */
	memset(&s, 0, sizeof s);
	s.keys[0] = ec;
	s.keys[1] = rsa;
	s.kids[0] = s.kids[1] = (char *)"upstream-1";
	s.ks.keys = s.keys;
	s.ks.doc_kids = s.kids;
	s.ks.n = 2;
	CHECK(oa_jwt_verify(tok, &s.ks, &e, NULL) == OA_JWT_OK);
	free(tok);

	/* Signed by a different key with the right kid. */
	{
		struct oa_key *other = oa_key_generate(OA_ALG_ES256);
		snprintf(
		    h, sizeof h, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", ec->kid);
		tok = other ? mk(other, h, c) : NULL;
		CHECK(tok != NULL && ver(tok) == OA_JWT_BAD_SIGNATURE);
		free(tok);
		oa_key_free(other);
	}
	free(c);
}

static void
test_tamper(void)
{
	char *c = claims_json(NULL), *tok = mk_claims(rsa, c), *evil;
	char *eb = NULL, *forged = NULL;
	const char *d1, *d2;

	CHECK(tok != NULL && ver(tok) == OA_JWT_OK);
	if (tok == NULL)
		goto out;
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	/* The payload swapped for another subject, signature kept. */
	evil = claims_json(NULL);
	if (evil != NULL) {
		char *u = strstr(evil, "\"u1\"");
		u[2] = '2';
		eb = b64s(evil);
		free(evil);
	}
	if (eb != NULL &&
	    asprintf(&forged, "%.*s.%s%s", (int)(d1 - tok), tok, eb, d2) > 0)
		CHECK(ver(forged) == OA_JWT_BAD_SIGNATURE);
	free(forged);
	forged = NULL;
	/* The signature of a token for another key id. */
	{
		char *t2 = mk_claims(ec, c);
		const char *s2 = t2 ? strrchr(t2, '.') : NULL;
		if (s2 != NULL &&
		    asprintf(&forged, "%.*s%s", (int)(d2 - tok), tok, s2) > 0)
			CHECK(ver(forged) == OA_JWT_BAD_SIGNATURE);
		free(forged);
		free(t2);
	}
out:
	free(eb);
	free(tok);
	free(c);
}

static void
test_times(void)
{
	char buf[300];
	struct set s;
	struct oa_jwt_expect e = expect();
	char *tok;

	/* exp: required, numeric, strictly after now. */
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld}",
	    NOW - 1);
	CHECK(ver_claims(buf) == OA_JWT_EXPIRED);
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld}",
	    NOW);
	CHECK(ver_claims(buf) == OA_JWT_EXPIRED);
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld}",
	    NOW + 1);
	CHECK(ver_claims(buf) == OA_JWT_OK);
	CHECK(ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	                 "\"nonce\":\"n-0S6_WzA2Mj\"}") == OA_JWT_EXPIRED);
	CHECK(
	    ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	               "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":\"9999999999\"}") ==
	    OA_JWT_EXPIRED);
	CHECK(ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	                 "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":null}") ==
	    OA_JWT_EXPIRED);
	CHECK(ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	                 "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":1e999}") ==
	    OA_JWT_EXPIRED);
	/* NumericDate may have a fraction. */
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld.5}",
	    NOW);
	CHECK(ver_claims(buf) == OA_JWT_OK);

	/* Leeway applies to exp. */
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld}",
	    NOW - 3);
	tok = mk_claims(rsa, buf);
	e.leeway = 5;
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) == OA_JWT_OK);
	e.leeway = 3;
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) ==
	    OA_JWT_EXPIRED);
	e.leeway = 0;
	free(tok);

	/* iat / nbf in the future. */
	snprintf(buf, sizeof buf, "\"iat\":%ld", NOW + 60);
	{
		char *c;
		if (asprintf(&c,
		        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
		        "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld,%s}",
		        NOW + 3600, buf) > 0) {
			CHECK(ver_claims(c) == OA_JWT_IAT_FUTURE);
			tok = mk_claims(rsa, c);
			e.leeway = 60;
			CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e,
			          NULL) == OA_JWT_OK);
			e.leeway = 59;
			CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e,
			          NULL) == OA_JWT_IAT_FUTURE);
			e.leeway = 0;
			free(tok);
			free(c);
		}
	}
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld,\"nbf\":%ld}",
	    NOW + 3600, NOW + 1);
	CHECK(ver_claims(buf) == OA_JWT_IAT_FUTURE);
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld,\"nbf\":%ld,"
	    "\"iat\":%ld}",
	    NOW + 3600, NOW, NOW);
	CHECK(ver_claims(buf) == OA_JWT_OK);
	snprintf(buf, sizeof buf,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld,\"iat\":\"now\"}",
	    NOW + 3600);
	CHECK(ver_claims(buf) == OA_JWT_MALFORMED);

	/* now = 0 means the real clock: a token valid in 2023 has expired. */
	{
		char *c = claims_json(NULL);
		tok = mk_claims(rsa, c);
		e.now = 0;
		CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) ==
		    OA_JWT_EXPIRED);
		free(tok);
		free(c);
		snprintf(buf, sizeof buf,
		    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
		    "\",\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":%ld}",
		    (long)time(NULL) + 100);
		tok = mk_claims(rsa, buf);
		CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) ==
		    OA_JWT_OK);
		/* expect NULL: exp only. */
		CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), NULL, NULL) ==
		    OA_JWT_OK);
		free(tok);
	}
}

static void
test_iss_aud_nonce(void)
{
	char *c;
	struct set s;
	struct oa_jwt_expect e = expect();
	char *tok;

#define CL(iss, aud, nonce)                                                    \
	"{\"iss\":" iss ",\"aud\":" aud ",\"nonce\":" nonce                    \
	",\"exp\":1700003600,\"sub\":\"u1\"}"

	CHECK(ver_claims(CL("\"" ISS "\"", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_OK);
	/* iss exact: no trailing slash, no case folding, no prefix. */
	CHECK(ver_claims(CL("\"" ISS "/\"", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_ISS);
	CHECK(ver_claims(CL("\"https://Auth.example.com\"", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_ISS);
	CHECK(ver_claims(CL("\"https://auth.example\"", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_ISS);
	CHECK(ver_claims(CL("[\"" ISS "\"]", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_ISS);
	CHECK(ver_claims("{\"aud\":\"" AUD "\",\"nonce\":\"n-0S6_WzA2Mj\","
	                 "\"exp\":1700003600}") == OA_JWT_BAD_ISS);
	/* A NUL smuggled into iss is refused outright. */
	CHECK(ver_claims(CL("\"" ISS "\\u0000.evil\"", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_MALFORMED);

	/* aud: the one string, or an array of exactly it. */
	CHECK(ver_claims(CL("\"" ISS "\"", "[\"" AUD "\"]",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_OK);
	CHECK(ver_claims(CL("\"" ISS "\"", "[\"" AUD "\",\"other\"]",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "[\"other\",\"" AUD "\"]",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "[\"" AUD "\",\"" AUD "\"]",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "[]", "\"n-0S6_WzA2Mj\"")) ==
	    OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "\"convex2\"",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "\"conve\"", "\"n-0S6_WzA2Mj\"")) ==
	    OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "null", "\"n-0S6_WzA2Mj\"")) ==
	    OA_JWT_BAD_AUD);
	CHECK(ver_claims(CL("\"" ISS "\"", "[[\"" AUD "\"]]",
	          "\"n-0S6_WzA2Mj\"")) == OA_JWT_BAD_AUD);

	/* nonce exact. */
	CHECK(ver_claims(CL("\"" ISS "\"", "\"" AUD "\"",
	          "\"n-0S6_WzA2Mk\"")) == OA_JWT_BAD_NONCE);
	CHECK(ver_claims(CL("\"" ISS "\"", "\"" AUD "\"", "\"n-0S6_WzA2M\"")) ==
	    OA_JWT_BAD_NONCE);
	CHECK(ver_claims(CL("\"" ISS "\"", "\"" AUD "\"", "\"\"")) ==
	    OA_JWT_BAD_NONCE);
	CHECK(ver_claims(CL("\"" ISS "\"", "\"" AUD "\"", "1")) ==
	    OA_JWT_BAD_NONCE);
	CHECK(ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	                 "\"exp\":1700003600}") == OA_JWT_BAD_NONCE);
	/* ... and unchecked when none is expected. */
	c = (char *)"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	            "\"exp\":1700003600}";
	tok = mk_claims(rsa, c);
	e.nonce = NULL;
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) == OA_JWT_OK);
	e.aud = NULL;
	e.iss = NULL;
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) == OA_JWT_OK);
	free(tok);

	/* Duplicate claims: refused (two parsers could read either). */
	CHECK(ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	                 "\"aud\":\"evil\",\"nonce\":\"n-0S6_WzA2Mj\","
	                 "\"exp\":1700003600}") == OA_JWT_MALFORMED);
	CHECK(ver_claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	                 "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":1700003600,"
	                 "\"x\":{\"a\":1,\"a\":2}}") == OA_JWT_MALFORMED);

	/* Microsoft common endpoint: {tenantid} stands for tid. */
	e = expect();
	e.iss = "https://login.microsoftonline.com/{tenantid}/v2.0";
	e.iss_tenant = 1;
	c = (char *)"{\"iss\":\"https://login.microsoftonline.com/"
	            "9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\",\"tid\":"
	            "\"9188040d-6c67-4c5b-b112-36a304b66dad\",\"aud\":\"" AUD
	            "\","
	            "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":1700003600}";
	tok = mk_claims(rsa, c);
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) == OA_JWT_OK);
	e.iss_tenant = 0;
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) ==
	    OA_JWT_BAD_ISS);
	free(tok);
	e.iss_tenant = 1;
	c = (char *)"{\"iss\":\"https://login.microsoftonline.com/"
	            "9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\",\"tid\":"
	            "\"9188040d-6c67-4c5b-b112-36a304b66dae\",\"aud\":\"" AUD
	            "\","
	            "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":1700003600}";
	tok = mk_claims(rsa, c);
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) ==
	    OA_JWT_BAD_ISS);
	free(tok);
	c = (char *)"{\"iss\":\"https://login.microsoftonline.com/a/b/v2.0\","
	            "\"tid\":\"a/b\",\"aud\":\"" AUD "\","
	            "\"nonce\":\"n-0S6_WzA2Mj\",\"exp\":1700003600}";
	tok = mk_claims(rsa, c);
	CHECK(oa_jwt_verify(tok, set1(&s, rsa, NULL), &e, NULL) ==
	    OA_JWT_BAD_ISS);
	free(tok);
#undef CL
}

/* A valid RS256 token whose claims carry n bytes of padding. */
static char *
padded_token(size_t n)
{
	char *pad = malloc(n + 9), *c, *t = NULL;

	if (pad == NULL)
		return NULL;
	memcpy(pad, "\"pad\":\"", 7);
	memset(pad + 7, 'a', n);
	memcpy(pad + 7 + n, "\"", 2);
	if ((c = claims_json(pad)) != NULL)
		t = mk_claims(rsa, c);
	free(c);
	free(pad);
	return t;
}

static void
test_shapes(void)
{
	char *c = claims_json(NULL), *tok = mk_claims(rsa, c), *t2 = NULL;
	cJSON *h = NULL, *p = NULL, *out = (cJSON *)&out;
	struct set s;
	struct oa_jwt_expect e = expect();

	CHECK(tok != NULL && ver(tok) == OA_JWT_OK);
	/* Extra parts, missing parts, padding, whitespace. */
	if (asprintf(&t2, "%s.", tok) > 0)
		CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	if (asprintf(&t2, "%s.AAAA.AAAA", tok) > 0)
		CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	if (asprintf(&t2, "%s=", tok) > 0)
		CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	if (asprintf(&t2, " %s", tok) > 0)
		CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	if (asprintf(&t2, "%s\n", tok) > 0)
		CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	t2 = strdup(tok);
	*strrchr(t2, '.') = '\0';
	CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	CHECK(ver("") == OA_JWT_MALFORMED);
	CHECK(ver("..") == OA_JWT_MALFORMED);
	CHECK(ver(NULL) == OA_JWT_MALFORMED);
	/* Header or payload not an object. */
	t2 = mk(rsa, "[\"RS256\"]", c);
	CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	t2 = mk_claims(rsa, "\"just a string\"");
	CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	t2 = mk_claims(rsa, "{\"exp\":1700003600} {}");
	CHECK(ver(t2) == OA_JWT_MALFORMED);
	free(t2);
	/* Failures leave *claims alone. */
	CHECK(oa_jwt_verify("x.y.z", set3(&s), &e, &out) == OA_JWT_MALFORMED);
	CHECK(out == (cJSON *)&out);

	/* Size cap: the largest valid token up to 16 KB is accepted, the
	 * next one (one pad byte more) refused. */
	{
		size_t n = 8000, len;
		char *prev = NULL, *t;

		t = padded_token(n);
		len = t ? strlen(t) : OA_JWT_MAX;
		free(t);
		n += (OA_JWT_MAX - len) * 3 / 4 - 4;
		while (
		    (t = padded_token(n)) != NULL && strlen(t) <= OA_JWT_MAX) {
			free(prev);
			prev = t;
			n++;
		}
		CHECK(prev != NULL && strlen(prev) <= OA_JWT_MAX &&
		    strlen(prev) > OA_JWT_MAX - 3);
		CHECK(prev != NULL && ver(prev) == OA_JWT_OK);
		CHECK(t != NULL && strlen(t) > OA_JWT_MAX);
		CHECK(t != NULL && ver(t) == OA_JWT_MALFORMED);
		CHECK(t != NULL && oa_jwt_parse(t, NULL, NULL) == -1);
		free(prev);
		free(t);
	}

	/* oa_jwt_parse: structure only. */
	CHECK(oa_jwt_parse(tok, &h, &p) == 0);
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "typ")),
	    "JWT");
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "sub")),
	    "u1");
	cJSON_Delete(h);
	cJSON_Delete(p);
	h = p = NULL;
	/* An unsecured token parses (for explanations), verify refuses. */
	CHECK(oa_jwt_parse("eyJhbGciOiJub25lIn0.e30.", &h, &p) == 0);
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "alg")),
	    "none");
	cJSON_Delete(h);
	cJSON_Delete(p);
	h = p = NULL;
	CHECK(oa_jwt_parse("eyJhbGciOiJub25lIn0.e30", &h, &p) == -1);
	CHECK(oa_jwt_parse("eyJhbGciOiJub25lIn0..", &h, &p) == -1);
	CHECK(oa_jwt_parse("e30.e30.e30.e30", &h, &p) == -1);
	CHECK(oa_jwt_parse("e30=.e30.", &h, &p) == -1);
	CHECK(h == NULL && p == NULL);
	free(tok);
	free(c);
}

static void
test_json_strict(void)
{
	cJSON *o;

	o = oa_json_parse_object("{\"a\":[1,{\"b\":\"c\"}]} \r\n", 22);
	CHECK(o != NULL);
	cJSON_Delete(o);
	o = oa_json_parse_object("{\"a\":\"\\\\u0000\"}", 15);
	CHECK(o != NULL); /* an escaped backslash, then "u0000" */
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "a")),
	    "\\u0000");
	cJSON_Delete(o);
	CHECK(oa_json_parse_object("{\"a\":\"\\u0000\"}", 14) == NULL);
	CHECK(oa_json_parse_object("{\"a\":\"x\ty\"}", 11) == NULL);
	CHECK(oa_json_parse_object("{\"a\":1,\"a\":1}", 13) == NULL);
	CHECK(oa_json_parse_object("{\"a\":[{\"b\":1,\"b\":2}]}", 21) == NULL);
	CHECK(oa_json_parse_object("{\"a\":1}x", 8) == NULL);
	CHECK(oa_json_parse_object("{\"a\":1}\0", 8) == NULL);
	CHECK(oa_json_parse_object("[]", 2) == NULL);
	CHECK(oa_json_parse_object("", 0) == NULL);
	CHECK(oa_json_parse_object("{\"a\":1", 6) == NULL);
	/* Only len bytes are read. */
	o = oa_json_parse_object("{\"a\":1}garbage", 7);
	CHECK(o != NULL);
	cJSON_Delete(o);
	/* Names differing by case are different members. */
	o = oa_json_parse_object("{\"aud\":1,\"Aud\":2}", 17);
	CHECK(o != NULL);
	cJSON_Delete(o);
}

static void
test_result_str(void)
{
	int r;

	for (r = OA_JWT_OK; r <= OA_JWT_BAD_NONCE; r++)
		CHECK(oa_jwt_result_str((enum oa_jwt_result)r) != NULL &&
		    strlen(oa_jwt_result_str((enum oa_jwt_result)r)) > 10);
	CHECK(strstr(oa_jwt_result_str(OA_JWT_BAD_AUD), "aud") != NULL);
}

int
main(void)
{
	oa_log_set_level(OA_LOG_ERROR);
	rsa = oa_key_generate(OA_ALG_RS256);
	ec = oa_key_generate(OA_ALG_ES256);
	ed = oa_key_generate(OA_ALG_EDDSA);
	CHECK(rsa != NULL && ec != NULL && ed != NULL);
	if (rsa == NULL || ec == NULL || ed == NULL)
		return t_done("jwt");
	test_mint();
	test_alg_none_and_hmac();
	test_header_members();
	test_keys();
	test_tamper();
	test_times();
	test_iss_aud_nonce();
	test_shapes();
	test_json_strict();
	test_result_str();
	oa_key_free(rsa);
	oa_key_free(ec);
	oa_key_free(ed);
	return t_done("jwt");
}
