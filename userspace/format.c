// SPDX-License-Identifier: GPL-2.0
/* Turning records into text: state names, addresses, table and JSON lines. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
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

/*
 * Length of the valid UTF-8 character at s (at most n bytes), or 0 for a
 * stray byte: a bad lead or continuation byte, an overlong form, a
 * surrogate, past U+10FFFF, or a character cut short (a comm is cut at 15
 * bytes wherever that falls).
 */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Text the kernel hands over (a comm: up to 16 bytes, maybe without a NUL,
 * UTF-8 or not) rendered for one output. The one place that decides what
 * a character is:
 *   TEXT_TABLE  printable ASCII as is; any other character, or stray byte,
 *               is one '?' (columns stay aligned); empty is "-"
 *   TEXT_CSV    valid UTF-8 as is, control characters and stray bytes '?';
 *               quoted (RFC 4180) when it holds a comma or a quote
 *   TEXT_JSON   a JSON string: valid UTF-8 as is, '"', '\' and control
 *               characters escaped, stray bytes U+FFFD: always valid UTF-8
 * Writes at most outlen - 1 bytes and a NUL; returns the length.
 */
size_t text_render(char *out, size_t outlen, const char *in, size_t maxlen,
		   enum text_style style)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0, i, len, o = 0;
	bool quote = false;

	while (n < maxlen && s[n])
		n++;
	if (style == TEXT_CSV)
		for (i = 0; i < n; i++)
			quote |= s[i] == ',' || s[i] == '"';
#define PUT(str, l) do {						\
		if (o + (l) < outlen) {					\
			memcpy(out + o, (str), (l));			\
			o += (l);					\
		}							\
	} while (0)
	if (quote || style == TEXT_JSON)
		PUT("\"", 1);
	for (i = 0; i < n; i += len ? len : 1) {
		char esc[8];

		len = utf8_char(s + i, n - i);
		if (len == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			if (style == TEXT_JSON) {
				snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
				PUT(esc, 6);
			} else {
				PUT("?", 1);
			}
		} else if (len == 1) {
			if (style == TEXT_JSON && (s[i] == '"' || s[i] == '\\'))
				PUT("\\", 1);
			else if (style == TEXT_CSV && s[i] == '"')
				PUT("\"", 1);
			PUT(s + i, 1);
		} else if (len) {
			if (style == TEXT_TABLE)
				PUT("?", 1);
			else
				PUT(s + i, len);
		} else {
			if (style == TEXT_JSON)
				PUT("\\ufffd", 6);
			else
				PUT("?", 1);
		}
	}
	if (quote || style == TEXT_JSON)
		PUT("\"", 1);
	if (style == TEXT_TABLE && !o)
		PUT("-", 1);
#undef PUT
	if (outlen)
		out[o] = 0;
	return o;
}

void json_begin(FILE *f, const char *type)
{
	fprintf(f, "{\"type\": \"%s\", \"schema\": %d, ", type, SYNFIN_JSON_SCHEMA);
}

/* A JSON string from at most maxlen bytes of s (comm may lack a NUL). */
void json_string(FILE *f, const char *s, size_t maxlen)
{
	/* Worst case: every byte escaped as six, and the quotes. */
	size_t cap = maxlen * 6 + 3;
	char small[128], *buf = cap <= sizeof(small) ? small : malloc(cap);

	if (!buf) {
		fputs("\"\"", f);
		return;
	}
	text_render(buf, cap, s, maxlen, TEXT_JSON);
	fputs(buf, f);
	if (buf != small)
		free(buf);
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
	if (ev->flags & SYNFIN_F_CHILD_DROPPED)
		fputs("  [child dropped at birth: never a connection]", f);
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
	fprintf(f, "%-15s %-7s %-16s %-28s %-28s %10s %s\n", "TIME", "PID", "COMM",
		"LOCAL", "REMOTE", "MS", "OLD -> NEW");
}

/* Milliseconds spent in the old state, as tcpstates' MS: "12.345", or "-". */
void format_ms(char *out, size_t outlen, const struct synfin_event *ev)
{
	if (!(ev->have & SYNFIN_HAVE_STATE_TIME)) {
		snprintf(out, outlen, "-");
		return;
	}
	snprintf(out, outlen, "%llu.%03llu",
		 (unsigned long long)(ev->state_ns / 1000000),
		 (unsigned long long)(ev->state_ns / 1000 % 1000));
}

static void num_text(char *out, size_t len, bool known, unsigned long long v,
		     const char *unknown)
{
	if (known)
		snprintf(out, len, "%llu", v);
	else
		snprintf(out, len, "%s", unknown);
}

void event_numbers(struct event_numbers *n, const struct synfin_event *ev,
		   const char *unknown)
{
	bool tcp = ev->have & SYNFIN_HAVE_TCP, sock = ev->have & SYNFIN_HAVE_SOCK, rtt;

	num_text(n->tx, sizeof(n->tx), tcp, ev->tx_bytes, unknown);
	num_text(n->rx, sizeof(n->rx), tcp, ev->rx_bytes, unknown);
	num_text(n->segs_out, sizeof(n->segs_out), tcp, ev->segs_out, unknown);
	num_text(n->segs_in, sizeof(n->segs_in), tcp, ev->segs_in, unknown);
	num_text(n->retrans, sizeof(n->retrans), tcp, ev->retrans, unknown);
	/* srtt 0: no RTT sample yet (a refused connect); rttvar then holds the
	 * kernel's initial guess, and min_rtt its ~0 (the module's 0) */
	rtt = tcp && ev->srtt_us;
	num_text(n->srtt, sizeof(n->srtt), rtt, ev->srtt_us, unknown);
	num_text(n->rttvar, sizeof(n->rttvar), rtt, ev->rttvar_us, unknown);
	num_text(n->min_rtt, sizeof(n->min_rtt), rtt && ev->min_rtt_us, ev->min_rtt_us, unknown);
	num_text(n->uid, sizeof(n->uid), sock, ev->uid, unknown);
	/* 0: a kernel without socket cgroup data */
	num_text(n->cgroup_id, sizeof(n->cgroup_id), sock && ev->cgroup_id, ev->cgroup_id, unknown);
	if (ev->have & SYNFIN_HAVE_STATE_TIME)
		format_ms(n->ms, sizeof(n->ms), ev);
	else
		snprintf(n->ms, sizeof(n->ms), "%s", unknown);
}

void print_event_table(FILE *f, const struct synfin_event *ev,
		       const struct synfin_clock *clock, bool wall,
		       uint64_t first_ts, bool color)
{
	char t[32], l[64], r[64], ms[32], comm[SYNFIN_COMM_TEXT];

	format_time(t, sizeof(t), ev, clock, wall, first_ts);
	if (ev->kind == SYNFIN_EV_LOST) {
		fprintf(f, "%-15s %s*** lost %llu events (reader fell behind) ***%s\n",
			t, color ? "\033[1;31m" : "", (unsigned long long)ev->lost,
			color ? "\033[0m" : "");
		return;
	}
	format_addr(l, sizeof(l), ev, true, true);
	format_addr(r, sizeof(r), ev, false, true);
	text_render(comm, sizeof(comm), ev->comm, sizeof(ev->comm), TEXT_TABLE);
	format_ms(ms, sizeof(ms), ev);
	fprintf(f, "%-15s %-7u %-16s %-28s %-28s %10s %s%s -> %s%s", t, ev->tgid, comm,
		l, r, ms, color ? state_color(ev) : "", state_name(ev->oldstate),
		state_name(ev->newstate), color ? "\033[0m" : "");
	print_event_note(f, ev);
	fputc('\n', f);
}

/* CSV: one field per column, quoted where a comm needs it (RFC 4180). */
void print_csv_header(FILE *f)
{
	fputs("time,event,pid,tid,comm,netns,family,saddr,sport,daddr,dport,old,new,cookie,"
	      "substate,reason,duration_ns,tw_count,flags,lost,"
	      "ms,tx_bytes,rx_bytes,segs_out,segs_in,retrans,srtt_us,rttvar_us,min_rtt_us,"
	      "uid,cgroup_id\n", f);
}

void print_event_csv(FILE *f, const struct synfin_event *ev,
		     const struct synfin_clock *clock, bool wall, uint64_t first_ts)
{
	char t[48], l[64], r[64], comm[SYNFIN_COMM_TEXT];
	struct event_numbers n;

	if (wall)
		format_iso_time(t, sizeof(t), ev, clock);
	else
		format_time(t, sizeof(t), ev, clock, false, first_ts);
	if (ev->kind == SYNFIN_EV_LOST) {
		fprintf(f, "%s,lost,,,,,,,,,,,,,,,,,,%llu,,,,,,,,,,,\n", t,
			(unsigned long long)ev->lost);
		return;
	}
	format_addr(l, sizeof(l), ev, true, false);
	format_addr(r, sizeof(r), ev, false, false);
	text_render(comm, sizeof(comm), ev->comm, sizeof(ev->comm), TEXT_CSV);
	fprintf(f, "%s,%s,%u,%u,%s", t, event_kind_name(ev->kind), ev->tgid, ev->pid, comm);
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
	fprintf(f, ",%s%s%s%s%s,",
		(ev->flags & SYNFIN_F_TIMEWAIT) ? "in_timewait " : "",
		(ev->flags & SYNFIN_F_TW_HANDOFF) ? "handoff " : "",
		(ev->flags & SYNFIN_F_LISTENER_TUPLE) ? "listener_tuple " : "",
		(ev->flags & SYNFIN_F_CHILD_DROPPED) ? "child_dropped " : "",
		(ev->flags & SYNFIN_F_TW_NO_ENTRY) ? "entered_before_load" : "");
	event_numbers(&n, ev, "");
	fprintf(f, ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", n.ms, n.tx, n.rx, n.segs_out,
		n.segs_in, n.retrans, n.srtt, n.rttvar, n.min_rtt, n.uid, n.cgroup_id);
}

/* The ABI v2 numbers of one event as JSON keys (null: not known). */
/*
 * tail -j's line, built in memory and written with one fwrite(): at a
 * busy host's rate the viewer must cost little more than the reader it
 * prints for (a printf per field was 22 000 instructions a record).
 * Byte for byte what the printf version wrote; the golden files hold it.
 */
struct line {
	char *p, *end;
	char buf[2048];		/* the longest event line is under 1100 bytes */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > (size_t)(l->end - l->p))
		n = l->end - l->p;
	memcpy(l->p, s, n);
	l->p += n;
}

#define PUT_LIT(l, lit)	put(l, lit, sizeof(lit) - 1)

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_u64(struct line *l, uint64_t v)
{
	char d[20], *q = d + sizeof(d);

	do
		*--q = '0' + v % 10;
	while (v /= 10);
	put(l, q, d + sizeof(d) - q);
}

/* v, or null where @known is false. */
static void put_num(struct line *l, bool known, uint64_t v)
{
	if (known)
		put_u64(l, v);
	else
		PUT_LIT(l, "null");
}

/* "name": "value" pieces: ", \"key\": " then the value. */
static void put_key(struct line *l, const char *key)
{
	PUT_LIT(l, ", \"");
	put_str(l, key);
	PUT_LIT(l, "\": ");
}

/* ", "key": "value" for a value that needs no escaping (names, times). */
static void put_key_str(struct line *l, const char *key, const char *value)
{
	put_key(l, key);
	PUT_LIT(l, "\"");
	put_str(l, value);
	PUT_LIT(l, "\"");
}

static void put_key_u64(struct line *l, const char *key, uint64_t value)
{
	put_key(l, key);
	put_u64(l, value);
}

static void put_key_num(struct line *l, const char *key, bool known, uint64_t value)
{
	put_key(l, key);
	put_num(l, known, value);
}

/* The bare address, as format_addr() without a port writes it. */
static void put_addr(struct line *l, const struct synfin_event *ev, bool local)
{
	const uint8_t *a = local ? ev->saddr : ev->daddr;
	char ip[INET6_ADDRSTRLEN];

	if (ev->family == SYNFIN_AF_INET6) {
		if (!inet_ntop(AF_INET6, a, ip, sizeof(ip)))
			strcpy(ip, "?");
		put_str(l, ip);
		return;
	}
	for (int i = 0; i < 4; i++) {
		if (i)
			PUT_LIT(l, ".");
		put_u64(l, a[i]);
	}
}

/* The ABI v2 numbers, null where .have says unknown (event_numbers()). */
static void put_event_numbers(struct line *l, const struct synfin_event *ev)
{
	bool tcp = ev->have & SYNFIN_HAVE_TCP, sock = ev->have & SYNFIN_HAVE_SOCK;
	bool rtt = tcp && ev->srtt_us;

	put_key(l, "ms");
	if (ev->have & SYNFIN_HAVE_STATE_TIME) {
		uint64_t frac = ev->state_ns / 1000 % 1000;

		put_u64(l, ev->state_ns / 1000000);
		PUT_LIT(l, ".");
		put(l, (const char[]){ '0' + frac / 100, '0' + frac / 10 % 10, '0' + frac % 10 }, 3);
	} else {
		PUT_LIT(l, "null");
	}
	put_key_num(l, "tx_bytes", tcp, ev->tx_bytes);
	put_key_num(l, "rx_bytes", tcp, ev->rx_bytes);
	put_key_num(l, "segs_out", tcp, ev->segs_out);
	put_key_num(l, "segs_in", tcp, ev->segs_in);
	put_key_num(l, "retrans", tcp, ev->retrans);
	put_key_num(l, "srtt_us", rtt, ev->srtt_us);
	put_key_num(l, "rttvar_us", rtt, ev->rttvar_us);
	put_key_num(l, "min_rtt_us", rtt && ev->min_rtt_us, ev->min_rtt_us);
	put_key_num(l, "uid", sock, ev->uid);
	put_key_num(l, "cgroup_id", sock && ev->cgroup_id, ev->cgroup_id);
}

void print_event_json(FILE *f, const struct synfin_event *ev,
		      const struct synfin_clock *clock, bool wall)
{
	struct line l;
	char t[48];

	l.p = l.buf;
	l.end = l.buf + sizeof(l.buf);
	PUT_LIT(&l, "{\"type\": \"");
	if (ev->kind == SYNFIN_EV_LOST) {
		PUT_LIT(&l, "lost\", \"schema\": ");
		put_u64(&l, SYNFIN_JSON_SCHEMA);
		PUT_LIT(&l, ", \"lost\": ");
		put_u64(&l, ev->lost);
		put_key_u64(&l, "ts_ns", ev->ts_ns);
		PUT_LIT(&l, "}\n");
		fwrite(l.buf, 1, l.p - l.buf, f);
		return;
	}
	PUT_LIT(&l, "event\", \"schema\": ");
	put_u64(&l, SYNFIN_JSON_SCHEMA);
	PUT_LIT(&l, ", \"event\": \"");
	put_str(&l, event_kind_name(ev->kind));
	PUT_LIT(&l, "\"");
	put_key_u64(&l, "ts_ns", ev->ts_ns);
	if (wall) {
		format_iso_time(t, sizeof(t), ev, clock);
		put_key_str(&l, "time", t);
	}
	put_key_u64(&l, "cpu", ev->cpu);
	put_key_u64(&l, "pid", ev->tgid);
	put_key_u64(&l, "tid", ev->pid);
	put_key(&l, "comm");
	l.p += text_render(l.p, l.end - l.p, ev->comm, sizeof(ev->comm), TEXT_JSON);
	put_key_u64(&l, "netns", ev->netns);
	put_key(&l, "family");
	put_str(&l, ev->family == SYNFIN_AF_INET6 ? "\"inet6\"" : "\"inet\"");
	put_key(&l, "saddr");
	PUT_LIT(&l, "\"");
	put_addr(&l, ev, true);
	PUT_LIT(&l, "\"");
	put_key_u64(&l, "sport", ev->sport);
	put_key(&l, "daddr");
	PUT_LIT(&l, "\"");
	put_addr(&l, ev, false);
	PUT_LIT(&l, "\"");
	put_key_u64(&l, "dport", ev->dport);
	put_key_str(&l, "old", state_name(ev->oldstate));
	put_key_str(&l, "new", state_name(ev->newstate));
	put_key_u64(&l, "cookie", ev->cookie);
	if (ev->kind == SYNFIN_EV_TW_ENTER || ev->kind == SYNFIN_EV_TW_EXIT)
		put_key_str(&l, "substate", state_name(ev->tw_substate));
	if (ev->kind == SYNFIN_EV_TW_ENTER)
		put_key_u64(&l, "timeout_ms", ev->tw_timeout_ms);
	if (ev->kind == SYNFIN_EV_TW_EXIT) {
		put_key_str(&l, "reason", tw_reason_name(ev->tw_reason));
		put_key_u64(&l, "duration_ns", ev->tw_duration_ns);
	}
	if (ev->kind == SYNFIN_EV_TW_ENTER || ev->kind == SYNFIN_EV_TW_EXIT)
		put_key_u64(&l, "tw_count", ev->tw_count);
	if (ev->flags & SYNFIN_F_TIMEWAIT) {
		PUT_LIT(&l, ", \"in_timewait\": true");
		/* Timewait entries and exits carry tw_count already. */
		if (ev->kind == SYNFIN_EV_STATE)
			put_key_u64(&l, "tw_count", ev->tw_count);
	}
	if (ev->flags & SYNFIN_F_TW_HANDOFF)
		PUT_LIT(&l, ", \"handoff\": true");
	if (ev->flags & SYNFIN_F_LISTENER_TUPLE)
		PUT_LIT(&l, ", \"listener_tuple\": true");
	if (ev->flags & SYNFIN_F_TW_NO_ENTRY)
		PUT_LIT(&l, ", \"entered_before_load\": true");
	if (ev->flags & SYNFIN_F_CHILD_DROPPED)
		PUT_LIT(&l, ", \"child_dropped\": true");
	if (ev->held_us)
		put_key_u64(&l, "held_us", ev->held_us);
	put_event_numbers(&l, ev);
	PUT_LIT(&l, "}\n");
	fwrite(l.buf, 1, l.p - l.buf, f);
}
