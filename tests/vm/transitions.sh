#!/bin/bash
# Exact transition sequences of one connection, both ends on this host:
# the client sends data and closes first (IPv4, then IPv6 with -6).
. tests/vm/lib.sh
fam=inet; flag=; port=9100
if [ "${1:-}" = -6 ]; then fam=inet6; flag=-6; port=9106; fi

start_reader $W/ev.json
$T/tcpconn serve $flag -p $port -n 1 -R $W/ready & srv=$!
wait_listen $port
sport=$($T/tcpconn connect $flag -p $port -n 1 | sed -n 's/^sport=//p')
wait $srv || fail "server failed"
settle
stop_reader $READER

ok=0
# Client: the SYN leaves before the port is chosen (sport 0 on CLOSE>SYN_SENT),
# so match by remote port and check the tuple of the rest.
client=$($EV seq $W/ev.json --remote-port $port --family $fam)
expect_eq "client sequence" "$client" \
	"CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>CLOSE" || ok=1
# Server: found by the client's port, tied by cookie. Its first event is the
# child clone LISTEN>SYN_RECV, which still carries the listener's tuple
# (remote port 0) but already the child's cookie.
server=$($EV seq $W/ev.json --remote-port "$sport" --family $fam)
expect_eq "server sequence (remote port $sport)" "$server" \
	"LISTEN>SYN_RECV SYN_RECV>ESTABLISHED ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSE" || ok=1
listener=$($EV seq $W/ev.json --local-port $port --family $fam | head -1)
expect_eq "listener" "$listener" "CLOSE>LISTEN LISTEN>CLOSE" || ok=1
# Every event is TCP in this netns, family as asked, addresses loopback.
bad=$(/usr/bin/python3 - "$W/ev.json" "$fam" "$(readlink /proc/self/ns/net)" <<'PY'
import json, sys
fam, ns = sys.argv[2], int(sys.argv[3].strip("net:[]"))
lo = {"inet": "127.0.0.1", "inet6": "::1"}[fam]
for l in open(sys.argv[1]):
    e = json.loads(l)
    if "lost" in e:
        print("lost marker", e); continue
    if e["family"] != fam or e["netns"] != ns or e["saddr"] not in (lo, "0.0.0.0", "::"):
        print("unexpected", e)
PY
)
expect_eq "unexpected events" "$bad" "" || ok=1
exit $ok
