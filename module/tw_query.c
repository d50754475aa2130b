// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the counts (tw_table.c) for the ioctls, and for /proc/net/synfin_tw
 * (tw_proc.c) through synfin_timewait_collect().
 */
#include <linux/kernel.h>
#include <linux/mm.h>
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

/*
 * Counts and busiest keys of one netns into kernel arrays rows[kind][max]:
 * O(max), read from the top of the count groups; the socket hash is not
 * touched.
 */
void synfin_timewait_collect(u32 netns, struct synfin_tw_counts *c,
			     struct synfin_tw_key *rows[3], u32 n[3], u32 max)
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
