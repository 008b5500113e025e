/*
 * cgi.c - one request at a time, as plain CGI (RFC 3875) or FastCGI
 * (libfcgi's FCGX interface; not fcgi_stdio, which rewrites stdio and
 * environ under our feet).
 *
 * The response is buffered and written in one piece after the handler
 * returns: a handler that fails half-way still produces a complete, clean
 * 500, the Content-Length is always right, and HEAD drops the body in one
 * place. Responses here are small (JSON, redirects, short pages).
 */
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <openssl/crypto.h>

#include "ownauth.h"
#include "bytes_int.h"

/* A growable byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

/* At most this much input is read and dropped at the end of a request
 * so that the connection can be closed at once (see close_at_once);
 * beyond it libfcgi's lingering close does the work. */
#define DRAIN_MAX (64 * 1024)

/* Buffers larger than this are given back after each request, so that
 * a long-lived FastCGI worker's memory stays flat. */
#define BUF_KEEP (64 * 1024)

struct oa_cgi_priv {
	FCGX_Request *req;     /* NULL in plain CGI mode */
	int status;
	int failed;            /* a refused header or allocation failure */
	struct buf head;       /* "Name: value\r\n" lines */
	struct buf body;
	int has_ctype;
	char *in;              /* the request body, wiped after the request */
	size_t in_len;
	int in_read;
};

static volatile sig_atomic_t stop_requested;
/* /dev/null, put in place of the listening socket on SIGTERM. */
static int stop_fd = -1;

static int
buf_add(struct buf *b, const void *data, size_t len)
{
	size_t need, cap;
	char *p;

	if (len > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + len + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

/* Empties b, giving the memory back when it grew large. */
static void
buf_clear(struct buf *b)
{
	if (b->cap > BUF_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
	b->len = 0;
}

const char *
oa_cgi_env(const struct oa_cgi *c, const char *name)
{
	if (c->priv->req != NULL)
		return FCGX_GetParam(name, c->priv->req->envp);
	return getenv(name);
}

/* CONTENT_LENGTH: -1 absent or empty, -2 not plain decimal digits. */
static long long
parse_length(const char *s)
{
	long long n = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -2;
		if (n > (LLONG_MAX - 9) / 10)
			return -2;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* The variables request_setup() reads, in the order of its vars[]. */
enum {
	V_REQUEST_METHOD,
	V_PATH_INFO,
	V_QUERY_STRING,
	V_CONTENT_TYPE,
	V_HTTP_COOKIE,
	V_HTTP_ORIGIN,
	V_HTTP_IF_NONE_MATCH,
	V_REMOTE_ADDR,
	V_CONTENT_LENGTH,
	V_HTTPS,
	V_REQUEST_SCHEME,
	V_COUNT
};

/*
 * Finds the variables of vars[] in the environment env (NULL-terminated
 * "NAME=value" strings) in one pass over it, the first of each name
 * winning (as with getenv and FCGX_GetParam, which would scan it once
 * per name).
 */
static void
env_scan(char **env, const char *val[V_COUNT])
{
	static const struct {
		const char *name;
		size_t len;
	} vars[V_COUNT] = {
#define V(n) { n "=", sizeof(n) }
		[V_REQUEST_METHOD] = V("REQUEST_METHOD"),
		[V_PATH_INFO] = V("PATH_INFO"),
		[V_QUERY_STRING] = V("QUERY_STRING"),
		[V_CONTENT_TYPE] = V("CONTENT_TYPE"),
		[V_HTTP_COOKIE] = V("HTTP_COOKIE"),
		[V_HTTP_ORIGIN] = V("HTTP_ORIGIN"),
		[V_HTTP_IF_NONE_MATCH] = V("HTTP_IF_NONE_MATCH"),
		[V_REMOTE_ADDR] = V("REMOTE_ADDR"),
		[V_CONTENT_LENGTH] = V("CONTENT_LENGTH"),
		[V_HTTPS] = V("HTTPS"),
		[V_REQUEST_SCHEME] = V("REQUEST_SCHEME"),
#undef V
	};
	size_t i;

	for (i = 0; i < V_COUNT; i++)
		val[i] = NULL;
	for (; env != NULL && *env != NULL; env++) {
		const char *e = *env;

		/* Every name starts with one of these. */
		if (e[0] != 'R' && e[0] != 'P' && e[0] != 'Q' &&
		    e[0] != 'C' && e[0] != 'H')
			continue;
		for (i = 0; i < V_COUNT; i++)
			if (val[i] == NULL &&
			    strncmp(e, vars[i].name, vars[i].len) == 0) {
				val[i] = e + vars[i].len;
				break;
			}
	}
}

/* Fills the request members of c from its environment. */
static void
request_setup(struct oa_cgi *c)
{
	const char *v[V_COUNT], *https, *scheme;

	env_scan(c->priv->req != NULL ? c->priv->req->envp : environ, v);
	c->method = v[V_REQUEST_METHOD] != NULL ? v[V_REQUEST_METHOD] : "GET";
	if (*c->method == '\0')
		c->method = "GET";
	c->path_info = v[V_PATH_INFO] != NULL ? v[V_PATH_INFO] : "";
	c->query_string = v[V_QUERY_STRING] != NULL ? v[V_QUERY_STRING] : "";
	c->content_type = v[V_CONTENT_TYPE];
	c->cookie = v[V_HTTP_COOKIE];
	c->origin = v[V_HTTP_ORIGIN];
	c->if_none_match = v[V_HTTP_IF_NONE_MATCH];
	c->remote_addr = v[V_REMOTE_ADDR] != NULL ? v[V_REMOTE_ADDR] : "";
	c->content_length = parse_length(v[V_CONTENT_LENGTH]);
	https = v[V_HTTPS];
	scheme = v[V_REQUEST_SCHEME];
	c->https = (https != NULL && (strcasecmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0)) ||
	    (scheme != NULL && strcasecmp(scheme, "https") == 0);
	c->is_head = strcmp(c->method, "HEAD") == 0;
}

/* Forgets the request: wipes the body read, empties the response. */
static void
request_clear(struct oa_cgi *c)
{
	struct oa_cgi_priv *p = c->priv;

	if (p->in != NULL) {
		OPENSSL_cleanse(p->in, p->in_len);
		free(p->in);
	}
	p->in = NULL;
	p->in_len = 0;
	p->in_read = 0;
	oa_cgi_reset(c);
}

void
oa_cgi_reset(struct oa_cgi *c)
{
	struct oa_cgi_priv *p = c->priv;

	p->status = 200;
	p->failed = 0;
	p->has_ctype = 0;
	/* The body may have held tokens. */
	if (p->body.p != NULL)
		OPENSSL_cleanse(p->body.p, p->body.len);
	if (p->head.p != NULL)
		OPENSSL_cleanse(p->head.p, p->head.len);
	buf_clear(&p->head);
	buf_clear(&p->body);
}

/* Reads up to len bytes of the request body; returns the count read. */
static size_t
read_in(struct oa_cgi *c, char *dst, size_t len)
{
	size_t got = 0, n;
	int r;

	if (c->priv->req == NULL) {
		while (got < len) {
			n = fread(dst + got, 1, len - got, stdin);
			if (n == 0)
				break;
			got += n;
		}
		return got;
	}
	while (got < len) {
		n = len - got > INT_MAX ? INT_MAX : len - got;
		r = FCGX_GetStr(dst + got, (int)n, c->priv->req->in);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

enum oa_cgi_body_result
oa_cgi_read_body(struct oa_cgi *c, size_t max, const char **bufp,
    size_t *lenp)
{
	struct oa_cgi_priv *p = c->priv;
	size_t len;

	if (!p->in_read) {
		if (c->content_length == -2) {
			oa_log(OA_LOG_INFO, "request: malformed "
			    "CONTENT_LENGTH");
			return OA_CGI_BODY_BAD;
		}
		/* Refuse before reading a byte (SECURITY.md item 26). */
		if (c->content_length > 0 &&
		    (unsigned long long)c->content_length > max) {
			oa_log(OA_LOG_INFO, "request: body of %lld bytes "
			    "refused (limit %zu)", c->content_length, max);
			return OA_CGI_BODY_TOO_LARGE;
		}
		len = c->content_length > 0 ? (size_t)c->content_length : 0;
		if ((p->in = malloc(len + 1)) == NULL) {
			oa_log(OA_LOG_ERROR, "oa_cgi_read_body: out of memory");
			return OA_CGI_BODY_BAD;
		}
		p->in_len = read_in(c, p->in, len);
		p->in[p->in_len] = '\0';
		p->in_read = 1;
		if (p->in_len != len)
			oa_log(OA_LOG_INFO, "request: body is %zu bytes, "
			    "CONTENT_LENGTH said %zu", p->in_len, len);
	}
	if (p->in_len != (c->content_length > 0 ?
	    (size_t)c->content_length : 0))
		return OA_CGI_BODY_BAD;
	if (p->in_len > max)
		return OA_CGI_BODY_TOO_LARGE;
	*bufp = p->in;
	if (lenp != NULL)
		*lenp = p->in_len;
	return OA_CGI_BODY_OK;
}

int
oa_cgi_status(struct oa_cgi *c, int code)
{
	if (code < 100 || code > 599) {
		oa_log(OA_LOG_ERROR, "oa_cgi_status: bad status %d", code);
		c->priv->failed = 1;
		return -1;
	}
	c->priv->status = code;
	return 0;
}

/* RFC 9110 §5.6.2 tchar ("!" "#" "$" "%" "&" "'" "*" "+" "-" "." "^"
 * "_" "`" "|" "~" DIGIT ALPHA) as a bitmap of 0x00-0x3f and 0x40-0x7f. */
static const uint64_t tchar_bits[2] = {
	0x03ff6cfa00000000ULL,
	0x57ffffffc7fffffeULL,
};

static int
is_tchar(unsigned char b)
{
	return b < 0x80 && (tchar_bits[b >> 6] >> (b & 63) & 1);
}

/* The length of s when it is a token (1*tchar), else 0. */
static size_t
token_len(const char *s)
{
	size_t n;

	for (n = 0; is_tchar((unsigned char)s[n]); n++)
		continue;
	return s[n] == '\0' ? n : 0;
}

/* 1 when name (n bytes) is lit, ignoring ASCII case. */
static int
name_is(const char *name, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(name, lit, n) == 0;
}

/* The header value bytes refused: CR and LF (response splitting) and
 * every other control byte but HTAB. */
static int
value_byte_ok(unsigned char b)
{
	return (b >= 0x20 || b == '\t') && b != 0x7f;
}

/* 1 when every byte of v (len bytes) may be in a header value. Eight
 * bytes at a time; a word with a control byte in it (a HTAB perhaps) is
 * looked at byte by byte. */
static int
value_ok(const char *v, size_t len)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t i = 0, k;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		w = oa_word(p + i);
		if (oa_any_below(w, 0x20) | oa_any_equal(w, 0x7f))
			for (k = i; k < i + 8; k++)
				if (!value_byte_ok(p[k]))
					return 0;
	}
	for (; i < len; i++)
		if (!value_byte_ok(p[i]))
			return 0;
	return 1;
}

int
oa_cgi_header(struct oa_cgi *c, const char *name, const char *value)
{
	struct oa_cgi_priv *p = c->priv;
	size_t nlen, vlen;

	if (name == NULL || value == NULL || (nlen = token_len(name)) == 0 ||
	    name_is(name, nlen, "Status") ||
	    name_is(name, nlen, "Content-Length")) {
		oa_log(OA_LOG_ERROR, "oa_cgi_header: refused header name %s",
		    name != NULL && token_len(name) != 0 ? name : "(invalid)");
		goto fail;
	}
	vlen = strlen(value);
	if (!value_ok(value, vlen)) {
		oa_log(OA_LOG_ERROR, "oa_cgi_header: control byte in the "
		    "value of %s refused", name);
		goto fail;
	}
	if (buf_add(&p->head, name, nlen) == -1 ||
	    buf_add(&p->head, ": ", 2) == -1 ||
	    buf_add(&p->head, value, vlen) == -1 ||
	    buf_add(&p->head, "\r\n", 2) == -1) {
		oa_log(OA_LOG_ERROR, "oa_cgi_header: out of memory");
		goto fail;
	}
	if (name_is(name, nlen, "Content-Type"))
		p->has_ctype = 1;
	return 0;
fail:
	p->failed = 1;
	return -1;
}

int
oa_cgi_body(struct oa_cgi *c, const void *data, size_t len)
{
	if (buf_add(&c->priv->body, data, len) == -1) {
		oa_log(OA_LOG_ERROR, "oa_cgi_body: out of memory");
		c->priv->failed = 1;
		return -1;
	}
	return 0;
}

int
oa_cgi_printf(struct oa_cgi *c, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		goto fail;
	if ((size_t)n < sizeof(small))
		return oa_cgi_body(c, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		goto fail;
	va_start(ap, fmt);
	n = vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = n < 0 ? -1 : oa_cgi_body(c, big, (size_t)n);
	free(big);
	if (rc == 0)
		return 0;
fail:
	oa_log(OA_LOG_ERROR, "oa_cgi_printf: cannot format");
	c->priv->failed = 1;
	return -1;
}

int
oa_cgi_redirect(struct oa_cgi *c, int code, const char *location)
{
	if (code != 301 && code != 302 && code != 303 && code != 307 &&
	    code != 308) {
		oa_log(OA_LOG_ERROR, "oa_cgi_redirect: bad status %d", code);
		c->priv->failed = 1;
		return -1;
	}
	if (location == NULL || *location == '\0') {
		oa_log(OA_LOG_ERROR, "oa_cgi_redirect: empty location");
		c->priv->failed = 1;
		return -1;
	}
	c->priv->status = code;
	return oa_cgi_header(c, "Location", location);
}

const char *
oa_cgi_status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

int
oa_http_date(time_t t, char buf[32])
{
	/* IMF-fixdate is English whatever the locale: no strftime %a/%b. */
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -1;
	n = snprintf(buf, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n > 0 && n < 32 ? 0 : -1;
}

/* Writes all of data to the request's output. 0 or -1. */
static int
out_write(struct oa_cgi *c, const char *data, size_t len)
{
	size_t n;
	int w;

	if (c->priv->req == NULL)
		return fwrite(data, 1, len, stdout) == len ? 0 : -1;
	while (len > 0) {
		n = len > INT_MAX ? INT_MAX : len;
		if ((w = FCGX_PutStr(data, (int)n, c->priv->req->out)) < 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Replaces whatever the handler wrote with a fixed 500. */
static void
set_internal_error(struct oa_cgi *c)
{
	static const char msg[] = "Internal Server Error\n";

	oa_cgi_reset(c);
	c->priv->status = 500;
	/* These cannot fail but on allocation failure; then the response
	 * goes out with whatever headers it has. */
	oa_cgi_header(c, "Content-Type", "text/plain; charset=utf-8");
	oa_cgi_header(c, "Cache-Control", "no-store");
	oa_cgi_body(c, msg, sizeof(msg) - 1);
	c->priv->failed = 0;
}

/*
 * Writes the complete response: Status, headers, blank line, body. The
 * pieces go straight to the output stream, whose buffer (libfcgi's, or
 * stdio's) sends them in one write for the responses we make. Returns
 * -1 when it could not be built (nothing was written); a failed write
 * (the client went away) is only logged.
 */
static int
response_send(struct oa_cgi *c)
{
	struct oa_cgi_priv *p = c->priv;
	char line[96], len[48];
	int no_body, n, m = 0;

	/* RFC 9110 §6.4.1: 1xx, 204 and 304 have no content. */
	no_body = p->status < 200 || p->status == 204 || p->status == 304;
	if (no_body)
		buf_clear(&p->body);
	if (!no_body && p->body.len > 0 && !p->has_ctype &&
	    oa_cgi_header(c, "Content-Type", "text/plain; charset=utf-8") == -1)
		return -1;
	n = snprintf(line, sizeof(line), "Status: %d %s\r\n", p->status,
	    oa_cgi_status_text(p->status));
	/* The length of the body a GET would get, also for HEAD. */
	if (!no_body)
		m = snprintf(len, sizeof(len), "Content-Length: %zu\r\n",
		    p->body.len);
	if (n < 0 || (size_t)n >= sizeof(line) || m < 0 ||
	    (size_t)m >= sizeof(len))
		return -1;
	if (out_write(c, line, (size_t)n) == -1 ||
	    (p->head.len > 0 && out_write(c, p->head.p, p->head.len) == -1) ||
	    out_write(c, len, (size_t)m) == -1 ||
	    out_write(c, "\r\n", 2) == -1 ||
	    (!no_body && !c->is_head && p->body.len > 0 &&
	    out_write(c, p->body.p, p->body.len) == -1))
		oa_log(OA_LOG_DEBUG, "response: write failed (client gone?)");
	return 0;
}

/* Runs the handler on the current request and writes its response.
 * Returns 1 when the request had no body or the handler read all of it,
 * else 0. */
static int
serve(struct oa_cgi *c, int (*handler)(struct oa_cgi *, void *), void *arg)
{
	int body_done;

	request_setup(c);
	oa_cgi_reset(c);
	if (handler(c, arg) != 0 || c->priv->failed)
		set_internal_error(c);
	if (response_send(c) == -1) {
		/* Could not even build it: try the small fixed 500. */
		set_internal_error(c);
		response_send(c);
	}
	body_done = c->content_length == -1 || c->content_length == 0 ||
	    (c->priv->in_read && c->content_length > 0 &&
	    c->priv->in_len == (size_t)c->content_length);
	request_clear(c);
	return body_done;
}

/*
 * libfcgi ends each connection with a lingering close: shutdown(SHUT_WR),
 * then poll() and read() until the web server closes its end. It exists
 * because closing a TCP socket that still holds unread input makes the
 * kernel send a reset, which can destroy the response still in flight.
 * When the request's input has been read to its end (the empty
 * FCGI_STDIN record) and the socket holds no unread byte, there is
 * nothing to reset, and a plain close() is enough: the worker is free
 * for the next connection at once, and the web server sees one event
 * less per request. FCGX_Detach() is libfcgi's way to ask for that close
 * (FCGX_Free then skips the shutdown). A connection the web server keeps
 * open (FCGI_KEEP_CONN) is never closed here. The fields read are
 * FCGX_Request's own (fcgiapp.h), read only.
 *
 * Only a request without a body, or whose body the handler read whole,
 * is ended this way: what is left to read then is the empty FCGI_STDIN
 * record, which the web server sends with the request, whatever its
 * client does. A body left unread (a 413 before reading a byte) may
 * still be arriving from a slow client; libfcgi's close sends the
 * response first and then reads the rest.
 */
static void
close_at_once(FCGX_Request *req, int body_done)
{
	char trash[1024];
	size_t dropped = 0;
	int n, unread;

	if (!body_done || req->keepConnection || req->ipcFd < 0)
		return;
	while (dropped < DRAIN_MAX &&
	    (n = FCGX_GetStr(trash, (int)sizeof(trash), req->in)) > 0)
		dropped += (size_t)n;
	if (FCGX_HasSeenEOF(req->in) != EOF || FCGX_GetError(req->in) != 0)
		return;
	if (ioctl(req->ipcFd, FIONREAD, &unread) == -1 || unread != 0)
		return;
	FCGX_Detach(req);
}

static void
on_sigterm(int sig)
{
	int save = errno;

	(void)sig;
	stop_requested = 1;
	/* Makes a blocked FCGX_Accept_r give up (async-signal-safe: it
	 * sets a flag). */
	FCGX_ShutdownPending();
	/* A SIGTERM that lands after the loop's test of stop_requested but
	 * before accept() enters the kernel interrupts nothing: accept()
	 * would block until the next connection. With /dev/null on the
	 * listening socket's descriptor, it fails at once instead. dup2 is
	 * async-signal-safe, and the socket itself stays open for the web
	 * server and any other process sharing it. */
	if (stop_fd != -1)
		dup2(stop_fd, 0);
	errno = save;
}

void
oa_cgi_init(void)
{
	struct rlimit rl = { 0, 0 };
	struct sigaction sa;
	static int done;

	if (done)
		return;
	done = 1;
	/* No core dumps: private keys and tokens are in memory. */
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		oa_log(OA_LOG_WARN, "setrlimit RLIMIT_CORE: %s",
		    strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* A client that goes away is a failed write, not a dead worker. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* FastCGI only: SIGTERM ends the loop after the current request. */
static void
fastcgi_signals(void)
{
	struct sigaction sa;

	if ((stop_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		oa_log(OA_LOG_WARN, "/dev/null: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked accept() returns EINTR. */
	sa.sa_handler = on_sigterm;
	sigaction(SIGTERM, &sa, NULL);
}

int
oa_cgi_main(int (*handler)(struct oa_cgi *c, void *arg), void *arg)
{
	struct oa_cgi c;
	struct oa_cgi_priv priv;
	FCGX_Request req;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	memset(&priv, 0, sizeof(priv));
	c.priv = &priv;

	oa_cgi_init();
	if (FCGX_IsCGI()) {
		serve(&c, handler, arg);
		if (fflush(stdout) == EOF)
			oa_log(OA_LOG_DEBUG, "response: write failed");
		goto out;
	}

	fastcgi_signals();
	c.fastcgi = 1;
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&req, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		oa_log(OA_LOG_ERROR, "FCGX_Init: cannot set up FastCGI");
		rc = -1;
		goto out;
	}
	priv.req = &req;
	while (!stop_requested) {
		if (FCGX_Accept_r(&req) < 0) {
			if (errno == EINTR && !stop_requested)
				continue;
			break;
		}
		close_at_once(&req, serve(&c, handler, arg));
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
out:
	request_clear(&c);
	free(priv.head.p);
	free(priv.body.p);
	return rc;
}
