#!/bin/bash
# Two readers at once each receive every event, in the same order.
. tests/vm/lib.sh
start_reader $W/a.json; ra=$READER
start_reader $W/b.json; rb=$READER
$T/tcpconn serve -p 9300 -n 100 -l 0 & srv=$!
wait_listen 9300
$T/tcpconn connect -p 9300 -n 100 -c 2 -q || fail "client failed"
wait $srv
settle
stop_reader $ra; stop_reader $rb
ok=0
a=$($EV records $W/a.json); b=$($EV records $W/b.json)
note "reader A: $a events, reader B: $b events"
[ "$a" -ge 900 ] || { note "expected at least 900 events for 100 connections"; ok=1; }
expect_eq "B == A" "$b" "$a" || ok=1
cmp -s $W/a.json $W/b.json || { note "streams differ"; diff $W/a.json $W/b.json | head; ok=1; }
expect_eq "lost" "$(( $($EV lost $W/a.json) + $($EV lost $W/b.json) ))" 0 || ok=1
exit $ok
