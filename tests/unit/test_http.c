/*
 * test_http.c - lib/http.c against real servers on 127.0.0.1: the
 * misbehaving upstream tests/upstream/fake.mjs (over http, and over https
 * with a throw-away self-signed certificate made here), and a real OpenID Provider,
 * tests/upstream/op.mjs (oidc-provider), for a whole code exchange.
 *
 * The test starts node itself (the servers pick their own port and print
 * "READY <port>"; we poll for that line with a deadline), and stops every
 * process it started by pid. Sources are found under $OA_SRC (set by
 * `make unit`), else the current directory. Server logs go to a temp dir
 * and are printed when a check failed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ownauth.h"
#include "t.h"
#include "t_proc.h"

static const char *src_dir = ".";
static char tmpdir[] = "/tmp/oa-test-http-XXXXXX";

/* Starts a node script of tests/upstream with args; waits for "READY
 * <port>". Returns the port, or -1 (and the child is stopped). */
static int
start_node(const char *script, const char *const *args, const char *log,
    pid_t *pid)
{
	char *argv[32], path[4096], line[256];
	int fd, port = -1, i, n = 0;

	snprintf(path, sizeof(path), "%s/tests/upstream/%s", src_dir, script);
	argv[n++] = "node";
	argv[n++] = path;
	for (i = 0; args != NULL && args[i] != NULL && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (spawn(argv, log, pid, &fd) != 0)
		return -1;
	if (read_line(fd, line, sizeof(line), 20000) == 0 &&
	    sscanf(line, "READY %d", &port) == 1 && port > 0) {
		close(fd);
		return port;
	}
	close(fd);
	fprintf(stderr, "test_http: %s did not get ready (see %s; are node "
	    "and tests/node_modules installed? cd tests && npm ci)\n", script,
	    log);
	stop(*pid);
	*pid = -1;
	return -1;
}

/* Runs argv to completion; writes its first stdout line into buf.
 * Returns the exit status, or -1. */
static int
run_capture(char *const argv[], const char *log, char *buf, size_t len)
{
	pid_t pid;
	int fd, st = 0, got;

	if (spawn(argv, log, &pid, &fd) != 0)
		return -1;
	got = read_line(fd, buf, len, 30000);
	close(fd);
	if (got != 0) {
		buf[0] = '\0';
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
dump_log(const char *path)
{
	char *text = NULL;
	size_t len = 0;

	if (oa_file_read(path, 1 << 20, &text, &len) == 0 && len > 0)
		fprintf(stderr, "---- %s\n%s----\n", path, text);
	free(text);
}

/* The number of requests fake.mjs has seen (-1 on failure). */
static long
fake_hits(const char *base)
{
	char url[256];
	cJSON *j = NULL, *h;
	long n = -1;

	snprintf(url, sizeof(url), "%s/_hits", base);
	if (oa_http_get_json(url, NULL, cJSON_Object, &j) == OA_HTTP_OK &&
	    (h = cJSON_GetObjectItemCaseSensitive(j, "hits")) != NULL &&
	    cJSON_IsNumber(h))
		n = (long)h->valuedouble;
	cJSON_Delete(j);
	return n;
}

static const char *
jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- parsers (no network) ---------------------------------------- */

static void
test_json_parse(void)
{
	cJSON *j = NULL;

#define JP(s, type) oa_http_json_parse((s), strlen(s), (type), &j)
#define JPOK(s, type)                                                    \
	do {                                                             \
		j = NULL;                                                \
		CHECK(JP(s, type) == 0 && j != NULL);                    \
		cJSON_Delete(j);                                         \
	} while (0)
#define JPBAD(s, type)                                                   \
	do {                                                             \
		j = NULL;                                                \
		CHECK(JP(s, type) == -1 && j == NULL);                   \
	} while (0)

	JPOK("{\"a\":1}", cJSON_Object);
	JPOK(" \n\t{\"a\":[1,2]}\r\n ", cJSON_Object);
	JPOK("[1,{}]", cJSON_Array);
	JPOK("{\"n\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", cJSON_Object);
	/* An escaped backslash followed by the letters u0000 is no NUL. */
	JPOK("{\"a\":\"\\\\u0000\"}", cJSON_Object);
	JPOK("{\"a\":\"\\u00e9\\ud83d\\ude00\"}", cJSON_Object);
	JPBAD("[1]", cJSON_Object);
	JPBAD("{}", cJSON_Array);
	JPBAD("\"str\"", cJSON_Object);
	JPBAD("", cJSON_Object);
	JPBAD("   ", cJSON_Object);
	JPBAD("{\"a\":1", cJSON_Object);
	JPBAD("{\"a\":1} {\"b\":2}", cJSON_Object);
	JPBAD("{\"a\":1}x", cJSON_Object);
	JPBAD("{\"a\":\"x\\u0000y\"}", cJSON_Object);   /* escaped NUL */
	JPBAD("{\"a\":\"\xc0\xaf\"}", cJSON_Object);     /* overlong */
	JPBAD("{\"a\":\"\xed\xa0\x80\"}", cJSON_Object); /* surrogate */
	JPBAD("{\"a\":\"\xf4\x90\x80\x80\"}", cJSON_Object); /* > U+10FFFF */
	JPBAD("{\"a\":\"\xff\"}", cJSON_Object);
	JPBAD("{\"a\":\"\xe2\x82\"}", cJSON_Object);     /* truncated */
	JPBAD("{\"a\":\"\\ud800\"}", cJSON_Object);      /* lone surrogate */
	JPBAD("{\"a\":tru}", cJSON_Object);
	/* Duplicate members, at the top or deeper; raw control bytes. */
	JPBAD("{\"email_verified\":false,\"email_verified\":true}",
	    cJSON_Object);
	JPBAD("{\"a\":1,\"b\":2,\"a\":3}", cJSON_Object);
	JPBAD("[{\"x\":{\"k\":1,\"k\":1}}]", cJSON_Array);
	JPOK("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}",
	    cJSON_Object);
	JPBAD("{\"a\":\"x\ny\"}", cJSON_Object);
	JPBAD("{\"a\":\"x\ty\"}", cJSON_Object);
	JPOK("{\"a\":\"x\\ny\"}", cJSON_Object);
	/* A raw NUL inside the given length. */
	j = NULL;
	CHECK(oa_http_json_parse("{\"a\":1}\0", 8, cJSON_Object, &j) == -1);
	CHECK(oa_http_json_parse("{\"a\":\"\0\"}", 9, cJSON_Object, &j) == -1);
	/* Not NUL-terminated: only len bytes are read. */
	j = NULL;
	CHECK(oa_http_json_parse("{\"a\":1}garbage", 7, cJSON_Object, &j) ==
	    0 && j != NULL);
	cJSON_Delete(j);
	CHECK(oa_http_json_parse(NULL, 0, cJSON_Object, &j) == -1);
#undef JP
#undef JPOK
#undef JPBAD
}

static int
tp(const char *body, const char *ct, struct oa_http_token *t)
{
	memset(t, 0, sizeof(*t));
	return oa_http_token_parse(body, strlen(body), ct, t);
}

static void
test_token_parse(void)
{
	struct oa_http_token t;
	char *big;

	/* RFC 6749 §5.1 JSON (the example of §4.1.4, plus an id_token). */
	CHECK(tp("{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\","
	    "\"token_type\":\"Bearer\",\"expires_in\":3600,"
	    "\"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\","
	    "\"id_token\":\"eyJ.eyJ.sig\",\"scope\":\"openid email\"}",
	    "application/json;charset=UTF-8", &t) == 0);
	CHECK_STR(t.access_token, "2YotnFZFEjr1zCsicMWpAA");
	CHECK_STR(t.token_type, "Bearer");
	CHECK_STR(t.id_token, "eyJ.eyJ.sig");
	CHECK_STR(t.scope, "openid email");
	CHECK(t.error == NULL && t.error_description == NULL);
	oa_http_token_free(&t);
	CHECK(t.access_token == NULL);

	/* GitHub, form-encoded (no Accept: application/json). */
	CHECK(tp("access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&"
	    "scope=repo%2Cgist&token_type=bearer",
	    "application/x-www-form-urlencoded; charset=utf-8", &t) == 0);
	CHECK_STR(t.access_token, "gho_16C7e42F292c6912E7710c838347Ae178B4a");
	CHECK_STR(t.scope, "repo,gist");
	CHECK_STR(t.token_type, "bearer");
	CHECK(t.id_token == NULL);
	oa_http_token_free(&t);

	/* Format sniffed without a content type, or with text/plain. */
	CHECK(tp("access_token=a&token_type=bearer\n", NULL, &t) == 0);
	CHECK_STR(t.access_token, "a");
	oa_http_token_free(&t);
	CHECK(tp("  {\"access_token\":\"b\",\"token_type\":\"bearer\"}",
	    "text/plain", &t) == 0);
	CHECK_STR(t.access_token, "b");
	oa_http_token_free(&t);
	/* token_type absent: tolerated; JSON null members: absent. */
	CHECK(tp("{\"access_token\":\"c\",\"id_token\":null}", NULL, &t) == 0);
	CHECK_STR(t.access_token, "c");
	CHECK(t.id_token == NULL && t.token_type == NULL);
	oa_http_token_free(&t);
	/* Empty pairs and unknown members are ignored. */
	CHECK(tp("&x=1&&access_token=d%2B%2F&", NULL, &t) == 0);
	CHECK_STR(t.access_token, "d+/");
	oa_http_token_free(&t);

	/* Error responses (RFC 6749 §5.2; GitHub sends them with 200). */
	CHECK(tp("{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"code expired\"}", "application/json", &t) == 0);
	CHECK_STR(t.error, "invalid_grant");
	CHECK_STR(t.error_description, "code expired");
	CHECK(t.access_token == NULL);
	oa_http_token_free(&t);
	CHECK(tp("error=bad_verification_code&error_description=The+code+"
	    "passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs",
	    "application/x-www-form-urlencoded", &t) == 0);
	CHECK_STR(t.error, "bad_verification_code");
	CHECK_STR(t.error_description, "The code passed is incorrect or "
	    "expired.");
	oa_http_token_free(&t);
	/* A description with control bytes is dropped, the error kept. */
	CHECK(tp("{\"error\":\"access_denied\",\"error_description\":"
	    "\"a\\r\\nForged: line\"}", NULL, &t) == 0);
	CHECK_STR(t.error, "access_denied");
	CHECK(t.error_description == NULL);
	oa_http_token_free(&t);

	/* Refused shapes. */
	CHECK(tp("{\"token_type\":\"Bearer\"}", NULL, &t) == -1);
	CHECK(tp("{}", "application/json", &t) == -1);
	CHECK(tp("[]", "application/json", &t) == -1);
	CHECK(tp("", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":\"x\",\"token_type\":\"mac\"}", NULL,
	    &t) == -1);
	CHECK(tp("{\"access_token\":\"x\",\"token_type\":\"DPoP\"}", NULL,
	    &t) == -1);
	CHECK(tp("{\"access_token\":\"x\",\"access_token\":\"y\"}", NULL,
	    &t) == -1);
	CHECK(tp("access_token=x&access_token=y", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":12345}", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":[\"a\"]}", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":\"\"}", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":\"a b\"}", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":\"a\\r\\nX-Evil: 1\"}", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":\"\\u00e9\"}", NULL, &t) == -1);
	CHECK(tp("{\"access_token\":\"a\",\"id_token\":\"a\\tb\"}", NULL,
	    &t) == -1);
	CHECK(tp("{\"error\":\"\"}", NULL, &t) == -1);
	CHECK(tp("{\"error\":\"a\\\"b\"}", NULL, &t) == -1);
	CHECK(tp("access_token=a%0d%0aX:1", NULL, &t) == -1);
	CHECK(tp("access_token=a%00b", NULL, &t) == -1);
	CHECK(tp("access_token=a%zz", NULL, &t) == -1);
	CHECK(tp("access_token=a%2", NULL, &t) == -1);
	CHECK(tp("access_token", NULL, &t) == -1);
	CHECK(tp("<html><body>Bad Gateway</body></html>", "text/html",
	    &t) == -1);
	CHECK(tp("{\"access_token\":\"a\"", "application/json", &t) == -1);
	CHECK(tp("{\"access_token\":\"a\"}", "application/x-www-form-"
	    "urlencoded", &t) == -1);
	/* A member over 64 KiB. */
	if ((big = malloc(70000 + 64)) != NULL) {
		memcpy(big, "{\"access_token\":\"", 17);
		memset(big + 17, 'a', 70000);
		memcpy(big + 17 + 70000, "\"}", 3);
		CHECK(tp(big, NULL, &t) == -1);
		free(big);
	}
	/* Out-parameter untouched on failure. */
	CHECK(t.access_token == NULL && t.error == NULL);
}

/* ---- against fake.mjs -------------------------------------------- */

static void
test_fake(const char *base, int port)
{
	struct oa_http_resp r = { 0 };
	struct oa_http_token tok;
	struct oa_http_limits lim = { 1000, 500, 65536, NULL };
	cJSON *j = NULL, *h;
	char url[512];
	long hits, t0;
	int s;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	oa_http_set_limits(&lim);

	/* 200 JSON. */
	snprintf(url, sizeof(url), "%s/json", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	CHECK(r.status == 200);
	CHECK_STR(r.body, "{\"ok\":true,\"n\":1}");
	CHECK(r.len == strlen("{\"ok\":true,\"n\":1}"));
	CHECK_STR(r.content_type, "application/json");
	CHECK(r.location == NULL);
	oa_http_resp_free(&r);
	CHECK(r.body == NULL && r.status == 0);
	oa_http_resp_free(NULL);

	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) == OA_HTTP_OK);
	CHECK(j != NULL && cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
	cJSON_Delete(j);
	j = NULL;
	CHECK(oa_http_get_json(url, NULL, cJSON_Array, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);
	snprintf(url, sizeof(url), "%s/array", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Array, &j) == OA_HTTP_OK);
	CHECK(cJSON_GetArraySize(j) == 3);
	cJSON_Delete(j);
	j = NULL;
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);

	/* Empty body: OK, still a NUL-terminated string. */
	snprintf(url, sizeof(url), "%s/empty", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	CHECK(r.body != NULL && r.len == 0 && r.body[0] == '\0');
	oa_http_resp_free(&r);

	/* 500 and 404: the status, and the body, are given back. */
	snprintf(url, sizeof(url), "%s/status/500", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_STATUS);
	CHECK(r.status == 500);
	CHECK(r.body != NULL && strstr(r.body, "server_error") != NULL);
	oa_http_resp_free(&r);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_STATUS && j == NULL);
	snprintf(url, sizeof(url), "%s/status/204", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_STATUS && j == NULL);

	/* Malformed JSON, trailing garbage, an escaped NUL, HTML, empty. */
	snprintf(url, sizeof(url), "%s/malformed", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	oa_http_resp_free(&r);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);
	snprintf(url, sizeof(url), "%s/trailing", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);
	snprintf(url, sizeof(url), "%s/nul", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);
	snprintf(url, sizeof(url), "%s/html", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);
	snprintf(url, sizeof(url), "%s/empty", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_BAD_JSON && j == NULL);

	/* Size cap: exactly the limit passes, one byte more is TOO_BIG,
	 * streamed (write callback) or announced (Content-Length). */
	snprintf(url, sizeof(url), "%s/big?bytes=65536", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	CHECK(r.len == 65536 && r.body != NULL && r.body[65536] == '\0');
	oa_http_resp_free(&r);
	snprintf(url, sizeof(url), "%s/big?bytes=65537", base);
	memset(&r, 0, sizeof(r));
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_TOO_BIG);
	CHECK(r.body == NULL);
	snprintf(url, sizeof(url), "%s/big?bytes=65537&cl=1", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_TOO_BIG);
	snprintf(url, sizeof(url), "%s/big?bytes=5000000", base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &j) ==
	    OA_HTTP_TOO_BIG);

	/* A server that never answers, or stops half-way: TIMEOUT. */
	snprintf(url, sizeof(url), "%s/hang", base);
	t0 = now_ms();
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_TIMEOUT);
	/* The limit was applied (not curl's default of "forever"). */
	CHECK(now_ms() - t0 < 5000);
	snprintf(url, sizeof(url), "%s/slow", base);
	CHECK(oa_http_post_form(url, "a=b", NULL, NULL, &r) ==
	    OA_HTTP_TIMEOUT);
	/* A connection closed without a response. */
	snprintf(url, sizeof(url), "%s/close", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_CONNECT);

	/* Connection refused: a port that is bound but not listening. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sa, &sl) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/json",
		    ntohs(sa.sin_port));
		CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_CONNECT);
	} else
		CHECK(!"could not bind a socket");
	if (s >= 0)
		close(s);

	/* Other spellings of loopback are allowed (and not proxied). */
	snprintf(url, sizeof(url), "http://localhost:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	oa_http_resp_free(&r);
	snprintf(url, sizeof(url), "http://[::1]:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) != OA_HTTP_INSECURE_URL);
	oa_http_resp_free(&r);
	setenv("http_proxy", "http://192.0.2.1:3128", 1);
	snprintf(url, sizeof(url), "%s/json", base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	oa_http_resp_free(&r);
	unsetenv("http_proxy");

	/* Redirects are returned, never followed: the Location points back
	 * at this very server, and it sees exactly one request. */
	hits = fake_hits(base);
	snprintf(url, sizeof(url), "%s/redirect?to=%s/json", base, base);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_STATUS);
	CHECK(r.status == 302);
	{
		char want[256];
		snprintf(want, sizeof(want), "%s/json", base);
		CHECK_STR(r.location, want);
	}
	oa_http_resp_free(&r);
	CHECK(fake_hits(base) == hits + 1);
	snprintf(url, sizeof(url), "%s/redirect?to=https://other.example.test/"
	    "steal", base);
	CHECK(oa_http_post_form(url, "client_secret=s", "id", "pw", &r) ==
	    OA_HTTP_STATUS);
	CHECK(r.status == 302);
	CHECK_STR(r.location, "https://other.example.test/steal");
	oa_http_resp_free(&r);

	/* Refused before any connection: http to non-loopback hosts,
	 * loopback addresses in disguise, other schemes, credentials. */
	hits = fake_hits(base);
	CHECK(hits > 0);
	t0 = now_ms();
	CHECK(oa_http_get("http://192.0.2.1/json", NULL, &r) ==
	    OA_HTTP_INSECURE_URL);
	CHECK(oa_http_post_form("http://example.com/token", "a=b", "u", "p",
	    &r) == OA_HTTP_INSECURE_URL);
	/* 192.0.2.1 is unroutable: a connection attempt would have waited
	 * for the connect timeout. */
	CHECK(now_ms() - t0 < 500);
	snprintf(url, sizeof(url), "http://2130706433:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "http://0x7f000001:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "http://127.1:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "http://evil.example@127.0.0.1:%d/json",
	    port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d@evil.example/json",
	    port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "ftp://127.0.0.1:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "127.0.0.1:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/json\r\nX: 1", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_INSECURE_URL);
	CHECK(oa_http_get(NULL, NULL, &r) == OA_HTTP_INSECURE_URL);
	CHECK(oa_http_get("", NULL, &r) == OA_HTTP_INSECURE_URL);
	/* A bearer token that would split the header line. */
	snprintf(url, sizeof(url), "%s/echo", base);
	CHECK(oa_http_get(url, "tok\r\nX-Evil: 1", &r) == OA_HTTP_ERROR);
	CHECK(oa_http_get(url, "", &r) == OA_HTTP_ERROR);
	CHECK(fake_hits(base) == hits);
	CHECK(r.body == NULL);

	/* What goes on the wire: method, headers, Basic encoding. */
	CHECK(oa_http_get_json(url, "abc.DEF-123_~+/=", cJSON_Object, &j) ==
	    OA_HTTP_OK);
	h = cJSON_GetObjectItem(j, "headers");
	CHECK_STR(jstr(j, "method"), "GET");
	CHECK_STR(jstr(h, "user-agent"), "ownauth/" OA_VERSION);
	CHECK_STR(jstr(h, "accept"), "application/json");
	CHECK_STR(jstr(h, "authorization"), "Bearer abc.DEF-123_~+/=");
	CHECK(jstr(h, "accept-encoding") == NULL);
	cJSON_Delete(j);
	j = NULL;
	CHECK(oa_http_post_form(url, "grant_type=authorization_code&code=x",
	    "my client", "s3cr:et +/x%", &r) == OA_HTTP_OK);
	CHECK(oa_http_json_parse(r.body, r.len, cJSON_Object, &j) == 0);
	oa_http_resp_free(&r);
	h = cJSON_GetObjectItem(j, "headers");
	CHECK_STR(jstr(j, "method"), "POST");
	CHECK_STR(jstr(j, "body"), "grant_type=authorization_code&code=x");
	CHECK_STR(jstr(h, "content-type"),
	    "application/x-www-form-urlencoded");
	CHECK(jstr(h, "expect") == NULL);
	{
		/* RFC 6749 §2.3.1: form-encode, then base64 of "id:secret". */
		const char *cred = "my+client:s3cr%3Aet+%2B%2Fx%25";
		unsigned char b64[128];
		char want[160];
		EVP_EncodeBlock(b64, (const unsigned char *)cred,
		    (int)strlen(cred));
		snprintf(want, sizeof(want), "Basic %s", b64);
		CHECK_STR(jstr(h, "authorization"), want);
	}
	cJSON_Delete(j);
	j = NULL;
	CHECK(oa_http_post_form(url, "a=1", NULL, NULL, &r) == OA_HTTP_OK);
	CHECK(oa_http_json_parse(r.body, r.len, cJSON_Object, &j) == 0);
	h = cJSON_GetObjectItem(j, "headers");
	CHECK(jstr(h, "authorization") == NULL);
	cJSON_Delete(j);
	j = NULL;
	oa_http_resp_free(&r);

	/* Token responses through the wire, parsed with their type. */
	snprintf(url, sizeof(url), "%s/token/json", base);
	CHECK(oa_http_post_form(url, "code=x", "id", "pw", &r) == OA_HTTP_OK);
	CHECK(oa_http_token_parse(r.body, r.len, r.content_type, &tok) == 0);
	CHECK_STR(tok.access_token, "fake-access-token-0123456789");
	CHECK_STR(tok.id_token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln");
	oa_http_token_free(&tok);
	oa_http_resp_free(&r);
	snprintf(url, sizeof(url), "%s/token/form", base);
	CHECK(oa_http_post_form(url, "code=x", NULL, NULL, &r) == OA_HTTP_OK);
	CHECK(oa_http_token_parse(r.body, r.len, r.content_type, &tok) == 0);
	CHECK_STR(tok.access_token, "fake-access-token-0123456789");
	CHECK_STR(tok.scope, "read:user,user:email");
	oa_http_token_free(&tok);
	oa_http_resp_free(&r);
	snprintf(url, sizeof(url), "%s/token/error", base);
	CHECK(oa_http_post_form(url, "code=x", NULL, NULL, &r) ==
	    OA_HTTP_STATUS);
	CHECK(r.status == 400);
	CHECK(oa_http_token_parse(r.body, r.len, r.content_type, &tok) == 0);
	CHECK_STR(tok.error, "invalid_grant");
	oa_http_token_free(&tok);
	oa_http_resp_free(&r);

	/* Nothing secret reaches the log, whatever fails (SECURITY 27). */
	{
		char lpath[512], *text = NULL;
		size_t tlen = 0;
		int saved = dup(2), lfd;
		snprintf(lpath, sizeof(lpath), "%s/secrets.log", tmpdir);
		lfd = open(lpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(saved >= 0 && lfd >= 0);
		if (saved >= 0 && lfd >= 0) {
			dup2(lfd, 2);
			oa_log_set_level(OA_LOG_DEBUG);
			snprintf(url, sizeof(url), "%s/status/500?code="
			    "QUERYSECRET", base);
			oa_http_post_form(url, "code=BODYSECRET", "id",
			    "BASICSECRET", &r);
			oa_http_resp_free(&r);
			oa_http_get(url, "BEARERSECRET", &r);
			oa_http_resp_free(&r);
			snprintf(url, sizeof(url), "%s/hang?t=QUERYSECRET",
			    base);
			oa_http_get(url, "BEARERSECRET", &r);
			snprintf(url, sizeof(url), "%s/token/json", base);
			oa_http_get(url, "BEARERSECRET", &r);
			oa_http_resp_free(&r);
			tp("{\"access_token\":\"TOKENSECRET\",\"token_type\":"
			    "\"mac\"}", NULL, &tok);
			tp("{\"access_token\":\"TOKENSECRET\",\"id_token\":"
			    "\"TOKEN SECRET\"}", NULL, &tok);
			tp("access_token=TOKENSECRET&access_token=TOKENSECRET",
			    NULL, &tok);
			oa_log_set_level(OA_LOG_ERROR);
			dup2(saved, 2);
		}
		if (saved >= 0)
			close(saved);
		if (lfd >= 0)
			close(lfd);
		CHECK(oa_file_read(lpath, 1 << 20, &text, &tlen) == 0);
		/* The log did get lines (the failures above)... */
		CHECK(text != NULL && strstr(text, "status 500") != NULL);
		CHECK(text != NULL && strstr(text, "/hang") != NULL);
		/* ...and none of the secrets. */
		CHECK(text != NULL && strstr(text, "SECRET") == NULL);
		free(text);
	}

	/* Result strings exist for every result. */
	CHECK(strcmp(oa_http_result_str(OA_HTTP_TIMEOUT), "timed out") == 0);
	CHECK(oa_http_result_str(OA_HTTP_ERROR) != NULL);
	oa_http_set_limits(NULL);
}

/* ---- TLS: fake.mjs over https with a self-signed certificate ------ */

/*
 * Writes a throw-away self-signed P-256 certificate for IP 127.0.0.1
 * (and no name) and its key, as PEM files. 0 or -1.
 */
static int
make_cert(const char *cert, const char *key)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	FILE *f = NULL;
	int ok = -1;
	size_t i;
	static const struct { int nid; const char *value; } exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_subject_alt_name, "IP:127.0.0.1" },
	};

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto out;
	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    !X509_set_pubkey(x, pk))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ownauth test", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid,
		    exts[i].value);
		if (ext == NULL || !X509_add_ext(x, ext, -1)) {
			X509_EXTENSION_free(ext);
			goto out;
		}
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	if ((f = fopen(cert, "w")) == NULL || !PEM_write_X509(f, x) ||
	    fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	if ((f = fopen(key, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	ok = 0;
out:
	if (f != NULL)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

static void
test_tls(void)
{
	char cert[512], key[512], log[512], url[256];
	const char *args[] = { "--quiet", "--tls-cert", cert, "--tls-key",
		key, NULL };
	struct oa_http_limits lim = { 2000, 4000, 65536, NULL };
	struct oa_http_resp r = { 0 };
	pid_t pid = -1;
	int port;

	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	CHECK(make_cert(cert, key) == 0);
	snprintf(log, sizeof(log), "%s/fake-tls.log", tmpdir);
	port = start_node("fake.mjs", args, log, &pid);
	CHECK(port > 0);
	if (port <= 0)
		return;

	/* Not trusted: the system CAs do not know this certificate. */
	oa_http_set_limits(&lim);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_TLS);
	CHECK(r.body == NULL);
	/* Trusted through ca_file: the same request succeeds. */
	lim.ca_file = cert;
	oa_http_set_limits(&lim);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_OK);
	CHECK_STR(r.body, "{\"ok\":true,\"n\":1}");
	oa_http_resp_free(&r);
	/* Trusted, but for another name: host verification is on. */
	snprintf(url, sizeof(url), "https://localhost:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) == OA_HTTP_TLS);
	/* http to an https port is not TLS at all. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/json", port);
	CHECK(oa_http_get(url, NULL, &r) != OA_HTTP_OK);
	oa_http_resp_free(&r);
	oa_http_set_limits(NULL);
	stop(pid);
}

/* ---- a real code exchange with oidc-provider (op.mjs) ------------- */

/* The value of query parameter name in url, malloc'd, or NULL. */
static char *
query_param(const char *url, const char *name)
{
	const char *q = strchr(url, '?'), *p, *end;
	size_t n = strlen(name);
	char *raw, *out = NULL;
	int olen;

	if (q == NULL)
		return NULL;
	for (p = q + 1; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "&#");
		if ((size_t)(end - p) > n && strncmp(p, name, n) == 0 &&
		    p[n] == '=') {
			raw = strndup(p + n + 1, (size_t)(end - p - n - 1));
			if (raw != NULL) {
				char *d = curl_easy_unescape(NULL, raw, 0,
				    &olen);
				out = d ? strdup(d) : NULL;
				curl_free(d);
			}
			free(raw);
			return out;
		}
		if (*end == '#')
			break;
	}
	return NULL;
}

static cJSON *
jwt_payload(const char *jwt)
{
	const char *a = jwt ? strchr(jwt, '.') : NULL, *b;
	uint8_t *dec = NULL;
	size_t dlen;
	cJSON *j = NULL;

	if (a == NULL || (b = strchr(a + 1, '.')) == NULL)
		return NULL;
	if (oa_b64url_decode(a + 1, (size_t)(b - a - 1), &dec, &dlen) != 0)
		return NULL;
	if (oa_http_json_parse((char *)dec, dlen, cJSON_Object, &j) != 0)
		j = NULL;
	free(dec);
	return j;
}

static void
test_op(void)
{
	const char *secret = "s3cr:et +/x%";
	const char *redirect = "http://127.0.0.1:9/cb";
	const char *args[] = { "--client-id", "web", "--client-secret",
		secret, "--redirect-uri", redirect, NULL };
	char log[512], drvlog[512], base[64], url[2048], cb[2048];
	char form[1024], drive[512];
	char *state = NULL, *nonce = NULL, *verifier = NULL, *challenge = NULL;
	char *code = NULL, *got_state = NULL, *e_redirect = NULL;
	char *token_endpoint = NULL, *userinfo = NULL;
	struct oa_http_resp r = { 0 };
	struct oa_http_token tok = { 0 };
	cJSON *disc = NULL, *claims = NULL, *ui = NULL;
	pid_t pid = -1;
	int port, rc;

	snprintf(log, sizeof(log), "%s/op.log", tmpdir);
	snprintf(drvlog, sizeof(drvlog), "%s/drive.log", tmpdir);
	port = start_node("op.mjs", args, log, &pid);
	CHECK(port > 0);
	if (port <= 0)
		return;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);

	/* Discovery through oa_http_get_json. */
	snprintf(url, sizeof(url), "%s/.well-known/openid-configuration",
	    base);
	CHECK(oa_http_get_json(url, NULL, cJSON_Object, &disc) == OA_HTTP_OK);
	CHECK_STR(jstr(disc, "issuer"), base);
	token_endpoint = strdup(jstr(disc, "token_endpoint") ?
	    jstr(disc, "token_endpoint") : "");
	userinfo = strdup(jstr(disc, "userinfo_endpoint") ?
	    jstr(disc, "userinfo_endpoint") : "");

	/* The authorization request, as ownauth's login builds it. */
	state = oa_random_token(16);
	nonce = oa_random_token(16);
	verifier = oa_random_token(32);
	CHECK(state && nonce && verifier);
	if (!state || !nonce || !verifier)
		goto out;
	challenge = oa_sha256_b64(verifier, strlen(verifier));
	e_redirect = curl_easy_escape(NULL, redirect, 0);
	snprintf(url, sizeof(url), "%s?client_id=web&response_type=code&"
	    "redirect_uri=%s&scope=openid%%20email%%20profile&state=%s&"
	    "nonce=%s&code_challenge=%s&code_challenge_method=S256",
	    jstr(disc, "authorization_endpoint"), e_redirect, state, nonce,
	    challenge);
	snprintf(drive, sizeof(drive), "%s/tests/upstream/drive.mjs",
	    src_dir);
	{
		char *argv[] = { "node", drive, "--url", url, "--login",
			"carol.smith", NULL };
		rc = run_capture(argv, drvlog, cb, sizeof(cb));
	}
	CHECK(rc == 0);
	CHECK(strncmp(cb, redirect, strlen(redirect)) == 0);
	code = query_param(cb, "code");
	got_state = query_param(cb, "state");
	CHECK(code != NULL);
	CHECK_STR(got_state, state);
	if (code == NULL)
		goto out;

	/* The code exchange: Basic client authentication, PKCE. */
	snprintf(form, sizeof(form), "grant_type=authorization_code&code=%s&"
	    "redirect_uri=%s&code_verifier=%s", code, e_redirect, verifier);
	CHECK(oa_http_post_form(token_endpoint, form, "web", secret, &r) ==
	    OA_HTTP_OK);
	CHECK(oa_http_token_parse(r.body, r.len, r.content_type, &tok) == 0);
	oa_http_resp_free(&r);
	CHECK(tok.error == NULL);
	CHECK(tok.access_token != NULL && tok.id_token != NULL);
	CHECK(tok.token_type != NULL &&
	    strcasecmp(tok.token_type, "bearer") == 0);
	claims = jwt_payload(tok.id_token);
	CHECK(claims != NULL);
	CHECK_STR(jstr(claims, "iss"), base);
	CHECK_STR(jstr(claims, "aud"), "web");
	CHECK_STR(jstr(claims, "sub"), "carol.smith");
	CHECK_STR(jstr(claims, "nonce"), nonce);
	CHECK_STR(jstr(claims, "email"), "carol.smith@example.test");
	CHECK_STR(jstr(claims, "name"), "Carol Smith");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(claims, "email_verified")));

	/* Userinfo with the bearer token. */
	CHECK(oa_http_get_json(userinfo, tok.access_token, cJSON_Object,
	    &ui) == OA_HTTP_OK);
	CHECK_STR(jstr(ui, "sub"), "carol.smith");
	CHECK_STR(jstr(ui, "email"), "carol.smith@example.test");

	/* The code is single use: a replay is an RFC 6749 §5.2 error. */
	CHECK(oa_http_post_form(token_endpoint, form, "web", secret, &r) ==
	    OA_HTTP_STATUS);
	CHECK(r.status == 400);
	oa_http_token_free(&tok);
	CHECK(oa_http_token_parse(r.body, r.len, r.content_type, &tok) == 0);
	CHECK_STR(tok.error, "invalid_grant");
	oa_http_resp_free(&r);
	oa_http_token_free(&tok);
	/* A wrong client secret. */
	CHECK(oa_http_post_form(token_endpoint, form, "web", "wrong", &r) ==
	    OA_HTTP_STATUS);
	CHECK(r.status == 401);
	CHECK(oa_http_token_parse(r.body, r.len, r.content_type, &tok) == 0);
	CHECK_STR(tok.error, "invalid_client");
	oa_http_resp_free(&r);
	oa_http_token_free(&tok);
	/* An expired or bogus bearer token at userinfo. */
	CHECK(oa_http_get_json(userinfo, "bogus", cJSON_Object, &ui) ==
	    OA_HTTP_STATUS);
out:
	if (t_failed) {
		dump_log(log);
		dump_log(drvlog);
	}
	cJSON_Delete(disc);
	cJSON_Delete(claims);
	cJSON_Delete(ui);
	oa_secret_free(state);
	oa_secret_free(nonce);
	oa_secret_free(verifier);
	free(challenge);
	oa_secret_free(code);
	free(got_state);
	curl_free(e_redirect);
	free(token_endpoint);
	free(userinfo);
	stop(pid);
}

static int
rm_rf(const char *dir)
{
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };
	char line[8];

	return run_capture(argv, NULL, line, sizeof(line));
}

int
main(void)
{
	const char *args[] = { "--quiet", NULL };
	char log[512], base[64];
	pid_t pid = -1;
	int port;

	if (getenv("OA_SRC") != NULL)
		src_dir = getenv("OA_SRC");
	oa_log_set_prog("test_http");
	oa_log_set_level(getenv("OA_TEST_VERBOSE") ? OA_LOG_DEBUG :
	    OA_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	CHECK(oa_http_init() == 0);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	test_json_parse();
	test_token_parse();

	snprintf(log, sizeof(log), "%s/fake.log", tmpdir);
	port = start_node("fake.mjs", args, log, &pid);
	CHECK(port > 0);
	if (port > 0) {
		snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
		test_fake(base, port);
		stop(pid);
		if (t_failed)
			dump_log(log);
	}
	test_tls();
	test_op();

	rm_rf(tmpdir);
	curl_global_cleanup();
	return t_done("test_http");
}
