#!/usr/bin/python3
"""Write synfin capture files with known records, for the viewer's tests.

  mkcap.py OUT [--scenario basic|empty|lifecycle|crafted|many] [--abi N]
               [--header-abi N] [--truncate-bytes N] [--bad-kind] [-n N]

lifecycle: whole connections as the module reports them, for life and
ladder: a local pair closed by the client (timewait in FIN_WAIT2, then
TIME_WAIT, then expiry), a server closing passively for a remote client,
a refused connect, an IPv6 reset, a simultaneous close, and a lost marker.

crafted: records no module writes but a file can hold (a state number
past the table), a timewait entry flagged in_timewait, comms in UTF-8,
with a stray byte, and with a comma and a quote (a whole connection).
many: N connections all open at once, then all closed (ladder's scaling).
dropped: a server child and the twin the kernel dropped at birth (same
cookie, flagged child_dropped): one connection, closed passively.

The layout mirrors include/uapi/synfin.h: a 64-byte header, then
128-byte records (ABI 1, the default: what older modules wrote) or
192-byte ones (--abi 2: v1's fields, then the connection's numbers, which
each scenario fills in, with .have saying which are known). Kept
independent of the C definitions on purpose: if the two disagree, the
tests fail.
"""
import argparse
import socket
import struct

EVENT = struct.Struct("<HBBBBBB II Q Q II HH I 16s 16s 16s Q Q II BB6s")
# ABI v2's tail: state_ns tx_bytes rx_bytes cgroup_id, segs_out segs_in
# retrans srtt_us rttvar_us min_rtt_us uid have
EVENT_V2 = struct.Struct("<QQQQ IIIIIIII")
HEADER = struct.Struct("<12s HH Q Q 32s")
assert EVENT.size == 128 and EVENT_V2.size == 64 and HEADER.size == 64
HAVE_STATE_TIME, HAVE_TCP, HAVE_SOCK = 1, 2, 4
ABI = 1                           # of records made by ev() without abi=

STATE = {n: i for i, n in enumerate(
    "_ ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE "
    "CLOSE_WAIT LAST_ACK LISTEN CLOSING NEW_SYN_RECV".split())}
MONO0 = 5_000_000_000             # capture start, CLOCK_MONOTONIC
REAL0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z


def addr(fam, a):
    if fam == 10:
        return socket.inet_pton(socket.AF_INET6, a)
    return socket.inet_pton(socket.AF_INET, a) + bytes(12)


def ev(abi=None, kind=1, fam=2, old="CLOSE", new="SYN_SENT", cpu=0, netns=4026531840,
       ts=MONO0, cookie=0, pid=0, tgid=0, sport=0, dport=0, saddr="0.0.0.0",
       daddr="0.0.0.0", comm=b"", lost=0, flags=0, tw_duration=0, tw_count=0,
       tw_timeout=0, substate="_", reason=0, held_us=0, state_ns=0, tx=0, rx=0,
       cgroup_id=0, segs_out=0, segs_in=0, retrans=0, srtt=0, rttvar=0, min_rtt=0,
       uid=0, have=0):
    abi = ABI if abi is None else abi
    st = lambda x: x if isinstance(x, int) else STATE[x]
    rec = EVENT.pack(abi, kind, fam, st(old), st(new), flags, 0, cpu, netns,
                     ts, cookie, pid, tgid, sport, dport, held_us, addr(fam, saddr),
                     addr(fam, daddr), comm, lost, tw_duration, tw_count, tw_timeout,
                     STATE[substate], reason, bytes(6))
    if abi == 2:
        rec += EVENT_V2.pack(state_ns, tx, rx, cgroup_id, segs_out, segs_in, retrans,
                             srtt, rttvar, min_rtt, uid, have)
    return rec


def numbers(recs):
    """ABI v2: what the module would add to the records of whole connections.
    Time in the old state as the module keeps it: from the connection's
    previous change (a held passive open's from when it happened), unknown
    for its first event; a timewait entry reads it without restarting it
    (its hand-off CLOSE reports the same state's time); inside timewait,
    from the entry or the substate change. Counters grow with each record
    that has them: not a passive open's first (the child is still the
    listener's copy), nor timewait records. uid 1000, cgroup 7777 on all."""
    last, tw_since, n = {}, {}, {}
    for d in sorted(recs, key=lambda d: d["ts"]):
        kind, flags = d.get("kind", 1), d.get("flags", 0)
        if kind == 2:
            continue
        c = d["cookie"]
        k = n[c] = n.get(c, 0) + 1
        have = HAVE_SOCK
        first_passive = d.get("old") == "LISTEN" and d.get("new") == "SYN_RECV"
        if kind == 4 or flags & 8:
            since = tw_since.get(c)
            tw_since[c] = d["ts"]
        else:
            since = last.get(c)
            if kind == 3:
                tw_since[c] = d["ts"]
            else:
                last[c] = d["ts"] - d.get("held_us", 0) * 1000
        if since is not None:
            d["state_ns"] = d["ts"] - since
            have |= HAVE_STATE_TIME
        if kind != 4 and not flags & 8 and not first_passive:
            have |= HAVE_TCP
            d.update(tx=1000 * k * k + 1, rx=2000 * k * k, segs_out=3 * k, segs_in=2 * k,
                     retrans=k - 1, srtt=50 * k, rttvar=25 * k, min_rtt=40)
            if d.get("old") in ("CLOSE", "SYN_SENT") and d.get("new") in ("SYN_SENT", "CLOSE"):
                # no RTT sample before a handshake completes (a refused
                # connect): the kernel's initial rttvar, no min_rtt
                d.update(srtt=0, rttvar=250000, min_rtt=0)
        d.update(uid=1000, cgroup_id=7777, have=have)
    return recs


def conn(steps, t0, cookie, fam, saddr, sport, daddr, dport, pid=0, comm=b"", **kw):
    """Records of one socket: steps are (ms, "OLD>NEW" or tw_enter/tw/tw_exit, extra)."""
    out = []
    for ms, what, extra in steps:
        d = dict(fam=fam, ts=t0 + int(ms * 1_000_000), cookie=cookie, pid=pid, tgid=pid,
                 comm=comm, saddr=saddr, daddr=daddr, sport=sport, dport=dport, flags=1)
        d.update(kw)
        d.update(extra)
        kind, _, tr = what.partition(":")
        if not tr:
            kind, tr = "state", kind
        old, new = tr.split(">")
        d.update(old=old, new=new, kind={"state": 1, "tw_enter": 3, "tw": 1, "tw_exit": 4}[kind])
        if kind == "tw":
            d["flags"] |= 8
        out.append(d)
    return out


def lifecycle():
    lo, t = "127.0.0.1", MONO0 + 1_000_000
    c, s = 4503599627370600, 4503599627370601
    recs = []
    # 1. curl (200) -> python3 (300) on 127.0.0.1:8080, both here; curl closes first.
    recs += conn([(0, "CLOSE>SYN_SENT", dict(sport=0, flags=0)),
                  (0.120, "SYN_SENT>ESTABLISHED", {}),
                  (2.500, "ESTABLISHED>FIN_WAIT1", dict(flags=0)),
                  (2.560, "FIN_WAIT1>FIN_WAIT2", {}),
                  (2.561, "tw_enter:FIN_WAIT2>TIME_WAIT", dict(substate="FIN_WAIT2", tw_timeout=60000, tw_count=1)),
                  (2.561, "FIN_WAIT2>CLOSE", dict(flags=3)),
                  (402.9, "tw:FIN_WAIT2>TIME_WAIT", dict(tw_count=1)),
                  (60402.9, "tw_exit:TIME_WAIT>CLOSE", dict(substate="TIME_WAIT", reason=1, tw_duration=60400339000))],
                 t, c, 2, lo, 41000, lo, 8080, pid=200, comm=b"curl")
    # The child is made when the handshake's ACK comes (0.130); its
    # LISTEN>SYN_RECV is committed with its next event (stamped then) and
    # says how long it was held.
    recs += conn([(0.150, "LISTEN>SYN_RECV", dict(held_us=20)),
                  (0.150, "SYN_RECV>ESTABLISHED", {}),
                  (2.540, "ESTABLISHED>CLOSE_WAIT", {}),
                  (402.8, "CLOSE_WAIT>LAST_ACK", dict(flags=0)),
                  (402.95, "LAST_ACK>CLOSE", {})],
                 t, s, 2, lo, 8080, lo, 41000, pid=300, comm=b"python3")
    # 2. nginx (400) on 10.0.0.5:80 for a remote client that closes first.
    t2 = t + 1_000_000_000
    recs += conn([(0.9, "LISTEN>SYN_RECV", dict(held_us=0)),
                  (0.9, "SYN_RECV>ESTABLISHED", {}),
                  (35.2, "ESTABLISHED>CLOSE_WAIT", {}),
                  (35.4, "CLOSE_WAIT>LAST_ACK", dict(flags=0)),
                  (36.1, "LAST_ACK>CLOSE", {})],
                 t2, s + 10, 2, "10.0.0.5", 80, "198.51.100.7", 50123, pid=400, comm=b"nginx")
    # 3. nc (500) to a closed port: refused.
    t3 = t + 2_000_000_000
    recs += conn([(0, "CLOSE>SYN_SENT", dict(sport=0, flags=0)),
                  (0.05, "SYN_SENT>CLOSE", {})],
                 t3, c + 20, 2, lo, 45000, lo, 9, pid=500, comm=b"nc")
    recs.append(dict(kind=2, ts=t3 + 1_000_000, lost=3))
    # 4. IPv6: an established connection reset.
    t4 = t + 3_000_000_000
    recs += conn([(0, "CLOSE>SYN_SENT", dict(sport=0, flags=0)),
                  (1.5, "SYN_SENT>ESTABLISHED", {}),
                  (20.0, "ESTABLISHED>CLOSE", {})],
                 t4, c + 30, 10, "2001:db8::1", 40000, "2001:db8::2", 443, pid=600, comm=b"wget")
    # 5. Simultaneous close: both ends here, both send FIN at once.
    t5 = t + 4_000_000_000
    recs += conn([(0, "CLOSE>SYN_SENT", dict(sport=0, flags=0)),
                  (0.1, "SYN_SENT>ESTABLISHED", {}),
                  (5.0, "ESTABLISHED>FIN_WAIT1", dict(flags=0)),
                  (5.05, "FIN_WAIT1>CLOSING", {}),
                  (5.1, "tw_enter:CLOSING>TIME_WAIT", dict(substate="TIME_WAIT", tw_timeout=60000, tw_count=2)),
                  (5.1, "CLOSING>CLOSE", dict(flags=3)),
                  (60005.2, "tw_exit:TIME_WAIT>CLOSE", dict(substate="TIME_WAIT", reason=1, tw_duration=60000100000))],
                 t5, c + 40, 2, lo, 5000, lo, 6000, pid=700, comm=b"peer-a")
    recs += conn([(0.12, "LISTEN>SYN_RECV", {}),
                  (0.12, "SYN_RECV>ESTABLISHED", {}),
                  (5.0, "ESTABLISHED>FIN_WAIT1", dict(flags=0)),
                  (5.06, "FIN_WAIT1>CLOSING", {}),
                  (5.11, "tw_enter:CLOSING>TIME_WAIT", dict(substate="TIME_WAIT", tw_timeout=60000, tw_count=3)),
                  (5.11, "CLOSING>CLOSE", dict(flags=3)),
                  (60005.3, "tw_exit:TIME_WAIT>CLOSE", dict(substate="TIME_WAIT", reason=1, tw_duration=60000190000))],
                 t5, s + 40, 2, lo, 6000, lo, 5000, pid=800, comm=b"peer-b")
    recs.sort(key=lambda d: d["ts"])
    if ABI == 2:
        numbers(recs)
    return [ev(**d) for d in recs]


def dropped():
    """A server child and the one the kernel dropped at birth: two segments
    completed one handshake on two CPUs; both children carry the request's
    cookie, the loser (flag 0x20 on its two records) goes SYN_RECV>CLOSE
    while the winner lives on and is closed passively."""
    lo, t, s = "127.0.0.1", MONO0 + 1_000_000, 4503599627370700
    win = conn([(0.100, "LISTEN>SYN_RECV", {}),
                (0.112, "SYN_RECV>ESTABLISHED", {}),
                (17.5, "ESTABLISHED>CLOSE_WAIT", {}),
                (18.2, "CLOSE_WAIT>LAST_ACK", dict(flags=0)),
                (18.3, "LAST_ACK>CLOSE", {})],
               t, s, 2, lo, 9410, lo, 43236, pid=300, comm=b"server")
    lose = conn([(0.600, "LISTEN>SYN_RECV", dict(flags=0x21)),
                 (0.602, "SYN_RECV>CLOSE", dict(flags=0x21))],
                t, s, 2, lo, 9410, lo, 43236, pid=300, comm=b"server", cpu=1)
    recs = sorted(win + lose, key=lambda d: d["ts"])
    return [ev(**d) for d in recs]


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


def crafted():
    lo, t = "127.0.0.1", MONO0 + 1_000_000
    out = [
        # old state 33: past every state; a 32-bit shift by it is undefined
        ev(old=33, new="CLOSE", cookie=11, ts=t, sport=1, dport=2, saddr=lo, daddr=lo,
           comm=b"state33"),
        # a timewait entry also flagged in_timewait: one tw_count key only
        ev(kind=3, old="FIN_WAIT2", new="TIME_WAIT", flags=8, cookie=12, ts=t + 1000,
           sport=3, dport=4, saddr=lo, daddr=lo, substate="FIN_WAIT2", tw_count=7,
           comm=b"twflag"),
        ev(cookie=13, ts=t + 2000, sport=5, dport=6, saddr=lo, daddr=lo,
           comm="h\u00e9llo-\u4e16".encode()),
        ev(cookie=14, ts=t + 3000, sport=7, dport=8, saddr=lo, daddr=lo,
           comm=b"bad\xffbyte\x01"),
    ]
    # a whole connection whose comm needs CSV quoting
    out += [ev(**d) for d in conn([(0, "CLOSE>SYN_SENT", dict(sport=0, flags=0)),
                                   (0.1, "SYN_SENT>ESTABLISHED", {}),
                                   (1.0, "ESTABLISHED>CLOSE", {})],
                                  t + 4000, 15, 2, lo, 9000, lo, 9001, pid=42,
                                  comm=b'a"b,c')]
    # a prefork server's connection: the handshake under the listener's
    # owner (pid 60, "master"), the rest under the worker that accepted it
    out += [ev(**d) for d in conn([(0, "LISTEN>SYN_RECV", {}),
                                   (0.1, "SYN_RECV>ESTABLISHED", {}),
                                   (2.0, "ESTABLISHED>CLOSE_WAIT", dict(pid=61, tgid=61, comm=b"worker")),
                                   (2.1, "CLOSE_WAIT>LAST_ACK", dict(pid=61, tgid=61, comm=b"worker", flags=0)),
                                   (2.2, "LAST_ACK>CLOSE", dict(pid=61, tgid=61, comm=b"worker"))],
                                  t + 5000, 16, 2, lo, 80, lo, 40000, pid=60, comm=b"master")]
    return out


def many(n):
    lo, t = "127.0.0.1", MONO0 + 1_000_000
    recs = []
    for i in range(n):
        c, port = 10_000 + i, 20_000 + i % 40_000
        recs += [ev(cookie=c, ts=t + i, sport=0, dport=80, saddr=lo, daddr="10.1.0.1", pid=9, tgid=9, comm=b"many")]
    for i in range(n):
        c, port = 10_000 + i, 20_000 + i % 40_000
        recs += [ev(old="SYN_SENT", new="ESTABLISHED", cookie=c, ts=t + n + i, sport=port,
                    dport=80, saddr=lo, daddr="10.1.0.%d" % (1 + i // 40_000), flags=1)]
    for i in range(n):
        c, port = 10_000 + i, 20_000 + i % 40_000
        recs += [ev(old="ESTABLISHED", new="CLOSE", cookie=c, ts=t + 2 * n + i, sport=port,
                    dport=80, saddr=lo, daddr="10.1.0.%d" % (1 + i // 40_000), flags=1)]
    return recs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--scenario", default="basic", choices=["basic", "empty", "lifecycle", "crafted", "many", "dropped"])
    p.add_argument("-n", type=int, default=20000, help="connections, for --scenario many")
    p.add_argument("--abi", type=int, default=1, help="ABI of the records")
    p.add_argument("--header-abi", type=int, default=None)
    p.add_argument("--truncate-bytes", type=int, default=0)
    p.add_argument("--bad-kind", action="store_true")
    a = p.parse_args()
    global ABI
    ABI = a.abi
    recs = {"basic": lambda: basic(a.abi), "empty": list, "lifecycle": lifecycle,
            "crafted": crafted, "many": lambda: many(a.n), "dropped": dropped}[a.scenario]()
    if a.bad_kind:
        recs.insert(2, ev(kind=99))
    hdr_abi = a.header_abi if a.header_abi is not None else a.abi
    size = 192 if a.abi == 2 else 128
    data = HEADER.pack(b"SYNFINCAP\0\0\0", hdr_abi, size, MONO0, REAL0, bytes(32))
    data += b"".join(recs)
    if a.truncate_bytes:
        data = data[:-a.truncate_bytes]
    with open(a.out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
