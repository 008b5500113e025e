/*
 * util.c - randomness, constant-time comparison and SHA-256 helpers.
 *
 * (The file and URL helpers of the "util.c" header section live in
 * file.c and url.c.)
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ownauth.h"

/*
 * Fills buf with len bytes from the OpenSSL CSPRNG (RAND_bytes takes an
 * int, so large requests are split). Returns 0, or -1 when the generator
 * failed (buf is then wiped, never half random).
 */
int
oa_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t left = len;

	if (buf == NULL && len != 0)
		return -1;
	while (left > 0) {
		int n = left > INT_MAX ? INT_MAX : (int)left;
		if (RAND_bytes(p, n) != 1) {
			oa_log(OA_LOG_ERROR, "RAND_bytes failed");
			OPENSSL_cleanse(buf, len);
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

/*
 * Returns a malloc'd base64url string of nbytes fresh random bytes, or
 * NULL. The raw bytes are wiped; the caller wipes and frees the string
 * with oa_secret_free().
 */
char *
oa_random_token(size_t nbytes)
{
	unsigned char *raw = NULL;
	char *tok = NULL;

	if (nbytes == 0 || nbytes > 4096)
		goto out;
	if ((raw = malloc(nbytes)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		goto out;
	}
	if (oa_random(raw, nbytes) != 0)
		goto out;
	tok = oa_b64url_encode(raw, nbytes);
out:
	if (raw != NULL) {
		OPENSSL_cleanse(raw, nbytes);
		free(raw);
	}
	return tok;
}

/*
 * Constant-time equality of two byte strings: the lengths are compared
 * first (they are not secret), then CRYPTO_memcmp. NULL never matches.
 * Returns 1 when equal, 0 otherwise.
 */
int
oa_ct_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if (a == NULL || b == NULL || alen != blen)
		return 0;
	if (alen == 0)
		return 1;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/* Same for two NUL-terminated strings; NULL never matches. */
int
oa_ct_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return oa_ct_eq(a, strlen(a), b, strlen(b));
}

/*
 * SHA-256 of data into out. EVP_Digest cannot fail for SHA-256 short of
 * a broken library; should it, out is filled with zeros and the failure
 * is logged, so that nothing ever matches a digest computed that way by
 * chance of uninitialised memory.
 */
void
oa_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if ((data == NULL && len != 0) ||
	    EVP_Digest(len ? data : "", len, out, &n, EVP_sha256(), NULL) !=
	        1 ||
	    n != 32) {
		oa_log(OA_LOG_ERROR, "EVP_Digest(SHA-256) failed");
		memset(out, 0, 32);
	}
}

/* Returns the malloc'd base64url SHA-256 of s (43 chars), or NULL. */
char *
oa_sha256_b64(const char *s, size_t len)
{
	uint8_t md[32];
	unsigned int n = 0;
	char *res = NULL;

	if (s == NULL && len != 0)
		return NULL;
	if (EVP_Digest(len ? s : "", len, md, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof md) {
		oa_log(OA_LOG_ERROR, "EVP_Digest(SHA-256) failed");
		goto out;
	}
	res = oa_b64url_encode(md, sizeof md);
out:
	OPENSSL_cleanse(md, sizeof md);
	return res;
}

/* OPENSSL_cleanse the string (strlen bytes) and free it; NULL is a no-op. */
void
oa_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
