#!/bin/bash
# A process writing packets into a tun device (a VPN daemon) must not become
# the owner of the sockets those packets drive. tun_get_user() hands each
# packet to netif_receive_skb() in the writer's own task with bottom halves
# disabled: TCP runs there as it would in a softirq, but not "serving" one.
# The listener is made before synfin loads (the module is reloaded), so no
# owner is cached for it or its child; a peer behind the tun device
# (tests/tools/tunpeer.py, comm "tunpeer") then opens a connection to it
# with crafted SYN and ACK, and resets it after the server's accept. The
# server side's records must name no owner or the server, never the
# writer, and the handshake's records (run in the writer's BH-off section)
# must carry the softirq flag (read from a raw capture: JSON does not show it).
. tests/vm/lib.sh
PORT=9810 SPORT=45678 DEV=sftun0 LOCAL=10.99.0.1 REMOTE=10.99.0.2
TP="/usr/bin/python3 tests/tools/tunpeer.py"
modprobe tun 2>/dev/null
[ -c /dev/net/tun ] || skip "no tun device (/dev/net/tun) in this kernel"

bg=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() { for p in "${bg[@]}" ${READER:-}; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
show() { sed 's/^/    /' "$1"; }

$TP peer --dev $DEV --ready $W/peer.ready --go $W/go --accepted $W/accepted \
	--port $PORT --sport $SPORT --local $REMOTE --remote $LOCAL --timeout 150 >$W/peer.out 2>&1 &
peer=$!; bg+=("$peer")
for _ in $(seq 1 600); do
	[ -e $W/peer.ready ] && break
	kill -0 $peer 2>/dev/null || { show $W/peer.out; fail "the tun peer exited early"; }
	sleep 0.05
done
[ -e $W/peer.ready ] || { show $W/peer.out; fail "the tun peer did not create $DEV"; }
# No IPv6 on the device (no router solicitations to skip); address, up.
echo 1 2>/dev/null >/proc/sys/net/ipv6/conf/$DEV/disable_ipv6
{ ip addr add $LOCAL/24 dev $DEV && ip link set $DEV up; } || fail "cannot configure $DEV"

$TP serve --addr $LOCAL --port $PORT --ready $W/srv.ready --accepted $W/accepted >$W/srv.out 2>&1 &
srv=$!; bg+=("$srv")
wait_listen $PORT

# The listener predates the module: reload it (no reader may hold it).
readers=$($DEVCHECK stats | sed 's/.*readers=\([0-9]*\).*/\1/')
[ "$readers" = 0 ] || fail "$readers reader(s) hold /dev/synfin: cannot reload"
rmmod synfin || fail "rmmod"
load_module || fail "insmod"
start_reader $W/ev.out -w $W/ev.cap

: >$W/go
wait $peer; prc=$?
note "tun peer (pid $peer, exit $prc):"; show $W/peer.out
wait $srv; src=$?
note "server (pid $srv, exit $src): $(tr '\n' ' ' <$W/srv.out)"
bg=()	# both reaped
settle
stop_reader $READER; READER=
[ $prc = 0 ] || fail "the tun peer's handshake failed"
$SYNFIN -r $W/ev.cap -j >$W/ev.json || fail "cannot replay the capture"

ok=0
/usr/bin/python3 - $W/ev.json $W/ev.cap $LOCAL $PORT $SPORT $peer $srv <<'PY' || ok=1
import json, sys
jpath, cpath, local = sys.argv[1:4]
port, sport, peer, srv = map(int, sys.argv[4:8])
SOFTIRQ = 0x01                      # SYNFIN_F_SOFTIRQ, include/uapi/synfin.h
ev = [json.loads(l) for l in open(jpath) if l.strip()]
raw = open(cpath, "rb").read()[64:]          # 64-byte header, 192-byte records (ABI 2)
flags = [raw[i + 6] for i in range(0, len(raw) - 191, 192)]
if len(flags) != len(ev):
    print("  capture has %d records, its replay %d" % (len(flags), len(ev))); sys.exit(1)
for e, f in zip(ev, flags):
    e["flags"] = f
ev = [e for e in ev if e.get("type") == "event"]
cookies = {e["cookie"] for e in ev
           if e["saddr"] == local and e["sport"] == port and e["dport"] == sport}
# A listener's own records are no child's, even under the child's cookie.
lsn = [e for e in ev if e["cookie"] in cookies and e["dport"] == 0
       and (e["old"], e["new"]) in (("CLOSE", "LISTEN"), ("LISTEN", "CLOSE"))]
conn = [e for e in ev if e["cookie"] in cookies and e not in lsn]
bad = 0
for e in lsn:
    print("  skipped: the listener's %s>%s, cookie %d as the child's" % (e["old"], e["new"], e["cookie"]))
print("  server side of %s:%d <- peer port %d: %d record(s)" % (local, port, sport, len(conn)))
for e in conn:
    print("    %-22s pid %-5s tid %-5s comm %-10r flags 0x%02x%s" % (
        e["old"] + ">" + e["new"], e["pid"], e["tid"], e["comm"], e["flags"],
        " (softirq)" if e["flags"] & SOFTIRQ else ""))
for e in conn:
    t = e["old"] + ">" + e["new"]
    if e["pid"] == peer or e["tid"] == peer or e["comm"] == "tunpeer":
        print("  %s names the tun writer (pid %d, tunpeer) as owner" % (t, peer)); bad = 1
    elif (e["pid"], e["comm"]) not in ((0, ""), (srv, "python3")):
        print("  %s owned by %s/%r: want none (0) or the server (%d/python3)" % (
            t, e["pid"], e["comm"], srv)); bad = 1
    # Both run in the writer's BH-off section, never in the server's task.
    if t in ("LISTEN>SYN_RECV", "SYN_RECV>ESTABLISHED") and not e["flags"] & SOFTIRQ:
        print("  %s not flagged softirq (ran with BH off, in the writer's task)" % t); bad = 1
n = sum(e["old"] == "SYN_RECV" and e["new"] == "ESTABLISHED" for e in conn)
if n != 1:
    print("  %d SYN_RECV>ESTABLISHED records for the connection, want 1" % n); bad = 1
sys.exit(bad)
PY
exit $ok
