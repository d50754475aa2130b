# Helpers for VM tests (sourced). Run inside the lab guest, repo root as cwd.
# A test prints what it checks; it exits 0 pass, 1 fail, 77 skip.
set -u
SYNFIN=${SYNFIN:-userspace/synfin}
T=tests/tools/bin
EV="/usr/bin/python3 tests/lib/events.py"
W=$(mktemp -d /tmp/synfin-test.XXXXXX)
# The test's own network namespace (the suite gives each test a fresh one).
MYNS=$(readlink /proc/self/ns/net | tr -dc 0-9)
# /dev/synfin gives the all-namespaces view (module-wide stats, every
# netns's records) only to an opener in the initial netns: run there what
# needs it. Anything opened in the test's netns sees that netns only.
GLOBAL="nsenter --net=/proc/1/ns/net --"
DEVCHECK="$GLOBAL $T/devcheck"

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "  $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" != "$3" ]; then
		echo "  $1: got '$2', want '$3'"
		return 1
	fi
	note "$1: $2"
}

# Start a synfin reader writing JSON to FILE; wait until its file is open.
start_reader() { # FILE [tail|life] [synfin args...]
	local out=$1; shift
	local before
	before=$($DEVCHECK stats | sed 's/.*readers=\([0-9]*\).*/\1/')
	local cmd=()
	case "${1:-}" in tail | life) cmd=("$1"); shift ;; esac	# the command comes first
	$SYNFIN "${cmd[@]}" -j "$@" >"$out" 2>"$out.err" &
	READER=$!
	$DEVCHECK wait-readers $((before + 1)) 30 || fail "reader did not open /dev/synfin"
}

stop_reader() { # PID
	kill -INT "$1" 2>/dev/null
	wait "$1"
}

# Wait until a TCP port is listening (servers start slowly under TCG).
wait_listen() { # PORT
	for _ in $(seq 1 600); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	fail "nothing listening on port $1"
}

# Load the module with the lab's --param values (plus any given here).
load_module() {
	# shellcheck disable=SC2086
	insmod "$SYNFIN_MODULE" ${SYNFIN_PARAMS:-} "$@"
}

ensure_module() {
	grep -q '^synfin ' /proc/modules || load_module || fail "insmod"
}

# Let softirq work settle: the last ACKs of a close run after close() returns.
settle() { sleep "${1:-0.5}"; }

# A key of `synfin tw -j` output (in the calling netns): tw_json KEY [ARGS]
tw_json() { # KEY [synfin tw args...]
	local key=$1; shift
	$SYNFIN tw -j "$@" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$key"
}

# Count of one port in a `synfin tw -j` list: tw_port_count LIST PORT
tw_port_count() {
	$SYNFIN tw -j -n 4096 | /usr/bin/python3 -c '
import json, sys
rows = json.load(sys.stdin)[sys.argv[1]]
print(sum(r["count"] for r in rows if r["port"] == int(sys.argv[2])))' "$1" "$2"
}

sockstat_tw() { sed -n 's/^TCP: .* tw \([0-9]*\).*/\1/p' /proc/net/sockstat; }

# A synfin count against its oracle, the oracle read just before and just
# after: while socks expire (a slow debug kernel, 3 s FIN_WAIT2 timers)
# synfin's count must lie between the two; when nothing moved, equal it.
expect_between() { # WHAT SYNFIN-COMMAND ORACLE-COMMAND
	local before got after
	before=$(eval "$3"); got=$(eval "$2"); after=$(eval "$3")
	if [ "$before" = "$after" ]; then
		expect_eq "$1" "$got" "$before"
	elif [ "$got" -le "$before" ] && [ "$got" -ge "$after" ]; then
		note "$1: $got, between $before before and $after after (expiring)"
	else
		echo "  $1: got '$got', oracle $before before and $after after"
		return 1
	fi
}

expect_total_sockstat() { # WHAT
	expect_between "$1" "tw_json total" sockstat_tw
}
ss_count() { ss -Htan "$@" | wc -l; }

# After `ip netns del`: its timewait socks are purged later, by a worker.
# Wait until FILE (a reader's JSON) has N netns exits for remote port PORT.
wait_netns_exits() { # FILE PORT N
	for _ in $(seq 1 100); do
		[ "$(grep -c "\"dport\": $2, .*\"reason\": \"netns\"" "$1")" -ge "$3" ] && return 0
		sleep 0.1
	done
	note "only $(grep -c "\"dport\": $2, .*\"reason\": \"netns\"" "$1") of $3 netns exits for port $2"
}

# Make a netns with loopback up: new_netns NAME
new_netns() {
	ip netns add "$1" || fail "ip netns add $1"
	ip -n "$1" link set lo up
}

# This netns's TcpExt MIB counters, one "Name value" per line.
tcpext() {
	awk '/^TcpExt:/ { if (!h) { split($0, n); h = 1 } else { for (i = 2; i <= NF; i++) print n[i], $i } }' /proc/net/netstat
}

# Counters that moved between two tcpext snapshots: "Name+delta ..."
mib_delta() { # BEFORE AFTER
	awk 'NR == FNR { a[$1] = $2; next } $2 != a[$1] { printf "%s+%d ", $1, $2 - a[$1] }' "$1" "$2"
}

# No probe hit was skipped by the kernel, and no timewait sock went
# uncounted for want of a node: else counts could be off. EXPECT-style.
expect_nothing_missed() {
	local st
	st=$($DEVCHECK stats)
	expect_eq "probe hits skipped (kprobe nmissed)" "$(echo "$st" | sed -n 's/.*hook_missed=\([0-9]*\).*/\1/p')" 0 &&
		expect_eq "timewait socks untracked" "$(echo "$st" | sed -n 's/.*tw_untracked=\([0-9]*\).*/\1/p')" 0
}

# A SYNFIN_IOC_HEALTH counter (module-wide: read in the initial netns), or
# "n/a" from a module without the ioctl: synfin_health KEY
synfin_health() {
	rm -f $W/health.ready
	$GLOBAL /usr/bin/python3 tests/lib/devholder.py $W/health.ready $W/health.json --health &
	local h=$!
	for _ in $(seq 200); do [ -s $W/health.ready ] && break; sleep 0.05; done
	kill -USR1 $h; wait $h
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("health", {}).get(sys.argv[2], "n/a"))' $W/health.json "$1"
}
