/*
 * signin.c - the callback endpoint (SPEC §2.2): the upstream provider
 * sends the browser back here, and we finish the sign-in the client
 * asked for.
 *
 *   1. the in-flight login: found by the upstream's state in the sealed
 *      login cookie (SECURITY 3: bound to this browser), taken out of it
 *      (the cookie is rewritten without it), checked against the
 *      callback's provider (SECURITY 4, RFC 9700 §4.4: mix-up), and
 *      consumed in the store too, so that a replayed callback with an
 *      old copy of the cookie is refused;
 *   2. until the client and its redirect URI are re-established from
 *      the configuration, problems get an error page (SECURITY 2); after
 *      that, an OAuth error response to the client (RFC 6749 §4.1.2.1)
 *      - but a failing store gets a 503 page;
 *   3. the upstream's answer becomes a user (upstream.c), the user an
 *      account in the store (oa_db_identity_login: identity by provider
 *      and subject, SECURITY 17), and the account the authorization
 *      response: a one-time code, or for response_type=token the tokens
 *      in the fragment (SECURITY 7) and the refresh token in a cookie.
 *
 * Also: the discovery round trip of upstream_ep.c (discover=1), and
 * the re-post of a form_post response (Apple) that arrived without the
 * login cookie: a cross-site POST does not carry a SameSite=Lax cookie,
 * so a tiny page posts the same fields again from our own origin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ownauth.h"

#define CODE_TTL 60          /* SECURITY 8: codes live <= 60 s */
#define CODE_BYTES 32        /* 256 bits (>= 128) */

/* What the upstream (or the dev form) may send back. Unknown names
 * (error_description, error_uri, session_state...) are ignored. */
static const struct oa_param_spec cb_spec[] = {
	{ "state", 256, oa_valid_vschar, 0 },
	{ "code", 4096, oa_valid_vschar, 0 },
	{ "error", 128, oa_valid_word, 0 },
	{ "iss", 2048, oa_valid_uri, 0 },      /* RFC 9207 */
	{ "user", 4096, oa_valid_text, 0 },    /* Apple, first sign-in */
	{ "email", 254, oa_valid_printable, 0 }, /* type dev */
	{ "name", 256, oa_valid_text, 0 },     /* type dev */
	{ "oa_repost", 1, oa_valid_word, 0 },  /* our own re-post */
};
enum { P_STATE, P_CODE, P_ERROR, P_ISS, P_USER, P_EMAIL, P_NAME, P_REPOST,
	P_COUNT };

static const struct oa_param_spec discover_spec[] = {
	{ "discover", 8, oa_valid_word, 0 },
};

/* The request being answered. */
struct cb {
	struct oa_cgi *c;
	struct oa_signin *s;
	const struct oa_provider *prov;
	int post;
	time_t now;
	struct oa_params *params;
	struct oa_login *login;           /* taken from the cookie */
	const struct oa_client *client;   /* re-established from conf */
	int fragment;                     /* response_type=token */
};

static const char *
param(const struct cb *cb, int i)
{
	return cb->params != NULL ? cb->params->v[i] : NULL;
}

/* A 302 with the headers every redirect of ours carries: the URL may
 * hold a code or tokens. */
static int
redirect(struct oa_cgi *c, const char *location)
{
	if (location == NULL)
		return -1;
	if (oa_cgi_header(c, "Cache-Control", "no-store") == -1 ||
	    oa_cgi_header(c, "Referrer-Policy", "no-referrer") == -1)
		return -1;
	return oa_cgi_redirect(c, 302, location);
}

/* The OAuth error response to the client's (re-checked) redirect URI,
 * with its state and our iss (RFC 9207). */
static int
error_redirect(struct cb *cb, const char *error, const char *description)
{
	char *loc;
	int rc;

	oa_log(OA_LOG_INFO, "sign-in with %s for client %s: %s",
	    cb->prov->name, cb->client->name, error);
	loc = oa_authz_error_location(cb->login->redirect_uri, cb->fragment,
	    error, description, cb->login->client_state,
	    cb->s->conf->issuer);
	rc = redirect(cb->c, loc);
	free(loc);
	return rc;
}

static int
store_failed(struct cb *cb, enum oa_db_rc rc)
{
	/* The store logged the reason. */
	(void)rc;
	return oa_page_error(cb->c, 503, "temporarily_unavailable",
	    "the sign-in service's storage is unavailable; try again later");
}

/* Answers a store call that recorded part of a sign-in (WHAT names it in
 * the log): 0 when RC is OA_DB_OK, else -1 with *RET set to the answer
 * sent — a 503 page when the store failed, access_denied for a disabled
 * account, server_error for anything else. */
static int
store_refused(struct cb *cb, enum oa_db_rc rc, const char *what, int *ret)
{
	if (rc == OA_DB_OK)
		return 0;
	if (OA_DB_FAILED(rc))
		*ret = store_failed(cb, rc);
	else if (rc == OA_DB_DISABLED)
		*ret = error_redirect(cb, "access_denied", "this account is "
		    "disabled");
	else {
		oa_log(OA_LOG_ERROR, "%s: %s", what, oa_db_strerror(rc));
		*ret = error_redirect(cb, "server_error", "the sign-in could "
		    "not be recorded");
	}
	return -1;
}

/* Opens the store on first need (kept for the next requests). */
static enum oa_db_rc
db_ready(struct oa_signin *s)
{
	if (s->db != NULL)
		return OA_DB_OK;
	return oa_db_open(s->conf->data_dir, s->conf->db_sync, &s->db);
}

/* The provider named by PATH_INFO ".../{provider}" or
 * ".../{provider}/callback", or NULL. */
static const struct oa_provider *
path_provider(const struct oa_conf *conf, const char *path)
{
	const char *end = path + strlen(path), *seg;
	char name[65];
	size_t n;

	seg = end;
	while (seg > path && seg[-1] != '/')
		seg--;
	if (strcmp(seg, "callback") == 0 && seg > path + 1) {
		end = seg - 1;          /* the '/' before "callback" */
		seg = end;
		while (seg > path && seg[-1] != '/')
			seg--;
	}
	n = (size_t)(end - seg);
	if (n == 0 || n >= sizeof(name))
		return NULL;
	memcpy(name, seg, n);
	name[n] = '\0';
	return oa_conf_provider(conf, name);
}

/* ------------------------------------------------------------------ */
/* The discovery round trip.                                           */

/* 1 when the cached discovery document is fresh and login can use it. */
static int
login_doc_usable(const struct oa_conf *conf, const struct oa_provider *prov,
    time_t now)
{
	char *doc = NULL;
	size_t len = 0;
	long age = 0;
	int ok = 0;

	if (oa_upcache_read(conf, prov->name, OA_UPCACHE_DISCOVERY, now, &doc,
	    &len, &age) == 0)
		ok = oa_upcache_fresh(OA_UPCACHE_DISCOVERY, age) &&
		    oa_upstream_discovery_check(prov, doc, len, NULL) == 0;
	free(doc);
	return ok;
}

/*
 * The query to send back to login: the query string minus discover and
 * discovered (login's own oa_authz_query() output: percent-encoded, so
 * only unreserved characters, '%', '=' and '&'). Anything else is
 * refused: it is going into a Location header. Malloc'd, or NULL.
 */
static char *
back_query(const char *q)
{
	const char *p = q, *amp;
	char *out;
	size_t n, o = 0, i, k;

	if (strlen(q) > OA_PARAMS_MAX_INPUT)
		return NULL;
	for (i = 0; q[i] != '\0'; i++) {
		char ch = q[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~%=&+", ch) != NULL))
			return NULL;
	}
	if ((out = malloc(strlen(q) + 1)) == NULL)
		return NULL;
	while (*p != '\0') {
		amp = strchr(p, '&');
		n = amp != NULL ? (size_t)(amp - p) : strlen(p);
		for (k = 0; k < n && p[k] != '='; k++)
			;
		if (n > 0 && !(k == 8 && strncmp(p, "discover", 8) == 0) &&
		    !(k == 10 && strncmp(p, "discovered", 10) == 0)) {
			if (o > 0)
				out[o++] = '&';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	out[o] = '\0';
	return out;
}

static int
discover(struct oa_cgi *c, struct oa_signin *s,
    const struct oa_provider *prov, time_t now)
{
	const struct oa_conf *conf = s->conf;
	enum oa_upstream_result r;
	char *q = NULL, *url = NULL;
	int rc = -1;

	if (prov->type != OA_PROV_OIDC || prov->issuer == NULL)
		return oa_page_error(c, 400, "invalid_request", "this sign-in "
		    "provider has no discovery document");
	if ((q = back_query(c->query_string)) == NULL) {
		rc = oa_page_error(c, 400, "invalid_request", "malformed "
		    "request");
		goto out;
	}
	/* Fetch only when login could not use what is cached: a stream of
	 * discover=1 requests cannot make us hammer the upstream. */
	r = oa_upstream_discover(conf, prov, now,
	    !login_doc_usable(conf, prov, now), NULL);
	if (r != OA_UPSTREAM_OK) {
		oa_log(OA_LOG_ERROR, "provider %s: discovery failed: %s",
		    prov->name, oa_upstream_result_str(r));
		rc = oa_page_error(c, 502, "temporarily_unavailable",
		    "the sign-in provider's configuration could not be "
		    "loaded; try again later");
		goto out;
	}
	if (asprintf(&url, "%s/oauth/%s?%s%sdiscovered=1", conf->issuer,
	    prov->name, q, q[0] != '\0' ? "&" : "") < 0) {
		url = NULL;
		goto out;
	}
	rc = redirect(c, url);
out:
	free(q);
	free(url);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The form_post re-post.                                              */

#define REPOST_SCRIPT "document.forms[0].submit();"

static int
sb_addf(char **buf, const char *s)
{
	char *n = NULL;

	if (*buf == NULL)
		return -1;
	if (asprintf(&n, "%s%s", *buf, s) < 0) {
		oa_secret_free(*buf);
		*buf = NULL;
		return -1;
	}
	oa_secret_free(*buf);
	*buf = n;
	return 0;
}

static int
add_hidden(char **buf, const char *name, const char *value)
{
	char *e;
	int rc;

	if (value == NULL)
		return 0;
	if ((e = oa_html_escape(value)) == NULL)
		return -1;
	rc = sb_addf(buf, "<input type=\"hidden\" name=\"") ||
	    sb_addf(buf, name) || sb_addf(buf, "\" value=\"") ||
	    sb_addf(buf, e) || sb_addf(buf, "\">\n");
	oa_secret_free(e);
	return rc ? -1 : 0;
}

/*
 * A form_post response (Apple posts from its own site) comes without
 * our SameSite=Lax login cookie. The page posts the same fields to the
 * same URL from our origin, where the cookie is sent; oa_repost=1 marks
 * the second round so that it can never loop. The one inline script is
 * allowed by its hash (CSP3), nothing else runs.
 */
static int
repost(struct cb *cb)
{
	unsigned char h[32];
	char hb64[48], *csp = NULL, *html = NULL, *action = NULL, *ea = NULL;
	int rc = -1;

	if ((action = oa_upstream_callback_url(cb->s->conf,
	    cb->prov->name)) == NULL || (ea = oa_html_escape(action)) == NULL)
		goto out;
	oa_sha256(REPOST_SCRIPT, strlen(REPOST_SCRIPT), h);
	EVP_EncodeBlock((unsigned char *)hb64, h, sizeof(h));
	if (asprintf(&csp, "default-src 'none'; script-src 'sha256-%s'; "
	    "style-src 'unsafe-inline'; frame-ancestors 'none'; "
	    "base-uri 'none'", hb64) < 0) {
		csp = NULL;
		goto out;
	}
	if (asprintf(&html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n"
	    "<title>Signing in</title>\n</head>\n<body>\n"
	    "<form method=\"post\" action=\"%s\">\n", ea) < 0) {
		html = NULL;
		goto out;
	}
	if (add_hidden(&html, "state", param(cb, P_STATE)) ||
	    add_hidden(&html, "code", param(cb, P_CODE)) ||
	    add_hidden(&html, "error", param(cb, P_ERROR)) ||
	    add_hidden(&html, "iss", param(cb, P_ISS)) ||
	    add_hidden(&html, "user", param(cb, P_USER)) ||
	    add_hidden(&html, "oa_repost", "1") ||
	    sb_addf(&html, "<noscript><p>Press Continue to finish signing "
	    "in.</p><button type=\"submit\">Continue</button></noscript>\n"
	    "</form>\n<script>" REPOST_SCRIPT "</script>\n</body>\n"
	    "</html>\n"))
		goto out;
	if (oa_cgi_status(cb->c, 200) == -1 ||
	    oa_cgi_header(cb->c, "Content-Type", "text/html; charset=utf-8") ||
	    oa_cgi_header(cb->c, "Cache-Control", "no-store") ||
	    oa_cgi_header(cb->c, "Referrer-Policy", "no-referrer") ||
	    oa_cgi_header(cb->c, "Content-Security-Policy", csp) ||
	    oa_cgi_header(cb->c, "X-Content-Type-Options", "nosniff") ||
	    oa_cgi_header(cb->c, "X-Frame-Options", "DENY") ||
	    oa_cgi_body(cb->c, html, strlen(html)))
		goto out;
	rc = 0;
out:
	free(action);
	free(ea);
	free(csp);
	oa_secret_free(html);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The authorization response.                                         */

/* response_type=code: RFC 6749 §4.1.2, RFC 9207. */
static int
finish_code(struct cb *cb, const struct oa_db_user *user)
{
	const struct oa_login *l = cb->login;
	struct oa_db_code rec;
	enum oa_db_rc rc;
	char *code = NULL, *loc = NULL;
	int ret = -1;

	if (l->code_challenge == NULL) {
		/* login.fcgi requires S256 for code (SECURITY 5). */
		oa_log(OA_LOG_ERROR, "login of client %s has no code "
		    "challenge", cb->client->name);
		return error_redirect(cb, "server_error", "the sign-in "
		    "request lost its PKCE challenge");
	}
	if ((code = oa_random_token(CODE_BYTES)) == NULL)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.client = cb->client->name;
	rec.redirect_uri = l->redirect_uri;
	rec.code_challenge = l->code_challenge;
	rec.nonce = l->client_nonce;
	rec.scope = l->scope;
	rec.user = user->id;
	rec.auth_time = cb->now;
	rec.expires = cb->now + CODE_TTL;
	rc = oa_db_code_put(cb->s->db, code, &rec);
	if (store_refused(cb, rc, "storing a code", &ret) != 0)
		goto out;
	{
		const struct oa_kv kv[] = {
			{ "code", code },
			{ "state", l->client_state },
			{ "iss", cb->s->conf->issuer },
		};
		loc = oa_url_append(l->redirect_uri, OA_URL_QUERY, kv,
		    sizeof(kv) / sizeof(kv[0]));
	}
	ret = redirect(cb->c, loc);
	if (ret == 0)
		oa_log(OA_LOG_INFO, "user %s signed in with %s for client %s",
		    user->id, cb->prov->name, cb->client->name);
out:
	oa_secret_free(code);
	oa_secret_free(loc);
	return ret;
}

/* response_type=token: RFC 6749 §4.2.2, tokens in the fragment only
 * (SECURITY 7); the refresh token as an HttpOnly SameSite=Strict cookie. */
static int
finish_token(struct cb *cb, const struct oa_db_user *user)
{
	const struct oa_conf *conf = cb->s->conf;
	const struct oa_login *l = cb->login;
	struct oa_db_session_params sp;
	struct oa_issue_in in;
	struct oa_issue_out out;
	enum oa_db_rc rc;
	char *sid = NULL, *refresh = NULL, *loc = NULL, *cookie = NULL;
	char expires[32];
	int ret = -1;

	memset(&out, 0, sizeof(out));
	memset(&sp, 0, sizeof(sp));
	sp.user = user->id;
	sp.client = cb->client->name;
	sp.auth_time = cb->now;
	sp.now = cb->now;
	sp.session_ttl = conf->session_ttl;
	sp.idle_ttl = conf->refresh_idle_ttl;
	rc = oa_db_session_new(cb->s->db, &sp, &sid, &refresh);
	if (store_refused(cb, rc, "creating a session", &ret) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.conf = conf;
	in.client = cb->client;
	in.user = user;
	in.sid = sid;
	in.auth_time = cb->now;
	in.nonce = l->client_nonce;
	in.now = cb->now;
	if (oa_issue_tokens(cb->s->ring, &in, &out) != 0) {
		/* Nothing was handed out: leave no live session. */
		(void)oa_db_session_revoke(cb->s->db, sid);
		ret = error_redirect(cb, "server_error", "no token could be "
		    "signed");
		goto out;
	}
	snprintf(expires, sizeof(expires), "%ld", out.expires_in);
	{
		const struct oa_kv kv[] = {
			{ "access_token", out.access_token },
			{ "id_token", out.id_token },
			{ "token_type", "Bearer" },
			{ "expires_in", expires },
			{ "state", l->client_state },
			{ "iss", conf->issuer },
		};
		loc = oa_url_append(l->redirect_uri, OA_URL_FRAGMENT, kv,
		    sizeof(kv) / sizeof(kv[0]));
	}
	/* The refresh token dies unused after refresh_idle_ttl (as
	 * token.fcgi sets it). */
	if (loc == NULL || (cookie = oa_cookie_header(conf->issuer,
	    OA_REFRESH_COOKIE, refresh, conf->refresh_idle_ttl <
	    conf->session_ttl ? conf->refresh_idle_ttl : conf->session_ttl,
	    OA_SAMESITE_STRICT)) == NULL ||
	    oa_cgi_header(cb->c, "Set-Cookie", cookie) == -1)
		goto out;
	ret = redirect(cb->c, loc);
	if (ret == 0)
		oa_log(OA_LOG_INFO, "user %s signed in with %s for client %s "
		    "(token response)", user->id, cb->prov->name,
		    cb->client->name);
out:
	oa_issue_out_wipe(&out);
	free(sid);
	oa_secret_free(refresh);
	oa_secret_free(loc);
	oa_secret_free(cookie);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The callback.                                                       */

/* The login cookie's value, or NULL (*why says what was wrong). */
static const char *
login_cookie(const struct cb *cb, struct oa_cookies **ck,
    const char *name, enum oa_cookie_lookup *why)
{
	const char *v = NULL;

	*why = OA_COOKIE_ABSENT;
	if (cb->c->cookie == NULL || cb->c->cookie[0] == '\0')
		return NULL;
	if (oa_cookies_parse(cb->c->cookie, strlen(cb->c->cookie), ck) != 0) {
		oa_log(OA_LOG_INFO, "callback: unparsable Cookie header");
		*why = OA_COOKIE_DUPLICATE;
		return NULL;
	}
	*why = oa_cookies_get(*ck, name, &v);
	return *why == OA_COOKIE_FOUND ? v : NULL;
}

/* 1 when the client still exists and still allows what the login asks
 * for (the configuration may have changed in the 10 minutes). */
static int
client_ok(struct cb *cb)
{
	const struct oa_login *l = cb->login;
	const struct oa_client *cl;
	size_t i;

	if (l->client_id == NULL || l->redirect_uri == NULL ||
	    l->response_type == NULL ||
	    (cl = oa_conf_client(cb->s->conf, l->client_id)) == NULL)
		return 0;
	for (i = 0; i < cl->redirect_uris.n; i++)
		if (strcmp(cl->redirect_uris.v[i], l->redirect_uri) == 0)
			break;
	if (i == cl->redirect_uris.n)
		return 0;
	if (strcmp(l->response_type, "code") == 0 && cl->allow_code)
		cb->fragment = 0;
	else if (strcmp(l->response_type, "token") == 0 && cl->allow_token)
		cb->fragment = 1;
	else
		return 0;
	cb->client = cl;
	return 1;
}

/* RFC 9207 §2.4: an iss in the upstream's response must be its issuer
 * (Microsoft's multi-tenant issuers vary: not checked there). */
static int
iss_ok(const struct cb *cb)
{
	const char *iss = param(cb, P_ISS);
	const struct oa_provider *p = cb->prov;

	if (iss == NULL || p->type != OA_PROV_OIDC || p->issuer == NULL)
		return 1;
	if (p->preset != NULL && strcmp(p->preset, "microsoft") == 0)
		return 1;
	return strcmp(iss, p->issuer) == 0;
}

static int
callback(struct cb *cb)
{
	struct oa_signin *s = cb->s;
	const struct oa_conf *conf = s->conf;
	struct oa_cookies *ck = NULL;
	struct oa_logins *set = NULL;
	struct oa_upstream_user *u = NULL;
	struct oa_db_user *user = NULL;
	struct oa_db_profile prof;
	enum oa_cookie_lookup why;
	enum oa_seal_result sr;
	enum oa_upstream_result ur;
	enum oa_db_rc rc;
	const char *state = param(cb, P_STATE), *v, *e;
	char *name = NULL, *cookie = NULL;
	int ret = -1;

	if (state == NULL) {
		oa_log(OA_LOG_INFO, "callback for %s without a valid state",
		    cb->prov->name);
		return oa_page_error(cb->c, 400, "invalid_request", "the "
		    "sign-in response has no valid state; start again");
	}
	if ((name = oa_cookie_name(conf->issuer, OA_LOGIN_COOKIE)) == NULL)
		goto out;
	if ((v = login_cookie(cb, &ck, name, &why)) == NULL) {
		if (why == OA_COOKIE_ABSENT && cb->post &&
		    param(cb, P_REPOST) == NULL &&
		    cb->prov->type != OA_PROV_DEV) {
			ret = repost(cb);
			goto out;
		}
		oa_log(OA_LOG_INFO, "callback for %s: login cookie %s",
		    cb->prov->name, why == OA_COOKIE_ABSENT ? "absent" :
		    "duplicated or unparsable");
		ret = oa_page_error(cb->c, 400, "invalid_request", "this "
		    "browser has no sign-in in progress (cookies must be "
		    "enabled); start again from the application");
		goto out;
	}
	if ((sr = oa_logins_open(s->ring->cookie_key, name, v, cb->now,
	    &set)) != OA_SEAL_OK) {
		oa_log(OA_LOG_INFO, "callback for %s: login cookie: %s",
		    cb->prov->name, oa_seal_result_str(sr));
		ret = oa_page_error(cb->c, 400, "invalid_request", "the "
		    "sign-in session expired or is not valid; start again "
		    "from the application");
		goto out;
	}
	if (oa_logins_take(set, state, &cb->login) != 0) {
		oa_log(OA_LOG_INFO, "callback for %s: no login with this "
		    "state in the cookie", cb->prov->name);
		ret = oa_page_error(cb->c, 400, "invalid_request", "this "
		    "sign-in is unknown, finished or expired; start again "
		    "from the application");
		goto out;
	}
	/* The login is used up, whatever happens next. */
	if ((cookie = oa_logins_cookie(s->ring->cookie_key, conf->issuer, set,
	    cb->now)) == NULL ||
	    oa_cgi_header(cb->c, "Set-Cookie", cookie) == -1)
		goto out;
	if (cb->login->provider == NULL ||
	    strcmp(cb->login->provider, cb->prov->name) != 0) {
		/* SECURITY 4: a response for one provider's login at
		 * another provider's callback. */
		oa_log(OA_LOG_WARN, "callback for %s carries the state of a "
		    "login with another provider: refused (mix-up)",
		    cb->prov->name);
		ret = oa_page_error(cb->c, 400, "invalid_request", "this "
		    "sign-in response came back from the wrong provider; "
		    "start again from the application");
		goto out;
	}
	if (!client_ok(cb)) {
		oa_log(OA_LOG_WARN, "callback for %s: the login's client, "
		    "redirect URI or response type is no longer configured",
		    cb->prov->name);
		ret = oa_page_error(cb->c, 400, "invalid_request", "the "
		    "application of this sign-in is no longer configured");
		goto out;
	}
	/* SECURITY 3: single use, also against a replayed old cookie. */
	if ((rc = db_ready(s)) != OA_DB_OK) {
		ret = store_failed(cb, rc);
		goto out;
	}
	rc = oa_db_state_consume(s->db, state, cb->login->created +
	    OA_LOGIN_TTL + OA_SEAL_SKEW, cb->now);
	if (OA_DB_FAILED(rc)) {
		ret = store_failed(cb, rc);
		goto out;
	}
	if (rc != OA_DB_OK) {
		oa_log(OA_LOG_WARN, "callback for %s: state already used: "
		    "replay refused", cb->prov->name);
		ret = oa_page_error(cb->c, 400, "invalid_request", "this "
		    "sign-in response was already used; start again from "
		    "the application");
		goto out;
	}

	/* From here on the client's redirect URI is established. */
	if (cb->params->err != OA_PARAM_OK) {
		oa_log(OA_LOG_WARN, "callback for %s: %s", cb->prov->name,
		    cb->params->err_desc);
		ret = error_redirect(cb, "server_error", "the sign-in "
		    "provider's response was malformed");
		goto out;
	}
	if ((e = param(cb, P_ERROR)) != NULL) {
		oa_log(OA_LOG_INFO, "provider %s answered error %s",
		    cb->prov->name, e);
		ret = error_redirect(cb, oa_upstream_error_map(e),
		    strcmp(oa_upstream_error_map(e), "access_denied") == 0 ?
		    "sign-in was cancelled or refused at the provider" :
		    "the sign-in provider reported an error");
		goto out;
	}
	if (cb->prov->type == OA_PROV_DEV) {
		if (oa_upstream_dev_user(param(cb, P_EMAIL), param(cb, P_NAME),
		    &u) != 0) {
			ret = error_redirect(cb, "access_denied", "a valid "
			    "email address is required");
			goto out;
		}
	} else {
		if (param(cb, P_CODE) == NULL || !iss_ok(cb)) {
			oa_log(OA_LOG_WARN, "provider %s: response without "
			    "a code, or with another iss", cb->prov->name);
			ret = error_redirect(cb, "server_error", "the sign-in "
			    "provider's response was malformed");
			goto out;
		}
		ur = oa_upstream_identify(conf, cb->prov, param(cb, P_CODE),
		    cb->login, param(cb, P_USER), cb->now, &u);
		if (ur != OA_UPSTREAM_OK) {
			ret = error_redirect(cb, oa_upstream_error(ur),
			    oa_upstream_result_str(ur));
			goto out;
		}
	}

	memset(&prof, 0, sizeof(prof));
	prof.provider = cb->prov->name;
	prof.subject = u->subject;
	prof.email = u->email;
	prof.email_verified = u->email_verified;
	prof.name = u->name;
	prof.picture = u->picture;
	rc = oa_db_identity_login(s->db, &prof, conf->link_by_verified_email,
	    cb->now, &user, NULL);
	if (store_refused(cb, rc, "recording the sign-in", &ret) != 0)
		goto out;
	ret = cb->fragment ? finish_token(cb, user) : finish_code(cb, user);
out:
	oa_cookies_free(ck);
	oa_logins_free(set);
	oa_upstream_user_free(u);
	oa_db_user_free(user);
	free(name);
	oa_secret_free(cookie);
	return ret;
}

int
oa_signin_handle(struct oa_cgi *c, struct oa_signin *s)
{
	struct cb cb;
	struct oa_params *dp = NULL;
	const char *in;
	size_t len;
	int rc = -1;

	if (c == NULL || s == NULL || s->conf == NULL || s->ring == NULL)
		return -1;
	memset(&cb, 0, sizeof(cb));
	cb.c = c;
	cb.s = s;
	cb.now = time(NULL);
	cb.post = strcmp(c->method, "POST") == 0;
	if (!cb.post && strcmp(c->method, "GET") != 0) {
		oa_cgi_header(c, "Allow", "GET, POST");
		return oa_page_error(c, 405, "invalid_request", "use GET or "
		    "POST");
	}
	if ((cb.prov = path_provider(s->conf, c->path_info)) == NULL)
		return oa_page_error(c, 404, "invalid_request", "there is no "
		    "such sign-in provider");

	in = c->query_string;
	len = strlen(in);
	if (!cb.post) {
		if ((dp = oa_params_parse(discover_spec, 1, in, len)) == NULL)
			return -1;
		if (dp->v[0] != NULL && strcmp(dp->v[0], "1") == 0) {
			oa_params_free(dp);
			return discover(c, s, cb.prov, cb.now);
		}
		oa_params_free(dp);
		if (cb.prov->type == OA_PROV_DEV) {
			oa_cgi_header(c, "Allow", "POST");
			return oa_page_error(c, 405, "invalid_request",
			    "submit the sign-in form");
		}
	} else {
		if ((rc = oa_page_read_form(c, &in, &len)) != 0)
			return rc == 1 ? 0 : -1;
	}
	if ((cb.params = oa_params_parse(cb_spec, P_COUNT, in, len)) == NULL)
		return -1;
	rc = callback(&cb);
	oa_params_free(cb.params);
	oa_login_free(cb.login);
	return rc;
}
