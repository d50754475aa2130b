#!/bin/bash
# Every way out of timewait, forced once each, reported with its reason:
# recycled (new SYN), reused (connect with tcp_tw_reuse), rst (in-window
# RST), segment (data after a half-close, answered with RST), destroyed
# (ss -K, where the kernel supports it), netns (the namespace goes away).
# One entry and one exit per sock.
. tests/vm/lib.sh
ok=0
sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.tcp_rfc1337=0
# Exits in a deleted netns are that netns's records: the all-namespaces view.
SYNFIN="$GLOBAL $SYNFIN" start_reader $W/ev.json

# recycled: the server closes first, so the timewait sock is the server's;
# the client comes back from the same source port and its SYN reopens it.
$T/tcpconn serve -p 7201 -n 2 -S & srv=$!
wait_listen 7201
$T/tcpconn connect -p 7201 -b 40001 -S -l 0 -q || fail "first connection"
settle
$T/tcpconn connect -p 7201 -b 40001 -S -l 0 -q || fail "second connection from port 40001"
wait $srv

# reused: the client closes first and keeps the timewait sock; a new connect
# from the same port to the same server takes it over.
$T/tcpconn serve -p 7202 -n 2 -l 0 & srv=$!
wait_listen 7202
$T/tcpconn connect -p 7202 -b 40002 -q || fail "first connection"
settle
$T/tcpconn connect -p 7202 -b 40002 -q || fail "reusing connection"
wait $srv

# rst and segment: crafted segments with the right sequence numbers.
$T/tcpconn serve -p 7203 -n 1 & srv=$!
wait_listen 7203
rst_port=$(/usr/bin/python3 tests/lib/twcraft.py rst 7203 | sed -n 's/sport=//p') || fail "twcraft rst"
wait $srv
$T/tcpconn serve -p 7204 -n 1 -H & hold=$!
wait_listen 7204
seg_port=$(/usr/bin/python3 tests/lib/twcraft.py data 7204 | sed -n 's/sport=//p') || fail "twcraft data"

# destroyed: ss -K on a timewait sock (SOCK_DESTROY).
$T/tcpconn serve -p 7205 -n 1 -l 0 & srv=$!
wait_listen 7205
$T/tcpconn connect -p 7205 -b 40005 -q
wait $srv
settle
ss -K state time-wait "( sport = :40005 )" >/dev/null
settle
# SOCK_DESTROY of timewait socks is newer than 5.10 (there: EOPNOTSUPP).
# Where the kernel refuses, the sock stays and synfin must report no exit.
DESTROYED=destroyed
if [ -n "$(ss -Htan state time-wait '( sport = :40005 )')" ]; then
	DESTROYED=none
	note "this kernel refuses SOCK_DESTROY on timewait socks: expecting no exit for it"
fi

# netns: timewait socks in a namespace that is deleted.
new_netns twdel
ip netns exec twdel $T/tcpconn serve -p 7206 -n 3 -l 0 & srv=$!
ip netns exec twdel bash -c '. tests/vm/lib.sh; wait_listen 7206'
ip netns exec twdel $T/tcpconn connect -p 7206 -n 3 -q
wait $srv
settle
DELNS=$(ip netns exec twdel readlink /proc/self/ns/net | tr -dc 0-9)
ip netns del twdel
wait_netns_exits $W/ev.json 7206 3
settle
kill $hold 2>/dev/null; wait $hold 2>/dev/null
stop_reader $READER

MYNS=$MYNS DELNS=$DELNS DESTROYED=$DESTROYED /usr/bin/python3 - $W/ev.json $rst_port $seg_port >$W/check 2>&1 <<'PY'
import collections, json, os, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"lost"' not in l]
# This test's netns and the one it deleted: other tests' sockets stay out.
ev = [e for e in ev if e["netns"] in (int(os.environ["MYNS"]), int(os.environ["DELNS"]))]
rst_port, seg_port = int(sys.argv[2]), int(sys.argv[3])
exits = [e for e in ev if e["event"] == "tw_exit"]
enters = [e for e in ev if e["event"] == "tw_enter"]
def reasons(pred):
    return sorted(e["reason"] for e in exits if pred(e))
want = {
    "recycled (server 7201 <- 40001)": (reasons(lambda e: e["sport"] == 7201 and e["dport"] == 40001), ["recycled"]),
    "reused (40002 -> 7202)": (reasons(lambda e: e["sport"] == 40002 and e["dport"] == 7202), ["reused"]),
    "rst": (reasons(lambda e: e["sport"] == rst_port), ["rst"]),
    "segment (FIN_WAIT2 substate)": (reasons(lambda e: e["sport"] == seg_port), ["segment"]),
    "destroyed (ss -K)": (reasons(lambda e: e["sport"] == 40005),
                          [] if os.environ["DESTROYED"] == "none" else ["destroyed"]),
    "netns": (reasons(lambda e: e["dport"] == 7206), ["netns"] * 3),
}
bad = 0
for name, (got, exp) in want.items():
    print("  %-32s got %s" % (name, got) + ("" if got == exp else ", want %s" % exp))
    bad |= got != exp
seg = [e for e in exits if e["sport"] == seg_port]
if seg and seg[0]["substate"] != "FIN_WAIT2":
    print("  segment case left substate", seg[0]["substate"], "want FIN_WAIT2"); bad = 1
# Exactly one entry and one exit per timewait sock (by cookie), exits last.
cnt = collections.Counter((e["cookie"], e["event"]) for e in enters + exits)
for c in {e["cookie"] for e in exits}:
    if cnt[(c, "tw_enter")] != 1 or cnt[(c, "tw_exit")] != 1:
        print("  cookie %d: %d entries, %d exits" % (c, cnt[(c, "tw_enter")], cnt[(c, "tw_exit")])); bad = 1
print("  %d entries, %d exits in this test" % (len(enters), len(exits)))
sys.exit(bad)
PY
rc=$?
cat $W/check
[ $rc -eq 0 ] || ok=1
sysctl -qw net.ipv4.tcp_tw_reuse=2
exit $ok
