// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin ladder`: the client | server picture of real connections. The
 * segments are inferred from state changes: each transition implies what
 * its side received and what it sent (CLOSE->SYN_SENT: a SYN left). With
 * both ends on this host, both columns are real events; with one, the far
 * column shows what the near side's changes imply, marked "(inferred)".
 * A connection is drawn when its full socket closes (both, for a local
 * pair); TIME_WAIT is shown entered, not waited out.
 */
#include <inttypes.h>
#include <string.h>
#include "conn.h"

#define ARROW_W 30

struct seg { const char *recv, *sent; };

/* What a transition implies: the segment received, the one sent. */
static struct seg implied(uint8_t old, uint8_t new)
{
	struct seg s = { NULL, NULL };

	switch (old * 16 + new) {
#define T(a, b) (SYNFIN_TCP_##a * 16 + SYNFIN_TCP_##b)
	case T(CLOSE, SYN_SENT):	 s.sent = "SYN"; break;
	case T(LISTEN, SYN_RECV):	 break;	/* see draw_step() */
	case T(SYN_SENT, ESTABLISHED):	 s.recv = "SYN+ACK"; s.sent = "ACK"; break;
	case T(SYN_RECV, ESTABLISHED):	 break;	/* the ACK that made the child */
	case T(ESTABLISHED, FIN_WAIT1):	 s.sent = "FIN"; break;
	case T(ESTABLISHED, CLOSE_WAIT): s.recv = "FIN"; s.sent = "ACK"; break;
	case T(FIN_WAIT1, FIN_WAIT2):	 s.recv = "ACK"; break;
	case T(CLOSE_WAIT, LAST_ACK):	 s.sent = "FIN"; break;
	case T(FIN_WAIT2, TIME_WAIT):	 s.recv = "FIN"; s.sent = "ACK"; break;
	case T(FIN_WAIT1, CLOSING):	 s.recv = "FIN"; s.sent = "ACK"; break;
	case T(CLOSING, TIME_WAIT):	 s.recv = "ACK"; break;
	case T(FIN_WAIT1, TIME_WAIT):	 s.recv = "FIN+ACK"; s.sent = "ACK"; break;
	case T(LAST_ACK, CLOSE):	 s.recv = "ACK"; break;
	case T(SYN_SENT, CLOSE):	 s.recv = "RST"; break;
#undef T
	}
	return s;
}

struct side {
	const struct conn *c;	/* NULL: the far end, not on this host */
	bool left;		/* client column */
};

struct ladder {
	const struct options *opt;
	const struct synfin_clock *clock;
	uint64_t t0;
	uint64_t established;	/* when the first side got there; 0: not yet */
	bool data_drawn;
	bool pair;
};

static void arrow(char *out, const char *label, bool rightward)
{
	size_t len = strlen(label) + 2, pad = ARROW_W - 1 - len, a = pad / 2, b = pad - a, i = 0;

	if (!rightward)
		out[i++] = '<';
	memset(out + i, '-', rightward ? a : b);
	i += rightward ? a : b;
	i += sprintf(out + i, " %s ", label);
	memset(out + i, '-', rightward ? b : a);
	i += rightward ? b : a;
	if (rightward)
		out[i++] = '>';
	out[i] = 0;
}

static void row(const struct ladder *L, uint64_t ts, const char *lstate,
		const char *mid, const char *rstate, const char *note)
{
	struct synfin_event e = { .ts_ns = ts };
	char t[48];

	if (L->opt->wall_clock) {
		format_time(t, sizeof(t), &e, L->clock, true, 0);
	} else {
		uint64_t d = ts >= L->t0 ? ts - L->t0 : 0;

		snprintf(t, sizeof(t), "%" PRIu64 ".%03" PRIu64, d / 1000000, d / 1000 % 1000);
	}
	char line[256];
	int n = snprintf(line, sizeof(line), "%15s  %-18s %-*s  %-18s%s%s", t, lstate ? lstate : "",
			 ARROW_W, mid ? mid : "", rstate ? rstate : "", note ? "  " : "",
			 note ? note : "");

	/* No trailing blanks (columns are padded for the ones to come). */
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = 0;
	puts(line);
}

static const char *step_state(const struct conn_step *s, char *buf, size_t len)
{
	if (s->kind == SYNFIN_EV_TW_ENTER) {
		snprintf(buf, len, "%s (tw)", state_name(s->substate));
		return buf;
	}
	if (s->kind == SYNFIN_EV_TW_EXIT)
		return "CLOSED (tw gone)";
	if (s->flags & SYNFIN_F_TIMEWAIT) {
		snprintf(buf, len, "%s (tw)", state_name(s->newstate));
		return buf;
	}
	if (s->oldstate == s->newstate) {
		/* close() after shutdown(): the state stays, nothing is sent */
		snprintf(buf, len, "%s (close)", state_name(s->newstate));
		return buf;
	}
	return state_name(s->newstate);
}

/* One step of one side: its row, and before it, in a one-sided ladder, the
 * far side's segment that the step implies was received. */
static void draw_step(struct ladder *L, const struct side *sd,
		      const struct conn_step *s)
{
	char st[40], mid[64], note[96];
	struct seg g = { NULL, NULL };
	const char *n = NULL, *stn;

	if (s->kind == SYNFIN_EV_STATE && s->newstate == SYNFIN_TCP_CLOSE &&
	    (s->flags & SYNFIN_F_TW_HANDOFF))
		return;		/* the full socket's exit behind a timewait sock */
	/* Between the handshake and the first close step: the data phase. */
	if (s->kind == SYNFIN_EV_STATE && s->newstate == SYNFIN_TCP_ESTABLISHED && !L->established)
		L->established = s->ts_ns;
	if (s->oldstate == SYNFIN_TCP_ESTABLISHED && L->established && !L->data_drawn) {
		uint64_t d = s->ts_ns - L->established;

		snprintf(note, sizeof(note), "ESTABLISHED %" PRIu64 ".%03" PRIu64 " ms",
			 d / 1000000, d / 1000 % 1000);
		row(L, s->ts_ns, NULL, "  . . . . . data . . . . .", NULL, note);
		L->data_drawn = true;
	}
	if (s->kind == SYNFIN_EV_STATE) {
		g = implied(s->oldstate, s->newstate);
		if (s->newstate == SYNFIN_TCP_CLOSE && !g.recv)
			g.sent = "RST";		/* a close without the FIN exchange */
	} else if (s->kind == SYNFIN_EV_TW_ENTER) {
		/* The full socket's state when the timewait sock took over. */
		if (s->substate == SYNFIN_TCP_TIME_WAIT)
			g = implied(s->oldstate, SYNFIN_TCP_TIME_WAIT);
		snprintf(note, sizeof(note), "timer %u.%03u s", s->tw_timeout_ms / 1000,
			 s->tw_timeout_ms % 1000);
		n = note;
	}
	if (s->kind == SYNFIN_EV_STATE && s->oldstate == SYNFIN_TCP_LISTEN &&
	    s->newstate == SYNFIN_TCP_SYN_RECV) {
		/*
		 * The child socket is made when the handshake's last ACK comes;
		 * the SYN and SYN+ACK went through a request sock, which fires
		 * nothing. Alone, draw the handshake here; in a pair, the
		 * client's side has drawn it.
		 */
		if (!L->pair) {
			arrow(mid, "SYN", true);
			row(L, s->ts_ns, "(inferred)", mid, "SYN_RECV (request)", NULL);
			arrow(mid, "SYN+ACK", false);
			row(L, s->ts_ns, NULL, mid, NULL, NULL);
			arrow(mid, "ACK", true);
			row(L, s->ts_ns, "(inferred)", mid, NULL, NULL);
		}
		row(L, s->ts_ns, NULL, NULL, "SYN_RECV (child)", NULL);
		return;
	}
	if (s->kind == SYNFIN_EV_STATE && s->oldstate == SYNFIN_TCP_SYN_SENT &&
	    s->newstate == SYNFIN_TCP_ESTABLISHED && L->pair) {
		/* The server's SYN+ACK left its request sock: no event of its own. */
		arrow(mid, "SYN+ACK", false);
		row(L, s->ts_ns, NULL, mid, "SYN_RECV (request)", NULL);
		g.recv = NULL;
	}
	if (!L->pair && g.recv) {
		arrow(mid, g.recv, !sd->left);
		row(L, s->ts_ns, sd->left ? NULL : "(inferred)", mid, sd->left ? "(inferred)" : NULL, NULL);
	}
	if (g.sent && !strcmp(g.sent, "RST")) {
		snprintf(mid, sizeof(mid), "x%*s", ARROW_W - 2, "");
		memcpy(mid + 1, "-- RST (sent or received) --", 28);
		mid[ARROW_W - 1] = 'x';
		mid[ARROW_W] = 0;
	} else if (g.sent) {
		arrow(mid, g.sent, sd->left);
	} else {
		mid[0] = 0;
	}
	if (s->kind == SYNFIN_EV_STATE && s->oldstate == SYNFIN_TCP_SYN_SENT &&
	    s->newstate == SYNFIN_TCP_CLOSE)
		n = "refused (RST) or timed out";
	stn = step_state(s, st, sizeof(st));
	row(L, s->ts_ns, sd->left ? stn : NULL, mid, sd->left ? NULL : stn, n);
}

static void side_label(char *out, size_t len, const struct conn *c, bool local_end)
{
	char a[64], comm[17];	/* TEXT_TABLE: at most 16 characters */

	format_addr(a, sizeof(a), &c->tuple, local_end, true);
	if (!local_end) {
		snprintf(out, len, "%s (not on this host: inferred)", a);
		return;
	}
	text_render(comm, sizeof(comm), c->comm, sizeof(c->comm), TEXT_TABLE);
	snprintf(out, len, "%s %s/%u", a, comm, c->tgid);
}

static void draw(const struct options *opt, const struct synfin_clock *clock,
		 const struct conn *a, const struct conn *b)
{
	const struct conn *client = a, *server = b;
	struct ladder L = { .opt = opt, .clock = clock, .pair = b != NULL };
	char lh[128], rh[128];
	size_t i = 0, j = 0;
	struct side cs, ss;

	/* The client (active opener) on the left. */
	if (b ? (b->active_open && !a->active_open) : a->passive_open) {
		client = b;
		server = a;
	}
	if (client)
		side_label(lh, sizeof(lh), client, true);
	else
		side_label(lh, sizeof(lh), server, false);
	if (server)
		side_label(rh, sizeof(rh), server, true);
	else
		side_label(rh, sizeof(rh), client, false);
	printf("CLIENT %s\nSERVER %s\n", lh, rh);
	cs = (struct side){ client, true };
	ss = (struct side){ server, false };
	L.t0 = UINT64_MAX;
	if (client && client->nsteps)
		L.t0 = client->steps[0].ts_ns;
	if (server && server->nsteps && server->steps[0].ts_ns < L.t0)
		L.t0 = server->steps[0].ts_ns;
	printf("%15s  %-18s %-*s  %s\n", opt->wall_clock ? "TIME" : "MS", "CLIENT", ARROW_W, "", "SERVER");
	/* Both sides' steps in time order. */
	while ((client && i < client->nsteps) || (server && j < server->nsteps)) {
		bool take_client = client && i < client->nsteps &&
			(!server || j >= server->nsteps ||
			 client->steps[i].ts_ns <= server->steps[j].ts_ns);

		if (take_client)
			draw_step(&L, &cs, &client->steps[i++]);
		else
			draw_step(&L, &ss, &server->steps[j++]);
	}
	if ((client && client->partial) || (server && server->partial))
		printf("%15s  (opened before synfin was reading: the start is missing)\n", "");
	printf("\n");
}

struct ladder_run {
	const struct options *opt;
	const struct synfin_clock *clock;
	struct conn_table *table;
	long long drawn;
	bool flushing;		/* end of input: draw without waiting */
};

static bool wanted(const struct options *opt, const struct conn *a, const struct conn *b)
{
	return conn_matches(a, &opt->filter) || (b && conn_matches(b, &opt->filter));
}

/* @c closed: draw it (with its peer once that has closed too). */
static void consider(struct ladder_run *r, struct conn *c)
{
	struct conn *p;

	if (c->printed)
		return;
	p = conn_peer(r->table, c);
	if (p && !p->closed && !r->flushing)
		return;		/* drawn when the peer closes */
	if (wanted(r->opt, c, p)) {
		draw(r->opt, r->clock, c, p);
		r->drawn++;
	}
	c->printed = true;
	if (p)
		p->printed = true;
}

static void flush_one(struct conn *c, void *arg)
{
	struct ladder_run *r = arg;

	if (!c->printed && c->nsteps && (!r->opt->max_events || r->drawn < r->opt->max_events))
		consider(r, c);
}

int cmd_ladder(const struct options *opt)
{
	struct options o = *opt;
	struct conn_table table;
	struct ladder_run run = { .opt = opt, .table = &table };
	struct synfin_event ev;
	struct source src;
	struct conn *c;
	int rc = 0;

	if (opt->format != OUT_TABLE) {
		report_error("ladder draws pictures only; use life or tail for -j/--csv");
		return EXIT_USAGE;
	}
	o.filter = conn_event_filter(&opt->filter, true);
	if (conn_table_init(&table, true)) {
		report_error("out of memory");
		return EXIT_RUNTIME;
	}
	if (source_open(&src, &o)) {
		conn_table_free(&table);
		return EXIT_RUNTIME;
	}
	run.clock = &src.clock;
	printf("Segments are inferred from state changes (CLOSE->SYN_SENT: a SYN left;\n"
	       "SYN_SENT->ESTABLISHED: SYN+ACK came, ACK left; ...). '(tw)': the timewait\n"
	       "sock that holds the connection after close; '(inferred)': the far end is\n"
	       "not on this host, its segments are implied by this end's changes.\n\n");
	while (!stop_requested && (rc = source_next(&src, &ev)) > 0) {
		enum conn_update u;

		if (ev.kind == SYNFIN_EV_LOST) {
			printf("*** lost %llu events (reader fell behind): ladders may miss steps ***\n\n",
			       (unsigned long long)ev.lost);
			continue;
		}
		u = conn_feed(&table, &ev, &c);
		if (u == CONN_NONE)
			continue;
		if (!c->printed) {
			consider(&run, c);
			if (!output_flush())
				break;
		}
		/* Drawn and finished connections go; a closed one that waits
		 * for its peer, or sits in timewait, stays. */
		if (c->printed) {
			struct conn *p = conn_peer(&table, c);

			if (p && p->printed && p->end_ts)
				conn_remove(&table, p);
			if (c->end_ts)
				conn_remove(&table, c);
		}
		if (opt->max_events && run.drawn >= opt->max_events)
			break;
	}
	/* End of input: draw what has not been drawn, as far as it got. */
	if (!opt->max_events || run.drawn < opt->max_events) {
		run.flushing = true;
		conn_each(&table, flush_one, &run);
	}
	source_close(&src);
	conn_table_free(&table);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
