#!/bin/bash
# life and ladder, live, on real programs: python3 -m http.server answering
# three curl requests (HTTP/1.0: usually the server closes first), nc refused by a
# closed port, a client that resets (SO_LINGER 0), and 100 connections to a
# busy port that the filtered readers must not show.
. tests/vm/lib.sh
ok=0
busy=9701
$T/tcpconn serve -p $busy -n 100 -c 10 & bsrv=$!
(cd /tmp && exec /usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1) & py=$!
wait_listen 8080; wait_listen $busy
start_reader $W/life.json life; life=$READER
before=$($DEVCHECK stats | sed 's/.*readers=\([0-9]*\).*/\1/')
$SYNFIN ladder -D 8080 >$W/ladder.txt 2>&1 & ladder=$!
$DEVCHECK wait-readers $((before + 1)) 30 || fail "ladder did not open /dev/synfin"
before=$((before + 1))
$SYNFIN ladder -D 9 >$W/refused.txt 2>&1 & refused=$!
$DEVCHECK wait-readers $((before + 1)) 30 || fail "ladder -D 9 did not open /dev/synfin"
$T/tcpconn connect -p $busy -n 100 -c 10 >/dev/null & busyc=$!
curls=()
for i in 1 2 3; do
	curl -s -o /dev/null http://127.0.0.1:8080/ & curls+=($!)
	wait $!
done
nc -z 127.0.0.1 9 && fail "nc: port 9 should refuse"
/usr/bin/python3 -c '
import socket, struct
s = socket.create_connection(("127.0.0.1", 8080))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' & rst=$!
wait $rst
wait $busyc || fail "busy clients"; wait $bsrv
settle 1
# Whoever closed first (usually the server: HTTP/1.0; sometimes curl, when
# it has the whole body first) holds a timewait sock, and its life line
# comes when that is gone. Kill them (6.1+: SOCK_DESTROY; 5.10 refuses:
# those lines are then not expected).
ss -K -t state time-wait '( sport = :8080 or dport = :8080 )' >/dev/null 2>&1
left=$(ss -Htn state time-wait '( sport = :8080 or dport = :8080 )' | wc -l)
settle 1
stop_reader $ladder; stop_reader $refused; stop_reader $life
kill $py; wait $py 2>/dev/null
/usr/bin/python3 - $W $py $left "${curls[@]}" <<'PY' || ok=1
import json, sys, os, re
d, py, tw_left, curls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), list(map(int, sys.argv[4:]))
bad = 0
def say(*a):
    print("  " + " ".join(map(str, a)))
life = [json.loads(l) for l in open(os.path.join(d, "life.json")) if l.strip()]
if any("lost" in l for l in life):
    say("life lost events"); bad = 1
cur = [l for l in life if l["comm"] == "curl"]
srv = [l for l in life if l["comm"] == "python3" and l["sport"] == 8080 and l["closer"] != "reset"]
say("life: %d lines; curl %d, http.server %d; timewait socks left unkilled: %d" % (len(life), len(cur), len(srv), tw_left))
# Each curl connection has two ends: the passive closer's line always, the
# active closer's once its timewait sock is gone.
if len(cur) + len(srv) != 6 - tw_left:
    say("curl + http.server lines: %d, want %d" % (len(cur) + len(srv), 6 - tw_left)); bad = 1
if not set(l["pid"] for l in cur) <= set(curls) or len(cur) != len(set(l["pid"] for l in cur)):
    say("curl lines with pids", [l["pid"] for l in cur], "want some of", curls); bad = 1
ends = {}
for l in cur + srv:
    s = l["states_ns"]
    if l["duration_ns"] != sum(s.values()):
        say("durations do not add up:", l); bad = 1
    if l["pid"] not in curls + [py]:
        say("line with a stranger's pid:", l); bad = 1
    if l["closer"] == "passive" and (not (s["established"] and s["close_wait"] + s["last_ack"]) or s["time_wait"]):
        say("passive closer line wrong:", l); bad = 1
    elif l["closer"] == "active" and (l.get("tw_reason") != "destroyed" or not s["fin_wait1"] + s["fin_wait2"] + s["time_wait"]):
        say("active closer line wrong:", l); bad = 1
    elif l["closer"] not in ("active", "passive", "simultaneous"):
        say("closer?", l); bad = 1
    key = tuple(sorted([(l["saddr"], l["sport"]), (l["daddr"], l["dport"])]))
    ends.setdefault(key, []).append(l["closer"])
for key, closers in ends.items():
    if len(closers) == 2 and sorted(closers) != ["active", "passive"] and closers != ["simultaneous"] * 2:
        say("the two ends of", key, "closed as", closers); bad = 1
say("closers by connection:", sorted(ends.values()))
if not any(l["closer"] == "refused" and l["comm"] == "nc" and l["dport"] == 9 for l in life):
    say("no refused line for nc"); bad = 1
if not any(l["closer"] == "reset" and l["dport"] == 8080 and l["comm"] == "python3" for l in life):
    say("no reset line for the SO_LINGER 0 client"); bad = 1
if any(l["dport"] == 9701 or l["sport"] == 9701 for l in life) is False:
    say("life did not see the busy port (it has no filter)"); bad = 1
lad = open(os.path.join(d, "ladder.txt")).read()
pics = lad.split("\nCLIENT ")[1:]
say("ladder -D 8080: %d pictures" % len(pics))
if "9701" in lad:
    say("ladder -D 8080 shows the busy port"); bad = 1
curl_pics = [p for p in pics if " curl/" in p.split("\n")[0]]
if len(curl_pics) != 3:
    say("curl ladders: %d, want 3" % len(curl_pics)); bad = 1
for p in curl_pics:
    lines = p.split("\n")
    if not re.match(r"SERVER 127\.0\.0\.1:8080 python3/%d$" % py, lines[1]) or "(inferred)" in p:
        say("curl ladder lacks the real server column:\n" + p); bad = 1
    order = [m for l in lines for m in re.findall(r"(SYN\+ACK|SYN|ACK|FIN) -", l)]
    # one side closes first; or both at once (a simultaneous close, seen
    # now and then under TCG): FIN, FIN, then both ACKs
    want = ["SYN", "SYN+ACK", "ACK", "FIN", "ACK", "FIN", "ACK"]
    if order != want and not (order == ["SYN", "SYN+ACK", "ACK", "FIN", "FIN", "ACK", "ACK"] and "CLOSING" in p):
        say("curl ladder segments", order, "want", want, "\n" + p); bad = 1
if not any("x-- RST" in p for p in pics):
    say("no reset drawn for the SO_LINGER 0 client"); bad = 1
ref = open(os.path.join(d, "refused.txt")).read()
if not re.search(r"SYN_SENT +-+ SYN -+>", ref) or not re.search(r"<-+ RST -+ +\(inferred\)", ref):
    say("refused ladder wrong:\n" + ref); bad = 1
print("  ladder of one curl request:")
print("\n".join("    " + l for l in ("CLIENT " + curl_pics[0]).split("\n")) if curl_pics else "    none")
sys.exit(bad)
PY
exit $ok
