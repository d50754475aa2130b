#!/usr/bin/python3
"""Read `synfin -j` output (or ftrace trace_pipe text) and answer questions
about it for the tests. Every subcommand prints its answer on stdout.

  events.py seq FILE --local-port P | --remote-port P [--family inet|inet6]
      the lifecycle of the connection(s) with that port, as "OLD>NEW ...",
      one line per cookie, in time order; TIME_WAIT events are prefixed
      "tw_enter:", "tw_exit:" (with "/SUBSTATE"), and transitions inside
      timewait "tw:"
  events.py transitions FILE          "OLD>NEW count" per tracepoint transition
  events.py ftrace-transitions FILE   the same from trace_pipe text (TCP only)
  events.py count FILE                number of tracepoint transitions
  events.py records FILE              number of records of any kind but lost markers
  events.py lost FILE                 sum of lost markers
  events.py unordered FILE            records whose ts_ns is before the one
                                      delivered ahead of them (the first few
                                      are shown on stderr)
"""
import collections
import json
import re
import sys


def load(path):
    events = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError as e:
                sys.exit("events.py: %s:%d: not JSON (%s): %r" % (path, n, e, line[:80]))
    return events


def states(events):
    """State transitions as the tracepoint reports them (what ftrace sees)."""
    return [e for e in events if e.get("event", "state") == "state" and not e.get("in_timewait")]


def lifecycle(events):
    """Everything about connections: transitions and TIME_WAIT events."""
    return [e for e in events if "lost" not in e]


def label(e):
    t = e["old"] + ">" + e["new"]
    if e.get("event") in ("tw_enter", "tw_exit"):
        return e["event"] + ":" + t + "/" + e["substate"]
    if e.get("in_timewait"):
        return "tw:" + t
    return t


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, path, rest = argv[1], argv[2], argv[3:]
    if cmd == "ftrace-transitions":
        counts = collections.Counter()
        pat = re.compile(r"inet_sock_set_state:.*protocol=IPPROTO_TCP.*oldstate=TCP_(\w+) newstate=TCP_(\w+)")
        with open(path) as f:
            for line in f:
                m = pat.search(line)
                if m:
                    counts[m.group(1) + ">" + m.group(2)] += 1
        for k in sorted(counts):
            print(k, counts[k])
        return
    events = load(path)
    if cmd == "count":
        print(len(states(events)))
    elif cmd == "records":
        print(len(lifecycle(events)))
    elif cmd == "lost":
        print(sum(e["lost"] for e in events if "lost" in e))
    elif cmd == "transitions":
        counts = collections.Counter(e["old"] + ">" + e["new"] for e in states(events))
        for k in sorted(counts):
            print(k, counts[k])
    elif cmd == "seq":
        key, port = rest[0], int(rest[1])
        family = rest[3] if len(rest) > 3 and rest[2] == "--family" else None
        field = {"--local-port": "sport", "--remote-port": "dport"}[key]
        # A connection is its cookie: pick the cookies that ever had the port.
        cookies = []
        for e in lifecycle(events):
            if e[field] == port and (family is None or e["family"] == family) \
                    and e["cookie"] not in cookies:
                cookies.append(e["cookie"])
        for c in cookies:
            print(" ".join(label(e) for e in lifecycle(events) if e["cookie"] == c))
    elif cmd == "unordered":
        # Lost markers are stamped when made, not when their records were.
        recs = lifecycle(events)
        bad = [(a, b) for a, b in zip(recs, recs[1:]) if b["ts_ns"] < a["ts_ns"]]
        for a, b in bad[:3]:
            print("  ts %d (cpu %d) delivered after ts %d (cpu %d), %d ns later"
                  % (b["ts_ns"], b["cpu"], a["ts_ns"], a["cpu"], a["ts_ns"] - b["ts_ns"]),
                  file=sys.stderr)
        print(len(bad))
    else:
        sys.exit("events.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
