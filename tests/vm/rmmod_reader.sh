#!/bin/bash
# rmmod while a reader is blocked in read(): refused (the open file holds a
# module reference, EBUSY); the reader stays blocked and unharmed; a signal
# makes it exit 0; then the module unloads, the device disappears, and the
# kernel log stays clean (the lab checks that). Reloads the module at the end.
. tests/vm/lib.sh
ok=0
start_reader $W/ev.json
if rmmod synfin 2>$W/rmmod.err; then
	note "rmmod succeeded with a reader open"; ok=1
else
	note "rmmod refused: $(cat $W/rmmod.err)"
	grep -qi "in use" $W/rmmod.err || { note "not refused as in use"; ok=1; }
fi
kill -0 $READER 2>/dev/null || { note "reader died"; ok=1; }
expect_eq "reader state (blocked in read)" "$(ps -o stat= -p $READER | cut -c1)" S || ok=1
kill -TERM $READER; wait $READER; rc=$?
expect_eq "reader exit status after SIGTERM" "$rc" 0 || ok=1
rmmod synfin || { note "rmmod after the reader left failed"; ok=1; }
[ ! -e /dev/synfin ] || { note "/dev/synfin still there"; ok=1; }
# The viewer says what to do when the module is gone.
$SYNFIN >$W/out 2>&1; rc=$?
expect_eq "viewer exit status without module" "$rc" 1 || ok=1
grep -q "module not loaded" $W/out || { note "viewer said: $(cat $W/out)"; ok=1; }
$SYNFIN -j >$W/out.json 2>&1
grep -q '^{"type": "error", "schema": 1, "error": ".*module not loaded' $W/out.json || { note "JSON error: $(cat $W/out.json)"; ok=1; }
ensure_module
exit $ok
