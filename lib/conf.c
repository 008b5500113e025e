/*
 * conf.c - ownauth.conf (SPEC §6): a strict INI parser and validator.
 *
 * Grammar, line by line:
 *  - a line is at most 4096 bytes (the newline not counted); a NUL byte or
 *    any control byte other than TAB is refused (a CR at the very end of a
 *    line is trailing whitespace, so CRLF files work);
 *  - '#' starts a comment at the start of a line or after a space or TAB;
 *    elsewhere it is part of the value ("abc#def" keeps it, "abc #def" is
 *    "abc"): a secret containing " #" belongs in client_secret_file;
 *  - leading and trailing whitespace is trimmed; blank lines are skipped;
 *  - "[client NAME]" and "[provider NAME]" open a section, NAME being 1 to
 *    64 of [A-Za-z0-9_-]; a section appears once per kind;
 *  - "key = value": key is [a-z0-9_]+, value is everything after the first
 *    '=' (trimmed), taken literally (no quotes, no escapes) and never
 *    empty; a key appears once per section; lists are separated by spaces
 *    or TABs. Keys before the first section are top-level keys.
 *
 * Errors are one sentence: "FILE:LINE: key 'KEY': problem" for a value,
 * "FILE:LINE: problem" for syntax, "FILE: key 'KEY': required" for a
 * missing top-level key. Values are quoted in messages, except secrets,
 * which never are.
 *
 * Ranges of the integer keys (decimal digits only, no sign, no leading
 * zero), in seconds:
 *   access_token_ttl      1 .. 86400       access tokens are short-lived
 *                                          (a day at most: they cannot be
 *                                          revoked)
 *   session_ttl           1 .. 315360000   up to 10 years
 *   refresh_idle_ttl      1 .. 315360000   up to 10 years
 *   refresh_reuse_window  0 .. 300         0 turns the grace window off
 *   jwks_max_age          0 .. 86400       a day: key rollover waits for it
 *   key_activation_delay  0 .. 31536000    a year; default 2 * jwks_max_age
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ownauth.h"

/*
 * Secrets (client secrets, and every line and value, which may hold
 * one) are wiped with explicit_bzero(), which the compiler may not drop
 * either (glibc 2.25, the BSDs): the guarantee of OPENSSL_cleanse, and
 * a plain vectorised memset, without tying every program that reads the
 * config to libcrypto (jwks.fcgi links none; every config line wipes a
 * 4 KB buffer, which OPENSSL_cleanse does at a fraction of the speed).
 */

#ifndef OA_CONF_PATH
#define OA_CONF_PATH "/etc/ownauth/ownauth.conf"
#endif

#define LINE_MAX_LEN 4096
#define NAME_MAX_LEN 64
#define MAX_SECTIONS 1000
#define MAX_LIST 100
#define CONF_MAX_BYTES (1024 * 1024)
#define SECRET_FILE_MAX (64 * 1024)
#define TEN_YEARS 315360000L

enum sect_kind {
	SECT_TOP = 0,
	SECT_CLIENT,
	SECT_PROVIDER,
};

static const char *const kind_names[] = { "", "client", "provider" };

static const char *const top_keys[] = {
	"issuer", "data_dir", "keys_dir", "access_token_ttl", "session_ttl",
	"refresh_idle_ttl", "refresh_reuse_window", "jwks_max_age",
	"key_activation_delay", "publish_dir", "link_by_verified_email",
	"db_sync", "log_level", NULL,
};

static const char *const client_keys[] = {
	"redirect_uris", "allowed_origins", "audience", "response_types",
	"refresh_token_delivery", "post_logout_redirect_uris", NULL,
};

static const char *const provider_keys[] = {
	"type", "issuer", "client_id", "client_secret", "client_secret_file",
	"scope", "authorization_endpoint", "token_endpoint",
	"userinfo_endpoint", "jwks_uri", "emails_endpoint", "subject_field",
	"email_field", "name_field", "picture_field", "team_id", "key_id",
	"private_key_file", "tenant", "display_name", NULL,
};

static const char *const *const kind_keys[] = {
	top_keys, client_keys, provider_keys,
};

/* Provider presets: a [provider NAME] whose NAME is one of these. */
struct preset {
	const char *name;
	const char *display;
	enum oa_provider_type type;
	const char *issuer;        /* NULL: none, or built (microsoft) */
	const char *scope;
};

static const struct preset presets[] = {
	{ "google", "Google", OA_PROV_OIDC, "https://accounts.google.com",
	    "openid email profile" },
	{ "github", "GitHub", OA_PROV_GITHUB, NULL, "read:user user:email" },
	{ "microsoft", "Microsoft", OA_PROV_OIDC, NULL,
	    "openid email profile" },
	{ "gitlab", "GitLab", OA_PROV_OIDC, "https://gitlab.com",
	    "openid email profile" },
	{ "apple", "Apple", OA_PROV_OIDC, "https://appleid.apple.com",
	    "name email" },
};

/* GitHub's endpoints: the github preset and the defaults of type github. */
#define GITHUB_AUTHORIZE "https://github.com/login/oauth/authorize"
#define GITHUB_TOKEN "https://github.com/login/oauth/access_token"
#define GITHUB_USER "https://api.github.com/user"
#define GITHUB_EMAILS "https://api.github.com/user/emails"
#define MICROSOFT_ISSUER_FMT "https://login.microsoftonline.com/%s/v2.0"
#define OIDC_SCOPE "openid email profile"

struct kv {
	char *key;
	char *val;
	int line;
};

struct sect {
	enum sect_kind kind;
	char *name;
	int line;
	struct kv kv[32];  /* every key at most once: fewer than 32 keys */
	size_t n;
};

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	int check_files;
	struct sect *s;    /* s[0] is the top level */
	size_t ns, cap;
	struct oa_conf *conf;
	int issuer_loopback;
};

/* ---- messages ---------------------------------------------------- */

/*
 * Writes "FILE:LINE: key 'KEY': message" into the error buffer (LINE
 * omitted when 0, "key 'KEY': " when key is NULL). Returns -1.
 */
static int __attribute__((format(printf, 4, 5)))
perr(struct parser *p, int line, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t off;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n < 0)
		n = 0;
	off = (size_t)n < p->errlen ? (size_t)n : p->errlen - 1;
	if (key != NULL) {
		n = snprintf(p->err + off, p->errlen - off, "key '%s': ", key);
		if (n < 0)
			n = 0;
		off += (size_t)n;
		if (off >= p->errlen)
			off = p->errlen - 1;
	}
	va_start(ap, fmt);
	vsnprintf(p->err + off, p->errlen - off, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- small helpers ----------------------------------------------- */

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* 1 when s is 1..64 of [A-Za-z0-9_-]: section names, tenants. */
static int
valid_name(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isascii(c) && (isalnum(c) || c == '_' || c == '-')))
			return 0;
	}
	return i >= 1 && i <= max;
}

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */
static int
valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned int cp;
	int n, i;

	while (*u != '\0') {
		if (*u < 0x80) {
			u++;
			continue;
		}
		if ((*u & 0xe0) == 0xc0) {
			n = 1;
			cp = *u & 0x1f;
		} else if ((*u & 0xf0) == 0xe0) {
			n = 2;
			cp = *u & 0x0f;
		} else if ((*u & 0xf8) == 0xf0) {
			n = 3;
			cp = *u & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (u[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		u += n + 1;
	}
	return 1;
}

/* 1 when s has a space, a TAB, or a byte outside printable ASCII. */
static int
not_token(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f)
			return 1;
	}
	return 0;
}

static void
strlist_free(struct oa_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Appends a copy of s[0..len). 0 or -1. */
static int
strlist_add(struct oa_strlist *l, const char *s, size_t len)
{
	char **nv, *c;

	if ((c = strndup(s, len)) == NULL)
		return -1;
	nv = reallocarray(l->v, l->n + 1, sizeof(*nv));
	if (nv == NULL) {
		free(c);
		return -1;
	}
	l->v = nv;
	l->v[l->n++] = c;
	return 0;
}

static int
strlist_has(const struct oa_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static struct kv *
find_kv(struct sect *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return &s->kv[i];
	return NULL;
}

static int
oom(struct parser *p)
{
	return perr(p, 0, NULL, "out of memory");
}

/* Sets *dst to a copy of src, freeing (wiping) what was there. */
static int
set_str(struct parser *p, char **dst, const char *src)
{
	char *c = strdup(src);

	if (c == NULL)
		return oom(p);
	free(*dst);
	*dst = c;
	return 0;
}

/* ---- value checks ------------------------------------------------ */

/* A decimal integer in [min, max]: digits only, no leading zero. */
static int
get_long(struct parser *p, const struct kv *kv, long min, long max,
    long *out)
{
	const char *s = kv->val;
	long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		goto bad;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			goto bad;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return perr(p, kv->line, kv->key,
		    "%ld is out of range (%ld to %ld)", v, min, max);
	*out = v;
	return 0;
bad:
	return perr(p, kv->line, kv->key,
	    "'%.64s' is not a decimal integer (%ld to %ld)", s, min, max);
}

static int
get_bool(struct parser *p, const struct kv *kv, int *out)
{
	if (strcmp(kv->val, "yes") == 0)
		*out = 1;
	else if (strcmp(kv->val, "no") == 0)
		*out = 0;
	else
		return perr(p, kv->line, kv->key,
		    "'%.64s' must be yes or no", kv->val);
	return 0;
}

/* An absolute path; trailing slashes are dropped ("/" stays "/"). */
static int
get_path(struct parser *p, const struct kv *kv, char **dst)
{
	char *c;
	size_t n;

	if (kv->val[0] != '/')
		return perr(p, kv->line, kv->key,
		    "'%.200s' must be an absolute path", kv->val);
	if (strlen(kv->val) >= 4096)
		return perr(p, kv->line, kv->key, "path too long");
	if ((c = strdup(kv->val)) == NULL)
		return oom(p);
	n = strlen(c);
	while (n > 1 && c[n - 1] == '/')
		c[--n] = '\0';
	free(*dst);
	*dst = c;
	return 0;
}

/* One word of printable ASCII, at most max bytes. */
static int
get_token(struct parser *p, const struct kv *kv, size_t max, char **dst)
{
	if (not_token(kv->val))
		return perr(p, kv->line, kv->key,
		    "must be one word of printable ASCII, without spaces");
	if (strlen(kv->val) > max)
		return perr(p, kv->line, kv->key,
		    "longer than %zu bytes", max);
	return set_str(p, dst, kv->val);
}

/*
 * An upstream URL: https, or http on a loopback host (SPEC §6, SECURITY
 * 25), split by oa_url_split's strict rules. no_query also refuses '?'.
 */
static int
get_endpoint(struct parser *p, const struct kv *kv, int no_query,
    char **dst)
{
	if (strchr(kv->val, '#') != NULL)
		return perr(p, kv->line, kv->key,
		    "'%.200s' must not have a fragment", kv->val);
	if (oa_url_split(kv->val, NULL, NULL, NULL, NULL) != 0)
		return perr(p, kv->line, kv->key,
		    "'%.200s' is not a valid absolute http(s) URL (no "
		    "userinfo, spaces, bad hosts or ports)", kv->val);
	if (!oa_url_is_secure_or_loopback(kv->val))
		return perr(p, kv->line, kv->key,
		    "'%.200s' must be https (http only on a loopback host: "
		    "localhost, 127.0.0.1, [::1])", kv->val);
	if (no_query && strchr(kv->val, '?') != NULL)
		return perr(p, kv->line, kv->key,
		    "'%.200s' must not have a query", kv->val);
	return set_str(p, dst, kv->val);
}

/*
 * Checks one redirect URI (RFC 6749 §3.1.2, RFC 8252 §7). Returns NULL
 * when acceptable, else the problem. Accepted: https URLs, http URLs on
 * loopback hosts (native apps, development), and private-use schemes
 * that are reverse domain names ("com.example.app:/cb", RFC 8252 §7.1,
 * which also keeps out javascript:, data: and file:). Never a fragment.
 */
static const char *
redirect_problem(const char *u)
{
	size_t i, slen;
	const unsigned char *b;

	if (strchr(u, '#') != NULL)
		return "must not have a fragment (RFC 6749 §3.1.2)";
	for (b = (const unsigned char *)u; *b != '\0'; b++)
		if (*b <= 0x20 || *b >= 0x7f)
			return "must be printable ASCII without spaces";
	slen = strcspn(u, ":");
	if (u[slen] != ':' || slen == 0 || !isalpha((unsigned char)u[0]))
		return "must be an absolute URL";
	for (i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)u[i];
		if (!(isalnum(c) || c == '+' || c == '-' || c == '.'))
			return "must be an absolute URL";
	}
	if ((slen == 4 && strncasecmp(u, "http", 4) == 0) ||
	    (slen == 5 && strncasecmp(u, "https", 5) == 0)) {
		if (oa_url_split(u, NULL, NULL, NULL, NULL) != 0)
			return "is not a valid http(s) URL (lower-case scheme; "
			       "no userinfo, bad hosts or ports)";
		if (!oa_url_is_secure_or_loopback(u))
			return "must be https (http only on a loopback host: "
			       "localhost, 127.0.0.1, [::1])";
		return NULL;
	}
	if (memchr(u, '.', slen) == NULL)
		return "a custom scheme must be a reverse domain name such as "
		       "com.example.app (RFC 8252 §7.1)";
	if (u[slen + 1] == '\0')
		return "must have something after the scheme";
	if (strchr(u, '\\') != NULL)
		return "must not contain a backslash";
	return NULL;
}

/* An origin: scheme://host[:port] with no path (RFC 6454). */
static const char *
origin_problem(const char *u)
{
	char *path = NULL;
	int bad;

	if (oa_url_split(u, NULL, NULL, NULL, &path) != 0)
		return "must be scheme://host[:port], e.g. "
		       "https://app.example.com";
	bad = path[0] != '\0';
	free(path);
	if (bad)
		return "must be scheme://host[:port] with no path, not even "
		       "a '/'";
	if (!oa_url_is_secure_or_loopback(u))
		return "must be https (http only on a loopback host)";
	return NULL;
}

/*
 * A space-separated list; each item is checked by problem() (may be NULL)
 * and duplicates are refused. Items are appended to l.
 */
static int
get_list(struct parser *p, const struct kv *kv,
    const char *(*problem)(const char *), struct oa_strlist *l)
{
	const char *s = kv->val, *e, *why;
	char *item;
	size_t n;

	while (*s != '\0') {
		while (is_ws(*s))
			s++;
		if (*s == '\0')
			break;
		e = s;
		while (*e != '\0' && !is_ws(*e))
			e++;
		n = (size_t)(e - s);
		if (l->n >= MAX_LIST)
			return perr(p, kv->line, kv->key,
			    "more than %d entries", MAX_LIST);
		if ((item = strndup(s, n)) == NULL)
			return oom(p);
		why = problem != NULL ? problem(item) : NULL;
		if (why != NULL) {
			perr(p, kv->line, kv->key, "'%.200s' %s", item, why);
			free(item);
			return -1;
		}
		if (strlist_has(l, item)) {
			perr(p, kv->line, kv->key, "'%.200s' is listed twice",
			    item);
			free(item);
			return -1;
		}
		free(item);
		if (strlist_add(l, s, n) != 0)
			return oom(p);
		s = e;
	}
	if (l->n == 0)
		return perr(p, kv->line, kv->key, "empty list");
	return 0;
}

/* ---- the top level ----------------------------------------------- */

static int
check_issuer(struct parser *p, const struct kv *kv)
{
	char *host = NULL, *path = NULL;
	const char *v = kv->val;
	int rc = -1;

	if (strchr(v, '#') != NULL) {
		perr(p, kv->line, kv->key, "'%.200s' must not have a fragment",
		    v);
		goto out;
	}
	if (oa_url_split(v, NULL, &host, NULL, &path) != 0) {
		perr(p, kv->line, kv->key,
		    "'%.200s' is not a valid absolute URL such as "
		    "https://auth.example.com (lower-case scheme; no userinfo, "
		    "spaces, bad hosts or ports)", v);
		goto out;
	}
	if (!oa_url_is_secure_or_loopback(v)) {
		perr(p, kv->line, kv->key,
		    "'%.200s' must be https (http only on a loopback host: "
		    "localhost, 127.0.0.1, [::1])", v);
		goto out;
	}
	if (strchr(path, '?') != NULL) {
		perr(p, kv->line, kv->key, "'%.200s' must not have a query",
		    v);
		goto out;
	}
	if (path[0] != '\0' && path[strlen(path) - 1] == '/') {
		perr(p, kv->line, kv->key,
		    "'%.200s' must not end with '/' (tokens carry it byte for "
		    "byte)", v);
		goto out;
	}
	if (set_str(p, &p->conf->issuer, v) != 0)
		goto out;
	p->issuer_loopback = oa_host_is_loopback(host);
	rc = 0;
out:
	free(host);
	free(path);
	return rc;
}

static int
build_top(struct parser *p)
{
	struct oa_conf *c = p->conf;
	struct sect *s = &p->s[0];
	const struct kv *kv;
	size_t i;
	int delay_set = 0;

	for (i = 0; i < s->n; i++) {
		kv = &s->kv[i];
		if (strcmp(kv->key, "issuer") == 0) {
			if (check_issuer(p, kv) != 0)
				return -1;
		} else if (strcmp(kv->key, "data_dir") == 0) {
			if (get_path(p, kv, &c->data_dir) != 0)
				return -1;
		} else if (strcmp(kv->key, "keys_dir") == 0) {
			if (get_path(p, kv, &c->keys_dir) != 0)
				return -1;
		} else if (strcmp(kv->key, "publish_dir") == 0) {
			if (get_path(p, kv, &c->publish_dir) != 0)
				return -1;
		} else if (strcmp(kv->key, "access_token_ttl") == 0) {
			if (get_long(p, kv, 1, 86400, &c->access_token_ttl))
				return -1;
		} else if (strcmp(kv->key, "session_ttl") == 0) {
			if (get_long(p, kv, 1, TEN_YEARS, &c->session_ttl))
				return -1;
		} else if (strcmp(kv->key, "refresh_idle_ttl") == 0) {
			if (get_long(p, kv, 1, TEN_YEARS,
			    &c->refresh_idle_ttl))
				return -1;
		} else if (strcmp(kv->key, "refresh_reuse_window") == 0) {
			if (get_long(p, kv, 0, 300, &c->refresh_reuse_window))
				return -1;
		} else if (strcmp(kv->key, "jwks_max_age") == 0) {
			if (get_long(p, kv, 0, 86400, &c->jwks_max_age))
				return -1;
		} else if (strcmp(kv->key, "key_activation_delay") == 0) {
			if (get_long(p, kv, 0, 31536000,
			    &c->key_activation_delay))
				return -1;
			delay_set = 1;
		} else if (strcmp(kv->key, "link_by_verified_email") == 0) {
			if (get_bool(p, kv, &c->link_by_verified_email))
				return -1;
		} else if (strcmp(kv->key, "db_sync") == 0) {
			if (get_bool(p, kv, &c->db_sync))
				return -1;
		} else if (strcmp(kv->key, "log_level") == 0) {
			if (oa_log_level_parse(kv->val, &c->log_level) != 0)
				return perr(p, kv->line, kv->key,
				    "'%.64s' must be error, warn, info or "
				    "debug", kv->val);
		}
	}
	if (c->issuer == NULL)
		return perr(p, 0, "issuer", "required (e.g. issuer = "
		    "https://auth.example.com)");
	if (c->data_dir == NULL)
		return perr(p, 0, "data_dir", "required (an absolute path)");
	if (c->keys_dir == NULL)
		return perr(p, 0, "keys_dir", "required (an absolute path)");
	if (!delay_set)
		c->key_activation_delay = 2 * c->jwks_max_age;
	return 0;
}

/* ---- clients ----------------------------------------------------- */

static int
build_client(struct parser *p, struct sect *s, struct oa_client *cl)
{
	const struct kv *kv;
	size_t i, j;
	int types_set = 0;

	if ((cl->name = strdup(s->name)) == NULL)
		return oom(p);
	for (i = 0; i < s->n; i++) {
		kv = &s->kv[i];
		if (strcmp(kv->key, "redirect_uris") == 0) {
			if (get_list(p, kv, redirect_problem,
			    &cl->redirect_uris) != 0)
				return -1;
		} else if (strcmp(kv->key, "post_logout_redirect_uris") == 0) {
			if (get_list(p, kv, redirect_problem,
			    &cl->post_logout_redirect_uris) != 0)
				return -1;
		} else if (strcmp(kv->key, "allowed_origins") == 0) {
			if (get_list(p, kv, origin_problem,
			    &cl->allowed_origins) != 0)
				return -1;
		} else if (strcmp(kv->key, "audience") == 0) {
			if (get_token(p, kv, 255, &cl->audience) != 0)
				return -1;
		} else if (strcmp(kv->key, "response_types") == 0) {
			struct oa_strlist l = { NULL, 0 };
			if (get_list(p, kv, NULL, &l) != 0) {
				strlist_free(&l);
				return -1;
			}
			for (j = 0; j < l.n; j++) {
				if (strcmp(l.v[j], "code") == 0)
					cl->allow_code = 1;
				else if (strcmp(l.v[j], "token") == 0)
					cl->allow_token = 1;
				else {
					perr(p, kv->line, kv->key,
					    "'%.64s' is not code or token",
					    l.v[j]);
					strlist_free(&l);
					return -1;
				}
			}
			strlist_free(&l);
			types_set = 1;
		} else if (strcmp(kv->key, "refresh_token_delivery") == 0) {
			if (strcmp(kv->val, "body") == 0)
				cl->refresh_delivery = OA_DELIVERY_BODY;
			else if (strcmp(kv->val, "cookie") == 0)
				cl->refresh_delivery = OA_DELIVERY_COOKIE;
			else
				return perr(p, kv->line, kv->key,
				    "'%.64s' must be body or cookie", kv->val);
		}
	}
	if (cl->redirect_uris.n == 0)
		return perr(p, s->line, "redirect_uris",
		    "required in [client %s] (at least one URI)", s->name);
	if (!types_set)
		cl->allow_code = 1;
	if (cl->audience == NULL && set_str(p, &cl->audience, s->name) != 0)
		return -1;
	return 0;
}

/* ---- providers --------------------------------------------------- */

static const struct preset *
find_preset(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

static const char *
type_name(enum oa_provider_type t)
{
	switch (t) {
	case OA_PROV_OIDC:
		return "oidc";
	case OA_PROV_GITHUB:
		return "github";
	case OA_PROV_OAUTH2:
		return "oauth2";
	case OA_PROV_DEV:
		return "dev";
	}
	return "?";
}

/* Refuses key in section s unless ok (the key applies to this kind). */
static int
only_for(struct parser *p, struct sect *s, const char *key, int ok,
    const char *what)
{
	struct kv *kv = find_kv(s, key);

	if (kv != NULL && !ok)
		return perr(p, kv->line, key, "only for %s", what);
	return 0;
}

/* Requires key in [provider NAME]; the message names the section line. */
static int
need(struct parser *p, struct sect *s, const char *key, const char *val,
    const char *why)
{
	if (val != NULL)
		return 0;
	return perr(p, s->line, key, "required in [provider %s] (%s)",
	    s->name, why);
}

/*
 * Reads client_secret_file: it must be private (SECURITY 28); one final
 * newline (LF or CRLF) is dropped; empty or NUL-containing is refused.
 */
static int
read_secret_file(struct parser *p, const struct kv *kv, char **dst)
{
	char msg[512], *buf = NULL;
	size_t len = 0;

	if (oa_file_check_private(kv->val, msg, sizeof(msg)) != 0)
		return perr(p, kv->line, kv->key, "%s", msg);
	if (oa_file_read(kv->val, SECRET_FILE_MAX, &buf, &len) != 0)
		return perr(p, kv->line, kv->key, "cannot read %.200s: %s",
		    kv->val, strerror(errno));
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	if (len == 0 || memchr(buf, '\0', len) != NULL) {
		explicit_bzero(buf, len);
		free(buf);
		return perr(p, kv->line, kv->key,
		    "%.200s is empty or holds a NUL byte", kv->val);
	}
	if (*dst != NULL) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = buf;
	return 0;
}

static int
build_provider(struct parser *p, struct sect *s, struct oa_provider *pr)
{
	const struct preset *ps = find_preset(s->name);
	const struct kv *kv, *type_kv = NULL, *sec_kv = NULL, *secf_kv = NULL;
	size_t i;
	int is_apple, is_ms;
	char *issuer = NULL;

	if ((pr->name = strdup(s->name)) == NULL)
		return oom(p);
	if (ps != NULL && set_str(p, &pr->preset, ps->name) != 0)
		return -1;
	pr->type = ps != NULL ? ps->type : 0;
	for (i = 0; i < s->n; i++) {
		kv = &s->kv[i];
		if (strcmp(kv->key, "type") == 0) {
			enum oa_provider_type t;
			type_kv = kv;
			if (strcmp(kv->val, "oidc") == 0)
				t = OA_PROV_OIDC;
			else if (strcmp(kv->val, "github") == 0)
				t = OA_PROV_GITHUB;
			else if (strcmp(kv->val, "oauth2") == 0)
				t = OA_PROV_OAUTH2;
			else if (strcmp(kv->val, "dev") == 0)
				t = OA_PROV_DEV;
			else
				return perr(p, kv->line, kv->key,
				    "'%.64s' must be oidc, github, oauth2 or "
				    "dev", kv->val);
			if (ps != NULL && t != ps->type)
				return perr(p, kv->line, kv->key,
				    "[provider %s] is a preset of type %s; "
				    "use another section name for a %s "
				    "provider", s->name, type_name(ps->type),
				    kv->val);
			pr->type = t;
		} else if (strcmp(kv->key, "issuer") == 0) {
			if (get_endpoint(p, kv, 1, &pr->issuer) != 0)
				return -1;
		} else if (strcmp(kv->key, "authorization_endpoint") == 0) {
			if (get_endpoint(p, kv, 0,
			    &pr->authorization_endpoint) != 0)
				return -1;
		} else if (strcmp(kv->key, "token_endpoint") == 0) {
			if (get_endpoint(p, kv, 0, &pr->token_endpoint) != 0)
				return -1;
		} else if (strcmp(kv->key, "userinfo_endpoint") == 0) {
			if (get_endpoint(p, kv, 0, &pr->userinfo_endpoint))
				return -1;
		} else if (strcmp(kv->key, "jwks_uri") == 0) {
			if (get_endpoint(p, kv, 0, &pr->jwks_uri) != 0)
				return -1;
		} else if (strcmp(kv->key, "emails_endpoint") == 0) {
			if (get_endpoint(p, kv, 0, &pr->emails_endpoint) != 0)
				return -1;
		} else if (strcmp(kv->key, "client_id") == 0) {
			if (get_token(p, kv, 512, &pr->client_id) != 0)
				return -1;
		} else if (strcmp(kv->key, "client_secret") == 0) {
			/* Never quoted in a message. */
			sec_kv = kv;
			if ((pr->client_secret = strdup(kv->val)) == NULL)
				return oom(p);
		} else if (strcmp(kv->key, "client_secret_file") == 0) {
			secf_kv = kv;
			if (get_path(p, kv, &pr->client_secret_file) != 0)
				return -1;
		} else if (strcmp(kv->key, "private_key_file") == 0) {
			if (get_path(p, kv, &pr->private_key_file) != 0)
				return -1;
		} else if (strcmp(kv->key, "scope") == 0) {
			struct oa_strlist l = { NULL, 0 };
			size_t j, tot = 0;
			char *sc;
			if (get_list(p, kv, NULL, &l) != 0) {
				strlist_free(&l);
				return -1;
			}
			for (j = 0; j < l.n; j++)
				tot += strlen(l.v[j]) + 1;
			if ((sc = malloc(tot + 1)) == NULL) {
				strlist_free(&l);
				return oom(p);
			}
			sc[0] = '\0';
			for (j = 0; j < l.n; j++) {
				if (j > 0)
					strcat(sc, " ");
				strcat(sc, l.v[j]);
			}
			strlist_free(&l);
			for (j = 0; sc[j] != '\0'; j++) {
				unsigned char c = (unsigned char)sc[j];
				if (c < 0x20 || c >= 0x7f || c == '"' ||
				    c == '\\') {
					free(sc);
					return perr(p, kv->line, kv->key,
					    "scope tokens are printable ASCII "
					    "without '\"' or '\\' (RFC 6749 "
					    "§3.3)");
				}
			}
			free(pr->scope);
			pr->scope = sc;
		} else if (strcmp(kv->key, "subject_field") == 0) {
			if (get_token(p, kv, 128, &pr->subject_field) != 0)
				return -1;
		} else if (strcmp(kv->key, "email_field") == 0) {
			if (get_token(p, kv, 128, &pr->email_field) != 0)
				return -1;
		} else if (strcmp(kv->key, "name_field") == 0) {
			if (get_token(p, kv, 128, &pr->name_field) != 0)
				return -1;
		} else if (strcmp(kv->key, "picture_field") == 0) {
			if (get_token(p, kv, 128, &pr->picture_field) != 0)
				return -1;
		} else if (strcmp(kv->key, "team_id") == 0) {
			if (get_token(p, kv, 64, &pr->team_id) != 0)
				return -1;
		} else if (strcmp(kv->key, "key_id") == 0) {
			if (get_token(p, kv, 64, &pr->key_id) != 0)
				return -1;
		} else if (strcmp(kv->key, "tenant") == 0) {
			size_t k;
			int ok = strlen(kv->val) <= 64;
			for (k = 0; kv->val[k] != '\0'; k++) {
				unsigned char c = (unsigned char)kv->val[k];
				if (!(isascii(c) && (isalnum(c) || c == '.' ||
				    c == '-' || c == '_')))
					ok = 0;
			}
			if (!ok)
				return perr(p, kv->line, kv->key,
				    "'%.64s' must be 1 to 64 of A-Z a-z 0-9 . "
				    "_ - (common, organizations, consumers, "
				    "a tenant id or domain)", kv->val);
			if (set_str(p, &pr->tenant, kv->val) != 0)
				return -1;
		} else if (strcmp(kv->key, "display_name") == 0) {
			if (strlen(kv->val) > 100 || !valid_utf8(kv->val))
				return perr(p, kv->line, kv->key,
				    "must be UTF-8 text of at most 100 bytes");
			if (set_str(p, &pr->display_name, kv->val) != 0)
				return -1;
		}
	}

	if (pr->type == 0)
		return perr(p, s->line, "type",
		    "required in [provider %s] (oidc, github, oauth2 or dev; "
		    "presets: google github microsoft gitlab apple)", s->name);
	is_apple = ps != NULL && strcmp(ps->name, "apple") == 0;
	is_ms = ps != NULL && strcmp(ps->name, "microsoft") == 0;

	/* Keys that only make sense for one kind of provider. */
	if (only_for(p, s, "tenant", is_ms, "the microsoft preset") != 0 ||
	    only_for(p, s, "team_id", is_apple, "the apple preset") != 0 ||
	    only_for(p, s, "key_id", is_apple, "the apple preset") != 0 ||
	    only_for(p, s, "private_key_file", is_apple,
	    "the apple preset") != 0 ||
	    only_for(p, s, "emails_endpoint", pr->type == OA_PROV_GITHUB,
	    "type github") != 0)
		return -1;
	for (i = 0; i < 4; i++) {
		static const char *const fields[] = { "subject_field",
			"email_field", "name_field", "picture_field" };
		if (only_for(p, s, fields[i], pr->type == OA_PROV_OAUTH2,
		    "type oauth2 (the userinfo field map)") != 0)
			return -1;
	}

	if (pr->type == OA_PROV_DEV) {
		/* SPEC §6: a sign-in form that trusts what is typed. */
		if (!p->issuer_loopback)
			return perr(p, type_kv != NULL ? type_kv->line : s->line,
			    "type", "dev is refused unless the issuer's host "
			    "is a loopback address (localhost, 127.0.0.1, "
			    "[::1]): it lets anyone sign in as anyone");
	} else if (pr->client_id == NULL)
		return need(p, s, "client_id", NULL, "the id registered with "
		    "the provider");

	if (sec_kv != NULL && secf_kv != NULL)
		return perr(p, (sec_kv->line > secf_kv->line ? sec_kv :
		    secf_kv)->line, (sec_kv->line > secf_kv->line ? sec_kv :
		    secf_kv)->key, "client_secret and client_secret_file "
		    "are exclusive");
	if (is_apple) {
		/* Apple's client secret is a JWT signed with the .p8 key. */
		if (sec_kv != NULL || secf_kv != NULL) {
			kv = sec_kv != NULL ? sec_kv : secf_kv;
			return perr(p, kv->line, kv->key, "not for apple: "
			    "set team_id, key_id and private_key_file");
		}
		if (need(p, s, "team_id", pr->team_id, "Apple team id") ||
		    need(p, s, "key_id", pr->key_id, "Apple key id") ||
		    need(p, s, "private_key_file", pr->private_key_file,
		    "the .p8 key from Apple"))
			return -1;
	}

	/* Defaults: presets first, then per type. */
	if (is_ms) {
		if (pr->tenant == NULL && set_str(p, &pr->tenant, "common"))
			return -1;
		if (pr->issuer == NULL) {
			if (asprintf(&issuer, MICROSOFT_ISSUER_FMT,
			    pr->tenant) < 0)
				return oom(p);
			pr->issuer = issuer;
		}
	}
	if (ps != NULL) {
		if (pr->issuer == NULL && ps->issuer != NULL &&
		    set_str(p, &pr->issuer, ps->issuer) != 0)
			return -1;
		if (pr->scope == NULL && set_str(p, &pr->scope, ps->scope))
			return -1;
		if (pr->display_name == NULL &&
		    set_str(p, &pr->display_name, ps->display) != 0)
			return -1;
	}
	if (pr->type == OA_PROV_GITHUB) {
		if ((pr->authorization_endpoint == NULL &&
		    set_str(p, &pr->authorization_endpoint,
		    GITHUB_AUTHORIZE)) ||
		    (pr->token_endpoint == NULL &&
		    set_str(p, &pr->token_endpoint, GITHUB_TOKEN)) ||
		    (pr->userinfo_endpoint == NULL &&
		    set_str(p, &pr->userinfo_endpoint, GITHUB_USER)) ||
		    (pr->emails_endpoint == NULL &&
		    set_str(p, &pr->emails_endpoint, GITHUB_EMAILS)) ||
		    (pr->scope == NULL &&
		    set_str(p, &pr->scope, "read:user user:email")))
			return -1;
	}
	if (pr->type == OA_PROV_OIDC && pr->scope == NULL &&
	    set_str(p, &pr->scope, OIDC_SCOPE) != 0)
		return -1;
	if (pr->display_name == NULL &&
	    set_str(p, &pr->display_name, s->name) != 0)
		return -1;

	/* What each type needs to work at all. */
	if (pr->type == OA_PROV_OIDC && pr->issuer == NULL &&
	    (pr->authorization_endpoint == NULL ||
	    pr->token_endpoint == NULL || pr->jwks_uri == NULL))
		return perr(p, s->line, "issuer", "required in [provider %s] "
		    "for type oidc (or all of authorization_endpoint, "
		    "token_endpoint and jwks_uri)", s->name);
	if (pr->type == OA_PROV_OAUTH2) {
		const char *why = "type oauth2 needs its endpoints and "
				  "subject_field";
		if (need(p, s, "authorization_endpoint",
		    pr->authorization_endpoint, why) ||
		    need(p, s, "token_endpoint", pr->token_endpoint, why) ||
		    need(p, s, "userinfo_endpoint", pr->userinfo_endpoint,
		    why) ||
		    need(p, s, "subject_field", pr->subject_field, why))
			return -1;
	}

	/* Files: private, and the secret read now (SECURITY 28). */
	if (p->check_files) {
		char msg[512];
		if (secf_kv != NULL &&
		    read_secret_file(p, secf_kv, &pr->client_secret) != 0)
			return -1;
		kv = find_kv(s, "private_key_file");
		if (kv != NULL &&
		    oa_file_check_private(kv->val, msg, sizeof(msg)) != 0)
			return perr(p, kv->line, kv->key, "%s", msg);
	}
	return 0;
}

/* ---- the line parser --------------------------------------------- */

static void
sect_clear(struct sect *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->kv[i].key);
		/* Values may be secrets (client_secret). */
		explicit_bzero(s->kv[i].val, strlen(s->kv[i].val));
		free(s->kv[i].val);
	}
	s->n = 0;
	free(s->name);
	s->name = NULL;
}

static int
add_sect(struct parser *p, enum sect_kind kind, const char *name, int line)
{
	struct sect *ns;
	size_t i;

	for (i = 1; i < p->ns; i++)
		if (p->s[i].kind == kind && strcmp(p->s[i].name, name) == 0)
			return perr(p, line, NULL,
			    "duplicate section [%s %s] (first at line %d)",
			    kind_names[kind], name, p->s[i].line);
	if (p->ns >= MAX_SECTIONS + 1)
		return perr(p, line, NULL, "more than %d sections",
		    MAX_SECTIONS);
	if (p->ns == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		ns = reallocarray(p->s, ncap, sizeof(*ns));
		if (ns == NULL)
			return oom(p);
		p->s = ns;
		p->cap = ncap;
	}
	memset(&p->s[p->ns], 0, sizeof(p->s[p->ns]));
	p->s[p->ns].kind = kind;
	p->s[p->ns].line = line;
	if (name != NULL && (p->s[p->ns].name = strdup(name)) == NULL)
		return oom(p);
	p->ns++;
	return 0;
}

/* "[kind name]" with the brackets already checked; inner is trimmed. */
static int
parse_header(struct parser *p, char *inner, int line)
{
	char *name;
	enum sect_kind kind;

	name = inner;
	while (*name != '\0' && !is_ws(*name))
		name++;
	if (*name != '\0') {
		*name++ = '\0';
		while (is_ws(*name))
			name++;
	}
	if (strcmp(inner, "client") == 0)
		kind = SECT_CLIENT;
	else if (strcmp(inner, "provider") == 0)
		kind = SECT_PROVIDER;
	else
		return perr(p, line, NULL, "unknown section [%.64s]: expected "
		    "[client NAME] or [provider NAME]", inner);
	if (*name == '\0')
		return perr(p, line, NULL, "section [%s] needs a name: "
		    "[%s NAME]", inner, inner);
	if (!valid_name(name, NAME_MAX_LEN))
		return perr(p, line, NULL, "section name '%.80s' must be 1 to "
		    "64 of A-Z a-z 0-9 _ -", name);
	return add_sect(p, kind, name, line);
}

static int
parse_kv(struct parser *p, char *l, int line)
{
	struct sect *s = &p->s[p->ns - 1];
	char *eq, *key, *val, *e;
	size_t i;

	if ((eq = strchr(l, '=')) == NULL)
		return perr(p, line, NULL, "expected 'key = value', a "
		    "[client NAME] or [provider NAME] header, or a comment");
	*eq = '\0';
	key = l;
	e = eq;
	while (e > key && is_ws(e[-1]))
		*--e = '\0';
	val = eq + 1;
	while (is_ws(*val))
		val++;
	if (*key == '\0')
		return perr(p, line, NULL, "missing key before '='");
	for (i = 0; key[i] != '\0'; i++) {
		unsigned char c = (unsigned char)key[i];
		if (!(islower(c) || isdigit(c) || c == '_') || i >= 64)
			return perr(p, line, NULL, "bad key name '%.64s' "
			    "(lower-case letters, digits and '_')", key);
	}
	if (!in_list(kind_keys[s->kind], key)) {
		if (s->kind == SECT_TOP)
			return perr(p, line, key, "unknown key");
		if (in_list(top_keys, key))
			return perr(p, line, key, "unknown key in [%s %s] "
			    "(top-level keys go before the first section)",
			    kind_names[s->kind], s->name);
		return perr(p, line, key, "unknown key in [%s %s]",
		    kind_names[s->kind], s->name);
	}
	if (*val == '\0')
		return perr(p, line, key, "empty value (comment the line "
		    "out to use the default)");
	for (i = 0; i < s->n; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return perr(p, line, key, "set twice in this section "
			    "(first at line %d)", s->kv[i].line);
	if (s->n >= sizeof(s->kv) / sizeof(s->kv[0]))
		return perr(p, line, key, "too many keys");
	s->kv[s->n].key = strdup(key);
	s->kv[s->n].val = strdup(val);
	s->kv[s->n].line = line;
	if (s->kv[s->n].key == NULL || s->kv[s->n].val == NULL) {
		free(s->kv[s->n].key);
		free(s->kv[s->n].val);
		return oom(p);
	}
	s->n++;
	return 0;
}

/* One physical line (no newline), len bytes. */
static int
parse_line(struct parser *p, const char *text, size_t len, int line)
{
	char l[LINE_MAX_LEN + 1];
	size_t i, n;
	int rc;

	if (len > LINE_MAX_LEN)
		return perr(p, line, NULL, "line longer than %d bytes",
		    LINE_MAX_LEN);
	if (memchr(text, '\0', len) != NULL)
		return perr(p, line, NULL, "NUL byte");
	n = len;
	while (n > 0 && (is_ws(text[n - 1]) || text[n - 1] == '\r'))
		n--;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(p, line, NULL,
			    "control character 0x%02x", c);
	}
	memcpy(l, text, n);
	l[n] = '\0';
	/* '#' at the start or after whitespace starts a comment. */
	for (i = 0; i < n; i++) {
		if (l[i] == '#' && (i == 0 || is_ws(l[i - 1]))) {
			l[i] = '\0';
			n = i;
			break;
		}
	}
	while (n > 0 && is_ws(l[n - 1]))
		l[--n] = '\0';
	i = 0;
	while (is_ws(l[i]))
		i++;
	if (l[i] == '\0')
		rc = 0;
	else if (l[i] == '[') {
		if (l[n - 1] != ']')
			rc = perr(p, line, NULL, "a section header ends "
			    "with ']'");
		else {
			char *inner = l + i + 1, *end = l + n - 1;
			*end = '\0';
			while (is_ws(*inner))
				inner++;
			while (end > inner && is_ws(end[-1]))
				*--end = '\0';
			rc = parse_header(p, inner, line);
		}
	} else
		rc = parse_kv(p, l + i, line);
	explicit_bzero(l, sizeof(l));
	return rc;
}

/* ---- entry points ------------------------------------------------ */

static void
client_clear(struct oa_client *c)
{
	free(c->name);
	strlist_free(&c->redirect_uris);
	strlist_free(&c->allowed_origins);
	free(c->audience);
	strlist_free(&c->post_logout_redirect_uris);
}

static void
provider_clear(struct oa_provider *pr)
{
	free(pr->name);
	free(pr->preset);
	free(pr->display_name);
	free(pr->issuer);
	free(pr->client_id);
	if (pr->client_secret != NULL) {
		explicit_bzero(pr->client_secret, strlen(pr->client_secret));
		free(pr->client_secret);
	}
	free(pr->client_secret_file);
	free(pr->scope);
	free(pr->authorization_endpoint);
	free(pr->token_endpoint);
	free(pr->userinfo_endpoint);
	free(pr->jwks_uri);
	free(pr->emails_endpoint);
	free(pr->subject_field);
	free(pr->email_field);
	free(pr->name_field);
	free(pr->picture_field);
	free(pr->team_id);
	free(pr->key_id);
	free(pr->private_key_file);
	free(pr->tenant);
}

/* Frees conf and everything it owns, wiping client secrets. */
void
oa_conf_free(struct oa_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->n_clients; i++)
		client_clear(&conf->clients[i]);
	free(conf->clients);
	for (i = 0; i < conf->n_providers; i++)
		provider_clear(&conf->providers[i]);
	free(conf->providers);
	free(conf->path);
	free(conf->issuer);
	free(conf->data_dir);
	free(conf->keys_dir);
	free(conf->publish_dir);
	free(conf);
}

/*
 * Parses len bytes of config text (which need not be NUL-terminated and
 * may hold any bytes). name is the file name used in messages (and kept
 * in conf->path). With check_files = 0 nothing touches the file system:
 * client_secret_file is recorded but not read (client_secret stays NULL),
 * private_key_file is not checked. On success writes a new conf (free
 * with oa_conf_free) to *out and returns 0; on failure writes one message
 * into err (may be NULL) and returns -1. Does not log.
 */
int
oa_conf_parse(const char *name, const char *text, size_t len,
    int check_files, struct oa_conf **out, char *err, size_t errlen)
{
	struct parser p;
	struct oa_conf *c = NULL;
	size_t pos = 0, i, nc = 0, np = 0;
	int line = 0, rc = -1;

	memset(&p, 0, sizeof(p));
	p.file = name != NULL ? name : "(config)";
	p.err = err;
	p.errlen = errlen;
	p.check_files = check_files;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL && len > 0)
		return perr(&p, 0, NULL, "no text");
	if (add_sect(&p, SECT_TOP, NULL, 0) != 0)
		goto out;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		line++;
		if (parse_line(&p, text + pos, ll, line) != 0)
			goto out;
		pos += ll + (nl != NULL ? 1 : 0);
	}

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		oom(&p);
		goto out;
	}
	p.conf = c;
	if ((c->path = strdup(p.file)) == NULL) {
		oom(&p);
		goto out;
	}
	c->access_token_ttl = 3600;
	c->session_ttl = 2592000;
	c->refresh_idle_ttl = 1209600;
	c->refresh_reuse_window = 10;
	c->jwks_max_age = 300;
	c->link_by_verified_email = 0;
	c->db_sync = 1;
	c->log_level = OA_LOG_INFO;
	if (build_top(&p) != 0)
		goto out;

	for (i = 1; i < p.ns; i++) {
		if (p.s[i].kind == SECT_CLIENT)
			nc++;
		else
			np++;
	}
	if ((nc > 0 && (c->clients = calloc(nc, sizeof(*c->clients))) ==
	    NULL) || (np > 0 && (c->providers = calloc(np,
	    sizeof(*c->providers))) == NULL)) {
		oom(&p);
		goto out;
	}
	for (i = 1; i < p.ns; i++) {
		if (p.s[i].kind == SECT_CLIENT) {
			struct oa_client *cl = &c->clients[c->n_clients++];
			if (build_client(&p, &p.s[i], cl) != 0)
				goto out;
		} else {
			struct oa_provider *pr =
			    &c->providers[c->n_providers++];
			if (build_provider(&p, &p.s[i], pr) != 0)
				goto out;
		}
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	oa_conf_free(c);
	for (i = 0; i < p.ns; i++)
		sect_clear(&p.s[i]);
	free(p.s);
	return rc;
}

/*
 * Loads the config file at path: it must exist, be a regular file of at
 * most 1 MiB, and be private (no group/other bits: it may hold client
 * secrets, SECURITY 28); the mode is checked on the open descriptor, so
 * the file checked is the file read. Then oa_conf_parse with check_files
 * set. On failure writes "PATH...: problem" into err and returns -1.
 * Does not log: the caller prints err (CLI: exit 2; programs: a log line
 * and a 500).
 */
int
oa_conf_load(const char *path, struct oa_conf **out, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t used = 0, cap = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || *path == '\0') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no config file: set "
			    "OWNAUTH_CONF or use -c FILE");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: mode %04o gives group or "
			    "others access to a file that may hold secrets; "
			    "run chmod 600 %s", path,
			    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > CONF_MAX_BYTES) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: larger than %d bytes", path,
			    CONF_MAX_BYTES);
		goto out;
	}
	/* One byte more than fstat said, to notice a file that grew. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (used < cap) {
		r = read(fd, buf + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: read: %s", path,
				    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	if (used == cap) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: changed while being read",
			    path);
		goto out;
	}
	rc = oa_conf_parse(path, buf, used, 1, out, err, errlen);
out:
	if (buf != NULL) {
		explicit_bzero(buf, used);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * The programs' config load: nothing when *conf is already loaded (the
 * config is read once per process).
 * Otherwise oa_conf_load(path) into *conf; on failure one log line
 * "config: " and oa_conf_load's message (FILE:LINE: key 'KEY': problem)
 * and -1, *conf left NULL. On success the log level is the config's.
 * Returns 0 or -1; *conf is the caller's to free (oa_conf_free).
 */
int
oa_conf_load_once(const char *path, struct oa_conf **conf)
{
	char err[1024];

	if (*conf != NULL)
		return 0;
	if (oa_conf_load(path, conf, err, sizeof(err)) == -1) {
		oa_log(OA_LOG_ERROR, "config: %s", err);
		return -1;
	}
	oa_log_set_level((*conf)->log_level);
	return 0;
}

/* $OWNAUTH_CONF when set and not empty, else the compiled-in path. */
const char *
oa_conf_default_path(void)
{
	const char *e = getenv("OWNAUTH_CONF");

	if (e != NULL && *e != '\0')
		return e;
	return OA_CONF_PATH;
}

/* The client named name (the client_id), or NULL. Borrowed from conf. */
const struct oa_client *
oa_conf_client(const struct oa_conf *conf, const char *name)
{
	size_t i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->n_clients; i++)
		if (strcmp(conf->clients[i].name, name) == 0)
			return &conf->clients[i];
	return NULL;
}

/* The provider named name (its URL name), or NULL. Borrowed from conf. */
const struct oa_provider *
oa_conf_provider(const struct oa_conf *conf, const char *name)
{
	size_t i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->n_providers; i++)
		if (strcmp(conf->providers[i].name, name) == 0)
			return &conf->providers[i];
	return NULL;
}
