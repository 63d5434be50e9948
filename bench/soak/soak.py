#!/usr/bin/env python3
"""A long run of the daemon at a fixed rate, sampled every minute, checked at the end.

    cargo build --release
    python3 bench/soak/soak.py --minutes 60 --rate 100               # SQLite, one process
    python3 bench/soak/soak.py --minutes 60 --rate 100 \\
        --store postgres://postgres@127.0.0.1/soak --replicas 2       # PostgreSQL, 2 replicas

The daemon runs the example pack (rules/ and bots/) plus one soak rule: every ticket the soak
creates schedules a follow-up timer (`--timer-after`, default 60 s) that tags the ticket when it
fires. Load, all at fixed rates from the intended send times (a late request is not skipped,
its latency counts from when it was due):

  - `ticket.created` events (each a new ticket, half of them with a question the FAQ bot reads),
    and a `message.created` on every fourth ticket a little later;
  - chat sessions: one opened every 2 s, asked a question, answered "yes", closed.

With `--replicas 2` on PostgreSQL, requests alternate between the replicas and the second is
killed (SIGKILL) at a third of the run and started again, so its claimed timers must be taken
over. Every minute it samples, per daemon process: RSS, open file descriptors, the SQLite
file and its WAL, and the p50/p99 latency of that minute's requests. At the end (after the last
timer was due) it checks: every acknowledged event is stored exactly once, every follow-up timer
fired exactly once, no request failed but for the planned restart.

Prints a table per minute and a summary; `--json FILE` writes both.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SOAK_RULE = """\
rules:
  - name: soak follow-up
    on: [ticket.created]
    when: { field: ticket.tags, contains: soak }
    then:
      - schedule:
          name: soak follow-up
          after: {after}
          then:
            - add_tags: [soak-followed-up]
"""

QUESTIONS = [
    "How do I reset my password?",
    "Hvor lang er leveringstiden?",
    "Can I change my delivery address?",
    "Jeg vil gerne returnere en vare",
    "Where is my invoice?",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, binary, rules, bots, store, log_dir, index, extra_env):
        self.binary, self.rules, self.bots, self.store = binary, rules, bots, store
        self.port = free_port()
        self.log = open(os.path.join(log_dir, f"daemon-{index}.log"), "ab")
        self.env = dict(os.environ, **extra_env)
        self.proc = None
        self.restarts = 0

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.rules, "--bots", self.bots,
             "--listen", f"127.0.0.1:{self.port}", "--store", self.store, "--no-watch",
             "--log-format", "json", "--rate-limit", "off", "--chat-rate-limit", "off",
             "--chat-address-rate-limit", "off", "--timer-lease", "10"],
            stdout=self.log, stderr=self.log, env=self.env)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"daemon on port {self.port} did not become ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def sample(self):
        pid = self.proc.pid
        rss = 0
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) * 1024
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            fds = 0
        return rss, fds


class Stats:
    """Latencies per minute and outcomes, shared by the load threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.failures = []
        self.acked_events = set()
        self.tickets = set()

    def record(self, minute, ms):
        with self.lock:
            self.latencies[minute].append(ms)


def request(conns, port, method, path, body=None):
    """One request on a kept connection per (thread, port); returns (status, json or None)."""
    conn = conns.get(port)
    for attempt in range(2):
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conns[port] = conn
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {} if body is None else {"Content-Type": "application/json"}
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, None
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = None
            conns.pop(port, None)
            if attempt == 1:
                raise
    raise RuntimeError("unreachable")


def paced(start, rate, stop_at, fn):
    """Calls fn(i, due) at `rate` per second from `start` until `stop_at`, never skipping."""
    i = 0
    while True:
        due = start + i / rate
        if due >= stop_at:
            return
        now = time.time()
        if due > now:
            time.sleep(due - now)
        fn(i, due)
        i += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--rate", type=float, default=100, help="ticket.created events per second")
    ap.add_argument("--store", default=None, help="default: a SQLite file in a temporary directory")
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--timer-after", default="60s")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "frontdesk"))
    ap.add_argument("--threads", type=int, default=4, help="event senders")
    ap.add_argument("--json", help="write the samples and the summary here")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="frontdesk-soak-")
    rules = os.path.join(work, "rules")
    shutil.copytree(os.path.join(ROOT, "rules"), rules)
    with open(os.path.join(rules, "soak.yaml"), "w") as f:
        f.write(SOAK_RULE.replace("{after}", args.timer_after))
    bots = os.path.join(ROOT, "bots")
    store = args.store or f"sqlite://{os.path.join(work, 'soak.db')}"
    sqlite_file = store[len("sqlite://"):] if store.startswith("sqlite://") else None
    if args.replicas > 1 and sqlite_file:
        raise SystemExit("SQLite serves one process; give --store postgres://... for replicas")
    daemons = [Daemon(args.binary, rules, bots, store, work, i, {"FRONTDESK_LOG": "warn"})
               for i in range(args.replicas)]
    for d in daemons:
        d.start()
    ports = lambda: [d.port for d in daemons]  # noqa: E731

    stats = Stats()
    start = time.time() + 1
    stop_at = start + args.minutes * 60
    restart_at = start + args.minutes * 60 / 3 if args.replicas > 1 else None
    restarting = threading.Event()
    run_id = f"{int(start)}"

    def send_events(offset, step):
        conns = {}

        def one(i, due):
            n = i * step + offset
            ticket = f"soak-{run_id}-{n}"
            body = {"id": f"{ticket}:created", "type": "ticket.created",
                    "ticket": {"id": ticket, "channel": "email", "tags": ["soak"],
                               "customer": {"id": f"c{n % 5000}", "email": f"c{n % 5000}@example.com"}},
                    "message": {"text": QUESTIONS[n % len(QUESTIONS)] if n % 2 else f"Order {n} has not arrived"}}
            port = ports()[n % len(ports())]
            try:
                status, _ = request(conns, port, "POST", "/v1/events", body)
            except OSError as e:
                if not restarting.is_set():
                    stats.failures.append(f"{ticket}: {e}")
                return
            minute = int((time.time() - start) // 60)
            stats.record(minute, (time.time() - due) * 1000)
            if status == 200:
                with stats.lock:
                    stats.acked_events.add(body["id"])
                    stats.tickets.add(ticket)
                if n % 4 == 0:
                    follow = {"id": f"{ticket}:msg", "type": "message.created",
                              "ticket": {"id": ticket}, "message": {"text": "Any news?", "author": "customer"}}
                    try:
                        s2, _ = request(conns, port, "POST", "/v1/events", follow)
                        if s2 == 200:
                            with stats.lock:
                                stats.acked_events.add(follow["id"])
                    except OSError:
                        pass
            elif not (restarting.is_set() and status >= 500):
                stats.failures.append(f"{ticket}: HTTP {status}")

        paced(start + offset / args.rate, args.rate / step, stop_at, one)

    def chats():
        conns = {}

        def one(i, due):
            port = ports()[i % len(ports())]
            try:
                status, opened = request(conns, port, "POST", "/v1/chat/sessions", {"bot": "support"})
                if status != 201:
                    if not restarting.is_set():
                        stats.failures.append(f"chat open: HTTP {status}")
                    return
                sid = opened["id"]
                for body in ({"text": QUESTIONS[i % len(QUESTIONS)]}, {"feedback": "yes"}):
                    request(conns, port, "POST", f"/v1/chat/sessions/{sid}/messages", body)
                request(conns, port, "POST", f"/v1/chat/sessions/{sid}/close")
            except OSError as e:
                if not restarting.is_set():
                    stats.failures.append(f"chat: {e}")

        paced(start, 0.5, stop_at, one)

    threads = [threading.Thread(target=send_events, args=(k, args.threads), daemon=True)
               for k in range(args.threads)]
    threads.append(threading.Thread(target=chats, daemon=True))
    for t in threads:
        t.start()

    samples = []
    print(f"soak: {args.minutes} min at {args.rate} events/s, store {store}, {args.replicas} process(es); work dir {work}")
    print(f"{'min':>4} {'events':>8} {'p50 ms':>8} {'p99 ms':>8} {'rss MB':>10} {'fds':>8} {'db MB':>8} {'wal MB':>8}")
    minute = 0
    restarted = False
    while time.time() < stop_at or any(t.is_alive() for t in threads):
        next_sample = start + (minute + 1) * 60
        while time.time() < next_sample:
            if restart_at and not restarted and time.time() >= restart_at:
                restarting.set()
                daemons[-1].kill()
                daemons[-1].start()
                daemons[-1].restarts += 1
                restarted = True
                time.sleep(2)
                restarting.clear()
            time.sleep(0.5)
            if time.time() >= stop_at and not any(t.is_alive() for t in threads):
                break
        lat = sorted(stats.latencies.get(minute, []))
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
        per = [d.sample() for d in daemons]
        db = os.path.getsize(sqlite_file) if sqlite_file and os.path.exists(sqlite_file) else 0
        wal = os.path.getsize(sqlite_file + "-wal") if sqlite_file and os.path.exists(sqlite_file + "-wal") else 0
        row = {"minute": minute + 1, "requests": len(lat), "p50_ms": p(0.5), "p99_ms": p(0.99),
               "rss_bytes": [r for r, _ in per], "fds": [f for _, f in per], "db_bytes": db, "wal_bytes": wal}
        samples.append(row)
        print(f"{minute + 1:>4} {len(lat):>8} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
              f"{'/'.join(str(r // 1_000_000) for r in row['rss_bytes']):>10} "
              f"{'/'.join(str(f) for f in row['fds']):>8} {db / 1e6:>8.1f} {wal / 1e6:>8.1f}", flush=True)
        minute += 1
        if time.time() >= stop_at and not any(t.is_alive() for t in threads):
            break

    # Let the last follow-up timers come due and fire.
    after_s = int(args.timer_after.rstrip("s")) if args.timer_after.endswith("s") else 60
    time.sleep(after_s + 20)

    for d in daemons:
        d.stop()
    # Every acknowledged event stored once; every soak ticket's follow-up timer fired once.
    export = subprocess.run([args.binary, "export", "events", "--store", store, "--since", "2d"],
                            capture_output=True, text=True, check=True)
    stored = defaultdict(int)
    fired = defaultdict(int)
    for line in export.stdout.splitlines():
        event = json.loads(line)["event"]
        stored[event["id"]] += 1
        timer = event.get("timer") or {}
        if event["type"] == "timer.fired" and timer.get("name") == "soak follow-up":
            fired[event["ticket"]["id"]] += 1
    missing_events = [e for e in stats.acked_events if stored.get(e, 0) == 0]
    stored_twice = [e for e, n in stored.items() if n > 1]
    missing_tags = [t for t in stats.tickets if fired.get(t, 0) == 0]
    double_fired = [t for t in stats.tickets if fired.get(t, 0) > 1]
    summary = {
        "minutes": args.minutes, "rate": args.rate, "store": store.split("@")[-1], "replicas": args.replicas,
        "acknowledged_events": len(stats.acked_events), "tickets": len(stats.tickets),
        "events_missing": len(missing_events), "events_stored_twice": len(stored_twice),
        "timers_not_fired": len(missing_tags),
        "timers_fired_twice": len(double_fired), "failed_requests": len(stats.failures),
        "restarts": sum(d.restarts for d in daemons),
    }
    print(json.dumps(summary, indent=2))
    for f in stats.failures[:10]:
        print("failure:", f)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"samples": samples, "summary": summary}, f, indent=2)
    ok = not (missing_events or stored_twice or missing_tags or double_fired or stats.failures)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
