#!/usr/bin/python3
"""Connections with known payloads, and the kernel's own TCP_INFO for them.

  tcpnumbers.py serve PORT READY-FILE OUT-FILE [--uid UID] [--fork-accept]
      Listen (as the caller); with --fork-accept, a child process accepts
      (a prefork server: the listener's owner is not the acceptor); with
      --uid, the acceptor then drops to that uid, so the sockets it accepts
      are that uid's (accept() gives them the acceptor's). READY-FILE gets
      the pid of the process that listens, and of the one that accepts.
      Accept connections forever. Each: read ROUNDS requests of REQ bytes
      (the client says how many in its first 12 bytes, which are part of
      its payload), answer each with RESP bytes, wait for the client's FIN,
      take getsockopt(TCP_INFO), close. Appends one JSON line per
      connection to OUT-FILE: the client's port and that TCP_INFO.
  tcpnumbers.py connect PORT REQ RESP [--rounds N] [--hold S] [-n COUNT]
                        [--uid UID] [--cgroup DIR]
      COUNT connections in turn (default 1). Each sends ROUNDS requests of
      REQ bytes and reads RESP bytes after each, holds the connection open
      S seconds, takes TCP_INFO, closes first. Prints one JSON line per
      connection: its port, TCP_INFO just before close(), and
      CLOCK_MONOTONIC (ns) before/after connect() and close(). With
      --cgroup, moves itself into that cgroup v2 directory first; with
      --uid, then drops to that uid (sockets made after it are its).

TCP_INFO fields read (struct tcp_info, include/uapi/linux/tcp.h):
tcpi_rtt, tcpi_rttvar, tcpi_total_retrans, tcpi_bytes_acked,
tcpi_bytes_received, tcpi_segs_out, tcpi_segs_in, tcpi_min_rtt.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time

TCP_INFO_LEN = 232


def tcp_info(s):
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LEN)
    rtt, rttvar = struct.unpack_from("<II", b, 68)
    total_retrans, = struct.unpack_from("<I", b, 100)
    bytes_acked, bytes_received, segs_out, segs_in = struct.unpack_from("<QQII", b, 120)
    min_rtt, = struct.unpack_from("<I", b, 148)
    return {"bytes_acked": bytes_acked, "bytes_received": bytes_received,
            "segs_out": segs_out, "segs_in": segs_in, "total_retrans": total_retrans,
            "rtt": rtt, "rttvar": rttvar, "min_rtt": min_rtt}


def recv_exact(s, n):
    got = 0
    while got < n:
        b = s.recv(min(65536, n - got))
        if not b:
            raise EOFError("peer closed after %d of %d bytes" % (got, n))
        got += len(b)


def mono():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def serve(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(128)
    out = open(a.out, "a")          # opened before dropping privileges
    acceptor = os.getpid()
    if a.fork_accept:
        acceptor = os.fork()
        if acceptor:
            with open(a.ready, "w") as f:
                f.write("%d %d\n" % (os.getpid(), acceptor))
            os.waitpid(acceptor, 0)
            return
    else:
        with open(a.ready, "w") as f:
            f.write("%d %d\n" % (os.getpid(), acceptor))
    if a.uid is not None:
        os.setgid(a.uid)
        os.setuid(a.uid)
    while True:
        c, peer = ls.accept()
        try:
            hdr = c.recv(12, socket.MSG_WAITALL)
            rounds, req, resp = struct.unpack("<III", hdr)
            for i in range(rounds):
                recv_exact(c, req - (12 if i == 0 else 0))
                c.sendall(b"r" * resp)
            while c.recv(65536):
                pass
            info = tcp_info(c)
        except (EOFError, OSError) as e:
            info = {"error": str(e)}
        c.close()
        out.write(json.dumps({"peer_port": peer[1], "tcp_info": info}) + "\n")
        out.flush()


def connect(a):
    if a.cgroup:
        with open(os.path.join(a.cgroup, "cgroup.procs"), "w") as f:
            f.write("%d\n" % os.getpid())
    if a.uid is not None:
        os.setgid(a.uid)
        os.setuid(a.uid)
    for _ in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t0 = mono()
        s.connect(("127.0.0.1", a.port))
        t1 = mono()
        for i in range(a.rounds):
            body = b"q" * (a.req - (12 if i == 0 else 0))
            s.sendall((struct.pack("<III", a.rounds, a.req, a.resp) if i == 0 else b"") + body)
            recv_exact(s, a.resp)
        time.sleep(a.hold)
        info = tcp_info(s)
        port = s.getsockname()[1]
        t2 = mono()
        s.close()
        t3 = mono()
        print(json.dumps({"port": port, "tcp_info": info, "before_connect": t0,
                          "after_connect": t1, "before_close": t2, "after_close": t3}),
              flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    s.add_argument("ready")
    s.add_argument("out")
    s.add_argument("--uid", type=int)
    s.add_argument("--fork-accept", action="store_true")
    c = sub.add_parser("connect")
    c.add_argument("port", type=int)
    c.add_argument("req", type=int)
    c.add_argument("resp", type=int)
    c.add_argument("--rounds", type=int, default=1)
    c.add_argument("--hold", type=float, default=0)
    c.add_argument("-n", type=int, default=1)
    c.add_argument("--uid", type=int)
    c.add_argument("--cgroup")
    a = p.parse_args()
    if a.cmd == "connect" and a.req < 12:
        sys.exit("REQ must be at least 12 bytes (the header)")
    serve(a) if a.cmd == "serve" else connect(a)


if __name__ == "__main__":
    main()
