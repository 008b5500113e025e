/*
 * fuzz_jwk.c - the JWK and JWKS parsers (lib/jwk.c), and the strict JSON
 * object parser under them (oa_json_parse_object, lib/jwt.c).
 *
 * Each input is fed to oa_jwk_parse and to oa_jwks_parse. Promises
 * checked (abort when broken): an accepted key has a known algorithm, a
 * 43-character kid and no private part; its exported JWK parses again
 * into the same key with the same kid; a JWKS keeps at most as many keys
 * as its document has.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

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

static void
check_key(const struct oa_key *k)
{
	cJSON *j;
	char *txt, *kid = NULL;
	struct oa_key *k2;

	check(oa_alg_name(k->alg) != NULL);
	check(strlen(k->kid) == 43);
	check(k->is_private == 0);
	j = oa_jwk_to_json(k);
	check(j != NULL);
	check(cJSON_GetObjectItemCaseSensitive(j, "d") == NULL);
	txt = cJSON_PrintUnformatted(j);
	check(txt != NULL);
	k2 = oa_jwk_parse(txt, strlen(txt), &kid);
	check(k2 != NULL && k2->alg == k->alg);
	check(strcmp(k2->kid, k->kid) == 0);
	check(kid != NULL && strcmp(kid, k->kid) == 0);
	check(EVP_PKEY_eq(k->pkey, k2->pkey) == 1);
	oa_key_free(k2);
	free(kid);
	cJSON_free(txt);
	cJSON_Delete(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa_key *k;
	struct oa_keyset *set;
	char *kid = NULL;
	cJSON *doc;
	size_t i;

	k = oa_jwk_parse((const char *)data, size, &kid);
	if (k != NULL) {
		check_key(k);
		check(kid == NULL || strlen(kid) <= 255);
		oa_key_free(k);
		free(kid);
	} else
		check(kid == NULL);

	set = oa_jwks_parse((const char *)data, size);
	if (set != NULL) {
		doc = oa_json_parse_object((const char *)data, size);
		check(doc != NULL);
		check(set->n <=
		    (size_t)cJSON_GetArraySize(
		        cJSON_GetObjectItemCaseSensitive(doc, "keys")));
		for (i = 0; i < set->n; i++)
			check_key(set->keys[i]);
		cJSON_Delete(doc);
		oa_keyset_free(set);
	}
	return 0;
}
