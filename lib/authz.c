/*
 * authz.c - the authorization request (SPEC §2.1): which client, which
 * redirect URI, and whether the rest of the request is acceptable.
 *
 * The order matters (RFC 6749 §4.1.2.1, RFC 9700 §4.1, SECURITY 1, 2):
 * first the client and its redirect URI are established, from a parse
 * that looks at those two parameters only. Until both are, every
 * problem is an error page: a redirect to a URI we have not matched byte
 * for byte against the configuration would make us an open redirector.
 * Only then is the whole request parsed, and a problem there goes back
 * to the registered redirect URI as an OAuth error response, with the
 * client's state echoed and our issuer (RFC 9207).
 *
 * The error descriptions are fixed text or oa_params' err_desc (our own
 * parameter names and fixed phrases): never input bytes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ownauth.h"

/* RFC 7636 §4.1: 32 random bytes give a 43-character verifier. */
#define VERIFIER_BYTES 32
#define STATE_BYTES 32
#define NONCE_BYTES 32

/* discovered=1 only. */
static int
valid_one(const char *v, size_t len)
{
	return len == 1 && v[0] == '1';
}

/* Pass 1: the parameters that decide where errors may go. */
static const struct oa_param_spec spec_client[] = {
	{ "client_id", 128, oa_valid_client_id, 0 },
	{ "redirect_uri", OA_AUTHZ_REDIRECT_MAX, oa_valid_uri, 0 },
};

/* Pass 2: every parameter of the authorization endpoint. */
enum {
	P_CLIENT_ID,
	P_REDIRECT_URI,
	P_RESPONSE_TYPE,
	P_STATE,
	P_NONCE,
	P_CODE_CHALLENGE,
	P_CODE_CHALLENGE_METHOD,
	P_SCOPE,
	P_PROMPT,
	P_LOGIN_HINT,
	P_RESPONSE_MODE,
	P_REQUEST,
	P_REQUEST_URI,
	P_REGISTRATION,
	P_DISCOVERED,
	P_COUNT
};

static const struct oa_param_spec spec_all[P_COUNT] = {
	[P_CLIENT_ID] = { "client_id", 128, oa_valid_client_id, 0 },
	[P_REDIRECT_URI] = { "redirect_uri", OA_AUTHZ_REDIRECT_MAX,
	    oa_valid_uri, 0 },
	[P_RESPONSE_TYPE] = { "response_type", 64, oa_valid_names, 0 },
	/* RFC 6749 Appendix A.5: state is VSCHAR. */
	[P_STATE] = { "state", OA_AUTHZ_STATE_MAX, oa_valid_vschar, 0 },
	[P_NONCE] = { "nonce", OA_AUTHZ_NONCE_MAX, oa_valid_vschar, 0 },
	/* RFC 7636 §4.2: S256 gives exactly 43 base64url characters. */
	[P_CODE_CHALLENGE] = { "code_challenge", 43, oa_valid_pkce_challenge,
	    0 },
	[P_CODE_CHALLENGE_METHOD] = { "code_challenge_method", 16,
	    oa_valid_word, 0 },
	[P_SCOPE] = { "scope", OA_AUTHZ_SCOPE_MAX, oa_valid_scope, 0 },
	[P_PROMPT] = { "prompt", 64, oa_valid_names, 0 },
	[P_LOGIN_HINT] = { "login_hint", OA_AUTHZ_HINT_MAX, oa_valid_text,
	    0 },
	[P_RESPONSE_MODE] = { "response_mode", 32, oa_valid_word, 0 },
	/* Declared only to be refused with their own errors. */
	[P_REQUEST] = { "request", 8192, NULL, 0 },
	[P_REQUEST_URI] = { "request_uri", 2048, NULL, 0 },
	[P_REGISTRATION] = { "registration", 8192, NULL, 0 },
	[P_DISCOVERED] = { "discovered", 1, valid_one, 0 },
};

/* OIDC Core §3.1.2.1 prompt values (and "create", OIDC Prompt Create). */
static const char *const prompt_values[] = {
	"none", "login", "consent", "select_account", "create",
};

static void
set_error(struct oa_authz *a, enum oa_authz_result r, const char *error,
    const char *description)
{
	a->result = r;
	a->error = error;
	snprintf(a->error_description, sizeof(a->error_description), "%s",
	    description);
}

/* The value of spec_all[i] in p, borrowed: authz_block() copies what
 * is kept before p is freed. */
static char *
take(struct oa_params *p, size_t i)
{
	return p->v[i];
}

/* The strings of struct oa_authz, for authz_block(). */
static const size_t authz_strings[] = {
	offsetof(struct oa_authz, state),
	offsetof(struct oa_authz, nonce),
	offsetof(struct oa_authz, code_challenge),
	offsetof(struct oa_authz, scope),
	offsetof(struct oa_authz, prompt),
	offsetof(struct oa_authz, login_hint),
};
#define N_AUTHZ_STRINGS (sizeof(authz_strings) / sizeof(authz_strings[0]))

static char **
authz_string(struct oa_authz *a, size_t i)
{
	return (char **)(void *)((char *)a + authz_strings[i]);
}

/* t (its strings borrowed) copied into one allocation with its strings
 * after it, or NULL when out of memory. */
static struct oa_authz *
authz_block(struct oa_authz *t)
{
	struct oa_authz *a;
	size_t i, n, total = sizeof(*a);
	char *d;

	for (i = 0; i < N_AUTHZ_STRINGS; i++)
		if (*authz_string(t, i) != NULL)
			total += strlen(*authz_string(t, i)) + 1;
	if ((a = malloc(total)) == NULL)
		return NULL;
	*a = *t;
	d = (char *)(a + 1);
	for (i = 0; i < N_AUTHZ_STRINGS; i++) {
		const char *v = *authz_string(t, i);
		if (v == NULL)
			continue;
		n = strlen(v) + 1;
		memcpy(d, v, n);
		*authz_string(a, i) = d;
		d += n;
	}
	a->block = total;
	return a;
}

/* 1 when the prompt value list is acceptable (OIDC Core §3.1.2.1:
 * "none" with any other value is an error). */
static int
prompt_ok(const char *prompt)
{
	const char *s = prompt, *e;
	size_t n, i, count = 0;
	int none = 0;

	while (*s != '\0') {
		e = strchr(s, ' ');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		for (i = 0; i < sizeof(prompt_values) /
		    sizeof(prompt_values[0]); i++)
			if (strlen(prompt_values[i]) == n &&
			    memcmp(prompt_values[i], s, n) == 0)
				break;
		if (i == sizeof(prompt_values) / sizeof(prompt_values[0]))
			return 0;
		if (i == 0)
			none = 1;
		count++;
		s += n;
		if (*s == ' ')
			s++;
	}
	return count > 0 && !(none && count > 1);
}

/*
 * Pass 1: establishes a->client and a->redirect_uri, or sets an
 * OA_AUTHZ_PAGE error. 0 when established, 1 when not, -1 out of memory.
 */
static int
establish_client(struct oa_authz *a, const struct oa_conf *conf,
    const char *in, size_t len)
{
	struct oa_params *p;
	const char *cid, *ruri;
	const struct oa_client *cl;
	size_t i;
	int rc = 1;

	if ((p = oa_params_parse(spec_client, 2, in, len)) == NULL)
		return -1;
	/* Any problem here, even one in another parameter's name (a bad
	 * escape, too many pairs), leaves us unsure of the client. */
	if (p->err != OA_PARAM_OK) {
		set_error(a, OA_AUTHZ_PAGE, "invalid_request", p->err_desc);
		goto out;
	}
	cid = oa_params_get(p, "client_id");
	ruri = oa_params_get(p, "redirect_uri");
	if (cid == NULL) {
		if (conf->n_clients != 1) {
			set_error(a, OA_AUTHZ_PAGE, "invalid_request",
			    "client_id: missing parameter");
			goto out;
		}
		cl = &conf->clients[0];
	} else if ((cl = oa_conf_client(conf, cid)) == NULL) {
		set_error(a, OA_AUTHZ_PAGE, "invalid_client",
		    "client_id is not a registered client");
		goto out;
	}
	if (ruri == NULL) {
		if (cl->redirect_uris.n != 1) {
			set_error(a, OA_AUTHZ_PAGE, "invalid_request",
			    "redirect_uri: missing parameter (the client "
			    "has several)");
			goto out;
		}
		a->redirect_uri = cl->redirect_uris.v[0];
	} else {
		/* RFC 9700 §4.1.3: exact string comparison, nothing else. */
		for (i = 0; i < cl->redirect_uris.n; i++)
			if (strcmp(cl->redirect_uris.v[i], ruri) == 0) {
				a->redirect_uri = cl->redirect_uris.v[i];
				break;
			}
		if (a->redirect_uri == NULL) {
			set_error(a, OA_AUTHZ_PAGE, "invalid_request",
			    "redirect_uri is not registered for this client");
			goto out;
		}
	}
	a->client = cl;
	rc = 0;
out:
	oa_params_free(p);
	return rc;
}

/* Pass 2 and the checks that follow; errors are OA_AUTHZ_REDIRECT. a's
 * strings borrow from the parse: *out gets a copied with them
 * (authz_block). 0 or -1 (out of memory). */
static int
check_request(struct oa_authz *a, const char *in, size_t len,
    struct oa_authz **out)
{
	struct oa_params *p;
	const char *rt, *method, *mode;
	int rc;

	if ((p = oa_params_parse(spec_all, P_COUNT, in, len)) == NULL)
		return -1;
	/* Known even when something else is wrong: where the error goes
	 * and the state it echoes (RFC 6749 §4.1.2.1, §4.2.2.1). */
	rt = p->v[P_RESPONSE_TYPE];
	a->fragment = rt != NULL && strcmp(rt, "token") == 0;
	a->state = take(p, P_STATE);

	if (p->err != OA_PARAM_OK) {
		set_error(a, OA_AUTHZ_REDIRECT, "invalid_request", p->err_desc);
		goto out;
	}
	/* OIDC Core §6.1, §6.2, §7.2.1. */
	if (p->v[P_REQUEST] != NULL) {
		set_error(a, OA_AUTHZ_REDIRECT, "request_not_supported",
		    "request objects are not supported");
		goto out;
	}
	if (p->v[P_REQUEST_URI] != NULL) {
		set_error(a, OA_AUTHZ_REDIRECT, "request_uri_not_supported",
		    "request_uri is not supported");
		goto out;
	}
	if (p->v[P_REGISTRATION] != NULL) {
		set_error(a, OA_AUTHZ_REDIRECT, "registration_not_supported",
		    "registration is not supported");
		goto out;
	}

	/* RFC 6749 §3.1.1; SPEC: code is the default. SECURITY 7: token
	 * only for a client that lists it. */
	if (rt == NULL || strcmp(rt, "code") == 0) {
		if (!a->client->allow_code) {
			set_error(a, OA_AUTHZ_REDIRECT,
			    "unsupported_response_type",
			    "response_type code is not enabled for this "
			    "client");
			goto out;
		}
		a->response_type = "code";
	} else if (strcmp(rt, "token") == 0) {
		if (!a->client->allow_token) {
			set_error(a, OA_AUTHZ_REDIRECT,
			    "unsupported_response_type",
			    "response_type token is not enabled for this "
			    "client");
			goto out;
		}
		a->response_type = "token";
	} else {
		set_error(a, OA_AUTHZ_REDIRECT, "unsupported_response_type",
		    "response_type must be code or token");
		goto out;
	}

	/* OAuth 2.0 Multiple Response Type Encoding Practices §2.1: only
	 * each type's default mode. */
	mode = p->v[P_RESPONSE_MODE];
	if (mode != NULL && strcmp(mode, a->fragment ? "fragment" :
	    "query") != 0) {
		set_error(a, OA_AUTHZ_REDIRECT, "invalid_request",
		    a->fragment ? "response_mode: only fragment is supported "
		    "for response_type token" : "response_mode: only query "
		    "is supported for response_type code");
		goto out;
	}

	/* RFC 7636 §4.3, RFC 9700 §2.1.1, SECURITY 5: S256, explicitly.
	 * A missing method means "plain" (RFC 7636 §4.3), refused too. */
	if (!a->fragment) {
		method = p->v[P_CODE_CHALLENGE_METHOD];
		if (p->v[P_CODE_CHALLENGE] == NULL) {
			set_error(a, OA_AUTHZ_REDIRECT, "invalid_request",
			    "code_challenge: missing parameter (PKCE with "
			    "S256 is required)");
			goto out;
		}
		if (method == NULL) {
			set_error(a, OA_AUTHZ_REDIRECT, "invalid_request",
			    "code_challenge_method: missing parameter (must "
			    "be S256)");
			goto out;
		}
		if (strcmp(method, "S256") != 0) {
			set_error(a, OA_AUTHZ_REDIRECT, "invalid_request",
			    strcmp(method, "plain") == 0 ?
			    "code_challenge_method: plain is not supported, "
			    "use S256" : "code_challenge_method: must be S256");
			goto out;
		}
		a->code_challenge = take(p, P_CODE_CHALLENGE);
	}

	if (p->v[P_PROMPT] != NULL && !prompt_ok(p->v[P_PROMPT])) {
		set_error(a, OA_AUTHZ_REDIRECT, "invalid_request",
		    "prompt: invalid value (none, login, consent, "
		    "select_account or create; none alone)");
		goto out;
	}

	a->nonce = take(p, P_NONCE);
	a->scope = take(p, P_SCOPE);
	a->prompt = take(p, P_PROMPT);
	a->login_hint = take(p, P_LOGIN_HINT);
	a->discovered = p->v[P_DISCOVERED] != NULL;
	a->result = OA_AUTHZ_OK;
	a->error = NULL;
	a->error_description[0] = '\0';
out:
	rc = (*out = authz_block(a)) != NULL ? 0 : -1;
	oa_params_free(p);
	return rc;
}

struct oa_authz *
oa_authz_parse(const struct oa_conf *conf, const char *in, size_t len)
{
	struct oa_authz t, *a = NULL;
	int r;

	if (conf == NULL)
		return NULL;
	/* Built on the stack, then copied with its strings into one
	 * allocation. */
	memset(&t, 0, sizeof(t));
	if (in == NULL)
		len = 0;
	if ((r = establish_client(&t, conf, in, len)) == -1)
		goto nomem;
	if (r == 1) {
		if ((a = authz_block(&t)) == NULL)
			goto nomem;
		return a;
	}
	if (check_request(&t, in, len, &a) == -1)
		goto nomem;
	return a;
nomem:
	oa_log(OA_LOG_ERROR, "oa_authz_parse: out of memory");
	return NULL;
}

void
oa_authz_free(struct oa_authz *a)
{
	size_t i;

	if (a == NULL)
		return;
	if (a->block != 0) {
		/* authz_block: the struct and its strings together. */
		OPENSSL_cleanse(a, a->block);
		free(a);
		return;
	}
	for (i = 0; i < N_AUTHZ_STRINGS; i++)
		oa_secret_free(*authz_string(a, i));
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

char *
oa_authz_query(const struct oa_authz *a)
{
	if (a == NULL || a->result != OA_AUTHZ_OK)
		return NULL;
	{
		const struct oa_kv kv[] = {
			{ "client_id", a->client->name },
			{ "redirect_uri", a->redirect_uri },
			{ "response_type", a->response_type },
			{ "state", a->state },
			{ "nonce", a->nonce },
			{ "code_challenge", a->code_challenge },
			{ "code_challenge_method",
			    a->code_challenge != NULL ? "S256" : NULL },
			{ "scope", a->scope },
			{ "prompt", a->prompt },
			{ "login_hint", a->login_hint },
		};
		return oa_form_encode(kv, sizeof(kv) / sizeof(kv[0]));
	}
}

char *
oa_authz_error_location(const char *redirect_uri, int fragment,
    const char *error, const char *description, const char *state,
    const char *issuer)
{
	const struct oa_kv kv[] = {
		{ "error", error },
		{ "error_description", description },
		{ "state", state },
		{ "iss", issuer },
	};

	if (redirect_uri == NULL || error == NULL) {
		oa_log(OA_LOG_ERROR, "oa_authz_error_location: bad arguments");
		return NULL;
	}
	return oa_url_append(redirect_uri, fragment ? OA_URL_FRAGMENT :
	    OA_URL_QUERY, kv, sizeof(kv) / sizeof(kv[0]));
}

/* base64url without padding (as oa_b64url_encode) of len bytes into
 * out, which has room for (len * 4 + 2) / 3 + 1 bytes. */
static void
b64url_into(const uint8_t *in, size_t len, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = al[v >> 18 & 63];
		*out++ = al[v >> 12 & 63];
		*out++ = al[v >> 6 & 63];
		*out++ = al[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = al[v >> 18 & 63];
		*out++ = al[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = al[v >> 18 & 63];
		*out++ = al[v >> 12 & 63];
		*out++ = al[v >> 6 & 63];
	}
	*out = '\0';
}

struct oa_login *
oa_authz_login_new(const struct oa_authz *a, const struct oa_provider *prov,
    time_t now)
{
	struct oa_login t, *l;
	uint8_t rnd[STATE_BYTES + VERIFIER_BYTES + NONCE_BYTES];
	char state[(STATE_BYTES * 4 + 2) / 3 + 1];
	char verifier[(VERIFIER_BYTES * 4 + 2) / 3 + 1];
	char nonce[(NONCE_BYTES * 4 + 2) / 3 + 1];

	if (a == NULL || a->result != OA_AUTHZ_OK || prov == NULL) {
		oa_log(OA_LOG_ERROR, "oa_authz_login_new: bad arguments");
		return NULL;
	}
	/* One draw for the three values (one system call), each its own
	 * bytes of it. */
	if (oa_random(rnd, sizeof(rnd)) == -1) {
		OPENSSL_cleanse(rnd, sizeof(rnd));
		return NULL;
	}
	memset(&t, 0, sizeof(t));
	t.created = now;
	b64url_into(rnd, STATE_BYTES, state);
	t.state = state;
	/* SECURITY 6: PKCE and nonce towards the upstream too. */
	if (prov->type != OA_PROV_DEV) {
		b64url_into(rnd + STATE_BYTES, VERIFIER_BYTES, verifier);
		t.verifier = verifier;
	}
	if (prov->type == OA_PROV_OIDC) {
		b64url_into(rnd + STATE_BYTES + VERIFIER_BYTES, NONCE_BYTES,
		    nonce);
		t.nonce = nonce;
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	/* The client's values and ours, copied into one allocation. */
	t.provider = prov->name;
	t.client_id = a->client->name;
	t.redirect_uri = (char *)a->redirect_uri;
	t.client_state = a->state;
	t.client_nonce = a->nonce;
	t.code_challenge = a->code_challenge;
	t.response_type = (char *)a->response_type;
	t.scope = a->scope;
	l = oa_login_dup(&t);
	OPENSSL_cleanse(state, sizeof(state));
	OPENSSL_cleanse(verifier, sizeof(verifier));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	if (l == NULL)
		oa_log(OA_LOG_ERROR, "oa_authz_login_new: out of memory");
	return l;
}
