/*
 * util.c - randomness, constant-time comparison and SHA-256 helpers.
 *
 * (The file and URL helpers of the "util.c" header section live in
 * file.c and url.c.)
 *
 * Randomness comes from the kernel's CSPRNG, getrandom(2), which is
 * also what seeds OpenSSL's DRBG: the same strength, without the
 * DRBG's costs that a plain-CGI program pays at every request (SPEC
 * §11: instantiating it fetches and builds OpenSSL's whole cipher
 * table, about a tenth of a millisecond) and a FastCGI worker pays at
 * every call (a getpid(2) fork check and a lock, each time). OpenSSL's
 * RAND_bytes is the fallback for a kernel without getrandom (ENOSYS).
 *
 * Small requests are served from a per-process reserve of kernel
 * randomness, refilled by one getrandom(2) of about a kilobyte: a login
 * draws its values in two calls, and each was a system call (SPEC §11's
 * login bar). The reserve has a page of its own, marked MADV_WIPEONFORK
 * (a child finds it zeroed, so parent and child can never hand out the
 * same bytes: the child refills) and MADV_DONTDUMP; each byte handed out
 * is wiped from it at once. Where the page cannot be so marked, every
 * call goes to the kernel. The programs are single-threaded (libcurl's
 * resolver threads never draw).
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ownauth.h"

/* RAND_bytes for what getrandom could not give (ENOSYS). 0 or -1. */
static int
random_openssl(unsigned char *p, size_t left)
{
	while (left > 0) {
		int n = left > INT_MAX ? INT_MAX : (int)left;
		if (RAND_bytes(p, n) != 1) {
			oa_log(OA_LOG_ERROR, "RAND_bytes failed");
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

/* len bytes from the kernel CSPRNG (getrandom(2) without flags: it
 * blocks only until the kernel pool is initialised at boot, and never
 * returns fewer bytes than asked for up to 256; longer requests and
 * signals are looped over), or from OpenSSL's when the kernel has no
 * getrandom. 0, or -1 (buf wiped). */
static int
random_kernel(unsigned char *buf, size_t len)
{
	unsigned char *p = buf;
	size_t left = len;
	ssize_t n;

	while (left > 0) {
		n = getrandom(p, left, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSYS) {
				if (random_openssl(p, left) == 0)
					return 0;
			} else
				oa_log(OA_LOG_ERROR, "getrandom: %s",
				    strerror(errno));
			OPENSSL_cleanse(buf, len);
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

#define POOL_PAGE  4096
#define POOL_BYTES 1024     /* one refill */
#define POOL_SMALL 128      /* larger requests go to the kernel */

struct pool {
	size_t avail;       /* unused bytes at the start of buf; 0 in a
	                     * forked child (the page is wiped) */
	unsigned char buf[POOL_BYTES];
};

/* The reserve, or NULL when it cannot be had safely. */
static struct pool *
pool_get(void)
{
	static struct pool *pool;
	static int tried;
	void *m;

	if (tried)
		return pool;
	tried = 1;
	m = mmap(NULL, POOL_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (madvise(m, POOL_PAGE, MADV_WIPEONFORK) != 0) {
		(void)munmap(m, POOL_PAGE);
		return NULL;
	}
	(void)madvise(m, POOL_PAGE, MADV_DONTDUMP);
	pool = m;
	return pool;
}

/*
 * Fills buf with len bytes of the kernel CSPRNG (see the top of the
 * file). Returns 0, or -1 when the generator failed (buf is then wiped,
 * never half random).
 */
int
oa_random(void *buf, size_t len)
{
	struct pool *pl;

	if (buf == NULL && len != 0)
		return -1;
	if (len == 0)
		return 0;
	if (len > POOL_SMALL || (pl = pool_get()) == NULL)
		return random_kernel(buf, len);
	if (pl->avail < len) {
		/* What is left is dropped: wiped by the refill. */
		if (random_kernel(pl->buf, sizeof(pl->buf)) != 0) {
			pl->avail = 0;
			OPENSSL_cleanse(buf, len);
			return -1;
		}
		pl->avail = sizeof(pl->buf);
	}
	pl->avail -= len;
	memcpy(buf, pl->buf + pl->avail, len);
	OPENSSL_cleanse(pl->buf + pl->avail, len);
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
 * SHA-256, fetched from the provider once for the process: EVP_sha256()
 * would fetch it again (a lock, a name lookup and a property query) at
 * every digest. The fetched method is kept for the life of the process
 * (never freed: a FastCGI worker uses it until it exits). When the fetch
 * fails, EVP_sha256() is used, which then fails the same way.
 */
static const EVP_MD *
sha256_md(void)
{
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	return md != NULL ? md : EVP_sha256();
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
	    EVP_Digest(len ? data : "", len, out, &n, sha256_md(), NULL) !=
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
	if (EVP_Digest(len ? s : "", len, md, &n, sha256_md(), NULL) != 1 ||
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
