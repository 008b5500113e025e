/*
 * b64.c - base64url without padding (RFC 4648 §5, RFC 7515 §2).
 *
 * The decoder is strict so that every byte string has exactly one
 * accepted encoding: no '=' padding, no '+' or '/', no whitespace, no
 * length of 1 mod 4 (RFC 4648 §3.5: a single leftover character cannot
 * encode a byte), and the unused low bits of the last character must be
 * zero (RFC 4648 §3.5, "canonical encoding"). A token that decodes to the
 * same bytes from two different strings would defeat exact-match checks
 * made on the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ownauth.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of c in the alphabet, or -1. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Returns a malloc'd, NUL-terminated base64url encoding (no padding) of
 * the len bytes at data, or NULL when out of memory. The caller frees it
 * (with oa_secret_free() when data was a secret).
 */
char *
oa_b64url_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = NULL, *p;
	size_t olen, i;

	if (data == NULL && len != 0)
		return NULL;
	/* 4 characters per 3 bytes, 2 or 3 for a partial group. */
	if (len / 3 > (SIZE_MAX - 4) / 4)
		return NULL;
	olen = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if ((out = malloc(olen + 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		return NULL;
	}
	p = out;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = b64url_alphabet[v >> 18 & 63];
		*p++ = b64url_alphabet[v >> 12 & 63];
		*p++ = b64url_alphabet[v >> 6 & 63];
		*p++ = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*p++ = b64url_alphabet[v >> 18 & 63];
		*p++ = b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*p++ = b64url_alphabet[v >> 18 & 63];
		*p++ = b64url_alphabet[v >> 12 & 63];
		*p++ = b64url_alphabet[v >> 6 & 63];
	}
	*p = '\0';
	return out;
}

/*
 * Strict decode of the slen characters at s. On success writes a
 * malloc'd buffer into *out (NUL-terminated for convenience; the NUL is
 * not counted in *outlen) and returns 0. Returns -1 on any character
 * outside the alphabet (including '=', '+', '/', whitespace and NUL), a
 * length of 1 mod 4, or non-zero trailing bits; *out is then untouched.
 */
int
oa_b64url_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	const unsigned char *in = (const unsigned char *)s;
	uint8_t *buf = NULL;
	size_t blen, i, o = 0, rem;
	int rc = -1;

	if (s == NULL || out == NULL || outlen == NULL)
		goto out;
	rem = slen % 4;
	if (rem == 1)
		goto out;
	blen = slen / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if ((buf = malloc(blen + 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "malloc failed");
		goto out;
	}
	for (i = 0; i + 4 <= slen; i += 4) {
		int a = b64url_value(in[i]), b = b64url_value(in[i + 1]);
		int c = b64url_value(in[i + 2]), d = b64url_value(in[i + 3]);
		uint32_t v;
		if ((a | b | c | d) < 0)
			goto out;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		buf[o++] = (uint8_t)(v >> 16);
		buf[o++] = (uint8_t)(v >> 8);
		buf[o++] = (uint8_t)v;
	}
	if (rem == 2) {
		int a = b64url_value(in[i]), b = b64url_value(in[i + 1]);
		if ((a | b) < 0 || (b & 0x0f) != 0)
			goto out;
		buf[o++] = (uint8_t)(a << 2 | b >> 4);
	} else if (rem == 3) {
		int a = b64url_value(in[i]), b = b64url_value(in[i + 1]);
		int c = b64url_value(in[i + 2]);
		if ((a | b | c) < 0 || (c & 0x03) != 0)
			goto out;
		buf[o++] = (uint8_t)(a << 2 | b >> 4);
		buf[o++] = (uint8_t)((b & 0x0f) << 4 | c >> 2);
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		/* The input may have been a secret (a sealed cookie...). */
		OPENSSL_cleanse(buf, o);
		free(buf);
	}
	return rc;
}
