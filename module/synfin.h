/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interfaces between synfin's parts. Data flows one way:
 *   hook_*.c --(struct sock)--> record.c --(struct synfin_event)--> ring.c
 *   ring.c <--(cursor)-- chardev.c <-- read()/poll()/ioctl()
 * The ring and the device know nothing about TCP; hooks know nothing about
 * readers.
 */
#ifndef _SYNFIN_H
#define _SYNFIN_H

#include <linux/types.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <uapi/synfin.h>

struct sock;
struct kprobe;
struct pt_regs;
struct synfin_pool_chunk;
struct net;

/*
 * main.c: what the module does, by family (module parameter families=).
 * All by default; fewer to measure what each costs, or to run only what a
 * host needs (timewait alone counts TIME_WAIT with no per-change work).
 */
#define SYNFIN_FAM_STATE	0x01	/* the state hook: a record per change */
#define SYNFIN_FAM_TIMEWAIT	0x02	/* timewait hooks, tables, exact counts */
#define SYNFIN_FAM_OWNER	0x04	/* the owner cache (and state times) */
#define SYNFIN_FAM_ACCEPT	0x08	/* accept()'s hook: the acceptor owns */
#define SYNFIN_FAM_CLONE	0x10	/* the clone hook: children inherit */
#define SYNFIN_FAM_COUNTS	0x20	/* per-CPU transition counts */
#define SYNFIN_FAM_ALL		0x3f
extern u32 synfin_families;

static inline bool synfin_family(u32 f)
{
	return READ_ONCE(synfin_families) & f;
}

/* ring.c: per-CPU rings, written by producers in any context */
#define SYNFIN_WAKE_DELAY_DEFAULT	1000	/* µs */
#define SYNFIN_WAKE_DELAY_MAX		1000000
extern unsigned int synfin_wake_delay_us;
int synfin_ring_init(unsigned int records_per_cpu);
void synfin_ring_exit(void);
u64 synfin_ring_stamp(void);						/* irqs off */
void synfin_ring_write(const struct synfin_event *ev, u64 net_id);	/* irqs off */

/*
 * A reader's position: one cursor per CPU ring, plus the record peeked at
 * from each ring, so records can be merged in timestamp order.
 */
/*
 * Bytes the module holds (sizes asked for): rings, node pools, open files.
 * Records never allocate; this moves only at load, open, close and when a
 * pool grows (process context), so stats can show memory stays put.
 */
extern atomic_long_t synfin_mem_bytes;

static inline void synfin_mem_account(long bytes)
{
	atomic_long_add(bytes, &synfin_mem_bytes);
}

struct synfin_cursor {
	u64 net_id;			/* only this netns's records; 0: all */
	u64 *pos;			/* [nr_cpu_ids] next sequence to read */
	struct synfin_event *peek;	/* [nr_cpu_ids] */
	unsigned long *peeked;		/* bitmap: peek[cpu] is valid */
	u64 lost_pending;		/* lost, not yet reported in-stream */
	u64 lost;			/* total lost by this reader */
	u64 delivered;			/* total records handed out */
	size_t bytes;			/* allocated for pos, peek, peeked */
	int stalled_cpu;		/* a writer given up on, at this mark */
	u64 stalled_mark;
};

int synfin_cursor_init(struct synfin_cursor *c, u64 net_id);
void synfin_cursor_destroy(struct synfin_cursor *c);
void synfin_cursor_rewind(struct synfin_cursor *c);
bool synfin_cursor_next(struct synfin_cursor *c, struct synfin_event *out,
			bool can_wait);
void synfin_cursor_lose(struct synfin_cursor *c, u64 n);
void synfin_cursor_lose_own(struct synfin_cursor *c, u64 n);
bool synfin_cursor_ready(struct synfin_cursor *c);
u64 synfin_cursor_pending(struct synfin_cursor *c);
void synfin_ring_arm_wakeup(void);
struct wait_queue_head *synfin_ring_waitqueue(void);
void synfin_ring_stats(struct synfin_stats *st);
void synfin_ring_account(u64 delivered);

/* pool.c: fixed-size nodes for tables filled from hooks, in any context */
struct synfin_pool {
	raw_spinlock_t lock;
	struct mutex grow_lock;		/* serialises synfin_pool_grow() */
	void *head;			/* free list */
	struct synfin_pool_chunk *chunks;
	unsigned int free, total, max, low, chunk;
	size_t node_size;
	size_t bytes;			/* allocated for chunks */
	u64 misses;
	struct work_struct refill;
};

int synfin_pool_init(struct synfin_pool *p, size_t node_size,
		     unsigned int initial, unsigned int max);
void synfin_pool_destroy(struct synfin_pool *p);
int synfin_pool_grow(struct synfin_pool *p);
void *synfin_pool_get(struct synfin_pool *p);
void synfin_pool_put(struct synfin_pool *p, void *node);

/* record.c: struct sock -> struct synfin_event */
void synfin_record_state(const struct sock *sk, int oldstate, int newstate);
void synfin_record_commit(const struct synfin_event *ev, u64 net_id);	/* irqs off */
void synfin_record_transitions(struct synfin_transitions *t);
void synfin_record_note_handoff(const struct sock *sk);
void synfin_record_note_clone(const struct sock *listener, const struct sock *req);
void synfin_record_stats(struct synfin_stats *st);
u64 synfin_sock_cookie(const struct sock *sk);
void synfin_record_snapshot(struct synfin_event *ev, const struct sock *sk,
			    bool counters);

/* owner.c: owner cache by cookie */
int synfin_owner_init(unsigned int max);
void synfin_owner_exit(void);
void synfin_owner_set_current(u64 cookie, u64 changed_ns);
bool synfin_owner_get(u64 cookie, struct synfin_event *ev);
#define SYNFIN_STEP_ADD		0x1	/* synfin_owner_step(): see owner.c */
#define SYNFIN_STEP_PEEK	0x2
bool synfin_owner_step(u64 cookie, struct synfin_event *ev, u64 now,
		       const struct task_struct *task, unsigned int how);
void synfin_owner_adopt(u64 cookie, const struct synfin_event *ev, u64 born_ns);
void synfin_owner_forget(u64 cookie);
void synfin_owner_health(struct synfin_health *h);
u64 synfin_owner_dropped_count(void);
u64 synfin_owner_missed(void);

/* timewait.c and tw_*.c (timewait.h: which holds what) */
int synfin_timewait_init(unsigned int max);
void synfin_timewait_exit(void);
int synfin_timewait_count_existing(void);
int synfin_timewait_query(struct synfin_tw_query *q, const struct net *own);
int synfin_timewait_netns(struct synfin_tw_netns_list *l, u64 only);
u64 synfin_timewait_untracked(void);
u64 synfin_timewait_missed(void);
void synfin_timewait_health(struct synfin_health *h);

/* netns.c: per-netns state (/proc/net/synfin_tw; 5.10: ids) */
int synfin_netns_init(void);
void synfin_netns_exit(void);

/* hook_tracepoint.c, hook_kprobe.c */
int synfin_hook_tracepoint_register(void);
void synfin_hook_tracepoint_unregister(void);
int synfin_hook_kprobe_register(void);
void synfin_hook_kprobe_unregister(void);
u64 synfin_hook_kprobe_missed(void);

/*
 * The kprobe core runs one probe at a time per CPU: a probe hit while
 * another one's handler runs is skipped (nmissed, summed in hook_missed).
 * A handler that runs with interrupts on lets a softirq in (on irq exit)
 * whose TCP work may hit our other probes. On a kernel without
 * KPROBES_ON_FTRACE a probe is an int3 trap, handled with interrupts off,
 * unless the kernel optimizes it into a jump; this empty post handler
 * keeps every synfin kprobe from being optimized.
 *
 * On Debian's kernels (KPROBES_ON_FTRACE) an entry probe sits on the
 * ftrace call site and runs in the probed code's context. Moving it one
 * instruction on makes it an int3 trap, so no softirq could nest, but the
 * kernel enters int3 like an NMI and lockdep (debug kernel) rightly reports
 * the owner and timewait locks taken there and in process context
 * ({IN-NMI} usage): tried and reverted. Skipped hits are counted instead.
 */
/*
 * Whether the code a probe interrupted is a task acting on its own
 * sockets: process context with bottom halves on. With BH off a task can
 * be running the stack for packets that are not its business: a tun/tap
 * writer (VPN daemons: tun_get_user() feeds the stack under
 * local_bh_disable()), threaded NAPI, busy polling. softirq_count() covers
 * both serving and disabled BH, on PREEMPT_RT too (there it is per task).
 * The kernel enters an int3 trap like an NMI (NMI and hardirq counts
 * raised), so in an int3 kprobe handler in_task() is always false; take
 * that level off. The tracepoint probe and ftrace-based kprobes (Debian's)
 * run in the caller's context.
 */
static inline bool synfin_in_irq(void)
{
	unsigned long irq = preempt_count() & (NMI_MASK | HARDIRQ_MASK);

	if (in_nmi())
		irq -= NMI_OFFSET + HARDIRQ_OFFSET;
	return irq;
}

static inline bool synfin_in_task(void)
{
	return !synfin_in_irq() && !softirq_count();
}

/*
 * Whether a change of @sk is its owner's own act: in task context, or with
 * BH off in a task that holds the socket's lock. tcp_close() finishes
 * under local_bh_disable() + bh_lock_sock() while it owns the socket;
 * packets a tun writer or busy poll feed the stack change only sockets
 * nobody owns (an owned one's packets wait in its backlog).
 */
static inline bool synfin_sk_owner_acts(const struct sock *sk)
{
	return synfin_in_task() ||
	       (!synfin_in_irq() && !in_serving_softirq() &&
		sock_owned_by_user_nocheck(sk));
}

static inline void synfin_kp_unoptimized(struct kprobe *p, struct pt_regs *regs,
					 unsigned long flags)
{
}

/* chardev.c */
int synfin_chardev_register(void);
void synfin_chardev_unregister(void);
u32 synfin_chardev_readers(void);

/* main.c */
u32 synfin_hook_in_use(void);

#endif /* _SYNFIN_H */
