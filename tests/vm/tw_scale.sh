#!/bin/bash
# Scale: N timewait sockets alive at once (default 100000, env TW_SCALE_N),
# made by two single-process loops over 16 source addresses each (ports do
# not run out), fast enough that none has expired (60 s) when the last is
# made. Then, at one instant (tests/tools/twbench check): synfin total ==
# /proc/net/sockstat tw, synfin time_wait == the inet_diag dump ss uses;
# per remote port and per peer add up; nothing untracked.
. tests/vm/lib.sh
N=${TW_SCALE_N:-100000}
ok=0
# tcp_tw_reuse off: on loopback (default 2) connect() would take over
# timewait tuples to pick its port, and they would not all stay alive.
sysctl -qw net.ipv4.tcp_max_tw_buckets=$((N * 2)) net.ipv4.ip_local_port_range="10000 60999" \
	net.ipv4.tcp_tw_reuse=0
base=$(sockstat_tw)
start=$SECONDS
$T/tcpconn loop -p 7501 -n $((N / 2)) -B 16 & a=$!
$T/tcpconn loop -p 7502 -n $((N - N / 2)) -B 16 & b=$!
wait $a || fail "loop 7501"
wait $b || fail "loop 7502"
took=$((SECONDS - start))
$T/twbench check >$W/check; rc=$?
note "$N connections in $took s; $(cat $W/check)"
[ $rc -eq 0 ] || ok=1
alive=$(($(sed 's/.*sockstat tw=\([0-9]*\).*/\1/' $W/check) - base))
if [ $alive -lt $N ] && [ $took -ge 59 ]; then
	# Honest about a slow machine: the counts above still had to agree.
	[ $ok -eq 0 ] && skip "making $N connections took $took s: the oldest had expired (60 s) before the check, $alive alive; the counts agreed"
fi
expect_eq "new timewait sockets alive at the check (none expired)" "$alive" "$N" || ok=1
for p in 7501 7502; do
	expect_eq "remote port $p" "$(tw_port_count remote_ports $p)" $(( p == 7501 ? N / 2 : N - N / 2 )) || ok=1
done
$SYNFIN tw -j -n 4096 | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print("  peers:", [(p["addr"], p["count"]) for p in d["peers"]][:3], "overflow:", d["overflow"],
      "distinct local ports:", len(d["ports"]))'
expect_eq "untracked (no node free)" "$($T/devcheck stats | sed 's/.*tw_untracked=\([0-9]*\).*/\1/')" 0 || ok=1
sysctl -qw net.ipv4.tcp_tw_reuse=2
exit $ok
