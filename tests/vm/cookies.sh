#!/bin/bash
# Socket cookies are the kernel's own: synfin never writes one. Reload the
# module SYNFIN_RELOAD_CYCLES times (default 20; the issue's figure is
# 1000) under connection churn, keeping connections made after each load
# open; then no two live sockets share a cookie in `ss -e`, and every
# record's cookie equals `ss -e`'s sk: for its socket.
. tests/vm/lib.sh
ok=0
CYCLES=${SYNFIN_RELOAD_CYCLES:-20}
P=9820 CP=9821
mkfifo $W/ctl
/usr/bin/python3 tests/lib/holdconns.py $P $W/ctl $W/ack & H=$!
# Killed, not asked to quit: a write to the FIFO with no reader would block.
cleanup() { touch $W/stop; kill $H 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
for _ in $(seq 200); do [ -s $W/ack ] && break; sleep 0.05; done
held=0
hold() { # N: open N more connections, wait until they are held
	held=$((held + $1))
	echo "$1" >$W/ctl
	for _ in $(seq 400); do [ "$(cat $W/ack 2>/dev/null)" = $held ] && return 0; sleep 0.05; done
	fail "holdconns holds $(cat $W/ack), want $held"
}
# Churn: short connections all along, loads and unloads included.
(
	while [ ! -e $W/stop ]; do
		$T/tcpconn serve -p $CP -n 3 -l 0 & s=$!
		for _ in $(seq 200); do ss -Hltn "sport = :$CP" | grep -q . && break; sleep 0.02; done
		$T/tcpconn connect -p $CP -n 3 -q
		wait $s
	done
) >/dev/null 2>&1 &
churn=$!
start=$SECONDS
for i in $(seq "$CYCLES"); do
	rmmod synfin || { note "cycle $i: rmmod failed"; ok=1; break; }
	load_module || fail "cycle $i: insmod"
	hold 1
done
touch $W/stop; wait $churn
note "$CYCLES reloads under churn in $((SECONDS - start)) s; $held connections held, one made after each load"

ss -taneH >$W/ss.txt 2>/dev/null	# -e: ss warns without a cgroup2 mount
dups=$(grep -o ' sk:[0-9a-f]*' $W/ss.txt | sort | uniq -d | tr '\n' ' ')
expect_eq "live sockets: $(wc -l <$W/ss.txt); cookies shared by two of them" "$dups" "" || {
	for d in $dups; do grep -- "$d " $W/ss.txt | head -3 | sed 's/^/    /'; done; ok=1; }

# Records against ss -e, for connections made while a reader runs.
start_reader $W/ev.json
hold 3
settle 1
stop_reader $READER
ss -tneH state established >$W/est.txt 2>/dev/null
/usr/bin/python3 - $W/ev.json $W/est.txt $P <<'PY' || ok=1
import json, re, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
port = int(sys.argv[3])
ss = {}
for line in open(sys.argv[2]):
    m = re.search(r"(\S+):(\d+)\s+(\S+):(\d+)\s.*\bsk:([0-9a-f]+)", line)
    if m:
        ss[(int(m.group(2)), int(m.group(4)))] = int(m.group(5), 16)
checked = bad = 0
for e in events:
    if e.get("event", e.get("type")) == "lost" or "sport" not in e:
        continue
    if port not in (e["sport"], e["dport"]) or e["new"] != "ESTABLISHED":
        continue
    want = ss.get((e["sport"], e["dport"]))
    if want is None:
        continue
    checked += 1
    if e["cookie"] != want:
        bad += 1
        print("  %s:%d->%d cookie %d, ss -e sk:%x (%d)" % (e["new"], e["sport"], e["dport"], e["cookie"], want, want))
print("  records checked against ss -e: %d, mismatched: %d" % (checked, bad))
sys.exit(1 if bad or checked < 6 else 0)
PY
exit $ok
