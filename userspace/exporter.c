// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin metrics --listen`: a Prometheus exporter. One reader of
 * /dev/synfin stays open; its records feed histograms of connection and
 * state durations (ABI 2's state times), while every scrape of /metrics also
 * reads the module's live counters, exactly as `synfin metrics` prints them.
 *
 * HTTP is libmicrohttpd's (its own threads); the main thread only reads
 * records. The module may be absent, or go: the exporter keeps serving,
 * with synfin_up 0, and opens the device again once a second.
 */
#define _GNU_SOURCE	/* ppoll() */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "conn.h"

/* Bucket bounds in seconds (docs/metrics.md). Connections: a loopback
 * request is a millisecond, a keep-alive session minutes to an hour. */
static const double conn_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
};
/* States: SYN_SENT is an RTT, TIME_WAIT 60 s, FIN_WAIT2 up to tcp_fin_timeout. */
static const double state_bounds[] = {
	0.0001, 0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 61, 120, 300, 3600,
};
#define MAX_BOUNDS	18

struct histogram {
	uint64_t buckets[MAX_BOUNDS];	/* not cumulative; +Inf is count */
	uint64_t count;
	double sum;
};

/* Who closed first, as `synfin life` says it (conn.c): label "closer". */
static const enum conn_closer closers[] = {
	CLOSER_ACTIVE, CLOSER_PASSIVE, CLOSER_SIMULTANEOUS, CLOSER_RESET, CLOSER_REFUSED,
};
#define CLOSERS	(CLOSER_REFUSED + 1)

/*
 * Connections open now, by cookie: when seen opening, and the states that
 * tell who closed first. Open addressing, linear probing, deletion by
 * backward shift. Bounded: a host with more open connections than this
 * has the excess counted, not observed. (conn.c's table, which life uses,
 * keeps far more per connection, and until its timewait ends.)
 */
#define CONN_SLOTS	(1u << 17)
#define CONN_MAX	(CONN_SLOTS / 4 * 3)

struct conn_slot {
	uint64_t cookie;		/* 0: free */
	uint64_t born_ns;
	bool closing, fin_wait1, close_wait;	/* visited */
};

struct exporter {
	/* Scrapes read the module through src.fd: they hold this for reading,
	 * the main thread for writing when it opens or closes the device. */
	pthread_rwlock_t dev_lock;
	struct source src;
	bool open;			/* src is the device, open */
	/* The stream's numbers: held per record by the main thread and while
	 * a scrape writes them out, never while asking the module. */
	pthread_mutex_t lock;
	struct histogram conn[CLOSERS];
	struct histogram state[SYNFIN_TCP_MAX_STATES];
	uint64_t records, lost, untracked, scrapes, scrape_errors, children_dropped;
	struct conn_slot *conns;
	size_t n_conns;
	const struct options *opt;
};

static void observe(struct histogram *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	if (i < n)
		h->buckets[i]++;
	h->count++;
	h->sum += v;
}

static size_t slot_hash(uint64_t cookie)
{
	cookie *= 0x9e3779b97f4a7c15ull;
	return (size_t)(cookie >> 40) & (CONN_SLOTS - 1);
}

static struct conn_slot *slot_find(struct exporter *e, uint64_t cookie)
{
	for (size_t i = slot_hash(cookie);; i = (i + 1) & (CONN_SLOTS - 1)) {
		if (e->conns[i].cookie == cookie)
			return &e->conns[i];
		if (!e->conns[i].cookie)
			return NULL;
	}
}

static void slot_add(struct exporter *e, uint64_t cookie, uint64_t born_ns,
		     bool passive)
{
	struct conn_slot *c = slot_find(e, cookie);
	size_t i;

	if (c) {
		/* A second child with a live one's cookie: the first keeps the
		 * slot (a twin dropped at birth is flagged and never comes
		 * here, unless the module could not tell). */
		if (passive)
			return;
		/* A closed socket connecting again (its CLOSE missed). */
		*c = (struct conn_slot){ .cookie = cookie, .born_ns = born_ns };
		return;
	}
	if (e->n_conns >= CONN_MAX) {
		e->untracked++;
		return;
	}
	for (i = slot_hash(cookie); e->conns[i].cookie; i = (i + 1) & (CONN_SLOTS - 1))
		;
	e->conns[i] = (struct conn_slot){ .cookie = cookie, .born_ns = born_ns };
	e->n_conns++;
}

static void slot_del(struct exporter *e, struct conn_slot *c)
{
	size_t hole = c - e->conns, i = hole;

	/* Backward shift: move up any later entry whose home is at or before
	 * the hole, so every lookup still stops at its entry, not a gap. */
	for (;;) {
		i = (i + 1) & (CONN_SLOTS - 1);
		if (!e->conns[i].cookie)
			break;
		size_t home = slot_hash(e->conns[i].cookie);

		if (((i - home) & (CONN_SLOTS - 1)) >= ((i - hole) & (CONN_SLOTS - 1))) {
			e->conns[hole] = e->conns[i];
			hole = i;
		}
	}
	e->conns[hole].cookie = 0;
	e->n_conns--;
}

/* The state a record's ms was spent in, or -1 if it has none to observe. */
static int timed_state(const struct synfin_event *ev)
{
	if (!(ev->have & SYNFIN_HAVE_STATE_TIME))
		return -1;
	if (ev->kind == SYNFIN_EV_TW_EXIT)
		return ev->tw_substate;
	/* The hand-off CLOSE repeats the time the TW_ENTER just reported. */
	if (ev->flags & SYNFIN_F_TW_HANDOFF)
		return -1;
	/* CLOSE before a connect or listen is no state a connection was in. */
	if (ev->oldstate == SYNFIN_TCP_CLOSE)
		return -1;
	return ev->oldstate;
}

/* Forget every open connection: their closes may be lost (a LOST
 * marker, a reopened device), and a slot never freed would stay forever. */
static void slots_clear(struct exporter *e)
{
	memset(e->conns, 0, CONN_SLOTS * sizeof(*e->conns));
	e->n_conns = 0;
}

static void account(struct exporter *e, const struct synfin_event *ev)
{
	struct conn_slot *c;
	int st;

	e->records++;
	if (ev->kind == SYNFIN_EV_LOST) {
		e->lost += ev->lost;
		slots_clear(e);
		return;
	}
	/* Never a connection, and its cookie is a live one's. */
	if (ev->flags & SYNFIN_F_CHILD_DROPPED) {
		if (ev->newstate == SYNFIN_TCP_CLOSE)
			e->children_dropped++;
		return;
	}
	st = timed_state(ev);
	if (st >= 0 && st < SYNFIN_TCP_MAX_STATES)
		observe(&e->state[st], state_bounds, ARRAY_LEN(state_bounds),
			ev->state_ns / 1e9);
	if (ev->kind != SYNFIN_EV_STATE || (ev->flags & SYNFIN_F_TIMEWAIT) || !ev->cookie)
		return;
	/* A connection's life: from its first event to its full socket's
	 * CLOSE, as tcplife counts it (TIME_WAIT is in the state histogram).
	 * A held passive open says how long ago it happened. */
	if ((ev->oldstate == SYNFIN_TCP_CLOSE && ev->newstate == SYNFIN_TCP_SYN_SENT) ||
	    (ev->oldstate == SYNFIN_TCP_LISTEN && ev->newstate == SYNFIN_TCP_SYN_RECV)) {
		uint64_t held = (uint64_t)ev->held_us * 1000;

		slot_add(e, ev->cookie, ev->ts_ns > held ? ev->ts_ns - held : ev->ts_ns,
			 ev->oldstate == SYNFIN_TCP_LISTEN);
		return;
	}
	c = slot_find(e, ev->cookie);
	if (!c)
		return;		/* opened before we started reading */
	if (ev->newstate == SYNFIN_TCP_CLOSING)
		c->closing = true;
	else if (ev->newstate == SYNFIN_TCP_FIN_WAIT1)
		c->fin_wait1 = true;
	else if (ev->newstate == SYNFIN_TCP_CLOSE_WAIT)
		c->close_wait = true;
	else if (ev->newstate == SYNFIN_TCP_CLOSE) {
		/* Handed to a timewait sock: it closed first, as life judges. */
		enum conn_closer who = conn_closer_of(c->closing,
						      c->fin_wait1 || (ev->flags & SYNFIN_F_TW_HANDOFF),
						      c->close_wait, ev->oldstate);

		observe(&e->conn[who], conn_bounds, ARRAY_LEN(conn_bounds),
			ev->ts_ns > c->born_ns ? (ev->ts_ns - c->born_ns) / 1e9 : 0);
		slot_del(e, c);
	}
}

static void write_histogram(FILE *f, const char *name, const char *label,
			    const char *value, const struct histogram *h,
			    const double *bounds, size_t n)
{
	char bucket[96], le[32];
	uint64_t cum = 0;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (size_t i = 0; i < n; i++) {
		cum += h->buckets[i];
		snprintf(le, sizeof(le), "%g", bounds[i]);
		metrics_sample(f, bucket, (const char *const[]){ label, value, "le", le, NULL }, cum);
	}
	metrics_sample(f, bucket, (const char *const[]){ label, value, "le", "+Inf", NULL }, h->count);
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	metrics_sample_float(f, bucket, (const char *const[]){ label, value, NULL }, h->sum);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	metrics_sample(f, bucket, (const char *const[]){ label, value, NULL }, h->count);
}

/* Called with e->lock held: the histograms and counters of the stream. */
static void write_stream(FILE *f, const struct exporter *e)
{
	metrics_family(f, "synfin_connection_duration_seconds", "histogram",
		       "Connections from their first state change to their full socket's CLOSE (TIME_WAIT not included), by who closed first, as synfin life says it: active (this end), passive (the peer), simultaneous, reset, refused.");
	for (size_t i = 0; i < ARRAY_LEN(closers); i++)
		write_histogram(f, "synfin_connection_duration_seconds", "closer",
				conn_closer_name(closers[i]), &e->conn[closers[i]],
				conn_bounds, ARRAY_LEN(conn_bounds));
	metrics_family(f, "synfin_state_duration_seconds", "histogram",
		       "Time sockets spent in a TCP state, observed when they left it (TIME_WAIT and FIN_WAIT2 include timewait socks).");
	for (int s = SYNFIN_TCP_ESTABLISHED; s < SYNFIN_TCP_MAX_STATES; s++)
		if (s != SYNFIN_TCP_CLOSE && s != SYNFIN_TCP_NEW_SYN_RECV)
			write_histogram(f, "synfin_state_duration_seconds", "state", state_name(s),
					&e->state[s], state_bounds, ARRAY_LEN(state_bounds));
	const struct {
		const char *name, *type, *help;
		uint64_t value;
	} own[] = {
		{ "synfin_exporter_records_total", "counter",
		  "Records the exporter read from /dev/synfin.", e->records },
		{ "synfin_exporter_events_lost_total", "counter",
		  "Records the exporter's reader lost (it fell a ring behind): its histograms miss them.",
		  e->lost },
		{ "synfin_exporter_connections_untracked_total", "counter",
		  "Connections not observed: more were open at once than the exporter tracks.",
		  e->untracked },
		{ "synfin_exporter_connections_open", "gauge",
		  "Connections the exporter saw open and not yet closed.", e->n_conns },
		{ "synfin_exporter_children_dropped_total", "counter",
		  "Passive-open children the kernel dropped at birth (mostly: two segments completed one handshake on two CPUs, one child won): counted in TcpPassiveOpens, never connections.",
		  e->children_dropped },
		{ "synfin_exporter_scrapes_total", "counter",
		  "Scrapes of /metrics served, this one included.", e->scrapes },
		{ "synfin_exporter_scrape_errors_total", "counter",
		  "Scrapes in which the module could not be read.", e->scrape_errors },
	};

	for (size_t i = 0; i < ARRAY_LEN(own); i++)
		metrics_plain(f, own[i].name, own[i].type, own[i].help, own[i].value);
}

/* One scrape's text, malloc'ed, or NULL (out of memory). */
static char *render(struct exporter *e, size_t *len)
{
	struct metrics_snapshot s;
	bool up = false;
	char *buf = NULL;
	FILE *f;

	f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	pthread_rwlock_rdlock(&e->dev_lock);
	if (e->open)
		up = !metrics_snapshot_take(&s, e->src.fd, e->opt);
	pthread_rwlock_unlock(&e->dev_lock);
	metrics_write_up(f, up);
	pthread_mutex_lock(&e->lock);
	e->scrapes++;
	if (!up)
		e->scrape_errors++;
	write_stream(f, e);
	pthread_mutex_unlock(&e->lock);
	if (up) {
		metrics_write(f, &s);
		metrics_snapshot_free(&s);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static const char index_page[] =
	"<html><head><title>synfin exporter</title></head><body>"
	"<h1>synfin exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code,
			     const char *type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_size, void **req)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct exporter *e = cls;
	size_t len;
	char *body;

	(void)version;
	(void)upload_data;
	/* The first call only announces the request: answering then makes
	 * libmicrohttpd close the connection (it cannot know the request has
	 * no body left), and a scrape every 15 s would leave a TIME_WAIT
	 * socket each time. Answer on the second call, keep-alive. */
	if (!*req) {
		*req = e;
		return MHD_YES;
	}
	if (*upload_size) {	/* a body: not ours to read */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
			     (void *)"only GET and HEAD\n", 18, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)index_page,
			     sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, text, (void *)"not found: try /metrics\n",
			     24, MHD_RESPMEM_PERSISTENT);
	body = render(e, &len);
	if (!body)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text,
			     (void *)"out of memory\n", 14, MHD_RESPMEM_PERSISTENT);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		     body, len, MHD_RESPMEM_MUST_FREE);
}

/*
 * The listening socket, made here rather than by libmicrohttpd so a bad
 * address or a port in use is reported with its reason. "PORT" or ":PORT"
 * listens on every address (IPv6 and IPv4 both where IPv6 exists).
 * -2: SPEC is not [ADDR:]PORT (a usage error); -1: it cannot listen there.
 */
static int listen_socket(const char *spec)
{
	struct addrinfo hints, *ai = NULL, *p;
	char host[256] = "", port[16];
	const char *colon = strrchr(spec, ':');
	int fd = -1, err = 0, one = 1, rc;

	if (colon) {
		size_t n = colon - spec;

		if (n >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
			goto bad;
		memcpy(host, spec, n);
		host[n] = 0;
		if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
			memmove(host, host + 1, n - 2);
			host[n - 2] = 0;
		}
		snprintf(port, sizeof(port), "%s", colon + 1);
	} else {
		if (strlen(spec) >= sizeof(port))
			goto bad;
		snprintf(port, sizeof(port), "%s", spec);
	}
	char *end;
	long pn = strtol(port, &end, 10);

	if (!port[0] || *end || pn < 1 || pn > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6;
again:
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc && !host[0] && hints.ai_family == AF_INET6) {
		hints.ai_family = AF_INET;	/* no IPv6 here: every IPv4 address */
		goto again;
	}
	if (rc == EAI_NONAME && host[0]) {
		report_error("--listen %s: '%s' is not an IP address (ADDR is numeric: 127.0.0.1, [::1])", spec, host);
		return -2;
	}
	if (rc) {
		report_error("--listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (p->ai_family == AF_INET6 && !host[0]) {
			int zero = 0;	/* IPv4 too, whatever bindv6only says */

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		}
		if (!bind(fd, p->ai_addr, p->ai_addrlen) && !listen(fd, 128))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	/* IPv6 disabled (ipv6.disable=1): getaddrinfo() still answers. */
	if (fd < 0 && err == EAFNOSUPPORT && !host[0] && hints.ai_family == AF_INET6) {
		hints.ai_family = AF_INET;
		ai = NULL;
		goto again;
	}
	if (fd < 0)
		report_error("--listen %s: %s%s", spec, strerror(err),
			     err == EADDRINUSE ? " (another exporter on this port? choose one with --listen PORT)" : "");
	return fd;
bad:
	report_error("--listen needs [ADDR:]PORT (29117, :29117, 127.0.0.1:29117, [::1]:29117), not '%s'", spec);
	return -2;
}

/*
 * The main thread keeps SIGINT and SIGTERM blocked but while it waits, in
 * ppoll() with the mask it had: a signal that comes before the wait ends
 * it at once instead of being missed until the next record (or forever,
 * on an idle host).
 */
static sigset_t wait_mask;

/* Sleep ms, or until a signal asks us to stop. */
static void nap(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (!stop_requested)
		ppoll(NULL, 0, &ts, &wait_mask);
}

/* Until a record can be read, or a signal asks us to stop. */
static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (!stop_requested)
		ppoll(&p, 1, NULL, &wait_mask);
}

static void log_line(const char *fmt, const char *arg)
{
	fprintf(stderr, "synfin: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/*
 * Read records until SIGINT/SIGTERM. The device missing or failing is
 * said once per outage; the exporter goes on serving synfin_up 0.
 */
static void read_loop(struct exporter *e)
{
	struct synfin_event ev;
	bool said_down = !e->open;	/* exporter_run() said why */
	int rc;

	if (said_down)
		log_line("%s", "serving synfin_up 0 until the module is loaded (modprobe synfin); trying again every second");
	while (!stop_requested) {
		if (!e->open) {
			struct source src;
			int err;

			/* Why it failed was said the first time. */
			report_muted = said_down;
			err = source_open(&src, e->opt);
			report_muted = false;
			if (err) {
				if (!said_down)
					log_line("%s", "serving synfin_up 0 until the module is loaded (modprobe synfin); trying again every second");
				said_down = true;
				nap(1000);
				continue;
			}
			pthread_rwlock_wrlock(&e->dev_lock);
			e->src = src;
			e->open = true;
			pthread_rwlock_unlock(&e->dev_lock);
			pthread_mutex_lock(&e->lock);
			slots_clear(e);	/* what was open before is not followed */
			pthread_mutex_unlock(&e->lock);
			if (said_down)
				log_line("%s: reading again", src.name);
			said_down = false;
		}
		if (!source_buffered(&e->src))
			wait_readable(e->src.fd);
		if (stop_requested)
			break;
		rc = source_next(&e->src, &ev);
		if (rc > 0) {
			pthread_mutex_lock(&e->lock);
			account(e, &ev);
			pthread_mutex_unlock(&e->lock);
			continue;
		}
		if (stop_requested)
			break;
		/* The device failed or ended: close it (no scrape uses it
		 * while we hold the lock) and open it anew. */
		pthread_rwlock_wrlock(&e->dev_lock);
		source_close(&e->src);
		e->open = false;
		pthread_rwlock_unlock(&e->dev_lock);
		nap(1000);
	}
}

int exporter_run(const struct options *opt)
{
	struct exporter *e;
	struct MHD_Daemon *d;
	sigset_t block, old;
	int lfd, ret = EXIT_RUNTIME;

	e = calloc(1, sizeof(*e));
	if (!e || !(e->conns = calloc(CONN_SLOTS, sizeof(*e->conns)))) {
		report_error("out of memory");
		free(e);
		return EXIT_RUNTIME;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_rwlock_init(&e->dev_lock, NULL);
	e->opt = opt;
	lfd = listen_socket(opt->listen);
	if (lfd < 0) {
		if (lfd == -2)
			ret = EXIT_USAGE;
		goto free_exporter;
	}
	/* The first open, before serving: a module that is not there is
	 * said at once (and then served as synfin_up 0). */
	if (!source_open(&e->src, opt))
		e->open = true;
	/* libmicrohttpd's threads inherit this mask: SIGINT and SIGTERM
	 * reach the main thread, and only while it waits (wait_mask). */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	wait_mask = old;
	d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     handle, e,
			     MHD_OPTION_LISTEN_SOCKET, lfd,
			     MHD_OPTION_THREAD_POOL_SIZE, 2,
			     MHD_OPTION_CONNECTION_LIMIT, 256,
			     /* Longer than a scrape interval: Prometheus keeps
			      * its connection, no TIME_WAIT per scrape here. */
			     MHD_OPTION_CONNECTION_TIMEOUT, 300,
			     MHD_OPTION_END);
	/* SIGPIPE stays blocked here too; SIGINT and SIGTERM only in ppoll(). */
	if (!d) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		report_error("--listen %s: the HTTP server (libmicrohttpd) did not start", opt->listen);
		close(lfd);
		goto close_source;
	}
	log_line("serving /metrics on %s", opt->listen);
	read_loop(e);
	/* Stops accepting, finishes the scrapes in flight, joins its threads,
	 * and closes the listening socket it was given. */
	MHD_stop_daemon(d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ret = EXIT_OK;
close_source:
	if (e->open)
		source_close(&e->src);
free_exporter:
	pthread_mutex_destroy(&e->lock);
	pthread_rwlock_destroy(&e->dev_lock);
	free(e->conns);
	free(e);
	return ret;
}
