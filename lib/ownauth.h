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

/* Fills buf with len bytes from the kernel CSPRNG (getrandom(2); OpenSSL's
 * RAND_bytes where the kernel has none); 0 or -1. */
int oa_random(void *buf, size_t len);
/* Returns a malloc'd base64url string of nbytes (1..4096) random bytes,
 * or NULL. The caller wipes and frees it with oa_secret_free(). */
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
/* Writes "dir/name" followed by suffix (e.g. ".pem", or "") into buf of
 * size bytes. 0, or -1 (logged, naming the path) when it does not fit. */
int oa_file_path(char *buf, size_t size, const char *dir, const char *name,
    const char *suffix);
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
/* The origin (RFC 6454 §4) of an absolute http(s) URL, as oa_url_split
 * reads it: a malloc'd "scheme://host[:port]" (the port printed as a
 * number, kept when given even if it is the default), which the caller
 * frees; NULL when url does not split or memory runs out. */
char *oa_url_origin(const char *url);

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

/* Generates a new private key for alg (RSA: 2048 bits, e = 65537). */
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
 * its members; RSA: n, e (2048..8192 bits, e odd, 3..2^31-1; leading
 * zero bytes are tolerated); EC: crv P-256, x, y (32 bytes,
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

/* Longest token oa_jwt_parse / oa_jwt_verify accept, in bytes. */
#define OA_JWT_MAX 16384

/* Parses len bytes of untrusted JSON text that must be exactly one
 * object: refuses NUL bytes and "\u0000" (cJSON strings are C strings),
 * raw control characters inside strings, trailing bytes other than
 * whitespace, more than 1 MB, and duplicate member names at any depth.
 * Used for JOSE headers, claims and JWKs. Returns the object (caller
 * cJSON_Deletes it) or NULL. */
cJSON *oa_json_parse_object(const char *text, size_t len);

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
	OA_JWT_MALFORMED,      /* not three base64url parts of JSON
	                          objects, duplicate members, over
	                          OA_JWT_MAX, or iat/nbf not numbers */
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
/* For the programs: loads the config at path into *conf unless *conf is
 * already set (0 at once). On failure logs one line "config: FILE:LINE:
 * ..." and returns -1 (*conf stays NULL); on success sets the log level
 * from the config and returns 0. The caller frees *conf. */
int oa_conf_load_once(const char *path, struct oa_conf **conf);
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
 *   KID.json    {"alg","created","activates","retired","jwk"} (retired 0:
 *               not retired; jwk: the public JWK, so that publishing
 *               needs no private key), 0600, written atomically
 *   cookie.key  32 random bytes, 0600: the cookie-sealing key
 */
struct oa_keyinfo {
	struct oa_key *key;
	time_t created;
	time_t activates;   /* signs from then on */
	time_t retired;     /* 0, or when it left the JWKS */
	cJSON *jwk;         /* the public JWK that oa_jwks_document publishes:
	                       KID.json's, checked by oa_keydir_load (its
	                       thumbprint is the kid), or key's export when
	                       KID.json has none; owned by the ring */
};

/* The cookie-sealing key's file name in keys_dir. */
#define OA_KEYS_COOKIE_FILE "cookie.key"

struct oa_keyring_watch;      /* keys.c's: how oa_keyring_changed looks */
struct oa_keyring {
	struct oa_keyinfo *keys;  /* sorted by activates, then created */
	size_t n;
	uint8_t cookie_key[32];
	char *dir;
	time_t dir_mtime;         /* for oa_keyring_changed */
	long dir_mtime_ns;
	time_t recheck_at;        /* reload at this time even when the mtime
	                             is unchanged: the next activation, or the
	                             end of a same-tick mtime window; 0: none */
	struct oa_keyring_watch *watch;  /* internal (keys.c), or NULL */
};

/* Creates dir (0700) with a fresh cookie key if it does not exist yet;
 * an existing dir must be private. 0 or -1. */
int oa_keys_init_dir(const char *dir);
/* Loads every key of dir, refusing any file readable by group or others
 * and any file whose kid does not match its name. NULL on failure. */
struct oa_keyring *oa_keyring_load(const char *dir);
/* The same checks, but reads only the public JWKs of the KID.json files
 * (the .pem files are checked for their mode, not read, unless KID.json
 * has no JWK; cookie_key is left zero): keys have is_private = 0. For
 * programs that only verify, which then never hold a private key, and
 * much faster (no PEM decoding). NULL on failure. (jwks.fcgi, which only
 * publishes, uses oa_keydir_load: no libcrypto at all.) */
struct oa_keyring *oa_keyring_load_public(const char *dir);
/* The cookie key only (n = 0): for programs that only seal cookies. */
struct oa_keyring *oa_keyring_load_cookie(const char *dir);
void oa_keyring_free(struct oa_keyring *ring);
/* 1 when the directory changed since the ring was loaded, 0 if not.
 * The ring keeps the directory open and looks at its mtime through the
 * descriptor (no path walk: a FastCGI worker asks at every request);
 * the path itself is looked at once a second at most, so a directory
 * replaced by another one (renamed over, or removed) is noticed within
 * a second. Changes inside the directory are noticed at once. */
int oa_keyring_changed(const struct oa_keyring *ring);
/* For the programs: *ring (NULL, or loaded from dir) is kept while dir is
 * unchanged (0); otherwise it is freed and load(dir) (oa_keyring_load or
 * oa_keyring_load_cookie) put in its place: 0, or -1 with *ring NULL
 * after the loader's one log line. The caller frees *ring. */
int oa_keyring_refresh(struct oa_keyring **ring, const char *dir,
    struct oa_keyring *(*load)(const char *dir));
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
/*
 * Sets OpenSSL up for a program that starts at every request (plain CGI)
 * and links no libssl: call it first thing in main (login.fcgi; token.fcgi
 * would gain as much). It skips what such a start pays for and never
 * uses, about half of OpenSSL 3's start-up cost: the legacy cipher and
 * digest name tables (every fetch here is by a provider's own name), the
 * error strings (a failure is logged without OpenSSL's reason text;
 * `ownauth check` shows it), the clean-up at exit, and, unless
 * OPENSSL_CONF names one, the system openssl.cnf. See keys.c for why
 * that is safe. Never for callback.fcgi or the CLI: libssl's TLS policy
 * lives in that file.
 */
void oa_crypto_init(void);
/* Retires kid: at once out of the JWKS and no longer accepted (strict:
 * waiting until the tokens it signed expire is the operator's, and the
 * CLI's, job; see keys.c). Refuses the signer while it is the only
 * active key (make a new key first), and an unknown or retired kid.
 * 0 or -1. */
int oa_keys_retire(const char *dir, const char *kid);

/* ------------------------------------------------------------------ */
/* wellknown.c: what keys_dir publishes (its KID.json files, read      */
/* without libcrypto), discovery and JWKS documents (SPEC §2.4).       */

/* One key of keys_dir as its KID.json describes it. */
struct oa_keymeta {
	char kid[48];       /* the file name, which is the RFC 7638
	                       thumbprint of jwk */
	enum oa_alg alg;
	time_t created;
	time_t activates;
	time_t retired;
	cJSON *jwk;         /* the public JWK, checked: exactly the members
	                       oa_jwk_to_json writes, "kid" the file name,
	                       "alg" the metadata's, well-formed key members,
	                       thumbprint = kid; rebuilt in canonical member
	                       order. NULL when KID.json has none (refused
	                       with OA_KEYDIR_JWK). */
};
/* The key directory as its KID.json files describe it: the public half,
 * for publishing (jwks.fcgi) and as the base of every oa_keyring. */
struct oa_keydir {
	struct oa_keymeta *keys;  /* ring order: activates, created, kid */
	size_t n;
	char *dir;
	time_t dir_mtime;         /* for oa_keydir_changed */
	long dir_mtime_ns;
	time_t recheck_at;        /* as in struct oa_keyring */
};
#define OA_KEYDIR_JWK 0x1     /* every key must have its public JWK */
#define OA_KEYDIR_NO_KEYS 0x2 /* the directory only (n = 0): no KID file
                                 is looked at */
/* Reads dir (flags: OA_KEYDIR_*): refuses (NULL, one log line naming the
 * file) a directory, KID.pem, KID.json or cookie.key that group or
 * others can use, a file name that is no kid, a KID.pem without its
 * KID.json, corrupt metadata or JWK. Never reads a private key. Free
 * with oa_keydir_free(). */
struct oa_keydir *oa_keydir_load(const char *dir, int flags);
void oa_keydir_free(struct oa_keydir *kd);
/* 1 when the directory changed since kd was loaded, 0 if not. */
int oa_keydir_changed(const struct oa_keydir *kd);
/* 1 when s (len bytes) can be a kid (1..47 base64url characters). */
int oa_keydir_kid_valid(const char *s, size_t len);

/* The JWKS of the published keys: malloc'd JSON text, or NULL. */
char *oa_jwks_document(const struct oa_keyring *ring);
/* The OpenID discovery document for conf (algorithms from the ring). */
char *oa_discovery_document(const struct oa_conf *conf,
    const struct oa_keyring *ring);
/* The same two documents from a keydir (the same bytes as from the ring
 * of the same directory). */
char *oa_keydir_jwks_document(const struct oa_keydir *kd);
char *oa_keydir_discovery_document(const struct oa_conf *conf,
    const struct oa_keydir *kd);
/* A strong ETag ("\"...\"", malloc'd) for a body. */
char *oa_etag(const char *body, size_t len);
/* 1 when an If-None-Match header value (a list of entity tags, or "*")
 * matches etag by the weak comparison of RFC 9110 §13.1.2, else 0.
 * NULL never matches. */
int oa_etag_match(const char *if_none_match, const char *etag);

/* ------------------------------------------------------------------ */
/* cgi.c: one request, FastCGI or plain CGI (section owned by cgi.c).  */

/* A request being answered, in plain CGI (environ, stdin, stdout) or
 * FastCGI (libfcgi's FCGX interface). Request members are read-only and
 * valid until the handler returns; strings are "" when the variable is
 * absent unless marked "or NULL". The response is buffered: nothing is
 * written before the handler returns, so a failure still becomes a clean
 * 500 and oa_cgi_reset() can start the response over. */
struct oa_cgi_priv;
struct oa_cgi {
	const char *method;        /* REQUEST_METHOD; "GET" when absent */
	const char *path_info;     /* PATH_INFO */
	const char *query_string;  /* QUERY_STRING */
	const char *content_type;  /* CONTENT_TYPE, or NULL */
	const char *cookie;        /* HTTP_COOKIE, or NULL */
	const char *origin;        /* HTTP_ORIGIN, or NULL */
	const char *if_none_match; /* HTTP_IF_NONE_MATCH, or NULL */
	const char *remote_addr;   /* REMOTE_ADDR */
	long long content_length;  /* CONTENT_LENGTH: -1 absent or empty,
	                              -2 not a plain decimal number */
	int https;                 /* HTTPS is on/1, or REQUEST_SCHEME https */
	int is_head;               /* HEAD: headers only, the body is dropped */
	int fastcgi;               /* 1 under FastCGI, 0 as plain CGI */
	struct oa_cgi_priv *priv;  /* internal */
};

/* Answers requests with handler(c, arg): one request as plain CGI (when
 * stdin is not a FastCGI listening socket), or a FastCGI accept loop that
 * ends on SIGTERM (after the current request) or SIGUSR1. Read the
 * program's own environment (OWNAUTH_CONF...) before calling it: under
 * FastCGI each request has its own environment, see oa_cgi_env().
 * Ignores SIGPIPE and disables core dumps (keys are in memory). The
 * handler returns 0 when it wrote a response (default status 200), or -1
 * to have it replaced by a 500; an invalid header or an allocation
 * failure also gives a 500. Returns 0, or -1 when FastCGI setup failed. */
int oa_cgi_main(int (*handler)(struct oa_cgi *c, void *arg), void *arg);
/* The process setup oa_cgi_main() does first: no core dumps, SIGPIPE
 * ignored. Call it before loading keys when that happens earlier.
 * Idempotent. */
void oa_cgi_init(void);
/* The request's variable name (the request environment under FastCGI),
 * or NULL. */
const char *oa_cgi_env(const struct oa_cgi *c, const char *name);

enum oa_cgi_body_result {
	OA_CGI_BODY_OK = 0,
	OA_CGI_BODY_BAD = -1,       /* malformed CONTENT_LENGTH, short read:
	                               answer 400 */
	OA_CGI_BODY_TOO_LARGE = -2, /* CONTENT_LENGTH > max: answer 413 */
};
/* Reads the request body, refusing a CONTENT_LENGTH above max before
 * reading anything (an absent CONTENT_LENGTH is an empty body). *buf gets
 * a NUL-terminated buffer that belongs to c: it is wiped and freed after
 * the handler returns (it may hold codes or tokens). A second call returns
 * the same buffer. */
enum oa_cgi_body_result oa_cgi_read_body(struct oa_cgi *c, size_t max,
    const char **buf, size_t *len);

/* Sets the status (100-599; default 200). 0 or -1 (and the response
 * becomes a 500). */
int oa_cgi_status(struct oa_cgi *c, int code);
/* Adds a header line; may be called several times with one name (each
 * Set-Cookie is its own call). Refuses a name that is not an HTTP token
 * or is Status/Content-Length (set by cgi.c), and a value with CR, LF or
 * another control byte except tab: -1, and the response becomes a 500.
 * Content-Length is added by cgi.c; a non-empty body without a
 * Content-Type gets text/plain; charset=utf-8. */
int oa_cgi_header(struct oa_cgi *c, const char *name, const char *value);
/* Appends len bytes to the response body (dropped for HEAD, 204, 304).
 * 0 or -1. */
int oa_cgi_body(struct oa_cgi *c, const void *data, size_t len);
/* Appends formatted text to the body. 0 or -1. */
int oa_cgi_printf(struct oa_cgi *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Status code (301, 302, 303, 307 or 308) and Location: location, which
 * the caller has checked (exact match with configuration). 0 or -1. */
int oa_cgi_redirect(struct oa_cgi *c, int code, const char *location);
/* Discards the status, headers and body written so far (and a pending
 * failure), so that the handler can write another response. */
void oa_cgi_reset(struct oa_cgi *c);
/* The reason phrase of a status code ("OK", "Not Found"...), or "Unknown". */
const char *oa_cgi_status_text(int code);
/* Formats t as an IMF-fixdate (RFC 9110 §5.6.7), e.g.
 * "Sun, 06 Nov 1994 08:49:37 GMT", into buf. 0 or -1. */
int oa_http_date(time_t t, char buf[32]);

/* ------------------------------------------------------------------ */
/* db.c: the Berkeley DB store (SPEC §5; section owned by db.c).       */

/*
 * One transactional environment in data_dir, shared by any number of
 * processes, any of which may be killed at any instant. Every function
 * runs one transaction, retried on lock conflicts within a deadline, and
 * recovers the environment on its own (DB_REGISTER) after a crash. Each
 * returns an enum oa_db_rc; out-parameters are written only on OA_DB_OK
 * (and where a comment says so). Secrets (codes, refresh tokens, login
 * states) are given in plain text and stored only as SHA-256 hashes.
 * A handle belongs to one process (not shared across fork) and one
 * thread; opening the same dir twice in a process returns the same
 * handle with a reference count. `now` parameters are Unix times
 * (tests pass a fake clock).
 */
struct oa_db;

enum oa_db_rc {
	OA_DB_OK = 0,
	OA_DB_NOTFOUND,   /* no such record, or it has expired */
	OA_DB_EXISTS,     /* a create found the key taken (or a deleted
	                     user's id: ids are never reused) */
	OA_DB_USED,       /* authorization code already used: a replay */
	OA_DB_ALREADY,    /* login state already consumed */
	OA_DB_INVALID,    /* refresh token unknown, expired, revoked, or
	                     reused (see reuse_detected) */
	OA_DB_DISABLED,   /* the user is disabled */
	OA_DB_BADARG,     /* a value the store refuses (too long, NUL,
	                     control bytes, claims not a JSON object) */
	/* From here on the store cannot answer: HTTP 503, exit status 1.
	 * Each is logged once with the reason. */
	OA_DB_BUSY,       /* lock conflicts outlasted the retry deadline */
	OA_DB_FULL,       /* no space left on the device (or quota) */
	OA_DB_READONLY,   /* read-only file system or permission denied */
	OA_DB_CORRUPT,    /* not a database, a page checksum failed, or a
	                     record does not decode */
	OA_DB_VERSION,    /* written by another Berkeley DB or store
	                     format version */
	OA_DB_ERROR,      /* anything else (out of memory, I/O error...) */
};
/* 1 when rc means the store failed (BUSY and after), 0 otherwise. */
#define OA_DB_FAILED(rc) ((rc) >= OA_DB_BUSY)
/* A fixed sentence for rc ("no space left on the database device"). */
const char *oa_db_strerror(enum oa_db_rc rc);

/* Opens (creating it 0700 when missing) the environment in dir; files
 * are created 0600. sync = 0 gives up durability of the last commits
 * for speed (db_sync = no). Recovers on its own when a process died.
 * Writes the handle into *out; free it with oa_db_close(). */
enum oa_db_rc oa_db_open(const char *dir, int sync, struct oa_db **out);
/* Drops one reference; the last one closes the environment, writing the
 * cache to the database file and syncing it unless another process has
 * the environment open (that one flushes when it leaves, or recovery
 * runs if it dies: see db.c). NULL is a no-op. Handles still open at exit() are closed by an atexit
 * hook (a process that dies without closing makes the next one run
 * recovery). */
void oa_db_close(struct oa_db *db);
/* Sets how long one store call may make no progress (a latch held by a
 * process killed mid-call is never released) before the process logs
 * the fact and exits with status 75, so that the next process recovers
 * the environment. Default 15 s (less than the 20 s an opener waits for
 * the processes inside the environment); 0 disables. Process-wide. */
void oa_db_set_watchdog(unsigned seconds);
/* Turns the opportunistic purge of writers on (the default) or off, for
 * the process. Off: only oa_db_purge() removes expired records, which
 * tests with a fake clock need (a write at a late `now` would otherwise
 * purge, at random, what an earlier step still counts). */
void oa_db_set_autopurge(int on);

/* Users. Ids are ASCII (printable, no space), at most 64 characters,
 * never reused; generated ones are "u_" + 22 base64url characters. */
struct oa_db_user {
	char *id;
	char *email;          /* NULL when unknown */
	int email_verified;
	char *name;           /* NULL when unknown */
	char *picture;        /* NULL when unknown */
	int disabled;
	char *claims;         /* custom claims: JSON object text, or NULL */
	time_t created;
	time_t last_login;    /* 0: never signed in */
};
void oa_db_user_free(struct oa_db_user *u);
/* Frees an array from oa_db_user_list (NULL is a no-op). */
void oa_db_user_list_free(struct oa_db_user **v, size_t n);
/* Reads user id into *out (caller frees). OK or NOTFOUND. */
enum oa_db_rc oa_db_user_get(struct oa_db *db, const char *id,
    struct oa_db_user **out);
/* Creates a user without an upstream identity (CLI `users add`). u->id
 * NULL: a new id is generated. u->created/last_login are ignored
 * (created = now). Writes the malloc'd id into *id_out when not NULL.
 * EXISTS when the id is or was taken; BADARG for a bad id or claims. */
enum oa_db_rc oa_db_user_add(struct oa_db *db, const struct oa_db_user *u,
    time_t now, char **id_out);
/* Sets or clears the disabled flag. OK or NOTFOUND. */
enum oa_db_rc oa_db_user_set_disabled(struct oa_db *db, const char *id,
    int disabled);
/* Replaces the custom claims with json (a JSON object; NULL or "{}"
 * clears them). Reserved claim names are the caller's to refuse. */
enum oa_db_rc oa_db_user_set_claims(struct oa_db *db, const char *id,
    const char *json);
/* Deletes the user and, in the same transaction, its identities, email
 * index entries, sessions and refresh tokens. The id stays reserved. */
enum oa_db_rc oa_db_user_delete(struct oa_db *db, const char *id);
/* Every user, sorted by id: a malloc'd array of *n users (free with
 * oa_db_user_list_free). */
enum oa_db_rc oa_db_user_list(struct oa_db *db, struct oa_db_user ***out,
    size_t *n);

/* Identities: (provider, upstream subject) -> user. */
struct oa_db_profile {
	const char *provider;   /* config section name, [A-Za-z0-9._-] */
	const char *subject;    /* upstream sub, <= 255 bytes */
	const char *email;      /* NULL when unknown */
	int email_verified;
	const char *name;       /* NULL when unknown */
	const char *picture;    /* NULL when unknown */
};
/*
 * Sign-in, in one transaction: finds the user of (provider, subject);
 * when there is none, links it to the user that owns the same verified,
 * case-normalised email when link_by_verified_email and the profile's
 * email is verified, else creates a user. Profile fields that are not
 * NULL are refreshed, last_login = now. Writes the user into *user
 * (caller frees) and 1 into *created (may be NULL) when it is new.
 * DISABLED (nothing written) when the user is disabled.
 */
enum oa_db_rc oa_db_identity_login(struct oa_db *db,
    const struct oa_db_profile *p, int link_by_verified_email, time_t now,
    struct oa_db_user **user, int *created);
/* The user id of (provider, subject) into *uid (malloc'd). */
enum oa_db_rc oa_db_identity_get(struct oa_db *db, const char *provider,
    const char *subject, char **uid);
struct oa_db_identity {
	char *provider;
	char *subject;
	time_t created;
};
/* The identities of user uid (sorted): malloc'd array of *n. */
enum oa_db_rc oa_db_identity_list(struct oa_db *db, const char *uid,
    struct oa_db_identity **out, size_t *n);
void oa_db_identity_list_free(struct oa_db_identity *v, size_t n);

/* Authorization codes (stored as SHA-256(code)). */
struct oa_db_code {
	char *client;
	char *redirect_uri;
	char *code_challenge;   /* S256 challenge (required, not empty) */
	char *nonce;            /* NULL when none */
	char *scope;            /* NULL when none */
	char *user;
	char *sid;              /* the session its exchange created; NULL
	                           until then (ignored by code_put) */
	time_t auth_time;
	time_t expires;         /* e.g. now + 60 */
};
void oa_db_code_free(struct oa_db_code *c);
/* Stores code -> c. EXISTS when the code is already stored; BADARG for
 * a bad value, a missing or empty code_challenge included (SECURITY 5:
 * no code exists without PKCE). */
enum oa_db_rc oa_db_code_put(struct oa_db *db, const char *code,
    const struct oa_db_code *c);
/*
 * Uses code once: OK (it is now marked used; *out gets the record) when
 * it was unused and now < expires; NOTFOUND when unknown or expired;
 * USED when it was used before: a replay. A replay revokes, in the same
 * transaction, the session the first exchange created, and *out gets
 * the record (with that sid, NULL when the first exchange has not
 * created its session) for the log. The used code is kept until it
 * expires so that replays are recognised.
 */
enum oa_db_rc oa_db_code_take(struct oa_db *db, const char *code,
    time_t now, struct oa_db_code **out);

/* Sessions ("families" of refresh tokens; sid is the JWT sid claim). */
struct oa_db_session {
	char *sid;
	char *user;
	char *client;
	time_t created;
	time_t expires;         /* created + session_ttl at creation */
	time_t auth_time;
	time_t last_refresh;    /* 0: never refreshed */
	int revoked;
};
void oa_db_session_free(struct oa_db_session *s);
void oa_db_session_list_free(struct oa_db_session **v, size_t n);
struct oa_db_session_params {
	const char *user;
	const char *client;
	time_t auth_time;
	time_t now;
	long session_ttl;       /* absolute lifetime */
	long idle_ttl;          /* refresh_idle_ttl */
	const char *code;       /* the code being exchanged, or NULL (implicit
	                           flow): it must have been taken (OK) and not
	                           replayed since; its record gets the sid */
};
/*
 * Creates a session and its first refresh token in one transaction.
 * Writes the malloc'd sid and the refresh token (plain text, 43 chars;
 * free with oa_secret_free) into *sid and *refresh. NOTFOUND when the
 * user is gone, DISABLED when disabled, USED when p->code was replayed
 * in between (no session is created).
 */
enum oa_db_rc oa_db_session_new(struct oa_db *db,
    const struct oa_db_session_params *p, char **sid, char **refresh);
enum oa_db_rc oa_db_session_get(struct oa_db *db, const char *sid,
    struct oa_db_session **out);
/* The sessions of user uid (revoked ones included), sorted by sid. */
enum oa_db_rc oa_db_session_list(struct oa_db *db, const char *uid,
    struct oa_db_session ***out, size_t *n);
/* Revokes one session (every refresh token of the family dies). */
enum oa_db_rc oa_db_session_revoke(struct oa_db *db, const char *sid);
/* Revokes every session of uid; *count (may be NULL) gets how many were
 * live. OK even when there were none; NOTFOUND for an unknown user. */
enum oa_db_rc oa_db_session_revoke_user(struct oa_db *db, const char *uid,
    size_t *count);

/* Refresh tokens (SPEC §2.3): rotated on every use. */
struct oa_db_refresh_params {
	time_t now;
	long reuse_window;      /* refresh_reuse_window */
	long idle_ttl;          /* refresh_idle_ttl */
	long session_ttl;
};
struct oa_db_refresh_result {
	char *token;            /* the new refresh token (oa_secret_free) */
	struct oa_db_session *session;  /* after the rotation */
	struct oa_db_user *user;
	int sibling;            /* 1: a sibling for a concurrent refresh */
	int reuse_detected;     /* set (with OA_DB_INVALID) when the token
	                           was reused and the family revoked */
};
/* Frees and wipes the members (not r itself). */
void oa_db_refresh_result_wipe(struct oa_db_refresh_result *r);
/*
 * Rotates token, in one transaction (racing callers get outcomes
 * consistent with these rules in some serial order):
 *  - unknown token, revoked or expired session (absolute: created +
 *    session_ttl), deleted or disabled user, or an unused token older
 *    than idle_ttl: INVALID;
 *  - unused token: it is marked used (first use = now) and a child
 *    token is issued: OK;
 *  - used token, now - first use <= reuse_window, and the token is the
 *    parent of the family's newest token: a sibling of that newest
 *    token is issued: OK, sibling = 1;
 *  - any other use of a used token is reuse: the family is revoked:
 *    INVALID with reuse_detected = 1.
 * res must be zeroed by the caller; on OK it gets the new token, the
 * session and the user.
 */
enum oa_db_rc oa_db_refresh_rotate(struct oa_db *db, const char *token,
    const struct oa_db_refresh_params *p, struct oa_db_refresh_result *res);
/* Revokes the family of token (RFC 7009, logout). client: the client
 * that asks, which must be the one the family was issued to (RFC 7009
 * §2.1), or NULL for any (the CLI, logout). *sid (may be NULL) gets the
 * malloc'd sid. NOTFOUND for an unknown token (or one whose family is
 * gone); INVALID, with nothing revoked, when the family belongs to
 * another client than client. */
enum oa_db_rc oa_db_refresh_revoke(struct oa_db *db, const char *token,
    const char *client, char **sid);

/* Marks a login state as consumed until expires: OK the first time,
 * ALREADY after (until the marker is purged after expires). */
enum oa_db_rc oa_db_state_consume(struct oa_db *db, const char *state,
    time_t expires, time_t now);

/* Cache of upstream documents (discovery, JWKS), key <= 512 bytes,
 * body <= 1 MiB. put replaces. get writes a malloc'd NUL-terminated
 * copy of the body, its length and expiry, also when it has expired
 * (the caller decides whether a stale copy will do); purged a day after
 * it expires. */
enum oa_db_rc oa_db_cache_put(struct oa_db *db, const char *key,
    const char *body, size_t len, time_t expires);
enum oa_db_rc oa_db_cache_get(struct oa_db *db, const char *key,
    char **body, size_t *len, time_t *expires);

/* Removes every record expired at now (codes, states, refresh tokens,
 * sessions with their tokens, stale cache entries). *removed (may be
 * NULL) gets the count. Writers also purge a little on their own. */
enum oa_db_rc oa_db_purge(struct oa_db *db, time_t now, size_t *removed);

/* What oa_db_check found. */
struct oa_db_report {
	size_t users, identities, emails, sessions, refresh_tokens, codes,
	    states, cache, deleted_ids;
	size_t problems;        /* inconsistencies, each logged */
};
/* Checks the store: a hot backup into a temporary directory of dir,
 * Berkeley DB's verify of the copy, and a walk decoding every record and
 * cross-checking the indexes. Fills *rep (may be NULL). OK, CORRUPT
 * (problems found, or a damaged file), or a failure. */
enum oa_db_rc oa_db_check(struct oa_db *db, struct oa_db_report *rep);
/* Hot backup into dir (created 0700; it must not exist or be empty):
 * the database file, then the logs, then catastrophic recovery and a
 * verify of the copy. The copy is a data_dir of its own: copy it back
 * while nothing runs to restore. Concurrent writers keep running. */
enum oa_db_rc oa_db_backup(struct oa_db *db, const char *dir);

/* ------------------------------------------------------------------ */
/* req.c: query, form and cookie parsing (section owned by req.c).     */

/*
 * Declared parameters (STYLE "Validate at the boundary"). Each endpoint
 * lists the parameters it accepts; oa_params_parse() decodes an
 * application/x-www-form-urlencoded string (a query string or a POST
 * body) against that list.
 */
#define OA_PARAMS_MAX_INPUT 16384  /* bytes of encoded input */
#define OA_PARAMS_MAX_COUNT 64     /* name=value pairs, unknown included */

/* A validator: 1 when the len bytes of v (NUL-terminated, no NUL inside)
 * are acceptable, 0 when not. */
typedef int (*oa_valid_fn)(const char *v, size_t len);

struct oa_param_spec {
	const char *name;     /* exact, case-sensitive */
	size_t max_len;       /* decoded bytes; 0 means 1024 */
	oa_valid_fn valid;    /* NULL: any bytes but NUL, CR, LF */
	int required;         /* 1: absence is an error */
};

enum oa_param_error {
	OA_PARAM_OK = 0,
	OA_PARAM_TOO_LARGE,     /* input over OA_PARAMS_MAX_INPUT */
	OA_PARAM_TOO_MANY,      /* over OA_PARAMS_MAX_COUNT pairs */
	OA_PARAM_BAD_ENCODING,  /* '%' not followed by two hex digits */
	OA_PARAM_DUPLICATE,     /* a declared name given twice */
	OA_PARAM_CONTROL,       /* NUL, CR or LF after decoding */
	OA_PARAM_TOO_LONG,      /* over the spec's max_len */
	OA_PARAM_INVALID,       /* the spec's validator refused it */
	OA_PARAM_MISSING,       /* a required parameter is absent */
	OA_PARAM_NOMEM,
};

/* The result of a parse. v[i] / len[i] is the decoded value of spec[i]
 * (malloc'd, NUL-terminated), or NULL when absent or refused. */
struct oa_params {
	const struct oa_param_spec *spec;  /* borrowed */
	size_t nspec;
	char **v;
	size_t *len;
	enum oa_param_error err;   /* the first problem found, or OA_PARAM_OK */
	const char *err_name;      /* the declared name it concerns (borrowed
	                              from spec), or NULL */
	char err_desc[160];        /* "state: duplicate parameter": safe for
	                              error_description (RFC 6749 NQSCHAR) and
	                              for HTML; never contains input bytes */
};

/*
 * Parses len bytes of in (need not be NUL-terminated) as name=value pairs
 * separated by '&': '+' is a space, %XX is strict (a bad escape is an
 * error), a value given empty ("state=") counts as absent (RFC 6749
 * §3.1), and unknown names are ignored (RFC 6749 §3.1, §3.2) without
 * their value being decoded. Each declared name may appear at most once
 * (a duplicate refuses both copies); values with NUL, CR or LF, values
 * over max_len and values the validator refuses are not stored.
 * Parsing goes on after a problem so that the values that did pass (such
 * as state, to echo in the error redirect) are available; err/err_name/
 * err_desc describe the first problem. spec must outlive the result.
 * Returns the result (check ->err) or NULL when out of memory or when
 * spec is NULL or nspec is 0; free it with oa_params_free().
 */
struct oa_params *oa_params_parse(const struct oa_param_spec *spec,
    size_t nspec, const char *in, size_t len);
/* The value of the declared parameter name (borrowed), or NULL when it
 * is absent, refused or not declared. */
const char *oa_params_get(const struct oa_params *p, const char *name);
/* Wipes every value (they may be codes, verifiers, refresh tokens) and
 * frees p. NULL is a no-op. */
void oa_params_free(struct oa_params *p);
/* A fixed English phrase for an error ("duplicate parameter"). */
const char *oa_param_error_str(enum oa_param_error err);

/* Validators (oa_valid_fn). All refuse the empty string. */
/* RFC 6749 Appendix A VSCHAR: printable ASCII %x20-7E (state, code,
 * refresh_token, client_secret). */
int oa_valid_vschar(const char *v, size_t len);
/* Printable ASCII without space %x21-7E. */
int oa_valid_printable(const char *v, size_t len);
/* RFC 3986 unreserved: [A-Za-z0-9-._~]. */
int oa_valid_unreserved(const char *v, size_t len);
/* base64url alphabet [A-Za-z0-9-_] (our own codes and tokens). */
int oa_valid_b64url(const char *v, size_t len);
/* RFC 7636 §4.1 code_verifier: 43 to 128 unreserved characters. */
int oa_valid_pkce_verifier(const char *v, size_t len);
/* RFC 7636 §4.2 S256 code_challenge: exactly 43 base64url characters,
 * the canonical encoding of 32 bytes (the last one carries 2 zero bits). */
int oa_valid_pkce_challenge(const char *v, size_t len);
/* client_id: [A-Za-z0-9._~:@+-]. */
int oa_valid_client_id(const char *v, size_t len);
/* A URI (redirect_uri, iss): only RFC 3986 characters (unreserved,
 * reserved and '%'): no space, control, quote, '<', '>', '\', '^', '`',
 * '{', '|', '}' or non-ASCII byte. */
int oa_valid_uri(const char *v, size_t len);
/* RFC 6749 §3.3 scope: NQCHAR tokens separated by single spaces. */
int oa_valid_scope(const char *v, size_t len);
/* A space-separated list of names [A-Za-z0-9_] (response_type, prompt),
 * RFC 6749 Appendix A response-name. */
int oa_valid_names(const char *v, size_t len);
/* A word [A-Za-z0-9._:-] (grant_type, code_challenge_method,
 * token_type_hint, error). */
int oa_valid_word(const char *v, size_t len);
/* Valid UTF-8 without any C0/C1 control character or DEL (login_hint,
 * error_description, Apple's "user" JSON). Refuses overlong forms,
 * surrogates and code points above U+10FFFF. */
int oa_valid_text(const char *v, size_t len);

/*
 * Cookie request header (RFC 6265 §4.2.1, §5.4): "a=1; b=2". Lenient on
 * spaces and tabs around pairs, names and values; a pair without '=' is
 * skipped; values are kept as sent (quotes included). Strict on control
 * bytes: any byte below 0x20 other than TAB, or DEL, refuses the whole
 * header. Bytes >= 0x80 (other applications' cookies) are allowed.
 */
#define OA_COOKIES_MAX_INPUT 16384
#define OA_COOKIES_MAX_COUNT 200

struct oa_cookies {
	char *buf;       /* one copy of the header, wiped on free */
	size_t buflen;
	char **names;    /* point into buf */
	char **values;
	size_t n;
};

/* Parses the Cookie header (header may be NULL or "": an empty set).
 * Refuses (-1) an input over OA_COOKIES_MAX_INPUT bytes or with more
 * than OA_COOKIES_MAX_COUNT pairs, and control bytes. Writes *out (free
 * with oa_cookies_free) and returns 0, or returns -1. */
int oa_cookies_parse(const char *header, size_t len,
    struct oa_cookies **out);

enum oa_cookie_lookup {
	OA_COOKIE_FOUND = 0,
	OA_COOKIE_ABSENT,
	/* The name appears more than once. A browser sends several cookies
	 * of one name when they differ in Domain or Path; for our own
	 * cookies that means another host or path tossed one in (cookie
	 * tossing), and we cannot tell which is ours: refuse them all. */
	OA_COOKIE_DUPLICATE,
};
/* Looks name up (exact match). On OA_COOKIE_FOUND writes the value
 * (borrowed from c) into *value; otherwise *value is untouched. */
enum oa_cookie_lookup oa_cookies_get(const struct oa_cookies *c,
    const char *name, const char **value);
/* Wipes and frees. NULL is a no-op. */
void oa_cookies_free(struct oa_cookies *c);

/*
 * Content types.
 */
#define OA_FORM_TYPE "application/x-www-form-urlencoded"
/* 1 when the media type of the Content-Type value ct is name (ASCII case
 * insensitive, white space around it and any ";" parameters such as
 * charset ignored); 0 otherwise, and for a NULL ct. */
int oa_media_type_is(const char *ct, const char *name);

/*
 * Building URLs and forms.
 */
/* Percent-encodes len bytes of s: RFC 3986 unreserved bytes are kept,
 * every other byte becomes %XX (upper case). Malloc'd, or NULL. */
char *oa_url_encode(const char *s, size_t len);

struct oa_kv {
	const char *name;
	const char *value;   /* NULL: the pair is skipped */
};

enum oa_url_part {
	OA_URL_QUERY = 0,    /* ?a=1 or &a=1 after an existing query */
	OA_URL_FRAGMENT,     /* #a=1 (RFC 6749 §4.2.2) */
};
/* Appends the n pairs, percent-encoded, to base (a redirect_uri used as
 * registered): in the query, after an existing one ("?x=1" gets "&a=1",
 * a trailing '?' or '&' gets no extra separator), or as the fragment. A
 * base that already has a fragment is refused (RFC 6749 §3.1.2). A base
 * with a query keeps it in both cases. Returns the malloc'd URL or NULL. */
char *oa_url_append(const char *base, enum oa_url_part part,
    const struct oa_kv *kv, size_t n);
/* The n pairs as an application/x-www-form-urlencoded body "a=1&b=2"
 * (values percent-encoded as oa_url_encode does). Malloc'd, or NULL. The
 * caller wipes it with oa_secret_free when it holds secrets. */
char *oa_form_encode(const struct oa_kv *kv, size_t n);

/* HTML-escapes s for text and quoted attribute values: & < > " ' become
 * &amp; &lt; &gt; &quot; &#39;. Malloc'd, or NULL. */
char *oa_html_escape(const char *s);

/* ------------------------------------------------------------------ */
/* cookie.c: sealed cookies (section owned by cookie.c).               */

/*
 * Sealing: AES-256-GCM with the keyring's 32-byte cookie_key.
 *   value = base64url(version || nonce[12] || ciphertext || tag[16])
 *   plaintext = issued (8 bytes, big-endian seconds) || data
 *   AAD = version || cookie name
 * so a value moved to another cookie name, altered in any byte, sealed
 * with another key or older than max_age does not open.
 */
#define OA_SEAL_VERSION 1
#define OA_SEAL_MAX_DATA 8192   /* bytes of data sealed */
#define OA_SEAL_MAX_VALUE 11100 /* characters of a sealed value */
#define OA_SEAL_SKEW 60         /* seconds an issue time may be ahead */

enum oa_seal_result {
	OA_SEAL_OK = 0,
	OA_SEAL_MALFORMED,    /* not base64url, too short or too long */
	OA_SEAL_BAD_VERSION,
	OA_SEAL_BAD_TAG,      /* tampered, wrong key or wrong name */
	OA_SEAL_EXPIRED,      /* older than max_age, or issued in the future */
	OA_SEAL_ERROR,        /* out of memory, OpenSSL failure */
};
/* A short phrase for logs ("authentication tag mismatch"). */
const char *oa_seal_result_str(enum oa_seal_result r);

/* Seals len bytes of data (len <= OA_SEAL_MAX_DATA) for the cookie called
 * name, issued at now. Returns the malloc'd value or NULL. */
char *oa_cookie_seal(const uint8_t key[32], const char *name,
    const void *data, size_t len, time_t now);
/* Opens a sealed value (vlen characters of value) for the cookie called
 * name, refusing one issued more than max_age seconds before now or more
 * than OA_SEAL_SKEW seconds after it. On OA_SEAL_OK writes the malloc'd
 * data (NUL-terminated, the NUL not counted) into *out and its length
 * into *outlen (may be NULL); the caller wipes and frees it
 * (OPENSSL_cleanse + free, or oa_secret_free for text). */
enum oa_seal_result oa_cookie_open(const uint8_t key[32], const char *name,
    const char *value, size_t vlen, time_t now, long max_age,
    uint8_t **out, size_t *outlen);

/*
 * Set-Cookie values. Every cookie is HttpOnly, Path is the issuer's path
 * (or "/") - never wider (SECURITY 23) - and Secure unless the issuer is
 * http on a loopback host. Names carry the strongest prefix the issuer
 * allows: "__Host-" for https with no path, "__Secure-" for https with a
 * path, none for http loopback.
 */
enum oa_samesite {
	OA_SAMESITE_LAX = 0,
	OA_SAMESITE_STRICT,
};
/* "NAME=VALUE; Path=P; Max-Age=N; HttpOnly[; Secure]; SameSite=S" for
 * base (the name without prefix; [A-Za-z0-9_-]) under issuer. value must
 * be cookie-octets (RFC 6265 §4.1.1; "" clears). max_age >= 0 (0 clears
 * the cookie). Returns malloc'd text or NULL (bad issuer, path with ';'
 * or ',', bad value). */
char *oa_cookie_header(const char *issuer, const char *base,
    const char *value, long max_age, enum oa_samesite samesite);
/* The full cookie name (prefix + base) for issuer, malloc'd, or NULL. */
char *oa_cookie_name(const char *issuer, const char *base);

/*
 * The in-flight login cookie (SPEC §2.1): up to OA_LOGIN_MAX logins (one
 * per tab), oldest first, sealed as compact JSON under the name
 * oa_cookie_name(issuer, OA_LOGIN_COOKIE), SameSite=Lax, Max-Age
 * OA_LOGIN_TTL. Each login also expires OA_LOGIN_TTL after its creation.
 */
#define OA_LOGIN_COOKIE "ownauth_login"
#define OA_REFRESH_COOKIE "ownauth_refresh"
#define OA_LOGIN_MAX 3
#define OA_LOGIN_TTL 600
#define OA_LOGIN_MAX_VALUE 3000  /* characters of the sealed value: the
                                    whole Set-Cookie stays under 3.3 KB */
#define OA_LOGIN_MAX_FIELD 2048  /* bytes of one field */

/* One in-flight login. Every string is malloc'd (oa_login_dup: in the
 * same allocation as the struct) and wiped on free; NULL when absent.
 * state and provider are required. */
struct oa_login {
	char *state;           /* the upstream state we sent (random) */
	char *provider;        /* provider name, for the mix-up check */
	char *client_id;
	char *redirect_uri;    /* exactly as registered */
	char *client_state;    /* the client's state, echoed back */
	char *client_nonce;    /* copied into the ID token */
	char *code_challenge;  /* S256, from the client */
	char *response_type;   /* "code" or "token" */
	char *scope;           /* as the client asked */
	char *verifier;        /* our PKCE code_verifier towards upstream */
	char *nonce;           /* our nonce towards an OIDC upstream */
	time_t created;
	size_t block;          /* internal: bytes of the one allocation
	                          holding the struct and its strings
	                          (oa_login_dup), or 0 */
};

struct oa_logins {
	struct oa_login *v[OA_LOGIN_MAX];   /* oldest first */
	size_t n;
};

/* An empty set, or NULL when out of memory. */
struct oa_logins *oa_logins_new(void);
void oa_logins_free(struct oa_logins *set);
void oa_login_free(struct oa_login *login);
/* A deep copy of login (created copied as is) in one allocation: the
 * strings follow the struct. Free with oa_login_free. NULL when out of
 * memory. Checks nothing. */
struct oa_login *oa_login_dup(const struct oa_login *login);
/* Adds a deep copy of login (state and provider required, no field over
 * OA_LOGIN_MAX_FIELD bytes; created is set to now when 0), evicting the
 * oldest when OA_LOGIN_MAX are already in flight. 0 or -1. */
int oa_logins_add(struct oa_logins *set, const struct oa_login *login);
/* Finds the login whose state equals state (constant time), removes it
 * from set and writes it (caller frees with oa_login_free) into *out.
 * Returns 0, or -1 when none matches (NULL state never matches). The
 * caller then checks login->provider against the callback's provider. */
int oa_logins_take(struct oa_logins *set, const char *state,
    struct oa_login **out);
/* Serialises set (compact JSON) and seals it under cookie name at now;
 * while the value would be longer than OA_LOGIN_MAX_VALUE the oldest
 * login is evicted from set. Returns the malloc'd value, or NULL (also
 * when the set is empty or the newest login alone is too long). */
char *oa_logins_seal(const uint8_t key[32], const char *name,
    struct oa_logins *set, time_t now);
/* Opens a login cookie value (value NULL or "": an empty set). Logins
 * older than OA_LOGIN_TTL are dropped. On OA_SEAL_OK writes the set into
 * *out; otherwise (tampered, expired, malformed content:
 * OA_SEAL_MALFORMED) *out is untouched and the caller starts afresh. */
enum oa_seal_result oa_logins_open(const uint8_t key[32], const char *name,
    const char *value, time_t now, struct oa_logins **out);
/* The Set-Cookie value that stores set for issuer (sealed, evicting as
 * oa_logins_seal does), or the clearing cookie (Max-Age=0) when set is
 * empty or NULL. Malloc'd, or NULL. */
char *oa_logins_cookie(const uint8_t key[32], const char *issuer,
    struct oa_logins *set, time_t now);

/* ------------------------------------------------------------------ */
/* http.c: upstream HTTP with libcurl (section owned by http.c).       */

/*
 * The only libcurl user (SPEC §2.2, SECURITY item 25): https only, except
 * http to a loopback host; TLS peer and host verified; connect and total
 * timeouts; a response size cap; redirects never followed; User-Agent
 * "ownauth/VERSION" and Accept: application/json on every request.
 */

enum oa_http_result {
	OA_HTTP_OK = 0,        /* 2xx; the response is written */
	OA_HTTP_STATUS,        /* any other status (3xx redirects included:
	                          never followed); the response is written */
	OA_HTTP_INSECURE_URL,  /* not https and not http to a loopback host,
	                          or not a URL: refused before connecting */
	OA_HTTP_CONNECT,       /* name resolution or connection failed */
	OA_HTTP_TIMEOUT,       /* connect or total timeout */
	OA_HTTP_TLS,           /* handshake or certificate verification */
	OA_HTTP_TOO_BIG,       /* body longer than the limit: aborted */
	OA_HTTP_BAD_JSON,      /* oa_http_get_json: not JSON of that type */
	OA_HTTP_ERROR,         /* anything else (memory, protocol error) */
};
/* A short phrase for logs and tests ("timeout", "TLS failure", ...). */
const char *oa_http_result_str(enum oa_http_result r);

/* Limits applied to every request (process-wide; tests shorten them). */
struct oa_http_limits {
	long connect_timeout_ms;   /* default 5000 */
	long timeout_ms;           /* whole request; default 10000 */
	size_t max_body;           /* default 1 MiB */
	const char *ca_file;       /* extra CA bundle (tests), not copied;
	                              NULL: the system's */
};
/* Copies *lim into the process-wide limits; NULL restores the defaults.
 * Zero members take their default. */
void oa_http_set_limits(const struct oa_http_limits *lim);

struct oa_http_resp {
	long status;
	char *body;          /* malloc'd, NUL-terminated (may hold NULs) */
	size_t len;          /* bytes of body, without the terminating NUL */
	char *content_type;  /* malloc'd, or NULL when absent */
	char *location;      /* malloc'd Location header of a 3xx, or NULL */
};
/* Wipes (OPENSSL_cleanse) the body, frees every member and zeroes the
 * struct (not freed itself: it usually lives on the stack). NULL: no-op. */
void oa_http_resp_free(struct oa_http_resp *resp);

/* Initialises libcurl once per process (also done by the first request);
 * call it early in a program that forks or starts threads. 0 or -1. */
int oa_http_init(void);

/* GET url. bearer (nullable) is sent as "Authorization: Bearer ..." and
 * wiped from our memory afterwards. *out (zeroed by the caller or not:
 * it is overwritten) is written on OA_HTTP_OK and OA_HTTP_STATUS only;
 * free it with oa_http_resp_free. Every failure is logged once. */
enum oa_http_result oa_http_get(const char *url, const char *bearer,
    struct oa_http_resp *out);
/* POST form_body (application/x-www-form-urlencoded, already encoded;
 * not copied, the caller wipes it) to url. When basic_user is not NULL
 * the client authenticates with HTTP Basic, user and password
 * form-urlencoded first (RFC 6749 §2.3.1); basic_pass NULL means "".
 * Output as for oa_http_get. */
enum oa_http_result oa_http_post_form(const char *url, const char *form_body,
    const char *basic_user, const char *basic_pass, struct oa_http_resp *out);

/* GET url and parse the body as JSON of the given type (cJSON_Object or
 * cJSON_Array). Anything but status 200 gives OA_HTTP_STATUS (logged with
 * the status only); a body that is not exactly one JSON value of that
 * type gives OA_HTTP_BAD_JSON. On OA_HTTP_OK writes *out (cJSON_Delete
 * it). */
enum oa_http_result oa_http_get_json(const char *url, const char *bearer,
    int type, cJSON **out);
/* Parses untrusted bytes (not NUL-terminated) as exactly one JSON value of
 * the given type, whitespace around it allowed, nothing else after it.
 * Refuses invalid UTF-8, NUL bytes, "\u0000", raw control bytes in
 * strings and duplicate member names at any depth. Writes *out on
 * success. 0 or -1. */
int oa_http_json_parse(const char *body, size_t len, int type, cJSON **out);

/* An upstream token endpoint response (RFC 6749 §5.1, §5.2). Members are
 * malloc'd or NULL. */
struct oa_http_token {
	char *access_token;
	char *id_token;
	char *token_type;
	char *scope;
	char *error;
	char *error_description;
};
/* Parses a token endpoint response body (untrusted; len bytes, need not
 * be NUL-terminated): JSON (RFC 6749 §5.1), or form-encoded as GitHub
 * sends without "Accept: application/json". A content_type (nullable) of
 * application/json or application/x-www-form-urlencoded picks the
 * format; otherwise a body starting with '{' is JSON.
 * Refuses: a body that is neither (JSON as oa_http_json_parse); duplicate
 * members; known members that are not strings (null counts as absent)
 * or hold bytes outside printable ASCII (no space in tokens: they go into
 * headers); members over 64 KiB; a success response (no "error") without
 * access_token, or with a token_type other than "Bearer" (any case).
 * An error response (RFC 6749 §5.2) parses: out->error is set, and
 * error_description when it is printable (dropped otherwise).
 * Writes *out on success (free with oa_http_token_free). 0 or -1. */
int oa_http_token_parse(const char *body, size_t len,
    const char *content_type, struct oa_http_token *out);
/* Wipes and frees the members and zeroes the struct. NULL: no-op. */
void oa_http_token_free(struct oa_http_token *tok);

/* ------------------------------------------------------------------ */
/* issue.c: the token pair of SPEC §3.                                 */

struct oa_issue_in {
	const struct oa_conf *conf;
	const struct oa_client *client;
	const struct oa_db_user *user;
	const char *sid;
	time_t auth_time;
	const char *nonce;      /* ID token only; NULL when none */
	time_t now;
};
struct oa_issue_out {
	char *access_token;     /* malloc'd */
	char *id_token;         /* malloc'd (same text as access_token when the
	                           claims are identical: aud == client id and no nonce) */
	long expires_in;
};
/*
 * Mints the access token and the ID token of one response with the
 * ring's signer at in->now: header {alg, kid, typ:"JWT"}; claims iss,
 * sub, aud (ONE string: the client id in the ID token, client->audience
 * in the access token), iat, exp (iat + access_token_ttl), jti (fresh
 * random), sid, auth_time, nonce (ID token, when not NULL), email,
 * email_verified, name, picture when known, then the user's custom
 * claims (names already set or reserved are skipped with a warn line).
 * When both tokens would carry the same claims they are one signature:
 * id_token is a second malloc'd copy of the same text. Writes *out (zeroed
 * first; free with oa_issue_out_wipe) and returns 0, or -1 (logged; no
 * signer at now, bad input, signing failure).
 */
int oa_issue_tokens(const struct oa_keyring *ring, const struct oa_issue_in *in, struct oa_issue_out *out);
/* Wipes and frees both tokens and zeroes *out. NULL is a no-op. */
void oa_issue_out_wipe(struct oa_issue_out *out);
/* 1 when name is a claim that custom claims may never set (iss sub aud
 * exp iat nbf jti sid auth_time nonce azp at_hash c_hash typ), else 0. */
int oa_issue_claim_reserved(const char *name);
/* The user's claims as userinfo returns them (OIDC Core §5.3.2): sub,
 * email, email_verified, name, picture when known, then the custom
 * claims, skipped as in tokens. Caller cJSON_Deletes; NULL on failure. */
cJSON *oa_issue_user_claims(const struct oa_db_user *u);

/* ------------------------------------------------------------------ */
/* token_ep.c: the token program's endpoints (SPEC §2.3; section owned */
/* by token_ep.c).                                                     */

/*
 * One process's state for token.fcgi: the config (loaded once), the
 * private key ring (reloaded when keys_dir changes) and the store
 * (opened once). Dispatch on the end of PATH_INFO: "", "/token" → the
 * token endpoint (authorization_code and refresh_token grants); "/revoke"
 * (RFC 7009); "/logout" (OIDC RP-Initiated Logout); "/userinfo".
 */
#define OA_TOKEN_BODY_MAX 16384   /* bytes of a request body */

struct oa_token_ep;
/* Allocates the state and tries to load the config, the keys and the
 * store (a failure is logged and tried again at the next request under
 * FastCGI). conf_path is copied. NULL only when out of memory. */
struct oa_token_ep *oa_token_ep_new(const char *conf_path);
/* The oa_cgi_main() handler; arg is the struct oa_token_ep. */
int oa_token_ep_handle(struct oa_cgi *c, void *arg);
/* Closes the store, frees the ring and the config. NULL is a no-op. */
void oa_token_ep_free(struct oa_token_ep *ep);

/* ------------------------------------------------------------------ */
/* login_ep.c: login.fcgi's authorization endpoint (SPEC §2.1; section */
/* owned by login_ep.c).                                               */

/*
 * One process's state for login.fcgi: the config (loaded once) and the
 * key ring's cookie key (reloaded when keys_dir changes). PATH_INFO ""
 * or ".../authorize": the chooser (or straight on with one provider);
 * ".../{provider}": sign-in with that provider starts.
 */
struct oa_login_ep;
/* Allocates the state and loads the config and the cookie key (a failure
 * is logged, and tried again at the next request under FastCGI only).
 * conf_path is copied. NULL only when out of memory. */
struct oa_login_ep *oa_login_ep_new(const char *conf_path);
/* The oa_cgi_main() handler; arg is the struct oa_login_ep. */
int oa_login_ep_handle(struct oa_cgi *c, void *arg);
/* Frees the ring and the config. NULL is a no-op. */
void oa_login_ep_free(struct oa_login_ep *ep);

/* ------------------------------------------------------------------ */
/* authz.c: the authorization request (SPEC §2.1; section owned by     */
/* authz.c).                                                           */

/*
 * RFC 6749 §4.1.2.1 / §3.1.2.4: while the client and its redirect URI are
 * not established, the user gets an error page and is never redirected
 * (SECURITY 1, 2); once they are, any other problem is an error response
 * sent to that redirect URI.
 */
enum oa_authz_result {
	OA_AUTHZ_OK = 0,
	OA_AUTHZ_PAGE,      /* answer with an error page (400) */
	OA_AUTHZ_REDIRECT,  /* answer with oa_authz_error_location() */
};

/* Longest accepted values (bytes, decoded). They bound the login cookie. */
#define OA_AUTHZ_STATE_MAX 512
#define OA_AUTHZ_NONCE_MAX 256
#define OA_AUTHZ_SCOPE_MAX 512
#define OA_AUTHZ_HINT_MAX 256
#define OA_AUTHZ_REDIRECT_MAX 2048

/* A validated authorization request. */
struct oa_authz {
	enum oa_authz_result result;
	const char *error;          /* OAuth error code (static string), or
	                               NULL when result is OA_AUTHZ_OK */
	char error_description[160]; /* fixed English text (RFC 6749
	                               NQSCHAR, safe in HTML and URLs):
	                               never contains input bytes */
	const struct oa_client *client; /* borrowed from conf; NULL on
	                               OA_AUTHZ_PAGE */
	const char *redirect_uri;   /* borrowed: the registered string (exact
	                               match); NULL on OA_AUTHZ_PAGE */
	const char *response_type;  /* "code" or "token" (static) when OK */
	int fragment;               /* 1: the response goes in the fragment
	                               (response_type=token, RFC 6749 §4.2.2) */
	/* The client's values as sent and validated (in the struct's own
	 * allocation, wiped by oa_authz_free), or NULL when
	 * absent. state is kept on OA_AUTHZ_REDIRECT too (to echo it) when
	 * it was itself valid. */
	char *state;
	char *nonce;
	char *code_challenge;       /* S256 (the only method accepted) */
	char *scope;
	char *prompt;               /* none | login | consent |
	                               select_account | create, validated */
	char *login_hint;
	int discovered;             /* "discovered=1": back from the upstream
	                               discovery round trip (upstream_ep.c) */
	size_t block;               /* internal: bytes of the one allocation
	                               holding the struct and its strings */
};

/*
 * Validates the len bytes of in (a query string or a form body; need
 * not be NUL-terminated) against conf: client_id (may be omitted when
 * conf has exactly one client), redirect_uri (exact string match with
 * one the client registered; may be omitted when it has exactly one),
 * response_type (code, the default, or token when the client lists it),
 * PKCE (code_challenge with code_challenge_method=S256 required for
 * code; plain refused), state, nonce, scope, prompt, login_hint,
 * response_mode; request / request_uri / registration are refused with
 * the OIDC Core §6.1 / §6.2 / §7.2.1 errors. Duplicated parameters,
 * NUL/CR/LF, over-long values and bad characters are invalid_request.
 * Returns the result (check ->result; free with oa_authz_free), or NULL
 * when out of memory.
 */
struct oa_authz *oa_authz_parse(const struct oa_conf *conf, const char *in,
    size_t len);
/* Wipes and frees. NULL is a no-op. */
void oa_authz_free(struct oa_authz *a);
/* The validated request as a canonical query string (client_id and
 * redirect_uri as resolved, response_type, state, nonce, code_challenge
 * with code_challenge_method=S256, scope, prompt, login_hint; never
 * "discovered"), percent-encoded, for the chooser's links and the
 * discovery round trip. Malloc'd, or NULL. */
char *oa_authz_query(const struct oa_authz *a);
/*
 * The error response (RFC 6749 §4.1.2.1, §4.2.2.1) for redirect_uri (a
 * registered one: the caller has checked it): error, error_description
 * (nullable), state (nullable, echoed untouched) and iss = issuer
 * (RFC 9207), in the query, or in the fragment when fragment is 1.
 * Malloc'd, or NULL.
 */
char *oa_authz_error_location(const char *redirect_uri, int fragment,
    const char *error, const char *description, const char *state,
    const char *issuer);
/*
 * A new in-flight login for a (result OA_AUTHZ_OK) towards prov: the
 * client's values copied, a fresh upstream state (32 random bytes), and
 * unless prov is type dev a PKCE verifier (RFC 7636 §4.1: 43 characters)
 * and, for type oidc, a nonce; created = now. Free with oa_login_free.
 * NULL on failure.
 */
struct oa_login *oa_authz_login_new(const struct oa_authz *a,
    const struct oa_provider *prov, time_t now);

/* ------------------------------------------------------------------ */
/* page.c: the HTML pages (SECURITY 22; section owned by page.c).      */

/* The Content-Security-Policy of our pages: nothing loads, inline style
 * only, no framing, forms post to form_action (an origin such as
 * "http://127.0.0.1:8080"; NULL: 'self'). Malloc'd, or NULL. */
char *oa_page_csp(const char *form_action);
/* The dev form's CSP form-action (see page.c): ours (our origin, where
 * the form posts) and the origin of redirect_uri (by its scheme, e.g.
 * "com.example.app:", when it is not http(s)), space-separated, or just
 * ours when they are the same. Malloc'd (the caller frees), or NULL. */
char *oa_page_dev_form_action(const char *ours, const char *redirect_uri);
/* Writes status, the page headers (Content-Type text/html; charset=
 * utf-8, Cache-Control: no-store, Referrer-Policy: no-referrer, the
 * CSP above, X-Content-Type-Options: nosniff, X-Frame-Options: DENY)
 * and html as the body. 0 or -1. */
int oa_page_send(struct oa_cgi *c, int status, const char *html,
    const char *form_action);
/* An error page showing the OAuth error code and a fixed description
 * (both HTML-escaped; never pass request bytes). Malloc'd, or NULL. */
char *oa_page_error_html(int status, const char *error,
    const char *description);
/* oa_page_error_html() sent with oa_page_send(). 0 or -1. */
int oa_page_error(struct oa_cgi *c, int status, const char *error,
    const char *description);
/* Reads the form body of a POST (Content-Type OA_FORM_TYPE, at most
 * OA_PARAMS_MAX_INPUT bytes) into *in and *len (c's buffer, freed with
 * c). 0: read, the caller goes on. Otherwise the request is answered
 * with an error page (415, 413 or 400): 1, or -1 when that failed. */
int oa_page_read_form(struct oa_cgi *c, const char **in, size_t *len);
/* The provider chooser: one link per provider of conf, to
 * "{issuer}/oauth/{provider}?{query}" (query: oa_authz_query()), labelled
 * with its escaped display_name. Malloc'd, or NULL. */
char *oa_page_chooser_html(const struct oa_conf *conf, const char *query);
/* The type dev sign-in form (SPEC §6): email (prefilled with login_hint,
 * nullable) and name, and the hidden state, posted to action (the
 * provider's callback URL). display_name labels it. Malloc'd, or NULL. */
char *oa_page_dev_html(const char *action, const char *display_name,
    const char *state, const char *login_hint);

/* ------------------------------------------------------------------ */
/* upstream_ep.c: the upstream authorization endpoint (section owned   */
/* by upstream_ep.c).                                                  */

/*
 * Where a provider's authorization endpoint comes from, first match:
 *  1. authorization_endpoint in its [provider] section (conf.c also
 *     sets GitHub's there);
 *  2. the built-in endpoint of the google, microsoft ({tenant}), gitlab
 *     and apple presets;
 *  3. the cached discovery document {data_dir}/upstream/{provider}
 *     .discovery.json (the upstream's document as fetched; written by
 *     callback.fcgi), whose issuer must equal the provider's issuer and
 *     whose authorization_endpoint must be https (or loopback).
 * Login never makes an HTTP request (it links neither libcurl nor
 * Berkeley DB). On a cache miss it sends the browser on a round trip:
 * to oa_upstream_discover_url() (callback.fcgi fetches the discovery
 * document, caches it, and redirects back to
 * "{issuer}/oauth/{provider}?{query}&discovered=1"); a request that
 * carries discovered=1 and still finds no usable document gets a 502
 * page, so the browser can never loop.
 */
#define OA_UPSTREAM_DIR "upstream"        /* under data_dir */
#define OA_DISCOVERY_MAX (512 * 1024)     /* bytes of a cached document */

enum oa_upstream_ep {
	OA_UPSTREAM_EP_OK = 0,
	OA_UPSTREAM_EP_MISSING,  /* no usable cached discovery document */
	OA_UPSTREAM_EP_ERROR,    /* out of memory, bad configuration */
};
/* Resolves prov's authorization endpoint as above; on OA_UPSTREAM_EP_OK
 * writes the malloc'd URL into *out. A cached document that is unreadable
 * or fails the checks counts as missing (logged at warn). */
enum oa_upstream_ep oa_upstream_authorization_endpoint(
    const struct oa_conf *conf, const struct oa_provider *prov, char **out);
/* "{data_dir}/upstream/{provider}.discovery.json", malloc'd, or NULL. */
char *oa_upstream_discovery_path(const struct oa_conf *conf,
    const char *provider);
/* Checks a discovery document (len bytes of untrusted JSON, OIDC
 * Discovery §4.3: an object whose issuer equals prov->issuer byte for
 * byte, whose authorization_endpoint is an https, or loopback http, URL
 * without a fragment). Writes the malloc'd authorization_endpoint into
 * *endpoint (may be NULL). 0 or -1 (logged at warn). */
int oa_upstream_discovery_check(const struct oa_provider *prov,
    const char *json, size_t len, char **endpoint);
/* "{issuer}/oauth/{provider}/callback": the redirect_uri registered
 * with the upstream (one per provider: RFC 9700 §4.4 mix-up defence).
 * Malloc'd, or NULL. */
char *oa_upstream_callback_url(const struct oa_conf *conf,
    const char *provider);
/* "{issuer}/oauth/{provider}/callback?discover=1&{query}": the discovery
 * round trip described above. Malloc'd, or NULL. */
char *oa_upstream_discover_url(const struct oa_conf *conf,
    const char *provider, const char *query);
/* 1 when prov honours prompt=none (OIDC upstreams but Apple), else 0:
 * prompt=none towards any other one must be answered login_required. */
int oa_upstream_prompt_none_ok(const struct oa_provider *prov);
/*
 * The upstream authorization request for login (from
 * oa_authz_login_new): endpoint + response_type=code, client_id,
 * redirect_uri (oa_upstream_callback_url), scope, state, nonce (when
 * login has one), code_challenge = S256(login->verifier) with
 * code_challenge_method=S256, prompt and login_hint as the provider
 * supports them (nullable), response_mode=form_post for apple.
 * Malloc'd, or NULL.
 */
char *oa_upstream_authorize_url(const struct oa_conf *conf,
    const struct oa_provider *prov, const char *endpoint,
    const struct oa_login *login, const char *prompt,
    const char *login_hint);

/* ------------------------------------------------------------------ */
/* upcache.c: the file cache of upstream documents (section owned by   */
/* upcache.c).                                                         */

/*
 * {data_dir}/upstream/{provider}.discovery.json (the path of
 * oa_upstream_discovery_path(), which login.fcgi reads) and
 * {provider}.jwks.json: the upstream's documents as fetched, written
 * atomically (0600, the directory 0700) by callback.fcgi only. Freshness
 * is the file's age (now - mtime), so every process, CGI or FastCGI,
 * shares one cache and one refetch schedule.
 */
#define OA_UPCACHE_DISCOVERY_TTL 86400  /* seconds a discovery doc is fresh */
#define OA_UPCACHE_JWKS_TTL 3600        /* seconds a JWKS is fresh */
#define OA_UPCACHE_REFETCH_MIN 60       /* an unknown kid refetches the JWKS
                                           only when it is at least this
                                           old (rate limit) */

enum oa_upcache_kind {
	OA_UPCACHE_DISCOVERY = 0,
	OA_UPCACHE_JWKS,
};
/* The cache file of provider's document, malloc'd, or NULL (bad name). */
char *oa_upcache_path(const struct oa_conf *conf, const char *provider,
    enum oa_upcache_kind kind);
/* Reads the cached document (at most OA_DISCOVERY_MAX bytes, a regular
 * file). Writes the malloc'd, NUL-terminated body, its length and its
 * age in seconds at now (0 when the mtime is in the future). 0, or -1
 * when missing (silently) or unreadable (logged at warn). */
int oa_upcache_read(const struct oa_conf *conf, const char *provider,
    enum oa_upcache_kind kind, time_t now, char **body, size_t *len,
    long *age);
/* Writes len bytes of body as the cached document, creating the
 * directory (0700) when missing. 0 or -1 (logged). */
int oa_upcache_write(const struct oa_conf *conf, const char *provider,
    enum oa_upcache_kind kind, const char *body, size_t len);
/* 1 when a document of kind aged age seconds is still fresh, else 0. */
int oa_upcache_fresh(enum oa_upcache_kind kind, long age);

/* ------------------------------------------------------------------ */
/* upstream.c: talking to upstream providers at the callback (section  */
/* owned by upstream.c).                                               */

/* What an upstream call came to; oa_upstream_error() maps it to the
 * OAuth error sent to the client (RFC 6749 §4.1.2.1). */
enum oa_upstream_result {
	OA_UPSTREAM_OK = 0,
	OA_UPSTREAM_UNAVAILABLE, /* timeout, connection or TLS failure, 5xx,
	                            429: temporarily_unavailable */
	OA_UPSTREAM_BAD,         /* a malformed or refused response, an ID
	                            token that fails verification (signature,
	                            iss, aud, exp, nonce): server_error */
	OA_UPSTREAM_DENIED,      /* the user or the upstream said no:
	                            access_denied */
	OA_UPSTREAM_CONFIG,      /* our side: missing secret or key file,
	                            insecure endpoint: server_error */
};
/* "temporarily_unavailable", "server_error" or "access_denied". */
const char *oa_upstream_error(enum oa_upstream_result r);
/* A fixed description for the client's error_description (NQSCHAR). */
const char *oa_upstream_result_str(enum oa_upstream_result r);
/* The OAuth error to send the client for an upstream's error= value
 * (untrusted; NULL counts as unknown): access_denied (also Apple's
 * user_cancelled_authorize), temporarily_unavailable, and the OIDC
 * prompt=none answers (login_required, consent_required,
 * interaction_required, account_selection_required) pass on; anything
 * else is server_error. A static string. */
const char *oa_upstream_error_map(const char *upstream_error);

/* A provider's endpoints, as configured and discovered. */
struct oa_upstream_meta {
	char *issuer;            /* the iss of its ID tokens (oidc), or NULL */
	int iss_tenant;          /* issuer holds "{tenantid}" (Microsoft's
	                            multi-tenant endpoints) */
	char *token_endpoint;
	char *userinfo_endpoint; /* or NULL */
	char *jwks_uri;          /* oidc; or NULL */
	int auth_basic;          /* token endpoint client authentication:
	                            1 client_secret_basic, 0 _post */
};
void oa_upstream_meta_free(struct oa_upstream_meta *m);
/*
 * Checks a discovery document (len bytes of untrusted JSON; OIDC
 * Discovery §4.3) for prov: its issuer equals prov->issuer byte for
 * byte - or, for the microsoft preset with a multi-tenant tenant
 * (common, organizations, consumers), is
 * "https://login.microsoftonline.com/{tenant}/v2.0" with any tenant
 * segment - and its token_endpoint and jwks_uri (userinfo_endpoint when
 * present) are https, or http to a loopback host. Endpoints set in prov
 * override the document's. auth_basic unless the document lists only
 * client_secret_post (OIDC Discovery §3: the default is _basic).
 * Writes *out; 0 or -1 (logged at warn).
 */
int oa_upstream_discovery_parse(const struct oa_provider *prov,
    const char *json, size_t len, struct oa_upstream_meta **out);
/*
 * prov's discovery document: the cached one while fresh (and when
 * force is 0), else fetched from "{issuer}/.well-known/openid-
 * configuration", checked and cached; a stale cached copy is used when
 * the fetch fails. Writes *out (may be NULL: only refresh the cache).
 */
enum oa_upstream_result oa_upstream_discover(const struct oa_conf *conf,
    const struct oa_provider *prov, time_t now, int force,
    struct oa_upstream_meta **out);
/* The endpoints of any provider type: discovery for oidc providers
 * with an issuer, the configuration otherwise. Writes *out. */
enum oa_upstream_result oa_upstream_meta_get(const struct oa_conf *conf,
    const struct oa_provider *prov, time_t now,
    struct oa_upstream_meta **out);

/* Who signed in upstream. Strings are malloc'd or NULL. Fields that do
 * not pass the checks below are dropped, except subject: without a
 * usable subject there is no user. subject: 1..255 printable ASCII
 * bytes; email: <= 254 printable ASCII bytes with one '@' inside;
 * name: UTF-8 text without controls, <= 256 bytes; picture: an http(s)
 * URL of RFC 3986 characters, <= 2048 bytes. */
struct oa_upstream_user {
	char *subject;
	char *email;
	int email_verified;   /* 1 only when the upstream says so */
	char *name;
	char *picture;
};
void oa_upstream_user_free(struct oa_upstream_user *u);
/* The user from verified ID token claims (OIDC Core §5.1: sub, email,
 * email_verified - true or "true" -, name, picture). NULL without sub. */
struct oa_upstream_user *oa_upstream_user_from_claims(const cJSON *claims);
/*
 * Verifies an upstream ID token (OIDC Core §3.1.3.7, SECURITY 14):
 * signature with keys (the algorithm from the key), iss = meta->issuer
 * (with meta->iss_tenant), aud = prov->client_id alone, exp with 60 s
 * of leeway, iat not in the future, nonce = the nonce we sent. A NULL
 * issuer, client_id or nonce is refused (OA_JWT_BAD_ISS / BAD_AUD /
 * BAD_NONCE), never skipped. On OA_JWT_OK writes *out (OA_JWT_MALFORMED
 * when the claims hold no usable sub).
 */
enum oa_jwt_result oa_upstream_id_token_verify(
    const struct oa_provider *prov, const struct oa_upstream_meta *meta,
    const struct oa_keyset *keys, const char *id_token, const char *nonce,
    time_t now, struct oa_upstream_user **out);
/* GitHub: the user from GET /user (untrusted JSON: id -> subject, name
 * or else login, avatar_url) and GET /user/emails (nullable: the primary
 * email, verified or not as it says; absent: /user's public email,
 * unverified). 0 or -1. */
int oa_upstream_github_parse(const char *user, size_t ulen,
    const char *emails, size_t elen, struct oa_upstream_user **out);
/* oauth2: the user from a userinfo document (untrusted JSON object)
 * through prov's field map (subject_field required; email_field,
 * name_field, picture_field default to email, name, picture; a dotted
 * name "a.b" reaches into objects; numbers become decimal strings);
 * email_verified from "email_verified" when the email is mapped from
 * "email". 0 or -1. */
int oa_upstream_userinfo_parse(const struct oa_provider *prov,
    const char *json, size_t len, struct oa_upstream_user **out);
/* Apple's first-sign-in "user" form field (untrusted JSON:
 * {"name":{"firstName","lastName"},"email"}): writes the malloc'd
 * "First Last" into *name. 0, or -1 when there is no usable name. */
int oa_upstream_apple_name(const char *json, size_t len, char **name);
/* The type dev user: subject = the email in lower case, email
 * unverified, name (nullable). 0 or -1 for an unusable email. */
int oa_upstream_dev_user(const char *email, const char *name,
    struct oa_upstream_user **out);
/* Apple's client_secret (Sign in with Apple, "Creating a client
 * secret"): an ES256 JWT from prov->private_key_file with header kid =
 * key_id, iss = team_id, sub = client_id, aud = https://appleid.apple.com,
 * iat = now, exp = now + OA_APPLE_SECRET_TTL. Malloc'd (oa_secret_free),
 * or NULL (logged). */
#define OA_APPLE_SECRET_TTL 600
char *oa_upstream_apple_secret(const struct oa_provider *prov, time_t now);
/*
 * The whole upstream half of a callback for a provider of type oidc,
 * github or oauth2: exchanges code at the token endpoint
 * (grant_type=authorization_code, redirect_uri =
 * oa_upstream_callback_url, code_verifier = login->verifier; client
 * authentication: client_secret_basic for oidc upstreams that support
 * it, client_secret_post otherwise and for github, oauth2 and Apple's
 * minted secret), then identifies the user: oidc verifies the ID token
 * against the upstream JWKS (cached; refetched once on an unknown kid,
 * at most every OA_UPCACHE_REFETCH_MIN seconds) with login->nonce;
 * github reads /user and /user/emails; oauth2 reads userinfo.
 * apple_user (nullable) is Apple's first-sign-in "user" field, for the
 * name. Writes *out on OA_UPSTREAM_OK.
 */
enum oa_upstream_result oa_upstream_identify(const struct oa_conf *conf,
    const struct oa_provider *prov, const char *code,
    const struct oa_login *login, const char *apple_user, time_t now,
    struct oa_upstream_user **out);

/* ------------------------------------------------------------------ */
/* signin.c: the callback endpoint (SPEC §2.2; section owned by        */
/* signin.c).                                                          */

/* What callback.fcgi keeps between requests. conf and ring belong to
 * the caller; db is opened by oa_signin_handle on first need and kept
 * (the caller closes it with oa_db_close). */
struct oa_signin {
	const struct oa_conf *conf;
	const struct oa_keyring *ring;  /* cookie key; signer for
	                                   response_type=token */
	struct oa_db *db;
};
/*
 * Answers one callback request (GET or POST .../{provider}[/callback]):
 * the discovery round trip (discover=1, see upstream_ep.c), or the
 * return from the upstream: the in-flight login found by state in the
 * login cookie (single use in the store too), the provider checked
 * against it (mix-up), the upstream's answer turned into a user, and
 * the authorization response sent to the client (code, or tokens in the
 * fragment). Problems before the client's redirect URI is known get an
 * error page; after, an error redirect; a store failure a 503 page.
 * Returns 0 when a response was written, -1 for a 500.
 */
int oa_signin_handle(struct oa_cgi *c, struct oa_signin *s);

#endif /* OWNAUTH_H */
