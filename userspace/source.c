// SPDX-License-Identifier: GPL-2.0
/* Records from /dev/synfin or from a capture file written by `synfin -w`. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "viewer.h"

/*
 * Is synfin.ko installed for the running kernel (make install, DKMS, the
 * package)? Then modprobe loads it; otherwise it is in a build tree.
 */
static bool module_installed(void)
{
	char path[sizeof(((struct utsname *)0)->release) + 32], line[512];
	struct utsname u;
	bool found = false;
	FILE *f;

	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (colon) {
			*colon = 0;
			found = strstr(line, "/synfin.ko") != NULL;
		}
	}
	fclose(f);
	return found;
}

/*
 * An ioctl answered EOPNOTSUPP: the module was loaded with only some of
 * its families (families=). Says which, and what to do.
 */
void report_family_missing(const char *what, const char *family)
{
	char fam[128] = "?";
	FILE *f = fopen("/sys/module/synfin/parameters/families", "re");

	if (f) {
		if (fgets(fam, sizeof(fam), f))
			fam[strcspn(fam, "\n")] = 0;
		fclose(f);
	}
	report_error("%s: not available, the module was loaded with families=%s, without %s (reload it without families=, or with %s in the list)",
		     what, fam, family, family);
}

static int open_device(struct source *src, const char *path)
{
	int abi;

	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0) {
		if ((errno == ENOENT || errno == ENXIO || errno == ENODEV) && module_installed())
			report_error("%s not found: module not loaded (sudo modprobe synfin)", path);
		else if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			report_error("%s not found: module not loaded (sudo insmod module/synfin.ko in the source tree, or sudo make install, then sudo modprobe synfin)", path);
		else if (errno == EACCES || errno == EPERM)
			report_error("permission denied opening %s: run as root (sudo synfin), or see README to open the device to a group", path);
		else
			report_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	abi = ioctl(src->fd, SYNFIN_IOC_ABI_VERSION);
	if (abi < 0) {
		report_error("%s is not a synfin device (ABI ioctl: %s)", path, strerror(errno));
		goto close_fd;
	}
	if (abi != SYNFIN_ABI_VERSION) {
		report_error("ABI mismatch: module speaks ABI v%d, this viewer v%d: build both from the same tree", abi, SYNFIN_ABI_VERSION);
		goto close_fd;
	}
	if (ioctl(src->fd, SYNFIN_IOC_CLOCK, &src->clock) < 0) {
		report_error("%s: clock ioctl: %s", path, strerror(errno));
		goto close_fd;
	}
	if (src->filter.match && ioctl(src->fd, SYNFIN_IOC_SET_FILTER, &src->filter) < 0) {
		report_error("%s: setting the filter in the module: %s", path, strerror(errno));
		goto close_fd;
	}
	src->live = true;
	src->abi = SYNFIN_ABI_VERSION;
	src->record_size = SYNFIN_EVENT_SIZE;
	return 0;

close_fd:
	close(src->fd);
	src->fd = -1;
	return -1;
}

/*
 * Read exactly len bytes; returns bytes read (short only at end of file,
 * or when SIGINT/SIGTERM stopped a blocked read: stop_requested is set).
 */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR && !stop_requested)
				continue;
			if (errno == EINTR)
				break;
			return -1;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

static int open_capture(struct source *src, const char *path)
{
	struct synfin_capture_header h;
	ssize_t n;

	src->fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	if (src->fd < 0) {
		report_error("cannot open capture %s: %s", path, strerror(errno));
		return -1;
	}
	n = read_full(src->fd, &h, sizeof(h));
	if (n < 0) {
		report_error("%s: %s", path, strerror(errno));
		goto close_fd;
	}
	if (stop_requested) {
		/* Stopped before the stream began: nothing to show, no error. */
		src->eof = true;
		return 0;
	}
	if ((size_t)n < sizeof(h) || memcmp(h.magic, SYNFIN_CAPTURE_MAGIC, sizeof(h.magic))) {
		report_error("%s is not a synfin capture (no SYNFINCAP header): write one with synfin -w", path);
		goto close_fd;
	}
	/* Every ABI so far: v1 records are v2's first 128 bytes. */
	if (!((h.abi == 1 && h.record_size == SYNFIN_EVENT_V1_SIZE) ||
	      (h.abi == SYNFIN_ABI_VERSION && h.record_size == SYNFIN_EVENT_SIZE))) {
		report_error("%s: capture has ABI v%u with %u-byte records, this viewer reads ABI v1 (%d bytes) and v%d (%d bytes): use a newer synfin",
			     path, h.abi, h.record_size, SYNFIN_EVENT_V1_SIZE,
			     SYNFIN_ABI_VERSION, SYNFIN_EVENT_SIZE);
		goto close_fd;
	}
	src->abi = h.abi;
	src->record_size = h.record_size;
	src->clock.mono_ns = h.mono_ns;
	src->clock.real_ns = h.real_ns;
	src->offset = sizeof(h);
	return 0;

close_fd:
	close(src->fd);
	src->fd = -1;
	return -1;
}

int source_open(struct source *src, const struct options *opt)
{
	memset(src, 0, sizeof(*src));
	src->fd = -1;
	src->filter = opt->filter;
	if (opt->read_file) {
		src->name = opt->read_file;
		return open_capture(src, opt->read_file);
	}
	src->name = opt->device ? opt->device : SYNFIN_DEVICE;
	return open_device(src, src->name);
}

static bool known_kind(unsigned int kind)
{
	return kind >= SYNFIN_EV_STATE && kind <= SYNFIN_EV_TW_EXIT;
}

static int source_next_any(struct source *src, struct synfin_event *ev);

/* 1: a record in *ev; 0: end (or stop requested); -1: error (reported). */
bool source_buffered(const struct source *src)
{
	return src->next < src->len;
}

int source_next(struct source *src, struct synfin_event *ev)
{
	int rc;

	/* Captures need it; on the device the module has already applied it. */
	while ((rc = source_next_any(src, ev)) > 0 && !synfin_filter_match(&src->filter, ev))
		;
	return rc;
}

/*
 * Refill from a capture: whatever read() gives (a pipe hands over records
 * as they are written), on top of the partial record kept from the last
 * read. Records of an older ABI (shorter) are widened in place: the
 * fields they lack stay 0, and .have says none of them is known.
 * 1: records in buf; 0: end of input or stop requested; -1: error.
 */
static int fill_capture(struct source *src)
{
	size_t rs = src->record_size, have = src->stray, room = ARRAY_LEN(src->buf) * rs, i;
	unsigned char *raw = src->raw;

	memmove(raw, raw + src->len * rs, have);
	src->next = src->len = src->stray = 0;
	while (have < rs) {
		ssize_t n = read(src->fd, raw + have, room - have);

		if (n < 0 && errno == EINTR && !stop_requested)
			continue;
		if (n < 0 && errno == EINTR)
			return 0;	/* SIGINT/SIGTERM: what was read is out */
		if (n < 0) {
			report_error("reading %s: %s", src->name, strerror(errno));
			return -1;
		}
		if (n == 0) {
			if (!have)
				return 0;
			/* Whole records before it were delivered; now fail. */
			report_error("%s: truncated record at byte %llu (%zu stray bytes)",
				     src->name, src->offset, have);
			return -1;
		}
		have += n;
	}
	src->len = have / rs;
	src->stray = have % rs;
	for (i = 0; i < src->len; i++) {
		memcpy(&src->buf[i], raw + i * rs, rs);
		memset((char *)&src->buf[i] + rs, 0, SYNFIN_EVENT_SIZE - rs);
	}
	return 1;
}

static int fill_device(struct source *src)
{
	ssize_t n;

	src->next = src->len = 0;
	n = read(src->fd, src->buf, sizeof(src->buf));
	if (n < 0 && errno == EINTR)
		return 0;	/* a signal: stop_requested is set */
	if (n < 0) {
		report_error("reading %s: %s", src->name, strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	/* The module hands out whole records only. */
	src->len = n / SYNFIN_EVENT_SIZE;
	return src->len ? 1 : 0;
}

static int source_next_any(struct source *src, struct synfin_event *ev)
{
	if (src->eof)
		return 0;
	if (src->next == src->len) {
		int rc = src->live ? fill_device(src) : fill_capture(src);

		if (rc <= 0)
			return rc;
	}
	*ev = src->buf[src->next++];
	if (ev->abi != src->abi || !known_kind(ev->kind)) {
		report_error("%s: bad record at byte %llu (ABI %u, kind %u): not a synfin v%u record",
			     src->name, src->offset, ev->abi, ev->kind, src->abi);
		return -1;
	}
	src->offset += src->record_size;
	if (src->abi < SYNFIN_ABI_VERSION) {
		/* Shown as a record of today's ABI whose new fields are unknown. */
		ev->abi = SYNFIN_ABI_VERSION;
		ev->have = 0;
	}
	return 1;
}

void source_close(struct source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

int capture_write_header(FILE *f, const struct synfin_clock *clock)
{
	struct synfin_capture_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SYNFIN_CAPTURE_MAGIC, sizeof(h.magic));
	h.abi = SYNFIN_ABI_VERSION;
	h.record_size = SYNFIN_EVENT_SIZE;
	h.mono_ns = clock->mono_ns;
	h.real_ns = clock->real_ns;
	return fwrite(&h, sizeof(h), 1, f) == 1 ? 0 : -1;
}
