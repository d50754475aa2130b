#!/bin/bash
# SCTP fires the same tracepoint: synfin counts it as filtered, delivers none.
. tests/vm/lib.sh
modprobe sctp 2>/dev/null || skip "no sctp module in this kernel"
before=$($DEVCHECK stats | sed 's/.*filtered=\([0-9]*\).*/\1/')
start_reader $W/ev.json
/usr/bin/python3 - <<'PY' || fail "sctp traffic"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.bind(("127.0.0.1", 9700)); s.listen(1)
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
c.connect(("127.0.0.1", 9700))
a, _ = s.accept(); c.send(b"x"); a.recv(1); c.close(); a.close(); s.close()
PY
settle
stop_reader $READER
after=$($DEVCHECK stats | sed 's/.*filtered=\([0-9]*\).*/\1/')
ok=0
note "filtered (non-TCP) invocations: $((after - before))"
[ $((after - before)) -gt 0 ] || { note "SCTP never reached the hook"; ok=1; }
expect_eq "events delivered for SCTP" "$($EV count $W/ev.json)" 0 || ok=1
exit $ok
