#!/bin/bash
# No kernel addresses reach user space: every 8-byte word of raw records
# (a -w capture of real traffic with timewait entries and exits) and every
# number in the text views (tail -j, life -j, stats -j, tw -j, metrics,
# /proc/net/synfin_tw) is checked against the kernel's address range.
. tests/vm/lib.sh
ok=0
before=$($DEVCHECK stats | sed 's/.*readers=\([0-9]*\).*/\1/')
$SYNFIN -w $W/cap.bin & cap=$!
$DEVCHECK wait-readers $((before + 1)) 30 || fail "capture did not start"
$T/tcpconn serve -p 9811 -n 20 -c 4 & srv=$!
wait_listen 9811
$T/tcpconn connect -p 9811 -n 20 -c 4 >/dev/null || fail "clients"
$T/tcpconn connect -6 -p 9812 -n 1 >/dev/null 2>&1	# refused, IPv6
wait $srv
settle 1
ss -K -t state time-wait >/dev/null 2>&1	# timewait exits too
settle
stop_reader $cap
$SYNFIN -r $W/cap.bin -j >$W/t.json
$SYNFIN life -r $W/cap.bin -j >$W/l.json
{ cat $W/t.json $W/l.json; $GLOBAL $SYNFIN stats -j; $GLOBAL $SYNFIN tw -j --all-netns -n 100; $GLOBAL $SYNFIN metrics -n 100 --all-netns
  cat /proc/net/synfin_tw; } >$W/text
/usr/bin/python3 - $W/cap.bin $W/text <<'PY' || ok=1
import re, struct, sys
raw = open(sys.argv[1], "rb").read()[64:]
KMIN = 0xffff800000000000          # x86-64 kernel half
bad = 0
words = struct.unpack("<%dQ" % (len(raw) // 8), raw[:len(raw) // 8 * 8])
hits = [hex(w) for w in words if w >= KMIN]
print("  raw capture: %d records, %d words, %d in the kernel range" % (len(raw) // 192, len(words), len(hits)))
if hits or len(raw) < 192 * 50:
    print("  kernel-looking words:", hits[:5]); bad = 1
text = open(sys.argv[2]).read()
nums = [int(n) for n in re.findall(r"(?<![\w.])\d{17,}(?![\w.])", text)]
hexes = re.findall(r"(?:0x)?ffff[89a-f][0-9a-f]{11}", text, re.I)
print("  text views: %d bytes, %d long numbers (max %s), %d kernel-looking hex strings"
      % (len(text), len(nums), max(nums) if nums else "-", len(hexes)))
if any(n >= KMIN for n in nums) or hexes:
    bad = 1
sys.exit(bad)
PY
exit $ok
