#!/bin/bash
# Owner and passive-open tuple on real programs: python3 -m http.server and
# three curl clients. Every event of each connection carries the right
# pid/comm on both sides, softirq or not, and the server side always shows
# the client's real port.
. tests/vm/lib.sh
ok=0
start_reader $W/ev.json
(cd /tmp && exec /usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1) & py=$!
wait_listen 8080
curls=()
for i in 1 2 3; do
	curl -s -o /dev/null http://127.0.0.1:8080/ & curls+=($!)
	wait $!
done
settle 1
kill $py; wait $py 2>/dev/null
settle
stop_reader $READER
/usr/bin/python3 - $W/ev.json $py "${curls[@]}" <<'PY' || ok=1
import collections, json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"lost"' not in l]
py, curls = int(sys.argv[2]), list(map(int, sys.argv[3:]))
conns = collections.defaultdict(list)
for e in ev:
    conns[e["cookie"]].append(e)
bad = 0
client_ports, server_peers, owners = set(), set(), collections.Counter()
for c, es in conns.items():
    if any(e["sport"] == 8080 and e["old"] in ("CLOSE", "LISTEN") and e["new"] in ("LISTEN", "CLOSE")
           and e["dport"] == 0 for e in es):
        continue                                   # the listener itself
    server = es[0]["sport"] == 8080
    want = ("python3", {py}) if server else ("curl", set(curls))
    for e in es:
        if e["comm"] != want[0] or e["pid"] not in want[1]:
            print("  %s event owned by %s/%r, want %s %s: %s" % (
                "server" if server else "client", e["pid"], e["comm"], want[0], sorted(want[1]), e)); bad = 1
        if server and (e["dport"] == 0 or e.get("listener_tuple")):
            print("  server event without the client's port:", e); bad = 1
    if server:
        server_peers.add(es[-1]["dport"])
    else:
        client_ports.add(es[-1]["sport"]); owners[es[0]["pid"]] += 1
    print("  %-6s %5d: %s" % ("server" if server else "client", es[0]["pid"],
          " ".join(e["old"] + ">" + e["new"] for e in es)))
if client_ports != server_peers or len(client_ports) != 3:
    print("  client ports %s vs server-side peers %s" % (sorted(client_ports), sorted(server_peers))); bad = 1
if sorted(owners) != sorted(curls):
    print("  each curl should own one connection:", dict(owners), curls); bad = 1
sys.exit(bad)
PY
exit $ok
