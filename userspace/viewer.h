/* SPDX-License-Identifier: GPL-2.0 */
/* synfin viewer: what the parts share. */
#ifndef SYNFIN_VIEWER_H
#define SYNFIN_VIEWER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uapi/synfin.h>
#include <synfin/filter.h>

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(struct synfin_event) == SYNFIN_EVENT_SIZE,
	       "struct synfin_event must be 192 bytes");
_Static_assert(__builtin_offsetof(struct synfin_event, state_ns) == SYNFIN_EVENT_V1_SIZE,
	       "ABI v2 fields must follow the 128 bytes of v1");
_Static_assert(sizeof(struct synfin_capture_header) == SYNFIN_CAPTURE_HEADER_SIZE,
	       "capture header must be 64 bytes");

#define SYNFIN_VERSION "0.2"
/* metrics --listen: outside 9100-9999 (Prometheus's allocations, full) and
 * the 10000s they continue into, below the ephemeral range (docs/metrics.md). */
#define SYNFIN_EXPORTER_PORT		29117
#define SYNFIN_EXPORTER_PORT_TEXT	"29117"

/* Exit codes (documented in synfin(1) and README). */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

enum output_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct options {
	const char *command;		/* the command's name */
	enum output_format format;
	bool color;			/* --color, resolved: color on */
	bool wall_clock;		/* -T */
	long long max_events;		/* -c N, 0: no limit */
	const char *read_file;		/* -r FILE */
	const char *write_file;		/* -w FILE */
	const char *device;		/* --device PATH */
	bool all_netns;			/* tw --all-netns */
	unsigned int top;		/* tw -n N: rows per top list */
	bool top_set;			/* -n given (0 is allowed) */
	/* -4 -6 -p --comm -L -D --addr --state --netns; match == 0: none.
	 * tw reads .netns (when SYNFIN_FILTER_NETNS) as the netns to show. */
	struct synfin_filter filter;
	unsigned int watch_secs;	/* tw --watch: 0 = off */
	bool advise;			/* tw --advise */
	const char *textfile;		/* metrics --textfile PATH */
	const char *listen;		/* metrics --listen [ADDR:]PORT */
	uint16_t ports[SYNFIN_FILTER_LIST];	/* metrics --ports: always exported */
	uint8_t n_ports;
};

/* Where records come from: the live device or a capture file. */
struct source {
	int fd;
	bool live;
	const char *name;
	struct synfin_clock clock;	/* mono/real pair for wall-clock times */
	unsigned long long offset;	/* bytes consumed, for error messages */
	struct synfin_event buf[64];
	size_t len, next;
	/* Captures: records as read, of the capture's size, then a partial
	 * one (stray bytes) after the len whole ones. */
	unsigned char raw[64 * SYNFIN_EVENT_SIZE];
	size_t stray;
	size_t record_size;		/* bytes per record: the capture's ABI's */
	unsigned int abi;		/* the records' ABI (captures: 1 or 2) */
	bool eof;			/* stopped before the capture began */
	struct synfin_filter filter;
};

/* Set by SIGINT/SIGTERM: stop reading, exit 0. */
extern volatile int stop_requested;

/* main.c: one-line errors, on stderr (or {"error": ...} with -j); none
 * while report_muted (the exporter retrying what it has reported once) */
extern _Thread_local bool report_muted;
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Flush standard output; false once it cannot be written (reported at exit). */
bool output_flush(void);
/* A write to standard output failed with err: reported at exit. */
void output_error(int err);

/* source.c */
/* Opens the device or capture. source_next() returns only records that
 * pass opt->filter; on the device the filter is also pushed to the module,
 * so the reader is not woken for the rest. */
int source_open(struct source *src, const struct options *opt);
int source_next(struct source *src, struct synfin_event *ev);
/* Records read and not yet returned: source_next() will not read(). */
bool source_buffered(const struct source *src);
void source_close(struct source *src);
/* After EOPNOTSUPP: the module runs without that family (families=). */
void report_family_missing(const char *what, const char *family);
int capture_write_header(FILE *f, const struct synfin_clock *clock);

/* format.c */
const char *state_name(unsigned int state);
const char *tw_reason_name(unsigned int reason);
const char *event_kind_name(unsigned int kind);
const char *hook_name(uint32_t hook);
void format_addr(char *out, size_t outlen, const struct synfin_event *ev,
		 bool local, bool with_port);
void format_time(char *out, size_t outlen, const struct synfin_event *ev,
		 const struct synfin_clock *clock, bool wall, uint64_t first_ts);
void format_iso_time(char *out, size_t outlen, const struct synfin_event *ev,
		     const struct synfin_clock *clock);
enum text_style { TEXT_TABLE, TEXT_CSV, TEXT_JSON };
/* Room for a rendered comm (16 bytes) in any style. */
#define SYNFIN_COMM_TEXT	(16 * 6 + 3)
size_t text_render(char *out, size_t outlen, const char *in, size_t maxlen,
		   enum text_style style);
void json_string(FILE *f, const char *s, size_t maxlen);
/*
 * Every -j line is one object that starts with its "type" (event, lost,
 * life, tw, tw_all, advice, stats, error) and the version of
 * docs/synfin.schema.json it follows; json_begin() writes that much, and a
 * comma, for the caller's first key.
 */
#define SYNFIN_JSON_SCHEMA	1
void json_begin(FILE *f, const char *type);
void print_table_header(FILE *f);
void format_ms(char *out, size_t outlen, const struct synfin_event *ev);
/* The ABI v2 numbers as text, each @unknown ("" for CSV, "null" for JSON)
 * where .have says it is not known. */
struct event_numbers {
	char ms[32];
	char tx[24], rx[24], segs_out[12], segs_in[12], retrans[12];
	char srtt[12], rttvar[12], min_rtt[12], uid[12], cgroup_id[24];
};
void event_numbers(struct event_numbers *n, const struct synfin_event *ev,
		   const char *unknown);
void print_event_table(FILE *f, const struct synfin_event *ev,
		       const struct synfin_clock *clock, bool wall,
		       uint64_t first_ts, bool color);
void print_csv_header(FILE *f);
void print_event_csv(FILE *f, const struct synfin_event *ev,
		     const struct synfin_clock *clock, bool wall, uint64_t first_ts);
void print_event_json(FILE *f, const struct synfin_event *ev,
		      const struct synfin_clock *clock, bool wall);

/* cgroup.c: a cgroup v2 path (filesystem path, or as /proc/PID/cgroup
 * writes it) to its id (errors reported); an id to its path relative to
 * the cgroup2 mount, NULL if no such cgroup exists (any more). */
int cgroup_id_of(const char *arg, __u64 *id);
const char *cgroup_path(uint64_t id);

/* main.c: "SYN_SENT", "syn-sent", ... -> enum synfin_tcp_state, or -1 */
int parse_state_name(const char *name);

/* commands */
int cmd_tail(const struct options *opt);
int cmd_life(const struct options *opt);
int cmd_ladder(const struct options *opt);
int cmd_tw(const struct options *opt);
int cmd_stats(const struct options *opt);
int cmd_metrics(const struct options *opt);

/* cmd_metrics.c: what one scrape reads of the module, and its exposition */
struct metrics_snapshot {
	bool module_wide;	/* stats and transitions readable (CAP_NET_ADMIN) */
	struct synfin_stats stats;
	bool have_transitions;	/* counted (families= may leave them out) */
	struct synfin_transitions tr;
	bool have_timewait;	/* TIME_WAIT counted (families= ...) */
	bool have_health;	/* SYNFIN_IOC_HEALTH answered (older modules: ENOTTY) */
	struct synfin_health health;
	struct tw_view *ns;	/* one per netns shown */
	uint8_t **listening;	/* per netns: bitmap of listening local ports, or NULL */
	size_t n_ns;
	unsigned int top;	/* -n: series per list */
	const uint16_t *ports;	/* --ports */
	unsigned int n_ports;
	uint16_t eph_lo, eph_hi;	/* ip_local_port_range */
};
int metrics_snapshot_take(struct metrics_snapshot *s, int fd, const struct options *opt);
void metrics_snapshot_free(struct metrics_snapshot *s);
void metrics_write(FILE *f, const struct metrics_snapshot *s);
void metrics_write_up(FILE *f, bool up);
void metrics_family(FILE *f, const char *name, const char *type, const char *help);
void metrics_sample(FILE *f, const char *name, const char *const *labels,
		    unsigned long long value);
void metrics_sample_float(FILE *f, const char *name, const char *const *labels,
			  double value);
void metrics_plain(FILE *f, const char *name, const char *type, const char *help,
		   unsigned long long value);
/* Bit PORT set for each TCP port listening in /proc/DIR/net/tcp{,6}
 * (DIR "self" or a pid); bits holds 65536. False if neither was readable. */
bool listening_ports(const char *dir, uint8_t *bits);
/* exporter.c: metrics --listen */
int exporter_run(const struct options *opt);

/* cmd_tw.c: one netns's timewait counts and busiest keys, for tw and metrics */
struct tw_view {
	struct synfin_tw_query q;
	unsigned int top;		/* room in each list */
	struct synfin_tw_key *rows;	/* one allocation for the three lists */
	struct synfin_tw_key *lports, *rports, *peers;
};
int tw_view_init(struct tw_view *v, unsigned int top);
void tw_view_free(struct tw_view *v);
/* 0, or an errno value (not reported): the caller knows what it asked */
int tw_view_fetch(int fd, uint32_t netns, struct tw_view *v);
/* Every netns with timewait sockets; *all is malloc'ed. 0 or an errno value. */
int tw_netns_list(int fd, struct synfin_tw_counts **all, uint32_t *n);
void tw_peer_text(char *out, size_t len, const struct synfin_tw_key *k);

#endif
