/*
 * upstream.c - the callback's side of an upstream provider: where its
 * endpoints are (configuration and OIDC discovery), the code exchange
 * at its token endpoint, and who signed in (a verified ID token for
 * type oidc, GitHub's /user and /user/emails, an oauth2 userinfo
 * document through the configured field map, the type dev form).
 *
 * Everything an upstream sends is untrusted: JSON goes through the
 * strict parsers (duplicate members, NUL, bad UTF-8 refused), ID tokens
 * through oa_jwt_verify with the algorithm bound to the upstream's key
 * (SECURITY 12-14), and every profile field is checked before it goes
 * near the store or a token. HTTP is http.c's (SECURITY 25: https only
 * but loopback, timeouts, size caps, no redirects).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ownauth.h"

#define ID_TOKEN_LEEWAY 60      /* seconds of clock skew with upstreams */
#define SUBJECT_MAX 255         /* SECURITY 16 */
#define EMAIL_MAX 254           /* RFC 5321 §4.5.3.1.3 path limit */
#define NAME_MAX_BYTES 256
#define PICTURE_MAX 2048
#define DISCOVERY_SUFFIX "/.well-known/openid-configuration"
#define MS_ISSUER_PREFIX "https://login.microsoftonline.com/"
#define MS_ISSUER_SUFFIX "/v2.0"
#define APPLE_AUDIENCE "https://appleid.apple.com"

static int
is_preset(const struct oa_provider *prov, const char *name)
{
	return prov->preset != NULL && strcmp(prov->preset, name) == 0;
}

const char *
oa_upstream_error(enum oa_upstream_result r)
{
	switch (r) {
	case OA_UPSTREAM_UNAVAILABLE:
		return "temporarily_unavailable";
	case OA_UPSTREAM_DENIED:
		return "access_denied";
	case OA_UPSTREAM_OK:
	case OA_UPSTREAM_BAD:
	case OA_UPSTREAM_CONFIG:
		break;
	}
	return "server_error";
}

const char *
oa_upstream_result_str(enum oa_upstream_result r)
{
	switch (r) {
	case OA_UPSTREAM_OK:
		return "signed in";
	case OA_UPSTREAM_UNAVAILABLE:
		return "the sign-in provider could not be reached; try again "
		       "later";
	case OA_UPSTREAM_BAD:
		return "the sign-in provider's answer could not be verified";
	case OA_UPSTREAM_DENIED:
		return "sign-in was cancelled or refused";
	case OA_UPSTREAM_CONFIG:
		return "the sign-in provider is misconfigured on this server";
	}
	return "sign-in failed";
}

const char *
oa_upstream_error_map(const char *e)
{
	/* OIDC Core §3.1.2.6: answers to prompt=none that the client
	 * asked for and knows how to handle. */
	static const char *const pass[] = {
		"access_denied", "temporarily_unavailable", "login_required",
		"consent_required", "interaction_required",
		"account_selection_required",
	};
	size_t i;

	if (e == NULL)
		return "server_error";
	for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
		if (strcmp(e, pass[i]) == 0)
			return pass[i];
	/* Apple's Cancel button. */
	if (strcmp(e, "user_cancelled_authorize") == 0)
		return "access_denied";
	return "server_error";
}

/* ------------------------------------------------------------------ */
/* Profile fields.                                                     */

static int
subject_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > SUBJECT_MAX)
		return 0;
	return oa_valid_printable(s, n);
}

static int
email_ok(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL || (n = strlen(s)) < 3 || n > EMAIL_MAX ||
	    !oa_valid_printable(s, n))
		return 0;
	/* One '@', neither first nor last. */
	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	return 1;
}

static int
name_ok(const char *s)
{
	size_t n;

	return s != NULL && (n = strlen(s)) > 0 && n <= NAME_MAX_BYTES &&
	    oa_valid_text(s, n);
}

static int
picture_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > PICTURE_MAX ||
	    !oa_valid_uri(s, n))
		return 0;
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

void
oa_upstream_user_free(struct oa_upstream_user *u)
{
	if (u == NULL)
		return;
	free(u->subject);
	free(u->email);
	free(u->name);
	free(u->picture);
	free(u);
}

/* strdup of s into *dst when ok(s); else leaves *dst NULL. 0, or -1 when
 * out of memory. */
static int
set_field(char **dst, const char *s, int (*ok)(const char *))
{
	*dst = NULL;
	if (s == NULL || !ok(s))
		return 0;
	return (*dst = strdup(s)) == NULL ? -1 : 0;
}

/* A new user from raw fields, each checked; NULL when subject is
 * unusable (logged) or out of memory. */
static struct oa_upstream_user *
user_new(const char *subject, const char *email, int verified,
    const char *name, const char *picture)
{
	struct oa_upstream_user *u;

	if (!subject_ok(subject)) {
		oa_log(OA_LOG_WARN, "upstream: no usable subject (1 to %d "
		    "printable ASCII characters)", SUBJECT_MAX);
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->subject = strdup(subject)) == NULL ||
	    set_field(&u->email, email, email_ok) != 0 ||
	    set_field(&u->name, name, name_ok) != 0 ||
	    set_field(&u->picture, picture, picture_ok) != 0) {
		oa_log(OA_LOG_ERROR, "upstream: out of memory");
		oa_upstream_user_free(u);
		return NULL;
	}
	u->email_verified = u->email != NULL && verified;
	return u;
}

/* The string value of member name of obj, or NULL. */
static const char *
get_str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* true, or the string "true" (Apple sends email_verified as a string). */
static int
get_true(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (cJSON_IsTrue(it))
		return 1;
	return cJSON_IsString(it) && strcmp(it->valuestring, "true") == 0;
}

/* A JSON number that is a whole number in [0, 2^53) as decimal text in
 * buf. 0 or -1. */
static int
whole_number(const cJSON *it, char *buf, size_t len)
{
	double d;

	if (!cJSON_IsNumber(it))
		return -1;
	d = it->valuedouble;
	if (!isfinite(d) || d < 0 || d >= 9007199254740992.0 ||
	    d != floor(d))
		return -1;
	snprintf(buf, len, "%.0f", d);
	return 0;
}

struct oa_upstream_user *
oa_upstream_user_from_claims(const cJSON *claims)
{
	if (!cJSON_IsObject(claims))
		return NULL;
	return user_new(get_str(claims, "sub"), get_str(claims, "email"),
	    get_true(claims, "email_verified"), get_str(claims, "name"),
	    get_str(claims, "picture"));
}

int
oa_upstream_github_parse(const char *user, size_t ulen, const char *emails,
    size_t elen, struct oa_upstream_user **out)
{
	cJSON *u = NULL, *e = NULL;
	const cJSON *it;
	const char *name, *email = NULL;
	char id[32];
	int verified = 0, rc = -1;
	struct oa_upstream_user *res;

	if (user == NULL || out == NULL ||
	    oa_http_json_parse(user, ulen, cJSON_Object, &u) != 0) {
		oa_log(OA_LOG_WARN, "github: /user is not a JSON object");
		goto out;
	}
	/* The numeric id is stable; the login can be renamed. */
	if (whole_number(cJSON_GetObjectItemCaseSensitive(u, "id"), id,
	    sizeof(id)) != 0) {
		oa_log(OA_LOG_WARN, "github: /user has no numeric id");
		goto out;
	}
	if ((name = get_str(u, "name")) == NULL || !name_ok(name))
		name = get_str(u, "login");
	if (emails != NULL) {
		if (oa_http_json_parse(emails, elen, cJSON_Array, &e) != 0) {
			oa_log(OA_LOG_WARN, "github: /user/emails is not a "
			    "JSON array");
			goto out;
		}
		cJSON_ArrayForEach(it, e) {
			if (cJSON_IsObject(it) &&
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it,
			    "primary"))) {
				email = get_str(it, "email");
				verified = cJSON_IsTrue(
				    cJSON_GetObjectItemCaseSensitive(it,
				    "verified"));
				break;
			}
		}
	} else
		email = get_str(u, "email");   /* public; unverified to us */
	if ((res = user_new(id, email, verified, name,
	    get_str(u, "avatar_url"))) == NULL)
		goto out;
	*out = res;
	rc = 0;
out:
	cJSON_Delete(u);
	cJSON_Delete(e);
	return rc;
}

/* Member path ("a.b.c": each part a member of an object) of obj, or
 * NULL. */
static const cJSON *
get_path(const cJSON *obj, const char *path)
{
	char part[129];
	const char *p = path, *dot;
	size_t n;

	while (obj != NULL && p != NULL) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(part) || !cJSON_IsObject(obj))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		obj = cJSON_GetObjectItemCaseSensitive(obj, part);
		p = dot != NULL ? dot + 1 : NULL;
	}
	return obj;
}

/* A string, or a whole number as decimal text in buf. */
static const char *
path_str(const cJSON *obj, const char *path, char *buf, size_t len)
{
	const cJSON *it;

	if (path == NULL || (it = get_path(obj, path)) == NULL)
		return NULL;
	if (cJSON_IsString(it))
		return it->valuestring;
	if (whole_number(it, buf, len) == 0)
		return buf;
	return NULL;
}

int
oa_upstream_userinfo_parse(const struct oa_provider *prov, const char *json,
    size_t len, struct oa_upstream_user **out)
{
	cJSON *doc = NULL;
	const char *ef, *sub;
	char nbuf[32], ebuf[32], mbuf[32], pbuf[32];
	struct oa_upstream_user *u;
	int rc = -1;

	if (prov == NULL || json == NULL || out == NULL)
		return -1;
	if (oa_http_json_parse(json, len, cJSON_Object, &doc) != 0) {
		oa_log(OA_LOG_WARN, "provider %s: userinfo is not a JSON "
		    "object", prov->name);
		return -1;
	}
	ef = prov->email_field != NULL ? prov->email_field : "email";
	if ((sub = path_str(doc, prov->subject_field != NULL ?
	    prov->subject_field : "sub", nbuf, sizeof(nbuf))) == NULL) {
		oa_log(OA_LOG_WARN, "provider %s: userinfo has no %s",
		    prov->name, prov->subject_field != NULL ?
		    prov->subject_field : "sub");
		goto out;
	}
	/* Only the OIDC claim says whether the email was verified. */
	u = user_new(sub, path_str(doc, ef, ebuf, sizeof(ebuf)),
	    strcmp(ef, "email") == 0 && get_true(doc, "email_verified"),
	    path_str(doc, prov->name_field != NULL ? prov->name_field :
	    "name", mbuf, sizeof(mbuf)),
	    path_str(doc, prov->picture_field != NULL ? prov->picture_field :
	    "picture", pbuf, sizeof(pbuf)));
	if (u == NULL)
		goto out;
	*out = u;
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

int
oa_upstream_apple_name(const char *json, size_t len, char **name)
{
	cJSON *doc = NULL;
	const cJSON *n;
	const char *first, *last;
	char *s = NULL;
	int rc = -1;

	if (json == NULL || name == NULL ||
	    oa_http_json_parse(json, len, cJSON_Object, &doc) != 0)
		return -1;
	n = cJSON_GetObjectItemCaseSensitive(doc, "name");
	if (!cJSON_IsObject(n))
		goto out;
	first = get_str(n, "firstName");
	last = get_str(n, "lastName");
	if (first != NULL && !name_ok(first))
		first = NULL;
	if (last != NULL && !name_ok(last))
		last = NULL;
	if (first == NULL && last == NULL)
		goto out;
	if (asprintf(&s, "%s%s%s", first != NULL ? first : "",
	    first != NULL && last != NULL ? " " : "",
	    last != NULL ? last : "") < 0) {
		s = NULL;
		goto out;
	}
	if (!name_ok(s)) {
		free(s);
		goto out;
	}
	*name = s;
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

int
oa_upstream_dev_user(const char *email, const char *name,
    struct oa_upstream_user **out)
{
	struct oa_upstream_user *u;
	char *lower;
	size_t i;

	if (out == NULL || !email_ok(email))
		return -1;
	if ((lower = strdup(email)) == NULL)
		return -1;
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	/* A form anyone can fill in: never a verified email. */
	u = user_new(lower, email, 0, name, NULL);
	free(lower);
	if (u == NULL)
		return -1;
	*out = u;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Endpoints: configuration and discovery.                             */

void
oa_upstream_meta_free(struct oa_upstream_meta *m)
{
	if (m == NULL)
		return;
	free(m->issuer);
	free(m->token_endpoint);
	free(m->userinfo_endpoint);
	free(m->jwks_uri);
	free(m);
}

static int
endpoint_ok(const char *url)
{
	return url != NULL && oa_url_split(url, NULL, NULL, NULL, NULL) == 0 &&
	    oa_url_is_secure_or_loopback(url);
}

/* Microsoft's multi-tenant endpoints publish an issuer with a
 * "{tenantid}" placeholder (common, organizations) or a fixed tenant id
 * (consumers): MS_ISSUER_PREFIX + one segment + MS_ISSUER_SUFFIX. */
static int
ms_issuer_ok(const struct oa_provider *prov, const char *iss)
{
	size_t n, pl = strlen(MS_ISSUER_PREFIX), sl = strlen(MS_ISSUER_SUFFIX);
	size_t i;

	if (!is_preset(prov, "microsoft") || prov->tenant == NULL ||
	    (strcmp(prov->tenant, "common") != 0 &&
	    strcmp(prov->tenant, "organizations") != 0 &&
	    strcmp(prov->tenant, "consumers") != 0))
		return 0;
	n = strlen(iss);
	if (n <= pl + sl || n - pl - sl > 64 ||
	    strncmp(iss, MS_ISSUER_PREFIX, pl) != 0 ||
	    strcmp(iss + n - sl, MS_ISSUER_SUFFIX) != 0)
		return 0;
	if (strncmp(iss + pl, "{tenantid}", n - pl - sl) == 0 &&
	    n - pl - sl == strlen("{tenantid}"))
		return 1;
	for (i = pl; i < n - sl; i++) {
		char c = iss[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == '-'))
			return 0;
	}
	return 1;
}

/* dup of the override when set, else of the document's member. */
static int
pick(char **dst, const char *override, const cJSON *doc, const char *name)
{
	const char *v = override != NULL ? override : get_str(doc, name);

	*dst = NULL;
	if (v == NULL)
		return 0;
	return (*dst = strdup(v)) == NULL ? -1 : 0;
}

/* OIDC Discovery §3: token_endpoint_auth_methods_supported defaults to
 * client_secret_basic; use _post only when it is listed and _basic not. */
static int
auth_basic(const cJSON *doc)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc,
	    "token_endpoint_auth_methods_supported"), *it;
	int basic = 0, post = 0;

	if (!cJSON_IsArray(m))
		return 1;
	cJSON_ArrayForEach(it, m) {
		if (!cJSON_IsString(it))
			continue;
		if (strcmp(it->valuestring, "client_secret_basic") == 0)
			basic = 1;
		else if (strcmp(it->valuestring, "client_secret_post") == 0)
			post = 1;
	}
	return basic || !post;
}

int
oa_upstream_discovery_parse(const struct oa_provider *prov,
    const char *json, size_t len, struct oa_upstream_meta **out)
{
	struct oa_upstream_meta *m = NULL;
	cJSON *doc = NULL;
	const char *iss;
	int rc = -1;

	if (prov == NULL || json == NULL || out == NULL)
		return -1;
	if (prov->issuer == NULL) {
		oa_log(OA_LOG_WARN, "provider %s: no issuer to check a "
		    "discovery document against", prov->name);
		return -1;
	}
	if ((doc = oa_json_parse_object(json, len)) == NULL) {
		oa_log(OA_LOG_WARN, "provider %s: the discovery document is "
		    "not a JSON object", prov->name);
		goto out;
	}
	/* OIDC Discovery §4.3: the issuer is the one we asked, exactly. */
	if ((iss = get_str(doc, "issuer")) == NULL ||
	    (strcmp(iss, prov->issuer) != 0 && !ms_issuer_ok(prov, iss))) {
		oa_log(OA_LOG_WARN, "provider %s: the discovery document's "
		    "issuer is not %s", prov->name, prov->issuer);
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->issuer = strdup(iss)) == NULL ||
	    pick(&m->token_endpoint, prov->token_endpoint, doc,
	    "token_endpoint") != 0 ||
	    pick(&m->jwks_uri, prov->jwks_uri, doc, "jwks_uri") != 0 ||
	    pick(&m->userinfo_endpoint, prov->userinfo_endpoint, doc,
	    "userinfo_endpoint") != 0) {
		oa_log(OA_LOG_ERROR, "discovery: out of memory");
		goto out;
	}
	m->iss_tenant = strstr(m->issuer, "{tenantid}") != NULL;
	m->auth_basic = auth_basic(doc);
	if (!endpoint_ok(m->token_endpoint) || !endpoint_ok(m->jwks_uri) ||
	    (m->userinfo_endpoint != NULL &&
	    !endpoint_ok(m->userinfo_endpoint))) {
		oa_log(OA_LOG_WARN, "provider %s: the discovery document "
		    "lacks an https token_endpoint or jwks_uri", prov->name);
		goto out;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	oa_upstream_meta_free(m);
	cJSON_Delete(doc);
	return rc;
}

/* What an HTTP outcome means for the sign-in. */
static enum oa_upstream_result
from_http(enum oa_http_result r, long status)
{
	switch (r) {
	case OA_HTTP_OK:
		return OA_UPSTREAM_OK;
	case OA_HTTP_STATUS:
		return status >= 500 || status == 429 ?
		    OA_UPSTREAM_UNAVAILABLE : OA_UPSTREAM_BAD;
	case OA_HTTP_INSECURE_URL:
		return OA_UPSTREAM_CONFIG;
	case OA_HTTP_CONNECT:
	case OA_HTTP_TIMEOUT:
	case OA_HTTP_TLS:
		return OA_UPSTREAM_UNAVAILABLE;
	case OA_HTTP_TOO_BIG:
	case OA_HTTP_BAD_JSON:
	case OA_HTTP_ERROR:
		break;
	}
	return OA_UPSTREAM_BAD;
}

/* GET url (bearer nullable) and keep the body of a 2xx. */
static enum oa_upstream_result
fetch(const char *url, const char *bearer, struct oa_http_resp *resp)
{
	enum oa_http_result hr;
	enum oa_upstream_result r;

	memset(resp, 0, sizeof(*resp));
	/* http.c logs every failure, a status included. */
	hr = oa_http_get(url, bearer, resp);
	r = from_http(hr, resp->status);
	if (r != OA_UPSTREAM_OK)
		oa_http_resp_free(resp);
	return r;
}

enum oa_upstream_result
oa_upstream_discover(const struct oa_conf *conf,
    const struct oa_provider *prov, time_t now, int force,
    struct oa_upstream_meta **out)
{
	struct oa_upstream_meta *m = NULL;
	struct oa_http_resp resp;
	char *cached = NULL, *url = NULL;
	size_t clen = 0, il;
	long age = 0;
	enum oa_upstream_result r;

	memset(&resp, 0, sizeof(resp));
	if (conf == NULL || prov == NULL)
		return OA_UPSTREAM_CONFIG;
	if (prov->type != OA_PROV_OIDC || prov->issuer == NULL) {
		oa_log(OA_LOG_ERROR, "provider %s: discovery needs type oidc "
		    "and an issuer", prov->name);
		return OA_UPSTREAM_CONFIG;
	}
	if (oa_upcache_read(conf, prov->name, OA_UPCACHE_DISCOVERY, now,
	    &cached, &clen, &age) == 0 && !force &&
	    oa_upcache_fresh(OA_UPCACHE_DISCOVERY, age) &&
	    oa_upstream_discovery_parse(prov, cached, clen, &m) == 0) {
		r = OA_UPSTREAM_OK;
		goto done;
	}

	/* OIDC Discovery §4: the issuer, without a trailing '/', + the
	 * well-known path. */
	il = strlen(prov->issuer);
	if (il > 0 && prov->issuer[il - 1] == '/')
		il--;
	if (asprintf(&url, "%.*s%s", (int)il, prov->issuer,
	    DISCOVERY_SUFFIX) < 0) {
		url = NULL;
		r = OA_UPSTREAM_BAD;
		goto done;
	}
	r = fetch(url, NULL, &resp);
	if (r == OA_UPSTREAM_OK) {
		if (oa_upstream_discovery_parse(prov, resp.body, resp.len,
		    &m) != 0)
			r = OA_UPSTREAM_BAD;
		else
			/* Login reads it; a failure here only costs a
			 * refetch (logged). */
			(void)oa_upcache_write(conf, prov->name,
			    OA_UPCACHE_DISCOVERY, resp.body, resp.len);
	}
	if (r != OA_UPSTREAM_OK && cached != NULL &&
	    oa_upstream_discovery_parse(prov, cached, clen, &m) == 0) {
		oa_log(OA_LOG_WARN, "provider %s: discovery failed (%s); "
		    "using the cached document of %ld s ago", prov->name,
		    oa_upstream_result_str(r), age);
		r = OA_UPSTREAM_OK;
	}
done:
	if (r == OA_UPSTREAM_OK && out != NULL) {
		*out = m;
		m = NULL;
	}
	oa_upstream_meta_free(m);
	oa_http_resp_free(&resp);
	free(cached);
	free(url);
	return r;
}

enum oa_upstream_result
oa_upstream_meta_get(const struct oa_conf *conf,
    const struct oa_provider *prov, time_t now,
    struct oa_upstream_meta **out)
{
	struct oa_upstream_meta *m;

	if (conf == NULL || prov == NULL || out == NULL)
		return OA_UPSTREAM_CONFIG;
	if (prov->type == OA_PROV_OIDC) {
		if (prov->issuer == NULL) {
			/* SECURITY 14: an ID token whose iss cannot be
			 * checked is not accepted. */
			oa_log(OA_LOG_ERROR, "provider %s: type oidc needs "
			    "issuer to check its ID tokens", prov->name);
			return OA_UPSTREAM_CONFIG;
		}
		return oa_upstream_discover(conf, prov, now, 0, out);
	}
	if (prov->type != OA_PROV_GITHUB && prov->type != OA_PROV_OAUTH2) {
		oa_log(OA_LOG_ERROR, "provider %s: no upstream endpoints for "
		    "this type", prov->name);
		return OA_UPSTREAM_CONFIG;
	}
	if (!endpoint_ok(prov->token_endpoint) ||
	    !endpoint_ok(prov->userinfo_endpoint)) {
		oa_log(OA_LOG_ERROR, "provider %s: token_endpoint and "
		    "userinfo_endpoint must be https (http only on a "
		    "loopback host)", prov->name);
		return OA_UPSTREAM_CONFIG;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->token_endpoint = strdup(prov->token_endpoint)) == NULL ||
	    (m->userinfo_endpoint = strdup(prov->userinfo_endpoint)) ==
	    NULL) {
		oa_log(OA_LOG_ERROR, "upstream: out of memory");
		oa_upstream_meta_free(m);
		return OA_UPSTREAM_BAD;
	}
	m->auth_basic = 0;
	*out = m;
	return OA_UPSTREAM_OK;
}

/* ------------------------------------------------------------------ */
/* ID tokens.                                                          */

enum oa_jwt_result
oa_upstream_id_token_verify(const struct oa_provider *prov,
    const struct oa_upstream_meta *meta, const struct oa_keyset *keys,
    const char *id_token, const char *nonce, time_t now,
    struct oa_upstream_user **out)
{
	struct oa_jwt_expect ex;
	struct oa_upstream_user *u;
	cJSON *claims = NULL;
	const char *azp;
	enum oa_jwt_result r;

	if (prov == NULL || meta == NULL || meta->issuer == NULL)
		return OA_JWT_BAD_ISS;
	if (prov->client_id == NULL)
		return OA_JWT_BAD_AUD;
	if (nonce == NULL)
		return OA_JWT_BAD_NONCE;
	memset(&ex, 0, sizeof(ex));
	ex.iss = meta->issuer;
	ex.iss_tenant = meta->iss_tenant;
	ex.aud = prov->client_id;
	ex.nonce = nonce;
	ex.now = now;
	ex.leeway = ID_TOKEN_LEEWAY;
	if ((r = oa_jwt_verify(id_token, keys, &ex, &claims)) != OA_JWT_OK)
		return r;
	/* OIDC Core §3.1.3.7 items 4-5: an azp must be us. */
	azp = get_str(claims, "azp");
	if (cJSON_GetObjectItemCaseSensitive(claims, "azp") != NULL &&
	    (azp == NULL || strcmp(azp, prov->client_id) != 0))
		r = OA_JWT_BAD_AUD;
	else if ((u = oa_upstream_user_from_claims(claims)) == NULL)
		r = OA_JWT_MALFORMED;
	else if (out != NULL)
		*out = u;
	else
		oa_upstream_user_free(u);
	cJSON_Delete(claims);
	return r;
}

/* The upstream JWKS: the cached one while fresh (unless force), else
 * fetched and cached; a stale copy when the fetch fails. *age gets the
 * age of what was used (0: just fetched). */
static enum oa_upstream_result
jwks_load(const struct oa_conf *conf, const struct oa_provider *prov,
    const struct oa_upstream_meta *meta, time_t now, int force,
    struct oa_keyset **out, long *age)
{
	struct oa_http_resp resp;
	struct oa_keyset *set = NULL;
	char *cached = NULL;
	size_t clen = 0;
	long cage = 0;
	enum oa_upstream_result r;

	memset(&resp, 0, sizeof(resp));
	if (oa_upcache_read(conf, prov->name, OA_UPCACHE_JWKS, now, &cached,
	    &clen, &cage) == 0 && !force &&
	    oa_upcache_fresh(OA_UPCACHE_JWKS, cage) &&
	    (set = oa_jwks_parse(cached, clen)) != NULL && set->n > 0) {
		*age = cage;
		r = OA_UPSTREAM_OK;
		goto done;
	}
	oa_keyset_free(set);
	set = NULL;

	r = fetch(meta->jwks_uri, NULL, &resp);
	if (r == OA_UPSTREAM_OK) {
		if ((set = oa_jwks_parse(resp.body, resp.len)) == NULL ||
		    set->n == 0) {
			oa_log(OA_LOG_WARN, "provider %s: the JWKS holds no "
			    "usable key", prov->name);
			r = OA_UPSTREAM_BAD;
		} else {
			(void)oa_upcache_write(conf, prov->name,
			    OA_UPCACHE_JWKS, resp.body, resp.len);
			*age = 0;
		}
	}
	if (r != OA_UPSTREAM_OK && cached != NULL) {
		oa_keyset_free(set);
		if ((set = oa_jwks_parse(cached, clen)) != NULL &&
		    set->n > 0) {
			oa_log(OA_LOG_WARN, "provider %s: JWKS fetch failed "
			    "(%s); using the cached one of %ld s ago",
			    prov->name, oa_upstream_result_str(r), cage);
			*age = cage;
			r = OA_UPSTREAM_OK;
		}
	}
done:
	if (r == OA_UPSTREAM_OK) {
		*out = set;
		set = NULL;
	}
	oa_keyset_free(set);
	oa_http_resp_free(&resp);
	free(cached);
	return r;
}

/* Verifies the ID token, refetching the JWKS once when its kid is
 * unknown (the upstream rotated its keys) and the cached JWKS is at
 * least OA_UPCACHE_REFETCH_MIN seconds old: a stream of tokens with
 * made-up kids cannot make us hammer the upstream. */
static enum oa_upstream_result
verify_id_token(const struct oa_conf *conf, const struct oa_provider *prov,
    const struct oa_upstream_meta *meta, const char *id_token,
    const char *nonce, time_t now, struct oa_upstream_user **out)
{
	struct oa_keyset *keys = NULL;
	enum oa_upstream_result r;
	enum oa_jwt_result jr;
	long age = 0;

	if ((r = jwks_load(conf, prov, meta, now, 0, &keys, &age)) !=
	    OA_UPSTREAM_OK)
		return r;
	jr = oa_upstream_id_token_verify(prov, meta, keys, id_token, nonce,
	    now, out);
	if (jr == OA_JWT_NO_KEY && age >= OA_UPCACHE_REFETCH_MIN) {
		oa_log(OA_LOG_INFO, "provider %s: unknown kid; fetching the "
		    "JWKS again", prov->name);
		oa_keyset_free(keys);
		keys = NULL;
		if ((r = jwks_load(conf, prov, meta, now, 1, &keys, &age)) !=
		    OA_UPSTREAM_OK)
			return r;
		jr = oa_upstream_id_token_verify(prov, meta, keys, id_token,
		    nonce, now, out);
	}
	oa_keyset_free(keys);
	if (jr != OA_JWT_OK) {
		oa_log(OA_LOG_WARN, "provider %s: ID token refused: %s",
		    prov->name, oa_jwt_result_str(jr));
		return OA_UPSTREAM_BAD;
	}
	return OA_UPSTREAM_OK;
}

/* ------------------------------------------------------------------ */
/* Apple's client secret.                                              */

char *
oa_upstream_apple_secret(const struct oa_provider *prov, time_t now)
{
	struct oa_key *key = NULL;
	cJSON *claims = NULL;
	char *tok = NULL;

	if (prov == NULL || prov->private_key_file == NULL ||
	    prov->team_id == NULL || prov->key_id == NULL ||
	    prov->client_id == NULL) {
		oa_log(OA_LOG_ERROR, "apple: team_id, key_id, client_id and "
		    "private_key_file are required");
		return NULL;
	}
	/* oa_key_load_pem refuses a key file others can read. */
	if ((key = oa_key_load_pem(prov->private_key_file)) == NULL)
		goto out;
	if (key->alg != OA_ALG_ES256 ||
	    strlen(prov->key_id) >= sizeof(key->kid)) {
		oa_log(OA_LOG_ERROR, "apple: %s is not a P-256 key, or key_id "
		    "is too long", prov->private_key_file);
		goto out;
	}
	/* Apple names the key by its own key id, not a thumbprint. */
	memcpy(key->kid, prov->key_id, strlen(prov->key_id) + 1);
	if ((claims = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(claims, "iss", prov->team_id) == NULL ||
	    cJSON_AddNumberToObject(claims, "iat", (double)now) == NULL ||
	    cJSON_AddNumberToObject(claims, "exp",
	    (double)(now + OA_APPLE_SECRET_TTL)) == NULL ||
	    cJSON_AddStringToObject(claims, "aud", APPLE_AUDIENCE) == NULL ||
	    cJSON_AddStringToObject(claims, "sub", prov->client_id) == NULL) {
		oa_log(OA_LOG_ERROR, "apple: out of memory");
		goto out;
	}
	tok = oa_jwt_sign(key, claims);
out:
	cJSON_Delete(claims);
	oa_key_free(key);
	return tok;
}

/* ------------------------------------------------------------------ */
/* The code exchange and the user.                                     */

/* RFC 6749 §4.1.3 (+ RFC 7636 §4.5): code for tokens. */
static enum oa_upstream_result
exchange(const struct oa_conf *conf, const struct oa_provider *prov,
    const struct oa_upstream_meta *meta, const char *code,
    const struct oa_login *login, time_t now, struct oa_http_token *tok)
{
	struct oa_http_resp resp;
	char *redirect = NULL, *apple = NULL, *body = NULL;
	const char *secret = prov->client_secret;
	enum oa_http_result hr;
	enum oa_upstream_result r = OA_UPSTREAM_BAD;
	int basic;

	memset(&resp, 0, sizeof(resp));
	if (is_preset(prov, "apple")) {
		if ((apple = oa_upstream_apple_secret(prov, now)) == NULL)
			return OA_UPSTREAM_CONFIG;
		secret = apple;
	}
	/* RFC 6749 §2.3.1: servers must support HTTP Basic; GitHub and
	 * most plain OAuth 2.0 servers want the secret in the body. */
	basic = prov->type == OA_PROV_OIDC && apple == NULL &&
	    secret != NULL && meta->auth_basic;
	if ((redirect = oa_upstream_callback_url(conf, prov->name)) == NULL)
		goto out;
	{
		const struct oa_kv kv[] = {
			{ "grant_type", "authorization_code" },
			{ "code", code },
			{ "redirect_uri", redirect },
			{ "code_verifier", login->verifier },
			{ "client_id", basic ? NULL : prov->client_id },
			{ "client_secret", basic ? NULL : secret },
		};
		if ((body = oa_form_encode(kv, sizeof(kv) / sizeof(kv[0]))) ==
		    NULL)
			goto out;
	}
	hr = oa_http_post_form(meta->token_endpoint, body,
	    basic ? prov->client_id : NULL, basic ? secret : NULL, &resp);
	r = from_http(hr, resp.status);
	/* RFC 6749 §5.2: errors come as 400 (or 401) with a JSON body;
	 * GitHub sends them with 200. */
	if (hr == OA_HTTP_OK || (hr == OA_HTTP_STATUS &&
	    (resp.status == 400 || resp.status == 401))) {
		/* oa_http_token_parse logs why it refuses. */
		if (oa_http_token_parse(resp.body, resp.len,
		    resp.content_type, tok) != 0)
			r = OA_UPSTREAM_BAD;
		else if (tok->error != NULL) {
			oa_log(OA_LOG_WARN, "provider %s: token endpoint "
			    "error %s", prov->name,
			    oa_valid_word(tok->error, strlen(tok->error)) ?
			    tok->error : "(unprintable)");
			oa_http_token_free(tok);
			r = OA_UPSTREAM_BAD;
		} else
			r = OA_UPSTREAM_OK;
	}
out:
	oa_http_resp_free(&resp);
	oa_secret_free(body);
	oa_secret_free(apple);
	free(redirect);
	return r;
}

/* GitHub: GET /user, then /user/emails (a 403/404 - no user:email
 * scope - leaves the email unknown). */
static enum oa_upstream_result
github_user(const struct oa_provider *prov,
    const struct oa_upstream_meta *meta, const char *access_token,
    struct oa_upstream_user **out)
{
	struct oa_http_resp ur, er;
	enum oa_http_result hr;
	enum oa_upstream_result r;
	int have_emails = 0;

	memset(&er, 0, sizeof(er));
	if ((r = fetch(meta->userinfo_endpoint, access_token, &ur)) !=
	    OA_UPSTREAM_OK)
		return r;
	if (prov->emails_endpoint != NULL) {
		hr = oa_http_get(prov->emails_endpoint, access_token, &er);
		if (hr == OA_HTTP_OK)
			have_emails = 1;
		else if (hr == OA_HTTP_STATUS &&
		    (er.status == 403 || er.status == 404))
			oa_log(OA_LOG_INFO, "github: /user/emails: status "
			    "%ld; no email", er.status);
		else {
			r = from_http(hr, er.status);
			goto out;
		}
	}
	if (oa_upstream_github_parse(ur.body, ur.len,
	    have_emails ? er.body : NULL, er.len, out) != 0)
		r = OA_UPSTREAM_BAD;
	/* Without /user/emails, /user's public email is not trusted as
	 * verified (oa_upstream_github_parse). */
out:
	oa_http_resp_free(&ur);
	oa_http_resp_free(&er);
	return r;
}

static enum oa_upstream_result
userinfo_user(const struct oa_provider *prov,
    const struct oa_upstream_meta *meta, const char *access_token,
    struct oa_upstream_user **out)
{
	struct oa_http_resp resp;
	enum oa_upstream_result r;

	if ((r = fetch(meta->userinfo_endpoint, access_token, &resp)) !=
	    OA_UPSTREAM_OK)
		return r;
	if (oa_upstream_userinfo_parse(prov, resp.body, resp.len, out) != 0)
		r = OA_UPSTREAM_BAD;
	oa_http_resp_free(&resp);
	return r;
}

enum oa_upstream_result
oa_upstream_identify(const struct oa_conf *conf,
    const struct oa_provider *prov, const char *code,
    const struct oa_login *login, const char *apple_user, time_t now,
    struct oa_upstream_user **out)
{
	struct oa_upstream_meta *meta = NULL;
	struct oa_upstream_user *u = NULL;
	struct oa_http_token tok;
	enum oa_upstream_result r;
	char *name = NULL;

	memset(&tok, 0, sizeof(tok));
	if (conf == NULL || prov == NULL || code == NULL || login == NULL ||
	    out == NULL)
		return OA_UPSTREAM_BAD;
	if ((r = oa_upstream_meta_get(conf, prov, now, &meta)) !=
	    OA_UPSTREAM_OK)
		goto out;
	if ((r = exchange(conf, prov, meta, code, login, now, &tok)) !=
	    OA_UPSTREAM_OK)
		goto out;
	switch (prov->type) {
	case OA_PROV_OIDC:
		if (tok.id_token == NULL) {
			oa_log(OA_LOG_WARN, "provider %s: the token response "
			    "has no id_token", prov->name);
			r = OA_UPSTREAM_BAD;
			break;
		}
		r = verify_id_token(conf, prov, meta, tok.id_token,
		    login->nonce, now, &u);
		/* Apple sends the name once, in the form, never in the ID
		 * token. */
		if (r == OA_UPSTREAM_OK && u->name == NULL &&
		    apple_user != NULL && is_preset(prov, "apple") &&
		    oa_upstream_apple_name(apple_user, strlen(apple_user),
		    &name) == 0) {
			u->name = name;
			name = NULL;
		}
		break;
	case OA_PROV_GITHUB:
		r = github_user(prov, meta, tok.access_token, &u);
		break;
	case OA_PROV_OAUTH2:
		r = userinfo_user(prov, meta, tok.access_token, &u);
		break;
	default:
		r = OA_UPSTREAM_CONFIG;
		break;
	}
out:
	if (r == OA_UPSTREAM_OK) {
		*out = u;
		u = NULL;
	}
	oa_upstream_user_free(u);
	oa_upstream_meta_free(meta);
	oa_http_token_free(&tok);
	free(name);
	return r;
}
