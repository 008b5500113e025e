/*
 * token_ep.c - the endpoints of token.fcgi (SPEC §2.3):
 *
 *   POST /token     authorization_code and refresh_token grants
 *                   (RFC 6749 §4.1.3, §6; RFC 7636 §4.6)
 *   POST /revoke    refresh token revocation (RFC 7009)
 *   GET|POST /logout  OIDC RP-Initiated Logout 1.0
 *   GET|POST /userinfo  OIDC Core §5.3, bearer token (RFC 6750 §2.1)
 *
 * cgi-bin/token.c is a thin main around oa_token_ep_handle(). The config
 * is loaded once, the private key ring reloaded when keys_dir changes and
 * the store opened once per process. Every JSON answer carries
 * Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1, OIDC Core
 * §3.1.3.3); errors are RFC 6749 §5.2 objects with fixed descriptions
 * that never echo input. A failing store gives 503
 * temporarily_unavailable and one log line, never a wrong answer.
 *
 * CORS (SECURITY 24): Access-Control-Allow-Origin is only ever the exact
 * Origin of the request when it is one of the client's allowed_origins
 * (never "*"), with Vary: Origin, and Access-Control-Allow-Credentials
 * only for clients whose refresh token lives in a cookie.
 *
 * The refresh cookie (SameSite=Strict, HttpOnly, Path = the issuer's
 * path) is only used when the request comes from no browser origin (a
 * top-level navigation or a non-browser client), from the issuer's own
 * origin, or from an allowed origin: a page of another origin of the same
 * site cannot make us rotate or read it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "ownauth.h"

/* Longest accepted values (bytes, decoded); the same bounds as the
 * authorization endpoint's. */
#define URI_MAX 2048
#define STATE_MAX 512
#define SCOPE_MAX 512

/* Our pages load nothing, cannot be framed and post nowhere
 * (SECURITY 22). */
#define PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; " \
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

/* How long a browser may cache a preflight answer. */
#define PREFLIGHT_MAX_AGE "600"
/* An expired id_token_hint is still a good hint (OIDC RP-Initiated
 * Logout §2): its signature and issuer are what count. */
#define HINT_LEEWAY (20L * 366 * 86400)

struct oa_token_ep {
	char *conf_path;
	struct oa_conf *conf;
	struct oa_keyring *ring;
	struct oa_db *db;
	char *issuer_origin;     /* scheme://host[:port] of the issuer */
	char *cookie_name;       /* the refresh cookie's full name */
	int conf_failed;         /* the config load failed and was logged */
	int ring_failed;
	int db_failed;
	int retry;               /* this request may retry what failed */
};

enum endpoint {
	EP_NONE = 0,
	EP_TOKEN,
	EP_REVOKE,
	EP_LOGOUT,
	EP_USERINFO,
};

/* ------------------------------------------------------------------ */
/* State.                                                              */

/* Loads the config once. 0, or -1 (logged once per process under plain
 * CGI, once per request under FastCGI, where it is tried again). */
static int
ep_conf(struct oa_token_ep *ep, int retry)
{
	if (ep->conf != NULL)
		return 0;
	if (ep->conf_failed && !retry)
		return -1;
	if (oa_conf_load_once(ep->conf_path, &ep->conf) == -1) {
		ep->conf_failed = 1;
		return -1;
	}
	if ((ep->issuer_origin = oa_url_origin(ep->conf->issuer)) == NULL ||
	    (ep->cookie_name = oa_cookie_name(ep->conf->issuer,
	    OA_REFRESH_COOKIE)) == NULL) {
		oa_log(OA_LOG_ERROR, "config: cannot derive the issuer's "
		    "origin and cookie name");
		free(ep->issuer_origin);
		ep->issuer_origin = NULL;
		oa_conf_free(ep->conf);
		ep->conf = NULL;
		ep->conf_failed = 1;
		return -1;
	}
	ep->conf_failed = 0;
	return 0;
}

/* The private key ring, reloaded when keys_dir changed. 0 or -1. */
static int
ep_ring(struct oa_token_ep *ep, int retry)
{
	struct oa_keyring *r;

	if (ep->ring != NULL && !oa_keyring_changed(ep->ring))
		return 0;
	if (ep->ring == NULL && ep->ring_failed && !retry)
		return -1;
	/* oa_keyring_load logs the one line naming the problem. A ring
	 * that fails to reload keeps the old one working. */
	if ((r = oa_keyring_load(ep->conf->keys_dir)) == NULL) {
		ep->ring_failed = 1;
		return ep->ring != NULL ? 0 : -1;
	}
	oa_keyring_free(ep->ring);
	ep->ring = r;
	ep->ring_failed = 0;
	return 0;
}

/* The store, opened once. OA_DB_OK or the failure (logged by db.c). */
static enum oa_db_rc
ep_db(struct oa_token_ep *ep)
{
	enum oa_db_rc rc;

	if (ep->db != NULL)
		return OA_DB_OK;
	/* Plain CGI: an open that failed at start is not tried again. */
	if (ep->db_failed && !ep->retry)
		return OA_DB_ERROR;
	rc = oa_db_open(ep->conf->data_dir, ep->conf->db_sync, &ep->db);
	if (rc != OA_DB_OK) {
		oa_log(OA_LOG_ERROR, "store %s: %s", ep->conf->data_dir,
		    oa_db_strerror(rc));
		ep->db = NULL;
		rc = OA_DB_FAILED(rc) ? rc : OA_DB_ERROR;
		ep->db_failed = 1;
		return rc;
	}
	ep->db_failed = 0;
	return OA_DB_OK;
}

struct oa_token_ep *
oa_token_ep_new(const char *conf_path)
{
	struct oa_token_ep *ep;

	if ((ep = calloc(1, sizeof(*ep))) == NULL)
		return NULL;
	ep->retry = 1;
	if ((ep->conf_path = strdup(conf_path ? conf_path : "")) == NULL) {
		free(ep);
		return NULL;
	}
	/* Load what the requests need now, so that the first request of a
	 * FastCGI worker is as fast as the others and a broken setup is
	 * logged at start. */
	if (ep_conf(ep, 1) == 0 && ep_ring(ep, 1) == 0)
		(void)ep_db(ep);
	return ep;
}

void
oa_token_ep_free(struct oa_token_ep *ep)
{
	if (ep == NULL)
		return;
	oa_db_close(ep->db);
	oa_keyring_free(ep->ring);
	oa_conf_free(ep->conf);
	free(ep->issuer_origin);
	free(ep->cookie_name);
	free(ep->conf_path);
	free(ep);
}

/* ------------------------------------------------------------------ */
/* Responses.                                                          */

static void
json_headers(struct oa_cgi *c)
{
	oa_cgi_header(c, "Content-Type", "application/json");
	oa_cgi_header(c, "Cache-Control", "no-store");
	oa_cgi_header(c, "Pragma", "no-cache");
	oa_cgi_header(c, "X-Content-Type-Options", "nosniff");
}

/* RFC 6749 §5.2. description is fixed text (no quote, no backslash). */
static int
oauth_error(struct oa_cgi *c, int status, const char *error,
    const char *description)
{
	oa_cgi_status(c, status);
	json_headers(c);
	oa_cgi_printf(c, "{\"error\":\"%s\",\"error_description\":\"%s\"}\n",
	    error, description);
	return 0;
}

/* The store cannot answer: 503 (SPEC §5), logged once by the caller's
 * store call and once here with what we were doing. */
static int
store_error(struct oa_cgi *c, enum oa_db_rc rc, const char *what)
{
	oa_log(OA_LOG_ERROR, "%s: store: %s", what, oa_db_strerror(rc));
	oa_cgi_header(c, "Retry-After", "5");
	return oauth_error(c, 503, "temporarily_unavailable",
	    "the server's database is not available; try again later");
}

static int
server_error(struct oa_cgi *c)
{
	return oauth_error(c, 500, "server_error",
	    "the server is misconfigured or failed; its error log says why");
}

/* The parameter problem of p as invalid_request. err_desc is built from
 * declared names and fixed phrases only (req.c). */
static int
param_error(struct oa_cgi *c, const struct oa_params *p)
{
	if (p == NULL)
		return server_error(c);
	if (p->err == OA_PARAM_TOO_LARGE)
		return oauth_error(c, 413, "invalid_request",
		    "the request body is too large");
	return oauth_error(c, 400, "invalid_request", p->err_desc);
}

/* A static HTML page (logout), with the page security headers. */
static int
page(struct oa_cgi *c, int status, const char *title, const char *text)
{
	char *html = NULL, *t = NULL, *x = NULL;
	int rc;

	if ((t = oa_html_escape(title)) == NULL ||
	    (x = oa_html_escape(text)) == NULL ||
	    asprintf(&html, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<title>%s</title>\n<style>body{font-family:system-ui,sans-serif;"
	    "max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"
	    "</style>\n</head>\n<body>\n<h1>%s</h1>\n<p>%s</p>\n"
	    "</body>\n</html>\n", t, t, x) < 0) {
		free(t);
		free(x);
		return -1;
	}
	oa_cgi_status(c, status);
	oa_cgi_header(c, "Content-Type", "text/html; charset=utf-8");
	oa_cgi_header(c, "Cache-Control", "no-store");
	oa_cgi_header(c, "Referrer-Policy", "no-referrer");
	oa_cgi_header(c, "Content-Security-Policy", PAGE_CSP);
	oa_cgi_header(c, "X-Content-Type-Options", "nosniff");
	oa_cgi_header(c, "X-Frame-Options", "DENY");
	rc = oa_cgi_body(c, html, strlen(html));
	free(html);
	free(t);
	free(x);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Request helpers.                                                    */

/* The endpoint named by the last segment of PATH_INFO. */
static enum endpoint
endpoint_of(const char *pi)
{
	const char *seg;
	size_t n = strlen(pi);

	while (n > 0 && pi[n - 1] == '/')
		n--;
	seg = pi + n;
	while (seg > pi && seg[-1] != '/')
		seg--;
	n -= (size_t)(seg - pi);
	if (n == 0 || (n == 5 && memcmp(seg, "token", 5) == 0))
		return EP_TOKEN;
	if (n == 6 && memcmp(seg, "revoke", 6) == 0)
		return EP_REVOKE;
	if (n == 6 && memcmp(seg, "logout", 6) == 0)
		return EP_LOGOUT;
	if (n == 8 && memcmp(seg, "userinfo", 8) == 0)
		return EP_USERINFO;
	return EP_NONE;
}

/*
 * Reads a form body into in and len, answering the request itself when it
 * cannot: 0 when the caller goes on, 1 when a response was written.
 */
static int
read_form(struct oa_cgi *c, const char **in, size_t *len)
{
	if (!oa_media_type_is(c->content_type, OA_FORM_TYPE)) {
		oauth_error(c, 400, "invalid_request", "the body must be "
		    "application/x-www-form-urlencoded");
		return 1;
	}
	switch (oa_cgi_read_body(c, OA_TOKEN_BODY_MAX, in, len)) {
	case OA_CGI_BODY_OK:
		return 0;
	case OA_CGI_BODY_TOO_LARGE:
		oauth_error(c, 413, "invalid_request",
		    "the request body is too large");
		return 1;
	default:
		oauth_error(c, 400, "invalid_request",
		    "the request body could not be read");
		return 1;
	}
}

static int
in_list(const struct oa_strlist *l, const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* The Origin header, or NULL when absent or empty. "null" (an opaque
 * origin) is kept: it matches nothing. */
static const char *
req_origin(const struct oa_cgi *c)
{
	return c->origin != NULL && c->origin[0] != '\0' ? c->origin : NULL;
}

/* 1 when origin is allowed for some client; *creds gets 1 when one of
 * those clients is in cookie mode. */
static int
origin_any_client(const struct oa_conf *conf, const char *origin, int *creds)
{
	size_t i;
	int found = 0;

	*creds = 0;
	for (i = 0; i < conf->n_clients; i++)
		if (in_list(&conf->clients[i].allowed_origins, origin)) {
			found = 1;
			if (conf->clients[i].refresh_delivery ==
			    OA_DELIVERY_COOKIE)
				*creds = 1;
		}
	return found;
}

/* CORS headers of an actual request for client (NULL: any client, and
 * never credentials, as for userinfo's bearer tokens). */
static void
cors(struct oa_cgi *c, const struct oa_conf *conf,
    const struct oa_client *client)
{
	const char *o = req_origin(c);
	int creds = 0, ok;

	/* The answer depends on Origin whatever it is: caches must know. */
	oa_cgi_header(c, "Vary", "Origin");
	if (o == NULL)
		return;
	if (client != NULL) {
		ok = in_list(&client->allowed_origins, o);
		creds = client->refresh_delivery == OA_DELIVERY_COOKIE;
	} else {
		ok = origin_any_client(conf, o, &creds);
		creds = 0;
	}
	if (!ok)
		return;
	oa_cgi_header(c, "Access-Control-Allow-Origin", o);
	if (creds)
		oa_cgi_header(c, "Access-Control-Allow-Credentials", "true");
}

/* OPTIONS: the CORS preflight (Fetch standard §3.2.2). Only an allowed
 * origin gets an answer with CORS headers; any other gets 403 without. */
static int
preflight(struct oa_cgi *c, const struct oa_conf *conf, enum endpoint ep)
{
	const char *o = req_origin(c), *methods, *headers;
	int creds;

	oa_cgi_header(c, "Vary", "Origin");
	if (o == NULL || !origin_any_client(conf, o, &creds)) {
		oa_cgi_status(c, 403);
		oa_cgi_header(c, "Cache-Control", "no-store");
		return 0;
	}
	switch (ep) {
	case EP_LOGOUT:
		methods = "GET, POST";
		headers = "Content-Type";
		break;
	case EP_USERINFO:
		methods = "GET, POST";
		headers = "Authorization, Content-Type";
		creds = 0;
		break;
	default:
		methods = "POST";
		headers = "Content-Type";
		break;
	}
	oa_cgi_status(c, 204);
	oa_cgi_header(c, "Access-Control-Allow-Origin", o);
	oa_cgi_header(c, "Access-Control-Allow-Methods", methods);
	oa_cgi_header(c, "Access-Control-Allow-Headers", headers);
	oa_cgi_header(c, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
	if (creds)
		oa_cgi_header(c, "Access-Control-Allow-Credentials", "true");
	oa_cgi_header(c, "Cache-Control", "no-store");
	return 0;
}

/*
 * The client of a request: client_id when given (unknown: *bad = 1), else
 * the only configured client, else NULL (*bad = 0: not identified).
 */
static const struct oa_client *
find_client(const struct oa_conf *conf, const char *client_id, int *bad)
{
	const struct oa_client *cl;

	*bad = 0;
	if (client_id != NULL) {
		if ((cl = oa_conf_client(conf, client_id)) == NULL)
			*bad = 1;
		return cl;
	}
	return conf->n_clients == 1 ? &conf->clients[0] : NULL;
}

/* 1 when the refresh cookie may be used for this request (see the top
 * of the file). */
static int
cookie_origin_ok(const struct oa_token_ep *ep, const struct oa_cgi *c,
    const struct oa_client *client)
{
	const char *o = req_origin(c);
	int creds;

	if (o == NULL || strcmp(o, ep->issuer_origin) == 0)
		return 1;
	if (client != NULL)
		return in_list(&client->allowed_origins, o);
	return origin_any_client(ep->conf, o, &creds);
}

enum cookie_get {
	CK_NONE = 0,     /* no refresh cookie */
	CK_FOUND,
	CK_DUPLICATE,    /* sent more than once: cookie tossing */
	CK_BAD,          /* an unreadable Cookie header */
	CK_ORIGIN,       /* present, but the origin may not use it */
};

/* The refresh cookie's value (a malloc'd copy into *out on CK_FOUND). */
static enum cookie_get
refresh_cookie(const struct oa_token_ep *ep, const struct oa_cgi *c,
    const struct oa_client *client, char **out)
{
	struct oa_cookies *ck = NULL;
	const char *v = NULL;
	enum cookie_get r;

	if (c->cookie == NULL || c->cookie[0] == '\0')
		return CK_NONE;
	if (oa_cookies_parse(c->cookie, strlen(c->cookie), &ck) == -1)
		return CK_BAD;
	switch (oa_cookies_get(ck, ep->cookie_name, &v)) {
	case OA_COOKIE_FOUND:
		if (v[0] == '\0' || !oa_valid_b64url(v, strlen(v)) ||
		    strlen(v) > 512)
			r = CK_NONE;   /* a cleared or foreign value */
		else if (!cookie_origin_ok(ep, c, client))
			r = CK_ORIGIN;
		else if ((*out = strdup(v)) == NULL)
			r = CK_BAD;
		else
			r = CK_FOUND;
		break;
	case OA_COOKIE_DUPLICATE:
		r = CK_DUPLICATE;
		break;
	default:
		r = CK_NONE;
		break;
	}
	oa_cookies_free(ck);
	return r;
}

/* Answers a cookie problem as invalid_request; 1 when it did. */
static int
cookie_problem(struct oa_cgi *c, enum cookie_get r)
{
	switch (r) {
	case CK_DUPLICATE:
		oauth_error(c, 400, "invalid_request", "the refresh cookie "
		    "was sent more than once; sign in again");
		return 1;
	case CK_BAD:
		oauth_error(c, 400, "invalid_request",
		    "the Cookie header is malformed");
		return 1;
	case CK_ORIGIN:
		oauth_error(c, 400, "invalid_request", "the refresh cookie "
		    "is not accepted from this origin");
		return 1;
	default:
		return 0;
	}
}

/* Adds the refresh cookie (value "" and max_age 0 clear it). 0 or -1
 * (logged; the config loader accepted the issuer, so only memory). */
static int
set_refresh_cookie(struct oa_cgi *c, const struct oa_conf *conf,
    const char *value, long max_age)
{
	char *h;
	int rc;

	if ((h = oa_cookie_header(conf->issuer, OA_REFRESH_COOKIE, value,
	    max_age, OA_SAMESITE_STRICT)) == NULL) {
		oa_log(OA_LOG_ERROR, "cannot build the refresh cookie");
		return -1;
	}
	rc = oa_cgi_header(c, "Set-Cookie", h);
	oa_secret_free(h);
	return rc;
}

/* ------------------------------------------------------------------ */
/* POST /token.                                                        */

static const struct oa_param_spec token_spec[] = {
	{"grant_type", 64, oa_valid_word, 1},
	{"code", 512, oa_valid_vschar, 0},
	{"redirect_uri", URI_MAX, oa_valid_uri, 0},
	{"code_verifier", 128, oa_valid_pkce_verifier, 0},
	{"client_id", 256, oa_valid_client_id, 0},
	{"refresh_token", 512, oa_valid_vschar, 0},
	{"scope", SCOPE_MAX, oa_valid_scope, 0},
};
#define NSPEC(a) (sizeof(a) / sizeof((a)[0]))

/* What a successful grant answers with. */
struct grant {
	struct oa_issue_out tok;
	char *refresh;          /* the new refresh token (oa_secret_free) */
	long refresh_max_age;   /* for the cookie */
	int in_cookie;          /* deliver the refresh token as a cookie */
};

/* RFC 6749 §5.1. The values are base64url and JWT text: no escaping. */
static int
grant_response(struct oa_cgi *c, const struct oa_token_ep *ep,
    const struct grant *g)
{
	char *body = NULL;
	int n;

	/* Without its cookie the response would lose the session: a 500
	 * (oa_cgi_main) instead. */
	if (g->in_cookie && set_refresh_cookie(c, ep->conf, g->refresh,
	    g->refresh_max_age) == -1)
		return -1;
	n = asprintf(&body, "{\"access_token\":\"%s\",\"token_type\":"
	    "\"Bearer\",\"expires_in\":%ld,\"id_token\":\"%s\"%s%s%s}\n",
	    g->tok.access_token, g->tok.expires_in, g->tok.id_token,
	    g->in_cookie ? "" : ",\"refresh_token\":\"",
	    g->in_cookie ? "" : g->refresh, g->in_cookie ? "" : "\"");
	if (n < 0)
		return -1;
	json_headers(c);
	oa_cgi_body(c, body, (size_t)n);
	OPENSSL_cleanse(body, (size_t)n);
	free(body);
	return 0;
}

static long
cookie_age(time_t now, time_t expires, long idle)
{
	long left = (long)(expires - now);

	if (left > idle)
		left = idle;
	return left > 0 ? left : 1;
}

/*
 * 1 when verifier's S256 (RFC 7636 §4.6) is challenge, constant time.
 * SECURITY 5 (downgrade): a code without a stored challenge never
 * matches. The store refuses to keep such a code (oa_db_code_put: BADARG
 * for a NULL or empty challenge, tests/unit/test_db.c); should one ever
 * come back without a challenge, the test here still refuses it.
 */
static int
pkce_ok(const char *verifier, const char *challenge)
{
	char *h;
	int ok;

	if (verifier == NULL || challenge == NULL || challenge[0] == '\0')
		return 0;
	if ((h = oa_sha256_b64(verifier, strlen(verifier))) == NULL)
		return 0;
	ok = oa_ct_streq(h, challenge);
	oa_secret_free(h);
	return ok;
}

static int
grant_code(struct oa_cgi *c, struct oa_token_ep *ep,
    const struct oa_client *cl, const struct oa_params *p, time_t now)
{
	const char *code = oa_params_get(p, "code");
	const char *ruri = oa_params_get(p, "redirect_uri");
	const char *verifier = oa_params_get(p, "code_verifier");
	struct oa_db_code *rec = NULL;
	struct oa_db_session_params sp;
	struct oa_db_user *user = NULL;
	struct oa_issue_in in;
	struct grant g;
	char *sid = NULL;
	enum oa_db_rc rc;
	int ret = 0;

	memset(&g, 0, sizeof(g));
	if (code == NULL || verifier == NULL)
		return oauth_error(c, 400, "invalid_request", code == NULL ?
		    "code is required" : "code_verifier is required (PKCE)");
	/* RFC 6749 §4.1.3: redirect_uri is required when the authorization
	 * request had one; the authorization endpoint lets a client with
	 * exactly one registered URI omit it, and so do we. */
	if (ruri == NULL) {
		if (cl->redirect_uris.n != 1)
			return oauth_error(c, 400, "invalid_request",
			    "redirect_uri is required");
		ruri = cl->redirect_uris.v[0];
	}
	if ((rc = ep_db(ep)) != OA_DB_OK)
		return store_error(c, rc, "token");

	/* The code is used up now, whatever happens next (single use). */
	rc = oa_db_code_take(ep->db, code, now, &rec);
	if (rc == OA_DB_USED) {
		oa_log(OA_LOG_WARN, "grant: authorization code replayed for "
		    "client %s; session %s revoked", cl->name,
		    rec != NULL && rec->sid != NULL ? rec->sid : "(none)");
		ret = oauth_error(c, 400, "invalid_grant", "the "
		    "authorization code was already used");
		goto out;
	}
	if (rc == OA_DB_NOTFOUND) {
		ret = oauth_error(c, 400, "invalid_grant", "the "
		    "authorization code is unknown or expired");
		goto out;
	}
	if (rc != OA_DB_OK) {
		ret = OA_DB_FAILED(rc) ? store_error(c, rc, "token") :
		    oauth_error(c, 400, "invalid_grant",
		    "the authorization code is not valid");
		goto out;
	}
	/* RFC 6749 §4.1.3: issued to this client, for this redirect_uri. */
	if (rec->client == NULL || strcmp(rec->client, cl->name) != 0) {
		oa_log(OA_LOG_WARN, "grant: code of client %s presented by "
		    "client %s", rec->client ? rec->client : "?", cl->name);
		ret = oauth_error(c, 400, "invalid_grant", "the "
		    "authorization code was issued to another client");
		goto out;
	}
	if (rec->redirect_uri == NULL || strcmp(rec->redirect_uri, ruri) != 0) {
		ret = oauth_error(c, 400, "invalid_grant", "redirect_uri "
		    "differs from the authorization request's");
		goto out;
	}
	/* RFC 7636 §4.6; SECURITY 5: no challenge stored is a downgrade. */
	if (!pkce_ok(verifier, rec->code_challenge)) {
		ret = oauth_error(c, 400, "invalid_grant",
		    "code_verifier does not match the code_challenge");
		goto out;
	}

	memset(&sp, 0, sizeof(sp));
	sp.user = rec->user;
	sp.client = cl->name;
	sp.auth_time = rec->auth_time;
	sp.now = now;
	sp.session_ttl = ep->conf->session_ttl;
	sp.idle_ttl = ep->conf->refresh_idle_ttl;
	sp.code = code;
	rc = oa_db_session_new(ep->db, &sp, &sid, &g.refresh);
	if (rc == OA_DB_OK)
		rc = oa_db_user_get(ep->db, rec->user, &user);
	if (rc == OA_DB_OK && user->disabled)
		rc = OA_DB_DISABLED;
	switch (rc) {
	case OA_DB_OK:
		break;
	case OA_DB_USED:
		ret = oauth_error(c, 400, "invalid_grant", "the "
		    "authorization code was already used");
		goto out;
	case OA_DB_NOTFOUND:
	case OA_DB_DISABLED:
		if (sid != NULL)
			(void)oa_db_session_revoke(ep->db, sid);
		ret = oauth_error(c, 400, "invalid_grant", "the user's "
		    "account is disabled or deleted");
		goto out;
	default:
		ret = OA_DB_FAILED(rc) ? store_error(c, rc, "token") :
		    server_error(c);
		goto out;
	}

	memset(&in, 0, sizeof(in));
	in.conf = ep->conf;
	in.client = cl;
	in.user = user;
	in.sid = sid;
	in.auth_time = rec->auth_time;
	in.nonce = rec->nonce;
	in.now = now;
	if (oa_issue_tokens(ep->ring, &in, &g.tok) == -1) {
		/* Nothing was handed out: do not leave a live session. */
		(void)oa_db_session_revoke(ep->db, sid);
		ret = server_error(c);
		goto out;
	}
	g.in_cookie = cl->refresh_delivery == OA_DELIVERY_COOKIE;
	g.refresh_max_age = cookie_age(now, now + ep->conf->session_ttl,
	    ep->conf->refresh_idle_ttl);
	oa_log(OA_LOG_INFO, "grant: code exchanged: user %s client %s "
	    "session %s", user->id, cl->name, sid);
	ret = grant_response(c, ep, &g);
out:
	oa_db_code_free(rec);
	oa_db_user_free(user);
	free(sid);
	oa_secret_free(g.refresh);
	oa_issue_out_wipe(&g.tok);
	return ret;
}

static int
grant_refresh(struct oa_cgi *c, struct oa_token_ep *ep,
    const struct oa_client *cl, const struct oa_params *p, time_t now)
{
	const char *body_rt = oa_params_get(p, "refresh_token");
	struct oa_db_refresh_params rp;
	struct oa_db_refresh_result res;
	struct oa_issue_in in;
	struct grant g;
	char *cookie_rt = NULL;
	const char *rt;
	enum cookie_get ck = CK_NONE;
	enum oa_db_rc rc;
	int ret = 0;

	memset(&g, 0, sizeof(g));
	memset(&res, 0, sizeof(res));
	/* The body first; else the cookie (cookie-mode clients, and the
	 * fragment flow, which always sets it). */
	if (body_rt == NULL) {
		ck = refresh_cookie(ep, c, cl, &cookie_rt);
		if (cookie_problem(c, ck))
			return 0;
	}
	rt = body_rt != NULL ? body_rt : cookie_rt;
	if (rt == NULL)
		return oauth_error(c, 400, "invalid_request",
		    "refresh_token is required");
	if ((rc = ep_db(ep)) != OA_DB_OK) {
		ret = store_error(c, rc, "token");
		goto out;
	}
	memset(&rp, 0, sizeof(rp));
	rp.now = now;
	rp.reuse_window = ep->conf->refresh_reuse_window;
	rp.idle_ttl = ep->conf->refresh_idle_ttl;
	rp.session_ttl = ep->conf->session_ttl;
	rc = oa_db_refresh_rotate(ep->db, rt, &rp, &res);
	if (rc != OA_DB_OK) {
		if (OA_DB_FAILED(rc)) {
			ret = store_error(c, rc, "token");
			goto out;
		}
		if (res.reuse_detected)
			oa_log(OA_LOG_WARN, "grant: refresh token reused "
			    "(client %s): its session is revoked", cl->name);
		/* A dead cookie is cleared, so the browser stops sending
		 * it. */
		if (ck == CK_FOUND)
			(void)set_refresh_cookie(c, ep->conf, "", 0);
		ret = oauth_error(c, 400, "invalid_grant", "the refresh "
		    "token is invalid, expired or revoked");
		goto out;
	}
	/* RFC 6749 §6: the token must have been issued to this client. It
	 * was just rotated, so another client holding it means a leak:
	 * the family dies. */
	if (res.session == NULL || res.user == NULL ||
	    strcmp(res.session->client, cl->name) != 0) {
		oa_log(OA_LOG_WARN, "grant: refresh token of client %s "
		    "presented by client %s: session %s revoked",
		    res.session ? res.session->client : "?", cl->name,
		    res.session ? res.session->sid : "?");
		if (res.session != NULL &&
		    OA_DB_FAILED(rc = oa_db_session_revoke(ep->db,
		    res.session->sid))) {
			ret = store_error(c, rc, "token");
			goto out;
		}
		ret = oauth_error(c, 400, "invalid_grant", "the refresh "
		    "token was issued to another client");
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.conf = ep->conf;
	in.client = cl;
	in.user = res.user;
	in.sid = res.session->sid;
	in.auth_time = res.session->auth_time;
	in.nonce = NULL;    /* OIDC Core §12.2: no nonce on refresh */
	in.now = now;
	if (oa_issue_tokens(ep->ring, &in, &g.tok) == -1) {
		ret = server_error(c);
		goto out;
	}
	g.refresh = res.token;
	res.token = NULL;
	g.in_cookie = cl->refresh_delivery == OA_DELIVERY_COOKIE ||
	    body_rt == NULL;
	g.refresh_max_age = cookie_age(now, res.session->expires,
	    ep->conf->refresh_idle_ttl);
	oa_log(OA_LOG_DEBUG, "grant: refreshed: user %s client %s session "
	    "%s%s", res.user->id, cl->name, res.session->sid,
	    res.sibling ? " (sibling)" : "");
	ret = grant_response(c, ep, &g);
out:
	oa_secret_free(cookie_rt);
	oa_secret_free(g.refresh);
	oa_issue_out_wipe(&g.tok);
	oa_db_refresh_result_wipe(&res);
	return ret;
}

/*
 * The opening shared by POST /token and POST /revoke: POST only, the
 * form body read and parsed against spec, the client found first (so
 * that even an error can be read by an allowed origin, CORS) and
 * required. Returns 1 when a response (an error) was written: *ret
 * holds the handler's return value and nothing is left to free. Returns
 * 0 with the parsed parameters in *pp (the caller frees them) and the
 * client in *clp.
 */
static int
open_client_post(struct oa_cgi *c, struct oa_token_ep *ep,
    const struct oa_param_spec *spec, size_t nspec, struct oa_params **pp,
    const struct oa_client **clp, int *ret)
{
	struct oa_params *p;
	const struct oa_client *cl;
	const char *in = NULL;
	size_t len = 0;
	int bad;

	if (strcmp(c->method, "POST") != 0) {
		oa_cgi_header(c, "Allow", "POST, OPTIONS");
		*ret = oauth_error(c, 405, "invalid_request", "use POST");
		return 1;
	}
	if (read_form(c, &in, &len)) {
		*ret = 0;
		return 1;
	}
	if ((p = oa_params_parse(spec, nspec, in, len)) == NULL) {
		*ret = server_error(c);
		return 1;
	}
	cl = find_client(ep->conf, oa_params_get(p, "client_id"), &bad);
	if (bad)
		*ret = oauth_error(c, 401, "invalid_client",
		    "unknown client_id");
	else {
		if (cl != NULL)
			cors(c, ep->conf, cl);
		if (p->err != OA_PARAM_OK)
			*ret = param_error(c, p);
		else if (cl == NULL)
			*ret = oauth_error(c, 400, "invalid_request",
			    "client_id is required");
		else {
			*pp = p;
			*clp = cl;
			return 0;
		}
	}
	oa_params_free(p);
	return 1;
}

static int
ep_token(struct oa_cgi *c, struct oa_token_ep *ep)
{
	struct oa_params *p = NULL;
	const struct oa_client *cl = NULL;
	const char *gt;
	int ret;

	if (open_client_post(c, ep, token_spec, NSPEC(token_spec), &p, &cl,
	    &ret))
		return ret;
	gt = oa_params_get(p, "grant_type");
	if (strcmp(gt, "authorization_code") == 0)
		ret = grant_code(c, ep, cl, p, time(NULL));
	else if (strcmp(gt, "refresh_token") == 0)
		ret = grant_refresh(c, ep, cl, p, time(NULL));
	else
		ret = oauth_error(c, 400, "unsupported_grant_type",
		    "grant_type must be authorization_code or refresh_token");
	oa_params_free(p);
	return ret;
}

/* ------------------------------------------------------------------ */
/* POST /revoke (RFC 7009).                                            */

static const struct oa_param_spec revoke_spec[] = {
	{"token", OA_JWT_MAX, oa_valid_vschar, 0},
	{"token_type_hint", 64, oa_valid_word, 0},
	{"client_id", 256, oa_valid_client_id, 0},
};

static int
ep_revoke(struct oa_cgi *c, struct oa_token_ep *ep)
{
	struct oa_params *p = NULL;
	const struct oa_client *cl = NULL;
	const char *tok;
	char *cookie_rt = NULL, *sid = NULL;
	enum cookie_get ck = CK_NONE;
	enum oa_db_rc rc;
	int ret = 0;

	if (open_client_post(c, ep, revoke_spec, NSPEC(revoke_spec), &p, &cl,
	    &ret))
		return ret;
	if ((tok = oa_params_get(p, "token")) == NULL) {
		ck = refresh_cookie(ep, c, cl, &cookie_rt);
		if (cookie_problem(c, ck))
			goto out;
		tok = cookie_rt;
	}
	if (tok == NULL) {
		ret = oauth_error(c, 400, "invalid_request",
		    "token is required");
		goto out;
	}
	if ((rc = ep_db(ep)) != OA_DB_OK) {
		ret = store_error(c, rc, "revoke");
		goto out;
	}
	/* RFC 7009 §2.2: an unknown or invalid token is answered 200 too.
	 * An access token (a JWT) is never in the store: it expires on its
	 * own. §2.1: a token issued to another client is not revoked, and
	 * the request is refused (§2.2.1); the cookie that carried it, if
	 * any, stays: it is that other client's live session. */
	rc = oa_db_refresh_revoke(ep->db, tok, cl->name, &sid);
	if (OA_DB_FAILED(rc)) {
		ret = store_error(c, rc, "revoke");
		goto out;
	}
	if (rc == OA_DB_INVALID) {
		oa_log(OA_LOG_WARN, "revoke: client %s presented a refresh "
		    "token of another client; nothing revoked", cl->name);
		ret = oauth_error(c, 400, "invalid_request",
		    "the token was not issued to this client");
		goto out;
	}
	if (rc == OA_DB_OK)
		oa_log(OA_LOG_INFO, "revoke: session %s revoked (client %s)",
		    sid, cl->name);
	/* The cookie that carried the token goes with it. */
	if (ck == CK_FOUND)
		(void)set_refresh_cookie(c, ep->conf, "", 0);
	json_headers(c);
	oa_cgi_printf(c, "{}\n");
out:
	free(sid);
	oa_secret_free(cookie_rt);
	oa_params_free(p);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Verifying our own tokens.                                           */

/* The token's aud when it is one string (or an array of one). */
static const char *
single_aud(const cJSON *claims)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(claims, "aud");

	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 1)
		a = cJSON_GetArrayItem(a, 0);
	return cJSON_IsString(a) ? a->valuestring : NULL;
}

/* Verifies a token we minted: our published keys (the algorithm from
 * the key), iss, exp (with leeway), and no other audience than one
 * string. Writes the claims. */
static enum oa_jwt_result
verify_ours(struct oa_token_ep *ep, const char *tok, long leeway,
    cJSON **claims)
{
	struct oa_keyset *ks;
	struct oa_jwt_expect ex;
	enum oa_jwt_result r;
	cJSON *cl = NULL;

	if ((ks = oa_keyring_published(ep->ring)) == NULL)
		return OA_JWT_NO_KEY;
	memset(&ex, 0, sizeof(ex));
	ex.iss = ep->conf->issuer;
	ex.leeway = leeway;
	r = oa_jwt_verify(tok, ks, &ex, &cl);
	oa_keyset_free_shallow(ks);
	if (r != OA_JWT_OK)
		return r;
	if (single_aud(cl) == NULL ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cl, "sub"))) {
		cJSON_Delete(cl);
		return OA_JWT_BAD_AUD;
	}
	*claims = cl;
	return OA_JWT_OK;
}

/* ------------------------------------------------------------------ */
/* GET|POST /logout (OIDC RP-Initiated Logout 1.0).                    */

/* refresh_token stays last: a GET parses all but it (see ep_logout). */
static const struct oa_param_spec logout_spec[] = {
	{"id_token_hint", OA_JWT_MAX, oa_valid_printable, 0},
	{"client_id", 256, oa_valid_client_id, 0},
	{"post_logout_redirect_uri", URI_MAX, oa_valid_uri, 0},
	{"state", STATE_MAX, oa_valid_vschar, 0},
	{"refresh_token", 512, oa_valid_vschar, 0},
};

/* 1 when the query string q has a parameter named name (not decoded). */
static int
query_has(const char *q, const char *name)
{
	size_t n = strlen(name);

	while (*q != '\0') {
		if (strncmp(q, name, n) == 0 && (q[n] == '=' || q[n] == '&' ||
		    q[n] == '\0'))
			return 1;
		if ((q = strchr(q, '&')) == NULL)
			return 0;
		q++;
	}
	return 0;
}

static int
logout_page(struct oa_cgi *c, int status, const char *text)
{
	if (page(c, status, status == 200 ? "Signed out" : "Sign-out problem",
	    text) == -1)
		return -1;
	return 0;
}

/*
 * The question a GET /logout gets when it would end the browser's session
 * (its refresh cookie) on nobody's word: no id_token_hint, or one that
 * failed. OIDC RP-Initiated Logout §2: the OP MUST ask the End-User then;
 * without asking, any page of the same site could sign the user out. The
 * form posts the same parameters back to this URL (a cross-site post
 * carries no SameSite=Strict cookie); its CSP lets it post to us and be
 * redirected on to the registered post_logout_redirect_uri.
 */
static int
logout_confirm(struct oa_cgi *c, const struct oa_token_ep *ep,
    const struct oa_client *cl, const struct oa_params *p)
{
	static const char *const keep[] = {
	    "client_id", "post_logout_redirect_uri", "state",
	};
	const char *plr = oa_params_get(p, "post_logout_redirect_uri");
	char *iss = NULL, *fa = NULL, *html = NULL, *hidden = NULL, *tmp;
	int ret = -1;

	if ((iss = oa_html_escape(ep->conf->issuer)) == NULL ||
	    (hidden = strdup("")) == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = oa_params_get(p, keep[i]);
		char *x;

		if (v == NULL)
			continue;
		if ((x = oa_html_escape(v)) == NULL)
			goto out;
		if (asprintf(&tmp, "%s<input type=\"hidden\" name=\"%s\" "
		    "value=\"%s\">\n", hidden, keep[i], x) < 0) {
			free(x);
			goto out;
		}
		free(x);
		free(hidden);
		hidden = tmp;
	}
	if (asprintf(&html, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<title>Sign out?</title>\n<style>body{font-family:system-ui,"
	    "sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;"
	    "color:#222}</style>\n</head>\n<body>\n<h1>Sign out?</h1>\n"
	    "<p>Do you want to sign out of %s? An application or a link "
	    "asked for it.</p>\n<form method=\"post\">\n%s"
	    "<button type=\"submit\">Sign out</button>\n</form>\n"
	    "</body>\n</html>\n", iss, hidden) < 0) {
		html = NULL;
		goto out;
	}
	/* Where the form posts (us), and where the post may redirect to. */
	if (cl != NULL && plr != NULL &&
	    in_list(&cl->post_logout_redirect_uris, plr))
		fa = oa_page_dev_form_action(ep->issuer_origin, plr);
	else
		fa = strdup(ep->issuer_origin);
	if (fa == NULL)
		goto out;
	oa_log(OA_LOG_INFO, "logout: no valid id_token_hint; asking the user "
	    "before ending the browser's session");
	ret = oa_page_send(c, 200, html, fa);
out:
	free(iss);
	free(fa);
	free(html);
	free(hidden);
	return ret;
}

static int
ep_logout(struct oa_cgi *c, struct oa_token_ep *ep)
{
	struct oa_params *p = NULL;
	const struct oa_client *cl = NULL;
	const char *in = NULL, *hint, *cid, *plr, *rt, *note = NULL;
	char *cookie_rt = NULL, *sid = NULL, *loc = NULL;
	cJSON *hc = NULL;
	enum oa_db_rc rc;
	size_t len = 0, nspec = NSPEC(logout_spec);
	int bad = 0, hint_bad = 0, ret = 0, status = 200;

	if (strcmp(c->method, "GET") == 0) {
		in = c->query_string;
		len = strlen(in);
		/* SPEC §2: a refresh token travels in a POST body or the
		 * cookie, never in a URL (which ends up in histories, logs
		 * and Referer headers). In a query it is not even parsed,
		 * and revokes nothing. */
		nspec--;
		if (query_has(in, "refresh_token"))
			oa_log(OA_LOG_INFO, "logout: refresh_token in the query "
			    "string ignored (send it in a POST body)");
	} else if (strcmp(c->method, "POST") == 0) {
		if (!oa_media_type_is(c->content_type, OA_FORM_TYPE))
			return logout_page(c, 400, "The sign-out request "
			    "must be a form post.");
		switch (oa_cgi_read_body(c, OA_TOKEN_BODY_MAX, &in, &len)) {
		case OA_CGI_BODY_OK:
			break;
		case OA_CGI_BODY_TOO_LARGE:
			return logout_page(c, 413, "The sign-out request is "
			    "too large.");
		default:
			return logout_page(c, 400, "The sign-out request "
			    "could not be read.");
		}
	} else {
		oa_cgi_header(c, "Allow", "GET, POST, OPTIONS");
		return logout_page(c, 405, "Use GET or POST to sign out.");
	}
	if ((p = oa_params_parse(logout_spec, nspec, in, len)) == NULL)
		return -1;
	if (p->err != OA_PARAM_OK) {
		ret = logout_page(c, p->err == OA_PARAM_TOO_LARGE ? 413 : 400,
		    p->err_desc);
		goto out;
	}
	hint = oa_params_get(p, "id_token_hint");
	cid = oa_params_get(p, "client_id");
	plr = oa_params_get(p, "post_logout_redirect_uri");
	rt = oa_params_get(p, "refresh_token");

	/* The hint: signature and issuer; expired is fine. */
	if (hint != NULL &&
	    verify_ours(ep, hint, HINT_LEEWAY, &hc) != OA_JWT_OK) {
		oa_log(OA_LOG_INFO, "logout: id_token_hint refused");
		hint_bad = 1;
	}
	/* The client: client_id, else the hint's audience (an ID token's
	 * aud is its client id), else the only client. */
	if (cid != NULL)
		cl = find_client(ep->conf, cid, &bad);
	else if (hc != NULL)
		cl = oa_conf_client(ep->conf, single_aud(hc));
	else
		cl = find_client(ep->conf, NULL, &bad);
	if (cl != NULL && hc != NULL &&
	    strcmp(single_aud(hc), cl->name) != 0) {
		/* §2: client_id and the hint must agree. */
		oa_log(OA_LOG_INFO, "logout: id_token_hint is not for client "
		    "%s", cl->name);
		hint_bad = 1;
	}
	if (cl != NULL)
		cors(c, ep->conf, cl);

	/* A GET that would end the browser's session without a valid
	 * id_token_hint asks first (logout_confirm). */
	if (strcmp(c->method, "GET") == 0 && (hc == NULL || hint_bad) &&
	    refresh_cookie(ep, c, cl, &cookie_rt) == CK_FOUND) {
		ret = logout_confirm(c, ep, cl, p);
		goto out;
	}

	if ((rc = ep_db(ep)) != OA_DB_OK) {
		oa_log(OA_LOG_ERROR, "logout: store: %s", oa_db_strerror(rc));
		ret = logout_page(c, 503, "The server cannot sign you out "
		    "right now; try again in a moment.");
		goto out;
	}
	/* The family of the refresh token (POST body or cookie). */
	if (rt == NULL) {
		/* A duplicated or unreadable cookie revokes nothing; the
		 * clearing cookie below still goes out. */
		(void)refresh_cookie(ep, c, cl, &cookie_rt);
		rt = cookie_rt;
	}
	/* Any client: signing out is the holder's to ask for (the browser's
	 * own cookie, or the token itself), and public clients prove no
	 * identity that a client check could rest on. */
	if (rt != NULL) {
		rc = oa_db_refresh_revoke(ep->db, rt, NULL, &sid);
		if (OA_DB_FAILED(rc))
			goto store_failed;
		if (rc == OA_DB_OK)
			oa_log(OA_LOG_INFO, "logout: session %s revoked", sid);
	}
	/* The session the hint names, when it is that user's. */
	if (hc != NULL && !hint_bad) {
		const cJSON *hs = cJSON_GetObjectItemCaseSensitive(hc, "sid");
		const char *sub = cJSON_GetObjectItemCaseSensitive(hc,
		    "sub")->valuestring;
		struct oa_db_session *s = NULL;

		if (cJSON_IsString(hs) && (sid == NULL ||
		    strcmp(sid, hs->valuestring) != 0)) {
			rc = oa_db_session_get(ep->db, hs->valuestring, &s);
			if (OA_DB_FAILED(rc))
				goto store_failed;
			if (rc == OA_DB_OK && strcmp(s->user, sub) == 0 &&
			    !s->revoked) {
				rc = oa_db_session_revoke(ep->db, s->sid);
				if (OA_DB_FAILED(rc)) {
					oa_db_session_free(s);
					goto store_failed;
				}
				oa_log(OA_LOG_INFO, "logout: session %s "
				    "revoked (id_token_hint)", s->sid);
			}
			oa_db_session_free(s);
		}
	}
	/* Whatever was found, the browser forgets the refresh cookie. */
	(void)set_refresh_cookie(c, ep->conf, "", 0);

	/* Redirect only to a URI registered for the identified client
	 * (exact match: never an open redirect, SECURITY 1-2). */
	if (plr != NULL) {
		if (cl != NULL && !bad && !hint_bad &&
		    in_list(&cl->post_logout_redirect_uris, plr)) {
			struct oa_kv kv[1] = {
			    {"state", oa_params_get(p, "state")},
			};

			if ((loc = oa_url_append(plr, OA_URL_QUERY, kv,
			    1)) == NULL) {
				ret = -1;
				goto out;
			}
			oa_cgi_header(c, "Cache-Control", "no-store");
			oa_cgi_header(c, "Referrer-Policy", "no-referrer");
			ret = oa_cgi_redirect(c, strcmp(c->method, "POST") ==
			    0 ? 303 : 302, loc);
			goto out;
		}
		oa_log(OA_LOG_INFO, "logout: post_logout_redirect_uri not "
		    "registered for the client; not redirecting");
		note = "You are signed out. The application's return address "
		    "is not registered, so you were not sent back to it.";
	}
	if (bad) {
		status = 400;
		note = "You are signed out, but the application that sent "
		    "you here is unknown (client_id).";
	}
	ret = logout_page(c, status, note != NULL ? note :
	    "You are signed out. You can close this page.");
	goto out;
store_failed:
	oa_log(OA_LOG_ERROR, "logout: store: %s", oa_db_strerror(rc));
	oa_cgi_reset(c);
	ret = logout_page(c, 503, "The server cannot sign you out right "
	    "now; try again in a moment.");
out:
	cJSON_Delete(hc);
	free(loc);
	free(sid);
	oa_secret_free(cookie_rt);
	oa_params_free(p);
	return ret;
}

/* ------------------------------------------------------------------ */
/* GET|POST /userinfo (OIDC Core §5.3, RFC 6750).                      */

/* RFC 6750 §3: the challenge. error NULL: no credentials were sent,
 * so the challenge carries no error code (§3.1) and the status is 401;
 * invalid_request is 400, invalid_token 401. description is fixed text. */
static int
bearer_error(struct oa_cgi *c, const char *error, const char *description)
{
	char h[256];
	int status = 401;

	if (error == NULL) {
		snprintf(h, sizeof(h), "Bearer");
		error = "invalid_request";
	} else {
		snprintf(h, sizeof(h), "Bearer error=\"%s\", "
		    "error_description=\"%s\"", error, description);
		if (strcmp(error, "invalid_request") == 0)
			status = 400;
	}
	oa_cgi_header(c, "WWW-Authenticate", h);
	return oauth_error(c, status, error, description);
}

/* The token of "Authorization: Bearer TOKEN" (RFC 6750 §2.1: b64token),
 * borrowed from the environment, or NULL. */
static const char *
bearer_token(const struct oa_cgi *c)
{
	const char *h = oa_cgi_env(c, "HTTP_AUTHORIZATION"), *t;
	size_t i;

	if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 ||
	    (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	for (t = h + 6; *t == ' ' || *t == '\t'; t++)
		;
	for (i = 0; t[i] != '\0'; i++)
		if (!isalnum((unsigned char)t[i]) &&
		    strchr("-._~+/=", t[i]) == NULL)
			return NULL;
	return i > 0 && i <= OA_JWT_MAX ? t : NULL;
}

/* 1 when aud is a configured client's audience. */
static int
is_audience(const struct oa_conf *conf, const char *aud)
{
	size_t i;

	for (i = 0; i < conf->n_clients; i++)
		if (strcmp(conf->clients[i].audience != NULL ?
		    conf->clients[i].audience : conf->clients[i].name,
		    aud) == 0)
			return 1;
	return 0;
}

static int
ep_userinfo(struct oa_cgi *c, struct oa_token_ep *ep)
{
	const char *tok;
	cJSON *claims = NULL, *out = NULL;
	struct oa_db_user *u = NULL;
	enum oa_jwt_result r;
	enum oa_db_rc rc;
	char *json = NULL;
	int ret = 0;

	if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "POST") != 0) {
		oa_cgi_header(c, "Allow", "GET, POST, OPTIONS");
		return oauth_error(c, 405, "invalid_request",
		    "use GET or POST");
	}
	cors(c, ep->conf, NULL);
	if (oa_cgi_env(c, "HTTP_AUTHORIZATION") == NULL)
		return bearer_error(c, NULL, "no bearer token");
	if ((tok = bearer_token(c)) == NULL)
		return bearer_error(c, "invalid_request", "the Authorization "
		    "header is not a Bearer token");
	/* RFC 8725: our keys only, algorithm from the key, iss, exp, and
	 * an audience that is one of ours (an access token). */
	r = verify_ours(ep, tok, 0, &claims);
	if (r == OA_JWT_OK &&
	    !is_audience(ep->conf, single_aud(claims)))
		r = OA_JWT_BAD_AUD;
	if (r != OA_JWT_OK) {
		oa_log(OA_LOG_INFO, "userinfo: token refused: %s",
		    oa_jwt_result_str(r));
		ret = bearer_error(c, "invalid_token", "the access token is "
		    "invalid or expired");
		goto out;
	}
	if ((rc = ep_db(ep)) != OA_DB_OK) {
		ret = store_error(c, rc, "userinfo");
		goto out;
	}
	rc = oa_db_user_get(ep->db, cJSON_GetObjectItemCaseSensitive(claims,
	    "sub")->valuestring, &u);
	if (OA_DB_FAILED(rc)) {
		ret = store_error(c, rc, "userinfo");
		goto out;
	}
	if (rc != OA_DB_OK || u->disabled) {
		ret = bearer_error(c, "invalid_token", "the user is "
		    "unknown or disabled");
		goto out;
	}
	if ((out = oa_issue_user_claims(u)) == NULL ||
	    (json = cJSON_PrintUnformatted(out)) == NULL) {
		ret = server_error(c);
		goto out;
	}
	json_headers(c);
	oa_cgi_body(c, json, strlen(json));
	oa_cgi_body(c, "\n", 1);
out:
	cJSON_free(json);
	cJSON_Delete(out);
	cJSON_Delete(claims);
	oa_db_user_free(u);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Dispatch.                                                           */

int
oa_token_ep_handle(struct oa_cgi *c, void *arg)
{
	struct oa_token_ep *ep = arg;
	enum endpoint which;
	/* Plain CGI: what failed at start (a moment ago, in this very
	 * process) is not tried again, so that one request logs one line. */
	int retry = c->fastcgi;

	if (ep == NULL)
		return -1;
	ep->retry = retry;
	if ((which = endpoint_of(c->path_info)) == EP_NONE)
		return oauth_error(c, 404, "invalid_request", "this program "
		    "serves /token, /revoke, /logout and /userinfo");
	if (ep_conf(ep, retry) == -1 || ep_ring(ep, retry) == -1) {
		if (which == EP_LOGOUT)
			return logout_page(c, 500, "The server is "
			    "misconfigured; its error log says why.");
		return server_error(c);
	}
	if (strcmp(c->method, "OPTIONS") == 0)
		return preflight(c, ep->conf, which);
	switch (which) {
	case EP_TOKEN:
		return ep_token(c, ep);
	case EP_REVOKE:
		return ep_revoke(c, ep);
	case EP_LOGOUT:
		return ep_logout(c, ep);
	case EP_USERINFO:
		return ep_userinfo(c, ep);
	default:
		return -1;
	}
}
