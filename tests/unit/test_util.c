/*
 * test_util.c - randomness and SHA-256 (lib/util.c).
 *
 * oa_random reads getrandom(2). Where the system call is missing
 * (ENOSYS) it falls back to OpenSSL's generator; on any other failure,
 * or when the fallback fails too, it fails with the buffer wiped, never
 * half random. The failures are made with a seccomp filter in a child
 * process. (OpenSSL 3 itself seeds from getrandom and, on a kernel
 * >= 4.8, does not fall back to /dev/urandom: its generator works there
 * only when it was seeded before getrandom went away.)
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <openssl/rand.h>

#include "ownauth.h"
#include "t.h"

/* 1 when the n bytes of p are all c. */
static int
all_are(const unsigned char *p, size_t n, unsigned char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

static void
test_random(void)
{
	unsigned char a[64], b[64], *big;
	size_t n = 1 << 20;

	CHECK(oa_random(NULL, 0) == 0);
	CHECK(oa_random(NULL, 1) == -1);
	CHECK(oa_random(a, 0) == 0);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK(oa_random(a, sizeof(a)) == 0 && oa_random(b, sizeof(b)) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0 && !all_are(a, sizeof(a), 0));
	/* More than getrandom gives in one call (256 bytes guaranteed,
	 * 32 MB at most): the loop fills it all; the last kilobyte is not
	 * left as it was. */
	if ((big = malloc(n)) != NULL) {
		memset(big, 0, n);
		CHECK(oa_random(big, n) == 0);
		CHECK(!all_are(big + n - 1024, 1024, 0));
		free(big);
	}
}

/*
 * In a child: getrandom(2) answers -1 with errno err (seccomp), then
 * oa_random fills a buffer. The child's exit status: 0 when oa_random
 * gave want (0: random bytes; -1: failure with the buffer wiped; 1:
 * either, but nothing in between), 1 when
 * it did not, 2 when the filter could not be installed (no seccomp).
 * With seed, OpenSSL's generator is seeded before the filter goes in.
 */
static int
with_getrandom_errno(int err, int seed, int want)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	unsigned char buf[96];
	pid_t pid;
	int st, r;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if (seed && RAND_bytes(buf, 1) != 1)
			_exit(1);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
			_exit(2);
		/* The filter works: a direct call fails with err. */
		if (syscall(SYS_getrandom, buf, sizeof(buf), 0) != -1 ||
		    errno != err)
			_exit(1);
		memset(buf, 0xaa, sizeof(buf));
		r = oa_random(buf, sizeof(buf));
		if (r == 0 && want != -1)
			_exit(!all_are(buf, sizeof(buf), 0xaa) &&
			    !all_are(buf, sizeof(buf), 0) ? 0 : 1);
		_exit(r == -1 && want != 0 && all_are(buf, sizeof(buf), 0) ?
		    0 : 1);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_random_fallback(void)
{
	int r;

	/* A kernel without getrandom: OpenSSL's generator. */
	r = with_getrandom_errno(ENOSYS, 1, 0);
	if (r == 2) {
		printf("util: no seccomp here; fallback not tested\n");
		return;
	}
	CHECK(r == 0);
	/* ... which cannot seed itself then on a kernel >= 4.8: random
	 * bytes or a failure, the buffer wiped. */
	CHECK(with_getrandom_errno(ENOSYS, 0, 1) == 0);
	/* Anything else: a failure, the buffer wiped. */
	CHECK(with_getrandom_errno(EPERM, 1, -1) == 0);
	CHECK(with_getrandom_errno(EIO, 0, -1) == 0);
	CHECK(with_getrandom_errno(EFAULT, 0, -1) == 0);
}

static void
test_sha256(void)
{
	/* FIPS 180-2 B.1 and the empty string. */
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad,
	};
	uint8_t out[32];
	char *b;
	pid_t pid;
	int st;

	oa_sha256("abc", 3, out);
	CHECK(memcmp(out, abc, 32) == 0);
	b = oa_sha256_b64("", 0);
	CHECK_STR(b, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	free(b);
	/* The digest fetched once serves a forked child too. */
	fflush(NULL);
	if ((pid = fork()) == 0) {
		memset(out, 0, sizeof(out));
		oa_sha256("abc", 3, out);
		_exit(memcmp(out, abc, 32) == 0 ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
}

/*
 * The reserve of small draws (util.c): parent and forked child never
 * hand out the same bytes (the page is wiped in the child), and small
 * draws across refills never repeat.
 */
static void
test_random_reserve(void)
{
	unsigned char seen[64][32], a[32], b[32], x[100];
	int fds[2], st, dup = 0;
	pid_t pid;

	/* Draws of every small size, across several refills. */
	for (size_t n = 1; n <= 128; n++) {
		unsigned char t[128];

		CHECK(oa_random(t, n) == 0);
	}
	for (int i = 0; i < 64; i++)
		CHECK(oa_random(seen[i], sizeof(seen[i])) == 0);
	for (int i = 0; i < 64; i++)
		for (int j = i + 1; j < 64; j++)
			dup += memcmp(seen[i], seen[j], 32) == 0;
	CHECK(dup == 0);
	/* The reserve holds bytes now: the child's first draw of the same
	 * size must not be the parent's next one. */
	CHECK(oa_random(x, sizeof(x)) == 0);
	CHECK(pipe(fds) == 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		if (oa_random(b, sizeof(b)) != 0 ||
		    write(fds[1], b, sizeof(b)) != (ssize_t)sizeof(b))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	CHECK(oa_random(a, sizeof(a)) == 0);
	CHECK(pid > 0 && read(fds[0], b, sizeof(b)) == (ssize_t)sizeof(b));
	close(fds[0]);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

int
main(void)
{
	test_random();
	test_random_reserve();
	test_random_fallback();
	test_sha256();
	return t_done("util");
}
