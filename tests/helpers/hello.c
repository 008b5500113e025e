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
 */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 6\r\n"
    "\r\n"
    "hello\n";

int
main(void)
{
	FCGX_Request req;

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
		FCGX_PutStr(response, (int)(sizeof(response) - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
