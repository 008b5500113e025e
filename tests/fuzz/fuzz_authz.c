/*
 * fuzz_authz.c - the authorization request (lib/authz.c) and the cached
 * upstream discovery document check (lib/upstream_ep.c) on untrusted
 * bytes.
 *
 * Beyond "does not crash", it aborts when a promise is broken: an error
 * page never carries a redirect target (SECURITY 2); a redirect target
 * is always one of the client's registered URIs, the very string of the
 * configuration (SECURITY 1); a code request that passes has an S256
 * challenge (SECURITY 5); token only for a client that lists it
 * (SECURITY 7); descriptions never hold markup or input; a passing
 * request re-encodes (oa_authz_query) to one that parses the same; and
 * an accepted discovery document has the provider's issuer and a
 * secure endpoint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

static const char conf_text[] =
    "issuer = http://127.0.0.1:8080\n"
    "data_dir = /nonexistent/data\n"
    "keys_dir = /nonexistent/keys\n"
    "[client web]\n"
    "redirect_uris = http://127.0.0.1:5173/cb "
    "https://app.example.com/auth/callback?x=1\n"
    "[client spa]\n"
    "redirect_uris = https://spa.example.com/\n"
    "response_types = code token\n"
    "[provider corp]\n"
    "type = oidc\n"
    "issuer = https://sso.corp.example\n"
    "client_id = cid\n"
    "client_secret = csec\n";

static struct oa_conf *conf;

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_desc(const char *d)
{
	for (; *d; d++)
		check(*d >= 0x20 && *d <= 0x7e && *d != '"' && *d != '\\' &&
		    *d != '<' && *d != '>' && *d != '&');
}

static void
run_authz(const uint8_t *data, size_t size)
{
	struct oa_authz *a, *b;
	char *q, *loc;
	size_t i;
	int found = 0;

	if ((a = oa_authz_parse(conf, (const char *)data, size)) == NULL)
		return;
	check_desc(a->error_description);
	if (a->result == OA_AUTHZ_PAGE) {
		check(a->client == NULL && a->redirect_uri == NULL);
		check(a->error != NULL);
		goto out;
	}
	check(a->client != NULL && a->redirect_uri != NULL);
	for (i = 0; i < a->client->redirect_uris.n; i++)
		if (a->redirect_uri == a->client->redirect_uris.v[i])
			found = 1;
	check(found);
	loc = oa_authz_error_location(a->redirect_uri, a->fragment,
	    a->error != NULL ? a->error : "x", a->error_description,
	    a->state, conf->issuer);
	check(loc != NULL);
	check(strncmp(loc, a->redirect_uri, strlen(a->redirect_uri)) == 0);
	check(strpbrk(loc + strlen(a->redirect_uri), " \r\n<>\"") == NULL);
	free(loc);
	if (a->state != NULL)
		check(oa_valid_vschar(a->state, strlen(a->state)));
	if (a->result == OA_AUTHZ_REDIRECT) {
		check(a->error != NULL);
		goto out;
	}
	check(a->error == NULL);
	if (strcmp(a->response_type, "code") == 0) {
		check(!a->fragment && a->client->allow_code);
		check(a->code_challenge != NULL && oa_valid_pkce_challenge(
		    a->code_challenge, strlen(a->code_challenge)));
	} else {
		check(strcmp(a->response_type, "token") == 0);
		check(a->fragment && a->client->allow_token);
	}
	if ((q = oa_authz_query(a)) != NULL) {
		b = oa_authz_parse(conf, q, strlen(q));
		if (b != NULL && strlen(q) <= OA_PARAMS_MAX_INPUT) {
			check(b->result == OA_AUTHZ_OK);
			check(b->client == a->client &&
			    b->redirect_uri == a->redirect_uri);
			check(streq(a->state, b->state) &&
			    streq(a->nonce, b->nonce) &&
			    streq(a->code_challenge, b->code_challenge) &&
			    streq(a->scope, b->scope) &&
			    streq(a->prompt, b->prompt) &&
			    streq(a->login_hint, b->login_hint) &&
			    strcmp(a->response_type, b->response_type) == 0);
			check(b->discovered == 0);
		}
		oa_authz_free(b);
		free(q);
	}
out:
	oa_authz_free(a);
}

static void
run_discovery(const uint8_t *data, size_t size)
{
	const struct oa_provider *p = oa_conf_provider(conf, "corp");
	char *ep = NULL;

	if (oa_upstream_discovery_check(p, (const char *)data, size,
	    &ep) == 0) {
		check(ep != NULL && oa_url_is_secure_or_loopback(ep));
		check(strchr(ep, '#') == NULL);
		free(ep);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	if (conf == NULL) {
		oa_log_set_level(OA_LOG_ERROR);
		if (oa_conf_parse("fuzz.conf", conf_text, strlen(conf_text), 0,
		    &conf, err, sizeof(err)) != 0)
			abort();
	}
	run_authz(data, size);
	run_discovery(data, size);
	return 0;
}
