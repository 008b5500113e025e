/*
 * test_req.c - declared parameters, validators, the Cookie header,
 * URL/form encoding and HTML escaping (lib/req.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"
#include "t.h"

/* RFC 7636 Appendix B. */
#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static const struct oa_param_spec authz[] = {
    {"client_id", 64, oa_valid_client_id, 1},
    {"redirect_uri", 512, oa_valid_uri, 0},
    {"state", 16, oa_valid_vschar, 0},
    {"code_challenge", 43, oa_valid_pkce_challenge, 0},
    {"code_verifier", 128, oa_valid_pkce_verifier, 0},
    {"scope", 256, oa_valid_scope, 0},
    {"login_hint", 64, NULL, 0},
};
#define NAUTHZ (sizeof(authz) / sizeof(authz[0]))

static struct oa_params *
parse(const char *s)
{
	return oa_params_parse(authz, NAUTHZ, s, strlen(s));
}

/* Parses s and checks the outcome: err, and the parameter it names. */
static int
parse_err(const char *s, enum oa_param_error err, const char *name)
{
	struct oa_params *p = parse(s);
	int ok;

	if (p == NULL)
		return 0;
	ok = p->err == err &&
	    ((name == NULL && p->err_name == NULL) ||
	        (name != NULL && p->err_name != NULL &&
	            strcmp(name, p->err_name) == 0));
	if (!ok)
		fprintf(stderr, "  input %s: err %d (%s) name %s\n", s,
		    (int)p->err, p->err_desc, p->err_name ? p->err_name : "-");
	oa_params_free(p);
	return ok;
}

static void
test_params_basic(void)
{
	struct oa_params *p;

	p = parse("client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
	          "%3Fx%3D1&state=a+b%2Bc&unknown=%zz%&scope=openid+email");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK(p->err == OA_PARAM_OK);
	CHECK(p->err_name == NULL);
	CHECK_STR(oa_params_get(p, "client_id"), "web");
	CHECK_STR(
	    oa_params_get(p, "redirect_uri"), "https://app.example/cb?x=1");
	CHECK_STR(oa_params_get(p, "state"), "a b+c");
	CHECK(p->len[2] == 5);
	CHECK_STR(oa_params_get(p, "scope"), "openid email");
	CHECK(oa_params_get(p, "unknown") == NULL);
	CHECK(oa_params_get(p, "code_challenge") == NULL);
	CHECK(p->v[3] == NULL);
	oa_params_free(p);

	/* Percent-encoded names match; a name with a NUL does not. */
	p = parse("client_%69d=web&state%00=x&st%61te=y");
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	CHECK_STR(oa_params_get(p, "client_id"), "web");
	CHECK_STR(oa_params_get(p, "state"), "y");
	oa_params_free(p);

	/* Empty segments and "name=" / "name": omitted (RFC 6749 §3.1). */
	p = parse("&&client_id=web&&state=&scope&");
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	CHECK(oa_params_get(p, "state") == NULL);
	CHECK(oa_params_get(p, "scope") == NULL);
	oa_params_free(p);
	/* ... so an empty copy is not a duplicate. */
	p = parse("client_id=web&state=&state=z");
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	CHECK_STR(oa_params_get(p, "state"), "z");
	oa_params_free(p);

	/* Not NUL-terminated input: only len bytes are read. */
	p = oa_params_parse(authz, NAUTHZ, "client_id=webXXX", 13);
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	CHECK_STR(oa_params_get(p, "client_id"), "web");
	oa_params_free(p);

	/* An '=' inside a value belongs to the value. */
	p = parse("client_id=web&state=a=b");
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	CHECK_STR(oa_params_get(p, "state"), "a=b");
	oa_params_free(p);

	CHECK(oa_params_parse(NULL, 0, "a=b", 3) == NULL);
	CHECK(oa_params_parse(authz, 0, "a=b", 3) == NULL);
	CHECK(oa_params_get(NULL, "state") == NULL);
	oa_params_free(NULL);
}

static void
test_params_errors(void)
{
	struct oa_params *p;
	char big[OA_PARAMS_MAX_INPUT + 2];
	size_t i;

	/* Duplicates: both copies refused, the error names the parameter. */
	p = parse("client_id=web&state=1&state=2");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->err == OA_PARAM_DUPLICATE);
		CHECK_STR(p->err_name, "state");
		CHECK_STR(p->err_desc, "state: duplicate parameter");
		CHECK(oa_params_get(p, "state") == NULL);
		CHECK_STR(oa_params_get(p, "client_id"), "web");
		oa_params_free(p);
	}
	CHECK(parse_err(
	    "client_id=a&client_id=a", OA_PARAM_DUPLICATE, "client_id"));
	CHECK(parse_err(
	    "client_id=a&st%61te=1&state=2", OA_PARAM_DUPLICATE, "state"));
	CHECK(parse_err("client_id=a&state=1&state=2&state=3",
	    OA_PARAM_DUPLICATE, "state"));
	/* Unknown duplicates are ignored. */
	CHECK(parse_err("client_id=a&foo=1&foo=2", OA_PARAM_OK, NULL));

	/* NUL, CR, LF after decoding. */
	CHECK(parse_err("client_id=a&state=x%00y", OA_PARAM_CONTROL, "state"));
	CHECK(parse_err("client_id=a&state=x%0dy", OA_PARAM_CONTROL, "state"));
	CHECK(parse_err("client_id=a&state=x%0Ay", OA_PARAM_CONTROL, "state"));
	CHECK(parse_err("client_id=a&state=%0D%0A", OA_PARAM_CONTROL, "state"));
	/* ... also with no validator (login_hint takes any other byte). */
	CHECK(parse_err(
	    "client_id=a&login_hint=a%00", OA_PARAM_CONTROL, "login_hint"));
	CHECK(parse_err(
	    "client_id=a&login_hint=a%0a", OA_PARAM_CONTROL, "login_hint"));
	CHECK(parse_err(
	    "client_id=a&login_hint=Zo%C3%AB%09x", OA_PARAM_OK, NULL));
	/* A raw control byte fails the validator. */
	CHECK(parse_err("client_id=a&state=x\ty", OA_PARAM_INVALID, "state"));

	/* Bad percent escapes. */
	CHECK(parse_err("client_id=a&state=%", OA_PARAM_BAD_ENCODING, "state"));
	CHECK(
	    parse_err("client_id=a&state=%4", OA_PARAM_BAD_ENCODING, "state"));
	CHECK(
	    parse_err("client_id=a&state=%zz", OA_PARAM_BAD_ENCODING, "state"));
	CHECK(
	    parse_err("client_id=a&state=%g0", OA_PARAM_BAD_ENCODING, "state"));
	CHECK(parse_err(
	    "client_id=a&state=ab%2", OA_PARAM_BAD_ENCODING, "state"));
	CHECK(parse_err("client_id=a&stat%e=1", OA_PARAM_BAD_ENCODING, NULL));
	/* A bad escape counts as given: a second copy is a duplicate. */
	p = parse("client_id=a&state=%zz&state=ok");
	CHECK(p != NULL && p->err == OA_PARAM_BAD_ENCODING &&
	    oa_params_get(p, "state") == NULL);
	oa_params_free(p);

	/* Over-long: exactly max_len passes, one more is refused. */
	CHECK(
	    parse_err("client_id=a&state=0123456789abcdef", OA_PARAM_OK, NULL));
	CHECK(parse_err(
	    "client_id=a&state=0123456789abcdefg", OA_PARAM_TOO_LONG, "state"));
	/* The limit applies to the decoded length. */
	CHECK(parse_err("client_id=a&state=%41%41%41%41%41%41%41%41%41%41"
	                "%41%41%41%41%41%41",
	    OA_PARAM_OK, NULL));

	/* Missing required parameter. */
	CHECK(parse_err("state=x", OA_PARAM_MISSING, "client_id"));
	CHECK(parse_err("", OA_PARAM_MISSING, "client_id"));
	CHECK(parse_err("client_id=", OA_PARAM_MISSING, "client_id"));
	p = oa_params_parse(authz, NAUTHZ, NULL, 5);
	CHECK(p != NULL && p->err == OA_PARAM_MISSING);
	oa_params_free(p);

	/* Invalid value; the values that passed stay usable. */
	p = parse("state=abc&client_id=web&code_challenge="
	          "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(p->err == OA_PARAM_INVALID);
		CHECK_STR(p->err_name, "code_challenge");
		CHECK_STR(p->err_desc, "code_challenge: invalid value");
		CHECK_STR(oa_params_get(p, "state"), "abc");
		CHECK(oa_params_get(p, "code_challenge") == NULL);
		oa_params_free(p);
	}
	/* The first problem is the one reported. */
	CHECK(parse_err("client_id=a&state=%00&state=1&redirect_uri=a%20b",
	    OA_PARAM_CONTROL, "state"));

	/* Too large, too many. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "client_id=", 10);
	p = oa_params_parse(authz, NAUTHZ, big, OA_PARAMS_MAX_INPUT + 1);
	CHECK(p != NULL && p->err == OA_PARAM_TOO_LARGE &&
	    p->err_name == NULL && p->v[0] == NULL);
	oa_params_free(p);
	p = oa_params_parse(authz, NAUTHZ, big, OA_PARAMS_MAX_INPUT);
	CHECK(p != NULL && p->err == OA_PARAM_TOO_LONG);
	oa_params_free(p);
	{
		char many[OA_PARAMS_MAX_COUNT * 4 + 32];
		size_t n = 0;
		n += (size_t)sprintf(many, "client_id=a");
		for (i = 1; i < OA_PARAMS_MAX_COUNT; i++)
			n += (size_t)sprintf(many + n, "&x=1");
		p = oa_params_parse(authz, NAUTHZ, many, n);
		CHECK(p != NULL && p->err == OA_PARAM_OK);
		oa_params_free(p);
		n += (size_t)sprintf(many + n, "&x=1");
		p = oa_params_parse(authz, NAUTHZ, many, n);
		CHECK(p != NULL && p->err == OA_PARAM_TOO_MANY);
		CHECK_STR(p ? p->err_desc : NULL, "too many parameters");
		oa_params_free(p);
	}

	/* err_desc is safe for error_description (NQSCHAR / no quotes). */
	p = parse("client_id=a&state=%0a");
	CHECK(p != NULL);
	if (p != NULL) {
		for (i = 0; p->err_desc[i]; i++)
			CHECK(p->err_desc[i] >= 0x20 && p->err_desc[i] < 0x7f &&
			    p->err_desc[i] != '"' && p->err_desc[i] != '\\' &&
			    p->err_desc[i] != '<');
		oa_params_free(p);
	}
	CHECK_STR(
	    oa_param_error_str(OA_PARAM_DUPLICATE), "duplicate parameter");
}

/*
 * Parameter names around the size of oa_params_parse's stack buffer for
 * names (64 bytes): declared names of 62..66 and 100 characters, given
 * plain and percent-encoded (three times longer raw), must match exactly
 * and only themselves: no truncation that makes a longer name, or a
 * prefix, equal to a declared one.
 */
static char *
pct_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = strlen(s);
	char *o = malloc(3 * n + 1);

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		o[3 * i] = '%';
		o[3 * i + 1] = hex[(unsigned char)s[i] >> 4];
		o[3 * i + 2] = hex[(unsigned char)s[i] & 15];
	}
	o[3 * n] = '\0';
	return o;
}

/* Parses "rawname=v" against spec; the value of declared name want, or
 * NULL; *err gets the parse error. Malloc'd copy (free). */
static char *
one_name(const struct oa_param_spec *spec, size_t nspec, const char *raw,
    const char *want, enum oa_param_error *err)
{
	struct oa_params *p;
	char in[1100];
	char *v = NULL;
	const char *g;

	snprintf(in, sizeof(in), "%s=v", raw);
	if ((p = oa_params_parse(spec, nspec, in, strlen(in))) == NULL)
		return NULL;
	*err = p->err;
	if ((g = oa_params_get(p, want)) != NULL)
		v = strdup(g);
	oa_params_free(p);
	return v;
}

static void
test_long_names(void)
{
	static const size_t lens[] = { 20, 21, 22, 62, 63, 64, 65, 66, 100 };
	char names[9][101], *v, *enc, raw[1024];
	struct oa_param_spec spec[9];
	enum oa_param_error err;
	size_t i, j, n = sizeof(lens) / sizeof(lens[0]);

	/* Each name a prefix of the next: "nnnn...". */
	for (i = 0; i < n; i++) {
		memset(names[i], 'n', lens[i]);
		names[i][lens[i]] = '\0';
		spec[i].name = names[i];
		spec[i].max_len = 8;
		spec[i].valid = NULL;
		spec[i].required = 0;
	}
	for (i = 0; i < n; i++) {
		/* Plain: only itself. */
		err = OA_PARAM_OK;
		for (j = 0; j < n; j++) {
			v = one_name(spec, n, names[i], names[j], &err);
			CHECK((i == j) == (v != NULL));
			CHECK(err == OA_PARAM_OK);
			free(v);
		}
		/* Percent-encoded, and mixed: the same name. */
		if ((enc = pct_encode(names[i])) == NULL)
			continue;
		v = one_name(spec, n, enc, names[i], &err);
		CHECK(v != NULL && strcmp(v, "v") == 0 && err == OA_PARAM_OK);
		free(v);
		snprintf(raw, sizeof(raw), "n%s", enc + 3);
		v = one_name(spec, n, raw, names[i], &err);
		CHECK(v != NULL && err == OA_PARAM_OK);
		free(v);
		/* One more byte, encoded or not: no declared name. */
		snprintf(raw, sizeof(raw), "%sx", enc);
		for (j = 0; j < n; j++) {
			v = one_name(spec, n, raw, names[j], &err);
			CHECK(v == NULL);
			free(v);
		}
		snprintf(raw, sizeof(raw), "%s%%00", names[i]);
		for (j = 0; j < n; j++) {
			v = one_name(spec, n, raw, names[j], &err);
			CHECK(v == NULL);
			free(v);
		}
		/* A bad escape at the very end of a long name: refused. */
		snprintf(raw, sizeof(raw), "%s%%4", names[i]);
		v = one_name(spec, n, raw, names[i], &err);
		CHECK(v == NULL && err == OA_PARAM_BAD_ENCODING);
		free(v);
		free(enc);
	}
	/* A 63- and a 64-byte raw name that decode to the 21-byte name. */
	if ((enc = pct_encode(names[1])) != NULL) {
		CHECK(strlen(enc) == 63);
		v = one_name(spec, n, enc, names[1], &err);
		CHECK(v != NULL);
		free(v);
		free(enc);
	}
	if ((enc = pct_encode(names[2])) != NULL) {
		CHECK(strlen(enc) == 66);
		v = one_name(spec, n, enc, names[2], &err);
		CHECK(v != NULL);
		free(v);
		free(enc);
	}
}

static void
test_pkce(void)
{
	char v[130];

	memset(v, 'a', sizeof(v));
	CHECK(!oa_valid_pkce_verifier(v, 42));
	CHECK(oa_valid_pkce_verifier(v, 43));
	CHECK(oa_valid_pkce_verifier(v, 128));
	CHECK(!oa_valid_pkce_verifier(v, 129));
	CHECK(oa_valid_pkce_verifier(RFC_VERIFIER, 43));
	memcpy(v, "-._~AZaz09", 10);
	CHECK(oa_valid_pkce_verifier(v, 43));
	v[5] = '+';
	CHECK(!oa_valid_pkce_verifier(v, 43));
	v[5] = '=';
	CHECK(!oa_valid_pkce_verifier(v, 43));
	v[5] = ' ';
	CHECK(!oa_valid_pkce_verifier(v, 43));

	/* Through the parser, as the token endpoint sees it. */
	{
		char in[256];
		memset(v, 'b', sizeof(v));
		v[42] = '\0';
		snprintf(in, sizeof(in), "client_id=a&code_verifier=%s", v);
		CHECK(parse_err(in, OA_PARAM_INVALID, "code_verifier"));
		v[42] = 'b';
		v[43] = '\0';
		snprintf(in, sizeof(in), "client_id=a&code_verifier=%s", v);
		CHECK(parse_err(in, OA_PARAM_OK, NULL));
		v[43] = 'b';
		v[128] = '\0';
		snprintf(in, sizeof(in), "client_id=a&code_verifier=%s", v);
		CHECK(parse_err(in, OA_PARAM_OK, NULL));
		v[128] = 'b';
		v[129] = '\0';
		snprintf(in, sizeof(in), "client_id=a&code_verifier=%s", v);
		CHECK(parse_err(in, OA_PARAM_TOO_LONG, "code_verifier"));
	}

	CHECK(oa_valid_pkce_challenge(RFC_CHALLENGE, 43));
	CHECK(!oa_valid_pkce_challenge(RFC_CHALLENGE, 42));
	CHECK(!oa_valid_pkce_challenge(RFC_CHALLENGE "A", 44));
	/* Same length, last character not canonical (low bits set). */
	CHECK(!oa_valid_pkce_challenge(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN", 43));
	CHECK(!oa_valid_pkce_challenge(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", 43));
	CHECK(!oa_valid_pkce_challenge(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw.cM", 43));
	CHECK(oa_valid_pkce_challenge(
	    "_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-w", 43));
}

static void
test_validators(void)
{
	CHECK(oa_valid_vschar("a b~", 4));
	CHECK(!oa_valid_vschar("", 0));
	CHECK(!oa_valid_vschar(NULL, 3));
	CHECK(!oa_valid_vschar("a\x7f", 2));
	CHECK(!oa_valid_vschar("a\x1f", 2));
	CHECK(!oa_valid_vschar("\xc3\xa9", 2));
	CHECK(oa_valid_printable("a!~", 3));
	CHECK(!oa_valid_printable("a b", 3));

	CHECK(oa_valid_unreserved("aZ09-._~", 8));
	CHECK(!oa_valid_unreserved("a/b", 3));
	CHECK(oa_valid_b64url("aZ09-_", 6));
	CHECK(!oa_valid_b64url("a.b", 3));
	CHECK(!oa_valid_b64url("ab=", 3));

	CHECK(oa_valid_client_id("web", 3));
	CHECK(oa_valid_client_id("my-app.v2:x@y+z", 15));
	CHECK(!oa_valid_client_id("a b", 3));
	CHECK(!oa_valid_client_id("a/b", 3));
	CHECK(!oa_valid_client_id("a<b", 3));

	CHECK(oa_valid_uri("https://app.example:8443/cb?x=1&y=%20#f", 39));
	CHECK(oa_valid_uri("com.example.app:/oauth2redirect", 31));
	CHECK(!oa_valid_uri("https://a/b c", 13));
	CHECK(!oa_valid_uri("https://a/<x>", 13));
	CHECK(!oa_valid_uri("https://a/\"", 11));
	CHECK(!oa_valid_uri("https://a/\\", 11));
	CHECK(!oa_valid_uri("https://a/{}", 12));
	CHECK(!oa_valid_uri("https://a/\xc3\xa9", 12));
	CHECK(!oa_valid_uri("https://a/\x01", 11));
	CHECK(!oa_valid_uri("a\0b", 3));

	CHECK(oa_valid_scope("openid email profile", 20));
	CHECK(oa_valid_scope("openid", 6));
	CHECK(oa_valid_scope("https://x/y!#$", 14));
	CHECK(!oa_valid_scope("openid  email", 13));
	CHECK(!oa_valid_scope(" openid", 7));
	CHECK(!oa_valid_scope("openid ", 7));
	CHECK(!oa_valid_scope("a\"b", 3));
	CHECK(!oa_valid_scope("a\\b", 3));
	CHECK(!oa_valid_scope("a\tb", 3));

	CHECK(oa_valid_names("code", 4));
	CHECK(oa_valid_names("code id_token", 13));
	CHECK(!oa_valid_names("code  token", 11));
	CHECK(!oa_valid_names("code-x", 6));
	CHECK(!oa_valid_names("code ", 5));

	CHECK(oa_valid_word("authorization_code", 18));
	CHECK(oa_valid_word("urn:ietf:params:oauth:grant-type:x", 34));
	CHECK(!oa_valid_word("a b", 3));
	CHECK(!oa_valid_word("a/b", 3));

	/* UTF-8 text. */
	CHECK(oa_valid_text("Zo\xc3\xab", 4));
	CHECK(oa_valid_text("\xe2\x82\xac \xf0\x9f\x98\x80 \t", 10) == 0);
	CHECK(oa_valid_text("\xe2\x82\xac \xf0\x9f\x98\x80", 8));
	CHECK(oa_valid_text("{\"name\":{\"firstName\":\"A\"}}", 26));
	CHECK(oa_valid_text("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
	CHECK(!oa_valid_text("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!oa_valid_text("\xc0\xaf", 2));         /* overlong */
	CHECK(!oa_valid_text("\xe0\x80\xaf", 3));     /* overlong */
	CHECK(!oa_valid_text("\xf0\x80\x80\xaf", 4)); /* overlong */
	CHECK(!oa_valid_text("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!oa_valid_text("\xc2\x85", 2));         /* C1 NEL */
	CHECK(oa_valid_text("\xc2\xa0", 2));          /* NBSP */
	CHECK(!oa_valid_text("\xe2\x82", 2));         /* truncated */
	CHECK(!oa_valid_text("\x80", 1));             /* lone cont. */
	CHECK(!oa_valid_text("\xff", 1));
	CHECK(!oa_valid_text("a\x7f", 2));
	CHECK(!oa_valid_text("a\x01", 2));
	CHECK(!oa_valid_text("", 0));
}

static void
test_cookies(void)
{
	struct oa_cookies *c = NULL;
	const char *v = NULL;
	char big[OA_COOKIES_MAX_INPUT + 1];
	size_t i, n;

	CHECK(oa_cookies_parse("a=1; b=2", 8, &c) == 0);
	CHECK(c != NULL && c->n == 2);
	CHECK(oa_cookies_get(c, "a", &v) == OA_COOKIE_FOUND);
	CHECK_STR(v, "1");
	CHECK(oa_cookies_get(c, "b", &v) == OA_COOKIE_FOUND);
	CHECK_STR(v, "2");
	v = "untouched";
	CHECK(oa_cookies_get(c, "c", &v) == OA_COOKIE_ABSENT);
	CHECK_STR(v, "untouched");
	CHECK(oa_cookies_get(c, "A", &v) == OA_COOKIE_ABSENT);
	oa_cookies_free(c);
	c = NULL;

	/* Lenient on whitespace, empty pieces, pairs without '='. */
	{
		const char *h = " \ta = x y \t;;b=;noequals; =nameless ;"
		                "c=d=e;\"q\"=\"quoted\";";
		CHECK(oa_cookies_parse(h, strlen(h), &c) == 0);
		CHECK(c != NULL && c->n == 4);
		CHECK(oa_cookies_get(c, "a", &v) == OA_COOKIE_FOUND);
		CHECK_STR(v, "x y");
		CHECK(oa_cookies_get(c, "b", &v) == OA_COOKIE_FOUND);
		CHECK_STR(v, "");
		CHECK(oa_cookies_get(c, "noequals", &v) == OA_COOKIE_ABSENT);
		CHECK(oa_cookies_get(c, "", &v) == OA_COOKIE_ABSENT);
		CHECK(oa_cookies_get(c, "c", &v) == OA_COOKIE_FOUND);
		CHECK_STR(v, "d=e");
		CHECK(oa_cookies_get(c, "\"q\"", &v) == OA_COOKIE_FOUND);
		CHECK_STR(v, "\"quoted\"");
		oa_cookies_free(c);
		c = NULL;
	}

	/* Duplicates: refused for the name concerned only. */
	{
		const char *h = "__Host-ownauth_login=one; other=1; "
		                "__Host-ownauth_login=two";
		CHECK(oa_cookies_parse(h, strlen(h), &c) == 0);
		v = NULL;
		CHECK(oa_cookies_get(c, "__Host-ownauth_login", &v) ==
		    OA_COOKIE_DUPLICATE);
		CHECK(v == NULL);
		CHECK(oa_cookies_get(c, "other", &v) == OA_COOKIE_FOUND);
		oa_cookies_free(c);
		c = NULL;
	}

	/* Empty and NULL headers. */
	CHECK(oa_cookies_parse("", 0, &c) == 0 && c != NULL && c->n == 0);
	CHECK(oa_cookies_get(c, "a", &v) == OA_COOKIE_ABSENT);
	oa_cookies_free(c);
	c = NULL;
	CHECK(oa_cookies_parse(NULL, 10, &c) == 0 && c != NULL && c->n == 0);
	oa_cookies_free(c);
	c = NULL;

	/* Control bytes refuse the whole header; high bytes do not. */
	CHECK(oa_cookies_parse("a=1\r\nb=2", 8, &c) == -1 && c == NULL);
	CHECK(oa_cookies_parse("a=1\x01", 4, &c) == -1 && c == NULL);
	CHECK(oa_cookies_parse("a=1\x7f", 4, &c) == -1 && c == NULL);
	CHECK(oa_cookies_parse("a=1\0; b=2", 9, &c) == -1 && c == NULL);
	CHECK(oa_cookies_parse("a=\xc3\xa9; b=2", 9, &c) == 0);
	CHECK(oa_cookies_get(c, "b", &v) == OA_COOKIE_FOUND);
	oa_cookies_free(c);
	c = NULL;

	/* Length-bounded: bytes after len are not read. */
	CHECK(oa_cookies_parse("a=12345", 4, &c) == 0);
	CHECK(oa_cookies_get(c, "a", &v) == OA_COOKIE_FOUND);
	CHECK_STR(v, "12");
	oa_cookies_free(c);
	c = NULL;

	/* Caps on size and count. */
	memset(big, 'x', sizeof(big));
	big[0] = 'a';
	big[1] = '=';
	CHECK(oa_cookies_parse(big, OA_COOKIES_MAX_INPUT + 1, &c) == -1);
	CHECK(oa_cookies_parse(big, OA_COOKIES_MAX_INPUT, &c) == 0);
	oa_cookies_free(c);
	c = NULL;
	n = 0;
	for (i = 0; i < OA_COOKIES_MAX_COUNT; i++)
		n += (size_t)sprintf(big + n, "c%zu=v; ", i);
	CHECK(
	    oa_cookies_parse(big, n, &c) == 0 && c->n == OA_COOKIES_MAX_COUNT);
	oa_cookies_free(c);
	c = NULL;
	n += (size_t)sprintf(big + n, "one=more");
	CHECK(oa_cookies_parse(big, n, &c) == -1 && c == NULL);
	/* Many separators but few pairs are fine. */
	memset(big, ';', 1000);
	memcpy(big + 1000, "a=b", 3);
	CHECK(oa_cookies_parse(big, 1003, &c) == 0 && c->n == 1);
	oa_cookies_free(c);
	oa_cookies_free(NULL);
	CHECK(oa_cookies_get(NULL, "a", &v) == OA_COOKIE_ABSENT);
}

static void
test_encode(void)
{
	char *s;
	static const struct oa_kv code[] = {
	    {"code", "abc"},
	    {"state", "x y&z=/\xc3\xa9~"},
	    {"nothing", NULL},
	    {"iss", "https://auth.example.com"},
	};
	static const struct oa_kv err[] = {
	    {"error", "invalid_request"},
	    {"error_description", "state: duplicate parameter"},
	};

	s = oa_url_encode("a b&c=d/\xc3\xa9~-._+%", 16);
	CHECK_STR(s, "a%20b%26c%3Dd%2F%C3%A9~-._%2B%25");
	free(s);
	s = oa_url_encode("a\0b", 3);
	CHECK_STR(s, "a%00b");
	free(s);
	s = oa_url_encode("", 0);
	CHECK_STR(s, "");
	free(s);
	CHECK(oa_url_encode(NULL, 0) == NULL);

	s = oa_url_append("https://app.example/cb", OA_URL_QUERY, code, 4);
	CHECK_STR(s,
	    "https://app.example/cb?code=abc&state=x%20y%26z%3D%2F"
	    "%C3%A9~&iss=https%3A%2F%2Fauth.example.com");
	free(s);
	/* Existing query kept. */
	s = oa_url_append(
	    "https://app.example/cb?tenant=1", OA_URL_QUERY, code, 1);
	CHECK_STR(s, "https://app.example/cb?tenant=1&code=abc");
	free(s);
	s = oa_url_append("https://app.example/cb?", OA_URL_QUERY, code, 1);
	CHECK_STR(s, "https://app.example/cb?code=abc");
	free(s);
	s = oa_url_append("https://app.example/cb?a=1&", OA_URL_QUERY, code, 1);
	CHECK_STR(s, "https://app.example/cb?a=1&code=abc");
	free(s);
	s = oa_url_append("http://localhost:5173/", OA_URL_QUERY, err, 2);
	CHECK_STR(s,
	    "http://localhost:5173/?error=invalid_request&"
	    "error_description=state%3A%20duplicate%20parameter");
	free(s);
	/* Fragment: after the query, which stays. */
	s = oa_url_append(
	    "https://app.example/cb?tenant=1", OA_URL_FRAGMENT, code, 2);
	CHECK_STR(s,
	    "https://app.example/cb?tenant=1#code=abc&state=x%20y%26"
	    "z%3D%2F%C3%A9~");
	free(s);
	/* A registered URI with a fragment is refused. */
	CHECK(oa_url_append(
	          "https://app.example/cb#x", OA_URL_QUERY, code, 1) == NULL);
	CHECK(oa_url_append(
	          "https://app.example/cb#", OA_URL_FRAGMENT, code, 1) == NULL);
	/* No pairs: the base as it is. */
	s = oa_url_append("https://app.example/cb", OA_URL_QUERY, code + 2, 1);
	CHECK_STR(s, "https://app.example/cb");
	free(s);
	CHECK(oa_url_append(NULL, OA_URL_QUERY, code, 1) == NULL);
	{
		static const struct oa_kv bad[] = {{NULL, "v"}};
		CHECK(
		    oa_url_append("https://a/", OA_URL_QUERY, bad, 1) == NULL);
		CHECK(oa_form_encode(bad, 1) == NULL);
	}

	s = oa_form_encode(code, 4);
	CHECK_STR(s,
	    "code=abc&state=x%20y%26z%3D%2F%C3%A9~&"
	    "iss=https%3A%2F%2Fauth.example.com");
	free(s);
	s = oa_form_encode(code + 2, 1);
	CHECK_STR(s, "");
	free(s);
	/* Round trip through the parser. */
	{
		static const struct oa_param_spec sp[] = {
		    {"state", 64, NULL, 1},
		};
		struct oa_params *p;
		s = oa_form_encode(code + 1, 1);
		p = s ? oa_params_parse(sp, 1, s, strlen(s)) : NULL;
		CHECK(p != NULL && p->err == OA_PARAM_OK);
		CHECK_STR(oa_params_get(p, "state"), code[1].value);
		oa_params_free(p);
		free(s);
	}

	s = oa_html_escape("<a href=\"x\">Tom & Jerry's</a>");
	CHECK_STR(s,
	    "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s"
	    "&lt;/a&gt;");
	free(s);
	s = oa_html_escape("");
	CHECK_STR(s, "");
	free(s);
	s = oa_html_escape("plain \xc3\xa9");
	CHECK_STR(s, "plain \xc3\xa9");
	free(s);
	CHECK(oa_html_escape(NULL) == NULL);
}

static void
test_media_type(void)
{
	const char *json = "application/json";

	CHECK(oa_media_type_is(OA_FORM_TYPE, OA_FORM_TYPE) == 1);
	CHECK(oa_media_type_is("application/x-www-form-urlencoded",
	    OA_FORM_TYPE) == 1);
	/* RFC 9110 §8.3.1: case-insensitive; parameters and OWS. */
	CHECK(oa_media_type_is("Application/X-WWW-Form-Urlencoded",
	    OA_FORM_TYPE) == 1);
	CHECK(oa_media_type_is(OA_FORM_TYPE ";charset=UTF-8",
	    OA_FORM_TYPE) == 1);
	CHECK(oa_media_type_is(OA_FORM_TYPE " ; charset=UTF-8",
	    OA_FORM_TYPE) == 1);
	CHECK(oa_media_type_is(OA_FORM_TYPE "\t;", OA_FORM_TYPE) == 1);
	CHECK(oa_media_type_is("  " OA_FORM_TYPE "  ", OA_FORM_TYPE) == 1);
	CHECK(oa_media_type_is("application/json; charset=utf-8", json) == 1);

	/* Another type, a longer subtype, junk after it, nothing. */
	CHECK(oa_media_type_is(NULL, OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is("", OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is(json, OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is(OA_FORM_TYPE, json) == 0);
	CHECK(oa_media_type_is("multipart/form-data; boundary=x",
	    OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is(OA_FORM_TYPE "x", OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is(OA_FORM_TYPE " x", OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is(OA_FORM_TYPE ",text/plain", OA_FORM_TYPE) ==
	    0);
	CHECK(oa_media_type_is("application/x-www-form", OA_FORM_TYPE) == 0);
	CHECK(oa_media_type_is("application/jsonp", json) == 0);
	CHECK(oa_media_type_is("text/application/json", json) == 0);
}

/*
 * The values of a parse share one buffer sized from the input: the
 * worst cases for its room (every pair declared, given back after a
 * refusal, duplicated, or as long as the whole input) all fit and keep
 * their values intact.
 */
static void
test_params_room(void)
{
	static const struct oa_param_spec big[] = {
		{"a", 20000, NULL, 0},
		{"b", 20000, NULL, 0},
		{"c", 4, NULL, 0},
	};
	char *in;
	struct oa_params *p;
	size_t i, n;

	if ((in = malloc(OA_PARAMS_MAX_INPUT + 16)) == NULL) {
		CHECK(0);
		return;
	}
	/* One value as long as the input allows. */
	memcpy(in, "a=", 2);
	memset(in + 2, 'x', OA_PARAMS_MAX_INPUT - 2);
	p = oa_params_parse(big, 3, in, OA_PARAMS_MAX_INPUT);
	CHECK(p != NULL && p->err == OA_PARAM_OK);
	if (p != NULL) {
		CHECK(p->v[0] != NULL &&
		    p->len[0] == OA_PARAMS_MAX_INPUT - 2 &&
		    strspn(p->v[0], "x") == OA_PARAMS_MAX_INPUT - 2);
		oa_params_free(p);
	}
	/* 64 one-byte pairs: c refused (too long) then given back, a and
	 * b kept, the rest duplicates. */
	n = 0;
	n += (size_t)sprintf(in + n, "c=toolong&a=1&b=%%32");
	for (i = 3; i < OA_PARAMS_MAX_COUNT; i++)
		n += (size_t)sprintf(in + n, "&%c=%c", "abc"[i % 3],
		    (char)('0' + i % 10));
	p = oa_params_parse(big, 3, in, n);
	CHECK(p != NULL && p->err == OA_PARAM_TOO_LONG);
	if (p != NULL) {
		CHECK(p->v[0] == NULL && p->v[1] == NULL && p->v[2] == NULL);
		oa_params_free(p);
	}
	/* Two values kept after a refused one: neither is overwritten. */
	p = oa_params_parse(big, 3, "c=toolong&a=first&b=second&c=ok", 31);
	CHECK(p != NULL && p->err == OA_PARAM_TOO_LONG);
	if (p != NULL) {
		CHECK(oa_params_get(p, "a") != NULL &&
		    strcmp(oa_params_get(p, "a"), "first") == 0);
		CHECK(oa_params_get(p, "b") != NULL &&
		    strcmp(oa_params_get(p, "b"), "second") == 0);
		CHECK(p->len[0] == 5 && p->len[1] == 6);
		CHECK(oa_params_get(p, "c") == NULL);
		oa_params_free(p);
	}
	/* Empty values, then bad escapes, then the kept ones. */
	p = oa_params_parse(big, 3, "a=&b=%zz&a=x%41y&c=ok", 21);
	CHECK(p != NULL && p->err == OA_PARAM_BAD_ENCODING);
	if (p != NULL) {
		CHECK(oa_params_get(p, "a") != NULL &&
		    strcmp(oa_params_get(p, "a"), "xAy") == 0);
		CHECK(oa_params_get(p, "b") == NULL);
		CHECK(oa_params_get(p, "c") != NULL &&
		    strcmp(oa_params_get(p, "c"), "ok") == 0);
		oa_params_free(p);
	}
	free(in);
}

/* RFC 3986 §2.3's unreserved set, every byte value: what
 * oa_valid_unreserved accepts and what the URL encoder leaves alone. */
static void
test_unreserved_all(void)
{
	int bad = 0;

	for (unsigned v = 0; v < 256; v++) {
		unsigned char c = (unsigned char)v;
		char s[2] = { (char)c, '\0' }, *e;
		int want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~';

		if (oa_valid_unreserved(s, 1) != want)
			bad++;
		if (c == 0)
			continue;
		e = oa_url_encode(s, 1);
		if (e == NULL || (want ? strcmp(e, s) != 0 : strlen(e) != 3))
			bad++;
		free(e);
	}
	CHECK(bad == 0);
}

int
main(void)
{
	test_unreserved_all();
	test_params_basic();
	test_params_errors();
	test_params_room();
	test_long_names();
	test_pkce();
	test_validators();
	test_cookies();
	test_encode();
	test_media_type();
	return t_done("req");
}
