/*
 * url.c - the strict URL checks used on configuration values (issuer,
 * upstream endpoints, redirect URIs, origins) and on loopback tests.
 *
 * Only absolute http and https URLs are split here, in a deliberately
 * narrow form (RFC 3986 §3 minus everything a login server never needs):
 *
 *   ("http" | "https") "://" host [ ":" port ] [ path-and-query ]
 *
 *  - the scheme is lower case, exactly "http" or "https";
 *  - no userinfo: any '@' in the authority is refused (the classic
 *    "https://good.example@evil.example" confusion);
 *  - no fragment: any '#' is refused (RFC 6749 §3.1.2);
 *  - no byte <= 0x20, no DEL, no byte >= 0x80, no backslash anywhere
 *    (browsers read '\' as '/', which is another host-confusion trick);
 *  - host: a name of [A-Za-z0-9._-] (1..253 bytes), a dotted-quad IPv4
 *    address, or an IPv6 address in brackets (no zone id). A name whose
 *    last label is numeric (or 0x...) must be a valid dotted quad: forms
 *    such as "127.1" or "2130706433" that resolvers read as IPv4 are
 *    refused, so a host is never a loopback address in disguise;
 *  - port: 1 to 5 digits, 1..65535; "host:" with no digits is refused;
 *  - the rest (path and query) starts with '/' or '?', or is empty.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ownauth.h"

/* 1 when the 16-byte IPv6 address is ::1 or ::ffff:127.x.y.z. */
static int
v6_is_loopback(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LOOPBACK(a))
		return 1;
	if (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127)
		return 1;
	return 0;
}

/*
 * 1 when host (a URL's host part without the port; an IPv6 address may
 * be in brackets or bare) is a loopback name or address: "localhost"
 * (any case), 127.0.0.0/8 as a dotted quad, [::1] (or ::ffff:127.x.y.z).
 * 0 otherwise, NULL included. Names are not resolved: "foo.localhost" or
 * a DNS name that resolves to 127.0.0.1 is not loopback here.
 */
int
oa_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 1];
	size_t n;

	if (host == NULL || *host == '\0')
		return 0;
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (host[0] == '[') {
		n = strlen(host);
		if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(buf))
			return 0;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 &&
		    v6_is_loopback(&a6);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return ((const unsigned char *)&a4.s_addr)[0] == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return v6_is_loopback(&a6);
	return 0;
}

/* 1 for a byte allowed in a host name. */
static int
host_char(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '.' || c == '-' || c == '_');
}

/*
 * Checks a host name (not bracketed) of len bytes: allowed bytes, length,
 * and the numeric-last-label rule explained at the top of the file.
 */
static int
check_host_name(const char *h, size_t len)
{
	char buf[256];
	size_t i, last, end;
	struct in_addr a4;
	int numeric = 1;

	if (len == 0 || len > 253 || h[0] == '.')
		return -1;
	for (i = 0; i < len; i++) {
		if (!host_char((unsigned char)h[i]))
			return -1;
		if (h[i] == '.' && i + 1 < len && h[i + 1] == '.')
			return -1; /* an empty label */
	}
	/* The last label, ignoring one trailing dot (a fully qualified name). */
	end = len;
	if (end > 0 && h[end - 1] == '.')
		end--;
	if (end == 0)
		return -1;
	last = end;
	while (last > 0 && h[last - 1] != '.')
		last--;
	if (last == end)
		return -1; /* an empty label: "a..", "." */
	if (end - last >= 2 && h[last] == '0' &&
	    (h[last + 1] == 'x' || h[last + 1] == 'X'))
		numeric = 1;
	else
		for (i = last; i < end; i++)
			if (!isdigit((unsigned char)h[i]))
				numeric = 0;
	if (!numeric)
		return 0;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 ? 0 : -1;
}

/*
 * The parts of url as described above, without copying: *sch is "http"
 * or "https" (static), the host is the *hostlen bytes at *host (an IPv6
 * literal with its brackets), *path the rest of url ("" when absent) and
 * *port the port (0 when absent). 0 or -1.
 */
static int
split_parts(const char *url, const char **schp, const char **hostp,
    size_t *hostlen, int *port, const char **pathp)
{
	const char *p, *auth, *aend, *hend;
	const char *sch;
	long portnum = 0;
	size_t i;

	if (url == NULL)
		return -1;
	for (p = url; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || c == '#' || c == '\\')
			return -1;
	}
	if (strncmp(url, "https://", 8) == 0) {
		sch = "https";
		auth = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		sch = "http";
		auth = url + 7;
	} else
		return -1;
	aend = auth + strcspn(auth, "/?");
	if (aend == auth)
		return -1;
	if (memchr(auth, '@', (size_t)(aend - auth)) != NULL)
		return -1;

	if (*auth == '[') {
		struct in6_addr a6;
		char buf[INET6_ADDRSTRLEN + 1];
		const char *rb = memchr(auth, ']', (size_t)(aend - auth));
		if (rb == NULL || rb - auth - 1 <= 0 ||
		    (size_t)(rb - auth - 1) >= sizeof(buf))
			return -1;
		memcpy(buf, auth + 1, (size_t)(rb - auth - 1));
		buf[rb - auth - 1] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return -1;
		hend = rb + 1;
		if (hend != aend && *hend != ':')
			return -1;
	} else {
		hend = memchr(auth, ':', (size_t)(aend - auth));
		if (hend == NULL)
			hend = aend;
		if (check_host_name(auth, (size_t)(hend - auth)) != 0)
			return -1;
	}
	if (hend != aend) {
		/* ':' then 1..5 digits. */
		const char *d = hend + 1;
		size_t nd = (size_t)(aend - d);
		if (nd < 1 || nd > 5)
			return -1;
		for (i = 0; i < nd; i++) {
			if (!isdigit((unsigned char)d[i]))
				return -1;
			portnum = portnum * 10 + (d[i] - '0');
		}
		if (portnum < 1 || portnum > 65535)
			return -1;
	}
	*schp = sch;
	*hostp = auth;
	*hostlen = (size_t)(hend - auth);
	*port = (int)portnum;
	*pathp = aend;
	return 0;
}

/*
 * Splits an absolute http(s) URL of the form described at the top of
 * this file. On success writes malloc'd copies: *scheme ("http" or
 * "https"), *host (without the port; an IPv6 literal keeps its brackets,
 * e.g. "[::1]", so it can be printed back as host:port), *path (everything
 * after the authority: path AND query, e.g. "/cb?x=1"; "" when absent,
 * never NULL), and *port (0 when absent). Any out pointer may be NULL.
 * Nothing is written on failure. Does not log. Returns 0 or -1.
 */
int
oa_url_split(const char *url, char **scheme, char **host, int *port,
    char **path)
{
	const char *sch, *hp, *rest;
	char *s = NULL, *h = NULL, *pa = NULL;
	size_t hl;
	int portnum;

	if (split_parts(url, &sch, &hp, &hl, &portnum, &rest) != 0)
		return -1;
	if (scheme != NULL && (s = strdup(sch)) == NULL)
		goto fail;
	if (host != NULL && (h = strndup(hp, hl)) == NULL)
		goto fail;
	if (path != NULL && (pa = strdup(rest)) == NULL)
		goto fail;
	if (scheme != NULL)
		*scheme = s;
	if (host != NULL)
		*host = h;
	if (path != NULL)
		*path = pa;
	if (port != NULL)
		*port = portnum;
	return 0;
fail:
	free(s);
	free(h);
	free(pa);
	return -1;
}

/*
 * 1 when url splits (see oa_url_split) and is https, or http on a
 * loopback host (oa_host_is_loopback); 0 otherwise (NULL included).
 */
int
oa_url_is_secure_or_loopback(const char *url)
{
	const char *sch, *hp, *rest;
	char host[256];   /* a name has at most 253 bytes, an IPv6 literal
	                     INET6_ADDRSTRLEN + 2 */
	size_t hl;
	int port;

	if (split_parts(url, &sch, &hp, &hl, &port, &rest) != 0)
		return 0;
	if (strcmp(sch, "https") == 0)
		return 1;
	if (hl >= sizeof(host))
		return 0;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	return strcmp(sch, "http") == 0 && oa_host_is_loopback(host);
}

/*
 * The origin (RFC 6454 §4) of url, an absolute http(s) URL that
 * oa_url_split accepts: "scheme://host" or "scheme://host:port" with the
 * port as oa_url_split read it (so "https://a:0443/" gives
 * "https://a:443"). A port equal to the scheme's default is kept as
 * given: callers compare it with configured strings, not with browsers'
 * serialisation. Returns a malloc'd string the caller frees, or NULL
 * when url does not split or memory runs out. Does not log.
 */
char *
oa_url_origin(const char *url)
{
	char *scheme = NULL, *host = NULL, *o = NULL;
	int port = 0;

	if (oa_url_split(url, &scheme, &host, &port, NULL) == 0) {
		if (port != 0) {
			if (asprintf(&o, "%s://%s:%d", scheme, host, port) < 0)
				o = NULL;
		} else if (asprintf(&o, "%s://%s", scheme, host) < 0)
			o = NULL;
	}
	free(scheme);
	free(host);
	return o;
}
