#!/bin/bash
# Containers must not spy on the host: a reader opened without CAP_NET_ADMIN
# (setpriv drops it from root) sees only its own network namespace's
# records and TIME_WAIT counts; module-wide statistics are refused to it
# (EPERM). A reader with the capability, opened in the initial netns,
# sees every namespace.
. tests/vm/lib.sh
ok=0
other=synfin-other-$$
ip netns add $other && ip -n $other link set lo up
trap 'ip netns del $other 2>/dev/null' EXIT
OTHERNS=$(ip netns exec $other readlink /proc/self/ns/net | tr -dc 0-9)
NOCAP="setpriv --bounding-set -net_admin --inh-caps -net_admin --"
$NOCAP grep CapEff /proc/self/status | sed 's/^/  without CAP_NET_ADMIN: /'
SYNFIN="$GLOBAL $SYNFIN" start_reader $W/all.json
before=$($DEVCHECK stats | sed 's/.*readers=\([0-9]*\).*/\1/')
$NOCAP $SYNFIN -j >$W/own.json 2>$W/own.err & nocap=$!
$DEVCHECK wait-readers $((before + 1)) 30 || fail "unprivileged reader did not open /dev/synfin"
$T/tcpconn serve -p 9801 -n 3 & s1=$!
ip netns exec $other $T/tcpconn serve -p 9802 -n 3 & s2=$!
wait_listen 9801
for _ in $(seq 100); do ip netns exec $other ss -Hltn 'sport = :9802' | grep -q . && break; sleep 0.05; done
$T/tcpconn connect -p 9801 -n 3 >/dev/null || fail "clients here"
ip netns exec $other $T/tcpconn connect -p 9802 -n 3 >/dev/null || fail "clients in the other netns"
wait $s1 $s2
settle 1
stop_reader $READER; stop_reader $nocap
nsset() { /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted({str(json.loads(l).get("netns")) for l in open(sys.argv[1]) if "netns" in l})))' "$1"; }
expect_eq "privileged reader: namespaces seen" "$(nsset $W/all.json)" "$(echo -e "$MYNS\n$OTHERNS" | sort | tr '\n' ' ' | sed 's/ $//')" || ok=1
expect_eq "reader without CAP_NET_ADMIN: namespaces seen" "$(nsset $W/own.json)" "$MYNS" || ok=1
expect_eq "its events of this netns (all of them)" "$(grep -c "\"netns\": $MYNS" $W/own.json)" "$(grep -c "\"netns\": $MYNS" $W/all.json)" || ok=1
$NOCAP $SYNFIN stats >$W/st.out 2>$W/st.err; rc=$?
expect_eq "stats without CAP_NET_ADMIN: exit" $rc 1 || ok=1
grep -q "need CAP_NET_ADMIN" $W/st.err && note "stats says: $(cat $W/st.err)" || { note "stats message: $(cat $W/st.err)"; ok=1; }
$NOCAP $SYNFIN tw -j --netns $OTHERNS >$W/twn.out 2>&1; rc=$?
expect_eq "tw --netns <other> without CAP_NET_ADMIN: exit" $rc 1 || ok=1
note "tw --netns <other> says: $(cat $W/twn.out)"
grep -q "need CAP_NET_ADMIN" $W/twn.out || ok=1
expect_eq "tw --all-netns without CAP_NET_ADMIN: namespaces listed" \
	"$($NOCAP $SYNFIN tw -j --all-netns | /usr/bin/python3 -c 'import json,sys; print(" ".join(str(n["netns"]) for n in json.load(sys.stdin)["netns"]))')" "$MYNS" || ok=1
expect_eq "tw with CAP_NET_ADMIN sees the other netns's 3" "$($GLOBAL $SYNFIN tw -j --netns $OTHERNS | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" 3 || ok=1
$NOCAP $SYNFIN metrics >$W/m.prom 2>$W/m.err; rc=$?
expect_eq "metrics without CAP_NET_ADMIN: exit" $rc 0 || { cat $W/m.err; ok=1; }
grep -q '^synfin_timewait_sockets{netns="'$MYNS'",state="time_wait"} 3$' $W/m.prom && ! grep -q '^synfin_transitions_total' $W/m.prom
expect_eq "its metrics: this netns's timewait only, no module-wide counters" $? 0 || { head -20 $W/m.prom; ok=1; }
exit $ok
