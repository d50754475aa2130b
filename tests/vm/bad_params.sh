#!/bin/bash
# Bad module parameters are refused at load with a clear message; good ones
# load. Leaves the module loaded with defaults.
. tests/vm/lib.sh
rmmod synfin || fail "rmmod before the test"
ok=0
for bad in ring_size=1000 ring_size=0 ring_size=32 ring_size=2097152 ring_size=abc ring_size=-64; do
	if insmod "$SYNFIN_MODULE" $bad 2>$W/err; then
		note "$bad: loaded, should be refused"; ok=1; rmmod synfin
	else
		msg=$(dmesg | grep 'synfin: ring_size=' | tail -1)
		note "$bad: refused ($(cat $W/err | head -1)); kernel: ${msg#*] }"
		echo "$msg" | grep -q "need a power of two" || { note "no clear message for $bad"; ok=1; }
	fi
done
insmod "$SYNFIN_MODULE" ring_size=64 || { note "ring_size=64 refused"; ok=1; }
expect_eq "ring_size param" "$(cat /sys/module/synfin/parameters/ring_size)" 64 || ok=1
rmmod synfin
insmod "$SYNFIN_MODULE" || fail "reload with defaults"
expect_eq "default ring_size" "$(cat /sys/module/synfin/parameters/ring_size)" 4096 || ok=1
modinfo "$SYNFIN_MODULE" | grep -q 'Records per CPU ring.*default 4096' || { note "MODULE_PARM_DESC lacks default"; ok=1; }
exit $ok
