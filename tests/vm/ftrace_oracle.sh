#!/bin/bash
# 1000 connections: synfin delivers exactly what ftrace's trace_pipe shows
# for sock:inet_sock_set_state with protocol == IPPROTO_TCP, per transition,
# and loses nothing.
. tests/vm/lib.sh
N=${N:-1000}
TR=/sys/kernel/tracing
# `ip netns exec` gives the test a fresh /sys without tracefs: mount it here
# (a private mount namespace). The oracle must run: a missing event fails.
mountpoint -q $TR || mount -t tracefs tracefs $TR || fail "cannot mount tracefs"
[ -d $TR/events/sock/inet_sock_set_state ] || fail "no tracefs event sock/inet_sock_set_state"

echo 16384 >$TR/buffer_size_kb
echo 'protocol == 6' >$TR/events/sock/inet_sock_set_state/filter
echo >$TR/trace
cat $TR/trace_pipe >$W/ftrace.txt & tp=$!
echo 1 >$TR/events/sock/inet_sock_set_state/enable
start_reader $W/ev.json

$T/tcpconn serve -p 9200 -n $N -l 0 & srv=$!
wait_listen 9200
$T/tcpconn connect -p 9200 -n $N -c 4 -q || fail "client failed"
wait $srv || fail "server failed"
settle 1
echo 0 >$TR/events/sock/inet_sock_set_state/enable
stop_reader $READER
settle 1
kill $tp; wait $tp 2>/dev/null

ok=0
overrun=$(cat $TR/per_cpu/cpu*/stats | awk '/^overrun/ {s += $2} END {print s+0}')
expect_eq "ftrace overrun (oracle valid)" "$overrun" 0 || ok=1
fcount=$(grep -c 'protocol=IPPROTO_TCP' $W/ftrace.txt)
scount=$($EV count $W/ev.json)
note "ftrace events: $fcount, synfin events: $scount"
[ "$fcount" -ge $((N * 9)) ] || { note "ftrace saw fewer than 9 events per connection"; ok=1; }
expect_eq "synfin count == ftrace count" "$scount" "$fcount" || ok=1
expect_eq "lost" "$($EV lost $W/ev.json)" 0 || ok=1
$EV ftrace-transitions $W/ftrace.txt >$W/ft.tr
$EV transitions $W/ev.json >$W/sf.tr
if ! diff -u $W/ft.tr $W/sf.tr; then note "per-transition counts differ (ftrace vs synfin)"; ok=1; fi
note "per transition: $(tr '\n' ' ' <$W/sf.tr)"
exit $ok
