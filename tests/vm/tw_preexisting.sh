#!/bin/bash
# Loaded while sockets are already in timewait: counted by the load-time
# walk, so the counts equal sockstat at once; their exits say so.
. tests/vm/lib.sh
ok=0
rmmod synfin || fail "rmmod"
$T/tcpconn serve -p 7401 -n 25 -l 0 & srv=$!
wait_listen 7401
$T/tcpconn connect -p 7401 -n 25 -q || fail "client"
wait $srv
settle
want=$(sockstat_tw)
load_module || fail "insmod"
expect_eq "synfin total right after load == sockstat tw" "$(tw_json total)" "$want" || ok=1
expect_eq "== ss state time-wait" "$(tw_json time_wait)" "$(ss_count state time-wait)" || ok=1
[ "$want" -ge 25 ] || { note "expected 25 timewait sockets, sockstat says $want"; ok=1; }
note "$(dmesg | grep 'synfin: counted' | tail -1 | sed 's/.*synfin: //')"
start_reader $W/ev.json
ss -K state time-wait "( dport = :7401 )" >/dev/null
settle
stop_reader $READER
# Other tests may have left timewait socks of their own: compare, don't assume.
expect_eq "total after ss -K == sockstat tw" "$(tw_json total)" "$(sockstat_tw)" || ok=1
expect_eq "killed" "$((want - $(tw_json total)))" 25 || ok=1
n=$(grep -c '"event": "tw_exit".*"reason": "destroyed".*"entered_before_load": true' $W/ev.json)
expect_eq "exits marked entered_before_load" "$n" 25 || ok=1
exit $ok
