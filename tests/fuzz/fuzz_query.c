/*
 * fuzz_query.c - the declared-parameter parser (lib/req.c) on query
 * strings, as the login program sees them (SPEC §2.1).
 *
 * Beyond "does not crash", it checks what the parser promises and aborts
 * when a promise is broken: every stored value is within its max length,
 * free of NUL/CR/LF and accepted by its validator; a clean parse
 * re-encodes (oa_form_encode) to an input that parses to the same
 * values; the encoders produce only safe bytes.
 *
 * fuzz_form.c includes this file with FUZZ_FORM defined: the same code
 * path on form bodies (token endpoint, form_post callback), with its own
 * corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

#ifndef FUZZ_FORM
/* The authorization request (SPEC §2.1). */
static const struct oa_param_spec spec_a[] = {
    {"client_id", 128, oa_valid_client_id, 0},
    {"redirect_uri", 1024, oa_valid_uri, 0},
    {"response_type", 32, oa_valid_names, 0},
    {"state", 512, oa_valid_vschar, 0},
    {"nonce", 512, oa_valid_vschar, 0},
    {"code_challenge", 43, oa_valid_pkce_challenge, 0},
    {"code_challenge_method", 8, oa_valid_word, 0},
    {"scope", 256, oa_valid_scope, 0},
    {"prompt", 64, oa_valid_names, 0},
    {"login_hint", 256, oa_valid_text, 0},
};
/* The callback (GET): what an upstream sends back (SPEC §2.2). */
static const struct oa_param_spec spec_b[] = {
    {"code", 2048, oa_valid_vschar, 1},
    {"state", 128, oa_valid_b64url, 1},
    {"error", 64, oa_valid_word, 0},
    {"error_description", 512, oa_valid_text, 0},
    {"iss", 512, oa_valid_uri, 0},
    {"scope", 512, NULL, 0},
};
#else
/* The token endpoint (SPEC §2.3), revocation and logout. */
static const struct oa_param_spec spec_a[] = {
    {"grant_type", 64, oa_valid_word, 1},
    {"code", 128, oa_valid_b64url, 0},
    {"redirect_uri", 1024, oa_valid_uri, 0},
    {"code_verifier", 128, oa_valid_pkce_verifier, 0},
    {"client_id", 128, oa_valid_client_id, 0},
    {"refresh_token", 128, oa_valid_b64url, 0},
    {"token", 4096, oa_valid_printable, 0},
    {"token_type_hint", 32, oa_valid_word, 0},
    {"id_token_hint", 8192, oa_valid_printable, 0},
    {"post_logout_redirect_uri", 1024, oa_valid_uri, 0},
};
/* The form_post callback (Apple): code, state, id_token, user JSON. */
static const struct oa_param_spec spec_b[] = {
    {"code", 2048, oa_valid_vschar, 1}, {"state", 128, oa_valid_b64url, 1},
    {"id_token", 8192, oa_valid_printable, 0}, {"user", 4096, oa_valid_text, 0},
    {"error", 64, oa_valid_word, 0},
    {"x", 0, NULL, 0}, /* max_len 0 means the default, 1024 */
};
#endif

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Safe for error_description (RFC 6749 §5.2) and for HTML. */
static void
check_desc(const char *d)
{
	for (; *d; d++)
		check(*d >= 0x20 && *d <= 0x7e && *d != '"' && *d != '\\' &&
		    *d != '<' && *d != '>' && *d != '&');
}

static void
run(const struct oa_param_spec *spec, size_t nspec, const uint8_t *data,
    size_t size)
{
	struct oa_params *p, *q;
	struct oa_kv kv[16];
	char *enc, *s;
	size_t i;

	p = oa_params_parse(spec, nspec, (const char *)data, size);
	if (p == NULL)
		return; /* out of memory only */
	check_desc(p->err_desc);
	if (p->err == OA_PARAM_OK)
		check(p->err_name == NULL && strcmp(p->err_desc, "ok") == 0);
	if (size > OA_PARAMS_MAX_INPUT)
		check(p->err == OA_PARAM_TOO_LARGE);
	for (i = 0; i < nspec; i++) {
		const char *v = p->v[i];
		size_t len = p->len[i], max;

		kv[i].name = spec[i].name;
		kv[i].value = v;
		if (v == NULL) {
			check(len == 0);
			if (p->err == OA_PARAM_OK)
				check(!spec[i].required);
			continue;
		}
		max = spec[i].max_len ? spec[i].max_len : 1024;
		check(len > 0 && len <= max && strlen(v) == len);
		check(memchr(v, '\r', len) == NULL &&
		    memchr(v, '\n', len) == NULL);
		check(spec[i].valid == NULL || spec[i].valid(v, len));
		check(oa_params_get(p, spec[i].name) == v);

		/* Encoders: only unreserved bytes and %XX come out. */
		s = oa_url_encode(v, len);
		if (s != NULL) {
			check(oa_valid_uri(s, strlen(s)));
			check(strchr(s, '&') == NULL && strchr(s, '#') == NULL);
			free(s);
		}
		s = oa_html_escape(v);
		if (s != NULL) {
			check(strpbrk(s, "<>\"'") == NULL);
			free(s);
		}
	}

	/* Redirect building, with whatever redirect_uri parsed. */
	for (i = 0; i < nspec; i++) {
		if (strcmp(spec[i].name, "redirect_uri") != 0 ||
		    p->v[i] == NULL)
			continue;
		s = oa_url_append(p->v[i], OA_URL_QUERY, kv, nspec);
		if (s != NULL) {
			check(strncmp(s, p->v[i], p->len[i]) == 0);
			check(strchr(s, '#') == NULL);
			free(s);
		} else
			check(strchr(p->v[i], '#') != NULL);
		s = oa_url_append(p->v[i], OA_URL_FRAGMENT, kv, nspec);
		free(s);
	}

	/* Round trip: a clean parse re-encodes to the same values. */
	if (p->err == OA_PARAM_OK &&
	    (enc = oa_form_encode(kv, nspec)) != NULL) {
		q = oa_params_parse(spec, nspec, enc, strlen(enc));
		if (q != NULL) {
			if (strlen(enc) <= OA_PARAMS_MAX_INPUT) {
				check(q->err == OA_PARAM_OK);
				for (i = 0; i < nspec; i++)
					check((p->v[i] == NULL &&
					          q->v[i] == NULL) ||
					    (p->v[i] && q->v[i] &&
					        strcmp(p->v[i], q->v[i]) == 0));
			}
			oa_params_free(q);
		}
		oa_secret_free(enc);
	}
	oa_params_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	run(spec_a, N(spec_a), data, size);
	run(spec_b, N(spec_b), data, size);

	/* Every validator on the whole input. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (strlen(copy) == size) {
		int (*const v[])(const char *, size_t) = {
		    oa_valid_vschar,
		    oa_valid_printable,
		    oa_valid_unreserved,
		    oa_valid_b64url,
		    oa_valid_pkce_verifier,
		    oa_valid_pkce_challenge,
		    oa_valid_client_id,
		    oa_valid_uri,
		    oa_valid_scope,
		    oa_valid_names,
		    oa_valid_word,
		    oa_valid_text,
		};
		size_t i;
		for (i = 0; i < N(v); i++)
			(void)v[i](copy, size);
		/* Text never contains a control byte. */
		if (oa_valid_text(copy, size))
			for (i = 0; i < size; i++)
				check((unsigned char)copy[i] >= 0x20 &&
				    copy[i] != 0x7f);
	}
	free(copy);
	return 0;
}
