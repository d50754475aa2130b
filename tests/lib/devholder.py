#!/usr/bin/python3
"""Hold /dev/synfin open and report what the file can see, for VM tests.

    devholder.py READY-FILE OUT-FILE [--setns PATH] [--health]
                 [--filter-cgroup ID] [--filter-uid UID]

Opens /dev/synfin (non-blocking) in the caller's network namespace, then,
with --setns, moves to the netns at PATH (e.g. /proc/1/ns/net), so the file
outlives its opener's presence in the netns it was opened in. Writes
READY-FILE, and on SIGUSR1 writes OUT-FILE (JSON): this file's
SYNFIN_IOC_READER_STATS, then the records it can read now, counted by
netns and kind, with the lost markers' sum. With --health also
SYNFIN_IOC_HEALTH (or its errno). With --filter-*, the file's filter
(SYNFIN_IOC_SET_FILTER) is set at open, the records' cgroup ids and uids
are listed, and the reader stats are taken again after reading
("reader_stats_after": the module counts what it filtered as it goes).
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
EVENT_SIZE = 192          # ABI v2
KINDS = {1: "state", 2: "lost", 3: "tw_enter", 4: "tw_exit"}


def ior(nr, size):
    return (2 << 30) | (size << 16) | (MAGIC << 8) | nr


READER_STATS = ior(0x03, 64)
# struct synfin_filter (ABI v2): match netns states uid cgroup_id, 8 bytes of
# family/prefix/list counts, addr, comm, tgids[16], lports, rports, ports[16]
FILTER = struct.Struct("<IIIIQ8B16s16s16I16H16H16H2Q")
assert FILTER.size == 240
SET_FILTER = (1 << 30) | (FILTER.size << 16) | (MAGIC << 8) | 0x08
FILTER_UID, FILTER_CGROUP = 0x200, 0x400
HEALTH = ior(0x0A, 128)
HEALTH_KEYS = ["owner_entries", "owner_evicted", "tw_stale", "tw_drift", "tw_reconciles"]


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    ready, out = args[0], args[1]
    fd = os.open("/dev/synfin", os.O_RDONLY | os.O_NONBLOCK)
    match, uid, cgid = 0, 0, 0
    if "--filter-uid" in args:
        match, uid = match | FILTER_UID, int(args[args.index("--filter-uid") + 1])
    if "--filter-cgroup" in args:
        match, cgid = match | FILTER_CGROUP, int(args[args.index("--filter-cgroup") + 1])
    if match:
        zeros16 = [0] * 16
        f = FILTER.pack(match, 0, 0, uid, cgid, *([0] * 8), bytes(16), bytes(16),
                        *zeros16, *zeros16, *zeros16, *zeros16, 0, 0)
        fcntl.ioctl(fd, SET_FILTER, f)
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
    by_netns, lost_sum, n, cgroups, uids = {}, 0, 0, set(), set()
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
            cgroups.add(struct.unpack_from("<Q", data, off + 152)[0])
            uids.add(struct.unpack_from("<I", data, off + 184)[0])
            key = str(netns)
            by_netns.setdefault(key, {}).setdefault(KINDS.get(kind, str(kind)), 0)
            by_netns[key][KINDS.get(kind, str(kind))] += 1
    report.update({"records": n, "by_netns": by_netns, "lost_markers_sum": lost_sum})
    if match:
        fcntl.ioctl(fd, READER_STATS, buf)
        d, l, p, flt = struct.unpack_from("<4Q", buf)
        report["reader_stats_after"] = {"delivered": d, "lost": l, "pending": p, "filtered": flt}
        report.update({"cgroup_ids": sorted(cgroups), "uids": sorted(uids)})
    with open(out + ".tmp", "w") as f:
        json.dump(report, f)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
