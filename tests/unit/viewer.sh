#!/bin/bash
# Viewer tests on replay files: no kernel needed. One result line per check
# ("PASS name" / "FAIL name"), like tests/vm/suite.
# Usage: tests/unit/viewer.sh [VIEWER]   (default userspace/synfin)
# SYNFIN_GOLDEN_UPDATE=1: write each golden file from this viewer's output
# instead of comparing (then review the diff with git diff).
cd "$(dirname "$0")/../.." || exit 1
V=${1:-userspace/synfin}
PY=/usr/bin/python3
MK="$PY tests/lib/mkcap.py"
G=tests/unit/golden
W=$(mktemp -d)
trap 'rm -rf $W' EXIT
export TZ=UTC ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

result() { # NAME RC [detail]
	if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fi
}

# check NAME WANT_RC STDOUT_GOLDEN|- STDERR_REGEX|EMPTY|- -- CMD...
check() {
	local name=$1 want=$2 golden=$3 errre=$4 rc detail=""
	shift 5
	"$@" >$W/out 2>$W/err; rc=$?
	[ "${SYNFIN_GOLDEN_UPDATE:-}" = 1 ] && [ "$golden" != - ] && cp $W/out "$golden"
	[ "$rc" -eq "$want" ] || detail+="exit $rc, want $want"$'\n'
	if [ "$golden" != - ] && ! diff -u "$golden" $W/out >$W/diff; then
		detail+="stdout differs from $golden:"$'\n'"$(head -20 $W/diff)"$'\n'
	fi
	if [ "$errre" = EMPTY ]; then
		[ -s $W/err ] && detail+="stderr not empty: $(head -3 $W/err)"$'\n'
	elif [ "$errre" != - ] && ! grep -Eq -- "$errre" $W/err; then
		detail+="stderr lacks /$errre/: $(head -3 $W/err)"$'\n'
	fi
	if grep -Eq 'Sanitizer|runtime error' $W/err; then
		detail+="sanitizer report: $(grep -E -m3 'Sanitizer|runtime error' $W/err)"$'\n'
	fi
	[ -z "$detail" ]
	result "$name" $? "$detail"
}

$MK $W/basic.cap
$MK $W/empty.cap --scenario empty
$MK $W/trunc.cap --truncate-bytes 50
$MK $W/shortrec.cap --scenario empty; printf 'xyz' >>$W/shortrec.cap
$MK $W/abi3.cap --abi 3
$MK $W/rec-abi3.cap --header-abi 1 --abi 3
$MK $W/badkind.cap --bad-kind
head -c 64 /dev/urandom >$W/garbage.cap
: >$W/zero.cap

check table 0 $G/basic.table EMPTY -- $V -r $W/basic.cap
check table-wallclock 0 $G/basic.table-T EMPTY -- $V -r $W/basic.cap -T
check json 0 $G/basic.json EMPTY -- $V -r $W/basic.cap -j
check json-wallclock 0 $G/basic.json-T EMPTY -- $V -r $W/basic.cap -j -T
check count-stops 0 $G/basic.count3 EMPTY -- $V -r $W/basic.cap -c 3 -j
check tail-command 0 $G/basic.table EMPTY -- $V tail -r $W/basic.cap
check stdin 0 $G/basic.json EMPTY -- sh -c "$V -r - -j <$W/basic.cap"
check empty-capture 0 $G/empty.table EMPTY -- $V -r $W/empty.cap

# JSON parsed back by a real parser: keys, types and values.
$V -r $W/basic.cap -j >$W/basic.json 2>&1
$PY - $W/basic.json >$W/pyout 2>&1 <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
need = {"ts_ns", "pid", "comm", "netns", "family", "saddr", "sport", "daddr", "dport", "old", "new", "cookie"}
states = "ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN CLOSING NEW_SYN_RECV".split()
assert len(ev) == 9, len(ev)
for e in ev:
    if "lost" in e:
        assert e["lost"] == 5
        continue
    assert need <= set(e), need - set(e)
    assert e["family"] in ("inet", "inet6") and e["old"] in states and e["new"] in states
    assert isinstance(e["cookie"], int) and e["cookie"] < 2**53
assert ev[0]["comm"] == "curl" and ev[0]["sport"] == 0 and ev[0]["dport"] == 8080
assert ev[6]["comm"] == 'we"ird\\name' and ev[6]["pid"] == 300 and ev[6]["saddr"] == "2001:db8::1"
assert ev[7]["comm"] == "sixteen-chars-xx" and ev[7]["daddr"] == "fe80::1:2"
assert ev[8]["saddr"] == "::ffff:127.0.0.1"
assert [e.get("lost") for e in ev].count(5) == 1
PY
result json-parses $? "$(cat $W/pyout)"

check truncated-capture 1 - 'truncated record at byte 1088 \(78 stray bytes\)' -- $V -r $W/trunc.cap
# the whole records before the cut are still printed, then the error
$V -r $W/trunc.cap -j >$W/trunc.json 2>&1
[ "$(grep -c '"ts_ns"' $W/trunc.json)" -eq 8 ] && tail -1 $W/trunc.json | grep -q '^{"type": "error", "schema": 1, "error": ".*truncated record'
result truncated-keeps-whole-records $? "$(cat $W/trunc.json | tail -2)"
check partial-record-only 1 - 'truncated record at byte 64 \(3 stray bytes\)' -- $V -r $W/shortrec.cap
check garbage 1 - 'is not a synfin capture' -- $V -r $W/garbage.cap
check zero-length 1 - 'is not a synfin capture' -- $V -r $W/zero.cap
check wrong-abi-header 1 - 'capture has ABI v3.*reads ABI v1 \(128 bytes\) and v2 \(192 bytes\)' -- $V -r $W/abi3.cap
check wrong-abi-record 1 - 'bad record at byte 64 \(ABI 3, kind 1\): not a synfin v1 record' -- $V -r $W/rec-abi3.cap
check bad-kind 1 - 'bad record at byte 320 \(ABI 1, kind 99\)' -- $V -r $W/badkind.cap
check missing-file 1 - 'cannot open capture /nonexistent' -- $V -r /nonexistent
check json-error 1 - EMPTY -- $V -r $W/garbage.cap -j
grep -q '^{"type": "error", "schema": 1, "error": ".*not a synfin capture' $W/out; result json-error-object $? "$(cat $W/out)"
check no-device 1 - 'not found: module not loaded \(sudo insmod' -- $V --device $W/no-such-device
check not-a-device 1 - 'is not a synfin device' -- $V --device /dev/null
check usage-count 2 - '-c needs a positive number' -- $V -c 0
check usage-command 2 - "unknown command 'bogus'" -- $V bogus
check usage-option 2 - 'unknown option' -- $V --bogus
check usage-extra 2 - "unexpected argument 'x'" -- $V tail x
check usage-same-file 2 - 'name the same file' -- $V -r $W/a -w $W/a
check help 0 - EMPTY -- $V --help
grep -q '^Usage: synfin' $W/out; result help-text $?
check version 0 - EMPTY -- $V -V

# A server child and its twin the kernel dropped at birth (same cookie):
# one connection, closed passively, not a reset plus a partial one.
$MK $W/dropped.cap --scenario dropped
$PY - "$V" $W/dropped.cap >$W/pyout 2>&1 <<'PY'
import json, subprocess, sys
v, cap = sys.argv[1], sys.argv[2]
run = lambda *a: [json.loads(l) for l in subprocess.run([v, *a, "-r", cap], check=True,
                  capture_output=True, text=True).stdout.splitlines()]
life = run("life", "-j")
assert [(c["closer"], c["partial"], c["duration_ns"]) for c in life] == [("passive", False, 18200000)], life
tail = run("-j")
assert [e.get("child_dropped", False) for e in tail] == [False, False, True, True, False, False, False], tail
csv = subprocess.run([v, "-r", cap, "--csv"], check=True, capture_output=True, text=True).stdout
assert csv.count("child_dropped") == 2, csv
PY
result life-child-dropped-at-birth $? "$(cat $W/pyout)"
check ladder-child-dropped 0 $G/dropped.ladder EMPTY -- $V ladder -r $W/dropped.cap

# life, ladder, CSV and filters on whole connections (mkcap.py lifecycle):
# a local pair closed by the client, a passive close for a remote client,
# refused, an IPv6 reset, a simultaneous close, a lost marker.
$MK $W/life.cap --scenario lifecycle
check life-table 0 $G/life.table EMPTY -- $V life -r $W/life.cap
check life-json 0 $G/life.json EMPTY -- $V life -r $W/life.cap -j
check life-csv 0 $G/life.csv EMPTY -- $V life -r $W/life.cap --csv
check life-count 0 $G/life.count2 EMPTY -- $V life -r $W/life.cap -c 2
check ladder 0 $G/life.ladder EMPTY -- $V ladder -r $W/life.cap
check ladder-wallclock 0 $G/life.ladder-T EMPTY -- $V ladder -r $W/life.cap -T -c 1
check tail-csv 0 $G/life.tail-csv EMPTY -- $V -r $W/life.cap --csv -T
check tail-color 0 $G/life.tail-color EMPTY -- $V -r $W/life.cap --color=always -c 6
check tail-no-color-in-pipe 0 - EMPTY -- $V -r $W/life.cap -c 6
! grep -q $'\033' $W/out; result tail-no-color-by-default $?
check ladder-csv-refused 2 - 'ladder draws pictures only' -- $V ladder -r $W/life.cap --csv
check ladder-json-refused 2 - EMPTY -- $V ladder -r $W/life.cap -j
grep -q '^{"type": "error", "schema": 1, "error": "ladder draws pictures only' $W/out; result ladder-json-refused-as-json $? "$(cat $W/out)"
# JSON and CSV parsed back by real parsers, with the values that matter.
$PY - $W/life.cap "$V" >$W/pyout 2>&1 <<'PY'
import csv, io, json, subprocess, sys
cap, v = sys.argv[1], sys.argv[2]
def run(*a):
    return subprocess.run([v, *a, "-r", cap], check=True, capture_output=True, text=True).stdout
life = [json.loads(l) for l in run("life", "-j").splitlines()]
conns = [c for c in life if "lost" not in c]
assert [c["comm"] for c in conns] == ["python3", "nginx", "nc", "wget", "curl", "peer-a", "peer-b"], conns
by = {c["comm"]: c for c in conns}
assert by["curl"]["closer"] == "active" and by["curl"]["tw_reason"] == "expired"
assert by["curl"]["states_ns"]["time_wait"] == 60_000_000_000
assert by["curl"]["states_ns"]["fin_wait2"] == 400_340_000
assert by["python3"]["closer"] == "passive" and by["python3"]["states_ns"]["close_wait"] == 400_260_000
assert by["nc"]["closer"] == "refused" and by["wget"]["closer"] == "reset"
assert by["wget"]["family"] == "inet6" and by["wget"]["saddr"] == "2001:db8::1"
assert by["peer-a"]["closer"] == by["peer-b"]["closer"] == "simultaneous"
assert all(c["duration_ns"] == sum(c["states_ns"].values()) for c in conns), [(c["comm"], c["duration_ns"], sum(c["states_ns"].values())) for c in conns]
assert sum(1 for c in life if "lost" in c) == 1
rows = list(csv.DictReader(io.StringIO(run("life", "--csv"))))
assert [r["comm"] for r in rows] == [c["comm"] for c in conns]
assert rows[4]["time_wait_ms"] == "60000.000" and rows[4]["closer"] == "active"
tail = list(csv.DictReader(io.StringIO(run("--csv"))))
assert len(tail) == 38 and tail[19]["event"] == "lost" and tail[19]["lost"] == "3"
assert {r["event"] for r in tail} == {"state", "tw_enter", "tw_exit", "lost"}
PY
result life-json-csv-parse $? "$(cat $W/pyout)"
# Filters on a capture: the same rules the module applies live.
filt() { $V -r $W/life.cap -j "$@" | $PY -c 'import json,sys; print(" ".join(sorted({json.loads(l).get("comm", "LOST") for l in sys.stdin})))'; }
fexpect() { # NAME WANT ARGS...
	local name=$1 want=$2 got; shift 2
	got=$(filt "$@"); [ "$got" = "$want" ]; result "filter-$name" $? "got '$got', want '$want'"
}
fexpect ipv6 "LOST wget" -6
fexpect ipv4 "LOST curl nc nginx peer-a peer-b python3" -4
fexpect pid "LOST nginx" -p 400
fexpect comm "LOST peer-b" --comm peer-b
fexpect lport "LOST python3" -L 8080
fexpect dport "LOST curl" -D 8080
fexpect addr-net "LOST nginx" --addr 198.51.0.0/16
fexpect addr6 "LOST wget" --addr 2001:db8::2
fexpect state "LOST peer-a peer-b" --state CLOSING
fexpect state-ss-spelling "LOST curl peer-a peer-b" --state time-wait
fexpect netns-none "LOST" --netns 1
fexpect combined "LOST curl" -4 -D 8080 --comm curl
# life keeps whole connections under a local-port filter: a client's first
# event has no port yet, yet its line still starts at the SYN.
$V life -r $W/life.cap -j -L 41000 >$W/lp 2>&1
grep -q '"comm": "curl".*"syn": 120000' $W/lp; result life-lport-whole-connection $? "$(cat $W/lp)"

# --- ABI v2 (issue 15): v1 captures replay unchanged, v2 numbers shown ---
# A v1 capture (what every module before ABI 2 wrote): the same keys and
# values as before ABI 2 (golden/v1, the outputs of that viewer), plus the
# new keys, every one null ("unknown", never 0).
for g in basic.json basic.json-T life.json; do
	case $g in
	basic.json) args="-r $W/basic.cap -j" ;;
	basic.json-T) args="-r $W/basic.cap -j -T" ;;
	life.json) args="life -r $W/life.cap -j" ;;
	esac
	# shellcheck disable=SC2086
	$V $args >$W/v1out 2>&1
	$PY - $W/v1out $G/v1/$g >$W/pyout 2>&1 <<'PY'
import json, sys
new = {"ms", "tx_bytes", "rx_bytes", "segs_out", "segs_in", "retrans", "srtt_us",
       "rttvar_us", "min_rtt_us", "uid", "cgroup", "cgroup_id"}
got = [json.loads(l) for l in open(sys.argv[1])]
old = [json.loads(l) for l in open(sys.argv[2])]
assert len(got) == len(old), (len(got), len(old))
for g, o in zip(got, old):
    if g["type"] in ("event", "life"):
        extra = set(g) - set(o)
        assert extra == new - ({"cgroup"} if g["type"] == "event" else {"ms"}), extra
        assert all(g[k] is None for k in extra), {k: g[k] for k in extra}
    assert {k: g[k] for k in o} == o, (g, o)
PY
	result "v1-replays-unchanged ($g)" $? "$(cat $W/pyout)"
done
# CSV: the old columns, in their old places; the new ones appended, empty.
for g in life.csv life.tail-csv; do
	case $g in
	life.csv) args="life -r $W/life.cap --csv" ;;
	life.tail-csv) args="-r $W/life.cap --csv -T" ;;
	esac
	# shellcheck disable=SC2086
	$V $args >$W/v1out 2>&1
	$PY - $W/v1out $G/v1/$g >$W/pyout 2>&1 <<'PY'
import csv, sys
got = list(csv.reader(open(sys.argv[1])))
old = list(csv.reader(open(sys.argv[2])))
assert len(got) == len(old)
for g, o in zip(got, old):
    assert g[:len(o)] == o, (g, o)
    assert all(x == "" for x in g[len(o):]) or g is got[0], g
PY
	result "v1-replays-unchanged ($g)" $? "$(cat $W/pyout)"
done
# A v2 capture: the numbers as recorded, in every output.
$MK $W/life2.cap --scenario lifecycle --abi 2
check life-v2-table 0 $G/life-v2.table EMPTY -- $V life -r $W/life2.cap
check life-v2-json 0 $G/life-v2.json EMPTY -- $V life -r $W/life2.cap -j
check life-v2-csv 0 $G/life-v2.csv EMPTY -- $V life -r $W/life2.cap --csv
check tail-v2-table 0 $G/tail-v2.table EMPTY -- $V -r $W/life2.cap -c 8
check tail-v2-csv 0 $G/tail-v2.csv EMPTY -- $V -r $W/life2.cap --csv -c 8
$PY - "$V" $W/life2.cap >$W/pyout 2>&1 <<'PY'
import csv, io, json, subprocess, sys
v, cap = sys.argv[1], sys.argv[2]
def run(*a):
    return subprocess.run([v, *a, "-r", cap], check=True, capture_output=True, text=True).stdout
life = {c["comm"]: c for c in map(json.loads, run("life", "-j").splitlines()) if c["type"] == "life"}
# curl: 8 records; the last with counters is its 6th (the hand-off CLOSE):
# mkcap's k=6 -> tx 36001, rx 72000; the timewait exit has none.
c = life["curl"]
assert (c["tx_bytes"], c["rx_bytes"], c["segs_out"], c["segs_in"], c["retrans"]) == (36001, 72000, 18, 12, 5), c
assert (c["srtt_us"], c["rttvar_us"], c["min_rtt_us"], c["uid"], c["cgroup_id"]) == (300, 150, 40, 1000, 7777), c
assert c["cgroup"] is None   # no such cgroup on this host
# A refused connect never had an RTT sample: all three unknown, not 0.
nc = life["nc"]
assert (nc["srtt_us"], nc["rttvar_us"], nc["min_rtt_us"]) == (None, None, None), nc
assert nc["tx_bytes"] is not None
table = run("life")
row = [l for l in table.splitlines() if " curl " in l][0].split()
assert row[5:7] == ["35", "70"], row   # TX_KB RX_KB: 36001 // 1024, 72000 // 1024
ev = [json.loads(l) for l in run("-j").splitlines()]
curl = [e for e in ev if e.get("cookie") == 4503599627370600]
assert curl[0]["ms"] is None                      # its first event
assert curl[1]["ms"] == 0.12 and curl[2]["ms"] == 2.38, [e["ms"] for e in curl]
assert curl[-1]["tx_bytes"] is None and curl[-1]["uid"] == 1000   # timewait exit
rows = list(csv.DictReader(io.StringIO(run("--csv"))))
assert rows[1]["ms"] == "0.120" and rows[0]["ms"] == "", rows[:2]
PY
result v2-numbers-in-every-output $? "$(cat $W/pyout)"
# Round trip: a v2 capture written again (-r -w) is the same bytes.
$V -r $W/life2.cap -w $W/life2-again.cap && cmp $W/life2.cap $W/life2-again.cap
result v2-capture-round-trips $?
# A v1 capture written again is a v2 capture whose numbers stay unknown.
$V -r $W/life.cap -w $W/life-up.cap && $V life -r $W/life-up.cap -j >$W/up.json &&
	$V life -r $W/life.cap -j | cmp -s - $W/up.json
result v1-capture-rewritten-as-v2-keeps-unknown $?
# Filters on the new fields and lists (the module runs the same code).
fexpect2() { # NAME "COMMS" ARGS...
	local name=$1 want=$2
	shift 2
	got=$($V life -r $W/life2.cap -j "$@" 2>&1 | $PY -c 'import json,sys
print(" ".join(sorted(json.loads(l).get("comm", "LOST") for l in sys.stdin)))')
	[ "$got" = "$want" ]; result "filter-$name" $? "got: $got"
}
fexpect2 uid "LOST curl nc nginx peer-a peer-b python3 wget" -u 1000
fexpect2 uid-other "LOST" -u 1001
fexpect2 lport-list "LOST nginx python3" -L 8080,80
fexpect2 dport-list "LOST curl wget" -D 443,8080
fexpect2 pid-list "LOST nc nginx" -p 400,500
fexpect uid-on-v1 "LOST" -u 0
check usage-port-list-empty 2 - '-L needs a port from 1 to 65535, or a comma list' -- $V -L 80,
check usage-port-list-zero 2 - '-L needs a port' -- $V -L 80,0
check usage-port-list-long 2 - '-D takes at most 16 ports' -- $V -D 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
check usage-pid-list 2 - '-p needs a process id' -- $V -p 1,x
check usage-uid-name 2 - "-u needs a uid or a user name, and 'no-such-user-here' is neither" -- $V -u no-such-user-here
check usage-cgroup 2 - "--cgroup: '/no/such/cgroup' is not a cgroup v2 directory" -- $V --cgroup /no/such/cgroup
check usage-addr 2 - '--addr needs an IPv4 or IPv6 address' -- $V --addr 300.1.1.1
check usage-prefix 2 - '--addr needs' -- $V --addr 10.0.0.0/33
check usage-port 2 - '-D needs a port from 1 to 65535' -- $V -D 70000
check usage-state 2 - "unknown state 'BOGUS'" -- $V --state SYN_SENT,BOGUS
check usage-comm 2 - '--comm needs a command name of 1 to 15' -- $V --comm sixteen-chars-xxx
check usage-4-6 2 - '-4 and -6 together' -- $V -4 -6
check usage-json-csv 2 - EMPTY -- $V -j --csv
grep -q '^{"type": "error", "schema": 1, "error": "-j and --csv: choose one output format"}' $W/out; result usage-json-csv-as-json $? "$(cat $W/out)"
check usage-color 2 - '--color takes auto, always or never' -- $V --color=sometimes
check usage-filter-on-stats 2 - 'stats does not take filters' -- $V stats -L 80
check usage-write-on-life 2 - 'life does not take -w' -- $V life -w $W/x
for c in tail life ladder tw stats metrics; do
	$V $c --help >$W/h 2>&1 && grep -q "^Usage: synfin.*$c\|^Usage: synfin \[tail\]" $W/h
	result "help-$c" $? "$(head -2 $W/h)"
done
$V help ladder | grep -q '^Usage: synfin ladder'; result help-command-form $?

# --- stats/metrics/tw (helper) ---
# Usage errors of the live commands' options: exit 2 before any device is
# opened, so they run here without the module.
check usage-metrics-csv 2 - 'metrics does not take --csv' -- $V metrics --csv
check usage-metrics-netns-allns 2 - 'choose one' -- $V metrics --netns 5 --all-netns
check usage-metrics-listen-textfile 2 - 'choose one' -- $V metrics --listen 29117 --textfile /tmp/x.prom
check usage-metrics-listen-bad 2 - 'needs \[ADDR:\]PORT' -- $V metrics --listen 70000
check usage-metrics-listen-name 2 - 'not an IP address' -- $V metrics --listen localhost:29117
check usage-metrics-ports-zero 2 - 'from 1 to 65535' -- $V metrics --ports 0
check usage-tail-ports 2 - 'does not take --ports' -- $V tail --ports 80
check usage-metrics-textfile-arg 2 - 'requires an argument' -- $V metrics --textfile
check usage-stats-top 2 - 'stats does not take -n' -- $V stats -n 3
check usage-stats-textfile 2 - 'stats does not take --textfile' -- $V stats --textfile $W/x.prom
check usage-stats-watch 2 - 'stats does not take --watch' -- $V stats --watch
check usage-tw-advise-all-netns 2 - '--advise reads one netns.*--netns INODE' -- $V tw --advise --all-netns
check usage-tw-advise-all-netns-json 2 - EMPTY -- $V tw --advise --all-netns -j
grep -q '^{"type": "error", "schema": 1, "error": "--advise reads one netns' $W/out; result usage-tw-advise-json-error $? "$(cat $W/out)"
check usage-tw-watch-zero 2 - '--watch takes a refresh interval from 1 to 3600' -- $V tw --watch 0
check usage-tw-watch-big 2 - '--watch takes a refresh interval' -- $V tw --watch=3601
check usage-tw-netns-zero 2 - '--netns needs a namespace inode' -- $V tw --netns 0
check usage-tw-netns-all-netns 2 - '--netns and --all-netns: choose one' -- $V tw --netns 5 --all-netns
check usage-tw-read 2 - 'tw does not take -r' -- $V tw --advise -r $W/basic.cap
check usage-tw-textfile 2 - 'tw does not take --textfile' -- $V tw --textfile $W/x.prom
[ ! -e $W/x.prom ]; result usage-errors-write-nothing $?

# The man page: renders cleanly, and documents every long option.
if command -v groff >/dev/null; then
	groff -man -ww -z docs/synfin.1 >$W/groff 2>&1 && [ ! -s $W/groff ]
	result man-page-renders $? "$(head -5 $W/groff)"
else
	echo "SKIP man-page-renders: groff not installed"
fi
missing=$(sed -n 's/^\t\t{ "\([a-z-]*\)",.*/\1/p' userspace/main.c | while read -r o; do
	grep -qF -- "\\-\\-${o//-/\\-}" docs/synfin.1 || [ "$o" = colour ] || echo "$o"; done)
[ -z "$missing" ]; result man-page-options $? "missing: $missing"

# --- What a new user met (issue 17): each of these failed before its fix.
$MK $W/crafted.cap --scenario crafted
# Every -j line these captures give, against docs/synfin.schema.json: a
# type and the schema version on each, valid UTF-8, no key twice.
: >$W/all.json
for args in "-r $W/basic.cap" "-r $W/basic.cap -T" "-r $W/life.cap" "-r $W/crafted.cap" \
	"life -r $W/life.cap" "life -r $W/life.cap -T" "life -r $W/crafted.cap" "-r $W/garbage.cap" \
	"-r $W/life2.cap" "life -r $W/life2.cap" \
	"-r $W/trunc.cap" "--bogus" "ladder -r $W/life.cap"; do
	# shellcheck disable=SC2086
	$V $args -j >>$W/all.json 2>/dev/null
done
out=$($PY tests/lib/jsoncheck.py $W/all.json 2>&1)
# (the status taken first: a $(...) in result's arguments would reset $?)
rc=$?
result "json-schema ($(wc -l <$W/all.json) lines)" $rc "$out"
for t in event lost life error; do
	grep -q "^{\"type\": \"$t\", \"schema\": 1, " $W/all.json; result "json-type-$t-first" $?
done
# A state number past the table (a crafted file) matches no --state: the
# filter shifted by it (undefined; in the plain build 33 matched bit 1).
check crafted-state-filter 0 - EMPTY -- $V -r $W/crafted.cap -j --state ESTABLISHED
! grep -q state33 $W/out; result crafted-state-past-table-matches-nothing $? "$(grep state33 $W/out)"
# Every JSON line is valid UTF-8 with no key twice; comms keep their UTF-8,
# a stray byte is U+FFFD, a control character escaped.
for args in "-r $W/crafted.cap -j" "-r $W/basic.cap -j -T" "life -r $W/life.cap -j" "life -r $W/crafted.cap -j"; do
	# shellcheck disable=SC2086
	$V $args >$W/jl 2>&1
	$PY - $W/jl >$W/pyout 2>&1 <<'PY'
import json, sys
def nodup(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, "duplicate keys %s" % dup
    return dict(pairs)
for raw in open(sys.argv[1], "rb"):
    json.loads(raw.decode("utf-8"), object_pairs_hook=nodup)
PY
	result "json-valid-utf8-no-dup-keys ($args)" $? "$(cat $W/pyout)"
done
$V -r $W/crafted.cap -j >$W/cj
$PY - $W/cj >$W/pyout 2>&1 <<'PY'
import json, sys
by = {e["cookie"]: e for e in map(json.loads, open(sys.argv[1], encoding="utf-8"))}
assert by[13]["comm"] == "h\u00e9llo-\u4e16", by[13]["comm"]
assert by[14]["comm"] == "bad\ufffdbyte\u0001", by[14]["comm"]
assert by[12]["tw_count"] == 7 and by[12]["in_timewait"] is True
PY
result json-comm-utf8 $? "$(cat $W/pyout)"
# A prefork server: the master listens, a worker accepts. life names the
# worker (the connection's last owner) and -p selects it whole; before, the
# first owner (the master) stuck, and -p WORKER showed nothing.
$V life -r $W/crafted.cap -j -p 61 >$W/pf 2>&1
$V life -r $W/crafted.cap -j -p 60 >$W/pf60 2>&1
$PY - $W/pf $W/pf60 >$W/pyout 2>&1 <<'PY'
import json, sys
w = [json.loads(l) for l in open(sys.argv[1])]
m = [json.loads(l) for l in open(sys.argv[2])]
assert len(w) == 1 and w[0]["pid"] == 61 and w[0]["comm"] == "worker" and not w[0]["partial"], w
assert w[0]["states_ns"]["syn"] == 100000 and w[0]["open"] == "passive", w
assert m == [], m
PY
result life-owner-is-the-acceptor $? "$(cat $W/pyout)"
# The same comm in every output: CSV quoted per RFC 4180 (tail and life),
# the table one '?' per character it cannot show.
$PY - "$V" $W/crafted.cap >$W/pyout 2>&1 <<'PY'
import csv, io, subprocess, sys
v, cap = sys.argv[1], sys.argv[2]
def run(*a):
    return subprocess.run([v, *a, "-r", cap], check=True, capture_output=True).stdout.decode("utf-8")
life = list(csv.DictReader(io.StringIO(run("life", "--csv"))))
assert [r["comm"] for r in life if r["pid"] == "42"] == ['a"b,c'], life
tail = list(csv.DictReader(io.StringIO(run("--csv"))))
assert {r["comm"] for r in tail if r["pid"] == "42"} == {'a"b,c'}
assert [r["comm"] for r in tail if r["cookie"] == "13"] == ["h\u00e9llo-\u4e16"]
assert [r["comm"] for r in tail if r["cookie"] == "14"] == ["bad?byte?"]
table = run()
assert " h?llo-?  " in table and " bad?byte?  " in table, table
PY
result comm-same-in-every-output $? "$(cat $W/pyout)"

# -r and -w naming one file, however spelled, would truncate it: refused by
# device and inode. Reading stdin and writing stdout is fine.
cp $W/basic.cap $W/same.cap
check same-file-relative 2 - 'name the same file' -- sh -c "cd $W && $(realpath $V) -r same.cap -w ./same.cap"
ln -f $W/same.cap $W/same-link.cap
check same-file-hard-link 2 - 'name the same file' -- $V -r $W/same.cap -w $W/same-link.cap
check same-file-stdin-stdout 2 - 'name the same file' -- sh -c "$V -r - -w - <$W/same.cap >>$W/same.cap"
cmp -s $W/same.cap $W/basic.cap; result same-file-left-intact $?
check stdin-to-stdout 0 - EMPTY -- sh -c "$V -r - -w - <$W/basic.cap >$W/copy.cap"
check stdin-to-stdout-replays 0 $G/basic.json EMPTY -- $V -r $W/copy.cap -j

# -r - streams from a pipe: records come out as they arrive (a partial
# record waits for the rest), and SIGINT while blocked exits 0 with nothing
# lost (ssh host sudo synfin -w - | synfin life -r -).
$PY - "$V" $W/basic.cap >$W/pyout 2>&1 <<'PY'
import os, signal, subprocess, sys, time
v, cap = sys.argv[1], sys.argv[2]
data = open(cap, "rb").read()
p = subprocess.Popen([v, "-r", "-", "-j"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
os.set_blocking(p.stdout.fileno(), False)
out = b""
def lines(want):
    global out
    end = time.time() + 10
    while time.time() < end and out.count(b"\n") < want:
        time.sleep(0.05)
        out += p.stdout.read() or b""
    return out.count(b"\n")
p.stdin.write(data[:64 + 128 * 3 + 50]); p.stdin.flush()
n = lines(3)
assert n == 3, "3 records written, %d lines out: %r" % (n, out)
p.stdin.write(data[64 + 128 * 3 + 50:64 + 128 * 4]); p.stdin.flush()
n = lines(4)
assert n == 4, "the 4th record's rest written, %d lines out" % n
p.send_signal(signal.SIGINT)
rc = p.wait(10)
err = p.stderr.read()
assert rc == 0 and not err, "SIGINT while blocked: exit %d, stderr %r" % (rc, err)
PY
result stdin-pipe-streams-and-sigint-exits-0 $? "$(cat $W/pyout)"

# Output that cannot be written is an error, never success.
for args in "-r $W/basic.cap" "-r $W/basic.cap -j" "-r $W/basic.cap --csv" "life -r $W/life.cap" "ladder -r $W/life.cap" "-r $W/basic.cap -w -"; do
	check "write-error ($args)" 1 - 'writing to standard output: No space left on device' -- sh -c "$V $args >/dev/full"
	[ "$(wc -l <$W/err)" -eq 1 ]; result "write-error-said-once ($args)" $? "$(cat $W/err)"
done
check write-error-json-error 1 - '^synfin: writing to standard output: No space left on device$' -- sh -c "$V -r $W/garbage.cap -j >/dev/full"

# The command may follow the options (the man page's synfin -r bug.cap life).
check command-after-options 0 $G/life.table EMPTY -- $V -r $W/life.cap life
# A filter given twice is refused, not silently replaced; --state adds up.
check repeated-dport 2 - '^synfin: -D given twice' -- $V -r $W/life.cap -D 80 -D 443
check repeated-lport 2 - '^synfin: -L given twice' -- $V -r $W/life.cap -L 80 --lport 443
check repeated-pid 2 - '^synfin: -p given twice' -- $V -r $W/life.cap -p 1 -p 2
check repeated-comm 2 - '^synfin: --comm given twice' -- $V -r $W/life.cap --comm a --comm b
check repeated-addr 2 - '^synfin: --addr given twice' -- $V -r $W/life.cap --addr ::1 --addr 10.0.0.1
check repeated-netns 2 - '^synfin: --netns given twice' -- $V -r $W/life.cap --netns 1 --netns 2
check repeated-read 2 - '^synfin: -r given twice' -- $V -r $W/life.cap -r $W/basic.cap
fexpect state-twice-adds "LOST curl peer-a peer-b" --state CLOSING --state TIME_WAIT
# Usage errors say synfin and the real cause, once.
check usage-missing-argument 2 - "^synfin: -D requires an argument; see synfin tail --help$" -- $V -D
[ "$(wc -l <$W/err)" -eq 1 ]; result usage-missing-argument-one-line $? "$(cat $W/err)"
check usage-missing-argument-long 2 - "^synfin: --dport requires an argument" -- $V life --dport
check usage-unknown-long 2 - "^synfin: unknown option '--bogus'; see synfin tail --help$" -- $V --bogus
check usage-unknown-short 2 - "^synfin: unknown option '-x'" -- $V life -x
check usage-no-argument-long 2 - "^synfin: --json takes no argument" -- $V --json=1
check usage-no-argument-long-nonchar 2 - "^synfin: --csv takes no argument" -- $V --csv=1
check usage-missing-argument-cluster 2 - "^synfin: -D requires an argument" -- $V -jD
! grep -q 'userspace/synfin\|invalid option\|unrecognized' $W/err; result usage-no-getopt-message $? "$(cat $W/err)"
# The not-loaded hint names what works: modprobe once the module is
# installed (make install, DKMS), insmod from a build tree otherwise.
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
	mkdir -p "$W/mods/$(uname -r)"
	echo "updates/dkms/synfin.ko.xz:" >"$W/mods/$(uname -r)/modules.dep"
	check no-device-installed 1 - 'module not loaded \(sudo modprobe synfin\)' -- \
		unshare --mount sh -c "mkdir -p /lib/modules && mount --bind $W/mods /lib/modules && exec $V --device $W/no-such-device"
else
	echo "SKIP no-device-installed: needs root and unshare --mount"
fi
# ladder is linear in open connections: 20 000 open at once take a small
# multiple of life's time on the same capture (side by side, this run),
# not 100x as when each close scanned every connection for its peer.
$MK $W/many.cap --scenario many -n 20000
t0=$(date +%s%N); $V life -r $W/many.cap >/dev/null; t1=$(date +%s%N); $V ladder -r $W/many.cap >/dev/null; t2=$(date +%s%N)
lifems=$(((t1 - t0) / 1000000)) ladderms=$(((t2 - t1) / 1000000))
echo "# ladder on 20 000 open connections: ${ladderms} ms, life ${lifems} ms"
[ "$ladderms" -le $((lifems * 20 + 200)) ]; result ladder-linear-20000-open $? "ladder ${ladderms} ms vs life ${lifems} ms"

# Bounded fuzz: mutated captures give exit 0 or 1 with a message, never a
# crash or a sanitizer report.
$PY - $W/basic.cap $W/fuzz $W/life.cap <<'PY'
import os, random, sys
random.seed(1234)
os.makedirs(sys.argv[2])
for i in range(300):
    data = open(sys.argv[1 if i % 2 else 3], "rb").read()
    b = bytearray(data)
    for _ in range(random.randint(1, 8)):
        op = random.random()
        pos = random.randrange(len(b))
        if op < 0.6:
            b[pos] = random.randrange(256)
        elif op < 0.8:
            del b[pos:pos + random.randint(1, 200)]
        else:
            b[pos:pos] = os.urandom(random.randint(1, 200))
    open(os.path.join(sys.argv[2], "%03d.cap" % i), "wb").write(b)
PY
fuzz_bad=0
for f in $W/fuzz/*.cap; do
	for fmt in "" -j "-j -T" --csv "life" "life -j" "ladder" "-6 -L 8080 --state CLOSING"; do
		# shellcheck disable=SC2086
		$V $fmt -r $f >/dev/null 2>$W/ferr; rc=$?
		if [ $rc -gt 1 ] || grep -Eq 'Sanitizer|runtime error' $W/ferr; then
			fuzz_bad=$((fuzz_bad + 1)); echo "#   $f ($fmt): exit $rc $(head -2 $W/ferr)"
		elif [ $rc -eq 1 ] && ! grep -q '^synfin: ' $W/ferr && [ "$fmt" = "" ]; then
			fuzz_bad=$((fuzz_bad + 1)); echo "#   $f: exit 1 without a message"
		fi
	done
done
[ $fuzz_bad -eq 0 ]; result "fuzz-300-mutated-captures" $?
