/*
 * bench_ref.c - the reference FastCGI program for the refresh grant's
 * bar (SPEC §11, issue 5): per request exactly the two costs a refresh
 * grant cannot avoid, one RS256 signature and one durable Berkeley DB
 * commit, and nothing else of ownauth.
 *
 * Each request: the body is read (up to 4 KB), a JWT with a fresh iat and
 * jti is signed with EVP_DigestSign (RSA 2048, SHA-256, PKCS#1 v1.5), a
 * new 256-bit token is drawn and its SHA-256 is put into a btree in one
 * transaction committed durably (the log flushed at commit, as db_sync =
 * yes), and a token response is sent as JSON.
 *
 * The environment lives in $BENCH_REF_DIR (created when missing; one
 * process: the bench runs it with max-procs 1). The key is generated at
 * start. Runs as FastCGI only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <db.h>
#include <fcgiapp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ownauth.h"

static const char header_b64[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIiwidHlwIjoiSldUIn0";

/* Signs header.payload(claims) with key; writes the compact JWS (malloc'd)
 * into *out. 0 or -1. */
static int
sign_jwt(EVP_PKEY *key, const char *claims, char **out)
{
	EVP_MD_CTX *md = NULL;
	unsigned char sig[512];
	size_t siglen = sizeof(sig), n;
	char *payload = NULL, *s = NULL, *jws = NULL;
	int rc = -1;

	if ((payload = oa_b64url_encode(claims, strlen(claims))) == NULL)
		goto out;
	n = sizeof(header_b64) + strlen(payload) + 1;
	if ((jws = malloc(n + 700)) == NULL)
		goto out;
	snprintf(jws, n, "%s.%s", header_b64, payload);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)jws,
	    strlen(jws)) != 1)
		goto out;
	if ((s = oa_b64url_encode(sig, siglen)) == NULL ||
	    strlen(s) >= 700)
		goto out;
	strcat(jws, ".");
	strcat(jws, s);
	*out = jws;
	jws = NULL;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(payload);
	free(s);
	free(jws);
	return rc;
}

/* Stores SHA-256(token) -> a 128-byte record in one durable
 * transaction. 0 or -1. */
static int
store(DB_ENV *env, DB *d, const char *token)
{
	DB_TXN *txn = NULL;
	DBT k, v;
	uint8_t h[32], rec[128];
	int ret;

	oa_sha256(token, strlen(token), h);
	memset(rec, 'r', sizeof(rec));
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = h;
	k.size = sizeof(h);
	v.data = rec;
	v.size = sizeof(rec);
	if ((ret = env->txn_begin(env, NULL, &txn, 0)) != 0)
		return -1;
	if ((ret = d->put(d, txn, &k, &v, 0)) != 0) {
		(void)txn->abort(txn);
		return -1;
	}
	return txn->commit(txn, 0) == 0 ? 0 : -1;
}

int
main(void)
{
	FCGX_Request req;
	EVP_PKEY *key = NULL;
	DB_ENV *env = NULL;
	DB *d = NULL;
	const char *dir = getenv("BENCH_REF_DIR");
	char body[4096], claims[512], *jwt = NULL, *rt = NULL, *resp = NULL;
	uint8_t jti[16];
	char *jti_s = NULL;
	long cl;
	const char *cls;
	int ret, got;

	if (dir == NULL || FCGX_IsCGI()) {
		fprintf(stderr, "bench_ref: FastCGI only, with BENCH_REF_DIR\n");
		return 2;
	}
	if ((key = EVP_RSA_gen(2048)) == NULL) {
		fprintf(stderr, "bench_ref: RSA key generation failed\n");
		return 1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	if ((ret = db_env_create(&env, 0)) != 0 ||
	    (ret = env->open(env, dir, DB_CREATE | DB_INIT_TXN |
	    DB_INIT_LOG | DB_INIT_LOCK | DB_INIT_MPOOL, 0600)) != 0 ||
	    (ret = db_create(&d, env, 0)) != 0 ||
	    (ret = d->open(d, NULL, "ref.db", NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0) {
		fprintf(stderr, "bench_ref: db: %s\n", db_strerror(ret));
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		time_t now = time(NULL);

		cls = FCGX_GetParam("CONTENT_LENGTH", req.envp);
		cl = cls != NULL ? strtol(cls, NULL, 10) : 0;
		if (cl < 0 || cl >= (long)sizeof(body))
			cl = 0;
		got = cl > 0 ? FCGX_GetStr(body, (int)cl, req.in) : 0;
		body[got > 0 ? got : 0] = '\0';
		if (RAND_bytes(jti, sizeof(jti)) != 1 ||
		    (jti_s = oa_b64url_encode(jti, sizeof(jti))) == NULL ||
		    (rt = oa_random_token(32)) == NULL)
			goto fail;
		snprintf(claims, sizeof(claims),
		    "{\"iss\":\"http://127.0.0.1\",\"sub\":\"u_bench\","
		    "\"aud\":\"web\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\","
		    "\"sid\":\"s_bench\",\"auth_time\":%lld}",
		    (long long)now, (long long)now + 3600, jti_s,
		    (long long)now);
		if (sign_jwt(key, claims, &jwt) == -1 || store(env, d, rt) == -1)
			goto fail;
		if (asprintf(&resp,
		    "{\"access_token\":\"%s\",\"id_token\":\"%s\","
		    "\"token_type\":\"Bearer\",\"expires_in\":3600,"
		    "\"refresh_token\":\"%s\"}", jwt, jwt, rt) == -1) {
			resp = NULL;
			goto fail;
		}
		FCGX_FPrintF(req.out,
		    "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Cache-Control: no-store\r\n"
		    "Content-Length: %d\r\n\r\n", (int)strlen(resp));
		FCGX_PutStr(resp, (int)strlen(resp), req.out);
		goto next;
fail:
		FCGX_FPrintF(req.out, "Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nerror\n");
next:
		free(jwt);
		free(jti_s);
		oa_secret_free(resp);
		oa_secret_free(rt);
		jwt = jti_s = rt = resp = NULL;
		FCGX_Finish_r(&req);
	}
	(void)d->close(d, 0);
	(void)env->close(env, 0);
	EVP_PKEY_free(key);
	return 0;
}
