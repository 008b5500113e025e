/*
 * fuzz_jwt.c - JWT parsing and verification (lib/jwt.c, lib/jws.c).
 *
 * Each input, as a NUL-terminated string, goes to oa_jwt_parse and to
 * oa_jwt_verify against a fixed key set - the public keys of RFC 8037
 * A.1 (Ed25519, published as kid "ed"), RFC 7515 A.3 (P-256, kid = its
 * thumbprint) and RFC 7515 A.2 (RSA, kid "rsa") - so that seeds signed
 * with those keys' published private halves reach the claim checks.
 * Promises checked (abort when broken): verification never succeeds on
 * what oa_jwt_parse refuses, never with a header alg other than the
 * key's, never for an expired token or one for another issuer, audience
 * or nonce; the claims written on success are an object.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

#define NOW 1700000000

static const char jwks[] =
    "{\"keys\":["
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw"
    "-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b3269"
    "0r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS"
    "-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aG"
    "hyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXp"
    "oQ\"}]}";

static struct oa_keyset *keys;

static void
check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	oa_log_set_level(OA_LOG_ERROR);
	keys = oa_jwks_parse(jwks, sizeof jwks - 1);
	check(keys != NULL && keys->n == 3);
	return 0;
}

static const char *
str(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa_jwt_expect ex;
	cJSON *h = NULL, *p = NULL, *claims = NULL, *exp, *aud;
	enum oa_jwt_result r;
	enum oa_alg alg;
	char *tok;
	int parsed;
	size_t i;

	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';

	parsed = oa_jwt_parse(tok, &h, &p) == 0;
	if (parsed)
		check(cJSON_IsObject(h) && cJSON_IsObject(p));

	memset(&ex, 0, sizeof ex);
	ex.iss = "https://auth.example.com";
	ex.aud = "convex";
	ex.nonce = "n-0S6_WzA2Mj";
	ex.now = NOW;
	ex.leeway = 5;
	r = oa_jwt_verify(tok, keys, &ex, &claims);
	check(oa_jwt_result_str(r) != NULL);
	if (r == OA_JWT_OK) {
		check(parsed);
		check(cJSON_IsObject(claims));
		/* The header alg is the one of a key we hold. */
		check(oa_alg_parse(str(h, "alg"), &alg) == 0);
		for (i = 0; i < keys->n; i++)
			if (keys->keys[i]->alg == alg)
				break;
		check(i < keys->n);
		check(cJSON_GetObjectItemCaseSensitive(h, "crit") == NULL);
		check(cJSON_GetObjectItemCaseSensitive(h, "jwk") == NULL);
		check(cJSON_GetObjectItemCaseSensitive(h, "jku") == NULL);
		exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
		check(cJSON_IsNumber(exp) && exp->valuedouble + 5 > NOW);
		check(str(claims, "iss") != NULL &&
		    strcmp(str(claims, "iss"), ex.iss) == 0);
		check(str(claims, "nonce") != NULL &&
		    strcmp(str(claims, "nonce"), ex.nonce) == 0);
		aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
		if (cJSON_IsArray(aud)) {
			check(cJSON_GetArraySize(aud) == 1);
			aud = cJSON_GetArrayItem(aud, 0);
		}
		check(cJSON_GetStringValue(aud) != NULL &&
		    strcmp(cJSON_GetStringValue(aud), ex.aud) == 0);
	} else
		check(claims == NULL);
	cJSON_Delete(claims);
	cJSON_Delete(h);
	cJSON_Delete(p);
	free(tok);
	return 0;
}
