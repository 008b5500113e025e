/*
 * wellknown.c - the JWKS (RFC 7517 §5) and the OpenID discovery document
 * (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), and their ETags.
 *
 * Both are built from the configuration and the key ring only, so the
 * same bytes come out of jwks.fcgi and `ownauth keys publish`.
 */
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

/* Private JWK members (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2). */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/*
 * The JWKS {"keys":[...]} of the published (unretired) keys of ring, in
 * ring order (oldest activation first). A member holding private key
 * material would be a bug in oa_jwk_to_json(): the document is refused
 * rather than published. Returns malloc'd JSON text (free()), or NULL.
 */
char *
oa_jwks_document(const struct oa_keyring *ring)
{
	cJSON *doc = NULL, *keys, *jwk;
	char *out = NULL;
	size_t i, j;

	if ((doc = cJSON_CreateObject()) == NULL ||
	    (keys = cJSON_AddArrayToObject(doc, "keys")) == NULL)
		goto oom;
	for (i = 0; i < ring->n; i++) {
		if (ring->keys[i].retired != 0)
			continue;
		if ((jwk = oa_jwk_to_json(ring->keys[i].key)) == NULL) {
			oa_log(OA_LOG_ERROR, "oa_jwk_to_json: cannot export "
			    "key %s", ring->keys[i].key->kid);
			goto out;
		}
		for (j = 0; j < sizeof(private_members) /
		    sizeof(private_members[0]); j++)
			if (cJSON_GetObjectItemCaseSensitive(jwk,
			    private_members[j]) != NULL) {
				oa_log(OA_LOG_ERROR, "oa_jwks_document: key %s "
				    "exports private member \"%s\"; not "
				    "published", ring->keys[i].key->kid,
				    private_members[j]);
				cJSON_Delete(jwk);
				goto out;
			}
		cJSON_AddItemToArray(keys, jwk);
	}
	if ((out = cJSON_PrintUnformatted(doc)) == NULL)
		goto oom;
	goto out;
oom:
	oa_log(OA_LOG_ERROR, "oa_jwks_document: out of memory");
out:
	cJSON_Delete(doc);
	return out;
}

/* Adds name: "{issuer}{path}". 0 or -1. */
static int
add_url(cJSON *doc, const char *issuer, const char *name, const char *path)
{
	size_t ilen = strlen(issuer), plen = strlen(path);
	char *url;
	int rc;

	if ((url = malloc(ilen + plen + 1)) == NULL)
		return -1;
	memcpy(url, issuer, ilen);
	memcpy(url + ilen, path, plen + 1);
	rc = cJSON_AddStringToObject(doc, name, url) == NULL ? -1 : 0;
	free(url);
	return rc;
}

/* Adds name: [strings...] (NULL-terminated). 0 or -1. */
static int
add_list(cJSON *doc, const char *name, const char *const *v)
{
	cJSON *arr, *s;

	if ((arr = cJSON_AddArrayToObject(doc, name)) == NULL)
		return -1;
	for (; *v != NULL; v++) {
		if ((s = cJSON_CreateString(*v)) == NULL)
			return -1;
		cJSON_AddItemToArray(arr, s);
	}
	return 0;
}

/*
 * The discovery document for conf: every URL is built from conf->issuer
 * (which has no trailing slash, so "issuer" is byte for byte the "iss" of
 * our tokens: Discovery §4.3, SECURITY.md item 19); the signing
 * algorithms are those of the published keys of ring (RS256 when there is
 * none: Discovery §3 requires RS256 be listed then). ring may be NULL.
 * Returns malloc'd JSON text (free()), or NULL.
 */
char *
oa_discovery_document(const struct oa_conf *conf,
    const struct oa_keyring *ring)
{
	static const char *const grants[] = {
		"authorization_code", "refresh_token", NULL };
	static const char *const subjects[] = { "public", NULL };
	static const char *const pkce[] = { "S256", NULL };
	static const char *const auth_methods[] = { "none", NULL };
	static const char *const scopes[] = {
		"openid", "email", "profile", "offline_access", NULL };
	static const char *const claims[] = {
		"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid",
		"jti", "email", "email_verified", "name", "picture", NULL };
	static const char *const modes[] = { "query", "fragment", NULL };
	static const enum oa_alg alg_order[] = {
		OA_ALG_RS256, OA_ALG_ES256, OA_ALG_EDDSA };
	const char *rtypes[3] = { "code", NULL, NULL };
	const char *algs[4] = { NULL, NULL, NULL, NULL };
	cJSON *doc = NULL;
	char *out = NULL;
	size_t i, j, nalg = 0;

	for (i = 0; i < conf->n_clients; i++)
		if (conf->clients[i].allow_token)
			rtypes[1] = "token";
	for (j = 0; j < sizeof(alg_order) / sizeof(alg_order[0]); j++)
		for (i = 0; ring != NULL && i < ring->n; i++)
			if (ring->keys[i].retired == 0 &&
			    ring->keys[i].key->alg == alg_order[j]) {
				algs[nalg++] = oa_alg_name(alg_order[j]);
				break;
			}
	if (nalg == 0)
		algs[0] = oa_alg_name(OA_ALG_RS256);

	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(doc, "issuer", conf->issuer) == NULL ||
	    add_url(doc, conf->issuer, "jwks_uri",
	    "/.well-known/jwks.json") == -1 ||
	    add_url(doc, conf->issuer, "authorization_endpoint",
	    "/oauth/authorize") == -1 ||
	    add_url(doc, conf->issuer, "token_endpoint", "/token") == -1 ||
	    add_url(doc, conf->issuer, "userinfo_endpoint",
	    "/userinfo") == -1 ||
	    add_url(doc, conf->issuer, "revocation_endpoint",
	    "/revoke") == -1 ||
	    add_url(doc, conf->issuer, "end_session_endpoint",
	    "/logout") == -1 ||
	    add_list(doc, "response_types_supported", rtypes) == -1 ||
	    add_list(doc, "response_modes_supported", modes) == -1 ||
	    add_list(doc, "grant_types_supported", grants) == -1 ||
	    add_list(doc, "subject_types_supported", subjects) == -1 ||
	    add_list(doc, "id_token_signing_alg_values_supported",
	    algs) == -1 ||
	    add_list(doc, "code_challenge_methods_supported", pkce) == -1 ||
	    add_list(doc, "token_endpoint_auth_methods_supported",
	    auth_methods) == -1 ||
	    add_list(doc, "revocation_endpoint_auth_methods_supported",
	    auth_methods) == -1 ||
	    add_list(doc, "scopes_supported", scopes) == -1 ||
	    add_list(doc, "claims_supported", claims) == -1 ||
	    /* RFC 9207 §3: we send iss in authorization responses. */
	    cJSON_AddTrueToObject(doc,
	    "authorization_response_iss_parameter_supported") == NULL ||
	    (out = cJSON_PrintUnformatted(doc)) == NULL)
		oa_log(OA_LOG_ERROR, "oa_discovery_document: out of memory");
	cJSON_Delete(doc);
	return out;
}

/*
 * A strong ETag for body: the quoted base64url of the first 18 bytes
 * (144 bits) of its SHA-256. Returns a malloc'd string such as
 * "\"q1w2...\"" (free()), or NULL.
 */
char *
oa_etag(const char *body, size_t len)
{
	uint8_t md[32];
	char *b64, *out;
	size_t n;

	oa_sha256(body, len, md);
	if ((b64 = oa_b64url_encode(md, 18)) == NULL)
		return NULL;
	n = strlen(b64);
	if ((out = malloc(n + 3)) != NULL) {
		out[0] = '"';
		memcpy(out + 1, b64, n);
		out[n + 1] = '"';
		out[n + 2] = '\0';
	}
	free(b64);
	return out;
}

/*
 * If-None-Match (RFC 9110 §13.1.2): "*", or a comma-separated list of
 * entity-tags, each optionally weak (W/"..."), compared weakly (the
 * opaque tags are equal). An entry that is not a well-formed entity-tag
 * ends the match (no match). 1 on a match, else 0.
 */
int
oa_etag_match(const char *inm, const char *etag)
{
	const char *p = inm, *q, *opaque;
	size_t elen, olen;

	if (inm == NULL || etag == NULL)
		return 0;
	/* Our own tag's opaque part, with its quotes. */
	if (etag[0] == 'W' && etag[1] == '/')
		etag += 2;
	elen = strlen(etag);
	if (elen < 2 || etag[0] != '"' || etag[elen - 1] != '"')
		return 0;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*') {
			/* "*" alone: any current representation. */
			for (q = p + 1; *q == ' ' || *q == '\t'; q++)
				;
			return *q == '\0';
		}
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0;
		opaque = p;
		for (q = p + 1; *q != '"'; q++) {
			/* etagc = %x21 / %x23-7E / obs-text */
			if (*q == '\0' || (unsigned char)*q < 0x21 ||
			    *q == 0x7f)
				return 0;
		}
		olen = (size_t)(q - opaque) + 1;
		if (olen == elen && memcmp(opaque, etag, elen) == 0)
			return 1;
		p = q + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return 0;
	}
}
