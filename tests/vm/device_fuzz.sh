#!/bin/bash
# Abuse of /dev/synfin (tests/tools/devfuzz): random ioctl numbers, sizes
# and arguments (NULL, kernel addresses, random bytes), reads of odd sizes
# into bad buffers, lseek/pread/write/mmap, opens for writing, up to 64
# files at once, while connections churn. Every answer must be a documented
# one; as root, without CAP_NET_ADMIN, and from another network namespace.
# Then 200 files open at once, each read once. The lab checks the log.
. tests/vm/lib.sh
ok=0
( while :; do $T/tcpconn loop -p 9911 -n 100 >/dev/null 2>&1 || sleep 0.1; done ) & churn=$!
N=${SYNFIN_FUZZ_ITERATIONS:-20000}
for seed in 1 2 3; do
	$T/devfuzz $N $seed >$W/f.out 2>&1 || ok=1
	note "root: $(cat $W/f.out)"
done
setpriv --bounding-set -net_admin --inh-caps -net_admin -- $T/devfuzz $N 4 >$W/f.out 2>&1 || ok=1
note "without CAP_NET_ADMIN: $(cat $W/f.out)"
other=synfin-fuzz-$$
ip netns add $other
ip netns exec $other $T/devfuzz $N 5 >$W/f.out 2>&1 || ok=1
ip netns del $other
note "another netns: $(cat $W/f.out)"
kill $churn; wait $churn 2>/dev/null; pkill -f "tcpconn loop -p 9911"
/usr/bin/python3 - <<'PY' || ok=1
import os
fds = [os.open("/dev/synfin", os.O_RDONLY | os.O_NONBLOCK) for _ in range(200)]
got = 0
for fd in fds:
    try:
        got += len(os.read(fd, 128 * 64))
    except BlockingIOError:
        pass
for fd in fds:
    os.close(fd)
print("  200 files open at once, read once each: %d bytes, all closed" % got)
PY
exit $ok
