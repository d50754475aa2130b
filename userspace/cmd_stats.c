// SPDX-License-Identifier: GPL-2.0
/*
 * `synfin stats`: the module's counters since load, from two ioctls:
 * SYNFIN_IOC_STATS (hook, events, delivery, losses, ring) and
 * SYNFIN_IOC_TRANSITIONS (state changes by old and new state, timewait
 * entries and exits by reason), and SYNFIN_IOC_HEALTH where the module has
 * it (owner cache, timewait drift). SYNFIN_IOC_READER_STATS is left out: it
 * describes the calling file, and ours was opened a moment ago.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "viewer.h"

struct transition {
	unsigned int from, to;
	unsigned long long count;
};

static const char *lost_reason_name(unsigned int r)
{
	return r == SYNFIN_LOST_OVERRUN ? "overrun" : NULL;	/* the rest: reserved */
}

/* Busiest first; ties in state order, so the output is stable. */
static int by_count(const void *a, const void *b)
{
	const struct transition *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/* The non-zero cells of the [old][new] matrix, busiest first. */
static size_t sorted_transitions(const struct synfin_transitions *t, struct transition *out)
{
	size_t n = 0;

	for (unsigned int i = 0; i < SYNFIN_TCP_MAX_STATES; i++)
		for (unsigned int j = 0; j < SYNFIN_TCP_MAX_STATES; j++)
			if (t->count[i][j])
				out[n++] = (struct transition){ i, j, t->count[i][j] };
	qsort(out, n, sizeof(*out), by_count);
	return n;
}

/* Records in the rings now. The module does not export it: a ring keeps its
 * newest ring_size records, so this is recorded, capped at the rings' room.
 * Approximate: a CPU that recorded less than its ring leaves room another
 * CPU's excess cannot use. */
static unsigned long long ring_fill(const struct synfin_stats *s)
{
	unsigned long long room = (unsigned long long)s->ring_size * s->nr_cpus;

	return s->recorded < room ? s->recorded : room;
}

static void print_json(const struct synfin_stats *s, const struct synfin_transitions *t,
		       const struct synfin_health *h, const struct transition *tr, size_t n)
{
	json_begin(stdout, "stats");
	printf("\"hook\": \"%s\", \"seen\": %llu, \"events\": %llu, \"filtered\": %llu, "
	       "\"delivered\": %llu, \"lost\": %llu, \"lost_by_reason\": {",
	       hook_name(s->hook), (unsigned long long)s->seen, (unsigned long long)s->recorded,
	       (unsigned long long)s->filtered, (unsigned long long)s->delivered,
	       (unsigned long long)s->lost_total);
	for (unsigned int r = 0, k = 0; r < SYNFIN_LOST_REASONS; r++) {
		if (lost_reason_name(r))
			printf("%s\"%s\": %llu", k++ ? ", " : "", lost_reason_name(r),
			       (unsigned long long)s->lost[r]);
		else if (s->lost[r])	/* a reason newer than this viewer */
			printf("%s\"reason%u\": %llu", k++ ? ", " : "", r, (unsigned long long)s->lost[r]);
	}
	printf("}, \"readers\": %u, \"ring_size\": %u, \"cpus\": %u, \"ring_fill\": %llu",
	       s->readers, s->ring_size, s->nr_cpus, ring_fill(s));
	printf(", \"transitions\": {");
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s>%s\": %llu", i ? ", " : "", state_name(tr[i].from),
		       state_name(tr[i].to), tr[i].count);
	printf("}, \"tw_enter\": %llu, \"tw_exit\": {", (unsigned long long)t->tw_enter);
	for (unsigned int r = 0; r < SYNFIN_TW_REASONS; r++)
		printf("%s\"%s\": %llu", r ? ", " : "", tw_reason_name(r),
		       (unsigned long long)t->tw_exit[r]);
	printf("}, \"tw_untracked\": %llu, \"owner_dropped\": %llu, \"hook_missed\": %llu, "
	       "\"mem_bytes\": %llu",
	       (unsigned long long)s->tw_untracked, (unsigned long long)s->owner_dropped,
	       (unsigned long long)s->hook_missed, (unsigned long long)s->mem_bytes);
	if (h)
		printf(", \"health\": {\"owner_entries\": %llu, \"owner_evicted\": %llu, "
		       "\"tw_stale\": %llu, \"tw_drift\": %llu, \"tw_reconciles\": %llu}",
		       (unsigned long long)h->owner_entries, (unsigned long long)h->owner_evicted,
		       (unsigned long long)h->tw_stale, (unsigned long long)h->tw_drift,
		       (unsigned long long)h->tw_reconciles);
	printf("}\n");
}

static void print_table(const struct synfin_stats *s, const struct synfin_transitions *t,
			const struct synfin_health *h, const struct transition *tr, size_t n)
{
	unsigned long long exits = 0;

	printf("hook:        %s\n", hook_name(s->hook));
	printf("events:      seen %llu, recorded %llu, filtered %llu (not TCP)\n",
	       (unsigned long long)s->seen, (unsigned long long)s->recorded,
	       (unsigned long long)s->filtered);
	printf("delivered:   %llu (records copied to readers, summed over readers)\n",
	       (unsigned long long)s->delivered);
	printf("lost:        %llu (", (unsigned long long)s->lost_total);
	for (unsigned int r = 0, k = 0; r < SYNFIN_LOST_REASONS; r++) {
		if (lost_reason_name(r))
			printf("%s%s %llu", k++ ? ", " : "", lost_reason_name(r),
			       (unsigned long long)s->lost[r]);
		else if (s->lost[r])
			printf("%sreason %u: %llu", k++ ? ", " : "", r, (unsigned long long)s->lost[r]);
	}
	printf(")\n");
	printf("readers:     %u (this one included)\n", s->readers);
	printf("ring:        %u records per CPU x %u CPUs; fill ~%llu of %llu (approximate)\n",
	       s->ring_size, s->nr_cpus, ring_fill(s),
	       (unsigned long long)s->ring_size * s->nr_cpus);
	printf("untracked:   %llu timewait sockets, %llu owners (no node free)\n",
	       (unsigned long long)s->tw_untracked, (unsigned long long)s->owner_dropped);
	printf("missed:      %llu probe hits the kernel skipped (kprobe nmissed)\n",
	       (unsigned long long)s->hook_missed);
	printf("memory:      %llu bytes held (rings, node pools, open files)\n",
	       (unsigned long long)s->mem_bytes);
	if (h) {
		printf("owners:      %llu cached, %llu swept out unused (owner_idle_s)\n",
		       (unsigned long long)h->owner_entries, (unsigned long long)h->owner_evicted);
		printf("drift:       %llu stale timewait entries, %llu sockets corrected "
		       "against the kernel's counts in %llu checks\n",
		       (unsigned long long)h->tw_stale, (unsigned long long)h->tw_drift,
		       (unsigned long long)h->tw_reconciles);
	}

	printf("\nevents by transition:\n");
	if (!n)
		printf("  (none yet)\n");
	else
		printf("  %-12s    %-12s %12s\n", "FROM", "TO", "COUNT");
	for (size_t i = 0; i < n; i++)
		printf("  %-12s -> %-12s %12llu\n", state_name(tr[i].from), state_name(tr[i].to),
		       tr[i].count);

	for (unsigned int r = 0; r < SYNFIN_TW_REASONS; r++)
		exits += t->tw_exit[r];
	printf("\ntimewait:    %llu entered, %llu exited\n", (unsigned long long)t->tw_enter, exits);
	for (unsigned int r = 0; r < SYNFIN_TW_REASONS; r++)
		printf("  %-12s %12llu\n", tw_reason_name(r), (unsigned long long)t->tw_exit[r]);
}

int cmd_stats(const struct options *opt)
{
	struct transition tr[SYNFIN_TCP_MAX_STATES * SYNFIN_TCP_MAX_STATES];
	struct synfin_transitions t;
	struct synfin_health h, *hp = &h;
	struct synfin_stats s;
	struct source src;
	size_t n;

	if (source_open(&src, opt))
		return EXIT_RUNTIME;
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	if (ioctl(src.fd, SYNFIN_IOC_STATS, &s)) {
		if (errno == EPERM)
			report_error("%s: module-wide statistics need CAP_NET_ADMIN in the host's network namespace (anywhere else a reader sees only its own network namespace): run as root on the host", src.name);
		else
			report_error("%s: stats ioctl: %s", src.name, strerror(errno));
		goto fail;
	}
	if (ioctl(src.fd, SYNFIN_IOC_TRANSITIONS, &t)) {
		if (errno == EOPNOTSUPP)
			report_family_missing("transition counts", "counts");
		else
			report_error("%s: transitions ioctl: %s", src.name, strerror(errno));
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	if (ioctl(src.fd, SYNFIN_IOC_HEALTH, &h)) {
		if (errno != ENOTTY) {	/* ENOTTY: a module older than this viewer */
			report_error("%s: health ioctl: %s", src.name, strerror(errno));
			goto fail;
		}
		hp = NULL;
	}
	source_close(&src);
	n = sorted_transitions(&t, tr);
	if (opt->format == OUT_JSON)
		print_json(&s, &t, hp, tr, n);
	else
		print_table(&s, &t, hp, tr, n);
	return EXIT_OK;
fail:
	source_close(&src);
	return EXIT_RUNTIME;
}
