// SPDX-License-Identifier: GPL-2.0
/*
 * TIME_WAIT: entry and exit events, and exact live counts.
 *
 * A connection never passes through TIME_WAIT in tcp_set_state():
 * tcp_time_wait() builds an inet_timewait_sock (substate TIME_WAIT, or
 * FIN_WAIT2 for an orphan), hashes it in place of the full socket
 * (inet_twsk_hashdance), and the full socket goes to CLOSE. The timewait
 * sock leaves the hash in exactly one place, inet_twsk_kill(), called by
 * its timer or by inet_twsk_deschedule_put() for an early kill. So:
 *
 *   entry   kprobe inet_twsk_hashdance_schedule (6.12: timeout in its args) or
 *           inet_twsk_hashdance (older: its timer is armed by then)
 *   exit    kprobe inet_twsk_kill               (once per sock)
 *   reason  hints left on the way to the kill, keyed by the sock:
 *           tw_timer_handler -> expired; inet_twsk_deschedule_put -> from a
 *           segment hint (tcp_timewait_state_process: RST, SYN, other), a
 *           dead netns (purge), tcp_twsk_unique (reuse) or tcp_abort
 *           (SOCK_DESTROY). A kill with no hint in a dead netns is the
 *           purge (it inlines its deschedule); anything else is "unknown",
 *           never a guess.
 *   substate __inet_twsk_schedule(rearm): FIN_WAIT2 -> TIME_WAIT when a
 *           FIN reaches an orphan's timewait sock.
 *
 * Counts (per netns: total, by substate; per local port, remote port and
 * peer address) are kept by those same hooks, and read without walking the
 * socket hash; the busiest keys come from count groups in O(rows). Socks already in timewait at load are counted by one walk
 * of the established hash. All of it runs under one raw spinlock: timewait
 * entries and exits are far rarer than state changes.
 */
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/kprobes.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/tcp.h>
#include "synfin.h"

enum synfin_twkey_kind { SYNFIN_KEY_LPORT, SYNFIN_KEY_RPORT, SYNFIN_KEY_PEER };

struct synfin_twns {
	struct hlist_node node;
	struct synfin_tw_counts c;
	unsigned int refs;		/* tracked socks + keys pointing here */
	struct list_head groups[3];	/* by kind: synfin_twgroup, count ascending */
};

/*
 * The keys of one kind in one netns that have the same count. Counts move
 * by one, so a key only ever moves to a neighbouring group: O(1), and the
 * busiest N are read from the tail of the list in O(N), whatever the number
 * of sockets or keys (the LFU-cache structure).
 */
struct synfin_twgroup {
	struct list_head node;
	struct list_head keys;
	u32 count;
};

struct synfin_twkey {
	struct hlist_node node;
	struct list_head gnode;		/* in group->keys */
	struct synfin_twgroup *group;
	struct synfin_twns *ns;
	u32 count;
	u16 port;
	u8 kind, family;
	u8 addr[16];
};

struct synfin_twsock {
	struct hlist_node node;
	const struct inet_timewait_sock *tw;
	struct synfin_twns *ns;
	struct synfin_twkey *key[3];	/* by enum synfin_twkey_kind; NULL: overflow */
	u64 enter_ns;
	u64 cookie;
	u8 substate;
	u8 flags;			/* SYNFIN_F_TW_NO_ENTRY */
	u32 pid, tgid;
	char comm[TASK_COMM_LEN];
};

union synfin_twnode {
	struct synfin_twns ns;
	struct synfin_twgroup group;
	struct synfin_twkey key;
	struct synfin_twsock sock;
};

#define SYNFIN_TWSOCK_BITS	16
#define SYNFIN_TWKEY_BITS	14
#define SYNFIN_TWNS_BITS	6
#define SYNFIN_HINT_SLOTS	64

static DEFINE_RAW_SPINLOCK(synfin_tw_lock);
static struct hlist_head synfin_twsock_hash[1 << SYNFIN_TWSOCK_BITS];
static struct hlist_head synfin_twkey_hash[1 << SYNFIN_TWKEY_BITS];
static struct hlist_head synfin_twns_hash[1 << SYNFIN_TWNS_BITS];
static struct synfin_pool synfin_tw_pool;
static u64 synfin_tw_untracked;

/*
 * Spare group nodes: a decrement may need a new group and must not fail,
 * so it draws from here; tracking a sock tops it up from the pool.
 */
#define SYNFIN_SPARE_GROUPS	64
static struct synfin_twgroup *synfin_spare[SYNFIN_SPARE_GROUPS];
static unsigned int synfin_nspare;

/* Hints on the way to a kill, keyed by the timewait sock (under the lock). */
struct synfin_hint {
	const void *tw;
	u8 value;
	u8 substate;
};

enum { SYNFIN_SEG_RST = 1, SYNFIN_SEG_SYN = 2 };

static struct synfin_hint synfin_exit_hints[SYNFIN_HINT_SLOTS];
static struct synfin_hint synfin_seg_hints[SYNFIN_HINT_SLOTS];
static struct synfin_hint synfin_reuse_hints[SYNFIN_HINT_SLOTS];
static struct synfin_hint synfin_abort_hints[SYNFIN_HINT_SLOTS];

static struct synfin_hint *synfin_hint_slot(struct synfin_hint *tab, const void *tw)
{
	return &tab[hash_ptr(tw, ilog2(SYNFIN_HINT_SLOTS))];
}

/* Under the lock. */
static void synfin_hint_set(struct synfin_hint *tab, const void *tw, u8 value,
			    u8 substate)
{
	struct synfin_hint *h = synfin_hint_slot(tab, tw);

	h->tw = tw;
	h->value = value;
	h->substate = substate;
}

/* From a hook: take the lock, leave the hint. */
static void synfin_hint_leave(struct synfin_hint *tab, const void *tw, u8 value,
			      u8 substate)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	synfin_hint_set(tab, tw, value, substate);
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
}

/* The hint left for tw, consumed; NULL if none (or overwritten). */
static struct synfin_hint *synfin_hint_take(struct synfin_hint *tab,
					    const void *tw)
{
	struct synfin_hint *h = synfin_hint_slot(tab, tw);

	if (h->tw != tw)
		return NULL;
	h->tw = NULL;
	return h;
}

/* ------------------------------------------------------------- tables */

static struct synfin_twns *synfin_twns_get(u32 inum, bool create)
{
	struct hlist_head *head = &synfin_twns_hash[hash_32(inum, SYNFIN_TWNS_BITS)];
	struct synfin_twns *ns;

	hlist_for_each_entry(ns, head, node)
		if (ns->c.netns == inum)
			return ns;
	if (!create)
		return NULL;
	ns = synfin_pool_get(&synfin_tw_pool);
	if (!ns)
		return NULL;
	ns->c.netns = inum;
	INIT_LIST_HEAD(&ns->groups[0]);
	INIT_LIST_HEAD(&ns->groups[1]);
	INIT_LIST_HEAD(&ns->groups[2]);
	hlist_add_head(&ns->node, head);
	return ns;
}

static void synfin_twns_put(struct synfin_twns *ns)
{
	if (--ns->refs)
		return;
	hlist_del(&ns->node);
	synfin_pool_put(&synfin_tw_pool, ns);
}

static u32 synfin_twkey_hash_of(u32 netns, u8 kind, u16 port, const u8 *addr)
{
	u32 h = jhash_3words(netns, kind, port, 0);

	return addr ? jhash(addr, 16, h) : h;
}

/* The counter for (ns, kind, port/addr), created at zero if missing. */
static struct synfin_twkey *synfin_twkey_get(struct synfin_twns *ns, u8 kind,
					     u16 port, u8 family, const u8 *addr)
{
	u32 h = synfin_twkey_hash_of(ns->c.netns, kind, port,
				     kind == SYNFIN_KEY_PEER ? addr : NULL);
	struct hlist_head *head = &synfin_twkey_hash[hash_32(h, SYNFIN_TWKEY_BITS)];
	struct synfin_twkey *k;

	hlist_for_each_entry(k, head, node) {
		if (k->ns == ns && k->kind == kind && k->port == port &&
		    (kind != SYNFIN_KEY_PEER ||
		     (k->family == family && !memcmp(k->addr, addr, 16))))
			return k;
	}
	k = synfin_pool_get(&synfin_tw_pool);
	if (!k)
		return NULL;
	k->ns = ns;
	k->kind = kind;
	k->port = port;
	if (kind == SYNFIN_KEY_PEER) {
		k->family = family;
		memcpy(k->addr, addr, 16);
	}
	ns->refs++;
	hlist_add_head(&k->node, head);
	return k;
}

static struct synfin_twgroup *synfin_group_new(u32 count)
{
	struct synfin_twgroup *g = synfin_nspare ? synfin_spare[--synfin_nspare]
						 : synfin_pool_get(&synfin_tw_pool);

	if (g) {
		g->count = count;
		INIT_LIST_HEAD(&g->keys);
	}
	return g;
}

static void synfin_group_drop_if_empty(struct synfin_twgroup *g)
{
	if (!list_empty(&g->keys))
		return;
	list_del(&g->node);
	if (synfin_nspare < SYNFIN_SPARE_GROUPS)
		synfin_spare[synfin_nspare++] = g;
	else
		synfin_pool_put(&synfin_tw_pool, g);
}

static void synfin_spares_fill(void)
{
	while (synfin_nspare < SYNFIN_SPARE_GROUPS) {
		struct synfin_twgroup *g = synfin_pool_get(&synfin_tw_pool);

		if (!g)
			break;
		synfin_spare[synfin_nspare++] = g;
	}
}

static struct synfin_twgroup *synfin_group_at(struct list_head *list,
					      struct list_head *pos)
{
	return pos == list ? NULL : list_entry(pos, struct synfin_twgroup, node);
}

/* k->count + 1, into the next group up. False if no node for a new group. */
static bool synfin_twkey_inc(struct synfin_twkey *k)
{
	struct list_head *list = &k->ns->groups[k->kind];
	struct synfin_twgroup *g = k->group, *next;
	struct list_head *after = g ? &g->node : list;

	next = synfin_group_at(list, after->next);
	if (!next || next->count != k->count + 1) {
		next = synfin_group_new(k->count + 1);
		if (!next)
			return false;
		list_add(&next->node, after);
	}
	if (g)
		list_move(&k->gnode, &next->keys);
	else
		list_add(&k->gnode, &next->keys);
	k->group = next;
	k->count++;
	if (g)
		synfin_group_drop_if_empty(g);
	return true;
}

/* k->count - 1, into the next group down (none at 0). */
static void synfin_twkey_dec(struct synfin_twkey *k)
{
	struct list_head *list = &k->ns->groups[k->kind];
	struct synfin_twgroup *g = k->group, *prev;

	k->count--;
	if (!k->count) {
		list_del(&k->gnode);
		k->group = NULL;
		synfin_group_drop_if_empty(g);
		return;
	}
	prev = synfin_group_at(list, g->node.prev);
	if (!prev || prev->count != k->count) {
		if (list_is_singular(&g->keys)) {
			/* Alone in it: the group itself moves down; order holds. */
			g->count = k->count;
			return;
		}
		prev = synfin_group_new(k->count);
		if (!prev)
			return;	/* no spare at all: k stays one group too high */
		list_add_tail(&prev->node, &g->node);
	}
	list_move(&k->gnode, &prev->keys);
	k->group = prev;
	synfin_group_drop_if_empty(g);
}

/* A key no sock counts any more. */
static void synfin_twkey_drop(struct synfin_twkey *k)
{
	struct synfin_twns *ns = k->ns;

	hlist_del(&k->node);
	synfin_pool_put(&synfin_tw_pool, k);
	synfin_twns_put(ns);
}

static void synfin_twkey_put(struct synfin_twkey *k)
{
	synfin_twkey_dec(k);
	if (!k->count)
		synfin_twkey_drop(k);
}

static u32 *synfin_overflow_of(struct synfin_twns *ns, int kind)
{
	switch (kind) {
	case SYNFIN_KEY_LPORT:
		return &ns->c.lport_overflow;
	case SYNFIN_KEY_RPORT:
		return &ns->c.rport_overflow;
	default:
		return &ns->c.peer_overflow;
	}
}

static struct synfin_twsock *synfin_twsock_find(const void *tw)
{
	struct synfin_twsock *t;

	hlist_for_each_entry(t, &synfin_twsock_hash[hash_ptr(tw, SYNFIN_TWSOCK_BITS)], node)
		if (t->tw == tw)
			return t;
	return NULL;
}

static void synfin_substate_count(struct synfin_twns *ns, u8 substate, int d)
{
	if (substate == TCP_FIN_WAIT2)
		ns->c.fin_wait2 += d;
	else
		ns->c.time_wait += d;
}

/* Fill the tuple of a timewait sock into ev. */
static void synfin_tw_tuple(struct synfin_event *ev,
			    const struct inet_timewait_sock *tw)
{
	ev->family = tw->tw_family;
	ev->sport = tw->tw_num;
	ev->dport = ntohs(tw->tw_dport);
	ev->netns = twsk_net(tw)->ns.inum;
#if IS_ENABLED(CONFIG_IPV6)
	if (tw->tw_family == AF_INET6) {
		memcpy(ev->saddr, &tw->tw_v6_rcv_saddr, 16);
		memcpy(ev->daddr, &tw->tw_v6_daddr, 16);
		return;
	}
#endif
	memcpy(ev->saddr, &tw->tw_rcv_saddr, 4);
	memcpy(ev->daddr, &tw->tw_daddr, 4);
}

/*
 * Start counting tw. Under the lock. NULL (counted as untracked) when no
 * node is free: then it is not counted anywhere, and its exit is ignored.
 */
static struct synfin_twsock *synfin_track(const struct inet_timewait_sock *tw,
					  const struct synfin_event *ev)
{
	struct synfin_twsock *t;
	struct synfin_twns *ns;
	int kind;

	ns = synfin_twns_get(ev->netns, true);
	t = ns ? synfin_pool_get(&synfin_tw_pool) : NULL;
	if (!t) {
		if (ns && !ns->refs) {
			hlist_del(&ns->node);
			synfin_pool_put(&synfin_tw_pool, ns);
		}
		synfin_tw_untracked++;
		return NULL;
	}
	synfin_spares_fill();
	t->tw = tw;
	t->ns = ns;
	ns->refs++;
	t->substate = ev->tw_substate;
	t->cookie = ev->cookie;
	t->pid = ev->pid;
	t->tgid = ev->tgid;
	memcpy(t->comm, ev->comm, sizeof(t->comm));
	t->key[SYNFIN_KEY_LPORT] = synfin_twkey_get(ns, SYNFIN_KEY_LPORT, ev->sport, 0, NULL);
	t->key[SYNFIN_KEY_RPORT] = synfin_twkey_get(ns, SYNFIN_KEY_RPORT, ev->dport, 0, NULL);
	t->key[SYNFIN_KEY_PEER] = synfin_twkey_get(ns, SYNFIN_KEY_PEER, 0, ev->family, ev->daddr);
	for (kind = 0; kind < 3; kind++) {
		struct synfin_twkey *k = t->key[kind];

		if (k && !synfin_twkey_inc(k)) {
			if (!k->count)
				synfin_twkey_drop(k);
			k = t->key[kind] = NULL;
		}
		if (!k)
			(*synfin_overflow_of(ns, kind))++;
	}
	ns->c.total++;
	synfin_substate_count(ns, t->substate, 1);
	hlist_add_head(&t->node, &synfin_twsock_hash[hash_ptr(tw, SYNFIN_TWSOCK_BITS)]);
	return t;
}

/* Stop counting t; returns its netns's total after. Under the lock. */
static u32 synfin_untrack(struct synfin_twsock *t)
{
	struct synfin_twns *ns = t->ns;
	u32 total;
	int kind;

	hlist_del(&t->node);
	for (kind = 0; kind < 3; kind++) {
		if (t->key[kind])
			synfin_twkey_put(t->key[kind]);
		else
			(*synfin_overflow_of(ns, kind))--;
	}
	ns->c.total--;
	synfin_substate_count(ns, t->substate, -1);
	total = ns->c.total;
	synfin_pool_put(&synfin_tw_pool, t);
	synfin_twns_put(ns);
	return total;
}

/* -------------------------------------------------------------- hooks */

static void synfin_tw_event_init(struct synfin_event *ev, u8 kind,
				 const struct inet_timewait_sock *tw)
{
	memset(ev, 0, sizeof(*ev));
	ev->abi = SYNFIN_ABI_VERSION;
	ev->kind = kind;
	if (!synfin_in_task())
		ev->flags |= SYNFIN_F_SOFTIRQ;
	synfin_tw_tuple(ev, tw);
}

static void synfin_twsock_owner(struct synfin_event *ev,
				const struct synfin_twsock *t)
{
	ev->pid = t->pid;
	ev->tgid = t->tgid;
	memcpy(ev->comm, t->comm, sizeof(ev->comm));
}

/* Which entry point this kernel has: see compat.h. */
static bool synfin_tw_enter_with_timeo;

/* inet_twsk_hashdance[_schedule](tw, sk, hashinfo[, timeo]): tw takes over. */
static int synfin_kp_hashdance(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	const struct sock *sk = (const void *)regs_get_kernel_argument(regs, 1);
	struct synfin_event ev;
	struct synfin_twsock *t;
	unsigned long flags;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;	/* DCCP uses the same function */
	synfin_tw_event_init(&ev, SYNFIN_EV_TW_ENTER, tw);
	ev.oldstate = sk->sk_state;
	ev.newstate = TCP_TIME_WAIT;
	ev.tw_substate = tw->tw_substate;
	ev.tw_timeout_ms = synfin_tw_enter_with_timeo ?
		jiffies_to_msecs(regs_get_kernel_argument(regs, 3)) :
		synfin_tw_timeout_from_timer(tw);
	/* The tw shares the socket's cookie field: same connection, same id. */
	ev.cookie = synfin_sock_cookie((const struct sock *)tw);
	synfin_owner_get(ev.cookie, &ev);
	synfin_record_note_handoff(sk);

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	t = synfin_twsock_find(tw);	/* never, unless the walk saw it first */
	if (!t) {
		t = synfin_track(tw, &ev);
		if (t) {
			ev.ts_ns = ktime_get_ns();
			t->enter_ns = ev.ts_ns;
			ev.tw_count = t->ns->c.total;
			/* In the lock: the counts in the ring follow time order. */
			synfin_record_commit(&ev, synfin_net_id(twsk_net(tw)));
		}
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

/* inet_twsk_kill(tw): the one way out of the hash. */
static int synfin_kp_kill(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	struct synfin_hint *hint;
	struct synfin_event ev;
	struct synfin_twsock *t;
	unsigned long flags;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	t = synfin_twsock_find(tw);
	if (t) {
		synfin_tw_event_init(&ev, SYNFIN_EV_TW_EXIT, tw);
		hint = synfin_hint_take(synfin_exit_hints, tw);
		if (hint)
			ev.tw_reason = hint->value;
		else if (!check_net(twsk_net(tw)))
			/* inet_twsk_purge() inlines its deschedule: no hint. */
			ev.tw_reason = SYNFIN_TW_NETNS;
		else
			ev.tw_reason = SYNFIN_TW_UNKNOWN;
		ev.oldstate = TCP_TIME_WAIT;
		ev.newstate = TCP_CLOSE;
		ev.tw_substate = t->substate;
		ev.cookie = t->cookie;
		ev.flags |= t->flags;
		synfin_twsock_owner(&ev, t);
		ev.ts_ns = ktime_get_ns();
		if (!(t->flags & SYNFIN_F_TW_NO_ENTRY))
			ev.tw_duration_ns = ev.ts_ns - t->enter_ns;
		ev.tw_count = synfin_untrack(t);
		synfin_record_commit(&ev, synfin_net_id(twsk_net(tw)));
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

/* tw_timer_handler(timer): the kill that follows is an expiry. */
static int synfin_kp_timer(struct kprobe *p, struct pt_regs *regs)
{
	struct timer_list *timer = (void *)regs_get_kernel_argument(regs, 0);
	const struct inet_timewait_sock *tw =
		container_of(timer, struct inet_timewait_sock, tw_timer);

	synfin_hint_leave(synfin_exit_hints, tw, SYNFIN_TW_EXPIRED, 0);
	return 0;
}

/* inet_twsk_deschedule_put(tw): an early kill; work out who asked. */
static int synfin_kp_deschedule(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	struct synfin_hint *seg;
	unsigned long flags;
	u8 reason;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	seg = synfin_hint_take(synfin_seg_hints, tw);
	if (seg && in_serving_softirq()) {
		/* tcp_timewait_state_process() just judged a segment for it. */
		if (seg->value & SYNFIN_SEG_RST)
			reason = SYNFIN_TW_RST;
		else if ((seg->value & SYNFIN_SEG_SYN) && seg->substate == TCP_TIME_WAIT)
			reason = SYNFIN_TW_RECYCLED;
		else
			reason = SYNFIN_TW_SEGMENT;
	} else if (!check_net(twsk_net(tw))) {
		reason = SYNFIN_TW_NETNS;
	} else if (synfin_hint_take(synfin_reuse_hints, tw)) {
		reason = SYNFIN_TW_REUSED;
	} else if (synfin_hint_take(synfin_abort_hints, tw)) {
		reason = SYNFIN_TW_DESTROYED;
	} else {
		reason = SYNFIN_TW_UNKNOWN;
	}
	synfin_hint_set(synfin_exit_hints, tw, reason, 0);
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

/* tcp_timewait_state_process(tw, skb, th): a segment reached tw. */
static int synfin_kp_segment(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	const struct tcphdr *th = (void *)regs_get_kernel_argument(regs, 2);
	u8 seg = (th->rst ? SYNFIN_SEG_RST : 0) | (th->syn ? SYNFIN_SEG_SYN : 0);

	synfin_hint_leave(synfin_seg_hints, tw, seg, tw->tw_substate);
	return 0;
}

/* tcp_twsk_unique(sk, sktw, twp): connect() considers reusing sktw. */
static int synfin_kp_unique(struct kprobe *p, struct pt_regs *regs)
{
	const void *tw = (void *)regs_get_kernel_argument(regs, 1);

	synfin_hint_leave(synfin_reuse_hints, tw, 1, 0);
	return 0;
}

/* tcp_abort(sk, err): SOCK_DESTROY, e.g. `ss -K`. */
static int synfin_kp_abort(struct kprobe *p, struct pt_regs *regs)
{
	const struct sock *sk = (void *)regs_get_kernel_argument(regs, 0);

	if (READ_ONCE(sk->sk_state) == TCP_TIME_WAIT)
		synfin_hint_leave(synfin_abort_hints, sk, 1, 0);
	return 0;
}

/* __inet_twsk_schedule(tw, timeo, rearm): a FIN may have moved the substate. */
static int synfin_kp_reschedule(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	bool rearm = regs_get_kernel_argument(regs, 2);
	struct synfin_event ev;
	struct synfin_twsock *t;
	unsigned long flags;

	if (!rearm)
		return 0;
	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	t = synfin_twsock_find(tw);
	if (t && t->substate != tw->tw_substate) {
		synfin_substate_count(t->ns, t->substate, -1);
		synfin_substate_count(t->ns, tw->tw_substate, 1);
		synfin_tw_event_init(&ev, SYNFIN_EV_STATE, tw);
		ev.flags |= SYNFIN_F_TIMEWAIT;
		ev.oldstate = t->substate;
		ev.newstate = tw->tw_substate;
		ev.tw_substate = tw->tw_substate;
		ev.cookie = t->cookie;
		ev.tw_count = t->ns->c.total;
		synfin_twsock_owner(&ev, t);
		t->substate = tw->tw_substate;
		synfin_record_commit(&ev, synfin_net_id(twsk_net(tw)));
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

static struct kprobe synfin_tw_enter_kprobe = {
	.pre_handler = synfin_kp_hashdance, .post_handler = synfin_kp_unoptimized,
};

#define SYNFIN_TW_KPROBE(sym, fn) \
	{ .symbol_name = sym, .pre_handler = fn, .post_handler = synfin_kp_unoptimized }

static struct kprobe synfin_tw_kprobes[] = {
	SYNFIN_TW_KPROBE("inet_twsk_kill", synfin_kp_kill),
	SYNFIN_TW_KPROBE("tw_timer_handler", synfin_kp_timer),
	SYNFIN_TW_KPROBE("inet_twsk_deschedule_put", synfin_kp_deschedule),
	SYNFIN_TW_KPROBE("tcp_timewait_state_process", synfin_kp_segment),
	SYNFIN_TW_KPROBE("tcp_twsk_unique", synfin_kp_unique),
	SYNFIN_TW_KPROBE("tcp_abort", synfin_kp_abort),
	SYNFIN_TW_KPROBE("__inet_twsk_schedule", synfin_kp_reschedule),
};

/* Hits skipped by the kprobe core (one probe nested in another's handler). */
u64 synfin_timewait_missed(void)
{
	u64 n = synfin_tw_enter_kprobe.nmissed;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(synfin_tw_kprobes); i++)
		n += synfin_tw_kprobes[i].nmissed;
	return n;
}

static struct kprobe *synfin_tw_kprobe_ptrs[ARRAY_SIZE(synfin_tw_kprobes)];

/* --------------------------------------------------- load-time walk */

/*
 * Count what was in timewait before the hooks. Run after they are armed:
 * synchronize_rcu() waits out every tcp_time_wait() that started before
 * (they run with BH off), so each sock is either hashed now or was seen by
 * the entry hook. A sock whose timer is no longer pending is on its way to
 * inet_twsk_kill(): skip it, or its exit could come before we count it.
 */
int synfin_timewait_count_existing(void)
{
	struct inet_hashinfo *hinfo = synfin_tcp_hashinfo();
	unsigned int i, added = 0;

	synchronize_rcu();
	for (i = 0; i <= hinfo->ehash_mask; i++) {
		struct inet_ehash_bucket *head = &hinfo->ehash[i];
		spinlock_t *lock = inet_ehash_lockp(hinfo, i);
		struct hlist_nulls_node *node;
		struct sock *sk;

		if (hlist_nulls_empty(&head->chain))
			continue;
		/* Nodes for a full bucket, taken in process context. */
		while (READ_ONCE(synfin_tw_pool.free) < 256 &&
		       !synfin_pool_grow(&synfin_tw_pool))
			;
		spin_lock_bh(lock);
		sk_nulls_for_each(sk, node, &head->chain) {
			struct inet_timewait_sock *tw;
			struct synfin_event ev;
			struct synfin_twsock *t;
			unsigned long flags;

			/* tcp_hashinfo holds TCP only; and a timewait sock has
			 * no sk_protocol (it ends with struct sock_common). */
			if (sk->sk_state != TCP_TIME_WAIT)
				continue;
			tw = inet_twsk(sk);
			synfin_tw_event_init(&ev, SYNFIN_EV_TW_ENTER, tw);
			ev.tw_substate = tw->tw_substate;
			ev.cookie = synfin_sock_cookie(sk);
			raw_spin_lock_irqsave(&synfin_tw_lock, flags);
			if (!synfin_twsock_find(tw) && timer_pending(&tw->tw_timer)) {
				t = synfin_track(tw, &ev);
				if (t) {
					t->flags = SYNFIN_F_TW_NO_ENTRY;
					added++;
				}
			}
			raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
		}
		spin_unlock_bh(lock);
		cond_resched();
	}
	if (added)
		pr_info("counted %u timewait sockets present at load\n", added);
	return 0;
}

/* ------------------------------------------------------------- reads */

static void synfin_key_row(struct synfin_tw_key *row, const struct synfin_twkey *k)
{
	memset(row, 0, sizeof(*row));
	row->count = k->count;
	row->port = k->port;
	row->family = k->family;
	memcpy(row->addr, k->addr, 16);
}

#define SYNFIN_TW_MAX_KEYS	4096

/*
 * Counts and busiest keys of one netns into kernel arrays rows[kind][max]:
 * O(max), read from the top of the count groups; the socket hash is not
 * touched.
 */
static void synfin_timewait_collect(u32 netns, struct synfin_tw_counts *c,
				    struct synfin_tw_key *rows[3], u32 n[3],
				    u32 max)
{
	struct synfin_twgroup *g;
	struct synfin_twkey *k;
	struct synfin_twns *ns;
	unsigned long flags;
	int kind;

	n[0] = n[1] = n[2] = 0;
	memset(c, 0, sizeof(*c));
	c->netns = netns;
	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	ns = synfin_twns_get(netns, false);
	if (ns)
		*c = ns->c;
	for (kind = 0; ns && kind < 3; kind++) {
		list_for_each_entry_reverse(g, &ns->groups[kind], node) {
			list_for_each_entry(k, &g->keys, gnode) {
				if (n[kind] == max)
					goto next_kind;
				synfin_key_row(&rows[kind][n[kind]++], k);
			}
		}
next_kind:;
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
}

static void synfin_rows_free(struct synfin_tw_key *rows[3])
{
	kvfree(rows[0]);	/* one allocation for the three */
}

static int synfin_rows_alloc(struct synfin_tw_key *rows[3], u32 max)
{
	rows[0] = kvcalloc(3 * (size_t)max(max, 1U), sizeof(**rows), GFP_KERNEL);
	if (!rows[0])
		return -ENOMEM;
	rows[1] = rows[0] + max;
	rows[2] = rows[1] + max;
	return 0;
}

/* SYNFIN_IOC_TW_QUERY */
int synfin_timewait_query(struct synfin_tw_query *q, u32 caller_netns)
{
	u32 max = min_t(u32, q->max_keys, SYNFIN_TW_MAX_KEYS), n[3];
	u64 uptr[3] = { q->lports, q->rports, q->peers };
	struct synfin_tw_key *rows[3];
	int kind, err;

	if (!q->netns)
		q->netns = caller_netns;
	err = synfin_rows_alloc(rows, max);
	if (err)
		return err;
	synfin_timewait_collect(q->netns, &q->counts, rows, n, max);
	for (kind = 0; kind < 3; kind++) {
		if (n[kind] && copy_to_user(u64_to_user_ptr(uptr[kind]), rows[kind],
					    n[kind] * sizeof(*rows[kind]))) {
			err = -EFAULT;
			break;
		}
	}
	q->n_lports = n[SYNFIN_KEY_LPORT];
	q->n_rports = n[SYNFIN_KEY_RPORT];
	q->n_peers = n[SYNFIN_KEY_PEER];
	synfin_rows_free(rows);
	return err;
}

/* SYNFIN_IOC_TW_NETNS: the counts of every netns that has timewait socks
 * (only @only, unless 0). */
int synfin_timewait_netns(struct synfin_tw_netns_list *l, u32 only)
{
	u32 max = min_t(u32, l->max, 65536), n = 0, b;
	struct synfin_tw_counts *rows;
	unsigned long flags;
	int err = 0;

	rows = kvcalloc(max(max, 1U), sizeof(*rows), GFP_KERNEL);
	if (!rows)
		return -ENOMEM;
	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	for (b = 0; b < ARRAY_SIZE(synfin_twns_hash); b++) {
		struct synfin_twns *ns;

		hlist_for_each_entry(ns, &synfin_twns_hash[b], node)
			if (ns->c.total && n < max && (!only || ns->c.netns == only))
				rows[n++] = ns->c;
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	if (n && copy_to_user(u64_to_user_ptr(l->counts), rows, n * sizeof(*rows)))
		err = -EFAULT;
	l->n = n;
	kvfree(rows);
	return err;
}

u64 synfin_timewait_untracked(void)
{
	return READ_ONCE(synfin_tw_untracked);
}

void synfin_timewait_health(struct synfin_health *h)
{
}

/* /proc/net/synfin_tw: the reading netns's counts, for people to `cat`. */
#define SYNFIN_PROC_TOP	10

static int synfin_tw_proc_show(struct seq_file *m, void *v)
{
	static const char *const names[3] = { "lport", "rport", "peer" };
	struct synfin_tw_key *rows[3];
	struct synfin_tw_counts c;
	u32 n[3], kind, i;

	if (synfin_rows_alloc(rows, SYNFIN_PROC_TOP))
		return -ENOMEM;
	synfin_timewait_collect(seq_file_single_net(m)->ns.inum, &c, rows, n,
				SYNFIN_PROC_TOP);
	seq_printf(m, "netns %u\ntotal %u\ntime_wait %u\nfin_wait2 %u\n",
		   c.netns, c.total, c.time_wait, c.fin_wait2);
	seq_printf(m, "overflow lport %u rport %u peer %u\n", c.lport_overflow,
		   c.rport_overflow, c.peer_overflow);
	for (kind = 0; kind < 3; kind++) {
		for (i = 0; i < n[kind]; i++) {
			const struct synfin_tw_key *r = &rows[kind][i];

			if (kind != SYNFIN_KEY_PEER)
				seq_printf(m, "%s %u %u\n", names[kind], r->port, r->count);
			else if (r->family == AF_INET6)
				seq_printf(m, "peer %pI6c %u\n", r->addr, r->count);
			else
				seq_printf(m, "peer %pI4 %u\n", r->addr, r->count);
		}
	}
	synfin_rows_free(rows);
	return 0;
}

static int __net_init synfin_tw_net_init(struct net *net)
{
	if (!proc_create_net_single("synfin_tw", 0444, net->proc_net,
				    synfin_tw_proc_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit synfin_tw_net_exit(struct net *net)
{
	remove_proc_entry("synfin_tw", net->proc_net);
}

static struct pernet_operations synfin_tw_net_ops = {
	.init = synfin_tw_net_init,
	.exit = synfin_tw_net_exit,
};

/* ------------------------------------------------------ init / exit */

int synfin_timewait_init(unsigned int max)
{
	unsigned int i;
	int err;

	/* A sock, up to three keys, as many count groups, and its netns. */
	err = synfin_pool_init(&synfin_tw_pool, sizeof(union synfin_twnode),
			       8192, 7 * max);
	if (err)
		return err;
	err = register_pernet_subsys(&synfin_tw_net_ops);
	if (err)
		goto free_pool;
	for (i = 0; i < ARRAY_SIZE(synfin_tw_kprobes); i++)
		synfin_tw_kprobe_ptrs[i] = &synfin_tw_kprobes[i];
	err = register_kprobes(synfin_tw_kprobe_ptrs, ARRAY_SIZE(synfin_tw_kprobe_ptrs));
	if (err) {
		pr_err("cannot kprobe the timewait paths: %d\n", err);
		goto unregister_net;
	}
	/* Armed last: an entry must never be seen without its exit hook. */
	synfin_tw_enter_kprobe.symbol_name = SYNFIN_TW_HASHDANCE_SCHEDULE;
	synfin_tw_enter_with_timeo = true;
	err = register_kprobe(&synfin_tw_enter_kprobe);
	if (err == -ENOENT || err == -EINVAL) {
		memset(&synfin_tw_enter_kprobe, 0, sizeof(synfin_tw_enter_kprobe));
		synfin_tw_enter_kprobe.pre_handler = synfin_kp_hashdance;
		synfin_tw_enter_kprobe.post_handler = synfin_kp_unoptimized;
		synfin_tw_enter_kprobe.symbol_name = SYNFIN_TW_HASHDANCE;
		synfin_tw_enter_with_timeo = false;
		err = register_kprobe(&synfin_tw_enter_kprobe);
	}
	if (err) {
		pr_err("cannot kprobe %s or %s (timewait entry): %d\n",
		       SYNFIN_TW_HASHDANCE_SCHEDULE, SYNFIN_TW_HASHDANCE, err);
		goto unregister_kprobes;
	}
	return 0;

unregister_kprobes:
	unregister_kprobes(synfin_tw_kprobe_ptrs, ARRAY_SIZE(synfin_tw_kprobe_ptrs));
unregister_net:
	unregister_pernet_subsys(&synfin_tw_net_ops);
free_pool:
	synfin_pool_destroy(&synfin_tw_pool);
	return err;
}

void synfin_timewait_exit(void)
{
	unsigned int i;

	/* Entry first, so no sock is counted without its exit hook; both wait
	 * until no handler runs any more. */
	unregister_kprobe(&synfin_tw_enter_kprobe);
	unregister_kprobes(synfin_tw_kprobe_ptrs, ARRAY_SIZE(synfin_tw_kprobe_ptrs));
	unregister_pernet_subsys(&synfin_tw_net_ops);
	for (i = 0; i < ARRAY_SIZE(synfin_twsock_hash); i++)
		INIT_HLIST_HEAD(&synfin_twsock_hash[i]);
	for (i = 0; i < ARRAY_SIZE(synfin_twkey_hash); i++)
		INIT_HLIST_HEAD(&synfin_twkey_hash[i]);
	for (i = 0; i < ARRAY_SIZE(synfin_twns_hash); i++)
		INIT_HLIST_HEAD(&synfin_twns_hash[i]);
	synfin_tw_untracked = 0;
	synfin_nspare = 0;	/* pool memory: freed with it */
	synfin_pool_destroy(&synfin_tw_pool);
}
