/*
 * test_issue.c - the token pair (SPEC §3): claims of both tokens, one
 * signature when they are identical, a fresh jti on every mint, nonce in
 * the ID token only, custom claims without reserved names, every
 * algorithm, and the refusals (no active key, missing input).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

#define ISSUER "https://auth.example.com"

static char tmp[64];
static char keydir[128];
static char err[1024];

static void
rm_dir(const char *d)
{
	DIR *dp;
	struct dirent *e;
	char p[512];

	if ((dp = opendir(d)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		unlink(p);
	}
	closedir(dp);
	rmdir(d);
}

static struct oa_conf *
conf_of(const char *clients)
{
	struct oa_conf *c = NULL;
	char text[2048];

	snprintf(text, sizeof(text),
	    "issuer = " ISSUER "\n"
	    "data_dir = /srv/oa/data\n"
	    "keys_dir = /srv/oa/keys\n"
	    "access_token_ttl = 900\n"
	    "%s", clients);
	if (oa_conf_parse("t.conf", text, strlen(text), 0, &c, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "conf: %s\n", err);
		return NULL;
	}
	return c;
}

/* Verifies tok with the ring's published keys, expecting aud; writes the
 * claims. */
static enum oa_jwt_result
verify(const struct oa_keyring *ring, const char *tok, const char *aud,
    time_t now, cJSON **claims)
{
	struct oa_keyset *ks = oa_keyring_published(ring);
	struct oa_jwt_expect ex;
	enum oa_jwt_result r;

	memset(&ex, 0, sizeof(ex));
	ex.iss = ISSUER;
	ex.aud = aud;
	ex.now = now;
	r = oa_jwt_verify(tok, ks, &ex, claims);
	oa_keyset_free_shallow(ks);
	return r;
}

static const char *
str_claim(const cJSON *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num_claim(const cJSON *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void
test_header(const struct oa_keyring *ring, const char *tok, time_t now,
    const char *alg)
{
	cJSON *h = NULL, *p = NULL;
	const struct oa_keyinfo *signer = oa_keyring_signer(ring, now);

	CHECK(oa_jwt_parse(tok, &h, &p) == 0);
	if (h == NULL)
		return;
	/* {"alg","kid","typ":"JWT"} and nothing else (never at+jwt). */
	CHECK_STR(str_claim(h, "alg"), alg);
	CHECK(signer != NULL);
	if (signer != NULL)
		CHECK_STR(str_claim(h, "kid"), signer->key->kid);
	CHECK_STR(str_claim(h, "typ"), "JWT");
	CHECK(cJSON_GetArraySize(h) == 3);
	cJSON_Delete(h);
	cJSON_Delete(p);
}

static void
test_pair(struct oa_keyring *ring, const char *alg)
{
	struct oa_conf *conf;
	const struct oa_client *web, *spa;
	struct oa_db_user u;
	struct oa_issue_in in;
	struct oa_issue_out out, out2;
	cJSON *ac = NULL, *ic = NULL, *c2 = NULL;
	time_t now = time(NULL);
	const cJSON *cv;

	conf = conf_of(
	    "[client web]\n"
	    "redirect_uris = https://app.example/cb\n"
	    "audience = convex\n"
	    "[client spa]\n"
	    "redirect_uris = https://spa.example/cb\n");
	CHECK(conf != NULL);
	if (conf == NULL)
		return;
	web = oa_conf_client(conf, "web");
	spa = oa_conf_client(conf, "spa");
	CHECK(web != NULL && spa != NULL);

	memset(&u, 0, sizeof(u));
	u.id = "u_abcdefghijklmnopqrstuv";
	u.email = "Ann@Example.com";
	u.email_verified = 1;
	u.name = "Ann \"Q\" Lee";
	u.picture = NULL;
	u.claims = "{\"role\":\"admin\",\"sub\":\"evil\",\"aud\":\"x\","
	    "\"nonce\":\"n\",\"exp\":1,\"email\":\"other@x\","
	    "\"org\":{\"id\":7},\"typ\":\"at+jwt\"}";

	memset(&in, 0, sizeof(in));
	in.conf = conf;
	in.client = web;
	in.user = &u;
	in.sid = "s_family1";
	in.auth_time = now - 100;
	in.nonce = "n-0S6_WzA2Mj";
	in.now = now;

	/* A client whose audience differs, with a nonce: two tokens. */
	memset(&out, 0xa5, sizeof(out));
	CHECK(oa_issue_tokens(ring, &in, &out) == 0);
	CHECK(out.access_token != NULL && out.id_token != NULL);
	if (out.access_token == NULL || out.id_token == NULL)
		goto out;
	CHECK(out.expires_in == 900);
	CHECK(strcmp(out.access_token, out.id_token) != 0);
	test_header(ring, out.access_token, now, alg);
	test_header(ring, out.id_token, now, alg);

	CHECK(verify(ring, out.access_token, "convex", now, &ac) == OA_JWT_OK);
	CHECK(verify(ring, out.id_token, "web", now, &ic) == OA_JWT_OK);
	/* Each token has its own audience only. */
	CHECK(verify(ring, out.access_token, "web", now, NULL) ==
	    OA_JWT_BAD_AUD);
	CHECK(verify(ring, out.id_token, "convex", now, NULL) ==
	    OA_JWT_BAD_AUD);
	if (ac == NULL || ic == NULL)
		goto out;
	CHECK_STR(str_claim(ac, "iss"), ISSUER);
	CHECK_STR(str_claim(ac, "sub"), "u_abcdefghijklmnopqrstuv");
	CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ac, "aud")));
	CHECK_STR(str_claim(ac, "aud"), "convex");
	CHECK_STR(str_claim(ic, "aud"), "web");
	CHECK(num_claim(ac, "iat") == (double)now);
	CHECK(num_claim(ac, "exp") == (double)(now + 900));
	CHECK(num_claim(ac, "auth_time") == (double)(now - 100));
	CHECK_STR(str_claim(ac, "sid"), "s_family1");
	CHECK(str_claim(ac, "jti") != NULL &&
	    strlen(str_claim(ac, "jti")) >= 22);
	/* nonce: in the ID token, never in the access token. */
	CHECK_STR(str_claim(ic, "nonce"), "n-0S6_WzA2Mj");
	CHECK(cJSON_GetObjectItemCaseSensitive(ac, "nonce") == NULL);
	/* Profile claims. */
	CHECK_STR(str_claim(ac, "email"), "Ann@Example.com");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ac,
	    "email_verified")));
	CHECK_STR(str_claim(ac, "name"), "Ann \"Q\" Lee");
	CHECK(cJSON_GetObjectItemCaseSensitive(ac, "picture") == NULL);
	/* Custom claims: kept, but never over a reserved or profile one. */
	CHECK_STR(str_claim(ac, "role"), "admin");
	CHECK_STR(str_claim(ic, "role"), "admin");
	cv = cJSON_GetObjectItemCaseSensitive(ac, "org");
	CHECK(cJSON_IsObject(cv) &&
	    num_claim(cv, "id") == 7);
	CHECK(cJSON_GetObjectItemCaseSensitive(ac, "typ") == NULL);
	CHECK_STR(str_claim(ic, "sub"), "u_abcdefghijklmnopqrstuv");
	CHECK(num_claim(ac, "exp") == (double)(now + 900));
	/* The two tokens carry the same claims but aud and nonce. */
	CHECK_STR(str_claim(ic, "jti"), str_claim(ac, "jti"));
	CHECK(num_claim(ic, "iat") == num_claim(ac, "iat"));
	CHECK(cJSON_GetArraySize(ic) == cJSON_GetArraySize(ac) + 1);

	/* The same client with no nonce, audience != client id: two. */
	in.nonce = NULL;
	CHECK(oa_issue_tokens(ring, &in, &out2) == 0);
	CHECK(out2.access_token && out2.id_token &&
	    strcmp(out2.access_token, out2.id_token) != 0);
	oa_issue_out_wipe(&out2);

	/* audience == client id and no nonce: one string, one signature. */
	in.client = spa;
	CHECK(oa_issue_tokens(ring, &in, &out2) == 0);
	CHECK(out2.access_token != NULL && out2.id_token != NULL);
	if (out2.access_token && out2.id_token) {
		CHECK_STR(out2.access_token, out2.id_token);
		/* A separate copy: freeing one never frees the other. */
		CHECK(out2.access_token != out2.id_token);
		CHECK(verify(ring, out2.id_token, "spa", now, &c2) ==
		    OA_JWT_OK);
		CHECK(c2 != NULL && cJSON_GetObjectItemCaseSensitive(c2,
		    "nonce") == NULL);
		/* Every mint is a different string (fresh jti), even at the
		 * same second with the same input. */
		CHECK(strcmp(out2.access_token, out.access_token) != 0);
	}
	{
		struct oa_issue_out o3;

		CHECK(oa_issue_tokens(ring, &in, &o3) == 0);
		if (o3.access_token && out2.access_token) {
			cJSON *c3 = NULL;

			CHECK(strcmp(o3.access_token, out2.access_token) != 0);
			CHECK(verify(ring, o3.access_token, "spa", now, &c3) ==
			    OA_JWT_OK);
			if (c3 && c2)
				CHECK(strcmp(str_claim(c3, "jti"),
				    str_claim(c2, "jti")) != 0);
			cJSON_Delete(c3);
		}
		oa_issue_out_wipe(&o3);
	}
	/* spa + nonce: two tokens again. */
	in.nonce = "abc";
	{
		struct oa_issue_out o4;

		CHECK(oa_issue_tokens(ring, &in, &o4) == 0);
		CHECK(o4.access_token && o4.id_token &&
		    strcmp(o4.access_token, o4.id_token) != 0);
		oa_issue_out_wipe(&o4);
	}
	oa_issue_out_wipe(&out2);
	CHECK(out2.access_token == NULL && out2.id_token == NULL);

	/* Unknown email: neither email nor email_verified. */
	{
		struct oa_db_user bare;
		struct oa_issue_out o5;
		cJSON *c5 = NULL;

		memset(&bare, 0, sizeof(bare));
		bare.id = "svc";
		bare.claims = "not json";
		in.user = &bare;
		in.nonce = NULL;
		in.sid = "s2";
		in.auth_time = 0;
		CHECK(oa_issue_tokens(ring, &in, &o5) == 0);
		if (o5.access_token != NULL) {
			CHECK(verify(ring, o5.access_token, "spa", now, &c5) ==
			    OA_JWT_OK);
			CHECK(c5 && cJSON_GetObjectItemCaseSensitive(c5,
			    "email") == NULL);
			CHECK(c5 && cJSON_GetObjectItemCaseSensitive(c5,
			    "email_verified") == NULL);
			CHECK(c5 && cJSON_GetObjectItemCaseSensitive(c5,
			    "auth_time") == NULL);
			CHECK_STR(c5 ? str_claim(c5, "sub") : NULL, "svc");
		}
		cJSON_Delete(c5);
		oa_issue_out_wipe(&o5);
		in.user = &u;
	}

	/* Refusals. */
	{
		struct oa_issue_out o6;

		in.client = NULL;
		CHECK(oa_issue_tokens(ring, &in, &o6) == -1);
		CHECK(o6.access_token == NULL && o6.id_token == NULL);
		in.client = spa;
		in.user = NULL;
		CHECK(oa_issue_tokens(ring, &in, &o6) == -1);
		in.user = &u;
		CHECK(oa_issue_tokens(NULL, &in, &o6) == -1);
		CHECK(oa_issue_tokens(ring, NULL, &o6) == -1);
		CHECK(oa_issue_tokens(ring, &in, NULL) == -1);
		oa_issue_out_wipe(NULL);
	}
out:
	cJSON_Delete(ac);
	cJSON_Delete(ic);
	cJSON_Delete(c2);
	oa_issue_out_wipe(&out);
	oa_conf_free(conf);
}

static struct oa_keyring *
ring_with(enum oa_alg alg)
{
	char kid[48];

	rm_dir(keydir);
	if (oa_keys_init_dir(keydir) == -1 ||
	    oa_keys_new(keydir, alg, 0, kid) == -1)
		return NULL;
	return oa_keyring_load(keydir);
}

static void
test_reserved(void)
{
	const char *r[] = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti",
	    "sid", "auth_time", "nonce", "azp", "at_hash", "c_hash", "typ"};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		CHECK(oa_issue_claim_reserved(r[i]) == 1);
	CHECK(oa_issue_claim_reserved("role") == 0);
	CHECK(oa_issue_claim_reserved("Sub") == 0);
	CHECK(oa_issue_claim_reserved("") == 0);
	CHECK(oa_issue_claim_reserved(NULL) == 0);
}

/* The userinfo claims: sub, the known profile, custom claims without
 * reserved names or overrides. */
static void
test_user_claims(void)
{
	struct oa_db_user u;
	cJSON *c;

	memset(&u, 0, sizeof(u));
	u.id = "u_x";
	u.email = "x@example.com";
	u.email_verified = 0;
	u.picture = "https://img.example/x.png";
	u.claims = "{\"tier\":\"gold\",\"iss\":\"evil\",\"sub\":\"evil\","
	    "\"email\":\"evil@x\",\"n\":[1,2]}";
	c = oa_issue_user_claims(&u);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(str_claim(c, "sub"), "u_x");
		CHECK_STR(str_claim(c, "email"), "x@example.com");
		CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c,
		    "email_verified")));
		CHECK(cJSON_GetObjectItemCaseSensitive(c, "name") == NULL);
		CHECK_STR(str_claim(c, "picture"), "https://img.example/x.png");
		CHECK_STR(str_claim(c, "tier"), "gold");
		CHECK(cJSON_GetObjectItemCaseSensitive(c, "iss") == NULL);
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c,
		    "n")) == 2);
		/* sub, email, email_verified, picture, tier, n */
		CHECK(cJSON_GetArraySize(c) == 6);
	}
	cJSON_Delete(c);
	CHECK(oa_issue_user_claims(NULL) == NULL);
}

/* No key signs at now: refused. */
static void
test_no_signer(void)
{
	struct oa_conf *conf = conf_of("[client a]\n"
	    "redirect_uris = https://a.example/\n");
	struct oa_keyring *ring;
	struct oa_db_user u;
	struct oa_issue_in in;
	struct oa_issue_out o;
	char kid[48];

	rm_dir(keydir);
	CHECK(oa_keys_init_dir(keydir) == 0);
	CHECK(oa_keys_new(keydir, OA_ALG_ES256, 0, kid) == 0);
	ring = oa_keyring_load(keydir);
	CHECK(ring != NULL && conf != NULL);
	if (ring == NULL || conf == NULL)
		goto out;
	memset(&u, 0, sizeof(u));
	u.id = "u1";
	memset(&in, 0, sizeof(in));
	in.conf = conf;
	in.client = &conf->clients[0];
	in.user = &u;
	in.sid = "s";
	/* Before the key was created nothing is active. */
	in.now = ring->keys[0].activates - 10;
	CHECK(oa_issue_tokens(ring, &in, &o) == -1);
	CHECK(o.access_token == NULL);
	in.now = time(NULL);
	CHECK(oa_issue_tokens(ring, &in, &o) == 0);
	/* Same string for client a (audience a, no nonce). */
	CHECK(o.access_token && o.id_token &&
	    strcmp(o.access_token, o.id_token) == 0);
	oa_issue_out_wipe(&o);
out:
	oa_keyring_free(ring);
	oa_conf_free(conf);
}

int
main(void)
{
	struct oa_keyring *ring;
	static const enum oa_alg algs[] = {OA_ALG_RS256, OA_ALG_ES256,
	    OA_ALG_EDDSA};
	size_t i;

	oa_log_set_level(OA_LOG_ERROR);
	snprintf(tmp, sizeof(tmp), "/tmp/oa-issue-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(keydir, sizeof(keydir), "%s/keys", tmp);

	test_reserved();
	test_user_claims();
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		ring = ring_with(algs[i]);
		CHECK(ring != NULL);
		if (ring != NULL)
			test_pair(ring, oa_alg_name(algs[i]));
		oa_keyring_free(ring);
	}
	test_no_signer();

	rm_dir(keydir);
	rmdir(tmp);
	return t_done("issue");
}
