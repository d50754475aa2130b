// SPDX-License-Identifier: GPL-2.0
/*
 * twbench: the cost of reading TIME_WAIT counts three ways, in one process,
 * so program start-up (large under TCG) does not hide it:
 *   synfin   SYNFIN_IOC_TW_QUERY (counts + top-10 ports/peers), and counts only
 *   sockstat read /proc/net/sockstat (one total, both substates)
 *   diag     an inet_diag dump of TIME_WAIT sockets, v4 + v6, counted: what
 *            `ss -tan state time-wait` does
 * Prints "name us_per_call count" lines (median of REPS rounds).
 *   twbench [REPS]
 *   twbench hammer SECONDS   the worst case for everyone else: back-to-back
 *                   SYNFIN_IOC_TW_QUERY with 4096-row top lists and
 *                   SYNFIN_IOC_TW_NETNS; prints calls and the slowest call
 *                   (for the RT latency benchmark, scripts/bench-rt)
 *   twbench check   the three counts at one instant: sockstat, synfin, the
 *                   dump, sockstat again, synfin again; retried until
 *                   nothing changed in between (a sock mid-kill is counted
 *                   by one and not yet the other). Exit 0 if they agree.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uapi/synfin.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static long synfin_query(int fd, unsigned int top)
{
	static struct synfin_tw_key rows[3][10];
	struct synfin_tw_query q = { .max_keys = top };

	q.lports = (uintptr_t)rows[0];
	q.rports = (uintptr_t)rows[1];
	q.peers = (uintptr_t)rows[2];
	if (ioctl(fd, SYNFIN_IOC_TW_QUERY, &q))
		return -1;
	return q.counts.total;
}

static long sockstat_tw(void)
{
	char buf[1024], *p;
	int fd = open("/proc/net/sockstat", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, " tw ");
	return p ? atol(p + 4) : -1;
}

static long diag_count(int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = 1 << 6 /* TCP_TIME_WAIT */ },
	};
	static char buf[1 << 16];
	long count = 0;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0 || send(fd, &req, sizeof(req), 0) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (void *)buf;

		if (n <= 0)
			break;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				goto done;
			count++;
		}
	}
done:
	close(fd);
	return count;
}

static long diag_tw(void)
{
	return diag_count(AF_INET) + diag_count(AF_INET6);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int fd;
static long q_top(void) { return synfin_query(fd, 10); }
static long q_counts(void) { return synfin_query(fd, 0); }

static void bench(const char *name, long (*fn)(void), int reps)
{
	double t[64];
	long n = 0;
	int calls = 20;

	for (int r = 0; r < reps; r++) {
		double t0 = now_us();

		for (int i = 0; i < calls; i++)
			n = fn();
		t[r] = (now_us() - t0) / calls;
	}
	qsort(t, reps, sizeof(t[0]), cmp);
	printf("%s %.1f %ld\n", name, t[reps / 2], n);
}

static int check(void)
{
	struct synfin_tw_query q1 = { 0 }, q2 = { 0 };
	long s1, s2, d = -1;
	int tries;

	for (tries = 1; tries <= 200; tries++) {
		s1 = sockstat_tw();
		if (ioctl(fd, SYNFIN_IOC_TW_QUERY, &q1))
			return perror("twbench: query"), 1;
		d = diag_tw();
		s2 = sockstat_tw();
		if (ioctl(fd, SYNFIN_IOC_TW_QUERY, &q2))
			return perror("twbench: query"), 1;
		if (s1 == s2 && q1.counts.total == q2.counts.total &&
		    q1.counts.time_wait == q2.counts.time_wait)
			break;
	}
	printf("synfin total=%u time_wait=%u fin_wait2=%u; sockstat tw=%ld; inet_diag time-wait=%ld; tries=%d\n",
	       q1.counts.total, q1.counts.time_wait, q1.counts.fin_wait2, s1, d, tries);
	if (tries > 200)
		return printf("never stable: counts changed under every read\n"), 1;
	return q1.counts.total == s1 && q1.counts.time_wait == d ? 0 : 1;
}

static int hammer(int seconds)
{
	static struct synfin_tw_key rows[3][4096];
	static struct synfin_tw_counts all[4096];
	double end = now_us() + seconds * 1e6, worst = 0;
	unsigned long long calls = 0;

	while (now_us() < end) {
		struct synfin_tw_query q = { .max_keys = 4096,
			.lports = (uintptr_t)rows[0], .rports = (uintptr_t)rows[1],
			.peers = (uintptr_t)rows[2] };
		struct synfin_tw_netns_list l = { .max = 4096, .counts = (uintptr_t)all };
		double t0 = now_us(), t;

		if (ioctl(fd, SYNFIN_IOC_TW_QUERY, &q) || ioctl(fd, SYNFIN_IOC_TW_NETNS, &l)) {
			perror("twbench: hammer");
			return 1;
		}
		t = now_us() - t0;
		worst = t > worst ? t : worst;
		calls++;
	}
	printf("hammer calls %llu slowest_us %.0f\n", calls, worst);
	return 0;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 9;

	if (reps < 1 || reps > 64)
		reps = 9;
	fd = open(SYNFIN_DEVICE, O_RDONLY);
	if (fd < 0) {
		perror("twbench: " SYNFIN_DEVICE);
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "check"))
		return check();
	if (argc > 2 && !strcmp(argv[1], "hammer"))
		return hammer(atoi(argv[2]));
	bench("synfin_top10", q_top, reps);
	bench("synfin_counts", q_counts, reps);
	bench("sockstat", sockstat_tw, reps);
	bench("diag", diag_tw, reps);
	return 0;
}
