#!/usr/bin/python3
"""Write synfin capture files with known records, for the viewer's tests.

  mkcap.py OUT [--scenario basic|empty] [--abi N] [--header-abi N]
               [--truncate-bytes N] [--bad-kind]

The layout mirrors include/uapi/synfin.h (ABI 1): a 64-byte header, then
128-byte records. Kept independent of the C definitions on purpose: if the
two disagree, the tests fail.
"""
import argparse
import socket
import struct

EVENT = struct.Struct("<HBBBBBB II Q Q II HH I 16s 16s 16s Q Q II BB6s")
HEADER = struct.Struct("<12s HH Q Q 32s")
assert EVENT.size == 128 and HEADER.size == 64

STATE = {n: i for i, n in enumerate(
    "_ ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE "
    "CLOSE_WAIT LAST_ACK LISTEN CLOSING NEW_SYN_RECV".split())}
MONO0 = 5_000_000_000             # capture start, CLOCK_MONOTONIC
REAL0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z


def addr(fam, a):
    if fam == 10:
        return socket.inet_pton(socket.AF_INET6, a)
    return socket.inet_pton(socket.AF_INET, a) + bytes(12)


def ev(abi=1, kind=1, fam=2, old="CLOSE", new="SYN_SENT", cpu=0, netns=4026531840,
       ts=MONO0, cookie=0, pid=0, tgid=0, sport=0, dport=0, saddr="0.0.0.0",
       daddr="0.0.0.0", comm=b"", lost=0, flags=0):
    return EVENT.pack(abi, kind, fam, STATE[old], STATE[new], flags, 0, cpu, netns,
                      ts, cookie, pid, tgid, sport, dport, 0, addr(fam, saddr),
                      addr(fam, daddr), comm, lost, 0, 0, 0, 0, 0, bytes(6))


def basic(abi):
    c4, s4, c6 = 4503599627370497, 4503599627370498, 4503599627370499
    t = MONO0 + 1_000_000
    lo, lo6 = "127.0.0.1", "::1"
    out = [
        # IPv4: curl (pid 200) to a server on 8080; sport 0 before the port is chosen
        ev(abi, cookie=c4, ts=t, pid=200, tgid=200, comm=b"curl", sport=0, dport=8080,
           saddr=lo, daddr=lo),
        ev(abi, old="LISTEN", new="SYN_RECV", cookie=s4, ts=t + 40_000, sport=8080,
           dport=0, saddr=lo, daddr="0.0.0.0", cpu=1, flags=1),
        ev(abi, old="SYN_SENT", new="ESTABLISHED", cookie=c4, ts=t + 60_000, sport=41000,
           dport=8080, saddr=lo, daddr=lo, flags=1),
        ev(abi, old="SYN_RECV", new="ESTABLISHED", cookie=s4, ts=t + 70_000, sport=8080,
           dport=41000, saddr=lo, daddr=lo, cpu=1, flags=1),
        # the reader fell behind here
        ev(abi, kind=2, ts=t + 80_000, lost=5),
        ev(abi, old="ESTABLISHED", new="FIN_WAIT1", cookie=c4, ts=t + 1_500_000, pid=200,
           tgid=200, comm=b"curl", sport=41000, dport=8080, saddr=lo, daddr=lo),
        # IPv6 with a comm that needs escaping in JSON and a full 16-byte comm
        ev(abi, fam=10, old="CLOSE", new="LISTEN", cookie=c6, ts=t + 2_000_000, pid=301,
           tgid=300, comm=b'we"ird\\name', sport=443, saddr="2001:db8::1", daddr="::"),
        ev(abi, fam=10, old="ESTABLISHED", new="CLOSE", cookie=c6 + 1, ts=t + 3_000_000,
           pid=302, tgid=300, comm=b"sixteen-chars-xx", sport=443, dport=50000,
           saddr="2001:db8::1", daddr="fe80::1:2"),
        ev(abi, fam=10, old="SYN_SENT", new="CLOSE", cookie=c6 + 2, ts=t + 4_000_000,
           sport=0, dport=80, saddr="::ffff:127.0.0.1", daddr="::ffff:127.0.0.1"),
    ]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--scenario", default="basic", choices=["basic", "empty"])
    p.add_argument("--abi", type=int, default=1, help="ABI of the records")
    p.add_argument("--header-abi", type=int, default=None)
    p.add_argument("--truncate-bytes", type=int, default=0)
    p.add_argument("--bad-kind", action="store_true")
    a = p.parse_args()
    recs = basic(a.abi) if a.scenario == "basic" else []
    if a.bad_kind:
        recs.insert(2, ev(kind=99))
    hdr_abi = a.header_abi if a.header_abi is not None else a.abi
    data = HEADER.pack(b"SYNFINCAP\0\0\0", hdr_abi, 128, MONO0, REAL0, bytes(32))
    data += b"".join(recs)
    if a.truncate_bytes:
        data = data[:-a.truncate_bytes]
    with open(a.out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
