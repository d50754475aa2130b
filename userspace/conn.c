// SPDX-License-Identifier: GPL-2.0
/*
 * Connections rebuilt from records: one entry per socket cookie, with the
 * time spent in each state and (for ladder) every step. A connection is
 * closed when its full socket reaches CLOSE, and gone when it is also out
 * of timewait (the timewait sock keeps the cookie).
 */
#include <stdlib.h>
#include <string.h>
#include "conn.h"

int conn_table_init(struct conn_table *t, bool keep_steps)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 4096;
	t->keep_steps = keep_steps;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->tbuckets = calloc(t->nbuckets, sizeof(*t->tbuckets));
	if (!t->buckets || !t->tbuckets) {
		free(t->buckets);
		free(t->tbuckets);
		return -1;
	}
	return 0;
}

static void conn_free(struct conn *c)
{
	free(c->steps);
	free(c);
}

void conn_table_free(struct conn_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct conn *c = t->buckets[i], *n;

		for (; c; c = n) {
			n = c->hnext;
			conn_free(c);
		}
	}
	free(t->buckets);
	free(t->tbuckets);
	t->buckets = t->tbuckets = NULL;
}

static size_t bucket(const struct conn_table *t, uint64_t cookie)
{
	return (cookie * 0x9e3779b97f4a7c15ULL >> 32) % t->nbuckets;
}

/* FNV-1a over one end's view of a connection: netns, family, both ends. */
static size_t tuple_bucket(const struct conn_table *t, uint32_t netns, uint16_t family,
			   const uint8_t *laddr, uint16_t lport,
			   const uint8_t *raddr, uint16_t rport)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

#define MIX(b) (h = (h ^ (uint8_t)(b)) * 0x100000001b3ULL)
	for (i = 0; i < 4; i++)
		MIX(netns >> (8 * i));
	MIX(family);
	for (i = 0; i < 16; i++)
		MIX(laddr[i]);
	MIX(lport);
	MIX(lport >> 8);
	for (i = 0; i < 16; i++)
		MIX(raddr[i]);
	MIX(rport);
	MIX(rport >> 8);
#undef MIX
	return h % t->nbuckets;
}

static size_t tuple_bucket_of(const struct conn_table *t, const struct synfin_event *e)
{
	return tuple_bucket(t, e->netns, e->family, e->saddr, e->sport, e->daddr, e->dport);
}

static void tuple_unindex(struct conn_table *t, struct conn *c)
{
	struct conn **pp;

	if (!c->tindexed)
		return;
	pp = &t->tbuckets[tuple_bucket_of(t, &c->tuple)];
	while (*pp && *pp != c)
		pp = &(*pp)->tnext;
	if (*pp)
		*pp = c->tnext;
	c->tindexed = false;
}

static void tuple_index(struct conn_table *t, struct conn *c)
{
	size_t b = tuple_bucket_of(t, &c->tuple);

	c->tnext = t->tbuckets[b];
	t->tbuckets[b] = c;
	c->tindexed = true;
}

static struct conn *conn_find(struct conn_table *t, uint64_t cookie)
{
	struct conn *c = t->buckets[bucket(t, cookie)];

	while (c && c->cookie != cookie)
		c = c->hnext;
	return c;
}

void conn_remove(struct conn_table *t, struct conn *c)
{
	struct conn **pp = &t->buckets[bucket(t, c->cookie)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = c->hnext;
		t->count--;
	}
	tuple_unindex(t, c);
	conn_free(c);
}

void conn_each(struct conn_table *t, void (*fn)(struct conn *, void *), void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct conn *c = t->buckets[i], *n;

		for (; c; c = n) {
			n = c->hnext;	/* fn may remove c */
			fn(c, arg);
		}
	}
}

/* When the transition happened: a held passive open says how long it waited. */
static uint64_t event_time(const struct synfin_event *ev)
{
	uint64_t held = (uint64_t)ev->held_us * 1000;

	return ev->ts_ns > held ? ev->ts_ns - held : ev->ts_ns;
}

static bool tuple_complete(const struct synfin_event *ev);

static struct conn *conn_new(struct conn_table *t, const struct synfin_event *ev)
{
	struct conn *c = calloc(1, sizeof(*c));
	size_t b;

	if (!c)
		return NULL;
	c->cookie = ev->cookie;
	c->tuple = *ev;
	c->first_ts = c->state_ts = event_time(ev);
	c->state = ev->oldstate;
	if (c->state < SYNFIN_TCP_MAX_STATES)
		c->visited[c->state] = true;
	/* A connection's life starts at CLOSE->SYN_SENT or LISTEN->SYN_RECV;
	 * anything else began before we were reading. */
	c->partial = !(ev->kind == SYNFIN_EV_STATE &&
		       ((ev->oldstate == SYNFIN_TCP_CLOSE && ev->newstate == SYNFIN_TCP_SYN_SENT) ||
			(ev->oldstate == SYNFIN_TCP_LISTEN && ev->newstate == SYNFIN_TCP_SYN_RECV)));
	b = bucket(t, c->cookie);
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	t->count++;
	if (tuple_complete(ev))
		tuple_index(t, c);
	return c;
}

static void conn_add_step(struct conn_table *t, struct conn *c, const struct synfin_event *ev)
{
	struct conn_step *s;

	if (!t->keep_steps)
		return;
	if (c->nsteps == c->capsteps) {
		size_t cap = c->capsteps ? c->capsteps * 2 : 16;
		struct conn_step *n;

		if (cap > 4096)		/* a looping socket: keep the start */
			return;
		n = realloc(c->steps, cap * sizeof(*n));
		if (!n)
			return;
		c->steps = n;
		c->capsteps = cap;
	}
	s = &c->steps[c->nsteps++];
	s->ts_ns = event_time(ev);
	s->kind = ev->kind;
	s->oldstate = ev->oldstate;
	s->newstate = ev->newstate;
	s->flags = ev->flags;
	s->substate = ev->tw_substate;
	s->tw_timeout_ms = ev->tw_timeout_ms;
}

/* Time in the current state ends now; the connection moves to @state. */
static void conn_enter(struct conn *c, uint8_t state, uint64_t ts)
{
	if (c->state < SYNFIN_TCP_MAX_STATES && ts >= c->state_ts)
		c->in_state[c->state] += ts - c->state_ts;
	c->state = state;
	c->state_ts = ts;
	if (state < SYNFIN_TCP_MAX_STATES)
		c->visited[state] = true;
}

enum conn_closer conn_closer_of(bool closing, bool fin_wait1, bool close_wait, uint8_t old)
{
	if (closing)
		return CLOSER_SIMULTANEOUS;
	if (fin_wait1)
		return CLOSER_ACTIVE;
	if (close_wait)
		return CLOSER_PASSIVE;
	if (old == SYNFIN_TCP_SYN_SENT)
		return CLOSER_REFUSED;
	return CLOSER_RESET;
}

/* Who closed first, from the states the connection passed through. */
static enum conn_closer conn_judge(const struct conn *c, uint8_t old)
{
	return conn_closer_of(c->visited[SYNFIN_TCP_CLOSING],
			      c->visited[SYNFIN_TCP_FIN_WAIT1] || c->in_timewait,
			      c->visited[SYNFIN_TCP_CLOSE_WAIT], old);
}

/* Counters only grow: the latest record that has them has the totals. */
static void conn_take_numbers(struct conn *c, const struct synfin_event *ev)
{
	struct synfin_event *n = &c->numbers;

	if (ev->have & SYNFIN_HAVE_TCP) {
		n->tx_bytes = ev->tx_bytes;
		n->rx_bytes = ev->rx_bytes;
		n->segs_out = ev->segs_out;
		n->segs_in = ev->segs_in;
		n->retrans = ev->retrans;
		n->srtt_us = ev->srtt_us;
		n->rttvar_us = ev->rttvar_us;
		n->min_rtt_us = ev->min_rtt_us;
	}
	if (ev->have & SYNFIN_HAVE_SOCK) {
		n->uid = ev->uid;
		n->cgroup_id = ev->cgroup_id;
	}
	n->have |= ev->have & (SYNFIN_HAVE_TCP | SYNFIN_HAVE_SOCK);
}

static bool tuple_complete(const struct synfin_event *ev)
{
	return ev->sport && ev->dport && !(ev->flags & SYNFIN_F_LISTENER_TUPLE);
}

enum conn_update conn_feed(struct conn_table *t, const struct synfin_event *ev,
			   struct conn **out)
{
	uint64_t ts = event_time(ev);
	struct conn *c;

	*out = NULL;
	/* A child dropped at birth was never a connection; its cookie is
	 * the live one's that won (SYNFIN_F_CHILD_DROPPED). */
	if (ev->kind == SYNFIN_EV_LOST || (ev->flags & SYNFIN_F_CHILD_DROPPED))
		return CONN_NONE;
	c = conn_find(t, ev->cookie);
	if (!c) {
		/* Listening sockets are not connections; nor is a timewait
		 * exit of a sock we never saw enter. */
		bool listener = ev->newstate == SYNFIN_TCP_LISTEN ||
				(ev->oldstate == SYNFIN_TCP_LISTEN &&
				 ev->newstate != SYNFIN_TCP_SYN_RECV);

		if (listener || ev->kind == SYNFIN_EV_TW_EXIT)
			return CONN_NONE;
		c = conn_new(t, ev);
		if (!c)
			return CONN_NONE;
	}
	*out = c;
	if (tuple_complete(ev)) {
		/* Indexed by the latest complete tuple: a port may appear late. */
		tuple_unindex(t, c);
		c->tuple = *ev;
		tuple_index(t, c);
	}
	/* Its last known owner: a server connection's handshake names the
	 * listener's, accept() the process that serves it. */
	if (ev->tgid) {
		c->tgid = ev->tgid;
		memcpy(c->comm, ev->comm, sizeof(c->comm));
	}
	conn_take_numbers(c, ev);
	conn_add_step(t, c, ev);

	switch (ev->kind) {
	case SYNFIN_EV_STATE:
		if (ev->newstate == SYNFIN_TCP_SYN_SENT)
			c->active_open = true;
		if (ev->oldstate == SYNFIN_TCP_LISTEN)
			c->passive_open = true;
		if (ev->newstate == SYNFIN_TCP_CLOSE) {
			c->closed = true;
			if (ev->flags & SYNFIN_F_TW_HANDOFF) {
				/* The timewait sock carries on from here. */
				return CONN_CLOSED;
			}
			c->closer = conn_judge(c, ev->oldstate);
			conn_enter(c, SYNFIN_TCP_CLOSE, ts);
			c->end_ts = ts;
			return CONN_GONE;
		}
		conn_enter(c, ev->newstate, ts);
		return CONN_NONE;
	case SYNFIN_EV_TW_ENTER:
		c->in_timewait = true;
		c->visited[ev->oldstate < SYNFIN_TCP_MAX_STATES ? ev->oldstate : 0] = true;
		conn_enter(c, ev->tw_substate, ts);
		return CONN_NONE;
	case SYNFIN_EV_TW_EXIT:
		c->in_timewait = true;
		c->closed = true;
		c->closer = conn_judge(c, ev->oldstate);
		c->tw_reason = ev->tw_reason;
		conn_enter(c, SYNFIN_TCP_CLOSE, ts);
		c->end_ts = ts;
		return CONN_GONE;
	}
	return CONN_NONE;
}

struct conn *conn_peer(struct conn_table *t, const struct conn *c)
{
	const struct synfin_event *a = &c->tuple;
	struct conn *p;

	if (!c->tindexed)
		return NULL;
	/* The peer's own view: the two ends swapped. */
	p = t->tbuckets[tuple_bucket(t, a->netns, a->family, a->daddr, a->dport,
				     a->saddr, a->sport)];
	for (; p; p = p->tnext) {
		const struct synfin_event *b = &p->tuple;

		if (p != c && b->netns == a->netns && b->family == a->family &&
		    b->sport == a->dport && b->dport == a->sport &&
		    !memcmp(b->saddr, a->daddr, 16) && !memcmp(b->daddr, a->saddr, 16))
			return p;
	}
	return NULL;
}

const char *conn_closer_name(enum conn_closer c)
{
	switch (c) {
	case CLOSER_ACTIVE: return "active";
	case CLOSER_PASSIVE: return "passive";
	case CLOSER_SIMULTANEOUS: return "simultaneous";
	case CLOSER_RESET: return "reset";
	case CLOSER_REFUSED: return "refused";
	default: return "unknown";
	}
}

bool conn_matches(const struct conn *c, const struct synfin_filter *f)
{
	const struct synfin_event *t = &c->tuple;

	if ((f->match & SYNFIN_FILTER_LPORT) && !synfin_list_has16(f->lports, f->n_lports, t->sport))
		return false;
	if ((f->match & SYNFIN_FILTER_RPORT) && !synfin_list_has16(f->rports, f->n_rports, t->dport))
		return false;
	if ((f->match & SYNFIN_FILTER_PORT) && !synfin_list_has16(f->ports, f->n_ports, t->sport) &&
	    !synfin_list_has16(f->ports, f->n_ports, t->dport))
		return false;
	if ((f->match & SYNFIN_FILTER_TGID) && !synfin_list_has32(f->tgids, f->n_tgids, c->tgid))
		return false;
	if ((f->match & SYNFIN_FILTER_COMM) && strncmp(c->comm, f->comm, sizeof(c->comm)))
		return false;
	if ((f->match & (SYNFIN_FILTER_UID | SYNFIN_FILTER_CGROUP)) &&
	    !(c->numbers.have & SYNFIN_HAVE_SOCK))
		return false;
	if ((f->match & SYNFIN_FILTER_UID) && c->numbers.uid != f->uid)
		return false;
	if ((f->match & SYNFIN_FILTER_CGROUP) && c->numbers.cgroup_id != f->cgroup_id)
		return false;
	if (f->match & SYNFIN_FILTER_STATES) {
		for (unsigned int s = 0; s < SYNFIN_TCP_MAX_STATES; s++)
			if ((f->states & (1u << s)) && c->visited[s])
				return true;
		return false;
	}
	return true;
}

struct synfin_filter conn_event_filter(const struct synfin_filter *f, bool both_ends)
{
	struct synfin_filter e = *f;
	const uint16_t *ports = (f->match & SYNFIN_FILTER_RPORT) ? f->rports :
				(f->match & SYNFIN_FILTER_LPORT) ? f->lports : NULL;
	uint8_t nports = (f->match & SYNFIN_FILTER_RPORT) ? f->n_rports :
			 (f->match & SYNFIN_FILTER_LPORT) ? f->n_lports : 0;

	/* A client's first event has no local port yet; states pass by. The
	 * owner and uid change at accept() (a server's handshake records carry
	 * the listener's): judged per connection, or records of connections
	 * of interest would be dropped, and connections that never end here
	 * kept for good. */
	e.match &= ~(SYNFIN_FILTER_LPORT | SYNFIN_FILTER_STATES | SYNFIN_FILTER_TGID |
		     SYNFIN_FILTER_COMM | SYNFIN_FILTER_UID);
	memset(e.lports, 0, sizeof(e.lports));
	e.n_lports = 0;
	e.states = 0;
	memset(e.tgids, 0, sizeof(e.tgids));
	e.n_tgids = 0;
	memset(e.comm, 0, sizeof(e.comm));
	e.uid = 0;
	if (both_ends) {
		/* The other end of a connection has the ports swapped and its
		 * own cgroup: keep what both ends share, judge the rest here. */
		e.match &= ~(SYNFIN_FILTER_RPORT | SYNFIN_FILTER_CGROUP);
		memset(e.rports, 0, sizeof(e.rports));
		e.n_rports = 0;
		e.cgroup_id = 0;
		if (ports) {
			e.match |= SYNFIN_FILTER_PORT;
			memcpy(e.ports, ports, sizeof(e.ports));
			e.n_ports = nports;
		}
	}
	return e;
}
