// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin tw`: TIME_WAIT counts from the module's live counters (no walk of
 * the socket table, unlike ss): total (what /proc/net/sockstat calls "tw"),
 * by substate (TIME_WAIT is what `ss state time-wait` lists; FIN_WAIT2 are
 * orphans handed to a timewait sock), and the busiest local ports, remote
 * ports and peers.
 * --netns shows another namespace, --watch refreshes, --advise reads this
 * host's sysctls and turns the counts into concrete advice.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "viewer.h"

/* ------------------------------------------------------------ queries */

int tw_view_init(struct tw_view *v, unsigned int top)
{
	memset(v, 0, sizeof(*v));
	v->top = top;
	/* +1: calloc(0) may return NULL, which would read as out of memory */
	v->rows = calloc(3 * (size_t)top + 1, sizeof(*v->rows));
	if (!v->rows)
		return ENOMEM;
	v->lports = v->rows;
	v->rports = v->rows + top;
	v->peers = v->rows + 2 * (size_t)top;
	return 0;
}

void tw_view_free(struct tw_view *v)
{
	free(v->rows);
	v->rows = v->lports = v->rports = v->peers = NULL;
}

int tw_view_fetch(int fd, uint32_t netns, struct tw_view *v)
{
	memset(&v->q, 0, sizeof(v->q));
	v->q.netns = netns;
	v->q.max_keys = v->top;
	v->q.lports = (uintptr_t)v->lports;
	v->q.rports = (uintptr_t)v->rports;
	v->q.peers = (uintptr_t)v->peers;
	return ioctl(fd, SYNFIN_IOC_TW_QUERY, &v->q) ? errno : 0;
}

int tw_netns_list(int fd, struct synfin_tw_counts **all, uint32_t *n)
{
	struct synfin_tw_netns_list list;
	uint32_t max = 4096;

	*all = NULL;
	*n = 0;
	/* The module writes at most .max rows and says how many it wrote, not
	 * how many there are: a full array may mean more, so ask again with
	 * twice the room (the module caps its answer at 65536). */
	for (;;) {
		struct synfin_tw_counts *p = realloc(*all, max * sizeof(*p));

		if (!p)
			return ENOMEM;
		*all = p;
		memset(&list, 0, sizeof(list));
		list.max = max;
		list.counts = (uintptr_t)p;
		if (ioctl(fd, SYNFIN_IOC_TW_NETNS, &list))
			return errno;
		if (list.n < max || max >= 65536)
			break;
		max *= 2;
	}
	*n = list.n;
	return 0;
}

void tw_peer_text(char *out, size_t len, const struct synfin_tw_key *k)
{
	if (!inet_ntop(k->family == SYNFIN_AF_INET6 ? AF_INET6 : AF_INET, k->addr, out, len))
		snprintf(out, len, "?");
}

/* tw's own fetch: reports the error, naming the netns if one was asked for */
static int tw_fetch(int fd, uint32_t netns, struct tw_view *v)
{
	int err = tw_view_fetch(fd, netns, v);

	if (!err)
		return 0;
	if (err == EOPNOTSUPP)
		report_family_missing("TIME_WAIT counts", "timewait");
	else if (netns && err == EPERM)
		report_error("TIME_WAIT counts of netns %u: another namespace's counts need CAP_NET_ADMIN in the host's network namespace (run as root on the host)",
			     netns);
	else if (netns)
		report_error("TIME_WAIT query for netns %u: %s (is it a network namespace inode? see ls -l /proc/PID/ns/net)",
			     netns, strerror(err));
	else
		report_error("TIME_WAIT query: %s", strerror(err));
	return -1;
}

/* ------------------------------------------------------------- output */

static void print_keys_json(const char *name, const struct synfin_tw_key *k,
			    uint32_t n, bool peers)
{
	char a[INET6_ADDRSTRLEN];

	printf(", \"%s\": [", name);
	for (uint32_t i = 0; i < n; i++) {
		if (peers) {
			tw_peer_text(a, sizeof(a), &k[i]);
			printf("%s{\"addr\": \"%s\", \"family\": \"%s\", \"count\": %u}",
			       i ? ", " : "", a,
			       k[i].family == SYNFIN_AF_INET6 ? "inet6" : "inet", k[i].count);
		} else {
			printf("%s{\"port\": %u, \"count\": %u}", i ? ", " : "", k[i].port,
			       k[i].count);
		}
	}
	printf("]");
}

/* One netns's counts: a line of its own (type tw), or inside tw_all. */
static void print_view_json(const struct tw_view *v, bool line)
{
	const struct synfin_tw_counts *c = &v->q.counts;

	if (line)
		json_begin(stdout, "tw");
	else
		putchar('{');
	printf("\"netns\": %u, \"total\": %u, \"time_wait\": %u, \"fin_wait2\": %u",
	       c->netns, c->total, c->time_wait, c->fin_wait2);
	print_keys_json("ports", v->lports, v->q.n_lports, false);
	print_keys_json("remote_ports", v->rports, v->q.n_rports, false);
	print_keys_json("peers", v->peers, v->q.n_peers, true);
	printf(", \"overflow\": {\"ports\": %u, \"remote_ports\": %u, \"peers\": %u}}",
	       c->lport_overflow, c->rport_overflow, c->peer_overflow);
}

static void print_view_table(const struct tw_view *v)
{
	const struct synfin_tw_counts *c = &v->q.counts;
	const struct synfin_tw_key *lp = v->lports, *rp = v->rports, *pe = v->peers;
	uint32_t rows = v->q.n_lports;
	char a[INET6_ADDRSTRLEN];

	printf("netns %u: %u in timewait (TIME_WAIT %u, FIN_WAIT2 %u)\n",
	       c->netns, c->total, c->time_wait, c->fin_wait2);
	if (v->q.n_rports > rows)
		rows = v->q.n_rports;
	if (v->q.n_peers > rows)
		rows = v->q.n_peers;
	if (!rows)
		return;
	printf("  %-10s %8s   %-11s %8s   %-39s %8s\n", "LOCAL PORT", "COUNT",
	       "REMOTE PORT", "COUNT", "PEER", "COUNT");
	for (uint32_t i = 0; i < rows; i++) {
		if (i < v->q.n_lports)
			printf("  %-10u %8u   ", lp[i].port, lp[i].count);
		else
			printf("  %-10s %8s   ", "", "");
		if (i < v->q.n_rports)
			printf("%-11u %8u   ", rp[i].port, rp[i].count);
		else
			printf("%-11s %8s   ", "", "");
		if (i < v->q.n_peers) {
			tw_peer_text(a, sizeof(a), &pe[i]);
			printf("%-39s %8u", a, pe[i].count);
		}
		printf("\n");
	}
	if (c->lport_overflow || c->rport_overflow || c->peer_overflow)
		printf("  (not in the tables, counted apart: %u by local port, %u by remote port, %u by peer)\n",
		       c->lport_overflow, c->rport_overflow, c->peer_overflow);
}

/* One netns: the caller's (netns 0) or --netns. */
static int show_one(int fd, uint32_t netns, const struct options *opt, struct tw_view *v)
{
	if (tw_fetch(fd, netns, v))
		return -1;
	if (opt->format == OUT_JSON) {
		print_view_json(v, true);
		printf("\n");
		return 0;
	}
	print_view_table(v);
	/* The module answers zeros for an inode it never saw, so a mistyped
	 * inode looks like an idle namespace: say so instead of failing. */
	if (netns && !v->q.counts.total)
		printf("  (synfin has no timewait sockets in netns %u; if you expected some, check the inode: ls -l /proc/PID/ns/net)\n",
		       netns);
	return 0;
}

static int show_all(int fd, const struct options *opt, struct tw_view *v)
{
	struct synfin_tw_counts *all;
	uint32_t i, n;
	int err = tw_netns_list(fd, &all, &n);

	if (err) {
		if (err == EOPNOTSUPP)
			report_family_missing("TIME_WAIT counts", "timewait");
		else
			report_error("listing network namespaces: %s", strerror(err));
		free(all);
		return -1;
	}
	if (opt->format == OUT_JSON) {
		uint64_t t = 0, tw = 0, fw2 = 0;

		for (i = 0; i < n; i++) {
			t += all[i].total;
			tw += all[i].time_wait;
			fw2 += all[i].fin_wait2;
		}
		json_begin(stdout, "tw_all");
		printf("\"total\": %llu, \"time_wait\": %llu, \"fin_wait2\": %llu, \"netns\": [",
		       (unsigned long long)t, (unsigned long long)tw, (unsigned long long)fw2);
	}
	for (i = 0; i < n; i++) {
		if (tw_fetch(fd, all[i].netns, v)) {
			free(all);
			return -1;
		}
		if (opt->format == OUT_JSON) {
			if (i)
				printf(", ");
			print_view_json(v, false);
		} else {
			print_view_table(v);
		}
	}
	if (opt->format == OUT_JSON)
		printf("]}\n");
	else if (!n)
		printf("no timewait sockets in any network namespace\n");
	free(all);
	return 0;
}

/* ------------------------------------------------------------- advise */

/* Linux keeps TIME_WAIT for TCP_TIMEWAIT_LEN, a compile-time constant. */
#define TIMEWAIT_SECS	60
/* Rows read for the analysis: enough to see whether a few keys dominate. */
#define ADVISE_KEYS	64

struct advice {
	bool warn;
	char text[1024];
};

struct advise_ctx {
	uint32_t netns;			/* the netns counted */
	bool own_netns;			/* it is ours: /proc/net and sysctls match */
	long tw_reuse, max_tw_buckets, fin_timeout, timestamps;	/* -1: unreadable */
	long tw_reuse_delay;		/* ms (6.14+); -1: not readable */
	bool tw_reuse_delay_absent;	/* this kernel has no such sysctl */
	long port_lo, port_hi;
	long long tw_overflow;		/* TcpExt TCPTimeWaitOverflow, -1: unknown */
	unsigned int n_advice;
	struct advice advice[12];
};

static void advise(struct advise_ctx *a, bool warn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void advise(struct advise_ctx *a, bool warn, const char *fmt, ...)
{
	va_list ap;
	struct advice *ad;

	if (a->n_advice == sizeof(a->advice) / sizeof(a->advice[0]))
		return;
	ad = &a->advice[a->n_advice++];
	ad->warn = warn;
	va_start(ap, fmt);
	vsnprintf(ad->text, sizeof(ad->text), fmt, ap);
	va_end(ap);
}

/* A sysctl as a number (the first one, for ip_local_port_range), -1 if absent. */
static long read_sysctl(const char *name, long *second)
{
	char path[128];
	long v = -1, w = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &v, &w) < 1)
		v = -1;
	fclose(f);
	if (second)
		*second = w;
	return v;
}

/* TcpExt's TCPTimeWaitOverflow from /proc/net/netstat (a header line of
 * names, then a line of values), or -1 if it is not there. */
static long long read_tw_overflow(void)
{
	char names[8192], values[8192], *ns, *vs, *n, *v;
	long long ret = -1;
	FILE *f = fopen("/proc/net/netstat", "re");

	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		if (strncmp(names, "TcpExt:", 7) || strncmp(values, "TcpExt:", 7))
			continue;
		n = strtok_r(names, " \n", &ns);
		v = strtok_r(values, " \n", &vs);
		while ((n = strtok_r(NULL, " \n", &ns)) && (v = strtok_r(NULL, " \n", &vs)))
			if (!strcmp(n, "TCPTimeWaitOverflow")) {
				ret = strtoll(v, NULL, 10);
				break;
			}
		break;
	}
	fclose(f);
	return ret;
}

/* Is PORT a listening TCP port in our netns? (/proc/net/tcp{,6}: state 0A) */
static bool port_listening(unsigned int port)
{
	uint8_t *bits = calloc(65536 / 8, 1);
	bool yes = bits && port < 65536 && listening_ports("self", bits) &&
		   (bits[port / 8] & (1u << (port % 8)));

	free(bits);
	return yes;
}

static bool peer_loopback(const struct synfin_tw_key *k)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (k->family != SYNFIN_AF_INET6)
		return k->addr[0] == 127;
	if (!memcmp(k->addr, v6lo, 16))
		return true;
	return !memcmp(k->addr, v4mapped, 12) && k->addr[12] == 127;
}

static unsigned int pct(unsigned long long part, unsigned long long whole)
{
	return whole ? (unsigned int)((part * 100 + whole / 2) / whole) : 0;
}

static void build_advice(struct advise_ctx *a, const struct tw_view *v)
{
	const struct synfin_tw_counts *c = &v->q.counts;
	long range = a->port_lo > 0 && a->port_hi >= a->port_lo ? a->port_hi - a->port_lo + 1 : 0;
	const struct synfin_tw_key *lp = v->q.n_lports ? &v->lports[0] : NULL;
	const struct synfin_tw_key *rp = v->q.n_rports ? &v->rports[0] : NULL;
	bool server = false, client = false, port_pressure = false, pressure_remote = false;
	char peer[INET6_ADDRSTRLEN];
	unsigned long long total = c->total;

	/* Who holds TIME_WAIT, and for how long: the part people get wrong. */
	advise(a, false,
	       "TIME_WAIT is held by the side that closes first (sends the first FIN), for %d s: "
	       "TCP_TIMEWAIT_LEN, fixed when Linux is built. tcp_fin_timeout (%ld s here) does not "
	       "shorten it: it is how long an orphaned socket waits in FIN_WAIT2 for the peer's FIN "
	       "(timewait substate FIN_WAIT2 here: %u).",
	       TIMEWAIT_SECS, a->fin_timeout, c->fin_wait2);

	if (!total) {
		advise(a, false, "No timewait sockets in netns %u now: nothing to change for TIME_WAIT.",
		       a->netns);
	} else if (lp && lp->count * 2ULL >= total &&
		   ((a->own_netns && port_listening(lp->port)) ||
		    (range && (lp->port < a->port_lo || lp->port > a->port_hi)))) {
		/* Many on one local port that is a server port: we close first
		 * as the server. That costs memory, not ports. */
		server = true;
		advise(a, false,
		       "This host closes first as a server: %u of %llu timewait sockets (%u%%) are on local port %u, "
		       "%s. The server sends the first FIN, so it holds TIME_WAIT: %u in TIME_WAIT over %d s is about "
		       "%.1f connections/s closed by this side. It costs memory (a few hundred bytes each), not ports: "
		       "the clients' ports differ. To move TIME_WAIT to the clients, let them close first: keep HTTP "
		       "keep-alive on and let the client end the connection (no 'Connection: close' from the server), "
		       "or close only after reading the client's EOF.",
		       lp->count, total, pct(lp->count, total), lp->port,
		       a->own_netns && port_listening(lp->port) ? "a listening port" :
		       "outside the ephemeral range, so a server port",
		       c->time_wait, TIMEWAIT_SECS, (double)c->time_wait / TIMEWAIT_SECS);
	} else if (rp && rp->count * 2ULL >= total) {
		/* Concentrated on a remote port, local ports spread: we are the
		 * client and close first; each close pins an ephemeral port. */
		client = true;
		advise(a, false,
		       "This host is the client that closes first: %u of %llu timewait sockets (%u%%) are connections "
		       "to remote port %u, from ephemeral local ports (%ld-%ld, %ld ports). Each one keeps its local "
		       "port for %d s: %u in TIME_WAIT is about %.1f new connections/s. Reuse connections instead of "
		       "one per request: HTTP keep-alive, a connection pool in the client, persistent connections "
		       "to port %u.",
		       rp->count, total, pct(rp->count, total), rp->port, a->port_lo, a->port_hi, range,
		       TIMEWAIT_SECS, c->time_wait, (double)c->time_wait / TIMEWAIT_SECS,
		       rp->port);
	} else {
		advise(a, false,
		       "No single port holds half of the %llu timewait sockets (busiest local port %u: %u, "
		       "busiest remote port %u: %u): both roles close first here.",
		       total, lp ? lp->port : 0, lp ? lp->count : 0, rp ? rp->port : 0, rp ? rp->count : 0);
	}

	/* Port space per peer. A local port is blocked only for the same
	 * (local addr, peer, remote port): the limit is per 4-tuple space.
	 * A server's timewait sockets hold its listening port, not ephemeral
	 * ones, so there is nothing to count then. */
	if (server && v->q.n_peers)
		advise(a, false, "Ephemeral ports are not at stake: these timewait sockets hold this host's server "
		       "port; each peer's own ports are on the peer.");
	for (uint32_t i = 0; range && !server && i < v->q.n_peers && i < 3; i++) {
		const struct synfin_tw_key *p = &v->peers[i];
		unsigned long long tuple = p->count;
		bool dominant = rp && rp->count * 2ULL >= total;
		double share;
		bool risk;
		const char *risk_text = " Past 100% new connect()s to it fail with EADDRNOTAVAIL "
			"(unless tcp_tw_reuse lets connect() take a port still in TIME_WAIT).";

		if (dominant && rp->count < tuple)
			tuple = rp->count;	/* at most this many to peer:rport */
		share = 100.0 * tuple / range;
		risk = tuple * 2 > (unsigned long long)range;
		tw_peer_text(peer, sizeof(peer), p);
		if (risk) {
			port_pressure = true;
			pressure_remote |= !peer_loopback(p);
		}
		if (!risk && i > 0)
			continue;	/* the busiest peer always, others only when at risk */
		if (dominant)
			advise(a, risk,
			       "Peer %s: %u timewait sockets, %.1f%% of the %ld ephemeral ports (%ld-%ld). A port is "
			       "blocked only for the same local address, peer and remote port, so count per remote "
			       "port: to %s port %u at most %llu (%.1f%%).%s",
			       peer, p->count, 100.0 * p->count / range, range, a->port_lo, a->port_hi,
			       peer, rp->port, tuple, share, risk ? risk_text : "");
		else
			advise(a, risk,
			       "Peer %s: %u timewait sockets, %.1f%% of the %ld ephemeral ports (%ld-%ld); the limit is "
			       "per (local address, peer, remote port), so this is an upper bound for each remote port.%s",
			       peer, p->count, share, range, a->port_lo, a->port_hi, risk ? risk_text : "");
	}
	if (!range)
		advise(a, false, "ip_local_port_range unreadable: cannot compute the ephemeral port share.");

	/* tcp_tw_reuse: what the value means, and whether 1 would help here. */
	{
		const char *meaning = a->tw_reuse == 0 ? "off: connect() never takes a port still in TIME_WAIT" :
				      a->tw_reuse == 1 ? "on: connect() may take a port still in TIME_WAIT, for any peer" :
				      a->tw_reuse == 2 ? "loopback only (the default): connect() may take a port still in "
							 "TIME_WAIT when the peer is 127.0.0.0/8 or ::1" :
				      "unknown value";
		bool suggest = port_pressure && pressure_remote && a->tw_reuse != 1;
		char delay[200];

		/* The kernel's wait before reuse: from 6.14, tcp_tw_reuse_delay
		 * ms after the sock entered TIME_WAIT; before, a second after
		 * the last timestamp it saw. It bounds the rate of new
		 * connections to one peer and remote port: ports / delay. */
		if (a->tw_reuse_delay > 0 && range)
			snprintf(delay, sizeof(delay),
				 "tcp_tw_reuse_delay = %ld ms after it entered TIME_WAIT, so about %.0f new "
				 "connections a second at most to one peer and remote port",
				 a->tw_reuse_delay, range * 1000.0 / a->tw_reuse_delay);
		else if (a->tw_reuse_delay >= 0)
			snprintf(delay, sizeof(delay), "tcp_tw_reuse_delay = %ld ms after it entered TIME_WAIT",
				 a->tw_reuse_delay);
		else if (a->tw_reuse_delay_absent)
			snprintf(delay, sizeof(delay), "about 1 s after the last timestamp it saw (this kernel has "
				 "no tcp_tw_reuse_delay, added in 6.14, to change that)");
		else
			snprintf(delay, sizeof(delay), "after tcp_tw_reuse_delay ms, which could not be read here");
		advise(a, suggest,
		       "tcp_tw_reuse = %ld: %s. Setting 1 helps only outgoing connections (the client side that runs "
		       "out of local ports), never a server's TIME_WAIT on its listening port; it needs TCP timestamps "
		       "on both ends (tcp_timestamps = %ld here) and takes a port %s.%s%s",
		       a->tw_reuse, meaning, a->timestamps, delay,
		       suggest ? " Ports to a remote peer are running short: consider sysctl -w net.ipv4.tcp_tw_reuse=1." :
		       port_pressure && a->tw_reuse >= 1 ? " The peers running short are covered by this setting already." :
		       server ? " Here this host is the server, so it would not help." :
		       client && !port_pressure ? " No peer is near running out of ports, so it is not needed now." : "",
		       port_pressure && a->tw_reuse >= 1 && a->tw_reuse_delay > 1000 ?
		       " Ports are running short and tcp_tw_reuse_delay is above its default (1000 ms): lowering it "
		       "lets them come back sooner." : "");
	}

	/* tcp_max_tw_buckets: headroom, and what happens past it. */
	if (a->max_tw_buckets > 0) {
		long long room = a->max_tw_buckets - (long long)total;
		unsigned int room_pct = room > 0 ? pct(room, a->max_tw_buckets) : 0;
		char ov[64];

		if (a->tw_overflow >= 0)
			snprintf(ov, sizeof(ov), "%lld", a->tw_overflow);
		else
			snprintf(ov, sizeof(ov), "unknown");
		advise(a, room_pct < 10 || a->tw_overflow > 0,
		       "tcp_max_tw_buckets = %ld, %llu in timewait in this netns: %u%% headroom. Past the limit the "
		       "kernel keeps no TIME_WAIT for new closes: it destroys the socket at once (\"TCP: time wait "
		       "bucket table overflow\") and counts TCPTimeWaitOverflow in /proc/net/netstat (now %s%s).",
		       a->max_tw_buckets, total, room_pct, ov,
		       a->own_netns ? "" : ", in this process's netns");
	}
	if (!a->own_netns)
		advise(a, false, "The sysctls and /proc/net counters above are this process's netns, not netns %u: "
		       "run synfin inside it (ip netns exec, nsenter) for its own values.", a->netns);
}

/* Print text wrapped at 78 columns, the first line after a prefix. */
static void print_wrapped(const char *prefix, const char *text)
{
	size_t indent = strlen(prefix), col = indent;
	const char *p = text;

	fputs(prefix, stdout);
	while (*p) {
		size_t w = strcspn(p, " ");

		if (col > indent && col + 1 + w > 78) {
			printf("\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		fwrite(p, 1, w, stdout);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	putchar('\n');
}

static void json_long(const char *key, long v, bool comma)
{
	if (v < 0)
		printf("%s\"%s\": null", comma ? ", " : "", key);
	else
		printf("%s\"%s\": %ld", comma ? ", " : "", key, v);
}

static void print_advice_json(const struct advise_ctx *a, const struct tw_view *v, long range)
{
	const struct synfin_tw_counts *c = &v->q.counts;
	char peer[INET6_ADDRSTRLEN];

	json_begin(stdout, "advice");
	printf("\"netns\": %u, \"sysctls\": {", a->netns);
	json_long("tcp_tw_reuse", a->tw_reuse, false);
	json_long("tcp_max_tw_buckets", a->max_tw_buckets, true);
	if (a->port_lo < 0)
		printf(", \"ip_local_port_range\": null");
	else
		printf(", \"ip_local_port_range\": [%ld, %ld]", a->port_lo, a->port_hi);
	json_long("tcp_fin_timeout", a->fin_timeout, true);
	json_long("tcp_timestamps", a->timestamps, true);
	json_long("tcp_tw_reuse_delay", a->tw_reuse_delay, true);
	printf("}, \"counts\": {\"total\": %u, \"time_wait\": %u, \"fin_wait2\": %u}",
	       c->total, c->time_wait, c->fin_wait2);
	printf(", \"timewait_seconds\": %d, \"ephemeral_ports\": %ld", TIMEWAIT_SECS, range);
	if (a->tw_overflow < 0)
		printf(", \"tw_overflow\": null");
	else
		printf(", \"tw_overflow\": %lld", a->tw_overflow);
	printf(", \"peers\": [");
	for (uint32_t i = 0; i < v->q.n_peers; i++) {
		tw_peer_text(peer, sizeof(peer), &v->peers[i]);
		printf("%s{\"addr\": \"%s\", \"count\": %u, \"port_share\": %.4f}", i ? ", " : "", peer,
		       v->peers[i].count, range ? (double)v->peers[i].count / range : 0.0);
	}
	printf("], \"remote_ports\": [");
	for (uint32_t i = 0; i < v->q.n_rports; i++)
		printf("%s{\"port\": %u, \"count\": %u}", i ? ", " : "", v->rports[i].port, v->rports[i].count);
	printf("], \"ports\": [");
	for (uint32_t i = 0; i < v->q.n_lports; i++)
		printf("%s{\"port\": %u, \"count\": %u}", i ? ", " : "", v->lports[i].port, v->lports[i].count);
	printf("], \"advice\": [");
	for (unsigned int i = 0; i < a->n_advice; i++) {
		printf("%s{\"level\": \"%s\", \"text\": ", i ? ", " : "", a->advice[i].warn ? "warn" : "info");
		json_string(stdout, a->advice[i].text, sizeof(a->advice[i].text));
		printf("}");
	}
	printf("]}\n");
}

static void print_advice_table(const struct advise_ctx *a, const struct tw_view *v,
			       long range, unsigned int top)
{
	const struct synfin_tw_counts *c = &v->q.counts;
	char peer[INET6_ADDRSTRLEN];

	printf("netns %u: %u in timewait (TIME_WAIT %u, FIN_WAIT2 %u)\n",
	       a->netns, c->total, c->time_wait, c->fin_wait2);
	printf("sysctls: tcp_tw_reuse=%ld tcp_max_tw_buckets=%ld ip_local_port_range=%ld-%ld (%ld ports) "
	       "tcp_fin_timeout=%ld tcp_timestamps=%ld\n",
	       a->tw_reuse, a->max_tw_buckets, a->port_lo, a->port_hi, range, a->fin_timeout, a->timestamps);
	if (a->tw_reuse_delay >= 0)
		printf("sysctls: tcp_tw_reuse_delay=%ld ms\n", a->tw_reuse_delay);
	if (a->tw_overflow >= 0)
		printf("TcpExt TCPTimeWaitOverflow: %lld\n", a->tw_overflow);
	if (v->q.n_peers && top) {
		printf("  %-39s %8s %16s\n", "PEER", "COUNT", "OF EPHEMERAL");
		for (uint32_t i = 0; i < v->q.n_peers && i < top; i++) {
			tw_peer_text(peer, sizeof(peer), &v->peers[i]);
			printf("  %-39s %8u %15.1f%%\n", peer, v->peers[i].count,
			       range ? 100.0 * v->peers[i].count / range : 0.0);
		}
	}
	printf("\n");
	for (unsigned int i = 0; i < a->n_advice; i++)
		print_wrapped(a->advice[i].warn ? "[warn] " : "[info] ", a->advice[i].text);
}

static int show_advice(int fd, uint32_t netns, const struct options *opt)
{
	unsigned int top = opt->top_set ? opt->top : 10;
	struct advise_ctx a;
	struct tw_view v;
	struct stat st;
	long range;
	int err;

	/* Its own view: the analysis wants more rows than -n may show. */
	err = tw_view_init(&v, top > ADVISE_KEYS ? top : ADVISE_KEYS);
	if (err) {
		report_error("%s", strerror(err));
		return -1;
	}
	if (tw_fetch(fd, netns, &v)) {
		tw_view_free(&v);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.netns = v.q.counts.netns;
	a.own_netns = !netns || (!stat("/proc/self/ns/net", &st) && st.st_ino == netns);
	a.tw_reuse = read_sysctl("tcp_tw_reuse", NULL);
	a.max_tw_buckets = read_sysctl("tcp_max_tw_buckets", NULL);
	a.port_lo = read_sysctl("ip_local_port_range", &a.port_hi);
	a.fin_timeout = read_sysctl("tcp_fin_timeout", NULL);
	a.timestamps = read_sysctl("tcp_timestamps", NULL);
	a.tw_reuse_delay = read_sysctl("tcp_tw_reuse_delay", NULL);
	a.tw_reuse_delay_absent = access("/proc/sys/net/ipv4/tcp_tw_reuse_delay", F_OK) && errno == ENOENT;
	a.tw_overflow = read_tw_overflow();
	range = a.port_lo > 0 && a.port_hi >= a.port_lo ? a.port_hi - a.port_lo + 1 : 0;
	build_advice(&a, &v);
	if (opt->format == OUT_JSON)
		print_advice_json(&a, &v, range);
	else
		print_advice_table(&a, &v, range, top);
	tw_view_free(&v);
	return 0;
}

/* -------------------------------------------------------------- watch */

/* Sleep SECS in short slices: a signal that lands just before nanosleep()
 * would otherwise not interrupt it. Returns true if asked to stop. */
static bool watch_sleep(unsigned int secs)
{
	struct timespec slice = { 0, 100 * 1000 * 1000 };

	for (unsigned int i = 0; i < secs * 10 && !stop_requested; i++) {
		struct timespec rem = slice;

		while (nanosleep(&rem, &rem) && errno == EINTR && !stop_requested)
			;
	}
	return stop_requested;
}

static void watch_header(const struct options *opt, bool tty, unsigned int n)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (opt->format == OUT_JSON)
		return;		/* one object per line, nothing else */
	if (tty)
		fputs("\033[H\033[J", stdout);	/* home, clear: redraw in place */
	else if (n)
		putchar('\n');	/* snapshots one after another */
	if (!localtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		strcpy(when, "?");
	printf("synfin tw: every %u s, %s%s\n", opt->watch_secs, when, tty ? " (Ctrl-C to stop)" : "");
}

/* ---------------------------------------------------------------- main */

int cmd_tw(const struct options *opt)
{
	unsigned int top = opt->top_set ? opt->top : 10;
	uint32_t netns = (opt->filter.match & SYNFIN_FILTER_NETNS) ? opt->filter.netns : 0;
	bool tty = isatty(STDOUT_FILENO);
	struct source src;
	struct tw_view v;
	int ret = EXIT_RUNTIME, rc;

	if (opt->read_file) {
		report_error("tw reads live counters; -r does not apply (use tail -r for captures)");
		return EXIT_USAGE;
	}
	if (opt->advise && opt->all_netns) {
		report_error("--advise reads one netns's sysctls and counts: use --netns INODE, not --all-netns");
		return EXIT_USAGE;
	}
	if (source_open(&src, opt))
		return EXIT_RUNTIME;
	if (tw_view_init(&v, top)) {
		report_error("out of memory");
		goto out;
	}
	for (unsigned int n = 0;; n++) {
		if (opt->watch_secs)
			watch_header(opt, tty, n);
		if (opt->advise)
			rc = show_advice(src.fd, netns, opt);
		else if (opt->all_netns)
			rc = show_all(src.fd, opt, &v);
		else
			rc = show_one(src.fd, netns, opt, &v);
		if (!output_flush())
			goto out;
		if (rc)
			goto out;
		if (!opt->watch_secs || watch_sleep(opt->watch_secs))
			break;
	}
	ret = EXIT_OK;
out:
	tw_view_free(&v);
	source_close(&src);
	return ret;
}
