// SPDX-License-Identifier: GPL-2.0
/*
 * The timewait kprobes (what each one tells: timewait.c): entry and exit
 * keep the counts (tw_table.c) and record the events; the others leave
 * exit-reason hints (tw_hints.c) or follow a substate change.
 */
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/ptrace.h>
#include <linux/string.h>
#include <net/inet_timewait_sock.h>
#include <net/net_namespace.h>
#include <net/tcp.h>
#include "timewait.h"

/* Fill the tuple of a timewait sock into ev. */
static void synfin_tw_tuple(struct synfin_event *ev,
			    const struct inet_timewait_sock *tw)
{
	ev->family = tw->tw_family;
	ev->sport = tw->tw_num;
	ev->dport = ntohs(tw->tw_dport);
	ev->netns = twsk_net(tw)->ns.inum;
#if IS_ENABLED(CONFIG_IPV6)
	if (tw->tw_family == AF_INET6) {
		memcpy(ev->saddr, &tw->tw_v6_rcv_saddr, 16);
		memcpy(ev->daddr, &tw->tw_v6_daddr, 16);
		return;
	}
#endif
	memcpy(ev->saddr, &tw->tw_rcv_saddr, 4);
	memcpy(ev->daddr, &tw->tw_daddr, 4);
}

void synfin_tw_event_init(struct synfin_event *ev, u8 kind,
			  const struct inet_timewait_sock *tw)
{
	memset(ev, 0, sizeof(*ev));
	ev->abi = SYNFIN_ABI_VERSION;
	ev->kind = kind;
	if (!synfin_in_task())
		ev->flags |= SYNFIN_F_SOFTIRQ;
	synfin_tw_tuple(ev, tw);
}

/* The owner, uid and cgroup the full socket had. */
static void synfin_twsock_owner(struct synfin_event *ev,
				const struct synfin_twsock *t)
{
	ev->pid = t->pid;
	ev->tgid = t->tgid;
	memcpy(ev->comm, t->comm, sizeof(ev->comm));
	if (t->have_sock) {
		ev->uid = t->uid;
		ev->cgroup_id = t->cgroup_id;
		ev->have |= SYNFIN_HAVE_SOCK;
	}
}

/* The time t spent in its substate, up to @now, which starts the next. */
static void synfin_tw_state_time(struct synfin_event *ev,
				 struct synfin_twsock *t, u64 now)
{
	if (t->since_ns && now >= t->since_ns) {
		ev->state_ns = now - t->since_ns;
		ev->have |= SYNFIN_HAVE_STATE_TIME;
	}
	t->since_ns = now;
}

/* Which entry point this kernel has: see compat.h. */
static bool synfin_tw_enter_with_timeo;

/* inet_twsk_hashdance[_schedule](tw, sk, hashinfo[, timeo]): tw takes over. */
static int synfin_kp_hashdance(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	const struct sock *sk = (const void *)regs_get_kernel_argument(regs, 1);
	u64 net_id = synfin_net_id(twsk_net(tw));
	struct synfin_event ev;
	struct synfin_twsock *t;
	unsigned long flags;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;	/* DCCP uses the same function */
	synfin_tw_event_init(&ev, SYNFIN_EV_TW_ENTER, tw);
	/* The closing owner hands over under BH off, holding the socket. */
	if (synfin_sk_owner_acts(sk))
		ev.flags &= ~SYNFIN_F_SOFTIRQ;
	ev.oldstate = sk->sk_state;
	ev.newstate = TCP_TIME_WAIT;
	ev.tw_substate = tw->tw_substate;
	ev.tw_timeout_ms = synfin_tw_enter_with_timeo ?
		jiffies_to_msecs(regs_get_kernel_argument(regs, 3)) :
		synfin_tw_timeout_from_timer(tw);
	/* The tw shares the socket's cookie field: same connection, same id. */
	ev.cookie = synfin_sock_cookie((const struct sock *)tw);
	/* The full socket's last numbers, and its time in sk_state, which
	 * its CLOSE right after (the hand-off) reports again. */
	synfin_record_snapshot(&ev, sk, true);
	synfin_owner_step(ev.cookie, &ev, ktime_get_ns(), NULL, SYNFIN_STEP_PEEK);
	synfin_record_note_handoff(sk);

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	t = synfin_twsock_find(tw);
	/*
	 * Tracked already (the walk only sees hashed socks, and this one is
	 * not hashed yet): a stale entry, a sock whose exit was missed and
	 * whose memory this one now uses. It goes, uncounted; this one counts.
	 */
	if (t) {
		synfin_untrack(t);
		synfin_tw_count_stale();
		t = NULL;
	}
	if (!t) {
		t = synfin_track(tw, &ev, net_id);
		if (t) {
			ev.ts_ns = synfin_ring_stamp();
			t->enter_ns = ev.ts_ns;
			t->since_ns = ev.ts_ns;
			ev.tw_count = t->ns->c.total;
			/* In the lock: the counts in the ring follow time order. */
			synfin_record_commit(&ev, net_id);
		}
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

/* inet_twsk_kill(tw): the one way out of the hash. */
static int synfin_kp_kill(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	struct synfin_hint *hint;
	struct synfin_event ev;
	struct synfin_twsock *t;
	unsigned long flags;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	t = synfin_twsock_find(tw);
	/* Stale (the entry of this sock and the exit of the one before were
	 * both missed): not this sock's exit to report. */
	if (t && t->cookie != atomic64_read(&tw->tw_cookie)) {
		synfin_untrack(t);
		synfin_tw_count_stale();
		t = NULL;
	}
	if (t) {
		synfin_tw_event_init(&ev, SYNFIN_EV_TW_EXIT, tw);
		hint = synfin_hint_take(synfin_exit_hints, tw);
		if (hint)
			ev.tw_reason = hint->value;
		else if (!check_net(twsk_net(tw)))
			/* inet_twsk_purge() inlines its deschedule: no hint. */
			ev.tw_reason = SYNFIN_TW_NETNS;
		else
			ev.tw_reason = SYNFIN_TW_UNKNOWN;
		ev.oldstate = TCP_TIME_WAIT;
		ev.newstate = TCP_CLOSE;
		ev.tw_substate = t->substate;
		ev.cookie = t->cookie;
		ev.flags |= t->flags;
		synfin_twsock_owner(&ev, t);
		ev.ts_ns = synfin_ring_stamp();
		if (!(t->flags & SYNFIN_F_TW_NO_ENTRY))
			ev.tw_duration_ns = ev.ts_ns - t->enter_ns;
		synfin_tw_state_time(&ev, t, ev.ts_ns);
		ev.tw_count = synfin_untrack(t);
		synfin_record_commit(&ev, synfin_net_id(twsk_net(tw)));
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

/* tw_timer_handler(timer): the kill that follows is an expiry. */
static int synfin_kp_timer(struct kprobe *p, struct pt_regs *regs)
{
	struct timer_list *timer = (void *)regs_get_kernel_argument(regs, 0);
	const struct inet_timewait_sock *tw =
		container_of(timer, struct inet_timewait_sock, tw_timer);

	synfin_hint_leave(synfin_exit_hints, tw, SYNFIN_TW_EXPIRED, 0);
	return 0;
}

/* inet_twsk_deschedule_put(tw): an early kill; work out who asked. */
static int synfin_kp_deschedule(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	struct synfin_hint *seg;
	unsigned long flags;
	u8 reason;

	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	seg = synfin_hint_take(synfin_seg_hints, tw);
	if (seg && in_serving_softirq()) {
		/* tcp_timewait_state_process() just judged a segment for it. */
		if (seg->value & SYNFIN_SEG_RST)
			reason = SYNFIN_TW_RST;
		else if ((seg->value & SYNFIN_SEG_SYN) && seg->substate == TCP_TIME_WAIT)
			reason = SYNFIN_TW_RECYCLED;
		else
			reason = SYNFIN_TW_SEGMENT;
	} else if (!check_net(twsk_net(tw))) {
		reason = SYNFIN_TW_NETNS;
	} else if (synfin_hint_take(synfin_reuse_hints, tw)) {
		reason = SYNFIN_TW_REUSED;
	} else if (synfin_hint_take(synfin_abort_hints, tw)) {
		reason = SYNFIN_TW_DESTROYED;
	} else {
		reason = SYNFIN_TW_UNKNOWN;
	}
	synfin_hint_set(synfin_exit_hints, tw, reason, 0);
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

/* tcp_timewait_state_process(tw, skb, th): a segment reached tw. */
static int synfin_kp_segment(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	const struct tcphdr *th = (void *)regs_get_kernel_argument(regs, 2);
	u8 seg = (th->rst ? SYNFIN_SEG_RST : 0) | (th->syn ? SYNFIN_SEG_SYN : 0);

	synfin_hint_leave(synfin_seg_hints, tw, seg, tw->tw_substate);
	return 0;
}

/* tcp_twsk_unique(sk, sktw, twp): connect() considers reusing sktw. */
static int synfin_kp_unique(struct kprobe *p, struct pt_regs *regs)
{
	const void *tw = (void *)regs_get_kernel_argument(regs, 1);

	synfin_hint_leave(synfin_reuse_hints, tw, 1, 0);
	return 0;
}

/* tcp_abort(sk, err): SOCK_DESTROY, e.g. `ss -K`. */
static int synfin_kp_abort(struct kprobe *p, struct pt_regs *regs)
{
	const struct sock *sk = (void *)regs_get_kernel_argument(regs, 0);

	if (READ_ONCE(sk->sk_state) == TCP_TIME_WAIT)
		synfin_hint_leave(synfin_abort_hints, sk, 1, 0);
	return 0;
}

/* __inet_twsk_schedule(tw, timeo, rearm): a FIN may have moved the substate. */
static int synfin_kp_reschedule(struct kprobe *p, struct pt_regs *regs)
{
	const struct inet_timewait_sock *tw = (void *)regs_get_kernel_argument(regs, 0);
	bool rearm = regs_get_kernel_argument(regs, 2);
	struct synfin_event ev;
	struct synfin_twsock *t;
	unsigned long flags;

	if (!rearm)
		return 0;
	raw_spin_lock_irqsave(&synfin_tw_lock, flags);
	t = synfin_twsock_find(tw);
	if (t && t->substate != tw->tw_substate) {
		synfin_substate_count(t->ns, t->substate, -1);
		synfin_substate_count(t->ns, tw->tw_substate, 1);
		synfin_tw_event_init(&ev, SYNFIN_EV_STATE, tw);
		ev.flags |= SYNFIN_F_TIMEWAIT;
		ev.oldstate = t->substate;
		ev.newstate = tw->tw_substate;
		ev.tw_substate = tw->tw_substate;
		ev.cookie = t->cookie;
		ev.tw_count = t->ns->c.total;
		synfin_twsock_owner(&ev, t);
		ev.ts_ns = synfin_ring_stamp();
		synfin_tw_state_time(&ev, t, ev.ts_ns);
		t->substate = tw->tw_substate;
		synfin_record_commit(&ev, synfin_net_id(twsk_net(tw)));
	}
	raw_spin_unlock_irqrestore(&synfin_tw_lock, flags);
	return 0;
}

static struct kprobe synfin_tw_enter_kprobe = {
	.pre_handler = synfin_kp_hashdance, .post_handler = synfin_kp_unoptimized,
};

#define SYNFIN_TW_KPROBE(sym, fn) \
	{ .symbol_name = sym, .pre_handler = fn, .post_handler = synfin_kp_unoptimized }

static struct kprobe synfin_tw_kprobes[] = {
	SYNFIN_TW_KPROBE("inet_twsk_kill", synfin_kp_kill),
	SYNFIN_TW_KPROBE("tw_timer_handler", synfin_kp_timer),
	SYNFIN_TW_KPROBE("inet_twsk_deschedule_put", synfin_kp_deschedule),
	SYNFIN_TW_KPROBE("tcp_timewait_state_process", synfin_kp_segment),
	SYNFIN_TW_KPROBE("tcp_twsk_unique", synfin_kp_unique),
	SYNFIN_TW_KPROBE("tcp_abort", synfin_kp_abort),
	SYNFIN_TW_KPROBE("__inet_twsk_schedule", synfin_kp_reschedule),
};

/* Hits skipped by the kprobe core (one probe nested in another's handler). */
u64 synfin_timewait_missed(void)
{
	u64 n = synfin_tw_enter_kprobe.nmissed;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(synfin_tw_kprobes); i++)
		n += synfin_tw_kprobes[i].nmissed;
	return n;
}

static struct kprobe *synfin_tw_kprobe_ptrs[ARRAY_SIZE(synfin_tw_kprobes)];

int synfin_tw_hooks_init(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(synfin_tw_kprobes); i++)
		synfin_tw_kprobe_ptrs[i] = &synfin_tw_kprobes[i];
	err = register_kprobes(synfin_tw_kprobe_ptrs, ARRAY_SIZE(synfin_tw_kprobe_ptrs));
	if (err) {
		pr_err("cannot kprobe the timewait paths: %d\n", err);
		return err;
	}
	/* Armed last: an entry must never be seen without its exit hook. */
	synfin_tw_enter_kprobe.symbol_name = SYNFIN_TW_HASHDANCE_SCHEDULE;
	synfin_tw_enter_with_timeo = true;
	err = register_kprobe(&synfin_tw_enter_kprobe);
	if (err == -ENOENT || err == -EINVAL) {
		memset(&synfin_tw_enter_kprobe, 0, sizeof(synfin_tw_enter_kprobe));
		synfin_tw_enter_kprobe.pre_handler = synfin_kp_hashdance;
		synfin_tw_enter_kprobe.post_handler = synfin_kp_unoptimized;
		synfin_tw_enter_kprobe.symbol_name = SYNFIN_TW_HASHDANCE;
		synfin_tw_enter_with_timeo = false;
		err = register_kprobe(&synfin_tw_enter_kprobe);
	}
	if (err) {
		pr_err("cannot kprobe %s or %s (timewait entry): %d\n",
		       SYNFIN_TW_HASHDANCE_SCHEDULE, SYNFIN_TW_HASHDANCE, err);
		goto unregister_kprobes;
	}
	return 0;

unregister_kprobes:
	unregister_kprobes(synfin_tw_kprobe_ptrs, ARRAY_SIZE(synfin_tw_kprobe_ptrs));
	return err;
}

void synfin_tw_hooks_exit(void)
{
	/* Entry first, so no sock is counted without its exit hook; both wait
	 * until no handler runs any more. */
	unregister_kprobe(&synfin_tw_enter_kprobe);
	unregister_kprobes(synfin_tw_kprobe_ptrs, ARRAY_SIZE(synfin_tw_kprobe_ptrs));
}
