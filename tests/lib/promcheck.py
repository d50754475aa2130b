#!/usr/bin/python3
"""Strict checker for the Prometheus text exposition format, version 0.0.4.

    promcheck.py [FILE]      check FILE (default stdin); exit 0 ok, 1 not
    promcheck.py --self-test check that the checker rejects known-bad input

Stricter than Prometheus itself, where being strict costs synfin nothing:
every family has # HELP and # TYPE, both before its first sample; a family
(HELP, TYPE or samples) never appears twice or interleaved with another;
counters are named *_total; no series appears twice; label values use only
the three escapes the format defines (\\\\, \\", \\n); the file ends with a
newline and has no blank lines, no trailing blanks, no timestamps.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
# A label value: any character but \ " and newline, or one of the 3 escapes.
VALUE = r'(?:[^\\"\n]|\\[\\"n])*'
SAMPLE_RE = re.compile(r"^(%s)(?:\{((?:%s=\"%s\")(?:,%s=\"%s\")*)?\})? (\S+)$"
                       % (NAME, LABEL, VALUE, LABEL, VALUE))
PAIR_RE = re.compile(r'(%s)="(%s)"' % (LABEL, VALUE))
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (\S+)$" % NAME)
FLOAT_RE = re.compile(r"^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|NaN)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def family_of(name, types):
    """The declared family a sample name belongs to, or None."""
    if name in types and types[name] in ("counter", "gauge", "untyped", "summary"):
        return name
    for fam, t in types.items():
        for suf in SUFFIXES.get(t, ()):
            if suf and name == fam + suf:
                return fam
    return None


def check(text):
    """A list of 'line N: problem' strings; empty when the text is valid."""
    errors = []
    helps, types = {}, {}
    done = set()          # families whose block has ended
    current = None        # family of the block being read
    series = set()
    started = set()       # families that have samples

    def err(n, msg):
        errors.append("line %d: %s" % (n, msg))

    def enter(n, fam):
        nonlocal current
        if fam != current:
            if fam in done:
                err(n, "family %s appears again after another family" % fam)
            if current is not None:
                done.add(current)
            current = fam

    if text and not text.endswith("\n"):
        errors.append("no newline at end of file")
    if not text.strip():
        errors.append("no metrics at all")
    for n, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        if line == "":
            err(n, "blank line")
            continue
        if line != line.rstrip():
            err(n, "trailing whitespace")
        if line.startswith("#"):
            m = HELP_RE.match(line)
            if m:
                fam = m.group(1)
                enter(n, fam)
                if fam in helps:
                    err(n, "second HELP for %s" % fam)
                if fam in started:
                    err(n, "HELP for %s after its samples" % fam)
                if re.search(r"\\[^\\n]|\\$", m.group(2)):
                    err(n, "HELP text of %s has an escape other than \\\\ and \\n" % fam)
                helps[fam] = m.group(2)
                continue
            m = TYPE_RE.match(line)
            if m:
                fam, t = m.groups()
                enter(n, fam)
                if fam in types:
                    err(n, "second TYPE for %s" % fam)
                if fam in started:
                    err(n, "TYPE for %s after its samples" % fam)
                if t not in TYPES:
                    err(n, "unknown type %r" % t)
                if t == "counter" and not fam.endswith("_total"):
                    err(n, "counter %s does not end in _total" % fam)
                types[fam] = t
                continue
            if line.startswith("# HELP") or line.startswith("# TYPE"):
                err(n, "malformed HELP/TYPE line: %r" % line)
            continue  # a plain comment
        m = SAMPLE_RE.match(line)
        if not m:
            err(n, "not a sample 'name{labels} value': %r" % line)
            continue
        name, labels, value = m.groups()
        fam = family_of(name, types)
        if fam is None:
            err(n, "sample %s before its family's TYPE" % name)
            fam = name
        elif fam not in helps:
            err(n, "family %s has no HELP before its samples" % fam)
        enter(n, fam)
        started.add(fam)
        pairs = PAIR_RE.findall(labels or "")
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            err(n, "label name repeated: %r" % line)
        if any(k.startswith("__") for k in keys):
            err(n, "reserved label name (__*): %r" % line)
        if types.get(fam) == "histogram" and name.endswith("_bucket") and "le" not in keys:
            err(n, "bucket without le: %r" % line)
        key = (name, tuple(sorted(pairs)))
        if key in series:
            err(n, "series repeated: %r" % line)
        series.add(key)
        if not FLOAT_RE.match(value):
            err(n, "value %r is not a number" % value)
        elif types.get(fam) == "counter" and (value.startswith("-") or value == "NaN"):
            err(n, "counter %s has value %s" % (name, value))
    return errors


SELF_TESTS = [
    # (why it is bad, text)
    ("no TYPE", "# HELP a_total x\na_total 1\n"),
    ("no HELP", "# TYPE a gauge\na 1\n"),
    ("HELP after sample", "# TYPE a gauge\na 1\n# HELP a x\n"),
    ("counter without _total", "# HELP a x\n# TYPE a counter\na 1\n"),
    ("family twice", "# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na{x=\"1\"} 2\n"),
    ("TYPE twice", "# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n"),
    ("bad name", "# HELP 1a x\n# TYPE 1a gauge\n1a 1\n"),
    ("bad label name", "# HELP a x\n# TYPE a gauge\na{1x=\"v\"} 1\n"),
    ("unescaped quote", "# HELP a x\n# TYPE a gauge\na{x=\"v\"w\"} 1\n"),
    ("bad escape", "# HELP a x\n# TYPE a gauge\na{x=\"v\\t\"} 1\n"),
    ("no value", "# HELP a x\n# TYPE a gauge\na{x=\"v\"}\n"),
    ("bad value", "# HELP a x\n# TYPE a gauge\na 1,5\n"),
    ("series twice", "# HELP a x\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n"),
    ("negative counter", "# HELP a_total x\n# TYPE a_total counter\na_total -1\n"),
    ("no final newline", "# HELP a x\n# TYPE a gauge\na 1"),
    ("blank line", "# HELP a x\n# TYPE a gauge\n\na 1\n"),
    ("two spaces", "# HELP a x\n# TYPE a gauge\na  1\n"),
    ("empty", ""),
]
GOOD = ('# HELP a_total x\n# TYPE a_total counter\na_total{k="q\\"\\\\\\n",j="2"} 3\n'
        '# HELP b x\n# TYPE b gauge\nb 1.5e3\nb{x="1"} +Inf\n# a comment\n')


def self_test():
    bad = 0
    if check(GOOD):
        print("self-test: valid input rejected:", check(GOOD))
        bad += 1
    for why, text in SELF_TESTS:
        if not check(text):
            print("self-test: accepted bad input (%s): %r" % (why, text))
            bad += 1
    print("self-test: %d cases, %d wrong" % (len(SELF_TESTS) + 1, bad))
    return 1 if bad else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    errors = check(text)
    for e in errors[:20]:
        print("promcheck:", e, file=sys.stderr)
    if len(errors) > 20:
        print("promcheck: ... %d more" % (len(errors) - 20), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
