/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference synfin meets, in one place. Force-included
 * into each module source file by module/Kbuild, so no other file tests
 * LINUX_VERSION_CODE.
 */
#ifndef _SYNFIN_COMPAT_H
#define _SYNFIN_COMPAT_H

/* Every message says it comes from synfin. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 10, 0)
#error "synfin needs Linux 5.10 or newer"
#endif

#include <linux/jiffies.h>
#include <linux/timer.h>
#include <net/inet_timewait_sock.h>

#include <net/net_namespace.h>

/*
 * The established hash the load-time walk reads. 6.1 keeps a pointer per
 * netns (init_net's is the shared table); 6.12 no longer exports
 * tcp_hashinfo itself.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
#define synfin_tcp_hashinfo()	(init_net.ipv4.tcp_death_row.hashinfo)
#else
#define synfin_tcp_hashinfo()	(&tcp_hashinfo)
#endif

/*
 * Where a timewait sock is hashed in. Newer kernels (6.12) do it in
 * inet_twsk_hashdance_schedule(tw, sk, hashinfo, timeo), which also arms
 * the timer; older ones call inet_twsk_schedule() (timer armed) and then
 * inet_twsk_hashdance(tw, sk, hashinfo). tw_hooks.c probes for the first
 * and falls back to the second; these give the armed timeout for each.
 */
#define SYNFIN_TW_HASHDANCE_SCHEDULE	"inet_twsk_hashdance_schedule"
#define SYNFIN_TW_HASHDANCE		"inet_twsk_hashdance"

static inline u32 synfin_tw_timeout_from_timer(const struct inet_timewait_sock *tw)
{
	unsigned long expires = READ_ONCE(tw->tw_timer.expires);

	if (!timer_pending(&tw->tw_timer) || time_after(jiffies, expires))
		return 0;
	return jiffies_to_msecs(expires - jiffies);
}

/*
 * hrtimer_setup() (6.13) sets the callback with the clock and mode;
 * hrtimer_init() is gone in 7.x.
 */
#include <linux/hrtimer.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define synfin_hrtimer_setup(timer, fn, clock, mode)	hrtimer_setup(timer, fn, clock, mode)
#else
static inline void synfin_hrtimer_setup(struct hrtimer *timer,
					enum hrtimer_restart (*fn)(struct hrtimer *),
					clockid_t clock, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
}
#endif

/*
 * A TCP state change through the kernel's own path, for the test-only
 * producer driver (tests/kmod). tcp_set_state() is not exported from 7.2;
 * inet_sk_set_state() is, and fires the same tracepoint (both hook modes
 * see it), only without tcp_set_state()'s MIB and hash bookkeeping.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 2, 0)
#define synfin_compat_set_state(sk, state)	inet_sk_set_state(sk, state)
#else
#define synfin_compat_set_state(sk, state)	tcp_set_state(sk, state)
#endif

/*
 * A netns identity never reused while the kernel runs: net_cookie, set at
 * netns creation from 5.12. On 5.10 it is generated lazily by a function
 * modules cannot call (and a struct's address is reused): synfin numbers
 * each netns itself, in its pernet init (netns.c).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 12, 0)
static inline u64 synfin_net_id(const struct net *net)
{
	return net->net_cookie;
}
#else
#define SYNFIN_OWN_NET_IDS
u64 synfin_net_id(const struct net *net);
#endif

/*
 * The kernel's own count of a netns's timewait socks, both substates: what
 * /proc/net/sockstat prints as tw, and the established hash they are in.
 * 5.18 made the count a refcount based at 1 in a death row allocated
 * apart (a pointer); 6.1 put the death row back in struct net, with a
 * hash of the netns's own when tcp_child_ehash_entries asks for one.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
#define synfin_net_tw_count(net) \
	((int)refcount_read(&(net)->ipv4.tcp_death_row.tw_refcount) - 1)
#define synfin_net_own_hash(net) \
	((net)->ipv4.tcp_death_row.hashinfo != synfin_tcp_hashinfo())
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
#define synfin_net_tw_count(net) \
	((int)refcount_read(&(net)->ipv4.tcp_death_row->tw_refcount) - 1)
#define synfin_net_own_hash(net)	false
#else
#define synfin_net_tw_count(net) \
	atomic_read(&(net)->ipv4.tcp_death_row.tw_count)
#define synfin_net_own_hash(net)	false
#endif

/*
 * The cgroup v2 id of a socket's cgroup (cgroup_id(): its kernfs node's id,
 * the directory's inode number). Before 5.15, sock_cgroup_data could hold
 * net_prio/net_cls data instead (cgroup v1 in use): then the pointer reads
 * as the root cgroup, which is what the kernel itself does.
 */
#include <linux/cgroup.h>
#include <net/sock.h>
#ifdef CONFIG_SOCK_CGROUP_DATA
static inline u64 synfin_sk_cgroup_id(const struct sock *sk)
{
	struct cgroup *cgrp = sock_cgroup_ptr((struct sock_cgroup_data *)&sk->sk_cgrp_data);

	return cgrp ? cgroup_id(cgrp) : 0;
}
#else
static inline u64 synfin_sk_cgroup_id(const struct sock *sk)
{
	return 0;
}
#endif

#endif /* _SYNFIN_COMPAT_H */
