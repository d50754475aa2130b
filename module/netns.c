// SPDX-License-Identifier: GPL-2.0
/*
 * What synfin keeps for each network namespace, made in its pernet init
 * (for the ones alive at load, and each new one) and dropped at its exit:
 * its /proc/net/synfin_tw (tw_proc.c) and, on 5.10, its identity.
 */
#include <linux/atomic.h>
#include <linux/proc_fs.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include "synfin.h"
#include "timewait.h"

struct synfin_pernet {
	u64 id;				/* SYNFIN_OWN_NET_IDS only */
	struct proc_dir_entry *tw_pde;	/* NULL: it could not be made */
};

static unsigned int synfin_pernet_id;

#ifdef SYNFIN_OWN_NET_IDS
static atomic64_t synfin_net_seq;

/* compat.h: this kernel has no net_cookie to give. */
u64 synfin_net_id(const struct net *net)
{
	const struct synfin_pernet *pn = net_generic(net, synfin_pernet_id);

	return pn->id;
}
#endif

/*
 * A file that cannot be made costs that netns its /proc/net/synfin_tw, not
 * its existence: an optional tracer must never make `ip netns add` or a
 * container start fail, so this never fails.
 */
static int __net_init synfin_pernet_init(struct net *net)
{
	struct synfin_pernet *pn = net_generic(net, synfin_pernet_id);

#ifdef SYNFIN_OWN_NET_IDS
	pn->id = atomic64_inc_return(&synfin_net_seq);
#endif
	pn->tw_pde = synfin_tw_proc_create(net);
	if (IS_ERR(pn->tw_pde))
		pn->tw_pde = NULL;	/* not wanted */
	else if (!pn->tw_pde)
		pr_warn_ratelimited("no /proc/net/synfin_tw in netns %u: cannot create it\n",
				    net->ns.inum);
	return 0;
}

static void __net_exit synfin_pernet_exit(struct net *net)
{
	struct synfin_pernet *pn = net_generic(net, synfin_pernet_id);

	proc_remove(pn->tw_pde);	/* NULL-safe; waits for its readers */
}

static struct pernet_operations synfin_pernet_ops = {
	.init = synfin_pernet_init,
	.exit = synfin_pernet_exit,
	.id = &synfin_pernet_id,
	.size = sizeof(struct synfin_pernet),
};

int synfin_netns_init(void)
{
	return register_pernet_subsys(&synfin_pernet_ops);
}

void synfin_netns_exit(void)
{
	unregister_pernet_subsys(&synfin_pernet_ops);
}
