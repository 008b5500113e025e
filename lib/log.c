/*
 * log.c - one line per event on stderr, which is the web server's error
 * log for CGI and FastCGI programs and the terminal for the CLI.
 *
 * Lines look like "prog: level: message\n". Each line is written with a
 * single write(2) so that lines of concurrent processes sharing one error
 * log do not interleave. Control bytes in the message (CR, LF, ...) are
 * replaced by '?' so that nothing logged can forge a second log line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"

/* Longest line written; longer messages are cut and end with "...". */
#define OA_LOG_LINE_MAX 2048

static const char *log_prog = "ownauth";
static enum oa_log_level log_level = OA_LOG_INFO;

static const char *const level_names[] = {
	[OA_LOG_ERROR] = "error",
	[OA_LOG_WARN] = "warn",
	[OA_LOG_INFO] = "info",
	[OA_LOG_DEBUG] = "debug",
};

/*
 * Sets the program name printed at the start of each line. The string is
 * not copied: pass a literal or argv[0]'s basename. NULL restores
 * "ownauth".
 */
void
oa_log_set_prog(const char *prog)
{
	log_prog = prog != NULL ? prog : "ownauth";
}

/* Sets the most verbose level that is printed (default OA_LOG_INFO). */
void
oa_log_set_level(enum oa_log_level level)
{
	if (level < OA_LOG_ERROR)
		level = OA_LOG_ERROR;
	if (level > OA_LOG_DEBUG)
		level = OA_LOG_DEBUG;
	log_level = level;
}

/*
 * Parses one of "error", "warn", "info", "debug" (exact, lower case).
 * Returns 0 and writes *out, or -1 (and leaves *out alone).
 */
int
oa_log_level_parse(const char *s, enum oa_log_level *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			if (out != NULL)
				*out = (enum oa_log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Prints "prog: level: message\n" to stderr when level is enabled.
 * errno is preserved, so a caller may log and then inspect errno.
 * Never pass a secret or a token: log a kid or a hash prefix instead.
 */
void
oa_log(enum oa_log_level level, const char *fmt, ...)
{
	char buf[OA_LOG_LINE_MAX];
	va_list ap;
	size_t len, start, i;
	int saved = errno, n;
	ssize_t w;

	if (level > log_level || level < OA_LOG_ERROR)
		return;
	n = snprintf(buf, sizeof(buf), "%s: %s: ", log_prog,
	    level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		errno = saved;
		return;
	}
	start = (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(buf + start, sizeof(buf) - start - 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = saved;
		return;
	}
	len = start + (size_t)n;
	if (len > sizeof(buf) - 2) {
		/* Cut: the buffer holds sizeof(buf) - 2 bytes of text. */
		len = sizeof(buf) - 2;
		memcpy(buf + len - 3, "...", 3);
	}
	for (i = start; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c == 0x7f)
			buf[i] = '?';
	}
	buf[len++] = '\n';
	buf[len] = '\0';
	for (i = 0; i < len; i += (size_t)w) {
		w = write(STDERR_FILENO, buf + i, len - i);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			break;
	}
	errno = saved;
}
