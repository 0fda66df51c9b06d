"""Feed-reader end-to-end test: newsboat, headless, against a live Herald.

Run through newsboat.sh, which builds Herald first. Needs `newsboat` on PATH (.ci/run installs
Debian's) and Herald with the feeds (/feed.rss, /feed.atom) and the write API (bearer tokens,
`herald token create`). For each feed format newsboat gets its own cache, and this checks:
all seed items arrive with titles and links; a posted item arrives exactly once; an edited
title adds no duplicate; and once newsboat sends conditional requests (its third reload on),
an unchanged feed is answered with 304 Not Modified.
"""

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# HERALD_BIN picks another build (a release binary, say); newsboat.sh builds the debug one.
HERALD = Path(
    os.environ.get(
        "HERALD_BIN",
        Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "herald",
    )
)
LOG_DIR = ROOT / "target" / "e2e"
FEEDS = ["feed.rss", "feed.atom"]
SEED_TITLES = {
    "Working Group Two discussed in Reuters article",
    "Signing our Head of Engineering",
    "The launch of Working Group Two",
    "Working Group Two readies commercial launch",
}

failures = 0


def check(condition, message):
    global failures
    print(f"{'ok  ' if condition else 'FAIL'} {message}", flush=True)
    if not condition:
        failures += 1
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, token=None, body=None, content_type="application/json"):
    """One HTTP exchange; returns (status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def wait_for(url, process):
    for _ in range(600):
        if process.poll() is not None:
            sys.exit(f"Herald exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    sys.exit(f"nothing answered at {url}")


def create_token(env):
    done = subprocess.run(
        [HERALD, "token", "create", "--name", "e2e"], env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"`herald token create` failed (is the write API merged?): {done.stderr}")
    out = done.stdout
    # The token is the longest token-shaped word printed, whatever text surrounds it.
    words = re.findall(r"[A-Za-z0-9_\-.~+/=]{20,}", out)
    if not words:
        sys.exit(f"`herald token create` printed no token: {out!r}")
    return max(words, key=len)


class Reader:
    """One newsboat with its own cache, subscribed to one feed."""

    def __init__(self, work, base, feed):
        self.feed = feed
        self.url = base + feed
        self.dir = work / feed.replace(".", "-")
        self.dir.mkdir()
        (self.dir / "urls").write_text(self.url + "\n")
        (self.dir / "config").write_text("reload-threads 1\ndownload-timeout 30\n")
        self.reloads = 0

    def reload(self):
        self.reloads += 1
        # newsboat exits 0 even when a download fails; the cache contents are what count.
        subprocess.run(
            ["newsboat", "-u", "urls", "-c", "cache.db", "-C", "config",
             "-d", f"newsboat-{self.reloads}.log", "-l", "4", "-x", "reload"],
            cwd=self.dir, check=True, timeout=120,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )

    def items(self):
        """(guid, title, url) of every item in the cache, as newsboat stored them."""
        db = self.dir / "cache.db"
        if not db.exists():
            return []
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "SELECT guid, title, url FROM rss_item WHERE feedurl = ? AND deleted = 0",
                (self.url,),
            ).fetchall()


def statuses(log, feed, since):
    """HTTP statuses Herald logged for GET /<feed> after byte offset `since` of its log."""
    text = log.read_text(errors="replace")[since:]
    return re.findall(rf'"GET /{re.escape(feed)}(?:\?[^"]*)? HTTP/[0-9.]+" (\d{{3}}) ', text)


def logged_statuses(log, feed, since):
    """Like `statuses`, waiting briefly for the line: actix logs once the body is sent."""
    deadline = time.monotonic() + 10
    while not (seen := statuses(log, feed, since)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return seen


def main():
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "herald-newsboat.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="herald-newsboat-") as tmp:
        work = Path(tmp)
        env = dict(
            os.environ,
            DATABASE_URL=f"sqlite://{work / 'herald.db'}",
            HERALD_BIND=f"127.0.0.1:{port}",
            HERALD_SEED_DIR=str(ROOT / "seed"),
            RUST_LOG="info",
            NO_COLOR="1",
        )
        with open(log, "wb") as log_file:
            server = subprocess.Popen(
                [HERALD, "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )
        try:
            wait_for(base + "healthz", server)
            run(work, base, env, log)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if failures:
        sys.exit(f"{failures} check(s) failed; Herald's log: {log}")
    print("newsboat end-to-end: all checks passed")


def run(work, base, env, log):
    readers = [Reader(work, base, feed) for feed in FEEDS]
    status, listing = request("GET", base + "api/v1/news?limit=100")
    expected_links = {item["title"]: item["url"] for item in listing["items"]}

    # 1. The seed arrives whole.
    for r in readers:
        r.reload()
        items = r.items()
        check(len(items) == 4, f"{r.feed}: 4 items after the first reload (got {len(items)})")
        check({t for _, t, _ in items} == SEED_TITLES, f"{r.feed}: the seed titles")
        check(bool(items) and all(u == expected_links.get(t) for _, t, u in items),
              f"{r.feed}: every item links to its page: {sorted(u for _, _, u in items)}")
        check(len({g for g, _, _ in items}) == 4 and all(g for g, _, _ in items),
              f"{r.feed}: 4 distinct GUIDs")
    before = {r.feed: {g for g, _, _ in r.items()} for r in readers}

    # 2. A posted item arrives exactly once.
    token = create_token(env)
    title = "Herald e2e: a new item for feed readers"
    status, created = request("POST", base + "api/v1/news", token, {
        "title": title,
        "content_markdown": "Posted by the **newsboat** end-to-end test.",
        "links": [{"title": "Herald", "url": "https://example.org/herald"}],
    })
    if not check(status == 201 and isinstance(created, dict) and "id" in created,
                 f"POST /api/v1/news answers 201 with the item (got {status})"):
        print(created)
        return
    for r in readers:
        r.reload()
        items = r.items()
        new = [i for i in items if i[0] not in before[r.feed]]
        check(len(items) == 5, f"{r.feed}: 5 items after posting one (got {len(items)})")
        check(len(new) == 1 and new[0][1] == title,
              f"{r.feed}: exactly one new item, the posted one: {new}")
        check(bool(new) and new[0][2] == created.get("url"), f"{r.feed}: the new item's link")
    after_post = {r.feed: {g for g, _, _ in r.items()} for r in readers}

    # 3. An edited title replaces nothing and duplicates nothing.
    edited = next(i for i in listing["items"] if i["title"] == "Signing our Head of Engineering")
    new_title = "Signing our Head of Engineering (edited)"
    status, body = request("PATCH", f"{base}api/v1/news/{edited['id']}", token,
                           {"title": new_title}, "application/merge-patch+json")
    check(status == 200, f"PATCH /api/v1/news/{edited['id']} answers 200 (got {status}: {body})")
    for r in readers:
        r.reload()
        items = r.items()
        check(len(items) == 5 and {g for g, _, _ in items} == after_post[r.feed],
              f"{r.feed}: after the edit still 5 items with the same GUIDs (got {len(items)})")
        titles = [t for _, t, _ in items]
        check(new_title in titles and edited["title"] not in titles,
              f"{r.feed}: newsboat shows the edited title in place of the old one")

    # 4. Unchanged feeds, asked conditionally (newsboat's third reload on), are 304s.
    for r in readers:
        for _ in range(2):
            offset = log.stat().st_size
            r.reload()
            seen = logged_statuses(log, r.feed, offset)
            check(seen == ["304"], f"{r.feed}: reload {r.reloads} of an unchanged feed: {seen}")
        check(len(r.items()) == 5, f"{r.feed}: still 5 items")


if __name__ == "__main__":
    main()
