// SPDX-License-Identifier: GPL-2.0
/*
 * synfin: watch TCP connections go from SYN to FIN to TIME_WAIT.
 * Argument parsing, filters, command dispatch, exit codes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "viewer.h"


volatile int stop_requested;
static bool json_errors;

/* Per thread: the exporter mutes its retries, not its scrapes' errors. */
_Thread_local bool report_muted;

void report_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (report_muted)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_errors) {
		json_begin(stdout, "error");
		fputs("\"error\": ", stdout);
		json_string(stdout, msg, sizeof(msg));
		fputs("}\n", stdout);
		output_flush();	/* a failure is reported at exit, with its reason */
	} else {
		fprintf(stderr, "synfin: %s\n", msg);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	/* No SA_RESTART: a blocked read() must return so we can exit. Set
	 * explicitly, since a background job may inherit SIGINT ignored. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Options, as bits: which command takes which. */
enum {
	O_JSON = 1 << 0, O_TIME = 1 << 1, O_COUNT = 1 << 2, O_WRITE = 1 << 3,
	O_READ = 1 << 4, O_DEVICE = 1 << 5, O_ALLNS = 1 << 6, O_TOP = 1 << 7,
	O_CSV = 1 << 8, O_COLOR = 1 << 9, O_FILTER = 1 << 10, O_WATCH = 1 << 11,
	O_ADVISE = 1 << 12, O_TEXTFILE = 1 << 13, O_NETNS = 1 << 14,
	O_LISTEN = 1 << 15, O_PORTS = 1 << 16,
};

#define O_EVENTS (O_JSON | O_TIME | O_COUNT | O_READ | O_DEVICE | O_CSV | O_COLOR | O_FILTER | O_NETNS)

struct command {
	const char *name;
	int (*run)(const struct options *opt);
	unsigned int takes;
	const char *summary;
	const char *help;
};

static const struct command commands[] = {
	{ "tail", cmd_tail, O_EVENTS | O_WRITE, "one line per event, live (the default)",
"Usage: synfin [tail] [-j|--csv] [-T] [-c N] [FILTERS] [-w FILE | -r FILE]\n"
"Every TCP state change and TIME_WAIT entry/exit as it happens: time, owner\n"
"(pid, comm), local and remote address, MS (milliseconds spent in the old\n"
"state, like tcpstates; '-' for a connection's first event), OLD -> NEW.\n"
"-j and --csv add the connection's numbers at that change (synfin life\n"
"--help lists them; man synfin: CONNECTION NUMBERS). Lost\n"
"records are shown as '*** lost N events ***' lines (JSON: {\"lost\": N}).\n"
"  -w FILE   save the raw records to FILE ('-': stdout) instead of printing;\n"
"            replay them anywhere with -r FILE\n" },
	{ "life", cmd_life, O_EVENTS, "one line per finished connection, with time in each state",
"Usage: synfin life [-j|--csv] [-T] [-c N] [FILTERS] [-r FILE]\n"
"One line per connection when it is gone (like tcplife): owner, both ends,\n"
"TX_KB and RX_KB (KiB sent and acked, and received), total duration (MS),\n"
"the time spent in each state (SYN = SYN_SENT or SYN_RECV,\n"
"EST, FW1, FW2, CW = CLOSE_WAIT, LA = LAST_ACK, CLG = CLOSING, TW =\n"
"TIME_WAIT), and who closed first: 'active' sent the first FIN, 'passive'\n"
"answered one, 'reset' or 'refused' ended without the FIN exchange. A\n"
"server's SYN is its child socket's SYN_RECV only: the request sock that\n"
"answered the SYN fires no event. -c N: stop after N connections.\n"
"--state S keeps connections that passed through state S.\n"
"-j/--csv also give, as tcp_info has them at the connection's last change:\n"
"tx_bytes, rx_bytes (tcpi_bytes_acked, tcpi_bytes_received: sequence\n"
"numbers, so an acked FIN and the connecting side's SYN count 1 each),\n"
"segs_out, segs_in, retrans (tcpi_total_retrans), srtt_us, rttvar_us,\n"
"min_rtt_us (tcpi_rtt, tcpi_rttvar, tcpi_min_rtt, in microseconds), uid (the\n"
"socket's, as ss -e shows), cgroup (its cgroup v2 path) and cgroup_id.\n"
"Unknown values (captures from before ABI 2) are null, or empty in CSV.\n" },
	{ "ladder", cmd_ladder, O_EVENTS, "draw handshake and close ladders of real connections",
"Usage: synfin ladder [-T] [-c N] [FILTERS] [-r FILE]\n"
"Draws each connection as a client | server ladder: SYN, SYN+ACK, ACK, then\n"
"the FINs and their ACKs, with each side's states beside the arrows and\n"
"times relative to the first SYN. Segments are inferred from the state\n"
"changes synfin saw (CLOSE->SYN_SENT means a SYN left). When both ends are\n"
"on this host both columns are real; otherwise the far side is marked\n"
"'(inferred)'. -c N: stop after N connections.\n" },
	{ "tw", cmd_tw, O_JSON | O_DEVICE | O_ALLNS | O_TOP | O_WATCH | O_ADVISE | O_NETNS,
	  "TIME_WAIT counts: total, substates, top ports and peers",
"Usage: synfin tw [-j] [-n N] [--all-netns | --netns INODE] [--watch [SECONDS]] [--advise]\n"
"Counts timewait sockets from the module's live counters (no walk of the\n"
"socket table). 'total' is what /proc/net/sockstat calls tw (both\n"
"substates); 'TIME_WAIT' is what `ss state time-wait` lists; 'FIN_WAIT2'\n"
"are orphans handed to a timewait sock.\n"
"  -n N            rows in each top list (default 10; 0: counts only)\n"
"  --all-netns     every network namespace\n"
"  --netns INODE   that namespace (an inode, as in `ls -l /proc/PID/ns/net`)\n"
"  --watch [SECS]  refresh in place every SECS seconds (default 1)\n"
"  --advise        read this host's sysctls and counts, say what to change\n" },
	{ "stats", cmd_stats, O_JSON | O_DEVICE, "module statistics: events by transition, lost, readers",
"Usage: synfin stats [-j]\n"
"The module's counters since load: hook invocations, events recorded by\n"
"transition, timewait entries and exits by reason, records delivered and\n"
"lost, ring size and fill, open readers.\n" },
	{ "metrics", cmd_metrics, O_DEVICE | O_TOP | O_TEXTFILE | O_ALLNS | O_LISTEN | O_PORTS | O_NETNS,
	  "Prometheus metrics: printed, a textfile, or an exporter (--listen)",
"Usage: synfin metrics [-n N] [--all-netns | --netns INODE] [--ports LIST]\n"
"                      [--textfile PATH | --listen [ADDR:]PORT]\n"
"Prints Prometheus metrics: synfin_up, synfin_timewait_sockets{netns,state},\n"
"synfin_timewait_port_sockets{netns,side,port}, synfin_transitions_total{from,to},\n"
"synfin_events_lost_total, ... (docs/metrics.md lists them all).\n"
"  -n N             series per port and peer list (default 10)\n"
"  --all-netns      timewait series of every network namespace\n"
"  --netns INODE    that namespace's instead of this one's (with --listen,\n"
"                   its connections only in the histograms)\n"
"  --ports LIST     local ports to export even when not listening (80,443)\n"
"  --textfile PATH  write to PATH atomically (for node_exporter's textfile\n"
"                   collector) instead of stdout; synfin_up 0 in it on failure\n"
"  --listen [ADDR:]PORT  serve /metrics over HTTP until SIGTERM (default\n"
"                   port " SYNFIN_EXPORTER_PORT_TEXT "), with histograms of connection and state\n"
"                   durations made from the event stream\n" },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static const char common_help[] =
"\n"
"Output:\n"
"  -j, --json           JSON (one object per line); errors as {\"error\": ...}\n"
"      --csv            comma-separated values with a header row\n"
"  -T, --timestamp      wall-clock times (default: seconds since the first event)\n"
"      --color=WHEN     auto (the default: only on a terminal), always, never\n"
"  -c, --count N        stop after N events (life, ladder: connections)\n"
"  -r, --read FILE      read a saved capture instead of /dev/synfin\n"
"      --device PATH    read this device instead of " SYNFIN_DEVICE "\n"
"Filters (applied in the module for live reads; PID and PORT lists take up\n"
"to 16 comma-separated values, e.g. -L 80,443):\n"
"  -4, -6               IPv4 or IPv6 sockets only\n"
"  -p, --pid PID[,PID]  owner's process id\n"
"      --comm COMM      owner's command name (exact, at most 15 characters)\n"
"  -L, --lport PORT[,PORT]  local port\n"
"  -D, --dport PORT[,PORT]  remote port\n"
"  -u, --uid UID        the socket's uid (a number or a user name): its\n"
"                       creator's, what `ss -e` shows\n"
"      --cgroup PATH    sockets created in this cgroup v2 (exactly, not in\n"
"                       its children), e.g. /sys/fs/cgroup/system.slice/nginx.service\n"
"                       or /system.slice/nginx.service, as /proc/PID/cgroup says\n"
"      --addr ADDR[/PREFIX]  either end's address in this network\n"
"      --state S[,S]    events into or out of these states (names as shown,\n"
"                       e.g. SYN_SENT,TIME_WAIT)\n"
"      --netns INODE    this network namespace only\n"
"\n"
"Exit status: 0 ok (also on SIGINT/SIGTERM), 1 runtime error, 2 usage error.\n";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: synfin [COMMAND] [OPTIONS]\n"
"Watch TCP connections change state (SYN ... FIN ... TIME_WAIT) as the\n"
"kernel makes them, from /dev/synfin (module synfin.ko) or a capture file.\n"
"\n"
"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  help CMD  options of one command (also: synfin CMD --help)\n");
	fputs(common_help, f);
	fputs("  -h, --help           this help (synfin COMMAND --help: that command's)\n"
	      "  -V, --version        version and ABI\n", f);
}

static void command_usage(const struct command *cmd)
{
	fputs(cmd->help, stdout);
	if (cmd->takes & (O_FILTER | O_CSV))
		fputs(common_help, stdout);
	else
		fputs("\nExit status: 0 ok (also on SIGINT/SIGTERM), 1 runtime error, 2 usage error.\n", stdout);
}

static int parse_count(const char *s, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_state_name(const char *name)
{
	for (unsigned int s = 1; s < SYNFIN_TCP_MAX_STATES; s++)
		if (!strcasecmp(name, state_name(s)))
			return s;
	/* ss spells them with dashes and lower case: time-wait, syn-sent */
	if (strchr(name, '-')) {
		char buf[32];
		size_t i;

		for (i = 0; name[i] && i < sizeof(buf) - 1; i++)
			buf[i] = name[i] == '-' ? '_' : name[i];
		buf[i] = 0;
		return name[i] ? -1 : parse_state_name(buf);
	}
	return -1;
}

static int parse_states(const char *arg, struct synfin_filter *f)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int s = parse_state_name(tok);

		if (s < 0) {
			report_error("--state: unknown state '%s' (use names like SYN_SENT, ESTABLISHED, TIME_WAIT)", tok);
			return -1;
		}
		f->states |= 1u << s;
	}
	if (!f->states) {
		report_error("--state needs at least one state name");
		return -1;
	}
	f->match |= SYNFIN_FILTER_STATES;
	return 0;
}

static int parse_addr(const char *arg, struct synfin_filter *f)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long prefix;
	unsigned int max;

	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(f->addr, 0, sizeof(f->addr));
	if (inet_pton(AF_INET, buf, f->addr) == 1) {
		f->addr_family = SYNFIN_AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, f->addr) == 1) {
		f->addr_family = SYNFIN_AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	prefix = max;
	if (slash && parse_uint(slash, max, &prefix))
		goto bad;
	f->addr_prefix = prefix;
	f->match |= SYNFIN_FILTER_ADDR;
	return 0;
bad:
	report_error("--addr needs an IPv4 or IPv6 address with an optional /PREFIX, not '%s'", arg);
	return -1;
}

/*
 * A comma list of numbers from 1 to max (-L 80,443, -p 12,34), at most
 * SYNFIN_FILTER_LIST of them, as the module matches them.
 */
static int parse_list(const char *arg, const char *opt, const char *what,
		      unsigned long max, uint32_t *out, uint8_t *n)
{
	const char *p = arg;
	char item[32];
	unsigned long v;

	*n = 0;
	for (;;) {
		size_t len = strcspn(p, ",");

		/* No empty items: ",80", "80,,443" and "80," are typos. */
		if (!len || len >= sizeof(item))
			goto bad;
		memcpy(item, p, len);
		item[len] = 0;
		if (parse_uint(item, max, &v) || !v)
			goto bad;
		if (*n == SYNFIN_FILTER_LIST) {
			report_error("%s takes at most %d %ss, not '%s'", opt,
				     SYNFIN_FILTER_LIST, what, arg);
			return -1;
		}
		out[(*n)++] = v;
		if (!p[len])
			return 0;
		p += len + 1;
	}
bad:
	report_error("%s needs a %s from 1 to %lu, or a comma list of them (%s 80,443), not '%s'",
		     opt, what, max, opt, arg);
	return -1;
}

static int parse_ports(const char *arg, const char *opt, uint16_t *ports, uint8_t *n)
{
	uint32_t v[SYNFIN_FILTER_LIST];

	if (parse_list(arg, opt, "port", 65535, v, n))
		return -1;
	for (unsigned int i = 0; i < *n; i++)
		ports[i] = v[i];
	return 0;
}

/* -u: a number, or a user name from the password database. */
static int parse_user(const char *arg, uint32_t *uid)
{
	struct passwd *pw;
	unsigned long v;

	if (!parse_uint(arg, UINT32_MAX - 1, &v)) {
		*uid = v;
		return 0;
	}
	errno = 0;
	pw = *arg ? getpwnam(arg) : NULL;
	if (!pw) {
		report_error("-u needs a uid or a user name, and '%s' is neither%s%s", arg,
			     errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	*uid = pw->pw_uid;
	return 0;
}

/*
 * What getopt found wrong, said plainly (its own messages name the
 * binary's path). c is ':' for a missing argument, '?' otherwise; arg is
 * the last word getopt consumed, the option itself when it was a long one
 * (a short one may sit in a cluster: optopt names it).
 */
static void bad_option(int c, const char *arg, const char *cmd)
{
	bool is_long = !strncmp(arg, "--", 2);

	if (c == ':' && is_long)
		report_error("%s requires an argument; see synfin %s --help", arg, cmd);
	else if (c == ':')
		report_error("-%c requires an argument; see synfin %s --help", optopt, cmd);
	else if (is_long && optopt)	/* --json=1: getopt sets optopt to its val */
		report_error("%.*s takes no argument; see synfin %s --help",
			     (int)strcspn(arg, "="), arg, cmd);
	else if (is_long || optopt <= 0 || optopt >= 256)
		report_error("unknown option '%s'; see synfin %s --help", arg, cmd);
	else
		report_error("unknown option '-%c'; see synfin %s --help", optopt, cmd);
}

/*
 * A filter, or the file to read or write, given twice would silently
 * replace the first; each takes one value. --state adds up (a set of
 * states), -4/-6 must agree. Other options (-c, -n, --color, ...) keep the
 * usual last-one-wins.
 */
static bool given_twice(unsigned int already, const char *name)
{
	if (already)
		report_error("%s given twice: it takes one value (see synfin --help)", name);
	return already;
}

/*
 * -r and -w on one file would truncate the capture before reading it:
 * compared by device and inode, however the paths are spelled ('-' is
 * standard input and output). Only regular files: two ends of one pipe or
 * terminal are not the same data.
 */
static bool same_file(const char *rd, const char *wr)
{
	struct stat a, b;

	if (!strcmp(rd, wr) && strcmp(rd, "-"))
		return true;
	if ((strcmp(rd, "-") ? stat(rd, &a) : fstat(STDIN_FILENO, &a)) ||
	    (strcmp(wr, "-") ? stat(wr, &b) : fstat(STDOUT_FILENO, &b)))
		return false;	/* the write target does not exist yet */
	return S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Standard output, flushed: false (with the reason reported once) if it
 * cannot be written, so a command stops instead of printing into nothing.
 */
static int output_errno;

void output_error(int err)
{
	if (!output_errno)
		output_errno = err ? err : EIO;
}

bool output_flush(void)
{
	if (output_errno)
		return false;
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return true;
	output_errno = errno ? errno : EIO;
	return false;
}

/* The last word on standard output: everything written, or exit 1. */
static int output_close(int rc)
{
	if (output_flush() && fclose(stdout) == 0)
		return rc;
	if (!output_errno)
		output_errno = errno ? errno : EIO;
	/* Not through report_error(): with -j it would write to stdout. */
	fprintf(stderr, "synfin: writing to standard output: %s\n", strerror(output_errno));
	return EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	enum { OPT_DEVICE = 256, OPT_ALLNS, OPT_CSV, OPT_COLOR, OPT_COMM, OPT_ADDR,
	       OPT_STATE, OPT_NETNS, OPT_WATCH, OPT_ADVISE, OPT_TEXTFILE, OPT_CGROUP,
	       OPT_LISTEN, OPT_PORTS };
	static const struct option longopts[] = {
		{ "json",      no_argument,       NULL, 'j' },
		{ "timestamp", no_argument,       NULL, 'T' },
		{ "count",     required_argument, NULL, 'c' },
		{ "write",     required_argument, NULL, 'w' },
		{ "read",      required_argument, NULL, 'r' },
		{ "device",    required_argument, NULL, OPT_DEVICE },
		{ "all-netns", no_argument,       NULL, OPT_ALLNS },
		{ "top",       required_argument, NULL, 'n' },
		{ "csv",       no_argument,       NULL, OPT_CSV },
		{ "color",     optional_argument, NULL, OPT_COLOR },
		{ "colour",    optional_argument, NULL, OPT_COLOR },
		{ "pid",       required_argument, NULL, 'p' },
		{ "comm",      required_argument, NULL, OPT_COMM },
		{ "lport",     required_argument, NULL, 'L' },
		{ "dport",     required_argument, NULL, 'D' },
		{ "addr",      required_argument, NULL, OPT_ADDR },
		{ "uid",       required_argument, NULL, 'u' },
		{ "cgroup",    required_argument, NULL, OPT_CGROUP },
		{ "state",     required_argument, NULL, OPT_STATE },
		{ "netns",     required_argument, NULL, OPT_NETNS },
		{ "watch",     optional_argument, NULL, OPT_WATCH },
		{ "advise",    no_argument,       NULL, OPT_ADVISE },
		{ "textfile",  required_argument, NULL, OPT_TEXTFILE },
		{ "listen",    optional_argument, NULL, OPT_LISTEN },
		{ "ports",     required_argument, NULL, OPT_PORTS },
		{ "help",      no_argument,       NULL, 'h' },
		{ "version",   no_argument,       NULL, 'V' },
		{ 0 }
	};
	struct options opt = { .format = OUT_TABLE };
	const struct command *cmd = &commands[0];
	const char *color = "auto";
	unsigned int given = 0;
	bool named = false;	/* a command was named: --help is its help */
	unsigned long v;
	int c;

	if (argc > 1 && argv[1][0] != '-') {
		if (!strcmp(argv[1], "help")) {
			if (argc < 3) {
				usage(stdout);
				return EXIT_OK;
			}
			cmd = find_command(argv[2]);
			if (!cmd) {
				report_error("unknown command '%s'; see synfin --help", argv[2]);
				return EXIT_USAGE;
			}
			command_usage(cmd);
			return EXIT_OK;
		}
		cmd = find_command(argv[1]);
		if (!cmd) {
			report_error("unknown command '%s'; see synfin --help", argv[1]);
			return EXIT_USAGE;
		}
		argv++;
		argc--;
		named = true;
	}
	opt.command = cmd->name;
	/* Errors go out as JSON once -j is seen anywhere. */
	for (c = 1; c < argc; c++)
		if (!strcmp(argv[c], "-j") || !strcmp(argv[c], "--json"))
			json_errors = true;

	/* Our own messages: getopt's name the binary's path and say too little. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jTc:w:r:n:p:L:D:u:46hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.format = OUT_JSON;
			given |= O_JSON;
			break;
		case OPT_CSV:
			opt.format = OUT_CSV;
			given |= O_CSV;
			break;
		case OPT_COLOR:
			color = optarg ? optarg : "always";
			if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) {
				report_error("--color takes auto, always or never, not '%s'", color);
				return EXIT_USAGE;
			}
			given |= O_COLOR;
			break;
		case 'T':
			opt.wall_clock = true;
			given |= O_TIME;
			break;
		case 'c':
			if (parse_count(optarg, &opt.max_events)) {
				report_error("-c needs a positive number, not '%s'", optarg);
				return EXIT_USAGE;
			}
			given |= O_COUNT;
			break;
		case 'w':
			if (given_twice(given & O_WRITE, "-w"))
				return EXIT_USAGE;
			opt.write_file = optarg;
			given |= O_WRITE;
			break;
		case 'r':
			if (given_twice(given & O_READ, "-r"))
				return EXIT_USAGE;
			opt.read_file = optarg;
			given |= O_READ;
			break;
		case OPT_DEVICE:
			opt.device = optarg;
			given |= O_DEVICE;
			break;
		case OPT_ALLNS:
			opt.all_netns = true;
			given |= O_ALLNS;
			break;
		case 'n':
			if (parse_uint(optarg, 4096, &v)) {
				report_error("-n needs a number of rows from 0 (counts only) to 4096, not '%s'", optarg);
				return EXIT_USAGE;
			}
			opt.top = v;
			opt.top_set = true;
			given |= O_TOP;
			break;
		case '4':
		case '6':
			if ((opt.filter.match & SYNFIN_FILTER_FAMILY) &&
			    opt.filter.family != (c == '4' ? SYNFIN_AF_INET : SYNFIN_AF_INET6)) {
				report_error("-4 and -6 together would show nothing; give one");
				return EXIT_USAGE;
			}
			opt.filter.family = c == '4' ? SYNFIN_AF_INET : SYNFIN_AF_INET6;
			opt.filter.match |= SYNFIN_FILTER_FAMILY;
			given |= O_FILTER;
			break;
		case 'p':
			if (given_twice(opt.filter.match & SYNFIN_FILTER_TGID, "-p"))
				return EXIT_USAGE;
			if (parse_list(optarg, "-p", "process id", INT_MAX, opt.filter.tgids,
				       &opt.filter.n_tgids))
				return EXIT_USAGE;
			opt.filter.match |= SYNFIN_FILTER_TGID;
			given |= O_FILTER;
			break;
		case OPT_COMM:
			if (given_twice(opt.filter.match & SYNFIN_FILTER_COMM, "--comm"))
				return EXIT_USAGE;
			if (!*optarg || strlen(optarg) >= sizeof(opt.filter.comm)) {
				report_error("--comm needs a command name of 1 to 15 characters (the kernel keeps 15), not '%s'", optarg);
				return EXIT_USAGE;
			}
			strcpy(opt.filter.comm, optarg);
			opt.filter.match |= SYNFIN_FILTER_COMM;
			given |= O_FILTER;
			break;
		case 'L':
			if (given_twice(opt.filter.match & SYNFIN_FILTER_LPORT, "-L"))
				return EXIT_USAGE;
			if (parse_ports(optarg, "-L", opt.filter.lports, &opt.filter.n_lports))
				return EXIT_USAGE;
			opt.filter.match |= SYNFIN_FILTER_LPORT;
			given |= O_FILTER;
			break;
		case 'D':
			if (given_twice(opt.filter.match & SYNFIN_FILTER_RPORT, "-D"))
				return EXIT_USAGE;
			if (parse_ports(optarg, "-D", opt.filter.rports, &opt.filter.n_rports))
				return EXIT_USAGE;
			opt.filter.match |= SYNFIN_FILTER_RPORT;
			given |= O_FILTER;
			break;
		case 'u':
			if (given_twice(opt.filter.match & SYNFIN_FILTER_UID, "-u"))
				return EXIT_USAGE;
			if (parse_user(optarg, &opt.filter.uid))
				return EXIT_USAGE;
			opt.filter.match |= SYNFIN_FILTER_UID;
			given |= O_FILTER;
			break;
		case OPT_CGROUP:
			if (given_twice(opt.filter.match & SYNFIN_FILTER_CGROUP, "--cgroup"))
				return EXIT_USAGE;
			if (cgroup_id_of(optarg, &opt.filter.cgroup_id))
				return EXIT_USAGE;
			opt.filter.match |= SYNFIN_FILTER_CGROUP;
			given |= O_FILTER;
			break;
		case OPT_ADDR:
			if (given_twice(opt.filter.match & SYNFIN_FILTER_ADDR, "--addr"))
				return EXIT_USAGE;
			if (parse_addr(optarg, &opt.filter))
				return EXIT_USAGE;
			given |= O_FILTER;
			break;
		case OPT_STATE:
			if (parse_states(optarg, &opt.filter))
				return EXIT_USAGE;
			given |= O_FILTER;
			break;
		case OPT_NETNS:
			if (given_twice(given & O_NETNS, "--netns"))
				return EXIT_USAGE;
			if (parse_uint(optarg, UINT32_MAX, &v) || !v) {
				report_error("--netns needs a namespace inode number (see ls -l /proc/self/ns/net), not '%s'", optarg);
				return EXIT_USAGE;
			}
			opt.filter.netns = v;
			opt.filter.match |= SYNFIN_FILTER_NETNS;
			given |= O_NETNS;
			break;
		case OPT_WATCH:
			opt.watch_secs = 1;
			/* --watch 5 as well as --watch=5 */
			if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++];
			if (optarg && (parse_uint(optarg, 3600, &v) || !v)) {
				report_error("--watch takes a refresh interval from 1 to 3600 seconds, not '%s'", optarg);
				return EXIT_USAGE;
			}
			if (optarg)
				opt.watch_secs = v;
			given |= O_WATCH;
			break;
		case OPT_ADVISE:
			opt.advise = true;
			given |= O_ADVISE;
			break;
		case OPT_TEXTFILE:
			opt.textfile = optarg;
			given |= O_TEXTFILE;
			break;
		case OPT_LISTEN:
			/* --listen PORT as well as --listen=PORT */
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    !find_command(argv[optind]))
				optarg = argv[optind++];
			opt.listen = optarg ? optarg : SYNFIN_EXPORTER_PORT_TEXT;
			given |= O_LISTEN;
			break;
		case OPT_PORTS:
			if (parse_ports(optarg, "--ports", opt.ports, &opt.n_ports))
				return EXIT_USAGE;
			given |= O_PORTS;
			break;
		case 'h':
			if (named)
				command_usage(cmd);
			else
				usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("synfin %s (ABI %d)\n", SYNFIN_VERSION, SYNFIN_ABI_VERSION);
			return EXIT_OK;
		default:
			bad_option(c, argv[optind - 1], cmd->name);
			return EXIT_USAGE;
		}
	}
	/* The command may follow the options: synfin -r bug.cap life. */
	if (!named && optind < argc && find_command(argv[optind])) {
		cmd = find_command(argv[optind++]);
		opt.command = cmd->name;
	}
	if (optind < argc) {
		report_error("unexpected argument '%s'; see synfin %s --help", argv[optind], cmd->name);
		return EXIT_USAGE;
	}
	if (given & ~cmd->takes) {
		report_error("%s does not take %s; see synfin %s --help", cmd->name,
			     (given & ~cmd->takes & O_FILTER) ? "filters" :
			     (given & ~cmd->takes & O_CSV) ? "--csv" :
			     (given & ~cmd->takes & O_READ) ? "-r (it reads live counters)" :
			     (given & ~cmd->takes & O_WRITE) ? "-w (use tail -w)" :
			     (given & ~cmd->takes & O_WATCH) ? "--watch" :
			     (given & ~cmd->takes & O_ADVISE) ? "--advise" :
			     (given & ~cmd->takes & O_TEXTFILE) ? "--textfile" :
			     (given & ~cmd->takes & O_LISTEN) ? "--listen" :
			     (given & ~cmd->takes & O_PORTS) ? "--ports" :
			     (given & ~cmd->takes & O_NETNS) ? "--netns" :
			     (given & ~cmd->takes & O_ALLNS) ? "--all-netns" :
			     (given & ~cmd->takes & O_TOP) ? "-n" :
			     (given & ~cmd->takes & O_JSON) ? "-j" : "that option",
			     cmd->name);
		return EXIT_USAGE;
	}
	if ((given & O_JSON) && (given & O_CSV)) {
		report_error("-j and --csv: choose one output format");
		return EXIT_USAGE;
	}
	if ((given & O_LISTEN) && (given & O_TEXTFILE)) {
		report_error("--listen and --textfile: choose one (the exporter serves what the file would hold)");
		return EXIT_USAGE;
	}
	if ((given & O_NETNS) && (given & O_ALLNS)) {
		report_error("--netns and --all-netns: choose one");
		return EXIT_USAGE;
	}
	if (opt.read_file && opt.write_file && same_file(opt.read_file, opt.write_file)) {
		report_error("-r and -w name the same file: it would be emptied before it is read");
		return EXIT_USAGE;
	}
	opt.color = !strcmp(color, "always") ||
		    (!strcmp(color, "auto") && opt.format == OUT_TABLE && isatty(STDOUT_FILENO) &&
		     !getenv("NO_COLOR"));

	install_signals();
	return output_close(cmd->run(&opt));
}
