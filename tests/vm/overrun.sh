#!/bin/bash
# A reader that stops reading while events flood a small ring is told
# exactly how many it lost: recorded == delivered + lost, and a LOST marker
# comes in-stream. Producers never wait for it.
. tests/vm/lib.sh
rmmod synfin && load_module ring_size=64 || fail "reload with ring_size=64"
ok=0
before=$($DEVCHECK stats | sed 's/.*recorded=\([0-9]*\).*/\1/')
# Exact loss counts are the all-namespaces view's (a file restricted to
# one netns counts one per loss: it must not learn the others' volume).
SYNFIN="$GLOBAL $SYNFIN" start_reader $W/ev.json
kill -STOP $READER
$T/tcpconn serve -p 9500 -n 100 -l 0 & srv=$!
wait_listen 9500
$T/tcpconn connect -p 9500 -n 100 -q || fail "client"
wait $srv
settle
after=$($DEVCHECK stats | sed 's/.*recorded=\([0-9]*\).*/\1/')
kill -CONT $READER
settle 1
stop_reader $READER
produced=$((after - before))
got=$($EV records $W/ev.json); lost=$($EV lost $W/ev.json)
note "produced $produced, delivered $got, lost $lost (ring: 64 per CPU)"
expect_eq "delivered + lost == produced" "$((got + lost))" "$produced" || ok=1
[ "$lost" -gt 0 ] || { note "expected losses with a 64-record ring"; ok=1; }
[ "$got" -le 128 ] || { note "delivered more than the ring holds"; ok=1; }
grep -q '^{"type": "lost", "schema": 1, "lost": ' $W/ev.json || { note "no lost marker in the stream"; ok=1; }
rmmod synfin && load_module || fail "reload with defaults"
exit $ok
