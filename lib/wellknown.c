/*
 * wellknown.c - what the key directory publishes: its KID.json files
 * (each key's life and public JWK), the JWKS (RFC 7517 §5), the OpenID
 * discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), and
 * their ETags.
 *
 * Nothing here calls libcrypto: SHA-256 (for RFC 7638 thumbprints and
 * ETags) is computed here, and a public JWK is checked member by member
 * rather than imported into OpenSSL. jwks.fcgi needs nothing else, so it
 * links no libcrypto code at all: a plain-CGI start pays neither for
 * loading libcrypto nor for OpenSSL 3's provider set-up (about 8 million
 * instructions, where the whole bare libfcgi program takes 0.2 million;
 * SPEC §11 allows jwks.fcgi twice the bare program's time). keys.c builds
 * its signing and verification rings on top of oa_keydir_load(), so every
 * program accepts and refuses exactly the same key directories.
 *
 * Both documents are built from the configuration and the keys only, so
 * the same bytes come out of jwks.fcgi and `ownauth keys publish`.
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

#include "ownauth.h"

#define META_FILE_MAX (16 * 1024)
/* Seconds during which a directory change may share the mtime of the
 * state we loaded (file systems stamp with a coarse clock). */
#define MTIME_RACY_WINDOW 2
#define RSA_MIN_BITS 2048  /* as jwk.c */
#define RSA_MAX_BITS 8192

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4 §6.2).                                           */

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* Runs the compression function on one 64-byte block. */
static void
sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = (ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^
		    (w[i - 2] >> 10)) + w[i - 7] +
		    (ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^
		    (w[i - 15] >> 3)) + w[i - 16];
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) +
		    ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

/*
 * SHA-256 of len bytes at data into out. Only public bytes are hashed
 * here (JWK members, documents), so there is nothing to wipe; the same
 * function as util.c's oa_sha256 (test_wellknown checks the vector of
 * the empty string, and every kid loaded is a thumbprint libcrypto
 * computed when the key was made).
 */
static void
sha256(const void *data, size_t len, uint8_t out[32])
{
	uint32_t h[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	const uint8_t *p = data;
	uint8_t tail[128];
	size_t rest = len % 64, full = len - rest, tlen, i;
	/* The message length in bits, mod 2^64 (FIPS 180-4 §5.1.1). */
	uint64_t bits = (uint64_t)len << 3;

	for (i = 0; i < full; i += 64)
		sha256_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	if (rest > 0)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tlen = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(h, tail);
	if (tlen == 128)
		sha256_block(h, tail + 64);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

/* ------------------------------------------------------------------ */
/* Public JWKs, checked without libcrypto.                              */

/* The shape of our public JWKs: the members oa_jwk_to_json() writes, in
 * its order (RFC 7517 §4, RFC 7518 §6.2.1 and §6.3.1, RFC 8037 §2). */
static const struct jwk_shape {
	enum oa_alg alg;
	const char *alg_name;
	const char *kty;
	const char *crv;          /* NULL: RSA has none */
	const char *members[2];   /* n e | x y | x */
} jwk_shapes[] = {
	{ OA_ALG_RS256, "RS256", "RSA", NULL, { "n", "e" } },
	{ OA_ALG_ES256, "ES256", "EC", "P-256", { "x", "y" } },
	{ OA_ALG_EDDSA, "EdDSA", "OKP", "Ed25519", { "x", NULL } },
};
#define N_SHAPES (sizeof(jwk_shapes) / sizeof(jwk_shapes[0]))

static const struct jwk_shape *
shape_of(enum oa_alg alg)
{
	size_t i;

	for (i = 0; i < N_SHAPES; i++)
		if (jwk_shapes[i].alg == alg)
			return &jwk_shapes[i];
	return NULL;
}

/*
 * 1 when s (len bytes) can be a kid: 1 to 47 base64url characters. This
 * is also what keeps a kid given on the command line from naming another
 * path.
 */
int
oa_keydir_kid_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len >= sizeof(((struct oa_key *)0)->kid))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* The string member name of obj, or NULL. */
static const char *
str_member(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/*
 * Checks the base64url key member name of a JWK of shape s: RSA n is a
 * 2048- to 8192-bit odd modulus in the fewest octets (RFC 7518
 * §6.3.1.1), e an odd exponent of 3 to 2^31-1 (jwk.c's rule) in the
 * fewest octets; EC x and y and Ed25519 x are 32 octets (RFC 7518
 * §6.2.1.2-3, RFC 8037 §2). 0, or -1 with a reason in why.
 */
static int
key_member_check(const struct jwk_shape *s, const char *name,
    const char *value, const char **why)
{
	uint8_t *b = NULL;
	size_t len = 0, i;
	uint32_t e = 0;
	uint8_t top;
	int bits, rc = -1;

	if (oa_b64url_decode(value, strlen(value), &b, &len) == -1) {
		*why = "a key member is not base64url";
		return -1;
	}
	if (s->alg != OA_ALG_RS256) {
		if (len != 32)
			*why = "a coordinate is not 32 bytes";
		else
			rc = 0;
	} else if (strcmp(name, "n") == 0) {
		if (len == 0 || b[0] == 0 || (b[len - 1] & 1) == 0 ||
		    len > RSA_MAX_BITS / 8) {
			*why = "the RSA modulus is malformed";
			goto out;
		}
		for (bits = 8, top = b[0]; (top & 0x80) == 0; top <<= 1)
			bits--;
		bits += (int)(len - 1) * 8;
		if (bits < RSA_MIN_BITS)
			*why = "the RSA modulus is under 2048 bits";
		else
			rc = 0;
	} else {
		if (len == 0 || len > 4 || b[0] == 0) {
			*why = "the RSA exponent is malformed";
			goto out;
		}
		for (i = 0; i < len; i++)
			e = e << 8 | b[i];
		if ((e & 1) == 0 || e < 3 || e > 0x7fffffff)
			*why = "the RSA exponent is refused";
		else
			rc = 0;
	}
out:
	free(b);
	return rc;
}

/*
 * Checks the public JWK jwk (the "jwk" member of KID.json) of the key
 * kid, whose metadata says alg: exactly the members oa_jwk_to_json()
 * writes, all strings, with "kid" the file name, "alg" the metadata's,
 * "use":"sig", well-formed key members (no private member can pass), and
 * an RFC 7638 thumbprint equal to kid. The thumbprint is what makes the
 * check complete: kid was computed by libcrypto from the private key
 * when the key was made, so the members that hash to it are that key's
 * (which is why the on-curve check of an import adds nothing here).
 * Returns a new object with the members in canonical order (cJSON_Delete
 * it), or NULL and a reason in why.
 */
static cJSON *
jwk_check(const cJSON *jwk, const char *kid, enum oa_alg alg,
    const char **why)
{
	const struct jwk_shape *s = shape_of(alg);
	const char *v[2] = { NULL, NULL }, *p;
	const cJSON *it;
	char *canon = NULL, *tp = NULL;
	uint8_t md[32];
	cJSON *out = NULL, *res = NULL;
	int want, count = 0, n, i;

	*why = "out of memory";
	if (s == NULL || !cJSON_IsObject(jwk)) {
		*why = "not a JSON object";
		return NULL;
	}
	/* Each wanted member present as a string and nothing else: with
	 * the count equal, none can be repeated either. */
	want = 4 + (s->crv != NULL) + 1 + (s->members[1] != NULL);
	cJSON_ArrayForEach(it, jwk)
		count++;
	if (count != want) {
		*why = "not exactly the members of a public key";
		return NULL;
	}
	if ((p = str_member(jwk, "kty")) == NULL || strcmp(p, s->kty) != 0) {
		*why = "\"kty\" does not match the alg";
		return NULL;
	}
	if ((p = str_member(jwk, "kid")) == NULL || strcmp(p, kid) != 0) {
		*why = "\"kid\" is not the file name";
		return NULL;
	}
	if ((p = str_member(jwk, "alg")) == NULL ||
	    strcmp(p, s->alg_name) != 0) {
		*why = "\"alg\" does not match";
		return NULL;
	}
	if ((p = str_member(jwk, "use")) == NULL || strcmp(p, "sig") != 0) {
		*why = "\"use\" is not \"sig\"";
		return NULL;
	}
	if (s->crv != NULL && ((p = str_member(jwk, "crv")) == NULL ||
	    strcmp(p, s->crv) != 0)) {
		*why = "\"crv\" does not match the alg";
		return NULL;
	}
	for (i = 0; i < 2 && s->members[i] != NULL; i++) {
		if ((v[i] = str_member(jwk, s->members[i])) == NULL) {
			*why = "a key member is missing";
			return NULL;
		}
		if (key_member_check(s, s->members[i], v[i], why) == -1)
			return NULL;
	}

	/* RFC 7638 §3.2: the required members in lexicographic order; the
	 * values are base64url, which JSON needs no escape for. */
	if (alg == OA_ALG_RS256)
		n = asprintf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\","
		    "\"n\":\"%s\"}", v[1], v[0]);
	else if (alg == OA_ALG_ES256)
		n = asprintf(&canon, "{\"crv\":\"P-256\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", v[0], v[1]);
	else
		n = asprintf(&canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
		    "\"x\":\"%s\"}", v[0]);
	if (n < 0) {
		canon = NULL;
		goto out;
	}
	sha256(canon, (size_t)n, md);
	if ((tp = oa_b64url_encode(md, sizeof(md))) == NULL)
		goto out;
	if (strcmp(tp, kid) != 0) {
		*why = "its RFC 7638 thumbprint is not the file name";
		goto out;
	}

	if ((out = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(out, "kty", s->kty) == NULL ||
	    cJSON_AddStringToObject(out, "kid", kid) == NULL ||
	    cJSON_AddStringToObject(out, "alg", s->alg_name) == NULL ||
	    cJSON_AddStringToObject(out, "use", "sig") == NULL ||
	    (s->crv != NULL &&
	    cJSON_AddStringToObject(out, "crv", s->crv) == NULL))
		goto out;
	for (i = 0; i < 2 && s->members[i] != NULL; i++)
		if (cJSON_AddStringToObject(out, s->members[i], v[i]) == NULL)
			goto out;
	res = out;
	out = NULL;
out:
	cJSON_Delete(out);
	free(canon);
	free(tp);
	return res;
}

/* ------------------------------------------------------------------ */
/* The key directory's KID.json files.                                  */

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
 * Reads the metadata of key kid of dir into *out: checks the mode of
 * KID.pem (never read here) and of KID.json, parses KID.json and checks
 * its public JWK (jwk_check). Logs one line naming the file on failure.
 * 0 or -1.
 */
static int
meta_load(const char *dir, const char *kid, int flags,
    struct oa_keymeta *out)
{
	char pem_path[PATH_MAX], path[PATH_MAX], err[512];
	char *text = NULL;
	size_t len = 0, i;
	cJSON *meta = NULL, *pub = NULL;
	const cJSON *jwk;
	const char *alg, *why;
	enum oa_alg a = OA_ALG_UNKNOWN;
	time_t created, activates, retired;
	int rc = -1;

	if (oa_file_path(pem_path, sizeof(pem_path), dir, kid, ".pem") == -1 ||
	    oa_file_path(path, sizeof(path), dir, kid, ".json") == -1)
		goto out;
	if (oa_file_check_private(pem_path, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "%s", err);
		goto out;
	}
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
	alg = str_member(meta, "alg");
	if (!cJSON_IsObject(meta) || alg == NULL ||
	    meta_time(meta, "created", &created) == -1 ||
	    meta_time(meta, "activates", &activates) == -1 ||
	    meta_time(meta, "retired", &retired) == -1) {
		oa_log(OA_LOG_ERROR, "%s: corrupt key metadata (want "
		    "{\"alg\",\"created\",\"activates\",\"retired\"})", path);
		goto out;
	}
	for (i = 0; i < N_SHAPES; i++)
		if (strcmp(alg, jwk_shapes[i].alg_name) == 0)
			a = jwk_shapes[i].alg;
	if (a == OA_ALG_UNKNOWN) {
		oa_log(OA_LOG_ERROR, "%s: unknown alg \"%.16s\"", path, alg);
		goto out;
	}
	if ((jwk = cJSON_GetObjectItemCaseSensitive(meta, "jwk")) != NULL) {
		if ((pub = jwk_check(jwk, kid, a, &why)) == NULL) {
			oa_log(OA_LOG_ERROR, "%s: corrupt public key (jwk): %s",
			    path, why);
			goto out;
		}
	} else if (flags & OA_KEYDIR_JWK) {
		oa_log(OA_LOG_ERROR, "%s: no public key (\"jwk\"): a key "
		    "directory written by hand? `ownauth keys new` writes "
		    "it", path);
		goto out;
	}
	memcpy(out->kid, kid, strlen(kid) + 1);
	out->alg = a;
	out->created = created;
	out->activates = activates;
	out->retired = retired;
	out->jwk = pub;
	pub = NULL;
	rc = 0;
out:
	free(text);
	cJSON_Delete(meta);
	cJSON_Delete(pub);
	return rc;
}

/* Ring order: activation time, then creation time, then kid. */
static int
keymeta_cmp(const void *pa, const void *pb)
{
	const struct oa_keymeta *a = pa, *b = pb;

	if (a->activates != b->activates)
		return a->activates < b->activates ? -1 : 1;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->kid, b->kid);
}

/*
 * Reads the key directory dir. Refuses (NULL, one log line naming the
 * file) a directory, KID.pem, KID.json or cookie.key that group or
 * others can use, a file name that is no kid, a KID.pem without its
 * KID.json, corrupt metadata, and a public JWK that fails jwk_check().
 *
 * Writers (the CLI) write KID.json before KID.pem and this lists the
 * .pem files only, so a reader never sees a key without its metadata; a
 * .json without its .pem (a key being written) is skipped. The private
 * keys are never read here.
 */
struct oa_keydir *
oa_keydir_load(const char *dir, int flags)
{
	struct oa_keydir *kd = NULL, *ret = NULL;
	struct oa_keymeta *grown;
	char err[512], path[PATH_MAX];
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;
	size_t cap = 0, i;
	time_t now;

	if ((kd = calloc(1, sizeof(*kd))) == NULL ||
	    (kd->dir = strdup(dir)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_keydir_load: out of memory");
		goto out;
	}
	/*
	 * The mtime is taken before the listing: a change made while we
	 * read shows up as a newer mtime at the next oa_keydir_changed().
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
	kd->dir_mtime = st.st_mtim.tv_sec;
	kd->dir_mtime_ns = st.st_mtim.tv_nsec;
	now = time(NULL);

	if ((flags & OA_KEYDIR_NO_KEYS) == 0) {
		if ((d = opendir(dir)) == NULL) {
			oa_log(OA_LOG_ERROR, "keys_dir %s: %s", dir,
			    strerror(errno));
			goto out;
		}
		for (;;) {
			const char *name;
			size_t len;
			char kid[48];

			errno = 0;
			if ((de = readdir(d)) == NULL) {
				if (errno != 0) {
					oa_log(OA_LOG_ERROR, "keys_dir %s: %s",
					    dir, strerror(errno));
					goto out;
				}
				break;
			}
			name = de->d_name;
			len = strlen(name);
			/* Dot files (temporary files of atomic writes among
			 * them), cookie.key and the .json files are not
			 * listed here. */
			if (name[0] == '.' || len < 5 ||
			    strcmp(name + len - 4, ".pem") != 0)
				continue;
			if (!oa_keydir_kid_valid(name, len - 4)) {
				oa_log(OA_LOG_ERROR, "%s/%s: not a key id file "
				    "name", dir, name);
				goto out;
			}
			memcpy(kid, name, len - 4);
			kid[len - 4] = '\0';
			if (kd->n == cap) {
				cap = cap ? cap * 2 : 4;
				if (cap > SIZE_MAX / sizeof(*grown) ||
				    (grown = realloc(kd->keys,
				    cap * sizeof(*grown))) == NULL) {
					oa_log(OA_LOG_ERROR, "oa_keydir_load: "
					    "out of memory");
					goto out;
				}
				kd->keys = grown;
			}
			if (meta_load(dir, kid, flags, &kd->keys[kd->n]) == -1)
				goto out;
			kd->n++;
		}
		if (kd->n > 1)
			qsort(kd->keys, kd->n, sizeof(*kd->keys),
			    keymeta_cmp);
	}
	/* The cookie key is private too, whoever reads it. */
	if (oa_file_path(path, sizeof(path), dir, OA_KEYS_COOKIE_FILE,
	    "") == -1)
		goto out;
	if (oa_file_check_private(path, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "%s", err);
		goto out;
	}

	/* When to look again even if the directory does not change. */
	for (i = 0; i < kd->n; i++) {
		const struct oa_keymeta *k = &kd->keys[i];

		if (k->retired == 0 && k->activates > now &&
		    (kd->recheck_at == 0 || k->activates < kd->recheck_at))
			kd->recheck_at = k->activates;
	}
	if (now - kd->dir_mtime < MTIME_RACY_WINDOW) {
		time_t t = kd->dir_mtime + MTIME_RACY_WINDOW;

		if (kd->recheck_at == 0 || t < kd->recheck_at)
			kd->recheck_at = t;
	}
	ret = kd;
	kd = NULL;
out:
	if (d != NULL)
		closedir(d);
	oa_keydir_free(kd);
	return ret;
}

/* Frees kd and its JWKs. NULL is a no-op. */
void
oa_keydir_free(struct oa_keydir *kd)
{
	size_t i;

	if (kd == NULL)
		return;
	for (i = 0; i < kd->n; i++)
		cJSON_Delete(kd->keys[i].jwk);
	free(kd->keys);
	free(kd->dir);
	free(kd);
}

/*
 * 1 when the directory should be read again: its mtime (with
 * nanoseconds) differs or it is gone, or kd->recheck_at has passed (a
 * key's activation time came, which changes the signer, or the mtime we
 * saw was too recent to be trusted). 0 otherwise.
 */
int
oa_keydir_changed(const struct oa_keydir *kd)
{
	struct stat st;

	if (kd == NULL || stat(kd->dir, &st) == -1)
		return 1;
	if (st.st_mtim.tv_sec != kd->dir_mtime ||
	    st.st_mtim.tv_nsec != kd->dir_mtime_ns)
		return 1;
	if (kd->recheck_at != 0 && time(NULL) >= kd->recheck_at)
		return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The documents.                                                       */

/* Private JWK members (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2). */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/*
 * Appends a copy of the public JWK of key kid to the array keys. A
 * missing JWK, or a member holding private key material, would be a bug
 * upstream of here: the document is refused rather than published.
 * 0 or -1 (logged).
 */
static int
jwks_add(cJSON *keys, const cJSON *jwk, const char *kid)
{
	cJSON *copy;
	size_t j;

	if (jwk == NULL) {
		oa_log(OA_LOG_ERROR, "oa_jwks_document: key %s has no public "
		    "JWK", kid);
		return -1;
	}
	for (j = 0; j < sizeof(private_members) / sizeof(private_members[0]);
	    j++)
		if (cJSON_GetObjectItemCaseSensitive(jwk,
		    private_members[j]) != NULL) {
			oa_log(OA_LOG_ERROR, "oa_jwks_document: key %s has "
			    "private member \"%s\"; not published", kid,
			    private_members[j]);
			return -1;
		}
	if ((copy = cJSON_Duplicate(jwk, 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_jwks_document: out of memory");
		return -1;
	}
	cJSON_AddItemToArray(keys, copy);
	return 0;
}

/* A new {"keys":[]} and its array, or NULL (logged). */
static cJSON *
jwks_new(cJSON **keys)
{
	cJSON *doc;

	if ((doc = cJSON_CreateObject()) == NULL ||
	    (*keys = cJSON_AddArrayToObject(doc, "keys")) == NULL) {
		oa_log(OA_LOG_ERROR, "oa_jwks_document: out of memory");
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* The text of doc (then deleted), or NULL (logged). */
static char *
jwks_text(cJSON *doc)
{
	char *out;

	if ((out = cJSON_PrintUnformatted(doc)) == NULL)
		oa_log(OA_LOG_ERROR, "oa_jwks_document: out of memory");
	cJSON_Delete(doc);
	return out;
}

/*
 * The JWKS {"keys":[...]} of the published (unretired) keys of ring, in
 * ring order (oldest activation first): each key's jwk, which is the
 * JWK of KID.json, checked (jwk_check), or its export when KID.json has
 * none. Returns malloc'd JSON text (free()), or NULL.
 */
char *
oa_jwks_document(const struct oa_keyring *ring)
{
	cJSON *doc, *keys;
	size_t i;

	if ((doc = jwks_new(&keys)) == NULL)
		return NULL;
	for (i = 0; i < ring->n; i++)
		if (ring->keys[i].retired == 0 &&
		    jwks_add(keys, ring->keys[i].jwk,
		    ring->keys[i].key->kid) == -1) {
			cJSON_Delete(doc);
			return NULL;
		}
	return jwks_text(doc);
}

/* The same document from kd, for jwks.fcgi: the same bytes as
 * oa_jwks_document() gives for the ring of the same directory. */
char *
oa_keydir_jwks_document(const struct oa_keydir *kd)
{
	cJSON *doc, *keys;
	size_t i;

	if ((doc = jwks_new(&keys)) == NULL)
		return NULL;
	for (i = 0; i < kd->n; i++)
		if (kd->keys[i].retired == 0 &&
		    jwks_add(keys, kd->keys[i].jwk, kd->keys[i].kid) == -1) {
			cJSON_Delete(doc);
			return NULL;
		}
	return jwks_text(doc);
}

/* Adds name: "{issuer}{path}". 0 or -1. */
static int
add_url(cJSON *doc, const char *issuer, const char *name, const char *path)
{
	size_t ilen = strlen(issuer), plen = strlen(path);
	char *url;
	int rc;

	if ((url = malloc(ilen + plen + 1)) == NULL)
		return -1;
	memcpy(url, issuer, ilen);
	memcpy(url + ilen, path, plen + 1);
	rc = cJSON_AddStringToObject(doc, name, url) == NULL ? -1 : 0;
	free(url);
	return rc;
}

/* Adds name: [strings...] (NULL-terminated). 0 or -1. */
static int
add_list(cJSON *doc, const char *name, const char *const *v)
{
	cJSON *arr, *s;

	if ((arr = cJSON_AddArrayToObject(doc, name)) == NULL)
		return -1;
	for (; *v != NULL; v++) {
		if ((s = cJSON_CreateString(*v)) == NULL)
			return -1;
		cJSON_AddItemToArray(arr, s);
	}
	return 0;
}

/* Bit of alg in an algorithm set. */
#define ALG_BIT(alg) (1u << (alg))

/*
 * The discovery document for conf, announcing the signing algorithms in
 * algs (a set of ALG_BIT; RS256 when empty). Malloc'd, or NULL.
 */
static char *
discovery_build(const struct oa_conf *conf, unsigned algs_set)
{
	static const char *const grants[] = {
		"authorization_code", "refresh_token", NULL };
	static const char *const subjects[] = { "public", NULL };
	static const char *const pkce[] = { "S256", NULL };
	static const char *const auth_methods[] = { "none", NULL };
	static const char *const scopes[] = {
		"openid", "email", "profile", "offline_access", NULL };
	static const char *const claims[] = {
		"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid",
		"jti", "email", "email_verified", "name", "picture", NULL };
	static const char *const modes[] = { "query", "fragment", NULL };
	const char *rtypes[3] = { "code", NULL, NULL };
	const char *algs[N_SHAPES + 1];
	cJSON *doc = NULL;
	char *out = NULL;
	size_t i, nalg = 0;

	for (i = 0; i < conf->n_clients; i++)
		if (conf->clients[i].allow_token)
			rtypes[1] = "token";
	/* jwk_shapes lists RS256, ES256, EdDSA: the order announced. */
	for (i = 0; i < N_SHAPES; i++)
		if (algs_set & ALG_BIT(jwk_shapes[i].alg))
			algs[nalg++] = jwk_shapes[i].alg_name;
	/* Discovery §3 requires RS256 be listed when nothing else is. */
	if (nalg == 0)
		algs[nalg++] = jwk_shapes[0].alg_name;
	algs[nalg] = NULL;

	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(doc, "issuer", conf->issuer) == NULL ||
	    add_url(doc, conf->issuer, "jwks_uri",
	    "/.well-known/jwks.json") == -1 ||
	    add_url(doc, conf->issuer, "authorization_endpoint",
	    "/oauth/authorize") == -1 ||
	    add_url(doc, conf->issuer, "token_endpoint", "/token") == -1 ||
	    add_url(doc, conf->issuer, "userinfo_endpoint",
	    "/userinfo") == -1 ||
	    add_url(doc, conf->issuer, "revocation_endpoint",
	    "/revoke") == -1 ||
	    add_url(doc, conf->issuer, "end_session_endpoint",
	    "/logout") == -1 ||
	    add_list(doc, "response_types_supported", rtypes) == -1 ||
	    add_list(doc, "response_modes_supported", modes) == -1 ||
	    add_list(doc, "grant_types_supported", grants) == -1 ||
	    add_list(doc, "subject_types_supported", subjects) == -1 ||
	    add_list(doc, "id_token_signing_alg_values_supported",
	    algs) == -1 ||
	    add_list(doc, "code_challenge_methods_supported", pkce) == -1 ||
	    add_list(doc, "token_endpoint_auth_methods_supported",
	    auth_methods) == -1 ||
	    add_list(doc, "revocation_endpoint_auth_methods_supported",
	    auth_methods) == -1 ||
	    add_list(doc, "scopes_supported", scopes) == -1 ||
	    add_list(doc, "claims_supported", claims) == -1 ||
	    /* RFC 9207 §3: we send iss in authorization responses. */
	    cJSON_AddTrueToObject(doc,
	    "authorization_response_iss_parameter_supported") == NULL ||
	    (out = cJSON_PrintUnformatted(doc)) == NULL)
		oa_log(OA_LOG_ERROR, "oa_discovery_document: out of memory");
	cJSON_Delete(doc);
	return out;
}

/*
 * The discovery document for conf: every URL is built from conf->issuer
 * (which has no trailing slash, so "issuer" is byte for byte the "iss" of
 * our tokens: Discovery §4.3, SECURITY.md item 19); the signing
 * algorithms are those of the published keys of ring (RS256 when there is
 * none: Discovery §3 requires RS256 be listed then). ring may be NULL.
 * Returns malloc'd JSON text (free()), or NULL.
 */
char *
oa_discovery_document(const struct oa_conf *conf,
    const struct oa_keyring *ring)
{
	unsigned algs = 0;
	size_t i;

	for (i = 0; ring != NULL && i < ring->n; i++)
		if (ring->keys[i].retired == 0)
			algs |= ALG_BIT(ring->keys[i].key->alg);
	return discovery_build(conf, algs);
}

/* The same document from kd (may be NULL), for jwks.fcgi. */
char *
oa_keydir_discovery_document(const struct oa_conf *conf,
    const struct oa_keydir *kd)
{
	unsigned algs = 0;
	size_t i;

	for (i = 0; kd != NULL && i < kd->n; i++)
		if (kd->keys[i].retired == 0)
			algs |= ALG_BIT(kd->keys[i].alg);
	return discovery_build(conf, algs);
}

/*
 * A strong ETag for body: the quoted base64url of the first 18 bytes
 * (144 bits) of its SHA-256. Returns a malloc'd string such as
 * "\"q1w2...\"" (free()), or NULL.
 */
char *
oa_etag(const char *body, size_t len)
{
	uint8_t md[32];
	char *b64, *out;
	size_t n;

	sha256(body, len, md);
	if ((b64 = oa_b64url_encode(md, 18)) == NULL)
		return NULL;
	n = strlen(b64);
	if ((out = malloc(n + 3)) != NULL) {
		out[0] = '"';
		memcpy(out + 1, b64, n);
		out[n + 1] = '"';
		out[n + 2] = '\0';
	}
	free(b64);
	return out;
}

/*
 * If-None-Match (RFC 9110 §13.1.2): "*", or a comma-separated list of
 * entity-tags, each optionally weak (W/"..."), compared weakly (the
 * opaque tags are equal). An entry that is not a well-formed entity-tag
 * ends the match (no match). 1 on a match, else 0.
 */
int
oa_etag_match(const char *inm, const char *etag)
{
	const char *p = inm, *q, *opaque;
	size_t elen, olen;

	if (inm == NULL || etag == NULL)
		return 0;
	/* Our own tag's opaque part, with its quotes. */
	if (etag[0] == 'W' && etag[1] == '/')
		etag += 2;
	elen = strlen(etag);
	if (elen < 2 || etag[0] != '"' || etag[elen - 1] != '"')
		return 0;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*') {
			/* "*" alone: any current representation. */
			for (q = p + 1; *q == ' ' || *q == '\t'; q++)
				;
			return *q == '\0';
		}
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0;
		opaque = p;
		for (q = p + 1; *q != '"'; q++) {
			/* etagc = %x21 / %x23-7E / obs-text */
			if (*q == '\0' || (unsigned char)*q < 0x21 ||
			    *q == 0x7f)
				return 0;
		}
		olen = (size_t)(q - opaque) + 1;
		if (olen == elen && memcmp(opaque, etag, elen) == 0)
			return 1;
		p = q + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return 0;
	}
}
