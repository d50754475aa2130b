// SPDX-License-Identifier: GPL-2.0
/*
 * synfin: watch TCP connections go from SYN to FIN to TIME_WAIT.
 * Argument parsing, command dispatch, exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "viewer.h"

#define SYNFIN_VERSION "0.1"

volatile int stop_requested;
static bool json_errors;

void report_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_errors) {
		fputs("{\"error\": ", stdout);
		json_string(stdout, msg, sizeof(msg));
		fputs("}\n", stdout);
		fflush(stdout);
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

static void usage(FILE *f)
{
	fprintf(f,
"Usage: synfin [COMMAND] [OPTIONS]\n"
"Watch TCP connections change state (SYN ... FIN ... TIME_WAIT) as the\n"
"kernel makes them, from /dev/synfin (module synfin.ko) or a capture file.\n"
"\n"
"Commands:\n"
"  tail                 one line per event, live (the default)\n"
"  tw                   TIME_WAIT counts: total, by substate, top ports and peers\n"
"\n"
"Options:\n"
"  -j, --json           one JSON object per line; errors as {\"error\": ...}\n"
"  -T, --timestamp      wall-clock times (default: seconds since first event)\n"
"  -c, --count N        stop after N events\n"
"  -w, --write FILE     save raw records to FILE ('-': stdout), print nothing\n"
"  -r, --read FILE      read a saved capture instead of /dev/synfin\n"
"      --device PATH    read this device instead of " SYNFIN_DEVICE "\n"
"tw options:\n"
"      --all-netns      every network namespace, not just this one\n"
"  -n, --top N          rows in each top list (default 10; 0: counts only)\n"
"  -h, --help           this help\n"
"  -V, --version        version and ABI\n"
"\n"
"Exit status: 0 ok (also on SIGINT/SIGTERM), 1 runtime error, 2 usage error.\n");
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",      no_argument,       NULL, 'j' },
		{ "timestamp", no_argument,       NULL, 'T' },
		{ "count",     required_argument, NULL, 'c' },
		{ "write",     required_argument, NULL, 'w' },
		{ "read",      required_argument, NULL, 'r' },
		{ "device",    required_argument, NULL, 'D' + 256 },
		{ "all-netns", no_argument,       NULL, 'A' + 256 },
		{ "top",       required_argument, NULL, 'n' },
		{ "help",      no_argument,       NULL, 'h' },
		{ "version",   no_argument,       NULL, 'V' },
		{ 0 }
	};
	struct options opt = { .format = OUT_TABLE };
	const char *command = "tail";
	int c;

	if (argc > 1 && argv[1][0] != '-') {
		command = argv[1];
		argv++;
		argc--;
	}
	/* Errors go out as JSON once -j is seen anywhere. */
	for (c = 1; c < argc; c++)
		if (!strcmp(argv[c], "-j") || !strcmp(argv[c], "--json"))
			json_errors = true;

	while ((c = getopt_long(argc, argv, "jTc:w:r:n:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.format = OUT_JSON;
			break;
		case 'T':
			opt.wall_clock = true;
			break;
		case 'c':
			if (parse_count(optarg, &opt.max_events)) {
				report_error("-c needs a positive number of events, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'w':
			opt.write_file = optarg;
			break;
		case 'r':
			opt.read_file = optarg;
			break;
		case 'D' + 256:
			opt.device = optarg;
			break;
		case 'A' + 256:
			opt.all_netns = true;
			break;
		case 'n': {
			char *end;
			long top = strtol(optarg, &end, 10);

			if (end == optarg || *end || top < 0 || top > 4096) {
				report_error("-n needs a number of rows from 0 (counts only) to 4096, not '%s'", optarg);
				return EXIT_USAGE;
			}
			opt.top = top;
			opt.top_set = true;
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("synfin %s (ABI %d)\n", SYNFIN_VERSION, SYNFIN_ABI_VERSION);
			return EXIT_OK;
		default:
			report_error("unknown option; see synfin --help");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		report_error("unexpected argument '%s'; see synfin --help", argv[optind]);
		return EXIT_USAGE;
	}
	if (opt.read_file && opt.write_file && !strcmp(opt.read_file, opt.write_file)) {
		report_error("-r and -w name the same file");
		return EXIT_USAGE;
	}

	install_signals();
	if (!strcmp(command, "tail"))
		return cmd_tail(&opt);
	if (!strcmp(command, "tw"))
		return cmd_tw(&opt);
	report_error("unknown command '%s'; see synfin --help", command);
	return EXIT_USAGE;
}
