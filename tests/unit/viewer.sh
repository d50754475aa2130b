#!/bin/bash
# Viewer tests on replay files: no kernel needed. One result line per check
# ("PASS name" / "FAIL name"), like tests/vm/suite.
# Usage: tests/unit/viewer.sh [VIEWER]   (default userspace/synfin)
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
$MK $W/abi2.cap --abi 2
$MK $W/rec-abi2.cap --header-abi 1 --abi 2
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
[ "$(grep -c '"ts_ns"' $W/trunc.json)" -eq 8 ] && tail -1 $W/trunc.json | grep -q '^{"error": ".*truncated record'
result truncated-keeps-whole-records $? "$(cat $W/trunc.json | tail -2)"
check partial-record-only 1 - 'truncated record at byte 64 \(3 stray bytes\)' -- $V -r $W/shortrec.cap
check garbage 1 - 'is not a synfin capture' -- $V -r $W/garbage.cap
check zero-length 1 - 'is not a synfin capture' -- $V -r $W/zero.cap
check wrong-abi-header 1 - 'capture has ABI v2.*reads ABI v1' -- $V -r $W/abi2.cap
check wrong-abi-record 1 - 'bad record at byte 64 \(ABI 2' -- $V -r $W/rec-abi2.cap
check bad-kind 1 - 'bad record at byte 320 \(ABI 1, kind 99\)' -- $V -r $W/badkind.cap
check missing-file 1 - 'cannot open capture /nonexistent' -- $V -r /nonexistent
check json-error 1 - EMPTY -- $V -r $W/garbage.cap -j
grep -q '^{"error": ".*not a synfin capture' $W/out; result json-error-object $? "$(cat $W/out)"
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
grep -q '^{"error": "ladder draws pictures only' $W/out; result ladder-json-refused-as-json $? "$(cat $W/out)"
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
check usage-addr 2 - '--addr needs an IPv4 or IPv6 address' -- $V --addr 300.1.1.1
check usage-prefix 2 - '--addr needs' -- $V --addr 10.0.0.0/33
check usage-port 2 - '-D needs a port from 1 to 65535' -- $V -D 70000
check usage-state 2 - "unknown state 'BOGUS'" -- $V --state SYN_SENT,BOGUS
check usage-comm 2 - '--comm needs a command name of 1 to 15' -- $V --comm sixteen-chars-xxx
check usage-4-6 2 - '-4 and -6 together' -- $V -4 -6
check usage-json-csv 2 - EMPTY -- $V -j --csv
grep -q '^{"error": "-j and --csv: choose one output format"}' $W/out; result usage-json-csv-as-json $? "$(cat $W/out)"
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
check usage-metrics-netns 2 - 'metrics does not take --netns' -- $V metrics --netns 5
check usage-metrics-textfile-arg 2 - 'requires an argument' -- $V metrics --textfile
check usage-stats-top 2 - 'stats does not take -n' -- $V stats -n 3
check usage-stats-textfile 2 - 'stats does not take --textfile' -- $V stats --textfile $W/x.prom
check usage-stats-watch 2 - 'stats does not take --watch' -- $V stats --watch
check usage-tw-advise-all-netns 2 - '--advise reads one netns.*--netns INODE' -- $V tw --advise --all-netns
check usage-tw-advise-all-netns-json 2 - EMPTY -- $V tw --advise --all-netns -j
grep -q '^{"error": "--advise reads one netns' $W/out; result usage-tw-advise-json-error $? "$(cat $W/out)"
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
