/*
 * hello.c - the bare libfcgi program that bench/ measures ownauth against
 * (SPEC §11: the "gateway limit" for FastCGI and the per-request cost of a
 * plain CGI fork/exec).
 *
 * It does nothing but answer every request with a tiny fixed response, so
 * its requests/s under a web server are what the server + FastCGI protocol
 * can do on this machine. Like the ownauth programs it runs both as
 * FastCGI (a socket on fd 0) and as plain CGI (one request from the
 * environment, response on stdout). It sends a Content-Length, as a
 * careful program does, so the server needs no chunked encoding.
 *
 * With HELLO_CLOSE=early in its environment it ends each connection the
 * way lib/cgi.c's close_at_once() does (the request's input read to its
 * end, nothing unread on the socket: a plain close() instead of libfcgi's
 * lingering close), so that bench/ can also show ownauth's programs
 * against a hello-world that closes as they do.
 */
#include <sys/ioctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 6\r\n"
    "\r\n"
    "hello\n";

/* The same size, another word: bench/ checks that its requests reach the
 * early-closing worker. */
static const char response_early[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 6\r\n"
    "\r\n"
    "early\n";

/* lib/cgi.c's close_at_once(), restated here: this program links
 * nothing but libfcgi. */
static void
close_early(FCGX_Request *req)
{
	char trash[1024];
	int unread;

	if (req->keepConnection || req->ipcFd < 0)
		return;
	while (FCGX_GetStr(trash, (int)sizeof(trash), req->in) > 0)
		continue;
	if (FCGX_HasSeenEOF(req->in) != EOF || FCGX_GetError(req->in) != 0 ||
	    ioctl(req->ipcFd, FIONREAD, &unread) == -1 || unread != 0)
		return;
	FCGX_Detach(req);
}

int
main(void)
{
	FCGX_Request req;
	const char *mode = getenv("HELLO_CLOSE");
	int early = mode != NULL && strcmp(mode, "early") == 0;

	if (FCGX_IsCGI()) {
		/* Plain CGI: one request, answered on stdout. */
		if (fwrite(response, 1, sizeof(response) - 1, stdout) !=
		    sizeof(response) - 1 || fflush(stdout) != 0)
			return 1;
		return 0;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		if (early) {
			FCGX_PutStr(response_early,
			    (int)(sizeof(response_early) - 1), req.out);
			close_early(&req);
		} else
			FCGX_PutStr(response, (int)(sizeof(response) - 1),
			    req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
