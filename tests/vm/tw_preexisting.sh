#!/bin/bash
# Loaded while sockets are already in timewait: counted by the load-time
# walk, so the counts equal sockstat at once; their exits say so. They are
# made in a namespace of their own, which is then deleted (a way out every
# kernel has), so each exit can be checked.
. tests/vm/lib.sh
ok=0
rmmod synfin || fail "rmmod"
new_netns twpre
P="ip netns exec twpre"
$P $T/tcpconn serve -p 7401 -n 25 -l 0 & srv=$!
$P bash -c '. tests/vm/lib.sh; wait_listen 7401'
$P $T/tcpconn connect -p 7401 -n 25 -q || fail "client"
wait $srv
settle
want=$($P bash -c '. tests/vm/lib.sh; sockstat_tw')
load_module || fail "insmod"
expect_eq "synfin total right after load == sockstat tw" \
	"$($P bash -c '. tests/vm/lib.sh; tw_json total')" "$want" || ok=1
expect_eq "== ss state time-wait" "$($P bash -c '. tests/vm/lib.sh; tw_json time_wait')" \
	"$($P ss -Htan state time-wait | wc -l)" || ok=1
expect_eq "timewait sockets in the namespace" "$want" 25 || ok=1
note "$(dmesg | grep 'synfin: counted' | tail -1 | sed 's/.*synfin: //')"
# Exits in a deleted netns are that netns's records: the all-namespaces view.
SYNFIN="$GLOBAL $SYNFIN" start_reader $W/ev.json
ip netns del twpre
wait_netns_exits $W/ev.json 7401 25
settle
stop_reader $READER
n=$(grep -c '"event": "tw_exit".*"dport": 7401, .*"reason": "netns".*"entered_before_load": true' $W/ev.json)
expect_eq "exits marked entered_before_load (reason netns)" "$n" 25 || ok=1
exit $ok
