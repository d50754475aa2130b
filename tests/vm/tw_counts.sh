#!/bin/bash
# Exact TIME_WAIT counts in two network namespaces at once, both substates:
# synfin's total == /proc/net/sockstat "tw" (both substates), its time_wait
# == `ss state time-wait`, its fin_wait2 == the orphans ss shows in
# fin-wait-2; per remote port == ss with dport; --all-netns sees both.
. tests/vm/lib.sh
new_netns twa; new_netns twb
A="ip netns exec twa"; B="ip netns exec twb"
ok=0
# netns twa: 40 connections, client closes first -> 40 TIME_WAIT.
$A $T/tcpconn serve -p 7001 -n 40 -l 0 & s1=$!
$A bash -c '. tests/vm/lib.sh; wait_listen 7001'
$A $T/tcpconn connect -p 7001 -n 40 -q || fail "client in twa"
wait $s1
# netns twb: 25 TIME_WAIT on port 7002, and 15 whose server never answers
# the FIN on port 7003 -> orphans in substate FIN_WAIT2.
$B $T/tcpconn serve -p 7002 -n 25 -l 0 & s2=$!
$B $T/tcpconn serve -p 7003 -n 15 -H & s3=$!
$B bash -c '. tests/vm/lib.sh; wait_listen 7002; wait_listen 7003'
$B $T/tcpconn connect -p 7002 -n 25 -q || fail "client 7002 in twb"
wait $s2
$B $T/tcpconn connect -p 7003 -n 15 -q || fail "client 7003 in twb"
settle 1
# What the workload made, read first: on a slow (debug) kernel the rest of
# the test takes long enough for twa's socks to reach their 60 s.
expect_eq "twa total" "$($A bash -c '. tests/vm/lib.sh; tw_json total')" 40 || ok=1
expect_eq "twb total" "$($B bash -c '. tests/vm/lib.sh; tw_json total')" 40 || ok=1
expect_eq "twb fin_wait2" "$($B bash -c '. tests/vm/lib.sh; tw_json fin_wait2')" 15 || ok=1

for ns in twa twb; do
	N="ip netns exec $ns"
	# Each count between two reads of its oracle (socks may be expiring).
	$N bash -c ". tests/vm/lib.sh; expect_total_sockstat '$ns: synfin total == sockstat tw'" || ok=1
	$N bash -c ". tests/vm/lib.sh; expect_between '$ns: synfin time_wait == ss state time-wait' \
		'tw_json time_wait' 'ss -Htan state time-wait | wc -l'" || ok=1
	$N bash -c ". tests/vm/lib.sh; expect_between '$ns: synfin fin_wait2 == ss state fin-wait-2' \
		'tw_json fin_wait2' 'ss -Htan state fin-wait-2 | wc -l'" || ok=1
	cat <($N cat /proc/net/synfin_tw) | head -4 | sed "s/^/  $ns \/proc\/net\/synfin_tw: /"
done
for p in 7002 7003; do
	expect_eq "twb: remote port $p == ss dport" \
		"$($B bash -c ". tests/vm/lib.sh; tw_port_count remote_ports $p")" \
		"$($B ss -Htan state time-wait state fin-wait-2 "( dport = :$p )" | wc -l)" || ok=1
done
# This test's own netns has none of them; --all-netns lists both, and its
# total is the sum over every netns it lists.
expect_eq "own netns total" "$(tw_json total)" 0 || ok=1
# On a slow (debug) kernel twa's socks may reach their 60 s by now: each
# listed count must lie between sockstat's just before and just after.
ns_tw() { ip netns exec "$1" bash -c '. tests/vm/lib.sh; sockstat_tw'; }
before="$(ns_tw twa) $(ns_tw twb)"
all=$($GLOBAL $SYNFIN tw -j --all-netns | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
ns = {n["netns"]: n["total"] for n in d["netns"]}
print(ns.get(int(sys.argv[1]), 0), ns.get(int(sys.argv[2]), 0), d["total"] == sum(ns.values()))' \
	"$(ip netns exec twa readlink /proc/self/ns/net | tr -dc 0-9)" \
	"$(ip netns exec twb readlink /proc/self/ns/net | tr -dc 0-9)")
after="$(ns_tw twa) $(ns_tw twb)"
if [ "$before" = "40 40" ] && [ "$after" = "40 40" ]; then
	expect_eq "--all-netns (twa, twb, total is the sum)" "$all" "40 40 True" || ok=1
else
	note "expiring meanwhile: sockstat tw (twa twb) $before before, $after after"
	read -r ga gb sum <<<"$all"; read -r ba bb <<<"$before"; read -r aa ab <<<"$after"
	if [ "$sum" = True ] && [ "$ga" -le "$ba" ] && [ "$ga" -ge "$aa" ] &&
		[ "$gb" -le "$bb" ] && [ "$gb" -ge "$ab" ]; then
		note "--all-netns (twa, twb, total is the sum): $all, within sockstat's"
	else
		note "--all-netns (twa, twb, total is the sum): got '$all', outside sockstat's"; ok=1
	fi
fi
kill $s3; wait $s3 2>/dev/null
ip netns del twa; ip netns del twb
expect_nothing_missed || ok=1
exit $ok
