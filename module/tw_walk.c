// SPDX-License-Identifier: GPL-2.0
/*
 * Socks already in timewait at load: counted by one walk of the
 * established hash, once the hooks (tw_hooks.c) are armed.
 */
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/tcp.h>
#include "timewait.h"

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
