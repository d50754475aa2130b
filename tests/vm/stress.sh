#!/bin/bash
# suite-timeout: 900
# Load/unload under fire: SYNFIN_STRESS_CYCLES (default 50; `make
# check-stress`: 1000) insmod/rmmod cycles while loopback connections churn.
# In each cycle four readers hold the device: blocked in read(), in poll(),
# reading non-blocking, and one that never reads. rmmod must then be refused
# (the open files hold the module: "in use"); once they are gone it must
# succeed. Memory (Slab, VmallocUsed) must come back; the lab checks the
# kernel log for oopses and warnings.
. tests/vm/lib.sh
CYCLES=${SYNFIN_STRESS_CYCLES:-50}
ok=0
mem() { awk '/^(Slab|VmallocUsed):/ { printf "%s=%d ", $1, $2 }' /proc/meminfo; }
sysctl -qw net.ipv4.tcp_tw_reuse=1
( while :; do $T/tcpconn loop -p 9901 -n 200 -B 4 >/dev/null 2>&1 || sleep 0.1; done ) & churn=$!
rmmod synfin || fail "rmmod before the test"
sleep 1
before=$(mem)
start=$SECONDS refused=0
for i in $(seq 1 $CYCLES); do
	load_module || { note "cycle $i: insmod failed"; ok=1; break; }
	holders=()
	for m in block poll nonblock idle; do
		$T/devcheck hold $m & holders+=($!)	# any file holds the module
	done
	$DEVCHECK wait-readers 4 30 || { note "cycle $i: readers did not open"; ok=1; }
	if rmmod synfin 2>$W/rmmod.err; then
		note "cycle $i: rmmod succeeded with readers open"; ok=1; load_module
	elif grep -q "in use" $W/rmmod.err; then
		refused=$((refused + 1))
	else
		note "cycle $i: rmmod failed oddly: $(cat $W/rmmod.err)"; ok=1
	fi
	kill -TERM "${holders[@]}"
	wait "${holders[@]}"
	rmmod synfin || { note "cycle $i: rmmod failed with no reader"; ok=1; break; }
done
took=$((SECONDS - start))
kill $churn; wait $churn 2>/dev/null
pkill -f "tcpconn loop -p 9901"
sleep 2
after=$(mem)
note "$CYCLES cycles in $took s; rmmod refused with 4 readers open: $refused; memory before: $before after: $after"
expect_eq "rmmod refused while readers were open" "$refused" "$CYCLES" || ok=1
/usr/bin/python3 - "$before" "$after" <<'PY' || ok=1
import sys
b = dict(kv.split("=") for kv in sys.argv[1].split())
a = dict(kv.split("=") for kv in sys.argv[2].split())
# One leaked ring is 1 MiB of vmalloc per load; tables more. Allow noise.
grow = {k: int(a[k]) - int(b[k]) for k in b}
print("  growth (kB):", grow)
sys.exit(1 if grow["VmallocUsed:"] > 4096 or grow["Slab:"] > 16384 else 0)
PY
load_module || fail "reload with the lab's parameters"
exit $ok
