/* Small privileged helpers for the kubeharden lab (tests/lab/lab.sh).
 *
 *   khlab-helper init PIDFILE CMD [ARG...]
 *       Runs as PID 1 of a node's PID namespace. Writes its PID as seen from
 *       the host to PIDFILE (read from the host's /proc before the node mounts
 *       its own), runs CMD, and then reaps children forever. Killing it
 *       (SIGKILL from the host) makes the kernel kill every process of the
 *       node.
 *   khlab-helper pivot NEWROOT
 *       pivot_root into NEWROOT and detach the old root, for every process of
 *       the calling mount namespace whose root was the old root.
 *   khlab-helper opaque DIR...
 *       Marks directories of an overlay lower layer opaque, so the host's
 *       directory of the same name does not show through.
 *   khlab-helper exec PATH ARGV0 [ARG...]
 *       execv(PATH) with argv[0] set to ARGV0 and the environment unchanged.
 *   khlab-helper hang ADDR PORT
 *       Accepts TCP connections and never sends a byte (an sshd that hangs
 *       before its banner). Holds at most 256 connections.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "khlab-helper: %s: %s\n", what, strerror(errno));
	return 1;
}

static int do_init(int argc, char **argv)
{
	char buf[64];
	ssize_t n;
	FILE *f;
	pid_t child;

	if (argc < 4) {
		fprintf(stderr, "usage: khlab-helper init PIDFILE CMD [ARG...]\n");
		return 2;
	}
	n = readlink("/proc/self", buf, sizeof buf - 1);
	if (n < 0)
		return die("readlink /proc/self");
	buf[n] = 0;
	f = fopen(argv[2], "w");
	if (!f)
		return die(argv[2]);
	fprintf(f, "%s\n", buf);
	if (fclose(f))
		return die(argv[2]);

	child = fork();
	if (child < 0)
		return die("fork");
	if (child == 0) {
		execvp(argv[3], argv + 3);
		die(argv[3]);
		_exit(127);
	}
	for (;;) {
		int status;
		pid_t p = waitpid(-1, &status, 0);
		if (p < 0 && errno == ECHILD)
			pause();
		if (p == child)
			fprintf(stderr, "khlab-helper init: setup exited with status %d\n",
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

static int do_pivot(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: khlab-helper pivot NEWROOT\n");
		return 2;
	}
	if (chdir(argv[2]))
		return die("chdir new root");
	if (syscall(SYS_pivot_root, ".", "."))
		return die("pivot_root");
	if (umount2(".", MNT_DETACH))
		return die("umount old root");
	if (chdir("/"))
		return die("chdir /");
	return 0;
}

static int do_opaque(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (setxattr(argv[i], "trusted.overlay.opaque", "y", 1, 0))
			return die(argv[i]);
	return 0;
}

static int do_hang(int argc, char **argv)
{
	struct sockaddr_in sa;
	int fds[256], next = 0, one = 1, s;

	if (argc != 4) {
		fprintf(stderr, "usage: khlab-helper hang ADDR PORT\n");
		return 2;
	}
	memset(fds, -1, sizeof fds);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "khlab-helper: bad address %s\n", argv[2]);
		return 2;
	}
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa))
		return die("bind");
	if (listen(s, 64))
		return die("listen");
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (fds[next] >= 0)
			close(fds[next]);
		fds[next] = c;
		next = (next + 1) % 256;
	}
}

static int do_exec(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: khlab-helper exec PATH ARGV0 [ARG...]\n");
		return 2;
	}
	execv(argv[2], argv + 3);
	return die(argv[2]);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return do_exec(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "init"))
		return do_init(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "pivot"))
		return do_pivot(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "opaque"))
		return do_opaque(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "hang"))
		return do_hang(argc, argv);
	fprintf(stderr, "usage: khlab-helper init|pivot|opaque|exec|hang ...\n");
	return 2;
}
