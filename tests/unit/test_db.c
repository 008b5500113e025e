/*
 * test_db.c - the store's record semantics (lib/db.c, lib/store.c) on a
 * real environment in a temporary directory, with a fake clock: users
 * and claims, sign-in and email linking, single-use codes and replay
 * revocation, login states, refresh-token rotation (children, siblings
 * within the reuse window, reuse of an older generation, idle and
 * absolute expiry), cascade delete, purge, cache, check and backup,
 * corrupt records and a newer format refused cleanly.
 *
 * Process-level behaviour (concurrency, crashes, full disk, damaged
 * files) is in tests/integration/store.sh.
 */
#include <sys/stat.h>

#include <db.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

#define T0 1700000000

static char dir[64];

static struct oa_db *
open_db(void)
{
	struct oa_db *db = NULL;

	if (oa_db_open(dir, 1, &db) != OA_DB_OK)
		return NULL;
	return db;
}

/* ---- users ----------------------------------------------------------- */

static void
test_users(struct oa_db *db)
{
	struct oa_db_user in, *u = NULL, **all = NULL;
	char *id = NULL, *id2 = NULL;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.email = "Ann@Example.com";
	in.email_verified = 1;
	in.name = "Ann";
	CHECK(oa_db_user_add(db, &in, T0, &id) == OA_DB_OK);
	CHECK(id != NULL && strncmp(id, "u_", 2) == 0 && strlen(id) == 24);
	CHECK(oa_db_user_get(db, id, &u) == OA_DB_OK);
	if (u != NULL) {
		CHECK_STR(u->id, id);
		CHECK_STR(u->email, "Ann@Example.com");
		CHECK(u->email_verified == 1);
		CHECK_STR(u->name, "Ann");
		CHECK(u->picture == NULL);
		CHECK(u->claims == NULL);
		CHECK(u->created == T0);
		CHECK(u->last_login == 0);
		CHECK(u->disabled == 0);
	}
	oa_db_user_free(u);
	u = NULL;

	/* Chosen ids; taken ids; bad ids. */
	in.id = "svc-1";
	in.email = NULL;
	CHECK(oa_db_user_add(db, &in, T0, &id2) == OA_DB_OK);
	CHECK_STR(id2, "svc-1");
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_EXISTS);
	in.id = "has space";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_BADARG);
	in.id = "";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_BADARG);
	in.id = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_BADARG);
	in.id = "bad\x01";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_BADARG);
	in.id = "ok2";
	in.name = "line\nbreak";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_BADARG);
	in.name = NULL;
	in.claims = "[1,2]";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_BADARG);
	in.claims = "{\"role\": \"admin\"}";
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_OK);
	CHECK(oa_db_user_get(db, "ok2", &u) == OA_DB_OK);
	if (u != NULL)
		CHECK_STR(u->claims, "{\"role\":\"admin\"}");
	oa_db_user_free(u);
	u = NULL;

	/* Claims set, replaced, cleared, refused. */
	CHECK(oa_db_user_set_claims(db, id, "{\"plan\":\"pro\",\"n\":3}") ==
	    OA_DB_OK);
	CHECK(oa_db_user_get(db, id, &u) == OA_DB_OK);
	if (u != NULL)
		CHECK_STR(u->claims, "{\"plan\":\"pro\",\"n\":3}");
	oa_db_user_free(u);
	u = NULL;
	CHECK(oa_db_user_set_claims(db, id, "\"str\"") == OA_DB_BADARG);
	CHECK(oa_db_user_set_claims(db, id, "{bad json") == OA_DB_BADARG);
	CHECK(oa_db_user_set_claims(db, "nobody", "{}") == OA_DB_NOTFOUND);
	CHECK(oa_db_user_set_claims(db, id, "{}") == OA_DB_OK);
	CHECK(oa_db_user_get(db, id, &u) == OA_DB_OK);
	if (u != NULL)
		CHECK(u->claims == NULL);
	oa_db_user_free(u);
	u = NULL;

	/* Disable / enable. */
	CHECK(oa_db_user_set_disabled(db, id2, 1) == OA_DB_OK);
	CHECK(oa_db_user_get(db, id2, &u) == OA_DB_OK);
	CHECK(u != NULL && u->disabled == 1);
	oa_db_user_free(u);
	u = NULL;
	CHECK(oa_db_user_set_disabled(db, id2, 0) == OA_DB_OK);
	CHECK(oa_db_user_get(db, id2, &u) == OA_DB_OK);
	CHECK(u != NULL && u->disabled == 0);
	oa_db_user_free(u);
	u = NULL;
	CHECK(oa_db_user_set_disabled(db, "nobody", 1) == OA_DB_NOTFOUND);

	/* Not found leaves the out-parameter alone. */
	u = (struct oa_db_user *)&in;
	CHECK(oa_db_user_get(db, "nobody", &u) == OA_DB_NOTFOUND);
	CHECK(u == (struct oa_db_user *)&in);
	u = NULL;

	/* The list is sorted by id and complete. */
	CHECK(oa_db_user_list(db, &all, &n) == OA_DB_OK);
	CHECK(n == 3);
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(all[i - 1]->id, all[i]->id) < 0);
	oa_db_user_list_free(all, n);

	/* Delete; the id is never given again. */
	CHECK(oa_db_user_delete(db, "ok2") == OA_DB_OK);
	CHECK(oa_db_user_get(db, "ok2", &u) == OA_DB_NOTFOUND);
	CHECK(oa_db_user_delete(db, "ok2") == OA_DB_NOTFOUND);
	in.id = "ok2";
	in.claims = NULL;
	CHECK(oa_db_user_add(db, &in, T0, NULL) == OA_DB_EXISTS);
	free(id);
	free(id2);
}

/* ---- sign-in and identities ------------------------------------------- */

static void
test_identities(struct oa_db *db)
{
	struct oa_db_profile p;
	struct oa_db_user *u = NULL, *v = NULL;
	struct oa_db_identity *ids = NULL;
	char *uid = NULL;
	size_t n = 0;
	int created = -1;

	memset(&p, 0, sizeof(p));
	p.provider = "google";
	p.subject = "g-123";
	p.email = "Bob@Example.org";
	p.email_verified = 1;
	p.name = "Bob";
	CHECK(oa_db_identity_login(db, &p, 1, T0, &u, &created) == OA_DB_OK);
	CHECK(created == 1);
	CHECK(u != NULL && u->last_login == T0 && u->created == T0);
	if (u == NULL)
		return;
	CHECK_STR(u->email, "Bob@Example.org");
	CHECK_STR(u->name, "Bob");

	/* Same identity again: same user, profile refreshed. */
	p.name = "Robert";
	p.picture = "https://example.org/b.png";
	CHECK(oa_db_identity_login(db, &p, 0, T0 + 5, &v, &created) ==
	    OA_DB_OK);
	CHECK(created == 0);
	CHECK(v != NULL && strcmp(v->id, u->id) == 0);
	if (v != NULL) {
		CHECK_STR(v->name, "Robert");
		CHECK_STR(v->picture, "https://example.org/b.png");
		CHECK(v->last_login == T0 + 5);
	}
	oa_db_user_free(v);
	v = NULL;
	/* Fields the provider did not send are kept. */
	p.name = NULL;
	p.picture = NULL;
	CHECK(oa_db_identity_login(db, &p, 0, T0 + 6, &v, NULL) == OA_DB_OK);
	CHECK(v != NULL && v->name != NULL && strcmp(v->name, "Robert") == 0);
	oa_db_user_free(v);
	v = NULL;

	CHECK(oa_db_identity_get(db, "google", "g-123", &uid) == OA_DB_OK);
	CHECK(uid != NULL && strcmp(uid, u->id) == 0);
	free(uid);
	uid = NULL;
	CHECK(oa_db_identity_get(db, "google", "g-999", &uid) ==
	    OA_DB_NOTFOUND);
	CHECK(uid == NULL);
	/* The subject is case-sensitive: never an email-style match. */
	CHECK(oa_db_identity_get(db, "google", "G-123", &uid) ==
	    OA_DB_NOTFOUND);

	/* Another provider, same verified email, other case: linked only
	 * when configured. */
	p.provider = "github";
	p.subject = "42";
	p.email = "bob@EXAMPLE.org";
	p.email_verified = 1;
	CHECK(oa_db_identity_login(db, &p, 0, T0 + 10, &v, &created) ==
	    OA_DB_OK);
	CHECK(created == 1 && v != NULL && strcmp(v->id, u->id) != 0);
	oa_db_user_free(v);
	v = NULL;
	p.provider = "gitlab";
	p.subject = "7";
	CHECK(oa_db_identity_login(db, &p, 1, T0 + 11, &v, &created) ==
	    OA_DB_OK);
	CHECK(created == 0 && v != NULL && strcmp(v->id, u->id) == 0);
	oa_db_user_free(v);
	v = NULL;
	/* An unverified email never links. */
	p.provider = "corp";
	p.subject = "c1";
	p.email_verified = 0;
	CHECK(oa_db_identity_login(db, &p, 1, T0 + 12, &v, &created) ==
	    OA_DB_OK);
	CHECK(created == 1 && v != NULL && strcmp(v->id, u->id) != 0);
	oa_db_user_free(v);
	v = NULL;

	CHECK(oa_db_identity_list(db, u->id, &ids, &n) == OA_DB_OK);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(ids[0].provider, "gitlab");
		CHECK_STR(ids[0].subject, "7");
		CHECK(ids[0].created == T0 + 11);
		CHECK_STR(ids[1].provider, "google");
		CHECK_STR(ids[1].subject, "g-123");
	}
	oa_db_identity_list_free(ids, n);

	/* A disabled user is refused and not touched. */
	CHECK(oa_db_user_set_disabled(db, u->id, 1) == OA_DB_OK);
	p.provider = "google";
	p.subject = "g-123";
	CHECK(oa_db_identity_login(db, &p, 0, T0 + 20, &v, NULL) ==
	    OA_DB_DISABLED);
	CHECK(v == NULL);
	/* ...also when reached through the email link. */
	p.provider = "other";
	p.subject = "o1";
	p.email = "BOB@example.org";
	p.email_verified = 1;
	CHECK(oa_db_identity_login(db, &p, 1, T0 + 21, &v, NULL) ==
	    OA_DB_DISABLED);
	CHECK(oa_db_identity_get(db, "other", "o1", &uid) == OA_DB_NOTFOUND);
	CHECK(oa_db_user_set_disabled(db, u->id, 0) == OA_DB_OK);

	/* Refused values. */
	p.provider = "bad provider";
	CHECK(oa_db_identity_login(db, &p, 0, T0, &v, NULL) == OA_DB_BADARG);
	p.provider = "google";
	p.subject = "";
	CHECK(oa_db_identity_login(db, &p, 0, T0, &v, NULL) == OA_DB_BADARG);
	oa_db_user_free(u);
}

/* ---- codes and states ---------------------------------------------------- */

static void
test_codes(struct oa_db *db, const char *uid)
{
	struct oa_db_code c, *out = NULL;
	struct oa_db_session_params sp;
	struct oa_db_session *s = NULL;
	char *sid = NULL, *rt = NULL;

	memset(&c, 0, sizeof(c));
	c.client = "web";
	c.redirect_uri = "https://app.example/cb";
	c.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	c.nonce = "n-1";
	c.user = (char *)uid;
	c.auth_time = T0;
	c.expires = T0 + 60;
	CHECK(oa_db_code_put(db, "code-A", &c) == OA_DB_OK);
	CHECK(oa_db_code_put(db, "code-A", &c) == OA_DB_EXISTS);
	CHECK(oa_db_code_take(db, "code-X", T0, &out) == OA_DB_NOTFOUND);
	CHECK(out == NULL);
	CHECK(oa_db_code_take(db, "code-A", T0 + 1, &out) == OA_DB_OK);
	CHECK(out != NULL);
	if (out != NULL) {
		CHECK_STR(out->client, "web");
		CHECK_STR(out->redirect_uri, "https://app.example/cb");
		CHECK_STR(out->code_challenge,
		    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
		CHECK_STR(out->nonce, "n-1");
		CHECK(out->scope == NULL);
		CHECK_STR(out->user, uid);
		CHECK(out->sid == NULL);
		CHECK(out->auth_time == T0 && out->expires == T0 + 60);
	}
	oa_db_code_free(out);
	out = NULL;

	/* The exchange creates the session and binds it to the code. */
	memset(&sp, 0, sizeof(sp));
	sp.user = uid;
	sp.client = "web";
	sp.auth_time = T0;
	sp.now = T0 + 1;
	sp.session_ttl = 1000;
	sp.idle_ttl = 100;
	sp.code = "code-A";
	CHECK(oa_db_session_new(db, &sp, &sid, &rt) == OA_DB_OK);
	CHECK(sid != NULL && rt != NULL && strlen(rt) == 43);
	/* A second session from the same code is refused. */
	{
		char *sid2 = NULL, *rt2 = NULL;

		CHECK(oa_db_session_new(db, &sp, &sid2, &rt2) == OA_DB_USED);
		CHECK(sid2 == NULL && rt2 == NULL);
	}
	/* A replay: USED, with the sid, and the session is revoked. */
	CHECK(oa_db_code_take(db, "code-A", T0 + 2, &out) == OA_DB_USED);
	CHECK(out != NULL && out->sid != NULL && sid != NULL &&
	    strcmp(out->sid, sid) == 0);
	oa_db_code_free(out);
	out = NULL;
	CHECK(oa_db_session_get(db, sid, &s) == OA_DB_OK);
	CHECK(s != NULL && s->revoked == 1);
	oa_db_session_free(s);
	s = NULL;
	{
		struct oa_db_refresh_params rp = { T0 + 3, 10, 100, 1000 };
		struct oa_db_refresh_result res;

		memset(&res, 0, sizeof(res));
		CHECK(oa_db_refresh_rotate(db, rt, &rp, &res) ==
		    OA_DB_INVALID);
		CHECK(res.token == NULL);
	}
	/* Still USED on a third try (even after expiry it never works). */
	CHECK(oa_db_code_take(db, "code-A", T0 + 3, &out) == OA_DB_USED);
	oa_db_code_free(out);
	out = NULL;
	free(sid);
	oa_secret_free(rt);
	sid = rt = NULL;

	/* A replay between the take and the exchange: no session. */
	CHECK(oa_db_code_put(db, "code-B", &c) == OA_DB_OK);
	CHECK(oa_db_code_take(db, "code-B", T0 + 1, &out) == OA_DB_OK);
	oa_db_code_free(out);
	out = NULL;
	CHECK(oa_db_code_take(db, "code-B", T0 + 1, &out) == OA_DB_USED);
	CHECK(out != NULL && out->sid == NULL);
	oa_db_code_free(out);
	out = NULL;
	sp.code = "code-B";
	CHECK(oa_db_session_new(db, &sp, &sid, &rt) == OA_DB_USED);
	/* An untaken or unknown code cannot make a session. */
	CHECK(oa_db_code_put(db, "code-C", &c) == OA_DB_OK);
	sp.code = "code-C";
	CHECK(oa_db_session_new(db, &sp, &sid, &rt) == OA_DB_USED);
	sp.code = "code-none";
	CHECK(oa_db_session_new(db, &sp, &sid, &rt) == OA_DB_USED);

	/* Expiry: 60 s. */
	CHECK(oa_db_code_put(db, "code-D", &c) == OA_DB_OK);
	CHECK(oa_db_code_take(db, "code-D", T0 + 60, &out) == OA_DB_NOTFOUND);
	CHECK(out == NULL);
	CHECK(oa_db_code_take(db, "code-D", T0 + 59, &out) == OA_DB_OK);
	oa_db_code_free(out);
	out = NULL;

	/* Refused values. */
	c.redirect_uri = NULL;
	CHECK(oa_db_code_put(db, "code-E", &c) == OA_DB_BADARG);
	CHECK(oa_db_code_put(db, "", &c) == OA_DB_BADARG);
	c.redirect_uri = "https://app.example/cb";
	/* SECURITY 5: a code without a PKCE challenge is never stored, so
	 * that no code_verifier can be accepted without one (a downgrade
	 * to no PKCE); nor is an empty challenge. */
	c.code_challenge = NULL;
	CHECK(oa_db_code_put(db, "code-F", &c) == OA_DB_BADARG);
	CHECK(oa_db_code_take(db, "code-F", T0 + 1, &out) == OA_DB_NOTFOUND);
	CHECK(out == NULL);
	c.code_challenge = "";
	CHECK(oa_db_code_put(db, "code-G", &c) == OA_DB_BADARG);
	CHECK(oa_db_code_take(db, "code-G", T0 + 1, &out) == OA_DB_NOTFOUND);
	CHECK(out == NULL);
	c.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	CHECK(oa_db_code_put(db, "code-G", &c) == OA_DB_OK);

	/* Login states: single use. */
	CHECK(oa_db_state_consume(db, "st-1", T0 + 600, T0) == OA_DB_OK);
	CHECK(oa_db_state_consume(db, "st-1", T0 + 600, T0 + 1) ==
	    OA_DB_ALREADY);
	CHECK(oa_db_state_consume(db, "st-2", T0 + 600, T0) == OA_DB_OK);
	CHECK(oa_db_state_consume(db, "st-1", T0 + 600, T0 + 599) ==
	    OA_DB_ALREADY);
	CHECK(oa_db_state_consume(db, "", T0 + 600, T0) == OA_DB_BADARG);
}

/* ---- rotation ------------------------------------------------------------ */

static char *
new_session(struct oa_db *db, const char *uid, time_t now, char **sid)
{
	struct oa_db_session_params sp;
	char *rt = NULL;

	memset(&sp, 0, sizeof(sp));
	sp.user = uid;
	sp.client = "web";
	sp.auth_time = now;
	sp.now = now;
	sp.session_ttl = 10000;
	sp.idle_ttl = 1000;
	if (oa_db_session_new(db, &sp, sid, &rt) != OA_DB_OK)
		return NULL;
	return rt;
}

/* Rotates tok at now; returns the rc and writes the new token. */
static enum oa_db_rc
rotate(struct oa_db *db, const char *tok, time_t now, char **out,
    int *sibling, int *reuse)
{
	struct oa_db_refresh_params rp = { now, 10, 1000, 10000 };
	struct oa_db_refresh_result res;
	enum oa_db_rc rc;

	memset(&res, 0, sizeof(res));
	rc = oa_db_refresh_rotate(db, tok, &rp, &res);
	if (sibling != NULL)
		*sibling = res.sibling;
	if (reuse != NULL)
		*reuse = res.reuse_detected;
	if (rc == OA_DB_OK && out != NULL) {
		*out = res.token;
		res.token = NULL;
		CHECK(res.session != NULL && res.user != NULL);
	}
	oa_db_refresh_result_wipe(&res);
	return rc;
}

static void
test_rotation(struct oa_db *db, const char *uid)
{
	char *sid = NULL, *t0, *t1 = NULL, *s1 = NULL, *s2 = NULL, *t2 = NULL;
	struct oa_db_session *s = NULL, **list = NULL;
	int sib = -1, reuse = -1;
	size_t n = 0, count = 0;

	/* Child, then siblings within the window. */
	t0 = new_session(db, uid, T0, &sid);
	CHECK(t0 != NULL);
	if (t0 == NULL)
		return;
	CHECK(rotate(db, t0, T0 + 100, &t1, &sib, &reuse) == OA_DB_OK);
	CHECK(sib == 0 && reuse == 0 && t1 != NULL && strcmp(t1, t0) != 0);
	CHECK(rotate(db, t0, T0 + 105, &s1, &sib, NULL) == OA_DB_OK);
	CHECK(sib == 1 && s1 != NULL && strcmp(s1, t1) != 0);
	CHECK(rotate(db, t0, T0 + 110, &s2, &sib, NULL) == OA_DB_OK);
	CHECK(sib == 1 && s2 != NULL && strcmp(s2, s1) != 0);
	CHECK(oa_db_session_get(db, sid, &s) == OA_DB_OK);
	CHECK(s != NULL && s->last_refresh == T0 + 110 && !s->revoked);
	oa_db_session_free(s);
	s = NULL;
	/* Outside the window (first use + 10 s): reuse, family revoked,
	 * every descendant dies. */
	CHECK(rotate(db, t0, T0 + 111, NULL, &sib, &reuse) == OA_DB_INVALID);
	CHECK(reuse == 1);
	CHECK(rotate(db, t1, T0 + 112, NULL, NULL, &reuse) == OA_DB_INVALID);
	CHECK(reuse == 0);
	CHECK(rotate(db, s1, T0 + 112, NULL, NULL, NULL) == OA_DB_INVALID);
	CHECK(rotate(db, s2, T0 + 112, NULL, NULL, NULL) == OA_DB_INVALID);
	CHECK(oa_db_session_get(db, sid, &s) == OA_DB_OK);
	CHECK(s != NULL && s->revoked == 1);
	oa_db_session_free(s);
	s = NULL;
	oa_secret_free(t0);
	oa_secret_free(t1);
	oa_secret_free(s1);
	oa_secret_free(s2);
	free(sid);
	t1 = s1 = s2 = sid = NULL;

	/* An older generation within the window is reuse too. */
	t0 = new_session(db, uid, T0, &sid);
	CHECK(rotate(db, t0, T0 + 1, &t1, NULL, NULL) == OA_DB_OK);
	CHECK(rotate(db, t1, T0 + 2, &t2, &sib, NULL) == OA_DB_OK);
	CHECK(sib == 0);
	CHECK(rotate(db, t0, T0 + 3, NULL, NULL, &reuse) == OA_DB_INVALID);
	CHECK(reuse == 1);
	CHECK(rotate(db, t2, T0 + 4, NULL, NULL, NULL) == OA_DB_INVALID);
	oa_secret_free(t0);
	oa_secret_free(t1);
	oa_secret_free(t2);
	free(sid);
	t1 = t2 = sid = NULL;

	/* The window is measured from the first use (not the creation);
	 * a reused parent of the newest token at exactly the window edge
	 * still gets a sibling. */
	t0 = new_session(db, uid, T0, &sid);
	CHECK(rotate(db, t0, T0 + 500, &t1, NULL, NULL) == OA_DB_OK);
	CHECK(rotate(db, t0, T0 + 510, &s1, &sib, NULL) == OA_DB_OK);
	CHECK(sib == 1);
	/* Each sibling rotates normally afterwards. */
	CHECK(rotate(db, s1, T0 + 520, &t2, &sib, NULL) == OA_DB_OK);
	CHECK(sib == 0);
	oa_secret_free(t0);
	oa_secret_free(t1);
	oa_secret_free(s1);
	oa_secret_free(t2);
	free(sid);
	t1 = s1 = t2 = sid = NULL;

	/* Idle expiry: unused for idle_ttl (1000) is dead, without
	 * revoking anything. */
	t0 = new_session(db, uid, T0, &sid);
	CHECK(rotate(db, t0, T0 + 1000, NULL, NULL, &reuse) == OA_DB_INVALID);
	CHECK(reuse == 0);
	CHECK(rotate(db, t0, T0 + 999, &t1, NULL, NULL) == OA_DB_OK);
	CHECK(rotate(db, t1, T0 + 999 + 999, &t2, NULL, NULL) == OA_DB_OK);
	oa_secret_free(t0);
	oa_secret_free(t1);
	t1 = NULL;
	/* Absolute expiry: session_ttl (10000) after creation. */
	CHECK(rotate(db, t2, T0 + 10000, NULL, NULL, NULL) == OA_DB_INVALID);
	oa_secret_free(t2);
	t2 = NULL;
	free(sid);
	sid = NULL;

	/* A disabled user cannot refresh; enabled again, the family lives
	 * on. */
	t0 = new_session(db, uid, T0, &sid);
	CHECK(oa_db_user_set_disabled(db, uid, 1) == OA_DB_OK);
	CHECK(rotate(db, t0, T0 + 1, NULL, NULL, NULL) == OA_DB_INVALID);
	{
		char *x = NULL, *y = NULL;
		struct oa_db_session_params sp;

		memset(&sp, 0, sizeof(sp));
		sp.user = uid;
		sp.client = "web";
		sp.now = T0;
		sp.session_ttl = 10;
		CHECK(oa_db_session_new(db, &sp, &x, &y) == OA_DB_DISABLED);
		sp.user = "nobody";
		CHECK(oa_db_session_new(db, &sp, &x, &y) == OA_DB_NOTFOUND);
	}
	CHECK(oa_db_user_set_disabled(db, uid, 0) == OA_DB_OK);
	CHECK(rotate(db, t0, T0 + 2, &t1, NULL, NULL) == OA_DB_OK);
	/* RFC 7009 revocation kills the family. */
	{
		char *rsid = NULL;
		struct oa_db_session *rs = NULL;

		/* §2.1: another client may not revoke it (nothing is
		 * revoked, no sid is written)... */
		CHECK(oa_db_refresh_revoke(db, t1, "other", &rsid) ==
		    OA_DB_INVALID);
		CHECK(rsid == NULL);
		CHECK(oa_db_refresh_revoke(db, t0, "webx", &rsid) ==
		    OA_DB_INVALID);
		CHECK(oa_db_refresh_revoke(db, t1, "", &rsid) ==
		    OA_DB_INVALID);
		CHECK(oa_db_refresh_revoke(db, t1, "bad\nclient", &rsid) ==
		    OA_DB_BADARG);
		CHECK(oa_db_session_get(db, sid, &rs) == OA_DB_OK);
		CHECK(rs != NULL && rs->revoked == 0);
		oa_db_session_free(rs);
		rs = NULL;
		/* ...an unknown token is NOTFOUND whoever asks... */
		CHECK(oa_db_refresh_revoke(db, "unknown-token", "web",
		    NULL) == OA_DB_NOTFOUND);
		CHECK(oa_db_refresh_revoke(db, "unknown-token", NULL, NULL) ==
		    OA_DB_NOTFOUND);
		/* ...and its own client may (the CLI and logout: any). */
		CHECK(oa_db_refresh_revoke(db, t1, "web", &rsid) == OA_DB_OK);
		CHECK(rsid != NULL && sid != NULL && strcmp(rsid, sid) == 0);
		free(rsid);
		rsid = NULL;
		CHECK(oa_db_session_get(db, sid, &rs) == OA_DB_OK);
		CHECK(rs != NULL && rs->revoked == 1);
		oa_db_session_free(rs);
		CHECK(oa_db_refresh_revoke(db, t1, NULL, &rsid) == OA_DB_OK);
		CHECK(rsid != NULL && sid != NULL && strcmp(rsid, sid) == 0);
		free(rsid);
	}
	CHECK(rotate(db, t1, T0 + 3, NULL, NULL, NULL) == OA_DB_INVALID);
	CHECK(rotate(db, "unknown-token", T0 + 3, NULL, NULL, NULL) ==
	    OA_DB_INVALID);
	CHECK(rotate(db, "", T0 + 3, NULL, NULL, NULL) == OA_DB_INVALID);
	oa_secret_free(t0);
	oa_secret_free(t1);
	free(sid);
	t1 = sid = NULL;

	/* Listing and revoking a user's sessions. */
	CHECK(oa_db_session_list(db, uid, &list, &n) == OA_DB_OK);
	/* The code's session and the five above. */
	CHECK(n == 6);
	for (size_t i = 0; i < n; i++)
		CHECK(strcmp(list[i]->user, uid) == 0 &&
		    strcmp(list[i]->client, "web") == 0);
	oa_db_session_list_free(list, n);
	t0 = new_session(db, uid, T0, &sid);
	CHECK(oa_db_session_revoke_user(db, uid, &count) == OA_DB_OK);
	/* Live ones: the window-edge family, the idle/absolute one (expiry
	 * does not set the flag) and the new one. */
	CHECK(count == 3);
	CHECK(rotate(db, t0, T0 + 1, NULL, NULL, NULL) == OA_DB_INVALID);
	CHECK(oa_db_session_revoke_user(db, uid, &count) == OA_DB_OK);
	CHECK(count == 0);
	CHECK(oa_db_session_revoke_user(db, "nobody", &count) ==
	    OA_DB_NOTFOUND);
	CHECK(oa_db_session_revoke(db, sid) == OA_DB_OK);
	CHECK(oa_db_session_revoke(db, "s_nothere") == OA_DB_NOTFOUND);
	oa_secret_free(t0);
	free(sid);
}

/* ---- cascade delete, purge, cache, check --------------------------------- */

static void
test_delete_purge(struct oa_db *db)
{
	struct oa_db_profile p;
	struct oa_db_user *u = NULL, *v = NULL;
	struct oa_db_session *s = NULL;
	struct oa_db_report rep;
	struct oa_db_code c, *co = NULL;
	char *sid1 = NULL, *sid2 = NULL, *t1, *t2, *uid = NULL, *body = NULL;
	size_t removed = 0, len = 0;
	time_t exp = 0;
	int created = 0;

	memset(&p, 0, sizeof(p));
	p.provider = "google";
	p.subject = "del-1";
	p.email = "Del@Example.net";
	p.email_verified = 1;
	CHECK(oa_db_identity_login(db, &p, 1, T0, &u, &created) == OA_DB_OK);
	if (u == NULL)
		return;
	p.provider = "github";
	p.subject = "del-2";
	CHECK(oa_db_identity_login(db, &p, 1, T0, &v, &created) == OA_DB_OK);
	CHECK(created == 0 && v != NULL && strcmp(v->id, u->id) == 0);
	oa_db_user_free(v);
	v = NULL;
	t1 = new_session(db, u->id, T0, &sid1);
	t2 = new_session(db, u->id, T0, &sid2);
	CHECK(t1 != NULL && t2 != NULL);

	CHECK(oa_db_check(db, &rep) == OA_DB_OK);
	CHECK(rep.problems == 0);
	CHECK(rep.sessions >= 2 && rep.refresh_tokens >= 2);

	CHECK(oa_db_user_delete(db, u->id) == OA_DB_OK);
	CHECK(oa_db_identity_get(db, "google", "del-1", &uid) ==
	    OA_DB_NOTFOUND);
	CHECK(oa_db_identity_get(db, "github", "del-2", &uid) ==
	    OA_DB_NOTFOUND);
	CHECK(oa_db_session_get(db, sid1, &s) == OA_DB_NOTFOUND);
	CHECK(oa_db_session_get(db, sid2, &s) == OA_DB_NOTFOUND);
	CHECK(rotate(db, t1, T0 + 1, NULL, NULL, NULL) == OA_DB_INVALID);
	CHECK(rotate(db, t2, T0 + 1, NULL, NULL, NULL) == OA_DB_INVALID);
	/* The email index entry went too: the same email makes a new user
	 * even with linking on. */
	p.provider = "gitlab";
	p.subject = "del-3";
	CHECK(oa_db_identity_login(db, &p, 1, T0, &v, &created) == OA_DB_OK);
	CHECK(created == 1 && v != NULL && strcmp(v->id, u->id) != 0);
	oa_db_user_free(v);
	v = NULL;
	CHECK(oa_db_check(db, &rep) == OA_DB_OK);
	CHECK(rep.problems == 0);
	oa_secret_free(t1);
	oa_secret_free(t2);
	free(sid1);
	free(sid2);
	oa_db_user_free(u);
	sid1 = sid2 = NULL;

	/* Purge: everything expired at the given time goes, the rest
	 * stays. */
	memset(&c, 0, sizeof(c));
	c.client = "web";
	c.redirect_uri = "https://app.example/cb";
	c.code_challenge = "x";
	c.user = "svc-1";
	c.expires = T0 + 60;
	CHECK(oa_db_code_put(db, "purge-code", &c) == OA_DB_OK);
	c.expires = T0 + 100000;
	CHECK(oa_db_code_put(db, "keep-code", &c) == OA_DB_OK);
	CHECK(oa_db_state_consume(db, "purge-state", T0 + 600, T0) ==
	    OA_DB_OK);
	t1 = new_session(db, "svc-1", T0, &sid1);
	CHECK(oa_db_cache_put(db, "jwks:https://x", "{\"keys\":[]}", 11,
	    T0 + 300) == OA_DB_OK);
	CHECK(oa_db_cache_get(db, "jwks:https://x", &body, &len, &exp) ==
	    OA_DB_OK);
	CHECK(body != NULL && len == 11 && exp == T0 + 300 &&
	    strcmp(body, "{\"keys\":[]}") == 0);
	free(body);
	body = NULL;
	/* Replacing a cache entry moves its expiry. */
	CHECK(oa_db_cache_put(db, "jwks:https://x", "{\"keys\":[1]}", 12,
	    T0 + 200000) == OA_DB_OK);
	CHECK(oa_db_cache_get(db, "nope", &body, &len, &exp) ==
	    OA_DB_NOTFOUND);

	CHECK(oa_db_purge(db, T0 + 30, &removed) == OA_DB_OK);
	CHECK(oa_db_code_take(db, "purge-code", T0 + 30, &co) == OA_DB_OK);
	oa_db_code_free(co);
	co = NULL;
	/* Past every short expiry, but not the long ones. */
	CHECK(oa_db_purge(db, T0 + 20000, &removed) == OA_DB_OK);
	CHECK(removed >= 4);
	CHECK(oa_db_code_take(db, "purge-code", T0 + 30, &co) ==
	    OA_DB_NOTFOUND);
	CHECK(oa_db_code_take(db, "keep-code", T0 + 30, &co) == OA_DB_OK);
	oa_db_code_free(co);
	co = NULL;
	/* The consumed-state marker is gone after its expiry. */
	CHECK(oa_db_state_consume(db, "purge-state", T0 + 20600, T0 + 20000) ==
	    OA_DB_OK);
	CHECK(oa_db_session_get(db, sid1, &s) == OA_DB_NOTFOUND);
	CHECK(rotate(db, t1, T0 + 1, NULL, NULL, NULL) == OA_DB_INVALID);
	CHECK(oa_db_cache_get(db, "jwks:https://x", &body, &len, &exp) ==
	    OA_DB_OK);
	CHECK(body != NULL && len == 12 && exp == T0 + 200000);
	free(body);
	body = NULL;
	CHECK(oa_db_check(db, &rep) == OA_DB_OK);
	CHECK(rep.problems == 0 && rep.cache == 1);
	CHECK(oa_db_purge(db, T0 + 200000 + 86400, &removed) == OA_DB_OK);
	CHECK(oa_db_cache_get(db, "jwks:https://x", &body, &len, &exp) ==
	    OA_DB_NOTFOUND);
	oa_secret_free(t1);
	free(sid1);

	/* Refused values. */
	CHECK(oa_db_cache_put(db, "", "x", 1, T0) == OA_DB_BADARG);
	CHECK(oa_db_cache_put(db, "k", NULL, 3, T0) == OA_DB_BADARG);
}

/* ---- backup, permissions --------------------------------------------------- */

static int
private_tree(const char *d)
{
	struct stat st;
	struct dirent *e;
	char path[512];
	DIR *dd;
	int ok = 1;

	if (stat(d, &st) != 0 || (st.st_mode & 0777) != 0700)
		return 0;
	if ((dd = opendir(d)) == NULL)
		return 0;
	while ((e = readdir(dd)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & 077) != 0) {
			fprintf(stderr, "not private: %s %o\n", path,
			    (unsigned)st.st_mode);
			ok = 0;
		}
	}
	closedir(dd);
	return ok;
}

static void
test_backup(struct oa_db *db)
{
	char bdir[128], *id = NULL;
	struct oa_db_user in, *u = NULL;
	struct oa_db_report rep;
	struct oa_db *b = NULL;

	memset(&in, 0, sizeof(in));
	in.id = "before-backup";
	CHECK(oa_db_user_add(db, &in, T0, &id) == OA_DB_OK);
	free(id);
	snprintf(bdir, sizeof(bdir), "%s-backup", dir);
	CHECK(oa_db_backup(db, bdir) == OA_DB_OK);
	/* A second backup into the same (now non-empty) dir is refused. */
	CHECK(oa_db_backup(db, bdir) == OA_DB_EXISTS);
	CHECK(private_tree(bdir));
	/* The copy is a data_dir of its own. */
	CHECK(oa_db_open(bdir, 1, &b) == OA_DB_OK);
	CHECK(b != NULL && b != db);
	if (b != NULL) {
		CHECK(oa_db_user_get(b, "before-backup", &u) == OA_DB_OK);
		oa_db_user_free(u);
		CHECK(oa_db_check(b, &rep) == OA_DB_OK);
		CHECK(rep.problems == 0 && rep.users > 3);
		oa_db_close(b);
	}
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bdir);
		CHECK(system(cmd) == 0);
	}
	CHECK(private_tree(dir));
}

/* ---- corrupt records, newer format ------------------------------------------ */

/* Writes raw key/value into the database file with Berkeley DB itself
 * (our handle closed). */
static int
raw_put(const char *key, size_t klen, const void *val, size_t vlen)
{
	DB_ENV *env = NULL;
	DB *d = NULL;
	DBT k, v;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0)
		return ret;
	ret = env->open(env, dir, DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_MPOOL | DB_INIT_TXN | DB_REGISTER | DB_RECOVER, 0600);
	if (ret == 0)
		ret = db_create(&d, env, 0);
	if (ret == 0)
		ret = d->open(d, NULL, "ownauth.db", NULL, DB_BTREE,
		    DB_AUTO_COMMIT, 0);
	if (ret == 0) {
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = (void *)key;
		k.size = (u_int32_t)klen;
		v.data = (void *)val;
		v.size = (u_int32_t)vlen;
		ret = d->put(d, NULL, &k, &v, DB_AUTO_COMMIT);
	}
	if (d != NULL)
		d->close(d, 0);
	env->close(env, 0);
	return ret;
}

static void
test_corrupt(void)
{
	struct oa_db *db;
	struct oa_db_user *u = NULL, **all = NULL;
	struct oa_db_report rep;
	size_t n = 0;
	static const uint8_t bad_user[] = { 'U', 1, 0, 0, 0, 200, 'x' };
	static const uint8_t new_fmt[] = { 'M', 1, 0, 0, 0, 0, 0, 0, 0, 99 };
	static const uint8_t old_fmt[] = { 'M', 1, 0, 0, 0, 0, 0, 0, 0, 1 };

	/* A user record that does not decode: CORRUPT, no crash, other
	 * records still readable. */
	CHECK(raw_put("Ubroken", 7, bad_user, sizeof(bad_user)) == 0);
	CHECK((db = open_db()) != NULL);
	if (db == NULL)
		return;
	CHECK(oa_db_user_get(db, "broken", &u) == OA_DB_CORRUPT);
	CHECK(u == NULL);
	CHECK(oa_db_user_get(db, "svc-1", &u) == OA_DB_OK);
	oa_db_user_free(u);
	u = NULL;
	CHECK(oa_db_user_list(db, &all, &n) == OA_DB_CORRUPT);
	CHECK(all == NULL);
	CHECK(oa_db_check(db, &rep) == OA_DB_CORRUPT);
	CHECK(rep.problems >= 1);
	CHECK(oa_db_user_delete(db, "broken") == OA_DB_CORRUPT);
	oa_db_close(db);

	/* A newer store format is refused at open. */
	CHECK(raw_put("Mformat", 7, new_fmt, sizeof(new_fmt)) == 0);
	db = NULL;
	CHECK(oa_db_open(dir, 1, &db) == OA_DB_VERSION);
	CHECK(db == NULL);
	CHECK(raw_put("Mformat", 7, old_fmt, sizeof(old_fmt)) == 0);
	CHECK(oa_db_open(dir, 1, &db) == OA_DB_OK);
	oa_db_close(db);
}

int
main(void)
{
	struct oa_db *db, *db2 = NULL;
	struct oa_db_user in;
	char *svc = NULL, *uid = NULL, cmd[128];
	struct stat st;

	oa_log_set_level(OA_LOG_ERROR);
	/* The steps use a fake clock that jumps ahead; a random purge at a
	 * late `now` would remove records later steps count. */
	oa_db_set_autopurge(0);
	snprintf(dir, sizeof(dir), "/tmp/oa-test-db.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	strcat(dir, "/data");   /* created by oa_db_open, 0700 */

	CHECK((db = open_db()) != NULL);
	if (db == NULL)
		return t_done("test_db");
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	/* Opening again in the same process shares the handle. */
	CHECK(oa_db_open(dir, 0, &db2) == OA_DB_OK && db2 == db);
	oa_db_close(db2);

	test_users(db);
	test_identities(db);
	memset(&in, 0, sizeof(in));
	in.id = "rot-user";
	CHECK(oa_db_user_add(db, &in, T0, &uid) == OA_DB_OK);
	test_codes(db, uid);
	test_rotation(db, uid);
	test_delete_purge(db);
	test_backup(db);
	CHECK(oa_db_user_get(db, "svc-1", NULL) == OA_DB_BADARG);
	CHECK(oa_db_open(NULL, 1, &db2) == OA_DB_BADARG);
	CHECK(strcmp(oa_db_strerror(OA_DB_FULL),
	    "no space left on the database device") == 0);
	CHECK(OA_DB_FAILED(OA_DB_BUSY) && OA_DB_FAILED(OA_DB_ERROR) &&
	    !OA_DB_FAILED(OA_DB_BADARG) && !OA_DB_FAILED(OA_DB_INVALID));
	oa_db_close(db);
	test_corrupt();

	free(svc);
	free(uid);
	dir[strlen(dir) - 5] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return t_done("test_db");
}
