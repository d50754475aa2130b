#!/bin/bash
# The viewer's live commands on real traffic: stats (-j keys; transition
# counts grow by exactly the connections made), metrics (strict exposition
# format, tw == /proc/net/sockstat, --textfile atomic), tw --advise (this
# host's port range and the dominant port, client and server side), tw
# --watch (snapshots until SIGINT, exit 0), tw --netns (== tw run there).
. tests/vm/lib.sh
PY=/usr/bin/python3
ok=0
N=5
P=9310
PROMCHECK="$PY tests/lib/promcheck.py"
# Module-wide series need the all-namespaces view (the initial netns);
# --all-netns then lists this test's netns with the others.
METRICS="$GLOBAL $SYNFIN metrics --all-netns"
trap 'ip netns del vls 2>/dev/null; ip netns del vln 2>/dev/null; rm -rf "$W"' EXIT

$PROMCHECK --self-test >$W/self 2>&1 || { cat $W/self; ok=1; }

# --- stats -j before and after N connections in this (fresh) netns.
$GLOBAL $SYNFIN stats -j >$W/stats0.json || fail "stats -j"
$T/tcpconn serve -p $P -n $N & srv=$!
wait_listen $P
$T/tcpconn connect -p $P -n $N -q || fail "client"
wait $srv || fail "server"
settle 1
$GLOBAL $SYNFIN stats -j >$W/stats1.json || fail "stats -j (after)"
want_hook=$(echo "${SYNFIN_PARAMS:-}" | sed -n 's/.*hook=\([a-z]*\).*/\1/p')
deltas=$($PY - $W/stats0.json $W/stats1.json "${want_hook:-tracepoint|kprobe}" <<'PY'
import json, re, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
need = {"events", "delivered", "lost", "readers", "transitions", "seen", "filtered",
        "lost_by_reason", "ring_size", "cpus", "ring_fill", "hook", "tw_enter", "tw_exit",
        "tw_untracked", "owner_dropped"}
for d in (a, b):
    assert need <= set(d), need - set(d)
    assert all(isinstance(d[k], int) for k in need - {"transitions", "lost_by_reason", "hook", "tw_exit"})
    assert all(v > 0 for v in d["transitions"].values()), "zero transition listed"
    assert all(re.fullmatch(r"[A-Z_0-9]+>[A-Z_0-9]+", k) for k in d["transitions"])
    assert set(d["tw_exit"]) == {"unknown", "expired", "recycled", "rst", "reused", "netns", "segment", "destroyed"}
    assert "overrun" in d["lost_by_reason"] and d["lost"] == sum(d["lost_by_reason"].values())
    assert d["ring_fill"] == min(d["events"], d["ring_size"] * d["cpus"])
    assert re.fullmatch(sys.argv[3], d["hook"]), d["hook"]
    assert d["readers"] >= 1   # stats' own open file
t0, t1 = a["transitions"], b["transitions"]
keys = ["CLOSE>SYN_SENT", "SYN_SENT>ESTABLISHED", "SYN_RECV>ESTABLISHED", "ESTABLISHED>FIN_WAIT1",
        "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSE", "CLOSE>LISTEN", "LISTEN>CLOSE"]
print(" ".join("%s+%d" % (k, t1.get(k, 0) - t0.get(k, 0)) for k in keys),
      "tw_enter+%d" % (b["tw_enter"] - a["tw_enter"]))
PY
) || { echo "$deltas"; fail "stats -j keys"; }
note "stats -j has the keys, hook ${want_hook:-any}, ring_fill = min(events, ring)"
expect_eq "stats -j transition deltas for $N connections" "$deltas" \
	"CLOSE>SYN_SENT+$N SYN_SENT>ESTABLISHED+$N SYN_RECV>ESTABLISHED+$N ESTABLISHED>FIN_WAIT1+$N ESTABLISHED>CLOSE_WAIT+$N CLOSE_WAIT>LAST_ACK+$N LAST_ACK>CLOSE+$N CLOSE>LISTEN+1 LISTEN>CLOSE+1 tw_enter+$N" || ok=1
$GLOBAL $SYNFIN stats >$W/stats.txt || ok=1
grep -q "^events by transition:" $W/stats.txt && grep -Eq "^  SYN_SENT +-> ESTABLISHED +[0-9]+$" $W/stats.txt
expect_eq "stats table has the transition rows" $? 0 || { cat $W/stats.txt; ok=1; }

# --- metrics: strict format; this netns's tw == sockstat.
$METRICS >$W/m.prom 2>$W/m.err || { cat $W/m.err; fail "metrics"; }
$PROMCHECK $W/m.prom >$W/pc 2>&1
expect_eq "metrics passes promcheck" $? 0 || { cat $W/pc; ok=1; }
# ... and parsed by the Prometheus project's own parser (python3-prometheus-client).
$PY - $W/m.prom >$W/pp 2>&1 <<'PYEOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ["synfin_timewait_sockets", "synfin_transitions", "synfin_events_lost"]
missing = [n for n in need if n not in fams]
assert not missing, missing
print("  prometheus_client parsed %d families, %d samples" % (len(fams), sum(len(f.samples) for f in fams.values())))
PYEOF
rc=$?; cat $W/pp; expect_eq "prometheus_client parses metrics" $rc 0 || ok=1
sample() { sed -n "s/^$1 //p" "${2:-$W/m.prom}"; }
expect_eq "synfin_timewait_sockets_all == sockstat tw" \
	"$(sample "synfin_timewait_sockets_all{netns=\"$MYNS\"}")" "$(sockstat_tw)" || ok=1
expect_eq "remote port $P series" \
	"$(sample "synfin_timewait_port_sockets{netns=\"$MYNS\",side=\"remote\",port=\"$P\"}")" $N || ok=1
grep -q '^synfin_transitions_total{from="SYN_SENT",to="ESTABLISHED"} [1-9]' $W/m.prom
expect_eq "synfin_transitions_total{SYN_SENT,ESTABLISHED} present" $? 0 || ok=1
$GLOBAL $SYNFIN metrics --all-netns -n 2 >$W/mall.prom && $PROMCHECK $W/mall.prom >$W/pc 2>&1
expect_eq "metrics --all-netns -n 2 passes promcheck" $? 0 || { cat $W/pc; ok=1; }

# --- --textfile: same series, nothing printed, no temp file, replaced by
# rename (new inode), readers never see a partial file.
mkdir $W/tf
echo stale >$W/tf/synfin.prom
ino0=$(stat -c %i $W/tf/synfin.prom)
$METRICS --textfile $W/tf/synfin.prom >$W/tf.out 2>&1; rc=$?
expect_eq "--textfile exit, output" "$rc $(wc -c <$W/tf.out)" "0 0" || ok=1
expect_eq "--textfile leaves only the file" "$(ls $W/tf)" synfin.prom || ok=1
[ "$(stat -c %i $W/tf/synfin.prom)" != "$ino0" ]; expect_eq "--textfile replaced by rename" $? 0 || ok=1
$PROMCHECK $W/tf/synfin.prom >$W/pc 2>&1; expect_eq "--textfile passes promcheck" $? 0 || { cat $W/pc; ok=1; }
$METRICS >$W/m2.prom
# Counters of other netns may move between two runs: compare the series
# (names and labels), and this netns's timewait values exactly.
expect_eq "--textfile has the same series as stdout" \
	"$(sed 's/ [^ ]*$//' $W/tf/synfin.prom | md5sum)" "$(sed 's/ [^ ]*$//' $W/m2.prom | md5sum)" || ok=1
expect_eq "--textfile has the same timewait values" \
	"$(grep "netns=\"$MYNS\"" $W/tf/synfin.prom | md5sum)" "$(grep "netns=\"$MYNS\"" $W/m2.prom | md5sum)" || ok=1
# A reader polls while the file is rewritten 20 times: every read is whole
# (ends with the last series written, synfin_timewait_reconciles_total).
( for _ in $(seq 20); do $METRICS --textfile $W/tf/synfin.prom || exit 1; done ) & wr=$!
torn=0 reads=0
while kill -0 $wr 2>/dev/null; do
	tail -1 $W/tf/synfin.prom | grep -q '^synfin_timewait_reconciles_total [0-9]*$' || torn=$((torn + 1))
	reads=$((reads + 1))
done
wait $wr; rc=$?
expect_eq "20 rewrites (exit $rc), torn reads out of $reads" "$rc $torn" "0 0" || ok=1
expect_eq "no temp file after rewrites" "$(ls $W/tf)" synfin.prom || ok=1
$METRICS --textfile $W/nodir/x.prom >$W/tf.out 2>$W/tf.err; rc=$?
expect_eq "--textfile into a missing dir: exit, stdout, stderr lines" \
	"$rc $(wc -c <$W/tf.out) $(wc -l <$W/tf.err)" "1 0 1" || ok=1
note "  $(cat $W/tf.err)"
mkfifo $W/tf/fifo
$METRICS --textfile $W/tf/fifo 2>$W/tf.err; rc=$?
[ -p $W/tf/fifo ]; expect_eq "--textfile refuses a non-regular file (exit, still a fifo)" "$rc $?" "1 0" || ok=1
expect_eq "no temp file after errors" "$(cd $W/tf && echo *)" "fifo synfin.prom" || ok=1

# --- tw --advise: this host's port range and the dominant remote port.
# On a slow (debug) kernel the first connections' 60 s can be over by now:
# make them again, so that there is something to advise on.
if [ "$(sockstat_tw)" -lt $N ]; then
	note "only $(sockstat_tw) in timewait before --advise (slow kernel): making $N anew"
	for _ in $(seq 60); do [ "$(sockstat_tw)" = 0 ] && break; sleep 1; done
	$T/tcpconn serve -p $P -n $N & srv=$!
	wait_listen $P
	$T/tcpconn connect -p $P -n $N -q || fail "client (again)"
	wait $srv
	settle 1
fi
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
$SYNFIN tw --advise >$W/adv.txt || { cat $W/adv.txt; ok=1; }
grep -q "$lo-$hi" $W/adv.txt && grep -q "$((hi - lo + 1))" $W/adv.txt
expect_eq "advise shows the port range $lo-$hi ($((hi - lo + 1)) ports)" $? 0 || ok=1
grep -q "client that closes first: $N of $N .* remote port $P" <(tr '\n' ' ' <$W/adv.txt | tr -s ' ')
expect_eq "advise names the client side and remote port $P" $? 0 || { cat $W/adv.txt; ok=1; }
ovf=$(tcpext | sed -n 's/^TCPTimeWaitOverflow //p')
grep -q "^TcpExt TCPTimeWaitOverflow: $ovf$" $W/adv.txt
expect_eq "advise shows TCPTimeWaitOverflow ($ovf)" $? 0 || ok=1
$SYNFIN tw --advise -j >$W/adv.json
adv=$($PY - $W/adv.json "$lo" "$hi" "$(sockstat_tw)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lo, hi, tw = map(int, sys.argv[2:5])
s = d["sysctls"]
assert s["ip_local_port_range"] == [lo, hi], s
assert s["tcp_tw_reuse"] == int(open("/proc/sys/net/ipv4/tcp_tw_reuse").read())
assert s["tcp_max_tw_buckets"] == int(open("/proc/sys/net/ipv4/tcp_max_tw_buckets").read())
assert s["tcp_fin_timeout"] == int(open("/proc/sys/net/ipv4/tcp_fin_timeout").read())
assert d["counts"]["total"] == tw, (d["counts"], tw)
assert d["advice"] and all(a["level"] in ("info", "warn") and a["text"] for a in d["advice"])
print("ok", len(d["advice"]))
PY
)
expect_eq "advise -j parses, sysctls and counts match /proc" "${adv%% *}" ok || { echo "$adv"; ok=1; }
# The server side: the server closes first, TIME_WAIT on its port.
new_netns vls
ip netns exec vls $T/tcpconn serve -p 9320 -n $N -S & srv=$!
ip netns exec vls bash -c '. tests/vm/lib.sh; wait_listen 9320'
ip netns exec vls $T/tcpconn connect -p 9320 -n $N -S -l 0 -q || fail "client (server closes)"
wait $srv
settle 1
ip netns exec vls $SYNFIN tw --advise >$W/adv2.txt
grep -q "closes first as a server: $N of $N .* local port 9320" <(tr '\n' ' ' <$W/adv2.txt | tr -s ' ')
expect_eq "advise names the server side and local port 9320" $? 0 || { cat $W/adv2.txt; ok=1; }
$SYNFIN tw --advise --all-netns >/dev/null 2>&1; rc=$?
expect_eq "--advise --all-netns: usage error" $rc 2 || ok=1

# --- tw --watch 1 until SIGINT: exit 0, at least 2 snapshots.
timeout --preserve-status -s INT 3 $SYNFIN tw --watch 1 >$W/watch.txt; rc=$?
expect_eq "tw --watch 1: exit after SIGINT" $rc 0 || ok=1
n=$(grep -c "^netns $MYNS: " $W/watch.txt)
[ "$n" -ge 2 ]; expect_eq "tw --watch 1: >= 2 snapshots ($n)" $? 0 || ok=1
grep -q $'\033' $W/watch.txt; expect_eq "no escape codes when not a terminal" $? 1 || ok=1
timeout --preserve-status -s INT 3 $SYNFIN tw --watch 1 -j >$W/watch.json; rc=$?
n=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["netns"] == int(sys.argv[2])))' $W/watch.json "$MYNS")
[ "$rc" = 0 ] && [ "$n" -ge 2 ]; expect_eq "tw --watch 1 -j: exit $rc, $n JSON lines" $? 0 || ok=1

# --- tw --netns: this netns == plain tw; another netns == tw run inside it.
expect_eq "tw -j --netns $MYNS == tw -j" "$($GLOBAL $SYNFIN tw -j --netns "$MYNS")" "$($SYNFIN tw -j)" || ok=1
VLS=$(ip netns exec vls readlink /proc/self/ns/net | tr -dc 0-9)
expect_eq "tw -j --netns (vls) == tw -j inside vls" \
	"$($GLOBAL $SYNFIN tw -j --netns "$VLS")" "$(ip netns exec vls $SYNFIN tw -j)" || ok=1
SYNFIN="$GLOBAL $SYNFIN" tw_json total --netns "$VLS" >$W/t; expect_eq "tw --netns (vls) total" "$(cat $W/t)" $N || ok=1
new_netns vln
VLN=$(ip netns exec vln readlink /proc/self/ns/net | tr -dc 0-9)
$GLOBAL $SYNFIN tw --netns "$VLN" >$W/empty.txt; rc=$?
grep -q "no timewait sockets in netns $VLN" $W/empty.txt
expect_eq "tw --netns of an idle netns: exit, hint" "$rc $?" "0 0" || { cat $W/empty.txt; ok=1; }

# --- Every live command's -j against docs/synfin.schema.json (and its type).
$SYNFIN tw -j >$W/s-tw.json
$GLOBAL $SYNFIN tw -j --all-netns >$W/s-all.json
timeout 60 $SYNFIN -j -c 3 >$W/s-ev.json & vpid=$!
sleep 1; $T/tcpconn serve -p 9391 -n 1 & srv=$!; wait_listen 9391
$T/tcpconn connect -p 9391 -n 1 >/dev/null; wait $srv; wait $vpid
for f in stats0:stats s-tw:tw s-all:tw_all adv:advice watch:tw s-ev:event,lost; do
	out=$(/usr/bin/python3 tests/lib/jsoncheck.py --type "${f#*:}" "$W/${f%%:*}.json" 2>&1)
	expect_eq "schema: ${f%%:*}.json (${f#*:})" "$out" "" || ok=1
done
exit $ok
