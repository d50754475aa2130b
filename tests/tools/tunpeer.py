#!/usr/bin/python3
"""A TCP peer behind a tun device, for tests/vm/tun_owner.sh (root, in the
lab VM). Its packets enter the stack the way a VPN daemon's do: written to
the tun fd, received by tun_get_user() -> netif_receive_skb() in this
process's own task with bottom halves disabled (not in a softirq).

  tunpeer.py peer --dev NAME --ready FILE --go FILE --port P [--sport S]
                  [--local A] [--remote A] [--accepted FILE] [--timeout S]
      comm "tunpeer" (prctl PR_SET_NAME); creates tun device NAME
      (IFF_TUN | IFF_NO_PI), writes FILE ("pid=N") and waits for --go to
      exist (the caller configures the device and a server meanwhile);
      then from LOCAL:S (default 10.99.0.2:45678) to REMOTE:P (10.99.0.1):
      writes a SYN, reads the SYN-ACK back from the tun fd, writes the ACK;
      waits for --accepted to exist (the server took the connection), then
      writes an in-window RST. Prints what it sent and saw; exit 0 when the
      handshake completed, 1 on a timeout or a wrong answer.
  tunpeer.py serve --addr A --port P --ready FILE --accepted FILE [--timeout S]
      a listener on A:P (comm python3); writes FILE ("pid=N") once
      listening, accepts one connection, writes --accepted ("peer=ADDR:PORT"),
      reads until EOF or reset, closes.
"""
import argparse
import ctypes
import fcntl
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
PR_SET_NAME = 15
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def log(*a):
    print("tunpeer:", *a, flush=True)


def die(msg):
    log("FAILED:", msg)
    sys.exit(1)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s >> 16) + (s & 0xFFFF)
    return ~s & 0xFFFF


def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, options=b""):
    """One IPv4 TCP segment without payload, both checksums right."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    off = (5 + len(options) // 4) << 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off, flags, 64240, 0, 0) + options
    c = csum(struct.pack("!4s4sBBH", s, d, 0, socket.IPPROTO_TCP, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), os.getpid() & 0xFFFF, 0x4000,
                     64, socket.IPPROTO_TCP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def parse_tcp(pkt):
    """(src, dst, sport, dport, seq, ack, flags) of an IPv4 TCP packet, else None."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != socket.IPPROTO_TCP:
        return None
    ihl = (pkt[0] & 0xF) * 4
    if len(pkt) < ihl + 20:
        return None
    sport, dport, seq, ack, _, flags = struct.unpack("!HHIIBB", pkt[ihl:ihl + 14])
    return (socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20]), sport, dport, seq,
            ack, flags)


def describe(pkt):
    if not pkt:
        return "empty packet"
    v = pkt[0] >> 4
    if v == 6:
        return "IPv6 packet (next header %d), %d bytes" % (pkt[6] if len(pkt) > 6 else -1, len(pkt))
    if v == 4:
        t = parse_tcp(pkt)
        if t:
            return "TCP %s:%d > %s:%d flags 0x%02x" % (t[0], t[2], t[1], t[3], t[6])
        return "IPv4 protocol %d, %d bytes" % (pkt[9] if len(pkt) > 9 else -1, len(pkt))
    return "IP version %d?, %d bytes" % (v, len(pkt))


def wait_file(path, deadline, what):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            die("timed out waiting for %s (%s)" % (what, path))
        time.sleep(0.02)


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def peer(a):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NAME, ctypes.c_char_p(b"tunpeer"), 0, 0, 0):
        die("prctl(PR_SET_NAME): %s" % os.strerror(ctypes.get_errno()))
    deadline = time.monotonic() + a.timeout
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except OSError as e:
        die("open /dev/net/tun: %s" % e)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", a.dev.encode(), IFF_TUN | IFF_NO_PI))
    except OSError as e:
        die("TUNSETIFF %s: %s" % (a.dev, e))
    write_file(a.ready, "pid=%d" % os.getpid())
    log("pid %d created %s; waiting for %s" % (os.getpid(), a.dev, a.go))
    wait_file(a.go, deadline, "the go file")

    def read_reply(want_flags, what):
        """The next packet of this connection from the tun fd; others are skipped."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                die("timed out after %.0f s waiting for %s from %s:%d" % (
                    a.timeout, what, a.remote, a.port))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            pkt = os.read(fd, 65536)
            t = parse_tcp(pkt)
            if not t or t[0] != a.remote or t[1] != a.local or t[2] != a.port or t[3] != a.sport:
                log("skipped", describe(pkt))
                continue
            if t[6] & RST:
                die("got a RST instead of %s: %s" % (what, describe(pkt)))
            if t[6] & want_flags != want_flags:
                log("skipped", describe(pkt))
                continue
            return t

    iss = 0x1000_0000 + (os.getpid() << 8)
    mss = struct.pack("!BBH", 2, 4, 1400)
    os.write(fd, ipv4_tcp(a.local, a.remote, a.sport, a.port, iss, 0, SYN, mss))
    log("wrote SYN %s:%d > %s:%d seq %d" % (a.local, a.sport, a.remote, a.port, iss))
    t = read_reply(SYN | ACK, "the SYN-ACK")
    if t[5] != (iss + 1) & 0xFFFFFFFF:
        die("SYN-ACK acks %d, want %d" % (t[5], iss + 1))
    irs = t[4]
    log("read SYN-ACK seq %d ack %d" % (irs, t[5]))
    snd, rcv = (iss + 1) & 0xFFFFFFFF, (irs + 1) & 0xFFFFFFFF
    os.write(fd, ipv4_tcp(a.local, a.remote, a.sport, a.port, snd, rcv, ACK))
    log("wrote ACK seq %d ack %d: handshake complete" % (snd, rcv))
    if a.accepted:
        wait_file(a.accepted, deadline, "the server's accept")
        log("server accepted")
    os.write(fd, ipv4_tcp(a.local, a.remote, a.sport, a.port, snd, rcv, RST | ACK))
    log("wrote RST seq %d" % snd)
    time.sleep(0.2)
    os.close(fd)


def serve(a):
    deadline = time.monotonic() + a.timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(8)
    write_file(a.ready, "pid=%d" % os.getpid())
    s.settimeout(max(1, deadline - time.monotonic()))
    try:
        c, peer_addr = s.accept()
    except socket.timeout:
        print("tunpeer serve: no connection within %.0f s" % a.timeout, flush=True)
        sys.exit(1)
    write_file(a.accepted, "peer=%s:%d" % peer_addr)
    c.settimeout(max(1, deadline - time.monotonic()))
    try:
        while c.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout) as e:
        print("tunpeer serve: %s" % type(e).__name__, flush=True)
    c.close()
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("peer")
    p.add_argument("--dev", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--go", required=True)
    p.add_argument("--accepted")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sport", type=int, default=45678)
    p.add_argument("--local", default="10.99.0.2")
    p.add_argument("--remote", default="10.99.0.1")
    p.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("serve")
    s.add_argument("--addr", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--accepted", required=True)
    s.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    (peer if a.cmd == "peer" else serve)(a)


if __name__ == "__main__":
    main()
