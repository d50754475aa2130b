// SPDX-License-Identifier: GPL-2.0
/*
 * Turning a TCP socket into a synfin_event: tuple, netns, cookie, owner.
 */
#include <linux/in.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include "synfin.h"

struct synfin_hook_counters {
	u64 seen;
	u64 filtered;
	u64 cookie_seq;
	/* The last passive-open child cloned on this CPU and its cookie. */
	const struct sock *clone_sk;
	u64 clone_cookie;
};

static DEFINE_PER_CPU(struct synfin_hook_counters, synfin_counters);

/*
 * The socket's cookie, as `ss -e` and BPF see it. The kernel's generator
 * (sock_gen_cookie) is not exported, so a socket without one gets a value
 * from a per-CPU sequence with bit 52 set, stored the way the kernel stores
 * its own (cmpxchg from 0, once): whoever asks later gets the same value.
 * The kernel counts up from 1 and would need 2^52 sockets to meet that
 * range; staying below 2^53 keeps every cookie exact in JSON (doubles).
 */
static u64 synfin_new_cookie(void)
{
	return BIT_ULL(52) | ((u64)(raw_smp_processor_id() & 0xfff) << 40) |
	       (this_cpu_inc_return(synfin_counters.cookie_seq) &
		GENMASK_ULL(39, 0));
}

static u64 synfin_sock_cookie(const struct sock *csk, int oldstate,
			      int newstate)
{
	struct sock *sk = (struct sock *)csk;	/* only the lazy cookie field */
	struct synfin_hook_counters *hc = this_cpu_ptr(&synfin_counters);
	u64 cookie, prev;

	/*
	 * A passive-open child fires LISTEN->SYN_RECV inside
	 * inet_csk_clone_lock() while its cookie field still holds the
	 * listener's copy; right after, the kernel overwrites it with the
	 * request sock's cookie (usually 0). So give the clone a fresh cookie,
	 * remember it on this CPU, and store it into the child at its next
	 * event (SYN_RECV->..., same softirq, same CPU).
	 */
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		hc->clone_sk = csk;
		hc->clone_cookie = synfin_new_cookie();
		return hc->clone_cookie;
	}
	cookie = atomic64_read(&sk->sk_cookie);
	if (cookie)
		return cookie;
	if (hc->clone_sk == csk && oldstate == TCP_SYN_RECV) {
		cookie = hc->clone_cookie;
		hc->clone_sk = NULL;
	} else {
		cookie = synfin_new_cookie();
	}
	prev = atomic64_cmpxchg(&sk->sk_cookie, 0, cookie);
	return prev ? prev : cookie;
}

static void synfin_fill_owner(struct synfin_event *ev)
{
	/* In softirq, `current` is whoever was interrupted: not the owner. */
	if (!in_task()) {
		ev->flags |= SYNFIN_F_SOFTIRQ;
		return;
	}
	ev->pid = current->pid;
	ev->tgid = current->tgid;
	BUILD_BUG_ON(sizeof(ev->comm) != TASK_COMM_LEN);
	memcpy(ev->comm, current->comm, sizeof(ev->comm));
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

void synfin_record_state(const struct sock *sk, int oldstate, int newstate)
{
	struct synfin_event ev;

	this_cpu_inc(synfin_counters.seen);
	/* SCTP, DCCP and MPTCP fire the same tracepoint. */
	if (sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		this_cpu_inc(synfin_counters.filtered);
		return;
	}

	memset(&ev, 0, sizeof(ev));
	ev.abi = SYNFIN_ABI_VERSION;
	ev.kind = SYNFIN_EV_STATE;
	ev.oldstate = oldstate;
	ev.newstate = newstate;
	ev.netns = sock_net(sk)->ns.inum;
	ev.cookie = synfin_sock_cookie(sk, oldstate, newstate);
	synfin_fill_tuple(&ev, sk);
	synfin_fill_owner(&ev);
	synfin_ring_write(&ev);
}

void synfin_record_stats(struct synfin_stats *st)
{
	int cpu;

	st->seen = 0;
	st->filtered = 0;
	for_each_possible_cpu(cpu) {
		const struct synfin_hook_counters *hc =
			per_cpu_ptr(&synfin_counters, cpu);

		st->seen += READ_ONCE(hc->seen);
		st->filtered += READ_ONCE(hc->filtered);
	}
}
