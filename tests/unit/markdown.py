#!/usr/bin/python3
"""Every Markdown file of the checkout, parsed as CommonMark (markdown-it):
no code fence left open to the end of the file or "closed" on a line of
text (which CommonMark does not close, so the rest flips between code and
prose), and every relative link pointing at a file that exists (and, into
a Markdown file, at a heading that exists). One PASS/FAIL line per file.
"""
import os
import re
import subprocess
import sys
from urllib.parse import unquote

from markdown_it import MarkdownIt

md = MarkdownIt("commonmark")


def slug(text):
    """GitHub's anchor for a heading."""
    s = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return s.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        toks = md.parse(open(path, encoding="utf-8").read())
        cache[path] = {slug(toks[i + 1].content) for i, t in enumerate(toks)
                       if t.type == "heading_open"}
    return cache[path]


def check(path):
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    n = len(lines) - (1 if text.endswith("\n") else 0)
    problems = []
    toks = md.parse(text)
    for t in toks:
        if t.type == "fence":
            mark = t.markup
            start, end = t.map
            last = re.sub(r"^\s*(>\s?)*", "", lines[end - 1]).strip()  # inside a blockquote too
            closed = end - start >= 2 and last.startswith(mark) and set(last) == {mark[0]}
            if not closed:
                problems.append("line %d: code fence never closed (runs to line %d)" % (start + 1, end))
            for k, l in enumerate(t.content.split("\n")):
                if re.search(r"\S.*(```|~~~)\s*$", l):
                    problems.append("line %d: a fence after text does not close the block" % (start + 2 + k))
        for c in [t] + list(t.children or []):
            if c.type != "link_open":
                continue
            href = c.attrs.get("href", "")
            if re.match(r"^[a-z][a-z0-9+.-]*:", href) or not href:
                continue
            target, _, frag = href.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), unquote(target))) if target else path
            if not os.path.exists(dest):
                problems.append("link %s: no such file %s" % (href, dest))
            elif frag and dest.endswith(".md") and frag not in anchors(dest):
                problems.append("link %s: no heading #%s in %s" % (href, frag, dest))
    return problems


def main():
    os.chdir(os.path.join(os.path.dirname(__file__), "..", ".."))
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
                           capture_output=True, text=True, check=True).stdout.split()
    files = [f for f in files if os.path.exists(f)] or sys.exit("FAIL markdown: no Markdown files found")
    for f in sorted(files):
        p = check(f)
        print(("PASS" if not p else "FAIL") + " markdown: " + f)
        for x in p[:10]:
            print("#   " + x)


if __name__ == "__main__":
    main()
