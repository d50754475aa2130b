#!/usr/bin/python3
"""Put a client socket in TIME_WAIT, then hit its timewait sock with a
crafted segment, for the TIME_WAIT reason tests (root, inside the lab VM).

  twcraft.py rst  PORT    client connects to 127.0.0.1:PORT, closes first,
                          then an in-window RST (seq == rcv_nxt) kills its
                          timewait sock: reason "rst"
  twcraft.py data PORT    the server never answers the FIN (run it with -H),
                          so the client's orphan sits in substate FIN_WAIT2;
                          then data after the half-close arrives: the kernel
                          answers with RST and kills it: reason "segment"

Prints "sport=N" (the client's port). The sequence numbers come from
sniffing loopback while the connection runs.
"""
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b""):
    off = 5 << 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off, flags, 65535, 0, 0)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 6,
                         len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(hdr) + len(payload), 0, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + hdr + payload


class Sniffer(threading.Thread):
    """Remember the last segment seen in each direction of a port pair."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.last = port, {}
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                pkt, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue          # loopback shows each packet twice
            ip = pkt[14:]
            if len(ip) < 40 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            tcp = ip[ihl:]
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
            plen = len(ip) - ihl - (off >> 4) * 4
            if self.port in (sport, dport):
                self.last[(sport, dport)] = (seq, ack, flags, plen)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    sn = Sniffer(port)
    sn.start()
    time.sleep(0.3)
    c = socket.create_connection(("127.0.0.1", port))
    me = c.getsockname()[1]
    c.sendall(b"ping")
    c.recv(16)
    c.close()                         # client closes first
    time.sleep(0.6)                   # server lingers 100 ms, then its FIN (or never, with -H)
    sn.stop = True
    sn.join()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    srv_seq, srv_ack, srv_flags, srv_len = sn.last[(port, me)]
    if mode == "rst":
        # The server's last segment was its FIN: rcv_nxt = seq + len + 1.
        assert srv_flags & 0x01, "no FIN from the server seen"
        seq = (srv_seq + srv_len + 1) & 0xFFFFFFFF
        seg = tcp_segment("127.0.0.1", "127.0.0.1", port, me, seq, 0, 0x04)
    else:
        # No FIN from the server: new data at rcv_nxt after the half-close.
        seq = (srv_seq + srv_len) & 0xFFFFFFFF
        seg = tcp_segment("127.0.0.1", "127.0.0.1", port, me, seq, srv_ack, 0x18, b"late")
    raw.sendto(seg, ("127.0.0.1", 0))
    print("sport=%d" % me)


if __name__ == "__main__":
    main()
