// SPDX-License-Identifier: GPL-2.0
/*
 * devfuzz: abuse /dev/synfin with random ioctls, odd reads and calls it does
 * not support, and check each answer is one the device documents. The VM
 * lab fails the run on any oops or warning in the guest's kernel log.
 *
 *   devfuzz [ITERATIONS] [SEED]        (default 20000, 1)
 *
 * Prints the iterations done and the errno counts; exits 1 on an answer
 * outside the documented set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uapi/synfin.h>

static unsigned long long rnd_state;

static unsigned long long rnd(void)
{
	/* xorshift64*: reproducible from the seed */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717ULL;
}

static int bad;
static unsigned long counts[256];

static void expect(const char *what, long ret, const int *ok_errnos)
{
	if (ret >= 0) {
		counts[0]++;
		return;
	}
	for (const int *e = ok_errnos; *e; e++) {
		if (errno == *e) {
			counts[errno & 0xff]++;
			return;
		}
	}
	if (bad++ < 10)
		printf("unexpected: %s -> %s\n", what, strerror(errno));
}

/* An argument for an ioctl: nothing, a bad pointer, a kernel address, or a
 * buffer of random bytes (which may hold random user pointers too). */
static unsigned long fuzz_arg(unsigned char *buf, size_t len)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 0xffffffff81000000UL;	/* kernel text */
	case 3: return (unsigned long)-4096L;
	default:
		for (size_t i = 0; i < len; i++)
			buf[i] = rnd();
		/* sometimes a plausible filter or query */
		if (rnd() % 2)
			memset(buf + 8 + rnd() % 32, 0, len - 40);
		return (unsigned long)buf;
	}
}

int main(int argc, char **argv)
{
	/* the VFS answers a few generic commands itself (FIONBIO, FIGETBSZ, ...) */
	static const int ioctl_ok[] = { ENOTTY, EINVAL, EFAULT, EPERM, ENOMEM, EOPNOTSUPP, EBADF, 0 };
	static const int read_ok[] = { EINVAL, EFAULT, EAGAIN, 0 };
	static const int seek_ok[] = { ESPIPE, 0 };
	static const int write_ok[] = { EBADF, EINVAL, 0 };
	static const int open_ok[] = { EINVAL, 0 };
	static const unsigned int nrs[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x7f, 0xff };
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	unsigned char *buf = malloc(1 << 20);
	int fds[64], nfds = 0, fd;
	long i;

	rnd_state = (argc > 2 ? strtoull(argv[2], NULL, 0) : 1) * 0x9e3779b97f4a7c15ULL | 1;
	if (!buf)
		return 2;
	for (i = 0; i < iters; i++) {
		unsigned int op = rnd() % 100;

		if (nfds == 0 || (op < 3 && nfds < 64)) {
			fd = open(SYNFIN_DEVICE, O_RDONLY | O_NONBLOCK);
			if (fd < 0) {
				perror("devfuzz: open");
				return 2;
			}
			fds[nfds++] = fd;
			continue;
		}
		fd = fds[rnd() % nfds];
		if (op < 6) {			/* close one */
			close(fd);
			for (int k = 0; k < nfds; k++)
				if (fds[k] == fd)
					fds[k] = fds[--nfds];
		} else if (op < 60) {		/* ioctl: our magic or another, any size/dir */
			unsigned int dir = rnd() % 4, size = rnd() % 2 ? rnd() % 2048 : rnd() % 16384;
			unsigned int magic = rnd() % 8 ? SYNFIN_IOC_MAGIC : rnd() & 0xff;
			unsigned int nr = rnd() % 4 ? nrs[rnd() % (sizeof(nrs) / sizeof(nrs[0]))] : rnd() & 0xff;
			unsigned long cmd = rnd() % 3 ? _IOC(dir, magic, nr, size)
						      : (rnd() % 2 ? (unsigned long)rnd() & 0xffffffffUL : _IOC(dir, magic, nr, size));
			char what[64];

			/* the real commands, with their right sizes, half the time */
			if (rnd() % 2) {
				static const unsigned long real[] = {
					SYNFIN_IOC_ABI_VERSION, SYNFIN_IOC_STATS, SYNFIN_IOC_READER_STATS,
					SYNFIN_IOC_CLOCK, SYNFIN_IOC_REWIND, SYNFIN_IOC_TW_QUERY,
					SYNFIN_IOC_TW_NETNS, SYNFIN_IOC_SET_FILTER, SYNFIN_IOC_TRANSITIONS,
				};
				cmd = real[rnd() % (sizeof(real) / sizeof(real[0]))];
			}
			snprintf(what, sizeof(what), "ioctl %#lx", cmd);
			expect(what, ioctl(fd, cmd, fuzz_arg(buf, 4096)), ioctl_ok);
		} else if (op < 85) {		/* read: odd sizes, odd buffers */
			size_t len = rnd() % 3 ? rnd() % 600 : rnd() % (1 << 20);
			void *p = rnd() % 8 ? (void *)buf : (void *)(rnd() % 2 ? 0UL : 0xffffffff81000000UL);

			expect("read", read(fd, p, len), read_ok);
		} else if (op < 90) {
			expect("lseek", lseek(fd, rnd() % 4096, SEEK_SET), seek_ok);
			expect("pread", pread(fd, buf, 128, rnd() % 4096), seek_ok);
		} else if (op < 93) {
			expect("write", write(fd, buf, 128), write_ok);
		} else if (op < 95) {
			void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

			if (m != MAP_FAILED) {
				if (bad++ < 10)
					printf("unexpected: mmap succeeded\n");
				munmap(m, 4096);
			} else if (errno != ENODEV && bad++ < 10) {
				printf("unexpected: mmap -> %s\n", strerror(errno));
			} else {
				counts[ENODEV]++;
			}
		} else if (op < 97) {
			expect("open O_RDWR", open(SYNFIN_DEVICE, O_RDWR), open_ok);
		} else {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, 0);
		}
	}
	printf("devfuzz: %ld operations, seed %s, open files at the end %d: ok %lu, ENOTTY %lu, EINVAL %lu, EFAULT %lu, EPERM %lu, EAGAIN %lu, ESPIPE %lu, EBADF %lu, ENODEV %lu; unexpected %d\n",
	       iters, argc > 2 ? argv[2] : "1", nfds, counts[0], counts[ENOTTY], counts[EINVAL],
	       counts[EFAULT], counts[EPERM], counts[EAGAIN], counts[ESPIPE], counts[EBADF],
	       counts[ENODEV], bad);
	return bad ? 1 : 0;
}
