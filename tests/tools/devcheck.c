// SPDX-License-Identifier: GPL-2.0
/*
 * devcheck: exercise /dev/synfin's interface directly, for the VM tests.
 * Each check exits 0 when the device behaves as specified, 1 otherwise,
 * and says what it saw.
 *
 *   devcheck abi | enotty | efault | short-read | eagain | poll
 *   devcheck stats                    print module statistics (key=value)
 *   devcheck wait-readers N [SECS]    wait until N files have the device open
 *   devcheck block-read               block in read(); report how it returned
 *   devcheck count [SECS]             read until SIGTERM (or SECS), drain, print counts
 *   devcheck hold block|poll|nonblock|idle   keep the device open until SIGTERM:
 *                                     blocked in read(), in poll(), reading
 *                                     non-blocking in a loop, or never reading
 *   devcheck filter                   SYNFIN_IOC_SET_FILTER: bad filters refused,
 *                                     a filter matching nothing keeps poll() quiet
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uapi/synfin.h>

static int open_dev(int flags)
{
	int fd = open(SYNFIN_DEVICE, O_RDONLY | flags);

	if (fd < 0) {
		fprintf(stderr, "devcheck: open %s: %s\n", SYNFIN_DEVICE, strerror(errno));
		exit(1);
	}
	return fd;
}

static int expect_errno(const char *what, long ret, int want)
{
	if (ret == -1 && errno == want) {
		printf("%s: %s as expected\n", what, strerror(want));
		return 0;
	}
	printf("%s: got ret=%ld errno=%s, want %s\n", what, ret,
	       ret == -1 ? strerror(errno) : "-", strerror(want));
	return 1;
}

static void drain(int fd)
{
	struct synfin_event ev[64];

	while (read(fd, ev, sizeof(ev)) > 0)
		;
}

/* One loopback connection, opened and closed: TCP events for the ring. */
static int one_connection(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;

	if (l < 0 || c < 0 || bind(l, (void *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (void *)&a, &len) || connect(c, (void *)&a, sizeof(a)))
		return -1;
	s = accept(l, NULL, NULL);
	close(c);
	if (s >= 0)
		close(s);
	close(l);
	usleep(200000);
	return 0;
}

static int check_filter(void)
{
	struct synfin_filter f;
	struct synfin_reader_stats rs;
	struct synfin_event ev[64];
	struct pollfd p;
	int fd = open_dev(O_NONBLOCK), bad = 0, r;

#define BAD_FILTER(what, setup) do { \
		memset(&f, 0, sizeof(f)); \
		setup; \
		bad |= expect_errno(what, ioctl(fd, SYNFIN_IOC_SET_FILTER, &f), EINVAL); \
	} while (0)
	BAD_FILTER("unknown match bit", f.match = 0x800);
	BAD_FILTER("reserved field set", f.match = SYNFIN_FILTER_TGID; f.n_tgids = 1; f.__reserved[1] = 1);
	BAD_FILTER("padding set", f.match = SYNFIN_FILTER_PORT; f.n_ports = 1; f.__pad = 1);
	BAD_FILTER("empty port list", f.match = SYNFIN_FILTER_LPORT; f.n_lports = 0);
	BAD_FILTER("pid list past its room", f.match = SYNFIN_FILTER_TGID; f.n_tgids = SYNFIN_FILTER_LIST + 1);
	BAD_FILTER("uid with no mapping", f.match = SYNFIN_FILTER_UID; f.uid = (uint32_t)-1);
	BAD_FILTER("family 7", f.match = SYNFIN_FILTER_FAMILY; f.family = 7);
	BAD_FILTER("IPv4 prefix 33", f.match = SYNFIN_FILTER_ADDR; f.addr_family = SYNFIN_AF_INET; f.addr_prefix = 33);
	BAD_FILTER("address without family", f.match = SYNFIN_FILTER_ADDR; f.addr_prefix = 8);
	BAD_FILTER("empty state set", f.match = SYNFIN_FILTER_STATES);
	BAD_FILTER("state bit 13", f.match = SYNFIN_FILTER_STATES; f.states = 1u << 13);
	BAD_FILTER("comm without NUL", f.match = SYNFIN_FILTER_COMM; memset(f.comm, 'x', sizeof(f.comm)));
	bad |= expect_errno("filter from NULL", ioctl(fd, SYNFIN_IOC_SET_FILTER, NULL), EFAULT);

	/* A filter that matches nothing: traffic must not make the file readable. */
	memset(&f, 0, sizeof(f));
	f.match = SYNFIN_FILTER_COMM;
	strcpy(f.comm, "no-such-comm");
	if (ioctl(fd, SYNFIN_IOC_SET_FILTER, &f)) {
		perror("devcheck: set filter");
		return 1;
	}
	drain(fd);
	if (one_connection()) {
		perror("devcheck: loopback connection");
		return 1;
	}
	p.fd = fd;
	p.events = POLLIN;
	r = poll(&p, 1, 300);
	printf("poll after traffic nobody matches: %d (want 0)\n", r);
	bad |= r != 0;
	bad |= expect_errno("read, all filtered", read(fd, ev, sizeof(ev)), EAGAIN);
	if (ioctl(fd, SYNFIN_IOC_READER_STATS, &rs)) {
		perror("devcheck: reader stats");
		return 1;
	}
	printf("reader stats: delivered=%llu filtered=%llu (want 0 and at least 9)\n",
	       (unsigned long long)rs.delivered, (unsigned long long)rs.filtered);
	bad |= rs.delivered != 0 || rs.filtered < 9;

	/* Cleared: the next connection is read. */
	memset(&f, 0, sizeof(f));
	bad |= ioctl(fd, SYNFIN_IOC_SET_FILTER, &f) != 0;
	one_connection();
	r = read(fd, ev, sizeof(ev));
	printf("after clearing the filter: read %d records\n", r > 0 ? r / SYNFIN_EVENT_SIZE : r);
	bad |= r < 9 * SYNFIN_EVENT_SIZE;
	return bad;
}

static volatile int stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct synfin_event ev[64];
	int fd;

	if (!strcmp(cmd, "abi")) {
		fd = open_dev(0);
		int v = ioctl(fd, SYNFIN_IOC_ABI_VERSION);
		printf("abi=%d\n", v);
		return v == SYNFIN_ABI_VERSION ? 0 : 1;
	}
	if (!strcmp(cmd, "enotty")) {
		int bad = 0;

		fd = open_dev(0);
		bad |= expect_errno("unknown nr", ioctl(fd, _IO(SYNFIN_IOC_MAGIC, 0x7f)), ENOTTY);
		bad |= expect_errno("other magic", ioctl(fd, _IO('T', 0x01)), ENOTTY);
		bad |= expect_errno("TCGETS", ioctl(fd, 0x5401, ev), ENOTTY);
		bad |= expect_errno("rewind with arg", ioctl(fd, SYNFIN_IOC_REWIND, 1), EINVAL);
		return bad;
	}
	if (!strcmp(cmd, "efault")) {
		int bad = 0;

		fd = open_dev(0);
		bad |= expect_errno("stats to NULL", ioctl(fd, SYNFIN_IOC_STATS, NULL), EFAULT);
		bad |= expect_errno("stats to kernel address",
				    ioctl(fd, SYNFIN_IOC_STATS, (void *)0xffffffff81000000UL), EFAULT);
		bad |= expect_errno("reader stats to NULL", ioctl(fd, SYNFIN_IOC_READER_STATS, NULL), EFAULT);
		bad |= expect_errno("clock to NULL", ioctl(fd, SYNFIN_IOC_CLOCK, NULL), EFAULT);
		return bad;
	}
	if (!strcmp(cmd, "short-read")) {
		int bad = 0;

		fd = open_dev(O_NONBLOCK);
		bad |= expect_errno("read 127 bytes", read(fd, ev, SYNFIN_EVENT_SIZE - 1), EINVAL);
		bad |= expect_errno("read 0 bytes", read(fd, ev, 0), EINVAL);
		bad |= expect_errno("lseek", lseek(fd, 0, SEEK_SET), ESPIPE);
		bad |= expect_errno("pread", pread(fd, ev, sizeof(ev), 0), ESPIPE);
		bad |= expect_errno("open for writing", open(SYNFIN_DEVICE, O_WRONLY), EINVAL);
		return bad;
	}
	if (!strcmp(cmd, "eagain")) {
		fd = open_dev(O_NONBLOCK);
		drain(fd);
		return expect_errno("non-blocking read, nothing new", read(fd, ev, sizeof(ev)), EAGAIN);
	}
	if (!strcmp(cmd, "poll")) {
		struct pollfd p;
		int r;

		fd = open_dev(O_NONBLOCK);
		drain(fd);
		p.fd = fd;
		p.events = POLLIN;
		r = poll(&p, 1, 200);
		printf("poll on empty ring: %d (want 0)\n", r);
		if (r != 0)
			return 1;
		/* Something else (the test) makes a connection within 10 s. */
		r = poll(&p, 1, 10000);
		printf("poll after traffic: %d revents=%#x (want 1, POLLIN)\n", r, p.revents);
		if (r != 1 || !(p.revents & POLLIN))
			return 1;
		r = read(fd, ev, sizeof(ev));
		printf("read after poll: %d bytes\n", r);
		return r > 0 && r % SYNFIN_EVENT_SIZE == 0 ? 0 : 1;
	}
	if (!strcmp(cmd, "stats")) {
		struct synfin_stats st;

		fd = open_dev(0);
		if (ioctl(fd, SYNFIN_IOC_STATS, &st)) {
			perror("devcheck: stats");
			return 1;
		}
		printf("seen=%llu recorded=%llu filtered=%llu delivered=%llu lost=%llu "
		       "overrun=%llu readers=%u ring_size=%u nr_cpus=%u hook=%u "
		       "tw_untracked=%llu owner_dropped=%llu hook_missed=%llu mem_bytes=%llu\n",
		       (unsigned long long)st.seen, (unsigned long long)st.recorded,
		       (unsigned long long)st.filtered, (unsigned long long)st.delivered,
		       (unsigned long long)st.lost_total,
		       (unsigned long long)st.lost[SYNFIN_LOST_OVERRUN], st.readers - 1,
		       st.ring_size, st.nr_cpus, st.hook,
		       (unsigned long long)st.tw_untracked, (unsigned long long)st.owner_dropped,
		       (unsigned long long)st.hook_missed, (unsigned long long)st.mem_bytes);
		return 0;
	}
	if (!strcmp(cmd, "wait-readers")) {
		int want = argc > 2 ? atoi(argv[2]) : 1;
		int secs = argc > 3 ? atoi(argv[3]) : 30;
		struct synfin_stats st;

		fd = open_dev(0);
		for (int i = 0; i < secs * 20; i++) {
			if (ioctl(fd, SYNFIN_IOC_STATS, &st) == 0 && (int)st.readers - 1 >= want)
				return 0;
			usleep(50000);
		}
		fprintf(stderr, "devcheck: fewer than %d readers after %d s\n", want, secs);
		return 1;
	}
	if (!strcmp(cmd, "block-read")) {
		ssize_t r;

		fd = open_dev(0);
		printf("blocking in read\n");
		fflush(stdout);
		r = read(fd, ev, sizeof(ev));
		printf("read returned %zd (%s)\n", r, r < 0 ? strerror(errno) : "data");
		return 0;
	}
	if (!strcmp(cmd, "count")) {
		struct sigaction sa = { .sa_handler = on_term };
		unsigned long long records = 0, lost = 0;
		int secs = argc > 2 ? atoi(argv[2]) : 0;
		ssize_t r;

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		if (secs)
			alarm(secs), sigaction(SIGALRM, &sa, NULL);
		fd = open_dev(0);
		for (;;) {
			r = read(fd, ev, sizeof(ev));
			if (r < 0 && errno == EINTR && stop) {
				/* Told to stop: drain what is queued, then report. */
				fcntl(fd, F_SETFL, O_NONBLOCK);
				continue;
			}
			if (r <= 0)
				break;	/* EAGAIN once drained */
			for (int i = 0; i < r / SYNFIN_EVENT_SIZE; i++) {
				if (ev[i].kind == SYNFIN_EV_LOST)
					lost += ev[i].lost;
				else
					records++;
			}
			if (stop)
				fcntl(fd, F_SETFL, O_NONBLOCK);
		}
		printf("records=%llu lost=%llu\n", records, lost);
		return 0;
	}
	if (!strcmp(cmd, "filter"))
		return check_filter();
	if (!strcmp(cmd, "hold") && argc > 2) {
		struct sigaction sa = { .sa_handler = on_term };
		const char *mode = argv[2];
		struct pollfd p;

		sigaction(SIGTERM, &sa, NULL);
		fd = open_dev(!strcmp(mode, "nonblock") ? O_NONBLOCK : 0);
		p.fd = fd;
		p.events = POLLIN;
		while (!stop) {
			if (!strcmp(mode, "block")) {
				if (read(fd, ev, sizeof(ev)) < 0 && errno != EINTR)
					return 1;
			} else if (!strcmp(mode, "poll")) {
				if (poll(&p, 1, -1) > 0 && read(fd, ev, sizeof(ev)) < 0 && errno != EAGAIN)
					return 1;
			} else if (!strcmp(mode, "nonblock")) {
				if (read(fd, ev, sizeof(ev)) < 0)
					usleep(1000);
			} else {
				pause();
			}
		}
		return 0;
	}
	fprintf(stderr, "usage: devcheck abi|enotty|efault|short-read|eagain|poll|stats|wait-readers N [S]|block-read|count [S]|filter|hold MODE\n");
	return 2;
}
