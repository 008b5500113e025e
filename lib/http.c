/*
 * http.c - upstream HTTP with libcurl, the only file that uses it.
 *
 * Every request follows SECURITY item 25 and SPEC §2.2:
 *  - https only, except http to a loopback host. The URL is checked twice,
 *    with our own parser (oa_url_is_secure_or_loopback) and with curl's,
 *    and curl is then handed the very CURLU it parsed, so that no parser
 *    differential can send a request somewhere we did not check;
 *  - the only protocol curl may speak is that URL's scheme;
 *  - TLS 1.2 or later, peer certificate and host name verified;
 *  - connect and total timeouts, a response size cap (aborted in the
 *    write callback), no content decoding (no decompression bombs);
 *  - redirects are never followed (a 3xx is returned as a status);
 *  - credentials (bearer tokens, Basic client secrets) travel only in
 *    headers that are wiped once the request is done, and bodies are wiped
 *    when freed; nothing from a body is ever logged.
 *
 * The second half parses what upstreams send back: JSON documents and
 * token endpoint responses (RFC 6749 §5.1/§5.2), JSON or form-encoded.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ownauth.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_TIMEOUT_MS 10000L
#define HTTP_MAX_BODY ((size_t)1 << 20)
/* Longest member of a token response we accept. */
#define TOKEN_MEMBER_MAX 65536

static struct oa_http_limits limits = {
	HTTP_CONNECT_TIMEOUT_MS, HTTP_TIMEOUT_MS, HTTP_MAX_BODY, NULL,
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok;

static void
http_global_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		oa_log(OA_LOG_ERROR, "http: curl_global_init: %s",
		    curl_easy_strerror(rc));
		return;
	}
	init_ok = 1;
}

/* Initialises libcurl once per process. 0 or -1. */
int
oa_http_init(void)
{
	if (pthread_once(&init_once, http_global_init) != 0)
		return -1;
	return init_ok ? 0 : -1;
}

/* Copies *lim into the process-wide limits (zero members: defaults);
 * NULL restores the defaults. */
void
oa_http_set_limits(const struct oa_http_limits *lim)
{
	limits.connect_timeout_ms = lim != NULL && lim->connect_timeout_ms > 0 ?
	    lim->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_MS;
	limits.timeout_ms = lim != NULL && lim->timeout_ms > 0 ?
	    lim->timeout_ms : HTTP_TIMEOUT_MS;
	limits.max_body = lim != NULL && lim->max_body > 0 ?
	    lim->max_body : HTTP_MAX_BODY;
	limits.ca_file = lim != NULL ? lim->ca_file : NULL;
}

const char *
oa_http_result_str(enum oa_http_result r)
{
	switch (r) {
	case OA_HTTP_OK:
		return "ok";
	case OA_HTTP_STATUS:
		return "unexpected HTTP status";
	case OA_HTTP_INSECURE_URL:
		return "URL refused (https only, http only to loopback)";
	case OA_HTTP_CONNECT:
		return "connection failed";
	case OA_HTTP_TIMEOUT:
		return "timed out";
	case OA_HTTP_TLS:
		return "TLS failure";
	case OA_HTTP_TOO_BIG:
		return "response too big";
	case OA_HTTP_BAD_JSON:
		return "response is not the expected JSON";
	case OA_HTTP_ERROR:
		break;
	}
	return "HTTP request failed";
}

/* Wipes and frees the body, frees the other members, zeroes *resp. */
void
oa_http_resp_free(struct oa_http_resp *resp)
{
	if (resp == NULL)
		return;
	if (resp->body != NULL) {
		OPENSSL_cleanse(resp->body, resp->len + 1);
		free(resp->body);
	}
	free(resp->content_type);
	free(resp->location);
	memset(resp, 0, sizeof(*resp));
}

/* The response body as it arrives, capped at max bytes. */
struct body_buf {
	char *data;
	size_t len;
	size_t cap;      /* allocated bytes, one more than data can hold */
	size_t max;
	int too_big;
};

static void
body_buf_wipe(struct body_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * curl write callback. Returning less than n aborts the transfer with
 * CURLE_WRITE_ERROR; too_big tells that case apart. The buffer grows by
 * copy-wipe-free rather than realloc, so that no copy of a token is left
 * behind in freed memory.
 */
static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body_buf *b = arg;
	size_t n, want, ncap;
	char *nd;

	if (nmemb != 0 && size > SIZE_MAX / nmemb)
		return 0;
	n = size * nmemb;
	if (n > b->max - b->len) {
		b->too_big = 1;
		return 0;
	}
	want = b->len + n + 1;
	if (want > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < want)
			ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		if ((nd = malloc(ncap)) == NULL)
			return 0;
		if (b->data != NULL) {
			memcpy(nd, b->data, b->len);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Wipes every header line (they may hold credentials), then frees them. */
static void
headers_free(struct curl_slist *h)
{
	struct curl_slist *s;

	for (s = h; s != NULL; s = s->next)
		if (s->data != NULL)
			OPENSSL_cleanse(s->data, strlen(s->data));
	curl_slist_free_all(h);
}

/* Appends a header line to *h; 0 or -1 (the list is kept either way). */
static int
headers_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);

	if (n == NULL)
		return -1;
	*h = n;
	return 0;
}

/* 1 when s is a non-empty run of visible ASCII (0x21-0x7e), which is all
 * a credential that goes into a header line may contain. */
static int
is_token_chars(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* application/x-www-form-urlencoded (WHATWG URL §5.2): ALPHA DIGIT
 * "*-._" stay, space is "+", every other byte is %XX. Malloc'd. */
static char *
form_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = strlen(s);
	char *out, *p;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((out = p = malloc(3 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '*' || c == '-' || c == '.' ||
		    c == '_')
			*p++ = (char)c;
		else if (c == ' ')
			*p++ = '+';
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

/* "Authorization: Basic base64(form(user) ":" form(pass))" (RFC 6749
 * §2.3.1), malloc'd; the caller wipes it. NULL on failure. */
static char *
basic_header(const char *user, const char *pass)
{
	static const char prefix[] = "Authorization: Basic ";
	char *eu = NULL, *ep = NULL, *cred = NULL, *line = NULL;
	size_t lu, lp, lc, lb;

	if ((eu = form_escape(user)) == NULL ||
	    (ep = form_escape(pass != NULL ? pass : "")) == NULL)
		goto out;
	lu = strlen(eu);
	lp = strlen(ep);
	lc = lu + 1 + lp;
	if (lc > 65536)
		goto out;
	if ((cred = malloc(lc + 1)) == NULL)
		goto out;
	memcpy(cred, eu, lu);
	cred[lu] = ':';
	memcpy(cred + lu + 1, ep, lp + 1);
	lb = 4 * ((lc + 2) / 3);
	if ((line = malloc(sizeof(prefix) - 1 + lb + 1)) == NULL)
		goto out;
	memcpy(line, prefix, sizeof(prefix) - 1);
	EVP_EncodeBlock((unsigned char *)line + sizeof(prefix) - 1,
	    (const unsigned char *)cred, (int)lc);
out:
	oa_secret_free(eu);
	oa_secret_free(ep);
	oa_secret_free(cred);
	return line;
}

/* "scheme://host[:port]/path" of a parsed URL, without query or fragment
 * (a query may carry something private), for log lines. */
static void
url_for_log(CURLU *u, char *buf, size_t len)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	snprintf(buf, len, "%s://%s%s%s%s", scheme ? scheme : "?",
	    host ? host : "?", port ? ":" : "", port ? port : "",
	    path ? path : "");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
}

/*
 * Parses url with curl's own parser and checks, on what curl will use,
 * that it is https, or http to a loopback host; our parser must agree.
 * Writes the CURLU, "https"/"http" into *schemep (static) and whether
 * the host is a loopback one into *loopback. 0 or -1.
 */
static int
url_check(const char *url, CURLU **out, const char **schemep, int *loopback)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *user = NULL;
	int ok = -1;

	*loopback = 0;
	if (url == NULL) {
		oa_log(OA_LOG_ERROR, "http: no URL");
		return -1;
	}
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		oa_log(OA_LOG_ERROR, "http: refusing a malformed URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		oa_log(OA_LOG_ERROR, "http: refusing a URL with credentials");
		goto out;
	}
	if (strcmp(scheme, "https") == 0)
		*schemep = "https";
	else if (strcmp(scheme, "http") == 0 && oa_host_is_loopback(host))
		*schemep = "http";
	else {
		oa_log(OA_LOG_ERROR, "http: refusing %s://%s/...: upstream "
		    "URLs must be https (http only to a loopback host)",
		    scheme, host);
		goto out;
	}
	if (oa_url_is_secure_or_loopback(url) != 1) {
		oa_log(OA_LOG_ERROR, "http: refusing a URL for %s://%s/...: "
		    "not in the strict form required of upstream URLs "
		    "(oa_url_split)", scheme, host);
		goto out;
	}
	*loopback = oa_host_is_loopback(host);
	*out = u;
	u = NULL;
	ok = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return ok;
}

static int
is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

#define SETOPT(h, opt, val)                                              \
	do {                                                             \
		if ((crc = curl_easy_setopt((h), (opt), (val))) !=       \
		    CURLE_OK) {                                          \
			oa_log(OA_LOG_ERROR, "http: curl_easy_setopt(%s): " \
			    "%s", #opt, curl_easy_strerror(crc));        \
			goto out;                                        \
		}                                                        \
	} while (0)

/*
 * One request: GET when form is NULL, else a form POST. bearer or
 * basic_user (not both) add an Authorization header.
 */
static enum oa_http_result
http_do(const char *url, const char *form, const char *bearer,
    const char *basic_user, const char *basic_pass, struct oa_http_resp *out)
{
	enum oa_http_result res = OA_HTTP_ERROR;
	const char *method = form != NULL ? "POST" : "GET", *scheme = NULL;
	struct body_buf body = { NULL, 0, 0, limits.max_body, 0 };
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", where[512] = "?", *auth = NULL;
	char *ct = NULL, *loc = NULL;
	CURLU *u = NULL;
	CURL *h = NULL;
	CURLcode crc;
	long status = 0;
	curl_off_t connect_time = 0;
	int loopback = 0;

	if (oa_http_init() != 0)
		return OA_HTTP_ERROR;
	if (url_check(url, &u, &scheme, &loopback) != 0)
		return OA_HTTP_INSECURE_URL;
	url_for_log(u, where, sizeof(where));

	if (bearer != NULL) {
		size_t bl = strlen(bearer);
		if (!is_token_chars(bearer, bl) || bl > TOKEN_MEMBER_MAX) {
			oa_log(OA_LOG_ERROR, "http: %s %s: refusing a bearer "
			    "token with bytes a header cannot carry", method,
			    where);
			goto out;
		}
		if ((auth = malloc(sizeof("Authorization: Bearer ") + bl)) ==
		    NULL)
			goto out;
		memcpy(auth, "Authorization: Bearer ", 22);
		memcpy(auth + 22, bearer, bl + 1);
	} else if (basic_user != NULL) {
		if ((auth = basic_header(basic_user, basic_pass)) == NULL) {
			oa_log(OA_LOG_ERROR, "http: %s %s: cannot build the "
			    "Basic authorization", method, where);
			goto out;
		}
	}
	if (headers_add(&hdrs, "Accept: application/json") != 0 ||
	    headers_add(&hdrs, "Expect:") != 0 ||
	    (form != NULL && headers_add(&hdrs, "Content-Type: "
	    "application/x-www-form-urlencoded") != 0) ||
	    (auth != NULL && headers_add(&hdrs, auth) != 0)) {
		oa_log(OA_LOG_ERROR, "http: curl_slist_append failed");
		goto out;
	}

	if ((h = curl_easy_init()) == NULL) {
		oa_log(OA_LOG_ERROR, "http: curl_easy_init failed");
		goto out;
	}
	SETOPT(h, CURLOPT_CURLU, u);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, scheme);
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (limits.ca_file != NULL)
		SETOPT(h, CURLOPT_CAINFO, limits.ca_file);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	/* A proxy from the environment (https_proxy...) is fine for the
	 * Internet, never for a loopback host: that request stays here. */
	if (loopback)
		SETOPT(h, CURLOPT_PROXY, "");
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, limits.connect_timeout_ms);
	SETOPT(h, CURLOPT_TIMEOUT_MS, limits.timeout_ms);
	SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limits.max_body);
	SETOPT(h, CURLOPT_USERAGENT, "ownauth/" OA_VERSION);
	SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(h, CURLOPT_WRITEFUNCTION, body_write);
	SETOPT(h, CURLOPT_WRITEDATA, &body);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	if (form != NULL) {
		SETOPT(h, CURLOPT_POST, 1L);
		SETOPT(h, CURLOPT_POSTFIELDS, form);
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(form));
	} else
		SETOPT(h, CURLOPT_HTTPGET, 1L);

	crc = curl_easy_perform(h);
	if (crc != CURLE_OK) {
		const char *detail = errbuf[0] ? errbuf :
		    curl_easy_strerror(crc);
		if (body.too_big || crc == CURLE_FILESIZE_EXCEEDED) {
			res = OA_HTTP_TOO_BIG;
			oa_log(OA_LOG_ERROR, "http: %s %s: response larger than "
			    "%zu bytes, aborted", method, where,
			    limits.max_body);
		} else if (crc == CURLE_OPERATION_TIMEDOUT) {
			res = OA_HTTP_TIMEOUT;
			curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T,
			    &connect_time);
			if (connect_time > 0)
				oa_log(OA_LOG_ERROR, "http: %s %s: no complete "
				    "response within %ld ms", method, where,
				    limits.timeout_ms);
			else
				oa_log(OA_LOG_ERROR, "http: %s %s: connect "
				    "timed out: %s", method, where, detail);
		} else if (crc == CURLE_COULDNT_RESOLVE_HOST ||
		    crc == CURLE_COULDNT_RESOLVE_PROXY ||
		    crc == CURLE_COULDNT_CONNECT || crc == CURLE_SEND_ERROR ||
		    crc == CURLE_RECV_ERROR || crc == CURLE_GOT_NOTHING) {
			res = OA_HTTP_CONNECT;
			oa_log(OA_LOG_ERROR, "http: %s %s: connection failed: "
			    "%s", method, where, detail);
		} else if (is_tls_error(crc)) {
			res = OA_HTTP_TLS;
			oa_log(OA_LOG_ERROR, "http: %s %s: TLS failure: %s",
			    method, where, detail);
		} else if (crc == CURLE_UNSUPPORTED_PROTOCOL) {
			res = OA_HTTP_INSECURE_URL;
			oa_log(OA_LOG_ERROR, "http: %s %s: protocol refused: %s",
			    method, where, detail);
		} else
			oa_log(OA_LOG_ERROR, "http: %s %s: %s", method, where,
			    detail);
		goto out;
	}

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	{
		char *p = NULL;
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &p) ==
		    CURLE_OK && p != NULL && (ct = strdup(p)) == NULL)
			goto out;
		p = NULL;
		if (status >= 300 && status < 400 &&
		    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &p) ==
		    CURLE_OK && p != NULL && (loc = strdup(p)) == NULL)
			goto out;
	}
	if (body.data == NULL) {
		/* An empty body: still a NUL-terminated string. */
		if ((body.data = calloc(1, 1)) == NULL)
			goto out;
		body.cap = 1;
	}
	if (status >= 200 && status < 300) {
		res = OA_HTTP_OK;
		oa_log(OA_LOG_DEBUG, "http: %s %s: %ld, %zu bytes", method,
		    where, status, body.len);
	} else {
		res = OA_HTTP_STATUS;
		/* The body is not logged: it may be a token response. */
		oa_log(OA_LOG_WARN, "http: %s %s: status %ld%s", method, where,
		    status, status >= 300 && status < 400 ?
		    " (redirect not followed)" : "");
	}
	memset(out, 0, sizeof(*out));
	out->status = status;
	out->body = body.data;
	out->len = body.len;
	out->content_type = ct;
	out->location = loc;
	body.data = NULL;
	ct = loc = NULL;
out:
	body_buf_wipe(&body);
	free(ct);
	free(loc);
	curl_easy_cleanup(h);
	curl_url_cleanup(u);
	headers_free(hdrs);
	oa_secret_free(auth);
	return res;
}

enum oa_http_result
oa_http_get(const char *url, const char *bearer, struct oa_http_resp *out)
{
	return http_do(url, NULL, bearer, NULL, NULL, out);
}

enum oa_http_result
oa_http_post_form(const char *url, const char *form_body,
    const char *basic_user, const char *basic_pass, struct oa_http_resp *out)
{
	return http_do(url, form_body != NULL ? form_body : "", NULL,
	    basic_user, basic_pass, out);
}

enum oa_http_result
oa_http_get_json(const char *url, const char *bearer, int type, cJSON **out)
{
	struct oa_http_resp resp = { 0 };
	enum oa_http_result res;
	cJSON *j = NULL;
	char where[512] = "?";

	res = oa_http_get(url, bearer, &resp);
	if (res == OA_HTTP_OK && resp.status != 200) {
		/* 201, 204...: not a document; oa_http_get logged nothing. */
		oa_log(OA_LOG_WARN, "http: GET: status %ld, wanted 200",
		    resp.status);
		res = OA_HTTP_STATUS;
	}
	if (res != OA_HTTP_OK)
		goto out;
	if (oa_http_json_parse(resp.body, resp.len, type, &j) != 0) {
		CURLU *u = curl_url();
		if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) ==
		    CURLUE_OK)
			url_for_log(u, where, sizeof(where));
		curl_url_cleanup(u);
		oa_log(OA_LOG_ERROR, "http: GET %s: the response is not a "
		    "JSON %s", where, type == cJSON_Array ? "array" :
		    "object");
		res = OA_HTTP_BAD_JSON;
		goto out;
	}
	*out = j;
out:
	oa_http_resp_free(&resp);
	return res;
}

/* ------------------------------------------------------------------ */
/* Parsing what upstreams send back (untrusted bytes).                 */

/* Length of the well-formed UTF-8 sequence (RFC 3629 §4) starting at
 * s[i], or 0 when it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t len, size_t i)
{
	unsigned char c = s[i];
	size_t n, k;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;   /* no overlong forms */
		if (c == 0xed)
			hi = 0x9f;   /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;   /* nothing above U+10FFFF */
	} else
		return 0;
	if (len - i < n)
		return 0;
	for (k = 1; k < n; k++) {
		unsigned char d = s[i + k];
		if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xbf))
			return 0;
	}
	return n;
}

/*
 * Checks raw JSON text before cJSON sees it: valid UTF-8 (RFC 8259 §8.1),
 * no NUL byte, no raw control byte in a string, and no "\u0000" escape,
 * which cJSON would decode into a C string cut short
 * ("a@b.example\u0000.evil" -> "a@b.example").
 */
static int
json_text_ok(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;
	int in_string = 0;

	while (i < len) {
		if (s[i] == 0 || (n = utf8_seq(s, len, i)) == 0)
			return 0;
		if (in_string && s[i] == '\\') {
			if (i + 1 >= len)
				return 0;
			if (s[i + 1] == 'u' && len - i >= 6 &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return 0;
			/* Skip the escaped byte (validated by cJSON), but
			 * never a multi-byte sequence's first byte alone. */
			if (s[i + 1] >= 0x80)
				return 0;
			i += 2;
			continue;
		}
		if (s[i] == '"')
			in_string = !in_string;
		else if (in_string && s[i] < 0x20)
			return 0;   /* RFC 8259 §7: control bytes are escaped */
		i += n;
	}
	return 1;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * 1 when no object in the tree has two members of the same name. cJSON
 * would keep both and answer lookups with the first, while another
 * parser may take the last: {"email_verified":false,"email_verified":
 * true} must mean nothing at all. Sorting keeps this O(n log n).
 */
static int
json_no_dup_keys(const cJSON *node)
{
	const cJSON *c;
	const char **keys;
	size_t n = 0, i;
	int ok = 1;

	for (c = node->child; c != NULL; c = c->next) {
		if (!json_no_dup_keys(c))
			return 0;
		n++;
	}
	if (!cJSON_IsObject(node) || n < 2)
		return 1;
	if ((keys = calloc(n, sizeof(*keys))) == NULL)
		return 0;
	for (i = 0, c = node->child; c != NULL; c = c->next)
		keys[i++] = c->string != NULL ? c->string : "";
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && ok; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			ok = 0;
	free(keys);
	return ok;
}

int
oa_http_json_parse(const char *body, size_t len, int type, cJSON **out)
{
	char *copy = NULL;
	const char *end = NULL;
	cJSON *j = NULL;
	int ok = -1;

	if (body == NULL || len == 0 || len > SIZE_MAX - 1)
		return -1;
	if (!json_text_ok(body, len)) {
		oa_log(OA_LOG_DEBUG, "http: JSON text: bad UTF-8 or NUL");
		return -1;
	}
	/* cJSON reads NUL-terminated text; a copy makes that so. */
	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, body, len);
	copy[len] = '\0';
	if ((j = cJSON_ParseWithOpts(copy, &end, 0)) == NULL || end == NULL)
		goto out;
	while (end < copy + len && (*end == ' ' || *end == '\t' ||
	    *end == '\n' || *end == '\r'))
		end++;
	if (end != copy + len)
		goto out;   /* something after the value */
	if (type == cJSON_Object ? !cJSON_IsObject(j) :
	    type == cJSON_Array ? !cJSON_IsArray(j) : 1)
		goto out;
	if (!json_no_dup_keys(j)) {
		oa_log(OA_LOG_DEBUG, "http: JSON text: duplicate member");
		goto out;
	}
	*out = j;
	j = NULL;
	ok = 0;
out:
	cJSON_Delete(j);
	OPENSSL_cleanse(copy, len + 1);
	free(copy);
	return ok;
}

void
oa_http_token_free(struct oa_http_token *tok)
{
	if (tok == NULL)
		return;
	oa_secret_free(tok->access_token);
	oa_secret_free(tok->id_token);
	oa_secret_free(tok->token_type);
	oa_secret_free(tok->scope);
	oa_secret_free(tok->error);
	oa_secret_free(tok->error_description);
	memset(tok, 0, sizeof(*tok));
}

enum tok_member {
	TM_ACCESS_TOKEN,
	TM_ID_TOKEN,
	TM_TOKEN_TYPE,
	TM_SCOPE,
	TM_ERROR,
	TM_ERROR_DESCRIPTION,
	TM_N,
};

static const char *const tok_names[TM_N] = {
	"access_token", "id_token", "token_type", "scope", "error",
	"error_description",
};

static int
tok_member(const char *name, size_t len)
{
	int i;

	for (i = 0; i < TM_N; i++)
		if (strlen(tok_names[i]) == len &&
		    memcmp(tok_names[i], name, len) == 0)
			return i;
	return -1;
}

static char **
tok_slot(struct oa_http_token *t, int m)
{
	switch (m) {
	case TM_ACCESS_TOKEN:
		return &t->access_token;
	case TM_ID_TOKEN:
		return &t->id_token;
	case TM_TOKEN_TYPE:
		return &t->token_type;
	case TM_SCOPE:
		return &t->scope;
	case TM_ERROR:
		return &t->error;
	default:
		return &t->error_description;
	}
}

/* RFC 6749 §5.2: error and error_description are %x20-21 / %x23-5B /
 * %x5D-7E. Scope (§3.3, plus the commas and spaces GitHub uses): any
 * printable ASCII. */
static int
is_error_chars(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

static int
is_print_chars(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Stores value (len bytes) as member m of t after checking it. The value
 * is copied. 0, or -1 when the response must be refused. */
static int
tok_set(struct oa_http_token *t, int m, const char *v, size_t len)
{
	char **slot = tok_slot(t, m);
	int ok;

	if (*slot != NULL) {
		oa_log(OA_LOG_WARN, "http: token response: duplicate \"%s\"",
		    tok_names[m]);
		return -1;
	}
	if (len > TOKEN_MEMBER_MAX) {
		oa_log(OA_LOG_WARN, "http: token response: \"%s\" too long",
		    tok_names[m]);
		return -1;
	}
	switch (m) {
	case TM_ACCESS_TOKEN:
	case TM_ID_TOKEN:
	case TM_TOKEN_TYPE:
		ok = is_token_chars(v, len);
		break;
	case TM_SCOPE:
		ok = is_print_chars(v, len);
		break;
	case TM_ERROR:
		ok = len > 0 && is_error_chars(v, len);
		break;
	default:
		/* Only for logs: dropped rather than refused when odd. */
		if (!is_error_chars(v, len))
			return 0;
		ok = 1;
		break;
	}
	if (!ok) {
		oa_log(OA_LOG_WARN, "http: token response: \"%s\" holds bytes "
		    "it may not", tok_names[m]);
		return -1;
	}
	if ((*slot = strndup(v, len)) == NULL)
		return -1;
	return 0;
}

static int
tok_parse_json(const char *body, size_t len, struct oa_http_token *t)
{
	cJSON *j = NULL, *it;
	int m, ok = -1;

	if (oa_http_json_parse(body, len, cJSON_Object, &j) != 0) {
		oa_log(OA_LOG_WARN, "http: token response: not a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(it, j) {
		if (it->string == NULL)
			goto out;
		if ((m = tok_member(it->string, strlen(it->string))) < 0)
			continue;
		if (cJSON_IsNull(it))
			continue;
		if (!cJSON_IsString(it) || it->valuestring == NULL) {
			oa_log(OA_LOG_WARN, "http: token response: \"%s\" is "
			    "not a string", tok_names[m]);
			goto out;
		}
		if (tok_set(t, m, it->valuestring,
		    strlen(it->valuestring)) != 0)
			goto out;
	}
	ok = 0;
out:
	/* The tree holds the tokens: wipe its strings before freeing. */
	cJSON_ArrayForEach(it, j)
		if (cJSON_IsString(it) && it->valuestring != NULL)
			OPENSSL_cleanse(it->valuestring,
			    strlen(it->valuestring));
	cJSON_Delete(j);
	return ok;
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

/* Decodes one form-urlencoded component into a malloc'd buffer; refuses
 * bad %-escapes and NUL bytes. Writes *outlen. NULL on failure. */
static char *
form_unescape(const char *s, size_t len, size_t *outlen)
{
	char *out;
	size_t i, o = 0;
	int hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (len - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	OPENSSL_cleanse(out, len + 1);
	free(out);
	return NULL;
}

static int
tok_parse_form(const char *body, size_t len, struct oa_http_token *t)
{
	const char *p = body, *end = body + len, *amp, *eq;
	char *k = NULL, *v = NULL;
	size_t kl, vl, vcap = 0;
	int m, ok = -1;

	/* A line end after the last pair is tolerated. */
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp > p) {
			if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL) {
				oa_log(OA_LOG_WARN, "http: token response: a "
				    "form pair without '='");
				goto out;
			}
			vcap = (size_t)(amp - eq - 1) + 1;
			if ((k = form_unescape(p, (size_t)(eq - p), &kl)) ==
			    NULL || (v = form_unescape(eq + 1,
			    (size_t)(amp - eq - 1), &vl)) == NULL) {
				oa_log(OA_LOG_WARN, "http: token response: bad "
				    "form encoding");
				goto out;
			}
			if ((m = tok_member(k, kl)) >= 0 &&
			    tok_set(t, m, v, vl) != 0)
				goto out;
			OPENSSL_cleanse(v, vcap);
			free(v);
			free(k);
			k = v = NULL;
		}
		if (amp == end)
			break;
		p = amp + 1;
	}
	ok = 0;
out:
	if (v != NULL) {
		OPENSSL_cleanse(v, vcap);
		free(v);
	}
	free(k);
	return ok;
}

int
oa_http_token_parse(const char *body, size_t len, const char *content_type,
    struct oa_http_token *out)
{
	struct oa_http_token t = { 0 };
	size_t i;
	int json;

	if (body == NULL || len == 0) {
		oa_log(OA_LOG_WARN, "http: token response: empty body");
		return -1;
	}
	if (oa_media_type_is(content_type, "application/json"))
		json = 1;
	else if (oa_media_type_is(content_type, OA_FORM_TYPE))
		json = 0;
	else {
		/* text/plain, none, ...: look at the first byte. */
		for (i = 0; i < len && (body[i] == ' ' || body[i] == '\t' ||
		    body[i] == '\r' || body[i] == '\n'); i++)
			;
		json = i < len && body[i] == '{';
	}
	if ((json ? tok_parse_json(body, len, &t) :
	    tok_parse_form(body, len, &t)) != 0)
		goto fail;
	if (t.error != NULL) {
		oa_log(OA_LOG_DEBUG, "http: token response: error \"%s\"",
		    t.error);
		*out = t;
		return 0;
	}
	if (t.access_token == NULL) {
		oa_log(OA_LOG_WARN, "http: token response: neither "
		    "access_token nor error");
		goto fail;
	}
	/* We send it back as a Bearer token (RFC 6750); nothing else. */
	if (t.token_type != NULL && strcasecmp(t.token_type, "bearer") != 0) {
		oa_log(OA_LOG_WARN, "http: token response: token_type \"%s\" "
		    "is not Bearer", t.token_type);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	oa_http_token_free(&t);
	return -1;
}
