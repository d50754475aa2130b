#!/bin/bash
# A per-CPU ring that cannot be allocated at load: in a guest with less RAM
# than one ring (ring_size=1048576: 136 MiB per CPU) vmalloc refuses it
# outright. The load must fail with ENOMEM and leave nothing behind. (The
# old unwind then cancelled an hrtimer that was never set up: a NULL
# dereference.) tests/run runs it in a boot of its own with --mem 128.
. tests/vm/lib.sh
ring_bytes=$((1048576 * 136))
total=$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) * 1024 ))
[ "$total" -lt "$ring_bytes" ] || skip "guest RAM $((total >> 20)) MiB holds a ring (boot with --mem 128)"
[ -n "$(ls /sys/module/synfin/holders 2>/dev/null)" ] && fail "module in use"
rmmod synfin 2>/dev/null
err=$(insmod "$SYNFIN_MODULE" ${SYNFIN_PARAMS:-} ring_size=1048576 2>&1); rc=$?
note "insmod ring_size=1048576 with $((total >> 20)) MiB of RAM: exit $rc: $err"
ok=0
[ $rc -ne 0 ] && echo "$err" | grep -q 'Cannot allocate memory'
expect_eq "the load fails with ENOMEM" $? 0 || ok=1
expect_eq "module loaded after the failure" "$(grep -c '^synfin ' /proc/modules)" 0 || ok=1
load_module || { note "a normal load after it failed"; ok=1; }
expect_eq "a normal load after it" "$(grep -c '^synfin ' /proc/modules)" 1 || ok=1
exit $ok
