#!/usr/bin/python3
"""Ask a Prometheus server's HTTP API (the tests' oracle for what it stored).

  promquery.py URL value QUERY          the one sample's value ("none" if no
                                        series; an error if several)
  promquery.py URL count QUERY          number of series the query returns
  promquery.py URL series MATCH START END
                                        series that existed between START and
                                        END (unix seconds): appeared or gone,
                                        each counts once
  promquery.py URL list MATCH START END
                                        those series, one per line, sorted
  promquery.py URL wait QUERY OP VALUE [SECS]
                                        until QUERY's value OP (== >= >) VALUE
                                        (default 60 s); exit 1 on timeout
"""
import json
import sys
import time
import urllib.parse
import urllib.request


def api(base, path, **params):
    url = base.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        sys.exit("promquery.py: %s: %s" % (url, body))
    return body["data"]


def values(base, query):
    data = api(base, "/api/v1/query", query=query)
    return [float(r["value"][1]) for r in data["result"]]


def show(v):
    return "%d" % v if v == int(v) else repr(v)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    base, cmd = argv[1], argv[2]
    if cmd == "value":
        vs = values(base, argv[3])
        if len(vs) > 1:
            sys.exit("promquery.py: %s: %d series, want one" % (argv[3], len(vs)))
        print(show(vs[0]) if vs else "none")
    elif cmd == "count":
        print(len(values(base, argv[3])))
    elif cmd == "series":
        data = api(base, "/api/v1/series", **{"match[]": argv[3], "start": argv[4], "end": argv[5]})
        print(len(data))
    elif cmd == "list":
        data = api(base, "/api/v1/series", **{"match[]": argv[3], "start": argv[4], "end": argv[5]})
        for m in sorted(data, key=lambda m: sorted(m.items())):
            print(m.pop("__name__", "") + "{" + ",".join('%s="%s"' % kv for kv in sorted(m.items())) + "}")
    elif cmd == "wait":
        query, op, want = argv[3], argv[4], float(argv[5])
        secs = float(argv[6]) if len(argv) > 6 else 60
        test = {"==": lambda a: a == want, ">=": lambda a: a >= want, ">": lambda a: a > want}[op]
        end = time.time() + secs
        last = None
        while time.time() < end:
            try:
                vs = values(base, query)
                last = vs
                if len(vs) == 1 and test(vs[0]):
                    print(show(vs[0]))
                    return
            except (OSError, ValueError):
                pass  # not up yet
            time.sleep(0.25)
        sys.exit("promquery.py: %s %s %s: not within %g s (last: %s)" % (query, op, argv[5], secs, last))
    else:
        sys.exit("promquery.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
