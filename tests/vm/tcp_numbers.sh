#!/bin/bash
# Per-connection numbers (ABI v2) against the kernel's own: getsockopt
# TCP_INFO taken right before close(), the netns's TcpRetransSegs, netem's
# configured delay, the client's own clock, its cgroup and uid.
#  1. bytes: known payloads, both ends, exact (plus the SYN's and FINs'
#     sequence numbers, which the kernel counts: see below)
#  2. ms: time in ESTABLISHED of a connection held open a known time
#  3. RTT under `netem delay`: srtt and min_rtt near twice the delay
#  4. retransmits under `netem loss`: summed over every connection == the
#     TcpRetransSegs delta of the test's netns
#  5. a client in its own cgroup under another uid, a prefork server whose
#     child accepts under a third (accept() gives a socket its acceptor's
#     uid and owner): life shows each; --cgroup, -u and -p select exactly
#     their lines, whole (--cgroup in the module too); a reader in another
#     user namespace sees the uids mapped into it
# suite-timeout: 600
. tests/vm/lib.sh
ok=0
PY=/usr/bin/python3
TN="$PY tests/lib/tcpnumbers.py"
P=9830
cleanup() {
	kill $SRV ${ACC:-} 2>/dev/null
	tc qdisc del dev lo root 2>/dev/null
	[ -n "${CG:-}" ] && rmdir "$CG" 2>/dev/null
	[ -n "${CGMOUNT:-}" ] && umount "$CGMOUNT" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT
start_server() { # OUT
	rm -f $W/srv.ready
	$TN serve $P $W/srv.ready "$1" & SRV=$!
	for _ in $(seq 200); do [ -s $W/srv.ready ] && break; sleep 0.05; done
	wait_listen $P
}
# The client's timewait socks end now (ss -K), so their life lines come.
end_timewait() { ss -K state time-wait "( dport = :$P )" >/dev/null 2>&1; }
# Wait until FILE has N life lines.
wait_lines() { # FILE N
	for _ in $(seq 300); do
		[ "$(grep -c '"type": "life"' "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	note "only $(grep -c '"type": "life"' "$1") of $2 life lines"
	return 1
}

# --- 1 and 2: payloads and held time ---------------------------------
start_server $W/srv1.json
start_reader $W/life1.json life; LR=$READER
start_reader $W/tail1.json tail
# 3 requests of 4000 bytes, 3 answers of 20000: 12000 and 60000 bytes.
$TN connect $P 4000 20000 --rounds 3 --hold 1.5 >$W/cli1.json || fail "client"
settle 1
end_timewait
wait_lines $W/life1.json 2 || ok=1
stop_reader $READER
stop_reader $LR
$PY - $W/life1.json $W/tail1.json $W/cli1.json $W/srv1.json $P <<'PY' || ok=1
import json, sys
life = [json.loads(l) for l in open(sys.argv[1]) if '"type": "life"' in l]
tail = [json.loads(l) for l in open(sys.argv[2]) if '"type": "event"' in l]
cli = json.loads(open(sys.argv[3]).readline())
srv = json.loads(open(sys.argv[4]).readline())
port, P = cli["port"], int(sys.argv[5])
bad = 0
def check(what, got, want):
    global bad
    ok = got == want
    print("  %s: %s%s" % (what, got, "" if ok else ", want %s" % want))
    bad |= not ok
c = [l for l in life if l["sport"] == port and l["dport"] == P]
s = [l for l in life if l["sport"] == P and l["dport"] == port]
if len(c) != 1 or len(s) != 1:
    print("  life lines: client %d, server %d (want 1 each): %s" % (len(c), len(s), life))
    sys.exit(1)
c, s, ci, si = c[0], s[0], cli["tcp_info"], srv["tcp_info"]
# The client connected and closed first: its final record (timewait
# entry) comes after its FIN was acked and the server's FIN received.
# tcpi_bytes_acked counts sequence numbers: the SYN (only on the side that
# connected: a passive child starts past it) and an acked FIN, 1 each;
# tcpi_bytes_received counts the peer's FIN.
check("client tx_bytes = 12000 payload + SYN + FIN", c["tx_bytes"], 12000 + 2)
check("client tx_bytes = TCP_INFO before close + its FIN", c["tx_bytes"], ci["bytes_acked"] + 1)
check("client rx_bytes = 60000 payload + server's FIN", c["rx_bytes"], 60000 + 1)
check("client rx_bytes = TCP_INFO before close + server's FIN", c["rx_bytes"], ci["bytes_received"] + 1)
# The server closed second (LAST_ACK -> CLOSE): its FIN acked at the end;
# the client's FIN was in already when it took TCP_INFO.
check("server tx_bytes = 60000 payload + FIN", s["tx_bytes"], 60000 + 1)
check("server tx_bytes = TCP_INFO before close + its FIN", s["tx_bytes"], si["bytes_acked"] + 1)
check("server rx_bytes = 12000 payload + client's FIN", s["rx_bytes"], 12000 + 1)
check("server rx_bytes = TCP_INFO before close", s["rx_bytes"], si["bytes_received"])
check("retrans on loopback", (c["retrans"], s["retrans"]), (0, 0))
for who, l, i in (("client", c, ci), ("server", s, si)):
    # Segments: at least TCP_INFO's, plus at most the FIN exchange's.
    ok = i["segs_out"] <= l["segs_out"] <= i["segs_out"] + 3 and i["segs_in"] <= l["segs_in"] <= i["segs_in"] + 3
    print("  %s segs_out %d, segs_in %d (TCP_INFO before close %d, %d)" %
          (who, l["segs_out"], l["segs_in"], i["segs_out"], i["segs_in"]))
    bad |= not ok
    ok = l["srtt_us"] > 0 and 0 < l["min_rtt_us"] <= l["srtt_us"] * 4 and l["uid"] == 0
    print("  %s srtt %d us, rttvar %d us, min_rtt %d us, uid %s, cgroup %s (%s)" %
          (who, l["srtt_us"], l["rttvar_us"], l["min_rtt_us"], l["uid"], l["cgroup"], l["cgroup_id"]))
    bad |= not ok
# ms: the client's ESTABLISHED -> FIN_WAIT1 against its own clock: the
# change to ESTABLISHED happened inside connect(), the next inside close().
ev = [e for e in tail if e["cookie"] == c["cookie"]]
fw1 = [e for e in ev if e["old"] == "ESTABLISHED" and e["new"] == "FIN_WAIT1"]
est = [e for e in ev if e["new"] == "ESTABLISHED"]
if len(fw1) != 1 or len(est) != 1:
    print("  client events: %s" % ev)
    sys.exit(1)
lo = (cli["before_close"] - cli["after_connect"]) / 1e6
hi = (cli["after_close"] - cli["before_connect"]) / 1e6
ms = fw1[0]["ms"]
ok = lo <= ms <= hi
print("  client's ms in ESTABLISHED: %.3f, its clock says between %.3f and %.3f" % (ms, lo, hi))
bad |= not ok
# ms is the distance between the connection's two records, to the µs.
check("ms (µs) == the records' ts_ns distance (µs)", round(ms * 1000),
      (fw1[0]["ts_ns"] - est[0]["ts_ns"]) // 1000)
check("first event has no ms", ev[0]["ms"], None)
# An active close: the timewait entry and the full socket's CLOSE right
# after both leave FIN_WAIT2, timed from FIN_WAIT1 -> FIN_WAIT2.
fw2 = [e for e in ev if e["new"] == "FIN_WAIT2" and e["event"] == "state"]
ent = [e for e in ev if e["event"] == "tw_enter"]
ho = [e for e in ev if e.get("handoff")]
if len(fw2) == 1 and len(ent) == 1 and len(ho) == 1:
    check("hand-off CLOSE's ms (µs) == time since FIN_WAIT1 -> FIN_WAIT2", round(ho[0]["ms"] * 1000),
          (ho[0]["ts_ns"] - fw2[0]["ts_ns"]) // 1000)
    ok = fw2[0]["ts_ns"] < ent[0]["ts_ns"] and 0 < ent[0]["ms"] <= ho[0]["ms"]
    print("  timewait entry's ms %.3f (old state %s), hand-off CLOSE's %.3f" % (ent[0]["ms"], ent[0]["old"], ho[0]["ms"]))
    bad |= not ok
else:
    print("  want one FIN_WAIT2 change, timewait entry and hand-off: %s" % ev)
    bad = 1
print("  client's events: " + ", ".join("%s>%s %s" % (e["old"], e["new"], e["ms"]) for e in ev))
sys.exit(bad)
PY
kill $SRV; wait $SRV 2>/dev/null

# --- 3: RTT under netem delay ------------------------------------------
modprobe sch_netem 2>/dev/null
tc qdisc add dev lo root netem delay 20ms || fail "tc netem delay (sch_netem)"
start_server $W/srv3.json
start_reader $W/life3.json life
$TN connect $P 1000 1000 --rounds 8 >$W/cli3.json || fail "client under delay"
settle 1
end_timewait
wait_lines $W/life3.json 2 || ok=1
stop_reader $READER
$PY - $W/life3.json $W/cli3.json <<'PY' || ok=1
import json, sys
life = [json.loads(l) for l in open(sys.argv[1]) if '"type": "life"' in l]
cli = json.loads(open(sys.argv[2]).readline())
bad = 0
# Loopback with 20 ms on lo's egress: every segment waits once, each way.
for l in life:
    who = "client" if l["sport"] == cli["port"] else "server"
    ok = 40000 <= l["min_rtt_us"] <= 48000 and 40000 <= l["srtt_us"] <= 60000
    print("  %s: srtt %d us, min_rtt %d us, rttvar %d us (netem 20 ms each way: want ~40000)" %
          (who, l["srtt_us"], l["min_rtt_us"], l["rttvar_us"]))
    bad |= not ok
i = cli["tcp_info"]
print("  client TCP_INFO before close: rtt %d us, min_rtt %d us" % (i["rtt"], i["min_rtt"]))
sys.exit(bad or len(life) != 2)
PY
kill $SRV; wait $SRV 2>/dev/null

# --- 4: retransmits under netem loss -----------------------------------
tc qdisc change dev lo root netem delay 1ms loss 8% || fail "tc netem loss"
start_server $W/srv4.json
start_reader $W/life4.json life
before=$(awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp)
N=12
$TN connect $P 20000 20000 --rounds 2 -n $N >$W/cli4.json || fail "clients under loss"
# Every socket done but the clients' timewait (a FIN may be retransmitted).
for _ in $(seq 600); do
	[ -z "$(ss -tanH "( sport = :$P or dport = :$P )" | grep -v -e TIME-WAIT -e LISTEN)" ] && break
	sleep 0.1
done
tc qdisc change dev lo root netem delay 1ms
end_timewait
wait_lines $W/life4.json $((2 * N)) || ok=1
after=$(awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp)
stop_reader $READER
$PY - $W/life4.json "$before" "$after" <<'PY' || ok=1
import json, sys
life = [json.loads(l) for l in open(sys.argv[1]) if '"type": "life"' in l]
delta = int(sys.argv[3]) - int(sys.argv[2])
got = sum(l["retrans"] for l in life)
print("  %d connections' ends: retrans summed %d, TcpRetransSegs delta %d" % (len(life), got, delta))
sys.exit(not (got == delta and delta > 0))
PY
kill $SRV; wait $SRV 2>/dev/null
tc qdisc del dev lo root

# --- 5: a client in its own cgroup, under another uid ---------------------
CGMOUNT=
CGROOT=$(findmnt -n -t cgroup2 -o TARGET | head -1)
if [ -z "$CGROOT" ]; then
	mkdir -p $W/cgroup2 && mount -t cgroup2 none $W/cgroup2 || fail "mount cgroup2"
	CGMOUNT=$W/cgroup2 CGROOT=$W/cgroup2
fi
CG=$CGROOT/synfin-test-client
mkdir -p "$CG" || fail "mkdir $CG"
CGID=$(stat -c %i "$CG")
# The server listens as root; a child of it accepts, as uid 4322.
rm -f $W/srv.ready
$TN serve $P $W/srv.ready $W/srv5.json --uid 4322 --fork-accept & SRV=$!
for _ in $(seq 200); do [ -s $W/srv.ready ] && break; sleep 0.05; done
wait_listen $P
read -r LSN ACC <$W/srv.ready
start_reader $W/life5.json life
$SYNFIN life -j --cgroup "$CG" >$W/life5-cg.json 2>&1 & R1=$!
$SYNFIN life -j -u 4321 >$W/life5-uid.json 2>&1 & R2=$!
$SYNFIN life -j -u 4322 >$W/life5-srv.json 2>&1 & R3=$!
$SYNFIN life -j -p $ACC >$W/life5-acc.json 2>&1 & R5=$!
$SYNFIN life -j -p $LSN >$W/life5-lsn.json 2>&1 & R6=$!
# A reader in a user namespace that maps root only.
unshare -U -r $SYNFIN -j >$W/tail5-userns.json 2>&1 & R4=$!
$DEVCHECK wait-readers 7 30 || fail "readers did not open /dev/synfin"
timeout 20 unshare -U -r $SYNFIN -j -u 4321 -c 1 >$W/userns-filter.out 2>&1
urc=$?
# A filtered reader in the module's own terms: only its cgroup's records.
$PY tests/lib/devholder.py $W/dh.ready $W/dh.json --filter-cgroup "$CGID" & DH=$!
for _ in $(seq 100); do [ -s $W/dh.ready ] && break; sleep 0.05; done
$TN connect $P 100 100 -n 2 --uid 4321 --cgroup "$CG" >$W/cli5.json || fail "client in $CG as uid 4321"
$TN connect $P 100 100 -n 1 >$W/cli5-other.json || fail "other client"
settle 1
end_timewait
wait_lines $W/life5.json 6 || ok=1
wait_lines $W/life5-cg.json 2 || ok=1
wait_lines $W/life5-uid.json 2 || ok=1
wait_lines $W/life5-srv.json 3 || ok=1
wait_lines $W/life5-acc.json 3 || ok=1
kill -USR1 $DH; wait $DH
for p in $READER $R1 $R2 $R3 $R4 $R5 $R6; do kill -INT $p 2>/dev/null; wait $p 2>/dev/null; done
expect_eq "-u 4321 where 4321 has no mapping: exit status" "$urc" 1 || ok=1
grep -q "setting the filter in the module: Invalid argument" $W/userns-filter.out ||
	{ note "its message: $(cat $W/userns-filter.out)"; ok=1; }
$PY - $W/life5.json $W/life5-cg.json $W/life5-uid.json $W/life5-srv.json $W/tail5-userns.json \
	$W/cli5.json $W/dh.json "$CGID" "$CG" "$CGROOT" $P $W/life5-acc.json $W/life5-lsn.json \
	"$ACC" "$LSN" <<'PY' || ok=1
import json, os, sys
lines = lambda f: [json.loads(l) for l in open(f) if '"type": "life"' in l]
allc, bycg, byuid, bysrv = (lines(f) for f in sys.argv[1:5])
userns = [json.loads(l) for l in open(sys.argv[5]) if '"type": "event"' in l]
mine = {json.loads(l)["port"] for l in open(sys.argv[6])}
dh = json.load(open(sys.argv[7]))
cgid, cg, root, P = int(sys.argv[8]), sys.argv[9], sys.argv[10], int(sys.argv[11])
byacc, bylsn = lines(sys.argv[12]), lines(sys.argv[13])
acc, lsn = int(sys.argv[14]), int(sys.argv[15])
want_path = "/" + os.path.relpath(cg, root)
bad = 0
for l in allc:
    m, srv = l["sport"] in mine, l["sport"] == P
    print("  %5d -> %5d uid %s cgroup %s (%s)%s%s" % (l["sport"], l["dport"], l["uid"], l["cgroup"],
          l["cgroup_id"], "  <- the client in the cgroup" if m else "",
          "  <- accepted as uid 4322" if srv else ""))
    if m:
        bad |= not (l["uid"] == 4321 and l["cgroup"] == want_path and l["cgroup_id"] == cgid)
    elif srv:
        # the owner is the acceptor, its last owner (the handshake's was the listener's)
        bad |= not (l["uid"] == 4322 and l["cgroup_id"] != cgid and l["pid"] == acc)
    else:
        bad |= l["uid"] != 0 or l["cgroup_id"] == cgid
sel = lambda ls: sorted(l["sport"] for l in ls)
print("  --cgroup %s: %s, -u 4321: %s, want %s" % (cg, sel(bycg), sel(byuid), sorted(mine)))
bad |= sel(bycg) != sorted(mine) or sel(byuid) != sorted(mine)
# -u 4322: the server's three, whole (its handshake ran under root's uid).
print("  -u 4322: %d lines, ports %s, partial %s" % (len(bysrv), sorted({l["sport"] for l in bysrv}),
      [l["partial"] for l in bysrv]))
bad |= len(bysrv) != 3 or {l["sport"] for l in bysrv} != {P} or any(l["partial"] for l in bysrv)
# -p: the acceptor (a child of the listener's owner) has the same three,
# whole; the process that only listened has none.
print("  -p %d (acceptor): %d lines, partial %s; -p %d (listened only): %d lines" %
      (acc, len(byacc), [l["partial"] for l in byacc], lsn, len(bylsn)))
bad |= len(byacc) != 3 or any(l["partial"] or l["pid"] != acc for l in byacc) or bool(bylsn)
# The module's filter (set by devholder.py): what it delivered is all the
# cgroup's, and the rest was dropped in the module (filtered > 0).
st, ids = dh["reader_stats_after"], set(dh.get("cgroup_ids", []))
print("  module filter on cgroup %d: delivered %d, filtered %d, cgroup ids seen %s" %
      (cgid, st["delivered"], st["filtered"], sorted(ids)))
bad |= not (dh["records"] > 0 and ids == {cgid} and st["filtered"] > 0)
# In a user namespace mapping root only: 0 stays 0, 4321 and 4322 show as
# the overflow uid.
seen = sorted({e["uid"] for e in userns if e["uid"] is not None})
print("  uids a reader in a user namespace (0 -> 0 only) sees: %s (want [0, 65534])" % seen)
bad |= seen != [0, 65534]
sys.exit(bad)
PY
[ $ok = 0 ] || fail "numbers differ from the kernel's"
echo "PASS"
