/*
 * upcache.c - the file cache of upstream documents: a provider's
 * discovery document and its JWKS, under {data_dir}/upstream/.
 *
 * Files rather than the store: login.fcgi reads the discovery document
 * and links no Berkeley DB, and a JWKS is re-read far more often than it
 * changes. Each document is written whole to a temporary file and renamed
 * into place (oa_file_write_atomic), so a reader sees the old or the new
 * document, never a mix, whatever the number of processes. Freshness is
 * the file's age, so all processes share one refetch schedule: that is
 * also what rate-limits the JWKS refetch on an unknown kid.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"

/* Provider names are section names ([A-Za-z0-9._-], conf.c); refuse
 * anything that could leave the directory anyway. */
static int
name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '.' || strlen(s) > 64)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

char *
oa_upcache_path(const struct oa_conf *conf, const char *provider,
    enum oa_upcache_kind kind)
{
	char *path = NULL;

	if (conf == NULL || conf->data_dir == NULL || !name_ok(provider))
		return NULL;
	if (kind == OA_UPCACHE_DISCOVERY)
		/* The very path login.fcgi reads (upstream_ep.c). */
		return oa_upstream_discovery_path(conf, provider);
	if (kind != OA_UPCACHE_JWKS)
		return NULL;
	if (asprintf(&path, "%s/%s/%s.jwks.json", conf->data_dir,
	    OA_UPSTREAM_DIR, provider) < 0)
		return NULL;
	return path;
}

int
oa_upcache_fresh(enum oa_upcache_kind kind, long age)
{
	long ttl = kind == OA_UPCACHE_JWKS ? OA_UPCACHE_JWKS_TTL :
	    OA_UPCACHE_DISCOVERY_TTL;

	return age >= 0 && age < ttl;
}

int
oa_upcache_read(const struct oa_conf *conf, const char *provider,
    enum oa_upcache_kind kind, time_t now, char **body, size_t *len,
    long *age)
{
	struct stat st;
	char *path = NULL, *buf = NULL;
	size_t n = 0;
	int fd = -1, rc = -1;
	ssize_t r;

	if (body == NULL)
		return -1;
	if ((path = oa_upcache_path(conf, provider, kind)) == NULL) {
		oa_log(OA_LOG_ERROR, "upstream cache: no path for provider %s",
		    provider != NULL ? provider : "(null)");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			oa_log(OA_LOG_WARN, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		oa_log(OA_LOG_WARN, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > OA_DISCOVERY_MAX) {
		oa_log(OA_LOG_WARN, "%s: larger than %d bytes", path,
		    OA_DISCOVERY_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		oa_log(OA_LOG_ERROR, "upstream cache: out of memory");
		goto out;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			oa_log(OA_LOG_WARN, "%s: short read", path);
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*body = buf;
	buf = NULL;
	if (len != NULL)
		*len = n;
	if (age != NULL)
		*age = st.st_mtime > now ? 0 : (long)(now - st.st_mtime);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

int
oa_upcache_write(const struct oa_conf *conf, const char *provider,
    enum oa_upcache_kind kind, const char *body, size_t len)
{
	char *dir = NULL, *path = NULL;
	int rc = -1;

	if (body == NULL || len > OA_DISCOVERY_MAX ||
	    (path = oa_upcache_path(conf, provider, kind)) == NULL) {
		oa_log(OA_LOG_ERROR, "upstream cache: bad arguments");
		return -1;
	}
	if (asprintf(&dir, "%s/%s", conf->data_dir, OA_UPSTREAM_DIR) < 0) {
		dir = NULL;
		oa_log(OA_LOG_ERROR, "upstream cache: out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		oa_log(OA_LOG_ERROR, "mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	/* oa_file_write_atomic logs its own failures. */
	if (oa_file_write_atomic(path, body, len, 0600) != 0)
		goto out;
	rc = 0;
out:
	free(dir);
	free(path);
	return rc;
}
