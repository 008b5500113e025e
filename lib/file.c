/*
 * file.c - reading, permission checks and atomic writes of small files
 * (the config, secret files, keys, published JWKS and discovery).
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ownauth.h"

/* Frees a buffer that may hold a secret (a key, a client secret). */
static void
wipe_free(char *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

/*
 * Reads the whole regular file at path, of at most max bytes, into a
 * malloc'd buffer with a NUL after the data (the data itself may contain
 * NUL bytes: *len counts them). len may be NULL. The buffer is grown
 * without realloc() and wiped on every failure path, so a secret file
 * leaves no copies behind. The caller frees *out (wiping it when the
 * file is secret).
 *
 * Does not log: returns -1 with errno set (from open/read, EINVAL when the
 * path is not a regular file, EFBIG when the file is larger than max,
 * ENOMEM), so the caller can write a message naming the file.
 */
int
oa_file_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL, *nbuf;
	size_t cap = 0, used = 0;
	ssize_t r;
	int fd = -1, saved;

	if (path == NULL || out == NULL || max >= SIZE_MAX / 2) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	/* Room for the data, one byte to notice growth, and the NUL. */
	cap = (size_t)st.st_size + 2;
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		if (used == cap - 1) {
			/* The file grew since fstat: grow, within max. */
			size_t ncap;
			if (used > max) {
				errno = EFBIG;
				goto fail;
			}
			ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			if ((nbuf = malloc(ncap)) == NULL)
				goto fail;
			memcpy(nbuf, buf, used);
			wipe_free(buf, cap);
			buf = nbuf;
			cap = ncap;
		}
		r = read(fd, buf + used, cap - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		used += (size_t)r;
	}
	if (used > max) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	buf[used] = '\0';
	*out = buf;
	if (len != NULL)
		*len = used;
	return 0;
fail:
	saved = errno;
	wipe_free(buf, cap);
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

/*
 * Refuses a file or directory that group or others can read, write or
 * enter (any bit of mode & 077), following symlinks to what they name.
 * Returns 0 when private. Otherwise returns -1 and, when err is not NULL,
 * writes a message naming the path and the mode (or the stat error) and
 * saying how to fix it. Does not log.
 */
int
oa_file_check_private(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL)
		return -1;
	if (stat(path, &st) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
			    "%s: mode %04o gives group or others access; "
			    "run chmod %s %s", path,
			    (unsigned)(st.st_mode & 07777),
			    S_ISDIR(st.st_mode) ? "700" : "600", path);
		return -1;
	}
	return 0;
}

/* fsync()s the directory dir (so that a rename in it is durable). */
static int
fsync_dir(const char *dir)
{
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	/* Some file systems cannot fsync a directory; that is not a loss. */
	if (rc != 0 && (errno == EINVAL || errno == EROFS))
		rc = 0;
	close(fd);
	return rc;
}

/*
 * Writes "dir/name" + suffix (".pem", ".json", or "") into buf, a buffer
 * of size bytes owned by the caller. Returns 0, or -1 when the path does
 * not fit (one log line naming it; buf then holds a cut path, not to be
 * used).
 */
int
oa_file_path(char *buf, size_t size, const char *dir, const char *name,
    const char *suffix)
{
	int n;

	n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= size) {
		oa_log(OA_LOG_ERROR, "%s/%s%s: path too long", dir, name,
		    suffix);
		return -1;
	}
	return 0;
}

/*
 * Writes len bytes of data to path atomically: a temp file
 * ".NAME.tmp.RANDOM" is created next to it with O_CREAT | O_EXCL |
 * O_NOFOLLOW (so a planted symlink or file is never followed or reused),
 * set to exactly mode (fchmod, whatever the umask), written, fsync'd and
 * renamed over path; then the directory is fsync'd so the rename survives
 * a crash. An existing path is replaced (a symlink at path is replaced,
 * not followed). The temp file is removed on every failure. Failures are
 * logged, naming the call. Returns 0 or -1 (errno set).
 */
int
oa_file_write_atomic(const char *path, const void *data, size_t len,
    int mode)
{
	const char *slash, *base;
	char *dir = NULL, *tmp = NULL;
	const unsigned char *p = data;
	unsigned char rnd[8];
	size_t off = 0, dirlen;
	ssize_t w;
	int fd = -1, saved, tries, created = 0;

	if (path == NULL || *path == '\0' || (data == NULL && len > 0) ||
	    (mode & ~07777) != 0) {
		errno = EINVAL;
		return -1;
	}
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EISDIR;
		oa_log(OA_LOG_ERROR, "write %s: not a file name", path);
		return -1;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else {
		dirlen = (size_t)(slash - path);
		dir = strndup(path, dirlen);
	}
	if (dir == NULL)
		goto fail;

	for (tries = 0; tries < 16 && fd < 0; tries++) {
		free(tmp);
		tmp = NULL;
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			oa_log(OA_LOG_ERROR, "write %s: getrandom: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (asprintf(&tmp, "%s/.%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x",
		    dir, base, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		    rnd[6], rnd[7]) < 0) {
			tmp = NULL;
			goto fail;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, (mode_t)mode);
		if (fd < 0 && errno != EEXIST) {
			oa_log(OA_LOG_ERROR, "write %s: open %s: %s", path, tmp,
			    strerror(errno));
			goto fail;
		}
	}
	if (fd < 0) {
		oa_log(OA_LOG_ERROR, "write %s: no free temp name", path);
		goto fail;
	}
	created = 1;
	if (fchmod(fd, (mode_t)mode) != 0) {
		oa_log(OA_LOG_ERROR, "write %s: fchmod: %s", path,
		    strerror(errno));
		goto fail;
	}
	while (off < len) {
		w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			oa_log(OA_LOG_ERROR, "write %s: write: %s", path,
			    strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		oa_log(OA_LOG_ERROR, "write %s: fsync: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		oa_log(OA_LOG_ERROR, "write %s: close: %s", path,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		oa_log(OA_LOG_ERROR, "write %s: rename: %s", path,
		    strerror(errno));
		goto fail;
	}
	created = 0;
	if (fsync_dir(dir) != 0) {
		/* The file is in place; only its durability is in doubt. */
		oa_log(OA_LOG_ERROR, "write %s: fsync of %s: %s", path, dir,
		    strerror(errno));
		goto fail;
	}
	free(tmp);
	free(dir);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (created && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = saved;
	return -1;
}
