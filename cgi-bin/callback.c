/*
 * callback.c - callback.fcgi: where upstream providers send the browser
 * back (SPEC §2.2), as FastCGI or plain CGI.
 *
 *   .../{provider} or .../{provider}/callback   GET, or POST (form_post
 *                                               upstreams, the dev form)
 *
 * The work is signin.c's (the flow) and upstream.c's (the providers).
 * This program loads the config once, the key ring (the cookie key and
 * the signing keys of response_type=token) again whenever the key
 * directory changes, and opens the store on first need and keeps it. A
 * broken config or key directory gets a fixed 500 page and one log line.
 */
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

struct state {
	const char *conf_path;
	struct oa_conf *conf;
	struct oa_keyring *ring;
	struct oa_signin signin;
	int failed_at_start;   /* the load at start failed (and was logged) */
};

/* The config (once) and the ring (again when it changed). 0, or -1
 * after one log line. */
static int
state_ready(struct state *st)
{
	int rc = -1;

	/* oa_keyring_load logs the one line naming the problem. */
	if (oa_conf_load_once(st->conf_path, &st->conf) == 0)
		rc = oa_keyring_refresh(&st->ring, st->conf->keys_dir,
		    oa_keyring_load);
	st->signin.conf = st->conf;
	st->signin.ring = st->ring;
	return rc;
}

static int
handle(struct oa_cgi *c, void *arg)
{
	struct state *st = arg;

	/* As plain CGI, a load that failed at start (this very process, a
	 * moment ago) is not tried again, so one request logs one line. */
	if ((st->failed_at_start && !c->fastcgi) || state_ready(st) == -1)
		return oa_page_error(c, 500, "server_error", "the server is "
		    "misconfigured; its error log says why");
	return oa_signin_handle(c, &st->signin);
}

int
main(void)
{
	struct state st;
	int rc;

	memset(&st, 0, sizeof(st));
	oa_log_set_prog("callback");
	/* Before the keys are in memory: no core dumps. */
	oa_cgi_init();
	/* Before any thread or request: libcurl's global state. */
	if (oa_http_init() != 0)
		return 1;
	/* The program's own environment, before any request's. */
	st.conf_path = oa_conf_default_path();
	if (state_ready(&st) == -1)
		st.failed_at_start = 1;
	rc = oa_cgi_main(handle, &st);
	oa_db_close(st.signin.db);
	oa_keyring_free(st.ring);
	oa_conf_free(st.conf);
	return rc == 0 ? 0 : 1;
}
