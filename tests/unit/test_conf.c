/*
 * test_conf.c - ownauth.conf parsing and validation (lib/conf.c, SPEC §6),
 * plus the log level names and log line format (lib/log.c).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

#define BASE                                                             \
	"issuer = https://auth.example.com\n"                            \
	"data_dir = /srv/oa/data\n"                                      \
	"keys_dir = /srv/oa/keys\n"
/* BASE with an http loopback issuer (for dev providers). */
#define LBASE                                                            \
	"issuer = http://127.0.0.1:8080\n"                               \
	"data_dir = /srv/oa/data\n"                                      \
	"keys_dir = /srv/oa/keys\n"

static char err[1024];
static char tmpdir[64];

/* Parses text (check_files = 0 unless files is set) as "t.conf". */
static struct oa_conf *
parse_f(const char *text, int files)
{
	struct oa_conf *c = NULL;
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int rc;

	/* An exact-size copy with no NUL: ASan sees any read past len. */
	memcpy(copy, text, len);
	err[0] = '\0';
	rc = oa_conf_parse("t.conf", copy, len, files, &c, err, sizeof(err));
	free(copy);
	if (rc != 0) {
		CHECK(c == NULL);
		CHECK(err[0] != '\0');
		return NULL;
	}
	CHECK(err[0] == '\0');
	return c;
}

static struct oa_conf *
parse(const char *text)
{
	return parse_f(text, 0);
}

/* Must parse; prints the error otherwise. */
static struct oa_conf *
ok_conf(const char *text, int line)
{
	struct oa_conf *c = parse(text);

	if (c == NULL)
		fprintf(stderr, "test_conf.c:%d: unexpected error: %s\n", line,
		    err);
	return c;
}
#define OK(text) ok_conf((text), __LINE__)

/* Must fail with a message starting with prefix (and containing sub). */
static void
bad_conf(const char *text, const char *prefix, const char *sub, int files,
    int line)
{
	struct oa_conf *c = parse_f(text, files);

	t_run++;
	if (c != NULL) {
		t_failed++;
		fprintf(stderr, "test_conf.c:%d: FAIL: accepted\n", line);
		oa_conf_free(c);
		return;
	}
	t_run++;
	if (strncmp(err, prefix, strlen(prefix)) != 0 ||
	    (sub != NULL && strstr(err, sub) == NULL)) {
		t_failed++;
		fprintf(stderr, "test_conf.c:%d: FAIL: message\n  got:  %s\n"
		    "  want: %s...%s\n", line, err, prefix, sub ? sub : "");
	}
}
#define BAD(text, prefix, sub) bad_conf((text), (prefix), (sub), 0, __LINE__)
#define BADF(text, prefix, sub) bad_conf((text), (prefix), (sub), 1, __LINE__)

static void
test_defaults(void)
{
	struct oa_conf *c = OK(BASE);

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_STR(c->path, "t.conf");
	CHECK_STR(c->issuer, "https://auth.example.com");
	CHECK_STR(c->data_dir, "/srv/oa/data");
	CHECK_STR(c->keys_dir, "/srv/oa/keys");
	CHECK(c->publish_dir == NULL);
	CHECK(c->access_token_ttl == 3600);
	CHECK(c->session_ttl == 2592000);
	CHECK(c->refresh_idle_ttl == 1209600);
	CHECK(c->refresh_reuse_window == 10);
	CHECK(c->jwks_max_age == 300);
	CHECK(c->key_activation_delay == 600);
	CHECK(c->link_by_verified_email == 0);
	CHECK(c->db_sync == 1);
	CHECK(c->log_level == OA_LOG_INFO);
	CHECK(c->n_clients == 0 && c->clients == NULL);
	CHECK(c->n_providers == 0 && c->providers == NULL);
	CHECK(oa_conf_client(c, "web") == NULL);
	CHECK(oa_conf_provider(c, "google") == NULL);
	CHECK(oa_conf_client(c, NULL) == NULL);
	oa_conf_free(c);
	oa_conf_free(NULL);
	CHECK(oa_conf_client(NULL, "x") == NULL);
	CHECK(oa_conf_provider(NULL, "x") == NULL);
}

static void
test_top_values(void)
{
	struct oa_conf *c;

	c = OK("# a full config\n"
	       "issuer = http://localhost:8080/auth\n"
	       "data_dir = /d/\n"
	       "keys_dir = /k//\n"
	       "publish_dir = /\n"
	       "access_token_ttl = 86400\n"
	       "session_ttl = 315360000\n"
	       "refresh_idle_ttl = 1\n"
	       "refresh_reuse_window = 0\n"
	       "jwks_max_age = 0\n"
	       "key_activation_delay = 5\n"
	       "link_by_verified_email = yes\n"
	       "db_sync = no\n"
	       "log_level = debug\n");
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->issuer, "http://localhost:8080/auth");
		CHECK_STR(c->data_dir, "/d");
		CHECK_STR(c->keys_dir, "/k");
		CHECK_STR(c->publish_dir, "/");
		CHECK(c->access_token_ttl == 86400);
		CHECK(c->session_ttl == 315360000);
		CHECK(c->refresh_idle_ttl == 1);
		CHECK(c->refresh_reuse_window == 0);
		CHECK(c->jwks_max_age == 0);
		CHECK(c->key_activation_delay == 5);
		CHECK(c->link_by_verified_email == 1);
		CHECK(c->db_sync == 0);
		CHECK(c->log_level == OA_LOG_DEBUG);
		oa_conf_free(c);
	}

	/* key_activation_delay defaults to 2 * jwks_max_age; 0 allowed. */
	c = OK(BASE "jwks_max_age = 60\n");
	CHECK(c != NULL && c->key_activation_delay == 120);
	oa_conf_free(c);
	c = OK(BASE "key_activation_delay = 0\njwks_max_age = 60\n");
	CHECK(c != NULL && c->key_activation_delay == 0);
	oa_conf_free(c);
	c = OK(BASE "log_level = error\n");
	CHECK(c != NULL && c->log_level == OA_LOG_ERROR);
	oa_conf_free(c);
	c = OK(BASE "log_level = warn\nlink_by_verified_email = no\n"
		    "db_sync = yes\n");
	CHECK(c != NULL && c->log_level == OA_LOG_WARN && c->db_sync == 1 &&
	    c->link_by_verified_email == 0);
	oa_conf_free(c);

	/* Integers: decimal only, in range, each message names line+key. */
	BAD(BASE "access_token_ttl = abc\n",
	    "t.conf:4: key 'access_token_ttl': ", "not a decimal integer");
	BAD(BASE "access_token_ttl = -1\n",
	    "t.conf:4: key 'access_token_ttl': ", "not a decimal integer");
	BAD(BASE "access_token_ttl = +5\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "access_token_ttl = 0x10\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "access_token_ttl = 010\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "access_token_ttl = 1e3\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "access_token_ttl = 3600s\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "access_token_ttl = 36 00\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "access_token_ttl = 0\n",
	    "t.conf:4: key 'access_token_ttl': ", "out of range");
	BAD(BASE "access_token_ttl = 86401\n",
	    "t.conf:4: key 'access_token_ttl': ", "out of range");
	BAD(BASE "access_token_ttl = 99999999999999999999\n",
	    "t.conf:4: key 'access_token_ttl': ", NULL);
	BAD(BASE "session_ttl = 0\n", "t.conf:4: key 'session_ttl': ",
	    "out of range");
	BAD(BASE "session_ttl = 315360001\n", "t.conf:4: key 'session_ttl': ",
	    "out of range");
	BAD(BASE "refresh_idle_ttl = 0\n",
	    "t.conf:4: key 'refresh_idle_ttl': ", "out of range");
	BAD(BASE "refresh_idle_ttl = 315360001\n",
	    "t.conf:4: key 'refresh_idle_ttl': ", "out of range");
	BAD(BASE "refresh_reuse_window = 301\n",
	    "t.conf:4: key 'refresh_reuse_window': ", "out of range");
	BAD(BASE "refresh_reuse_window = -0\n",
	    "t.conf:4: key 'refresh_reuse_window': ", NULL);
	BAD(BASE "jwks_max_age = 86401\n", "t.conf:4: key 'jwks_max_age': ",
	    "out of range");
	BAD(BASE "key_activation_delay = 31536001\n",
	    "t.conf:4: key 'key_activation_delay': ", "out of range");
	BAD(BASE "key_activation_delay = 1.5\n",
	    "t.conf:4: key 'key_activation_delay': ", NULL);

	/* yes|no, log levels. */
	BAD(BASE "link_by_verified_email = true\n",
	    "t.conf:4: key 'link_by_verified_email': ", "yes or no");
	BAD(BASE "db_sync = YES\n", "t.conf:4: key 'db_sync': ", "yes or no");
	BAD(BASE "db_sync = 1\n", "t.conf:4: key 'db_sync': ", NULL);
	BAD(BASE "log_level = verbose\n", "t.conf:4: key 'log_level': ",
	    "error, warn, info or debug");
	BAD(BASE "log_level = INFO\n", "t.conf:4: key 'log_level': ", NULL);

	/* Paths. */
	BAD("issuer = https://a.example\ndata_dir = data\nkeys_dir = /k\n",
	    "t.conf:2: key 'data_dir': ", "absolute path");
	BAD("issuer = https://a.example\ndata_dir = /d\nkeys_dir = ~/k\n",
	    "t.conf:3: key 'keys_dir': ", "absolute path");
	BAD(BASE "publish_dir = ./www\n", "t.conf:4: key 'publish_dir': ",
	    "absolute path");
}

static void
test_issuer(void)
{
	struct oa_conf *c;
	static const char *const good[] = {
		"https://auth.example.com",
		"https://auth.example.com:8443",
		"https://example.com/auth",
		"https://example.com/a/b",
		"http://localhost:8080",
		"http://127.0.0.1:8080",
		"http://127.0.0.1",
		"http://[::1]:8080",
		"http://[::1]/oa",
		NULL,
	};
	static const char *const bad[] = {
		"https://auth.example.com/",   /* trailing slash */
		"https://example.com/auth/",
		"http://auth.example.com",     /* http, not loopback */
		"http://10.0.0.1:8080",
		"http://127.0.0.1.nip.io",
		"https://auth.example.com?x=1", /* query */
		"https://auth.example.com/?x",
		"https://auth.example.com#f",  /* fragment */
		"https://user@auth.example.com", /* userinfo */
		"auth.example.com",            /* not absolute */
		"/auth",
		"ftp://auth.example.com",
		"HTTPS://auth.example.com",
		"https://",
		"https://auth.example.com:0",
		"https://auth.example.com:99999",
		NULL,
	};
	char text[512];
	size_t i;

	for (i = 0; good[i] != NULL; i++) {
		snprintf(text, sizeof(text), "data_dir = /d\nkeys_dir = /k\n"
		    "issuer = %s\n", good[i]);
		c = OK(text);
		CHECK(c != NULL);
		if (c != NULL)
			CHECK_STR(c->issuer, good[i]);
		oa_conf_free(c);
	}
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(text, sizeof(text), "data_dir = /d\nkeys_dir = /k\n"
		    "issuer = %s\n", bad[i]);
		BAD(text, "t.conf:3: key 'issuer': ", NULL);
	}
	BAD("data_dir = /d\nkeys_dir = /k\nissuer = https://a.example/\n",
	    "t.conf:3: key 'issuer': ", "must not end with '/'");
	BAD("data_dir = /d\nkeys_dir = /k\nissuer = http://a.example\n",
	    "t.conf:3: key 'issuer': ", "loopback");
	BAD("data_dir = /d\nkeys_dir = /k\nissuer = https://a.example?q\n",
	    "t.conf:3: key 'issuer': ", "query");

	/* Required keys: "FILE: key 'KEY': required". */
	BAD("data_dir = /d\nkeys_dir = /k\n", "t.conf: key 'issuer': ",
	    "required");
	BAD("issuer = https://a.example\nkeys_dir = /k\n",
	    "t.conf: key 'data_dir': ", "required");
	BAD("issuer = https://a.example\ndata_dir = /d\n",
	    "t.conf: key 'keys_dir': ", "required");
	BAD("", "t.conf: key 'issuer': required", NULL);
	/* Top-level keys must come before any section. */
	BAD("[client web]\nredirect_uris = https://a.example/cb\n" BASE,
	    "t.conf:3: key 'issuer': unknown key in [client web]",
	    "before the first section");
}

static void
test_syntax(void)
{
	struct oa_conf *c;
	char *long_line;
	size_t n;

	/* Comments, blank lines, whitespace, CRLF. */
	c = parse("# comment\n"
	       "   # indented comment\n"
	       "\n"
	       "  \t \n"
	       "issuer=https://auth.example.com   # trailing comment\n"
	       "\tdata_dir\t=\t/d\t\n"
	       "keys_dir = /k\r\n"
	       "#key = value\n"
	       "[client web] # the web app\n"
	       "redirect_uris = https://app.example.com/cb#x\tcom.a.b:/cb\n"
	       "audience = abc#def\n"
	       "[ client  other ]\n"
	       "redirect_uris=https://app.example.com/cb\n"
	       "audience = abc #def\n"
	       "[provider dev]\n"
	       "type = oidc\n"
	       "issuer = https://sso.example.com\n"
	       "client_id = x\n"
	       "client_secret = pa#ss\twith space #not this\n");
	/* "cb#x" has a '#' inside a word: kept, and refused as a fragment. */
	CHECK(c == NULL);
	CHECK(strncmp(err, "t.conf:10: key 'redirect_uris': ", 32) == 0);

	c = OK("# comment\n"
	       "   # indented comment\n"
	       "\n"
	       "  \t \n"
	       "issuer=https://auth.example.com   # trailing comment\n"
	       "\tdata_dir\t=\t/d\t\n"
	       "keys_dir = /k\r\n"
	       "#key = value\n"
	       "[client web] # the web app\n"
	       "redirect_uris = https://app.example.com/cb\tcom.a.b:/cb\n"
	       "audience = abc#def\n"
	       "[ client  other ]\n"
	       "redirect_uris=https://app.example.com/cb\n"
	       "audience = abc #def\n"
	       "[provider corp]\n"
	       "type = oidc\n"
	       "issuer = https://sso.example.com\n"
	       "client_id = x\n"
	       "client_secret = pa#ss\twith space #not this\n"
	       "# last line without a newline");
	CHECK(c != NULL);
	if (c != NULL) {
		const struct oa_client *w = oa_conf_client(c, "web");
		const struct oa_client *o = oa_conf_client(c, "other");
		const struct oa_provider *p = oa_conf_provider(c, "corp");
		CHECK_STR(c->issuer, "https://auth.example.com");
		CHECK_STR(c->data_dir, "/d");
		CHECK_STR(c->keys_dir, "/k");
		CHECK(c->n_clients == 2);
		CHECK(w != NULL && o != NULL && p != NULL);
		if (w != NULL) {
			CHECK_STR(w->audience, "abc#def");
			CHECK(w->redirect_uris.n == 2);
			if (w->redirect_uris.n == 2) {
				CHECK_STR(w->redirect_uris.v[0],
				    "https://app.example.com/cb");
				CHECK_STR(w->redirect_uris.v[1], "com.a.b:/cb");
			}
		}
		if (o != NULL)
			CHECK_STR(o->audience, "abc");
		if (p != NULL)
			CHECK_STR(p->client_secret, "pa#ss\twith space");
		oa_conf_free(c);
	}

	/* Syntax errors: "FILE:LINE: problem". */
	BAD(BASE "just words\n", "t.conf:4: expected 'key = value'", NULL);
	BAD(BASE "= value\n", "t.conf:4: missing key", NULL);
	BAD(BASE "Issuer = x\n", "t.conf:4: bad key name", NULL);
	BAD(BASE "log level = info\n", "t.conf:4: bad key name", NULL);
	BAD(BASE "[client]\n", "t.conf:4: section [client] needs a name",
	    NULL);
	BAD(BASE "[clients web]\n", "t.conf:4: unknown section [clients]",
	    NULL);
	BAD(BASE "[]\n", "t.conf:4: unknown section", NULL);
	BAD(BASE "[client web\n", "t.conf:4: a section header ends with ']'",
	    NULL);
	BAD(BASE "[client web]]\n", "t.conf:4: section name", NULL);
	BAD(BASE "[client we.b]\n", "t.conf:4: section name 'we.b'", NULL);
	BAD(BASE "[client web app]\n", "t.conf:4: section name", NULL);
	BAD(BASE "[client "
		 "a123456789b123456789c123456789d123456789e123456789f123456789"
		 "g1234]\n",
	    "t.conf:4: section name", "1 to 64");
	c = OK(BASE "[client "
		    "a123456789b123456789c123456789d123456789e123456789f12345678"
		    "9g123]\nredirect_uris = https://a.example/\n");
	CHECK(c != NULL && c->n_clients == 1);
	oa_conf_free(c);
	c = OK(BASE "[client A-z_0-9]\nredirect_uris = https://a.example/\n");
	CHECK(c != NULL && oa_conf_client(c, "A-z_0-9") != NULL);
	oa_conf_free(c);

	/* Empty values are refused, also after a comment is cut. */
	BAD(BASE "publish_dir =\n", "t.conf:4: key 'publish_dir': empty value",
	    NULL);
	BAD(BASE "publish_dir = # none\n",
	    "t.conf:4: key 'publish_dir': empty value", NULL);

	/* Unknown keys. */
	BAD(BASE "jwks_max_ag = 1\n", "t.conf:4: key 'jwks_max_ag': unknown key",
	    NULL);
	BAD(BASE "[client web]\nfoo = 1\n",
	    "t.conf:5: key 'foo': unknown key in [client web]", NULL);
	BAD(BASE "[provider x]\nredirect_uris = https://a.example/\n",
	    "t.conf:5: key 'redirect_uris': unknown key in [provider x]",
	    NULL);

	/* Duplicates: keys in one section, sections of one kind. */
	BAD(BASE "issuer = https://b.example\n",
	    "t.conf:4: key 'issuer': set twice in this section (first at "
	    "line 1)", NULL);
	BAD(BASE "[client web]\nredirect_uris = https://a.example/\n"
		 "audience = a\naudience = b\n",
	    "t.conf:7: key 'audience': set twice", NULL);
	BAD(BASE "[client web]\nredirect_uris = https://a.example/\n"
		 "[client web]\nredirect_uris = https://a.example/\n",
	    "t.conf:6: duplicate section [client web] (first at line 4)", NULL);
	BAD(BASE "[provider dev]\ntype = dev\n[provider dev]\ntype = dev\n",
	    "t.conf:6: duplicate section [provider dev]", NULL);
	/* The same key in two sections, the same name in two kinds: fine. */
	c = parse(LBASE "[client a]\nredirect_uris = https://a.example/\n"
			"[client b]\nredirect_uris = https://a.example/\n"
			"[provider a]\ntype = dev\n");
	CHECK(c != NULL && c->n_clients == 2 && c->n_providers == 1);
	oa_conf_free(c);

	/* Lines: 4096 bytes are fine, 4097 are not. */
	n = 4096;
	long_line = malloc(sizeof(BASE) + n + 2);
	strcpy(long_line, BASE);
	memset(long_line + strlen(BASE), 'x', n);
	long_line[strlen(BASE)] = '#';
	strcpy(long_line + strlen(BASE) + n, "\n");
	c = OK(long_line);
	CHECK(c != NULL);
	oa_conf_free(c);
	long_line[strlen(BASE) + n] = 'y';
	long_line[strlen(BASE) + n + 1] = '\0';
	BAD(long_line, "t.conf:4: line longer than 4096 bytes", NULL);
	free(long_line);

	/* NUL bytes and control characters. */
	{
		static const char nul[] = BASE "log_level = in\0fo\n";
		struct oa_conf *cc = NULL;
		CHECK(oa_conf_parse("t.conf", nul, sizeof(nul) - 1, 0, &cc,
		    err, sizeof(err)) == -1);
		CHECK(cc == NULL);
		CHECK_STR(err, "t.conf:4: NUL byte");
	}
	BAD(BASE "log_level = in\x01" "fo\n", "t.conf:4: control character",
	    NULL);
	BAD(BASE "log_level = info\x1b[0m\n", "t.conf:4: control character",
	    NULL);
	BAD(BASE "log_level = in\rfo\n", "t.conf:4: control character", NULL);
	BAD(BASE "log_level = info\x7f\n", "t.conf:4: control character", NULL);
}

static void
test_clients(void)
{
	struct oa_conf *c;
	const struct oa_client *cl;

	c = OK(BASE "[client web]\n"
		    "redirect_uris = https://app.example.com/auth/callback "
		    "http://localhost:5173/ http://127.0.0.1:9/cb "
		    "http://[::1]/cb com.example.app:/oauth2redirect\n"
		    "allowed_origins = https://app.example.com "
		    "http://localhost:5173 http://[::1]:3000\n"
		    "audience = convex\n"
		    "response_types = code token\n"
		    "refresh_token_delivery = cookie\n"
		    "post_logout_redirect_uris = https://app.example.com/\n"
		    "[client cli]\n"
		    "redirect_uris = http://127.0.0.1:8765/cb\n");
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(c->n_clients == 2);
	cl = oa_conf_client(c, "web");
	CHECK(cl != NULL);
	if (cl != NULL) {
		CHECK_STR(cl->name, "web");
		CHECK(cl->redirect_uris.n == 5);
		if (cl->redirect_uris.n == 5)
			CHECK_STR(cl->redirect_uris.v[4],
			    "com.example.app:/oauth2redirect");
		CHECK(cl->allowed_origins.n == 3);
		if (cl->allowed_origins.n == 3)
			CHECK_STR(cl->allowed_origins.v[1],
			    "http://localhost:5173");
		CHECK_STR(cl->audience, "convex");
		CHECK(cl->allow_code == 1 && cl->allow_token == 1);
		CHECK(cl->refresh_delivery == OA_DELIVERY_COOKIE);
		CHECK(cl->post_logout_redirect_uris.n == 1);
	}
	cl = oa_conf_client(c, "cli");
	CHECK(cl != NULL);
	if (cl != NULL) {
		/* Defaults. */
		CHECK_STR(cl->audience, "cli");
		CHECK(cl->allow_code == 1 && cl->allow_token == 0);
		CHECK(cl->refresh_delivery == OA_DELIVERY_BODY);
		CHECK(cl->allowed_origins.n == 0);
		CHECK(cl->post_logout_redirect_uris.n == 0);
	}
	CHECK(oa_conf_client(c, "nope") == NULL);
	CHECK(oa_conf_client(c, "WEB") == NULL);
	oa_conf_free(c);

	c = OK(BASE "[client w]\nredirect_uris = https://a.example/\n"
		    "response_types = token\nrefresh_token_delivery = body\n");
	CHECK(c != NULL && c->clients[0].allow_code == 0 &&
	    c->clients[0].allow_token == 1 &&
	    c->clients[0].refresh_delivery == OA_DELIVERY_BODY);
	oa_conf_free(c);

	/* redirect_uris: required, each checked, the line and key named. */
	BAD(BASE "[client web]\naudience = x\n",
	    "t.conf:4: key 'redirect_uris': required in [client web]", NULL);
#define RU(v) BASE "[client web]\nredirect_uris = " v "\n"
	BAD(RU("http://app.example.com/cb"), "t.conf:5: key 'redirect_uris': "
	    "'http://app.example.com/cb' must be https", NULL);
	BAD(RU("https://app.example.com/cb#frag"),
	    "t.conf:5: key 'redirect_uris': ", "fragment");
	BAD(RU("https://user@app.example.com/cb"),
	    "t.conf:5: key 'redirect_uris': ", NULL);
	BAD(RU("javascript:alert(1)"), "t.conf:5: key 'redirect_uris': ",
	    "reverse domain name");
	BAD(RU("data:text/html,x"), "t.conf:5: key 'redirect_uris': ", NULL);
	BAD(RU("file:///etc/passwd"), "t.conf:5: key 'redirect_uris': ", NULL);
	BAD(RU("myapp:/cb"), "t.conf:5: key 'redirect_uris': ",
	    "reverse domain name");
	BAD(RU("com.example.app:"), "t.conf:5: key 'redirect_uris': ", NULL);
	BAD(RU("/relative/cb"), "t.conf:5: key 'redirect_uris': ",
	    "absolute URL");
	BAD(RU("app.example.com/cb"), "t.conf:5: key 'redirect_uris': ",
	    "absolute URL");
	BAD(RU("1com.example:/cb"), "t.conf:5: key 'redirect_uris': ", NULL);
	BAD(RU("HTTPS://app.example.com/cb"), "t.conf:5: key 'redirect_uris': ",
	    NULL);
	BAD(RU("https://app.example.com/\xc3\xa9"),
	    "t.conf:5: key 'redirect_uris': ", NULL);
	BAD(RU("https://a.example/cb https://a.example/cb"),
	    "t.conf:5: key 'redirect_uris': ", "listed twice");
	BAD(BASE "[client web]\nredirect_uris = https://a.example/\n"
		 "post_logout_redirect_uris = http://a.example/\n",
	    "t.conf:6: key 'post_logout_redirect_uris': ", "https");

	/* allowed_origins: scheme://host[:port], no path. */
#define AO(v) RU("https://a.example/") "allowed_origins = " v "\n"
	BAD(AO("https://app.example.com/"), "t.conf:6: key 'allowed_origins': ",
	    "no path");
	BAD(AO("https://app.example.com/x"), "t.conf:6: key 'allowed_origins': ",
	    NULL);
	BAD(AO("*"), "t.conf:6: key 'allowed_origins': ", NULL);
	BAD(AO("null"), "t.conf:6: key 'allowed_origins': ", NULL);
	BAD(AO("app.example.com"), "t.conf:6: key 'allowed_origins': ", NULL);
	BAD(AO("http://app.example.com"), "t.conf:6: key 'allowed_origins': ",
	    "https");
	BAD(AO("https://u@app.example.com"),
	    "t.conf:6: key 'allowed_origins': ", NULL);
	BAD(AO("https://app.example.com?x"),
	    "t.conf:6: key 'allowed_origins': ", NULL);

	/* Other client keys. */
	BAD(RU("https://a.example/") "audience = two words\n",
	    "t.conf:6: key 'audience': ", NULL);
	BAD(RU("https://a.example/") "response_types = code id_token\n",
	    "t.conf:6: key 'response_types': 'id_token' is not code or token",
	    NULL);
	BAD(RU("https://a.example/") "response_types = code code\n",
	    "t.conf:6: key 'response_types': ", "twice");
	BAD(RU("https://a.example/") "refresh_token_delivery = header\n",
	    "t.conf:6: key 'refresh_token_delivery': ", "body or cookie");
#undef AO
#undef RU
}

static void
test_presets(void)
{
	struct oa_conf *c;
	const struct oa_provider *p;

	c = OK(BASE "[provider google]\nclient_id = g.apps\n"
		    "client_secret = gsecret\n"
		    "[provider github]\nclient_id = gh\nclient_secret = s\n"
		    "[provider microsoft]\nclient_id = ms\nclient_secret = s\n"
		    "[provider gitlab]\nclient_id = gl\nclient_secret = s\n"
		    "[provider apple]\nclient_id = com.example.web\n"
		    "team_id = TEAM123456\nkey_id = KEY1234567\n"
		    "private_key_file = /srv/oa/apple.p8\n");
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(c->n_providers == 5);

	p = oa_conf_provider(c, "google");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(p->preset, "google");
		CHECK(p->type == OA_PROV_OIDC);
		CHECK_STR(p->issuer, "https://accounts.google.com");
		CHECK_STR(p->scope, "openid email profile");
		CHECK_STR(p->display_name, "Google");
		CHECK_STR(p->client_id, "g.apps");
		CHECK_STR(p->client_secret, "gsecret");
		CHECK(p->authorization_endpoint == NULL);
	}
	p = oa_conf_provider(c, "github");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(p->preset, "github");
		CHECK(p->type == OA_PROV_GITHUB);
		CHECK_STR(p->authorization_endpoint,
		    "https://github.com/login/oauth/authorize");
		CHECK_STR(p->token_endpoint,
		    "https://github.com/login/oauth/access_token");
		CHECK_STR(p->userinfo_endpoint, "https://api.github.com/user");
		CHECK_STR(p->emails_endpoint,
		    "https://api.github.com/user/emails");
		CHECK_STR(p->scope, "read:user user:email");
		CHECK_STR(p->display_name, "GitHub");
		CHECK(p->issuer == NULL);
	}
	p = oa_conf_provider(c, "microsoft");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->type == OA_PROV_OIDC);
		CHECK_STR(p->tenant, "common");
		CHECK_STR(p->issuer,
		    "https://login.microsoftonline.com/common/v2.0");
		CHECK_STR(p->scope, "openid email profile");
		CHECK_STR(p->display_name, "Microsoft");
	}
	p = oa_conf_provider(c, "gitlab");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->type == OA_PROV_OIDC);
		CHECK_STR(p->issuer, "https://gitlab.com");
		CHECK_STR(p->display_name, "GitLab");
	}
	p = oa_conf_provider(c, "apple");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->type == OA_PROV_OIDC);
		CHECK_STR(p->issuer, "https://appleid.apple.com");
		CHECK_STR(p->scope, "name email");
		CHECK_STR(p->team_id, "TEAM123456");
		CHECK_STR(p->key_id, "KEY1234567");
		CHECK_STR(p->private_key_file, "/srv/oa/apple.p8");
		CHECK(p->client_secret == NULL);
	}
	oa_conf_free(c);

	/* Overrides win over preset defaults. */
	c = OK(BASE "[provider microsoft]\nclient_id = ms\n"
		    "tenant = contoso.onmicrosoft.com\n"
		    "[provider google]\nclient_id = g\nscope = openid email\n"
		    "display_name = Sign in with Google\n"
		    "[provider github]\nclient_id = g\n"
		    "authorization_endpoint = https://ghe.example/login/oauth/"
		    "authorize\n");
	CHECK(c != NULL);
	if (c != NULL) {
		p = oa_conf_provider(c, "microsoft");
		CHECK(p != NULL && p->issuer != NULL &&
		    strcmp(p->issuer, "https://login.microsoftonline.com/"
		    "contoso.onmicrosoft.com/v2.0") == 0);
		p = oa_conf_provider(c, "google");
		CHECK(p != NULL && strcmp(p->scope, "openid email") == 0 &&
		    strcmp(p->display_name, "Sign in with Google") == 0);
		p = oa_conf_provider(c, "github");
		CHECK(p != NULL && strcmp(p->authorization_endpoint,
		    "https://ghe.example/login/oauth/authorize") == 0 &&
		    strcmp(p->token_endpoint,
		    "https://github.com/login/oauth/access_token") == 0);
		oa_conf_free(c);
	}

	/* A preset's own type may be repeated, not changed. */
	c = OK(BASE "[provider google]\ntype = oidc\nclient_id = g\n");
	CHECK(c != NULL);
	oa_conf_free(c);
	BAD(BASE "[provider google]\ntype = oauth2\nclient_id = g\n",
	    "t.conf:5: key 'type': [provider google] is a preset of type oidc",
	    NULL);
	/* client_id is required for presets. */
	BAD(BASE "[provider google]\nclient_secret = s\n",
	    "t.conf:4: key 'client_id': required in [provider google]", NULL);
	/* Apple: the key instead of a secret. */
	BAD(BASE "[provider apple]\nclient_id = a\nteam_id = T\nkey_id = K\n",
	    "t.conf:4: key 'private_key_file': required in [provider apple]",
	    NULL);
	BAD(BASE "[provider apple]\nclient_id = a\nkey_id = K\n"
		 "private_key_file = /k.p8\n",
	    "t.conf:4: key 'team_id': required", NULL);
	BAD(BASE "[provider apple]\nclient_id = a\nteam_id = T\nkey_id = K\n"
		 "private_key_file = /k.p8\nclient_secret = s\n",
	    "t.conf:9: key 'client_secret': not for apple", NULL);
	/* Keys for another kind of provider. */
	BAD(BASE "[provider google]\nclient_id = g\ntenant = common\n",
	    "t.conf:6: key 'tenant': only for the microsoft preset", NULL);
	BAD(BASE "[provider google]\nclient_id = g\nteam_id = T\n",
	    "t.conf:6: key 'team_id': only for the apple preset", NULL);
	BAD(BASE "[provider google]\nclient_id = g\nsubject_field = id\n",
	    "t.conf:6: key 'subject_field': only for type oauth2", NULL);
	BAD(BASE "[provider google]\nclient_id = g\n"
		 "emails_endpoint = https://a.example/e\n",
	    "t.conf:6: key 'emails_endpoint': only for type github", NULL);
	BAD(BASE "[provider microsoft]\nclient_id = g\ntenant = a/b\n",
	    "t.conf:6: key 'tenant': ", NULL);
}

static void
test_providers(void)
{
	struct oa_conf *c;
	const struct oa_provider *p;

	/* Generic oidc: issuer, or the three endpoints. */
	c = OK(BASE "[provider corp]\ntype = oidc\n"
		    "issuer = https://sso.corp.example\nclient_id = c\n"
		    "client_secret = s\n"
		    "[provider corp2]\ntype = oidc\nclient_id = c\n"
		    "authorization_endpoint = https://sso.example/auth\n"
		    "token_endpoint = https://sso.example/token\n"
		    "jwks_uri = https://sso.example/jwks\n"
		    "[provider local]\ntype = oidc\nclient_id = c\n"
		    "issuer = http://127.0.0.1:4000/op/\n");
	CHECK(c != NULL);
	if (c != NULL) {
		p = oa_conf_provider(c, "corp");
		CHECK(p != NULL && p->preset == NULL &&
		    p->type == OA_PROV_OIDC);
		if (p != NULL) {
			CHECK_STR(p->scope, "openid email profile");
			CHECK_STR(p->display_name, "corp");
			CHECK_STR(p->issuer, "https://sso.corp.example");
		}
		p = oa_conf_provider(c, "corp2");
		CHECK(p != NULL && p->issuer == NULL &&
		    p->jwks_uri != NULL);
		p = oa_conf_provider(c, "local");
		CHECK(p != NULL && p->issuer != NULL &&
		    strcmp(p->issuer, "http://127.0.0.1:4000/op/") == 0);
		oa_conf_free(c);
	}
	BAD(BASE "[provider corp]\ntype = oidc\nclient_id = c\n"
		 "authorization_endpoint = https://sso.example/auth\n"
		 "token_endpoint = https://sso.example/token\n",
	    "t.conf:4: key 'issuer': required in [provider corp]", NULL);
	BAD(BASE "[provider corp]\nclient_id = c\n",
	    "t.conf:4: key 'type': required in [provider corp]", NULL);
	BAD(BASE "[provider corp]\ntype = saml\n",
	    "t.conf:5: key 'type': 'saml' must be oidc, github, oauth2 or dev",
	    NULL);
	BAD(BASE "[provider corp]\ntype = oidc\nissuer = https://s.example\n",
	    "t.conf:4: key 'client_id': required in [provider corp]", NULL);

	/* Endpoints: https, or http on loopback only. */
	BAD(BASE "[provider corp]\ntype = oidc\nclient_id = c\n"
		 "issuer = http://sso.corp.example\n",
	    "t.conf:7: key 'issuer': ", "https");
	BAD(BASE "[provider corp]\ntype = oidc\nclient_id = c\n"
		 "issuer = https://sso.example/?tenant=x\n",
	    "t.conf:7: key 'issuer': ", "query");
	BAD(BASE "[provider corp]\ntype = oidc\nclient_id = c\n"
		 "issuer = https://sso.example\n"
		 "token_endpoint = http://sso.example/token\n",
	    "t.conf:8: key 'token_endpoint': ", "https");
	BAD(BASE "[provider corp]\ntype = oidc\nclient_id = c\n"
		 "issuer = https://sso.example\n"
		 "jwks_uri = https://sso.example/jwks#x\n",
	    "t.conf:8: key 'jwks_uri': ", "fragment");
	BAD(BASE "[provider corp]\ntype = oidc\nclient_id = c\n"
		 "issuer = https://sso.example\n"
		 "userinfo_endpoint = https://u:p@sso.example/ui\n",
	    "t.conf:8: key 'userinfo_endpoint': ", NULL);
	BAD(BASE "[provider github]\nclient_id = c\n"
		 "emails_endpoint = http://api.example/emails\n",
	    "t.conf:6: key 'emails_endpoint': ", "https");

	/* oauth2: endpoints and subject_field. */
	c = OK(BASE "[provider acme]\ntype = oauth2\nclient_id = c\n"
		    "client_secret = s\n"
		    "authorization_endpoint = https://acme.example/authorize\n"
		    "token_endpoint = https://acme.example/token\n"
		    "userinfo_endpoint = https://acme.example/me?fields=id\n"
		    "subject_field = id\nemail_field = mail\n"
		    "name_field = display_name\npicture_field = avatar.url\n"
		    "scope = profile   email\n");
	CHECK(c != NULL);
	if (c != NULL) {
		p = oa_conf_provider(c, "acme");
		CHECK(p != NULL && p->type == OA_PROV_OAUTH2);
		if (p != NULL) {
			CHECK_STR(p->subject_field, "id");
			CHECK_STR(p->email_field, "mail");
			CHECK_STR(p->name_field, "display_name");
			CHECK_STR(p->picture_field, "avatar.url");
			CHECK_STR(p->scope, "profile email");
			CHECK_STR(p->userinfo_endpoint,
			    "https://acme.example/me?fields=id");
		}
		oa_conf_free(c);
	}
#define O2 BASE "[provider acme]\ntype = oauth2\nclient_id = c\n"
	BAD(O2 "authorization_endpoint = https://a.example/a\n"
	       "token_endpoint = https://a.example/t\n"
	       "userinfo_endpoint = https://a.example/u\n",
	    "t.conf:4: key 'subject_field': required in [provider acme]",
	    NULL);
	BAD(O2 "authorization_endpoint = https://a.example/a\n"
	       "userinfo_endpoint = https://a.example/u\nsubject_field = id\n",
	    "t.conf:4: key 'token_endpoint': required", NULL);
	BAD(O2 "token_endpoint = https://a.example/t\n"
	       "userinfo_endpoint = https://a.example/u\nsubject_field = id\n",
	    "t.conf:4: key 'authorization_endpoint': required", NULL);
	BAD(O2 "authorization_endpoint = https://a.example/a\n"
	       "token_endpoint = https://a.example/t\nsubject_field = id\n",
	    "t.conf:4: key 'userinfo_endpoint': required", NULL);
	BAD(O2 "scope = openid \"x\"\n", "t.conf:7: key 'scope': ", NULL);
#undef O2

	/* A generic github-type provider gets github.com's endpoints. */
	c = OK(BASE "[provider ghe]\ntype = github\nclient_id = c\n"
		    "token_endpoint = https://ghe.example/login/oauth/token\n");
	CHECK(c != NULL);
	if (c != NULL) {
		p = oa_conf_provider(c, "ghe");
		CHECK(p != NULL && p->preset == NULL &&
		    p->type == OA_PROV_GITHUB);
		if (p != NULL) {
			CHECK_STR(p->token_endpoint,
			    "https://ghe.example/login/oauth/token");
			CHECK_STR(p->userinfo_endpoint,
			    "https://api.github.com/user");
		}
		oa_conf_free(c);
	}

	/* Secrets: exclusive, and never in a message. */
	BAD(BASE "[provider google]\nclient_id = g\n"
		 "client_secret = SUPERSECRET\n"
		 "client_secret_file = /srv/oa/google.secret\n",
	    "t.conf:7: key 'client_secret_file': ", "exclusive");
	CHECK(strstr(err, "SUPERSECRET") == NULL);
	BAD(BASE "[provider google]\nclient_id = g\n"
		 "client_secret_file = /srv/oa/google.secret\n"
		 "client_secret = SUPERSECRET\n",
	    "t.conf:7: key 'client_secret': ", "exclusive");
	CHECK(strstr(err, "SUPERSECRET") == NULL);
	BAD(BASE "[provider google]\nclient_id = g\n"
		 "client_secret = SUPERSECRET\nclient_secret = SECOND\n",
	    "t.conf:7: key 'client_secret': set twice", NULL);
	CHECK(strstr(err, "SUPERSECRET") == NULL);
	CHECK(strstr(err, "SECOND") == NULL);
	BAD(BASE "[provider google]\nclient_id = g\n"
		 "client_secret_file = google.secret\n",
	    "t.conf:6: key 'client_secret_file': ", "absolute");
	/* Without check_files the file is recorded, not read. */
	c = OK(BASE "[provider google]\nclient_id = g\n"
		    "client_secret_file = /nonexistent/google.secret\n");
	CHECK(c != NULL);
	if (c != NULL) {
		p = oa_conf_provider(c, "google");
		CHECK(p != NULL && p->client_secret == NULL &&
		    p->client_secret_file != NULL &&
		    strcmp(p->client_secret_file,
		    "/nonexistent/google.secret") == 0);
		oa_conf_free(c);
	}

	/* Other value checks. */
	BAD(BASE "[provider google]\nclient_id = two words\n",
	    "t.conf:5: key 'client_id': ", NULL);
	BAD(BASE "[provider google]\nclient_id = g\ndisplay_name = \xff\xfe\n",
	    "t.conf:6: key 'display_name': ", "UTF-8");
	BAD(BASE "[provider google]\nclient_id = g\ndisplay_name = \xc0\xaf\n",
	    "t.conf:6: key 'display_name': ", "UTF-8");
	c = OK(BASE "[provider google]\nclient_id = g\n"
		    "display_name = Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale\n");
	CHECK(c != NULL);
	oa_conf_free(c);
}

static void
test_dev(void)
{
	struct oa_conf *c;
	const struct oa_provider *p;
	static const char *const loop[] = {
		"http://127.0.0.1:8080", "http://localhost:8080",
		"http://[::1]:8080", "https://localhost", NULL,
	};
	char text[512];
	size_t i;

	for (i = 0; loop[i] != NULL; i++) {
		snprintf(text, sizeof(text), "issuer = %s\ndata_dir = /d\n"
		    "keys_dir = /k\n[provider dev]\ntype = dev\n", loop[i]);
		c = OK(text);
		CHECK(c != NULL);
		if (c == NULL)
			continue;
		p = oa_conf_provider(c, "dev");
		CHECK(p != NULL && p->type == OA_PROV_DEV &&
		    p->client_id == NULL && p->preset == NULL);
		if (p != NULL)
			CHECK_STR(p->display_name, "dev");
		oa_conf_free(c);
	}
	/* Refused on a public issuer; the message names line and key. */
	BAD(BASE "[provider dev]\ndisplay_name = Dev\ntype = dev\n",
	    "t.conf:6: key 'type': dev is refused unless the issuer's host "
	    "is a loopback address", NULL);
	BAD("issuer = https://127.0.0.1.nip.io\ndata_dir = /d\nkeys_dir = /k\n"
	    "[provider test]\ntype = dev\n",
	    "t.conf:5: key 'type': dev is refused", NULL);
}

/* ---- files: permissions, secret files, oa_conf_load ------------- */

static const char *
tpath(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void
put(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(data);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, data, len) == (ssize_t)len);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void
test_files(void)
{
	struct oa_conf *c = NULL;
	const struct oa_provider *p;
	char text[1024];
	int i;
	static const struct {
		const char *content;
		const char *want;
	} secrets[] = {
		{ "s3cret\n", "s3cret" },
		{ "s3cret", "s3cret" },
		{ "s3cret\r\n", "s3cret" },
		{ "two\n\n", "two\n" },
		{ "  spaced #x \n", "  spaced #x " },
	};

	/* client_secret_file: read, one final newline dropped. */
	for (i = 0; i < (int)(sizeof(secrets) / sizeof(secrets[0])); i++) {
		put(tpath("g.secret"), secrets[i].content, 0600);
		snprintf(text, sizeof(text), BASE "[provider google]\n"
		    "client_id = g\nclient_secret_file = %s\n",
		    tpath("g.secret"));
		c = parse_f(text, 1);
		CHECK(c != NULL);
		if (c == NULL) {
			fprintf(stderr, "  %s\n", err);
			continue;
		}
		p = oa_conf_provider(c, "google");
		CHECK(p != NULL);
		if (p != NULL)
			CHECK_STR(p->client_secret, secrets[i].want);
		oa_conf_free(c);
	}
	/* Group/other-readable secret file: refused, path and mode named. */
	put(tpath("g.secret"), "s3cret\n", 0640);
	snprintf(text, sizeof(text), BASE "[provider google]\nclient_id = g\n"
	    "client_secret_file = %s\n", tpath("g.secret"));
	BADF(text, "t.conf:6: key 'client_secret_file': ", "mode 0640");
	CHECK(strstr(err, tpath("g.secret")) != NULL);
	CHECK(strstr(err, "s3cret") == NULL);
	/* Empty or missing secret file. */
	put(tpath("g.secret"), "\n", 0600);
	BADF(text, "t.conf:6: key 'client_secret_file': ", "empty");
	unlink(tpath("g.secret"));
	BADF(text, "t.conf:6: key 'client_secret_file': ", "No such file");

	/* Apple's private_key_file must be private too. */
	put(tpath("apple.p8"), "-----BEGIN PRIVATE KEY-----\n", 0644);
	snprintf(text, sizeof(text), BASE "[provider apple]\nclient_id = a\n"
	    "team_id = T\nkey_id = K\nprivate_key_file = %s\n",
	    tpath("apple.p8"));
	BADF(text, "t.conf:8: key 'private_key_file': ", "mode 0644");
	CHECK(chmod(tpath("apple.p8"), 0600) == 0);
	c = parse_f(text, 1);
	CHECK(c != NULL);
	oa_conf_free(c);

	/* oa_conf_load: private file, named in every message. */
	put(tpath("ok.conf"), BASE "[client web]\n"
	    "redirect_uris = https://app.example.com/cb\n", 0600);
	c = NULL;
	CHECK(oa_conf_load(tpath("ok.conf"), &c, err, sizeof(err)) == 0);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->path, tpath("ok.conf"));
		CHECK(oa_conf_client(c, "web") != NULL);
		oa_conf_free(c);
	}
	c = NULL;
	CHECK(chmod(tpath("ok.conf"), 0644) == 0);
	CHECK(oa_conf_load(tpath("ok.conf"), &c, err, sizeof(err)) == -1);
	CHECK(c == NULL);
	CHECK(strncmp(err, tpath("ok.conf"), strlen(tpath("ok.conf"))) == 0);
	CHECK(strstr(err, "mode 0644") != NULL);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(chmod(tpath("ok.conf"), 0604) == 0);
	CHECK(oa_conf_load(tpath("ok.conf"), &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0604") != NULL);
	CHECK(chmod(tpath("ok.conf"), 0620) == 0);
	CHECK(oa_conf_load(tpath("ok.conf"), &c, err, sizeof(err)) == -1);
	CHECK(chmod(tpath("ok.conf"), 0400) == 0);
	CHECK(oa_conf_load(tpath("ok.conf"), &c, err, sizeof(err)) == 0);
	oa_conf_free(c);
	c = NULL;

	/* Missing file, a directory. */
	CHECK(oa_conf_load(tpath("missing.conf"), &c, err, sizeof(err)) == -1);
	CHECK(strncmp(err, tpath("missing.conf"),
	    strlen(tpath("missing.conf"))) == 0);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(oa_conf_load(tmpdir, &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK(oa_conf_load(NULL, &c, err, sizeof(err)) == -1);
	CHECK(c == NULL);

	/* A bad value: "PATH:LINE: key 'KEY': problem". */
	put(tpath("bad.conf"), BASE "\n# c\njwks_max_age = soon\n", 0600);
	CHECK(oa_conf_load(tpath("bad.conf"), &c, err, sizeof(err)) == -1);
	snprintf(text, sizeof(text), "%s:6: key 'jwks_max_age': ",
	    tpath("bad.conf"));
	CHECK(strncmp(err, text, strlen(text)) == 0);

	/* The loader checks files: a 0644 secret file is refused. */
	put(tpath("s.secret"), "x\n", 0644);
	snprintf(text, sizeof(text), BASE "[provider google]\nclient_id = g\n"
	    "client_secret_file = %s\n", tpath("s.secret"));
	put(tpath("s.conf"), text, 0600);
	CHECK(oa_conf_load(tpath("s.conf"), &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0644") != NULL);
	CHECK(chmod(tpath("s.secret"), 0600) == 0);
	CHECK(oa_conf_load(tpath("s.conf"), &c, err, sizeof(err)) == 0);
	if (c != NULL) {
		p = oa_conf_provider(c, "google");
		CHECK(p != NULL && p->client_secret != NULL &&
		    strcmp(p->client_secret, "x") == 0);
		oa_conf_free(c);
	}
	c = NULL;

	/* NULL or tiny error buffers are safe. */
	CHECK(oa_conf_load(tpath("missing.conf"), &c, NULL, 0) == -1);
	CHECK(oa_conf_parse("t.conf", "x", 1, 0, &c, NULL, 0) == -1);
	CHECK(oa_conf_parse("t.conf", "x", 1, 0, &c, err, 5) == -1);
	CHECK_STR(err, "t.co");
	CHECK(c == NULL);

	unlink(tpath("g.secret"));
	unlink(tpath("apple.p8"));
	unlink(tpath("ok.conf"));
	unlink(tpath("bad.conf"));
	unlink(tpath("s.secret"));
	unlink(tpath("s.conf"));
}

static void
test_default_path(void)
{
	setenv("OWNAUTH_CONF", "/tmp/x/ownauth.conf", 1);
	CHECK_STR(oa_conf_default_path(), "/tmp/x/ownauth.conf");
	setenv("OWNAUTH_CONF", "", 1);
	CHECK_STR(oa_conf_default_path(), OA_CONF_PATH);
	unsetenv("OWNAUTH_CONF");
	CHECK_STR(oa_conf_default_path(), OA_CONF_PATH);
}

/* ---- log.c -------------------------------------------------------- */

static void
test_log(void)
{
	enum oa_log_level l = OA_LOG_ERROR;
	char buf[4096], big[3000];
	int saved, fd;
	ssize_t n;
	const char *path = tpath("log.txt");

	CHECK(oa_log_level_parse("error", &l) == 0 && l == OA_LOG_ERROR);
	CHECK(oa_log_level_parse("warn", &l) == 0 && l == OA_LOG_WARN);
	CHECK(oa_log_level_parse("info", &l) == 0 && l == OA_LOG_INFO);
	CHECK(oa_log_level_parse("debug", &l) == 0 && l == OA_LOG_DEBUG);
	l = OA_LOG_WARN;
	CHECK(oa_log_level_parse("Info", &l) == -1 && l == OA_LOG_WARN);
	CHECK(oa_log_level_parse("warning", &l) == -1);
	CHECK(oa_log_level_parse("", &l) == -1);
	CHECK(oa_log_level_parse(NULL, &l) == -1);

	/* Capture stderr in a file. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(saved >= 0 && fd >= 0);
	if (saved < 0 || fd < 0)
		return;
	dup2(fd, STDERR_FILENO);
	oa_log_set_prog("test_conf");
	oa_log_set_level(OA_LOG_WARN);
	oa_log(OA_LOG_INFO, "hidden %d", 1);
	oa_log(OA_LOG_DEBUG, "hidden %d", 2);
	oa_log(OA_LOG_WARN, "two\nlines\r%s", "!");
	oa_log(OA_LOG_ERROR, "err %s", "x");
	oa_log_set_level(OA_LOG_DEBUG);
	oa_log(OA_LOG_DEBUG, "dbg");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	oa_log(OA_LOG_INFO, "%s", big);
	oa_log_set_prog(NULL);
	oa_log(OA_LOG_INFO, "default prog");
	oa_log_set_level(OA_LOG_INFO);
	dup2(saved, STDERR_FILENO);
	close(saved);

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	CHECK(n > 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	{
		const char *want = "test_conf: warn: two?lines?!\n"
				   "test_conf: error: err x\n"
				   "test_conf: debug: dbg\n"
				   "test_conf: info: aaa";
		char *tail, *nl;
		CHECK(strncmp(buf, want, strlen(want)) == 0);
		CHECK(strstr(buf, "hidden") == NULL);
		/* The long line is cut to 2047 bytes + '\n', ending "...". */
		tail = strstr(buf, "test_conf: info: aaa");
		nl = tail != NULL ? strchr(tail, '\n') : NULL;
		CHECK(nl != NULL && nl - tail == 2046);
		CHECK(nl != NULL && strncmp(nl - 3, "...", 3) == 0);
		CHECK(nl != NULL && strcmp(nl + 1,
		    "ownauth: info: default prog\n") == 0);
	}
	unlink(path);
}

/* oa_conf_load_once: one log line naming file, line and key; the log
 * level set from the config; nothing done once loaded. */
static void
test_load_once(void)
{
	struct oa_conf *c = NULL, *was;
	char buf[4096], want[512];
	int saved, fd;
	ssize_t n;
	char path[256];

	/* tpath's buffers rotate: a copy that lasts. */
	snprintf(path, sizeof(path), "%s", tpath("once.log"));
	put(tpath("once-bad.conf"), BASE "\n# c\njwks_max_age = soon\n",
	    0600);
	put(tpath("once.conf"), BASE "log_level = debug\n", 0600);

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(saved >= 0 && fd >= 0);
	if (saved < 0 || fd < 0)
		return;
	dup2(fd, STDERR_FILENO);
	oa_log_set_prog("test_conf");
	oa_log_set_level(OA_LOG_ERROR);
	CHECK(oa_conf_load_once(tpath("once-bad.conf"), &c) == -1);
	CHECK(c == NULL);
	oa_log(OA_LOG_DEBUG, "not yet");
	CHECK(oa_conf_load_once(tpath("once.conf"), &c) == 0);
	CHECK(c != NULL && c->log_level == OA_LOG_DEBUG);
	oa_log(OA_LOG_DEBUG, "now debug");
	/* Loaded: not read again, even when the file went bad. */
	was = c;
	CHECK(chmod(tpath("once.conf"), 0644) == 0);
	CHECK(oa_conf_load_once(tpath("once.conf"), &c) == 0);
	CHECK(c == was);
	oa_conf_free(c);
	c = NULL;
	CHECK(oa_conf_load_once(tpath("once.conf"), &c) == -1);
	CHECK(c == NULL);
	oa_log_set_prog(NULL);
	oa_log_set_level(OA_LOG_INFO);
	dup2(saved, STDERR_FILENO);
	close(saved);

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	CHECK(n > 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	snprintf(want, sizeof(want), "test_conf: error: config: %s:6: key "
	    "'jwks_max_age': ", tpath("once-bad.conf"));
	CHECK(strncmp(buf, want, strlen(want)) == 0);
	CHECK(strstr(buf, "not yet") == NULL);
	CHECK(strstr(buf, "\ntest_conf: debug: now debug\n") != NULL);
	snprintf(want, sizeof(want), "test_conf: error: config: %s: mode "
	    "0644", tpath("once.conf"));
	CHECK(strstr(buf, want) != NULL);
	unlink(path);
	unlink(tpath("once.conf"));
	unlink(tpath("once-bad.conf"));
}

int
main(void)
{
	strcpy(tmpdir, "/tmp/oa-test-conf.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_top_values();
	test_issuer();
	test_syntax();
	test_clients();
	test_presets();
	test_providers();
	test_dev();
	test_files();
	test_default_path();
	test_log();
	test_load_once();
	rmdir(tmpdir);
	return t_done("conf");
}
