/*
 * test_file.c - oa_file_read, oa_file_check_private, oa_file_write_atomic
 * (lib/file.c), in a private temp directory under /tmp.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownauth.h"
#include "t.h"

static char dir[64];

static char *
in_dir(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
put(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, data, len) == (ssize_t)len);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

/* Number of directory entries whose name starts with prefix. */
static int
count_entries(const char *d, const char *prefix)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (dp == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(dp);
	return n;
}

static void
rm_rf(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char p[512];
	struct stat st;

	if (dp == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(dp);
	rmdir(d);
}

static void
test_read(void)
{
	char *buf = NULL;
	size_t len = 99;
	const char bin[] = { 'a', '\0', 'b', '\n' };

	put(in_dir("ten"), "0123456789", 10, 0600);
	CHECK(oa_file_read(in_dir("ten"), 10, &buf, &len) == 0);
	CHECK(len == 10);
	CHECK_STR(buf, "0123456789");
	free(buf);
	buf = NULL;

	/* len may be NULL; a bigger max is fine. */
	CHECK(oa_file_read(in_dir("ten"), 1 << 20, &buf, NULL) == 0);
	CHECK_STR(buf, "0123456789");
	free(buf);
	buf = NULL;

	/* One byte over max: EFBIG, nothing written. */
	errno = 0;
	CHECK(oa_file_read(in_dir("ten"), 9, &buf, &len) == -1);
	CHECK(errno == EFBIG);
	CHECK(buf == NULL);

	/* Empty file: "" and 0. */
	put(in_dir("empty"), "", 0, 0600);
	len = 99;
	CHECK(oa_file_read(in_dir("empty"), 0, &buf, &len) == 0);
	CHECK(len == 0);
	CHECK_STR(buf, "");
	free(buf);
	buf = NULL;

	/* NUL bytes are data, counted in len. */
	put(in_dir("bin"), bin, sizeof(bin), 0600);
	CHECK(oa_file_read(in_dir("bin"), 100, &buf, &len) == 0);
	CHECK(len == 4);
	CHECK(buf != NULL && memcmp(buf, bin, 4) == 0 && buf[4] == '\0');
	free(buf);
	buf = NULL;

	/* Missing file keeps ENOENT; a directory is EINVAL. */
	errno = 0;
	CHECK(oa_file_read(in_dir("missing"), 100, &buf, &len) == -1);
	CHECK(errno == ENOENT);
	errno = 0;
	CHECK(oa_file_read(dir, 100, &buf, &len) == -1);
	CHECK(errno == EINVAL);
	CHECK(buf == NULL);
	CHECK(oa_file_read(NULL, 100, &buf, &len) == -1);
}

static void
test_private(void)
{
	char err[512], sub[300];

	put(in_dir("p600"), "x", 1, 0600);
	put(in_dir("p400"), "x", 1, 0400);
	put(in_dir("p640"), "x", 1, 0640);
	put(in_dir("p604"), "x", 1, 0604);
	put(in_dir("p644"), "x", 1, 0644);
	put(in_dir("p602"), "x", 1, 0602);

	err[0] = 'Z';
	CHECK(oa_file_check_private(in_dir("p600"), err, sizeof(err)) == 0);
	CHECK(err[0] == '\0');
	CHECK(oa_file_check_private(in_dir("p400"), err, sizeof(err)) == 0);
	CHECK(oa_file_check_private(in_dir("p600"), NULL, 0) == 0);

	CHECK(oa_file_check_private(in_dir("p640"), err, sizeof(err)) == -1);
	CHECK(strstr(err, in_dir("p640")) == err);
	CHECK(strstr(err, "mode 0640") != NULL);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(oa_file_check_private(in_dir("p604"), err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0604") != NULL);
	CHECK(oa_file_check_private(in_dir("p644"), err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0644") != NULL);
	CHECK(oa_file_check_private(in_dir("p602"), err, sizeof(err)) == -1);
	CHECK(oa_file_check_private(in_dir("p644"), NULL, 0) == -1);
	/* A small buffer is cut, not overrun. */
	CHECK(oa_file_check_private(in_dir("p644"), err, 8) == -1);
	CHECK(strlen(err) == 7);

	/* Directories: 0700 ok, 0750 refused with "chmod 700". */
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	CHECK(mkdir(sub, 0700) == 0);
	CHECK(chmod(sub, 0700) == 0);
	CHECK(oa_file_check_private(sub, err, sizeof(err)) == 0);
	CHECK(chmod(sub, 0750) == 0);
	CHECK(oa_file_check_private(sub, err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0750") != NULL);
	CHECK(strstr(err, "chmod 700") != NULL);
	rmdir(sub);

	/* A symlink is judged by what it names. */
	CHECK(symlink(in_dir("p644"), in_dir("link")) == 0);
	CHECK(oa_file_check_private(in_dir("link"), err, sizeof(err)) == -1);
	unlink(in_dir("link"));

	/* Missing: the message names the path and the error. */
	CHECK(oa_file_check_private(in_dir("nope"), err, sizeof(err)) == -1);
	CHECK(strstr(err, in_dir("nope")) != NULL);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(oa_file_check_private(NULL, err, sizeof(err)) == -1);
}

static void
test_write(void)
{
	struct stat st;
	char *buf = NULL, sub[300], big[70000];
	size_t len = 0;
	mode_t old;

	/* Create with an exact mode, whatever the umask. */
	old = umask(077);
	CHECK(oa_file_write_atomic(in_dir("w1"), "hello", 5, 0644) == 0);
	umask(old);
	CHECK(stat(in_dir("w1"), &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(oa_file_read(in_dir("w1"), 100, &buf, &len) == 0);
	CHECK(len == 5);
	CHECK_STR(buf, "hello");
	free(buf);
	buf = NULL;

	/* Replace: new content and mode. */
	CHECK(oa_file_write_atomic(in_dir("w1"), "bye", 3, 0600) == 0);
	CHECK(stat(in_dir("w1"), &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(oa_file_read(in_dir("w1"), 100, &buf, &len) == 0);
	CHECK_STR(buf, "bye");
	free(buf);
	buf = NULL;

	/* Empty content, and a big one (several write() calls maybe). */
	CHECK(oa_file_write_atomic(in_dir("w0"), "", 0, 0600) == 0);
	CHECK(stat(in_dir("w0"), &st) == 0 && st.st_size == 0);
	memset(big, 'B', sizeof(big));
	CHECK(oa_file_write_atomic(in_dir("wbig"), big, sizeof(big), 0600) ==
	    0);
	CHECK(stat(in_dir("wbig"), &st) == 0 &&
	    st.st_size == (off_t)sizeof(big));

	/* A symlink at the target is replaced, its target left alone. */
	put(in_dir("victim"), "keep", 4, 0600);
	CHECK(symlink(in_dir("victim"), in_dir("wlink")) == 0);
	CHECK(oa_file_write_atomic(in_dir("wlink"), "new", 3, 0600) == 0);
	CHECK(lstat(in_dir("wlink"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(oa_file_read(in_dir("victim"), 100, &buf, &len) == 0);
	CHECK_STR(buf, "keep");
	free(buf);
	buf = NULL;

	/* No temp file is left after success. */
	CHECK(count_entries(dir, ".") == 2); /* "." and ".." only */

	/* Failure: the target is a non-empty directory (rename fails);
	 * the temp file is removed. */
	snprintf(sub, sizeof(sub), "%s/wdir", dir);
	CHECK(mkdir(sub, 0700) == 0);
	put(in_dir("wdir/inside"), "x", 1, 0600);
	CHECK(oa_file_write_atomic(sub, "x", 1, 0600) == -1);
	CHECK(count_entries(dir, ".wdir") == 0);
	CHECK(count_entries(dir, ".") == 2);

	/* Failure: missing directory; a path naming no file. */
	CHECK(oa_file_write_atomic(in_dir("nodir/f"), "x", 1, 0600) == -1);
	CHECK(oa_file_write_atomic(in_dir(""), "x", 1, 0600) == -1);
	CHECK(oa_file_write_atomic(in_dir("."), "x", 1, 0600) == -1);
	CHECK(oa_file_write_atomic(NULL, "x", 1, 0600) == -1);
	CHECK(oa_file_write_atomic(in_dir("bad"), NULL, 1, 0600) == -1);
	CHECK(oa_file_write_atomic(in_dir("bad"), "x", 1, 010000) == -1);
	CHECK(access(in_dir("bad"), F_OK) != 0);
	CHECK(count_entries(dir, ".") == 2);

	/* A relative path (the current directory). */
	{
		char cwd[512];
		CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
		CHECK(chdir(dir) == 0);
		CHECK(oa_file_write_atomic("rel", "r", 1, 0600) == 0);
		CHECK(chdir(cwd) == 0);
		CHECK(access(in_dir("rel"), F_OK) == 0);
	}
}

static void
test_path(void)
{
	char buf[16];

	CHECK(oa_file_path(buf, sizeof(buf), "/k", "abc", ".pem") == 0);
	CHECK_STR(buf, "/k/abc.pem");
	CHECK(oa_file_path(buf, sizeof(buf), "/k", "abc", "") == 0);
	CHECK_STR(buf, "/k/abc");
	/* 15 bytes and the NUL fit; 16 do not. */
	CHECK(oa_file_path(buf, sizeof(buf), "/keys", "abcd", ".json") == 0);
	CHECK_STR(buf, "/keys/abcd.json");
	CHECK(oa_file_path(buf, sizeof(buf), "/keys", "abcde", ".json") ==
	    -1);
	CHECK(oa_file_path(buf, 1, "", "", "") == -1);
}

int
main(void)
{
	strcpy(dir, "/tmp/oa-test-file.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	oa_log_set_prog("test_file");
	test_read();
	test_private();
	test_write();
	test_path();
	rm_rf(dir);
	return t_done("file");
}
