/*
 * db.c - the Berkeley DB environment of the store (SPEC §5): opening it
 * in data_dir, recovery after a crashed process, the transaction runner
 * (bounded retries, error classification), housekeeping, hot backup and
 * the consistency check. The records themselves live in store.c.
 *
 * Many short-lived CGI processes and long-lived FastCGI workers share one
 * environment, and any of them may be killed at any instant:
 *
 *  - Every open uses DB_REGISTER | DB_RECOVER: Berkeley DB keeps a
 *    registry of the processes using the environment (fcntl locks on
 *    __db.register) and runs recovery only when a registered process
 *    died without closing. Plain DB_RECOVER in every process would
 *    recover (rebuild the regions) under the feet of live processes.
 *    Recovery panics the old regions; live processes then get
 *    DB_RUNRECOVERY, and oa_db_txn closes and reopens the environment
 *    and runs the transaction again.
 *  - Recovery rebuilds the shared regions and replays the log: it must
 *    never overlap a Berkeley DB call of another process (measured: lost
 *    commits, SIGBUS and SIGSEGV in the survivors when it does). So every
 *    call runs under a shared lock and every environment open - where
 *    DB_REGISTER decides on, and runs, recovery - under an exclusive one
 *    (OFD locks on bytes of ownauth.lock; byte 0 is a gate that keeps a
 *    waiting opener from being starved by a stream of callers). A
 *    process that dies releases its locks with its descriptors.
 *    Berkeley DB 5.3 also recovers a panicked environment on open even
 *    without DB_RECOVER, so there is no cheaper shared open.
 *  - Transactions never wait for a lock (DB_TXN_NOWAIT): a conflict
 *    aborts and retries with randomised backoff until a deadline. A
 *    process killed inside a transaction leaves its locks behind until
 *    somebody recovers; so while conflicts persist the runner reopens the
 *    environment now and then, which lets DB_REGISTER notice the dead
 *    process and recover. (Berkeley DB 5.3 lock timeouts are only checked
 *    when some other thread blocks or runs the detector: a lone waiter
 *    behind a dead holder would wait for ever.)
 *  - A process killed while holding a latch (a pthread mutex inside the
 *    shared regions) leaves everybody that waits on that latch blocked
 *    for ever, recovery or not. A watchdog timer (SIGEV_THREAD) armed
 *    around every store call (and stopped during our own bounded lock
 *    waits) makes such a process log the fact and exit (status 75) after
 *    oa_db_set_watchdog seconds; its death then makes the next process
 *    recover. Nobody hangs.
 *  - Page checksums (DB_CHKSUM) turn a damaged page into a clean
 *    OA_DB_CORRUPT instead of undefined behaviour; Berkeley DB's
 *    messages (routed to oa_log) tell a full disk, a read-only file
 *    system and a damaged file apart.
 *  - Region files get their blocks reserved (fallocate, size kept), so
 *    that their growth never meets a full disk as SIGBUS.
 *  - Logs: 1 MiB files, a checkpoint every 2 MiB of log (a checkpoint
 *    writes every dirty page of the cache and syncs the database file:
 *    with random keys nearly every rotation dirties pages of its own,
 *    so frequent checkpoints cost the writers a file sync without
 *    saving writes; recovery replays at most a few MiB), and log files
 *    no longer needed for recovery are removed after writes, except
 *    while a backup runs (backup.lock), so they never grow for ever.
 *  - Closing does not write the cache to the database file (and sync
 *    it) while another process has the environment open: every commit
 *    is in the log, and that process either closes later - the last
 *    one to leave writes the cache and syncs the file - or dies
 *    registered, and then the next opener recovers from the log. Each
 *    process holds byte 2 of ownauth.lock shared exactly while it is
 *    registered (env open); a closer releases it and takes it
 *    exclusively: granted, it is the last and flushes; refused by a
 *    shared holder, it leaves the flush to that live process. So when
 *    nothing has the environment open, the database file alone holds
 *    every commit (a copy of it, or regions lost with a reboot, lose
 *    nothing), as before; a plain-CGI request next to a FastCGI
 *    worker saves a file sync.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_int.h"

#define OA_DB_CACHE      (2 * 1024 * 1024)   /* shared page cache */
#define OA_DB_LG_MAX     (1024 * 1024)       /* log file size */
#define OA_DB_CKP_KB     2048                /* checkpoint every ... */
#define OA_DB_REGION_RESERVE (OA_DB_CACHE + OA_DB_CACHE / 2)  /* bytes
                                                reserved per region file */
#define OA_DB_BUSY_MS    10000               /* lock-conflict deadline */
#define OA_DB_REOPEN_MS  1500                /* reopen after this much
                                                conflict (dead holder) */
#define OA_DB_RECOVERIES 3                   /* reopen attempts per call */
#define OA_DB_WD_EXIT    75                  /* watchdog exit status */
#define OA_DB_OPEN_MS    20000               /* wait for the exclusive
                                                open lock */
#define OA_DB_REG_FILE   "__db.register"
#define OA_DB_LOCK_FILE  "backup.lock"
#define OA_DB_ENV_LOCK   "ownauth.lock"
#define LK_GATE          0                   /* bytes of ownauth.lock */
#define LK_MAIN          1
#define LK_LIVE          2                   /* held shared while open */
#define OA_DB_LIVE_MS    2000                /* wait for a flushing closer */

static struct oa_db *handles;      /* open in this process */
static int atexit_set;

/* What Berkeley DB said during the current call (one thread per
 * process uses the store). */
static struct {
	int nospace, readonly, corrupt;
} seen;

/* The watchdog. */
static unsigned wd_seconds = 15;
/* Writers purge a little now and then (see maintain()). */
static int autopurge = 1;
static timer_t wd_timer;
static pid_t wd_pid;
static int wd_depth;

static uint64_t rng_state;

const char *
oa_db_strerror(enum oa_db_rc rc)
{
	switch (rc) {
	case OA_DB_OK:
		return "success";
	case OA_DB_NOTFOUND:
		return "not found";
	case OA_DB_EXISTS:
		return "already exists";
	case OA_DB_USED:
		return "authorization code already used";
	case OA_DB_ALREADY:
		return "login state already used";
	case OA_DB_INVALID:
		return "refresh token invalid";
	case OA_DB_DISABLED:
		return "user disabled";
	case OA_DB_BADARG:
		return "invalid value";
	case OA_DB_BUSY:
		return "database busy (lock conflicts did not clear)";
	case OA_DB_FULL:
		return "no space left on the database device";
	case OA_DB_READONLY:
		return "database directory is read-only or not accessible";
	case OA_DB_CORRUPT:
		return "database file is damaged or not an ownauth database";
	case OA_DB_VERSION:
		return "database written by another Berkeley DB or ownauth "
		    "version";
	case OA_DB_ERROR:
		return "database error";
	}
	return "unknown database error";
}

static uint64_t
rnd(void)
{
	if (rng_state == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng_state = ((uint64_t)getpid() << 32) ^
		    (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
		    (uint64_t)(uintptr_t)&rng_state;
		if (rng_state == 0)
			rng_state = 0x9e3779b97f4a7c15ULL;
	}
	/* xorshift64*: jitter and sampling only, never secrets. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_us(long us)
{
	struct timespec ts;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Randomised exponential backoff: 0.25 ms doubling up to 20 ms, +-50%. */
static void
backoff(int attempt)
{
	long base = 250L << (attempt < 7 ? attempt : 7);

	if (base > 20000)
		base = 20000;
	sleep_us(base / 2 + (long)(rnd() % (uint64_t)base));
}

/* ---- the environment lock --------------------------------------- */

static void wd_suspend(void);
static void wd_resume(void);

static int
lk_try(int fd, off_t byte, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	return fcntl(fd, F_OFD_SETLK, &fl);
}

/* Takes the lock, polling until the monotonic deadline; 0 or -1. */
static int
lk_wait(int fd, off_t byte, short type, long long deadline)
{
	long us = 50;
	int ret = -1;

	if (lk_try(fd, byte, type) == 0)
		return 0;
	/* A bounded wait of our own: not the watchdog's business. */
	wd_suspend();
	for (;;) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			break;
		if (mono_ms() >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
		sleep_us(us);
		if (us < 2000)
			us *= 2;
		if (lk_try(fd, byte, type) == 0) {
			ret = 0;
			break;
		}
	}
	wd_resume();
	return ret;
}

/* Enters a Berkeley DB call (shared; nests). 0, or -1 when an opener
 * held the lock past the deadline. */
static int
shared_enter(struct oa_db *db, long long deadline)
{
	if (db->shared++ > 0)
		return 0;
	if (lk_wait(db->lockfd, LK_GATE, F_RDLCK, deadline) == 0) {
		if (lk_wait(db->lockfd, LK_MAIN, F_RDLCK, deadline) == 0) {
			(void)lk_try(db->lockfd, LK_GATE, F_UNLCK);
			return 0;
		}
		(void)lk_try(db->lockfd, LK_GATE, F_UNLCK);
	}
	db->shared--;
	oa_log(OA_LOG_ERROR, "db: %s/%s: %s", db->dir, OA_DB_ENV_LOCK,
	    strerror(errno));
	return -1;
}

static void
shared_leave(struct oa_db *db)
{
	if (db->shared > 0 && --db->shared == 0)
		(void)lk_try(db->lockfd, LK_MAIN, F_UNLCK);
}

/* Waits until no other process is inside a Berkeley DB call and keeps
 * new ones out. 0 or -1. */
static int
excl_enter(struct oa_db *db)
{
	long long deadline = mono_ms() + OA_DB_OPEN_MS;

	if (lk_wait(db->lockfd, LK_GATE, F_WRLCK, deadline) == 0) {
		if (lk_wait(db->lockfd, LK_MAIN, F_WRLCK, deadline) == 0)
			return 0;
		(void)lk_try(db->lockfd, LK_GATE, F_UNLCK);
	}
	oa_log(OA_LOG_ERROR, "db: %s/%s: %s (a process stuck inside the "
	    "database?)", db->dir, OA_DB_ENV_LOCK, strerror(errno));
	return -1;
}

static void
excl_leave(struct oa_db *db)
{
	(void)lk_try(db->lockfd, LK_MAIN, F_UNLCK);
	(void)lk_try(db->lockfd, LK_GATE, F_UNLCK);
}

/* ---- messages and error classes ---------------------------------- */

static void
note(const char *msg)
{
	if (msg == NULL)
		return;
	if (strstr(msg, "No space left on device") != NULL ||
	    strstr(msg, "Disk quota exceeded") != NULL ||
	    strstr(msg, "File too large") != NULL)
		seen.nospace = 1;
	if (strstr(msg, "Read-only file system") != NULL ||
	    strstr(msg, "Permission denied") != NULL ||
	    strstr(msg, "Operation not permitted") != NULL)
		seen.readonly = 1;
	if (strstr(msg, "checksum") != NULL ||
	    strstr(msg, "unexpected file type or format") != NULL ||
	    strstr(msg, "illegal page type") != NULL ||
	    strstr(msg, "not a database") != NULL ||
	    strstr(msg, "Invalid page") != NULL ||
	    strstr(msg, "page number") != NULL ||
	    strstr(msg, "file size not a multiple of the pagesize") != NULL)
		seen.corrupt = 1;
}

static void
env_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	note(msg);
	oa_log(OA_LOG_WARN, "db: berkeley db: %s", msg);
}

static void
env_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	oa_log(OA_LOG_DEBUG, "db: berkeley db: %s", msg);
}

static void
db_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	env_errcall(env, pfx, msg);
}

/* Maps a Berkeley DB / errno error to a failure class. */
static enum oa_db_rc
classify(int ret)
{
	switch (ret) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return OA_DB_FULL;
	case EROFS:
	case EACCES:
	case EPERM:
		return OA_DB_READONLY;
	case DB_VERSION_MISMATCH:
	case DB_OLD_VERSION:
		return OA_DB_VERSION;
	case DB_VERIFY_BAD:
	case OA_ERR_CORRUPT:
		return OA_DB_CORRUPT;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		return OA_DB_BUSY;
	}
	if (seen.nospace)
		return OA_DB_FULL;
	if (seen.corrupt)
		return OA_DB_CORRUPT;
	if (seen.readonly)
		return OA_DB_READONLY;
	return OA_DB_ERROR;
}

static const char *
errstr(int ret)
{
	if (ret == OA_ERR_CORRUPT)
		return "a record does not decode";
	return db_strerror(ret);
}

/* ---- watchdog ------------------------------------------------------ */

void
oa_db_set_autopurge(int on)
{
	autopurge = on != 0;
}

void
oa_db_set_watchdog(unsigned seconds)
{
	wd_seconds = seconds;
}

static void
wd_fire(union sigval sv)
{
	(void)sv;
	oa_log(OA_LOG_ERROR, "db: a Berkeley DB call made no progress for "
	    "%u s (a process killed inside it holds a latch?); exiting so "
	    "that the next process recovers the database", wd_seconds);
	_exit(OA_DB_WD_EXIT);
}

static void
wd_arm(void)
{
	struct sigevent sev;
	struct itimerspec its;

	if (wd_depth++ > 0 || wd_seconds == 0)
		return;
	if (wd_pid != getpid()) {
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD;
		sev.sigev_notify_function = wd_fire;
		if (timer_create(CLOCK_MONOTONIC, &sev, &wd_timer) != 0) {
			oa_log(OA_LOG_WARN, "db: timer_create: %s (no "
			    "watchdog)", strerror(errno));
			return;
		}
		wd_pid = getpid();
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = wd_seconds;
	(void)timer_settime(wd_timer, 0, &its, NULL);
}

/* Stops the clock during a bounded wait; wd_resume starts it afresh. */
static void
wd_suspend(void)
{
	struct itimerspec its;

	if (wd_depth == 0 || wd_seconds == 0 || wd_pid != getpid())
		return;
	memset(&its, 0, sizeof(its));
	(void)timer_settime(wd_timer, 0, &its, NULL);
}

static void
wd_resume(void)
{
	struct itimerspec its;

	if (wd_depth == 0 || wd_seconds == 0 || wd_pid != getpid())
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = wd_seconds;
	(void)timer_settime(wd_timer, 0, &its, NULL);
}

static void
wd_disarm(void)
{
	struct itimerspec its;

	if (wd_depth == 0 || --wd_depth > 0)
		return;
	if (wd_pid != getpid())
		return;
	memset(&its, 0, sizeof(its));
	(void)timer_settime(wd_timer, 0, &its, NULL);
}

/* ---- environment ---------------------------------------------------- */

static int
path_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* After an open (registered in the environment): counts this process
 * as live (LK_LIVE shared). A closer holding it exclusively is flushing
 * for a moment; past the wait this process is not counted, which only
 * makes the others flush when they close. */
static void
live_enter(struct oa_db *db)
{
	if (db->live)
		return;
	db->live = lk_wait(db->lockfd, LK_LIVE, F_RDLCK,
	    mono_ms() + OA_DB_LIVE_MS) == 0;
}

/*
 * Before a close: stops counting this process as live and tells whether
 * the close may leave the cache unflushed (1): only when another
 * process holds LK_LIVE shared, i.e. is registered in the environment
 * and so will either flush when it closes or, dead, make the next
 * opener recover. 0: this process flushes; it holds LK_LIVE exclusively
 * when it is the last (live_done releases it).
 */
static int
live_leave(struct oa_db *db)
{
	struct flock fl;

	if (!db->live)
		return 0;
	db->live = 0;
	(void)lk_try(db->lockfd, LK_LIVE, F_UNLCK);
	if (lk_try(db->lockfd, LK_LIVE, F_WRLCK) == 0) {
		db->last = 1;
		return 0;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = LK_LIVE;
	fl.l_len = 1;
	/* A shared holder is live; an exclusive one is another closer
	 * that may have started its flush before our last commit. */
	return fcntl(db->lockfd, F_OFD_GETLK, &fl) == 0 &&
	    fl.l_type == F_RDLCK;
}

static void
live_done(struct oa_db *db)
{
	if (db->last)
		(void)lk_try(db->lockfd, LK_LIVE, F_UNLCK);
	db->last = 0;
}

/* Closes the handles (a panicked environment included); the next call
 * reopens. */
static void
env_close(struct oa_db *db)
{
	int locked, nosync;

	if (db->db == NULL && db->env == NULL)
		return;
	/* A close flushes pages: never while another process recovers.
	 * Past the deadline, close anyway rather than keep a handle that
	 * blocks DB_REGISTER's one-handle-per-process rule. */
	locked = shared_enter(db, mono_ms() + OA_DB_OPEN_MS) == 0;
	nosync = live_leave(db);
	if (db->db != NULL) {
		(void)db->db->close(db->db, nosync ? DB_NOSYNC : 0);
		db->db = NULL;
	}
	if (db->env != NULL) {
		if (db->sync == 0)
			(void)db->env->log_flush(db->env, NULL);
		(void)db->env->close(db->env, 0);
		db->env = NULL;
	}
	live_done(db);
	if (locked)
		shared_leave(db);
}

/* Maps an errno from our own file calls. */
static enum oa_db_rc
errno_rc(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return OA_DB_FULL;
	case EROFS:
	case EACCES:
	case EPERM:
		return OA_DB_READONLY;
	}
	return OA_DB_ERROR;
}

/*
 * Opens the environment and the database of db (db->env is NULL).
 * Lock conflicts while opening the database give OA_DB_BUSY, which the
 * runner retries.
 */
static enum oa_db_rc
env_open_locked(struct oa_db *db)
{
	DB_ENV *env = NULL;
	DB *d = NULL;
	DB_TXN *txn = NULL;
	enum oa_db_rc rc = OA_DB_ERROR, mrc;
	char path[PATH_MAX];
	mode_t old;
	int fd, ret;
	u_int32_t flags = DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_MPOOL | DB_INIT_TXN | DB_REGISTER | DB_RECOVER;

	/* Berkeley DB creates its registry 0660 whatever the mode: make
	 * it ours first (a new registry means recovery, as it would). No
	 * environment of this dir is open in this process here, so closing
	 * the descriptor drops none of Berkeley DB's fcntl locks. */
	if (path_join(path, sizeof(path), db->dir, OA_DB_REG_FILE) != 0)
		return OA_DB_ERROR;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		rc = errno_rc(errno);
		oa_log(OA_LOG_ERROR, "db: cannot open %s: %s (%s)", path,
		    strerror(errno), oa_db_strerror(rc));
		return rc;
	}
	close(fd);

	if ((ret = db_env_create(&env, 0)) != 0) {
		oa_log(OA_LOG_ERROR, "db: db_env_create: %s",
		    db_strerror(ret));
		return OA_DB_ERROR;
	}
	env->app_private = db;
	env->set_errcall(env, env_errcall);
	env->set_msgcall(env, env_msgcall);
	if ((ret = env->set_cachesize(env, 0, OA_DB_CACHE, 1)) != 0 ||
	    (ret = env->set_lg_max(env, OA_DB_LG_MAX)) != 0 ||
	    (ret = env->set_lg_filemode(env, 0600)) != 0 ||
	    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->set_timeout(env, 1000000,
	    DB_SET_LOCK_TIMEOUT)) != 0 ||
	    /* Nobody else is inside the environment while we recover:
	     * no need to wait for them to notice the panic. */
	    (ret = env->set_timeout(env, 1000, DB_SET_REG_TIMEOUT)) != 0 ||
	    (ret = env->set_flags(env, DB_TXN_NOSYNC, db->sync ? 0 : 1)) != 0)
		goto fail;
	old = umask(077);
	ret = env->open(env, db->dir, flags, 0600);
	umask(old);
	if (ret != 0)
		goto fail;

	/* The database and its format record, in one transaction. */
	for (int attempt = 0;; attempt++) {
		if ((ret = db_create(&d, env, 0)) != 0)
			goto fail;
		d->set_errcall(d, db_errcall);
		if ((ret = d->set_flags(d, DB_CHKSUM)) != 0)
			goto fail;
		/* Not durable: a lost open is simply done again. */
		if ((ret = env->txn_begin(env, NULL, &txn,
		    DB_TXN_NOWAIT | DB_TXN_NOSYNC)) != 0)
			goto fail;
		old = umask(077);
		ret = d->open(d, txn, OA_DB_FILE, NULL, DB_BTREE, DB_CREATE,
		    0600);
		umask(old);
		db->db = d;
		mrc = OA_DB_OK;
		if (ret == 0)
			ret = oa_store_meta(db, txn, &mrc);
		db->db = NULL;
		if (ret == 0 && mrc != OA_DB_OK) {
			(void)txn->abort(txn);
			txn = NULL;
			rc = mrc;
			oa_log(OA_LOG_ERROR, "db: %s/%s: %s", db->dir,
			    OA_DB_FILE, oa_db_strerror(rc));
			goto out;
		}
		if (ret == 0) {
			ret = txn->commit(txn, 0);
			txn = NULL;
			if (ret == 0)
				break;
			goto fail;
		}
		(void)txn->abort(txn);
		txn = NULL;
		(void)d->close(d, 0);
		d = NULL;
		if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
			goto fail;
		if (attempt >= 20) {
			rc = OA_DB_BUSY;
			goto out;
		}
		backoff(attempt);
	}
	db->env = env;
	db->db = d;
	return OA_DB_OK;

fail:
	rc = classify(ret);
	if (ret == EINVAL && seen.corrupt)
		rc = OA_DB_CORRUPT;
	oa_log(OA_LOG_ERROR, "db: cannot open the database in %s: %s (%s)",
	    db->dir, oa_db_strerror(rc), db_strerror(ret));
out:
	if (txn != NULL)
		(void)txn->abort(txn);
	if (d != NULL)
		(void)d->close(d, 0);
	(void)env->close(env, 0);
	return rc;
}

/*
 * The shared regions are mapped files that Berkeley DB grows by writing
 * their last page, leaving holes in between; on a full disk, touching a
 * hole is SIGBUS instead of an error. Reserve their blocks beyond the end
 * (the size does not change) once; a failure (disk already full) only
 * leaves the old risk.
 */
static void
reserve_regions(struct oa_db *db)
{
	char path[PATH_MAX], name[16];
	struct stat st;
	int fd;

	for (unsigned i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "__db.00%u", i);
		if (path_join(path, sizeof(path), db->dir, name) != 0)
			return;
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
			return;
		if (fstat(fd, &st) == 0 &&
		    (long long)st.st_blocks * 512 < OA_DB_REGION_RESERVE &&
		    fallocate(fd, FALLOC_FL_KEEP_SIZE, 0,
		    OA_DB_REGION_RESERVE) != 0)
			oa_log(OA_LOG_DEBUG, "db: fallocate %s: %s", path,
			    strerror(errno));
		close(fd);
	}
}

/* Opens with the exclusive lock held: DB_REGISTER may recover. */
static enum oa_db_rc
env_open(struct oa_db *db)
{
	enum oa_db_rc rc;

	if (excl_enter(db) != 0)
		return OA_DB_BUSY;
	rc = env_open_locked(db);
	if (rc == OA_DB_OK)
		reserve_regions(db);
	excl_leave(db);
	if (rc == OA_DB_OK)
		live_enter(db);
	return rc;
}

/* Removes log files that recovery no longer needs, unless a backup is
 * copying them (it holds backup.lock exclusively). */
static void
remove_logs(struct oa_db *db)
{
	char path[PATH_MAX];
	int fd, ret;

	if (path_join(path, sizeof(path), db->dir, OA_DB_LOCK_FILE) != 0)
		return;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		if ((ret = db->env->log_archive(db->env, NULL,
		    DB_ARCH_REMOVE)) != 0)
			oa_log(OA_LOG_WARN, "db: log_archive: %s",
			    db_strerror(ret));
	}
	close(fd);
}

struct purge_arg {
	time_t now;
	size_t removed;
};

static int
purge_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct purge_arg *a = arg;

	(void)rc;
	a->removed = 0;
	return oa_store_purge_batch(db, txn, a->now, 64, &a->removed);
}

/* After a write (shared lock held): a checkpoint when 256 KiB of log
 * piled up, and now and then log removal and a small purge. Failures
 * are logged, not returned: the write itself is committed. */
static void
maintain(struct oa_db *db, time_t now)
{
	uint64_t r = rnd();
	int ret;

	if (db->in_maint || db->env == NULL)
		return;
	db->in_maint = 1;
	if ((ret = db->env->txn_checkpoint(db->env, OA_DB_CKP_KB, 0, 0)) != 0)
		oa_log(OA_LOG_WARN, "db: checkpoint: %s", db_strerror(ret));
	if (db->env != NULL && r % 16 == 0)
		remove_logs(db);
	if (db->env != NULL && autopurge && now > 0 &&
	    (r >> 16) % 32 == 0) {
		struct purge_arg a = { now, 0 };
		DB_TXN *txn = NULL;
		enum oa_db_rc rc = OA_DB_OK;

		/* One try, no retries: the next writer purges. */
		if ((ret = db->env->txn_begin(db->env, NULL, &txn,
		    DB_TXN_NOWAIT)) == 0) {
			if ((ret = purge_fn(db, txn, &a, &rc)) == 0)
				ret = txn->commit(txn, 0);
			else
				(void)txn->abort(txn);
		}
		if (ret != 0 && ret != DB_LOCK_DEADLOCK &&
		    ret != DB_LOCK_NOTGRANTED)
			oa_log(OA_LOG_WARN, "db: purge: %s", errstr(ret));
	}
	db->in_maint = 0;
}

enum oa_db_rc
oa_db_txn(struct oa_db *db, const char *what, int flags, time_t now,
    oa_db_txn_fn fn, void *arg)
{
	DB_TXN *txn;
	enum oa_db_rc rc, result = OA_DB_ERROR;
	long long start, last_open;
	int attempt, recoveries = 0, committed = 0, ret, t, close = 0;

	if (db == NULL)
		return OA_DB_BADARG;
	if (db->pid != getpid()) {
		oa_log(OA_LOG_ERROR, "db: %s: handle opened by process %ld "
		    "used in process %ld", what, (long)db->pid,
		    (long)getpid());
		return OA_DB_ERROR;
	}
	wd_arm();
	start = last_open = mono_ms();
	for (attempt = 0;; attempt++) {
		memset(&seen, 0, sizeof(seen));
		if (db->env == NULL) {
			last_open = mono_ms();
			result = env_open(db);
			if (result == OA_DB_BUSY &&
			    mono_ms() - start < OA_DB_BUSY_MS) {
				backoff(attempt);
				continue;
			}
			if (result != OA_DB_OK)
				break;
		}
		if (shared_enter(db, start + OA_DB_BUSY_MS) != 0) {
			result = OA_DB_BUSY;
			break;
		}
		rc = OA_DB_OK;
		txn = NULL;
		if ((ret = db->env->txn_begin(db->env, NULL, &txn,
		    DB_TXN_NOWAIT)) == 0) {
			ret = fn(db, txn, arg, &rc);
			if (ret == 0) {
				ret = txn->commit(txn, 0);
				if (ret == 0 && (flags & OA_TXN_WRITE))
					maintain(db, now);
				shared_leave(db);
				if (ret == 0) {
					committed = 1;
					result = rc;
					break;
				}
				/* The commit's fate is unknown: never run
				 * the body again. */
				result = classify(ret);
				oa_log(OA_LOG_ERROR, "db: %s: commit: %s (%s)",
				    what, oa_db_strerror(result),
				    db_strerror(ret));
				env_close(db);
				break;
			}
			t = txn->abort(txn);
			if (ret == OA_TXN_ABORT) {
				shared_leave(db);
				result = rc;
				if (t != 0)
					env_close(db);
				break;
			}
		}
		shared_leave(db);
		if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED) {
			long long now_ms = mono_ms();

			if (now_ms - start >= OA_DB_BUSY_MS) {
				result = OA_DB_BUSY;
				oa_log(OA_LOG_ERROR, "db: %s: %s after %d "
				    "attempts", what, oa_db_strerror(result),
				    attempt + 1);
				break;
			}
			/* A holder killed mid-transaction keeps its locks
			 * until somebody recovers: reopening lets
			 * DB_REGISTER find it dead. */
			if (now_ms - last_open >= OA_DB_REOPEN_MS)
				env_close(db);
			backoff(attempt);
			continue;
		}
		if (ret == DB_RUNRECOVERY && !seen.corrupt && !seen.nospace &&
		    recoveries++ < OA_DB_RECOVERIES) {
			oa_log(OA_LOG_INFO, "db: %s: the environment needs "
			    "recovery; reopening", what);
			env_close(db);
			continue;
		}
		result = classify(ret);
		oa_log(OA_LOG_ERROR, "db: %s: %s (%s)", what,
		    oa_db_strerror(result), errstr(ret));
		close = ret != OA_ERR_CORRUPT && ret != ENOMEM;
		if (close)
			env_close(db);
		break;
	}
	(void)committed;
	wd_disarm();
	return result;
}

static void
close_all(void)
{
	struct oa_db *db, *next;

	for (db = handles; db != NULL; db = next) {
		next = db->next;
		if (db->pid == getpid()) {
			db->refs = 1;
			oa_db_close(db);
		}
	}
}

enum oa_db_rc
oa_db_open(const char *dir, int sync, struct oa_db **out)
{
	struct oa_db *db = NULL;
	struct stat st;
	char *abs = NULL, path[PATH_MAX];
	enum oa_db_rc rc;

	if (dir == NULL || *dir == '\0' || out == NULL)
		return OA_DB_BADARG;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		rc = errno_rc(errno);
		oa_log(OA_LOG_ERROR, "db: cannot create %s: %s", dir,
		    strerror(errno));
		return rc;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		oa_log(OA_LOG_ERROR, "db: %s is not a directory", dir);
		return OA_DB_ERROR;
	}
	if (st.st_mode & 077)
		oa_log(OA_LOG_WARN, "db: %s is accessible to group or others "
		    "(mode %03o); chmod 700 it", dir,
		    (unsigned)(st.st_mode & 0777));
	if ((abs = realpath(dir, NULL)) == NULL) {
		oa_log(OA_LOG_ERROR, "db: realpath %s: %s", dir,
		    strerror(errno));
		return errno_rc(errno);
	}
	for (db = handles; db != NULL; db = db->next) {
		if (db->pid == getpid() && strcmp(db->dir, abs) == 0) {
			free(abs);
			db->refs++;
			if (sync && !db->sync && db->env != NULL) {
				db->sync = 1;
				(void)db->env->set_flags(db->env,
				    DB_TXN_NOSYNC, 0);
			}
			db->sync |= sync != 0;
			*out = db;
			return OA_DB_OK;
		}
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		free(abs);
		oa_log(OA_LOG_ERROR, "db: out of memory");
		return OA_DB_ERROR;
	}
	db->dir = abs;
	db->sync = sync != 0;
	db->pid = getpid();
	db->refs = 1;
	if (path_join(path, sizeof(path), abs, OA_DB_ENV_LOCK) != 0 ||
	    (db->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		rc = errno_rc(errno);
		oa_log(OA_LOG_ERROR, "db: cannot open %s: %s (%s)", path,
		    strerror(errno), oa_db_strerror(rc));
		free(db->dir);
		free(db);
		return rc;
	}
	memset(&seen, 0, sizeof(seen));
	wd_arm();
	for (int attempt = 0;; attempt++) {
		rc = env_open(db);
		if (rc != OA_DB_BUSY || attempt >= 40)
			break;
		backoff(attempt);
	}
	wd_disarm();
	if (rc != OA_DB_OK) {
		close(db->lockfd);
		free(db->dir);
		free(db);
		return rc;
	}
	db->next = handles;
	handles = db;
	if (!atexit_set && atexit(close_all) == 0)
		atexit_set = 1;
	*out = db;
	return OA_DB_OK;
}

void
oa_db_close(struct oa_db *db)
{
	struct oa_db **pp;

	if (db == NULL || --db->refs > 0)
		return;
	for (pp = &handles; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == db) {
			*pp = db->next;
			break;
		}
	}
	if (db->pid == getpid()) {
		wd_arm();
		env_close(db);
		wd_disarm();
		close(db->lockfd);
	}
	free(db->dir);
	free(db);
}

/* ---- backup and check ---------------------------------------------- */

static int
noop_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	(void)db;
	(void)txn;
	(void)arg;
	(void)rc;
	return 0;
}

/* Makes every file of dir 0600 (Berkeley DB's backup and recovery
 * create some with its own modes). */
static void
chmod_files(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (path_join(path, sizeof(path), dir, e->d_name) == 0)
			(void)chmod(path, 0600);
	}
	closedir(d);
}

/* Removes the files of dir and dir itself (one level: a backup). */
static void
remove_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			if (path_join(path, sizeof(path), dir,
			    e->d_name) == 0)
				(void)unlink(path);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

static int
dir_is_empty(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int empty = 1;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Catastrophic recovery of a backup copy in a private environment (no
 * region files left behind), then Berkeley DB's verify of its file. */
static enum oa_db_rc
recover_and_verify(const char *dir)
{
	DB_ENV *env = NULL;
	DB *d = NULL;
	char path[PATH_MAX];
	enum oa_db_rc rc;
	int ret, t;

	if (path_join(path, sizeof(path), dir, OA_DB_FILE) != 0)
		return OA_DB_ERROR;
	if ((ret = db_env_create(&env, 0)) != 0)
		goto fail;
	env->set_errcall(env, env_errcall);
	env->set_msgcall(env, env_msgcall);
	ret = env->set_cachesize(env, 0, OA_DB_CACHE, 1);
	if (ret == 0)
		ret = env->set_lg_filemode(env, 0600);
	if (ret == 0)
		ret = env->open(env, dir, DB_CREATE | DB_INIT_LOCK |
		    DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_TXN | DB_PRIVATE |
		    DB_RECOVER_FATAL, 0600);
	if (ret == 0)
		ret = env->txn_checkpoint(env, 0, 0, DB_FORCE);
	t = env->close(env, 0);
	if (ret == 0)
		ret = t;
	if (ret != 0)
		goto fail;
	if ((ret = db_create(&d, NULL, 0)) != 0)
		goto fail;
	d->set_errcall(d, db_errcall);
	/* verify destroys the handle, whatever it returns. */
	if ((ret = d->verify(d, path, NULL, NULL, 0)) != 0)
		goto fail;
	return OA_DB_OK;
fail:
	rc = classify(ret);
	if (ret == EINVAL && seen.corrupt)
		rc = OA_DB_CORRUPT;
	oa_log(OA_LOG_ERROR, "db: the copy in %s: %s (%s)", dir,
	    oa_db_strerror(rc), db_strerror(ret));
	return rc;
}

/* Hot backup of db into the existing, empty directory dir. */
static enum oa_db_rc
backup_into(struct oa_db *db, const char *dir)
{
	char path[PATH_MAX];
	enum oa_db_rc rc;
	long long start;
	int fd = -1, ret;

	if ((rc = oa_db_txn(db, "backup", 0, 0, noop_fn, NULL)) != OA_DB_OK)
		return rc;
	if (path_join(path, sizeof(path), db->dir, OA_DB_LOCK_FILE) != 0)
		return OA_DB_ERROR;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		rc = errno_rc(errno);
		oa_log(OA_LOG_ERROR, "db: %s: %s", path, strerror(errno));
		return rc;
	}
	/* Log removal holds the lock shared for a moment at most. */
	start = mono_ms();
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (mono_ms() - start > OA_DB_BUSY_MS) {
			close(fd);
			oa_log(OA_LOG_ERROR, "db: backup: %s is locked (another "
			    "backup running?)", path);
			return OA_DB_BUSY;
		}
		sleep_us(10000);
	}
	memset(&seen, 0, sizeof(seen));
	if (db->env == NULL || shared_enter(db, mono_ms() +
	    OA_DB_BUSY_MS) != 0) {
		close(fd);
		return OA_DB_BUSY;
	}
	ret = db->env->txn_checkpoint(db->env, 0, 0, DB_FORCE);
	if (ret == 0)
		ret = db->env->backup(db->env, dir, 0);
	shared_leave(db);
	close(fd);
	if (ret != 0) {
		rc = classify(ret);
		oa_log(OA_LOG_ERROR, "db: backup into %s: %s (%s)", dir,
		    oa_db_strerror(rc), db_strerror(ret));
		if (ret == DB_RUNRECOVERY)
			env_close(db);
		return rc;
	}
	if ((rc = recover_and_verify(dir)) != OA_DB_OK)
		return rc;
	chmod_files(dir);
	return OA_DB_OK;
}

enum oa_db_rc
oa_db_backup(struct oa_db *db, const char *dir)
{
	struct stat st;

	if (db == NULL || dir == NULL || *dir == '\0')
		return OA_DB_BADARG;
	if (mkdir(dir, 0700) == -1) {
		if (errno != EEXIST) {
			oa_log(OA_LOG_ERROR, "db: backup: cannot create %s: %s",
			    dir, strerror(errno));
			return errno_rc(errno);
		}
		if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    !dir_is_empty(dir)) {
			oa_log(OA_LOG_ERROR, "db: backup: %s exists and is not "
			    "an empty directory", dir);
			return OA_DB_EXISTS;
		}
		(void)chmod(dir, 0700);
	}
	return backup_into(db, dir);
}

enum oa_db_rc
oa_db_check(struct oa_db *db, struct oa_db_report *rep)
{
	struct oa_db_report r;
	char tmp[PATH_MAX], path[PATH_MAX];
	enum oa_db_rc rc;
	DB *d = NULL;
	int ret;

	memset(&r, 0, sizeof(r));
	if (db == NULL)
		return OA_DB_BADARG;
	if (snprintf(tmp, sizeof(tmp), "%s/check.XXXXXX", db->dir) >=
	    (int)sizeof(tmp))
		return OA_DB_ERROR;
	if (mkdtemp(tmp) == NULL) {
		oa_log(OA_LOG_ERROR, "db: check: mkdtemp %s: %s", tmp,
		    strerror(errno));
		return errno_rc(errno);
	}
	if ((rc = backup_into(db, tmp)) != OA_DB_OK)
		goto out;
	memset(&seen, 0, sizeof(seen));
	if (path_join(path, sizeof(path), tmp, OA_DB_FILE) != 0) {
		rc = OA_DB_ERROR;
		goto out;
	}
	if ((ret = db_create(&d, NULL, 0)) == 0) {
		d->set_errcall(d, db_errcall);
		ret = d->open(d, NULL, path, NULL, DB_BTREE, DB_RDONLY, 0);
	}
	if (ret == 0)
		ret = oa_store_walk(d, &r);
	if (ret != 0) {
		rc = classify(ret);
		oa_log(OA_LOG_ERROR, "db: check: %s (%s)", oa_db_strerror(rc),
		    errstr(ret));
		goto out;
	}
	rc = r.problems > 0 ? OA_DB_CORRUPT : OA_DB_OK;
out:
	if (d != NULL)
		(void)d->close(d, 0);
	remove_dir(tmp);
	if (rep != NULL)
		*rep = r;
	return rc;
}
