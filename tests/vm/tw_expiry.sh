#!/bin/bash
# Expiry: timewait socks leave when their timer fires, with reason
# "expired" and a lifetime equal to the timer: about 3 s for FIN_WAIT2
# orphans (tcp_fin_timeout=3), about 60 s for TIME_WAIT (TCP_TIMEWAIT_LEN,
# fixed in the kernel; the timer wheel may fire up to ~2 s late at this
# range, plus softirq delay under emulation: 59.5-65 s). Then every count is back to 0, and each sock had exactly one
# entry and one exit.
. tests/vm/lib.sh
ok=0
sysctl -qw net.ipv4.tcp_fin_timeout=3
start_reader $W/ev.json
$T/tcpconn serve -p 7301 -n 20 -l 100 & s1=$!
$T/tcpconn serve -p 7302 -n 10 -H & s2=$!
wait_listen 7301; wait_listen 7302
$T/tcpconn connect -p 7301 -n 20 -q || fail "client 7301"
$T/tcpconn connect -p 7302 -n 10 -q || fail "client 7302"
wait $s1
settle 1
note "after connecting: $($SYNFIN tw | head -1)"
expect_total_sockstat "total == sockstat tw" || ok=1
# Wait for all of them to expire (60 s + timer slack).
start=$SECONDS
for i in $(seq 1 90); do
	[ "$(tw_json total)" = 0 ] && break
	sleep 1
done
note "after $((SECONDS - start)) s: $($SYNFIN tw | head -1)"
kill $s2; wait $s2 2>/dev/null
sysctl -qw net.ipv4.tcp_fin_timeout=60
settle
stop_reader $READER
for k in total time_wait fin_wait2; do
	expect_eq "$k after expiry" "$(tw_json $k)" 0 || ok=1
done
expect_eq "sockstat tw after expiry" "$(sockstat_tw)" 0 || ok=1
MYNS=$MYNS /usr/bin/python3 - $W/ev.json <<'PY' || ok=1
import collections, json, os, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"lost"' not in l]
ev = [e for e in ev if e["netns"] == int(os.environ["MYNS"])]  # this test's own
ex = [e for e in ev if e["event"] == "tw_exit"]
en = [e for e in ev if e["event"] == "tw_enter"]
bad = 0
def check(name, rows, n, lo, hi, substate):
    global bad
    d = sorted(e["duration_ns"] / 1e9 for e in rows)
    reasons = collections.Counter(e["reason"] for e in rows)
    subs = collections.Counter(e["substate"] for e in rows)
    print("  %s: %d exits, reasons %s, substates %s, lifetimes %.2f..%.2f s"
          % (name, len(rows), dict(reasons), dict(subs), d[0] if d else 0, d[-1] if d else 0))
    if len(rows) != n or reasons != {"expired": n} or subs != {substate: n} or \
            not d or d[0] < lo or d[-1] > hi:
        print("  want %d, all expired in %s, lifetimes %.1f..%.1f s" % (n, substate, lo, hi)); bad = 1
check("TIME_WAIT (7301)", [e for e in ex if e["dport"] == 7301], 20, 59.5, 65.0, "TIME_WAIT")
check("FIN_WAIT2 orphans (7302)", [e for e in ex if e["dport"] == 7302], 10, 2.5, 5.5, "FIN_WAIT2")
armed = sorted(e["timeout_ms"] for e in en if e["dport"] == 7302)
print("  FIN_WAIT2 timers armed: %d..%d ms" % (armed[0], armed[-1]))
if armed[0] < 2000 or armed[-1] > 3100:
    print("  want about 3000 ms (tcp_fin_timeout)"); bad = 1
cnt = collections.Counter((e["cookie"], e["event"]) for e in en + ex)
for c in {e["cookie"] for e in en + ex}:
    if cnt[(c, "tw_enter")] != 1 or cnt[(c, "tw_exit")] != 1:
        print("  cookie %d: %d entries, %d exits" % (c, cnt[(c, "tw_enter")], cnt[(c, "tw_exit")])); bad = 1
print("  %d entries, %d exits" % (len(en), len(ex)))
# The counts in the ring: the last exit of each kind says 0 left.
if ex and ex[-1]["tw_count"] != 0:
    print("  last exit carries tw_count", ex[-1]["tw_count"]); bad = 1
sys.exit(bad)
PY
expect_nothing_missed || ok=1
exit $ok
