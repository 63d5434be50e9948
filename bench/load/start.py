#!/usr/bin/env python3
"""Start to ready: `frontdesk serve` with the example pack and a 10,000-question FAQ bot.

    python3 bench/load/start.py [--runs 5] [--bin target/release/frontdesk]

The bot is BANKING77's 10,003 training questions (77 entries) when ../shared/data is there, else
10,000 synthetic questions written by `examples/faq_large.rs --synthetic-only --entries 1000`.
It goes into a copy of the example `rules/` and `bots/`, and the daemon is started on one SQLite
store in these ways, each timed from the process start to the first `GET /readyz` 200:

    cold       nothing kept: a new store, an empty model cache (the bots are trained)
    restart    the same store and cache again (the models are read back)
    changed    the big bot file edited (one question added): that bot is trained again
    no cache   `--model-cache off`: every start trains

Prints every run and the median of each way.
"""

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BANKING = os.path.join(ROOT, "..", "shared", "data", "banking77", "train.csv")


def questions(tmp):
    """(category, text) rows of a 10,000-question set."""
    path = BANKING
    if not os.path.exists(path):
        subprocess.run(
            ["cargo", "run", "--release", "--quiet", "--example", "faq_large", "--",
             "--synthetic-only", "--entries", "1000", "--write", tmp],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        path = os.path.join(tmp, "train.csv")
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["category"], r["text"]) for r in csv.DictReader(f)], path


def write_bot(path, rows, extra=None):
    entries = {}
    for cat, text in rows:
        entries.setdefault(cat, []).append(text)
    if extra:
        first = next(iter(entries))
        entries[first].append(extra)
    # YAML is a superset of JSON: one entry per line.
    lines = ["bot: large", "languages: [en]", "faq:"]
    for cat, qs in entries.items():
        lines.append("  - " + json.dumps({"id": cat, "questions": qs, "answer": f"About {cat}."},
                                         ensure_ascii=False))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return sum(len(q) for q in entries.values())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_to_ready(binary, work, extra):
    port = free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    log = open(os.path.join(work, "serve.log"), "ab")
    started = time.monotonic()
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}",
         "--store", f"sqlite://{work}/start.db", "--config", f"{work}/rules",
         "--bots", f"{work}/bots", "--no-watch", "--log-format", "json", *extra],
        stdout=log, stderr=log)
    try:
        while True:
            if proc.poll() is not None:
                sys.exit(f"the daemon stopped (exit {proc.returncode}); see {work}/serve.log")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            if time.monotonic() - started > 60:
                sys.exit("not ready after 60 s")
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "frontdesk"))
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "frontdesk"],
                       cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as work:
        rows, source = questions(work)
        shutil.copytree(os.path.join(ROOT, "rules"), os.path.join(work, "rules"))
        shutil.copytree(os.path.join(ROOT, "bots"), os.path.join(work, "bots"))
        bot = os.path.join(work, "bots", "large.yaml")
        n = write_bot(bot, rows)
        cache = os.path.join(work, "models")
        with_cache = ["--model-cache", cache]
        print(f"example pack + a bot of {n} questions ({source}); {os.cpu_count()} cores")
        times = {}

        def run(way, extra, before=None):
            for i in range(args.runs):
                if before:
                    before(i)
                t = start_to_ready(args.bin, work, extra)
                times.setdefault(way, []).append(t)
                print(f"  {way:9} {t * 1000:7.0f} ms", flush=True)

        def fresh(_):
            shutil.rmtree(cache, ignore_errors=True)
            for suffix in ("", "-wal", "-shm"):
                p = os.path.join(work, "start.db" + suffix)
                if os.path.exists(p):
                    os.remove(p)

        run("cold", with_cache, fresh)
        for name in sorted(os.listdir(cache)):
            size = os.path.getsize(os.path.join(cache, name))
            print(f"  kept: {name} ({size / 1e6:.1f} MB)")
        run("restart", with_cache)
        run("changed", with_cache, lambda i: write_bot(bot, rows, extra=f"changed question {i}"))
        run("no cache", ["--model-cache", "off"])
        print("median to ready:")
        for way, ts in times.items():
            print(f"  {way:9} {statistics.median(ts) * 1000:7.0f} ms  "
                  f"(range {min(ts) * 1000:.0f}-{max(ts) * 1000:.0f})")


if __name__ == "__main__":
    main()
