// SPDX-License-Identifier: GPL-2.0
/*
 * The sock:inet_sock_set_state tracepoint. Its symbol is not exported to
 * modules, so it is found by name among the kernel's tracepoints.
 */
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "synfin.h"

#define SYNFIN_TP_NAME "inet_sock_set_state"

static struct tracepoint *synfin_tp;

/*
 * Tracepoint probes used to run with preemption off; upstream is moving
 * them under SRCU-fast, where they may be preempted and migrate. Nothing
 * here relies on the caller: synfin_record_state() touches per-CPU state
 * only through this_cpu_*() operations or with interrupts off, and takes
 * its CPU (this_cpu_ptr, the ring) inside that section.
 */
static void synfin_tp_probe(void *data, const struct sock *sk,
			    const int oldstate, const int newstate)
{
	synfin_record_state(sk, oldstate, newstate);
}

static void synfin_tp_match(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, SYNFIN_TP_NAME))
		*(struct tracepoint **)priv = tp;
}

int synfin_hook_tracepoint_register(void)
{
	int err;

	synfin_tp = NULL;
	for_each_kernel_tracepoint(synfin_tp_match, &synfin_tp);
	if (!synfin_tp) {
		pr_err("tracepoint sock:%s not found in this kernel\n",
		       SYNFIN_TP_NAME);
		return -ENOENT;
	}
	err = tracepoint_probe_register(synfin_tp, synfin_tp_probe, NULL);
	if (err)
		pr_err("cannot attach to tracepoint sock:%s: %d\n",
		       SYNFIN_TP_NAME, err);
	return err;
}

void synfin_hook_tracepoint_unregister(void)
{
	if (!synfin_tp)
		return;
	tracepoint_probe_unregister(synfin_tp, synfin_tp_probe, NULL);
	/* No probe may still be running when the rings are freed. */
	tracepoint_synchronize_unregister();
	synfin_tp = NULL;
}
