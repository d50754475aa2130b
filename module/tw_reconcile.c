// SPDX-License-Identifier: GPL-2.0
/*
 * Counts that heal. The hooks can miss an exit (a kprobe hit nested in
 * another probe's handler is skipped: nmissed) or an entry; a missed exit
 * leaves a stale entry that would count for good, and, once the slab hands
 * its memory to a new timewait sock, pass for that one. So:
 *
 *  - an entry or exit whose sock's cookie is not the tracked one is stale
 *    (tw_hooks.c, tw_walk.c): dropped and counted (tw_stale);
 *  - every SYNFIN_TW_RECONCILE_MS, and soon after a query, each live
 *    netns's total is compared with the kernel's own count (what
 *    /proc/net/sockstat calls tw). A netns gone, or more or less than the
 *    kernel's at two checks running: the hash is walked (tw_walk.c),
 *    untracked socks are counted and tracked ones the walk did not find
 *    are dropped; every sock so corrected counts in tw_drift.
 *
 * The two counts are not read at one instant, and the kernel's holds socks
 * being built or freed (microseconds each): one check off proves nothing.
 * A shortfall a walk cannot fix (no node free: untracked) is retried once
 * a minute, not at every check. A netns with a hash of its own
 * (tcp_child_ehash_entries) is not walked, and so not judged either.
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include "timewait.h"

#define SYNFIN_TW_RECONCILE_MS		5000
#define SYNFIN_TW_FUTILE_RETRY_NS	(60 * NSEC_PER_SEC)
#define SYNFIN_TW_KICK_AFTER_NS		NSEC_PER_SEC
#define SYNFIN_TW_SWEEP_BUCKETS		256	/* per lock hold */

static atomic_t synfin_tw_gen;
static atomic64_t synfin_tw_stale, synfin_tw_drift, synfin_tw_reconciles;
static DEFINE_MUTEX(synfin_tw_walk_lock);	/* one walk at a time */
static unsigned int synfin_tw_short_streak, synfin_tw_over_streak;
static u64 synfin_tw_last_check_ns, synfin_tw_last_futile_ns;
static bool synfin_tw_reconciling;

static void synfin_tw_reconcile_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(synfin_tw_reconcile_work, synfin_tw_reconcile_fn);

/* A fresh walk generation; 0 means "never seen". */
unsigned int synfin_tw_next_gen(void)
{
	unsigned int gen = atomic_inc_return(&synfin_tw_gen);

	return gen ? gen : atomic_inc_return(&synfin_tw_gen);
}

void synfin_tw_count_stale(void)
{
	atomic64_inc(&synfin_tw_stale);
}

/* Each live netns against the kernel's count; then the netns gone. */
static void synfin_tw_check(bool *over, bool *shortfall, bool *gone)
{
	unsigned int gen = synfin_tw_next_gen(), b;
	struct synfin_twns *ns;
	unsigned long flags;
	struct net *net;

	*over = *shortfall = *gone = false;
	rcu_read_lock();
	for_each_net_rcu(net) {
		int kernel = synfin_net_tw_count(net);
		int ours = 0;

		if (synfin_net_own_hash(net))
			continue;

		raw_spin_lock_irqsave(&synfin_tw_lock, flags);
		ns = synfin_twns_get(synfin_net_id(net), net->ns.inum, false);
		if (ns) {
			ns->alive_gen = gen;
			ours = ns->c.total;
		}
		raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
		if (ours > kernel)
			*over = true;
		else if (ours < kernel)
			*shortfall = true;
	}
	rcu_read_unlock();
	/* A netns made since is not "gone": at worst one walk too many. */
	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	for (b = 0; b < (1U << SYNFIN_TWNS_BITS) && !*gone; b++)
		hlist_for_each_entry(ns, &synfin_twns_hash[b], node)
			if (ns->alive_gen != gen && ns->c.total && ns->walkable)
				*gone = true;
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
}

/* Walk the hash, then drop what it did not find. Returns socks corrected. */
static unsigned int synfin_tw_resync(void)
{
	unsigned int added = 0, replaced = 0, dropped = 0, bucket = 0, gen;
	u64 start;

	mutex_lock(&synfin_tw_walk_lock);
	gen = synfin_tw_next_gen();
	/*
	 * An entry is made just before its sock is hashed (on PREEMPT_RT the
	 * BH section between can be preempted): only entries older than a
	 * second can be missing from the hash for good.
	 */
	start = ktime_get_ns() - NSEC_PER_SEC;
	synfin_tw_walk(gen, &added, &replaced);
	while (bucket < (1U << SYNFIN_TWSOCK_BITS)) {
		dropped += synfin_tw_sweep(gen, start, &bucket, SYNFIN_TW_SWEEP_BUCKETS);
		cond_resched();
	}
	mutex_unlock(&synfin_tw_walk_lock);
	atomic64_add(replaced, &synfin_tw_stale);
	atomic64_add(added + replaced + dropped, &synfin_tw_drift);
	if (added + replaced + dropped)
		pr_info("timewait counts corrected against the kernel's: %u counted, %u stale replaced, %u dropped\n",
			added, replaced, dropped);
	return added + replaced + dropped;
}

static void synfin_tw_reconcile_fn(struct work_struct *work)
{
	u64 now = ktime_get_ns();
	bool over, shortfall, gone;

	atomic64_inc(&synfin_tw_reconciles);
	WRITE_ONCE(synfin_tw_last_check_ns, now);
	synfin_tw_check(&over, &shortfall, &gone);
	synfin_tw_short_streak = shortfall ? synfin_tw_short_streak + 1 : 0;
	synfin_tw_over_streak = over ? synfin_tw_over_streak + 1 : 0;
	if (gone || synfin_tw_over_streak >= 2) {
		synfin_tw_resync();
		synfin_tw_over_streak = 0;
	} else if (synfin_tw_short_streak >= 2 &&
		   now - synfin_tw_last_futile_ns >= SYNFIN_TW_FUTILE_RETRY_NS) {
		if (!synfin_tw_resync())
			synfin_tw_last_futile_ns = now;
		synfin_tw_short_streak = 0;
	}
	queue_delayed_work(system_unbound_wq, &synfin_tw_reconcile_work,
			   msecs_to_jiffies(SYNFIN_TW_RECONCILE_MS));
}

/* A reader asked for counts: check them soon, if not checked lately. */
void synfin_tw_reconcile_kick(void)
{
	if (READ_ONCE(synfin_tw_reconciling) &&
	    ktime_get_ns() - READ_ONCE(synfin_tw_last_check_ns) > SYNFIN_TW_KICK_AFTER_NS)
		mod_delayed_work(system_unbound_wq, &synfin_tw_reconcile_work, 0);
}

/* The load-time walk: the same walk, run once before any reconcile. */
void synfin_tw_walk_existing(unsigned int *added)
{
	unsigned int replaced = 0;

	mutex_lock(&synfin_tw_walk_lock);
	synfin_tw_walk(synfin_tw_next_gen(), added, &replaced);
	mutex_unlock(&synfin_tw_walk_lock);
}

void synfin_tw_reconcile_start(void)
{
	WRITE_ONCE(synfin_tw_last_check_ns, ktime_get_ns());
	WRITE_ONCE(synfin_tw_reconciling, true);
	queue_delayed_work(system_unbound_wq, &synfin_tw_reconcile_work,
			   msecs_to_jiffies(SYNFIN_TW_RECONCILE_MS));
}

/* Before the hooks and tables go; no reader can kick any more. */
void synfin_tw_reconcile_stop(void)
{
	WRITE_ONCE(synfin_tw_reconciling, false);
	cancel_delayed_work_sync(&synfin_tw_reconcile_work);
	atomic64_set(&synfin_tw_stale, 0);
	atomic64_set(&synfin_tw_drift, 0);
	atomic64_set(&synfin_tw_reconciles, 0);
	synfin_tw_short_streak = synfin_tw_over_streak = 0;
	synfin_tw_last_futile_ns = 0;
}

void synfin_timewait_health(struct synfin_health *h)
{
	h->tw_stale = atomic64_read(&synfin_tw_stale);
	h->tw_drift = atomic64_read(&synfin_tw_drift);
	h->tw_reconciles = atomic64_read(&synfin_tw_reconciles);
}
