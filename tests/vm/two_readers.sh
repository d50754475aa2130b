#!/bin/bash
# Two readers at once each receive every event, in the same order: time
# order across CPUs, whichever moments each one happens to read at.
. tests/vm/lib.sh
start_reader $W/a.json; ra=$READER
start_reader $W/b.json; rb=$READER
$T/tcpconn serve -p 9300 -n 200 -l 0 & srv=$!
wait_listen 9300
# Two clients at once: both CPUs make records, so the merge has to choose.
$T/tcpconn connect -p 9300 -n 100 -c 2 -q & c1=$!
$T/tcpconn connect -p 9300 -n 100 -c 2 -q || fail "client failed"
wait $c1 || fail "client failed"
wait $srv
settle
stop_reader $ra; stop_reader $rb
ok=0
a=$($EV records $W/a.json); b=$($EV records $W/b.json)
note "reader A: $a events, reader B: $b events"
[ "$a" -ge 1800 ] || { note "expected at least 1800 events for 200 connections"; ok=1; }
expect_eq "B == A" "$b" "$a" || ok=1
expect_eq "A out of time order" "$($EV unordered $W/a.json 2>/dev/null)" 0 || { $EV unordered $W/a.json >/dev/null; ok=1; }
expect_eq "B out of time order" "$($EV unordered $W/b.json 2>/dev/null)" 0 || { $EV unordered $W/b.json >/dev/null; ok=1; }
cmp -s $W/a.json $W/b.json || { note "streams differ"; diff $W/a.json $W/b.json | head; ok=1; }
expect_eq "lost" "$(( $($EV lost $W/a.json) + $($EV lost $W/b.json) ))" 0 || ok=1
exit $ok
