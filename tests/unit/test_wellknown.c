/*
 * test_wellknown.c - the JWKS and discovery documents, ETags and
 * If-None-Match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"
#include "t.h"

static char tmp[64];

static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

static struct oa_conf *
conf_of(const char *text)
{
	struct oa_conf *conf = NULL;
	char err[512];

	if (oa_conf_parse("test.conf", text, strlen(text), 0, &conf, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "conf: %s\n", err);
		return NULL;
	}
	return conf;
}

/* The array member name of obj as one space-separated string. */
static char *
joined(const cJSON *obj, const char *name)
{
	static char buf[512];
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *it;

	buf[0] = '\0';
	if (!cJSON_IsArray(arr))
		return NULL;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return NULL;
		if (buf[0] != '\0')
			strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, it->valuestring, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

static const char *
str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void
test_jwks(struct oa_keyring *ring, const char *retired_kid)
{
	char *doc;
	cJSON *json = NULL, *keys, *k;
	struct oa_keyset *set = NULL;
	size_t i, n = 0, published = 0;

	for (i = 0; i < ring->n; i++)
		if (ring->keys[i].retired == 0)
			published++;
	doc = oa_jwks_document(ring);
	CHECK(doc != NULL);
	if (doc == NULL)
		return;
	json = cJSON_Parse(doc);
	keys = cJSON_GetObjectItemCaseSensitive(json, "keys");
	CHECK(cJSON_IsArray(keys));
	CHECK((size_t)cJSON_GetArraySize(keys) == published);
	cJSON_ArrayForEach(k, keys) {
		const char *kty = str(k, "kty"), *alg = str(k, "alg");

		n++;
		CHECK(str(k, "kid") != NULL);
		CHECK_STR(str(k, "use"), "sig");
		CHECK(kty != NULL && alg != NULL);
		if (kty != NULL && strcmp(kty, "RSA") == 0) {
			CHECK_STR(alg, "RS256");
			CHECK(str(k, "n") != NULL && str(k, "e") != NULL);
		} else if (kty != NULL && strcmp(kty, "EC") == 0) {
			CHECK_STR(alg, "ES256");
			CHECK_STR(str(k, "crv"), "P-256");
			CHECK(str(k, "x") != NULL && str(k, "y") != NULL);
		} else if (kty != NULL && strcmp(kty, "OKP") == 0) {
			CHECK_STR(alg, "EdDSA");
			CHECK_STR(str(k, "crv"), "Ed25519");
			CHECK(str(k, "x") != NULL);
		} else {
			CHECK(!"unexpected kty");
		}
		/* Never a private member (RFC 7517 §9.2). */
		for (i = 0; i < sizeof(private_members) /
		    sizeof(private_members[0]); i++)
			CHECK(cJSON_GetObjectItem(k, private_members[i]) ==
			    NULL);
		if (retired_kid != NULL)
			CHECK(strcmp(str(k, "kid"), retired_kid) != 0);
	}
	CHECK(n == published);
	/* The kids are the ring's, and the document reads back. */
	for (i = 0; i < ring->n; i++)
		if (ring->keys[i].retired == 0)
			CHECK(strstr(doc, ring->keys[i].key->kid) != NULL);
	set = oa_jwks_parse(doc, strlen(doc));
	CHECK(set != NULL && set->n == published);
	if (set != NULL)
		for (i = 0; i < set->n; i++)
			CHECK(!set->keys[i]->is_private);
	oa_keyset_free(set);
	cJSON_Delete(json);
	free(doc);
}

static void
test_discovery(const struct oa_conf *conf, const struct oa_keyring *ring,
    const char *algs, const char *rtypes)
{
	char *doc, want[256];
	cJSON *json;
	const cJSON *it;
	static const struct {
		const char *name, *path;
	} urls[] = {
		{ "jwks_uri", "/.well-known/jwks.json" },
		{ "authorization_endpoint", "/oauth/authorize" },
		{ "token_endpoint", "/token" },
		{ "userinfo_endpoint", "/userinfo" },
		{ "revocation_endpoint", "/revoke" },
		{ "end_session_endpoint", "/logout" },
	};
	size_t i;

	doc = oa_discovery_document(conf, ring);
	CHECK(doc != NULL);
	if (doc == NULL)
		return;
	json = cJSON_Parse(doc);
	CHECK(cJSON_IsObject(json));
	/* Byte for byte the tokens' iss (Discovery §4.3). */
	CHECK_STR(str(json, "issuer"), conf->issuer);
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(want, sizeof(want), "%s%s", conf->issuer,
		    urls[i].path);
		CHECK_STR(str(json, urls[i].name), want);
	}
	CHECK_STR(joined(json, "id_token_signing_alg_values_supported"),
	    algs);
	CHECK_STR(joined(json, "response_types_supported"), rtypes);
	CHECK_STR(joined(json, "grant_types_supported"),
	    "authorization_code refresh_token");
	CHECK_STR(joined(json, "subject_types_supported"), "public");
	CHECK_STR(joined(json, "code_challenge_methods_supported"), "S256");
	CHECK_STR(joined(json, "token_endpoint_auth_methods_supported"),
	    "none");
	CHECK_STR(joined(json, "scopes_supported"),
	    "openid email profile offline_access");
	CHECK_STR(joined(json, "claims_supported"),
	    "iss sub aud exp iat auth_time nonce sid jti email "
	    "email_verified name picture");
	CHECK_STR(joined(json, "response_modes_supported"),
	    "query fragment");
	it = cJSON_GetObjectItemCaseSensitive(json,
	    "authorization_response_iss_parameter_supported");
	CHECK(cJSON_IsTrue(it));
	cJSON_Delete(json);
	free(doc);
}

static void
test_etag(void)
{
	char *a, *b, *c, *d;

	a = oa_etag("{\"keys\":[]}", 11);
	b = oa_etag("{\"keys\":[]}", 11);
	c = oa_etag("{\"keys\":[ ]}", 12);
	d = oa_etag("", 0);
	CHECK(a != NULL && b != NULL && c != NULL && d != NULL);
	if (a && b && c && d) {
		CHECK_STR(a, b);
		CHECK(strcmp(a, c) != 0);
		CHECK(strcmp(a, d) != 0);
		/* Strong, quoted, 144 bits of base64url. */
		CHECK(strlen(a) == 26 && a[0] == '"' && a[25] == '"');
		CHECK(strspn(a + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789-_") == 24);
		/* SHA-256("") starts e3b0c442 98fc1c14 9afbf4c8 996fb924
		 * 27ae...: its first 18 bytes in base64url. */
		CHECK_STR(d, "\"47DEQpj8HBSa-_TImW-5JCeu\"");
	}

	/* If-None-Match, RFC 9110 §13.1.2 (weak comparison). */
	CHECK(oa_etag_match("\"abc\"", "\"abc\""));
	CHECK(oa_etag_match("W/\"abc\"", "\"abc\""));
	CHECK(oa_etag_match("\"x\", \"abc\"", "\"abc\""));
	CHECK(oa_etag_match("\"x\",W/\"abc\" , \"y\"", "\"abc\""));
	CHECK(oa_etag_match("*", "\"abc\""));
	CHECK(oa_etag_match(" * ", "\"abc\""));
	CHECK(!oa_etag_match("\"abcd\"", "\"abc\""));
	CHECK(!oa_etag_match("\"ab\"", "\"abc\""));
	CHECK(!oa_etag_match("abc", "\"abc\""));
	CHECK(!oa_etag_match("\"abc", "\"abc\""));
	CHECK(!oa_etag_match("", "\"abc\""));
	CHECK(!oa_etag_match("*, \"x\"", "\"abc\""));
	CHECK(!oa_etag_match("\"x\" \"abc\"", "\"abc\""));
	CHECK(!oa_etag_match("\"a c\"", "\"a c\""));
	CHECK(!oa_etag_match(NULL, "\"abc\""));
	CHECK(!oa_etag_match("\"abc\"", NULL));
	if (a != NULL)
		CHECK(oa_etag_match(a, a));
	if (a != NULL && c != NULL)
		CHECK(!oa_etag_match(c, a));
	free(a);
	free(b);
	free(c);
	free(d);
}

static const char conf_text[] =
    "issuer = https://auth.example.com/base\n"
    "data_dir = /tmp/oa-data\n"
    "keys_dir = /tmp/oa-keys\n"
    "[client web]\n"
    "redirect_uris = https://app.example.com/cb\n";

static const char conf_token_text[] =
    "issuer = http://127.0.0.1:8080\n"
    "data_dir = /tmp/oa-data\n"
    "keys_dir = /tmp/oa-keys\n"
    "[client web]\n"
    "redirect_uris = https://app.example.com/cb\n"
    "[client spa]\n"
    "redirect_uris = http://localhost:5173/\n"
    "response_types = code token\n";

int
main(void)
{
	char dir[128], cmd[160], k_es[48], k_ed[48], k_rs[48], k_old[48];
	struct oa_conf *conf = NULL, *conf_token = NULL;
	struct oa_keyring *ring = NULL, *empty = NULL;
	char *j1 = NULL, *j2 = NULL, *e1 = NULL, *e2 = NULL;
	time_t now = time(NULL);
	size_t i;

	oa_log_set_prog("test_wellknown");
	oa_log_set_level(OA_LOG_ERROR);
	test_etag();

	strcpy(tmp, "/tmp/oa-test-wk-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/keys", tmp);
	CHECK(oa_keys_init_dir(dir) == 0);
	conf = conf_of(conf_text);
	conf_token = conf_of(conf_token_text);
	CHECK(conf != NULL && conf_token != NULL);
	if (conf == NULL || conf_token == NULL)
		goto out;

	/* No key yet: an empty JWKS, RS256 announced. */
	empty = oa_keyring_load(dir);
	CHECK(empty != NULL);
	if (empty != NULL) {
		j1 = oa_jwks_document(empty);
		CHECK_STR(j1, "{\"keys\":[]}");
		test_discovery(conf, empty, "RS256", "code");
		free(j1);
		j1 = NULL;
	}
	test_discovery(conf, NULL, "RS256", "code");
	test_discovery(conf_token, NULL, "RS256", "code token");

	/* ES256 only. */
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k_es) == 0);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring == NULL)
		goto out;
	test_discovery(conf, ring, "ES256", "code");
	j1 = oa_jwks_document(ring);
	e1 = j1 ? oa_etag(j1, strlen(j1)) : NULL;
	oa_keyring_free(ring);

	/* All three algorithms (one pending), one retired. */
	CHECK(oa_keys_new(dir, OA_ALG_EDDSA, 0, k_ed) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_RS256, 600, k_rs) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k_old) == 0);
	CHECK(oa_keys_retire(dir, k_old) == 0);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL && ring->n == 4);
	if (ring == NULL)
		goto out;
	test_jwks(ring, k_old);
	test_discovery(conf, ring, "RS256 ES256 EdDSA", "code");
	test_discovery(conf_token, ring, "RS256 ES256 EdDSA", "code token");
	j2 = oa_jwks_document(ring);
	CHECK(j2 != NULL && strstr(j2, k_rs) != NULL &&
	    strstr(j2, k_es) != NULL && strstr(j2, k_ed) != NULL &&
	    strstr(j2, k_old) == NULL);
	e2 = j2 ? oa_etag(j2, strlen(j2)) : NULL;
	/* The public ring (jwks.fcgi's) gives the same bytes. */
	{
		struct oa_keyring *pub = oa_keyring_load_public(dir);
		char *jp = pub ? oa_jwks_document(pub) : NULL;
		char *dp = pub ? oa_discovery_document(conf, pub) : NULL;
		char *df = oa_discovery_document(conf, ring);

		CHECK(pub != NULL);
		CHECK_STR(jp, j2);
		CHECK_STR(dp, df);
		free(jp);
		free(dp);
		free(df);
		oa_keyring_free(pub);
	}
	/* Stable for the same ring, different when the keys change. */
	CHECK(e1 != NULL && e2 != NULL && strcmp(e1, e2) != 0);
	if (j2 != NULL) {
		char *j3 = oa_jwks_document(ring), *e3;

		CHECK_STR(j3, j2);
		e3 = j3 ? oa_etag(j3, strlen(j3)) : NULL;
		CHECK_STR(e3, e2);
		free(j3);
		free(e3);
	}
	/* Only retired keys left of one algorithm: it is not announced. */
	for (i = 0; i < ring->n; i++)
		if (ring->keys[i].key->alg == OA_ALG_EDDSA)
			ring->keys[i].retired = now;
	test_discovery(conf, ring, "RS256 ES256", "code");
	(void)now;
out:
	free(j1);
	free(j2);
	free(e1);
	free(e2);
	oa_keyring_free(ring);
	oa_keyring_free(empty);
	oa_conf_free(conf);
	oa_conf_free(conf_token);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return t_done("wellknown");
}
