// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin life`: one line per finished connection (like bcc's tcplife),
 * with the time spent in each state and who closed first. An active closer
 * is finished when its timewait sock is gone, so its line comes when
 * TIME_WAIT ends (60 s after the close), with TIME_WAIT's real length.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"

/* The columns of state times, in lifecycle order. */
static const struct {
	const char *head, *key;
	uint8_t s1, s2;		/* states summed into the column */
} cols[] = {
	{ "SYN",  "syn",          SYNFIN_TCP_SYN_SENT,    SYNFIN_TCP_SYN_RECV },
	{ "EST",  "established",  SYNFIN_TCP_ESTABLISHED, 0 },
	{ "FW1",  "fin_wait1",    SYNFIN_TCP_FIN_WAIT1,   0 },
	{ "FW2",  "fin_wait2",    SYNFIN_TCP_FIN_WAIT2,   0 },
	{ "CW",   "close_wait",   SYNFIN_TCP_CLOSE_WAIT,  0 },
	{ "LA",   "last_ack",     SYNFIN_TCP_LAST_ACK,    0 },
	{ "CLG",  "closing",      SYNFIN_TCP_CLOSING,     0 },
	{ "TW",   "time_wait",    SYNFIN_TCP_TIME_WAIT,   0 },
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static uint64_t col_ns(const struct conn *c, size_t i)
{
	return c->in_state[cols[i].s1] + (cols[i].s2 ? c->in_state[cols[i].s2] : 0);
}

static void print_header(const struct options *opt)
{
	if (opt->format == OUT_CSV) {
		printf("time,pid,comm,family,laddr,lport,raddr,rport,netns,cookie,duration_ms");
		for (size_t i = 0; i < NCOLS; i++)
			printf(",%s_ms", cols[i].key);
		printf(",closer,partial,tx_bytes,rx_bytes,segs_out,segs_in,retrans,srtt_us,"
		       "rttvar_us,min_rtt_us,uid,cgroup,cgroup_id\n");
	} else if (opt->format == OUT_TABLE) {
		printf("%-15s %-7s %-12s %-24s %-24s %7s %7s %9s", "TIME", "PID", "COMM", "LOCAL",
		       "REMOTE", "TX_KB", "RX_KB", "MS");
		for (size_t i = 0; i < NCOLS; i++)
			printf(" %8s", cols[i].head);
		printf("  CLOSER\n");
	}
}

static void ms_text(char *out, size_t len, uint64_t ns)
{
	snprintf(out, len, "%" PRIu64 ".%03" PRIu64, ns / 1000000, ns / 1000 % 1000);
}

/* tcplife's TX_KB/RX_KB: KiB, rounded down; "-" when not known. */
static void kb_text(char *out, size_t len, bool known, uint64_t bytes)
{
	if (known)
		snprintf(out, len, "%" PRIu64, bytes / 1024);
	else
		snprintf(out, len, "-");
}

static void print_conn(const struct conn *c, const struct options *opt,
		       const struct synfin_clock *clock, uint64_t first_ts)
{
	struct synfin_event end = c->tuple;
	char l[64], r[64], t[48], comm[SYNFIN_COMM_TEXT], ms[32], tx[24], rx[24];
	uint64_t total = c->end_ts - c->first_ts;
	const struct synfin_event *num = &c->numbers;
	const char *cgroup = (num->have & SYNFIN_HAVE_SOCK) ? cgroup_path(num->cgroup_id) : NULL;
	struct event_numbers n;

	end.ts_ns = c->end_ts;
	text_render(comm, sizeof(comm), c->comm, sizeof(c->comm),
		    opt->format == OUT_CSV ? TEXT_CSV : TEXT_TABLE);
	if (opt->format == OUT_JSON) {
		format_addr(l, sizeof(l), &end, true, false);
		format_addr(r, sizeof(r), &end, false, false);
		json_begin(stdout, "life");
		printf("\"ts_ns\": %" PRIu64 ", ", c->end_ts);
		if (opt->wall_clock) {
			format_iso_time(t, sizeof(t), &end, clock);
			printf("\"time\": \"%s\", ", t);
		}
		printf("\"pid\": %u, \"comm\": ", c->tgid);
		json_string(stdout, c->comm, sizeof(c->comm));
		printf(", \"family\": \"%s\", \"saddr\": \"%s\", \"sport\": %u, \"daddr\": \"%s\", "
		       "\"dport\": %u, \"netns\": %u, \"cookie\": %" PRIu64 ", \"start_ns\": %" PRIu64
		       ", \"duration_ns\": %" PRIu64 ", \"states_ns\": {",
		       end.family == SYNFIN_AF_INET6 ? "inet6" : "inet", l, end.sport, r,
		       end.dport, end.netns, c->cookie, c->first_ts, total);
		for (size_t i = 0; i < NCOLS; i++)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "", cols[i].key, col_ns(c, i));
		printf("}, \"closer\": \"%s\", \"open\": \"%s\"", conn_closer_name(c->closer),
		       c->active_open ? "active" : c->passive_open ? "passive" : "unknown");
		if (c->in_timewait)
			printf(", \"tw_reason\": \"%s\"", tw_reason_name(c->tw_reason));
		printf(", \"partial\": %s", c->partial ? "true" : "false");
		event_numbers(&n, num, "null");
		printf(", \"tx_bytes\": %s, \"rx_bytes\": %s, \"segs_out\": %s, \"segs_in\": %s, "
		       "\"retrans\": %s, \"srtt_us\": %s, \"rttvar_us\": %s, \"min_rtt_us\": %s, "
		       "\"uid\": %s, \"cgroup\": ", n.tx, n.rx, n.segs_out, n.segs_in, n.retrans,
		       n.srtt, n.rttvar, n.min_rtt, n.uid);
		if (cgroup)
			json_string(stdout, cgroup, strlen(cgroup));
		else
			fputs("null", stdout);
		printf(", \"cgroup_id\": %s}\n", n.cgroup_id);
		return;
	}
	format_time(t, sizeof(t), &end, clock, opt->wall_clock, first_ts);
	if (opt->format == OUT_CSV) {
		format_addr(l, sizeof(l), &end, true, false);
		format_addr(r, sizeof(r), &end, false, false);
		ms_text(ms, sizeof(ms), total);
		printf("%s,%u,%s,%s,%s,%u,%s,%u,%u,%" PRIu64 ",%s", t, c->tgid, comm,
		       end.family == SYNFIN_AF_INET6 ? "inet6" : "inet", l, end.sport, r,
		       end.dport, end.netns, c->cookie, ms);
		for (size_t i = 0; i < NCOLS; i++) {
			ms_text(ms, sizeof(ms), col_ns(c, i));
			printf(",%s", ms);
		}
		printf(",%s,%d", conn_closer_name(c->closer), c->partial);
		event_numbers(&n, num, "");
		printf(",%s,%s,%s,%s,%s,%s,%s,%s,%s,", n.tx, n.rx, n.segs_out, n.segs_in,
		       n.retrans, n.srtt, n.rttvar, n.min_rtt, n.uid);
		if (cgroup) {
			char *q = malloc(strlen(cgroup) * 2 + 3);

			if (q) {
				text_render(q, strlen(cgroup) * 2 + 3, cgroup,
					    strlen(cgroup), TEXT_CSV);
				fputs(q, stdout);
				free(q);
			}
		}
		printf(",%s\n", n.cgroup_id);
		return;
	}
	format_addr(l, sizeof(l), &end, true, true);
	format_addr(r, sizeof(r), &end, false, true);
	ms_text(ms, sizeof(ms), total);
	kb_text(tx, sizeof(tx), num->have & SYNFIN_HAVE_TCP, num->tx_bytes);
	kb_text(rx, sizeof(rx), num->have & SYNFIN_HAVE_TCP, num->rx_bytes);
	/* A connection seen from the middle: its total is a lower bound. */
	printf("%-15s %-7u %-12.12s %-24s %-24s %7s %7s %8s%s", t, c->tgid, comm, l, r, tx, rx,
	       ms, c->partial ? "+" : " ");
	for (size_t i = 0; i < NCOLS; i++) {
		uint64_t ns = col_ns(c, i);

		if (ns) {
			ms_text(ms, sizeof(ms), ns);
			printf(" %8s", ms);
		} else {
			printf(" %8s", "-");
		}
	}
	printf("  %s\n", conn_closer_name(c->closer));
}

int cmd_life(const struct options *opt)
{
	struct options o = *opt;
	struct conn_table table;
	struct synfin_event ev;
	struct source src;
	struct conn *c;
	uint64_t first_ts = 0;
	long long n = 0;
	int rc = 0;

	/* The module drops only what no connection of interest can need. */
	o.filter = conn_event_filter(&opt->filter, false);
	if (conn_table_init(&table, false)) {
		report_error("out of memory");
		return EXIT_RUNTIME;
	}
	if (source_open(&src, &o)) {
		conn_table_free(&table);
		return EXIT_RUNTIME;
	}
	print_header(opt);
	while (!stop_requested && (rc = source_next(&src, &ev)) > 0) {
		if (!first_ts)
			first_ts = ev.ts_ns;
		if (ev.kind == SYNFIN_EV_LOST) {
			/* Said, not hidden: lines after this may lack states. */
			if (opt->format == OUT_JSON) {
				json_begin(stdout, "lost");
				printf("\"lost\": %llu, \"ts_ns\": %llu}\n",
				       (unsigned long long)ev.lost, (unsigned long long)ev.ts_ns);
			} else if (opt->format == OUT_TABLE)
				printf("*** lost %llu events (reader fell behind): some connections are incomplete ***\n",
				       (unsigned long long)ev.lost);
			continue;
		}
		if (conn_feed(&table, &ev, &c) != CONN_GONE)
			continue;
		if (conn_matches(c, &opt->filter)) {
			print_conn(c, opt, &src.clock, first_ts);
			n++;
		}
		conn_remove(&table, c);
		if (src.next == src.len && !output_flush())
			break;
		if (opt->max_events && n >= opt->max_events)
			break;
	}
	source_close(&src);
	conn_table_free(&table);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
