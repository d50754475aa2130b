// SPDX-License-Identifier: GPL-2.0
/*
 * failnth: load a module with its Nth allocation failed (fault injection).
 *
 *   failnth N MODULE.ko [PARAMS]
 *
 * Writes N to /proc/thread-self/fail-nth, then calls finit_module(), so
 * the count runs over that one system call's allocations only (module
 * loading and the module's init). Prints one line:
 *   "loaded"           the load worked, and the Nth allocation was not
 *                      reached (every allocation of a load has been failed
 *                      once the loop gets here)
 *   "loaded injected"  it worked although the Nth allocation failed
 *   "failed ERRNO"     the load failed, with that error
 * Exit: 0 on any of those, 2 on a usage or set-up error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[32];
	int fd, nth, err = 0;
	ssize_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: failnth N MODULE.ko [PARAMS]\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "failnth: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth < 0) {
		fprintf(stderr, "failnth: /proc/thread-self/fail-nth: %s (kernel without CONFIG_FAULT_INJECTION?)\n",
			strerror(errno));
		return 2;
	}
	snprintf(buf, sizeof(buf), "%d", atoi(argv[1]));
	if (write(nth, buf, strlen(buf)) != (ssize_t)strlen(buf)) {
		fprintf(stderr, "failnth: writing fail-nth: %s\n", strerror(errno));
		return 2;
	}
	if (syscall(SYS_finit_module, fd, argc > 3 ? argv[3] : "", 0))
		err = errno;
	/* 0: the fault was injected; otherwise how many calls were left. */
	n = pread(nth, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		fprintf(stderr, "failnth: reading fail-nth: %s\n", strerror(errno));
		return 2;
	}
	buf[n] = 0;
	if (write(nth, "0", 1) != 1) {	/* disarm */
		fprintf(stderr, "failnth: disarming fail-nth: %s\n", strerror(errno));
		return 2;
	}
	if (err)
		printf("failed %s\n", strerrorname_np(err) ? strerrorname_np(err) : strerror(err));
	else
		printf("loaded%s\n", atoi(buf) == 0 ? " injected" : "");
	return 0;
}
