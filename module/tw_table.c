// SPDX-License-Identifier: GPL-2.0
/*
 * TIME_WAIT counts (per netns: total, by substate; per local port, remote
 * port and peer address), kept by the hooks (tw_hooks.c) and read without
 * walking the socket hash; the busiest keys come from count groups in
 * O(rows). All of it runs under one raw spinlock: timewait entries and
 * exits are far rarer than state changes.
 */
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/ktime.h>
#include <linux/string.h>
#include <net/inet_timewait_sock.h>
#include <net/tcp_states.h>
#include "timewait.h"

union synfin_twnode {
	struct synfin_twns ns;
	struct synfin_twgroup group;
	struct synfin_twkey key;
	struct synfin_twsock sock;
};

#define SYNFIN_TWKEY_BITS	14

DEFINE_RAW_SPINLOCK(synfin_tw_lock);
static struct hlist_head synfin_twsock_hash[1 << SYNFIN_TWSOCK_BITS];
static struct hlist_head synfin_twkey_hash[1 << SYNFIN_TWKEY_BITS];
struct hlist_head synfin_twns_hash[1 << SYNFIN_TWNS_BITS];
struct synfin_pool synfin_tw_pool;
u64 synfin_tw_untracked;

/*
 * Spare group nodes: a decrement may need a new group and must not fail,
 * so it draws from here; tracking a sock tops it up from the pool.
 */
#define SYNFIN_SPARE_GROUPS	64
static struct synfin_twgroup *synfin_spare[SYNFIN_SPARE_GROUPS];
static unsigned int synfin_nspare;

struct synfin_twns *synfin_twns_get(u64 net_id, u32 inum, bool create)
{
	struct hlist_head *head = &synfin_twns_hash[hash_64(net_id, SYNFIN_TWNS_BITS)];
	struct synfin_twns *ns;

	hlist_for_each_entry(ns, head, node)
		if (ns->net_id == net_id)
			return ns;
	if (!create)
		return NULL;
	ns = synfin_pool_get(&synfin_tw_pool);
	if (!ns)
		return NULL;
	ns->net_id = net_id;
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

struct synfin_twsock *synfin_twsock_find(const void *tw)
{
	struct synfin_twsock *t;

	hlist_for_each_entry(t, &synfin_twsock_hash[hash_ptr(tw, SYNFIN_TWSOCK_BITS)], node)
		if (t->tw == tw)
			return t;
	return NULL;
}

void synfin_substate_count(struct synfin_twns *ns, u8 substate, int d)
{
	if (substate == TCP_FIN_WAIT2)
		ns->c.fin_wait2 += d;
	else
		ns->c.time_wait += d;
}

/*
 * Start counting tw. Under the lock. NULL (counted as untracked) when no
 * node is free: then it is not counted anywhere, and its exit is ignored.
 */
struct synfin_twsock *synfin_track(const struct inet_timewait_sock *tw,
				   const struct synfin_event *ev, u64 net_id)
{
	struct synfin_twsock *t;
	struct synfin_twns *ns;
	int kind;

	ns = synfin_twns_get(net_id, ev->netns, true);
	if (ns && !ns->refs)
		ns->walkable = !synfin_net_own_hash(twsk_net(tw));
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
	t->tracked_ns = ktime_get_ns();
	ns->refs++;
	t->substate = ev->tw_substate;
	t->cookie = ev->cookie;
	t->pid = ev->pid;
	t->tgid = ev->tgid;
	memcpy(t->comm, ev->comm, sizeof(t->comm));
	t->have_sock = !!(ev->have & SYNFIN_HAVE_SOCK);
	t->uid = ev->uid;
	t->cgroup_id = ev->cgroup_id;
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
u32 synfin_untrack(struct synfin_twsock *t)
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

/*
 * Stop counting the socks tracked before @before_ns that the last walk of
 * the hash did not find (seen_gen != @gen): their exit was missed. From
 * *@bucket on, at most @budget buckets per call, so interrupts are never
 * off for long; *@bucket says where the next call goes on (past the end:
 * done). Returns how many it dropped.
 */
unsigned int synfin_tw_sweep(unsigned int gen, u64 before_ns,
			     unsigned int *bucket, unsigned int budget)
{
	unsigned int end = min_t(unsigned int, *bucket + budget,
				 ARRAY_SIZE(synfin_twsock_hash));
	unsigned int dropped = 0;
	unsigned long flags;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	for (; *bucket < end; (*bucket)++) {
		struct synfin_twsock *t;
		struct hlist_node *tmp;

		hlist_for_each_entry_safe(t, tmp, &synfin_twsock_hash[*bucket], node) {
			if (t->seen_gen == gen || t->tracked_ns >= before_ns ||
			    !t->ns->walkable)
				continue;
			synfin_untrack(t);
			dropped++;
		}
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return dropped;
}

int synfin_tw_table_init(unsigned int max)
{
	/* A sock, up to three keys, as many count groups, and its netns. */
	return synfin_pool_init(&synfin_tw_pool, sizeof(union synfin_twnode),
				8192, 7 * max);
}

/* With no hook left: every node goes with the pool. */
void synfin_tw_table_exit(void)
{
	unsigned int i;

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
