/*
 * fuzz_idtoken.c - libFuzzer target for what upstream providers send to
 * the callback once http.c has it (lib/upstream.c): discovery documents,
 * ID tokens (as compact JWTs, and as claims that then verify because we
 * sign them here), GitHub's /user and /user/emails, oauth2 userinfo
 * through a field map, Apple's first-sign-in "user" field, the dev form
 * and upstream error codes.
 *
 * The first byte picks the parser (byte % 8); the rest is the input.
 * Beyond "no crash, no leak, no read past size", every user that comes
 * out must keep the promises the store and the tokens rely on; a broken
 * one aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct oa_conf *conf;
static struct oa_key *key;
static struct oa_keyset keyset;
static struct oa_key *keys[1];

static const char conf_text[] =
    "issuer = http://127.0.0.1:8080\n"
    "data_dir = /nonexistent/data\n"
    "keys_dir = /nonexistent/keys\n"
    "[client web]\n"
    "redirect_uris = http://127.0.0.1:5173/cb\n"
    "[provider corp]\n"
    "type = oidc\n"
    "issuer = https://sso.corp.example\n"
    "client_id = cid\n"
    "[provider microsoft]\n"
    "client_id = mid\n"
    "[provider forum]\n"
    "type = oauth2\n"
    "client_id = f\n"
    "authorization_endpoint = https://f.example/a\n"
    "token_endpoint = https://f.example/t\n"
    "userinfo_endpoint = https://f.example/u\n"
    "subject_field = data.id\n"
    "email_field = data.mail\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	oa_log_set_level(OA_LOG_ERROR);
	if (oa_conf_parse("fuzz.conf", conf_text, sizeof(conf_text) - 1, 0,
	    &conf, err, sizeof(err)) != 0 ||
	    (key = oa_key_generate(OA_ALG_ES256)) == NULL)
		abort();
	keys[0] = key;
	keyset.keys = keys;
	keyset.n = 1;
	return 0;
}

static void
check_str(const char *s, size_t max, unsigned char lo, int nonempty)
{
	size_t i, n;

	if (s == NULL) {
		if (nonempty)
			abort();
		return;
	}
	n = strlen(s);
	if (n > max || (nonempty && n == 0))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] == 0x7f)
			abort();
}

/* What the store and the tokens rely on. */
static void
check_user(const struct oa_upstream_user *u)
{
	if (u == NULL)
		abort();
	/* subject: 1..255 printable ASCII (no space). */
	check_str(u->subject, 255, 0x21, 1);
	if (strspn(u->subject, "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJ"
	    "KLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") !=
	    strlen(u->subject))
		abort();
	check_str(u->email, 254, 0x21, 0);
	if (u->email != NULL && strchr(u->email, '@') == NULL)
		abort();
	if (u->email_verified && u->email == NULL)
		abort();
	check_str(u->name, 256, 0x20, 0);
	check_str(u->picture, 2048, 0x21, 0);
	if (u->picture != NULL && strncmp(u->picture, "https://", 8) != 0 &&
	    strncmp(u->picture, "http://", 7) != 0)
		abort();
}

static void
check_meta(const struct oa_upstream_meta *m)
{
	if (m == NULL || m->issuer == NULL || m->token_endpoint == NULL ||
	    m->jwks_uri == NULL)
		abort();
	if (!oa_url_is_secure_or_loopback(m->token_endpoint) ||
	    !oa_url_is_secure_or_loopback(m->jwks_uri) ||
	    (m->userinfo_endpoint != NULL &&
	    !oa_url_is_secure_or_loopback(m->userinfo_endpoint)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct oa_provider *corp, *ms, *forum;
	struct oa_upstream_user *u = NULL;
	struct oa_upstream_meta *m = NULL, meta;
	const char *text, *nl;
	char *s = NULL, *tok = NULL, *name = NULL;
	cJSON *claims;
	size_t len;
	unsigned sel;

	if (size == 0)
		return 0;
	sel = data[0] % 8;
	text = (const char *)data + 1;
	len = size - 1;
	corp = oa_conf_provider(conf, "corp");
	ms = oa_conf_provider(conf, "microsoft");
	forum = oa_conf_provider(conf, "forum");
	memset(&meta, 0, sizeof(meta));
	meta.issuer = (char *)"https://sso.corp.example";

	switch (sel) {
	case 0:
		if (oa_upstream_discovery_parse(corp, text, len, &m) == 0) {
			check_meta(m);
			if (strcmp(m->issuer, corp->issuer) != 0 ||
			    m->iss_tenant)
				abort();
		}
		oa_upstream_meta_free(m);
		m = NULL;
		if (oa_upstream_discovery_parse(ms, text, len, &m) == 0) {
			check_meta(m);
			if (strncmp(m->issuer,
			    "https://login.microsoftonline.com/", 34) != 0)
				abort();
		}
		break;
	case 1:
		/* "USER\nEMAILS", or USER alone (no /user/emails). */
		nl = memchr(text, '\n', len);
		if (oa_upstream_github_parse(text, nl != NULL ?
		    (size_t)(nl - text) : len, nl != NULL ? nl + 1 : NULL,
		    nl != NULL ? len - (size_t)(nl - text) - 1 : 0, &u) == 0)
			check_user(u);
		break;
	case 2:
		if (oa_upstream_userinfo_parse(forum, text, len, &u) == 0)
			check_user(u);
		break;
	case 3:
		if (oa_upstream_apple_name(text, len, &name) == 0)
			check_str(name, 256, 0x20, 1);
		break;
	case 4:
		/* A compact JWT from the upstream: it never verifies with our
		 * key unless we signed it, and must never crash. */
		if ((s = strndup(text, len)) == NULL)
			break;
		if (oa_upstream_id_token_verify(corp, &meta, &keyset, s, "n",
		    time(NULL), &u) == OA_JWT_OK)
			abort();
		break;
	case 5:
		/* Claims that verify (we sign them): every check after the
		 * signature runs on them. */
		if ((claims = oa_json_parse_object(text, len)) == NULL)
			break;
		tok = oa_jwt_sign(key, claims);
		cJSON_Delete(claims);
		if (tok != NULL && oa_upstream_id_token_verify(corp, &meta,
		    &keyset, tok, "n", time(NULL), &u) == OA_JWT_OK)
			check_user(u);
		break;
	case 6:
		/* The dev form: "EMAIL\nNAME". */
		if ((s = strndup(text, len)) == NULL)
			break;
		if ((nl = strchr(s, '\n')) != NULL)
			s[nl - s] = '\0';
		if (oa_upstream_dev_user(s, nl != NULL ? nl + 1 : NULL,
		    &u) == 0) {
			check_user(u);
			if (u->email_verified)
				abort();
		}
		break;
	default:
		if ((s = strndup(text, len)) == NULL)
			break;
		{
			const char *e = oa_upstream_error_map(s);
			if (strcmp(e, "server_error") != 0 &&
			    strcmp(e, "access_denied") != 0 &&
			    strcmp(e, s) != 0)
				abort();
		}
		break;
	}
	oa_upstream_user_free(u);
	oa_upstream_meta_free(m);
	free(s);
	free(tok);
	free(name);
	return 0;
}
