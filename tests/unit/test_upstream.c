/*
 * test_upstream.c - lib/upstream.c and lib/upcache.c.
 *
 * Without network: the profile parsers (ID token claims, GitHub,
 * oauth2 field map, Apple's first-sign-in name, the dev form), the
 * discovery document checks (issuer byte for byte, Microsoft's
 * multi-tenant issuers, https endpoints, client authentication method),
 * ID token verification (signature, iss, aud, azp, exp with leeway,
 * nonce, tenant issuers), Apple's client secret, the error mapping and
 * the file cache.
 *
 * Against tests/upstream/fake.mjs on 127.0.0.1 (started here, stopped
 * by pid): the whole oa_upstream_identify for oidc (discovery + JWKS
 * fetched and cached, a key rotation picked up by one rate-limited
 * refetch, a stale cache used when the upstream fails), github and
 * oauth2 users, and each failure mapped to its OAuth error (5xx,
 * timeout, malformed JSON, token endpoint error, bad signature, wrong
 * nonce, wrong audience).
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"
#include "t_proc.h"

static const char *src_dir = ".";
static char tmpdir[] = "/tmp/oa-test-upstream-XXXXXX";

/* ---- helpers -------------------------------------------------------- */

static struct oa_conf *
conf_of(const char *fmt, ...)
{
	struct oa_conf *conf = NULL;
	char *text = NULL, err[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (oa_conf_parse("test.conf", text, (size_t)n, 0, &conf, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "conf: %s\n", err);
		conf = NULL;
	}
	free(text);
	return conf;
}

#define BASE_CONF                                                       \
	"issuer = http://127.0.0.1:8080\n"                              \
	"data_dir = %s/data\n"                                          \
	"keys_dir = %s/keys\n"                                          \
	"[client web]\n"                                                \
	"redirect_uris = http://127.0.0.1:5173/cb\n"

/* A JWT signed by key with claims (JSON text). Malloc'd. */
static char *
mint(const struct oa_key *key, const char *claims_json)
{
	cJSON *c = cJSON_Parse(claims_json);
	char *t = NULL;

	if (c != NULL)
		t = oa_jwt_sign(key, c);
	cJSON_Delete(c);
	return t;
}

/* The claims of a good ID token at now for client "cid", nonce "n0nce". */
static char *
claims_of(const char *iss, const char *aud, const char *nonce, time_t now,
    const char *extra)
{
	char *s = NULL;

	if (asprintf(&s, "{\"iss\":\"%s\",\"sub\":\"248289761001\","
	    "\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld%s%s%s%s}", iss, aud,
	    (long long)now, (long long)now + 300,
	    nonce != NULL ? ",\"nonce\":\"" : "", nonce != NULL ? nonce : "",
	    nonce != NULL ? "\"" : "", extra != NULL ? extra : "") < 0)
		return NULL;
	return s;
}

static struct oa_keyset *
set_of(struct oa_key *a, struct oa_key *b)
{
	struct oa_keyset *s = calloc(1, sizeof(*s));

	s->keys = calloc(2, sizeof(*s->keys));
	s->keys[s->n++] = a;
	if (b != NULL)
		s->keys[s->n++] = b;
	return s;
}

/* ---- no network ----------------------------------------------------- */

static void
test_error_map(void)
{
	CHECK_STR(oa_upstream_error_map("access_denied"), "access_denied");
	CHECK_STR(oa_upstream_error_map("user_cancelled_authorize"),
	    "access_denied");
	CHECK_STR(oa_upstream_error_map("temporarily_unavailable"),
	    "temporarily_unavailable");
	CHECK_STR(oa_upstream_error_map("login_required"), "login_required");
	CHECK_STR(oa_upstream_error_map("interaction_required"),
	    "interaction_required");
	CHECK_STR(oa_upstream_error_map("invalid_scope"), "server_error");
	CHECK_STR(oa_upstream_error_map("unauthorized_client"),
	    "server_error");
	CHECK_STR(oa_upstream_error_map("Access_Denied"), "server_error");
	CHECK_STR(oa_upstream_error_map(NULL), "server_error");
	CHECK_STR(oa_upstream_error(OA_UPSTREAM_UNAVAILABLE),
	    "temporarily_unavailable");
	CHECK_STR(oa_upstream_error(OA_UPSTREAM_BAD), "server_error");
	CHECK_STR(oa_upstream_error(OA_UPSTREAM_CONFIG), "server_error");
	CHECK_STR(oa_upstream_error(OA_UPSTREAM_DENIED), "access_denied");
	/* Descriptions go into URLs: RFC 6749 NQSCHAR, no quote or '\'. */
	CHECK(strpbrk(oa_upstream_result_str(OA_UPSTREAM_BAD), "\"\\") ==
	    NULL);
}

static void
test_claims(void)
{
	struct oa_upstream_user *u;
	cJSON *c;
	char longsub[300];

#define FROM(json)                                                       \
	(c = cJSON_Parse(json), u = oa_upstream_user_from_claims(c),     \
	    cJSON_Delete(c), u)
	CHECK(FROM("{\"sub\":\"10769150350006150715113082367\","
	    "\"email\":\"Jane@Example.com\",\"email_verified\":true,"
	    "\"name\":\"Jane Doe\",\"picture\":"
	    "\"https://lh3.example.com/a/b.jpg\"}") != NULL);
	if (u != NULL) {
		CHECK_STR(u->subject, "10769150350006150715113082367");
		CHECK_STR(u->email, "Jane@Example.com");
		CHECK(u->email_verified == 1);
		CHECK_STR(u->name, "Jane Doe");
		CHECK_STR(u->picture, "https://lh3.example.com/a/b.jpg");
	}
	oa_upstream_user_free(u);
	/* Apple: email_verified as a string. */
	CHECK(FROM("{\"sub\":\"001234.abcdef.1234\",\"email\":\"x@privaterelay"
	    ".appleid.com\",\"email_verified\":\"true\"}") != NULL);
	CHECK(u != NULL && u->email_verified == 1 && u->name == NULL);
	oa_upstream_user_free(u);
	/* Unverified, or verified without any email: not verified. */
	CHECK(FROM("{\"sub\":\"1\",\"email\":\"a@b.c\",\"email_verified\":"
	    "\"false\"}") != NULL);
	CHECK(u != NULL && u->email_verified == 0);
	oa_upstream_user_free(u);
	CHECK(FROM("{\"sub\":\"1\",\"email_verified\":true}") != NULL);
	CHECK(u != NULL && u->email == NULL && u->email_verified == 0);
	oa_upstream_user_free(u);
	/* Bad optional fields are dropped, the user stays. */
	CHECK(FROM("{\"sub\":\"1\",\"email\":\"not an email\","
	    "\"email_verified\":true,\"name\":\"a\\u0001b\","
	    "\"picture\":\"javascript:alert(1)\"}") != NULL);
	CHECK(u != NULL && u->email == NULL && u->name == NULL &&
	    u->picture == NULL && u->email_verified == 0);
	oa_upstream_user_free(u);
	CHECK(FROM("{\"sub\":\"1\",\"email\":\"a@@b\",\"picture\":\"https://"
	    "x/\\\"><script>\"}") != NULL);
	CHECK(u != NULL && u->email == NULL && u->picture == NULL);
	oa_upstream_user_free(u);
	/* No usable subject: no user. */
	CHECK(FROM("{\"email\":\"a@b.c\"}") == NULL);
	CHECK(FROM("{\"sub\":123}") == NULL);
	CHECK(FROM("{\"sub\":\"\"}") == NULL);
	CHECK(FROM("{\"sub\":\"has space\"}") == NULL);
	CHECK(FROM("{\"sub\":\"caf\xc3\xa9\"}") == NULL);
	memset(longsub, 'a', 256);
	longsub[256] = '\0';
	{
		char *j = NULL;
		CHECK(asprintf(&j, "{\"sub\":\"%s\"}", longsub) > 0);
		CHECK(FROM(j) == NULL);
		longsub[255] = '\0';
		free(j);
		CHECK(asprintf(&j, "{\"sub\":\"%s\"}", longsub) > 0);
		CHECK(FROM(j) != NULL);
		oa_upstream_user_free(u);
		free(j);
	}
	CHECK(oa_upstream_user_from_claims(NULL) == NULL);
#undef FROM
}

static int
gp(const char *user, const char *emails, struct oa_upstream_user **u)
{
	return oa_upstream_github_parse(user, strlen(user), emails,
	    emails != NULL ? strlen(emails) : 0, u);
}

static void
test_github_parse(void)
{
	struct oa_upstream_user *u = NULL;
	const char *user = "{\"login\":\"octocat\",\"id\":583231,\"avatar_url"
	    "\":\"https://avatars.githubusercontent.com/u/583231?v=4\","
	    "\"name\":\"The Octocat\",\"email\":\"public@example.com\"}";
	const char *emails = "[{\"email\":\"old@example.com\",\"primary\":"
	    "false,\"verified\":true},{\"email\":\"octocat@github.com\","
	    "\"primary\":true,\"verified\":true,\"visibility\":\"public\"}]";

#define GP(u_, e_) (u = NULL, gp((u_), (e_), &u))
	CHECK(GP(user, emails) == 0 && u != NULL);
	if (u != NULL) {
		CHECK_STR(u->subject, "583231");
		CHECK_STR(u->email, "octocat@github.com");
		CHECK(u->email_verified == 1);
		CHECK_STR(u->name, "The Octocat");
		CHECK_STR(u->picture,
		    "https://avatars.githubusercontent.com/u/583231?v=4");
	}
	oa_upstream_user_free(u);
	/* An unverified primary stays unverified. */
	CHECK(GP(user, "[{\"email\":\"a@b.c\",\"primary\":true,\"verified\":"
	    "false}]") == 0 && u != NULL && u->email_verified == 0 &&
	    u->email != NULL && strcmp(u->email, "a@b.c") == 0);
	oa_upstream_user_free(u);
	/* No /user/emails: the public email, never verified. */
	CHECK(GP(user, NULL) == 0 && u != NULL && u->email_verified == 0 &&
	    u->email != NULL && strcmp(u->email, "public@example.com") == 0);
	oa_upstream_user_free(u);
	/* No primary: no email. */
	CHECK(GP(user, "[{\"email\":\"a@b.c\",\"primary\":false,\"verified\":"
	    "true}]") == 0 && u != NULL && u->email == NULL);
	oa_upstream_user_free(u);
	/* name null: the login. */
	CHECK(GP("{\"login\":\"hubot\",\"id\":1,\"name\":null}", "[]") == 0 &&
	    u != NULL && strcmp(u->name, "hubot") == 0);
	oa_upstream_user_free(u);
	/* Refused: no id, a string or fractional or negative id, bad JSON,
	 * emails that are not an array, duplicate members. */
	CHECK(GP("{\"login\":\"x\"}", "[]") == -1 && u == NULL);
	CHECK(GP("{\"id\":\"583231\"}", "[]") == -1);
	CHECK(GP("{\"id\":1.5}", "[]") == -1);
	CHECK(GP("{\"id\":-1}", "[]") == -1);
	CHECK(GP("{\"id\":1e300}", "[]") == -1);
	CHECK(GP("{\"id\":1", "[]") == -1);
	CHECK(GP("{\"id\":1}", "{}") == -1);
	CHECK(GP("{\"id\":1,\"id\":2}", "[]") == -1);
	CHECK(GP("[]", "[]") == -1);
#undef GP
}

static void
test_userinfo_parse(void)
{
	struct oa_conf *conf;
	const struct oa_provider *p, *q;
	struct oa_upstream_user *u = NULL;
	const char *doc = "{\"data\":{\"id\":12345,\"username\":\"kim\","
	    "\"mail\":\"Kim@Example.org\",\"avatar\":\"https://cdn.example."
	    "org/k.png\"},\"email_verified\":true}";

	conf = conf_of(BASE_CONF
	    "[provider forum]\ntype = oauth2\nclient_id = c\nclient_secret = s\n"
	    "authorization_endpoint = https://forum.example/auth\n"
	    "token_endpoint = https://forum.example/token\n"
	    "userinfo_endpoint = https://forum.example/me\n"
	    "subject_field = data.id\nemail_field = data.mail\n"
	    "name_field = data.username\npicture_field = data.avatar\n"
	    "[provider plain]\ntype = oauth2\nclient_id = c\n"
	    "authorization_endpoint = https://p.example/auth\n"
	    "token_endpoint = https://p.example/token\n"
	    "userinfo_endpoint = https://p.example/me\n"
	    "subject_field = sub\n", tmpdir, tmpdir);
	CHECK(conf != NULL);
	if (conf == NULL)
		return;
	p = oa_conf_provider(conf, "forum");
	q = oa_conf_provider(conf, "plain");
	CHECK(oa_upstream_userinfo_parse(p, doc, strlen(doc), &u) == 0);
	if (u != NULL) {
		CHECK_STR(u->subject, "12345");
		CHECK_STR(u->email, "Kim@Example.org");
		/* Mapped from another field than "email": unverified. */
		CHECK(u->email_verified == 0);
		CHECK_STR(u->name, "kim");
		CHECK_STR(u->picture, "https://cdn.example.org/k.png");
	}
	oa_upstream_user_free(u);
	u = NULL;
	{
		const char *d = "{\"sub\":\"s1\",\"email\":\"a@b.c\","
		    "\"email_verified\":true,\"name\":\"A\"}";
		CHECK(oa_upstream_userinfo_parse(q, d, strlen(d), &u) == 0);
	}
	CHECK(u != NULL && u->email_verified == 1 &&
	    strcmp(u->subject, "s1") == 0);
	oa_upstream_user_free(u);
	u = NULL;
	/* Missing subject, subject of the wrong type, not an object. */
	CHECK(oa_upstream_userinfo_parse(p, "{\"data\":{}}", 11, &u) == -1);
	CHECK(oa_upstream_userinfo_parse(p, "{\"data\":{\"id\":true}}", 20,
	    &u) == -1);
	CHECK(oa_upstream_userinfo_parse(p, "{\"data\":5}", 10, &u) == -1);
	CHECK(oa_upstream_userinfo_parse(p, "[1]", 3, &u) == -1);
	CHECK(u == NULL);
	oa_conf_free(conf);
}

static void
test_apple_name_dev(void)
{
	struct oa_upstream_user *u = NULL;
	char *n = NULL;
	const char *j = "{\"name\":{\"firstName\":\"Ada\",\"lastName\":"
	    "\"Lovelace\"},\"email\":\"ada@example.com\"}";

	CHECK(oa_upstream_apple_name(j, strlen(j), &n) == 0);
	CHECK_STR(n, "Ada Lovelace");
	free(n);
	n = NULL;
	CHECK(oa_upstream_apple_name("{\"name\":{\"lastName\":\"Byron\"}}",
	    29, &n) == 0);
	CHECK_STR(n, "Byron");
	free(n);
	n = NULL;
	CHECK(oa_upstream_apple_name("{\"email\":\"a@b.c\"}", 17, &n) == -1);
	CHECK(oa_upstream_apple_name("{\"name\":{\"firstName\":\"\"}}", 25,
	    &n) == -1);
	CHECK(oa_upstream_apple_name("{\"name\":\"x\"}", 12, &n) == -1);
	CHECK(oa_upstream_apple_name("nope", 4, &n) == -1);
	CHECK(n == NULL);

	CHECK(oa_upstream_dev_user("Alice@Example.TEST", "Alice A", &u) == 0);
	if (u != NULL) {
		CHECK_STR(u->subject, "alice@example.test");
		CHECK_STR(u->email, "Alice@Example.TEST");
		CHECK(u->email_verified == 0);
		CHECK_STR(u->name, "Alice A");
	}
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(oa_upstream_dev_user("bob@example.test", NULL, &u) == 0 &&
	    u != NULL && u->name == NULL);
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(oa_upstream_dev_user("nobody", "x", &u) == -1);
	CHECK(oa_upstream_dev_user("a b@c.d", "x", &u) == -1);
	CHECK(oa_upstream_dev_user(NULL, "x", &u) == -1);
	CHECK(u == NULL);
}

static void
test_discovery_parse(void)
{
	struct oa_conf *conf;
	const struct oa_provider *corp, *ms, *msorg, *over, *tenant;
	struct oa_upstream_meta *m = NULL;
	char doc[2048];

	conf = conf_of(BASE_CONF
	    "[provider corp]\ntype = oidc\nissuer = https://sso.corp.example\n"
	    "client_id = cid\nclient_secret = s\n"
	    "[provider microsoft]\nclient_id = mid\nclient_secret = s\n"
	    "[provider over]\ntype = oidc\nissuer = https://o.example\n"
	    "client_id = c\ntoken_endpoint = https://o.example/mytoken\n"
	    "[provider msone]\ntype = oidc\nissuer = https://login."
	    "microsoftonline.com/common/v2.0\nclient_id = c\n",
	    tmpdir, tmpdir);
	CHECK(conf != NULL);
	if (conf == NULL)
		return;
	corp = oa_conf_provider(conf, "corp");
	ms = oa_conf_provider(conf, "microsoft");
	over = oa_conf_provider(conf, "over");
	tenant = oa_conf_provider(conf, "msone");
	msorg = ms;

#define DP(p, s) (m = NULL, oa_upstream_discovery_parse((p), (s),        \
	    strlen(s), &m))
	snprintf(doc, sizeof(doc), "{\"issuer\":\"https://sso.corp.example\","
	    "\"authorization_endpoint\":\"https://sso.corp.example/auth\","
	    "\"token_endpoint\":\"https://sso.corp.example/token\","
	    "\"userinfo_endpoint\":\"https://sso.corp.example/me\","
	    "\"jwks_uri\":\"https://sso.corp.example/jwks\"}");
	CHECK(DP(corp, doc) == 0 && m != NULL);
	if (m != NULL) {
		CHECK_STR(m->issuer, "https://sso.corp.example");
		CHECK_STR(m->token_endpoint, "https://sso.corp.example/token");
		CHECK_STR(m->jwks_uri, "https://sso.corp.example/jwks");
		CHECK_STR(m->userinfo_endpoint, "https://sso.corp.example/me");
		CHECK(m->auth_basic == 1 && m->iss_tenant == 0);
	}
	oa_upstream_meta_free(m);
	/* Issuer byte for byte (OIDC Discovery §4.3). */
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example/\","
	    "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/j\"}")
	    == -1);
	CHECK(DP(corp, "{\"issuer\":\"https://SSO.corp.example\","
	    "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/j\"}")
	    == -1);
	CHECK(DP(corp, "{\"issuer\":\"https://evil.example\","
	    "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/j\"}")
	    == -1);
	CHECK(DP(corp, "{\"token_endpoint\":\"https://a/t\",\"jwks_uri\":"
	    "\"https://a/j\"}") == -1);
	/* https endpoints, both required. */
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example\","
	    "\"token_endpoint\":\"http://sso.corp.example/t\",\"jwks_uri\":"
	    "\"https://a/j\"}") == -1);
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example\","
	    "\"token_endpoint\":\"https://a/t\"}") == -1);
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example\","
	    "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/j\","
	    "\"userinfo_endpoint\":\"http://evil.example/u\"}") == -1);
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example\","
	    "\"issuer\":\"https://sso.corp.example\"}") == -1);
	CHECK(DP(corp, "[]") == -1 && m == NULL);
	/* Client authentication: _post only when _basic is not offered. */
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example\","
	    "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/j\","
	    "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\","
	    "\"private_key_jwt\"]}") == 0 && m != NULL && m->auth_basic == 0);
	oa_upstream_meta_free(m);
	CHECK(DP(corp, "{\"issuer\":\"https://sso.corp.example\","
	    "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/j\","
	    "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\","
	    "\"client_secret_basic\"]}") == 0 && m != NULL &&
	    m->auth_basic == 1);
	oa_upstream_meta_free(m);
	/* The configuration overrides the document. */
	CHECK(DP(over, "{\"issuer\":\"https://o.example\",\"token_endpoint\":"
	    "\"https://o.example/t\",\"jwks_uri\":\"https://o.example/j\"}") ==
	    0 && m != NULL && strcmp(m->token_endpoint,
	    "https://o.example/mytoken") == 0);
	oa_upstream_meta_free(m);

	/* Microsoft "common": the published issuer has {tenantid}. */
	CHECK_STR(ms->issuer, "https://login.microsoftonline.com/common/v2.0");
	CHECK(DP(ms, "{\"issuer\":\"https://login.microsoftonline.com/"
	    "{tenantid}/v2.0\",\"token_endpoint\":\"https://login."
	    "microsoftonline.com/common/oauth2/v2.0/token\",\"jwks_uri\":"
	    "\"https://login.microsoftonline.com/common/discovery/v2.0/keys\"}")
	    == 0 && m != NULL && m->iss_tenant == 1);
	oa_upstream_meta_free(m);
	/* consumers: a fixed tenant id. */
	CHECK(DP(msorg, "{\"issuer\":\"https://login.microsoftonline.com/"
	    "9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\",\"token_endpoint\":"
	    "\"https://login.microsoftonline.com/t\",\"jwks_uri\":\"https://"
	    "login.microsoftonline.com/k\"}") == 0 && m != NULL &&
	    m->iss_tenant == 0);
	oa_upstream_meta_free(m);
	/* Another host, or another shape, is still refused. */
	CHECK(DP(ms, "{\"issuer\":\"https://login.evil.example/{tenantid}/"
	    "v2.0\",\"token_endpoint\":\"https://a/t\",\"jwks_uri\":"
	    "\"https://a/j\"}") == -1);
	CHECK(DP(ms, "{\"issuer\":\"https://login.microsoftonline.com/a/b/"
	    "v2.0\",\"token_endpoint\":\"https://a/t\",\"jwks_uri\":"
	    "\"https://a/j\"}") == -1);
	/* Only the microsoft preset gets that latitude. */
	CHECK(DP(tenant, "{\"issuer\":\"https://login.microsoftonline.com/"
	    "{tenantid}/v2.0\",\"token_endpoint\":\"https://a/t\",\"jwks_uri\":"
	    "\"https://a/j\"}") == -1);
#undef DP
	oa_conf_free(conf);
}

static void
test_id_token(void)
{
	struct oa_conf *conf;
	const struct oa_provider *p;
	struct oa_upstream_meta meta;
	struct oa_key *k1, *k2, *k3;
	struct oa_keyset *set;
	struct oa_upstream_user *u = NULL;
	char *c, *t;
	time_t now = time(NULL);
	const char *iss = "https://sso.corp.example";

	conf = conf_of(BASE_CONF "[provider corp]\ntype = oidc\nissuer = "
	    "https://sso.corp.example\nclient_id = cid\n", tmpdir, tmpdir);
	k1 = oa_key_generate(OA_ALG_RS256);
	k2 = oa_key_generate(OA_ALG_ES256);
	k3 = oa_key_generate(OA_ALG_RS256);
	CHECK(conf != NULL && k1 != NULL && k2 != NULL && k3 != NULL);
	if (conf == NULL || k1 == NULL || k2 == NULL || k3 == NULL)
		goto out;
	p = oa_conf_provider(conf, "corp");
	memset(&meta, 0, sizeof(meta));
	meta.issuer = (char *)iss;
	set = set_of(k1, k2);

#define V(tok, nonce) (u = NULL, oa_upstream_id_token_verify(p, &meta, set, \
	    (tok), (nonce), now, &u))
#define TRY(key, claims, nonce, want)                                    \
	do {                                                             \
		c = (claims);                                            \
		t = mint((key), c);                                      \
		CHECK(t != NULL && V(t, (nonce)) == (want));             \
		oa_upstream_user_free(u);                                \
		free(t);                                                 \
		free(c);                                                 \
	} while (0)

	c = claims_of(iss, "cid", "n0nce", now, ",\"email\":\"j@example.com\","
	    "\"email_verified\":true,\"name\":\"J\"");
	t = mint(k1, c);
	CHECK(V(t, "n0nce") == OA_JWT_OK && u != NULL);
	if (u != NULL) {
		CHECK_STR(u->subject, "248289761001");
		CHECK_STR(u->email, "j@example.com");
		CHECK(u->email_verified == 1);
	}
	oa_upstream_user_free(u);
	/* A NULL nonce never means "not checked". */
	CHECK(V(t, NULL) == OA_JWT_BAD_NONCE && u == NULL);
	free(t);
	free(c);
	TRY(k2, claims_of(iss, "cid", "n0nce", now, NULL), "n0nce", OA_JWT_OK);
	/* Each check. */
	TRY(k1, claims_of(iss, "cid", "other", now, NULL), "n0nce",
	    OA_JWT_BAD_NONCE);
	TRY(k1, claims_of(iss, "cid", NULL, now, NULL), "n0nce",
	    OA_JWT_BAD_NONCE);
	TRY(k1, claims_of(iss, "someone-else", "n0nce", now, NULL), "n0nce",
	    OA_JWT_BAD_AUD);
	TRY(k1, claims_of("https://evil.example", "cid", "n0nce", now, NULL),
	    "n0nce", OA_JWT_BAD_ISS);
	TRY(k1, claims_of(iss, "cid", "n0nce", now, ",\"azp\":\"other\""),
	    "n0nce", OA_JWT_BAD_AUD);
	TRY(k1, claims_of(iss, "cid", "n0nce", now, ",\"azp\":\"cid\""),
	    "n0nce", OA_JWT_OK);
	/* Expired 30 s ago: within the 60 s leeway; 120 s ago: not. */
	TRY(k1, claims_of(iss, "cid", "n0nce", now - 330, NULL), "n0nce",
	    OA_JWT_OK);
	TRY(k1, claims_of(iss, "cid", "n0nce", now - 420, NULL), "n0nce",
	    OA_JWT_EXPIRED);
	TRY(k1, claims_of(iss, "cid", "n0nce", now + 600, NULL), "n0nce",
	    OA_JWT_IAT_FUTURE);
	/* Not ours: an unknown kid; a forged signature with a known kid. */
	TRY(k3, claims_of(iss, "cid", "n0nce", now, NULL), "n0nce",
	    OA_JWT_NO_KEY);
	memcpy(k3->kid, k1->kid, sizeof(k1->kid));
	TRY(k3, claims_of(iss, "cid", "n0nce", now, NULL), "n0nce",
	    OA_JWT_BAD_SIGNATURE);
	/* No sub: no user. */
	c = NULL;
	if (asprintf(&c, "{\"iss\":\"%s\",\"aud\":\"cid\",\"exp\":%lld,"
	    "\"nonce\":\"n0nce\"}", iss, (long long)now + 60) > 0) {
		t = mint(k1, c);
		CHECK(V(t, "n0nce") == OA_JWT_MALFORMED && u == NULL);
		free(t);
	}
	free(c);
	CHECK(V("not.a.jwt", "n0nce") == OA_JWT_MALFORMED);
	/* Microsoft common: {tenantid} is the token's tid. */
	meta.issuer = (char *)"https://login.microsoftonline.com/{tenantid}/"
	    "v2.0";
	meta.iss_tenant = 1;
	TRY(k1, claims_of("https://login.microsoftonline.com/9122040d-6c67-"
	    "4c5b-b112-36a304b66dad/v2.0", "cid", "n0nce", now,
	    ",\"tid\":\"9122040d-6c67-4c5b-b112-36a304b66dad\""), "n0nce",
	    OA_JWT_OK);
	TRY(k1, claims_of("https://login.microsoftonline.com/9122040d-6c67-"
	    "4c5b-b112-36a304b66dad/v2.0", "cid", "n0nce", now,
	    ",\"tid\":\"00000000-0000-0000-0000-000000000000\""), "n0nce",
	    OA_JWT_BAD_ISS);
	meta.issuer = NULL;
	TRY(k1, claims_of(iss, "cid", "n0nce", now, NULL), "n0nce",
	    OA_JWT_BAD_ISS);
#undef V
#undef TRY
	free(set->keys);
	free(set);
out:
	oa_key_free(k1);
	oa_key_free(k2);
	oa_key_free(k3);
	oa_conf_free(conf);
}

static void
test_apple_secret(void)
{
	struct oa_conf *conf;
	const struct oa_provider *p;
	struct oa_key *k = NULL, *pub = NULL;
	struct oa_keyset set;
	struct oa_jwt_expect ex;
	cJSON *claims = NULL, *hdr = NULL, *pl = NULL;
	char path[512], *pem = NULL, *sec = NULL, *dk[1] = { "ABC123DEFG" };
	struct oa_key *keys[1];
	time_t now = time(NULL);
	const cJSON *it;

	snprintf(path, sizeof(path), "%s/AuthKey_ABC123DEFG.p8", tmpdir);
	conf = conf_of(BASE_CONF "[provider apple]\nclient_id = com.example."
	    "web\nteam_id = TEAM123456\nkey_id = ABC123DEFG\nprivate_key_file "
	    "= %s\n", tmpdir, tmpdir, path);
	CHECK(conf != NULL);
	if (conf == NULL)
		return;
	p = oa_conf_provider(conf, "apple");
	k = oa_key_generate(OA_ALG_ES256);
	CHECK(k != NULL && oa_key_save_pem(k, path) == 0);
	CHECK((sec = oa_upstream_apple_secret(p, now)) != NULL);
	if (sec == NULL)
		goto out;
	CHECK(oa_jwt_parse(sec, &hdr, &pl) == 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "alg")),
	    "ES256");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "kid")),
	    "ABC123DEFG");
	it = cJSON_GetObjectItem(pl, "exp");
	CHECK(cJSON_IsNumber(it) && it->valuedouble > (double)now &&
	    it->valuedouble <= (double)now + 15777000);   /* <= 6 months */
	/* The signature, with the public key, and Apple's claims. */
	CHECK(oa_key_to_pem(k, &pem) == 0);
	pub = oa_key_generate(OA_ALG_ES256);   /* a decoy key: not used */
	keys[0] = k;
	set.keys = keys;
	set.doc_kids = dk;
	set.n = 1;
	memset(&ex, 0, sizeof(ex));
	ex.iss = "TEAM123456";
	ex.aud = "https://appleid.apple.com";
	ex.now = now;
	CHECK(oa_jwt_verify(sec, &set, &ex, &claims) == OA_JWT_OK);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(claims, "sub")),
	    "com.example.web");
	keys[0] = pub;
	CHECK(oa_jwt_verify(sec, &set, &ex, NULL) == OA_JWT_BAD_SIGNATURE);
	oa_secret_free(sec);
	/* A key file others can read is refused. */
	CHECK(chmod(path, 0644) == 0);
	CHECK((sec = oa_upstream_apple_secret(p, now)) == NULL);
	/* An RSA key is not Apple's. */
	unlink(path);
	oa_key_free(pub);
	pub = oa_key_generate(OA_ALG_RS256);
	CHECK(pub != NULL && oa_key_save_pem(pub, path) == 0);
	CHECK((sec = oa_upstream_apple_secret(p, now)) == NULL);
out:
	oa_secret_free(sec);
	oa_secret_free(pem);
	cJSON_Delete(claims);
	cJSON_Delete(hdr);
	cJSON_Delete(pl);
	oa_key_free(k);
	oa_key_free(pub);
	oa_conf_free(conf);
}

static void
test_upcache(void)
{
	struct oa_conf *conf;
	struct stat st;
	char *p = NULL, *q = NULL, *body = NULL, dir[512];
	size_t len = 0;
	long age = -1;
	time_t now = time(NULL);
	struct timeval tv[2];

	conf = conf_of(BASE_CONF "[provider corp]\ntype = oidc\nissuer = "
	    "https://sso.corp.example\nclient_id = cid\n", tmpdir, tmpdir);
	CHECK(conf != NULL);
	if (conf == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s/data", tmpdir);
	CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
	/* The discovery path is the one login.fcgi reads. */
	p = oa_upcache_path(conf, "corp", OA_UPCACHE_DISCOVERY);
	q = oa_upstream_discovery_path(conf, "corp");
	CHECK(p != NULL && q != NULL && strcmp(p, q) == 0);
	free(p);
	free(q);
	p = oa_upcache_path(conf, "corp", OA_UPCACHE_JWKS);
	CHECK(p != NULL && strstr(p, "/data/upstream/corp.jwks.json") != NULL);
	CHECK(oa_upcache_path(conf, "../x", OA_UPCACHE_JWKS) == NULL);
	CHECK(oa_upcache_path(conf, "a/b", OA_UPCACHE_JWKS) == NULL);
	CHECK(oa_upcache_path(conf, "", OA_UPCACHE_JWKS) == NULL);

	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_JWKS, now, &body, &len,
	    &age) == -1 && body == NULL);
	CHECK(oa_upcache_write(conf, "corp", OA_UPCACHE_JWKS, "{\"keys\":[]}",
	    11) == 0);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(dir, sizeof(dir), "%s/data/upstream", tmpdir);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_JWKS, now + 5, &body,
	    &len, &age) == 0);
	CHECK(body != NULL && len == 11 && strcmp(body, "{\"keys\":[]}") == 0);
	CHECK(age >= 4 && age <= 6);
	free(body);
	body = NULL;
	/* Replaced whole; a future mtime counts as age 0. */
	CHECK(oa_upcache_write(conf, "corp", OA_UPCACHE_JWKS, "{}", 2) == 0);
	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_JWKS, now - 100,
	    &body, &len, &age) == 0 && len == 2 && age == 0);
	free(body);
	body = NULL;
	/* Age from the mtime. */
	tv[0].tv_sec = tv[1].tv_sec = now - 7200;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	CHECK(utimes(p, tv) == 0);
	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_JWKS, now, &body, &len,
	    &age) == 0 && age >= 7199 && age <= 7201);
	free(body);
	body = NULL;
	CHECK(!oa_upcache_fresh(OA_UPCACHE_JWKS, age));
	CHECK(oa_upcache_fresh(OA_UPCACHE_DISCOVERY, age));
	CHECK(oa_upcache_fresh(OA_UPCACHE_JWKS, 0));
	CHECK(!oa_upcache_fresh(OA_UPCACHE_DISCOVERY, 86400));
	CHECK(!oa_upcache_fresh(OA_UPCACHE_JWKS, -1));
	/* A symlink is not followed. */
	unlink(p);
	CHECK(symlink("/etc/hostname", p) == 0);
	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_JWKS, now, &body, &len,
	    &age) == -1 && body == NULL);
	unlink(p);
	free(p);
	oa_conf_free(conf);
}

/* ---- against fake.mjs ---------------------------------------------- */

static int
start_fake(const char *log, pid_t *pid)
{
	char path[4096], line[256];
	char *argv[] = { "node", path, "--port", "0", NULL };
	int fd, port = -1;

	snprintf(path, sizeof(path), "%s/tests/upstream/fake.mjs", src_dir);
	if (spawn(argv, log, pid, &fd) != 0)
		return -1;
	if (read_line(fd, line, sizeof(line), 20000) == 0 &&
	    sscanf(line, "READY %d", &port) == 1 && port > 0) {
		close(fd);
		return port;
	}
	close(fd);
	fprintf(stderr, "test_upstream: fake.mjs did not get ready (see %s; "
	    "cd tests && npm ci)\n", log);
	stop(*pid);
	*pid = -1;
	return -1;
}

static char fake_base[64];

/* Replaces the fake's routes: a JSON object {"/path": spec}. */
static int
routes(const char *json)
{
	struct oa_http_resp r;
	char url[128];
	int ok;

	snprintf(url, sizeof(url), "%s/_routes", fake_base);
	memset(&r, 0, sizeof(r));
	ok = oa_http_post_form(url, json, NULL, NULL, &r) == OA_HTTP_OK;
	oa_http_resp_free(&r);
	return ok ? 0 : -1;
}

static long
hits(void)
{
	char url[128];
	cJSON *j = NULL;
	const cJSON *h;
	long n = -1;

	snprintf(url, sizeof(url), "%s/_hits", fake_base);
	if (oa_http_get_json(url, NULL, cJSON_Object, &j) == OA_HTTP_OK &&
	    cJSON_IsNumber(h = cJSON_GetObjectItem(j, "hits")))
		n = (long)h->valuedouble;
	cJSON_Delete(j);
	return n;
}

/* {"keys":[jwk of a, jwk of b]} as a JSON text, malloc'd. */
static char *
jwks_of(const struct oa_key *a, const struct oa_key *b)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc,
	    "keys");
	char *s;

	cJSON_AddItemToArray(arr, oa_jwk_to_json(a));
	if (b != NULL)
		cJSON_AddItemToArray(arr, oa_jwk_to_json(b));
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

/* Sets the fake's /token to answer with an ID token of claims signed by
 * key (and /jwks, when jwks is not NULL). */
static int
serve_token(const struct oa_key *key, const char *claims, const char *jwks)
{
	char *t = mint(key, claims), *r = NULL;
	int rc = -1;

	if (t == NULL)
		return -1;
	if (asprintf(&r, "{\"/token\":{\"body\":{\"access_token\":\"at-123\","
	    "\"token_type\":\"Bearer\",\"id_token\":\"%s\"}}%s%s%s}", t,
	    jwks != NULL ? ",\"/jwks\":{\"body\":" : "",
	    jwks != NULL ? jwks : "", jwks != NULL ? "}" : "") > 0)
		rc = routes(r);
	free(r);
	free(t);
	return rc;
}

static int
backdate(const struct oa_conf *conf, const char *prov,
    enum oa_upcache_kind kind, time_t now, long seconds)
{
	struct timeval tv[2];
	char *p = oa_upcache_path(conf, prov, kind);
	int rc;

	/* Relative to the test's clock (now), which the code under test
	 * also uses, not to the wall clock (the test may run slowly). */
	tv[0].tv_sec = tv[1].tv_sec = now - seconds;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	rc = p != NULL ? utimes(p, tv) : -1;
	free(p);
	return rc;
}

static void
test_against_fake(void)
{
	struct oa_conf *conf = NULL;
	const struct oa_provider *p, *gh, *o2, *bad;
	struct oa_login login;
	struct oa_upstream_user *u = NULL;
	struct oa_upstream_meta *m = NULL;
	struct oa_http_limits lim;
	struct oa_key *k1 = NULL, *k2 = NULL, *evil = NULL;
	char log[512], iss[64], *c = NULL, *jw = NULL, *r = NULL, *body = NULL;
	pid_t pid = -1;
	int port, failed0 = t_failed;
	long h0, age;
	size_t len;
	time_t now = time(NULL);

	snprintf(log, sizeof(log), "%s/fake.log", tmpdir);
	if ((port = start_fake(log, &pid)) < 0) {
		CHECK(!"fake.mjs started");
		return;
	}
	snprintf(fake_base, sizeof(fake_base), "http://127.0.0.1:%d", port);
	snprintf(iss, sizeof(iss), "http://127.0.0.1:%d", port);
	/* Short timeouts: a hanging upstream must not hang the test. Under
	 * valgrind (OA_TEST_SLOW set by `make valgrind`) our own side of a
	 * request runs ~20 times slower: the limits grow with it. */
	memset(&lim, 0, sizeof(lim));
	lim.connect_timeout_ms = getenv("OA_TEST_SLOW") ? 10000 : 1000;
	lim.timeout_ms = getenv("OA_TEST_SLOW") ? 15000 : 1500;
	oa_http_set_limits(&lim);

	conf = conf_of(BASE_CONF
	    "[provider corp]\ntype = oidc\nissuer = %s\nclient_id = cid\n"
	    "client_secret = csecret\n"
	    "[provider gh]\ntype = github\nclient_id = g\nclient_secret = gs\n"
	    "authorization_endpoint = %s/authorize\ntoken_endpoint = %s/gtoken"
	    "\nuserinfo_endpoint = %s/user\nemails_endpoint = %s/user/emails\n"
	    "[provider o2]\ntype = oauth2\nclient_id = o\nclient_secret = os\n"
	    "authorization_endpoint = %s/authorize\ntoken_endpoint = %s/gtoken"
	    "\nuserinfo_endpoint = %s/me\nsubject_field = uid\n"
	    "[provider bad]\ntype = oidc\nissuer = %s/bad\nclient_id = cid\n",
	    tmpdir, tmpdir, iss, iss, iss, iss, iss, iss, iss, iss, iss);
	k1 = oa_key_generate(OA_ALG_RS256);
	k2 = oa_key_generate(OA_ALG_ES256);
	evil = oa_key_generate(OA_ALG_RS256);
	CHECK(conf != NULL && k1 != NULL && k2 != NULL && evil != NULL);
	if (conf == NULL || k1 == NULL || k2 == NULL || evil == NULL)
		goto out;
	p = oa_conf_provider(conf, "corp");
	gh = oa_conf_provider(conf, "gh");
	o2 = oa_conf_provider(conf, "o2");
	bad = oa_conf_provider(conf, "bad");
	memset(&login, 0, sizeof(login));
	login.state = "st";
	login.provider = "corp";
	login.verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	login.nonce = "n0nce-1";

	/* Discovery and JWKS fetched once, then cached. */
	if (asprintf(&r, "{\"/.well-known/openid-configuration\":{\"body\":{"
	    "\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
	    "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}},"
	    "\"/bad/.well-known/openid-configuration\":{\"body\":{\"issuer\":"
	    "\"%s/other\",\"token_endpoint\":\"%s/token\",\"jwks_uri\":"
	    "\"%s/jwks\"}}}", iss, iss, iss, iss, iss, iss, iss) < 0)
		r = NULL;
	CHECK(r != NULL && routes(r) == 0);
	free(r);
	r = NULL;
	jw = jwks_of(k1, NULL);
	c = claims_of(iss, "cid", "n0nce-1", now, ",\"email\":\"a@b.test\","
	    "\"email_verified\":true");
	CHECK(serve_token(k1, c, jw) == 0);
	h0 = hits();
	CHECK(oa_upstream_identify(conf, p, "code-1", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK && u != NULL);
	CHECK(u != NULL && strcmp(u->subject, "248289761001") == 0 &&
	    u->email_verified == 1);
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(hits() - h0 == 3);   /* discovery, token, jwks */
	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_DISCOVERY, now, &body,
	    &len, &age) == 0 && strstr(body, "/authorize") != NULL);
	free(body);
	body = NULL;
	CHECK(oa_upcache_read(conf, "corp", OA_UPCACHE_JWKS, now, &body, &len,
	    &age) == 0 && strstr(body, k1->kid) != NULL);
	free(body);
	body = NULL;
	h0 = hits();
	CHECK(oa_upstream_identify(conf, p, "code-1", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK);
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(hits() - h0 == 1);   /* only the token endpoint */

	/* Key rotation: a token with a new kid. The JWKS was just fetched:
	 * no refetch (rate limit), refused. */
	free(jw);
	jw = jwks_of(k1, k2);
	CHECK(serve_token(k2, c, jw) == 0);
	h0 = hits();
	CHECK(oa_upstream_identify(conf, p, "code-2", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD && u == NULL);
	CHECK(hits() - h0 == 1);
	/* Older than OA_UPCACHE_REFETCH_MIN: one refetch, accepted. */
	CHECK(backdate(conf, "corp", OA_UPCACHE_JWKS, now,
	    OA_UPCACHE_REFETCH_MIN + 5) == 0);
	h0 = hits();
	CHECK(oa_upstream_identify(conf, p, "code-2", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK);
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(hits() - h0 == 2);   /* token, jwks */
	/* An attacker's key with a made-up kid cannot force refetches. */
	CHECK(backdate(conf, "corp", OA_UPCACHE_JWKS, now,
	    OA_UPCACHE_REFETCH_MIN + 5) == 0);
	CHECK(serve_token(evil, c, NULL) == 0);
	h0 = hits();
	CHECK(oa_upstream_identify(conf, p, "code-3", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
	CHECK(oa_upstream_identify(conf, p, "code-3", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
	CHECK(hits() - h0 == 3);   /* token, jwks, token */

	/* Each bad ID token: server_error (OA_UPSTREAM_BAD). */
	{
		char *cl;
		cl = claims_of(iss, "cid", "wrong-nonce", now, NULL);
		CHECK(serve_token(k1, cl, NULL) == 0);
		CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now,
		    &u) == OA_UPSTREAM_BAD);
		free(cl);
		cl = claims_of(iss, "not-cid", "n0nce-1", now, NULL);
		CHECK(serve_token(k1, cl, NULL) == 0);
		CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now,
		    &u) == OA_UPSTREAM_BAD);
		free(cl);
		cl = claims_of("http://127.0.0.1:1", "cid", "n0nce-1", now,
		    NULL);
		CHECK(serve_token(k1, cl, NULL) == 0);
		CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now,
		    &u) == OA_UPSTREAM_BAD);
		free(cl);
		/* Signed by evil under k1's kid. */
		memcpy(evil->kid, k1->kid, sizeof(k1->kid));
		CHECK(serve_token(evil, c, NULL) == 0);
		CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now,
		    &u) == OA_UPSTREAM_BAD);
		CHECK(u == NULL);
	}
	/* Token endpoint failures. */
	CHECK(routes("{\"/token\":{\"status\":503,\"body\":{\"error\":"
	    "\"temporarily_unavailable\"}}}") == 0);
	CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now, &u) ==
	    OA_UPSTREAM_UNAVAILABLE);
	CHECK(routes("{\"/token\":{\"status\":400,\"body\":{\"error\":"
	    "\"invalid_grant\"}}}") == 0);
	CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
	CHECK(routes("{\"/token\":{\"body\":\"{\\\"access_token\\\": tru\"}}")
	    == 0);
	CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
	CHECK(routes("{\"/token\":{\"body\":{\"access_token\":\"a\","
	    "\"token_type\":\"Bearer\"}}}") == 0);   /* no id_token */
	CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
	{
		long t0 = now_ms();
		CHECK(routes("{\"/token\":{\"hang\":true}}") == 0);
		CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now,
		    &u) == OA_UPSTREAM_UNAVAILABLE);
		/* Bounded by the total timeout set above, not hung. */
		CHECK(now_ms() - t0 < lim.timeout_ms + 3500);
	}
	CHECK(u == NULL);

	/* A stale discovery document is used when the upstream fails. */
	CHECK(backdate(conf, "corp", OA_UPCACHE_DISCOVERY, now, 2 * 86400) == 0);
	CHECK(routes("{\"/.well-known/openid-configuration\":{\"status\":"
	    "500}}") == 0);
	CHECK(serve_token(k1, c, NULL) == 0);
	CHECK(oa_upstream_identify(conf, p, "x", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK);
	oa_upstream_user_free(u);
	u = NULL;
	/* Forced: the fetch fails, the stale copy still serves. A
	 * document naming another issuer is refused. */
	CHECK(oa_upstream_discover(conf, p, now, 1, &m) == OA_UPSTREAM_OK);
	oa_upstream_meta_free(m);
	m = NULL;
	CHECK(oa_upstream_discover(conf, bad, now, 0, &m) == OA_UPSTREAM_BAD &&
	    m == NULL);

	/* GitHub. */
	if (asprintf(&r, "{\"/gtoken\":{\"type\":\"application/x-www-form-"
	    "urlencoded\",\"body\":\"access_token=gho_abc&scope=read%%3Auser&"
	    "token_type=bearer\"},\"/user\":{\"body\":{\"login\":\"octocat\","
	    "\"id\":583231,\"name\":null,\"avatar_url\":\"%s/a.png\"}},"
	    "\"/user/emails\":{\"body\":[{\"email\":\"o@example.test\","
	    "\"primary\":true,\"verified\":true}]}}", iss) < 0)
		r = NULL;
	CHECK(r != NULL && routes(r) == 0);
	free(r);
	r = NULL;
	login.provider = "gh";
	login.nonce = NULL;
	CHECK(oa_upstream_identify(conf, gh, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK && u != NULL);
	if (u != NULL) {
		CHECK_STR(u->subject, "583231");
		CHECK_STR(u->name, "octocat");
		CHECK_STR(u->email, "o@example.test");
		CHECK(u->email_verified == 1);
	}
	oa_upstream_user_free(u);
	u = NULL;
	/* No user:email scope: 404, no email; a 502 fails the sign-in. */
	CHECK(routes("{\"/user/emails\":{\"status\":404,\"body\":{}}}") == 0);
	CHECK(oa_upstream_identify(conf, gh, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK && u != NULL && u->email == NULL);
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(routes("{\"/user/emails\":{\"status\":502}}") == 0);
	CHECK(oa_upstream_identify(conf, gh, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_UNAVAILABLE);
	CHECK(routes("{\"/user\":{\"body\":\"<html>\",\"type\":\"text/html\"},"
	    "\"/user/emails\":{\"body\":[]}}") == 0);
	CHECK(oa_upstream_identify(conf, gh, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
	/* GitHub's errors come with status 200. */
	CHECK(routes("{\"/gtoken\":{\"body\":{\"error\":\"bad_verification_"
	    "code\"}}}") == 0);
	CHECK(oa_upstream_identify(conf, gh, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD && u == NULL);

	/* oauth2 with a field map. */
	CHECK(routes("{\"/gtoken\":{\"body\":{\"access_token\":\"t\","
	    "\"token_type\":\"bearer\"}},\"/me\":{\"body\":{\"uid\":77,"
	    "\"email\":\"m@example.test\",\"name\":\"M\"}}}") == 0);
	login.provider = "o2";
	CHECK(oa_upstream_identify(conf, o2, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_OK && u != NULL && strcmp(u->subject, "77") == 0 &&
	    u->email_verified == 0);
	oa_upstream_user_free(u);
	u = NULL;
	CHECK(routes("{\"/me\":{\"body\":{\"id\":77}}}") == 0);
	CHECK(oa_upstream_identify(conf, o2, "c", &login, NULL, now, &u) ==
	    OA_UPSTREAM_BAD);
out:
	oa_http_set_limits(NULL);
	if (t_failed != failed0) {
		char *text = NULL;
		if (oa_file_read(log, 1 << 20, &text, NULL) == 0)
			fprintf(stderr, "---- %s\n%s----\n", log, text);
		free(text);
	}
	stop(pid);
	oa_upstream_user_free(u);
	oa_upstream_meta_free(m);
	free(c);
	free(jw);
	oa_key_free(k1);
	oa_key_free(k2);
	oa_key_free(evil);
	oa_conf_free(conf);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	const char *s = getenv("OA_SRC");

	if (s != NULL && *s != '\0')
		src_dir = s;
	oa_log_set_level(OA_LOG_ERROR);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	{
		char d[600];
		snprintf(d, sizeof(d), "%s/data", tmpdir);
		mkdir(d, 0700);
	}
	test_error_map();
	test_claims();
	test_github_parse();
	test_userinfo_parse();
	test_apple_name_dev();
	test_discovery_parse();
	test_id_token();
	test_apple_secret();
	test_upcache();
	test_against_fake();
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return t_done("test_upstream");
}
