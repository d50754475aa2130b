#!/bin/bash
# Exact transition sequences of one connection, both ends on this host:
# the client sends data and closes first (IPv4, then IPv6 with -6).
. tests/vm/lib.sh
fam=inet; flag=; port=9100
if [ "${1:-}" = -6 ]; then fam=inet6; flag=-6; port=9106; fi

start_reader $W/ev.json
# The server waits 400 ms after the client's FIN before its own, so the
# client's FIN is ACKed first (FIN_WAIT2), even with a late delayed ACK.
$T/tcpconn serve $flag -p $port -n 1 -l 400 -R $W/ready & srv=$!
wait_listen $port
$T/tcpconn connect $flag -p $port -n 1 >$W/client.out & cli=$!
wait $cli || fail "client failed"
sport=$(sed -n 's/^sport=//p' $W/client.out)
wait $srv || fail "server failed"
settle
stop_reader $READER

ok=0
# Client: the SYN leaves before the port is chosen (sport 0 on CLOSE>SYN_SENT),
# so match by remote port. It closed while in FIN_WAIT1, so when the ACK
# comes the orphan is handed to a timewait sock in substate FIN_WAIT2
# (tw_enter, then the full socket's CLOSE); the server's FIN, 400 ms later,
# moves the timewait sock to TIME_WAIT (tw:).
client=$($EV seq $W/ev.json --remote-port $port --family $fam)
expect_eq "client sequence" "$client" \
	"CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 tw_enter:FIN_WAIT2>TIME_WAIT/FIN_WAIT2 FIN_WAIT2>CLOSE tw:FIN_WAIT2>TIME_WAIT" || ok=1
# Server: found by the client's port, tied by cookie. Its first event is the
# child clone LISTEN>SYN_RECV, which still carries the listener's tuple
# (remote port 0) but already the child's cookie.
server=$($EV seq $W/ev.json --remote-port "$sport" --family $fam)
expect_eq "server sequence (remote port $sport)" "$server" \
	"LISTEN>SYN_RECV SYN_RECV>ESTABLISHED ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSE" || ok=1
listener=$($EV seq $W/ev.json --local-port $port --family $fam | head -1)
expect_eq "listener" "$listener" "CLOSE>LISTEN LISTEN>CLOSE" || ok=1
# Every event: TCP in this netns, family as asked, loopback; the passive
# open's first event already carries the client's port (never remote port 0
# on a connection); the owner is right on both sides, softirq or not; the
# full socket's CLOSE after tw_enter is marked as the hand-off.
bad=$(/usr/bin/python3 - "$W/ev.json" "$fam" "$(readlink /proc/self/ns/net)" "$port" "$sport" "$cli" "$srv" <<'PY'
import json, sys
fam, ns = sys.argv[2], int(sys.argv[3].strip("net:[]"))
port, sport, cli, srv = map(int, sys.argv[4:8])
lo = {"inet": "127.0.0.1", "inet6": "::1"}[fam]
for l in open(sys.argv[1]):
    e = json.loads(l)
    if "lost" in e:
        print("lost marker", e); continue
    if e["family"] != fam or e["netns"] != ns or e["saddr"] not in (lo, "0.0.0.0", "::"):
        print("unexpected", e)
    if e.get("listener_tuple"):
        print("listener tuple reached the user:", e)
    if e["old"] == "LISTEN" and e["new"] == "SYN_RECV" and (e["dport"] != sport or e["daddr"] != lo):
        print("passive open without the client's tuple:", e)
    if e["sport"] == sport or (e["dport"] == port and e["old"] != "LISTEN"):   # client side
        if (e["pid"], e["comm"]) != (cli, "tcpconn"):
            print("client event with owner %s/%r, want %d/tcpconn:" % (e["pid"], e["comm"], cli), e)
    elif e["dport"] == sport:                                                  # server child
        if (e["pid"], e["comm"]) != (srv, "tcpconn"):
            print("server event with owner %s/%r, want %d/tcpconn:" % (e["pid"], e["comm"], srv), e)
    if e["new"] == "CLOSE" and e["old"] == "FIN_WAIT2" and not e.get("handoff"):
        print("CLOSE after tw_enter not marked as hand-off:", e)
PY
)
expect_eq "unexpected events" "$bad" "" || ok=1
exit $ok
