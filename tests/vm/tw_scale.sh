#!/bin/bash
# Scale: N timewait sockets (default 100000, env TW_SCALE_N), spread over
# many 127.1.x.y source addresses so ports do not run out. The counts stay
# exact: synfin total == /proc/net/sockstat tw == ss state time-wait, and
# per remote port and per peer add up. Timings are printed, not asserted
# (scripts/bench-tw compares them side by side).
. tests/vm/lib.sh
N=${TW_SCALE_N:-100000}
ok=0
sysctl -qw net.ipv4.tcp_max_tw_buckets=$((N * 2)) net.ipv4.ip_local_port_range="10000 60999"
base=$(sockstat_tw)
start=$SECONDS
$T/tcpconn serve -p 7501 -n $N -l 0 & srv=$!
wait_listen 7501
$T/tcpconn connect -p 7501 -n $N -c 4 -B 8 -q || fail "client"
wait $srv
settle 1
note "$N connections in $((SECONDS - start)) s"
t0=$(date +%s%N); total=$(tw_json total); t1=$(date +%s%N)
sock=$(sockstat_tw); t2=$(date +%s%N)
sst=$(ss_count state time-wait); t3=$(date +%s%N)
note "synfin tw -j: $(( (t1 - t0) / 1000000 )) ms, sockstat: $(( (t2 - t1) / 1000000 )) ms, ss: $(( (t3 - t2) / 1000000 )) ms"
expect_eq "synfin total == sockstat tw" "$total" "$sock" || ok=1
expect_eq "synfin time_wait == ss state time-wait" "$(tw_json time_wait)" "$sst" || ok=1
expect_eq "new timewait sockets" "$((total - base))" "$N" || ok=1
expect_eq "remote port 7501" "$(tw_port_count remote_ports 7501)" "$N" || ok=1
peers=$($SYNFIN tw -j -n 4096 | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len([p for p in d["peers"] if p["addr"] == "127.0.0.1"]), sum(p["count"] for p in d["peers"]), d["overflow"])')
note "peers: $peers"
expect_eq "untracked (no node free)" "$($T/devcheck stats | sed 's/.*tw_untracked=\([0-9]*\).*/\1/')" 0 || ok=1
exit $ok
