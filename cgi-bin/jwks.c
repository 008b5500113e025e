/*
 * jwks.c - jwks.fcgi: the JWKS and the OpenID discovery document
 * (SPEC §2.4), as FastCGI or plain CGI.
 *
 * The config and the public half of the key directory (oa_keydir_load:
 * the KID.json files, never a private key, and no libcrypto: this
 * program links none, which plain CGI's per-request start needs) are
 * loaded once; each document and its ETag is built when first asked
 * for (plain CGI builds only the one it serves) and again only after
 * the key directory changed. A broken config or key directory gets a
 * fixed 500 and one log line per request, and the load is tried again at
 * the next request (a FastCGI worker recovers once the files are fixed).
 */
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

struct doc {
	char *body;
	size_t len;
	char *etag;
};

struct state {
	const char *conf_path;
	struct oa_conf *conf;
	struct oa_keydir *kd;
	struct doc jwks;
	struct doc disco;
	char last_modified[32];
	char cache_control[64];
	int failed_at_start;   /* the load at start failed (and was logged) */
};

static void
doc_clear(struct doc *d)
{
	free(d->body);
	free(d->etag);
	memset(d, 0, sizeof(*d));
}

static int
doc_set(struct doc *d, char *body)
{
	doc_clear(d);
	if (body == NULL)
		return -1;
	d->body = body;
	d->len = strlen(body);
	if ((d->etag = oa_etag(body, d->len)) == NULL) {
		doc_clear(d);
		return -1;
	}
	return 0;
}

/* Drops the key directory and the documents built from it. */
static void
state_drop_keys(struct state *st)
{
	oa_keydir_free(st->kd);
	st->kd = NULL;
	doc_clear(&st->jwks);
	doc_clear(&st->disco);
}

/*
 * Makes st ready: the config (loaded once) and the key directory (read
 * again when it changed, which drops the documents). 0, or -1 after one
 * log line.
 */
static int
state_ready(struct state *st)
{
	if (st->conf == NULL) {
		if (oa_conf_load_once(st->conf_path, &st->conf) == -1)
			return -1;
		snprintf(st->cache_control, sizeof(st->cache_control),
		    "public, max-age=%ld", st->conf->jwks_max_age);
	}
	if (st->kd != NULL && !oa_keydir_changed(st->kd))
		return 0;
	state_drop_keys(st);
	/* oa_keydir_load logs the one line naming the problem. */
	if ((st->kd = oa_keydir_load(st->conf->keys_dir,
	    OA_KEYDIR_JWK)) == NULL)
		return -1;
	if (oa_http_date(st->kd->dir_mtime, st->last_modified) == -1) {
		oa_log(OA_LOG_ERROR, "keys_dir %s: mtime out of range",
		    st->conf->keys_dir);
		state_drop_keys(st);
		return -1;
	}
	return 0;
}

/* The JWKS (is_jwks) or the discovery document of a ready st, built now
 * if needed; NULL after one log line. */
static const struct doc *
state_doc(struct state *st, int is_jwks)
{
	struct doc *d = is_jwks ? &st->jwks : &st->disco;

	if (d->body != NULL)
		return d;
	if (doc_set(d, is_jwks ? oa_keydir_jwks_document(st->kd) :
	    oa_keydir_discovery_document(st->conf, st->kd)) == -1) {
		oa_log(OA_LOG_ERROR, "cannot build the %s document",
		    is_jwks ? "JWKS" : "discovery");
		return NULL;
	}
	return d;
}

/* 1 when s ends with suffix. */
static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int
error_json(struct oa_cgi *c, int status, const char *error,
    const char *description)
{
	oa_cgi_status(c, status);
	oa_cgi_header(c, "Content-Type", "application/json");
	oa_cgi_header(c, "Cache-Control", "no-store");
	oa_cgi_header(c, "X-Content-Type-Options", "nosniff");
	oa_cgi_printf(c, "{\"error\":\"%s\",\"error_description\":\"%s\"}\n",
	    error, description);
	return 0;
}

static int
handle(struct oa_cgi *c, void *arg)
{
	struct state *st = arg;
	const struct doc *d;
	int is_jwks;

	if (ends_with(c->path_info, "/jwks.json"))
		is_jwks = 1;
	else if (ends_with(c->path_info, "/openid-configuration"))
		is_jwks = 0;
	else
		return error_json(c, 404, "not_found",
		    "this program serves /.well-known/jwks.json and "
		    "/.well-known/openid-configuration");
	if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
		oa_cgi_header(c, "Allow", "GET, HEAD");
		return error_json(c, 405, "invalid_request",
		    "use GET or HEAD");
	}
	/* As plain CGI, a load that failed at start (this very process, a
	 * moment ago) is not tried again, so one request logs one line. */
	if ((st->failed_at_start && !c->fastcgi) || state_ready(st) == -1 ||
	    (d = state_doc(st, is_jwks)) == NULL)
		return error_json(c, 500, "server_error",
		    "the server is misconfigured; its error log says why");

	/* Public documents: any origin may read them (no credentials). */
	oa_cgi_header(c, "Access-Control-Allow-Origin", "*");
	oa_cgi_header(c, "Cache-Control", st->cache_control);
	oa_cgi_header(c, "ETag", d->etag);
	oa_cgi_header(c, "Last-Modified", st->last_modified);
	oa_cgi_header(c, "X-Content-Type-Options", "nosniff");
	/* RFC 9110 §13.1.2 */
	if (oa_etag_match(c->if_none_match, d->etag)) {
		oa_cgi_status(c, 304);
		return 0;
	}
	oa_cgi_header(c, "Content-Type", "application/json");
	return oa_cgi_body(c, d->body, d->len);
}

int
main(void)
{
	struct state st;
	int rc;

	memset(&st, 0, sizeof(st));
	oa_log_set_prog("jwks");
	oa_cgi_init();
	/* The program's own environment, before any request's. */
	st.conf_path = oa_conf_default_path();
	if (state_ready(&st) == -1)
		st.failed_at_start = 1;
	rc = oa_cgi_main(handle, &st);
	state_drop_keys(&st);
	oa_conf_free(st.conf);
	return rc == 0 ? 0 : 1;
}
