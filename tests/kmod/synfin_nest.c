// SPDX-License-Identifier: GPL-2.0
/*
 * synfin_nest: make the kernel skip synfin's timewait exit hook, the way
 * it really happens (a kprobe hit while another probe's handler runs is
 * not run: nmissed), so the tw_heal test can see synfin's counts heal.
 *
 * A kprobe on tcp_abort() (SOCK_DESTROY: `ss -K`): for the next `kills`
 * timewait socks it is called on, its handler kills the sock itself, the
 * way tcp_abort() would (a reference, BH off, inet_twsk_deschedule_put()).
 * The kill runs inside this probe's handler, so synfin's probes on
 * inet_twsk_deschedule_put() and inet_twsk_kill() are skipped. tcp_abort()
 * then finds the timer gone and only drops its reference. Test use only.
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/inet_timewait_sock.h>
#include <net/tcp_states.h>

static atomic_t synfin_nest_kills = ATOMIC_INIT(1);
static int synfin_nest_kills_param = 1;
module_param_named(kills, synfin_nest_kills_param, int, 0444);
MODULE_PARM_DESC(kills, "Timewait socks to kill inside the probe, unseen by synfin (default 1)");

static int synfin_nest_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct inet_timewait_sock *tw;

	if (READ_ONCE(sk->sk_state) != TCP_TIME_WAIT ||
	    atomic_dec_if_positive(&synfin_nest_kills) < 0)
		return 0;
	tw = inet_twsk(sk);
	refcount_inc(&tw->tw_refcnt);
	local_bh_disable();
	inet_twsk_deschedule_put(tw);
	local_bh_enable();
	return 0;
}

static void synfin_nest_post(struct kprobe *p, struct pt_regs *regs,
			     unsigned long flags)
{
}

static struct kprobe synfin_nest_probe = {
	.symbol_name	= "tcp_abort",
	.pre_handler	= synfin_nest_pre,
	.post_handler	= synfin_nest_post,	/* not optimized into a jump */
};

static int __init synfin_nest_init(void)
{
	atomic_set(&synfin_nest_kills, synfin_nest_kills_param);
	return register_kprobe(&synfin_nest_probe);
}

static void __exit synfin_nest_exit(void)
{
	unregister_kprobe(&synfin_nest_probe);
}

module_init(synfin_nest_init);
module_exit(synfin_nest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("synfin test helper: timewait kills synfin's hooks cannot see");
