#!/bin/bash
# A missed TIME_WAIT exit heals. tests/kmod/synfin_nest kills a timewait
# sock inside its own kprobe handler (on tcp_abort, driven by `ss -K`), so
# the kernel skips synfin's exit hook, as kprobe nesting does for real
# (hook_missed). Then:
#  1. the stale entry is found against the kernel's own count
#     (/proc/net/sockstat tw) within a few reconciles: synfin's total
#     equals sockstat's again, and the correction is counted (tw_drift);
#  2. with a stale entry left, 30 new timewait socks (the slab hands the
#     dead sock's memory to one of them) each get their TW_ENTER record,
#     and the counts end equal to sockstat's.
. tests/vm/lib.sh
ok=0
NEST=$(dirname "${SYNFIN_BENCH_MODULE:-/none}")/synfin_nest.ko
[ -f "$NEST" ] || skip "no tests/kmod/synfin_nest.ko for this kernel"
P=9840
trap 'rmmod synfin_nest 2>/dev/null; kill $(jobs -p) 2>/dev/null' EXIT
missed() { $DEVCHECK stats | sed -n 's/.*hook_missed=\([0-9]*\).*/\1/p'; }
tw_conns() { # PORT N: N connections, the client's ends left in TIME_WAIT
	$T/tcpconn serve -p "$1" -n "$2" & local s=$!
	wait_listen "$1"
	$T/tcpconn connect -p "$1" -n "$2" -q || fail "clients"
	wait $s
	settle 1
}
# Kill this port's timewait socks with ss -K, the first one unseen.
nest_kill() { # PORT
	insmod "$NEST" kills=1 || fail "insmod synfin_nest"
	ss -K state time-wait "( dport = :$1 )" >/dev/null 2>&1
	rmmod synfin_nest
}
# Wait until synfin's total equals sockstat's (reconciles run every 5 s).
wait_healed() { # SECONDS
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		[ "$(tw_json total)" = "$(sockstat_tw)" ] && return 0
		sleep 0.5
	done
	return 1
}

tw_conns $P 6
expect_total_sockstat "6 timewait socks: synfin total == sockstat tw" || ok=1
drift0=$(synfin_health tw_drift) stale0=$(synfin_health tw_stale) m0=$(missed)
nest_kill $P
note "after ss -K with one kill hidden: sockstat tw $(sockstat_tw), synfin $(tw_json total), hook_missed +$(( $(missed) - m0 ))"
[ "$(missed)" -gt "$m0" ]; expect_eq "the kernel skipped synfin's hooks (hook_missed grew)" $? 0 || ok=1
start=$SECONDS
wait_healed 30
expect_eq "1. synfin total == sockstat tw again ($((SECONDS - start)) s)" "$(tw_json total)" "$(sockstat_tw)" || ok=1
note "tw_drift +$(( $(synfin_health tw_drift) - drift0 )), tw_stale +$(( $(synfin_health tw_stale) - stale0 )), reconciles $(synfin_health tw_reconciles)"
[ "$(synfin_health tw_drift)" -gt "$drift0" ]; expect_eq "the correction is counted (tw_drift grew)" $? 0 || ok=1

# 2. A stale entry, then new socks that may reuse its memory.
tw_conns $((P + 1)) 4
nest_kill $((P + 1))
start_reader $W/ev.json
tw_conns $((P + 2)) 30
stop_reader $READER
enters=$(grep -c "\"event\": \"tw_enter\".*\"dport\": $((P + 2))," $W/ev.json)
expect_eq "2. TW_ENTER records for 30 new timewait socks" "$enters" 30 || ok=1
note "tw_stale +$(( $(synfin_health tw_stale) - stale0 )) (a new sock took a stale entry's memory, if more than 0)"
wait_healed 30
expect_eq "synfin total == sockstat tw" "$(tw_json total)" "$(sockstat_tw)" || ok=1
exit $ok
