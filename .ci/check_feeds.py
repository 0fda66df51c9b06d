#!/usr/bin/env python3
"""Checks feeds with Python's feedparser: no parse error (bozo == 0), every date parsed, and every
raw date strict (RFC 822 with a zone in RSS, RFC 3339 with an offset in Atom).

Usage: check_feeds.py FILE... (RSS 2.0 or Atom 1.0 documents)
"""
import re
import sys

import feedparser

RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d ([+-]\d{4}|GMT|UT)$"
)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def raw_dates(text, tags):
    for tag in tags:
        for value in re.findall(rf"<{tag}>([^<]*)</{tag}>", text):
            yield tag, value


def check(path):
    raw = open(path, "rb").read()
    parsed = feedparser.parse(raw)
    problems = []
    if parsed.bozo:
        problems.append(f"bozo: {parsed.get('bozo_exception')!r}")
    if parsed.version not in ("rss20", "atom10"):
        problems.append(f"unexpected version {parsed.version!r}")
    if not parsed.feed.get("updated_parsed"):
        problems.append("feed date not parsed")
    atom = parsed.version == "atom10"
    for entry in parsed.entries:
        if not entry.get("published_parsed"):
            problems.append(f"{entry.get('id')}: published not parsed")
        if atom and not entry.get("updated_parsed"):
            problems.append(f"{entry.get('id')}: updated not parsed")
        if not entry.get("id", "").startswith("urn:uuid:"):
            problems.append(f"id {entry.get('id')!r} is not the stored urn:uuid")
    text = raw.decode("utf-8")
    if atom:
        dates = list(raw_dates(text, ["updated", "published"]))
        pattern = RFC3339
    else:
        dates = list(raw_dates(text, ["pubDate", "lastBuildDate"]))
        pattern = RFC822
    if not dates:
        problems.append("no dates found")
    for tag, value in dates:
        if not pattern.match(value):
            problems.append(f"<{tag}> {value!r} is not strict or has no time zone")
    print(f"{path}: {parsed.version}, {len(parsed.entries)} entries, "
          f"{'OK' if not problems else 'FAILED'}")
    for problem in problems:
        print(f"  {problem}")
    return not problems


if __name__ == "__main__":
    results = [check(p) for p in sys.argv[1:]]
    sys.exit(0 if results and all(results) else 1)
