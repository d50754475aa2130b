#!/usr/bin/python3
"""Hold loopback TCP connections open, made on request, for VM tests.

    holdconns.py PORT CTL-FIFO ACK-FILE

Listens on 127.0.0.1:PORT. Each line read from CTL-FIFO is a command:
  N          open N connections to itself (connect, then accept) and keep
             both ends open
  quit       exit (closing everything)
After each command ACK-FILE holds the number of connections held (written
by rename, so a reader never sees it half-written). The process's comm is
"holdconns".
"""
import ctypes
import os
import resource
import socket
import sys


def main():
    port, ctl, ack = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctypes.CDLL(None).prctl(15, b"holdconns", 0, 0, 0)  # PR_SET_NAME
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4096)
    held = []

    def acknowledge():
        with open(ack + ".tmp", "w") as f:
            f.write("%d\n" % (len(held) // 2))
        os.rename(ack + ".tmp", ack)

    acknowledge()
    while True:
        with open(ctl) as f:  # blocks until a writer opens the FIFO
            for line in f:
                cmd = line.strip()
                if cmd == "quit":
                    return
                for _ in range(int(cmd or 0)):
                    c = socket.create_connection(("127.0.0.1", port))
                    s, _ = srv.accept()
                    held += [c, s]
                acknowledge()


if __name__ == "__main__":
    main()
