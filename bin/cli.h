/*
 * cli.h - private interface of the ownauth command line (SPEC §7):
 * bin/ownauth.c (dispatch, config, keys, tokens, helpers) and
 * bin/cli_store.c (users, sessions and db: the Berkeley DB store).
 * Nothing outside bin/ includes it.
 */
#ifndef OA_CLI_H
#define OA_CLI_H

#include <stdio.h>
#include <time.h>

#include "ownauth.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define MAX_MULTI 16
#define USER_ID_MAX 64

struct cli {
	const char *conf_path;   /* -c FILE, else oa_conf_default_path() */
	struct oa_conf *conf;    /* loaded by cli_conf() */
	struct oa_keyring *ring; /* loaded by cli_ring() */
	struct oa_db *db;        /* opened by cli_db(), closed by main() */
	time_t now;
	const char *cmdname; /* "keys retire", for messages */
};

/* One option of parse_args: --name, --name VALUE, --name=VALUE. */
struct opt {
	const char *name;   /* without the leading "--" */
	const char **val;   /* takes a value: the last one given */
	int *flag;          /* a flag: set to 1 */
	const char **multi; /* repeatable value: MAX_MULTI slots */
	size_t *nmulti;
};

/* The FAIL and warn lines of `ownauth check`. */
struct tally {
	int fail, warn;
};

/* ownauth.c: helpers shared by the commands. */

/* "ownauth: MESSAGE\n" / "ownauth: warning: MESSAGE\n" on stderr. */
void errmsg(const char *, ...) __attribute__((format(printf, 1, 2)));
void warnmsg(const char *, ...) __attribute__((format(printf, 1, 2)));
/* "2025-01-31T12:00:00Z" into buf; returns buf. */
const char *fmt_time(time_t t, char buf[32]);
/* "in 10 min" / "10 min ago" relative to now, into buf; returns buf. */
const char *fmt_rel(time_t t, time_t now, char buf[48]);
/* Prints s with control bytes replaced by '?'. */
void fput_safe(FILE *f, const char *s);
/* Splits argv into options (opts, NULL-terminated; may be NULL) and at
 * most maxpos positional arguments (*npos of them, into pos). -c FILE
 * is accepted anywhere. 0, or -1 after a message (a usage error). */
int parse_args(struct cli *c, int argc, char **argv, const struct opt *opts,
    char **pos, size_t maxpos, size_t *npos);
/* Loads the config once: 0, or EXIT_USAGE after the loader's message. */
int cli_conf(struct cli *c);
/* (Re)loads the keyring from keys_dir: 0, or EXIT_FAIL after a message. */
int cli_ring(struct cli *c);
/* 1 when s can be a user id (the JWT sub: 1 to USER_ID_MAX printable
 * ASCII characters without spaces), else 0. */
int user_id_ok(const char *s);
/* One line of `ownauth check`: status "ok", "warn" or "FAIL". */
void check_line(struct tally *t, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cli_store.c: the store. */

/* Opens the store of c->conf (cli_conf first) into c->db, once: 0, or
 * EXIT_FAIL after a message naming data_dir and the store's reason. */
int cli_db(struct cli *c);
/* Prints "CMD: the database in DATA_DIR: REASON" for a store call that
 * failed with rc; returns EXIT_FAIL. */
int cli_db_fail(struct cli *c, enum oa_db_rc rc);
/* Reads user id into *out (caller frees with oa_db_user_free): 0, or
 * EXIT_FAIL after a message ("no user ID", or the store's failure). */
int cli_user(struct cli *c, const char *id, struct oa_db_user **out);
/* The database line of `ownauth check`: opens the store and reads every
 * user record (the full check is `ownauth db check`). */
void cli_check_db(struct cli *c, struct tally *t);

int cmd_users_list(struct cli *c, int argc, char **argv);
int cmd_users_show(struct cli *c, int argc, char **argv);
int cmd_users_add(struct cli *c, int argc, char **argv);
int cmd_users_disable(struct cli *c, int argc, char **argv);
int cmd_users_enable(struct cli *c, int argc, char **argv);
int cmd_users_delete(struct cli *c, int argc, char **argv);
int cmd_users_claims(struct cli *c, int argc, char **argv);
int cmd_sessions_list(struct cli *c, int argc, char **argv);
int cmd_sessions_revoke(struct cli *c, int argc, char **argv);
int cmd_db_check(struct cli *c, int argc, char **argv);
int cmd_db_backup(struct cli *c, int argc, char **argv);
int cmd_db_purge(struct cli *c, int argc, char **argv);

#endif /* OA_CLI_H */
