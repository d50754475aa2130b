/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the timewait files; synfin.h has what the rest of the module
 * calls. Each file holds one concern:
 *
 *   timewait.c  synfin_timewait_init() and _exit(): the wiring, and how
 *               TIME_WAIT is followed at all
 *   tw_table.c  the counts: per-netns struct synfin_twns, keys, LFU count
 *               groups, spare groups, per-sock tracking, synfin_tw_lock and
 *               the node pool
 *   tw_hints.c  the exit-reason hints: four tables of hints left by the
 *               hooks on the way to a kill
 *   tw_hooks.c  the kprobe handlers and their registration, and
 *               synfin_timewait_missed()
 *   tw_walk.c   walks of the established hash: at load
 *               (synfin_timewait_count_existing()) and to reconcile
 *   tw_reconcile.c  counts checked against the kernel's and healed; stale
 *               entries; SYNFIN_IOC_HEALTH's timewait counters
 *   tw_query.c  the ioctl readers, and synfin_timewait_collect() (procfs too)
 *   tw_proc.c   /proc/net/synfin_tw (made per netns by netns.c)
 */
#ifndef _SYNFIN_TIMEWAIT_H
#define _SYNFIN_TIMEWAIT_H

#include <linux/list.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include "synfin.h"

struct inet_timewait_sock;

/* ---------------------------------------------------------- tw_table.c */

enum synfin_twkey_kind { SYNFIN_KEY_LPORT, SYNFIN_KEY_RPORT, SYNFIN_KEY_PEER };

/*
 * One netns's counts. Keyed by synfin_net_id(), never by the inode number
 * (c.netns, for readers): a dead netns's number is reused, and whatever of
 * it is left here (a missed exit) must not count for the newcomer.
 */
struct synfin_twns {
	struct hlist_node node;
	u64 net_id;
	struct synfin_tw_counts c;
	unsigned int refs;		/* tracked socks + keys pointing here */
	unsigned int alive_gen;		/* tw_reconcile.c: its net seen alive */
	/* Its socks are in the hash the walks read (not a per-netns one made
	 * for tcp_child_ehash_entries): only then can a walk judge them. */
	bool walkable;
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
	u64 since_ns;			/* its substate's start; 0: not seen */
	u64 tracked_ns;			/* since when it is counted (tw_reconcile.c) */
	u64 cookie;
	unsigned int seen_gen;		/* tw_reconcile.c: found in the hash */
	u8 substate;
	u8 flags;			/* SYNFIN_F_TW_NO_ENTRY */
	u8 have_sock;			/* uid, cgroup_id known (SYNFIN_HAVE_SOCK) */
	u32 pid, tgid;
	char comm[TASK_COMM_LEN];
	/* The full socket's, for the records of its timewait life. */
	u32 uid;
	u64 cgroup_id;
};

#define SYNFIN_TWNS_BITS	6

extern raw_spinlock_t synfin_tw_lock;
extern struct hlist_head synfin_twns_hash[1 << SYNFIN_TWNS_BITS];
extern struct synfin_pool synfin_tw_pool;
extern u64 synfin_tw_untracked;

int synfin_tw_table_init(unsigned int max);
void synfin_tw_table_exit(void);
struct synfin_twns *synfin_twns_get(u64 net_id, u32 inum, bool create);
struct synfin_twsock *synfin_twsock_find(const void *tw);
void synfin_substate_count(struct synfin_twns *ns, u8 substate, int d);
struct synfin_twsock *synfin_track(const struct inet_timewait_sock *tw,
				   const struct synfin_event *ev, u64 net_id);
u32 synfin_untrack(struct synfin_twsock *t);
unsigned int synfin_tw_sweep(unsigned int gen, u64 before_ns,
			     unsigned int *bucket, unsigned int budget);
#define SYNFIN_TWSOCK_BITS	16

/* ---------------------------------------------------------- tw_hints.c */

/* Hints on the way to a kill, keyed by the timewait sock (under the lock). */
struct synfin_hint {
	const void *tw;
	const struct task_struct *task;	/* who left it: compared only */
	unsigned long stamp;		/* jiffies when left */
	u8 value;
	u8 substate;
};

enum { SYNFIN_SEG_RST = 1, SYNFIN_SEG_SYN = 2 };

extern struct synfin_hint synfin_exit_hints[];
extern struct synfin_hint synfin_seg_hints[];
extern struct synfin_hint synfin_reuse_hints[];
extern struct synfin_hint synfin_abort_hints[];

void synfin_hint_set(struct synfin_hint *tab, const void *tw, u8 value,
		     u8 substate);
void synfin_hint_leave(struct synfin_hint *tab, const void *tw, u8 value,
		       u8 substate);
struct synfin_hint *synfin_hint_take(struct synfin_hint *tab, const void *tw);

/* ---------------------------------------------------------- tw_hooks.c */

int synfin_tw_hooks_init(void);
void synfin_tw_hooks_exit(void);
void synfin_tw_event_init(struct synfin_event *ev, u8 kind,
			  const struct inet_timewait_sock *tw);

/* ----------------------------------------------------------- tw_walk.c */

void synfin_tw_walk(unsigned int gen, unsigned int *added, unsigned int *replaced);

/* ------------------------------------------------------ tw_reconcile.c */

unsigned int synfin_tw_next_gen(void);
void synfin_tw_count_stale(void);
void synfin_tw_walk_existing(unsigned int *added);
void synfin_tw_reconcile_kick(void);
void synfin_tw_reconcile_start(void);
void synfin_tw_reconcile_stop(void);

/* ---------------------------------------------------------- tw_query.c */

void synfin_timewait_collect(u64 net_id, u32 inum, struct synfin_tw_counts *c,
			     struct synfin_tw_key *rows[3], u32 n[3], u32 max);
int synfin_rows_alloc(struct synfin_tw_key *rows[3], u32 max);
void synfin_rows_free(struct synfin_tw_key *rows[3]);

/* ----------------------------------------------------------- tw_proc.c */

struct proc_dir_entry;
struct net;
struct proc_dir_entry *synfin_tw_proc_create(struct net *net);

#endif /* _SYNFIN_TIMEWAIT_H */
