// SPDX-License-Identifier: GPL-2.0
/* Turning records into text: state names, addresses, table and JSON lines. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include "viewer.h"

static const char *const state_names[SYNFIN_TCP_MAX_STATES] = {
	[SYNFIN_TCP_ESTABLISHED]  = "ESTABLISHED",
	[SYNFIN_TCP_SYN_SENT]     = "SYN_SENT",
	[SYNFIN_TCP_SYN_RECV]     = "SYN_RECV",
	[SYNFIN_TCP_FIN_WAIT1]    = "FIN_WAIT1",
	[SYNFIN_TCP_FIN_WAIT2]    = "FIN_WAIT2",
	[SYNFIN_TCP_TIME_WAIT]    = "TIME_WAIT",
	[SYNFIN_TCP_CLOSE]        = "CLOSE",
	[SYNFIN_TCP_CLOSE_WAIT]   = "CLOSE_WAIT",
	[SYNFIN_TCP_LAST_ACK]     = "LAST_ACK",
	[SYNFIN_TCP_LISTEN]       = "LISTEN",
	[SYNFIN_TCP_CLOSING]      = "CLOSING",
	[SYNFIN_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static const char *const tw_reason_names[SYNFIN_TW_REASONS] = {
	[SYNFIN_TW_UNKNOWN]   = "unknown",
	[SYNFIN_TW_EXPIRED]   = "expired",
	[SYNFIN_TW_RECYCLED]  = "recycled",
	[SYNFIN_TW_RST]       = "rst",
	[SYNFIN_TW_REUSED]    = "reused",
	[SYNFIN_TW_NETNS]     = "netns",
	[SYNFIN_TW_SEGMENT]   = "segment",
	[SYNFIN_TW_DESTROYED] = "destroyed",
};

const char *tw_reason_name(unsigned int reason)
{
	return reason < SYNFIN_TW_REASONS ? tw_reason_names[reason] : "unknown";
}

const char *event_kind_name(unsigned int kind)
{
	switch (kind) {
	case SYNFIN_EV_STATE: return "state";
	case SYNFIN_EV_LOST: return "lost";
	case SYNFIN_EV_TW_ENTER: return "tw_enter";
	case SYNFIN_EV_TW_EXIT: return "tw_exit";
	}
	return "unknown";
}

/* enum synfin_hook, as the hook= module parameter spells it */
const char *hook_name(uint32_t hook)
{
	switch (hook) {
	case SYNFIN_HOOK_TRACEPOINT: return "tracepoint";
	case SYNFIN_HOOK_KPROBE: return "kprobe";
	case SYNFIN_HOOK_NONE: return "none";
	}
	return "unknown";
}

const char *state_name(unsigned int state)
{
	if (state < SYNFIN_TCP_MAX_STATES && state_names[state])
		return state_names[state];
	return "UNKNOWN";
}

/* "1.2.3.4:80" or "[::1]:80" (ss style); without port: the bare address. */
void format_addr(char *out, size_t outlen, const struct synfin_event *ev,
		 bool local, bool with_port)
{
	const uint8_t *a = local ? ev->saddr : ev->daddr;
	unsigned int port = local ? ev->sport : ev->dport;
	char ip[INET6_ADDRSTRLEN];
	bool v6 = ev->family == SYNFIN_AF_INET6;

	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, a, ip, sizeof(ip)))
		strcpy(ip, "?");
	if (!with_port)
		snprintf(out, outlen, "%s", ip);
	else if (v6)
		snprintf(out, outlen, "[%s]:%u", ip, port);
	else
		snprintf(out, outlen, "%s:%u", ip, port);
}

/* Wall-clock ns of an event; unsigned math, so garbage input cannot overflow. */
static uint64_t wall_ns(const struct synfin_event *ev, const struct synfin_clock *clock)
{
	return clock->real_ns + (ev->ts_ns - clock->mono_ns);
}

/* ISO 8601 UTC with microseconds, for machine-readable output. */
void format_iso_time(char *out, size_t outlen, const struct synfin_event *ev,
		     const struct synfin_clock *clock)
{
	uint64_t real = wall_ns(ev, clock);
	time_t secs = real / 1000000000;
	struct tm tm;
	char ymd[32];

	if (!gmtime_r(&secs, &tm) ||
	    !strftime(ymd, sizeof(ymd), "%Y-%m-%dT%H:%M:%S", &tm))
		strcpy(ymd, "?");
	snprintf(out, outlen, "%s.%06" PRIu64 "Z", ymd, real % 1000000000 / 1000);
}

/* Seconds since first_ts, or local wall-clock time with -T. */
void format_time(char *out, size_t outlen, const struct synfin_event *ev,
		 const struct synfin_clock *clock, bool wall, uint64_t first_ts)
{
	if (wall) {
		uint64_t real = wall_ns(ev, clock);
		time_t secs = real / 1000000000;
		struct tm tm;
		char hms[16];

		if (!localtime_r(&secs, &tm) ||
		    !strftime(hms, sizeof(hms), "%H:%M:%S", &tm))
			strcpy(hms, "?");
		snprintf(out, outlen, "%s.%06" PRIu64, hms, real % 1000000000 / 1000);
	} else {
		uint64_t d = ev->ts_ns >= first_ts ? ev->ts_ns - first_ts : 0;

		snprintf(out, outlen, "%" PRIu64 ".%06" PRIu64,
			 d / 1000000000, d % 1000000000 / 1000);
	}
}

/* A JSON string from at most maxlen bytes of s (comm may lack a NUL). */
void json_string(FILE *f, const char *s, size_t maxlen)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < maxlen && s[i]; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void comm_text(char *out, const struct synfin_event *ev)
{
	size_t i;

	for (i = 0; i < sizeof(ev->comm) && ev->comm[i]; i++)
		out[i] = (ev->comm[i] >= 0x20 && ev->comm[i] < 0x7f) ? ev->comm[i] : '?';
	out[i] = 0;
	if (!i)
		strcpy(out, "-");
}

/* What the table adds after OLD -> NEW, in brackets. */
static void print_event_note(FILE *f, const struct synfin_event *ev)
{
	if (ev->kind == SYNFIN_EV_TW_ENTER) {
		fprintf(f, "  [timewait %s, timer %u.%03us, netns count %u]",
			state_name(ev->tw_substate), ev->tw_timeout_ms / 1000,
			ev->tw_timeout_ms % 1000, ev->tw_count);
	} else if (ev->kind == SYNFIN_EV_TW_EXIT) {
		if (ev->flags & SYNFIN_F_TW_NO_ENTRY)
			fprintf(f, "  [%s, entered before load, netns count %u]",
				tw_reason_name(ev->tw_reason), ev->tw_count);
		else
			fprintf(f, "  [%s after %llu.%03llus, netns count %u]",
				tw_reason_name(ev->tw_reason),
				(unsigned long long)(ev->tw_duration_ns / 1000000000),
				(unsigned long long)(ev->tw_duration_ns / 1000000 % 1000),
				ev->tw_count);
	} else if (ev->flags & SYNFIN_F_TIMEWAIT) {
		fputs("  [inside timewait]", f);
	} else if (ev->flags & SYNFIN_F_TW_HANDOFF) {
		fputs("  [handed to timewait]", f);
	} else if (ev->flags & SYNFIN_F_LISTENER_TUPLE) {
		fputs("  [listener's tuple: remote not known yet]", f);
	}
	if (ev->held_us)
		fprintf(f, "  [happened %u.%03u ms earlier: held for the child's tuple]",
			ev->held_us / 1000, ev->held_us % 1000);
}

/* ANSI colors by what the new state means: opening, open, closing, gone. */
static const char *state_color(const struct synfin_event *ev)
{
	if (ev->kind == SYNFIN_EV_TW_ENTER || ev->kind == SYNFIN_EV_TW_EXIT ||
	    (ev->flags & SYNFIN_F_TIMEWAIT))
		return "\033[35m";			/* magenta: timewait */
	switch (ev->newstate) {
	case SYNFIN_TCP_SYN_SENT:
	case SYNFIN_TCP_SYN_RECV:
	case SYNFIN_TCP_LISTEN:
		return "\033[32m";			/* green: opening */
	case SYNFIN_TCP_ESTABLISHED:
		return "\033[1;32m";
	case SYNFIN_TCP_CLOSE:
		/* CLOSE without the FIN exchange: reset or refused */
		if (ev->oldstate == SYNFIN_TCP_ESTABLISHED || ev->oldstate == SYNFIN_TCP_SYN_SENT ||
		    ev->oldstate == SYNFIN_TCP_SYN_RECV || ev->oldstate == SYNFIN_TCP_CLOSE_WAIT)
			return "\033[1;31m";		/* red */
		return "\033[2m";			/* dim: done */
	default:
		return "\033[33m";			/* yellow: closing */
	}
}

void print_table_header(FILE *f)
{
	fprintf(f, "%-15s %-7s %-16s %-28s %-28s %s\n", "TIME", "PID", "COMM",
		"LOCAL", "REMOTE", "OLD -> NEW");
}

void print_event_table(FILE *f, const struct synfin_event *ev,
		       const struct synfin_clock *clock, bool wall,
		       uint64_t first_ts, bool color)
{
	char t[32], l[64], r[64], comm[17];

	format_time(t, sizeof(t), ev, clock, wall, first_ts);
	if (ev->kind == SYNFIN_EV_LOST) {
		fprintf(f, "%-15s %s*** lost %llu events (reader fell behind) ***%s\n",
			t, color ? "\033[1;31m" : "", (unsigned long long)ev->lost,
			color ? "\033[0m" : "");
		return;
	}
	format_addr(l, sizeof(l), ev, true, true);
	format_addr(r, sizeof(r), ev, false, true);
	comm_text(comm, ev);
	fprintf(f, "%-15s %-7u %-16s %-28s %-28s %s%s -> %s%s", t, ev->tgid, comm,
		l, r, color ? state_color(ev) : "", state_name(ev->oldstate),
		state_name(ev->newstate), color ? "\033[0m" : "");
	print_event_note(f, ev);
	fputc('\n', f);
}

/* CSV: one field per column, quoted where a comm needs it (RFC 4180). */
void print_csv_header(FILE *f)
{
	fputs("time,event,pid,tid,comm,netns,family,saddr,sport,daddr,dport,old,new,cookie,"
	      "substate,reason,duration_ns,tw_count,flags,lost\n", f);
}

static void csv_comm(FILE *f, const struct synfin_event *ev)
{
	char comm[17];
	size_t i;

	comm_text(comm, ev);
	if (!strpbrk(comm, ",\"")) {
		fputs(comm, f);
		return;
	}
	fputc('"', f);
	for (i = 0; comm[i]; i++) {
		if (comm[i] == '"')
			fputc('"', f);
		fputc(comm[i], f);
	}
	fputc('"', f);
}

void print_event_csv(FILE *f, const struct synfin_event *ev,
		     const struct synfin_clock *clock, bool wall, uint64_t first_ts)
{
	char t[48], l[64], r[64];

	if (wall)
		format_iso_time(t, sizeof(t), ev, clock);
	else
		format_time(t, sizeof(t), ev, clock, false, first_ts);
	if (ev->kind == SYNFIN_EV_LOST) {
		fprintf(f, "%s,lost,,,,,,,,,,,,,,,,,,%llu\n", t, (unsigned long long)ev->lost);
		return;
	}
	format_addr(l, sizeof(l), ev, true, false);
	format_addr(r, sizeof(r), ev, false, false);
	fprintf(f, "%s,%s,%u,%u,", t, event_kind_name(ev->kind), ev->tgid, ev->pid);
	csv_comm(f, ev);
	fprintf(f, ",%u,%s,%s,%u,%s,%u,%s,%s,%llu,", ev->netns,
		ev->family == SYNFIN_AF_INET6 ? "inet6" : "inet", l, ev->sport, r, ev->dport,
		state_name(ev->oldstate), state_name(ev->newstate),
		(unsigned long long)ev->cookie);
	if (ev->kind == SYNFIN_EV_TW_ENTER || ev->kind == SYNFIN_EV_TW_EXIT)
		fprintf(f, "%s,", state_name(ev->tw_substate));
	else
		fputc(',', f);
	if (ev->kind == SYNFIN_EV_TW_EXIT)
		fprintf(f, "%s,%llu,", tw_reason_name(ev->tw_reason),
			(unsigned long long)ev->tw_duration_ns);
	else
		fputs(",,", f);
	if (ev->kind != SYNFIN_EV_STATE || (ev->flags & SYNFIN_F_TIMEWAIT))
		fprintf(f, "%u", ev->tw_count);
	fprintf(f, ",%s%s%s%s,\n",
		(ev->flags & SYNFIN_F_TIMEWAIT) ? "in_timewait " : "",
		(ev->flags & SYNFIN_F_TW_HANDOFF) ? "handoff " : "",
		(ev->flags & SYNFIN_F_LISTENER_TUPLE) ? "listener_tuple " : "",
		(ev->flags & SYNFIN_F_TW_NO_ENTRY) ? "entered_before_load" : "");
}

void print_event_json(FILE *f, const struct synfin_event *ev,
		      const struct synfin_clock *clock, bool wall)
{
	char l[64], r[64], t[48];

	if (ev->kind == SYNFIN_EV_LOST) {
		fprintf(f, "{\"lost\": %llu, \"ts_ns\": %llu}\n",
			(unsigned long long)ev->lost, (unsigned long long)ev->ts_ns);
		return;
	}
	format_addr(l, sizeof(l), ev, true, false);
	format_addr(r, sizeof(r), ev, false, false);
	fprintf(f, "{\"event\": \"%s\", \"ts_ns\": %llu, ", event_kind_name(ev->kind),
		(unsigned long long)ev->ts_ns);
	if (wall) {
		format_iso_time(t, sizeof(t), ev, clock);
		fprintf(f, "\"time\": \"%s\", ", t);
	}
	fprintf(f, "\"cpu\": %u, \"pid\": %u, \"tid\": %u, \"comm\": ", ev->cpu,
		ev->tgid, ev->pid);
	json_string(f, ev->comm, sizeof(ev->comm));
	fprintf(f, ", \"netns\": %u, \"family\": \"%s\", \"saddr\": \"%s\", "
		   "\"sport\": %u, \"daddr\": \"%s\", \"dport\": %u, "
		   "\"old\": \"%s\", \"new\": \"%s\", \"cookie\": %llu",
		ev->netns, ev->family == SYNFIN_AF_INET6 ? "inet6" : "inet", l,
		ev->sport, r, ev->dport, state_name(ev->oldstate),
		state_name(ev->newstate), (unsigned long long)ev->cookie);
	if (ev->kind == SYNFIN_EV_TW_ENTER)
		fprintf(f, ", \"substate\": \"%s\", \"timeout_ms\": %u, \"tw_count\": %u",
			state_name(ev->tw_substate), ev->tw_timeout_ms, ev->tw_count);
	if (ev->kind == SYNFIN_EV_TW_EXIT)
		fprintf(f, ", \"substate\": \"%s\", \"reason\": \"%s\", \"duration_ns\": %llu, \"tw_count\": %u",
			state_name(ev->tw_substate), tw_reason_name(ev->tw_reason),
			(unsigned long long)ev->tw_duration_ns, ev->tw_count);
	if (ev->flags & SYNFIN_F_TIMEWAIT)
		fprintf(f, ", \"in_timewait\": true, \"tw_count\": %u", ev->tw_count);
	if (ev->flags & SYNFIN_F_TW_HANDOFF)
		fputs(", \"handoff\": true", f);
	if (ev->flags & SYNFIN_F_LISTENER_TUPLE)
		fputs(", \"listener_tuple\": true", f);
	if (ev->flags & SYNFIN_F_TW_NO_ENTRY)
		fputs(", \"entered_before_load\": true", f);
	if (ev->held_us)
		fprintf(f, ", \"held_us\": %u", ev->held_us);
	fputs("}\n", f);
}
