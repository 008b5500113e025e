/*
 * req.c - the untrusted-input boundary of the programs: declared
 * parameters from a query string or a form body, the Cookie header,
 * and the encoders used to build redirects, forms and error pages.
 *
 * Nothing here logs a value: values may be codes, verifiers, refresh
 * tokens. Everything that held one is wiped before it is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "ownauth.h"

/* ------------------------------------------------------------------ */
/* Character classes.                                                  */

static int
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3986 §2.3: ALPHA DIGIT "-" "." "_" "~", a bitmap of the ASCII
 * bytes (one test per byte of every URL the programs encode). */
static const uint64_t unreserved_map[2] = {
	0x03ff600000000000ULL,  /* "-" "." "0"-"9" */
	0x47fffffe87fffffeULL,  /* "A"-"Z" "_" "a"-"z" "~" */
};

static int
is_unreserved(unsigned char c)
{
	return c < 128 && (unreserved_map[c >> 6] >> (c & 63) & 1) != 0;
}

static int
is_b64url(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Content types.                                                      */

/*
 * 1 when the media type of the Content-Type value ct is name: RFC 9110
 * §8.3.1, type "/" subtype *( OWS ";" OWS parameter ), compared ASCII
 * case-insensitively (§8.3.2). White space around the media type and
 * any parameters (charset...) are ignored. 0 otherwise, also for a NULL
 * ct. name is trusted (a constant such as OA_FORM_TYPE).
 */
int
oa_media_type_is(const char *ct, const char *name)
{
	size_t n = strlen(name);

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, name, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* ------------------------------------------------------------------ */
/* Validators.                                                         */

int
oa_valid_vschar(const char *v, size_t len)
{
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

int
oa_valid_printable(const char *v, size_t len)
{
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

int
oa_valid_unreserved(const char *v, size_t len)
{
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_unreserved((unsigned char)v[i]))
			return 0;
	return 1;
}

int
oa_valid_b64url(const char *v, size_t len)
{
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_b64url((unsigned char)v[i]))
			return 0;
	return 1;
}

/* RFC 7636 §4.1: code-verifier = 43*128unreserved */
int
oa_valid_pkce_verifier(const char *v, size_t len)
{
	if (len < 43 || len > 128)
		return 0;
	return oa_valid_unreserved(v, len);
}

/*
 * RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(verifier)), i.e. 32
 * bytes in 43 characters. 43 characters carry 258 bits, so the last one
 * must leave its 2 low bits zero: a challenge that is not the canonical
 * encoding of a digest could never match and is refused here, where the
 * client is told why.
 */
int
oa_valid_pkce_challenge(const char *v, size_t len)
{
	static const char last[] = "AEIMQUYcgkosw048";

	if (len != 43 || !oa_valid_b64url(v, len))
		return 0;
	return strchr(last, v[42]) != NULL;
}

int
oa_valid_client_id(const char *v, size_t len)
{
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!is_unreserved(c) && c != ':' && c != '@' && c != '+')
			return 0;
	}
	return 1;
}

/* RFC 3986 §2: unreserved, gen-delims, sub-delims and '%'. */
int
oa_valid_uri(const char *v, size_t len)
{
	static const char other[] = ":/?#[]@!$&'()*+,;=%";
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (is_unreserved(c))
			continue;
		if (c == '\0' || strchr(other, c) == NULL)
			return 0;
	}
	return 1;
}

/* RFC 6749 §3.3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B /
 * %x5D-7E; tokens separated by one space. */
int
oa_valid_scope(const char *v, size_t len)
{
	size_t i;
	int tok = 0;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == ' ') {
			if (tok == 0)
				return 0;
			tok = 0;
			continue;
		}
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return 0;
		tok++;
	}
	return tok > 0;
}

/* RFC 6749 Appendix A: response-name = 1*response-char,
 * response-char = "_" / DIGIT / ALPHA; names separated by one space. */
int
oa_valid_names(const char *v, size_t len)
{
	size_t i;
	int tok = 0;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == ' ') {
			if (tok == 0)
				return 0;
			tok = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '_')
			return 0;
		tok++;
	}
	return tok > 0;
}

int
oa_valid_word(const char *v, size_t len)
{
	size_t i;

	if (v == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' &&
		    c != ':' && c != '-')
			return 0;
	}
	return 1;
}

/* Strict UTF-8 (RFC 3629 §4) without controls. */
int
oa_valid_text(const char *v, size_t len)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t i = 0;

	if (v == NULL || len == 0)
		return 0;
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n, k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0; /* continuation byte, 0xc0, 0xc1, > 0xf4 */
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0; /* overlong, out of range, surrogate */
		if (cp >= 0x80 && cp <= 0x9f)
			return 0; /* C1 controls */
		i += n + 1;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* application/x-www-form-urlencoded.                                  */

/*
 * Decodes len bytes of s ('+' is a space, strict %XX) into d, which has
 * room for len + 1 bytes, NUL-terminated; *outlen gets the decoded
 * length. 0, or -1 on a bad escape (d is then wiped).
 */
static int
form_decode_into(const char *s, size_t len, char *d, size_t *outlen)
{
	size_t i, j = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int hi, lo;
			if (len - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0) {
				OPENSSL_cleanse(d, len + 1);
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		d[j++] = (char)c;
	}
	d[j] = '\0';
	*outlen = j;
	return 0;
}

/*
 * The same into a malloc'd buffer. Returns 0, -1 on a bad escape, -2
 * when out of memory.
 */
static int
form_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char *d;

	if ((d = malloc(len + 1)) == NULL)
		return -2;
	if (form_decode_into(s, len, d, outlen) == -1) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

const char *
oa_param_error_str(enum oa_param_error err)
{
	switch (err) {
	case OA_PARAM_OK:
		return "ok";
	case OA_PARAM_TOO_LARGE:
		return "request too large";
	case OA_PARAM_TOO_MANY:
		return "too many parameters";
	case OA_PARAM_BAD_ENCODING:
		return "malformed percent-encoding";
	case OA_PARAM_DUPLICATE:
		return "duplicate parameter";
	case OA_PARAM_CONTROL:
		return "control character in value";
	case OA_PARAM_TOO_LONG:
		return "value too long";
	case OA_PARAM_INVALID:
		return "invalid value";
	case OA_PARAM_MISSING:
		return "missing parameter";
	case OA_PARAM_NOMEM:
		return "out of memory";
	}
	return "unknown error";
}

/* Records the first problem only. */
static void
param_fail(struct oa_params *p, enum oa_param_error err, const char *name)
{
	const char *what = oa_param_error_str(err);
	size_t n = 0, wl, nl;

	if (p->err != OA_PARAM_OK)
		return;
	p->err = err;
	p->err_name = name;
	/* Built by hand: the name is ours (a spec constant), not input. */
	if (name != NULL) {
		nl = strlen(name);
		if (nl > sizeof(p->err_desc) - 64)
			nl = sizeof(p->err_desc) - 64;
		memcpy(p->err_desc, name, nl);
		n = nl;
		memcpy(p->err_desc + n, ": ", 2);
		n += 2;
	}
	wl = strlen(what);
	memcpy(p->err_desc + n, what, wl);
	n += wl;
	p->err_desc[n] = '\0';
}

/*
 * A parse is one allocation: the result, its v, len and seen arrays, and
 * an arena the declared values are decoded into. Each pair decodes to at
 * most its own length plus a NUL, and at most OA_PARAMS_MAX_COUNT pairs
 * are read, so len + OA_PARAMS_MAX_COUNT + 1 bytes always suffice.
 */
struct params_block {
	struct oa_params p;      /* first: the pointer handed out */
	unsigned char *seen;     /* 1 once a declared name was given */
	char *arena;
	size_t cap;              /* bytes of arena */
	size_t used;             /* bytes handed out (high-water mark) */
};

static struct params_block *
block_of(struct oa_params *p)
{
	return (struct params_block *)(void *)p;
}

/* Wipes value i; its bytes stay in the arena (wiped again on free). */
static void
param_clear(struct oa_params *p, size_t i)
{
	if (p->v[i] != NULL)
		OPENSSL_cleanse(p->v[i], p->len[i]);
	p->v[i] = NULL;
	p->len[i] = 0;
}

/* Room for n objects of type T at offset off, aligned for T. */
#define ALIGN_UP(off, T) (((off) + _Alignof(T) - 1) & ~(_Alignof(T) - 1))

struct oa_params *
oa_params_parse(
    const struct oa_param_spec *spec, size_t nspec, const char *in, size_t len)
{
	struct params_block *b;
	struct oa_params *p = NULL;
	unsigned char *seen;
	size_t pos = 0, count = 0, i, off_v, off_len, off_seen, off_arena;
	size_t cap, total;

	if (spec == NULL || nspec == 0 || nspec > SIZE_MAX / 64)
		return NULL;
	if (in == NULL)
		len = 0;
	cap = len <= OA_PARAMS_MAX_INPUT ? len + OA_PARAMS_MAX_COUNT + 1 : 0;
	off_v = ALIGN_UP(sizeof(*b), char *);
	off_len = ALIGN_UP(off_v + nspec * sizeof(char *), size_t);
	off_seen = off_len + nspec * sizeof(size_t);
	off_arena = off_seen + nspec;
	total = off_arena + cap;
	if ((b = calloc(1, total)) == NULL)
		goto nomem;
	p = &b->p;
	p->v = (char **)(void *)((char *)b + off_v);
	p->len = (size_t *)(void *)((char *)b + off_len);
	b->seen = seen = (unsigned char *)b + off_seen;
	b->arena = (char *)b + off_arena;
	b->cap = cap;
	p->spec = spec;
	p->nspec = nspec;
	p->err = OA_PARAM_OK;
	strcpy(p->err_desc, "ok");

	if (len > OA_PARAMS_MAX_INPUT) {
		param_fail(p, OA_PARAM_TOO_LARGE, NULL);
		goto out;
	}

	while (pos < len) {
		const char *pair = in + pos, *amp, *eq;
		size_t plen, nlen, vlen, maxlen, start;
		char *name = NULL, *val, nbuf[64];
		size_t dnlen, dvlen;
		int r;

		amp = memchr(pair, '&', len - pos);
		plen = amp ? (size_t)(amp - pair) : len - pos;
		pos += plen + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2" */
		if (++count > OA_PARAMS_MAX_COUNT) {
			param_fail(p, OA_PARAM_TOO_MANY, NULL);
			break;
		}
		eq = memchr(pair, '=', plen);
		nlen = eq ? (size_t)(eq - pair) : plen;
		vlen = eq ? plen - nlen - 1 : 0;

		/* Names are short: decoded on the stack when they fit. */
		if (nlen < sizeof(nbuf)) {
			name = nbuf;
			r = form_decode_into(pair, nlen, nbuf, &dnlen);
		} else
			r = form_decode(pair, nlen, &name, &dnlen);
		if (r == -2)
			goto nomem;
		if (r == -1) {
			param_fail(p, OA_PARAM_BAD_ENCODING, NULL);
			continue;
		}
		/* Length-aware match: "state%00" is not "state". */
		for (i = 0; i < nspec; i++)
			if (strlen(spec[i].name) == dnlen &&
			    memcmp(spec[i].name, name, dnlen) == 0)
				break;
		if (name != nbuf)
			free(name);
		if (i == nspec)
			continue; /* unknown: ignored, value not decoded */

		/* Into the arena; a value that is not kept gives its room
		 * back (it is the last one handed out). */
		start = b->used;
		if (cap - start < vlen + 1)
			goto nomem; /* cannot happen: see struct params_block */
		val = b->arena + start;
		if (form_decode_into(eq ? eq + 1 : pair + plen, vlen, val,
		    &dvlen) == -1) {
			param_fail(p, OA_PARAM_BAD_ENCODING, spec[i].name);
			param_clear(p, i);
			seen[i] = 1;
			continue;
		}
		if (dvlen == 0) {
			/* RFC 6749 §3.1: sent without a value = omitted. */
			continue;
		}
		if (seen[i]) {
			/* RFC 6749 §3.1: MUST NOT be included more than once.
			 * We cannot tell which copy is meant: keep neither. */
			param_fail(p, OA_PARAM_DUPLICATE, spec[i].name);
			param_clear(p, i);
			OPENSSL_cleanse(val, dvlen);
			continue;
		}
		seen[i] = 1;
		maxlen = spec[i].max_len ? spec[i].max_len : 1024;
		if (memchr(val, '\0', dvlen) || memchr(val, '\r', dvlen) ||
		    memchr(val, '\n', dvlen))
			r = OA_PARAM_CONTROL;
		else if (dvlen > maxlen)
			r = OA_PARAM_TOO_LONG;
		else if (spec[i].valid != NULL && !spec[i].valid(val, dvlen))
			r = OA_PARAM_INVALID;
		else
			r = OA_PARAM_OK;
		if (r != OA_PARAM_OK) {
			param_fail(p, (enum oa_param_error)r, spec[i].name);
			OPENSSL_cleanse(val, dvlen);
			continue;
		}
		p->v[i] = val;
		p->len[i] = dvlen;
		b->used = start + dvlen + 1;
	}

	for (i = 0; i < nspec; i++)
		if (spec[i].required && !seen[i])
			param_fail(p, OA_PARAM_MISSING, spec[i].name);
out:
	return p;
nomem:
	oa_log(OA_LOG_ERROR, "oa_params_parse: out of memory");
	oa_params_free(p);
	return NULL;
}

const char *
oa_params_get(const struct oa_params *p, const char *name)
{
	size_t i;

	if (p == NULL || name == NULL)
		return NULL;
	for (i = 0; i < p->nspec; i++)
		if (strcmp(p->spec[i].name, name) == 0)
			return p->v[i];
	return NULL;
}

void
oa_params_free(struct oa_params *p)
{
	struct params_block *b;

	if (p == NULL)
		return;
	b = block_of(p);
	/* Values kept, refused and given back all lie in the arena, which
	 * is as long as the input: all of it is wiped. */
	OPENSSL_cleanse(b->arena, b->cap);
	free(b);
}

/* ------------------------------------------------------------------ */
/* Cookie header.                                                      */

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

int
oa_cookies_parse(const char *header, size_t len, struct oa_cookies **out)
{
	struct oa_cookies *c = NULL;
	size_t i, pos, cap;

	if (header == NULL)
		len = 0;
	if (len > OA_COOKIES_MAX_INPUT)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)header[i];
		if ((b < 0x20 && b != '\t') || b == 0x7f)
			return -1;
	}
	/* At most one pair per ';'-separated piece. */
	cap = 1;
	for (i = 0; i < len; i++)
		if (header[i] == ';')
			cap++;
	if (cap > OA_COOKIES_MAX_COUNT + 1)
		cap = OA_COOKIES_MAX_COUNT + 1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->buf = malloc(len + 1)) == NULL ||
	    (c->names = calloc(cap, sizeof(*c->names))) == NULL ||
	    (c->values = calloc(cap, sizeof(*c->values))) == NULL)
		goto fail;
	if (len > 0)
		memcpy(c->buf, header, len);
	c->buf[len] = '\0';
	c->buflen = len + 1;

	pos = 0;
	while (pos < len) {
		char *s = c->buf + pos, *end, *eq, *n0, *n1, *v0, *v1;
		size_t plen;

		end = memchr(s, ';', len - pos);
		plen = end ? (size_t)(end - s) : len - pos;
		pos += plen + 1;
		s[plen] = '\0'; /* the ';' or the final NUL */
		eq = memchr(s, '=', plen);
		if (eq == NULL)
			continue; /* no '=': not a cookie-pair, skipped */
		n0 = s;
		n1 = eq;
		while (n0 < n1 && is_ws(*n0))
			n0++;
		while (n1 > n0 && is_ws(n1[-1]))
			n1--;
		if (n0 == n1)
			continue; /* empty name */
		v0 = eq + 1;
		v1 = s + plen;
		while (v0 < v1 && is_ws(*v0))
			v0++;
		while (v1 > v0 && is_ws(v1[-1]))
			v1--;
		if (c->n == OA_COOKIES_MAX_COUNT)
			goto fail;
		*n1 = '\0';
		*v1 = '\0';
		c->names[c->n] = n0;
		c->values[c->n] = v0;
		c->n++;
	}
	*out = c;
	return 0;
fail:
	oa_cookies_free(c);
	return -1;
}

enum oa_cookie_lookup
oa_cookies_get(const struct oa_cookies *c, const char *name, const char **value)
{
	const char *found = NULL;
	size_t i;

	if (c == NULL || name == NULL)
		return OA_COOKIE_ABSENT;
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->names[i], name) != 0)
			continue;
		if (found != NULL)
			return OA_COOKIE_DUPLICATE;
		found = c->values[i];
	}
	if (found == NULL)
		return OA_COOKIE_ABSENT;
	*value = found;
	return OA_COOKIE_FOUND;
}

void
oa_cookies_free(struct oa_cookies *c)
{
	if (c == NULL)
		return;
	if (c->buf != NULL) {
		OPENSSL_cleanse(c->buf, c->buflen);
		free(c->buf);
	}
	free(c->names);
	free(c->values);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Encoders.                                                           */

static const char hexdig[] = "0123456789ABCDEF";

/* Appends the encoding of s to d (room checked by the caller); returns
 * the new end. */
static char *
encode_into(char *d, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c))
			*d++ = (char)c;
		else {
			*d++ = '%';
			*d++ = hexdig[c >> 4];
			*d++ = hexdig[c & 15];
		}
	}
	return d;
}

static size_t
encoded_len(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += is_unreserved((unsigned char)s[i]) ? 1 : 3;
	return n;
}

char *
oa_url_encode(const char *s, size_t len)
{
	char *d, *e;

	if (s == NULL || len > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((d = malloc(encoded_len(s, len) + 1)) == NULL)
		return NULL;
	e = encode_into(d, s, len);
	*e = '\0';
	return d;
}

/* The pairs as "a=1&b=2" appended at d; total room computed by
 * pairs_len(). Returns the new end. */
static size_t
pairs_len(const struct oa_kv *kv, size_t n, int *ok)
{
	size_t i, total = 0, k = 0;

	*ok = 1;
	for (i = 0; i < n; i++) {
		size_t nl, vl;
		if (kv[i].value == NULL)
			continue;
		if (kv[i].name == NULL) {
			*ok = 0;
			return 0;
		}
		nl = strlen(kv[i].name);
		vl = strlen(kv[i].value);
		if (nl > SIZE_MAX / 8 || vl > SIZE_MAX / 8) {
			*ok = 0;
			return 0;
		}
		total += (k++ ? 1 : 0) + encoded_len(kv[i].name, nl) + 1 +
		    encoded_len(kv[i].value, vl);
	}
	return total;
}

static char *
pairs_into(char *d, const struct oa_kv *kv, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (kv[i].value == NULL)
			continue;
		if (k++)
			*d++ = '&';
		d = encode_into(d, kv[i].name, strlen(kv[i].name));
		*d++ = '=';
		d = encode_into(d, kv[i].value, strlen(kv[i].value));
	}
	return d;
}

char *
oa_url_append(
    const char *base, enum oa_url_part part, const struct oa_kv *kv, size_t n)
{
	size_t blen, plen;
	const char *sep = "";
	char *d, *e;
	int ok;

	if (base == NULL || (kv == NULL && n > 0))
		return NULL;
	/* RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment. */
	if (strchr(base, '#') != NULL)
		return NULL;
	blen = strlen(base);
	plen = pairs_len(kv, n, &ok);
	if (!ok || blen > SIZE_MAX / 4)
		return NULL;
	if (plen > 0) {
		if (part == OA_URL_FRAGMENT)
			sep = "#";
		else if (strchr(base, '?') == NULL)
			sep = "?";
		else if (base[blen - 1] != '?' && base[blen - 1] != '&')
			sep = "&";
	}
	if ((d = malloc(blen + 1 + plen + 1)) == NULL)
		return NULL;
	memcpy(d, base, blen);
	e = d + blen;
	if (*sep)
		*e++ = *sep;
	e = pairs_into(e, kv, n);
	*e = '\0';
	return d;
}

char *
oa_form_encode(const struct oa_kv *kv, size_t n)
{
	size_t plen;
	char *d, *e;
	int ok;

	if (kv == NULL && n > 0)
		return NULL;
	plen = pairs_len(kv, n, &ok);
	if (!ok)
		return NULL;
	if ((d = malloc(plen + 1)) == NULL)
		return NULL;
	e = pairs_into(d, kv, n);
	*e = '\0';
	return d;
}

char *
oa_html_escape(const char *s)
{
	size_t i, n = 0, len;
	char *d, *e;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len > SIZE_MAX / 8)
		return NULL;
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			n += 5;
			break;
		case '<':
		case '>':
			n += 4;
			break;
		case '"':
			n += 6;
			break;
		case '\'':
			n += 5;
			break;
		default:
			n++;
		}
	}
	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	e = d;
	for (i = 0; i < len; i++) {
		const char *r = NULL;
		switch (s[i]) {
		case '&':
			r = "&amp;";
			break;
		case '<':
			r = "&lt;";
			break;
		case '>':
			r = "&gt;";
			break;
		case '"':
			r = "&quot;";
			break;
		case '\'':
			r = "&#39;";
			break;
		}
		if (r != NULL) {
			size_t rl = strlen(r);
			memcpy(e, r, rl);
			e += rl;
		} else
			*e++ = s[i];
	}
	*e = '\0';
	return d;
}
