#!/bin/bash
# Smoke test, both hook modes in one boot (CI runs it on every kernel):
# load with hook=MODE, tail eleven connections' exact transitions, each
# leaving a timewait socket, and compare synfin's count with /proc/net/sockstat and
# ss, unload. Leaves the module loaded with the lab's parameters.
. tests/vm/lib.sh
ok=0
port=9400
for mode in tracepoint kprobe; do
	rmmod synfin 2>/dev/null
	load_module hook=$mode || fail "insmod hook=$mode"
	expect_eq "$mode: hook in use" "$(cat /sys/module/synfin/parameters/hook)" $mode || ok=1
	port=$((port + 1))
	tw0=$(sockstat_tw)	# 5.10 cannot kill the last mode's: count from here
	start_reader $W/$mode.json
	$T/tcpconn serve -p $port -n 11 -l 400 & srv=$!
	wait_listen $port
	$T/tcpconn connect -p $port -n 1 >$W/client.out || fail "$mode: client failed"
	$T/tcpconn connect -p $port -n 10 -c 10 >/dev/null || fail "$mode: clients failed"
	wait $srv || fail "$mode: server failed"
	settle 1
	stop_reader $READER
	grep -q '"lost"' $W/$mode.json && { note "$mode: lost records"; ok=1; }
	$EV seq $W/$mode.json --remote-port $port --family inet >$W/seq
	expect_eq "$mode: client connections seen" "$(wc -l <$W/seq)" 11 || ok=1
	expect_eq "$mode: every client's sequence" "$(sort -u $W/seq)" \
		"CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 tw_enter:FIN_WAIT2>TIME_WAIT/FIN_WAIT2 FIN_WAIT2>CLOSE tw:FIN_WAIT2>TIME_WAIT" || ok=1
	expect_eq "$mode: synfin tw total == sockstat tw" "$(tw_json total)" "$(sockstat_tw)" || ok=1
	expect_eq "$mode: synfin time_wait == ss state time-wait" "$(tw_json time_wait)" "$(ss_count state time-wait)" || ok=1
	expect_eq "$mode: timewait sockets made" "$(($(tw_json total) - tw0))" 11 || ok=1
	rmmod synfin || { note "$mode: rmmod failed"; ok=1; }
done
load_module || fail "reload with the lab's parameters"
exit $ok
