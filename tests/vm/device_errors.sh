#!/bin/bash
# The device's error contract: unknown ioctl ENOTTY, bad pointer EFAULT,
# short read EINVAL, no seeking, O_NONBLOCK with nothing EAGAIN, poll works,
# mode 0600 root.
. tests/vm/lib.sh
ok=0
expect_eq "device mode" "$(stat -c '%a %U %G' /dev/synfin)" "600 root root" || ok=1
$DEVCHECK abi || ok=1
$DEVCHECK enotty || ok=1
$DEVCHECK efault || ok=1
$DEVCHECK short-read || ok=1
$DEVCHECK eagain || ok=1
# poll: nothing for 200 ms, then POLLIN once a connection is made.
$DEVCHECK poll >$W/poll.out & p=$!
$DEVCHECK wait-readers 1 10
sleep 0.5
$T/tcpconn serve -p 9400 -n 1 -l 0 & srv=$!
wait_listen 9400
$T/tcpconn connect -p 9400 -n 1 -q
wait $srv
wait $p || ok=1
cat $W/poll.out
# An unprivileged user cannot open it.
if su nobody -s /bin/sh -c "$SYNFIN -c 1" >$W/nobody.out 2>&1; then
	note "nobody could read /dev/synfin"; ok=1
fi
grep -q "permission denied" $W/nobody.out || { note "viewer error for nobody: $(cat $W/nobody.out)"; ok=1; }
note "as nobody: $(cat $W/nobody.out)"
exit $ok
