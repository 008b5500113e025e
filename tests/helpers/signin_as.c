/*
 * signin_as.c - a test helper for the CLI's store tests: what a callback
 * does to the store at a sign-in, without an upstream.
 *
 *   signin_as [-c CONF] PROVIDER SUBJECT [EMAIL [NAME]]
 *
 * Runs oa_db_identity_login for (PROVIDER, SUBJECT) with a verified
 * EMAIL (link_by_verified_email from the config) and prints the user id
 * (a new user at the first sign-in). CONF defaults to $OWNAUTH_CONF.
 * Exit 0; 1 on failure (the store's sentence on stderr; "disabled" for a
 * disabled user); 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

int
main(int argc, char **argv)
{
	const char *conf_path = getenv("OWNAUTH_CONF");
	struct oa_conf *conf = NULL;
	struct oa_db *db = NULL;
	struct oa_db_user *u = NULL;
	struct oa_db_profile p;
	enum oa_db_rc rc;
	char err[1024];
	int a = 1, created = 0, status = 1;

	oa_log_set_prog("signin_as");
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		conf_path = argv[2];
		a = 3;
	}
	if (argc - a < 2 || argc - a > 4 || conf_path == NULL) {
		fprintf(stderr, "usage: signin_as [-c CONF] PROVIDER SUBJECT "
		    "[EMAIL [NAME]]\n");
		return 2;
	}
	if (oa_conf_load(conf_path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "signin_as: %s\n", err);
		return 2;
	}
	memset(&p, 0, sizeof(p));
	p.provider = argv[a];
	p.subject = argv[a + 1];
	p.email = argc - a > 2 ? argv[a + 2] : NULL;
	p.email_verified = p.email != NULL;
	p.name = argc - a > 3 ? argv[a + 3] : NULL;
	if ((rc = oa_db_open(conf->data_dir, conf->db_sync, &db)) !=
	    OA_DB_OK) {
		fprintf(stderr, "signin_as: %s\n", oa_db_strerror(rc));
		goto out;
	}
	rc = oa_db_identity_login(db, &p, conf->link_by_verified_email,
	    time(NULL), &u, &created);
	if (rc != OA_DB_OK) {
		fprintf(stderr, "signin_as: %s\n", rc == OA_DB_DISABLED ?
		    "disabled" : oa_db_strerror(rc));
		goto out;
	}
	printf("%s\n", u->id);
	status = 0;
out:
	oa_db_user_free(u);
	oa_db_close(db);
	oa_conf_free(conf);
	return status;
}
