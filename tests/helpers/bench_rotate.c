/*
 * bench_rotate.c - the store's durable refresh-rotation rate (bench/,
 * issue 3), measured against bench_rawdb's bare commit loop.
 *
 *   bench_rotate DIR SECONDS
 *
 * Opens the ownauth store in DIR (created when missing) with db_sync =
 * yes, adds a user and a session, then for SECONDS rotates the session's
 * refresh token in a chain: each oa_db_refresh_rotate() on the newest
 * token, one durable transaction each, as token.fcgi does for every
 * refresh grant. Prints "rotations N seconds S rate R" on stdout. Exit 0,
 * 1 on a store failure or an unexpected answer, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct oa_db *db = NULL;
	struct oa_db_user u;
	struct oa_db_session_params sp;
	struct oa_db_refresh_params rp;
	struct oa_db_refresh_result res;
	enum oa_db_rc drc;
	char *uid = NULL, *sid = NULL, *rt = NULL;
	unsigned long long n = 0;
	double secs, t0, t1, end;
	int rc = 1;

	if (argc != 3 || (secs = strtod(argv[2], NULL)) <= 0) {
		fprintf(stderr, "usage: bench_rotate DIR SECONDS\n");
		return 2;
	}
	oa_log_set_prog("bench_rotate");
	if ((drc = oa_db_open(argv[1], 1, &db)) != OA_DB_OK) {
		fprintf(stderr, "bench_rotate: open: %s\n",
		    oa_db_strerror(drc));
		goto out;
	}
	memset(&u, 0, sizeof(u));
	u.email = "bench@example.test";
	u.email_verified = 1;
	u.name = "Bench";
	if ((drc = oa_db_user_add(db, &u, time(NULL), &uid)) != OA_DB_OK) {
		fprintf(stderr, "bench_rotate: user add: %s\n",
		    oa_db_strerror(drc));
		goto out;
	}
	memset(&sp, 0, sizeof(sp));
	sp.user = uid;
	sp.client = "web";
	sp.auth_time = sp.now = time(NULL);
	sp.session_ttl = 2592000;
	sp.idle_ttl = 1209600;
	if ((drc = oa_db_session_new(db, &sp, &sid, &rt)) != OA_DB_OK) {
		fprintf(stderr, "bench_rotate: session new: %s\n",
		    oa_db_strerror(drc));
		goto out;
	}
	memset(&rp, 0, sizeof(rp));
	rp.reuse_window = 10;
	rp.idle_ttl = 1209600;
	rp.session_ttl = 2592000;
	t0 = now_s();
	end = t0 + secs;
	do {
		memset(&res, 0, sizeof(res));
		rp.now = time(NULL);
		drc = oa_db_refresh_rotate(db, rt, &rp, &res);
		if (drc != OA_DB_OK || res.sibling || res.token == NULL) {
			fprintf(stderr, "bench_rotate: rotation %llu: %s%s\n",
			    n, oa_db_strerror(drc),
			    res.sibling ? " (a sibling)" : "");
			oa_db_refresh_result_wipe(&res);
			goto out;
		}
		oa_secret_free(rt);
		rt = res.token;
		res.token = NULL;
		oa_db_refresh_result_wipe(&res);
		n++;
	} while ((t1 = now_s()) < end);
	printf("rotations %llu seconds %.3f rate %.1f\n", n, t1 - t0,
	    (double)n / (t1 - t0));
	rc = 0;
out:
	oa_secret_free(rt);
	free(sid);
	free(uid);
	oa_db_close(db);
	return rc;
}
