/*
 * test_cgi.c - plain-CGI requests through oa_cgi_main (lib/cgi.c): the
 * request variables found in one pass over the environment must be what
 * getenv(3) (and FCGX_GetParam, the same first-match scan) gives for
 * each name - duplicates, names that are prefixes of others, entries
 * without '=' - and the response must be written whole: Status, the
 * headers, Content-Length, the blank line and the body (none for HEAD,
 * 204 and 304).
 *
 * Each request runs in a child process (oa_cgi_main answers one CGI
 * request) with its own environ, stdin from /dev/null (not a socket:
 * plain CGI) and stdout into a temporary file.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "ownauth.h"
#include "t.h"

extern char **environ;

static char tmpdir[] = "/tmp/oa-test-cgi-XXXXXX";

/* What the handler answers with. */
struct answer {
	int status;
	const char *body;
	const char *hname, *hvalue;   /* a header to add, or NULL */
};

/* The variable as getenv and FCGX_GetParam see it, with cgi.c's
 * defaults. Also checks that the two agree. */
static const char *
want(const char *name, const char *dflt, int *agree)
{
	const char *g = getenv(name), *f = FCGX_GetParam(name, environ);

	if (g != f)
		*agree = 0;
	return g != NULL ? g : dflt;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Compares every request member with getenv; writes the names that
 * differ (or "ok") as the body. */
static int
handler(struct oa_cgi *c, void *arg)
{
	const struct answer *a = arg;
	const char *m, *cl, *https, *scheme;
	char bad[512] = "";
	int agree = 1, on;
	long long len;

	m = want("REQUEST_METHOD", "GET", &agree);
	if (*m == '\0')
		m = "GET";
#define CMP(field, name, dflt)                                        \
	if (!same(c->field, want(name, dflt, &agree)))                \
		strcat(bad, name " ");
	if (!same(c->method, m))
		strcat(bad, "REQUEST_METHOD ");
	CMP(path_info, "PATH_INFO", "")
	CMP(query_string, "QUERY_STRING", "")
	CMP(content_type, "CONTENT_TYPE", NULL)
	CMP(cookie, "HTTP_COOKIE", NULL)
	CMP(origin, "HTTP_ORIGIN", NULL)
	CMP(if_none_match, "HTTP_IF_NONE_MATCH", NULL)
	CMP(remote_addr, "REMOTE_ADDR", "")
#undef CMP
	cl = want("CONTENT_LENGTH", NULL, &agree);
	if (cl == NULL || *cl == '\0')
		len = -1;
	else if (strspn(cl, "0123456789") == strlen(cl) && strlen(cl) < 12)
		len = atoll(cl);
	else
		len = -2;
	if (c->content_length != len)
		strcat(bad, "CONTENT_LENGTH ");
	https = want("HTTPS", NULL, &agree);
	scheme = want("REQUEST_SCHEME", NULL, &agree);
	on = (https != NULL && (strcasecmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0)) ||
	    (scheme != NULL && strcasecmp(scheme, "https") == 0);
	if (c->https != on)
		strcat(bad, "HTTPS ");
	if (c->is_head != (strcmp(m, "HEAD") == 0))
		strcat(bad, "is_head ");
	if (!agree)
		strcat(bad, "getenv!=FCGX_GetParam ");
	if (c->fastcgi)
		strcat(bad, "fastcgi ");
	if (a->status != 200 && oa_cgi_status(c, a->status) != 0)
		return -1;
	if (oa_cgi_header(c, "X-Test", "1") != 0)
		return -1;
	/* A refused header fails the request: the fixed 500. */
	if (a->hname != NULL)
		oa_cgi_header(c, a->hname, a->hvalue);
	if (a->body != NULL)
		return oa_cgi_printf(c, "%s", a->body);
	return oa_cgi_printf(c, "%s", bad[0] ? bad : "ok");
}

/* Runs one request with environment env; its output into out (NUL-
 * terminated, at most cap - 1 bytes). 0 or -1. */
static int
run(char *const env[], const struct answer *a, char *out, size_t cap)
{
	char path[256];
	pid_t pid;
	int fd, st;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/out", tmpdir);
	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || o < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0)
			_exit(3);
		environ = (char **)env;
		_exit(oa_cgi_main(handler, (void *)a) == 0 ? 0 : 4);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return -1;
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	n = read(fd, out, cap - 1);
	close(fd);
	unlink(path);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* The body of the response in out ("" when there is none). */
static const char *
body_of(const char *out)
{
	const char *b = strstr(out, "\r\n\r\n");

	return b != NULL ? b + 4 : "";
}

static void
test_env(void)
{
	static const struct answer check = { 200, NULL, NULL, NULL };
	/* Duplicates (the first wins), names that are prefixes of others
	 * or extend them, entries without '=', other case. */
	static char *const env1[] = {
		"PATH_INFO_X=/bad", "PATH_INFOX=/bad", "PATH_INFO",
		"PATH_INFO=/good", "PATH_INFO=/second",
		"REQUEST_METHOD=POST", "REQUEST_METHOD=GET",
		"request_method=PUT", "REQUEST_METHODS=PUT",
		"QUERY_STRING", "QUERY_STRIN=x", "QUERY_STRING_=y",
		"HTTP=1", "HTTP_COOKIE_2=bad", "HTTP_COOKIEX=bad",
		"HTTP_COOKIE=a=b; c=d", "HTTP_COOKIE=second",
		"HTTPS_X=on", "HTTPS", "REMOTE_ADDR=127.0.0.1",
		"REMOTE_ADDR=10.0.0.1", "CONTENT_LENGTH=12",
		"CONTENT_LENGTH=99", "CONTENT_TYPE=", "=REQUEST_METHOD",
		"HTTP_ORIGIN=https://a.example", "HTTP_IF_NONE_MATCH=\"x\"",
		"REQUEST_SCHEME=http", "REQUEST_SCHEME=https", NULL,
	};
	/* Only lookalikes: every variable absent. */
	static char *const env2[] = {
		"PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "HTTPS_=on",
		"HTTP_COOKIE", "REQUEST_SCHEMEhttps", "CONTENT_LENGTH",
		"XREQUEST_METHOD=PUT", " PATH_INFO=/x", "", "=", NULL,
	};
	/* Empty values; HTTPS on after an HTTPS off. */
	static char *const env3[] = {
		"REQUEST_METHOD=", "PATH_INFO=", "QUERY_STRING=",
		"CONTENT_LENGTH=", "HTTPS=off", "HTTPS=on", "HTTP_COOKIE=",
		NULL,
	};
	static char *const env4[] = {
		"HTTPS=1", "CONTENT_LENGTH=12x", "REQUEST_METHOD=HEAD", NULL,
	};
	static char *const env5[] = { NULL };
	char *const *envs[] = { env1, env2, env3, env4, env5 };
	char out[8192];
	size_t i;

	for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		CHECK(run(envs[i], &check, out, sizeof(out)) == 0);
		if (envs[i] == env4) {
			/* HEAD: no body, the GET's length. */
			CHECK(strstr(out, "Content-Length: 2\r\n") != NULL);
			CHECK(strcmp(body_of(out), "") == 0);
			continue;
		}
		if (strcmp(body_of(out), "ok") != 0)
			fprintf(stderr, "env %zu: %s\n", i, body_of(out));
		CHECK(strcmp(body_of(out), "ok") == 0);
	}
}

/* RFC 9110 §5.6.2 tchar. */
static int
is_tchar(int b)
{
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
	    (b >= 'a' && b <= 'z') || (b != 0 && strchr("!#$%&'*+-.^_`|~", b));
}

/*
 * oa_cgi_header: every byte value in a name (only tchar) and in a value
 * (no control byte but HTAB: no response splitting); the names cgi.c
 * writes itself refused in any case; a Content-Type of the handler's
 * replaces the default.
 */
static void
test_headers(void)
{
	static char *const get[] = { "REQUEST_METHOD=GET", NULL };
	struct answer a = { 200, "x", NULL, NULL };
	static const size_t positions[] = { 0, 5, 7, 8, 12, 15, 16, 18 };
	char out[8192], name[8], value[20], want[64];
	int b, bad_names = 0, bad_values = 0;
	size_t i, k;
	static const char *const refused[] = {
		"Status", "status", "STATUS", "Content-Length",
		"content-length", "CONTENT-LENGTH", "", "X Y", "X:Y",
		"Set-Cookie:", "X\r\nY",
	};

	for (b = 1; b < 256; b++) {
		snprintf(name, sizeof(name), "X%cY", b);
		a.hname = name;
		a.hvalue = "v";
		if (run(get, &a, out, sizeof(out)) != 0) {
			bad_names++;
			continue;
		}
		snprintf(want, sizeof(want), "\r\nX%cY: v\r\n", b);
		if (is_tchar(b) ? strncmp(out, "Status: 200 ", 12) != 0 ||
		    strstr(out, want) == NULL :
		    strncmp(out, "Status: 500 ", 12) != 0 ||
		    strstr(out, "X-Test") != NULL) {
			fprintf(stderr, "name byte 0x%02x: %.60s\n", b, out);
			bad_names++;
		}
		/* In values of 19 bytes (eight at a time, then three) at
		 * positions in the first word, the second, and the rest. */
		for (k = 0; k < sizeof(positions) / sizeof(positions[0]);
		    k++) {
			memset(value, 'v', 19);
			value[19] = '\0';
			value[positions[k]] = (char)b;
			a.hname = "X-V";
			a.hvalue = value;
			if (run(get, &a, out, sizeof(out)) != 0) {
				bad_values++;
				continue;
			}
			snprintf(want, sizeof(want), "\r\nX-V: %s\r\n",
			    value);
			if ((b >= 0x20 && b != 0x7f) || b == '\t' ?
			    strncmp(out, "Status: 200 ", 12) != 0 ||
			    strstr(out, want) == NULL :
			    strncmp(out, "Status: 500 ", 12) != 0 ||
			    strstr(out, "X-V") != NULL) {
				fprintf(stderr, "value byte 0x%02x at %zu: "
				    "%.60s\n", b, positions[k], out);
				bad_values++;
			}
		}
	}
	CHECK(bad_names == 0);
	CHECK(bad_values == 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		a.hname = refused[i];
		a.hvalue = "1";
		CHECK(run(get, &a, out, sizeof(out)) == 0 &&
		    strcmp(out, "Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Cache-Control: no-store\r\n"
		    "Content-Length: 22\r\n\r\nInternal Server Error\n") == 0);
	}
	/* The handler's Content-Type, in any case, replaces the default;
	 * names that only start like cgi.c's own are not refused. */
	a.hname = "content-TYPE";
	a.hvalue = "application/json";
	CHECK(run(get, &a, out, sizeof(out)) == 0 &&
	    strcmp(out, "Status: 200 OK\r\nX-Test: 1\r\n"
	    "content-TYPE: application/json\r\n"
	    "Content-Length: 1\r\n\r\nx") == 0);
	a.hname = "Statuses";
	CHECK(run(get, &a, out, sizeof(out)) == 0 &&
	    strstr(out, "\r\nStatuses: application/json\r\n") != NULL);
	a.hname = "Content-Lengths";
	CHECK(run(get, &a, out, sizeof(out)) == 0 &&
	    strstr(out, "\r\nContent-Lengths: application/json\r\n") != NULL);
}

static void
test_response(void)
{
	static char *const get[] = { "REQUEST_METHOD=GET", NULL };
	static char *const head[] = { "REQUEST_METHOD=HEAD", NULL };
	static const struct answer hello = { 200, "hello", NULL, NULL };
	static const struct answer none = { 204, "dropped", NULL, NULL };
	static const struct answer nm = { 304, "dropped", NULL, NULL };
	static const struct answer fail = { 99, NULL, NULL, NULL };
	char out[300000], *big;
	struct answer large = { 200, NULL, NULL, NULL };
	size_t n = 200000, k;

	CHECK(run(get, &hello, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "Status: 200 OK\r\nX-Test: 1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 5\r\n\r\nhello") == 0);
	CHECK(run(head, &hello, out, sizeof(out)) == 0);
	CHECK(strcmp(out, "Status: 200 OK\r\nX-Test: 1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 5\r\n\r\n") == 0);
	CHECK(run(get, &none, out, sizeof(out)) == 0);
	CHECK(strncmp(out, "Status: 204 ", 12) == 0 &&
	    strstr(out, "Content-Length") == NULL &&
	    strcmp(body_of(out), "") == 0 &&
	    strcmp(out + strlen(out) - 4, "\r\n\r\n") == 0);
	CHECK(run(get, &nm, out, sizeof(out)) == 0);
	CHECK(strncmp(out, "Status: 304 ", 12) == 0 &&
	    strstr(out, "Content-Length") == NULL &&
	    strcmp(body_of(out), "") == 0);
	/* A status refused: the fixed 500. */
	CHECK(run(get, &fail, out, sizeof(out)) == 0);
	CHECK(strncmp(out, "Status: 500 ", 12) == 0 &&
	    strcmp(body_of(out), "Internal Server Error\n") == 0);
	/* A body larger than any stdio buffer: all of it, once. */
	if ((big = malloc(n + 1)) != NULL) {
		for (k = 0; k < n; k++)
			big[k] = (char)('a' + k % 26);
		big[n] = '\0';
		large.body = big;
		CHECK(run(get, &large, out, sizeof(out)) == 0);
		CHECK(strstr(out, "Content-Length: 200000\r\n") != NULL &&
		    strcmp(body_of(out), big) == 0);
		free(big);
	}
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_env();
	test_response();
	test_headers();
	rmdir(tmpdir);
	return t_done("cgi");
}
