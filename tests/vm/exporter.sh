#!/bin/bash
# suite-timeout: 600
# synfin metrics --listen under a real Prometheus (Debian's), scraping it
# every second while real traffic runs: what Prometheus stored equals the
# kernel's truth (TIME_WAIT == /proc/net/sockstat tw, connection counts ==
# connections made, synfin_up 1); promtool accepts a scrape; the series
# count stays flat while a client makes thousands of connections from
# ephemeral ports; a flood of concurrent scrapes is served and loses no
# events; SIGTERM ends it at once, exit 0.
#
# Two exporters, in the initial netns. One with --netns of this test's
# netns: it observes this netns's connections only, so its counts are
# exact (Prometheus's own connections, to it and from the queries, are in
# the initial netns). One of every netns, as the systemd unit runs it:
# promtool, the flood, SIGTERM.
. tests/vm/lib.sh
PY=/usr/bin/python3
ok=0
EXP=127.0.0.1:29117		# this netns's exporter
HOSTEXP=127.0.0.1:29118		# every netns
PROM=127.0.0.1:19090
P=9410
N=1000	# connections per round; two rounds
Q="$GLOBAL $PY tests/lib/promquery.py http://$PROM"
exp= hexp= prom=
cleanup() {
	[ -n "$prom" ] && kill "$prom" 2>/dev/null && wait "$prom" 2>/dev/null
	[ -n "$exp" ] && kill "$exp" 2>/dev/null && wait "$exp" 2>/dev/null
	[ -n "$hexp" ] && kill "$hexp" 2>/dev/null && wait "$hexp" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
for c in prometheus promtool; do
	command -v $c >/dev/null || fail "$c is not installed (scripts/lab installs Debian's prometheus on the host)"
done
sample() { sed -n "s/^$1 //p" "$2"; }
wait_http() { # URL FILE
	for _ in $(seq 150); do curl -sf "$1" >"$2" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# --- The host's exporter, as the unit runs it: promtool on its scrape.
$GLOBAL $SYNFIN metrics --listen $HOSTEXP --all-netns >$W/hexp.out 2>$W/hexp.err & hexp=$!
$GLOBAL bash -c "$(declare -f wait_http); wait_http http://$HOSTEXP/metrics $W/h0.prom" ||
	{ cat $W/hexp.err; fail "the exporter did not answer on $HOSTEXP"; }
promtool check metrics <$W/h0.prom >$W/pt 2>&1
expect_eq "promtool check metrics on a scrape" $? 0 || { cat $W/pt; ok=1; }
$PY tests/lib/promcheck.py $W/h0.prom >$W/pc 2>&1
expect_eq "promcheck.py on a scrape" $? 0 || { cat $W/pc; ok=1; }
expect_eq "synfin_up in a scrape" "$(sample synfin_up $W/h0.prom)" 1 || ok=1
note "$(grep -vc '^#' $W/h0.prom) samples in a scrape of every netns"

# --- This netns's exporter, and Prometheus scraping it every second.
$GLOBAL $SYNFIN metrics --listen $EXP --netns $MYNS >$W/exp.out 2>$W/exp.err & exp=$!
$GLOBAL bash -c "$(declare -f wait_http); wait_http http://$EXP/metrics $W/s0.prom" ||
	{ cat $W/exp.err; fail "the exporter did not answer on $EXP"; }
cat >$W/prom.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: synfin
    static_configs:
      - targets: ['$EXP']
EOF
promtool check config $W/prom.yml >$W/pt 2>&1 || { cat $W/pt; fail "promtool check config"; }
$GLOBAL prometheus --config.file=$W/prom.yml --storage.tsdb.path=$W/tsdb \
	--web.listen-address=$PROM --log.level=warn >$W/prom.log 2>&1 & prom=$!
$Q wait 'up{job="synfin"}' == 1 120 >/dev/null || { tail -5 $W/prom.log; fail "Prometheus never scraped the exporter"; }
note "Prometheus scrapes the exporter ($SECONDS s into the test)"
# How many connections it made to the exporter (for the log: they are in
# the initial netns, not counted).
dials() { $GLOBAL curl -sf "http://$PROM/metrics" | sed -n 's/^net_conntrack_dialer_conn_established_total{dialer_name="synfin"} //p'; }
# Until Prometheus holds a scrape taken after now.
fresh() {
	local n
	n=$($Q value 'synfin_exporter_scrapes_total')
	$Q wait 'synfin_exporter_scrapes_total' '>=' $((n + 2)) 60 >/dev/null ||
		note "Prometheus stored no new scrape within 60 s (from $n): the values below may be old"
}
fresh
t0=$(date +%s)
dials0=$(dials)
for c in active passive simultaneous reset refused; do
	eval "c0_$c=\$($Q value 'synfin_connection_duration_seconds_count{closer=\"$c\"}')"
done
drop0=$($Q value synfin_exporter_children_dropped_total)
# The kernel's count of server children made in this netns (those dropped
# at birth included: two segments completing one handshake on two CPUs).
passive_opens() { awk '/^Tcp: / && $7 ~ /^[0-9]+$/ { print $7 }' /proc/net/snmp; }
po0=$(passive_opens)

# --- A client host: N connections from ephemeral ports, the client
# closing first (its sockets in TIME_WAIT), twice.
round() {
	$T/tcpconn serve -p $P -n $N -l 0 & local srv=$!
	wait_listen $P
	$T/tcpconn connect -p $P -n $N -c 4 -q || fail "client failed"
	wait $srv || fail "server failed"
}
round
note "round 1 done ($SECONDS s)"
# The TIME_WAIT gauge against sockstat, now: round 1's sockets are younger
# than their 60 s, none expires yet. Compared only across a window in
# which sockstat stood still and Prometheus took a scrape (a slow host may
# have the first ones expiring: then again).
compared=0
for _ in $(seq 10); do
	tw_before=$(sockstat_tw)
	fresh
	tw_prom=$($Q value "synfin_timewait_sockets_all{netns=\"$MYNS\"}")
	tw_after=$(sockstat_tw)
	if [ "$tw_before" = "$tw_after" ]; then
		expect_eq "TIME_WAIT in Prometheus == sockstat tw (netns $MYNS)" "$tw_prom" "$tw_after" || ok=1
		compared=1
		break
	fi
	note "sockstat tw moved while Prometheus scraped: $tw_before -> $tw_after; again"
done
[ $compared = 1 ] || { note "sockstat tw never stood still for a scrape: TIME_WAIT not compared"; ok=1; }
tm=$(date +%s)
round
# Until Prometheus holds both ends of every connection (or a minute went
# by): on a loaded host the exporter's reader and the scrapes trail the
# traffic by seconds. More than that is caught below, as is fewer.
for c in active passive; do
	w0=$SECONDS
	if $Q wait "synfin_connection_duration_seconds_count{closer=\"$c\"}" '>=' $(($(eval echo \$c0_$c) + 2 * N)) 60 >/dev/null; then
		note "closer=$c: $((2 * N)) more in Prometheus $((SECONDS - w0)) s after round 2"
	else
		note "closer=$c: Prometheus did not reach $((2 * N)) more within 60 s"
	fi
done
fresh
t1=$(date +%s)
closers=""
for c in active passive simultaneous reset refused; do
	closers+=" $c=$(($($Q value "synfin_connection_duration_seconds_count{closer=\"$c\"}") - $(eval echo \$c0_$c)))"
done
note "closers, this netns, during the rounds:$closers; still open: $($Q value synfin_exporter_connections_open)"
dropped=$(($($Q value synfin_exporter_children_dropped_total) - drop0))
note "children the kernel dropped at birth: $dropped"
expect_eq "server ends + children dropped == TcpPassiveOpens increase" \
	$(($(echo "$closers" | sed -n 's/.* passive=\([0-9]*\).*/\1/p') + dropped)) $(($(passive_opens) - po0)) || ok=1
note "Prometheus connected to the exporter $(($(dials) - dials0)) times during the rounds"
# Both ends are here: the client's sockets closed first (active), the
# server's after the client's FIN (passive).
expect_eq "client ends observed (closer=active)" "$(echo "$closers" | sed -n 's/.* active=\([0-9]*\).*/\1/p')" $((2 * N)) || ok=1
expect_eq "server ends observed (closer=passive)" "$(echo "$closers" | sed -n 's/.* passive=\([0-9]*\).*/\1/p')" $((2 * N)) || ok=1
expect_eq "synfin_up in Prometheus" "$($Q value 'synfin_up')" 1 || ok=1
# Series: none may come and go (a port's series at one scrape and not the
# next); none may be new after round 1 but state pairs seen for the first
# time (synfin_transitions_total: at most 13 x 13).
ALLS='{__name__=~"synfin_.+"}'
OTHER='{__name__=~"synfin_.+",__name__!="synfin_transitions_total"}'
# (A 2 s window holds a sample of every series alive then: one scrape a second.)
series() { $Q list "$1" "$2" "$3" | LC_ALL=C sort; }
series "$ALLS" "$t0" "$t1" >$W/ever
series "$ALLS" $((t1 - 2)) "$t1" >$W/now
series "$OTHER" $((tm - 2)) "$tm" >$W/mid.other
series "$OTHER" $((t1 - 2)) "$t1" >$W/now.other
note "series: $(wc -l <$W/ever) seen during the rounds, $(wc -l <$W/now) at the end; $(wc -l <$W/mid.other) and $(wc -l <$W/now.other) besides transitions after round 1 and 2"
expect_eq "series that came and went" "$(LC_ALL=C comm -23 $W/ever $W/now | tr '\n' ' ')" "" || ok=1
expect_eq "series new in round 2 (besides transitions)" "$(LC_ALL=C comm -13 $W/mid.other $W/now.other | tr '\n' ' ')" "" || ok=1
$GLOBAL curl -sf http://$EXP/metrics >$W/s1.prom
note "port series: $(grep -c '^synfin_timewait_port_sockets{' $W/s1.prom): $(grep '^synfin_timewait_port_sockets{' $W/s1.prom | tr '\n' ' ')"
expect_eq "lost by this netns's exporter" "$(sample synfin_exporter_events_lost_total $W/s1.prom)" 0 || ok=1

# --- A scrape flood while connections run: every scrape answered, no
# event lost.
$T/tcpconn serve -p $((P + 1)) -n 300 -l 0 & srv=$!
wait_listen $((P + 1))
$T/tcpconn connect -p $((P + 1)) -n 300 -c 4 -q & cli=$!
$GLOBAL $PY - "http://$HOSTEXP/metrics" >$W/flood 2>&1 <<'PYEOF'
import sys, threading, time, urllib.request
url, codes, lat = sys.argv[1], [], []
def worker():
    for _ in range(20):
        t = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                r.read()
                codes.append(r.status)
        except Exception as e:
            codes.append(repr(e))
        lat.append(time.monotonic() - t)
ts = [threading.Thread(target=worker) for _ in range(32)]
for t in ts: t.start()
for t in ts: t.join()
bad = [c for c in codes if c != 200]
lat.sort()
print("  %d scrapes by 32 clients at once: %d not 200 %s; latency median %.0f ms, max %.0f ms"
      % (len(codes), len(bad), bad[:3], 1000 * lat[len(lat) // 2], 1000 * lat[-1]))
sys.exit(1 if bad else 0)
PYEOF
rc=$?; cat $W/flood
expect_eq "scrape flood: every scrape answered" $rc 0 || ok=1
wait $cli || fail "client failed"
wait $srv || fail "server failed"
$GLOBAL curl -sf "http://$HOSTEXP/metrics" >$W/h1.prom || fail "scrape after the flood"
expect_eq "events the host's exporter lost" "$(sample synfin_exporter_events_lost_total $W/h1.prom)" 0 || ok=1
l0=$(sample synfin_events_lost_total $W/h0.prom) l1=$(sample synfin_events_lost_total $W/h1.prom)
expect_eq "events any reader lost since the first scrape (module)" "$((${l1:-missing} - ${l0:-0}))" 0 || ok=1
note "the host's exporter read $(sample synfin_exporter_records_total $W/h1.prom) records"
one=$($GLOBAL curl -s -o /dev/null -w '%{time_total}' "http://$HOSTEXP/metrics")
note "one scrape alone: ${one} s, $(wc -c <$W/h1.prom) bytes"

# --- SIGTERM: exits 0 at once.
for which in exp hexp; do
	pid=${!which}
	start=$(date +%s%N)
	kill -TERM $pid
	wait $pid; rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	eval "$which="
	expect_eq "$which: exit status after SIGTERM" $rc 0 || ok=1
	[ $ms -lt 1000 ] || { note "$which took $ms ms to exit"; ok=1; }
	note "$which exited in $ms ms"
done
grep -hv '^synfin: serving /metrics' $W/exp.err $W/hexp.err | head -5

# --- Started without the module: synfin_up 0 and why, then 1 once it is
# loaded, with no restart. (While the exporter holds the device, rmmod is
# refused as in use: the module cannot go away under it.)
rmmod synfin || fail "rmmod"
$GLOBAL $SYNFIN metrics --listen $HOSTEXP --all-netns >$W/hexp.out 2>$W/hexp.err & hexp=$!
$GLOBAL bash -c "$(declare -f wait_http); wait_http http://$HOSTEXP/metrics $W/d0.prom" ||
	{ cat $W/hexp.err; fail "the exporter did not answer without the module"; }
expect_eq "synfin_up without the module" "$(sample synfin_up $W/d0.prom)" 0 || ok=1
grep -q 'module not loaded' $W/hexp.err || { note "it did not say why: $(cat $W/hexp.err)"; ok=1; }
ensure_module
up=0
for _ in $(seq 50); do
	$GLOBAL curl -sf "http://$HOSTEXP/metrics" >$W/d1.prom && up=$(sample synfin_up $W/d1.prom)
	[ "$up" = 1 ] && break
	sleep 0.1
done
expect_eq "synfin_up once the module is loaded" "$up" 1 || ok=1
rmmod synfin 2>$W/rmmod.err && { note "rmmod succeeded under the exporter"; ok=1; }
kill -TERM $hexp; wait $hexp; rc=$?; hexp=
expect_eq "exit status after SIGTERM" $rc 0 || ok=1
ensure_module
exit $ok
