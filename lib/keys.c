/*
 * keys.c - the key directory (SPEC §4).
 *
 * keys_dir (0700) holds, for each key, KID.pem (the PKCS#8 private key,
 * 0600) and KID.json (its life, {"alg","created","activates","retired"},
 * and its public JWK, "jwk"; 0600), plus cookie.key (32 random bytes,
 * 0600). The kid is the RFC 7638 thumbprint of the key, so a file name
 * can be checked against the key it holds, private or public.
 *
 * The public half - modes, KID.json, the checked public JWKs - is read by
 * oa_keydir_load() in wellknown.c, which needs no libcrypto (jwks.fcgi
 * links nothing else); the rings here are built on it, adding the
 * private keys and the cookie key. oa_keyring_load_public() imports only
 * the public JWKs: verifying needs no private key in memory, and no PEM
 * decoding (which costs about a millisecond per key in OpenSSL 3, too
 * much for plain CGI).
 *
 * A key's life (OIDC Core §10.1.1, SECURITY.md item 18):
 *  - published from the moment it exists (in the JWKS, and accepted when
 *    we verify our own tokens), so that caches such as Convex's, which do
 *    not refetch on an unknown kid, know it before it signs;
 *  - active from "activates" on; the signer is the newest active key;
 *  - retired: out of the JWKS and no longer accepted, at once.
 *
 * Retirement is strict on purpose: "retired" means "no longer trusted",
 * which is what an operator wants after a key leak, and there is no
 * second, implicit grace period to reason about. Keeping tokens working
 * across a rotation is the operator's job, with the CLI's help: make a
 * new key, wait until it signs, then wait access_token_ttl (plus
 * jwks_max_age for caches) before retiring the old one; `ownauth keys
 * retire` warns when that has not happened yet.
 *
 * Writers (the CLI) write KID.json before KID.pem and readers list the
 * .pem files only (oa_keydir_load), so a reader never sees a key without
 * its metadata; a .json without its .pem (a key being written) is
 * skipped.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "ownauth.h"

#define KEY_FILE_MAX (64 * 1024)
/* An activation delay beyond ten years is a typo. */
#define MAX_DELAY (10L * 366 * 86400)

/*
 * Makes the key of dir that m (from oa_keydir_load) describes into *out:
 * from its checked public JWK when public_only and KID.json holds one,
 * else from KID.pem, whose thumbprint must be the kid (and so that of
 * the JWK, which oa_keydir_load checked against the kid). The JWK moves
 * from m to out (exported from the key when m has none). Logs one line
 * naming the file on failure. 0 or -1.
 */
static int
load_one(const char *dir, struct oa_keymeta *m, int public_only,
    struct oa_keyinfo *out)
{
	char pem_path[PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	struct oa_key *key = NULL;
	cJSON *jwk = NULL;
	int rc = -1;

	if (oa_file_path(pem_path, sizeof(pem_path), dir, m->kid, ".pem") == -1)
		goto out;
	if (public_only && m->jwk != NULL) {
		if ((key = oa_jwk_from_json(m->jwk, NULL)) == NULL) {
			oa_log(OA_LOG_ERROR, "%s/%s.json: corrupt public key "
			    "(jwk)", dir, m->kid);
			goto out;
		}
		if (strcmp(key->kid, m->kid) != 0) {
			oa_log(OA_LOG_ERROR, "%s/%s.json: the public key's id "
			    "is %s, which does not match the file name", dir,
			    m->kid, key->kid);
			goto out;
		}
	} else {
		if (oa_file_read(pem_path, KEY_FILE_MAX, &text, &len) == -1) {
			oa_log(OA_LOG_ERROR, "%s: cannot read: %s", pem_path,
			    strerror(errno));
			goto out;
		}
		key = oa_key_parse_pem(text, len);
		OPENSSL_cleanse(text, len);
		free(text);
		text = NULL;
		if (key == NULL || !key->is_private) {
			oa_log(OA_LOG_ERROR, "%s: not a usable PKCS#8 private "
			    "key (corrupt file?)", pem_path);
			goto out;
		}
		/* The thumbprint names the file (and so the metadata). */
		if (strcmp(key->kid, m->kid) != 0) {
			oa_log(OA_LOG_ERROR, "%s: the key's id is %s, which "
			    "does not match the file name", pem_path, key->kid);
			goto out;
		}
	}
	if (key->alg != m->alg) {
		oa_log(OA_LOG_ERROR, "%s/%s.json: alg does not match the key",
		    dir, m->kid);
		goto out;
	}
	if (m->jwk != NULL) {
		jwk = m->jwk;
		m->jwk = NULL;
	} else if ((jwk = oa_jwk_to_json(key)) == NULL) {
		oa_log(OA_LOG_ERROR, "%s: cannot export the public key",
		    pem_path);
		goto out;
	}
	out->key = key;
	out->created = m->created;
	out->activates = m->activates;
	out->retired = m->retired;
	out->jwk = jwk;
	key = NULL;
	rc = 0;
out:
	oa_key_free(key);
	return rc;
}

/* Reads dir/cookie.key (exactly 32 bytes, private) into key. 0 or -1. */
static int
load_cookie_key(const char *dir, uint8_t key[32])
{
	char path[PATH_MAX], err[512];
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (oa_file_path(path, sizeof(path), dir, OA_KEYS_COOKIE_FILE, "") == -1)
		return -1;
	if (oa_file_check_private(path, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "%s", err);
		return -1;
	}
	if (oa_file_read(path, 64, &buf, &len) == -1) {
		oa_log(OA_LOG_ERROR, "%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	if (len != 32) {
		oa_log(OA_LOG_ERROR, "%s: must hold exactly 32 bytes, not %zu",
		    path, len);
		goto out;
	}
	memcpy(key, buf, 32);
	rc = 0;
out:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/*
 * Creates dir (mode 0700, its parent must exist) with a fresh cookie key
 * if needed. An existing dir must be private; an existing cookie.key is
 * kept. 0 or -1 (logged).
 */
int
oa_keys_init_dir(const char *dir)
{
	char path[PATH_MAX], err[512];
	uint8_t key[32];
	struct stat st;
	int rc = -1;

	if (mkdir(dir, 0700) == 0) {
		/* mkdir's mode is filtered by the umask; make it exact. */
		if (chmod(dir, 0700) == -1) {
			oa_log(OA_LOG_ERROR, "chmod %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		oa_log(OA_LOG_ERROR, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		oa_log(OA_LOG_ERROR, "%s: not a directory", dir);
		return -1;
	}
	if (oa_file_check_private(dir, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "%s", err);
		return -1;
	}
	if (oa_file_path(path, sizeof(path), dir, OA_KEYS_COOKIE_FILE, "") == -1)
		return -1;
	if (stat(path, &st) == 0) {
		/* Keep it (sealed cookies in flight stay valid), if sane. */
		if (load_cookie_key(dir, key) == -1)
			goto out;
		rc = 0;
		goto out;
	}
	if (errno != ENOENT) {
		oa_log(OA_LOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (oa_random(key, sizeof(key)) == -1) {
		oa_log(OA_LOG_ERROR, "oa_random: no randomness for %s", path);
		goto out;
	}
	if (oa_file_write_atomic(path, key, sizeof(key), 0600) == -1) {
		oa_log(OA_LOG_ERROR, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/*
 * Loads the ring of dir on top of oa_keydir_load (which checks the modes
 * of every file, the metadata and the public JWKs): the private keys and
 * cookie.key (RING_FULL), the public keys (RING_PUBLIC), or cookie.key
 * alone (RING_COOKIE). Refuses (NULL, one log line naming the file) what
 * oa_keydir_load refuses, a key whose thumbprint is not its file name,
 * and a corrupt key file.
 */
enum ring_mode {
	RING_FULL,      /* private keys and the cookie key */
	RING_PUBLIC,    /* public keys, modes of the private files */
	RING_COOKIE,    /* the cookie key only */
};

/*
 * How oa_keyring_changed() looks at the directory. A FastCGI worker asks
 * at every request, and a stat(2) of the path walks every component of
 * it each time (about 1 us of the 20 a login takes): the ring keeps the
 * directory open instead and fstat(2)s the descriptor, which sees every
 * change made inside the directory (a key added, KID.json rewritten,
 * cookie.key replaced: each changes the directory's mtime). What the
 * descriptor cannot see is the path naming another directory (renamed
 * over, or removed): the path is stat'ed for that at most once a
 * second (CLOCK_MONOTONIC), and compared by device and inode.
 */
struct oa_keyring_watch {
	int fd;                 /* the directory, O_RDONLY | O_DIRECTORY */
	dev_t dev;              /* what the descriptor is */
	ino_t ino;
	time_t path_checked;    /* monotonic second of the last path stat */
};

/* Opens dir for watching (before it is read, so that a change made while
 * it is read shows up as a changed mtime). NULL when it cannot: the ring
 * is then checked by path at every call, as before. */
static struct oa_keyring_watch *
watch_open(const char *dir)
{
	struct oa_keyring_watch *w;
	struct stat st;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(w->fd, &st) == -1) {
		if (w->fd != -1)
			close(w->fd);
		free(w);
		return NULL;
	}
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	/* The first oa_keyring_changed() looks at the path. */
	w->path_checked = -1;
	return w;
}

static void
watch_close(struct oa_keyring_watch *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	free(w);
}

static struct oa_keyring *
load_ring(const char *dir, enum ring_mode mode)
{
	struct oa_keyring *ring = NULL, *ret = NULL;
	struct oa_keydir *kd = NULL;
	struct oa_keyring_watch *w;
	size_t i;

	w = watch_open(dir);
	/* The cookie key alone (login.fcgi): no key file is read, which
	 * keeps a plain-CGI start free of PEM decoding. */
	if ((kd = oa_keydir_load(dir, mode == RING_COOKIE ?
	    OA_KEYDIR_NO_KEYS : 0)) == NULL)
		goto out;
	if ((ring = calloc(1, sizeof(*ring))) == NULL ||
	    (kd->n > 0 && (ring->keys = calloc(kd->n,
	    sizeof(*ring->keys))) == NULL)) {
		oa_log(OA_LOG_ERROR, "oa_keyring_load: out of memory");
		goto out;
	}
	ring->watch = w;
	w = NULL;
	ring->dir = kd->dir;
	kd->dir = NULL;
	ring->dir_mtime = kd->dir_mtime;
	ring->dir_mtime_ns = kd->dir_mtime_ns;
	ring->recheck_at = kd->recheck_at;
	/* In kd's order, which is the ring's. */
	for (i = 0; i < kd->n; i++) {
		if (load_one(dir, &kd->keys[i], mode == RING_PUBLIC,
		    &ring->keys[i]) == -1)
			goto out;
		ring->n++;
	}
	if (mode != RING_PUBLIC &&
	    load_cookie_key(dir, ring->cookie_key) == -1)
		goto out;
	ret = ring;
	ring = NULL;
out:
	watch_close(w);
	oa_keydir_free(kd);
	oa_keyring_free(ring);
	return ret;
}

/*
 * See ownauth.h. Why skipping openssl.cnf is safe for these programs:
 * they link no libssl, so the TLS policy sections do not concern them;
 * what the file can set for libcrypto alone is providers and their
 * default properties (a FIPS provider), engines, the random generator's
 * set-up and extra OIDs. Our algorithms are fixed (AES-256-GCM, SHA-256,
 * RS256/ES256/EdDSA, OpenSSL's default CTR-DRBG seeded by the kernel)
 * and the default provider implements them all; Debian's openssl.cnf
 * loads nothing either (its [openssl_init] is empty), so the programs do
 * what they did, minus parsing the file. A site that runs OpenSSL in a
 * configured mode (a FIPS provider) names its file in OPENSSL_CONF in the
 * server's environment for the programs, and then it is read as usual.
 */
void
oa_crypto_init(void)
{
	uint64_t opts = OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
	    OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
	    OPENSSL_INIT_NO_ATEXIT;

	if (getenv("OPENSSL_CONF") == NULL)
		opts |= OPENSSL_INIT_NO_LOAD_CONFIG;
	if (OPENSSL_init_crypto(opts, NULL) != 1)
		oa_log(OA_LOG_WARN, "OPENSSL_init_crypto failed");
	/*
	 * The first RS256 (blinding) or ES256 (nonce) signature draws from
	 * OpenSSL's DRBG. Its default, CTR-DRBG, fetches AES-256-CTR, and
	 * the first fetch of any cipher builds every cipher method of the
	 * provider: about 0.4 ms of a plain-CGI token.fcgi's run (SPEC
	 * §11). HASH-DRBG over SHA-256 (NIST SP 800-90A, the same 256-bit
	 * strength) uses the digest the signature fetches anyway. It only
	 * takes before the DRBG's first use; later it is refused and
	 * changes nothing.
	 */
	if (RAND_set_DRBG_type(NULL, "HASH-DRBG", NULL, NULL, "SHA256") != 1)
		ERR_clear_error();
}

/* The ring of dir, with the private keys and the cookie key. Free with
 * oa_keyring_free(). */
struct oa_keyring *
oa_keyring_load(const char *dir)
{
	return load_ring(dir, RING_FULL);
}

/* The ring of dir with public keys only (see load_ring). */
struct oa_keyring *
oa_keyring_load_public(const char *dir)
{
	return load_ring(dir, RING_PUBLIC);
}

/* The ring of dir with the cookie key only (no signing or verification
 * key: n is 0), for programs that only seal cookies. Changes are seen by
 * oa_keyring_changed() as for the other loaders. */
struct oa_keyring *
oa_keyring_load_cookie(const char *dir)
{
	return load_ring(dir, RING_COOKIE);
}

/* Frees the ring, its keys and (wiped) cookie key. NULL is a no-op. */
void
oa_keyring_free(struct oa_keyring *ring)
{
	size_t i;

	if (ring == NULL)
		return;
	for (i = 0; i < ring->n; i++) {
		oa_key_free(ring->keys[i].key);
		cJSON_Delete(ring->keys[i].jwk);
	}
	free(ring->keys);
	OPENSSL_cleanse(ring->cookie_key, sizeof(ring->cookie_key));
	watch_close(ring->watch);
	free(ring->dir);
	free(ring);
}

/*
 * 1 when the ring should be loaded again: the directory's mtime (with
 * nanoseconds) differs or it is gone, or ring->recheck_at has passed (a
 * key's activation time came, which changes the signer, or the mtime we
 * saw was too recent to be trusted). 0 otherwise. With a watch (see
 * struct oa_keyring_watch) the mtime is read through the open directory,
 * and the path is checked once a second at most.
 */
int
oa_keyring_changed(const struct oa_keyring *ring)
{
	struct oa_keyring_watch *w;
	struct oa_keydir kd;
	struct timespec ts;
	struct stat st;

	if (ring == NULL)
		return 1;
	if ((w = ring->watch) == NULL) {
		memset(&kd, 0, sizeof(kd));
		kd.dir = ring->dir;
		kd.dir_mtime = ring->dir_mtime;
		kd.dir_mtime_ns = ring->dir_mtime_ns;
		kd.recheck_at = ring->recheck_at;
		return oa_keydir_changed(&kd);
	}
	if (fstat(w->fd, &st) == -1 ||
	    st.st_mtim.tv_sec != ring->dir_mtime ||
	    st.st_mtim.tv_nsec != ring->dir_mtime_ns)
		return 1;
	if (ring->recheck_at != 0 && time(NULL) >= ring->recheck_at)
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		ts.tv_sec = -1;         /* never happens; then every time */
	if (ts.tv_sec == -1 || ts.tv_sec != w->path_checked) {
		if (stat(ring->dir, &st) == -1 || st.st_dev != w->dev ||
		    st.st_ino != w->ino)
			return 1;
		w->path_checked = ts.tv_sec;
	}
	return 0;
}

/*
 * The programs' key ring, kept fresh: *ring is left alone while it is
 * loaded and oa_keyring_changed() says no (0). Otherwise the old ring
 * is freed first (its keys are wiped; nothing keeps using it) and
 * load(dir) takes its place: 0, or -1 with *ring NULL, after the one log
 * line of the loader naming the problem. load is oa_keyring_load,
 * oa_keyring_load_public or oa_keyring_load_cookie. *ring is the
 * caller's to free (oa_keyring_free).
 */
int
oa_keyring_refresh(struct oa_keyring **ring, const char *dir,
    struct oa_keyring *(*load)(const char *dir))
{
	if (*ring != NULL && !oa_keyring_changed(*ring))
		return 0;
	oa_keyring_free(*ring);
	*ring = load(dir);
	return *ring != NULL ? 0 : -1;
}

/*
 * The signer at now: among the unretired keys whose activation time has
 * come, the one that activated last (ties: created last, then the
 * greatest kid, the last in ring order). NULL when no key is active.
 */
const struct oa_keyinfo *
oa_keyring_signer(const struct oa_keyring *ring, time_t now)
{
	size_t i;

	if (ring == NULL)
		return NULL;
	for (i = ring->n; i > 0; i--) {
		const struct oa_keyinfo *k = &ring->keys[i - 1];

		if (k->retired == 0 && k->activates <= now)
			return k;
	}
	return NULL;
}

/*
 * The published (unretired) keys of ring, in ring order, as a keyset that
 * borrows them: doc_kids are all NULL (our kid is the thumbprint). Valid
 * while the ring lives; free with oa_keyset_free_shallow(). NULL on
 * allocation failure.
 */
struct oa_keyset *
oa_keyring_published(const struct oa_keyring *ring)
{
	struct oa_keyset *set;
	size_t i, n = ring->n ? ring->n : 1;

	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(n, sizeof(*set->keys))) == NULL ||
	    (set->doc_kids = calloc(n, sizeof(*set->doc_kids))) == NULL) {
		oa_keyset_free_shallow(set);
		oa_log(OA_LOG_ERROR, "oa_keyring_published: out of memory");
		return NULL;
	}
	for (i = 0; i < ring->n; i++)
		if (ring->keys[i].retired == 0)
			set->keys[set->n++] = ring->keys[i].key;
	return set;
}

/* Frees a keyset from oa_keyring_published(), not the keys. */
void
oa_keyset_free_shallow(struct oa_keyset *set)
{
	if (set == NULL)
		return;
	free(set->keys);
	free(set->doc_kids);
	free(set);
}

/* Writes dir/KID.json for info atomically (0600), with the public JWK.
 * 0 or -1 (logged). */
static int
write_meta(const char *dir, const struct oa_keyinfo *info)
{
	char path[PATH_MAX];
	cJSON *meta = NULL, *jwk = NULL;
	char *text = NULL;
	int rc = -1;

	if (oa_file_path(path, sizeof(path), dir, info->key->kid, ".json") == -1)
		return -1;
	if ((meta = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(meta, "alg",
	    oa_alg_name(info->key->alg)) == NULL ||
	    cJSON_AddNumberToObject(meta, "created",
	    (double)info->created) == NULL ||
	    cJSON_AddNumberToObject(meta, "activates",
	    (double)info->activates) == NULL ||
	    cJSON_AddNumberToObject(meta, "retired",
	    (double)info->retired) == NULL ||
	    (jwk = oa_jwk_to_json(info->key)) == NULL) {
		oa_log(OA_LOG_ERROR, "%s: cannot build the key's metadata",
		    path);
		goto out;
	}
	cJSON_AddItemToObject(meta, "jwk", jwk);
	if ((text = cJSON_PrintUnformatted(meta)) == NULL) {
		oa_log(OA_LOG_ERROR, "%s: out of memory", path);
		goto out;
	}
	if (oa_file_write_atomic(path, text, strlen(text), 0600) == -1) {
		oa_log(OA_LOG_ERROR, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	cJSON_Delete(meta);
	return rc;
}

/*
 * Generates a key for alg in dir. It is published at once and signs from
 * now + delay, or from now when no key is active yet (the first key, or
 * after every active key was retired). The kid goes to kid_out when it is
 * not NULL. 0 or -1 (logged).
 */
int
oa_keys_new(const char *dir, enum oa_alg alg, long delay, char kid_out[48])
{
	struct oa_keyring *ring = NULL;
	struct oa_keyinfo info = { 0 };
	char path[PATH_MAX];
	time_t now;
	size_t i;
	int rc = -1;

	if (delay < 0 || delay > MAX_DELAY) {
		oa_log(OA_LOG_ERROR, "oa_keys_new: delay %ld is not between 0 "
		    "and %ld seconds", delay, (long)MAX_DELAY);
		return -1;
	}
	if ((ring = oa_keyring_load(dir)) == NULL)
		goto out;
	now = time(NULL);
	info.created = now;
	if (oa_keyring_signer(ring, now) == NULL)
		info.activates = now;
	else
		info.activates = now + delay;
	if ((info.key = oa_key_generate(alg)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_key_generate: cannot make a %s key",
		    oa_alg_name(alg) ? oa_alg_name(alg) : "(unknown)");
		goto out;
	}
	for (i = 0; i < ring->n; i++)
		if (strcmp(ring->keys[i].key->kid, info.key->kid) == 0) {
			oa_log(OA_LOG_ERROR, "%s: key %s exists", dir,
			    info.key->kid);
			goto out;
		}
	/* Metadata first: readers skip a .json without its .pem. */
	if (write_meta(dir, &info) == -1)
		goto out;
	if (oa_file_path(path, sizeof(path), dir, info.key->kid, ".pem") == -1 ||
	    oa_key_save_pem(info.key, path) == -1) {
		oa_log(OA_LOG_ERROR, "%s: cannot save the new key", path);
		if (oa_file_path(path, sizeof(path), dir, info.key->kid,
		    ".json") == 0)
			unlink(path);
		goto out;
	}
	oa_log(OA_LOG_INFO, "new %s key %s, signing from %lld",
	    oa_alg_name(alg), info.key->kid, (long long)info.activates);
	if (kid_out != NULL)
		memcpy(kid_out, info.key->kid, 48);
	rc = 0;
out:
	oa_key_free(info.key);
	oa_keyring_free(ring);
	return rc;
}

/*
 * Retires kid: from now on it is out of the JWKS and no longer accepted
 * (see the top of this file for why at once). Refuses an unknown or
 * already retired kid, and the current signer when no other key is
 * active (there would be nothing left to sign with: make a new key first
 * and wait until it activates). 0 or -1 (logged).
 */
int
oa_keys_retire(const char *dir, const char *kid)
{
	struct oa_keyring *ring = NULL;
	struct oa_keyinfo *k = NULL, info;
	const struct oa_keyinfo *signer;
	time_t now;
	size_t i, active = 0;
	int rc = -1;

	if (kid == NULL || !oa_keydir_kid_valid(kid, strlen(kid))) {
		oa_log(OA_LOG_ERROR, "retire: not a key id");
		return -1;
	}
	if ((ring = oa_keyring_load(dir)) == NULL)
		goto out;
	now = time(NULL);
	for (i = 0; i < ring->n; i++) {
		if (strcmp(ring->keys[i].key->kid, kid) == 0)
			k = &ring->keys[i];
		if (ring->keys[i].retired == 0 && ring->keys[i].activates <= now)
			active++;
	}
	if (k == NULL) {
		oa_log(OA_LOG_ERROR, "retire: no key %s in %s", kid, dir);
		goto out;
	}
	if (k->retired != 0) {
		oa_log(OA_LOG_ERROR, "retire: key %s is already retired", kid);
		goto out;
	}
	signer = oa_keyring_signer(ring, now);
	if (signer == k && active == 1) {
		oa_log(OA_LOG_ERROR, "retire: key %s is the only active "
		    "signing key; make a new key first (ownauth keys new) and "
		    "retire this one once the new key signs", kid);
		goto out;
	}
	info = *k;
	info.retired = now;
	if (write_meta(dir, &info) == -1)
		goto out;
	oa_log(OA_LOG_INFO, "retired key %s", kid);
	rc = 0;
out:
	oa_keyring_free(ring);
	return rc;
}
