/*
 * ownauth.h - the one public header of libownauth.
 *
 * Conventions (see ../shared/STYLE.md):
 *  - functions return 0 on success and -1 on failure, or a pointer / NULL;
 *  - out-parameters are written only on success;
 *  - every _free(NULL) is a no-op;
 *  - secrets are wiped with OPENSSL_cleanse before they are freed;
 *  - failures are logged once, where they happen, with oa_log().
 *
 * Sections are owned by one lib/ file each; keep them in this order.
 */
#ifndef OWNAUTH_H
#define OWNAUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cJSON.h>
#include <openssl/evp.h>

#define OA_VERSION "0.1.0"

/* ------------------------------------------------------------------ */
/* log.c: one line per event, to stderr (the web server's error log). */

enum oa_log_level {
	OA_LOG_ERROR = 0,
	OA_LOG_WARN = 1,
	OA_LOG_INFO = 2,
	OA_LOG_DEBUG = 3,
};

/* Sets the program name printed at the start of each line (not copied). */
void oa_log_set_prog(const char *prog);
/* Sets the most verbose level that is printed (default OA_LOG_INFO). */
void oa_log_set_level(enum oa_log_level level);
/* Parses "error|warn|info|debug"; returns 0 and writes *out, or -1. */
int oa_log_level_parse(const char *s, enum oa_log_level *out);
/* Prints "prog: level: message\n" to stderr when level is enabled.
 * Never pass a secret or a token here: log a kid or a hash prefix. */
void oa_log(enum oa_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* util.c: randomness, constant-time compare, hashing, files.          */

/* Fills buf with len bytes from the OpenSSL CSPRNG; 0 or -1. */
int oa_random(void *buf, size_t len);
/* Returns a malloc'd base64url string of nbytes random bytes, or NULL.
 * The caller wipes and frees it with oa_secret_free(). */
char *oa_random_token(size_t nbytes);
/* Constant-time equality after a length check. NULL never matches.
 * Returns 1 when equal, 0 otherwise. */
int oa_ct_eq(const void *a, size_t alen, const void *b, size_t blen);
/* Same for two NUL-terminated strings (NULL never matches). */
int oa_ct_streq(const char *a, const char *b);
/* SHA-256 of data into out (32 bytes). */
void oa_sha256(const void *data, size_t len, uint8_t out[32]);
/* Returns the malloc'd base64url SHA-256 of s (43 chars), or NULL. */
char *oa_sha256_b64(const char *s, size_t len);
/* OPENSSL_cleanse the string (strlen) and free it. NULL is a no-op. */
void oa_secret_free(char *s);
/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer. *len (may be NULL) gets the length. 0 or -1 (errno kept). */
int oa_file_read(const char *path, size_t max, char **out, size_t *len);
/* Refuses a file or directory that group or others can read, write or
 * enter (mode & 077). Returns 0 when private, -1 otherwise (and writes a
 * message naming the path and the mode into err). */
int oa_file_check_private(const char *path, char *err, size_t errlen);
/* Writes data to path atomically (temp file in the same directory, fsync,
 * rename, fsync of the directory), created with the given mode. 0 or -1. */
int oa_file_write_atomic(const char *path, const void *data, size_t len,
    int mode);
/* 1 when host (a URL's host part, without port; IPv6 in brackets allowed)
 * is a loopback name or address: localhost, 127.0.0.0/8, [::1]. */
int oa_host_is_loopback(const char *host);
/* Splits an absolute http(s) URL. Writes malloc'd scheme ("http"/"https"),
 * host (no port) and path (may be "", never NULL); port is 0 when absent.
 * Any of the out pointers may be NULL. Refuses userinfo, fragments,
 * whitespace and control bytes. 0 or -1. */
int oa_url_split(const char *url, char **scheme, char **host, int *port,
    char **path);
/* 1 when url is https, or http on a loopback host; 0 otherwise. */
int oa_url_is_secure_or_loopback(const char *url);

/* ------------------------------------------------------------------ */
/* b64.c: base64url without padding (RFC 7515 §2, RFC 4648 §5).        */

/* Returns a malloc'd NUL-terminated encoding of data, or NULL. */
char *oa_b64url_encode(const void *data, size_t len);
/* Strict decode: refuses '=', '+', '/', whitespace, any byte outside the
 * alphabet, a length of 1 mod 4 and non-zero trailing bits. Writes a
 * malloc'd buffer (NUL-terminated for convenience, not counted in *outlen).
 * 0 or -1. */
int oa_b64url_decode(const char *s, size_t slen, uint8_t **out,
    size_t *outlen);

/* ------------------------------------------------------------------ */
/* jwk.c: keys, JWK import/export, RFC 7638 thumbprints.               */

enum oa_alg {
	OA_ALG_UNKNOWN = 0,
	OA_ALG_RS256,
	OA_ALG_ES256,
	OA_ALG_EDDSA,
};

/* "RS256", "ES256", "EdDSA"; NULL for OA_ALG_UNKNOWN. */
const char *oa_alg_name(enum oa_alg alg);
/* Exact, case-sensitive match of the three names; 0 or -1. */
int oa_alg_parse(const char *s, enum oa_alg *out);

/* A signing or verification key. The algorithm belongs to the key: RSA
 * (>= 2048 bits) is RS256, P-256 is ES256, Ed25519 is EdDSA. */
struct oa_key {
	EVP_PKEY *pkey;
	enum oa_alg alg;
	char kid[48];      /* RFC 7638 SHA-256 thumbprint, base64url */
	int is_private;    /* 1 when pkey holds the private part */
};

/* Generates a new private key for alg (RSA: 2048 bits). */
struct oa_key *oa_key_generate(enum oa_alg alg);
/* Wraps pkey (ownership moves to the key, also on failure), works out the
 * algorithm, refuses RSA < 2048 and other curves, computes the kid. */
struct oa_key *oa_key_from_pkey(EVP_PKEY *pkey, int is_private);
/* Reads a PKCS#8 PEM private key file; refuses a file readable by group
 * or others. NULL on failure (logged). */
struct oa_key *oa_key_load_pem(const char *path);
/* Writes the private key as unencrypted PKCS#8 PEM, mode 0600, atomically,
 * refusing to overwrite an existing file. 0 or -1. */
int oa_key_save_pem(const struct oa_key *key, const char *path);
/* Writes the malloc'd PEM (PKCS#8) text of the private key; 0 or -1. */
int oa_key_to_pem(const struct oa_key *key, char **out);
/* Parses PEM text (PKCS#8 private key, or SubjectPublicKeyInfo). */
struct oa_key *oa_key_parse_pem(const char *pem, size_t len);
/* Frees the key (the EVP_PKEY wipes its private parts). */
void oa_key_free(struct oa_key *key);

/* Parses one public JWK (RFC 7517) given as JSON text. Requires kty and
 * its members; RSA: n, e (>= 2048 bits); EC: crv P-256, x, y (32 bytes,
 * point on the curve); OKP: crv Ed25519, x (32 bytes). When "alg" is
 * present it must match the key type; "use", when present, must be "sig".
 * Private members (d, p, q, dp, dq, qi) are refused. The kid is the
 * RFC 7638 thumbprint; the document's own "kid" goes to doc_kid (may be
 * NULL; malloc'd; NULL when absent). */
struct oa_key *oa_jwk_parse(const char *json, size_t len, char **doc_kid);
/* Same, from a parsed cJSON object. */
struct oa_key *oa_jwk_from_json(const cJSON *obj, char **doc_kid);
/* The public JWK: {kty, kid, alg, use:"sig", n, e | crv, x, y | crv, x}.
 * Never a private member. Caller frees with cJSON_Delete. */
cJSON *oa_jwk_to_json(const struct oa_key *key);
/* Computes the RFC 7638 thumbprint (SHA-256, base64url) into out. */
int oa_jwk_thumbprint(const struct oa_key *key, char out[48]);

/* A set of verification keys, e.g. an upstream JWKS. */
struct oa_keyset {
	struct oa_key **keys;
	char **doc_kids;   /* the "kid" member as published, or NULL */
	size_t n;
};
/* Parses a JWKS document {"keys":[...]}; keys it cannot use (other kty,
 * "use":"enc", bad members) are skipped with a debug log line. Refuses a
 * document that is not an object with a "keys" array. */
struct oa_keyset *oa_jwks_parse(const char *json, size_t len);
void oa_keyset_free(struct oa_keyset *set);

/* ------------------------------------------------------------------ */
/* jws.c: JWS compact serialization (RFC 7515 §7.1).                   */

/* Signs header_b64 "." payload_b64 with key (its own algorithm).
 * ES256 signatures are the JOSE raw r||s (64 bytes), converted from
 * OpenSSL's DER. Writes a malloc'd compact JWS into *out. 0 or -1. */
int oa_jws_sign(const struct oa_key *key, const char *header_json,
    const char *payload_json, char **out);
/* Verifies the signature of the compact JWS text (first len bytes) with
 * key, using the key's algorithm only. Returns 0 when valid, -1 when
 * not. Does not look at the header. */
int oa_jws_verify_sig(const struct oa_key *key, const char *jws, size_t len);

/* ------------------------------------------------------------------ */
/* jwt.c: minting and strict verification (RFC 7519, RFC 8725).        */

/* Splits a compact JWT into its decoded header and payload objects
 * without verifying anything; refuses anything other than three
 * base64url parts whose first two are JSON objects. For fuzzing and
 * for the CLI's explanations. 0 or -1. */
int oa_jwt_parse(const char *token, cJSON **header, cJSON **payload);

/* Mints a JWT with header {"alg", "kid", "typ":"JWT"} (in that order)
 * and the given claims (copied as they are; the caller sets iss, sub,
 * aud, iat, exp, jti...). Returns the malloc'd token or NULL. */
char *oa_jwt_sign(const struct oa_key *key, const cJSON *claims);

/* What oa_jwt_verify checks besides the signature. NULL members are not
 * checked, except that exp is always required. */
struct oa_jwt_expect {
	const char *iss;      /* exact match; NULL: not checked */
	const char *aud;      /* must be the only audience (string, or an
	                         array of one); NULL: not checked */
	const char *nonce;    /* exact match when not NULL */
	time_t now;           /* 0: time(NULL) */
	long leeway;          /* seconds, for exp / iat / nbf */
	int iss_tenant;       /* 1: iss may contain "{tenantid}", which matches
	                         the token's "tid" claim (Microsoft common) */
};

enum oa_jwt_result {
	OA_JWT_OK = 0,
	OA_JWT_MALFORMED,      /* not three base64url parts of JSON */
	OA_JWT_BAD_HEADER,     /* alg none/HMAC/unknown, crit, jku, x5u, jwk,
	                          x5c, typ other than JWT */
	OA_JWT_NO_KEY,         /* no key with this kid */
	OA_JWT_ALG_MISMATCH,   /* header alg differs from the key's */
	OA_JWT_BAD_SIGNATURE,
	OA_JWT_EXPIRED,        /* exp missing, not a number, or passed */
	OA_JWT_IAT_FUTURE,     /* iat or nbf after now + leeway */
	OA_JWT_BAD_ISS,
	OA_JWT_BAD_AUD,
	OA_JWT_BAD_NONCE,
};
/* A sentence saying which check failed, for logs and the CLI. */
const char *oa_jwt_result_str(enum oa_jwt_result r);

/* Verifies token against keys (matched by header kid against each key's
 * doc_kid, else its thumbprint kid; a token without kid is tried against
 * the only key when there is exactly one). On OA_JWT_OK and when claims is
 * not NULL, writes the payload object (caller cJSON_Deletes). */
enum oa_jwt_result oa_jwt_verify(const char *token,
    const struct oa_keyset *keys, const struct oa_jwt_expect *expect,
    cJSON **claims);

/* ------------------------------------------------------------------ */
/* conf.c: ownauth.conf (SPEC §6).                                     */

enum oa_provider_type {
	OA_PROV_OIDC = 1,
	OA_PROV_GITHUB,
	OA_PROV_OAUTH2,
	OA_PROV_DEV,
};

enum oa_delivery {
	OA_DELIVERY_BODY = 0,
	OA_DELIVERY_COOKIE,
};

struct oa_strlist {
	char **v;
	size_t n;
};

struct oa_client {
	char *name;                       /* the client_id */
	struct oa_strlist redirect_uris;  /* at least one */
	struct oa_strlist allowed_origins;
	char *audience;                   /* defaults to name */
	int allow_code;                   /* response_types has "code" */
	int allow_token;                  /* response_types has "token" */
	enum oa_delivery refresh_delivery;
	struct oa_strlist post_logout_redirect_uris;
};

struct oa_provider {
	char *name;                /* section name = URL name */
	char *preset;              /* google github microsoft gitlab apple, or
	                              NULL */
	enum oa_provider_type type;
	char *display_name;        /* for the chooser; default from preset/name */
	char *issuer;              /* oidc: discovery base */
	char *client_id;
	char *client_secret;       /* from client_secret or client_secret_file;
	                              wiped on free; NULL when not set (and
	                              when check_files = 0 left the file
	                              unread) */
	char *client_secret_file;  /* the path as configured, or NULL */
	char *scope;               /* space-separated; oidc default
	                              "openid email profile" */
	char *authorization_endpoint;
	char *token_endpoint;
	char *userinfo_endpoint;
	char *jwks_uri;
	char *emails_endpoint;     /* github /user/emails */
	char *subject_field;       /* oauth2 field map */
	char *email_field;
	char *name_field;
	char *picture_field;
	char *team_id;             /* apple */
	char *key_id;              /* apple */
	char *private_key_file;    /* apple .p8 */
	char *tenant;              /* microsoft: default "common" */
};

struct oa_conf {
	char *path;
	char *issuer;              /* no trailing slash */
	char *data_dir;
	char *keys_dir;
	char *publish_dir;         /* NULL when not set */
	long access_token_ttl;     /* 3600 */
	long session_ttl;          /* 2592000 */
	long refresh_idle_ttl;     /* 1209600 */
	long refresh_reuse_window; /* 10 */
	long jwks_max_age;         /* 300 */
	long key_activation_delay; /* default 2 * jwks_max_age */
	int link_by_verified_email;
	int db_sync;               /* 1 */
	enum oa_log_level log_level;
	struct oa_client *clients;
	size_t n_clients;
	struct oa_provider *providers;
	size_t n_providers;
};

/* Loads and validates the config file at path (refusing one readable by
 * group or others). On failure writes "FILE:LINE: key 'KEY': problem"
 * (or "FILE: problem") into err and returns -1. */
int oa_conf_load(const char *path, struct oa_conf **out, char *err,
    size_t errlen);
/* Parses config text; name is used in messages. check_files = 0 skips
 * everything that touches the file system (permissions, *_file reads),
 * for the fuzzer and unit tests. */
int oa_conf_parse(const char *name, const char *text, size_t len,
    int check_files, struct oa_conf **out, char *err, size_t errlen);
void oa_conf_free(struct oa_conf *conf);
/* The path to use: $OWNAUTH_CONF, else the compiled-in OA_CONF_PATH. */
const char *oa_conf_default_path(void);
const struct oa_client *oa_conf_client(const struct oa_conf *conf,
    const char *name);
const struct oa_provider *oa_conf_provider(const struct oa_conf *conf,
    const char *name);

/* ------------------------------------------------------------------ */
/* keys.c: the key directory (SPEC §4).                                */

/* Layout of keys_dir (mode 0700):
 *   KID.pem     PKCS#8 private key, 0600
 *   KID.json    {"alg","created","activates","retired"} (0 = not retired),
 *               0600, written atomically
 *   cookie.key  32 random bytes, 0600: the cookie-sealing key
 */
struct oa_keyinfo {
	struct oa_key *key;
	time_t created;
	time_t activates;   /* signs from then on */
	time_t retired;     /* 0, or when it left the JWKS */
};

struct oa_keyring {
	struct oa_keyinfo *keys;  /* sorted by activates, then created */
	size_t n;
	uint8_t cookie_key[32];
	char *dir;
	time_t dir_mtime;         /* for oa_keyring_changed */
	long dir_mtime_ns;
};

/* Creates dir (0700) with a fresh cookie key if it does not exist yet;
 * an existing dir must be private. 0 or -1. */
int oa_keys_init_dir(const char *dir);
/* Loads every key of dir, refusing any file readable by group or others
 * and any file whose kid does not match its name. NULL on failure. */
struct oa_keyring *oa_keyring_load(const char *dir);
void oa_keyring_free(struct oa_keyring *ring);
/* 1 when the directory changed since the ring was loaded, 0 if not. */
int oa_keyring_changed(const struct oa_keyring *ring);
/* The signing key at now: the newest active, unretired key; NULL when
 * none is active. */
const struct oa_keyinfo *oa_keyring_signer(const struct oa_keyring *ring,
    time_t now);
/* The published keys (not retired), as a keyset for verification. The set
 * borrows the keys: free it with oa_keyset_free_shallow(). */
struct oa_keyset *oa_keyring_published(const struct oa_keyring *ring);
void oa_keyset_free_shallow(struct oa_keyset *set);
/* Adds a key: published now, signing after delay seconds (0 when no key
 * is active yet). Writes the new kid into kid_out when not NULL. */
int oa_keys_new(const char *dir, enum oa_alg alg, long delay,
    char kid_out[48]);
/* Retires kid (it leaves the JWKS). Refuses the only active key.
 * 0 or -1. */
int oa_keys_retire(const char *dir, const char *kid);

/* ------------------------------------------------------------------ */
/* wellknown.c: discovery and JWKS documents (SPEC §2.4).              */

/* The JWKS of the published keys: malloc'd JSON text, or NULL. */
char *oa_jwks_document(const struct oa_keyring *ring);
/* The OpenID discovery document for conf (algorithms from the ring). */
char *oa_discovery_document(const struct oa_conf *conf,
    const struct oa_keyring *ring);
/* A strong ETag ("\"...\"", malloc'd) for a body. */
char *oa_etag(const char *body, size_t len);

/* ------------------------------------------------------------------ */
/* cgi.c: one request, FastCGI or plain CGI (section owned by cgi.c).  */

/* (cgi.c declarations go here) */

/* ------------------------------------------------------------------ */
/* db.c: the Berkeley DB store (SPEC §5; section owned by db.c).       */

/* (db.c declarations go here) */

/* ------------------------------------------------------------------ */
/* req.c: query, form and cookie parsing (section owned by req.c).     */

/* (req.c declarations go here) */

/* ------------------------------------------------------------------ */
/* cookie.c: sealed cookies (section owned by cookie.c).               */

/* (cookie.c declarations go here) */

/* ------------------------------------------------------------------ */
/* http.c: upstream HTTP with libcurl (section owned by http.c).       */

/* (http.c declarations go here) */

#endif /* OWNAUTH_H */
