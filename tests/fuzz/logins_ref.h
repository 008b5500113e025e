/*
 * logins_ref.h - the reference for the login cookie's JSON writer
 * (lib/cookie.c), shared by tests/unit/test_cookie.c and
 * tests/fuzz/fuzz_logins.c: the eleven string fields of a login in the
 * writer's order with their JSON keys, and what cJSON_PrintUnformatted
 * (the encoder the hand-written one replaced) prints for a set.
 * Include after <cJSON.h> and "ownauth.h".
 */
#ifndef LOGINS_REF_H
#define LOGINS_REF_H

#define REF_NF 11

static const char *const ref_keys[REF_NF] = {
	"s", "p", "c", "r", "cs", "cn", "cc", "rt", "sc", "v", "n",
};

/* The k-th string field of l (ref_keys order). */
static char **
ref_field(struct oa_login *l, size_t k)
{
	char **f[REF_NF] = {
		&l->state, &l->provider, &l->client_id, &l->redirect_uri,
		&l->client_state, &l->client_nonce, &l->code_challenge,
		&l->response_type, &l->scope, &l->verifier, &l->nonce,
	};
	return f[k];
}

/* The set as cJSON prints it. Malloc'd (cJSON_free/free), or NULL. */
static char *
ref_cjson_text(struct oa_logins *set)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	char *txt = NULL;
	size_t i, k;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < set->n; i++) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, o);
		for (k = 0; k < REF_NF; k++) {
			const char *s = *ref_field(set->v[i], k);

			if (s != NULL &&
			    cJSON_AddStringToObject(o, ref_keys[k], s) == NULL)
				goto out;
		}
		if (cJSON_AddNumberToObject(o, "t",
		    (double)set->v[i]->created) == NULL)
			goto out;
	}
	txt = cJSON_PrintUnformatted(arr);
out:
	cJSON_Delete(arr);
	return txt;
}

#endif
