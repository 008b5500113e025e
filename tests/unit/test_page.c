/*
 * test_page.c - the HTML pages (lib/page.c): CSP, escaping of every
 * shown string, the chooser's links, the dev form, and the headers
 * oa_page_send writes (checked on a real plain-CGI response produced by
 * oa_cgi_main in a child process).
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

#define CSP_SELF "default-src 'none'; style-src 'unsafe-inline'; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

static const char conf_text[] =
    "issuer = http://127.0.0.1:8080/base\n"
    "data_dir = /nonexistent/data\n"
    "keys_dir = /nonexistent/keys\n"
    "[client web]\n"
    "redirect_uris = http://127.0.0.1:5173/cb\n"
    "[provider google]\n"
    "client_id = gid\n"
    "client_secret = gsec\n"
    "[provider corp]\n"
    "type = oidc\n"
    "issuer = https://sso.corp.example\n"
    "client_id = cid\n"
    "client_secret = csec\n"
    "display_name = <script>alert(\"x\")</script> & 'Co'\n"
    "[provider dev]\n"
    "type = dev\n";

/* Counts the occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int n = 0;
	size_t l = strlen(needle);

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += l;
	}
	return n;
}

/* 1 when every '<' of html opens or closes one of the few elements our
 * pages use: no other markup (script, img, iframe, link...) got in. */
static int
tags_ok(const char *html)
{
	static const char *const ok[] = { "!DOCTYPE", "html", "head", "meta",
		"title", "style", "body", "main", "h1", "p", "code", "nav",
		"ul", "li", "a", "form", "input", "label", "button" };
	const char *p = html;
	size_t i, n;

	while ((p = strchr(p, '<')) != NULL) {
		p++;
		if (*p == '/')
			p++;
		n = strspn(p, "!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789");
		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			if (strlen(ok[i]) == n && strncmp(ok[i], p, n) == 0)
				break;
		if (i == sizeof(ok) / sizeof(ok[0])) {
			fprintf(stderr, "  unexpected tag: %.20s\n", p);
			return 0;
		}
	}
	return 1;
}

/* The common shape: doctype, lang, title, no script, no outside URL. */
static void
check_shell(const char *html)
{
	CHECK(html != NULL);
	if (html == NULL)
		return;
	CHECK(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32) == 0);
	CHECK(count(html, "<title>") == 1);
	CHECK(strstr(html, "<meta charset=\"utf-8\">") != NULL);
	CHECK(strstr(html, "<script") == NULL);
	CHECK(strstr(html, "<link") == NULL);
	CHECK(tags_ok(html));
	CHECK(strstr(html, "</html>\n") != NULL);
}

static void
test_csp(void)
{
	char *s;

	s = oa_page_csp(NULL);
	CHECK_STR(s, CSP_SELF);
	free(s);
	s = oa_page_csp("http://127.0.0.1:8080");
	CHECK_STR(s, "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action http://127.0.0.1:8080; frame-ancestors 'none'; "
	    "base-uri 'none'");
	free(s);
	/* Nothing that could end or add a directive. */
	CHECK(oa_page_csp("http://a; script-src *") == NULL);
	CHECK(oa_page_csp("http://a, b") == NULL);
	CHECK(oa_page_csp("'unsafe-inline'") == NULL);
	CHECK(oa_page_csp("http://a\r\nX: y") == NULL);
	CHECK(oa_page_csp("") == NULL);
}

/* One oa_page_dev_form_action() case: want NULL means refused. */
static void
form_action_is(const char *ours, const char *redirect_uri, const char *want)
{
	char *fa = oa_page_dev_form_action(ours, redirect_uri);

	if (want == NULL)
		CHECK(fa == NULL);
	else
		CHECK_STR(fa, want);
	free(fa);
}

static void
test_dev_form_action(void)
{
	const char *ours = "http://127.0.0.1:8080";

	/* The same origin once. */
	form_action_is(ours, "http://127.0.0.1:8080/app/cb", ours);
	form_action_is(ours, "http://127.0.0.1:8080", ours);
	/* Another origin: both, ours first; the path never. */
	form_action_is(ours, "http://127.0.0.1:3000/cb?x=1",
	    "http://127.0.0.1:8080 http://127.0.0.1:3000");
	form_action_is(ours, "https://app.example.com/cb",
	    "http://127.0.0.1:8080 https://app.example.com");
	form_action_is(ours, "http://localhost:8080/cb",
	    "http://127.0.0.1:8080 http://localhost:8080");
	/* A private-use scheme (RFC 8252 §7.1): by its scheme. */
	form_action_is(ours, "com.example.app:/oauth/cb",
	    "http://127.0.0.1:8080 com.example.app:");
	/* Neither an origin nor a scheme. */
	form_action_is(ours, "no-colon-here", NULL);
	/* What it gives is a valid CSP form-action. */
	{
		char *fa = oa_page_dev_form_action(ours,
		    "com.example.app:/cb");
		char *csp = fa != NULL ? oa_page_csp(fa) : NULL;

		CHECK(csp != NULL && strstr(csp, "form-action "
		    "http://127.0.0.1:8080 com.example.app:;") != NULL);
		free(csp);
		free(fa);
	}
}

static void
test_error_html(void)
{
	char *h;

	h = oa_page_error_html(400, "invalid_request",
	    "redirect_uri is not registered for this client");
	check_shell(h);
	CHECK(strstr(h, "<code>invalid_request</code>: redirect_uri is not "
	    "registered for this client") != NULL);
	CHECK(strstr(h, "400 Bad Request") != NULL);
	free(h);
	/* Whatever is passed is escaped. */
	h = oa_page_error_html(502, "<b>x</b>", "\"a\" & <img src=x>");
	check_shell(h);
	CHECK(h != NULL && strstr(h, "<b>") == NULL &&
	    strstr(h, "<img") == NULL);
	CHECK(h != NULL && strstr(h, "&lt;b&gt;x&lt;/b&gt;") != NULL);
	CHECK(h != NULL && strstr(h, "&quot;a&quot; &amp; &lt;img src=x&gt;")
	    != NULL);
	CHECK(h != NULL && strstr(h, "502 Bad Gateway") != NULL);
	free(h);
	h = oa_page_error_html(500, NULL, NULL);
	CHECK(h != NULL && strstr(h, "<code>server_error</code></p>") != NULL);
	free(h);
}

static void
test_chooser(const struct oa_conf *conf)
{
	char *h;

	h = oa_page_chooser_html(conf, "client_id=web&state=a%20b");
	check_shell(h);
	if (h == NULL)
		return;
	CHECK(count(h, "<li>") == 3);
	CHECK(strstr(h, "href=\"http://127.0.0.1:8080/base/oauth/google?"
	    "client_id=web&amp;state=a%20b\">Continue with Google</a>") !=
	    NULL);
	CHECK(strstr(h, "href=\"http://127.0.0.1:8080/base/oauth/dev?"
	    "client_id=web&amp;state=a%20b\">Continue with dev</a>") != NULL);
	/* The display name is configuration, and escaped all the same. */
	CHECK(strstr(h, "Continue with &lt;script&gt;alert(&quot;x&quot;)"
	    "&lt;/script&gt; &amp; &#39;Co&#39;</a>") != NULL);
	CHECK(strstr(h, "<script>") == NULL);
	/* In configuration order. */
	CHECK(strstr(h, "/oauth/google") < strstr(h, "/oauth/corp") &&
	    strstr(h, "/oauth/corp") < strstr(h, "/oauth/dev"));
	free(h);
	/* No query: no '?'. */
	h = oa_page_chooser_html(conf, NULL);
	CHECK(h != NULL && strstr(h, "href=\"http://127.0.0.1:8080/base/"
	    "oauth/google\"") != NULL);
	free(h);
	CHECK(oa_page_chooser_html(NULL, "") == NULL);
}

static void
test_dev(void)
{
	char *h;

	h = oa_page_dev_html("http://127.0.0.1:8080/oauth/dev/callback",
	    "Dev <1>", "st\"ate", "a\"><script>@x");
	check_shell(h);
	if (h == NULL)
		return;
	CHECK(strstr(h, "<form method=\"post\" action=\"http://127.0.0.1:8080"
	    "/oauth/dev/callback\">") != NULL);
	CHECK(strstr(h, "<input type=\"hidden\" name=\"state\" "
	    "value=\"st&quot;ate\">") != NULL);
	CHECK(strstr(h, "name=\"email\"") != NULL);
	CHECK(strstr(h, "name=\"name\"") != NULL);
	CHECK(strstr(h, "value=\"a&quot;&gt;&lt;script&gt;@x\"") != NULL);
	CHECK(strstr(h, "Sign in with Dev &lt;1&gt;") != NULL);
	CHECK(strstr(h, "<label for=\"email\">") != NULL);
	free(h);
	h = oa_page_dev_html("http://x/cb", NULL, "s", NULL);
	CHECK(h != NULL && strstr(h, "autocomplete=\"email\" maxlength=\"254\""
	    ">") != NULL);
	free(h);
	CHECK(oa_page_dev_html(NULL, "d", "s", NULL) == NULL);
	CHECK(oa_page_dev_html("http://x/cb", "d", NULL, NULL) == NULL);
}

/* ---- oa_page_send / oa_page_error on a real CGI response ---------- */

static const char *send_form_action;
/* The request body and its headers for run_cgi (NULL: none). */
static const char *req_body, *req_ctype, *req_clen;

static int
handler(struct oa_cgi *c, void *arg)
{
	const char *which = arg;

	if (strcmp(which, "error") == 0)
		return oa_page_error(c, 404, "invalid_request",
		    "there is no such sign-in provider");
	if (strcmp(which, "form") == 0) {
		const char *in = "untouched";
		size_t len = 0;
		int rc;

		if ((rc = oa_page_read_form(c, &in, &len)) != 0)
			return rc == 1 ? 0 : -1;
		oa_cgi_status(c, 200);
		oa_cgi_printf(c, "form %zu [%s]", len, in);
		return 0;
	}
	return oa_page_send(c, 200, "<!DOCTYPE html>\n<p>hi</p>\n",
	    send_form_action);
}

/* Runs handler(which) through oa_cgi_main as plain CGI in a child and
 * returns its whole stdout (malloc'd), or NULL. */
static char *
run_cgi(const char *which, const char *method)
{
	int fd[2], devnull, status;
	pid_t pid;
	char *out = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	if (pipe(fd) != 0)
		return NULL;
	fflush(NULL);
	if ((pid = fork()) == -1)
		return NULL;
	if (pid == 0) {
		close(fd[0]);
		devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		if (req_body != NULL) {
			int b[2];

			/* Small bodies: the pipe buffer holds them. */
			if (pipe(b) != 0 || write(b[1], req_body,
			    strlen(req_body)) != (ssize_t)strlen(req_body))
				_exit(3);
			close(b[1]);
			dup2(b[0], 0);
		}
		if (req_ctype != NULL)
			setenv("CONTENT_TYPE", req_ctype, 1);
		else
			unsetenv("CONTENT_TYPE");
		if (req_clen != NULL)
			setenv("CONTENT_LENGTH", req_clen, 1);
		else
			unsetenv("CONTENT_LENGTH");
		dup2(fd[1], 1);
		setenv("REQUEST_METHOD", method, 1);
		setenv("GATEWAY_INTERFACE", "CGI/1.1", 1);
		unsetenv("QUERY_STRING");
		_exit(oa_cgi_main(handler, (void *)which) == 0 ? 0 : 1);
	}
	close(fd[1]);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *p = realloc(out, cap + 8192);
			if (p == NULL)
				break;
			out = p;
			cap += 8192;
		}
		if ((n = read(fd[0], out + len, 4096)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || out == NULL) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* 1 when the header block of resp has the line "name: value". */
static int
has_header(const char *resp, const char *line)
{
	const char *end = strstr(resp, "\r\n\r\n");
	size_t l = strlen(line);
	const char *p = resp;

	if (end == NULL)
		return 0;
	while (p < end) {
		if (strncmp(p, line, l) == 0 && p[l] == '\r')
			return 1;
		if ((p = strstr(p, "\r\n")) == NULL)
			return 0;
		p += 2;
	}
	return 0;
}

static void
check_page_headers(const char *r, const char *csp)
{
	CHECK(has_header(r, "Content-Type: text/html; charset=utf-8"));
	CHECK(has_header(r, "Cache-Control: no-store"));
	CHECK(has_header(r, "Referrer-Policy: no-referrer"));
	CHECK(has_header(r, csp));
	CHECK(has_header(r, "X-Content-Type-Options: nosniff"));
	CHECK(has_header(r, "X-Frame-Options: DENY"));
}

static void
test_send(void)
{
	char *r;

	r = run_cgi("error", "GET");
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(strncmp(r, "Status: 404", 11) == 0);
		check_page_headers(r, "Content-Security-Policy: " CSP_SELF);
		CHECK(strstr(r, "<code>invalid_request</code>: there is no "
		    "such sign-in provider") != NULL);
		CHECK(!has_header(r, "Location: x") &&
		    strstr(r, "\r\nLocation:") == NULL);
	}
	free(r);

	send_form_action = "http://127.0.0.1:9";
	r = run_cgi("send", "GET");
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(strncmp(r, "Status: 200", 11) == 0);
		check_page_headers(r, "Content-Security-Policy: default-src "
		    "'none'; style-src 'unsafe-inline'; form-action "
		    "http://127.0.0.1:9; frame-ancestors 'none'; base-uri "
		    "'none'");
		CHECK(strstr(r, "\r\n\r\n<!DOCTYPE html>\n<p>hi</p>\n") != NULL);
	}
	free(r);

	/* HEAD: the headers, no body. */
	send_form_action = NULL;
	r = run_cgi("send", "HEAD");
	CHECK(r != NULL);
	if (r != NULL) {
		check_page_headers(r, "Content-Security-Policy: " CSP_SELF);
		CHECK(strstr(r, "<p>hi</p>") == NULL);
	}
	free(r);

	/* Several origins, separated by single spaces, are allowed. */
	{
		char *csp = oa_page_csp("http://127.0.0.1:8080 https://a.example");
		CHECK(csp != NULL && strstr(csp, "form-action "
		    "http://127.0.0.1:8080 https://a.example; ") != NULL);
		free(csp);
		CHECK(oa_page_csp("http://a  https://b") == NULL);
		CHECK(oa_page_csp(" http://a") == NULL);
		CHECK(oa_page_csp("http://a\thttps://b") == NULL);
	}

	/* A bad form-action origin: the page is not sent (500). */
	send_form_action = "x; script-src *";
	r = run_cgi("send", "GET");
	CHECK(r != NULL && strncmp(r, "Status: 500", 11) == 0 &&
	    strstr(r, "script-src") == NULL);
	free(r);
}

/* One oa_page_read_form() case through run_cgi("form"). */
static char *
form_post(const char *ctype, const char *clen, const char *body)
{
	char *r;

	req_ctype = ctype;
	req_clen = clen;
	req_body = body;
	r = run_cgi("form", "POST");
	req_ctype = req_clen = req_body = NULL;
	return r;
}

static void
test_read_form(void)
{
	char *r;

	/* A form, with or without parameters, any case. */
	r = form_post(OA_FORM_TYPE, "7", "a=1&b=2");
	CHECK(r != NULL && strncmp(r, "Status: 200", 11) == 0 &&
	    strstr(r, "\r\n\r\nform 7 [a=1&b=2]") != NULL);
	free(r);
	r = form_post("Application/X-WWW-Form-URLEncoded; charset=UTF-8",
	    "3", "a=1");
	CHECK(r != NULL && strstr(r, "\r\n\r\nform 3 [a=1]") != NULL);
	free(r);
	r = form_post(OA_FORM_TYPE, NULL, NULL);
	CHECK(r != NULL && strstr(r, "\r\n\r\nform 0 []") != NULL);
	free(r);

	/* Not a form: 415, nothing read. */
	r = form_post("application/json", "7", "{\"a\":1}");
	CHECK(r != NULL && strncmp(r, "Status: 415", 11) == 0 &&
	    strstr(r, "POST application/x-www-form-urlencoded") != NULL &&
	    strstr(r, "form ") == NULL);
	free(r);
	r = form_post(NULL, "3", "a=1");
	CHECK(r != NULL && strncmp(r, "Status: 415", 11) == 0);
	free(r);
	r = form_post(OA_FORM_TYPE "x", "3", "a=1");
	CHECK(r != NULL && strncmp(r, "Status: 415", 11) == 0);
	if (r != NULL)
		check_page_headers(r, "Content-Security-Policy: " CSP_SELF);
	free(r);

	/* Too large (refused before reading): 413. */
	r = form_post(OA_FORM_TYPE, "16385", "a=1");
	CHECK(r != NULL && strncmp(r, "Status: 413", 11) == 0 &&
	    strstr(r, "request too large") != NULL);
	free(r);
	/* A malformed CONTENT_LENGTH: 400. */
	r = form_post(OA_FORM_TYPE, "3x", "a=1");
	CHECK(r != NULL && strncmp(r, "Status: 400", 11) == 0 &&
	    strstr(r, "malformed request body") != NULL);
	free(r);
}

int
main(void)
{
	struct oa_conf *conf = NULL;
	char err[512];

	oa_log_set_level(OA_LOG_ERROR);
	if (oa_conf_parse("t.conf", conf_text, strlen(conf_text), 0, &conf,
	    err, sizeof(err)) != 0)
		fprintf(stderr, "conf: %s\n", err);
	CHECK(conf != NULL);
	test_csp();
	test_dev_form_action();
	test_error_html();
	if (conf != NULL)
		test_chooser(conf);
	test_dev();
	test_send();
	test_read_form();
	oa_conf_free(conf);
	return t_done("page");
}
