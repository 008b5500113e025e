/*
 * storedump.c - a test helper for callback.fcgi's tests: what did a
 * sign-in store?
 *
 *   storedump [-c CONF] users          every user with its identities, as
 *                                      a JSON array (sorted by id)
 *   storedump [-c CONF] code CODE      uses the authorization code (as
 *                                      the token endpoint would) and
 *                                      prints its record as JSON; exit 1
 *                                      when it is unknown, expired or used
 *   storedump [-c CONF] disable ID     disables a user
 *
 * CONF defaults to $OWNAUTH_CONF. Exit 0, 1 on failure, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

static void
usage(void)
{
	fprintf(stderr, "usage: storedump [-c CONF] users | code CODE | "
	    "disable ID\n");
	exit(2);
}

static cJSON *
str_or_null(const char *s)
{
	return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static int
users(struct oa_db *db)
{
	struct oa_db_user **v = NULL;
	struct oa_db_identity *ids = NULL;
	size_t n = 0, ni, i, j;
	cJSON *arr = cJSON_CreateArray(), *o, *ia, *io;
	char *text;
	enum oa_db_rc rc;

	if ((rc = oa_db_user_list(db, &v, &n)) != OA_DB_OK) {
		fprintf(stderr, "storedump: %s\n", oa_db_strerror(rc));
		return 1;
	}
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "id", cJSON_CreateString(v[i]->id));
		cJSON_AddItemToObject(o, "email", str_or_null(v[i]->email));
		cJSON_AddBoolToObject(o, "email_verified",
		    v[i]->email_verified);
		cJSON_AddItemToObject(o, "name", str_or_null(v[i]->name));
		cJSON_AddItemToObject(o, "picture",
		    str_or_null(v[i]->picture));
		cJSON_AddBoolToObject(o, "disabled", v[i]->disabled);
		cJSON_AddNumberToObject(o, "last_login",
		    (double)v[i]->last_login);
		ia = cJSON_AddArrayToObject(o, "identities");
		ids = NULL;
		ni = 0;
		if (oa_db_identity_list(db, v[i]->id, &ids, &ni) == OA_DB_OK) {
			for (j = 0; j < ni; j++) {
				io = cJSON_CreateObject();
				cJSON_AddStringToObject(io, "provider",
				    ids[j].provider);
				cJSON_AddStringToObject(io, "subject",
				    ids[j].subject);
				cJSON_AddItemToArray(ia, io);
			}
			oa_db_identity_list_free(ids, ni);
		}
		cJSON_AddItemToArray(arr, o);
	}
	oa_db_user_list_free(v, n);
	text = cJSON_Print(arr);
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(arr);
	return 0;
}

static int
code(struct oa_db *db, const char *c)
{
	struct oa_db_code *rec = NULL;
	cJSON *o;
	char *text;
	enum oa_db_rc rc;

	rc = oa_db_code_take(db, c, time(NULL), &rec);
	if (rc != OA_DB_OK) {
		fprintf(stderr, "storedump: code: %s\n", oa_db_strerror(rc));
		oa_db_code_free(rec);
		return 1;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "client", str_or_null(rec->client));
	cJSON_AddItemToObject(o, "redirect_uri", str_or_null(rec->redirect_uri));
	cJSON_AddItemToObject(o, "code_challenge",
	    str_or_null(rec->code_challenge));
	cJSON_AddItemToObject(o, "nonce", str_or_null(rec->nonce));
	cJSON_AddItemToObject(o, "scope", str_or_null(rec->scope));
	cJSON_AddItemToObject(o, "user", str_or_null(rec->user));
	cJSON_AddNumberToObject(o, "auth_time", (double)rec->auth_time);
	cJSON_AddNumberToObject(o, "expires", (double)rec->expires);
	cJSON_AddNumberToObject(o, "now", (double)time(NULL));
	text = cJSON_Print(o);
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
	oa_db_code_free(rec);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = getenv("OWNAUTH_CONF");
	struct oa_conf *conf = NULL;
	struct oa_db *db = NULL;
	char err[1024];
	enum oa_db_rc rc;
	int i = 1, ret = 1;

	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		path = argv[2];
		i = 3;
	}
	if (path == NULL || i >= argc)
		usage();
	oa_log_set_prog("storedump");
	if (oa_conf_load(path, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "storedump: %s\n", err);
		return 2;
	}
	if ((rc = oa_db_open(conf->data_dir, conf->db_sync, &db)) !=
	    OA_DB_OK) {
		fprintf(stderr, "storedump: %s\n", oa_db_strerror(rc));
		goto out;
	}
	if (strcmp(argv[i], "users") == 0 && i + 1 == argc)
		ret = users(db);
	else if (strcmp(argv[i], "code") == 0 && i + 2 == argc)
		ret = code(db, argv[i + 1]);
	else if (strcmp(argv[i], "disable") == 0 && i + 2 == argc) {
		rc = oa_db_user_set_disabled(db, argv[i + 1], 1);
		if (rc != OA_DB_OK)
			fprintf(stderr, "storedump: %s\n", oa_db_strerror(rc));
		ret = rc == OA_DB_OK ? 0 : 1;
	} else {
		oa_db_close(db);
		oa_conf_free(conf);
		usage();
	}
out:
	oa_db_close(db);
	oa_conf_free(conf);
	return ret;
}
