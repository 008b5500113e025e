/*
 * login_ep.c - the authorization endpoint of login.fcgi (SPEC §2.1).
 * cgi-bin/login.c is a thin main around oa_login_ep_handle().
 *
 *   .../authorize or empty PATH_INFO   the chooser page, or straight on
 *                                      when one provider is configured
 *   .../{provider}                     start sign-in with that provider
 *
 * Both take the same parameters (GET query, or an OIDC Core §3.1.2.1
 * form POST), validated by authz.c: a request whose client or redirect
 * URI is not established gets an error page, never a redirect; other
 * problems go back to the registered redirect URI. Starting a provider
 * adds an in-flight login to the sealed login cookie (cookie.c) and
 * redirects to the upstream (upstream_ep.c), or for type dev shows the
 * built-in form that posts to the callback. Nothing is written to the
 * database: login.fcgi links neither Berkeley DB nor libcurl, so nothing
 * here may call into db.c, store.c, http.c or upstream.c's fetches.
 *
 * The config is loaded once; the key ring (only its cookie key is used)
 * is reloaded when the key directory changes. A broken config or key
 * directory gets a fixed 500 page and one log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

struct oa_login_ep {
	char *conf_path;
	struct oa_conf *conf;
	struct oa_keyring *ring;
	char *cookie_name;     /* the login cookie's full name */
	char *origin;          /* the issuer's origin: the dev form's target */
	int failed_at_start;   /* the load at start failed (and was logged) */
};

/* The config (once) and the ring (again when it changed). 0, or -1
 * after one log line. */
static int
state_ready(struct oa_login_ep *st)
{
	if (st->conf == NULL) {
		if (oa_conf_load_once(st->conf_path, &st->conf) == -1)
			return -1;
		if ((st->cookie_name = oa_cookie_name(st->conf->issuer,
		    OA_LOGIN_COOKIE)) == NULL ||
		    (st->origin = oa_url_origin(st->conf->issuer)) == NULL) {
			oa_log(OA_LOG_ERROR, "config: cannot derive the cookie "
			    "name and origin from the issuer");
			free(st->cookie_name);
			st->cookie_name = NULL;
			oa_conf_free(st->conf);
			st->conf = NULL;
			return -1;
		}
	}
	/* Only the cookie key: login signs nothing. The loader logs the one
	 * line naming the problem. */
	return oa_keyring_refresh(&st->ring, st->conf->keys_dir,
	    oa_keyring_load_cookie);
}

/* The last segment of PATH_INFO ("" for "" and "/"). */
static const char *
last_segment(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* A 302 with the headers every redirect of ours carries. */
static int
redirect(struct oa_cgi *c, const char *location)
{
	if (location == NULL)
		return -1;
	oa_cgi_header(c, "Cache-Control", "no-store");
	oa_cgi_header(c, "Referrer-Policy", "no-referrer");
	return oa_cgi_redirect(c, 302, location);
}

/* The OAuth error response to the established redirect URI. */
static int
error_redirect(struct oa_cgi *c, const struct oa_login_ep *st,
    const struct oa_authz *a, const char *error, const char *description)
{
	char *loc;
	int rc;

	loc = oa_authz_error_location(a->redirect_uri, a->fragment, error,
	    description, a->state, st->conf->issuer);
	rc = redirect(c, loc);
	free(loc);
	return rc;
}

/* The logins already in flight in this browser; an absent, tampered or
 * expired cookie starts an empty set. NULL when out of memory. */
static struct oa_logins *
logins_load(const struct oa_cgi *c, const struct oa_login_ep *st, time_t now)
{
	struct oa_cookies *ck = NULL;
	struct oa_logins *set = NULL;
	enum oa_seal_result r;
	const char *v = NULL;

	if (c->cookie != NULL &&
	    oa_cookies_parse(c->cookie, strlen(c->cookie), &ck) == 0 &&
	    oa_cookies_get(ck, st->cookie_name, &v) == OA_COOKIE_FOUND) {
		r = oa_logins_open(st->ring->cookie_key, st->cookie_name, v,
		    now, &set);
		if (r != OA_SEAL_OK)
			oa_log(OA_LOG_INFO, "login cookie: %s; starting "
			    "afresh", oa_seal_result_str(r));
	}
	oa_cookies_free(ck);
	if (set == NULL)
		set = oa_logins_new();
	return set;
}

/* 1 when the client asked for prompt=none. */
static int
prompt_none(const struct oa_authz *a)
{
	return a->prompt != NULL && strcmp(a->prompt, "none") == 0;
}

/* Starts sign-in with prov. */
static int
start(struct oa_cgi *c, const struct oa_login_ep *st, const struct oa_authz *a,
    const struct oa_provider *prov)
{
	const struct oa_conf *conf = st->conf;
	struct oa_login *login = NULL;
	struct oa_logins *set = NULL;
	char *endpoint = NULL, *query = NULL, *url = NULL, *cookie = NULL;
	char *fa = NULL;
	char *html = NULL;
	time_t now = time(NULL);
	int rc = -1;

	/* OIDC Core §3.1.2.1: no user interface with prompt=none. */
	if (prompt_none(a) && (prov->type == OA_PROV_DEV ||
	    !oa_upstream_prompt_none_ok(prov)))
		return error_redirect(c, st, a, "login_required",
		    "this sign-in provider cannot sign in without user "
		    "interaction");

	if (prov->type != OA_PROV_DEV) {
		switch (oa_upstream_authorization_endpoint(conf, prov,
		    &endpoint)) {
		case OA_UPSTREAM_EP_OK:
			break;
		case OA_UPSTREAM_EP_MISSING:
			/* The discovery round trip (upstream_ep.c), once. */
			if (a->discovered) {
				oa_log(OA_LOG_ERROR, "provider %s: no usable "
				    "discovery document after discovery",
				    prov->name);
				rc = oa_page_error(c, 502,
				    "temporarily_unavailable", "the sign-in "
				    "provider's configuration could not be "
				    "loaded");
				goto out;
			}
			if ((query = oa_authz_query(a)) == NULL ||
			    (url = oa_upstream_discover_url(conf, prov->name,
			    query)) == NULL)
				goto out;
			rc = redirect(c, url);
			goto out;
		case OA_UPSTREAM_EP_ERROR:
			rc = oa_page_error(c, 500, "server_error", "the "
			    "sign-in provider is misconfigured; the server's "
			    "error log says why");
			goto out;
		}
	}

	if ((login = oa_authz_login_new(a, prov, now)) == NULL ||
	    (set = logins_load(c, st, now)) == NULL ||
	    oa_logins_add(set, login) == -1 ||
	    (cookie = oa_logins_cookie(st->ring->cookie_key, conf->issuer,
	    set, now)) == NULL)
		goto out;
	if (oa_cgi_header(c, "Set-Cookie", cookie) == -1)
		goto out;
	oa_log(OA_LOG_DEBUG, "login: client %s, provider %s, %zu in flight",
	    a->client->name, prov->name, set->n);

	if (prov->type == OA_PROV_DEV) {
		/* The form posts to the callback, which handles type dev. */
		if ((url = oa_upstream_callback_url(conf, prov->name)) ==
		    NULL || (html = oa_page_dev_html(url, prov->display_name,
		    login->state, a->login_hint)) == NULL ||
		    (fa = oa_page_dev_form_action(st->origin,
		    a->redirect_uri)) == NULL)
			goto out;
		rc = oa_page_send(c, 200, html, fa);
		goto out;
	}
	if ((url = oa_upstream_authorize_url(conf, prov, endpoint, login,
	    a->prompt, a->login_hint)) == NULL)
		goto out;
	rc = redirect(c, url);
out:
	oa_login_free(login);
	oa_logins_free(set);
	free(endpoint);
	free(query);
	free(url);
	free(fa);
	oa_secret_free(cookie);
	free(html);
	return rc;
}

/* The chooser page (several providers). */
static int
chooser(struct oa_cgi *c, const struct oa_login_ep *st, const struct oa_authz *a)
{
	char *query = NULL, *html = NULL;
	int rc = -1;

	if (prompt_none(a))
		return error_redirect(c, st, a, "login_required",
		    "choosing a sign-in provider needs user interaction");
	if ((query = oa_authz_query(a)) != NULL &&
	    (html = oa_page_chooser_html(st->conf, query)) != NULL)
		rc = oa_page_send(c, 200, html, NULL);
	oa_secret_free(query);
	free(html);
	return rc;
}

/*
 * The oa_cgi_main() handler of login.fcgi; arg is the struct
 * oa_login_ep. Answers c (a page, a redirect or an error) and returns 0,
 * or -1 when no answer could be written (oa_cgi_main then sends a 500).
 */
int
oa_login_ep_handle(struct oa_cgi *c, void *arg)
{
	struct oa_login_ep *st = arg;
	const struct oa_provider *prov = NULL;
	struct oa_authz *a = NULL;
	const char *seg, *in;
	size_t len;
	int rc = -1, authorize, post;

	post = strcmp(c->method, "POST") == 0;
	if (!post && strcmp(c->method, "GET") != 0 && !c->is_head) {
		oa_cgi_header(c, "Allow", "GET, HEAD, POST");
		return oa_page_error(c, 405, "invalid_request",
		    "use GET (or POST a form)");
	}
	/* As plain CGI, a load that failed at start (this very process, a
	 * moment ago) is not tried again, so one request logs one line. */
	if ((st->failed_at_start && !c->fastcgi) || state_ready(st) == -1)
		return oa_page_error(c, 500, "server_error", "the server is "
		    "misconfigured; its error log says why");

	seg = last_segment(c->path_info);
	authorize = seg[0] == '\0' || strcmp(seg, "authorize") == 0;
	if (seg[0] == '\0' && strcmp(c->path_info, "") != 0 &&
	    strcmp(c->path_info, "/") != 0)
		authorize = 0;   /* "/google/": not ours */
	if (!authorize &&
	    (seg[0] == '\0' || (prov = oa_conf_provider(st->conf, seg)) ==
	    NULL))
		return oa_page_error(c, 404, "invalid_request",
		    "there is no such sign-in provider");

	in = c->query_string;
	len = strlen(in);
	if (post) {
		if ((rc = oa_page_read_form(c, &in, &len)) != 0)
			return rc == 1 ? 0 : -1;
	}

	if ((a = oa_authz_parse(st->conf, in, len)) == NULL)
		return -1;
	switch (a->result) {
	case OA_AUTHZ_PAGE:
		/* SECURITY 2: never a redirect to an unchecked URI. */
		oa_log(OA_LOG_INFO, "authorization request refused: %s: %s",
		    a->error, a->error_description);
		rc = oa_page_error(c, 400, a->error, a->error_description);
		goto out;
	case OA_AUTHZ_REDIRECT:
		oa_log(OA_LOG_INFO, "authorization request of client %s "
		    "refused: %s: %s", a->client->name, a->error,
		    a->error_description);
		rc = error_redirect(c, st, a, a->error, a->error_description);
		goto out;
	case OA_AUTHZ_OK:
		break;
	}

	if (authorize) {
		if (st->conf->n_providers == 0) {
			oa_log(OA_LOG_ERROR, "config: no [provider] section");
			rc = oa_page_error(c, 500, "server_error", "no sign-in "
			    "provider is configured");
			goto out;
		}
		if (st->conf->n_providers > 1) {
			rc = chooser(c, st, a);
			goto out;
		}
		prov = &st->conf->providers[0];
	}
	rc = start(c, st, a, prov);
out:
	oa_authz_free(a);
	return rc;
}

/*
 * Allocates login.fcgi's state for the config at conf_path (copied) and
 * loads the config and the cookie key now, so that a broken setup is
 * logged at start; a load that failed is not tried again by the plain
 * CGI request of this same process (one request, one log line), and is
 * tried again at each request under FastCGI. Returns the state (free
 * with oa_login_ep_free), or NULL only when out of memory.
 */
struct oa_login_ep *
oa_login_ep_new(const char *conf_path)
{
	struct oa_login_ep *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->conf_path = strdup(conf_path != NULL ? conf_path : "")) ==
	    NULL) {
		free(st);
		return NULL;
	}
	if (state_ready(st) == -1)
		st->failed_at_start = 1;
	return st;
}

/* Frees the ring (its cookie key wiped), the config and st. NULL is a
 * no-op. */
void
oa_login_ep_free(struct oa_login_ep *st)
{
	if (st == NULL)
		return;
	oa_keyring_free(st->ring);
	oa_conf_free(st->conf);
	free(st->cookie_name);
	free(st->origin);
	free(st->conf_path);
	free(st);
}
