// SPDX-License-Identifier: GPL-2.0
/*
 * The exit-reason hints: left by the hooks (tw_hooks.c) on the way to
 * inet_twsk_kill(), keyed by the timewait sock, in four tables (the exit
 * reason itself, segments, reuse and abort). A slot is picked by a hash of
 * the sock, so a hint can be overwritten: synfin_hint_take() then finds
 * none.
 *
 * Every hint is taken, if at all, further down the same call chain, in the
 * same task (a softirq's or a timer's run included): connect() deciding to
 * reuse a timewait sock descheduling it, a segment's verdict killing it. A
 * hint from another task, or older than SYNFIN_HINT_TTL (a second: room
 * for a preempted or emulated CPU), is left over from a chain that did not
 * end in a kill (connect() judged the sock and did not reuse it): never
 * taken, so an `ss -K` later is not called a reuse.
 */
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include "timewait.h"

#define SYNFIN_HINT_SLOTS	64
#define SYNFIN_HINT_TTL		HZ

struct synfin_hint synfin_exit_hints[SYNFIN_HINT_SLOTS];
struct synfin_hint synfin_seg_hints[SYNFIN_HINT_SLOTS];
struct synfin_hint synfin_reuse_hints[SYNFIN_HINT_SLOTS];
struct synfin_hint synfin_abort_hints[SYNFIN_HINT_SLOTS];

static struct synfin_hint *synfin_hint_slot(struct synfin_hint *tab, const void *tw)
{
	return &tab[hash_ptr(tw, ilog2(SYNFIN_HINT_SLOTS))];
}

/* Under the lock. */
void synfin_hint_set(struct synfin_hint *tab, const void *tw, u8 value,
		     u8 substate)
{
	struct synfin_hint *h = synfin_hint_slot(tab, tw);

	h->tw = tw;
	h->task = current;
	h->stamp = jiffies;
	h->value = value;
	h->substate = substate;
}

/* From a hook: take the lock, leave the hint. */
void synfin_hint_leave(struct synfin_hint *tab, const void *tw, u8 value,
		       u8 substate)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	synfin_hint_set(tab, tw, value, substate);
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
}

/* The hint left for tw, consumed; NULL if none (or overwritten). */
struct synfin_hint *synfin_hint_take(struct synfin_hint *tab, const void *tw)
{
	struct synfin_hint *h = synfin_hint_slot(tab, tw);

	if (h->tw != tw || h->task != current ||
	    time_after(jiffies, h->stamp + SYNFIN_HINT_TTL))
		return NULL;
	h->tw = NULL;
	return h;
}
