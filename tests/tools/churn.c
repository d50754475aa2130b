// SPDX-License-Identifier: GPL-2.0
/*
 * churn: a fixed loopback connect/close workload for scripts/bench.
 * One epoll server process; C client processes, each making N/C
 * connections: connect, write 64 bytes, read them back, close.
 *
 *   churn [-p PORT] [-n N] [-c C]
 *
 * Prints "connections=N seconds=S per_second=R" (wall clock, CLOCK_MONOTONIC).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void serve(int lfd)
{
	int ep = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN, .data.fd = lfd }, evs[64];
	char buf[256];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e))
		die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept(lfd, NULL, NULL);

				if (c < 0)
					continue;
				e.events = EPOLLIN;
				e.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
				continue;
			}
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r > 0 && write(fd, buf, r) == r)
				continue;
			close(fd);	/* EOF: the client closed first */
		}
	}
}

static void client(int port, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[64] = { 0 };

	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		size_t got = 0;

		if (fd < 0 || connect(fd, (void *)&a, sizeof(a)))
			die("connect");
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			die("write");
		while (got < sizeof(buf)) {
			ssize_t r = read(fd, buf, sizeof(buf) - got);

			if (r <= 0)
				die("read");
			got += r;
		}
		close(fd);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	int port = 9990, c, conc = 4, lfd, one = 1, status, failed = 0;
	long n = 2000;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timespec t0, t1;
	pid_t srv;

	while ((c = getopt(argc, argv, "p:n:c:")) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'c': conc = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: churn [-p PORT] [-n N] [-c C]\n");
			return 2;
		}
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(port);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 1024))
		die("listen");
	srv = fork();
	if (srv == 0)
		serve(lfd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < conc; i++)
		if (fork() == 0)
			client(port, n / conc + (i < n % conc));
	for (int i = 0; i < conc; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("connections=%ld seconds=%.3f per_second=%.0f\n", n, s, n / s);
	return failed ? 1 : 0;
}
