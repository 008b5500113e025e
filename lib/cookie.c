/*
 * cookie.c - sealed cookies and the in-flight login cookie.
 *
 * A sealed value is AES-256-GCM under the key directory's cookie key:
 * confidential (the upstream PKCE verifier and nonce ride in it) and
 * integrity-protected (a flipped bit, another key, or a value copied
 * under another cookie name fails the tag check). The issue time is
 * inside the plaintext, so an old value cannot be replayed past max_age
 * even when the browser kept it longer than Max-Age said.
 *
 * Nonces are 96 random bits per seal; with one key that stays far below
 * the 2^32 messages NIST SP 800-38D §8.3 allows for random nonces.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ownauth.h"
#include "bytes_int.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define TIME_LEN 8
#define HEAD_LEN (1 + NONCE_LEN)
#define OVERHEAD (HEAD_LEN + TIME_LEN + TAG_LEN)

const char *
oa_seal_result_str(enum oa_seal_result r)
{
	switch (r) {
	case OA_SEAL_OK:
		return "ok";
	case OA_SEAL_MALFORMED:
		return "malformed sealed value";
	case OA_SEAL_BAD_VERSION:
		return "unknown sealed value version";
	case OA_SEAL_BAD_TAG:
		return "authentication tag mismatch";
	case OA_SEAL_EXPIRED:
		return "sealed value expired";
	case OA_SEAL_ERROR:
		return "internal error";
	}
	return "unknown result";
}

/*
 * AES-256-GCM, fetched from the provider once for the process:
 * EVP_aes_256_gcm() would fetch it again at every seal and open (a
 * lock, a name lookup and a property query, a few microseconds). Kept
 * for the life of the process, never freed. When the fetch fails,
 * EVP_aes_256_gcm() is used, which then fails the same way (logged by
 * the caller).
 */
static const EVP_CIPHER *
gcm_cipher(void)
{
	static EVP_CIPHER *cipher;

	if (cipher == NULL)
		cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	return cipher != NULL ? cipher : EVP_aes_256_gcm();
}

/*
 * One AES-256-GCM context for sealing and one for opening, kept for the
 * life of the process with the key they were set up for: a FastCGI
 * worker seals or opens with the same cookie key request after request,
 * and setting up a context (allocation, provider context, AES key
 * schedule) cost more than the cipher work on a login cookie. Each call
 * sets a new nonce (EVP_CipherInit_ex with the IV alone, which resets
 * the GCM state) and keeps the key schedule while the key is the same
 * 32 bytes. A context whose operation failed half-way is set up afresh
 * at its next use.
 */
struct gcm_slot {
	EVP_CIPHER_CTX *ctx;
	uint8_t key[32];
	int keyed;
};
static struct gcm_slot seal_slot, open_slot;

/* slot's context ready to encrypt (enc 1) or decrypt (0) under key
 * with iv, or NULL (logged by the caller). */
static EVP_CIPHER_CTX *
gcm_start(struct gcm_slot *slot, const uint8_t key[32], const uint8_t *iv,
    int enc)
{
	if (slot->ctx == NULL && (slot->ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (slot->keyed && CRYPTO_memcmp(slot->key, key, 32) == 0) {
		if (EVP_CipherInit_ex(slot->ctx, NULL, NULL, NULL, iv, enc) ==
		    1)
			return slot->ctx;
	}
	slot->keyed = 0;
	if (EVP_CipherInit_ex(slot->ctx, gcm_cipher(), NULL, key, iv, enc) !=
	    1)
		return NULL;
	memcpy(slot->key, key, 32);
	slot->keyed = 1;
	return slot->ctx;
}

/* After a failed operation: the next use sets the context up afresh. */
static void
gcm_reset(struct gcm_slot *slot)
{
	slot->keyed = 0;
	OPENSSL_cleanse(slot->key, sizeof(slot->key));
}

static void
put_be64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(u & 0xff);
		u >>= 8;
	}
}

static int64_t
get_be64(const uint8_t *p)
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

char *
oa_cookie_seal(const uint8_t key[32], const char *name, const void *data,
    size_t len, time_t now)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL, ts[TIME_LEN];
	const uint8_t ver = OA_SEAL_VERSION;
	size_t total;
	char *out = NULL;
	int n, off;

	if (key == NULL || name == NULL || (data == NULL && len > 0) ||
	    len > OA_SEAL_MAX_DATA) {
		oa_log(OA_LOG_ERROR, "oa_cookie_seal: bad arguments");
		return NULL;
	}
	total = OVERHEAD + len;
	if ((buf = malloc(total)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_cookie_seal: out of memory");
		goto out;
	}
	buf[0] = ver;
	if (oa_random(buf + 1, NONCE_LEN) != 0) {
		oa_log(OA_LOG_ERROR, "oa_cookie_seal: oa_random failed");
		goto out;
	}
	put_be64(ts, (int64_t)now);
	if ((ctx = gcm_start(&seal_slot, key, buf + 1, 1)) == NULL ||
	    EVP_EncryptUpdate(ctx, NULL, &n, &ver, 1) != 1 ||
	    EVP_EncryptUpdate(
	        ctx, NULL, &n, (const uint8_t *)name, (int)strlen(name)) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + HEAD_LEN, &n, ts, TIME_LEN) != 1) {
		oa_log(OA_LOG_ERROR, "oa_cookie_seal: EVP_Encrypt failed");
		goto out;
	}
	off = HEAD_LEN + n;
	if (len > 0) {
		if (EVP_EncryptUpdate(ctx, buf + off, &n, data, (int)len) !=
		    1) {
			oa_log(OA_LOG_ERROR,
			    "oa_cookie_seal: EVP_EncryptUpdate "
			    "failed");
			goto out;
		}
		off += n;
	}
	if (EVP_EncryptFinal_ex(ctx, buf + off, &n) != 1 ||
	    (size_t)(off + n) != total - TAG_LEN ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN,
	        buf + total - TAG_LEN) != 1) {
		oa_log(OA_LOG_ERROR, "oa_cookie_seal: EVP_EncryptFinal failed");
		goto out;
	}
	if ((out = oa_b64url_encode(buf, total)) == NULL)
		oa_log(OA_LOG_ERROR, "oa_cookie_seal: oa_b64url_encode failed");
out:
	if (out == NULL)
		gcm_reset(&seal_slot);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, total);
		free(buf);
	}
	OPENSSL_cleanse(ts, sizeof(ts));
	return out;
}

enum oa_seal_result
oa_cookie_open(const uint8_t key[32], const char *name, const char *value,
    size_t vlen, time_t now, long max_age, uint8_t **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *raw = NULL, *pt = NULL, tag[TAG_LEN];
	size_t rawlen = 0, ctlen = 0;
	enum oa_seal_result r = OA_SEAL_ERROR;
	int64_t issued;
	int n, off;

	if (key == NULL || name == NULL || out == NULL || max_age < 0)
		return OA_SEAL_ERROR;
	if (value == NULL || vlen > OA_SEAL_MAX_VALUE)
		return OA_SEAL_MALFORMED;
	if (oa_b64url_decode(value, vlen, &raw, &rawlen) != 0)
		return OA_SEAL_MALFORMED;
	if (rawlen < OVERHEAD) {
		r = OA_SEAL_MALFORMED;
		goto out;
	}
	if (raw[0] != OA_SEAL_VERSION) {
		r = OA_SEAL_BAD_VERSION;
		goto out;
	}
	ctlen = rawlen - HEAD_LEN - TAG_LEN;
	memcpy(tag, raw + rawlen - TAG_LEN, TAG_LEN);
	if ((pt = malloc(ctlen + 1)) == NULL)
		goto out;
	if ((ctx = gcm_start(&open_slot, key, raw + 1, 0)) == NULL ||
	    EVP_DecryptUpdate(ctx, NULL, &n, raw, 1) != 1 ||
	    EVP_DecryptUpdate(
	        ctx, NULL, &n, (const uint8_t *)name, (int)strlen(name)) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &n, raw + HEAD_LEN, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) !=
	        1) {
		oa_log(OA_LOG_ERROR, "oa_cookie_open: EVP_Decrypt failed");
		goto out;
	}
	off = n;
	/* GCM checks the tag here, in constant time. */
	if (EVP_DecryptFinal_ex(ctx, pt + off, &n) != 1) {
		r = OA_SEAL_BAD_TAG;
		goto out;
	}
	off += n;
	if ((size_t)off != ctlen)
		goto out;
	issued = get_be64(pt);
	/* Written so that no subtraction can overflow: issued is any
	 * 64-bit value, now and max_age are sane. */
	if (issued > (int64_t)now + OA_SEAL_SKEW ||
	    issued < (int64_t)now - (int64_t)max_age) {
		r = OA_SEAL_EXPIRED;
		goto out;
	}
	memmove(pt, pt + TIME_LEN, ctlen - TIME_LEN);
	pt[ctlen - TIME_LEN] = '\0';
	OPENSSL_cleanse(pt + ctlen - TIME_LEN + 1, TIME_LEN);
	*out = pt;
	if (outlen != NULL)
		*outlen = ctlen - TIME_LEN;
	pt = NULL;
	r = OA_SEAL_OK;
out:
	if (ctx != NULL && r != OA_SEAL_OK)
		gcm_reset(&open_slot);
	if (pt != NULL) {
		OPENSSL_cleanse(pt, ctlen + 1);
		free(pt);
	}
	if (raw != NULL) {
		OPENSSL_cleanse(raw, rawlen);
		free(raw);
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* Set-Cookie.                                                         */

enum cookie_scope {
	SCOPE_HOST,     /* https, no path: __Host-, Secure, Path=/ */
	SCOPE_SECURE,   /* https with a path: __Secure-, Secure */
	SCOPE_LOOPBACK, /* http on a loopback host: no prefix, no Secure */
};

/*
 * Works out how cookies are scoped for issuer and points *pathp at the
 * Path attribute value (inside issuer, or a static "/"). 0 or -1. Runs
 * on every login redirect: nothing is copied, oa_url_split only checks.
 */
static int
issuer_scope(const char *issuer, enum cookie_scope *scope, const char **pathp)
{
	const char *auth, *aend, *hend, *path;
	char host[256];   /* oa_url_split: a name has at most 253 bytes */
	size_t i, hl;
	int https;

	if (issuer == NULL ||
	    oa_url_split(issuer, NULL, NULL, NULL, NULL) != 0) {
		oa_log(OA_LOG_ERROR, "cookie: cannot parse the issuer URL");
		return -1;
	}
	/* Split as oa_url_split does: scheme "://" host [":" port] rest. */
	https = strncmp(issuer, "https://", 8) == 0;
	auth = issuer + (https ? 8 : 7);
	aend = auth + strcspn(auth, "/?");
	if (*auth == '[')
		hend = (const char *)memchr(auth, ']', (size_t)(aend - auth)) +
		    1;
	else if ((hend = memchr(auth, ':', (size_t)(aend - auth))) == NULL)
		hend = aend;
	path = aend;
	hl = (size_t)(hend - auth);
	if (hl >= sizeof(host))
		hl = 0;   /* never: then not loopback */
	memcpy(host, auth, hl);
	host[hl] = '\0';
	if (https)
		*scope = path[0] == '\0' || strcmp(path, "/") == 0
		    ? SCOPE_HOST
		    : SCOPE_SECURE;
	else if (oa_host_is_loopback(host))
		*scope = SCOPE_LOOPBACK;
	else {
		oa_log(OA_LOG_ERROR,
		    "cookie: the issuer is http on a host "
		    "that is not loopback");
		return -1;
	}
	/* RFC 6265 §4.1.1 path-value: no CTL and no ';'. We also refuse
	 * ',' (old folding) and anything but a plain path. */
	for (i = 0; path[i] != '\0'; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c <= 0x20 || c >= 0x7f || c == ';' || c == ',' ||
		    c == '?' || c == '#' || c == '"' || c == '\\') {
			oa_log(OA_LOG_ERROR,
			    "cookie: the issuer path has a "
			    "character not allowed in a cookie Path");
			return -1;
		}
	}
	*pathp = path[0] == '\0' ? "/" : path;
	return 0;
}

static int
valid_base(const char *base)
{
	size_t i;

	if (base == NULL || base[0] == '\0' || strlen(base) > 64)
		return 0;
	for (i = 0; base[i] != '\0'; i++) {
		unsigned char c = (unsigned char)base[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B /
 * %x5D-7E, as a bitmap of the 128 ASCII bytes. Looked up without
 * branches: a login cookie's value is ~700 bytes of random-looking
 * base64url, checked at every login. */
static const uint64_t cookie_octets[2] = {
	0xf7ffeffa00000000ULL,  /* 0x00-0x3f */
	0x7fffffffefffffffULL,  /* 0x40-0x7f */
};

static int
valid_value(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t i = 0, len = strlen(v);
	uint64_t ok = 1, w;

	/* Eight bytes at a time: none below 0x21 or above 0x7e, none of
	 * " , ; \ (the same set as cookie_octets). */
	for (; i + 8 <= len; i += 8) {
		w = oa_word(p + i);
		if (oa_any_below(w, 0x21) | oa_any_above(w, 0x7e) |
		    oa_any_equal(w, '"') | oa_any_equal(w, ',') |
		    oa_any_equal(w, ';') | oa_any_equal(w, '\\'))
			return 0;
	}
	for (; i < len; i++) {
		unsigned c = p[i];
		/* Bytes >= 0x80 look at word 0 or 1 but are refused by
		 * the (c < 0x80) factor. */
		ok &= (cookie_octets[(c >> 6) & 1] >> (c & 63)) &
		    (uint64_t)(c < 0x80);
	}
	return (int)ok;
}

static const char *
scope_prefix(enum cookie_scope scope)
{
	switch (scope) {
	case SCOPE_HOST:
		return "__Host-";
	case SCOPE_SECURE:
		return "__Secure-";
	case SCOPE_LOOPBACK:
		break;
	}
	return "";
}

char *
oa_cookie_name(const char *issuer, const char *base)
{
	enum cookie_scope scope;
	const char *path;
	char *name = NULL;

	if (!valid_base(base) || issuer_scope(issuer, &scope, &path) != 0)
		return NULL;
	if (asprintf(&name, "%s%s", scope_prefix(scope), base) < 0)
		return NULL;
	return name;
}

/*
 * The Set-Cookie value of oa_cookie_header() for a scope and path from
 * issuer_scope(), base and value already checked. Malloc'd, or NULL.
 */
static char *
header_build(enum cookie_scope scope, const char *path, const char *base,
    const char *value, long max_age, enum oa_samesite samesite)
{
	/* PREFIX BASE=VALUE; Path=PATH; Max-Age=N; HttpOnly[; Secure];
	 * SameSite=Lax|Strict, put together piece by piece (it runs on
	 * every login redirect; no format to parse). __Host- requires
	 * Path=/ (RFC 6265bis §4.1.3.2); issuer_scope gives "/" exactly
	 * then. */
	const char *pieces[] = {
		scope_prefix(scope), base, "=", value, "; Path=", path,
		"; Max-Age=", NULL, "; HttpOnly",
		scope == SCOPE_LOOPBACK ? "" : "; Secure",
		samesite == OA_SAMESITE_STRICT ? "; SameSite=Strict" :
		    "; SameSite=Lax",
	};
	size_t lens[sizeof(pieces) / sizeof(pieces[0])];
	char num[24], *d, *out;
	size_t i, cap = 1;
	unsigned long v;

	/* The digits of max_age (>= 0, checked by the callers). */
	d = num + sizeof(num);
	*--d = '\0';
	v = max_age > 0 ? (unsigned long)max_age : 0;
	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	pieces[7] = d;
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		cap += lens[i] = strlen(pieces[i]);
	if ((out = malloc(cap)) == NULL)
		return NULL;
	d = out;
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		memcpy(d, pieces[i], lens[i]);
		d += lens[i];
	}
	*d = '\0';
	return out;
}

char *
oa_cookie_header(const char *issuer, const char *base, const char *value,
    long max_age, enum oa_samesite samesite)
{
	enum cookie_scope scope;
	const char *path;
	char *out;

	if (!valid_base(base) || value == NULL || !valid_value(value) ||
	    max_age < 0) {
		oa_log(OA_LOG_ERROR, "oa_cookie_header: bad arguments");
		return NULL;
	}
	if (issuer_scope(issuer, &scope, &path) != 0)
		return NULL;
	out = header_build(scope, path, base, value, max_age, samesite);
	return out;
}

/* ------------------------------------------------------------------ */
/* In-flight logins.                                                   */

/* The JSON member of each field: short, the cookie is size-bound. */
static const struct {
	const char *key;
	size_t off;
} fields[] = {
    {"s", offsetof(struct oa_login, state)},
    {"p", offsetof(struct oa_login, provider)},
    {"c", offsetof(struct oa_login, client_id)},
    {"r", offsetof(struct oa_login, redirect_uri)},
    {"cs", offsetof(struct oa_login, client_state)},
    {"cn", offsetof(struct oa_login, client_nonce)},
    {"cc", offsetof(struct oa_login, code_challenge)},
    {"rt", offsetof(struct oa_login, response_type)},
    {"sc", offsetof(struct oa_login, scope)},
    {"v", offsetof(struct oa_login, verifier)},
    {"n", offsetof(struct oa_login, nonce)},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static char **
field(struct oa_login *l, size_t i)
{
	return (char **)((char *)l + fields[i].off);
}

static const char *
cfield(const struct oa_login *l, size_t i)
{
	return *(char *const *)((const char *)l + fields[i].off);
}

void
oa_login_free(struct oa_login *l)
{
	size_t i;

	if (l == NULL)
		return;
	if (l->block != 0) {
		/* oa_login_dup: the struct and its strings together. */
		OPENSSL_cleanse(l, l->block);
		free(l);
		return;
	}
	for (i = 0; i < NFIELDS; i++)
		oa_secret_free(*field(l, i));
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}

/* A login with the fields vals[] (NULL: absent) in one allocation. */
static struct oa_login *
login_block(const char *const vals[NFIELDS], time_t created)
{
	struct oa_login *l;
	size_t i, n, total = sizeof(*l), lens[NFIELDS];
	char *d;

	for (i = 0; i < NFIELDS; i++) {
		lens[i] = vals[i] != NULL ? strlen(vals[i]) : 0;
		if (vals[i] != NULL)
			total += lens[i] + 1;
	}
	if ((l = malloc(total)) == NULL)
		return NULL;
	memset(l, 0, sizeof(*l));
	d = (char *)(l + 1);
	for (i = 0; i < NFIELDS; i++) {
		if (vals[i] == NULL)
			continue;
		n = lens[i] + 1;
		memcpy(d, vals[i], n);
		*field(l, i) = d;
		d += n;
	}
	l->created = created;
	l->block = total;
	return l;
}

struct oa_login *
oa_login_dup(const struct oa_login *login)
{
	const char *vals[NFIELDS];
	size_t i;

	if (login == NULL)
		return NULL;
	for (i = 0; i < NFIELDS; i++)
		vals[i] = cfield(login, i);
	return login_block(vals, login->created);
}

struct oa_logins *
oa_logins_new(void)
{
	return calloc(1, sizeof(struct oa_logins));
}

void
oa_logins_free(struct oa_logins *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		oa_login_free(set->v[i]);
	free(set);
}

/* Removes entry i, keeping the order. */
static void
logins_remove(struct oa_logins *set, size_t i)
{
	memmove(
	    &set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof(set->v[0]));
	set->n--;
	set->v[set->n] = NULL;
}

/* Appends l (owned), evicting the oldest when full. */
static void
logins_push(struct oa_logins *set, struct oa_login *l)
{
	if (set->n == OA_LOGIN_MAX) {
		oa_login_free(set->v[0]);
		logins_remove(set, 0);
	}
	set->v[set->n++] = l;
}

int
oa_logins_add(struct oa_logins *set, const struct oa_login *login)
{
	struct oa_login *l = NULL;
	size_t i;

	if (set == NULL || login == NULL || login->state == NULL ||
	    login->state[0] == '\0' || login->provider == NULL ||
	    login->provider[0] == '\0') {
		oa_log(OA_LOG_ERROR,
		    "oa_logins_add: state and provider are "
		    "required");
		return -1;
	}
	/* What logins_decode would refuse is never written: one field too
	 * long would make the whole cookie unreadable. */
	for (i = 0; i < NFIELDS; i++) {
		const char *s = cfield(login, i);
		if (s != NULL && strlen(s) > OA_LOGIN_MAX_FIELD) {
			oa_log(OA_LOG_ERROR, "oa_logins_add: a field is longer "
			    "than %d bytes", OA_LOGIN_MAX_FIELD);
			return -1;
		}
	}
	if ((l = oa_login_dup(login)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_logins_add: out of memory");
		return -1;
	}
	if (l->created == 0)
		l->created = time(NULL);
	logins_push(set, l);
	return 0;
}

int
oa_logins_take(struct oa_logins *set, const char *state, struct oa_login **out)
{
	size_t i, found = OA_LOGIN_MAX;

	if (set == NULL || state == NULL || out == NULL)
		return -1;
	/* Every entry is compared, in constant time each. */
	for (i = 0; i < set->n; i++)
		if (oa_ct_streq(set->v[i]->state, state) &&
		    found == OA_LOGIN_MAX)
			found = i;
	if (found == OA_LOGIN_MAX)
		return -1;
	*out = set->v[found];
	logins_remove(set, found);
	return 0;
}

/* cJSON does not wipe: clear every string of the tree. */
static void
json_wipe(cJSON *j)
{
	cJSON *c;

	for (c = j; c != NULL; c = c->next) {
		if (c->child != NULL)
			json_wipe(c->child);
		if (cJSON_IsString(c) && c->valuestring != NULL)
			OPENSSL_cleanse(c->valuestring, strlen(c->valuestring));
	}
}

static void
json_wipe_delete(cJSON *j)
{
	if (j == NULL)
		return;
	if (j->child != NULL)
		json_wipe(j->child);
	cJSON_Delete(j);
}

/*
 * The login cookie's plaintext, written straight (cJSON's tree of
 * nodes, one allocation per member, cost more than the sealing):
 *   [{"s":"...","p":"...",...,"t":1700000000},...]
 * members in the order of fields[], absent ones left out, strings
 * escaped as RFC 8259 §7 says (and as cJSON does: \" \\ \b \f \n \r \t,
 * \u00XX for other control bytes, other bytes as they are). One pass
 * into a buffer sized for the worst case (every byte escaped as six).
 */

/* 1 for the bytes a JSON string carries as they are (and 0 for NUL). */
static int
json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

/* s as a JSON string at d; returns the end. Room: 2 + 6 * strlen(s). */
static char *
put_string(char *d, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	*d++ = '"';
	for (;;) {
		/* The run of bytes that go as they are, in one copy. */
		for (n = 0; json_plain(p[n]); n++)
			continue;
		memcpy(d, p, n);
		d += n;
		p += n;
		if (*p == '\0')
			break;
		*d++ = '\\';
		switch (*p) {
		case '"':
		case '\\':
			*d++ = (char)*p;
			break;
		case '\b':
			*d++ = 'b';
			break;
		case '\f':
			*d++ = 'f';
			break;
		case '\n':
			*d++ = 'n';
			break;
		case '\r':
			*d++ = 'r';
			break;
		case '\t':
			*d++ = 't';
			break;
		default:
			memcpy(d, "u00", 3);
			d[3] = hex[*p >> 4];
			d[4] = hex[*p & 15];
			d += 5;
			break;
		}
		p++;
	}
	*d++ = '"';
	return d;
}

/* The plaintext, malloc'd and NUL-terminated (json_text_free), or NULL. */
static char *
logins_encode(const struct oa_logins *set)
{
	/* ,{ } ] and "t": with a 64-bit number's digits and sign. */
	size_t cap = 2, i, k;
	char *txt, *d, num[24], *nd;
	unsigned long long v;
	long long t;

	for (i = 0; i < set->n; i++) {
		cap += 2 + 1 + sizeof("\"t\":") + sizeof(num);
		for (k = 0; k < NFIELDS; k++) {
			const char *val = cfield(set->v[i], k);

			if (val != NULL)
				cap += 2 + strlen(fields[k].key) + 1 + 2 +
				    6 * strlen(val) + 1;
		}
	}
	if ((txt = malloc(cap)) == NULL)
		return NULL;
	d = txt;
	*d++ = '[';
	for (i = 0; i < set->n; i++) {
		if (i > 0)
			*d++ = ',';
		*d++ = '{';
		for (k = 0; k < NFIELDS; k++) {
			const char *val = cfield(set->v[i], k);

			if (val == NULL)
				continue;
			d = put_string(d, fields[k].key);
			*d++ = ':';
			d = put_string(d, val);
			*d++ = ',';
		}
		memcpy(d, "\"t\":", 4);
		d += 4;
		/* As %lld: the digits, a minus sign first when negative. */
		t = (long long)set->v[i]->created;
		v = t < 0 ? 0ULL - (unsigned long long)t :
		    (unsigned long long)t;
		nd = num + sizeof(num);
		do {
			*--nd = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		if (t < 0)
			*--nd = '-';
		memcpy(d, nd, (size_t)(num + sizeof(num) - nd));
		d += num + sizeof(num) - nd;
		*d++ = '}';
	}
	*d++ = ']';
	*d = '\0';
	return txt;
}

static void
json_text_free(char *txt)
{
	if (txt != NULL) {
		OPENSSL_cleanse(txt, strlen(txt));
		free(txt);
	}
}

/*
 * Parses the plaintext of a login cookie. Strict: an array of at most
 * OA_LOGIN_MAX objects whose known members are strings (and "t" an
 * integer); unknown members are ignored. Logins outside
 * [now - OA_LOGIN_TTL, now + OA_SEAL_SKEW] are dropped. 0 or -1.
 */
static int
logins_decode(const char *txt, size_t len, time_t now, struct oa_logins **out)
{
	cJSON *arr = NULL, *o;
	struct oa_logins *set = NULL;
	struct oa_login *l = NULL;
	int rc = -1;
	size_t k;

	if ((arr = cJSON_ParseWithLength(txt, len)) == NULL ||
	    !cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > OA_LOGIN_MAX)
		goto out;
	if ((set = oa_logins_new()) == NULL)
		goto out;
	cJSON_ArrayForEach(o, arr)
	{
		const char *vals[NFIELDS] = { NULL };
		const cJSON *t;
		time_t created;
		double d;

		if (!cJSON_IsObject(o))
			goto out;
		for (k = 0; k < NFIELDS; k++) {
			const cJSON *m =
			    cJSON_GetObjectItemCaseSensitive(o, fields[k].key);
			if (m == NULL)
				continue;
			if (!cJSON_IsString(m) || m->valuestring == NULL ||
			    strlen(m->valuestring) > OA_LOGIN_MAX_FIELD)
				goto out;
			vals[k] = m->valuestring;
		}
		t = cJSON_GetObjectItemCaseSensitive(o, "t");
		if (!cJSON_IsNumber(t))
			goto out;
		d = t->valuedouble;
		if (!(d >= 0 && d <= 9007199254740992.0) ||
		    d != (double)(int64_t)d)
			goto out;
		created = (time_t)d;
		/* fields[0] is the state, fields[1] the provider. */
		if (vals[0] == NULL || vals[0][0] == '\0' ||
		    vals[1] == NULL || vals[1][0] == '\0')
			goto out;
		if ((int64_t)created < (int64_t)now - OA_LOGIN_TTL ||
		    (int64_t)created > (int64_t)now + OA_SEAL_SKEW)
			continue; /* expired: dropped */
		if ((l = login_block(vals, created)) == NULL)
			goto out;
		logins_push(set, l);
		l = NULL;
	}
	*out = set;
	set = NULL;
	rc = 0;
out:
	oa_login_free(l);
	oa_logins_free(set);
	json_wipe_delete(arr);
	return rc;
}

char *
oa_logins_seal(
    const uint8_t key[32], const char *name, struct oa_logins *set, time_t now)
{
	char *txt, *val;

	if (set == NULL || set->n == 0) {
		oa_log(OA_LOG_ERROR, "oa_logins_seal: no login to seal");
		return NULL;
	}
	while (set->n > 0) {
		if ((txt = logins_encode(set)) == NULL) {
			oa_log(OA_LOG_ERROR,
			    "oa_logins_seal: JSON encoding "
			    "failed");
			return NULL;
		}
		/* Sealed length: 4/3 of the raw length, without padding. */
		if (strlen(txt) <= OA_SEAL_MAX_DATA &&
		    ((OVERHEAD + strlen(txt)) * 4 + 2) / 3 <=
		        OA_LOGIN_MAX_VALUE) {
			val = oa_cookie_seal(key, name, txt, strlen(txt), now);
			json_text_free(txt);
			return val;
		}
		json_text_free(txt);
		if (set->n == 1)
			break;
		/* Too big for one cookie: the oldest login goes. */
		oa_login_free(set->v[0]);
		logins_remove(set, 0);
	}
	oa_log(OA_LOG_ERROR,
	    "oa_logins_seal: the login does not fit in a "
	    "cookie");
	return NULL;
}

enum oa_seal_result
oa_logins_open(const uint8_t key[32], const char *name, const char *value,
    time_t now, struct oa_logins **out)
{
	enum oa_seal_result r;
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	if (out == NULL)
		return OA_SEAL_ERROR;
	if (value == NULL || value[0] == '\0') {
		if ((*out = oa_logins_new()) == NULL)
			return OA_SEAL_ERROR;
		return OA_SEAL_OK;
	}
	r = oa_cookie_open(
	    key, name, value, strlen(value), now, OA_LOGIN_TTL, &pt, &ptlen);
	if (r != OA_SEAL_OK)
		return r;
	if (logins_decode((const char *)pt, ptlen, now, out) != 0)
		r = OA_SEAL_MALFORMED;
	OPENSSL_cleanse(pt, ptlen);
	free(pt);
	return r;
}

char *
oa_logins_cookie(const uint8_t key[32], const char *issuer,
    struct oa_logins *set, time_t now)
{
	enum cookie_scope scope;
	const char *path;
	char name[sizeof("__Secure-") + sizeof(OA_LOGIN_COOKIE)];
	char *val = NULL, *hdr = NULL;

	if (set == NULL || set->n == 0)
		return oa_cookie_header(
		    issuer, OA_LOGIN_COOKIE, "", 0, OA_SAMESITE_LAX);
	/* What oa_cookie_name and oa_cookie_header do, with the issuer
	 * read once. */
	if (issuer_scope(issuer, &scope, &path) != 0)
		goto out;
	memcpy(name, scope_prefix(scope), strlen(scope_prefix(scope)));
	memcpy(name + strlen(scope_prefix(scope)), OA_LOGIN_COOKIE,
	    sizeof(OA_LOGIN_COOKIE));
	if ((val = oa_logins_seal(key, name, set, now)) == NULL)
		goto out;
	if (!valid_value(val)) {
		oa_log(OA_LOG_ERROR, "oa_logins_cookie: bad sealed value");
		goto out;
	}
	hdr = header_build(scope, path, OA_LOGIN_COOKIE, val, OA_LOGIN_TTL,
	    OA_SAMESITE_LAX);
out:
	free(val);
	return hdr;
}
