// SPDX-License-Identifier: GPL-2.0
/*
 * The kprobe hook mode: for kernels or setups where the tracepoint cannot
 * be used. sock:inet_sock_set_state fires in exactly two functions,
 * inet_sk_state_store() (every tcp_set_state() goes through it, and
 * listen()) and inet_sk_set_state() (the passive-open child clone and a
 * few closes), so probing those two sees exactly the tracepoint's events,
 * with the same old state: sk->sk_state before the store.
 */
#include <linux/ftrace.h>
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

/*
 * Register @kp (by symbol_name) as an int3 trap, whose handler runs with
 * interrupts off (see synfin_kp_unoptimized()): where the core put it on
 * the function's ftrace call site, move it to the next instruction. The
 * arguments are still in their registers there. If the kernel refuses that
 * address, keep the ftrace probe (nmissed, in hook_missed, tells of skips).
 */
int synfin_kprobe_register(struct kprobe *kp)
{
	int err = register_kprobe(kp);
#ifdef MCOUNT_INSN_SIZE
	kprobe_opcode_t *site;

	if (err || !(kp->flags & KPROBE_FLAG_FTRACE))
		return err;
	site = kp->addr;
	unregister_kprobe(kp);
	kp->symbol_name = NULL;
	kp->offset = 0;
	kp->flags = 0;
	kp->nmissed = 0;
	kp->addr = (kprobe_opcode_t *)((unsigned long)site + MCOUNT_INSN_SIZE);
	err = register_kprobe(kp);
	if (err) {
		pr_warn("kprobe at %pS refused (%d); using its ftrace call site\n",
			kp->addr, err);
		kp->addr = site;
		kp->flags = 0;
		err = register_kprobe(kp);
	}
#endif
	return err;
}

int synfin_kprobes_register(struct kprobe **kps, int num)
{
	int i, err;

	for (i = 0; i < num; i++) {
		err = synfin_kprobe_register(kps[i]);
		if (err) {
			while (--i >= 0)
				unregister_kprobe(kps[i]);
			return err;
		}
	}
	return 0;
}

int synfin_hook_kprobe_register(void)
{
	int err = synfin_kprobes_register(synfin_state_kprobes,
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
