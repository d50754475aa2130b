// SPDX-License-Identifier: GPL-2.0
/*
 * The kprobe hook mode: for kernels or setups where the tracepoint cannot
 * be used. sock:inet_sock_set_state fires in exactly two functions,
 * inet_sk_state_store() (every tcp_set_state() goes through it, and
 * listen()) and inet_sk_set_state() (the passive-open child clone and a
 * few closes), so probing those two sees exactly the tracepoint's events,
 * with the same old state: sk->sk_state before the store.
 */
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <net/sock.h>
#include "synfin.h"

static int synfin_kp_state(struct kprobe *p, struct pt_regs *regs)
{
	const struct sock *sk = (const void *)regs_get_kernel_argument(regs, 0);
	int newstate = (int)regs_get_kernel_argument(regs, 1);

	synfin_record_state(sk, READ_ONCE(sk->sk_state), newstate);
	return 0;
}

static struct kprobe synfin_kp_state_store = {
	.symbol_name	= "inet_sk_state_store",
	.pre_handler	= synfin_kp_state,
	.post_handler	= synfin_kp_unoptimized,
};

static struct kprobe synfin_kp_set_state = {
	.symbol_name	= "inet_sk_set_state",
	.pre_handler	= synfin_kp_state,
	.post_handler	= synfin_kp_unoptimized,
};

static struct kprobe *synfin_state_kprobes[] = {
	&synfin_kp_state_store,
	&synfin_kp_set_state,
};

int synfin_hook_kprobe_register(void)
{
	int err = register_kprobes(synfin_state_kprobes,
				   ARRAY_SIZE(synfin_state_kprobes));

	if (err)
		pr_err("cannot kprobe inet_sk_state_store/inet_sk_set_state: %d\n",
		       err);
	return err;
}

u64 synfin_hook_kprobe_missed(void)
{
	return synfin_kp_state_store.nmissed + synfin_kp_set_state.nmissed;
}

void synfin_hook_kprobe_unregister(void)
{
	/* Waits until no handler runs any more. */
	unregister_kprobes(synfin_state_kprobes, ARRAY_SIZE(synfin_state_kprobes));
}
