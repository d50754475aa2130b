#!/bin/bash
# Burst: 200 000 transitions flood a 4096-record-per-CPU ring (through
# tcp_set_state(), by tests/kmod/synfin_bench) while four readers watch:
# one stopped (SIGSTOP) through the flood, two raw readers and the viewer
# reading. For each: delivered + lost == produced, exactly. The module's
# memory is the same before, during and after; the producer never waits
# for a reader (the flood completes with one stopped).
. tests/vm/lib.sh
N=${SYNFIN_BURST_N:-200000}
[ -f "${SYNFIN_BENCH_MODULE:-}" ] || skip "no tests/kmod/synfin_bench.ko for this kernel"
rmmod synfin && load_module ring_size=4096 || fail "reload with ring_size=4096"
insmod "$SYNFIN_BENCH_MODULE" || fail "insmod synfin_bench"
trap 'rmmod synfin_bench 2>/dev/null' EXIT
stat_of() { $DEVCHECK stats | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
ok=0

$DEVCHECK count >$W/stopped & stopped=$!
$DEVCHECK count >$W/raw1 & raw1=$!
$DEVCHECK count >$W/raw2 & raw2=$!
$DEVCHECK wait-readers 3 30 || fail "raw readers did not open"
# The flood's sockets are in the initial netns: the all-namespaces view.
SYNFIN="$GLOBAL $SYNFIN" start_reader $W/viewer.json
viewer=$READER
kill -STOP $stopped
rec0=$(stat_of recorded); mem0=$(stat_of mem_bytes)
vm0=$(awk '/^VmallocUsed:/ { print $2 }' /proc/meminfo)

echo "$N" >/sys/module/synfin_bench/parameters/run || fail "the flood did not complete"
note "flood: $(cat /sys/module/synfin_bench/parameters/result)"
rec1=$(stat_of recorded); mem1=$(stat_of mem_bytes)
vm1=$(awk '/^VmallocUsed:/ { print $2 }' /proc/meminfo)
produced=$((rec1 - rec0))
# N transitions plus the socket's CLOSE at the end.
expect_eq "records produced by the flood" "$produced" $((N + 1)) || ok=1
expect_eq "module memory after the flood (bytes)" "$mem1" "$mem0" || ok=1
note "VmallocUsed ${vm0} kB before, ${vm1} kB after (whole kernel, for information)"

kill -CONT $stopped
# The viewer drains at its own pace: wait until its output stops growing.
prev=-1
for _ in $(seq 1 120); do
	cur=$(wc -l <$W/viewer.json)
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 1
done
kill -TERM $stopped $raw1 $raw2
wait $stopped $raw1 $raw2
stop_reader $viewer
for r in stopped raw1 raw2; do
	read -r got lost < <(sed -n 's/records=\([0-9]*\) lost=\([0-9]*\)/\1 \2/p' $W/$r)
	expect_eq "$r reader: delivered $got + lost $lost" $((got + lost)) "$produced" || ok=1
done
got=$($EV records $W/viewer.json); lost=$($EV lost $W/viewer.json)
expect_eq "viewer: delivered $got + lost $lost" $((got + lost)) "$produced" || ok=1
read -r sgot slost < <(sed -n 's/records=\([0-9]*\) lost=\([0-9]*\)/\1 \2/p' $W/stopped)
[ "$slost" -gt 0 ] || { note "the stopped reader lost nothing: the flood did not overrun the ring"; ok=1; }
[ "$sgot" -le $((4096 * $(nproc))) ] || { note "the stopped reader got more than the rings hold"; ok=1; }
rmmod synfin_bench
rmmod synfin && load_module || fail "reload with defaults"
exit $ok
