// SPDX-License-Identifier: GPL-2.0
/*
 * tcpconn: deterministic TCP traffic for synfin's tests.
 *
 *   tcpconn serve   [-6] [-a ADDR] -p PORT [-n N] [-R READYFILE] [-l MS] [-S | -H]
 *   tcpconn connect [-6] [-a ADDR] -p PORT [-n N] [-c CONC] [-b SPORT]
 *                   [-s SRCADDR | -B NADDRS] [-S] [-q]
 *   tcpconn loop    [-a ADDR] -p PORT [-n N] [-B NADDRS]
 *       both ends in one process (no context switch per connection: the
 *       fastest churn under emulation); no data, the client closes first,
 *       and each connection ends with the client's side in TIME_WAIT
 *
 * Each connection: client sends "ping", server answers "pong". By default the
 * client closes first; the server waits for EOF, then LINGER ms (-l, default
 * 100) before closing, so the client's FIN is ACKed before the server's FIN
 * leaves (FIN_WAIT2, not CLOSING). -S: the server closes first instead.
 * -H: the server never closes (holds every connection until killed), so the
 * client's orphaned sockets sit in timewait substate FIN_WAIT2.
 * -s: bind the client to SRCADDR; -B N: spread connections over N IPv4
 * source addresses 127.1.x.y (avoids port exhaustion at 100k connections).
 * connect prints "sport=P" per connection unless -q. Exit 0 when all N
 * connections completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int family = AF_INET, port, count = 1, linger_ms = 100, conc = 1;
static int server_first, quiet, bind_sport, hold, n_srcaddrs;
static const char *addr, *ready_file, *src_addr;

static void die(const char *what)
{
	fprintf(stderr, "tcpconn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static socklen_t make_addr(struct sockaddr_storage *ss, const char *a, int p)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		if (inet_pton(AF_INET6, a ? a : "::1", &s6->sin6_addr) != 1)
			errno = EINVAL, die("address");
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (void *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(p);
	if (inet_pton(AF_INET, a ? a : "127.0.0.1", &s4->sin_addr) != 1)
		errno = EINVAL, die("address");
	return sizeof(*s4);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int read_some(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static void write_all(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

/* The listening socket on ADDR:PORT. */
static int listen_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, addr, port);
	int one = 1, lfd;

	lfd = socket(family, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (void *)&ss, len))
		die("bind");
	if (listen(lfd, 1024))
		die("listen");
	return lfd;
}

static int serve(void)
{
	int lfd = listen_socket(), i;
	char buf[64];

	if (ready_file) {
		FILE *f = fopen(ready_file, "w");

		if (!f)
			die(ready_file);
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
	for (i = 0; i < count; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (read_some(fd, buf, sizeof(buf)) <= 0)
			fprintf(stderr, "tcpconn: no ping on connection %d\n", i);
		write_all(fd, "pong");
		if (hold)
			continue;	/* keep fd open: the client's FIN is never answered */
		if (!server_first) {
			while (read_some(fd, buf, sizeof(buf)) > 0)
				;
			if (linger_ms)
				sleep_ms(linger_ms);
		}
		close(fd);
	}
	close(lfd);
	if (hold)
		pause();
	return 0;
}

/* A client socket, bound as -b/-s/-B ask, connected to ADDR:PORT. */
static int client_socket(int seq)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, addr, port);
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (bind_sport || src_addr || n_srcaddrs) {
		struct sockaddr_storage b;
		socklen_t blen = make_addr(&b, src_addr, bind_sport);

		if (n_srcaddrs) {
			unsigned int i = seq % n_srcaddrs;

			((struct sockaddr_in *)&b)->sin_addr.s_addr =
				htonl(0x7f010000 | ((i / 250) << 8) | (i % 250 + 1));
		} else if (!src_addr && family == AF_INET6) {
			((struct sockaddr_in6 *)&b)->sin6_addr = in6addr_any;
		} else if (!src_addr) {
			((struct sockaddr_in *)&b)->sin_addr.s_addr = htonl(INADDR_ANY);
		}
		if (bind_sport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		else	/* pick the port at connect(), as without bind(): no scan */
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (void *)&b, blen))
			die("bind source address/port");
	}
	if (connect(fd, (void *)&ss, len))
		die("connect");
	return fd;
}

static int one_connection(int seq)
{
	struct sockaddr_storage me;
	socklen_t mlen = sizeof(me);
	char buf[64];
	int fd = client_socket(seq);

	if (getsockname(fd, (void *)&me, &mlen))
		die("getsockname");
	if (!quiet)
		printf("sport=%u\n", ntohs(family == AF_INET6 ?
			((struct sockaddr_in6 *)&me)->sin6_port :
			((struct sockaddr_in *)&me)->sin_port));
	write_all(fd, "ping");
	if (read_some(fd, buf, sizeof(buf)) <= 0)
		die("no pong");
	if (server_first) {
		/* Wait for the server's FIN, then ACK it a moment before ours. */
		while (read_some(fd, buf, sizeof(buf)) > 0)
			;
		sleep_ms(linger_ms);
	}
	close(fd);
	return 0;
}

static int connect_all(void)
{
	int started = 0, running = 0, failed = 0, status;

	if (conc <= 1) {
		for (int i = 0; i < count; i++)
			one_connection(i);
		return 0;
	}
	/* C concurrent workers, each making its share of connections. */
	fflush(stdout);
	for (; started < conc; started++) {
		int share = count / conc + (started < count % conc);
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid) {
			for (int i = 0; i < share; i++)
				one_connection(started + i * conc);
			fflush(stdout);
			_exit(0);
		}
		running++;
	}
	while (running--) {
		if (wait(&status) < 0)
			die("wait");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	return failed ? 1 : 0;
}

/* Both ends in this process: connect, accept, the client closes first. */
static int loop(void)
{
	int lfd = listen_socket(), i;
	char buf[64];

	for (i = 0; i < count; i++) {
		int c = client_socket(i), a = accept(lfd, NULL, NULL);

		if (a < 0)
			die("accept");
		close(c);
		while (read_some(a, buf, sizeof(buf)) > 0)
			;
		close(a);
	}
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int c;

	if (argc > 1) {
		argv++;
		argc--;
	}
	while ((c = getopt(argc, argv, "6a:p:n:R:l:c:b:s:B:SHq")) != -1) {
		switch (c) {
		case '6': family = AF_INET6; break;
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': count = atoi(optarg); break;
		case 'R': ready_file = optarg; break;
		case 'l': linger_ms = atoi(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 'b': bind_sport = atoi(optarg); break;
		case 'S': server_first = 1; break;
		case 'H': hold = 1; break;
		case 's': src_addr = optarg; break;
		case 'B': n_srcaddrs = atoi(optarg); break;
		case 'q': quiet = 1; break;
		default: goto usage;
		}
	}
	if (port <= 0 || count <= 0)
		goto usage;
	if (!strcmp(mode, "serve"))
		return serve();
	if (!strcmp(mode, "connect"))
		return connect_all();
	if (!strcmp(mode, "loop"))
		return loop();
usage:
	fprintf(stderr, "usage: tcpconn serve|connect|loop [-6] [-a ADDR] -p PORT [-n N] [-c CONC] [-R READY] [-l MS] [-b SPORT] [-s SRC | -B NADDRS] [-S | -H] [-q]\n");
	return 2;
}
