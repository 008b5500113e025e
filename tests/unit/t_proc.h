/*
 * t_proc.h - child processes for the unit tests that start a local
 * server (node scripts of tests/upstream): spawn one with its stdout on
 * a pipe, read its "READY <port>" line with a deadline, stop it by PID.
 * Header-only, like t.h; include after the system headers it uses
 * (fcntl.h, poll.h, signal.h, sys/wait.h, time.h, unistd.h).
 */
#ifndef OA_T_PROC_H
#define OA_T_PROC_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Runs argv (argv[0] looked up in PATH) with stdout on a pipe and stderr
 * appended to logpath (or /dev/null). Writes the pid and the read end.
 */
static inline int
spawn(char *const argv[], const char *logpath, pid_t *pid, int *rfd)
{
	int fds[2];
	pid_t p;

	if (pipe(fds) != 0)
		return -1;
	if ((p = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (p == 0) {
		int lfd = open(logpath ? logpath : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fds[1], 1);
		if (lfd >= 0)
			dup2(lfd, 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	*pid = p;
	*rfd = fds[0];
	return 0;
}

/* Stops a child: SIGTERM, then SIGKILL when it has not exited in 3 s. */
static inline void
stop(pid_t pid)
{
	long deadline;
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	deadline = now_ms() + 3000;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return;
		}
		poll(NULL, 0, 10);
	}
}

/*
 * Reads from fd until a complete line arrives or timeout_ms passes; the
 * line (without '\n') goes into buf. 0, or -1 on EOF/timeout.
 */
static inline int
read_line(int fd, char *buf, size_t len, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long left = deadline - now_ms();
		ssize_t r;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		if ((r = read(fd, buf + n, 1)) <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

#endif
