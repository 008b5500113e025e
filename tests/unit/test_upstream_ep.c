/*
 * test_upstream_ep.c - the upstream authorization endpoint
 * (lib/upstream_ep.c): configured, preset and cached-discovery
 * endpoints, the discovery document checks, and the upstream
 * authorization request (RFC 7636 Appendix B for the S256 challenge).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

/* RFC 7636 Appendix B. */
#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static char tmpdir[] = "/tmp/oa-test-upstream-ep.XXXXXX";

static const char conf_fmt[] =
    "issuer = http://127.0.0.1:8080\n"
    "data_dir = %s/data\n"
    "keys_dir = %s/keys\n"
    "[client web]\n"
    "redirect_uris = http://127.0.0.1:5173/cb\n"
    "[provider google]\n"
    "client_id = gid\n"
    "client_secret = gsec\n"
    "[provider github]\n"
    "client_id = hid\n"
    "client_secret = hsec\n"
    "[provider microsoft]\n"
    "client_id = mid\n"
    "client_secret = msec\n"
    "tenant = contoso.onmicrosoft.com\n"
    "[provider gitlab]\n"
    "client_id = lid\n"
    "client_secret = lsec\n"
    "[provider apple]\n"
    "client_id = aid\n"
    "team_id = TEAM\n"
    "key_id = KEY\n"
    "private_key_file = /nonexistent/a.p8\n"
    "[provider corp]\n"
    "type = oidc\n"
    "issuer = https://sso.corp.example/realm\n"
    "client_id = cid\n"
    "client_secret = csec\n"
    "[provider local]\n"
    "type = oidc\n"
    "issuer = http://127.0.0.1:9999\n"
    "client_id = loc\n"
    "client_secret = lsec\n"
    "[provider own]\n"
    "type = oidc\n"
    "issuer = https://sso.own.example\n"
    "authorization_endpoint = https://sso.own.example/authz?tenant=1\n"
    "client_id = oid\n"
    "client_secret = osec\n"
    "[provider plain]\n"
    "type = oauth2\n"
    "authorization_endpoint = https://oauth.example/authorize\n"
    "token_endpoint = https://oauth.example/token\n"
    "userinfo_endpoint = https://oauth.example/me\n"
    "subject_field = id\n"
    "client_id = pid\n"
    "client_secret = psec\n"
    "[provider dev]\n"
    "type = dev\n";

static struct oa_conf *conf;

/* The endpoint of provider name, or NULL; *r gets the result. */
static char *
endpoint(const char *name, enum oa_upstream_ep *r)
{
	char *out = NULL;

	*r = oa_upstream_authorization_endpoint(conf,
	    oa_conf_provider(conf, name), &out);
	return out;
}

static void
test_presets(void)
{
	enum oa_upstream_ep r;
	char *e;

	e = endpoint("google", &r);
	CHECK(r == OA_UPSTREAM_EP_OK);
	CHECK_STR(e, "https://accounts.google.com/o/oauth2/v2/auth");
	free(e);
	e = endpoint("github", &r);
	CHECK(r == OA_UPSTREAM_EP_OK);
	CHECK_STR(e, "https://github.com/login/oauth/authorize");
	free(e);
	e = endpoint("microsoft", &r);
	CHECK(r == OA_UPSTREAM_EP_OK);
	CHECK_STR(e, "https://login.microsoftonline.com/"
	    "contoso.onmicrosoft.com/oauth2/v2.0/authorize");
	free(e);
	e = endpoint("gitlab", &r);
	CHECK_STR(e, "https://gitlab.com/oauth/authorize");
	free(e);
	e = endpoint("apple", &r);
	CHECK_STR(e, "https://appleid.apple.com/auth/authorize");
	free(e);
	/* A configured endpoint wins over discovery. */
	e = endpoint("own", &r);
	CHECK(r == OA_UPSTREAM_EP_OK);
	CHECK_STR(e, "https://sso.own.example/authz?tenant=1");
	free(e);
	e = endpoint("plain", &r);
	CHECK_STR(e, "https://oauth.example/authorize");
	free(e);
	CHECK(oa_upstream_authorization_endpoint(conf, NULL, &e) ==
	    OA_UPSTREAM_EP_ERROR);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void
test_discovery(void)
{
	enum oa_upstream_ep r;
	char *path, *e, dir[256];

	path = oa_upstream_discovery_path(conf, "corp");
	snprintf(dir, sizeof(dir), "%s/data/upstream/corp.discovery.json",
	    tmpdir);
	CHECK_STR(path, dir);
	CHECK(oa_upstream_discovery_path(conf, "../x") == NULL);
	CHECK(oa_upstream_discovery_path(conf, "") == NULL);

	/* No cache yet (not even the directory). */
	e = endpoint("corp", &r);
	CHECK(r == OA_UPSTREAM_EP_MISSING && e == NULL);
	snprintf(dir, sizeof(dir), "%s/data/upstream", tmpdir);
	CHECK(mkdir(dir, 0700) == 0);
	e = endpoint("corp", &r);
	CHECK(r == OA_UPSTREAM_EP_MISSING && e == NULL);

	/* A good document. */
	CHECK(write_file(path, "{\"issuer\":\"https://sso.corp.example/"
	    "realm\",\"authorization_endpoint\":\"https://sso.corp.example/"
	    "realm/auth\",\"token_endpoint\":\"https://x/t\"}\n") == 0);
	e = endpoint("corp", &r);
	CHECK(r == OA_UPSTREAM_EP_OK);
	CHECK_STR(e, "https://sso.corp.example/realm/auth");
	free(e);

	/* Documents that do not count. */
	{
		static const char *const bad[] = {
			/* issuer differs (trailing slash, case, other) */
			"{\"issuer\":\"https://sso.corp.example/realm/\","
			"\"authorization_endpoint\":\"https://a/auth\"}",
			"{\"issuer\":\"https://SSO.corp.example/realm\","
			"\"authorization_endpoint\":\"https://a/auth\"}",
			"{\"authorization_endpoint\":\"https://a/auth\"}",
			"{\"issuer\":1,\"authorization_endpoint\":\"https://a\"}",
			/* endpoint: http off loopback, userinfo, fragment,
			 * other schemes, missing */
			"{\"issuer\":\"https://sso.corp.example/realm\","
			"\"authorization_endpoint\":\"http://a.example/auth\"}",
			"{\"issuer\":\"https://sso.corp.example/realm\","
			"\"authorization_endpoint\":\"https://u@a.example/\"}",
			"{\"issuer\":\"https://sso.corp.example/realm\","
			"\"authorization_endpoint\":\"https://a.example/#f\"}",
			"{\"issuer\":\"https://sso.corp.example/realm\","
			"\"authorization_endpoint\":\"javascript:alert(1)\"}",
			"{\"issuer\":\"https://sso.corp.example/realm\"}",
			/* not one JSON object; duplicate members */
			"[]",
			"{\"issuer\":\"https://sso.corp.example/realm\","
			"\"authorization_endpoint\":\"https://a/auth\"} x",
			"{\"issuer\":\"https://evil.example\","
			"\"issuer\":\"https://sso.corp.example/realm\","
			"\"authorization_endpoint\":\"https://a/auth\"}",
			"",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK(write_file(path, bad[i]) == 0);
			e = endpoint("corp", &r);
			CHECK(r == OA_UPSTREAM_EP_MISSING && e == NULL);
			if (r != OA_UPSTREAM_EP_MISSING)
				fprintf(stderr, "  accepted: %s\n", bad[i]);
			free(e);
			CHECK(oa_upstream_discovery_check(oa_conf_provider(conf,
			    "corp"), bad[i], strlen(bad[i]), NULL) == -1);
		}
	}
	unlink(path);
	free(path);

	/* A loopback upstream may be http. */
	path = oa_upstream_discovery_path(conf, "local");
	CHECK(path != NULL && write_file(path, "{\"issuer\":\"http://127.0.0."
	    "1:9999\",\"authorization_endpoint\":\"http://127.0.0.1:9999/"
	    "auth\"}") == 0);
	e = endpoint("local", &r);
	CHECK(r == OA_UPSTREAM_EP_OK);
	CHECK_STR(e, "http://127.0.0.1:9999/auth");
	free(e);
	if (path != NULL)
		unlink(path);
	free(path);
	rmdir(dir);
}

/* The value of name in the query of url (a fresh parse), or NULL. */
static const struct oa_param_spec up_spec[] = {
	{ "response_type", 0, NULL, 0 }, { "client_id", 0, NULL, 0 },
	{ "redirect_uri", 0, NULL, 0 }, { "scope", 0, NULL, 0 },
	{ "state", 0, NULL, 0 }, { "nonce", 0, NULL, 0 },
	{ "code_challenge", 0, NULL, 0 },
	{ "code_challenge_method", 0, NULL, 0 },
	{ "response_mode", 0, NULL, 0 }, { "prompt", 0, NULL, 0 },
	{ "login_hint", 0, NULL, 0 }, { "login", 0, NULL, 0 },
	{ "tenant", 0, NULL, 0 },
};

static struct oa_params *
query_of(const char *url, const char *base)
{
	size_t bl = strlen(base);

	if (url == NULL || strncmp(url, base, bl) != 0 || url[bl] != '?')
		return NULL;
	return oa_params_parse(up_spec, sizeof(up_spec) / sizeof(up_spec[0]),
	    url + bl + 1, strlen(url + bl + 1));
}

static void
test_authorize_url(void)
{
	struct oa_login l;
	struct oa_params *p;
	char *u;
	const char *g = "https://accounts.google.com/o/oauth2/v2/auth";

	memset(&l, 0, sizeof(l));
	l.state = "st-1";
	l.provider = "google";
	l.verifier = RFC_VERIFIER;
	l.nonce = "no-1";

	u = oa_upstream_authorize_url(conf, oa_conf_provider(conf, "google"),
	    g, &l, "login", "a@b.c");
	p = query_of(u, g);
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	if (p != NULL) {
		CHECK_STR(oa_params_get(p, "response_type"), "code");
		CHECK_STR(oa_params_get(p, "client_id"), "gid");
		CHECK_STR(oa_params_get(p, "redirect_uri"),
		    "http://127.0.0.1:8080/oauth/google/callback");
		CHECK_STR(oa_params_get(p, "scope"), "openid email profile");
		CHECK_STR(oa_params_get(p, "state"), "st-1");
		CHECK_STR(oa_params_get(p, "nonce"), "no-1");
		CHECK_STR(oa_params_get(p, "code_challenge"), RFC_CHALLENGE);
		CHECK_STR(oa_params_get(p, "code_challenge_method"), "S256");
		/* Google has no prompt=login. */
		CHECK_STR(oa_params_get(p, "prompt"), "select_account");
		CHECK_STR(oa_params_get(p, "login_hint"), "a@b.c");
		CHECK(oa_params_get(p, "response_mode") == NULL);
		/* The verifier itself never leaves. */
		CHECK(strstr(u, RFC_VERIFIER) == NULL);
	}
	oa_params_free(p);
	free(u);
	u = oa_upstream_authorize_url(conf, oa_conf_provider(conf, "google"),
	    g, &l, "consent", NULL);
	p = query_of(u, g);
	CHECK(p != NULL && oa_params_get(p, "login_hint") == NULL);
	CHECK_STR(p != NULL ? oa_params_get(p, "prompt") : NULL, "consent");
	oa_params_free(p);
	free(u);

	/* Apple: form_post, no prompt or hint. */
	l.provider = "apple";
	u = oa_upstream_authorize_url(conf, oa_conf_provider(conf, "apple"),
	    "https://appleid.apple.com/auth/authorize", &l, "login", "a@b");
	p = query_of(u, "https://appleid.apple.com/auth/authorize");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(oa_params_get(p, "response_mode"), "form_post");
		CHECK_STR(oa_params_get(p, "scope"), "name email");
		CHECK(oa_params_get(p, "prompt") == NULL);
		CHECK(oa_params_get(p, "login_hint") == NULL);
		CHECK_STR(oa_params_get(p, "redirect_uri"),
		    "http://127.0.0.1:8080/oauth/apple/callback");
	}
	oa_params_free(p);
	free(u);

	/* GitHub: no nonce, "login" for the hint, select_account only. */
	l.nonce = NULL;
	u = oa_upstream_authorize_url(conf, oa_conf_provider(conf, "github"),
	    "https://github.com/login/oauth/authorize", &l, "consent", "octo");
	p = query_of(u, "https://github.com/login/oauth/authorize");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(oa_params_get(p, "nonce") == NULL);
		CHECK_STR(oa_params_get(p, "login"), "octo");
		CHECK(oa_params_get(p, "login_hint") == NULL);
		CHECK(oa_params_get(p, "prompt") == NULL);
		CHECK_STR(oa_params_get(p, "scope"), "read:user user:email");
		CHECK_STR(oa_params_get(p, "code_challenge"), RFC_CHALLENGE);
	}
	oa_params_free(p);
	free(u);

	/* An endpoint with a query keeps it; generic OIDC passes prompt. */
	l.nonce = "n";
	u = oa_upstream_authorize_url(conf, oa_conf_provider(conf, "own"),
	    "https://sso.own.example/authz?tenant=1", &l, "login", "h");
	p = query_of(u, "https://sso.own.example/authz");
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	if (p != NULL) {
		CHECK_STR(oa_params_get(p, "tenant"), "1");
		CHECK_STR(oa_params_get(p, "prompt"), "login");
		CHECK_STR(oa_params_get(p, "login_hint"), "h");
	}
	oa_params_free(p);
	free(u);

	/* A callback URL longer than the stack buffer: still exact. */
	{
		struct oa_conf c2 = *conf;
		char *iss, *want;
		size_t k, n = 700;

		iss = malloc(n + 1);
		want = malloc(n + 64);
		CHECK(iss != NULL && want != NULL);
		if (iss != NULL && want != NULL) {
			memcpy(iss, "https://long.example/", 21);
			for (k = 21; k < n; k++)
				iss[k] = (char)('a' + k % 26);
			iss[n] = '\0';
			snprintf(want, n + 64, "%s/oauth/google/callback", iss);
			c2.issuer = iss;
			u = oa_upstream_authorize_url(&c2,
			    oa_conf_provider(conf, "google"), g, &l, NULL,
			    NULL);
			p = query_of(u, g);
			CHECK_STR(p != NULL ? oa_params_get(p, "redirect_uri") :
			    NULL, want);
			oa_params_free(p);
			free(u);
		}
		free(iss);
		free(want);
	}

	CHECK(oa_upstream_authorize_url(conf, oa_conf_provider(conf, "own"),
	    "https://x/#frag", &l, NULL, NULL) == NULL);
	l.state = NULL;
	CHECK(oa_upstream_authorize_url(conf, oa_conf_provider(conf, "own"),
	    "https://x/", &l, NULL, NULL) == NULL);
}

static void
test_urls(void)
{
	char *u;

	u = oa_upstream_callback_url(conf, "corp");
	CHECK_STR(u, "http://127.0.0.1:8080/oauth/corp/callback");
	free(u);
	u = oa_upstream_discover_url(conf, "corp", "client_id=web&state=x");
	CHECK_STR(u, "http://127.0.0.1:8080/oauth/corp/callback?discover=1"
	    "&client_id=web&state=x");
	free(u);
	u = oa_upstream_discover_url(conf, "corp", NULL);
	CHECK_STR(u, "http://127.0.0.1:8080/oauth/corp/callback?discover=1");
	free(u);

	CHECK(oa_upstream_prompt_none_ok(oa_conf_provider(conf, "google")));
	CHECK(oa_upstream_prompt_none_ok(oa_conf_provider(conf, "corp")));
	CHECK(!oa_upstream_prompt_none_ok(oa_conf_provider(conf, "apple")));
	CHECK(!oa_upstream_prompt_none_ok(oa_conf_provider(conf, "github")));
	CHECK(!oa_upstream_prompt_none_ok(oa_conf_provider(conf, "plain")));
	CHECK(!oa_upstream_prompt_none_ok(oa_conf_provider(conf, "dev")));
}

int
main(void)
{
	char text[4096], err[512], path[512];

	oa_log_set_level(OA_LOG_ERROR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	mkdir(path, 0700);
	snprintf(text, sizeof(text), conf_fmt, tmpdir, tmpdir);
	if (oa_conf_parse("t.conf", text, strlen(text), 0, &conf, err,
	    sizeof(err)) != 0)
		fprintf(stderr, "conf: %s\n", err);
	CHECK(conf != NULL);
	if (conf != NULL) {
		test_presets();
		test_discovery();
		test_authorize_url();
		test_urls();
	}
	oa_conf_free(conf);
	rmdir(path);
	rmdir(tmpdir);
	return t_done("upstream_ep");
}
