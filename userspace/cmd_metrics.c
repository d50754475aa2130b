// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin metrics`: the module's counters and TIME_WAIT counts in the
 * Prometheus text exposition format (version 0.0.4), for a scrape wrapper or
 * node_exporter's textfile collector (--textfile), and what the exporter
 * (exporter.c, --listen) serves on every scrape.
 *
 * Everything is read first, then written: a failing ioctl leaves no half
 * file behind, and every family is written whole (HELP, TYPE, its samples),
 * never interleaved with another.
 *
 * Series per port are bounded (docs/metrics.md): local ports only if
 * listening in their netns or named with --ports, remote ports only outside
 * the ephemeral range (or named), at most -n of each. A client host's top
 * local ports are ephemeral ports with a count of 1: a new series at every
 * scrape, which is what a time series database must never be fed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "viewer.h"

/* Rows asked of the module per list: the policy then keeps at most -n. */
#define METRICS_FETCH_ROWS	1024

void metrics_family(FILE *f, const char *name, const char *type, const char *help)
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

/* name{k1="v1",k2="v2"}; labels: key, value pairs, NULL-terminated. */
static void series(FILE *f, const char *name, const char *const *labels)
{
	fputs(name, f);
	for (size_t i = 0; labels && labels[i]; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "{", labels[i]);
		label_value(f, labels[i + 1]);
		fputc('"', f);
		if (!labels[i + 2])
			fputc('}', f);
	}
}

void metrics_sample(FILE *f, const char *name, const char *const *labels,
		   unsigned long long value)
{
	series(f, name, labels);
	fprintf(f, " %llu\n", value);
}

/* The same with the value as a float (histogram sums). */
void metrics_sample_float(FILE *f, const char *name, const char *const *labels,
			  double value)
{
	series(f, name, labels);
	fprintf(f, " %.17g\n", value);
}

/* A family of one sample without labels. */
void metrics_plain(FILE *f, const char *name, const char *type, const char *help,
		   unsigned long long value)
{
	metrics_family(f, name, type, help);
	metrics_sample(f, name, NULL, value);
}

static bool port_named(const struct metrics_snapshot *s, uint16_t port)
{
	for (unsigned int i = 0; i < s->n_ports; i++)
		if (s->ports[i] == port)
			return true;
	return false;
}

/* A local port gets a series if it listens in that netns, or is named. */
static bool local_port_exported(const struct metrics_snapshot *s, size_t ns, uint16_t port)
{
	const uint8_t *l = s->listening[ns];

	return port_named(s, port) || (l && (l[port / 8] & (1u << (port % 8))));
}

/* A remote port gets one unless it is a client's port, seen from the
 * server (one series per connection): in this host's ephemeral range, or
 * in IANA's dynamic range 49152-65535 (Windows' and the BSDs' ephemeral
 * ports). Named ports always do. */
static bool remote_port_exported(const struct metrics_snapshot *s, uint16_t port)
{
	return port_named(s, port) ||
	       ((port < s->eph_lo || port > s->eph_hi) && port < 49152);
}

static void write_timewait(FILE *f, const struct metrics_snapshot *s)
{
	char ns[16], port[8], peer[64];
	size_t i;

	metrics_family(f, "synfin_timewait_sockets", "gauge",
	       "Timewait sockets by substate: time_wait (what ss state time-wait lists) and fin_wait2 (orphans handed to a timewait sock).");
	for (i = 0; i < s->n_ns; i++) {
		const struct synfin_tw_counts *c = &s->ns[i].q.counts;

		snprintf(ns, sizeof(ns), "%u", c->netns);
		metrics_sample(f, "synfin_timewait_sockets",
		       (const char *const[]){ "netns", ns, "state", "time_wait", NULL }, c->time_wait);
		metrics_sample(f, "synfin_timewait_sockets",
		       (const char *const[]){ "netns", ns, "state", "fin_wait2", NULL }, c->fin_wait2);
	}

	metrics_family(f, "synfin_timewait_sockets_all", "gauge",
	       "Timewait sockets, both substates: what /proc/net/sockstat calls tw.");
	for (i = 0; i < s->n_ns; i++) {
		snprintf(ns, sizeof(ns), "%u", s->ns[i].q.counts.netns);
		metrics_sample(f, "synfin_timewait_sockets_all", (const char *const[]){ "netns", ns, NULL },
		       s->ns[i].q.counts.total);
	}

	metrics_family(f, "synfin_timewait_port_sockets", "gauge",
	       "Timewait sockets on local ports listening (or named with --ports) and on the busiest remote service ports (not ephemeral), at most -n of each.");
	for (i = 0; i < s->n_ns; i++) {
		const struct tw_view *v = &s->ns[i];
		unsigned int shown = 0;

		snprintf(ns, sizeof(ns), "%u", v->q.counts.netns);
		for (uint32_t k = 0; k < v->q.n_lports && shown < s->top; k++) {
			if (!local_port_exported(s, i, v->lports[k].port))
				continue;
			snprintf(port, sizeof(port), "%u", v->lports[k].port);
			metrics_sample(f, "synfin_timewait_port_sockets",
			       (const char *const[]){ "netns", ns, "side", "local", "port", port, NULL },
			       v->lports[k].count);
			shown++;
		}
		shown = 0;
		for (uint32_t k = 0; k < v->q.n_rports && shown < s->top; k++) {
			if (!remote_port_exported(s, v->rports[k].port))
				continue;
			snprintf(port, sizeof(port), "%u", v->rports[k].port);
			metrics_sample(f, "synfin_timewait_port_sockets",
			       (const char *const[]){ "netns", ns, "side", "remote", "port", port, NULL },
			       v->rports[k].count);
			shown++;
		}
	}

	/* What a remote port's count is measured against in the alerts: one
	 * local address can hold this many sockets to one peer address and
	 * port at once. */
	metrics_family(f, "synfin_ephemeral_ports", "gauge",
	       "Ports in the exporter's netns's net.ipv4.ip_local_port_range.");
	metrics_sample(f, "synfin_ephemeral_ports", NULL, (unsigned int)s->eph_hi - s->eph_lo + 1);

	metrics_family(f, "synfin_timewait_peer_sockets", "gauge",
	       "Timewait sockets to the busiest remote addresses.");
	for (i = 0; i < s->n_ns; i++) {
		const struct tw_view *v = &s->ns[i];

		snprintf(ns, sizeof(ns), "%u", v->q.counts.netns);
		for (uint32_t k = 0; k < v->q.n_peers && k < s->top; k++) {
			tw_peer_text(peer, sizeof(peer), &v->peers[k]);
			metrics_sample(f, "synfin_timewait_peer_sockets",
			       (const char *const[]){ "netns", ns, "peer", peer, NULL }, v->peers[k].count);
		}
	}

	/* Without it, a full per-key table would make the top lists look
	 * complete when they are not. */
	metrics_family(f, "synfin_timewait_unlisted_sockets", "gauge",
	       "Timewait sockets counted in no per-key entry of a table (the table was full).");
	for (i = 0; i < s->n_ns; i++) {
		const struct synfin_tw_counts *c = &s->ns[i].q.counts;

		snprintf(ns, sizeof(ns), "%u", c->netns);
		metrics_sample(f, "synfin_timewait_unlisted_sockets",
		       (const char *const[]){ "netns", ns, "table", "local_port", NULL }, c->lport_overflow);
		metrics_sample(f, "synfin_timewait_unlisted_sockets",
		       (const char *const[]){ "netns", ns, "table", "remote_port", NULL }, c->rport_overflow);
		metrics_sample(f, "synfin_timewait_unlisted_sockets",
		       (const char *const[]){ "netns", ns, "table", "peer", NULL }, c->peer_overflow);
	}
}

static void write_transitions(FILE *f, const struct metrics_snapshot *s)
{
	metrics_family(f, "synfin_transitions_total", "counter",
	       "TCP state changes recorded since the module loaded, by old and new state (non-zero only).");
	for (unsigned int i = 0; i < SYNFIN_TCP_MAX_STATES; i++)
		for (unsigned int j = 0; j < SYNFIN_TCP_MAX_STATES; j++)
			if (s->tr.count[i][j])
				metrics_sample(f, "synfin_transitions_total",
				       (const char *const[]){ "from", state_name(i), "to", state_name(j), NULL },
				       s->tr.count[i][j]);

	metrics_plain(f, "synfin_timewait_entries_total", "counter",
	      "Connections handed to a timewait sock since the module loaded.", s->tr.tw_enter);

	metrics_family(f, "synfin_timewait_exits_total", "counter",
	       "Timewait socks gone since the module loaded, by reason.");
	for (unsigned int r = 0; r < SYNFIN_TW_REASONS; r++)
		metrics_sample(f, "synfin_timewait_exits_total",
		       (const char *const[]){ "reason", tw_reason_name(r), NULL }, s->tr.tw_exit[r]);
}

static void write_module(FILE *f, const struct metrics_snapshot *s)
{
	const struct synfin_stats *st = &s->stats;

	if (s->have_transitions)
		write_transitions(f, s);

	metrics_plain(f, "synfin_hook_calls_total", "counter",
	      "Hook invocations, all protocols.", st->seen);
	metrics_plain(f, "synfin_events_total", "counter",
	      "Events recorded to the ring.", st->recorded);
	metrics_plain(f, "synfin_events_filtered_total", "counter",
	      "Hook invocations dropped as not TCP.", st->filtered);
	metrics_plain(f, "synfin_events_delivered_total", "counter",
	      "Records copied to readers, summed over readers.", st->delivered);
	metrics_plain(f, "synfin_events_lost_total", "counter",
	      "Events readers lost (a reader fell a full ring behind).", st->lost_total);
	metrics_plain(f, "synfin_timewait_untracked_total", "counter",
	      "Timewait socks not counted: no node free.", st->tw_untracked);
	metrics_plain(f, "synfin_owners_dropped_total", "counter",
	      "Socket owners not cached: no node free.", st->owner_dropped);
	metrics_plain(f, "synfin_hook_missed_total", "counter",
	      "Probe hits the kernel skipped (kprobe nmissed).", st->hook_missed);
	metrics_plain(f, "synfin_memory_bytes", "gauge",
	      "Memory the module holds: rings, node pools, open files.", st->mem_bytes);
	metrics_plain(f, "synfin_readers", "gauge",
	      "Open files of /dev/synfin, this scrape's included.", st->readers);
	metrics_plain(f, "synfin_ring_size", "gauge", "Ring records per CPU.", st->ring_size);
	metrics_plain(f, "synfin_ring_cpus", "gauge", "Per-CPU rings.", st->nr_cpus);
	metrics_family(f, "synfin_hook_info", "gauge", "The hook in use (value always 1).");
	metrics_sample(f, "synfin_hook_info", (const char *const[]){ "hook", hook_name(st->hook), NULL }, 1);
	if (!s->have_health)
		return;
	metrics_plain(f, "synfin_owner_cache_entries", "gauge",
	      "Socket owners cached now.", s->health.owner_entries);
	metrics_plain(f, "synfin_owners_evicted_total", "counter",
	      "Cached owners swept out unused (owner_idle_s).", s->health.owner_evicted);
	metrics_plain(f, "synfin_timewait_stale_total", "counter",
	      "Timewait entries whose exit was missed, found when their memory came back as a new sock.",
	      s->health.tw_stale);
	metrics_plain(f, "synfin_timewait_drift_total", "counter",
	      "Timewait socks by which a netns's count differed from the kernel's, corrected.",
	      s->health.tw_drift);
	metrics_plain(f, "synfin_timewait_reconciles_total", "counter",
	      "Checks of synfin's timewait counts against the kernel's.", s->health.tw_reconciles);
}

void metrics_snapshot_free(struct metrics_snapshot *s)
{
	for (size_t i = 0; i < s->n_ns; i++) {
		tw_view_free(&s->ns[i]);
		free(s->listening[i]);
	}
	free(s->ns);
	free(s->listening);
	s->ns = NULL;
	s->listening = NULL;
	s->n_ns = 0;
}

/* Add one netns's view; the first (i == 0) is always the caller's. */
static int add_netns(struct metrics_snapshot *s, int fd, uint32_t netns)
{
	struct tw_view *v = &s->ns[s->n_ns];
	int err = tw_view_init(v, METRICS_FETCH_ROWS);

	if (!err)
		err = tw_view_fetch(fd, netns, v);
	if (err == EOPNOTSUPP) {	/* no timewait family: said by the caller */
		tw_view_free(v);
		return EOPNOTSUPP;
	}
	if (err) {
		tw_view_free(v);
		report_error("TIME_WAIT query%s: %s", netns ? " of a netns" : "", strerror(err));
		return -1;
	}
	s->n_ns++;
	return 0;
}

/* Set the bit of each local port listening in /proc/DIR/net/tcp{,6};
 * false if neither file could be read. */
bool listening_ports(const char *dir, uint8_t *bits)
{
	static const char *const files[] = { "tcp", "tcp6" };
	bool any = false;

	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char path[64], line[512];
		unsigned int port, st;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/net/%s", dir, files[i]);
		f = fopen(path, "re");
		if (!f)
			continue;	/* no IPv6, or not ours to read */
		any = true;
		while (fgets(line, sizeof(line), f)) {
			/* "  0: 0100007F:2454 00000000:0000 0A ..." */
			char *colon = strchr(line, ':');

			if (!colon || !(colon = strchr(colon + 1, ':')))
				continue;
			if (sscanf(colon + 1, "%x %*s %x", &port, &st) == 2 &&
			    st == 0x0A && port < 65536)
				bits[port / 8] |= 1u << (port % 8);
		}
		fclose(f);
	}
	return any;
}

/*
 * Which local ports listen in each netns shown: our own netns from
 * /proc/self, any other from a process in it (found by the inode of its
 * /proc/PID/ns/net). A netns with no process we may read (or none left)
 * gets no listening ports: only --ports then.
 */
static void find_listening(struct metrics_snapshot *s)
{
	size_t left = 0;
	struct dirent *d;
	DIR *proc;

	struct stat self;
	bool have_self = !stat("/proc/self/ns/net", &self);

	for (size_t i = 0; i < s->n_ns; i++) {
		s->listening[i] = calloc(65536 / 8, 1);
		if (!s->listening[i])
			continue;
		if (have_self && self.st_ino == s->ns[i].q.counts.netns) {
			if (!listening_ports("self", s->listening[i]))
				free(s->listening[i]), s->listening[i] = NULL;
		} else {
			left++;
		}
	}
	if (!left || !(proc = opendir("/proc")))
		return;
	bool *done = calloc(s->n_ns, sizeof(*done));

	while (done && left && (d = readdir(proc))) {
		char path[300];
		struct stat st;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
		if (stat(path, &st))
			continue;
		for (size_t i = 0; i < s->n_ns; i++) {
			if (done[i] || !s->listening[i] || (have_self && self.st_ino == st.st_ino) ||
			    st.st_ino != s->ns[i].q.counts.netns)
				continue;
			/* A process we may not read: try another one there. */
			if (!listening_ports(d->d_name, s->listening[i]))
				continue;
			done[i] = true;
			left--;
		}
	}
	free(done);
	closedir(proc);
}

/* The ephemeral port range of our netns (the default if unreadable). */
static void read_port_range(struct metrics_snapshot *s)
{
	unsigned int lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	s->eph_lo = 32768;
	s->eph_hi = 60999;
	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi < 65536) {
		s->eph_lo = lo;
		s->eph_hi = hi;
	}
	fclose(f);
}

int metrics_snapshot_take(struct metrics_snapshot *s, int fd, const struct options *opt)
{
	struct synfin_tw_counts *all = NULL;
	uint32_t n = 0;
	int err;

	memset(s, 0, sizeof(*s));
	s->top = opt->top_set ? opt->top : 10;
	s->ports = opt->ports;
	s->n_ports = opt->n_ports;
	read_port_range(s);
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
	/* A module loaded with only some families (families=) exports what
	 * it has; what it leaves out is absent, not zero. */
	s->have_transitions = s->module_wide;
	if (s->module_wide && ioctl(fd, SYNFIN_IOC_TRANSITIONS, &s->tr)) {
		if (errno != EOPNOTSUPP) {
			report_error("transitions ioctl: %s", strerror(errno));
			return -1;
		}
		s->have_transitions = false;
	}
	s->have_health = s->module_wide;
	if (s->module_wide && ioctl(fd, SYNFIN_IOC_HEALTH, &s->health)) {
		if (errno != ENOTTY) {	/* ENOTTY: a module older than this viewer */
			report_error("health ioctl: %s", strerror(errno));
			return -1;
		}
		s->have_health = false;
	}
	s->have_timewait = true;
	if (opt->all_netns) {
		err = tw_netns_list(fd, &all, &n);
		if (err == EOPNOTSUPP)
			n = 0;	/* no timewait family: add_netns() below says so */
		else if (err) {
			report_error("listing network namespaces: %s", strerror(err));
			free(all);
			return -1;
		}
	}
	s->ns = calloc((size_t)n + 1, sizeof(*s->ns));
	s->listening = calloc((size_t)n + 1, sizeof(*s->listening));
	if (!s->ns || !s->listening) {
		report_error("out of memory");
		goto fail;
	}
	/* The caller's netns (or --netns) first, even at zero: a series that vanishes when
	 * idle reads as "no data" in Prometheus. The list has only netns with
	 * timewait sockets, and may hold the caller's again. */
	switch (add_netns(s, fd, (opt->filter.match & SYNFIN_FILTER_NETNS) ? opt->filter.netns : 0)) {
	case 0:
		break;
	case EOPNOTSUPP:
		s->have_timewait = false;
		free(all);
		return 0;
	default:
		goto fail;
	}
	for (uint32_t i = 0; i < n; i++)
		if (all[i].netns != s->ns[0].q.counts.netns && add_netns(s, fd, all[i].netns))
			goto fail;
	free(all);
	find_listening(s);
	return 0;
fail:
	free(all);
	metrics_snapshot_free(s);
	return -1;
}

void metrics_write_up(FILE *f, bool up)
{
	char abi[8];

	metrics_family(f, "synfin_up", "gauge",
		       "1 if the module answered this scrape, 0 if it is not loaded or failed.");
	metrics_sample(f, "synfin_up", NULL, up);
	snprintf(abi, sizeof(abi), "%d", SYNFIN_ABI_VERSION);
	metrics_family(f, "synfin_build_info", "gauge",
		       "The viewer's version and record ABI (value always 1).");
	metrics_sample(f, "synfin_build_info",
		       (const char *const[]){ "version", SYNFIN_VERSION, "abi", abi, NULL }, 1);
}

void metrics_write(FILE *f, const struct metrics_snapshot *s)
{
	if (s->have_timewait)
		write_timewait(f, s);
	if (s->module_wide)
		write_module(f, s);
}

/* --textfile: PATH.tmp.PID beside PATH, fsync, rename over PATH, so the
 * collector reads the old file or the new one, never a partial one (it only
 * reads *.prom, so the temporary name is not picked up). @s NULL: the
 * module could not be read, the file says synfin_up 0 and nothing else. */
static int write_textfile(const char *path, const struct metrics_snapshot *s)
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
	metrics_write_up(f, s != NULL);
	if (s)
		metrics_write(f, s);
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

/*
 * The module could not be read: a textfile must not go on showing the last
 * good numbers as if current. It says synfin_up 0; if even that cannot be
 * written, it goes (a regular file only, as write_textfile() checks).
 */
static void textfile_mark_down(const char *path)
{
	struct stat st;

	if (!write_textfile(path, NULL))
		return;
	if (!stat(path, &st) && S_ISREG(st.st_mode) && unlink(path) && errno != ENOENT)
		report_error("--textfile %s: cannot remove the stale file: %s", path, strerror(errno));
}

int cmd_metrics(const struct options *opt)
{
	struct metrics_snapshot s;
	struct source src;
	int ret = EXIT_RUNTIME;

	if (opt->listen)
		return exporter_run(opt);
	memset(&s, 0, sizeof(s));
	if (source_open(&src, opt)) {
		if (opt->textfile)
			textfile_mark_down(opt->textfile);
		return EXIT_RUNTIME;
	}
	if (metrics_snapshot_take(&s, src.fd, opt)) {
		if (opt->textfile)
			textfile_mark_down(opt->textfile);
		goto out;
	}
	if (opt->textfile) {
		if (write_textfile(opt->textfile, &s))
			goto out;
	} else {
		metrics_write_up(stdout, true);
		metrics_write(stdout, &s);
		if (!output_flush())
			goto out;	/* main() says why */
	}
	ret = EXIT_OK;
out:
	metrics_snapshot_free(&s);
	source_close(&src);
	return ret;
}
