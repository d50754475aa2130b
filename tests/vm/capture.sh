#!/bin/bash
# A capture written with -w replays with -r to exactly what a live reader
# printed in the same run, with no kernel involved in the replay.
. tests/vm/lib.sh
$SYNFIN -w $W/cap.bin & w=$!
$DEVCHECK wait-readers 1 30
start_reader $W/live.json
$T/tcpconn serve -6 -p 9600 -n 20 -l 0 & srv=$!
wait_listen 9600
$T/tcpconn connect -6 -p 9600 -n 20 -q
wait $srv
settle
kill -INT $w; wait $w; wrc=$?
stop_reader $READER
ok=0
expect_eq "writer exit status" "$wrc" 0 || ok=1
$SYNFIN -r $W/cap.bin -j >$W/replay.json || ok=1
expect_eq "replayed records" "$($EV records $W/replay.json)" "$($EV records $W/live.json)" || ok=1
cmp -s $W/live.json $W/replay.json || { note "replay differs from live"; diff $W/live.json $W/replay.json | head -5; ok=1; }
exit $ok
