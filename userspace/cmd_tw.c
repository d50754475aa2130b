// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin tw`: TIME_WAIT counts from the module's live counters (no walk of
 * the socket table, unlike ss): total (what /proc/net/sockstat calls "tw"),
 * by substate (TIME_WAIT is what `ss state time-wait` lists; FIN_WAIT2 are
 * orphans handed to a timewait sock), and the busiest local ports, remote
 * ports and peers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "viewer.h"

struct tw_view {
	struct synfin_tw_query q;
	struct synfin_tw_key *rows;	/* lports, rports, peers: top each */
};

static int tw_fetch(int fd, uint32_t netns, unsigned int top, struct tw_view *v)
{
	memset(&v->q, 0, sizeof(v->q));
	v->q.netns = netns;
	v->q.max_keys = top;
	v->q.lports = (uintptr_t)v->rows;
	v->q.rports = (uintptr_t)(v->rows + top);
	v->q.peers = (uintptr_t)(v->rows + 2 * top);
	if (ioctl(fd, SYNFIN_IOC_TW_QUERY, &v->q)) {
		report_error("TIME_WAIT query: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void peer_text(char *out, size_t len, const struct synfin_tw_key *k)
{
	if (!inet_ntop(k->family == SYNFIN_AF_INET6 ? AF_INET6 : AF_INET, k->addr, out, len))
		snprintf(out, len, "?");
}

static void print_keys_json(const char *name, const struct synfin_tw_key *k,
			    uint32_t n, bool peers)
{
	char a[INET6_ADDRSTRLEN];

	printf(", \"%s\": [", name);
	for (uint32_t i = 0; i < n; i++) {
		if (peers) {
			peer_text(a, sizeof(a), &k[i]);
			printf("%s{\"addr\": \"%s\", \"family\": \"%s\", \"count\": %u}",
			       i ? ", " : "", a,
			       k[i].family == SYNFIN_AF_INET6 ? "inet6" : "inet", k[i].count);
		} else {
			printf("%s{\"port\": %u, \"count\": %u}", i ? ", " : "", k[i].port,
			       k[i].count);
		}
	}
	printf("]");
}

static void print_view_json(const struct tw_view *v, unsigned int top)
{
	const struct synfin_tw_counts *c = &v->q.counts;

	printf("{\"netns\": %u, \"total\": %u, \"time_wait\": %u, \"fin_wait2\": %u",
	       c->netns, c->total, c->time_wait, c->fin_wait2);
	print_keys_json("ports", v->rows, v->q.n_lports, false);
	print_keys_json("remote_ports", v->rows + top, v->q.n_rports, false);
	print_keys_json("peers", v->rows + 2 * top, v->q.n_peers, true);
	printf(", \"overflow\": {\"ports\": %u, \"remote_ports\": %u, \"peers\": %u}}",
	       c->lport_overflow, c->rport_overflow, c->peer_overflow);
}

static void print_view_table(const struct tw_view *v, unsigned int top)
{
	const struct synfin_tw_counts *c = &v->q.counts;
	const struct synfin_tw_key *lp = v->rows, *rp = v->rows + top, *pe = v->rows + 2 * top;
	uint32_t rows = v->q.n_lports;
	char a[INET6_ADDRSTRLEN];

	printf("netns %u: %u in timewait (TIME_WAIT %u, FIN_WAIT2 %u)\n",
	       c->netns, c->total, c->time_wait, c->fin_wait2);
	if (v->q.n_rports > rows)
		rows = v->q.n_rports;
	if (v->q.n_peers > rows)
		rows = v->q.n_peers;
	if (!rows)
		return;
	printf("  %-10s %8s   %-11s %8s   %-39s %8s\n", "LOCAL PORT", "COUNT",
	       "REMOTE PORT", "COUNT", "PEER", "COUNT");
	for (uint32_t i = 0; i < rows; i++) {
		if (i < v->q.n_lports)
			printf("  %-10u %8u   ", lp[i].port, lp[i].count);
		else
			printf("  %-10s %8s   ", "", "");
		if (i < v->q.n_rports)
			printf("%-11u %8u   ", rp[i].port, rp[i].count);
		else
			printf("%-11s %8s   ", "", "");
		if (i < v->q.n_peers) {
			peer_text(a, sizeof(a), &pe[i]);
			printf("%-39s %8u", a, pe[i].count);
		}
		printf("\n");
	}
	if (c->lport_overflow || c->rport_overflow || c->peer_overflow)
		printf("  (not in the tables, counted apart: %u by local port, %u by remote port, %u by peer)\n",
		       c->lport_overflow, c->rport_overflow, c->peer_overflow);
}

int cmd_tw(const struct options *opt)
{
	unsigned int top = opt->top_set ? opt->top : 10;
	struct synfin_tw_counts *all = NULL;
	struct synfin_tw_netns_list list;
	struct source src;
	struct tw_view v;
	uint32_t i;
	int ret = EXIT_RUNTIME;

	if (opt->read_file) {
		report_error("tw reads live counters; -r does not apply (use tail -r for captures)");
		return EXIT_USAGE;
	}
	if (source_open(&src, opt))
		return EXIT_RUNTIME;
	v.rows = calloc(3 * (size_t)top + 1, sizeof(*v.rows));
	if (!v.rows)
		goto out;

	if (!opt->all_netns) {
		if (tw_fetch(src.fd, 0, top, &v))
			goto out;
		if (opt->format == OUT_JSON)
			print_view_json(&v, top), printf("\n");
		else
			print_view_table(&v, top);
		ret = EXIT_OK;
		goto out;
	}

	list.max = 4096;
	all = calloc(list.max, sizeof(*all));
	list.counts = (uintptr_t)all;
	if (!all || ioctl(src.fd, SYNFIN_IOC_TW_NETNS, &list)) {
		report_error("listing network namespaces: %s", all ? strerror(errno) : "out of memory");
		goto out;
	}
	if (opt->format == OUT_JSON) {
		uint64_t t = 0, tw = 0, fw2 = 0;

		for (i = 0; i < list.n; i++) {
			t += all[i].total;
			tw += all[i].time_wait;
			fw2 += all[i].fin_wait2;
		}
		printf("{\"total\": %llu, \"time_wait\": %llu, \"fin_wait2\": %llu, \"netns\": [",
		       (unsigned long long)t, (unsigned long long)tw, (unsigned long long)fw2);
	}
	for (i = 0; i < list.n; i++) {
		if (tw_fetch(src.fd, all[i].netns, top, &v))
			goto out;
		if (opt->format == OUT_JSON) {
			if (i)
				printf(", ");
			print_view_json(&v, top);
		} else {
			print_view_table(&v, top);
		}
	}
	if (opt->format == OUT_JSON)
		printf("]}\n");
	else if (!list.n)
		printf("no timewait sockets in any network namespace\n");
	ret = EXIT_OK;
out:
	free(all);
	free(v.rows);
	source_close(&src);
	return ret;
}
