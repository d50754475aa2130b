#!/usr/bin/python3
"""Hold /dev/synfin open and report what the file can see, for VM tests.

    devholder.py READY-FILE OUT-FILE [--setns PATH] [--health]

Opens /dev/synfin (non-blocking) in the caller's network namespace, then,
with --setns, moves to the netns at PATH (e.g. /proc/1/ns/net), so the file
outlives its opener's presence in the netns it was opened in. Writes
READY-FILE, and on SIGUSR1 writes OUT-FILE (JSON): this file's
SYNFIN_IOC_READER_STATS, then the records it can read now, counted by
netns and kind, with the lost markers' sum. With --health also
SYNFIN_IOC_HEALTH (or its errno).
"""
import ctypes
import errno
import fcntl
import json
import os
import signal
import struct
import sys

MAGIC = 0xF5
EVENT_SIZE = 128
KINDS = {1: "state", 2: "lost", 3: "tw_enter", 4: "tw_exit"}


def ior(nr, size):
    return (2 << 30) | (size << 16) | (MAGIC << 8) | nr


READER_STATS = ior(0x03, 64)
HEALTH = ior(0x0A, 128)
HEALTH_KEYS = ["owner_entries", "owner_evicted", "tw_stale", "tw_drift", "tw_reconciles"]


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    ready, out = args[0], args[1]
    fd = os.open("/dev/synfin", os.O_RDONLY | os.O_NONBLOCK)
    if "--setns" in args:
        target = os.open(args[args.index("--setns") + 1], os.O_RDONLY)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(target, 0x40000000) != 0:  # CLONE_NEWNET
            sys.exit("setns: %s" % os.strerror(ctypes.get_errno()))
    got = []
    signal.signal(signal.SIGUSR1, lambda *_: got.append(1))
    with open(ready, "w") as f:
        f.write("%d\n" % os.getpid())
    while not got:
        signal.pause()

    buf = bytearray(64)
    fcntl.ioctl(fd, READER_STATS, buf)
    delivered, lost, pending, filtered = struct.unpack_from("<4Q", buf)
    report = {"reader_stats": {"delivered": delivered, "lost": lost,
                               "pending": pending, "filtered": filtered}}
    if "--health" in args:
        h = bytearray(128)
        try:
            fcntl.ioctl(fd, HEALTH, h)
            report["health"] = dict(zip(HEALTH_KEYS, struct.unpack_from("<5Q", h)))
        except OSError as e:
            report["health_errno"] = errno.errorcode.get(e.errno, str(e.errno))
    by_netns, lost_sum, n = {}, 0, 0
    while True:
        try:
            data = os.read(fd, 64 * EVENT_SIZE)
        except BlockingIOError:
            break
        for off in range(0, len(data), EVENT_SIZE):
            kind = data[off + 2]
            netns, = struct.unpack_from("<I", data, off + 12)
            if kind == 2:
                lost_sum += struct.unpack_from("<Q", data, off + 96)[0]
                continue
            n += 1
            key = str(netns)
            by_netns.setdefault(key, {}).setdefault(KINDS.get(kind, str(kind)), 0)
            by_netns[key][KINDS.get(kind, str(kind))] += 1
    report.update({"records": n, "by_netns": by_netns, "lost_markers_sum": lost_sum})
    with open(out + ".tmp", "w") as f:
        json.dump(report, f)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
