/*
 * test_url.c - oa_url_split, oa_host_is_loopback,
 * oa_url_is_secure_or_loopback (lib/url.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ownauth.h"
#include "t.h"

/* Splits url and checks every part; want_host NULL means "must fail". */
static void
split_ok(const char *url, const char *want_scheme, const char *want_host,
    int want_port, const char *want_path)
{
	char *s = NULL, *h = NULL, *p = NULL;
	int port = -1;

	CHECK(oa_url_split(url, &s, &h, &port, &p) == 0);
	CHECK_STR(s, want_scheme);
	CHECK_STR(h, want_host);
	CHECK(port == want_port);
	CHECK_STR(p, want_path);
	free(s);
	free(h);
	free(p);
}

/* Must fail, and must not touch the out-parameters. */
static void
split_bad(const char *url)
{
	char *s = (char *)"x", *h = (char *)"x", *p = (char *)"x";
	int port = 77, rc;

	rc = oa_url_split(url, &s, &h, &port, &p);
	if (rc == 0)
		fprintf(stderr, "accepted: %s\n", url);
	CHECK(rc == -1);
	CHECK(s != NULL && strcmp(s, "x") == 0);
	CHECK(h != NULL && strcmp(h, "x") == 0);
	CHECK(p != NULL && strcmp(p, "x") == 0);
	CHECK(port == 77);
}

static void
test_split(void)
{
	char *h = NULL;
	int port = 0;

	split_ok("https://example.com", "https", "example.com", 0, "");
	split_ok("https://example.com/", "https", "example.com", 0, "/");
	split_ok("http://example.com:8080/a/b?x=1&y=2", "http", "example.com",
	    8080, "/a/b?x=1&y=2");
	split_ok("https://example.com?x=1", "https", "example.com", 0, "?x=1");
	split_ok("https://auth.example.com/tenant/v2.0", "https",
	    "auth.example.com", 0, "/tenant/v2.0");
	split_ok("http://127.0.0.1:5173/", "http", "127.0.0.1", 5173, "/");
	split_ok("http://[::1]:8080/cb", "http", "[::1]", 8080, "/cb");
	split_ok("https://[2001:db8::1]/", "https", "[2001:db8::1]", 0, "/");
	split_ok("http://localhost:1/", "http", "localhost", 1, "/");
	split_ok("http://localhost:65535", "http", "localhost", 65535, "");
	split_ok("https://a-b_c.example.com/%20x", "https",
	    "a-b_c.example.com", 0, "/%20x");
	split_ok("https://login.microsoftonline.com/{tenant}/v2.0", "https",
	    "login.microsoftonline.com", 0, "/{tenant}/v2.0");
	split_ok("https://example.com./", "https", "example.com.", 0, "/");

	/* Out-parameters are optional. */
	CHECK(oa_url_split("https://example.com:444/x", NULL, NULL, NULL,
	    NULL) == 0);
	CHECK(oa_url_split("https://example.com:444/x", NULL, &h, &port,
	    NULL) == 0);
	CHECK_STR(h, "example.com");
	CHECK(port == 444);
	free(h);

	/* Userinfo, in every shape (SECURITY: host confusion). */
	split_bad("https://user@example.com/");
	split_bad("https://user:pw@example.com/");
	split_bad("https://@example.com/");
	split_bad("https://good.example@evil.example/");
	split_bad("https://example.com\\@evil.example/");
	/* Fragments (RFC 6749 §3.1.2), whitespace and control bytes. */
	split_bad("https://example.com/#frag");
	split_bad("https://example.com#");
	split_bad("https://exa mple.com/");
	split_bad("https://example.com/a b");
	split_bad("https://example.com/\n");
	split_bad("https://example.com/\t");
	split_bad("https://example.com/\x7f");
	split_bad(" https://example.com/");
	split_bad("https://example.com/\xc3\xa9");
	split_bad("https://\xc3\xa9.example/");
	/* Schemes. */
	split_bad("ftp://example.com/");
	split_bad("HTTPS://example.com/");
	split_bad("Http://example.com/");
	split_bad("javascript:alert(1)");
	split_bad("com.example.app:/cb");
	split_bad("//example.com/");
	split_bad("example.com");
	split_bad("https:example.com");
	split_bad("https:/example.com");
	split_bad("");
	split_bad(NULL);
	/* Hosts. */
	split_bad("https://");
	split_bad("https:///path");
	split_bad("https://?x");
	split_bad("https://:443/");
	split_bad("https://a..b/");
	split_bad("https://.example.com/");
	split_bad("https://ex%41mple.com/");
	split_bad("https://exa!mple.com/");
	split_bad("https://127.1/");
	split_bad("https://2130706433/");
	split_bad("https://0x7f.0.0.1/");
	split_bad("https://example.0x7f/");
	split_bad("https://256.0.0.1/");
	split_bad("https://1.2.3.4./");
	split_bad("https://[::1/");
	split_bad("https://[]/");
	split_bad("https://[zz::1]/");
	split_bad("https://[::1]x/");
	split_bad("https://[::1]:/");
	split_bad("https://[fe80::1%25eth0]/");
	split_bad("https://::1/");
	/* Ports. */
	split_bad("https://example.com:/");
	split_bad("https://example.com:0/");
	split_bad("https://example.com:65536/");
	split_bad("https://example.com:123456/");
	split_bad("https://example.com:8a/");
	split_bad("https://example.com:-1/");
	split_bad("https://example.com:+80/");
	split_bad("https://example.com:80:80/");
}

static void
test_loopback(void)
{
	CHECK(oa_host_is_loopback("localhost") == 1);
	CHECK(oa_host_is_loopback("LocalHost") == 1);
	CHECK(oa_host_is_loopback("127.0.0.1") == 1);
	CHECK(oa_host_is_loopback("127.255.255.254") == 1);
	CHECK(oa_host_is_loopback("127.0.0.2") == 1);
	CHECK(oa_host_is_loopback("[::1]") == 1);
	CHECK(oa_host_is_loopback("::1") == 1);
	CHECK(oa_host_is_loopback("[0:0:0:0:0:0:0:1]") == 1);
	CHECK(oa_host_is_loopback("[::ffff:127.0.0.1]") == 1);

	CHECK(oa_host_is_loopback(NULL) == 0);
	CHECK(oa_host_is_loopback("") == 0);
	CHECK(oa_host_is_loopback("128.0.0.1") == 0);
	CHECK(oa_host_is_loopback("126.255.255.255") == 0);
	CHECK(oa_host_is_loopback("0.0.0.0") == 0);
	CHECK(oa_host_is_loopback("[::]") == 0);
	CHECK(oa_host_is_loopback("[::2]") == 0);
	CHECK(oa_host_is_loopback("[::ffff:10.0.0.1]") == 0);
	CHECK(oa_host_is_loopback("localhost.example.com") == 0);
	CHECK(oa_host_is_loopback("foo.localhost") == 0);
	CHECK(oa_host_is_loopback("localhost.") == 0);
	CHECK(oa_host_is_loopback("127.0.0.1.nip.io") == 0);
	CHECK(oa_host_is_loopback("127.0.0.1:80") == 0);
	CHECK(oa_host_is_loopback("127.1") == 0);
	CHECK(oa_host_is_loopback("[::1") == 0);
	CHECK(oa_host_is_loopback("[127.0.0.1]") == 0);
	CHECK(oa_host_is_loopback("2130706433") == 0);
}

static void
test_secure(void)
{
	CHECK(oa_url_is_secure_or_loopback("https://example.com") == 1);
	CHECK(oa_url_is_secure_or_loopback("https://example.com/x?y") == 1);
	CHECK(oa_url_is_secure_or_loopback("http://localhost:8080/") == 1);
	CHECK(oa_url_is_secure_or_loopback("http://127.0.0.1/") == 1);
	CHECK(oa_url_is_secure_or_loopback("http://[::1]:9000/t") == 1);

	CHECK(oa_url_is_secure_or_loopback("http://example.com/") == 0);
	CHECK(oa_url_is_secure_or_loopback("http://127.0.0.1.nip.io/") == 0);
	CHECK(oa_url_is_secure_or_loopback("http://10.0.0.1/") == 0);
	CHECK(oa_url_is_secure_or_loopback("http://[::2]/") == 0);
	CHECK(oa_url_is_secure_or_loopback("http://localhost@evil.com/") ==
	    0);
	CHECK(oa_url_is_secure_or_loopback("https://u@example.com/") == 0);
	CHECK(oa_url_is_secure_or_loopback("https://example.com/#f") == 0);
	CHECK(oa_url_is_secure_or_loopback("ftp://localhost/") == 0);
	CHECK(oa_url_is_secure_or_loopback(NULL) == 0);
	CHECK(oa_url_is_secure_or_loopback("") == 0);
}

/* One oa_url_origin() case: want NULL means refused. */
static void
origin_is(const char *url, const char *want)
{
	char *o = oa_url_origin(url);

	if (want == NULL)
		CHECK(o == NULL);
	else
		CHECK_STR(o, want);
	free(o);
}

static void
test_origin(void)
{
	origin_is("https://auth.example.com", "https://auth.example.com");
	origin_is("https://auth.example.com/", "https://auth.example.com");
	origin_is("https://auth.example.com/oa/x?y=1",
	    "https://auth.example.com");
	origin_is("https://Auth.Example.com?q", "https://Auth.Example.com");
	origin_is("http://127.0.0.1:8080/cgi-bin/login.fcgi",
	    "http://127.0.0.1:8080");
	origin_is("http://[::1]:9000/cb", "http://[::1]:9000");
	origin_is("http://[::1]/cb", "http://[::1]");
	/* The port as a number; a default port given is kept. */
	origin_is("https://a.example:0443/", "https://a.example:443");
	origin_is("https://a.example:443/", "https://a.example:443");
	origin_is("http://localhost:65535", "http://localhost:65535");

	/* Whatever oa_url_split refuses has no origin here. */
	origin_is(NULL, NULL);
	origin_is("", NULL);
	origin_is("com.example.app:/cb", NULL);
	origin_is("HTTPS://a.example/", NULL);
	origin_is("ftp://a.example/", NULL);
	origin_is("https://u@a.example/", NULL);
	origin_is("https://a.example/#f", NULL);
	origin_is("https://a.example:0/", NULL);
	origin_is("https://a.example:65536/", NULL);
	origin_is("https:///x", NULL);
	origin_is("https://a.example\\@b.example/", NULL);
}

int
main(void)
{
	test_split();
	test_loopback();
	test_secure();
	test_origin();
	return t_done("url");
}
