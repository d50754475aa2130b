#!/usr/bin/python3
"""Check synfin -j output against docs/synfin.schema.json.

  jsoncheck.py [--type TYPE[,TYPE]] FILE...

Every line must be valid UTF-8, one JSON object with no key twice, valid
against the schema (and, with --type, of one of those types). Prints one
line per problem (file:line: what) and exits 1 if there was any.
"""
import argparse
import json
import os
import sys

import jsonschema

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "synfin.schema.json")


def no_dup(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise ValueError("key %r twice" % k)
        seen.add(k)
    return dict(pairs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--type", default="")
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    schema = json.load(open(SCHEMA))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    types = set(filter(None, a.type.split(",")))
    bad = lines = 0
    for f in a.files:
        for n, raw in enumerate(open(f, "rb"), 1):
            lines += 1
            try:
                obj = json.loads(raw.decode("utf-8"), object_pairs_hook=no_dup)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
                errs = sorted(v.iter_errors(obj), key=lambda e: list(map(str, e.path)))
                if errs:
                    raise ValueError("; ".join("%s: %s" % ("/".join(map(str, e.path)) or "-", e.message)
                                               for e in errs[:3]))
                if types and obj.get("type") not in types:
                    raise ValueError("type %r, want %s" % (obj.get("type"), ",".join(sorted(types))))
            except (ValueError, UnicodeDecodeError) as e:
                bad += 1
                print("%s:%d: %s" % (f, n, e))
    if not lines:
        print("no lines to check in %s" % " ".join(a.files))
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
