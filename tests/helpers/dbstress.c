/*
 * dbstress.c - drives the store (lib/db.c, lib/store.c) from many real
 * processes for tests/integration/store.sh. Every mode prints what it
 * checked and exits 0 on success, 1 on a failed check, 2 on usage.
 *
 *   dbstress mixed DIR WORKERS OPS     concurrent mixed operations
 *   dbstress race DIR N MODE           N processes refresh one token at
 *                                      once; MODE window | outside |
 *                                      generation | mixed
 *   dbstress crash DIR KILLS WORKERS   kill -9 writers KILLS times
 *   dbstress populate DIR N            users p-0..p-N-1
 *   dbstress verify DIR N              those users are there
 *   dbstress fill DIR COUNTFILE        writes until the disk is full
 *   dbstress verify-fill DIR COUNTFILE what fill committed is there
 *   dbstress expect DIR RC             a read and a write give RC
 *                                      (CORRUPT, READONLY, FULL...)
 *   dbstress check DIR                 oa_db_check
 *   dbstress backup DIR TARGET         oa_db_backup
 *   dbstress watchdog DIR              a store call that cannot make
 *                                      progress ends its process (75)
 *   dbstress backup-live DIR TARGET    oa_db_backup while 3 processes
 *                                      write; the copy has every commit
 *                                      made before the backup began
 *
 * Children are forked before anything opens the environment, so every
 * process has its own handle, as CGI processes do.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownauth.h"

#define T0 1700000000
#define WINDOW 10

static int failures;

static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "dbstress: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	failures++;
}

static struct oa_db *
open_or_die(const char *dir)
{
	struct oa_db *db = NULL;
	enum oa_db_rc rc;

	if ((rc = oa_db_open(dir, 1, &db)) != OA_DB_OK) {
		fprintf(stderr, "dbstress: open %s: %s\n", dir,
		    oa_db_strerror(rc));
		exit(1);
	}
	return db;
}

/* write(2) of one line (atomic below PIPE_BUF). */
static void
say(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!write(fd, buf, (size_t)n);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads everything from fd until EOF into a malloc'd string. */
static char *
slurp(int fd)
{
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t r;

	if (buf == NULL)
		exit(1);
	for (;;) {
		if (cap - n < 4096 && (buf = realloc(buf, cap *= 2)) == NULL)
			exit(1);
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return buf;
}

/* Waits for every child; counts the ones that did not exit 0. */
static int
reap(pid_t *pids, int n)
{
	int bad = 0, st;

	for (int i = 0; i < n; i++) {
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "dbstress: child %ld ended with "
			    "status %d\n", (long)pids[i], st);
			bad++;
		}
	}
	return bad;
}

/* ---- mixed --------------------------------------------------------------- */

#define SHARED 40

/*
 * One worker of the mixed test. Reports one line per committed outcome
 * that the parent checks:
 *   U id          user created (must exist at the end unless deleted)
 *   D id          user deleted
 *   S subj uid    shared identity resolved to uid
 *   C n OK|USED   shared code taken
 *   L n OK|ALREADY shared state consumed
 *   T token       a live refresh token (must rotate at the end)
 *   K key n       cache value written (last one wins per key)
 */
static int
mixed_worker(const char *dir, int w, int ops, int out)
{
	struct oa_db *db = open_or_die(dir);
	struct oa_db_user in, *u = NULL;
	struct oa_db_profile p;
	struct oa_db_code *c = NULL;
	struct oa_db_session_params sp;
	struct oa_db_refresh_params rp = { T0 + 10, WINDOW, 100000, 1000000 };
	struct oa_db_refresh_result res;
	char id[64], name[64], *got = NULL, *sid = NULL, *tok = NULL;
	int created = 0, bad = 0, ndel = 0;
	enum oa_db_rc rc;
	uint32_t r = (uint32_t)(w * 2654435761u + 12345);

	for (int i = 0; i < ops; i++) {
		r = r * 1103515245u + 12345u;
		switch ((r >> 8) % 10) {
		case 0:
			memset(&in, 0, sizeof(in));
			snprintf(id, sizeof(id), "w%d-u%d", w, i);
			in.id = id;
			in.email = "mixed@example.com";
			in.email_verified = 1;
			rc = oa_db_user_add(db, &in, T0, NULL);
			if (rc != OA_DB_OK) {
				fail("w%d: user add %s: %s", w, id,
				    oa_db_strerror(rc));
				bad++;
				break;
			}
			say(out, "U %s\n", id);
			/* Now and then delete one of ours again. */
			if (i % 7 == 0) {
				rc = oa_db_user_delete(db, id);
				if (rc != OA_DB_OK) {
					fail("w%d: delete %s: %s", w, id,
					    oa_db_strerror(rc));
					bad++;
				} else {
					say(out, "D %s\n", id);
					ndel++;
				}
			}
			break;
		case 1:
		case 2:
			memset(&p, 0, sizeof(p));
			p.provider = "dev";
			snprintf(name, sizeof(name), "shared-%u",
			    (r >> 12) % SHARED);
			p.subject = name;
			p.email = "Shared@Example.com";
			p.email_verified = 1;
			rc = oa_db_identity_login(db, &p, 0, T0, &u,
			    &created);
			if (rc != OA_DB_OK) {
				fail("w%d: login %s: %s", w, name,
				    oa_db_strerror(rc));
				bad++;
				break;
			}
			say(out, "S %s %s %d\n", name, u->id, created);
			oa_db_user_free(u);
			u = NULL;
			break;
		case 3:
			snprintf(name, sizeof(name), "sc-%u",
			    (r >> 12) % SHARED);
			rc = oa_db_code_take(db, name, T0 + 1, &c);
			if (rc != OA_DB_OK && rc != OA_DB_USED) {
				fail("w%d: take %s: %s", w, name,
				    oa_db_strerror(rc));
				bad++;
				break;
			}
			if (rc == OA_DB_OK)
				say(out, "C %s OK\n", name);
			oa_db_code_free(c);
			c = NULL;
			break;
		case 4:
			snprintf(name, sizeof(name), "st-%u",
			    (r >> 12) % (SHARED * 4));
			rc = oa_db_state_consume(db, name, T0 + 600, T0);
			if (rc == OA_DB_OK)
				say(out, "L %s OK\n", name);
			else if (rc != OA_DB_ALREADY) {
				fail("w%d: state %s: %s", w, name,
				    oa_db_strerror(rc));
				bad++;
			}
			break;
		case 5:
		case 6:
			/* Our own session, rotated along. */
			if (tok == NULL) {
				memset(&sp, 0, sizeof(sp));
				sp.user = "base-user";
				sp.client = "web";
				sp.now = T0;
				sp.session_ttl = 1000000;
				sp.idle_ttl = 100000;
				rc = oa_db_session_new(db, &sp, &sid, &tok);
				if (rc != OA_DB_OK) {
					fail("w%d: session: %s", w,
					    oa_db_strerror(rc));
					bad++;
				}
				break;
			}
			memset(&res, 0, sizeof(res));
			rc = oa_db_refresh_rotate(db, tok, &rp, &res);
			if (rc != OA_DB_OK || res.sibling) {
				fail("w%d: rotate: %s sibling=%d", w,
				    oa_db_strerror(rc), res.sibling);
				bad++;
			} else {
				oa_secret_free(tok);
				tok = res.token;
				res.token = NULL;
			}
			oa_db_refresh_result_wipe(&res);
			break;
		case 7:
			snprintf(name, sizeof(name), "w%d-k%u", w,
			    (r >> 12) % 5);
			snprintf(id, sizeof(id), "%d", i);
			rc = oa_db_cache_put(db, name, id, strlen(id),
			    T0 + 100);
			if (rc != OA_DB_OK) {
				fail("w%d: cache put: %s", w,
				    oa_db_strerror(rc));
				bad++;
			} else
				say(out, "K %s %d\n", name, i);
			break;
		case 8:
			rc = oa_db_user_get(db, "base-user", &u);
			if (rc != OA_DB_OK) {
				fail("w%d: get: %s", w, oa_db_strerror(rc));
				bad++;
			}
			oa_db_user_free(u);
			u = NULL;
			break;
		case 9:
			/* Short-lived codes and purges race with the rest. */
			{
				struct oa_db_code cc;

				memset(&cc, 0, sizeof(cc));
				cc.client = "web";
				cc.redirect_uri = "https://a/cb";
				cc.code_challenge = "x";
				cc.user = "base-user";
				cc.expires = T0 + 60;
				snprintf(name, sizeof(name), "w%d-c%d", w, i);
				rc = oa_db_code_put(db, name, &cc);
				if (rc == OA_DB_OK && i % 5 == 0)
					rc = oa_db_purge(db, T0 + 120, NULL);
				if (rc != OA_DB_OK) {
					fail("w%d: code/purge: %s", w,
					    oa_db_strerror(rc));
					bad++;
				}
			}
			break;
		}
		(void)got;
	}
	if (tok != NULL)
		say(out, "T %s\n", tok);
	oa_secret_free(tok);
	free(sid);
	oa_db_close(db);
	return bad ? 1 : 0;
}

/* Tiny string set for the parent's bookkeeping. */
struct entry {
	char *k, *v;
	int n;
};
struct set {
	struct entry *e;
	size_t n, cap;
};

static struct entry *
set_get(struct set *s, const char *k, int add)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].k, k) == 0)
			return &s->e[i];
	if (!add)
		return NULL;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		if ((s->e = realloc(s->e, s->cap * sizeof(*s->e))) == NULL)
			exit(1);
	}
	memset(&s->e[s->n], 0, sizeof(s->e[0]));
	if ((s->e[s->n].k = strdup(k)) == NULL)
		exit(1);
	return &s->e[s->n++];
}

static void
set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].k);
		free(s->e[i].v);
	}
	free(s->e);
	memset(s, 0, sizeof(*s));
}

static int
mode_mixed(const char *dir, int workers, int ops)
{
	struct oa_db *db;
	struct oa_db_user in, **all = NULL, *u = NULL;
	struct oa_db_code cc;
	struct oa_db_report rep;
	struct oa_db_refresh_params rp = { T0 + 20, WINDOW, 100000, 1000000 };
	struct set users = { 0 }, subj = { 0 }, codes = { 0 }, states = { 0 },
	    cache = { 0 }, toks = { 0 };
	pid_t *pids;
	int fds[2], bad;
	char *text, *line, *save = NULL, name[64];
	size_t n = 0, expect_users = 1;
	double t0 = now_s();

	/* Setup in a process of its own, closed before forking. */
	db = open_or_die(dir);
	memset(&in, 0, sizeof(in));
	in.id = "base-user";
	if (oa_db_user_add(db, &in, T0, NULL) != OA_DB_OK)
		fail("setup user");
	memset(&cc, 0, sizeof(cc));
	cc.client = "web";
	cc.redirect_uri = "https://a/cb";
	cc.code_challenge = "x";
	cc.user = "base-user";
	cc.expires = T0 + 100000;
	for (int i = 0; i < SHARED; i++) {
		snprintf(name, sizeof(name), "sc-%d", i);
		if (oa_db_code_put(db, name, &cc) != OA_DB_OK)
			fail("setup code");
	}
	oa_db_close(db);

	if (pipe(fds) != 0 || (pids = calloc((size_t)workers,
	    sizeof(*pids))) == NULL)
		return 1;
	for (int w = 0; w < workers; w++) {
		if ((pids[w] = fork()) == 0) {
			close(fds[0]);
			_exit(mixed_worker(dir, w, ops, fds[1]) + failures);
		}
	}
	close(fds[1]);
	text = slurp(fds[0]);
	close(fds[0]);
	bad = reap(pids, workers);
	if (bad)
		fail("%d workers failed", bad);
	printf("mixed: %d workers x %d ops in %.1f s\n", workers, ops,
	    now_s() - t0);

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char a[128], b[128];
		int x = 0;

		if (sscanf(line, "U %127s", a) == 1) {
			set_get(&users, a, 1)->n++;
			expect_users++;
		} else if (sscanf(line, "D %127s", a) == 1) {
			set_get(&users, a, 1)->n--;
			expect_users--;
		} else if (sscanf(line, "S %127s %127s %d", a, b, &x) == 3) {
			struct entry *e = set_get(&subj, a, 1);

			if (e->v == NULL) {
				e->v = strdup(b);
			} else if (strcmp(e->v, b) != 0)
				fail("identity %s resolved to two users", a);
			e->n += x;
		} else if (sscanf(line, "C %127s", a) == 1) {
			set_get(&codes, a, 1)->n++;
		} else if (sscanf(line, "L %127s", a) == 1) {
			set_get(&states, a, 1)->n++;
		} else if (sscanf(line, "K %127s %d", a, &x) == 2) {
			struct entry *e = set_get(&cache, a, 1);

			if (x >= e->n)
				e->n = x;
		} else if (sscanf(line, "T %127s", a) == 1) {
			set_get(&toks, a, 1);
		} else {
			fail("bad report line: %s", line);
		}
	}
	for (size_t i = 0; i < subj.n; i++) {
		if (subj.e[i].n != 1)
			fail("identity %s created %d times", subj.e[i].k,
			    subj.e[i].n);
		expect_users++;
	}
	for (size_t i = 0; i < codes.n; i++)
		if (codes.e[i].n != 1)
			fail("code %s taken %d times", codes.e[i].k,
			    codes.e[i].n);
	for (size_t i = 0; i < states.n; i++)
		if (states.e[i].n != 1)
			fail("state %s consumed %d times", states.e[i].k,
			    states.e[i].n);

	/* The end state, from a fresh process's point of view. */
	db = open_or_die(dir);
	if (oa_db_user_list(db, &all, &n) != OA_DB_OK)
		fail("user list");
	if (n != expect_users)
		fail("%zu users, expected %zu", n, expect_users);
	oa_db_user_list_free(all, n);
	for (size_t i = 0; i < users.n; i++) {
		enum oa_db_rc rc = oa_db_user_get(db, users.e[i].k, &u);

		if ((users.e[i].n > 0) != (rc == OA_DB_OK))
			fail("user %s: %s (reported %d)", users.e[i].k,
			    oa_db_strerror(rc), users.e[i].n);
		oa_db_user_free(u);
		u = NULL;
	}
	for (size_t i = 0; i < subj.n; i++) {
		char *uid = NULL;

		if (oa_db_identity_get(db, "dev", subj.e[i].k, &uid) !=
		    OA_DB_OK || strcmp(uid, subj.e[i].v) != 0)
			fail("identity %s lost", subj.e[i].k);
		free(uid);
	}
	for (size_t i = 0; i < cache.n; i++) {
		char *body = NULL;

		if (oa_db_cache_get(db, cache.e[i].k, &body, NULL, NULL) !=
		    OA_DB_OK || atoi(body) != cache.e[i].n)
			fail("cache %s: %s, want %d", cache.e[i].k,
			    body ? body : "(none)", cache.e[i].n);
		free(body);
	}
	for (size_t i = 0; i < states.n; i++)
		if (oa_db_state_consume(db, states.e[i].k, T0 + 600, T0) !=
		    OA_DB_ALREADY)
			fail("state %s forgotten", states.e[i].k);
	for (size_t i = 0; i < toks.n; i++) {
		struct oa_db_refresh_result res;

		memset(&res, 0, sizeof(res));
		if (oa_db_refresh_rotate(db, toks.e[i].k, &rp, &res) !=
		    OA_DB_OK || res.sibling)
			fail("last refresh token of a worker is not live");
		oa_db_refresh_result_wipe(&res);
	}
	if (oa_db_check(db, &rep) != OA_DB_OK)
		fail("check: %zu problems", rep.problems);
	printf("mixed: %zu users, %zu identities, %zu sessions, %zu refresh "
	    "tokens, %zu codes, %zu states, %zu cache; %zu shared codes "
	    "taken, %zu states consumed\n", rep.users, rep.identities,
	    rep.sessions, rep.refresh_tokens, rep.codes, rep.states,
	    rep.cache, codes.n, states.n);
	oa_db_close(db);
	free(text);
	free(pids);
	set_free(&users);
	set_free(&subj);
	set_free(&codes);
	set_free(&states);
	set_free(&cache);
	set_free(&toks);
	return failures ? 1 : 0;
}

/* ---- race ---------------------------------------------------------------- */

struct outcome {
	int rc, sibling, reuse;
	time_t now;
	char token[64];
};

/* Child: open, report ready, wait at the barrier, rotate, report. */
static int
race_child(const char *dir, const char *tok, time_t now, int ready,
    int barrier, int out)
{
	struct oa_db *db = open_or_die(dir);
	struct oa_db_refresh_params rp = { now, WINDOW, 100000, 1000000 };
	struct oa_db_refresh_result res;
	enum oa_db_rc rc;
	char c;

	if (write(ready, "r", 1) != 1)
		return 1;
	if (read(barrier, &c, 1) != 1)
		return 1;
	memset(&res, 0, sizeof(res));
	rc = oa_db_refresh_rotate(db, tok, &rp, &res);
	say(out, "%d %d %d %ld %s\n", (int)rc, res.sibling,
	    res.reuse_detected, (long)now, res.token ? res.token : "-");
	oa_db_refresh_result_wipe(&res);
	oa_db_close(db);
	return 0;
}

/* Rotates tok at now (in this process), returning the new token. */
static char *
rot1(struct oa_db *db, const char *tok, time_t now, enum oa_db_rc *rcp)
{
	struct oa_db_refresh_params rp = { now, WINDOW, 100000, 1000000 };
	struct oa_db_refresh_result res;
	char *t = NULL;

	memset(&res, 0, sizeof(res));
	*rcp = oa_db_refresh_rotate(db, tok, &rp, &res);
	if (*rcp == OA_DB_OK) {
		t = res.token;
		res.token = NULL;
	}
	oa_db_refresh_result_wipe(&res);
	return t;
}

static int
mode_race(const char *dir, int n, const char *mode)
{
	struct oa_db *db;
	struct oa_db_user in;
	struct oa_db_session_params sp;
	struct oa_db_session *s = NULL;
	struct outcome *o;
	char *sid = NULL, *tok = NULL, *child = NULL, *grand = NULL, *text;
	char *line, *save = NULL;
	pid_t *pids;
	int ready[2], barrier[2], out[2], nok = 0, nsib = 0, nreuse = 0, k;
	time_t base = T0 + 1000;
	enum oa_db_rc rc;

	db = open_or_die(dir);
	memset(&in, 0, sizeof(in));
	in.id = "race-user";
	rc = oa_db_user_add(db, &in, T0, NULL);
	if (rc != OA_DB_OK && rc != OA_DB_EXISTS)
		fail("setup user: %s", oa_db_strerror(rc));
	memset(&sp, 0, sizeof(sp));
	sp.user = "race-user";
	sp.client = "web";
	sp.now = T0;
	sp.session_ttl = 1000000;
	sp.idle_ttl = 100000;
	if (oa_db_session_new(db, &sp, &sid, &tok) != OA_DB_OK) {
		fail("setup session");
		return 1;
	}
	if (strcmp(mode, "outside") == 0) {
		/* Used long before the race: every presentation is reuse. */
		child = rot1(db, tok, base - 100, &rc);
	} else if (strcmp(mode, "generation") == 0) {
		/* tok -> child -> grand: tok is an older generation. */
		child = rot1(db, tok, base - 2, &rc);
		grand = rot1(db, child, base - 1, &rc);
		if (grand == NULL)
			fail("setup generation");
	}
	oa_db_close(db);

	if (pipe(ready) != 0 || pipe(barrier) != 0 || pipe(out) != 0)
		return 1;
	pids = calloc((size_t)n, sizeof(*pids));
	o = calloc((size_t)n, sizeof(*o));
	if (pids == NULL || o == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		time_t now = base;

		if (strcmp(mode, "mixed") == 0 && i % 2 == 1)
			now = base + WINDOW + 1;
		if ((pids[i] = fork()) == 0) {
			close(ready[0]);
			close(barrier[1]);
			close(out[0]);
			_exit(race_child(dir, tok, now, ready[1], barrier[0],
			    out[1]));
		}
	}
	close(ready[1]);
	close(barrier[0]);
	close(out[1]);
	/* Everybody has opened the environment: release them at once. */
	for (int i = 0; i < n; i++) {
		char c;

		if (read(ready[0], &c, 1) != 1) {
			fail("a racer died before the barrier");
			break;
		}
	}
	{
		char go[256];

		memset(go, 'g', sizeof(go));
		if (write(barrier[1], go, (size_t)n) != n)
			fail("barrier");
	}
	close(barrier[1]);
	text = slurp(out[0]);
	if (reap(pids, n))
		fail("racers failed");
	k = 0;
	for (line = strtok_r(text, "\n", &save); line != NULL && k < n;
	    line = strtok_r(NULL, "\n", &save), k++) {
		long now;

		if (sscanf(line, "%d %d %d %ld %63s", &o[k].rc, &o[k].sibling,
		    &o[k].reuse, &now, o[k].token) != 5)
			fail("bad racer line: %s", line);
		o[k].now = (time_t)now;
		nok += o[k].rc == OA_DB_OK;
		nsib += o[k].rc == OA_DB_OK && o[k].sibling;
		nreuse += o[k].reuse;
		if (o[k].rc != OA_DB_OK && o[k].rc != OA_DB_INVALID)
			fail("racer got %s", oa_db_strerror(o[k].rc));
	}
	if (k != n)
		fail("%d of %d racers reported", k, n);
	for (int i = 0; i < k; i++)
		for (int j = i + 1; j < k; j++)
			if (o[i].rc == OA_DB_OK && o[j].rc == OA_DB_OK &&
			    strcmp(o[i].token, o[j].token) == 0)
				fail("two racers got the same token");

	db = open_or_die(dir);
	if (oa_db_session_get(db, sid, &s) != OA_DB_OK)
		fail("session gone");
	printf("race %s: %d racers, %d OK (%d siblings), %d reuse, "
	    "session %s\n", mode, n, nok, nsib, nreuse,
	    s && s->revoked ? "revoked" : "live");

	if (strcmp(mode, "window") == 0) {
		/* All inside the window of the first use: one child and
		 * n - 1 siblings, nothing revoked, every token live. */
		if (nok != n || nsib != n - 1 || nreuse != 0 || s->revoked)
			fail("window race: want %d OK, %d siblings", n, n - 1);
		for (int i = 0; i < k; i++) {
			char *t = rot1(db, o[i].token, base + 5, &rc);

			if (rc != OA_DB_OK)
				fail("racer %d's token is not live", i);
			oa_secret_free(t);
		}
	} else if (strcmp(mode, "outside") == 0 ||
	    strcmp(mode, "generation") == 0) {
		/* Every presentation is reuse: the first one revokes the
		 * family, the others find it revoked. */
		if (nok != 0 || nreuse != 1 || !s->revoked)
			fail("%s race: want 0 OK, 1 reuse, revoked", mode);
		char *t = rot1(db, grand ? grand : child, base + 1, &rc);

		if (rc != OA_DB_INVALID)
			fail("a descendant survived the revocation");
		oa_secret_free(t);
	} else {
		/* Half at base, half after the window. Serially: the first
		 * committer F uses the token at its now f; a later one at n
		 * gets a sibling iff n - f <= WINDOW, else revokes (and all
		 * later ones fail). So: either F was a late one and all
		 * succeed, or F was early, the early ones before the first
		 * late one succeed, one late one detects reuse, and the
		 * rest fail. */
		int late_ok = 0, early_ok = 0;

		for (int i = 0; i < k; i++) {
			if (o[i].rc != OA_DB_OK)
				continue;
			if (o[i].now > base)
				late_ok++;
			else
				early_ok++;
		}
		if (nok == n) {
			if (nreuse != 0 || s->revoked)
				fail("mixed: all OK yet revoked");
			/* The first use was by a late racer. */
			if (late_ok == 0)
				fail("mixed: all OK without a late first use");
		} else {
			if (nreuse != 1 || !s->revoked || late_ok != 0 ||
			    early_ok < 1)
				fail("mixed: %d OK (%d early, %d late), %d "
				    "reuse: not a serial outcome", nok,
				    early_ok, late_ok, nreuse);
			for (int i = 0; i < k; i++) {
				char *t;

				if (o[i].rc != OA_DB_OK)
					continue;
				t = rot1(db, o[i].token, base + 20, &rc);
				if (rc != OA_DB_INVALID)
					fail("mixed: a token of the revoked "
					    "family works");
				oa_secret_free(t);
			}
		}
	}
	oa_db_session_free(s);
	oa_db_close(db);
	oa_secret_free(tok);
	oa_secret_free(child);
	oa_secret_free(grand);
	free(sid);
	free(text);
	free(pids);
	free(o);
	return failures ? 1 : 0;
}

/* ---- crash --------------------------------------------------------------- */

/* A writer that reports every id after its commit returned. */
static int
crash_worker(const char *dir, int gen, int out)
{
	struct oa_db *db;
	struct oa_db_user in;
	struct oa_db_session_params sp;
	char id[64], *sid = NULL, *tok = NULL;
	enum oa_db_rc rc;

	oa_db_set_watchdog(5);
	db = open_or_die(dir);
	say(out, "O %d\n", gen);
	for (int i = 0;; i++) {
		memset(&in, 0, sizeof(in));
		snprintf(id, sizeof(id), "k%d-%d", gen, i);
		in.id = id;
		in.email = "crash@example.com";
		in.email_verified = 1;
		in.claims = "{\"n\":1}";
		rc = oa_db_user_add(db, &in, T0, NULL);
		if (rc != OA_DB_OK) {
			say(out, "E %d %s\n", gen, oa_db_strerror(rc));
			return 1;
		}
		say(out, "U %s\n", id);
		memset(&sp, 0, sizeof(sp));
		sp.user = id;
		sp.client = "web";
		sp.now = T0;
		sp.session_ttl = 1000;
		sp.idle_ttl = 100;
		rc = oa_db_session_new(db, &sp, &sid, &tok);
		if (rc != OA_DB_OK) {
			say(out, "E %d %s\n", gen, oa_db_strerror(rc));
			return 1;
		}
		say(out, "S %s\n", sid);
		free(sid);
		oa_secret_free(tok);
		sid = tok = NULL;
	}
}

struct worker {
	pid_t pid;
	int fd;
	int gen;
	double last;      /* last progress */
	int commits;      /* commits reported */
	char buf[4096];
	size_t len;
};

static int
mode_crash(const char *dir, int kills, int nworkers)
{
	struct worker *w = calloc((size_t)nworkers, sizeof(*w));
	struct pollfd *pfd = calloc((size_t)nworkers, sizeof(*pfd));
	struct set ids = { 0 }, sids = { 0 };
	struct oa_db *db;
	struct oa_db_user *u = NULL;
	struct oa_db_session *s = NULL;
	struct oa_db_report rep;
	int gen = 0, done = 0, watchdog_exits = 0, errors = 0, opened = 0;
	uint32_t r = 777;
	double t0 = now_s(), next_kill;
	const double deadline = 20.0;

	if (w == NULL || pfd == NULL)
		return 1;
	/* The database exists before the first kill. */
	db = open_or_die(dir);
	oa_db_close(db);

	for (int i = 0; i < nworkers; i++)
		w[i].pid = -1;
	next_kill = now_s() + 0.05;
	while (done < kills || gen == 0) {
		double t = now_s();

		/* Keep every slot busy. */
		for (int i = 0; i < nworkers; i++) {
			int fds[2];

			if (w[i].pid != -1)
				continue;
			if (pipe(fds) != 0)
				return 1;
			w[i].gen = gen++;
			if ((w[i].pid = fork()) == 0) {
				close(fds[0]);
				_exit(crash_worker(dir, w[i].gen, fds[1]));
			}
			close(fds[1]);
			w[i].fd = fds[0];
			w[i].last = now_s();
			w[i].len = 0;
			w[i].commits = 0;
		}
		for (int i = 0; i < nworkers; i++) {
			pfd[i].fd = w[i].fd;
			pfd[i].events = POLLIN;
		}
		(void)poll(pfd, (nfds_t)nworkers, 5);
		for (int i = 0; i < nworkers; i++) {
			ssize_t n;
			char *nl;

			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(w[i].fd, w[i].buf + w[i].len,
			    sizeof(w[i].buf) - w[i].len - 1);
			if (n > 0) {
				w[i].len += (size_t)n;
				w[i].last = now_s();
			}
			w[i].buf[w[i].len] = '\0';
			while ((nl = strchr(w[i].buf, '\n')) != NULL) {
				char a[128], b[128];
				int g;

				*nl = '\0';
				if (sscanf(w[i].buf, "U %127s", a) == 1) {
					set_get(&ids, a, 1);
					w[i].commits++;
				} else if (sscanf(w[i].buf, "S %127s", a) == 1) {
					set_get(&sids, a, 1);
					w[i].commits++;
				} else if (sscanf(w[i].buf, "O %d", &g) == 1)
					opened++;
				else if (sscanf(w[i].buf, "E %d %127[^\n]",
				    &g, b) == 2) {
					fail("worker %d: %s", g, b);
					errors++;
				}
				w[i].len -= (size_t)(nl + 1 - w[i].buf);
				memmove(w[i].buf, nl + 1, w[i].len + 1);
			}
			if (n == 0) {
				/* The worker ended on its own: reap it. */
				int st;

				waitpid(w[i].pid, &st, 0);
				if (WIFEXITED(st) && WEXITSTATUS(st) == 75)
					watchdog_exits++;
				else
					fail("worker gen %d exited (%d)",
					    w[i].gen, st);
				close(w[i].fd);
				w[i].pid = -1;
			}
		}
		t = now_s();
		for (int i = 0; i < nworkers; i++)
			if (w[i].pid != -1 && t - w[i].last > deadline) {
				fail("worker gen %d made no progress for %.0f "
				    "s: blocked", w[i].gen, deadline);
				kill(w[i].pid, SIGKILL);
				w[i].last = t;
			}
		if (t >= next_kill && done < kills) {
			int i;

			r = r * 1103515245u + 12345u;
			i = (int)((r >> 8) % (uint32_t)nworkers);
			/* Three kills in four hit a worker that is in its
			 * write loop (it has committed), so mid-transaction;
			 * the others may hit one that is opening or
			 * recovering. */
			if (w[i].pid != -1 && w[i].commits == 0 &&
			    (r >> 20) % 4 != 0)
				i = -1;
			if (i >= 0 && w[i].pid != -1) {
				kill(w[i].pid, SIGKILL);
				waitpid(w[i].pid, NULL, 0);
				/* Whatever it printed before dying counts. */
				for (;;) {
					char a[128];
					ssize_t n = read(w[i].fd,
					    w[i].buf + w[i].len,
					    sizeof(w[i].buf) - w[i].len - 1);
					char *nl;

					if (n <= 0)
						break;
					w[i].len += (size_t)n;
					w[i].buf[w[i].len] = '\0';
					while ((nl = strchr(w[i].buf, '\n'))) {
						*nl = '\0';
						if (sscanf(w[i].buf, "U %127s",
						    a) == 1)
							set_get(&ids, a, 1);
						else if (sscanf(w[i].buf,
						    "S %127s", a) == 1)
							set_get(&sids, a, 1);
						w[i].len -= (size_t)(nl + 1 -
						    w[i].buf);
						memmove(w[i].buf, nl + 1,
						    w[i].len + 1);
					}
				}
				close(w[i].fd);
				w[i].pid = -1;
				done++;
			}
			r = r * 1103515245u + 12345u;
			next_kill = now_s() + 0.005 + (r >> 8) % 60 / 1000.0;
		}
		if (errors > 10 || now_s() - t0 > 150) {
			fail("giving up");
			break;
		}
	}
	for (int i = 0; i < nworkers; i++)
		if (w[i].pid != -1) {
			kill(w[i].pid, SIGKILL);
			waitpid(w[i].pid, NULL, 0);
			close(w[i].fd);
		}
	printf("crash: %d kill -9, %d workers started (%d opened), %zu users "
	    "and %zu sessions committed, %d watchdog exits, %.1f s\n", done,
	    gen, opened, ids.n, sids.n, watchdog_exits, now_s() - t0);

	/* A fresh process recovers on its own and finds every commit. */
	db = open_or_die(dir);
	for (size_t i = 0; i < ids.n; i++) {
		if (oa_db_user_get(db, ids.e[i].k, &u) != OA_DB_OK)
			fail("committed user %s lost", ids.e[i].k);
		oa_db_user_free(u);
		u = NULL;
	}
	for (size_t i = 0; i < sids.n; i++) {
		if (oa_db_session_get(db, sids.e[i].k, &s) != OA_DB_OK)
			fail("committed session %s lost", sids.e[i].k);
		oa_db_session_free(s);
		s = NULL;
	}
	if (oa_db_check(db, &rep) != OA_DB_OK)
		fail("check after crashes: %zu problems", rep.problems);
	if (rep.users < ids.n)
		fail("check counts %zu users < %zu", rep.users, ids.n);
	oa_db_close(db);
	free(w);
	free(pfd);
	set_free(&ids);
	set_free(&sids);
	return failures ? 1 : 0;
}

/* ---- small modes -------------------------------------------------------------- */

static int
mode_populate(const char *dir, int n, int verify)
{
	struct oa_db *db = open_or_die(dir);
	struct oa_db_user in, *u = NULL;
	char id[64];
	enum oa_db_rc rc;

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "p-%d", i);
		if (verify) {
			if ((rc = oa_db_user_get(db, id, &u)) != OA_DB_OK)
				fail("user %s: %s", id, oa_db_strerror(rc));
			oa_db_user_free(u);
			u = NULL;
			continue;
		}
		memset(&in, 0, sizeof(in));
		in.id = id;
		in.name = "Populated";
		if ((rc = oa_db_user_add(db, &in, T0, NULL)) != OA_DB_OK)
			fail("add %s: %s", id, oa_db_strerror(rc));
	}
	oa_db_close(db);
	printf("%s %d users\n", verify ? "verified" : "added", n);
	return failures ? 1 : 0;
}

/* Writes 4 KiB cache entries until a write fails; the failure must be
 * OA_DB_FULL. Prints the number committed. */
static int
mode_fill(const char *dir, const char *countfile)
{
	struct oa_db *db = open_or_die(dir);
	char key[64], *body;
	enum oa_db_rc rc = OA_DB_OK;
	int i;

	if ((body = malloc(4096)) == NULL)
		return 1;
	for (i = 0; i < 100000; i++) {
		memset(body, 'a' + i % 26, 4096);
		snprintf(key, sizeof(key), "fill-%d", i);
		if ((rc = oa_db_cache_put(db, key, body, 4096,
		    T0 + 100000000)) != OA_DB_OK)
			break;
	}
	printf("fill: %d writes committed, then: %s\n", i,
	    oa_db_strerror(rc));
	if (rc != OA_DB_FULL)
		fail("fill ended with %s, want FULL", oa_db_strerror(rc));
	/* Further calls keep failing cleanly (never a hang or crash). */
	rc = oa_db_cache_put(db, "fill-more", body, 4096, T0);
	if (rc != OA_DB_FULL)
		fail("next write after full: %s", oa_db_strerror(rc));
	oa_db_close(db);
	free(body);
	{
		FILE *f;

		if ((f = fopen(countfile, "w")) != NULL) {
			fprintf(f, "%d\n", i);
			fclose(f);
		} else
			fail("%s: %s", countfile, strerror(errno));
	}
	return failures ? 1 : 0;
}

static int
mode_verify_fill(const char *dir, const char *countfile)
{
	struct oa_db *db;
	char key[64], *body = NULL;
	size_t len = 0;
	enum oa_db_rc rc;
	FILE *f;
	int n = -1;

	if ((f = fopen(countfile, "r")) == NULL || fscanf(f, "%d", &n) != 1) {
		fail("no count file");
		return 1;
	}
	fclose(f);
	db = open_or_die(dir);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "fill-%d", i);
		rc = oa_db_cache_get(db, key, &body, &len, NULL);
		if (rc != OA_DB_OK || len != 4096 || body[0] != 'a' + i % 26)
			fail("fill entry %d: %s", i, oa_db_strerror(rc));
		free(body);
		body = NULL;
	}
	if ((rc = oa_db_cache_put(db, "after-full", "x", 1, T0)) != OA_DB_OK)
		fail("write after freeing space: %s", oa_db_strerror(rc));
	oa_db_close(db);
	printf("verified %d fill entries; writes work again\n", n);
	return failures ? 1 : 0;
}

static int
rc_parse(const char *s)
{
	static const char *names[] = { "OK", "NOTFOUND", "EXISTS", "USED",
		"ALREADY", "INVALID", "DISABLED", "BADARG", "BUSY", "FULL",
		"READONLY", "CORRUPT", "VERSION", "ERROR" };

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Open, a read of every user and a write must give want (at the first
 * step that fails); never OK, never a crash. */
static int
mode_expect(const char *dir, const char *name)
{
	struct oa_db *db = NULL;
	struct oa_db_user in, **all = NULL;
	struct oa_db_report rep;
	size_t n = 0;
	enum oa_db_rc rc, want = (enum oa_db_rc)rc_parse(name);
	double t0 = now_s();

	if ((int)want < 0)
		return 2;
	rc = oa_db_open(dir, 1, &db);
	printf("expect %s: open: %s\n", name, oa_db_strerror(rc));
	if (rc == OA_DB_OK) {
		rc = oa_db_user_list(db, &all, &n);
		oa_db_user_list_free(all, n);
		printf("expect %s: list: %s\n", name, oa_db_strerror(rc));
		if (rc == OA_DB_OK) {
			memset(&in, 0, sizeof(in));
			rc = oa_db_user_add(db, &in, T0, NULL);
			printf("expect %s: write: %s\n", name,
			    oa_db_strerror(rc));
		}
		if (rc == want && want == OA_DB_CORRUPT) {
			enum oa_db_rc c = oa_db_check(db, &rep);

			printf("expect %s: check: %s\n", name,
			    oa_db_strerror(c));
			if (c != OA_DB_CORRUPT)
				fail("check says %s", oa_db_strerror(c));
		}
		oa_db_close(db);
	}
	if (rc != want)
		fail("got %s, want %s", oa_db_strerror(rc),
		    oa_db_strerror(want));
	if (now_s() - t0 > 30)
		fail("took %.0f s", now_s() - t0);
	return failures ? 1 : 0;
}

static int
mode_check(const char *dir)
{
	struct oa_db *db = open_or_die(dir);
	struct oa_db_report rep;
	enum oa_db_rc rc = oa_db_check(db, &rep);

	printf("check: %s: %zu users, %zu identities, %zu sessions, %zu "
	    "refresh tokens, %zu problems\n", oa_db_strerror(rc), rep.users,
	    rep.identities, rep.sessions, rep.refresh_tokens, rep.problems);
	oa_db_close(db);
	return rc == OA_DB_OK ? 0 : 1;
}

static int
mode_backup(const char *dir, const char *target)
{
	struct oa_db *db = open_or_die(dir);
	enum oa_db_rc rc = oa_db_backup(db, target);

	printf("backup: %s\n", oa_db_strerror(rc));
	oa_db_close(db);
	return rc == OA_DB_OK ? 0 : 1;
}

/* A writer for backup-live: reports each id after its commit. */
static int
live_writer(const char *dir, int w, int out)
{
	struct oa_db *db = open_or_die(dir);
	struct oa_db_user in;
	char id[64];
	enum oa_db_rc rc;

	for (int i = 0;; i++) {
		memset(&in, 0, sizeof(in));
		snprintf(id, sizeof(id), "bl-%d-%d", w, i);
		in.id = id;
		in.name = "Live";
		if ((rc = oa_db_user_add(db, &in, T0, NULL)) != OA_DB_OK) {
			say(out, "E %s\n", oa_db_strerror(rc));
			return 1;
		}
		say(out, "U %s\n", id);
	}
}

static int
mode_backup_live(const char *dir, const char *target)
{
	struct oa_db *db;
	struct oa_db_user *u = NULL;
	struct oa_db_report rep;
	struct set before = { 0 };
	pid_t pids[3];
	int fds[2], commits = 0;
	char buf[8192], *p, *nl;
	size_t len = 0;
	ssize_t n;
	enum oa_db_rc rc;

	db = open_or_die(dir);
	oa_db_close(db);
	if (pipe(fds) != 0)
		return 1;
	for (int w = 0; w < 3; w++)
		if ((pids[w] = fork()) == 0) {
			close(fds[0]);
			_exit(live_writer(dir, w, fds[1]));
		}
	close(fds[1]);
	/* Let them write a while; everything reported so far was
	 * committed before the backup starts. */
	while (commits < 300 && (n = read(fds[0], buf + len,
	    sizeof(buf) - len - 1)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		p = buf;
		while ((nl = strchr(p, '\n')) != NULL) {
			char a[128];

			*nl = '\0';
			if (sscanf(p, "U %127s", a) == 1) {
				set_get(&before, a, 1);
				commits++;
			} else
				fail("writer: %s", p);
			p = nl + 1;
		}
		len -= (size_t)(p - buf);
		memmove(buf, p, len);
	}
	db = open_or_die(dir);
	rc = oa_db_backup(db, target);
	oa_db_close(db);
	for (int w = 0; w < 3; w++)
		kill(pids[w], SIGKILL);
	/* Drain whatever came during the backup. */
	while (read(fds[0], buf, sizeof(buf)) > 0)
		;
	close(fds[0]);
	for (int w = 0; w < 3; w++)
		waitpid(pids[w], NULL, 0);
	if (rc != OA_DB_OK) {
		fail("backup: %s", oa_db_strerror(rc));
		return 1;
	}
	db = open_or_die(target);
	for (size_t i = 0; i < before.n; i++) {
		if (oa_db_user_get(db, before.e[i].k, &u) != OA_DB_OK)
			fail("backup lacks %s", before.e[i].k);
		oa_db_user_free(u);
		u = NULL;
	}
	if (oa_db_check(db, &rep) != OA_DB_OK)
		fail("check of the backup: %zu problems", rep.problems);
	printf("backup-live: %zu commits before the backup all in the copy "
	    "(%zu users in it)\n", before.n, rep.users);
	oa_db_close(db);
	set_free(&before);
	return failures ? 1 : 0;
}

/*
 * A process holds Berkeley DB's registry lock (byte 1 of __db.register,
 * as a process stuck in the middle of recovery would); a victim with a
 * 1 s watchdog opens, which blocks inside Berkeley DB: it must exit with
 * status 75 (and say why) within a few seconds, not hang, not return.
 */
static int
mode_watchdog(const char *dir)
{
	char path[512], c;
	struct flock fl;
	int go[2], ready[2], st, fd;
	pid_t holder, victim;
	double t0;

	oa_db_close(open_or_die(dir));
	snprintf(path, sizeof(path), "%s/__db.register", dir);
	if (pipe(go) != 0 || pipe(ready) != 0)
		return 1;
	if ((holder = fork()) == 0) {
		close(go[1]);
		close(ready[0]);
		if ((fd = open(path, O_RDWR)) == -1)
			_exit(1);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = 1;
		fl.l_len = 1;
		if (fcntl(fd, F_SETLK, &fl) != 0)
			_exit(1);
		(void)!write(ready[1], "r", 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("holder did not take the lock");
		return 1;
	}
	t0 = now_s();
	if ((victim = fork()) == 0) {
		struct oa_db *db = NULL;

		oa_log_set_level(OA_LOG_ERROR);
		oa_db_set_watchdog(1);
		(void)oa_db_open(dir, 1, &db);
		_exit(0);    /* returned: the watchdog did not fire */
	}
	if (waitpid(victim, &st, 0) != victim)
		return 1;
	(void)!write(go[1], "g", 1);
	waitpid(holder, NULL, 0);
	printf("watchdog: victim ended after %.1f s with status %d\n",
	    now_s() - t0, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 75)
		fail("want exit status 75");
	/* A liveness bound, not a speed test: the watchdog is 1 s, a hang
	 * is for ever; a loaded machine under ASan may take a few more. */
	if (now_s() - t0 > 60)
		fail("the watchdog took too long");
	return failures ? 1 : 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: dbstress mixed|race|crash|populate|verify|"
	    "fill|verify-fill|expect|check|backup|backup-live|watchdog DIR ...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *mode, *dir;

	oa_log_set_prog("dbstress");
	oa_log_set_level(getenv("DBSTRESS_DEBUG") ? OA_LOG_DEBUG :
	    OA_LOG_ERROR);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return usage();
	mode = argv[1];
	dir = argv[2];
	if (strcmp(mode, "mixed") == 0 && argc == 5)
		return mode_mixed(dir, atoi(argv[3]), atoi(argv[4]));
	if (strcmp(mode, "race") == 0 && argc == 5)
		return mode_race(dir, atoi(argv[3]), argv[4]);
	if (strcmp(mode, "crash") == 0 && argc == 5)
		return mode_crash(dir, atoi(argv[3]), atoi(argv[4]));
	if (strcmp(mode, "populate") == 0 && argc == 4)
		return mode_populate(dir, atoi(argv[3]), 0);
	if (strcmp(mode, "verify") == 0 && argc == 4)
		return mode_populate(dir, atoi(argv[3]), 1);
	if (strcmp(mode, "fill") == 0 && argc == 4)
		return mode_fill(dir, argv[3]);
	if (strcmp(mode, "verify-fill") == 0 && argc == 4)
		return mode_verify_fill(dir, argv[3]);
	if (strcmp(mode, "expect") == 0 && argc == 4)
		return mode_expect(dir, argv[3]);
	if (strcmp(mode, "check") == 0 && argc == 3)
		return mode_check(dir);
	if (strcmp(mode, "backup") == 0 && argc == 4)
		return mode_backup(dir, argv[3]);
	if (strcmp(mode, "watchdog") == 0 && argc == 3)
		return mode_watchdog(dir);
	if (strcmp(mode, "backup-live") == 0 && argc == 4)
		return mode_backup_live(dir, argv[3]);
	return usage();
}
