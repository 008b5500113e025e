/*
 * test_authz.c - validation of the authorization request (lib/authz.c):
 * where errors may go (page or redirect), exact redirect URI matching,
 * response types, PKCE S256, the other parameters, the error response
 * URL and the in-flight login built from a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"
#include "t.h"

/* RFC 7636 Appendix B. */
#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

#define RURI "http://127.0.0.1:5173/cb"
#define RURI_E "http%3A%2F%2F127.0.0.1%3A5173%2Fcb"
#define PKCE "&code_challenge=" RFC_CHALLENGE "&code_challenge_method=S256"
#define GOOD "client_id=web&redirect_uri=" RURI_E "&state=xyz" PKCE

static const char conf_two[] =
    "issuer = http://127.0.0.1:8080\n"
    "data_dir = /nonexistent/data\n"
    "keys_dir = /nonexistent/keys\n"
    "[client web]\n"
    "redirect_uris = " RURI " https://app.example.com/auth/callback?x=1\n"
    "[client spa]\n"
    "redirect_uris = https://spa.example.com/\n"
    "response_types = code token\n"
    "[client tokenonly]\n"
    "redirect_uris = https://t.example.com/cb\n"
    "response_types = token\n"
    "[provider google]\n"
    "client_id = gid\n"
    "client_secret = gsec\n"
    "[provider github]\n"
    "client_id = hid\n"
    "client_secret = hsec\n"
    "[provider dev]\n"
    "type = dev\n";

static const char conf_one[] =
    "issuer = http://127.0.0.1:8080\n"
    "data_dir = /nonexistent/data\n"
    "keys_dir = /nonexistent/keys\n"
    "[client only]\n"
    "redirect_uris = https://only.example.com/cb\n"
    "[provider dev]\n"
    "type = dev\n";

static struct oa_conf *
conf_of(const char *text)
{
	struct oa_conf *c = NULL;
	char err[512];

	if (oa_conf_parse("t.conf", text, strlen(text), 0, &c, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "conf: %s\n", err);
		return NULL;
	}
	return c;
}

static struct oa_authz *
az(const struct oa_conf *c, const char *q)
{
	return oa_authz_parse(c, q, strlen(q));
}

/* Parses q and checks the result, the error code and (when not NULL)
 * a substring of the description. */
static int
outcome(const struct oa_conf *c, const char *q, enum oa_authz_result r,
    const char *error, const char *desc_part)
{
	struct oa_authz *a = az(c, q);
	int ok;

	if (a == NULL)
		return 0;
	ok = a->result == r &&
	    ((error == NULL && a->error == NULL) ||
	    (error != NULL && a->error != NULL &&
	    strcmp(error, a->error) == 0)) &&
	    (desc_part == NULL ||
	    strstr(a->error_description, desc_part) != NULL);
	/* A page never has a redirect target. */
	if (r == OA_AUTHZ_PAGE && (a->redirect_uri != NULL ||
	    a->client != NULL))
		ok = 0;
	if (r == OA_AUTHZ_REDIRECT && (a->redirect_uri == NULL ||
	    a->client == NULL))
		ok = 0;
	if (!ok)
		fprintf(stderr, "  query %s: result %d error %s (%s)\n", q,
		    (int)a->result, a->error ? a->error : "-",
		    a->error_description);
	oa_authz_free(a);
	return ok;
}

static void
test_good(const struct oa_conf *c)
{
	struct oa_authz *a;

	a = az(c, GOOD "&nonce=n-1&scope=openid+email&prompt=login+consent"
	    "&login_hint=%C3%A9l%C3%A8ve%40example.com&unknown=%zz");
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a == NULL || a->result != OA_AUTHZ_OK) {
		oa_authz_free(a);
		return;
	}
	CHECK(a->error == NULL);
	CHECK_STR(a->client->name, "web");
	CHECK_STR(a->redirect_uri, RURI);
	/* Borrowed from the configuration, not a copy of the input. */
	CHECK(a->redirect_uri == a->client->redirect_uris.v[0]);
	CHECK_STR(a->response_type, "code");
	CHECK(a->fragment == 0);
	CHECK_STR(a->state, "xyz");
	CHECK_STR(a->nonce, "n-1");
	CHECK_STR(a->code_challenge, RFC_CHALLENGE);
	CHECK_STR(a->scope, "openid email");
	CHECK_STR(a->prompt, "login consent");
	CHECK_STR(a->login_hint, "\xc3\xa9l\xc3\xa8ve@example.com");
	CHECK(a->discovered == 0);
	oa_authz_free(a);

	/* The second registered URI, with its query, matches as such. */
	a = az(c, "client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com"
	    "%2Fauth%2Fcallback%3Fx%3D1" PKCE);
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a != NULL && a->result == OA_AUTHZ_OK)
		CHECK_STR(a->redirect_uri,
		    "https://app.example.com/auth/callback?x=1");
	oa_authz_free(a);

	/* Explicit response_type=code and response_mode=query. */
	CHECK(outcome(c, GOOD "&response_type=code&response_mode=query",
	    OA_AUTHZ_OK, NULL, NULL));
	/* discovered=1 is remembered. */
	a = az(c, GOOD "&discovered=1");
	CHECK(a != NULL && a->result == OA_AUTHZ_OK && a->discovered == 1);
	oa_authz_free(a);
	/* Empty values count as absent (RFC 6749 §3.1). */
	CHECK(outcome(c, GOOD "&nonce=&scope=", OA_AUTHZ_OK, NULL, NULL));
	/* No state at all is allowed (RFC 6749: RECOMMENDED). */
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E PKCE,
	    OA_AUTHZ_OK, NULL, NULL));
}

static void
test_client_page(const struct oa_conf *c, const struct oa_conf *one)
{
	struct oa_authz *a;

	/* Unknown client. */
	CHECK(outcome(c, "client_id=nope&redirect_uri=" RURI_E PKCE,
	    OA_AUTHZ_PAGE, "invalid_client", NULL));
	CHECK(outcome(c, "client_id=WEB&redirect_uri=" RURI_E PKCE,
	    OA_AUTHZ_PAGE, "invalid_client", NULL));
	/* client_id omitted: only with exactly one client. */
	CHECK(outcome(c, "redirect_uri=" RURI_E PKCE, OA_AUTHZ_PAGE,
	    "invalid_request", "client_id"));
	a = az(one, "code_challenge=" RFC_CHALLENGE
	    "&code_challenge_method=S256");
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a != NULL && a->result == OA_AUTHZ_OK) {
		CHECK_STR(a->client->name, "only");
		CHECK_STR(a->redirect_uri, "https://only.example.com/cb");
	}
	oa_authz_free(a);
	/* redirect_uri omitted: only when the client has exactly one. */
	CHECK(outcome(c, "client_id=web" PKCE, OA_AUTHZ_PAGE,
	    "invalid_request", "redirect_uri"));
	a = az(c, "client_id=spa" PKCE);
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a != NULL && a->result == OA_AUTHZ_OK)
		CHECK_STR(a->redirect_uri, "https://spa.example.com/");
	oa_authz_free(a);
	/* A registered URI of another client does not count. */
	CHECK(outcome(c, "client_id=spa&redirect_uri=" RURI_E PKCE,
	    OA_AUTHZ_PAGE, "invalid_request", "not registered"));

	/* Problems in client_id / redirect_uri themselves: page. */
	CHECK(outcome(c, "client_id=web&client_id=web&redirect_uri=" RURI_E
	    PKCE, OA_AUTHZ_PAGE, "invalid_request", "duplicate"));
	CHECK(outcome(c, GOOD "&redirect_uri=" RURI_E, OA_AUTHZ_PAGE,
	    "invalid_request", "duplicate"));
	CHECK(outcome(c, "client_id=web%00&redirect_uri=" RURI_E PKCE,
	    OA_AUTHZ_PAGE, "invalid_request", "control"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E "%0d%0a" PKCE,
	    OA_AUTHZ_PAGE, "invalid_request", "control"));
	CHECK(outcome(c, "client_id=w%20b&redirect_uri=" RURI_E PKCE,
	    OA_AUTHZ_PAGE, "invalid_request", "client_id"));
	/* A bad escape anywhere: we cannot be sure of the client. */
	CHECK(outcome(c, GOOD "&x%zz=1", OA_AUTHZ_PAGE, "invalid_request",
	    NULL));
	CHECK(outcome(c, "client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1"
	    "%3A5173%2Fc%zz" PKCE, OA_AUTHZ_PAGE, "invalid_request", NULL));
	/* Too large or too many pairs. */
	{
		size_t n = OA_PARAMS_MAX_INPUT + 10, i;
		char *big = malloc(n + 1);

		CHECK(big != NULL);
		if (big != NULL) {
			strcpy(big, GOOD "&pad=");
			for (i = strlen(big); i < n; i++)
				big[i] = 'a';
			big[n] = '\0';
			CHECK(outcome(c, big, OA_AUTHZ_PAGE,
			    "invalid_request", "too large"));
			free(big);
		}
	}
	{
		char q[4096];
		size_t i;

		strcpy(q, GOOD);
		for (i = 0; i < OA_PARAMS_MAX_COUNT; i++)
			strcat(q, "&u=1");
		CHECK(outcome(c, q, OA_AUTHZ_PAGE, "invalid_request",
		    "too many"));
	}
	/* An over-long redirect_uri. */
	{
		char q[OA_AUTHZ_REDIRECT_MAX + 200];
		size_t i;

		strcpy(q, "client_id=web&redirect_uri=https%3A%2F%2Fa.example%2F");
		for (i = strlen(q); i < OA_AUTHZ_REDIRECT_MAX + 100; i++)
			q[i] = 'a';
		q[i] = '\0';
		CHECK(outcome(c, q, OA_AUTHZ_PAGE, "invalid_request",
		    "too long"));
	}
}

/* SECURITY 1: exact string match, no normalisation of any kind. */
static void
test_redirect_near_misses(const struct oa_conf *c)
{
	static const char *const bad[] = {
		"http%3A%2F%2F127.0.0.1%3A5173%2F",            /* prefix */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fc",           /* prefix */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fcb%2F",       /* slash */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fcb%2Fx",      /* extra path */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fcb%3Fa%3D1",  /* extra query */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fcb%3F",       /* empty query */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fcb%23f",      /* fragment */
		"http%3A%2F%2Fevil%40127.0.0.1%3A5173%2Fcb",   /* userinfo */
		"http%3A%2F%2F127.0.0.1%3A5173%40evil.example%2Fcb",
		"HTTP%3A%2F%2F127.0.0.1%3A5173%2Fcb",          /* case */
		"http%3A%2F%2F127.0.0.1%3A5173%2FCB",
		"http%3A%2F%2F127.0.0.1%3A5173%2F%2563b",      /* encoded */
		"http%3A%2F%2F127.0.0.1%3A5173%2Fc%2562",
		"http%3A%2F%2F127.0.0.1%3A5173%2F.%2Fcb",      /* dot segment */
		"http%3A%2F%2F127.0.0.1%3A05173%2Fcb",         /* port form */
		"http%3A%2F%2F127.0.0.1%2Fcb",                 /* no port */
		"http%3A%2F%2Flocalhost%3A5173%2Fcb",          /* other host */
		"https%3A%2F%2F127.0.0.1%3A5173%2Fcb",         /* scheme */
		"javascript%3Aalert(1)",
		"%2F%2F127.0.0.1%3A5173%2Fcb",                 /* //host */
		"%2F%2Fevil.example%2Fcb",
		"%2Fcb",
		"+http%3A%2F%2F127.0.0.1%3A5173%2Fcb",         /* space */
		"https%3A%2F%2Fapp.example.com%2Fauth%2Fcallback",   /* no ?x=1 */
		"https%3A%2F%2Fapp.example.com%2Fauth%2Fcallback%3Fx%3D1%26y",
		"https%3A%2F%2Fapp.example.com%2Fauth%2Fcallback%3Fx%3D2",
	};
	size_t i;
	char q[512];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(q, sizeof(q), "client_id=web&redirect_uri=%s&state=s"
		    PKCE, bad[i]);
		CHECK(outcome(c, q, OA_AUTHZ_PAGE, "invalid_request", NULL));
	}
}

static void
test_redirect_errors(const struct oa_conf *c)
{
	struct oa_authz *a;

	/* PKCE downgrade (SECURITY 5). */
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E "&state=s",
	    OA_AUTHZ_REDIRECT, "invalid_request", "code_challenge"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=" RFC_CHALLENGE, OA_AUTHZ_REDIRECT,
	    "invalid_request", "code_challenge_method"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=" RFC_CHALLENGE "&code_challenge_method=plain",
	    OA_AUTHZ_REDIRECT, "invalid_request", "plain"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=" RFC_CHALLENGE "&code_challenge_method=s256",
	    OA_AUTHZ_REDIRECT, "invalid_request", "S256"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge_method=S256", OA_AUTHZ_REDIRECT,
	    "invalid_request", "code_challenge"));
	/* A plain verifier used as a challenge, a short one, a padded one,
	 * a non-canonical last character. */
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=" RFC_VERIFIER "x&code_challenge_method=S256",
	    OA_AUTHZ_REDIRECT, "invalid_request", "code_challenge"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=abc&code_challenge_method=S256",
	    OA_AUTHZ_REDIRECT, "invalid_request", "code_challenge"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=" RFC_CHALLENGE "%3D&code_challenge_method=S256",
	    OA_AUTHZ_REDIRECT, "invalid_request", "code_challenge"));
	CHECK(outcome(c, "client_id=web&redirect_uri=" RURI_E
	    "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
	    "&code_challenge_method=S256", OA_AUTHZ_REDIRECT,
	    "invalid_request", "code_challenge"));

	/* The state is echoed even when something else is wrong. */
	a = az(c, "client_id=web&redirect_uri=" RURI_E "&state=keep+me"
	    "&code_challenge_method=plain&code_challenge=" RFC_CHALLENGE);
	CHECK(a != NULL && a->result == OA_AUTHZ_REDIRECT);
	if (a != NULL) {
		CHECK_STR(a->state, "keep me");
		CHECK_STR(a->redirect_uri, RURI);
		CHECK(a->fragment == 0);
	}
	oa_authz_free(a);

	/* Response types (SECURITY 7). */
	a = az(c, GOOD "&response_type=token");
	CHECK(a != NULL && a->result == OA_AUTHZ_REDIRECT);
	if (a != NULL) {
		CHECK_STR(a->error, "unsupported_response_type");
		CHECK(a->fragment == 1);
		CHECK_STR(a->state, "xyz");
	}
	oa_authz_free(a);
	CHECK(outcome(c, GOOD "&response_type=id_token", OA_AUTHZ_REDIRECT,
	    "unsupported_response_type", NULL));
	CHECK(outcome(c, GOOD "&response_type=code+id_token",
	    OA_AUTHZ_REDIRECT, "unsupported_response_type", NULL));
	CHECK(outcome(c, GOOD "&response_type=Code", OA_AUTHZ_REDIRECT,
	    "unsupported_response_type", NULL));
	CHECK(outcome(c, "client_id=tokenonly" PKCE, OA_AUTHZ_REDIRECT,
	    "unsupported_response_type", NULL));
	a = az(c, "client_id=spa&response_type=token&state=s");
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a != NULL && a->result == OA_AUTHZ_OK) {
		CHECK_STR(a->response_type, "token");
		CHECK(a->fragment == 1);
		CHECK(a->code_challenge == NULL);
	}
	oa_authz_free(a);
	/* The same client still needs PKCE for code. */
	CHECK(outcome(c, "client_id=spa&response_type=code",
	    OA_AUTHZ_REDIRECT, "invalid_request", "code_challenge"));

	/* response_mode. */
	CHECK(outcome(c, GOOD "&response_mode=form_post", OA_AUTHZ_REDIRECT,
	    "invalid_request", "response_mode"));
	CHECK(outcome(c, GOOD "&response_mode=fragment", OA_AUTHZ_REDIRECT,
	    "invalid_request", "response_mode"));
	CHECK(outcome(c, "client_id=spa&response_type=token"
	    "&response_mode=query", OA_AUTHZ_REDIRECT, "invalid_request",
	    "response_mode"));

	/* Duplicates, control bytes, over-long values (SECURITY 26). */
	a = az(c, GOOD "&state=again");
	CHECK(a != NULL && a->result == OA_AUTHZ_REDIRECT);
	if (a != NULL) {
		CHECK_STR(a->error, "invalid_request");
		CHECK(strstr(a->error_description, "state") != NULL);
		CHECK(a->state == NULL);   /* neither copy is echoed */
	}
	oa_authz_free(a);
	CHECK(outcome(c, GOOD "&nonce=a&nonce=b", OA_AUTHZ_REDIRECT,
	    "invalid_request", "duplicate"));
	CHECK(outcome(c, GOOD "&code_challenge=" RFC_CHALLENGE,
	    OA_AUTHZ_REDIRECT, "invalid_request", "duplicate"));
	CHECK(outcome(c, GOOD "&response_type=code&response_type=code",
	    OA_AUTHZ_REDIRECT, "invalid_request", "duplicate"));
	CHECK(outcome(c, GOOD "&nonce=a%00b", OA_AUTHZ_REDIRECT,
	    "invalid_request", "control"));
	CHECK(outcome(c, GOOD "&scope=openid%0d", OA_AUTHZ_REDIRECT,
	    "invalid_request", "control"));
	CHECK(outcome(c, GOOD "&login_hint=a%0ab", OA_AUTHZ_REDIRECT,
	    "invalid_request", "control"));
	CHECK(outcome(c, GOOD "&login_hint=a%01b", OA_AUTHZ_REDIRECT,
	    "invalid_request", "login_hint"));
	CHECK(outcome(c, GOOD "&scope=openid++email", OA_AUTHZ_REDIRECT,
	    "invalid_request", "scope"));
	CHECK(outcome(c, GOOD "&nonce=%C3%A9", OA_AUTHZ_REDIRECT,
	    "invalid_request", "nonce"));
	{
		char q[1024];
		size_t i;

		strcpy(q, GOOD "&nonce=");
		for (i = strlen(q); i < strlen(GOOD "&nonce=") +
		    OA_AUTHZ_NONCE_MAX + 1; i++)
			q[i] = 'n';
		q[i] = '\0';
		CHECK(outcome(c, q, OA_AUTHZ_REDIRECT, "invalid_request",
		    "too long"));
		q[i - 1] = '\0';
		CHECK(outcome(c, q, OA_AUTHZ_OK, NULL, NULL));
	}
	/* A bad state: refused, and not echoed. */
	a = az(c, "client_id=web&redirect_uri=" RURI_E "&state=a%0Db" PKCE);
	CHECK(a != NULL && a->result == OA_AUTHZ_REDIRECT && a->state == NULL);
	oa_authz_free(a);

	/* prompt (OIDC Core §3.1.2.1). */
	CHECK(outcome(c, GOOD "&prompt=none", OA_AUTHZ_OK, NULL, NULL));
	CHECK(outcome(c, GOOD "&prompt=select_account", OA_AUTHZ_OK, NULL,
	    NULL));
	CHECK(outcome(c, GOOD "&prompt=none+login", OA_AUTHZ_REDIRECT,
	    "invalid_request", "prompt"));
	CHECK(outcome(c, GOOD "&prompt=bogus", OA_AUTHZ_REDIRECT,
	    "invalid_request", "prompt"));
	CHECK(outcome(c, GOOD "&prompt=nonelogin", OA_AUTHZ_REDIRECT,
	    "invalid_request", "prompt"));

	/* OIDC Core §6.1, §6.2, §7.2.1. */
	CHECK(outcome(c, GOOD "&request=eyJ", OA_AUTHZ_REDIRECT,
	    "request_not_supported", NULL));
	CHECK(outcome(c, GOOD "&request_uri=https%3A%2F%2Fx", OA_AUTHZ_REDIRECT,
	    "request_uri_not_supported", NULL));
	CHECK(outcome(c, GOOD "&registration=%7B%7D", OA_AUTHZ_REDIRECT,
	    "registration_not_supported", NULL));
	CHECK(outcome(c, GOOD "&discovered=2", OA_AUTHZ_REDIRECT,
	    "invalid_request", "discovered"));
}

/* Descriptions never carry input bytes. */
static void
test_no_reflection(const struct oa_conf *c)
{
	struct oa_authz *a;

	a = az(c, "client_id=%3Cscript%3E&redirect_uri=" RURI_E);
	CHECK(a != NULL && a->result == OA_AUTHZ_PAGE);
	if (a != NULL)
		CHECK(strchr(a->error_description, '<') == NULL &&
		    strstr(a->error_description, "script") == NULL);
	oa_authz_free(a);
	a = az(c, "client_id=evilclient&redirect_uri=" RURI_E);
	CHECK(a != NULL && strstr(a->error_description, "evil") == NULL);
	oa_authz_free(a);
	a = az(c, GOOD "&prompt=evilprompt");
	CHECK(a != NULL && strstr(a->error_description, "evil") == NULL);
	oa_authz_free(a);
}

static void
test_query(const struct oa_conf *c)
{
	struct oa_authz *a, *b;
	char *q;

	a = az(c, GOOD "&nonce=n+1&scope=openid&prompt=login"
	    "&login_hint=x%40y&discovered=1");
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a == NULL || a->result != OA_AUTHZ_OK) {
		oa_authz_free(a);
		return;
	}
	q = oa_authz_query(a);
	CHECK_STR(q, "client_id=web&redirect_uri=" RURI_E
	    "&response_type=code&state=xyz&nonce=n%201"
	    "&code_challenge=" RFC_CHALLENGE "&code_challenge_method=S256"
	    "&scope=openid&prompt=login&login_hint=x%40y");
	/* It parses back to the same request. */
	b = q != NULL ? az(c, q) : NULL;
	CHECK(b != NULL && b->result == OA_AUTHZ_OK);
	if (b != NULL && b->result == OA_AUTHZ_OK) {
		CHECK_STR(b->nonce, "n 1");
		CHECK_STR(b->login_hint, "x@y");
		CHECK(b->discovered == 0);
	}
	oa_authz_free(b);
	free(q);
	oa_authz_free(a);

	/* Omitted client_id / redirect_uri come out resolved. */
	a = az(c, "client_id=spa&response_type=token");
	q = a != NULL ? oa_authz_query(a) : NULL;
	CHECK_STR(q, "client_id=spa&redirect_uri=https%3A%2F%2Fspa.example"
	    ".com%2F&response_type=token");
	free(q);
	oa_authz_free(a);
	/* Nothing for a refused request. */
	a = az(c, "client_id=nope");
	CHECK(a != NULL && oa_authz_query(a) == NULL);
	oa_authz_free(a);
}

static void
test_error_location(void)
{
	char *u;

	u = oa_authz_error_location(RURI, 0, "invalid_request",
	    "code_challenge: missing parameter", "a b&c",
	    "http://127.0.0.1:8080");
	CHECK_STR(u, RURI "?error=invalid_request&error_description="
	    "code_challenge%3A%20missing%20parameter&state=a%20b%26c"
	    "&iss=http%3A%2F%2F127.0.0.1%3A8080");
	free(u);
	u = oa_authz_error_location("https://a.example/cb?x=1", 0,
	    "access_denied", NULL, NULL, "https://auth.example");
	CHECK_STR(u, "https://a.example/cb?x=1&error=access_denied"
	    "&iss=https%3A%2F%2Fauth.example");
	free(u);
	/* RFC 6749 §4.2.2.1: the fragment, the query kept. */
	u = oa_authz_error_location("https://a.example/cb?x=1", 1,
	    "unsupported_response_type", "no", "s", "https://auth.example");
	CHECK_STR(u, "https://a.example/cb?x=1#error=unsupported_response_type"
	    "&error_description=no&state=s&iss=https%3A%2F%2Fauth.example");
	free(u);
	CHECK(oa_authz_error_location(NULL, 0, "x", NULL, NULL, "i") == NULL);
	CHECK(oa_authz_error_location(RURI, 0, NULL, NULL, NULL, "i") == NULL);
	CHECK(oa_authz_error_location(RURI "#f", 0, "x", NULL, NULL,
	    "i") == NULL);
}

static void
test_login_new(const struct oa_conf *c)
{
	struct oa_authz *a;
	struct oa_login *l1, *l2, *ld, *lg;
	char *ch;

	a = az(c, GOOD "&nonce=cn&scope=openid");
	CHECK(a != NULL && a->result == OA_AUTHZ_OK);
	if (a == NULL || a->result != OA_AUTHZ_OK) {
		oa_authz_free(a);
		return;
	}
	l1 = oa_authz_login_new(a, oa_conf_provider(c, "google"), 1000);
	l2 = oa_authz_login_new(a, oa_conf_provider(c, "google"), 1000);
	ld = oa_authz_login_new(a, oa_conf_provider(c, "dev"), 1000);
	lg = oa_authz_login_new(a, oa_conf_provider(c, "github"), 1000);
	CHECK(l1 != NULL && l2 != NULL && ld != NULL && lg != NULL);
	if (l1 != NULL && l2 != NULL && ld != NULL && lg != NULL) {
		CHECK_STR(l1->provider, "google");
		CHECK_STR(l1->client_id, "web");
		CHECK_STR(l1->redirect_uri, RURI);
		CHECK_STR(l1->client_state, "xyz");
		CHECK_STR(l1->client_nonce, "cn");
		CHECK_STR(l1->code_challenge, RFC_CHALLENGE);
		CHECK_STR(l1->response_type, "code");
		CHECK_STR(l1->scope, "openid");
		CHECK(l1->created == 1000);
		/* 256-bit state, RFC 7636 verifier, OIDC nonce; fresh. */
		CHECK(l1->state != NULL && strlen(l1->state) == 43 &&
		    oa_valid_b64url(l1->state, strlen(l1->state)));
		CHECK(l1->verifier != NULL && oa_valid_pkce_verifier(
		    l1->verifier, strlen(l1->verifier)));
		CHECK(l1->nonce != NULL && strlen(l1->nonce) == 43);
		/* Each is the canonical base64url of 32 bytes. */
		{
			const char *enc[] = { l1->state, l1->verifier,
			    l1->nonce };
			size_t k;
			for (k = 0; k < 3; k++) {
				uint8_t *raw = NULL;
				size_t rl = 0;
				char *re = NULL;
				CHECK(enc[k] != NULL && oa_b64url_decode(enc[k],
				    strlen(enc[k]), &raw, &rl) == 0 &&
				    rl == 32 &&
				    (re = oa_b64url_encode(raw, rl)) != NULL &&
				    strcmp(re, enc[k]) == 0);
				free(raw);
				free(re);
			}
		}
		CHECK(strcmp(l1->state, l2->state) != 0);
		CHECK(strcmp(l1->verifier, l2->verifier) != 0);
		CHECK(strcmp(l1->nonce, l2->nonce) != 0);
		/* One random draw split in three: each its own bytes. */
		CHECK(strcmp(l1->state, l1->verifier) != 0);
		CHECK(strcmp(l1->state, l1->nonce) != 0);
		CHECK(strcmp(l1->verifier, l1->nonce) != 0);
		CHECK(strcmp(l1->state, l2->verifier) != 0 &&
		    strcmp(l1->state, l2->nonce) != 0 &&
		    strcmp(l1->verifier, l2->nonce) != 0);
		CHECK(strcmp(lg->state, lg->verifier) != 0 &&
		    strcmp(ld->state, l1->state) != 0);
		ch = oa_sha256_b64(l1->verifier, strlen(l1->verifier));
		CHECK(ch != NULL && oa_valid_pkce_challenge(ch, strlen(ch)));
		free(ch);
		/* GitHub: PKCE but no nonce; dev: neither. */
		CHECK(lg->verifier != NULL && lg->nonce == NULL);
		CHECK(ld->verifier == NULL && ld->nonce == NULL &&
		    ld->state != NULL);
		CHECK_STR(ld->provider, "dev");
	}
	oa_login_free(l1);
	oa_login_free(l2);
	oa_login_free(ld);
	oa_login_free(lg);
	CHECK(oa_authz_login_new(a, NULL, 0) == NULL);
	oa_authz_free(a);
	a = az(c, "client_id=nope");
	CHECK(a != NULL && oa_authz_login_new(a, oa_conf_provider(c,
	    "google"), 0) == NULL);
	oa_authz_free(a);
}

int
main(void)
{
	struct oa_conf *c = conf_of(conf_two), *one = conf_of(conf_one);

	oa_log_set_level(OA_LOG_ERROR);
	CHECK(c != NULL && one != NULL);
	if (c != NULL && one != NULL) {
		test_good(c);
		test_client_page(c, one);
		test_redirect_near_misses(c);
		test_redirect_errors(c);
		test_no_reflection(c);
		test_query(c);
		test_login_new(c);
	}
	test_error_location();
	CHECK(oa_authz_parse(NULL, "", 0) == NULL);
	oa_authz_free(NULL);
	oa_conf_free(c);
	oa_conf_free(one);
	return t_done("authz");
}
