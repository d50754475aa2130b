#!/bin/bash
# The server closes first: TIME_WAIT sits on the server's side, under its
# listening port: synfin's count for local port P == ss '( sport = :P )'.
. tests/vm/lib.sh
ok=0
P=7100
before=$(tw_port_count ports $P)
$T/tcpconn serve -p $P -n 30 -S & srv=$!
wait_listen $P
$T/tcpconn connect -p $P -n 30 -S -l 0 -q || fail "client"
wait $srv
settle 1
expect_eq "local port $P == ss sport" "$(tw_port_count ports $P)" "$(ss_count state time-wait "( sport = :$P )")" || ok=1
expect_eq "local port $P count" "$(($(tw_port_count ports $P) - before))" 30 || ok=1
expect_eq "total == sockstat tw" "$(tw_json total)" "$(sockstat_tw)" || ok=1
$SYNFIN tw -n 3 | sed 's/^/  /'
exit $ok
