// SPDX-License-Identifier: GPL-2.0
/* /proc/net/synfin_tw: the reading netns's counts, for people to `cat`. */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/socket.h>
#include <net/net_namespace.h>
#include "timewait.h"

#define SYNFIN_PROC_TOP	10

static int synfin_tw_proc_show(struct seq_file *m, void *v)
{
	static const char *const names[3] = { "lport", "rport", "peer" };
	struct synfin_tw_key *rows[3];
	struct synfin_tw_counts c;
	u32 n[3], kind, i;

	if (synfin_rows_alloc(rows, SYNFIN_PROC_TOP))
		return -ENOMEM;
	synfin_timewait_collect(synfin_net_id(seq_file_single_net(m)),
				seq_file_single_net(m)->ns.inum, &c, rows, n,
				SYNFIN_PROC_TOP);
	seq_printf(m, "netns %u\ntotal %u\ntime_wait %u\nfin_wait2 %u\n",
		   c.netns, c.total, c.time_wait, c.fin_wait2);
	seq_printf(m, "overflow lport %u rport %u peer %u\n", c.lport_overflow,
		   c.rport_overflow, c.peer_overflow);
	for (kind = 0; kind < 3; kind++) {
		for (i = 0; i < n[kind]; i++) {
			const struct synfin_tw_key *r = &rows[kind][i];

			if (kind != SYNFIN_KEY_PEER)
				seq_printf(m, "%s %u %u\n", names[kind], r->port, r->count);
			else if (r->family == AF_INET6)
				seq_printf(m, "peer %pI6c %u\n", r->addr, r->count);
			else
				seq_printf(m, "peer %pI4 %u\n", r->addr, r->count);
		}
	}
	synfin_rows_free(rows);
	return 0;
}

/* This netns's file (netns.c makes one per netns); NULL if it cannot. */
struct proc_dir_entry *synfin_tw_proc_create(struct net *net)
{
	/* Without timewait (families=) there are no counts to show. */
	if (!synfin_family(SYNFIN_FAM_TIMEWAIT))
		return ERR_PTR(-EOPNOTSUPP);
	return proc_create_net_single("synfin_tw", 0444, net->proc_net,
				      synfin_tw_proc_show, NULL);
}
