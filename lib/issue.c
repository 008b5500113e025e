/*
 * issue.c - the token pair of one token response (SPEC §3).
 *
 * Both tokens carry the same claims but aud (ID token: the client id,
 * as OIDC Core §2 requires; access token: the client's audience, the
 * Convex applicationID) and nonce (ID token only, OIDC Core §3.1.3.6).
 * When those coincide (audience is the client id and there is no nonce,
 * as on every refresh) both are the same string: one signature per
 * response. iat is the time of this mint and jti is fresh, so every
 * response, a forced refresh included, returns a different string
 * (SPEC §3: the Convex client needs one).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ownauth.h"

/* Claims that a user's custom claims never set: the registered claims
 * (RFC 7519 §4.1), OIDC's protocol claims (Core §2, §3.1.3.6, §3.3.2.11)
 * and sid/typ. */
static const char *const reserved[] = {
	"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "auth_time",
	"nonce", "azp", "at_hash", "c_hash", "typ",
};

int
oa_issue_claim_reserved(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return 1;
	return 0;
}

void
oa_issue_out_wipe(struct oa_issue_out *out)
{
	if (out == NULL)
		return;
	if (out->id_token != out->access_token)
		oa_secret_free(out->id_token);
	oa_secret_free(out->access_token);
	memset(out, 0, sizeof(*out));
}

/* Adds the user's custom claims (a JSON object in the store) to claims,
 * skipping reserved names and names already set. 0 or -1 (memory). A
 * claims text that does not parse is logged and ignored: the tokens are
 * still minted without them. */
static int
add_custom(cJSON *claims, const struct oa_db_user *u)
{
	cJSON *obj, *it, *dup;

	if (u->claims == NULL || u->claims[0] == '\0')
		return 0;
	if ((obj = oa_json_parse_object(u->claims, strlen(u->claims))) ==
	    NULL) {
		oa_log(OA_LOG_WARN, "user %s: custom claims are not a JSON "
		    "object; left out of its tokens", u->id);
		return 0;
	}
	for (it = obj->child; it != NULL; it = it->next) {
		if (oa_issue_claim_reserved(it->string)) {
			oa_log(OA_LOG_WARN, "user %s: custom claim '%s' is "
			    "reserved; left out", u->id, it->string);
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(claims, it->string) !=
		    NULL) {
			oa_log(OA_LOG_WARN, "user %s: custom claim '%s' would "
			    "replace a profile claim; left out", u->id,
			    it->string);
			continue;
		}
		if ((dup = cJSON_Duplicate(it, 1)) == NULL ||
		    !cJSON_AddItemToObject(claims, it->string, dup)) {
			cJSON_Delete(dup);
			cJSON_Delete(obj);
			return -1;
		}
	}
	cJSON_Delete(obj);
	return 0;
}

/* Adds the profile claims (OIDC Core §5.1) of u that are known. */
static int
add_profile(cJSON *c, const struct oa_db_user *u)
{
	if (u->email != NULL &&
	    (!cJSON_AddStringToObject(c, "email", u->email) ||
	    !cJSON_AddBoolToObject(c, "email_verified",
	    u->email_verified ? 1 : 0)))
		return -1;
	if (u->name != NULL && !cJSON_AddStringToObject(c, "name", u->name))
		return -1;
	if (u->picture != NULL &&
	    !cJSON_AddStringToObject(c, "picture", u->picture))
		return -1;
	return add_custom(c, u);
}

cJSON *
oa_issue_user_claims(const struct oa_db_user *u)
{
	cJSON *c;

	if (u == NULL || u->id == NULL)
		return NULL;
	if ((c = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(c, "sub", u->id) ||
	    add_profile(c, u) == -1) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* The claims of the access token (aud = aud); the ID token differs only
 * in aud and nonce. */
static cJSON *
common_claims(const struct oa_issue_in *in, const char *aud, const char *jti)
{
	const struct oa_db_user *u = in->user;
	cJSON *c;
	time_t exp = in->now + in->conf->access_token_ttl;

	if ((c = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(c, "iss", in->conf->issuer) ||
	    !cJSON_AddStringToObject(c, "sub", u->id) ||
	    !cJSON_AddStringToObject(c, "aud", aud) ||
	    !cJSON_AddNumberToObject(c, "iat", (double)in->now) ||
	    !cJSON_AddNumberToObject(c, "exp", (double)exp) ||
	    !cJSON_AddStringToObject(c, "jti", jti) ||
	    (in->sid != NULL &&
	    !cJSON_AddStringToObject(c, "sid", in->sid)) ||
	    (in->auth_time > 0 && !cJSON_AddNumberToObject(c, "auth_time",
	    (double)in->auth_time)) ||
	    add_profile(c, u) == -1) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* Replaces aud (keeping its place in the claims). 0 or -1. */
static int
set_aud(cJSON *claims, const char *aud)
{
	cJSON *a;

	if ((a = cJSON_CreateString(aud)) == NULL)
		return -1;
	if (!cJSON_ReplaceItemInObjectCaseSensitive(claims, "aud", a)) {
		cJSON_Delete(a);
		return -1;
	}
	return 0;
}

int
oa_issue_tokens(const struct oa_keyring *ring, const struct oa_issue_in *in,
    struct oa_issue_out *out)
{
	const struct oa_keyinfo *signer;
	const struct oa_client *cl;
	const char *aud;
	cJSON *claims = NULL;
	char *jti = NULL, *at = NULL, *idt = NULL;
	int same, rc = -1;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ring == NULL || in == NULL || out == NULL || in->conf == NULL ||
	    in->client == NULL || in->user == NULL || in->user->id == NULL ||
	    in->conf->issuer == NULL || in->client->name == NULL) {
		oa_log(OA_LOG_ERROR, "oa_issue_tokens: missing input");
		return -1;
	}
	cl = in->client;
	if ((signer = oa_keyring_signer(ring, in->now)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_issue_tokens: no active signing key "
		    "(ownauth keys list)");
		return -1;
	}
	aud = cl->audience != NULL ? cl->audience : cl->name;
	same = strcmp(aud, cl->name) == 0 && in->nonce == NULL;
	/* Access token: aud = the client's audience (default its id).
	 * jti: 128 random bits, unique across every token ever minted. */
	if ((jti = oa_random_token(16)) == NULL ||
	    (claims = common_claims(in, aud, jti)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_issue_tokens: out of memory");
		goto out;
	}
	if ((at = oa_jwt_sign(signer->key, claims)) == NULL)
		goto out;
	if (same) {
		if ((idt = strdup(at)) == NULL) {
			oa_log(OA_LOG_ERROR, "oa_issue_tokens: out of memory");
			goto out;
		}
	} else {
		/* ID token: aud = the client id, plus the nonce. */
		if (set_aud(claims, cl->name) == -1 ||
		    (in->nonce != NULL && !cJSON_AddStringToObject(claims,
		    "nonce", in->nonce))) {
			oa_log(OA_LOG_ERROR, "oa_issue_tokens: out of memory");
			goto out;
		}
		if ((idt = oa_jwt_sign(signer->key, claims)) == NULL)
			goto out;
	}
	out->access_token = at;
	out->id_token = idt;
	out->expires_in = in->conf->access_token_ttl;
	at = idt = NULL;
	rc = 0;
out:
	cJSON_Delete(claims);
	oa_secret_free(jti);
	oa_secret_free(at);
	oa_secret_free(idt);
	return rc;
}
