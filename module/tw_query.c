// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the counts (tw_table.c) for the ioctls, and for /proc/net/synfin_tw
 * (tw_proc.c) through synfin_timewait_collect().
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <net/net_namespace.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "timewait.h"

static void synfin_key_row(struct synfin_tw_key *row, const struct synfin_twkey *k)
{
	memset(row, 0, sizeof(*row));
	row->count = k->count;
	row->port = k->port;
	row->family = k->family;
	memcpy(row->addr, k->addr, 16);
}

#define SYNFIN_TW_MAX_KEYS	4096
/* Rows copied per hold of synfin_tw_lock (interrupts off meanwhile). */
#define SYNFIN_TW_ROWS_PER_HOLD	128

/*
 * Where a top list left off between two holds of the lock: the count level
 * of the last row, and that row's key. The key is only compared, never
 * read, once the lock was dropped.
 */
struct synfin_top_pos {
	u32 level;
	const struct synfin_twkey *last;
	u32 at_level;			/* rows given at this level so far */
};

/*
 * Up to @budget more rows of one kind's top list, busiest first, from where
 * @pos left off. Under the lock. Counts move while the lock is dropped: a
 * key that changed level in between may be missed or given twice, as any
 * reader of a moving table would see it; each hold is bounded, whatever
 * the number of keys. Returns false when the list is done.
 */
static bool synfin_top_rows(struct synfin_twns *ns, int kind,
			    struct synfin_top_pos *pos, struct synfin_tw_key *rows,
			    u32 *n, u32 max, u32 budget)
{
	struct synfin_twgroup *g;
	struct synfin_twkey *k;

	list_for_each_entry_reverse(g, &ns->groups[kind], node) {
		bool resume = pos->last && g->count == pos->level;
		u32 skip = resume ? pos->at_level : 0;

		if (pos->last && g->count > pos->level)
			continue;
		if (resume) {
			/* After the last key given, if it is still here. */
			list_for_each_entry(k, &g->keys, gnode) {
				if (k == pos->last) {
					skip = 0;
					k = list_next_entry(k, gnode);
					goto rows;
				}
			}
		}
		k = list_first_entry(&g->keys, struct synfin_twkey, gnode);
rows:
		for (; !list_entry_is_head(k, &g->keys, gnode);
		     k = list_next_entry(k, gnode)) {
			if (skip) {
				skip--;
				continue;
			}
			if (*n == max)
				return false;
			if (!budget--)
				return true;
			synfin_key_row(&rows[(*n)++], k);
			if (pos->last && pos->level == g->count) {
				pos->at_level++;
			} else {
				pos->level = g->count;
				pos->at_level = 1;
			}
			pos->last = k;
		}
	}
	return false;
}

/*
 * Counts and busiest keys of one netns into kernel arrays rows[kind][max]:
 * O(max), read from the top of the count groups, SYNFIN_TW_ROWS_PER_HOLD
 * rows per hold of the lock; the socket hash is not touched.
 */
void synfin_timewait_collect(u64 net_id, u32 inum, struct synfin_tw_counts *c,
			     struct synfin_tw_key *rows[3], u32 n[3], u32 max)
{
	struct synfin_twns *ns;
	unsigned long flags;
	int kind;

	n[0] = n[1] = n[2] = 0;
	memset(c, 0, sizeof(*c));
	c->netns = inum;
	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	ns = synfin_twns_get(net_id, inum, false);
	if (ns)
		*c = ns->c;
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	for (kind = 0; ns && kind < 3; kind++) {
		struct synfin_top_pos pos = {};
		bool more = true;

		while (more) {
			raw_spin_lock_irqsave(&synfin_tw_lock, flags);
			/* The netns may have lost its last sock meanwhile. */
			ns = synfin_twns_get(net_id, inum, false);
			more = ns && synfin_top_rows(ns, kind, &pos, rows[kind], &n[kind],
						     max, SYNFIN_TW_ROWS_PER_HOLD);
			raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
		}
		if (!ns)
			break;
	}
	synfin_tw_reconcile_kick();
}

void synfin_rows_free(struct synfin_tw_key *rows[3])
{
	kvfree(rows[0]);	/* one allocation for the three */
}

int synfin_rows_alloc(struct synfin_tw_key *rows[3], u32 max)
{
	rows[0] = kvcalloc(3 * (size_t)max(max, 1U), sizeof(**rows), GFP_KERNEL);
	if (!rows[0])
		return -ENOMEM;
	rows[1] = rows[0] + max;
	rows[2] = rows[1] + max;
	return 0;
}

/* The live netns with this inode number, by its identity; 0 if none. */
static u64 synfin_net_id_of_inum(u32 inum)
{
	struct net *net;
	u64 id = 0;

	rcu_read_lock();
	for_each_net_rcu(net) {
		if (net->ns.inum == inum) {
			id = synfin_net_id(net);
			break;
		}
	}
	rcu_read_unlock();
	return id;
}

/* SYNFIN_IOC_TW_QUERY; netns 0 is @own, the file's netns. */
int synfin_timewait_query(struct synfin_tw_query *q, const struct net *own)
{
	u32 max = min_t(u32, q->max_keys, SYNFIN_TW_MAX_KEYS), n[3];
	u64 uptr[3] = { q->lports, q->rports, q->peers };
	struct synfin_tw_key *rows[3];
	int kind, err;
	u64 net_id;

	if (!q->netns || q->netns == own->ns.inum) {
		q->netns = own->ns.inum;
		net_id = synfin_net_id(own);
	} else {
		net_id = synfin_net_id_of_inum(q->netns);
	}
	err = synfin_rows_alloc(rows, max);
	if (err)
		return err;
	synfin_timewait_collect(net_id, q->netns, &q->counts, rows, n, max);
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
 * (only the one whose synfin_net_id() is @only, unless 0). */
int synfin_timewait_netns(struct synfin_tw_netns_list *l, u64 only)
{
	u32 max = min_t(u32, l->max, 65536), n = 0, b;
	struct synfin_tw_counts *rows;
	unsigned long flags;
	int err = 0;

	rows = kvcalloc(max(max, 1U), sizeof(*rows), GFP_KERNEL);
	if (!rows)
		return -ENOMEM;
	/* One hash bucket per hold of the lock. */
	for (b = 0; b < ARRAY_SIZE(synfin_twns_hash); b++) {
		struct synfin_twns *ns;

		raw_spin_lock_irqsave(&synfin_tw_lock, flags);
		hlist_for_each_entry(ns, &synfin_twns_hash[b], node)
			if (ns->c.total && n < max && (!only || ns->net_id == only))
				rows[n++] = ns->c;
		raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	}
	synfin_tw_reconcile_kick();
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
