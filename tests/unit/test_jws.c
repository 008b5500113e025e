/*
 * test_jws.c - JWS compact signatures against the RFC vectors:
 * RFC 7515 A.2 (RS256: verify, and sign again - PKCS#1 v1.5 is
 * deterministic, so the exact string must come back), A.3 (ES256 verify),
 * RFC 8037 A.4 / A.5 (Ed25519 sign and verify, deterministic too), and
 * the signatures that must not verify.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "ownauth.h"
#include "t.h"

/* RFC 7515 A.2.1: the RSA key. */
#define A2_N                                                                   \
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw" \
	"-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b3269" \
	"0r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS" \
	"-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aG" \
	"hyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXp" \
	"oQ"
#define A2_E "AQAB"
#define A2_D                                                                   \
	"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sL" \
	"KMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-Gj" \
	"BVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdG" \
	"copV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_j" \
	"Tj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopz" \
	"nQ"
#define A2_P                                                                   \
	"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l5" \
	"8BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1V" \
	"hvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"
#define A2_Q                                                                   \
	"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYs" \
	"p1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv" \
	"5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"
#define A2_DP                                                                  \
	"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9Y" \
	"kxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2" \
	"u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"
#define A2_DQ                                                                  \
	"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbK" \
	"gB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgO" \
	"S1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"
#define A2_QI                                                                  \
	"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScG" \
	"Lq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYa" \
	"wBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"

/* RFC 7515 A.2.1 / A.3.1 payload: CR LF and spaces included. */
#define A_PAYLOAD                                                              \
	"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n"                        \
	" \"http://example.com/is_root\":true}"
#define A_PAYLOAD_B64                                                          \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl" \
	"LmNvbS9pc19yb290Ijp0cnVlfQ"

/* RFC 7515 A.2.1: the complete JWS. */
#define A2_JWS                                                                 \
	"eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD_B64 "."                              \
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuH" \
	"Im4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdi" \
	"uB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN" \
	"9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2" \
	"w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77" \
	"Rw"

/* RFC 7515 A.3.1: the P-256 key and the complete JWS. */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define A3_JWS                                                                 \
	"eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD_B64 "."                              \
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQ" \
	"xfKTUJqPP3-Kg6NU1Q"

/* RFC 8037 A.1 (private d, public x), A.4 / A.5 JWS. */
#define ED_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_PAYLOAD "Example of Ed25519 signing"
#define ED_JWS                                                                 \
	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."            \
	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsP" \
	"t9g7sVvpAr_MuM0KAg"

static BIGNUM *
b64_bn(const char *s)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	BIGNUM *bn = NULL;

	if (oa_b64url_decode(s, strlen(s), &buf, &len) == 0)
		bn = BN_bin2bn(buf, (int)len, NULL);
	free(buf);
	return bn;
}

/* The RFC 7515 A.2 private key, built from its JWK members. */
static struct oa_key *
a2_private_key(void)
{
	const char *names[] = {
	    OSSL_PKEY_PARAM_RSA_N,
	    OSSL_PKEY_PARAM_RSA_E,
	    OSSL_PKEY_PARAM_RSA_D,
	    OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	const char *vals[] = {
	    A2_N, A2_E, A2_D, A2_P, A2_Q, A2_DP, A2_DQ, A2_QI};
	BIGNUM *bn[8] = {NULL};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t i;
	int ok = bld != NULL;

	for (i = 0; i < 8 && ok; i++)
		ok = (bn[i] = b64_bn(vals[i])) != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) == 1;
	if (ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		pkey = NULL;
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey ? oa_key_from_pkey(pkey, 1) : NULL;
}

/* The RFC 7515 A.3 private key. */
static struct oa_key *
a3_private_key(void)
{
	uint8_t *x = NULL, *y = NULL, pt[65];
	size_t xl = 0, yl = 0;
	BIGNUM *d = b64_bn(A3_D);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (oa_b64url_decode(A3_X, strlen(A3_X), &x, &xl) == 0 && xl == 32 &&
	    oa_b64url_decode(A3_Y, strlen(A3_Y), &y, &yl) == 0 && yl == 32 &&
	    d != NULL && bld != NULL) {
		pt[0] = 4;
		memcpy(pt + 1, x, 32);
		memcpy(pt + 33, y, 32);
		if (OSSL_PARAM_BLD_push_utf8_string(
		        bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) == 1 &&
		    OSSL_PARAM_BLD_push_octet_string(
		        bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 65) == 1 &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ==
		        1 &&
		    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
		    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) !=
		        NULL &&
		    EVP_PKEY_fromdata_init(ctx) == 1 &&
		    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) !=
		        1)
			pkey = NULL;
	}
	free(x);
	free(y);
	BN_clear_free(d);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey ? oa_key_from_pkey(pkey, 1) : NULL;
}

/* The RFC 8037 A.1 private key. */
static struct oa_key *
ed_private_key(void)
{
	uint8_t *d = NULL;
	size_t dl = 0;
	EVP_PKEY *pkey = NULL;

	if (oa_b64url_decode(ED_D, strlen(ED_D), &d, &dl) == 0 && dl == 32)
		pkey =
		    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, 32);
	free(d);
	return pkey ? oa_key_from_pkey(pkey, 1) : NULL;
}

static struct oa_key *
pub(const char *json)
{
	return oa_jwk_parse(json, strlen(json), NULL);
}

static int
verifies(const struct oa_key *k, const char *jws)
{
	return oa_jws_verify_sig(k, jws, strlen(jws)) == 0;
}

/* jws with its signature part replaced by sig (len bytes) in base64url. */
static char *
with_sig(const char *jws, const uint8_t *sig, size_t len)
{
	const char *dot = strrchr(jws, '.');
	char *s = oa_b64url_encode(sig, len), *out = NULL;

	if (s != NULL && dot != NULL &&
	    asprintf(&out, "%.*s.%s", (int)(dot - jws), jws, s) < 0)
		out = NULL;
	free(s);
	return out;
}

/* The signature bytes of a compact JWS. */
static uint8_t *
sig_of(const char *jws, size_t *len)
{
	const char *dot = strrchr(jws, '.');
	uint8_t *sig = NULL;

	if (dot == NULL ||
	    oa_b64url_decode(dot + 1, strlen(dot + 1), &sig, len) != 0)
		return NULL;
	return sig;
}

static void
test_rs256(void)
{
	struct oa_key *pk = pub("{\"kty\":\"RSA\",\"n\":\"" A2_N "\","
	                        "\"e\":\"" A2_E "\"}");
	struct oa_key *sk = a2_private_key();
	char *jws = NULL, tampered[] = A2_JWS;
	uint8_t *sig;
	size_t slen = 0;

	CHECK(pk != NULL && pk->alg == OA_ALG_RS256);
	CHECK(sk != NULL && sk->is_private && sk->alg == OA_ALG_RS256);
	/* A.2.2: the published JWS verifies. */
	CHECK(verifies(pk, A2_JWS));
	CHECK(verifies(sk, A2_JWS));
	/* A.2.1: signing again gives the very same string. */
	CHECK(oa_jws_sign(sk, "{\"alg\":\"RS256\"}", A_PAYLOAD, &jws) == 0);
	CHECK_STR(jws, A2_JWS);
	free(jws);
	jws = NULL;
	CHECK(sk != NULL && pk != NULL && strcmp(sk->kid, pk->kid) == 0);

	/* One payload character changed ("joe" -> "jof"... in base64). */
	tampered[strlen("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2")] = 'Y';
	CHECK(!verifies(pk, tampered));
	/* Header changed. */
	tampered[strlen("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2")] = 'U';
	CHECK(verifies(pk, tampered));
	tampered[3] = 'i';
	CHECK(!verifies(pk, tampered));
	/* Signature one bit off, one byte short, one byte long. */
	if ((sig = sig_of(A2_JWS, &slen)) != NULL) {
		uint8_t longer[257];
		sig[100] ^= 1;
		jws = with_sig(A2_JWS, sig, slen);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		sig[100] ^= 1;
		jws = with_sig(A2_JWS, sig, slen - 1);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		longer[0] = 0;
		memcpy(longer + 1, sig, 256);
		jws = with_sig(A2_JWS, longer, 257);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		jws = NULL;
		free(sig);
	}
	CHECK(slen == 256);
	/* Shapes: two parts, four parts, empty signature, padding. */
	CHECK(!verifies(pk, "eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD_B64));
	CHECK(!verifies(pk, A2_JWS ".AA"));
	CHECK(!verifies(pk, "eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD_B64 "."));
	CHECK(!verifies(pk, A2_JWS "=="));
	CHECK(!verifies(pk, ""));
	CHECK(oa_jws_verify_sig(pk, NULL, 0) == -1);
	CHECK(oa_jws_verify_sig(NULL, A2_JWS, strlen(A2_JWS)) == -1);
	/* The length given is honoured. */
	CHECK(oa_jws_verify_sig(pk, A2_JWS "xx", strlen(A2_JWS)) == 0);
	CHECK(oa_jws_verify_sig(pk, A2_JWS, strlen(A2_JWS) - 1) == -1);
	/* The public key cannot sign. */
	CHECK(oa_jws_sign(pk, "{}", "{}", &jws) == -1 && jws == NULL);
	oa_key_free(pk);
	oa_key_free(sk);
}

static void
test_es256(void)
{
	struct oa_key *pk = pub("{\"kty\":\"EC\",\"crv\":\"P-256\","
	                        "\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}");
	struct oa_key *sk = a3_private_key(), *other;
	char *jws = NULL, *j2 = NULL;
	uint8_t *sig = NULL, buf[80];
	size_t slen = 0;
	int i, all = 1;

	CHECK(pk != NULL && pk->alg == OA_ALG_ES256);
	CHECK(sk != NULL && sk->is_private && sk->alg == OA_ALG_ES256);
	CHECK(sk != NULL && pk != NULL && strcmp(sk->kid, pk->kid) == 0);
	/* A.3.2: the published JWS verifies. */
	CHECK(verifies(pk, A3_JWS));
	/* Signing: randomised, raw r || s of 64 bytes, verifies. */
	CHECK(oa_jws_sign(sk, "{\"alg\":\"ES256\"}", A_PAYLOAD, &jws) == 0);
	CHECK(oa_jws_sign(sk, "{\"alg\":\"ES256\"}", A_PAYLOAD, &j2) == 0);
	CHECK(jws != NULL && j2 != NULL && strcmp(jws, j2) != 0);
	CHECK(
	    jws != NULL && verifies(pk, jws) && j2 != NULL && verifies(pk, j2));
	CHECK(jws != NULL &&
	    strncmp(jws, "eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD_B64 ".",
	        strlen("eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD_B64 ".")) == 0);
	CHECK(jws != NULL && strlen(strrchr(jws, '.') + 1) == 86);
	free(jws);
	free(j2);
	jws = j2 = NULL;
	/* Many signatures: r or s with leading zero bytes must still be
	 * padded to 32 bytes each. */
	for (i = 0; i < 200 && sk != NULL; i++) {
		if (oa_jws_sign(sk, "{}", "x", &jws) != 0 ||
		    strlen(strrchr(jws, '.') + 1) != 86 || !verifies(pk, jws))
			all = 0;
		free(jws);
		jws = NULL;
	}
	CHECK(all);

	/* Only exactly 64 bytes: not the DER form, not 63 or 65. */
	if ((sig = sig_of(A3_JWS, &slen)) != NULL && slen == 64) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, 32, NULL);
		BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
		unsigned char *der = NULL;
		int dl = -1;
		if (es != NULL && r != NULL && s != NULL &&
		    ECDSA_SIG_set0(es, r, s) == 1) {
			r = s = NULL;
			dl = i2d_ECDSA_SIG(es, &der);
		}
		CHECK(dl > 64);
		if (dl > 0) {
			jws = with_sig(A3_JWS, der, (size_t)dl);
			CHECK(jws != NULL && !verifies(pk, jws));
			free(jws);
		}
		OPENSSL_free(der);
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);

		buf[0] = 0;
		memcpy(buf + 1, sig, 64);
		jws = with_sig(A3_JWS, buf, 65);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		jws = with_sig(A3_JWS, sig, 63);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		/* The valid 64 bytes followed by junk. */
		memcpy(buf, sig, 64);
		buf[64] = 0;
		jws = with_sig(A3_JWS, buf, 65);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		/* r and s swapped. */
		memcpy(buf, sig + 32, 32);
		memcpy(buf + 32, sig, 32);
		jws = with_sig(A3_JWS, buf, 64);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		/* r = s = 0. */
		memset(buf, 0, 64);
		jws = with_sig(A3_JWS, buf, 64);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		/* The unchanged signature still verifies (control). */
		jws = with_sig(A3_JWS, sig, 64);
		CHECK(jws != NULL && verifies(pk, jws));
		free(jws);
		jws = NULL;
	} else
		CHECK(!"A.3 signature is not 64 bytes");
	free(sig);

	/* Another P-256 key does not verify it. */
	other = oa_key_generate(OA_ALG_ES256);
	CHECK(other != NULL && !verifies(other, A3_JWS));
	oa_key_free(other);
	oa_key_free(pk);
	oa_key_free(sk);
}

static void
test_eddsa(void)
{
	struct oa_key *pk = pub("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	                        "\"x\":\"" ED_X "\"}");
	struct oa_key *sk = ed_private_key();
	char *jws = NULL, tampered[] = ED_JWS;
	uint8_t *sig;
	size_t slen = 0;

	CHECK(pk != NULL && pk->alg == OA_ALG_EDDSA);
	CHECK(sk != NULL && sk->is_private && sk->alg == OA_ALG_EDDSA);
	/* RFC 8037 A.4: the exact JWS string. */
	CHECK(oa_jws_sign(sk, "{\"alg\":\"EdDSA\"}", ED_PAYLOAD, &jws) == 0);
	CHECK_STR(jws, ED_JWS);
	free(jws);
	jws = NULL;
	/* A.5: it verifies. */
	CHECK(verifies(pk, ED_JWS));
	CHECK(verifies(sk, ED_JWS));
	tampered[25] = tampered[25] == 'a' ? 'b' : 'a';
	CHECK(!verifies(pk, tampered));
	if ((sig = sig_of(ED_JWS, &slen)) != NULL) {
		sig[63] ^= 0x80;
		jws = with_sig(ED_JWS, sig, slen);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		jws = with_sig(ED_JWS, sig, 63);
		CHECK(jws != NULL && !verifies(pk, jws));
		free(jws);
		sig[63] ^= 0x80;
		{
			uint8_t longer[65];
			memcpy(longer, sig, 64);
			longer[64] = 0;
			jws = with_sig(ED_JWS, longer, 65);
			CHECK(jws != NULL && !verifies(pk, jws));
			free(jws);
			jws = with_sig(ED_JWS, longer, 64);
			CHECK(jws != NULL && verifies(pk, jws));
			free(jws);
		}
		free(sig);
	}
	CHECK(slen == 64);
	oa_key_free(pk);
	oa_key_free(sk);
}

static void
test_cross_key(void)
{
	struct oa_key *rsa = pub("{\"kty\":\"RSA\",\"n\":\"" A2_N "\","
	                         "\"e\":\"" A2_E "\"}");
	struct oa_key *ec = pub("{\"kty\":\"EC\",\"crv\":\"P-256\","
	                        "\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}");
	struct oa_key *ed = pub("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	                        "\"x\":\"" ED_X "\"}");

	/* Each key verifies only its own algorithm's vector: the
	 * algorithm is the key's, whatever the header says. */
	CHECK(verifies(rsa, A2_JWS) && !verifies(rsa, A3_JWS) &&
	    !verifies(rsa, ED_JWS));
	CHECK(!verifies(ec, A2_JWS) && verifies(ec, A3_JWS) &&
	    !verifies(ec, ED_JWS));
	CHECK(!verifies(ed, A2_JWS) && !verifies(ed, A3_JWS) &&
	    verifies(ed, ED_JWS));
	oa_key_free(rsa);
	oa_key_free(ec);
	oa_key_free(ed);
}

int
main(void)
{
	oa_log_set_level(OA_LOG_ERROR);
	test_rs256();
	test_es256();
	test_eddsa();
	test_cross_key();
	return t_done("jws");
}
