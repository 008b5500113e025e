/*
 * keys.c - the key directory (SPEC §4).
 *
 * keys_dir (0700) holds, for each key, KID.pem (the PKCS#8 private key,
 * 0600) and KID.json (its life, {"alg","created","activates","retired"},
 * and its public JWK, "jwk"; 0600), plus cookie.key (32 random bytes,
 * 0600). The kid is the RFC 7638 thumbprint of the key, so a file name
 * can be checked against the key it holds, private or public.
 * oa_keyring_load_public() reads only the public JWKs: publishing the
 * JWKS needs no private key in memory, and no PEM decoding (which costs
 * about a millisecond per key in OpenSSL 3, too much for plain CGI).
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
 * .pem files only, so a reader never sees a key without its metadata;
 * a .json without its .pem (a key being written) is skipped.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ownauth.h"

#define KEY_FILE_MAX (64 * 1024)
#define META_FILE_MAX (16 * 1024)
#define COOKIE_KEY_FILE "cookie.key"
/* Seconds during which a directory change may share the mtime of the
 * state we loaded (file systems stamp with a coarse clock). */
#define MTIME_RACY_WINDOW 2
/* An activation delay beyond ten years is a typo. */
#define MAX_DELAY (10L * 366 * 86400)

/*
 * 1 when s (len bytes) can be a kid: 1 to 47 base64url characters. This
 * is also what keeps a kid given on the command line from naming another
 * path.
 */
static int
kid_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= sizeof(((struct oa_key *)0)->kid))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* Writes "dir/name" into buf; 0, or -1 when it does not fit. */
static int
path_join(char *buf, size_t size, const char *dir, const char *name,
    const char *suffix)
{
	int n;

	n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= size) {
		oa_log(OA_LOG_ERROR, "%s/%s%s: path too long", dir, name,
		    suffix);
		return -1;
	}
	return 0;
}

/* Reads a JSON number that must be a whole number of seconds >= 0. */
static int
meta_time(const cJSON *obj, const char *name, time_t *out)
{
	const cJSON *it;
	double d;

	it = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsNumber(it))
		return -1;
	d = it->valuedouble;
	/* 2^53: beyond it a double is no longer an exact integer. */
	if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(long long)d)
		return -1;
	*out = (time_t)(long long)d;
	return 0;
}

/*
 * Loads one key of dir into *out: KID.json, and KID.pem unless public_only
 * and the metadata holds the public JWK. The .pem's mode is checked in
 * both cases. Logs one line naming the file on failure. 0 or -1.
 */
static int
load_one(const char *dir, const char *kid, int public_only,
    struct oa_keyinfo *out)
{
	char pem_path[PATH_MAX], path[PATH_MAX], err[512];
	char *text = NULL;
	size_t len = 0;
	struct oa_key *key = NULL, *pub = NULL;
	cJSON *meta = NULL;
	const cJSON *alg, *jwk;
	time_t created, activates, retired;
	int rc = -1;

	if (path_join(pem_path, sizeof(pem_path), dir, kid, ".pem") == -1 ||
	    path_join(path, sizeof(path), dir, kid, ".json") == -1)
		goto out;
	if (oa_file_check_private(pem_path, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "%s", err);
		goto out;
	}

	/* The metadata. */
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		oa_log(OA_LOG_ERROR, "%s: missing (every KID.pem needs its "
		    "KID.json)", path);
		goto out;
	}
	if (oa_file_check_private(path, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "%s", err);
		goto out;
	}
	if (oa_file_read(path, META_FILE_MAX, &text, &len) == -1) {
		oa_log(OA_LOG_ERROR, "%s: cannot read the key's metadata: %s",
		    path, strerror(errno));
		goto out;
	}
	meta = cJSON_ParseWithLength(text, len);
	free(text);
	text = NULL;
	alg = cJSON_GetObjectItemCaseSensitive(meta, "alg");
	if (!cJSON_IsObject(meta) || !cJSON_IsString(alg) ||
	    meta_time(meta, "created", &created) == -1 ||
	    meta_time(meta, "activates", &activates) == -1 ||
	    meta_time(meta, "retired", &retired) == -1) {
		oa_log(OA_LOG_ERROR, "%s: corrupt key metadata (want "
		    "{\"alg\",\"created\",\"activates\",\"retired\"})", path);
		goto out;
	}
	if ((jwk = cJSON_GetObjectItemCaseSensitive(meta, "jwk")) != NULL) {
		if ((pub = oa_jwk_from_json(jwk, NULL)) == NULL) {
			oa_log(OA_LOG_ERROR, "%s: corrupt public key (jwk)",
			    path);
			goto out;
		}
		if (strcmp(pub->kid, kid) != 0) {
			oa_log(OA_LOG_ERROR, "%s: the public key's id is %s, "
			    "which does not match the file name", path,
			    pub->kid);
			goto out;
		}
	}

	if (public_only && pub != NULL) {
		key = pub;
		pub = NULL;
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
		if (strcmp(key->kid, kid) != 0) {
			oa_log(OA_LOG_ERROR, "%s: the key's id is %s, which "
			    "does not match the file name", pem_path, key->kid);
			goto out;
		}
	}
	if (oa_alg_name(key->alg) == NULL ||
	    strcmp(alg->valuestring, oa_alg_name(key->alg)) != 0) {
		oa_log(OA_LOG_ERROR, "%s: alg does not match the key", path);
		goto out;
	}
	out->key = key;
	out->created = created;
	out->activates = activates;
	out->retired = retired;
	key = NULL;
	rc = 0;
out:
	free(text);
	cJSON_Delete(meta);
	oa_key_free(key);
	oa_key_free(pub);
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

	if (path_join(path, sizeof(path), dir, COOKIE_KEY_FILE, "") == -1)
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

/* Ring order: activation time, then creation time, then kid. */
static int
keyinfo_cmp(const void *pa, const void *pb)
{
	const struct oa_keyinfo *a = pa, *b = pb;

	if (a->activates != b->activates)
		return a->activates < b->activates ? -1 : 1;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->key->kid, b->key->kid);
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
	if (path_join(path, sizeof(path), dir, COOKIE_KEY_FILE, "") == -1)
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
 * Loads the ring of dir: every KID.pem with its KID.json, and cookie.key
 * (public_only: the KID.json files' public keys, and only the modes of
 * the private files). Refuses (NULL, one log line naming the file) a
 * directory or file that group or others can use, a kid that does not
 * match its file name, and a corrupt key or metadata file.
 */
enum ring_mode {
	RING_FULL,      /* private keys and the cookie key */
	RING_PUBLIC,    /* public keys, modes of the private files */
	RING_COOKIE,    /* the cookie key only */
};

static struct oa_keyring *
load_ring(const char *dir, enum ring_mode mode)
{
	int public_only = mode == RING_PUBLIC;

	struct oa_keyring *ring = NULL, *ret = NULL;
	struct oa_keyinfo *grown;
	char err[512];
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;
	size_t cap = 0, i;
	time_t now;

	if ((ring = calloc(1, sizeof(*ring))) == NULL ||
	    (ring->dir = strdup(dir)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_keyring_load: out of memory");
		goto out;
	}
	/*
	 * The mtime is taken before the listing: a change made while we
	 * read shows up as a newer mtime at the next oa_keyring_changed().
	 */
	if (stat(dir, &st) == -1) {
		oa_log(OA_LOG_ERROR, "keys_dir %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		oa_log(OA_LOG_ERROR, "keys_dir %s: not a directory", dir);
		goto out;
	}
	if (oa_file_check_private(dir, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "keys_dir %s", err);
		goto out;
	}
	ring->dir_mtime = st.st_mtim.tv_sec;
	ring->dir_mtime_ns = st.st_mtim.tv_nsec;
	now = time(NULL);

	/* The cookie key alone (login.fcgi): no key file is read, which
	 * keeps a plain-CGI start free of PEM decoding. */
	if (mode == RING_COOKIE) {
		if (load_cookie_key(dir, ring->cookie_key) == -1)
			goto out;
		ret = ring;
		ring = NULL;
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		oa_log(OA_LOG_ERROR, "keys_dir %s: %s", dir, strerror(errno));
		goto out;
	}
	for (;;) {
		const char *name;
		size_t len;
		char kid[48];

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				oa_log(OA_LOG_ERROR, "keys_dir %s: %s", dir,
				    strerror(errno));
				goto out;
			}
			break;
		}
		name = de->d_name;
		len = strlen(name);
		/* Dot files (temporary files of atomic writes among them),
		 * cookie.key and the .json files are not listed here. */
		if (name[0] == '.' || len < 5 ||
		    strcmp(name + len - 4, ".pem") != 0)
			continue;
		if (!kid_valid(name, len - 4)) {
			oa_log(OA_LOG_ERROR, "%s/%s: not a key id file name",
			    dir, name);
			goto out;
		}
		memcpy(kid, name, len - 4);
		kid[len - 4] = '\0';
		if (ring->n == cap) {
			cap = cap ? cap * 2 : 4;
			if (cap > SIZE_MAX / sizeof(*grown) ||
			    (grown = realloc(ring->keys,
			    cap * sizeof(*grown))) == NULL) {
				oa_log(OA_LOG_ERROR, "oa_keyring_load: out of "
				    "memory");
				goto out;
			}
			ring->keys = grown;
		}
		if (load_one(dir, kid, public_only, &ring->keys[ring->n]) == -1)
			goto out;
		ring->n++;
	}
	if (public_only) {
		char path[PATH_MAX];

		if (path_join(path, sizeof(path), dir, COOKIE_KEY_FILE,
		    "") == -1)
			goto out;
		if (oa_file_check_private(path, err, sizeof(err)) == -1) {
			oa_log(OA_LOG_ERROR, "%s", err);
			goto out;
		}
	} else if (load_cookie_key(dir, ring->cookie_key) == -1)
		goto out;
	if (ring->n > 1)
		qsort(ring->keys, ring->n, sizeof(*ring->keys), keyinfo_cmp);

	/* When to look again even if the directory does not change. */
	for (i = 0; i < ring->n; i++) {
		const struct oa_keyinfo *k = &ring->keys[i];

		if (k->retired == 0 && k->activates > now &&
		    (ring->recheck_at == 0 || k->activates < ring->recheck_at))
			ring->recheck_at = k->activates;
	}
	if (now - ring->dir_mtime < MTIME_RACY_WINDOW) {
		time_t t = ring->dir_mtime + MTIME_RACY_WINDOW;

		if (ring->recheck_at == 0 || t < ring->recheck_at)
			ring->recheck_at = t;
	}
	ret = ring;
	ring = NULL;
out:
	if (d != NULL)
		closedir(d);
	oa_keyring_free(ring);
	return ret;
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
	for (i = 0; i < ring->n; i++)
		oa_key_free(ring->keys[i].key);
	free(ring->keys);
	OPENSSL_cleanse(ring->cookie_key, sizeof(ring->cookie_key));
	free(ring->dir);
	free(ring);
}

/*
 * 1 when the ring should be loaded again: the directory's mtime (with
 * nanoseconds) differs or it is gone, or ring->recheck_at has passed (a
 * key's activation time came, which changes the signer, or the mtime we
 * saw was too recent to be trusted). 0 otherwise.
 */
int
oa_keyring_changed(const struct oa_keyring *ring)
{
	struct stat st;

	if (ring == NULL || stat(ring->dir, &st) == -1)
		return 1;
	if (st.st_mtim.tv_sec != ring->dir_mtime ||
	    st.st_mtim.tv_nsec != ring->dir_mtime_ns)
		return 1;
	if (ring->recheck_at != 0 && time(NULL) >= ring->recheck_at)
		return 1;
	return 0;
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

	if (path_join(path, sizeof(path), dir, info->key->kid, ".json") == -1)
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
	if (path_join(path, sizeof(path), dir, info.key->kid, ".pem") == -1 ||
	    oa_key_save_pem(info.key, path) == -1) {
		oa_log(OA_LOG_ERROR, "%s: cannot save the new key", path);
		if (path_join(path, sizeof(path), dir, info.key->kid,
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

	if (kid == NULL || !kid_valid(kid, strlen(kid))) {
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
