/*
 * test_jwk.c - keys, JWK import/export and RFC 7638 thumbprints:
 * RFC 7638 §3.1 and RFC 8037 A.3 vectors, round trips of the three key
 * types, PEM files, and the keys and members that must be refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "ownauth.h"
#include "t.h"

/* RFC 7638 §3.1: the example RSA key and its thumbprint. */
#define RFC7638_N                                                              \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R" \
	"K7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9" \
	"yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZg" \
	"nYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6We" \
	"Zu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDK" \
	"gw"
#define RFC7638_TP "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* RFC 8037 A.2 public key, A.3 thumbprint. */
#define RFC8037_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC8037_TP "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

/* RFC 7515 A.3 P-256 key; its thumbprint as computed by the jose npm
 * library (calculateJwkThumbprint), an independent implementation. */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define A3_TP "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"

static struct oa_key *
jwk(const char *json, char **kid)
{
	return oa_jwk_parse(json, strlen(json), kid);
}

/* 1 when the JWK text is refused. */
static int
refused(const char *json)
{
	char *kid = NULL;
	struct oa_key *k = jwk(json, &kid);

	if (k != NULL) {
		fprintf(stderr, "accepted: %.120s\n", json);
		oa_key_free(k);
		free(kid);
		return 0;
	}
	return kid == NULL;
}

static void
test_alg_names(void)
{
	enum oa_alg a = OA_ALG_UNKNOWN;

	CHECK_STR(oa_alg_name(OA_ALG_RS256), "RS256");
	CHECK_STR(oa_alg_name(OA_ALG_ES256), "ES256");
	CHECK_STR(oa_alg_name(OA_ALG_EDDSA), "EdDSA");
	CHECK(oa_alg_name(OA_ALG_UNKNOWN) == NULL);
	CHECK(oa_alg_parse("ES256", &a) == 0 && a == OA_ALG_ES256);
	CHECK(oa_alg_parse("EdDSA", &a) == 0 && a == OA_ALG_EDDSA);
	CHECK(oa_alg_parse("RS256", &a) == 0 && a == OA_ALG_RS256);
	a = OA_ALG_RS256;
	CHECK(oa_alg_parse("rs256", &a) == -1 && a == OA_ALG_RS256);
	CHECK(oa_alg_parse("none", &a) == -1);
	CHECK(oa_alg_parse("HS256", &a) == -1);
	CHECK(oa_alg_parse("EDDSA", &a) == -1);
	CHECK(oa_alg_parse("", &a) == -1);
	CHECK(oa_alg_parse(NULL, &a) == -1);
}

static void
test_thumbprint_vectors(void)
{
	struct oa_key *k;
	char *kid = NULL, tp[48];

	/* RFC 7638 §3.1, with its alg and kid members (ignored by the
	 * thumbprint, RFC 7638 §3.2). */
	k = jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	        "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}",
	    &kid);
	CHECK(k != NULL);
	if (k != NULL) {
		CHECK(k->alg == OA_ALG_RS256);
		CHECK(k->is_private == 0);
		CHECK_STR(k->kid, RFC7638_TP);
		CHECK(oa_jwk_thumbprint(k, tp) == 0);
		CHECK_STR(tp, RFC7638_TP);
		CHECK(EVP_PKEY_get_bits(k->pkey) == 2048);
	}
	CHECK_STR(kid, "2011-04-29");
	free(kid);
	oa_key_free(k);

	/* Member order in the document does not matter. */
	kid = (char *)"untouched";
	k = jwk(
	    "{\"e\":\"AQAB\",\"n\":\"" RFC7638_N "\",\"kty\":\"RSA\"}", &kid);
	CHECK(k != NULL && strcmp(k->kid, RFC7638_TP) == 0);
	CHECK(kid == NULL); /* no "kid" in the document */
	oa_key_free(k);

	/* RFC 8037 A.3. */
	k = jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}",
	    NULL);
	CHECK(k != NULL && k->alg == OA_ALG_EDDSA);
	CHECK_STR(k ? k->kid : NULL, RFC8037_TP);
	oa_key_free(k);

	/* P-256 (RFC 7515 A.3 key), cross-checked with jose. */
	k = jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
	        "\",\"y\":\"" A3_Y "\"}",
	    NULL);
	CHECK(k != NULL && k->alg == OA_ALG_ES256);
	CHECK_STR(k ? k->kid : NULL, A3_TP);
	oa_key_free(k);
}

/* Text of the JWK of key, re-parsed: same kid, alg, public only. */
static void
round_trip(enum oa_alg alg)
{
	struct oa_key *k = NULL, *k2 = NULL;
	cJSON *j = NULL;
	char *txt = NULL, *kid = NULL, *tok = NULL;
	const cJSON *it;

	k = oa_key_generate(alg);
	CHECK(k != NULL);
	if (k == NULL)
		return;
	CHECK(k->alg == alg && k->is_private == 1);
	CHECK(strlen(k->kid) == 43);
	j = oa_jwk_to_json(k);
	CHECK(j != NULL);
	if (j == NULL)
		goto out;
	/* Never a private member. */
	CHECK(cJSON_GetObjectItemCaseSensitive(j, "d") == NULL);
	CHECK(cJSON_GetObjectItemCaseSensitive(j, "p") == NULL);
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "kid")),
	    k->kid);
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "alg")),
	    oa_alg_name(alg));
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "use")),
	    "sig");
	it = cJSON_GetObjectItemCaseSensitive(j, "kty");
	switch (alg) {
	case OA_ALG_RS256:
		CHECK_STR(cJSON_GetStringValue(it), "RSA");
		CHECK_STR(cJSON_GetStringValue(
		              cJSON_GetObjectItemCaseSensitive(j, "e")),
		    "AQAB");
		CHECK(strlen(cJSON_GetStringValue(
		          cJSON_GetObjectItemCaseSensitive(j, "n"))) == 342);
		CHECK(EVP_PKEY_get_bits(k->pkey) == 2048);
		break;
	case OA_ALG_ES256:
		CHECK_STR(cJSON_GetStringValue(it), "EC");
		CHECK_STR(cJSON_GetStringValue(
		              cJSON_GetObjectItemCaseSensitive(j, "crv")),
		    "P-256");
		CHECK(strlen(cJSON_GetStringValue(
		          cJSON_GetObjectItemCaseSensitive(j, "x"))) == 43);
		CHECK(strlen(cJSON_GetStringValue(
		          cJSON_GetObjectItemCaseSensitive(j, "y"))) == 43);
		break;
	default:
		CHECK_STR(cJSON_GetStringValue(it), "OKP");
		CHECK_STR(cJSON_GetStringValue(
		              cJSON_GetObjectItemCaseSensitive(j, "crv")),
		    "Ed25519");
		CHECK(strlen(cJSON_GetStringValue(
		          cJSON_GetObjectItemCaseSensitive(j, "x"))) == 43);
		CHECK(cJSON_GetObjectItemCaseSensitive(j, "y") == NULL);
		break;
	}
	txt = cJSON_PrintUnformatted(j);
	CHECK(txt != NULL);
	k2 = txt ? oa_jwk_parse(txt, strlen(txt), &kid) : NULL;
	CHECK(k2 != NULL);
	if (k2 == NULL)
		goto out;
	CHECK_STR(k2->kid, k->kid);
	CHECK_STR(kid, k->kid);
	CHECK(k2->alg == alg && k2->is_private == 0);
	CHECK(EVP_PKEY_eq(k->pkey, k2->pkey) == 1);
	/* A signature by the private key verifies with the parsed one. */
	CHECK(oa_jws_sign(k, "{\"alg\":\"x\"}", "{}", &tok) == 0);
	CHECK(tok != NULL && oa_jws_verify_sig(k2, tok, strlen(tok)) == 0);
	/* The public key cannot sign. */
	{
		char *t2 = NULL;
		CHECK(oa_jws_sign(k2, "{}", "{}", &t2) == -1 && t2 == NULL);
	}
out:
	free(tok);
	free(kid);
	cJSON_free(txt);
	cJSON_Delete(j);
	oa_key_free(k);
	oa_key_free(k2);
}

static char *
bn_param_b64(EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char *s = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 &&
	    (n = BN_bn2bin(bn, buf)) > 0)
		s = oa_b64url_encode(buf, (size_t)n);
	BN_free(bn);
	return s;
}

static void
test_small_rsa(void)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *n = NULL, *e = NULL, *json = NULL;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	n = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_N);
	e = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_E);
	CHECK(n != NULL && e != NULL && strlen(n) == 171);
	if (n != NULL && e != NULL &&
	    asprintf(&json, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", n,
	        e) > 0) {
		CHECK(refused(json));
		free(json);
	}
	/* The same key handed over as an EVP_PKEY is refused too (and
	 * freed: ownership moved). */
	CHECK(oa_key_from_pkey(p, 1) == NULL);
	free(n);
	free(e);

	/* 2041 bits in 256 bytes: the exact bit count is checked. */
	{
		char big[400];
		snprintf(big, sizeof big,
		    "{\"kty\":\"RSA\",\"n\":\"A%s\","
		    "\"e\":\"AQAB\"}",
		    RFC7638_N + 1);
		CHECK(refused(big));
	}
	/* A leading zero byte (not minimal, RFC 7518 §6.3.1.1) is
	 * tolerated: same value, same thumbprint. */
	{
		uint8_t *raw = NULL, *z = NULL;
		size_t rlen = 0;
		char *zb = NULL, *doc = NULL;
		struct oa_key *k = NULL;
		if (oa_b64url_decode(
		        RFC7638_N, strlen(RFC7638_N), &raw, &rlen) == 0 &&
		    (z = calloc(1, rlen + 1)) != NULL) {
			memcpy(z + 1, raw, rlen);
			zb = oa_b64url_encode(z, rlen + 1);
		}
		if (zb != NULL &&
		    asprintf(&doc,
		        "{\"kty\":\"RSA\",\"n\":\"%s\","
		        "\"e\":\"AAEAAQ\"}",
		        zb) > 0)
			k = jwk(doc, NULL);
		CHECK(k != NULL && strcmp(k->kid, RFC7638_TP) == 0);
		oa_key_free(k);
		free(doc);
		free(zb);
		free(z);
		free(raw);
	}
	/* Exponents: even, 1, and larger than 2^31 are refused. */
	CHECK(refused(
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAA\"}"));
	CHECK(
	    refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQ\"}"));
	CHECK(refused(
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAAAAE\"}"));
	CHECK(refused(
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"gAAAAQ\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"e\":\"AQAB\"}"));
}

static void
test_refusals(void)
{
	const char *ec_ok = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
	                    "\",\"y\":\"" A3_Y "\"}";
	struct oa_key *k;

	/* Sanity: the base documents are accepted. */
	k = jwk(ec_ok, NULL);
	CHECK(k != NULL);
	oa_key_free(k);

	/* Off-curve point: the last character of y changed (both spellings
	 * are canonical base64url, so only the curve check can say no). */
	CHECK(
	    refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
	            "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"}"));
	/* The point (0, 0) and x = y. */
	CHECK(
	    refused("{\"kty\":\"EC\",\"crv\":\"P-256\","
	            "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	            "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"));
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
	              "\"y\":\"" A3_X "\"}"));
	/* Coordinates not exactly 32 bytes. */
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA" A3_X "\","
	              "\"y\":\"" A3_Y "\"}"));
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-256\","
	              "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA\","
	              "\"y\":\"" A3_Y "\"}"));
	/* Other curves, missing crv. */
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" A3_X "\","
	              "\"y\":\"" A3_Y "\"}"));
	CHECK(
	    refused("{\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}"));
	CHECK(refused(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" RFC8037_X "\"}"));
	CHECK(refused(
	    "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" RFC8037_X "\"}"));
	CHECK(refused(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA" RFC8037_X "\"}"));

	/* Private members in what must be a public key. */
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
	              "\"y\":\"" A3_Y "\",\"d\":\"" A3_D "\"}"));
	CHECK(refused(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
	    "\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"p\":\"AQAB\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"qi\":\"AQAB\"}"));
	CHECK(refused(
	    "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVM"
	    "koqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}"));

	/* alg must be the key type's one algorithm. */
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"alg\":\"ES256\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"alg\":\"PS256\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"alg\":\"HS256\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"alg\":\"rs256\"}"));
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
	              "\"y\":\"" A3_Y "\",\"alg\":\"ES384\"}"));
	CHECK(refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
	              "\",\"alg\":\"RS256\"}"));
	k = jwk(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
	    "\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"key_ops\":[\"verify\"]}",
	    NULL);
	CHECK(k != NULL);
	oa_key_free(k);

	/* use:enc, and key_ops without verify. */
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"use\":\"enc\"}"));
	CHECK(refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
	              "\"y\":\"" A3_Y "\",\"use\":\"enc\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"key_ops\":[\"encrypt\"]}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"key_ops\":\"verify\"}"));

	/* Shapes: types, duplicates, strictness of the JSON. */
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":65537}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"kid\":5}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"kid\":\"\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"kty\":\"EC\",\"n\":\"" RFC7638_N
	              "\",\"e\":\"AQAB\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"e\":\"AwAB\"}"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}"
	              " x"));
	CHECK(refused("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	              "\"kid\":\"a\\u0000b\"}"));
	CHECK(refused(
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "=\",\"e\":\"AQAB\"}"));
	CHECK(refused(
	    "{\"kty\":\"rsa\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}"));
	CHECK(refused("{\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}"));
	CHECK(refused(
	    "[{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}]"));
	CHECK(refused(""));
	CHECK(refused("null"));
	/* An embedded NUL inside the given length. */
	{
		static const char t[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		                        "\"x\":\"" RFC8037_X "\"}\0";
		CHECK(oa_jwk_parse(t, sizeof t - 1, NULL) == NULL);
		k = oa_jwk_parse(t, sizeof t - 2, NULL);
		CHECK(k != NULL);
		oa_key_free(k);
	}
}

static void
test_jwks(void)
{
	const char *doc =
	    "{\"keys\":["
	    "{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"n\":\"" RFC7638_N
	    "\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"kid\":\"enc1\",\"use\":\"enc\",\"n\":"
	    "\"" RFC7638_N "\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"AAAA\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p384\",\"x\":\"AA\","
	    "\"y\":\"AA\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y
	    "\"},"
	    "42, \"junk\", [],"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":"
	    "\"" RFC8037_X "\"}"
	    "],\"extra\":true}";
	struct oa_keyset *set = oa_jwks_parse(doc, strlen(doc));

	CHECK(set != NULL);
	if (set != NULL) {
		CHECK(set->n == 3);
		if (set->n == 3) {
			CHECK(set->keys[0]->alg == OA_ALG_RS256);
			CHECK_STR(set->doc_kids[0], "r1");
			CHECK_STR(set->keys[0]->kid, RFC7638_TP);
			CHECK(set->keys[1]->alg == OA_ALG_ES256);
			CHECK(set->doc_kids[1] == NULL);
			CHECK_STR(set->keys[1]->kid, A3_TP);
			CHECK(set->keys[2]->alg == OA_ALG_EDDSA);
			CHECK_STR(set->doc_kids[2], "ed");
		}
	}
	oa_keyset_free(set);
	oa_keyset_free(NULL);

	set = oa_jwks_parse("{\"keys\":[]}", 11);
	CHECK(set != NULL && set->n == 0);
	oa_keyset_free(set);
	CHECK(oa_jwks_parse("{\"keys\":{}}", 11) == NULL);
	CHECK(oa_jwks_parse("{\"Keys\":[]}", 11) == NULL);
	CHECK(oa_jwks_parse("[]", 2) == NULL);
	CHECK(oa_jwks_parse("{\"keys\":[],\"keys\":[]}", 21) == NULL);
	CHECK(oa_jwks_parse("{\"keys\":[]", 10) == NULL);
	CHECK(oa_jwks_parse(NULL, 0) == NULL);
}

static int
pem_refused(const char *pem)
{
	struct oa_key *k = oa_key_parse_pem(pem, strlen(pem));

	oa_key_free(k);
	return k == NULL;
}

static void
test_pem(void)
{
	char dir[] = "/tmp/oa-test-jwk-XXXXXX", path[128], *pem = NULL;
	enum oa_alg algs[] = {OA_ALG_RS256, OA_ALG_ES256, OA_ALG_EDDSA};
	struct oa_key *k = NULL, *k2 = NULL;
	struct stat st;
	size_t i;

	CHECK(mkdtemp(dir) != NULL);
	for (i = 0; i < 3; i++) {
		k = oa_key_generate(algs[i]);
		CHECK(k != NULL);
		if (k == NULL)
			continue;
		CHECK(oa_key_to_pem(k, &pem) == 0);
		CHECK(pem != NULL &&
		    strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
		k2 = pem ? oa_key_parse_pem(pem, strlen(pem)) : NULL;
		CHECK(k2 != NULL && k2->is_private == 1 && k2->alg == algs[i] &&
		    strcmp(k2->kid, k->kid) == 0);
		oa_key_free(k2);
		oa_secret_free(pem);
		pem = NULL;
		/* Its SubjectPublicKeyInfo PEM gives the public key. */
		{
			OSSL_ENCODER_CTX *e = OSSL_ENCODER_CTX_new_for_pkey(
			    k->pkey, EVP_PKEY_PUBLIC_KEY, "PEM",
			    "SubjectPublicKeyInfo", NULL);
			unsigned char *spki = NULL;
			size_t sl = 0;
			CHECK(e != NULL &&
			    OSSL_ENCODER_to_data(e, &spki, &sl) == 1);
			k2 = spki ? oa_key_parse_pem((char *)spki, sl) : NULL;
			CHECK(k2 != NULL && k2->is_private == 0 &&
			    k2->alg == algs[i] && strcmp(k2->kid, k->kid) == 0);
			oa_key_free(k2);
			OPENSSL_free(spki);
			OSSL_ENCODER_CTX_free(e);
		}

		snprintf(path, sizeof path, "%s/%s.pem", dir, k->kid);
		CHECK(oa_key_save_pem(k, path) == 0);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
		/* Never overwritten. */
		CHECK(oa_key_save_pem(k, path) == -1);
		k2 = oa_key_load_pem(path);
		CHECK(k2 != NULL && k2->is_private && k2->alg == algs[i] &&
		    strcmp(k2->kid, k->kid) == 0);
		oa_key_free(k2);
		/* Readable by group: refused. */
		CHECK(chmod(path, 0640) == 0);
		k2 = oa_key_load_pem(path);
		CHECK(k2 == NULL);
		oa_key_free(k2);
		CHECK(chmod(path, 0604) == 0);
		CHECK(oa_key_load_pem(path) == NULL);
		CHECK(unlink(path) == 0);
		oa_key_free(k);
	}
	/* No temporary files left behind. */
	CHECK(rmdir(dir) == 0);
	CHECK(oa_key_load_pem("/nonexistent/key.pem") == NULL);

	/* A public SubjectPublicKeyInfo PEM parses as a public key. */
	{
		static const char spki[] = "-----BEGIN PUBLIC KEY-----\n"
		                           "MCowBQYDK2VwAyEA11qYAYKxCrfVS/"
		                           "7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
		                           "-----END PUBLIC KEY-----\n";
		k = oa_key_parse_pem(spki, sizeof spki - 1);
		CHECK(k != NULL && k->is_private == 0 &&
		    strcmp(k->kid, RFC8037_TP) == 0);
		CHECK(oa_key_to_pem(k, &pem) == -1 && pem == NULL);
		oa_key_free(k);
		/* Two blocks, or a traditional / encrypted label: refused. */
		{
			char two[512];
			snprintf(two, sizeof two, "%s%s", spki, spki);
			CHECK(oa_key_parse_pem(two, strlen(two)) == NULL);
		}
		CHECK(pem_refused("-----BEGIN RSA PRIVATE KEY-----\nAA\n"
		                  "-----END RSA PRIVATE KEY-----\n"));
		CHECK(pem_refused("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
		                  "AA\n-----END ENCRYPTED PRIVATE KEY-----\n"));
		CHECK(pem_refused("-----BEGIN PUBLIC KEY-----\nAAAA\n"
		                  "-----END PUBLIC KEY-----\n"));
		CHECK(pem_refused(""));
	}
	oa_key_free(NULL);
}

int
main(void)
{
	oa_log_set_level(OA_LOG_ERROR);
	test_alg_names();
	test_thumbprint_vectors();
	round_trip(OA_ALG_RS256);
	round_trip(OA_ALG_ES256);
	round_trip(OA_ALG_EDDSA);
	test_small_rsa();
	test_refusals();
	test_jwks();
	test_pem();
	return t_done("jwk");
}
