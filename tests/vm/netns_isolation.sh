#!/bin/bash
# suite-timeout: 900
# Tenants cannot see each other, whatever they hold:
#  1. root with CAP_NET_ADMIN in a netns that is not the initial one (a
#     container run with --cap-add NET_ADMIN and no user namespace) gets
#     its own netns's records only, and no module-wide statistics;
#  2. a restricted file learns nothing of other namespaces' volume: its
#     READER_STATS filtered and pending stay 0, and an overrun caused by
#     another netns counts as one loss, not as the other netns's records;
#  3. a restricted file keeps meaning the netns it was opened in after that
#     netns is deleted and a new one is made (netns inode numbers are
#     reused): it streams none of the new one's traffic.
. tests/vm/lib.sh
ok=0
other=synfin-iso-$$
NOCAP="setpriv --bounding-set -net_admin --inh-caps -net_admin --"
HOLD="/usr/bin/python3 tests/lib/devholder.py"
cleanup() {
	kill $(jobs -p) 2>/dev/null
	for n in $other $other-a $other-b $other-q; do ip netns del $n 2>/dev/null; done
}
trap cleanup EXIT
new_netns $other
OTHERNS=$(ip netns exec $other readlink /proc/self/ns/net | tr -dc 0-9)
traffic_other() { # PORT N
	ip netns exec $other $T/tcpconn serve -p "$1" -n "$2" & local s=$!
	for _ in $(seq 200); do ip netns exec $other ss -Hltn "sport = :$1" | grep -q . && break; sleep 0.05; done
	ip netns exec $other $T/tcpconn connect -p "$1" -n "$2" -q || fail "clients in $other"
	wait $s
}
# holder READY OUT [devholder args]: start one, wait until its file is open.
holder() {
	local ready=$1; shift
	rm -f "$ready"
	$HOLD "$ready" "$@" & HOLDER=$!
	for _ in $(seq 200); do [ -s "$ready" ] && return 0; sleep 0.05; done
	fail "devholder did not open /dev/synfin"
}
dump() { # PID OUT
	kill -USR1 "$1"; wait "$1"
	[ -s "$2" ] || fail "devholder wrote no report"
}
field() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d = d.get(k, {}) if isinstance(d, dict) else d
print(d if d != {} else 0)' "$1" "$2"; }

# --- 1. NET_ADMIN outside the initial netns: own netns only.
note "this netns $MYNS (not the initial one), CAP_NET_ADMIN: $(grep CapEff /proc/self/status | tr -d '\t')"
holder $W/r1 $W/h1.json
$T/tcpconn serve -p 9811 -n 2 & s=$!
wait_listen 9811
$T/tcpconn connect -p 9811 -n 2 -q || fail "clients here"
wait $s
traffic_other 9812 2
settle 1
dump $HOLDER $W/h1.json
expect_eq "root with NET_ADMIN in a non-initial netns: namespaces seen" \
	"$(/usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["by_netns"])))' $W/h1.json)" "$MYNS" || ok=1
$SYNFIN stats >$W/st.out 2>$W/st.err; rc=$?
expect_eq "stats from a non-initial netns with NET_ADMIN: exit" $rc 1 || ok=1
note "it says: $(cat $W/st.err)"
$GLOBAL $SYNFIN stats >/dev/null 2>&1
expect_eq "stats from the initial netns: exit" $? 0 || ok=1

# --- 2. Other namespaces' volume stays invisible, overrun included.
ring=$(cat /sys/module/synfin/parameters/ring_size)
cpus=$(nproc)
# Each connection makes about ten records: overrun every CPU's ring.
n=$(( ring * cpus / 8 + 100 ))
# The file is opened in a netns of its own with no traffic at all: every
# count it shows must be 0.
new_netns $other-q
ip netns exec $other-q $NOCAP $HOLD $W/r2 $W/h2.json >/dev/null 2>&1 &
HOLDER=$!
for _ in $(seq 200); do [ -s $W/r2 ] && break; sleep 0.05; done
[ -s $W/r2 ] || fail "unprivileged devholder did not start"
note "$n connections in $OTHERNS only (ring $ring x $cpus CPUs)"
traffic_other 9813 $n
settle 1
dump $HOLDER $W/h2.json
note "restricted file: $(cat $W/h2.json)"
expect_eq "its records (its netns had none)" "$(field $W/h2.json records)" 0 || ok=1
expect_eq "READER_STATS filtered" "$(field $W/h2.json reader_stats.filtered)" 0 || ok=1
expect_eq "READER_STATS pending" "$(field $W/h2.json reader_stats.pending)" 0 || ok=1
# Losses show when the file reads (and in READER_STATS after): at most one
# per ring, whatever the other netns wrote.
lost=$(( $(field $W/h2.json reader_stats.lost) + $(field $W/h2.json lost_markers_sum) ))
[ "$lost" -le $((2 * cpus)) ]
expect_eq "losses counted, not the other netns's records (got $lost for $cpus rings)" $? 0 || ok=1

# --- 3. A deleted netns's inode number comes back: the file must not follow it.
new_netns $other-a
A=$(ip netns exec $other-a readlink /proc/self/ns/net | tr -dc 0-9)
ip netns exec $other-a $NOCAP $HOLD $W/r3 $W/h3.json --setns /proc/1/ns/net >/dev/null 2>&1 &
HOLDER=$!
for _ in $(seq 200); do [ -s $W/r3 ] && break; sleep 0.05; done
[ -s $W/r3 ] || fail "devholder in $other-a did not start"
ip netns del $other-a
# The number is free once the netns is cleaned up (a worker, soon after).
B=
for _ in $(seq 50); do
	new_netns $other-b
	B=$(ip netns exec $other-b readlink /proc/self/ns/net | tr -dc 0-9)
	[ "$B" = "$A" ] && break
	ip netns del $other-b
	sleep 0.1
done
[ "$B" = "$A" ] && note "the new netns got the deleted one's inode number $A" ||
	{ new_netns $other-b 2>/dev/null; B=$(ip netns exec $other-b readlink /proc/self/ns/net | tr -dc 0-9)
	  note "netns $A not reused (the file holds it alive): new netns $B"; }
ip netns exec $other-b $T/tcpconn serve -p 9814 -n 3 & s=$!
for _ in $(seq 200); do ip netns exec $other-b ss -Hltn 'sport = :9814' | grep -q . && break; sleep 0.05; done
ip netns exec $other-b $T/tcpconn connect -p 9814 -n 3 -q || fail "clients in the new netns"
wait $s
settle 1
dump $HOLDER $W/h3.json
note "file opened in the deleted netns: $(cat $W/h3.json)"
expect_eq "records it streamed (its netns is gone: none can be its own)" "$(field $W/h3.json records)" 0 || ok=1
exit $ok
