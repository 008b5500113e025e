/*
 * test_keys.c - the key directory: modes, new keys and their activation,
 * the signer, retirement rules, refusals, change detection.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

static char tmp[64];
static char dir[128];

static void
path(char *buf, size_t size, const char *name, const char *suffix)
{
	snprintf(buf, size, "%s/%s%s", dir, name, suffix);
}

static int
mode_of(const char *p)
{
	struct stat st;

	if (stat(p, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static long
size_of(const char *p)
{
	struct stat st;

	if (stat(p, &st) == -1)
		return -1;
	return (long)st.st_size;
}

/* Writes KID.json by hand (0600), to set times the test needs. */
static int
write_meta(const char *kid, const char *alg, long long created,
    long long activates, long long retired)
{
	char p[256], text[256];
	int n;

	path(p, sizeof(p), kid, ".json");
	n = snprintf(text, sizeof(text), "{\"alg\":\"%s\",\"created\":%lld,"
	    "\"activates\":%lld,\"retired\":%lld}", alg, created, activates,
	    retired);
	return oa_file_write_atomic(p, text, (size_t)n, 0600);
}

static int
write_file(const char *p, const char *text, int mode)
{
	return oa_file_write_atomic(p, text, strlen(text), mode);
}

static const struct oa_keyinfo *
find(const struct oa_keyring *ring, const char *kid)
{
	size_t i;

	for (i = 0; i < ring->n; i++)
		if (strcmp(ring->keys[i].key->kid, kid) == 0)
			return &ring->keys[i];
	return NULL;
}

/* Sets the directory's mtime to t (seconds), to leave the window in
 * which a same-tick change could hide. */
static void
age_dir(time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	utimensat(AT_FDCWD, dir, ts, 0);
}

static int
can_load(void)
{
	struct oa_keyring *ring = oa_keyring_load(dir);
	int ok = ring != NULL;

	oa_keyring_free(ring);
	return ok;
}

static int
can_load_public(void)
{
	struct oa_keyring *ring = oa_keyring_load_public(dir);
	int ok = ring != NULL;

	oa_keyring_free(ring);
	return ok;
}

/* oa_keyring_load_public(dir) matches ring but for the private parts. */
static void
test_public_same(const struct oa_keyring *ring)
{
	struct oa_keyring *pub = oa_keyring_load_public(dir);
	static const uint8_t zero[32];
	size_t i;

	CHECK(pub != NULL);
	if (pub == NULL)
		return;
	CHECK(pub->n == ring->n);
	CHECK(memcmp(pub->cookie_key, zero, 32) == 0);
	CHECK(memcmp(ring->cookie_key, zero, 32) != 0);
	for (i = 0; i < pub->n && i < ring->n; i++) {
		CHECK_STR(pub->keys[i].key->kid, ring->keys[i].key->kid);
		CHECK(pub->keys[i].key->alg == ring->keys[i].key->alg);
		CHECK(pub->keys[i].key->is_private == 0);
		CHECK(ring->keys[i].key->is_private == 1);
		CHECK(pub->keys[i].created == ring->keys[i].created);
		CHECK(pub->keys[i].activates == ring->keys[i].activates);
		CHECK(pub->keys[i].retired == ring->keys[i].retired);
	}
	CHECK(pub->dir_mtime == ring->dir_mtime);
	oa_keyring_free(pub);
}

static void
test_init(void)
{
	char p[256];
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	struct oa_keyring *ring;

	CHECK(oa_keys_init_dir(dir) == 0);
	CHECK(mode_of(dir) == 0700);
	path(p, sizeof(p), "cookie.key", "");
	CHECK(mode_of(p) == 0600);
	CHECK(size_of(p) == 32);
	CHECK(oa_file_read(p, 64, &a, &alen) == 0);

	/* Again: the cookie key is kept. */
	CHECK(oa_keys_init_dir(dir) == 0);
	CHECK(oa_file_read(p, 64, &b, &blen) == 0);
	CHECK(a != NULL && b != NULL && alen == 32 && blen == 32 &&
	    memcmp(a, b, 32) == 0);

	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring != NULL) {
		CHECK(ring->n == 0);
		CHECK(oa_keyring_signer(ring, time(NULL)) == NULL);
		CHECK(a != NULL && memcmp(ring->cookie_key, a, 32) == 0);
	}
	oa_keyring_free(ring);
	free(a);
	free(b);

	/* A directory others can enter is refused, by init and load. */
	CHECK(chmod(dir, 0755) == 0);
	CHECK(oa_keys_init_dir(dir) == -1);
	CHECK(!can_load());
	CHECK(chmod(dir, 0700) == 0);
	CHECK(can_load());

	/* A cookie key of the wrong size or mode is refused. */
	CHECK(chmod(p, 0640) == 0);
	CHECK(!can_load());
	CHECK(chmod(p, 0600) == 0);
	CHECK(can_load());
}

static void
test_new_and_signer(void)
{
	char k1[48], k2[48], k3[48], p[256];
	struct oa_keyring *ring;
	const struct oa_keyinfo *i1, *i2, *i3, *s;
	struct oa_keyset *pub;
	time_t now = time(NULL), a2;

	/* The first key signs at once, whatever the delay. */
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 600, k1) == 0);
	path(p, sizeof(p), k1, ".pem");
	CHECK(mode_of(p) == 0600);
	path(p, sizeof(p), k1, ".json");
	CHECK(mode_of(p) == 0600);
	/* Later ones are published now and sign after the delay. */
	CHECK(oa_keys_new(dir, OA_ALG_EDDSA, 600, k2) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_RS256, 1200, k3) == 0);
	CHECK(strcmp(k1, k2) != 0 && strcmp(k2, k3) != 0);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, -1, NULL) == -1);

	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring == NULL)
		return;
	CHECK(ring->n == 3);
	i1 = find(ring, k1);
	i2 = find(ring, k2);
	i3 = find(ring, k3);
	CHECK(i1 != NULL && i2 != NULL && i3 != NULL);
	if (i1 == NULL || i2 == NULL || i3 == NULL)
		goto out;
	CHECK(i1->key->alg == OA_ALG_ES256 && i1->key->is_private);
	CHECK(i2->key->alg == OA_ALG_EDDSA);
	CHECK(i3->key->alg == OA_ALG_RS256);
	CHECK(i1->activates >= now && i1->activates <= now + 5);
	CHECK(i1->activates == i1->created);
	CHECK(i2->activates == i2->created + 600);
	CHECK(i3->activates == i3->created + 1200);
	CHECK(i1->retired == 0 && i2->retired == 0 && i3->retired == 0);
	/* Sorted by activation. */
	CHECK(ring->keys[0].key == i1->key && ring->keys[2].key == i3->key);

	/* The newest active key signs. */
	s = oa_keyring_signer(ring, now + 5);
	CHECK(s != NULL && strcmp(s->key->kid, k1) == 0);
	s = oa_keyring_signer(ring, i2->activates);
	CHECK(s != NULL && strcmp(s->key->kid, k2) == 0);
	s = oa_keyring_signer(ring, i3->activates + 1);
	CHECK(s != NULL && strcmp(s->key->kid, k3) == 0);
	CHECK(oa_keyring_signer(ring, i1->activates - 1) == NULL);

	/* All three are published (pending keys too). */
	pub = oa_keyring_published(ring);
	CHECK(pub != NULL && pub->n == 3);
	oa_keyset_free_shallow(pub);

	/* The public ring: same keys and times, no private part, no
	 * cookie key; the metadata holds the public JWK only. */
	test_public_same(ring);
	path(p, sizeof(p), k3, ".json");
	{
		char *text = NULL;
		cJSON *meta = NULL, *jwk;

		CHECK(oa_file_read(p, 65536, &text, NULL) == 0);
		if (text != NULL)
			meta = cJSON_Parse(text);
		jwk = cJSON_GetObjectItemCaseSensitive(meta, "jwk");
		CHECK(cJSON_IsObject(jwk));
		CHECK(cJSON_GetObjectItem(jwk, "n") != NULL);
		CHECK(cJSON_GetObjectItem(jwk, "d") == NULL &&
		    cJSON_GetObjectItem(jwk, "p") == NULL &&
		    cJSON_GetObjectItem(jwk, "q") == NULL &&
		    cJSON_GetObjectItem(jwk, "dp") == NULL &&
		    cJSON_GetObjectItem(jwk, "dq") == NULL &&
		    cJSON_GetObjectItem(jwk, "qi") == NULL);
		cJSON_Delete(meta);
		free(text);
	}

	/* A key directory changed by `keys new` is noticed. */
	a2 = i2->activates;
	age_dir(now - 100);
	oa_keyring_free(ring);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL && !oa_keyring_changed(ring));
	/* Next look: the next activation (k2's). */
	CHECK(ring != NULL && ring->recheck_at == a2);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 600, NULL) == 0);
	CHECK(ring != NULL && oa_keyring_changed(ring));
out:
	oa_keyring_free(ring);
}

static void
test_signer_times(void)
{
	char a[48], b[48], c[48];
	struct oa_keyring *ring;
	const struct oa_keyinfo *s;
	struct oa_keyset *pub;

	/* Fresh directory, times set by hand. */
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, a) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, b) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, c) == 0);
	CHECK(write_meta(a, "ES256", 900, 1000, 0) == 0);
	CHECK(write_meta(b, "ES256", 950, 2000, 0) == 0);
	CHECK(write_meta(c, "ES256", 990, 3000, 3100) == 0);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring == NULL)
		return;
	CHECK(oa_keyring_signer(ring, 999) == NULL);
	s = oa_keyring_signer(ring, 1000);
	CHECK(s != NULL && strcmp(s->key->kid, a) == 0);
	s = oa_keyring_signer(ring, 2500);
	CHECK(s != NULL && strcmp(s->key->kid, b) == 0);
	/* c is retired: neither signer nor published. */
	s = oa_keyring_signer(ring, 3500);
	CHECK(s != NULL && strcmp(s->key->kid, b) == 0);
	pub = oa_keyring_published(ring);
	CHECK(pub != NULL && pub->n == 2);
	if (pub != NULL && pub->n == 2)
		CHECK(strcmp(pub->keys[0]->kid, c) != 0 &&
		    strcmp(pub->keys[1]->kid, c) != 0);
	oa_keyset_free_shallow(pub);
	oa_keyring_free(ring);

	/* No active key (a is pending): a new key signs at once. */
	CHECK(write_meta(a, "ES256", 900, time(NULL) + 5000, 0) == 0);
	CHECK(write_meta(b, "ES256", 900, 1000, 1500) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 600, c) == 0);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring != NULL) {
		s = oa_keyring_signer(ring, time(NULL) + 1);
		CHECK(s != NULL && strcmp(s->key->kid, c) == 0);
		CHECK(s != NULL && s->activates == s->created);
	}
	oa_keyring_free(ring);
}

static void
test_retire(void)
{
	char k1[48], k2[48], k3[48];
	struct oa_keyring *ring;
	const struct oa_keyinfo *s;
	time_t now = time(NULL);

	CHECK(oa_keys_new(dir, OA_ALG_ES256, 600, k1) == 0);
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 600, k2) == 0);
	/* k1 signs, k2 is pending: k1 is the only active key. */
	CHECK(oa_keys_retire(dir, k1) == -1);
	/* Unknown and malformed kids. */
	CHECK(oa_keys_retire(dir, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	    == -1);
	CHECK(oa_keys_retire(dir, "../cookie.key") == -1);
	CHECK(oa_keys_retire(dir, "") == -1);
	/* A pending key can be retired. */
	CHECK(oa_keys_new(dir, OA_ALG_ES256, 600, k3) == 0);
	CHECK(oa_keys_retire(dir, k3) == 0);
	CHECK(oa_keys_retire(dir, k3) == -1); /* already */

	/* Both active, k2 newest: retiring the signer is allowed now. */
	CHECK(write_meta(k1, "ES256", now - 200, now - 100, 0) == 0);
	CHECK(write_meta(k2, "ES256", now - 200, now - 10, 0) == 0);
	ring = oa_keyring_load(dir);
	s = ring ? oa_keyring_signer(ring, now) : NULL;
	CHECK(s != NULL && strcmp(s->key->kid, k2) == 0);
	oa_keyring_free(ring);
	CHECK(oa_keys_retire(dir, k2) == 0);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring != NULL) {
		const struct oa_keyinfo *i2 = find(ring, k2);
		char *jwks;

		CHECK(i2 != NULL && i2->retired >= now &&
		    i2->retired <= now + 5);
		s = oa_keyring_signer(ring, time(NULL));
		CHECK(s != NULL && strcmp(s->key->kid, k1) == 0);
		/* Retired: gone from the JWKS at once. */
		jwks = oa_jwks_document(ring);
		CHECK(jwks != NULL && strstr(jwks, k1) != NULL &&
		    strstr(jwks, k2) == NULL && strstr(jwks, k3) == NULL);
		free(jwks);
	}
	oa_keyring_free(ring);
	/* k1 is the last active key now. */
	CHECK(oa_keys_retire(dir, k1) == -1);
}

static void
test_refusals(void)
{
	char k1[48], p[256], q[256];
	const char *other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k1) == 0);
	CHECK(can_load());

	/* A group/other-readable private key is refused, also by the
	 * public loader (which does not read it). */
	path(p, sizeof(p), k1, ".pem");
	CHECK(chmod(p, 0644) == 0);
	CHECK(!can_load());
	CHECK(!can_load_public());
	CHECK(chmod(p, 0600) == 0);
	CHECK(can_load());
	CHECK(can_load_public());
	/* Its metadata too. */
	path(p, sizeof(p), k1, ".json");
	CHECK(chmod(p, 0604) == 0);
	CHECK(!can_load());
	CHECK(chmod(p, 0600) == 0);
	CHECK(can_load());

	/* A kid that does not match its file name. */
	path(p, sizeof(p), k1, ".pem");
	path(q, sizeof(q), other, ".pem");
	CHECK(rename(p, q) == 0);
	path(p, sizeof(p), k1, ".json");
	path(q, sizeof(q), other, ".json");
	CHECK(rename(p, q) == 0);
	CHECK(!can_load());
	CHECK(!can_load_public());
	CHECK(rename(q, p) == 0);
	path(p, sizeof(p), k1, ".pem");
	path(q, sizeof(q), other, ".pem");
	CHECK(rename(q, p) == 0);
	CHECK(can_load());

	/* Metadata whose public key is another key's. */
	{
		char k2[48], p2[256], *text = NULL, *text2 = NULL;
		size_t len = 0, len2 = 0;

		CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k2) == 0);
		path(p2, sizeof(p2), k2, ".json");
		path(p, sizeof(p), k1, ".json");
		CHECK(oa_file_read(p, 65536, &text, &len) == 0);
		CHECK(oa_file_read(p2, 65536, &text2, &len2) == 0);
		CHECK(text2 != NULL && oa_file_write_atomic(p, text2, len2,
		    0600) == 0);
		CHECK(!can_load());
		CHECK(!can_load_public());
		CHECK(text != NULL && oa_file_write_atomic(p, text, len,
		    0600) == 0);
		free(text);
		free(text2);
		CHECK(can_load() && can_load_public());
		/* A corrupt public key. */
		CHECK(write_file(p2, "{\"alg\":\"ES256\",\"created\":1,"
		    "\"activates\":1,\"retired\":0,\"jwk\":{\"kty\":\"EC\","
		    "\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}}",
		    0600) == 0);
		CHECK(!can_load());
		CHECK(!can_load_public());
		CHECK(unlink(p2) == 0);
		path(p2, sizeof(p2), k2, ".pem");
		CHECK(unlink(p2) == 0);
		CHECK(can_load());
	}

	/* A file name that is no kid at all. */
	path(q, sizeof(q), "not.a.kid", ".pem");
	CHECK(write_file(q, "x", 0600) == 0);
	CHECK(!can_load());
	CHECK(unlink(q) == 0);

	/* A corrupt key file (metadata without a public key: the public
	 * loader reads the .pem too). */
	path(q, sizeof(q), other, ".pem");
	CHECK(write_file(q, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n", 0600) == 0);
	CHECK(write_meta(other, "ES256", 1, 1, 0) == 0);
	CHECK(!can_load());
	CHECK(!can_load_public());
	CHECK(unlink(q) == 0);
	/* A .json alone (a key being written) is skipped. */
	CHECK(can_load());
	path(q, sizeof(q), other, ".json");
	CHECK(unlink(q) == 0);

	/* Corrupt or mismatched metadata, or none. */
	CHECK(write_meta(k1, "RS256", 1, 1, 0) == 0);
	CHECK(!can_load());
	CHECK(write_meta(k1, "ES256", 1, -5, 0) == 0);
	CHECK(!can_load());
	path(p, sizeof(p), k1, ".json");
	CHECK(write_file(p, "{\"alg\":\"ES256\",\"created\":1,", 0600) == 0);
	CHECK(!can_load());
	CHECK(write_file(p, "{\"alg\":\"ES256\",\"created\":1,"
	    "\"activates\":1.5,\"retired\":0}", 0600) == 0);
	CHECK(!can_load());
	CHECK(unlink(p) == 0);
	CHECK(!can_load());
	CHECK(write_meta(k1, "ES256", 1, 1, 0) == 0);
	CHECK(can_load());

	/* A missing directory. */
	CHECK(oa_keyring_load("/nonexistent/ownauth-keys") == NULL);
}

static void
test_changed(void)
{
	char k1[48];
	struct oa_keyring *ring;
	time_t now = time(NULL), deadline;
	int changed = 0;

	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k1) == 0);

	/* An mtime from this very moment is not trusted for long. */
	age_dir(now);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL && ring->recheck_at != 0 &&
	    ring->recheck_at <= now + 2);
	oa_keyring_free(ring);

	/* Nothing changes: not changed. A file rewritten: changed. */
	age_dir(now - 100);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL && ring->recheck_at == 0);
	CHECK(ring != NULL && !oa_keyring_changed(ring));
	CHECK(write_meta(k1, "ES256", now - 50, now - 50, 0) == 0);
	CHECK(ring != NULL && oa_keyring_changed(ring));
	oa_keyring_free(ring);

	/* A key whose activation time comes: changed, with no file write.
	 * Poll with a deadline. */
	now = time(NULL);
	CHECK(write_meta(k1, "ES256", now - 50, now + 2, 0) == 0);
	age_dir(now - 100);
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL && ring->recheck_at == now + 2);
	CHECK(ring != NULL && !oa_keyring_changed(ring));
	deadline = time(NULL) + 5;
	while (ring != NULL && time(NULL) <= deadline) {
		if ((changed = oa_keyring_changed(ring)) != 0)
			break;
		usleep(50 * 1000);
	}
	CHECK(changed && time(NULL) >= now + 2);
	oa_keyring_free(ring);

	/* The directory removed: changed (the reload will say why). */
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	if (ring != NULL) {
		free(ring->dir);
		ring->dir = strdup("/nonexistent/ownauth-keys");
		CHECK(oa_keyring_changed(ring));
	}
	oa_keyring_free(ring);
}

/* oa_keyring_refresh: kept while unchanged, replaced when changed,
 * NULL (and -1) when the reload fails, loaded again once fixed. */
static void
test_refresh(void)
{
	char k1[48], k2[48], p[256];
	struct oa_keyring *ring = NULL, *was;
	time_t now = time(NULL);

	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k1) == 0);
	age_dir(now - 100);

	/* NULL: loaded. */
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring != NULL && ring->n == 1);
	/* Unchanged: the very same ring. */
	was = ring;
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring == was);

	/* A new key: another ring that has it. */
	CHECK(oa_keys_new(dir, OA_ALG_EDDSA, 0, k2) == 0);
	age_dir(now - 90);
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring != NULL && ring->n == 2 && find(ring, k2) != NULL);

	/* A broken directory: -1 and no ring (the old one is not kept). */
	path(p, sizeof(p), k2, ".json");
	CHECK(write_file(p, "{not json", 0600) == 0);
	age_dir(now - 80);
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == -1);
	CHECK(ring == NULL);
	/* Fixed: loaded again. */
	CHECK(write_meta(k2, "EdDSA", now - 200, now - 200, 0) == 0);
	age_dir(now - 70);
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring != NULL && ring->n == 2);
	oa_keyring_free(ring);

	/* The loader is the caller's: the cookie key only. */
	ring = NULL;
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load_cookie) == 0);
	CHECK(ring != NULL && ring->n == 0);
	oa_keyring_free(ring);
}

/*
 * The open descriptors of this process (all of them, or only those on
 * directory p when p is not NULL); *cloexec is cleared when one of
 * those on p lacks FD_CLOEXEC. -1 when /proc cannot be read.
 */
static int
count_fds(const char *p, int *cloexec)
{
	char real[PATH_MAX], link[PATH_MAX], fdp[64];
	struct dirent *e;
	DIR *d;
	ssize_t r;
	int n = 0, fd;

	if (p != NULL && realpath(p, real) == NULL)
		return -1;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (fd = atoi(e->d_name)) == dirfd(d))
			continue;
		if (p == NULL) {
			n++;
			continue;
		}
		snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fd);
		if ((r = readlink(fdp, link, sizeof(link) - 1)) < 0)
			continue;
		link[r] = '\0';
		if (strcmp(link, real) != 0)
			continue;
		n++;
		if (cloexec != NULL && !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			*cloexec = 0;
	}
	closedir(d);
	return n;
}

/* Sets directory p's mtime to t.0. */
static void
set_mtime(const char *p, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	utimensat(AT_FDCWD, p, ts, 0);
}

/* Polls oa_keyring_changed for up to secs seconds: 1 once it says so. */
static int
changed_within(const struct oa_keyring *ring, int secs)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (oa_keyring_changed(ring))
			return 1;
		usleep(20 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec <= secs);
	return 0;
}

/*
 * The ring watches keys_dir through an open descriptor: one per ring,
 * close-on-exec, closed when the ring goes (reloads leak none, failed
 * loads neither); a change inside the directory is seen at once; a
 * directory replaced by another (even one with the same mtime, as
 * "cp -a" or rsync leave it) or removed is seen at the first check
 * after a load and within about a second after that.
 */
static void
test_watch(void)
{
	char k1[48], k2[48], other[160], old[160], p[256];
	struct oa_keyring *ring = NULL;
	time_t now = time(NULL);
	int before, cloexec = 1, i;

	CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k1) == 0);
	age_dir(now - 100);
	before = count_fds(NULL, NULL);
	CHECK(before > 0);

	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring != NULL && !oa_keyring_changed(ring));
	CHECK(count_fds(dir, &cloexec) == 1 && cloexec);
	CHECK(count_fds(NULL, NULL) == before + 1);
	/* Changes inside: seen at once; reloads leak no descriptor. */
	for (i = 0; i < 20; i++) {
		CHECK(write_meta(k1, "ES256", now - 50 - i, now - 50 - i,
		    0) == 0);
		age_dir(now - 90 + i);
		CHECK(ring != NULL && oa_keyring_changed(ring));
		CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	}
	CHECK(count_fds(NULL, NULL) == before + 1);
	/* A failed load keeps none. */
	path(p, sizeof(p), k1, ".json");
	CHECK(write_file(p, "{not json", 0600) == 0);
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == -1 &&
	    ring == NULL);
	CHECK(count_fds(NULL, NULL) == before);
	CHECK(write_meta(k1, "ES256", now - 200, now - 200, 0) == 0);
	age_dir(now - 100);

	/* Another directory with another key, renamed over keys_dir with
	 * the very mtime the ring saw. */
	snprintf(other, sizeof(other), "%s/other", tmp);
	snprintf(old, sizeof(old), "%s/old", tmp);
	CHECK(oa_keys_init_dir(other) == 0);
	{
		char save[128];

		strcpy(save, dir);
		strcpy(dir, other);
		CHECK(oa_keys_new(dir, OA_ALG_ES256, 0, k2) == 0);
		strcpy(dir, save);
	}
	set_mtime(other, now - 100);

	/* At the first check after the load: at once. */
	ring = oa_keyring_load(dir);
	CHECK(ring != NULL);
	CHECK(rename(dir, old) == 0 && rename(other, dir) == 0);
	set_mtime(dir, now - 100);
	CHECK(ring != NULL && oa_keyring_changed(ring));
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring != NULL && ring->n == 1 && find(ring, k2) != NULL);
	CHECK(count_fds(NULL, NULL) == before + 1);
	CHECK(count_fds(dir, NULL) == 1);

	/* Later: within the second (a generous deadline). */
	CHECK(ring != NULL && !oa_keyring_changed(ring));
	CHECK(rename(dir, other) == 0 && rename(old, dir) == 0);
	set_mtime(dir, now - 100);
	CHECK(ring != NULL && changed_within(ring, 3));
	CHECK(oa_keyring_refresh(&ring, dir, oa_keyring_load) == 0);
	CHECK(ring != NULL && find(ring, k1) != NULL &&
	    find(ring, k2) == NULL);

	/* Removed (renamed away): seen too. */
	CHECK(ring != NULL && !oa_keyring_changed(ring));
	CHECK(rename(dir, old) == 0);
	CHECK(ring != NULL && changed_within(ring, 3));
	CHECK(rename(old, dir) == 0);
	oa_keyring_free(ring);
	CHECK(count_fds(NULL, NULL) == before);
	snprintf(p, sizeof(p), "rm -rf '%s'", other);
	if (system(p) != 0)
		fprintf(stderr, "cannot remove %s\n", other);
}

/* Removes every file of dir and dir itself. */
static void
rm_dir(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void
fresh_dir(const char *name)
{
	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	CHECK(oa_keys_init_dir(dir) == 0);
}

int
main(void)
{
	char cmd[128];

	oa_log_set_prog("test_keys");
	oa_log_set_level(OA_LOG_ERROR);
	strcpy(tmp, "/tmp/oa-test-keys-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/keys", tmp);
	test_init();
	rm_dir();
	fresh_dir("k2");
	test_new_and_signer();
	rm_dir();
	fresh_dir("k3");
	test_signer_times();
	rm_dir();
	fresh_dir("k4");
	test_retire();
	rm_dir();
	fresh_dir("k5");
	test_refusals();
	rm_dir();
	fresh_dir("k6");
	test_changed();
	rm_dir();
	fresh_dir("k7");
	test_refresh();
	rm_dir();
	fresh_dir("k8");
	test_watch();
	rm_dir();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return t_done("keys");
}
