/*
 * cli_store.c - the store commands of the admin command line (SPEC §7):
 *
 *   ownauth users list [--json] | show ID [--json] | add [...] |
 *                 disable ID | enable ID | delete ID | claims ID [JSON]
 *   ownauth sessions list USER [--json] | revoke USER [SID]
 *   ownauth db check | backup DIR | purge
 *
 * plus the store helpers of `token mint` and `check` (bin/cli.h). Each
 * command parses its arguments, loads the config, opens the Berkeley DB
 * environment of data_dir and makes a few store calls (lib/db.c,
 * lib/store.c), which do the real work: transactions, cascades,
 * recovery after a crashed process.
 *
 * Exit status: 0 ok; 1 a failure: an unknown user or session, a taken
 * id, or a store that cannot answer (a full disk, a read-only directory
 * and a damaged file each get the store's own sentence, naming
 * data_dir); 2 a usage or config error (bad ids, bad JSON, reserved
 * claim names).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "cli.h"

/* Longest custom claims text (compact JSON) the CLI sets. The store
 * takes 16 KiB, but a token carries the claims base64url-encoded
 * (4/3 larger) next to the profile and the signature, and a token over
 * OA_JWT_MAX bytes is refused by our own userinfo endpoint (and by many
 * proxies' header limits): 8 KiB of claims keeps tokens under it. */
#define CLAIMS_CLI_MAX 8192
#define EMAIL_MAX 320
#define NAME_MAX_LEN 512
#define URL_MAX 4096

/* The profile claims a token carries when the user has them (SPEC §3):
 * a custom claim of the same name is left out of such tokens. */
static const char *const profile_claims[] = {
    "email",
    "email_verified",
    "name",
    "picture",
};

/* ------------------------------------------------------------------ */
/* The store.                                                          */

int
cli_db(struct cli *c)
{
	enum oa_db_rc rc;

	if (c->db != NULL)
		return 0;
	rc = oa_db_open(c->conf->data_dir, c->conf->db_sync, &c->db);
	if (rc != OA_DB_OK) {
		c->db = NULL;
		errmsg("%s: cannot open the database in %s: %s", c->cmdname,
		    c->conf->data_dir, oa_db_strerror(rc));
		return EXIT_FAIL;
	}
	return 0;
}

int
cli_db_fail(struct cli *c, enum oa_db_rc rc)
{
	errmsg("%s: the database in %s: %s", c->cmdname, c->conf->data_dir,
	    oa_db_strerror(rc));
	return EXIT_FAIL;
}

int
cli_user(struct cli *c, const char *id, struct oa_db_user **out)
{
	enum oa_db_rc rc;

	rc = oa_db_user_get(c->db, id, out);
	if (rc == OA_DB_OK)
		return 0;
	if (rc == OA_DB_NOTFOUND) {
		errmsg("%s: unknown user %s (see: ownauth users list)",
		    c->cmdname, id);
		return EXIT_FAIL;
	}
	return cli_db_fail(c, rc);
}

void
cli_check_db(struct cli *c, struct tally *t)
{
	struct oa_db_user **v = NULL;
	enum oa_db_rc rc;
	struct stat st;
	size_t n = 0, ndis = 0, i;

	/* check only looks: it does not create a missing data_dir (the
	 * data_dir line above has said so already). */
	if (c->db == NULL && stat(c->conf->data_dir, &st) == -1 &&
	    errno == ENOENT) {
		check_line(t, "FAIL", "database not opened: %s is missing",
		    c->conf->data_dir);
		return;
	}
	rc = c->db != NULL
	    ? OA_DB_OK
	    : oa_db_open(c->conf->data_dir, c->conf->db_sync, &c->db);
	if (rc != OA_DB_OK) {
		c->db = NULL;
		check_line(t, "FAIL", "database in %s does not open: %s",
		    c->conf->data_dir, oa_db_strerror(rc));
		return;
	}
	/* Reading every user record touches the file and decodes part of
	 * it; `ownauth db check` verifies everything. */
	if ((rc = oa_db_user_list(c->db, &v, &n)) != OA_DB_OK) {
		check_line(t, "FAIL",
		    "database in %s: %s (see: ownauth db "
		    "check)",
		    c->conf->data_dir, oa_db_strerror(rc));
		return;
	}
	for (i = 0; i < n; i++)
		ndis += v[i]->disabled != 0;
	oa_db_user_list_free(v, n);
	check_line(t, "ok",
	    "database in %s opens: %zu user(s), %zu disabled "
	    "(full check: ownauth db check)",
	    c->conf->data_dir, n, ndis);
}

/* cli_conf + cli_db: 0 or the exit status. */
static int
open_store(struct cli *c)
{
	int rc;

	if ((rc = cli_conf(c)) != 0)
		return rc;
	return cli_db(c);
}

/* ------------------------------------------------------------------ */
/* Output.                                                             */

/* Prints s (or "-" for NULL) safely, padded to width columns. */
static void
col(const char *s, int width)
{
	int n;

	if (s == NULL || *s == '\0')
		s = "-";
	fput_safe(stdout, s);
	for (n = (int)strlen(s); n < width; n++)
		putchar(' ');
}

/* Prints a cJSON value (pretty) and a newline; 0 or EXIT_FAIL. */
static int
print_json(cJSON *j)
{
	char *txt;

	if (j == NULL || (txt = cJSON_Print(j)) == NULL) {
		errmsg("out of memory");
		return EXIT_FAIL;
	}
	printf("%s\n", txt);
	free(txt);
	return EXIT_OK;
}

static int
add_str(cJSON *o, const char *name, const char *v)
{
	if (v == NULL)
		return cJSON_AddNullToObject(o, name) != NULL;
	return cJSON_AddStringToObject(o, name, v) != NULL;
}

/* The custom claims of u as an object (empty when none). */
static cJSON *
claims_json(const struct oa_db_user *u)
{
	cJSON *o = NULL;

	if (u->claims != NULL && u->claims[0] != '\0' &&
	    (o = oa_json_parse_object(u->claims, strlen(u->claims))) == NULL)
		warnmsg("user %s: the stored custom claims are not a JSON "
		        "object",
		    u->id);
	return o != NULL ? o : cJSON_CreateObject();
}

static cJSON *
user_json(const struct oa_db_user *u)
{
	cJSON *o, *cl;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(o, "id", u->id) ||
	    !add_str(o, "email", u->email) ||
	    !cJSON_AddBoolToObject(
	        o, "email_verified", u->email != NULL && u->email_verified) ||
	    !add_str(o, "name", u->name) ||
	    !add_str(o, "picture", u->picture) ||
	    !cJSON_AddBoolToObject(o, "disabled", u->disabled != 0) ||
	    !cJSON_AddNumberToObject(o, "created", (double)u->created) ||
	    !cJSON_AddNumberToObject(o, "last_login", (double)u->last_login))
		goto fail;
	if ((cl = claims_json(u)) == NULL)
		goto fail;
	if (!cJSON_AddItemToObject(o, "claims", cl)) {
		cJSON_Delete(cl);
		goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* The state of a session at now: "revoked", "expired" (absolute
 * lifetime), "idle" (its newest refresh token, issued at the last
 * refresh, outlived refresh_idle_ttl) or "live". */
static const char *
session_state(const struct cli *c, const struct oa_db_session *s)
{
	time_t last =
	    s->last_refresh > s->created ? s->last_refresh : s->created;

	if (s->revoked)
		return "revoked";
	if (s->expires <= c->now)
		return "expired";
	if (last + c->conf->refresh_idle_ttl <= c->now)
		return "idle";
	return "live";
}

/* ------------------------------------------------------------------ */
/* Arguments.                                                          */

/* Parses exactly one positional argument, a user id (or a sid), into
 * *id, with opts; 0 or EXIT_USAGE. */
static int
one_id(struct cli *c, int argc, char **argv, const struct opt *opts,
    const char *usage, char **id)
{
	char *pos[1];
	size_t npos;

	if (parse_args(c, argc, argv, opts, pos, 1, &npos) == -1)
		return EXIT_USAGE;
	if (npos != 1) {
		errmsg(
		    "%s: usage: ownauth %s %s", c->cmdname, c->cmdname, usage);
		return EXIT_USAGE;
	}
	if (!user_id_ok(pos[0])) {
		errmsg("%s: '%s' is not an id (1 to %d printable ASCII "
		       "characters without spaces)",
		    c->cmdname, pos[0], USER_ID_MAX);
		return EXIT_USAGE;
	}
	*id = pos[0];
	return 0;
}

/* Printable text (UTF-8 allowed) without control bytes, 1..max bytes. */
static int
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* An address with one '@' between a local part and a domain, no
 * spaces. (The upstream providers own the real validation.) */
static int
email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	return text_ok(s, EMAIL_MAX) && strchr(s, ' ') == NULL && at != NULL &&
	    at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

/* ------------------------------------------------------------------ */
/* ownauth users list | show | add | disable | enable | delete | claims */

int
cmd_users_list(struct cli *c, int argc, char **argv)
{
	int json = 0, rc;
	struct opt opts[] = {
	    {"json", NULL, &json, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	struct oa_db_user **v = NULL;
	enum oa_db_rc drc;
	cJSON *arr = NULL, *o;
	char *pos[1], tb[32], lb[32];
	size_t npos, n = 0, i;

	if (parse_args(c, argc, argv, opts, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = open_store(c)) != 0)
		return rc;
	if ((drc = oa_db_user_list(c->db, &v, &n)) != OA_DB_OK)
		return cli_db_fail(c, drc);
	if (json) {
		rc = EXIT_FAIL;
		if ((arr = cJSON_CreateArray()) == NULL)
			goto out;
		for (i = 0; i < n; i++) {
			if ((o = user_json(v[i])) == NULL)
				goto out;
			if (!cJSON_AddItemToArray(arr, o)) {
				cJSON_Delete(o);
				goto out;
			}
		}
		rc = print_json(arr);
		goto out;
	}
	printf("%-24s  %-8s  %-20s  %-20s  %s\n", "ID", "STATE", "CREATED",
	    "LAST LOGIN", "EMAIL / NAME");
	for (i = 0; i < n; i++) {
		col(v[i]->id, 24);
		printf("  %-8s  %-20s  %-20s  ",
		    v[i]->disabled ? "disabled" : "enabled",
		    fmt_time(v[i]->created, tb),
		    v[i]->last_login ? fmt_time(v[i]->last_login, lb)
		                     : "never");
		col(v[i]->email, 0);
		if (v[i]->name != NULL) {
			fputs(" / ", stdout);
			col(v[i]->name, 0);
		}
		putchar('\n');
	}
	if (n == 0)
		printf("(no users yet: they appear at their first sign-in, or "
		       "with `ownauth users add`)\n");
	rc = EXIT_OK;
out:
	if (rc == EXIT_FAIL && json)
		errmsg("users list: out of memory");
	cJSON_Delete(arr);
	oa_db_user_list_free(v, n);
	return rc;
}

int
cmd_users_show(struct cli *c, int argc, char **argv)
{
	int json = 0, rc;
	struct opt opts[] = {
	    {"json", NULL, &json, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	struct oa_db_user *u = NULL;
	struct oa_db_identity *idv = NULL;
	struct oa_db_session **sv = NULL;
	enum oa_db_rc drc;
	cJSON *o = NULL, *arr, *x, *cl = NULL;
	char *id, *txt = NULL, tb[32], rb[48];
	size_t nid = 0, ns = 0, nlive = 0, i;

	if ((rc = one_id(c, argc, argv, opts, "ID [--json]", &id)) != 0 ||
	    (rc = open_store(c)) != 0 || (rc = cli_user(c, id, &u)) != 0)
		return rc;
	rc = EXIT_FAIL;
	if ((drc = oa_db_identity_list(c->db, id, &idv, &nid)) != OA_DB_OK ||
	    (drc = oa_db_session_list(c->db, id, &sv, &ns)) != OA_DB_OK) {
		/* NOTFOUND: deleted in between. */
		if (drc == OA_DB_NOTFOUND)
			errmsg("users show: unknown user %s", id);
		else
			cli_db_fail(c, drc);
		goto out;
	}
	for (i = 0; i < ns; i++)
		nlive += strcmp(session_state(c, sv[i]), "live") == 0;
	if (json) {
		if ((o = user_json(u)) == NULL ||
		    (arr = cJSON_AddArrayToObject(o, "identities")) == NULL)
			goto oom;
		for (i = 0; i < nid; i++) {
			if ((x = cJSON_CreateObject()) == NULL ||
			    !cJSON_AddItemToArray(arr, x) ||
			    !cJSON_AddStringToObject(
			        x, "provider", idv[i].provider) ||
			    !cJSON_AddStringToObject(
			        x, "subject", idv[i].subject) ||
			    !cJSON_AddNumberToObject(
			        x, "created", (double)idv[i].created))
				goto oom;
		}
		if ((x = cJSON_AddObjectToObject(o, "sessions")) == NULL ||
		    !cJSON_AddNumberToObject(x, "live", (double)nlive) ||
		    !cJSON_AddNumberToObject(x, "total", (double)ns))
			goto oom;
		rc = print_json(o);
		goto out;
	}
	printf("id          %s\n", u->id);
	printf("state       %s\n", u->disabled ? "disabled" : "enabled");
	printf("email       ");
	col(u->email, 0);
	if (u->email != NULL)
		printf(" (%s)", u->email_verified ? "verified" : "unverified");
	printf("\nname        ");
	col(u->name, 0);
	printf("\npicture     ");
	col(u->picture, 0);
	printf("\ncreated     %s\n", fmt_time(u->created, tb));
	if (u->last_login != 0)
		printf("last login  %s (%s)\n", fmt_time(u->last_login, tb),
		    fmt_rel(u->last_login, c->now, rb));
	else
		printf("last login  never\n");
	printf("identities  %zu%s\n", nid,
	    nid == 0 ? " (signs in through no provider)" : "");
	for (i = 0; i < nid; i++) {
		printf("  ");
		col(idv[i].provider, 12);
		putchar(' ');
		col(idv[i].subject, 0);
		printf("  (since %s)\n", fmt_time(idv[i].created, tb));
	}
	printf("sessions    %zu live, %zu in all (ownauth sessions list %s)\n",
	    nlive, ns, u->id);
	if ((cl = claims_json(u)) == NULL ||
	    (txt = cJSON_PrintUnformatted(cl)) == NULL)
		goto oom;
	printf("claims      %s\n", cl->child != NULL ? txt : "none");
	rc = EXIT_OK;
	goto out;
oom:
	errmsg("users show: out of memory");
out:
	free(txt);
	cJSON_Delete(cl);
	cJSON_Delete(o);
	oa_db_session_list_free(sv, ns);
	oa_db_identity_list_free(idv, nid);
	oa_db_user_free(u);
	return rc;
}

int
cmd_users_add(struct cli *c, int argc, char **argv)
{
	const char *id = NULL, *email = NULL, *name = NULL, *picture = NULL;
	int unverified = 0, rc;
	struct opt opts[] = {
	    {"id", &id, NULL, NULL, NULL},
	    {"email", &email, NULL, NULL, NULL},
	    {"name", &name, NULL, NULL, NULL},
	    {"picture", &picture, NULL, NULL, NULL},
	    {"unverified", NULL, &unverified, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	struct oa_db_user u;
	enum oa_db_rc drc;
	char *pos[1], *newid = NULL;
	size_t npos;

	if (parse_args(c, argc, argv, opts, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if (id != NULL && !user_id_ok(id)) {
		errmsg("users add: --id must be 1 to %d printable ASCII "
		       "characters without spaces (it becomes the JWT sub)",
		    USER_ID_MAX);
		return EXIT_USAGE;
	}
	if (email != NULL && !email_ok(email)) {
		errmsg(
		    "users add: --email '%s' is not an email address", email);
		return EXIT_USAGE;
	}
	if (unverified && email == NULL) {
		errmsg("users add: --unverified needs --email");
		return EXIT_USAGE;
	}
	if (name != NULL && !text_ok(name, NAME_MAX_LEN)) {
		errmsg("users add: --name must be 1 to %d bytes without "
		       "control characters",
		    NAME_MAX_LEN);
		return EXIT_USAGE;
	}
	if (picture != NULL &&
	    (!text_ok(picture, URL_MAX) ||
	        !oa_url_is_secure_or_loopback(picture))) {
		errmsg("users add: --picture must be an https URL (or http "
		       "on a loopback host)");
		return EXIT_USAGE;
	}
	if ((rc = open_store(c)) != 0)
		return rc;
	/* The admin vouches for an email given here (--unverified says
	 * otherwise): it is what email_verified says in tokens, and what
	 * link_by_verified_email matches a first sign-in against. */
	memset(&u, 0, sizeof(u));
	u.id = (char *)id;
	u.email = (char *)email;
	u.email_verified = email != NULL && !unverified;
	u.name = (char *)name;
	u.picture = (char *)picture;
	drc = oa_db_user_add(c->db, &u, c->now, &newid);
	switch (drc) {
	case OA_DB_OK:
		printf("%s\n", newid);
		free(newid);
		return EXIT_OK;
	case OA_DB_EXISTS:
		if (id != NULL)
			errmsg("users add: the id %s is taken, or was (the "
			       "ids of deleted users are never reused)",
			    id);
		else
			errmsg("users add: no free id found; try again");
		return EXIT_FAIL;
	case OA_DB_BADARG:
		errmsg("users add: the store refused a value (too long?)");
		return EXIT_USAGE;
	default:
		return cli_db_fail(c, drc);
	}
}

/* users disable / users enable */
static int
set_disabled(struct cli *c, int argc, char **argv, int disabled)
{
	struct oa_db_user *u = NULL;
	enum oa_db_rc drc;
	char *id;
	int rc, was;

	if ((rc = one_id(c, argc, argv, NULL, "ID", &id)) != 0 ||
	    (rc = open_store(c)) != 0 || (rc = cli_user(c, id, &u)) != 0)
		return rc;
	was = u->disabled != 0;
	oa_db_user_free(u);
	if (was == disabled) {
		printf("%s is already %s\n", id,
		    disabled ? "disabled" : "enabled");
		return EXIT_OK;
	}
	drc = oa_db_user_set_disabled(c->db, id, disabled);
	if (drc == OA_DB_NOTFOUND) {
		errmsg("%s: unknown user %s", c->cmdname, id);
		return EXIT_FAIL;
	}
	if (drc != OA_DB_OK)
		return cli_db_fail(c, drc);
	if (disabled)
		printf("disabled %s: its sign-ins and refresh tokens are "
		       "refused; access tokens already issued stay valid "
		       "until they expire (access_token_ttl = %ld s)\n",
		    id, c->conf->access_token_ttl);
	else
		printf("enabled %s\n", id);
	return EXIT_OK;
}

int
cmd_users_disable(struct cli *c, int argc, char **argv)
{
	return set_disabled(c, argc, argv, 1);
}

int
cmd_users_enable(struct cli *c, int argc, char **argv)
{
	return set_disabled(c, argc, argv, 0);
}

int
cmd_users_delete(struct cli *c, int argc, char **argv)
{
	struct oa_db_identity *idv = NULL;
	struct oa_db_session **sv = NULL;
	enum oa_db_rc drc;
	size_t nid = 0, ns = 0;
	char *id;
	int rc;

	if ((rc = one_id(c, argc, argv, NULL, "ID", &id)) != 0 ||
	    (rc = open_store(c)) != 0)
		return rc;
	/* The counts, for the message; the delete itself is one
	 * transaction of the store (user, identities, email index,
	 * sessions, refresh tokens). */
	drc = oa_db_identity_list(c->db, id, &idv, &nid);
	if (drc == OA_DB_OK)
		drc = oa_db_session_list(c->db, id, &sv, &ns);
	oa_db_identity_list_free(idv, nid);
	oa_db_session_list_free(sv, ns);
	if (drc == OA_DB_OK)
		drc = oa_db_user_delete(c->db, id);
	if (drc == OA_DB_NOTFOUND) {
		errmsg("users delete: unknown user %s (see: ownauth users "
		       "list)",
		    id);
		return EXIT_FAIL;
	}
	if (drc != OA_DB_OK)
		return cli_db_fail(c, drc);
	printf("deleted %s with %zu identit%s and %zu session(s); the id "
	       "is never reused\n",
	    id, nid, nid == 1 ? "y" : "ies", ns);
	return EXIT_OK;
}

/* Checks custom claims text: a JSON object whose members are not
 * reserved (oa_issue_claim_reserved). 0, or EXIT_USAGE after a
 * message. Warns about profile claim names. */
static int
claims_ok(struct cli *c, const char *json)
{
	cJSON *o, *it, *any;
	size_t i, len = strlen(json);
	int bad = 0;

	if (len > CLAIMS_CLI_MAX) {
		errmsg("users claims: %zu bytes of JSON; at most %d (tokens "
		       "carry them, and must stay small)",
		    len, CLAIMS_CLI_MAX);
		return EXIT_USAGE;
	}
	if ((o = oa_json_parse_object(json, len)) == NULL) {
		any = cJSON_ParseWithLength(json, len);
		if (any != NULL && !cJSON_IsObject(any))
			errmsg("users claims: the claims must be a JSON "
			       "object, e.g. '{\"role\":\"admin\"}' ('{}' "
			       "clears them)");
		else
			errmsg("users claims: not valid JSON (or a name "
			       "given twice): %s",
			    json);
		cJSON_Delete(any);
		return EXIT_USAGE;
	}
	for (it = o->child; it != NULL; it = it->next) {
		if (oa_issue_claim_reserved(it->string)) {
			errmsg("users claims: '%s' is a reserved claim that "
			       "ownauth sets itself (reserved: iss sub aud "
			       "exp iat nbf jti sid auth_time nonce azp "
			       "at_hash c_hash typ)",
			    it->string);
			bad = 1;
			continue;
		}
		for (i = 0;
		     i < sizeof(profile_claims) / sizeof(profile_claims[0]);
		     i++)
			if (strcmp(it->string, profile_claims[i]) == 0)
				warnmsg("users claims: '%s' is a profile "
				        "claim: tokens carry the profile's "
				        "value instead whenever the user has "
				        "one",
				    it->string);
	}
	cJSON_Delete(o);
	return bad ? EXIT_USAGE : 0;
}

int
cmd_users_claims(struct cli *c, int argc, char **argv)
{
	struct oa_db_user *u = NULL;
	enum oa_db_rc drc;
	cJSON *cl;
	char *pos[2], *txt;
	size_t npos;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 2, &npos) == -1)
		return EXIT_USAGE;
	if (npos == 0) {
		errmsg("users claims: usage: ownauth users claims ID [JSON]");
		return EXIT_USAGE;
	}
	if (!user_id_ok(pos[0])) {
		errmsg("users claims: '%s' is not a user id", pos[0]);
		return EXIT_USAGE;
	}
	if (npos == 2 && (rc = claims_ok(c, pos[1])) != 0)
		return rc;
	if ((rc = open_store(c)) != 0)
		return rc;
	if (npos == 1) {
		/* Without JSON: print the current claims. */
		if ((rc = cli_user(c, pos[0], &u)) != 0)
			return rc;
		cl = claims_json(u);
		oa_db_user_free(u);
		rc = print_json(cl);
		cJSON_Delete(cl);
		return rc;
	}
	drc = oa_db_user_set_claims(c->db, pos[0], pos[1]);
	if (drc == OA_DB_NOTFOUND) {
		errmsg("users claims: unknown user %s (see: ownauth users "
		       "list)",
		    pos[0]);
		return EXIT_FAIL;
	}
	if (drc == OA_DB_BADARG) {
		errmsg("users claims: the store refused the claims");
		return EXIT_USAGE;
	}
	if (drc != OA_DB_OK)
		return cli_db_fail(c, drc);
	if ((rc = cli_user(c, pos[0], &u)) != 0)
		return rc;
	if (u->claims == NULL || u->claims[0] == '\0')
		printf("cleared the custom claims of %s\n", u->id);
	else {
		printf("custom claims of %s: ", u->id);
		txt = u->claims;
		fput_safe(stdout, txt);
		printf("\n(in tokens minted from now on; tokens already "
		       "issued keep the old ones until they expire)\n");
	}
	oa_db_user_free(u);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* ownauth sessions list | revoke                                      */

int
cmd_sessions_list(struct cli *c, int argc, char **argv)
{
	int json = 0, rc;
	struct opt opts[] = {
	    {"json", NULL, &json, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	struct oa_db_session **v = NULL;
	const struct oa_db_session *s;
	enum oa_db_rc drc;
	cJSON *arr = NULL, *o;
	char *id, cb[32], eb[32], lb[32];
	size_t n = 0, i;

	if ((rc = one_id(c, argc, argv, opts, "USER [--json]", &id)) != 0 ||
	    (rc = open_store(c)) != 0)
		return rc;
	drc = oa_db_session_list(c->db, id, &v, &n);
	if (drc == OA_DB_NOTFOUND) {
		errmsg("sessions list: unknown user %s (see: ownauth users "
		       "list)",
		    id);
		return EXIT_FAIL;
	}
	if (drc != OA_DB_OK)
		return cli_db_fail(c, drc);
	if (json) {
		rc = EXIT_FAIL;
		if ((arr = cJSON_CreateArray()) == NULL)
			goto oom;
		for (i = 0; i < n; i++) {
			s = v[i];
			if ((o = cJSON_CreateObject()) == NULL ||
			    !cJSON_AddItemToArray(arr, o) ||
			    !cJSON_AddStringToObject(o, "sid", s->sid) ||
			    !cJSON_AddStringToObject(o, "user", s->user) ||
			    !cJSON_AddStringToObject(o, "client", s->client) ||
			    !cJSON_AddStringToObject(
			        o, "state", session_state(c, s)) ||
			    !cJSON_AddBoolToObject(
			        o, "revoked", s->revoked != 0) ||
			    !cJSON_AddNumberToObject(
			        o, "created", (double)s->created) ||
			    !cJSON_AddNumberToObject(
			        o, "expires", (double)s->expires) ||
			    !cJSON_AddNumberToObject(
			        o, "auth_time", (double)s->auth_time) ||
			    !cJSON_AddNumberToObject(
			        o, "last_refresh", (double)s->last_refresh))
				goto oom;
		}
		rc = print_json(arr);
		goto out;
	}
	printf("%-24s  %-16s  %-7s  %-20s  %-20s  %s\n", "SID", "CLIENT",
	    "STATE", "CREATED", "EXPIRES", "LAST REFRESH");
	for (i = 0; i < n; i++) {
		s = v[i];
		col(s->sid, 24);
		printf("  ");
		col(s->client, 16);
		printf("  %-7s  %-20s  %-20s  %s\n", session_state(c, s),
		    fmt_time(s->created, cb), fmt_time(s->expires, eb),
		    s->last_refresh ? fmt_time(s->last_refresh, lb) : "never");
	}
	if (n == 0)
		printf("(no sessions)\n");
	rc = EXIT_OK;
	goto out;
oom:
	errmsg("sessions list: out of memory");
out:
	cJSON_Delete(arr);
	oa_db_session_list_free(v, n);
	return rc;
}

int
cmd_sessions_revoke(struct cli *c, int argc, char **argv)
{
	struct oa_db_user *u = NULL;
	struct oa_db_session *s = NULL;
	enum oa_db_rc drc;
	char *pos[2];
	size_t npos, n = 0;
	int rc, was;

	if (parse_args(c, argc, argv, NULL, pos, 2, &npos) == -1)
		return EXIT_USAGE;
	if (npos == 0) {
		errmsg("sessions revoke: usage: ownauth sessions revoke USER "
		       "[SID]");
		return EXIT_USAGE;
	}
	if (!user_id_ok(pos[0]) || (npos == 2 && !user_id_ok(pos[1]))) {
		errmsg("sessions revoke: '%s' is not an id",
		    !user_id_ok(pos[0]) ? pos[0] : pos[1]);
		return EXIT_USAGE;
	}
	if ((rc = open_store(c)) != 0)
		return rc;
	if (npos == 1) {
		drc = oa_db_session_revoke_user(c->db, pos[0], &n);
		if (drc == OA_DB_NOTFOUND) {
			errmsg("sessions revoke: unknown user %s (see: "
			       "ownauth users list)",
			    pos[0]);
			return EXIT_FAIL;
		}
		if (drc != OA_DB_OK)
			return cli_db_fail(c, drc);
		printf("revoked %zu live session(s) of %s\n", n, pos[0]);
		return EXIT_OK;
	}
	/* One session: it must be USER's (a sid typed for the wrong user
	 * must not log somebody else out). */
	if ((rc = cli_user(c, pos[0], &u)) != 0)
		return rc;
	oa_db_user_free(u);
	drc = oa_db_session_get(c->db, pos[1], &s);
	if (drc == OA_DB_NOTFOUND ||
	    (drc == OA_DB_OK && strcmp(s->user, pos[0]) != 0)) {
		errmsg("sessions revoke: %s has no session %s (see: ownauth "
		       "sessions list %s)",
		    pos[0], pos[1], pos[0]);
		oa_db_session_free(s);
		return EXIT_FAIL;
	}
	if (drc != OA_DB_OK)
		return cli_db_fail(c, drc);
	was = s->revoked != 0;
	oa_db_session_free(s);
	drc = oa_db_session_revoke(c->db, pos[1]);
	if (drc == OA_DB_NOTFOUND) {
		errmsg("sessions revoke: session %s is gone (purged or its "
		       "user deleted meanwhile)",
		    pos[1]);
		return EXIT_FAIL;
	}
	if (drc != OA_DB_OK)
		return cli_db_fail(c, drc);
	if (was)
		printf(
		    "session %s of %s was already revoked\n", pos[1], pos[0]);
	else
		printf("revoked session %s of %s: its refresh tokens are "
		       "refused from now on\n",
		    pos[1], pos[0]);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* ownauth db check | backup | purge                                   */

int
cmd_db_check(struct cli *c, int argc, char **argv)
{
	struct oa_db_report r;
	enum oa_db_rc drc;
	char *pos[1];
	size_t npos;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = open_store(c)) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	drc = oa_db_check(c->db, &r);
	if (drc != OA_DB_OK && drc != OA_DB_CORRUPT)
		return cli_db_fail(c, drc);
	printf("database   %s\n", c->conf->data_dir);
	printf(
	    "users      %zu (%zu deleted ids kept)\n", r.users, r.deleted_ids);
	printf("identities %zu\n", r.identities);
	printf("emails     %zu\n", r.emails);
	printf("sessions   %zu\n", r.sessions);
	printf("refresh    %zu token(s)\n", r.refresh_tokens);
	printf("codes      %zu\n", r.codes);
	printf("states     %zu\n", r.states);
	printf("cache      %zu\n", r.cache);
	if (drc == OA_DB_CORRUPT) {
		if (r.problems > 0)
			printf("FAIL: %zu problem(s), each logged above\n",
			    r.problems);
		else
			printf("FAIL: %s\n", oa_db_strerror(drc));
		printf("(restore the last backup: stop the programs, then "
		       "replace the files of %s with those of the backup)\n",
		    c->conf->data_dir);
		return EXIT_FAIL;
	}
	printf("ok: the file verifies and every record decodes and "
	       "matches its indexes\n");
	return EXIT_OK;
}

int
cmd_db_backup(struct cli *c, int argc, char **argv)
{
	enum oa_db_rc drc;
	char *pos[1];
	size_t npos;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 1, &npos) == -1)
		return EXIT_USAGE;
	if (npos != 1) {
		errmsg("db backup: usage: ownauth db backup DIR (a new or "
		       "empty directory)");
		return EXIT_USAGE;
	}
	if ((rc = open_store(c)) != 0)
		return rc;
	drc = oa_db_backup(c->db, pos[0]);
	if (drc == OA_DB_EXISTS) {
		errmsg("db backup: %s exists and is not an empty directory",
		    pos[0]);
		return EXIT_FAIL;
	}
	if (drc != OA_DB_OK) {
		errmsg("db backup: into %s: %s", pos[0], oa_db_strerror(drc));
		return EXIT_FAIL;
	}
	printf("backup of %s in %s: verified\n", c->conf->data_dir, pos[0]);
	printf("to restore: stop the programs, empty %s, copy the files of "
	       "%s into it (mode 0600)\n",
	    c->conf->data_dir, pos[0]);
	return EXIT_OK;
}

int
cmd_db_purge(struct cli *c, int argc, char **argv)
{
	enum oa_db_rc drc;
	char *pos[1];
	size_t npos, n = 0;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = open_store(c)) != 0)
		return rc;
	if ((drc = oa_db_purge(c->db, c->now, &n)) != OA_DB_OK)
		return cli_db_fail(c, drc);
	printf("purged %zu expired record(s)\n", n);
	return EXIT_OK;
}
