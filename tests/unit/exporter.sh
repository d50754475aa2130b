#!/bin/bash
# The exporter (synfin metrics --listen) on the host, where no module is
# loaded: it serves synfin_up 0 (and says once why), in a strict exposition
# promtool accepts; keeps connections alive; answers 404 and 405; refuses a
# port in use; exits 0 at SIGTERM. --textfile without the module replaces
# the file with synfin_up 0. One result line per check, like viewer.sh.
# Usage: tests/unit/exporter.sh VIEWER
cd "$(dirname "$0")/../.." || exit 1
V=$(realpath "${1:-userspace/synfin}")
W=$(mktemp -d)
exp=
trap '[ -n "$exp" ] && kill $exp 2>/dev/null; rm -rf $W' EXIT
result() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fi; }
# A free port: the kernel's pick, released again.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
$V metrics --listen 127.0.0.1:$PORT --device $W/nodev >$W/out 2>$W/err & exp=$!
for _ in $(seq 50); do curl -sf $URL/metrics >$W/m.prom 2>/dev/null && break; sleep 0.1; done
grep -qx 'synfin_up 0' $W/m.prom; result exporter-up-0-without-module $? "$(head -5 $W/m.prom) $(cat $W/err)"
python3 tests/lib/promcheck.py $W/m.prom >$W/pc 2>&1; result exporter-promcheck $? "$(cat $W/pc)"
if command -v promtool >/dev/null; then
	promtool check metrics <$W/m.prom >$W/pt 2>&1; result exporter-promtool $? "$(cat $W/pt)"
else
	echo "SKIP exporter-promtool: no promtool (apt-get install prometheus)"
fi
grep -q 'synfin_connection_duration_seconds_bucket{closer="active",le="+Inf"} 0' $W/m.prom
result exporter-histograms-present $? "$(grep -c duration $W/m.prom) duration lines"
sleep 1.2	# a retry or two: still said once
[ "$(grep -c 'not found' $W/err)" -eq 1 ] && grep -q 'serving synfin_up 0 until' $W/err
result exporter-says-why-once $? "$(cat $W/err)"
# Two scrapes, one connection: a scrape must not cost a TIME_WAIT socket.
curl -sv $URL/metrics $URL/metrics -o /dev/null -o /dev/null >$W/ka 2>&1
grep -q 'Re-using existing connection' $W/ka; result exporter-keep-alive $? "$(grep -E '^[<*]' $W/ka | head -12)"
codes="$(curl -s -o /dev/null -w '%{http_code}' $URL/nope) $(curl -s -X POST -d x -o /dev/null -w '%{http_code}' $URL/metrics) $(curl -s -o /dev/null -w '%{http_code}' $URL/)"
[ "$codes" = "404 405 200" ]; result exporter-http-codes $? "got $codes, want 404 405 200"
$V metrics --listen 127.0.0.1:$PORT --device $W/nodev >$W/out2 2>$W/err2; rc=$?
[ $rc -eq 1 ] && grep -q 'Address already in use' $W/err2; result exporter-port-in-use $? "exit $rc: $(cat $W/err2)"
start=$(date +%s%N)
kill -TERM $exp; wait $exp; rc=$?; exp=
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc -eq 0 ] && [ $ms -lt 1000 ]; result exporter-sigterm $? "exit $rc after $ms ms"
echo "# SIGTERM to exit: $ms ms"
# --textfile without the module: the last good file must not stay.
printf 'synfin_up 1\nsynfin_timewait_sockets_all{netns="1"} 99\n' >$W/t.prom
$V metrics --device $W/nodev --textfile $W/t.prom 2>$W/terr; rc=$?
[ $rc -eq 1 ] && grep -qx 'synfin_up 0' $W/t.prom && ! grep -q timewait $W/t.prom && python3 tests/lib/promcheck.py $W/t.prom >/dev/null
result textfile-marked-down $? "exit $rc: $(cat $W/t.prom) $(cat $W/terr)"
