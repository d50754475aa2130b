#!/bin/bash
# Bad module parameters are refused at load with a clear message; good ones
# load; every parameter documents its default. Leaves the module loaded with
# the lab's parameters.
. tests/vm/lib.sh
rmmod synfin || fail "rmmod before the test"
ok=0
for bad in ring_size=1000 ring_size=0 ring_size=32 ring_size=2097152 ring_size=abc ring_size=-64 \
	   hook=bogus hook= tw_max=10 tw_max=99999999 owner_max=abc \
	   wake_delay_us=1000001 wake_delay_us=-1 wake_delay_us=x \
	   families=bogus families=state,bogus families= families=all,state; do
	if insmod "$SYNFIN_MODULE" "$bad" 2>$W/err; then
		note "$bad: loaded, should be refused"; ok=1; rmmod synfin
	else
		msg=$(dmesg | grep -F "synfin: $bad invalid: " | tail -1)
		note "$bad: refused ($(head -1 $W/err | sed 's/.*: //')); kernel: ${msg#*] }"
		[ -n "$msg" ] || { note "no clear message for $bad"; ok=1; }
	fi
done
insmod "$SYNFIN_MODULE" ring_size=64 hook=kprobe tw_max=1024 || { note "good values refused"; ok=1; }
expect_eq "ring_size param" "$(cat /sys/module/synfin/parameters/ring_size)" 64 || ok=1
expect_eq "hook param reads the mode in use" "$(cat /sys/module/synfin/parameters/hook)" kprobe || ok=1
rmmod synfin
load_module || fail "reload with the lab's parameters"
expect_eq "default ring_size" "$(cat /sys/module/synfin/parameters/ring_size)" 4096 || ok=1
# The one writable parameter: a bad value is refused and changes nothing.
P=/sys/module/synfin/parameters/wake_delay_us
expect_eq "default wake_delay_us" "$(cat $P)" 1000 || ok=1
if echo 5000000 >$P 2>/dev/null; then note "wake_delay_us=5000000 accepted at run time"; ok=1; fi
expect_eq "wake_delay_us after a refused write" "$(cat $P)" 1000 || ok=1
echo 0 >$P && expect_eq "wake_delay_us set to 0 at run time" "$(cat $P)" 0 || ok=1
# Readers still get everything with immediate wake-ups, then restore.
$DEVCHECK count >$W/count & rd=$!
$DEVCHECK wait-readers 1 30 || fail "reader did not open"
$T/tcpconn serve -p 9600 -n 5 -l 0 & srv=$!
wait_listen 9600
$T/tcpconn connect -p 9600 -n 5 -q || fail "client"
wait $srv
settle
kill -TERM $rd; wait $rd
[ "$(sed -n 's/records=\([0-9]*\).*/\1/p' $W/count)" -gt 0 ] || { note "no records with wake_delay_us=0"; ok=1; }
echo 1000 >$P
modinfo -F parm "$SYNFIN_MODULE" >$W/parm
while read -r line; do
	echo "$line" | grep -q 'default' || { note "parameter without its default: $line"; ok=1; }
done <$W/parm
note "parameters: $(cut -d: -f1 $W/parm | tr '\n' ' ')"
exit $ok
