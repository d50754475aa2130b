// SPDX-License-Identifier: GPL-2.0
/*
 * Walks of the established hash: once at load, to count the socks already
 * in timewait, and again whenever a reconcile (tw_reconcile.c) finds the
 * counts off the kernel's, to find what the hooks missed.
 */
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/tcp.h>
#include "timewait.h"

/*
 * Mark every timewait sock in the hash that is tracked (seen_gen = @gen),
 * and track the ones that are not (SYNFIN_F_TW_NO_ENTRY: their entry was
 * not seen). A tracked entry whose cookie is not the sock's is a stale one,
 * its own exit missed and its memory reused: replaced. A sock whose timer
 * is no longer pending is on its way to inet_twsk_kill(): left alone, or
 * its exit could come before it is counted. Process context.
 */
void synfin_tw_walk(unsigned int gen, unsigned int *added, unsigned int *replaced)
{
	struct inet_hashinfo *hinfo = synfin_tcp_hashinfo();
	unsigned int i;

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
			t = synfin_twsock_find(tw);
			if (t && t->cookie != ev.cookie) {
				synfin_untrack(t);
				(*replaced)++;
				t = NULL;
			}
			if (!t && timer_pending(&tw->tw_timer)) {
				t = synfin_track(tw, &ev, synfin_net_id(twsk_net(tw)));
				if (t) {
					t->flags = SYNFIN_F_TW_NO_ENTRY;
					(*added)++;
				}
			}
			if (t)
				t->seen_gen = gen;
			raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
		}
		spin_unlock_bh(lock);
		cond_resched();
	}
}

/*
 * Count what was in timewait before the hooks. Run after they are armed:
 * synchronize_rcu() waits out every tcp_time_wait() that started before
 * (they run with BH off), so each sock is either hashed now or was seen by
 * the entry hook.
 */
int synfin_timewait_count_existing(void)
{
	unsigned int added = 0;

	if (!synfin_family(SYNFIN_FAM_TIMEWAIT))
		return 0;
	synchronize_rcu();
	synfin_tw_walk_existing(&added);
	if (added)
		pr_info("counted %u timewait sockets present at load\n", added);
	return 0;
}
