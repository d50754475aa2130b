/* SPDX-License-Identifier: GPL-2.0 */
/* Connections rebuilt from the event stream, for life and ladder. */
#ifndef SYNFIN_CONN_H
#define SYNFIN_CONN_H

#include "viewer.h"

/* One step of a connection, as drawn by ladder. */
struct conn_step {
	uint64_t ts_ns;
	uint8_t kind;		/* SYNFIN_EV_* */
	uint8_t oldstate, newstate;
	uint8_t flags;		/* SYNFIN_F_* */
	uint8_t substate;	/* timewait events */
	uint32_t tw_timeout_ms;
};

enum conn_closer {
	CLOSER_UNKNOWN, CLOSER_ACTIVE, CLOSER_PASSIVE, CLOSER_SIMULTANEOUS,
	CLOSER_RESET, CLOSER_REFUSED,
};

struct conn {
	uint64_t cookie;
	struct synfin_event tuple;	/* latest event with both ports known */
	uint32_t tgid;
	char comm[16];
	uint64_t first_ts, state_ts, end_ts;
	uint8_t state;			/* current state (timewait: its substate) */
	bool partial;			/* opened before we started reading */
	bool active_open, passive_open;
	bool in_timewait;		/* handed to a timewait sock */
	bool closed;			/* the full socket reached CLOSE */
	bool visited[SYNFIN_TCP_MAX_STATES];
	uint64_t in_state[SYNFIN_TCP_MAX_STATES];	/* ns spent, done states */
	enum conn_closer closer;
	uint8_t tw_reason;		/* when ended by a timewait exit */
	/* The latest ABI v2 numbers the module gave, each group from the
	 * latest record that had it (.have: which are known). */
	struct synfin_event numbers;
	struct conn_step *steps;
	size_t nsteps, capsteps;
	struct conn *hnext;
	struct conn *tnext;		/* in the tuple index, when tindexed */
	bool tindexed;
	bool printed;			/* ladder: drawn (as a peer or itself) */
};

struct conn_table {
	struct conn **buckets;		/* by cookie */
	struct conn **tbuckets;		/* by complete tuple, for conn_peer() */
	size_t nbuckets, count;
	bool keep_steps;		/* ladder needs each step */
};

enum conn_update {
	CONN_NONE,	/* nothing to report */
	CONN_CLOSED,	/* the full socket closed (maybe into timewait) */
	CONN_GONE,	/* finished: closed, and out of timewait if it went there */
};

int conn_table_init(struct conn_table *t, bool keep_steps);
void conn_table_free(struct conn_table *t);
/* Feed one record; *out is the connection it touched (NULL for none). */
enum conn_update conn_feed(struct conn_table *t, const struct synfin_event *ev,
			   struct conn **out);
void conn_remove(struct conn_table *t, struct conn *c);
/* The other end of @c on this host (reversed tuple, same netns), or NULL. */
struct conn *conn_peer(struct conn_table *t, const struct conn *c);
/* Calls fn for every connection still in the table (end of input). */
void conn_each(struct conn_table *t, void (*fn)(struct conn *, void *), void *arg);

const char *conn_closer_name(enum conn_closer c);
/* Who closed first, from what a connection went through: CLOSING, FIN_WAIT1
 * (or timewait), CLOSE_WAIT, and the state it closed from. */
enum conn_closer conn_closer_of(bool closing, bool fin_wait1, bool close_wait, uint8_t old);
/* Does the connection pass the filters that are judged per connection? */
bool conn_matches(const struct conn *c, const struct synfin_filter *f);
/* The filter to push to the module for whole connections: without the
 * per-event parts (local port: a client's first event has none; states;
 * owner and uid, which change at accept()); with both_ends, also what
 * differs between a connection's two ends. */
struct synfin_filter conn_event_filter(const struct synfin_filter *f, bool both_ends);

#endif
