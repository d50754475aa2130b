// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin metrics`: the module's counters and TIME_WAIT counts in the
 * Prometheus text exposition format (version 0.0.4), for a scrape wrapper or
 * node_exporter's textfile collector (--textfile).
 *
 * Everything is read first, then written: a failing ioctl leaves no half
 * file behind, and every family is written whole (HELP, TYPE, its samples),
 * never interleaved with another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "viewer.h"

struct snapshot {
	bool module_wide;	/* stats and transitions readable (CAP_NET_ADMIN) */
	struct synfin_stats stats;
	struct synfin_transitions tr;
	bool have_health;	/* SYNFIN_IOC_HEALTH answered (older modules: ENOTTY) */
	struct synfin_health health;
	struct tw_view *ns;		/* one per netns shown */
	size_t n_ns;
};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped (0.0.4). */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* name{k1="v1",k2="v2"} value; labels: key, value pairs, NULL-terminated. */
static void sample(FILE *f, const char *name, const char *const *labels,
		   unsigned long long value)
{
	fputs(name, f);
	for (size_t i = 0; labels && labels[i]; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "{", labels[i]);
		label_value(f, labels[i + 1]);
		fputc('"', f);
		if (!labels[i + 2])
			fputc('}', f);
	}
	fprintf(f, " %llu\n", value);
}

static void plain(FILE *f, const char *name, const char *type, const char *help,
		  unsigned long long value)
{
	family(f, name, type, help);
	sample(f, name, NULL, value);
}

static void write_timewait(FILE *f, const struct snapshot *s)
{
	char ns[16], port[8], peer[64];
	size_t i;

	family(f, "synfin_timewait_sockets", "gauge",
	       "Timewait sockets by substate: time_wait (what ss state time-wait lists) and fin_wait2 (orphans handed to a timewait sock).");
	for (i = 0; i < s->n_ns; i++) {
		const struct synfin_tw_counts *c = &s->ns[i].q.counts;

		snprintf(ns, sizeof(ns), "%u", c->netns);
		sample(f, "synfin_timewait_sockets",
		       (const char *const[]){ "netns", ns, "state", "time_wait", NULL }, c->time_wait);
		sample(f, "synfin_timewait_sockets",
		       (const char *const[]){ "netns", ns, "state", "fin_wait2", NULL }, c->fin_wait2);
	}

	family(f, "synfin_timewait_sockets_all", "gauge",
	       "Timewait sockets, both substates: what /proc/net/sockstat calls tw.");
	for (i = 0; i < s->n_ns; i++) {
		snprintf(ns, sizeof(ns), "%u", s->ns[i].q.counts.netns);
		sample(f, "synfin_timewait_sockets_all", (const char *const[]){ "netns", ns, NULL },
		       s->ns[i].q.counts.total);
	}

	family(f, "synfin_timewait_port_sockets", "gauge",
	       "Timewait sockets on the busiest local and remote ports.");
	for (i = 0; i < s->n_ns; i++) {
		const struct tw_view *v = &s->ns[i];

		snprintf(ns, sizeof(ns), "%u", v->q.counts.netns);
		for (uint32_t k = 0; k < v->q.n_lports; k++) {
			snprintf(port, sizeof(port), "%u", v->lports[k].port);
			sample(f, "synfin_timewait_port_sockets",
			       (const char *const[]){ "netns", ns, "side", "local", "port", port, NULL },
			       v->lports[k].count);
		}
		for (uint32_t k = 0; k < v->q.n_rports; k++) {
			snprintf(port, sizeof(port), "%u", v->rports[k].port);
			sample(f, "synfin_timewait_port_sockets",
			       (const char *const[]){ "netns", ns, "side", "remote", "port", port, NULL },
			       v->rports[k].count);
		}
	}

	family(f, "synfin_timewait_peer_sockets", "gauge",
	       "Timewait sockets to the busiest remote addresses.");
	for (i = 0; i < s->n_ns; i++) {
		const struct tw_view *v = &s->ns[i];

		snprintf(ns, sizeof(ns), "%u", v->q.counts.netns);
		for (uint32_t k = 0; k < v->q.n_peers; k++) {
			tw_peer_text(peer, sizeof(peer), &v->peers[k]);
			sample(f, "synfin_timewait_peer_sockets",
			       (const char *const[]){ "netns", ns, "peer", peer, NULL }, v->peers[k].count);
		}
	}

	/* Without it, a full per-key table would make the top lists look
	 * complete when they are not. */
	family(f, "synfin_timewait_unlisted_sockets", "gauge",
	       "Timewait sockets counted in no per-key entry of a table (the table was full).");
	for (i = 0; i < s->n_ns; i++) {
		const struct synfin_tw_counts *c = &s->ns[i].q.counts;

		snprintf(ns, sizeof(ns), "%u", c->netns);
		sample(f, "synfin_timewait_unlisted_sockets",
		       (const char *const[]){ "netns", ns, "table", "local_port", NULL }, c->lport_overflow);
		sample(f, "synfin_timewait_unlisted_sockets",
		       (const char *const[]){ "netns", ns, "table", "remote_port", NULL }, c->rport_overflow);
		sample(f, "synfin_timewait_unlisted_sockets",
		       (const char *const[]){ "netns", ns, "table", "peer", NULL }, c->peer_overflow);
	}
}

static void write_module(FILE *f, const struct snapshot *s)
{
	const struct synfin_stats *st = &s->stats;

	family(f, "synfin_transitions_total", "counter",
	       "TCP state changes recorded since the module loaded, by old and new state (non-zero only).");
	for (unsigned int i = 0; i < SYNFIN_TCP_MAX_STATES; i++)
		for (unsigned int j = 0; j < SYNFIN_TCP_MAX_STATES; j++)
			if (s->tr.count[i][j])
				sample(f, "synfin_transitions_total",
				       (const char *const[]){ "from", state_name(i), "to", state_name(j), NULL },
				       s->tr.count[i][j]);

	plain(f, "synfin_timewait_entries_total", "counter",
	      "Connections handed to a timewait sock since the module loaded.", s->tr.tw_enter);

	family(f, "synfin_timewait_exits_total", "counter",
	       "Timewait socks gone since the module loaded, by reason.");
	for (unsigned int r = 0; r < SYNFIN_TW_REASONS; r++)
		sample(f, "synfin_timewait_exits_total",
		       (const char *const[]){ "reason", tw_reason_name(r), NULL }, s->tr.tw_exit[r]);

	plain(f, "synfin_hook_calls_total", "counter",
	      "Hook invocations, all protocols.", st->seen);
	plain(f, "synfin_events_total", "counter",
	      "Events recorded to the ring.", st->recorded);
	plain(f, "synfin_events_filtered_total", "counter",
	      "Hook invocations dropped as not TCP.", st->filtered);
	plain(f, "synfin_events_delivered_total", "counter",
	      "Records copied to readers, summed over readers.", st->delivered);
	plain(f, "synfin_events_lost_total", "counter",
	      "Events readers lost (a reader fell a full ring behind).", st->lost_total);
	plain(f, "synfin_timewait_untracked_total", "counter",
	      "Timewait socks not counted: no node free.", st->tw_untracked);
	plain(f, "synfin_owners_dropped_total", "counter",
	      "Socket owners not cached: no node free.", st->owner_dropped);
	plain(f, "synfin_hook_missed_total", "counter",
	      "Probe hits the kernel skipped (kprobe nmissed).", st->hook_missed);
	plain(f, "synfin_memory_bytes", "gauge",
	      "Memory the module holds: rings, node pools, open files.", st->mem_bytes);
	plain(f, "synfin_readers", "gauge",
	      "Open files of /dev/synfin, this scrape's included.", st->readers);
	plain(f, "synfin_ring_size", "gauge", "Ring records per CPU.", st->ring_size);
	plain(f, "synfin_ring_cpus", "gauge", "Per-CPU rings.", st->nr_cpus);
	family(f, "synfin_hook_info", "gauge", "The hook in use (value always 1).");
	sample(f, "synfin_hook_info", (const char *const[]){ "hook", hook_name(st->hook), NULL }, 1);
	if (!s->have_health)
		return;
	plain(f, "synfin_owner_cache_entries", "gauge",
	      "Socket owners cached now.", s->health.owner_entries);
	plain(f, "synfin_owners_evicted_total", "counter",
	      "Cached owners swept out unused (owner_idle_s).", s->health.owner_evicted);
	plain(f, "synfin_timewait_stale_total", "counter",
	      "Timewait entries whose exit was missed, found when their memory came back as a new sock.",
	      s->health.tw_stale);
	plain(f, "synfin_timewait_drift_total", "counter",
	      "Timewait socks by which a netns's count differed from the kernel's, corrected.",
	      s->health.tw_drift);
	plain(f, "synfin_timewait_reconciles_total", "counter",
	      "Checks of synfin's timewait counts against the kernel's.", s->health.tw_reconciles);
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n_ns; i++)
		tw_view_free(&s->ns[i]);
	free(s->ns);
	s->ns = NULL;
	s->n_ns = 0;
}

/* Add one netns's view; the first (i == 0) is always the caller's. */
static int add_netns(struct snapshot *s, int fd, uint32_t netns, unsigned int top)
{
	struct tw_view *v = &s->ns[s->n_ns];
	int err = tw_view_init(v, top);

	if (!err)
		err = tw_view_fetch(fd, netns, v);
	if (err) {
		tw_view_free(v);
		report_error("TIME_WAIT query%s: %s", netns ? " of a netns" : "", strerror(err));
		return -1;
	}
	s->n_ns++;
	return 0;
}

static int take_snapshot(struct snapshot *s, int fd, const struct options *opt)
{
	unsigned int top = opt->top_set ? opt->top : 10;
	struct synfin_tw_counts *all = NULL;
	uint32_t n = 0;
	int err;

	/* A reader without CAP_NET_ADMIN sees its own netns only, and not
	 * the module-wide counters: it still gets its timewait metrics. */
	s->module_wide = true;
	if (ioctl(fd, SYNFIN_IOC_STATS, &s->stats)) {
		if (errno != EPERM) {
			report_error("stats ioctl: %s", strerror(errno));
			return -1;
		}
		s->module_wide = false;
	}
	if (s->module_wide && ioctl(fd, SYNFIN_IOC_TRANSITIONS, &s->tr)) {
		report_error("transitions ioctl: %s", strerror(errno));
		return -1;
	}
	s->have_health = s->module_wide;
	if (s->module_wide && ioctl(fd, SYNFIN_IOC_HEALTH, &s->health)) {
		if (errno != ENOTTY) {	/* ENOTTY: a module older than this viewer */
			report_error("health ioctl: %s", strerror(errno));
			return -1;
		}
		s->have_health = false;
	}
	if (opt->all_netns) {
		err = tw_netns_list(fd, &all, &n);
		if (err) {
			report_error("listing network namespaces: %s", strerror(err));
			free(all);
			return -1;
		}
	}
	s->ns = calloc((size_t)n + 1, sizeof(*s->ns));
	if (!s->ns) {
		report_error("out of memory");
		free(all);
		return -1;
	}
	/* The caller's netns first, even at zero: a series that vanishes when
	 * idle reads as "no data" in Prometheus. The list has only netns with
	 * timewait sockets, and may hold the caller's again. */
	if (add_netns(s, fd, 0, top))
		goto fail;
	for (uint32_t i = 0; i < n; i++)
		if (all[i].netns != s->ns[0].q.counts.netns && add_netns(s, fd, all[i].netns, top))
			goto fail;
	free(all);
	return 0;
fail:
	free(all);
	return -1;
}

static void write_all(FILE *f, const struct snapshot *s)
{
	write_timewait(f, s);
	if (s->module_wide)
		write_module(f, s);
}

/* --textfile: PATH.tmp.PID beside PATH, fsync, rename over PATH, so the
 * collector reads the old file or the new one, never a partial one (it only
 * reads *.prom, so the temporary name is not picked up). */
static int write_textfile(const char *path, const struct snapshot *s)
{
	size_t len = strlen(path) + 32;
	char *tmp = malloc(len);
	FILE *f = NULL;
	struct stat st;
	int fd, err;

	if (!tmp) {
		report_error("--textfile %s: out of memory", path);
		return -1;
	}
	/* rename() would replace a device node or a socket just as well:
	 * only ever replace a regular file. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		report_error("--textfile %s: not a regular file", path);
		free(tmp);
		return -1;
	}
	snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* Ours by name (same pid): a leftover of a killed run. */
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		err = errno;
		report_error("--textfile: cannot create %s: %s", tmp, strerror(err));
		free(tmp);
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	write_all(f, s);
	errno = 0;	/* ferror() alone leaves no reason */
	if (fflush(f) || ferror(f) || fsync(fd)) {
		err = errno ? errno : EIO;
		fclose(f);
		goto fail;
	}
	if (fclose(f)) {
		err = errno;
		goto fail;
	}
	if (rename(tmp, path)) {
		err = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	unlink(tmp);
	report_error("--textfile %s: %s", path, strerror(err));
	free(tmp);
	return -1;
}

int cmd_metrics(const struct options *opt)
{
	struct snapshot s;
	struct source src;
	int ret = EXIT_RUNTIME;

	memset(&s, 0, sizeof(s));
	if (source_open(&src, opt))
		return EXIT_RUNTIME;
	if (take_snapshot(&s, src.fd, opt))
		goto out;
	if (opt->textfile) {
		if (write_textfile(opt->textfile, &s))
			goto out;
	} else {
		write_all(stdout, &s);
		if (!output_flush())
			goto out;	/* main() says why */
	}
	ret = EXIT_OK;
out:
	snapshot_free(&s);
	source_close(&src);
	return ret;
}
