/*
 * store.c - the records of the store (SPEC §5) and the operations on
 * them; each operation is one transaction run by oa_db_txn (db.c).
 *
 * One Berkeley DB btree holds every record; the first byte of a key says
 * what it is:
 *
 *   M name                        meta ("Mformat": format version)
 *   U uid                         user
 *   D uid                         a deleted user's id (never reused)
 *   I provider \0 subject         identity -> uid
 *   i uid \0 provider \0 subject  a user's identities (index)
 *   E email \0 uid                verified, case-normalised email (index)
 *   C sha256(code)                authorization code
 *   S sid                         session (refresh-token family)
 *   s uid \0 sid                  a user's sessions (index)
 *   R sha256(token)               refresh token
 *   r sid \0 sha256(token)        a session's tokens (index)
 *   L sha256(state)               consumed login state
 *   K name                        cached upstream document
 *   X expires key                 expiry index: when to purge key
 *
 * Values are [tag][format version] and then fields: u8, u64 big-endian,
 * strings as a u32 length (0xffffffff: absent) and bytes, raw 32-byte
 * hashes. Decoding is strict (exact length, no NUL inside a string); a
 * record that does not decode is OA_DB_CORRUPT, never a guess. Codes,
 * refresh tokens and login states exist here only as SHA-256 hashes.
 *
 * Reads of records that a transaction may rewrite use DB_RMW (write
 * locks at once), so racing transactions serialise instead of
 * deadlocking on lock upgrades.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "db_int.h"

#define REC_VERSION   1
#define KEY_MAX       1200
#define ID_MAX        64
#define PROVIDER_MAX  64
#define SUBJECT_MAX   255
#define EMAIL_MAX     320
#define NAME_MAX_LEN  512
#define URL_MAX       4096
#define CLIENT_MAX    128
#define NONCE_MAX     1024
#define CLAIMS_MAX    16384
#define CACHE_KEY_MAX 512
#define CACHE_BODY_MAX (1024 * 1024)
#define SECRET_MAX    4096
#define CACHE_GRACE   86400   /* stale cache kept a day after expiry */
#define HASH_LEN      32
#define NO_STR        0xffffffffU

/* ---- keys ------------------------------------------------------------ */

struct key {
	uint8_t b[KEY_MAX];
	size_t n;
	int bad;
};

static void
put_be64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void
k_start(struct key *k, char tag)
{
	k->n = 1;
	k->bad = 0;
	k->b[0] = (uint8_t)tag;
}

static void
k_raw(struct key *k, const void *p, size_t n)
{
	if (k->bad || n > KEY_MAX - k->n) {
		k->bad = 1;
		return;
	}
	memcpy(k->b + k->n, p, n);
	k->n += n;
}

static void
k_str(struct key *k, const char *s)
{
	k_raw(k, s, strlen(s));
}

static void
k_sep(struct key *k)
{
	k_raw(k, "", 1);
}

static void
k_u64(struct key *k, uint64_t v)
{
	uint8_t b[8];

	put_be64(b, v);
	k_raw(k, b, 8);
}

/* The key of a secret: tag + SHA-256(secret). */
static void
k_hash(struct key *k, char tag, const char *secret)
{
	uint8_t h[HASH_LEN];

	k_start(k, tag);
	oa_sha256(secret, strlen(secret), h);
	k_raw(k, h, HASH_LEN);
	OPENSSL_cleanse(h, sizeof(h));
}

static uint64_t
t64(time_t t)
{
	return t < 0 ? 0 : (uint64_t)t;
}

/* ---- values ---------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	int bad;
};

static void
w_raw(struct wbuf *w, const void *d, size_t n)
{
	if (w->bad)
		return;
	if (n > w->cap - w->n) {
		size_t cap = w->cap ? w->cap : 128;
		uint8_t *p;

		while (cap - w->n < n) {
			if (cap > (SIZE_MAX >> 1)) {
				w->bad = 1;
				return;
			}
			cap <<= 1;
		}
		if ((p = realloc(w->p, cap)) == NULL) {
			w->bad = 1;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->n, d, n);
	w->n += n;
}

static void
w_u8(struct wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;

	w_raw(w, &b, 1);
}

static void
w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	w_raw(w, b, 4);
}

static void
w_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];

	put_be64(b, v);
	w_raw(w, b, 8);
}

static void
w_mem(struct wbuf *w, const void *d, size_t n)
{
	if (n >= NO_STR) {
		w->bad = 1;
		return;
	}
	w_u32(w, (uint32_t)n);
	w_raw(w, d, n);
}

static void
w_str(struct wbuf *w, const char *s)
{
	if (s == NULL)
		w_u32(w, NO_STR);
	else
		w_mem(w, s, strlen(s));
}

static void
w_start(struct wbuf *w, char tag)
{
	w->n = 0;
	w->bad = 0;
	w_u8(w, (unsigned char)tag);
	w_u8(w, REC_VERSION);
}

static void
w_free(struct wbuf *w)
{
	free(w->p);
	w->p = NULL;
	w->n = w->cap = 0;
}

struct rbuf {
	const uint8_t *p;
	size_t n, off;
	int bad, nomem;
};

static void
r_start(struct rbuf *r, const DBT *v, char tag)
{
	r->p = v->data;
	r->n = v->size;
	r->off = 2;
	r->bad = r->nomem = 0;
	if (r->n < 2 || r->p[0] != (uint8_t)tag || r->p[1] != REC_VERSION)
		r->bad = 1;
}

static const uint8_t *
r_take(struct rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->n - r->off) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static unsigned
r_u8(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 1);

	return p ? *p : 0;
}

static uint32_t
r_u32(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3] : 0;
}

static uint64_t
r_u64(struct rbuf *r)
{
	const uint8_t *p = r_take(r, 8);

	return p ? get_be64(p) : 0;
}

static time_t
r_time(struct rbuf *r)
{
	uint64_t v = r_u64(r);

	if (v > (uint64_t)INT64_MAX) {
		r->bad = 1;
		return 0;
	}
	return (time_t)v;
}

/* A flag byte: 0 or 1. */
static int
r_flag(struct rbuf *r)
{
	unsigned v = r_u8(r);

	if (v > 1)
		r->bad = 1;
	return (int)v;
}

/* Bytes with a length; *len gets it. NULL for absent (or on error). */
static char *
r_mem(struct rbuf *r, size_t *len, int text)
{
	uint32_t n = r_u32(r);
	const uint8_t *p;
	char *s;

	if (r->bad || n == NO_STR)
		return NULL;
	if ((p = r_take(r, n)) == NULL)
		return NULL;
	if (text && memchr(p, 0, n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->nomem = 1;
		r->bad = 1;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}

static char *
r_str(struct rbuf *r)
{
	return r_mem(r, NULL, 1);
}

/* A required string: absent is an error. */
static char *
r_need(struct rbuf *r)
{
	char *s = r_str(r);

	if (s == NULL)
		r->bad = 1;
	return s;
}

static void
r_fixed(struct rbuf *r, uint8_t *out, size_t n)
{
	const uint8_t *p = r_take(r, n);

	if (p != NULL)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

/* 0 when the record decoded exactly, else OA_ERR_CORRUPT / ENOMEM. */
static int
r_end(struct rbuf *r)
{
	if (r->nomem)
		return ENOMEM;
	if (r->bad || r->off != r->n)
		return OA_ERR_CORRUPT;
	return 0;
}

/* ---- database helpers --------------------------------------------- */

static void
dbt_key(DBT *d, const struct key *k)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)k->b;
	d->size = (u_int32_t)k->n;
}

static int
kv_get(struct oa_db *db, DB_TXN *txn, const struct key *k, DBT *v,
    u_int32_t flags)
{
	DBT key;

	if (k->bad)
		return EINVAL;
	dbt_key(&key, k);
	memset(v, 0, sizeof(*v));
	return db->db->get(db->db, txn, &key, v, flags);
}

static int
kv_put(struct oa_db *db, DB_TXN *txn, const struct key *k,
    const struct wbuf *w)
{
	DBT key, val;

	if (k->bad)
		return EINVAL;
	if (w->bad)
		return ENOMEM;
	dbt_key(&key, k);
	memset(&val, 0, sizeof(val));
	val.data = w->p;
	val.size = (u_int32_t)w->n;
	return db->db->put(db->db, txn, &key, &val, 0);
}

/* Deletes k; a missing key is fine. */
static int
kv_del(struct oa_db *db, DB_TXN *txn, const struct key *k)
{
	DBT key;
	int ret;

	if (k->bad)
		return EINVAL;
	dbt_key(&key, k);
	ret = db->db->del(db->db, txn, &key, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* Puts an empty index record (tag only) under k. */
static int
kv_put_mark(struct oa_db *db, DB_TXN *txn, const struct key *k, char tag)
{
	struct wbuf w = { 0 };
	int ret;

	w_start(&w, tag);
	ret = kv_put(db, txn, k, &w);
	w_free(&w);
	return ret;
}

/* The expiry index entry of k. */
static void
x_key(struct key *x, uint64_t when, const struct key *k)
{
	k_start(x, 'X');
	k_u64(x, when);
	k_raw(x, k->b, k->n);
}

static int
x_put(struct oa_db *db, DB_TXN *txn, uint64_t when, const struct key *k)
{
	struct key x;

	x_key(&x, when, k);
	return kv_put_mark(db, txn, &x, 'X');
}

static int
x_del(struct oa_db *db, DB_TXN *txn, uint64_t when, const struct key *k)
{
	struct key x;

	x_key(&x, when, k);
	return kv_del(db, txn, &x);
}

/* A list of keys, collected before changing what a cursor walks. */
struct keylist {
	struct key *v;
	size_t n, cap;
};

static void
keylist_free(struct keylist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/*
 * Calls each() for every record whose key starts with prefix, in key
 * order; stops early when each() returns non-zero (returned, except
 * OA_TXN_ABORT which ends the walk as success). The key and value are
 * valid during the call only. flags: cursor flags (DB_READ_COMMITTED
 * for listings, DB_RMW to lock for writing).
 */
static int
scan(struct oa_db *db, DB_TXN *txn, const struct key *prefix,
    u_int32_t cflags, u_int32_t gflags,
    int (*each)(const DBT *k, const DBT *v, void *arg), void *arg)
{
	DBC *c = NULL;
	DBT key, val;
	int ret, t;

	if (prefix->bad)
		return EINVAL;
	if ((ret = db->db->cursor(db->db, txn, &c, cflags)) != 0)
		return ret;
	dbt_key(&key, prefix);
	memset(&val, 0, sizeof(val));
	ret = c->get(c, &key, &val, DB_SET_RANGE | gflags);
	while (ret == 0) {
		if (key.size < prefix->n ||
		    memcmp(key.data, prefix->b, prefix->n) != 0)
			break;
		if ((ret = each(&key, &val, arg)) != 0)
			break;
		memset(&key, 0, sizeof(key));
		memset(&val, 0, sizeof(val));
		ret = c->get(c, &key, &val, DB_NEXT | gflags);
	}
	if (ret == DB_NOTFOUND || ret == OA_TXN_ABORT)
		ret = 0;
	t = c->close(c);
	return ret != 0 ? ret : t;
}

static int
collect_each(const DBT *k, const DBT *v, void *arg)
{
	struct keylist *l = arg;
	struct key *nv;

	(void)v;
	if (k->size > KEY_MAX)
		return OA_ERR_CORRUPT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	memcpy(l->v[l->n].b, k->data, k->size);
	l->v[l->n].n = k->size;
	l->v[l->n].bad = 0;
	l->n++;
	return 0;
}

/* Collects the keys that start with prefix (locked for writing). */
static int
collect(struct oa_db *db, DB_TXN *txn, const struct key *prefix,
    struct keylist *l)
{
	return scan(db, txn, prefix, 0, DB_RMW, collect_each, l);
}

/* ---- validation ------------------------------------------------------ */

/* Printable ASCII without space, 1..max: ids, sids. */
static int
valid_id(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

static int
valid_provider(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > PROVIDER_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
}

/* Text without control bytes, at most max bytes; NULL allowed when
 * opt. */
static int
valid_text(const char *s, size_t max, int opt)
{
	size_t n;

	if (s == NULL)
		return opt;
	if ((n = strlen(s)) > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
valid_secret(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= SECRET_MAX;
}

/* Lower-cases ASCII letters (SPEC §2.2: case-normalised emails). */
static void
email_norm(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ?
		    (char)(in[i] - 'A' + 'a') : in[i];
	out[i] = '\0';
}

/* Claims: a JSON object (NULL for none); *canon gets the compact text or
 * NULL for an empty object. 0, or -1 when not an object. */
static int
claims_canon(const char *json, char **canon)
{
	cJSON *o;

	*canon = NULL;
	if (json == NULL)
		return 0;
	if (strlen(json) > CLAIMS_MAX ||
	    (o = cJSON_ParseWithLength(json, strlen(json))) == NULL)
		return -1;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	if (o->child != NULL && (*canon = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_Delete(o);
	return 0;
}

static int
valid_user_fields(const struct oa_db_user *u)
{
	return valid_text(u->email, EMAIL_MAX, 1) &&
	    valid_text(u->name, NAME_MAX_LEN, 1) &&
	    valid_text(u->picture, URL_MAX, 1);
}

/* ---- records ----------------------------------------------------------- */

void
oa_db_user_free(struct oa_db_user *u)
{
	if (u == NULL)
		return;
	free(u->id);
	free(u->email);
	free(u->name);
	free(u->picture);
	free(u->claims);
	free(u);
}

void
oa_db_user_list_free(struct oa_db_user **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		oa_db_user_free(v[i]);
	free(v);
}

static void
user_encode(struct wbuf *w, const struct oa_db_user *u)
{
	w_start(w, 'U');
	w_str(w, u->email);
	w_u8(w, u->email_verified != 0);
	w_str(w, u->name);
	w_str(w, u->picture);
	w_u8(w, u->disabled != 0);
	w_str(w, u->claims);
	w_u64(w, t64(u->created));
	w_u64(w, t64(u->last_login));
}

/* Decodes the user record v of id into *out. */
static int
user_decode(const DBT *v, const char *id, size_t idlen,
    struct oa_db_user **out)
{
	struct oa_db_user *u;
	struct rbuf r;
	int ret;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return ENOMEM;
	r_start(&r, v, 'U');
	u->email = r_str(&r);
	u->email_verified = r_flag(&r);
	u->name = r_str(&r);
	u->picture = r_str(&r);
	u->disabled = r_flag(&r);
	u->claims = r_str(&r);
	u->created = r_time(&r);
	u->last_login = r_time(&r);
	if ((ret = r_end(&r)) == 0 && (u->id = strndup(id, idlen)) == NULL)
		ret = ENOMEM;
	if (ret == 0 && (!valid_id(u->id, ID_MAX) || strlen(u->id) != idlen))
		ret = OA_ERR_CORRUPT;
	if (ret != 0) {
		if (ret == OA_ERR_CORRUPT)
			oa_log(OA_LOG_WARN, "db: user record does not decode");
		oa_db_user_free(u);
		return ret;
	}
	*out = u;
	return 0;
}

static void
user_key(struct key *k, const char *id)
{
	k_start(k, 'U');
	k_str(k, id);
}

/* Reads user id (DB_RMW when flags say so); DB_NOTFOUND when absent. */
static int
user_read(struct oa_db *db, DB_TXN *txn, const char *id, u_int32_t flags,
    struct oa_db_user **out)
{
	struct key k;
	DBT v;
	int ret;

	user_key(&k, id);
	if ((ret = kv_get(db, txn, &k, &v, flags)) != 0)
		return ret;
	return user_decode(&v, id, strlen(id), out);
}

static int
user_write(struct oa_db *db, DB_TXN *txn, const struct oa_db_user *u)
{
	struct key k;
	struct wbuf w = { 0 };
	int ret;

	user_key(&k, u->id);
	user_encode(&w, u);
	ret = kv_put(db, txn, &k, &w);
	w_free(&w);
	return ret;
}

static void
email_key(struct key *k, const char *email, const char *uid)
{
	char norm[EMAIL_MAX + 1];

	email_norm(email, norm, sizeof(norm));
	k_start(k, 'E');
	k_str(k, norm);
	k_sep(k);
	k_str(k, uid);
}

/* Keeps the email index in step when a user's email changes. */
static int
email_index(struct oa_db *db, DB_TXN *txn, const char *uid,
    const char *old, int old_verified, const char *new, int new_verified,
    time_t created)
{
	struct key k;
	struct wbuf w = { 0 };
	int ret = 0;
	char a[EMAIL_MAX + 1], b[EMAIL_MAX + 1];

	if (old != NULL && old_verified) {
		if (new != NULL && new_verified) {
			email_norm(old, a, sizeof(a));
			email_norm(new, b, sizeof(b));
			if (strcmp(a, b) == 0)
				return 0;
		}
		email_key(&k, old, uid);
		if ((ret = kv_del(db, txn, &k)) != 0)
			return ret;
	}
	if (new != NULL && new_verified && *new != '\0') {
		email_key(&k, new, uid);
		w_start(&w, 'E');
		w_u64(&w, t64(created));
		ret = kv_put(db, txn, &k, &w);
		w_free(&w);
	}
	return ret;
}

/* ---- meta -------------------------------------------------------------- */

int
oa_store_meta(struct oa_db *db, DB_TXN *txn, enum oa_db_rc *rc)
{
	struct key k;
	struct wbuf w = { 0 };
	struct rbuf r;
	uint64_t v;
	DBT val;
	int ret;

	k_start(&k, 'M');
	k_str(&k, "format");
	ret = kv_get(db, txn, &k, &val, 0);
	if (ret == DB_NOTFOUND)
		ret = kv_get(db, txn, &k, &val, DB_RMW);
	if (ret == DB_NOTFOUND) {
		w_start(&w, 'M');
		w_u64(&w, OA_DB_FORMAT);
		ret = kv_put(db, txn, &k, &w);
		w_free(&w);
		return ret;
	}
	if (ret != 0)
		return ret;
	r_start(&r, &val, 'M');
	v = r_u64(&r);
	if (r_end(&r) != 0)
		*rc = OA_DB_CORRUPT;
	else if (v != OA_DB_FORMAT)
		*rc = OA_DB_VERSION;
	return 0;
}

/* ---- users ------------------------------------------------------------- */

struct user_get_arg {
	const char *id;
	struct oa_db_user *out;
};

static int
user_get_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct user_get_arg *a = arg;
	int ret;

	oa_db_user_free(a->out);
	a->out = NULL;
	ret = user_read(db, txn, a->id, 0, &a->out);
	if (ret == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return 0;
	}
	return ret;
}

enum oa_db_rc
oa_db_user_get(struct oa_db *db, const char *id, struct oa_db_user **out)
{
	struct user_get_arg a = { id, NULL };
	enum oa_db_rc rc;

	if (!valid_id(id, ID_MAX) || out == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "user get", 0, 0, user_get_fn, &a);
	if (rc == OA_DB_OK)
		*out = a.out;
	else
		oa_db_user_free(a.out);
	return rc;
}

/* Generates a fresh id: prefix + 22 base64url characters. */
static char *
new_id(const char *prefix)
{
	char *tok, *id = NULL;

	if ((tok = oa_random_token(16)) == NULL)
		return NULL;
	if (asprintf(&id, "%s%s", prefix, tok) == -1)
		id = NULL;
	oa_secret_free(tok);
	return id;
}

/* DB_KEYEXIST when id is taken or was taken (tombstone). */
static int
id_taken(struct oa_db *db, DB_TXN *txn, const char *id)
{
	struct key k;
	DBT v;
	int ret;

	user_key(&k, id);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) != DB_NOTFOUND)
		return ret == 0 ? DB_KEYEXIST : ret;
	k_start(&k, 'D');
	k_str(&k, id);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) != DB_NOTFOUND)
		return ret == 0 ? DB_KEYEXIST : ret;
	return 0;
}

/* Creates user u (u->id set, created set) with its email index. */
static int
user_create(struct oa_db *db, DB_TXN *txn, const struct oa_db_user *u)
{
	int ret;

	if ((ret = user_write(db, txn, u)) != 0)
		return ret;
	return email_index(db, txn, u->id, NULL, 0, u->email,
	    u->email_verified, u->created);
}

struct user_add_arg {
	const struct oa_db_user *in;
	const char *claims;
	time_t now;
	char *id;
};

static int
user_add_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct user_add_arg *a = arg;
	struct oa_db_user u;
	int ret;

	free(a->id);
	a->id = NULL;
	for (int tries = 0;; tries++) {
		if (a->in->id != NULL)
			a->id = strdup(a->in->id);
		else
			a->id = new_id("u_");
		if (a->id == NULL)
			return ENOMEM;
		ret = id_taken(db, txn, a->id);
		if (ret != DB_KEYEXIST)
			break;
		if (a->in->id != NULL || tries >= 3) {
			*rc = OA_DB_EXISTS;
			return OA_TXN_ABORT;
		}
		free(a->id);
		a->id = NULL;
	}
	if (ret != 0)
		return ret;
	u = *a->in;
	u.id = a->id;
	u.claims = (char *)a->claims;
	u.created = a->now;
	u.last_login = 0;
	return user_create(db, txn, &u);
}

enum oa_db_rc
oa_db_user_add(struct oa_db *db, const struct oa_db_user *u, time_t now,
    char **id_out)
{
	struct user_add_arg a = { u, NULL, now, NULL };
	char *claims = NULL;
	enum oa_db_rc rc;

	if (u == NULL || (u->id != NULL && !valid_id(u->id, ID_MAX)) ||
	    !valid_user_fields(u) || claims_canon(u->claims, &claims) != 0)
		return OA_DB_BADARG;
	a.claims = claims;
	rc = oa_db_txn(db, "user add", OA_TXN_WRITE, now, user_add_fn, &a);
	free(claims);
	if (rc == OA_DB_OK && id_out != NULL) {
		*id_out = a.id;
		a.id = NULL;
	}
	free(a.id);
	return rc;
}

struct user_set_arg {
	const char *id;
	int which;           /* 0: disabled, 1: claims */
	int disabled;
	const char *claims;
};

static int
user_set_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct user_set_arg *a = arg;
	struct oa_db_user *u = NULL;
	char *old;
	int ret;

	if ((ret = user_read(db, txn, a->id, DB_RMW, &u)) != 0) {
		if (ret == DB_NOTFOUND) {
			*rc = OA_DB_NOTFOUND;
			return OA_TXN_ABORT;
		}
		return ret;
	}
	if (a->which == 0) {
		u->disabled = a->disabled;
		ret = user_write(db, txn, u);
	} else {
		old = u->claims;
		u->claims = (char *)a->claims;
		ret = user_write(db, txn, u);
		u->claims = old;
	}
	oa_db_user_free(u);
	return ret;
}

enum oa_db_rc
oa_db_user_set_disabled(struct oa_db *db, const char *id, int disabled)
{
	struct user_set_arg a = { id, 0, disabled != 0, NULL };

	if (!valid_id(id, ID_MAX))
		return OA_DB_BADARG;
	return oa_db_txn(db, "user disable", OA_TXN_WRITE, 0, user_set_fn,
	    &a);
}

enum oa_db_rc
oa_db_user_set_claims(struct oa_db *db, const char *id, const char *json)
{
	struct user_set_arg a = { id, 1, 0, NULL };
	char *claims = NULL;
	enum oa_db_rc rc;

	if (!valid_id(id, ID_MAX) || claims_canon(json, &claims) != 0)
		return OA_DB_BADARG;
	a.claims = claims;
	rc = oa_db_txn(db, "user claims", OA_TXN_WRITE, 0, user_set_fn, &a);
	free(claims);
	return rc;
}

/* ---- sessions and tokens: deletion ------------------------------------ */

struct oa_token {
	char *sid;
	uint8_t parent[HASH_LEN];
	int has_parent;
	time_t created;
	time_t first_used;   /* 0: unused */
	time_t expires;      /* purge time: created + idle, capped */
};

struct oa_sess {
	char *user;
	char *client;
	time_t created, expires, auth_time, last_refresh;
	int revoked;
	uint8_t newest[HASH_LEN];
};

static void
token_clear(struct oa_token *t)
{
	free(t->sid);
	memset(t, 0, sizeof(*t));
}

static void
sess_clear(struct oa_sess *s)
{
	free(s->user);
	free(s->client);
	memset(s, 0, sizeof(*s));
}

static void
token_encode(struct wbuf *w, const struct oa_token *t)
{
	w_start(w, 'R');
	w_str(w, t->sid);
	w_u8(w, t->has_parent != 0);
	w_raw(w, t->parent, HASH_LEN);
	w_u64(w, t64(t->created));
	w_u64(w, t64(t->first_used));
	w_u64(w, t64(t->expires));
}

static int
token_decode(const DBT *v, struct oa_token *t)
{
	struct rbuf r;
	int ret;

	memset(t, 0, sizeof(*t));
	r_start(&r, v, 'R');
	t->sid = r_need(&r);
	t->has_parent = r_flag(&r);
	r_fixed(&r, t->parent, HASH_LEN);
	t->created = r_time(&r);
	t->first_used = r_time(&r);
	t->expires = r_time(&r);
	if ((ret = r_end(&r)) == 0 && !valid_id(t->sid, ID_MAX))
		ret = OA_ERR_CORRUPT;
	if (ret != 0) {
		if (ret == OA_ERR_CORRUPT)
			oa_log(OA_LOG_WARN, "db: refresh token record does "
			    "not decode");
		token_clear(t);
	}
	return ret;
}

static void
sess_encode(struct wbuf *w, const struct oa_sess *s)
{
	w_start(w, 'S');
	w_str(w, s->user);
	w_str(w, s->client);
	w_u64(w, t64(s->created));
	w_u64(w, t64(s->expires));
	w_u64(w, t64(s->auth_time));
	w_u64(w, t64(s->last_refresh));
	w_u8(w, s->revoked != 0);
	w_raw(w, s->newest, HASH_LEN);
}

static int
sess_decode(const DBT *v, struct oa_sess *s)
{
	struct rbuf r;
	int ret;

	memset(s, 0, sizeof(*s));
	r_start(&r, v, 'S');
	s->user = r_need(&r);
	s->client = r_need(&r);
	s->created = r_time(&r);
	s->expires = r_time(&r);
	s->auth_time = r_time(&r);
	s->last_refresh = r_time(&r);
	s->revoked = r_flag(&r);
	r_fixed(&r, s->newest, HASH_LEN);
	if ((ret = r_end(&r)) == 0 && !valid_id(s->user, ID_MAX))
		ret = OA_ERR_CORRUPT;
	if (ret != 0) {
		if (ret == OA_ERR_CORRUPT)
			oa_log(OA_LOG_WARN, "db: session record does not "
			    "decode");
		sess_clear(s);
	}
	return ret;
}

static void
sess_key(struct key *k, const char *sid)
{
	k_start(k, 'S');
	k_str(k, sid);
}

static int
sess_read(struct oa_db *db, DB_TXN *txn, const char *sid, u_int32_t flags,
    struct oa_sess *s)
{
	struct key k;
	DBT v;
	int ret;

	sess_key(&k, sid);
	if ((ret = kv_get(db, txn, &k, &v, flags)) != 0)
		return ret;
	return sess_decode(&v, s);
}

static int
sess_write(struct oa_db *db, DB_TXN *txn, const char *sid,
    const struct oa_sess *s)
{
	struct key k;
	struct wbuf w = { 0 };
	int ret;

	sess_key(&k, sid);
	sess_encode(&w, s);
	ret = kv_put(db, txn, &k, &w);
	w_free(&w);
	return ret;
}

static void
token_key(struct key *k, const uint8_t h[HASH_LEN])
{
	k_start(k, 'R');
	k_raw(k, h, HASH_LEN);
}

static void
family_key(struct key *k, const char *sid, const uint8_t *h)
{
	k_start(k, 'r');
	k_str(k, sid);
	k_sep(k);
	if (h != NULL)
		k_raw(k, h, HASH_LEN);
}

static void
user_sess_key(struct key *k, const char *uid, const char *sid)
{
	k_start(k, 's');
	k_str(k, uid);
	k_sep(k);
	if (sid != NULL)
		k_str(k, sid);
}

/* Deletes refresh token h with its index and expiry entries. */
static int
token_delete(struct oa_db *db, DB_TXN *txn, const uint8_t h[HASH_LEN])
{
	struct oa_token t;
	struct key k, f;
	DBT v;
	int ret;

	token_key(&k, h);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) != 0)
		return ret == DB_NOTFOUND ? 0 : ret;
	if ((ret = token_decode(&v, &t)) != 0)
		return ret;
	family_key(&f, t.sid, h);
	if ((ret = kv_del(db, txn, &f)) == 0 &&
	    (ret = x_del(db, txn, t64(t.expires), &k)) == 0)
		ret = kv_del(db, txn, &k);
	token_clear(&t);
	return ret;
}

/* Deletes session sid, its tokens and index entries. */
static int
sess_delete(struct oa_db *db, DB_TXN *txn, const char *sid)
{
	struct oa_sess s;
	struct keylist l = { 0 };
	struct key k, f;
	size_t base;
	int ret;

	if ((ret = sess_read(db, txn, sid, DB_RMW, &s)) != 0)
		return ret == DB_NOTFOUND ? 0 : ret;
	family_key(&f, sid, NULL);
	base = f.n;
	if ((ret = collect(db, txn, &f, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].n != base + HASH_LEN) {
			ret = OA_ERR_CORRUPT;
			goto out;
		}
		if ((ret = token_delete(db, txn, l.v[i].b + base)) != 0 ||
		    (ret = kv_del(db, txn, &l.v[i])) != 0)
			goto out;
	}
	sess_key(&k, sid);
	user_sess_key(&f, s.user, sid);
	if ((ret = kv_del(db, txn, &f)) == 0 &&
	    (ret = x_del(db, txn, t64(s.expires), &k)) == 0)
		ret = kv_del(db, txn, &k);
out:
	keylist_free(&l);
	sess_clear(&s);
	return ret;
}

/* ---- user delete and list ---------------------------------------------- */

static int
user_delete_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	const char *id = arg;
	struct oa_db_user *u = NULL;
	struct keylist l = { 0 };
	struct wbuf w = { 0 };
	struct key k, p;
	size_t base;
	int ret;

	if ((ret = user_read(db, txn, id, DB_RMW, &u)) != 0) {
		if (ret == DB_NOTFOUND) {
			*rc = OA_DB_NOTFOUND;
			return OA_TXN_ABORT;
		}
		return ret;
	}
	if ((ret = email_index(db, txn, id, u->email, u->email_verified,
	    NULL, 0, 0)) != 0)
		goto out;
	/* Identities: i uid \0 provider \0 subject -> I provider \0 subj. */
	k_start(&p, 'i');
	k_str(&p, id);
	k_sep(&p);
	base = p.n;
	if ((ret = collect(db, txn, &p, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		k_start(&k, 'I');
		k_raw(&k, l.v[i].b + base, l.v[i].n - base);
		if ((ret = kv_del(db, txn, &k)) != 0 ||
		    (ret = kv_del(db, txn, &l.v[i])) != 0)
			goto out;
	}
	keylist_free(&l);
	/* Sessions: s uid \0 sid. */
	user_sess_key(&p, id, NULL);
	base = p.n;
	if ((ret = collect(db, txn, &p, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		char sid[ID_MAX + 1];
		size_t n = l.v[i].n - base;

		if (n == 0 || n > ID_MAX) {
			ret = OA_ERR_CORRUPT;
			goto out;
		}
		memcpy(sid, l.v[i].b + base, n);
		sid[n] = '\0';
		if ((ret = sess_delete(db, txn, sid)) != 0 ||
		    (ret = kv_del(db, txn, &l.v[i])) != 0)
			goto out;
	}
	user_key(&k, id);
	if ((ret = kv_del(db, txn, &k)) != 0)
		goto out;
	/* The id is never given again. */
	k_start(&k, 'D');
	k_str(&k, id);
	w_start(&w, 'D');
	w_u64(&w, t64(time(NULL)));
	ret = kv_put(db, txn, &k, &w);
out:
	w_free(&w);
	keylist_free(&l);
	oa_db_user_free(u);
	return ret;
}

enum oa_db_rc
oa_db_user_delete(struct oa_db *db, const char *id)
{
	if (!valid_id(id, ID_MAX))
		return OA_DB_BADARG;
	return oa_db_txn(db, "user delete", OA_TXN_WRITE, 0, user_delete_fn,
	    (void *)id);
}

struct user_list_arg {
	struct oa_db_user **v;
	size_t n, cap;
};

static void
user_list_reset(struct user_list_arg *a)
{
	oa_db_user_list_free(a->v, a->n);
	a->v = NULL;
	a->n = a->cap = 0;
}

static int
user_list_each(const DBT *k, const DBT *v, void *arg)
{
	struct user_list_arg *a = arg;
	struct oa_db_user *u = NULL, **nv;
	int ret;

	if ((ret = user_decode(v, (const char *)k->data + 1, k->size - 1,
	    &u)) != 0)
		return ret;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;

		if ((nv = realloc(a->v, cap * sizeof(*nv))) == NULL) {
			oa_db_user_free(u);
			return ENOMEM;
		}
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = u;
	return 0;
}

static int
user_list_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct user_list_arg *a = arg;
	struct key p;

	(void)rc;
	user_list_reset(a);
	k_start(&p, 'U');
	return scan(db, txn, &p, DB_READ_COMMITTED, 0, user_list_each, a);
}

enum oa_db_rc
oa_db_user_list(struct oa_db *db, struct oa_db_user ***out, size_t *n)
{
	struct user_list_arg a = { NULL, 0, 0 };
	enum oa_db_rc rc;

	if (out == NULL || n == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "user list", 0, 0, user_list_fn, &a);
	if (rc != OA_DB_OK) {
		user_list_reset(&a);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return OA_DB_OK;
}

/* ---- identities -------------------------------------------------------- */

static void
ident_key(struct key *k, const char *provider, const char *subject)
{
	k_start(k, 'I');
	k_str(k, provider);
	k_sep(k);
	k_str(k, subject);
}

static void
ident_rkey(struct key *k, const char *uid, const char *provider,
    const char *subject)
{
	k_start(k, 'i');
	k_str(k, uid);
	k_sep(k);
	k_str(k, provider);
	k_sep(k);
	k_str(k, subject);
}

/* Reads the user id of an identity record. */
static int
ident_decode(const DBT *v, char **uid, time_t *created)
{
	struct rbuf r;
	int ret;

	r_start(&r, v, 'I');
	*uid = r_need(&r);
	*created = r_time(&r);
	if ((ret = r_end(&r)) == 0 && !valid_id(*uid, ID_MAX))
		ret = OA_ERR_CORRUPT;
	if (ret != 0) {
		if (ret == OA_ERR_CORRUPT)
			oa_log(OA_LOG_WARN, "db: identity record does not "
			    "decode");
		free(*uid);
		*uid = NULL;
	}
	return ret;
}

static int
ident_write(struct oa_db *db, DB_TXN *txn, const char *provider,
    const char *subject, const char *uid, time_t now)
{
	struct key k;
	struct wbuf w = { 0 };
	int ret;

	ident_key(&k, provider, subject);
	w_start(&w, 'I');
	w_str(&w, uid);
	w_u64(&w, t64(now));
	ret = kv_put(db, txn, &k, &w);
	w_free(&w);
	if (ret != 0)
		return ret;
	ident_rkey(&k, uid, provider, subject);
	return kv_put_mark(db, txn, &k, 'i');
}

struct email_find {
	size_t base;
	char *uid;
	uint64_t best;
	int bad;
};

static int
email_find_each(const DBT *k, const DBT *v, void *arg)
{
	struct email_find *a = arg;
	struct rbuf r;
	uint64_t created;
	size_t n = k->size - a->base;
	char *uid;

	r_start(&r, v, 'E');
	created = r_u64(&r);
	if (r_end(&r) != 0 || n == 0 || n > ID_MAX)
		return OA_ERR_CORRUPT;
	if (a->uid != NULL && created >= a->best)
		return 0;
	if ((uid = strndup((const char *)k->data + a->base, n)) == NULL)
		return ENOMEM;
	free(a->uid);
	a->uid = uid;
	a->best = created;
	return 0;
}

/* The oldest user owning the verified email (normalised), or NULL. */
static int
email_owner(struct oa_db *db, DB_TXN *txn, const char *email, char **uid)
{
	struct email_find f = { 0, NULL, 0, 0 };
	struct key p;
	char norm[EMAIL_MAX + 1];
	int ret;

	email_norm(email, norm, sizeof(norm));
	k_start(&p, 'E');
	k_str(&p, norm);
	k_sep(&p);
	f.base = p.n;
	ret = scan(db, txn, &p, 0, 0, email_find_each, &f);
	if (ret != 0) {
		free(f.uid);
		return ret;
	}
	*uid = f.uid;
	return 0;
}

/* Refreshes profile fields that the provider sent. */
static int
user_refresh(struct oa_db *db, DB_TXN *txn, struct oa_db_user *u,
    const struct oa_db_profile *p, time_t now)
{
	char *old = u->email;
	int old_verified = u->email_verified, ret;
	char *dup;

	if (p->email != NULL) {
		if ((dup = strdup(p->email)) == NULL)
			return ENOMEM;
		u->email = dup;
		u->email_verified = p->email_verified != 0;
		ret = email_index(db, txn, u->id, old, old_verified, u->email,
		    u->email_verified, u->created);
		free(old);
		if (ret != 0)
			return ret;
	}
	if (p->name != NULL) {
		if ((dup = strdup(p->name)) == NULL)
			return ENOMEM;
		free(u->name);
		u->name = dup;
	}
	if (p->picture != NULL) {
		if ((dup = strdup(p->picture)) == NULL)
			return ENOMEM;
		free(u->picture);
		u->picture = dup;
	}
	u->last_login = now;
	return user_write(db, txn, u);
}

struct login_arg {
	const struct oa_db_profile *p;
	int link;
	time_t now;
	struct oa_db_user *user;
	int created;
};

static int
login_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct login_arg *a = arg;
	const struct oa_db_profile *p = a->p;
	struct oa_db_user *u = NULL, nu;
	struct key k;
	char *uid = NULL;
	time_t created;
	DBT v;
	int ret;

	oa_db_user_free(a->user);
	a->user = NULL;
	a->created = 0;
	ident_key(&k, p->provider, p->subject);
	ret = kv_get(db, txn, &k, &v, DB_RMW);
	if (ret == 0) {
		if ((ret = ident_decode(&v, &uid, &created)) != 0)
			return ret;
		if ((ret = user_read(db, txn, uid, DB_RMW, &u)) != 0) {
			if (ret == DB_NOTFOUND) {
				oa_log(OA_LOG_ERROR, "db: identity of %s "
				    "points to a missing user", p->provider);
				ret = OA_ERR_CORRUPT;
			}
			goto out;
		}
	} else if (ret == DB_NOTFOUND) {
		if (a->link && p->email != NULL && p->email_verified &&
		    *p->email != '\0') {
			if ((ret = email_owner(db, txn, p->email, &uid)) != 0)
				goto out;
			if (uid != NULL) {
				ret = user_read(db, txn, uid, DB_RMW, &u);
				if (ret == DB_NOTFOUND) {
					oa_log(OA_LOG_ERROR, "db: email index "
					    "points to a missing user");
					ret = OA_ERR_CORRUPT;
				}
				if (ret != 0)
					goto out;
			}
		}
		if (u != NULL && u->disabled) {
			*rc = OA_DB_DISABLED;
			ret = OA_TXN_ABORT;
			goto out;
		}
		if (u != NULL) {
			if ((ret = ident_write(db, txn, p->provider,
			    p->subject, u->id, a->now)) != 0)
				goto out;
		} else {
			/* A new user. */
			memset(&nu, 0, sizeof(nu));
			for (int tries = 0;; tries++) {
				free(uid);
				if ((uid = new_id("u_")) == NULL) {
					ret = ENOMEM;
					goto out;
				}
				ret = id_taken(db, txn, uid);
				if (ret != DB_KEYEXIST || tries >= 3)
					break;
			}
			if (ret != 0)
				goto out;
			nu.id = uid;
			nu.created = a->now;
			if ((ret = user_create(db, txn, &nu)) != 0 ||
			    (ret = ident_write(db, txn, p->provider,
			    p->subject, uid, a->now)) != 0)
				goto out;
			if ((u = calloc(1, sizeof(*u))) == NULL) {
				ret = ENOMEM;
				goto out;
			}
			u->id = uid;
			uid = NULL;
			u->created = a->now;
			a->created = 1;
		}
	} else {
		return ret;
	}
	if (u->disabled) {
		*rc = OA_DB_DISABLED;
		ret = OA_TXN_ABORT;
		goto out;
	}
	if ((ret = user_refresh(db, txn, u, p, a->now)) != 0)
		goto out;
	a->user = u;
	u = NULL;
out:
	free(uid);
	oa_db_user_free(u);
	return ret;
}

enum oa_db_rc
oa_db_identity_login(struct oa_db *db, const struct oa_db_profile *p,
    int link_by_verified_email, time_t now, struct oa_db_user **user,
    int *created)
{
	struct login_arg a = { p, link_by_verified_email, now, NULL, 0 };
	enum oa_db_rc rc;

	if (p == NULL || user == NULL || !valid_provider(p->provider) ||
	    p->subject == NULL || *p->subject == '\0' ||
	    !valid_text(p->subject, SUBJECT_MAX, 0) ||
	    !valid_text(p->email, EMAIL_MAX, 1) ||
	    !valid_text(p->name, NAME_MAX_LEN, 1) ||
	    !valid_text(p->picture, URL_MAX, 1))
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "sign-in", OA_TXN_WRITE, now, login_fn, &a);
	if (rc != OA_DB_OK) {
		oa_db_user_free(a.user);
		return rc;
	}
	*user = a.user;
	if (created != NULL)
		*created = a.created;
	return OA_DB_OK;
}

struct ident_get_arg {
	const char *provider, *subject;
	char *uid;
};

static int
ident_get_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct ident_get_arg *a = arg;
	struct key k;
	time_t created;
	DBT v;
	int ret;

	free(a->uid);
	a->uid = NULL;
	ident_key(&k, a->provider, a->subject);
	if ((ret = kv_get(db, txn, &k, &v, 0)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return 0;
	}
	if (ret != 0)
		return ret;
	return ident_decode(&v, &a->uid, &created);
}

enum oa_db_rc
oa_db_identity_get(struct oa_db *db, const char *provider,
    const char *subject, char **uid)
{
	struct ident_get_arg a = { provider, subject, NULL };
	enum oa_db_rc rc;

	if (uid == NULL || !valid_provider(provider) || subject == NULL ||
	    *subject == '\0' || !valid_text(subject, SUBJECT_MAX, 0))
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "identity get", 0, 0, ident_get_fn, &a);
	if (rc == OA_DB_OK)
		*uid = a.uid;
	else
		free(a.uid);
	return rc;
}

void
oa_db_identity_list_free(struct oa_db_identity *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].provider);
		free(v[i].subject);
	}
	free(v);
}

struct ident_list_arg {
	struct oa_db *db;
	DB_TXN *txn;
	const char *uid;
	size_t base;
	struct oa_db_identity *v;
	size_t n, cap;
};

static int
ident_list_each(const DBT *k, const DBT *v, void *arg)
{
	struct ident_list_arg *a = arg;
	struct oa_db_identity *nv, *e;
	const char *p = (const char *)k->data + a->base;
	size_t n = k->size - a->base, pl;

	(void)v;
	if ((pl = strnlen(p, n)) == n)
		return OA_ERR_CORRUPT;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4;

		if ((nv = realloc(a->v, cap * sizeof(*nv))) == NULL)
			return ENOMEM;
		a->v = nv;
		a->cap = cap;
	}
	e = &a->v[a->n];
	memset(e, 0, sizeof(*e));
	if ((e->provider = strndup(p, pl)) == NULL ||
	    (e->subject = strndup(p + pl + 1, n - pl - 1)) == NULL) {
		free(e->provider);
		return ENOMEM;
	}
	a->n++;
	return 0;
}

static int
ident_list_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct ident_list_arg *a = arg;
	struct key p, k;
	char *uid;
	DBT v;
	int ret;

	oa_db_identity_list_free(a->v, a->n);
	a->v = NULL;
	a->n = a->cap = 0;
	user_key(&k, a->uid);
	if ((ret = kv_get(db, txn, &k, &v, 0)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return 0;
	}
	if (ret != 0)
		return ret;
	k_start(&p, 'i');
	k_str(&p, a->uid);
	k_sep(&p);
	a->base = p.n;
	if ((ret = scan(db, txn, &p, DB_READ_COMMITTED, 0, ident_list_each,
	    a)) != 0)
		return ret;
	/* The creation times live in the identity records. */
	for (size_t i = 0; i < a->n; i++) {
		ident_key(&k, a->v[i].provider, a->v[i].subject);
		if ((ret = kv_get(db, txn, &k, &v, 0)) != 0)
			return ret == DB_NOTFOUND ? OA_ERR_CORRUPT : ret;
		if ((ret = ident_decode(&v, &uid, &a->v[i].created)) != 0)
			return ret;
		free(uid);
	}
	return 0;
}

enum oa_db_rc
oa_db_identity_list(struct oa_db *db, const char *uid,
    struct oa_db_identity **out, size_t *n)
{
	struct ident_list_arg a = { db, NULL, uid, 0, NULL, 0, 0 };
	enum oa_db_rc rc;

	if (!valid_id(uid, ID_MAX) || out == NULL || n == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "identity list", 0, 0, ident_list_fn, &a);
	if (rc != OA_DB_OK) {
		oa_db_identity_list_free(a.v, a.n);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return OA_DB_OK;
}

/* ---- authorization codes ----------------------------------------------- */

struct oa_code_rec {
	struct oa_db_code c;
	int used, replayed;
};

void
oa_db_code_free(struct oa_db_code *c)
{
	if (c == NULL)
		return;
	free(c->client);
	free(c->redirect_uri);
	free(c->code_challenge);
	free(c->nonce);
	free(c->scope);
	free(c->user);
	free(c->sid);
	free(c);
}

static void
code_encode(struct wbuf *w, const struct oa_db_code *c, int used,
    int replayed)
{
	w_start(w, 'C');
	w_str(w, c->client);
	w_str(w, c->redirect_uri);
	w_str(w, c->code_challenge);
	w_str(w, c->nonce);
	w_str(w, c->scope);
	w_str(w, c->user);
	w_str(w, c->sid);
	w_u64(w, t64(c->auth_time));
	w_u64(w, t64(c->expires));
	w_u8(w, used != 0);
	w_u8(w, replayed != 0);
}

static int
code_decode(const DBT *v, struct oa_db_code **out, int *used, int *replayed)
{
	struct oa_db_code *c;
	struct rbuf r;
	int ret;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ENOMEM;
	r_start(&r, v, 'C');
	c->client = r_need(&r);
	c->redirect_uri = r_need(&r);
	c->code_challenge = r_need(&r);
	c->nonce = r_str(&r);
	c->scope = r_str(&r);
	c->user = r_need(&r);
	c->sid = r_str(&r);
	c->auth_time = r_time(&r);
	c->expires = r_time(&r);
	*used = r_flag(&r);
	*replayed = r_flag(&r);
	if ((ret = r_end(&r)) != 0) {
		if (ret == OA_ERR_CORRUPT)
			oa_log(OA_LOG_WARN, "db: code record does not decode");
		oa_db_code_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static int
code_write(struct oa_db *db, DB_TXN *txn, const struct key *k,
    const struct oa_db_code *c, int used, int replayed)
{
	struct wbuf w = { 0 };
	int ret;

	code_encode(&w, c, used, replayed);
	ret = kv_put(db, txn, k, &w);
	w_free(&w);
	return ret;
}

struct code_put_arg {
	const char *code;
	const struct oa_db_code *c;
};

static int
code_put_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct code_put_arg *a = arg;
	struct oa_db_code c = *a->c;
	struct key k;
	DBT v;
	int ret;

	k_hash(&k, 'C', a->code);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) == 0) {
		*rc = OA_DB_EXISTS;
		return OA_TXN_ABORT;
	}
	if (ret != DB_NOTFOUND)
		return ret;
	c.sid = NULL;
	if ((ret = code_write(db, txn, &k, &c, 0, 0)) != 0)
		return ret;
	return x_put(db, txn, t64(c.expires), &k);
}

enum oa_db_rc
oa_db_code_put(struct oa_db *db, const char *code,
    const struct oa_db_code *c)
{
	struct code_put_arg a = { code, c };

	/* SECURITY 5: a code always carries a PKCE challenge (not NULL, not
	 * empty), so that the token endpoint never meets a code_verifier
	 * without one (a downgrade to no PKCE, RFC 9700 §2.1.1). */
	if (!valid_secret(code) || c == NULL ||
	    !valid_text(c->client, CLIENT_MAX, 0) ||
	    !valid_text(c->redirect_uri, URL_MAX, 0) ||
	    c->code_challenge == NULL || c->code_challenge[0] == '\0' ||
	    !valid_text(c->code_challenge, NONCE_MAX, 0) ||
	    !valid_text(c->nonce, NONCE_MAX, 1) ||
	    !valid_text(c->scope, NONCE_MAX, 1) ||
	    !valid_id(c->user, ID_MAX))
		return OA_DB_BADARG;
	return oa_db_txn(db, "code put", OA_TXN_WRITE, 0, code_put_fn, &a);
}

/* Revokes session sid (no error when it is gone). */
static int
sess_revoke(struct oa_db *db, DB_TXN *txn, const char *sid, int *was_live)
{
	struct oa_sess s;
	int ret;

	if (was_live != NULL)
		*was_live = 0;
	if ((ret = sess_read(db, txn, sid, DB_RMW, &s)) != 0)
		return ret == DB_NOTFOUND ? 0 : ret;
	if (!s.revoked) {
		if (was_live != NULL)
			*was_live = 1;
		s.revoked = 1;
		ret = sess_write(db, txn, sid, &s);
	}
	sess_clear(&s);
	return ret;
}

struct code_take_arg {
	const char *code;
	time_t now;
	struct oa_db_code *out;
};

static int
code_take_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct code_take_arg *a = arg;
	struct oa_db_code *c = NULL;
	struct key k;
	int used, replayed, ret;
	DBT v;

	oa_db_code_free(a->out);
	a->out = NULL;
	k_hash(&k, 'C', a->code);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return OA_TXN_ABORT;
	}
	if (ret != 0)
		return ret;
	if ((ret = code_decode(&v, &c, &used, &replayed)) != 0)
		return ret;
	if (used) {
		/* A replay (RFC 6749 §4.1.2): revoke what the code gave. */
		*rc = OA_DB_USED;
		if ((ret = code_write(db, txn, &k, c, 1, 1)) == 0 &&
		    c->sid != NULL)
			ret = sess_revoke(db, txn, c->sid, NULL);
	} else if (a->now >= c->expires) {
		*rc = OA_DB_NOTFOUND;
		oa_db_code_free(c);
		return OA_TXN_ABORT;
	} else {
		ret = code_write(db, txn, &k, c, 1, 0);
	}
	if (ret != 0) {
		oa_db_code_free(c);
		return ret;
	}
	a->out = c;
	return 0;
}

enum oa_db_rc
oa_db_code_take(struct oa_db *db, const char *code, time_t now,
    struct oa_db_code **out)
{
	struct code_take_arg a = { code, now, NULL };
	enum oa_db_rc rc;

	if (!valid_secret(code) || out == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "code take", OA_TXN_WRITE, now, code_take_fn, &a);
	if ((rc == OA_DB_OK || rc == OA_DB_USED) && a.out != NULL) {
		*out = a.out;
		a.out = NULL;
	}
	oa_db_code_free(a.out);
	return rc;
}

/* ---- sessions ---------------------------------------------------------- */

void
oa_db_session_free(struct oa_db_session *s)
{
	if (s == NULL)
		return;
	free(s->sid);
	free(s->user);
	free(s->client);
	free(s);
}

void
oa_db_session_list_free(struct oa_db_session **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		oa_db_session_free(v[i]);
	free(v);
}

/* The public view of a session record. */
static int
sess_export(const char *sid, const struct oa_sess *s,
    struct oa_db_session **out)
{
	struct oa_db_session *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ENOMEM;
	o->sid = strdup(sid);
	o->user = strdup(s->user);
	o->client = strdup(s->client);
	if (o->sid == NULL || o->user == NULL || o->client == NULL) {
		oa_db_session_free(o);
		return ENOMEM;
	}
	o->created = s->created;
	o->expires = s->expires;
	o->auth_time = s->auth_time;
	o->last_refresh = s->last_refresh;
	o->revoked = s->revoked;
	*out = o;
	return 0;
}

/*
 * Issues a new refresh token in session sid (record s, written by the
 * caller): R, r and X records. Writes the token into *plain and its hash
 * into s->newest.
 */
static int
token_issue(struct oa_db *db, DB_TXN *txn, const char *sid,
    struct oa_sess *s, const uint8_t *parent, time_t now, long idle_ttl,
    char **plain)
{
	struct oa_token t;
	struct wbuf w = { 0 };
	struct key k, f;
	uint8_t h[HASH_LEN];
	char *tok;
	int ret;

	if ((tok = oa_random_token(32)) == NULL)
		return ENOMEM;
	oa_sha256(tok, strlen(tok), h);
	memset(&t, 0, sizeof(t));
	t.sid = (char *)sid;
	if (parent != NULL) {
		memcpy(t.parent, parent, HASH_LEN);
		t.has_parent = 1;
	}
	t.created = now;
	t.first_used = 0;
	t.expires = idle_ttl > 0 ? now + idle_ttl : now;
	if (s->expires < t.expires)
		t.expires = s->expires;
	token_key(&k, h);
	token_encode(&w, &t);
	ret = kv_put(db, txn, &k, &w);
	w_free(&w);
	if (ret == 0) {
		family_key(&f, sid, h);
		ret = kv_put_mark(db, txn, &f, 'r');
	}
	if (ret == 0)
		ret = x_put(db, txn, t64(t.expires), &k);
	if (ret != 0) {
		oa_secret_free(tok);
		return ret;
	}
	memcpy(s->newest, h, HASH_LEN);
	*plain = tok;
	return 0;
}

struct sess_new_arg {
	const struct oa_db_session_params *p;
	char *sid;
	char *token;
};

static int
sess_new_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct sess_new_arg *a = arg;
	const struct oa_db_session_params *p = a->p;
	struct oa_db_code *c = NULL;
	struct oa_db_user *u = NULL;
	struct oa_sess s;
	struct key ck, k;
	int used = 0, replayed = 0, ret;
	DBT v;

	free(a->sid);
	oa_secret_free(a->token);
	a->sid = a->token = NULL;
	memset(&s, 0, sizeof(s));
	if (p->code != NULL) {
		k_hash(&ck, 'C', p->code);
		if ((ret = kv_get(db, txn, &ck, &v, DB_RMW)) != 0 &&
		    ret != DB_NOTFOUND)
			return ret;
		if (ret == 0 &&
		    (ret = code_decode(&v, &c, &used, &replayed)) != 0)
			return ret;
		if (c == NULL || !used || replayed || c->sid != NULL ||
		    strcmp(c->user, p->user) != 0) {
			*rc = OA_DB_USED;
			ret = OA_TXN_ABORT;
			goto out;
		}
	}
	if ((ret = user_read(db, txn, p->user, 0, &u)) != 0) {
		if (ret == DB_NOTFOUND) {
			*rc = OA_DB_NOTFOUND;
			ret = OA_TXN_ABORT;
		}
		goto out;
	}
	if (u->disabled) {
		*rc = OA_DB_DISABLED;
		ret = OA_TXN_ABORT;
		goto out;
	}
	for (int tries = 0;; tries++) {
		free(a->sid);
		if ((a->sid = new_id("s_")) == NULL) {
			ret = ENOMEM;
			goto out;
		}
		sess_key(&k, a->sid);
		if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) == DB_NOTFOUND)
			break;
		if (ret != 0)
			goto out;
		if (tries >= 3) {
			ret = EEXIST;
			goto out;
		}
	}
	s.user = (char *)p->user;
	s.client = (char *)p->client;
	s.created = p->now;
	s.expires = p->now + (p->session_ttl > 0 ? p->session_ttl : 0);
	s.auth_time = p->auth_time;
	s.last_refresh = 0;
	s.revoked = 0;
	if ((ret = token_issue(db, txn, a->sid, &s, NULL, p->now, p->idle_ttl,
	    &a->token)) != 0 ||
	    (ret = sess_write(db, txn, a->sid, &s)) != 0 ||
	    (ret = x_put(db, txn, t64(s.expires), &k)) != 0)
		goto out;
	user_sess_key(&k, p->user, a->sid);
	if ((ret = kv_put_mark(db, txn, &k, 's')) != 0)
		goto out;
	if (c != NULL) {
		if ((c->sid = strdup(a->sid)) == NULL) {
			ret = ENOMEM;
			goto out;
		}
		ret = code_write(db, txn, &ck, c, 1, 0);
	}
out:
	oa_db_code_free(c);
	oa_db_user_free(u);
	return ret;
}

enum oa_db_rc
oa_db_session_new(struct oa_db *db, const struct oa_db_session_params *p,
    char **sid, char **refresh)
{
	struct sess_new_arg a = { p, NULL, NULL };
	enum oa_db_rc rc;

	if (p == NULL || sid == NULL || refresh == NULL ||
	    !valid_id(p->user, ID_MAX) ||
	    !valid_text(p->client, CLIENT_MAX, 0) || *p->client == '\0' ||
	    (p->code != NULL && !valid_secret(p->code)))
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "session new", OA_TXN_WRITE, p->now, sess_new_fn,
	    &a);
	if (rc != OA_DB_OK) {
		free(a.sid);
		oa_secret_free(a.token);
		return rc;
	}
	*sid = a.sid;
	*refresh = a.token;
	return OA_DB_OK;
}

struct sess_get_arg {
	const char *sid;
	struct oa_db_session *out;
};

static int
sess_get_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct sess_get_arg *a = arg;
	struct oa_sess s;
	int ret;

	oa_db_session_free(a->out);
	a->out = NULL;
	if ((ret = sess_read(db, txn, a->sid, 0, &s)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return 0;
	}
	if (ret != 0)
		return ret;
	ret = sess_export(a->sid, &s, &a->out);
	sess_clear(&s);
	return ret;
}

enum oa_db_rc
oa_db_session_get(struct oa_db *db, const char *sid,
    struct oa_db_session **out)
{
	struct sess_get_arg a = { sid, NULL };
	enum oa_db_rc rc;

	if (!valid_id(sid, ID_MAX) || out == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "session get", 0, 0, sess_get_fn, &a);
	if (rc == OA_DB_OK)
		*out = a.out;
	else
		oa_db_session_free(a.out);
	return rc;
}

struct sess_list_arg {
	const char *uid;
	int revoke;
	size_t base;
	struct keylist keys;
	struct oa_db_session **v;
	size_t n;
	size_t revoked;
};

static void
sess_list_reset(struct sess_list_arg *a)
{
	oa_db_session_list_free(a->v, a->n);
	a->v = NULL;
	a->n = 0;
	a->revoked = 0;
	keylist_free(&a->keys);
}

static int
sess_list_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct sess_list_arg *a = arg;
	struct oa_sess s;
	struct key p;
	DBT v;
	int ret, live;

	sess_list_reset(a);
	user_key(&p, a->uid);
	if ((ret = kv_get(db, txn, &p, &v, 0)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return OA_TXN_ABORT;
	}
	if (ret != 0)
		return ret;
	user_sess_key(&p, a->uid, NULL);
	a->base = p.n;
	if (a->revoke)
		ret = collect(db, txn, &p, &a->keys);
	else
		ret = scan(db, txn, &p, DB_READ_COMMITTED, 0, collect_each,
		    &a->keys);
	if (ret != 0)
		return ret;
	if (!a->revoke &&
	    (a->v = calloc(a->keys.n + 1, sizeof(*a->v))) == NULL)
		return ENOMEM;
	for (size_t i = 0; i < a->keys.n; i++) {
		char sid[ID_MAX + 1];
		size_t n = a->keys.v[i].n - a->base;

		if (n == 0 || n > ID_MAX)
			return OA_ERR_CORRUPT;
		memcpy(sid, a->keys.v[i].b + a->base, n);
		sid[n] = '\0';
		if (a->revoke) {
			if ((ret = sess_revoke(db, txn, sid, &live)) != 0)
				return ret;
			a->revoked += live;
			continue;
		}
		if ((ret = sess_read(db, txn, sid, 0, &s)) == DB_NOTFOUND)
			return OA_ERR_CORRUPT;
		if (ret != 0)
			return ret;
		ret = sess_export(sid, &s, &a->v[a->n]);
		sess_clear(&s);
		if (ret != 0)
			return ret;
		a->n++;
	}
	return 0;
}

enum oa_db_rc
oa_db_session_list(struct oa_db *db, const char *uid,
    struct oa_db_session ***out, size_t *n)
{
	struct sess_list_arg a;
	enum oa_db_rc rc;

	memset(&a, 0, sizeof(a));
	a.uid = uid;
	if (!valid_id(uid, ID_MAX) || out == NULL || n == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "session list", 0, 0, sess_list_fn, &a);
	keylist_free(&a.keys);
	if (rc != OA_DB_OK) {
		sess_list_reset(&a);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return OA_DB_OK;
}

enum oa_db_rc
oa_db_session_revoke_user(struct oa_db *db, const char *uid, size_t *count)
{
	struct sess_list_arg a;
	enum oa_db_rc rc;

	memset(&a, 0, sizeof(a));
	a.uid = uid;
	a.revoke = 1;
	if (!valid_id(uid, ID_MAX))
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "session revoke", OA_TXN_WRITE, 0, sess_list_fn,
	    &a);
	if (rc == OA_DB_OK && count != NULL)
		*count = a.revoked;
	sess_list_reset(&a);
	return rc;
}

static int
sess_revoke_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct key k;
	DBT v;
	int ret;

	sess_key(&k, arg);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return OA_TXN_ABORT;
	}
	if (ret != 0)
		return ret;
	return sess_revoke(db, txn, arg, NULL);
}

enum oa_db_rc
oa_db_session_revoke(struct oa_db *db, const char *sid)
{
	if (!valid_id(sid, ID_MAX))
		return OA_DB_BADARG;
	return oa_db_txn(db, "session revoke", OA_TXN_WRITE, 0,
	    sess_revoke_fn, (void *)sid);
}

/* ---- refresh-token rotation (SPEC §2.3) -------------------------------- */

void
oa_db_refresh_result_wipe(struct oa_db_refresh_result *r)
{
	if (r == NULL)
		return;
	oa_secret_free(r->token);
	oa_db_session_free(r->session);
	oa_db_user_free(r->user);
	memset(r, 0, sizeof(*r));
}

struct rotate_arg {
	const char *token;
	const struct oa_db_refresh_params *p;
	struct oa_db_refresh_result res;
};

static int
rotate_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct rotate_arg *a = arg;
	const struct oa_db_refresh_params *p = a->p;
	struct oa_token t, nt;
	struct oa_sess s;
	struct oa_db_user *u = NULL;
	struct key k, nk;
	struct wbuf w = { 0 };
	uint8_t h[HASH_LEN];
	DBT v;
	int ret, sibling = 0;

	oa_db_refresh_result_wipe(&a->res);
	memset(&t, 0, sizeof(t));
	memset(&nt, 0, sizeof(nt));
	memset(&s, 0, sizeof(s));
	oa_sha256(a->token, strlen(a->token), h);
	token_key(&k, h);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) == DB_NOTFOUND) {
		*rc = OA_DB_INVALID;
		return OA_TXN_ABORT;
	}
	if (ret != 0 || (ret = token_decode(&v, &t)) != 0)
		return ret;
	/* The family: revoked, or past its absolute lifetime. */
	if ((ret = sess_read(db, txn, t.sid, DB_RMW, &s)) != 0) {
		if (ret == DB_NOTFOUND) {
			*rc = OA_DB_INVALID;
			ret = OA_TXN_ABORT;
		}
		goto out;
	}
	if (s.revoked || p->now >= s.expires ||
	    (p->session_ttl > 0 && p->now >= s.created + p->session_ttl)) {
		*rc = OA_DB_INVALID;
		ret = OA_TXN_ABORT;
		goto out;
	}
	if ((ret = user_read(db, txn, s.user, 0, &u)) == DB_NOTFOUND ||
	    (ret == 0 && u->disabled)) {
		*rc = OA_DB_INVALID;
		ret = OA_TXN_ABORT;
		goto out;
	}
	if (ret != 0)
		goto out;
	if (t.first_used == 0) {
		/* Idle expiry: unused for idle_ttl since it was issued. */
		if (p->now >= t.expires ||
		    (p->idle_ttl > 0 && p->now >= t.created + p->idle_ttl)) {
			*rc = OA_DB_INVALID;
			ret = OA_TXN_ABORT;
			goto out;
		}
		t.first_used = p->now;
		token_encode(&w, &t);
		if ((ret = kv_put(db, txn, &k, &w)) != 0)
			goto out;
	} else {
		/* Used before: a sibling only within the window and only for
		 * the parent of the newest token of the family. */
		int parent_of_newest = 0;

		token_key(&nk, s.newest);
		ret = kv_get(db, txn, &nk, &v, 0);
		if (ret == 0) {
			if ((ret = token_decode(&v, &nt)) != 0)
				goto out;
			parent_of_newest = nt.has_parent &&
			    memcmp(nt.parent, h, HASH_LEN) == 0;
		} else if (ret != DB_NOTFOUND) {
			goto out;
		}
		if (!parent_of_newest ||
		    p->now - t.first_used > p->reuse_window) {
			/* Reuse (RFC 9700 §4.14.2): revoke the family. */
			s.revoked = 1;
			if ((ret = sess_write(db, txn, t.sid, &s)) != 0)
				goto out;
			oa_log(OA_LOG_WARN, "db: refresh token reuse in a "
			    "session of user %s: session revoked", s.user);
			a->res.reuse_detected = 1;
			*rc = OA_DB_INVALID;
			ret = 0;
			goto out;
		}
		sibling = 1;
	}
	if ((ret = token_issue(db, txn, t.sid, &s, h, p->now, p->idle_ttl,
	    &a->res.token)) != 0)
		goto out;
	s.last_refresh = p->now;
	if ((ret = sess_write(db, txn, t.sid, &s)) != 0 ||
	    (ret = sess_export(t.sid, &s, &a->res.session)) != 0)
		goto out;
	a->res.user = u;
	u = NULL;
	a->res.sibling = sibling;
out:
	w_free(&w);
	token_clear(&t);
	token_clear(&nt);
	sess_clear(&s);
	oa_db_user_free(u);
	return ret;
}

enum oa_db_rc
oa_db_refresh_rotate(struct oa_db *db, const char *token,
    const struct oa_db_refresh_params *p, struct oa_db_refresh_result *res)
{
	struct rotate_arg a;
	enum oa_db_rc rc;

	if (res == NULL || p == NULL)
		return OA_DB_BADARG;
	if (!valid_secret(token))
		return OA_DB_INVALID;
	memset(&a, 0, sizeof(a));
	a.token = token;
	a.p = p;
	rc = oa_db_txn(db, "refresh", OA_TXN_WRITE, p->now, rotate_fn, &a);
	if (rc == OA_DB_OK) {
		*res = a.res;
		return rc;
	}
	if (rc == OA_DB_INVALID)
		res->reuse_detected = a.res.reuse_detected;
	oa_db_refresh_result_wipe(&a.res);
	return rc;
}

struct revoke_arg {
	const char *token;
	const char *client;     /* NULL: any client */
	char *sid;
};

static int
revoke_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct revoke_arg *a = arg;
	struct oa_token t;
	struct oa_sess s;
	struct key k;
	DBT v;
	int other, ret;

	free(a->sid);
	a->sid = NULL;
	k_hash(&k, 'R', a->token);
	if ((ret = kv_get(db, txn, &k, &v, 0)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return OA_TXN_ABORT;
	}
	if (ret != 0 || (ret = token_decode(&v, &t)) != 0)
		return ret;
	/* RFC 7009 §2.1: only the client the token was issued to may
	 * revoke it. Checked in the transaction that revokes, so that the
	 * answer is the family's as it is revoked. */
	if (a->client != NULL) {
		if ((ret = sess_read(db, txn, t.sid, DB_RMW, &s)) != 0) {
			token_clear(&t);
			if (ret != DB_NOTFOUND)
				return ret;
			/* A token whose family is gone revokes nothing. */
			*rc = OA_DB_NOTFOUND;
			return OA_TXN_ABORT;
		}
		other = s.client == NULL || strcmp(s.client, a->client) != 0;
		sess_clear(&s);
		if (other) {
			token_clear(&t);
			*rc = OA_DB_INVALID;
			return OA_TXN_ABORT;
		}
	}
	ret = sess_revoke(db, txn, t.sid, NULL);
	a->sid = t.sid;
	t.sid = NULL;
	token_clear(&t);
	return ret;
}

enum oa_db_rc
oa_db_refresh_revoke(struct oa_db *db, const char *token, const char *client,
    char **sid)
{
	struct revoke_arg a = { token, client, NULL };
	enum oa_db_rc rc;

	if (!valid_secret(token))
		return OA_DB_NOTFOUND;
	if (client != NULL && !valid_text(client, CLIENT_MAX, 0))
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "token revoke", OA_TXN_WRITE, 0, revoke_fn, &a);
	if (rc == OA_DB_OK && sid != NULL) {
		*sid = a.sid;
		a.sid = NULL;
	}
	free(a.sid);
	return rc;
}

/* ---- login states ------------------------------------------------------- */

struct state_arg {
	const char *state;
	time_t expires;
};

static int
state_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct state_arg *a = arg;
	struct wbuf w = { 0 };
	struct key k;
	DBT v;
	int ret;

	k_hash(&k, 'L', a->state);
	if ((ret = kv_get(db, txn, &k, &v, DB_RMW)) == 0) {
		*rc = OA_DB_ALREADY;
		return OA_TXN_ABORT;
	}
	if (ret != DB_NOTFOUND)
		return ret;
	w_start(&w, 'L');
	w_u64(&w, t64(a->expires));
	ret = kv_put(db, txn, &k, &w);
	w_free(&w);
	if (ret == 0)
		ret = x_put(db, txn, t64(a->expires), &k);
	return ret;
}

enum oa_db_rc
oa_db_state_consume(struct oa_db *db, const char *state, time_t expires,
    time_t now)
{
	struct state_arg a = { state, expires };

	if (!valid_secret(state))
		return OA_DB_BADARG;
	return oa_db_txn(db, "state consume", OA_TXN_WRITE, now, state_fn,
	    &a);
}

/* ---- cache -------------------------------------------------------------- */

struct cache_arg {
	const char *key;
	const char *body;
	size_t len;
	time_t expires;
	char *out;
	size_t outlen;
};

static void
cache_key(struct key *k, const char *name)
{
	k_start(k, 'K');
	k_str(k, name);
}

static int
cache_decode(const DBT *v, time_t *expires, char **body, size_t *len)
{
	struct rbuf r;
	int ret;

	r_start(&r, v, 'K');
	*expires = r_time(&r);
	*body = r_mem(&r, len, 0);
	if (*body == NULL)
		r.bad = 1;
	if ((ret = r_end(&r)) != 0) {
		if (ret == OA_ERR_CORRUPT)
			oa_log(OA_LOG_WARN, "db: cache record does not "
			    "decode");
		free(*body);
		*body = NULL;
	}
	return ret;
}

static uint64_t
cache_purge_time(time_t expires)
{
	return t64(expires) + CACHE_GRACE;
}

static int
cache_put_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct cache_arg *a = arg;
	struct wbuf w = { 0 };
	struct key k;
	time_t old;
	char *body;
	size_t len;
	DBT v;
	int ret;

	(void)rc;
	cache_key(&k, a->key);
	ret = kv_get(db, txn, &k, &v, DB_RMW);
	if (ret == 0) {
		if ((ret = cache_decode(&v, &old, &body, &len)) != 0)
			return ret;
		free(body);
		if ((ret = x_del(db, txn, cache_purge_time(old), &k)) != 0)
			return ret;
	} else if (ret != DB_NOTFOUND) {
		return ret;
	}
	w_start(&w, 'K');
	w_u64(&w, t64(a->expires));
	w_mem(&w, a->body, a->len);
	ret = kv_put(db, txn, &k, &w);
	w_free(&w);
	if (ret == 0)
		ret = x_put(db, txn, cache_purge_time(a->expires), &k);
	return ret;
}

enum oa_db_rc
oa_db_cache_put(struct oa_db *db, const char *key, const char *body,
    size_t len, time_t expires)
{
	struct cache_arg a = { key, body, len, expires, NULL, 0 };

	if (key == NULL || *key == '\0' || !valid_text(key, CACHE_KEY_MAX, 0) ||
	    (body == NULL && len > 0) || len > CACHE_BODY_MAX)
		return OA_DB_BADARG;
	if (body == NULL)
		a.body = "";
	return oa_db_txn(db, "cache put", OA_TXN_WRITE, 0, cache_put_fn, &a);
}

static int
cache_get_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct cache_arg *a = arg;
	struct key k;
	DBT v;
	int ret;

	free(a->out);
	a->out = NULL;
	cache_key(&k, a->key);
	if ((ret = kv_get(db, txn, &k, &v, 0)) == DB_NOTFOUND) {
		*rc = OA_DB_NOTFOUND;
		return 0;
	}
	if (ret != 0)
		return ret;
	return cache_decode(&v, &a->expires, &a->out, &a->outlen);
}

enum oa_db_rc
oa_db_cache_get(struct oa_db *db, const char *key, char **body,
    size_t *len, time_t *expires)
{
	struct cache_arg a = { key, NULL, 0, 0, NULL, 0 };
	enum oa_db_rc rc;

	if (key == NULL || *key == '\0' || !valid_text(key, CACHE_KEY_MAX, 0) ||
	    body == NULL)
		return OA_DB_BADARG;
	rc = oa_db_txn(db, "cache get", 0, 0, cache_get_fn, &a);
	if (rc != OA_DB_OK) {
		free(a.out);
		return rc;
	}
	*body = a.out;
	if (len != NULL)
		*len = a.outlen;
	if (expires != NULL)
		*expires = a.expires;
	return OA_DB_OK;
}

/* ---- purge -------------------------------------------------------------- */

struct xfind {
	uint64_t now;
	size_t max;
	struct keylist l;
};

static int
xfind_each(const DBT *k, const DBT *v, void *arg)
{
	struct xfind *a = arg;

	if (k->size < 10)
		return collect_each(k, v, &a->l);   /* junk: drop it */
	if (get_be64((const uint8_t *)k->data + 1) > a->now ||
	    a->l.n >= a->max)
		return OA_TXN_ABORT;     /* sorted by time: done */
	return collect_each(k, v, &a->l);
}

/* The purge time of the record under orig as stored in it now, or 0 when
 * it is gone. */
static int
purge_time(struct oa_db *db, DB_TXN *txn, const struct key *orig,
    uint64_t *when)
{
	struct oa_token t;
	struct oa_sess s;
	struct rbuf r;
	time_t exp;
	char *body;
	size_t len;
	DBT v;
	int ret, used, replayed;
	struct oa_db_code *c;

	*when = 0;
	if ((ret = kv_get(db, txn, orig, &v, DB_RMW)) != 0)
		return ret == DB_NOTFOUND ? 0 : ret;
	switch (orig->b[0]) {
	case 'C':
		if ((ret = code_decode(&v, &c, &used, &replayed)) != 0)
			return ret;
		*when = t64(c->expires);
		oa_db_code_free(c);
		return 0;
	case 'L':
		r_start(&r, &v, 'L');
		*when = r_u64(&r);
		return r_end(&r);
	case 'K':
		if ((ret = cache_decode(&v, &exp, &body, &len)) != 0)
			return ret;
		free(body);
		*when = cache_purge_time(exp);
		return 0;
	case 'R':
		if ((ret = token_decode(&v, &t)) != 0)
			return ret;
		*when = t64(t.expires);
		token_clear(&t);
		return 0;
	case 'S':
		if ((ret = sess_decode(&v, &s)) != 0)
			return ret;
		*when = t64(s.expires);
		sess_clear(&s);
		return 0;
	}
	return 0;
}

int
oa_store_purge_batch(struct oa_db *db, DB_TXN *txn, time_t now, size_t max,
    size_t *removed)
{
	struct xfind f;
	struct key p, orig;
	uint64_t when;
	int ret;

	memset(&f, 0, sizeof(f));
	f.now = t64(now);
	f.max = max;
	*removed = 0;
	k_start(&p, 'X');
	if ((ret = scan(db, txn, &p, 0, DB_RMW, xfind_each, &f)) != 0)
		goto out;
	for (size_t i = 0; i < f.l.n; i++) {
		struct key *x = &f.l.v[i];

		if (x->n > 10) {
			orig.n = 0;
			orig.bad = 0;
			k_raw(&orig, x->b + 9, x->n - 9);
			if ((ret = purge_time(db, txn, &orig, &when)) != 0)
				goto out;
			/* A stale entry (the record was renewed or is gone)
			 * only loses its index entry. */
			if (when != 0 && when <= f.now) {
				char sid[ID_MAX + 1];

				switch (orig.b[0]) {
				case 'R':
					if (orig.n == 1 + HASH_LEN)
						ret = token_delete(db, txn,
						    orig.b + 1);
					break;
				case 'S':
					if (orig.n - 1 > ID_MAX)
						break;
					memcpy(sid, orig.b + 1, orig.n - 1);
					sid[orig.n - 1] = '\0';
					ret = sess_delete(db, txn, sid);
					break;
				default:
					ret = kv_del(db, txn, &orig);
				}
				if (ret != 0)
					goto out;
			}
		}
		if ((ret = kv_del(db, txn, x)) != 0)
			goto out;
		(*removed)++;
	}
out:
	keylist_free(&f.l);
	return ret;
}

struct purge_all_arg {
	time_t now;
	size_t removed;
};

static int
purge_all_fn(struct oa_db *db, DB_TXN *txn, void *arg, enum oa_db_rc *rc)
{
	struct purge_all_arg *a = arg;

	(void)rc;
	a->removed = 0;
	return oa_store_purge_batch(db, txn, a->now, 200, &a->removed);
}

enum oa_db_rc
oa_db_purge(struct oa_db *db, time_t now, size_t *removed)
{
	struct purge_all_arg a = { now, 0 };
	enum oa_db_rc rc;
	size_t total = 0;

	do {
		if ((rc = oa_db_txn(db, "purge", 0, 0, purge_all_fn, &a)) !=
		    OA_DB_OK)
			return rc;
		total += a.removed;
	} while (a.removed >= 200);
	if (removed != NULL)
		*removed = total;
	return OA_DB_OK;
}

/* ---- check (a walk over a quiescent copy) ------------------------------- */

struct walk {
	DB *d;
	struct oa_db_report *rep;
};

static void
problem(struct walk *w, const DBT *k, const char *what)
{
	if (w->rep->problems++ < 20)
		oa_log(OA_LOG_WARN, "db: check: record '%c' (%u bytes key): "
		    "%s", k->size > 0 ? ((const char *)k->data)[0] : '?',
		    (unsigned)k->size, what);
}

/* 1 when key k exists in the copy (0 when not, -1 on error). */
static int
has(struct walk *w, const struct key *k)
{
	DBT key, val;
	int ret;

	if (k->bad)
		return 0;
	dbt_key(&key, k);
	memset(&val, 0, sizeof(val));
	ret = w->d->get(w->d, NULL, &key, &val, 0);
	if (ret == 0)
		return 1;
	return ret == DB_NOTFOUND ? 0 : -1;
}

/* Splits "a \0 b" at base into two strings (malloc'd); -1 when not. */
static int
split2(const uint8_t *p, size_t n, char **a, char **b)
{
	size_t al = strnlen((const char *)p, n);

	*a = *b = NULL;
	if (al == 0 || al >= n - 1)
		return -1;
	if ((*a = strndup((const char *)p, al)) == NULL ||
	    (*b = strndup((const char *)p + al + 1, n - al - 1)) == NULL ||
	    strlen(*b) != n - al - 1) {
		free(*a);
		free(*b);
		*a = *b = NULL;
		return -1;
	}
	return 0;
}

static int
walk_one(struct walk *w, const DBT *k, const DBT *v)
{
	const uint8_t *kb = k->data;
	struct oa_db_report *rep = w->rep;
	struct oa_db_user *u = NULL;
	struct oa_db_code *c = NULL;
	struct oa_token t;
	struct oa_sess s;
	struct key q;
	struct rbuf r;
	char *a = NULL, *b = NULL, *uid = NULL, *body = NULL;
	time_t tm;
	size_t len;
	int ret = 0, x, y, found;

	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	switch (kb[0]) {
	case 'M':
		r_start(&r, v, 'M');
		(void)r_u64(&r);
		if (r_end(&r) != 0)
			problem(w, k, "meta record does not decode");
		break;
	case 'D':
		rep->deleted_ids++;
		r_start(&r, v, 'D');
		(void)r_u64(&r);
		if (r_end(&r) != 0)
			problem(w, k, "deleted-id record does not decode");
		break;
	case 'U':
		rep->users++;
		if ((ret = user_decode(v, (const char *)kb + 1, k->size - 1,
		    &u)) != 0) {
			if (ret == ENOMEM)
				return ret;
			problem(w, k, "user record does not decode");
			return 0;
		}
		if (u->email != NULL && u->email_verified && *u->email) {
			email_key(&q, u->email, u->id);
			if (has(w, &q) != 1)
				problem(w, k, "verified email not indexed");
		}
		break;
	case 'I':
		rep->identities++;
		if (ident_decode(v, &uid, &tm) != 0 ||
		    split2(kb + 1, k->size - 1, &a, &b) != 0) {
			problem(w, k, "identity record does not decode");
			break;
		}
		user_key(&q, uid);
		if (has(w, &q) != 1)
			problem(w, k, "identity of a missing user");
		ident_rkey(&q, uid, a, b);
		if (has(w, &q) != 1)
			problem(w, k, "identity missing from its user's index");
		break;
	case 'i': {
		/* i uid \0 provider \0 subject */
		const uint8_t *z = memchr(kb + 1, 0, k->size - 1);
		size_t rest;

		if (z == NULL || z == kb + 1 ||
		    (rest = k->size - (size_t)(z + 1 - kb)) == 0 ||
		    memchr(z + 1, 0, rest) == NULL) {
			problem(w, k, "identity index key does not decode");
			break;
		}
		k_start(&q, 'I');
		k_raw(&q, z + 1, rest);
		if (has(w, &q) != 1)
			problem(w, k, "identity index entry without identity");
		break;
	}
	case 'E':
		rep->emails++;
		if (split2(kb + 1, k->size - 1, &a, &uid) != 0) {
			problem(w, k, "email index key does not decode");
			break;
		}
		user_key(&q, uid);
		if (has(w, &q) != 1)
			problem(w, k, "email index entry of a missing user");
		break;
	case 'C':
		rep->codes++;
		if (k->size != 1 + HASH_LEN ||
		    code_decode(v, &c, &x, &y) != 0)
			problem(w, k, "code record does not decode");
		break;
	case 'S':
		rep->sessions++;
		if (sess_decode(v, &s) != 0) {
			problem(w, k, "session record does not decode");
			break;
		}
		if ((a = strndup((const char *)kb + 1, k->size - 1)) == NULL)
			return ENOMEM;
		user_key(&q, s.user);
		if (has(w, &q) != 1)
			problem(w, k, "session of a missing user");
		user_sess_key(&q, s.user, a);
		if (has(w, &q) != 1)
			problem(w, k, "session missing from its user's index");
		break;
	case 's':
		if (split2(kb + 1, k->size - 1, &uid, &a) != 0) {
			problem(w, k, "session index key does not decode");
			break;
		}
		sess_key(&q, a);
		if (has(w, &q) != 1)
			problem(w, k, "session index entry without session");
		break;
	case 'R':
		rep->refresh_tokens++;
		if (k->size != 1 + HASH_LEN || token_decode(v, &t) != 0) {
			problem(w, k, "refresh token record does not decode");
			break;
		}
		sess_key(&q, t.sid);
		found = has(w, &q);
		if (found != 1)
			problem(w, k, "refresh token of a missing session");
		family_key(&q, t.sid, kb + 1);
		if (has(w, &q) != 1)
			problem(w, k, "refresh token missing from its family");
		break;
	case 'r':
		if (k->size < 2 + HASH_LEN + 1) {
			problem(w, k, "family index key does not decode");
			break;
		}
		k_start(&q, 'R');
		k_raw(&q, kb + k->size - HASH_LEN, HASH_LEN);
		if (has(w, &q) != 1)
			problem(w, k, "family index entry without token");
		break;
	case 'L':
		rep->states++;
		r_start(&r, v, 'L');
		(void)r_u64(&r);
		if (k->size != 1 + HASH_LEN || r_end(&r) != 0)
			problem(w, k, "login state record does not decode");
		break;
	case 'K':
		rep->cache++;
		if (cache_decode(v, &tm, &body, &len) != 0)
			problem(w, k, "cache record does not decode");
		break;
	case 'X':
		if (k->size < 10)
			problem(w, k, "expiry index key does not decode");
		break;
	default:
		problem(w, k, "unknown record type");
	}
	free(a);
	free(b);
	free(uid);
	free(body);
	oa_db_user_free(u);
	oa_db_code_free(c);
	token_clear(&t);
	sess_clear(&s);
	return 0;
}

int
oa_store_walk(DB *d, struct oa_db_report *rep)
{
	struct walk w = { d, rep };
	DBC *c = NULL;
	DBT key, val, kc, vc;
	int ret, t;

	if ((ret = d->cursor(d, NULL, &c, 0)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	/* Copies: the walk reads other records while the cursor stands. */
	memset(&kc, 0, sizeof(kc));
	memset(&vc, 0, sizeof(vc));
	while ((ret = c->get(c, &key, &val, DB_NEXT)) == 0) {
		if (key.size == 0) {
			rep->problems++;
			continue;
		}
		kc.data = malloc(key.size);
		vc.data = malloc(val.size ? val.size : 1);
		if (kc.data == NULL || vc.data == NULL) {
			free(kc.data);
			free(vc.data);
			ret = ENOMEM;
			break;
		}
		memcpy(kc.data, key.data, key.size);
		if (val.size > 0)
			memcpy(vc.data, val.data, val.size);
		kc.size = key.size;
		vc.size = val.size;
		ret = walk_one(&w, &kc, &vc);
		free(kc.data);
		free(vc.data);
		if (ret != 0)
			break;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	t = c->close(c);
	return ret != 0 ? ret : t;
}
