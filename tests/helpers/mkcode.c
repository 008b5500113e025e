/*
 * mkcode.c - a test helper for token.fcgi's tests: it opens the store of a
 * config and does what login + callback would have done, so that the token
 * endpoint can be tested on its own.
 *
 *   mkcode [-c CONF] --new-user [--id ID] [--email E] [--name N]
 *          [--picture URL] [--claims JSON] [--unverified]
 *       creates a user without an upstream identity; prints its id.
 *   mkcode [-c CONF] --code --user ID --client C --redirect-uri URI
 *          (--verifier V | --challenge CH | --no-challenge)
 *          [--nonce N] [--ttl S] [--auth-time T]
 *       stores a fresh authorization code (256 random bits) bound to
 *       them, S256 challenge of V; prints the code.
 *   mkcode [-c CONF] --disable ID | --enable ID | --delete ID
 *   mkcode [-c CONF] --claims-of ID JSON      sets a user's custom claims
 *   mkcode --s256 V                           prints S256(V)
 *
 * CONF defaults to $OWNAUTH_CONF. Exit 0, 1 on failure, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ownauth.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mkcode [-c CONF] --new-user [--id ID] [--email E] "
	    "[--name N] [--picture URL] [--claims JSON] [--unverified]\n"
	    "       mkcode [-c CONF] --code --user ID --client C "
	    "--redirect-uri URI (--verifier V | --challenge CH | "
	    "--no-challenge) [--nonce N] [--ttl S] [--auth-time T]\n"
	    "       mkcode [-c CONF] --disable ID | --enable ID | "
	    "--delete ID | --claims-of ID JSON\n"
	    "       mkcode --s256 VERIFIER\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *conf_path = getenv("OWNAUTH_CONF");
	const char *id = NULL, *email = NULL, *name = NULL, *picture = NULL;
	const char *claims = NULL, *user = NULL, *client = NULL, *ruri = NULL;
	const char *verifier = NULL, *challenge = NULL, *nonce = NULL;
	const char *target = NULL, *s256 = NULL;
	long ttl = 60, auth_time = 0;
	int mode = 0, no_chal = 0, unverified = 0, i, rc = 1;
	enum { M_USER = 1, M_CODE, M_DISABLE, M_ENABLE, M_DELETE, M_CLAIMS };
	struct oa_conf *conf = NULL;
	struct oa_db *db = NULL;
	enum oa_db_rc drc;
	char err[1024], *chal = NULL, *code = NULL, *newid = NULL;
	time_t now = time(NULL);

	oa_log_set_prog("mkcode");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define ARG(opt, var)                                                    \
	if (strcmp(a, opt) == 0) {                                       \
		if (v == NULL)                                           \
			usage();                                         \
		var = v;                                                 \
		i++;                                                     \
		continue;                                                \
	}
		ARG("-c", conf_path);
		ARG("--id", id);
		ARG("--email", email);
		ARG("--name", name);
		ARG("--picture", picture);
		ARG("--claims", claims);
		ARG("--user", user);
		ARG("--client", client);
		ARG("--redirect-uri", ruri);
		ARG("--verifier", verifier);
		ARG("--challenge", challenge);
		ARG("--nonce", nonce);
		ARG("--s256", s256);
		if (strcmp(a, "--ttl") == 0 && v != NULL) {
			ttl = strtol(v, NULL, 10);
			i++;
			continue;
		}
		if (strcmp(a, "--auth-time") == 0 && v != NULL) {
			auth_time = strtol(v, NULL, 10);
			i++;
			continue;
		}
		if (strcmp(a, "--new-user") == 0) {
			mode = M_USER;
			continue;
		}
		if (strcmp(a, "--code") == 0) {
			mode = M_CODE;
			continue;
		}
		if (strcmp(a, "--no-challenge") == 0) {
			no_chal = 1;
			continue;
		}
		if (strcmp(a, "--unverified") == 0) {
			unverified = 1;
			continue;
		}
		if (v != NULL && (strcmp(a, "--disable") == 0 ||
		    strcmp(a, "--enable") == 0 || strcmp(a, "--delete") == 0)) {
			mode = a[2] == 'd' ? (a[3] == 'i' ? M_DISABLE :
			    M_DELETE) : M_ENABLE;
			target = v;
			i++;
			continue;
		}
		if (strcmp(a, "--claims-of") == 0 && i + 2 < argc) {
			mode = M_CLAIMS;
			target = argv[i + 1];
			claims = argv[i + 2];
			i += 2;
			continue;
		}
		usage();
	}
	if (s256 != NULL) {
		if ((chal = oa_sha256_b64(s256, strlen(s256))) == NULL)
			return 1;
		printf("%s\n", chal);
		free(chal);
		return 0;
	}
	if (mode == 0 || conf_path == NULL)
		usage();
	if (oa_conf_load(conf_path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "mkcode: %s\n", err);
		return 2;
	}
	if ((drc = oa_db_open(conf->data_dir, conf->db_sync, &db)) !=
	    OA_DB_OK) {
		fprintf(stderr, "mkcode: store: %s\n", oa_db_strerror(drc));
		goto out;
	}
	switch (mode) {
	case M_USER: {
		struct oa_db_user u;

		memset(&u, 0, sizeof(u));
		u.id = (char *)id;
		u.email = (char *)email;
		u.email_verified = email != NULL && !unverified;
		u.name = (char *)name;
		u.picture = (char *)picture;
		u.claims = (char *)claims;
		if ((drc = oa_db_user_add(db, &u, now, &newid)) != OA_DB_OK) {
			fprintf(stderr, "mkcode: user add: %s (%d)\n",
			    oa_db_strerror(drc), drc);
			goto out;
		}
		printf("%s\n", newid);
		break;
	}
	case M_CODE: {
		struct oa_db_code c;

		if (user == NULL || client == NULL || ruri == NULL ||
		    (verifier == NULL && challenge == NULL && !no_chal))
			usage();
		if (verifier != NULL && (chal = oa_sha256_b64(verifier,
		    strlen(verifier))) == NULL)
			goto out;
		if ((code = oa_random_token(32)) == NULL)
			goto out;
		memset(&c, 0, sizeof(c));
		c.client = (char *)client;
		c.redirect_uri = (char *)ruri;
		c.code_challenge = no_chal ? NULL : chal != NULL ? chal :
		    (char *)challenge;
		c.nonce = (char *)nonce;
		c.user = (char *)user;
		c.auth_time = auth_time ? (time_t)auth_time : now;
		c.expires = now + ttl;
		if ((drc = oa_db_code_put(db, code, &c)) != OA_DB_OK) {
			fprintf(stderr, "mkcode: code put: %s (%d)\n",
			    oa_db_strerror(drc), drc);
			goto out;
		}
		printf("%s\n", code);
		break;
	}
	case M_DISABLE:
	case M_ENABLE:
		if ((drc = oa_db_user_set_disabled(db, target,
		    mode == M_DISABLE)) != OA_DB_OK) {
			fprintf(stderr, "mkcode: %s\n", oa_db_strerror(drc));
			goto out;
		}
		break;
	case M_DELETE:
		if ((drc = oa_db_user_delete(db, target)) != OA_DB_OK) {
			fprintf(stderr, "mkcode: %s\n", oa_db_strerror(drc));
			goto out;
		}
		break;
	case M_CLAIMS:
		if ((drc = oa_db_user_set_claims(db, target, claims)) !=
		    OA_DB_OK) {
			fprintf(stderr, "mkcode: %s\n", oa_db_strerror(drc));
			goto out;
		}
		break;
	}
	rc = 0;
out:
	free(chal);
	free(newid);
	oa_secret_free(code);
	oa_db_close(db);
	oa_conf_free(conf);
	return rc;
}
