/*
 * bench_rawdb.c - the limit for the store's durable write rate (bench/,
 * issue 3): a bare Berkeley DB commit loop, nothing of ownauth.
 *
 *   bench_rawdb DIR SECONDS
 *
 * One environment in DIR (created when missing) with DB_INIT_TXN |
 * DB_INIT_LOG | DB_INIT_LOCK | DB_INIT_MPOOL, one btree, and for SECONDS
 * a loop of transactions that each put one record (a 32-byte key, as the
 * store's SHA-256 keys, and a 128-byte value) and commit durably (the
 * default: the log is flushed to disk at each commit, as db_sync = yes
 * does). Prints "commits N seconds S rate R" on stdout. Exit 0, 1 on a
 * Berkeley DB failure, 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <db.h>

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
	DB_ENV *env = NULL;
	DB *d = NULL;
	DB_TXN *txn;
	DBT k, v;
	unsigned char key[32], val[128];
	unsigned long long n = 0, i;
	double secs, t0, t1, end;
	int ret, rc = 1;

	if (argc != 3 || (secs = strtod(argv[2], NULL)) <= 0) {
		fprintf(stderr, "usage: bench_rawdb DIR SECONDS\n");
		return 2;
	}
	if (mkdir(argv[1], 0700) == -1 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	if ((ret = db_env_create(&env, 0)) != 0 ||
	    (ret = env->open(env, argv[1], DB_CREATE | DB_INIT_TXN |
	    DB_INIT_LOG | DB_INIT_LOCK | DB_INIT_MPOOL, 0600)) != 0 ||
	    (ret = db_create(&d, env, 0)) != 0 ||
	    (ret = d->open(d, NULL, "raw.db", NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0) {
		fprintf(stderr, "bench_rawdb: open: %s\n", db_strerror(ret));
		goto out;
	}
	memset(val, 'v', sizeof(val));
	t0 = now_s();
	end = t0 + secs;
	do {
		/* A fresh key each time: an insert, as the store's rotation
		 * inserts the new token (the counter spread over the key). */
		for (i = 0; i < sizeof(key); i++)
			key[i] = (unsigned char)((n * 2654435761ULL) >> (i % 8 * 8)) ^
			    (unsigned char)i;
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = key;
		k.size = sizeof(key);
		v.data = val;
		v.size = sizeof(val);
		if ((ret = env->txn_begin(env, NULL, &txn, 0)) != 0) {
			fprintf(stderr, "bench_rawdb: txn_begin: %s\n",
			    db_strerror(ret));
			goto out;
		}
		if ((ret = d->put(d, txn, &k, &v, 0)) != 0) {
			fprintf(stderr, "bench_rawdb: put: %s\n",
			    db_strerror(ret));
			(void)txn->abort(txn);
			goto out;
		}
		if ((ret = txn->commit(txn, 0)) != 0) {
			fprintf(stderr, "bench_rawdb: commit: %s\n",
			    db_strerror(ret));
			goto out;
		}
		n++;
	} while ((t1 = now_s()) < end);
	printf("commits %llu seconds %.3f rate %.1f\n", n, t1 - t0,
	    (double)n / (t1 - t0));
	rc = 0;
out:
	if (d != NULL)
		(void)d->close(d, 0);
	if (env != NULL)
		(void)env->close(env, 0);
	return rc;
}
