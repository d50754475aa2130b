// SPDX-License-Identifier: GPL-2.0
/* `synfin tail`: one line per event, live or from a capture. */
#include <errno.h>
#include <string.h>
#include "viewer.h"

static int write_capture(struct source *src, const struct options *opt)
{
	FILE *out = strcmp(opt->write_file, "-") ? fopen(opt->write_file, "wb") : stdout;
	const char *name = opt->write_file;
	struct synfin_event ev;
	long long n = 0;
	int rc = 0;

	if (!out) {
		report_error("cannot write %s: %s", opt->write_file, strerror(errno));
		return EXIT_RUNTIME;
	}
	if (capture_write_header(out, &src->clock))
		goto write_error;
	while ((rc = source_next(src, &ev)) > 0) {
		if (fwrite(&ev, sizeof(ev), 1, out) != 1)
			goto write_error;
		/* Flush per batch, so a capture cut short stays whole. */
		if (src->next == src->len && fflush(out))
			goto write_error;
		if (ev.kind != SYNFIN_EV_LOST && opt->max_events && ++n >= opt->max_events)
			break;
		if (stop_requested)
			break;
	}
	if (out == stdout)
		return !output_flush() || rc < 0 ? EXIT_RUNTIME : EXIT_OK;
	if (fflush(out) || fclose(out))
		goto write_error_closed;
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;

write_error:
	/* Standard output's error is main()'s to report, once. */
	if (out == stdout) {
		output_error(errno);
		return EXIT_RUNTIME;
	}
	fclose(out);
write_error_closed:
	report_error("writing %s: %s", name, strerror(errno));
	return EXIT_RUNTIME;
}

int cmd_tail(const struct options *opt)
{
	struct source src;
	struct synfin_event ev;
	uint64_t first_ts = 0;
	long long n = 0;
	int rc = 0, ret;

	if (source_open(&src, opt))
		return EXIT_RUNTIME;
	if (opt->write_file) {
		ret = write_capture(&src, opt);
		source_close(&src);
		return ret;
	}
	if (opt->format == OUT_TABLE)
		print_table_header(stdout);
	else if (opt->format == OUT_CSV)
		print_csv_header(stdout);
	while (!stop_requested && (rc = source_next(&src, &ev)) > 0) {
		if (!first_ts)
			first_ts = ev.ts_ns;
		if (opt->format == OUT_JSON)
			print_event_json(stdout, &ev, &src.clock, opt->wall_clock);
		else if (opt->format == OUT_CSV)
			print_event_csv(stdout, &ev, &src.clock, opt->wall_clock, first_ts);
		else
			print_event_table(stdout, &ev, &src.clock, opt->wall_clock, first_ts,
					  opt->color);
		if (src.next == src.len && !output_flush())
			break;
		/* -c counts events, not loss markers. */
		if (ev.kind != SYNFIN_EV_LOST && opt->max_events && ++n >= opt->max_events)
			break;
	}
	source_close(&src);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}
