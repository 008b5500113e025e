/*
 * bench_tokens.c - fresh refresh tokens for the refresh-grant bench
 * (bench/, issue 5): every request of the bench presents its own unused
 * token, as a real client does.
 *
 *   bench_tokens [-c CONF] [--client C] [--user ID] N
 *
 * Opens the store of CONF ($OWNAUTH_CONF by default), adds a user (or
 * uses --user ID), and creates N sessions for it with the client C
 * ("web" by default) through oa_db_session_new(), each with its first
 * refresh token, printed one a line on stdout. The user's id goes to
 * stderr as "user ID". The store is opened without durable commits (the
 * tokens are set up, not measured) and flushed when closed. Exit 0, 1 on
 * a failure, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bench_tokens [-c CONF] [--client C] "
	    "[--user ID] N\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *conf_path = getenv("OWNAUTH_CONF");
	const char *client = "web", *user = NULL;
	struct oa_conf *conf = NULL;
	struct oa_db *db = NULL;
	struct oa_db_session_params sp;
	enum oa_db_rc drc;
	char err[1024], *uid = NULL, *sid = NULL, *rt = NULL, *end;
	long n = -1, i;
	int rc = 1;

	oa_log_set_prog("bench_tokens");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
			client = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (n == -1 && argv[i][0] != '-') {
			n = strtol(argv[i], &end, 10);
			if (*end != '\0' || n < 0)
				usage();
		} else
			usage();
	}
	if (n < 0 || conf_path == NULL)
		usage();
	if (oa_conf_load(conf_path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench_tokens: %s\n", err);
		return 2;
	}
	if ((drc = oa_db_open(conf->data_dir, 0, &db)) != OA_DB_OK) {
		fprintf(stderr, "bench_tokens: store: %s\n",
		    oa_db_strerror(drc));
		goto out;
	}
	if (user == NULL) {
		struct oa_db_user u;

		memset(&u, 0, sizeof(u));
		u.email = "bench@example.test";
		u.email_verified = 1;
		u.name = "Bench User";
		if ((drc = oa_db_user_add(db, &u, time(NULL), &uid)) !=
		    OA_DB_OK) {
			fprintf(stderr, "bench_tokens: user add: %s\n",
			    oa_db_strerror(drc));
			goto out;
		}
		user = uid;
	}
	fprintf(stderr, "user %s\n", user);
	memset(&sp, 0, sizeof(sp));
	sp.user = user;
	sp.client = client;
	sp.session_ttl = conf->session_ttl;
	sp.idle_ttl = conf->refresh_idle_ttl;
	for (i = 0; i < n; i++) {
		sp.auth_time = sp.now = time(NULL);
		if ((drc = oa_db_session_new(db, &sp, &sid, &rt)) !=
		    OA_DB_OK) {
			fprintf(stderr, "bench_tokens: session %ld: %s\n", i,
			    oa_db_strerror(drc));
			goto out;
		}
		if (printf("%s\n", rt) < 0)
			goto out;
		free(sid);
		oa_secret_free(rt);
		sid = rt = NULL;
	}
	if (fflush(stdout) != 0)
		goto out;
	rc = 0;
out:
	free(sid);
	oa_secret_free(rt);
	free(uid);
	oa_db_close(db);
	oa_conf_free(conf);
	return rc;
}
