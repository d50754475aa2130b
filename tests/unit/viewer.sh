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

# Bounded fuzz: mutated captures give exit 0 or 1 with a message, never a
# crash or a sanitizer report.
$PY - $W/basic.cap $W/fuzz <<'PY'
import os, random, sys
random.seed(1234)
data = open(sys.argv[1], "rb").read()
os.makedirs(sys.argv[2])
for i in range(300):
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
	for fmt in "" -j "-j -T"; do
		$V -r $f $fmt >/dev/null 2>$W/ferr; rc=$?
		if [ $rc -gt 1 ] || grep -Eq 'Sanitizer|runtime error' $W/ferr; then
			fuzz_bad=$((fuzz_bad + 1)); echo "#   $f ($fmt): exit $rc $(head -2 $W/ferr)"
		elif [ $rc -eq 1 ] && ! grep -q '^synfin: ' $W/ferr && [ "$fmt" = "" ]; then
			fuzz_bad=$((fuzz_bad + 1)); echo "#   $f: exit 1 without a message"
		fi
	done
done
[ $fuzz_bad -eq 0 ]; result "fuzz-300-mutated-captures" $?
