#!/bin/bash
# families=: the module with only some of what it does (the bench's
# breakdown, or a host that only counts TIME_WAIT). Each part left out is
# really off and says so: timewait alone counts TIME_WAIT exactly
# (== sockstat tw) and records no state changes; state alone records every
# change (== the ftrace-visible count of the workload) and no timewait;
# what is missing answers EOPNOTSUPP, and the viewer says what to do; the
# exporter serves what there is. Leaves the module loaded with the lab's
# parameters.
. tests/vm/lib.sh
P=/sys/module/synfin/parameters/families
ok=0
expect_eq "families by default" "$(cat $P)" all || ok=1
rmmod synfin || fail "rmmod before the test"
# However it ends, the next test gets the whole module again.
trap 'rmmod synfin 2>/dev/null; load_module; rm -rf "$W"' EXIT
KP=/sys/kernel/debug/kprobes/list
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null

traffic() { # PORT N: N connections, the client closing first (TIME_WAIT)
	$T/tcpconn serve -p "$1" -n "$2" -l 0 & local srv=$!
	wait_listen "$1"
	$T/tcpconn connect -p "$1" -n "$2" -q || fail "client on port $1"
	wait $srv || fail "server on port $1"
	settle
}
# FILE -> "state=N tw_enter=N tw_exit=N lost=N"; the records of children
# the kernel dropped at birth (child_dropped: a race, 2 records each) apart.
kinds() {
	/usr/bin/python3 - "$1" <<'EOF'
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "lost" in e:
        c["lost"] += 1
    elif e.get("child_dropped"):
        c["child_dropped"] += 1
    elif e.get("in_timewait"):
        c["in_timewait"] += 1
    else:
        c[e.get("event", "state")] += 1
print(" ".join("%s=%d" % (k, c[k]) for k in ("state", "tw_enter", "tw_exit", "lost")))
if c["child_dropped"]:
    print("  (and %d records of children dropped at birth)" % c["child_dropped"], file=sys.stderr)
EOF
}
stat() { $DEVCHECK stats | tr " " "\n" | sed -n "s/^$1=//p"; }
# What the kernel lists as probed, for the families loaded.
probes() { # -> "tw=Y/N accept=Y/N clone=Y/N"
	local tw=N acc=N cl=N
	grep -q 'inet_twsk_kill' $KP && tw=Y
	grep -Eq 'security_sock_graft|inet_csk_accept' $KP && acc=Y
	grep -q 'inet_csk_clone_lock' $KP && cl=Y
	echo "tw=$tw accept=$acc clone=$cl"
}

# --- timewait alone
load_module families=timewait || fail "load with families=timewait"
expect_eq "families=timewait reads back" "$(cat $P)" timewait || ok=1
[ -r $KP ] && { expect_eq "timewait alone: synfin's kprobes" "$(probes)" "tw=Y accept=N clone=N" || ok=1; }
start_reader $W/tw.json
traffic 9711 20
stop_reader $READER
expect_eq "timewait alone: records" "$(kinds $W/tw.json)" "state=0 tw_enter=20 tw_exit=0 lost=0" || ok=1
expect_total_sockstat "timewait alone: synfin tw total == sockstat tw" || ok=1
expect_eq "timewait alone: state hook calls (seen), hook in use" "$(stat seen) $(stat hook)" "0 0" || ok=1
$GLOBAL $SYNFIN stats >$W/stats.out 2>$W/stats.err; rc=$?
expect_eq "timewait alone: synfin stats exit status" $rc 1 || ok=1
grep -q 'families=timewait, without counts' $W/stats.err ||
	{ note "stats did not say why: $(cat $W/stats.err)"; ok=1; }
$GLOBAL $SYNFIN metrics --all-netns >$W/m.prom 2>$W/m.err
expect_eq "timewait alone: synfin metrics exit status" $? 0 || { cat $W/m.err; ok=1; }
expect_eq "timewait alone: metrics have the TIME_WAIT gauge" \
	"$(grep -c "^synfin_timewait_sockets_all{netns=\"$MYNS\"} " $W/m.prom)" 1 || ok=1
expect_eq "timewait alone: metrics have no transition counts" \
	"$(grep -c '^synfin_transitions_total' $W/m.prom)" 0 || ok=1
rmmod synfin || fail "rmmod after families=timewait"

# --- state alone
load_module families=state || fail "load with families=state"
expect_eq "families=state reads back" "$(cat $P)" state || ok=1
[ -r $KP ] && { expect_eq "state alone: synfin's kprobes" "$(probes)" "tw=N accept=N clone=N" || ok=1; }
start_reader $W/st.json
traffic 9712 20
stop_reader $READER
# Each connection: client CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE
# (5), server child LISTEN>SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE (5),
# plus the listener's CLOSE>LISTEN>CLOSE once.
expect_eq "state alone: records" "$(kinds $W/st.json)" "state=202 tw_enter=0 tw_exit=0 lost=0" || ok=1
expect_eq "state alone: every client's lifecycle" \
	"$($EV seq $W/st.json --remote-port 9712 | sort | uniq -c | sed 's/^ *//')" \
	"20 CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>CLOSE" || ok=1
$SYNFIN tw >$W/tw.out 2>$W/tw.err; rc=$?
expect_eq "state alone: synfin tw exit status" $rc 1 || ok=1
grep -q 'families=state, without timewait' $W/tw.err ||
	{ note "tw did not say why: $(cat $W/tw.err)"; ok=1; }
$GLOBAL $SYNFIN metrics --all-netns >$W/m2.prom 2>$W/m2.err
expect_eq "state alone: synfin metrics exit status" $? 0 || { cat $W/m2.err; ok=1; }
expect_eq "state alone: metrics have no TIME_WAIT gauge" \
	"$(grep -c '^synfin_timewait_sockets' $W/m2.prom)" 0 || ok=1
rmmod synfin || fail "rmmod after families=state"

# --- nothing: loads, records nothing, unloads
load_module families=none || fail "load with families=none"
expect_eq "families=none reads back" "$(cat $P)" none || ok=1
start_reader $W/none.json
traffic 9713 5
stop_reader $READER
expect_eq "families=none: records" "$(kinds $W/none.json)" "state=0 tw_enter=0 tw_exit=0 lost=0" || ok=1
expect_eq "families=none: state hook calls (seen), hook in use" "$(stat seen) $(stat hook)" "0 0" || ok=1
[ -r $KP ] && { expect_eq "families=none: synfin's kprobes" "$(probes)" "tw=N accept=N clone=N" || ok=1; }
[ -e /proc/net/synfin_tw ] && { note "/proc/net/synfin_tw exists without timewait"; ok=1; }
rmmod synfin || fail "rmmod after families=none"
# accept and clone only feed the owner cache: left out without it.
load_module families=state,accept,clone || fail "load with families=state,accept,clone"
expect_eq "families=state,accept,clone reads back without the owner's hooks" "$(cat $P)" state || ok=1
rmmod synfin || fail "rmmod after families=state,accept,clone"
load_module families=state,owner,accept,clone || fail "load with the owner families"
[ -r $KP ] && { expect_eq "state + owner families: synfin's kprobes" "$(probes)" "tw=N accept=Y clone=Y" || ok=1; }
rmmod synfin || fail "rmmod after the owner families"

# --- a list, in any order, reads back in the module's order
load_module families=counts,state || fail "load with families=counts,state"
expect_eq "families=counts,state reads back" "$(cat $P)" state,counts || ok=1
rmmod synfin || fail "rmmod after families=counts,state"
exit $ok
