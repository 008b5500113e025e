/*
 * upstream_ep.c - a provider's upstream authorization endpoint: where it
 * is, and the authorization request login.fcgi sends the browser to.
 *
 * The endpoint comes from, first match: the provider's
 * authorization_endpoint setting (conf.c also fills in GitHub's); the
 * built-in endpoint of a preset (google, microsoft, gitlab, apple); the
 * discovery document cached at {data_dir}/upstream/{provider}
 * .discovery.json. login.fcgi makes no HTTP request at all (it links
 * neither libcurl nor Berkeley DB, and a login redirect stays as cheap
 * as a static answer), so the cache is written by callback.fcgi, which
 * does talk to the upstream. The discovery round trip on a cache miss:
 *
 *   1. login:    GET {issuer}/oauth/{p}?{query}
 *                -> 302 {issuer}/oauth/{p}/callback?discover=1&{query}
 *   2. callback: fetches {p.issuer}/.well-known/openid-configuration,
 *                checks it and writes the cache file, then
 *                -> 302 {issuer}/oauth/{p}?{query}&discovered=1
 *   3. login:    reads the cache and goes on to the upstream; when the
 *                request carries discovered=1 and there is still no
 *                usable document, it answers 502 instead of starting
 *                the trip again, so a browser can never loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ownauth.h"

/* Built-in endpoints of the presets whose endpoint conf.c leaves unset
 * (GitHub's is set by conf.c). Microsoft's has the tenant in it. */
#define GOOGLE_AUTHORIZE "https://accounts.google.com/o/oauth2/v2/auth"
#define MICROSOFT_AUTHORIZE_FMT \
	"https://login.microsoftonline.com/%s/oauth2/v2.0/authorize"
#define GITLAB_AUTHORIZE "https://gitlab.com/oauth/authorize"
#define APPLE_AUTHORIZE "https://appleid.apple.com/auth/authorize"

static int
is_preset(const struct oa_provider *prov, const char *name)
{
	return prov->preset != NULL && strcmp(prov->preset, name) == 0;
}

/* An endpoint URL we may send a browser to: https (or loopback http),
 * no userinfo, no fragment (oa_url_split refuses both). */
static int
endpoint_ok(const char *url)
{
	return url != NULL && oa_url_split(url, NULL, NULL, NULL, NULL) == 0 &&
	    oa_url_is_secure_or_loopback(url);
}

char *
oa_upstream_discovery_path(const struct oa_conf *conf, const char *provider)
{
	char *path = NULL;

	if (conf == NULL || conf->data_dir == NULL || provider == NULL ||
	    provider[0] == '\0' || strchr(provider, '/') != NULL ||
	    provider[0] == '.')
		return NULL;
	if (asprintf(&path, "%s/%s/%s.discovery.json", conf->data_dir,
	    OA_UPSTREAM_DIR, provider) < 0)
		return NULL;
	return path;
}

int
oa_upstream_discovery_check(const struct oa_provider *prov,
    const char *json, size_t len, char **endpoint)
{
	cJSON *doc = NULL;
	const cJSON *iss, *ae;
	int rc = -1;

	if (prov == NULL || json == NULL)
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
	/* OIDC Discovery §4.3: the issuer must be the one we asked. */
	iss = cJSON_GetObjectItemCaseSensitive(doc, "issuer");
	if (!cJSON_IsString(iss) || iss->valuestring == NULL ||
	    strcmp(iss->valuestring, prov->issuer) != 0) {
		oa_log(OA_LOG_WARN, "provider %s: the discovery document's "
		    "issuer is not %s", prov->name, prov->issuer);
		goto out;
	}
	ae = cJSON_GetObjectItemCaseSensitive(doc, "authorization_endpoint");
	if (!cJSON_IsString(ae) || ae->valuestring == NULL ||
	    !endpoint_ok(ae->valuestring)) {
		oa_log(OA_LOG_WARN, "provider %s: the discovery document has "
		    "no https authorization_endpoint", prov->name);
		goto out;
	}
	if (endpoint != NULL && (*endpoint = strdup(ae->valuestring)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_upstream_discovery_check: out of "
		    "memory");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

/* The endpoint from the cached discovery document. */
static enum oa_upstream_ep
from_discovery(const struct oa_conf *conf, const struct oa_provider *prov,
    char **out)
{
	char *path = NULL, *text = NULL;
	size_t len = 0;
	enum oa_upstream_ep r = OA_UPSTREAM_EP_MISSING;

	if ((path = oa_upstream_discovery_path(conf, prov->name)) == NULL) {
		oa_log(OA_LOG_ERROR, "provider %s: no discovery cache path",
		    prov->name);
		return OA_UPSTREAM_EP_ERROR;
	}
	if (oa_file_read(path, OA_DISCOVERY_MAX, &text, &len) == -1) {
		if (errno != ENOENT)
			oa_log(OA_LOG_WARN, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (oa_upstream_discovery_check(prov, text, len, out) == 0)
		r = OA_UPSTREAM_EP_OK;
	else
		oa_log(OA_LOG_WARN, "%s: not usable; discovering again",
		    path);
out:
	free(path);
	free(text);
	return r;
}

enum oa_upstream_ep
oa_upstream_authorization_endpoint(const struct oa_conf *conf,
    const struct oa_provider *prov, char **out)
{
	const char *builtin = NULL;
	char *url = NULL;

	if (conf == NULL || prov == NULL || out == NULL)
		return OA_UPSTREAM_EP_ERROR;
	if (prov->authorization_endpoint != NULL)
		builtin = prov->authorization_endpoint;
	else if (is_preset(prov, "google"))
		builtin = GOOGLE_AUTHORIZE;
	else if (is_preset(prov, "gitlab"))
		builtin = GITLAB_AUTHORIZE;
	else if (is_preset(prov, "apple"))
		builtin = APPLE_AUTHORIZE;
	else if (is_preset(prov, "microsoft")) {
		/* conf.c checked the tenant: [A-Za-z0-9_-.]; default common. */
		if (asprintf(&url, MICROSOFT_AUTHORIZE_FMT,
		    prov->tenant != NULL ? prov->tenant : "common") < 0)
			return OA_UPSTREAM_EP_ERROR;
	}
	if (builtin != NULL && (url = strdup(builtin)) == NULL)
		return OA_UPSTREAM_EP_ERROR;
	if (url == NULL)
		return from_discovery(conf, prov, out);
	if (!endpoint_ok(url)) {
		oa_log(OA_LOG_ERROR, "provider %s: the authorization endpoint "
		    "must be https (http only on a loopback host)", prov->name);
		free(url);
		return OA_UPSTREAM_EP_ERROR;
	}
	*out = url;
	return OA_UPSTREAM_EP_OK;
}

char *
oa_upstream_callback_url(const struct oa_conf *conf, const char *provider)
{
	char *url = NULL;

	if (conf == NULL || conf->issuer == NULL || provider == NULL)
		return NULL;
	if (asprintf(&url, "%s/oauth/%s/callback", conf->issuer,
	    provider) < 0)
		return NULL;
	return url;
}

char *
oa_upstream_discover_url(const struct oa_conf *conf, const char *provider,
    const char *query)
{
	char *cb, *url = NULL;

	if ((cb = oa_upstream_callback_url(conf, provider)) == NULL)
		return NULL;
	if (asprintf(&url, "%s?discover=1%s%s", cb,
	    query != NULL && query[0] != '\0' ? "&" : "",
	    query != NULL ? query : "") < 0)
		url = NULL;
	free(cb);
	return url;
}

int
oa_upstream_prompt_none_ok(const struct oa_provider *prov)
{
	return prov != NULL && prov->type == OA_PROV_OIDC &&
	    !is_preset(prov, "apple");
}

/*
 * The prompt to send to prov for the client's prompt (nullable), as a
 * pointer into a static string or into prompt itself, or NULL for none.
 * Google knows none, consent and select_account (not login: it is the
 * closest, select_account, that forces a new choice); GitHub knows
 * select_account only; Apple and generic oauth2 upstreams get nothing.
 */
static const char *
upstream_prompt(const struct oa_provider *prov, const char *prompt)
{
	if (prompt == NULL)
		return NULL;
	if (is_preset(prov, "apple") || prov->type == OA_PROV_OAUTH2 ||
	    prov->type == OA_PROV_DEV)
		return NULL;
	if (prov->type == OA_PROV_GITHUB)
		return strstr(prompt, "select_account") != NULL ||
		    strstr(prompt, "login") != NULL ? "select_account" : NULL;
	if (is_preset(prov, "google")) {
		if (strcmp(prompt, "none") == 0)
			return "none";
		if (strstr(prompt, "consent") != NULL)
			return strstr(prompt, "login") != NULL ||
			    strstr(prompt, "select_account") != NULL ?
			    "consent select_account" : "consent";
		if (strstr(prompt, "login") != NULL ||
		    strstr(prompt, "select_account") != NULL)
			return "select_account";
		return NULL;
	}
	return prompt;
}

char *
oa_upstream_authorize_url(const struct oa_conf *conf,
    const struct oa_provider *prov, const char *endpoint,
    const struct oa_login *login, const char *prompt,
    const char *login_hint)
{
	char *redirect = NULL, *challenge = NULL, *url = NULL;
	char buf[512];   /* the callback URL, when it fits */
	const char *hint_name = "login_hint";
	int apple, n;

	if (conf == NULL || prov == NULL || endpoint == NULL ||
	    login == NULL || login->state == NULL) {
		oa_log(OA_LOG_ERROR, "oa_upstream_authorize_url: bad arguments");
		return NULL;
	}
	apple = is_preset(prov, "apple");
	/* GitHub's hint parameter is "login". */
	if (prov->type == OA_PROV_GITHUB)
		hint_name = "login";
	else if (apple || prov->type == OA_PROV_OAUTH2)
		login_hint = NULL;
	/* oa_upstream_callback_url(), on the stack when it fits. */
	if (conf->issuer == NULL || prov->name == NULL)
		goto out;
	n = snprintf(buf, sizeof(buf), "%s/oauth/%s/callback", conf->issuer,
	    prov->name);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(buf) &&
	    (redirect = oa_upstream_callback_url(conf, prov->name)) == NULL)
		goto out;
	/* RFC 7636 §4.2: S256 = BASE64URL(SHA256(ASCII(verifier))). */
	if (login->verifier != NULL && (challenge =
	    oa_sha256_b64(login->verifier, strlen(login->verifier))) == NULL)
		goto out;
	{
		const struct oa_kv kv[] = {
			{ "response_type", "code" },
			{ "client_id", prov->client_id },
			{ "redirect_uri", redirect != NULL ? redirect : buf },
			{ "scope", prov->scope },
			{ "state", login->state },
			{ "nonce", login->nonce },
			{ "code_challenge", challenge },
			{ "code_challenge_method",
			    challenge != NULL ? "S256" : NULL },
			/* Apple returns the code by POST when scopes are
			 * asked for (its callback accepts POST). */
			{ "response_mode", apple ? "form_post" : NULL },
			{ "prompt", upstream_prompt(prov, prompt) },
			{ hint_name, login_hint },
		};
		url = oa_url_append(endpoint, OA_URL_QUERY, kv,
		    sizeof(kv) / sizeof(kv[0]));
	}
out:
	if (url == NULL)
		oa_log(OA_LOG_ERROR, "provider %s: cannot build the upstream "
		    "authorization URL", prov->name);
	free(redirect);
	oa_secret_free(challenge);
	return url;
}
