/*
 * fuzz_upstream_json.c - libFuzzer target for what upstream servers send
 * back (lib/http.c): oa_http_json_parse (objects and arrays) and
 * oa_http_token_parse (token endpoint responses, JSON or form-encoded,
 * with each content type and none). The input is not NUL-terminated.
 * Beyond "no crash, no leak, no read past size", the results must keep
 * the promises the callback relies on; a broken one aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ownauth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	oa_log_set_level(OA_LOG_ERROR);
	return 0;
}

/* Every byte of s is within [lo, hi]; s is not empty when nonempty. */
static void
check_chars(const char *s, unsigned char lo, unsigned char hi, int nonempty)
{
	size_t i, n;

	if (s == NULL)
		return;
	n = strlen(s);
	if (nonempty && n == 0)
		abort();
	if (n > 65536)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > hi)
			abort();
}

static void
check_token(const struct oa_http_token *t)
{
	/* Tokens go into header lines: visible ASCII only, no space. */
	check_chars(t->access_token, 0x21, 0x7e, 1);
	check_chars(t->id_token, 0x21, 0x7e, 1);
	check_chars(t->token_type, 0x21, 0x7e, 1);
	check_chars(t->scope, 0x20, 0x7e, 0);
	check_chars(t->error, 0x20, 0x7e, 1);
	check_chars(t->error_description, 0x20, 0x7e, 0);
	if (t->error == NULL) {
		/* A success response always has a Bearer access token. */
		if (t->access_token == NULL)
			abort();
		if (t->token_type != NULL &&
		    strcasecmp(t->token_type, "bearer") != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"application/json", "application/x-www-form-urlencoded",
		"text/plain; charset=utf-8", NULL,
	};
	const char *text = (const char *)data;
	struct oa_http_token tok;
	cJSON *j = NULL;
	size_t i;

	if (oa_http_json_parse(text, size, cJSON_Object, &j) == 0) {
		if (!cJSON_IsObject(j))
			abort();
		cJSON_Delete(j);
		j = NULL;
	} else if (j != NULL)
		abort();   /* written on failure */
	if (oa_http_json_parse(text, size, cJSON_Array, &j) == 0) {
		if (!cJSON_IsArray(j))
			abort();
		cJSON_Delete(j);
		j = NULL;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&tok, 0, sizeof(tok));
		if (oa_http_token_parse(text, size, types[i], &tok) == 0) {
			check_token(&tok);
			oa_http_token_free(&tok);
		} else if (tok.access_token != NULL || tok.error != NULL ||
		    tok.id_token != NULL)
			abort();   /* written on failure */
	}
	return 0;
}
