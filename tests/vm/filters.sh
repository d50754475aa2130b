#!/bin/bash
# Filters are applied in the module, per open file: while a busy port takes
# 200 connections, readers filtered on the watched port, on a state, on the
# owner, on an address and on the family see exactly their events, and the
# module counts the rest as filtered for them (not lost).
. tests/vm/lib.sh
ok=0
busy=9601 watched=9602 v6=9603
ip addr add 127.0.0.2/8 dev lo 2>/dev/null
$T/tcpconn serve -p $busy -n 200 -c 20 & bsrv=$!
$T/tcpconn serve -p $watched -n 3 -l 400 & wsrv=$!
$T/tcpconn serve -6 -p $v6 -n 2 & v6srv=$!
wait_listen $busy; wait_listen $watched; wait_listen $v6
readers=()
for r in "all" "dport -D $watched" "lport -L $watched" "state --state SYN_SENT,syn-recv" \
	 "v6 -6" "addr --addr 127.0.0.2/32" "comm --comm nosuchcomm"; do
	set -- $r
	name=$1; shift
	start_reader $W/$name.json "$@"
	readers+=($READER)
done
$T/tcpconn connect -p $busy -n 200 -c 20 >/dev/null & busyc=$!
$T/tcpconn connect -p $watched -n 2 >$W/w.out & w1=$!
$T/tcpconn connect -p $watched -n 1 -s 127.0.0.2 >/dev/null & w2=$!
$T/tcpconn connect -6 -p $v6 -n 2 >/dev/null || fail "IPv6 clients"
wait $busyc || fail "busy clients"
wait $w1 || fail "watched clients"; wait $w2 || fail "watched client from 127.0.0.2"
wait $bsrv; wait $wsrv; wait $v6srv
settle 1
for r in "${readers[@]}"; do stop_reader $r; done
$DEVCHECK filter >$W/fc || ok=1
sed 's/^/  /' $W/fc
/usr/bin/python3 - $W $busy $watched <<'PY' || ok=1
import json, sys, os
d, busy, watched = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(n):
    return [json.loads(l) for l in open(os.path.join(d, n + ".json")) if l.strip()]
all_ = load("all")
bad = 0
def check(name, want):
    global bad
    got = [e for e in load(name) if "lost" not in e]
    exp = [e for e in all_ if "lost" not in e and want(e)]
    key = lambda e: (e["ts_ns"], e["cookie"], e["event"], e["old"], e["new"])
    if sorted(map(key, got)) != sorted(map(key, exp)):
        print("  %s: %d events, want %d" % (name, len(got), len(exp))); bad = 1
    else:
        print("  %s: %d events, exactly the matching ones" % (name, len(got)))
    return len(got)
if any("lost" in e for e in all_):
    print("  the unfiltered reader lost events"); bad = 1
print("  unfiltered: %d events" % len(all_))
n = check("dport", lambda e: e["dport"] == watched)
if n < 3 * 7:
    print("  dport: want the 3 watched clients' 7 events each"); bad = 1
check("lport", lambda e: e["sport"] == watched)
check("state", lambda e: "SYN_SENT" in (e["old"], e["new"]) or "SYN_RECV" in (e["old"], e["new"]))
if check("v6", lambda e: e["family"] == "inet6") < 2 * 11:
    print("  v6: want the 2 IPv6 connections' events"); bad = 1
n = check("addr", lambda e: "127.0.0.2" in (e["saddr"], e["daddr"]))
if n == 0:
    print("  addr: nothing from 127.0.0.2"); bad = 1
check("comm", lambda e: False)
sys.exit(bad)
PY
exit $ok
