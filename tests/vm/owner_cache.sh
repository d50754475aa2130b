#!/bin/bash
# The owner cache forgets what it must and heals when full (owner_max=1024):
#  1. 1500 connections reset before accept() (health checks) leave no
#     entry behind: no owner is dropped for want of room, and a new
#     server's SYN_RECV->ESTABLISHED (softirq: from the cache) names it;
#  2. live idle connections fill it (1200 sockets): new owners are dropped
#     until owner_idle_s ages the idle ones out; then new owners are cached
#     again (none dropped) and named.
. tests/vm/lib.sh
ok=0
P=9830
cleanup() {
	kill $(jobs -p) 2>/dev/null; wait 2>/dev/null
	# Leave the module as the suite loaded it.
	rmmod synfin 2>/dev/null; load_module
}
trap cleanup EXIT
[ -n "$(ls /sys/module/synfin/holders 2>/dev/null)" ] && fail "module in use"
rmmod synfin && load_module owner_max=1024 || fail "reload with owner_max=1024"

stat_of() { $DEVCHECK stats | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
# The owner of a new server's child in SYN_RECV->ESTABLISHED (the ACK runs
# in softirq, so it comes from the cache, inherited from the listener):
# prints "PID SERVER-PID".
server_owner() { # PORT
	start_reader $W/co.json
	$T/tcpconn serve -p "$1" -n 1 & local s=$!
	wait_listen "$1"
	$T/tcpconn connect -p "$1" -n 1 -q
	wait $s
	settle 1
	stop_reader $READER
	echo "$(/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("old") == "SYN_RECV" and e.get("new") == "ESTABLISHED" and e.get("sport") == int(sys.argv[2]):
        print(e["pid"]); break
else:
    print("none")' $W/co.json "$1") $s"
}

# --- 1. Reset before accept(): accept() returns a child already CLOSE.
/usr/bin/python3 - $P 1500 <<'PY' || fail "reset-before-accept clients"
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()                      # RST: the child dies in the accept queue
    s, _ = srv.accept()
    s.close()
PY
settle 1
note "after 1500 resets before accept(): owners cached $(synfin_health owner_entries), dropped $(stat_of owner_dropped)"
expect_eq "owners dropped (no room)" "$(stat_of owner_dropped)" 0 || ok=1
read -r got want < <(server_owner $((P + 1)))
expect_eq "a new server's SYN_RECV->ESTABLISHED owner" "$got" "$want" || ok=1

# --- 2. A cache full of live idle connections recovers by aging.
mkfifo $W/ctl
/usr/bin/python3 tests/lib/holdconns.py $((P + 2)) $W/ctl $W/ack &
for _ in $(seq 200); do [ -s $W/ack ] && break; sleep 0.05; done
echo 600 >$W/ctl
for _ in $(seq 1200); do [ "$(cat $W/ack 2>/dev/null)" = 600 ] && break; sleep 0.05; done
expect_eq "connections held" "$(cat $W/ack)" 600 || ok=1
d0=$(stat_of owner_dropped)
note "1200 live sockets: owners cached $(synfin_health owner_entries), dropped $d0"
[ "$d0" -gt 0 ]; expect_eq "a full cache drops new owners" $? 0 || ok=1
echo 1 >/sys/module/synfin/parameters/owner_idle_s || { note "no owner_idle_s parameter"; ok=1; }
sleep 3
note "after owner_idle_s=1 and 3 s: owners cached $(synfin_health owner_entries), evicted $(synfin_health owner_evicted)"
d1=$(stat_of owner_dropped)
read -r got want < <(server_owner $((P + 3)))
expect_eq "after aging, owners dropped for a new connection" "$(( $(stat_of owner_dropped) - d1 ))" 0 || ok=1
expect_eq "after aging, a new server's SYN_RECV->ESTABLISHED owner" "$got" "$want" || ok=1
exit $ok
