/*
 * db_int.h - private interface between db.c (the Berkeley DB environment,
 * the transaction runner, backup and check) and store.c (the records).
 * Nothing outside lib/db.c and lib/store.c includes it.
 */
#ifndef OA_DB_INT_H
#define OA_DB_INT_H

#include <sys/types.h>

#include <db.h>

#include "ownauth.h"

/* The one database file of the environment. */
#define OA_DB_FILE "ownauth.db"
/* The record format this code writes (the "Mformat" meta record). */
#define OA_DB_FORMAT 1

struct oa_db {
	char *dir;              /* absolute path of data_dir */
	int sync;               /* 0: DB_TXN_NOSYNC */
	pid_t pid;              /* the process that opened it */
	int refs;
	DB_ENV *env;            /* NULL after a failure: reopened on use */
	DB *db;
	struct oa_db *next;     /* the process's open handles */
	int in_maint;           /* housekeeping runs (no recursion) */
	int lockfd;             /* ownauth.lock (OFD locks) */
	int shared;             /* depth of the shared lock */
	int live;               /* holds LK_LIVE shared (env open) */
	int last;               /* holds LK_LIVE exclusively (closing) */
};

/*
 * A transaction body for oa_db_txn: uses db->db within txn, and returns
 * 0 to commit, OA_TXN_ABORT to abort, or a Berkeley DB / errno / OA_ERR_*
 * error (aborted; lock conflicts are retried). The logical answer goes
 * into *rc (preset to OA_DB_OK). It may run several times: it must
 * release what an earlier attempt left in arg.
 */
typedef int (*oa_db_txn_fn)(struct oa_db *db, DB_TXN *txn, void *arg,
    enum oa_db_rc *rc);
#define OA_TXN_ABORT   0x4f410001
#define OA_ERR_CORRUPT 0x4f410002   /* a record did not decode (logged) */
#define OA_ERR_NOMEM   ENOMEM

/* oa_db_txn flags. */
#define OA_TXN_WRITE   0x1   /* housekeeping after a commit */

/*
 * Runs fn in a transaction: (re)opens the environment when needed,
 * retries lock conflicts with backoff within a deadline, reopens (and so
 * recovers) after DB_RUNRECOVERY, and maps failures to an enum value,
 * logged once with what ("user add"). now (0: unknown) drives the
 * opportunistic purge after writes. Returns fn's *rc after a commit or
 * an OA_TXN_ABORT, else the failure.
 */
enum oa_db_rc oa_db_txn(struct oa_db *db, const char *what, int flags,
    time_t now, oa_db_txn_fn fn, void *arg);

/* store.c: purges at most max expired records in one transaction body;
 * *removed gets the count. */
int oa_store_purge_batch(struct oa_db *db, DB_TXN *txn, time_t now,
    size_t max, size_t *removed);
/* store.c: decodes every record of d (a quiescent copy) and cross-checks
 * the indexes, counting into rep. 0, or a Berkeley DB error. */
int oa_store_walk(DB *d, struct oa_db_report *rep);
/* store.c: reads or creates the format record; OA_DB_OK, OA_DB_VERSION,
 * OA_DB_CORRUPT. Returns a Berkeley DB error through *ret. */
int oa_store_meta(struct oa_db *db, DB_TXN *txn, enum oa_db_rc *rc);

#endif /* OA_DB_INT_H */
