/*
 * ownauth.c - the admin command line (SPEC §7).
 *
 *   ownauth [-c FILE] COMMAND [ARGS] [--json]
 *
 * Exit status: 0 ok, 1 failure, 2 usage or config error. Commands are
 * rows of the table `cmds` below: a group ("keys"), an optional
 * sub-command ("list") and a function that gets the remaining arguments.
 * A command loads the config (cli_conf), the keyring (cli_ring) and
 * the store (cli_db) only when it needs them, after its own arguments
 * parsed. The store commands (users, sessions, db) live in cli_store.c;
 * bin/cli.h is what the two files share.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "cli.h"

#define MAX_POS 4
#define TOKEN_MAX 16384
#define TTL_MAX 31536000L

struct cmd {
	const char *group;
	const char *name; /* sub-command, or NULL */
	int (*run)(struct cli *, int, char **);
	const char *args;
	const char *help;
};

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

void
errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("ownauth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
warnmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("ownauth: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static char *
path_join(const char *a, const char *b)
{
	char *s = NULL;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

/* "2025-01-31T12:00:00Z" */
const char *
fmt_time(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

/* "45 s", "10 min", "2 h 5 min", "3 d 4 h" */
static const char *
fmt_dur(long long s, char buf[32])
{
	if (s < 0)
		s = -s;
	if (s < 120)
		snprintf(buf, 32, "%lld s", s);
	else if (s < 7200)
		snprintf(buf, 32, "%lld min", s / 60);
	else if (s < 172800)
		snprintf(buf, 32, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, 32, "%lld d %lld h", s / 86400, s % 86400 / 3600);
	return buf;
}

/* "in 10 min" / "10 min ago" relative to now. */
const char *
fmt_rel(time_t t, time_t now, char buf[48])
{
	char d[32];

	if (t >= now)
		snprintf(buf, 48, "in %s", fmt_dur((long long)(t - now), d));
	else
		snprintf(buf, 48, "%s ago", fmt_dur((long long)(now - t), d));
	return buf;
}

/* Prints s with control bytes replaced, for comments and messages. */
void
fput_safe(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* Prints s as a JSON (hence JavaScript) string literal. */
static void
fput_jsstr(FILE *f, const char *s)
{
	cJSON *j = cJSON_CreateString(s);
	char *txt = j ? cJSON_PrintUnformatted(j) : NULL;

	fputs(txt ? txt : "\"\"", f);
	free(txt);
	cJSON_Delete(j);
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Argument parsing: --name, --name VALUE, --name=VALUE, "--" ends the */
/* options; -c FILE anywhere. Every other word is positional, "-"      */
/* (stdin) and words with one leading '-' included: a kid is base64url */
/* and starts with '-' once in 64 keys.                                */

int
parse_args(struct cli *c, int argc, char **argv, const struct opt *opts,
    char **pos, size_t maxpos, size_t *npos)
{
	int i, only_pos = 0;
	const struct opt *o;
	const char *a, *eq, *v;
	size_t nlen;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (only_pos ||
		    (strncmp(a, "--", 2) != 0 && strcmp(a, "-c") != 0)) {
			if (*npos == maxpos) {
				errmsg("%s: unexpected argument '%s'",
				    c->cmdname, a);
				return -1;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		/* -c FILE is accepted after the command too. */
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 == argc) {
				errmsg("%s needs a file", a);
				return -1;
			}
			c->conf_path = argv[++i];
			continue;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (o = opts; o != NULL && o->name != NULL; o++)
			if (strlen(o->name) == nlen &&
			    strncmp(o->name, a, nlen) == 0)
				break;
		if (o == NULL || o->name == NULL)
			goto unknown;
		if (o->flag != NULL) {
			if (eq != NULL) {
				errmsg("%s: --%s takes no value", c->cmdname,
				    o->name);
				return -1;
			}
			*o->flag = 1;
			continue;
		}
		if (eq != NULL)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			errmsg("%s: --%s needs a value", c->cmdname, o->name);
			return -1;
		}
		if (o->val != NULL)
			*o->val = v;
		else {
			if (*o->nmulti == MAX_MULTI) {
				errmsg(
				    "%s: too many --%s", c->cmdname, o->name);
				return -1;
			}
			o->multi[(*o->nmulti)++] = v;
		}
	}
	return 0;
unknown:
	errmsg(
	    "%s: unknown option '%s' (see: ownauth help)", c->cmdname, argv[i]);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Config and keys.                                                    */

/* Loads the config once; returns 0, or EXIT_USAGE after printing the
 * loader's "FILE:LINE: key 'KEY': problem" message. */
int
cli_conf(struct cli *c)
{
	char err[512];

	if (c->conf != NULL)
		return 0;
	if (c->conf_path == NULL)
		c->conf_path = oa_conf_default_path();
	err[0] = '\0';
	if (oa_conf_load(c->conf_path, &c->conf, err, sizeof(err)) == -1) {
		errmsg("%s", err[0] ? err : c->conf_path);
		return EXIT_USAGE;
	}
	return 0;
}

/* (Re)loads the keyring from keys_dir; 0 or EXIT_FAIL. */
int
cli_ring(struct cli *c)
{
	oa_keyring_free(c->ring);
	c->ring = oa_keyring_load(c->conf->keys_dir);
	if (c->ring == NULL) {
		errmsg("cannot load the keys in %s", c->conf->keys_dir);
		return EXIT_FAIL;
	}
	return 0;
}

static const struct oa_keyinfo *
ring_find(const struct oa_keyring *ring, const char *kid)
{
	size_t i;

	for (i = 0; kid != NULL && i < ring->n; i++)
		if (strcmp(ring->keys[i].key->kid, kid) == 0)
			return &ring->keys[i];
	return NULL;
}

/* 1 when a is newer than b in signing order (activates, then created). */
static int
key_newer(const struct oa_keyinfo *a, const struct oa_keyinfo *b)
{
	if (a->activates != b->activates)
		return a->activates > b->activates;
	return a->created > b->created;
}

/* The key that signed at time t, taking retirement times into account
 * (oa_keyring_signer answers for now only). */
static const struct oa_keyinfo *
signer_at(const struct oa_keyring *ring, time_t t)
{
	const struct oa_keyinfo *best = NULL, *k;
	size_t i;

	for (i = 0; i < ring->n; i++) {
		k = &ring->keys[i];
		if (k->activates > t || (k->retired != 0 && k->retired <= t))
			continue;
		if (best == NULL || key_newer(k, best))
			best = k;
	}
	return best;
}

/* The last moment key k signed tokens (now when it is the signer), or 0
 * when it never signed. The signer only changes when a key activates or
 * retires, so it is constant between those events. */
static time_t
last_signed(
    const struct oa_keyring *ring, const struct oa_keyinfo *k, time_t now)
{
	time_t t, next, last = 0;
	size_t i;

	/* Walk the intervals [t, next) between events. */
	for (t = k->activates; t <= now; t = next) {
		next = now + 1;
		for (i = 0; i < ring->n; i++) {
			if (ring->keys[i].activates > t &&
			    ring->keys[i].activates < next)
				next = ring->keys[i].activates;
			if (ring->keys[i].retired > t &&
			    ring->keys[i].retired < next)
				next = ring->keys[i].retired;
		}
		if (signer_at(ring, t) == k)
			last = next > now ? now : next;
	}
	return last;
}

static const char *
key_state(
    const struct oa_keyinfo *k, const struct oa_keyinfo *signer, time_t now)
{
	if (k->retired != 0)
		return "retired";
	if (k->activates > now)
		return "pending";
	if (k == signer)
		return "active";
	return "published";
}

/* Which algorithms the published (unretired) keys use. */
struct algset {
	int rs, es, ed;
};

static void
published_algs(const struct oa_keyring *ring, struct algset *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < ring->n; i++) {
		if (ring->keys[i].retired != 0)
			continue;
		switch (ring->keys[i].key->alg) {
		case OA_ALG_RS256:
			a->rs = 1;
			break;
		case OA_ALG_ES256:
			a->es = 1;
			break;
		case OA_ALG_EDDSA:
			a->ed = 1;
			break;
		default:
			break;
		}
	}
}

/* Writes jwks.json and openid-configuration into dir (created 0755 when
 * missing). These are public documents: mode 0644. 0 or EXIT_FAIL. */
static int
publish(const struct cli *c, const char *dir)
{
	char *jwks = NULL, *disc = NULL, *pj = NULL, *pd = NULL;
	int rc = EXIT_FAIL;
	mode_t old;

	jwks = oa_jwks_document(c->ring);
	disc = oa_discovery_document(c->conf, c->ring);
	pj = path_join(dir, "jwks.json");
	pd = path_join(dir, "openid-configuration");
	if (jwks == NULL || disc == NULL || pj == NULL || pd == NULL) {
		errmsg("cannot build the JWKS and discovery documents");
		goto out;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		errmsg("mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	old = umask(022);
	if (oa_file_write_atomic(pj, jwks, strlen(jwks), 0644) == -1 ||
	    chmod(pj, 0644) == -1 ||
	    oa_file_write_atomic(pd, disc, strlen(disc), 0644) == -1 ||
	    chmod(pd, 0644) == -1) {
		umask(old);
		errmsg("cannot write %s: %s", dir, strerror(errno));
		goto out;
	}
	umask(old);
	printf("published %s and %s\n", pj, pd);
	rc = 0;
out:
	free(jwks);
	free(disc);
	free(pj);
	free(pd);
	return rc;
}

/* After a key change: reload, and republish when publish_dir is set. */
static int
republish(struct cli *c)
{
	int rc;

	if ((rc = cli_ring(c)) != 0)
		return rc;
	if (c->conf->publish_dir == NULL)
		return 0;
	return publish(c, c->conf->publish_dir);
}

static void
warn_alg(enum oa_alg alg)
{
	if (alg == OA_ALG_EDDSA)
		warnmsg("EdDSA: Convex customJwt cannot parse Ed25519 JWKS; "
		        "only OIDC domain mode works. Once this key is "
		        "published, a Convex customJwt provider rejects every "
		        "token, whichever key signed it.");
	else if (alg == OA_ALG_ES256)
		warnmsg("ES256: Convex OIDC mode rejects ES256; use customJwt "
		        "(see: ownauth convex). Once this key signs, a Convex "
		        "'domain' provider refuses its tokens.");
}

/* ------------------------------------------------------------------ */
/* ownauth init                                                        */

/* A value written into ownauth.conf must survive the round trip: no
 * whitespace, control bytes or '#'. */
static int
conf_value_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '#')
			return 0;
	return 1;
}

/* The origin (scheme://host[:port]) of an absolute URL, malloc'd. */
static char *
url_origin(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return NULL;
	p += 3;
	p += strcspn(p, "/?#");
	return strndup(url, (size_t)(p - url));
}

static int
validate_issuer(const char *issuer, int *loopback)
{
	char *scheme = NULL, *host = NULL, *path = NULL;
	int rc = -1;

	if (oa_url_split(issuer, &scheme, &host, NULL, &path) == -1) {
		errmsg("init: --issuer '%s' is not an absolute http(s) URL",
		    issuer);
		goto out;
	}
	if (!oa_url_is_secure_or_loopback(issuer)) {
		errmsg("init: --issuer must be https (http only on a loopback "
		       "host such as 127.0.0.1 or localhost)");
		goto out;
	}
	if (issuer[strlen(issuer) - 1] == '/' || strchr(issuer, '?') ||
	    !conf_value_ok(issuer)) {
		errmsg("init: --issuer must have no trailing slash, query or "
		       "spaces (it is the tokens' iss, byte for byte): '%s'",
		    issuer);
		goto out;
	}
	*loopback = oa_host_is_loopback(host);
	rc = 0;
out:
	free(scheme);
	free(host);
	free(path);
	return rc;
}

static char *
init_conf_text(const char *issuer, int loopback, const char *dir,
    const char *client, const char *audience, const char **uris, size_t nuris)
{
	FILE *f;
	char *txt = NULL, *o, *origins[MAX_MULTI];
	size_t len = 0, i, j, no = 0;
	char tb[32];

	if ((f = open_memstream(&txt, &len)) == NULL)
		return NULL;
	fprintf(f,
	    "# ownauth.conf, written by `ownauth init` on %s.\n"
	    "# Syntax: key = value; lists are space-separated; '#' starts a\n"
	    "# comment at the start of a line or after whitespace. A secret\n"
	    "# that contains \" #\" belongs in a *_file.\n\n",
	    fmt_time(time(NULL), tb));
	fprintf(f, "issuer = %s\ndata_dir = %s/data\nkeys_dir = %s/keys\n\n",
	    issuer, dir, dir);
	fputs(
	    "# Defaults (uncomment a line to change it):\n"
	    "# access_token_ttl = 3600      # seconds a token is valid\n"
	    "# session_ttl = 2592000        # absolute session lifetime\n"
	    "# refresh_idle_ttl = 1209600   # a session unused this long ends\n"
	    "# refresh_reuse_window = 10    # a rotated refresh token may be "
	    "replayed this long (tabs)\n"
	    "# jwks_max_age = 300           # Cache-Control of JWKS and "
	    "discovery\n"
	    "# key_activation_delay = 600   # a new key signs this long after "
	    "it is published\n"
	    "#                              # (default 2 x jwks_max_age: "
	    "Convex caches the JWKS)\n"
	    "# publish_dir = /var/www/html/.well-known   # static jwks.json "
	    "+ openid-configuration\n"
	    "# link_by_verified_email = no\n"
	    "# db_sync = yes\n"
	    "# log_level = info             # error | warn | info | debug\n\n",
	    f);

	fputs("# A client is an app whose users sign in here. Its access "
	      "tokens carry\n# aud = audience (the Convex applicationID; "
	      "default: the client name).\n",
	    f);
	fputs("# [client web]\n"
	      "# redirect_uris = https://app.example.com/auth/callback "
	      "http://localhost:5173/\n"
	      "# allowed_origins = https://app.example.com "
	      "http://localhost:5173\n"
	      "# audience = convex\n"
	      "# response_types = code         # add \"token\" for "
	      "fragment delivery\n"
	      "# refresh_token_delivery = body # body | cookie\n"
	      "# post_logout_redirect_uris = https://app.example.com/\n\n",
	    f);
	if (client != NULL) {
		fprintf(f, "[client %s]\nredirect_uris =", client);
		for (i = 0; i < nuris; i++)
			fprintf(f, " %s", uris[i]);
		/* Browser apps call the token endpoint from the origin of
		 * their redirect URI: allow exactly those (http/https). */
		for (i = 0; i < nuris; i++) {
			if (strncmp(uris[i], "http", 4) != 0 ||
			    (o = url_origin(uris[i])) == NULL)
				continue;
			for (j = 0; j < no && strcmp(origins[j], o) != 0; j++)
				;
			if (j < no)
				free(o);
			else
				origins[no++] = o;
		}
		fputs("\n# The token endpoint answers CORS requests from "
		      "these origins only:\n",
		    f);
		fputs(no ? "allowed_origins =" : "# allowed_origins =", f);
		for (j = 0; j < no; j++)
			fprintf(f, " %s", origins[j]);
		for (j = 0; j < no; j++)
			free(origins[j]);
		if (audience != NULL)
			fprintf(f, "\naudience = %s\n", audience);
		else
			fprintf(f, "\n# audience = %s\n", client);
		fputs("# response_types = code\n"
		      "# refresh_token_delivery = body   # body | cookie\n"
		      "# post_logout_redirect_uris =\n\n",
		    f);
	}

	fputs("# Providers: where users actually sign in. Presets: google "
	      "github\n# microsoft gitlab apple; or type = oidc | github | "
	      "oauth2 | dev.\n",
	    f);
	if (loopback)
		fputs(
		    "# The built-in sign-in form (type any email and name), "
		    "for demos and\n# tests; refused unless the issuer's host "
		    "is a loopback address.\n[provider dev]\ntype = dev\n\n",
		    f);
	fprintf(f,
	    "# [provider google]\n# client_id = ...\n"
	    "# client_secret_file = %s/google.secret\n"
	    "# scope = openid email profile\n#\n"
	    "# [provider github]\n# client_id = ...\n"
	    "# client_secret_file = %s/github.secret\n",
	    dir, dir);
	if (fclose(f) != 0) {
		free(txt);
		return NULL;
	}
	return txt;
}

/* Creates a directory 0700, or accepts an existing one. 0 or -1. */
static int
mkdir_private(const char *dir, int *created)
{
	struct stat st;

	*created = 0;
	if (mkdir(dir, 0700) == 0) {
		*created = 1;
		return chmod(dir, 0700);
	}
	if (errno != EEXIST || stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		errmsg("mkdir %s: %s", dir, strerror(errno ? errno : ENOTDIR));
		return -1;
	}
	return 0;
}

static int
write_new_file(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data), off = 0;
	ssize_t n;
	int fd;

	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto fail;
	return close(fd);
fail:
	close(fd);
	unlink(path);
	return -1;
}

static int
cmd_init(struct cli *c, int argc, char **argv)
{
	const char *issuer = NULL, *dirarg = "ownauth", *algname = "RS256";
	const char *client = NULL, *audience = NULL, *uris[MAX_MULTI];
	size_t nuris = 0, npos, i;
	struct opt opts[] = {
	    {"issuer", &issuer, NULL, NULL, NULL},
	    {"dir", &dirarg, NULL, NULL, NULL},
	    {"alg", &algname, NULL, NULL, NULL},
	    {"client", &client, NULL, NULL, NULL},
	    {"audience", &audience, NULL, NULL, NULL},
	    {"redirect-uri", NULL, NULL, uris, &nuris},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	char *pos[1], *dir = NULL, *confp = NULL, *datap = NULL, *keysp = NULL;
	char *text = NULL, cwd[PATH_MAX], err[512], kid[48], tb[32];
	struct oa_conf *parsed = NULL, *loaded = NULL;
	struct oa_keyring *ring = NULL;
	enum oa_alg alg;
	int loopback = 0, created, wrote = 0, rc = EXIT_USAGE;
	size_t l;
	struct stat st;

	if (parse_args(c, argc, argv, opts, pos, 0, &npos) == -1)
		goto out;
	if (issuer == NULL) {
		errmsg("init: --issuer URL is required (the public URL of "
		       "this server, e.g. https://auth.example.com)");
		goto out;
	}
	if (validate_issuer(issuer, &loopback) == -1)
		goto out;
	if (oa_alg_parse(algname, &alg) == -1) {
		errmsg("init: --alg must be RS256, ES256 or EdDSA");
		goto out;
	}
	if ((client == NULL) != (nuris == 0) ||
	    (audience != NULL && client == NULL)) {
		errmsg("init: --client NAME and --redirect-uri URI go together "
		       "(--redirect-uri may be repeated; --audience needs "
		       "--client)");
		goto out;
	}
	if ((client && !conf_value_ok(client)) ||
	    (audience && !conf_value_ok(audience))) {
		errmsg("init: client and audience names cannot contain spaces "
		       "or '#'");
		goto out;
	}
	for (i = 0; i < nuris; i++)
		if (!conf_value_ok(uris[i])) {
			errmsg("init: --redirect-uri '%s' contains spaces or "
			       "'#'",
			    uris[i]);
			goto out;
		}

	/* An absolute, tidy DIR. */
	if (dirarg[0] == '/')
		dir = strdup(dirarg);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		dir = NULL;
	else {
		while (strncmp(dirarg, "./", 2) == 0)
			dirarg += 2;
		dir = strcmp(dirarg, ".") == 0
		    ? strdup(cwd)
		    : path_join(strcmp(cwd, "/") == 0 ? "" : cwd, dirarg);
	}
	if (dir == NULL) {
		errmsg("init: cannot work out the absolute path of %s", dirarg);
		goto out;
	}
	while ((l = strlen(dir)) > 1 && dir[l - 1] == '/')
		dir[l - 1] = '\0';
	confp = path_join(dir, "ownauth.conf");
	datap = path_join(dir, "data");
	keysp = path_join(dir, "keys");
	if (confp == NULL || datap == NULL || keysp == NULL)
		goto out;

	/* Build the config and prove it parses to what we meant, before
	 * anything is created. */
	text = init_conf_text(
	    issuer, loopback, dir, client, audience, uris, nuris);
	if (text == NULL)
		goto out;
	err[0] = '\0';
	if (oa_conf_parse(confp, text, strlen(text), 0, &parsed, err,
	        sizeof(err)) == -1) {
		errmsg("init: the config would not load: %s", err);
		goto out;
	}
	if (strcmp(parsed->issuer, issuer) != 0 ||
	    strcmp(parsed->data_dir, datap) != 0 ||
	    strcmp(parsed->keys_dir, keysp) != 0) {
		errmsg("init: the directory '%s' cannot be written into "
		       "ownauth.conf (spaces or '#'); choose another --dir",
		    dir);
		goto out;
	}

	rc = EXIT_FAIL;
	if (lstat(confp, &st) == 0) {
		errmsg("init: %s already exists; refusing to overwrite it "
		       "(remove it first, or choose another --dir)",
		    confp);
		goto out;
	}
	if (mkdir_private(dir, &created) == -1)
		goto out;
	printf("%s %s%s\n", created ? "created" : "using  ", dir,
	    created ? " (0700)" : "");
	if (write_new_file(confp, text, 0600) == -1) {
		errmsg("init: cannot create %s: %s", confp, strerror(errno));
		goto out;
	}
	wrote = 1;
	printf("wrote   %s (0600)\n", confp);
	if (mkdir_private(datap, &created) == -1)
		goto out;
	if (oa_file_check_private(datap, err, sizeof(err)) == -1) {
		errmsg("init: %s", err);
		goto out;
	}
	printf("%s %s (0700)\n", created ? "created" : "using  ", datap);
	if (oa_keys_init_dir(keysp) == -1) {
		errmsg("init: cannot set up the key directory %s", keysp);
		goto out;
	}
	/* A key dir left from an earlier instance keeps its keys: a new
	 * key would sign at once, before any verifier has seen it. */
	if ((ring = oa_keyring_load(keysp)) == NULL) {
		errmsg("init: cannot load the keys in %s", keysp);
		goto out;
	}
	if (oa_keyring_signer(ring, c->now) != NULL) {
		printf("using   %s: its %zu key(s) stay as they are\n", keysp,
		    ring->n);
	} else {
		printf("created %s (0700) with a cookie-sealing key\n", keysp);
		if (oa_keys_new(keysp, alg, 0, kid) == -1) {
			errmsg(
			    "init: cannot create a %s key", oa_alg_name(alg));
			goto out;
		}
		printf("new key %s (%s): published and signing now\n", kid,
		    oa_alg_name(alg));
		warn_alg(alg);
	}

	/* Prove that the programs will accept what we wrote. */
	if (oa_conf_load(confp, &loaded, err, sizeof(err)) == -1) {
		errmsg("init: the new config does not load: %s", err);
		goto out;
	}
	printf("\nissuer %s, created %s.\n", issuer, fmt_time(c->now, tb));
	if (client == NULL)
		printf("No client yet: add a [client NAME] section to %s\n"
		       "(see the commented example) before apps can sign in.\n",
		    confp);
	if (!loopback)
		printf("No provider yet: add a [provider ...] section to %s.\n",
		    confp);
	printf("\nNext steps:\n"
	       "  export OWNAUTH_CONF=%s\n"
	       "  ownauth check     # config, keys, permissions\n"
	       "  ownauth convex    # convex/auth.config.ts for your app\n",
	    confp);
	rc = EXIT_OK;
out:
	/* Let a retry start from scratch: remove the config we wrote. */
	if (rc != EXIT_OK && wrote && unlink(confp) == 0)
		errmsg("init: removed %s", confp);
	oa_keyring_free(ring);
	oa_conf_free(parsed);
	oa_conf_free(loaded);
	free(text);
	free(dir);
	free(confp);
	free(datap);
	free(keysp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* ownauth check                                                       */

void
check_line(struct tally *t, const char *status, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(status, "FAIL") == 0)
		t->fail++;
	else if (strcmp(status, "warn") == 0)
		t->warn++;
	printf("%-4s  ", status);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
check_private(struct tally *t, const char *what, const char *path)
{
	char err[512];
	struct stat st;

	if (stat(path, &st) == -1) {
		check_line(t, "FAIL", "%s %s: %s", what, path, strerror(errno));
		return;
	}
	if (oa_file_check_private(path, err, sizeof(err)) == -1)
		check_line(t, "FAIL", "%s: %s (fix: chmod %s %s)", what, err,
		    S_ISDIR(st.st_mode) ? "700" : "600", path);
	else
		check_line(t, "ok", "%s %s is private (%04o)", what, path,
		    (unsigned)(st.st_mode & 07777));
}

/* 1 when DIR/name holds exactly body. */
static int
file_matches(const char *dir, const char *name, const char *body)
{
	char *p = path_join(dir, name), *got = NULL;
	int same;

	if (p == NULL || oa_file_read(p, 1 << 20, &got, NULL) == -1) {
		free(p);
		return 0;
	}
	same = strcmp(got, body) == 0;
	free(p);
	free(got);
	return same;
}

/* Which Convex provider types can accept this instance's tokens, and
 * why not (SPEC §3, "What Convex checks"). */
struct convex_ways {
	int oidc, custom;
	const char *oidc_why, *custom_why;
};

static void
convex_ways(const struct oa_keyinfo *signer, const struct algset *a,
    struct convex_ways *w)
{
	enum oa_alg alg = signer ? signer->key->alg : OA_ALG_UNKNOWN;

	memset(w, 0, sizeof(*w));
	if (alg == OA_ALG_ES256)
		w->oidc_why = "the signing key is ES256, which Convex's OIDC "
		              "provider rejects";
	else if (a->es)
		w->oidc_why = "an ES256 key is published, and Convex's OIDC "
		              "provider rejects ES256 tokens once it signs";
	else if (alg == OA_ALG_UNKNOWN)
		w->oidc_why = "no key signs";
	else
		w->oidc = 1;
	if (alg == OA_ALG_EDDSA)
		w->custom_why = "the signing key is EdDSA; Convex customJwt "
		                "accepts RS256 and ES256 only";
	else if (a->ed)
		w->custom_why =
		    "an Ed25519 key is published, and Convex "
		    "customJwt parses the JWKS strictly: one key it cannot "
		    "read breaks every token";
	else if (alg == OA_ALG_UNKNOWN)
		w->custom_why = "no key signs";
	else
		w->custom = 1;
}

static int
cmd_check(struct cli *c, int argc, char **argv)
{
	struct tally t = {0, 0};
	const struct oa_keyinfo *signer, *k;
	struct algset algs;
	struct convex_ways w;
	char *pos[1], *jwks = NULL, *disc = NULL, tb[32], rb[48];
	size_t i, npos, npub = 0, nret = 0;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = cli_conf(c)) != 0)
		return rc;
	check_line(&t, "ok", "config %s loads (issuer %s)",
	    c->conf->path ? c->conf->path : c->conf_path, c->conf->issuer);
	check_private(&t, "config", c->conf_path);
	check_private(&t, "keys_dir", c->conf->keys_dir);
	check_private(&t, "data_dir", c->conf->data_dir);
	cli_check_db(c, &t);

	if (c->conf->n_clients == 0)
		check_line(&t, "warn",
		    "no [client] section: no app can sign "
		    "in yet");
	for (i = 0; i < c->conf->n_clients; i++)
		check_line(&t, "ok",
		    "client %s: audience %s, %zu redirect "
		    "URI(s)",
		    c->conf->clients[i].name, c->conf->clients[i].audience,
		    c->conf->clients[i].redirect_uris.n);
	if (c->conf->n_providers == 0)
		check_line(&t, "warn",
		    "no [provider] section: users have "
		    "nowhere to sign in");
	for (i = 0; i < c->conf->n_providers; i++)
		check_line(&t, "ok", "provider %s", c->conf->providers[i].name);
	if (c->conf->key_activation_delay < c->conf->jwks_max_age)
		check_line(&t, "warn",
		    "key_activation_delay (%ld s) < "
		    "jwks_max_age (%ld s): a verifier that cached the JWKS "
		    "(Convex does, and does not refetch on an unknown kid) "
		    "will reject a new key's tokens for a while",
		    c->conf->key_activation_delay, c->conf->jwks_max_age);

	if (cli_ring(c) != 0) {
		check_line(&t, "FAIL",
		    "keys in %s do not load (see the "
		    "message above)",
		    c->conf->keys_dir);
		goto done;
	}
	signer = oa_keyring_signer(c->ring, c->now);
	for (i = 0; i < c->ring->n; i++) {
		k = &c->ring->keys[i];
		if (k->retired != 0)
			nret++;
		else
			npub++;
		if (k->retired == 0 && k->activates > c->now)
			check_line(&t, "ok",
			    "next key %s (%s) signs from %s "
			    "(%s)",
			    k->key->kid, oa_alg_name(k->key->alg),
			    fmt_time(k->activates, tb),
			    fmt_rel(k->activates, c->now, rb));
	}
	check_line(
	    &t, "ok", "keyring: %zu published key(s), %zu retired", npub, nret);
	if (signer == NULL)
		check_line(&t, "FAIL",
		    "no active signing key: run `ownauth "
		    "keys new` (the first key signs at once)");
	else
		check_line(&t, "ok", "signing key %s (%s), active since %s",
		    signer->key->kid, oa_alg_name(signer->key->alg),
		    fmt_time(signer->activates, tb));

	published_algs(c->ring, &algs);
	convex_ways(signer, &algs, &w);
	if (signer != NULL && !w.oidc && !w.custom)
		check_line(&t, "warn",
		    "Convex cannot accept these tokens: "
		    "%s; and %s",
		    w.oidc_why, w.custom_why);
	else if (signer != NULL && !w.custom)
		check_line(&t, "warn",
		    "Convex customJwt will not work: %s "
		    "(the OIDC 'domain' provider does)",
		    w.custom_why);
	else if (signer != NULL && !w.oidc)
		check_line(&t, "warn",
		    "Convex OIDC 'domain' provider will "
		    "not work: %s (customJwt does)",
		    w.oidc_why);

	if (c->conf->publish_dir != NULL) {
		jwks = oa_jwks_document(c->ring);
		disc = oa_discovery_document(c->conf, c->ring);
		if (jwks != NULL && disc != NULL &&
		    file_matches(c->conf->publish_dir, "jwks.json", jwks) &&
		    file_matches(
		        c->conf->publish_dir, "openid-configuration", disc))
			check_line(&t, "ok", "publish_dir %s is up to date",
			    c->conf->publish_dir);
		else
			check_line(&t, "FAIL",
			    "publish_dir %s is missing or "
			    "stale: run `ownauth keys publish`",
			    c->conf->publish_dir);
	}
done:
	free(jwks);
	free(disc);
	printf("%d problem(s), %d warning(s)\n", t.fail, t.warn);
	return t.fail ? EXIT_FAIL : EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* ownauth keys list | new | retire | publish                          */

static int
cmd_keys_list(struct cli *c, int argc, char **argv)
{
	int json = 0, rc;
	struct opt opts[] = {
	    {"json", NULL, &json, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	const struct oa_keyinfo *signer, *k;
	cJSON *arr = NULL, *o;
	char *pos[1], *txt, tb[32], ab[32];
	size_t i, npos;

	if (parse_args(c, argc, argv, opts, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = cli_conf(c)) != 0 || (rc = cli_ring(c)) != 0)
		return rc;
	signer = oa_keyring_signer(c->ring, c->now);
	if (json) {
		if ((arr = cJSON_CreateArray()) == NULL)
			return EXIT_FAIL;
		for (i = 0; i < c->ring->n; i++) {
			k = &c->ring->keys[i];
			o = cJSON_CreateObject();
			if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
			    !cJSON_AddStringToObject(o, "kid", k->key->kid) ||
			    !cJSON_AddStringToObject(
			        o, "alg", oa_alg_name(k->key->alg)) ||
			    !cJSON_AddStringToObject(
			        o, "state", key_state(k, signer, c->now)) ||
			    !cJSON_AddBoolToObject(o, "signing", k == signer) ||
			    !cJSON_AddNumberToObject(
			        o, "created", (double)k->created) ||
			    !cJSON_AddNumberToObject(
			        o, "activates", (double)k->activates) ||
			    !cJSON_AddNumberToObject(
			        o, "retired", (double)k->retired)) {
				cJSON_Delete(arr);
				return EXIT_FAIL;
			}
		}
		txt = cJSON_Print(arr);
		cJSON_Delete(arr);
		if (txt == NULL)
			return EXIT_FAIL;
		printf("%s\n", txt);
		free(txt);
		return EXIT_OK;
	}
	printf("%-43s  %-5s  %-9s  %-20s  %s\n", "KID", "ALG", "STATE",
	    "CREATED", "ACTIVATES / RETIRED");
	for (i = 0; i < c->ring->n; i++) {
		k = &c->ring->keys[i];
		printf("%-43s  %-5s  %-9s  %-20s  %s\n", k->key->kid,
		    oa_alg_name(k->key->alg), key_state(k, signer, c->now),
		    fmt_time(k->created, tb),
		    fmt_time(k->retired ? k->retired : k->activates, ab));
	}
	if (c->ring->n == 0)
		printf("(no keys: run `ownauth keys new`)\n");
	return EXIT_OK;
}

static int
cmd_keys_new(struct cli *c, int argc, char **argv)
{
	const char *algname = "RS256";
	struct opt opts[] = {
	    {"alg", &algname, NULL, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	const struct oa_keyinfo *k;
	enum oa_alg alg;
	char *pos[1], kid[48], tb[32], rb[48];
	size_t npos;
	int rc;

	if (parse_args(c, argc, argv, opts, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if (oa_alg_parse(algname, &alg) == -1) {
		errmsg("keys new: --alg must be RS256, ES256 or EdDSA");
		return EXIT_USAGE;
	}
	if ((rc = cli_conf(c)) != 0)
		return rc;
	if (oa_keys_new(c->conf->keys_dir, alg, c->conf->key_activation_delay,
	        kid) == -1) {
		errmsg("keys new: cannot create a %s key in %s", algname,
		    c->conf->keys_dir);
		return EXIT_FAIL;
	}
	if ((rc = cli_ring(c)) != 0)
		return rc;
	if ((k = ring_find(c->ring, kid)) == NULL) {
		errmsg("keys new: key %s not found after creating it", kid);
		return EXIT_FAIL;
	}
	if (k->activates <= c->now)
		printf("new key %s (%s): published and signing now\n", kid,
		    algname);
	else
		printf("new key %s (%s): published now, signs from %s (%s)\n"
		       "  (verifiers such as Convex cache the JWKS for up to "
		       "jwks_max_age = %ld s)\n",
		    kid, algname, fmt_time(k->activates, tb),
		    fmt_rel(k->activates, c->now, rb), c->conf->jwks_max_age);
	warn_alg(alg);
	if (c->conf->key_activation_delay < c->conf->jwks_max_age)
		warnmsg(
		    "key_activation_delay (%ld s) is shorter than "
		    "jwks_max_age (%ld s): verifiers that cached the old JWKS "
		    "will reject this key's first tokens",
		    c->conf->key_activation_delay, c->conf->jwks_max_age);
	return republish(c);
}

static int
cmd_keys_retire(struct cli *c, int argc, char **argv)
{
	int force = 0, rc;
	struct opt opts[] = {
	    {"force", NULL, &force, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	const struct oa_keyinfo *k, *signer;
	char *pos[1], tb[32], ub[32], rb[48];
	size_t npos, i;
	time_t last, until;

	if (parse_args(c, argc, argv, opts, pos, 1, &npos) == -1)
		return EXIT_USAGE;
	if (npos != 1) {
		errmsg("keys retire: which key? usage: ownauth keys retire "
		       "KID [--force]");
		return EXIT_USAGE;
	}
	if ((rc = cli_conf(c)) != 0 || (rc = cli_ring(c)) != 0)
		return rc;
	if ((k = ring_find(c->ring, pos[0])) == NULL) {
		errmsg("keys retire: no key %s; the keys are:", pos[0]);
		for (i = 0; i < c->ring->n; i++)
			fprintf(stderr, "  %s\n", c->ring->keys[i].key->kid);
		return EXIT_FAIL;
	}
	if (k->retired != 0) {
		errmsg("keys retire: %s was already retired on %s", pos[0],
		    fmt_time(k->retired, tb));
		return EXIT_FAIL;
	}
	signer = oa_keyring_signer(c->ring, c->now);
	last = last_signed(c->ring, k, c->now);
	until = last + c->conf->access_token_ttl;
	if (k == signer && !force) {
		errmsg(
		    "keys retire: %s is the signing key. Retiring it "
		    "removes from the JWKS the key of every token issued in "
		    "the last %ld s, so verifiers (Convex included) would "
		    "reject them and log those users out. Add a key first "
		    "(ownauth keys new), wait until it signs, then wait "
		    "access_token_ttl (%ld s) more before retiring this one. "
		    "--force overrides this (never for the only active key).",
		    pos[0], c->conf->access_token_ttl,
		    c->conf->access_token_ttl);
		return EXIT_FAIL;
	}
	if (last != 0 && until > c->now && !force) {
		errmsg(
		    "keys retire: %s signed tokens until %s; they stay "
		    "valid until %s (%s). Retiring it now removes it from the "
		    "JWKS, so every verifier (Convex included) would reject "
		    "them and those users would be logged out. Retry after %s, "
		    "or pass --force.",
		    pos[0], fmt_time(last, tb), fmt_time(until, ub),
		    fmt_rel(until, c->now, rb), ub);
		return EXIT_FAIL;
	}
	if (oa_keys_retire(c->conf->keys_dir, pos[0]) == -1) {
		errmsg("keys retire: %s was not retired (it may be the only "
		       "active key: add another first with `ownauth keys new`)",
		    pos[0]);
		return EXIT_FAIL;
	}
	printf("retired %s: it is no longer in the JWKS%s\n", pos[0],
	    c->conf->publish_dir ? "" : " served by jwks.fcgi");
	return republish(c);
}

static int
cmd_keys_publish(struct cli *c, int argc, char **argv)
{
	char *pos[1];
	size_t npos;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 1, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = cli_conf(c)) != 0)
		return rc;
	if (npos == 0 && c->conf->publish_dir == NULL) {
		errmsg("keys publish: give a DIR, or set publish_dir in %s",
		    c->conf_path);
		return EXIT_USAGE;
	}
	if ((rc = cli_ring(c)) != 0)
		return rc;
	return publish(c, npos ? pos[0] : c->conf->publish_dir);
}

/* ------------------------------------------------------------------ */
/* ownauth token mint | verify                                         */

/* SPEC §2.2 / SECURITY 16: the JWT sub is ASCII, at most 64 chars. */
int
user_id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > USER_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static void
list_clients(const struct oa_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->n_clients; i++)
		fprintf(stderr, "  %s (audience %s)\n", conf->clients[i].name,
		    conf->clients[i].audience);
}

/*
 * A token for a user of the store, as the token endpoint would mint it
 * (oa_issue_tokens: profile claims, then the custom claims), with a
 * throw-away sid ("cli-...") that names no session: nothing is written
 * to the store, and the token is printed, never logged.
 */
static int
cmd_token_mint(struct cli *c, int argc, char **argv)
{
	const char *cname = NULL, *ttlarg = NULL;
	struct opt opts[] = {
	    {"client", &cname, NULL, NULL, NULL},
	    {"ttl", &ttlarg, NULL, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	const struct oa_client *cl = NULL;
	struct oa_db_user *u = NULL;
	struct oa_issue_in in;
	struct oa_issue_out out;
	char *pos[1], *sidr = NULL, *sid = NULL;
	size_t npos;
	long ttl = 0;
	int rc;

	memset(&out, 0, sizeof(out));
	if (parse_args(c, argc, argv, opts, pos, 1, &npos) == -1)
		return EXIT_USAGE;
	if (npos != 1) {
		errmsg("token mint: usage: ownauth token mint USER "
		       "[--client C] [--ttl S]");
		return EXIT_USAGE;
	}
	if (!user_id_ok(pos[0])) {
		errmsg("token mint: a user id is 1 to %d printable ASCII "
		       "characters without spaces",
		    USER_ID_MAX);
		return EXIT_USAGE;
	}
	if (ttlarg && parse_long(ttlarg, 1, TTL_MAX, &ttl) == -1) {
		errmsg("token mint: --ttl is seconds, 1 to %ld", TTL_MAX);
		return EXIT_USAGE;
	}
	if ((rc = cli_conf(c)) != 0)
		return rc;
	if (cname != NULL && (cl = oa_conf_client(c->conf, cname)) == NULL) {
		errmsg("token mint: no client '%s' in %s; the clients are:",
		    cname, c->conf_path);
		list_clients(c->conf);
		return EXIT_FAIL;
	}
	if (cl == NULL && c->conf->n_clients == 1)
		cl = &c->conf->clients[0];
	if (cl == NULL) {
		if (c->conf->n_clients == 0)
			errmsg("token mint: no [client] in %s: the token's aud "
			       "is a client's audience, so add one first",
			    c->conf_path);
		else {
			errmsg("token mint: several clients; pick one with "
			       "--client:");
			list_clients(c->conf);
		}
		return EXIT_USAGE;
	}
	/* The user must exist and be enabled, as at the token endpoint. */
	if ((rc = cli_db(c)) != 0 || (rc = cli_user(c, pos[0], &u)) != 0)
		return rc;
	rc = EXIT_FAIL;
	if (u->disabled) {
		errmsg("token mint: user %s is disabled (ownauth users enable "
		       "%s)",
		    u->id, u->id);
		goto out;
	}
	if (cli_ring(c) != 0)
		goto out;
	if (oa_keyring_signer(c->ring, c->now) == NULL) {
		errmsg("token mint: no key signs yet (ownauth keys list)");
		goto out;
	}
	/* The loaded config is ours: --ttl overrides access_token_ttl. */
	if (ttlarg != NULL)
		c->conf->access_token_ttl = ttl;
	if ((sidr = oa_random_token(16)) == NULL ||
	    asprintf(&sid, "cli-%s", sidr) < 0) {
		sid = NULL;
		errmsg("token mint: out of memory");
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.conf = c->conf;
	in.client = cl;
	in.user = u;
	in.sid = sid;
	in.auth_time = c->now;
	in.now = c->now;
	if (oa_issue_tokens(c->ring, &in, &out) == -1) {
		errmsg("token mint: signing failed (see the message above)");
		goto out;
	}
	printf("%s\n", out.access_token);
	rc = EXIT_OK;
out:
	oa_issue_out_wipe(&out);
	oa_db_user_free(u);
	oa_secret_free(sidr);
	oa_secret_free(sid);
	return rc;
}

/* Collected verdicts of `token verify`, printed after the verdict. */
struct report {
	FILE *f;
	char *buf;
	size_t len;
	int fails, warns;
};

static void rep(struct report *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* fix == NULL: a warning; else a failure with how to fix it. */
static void
rep(struct report *r, const char *fix, const char *fmt, ...)
{
	va_list ap;

	if (fix != NULL)
		r->fails++;
	else
		r->warns++;
	fputs(fix ? "  FAIL  " : "  warn  ", r->f);
	va_start(ap, fmt);
	vfprintf(r->f, fmt, ap);
	va_end(ap);
	if (fix != NULL && *fix != '\0')
		fprintf(r->f, "\n        fix: %s", fix);
	fputc('\n', r->f);
}

static const char *
jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *
result_fix(enum oa_jwt_result r)
{
	switch (r) {
	case OA_JWT_MALFORMED:
		return "copy the whole token: three base64url parts joined "
		       "by dots";
	case OA_JWT_BAD_HEADER:
		return "ownauth never accepts alg none/HMAC, crit, jku, x5u, "
		       "an embedded jwk or a typ other than JWT: this token "
		       "was "
		       "not minted by ownauth";
	case OA_JWT_NO_KEY:
		return "the token's kid is not a published key of this "
		       "instance (ownauth keys list): it comes from another "
		       "instance, or its key was retired";
	case OA_JWT_ALG_MISMATCH:
		return "the header's alg differs from its key's: the token "
		       "was altered or made by another signer";
	case OA_JWT_BAD_SIGNATURE:
		return "the token was modified after signing, or signed by "
		       "another key: get a fresh one";
	case OA_JWT_EXPIRED:
		return "get a fresh token (the client refreshes; or ownauth "
		       "token mint)";
	case OA_JWT_IAT_FUTURE:
		return "the clock of the machine that minted it is ahead: "
		       "check NTP";
	case OA_JWT_BAD_ISS:
		return "the token comes from another issuer, or `issuer` in "
		       "ownauth.conf changed since it was minted";
	default:
		return "";
	}
}

enum vmode { V_PLAIN, V_OIDC, V_CUSTOM };

/* Header and claim rules of Convex (SPEC §3): what its OIDC and
 * customJwt providers would refuse, with the fix in ownauth's terms. */
static void
convex_rules(struct cli *c, enum vmode mode, const cJSON *hdr, const cJSON *pl,
    struct report *r)
{
	const char *alg = jstr(hdr, "alg"), *typ = jstr(hdr, "typ");
	const struct oa_keyinfo *k;
	static const char *req_oidc[] = {"iss", "sub", "exp", "iat", NULL};
	static const char *req_custom[] = {"iss", "sub", "exp", NULL};
	const char **req = mode == V_OIDC ? req_oidc : req_custom;
	size_t i;

	if (alg == NULL)
		alg = "(none)";
	if (mode == V_OIDC && strcmp(alg, "RS256") != 0 &&
	    strcmp(alg, "EdDSA") != 0)
		rep(r,
		    strcmp(alg, "ES256") == 0
		        ? "use a customJwt provider for ES256 (ownauth convex "
		          "prints it), or move to RS256: ownauth keys new "
		          "--alg "
		          "RS256, and retire the ES256 key once its tokens "
		          "expired"
		        : "ownauth signs with RS256 or EdDSA for this mode",
		    "alg %s: Convex's OIDC provider accepts RS256 and EdDSA "
		    "only",
		    alg);
	if (mode == V_CUSTOM && strcmp(alg, "RS256") != 0 &&
	    strcmp(alg, "ES256") != 0)
		rep(r,
		    strcmp(alg, "EdDSA") == 0
		        ? "use the OIDC 'domain' provider for EdDSA (ownauth "
		          "convex prints it), or sign with RS256/ES256: "
		          "ownauth "
		          "keys new --alg RS256"
		        : "sign with RS256 or ES256",
		    "alg %s: Convex customJwt accepts RS256 and ES256 only",
		    alg);
	if (jstr(hdr, "kid") == NULL)
		rep(r,
		    "ownauth always sets kid; this token was minted "
		    "elsewhere",
		    "no kid in the header: Convex picks the key "
		    "by kid");
	if (typ != NULL && strcmp(typ, "JWT") != 0)
		rep(r, "mint with typ JWT (ownauth does)",
		    "typ %s: Convex "
		    "rejects anything but JWT (at+jwt included)",
		    typ);
	for (i = 0; req[i] != NULL; i++)
		if (cJSON_GetObjectItemCaseSensitive(pl, req[i]) == NULL)
			rep(r,
			    "mint tokens with ownauth, which always sets "
			    "iss, sub, aud, iat and exp",
			    "no %s claim: "
			    "Convex %s requires %s",
			    req[i], mode == V_OIDC ? "OIDC" : "customJwt",
			    mode == V_OIDC ? "iss, sub, exp and iat"
			                   : "iss, sub and exp");
	if (mode == V_CUSTOM && !cJSON_IsNumber(cJSON_GetObjectItem(pl, "iat")))
		rep(r, NULL,
		    "no iat: the Convex client uses iat and exp to "
		    "schedule refreshes");
	if (mode == V_CUSTOM) {
		for (i = 0; i < c->ring->n; i++) {
			k = &c->ring->keys[i];
			if (k->retired == 0 && k->key->alg == OA_ALG_EDDSA)
				rep(r,
				    "retire it once its tokens expired "
				    "(ownauth keys retire KID), or use the "
				    "OIDC "
				    "'domain' provider (ownauth convex)",
				    "the JWKS holds Ed25519 key %s: Convex "
				    "customJwt parses the JWKS strictly and "
				    "fails every token (\"Invalid JWKS "
				    "response body\")",
				    k->key->kid);
		}
	}
	if (mode == V_OIDC) {
		for (i = 0; i < c->ring->n; i++) {
			k = &c->ring->keys[i];
			if (k->retired == 0 && k->key->alg == OA_ALG_ES256 &&
			    strcmp(alg, "ES256") != 0)
				rep(r, NULL,
				    "ES256 key %s is published: once "
				    "it signs, Convex's OIDC provider rejects "
				    "its tokens",
				    k->key->kid);
		}
	}
	/* A key younger than jwks_max_age, when an older JWKS existed. */
	k = ring_find(c->ring, jstr(hdr, "kid"));
	for (i = 0; k != NULL && i < c->ring->n; i++)
		if (c->ring->keys[i].created < k->created)
			break;
	if (k != NULL && i < c->ring->n && k->retired == 0 &&
	    k->created + c->conf->jwks_max_age > c->now)
		rep(r, NULL,
		    "key %s was published %lld s ago: a Convex "
		    "deployment that cached the JWKS before may not know it "
		    "yet (it does not refetch on an unknown kid)",
		    k->key->kid, (long long)(c->now - k->created));
}

/* The aud claim must be one configured client's audience. */
static const struct oa_client *
check_aud(struct cli *c, enum vmode mode, const cJSON *pl, struct report *r)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(pl, "aud");
	const char *s = NULL;
	size_t i;

	if (cJSON_IsString(aud))
		s = aud->valuestring;
	else if (mode != V_OIDC && cJSON_IsArray(aud) &&
	    cJSON_GetArraySize(aud) == 1 &&
	    cJSON_IsString(cJSON_GetArrayItem(aud, 0)))
		s = cJSON_GetArrayItem(aud, 0)->valuestring;
	if (s == NULL) {
		rep(r,
		    "ownauth mints aud as one string: the client's "
		    "audience",
		    mode == V_OIDC ? "aud is not a single string: "
		                     "Convex's OIDC provider needs aud to be "
		                     "the applicationID "
		                     "and nothing else"
		                   : "aud is missing or not one string");
		return NULL;
	}
	for (i = 0; i < c->conf->n_clients; i++)
		if (strcmp(c->conf->clients[i].audience, s) == 0)
			return &c->conf->clients[i];
	rep(r,
	    "set `audience = ...` of a [client] to it, or mint for a "
	    "configured client (ownauth token mint USER --client C)",
	    "aud '%s' is no configured client's audience%s", s,
	    mode == V_PLAIN ? "" : " (= Convex applicationID)");
	return NULL;
}

static char *
read_token(const char *arg)
{
	char *buf, *p, *e, *tok;
	size_t n = 0;
	ssize_t m;

	if (strcmp(arg, "-") != 0)
		return strdup(arg);
	if ((buf = malloc(TOKEN_MAX + 1)) == NULL)
		return NULL;
	while (n < TOKEN_MAX) {
		m = read(STDIN_FILENO, buf + n, TOKEN_MAX - n);
		if (m == -1 && errno == EINTR)
			continue;
		if (m <= 0)
			break;
		n += (size_t)m;
	}
	buf[n] = '\0';
	for (p = buf; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	e = p + strlen(p);
	while (e > p &&
	    (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	tok = strdup(p);
	OPENSSL_cleanse(buf, TOKEN_MAX + 1);
	free(buf);
	return tok;
}

static int
cmd_token_verify(struct cli *c, int argc, char **argv)
{
	const char *as = NULL;
	struct opt opts[] = {
	    {"as", &as, NULL, NULL, NULL},
	    {NULL, NULL, NULL, NULL, NULL},
	};
	struct report r = {NULL, NULL, 0, 0, 0};
	struct oa_keyset *set = NULL;
	struct oa_jwt_expect e;
	const struct oa_client *cl = NULL;
	const struct oa_keyinfo *k;
	enum oa_jwt_result res;
	enum vmode mode = V_PLAIN;
	cJSON *hdr = NULL, *pl = NULL, *claims = NULL, *v;
	char *pos[1], *tok = NULL, *txt = NULL, tb[32], rb[48];
	size_t npos;
	int rc;

	if (parse_args(c, argc, argv, opts, pos, 1, &npos) == -1)
		return EXIT_USAGE;
	if (npos != 1) {
		errmsg("token verify: usage: ownauth token verify TOKEN|- "
		       "[--as convex-oidc|convex-custom]");
		return EXIT_USAGE;
	}
	if (as != NULL && strcmp(as, "convex-oidc") == 0)
		mode = V_OIDC;
	else if (as != NULL && strcmp(as, "convex-custom") == 0)
		mode = V_CUSTOM;
	else if (as != NULL) {
		errmsg("token verify: --as takes convex-oidc or "
		       "convex-custom");
		return EXIT_USAGE;
	}
	if ((rc = cli_conf(c)) != 0 || (rc = cli_ring(c)) != 0)
		return rc;
	rc = EXIT_FAIL;
	if ((tok = read_token(pos[0])) == NULL ||
	    (r.f = open_memstream(&r.buf, &r.len)) == NULL ||
	    (set = oa_keyring_published(c->ring)) == NULL)
		goto out;

	if (oa_jwt_parse(tok, &hdr, &pl) == -1) {
		rep(&r, result_fix(OA_JWT_MALFORMED), "%s",
		    oa_jwt_result_str(OA_JWT_MALFORMED));
		goto verdict;
	}
	if (mode != V_PLAIN)
		convex_rules(c, mode, hdr, pl, &r);

	memset(&e, 0, sizeof(e));
	e.iss = c->conf->issuer;
	e.now = c->now;
	e.leeway = mode == V_CUSTOM ? 5 : 0; /* Convex: OIDC none, 5 s */
	res = oa_jwt_verify(tok, set, &e, &claims);
	if (res == OA_JWT_NO_KEY &&
	    (k = ring_find(c->ring, jstr(hdr, "kid"))) != NULL &&
	    k->retired != 0)
		rep(&r, "get a fresh token, signed by the current key",
		    "its key %s was retired on %s and is no longer "
		    "published",
		    k->key->kid, fmt_time(k->retired, tb));
	else if (res == OA_JWT_EXPIRED &&
	    cJSON_IsNumber(v = cJSON_GetObjectItem(pl, "exp")))
		rep(&r, result_fix(res), "%s: exp %s (%s)",
		    oa_jwt_result_str(res),
		    fmt_time((time_t)v->valuedouble, tb),
		    fmt_rel((time_t)v->valuedouble, c->now, rb));
	else if (res == OA_JWT_BAD_ISS)
		rep(&r, result_fix(res),
		    "%s: iss is '%s', this instance is "
		    "'%s'%s",
		    oa_jwt_result_str(res),
		    jstr(pl, "iss") ? jstr(pl, "iss") : "(none)",
		    c->conf->issuer,
		    mode == V_OIDC ? " (Convex compares it byte for byte with "
		                     "the discovery document's issuer)"
		                   : "");
	else if (res != OA_JWT_OK)
		rep(&r, result_fix(res), "%s", oa_jwt_result_str(res));
	cl = check_aud(c, mode, pl, &r);

verdict:
	fclose(r.f);
	r.f = NULL;
	if (r.fails == 0) {
		k = ring_find(c->ring, jstr(hdr, "kid"));
		v = cJSON_GetObjectItem(pl, "exp");
		printf("valid%s\n",
		    mode == V_OIDC         ? " for a Convex OIDC "
		                             "provider"
		        : mode == V_CUSTOM ? " for a Convex customJwt "
		                             "provider"
		                           : "");
		printf("  key       %s (%s)\n", k ? k->key->kid : "?",
		    k ? oa_alg_name(k->key->alg) : "?");
		printf("  issuer    %s\n", c->conf->issuer);
		printf("  audience  %s (client %s)%s\n", cl->audience, cl->name,
		    mode == V_PLAIN ? "" : " = applicationID");
		if (cJSON_IsNumber(v))
			printf("  expires   %s (%s)\n",
			    fmt_time((time_t)v->valuedouble, tb),
			    fmt_rel((time_t)v->valuedouble, c->now, rb));
		fputs(r.buf, stdout);
		txt = cJSON_Print(claims);
		printf("%s\n", txt ? txt : "");
		rc = EXIT_OK;
	} else {
		printf("invalid%s: %d problem(s)\n",
		    mode == V_OIDC         ? " for a "
		                             "Convex OIDC provider"
		        : mode == V_CUSTOM ? " for a Convex "
		                             "customJwt provider"
		                           : "",
		    r.fails);
		fputs(r.buf, stdout);
	}
out:
	if (r.f != NULL)
		fclose(r.f);
	free(r.buf);
	free(txt);
	cJSON_Delete(hdr);
	cJSON_Delete(pl);
	cJSON_Delete(claims);
	oa_keyset_free_shallow(set);
	oa_secret_free(tok);
	return rc;
}

/* ------------------------------------------------------------------ */
/* ownauth convex                                                      */

static void
ts_oidc(FILE *f, const char *iss, const char *aud, const char *ind)
{
	fprintf(f, "    %s{\n    %s  domain: ", ind, ind);
	fput_jsstr(f, iss);
	fprintf(f, ",\n    %s  applicationID: ", ind);
	fput_jsstr(f, aud);
	fprintf(f, ",\n    %s},\n", ind);
}

static void
ts_custom(
    FILE *f, const char *iss, const char *aud, enum oa_alg alg, const char *ind)
{
	char *jwks = NULL;

	if (asprintf(&jwks, "%s/.well-known/jwks.json", iss) < 0)
		jwks = NULL;
	fprintf(f,
	    "    %s{\n    %s  type: \"customJwt\",\n    %s  issuer: ", ind, ind,
	    ind);
	fput_jsstr(f, iss);
	fprintf(f, ",\n    %s  jwks: ", ind);
	fput_jsstr(f, jwks ? jwks : "");
	fprintf(f,
	    ",\n    %s  algorithm: \"%s\",\n    %s  applicationID: ", ind,
	    oa_alg_name(alg), ind);
	fput_jsstr(f, aud);
	fprintf(f, ",\n    %s},\n", ind);
	free(jwks);
}

/* Prints text as "// " comment lines word-wrapped at 79 columns; a "\n"
 * starts a new line; a line starting with "- " is a hanging list item. */
static void comment(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
comment(const char *fmt, ...)
{
	char *s = NULL, *line, *next, *w;
	size_t col, hang, wl;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (line = s; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		hang = strncmp(line, "- ", 2) == 0 ? 2 : 0;
		fputs("//", stdout);
		col = 2;
		for (w = strtok(line, " "); w != NULL; w = strtok(NULL, " ")) {
			wl = strlen(w);
			if (col > 3 + hang && col + 1 + wl > 79) {
				printf("\n//%*s", (int)hang, "");
				col = 2 + hang;
			}
			putchar(' ');
			fput_safe(stdout, w);
			col += 1 + wl;
		}
		putchar('\n');
	}
	free(s);
}

static int
cmd_convex(struct cli *c, int argc, char **argv)
{
	const struct oa_keyinfo *signer, *k;
	const struct oa_client *cl;
	struct algset algs;
	struct convex_ways w;
	const char *iss;
	char *pos[1], tb[32];
	size_t i, j, npos;
	int rc;

	if (parse_args(c, argc, argv, NULL, pos, 0, &npos) == -1)
		return EXIT_USAGE;
	if ((rc = cli_conf(c)) != 0 || (rc = cli_ring(c)) != 0)
		return rc;
	if (c->conf->n_clients == 0) {
		errmsg("convex: no [client] in %s: a client's audience is the "
		       "Convex applicationID, so add one first",
		    c->conf_path);
		return EXIT_FAIL;
	}
	if ((signer = oa_keyring_signer(c->ring, c->now)) == NULL) {
		errmsg("convex: no key signs yet: run `ownauth keys new`");
		return EXIT_FAIL;
	}
	published_algs(c->ring, &algs);
	convex_ways(signer, &algs, &w);
	if (!w.oidc && !w.custom) {
		errmsg(
		    "convex: no Convex provider type can accept these "
		    "tokens: OIDC because %s; customJwt because %s. Retire the "
		    "incompatible key once its tokens expired (ownauth keys "
		    "list / retire).",
		    w.oidc_why, w.custom_why);
		return EXIT_FAIL;
	}
	iss = c->conf->issuer;

	comment(
	    "convex/auth.config.ts for the ownauth instance %s\n"
	    "Written by `ownauth convex` on %s; run it again after changing "
	    "keys or clients.\n\n"
	    "Convex can trust these tokens in two ways:\n"
	    "- OIDC provider (domain + applicationID): Convex reads "
	    "{domain}/.well-known/openid-configuration, then its jwks_uri. "
	    "It accepts RS256 and EdDSA tokens and rejects ES256.\n"
	    "- customJwt (issuer + jwks + algorithm + applicationID): RS256 "
	    "or ES256 only, and Convex parses the JWKS strictly: a single "
	    "Ed25519 key in it breaks every token.\n\n"
	    "Signing key: %s (%s).",
	    iss, fmt_time(c->now, tb), signer->key->kid,
	    oa_alg_name(signer->key->alg));
	if (w.oidc)
		comment("OIDC is offered%s: the signing key is %s and no "
		        "ES256 key is published.",
		    w.custom ? " (active)" : "", oa_alg_name(signer->key->alg));
	else
		comment("OIDC is not offered: %s.", w.oidc_why);
	if (w.custom)
		comment(
		    "customJwt is offered%s: the signing key is %s and no "
		    "Ed25519 key is published. Its algorithm is fixed: when a "
		    "key of another algorithm starts signing, it must change.",
		    w.oidc ? " (commented out, as an alternative)" : "",
		    oa_alg_name(signer->key->alg));
	else
		comment("customJwt is not offered: %s.", w.custom_why);
	for (i = 0; w.custom && i < c->ring->n; i++) {
		k = &c->ring->keys[i];
		if (k->retired != 0 || k->activates <= c->now ||
		    k->key->alg == signer->key->alg)
			continue;
		comment("WARNING: key %s (%s) signs from %s. A customJwt "
		        "provider then needs algorithm \"%s\": run `ownauth "
		        "convex` again and deploy it at that time.",
		    k->key->kid, oa_alg_name(k->key->alg),
		    fmt_time(k->activates, tb), oa_alg_name(k->key->alg));
		warnmsg("convex: key %s (%s) signs from %s; a customJwt "
		        "provider's algorithm must change then",
		    k->key->kid, oa_alg_name(k->key->alg), tb);
	}
	comment(
	    "\nKey rotation: Convex caches the JWKS as long as "
	    "Cache-Control allows (jwks_max_age = %ld s) and does not refetch "
	    "it for an unknown kid, so `ownauth keys new` publishes a key "
	    "key_activation_delay (%ld s) before it signs. Keep "
	    "key_activation_delay >= jwks_max_age.",
	    c->conf->jwks_max_age, c->conf->key_activation_delay);
	printf("import { AuthConfig } from \"convex/server\";\n\n"
	       "export default {\n  providers: [\n");
	for (i = 0; i < c->conf->n_clients; i++) {
		cl = &c->conf->clients[i];
		/* One entry per audience: clients may share one. */
		for (j = 0; j < i; j++)
			if (strcmp(c->conf->clients[j].audience,
			        cl->audience) == 0)
				break;
		if (j < i)
			continue;
		printf("    // client ");
		fput_safe(stdout, cl->name);
		printf(": applicationID = its audience\n");
		if (w.oidc)
			ts_oidc(stdout, iss, cl->audience, "");
		if (w.custom && w.oidc) {
			printf("    // Alternative: customJwt. To use it, "
			       "comment out the entry above and\n"
			       "    // uncomment this one.\n");
			ts_custom(
			    stdout, iss, cl->audience, signer->key->alg, "// ");
		} else if (w.custom)
			ts_custom(
			    stdout, iss, cl->audience, signer->key->alg, "");
	}
	printf("  ],\n} satisfies AuthConfig;\n");
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Dispatch.                                                           */

static int cmd_help(struct cli *, int, char **);

static const struct cmd cmds[] = {
    {"init", NULL, cmd_init,
        "--issuer URL [--dir DIR] [--alg A] "
        "[--client NAME --redirect-uri URI... [--audience AUD]]",
        "create a config, data dir and a first key"},
    {"check", NULL, cmd_check, "",
        "check config, keys, permissions and the database"},
    {"convex", NULL, cmd_convex, "",
        "print convex/auth.config.ts (OIDC and customJwt)"},
    {"keys", "list", cmd_keys_list, "[--json]", "keys and their state"},
    {"keys", "new", cmd_keys_new, "[--alg RS256|ES256|EdDSA]",
        "add a key: published now, signs after key_activation_delay"},
    {"keys", "retire", cmd_keys_retire, "KID [--force]",
        "remove a key from the JWKS"},
    {"keys", "publish", cmd_keys_publish, "[DIR]",
        "write jwks.json and openid-configuration into DIR"},
    {"users", "list", cmd_users_list, "[--json]", "every user"},
    {"users", "show", cmd_users_show, "ID [--json]",
        "a user: profile, identities, sessions, custom claims"},
    {"users", "add", cmd_users_add,
        "[--id ID] [--email E [--unverified]] [--name N] [--picture URL]",
        "a user without an upstream identity (tests, service accounts); "
        "prints the id"},
    {"users", "disable", cmd_users_disable, "ID",
        "refuse the user's sign-ins and refreshes"},
    {"users", "enable", cmd_users_enable, "ID", "undo disable"},
    {"users", "delete", cmd_users_delete, "ID",
        "delete a user with its identities and sessions (the id is never "
        "reused)"},
    {"users", "claims", cmd_users_claims, "ID [JSON]",
        "set the custom claims merged into tokens (a JSON object; '{}' "
        "clears); without JSON, print them"},
    {"sessions", "list", cmd_sessions_list, "USER [--json]",
        "a user's sessions (refresh-token families)"},
    {"sessions", "revoke", cmd_sessions_revoke, "USER [SID]",
        "revoke every session of USER, or one"},
    {"db", "check", cmd_db_check, "",
        "verify a copy of the database and cross-check its records"},
    {"db", "backup", cmd_db_backup, "DIR",
        "hot backup into DIR (new or empty), verified"},
    {"db", "purge", cmd_db_purge, "", "remove expired records now"},
    {"token", "mint", cmd_token_mint, "USER [--client C] [--ttl S]",
        "print a signed access token for a user of the store, for "
        "testing"},
    {"token", "verify", cmd_token_verify,
        "TOKEN|- [--as convex-oidc|convex-custom]",
        "check a token, in Convex's terms with --as"},
    {"help", NULL, cmd_help, "", "this text"},
};

static void
usage(FILE *f, const char *group)
{
	size_t i;
	char words[64];

	fprintf(f, "usage: ownauth [-c FILE] COMMAND [ARGS]\n\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (group != NULL && strcmp(cmds[i].group, group) != 0)
			continue;
		snprintf(words, sizeof(words), "%s%s%s", cmds[i].group,
		    cmds[i].name ? " " : "", cmds[i].name ? cmds[i].name : "");
		fprintf(f, "  ownauth %s %s\n        %s\n", words, cmds[i].args,
		    cmds[i].help);
	}
	if (group == NULL)
		fprintf(f,
		    "\nThe config is -c FILE, else $OWNAUTH_CONF, else "
		    "%s.\nExit status: 0 ok, 1 failure, 2 usage or config "
		    "error.\n",
		    oa_conf_default_path());
}

static int
cmd_help(struct cli *c, int argc, char **argv)
{
	usage(stdout, argc > 0 ? argv[0] : NULL);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct cli c;
	const struct cmd *cmd = NULL;
	char cmdname[64];
	size_t i;
	int a = 1, rc, group_known = 0;

	umask(077);
	oa_log_set_prog("ownauth");
	oa_log_set_level(OA_LOG_WARN);
	memset(&c, 0, sizeof(c));
	c.now = time(NULL);

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			c.conf_path = argv[++a];
		else if (strncmp(argv[a], "-c", 2) == 0 && argv[a][2] != '\0')
			c.conf_path = argv[a] + 2;
		else if (strcmp(argv[a], "-h") == 0 ||
		    strcmp(argv[a], "--help") == 0) {
			usage(stdout, NULL);
			return EXIT_OK;
		} else if (strcmp(argv[a], "--version") == 0) {
			printf("ownauth %s\n", OA_VERSION);
			return EXIT_OK;
		} else {
			errmsg("unknown option '%s'", argv[a]);
			usage(stderr, NULL);
			return EXIT_USAGE;
		}
	}
	if (a == argc) {
		usage(stderr, NULL);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].group, argv[a]) != 0)
			continue;
		group_known = 1;
		if (cmds[i].name == NULL ||
		    (a + 1 < argc && strcmp(cmds[i].name, argv[a + 1]) == 0)) {
			cmd = &cmds[i];
			break;
		}
	}
	if (cmd == NULL) {
		if (group_known)
			errmsg("%s: which one?", argv[a]);
		else
			errmsg("unknown command '%s'", argv[a]);
		usage(stderr, group_known ? argv[a] : NULL);
		return EXIT_USAGE;
	}
	snprintf(cmdname, sizeof(cmdname), "%s%s%s", cmd->group,
	    cmd->name ? " " : "", cmd->name ? cmd->name : "");
	c.cmdname = cmdname;
	a += cmd->name ? 2 : 1;
	rc = cmd->run(&c, argc - a, argv + a);
	oa_db_close(c.db);
	oa_keyring_free(c.ring);
	oa_conf_free(c.conf);
	if (fflush(stdout) == EOF && rc == EXIT_OK)
		rc = EXIT_FAIL;
	return rc;
}
