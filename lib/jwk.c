/*
 * jwk.c - signing and verification keys: generation, PKCS#8 / SPKI PEM,
 * JWK import and export (RFC 7517, RFC 7518 §6, RFC 8037 §2) and RFC 7638
 * thumbprints, which are our kids.
 *
 * Only three key types exist here, each bound to one algorithm
 * (RFC 8725 §3.1: the algorithm belongs to the key, never to a token):
 *   RSA, 2048..8192 bits  -> RS256
 *   EC P-256              -> ES256
 *   OKP Ed25519           -> EdDSA
 * Everything goes through OpenSSL 3 EVP: keys are built from JWK members
 * with OSSL_PARAM_BLD + EVP_PKEY_fromdata and read back with
 * EVP_PKEY_get_bn_param / EVP_PKEY_get_octet_string_param.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "ownauth.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192 /* bounds the cost of a verification */
#define PEM_MAX 65536     /* a PEM key file is a few KB at most */
#define KID_MAX 255       /* longest "kid" member accepted in a JWK */
#define JWKS_MAX_KEYS 256

/* Logs a failed OpenSSL call with its reason and empties the error queue
 * (a long-lived FastCGI worker must not carry stale errors around). */
static void
ossl_fail(enum oa_log_level lvl, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	oa_log(lvl, "%s failed%s%s", what, r ? ": " : "", r ? r : "");
	ERR_clear_error();
}

const char *
oa_alg_name(enum oa_alg alg)
{
	switch (alg) {
	case OA_ALG_RS256:
		return "RS256";
	case OA_ALG_ES256:
		return "ES256";
	case OA_ALG_EDDSA:
		return "EdDSA";
	default:
		return NULL;
	}
}

int
oa_alg_parse(const char *s, enum oa_alg *out)
{
	enum oa_alg a;

	if (s == NULL || out == NULL)
		return -1;
	if (strcmp(s, "RS256") == 0)
		a = OA_ALG_RS256;
	else if (strcmp(s, "ES256") == 0)
		a = OA_ALG_ES256;
	else if (strcmp(s, "EdDSA") == 0)
		a = OA_ALG_EDDSA;
	else
		return -1;
	*out = a;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Key checks.                                                          */

/* 1 when pkey's public part passes EVP_PKEY_public_check (EC: the point
 * is on the curve and in the prime-order subgroup), 0 otherwise. */
static int
public_check(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = NULL;
	int ok = 0;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		ossl_fail(OA_LOG_ERROR, "EVP_PKEY_CTX_new_from_pkey");
		goto out;
	}
	if (EVP_PKEY_public_check(ctx) != 1) {
		ERR_clear_error();
		goto out;
	}
	ok = 1;
out:
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/*
 * Works out the algorithm of pkey and refuses anything we do not sign or
 * verify with: RSA outside 2048..8192 bits or with an even, tiny or huge
 * public exponent (RSA-PSS-only keys too), EC curves other than P-256 or
 * points off the curve, and every other key type. Returns 0 and writes
 * *alg, or -1 (logged at lvl).
 */
static int
key_check(EVP_PKEY *pkey, enum oa_alg *alg, enum oa_log_level lvl)
{
	BIGNUM *e = NULL;
	char group[64];
	size_t glen = 0;
	int bits, rc = -1;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
			oa_log(lvl, "RSA key of %d bits refused (%d to %d)",
			    bits, RSA_MIN_BITS, RSA_MAX_BITS);
			goto out;
		}
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) !=
		    1) {
			ossl_fail(lvl, "EVP_PKEY_get_bn_param(e)");
			goto out;
		}
		/* As Go's crypto/rsa: 3 <= e <= 2^31-1, odd. */
		if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 31) {
			oa_log(lvl, "RSA public exponent refused");
			goto out;
		}
		*alg = OA_ALG_RS256;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey,
		        OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
		        &glen) != 1) {
			ossl_fail(lvl,
			    "EC key without a named curve:"
			    " EVP_PKEY_get_utf8_string_param");
			goto out;
		}
		if (strcmp(group, "prime256v1") != 0 &&
		    strcmp(group, "P-256") != 0) {
			oa_log(
			    lvl, "EC curve %.63s refused (P-256 only)", group);
			goto out;
		}
		if (!public_check(pkey)) {
			oa_log(lvl, "EC public key is not a valid P-256 point");
			goto out;
		}
		*alg = OA_ALG_ES256;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		if (!public_check(pkey)) {
			oa_log(lvl, "Ed25519 public key refused");
			goto out;
		}
		*alg = OA_ALG_EDDSA;
	} else {
		oa_log(lvl, "key type refused (RSA, P-256 or Ed25519 only)");
		goto out;
	}
	rc = 0;
out:
	BN_free(e);
	return rc;
}

static struct oa_key *
key_from_pkey_lvl(EVP_PKEY *pkey, int is_private, enum oa_log_level lvl)
{
	struct oa_key *key = NULL, *res = NULL;
	enum oa_alg alg = OA_ALG_UNKNOWN;

	if (pkey == NULL)
		goto out;
	if (key_check(pkey, &alg, lvl) != 0)
		goto out;
	if ((key = calloc(1, sizeof *key)) == NULL) {
		oa_log(OA_LOG_ERROR, "calloc failed");
		goto out;
	}
	key->pkey = pkey;
	pkey = NULL;
	key->alg = alg;
	key->is_private = is_private ? 1 : 0;
	if (oa_jwk_thumbprint(key, key->kid) != 0)
		goto out;
	res = key;
	key = NULL;
out:
	EVP_PKEY_free(pkey);
	oa_key_free(key);
	return res;
}

/*
 * Wraps pkey (ownership moves to the key, also on failure), works out
 * the algorithm, refuses RSA < 2048 and other curves, computes the kid.
 * Returns the key (free with oa_key_free) or NULL.
 */
struct oa_key *
oa_key_from_pkey(EVP_PKEY *pkey, int is_private)
{
	return key_from_pkey_lvl(pkey, is_private, OA_LOG_WARN);
}

/* Generates a new private key for alg (RSA: 2048 bits, e = 65537). */
struct oa_key *
oa_key_generate(enum oa_alg alg)
{
	EVP_PKEY *pkey = NULL;

	switch (alg) {
	case OA_ALG_RS256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case OA_ALG_ES256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case OA_ALG_EDDSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		oa_log(OA_LOG_ERROR, "oa_key_generate: unknown algorithm");
		return NULL;
	}
	if (pkey == NULL) {
		ossl_fail(OA_LOG_ERROR, "EVP_PKEY_Q_keygen");
		return NULL;
	}
	return key_from_pkey_lvl(pkey, 1, OA_LOG_ERROR);
}

/* Frees the key; the EVP_PKEY wipes its own private parts. */
void
oa_key_free(struct oa_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	OPENSSL_cleanse(key, sizeof *key);
	free(key);
}

/* ------------------------------------------------------------------ */
/* PEM.                                                                 */

/* Number of occurrences of needle in the len bytes at hay. */
static size_t
count_mem(const char *hay, size_t len, const char *needle)
{
	size_t nlen = strlen(needle), n = 0;
	const char *p = hay, *end = hay + len;

	while ((size_t)(end - p) >= nlen &&
	    (p = memmem(p, (size_t)(end - p), needle, nlen)) != NULL) {
		n++;
		p += nlen;
	}
	return n;
}

#define PEM_PRIV_BEGIN "-----BEGIN PRIVATE KEY-----"
#define PEM_PRIV_END   "-----END PRIVATE KEY-----"

/*
 * The quick way to a PKCS#8 private key, for the keys we make (RSA,
 * P-256, Ed25519): the base64 body decoded here, the algorithm read from
 * the PrivateKeyInfo, and a decoder asked for exactly "DER" ->
 * "PrivateKeyInfo" -> that key type. A decoder context for "PEM" and
 * any key type chains every decoder the providers have, which costs a
 * plain-CGI token.fcgi about half a millisecond before its first
 * request (SPEC §11). Returns the EVP_PKEY, or NULL for anything else
 * (no message): the caller then takes the general path, which accepts
 * and refuses exactly what it did before.
 */
static EVP_PKEY *
pkcs8_quick(const char *pem, size_t len)
{
	EVP_ENCODE_CTX *ectx = NULL;
	OSSL_DECODER_CTX *dctx = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const ASN1_OBJECT *obj = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p;
	const char *b, *e, *type;
	unsigned char *der = NULL;
	size_t left;
	int n1 = 0, n2 = 0, dlen = 0;

	if ((b = memmem(pem, len, PEM_PRIV_BEGIN,
	    strlen(PEM_PRIV_BEGIN))) == NULL)
		return NULL;
	b += strlen(PEM_PRIV_BEGIN);
	if ((e = memmem(b, len - (size_t)(b - pem), PEM_PRIV_END,
	    strlen(PEM_PRIV_END))) == NULL || e - b > INT_MAX / 2)
		return NULL;
	/* 3 bytes for every 4 characters, whitespace included. */
	if ((der = malloc((size_t)(e - b) / 4 * 3 + 3)) == NULL ||
	    (ectx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	EVP_DecodeInit(ectx);
	if (EVP_DecodeUpdate(ectx, der, &n1, (const unsigned char *)b,
	    (int)(e - b)) < 0 || EVP_DecodeFinal(ectx, der + n1, &n2) != 1)
		goto out;
	dlen = n1 + n2;
	p = der;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, dlen)) == NULL ||
	    p != der + dlen ||
	    PKCS8_pkey_get0(&obj, NULL, NULL, NULL, p8) != 1)
		goto out;
	switch (OBJ_obj2nid(obj)) {
	case NID_rsaEncryption:
		type = "RSA";
		break;
	case NID_X9_62_id_ecPublicKey:
		type = "EC";
		break;
	case NID_ED25519:
		type = "ED25519";
		break;
	default:
		goto out;
	}
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "PrivateKeyInfo",
	    type, EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		goto out;
	p = der;
	left = (size_t)dlen;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	ERR_clear_error();
	OSSL_DECODER_CTX_free(dctx);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_ENCODE_CTX_free(ectx);
	if (der != NULL) {
		OPENSSL_cleanse(der, (size_t)(e - b) / 4 * 3 + 3);
		free(der);
	}
	return pkey;
}

/*
 * Parses PEM text holding exactly one block: an unencrypted PKCS#8
 * private key ("BEGIN PRIVATE KEY") or a SubjectPublicKeyInfo public key
 * ("BEGIN PUBLIC KEY"). Traditional ("BEGIN RSA PRIVATE KEY") and
 * encrypted keys are refused, so no pass phrase is ever asked for.
 * Returns the key or NULL (logged).
 */
struct oa_key *
oa_key_parse_pem(const char *pem, size_t len)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p;
	size_t left;
	int priv;
	struct oa_key *key = NULL;

	if (pem == NULL || len == 0 || len > PEM_MAX) {
		oa_log(OA_LOG_WARN, "PEM key: empty or too long");
		goto out;
	}
	if (count_mem(pem, len, "-----BEGIN ") != 1) {
		oa_log(OA_LOG_WARN, "PEM key: expected exactly one PEM block");
		goto out;
	}
	if (count_mem(pem, len, "-----BEGIN PRIVATE KEY-----") == 1)
		priv = 1;
	else if (count_mem(pem, len, "-----BEGIN PUBLIC KEY-----") == 1)
		priv = 0;
	else {
		oa_log(OA_LOG_WARN,
		    "PEM key: not a PKCS#8 private key"
		    " or a SubjectPublicKeyInfo public key");
		goto out;
	}
	if (priv && (pkey = pkcs8_quick(pem, len)) != NULL)
		goto done;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM",
	    priv ? "PrivateKeyInfo" : "SubjectPublicKeyInfo", NULL,
	    priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (dctx == NULL || OSSL_DECODER_CTX_get_num_decoders(dctx) == 0) {
		ossl_fail(OA_LOG_ERROR, "OSSL_DECODER_CTX_new_for_pkey");
		goto out;
	}
	p = (const unsigned char *)pem;
	left = len;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL) {
		ossl_fail(OA_LOG_WARN, "PEM key: OSSL_DECODER_from_data");
		goto out;
	}
done:
	key = oa_key_from_pkey(pkey, priv);
	pkey = NULL;
out:
	OSSL_DECODER_CTX_free(dctx);
	EVP_PKEY_free(pkey);
	return key;
}

/*
 * Reads a PKCS#8 PEM private key file. The mode is checked on the open
 * descriptor (no race with a chmod between check and read): a file that
 * group or others may access is refused (SECURITY.md 20, 28).
 */
struct oa_key *
oa_key_load_pem(const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1;
	struct oa_key *key = NULL;

	if (path == NULL)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		oa_log(OA_LOG_ERROR, "%s: open: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		oa_log(OA_LOG_ERROR, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		oa_log(OA_LOG_ERROR, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		oa_log(OA_LOG_ERROR,
		    "%s: mode %04o: a private key must not"
		    " be accessible by group or others (chmod 600)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > PEM_MAX) {
		oa_log(OA_LOG_ERROR, "%s: empty or too large for a key", path);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			oa_log(OA_LOG_ERROR, "%s: read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if ((key = oa_key_parse_pem(buf, len)) == NULL) {
		oa_log(OA_LOG_ERROR, "%s: not a usable private key", path);
		goto out;
	}
	if (!key->is_private) {
		oa_log(
		    OA_LOG_ERROR, "%s: a public key, not a private key", path);
		oa_key_free(key);
		key = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	return key;
}

/*
 * Writes the malloc'd, NUL-terminated PKCS#8 PEM text of the private
 * key into *out. The caller frees it with oa_secret_free(). 0 or -1.
 */
int
oa_key_to_pem(const struct oa_key *key, char **out)
{
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	char *pem = NULL;
	int rc = -1;

	if (key == NULL || key->pkey == NULL || out == NULL ||
	    !key->is_private) {
		oa_log(OA_LOG_ERROR, "oa_key_to_pem: no private key");
		goto out;
	}
	ectx = OSSL_ENCODER_CTX_new_for_pkey(
	    key->pkey, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", NULL);
	if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0) {
		ossl_fail(OA_LOG_ERROR, "OSSL_ENCODER_CTX_new_for_pkey");
		goto out;
	}
	if (OSSL_ENCODER_to_data(ectx, &data, &len) != 1 || data == NULL) {
		ossl_fail(OA_LOG_ERROR, "OSSL_ENCODER_to_data");
		goto out;
	}
	if (len == SIZE_MAX || (pem = malloc(len + 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		goto out;
	}
	memcpy(pem, data, len);
	pem[len] = '\0';
	*out = pem;
	rc = 0;
out:
	if (data != NULL)
		OPENSSL_clear_free(data, len);
	OSSL_ENCODER_CTX_free(ectx);
	return rc;
}

/*
 * Writes the private key as PKCS#8 PEM to path, mode 0600: a temporary
 * file in the same directory is written and fsync'd, then hard-linked to
 * path, which fails atomically when path exists (a key is never
 * overwritten), then the directory is fsync'd. 0 or -1.
 */
int
oa_key_save_pem(const struct oa_key *key, const char *path)
{
	char *pem = NULL, *tmp = NULL, *dir = NULL, *slash;
	size_t len, off = 0;
	ssize_t n;
	int fd = -1, dfd = -1, rc = -1, have_tmp = 0;

	if (path == NULL || oa_key_to_pem(key, &pem) != 0)
		goto out;
	len = strlen(pem);
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) == -1) {
		tmp = NULL;
		oa_log(OA_LOG_ERROR, "asprintf failed");
		goto out;
	}
	/* mkostemp creates the file 0600, readable by us alone. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		oa_log(OA_LOG_ERROR, "%s: mkostemp: %s", tmp, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	if (fchmod(fd, 0600) == -1) {
		oa_log(OA_LOG_ERROR, "%s: fchmod: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, pem + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			oa_log(OA_LOG_ERROR, "%s: write: %s", tmp,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		oa_log(OA_LOG_ERROR, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	n = close(fd);
	fd = -1;
	if (n == -1) {
		oa_log(OA_LOG_ERROR, "%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1) {
		oa_log(OA_LOG_ERROR, "%s: %s", path,
		    errno == EEXIST
		        ? "exists already; a key is never overwritten"
		        : strerror(errno));
		goto out;
	}
	if ((dir = strdup(path)) == NULL) {
		oa_log(OA_LOG_ERROR, "strdup failed");
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		oa_log(OA_LOG_ERROR, "%s: fsync: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (have_tmp && unlink(tmp) == -1)
		oa_log(OA_LOG_WARN, "%s: unlink: %s", tmp, strerror(errno));
	free(tmp);
	free(dir);
	oa_secret_free(pem);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Public members.                                                      */

/* The base64url public members of a key: RSA a=n b=e; EC a=x b=y;
 * OKP a=x b=NULL. */
struct members {
	char *a;
	char *b;
};

static void
members_free(struct members *m)
{
	free(m->a);
	free(m->b);
	m->a = m->b = NULL;
}

/* base64url of the minimal big-endian bytes of bn (RFC 7518 §2
 * Base64urlUInt), or of exactly pad bytes when pad > 0. */
static char *
bn_b64(const BIGNUM *bn, int pad)
{
	unsigned char buf[RSA_MAX_BITS / 8];
	int n;
	char *s = NULL;

	n = pad > 0 ? pad : BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > sizeof buf)
		goto out;
	if ((pad > 0 ? BN_bn2binpad(bn, buf, n) : BN_bn2bin(bn, buf)) != n)
		goto out;
	s = oa_b64url_encode(buf, (size_t)n);
out:
	return s;
}

static int
key_members(const struct oa_key *key, struct members *m)
{
	BIGNUM *b1 = NULL, *b2 = NULL;
	unsigned char pt[133];
	size_t ptlen = 0;
	int rc = -1;

	m->a = m->b = NULL;
	if (key == NULL || key->pkey == NULL)
		goto out;
	switch (key->alg) {
	case OA_ALG_RS256:
		if (EVP_PKEY_get_bn_param(
		        key->pkey, OSSL_PKEY_PARAM_RSA_N, &b1) != 1 ||
		    EVP_PKEY_get_bn_param(
		        key->pkey, OSSL_PKEY_PARAM_RSA_E, &b2) != 1) {
			ossl_fail(OA_LOG_ERROR, "EVP_PKEY_get_bn_param(n, e)");
			goto out;
		}
		m->a = bn_b64(b1, 0);
		m->b = bn_b64(b2, 0);
		break;
	case OA_ALG_ES256:
		if (EVP_PKEY_get_octet_string_param(key->pkey,
		        OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &ptlen) == 1 &&
		    ptlen == 65 && pt[0] == 0x04) {
			/* Uncompressed point: 04 || x || y. */
			m->a = oa_b64url_encode(pt + 1, 32);
			m->b = oa_b64url_encode(pt + 33, 32);
			break;
		}
		/* A compressed encoding: ask for the coordinates. */
		ERR_clear_error();
		if (EVP_PKEY_get_bn_param(
		        key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &b1) != 1 ||
		    EVP_PKEY_get_bn_param(
		        key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b2) != 1) {
			ossl_fail(OA_LOG_ERROR, "EVP_PKEY_get_bn_param(x, y)");
			goto out;
		}
		/* RFC 7518 §6.2.1.2: exactly the coordinate size. */
		m->a = bn_b64(b1, 32);
		m->b = bn_b64(b2, 32);
		break;
	case OA_ALG_EDDSA:
		if (EVP_PKEY_get_octet_string_param(key->pkey,
		        OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &ptlen) != 1 ||
		    ptlen != 32) {
			ossl_fail(OA_LOG_ERROR,
			    "EVP_PKEY_get_octet_string_param(pub)");
			goto out;
		}
		m->a = oa_b64url_encode(pt, 32);
		break;
	default:
		goto out;
	}
	if (m->a == NULL || (key->alg != OA_ALG_EDDSA && m->b == NULL)) {
		oa_log(OA_LOG_ERROR, "encoding public key members failed");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		members_free(m);
	BN_free(b1);
	BN_free(b2);
	return rc;
}

/*
 * RFC 7638 §3: SHA-256 over the required members in lexicographic order,
 * no whitespace, then base64url (43 characters) into out. 0 or -1.
 */
int
oa_jwk_thumbprint(const struct oa_key *key, char out[48])
{
	struct members m = {NULL, NULL};
	char *canon = NULL, *tp = NULL;
	int n = -1, rc = -1;

	if (key == NULL || out == NULL || key_members(key, &m) != 0)
		goto out;
	switch (key->alg) {
	case OA_ALG_RS256:
		n = asprintf(&canon,
		    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", m.b, m.a);
		break;
	case OA_ALG_ES256:
		n = asprintf(&canon,
		    "{\"crv\":\"P-256\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}",
		    m.a, m.b);
		break;
	case OA_ALG_EDDSA:
		n = asprintf(&canon,
		    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\","
		    "\"x\":\"%s\"}",
		    m.a);
		break;
	default:
		break;
	}
	if (n < 0) {
		canon = NULL;
		oa_log(OA_LOG_ERROR, "asprintf failed");
		goto out;
	}
	if ((tp = oa_sha256_b64(canon, (size_t)n)) == NULL || strlen(tp) != 43)
		goto out;
	memcpy(out, tp, 44);
	rc = 0;
out:
	free(tp);
	free(canon);
	members_free(&m);
	return rc;
}

/*
 * The public JWK {kty, kid, alg, use:"sig", n, e | crv, x, y | crv, x}.
 * Never a private member. Caller frees with cJSON_Delete. NULL on error.
 */
cJSON *
oa_jwk_to_json(const struct oa_key *key)
{
	struct members m = {NULL, NULL};
	cJSON *o = NULL, *res = NULL;
	const char *kty;
	int ok;

	if (key == NULL || key_members(key, &m) != 0)
		goto out;
	kty = key->alg == OA_ALG_RS256 ? "RSA"
	    : key->alg == OA_ALG_ES256 ? "EC"
	                               : "OKP";
	if ((o = cJSON_CreateObject()) == NULL)
		goto fail;
	ok = cJSON_AddStringToObject(o, "kty", kty) != NULL &&
	    cJSON_AddStringToObject(o, "kid", key->kid) != NULL &&
	    cJSON_AddStringToObject(o, "alg", oa_alg_name(key->alg)) != NULL &&
	    cJSON_AddStringToObject(o, "use", "sig") != NULL;
	if (!ok)
		goto fail;
	switch (key->alg) {
	case OA_ALG_RS256:
		ok = cJSON_AddStringToObject(o, "n", m.a) != NULL &&
		    cJSON_AddStringToObject(o, "e", m.b) != NULL;
		break;
	case OA_ALG_ES256:
		ok = cJSON_AddStringToObject(o, "crv", "P-256") != NULL &&
		    cJSON_AddStringToObject(o, "x", m.a) != NULL &&
		    cJSON_AddStringToObject(o, "y", m.b) != NULL;
		break;
	default:
		ok = cJSON_AddStringToObject(o, "crv", "Ed25519") != NULL &&
		    cJSON_AddStringToObject(o, "x", m.a) != NULL;
		break;
	}
	if (!ok)
		goto fail;
	res = o;
	o = NULL;
	goto out;
fail:
	oa_log(OA_LOG_ERROR, "building the JWK failed (out of memory)");
out:
	cJSON_Delete(o);
	members_free(&m);
	return res;
}

/* ------------------------------------------------------------------ */
/* JWK import.                                                          */

/* Member name of obj: 1 and *out when it is a non-empty string, 0 when
 * absent, -1 when present with another type or empty. */
static int
member_str(const cJSON *obj, const char *name, const char **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (it == NULL)
		return 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL ||
	    it->valuestring[0] == '\0')
		return -1;
	*out = it->valuestring;
	return 1;
}

/* Decodes the required base64url member name; 0 or -1 (logged). */
static int
member_b64(const cJSON *obj, const char *name, uint8_t **buf, size_t *len,
    enum oa_log_level lvl)
{
	const char *s;

	if (member_str(obj, name, &s) != 1) {
		oa_log(lvl, "JWK: member \"%s\" missing or not a string", name);
		return -1;
	}
	if (oa_b64url_decode(s, strlen(s), buf, len) != 0) {
		oa_log(lvl, "JWK: member \"%s\" is not base64url", name);
		return -1;
	}
	return 0;
}

/* EVP_PKEY_fromdata(EVP_PKEY_PUBLIC_KEY) for key type name. */
static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, enum oa_log_level lvl)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		ossl_fail(OA_LOG_ERROR, "OSSL_PARAM_BLD_to_param");
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		ossl_fail(OA_LOG_ERROR, "EVP_PKEY_fromdata_init");
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		pkey = NULL;
		ossl_fail(lvl, "JWK: EVP_PKEY_fromdata");
		goto out;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *
rsa_from_jwk(const cJSON *obj, enum oa_log_level lvl)
{
	uint8_t *nb = NULL, *eb = NULL;
	size_t nlen = 0, elen = 0;
	const uint8_t *np, *ep;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (member_b64(obj, "n", &nb, &nlen, lvl) != 0 ||
	    member_b64(obj, "e", &eb, &elen, lvl) != 0)
		goto out;
	/* RFC 7518 §6.3.1.1 wants no leading zero octets; some publishers
	 * add one anyway. Skip them: the value, and so the thumbprint, is
	 * the same. */
	for (np = nb; nlen > 0 && *np == 0; np++, nlen--)
		;
	for (ep = eb; elen > 0 && *ep == 0; ep++, elen--)
		;
	if (nlen < RSA_MIN_BITS / 8 || nlen > RSA_MAX_BITS / 8) {
		oa_log(lvl,
		    "JWK: RSA modulus of %zu bytes refused (%d to %d"
		    " bits)",
		    nlen, RSA_MIN_BITS, RSA_MAX_BITS);
		goto out;
	}
	if (elen == 0 || elen > 4) {
		oa_log(lvl, "JWK: RSA exponent refused");
		goto out;
	}
	if ((n = BN_bin2bn(np, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(ep, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		ossl_fail(OA_LOG_ERROR, "building RSA parameters");
		goto out;
	}
	pkey = pkey_fromdata("RSA", bld, lvl);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return pkey;
}

static EVP_PKEY *
ec_from_jwk(const cJSON *obj, enum oa_log_level lvl)
{
	uint8_t *xb = NULL, *yb = NULL, pt[65];
	size_t xlen = 0, ylen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	const char *crv;

	if (member_str(obj, "crv", &crv) != 1 || strcmp(crv, "P-256") != 0) {
		oa_log(lvl, "JWK: EC key without \"crv\":\"P-256\"");
		goto out;
	}
	if (member_b64(obj, "x", &xb, &xlen, lvl) != 0 ||
	    member_b64(obj, "y", &yb, &ylen, lvl) != 0)
		goto out;
	/* RFC 7518 §6.2.1.2-3: the full coordinate size, 32 octets. */
	if (xlen != 32 || ylen != 32) {
		oa_log(lvl, "JWK: P-256 coordinates must be 32 bytes");
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, xb, 32);
	memcpy(pt + 33, yb, 32);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(
	        bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(
	        bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt) != 1) {
		ossl_fail(OA_LOG_ERROR, "building EC parameters");
		goto out;
	}
	/* EVP_PKEY_fromdata refuses most off-curve points already;
	 * key_check() then runs EVP_PKEY_public_check. */
	pkey = pkey_fromdata("EC", bld, lvl);
out:
	OSSL_PARAM_BLD_free(bld);
	free(xb);
	free(yb);
	return pkey;
}

static EVP_PKEY *
okp_from_jwk(const cJSON *obj, enum oa_log_level lvl)
{
	uint8_t *xb = NULL;
	size_t xlen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	const char *crv;

	if (member_str(obj, "crv", &crv) != 1 || strcmp(crv, "Ed25519") != 0) {
		oa_log(lvl, "JWK: OKP key without \"crv\":\"Ed25519\"");
		goto out;
	}
	if (member_b64(obj, "x", &xb, &xlen, lvl) != 0)
		goto out;
	if (xlen != 32) {
		oa_log(lvl, "JWK: Ed25519 \"x\" must be 32 bytes");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_octet_string(
	        bld, OSSL_PKEY_PARAM_PUB_KEY, xb, xlen) != 1) {
		ossl_fail(OA_LOG_ERROR, "building Ed25519 parameters");
		goto out;
	}
	pkey = pkey_fromdata("ED25519", bld, lvl);
out:
	OSSL_PARAM_BLD_free(bld);
	free(xb);
	return pkey;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when two members of the object share a name, 0 when not, -1 on an
 * allocation failure. */
static int
has_duplicate_members(const cJSON *obj)
{
	const cJSON *it;
	const char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	for (it = obj->child; it != NULL; it = it->next)
		n++;
	if (n < 2)
		return 0;
	if ((names = calloc(n, sizeof *names)) == NULL) {
		oa_log(OA_LOG_ERROR, "calloc failed");
		return -1;
	}
	i = 0;
	for (it = obj->child; it != NULL; it = it->next)
		names[i++] = it->string != NULL ? it->string : "";
	qsort(names, n, sizeof *names, cmp_names);
	for (i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			rc = 1;
	free(names);
	return rc;
}

static struct oa_key *
jwk_from_json_lvl(const cJSON *obj, char **doc_kid, enum oa_log_level lvl)
{
	static const char *const private_members[] = {
	    "d",
	    "p",
	    "q",
	    "dp",
	    "dq",
	    "qi",
	    "oth",
	    "k",
	};
	const char *kty, *alg, *use, *kid;
	const cJSON *ops, *op;
	EVP_PKEY *pkey = NULL;
	struct oa_key *key = NULL, *res = NULL;
	enum oa_alg want = OA_ALG_UNKNOWN;
	char *kid_copy = NULL;
	size_t i;
	int found;

	if (!cJSON_IsObject(obj)) {
		oa_log(lvl, "JWK: not a JSON object");
		goto out;
	}
	if (has_duplicate_members(obj) != 0) {
		oa_log(lvl, "JWK: duplicate member names");
		goto out;
	}
	for (i = 0; i < sizeof private_members / sizeof *private_members; i++)
		if (cJSON_GetObjectItemCaseSensitive(obj, private_members[i]) !=
		    NULL) {
			oa_log(lvl,
			    "JWK: private member \"%s\" refused in a"
			    " public key",
			    private_members[i]);
			goto out;
		}
	if (member_str(obj, "kty", &kty) != 1) {
		oa_log(lvl, "JWK: \"kty\" missing");
		goto out;
	}
	if (member_str(obj, "alg", &alg) == -1 ||
	    member_str(obj, "use", &use) == -1 ||
	    member_str(obj, "kid", &kid) == -1) {
		oa_log(lvl, "JWK: \"alg\", \"use\" or \"kid\" not a string");
		goto out;
	}
	/* RFC 7517 §4.2: "sig" or "enc"; we verify signatures only. */
	if (use != NULL && strcmp(use, "sig") != 0) {
		oa_log(lvl, "JWK: \"use\":\"%.16s\" is not \"sig\"", use);
		goto out;
	}
	/* RFC 7517 §4.3: when key_ops is present it must allow "verify". */
	if ((ops = cJSON_GetObjectItemCaseSensitive(obj, "key_ops")) != NULL) {
		found = 0;
		if (!cJSON_IsArray(ops))
			found = -1;
		cJSON_ArrayForEach(op, ops)
		{
			if (!cJSON_IsString(op))
				found = -1;
			else if (found == 0 &&
			    strcmp(op->valuestring, "verify") == 0)
				found = 1;
		}
		if (found != 1) {
			oa_log(lvl, "JWK: \"key_ops\" does not allow verify");
			goto out;
		}
	}
	if (kid != NULL && strlen(kid) > KID_MAX) {
		oa_log(lvl, "JWK: \"kid\" longer than %d", KID_MAX);
		goto out;
	}
	if (strcmp(kty, "RSA") == 0) {
		want = OA_ALG_RS256;
		pkey = rsa_from_jwk(obj, lvl);
	} else if (strcmp(kty, "EC") == 0) {
		want = OA_ALG_ES256;
		pkey = ec_from_jwk(obj, lvl);
	} else if (strcmp(kty, "OKP") == 0) {
		want = OA_ALG_EDDSA;
		pkey = okp_from_jwk(obj, lvl);
	} else {
		oa_log(lvl, "JWK: \"kty\":\"%.16s\" not supported", kty);
		goto out;
	}
	/* RFC 7517 §4.4: the key is meant for that algorithm only; we
	 * have exactly one per key type. */
	if (alg != NULL && strcmp(alg, oa_alg_name(want)) != 0) {
		oa_log(lvl, "JWK: \"alg\":\"%.16s\" does not match kty %s", alg,
		    kty);
		goto out;
	}
	if (pkey == NULL)
		goto out;
	key = key_from_pkey_lvl(pkey, 0, lvl);
	pkey = NULL;
	if (key == NULL || key->alg != want)
		goto out;
	if (doc_kid != NULL && kid != NULL &&
	    (kid_copy = strdup(kid)) == NULL) {
		oa_log(OA_LOG_ERROR, "strdup failed");
		goto out;
	}
	if (doc_kid != NULL)
		*doc_kid = kid_copy;
	kid_copy = NULL;
	res = key;
	key = NULL;
out:
	EVP_PKEY_free(pkey);
	oa_key_free(key);
	free(kid_copy);
	return res;
}

/*
 * Parses one public JWK from a cJSON object; see ownauth.h. On success
 * *doc_kid (when doc_kid is not NULL) gets a malloc'd copy of the
 * document's "kid", or NULL when it has none.
 */
struct oa_key *
oa_jwk_from_json(const cJSON *obj, char **doc_kid)
{
	return jwk_from_json_lvl(obj, doc_kid, OA_LOG_WARN);
}

/* Parses one public JWK given as len bytes of JSON text. */
struct oa_key *
oa_jwk_parse(const char *json, size_t len, char **doc_kid)
{
	cJSON *obj;
	struct oa_key *key = NULL;

	if ((obj = oa_json_parse_object(json, len)) == NULL) {
		oa_log(OA_LOG_WARN, "JWK: not a well-formed JSON object");
		return NULL;
	}
	key = jwk_from_json_lvl(obj, doc_kid, OA_LOG_WARN);
	cJSON_Delete(obj);
	return key;
}

/*
 * Parses a JWKS {"keys":[...]}: keys that cannot be used here (other kty
 * or curve, "use":"enc", bad members) are skipped with a debug line.
 * Refuses anything that is not an object with a "keys" array, or with
 * more than 256 keys. Free the result with oa_keyset_free().
 */
struct oa_keyset *
oa_jwks_parse(const char *json, size_t len)
{
	cJSON *doc = NULL;
	const cJSON *keys, *it;
	struct oa_keyset *set = NULL, *res = NULL;
	int count;
	char *kid;
	struct oa_key *key;
	size_t idx = 0;

	if ((doc = oa_json_parse_object(json, len)) == NULL) {
		oa_log(OA_LOG_WARN, "JWKS: not a well-formed JSON object");
		goto out;
	}
	keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	if (!cJSON_IsArray(keys)) {
		oa_log(OA_LOG_WARN, "JWKS: no \"keys\" array");
		goto out;
	}
	count = cJSON_GetArraySize(keys);
	if (count < 0 || count > JWKS_MAX_KEYS) {
		oa_log(OA_LOG_WARN, "JWKS: more than %d keys", JWKS_MAX_KEYS);
		goto out;
	}
	if ((set = calloc(1, sizeof *set)) == NULL ||
	    (set->keys = calloc((size_t)count + 1, sizeof *set->keys)) ==
	        NULL ||
	    (set->doc_kids =
	            calloc((size_t)count + 1, sizeof *set->doc_kids)) == NULL) {
		oa_log(OA_LOG_ERROR, "calloc failed");
		goto out;
	}
	cJSON_ArrayForEach(it, keys)
	{
		kid = NULL;
		idx++;
		if ((key = jwk_from_json_lvl(it, &kid, OA_LOG_DEBUG)) == NULL) {
			oa_log(OA_LOG_DEBUG, "JWKS: key #%zu skipped", idx);
			continue;
		}
		set->keys[set->n] = key;
		set->doc_kids[set->n] = kid;
		set->n++;
	}
	res = set;
	set = NULL;
out:
	oa_keyset_free(set);
	cJSON_Delete(doc);
	return res;
}

/* Frees the set, its keys and their doc_kids. NULL is a no-op. */
void
oa_keyset_free(struct oa_keyset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		if (set->keys != NULL)
			oa_key_free(set->keys[i]);
		if (set->doc_kids != NULL)
			free(set->doc_kids[i]);
	}
	free(set->keys);
	free(set->doc_kids);
	free(set);
}
