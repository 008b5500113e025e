/*
 * fuzz_b64.c - the strict base64url decoder (lib/b64.c).
 *
 * Promises checked (abort when broken):
 *  1. whatever decodes has exactly one spelling: re-encoding the bytes
 *     gives back the input, byte for byte (no padding, no whitespace, no
 *     non-zero trailing bits slipped through);
 *  2. a decoded buffer is NUL-terminated and of the length predicted by
 *     the input length;
 *  3. encoding any bytes and decoding the result gives the bytes back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t olen = 0;
	char *enc;

	if (oa_b64url_decode((const char *)data, size, &out, &olen) == 0) {
		check(out != NULL && out[olen] == '\0');
		check(olen == size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0));
		enc = oa_b64url_encode(out, olen);
		check(enc != NULL && strlen(enc) == size &&
		    memcmp(enc, data, size) == 0);
		free(enc);
		free(out);
		out = NULL;
	}

	enc = oa_b64url_encode(data, size);
	check(enc != NULL);
	check(oa_b64url_decode(enc, strlen(enc), &out, &olen) == 0);
	check(olen == size && (size == 0 || memcmp(out, data, size) == 0));
	free(out);
	free(enc);
	return 0;
}
