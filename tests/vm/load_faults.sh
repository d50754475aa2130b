#!/bin/bash
# Every allocation of a module load fails in turn (fault injection:
# failslab and fail_page_alloc through /proc/thread-self/fail-nth, GFP_KERNEL
# included): the 1st, the 2nd, ... until a load gets past its last one.
# Each load either works (and unloads) or fails with an error and leaves
# nothing loaded; the lab fails the run on any BUG, WARNING, ODEBUG or
# KASAN report and on kmemleak's unreferenced objects. Needs a kernel with
# CONFIG_FAULT_INJECTION (the debug kernel: make check-debug).
. tests/vm/lib.sh
ok=0
[ -e /proc/self/fail-nth ] || skip "kernel without fault injection (run make check-debug)"
D=/sys/kernel/debug
[ -d $D/failslab ] || mount -t debugfs none $D 2>/dev/null
[ -d $D/failslab ] && [ -d $D/fail_page_alloc ] || skip "no failslab/fail_page_alloc in debugfs"
for f in failslab fail_page_alloc; do
	echo 0 >$D/$f/ignore-gfp-wait	# fail sleeping (GFP_KERNEL) allocations too
	echo 0 >$D/$f/verbose
done
# Small tables: fewer allocation points per load, the same paths.
PARAMS="${SYNFIN_PARAMS:-} ring_size=64 tw_max=1024 owner_max=1024"
[ -n "$(ls /sys/module/synfin/holders 2>/dev/null)" ] && fail "module in use"
rmmod synfin 2>/dev/null
max=${SYNFIN_FAULTS_MAX:-5000}
declare -A errs
loaded=0 n=0 done=
while [ $n -lt $max ]; do
	n=$((n + 1))
	r=$($T/failnth $n "$SYNFIN_MODULE" "$PARAMS") || fail "failnth $n"
	case "$r" in
	loaded | "loaded injected")
		loaded=$((loaded + 1))
		[ -c /dev/synfin ] || { note "allocation $n: loaded but no /dev/synfin"; ok=1; }
		rmmod synfin || { note "allocation $n: rmmod failed"; ok=1; break; }
		[ "$r" = loaded ] && { done=$n; break; }
		;;
	"failed "*)
		errs[${r#failed }]=$(( ${errs[${r#failed }]:-0} + 1 ))
		grep -q '^synfin ' /proc/modules && { note "allocation $n: load failed ($r) but the module is loaded"; ok=1; rmmod synfin; }
		;;
	*) note "allocation $n: $r"; ok=1 ;;
	esac
done
summary=""
for e in "${!errs[@]}"; do summary="$summary $e=${errs[$e]}"; done
note "loads tried: $n; worked: $loaded; failed by errno:${summary:- none}"
[ -n "$done" ] || { note "no load got past its last allocation within $max"; ok=1; }
[ -n "$done" ] && note "a load makes $((done - 1)) failable allocations; each was failed once"
for f in failslab fail_page_alloc; do echo 1 >$D/$f/ignore-gfp-wait; done
load_module || fail "final load"
exit $ok
