/*
 * jws.c - JWS compact serialization (RFC 7515 §3.1, §7.1) with the three
 * algorithms of RFC 7518 §3.3 and §3.4 and RFC 8037 §3.1:
 *   RS256  RSASSA-PKCS1-v1_5 with SHA-256
 *   ES256  ECDSA P-256 with SHA-256, signature = R || S, 32 bytes each
 *          (not DER: RFC 7518 §3.4), converted to and from OpenSSL's DER
 *   EdDSA  Ed25519 (pure, no pre-hash: EVP_DigestSign with a NULL md)
 * The algorithm always comes from the key.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "ownauth.h"

#define ES256_COORD 32

/* "a.b" or "a.b.c" as one malloc'd string; NULL on overflow or ENOMEM. */
static char *
join_dot(const char *a, size_t alen, const char *b, size_t blen)
{
	char *s;

	if (alen > SIZE_MAX - 2 || blen > SIZE_MAX - 2 - alen)
		return NULL;
	if ((s = malloc(alen + blen + 2)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		return NULL;
	}
	memcpy(s, a, alen);
	s[alen] = '.';
	memcpy(s + alen + 1, b, blen);
	s[alen + 1 + blen] = '\0';
	return s;
}

static const EVP_MD *
alg_md(enum oa_alg alg)
{
	/* Ed25519 hashes internally: no message digest is given. */
	return alg == OA_ALG_EDDSA ? NULL : EVP_sha256();
}

/* OpenSSL's DER ECDSA-Sig-Value into the JOSE R || S form (64 bytes). */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t derlen, unsigned char *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	int rc = -1;

	if (derlen > LONG_MAX ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, ES256_COORD) != ES256_COORD ||
	    BN_bn2binpad(s, raw + ES256_COORD, ES256_COORD) != ES256_COORD)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	return rc;
}

/* The JOSE R || S form (64 bytes) into a malloc'd DER ECDSA-Sig-Value. */
static int
ecdsa_raw_to_der(const unsigned char *raw, unsigned char **der, size_t *derlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *buf = NULL;
	int n, rc = -1;

	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, ES256_COORD, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + ES256_COORD, ES256_COORD, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by sig now */
	if ((n = i2d_ECDSA_SIG(sig, &buf)) <= 0)
		goto out;
	*der = buf;
	*derlen = (size_t)n;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

/* Signs in[0..inlen) with key; writes the malloc'd JOSE signature. */
static int
sign_raw(const struct oa_key *key, const char *in, size_t inlen,
    unsigned char **out, size_t *outlen)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL, *raw = NULL;
	size_t siglen = 0;
	int rc = -1;

	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		oa_log(OA_LOG_ERROR, "EVP_MD_CTX_new failed");
		goto out;
	}
	if (EVP_DigestSignInit(
	        mctx, &pctx, alg_md(key->alg), NULL, key->pkey) != 1) {
		oa_log(OA_LOG_ERROR, "EVP_DigestSignInit failed");
		goto out;
	}
	if (key->alg == OA_ALG_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
		oa_log(OA_LOG_ERROR, "EVP_PKEY_CTX_set_rsa_padding failed");
		goto out;
	}
	if (EVP_DigestSign(
	        mctx, NULL, &siglen, (const unsigned char *)in, inlen) != 1 ||
	    siglen == 0) {
		oa_log(OA_LOG_ERROR, "EVP_DigestSign (size) failed");
		goto out;
	}
	if ((sig = malloc(siglen)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		goto out;
	}
	if (EVP_DigestSign(
	        mctx, sig, &siglen, (const unsigned char *)in, inlen) != 1) {
		oa_log(OA_LOG_ERROR, "EVP_DigestSign failed");
		goto out;
	}
	if (key->alg == OA_ALG_ES256) {
		if ((raw = malloc(2 * ES256_COORD)) == NULL) {
			oa_log(OA_LOG_ERROR, "malloc failed");
			goto out;
		}
		if (ecdsa_der_to_raw(sig, siglen, raw) != 0) {
			oa_log(
			    OA_LOG_ERROR, "ECDSA signature conversion failed");
			goto out;
		}
		free(sig);
		sig = raw;
		raw = NULL;
		siglen = 2 * ES256_COORD;
	}
	*out = sig;
	*outlen = siglen;
	sig = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	free(sig);
	free(raw);
	EVP_MD_CTX_free(mctx);
	return rc;
}

/*
 * Signs BASE64URL(header_json) "." BASE64URL(payload_json) with key (its
 * own algorithm) and writes the malloc'd compact JWS into *out (the
 * caller frees it). 0 or -1.
 */
int
oa_jws_sign(const struct oa_key *key, const char *header_json,
    const char *payload_json, char **out)
{
	char *h = NULL, *p = NULL, *input = NULL, *s = NULL, *res = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0, hlen, plen;
	int rc = -1;

	if (key == NULL || key->pkey == NULL || !key->is_private ||
	    oa_alg_name(key->alg) == NULL || header_json == NULL ||
	    payload_json == NULL || out == NULL) {
		oa_log(OA_LOG_ERROR, "oa_jws_sign: no private key or no input");
		goto out;
	}
	if ((h = oa_b64url_encode(header_json, strlen(header_json))) == NULL ||
	    (p = oa_b64url_encode(payload_json, strlen(payload_json))) == NULL)
		goto out;
	hlen = strlen(h);
	plen = strlen(p);
	if ((input = join_dot(h, hlen, p, plen)) == NULL)
		goto out;
	if (sign_raw(key, input, hlen + 1 + plen, &sig, &siglen) != 0)
		goto out;
	if ((s = oa_b64url_encode(sig, siglen)) == NULL)
		goto out;
	if ((res = join_dot(input, hlen + 1 + plen, s, strlen(s))) == NULL)
		goto out;
	*out = res;
	rc = 0;
out:
	free(h);
	free(p);
	free(input);
	free(s);
	free(sig);
	return rc;
}

/*
 * Verifies the signature of the compact JWS in jws[0..len) with key and
 * the key's algorithm only: the header is not read here (oa_jwt_verify
 * checks it). Refuses anything but three parts, a signature that is not
 * base64url, an ES256 signature that is not exactly 64 bytes and an
 * Ed25519 one that is not 64 bytes. Returns 0 when valid, -1 when not.
 */
int
oa_jws_verify_sig(const struct oa_key *key, const char *jws, size_t len)
{
	const char *d1, *d2;
	uint8_t *sig = NULL;
	unsigned char *der = NULL;
	const unsigned char *vsig;
	size_t siglen = 0, derlen = 0, vlen, inlen;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	if (key == NULL || key->pkey == NULL || jws == NULL ||
	    oa_alg_name(key->alg) == NULL)
		goto out;
	if ((d1 = memchr(jws, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws))) == NULL)
		goto out;
	inlen = (size_t)(d2 - jws);
	if (memchr(d2 + 1, '.', len - inlen - 1) != NULL)
		goto out;
	if (oa_b64url_decode(d2 + 1, len - inlen - 1, &sig, &siglen) != 0)
		goto out;
	vsig = sig;
	vlen = siglen;
	switch (key->alg) {
	case OA_ALG_ES256:
		/* RFC 7518 §3.4: exactly R || S; a DER signature or any
		 * other length is refused, not guessed at. */
		if (siglen != 2 * ES256_COORD ||
		    ecdsa_raw_to_der(sig, &der, &derlen) != 0)
			goto out;
		vsig = der;
		vlen = derlen;
		break;
	case OA_ALG_EDDSA:
		if (siglen != 64)
			goto out;
		break;
	case OA_ALG_RS256:
		/* RFC 8017 §8.2.2: the signature has the modulus length. */
		if (EVP_PKEY_get_size(key->pkey) <= 0 ||
		    siglen != (size_t)EVP_PKEY_get_size(key->pkey))
			goto out;
		break;
	default:
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		oa_log(OA_LOG_ERROR, "EVP_MD_CTX_new failed");
		goto out;
	}
	if (EVP_DigestVerifyInit(
	        mctx, &pctx, alg_md(key->alg), NULL, key->pkey) != 1) {
		oa_log(OA_LOG_ERROR, "EVP_DigestVerifyInit failed");
		goto out;
	}
	if (key->alg == OA_ALG_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
		oa_log(OA_LOG_ERROR, "EVP_PKEY_CTX_set_rsa_padding failed");
		goto out;
	}
	if (EVP_DigestVerify(
	        mctx, vsig, vlen, (const unsigned char *)jws, inlen) != 1)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	free(sig);
	return rc;
}
