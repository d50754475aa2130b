// SPDX-License-Identifier: GPL-2.0
/*
 * Turning a TCP state change into a synfin_event: tuple, netns, cookie,
 * owner. Both hook modes (tracepoint, kprobe) call synfin_record_state().
 */
#include <linux/cgroup.h>
#include <linux/in.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sock_diag.h>
#include <linux/string.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>
#include "synfin.h"

static bool synfin_snapshot = true;
module_param_named(snapshot, synfin_snapshot, bool, 0644);
MODULE_PARM_DESC(snapshot,
		 "Record the connection's tcp_info counters (bytes, segments, retransmits, RTT), uid and cgroup with every state change (default Y). Writable at run time.");

struct synfin_cpu_state {
	u64 seen;
	u64 filtered;
	/*
	 * A passive-open child's LISTEN->SYN_RECV, held back until the child
	 * has its real tuple (its next event, normally in the same softirq).
	 */
	const struct sock *clone_sk;
	u64 clone_net_id;
	struct synfin_event clone_ev;
	u64 clone_ns;			/* when the held transition happened */
	bool clone_inherit;		/* its entry: the listener's owner */
	/*
	 * The listener inet_csk_clone_lock() is cloning on this CPU, and the
	 * cookie the child will carry (its request sock's), noted at its
	 * entry (owner.c) and taken by the clone's event, in the same task.
	 * The net and task are compared, never dereferenced.
	 */
	u64 listener_cookie;
	u64 child_cookie;
	const struct net *listener_net;
	const struct task_struct *listener_task;
	u16 listener_family;
	/* The socket a timewait sock just took over on this CPU. */
	const struct sock *handoff_sk;
};

static DEFINE_PER_CPU(struct synfin_cpu_state, synfin_cpu_state);

/* What every committed record adds to SYNFIN_IOC_TRANSITIONS. */
struct synfin_cpu_counts {
	u64 state[SYNFIN_TCP_MAX_STATES][SYNFIN_TCP_MAX_STATES];
	u64 tw_enter;
	u64 tw_exit[SYNFIN_TW_REASONS];
};

static DEFINE_PER_CPU(struct synfin_cpu_counts, synfin_cpu_counts);

/*
 * Count a record and put it in the ring: every producer's last step. With
 * interrupts off (every producer holds them off already, for its own
 * per-CPU or locked state), so neither step saves and restores them again.
 */
void synfin_record_commit(const struct synfin_event *ev, u64 net_id)
{
	struct synfin_cpu_counts *c;

	lockdep_assert_irqs_disabled();
	if (synfin_family(SYNFIN_FAM_COUNTS)) {
		c = this_cpu_ptr(&synfin_cpu_counts);
		if (ev->kind == SYNFIN_EV_STATE && ev->oldstate < SYNFIN_TCP_MAX_STATES &&
		    ev->newstate < SYNFIN_TCP_MAX_STATES && !(ev->flags & SYNFIN_F_TIMEWAIT))
			c->state[ev->oldstate][ev->newstate]++;
		else if (ev->kind == SYNFIN_EV_TW_ENTER)
			c->tw_enter++;
		else if (ev->kind == SYNFIN_EV_TW_EXIT && ev->tw_reason < SYNFIN_TW_REASONS)
			c->tw_exit[ev->tw_reason]++;
	}
	synfin_ring_write(ev, net_id);
}

void synfin_record_transitions(struct synfin_transitions *t)
{
	int cpu, i, j;

	memset(t, 0, sizeof(*t));
	for_each_possible_cpu(cpu) {
		const struct synfin_cpu_counts *c = per_cpu_ptr(&synfin_cpu_counts, cpu);

		for (i = 0; i < SYNFIN_TCP_MAX_STATES; i++)
			for (j = 0; j < SYNFIN_TCP_MAX_STATES; j++)
				t->count[i][j] += READ_ONCE(c->state[i][j]);
		t->tw_enter += READ_ONCE(c->tw_enter);
		for (i = 0; i < SYNFIN_TW_REASONS; i++)
			t->tw_exit[i] += READ_ONCE(c->tw_exit[i]);
	}
}

/*
 * The socket's cookie as the kernel gives it (`ss -e`'s sk:, SO_COOKIE,
 * BPF): read, or generated once by the kernel's own generator through
 * sock_diag_save_cookie(), as sock_diag does for `ss`. Works on full,
 * timewait and request socks alike (the field is in sock_common). synfin
 * never writes a value of its own: after a reload a private counter would
 * hand out cookies that live sockets already carry.
 */
u64 synfin_sock_cookie(const struct sock *sk)
{
	u64 cookie = atomic64_read(&sk->sk_cookie);
	u32 halves[2];

	if (likely(cookie))
		return cookie;
	sock_diag_save_cookie((struct sock *)sk, halves);
	return halves[0] | (u64)halves[1] << 32;
}

static void synfin_fill_tuple(struct synfin_event *ev, const struct sock *sk)
{
	const struct inet_sock *inet = inet_sk(sk);

	ev->family = sk->sk_family;
	ev->sport = ntohs(inet->inet_sport);
	ev->dport = ntohs(inet->inet_dport);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memcpy(ev->saddr, &sk->sk_v6_rcv_saddr, 16);
		memcpy(ev->daddr, &sk->sk_v6_daddr, 16);
		return;
	}
#endif
	memcpy(ev->saddr, &inet->inet_saddr, 4);
	memcpy(ev->daddr, &inet->inet_daddr, 4);
}

/*
 * What tcp_get_info() reports for these, without taking the socket lock:
 * a state change runs where the socket is owned already (its owner, or the
 * softirq holding its lock), so the counters that only the owner writes
 * (bytes, retransmits, RTT) are not moving; segs_in is also counted before
 * the lock (tcp_v4_rcv()), hence READ_ONCE. The snapshot is as consistent
 * as tcp_get_info()'s own.
 */
static void synfin_fill_tcp(struct synfin_event *ev, const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	u32 min_rtt = tcp_min_rtt(tp);

	ev->tx_bytes = READ_ONCE(tp->bytes_acked);
	ev->rx_bytes = READ_ONCE(tp->bytes_received);
	ev->segs_out = READ_ONCE(tp->segs_out);
	ev->segs_in = READ_ONCE(tp->segs_in);
	ev->retrans = READ_ONCE(tp->total_retrans);
	ev->srtt_us = READ_ONCE(tp->srtt_us) >> 3;	/* stored << 3 */
	ev->rttvar_us = READ_ONCE(tp->mdev_us) >> 2;	/* stored << 2 */
	ev->min_rtt_us = min_rtt == ~0U ? 0 : min_rtt;	/* ~0: no sample */
	ev->have |= SYNFIN_HAVE_TCP;
}

/*
 * The socket's uid, as the initial user namespace numbers it (each reader
 * sees it mapped into its own: chardev.c), and its cgroup v2 id: the
 * socket holds a reference on that cgroup for its whole life.
 */
static void synfin_fill_sock(struct synfin_event *ev, const struct sock *sk)
{
	ev->uid = __kuid_val(READ_ONCE(sk->sk_uid));
	ev->cgroup_id = synfin_sk_cgroup_id(sk);
	ev->have |= SYNFIN_HAVE_SOCK;
}

/*
 * The connection's numbers at this change of a full TCP socket. A child
 * at its first event is still the listener's copy: no counters of its own.
 */
void synfin_record_snapshot(struct synfin_event *ev, const struct sock *sk,
			    bool counters)
{
	if (!READ_ONCE(synfin_snapshot))
		return;
	synfin_fill_sock(ev, sk);
	if (counters)
		synfin_fill_tcp(ev, sk);
}

static void synfin_fill_current(struct synfin_event *ev)
{
	ev->pid = current->pid;
	ev->tgid = current->tgid;
	BUILD_BUG_ON(sizeof(ev->comm) != TASK_COMM_LEN);
	memcpy(ev->comm, current->comm, sizeof(ev->comm));
}

/*
 * Owner: connect() and listen() make the caller the owner. Otherwise the
 * cache; a process acting on a socket with no entry (one from before
 * synfin loaded) becomes its owner. In softirq with no entry: unknown
 * (pid 0), never the task that happened to be interrupted. The same entry
 * keeps the time of the connection's last change: the time spent in
 * @oldstate.
 */
static void synfin_fill_owner(struct synfin_event *ev, const struct sock *sk,
			      int oldstate, int newstate, u64 now)
{
	bool acts = synfin_sk_owner_acts(sk);

	if (!acts)
		ev->flags |= SYNFIN_F_SOFTIRQ;
	if (acts && oldstate == TCP_CLOSE &&
	    (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN)) {
		/* A new connection (or listener): no time in CLOSE to tell. */
		synfin_owner_set_current(ev->cookie, now);
		synfin_fill_current(ev);
		return;
	}
	if (synfin_owner_step(ev->cookie, ev, now, acts ? current : NULL,
			      newstate != TCP_CLOSE ? SYNFIN_STEP_ADD : 0))
		return;
	if (acts)
		synfin_fill_current(ev);
}

/* How long the clone waited, in the record: readers can place it. */
static void synfin_clone_held(struct synfin_cpu_state *cs)
{
	u64 d = ktime_get_ns() - cs->clone_ns;

	cs->clone_ev.held_us = min_t(u64, div_u64(d, NSEC_PER_USEC), U32_MAX);
}

/*
 * The child's owner entry, made once its fate is known: the listener's
 * owner, unless accept() named one already (TCP Fast Open accepts before
 * the ACK). Not for a child dropped at birth: it shares its cookie, and so
 * the entry, with the child that won (SYNFIN_F_CHILD_DROPPED).
 */
static void synfin_clone_settle(struct synfin_cpu_state *cs)
{
	if (cs->clone_inherit && !(cs->clone_ev.flags & SYNFIN_F_CHILD_DROPPED))
		synfin_owner_adopt(cs->clone_ev.cookie, &cs->clone_ev, cs->clone_ns);
	cs->clone_inherit = false;
}

static void synfin_flush_clone(struct synfin_cpu_state *cs)
{
	if (!cs->clone_sk)
		return;
	/* Before 7.x the clone event has the listener's tuple (dport 0). */
	if (!cs->clone_ev.dport)
		cs->clone_ev.flags |= SYNFIN_F_LISTENER_TUPLE;
	synfin_clone_settle(cs);
	synfin_clone_held(cs);
	synfin_record_commit(&cs->clone_ev, cs->clone_net_id);
	cs->clone_sk = NULL;
}

/*
 * inet_csk_clone_lock() is about to clone @listener on this CPU: its
 * child's LISTEN->SYN_RECV comes next, inside that call.
 */
void synfin_record_note_clone(const struct sock *listener,
			      const struct sock *req)
{
	struct synfin_cpu_state *cs;
	unsigned long flags;
	u64 cookie, child;

	if (listener->sk_protocol != IPPROTO_TCP)
		return;
	cookie = synfin_sock_cookie(listener);
	/*
	 * inet_csk_clone_lock() copies the request sock's cookie into the
	 * child (before its first event from 7.x, right after before that):
	 * given one now, the child has it from birth, known at its first
	 * event. `ss` gives request socks cookies the same way.
	 */
	child = synfin_sock_cookie(req);
	local_irq_save(flags);
	cs = this_cpu_ptr(&synfin_cpu_state);
	cs->listener_cookie = cookie;
	cs->child_cookie = child;
	cs->listener_net = sock_net(listener);
	cs->listener_task = current;
	cs->listener_family = listener->sk_family;
	local_irq_restore(flags);
}

/*
 * The clone probe's note, if it is about this child: its listener's and
 * its own cookie. Clones run with BH off, so the note and the event
 * normally come one right after the other on this CPU; on PREEMPT_RT a BH
 * section can be preempted, and another task's clone come in between: a
 * note from another task (or netns, or family) is not this child's. The
 * local port is not compared: with TPROXY or sk_lookup the child's port is
 * the packet's, not the listener's.
 */
static bool synfin_clone_note_take(struct synfin_cpu_state *cs,
				   const struct sock *sk, u64 *listener,
				   u64 *child)
{
	u64 field = atomic64_read(&sk->sk_cookie);
	/*
	 * The child's cookie field says which clone it is: before 7.x it
	 * still holds the listener's copy, from 7.x the request sock's. A note
	 * left by a clone that failed, followed by a clone the probe missed,
	 * matches neither.
	 */
	bool ours = cs->listener_cookie && cs->listener_task == current &&
		    cs->listener_net == sock_net(sk) &&
		    cs->listener_family == sk->sk_family &&
		    (field == cs->listener_cookie || field == cs->child_cookie);

	*listener = cs->listener_cookie;
	*child = cs->child_cookie;
	cs->listener_cookie = 0;
	return ours;
}

/*
 * LISTEN->SYN_RECV fires inside inet_csk_clone_lock() on the fresh child.
 * Before 7.x its tuple is the listener's, remote end unset, and its cookie
 * field still holds the listener's copy (the request sock's replaces it
 * right after); from 7.x both are already the child's. The event waits on
 * this CPU for the child's next event (normally in the same softirq),
 * which gives the real tuple, and carries its owner, the listener's.
 *
 * With the clone probe's note the child's cookie is known now. Without it
 * (the probe could not be registered): from 7.x the child's own cookie,
 * with no owner; before, the listener is the cookie field's copy, and the
 * child's cookie is taken when the event completes (0 if it never does).
 */
static void synfin_hold_clone(struct synfin_cpu_state *cs,
			      const struct sock *sk, struct synfin_event *ev)
{
	u64 listener, child, now = ktime_get_ns();

	synfin_flush_clone(cs);	/* leaves clone_inherit false */
	if (synfin_clone_note_take(cs, sk, &listener, &child)) {
		ev->cookie = child;
		/* Its own entry once its next change says it lives on. */
		synfin_owner_get(listener, ev);
		cs->clone_inherit = true;
	} else if (ev->dport) {
		ev->cookie = synfin_sock_cookie(sk);
	} else {
		listener = atomic64_read(&sk->sk_cookie);
		if (listener)
			synfin_owner_get(listener, ev);
	}
	if (!synfin_sk_owner_acts(sk))
		ev->flags |= SYNFIN_F_SOFTIRQ;
	synfin_record_snapshot(ev, sk, false);
	cs->clone_ev = *ev;
	cs->clone_sk = sk;
	cs->clone_net_id = synfin_net_id(sock_net(sk));
	cs->clone_ns = now;
}

static void synfin_complete_clone(struct synfin_cpu_state *cs,
				  const struct sock *sk, bool dropped)
{
	/*
	 * Now with the real tuple. It is stamped as it goes into the ring,
	 * like every record: a record carrying an older time could be merged
	 * in a different place by readers that read before and after it.
	 */
	synfin_fill_tuple(&cs->clone_ev, sk);
	if (dropped)
		cs->clone_ev.flags |= SYNFIN_F_CHILD_DROPPED;
	if (!cs->clone_ev.cookie) {
		/* Held without a note: the child's cookie now, and the
		 * listener's owner under it (the field's copy named it). */
		cs->clone_ev.cookie = synfin_sock_cookie(sk);
		cs->clone_inherit = cs->clone_ev.pid != 0;
	}
	synfin_clone_settle(cs);
	synfin_clone_held(cs);
	synfin_record_commit(&cs->clone_ev, cs->clone_net_id);
	cs->clone_sk = NULL;
}

void synfin_record_state(const struct sock *sk, int oldstate, int newstate)
{
	struct synfin_cpu_state *cs;
	struct synfin_event ev;
	unsigned long flags;
	u64 cookie, now;
	bool dropped;

	/*
	 * Any context: the tracepoint may call this preemptible (SRCU-fast
	 * tracepoints). this_cpu_inc() is safe there; everything else per-CPU
	 * waits for local_irq_save() below.
	 */
	this_cpu_inc(synfin_cpu_state.seen);
	/* SCTP, DCCP and MPTCP fire the same tracepoint. */
	if (sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		this_cpu_inc(synfin_cpu_state.filtered);
		return;
	}

	memset(&ev, 0, sizeof(ev));
	ev.abi = SYNFIN_ABI_VERSION;
	ev.kind = SYNFIN_EV_STATE;
	ev.oldstate = oldstate;
	ev.newstate = newstate;
	ev.netns = sock_net(sk)->ns.inum;
	synfin_fill_tuple(&ev, sk);
	if (!(oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV))
		synfin_record_snapshot(&ev, sk, true);

	/*
	 * Process-context transitions (tcp_close()) run with BH enabled: keep
	 * a softirq on this CPU out of the per-CPU clone and hand-off state.
	 */
	local_irq_save(flags);
	cs = this_cpu_ptr(&synfin_cpu_state);
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		synfin_hold_clone(cs, sk, &ev);
		goto out;
	}

	/*
	 * A child whose first change after its clone is SYN_RECV->CLOSE closed
	 * in the call that made it: dropped at birth. Another CPU's child of
	 * the same request sock won the hash (tcp_v4_syn_recv_sock()'s
	 * own_req: the twin carries the same cookie), or it could not be
	 * routed or hashed, or its listener was closing. It must not touch the
	 * entry of its cookie, and its records say so. Not a Fast Open child:
	 * it lives on from its SYN (fastopen_rsk is set until its handshake
	 * ends), its clone may still be held when it is reset.
	 */
	dropped = cs->clone_sk == sk && oldstate == TCP_SYN_RECV &&
		  newstate == TCP_CLOSE &&
		  !rcu_access_pointer(tcp_sk(sk)->fastopen_rsk);
	if (cs->clone_sk == sk)
		synfin_complete_clone(cs, sk, dropped);
	else
		synfin_flush_clone(cs);
	cookie = synfin_sock_cookie(sk);
	ev.cookie = cookie;
	now = synfin_ring_stamp();
	if (dropped) {
		ev.flags |= SYNFIN_F_CHILD_DROPPED;
		if (!synfin_sk_owner_acts(sk))
			ev.flags |= SYNFIN_F_SOFTIRQ;
		ev.pid = cs->clone_ev.pid;
		ev.tgid = cs->clone_ev.tgid;
		memcpy(ev.comm, cs->clone_ev.comm, sizeof(ev.comm));
		if (now > cs->clone_ns) {
			ev.state_ns = now - cs->clone_ns;
			ev.have |= SYNFIN_HAVE_STATE_TIME;
		}
		goto commit;
	}
	synfin_fill_owner(&ev, sk, oldstate, newstate, now);

	if (newstate == TCP_CLOSE) {
		if (cs->handoff_sk == sk) {
			ev.flags |= SYNFIN_F_TW_HANDOFF;
			cs->handoff_sk = NULL;
		}
		/* A closed socket may connect again: it caches anew then. */
		synfin_owner_forget(cookie);
	}
commit:
	/* The ring's stamp: the record's time is the state time's end. */
	ev.ts_ns = now;
	synfin_record_commit(&ev, synfin_net_id(sock_net(sk)));
out:
	local_irq_restore(flags);
}

/* A timewait sock takes over sk: its coming CLOSE is a hand-off. */
void synfin_record_note_handoff(const struct sock *sk)
{
	unsigned long flags;

	local_irq_save(flags);
	__this_cpu_write(synfin_cpu_state.handoff_sk, sk);
	local_irq_restore(flags);
}

void synfin_record_stats(struct synfin_stats *st)
{
	int cpu;

	st->seen = 0;
	st->filtered = 0;
	for_each_possible_cpu(cpu) {
		const struct synfin_cpu_state *cs =
			per_cpu_ptr(&synfin_cpu_state, cpu);

		st->seen += READ_ONCE(cs->seen);
		st->filtered += READ_ONCE(cs->filtered);
	}
	st->owner_dropped = synfin_owner_dropped_count();
}
