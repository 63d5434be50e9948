#!/usr/bin/env python3
"""Chat API latency against a running daemon, one request at a time (a customer waits for each
reply). Each round opens a session, asks a question the example bot answers, says "yes", asks
one it cannot answer, then asks for a person (the handoff decides an event through the rules).

    FRONTDESK_CHAT_ADDRESS_RATE_LIMIT=off FRONTDESK_CHAT_RATE_LIMIT=off \
        ./target/release/frontdesk serve --store sqlite:///tmp/chat-bench.db --listen 127.0.0.1:8090 &
    python3 bench/chat/latency.py http://127.0.0.1:8090 300

Prints p50 / p90 / p99 per kind of request, in milliseconds.
"""
import http.client
import json
import sys
import time
import urllib.parse

QUESTIONS = [
    ("en", "Where is my order?", "I want to talk to a human"),
    ("nb", "Hvor er pakken min?", "Kan jeg snakke med et menneske?"),
    ("da", "Hvad koster fragt?", "Jeg vil gerne tale med en medarbejder"),
    ("ar", "كم تكلفة الشحن؟", "أريد التحدث مع موظف"),
    ("zh", "怎么取消订单？", "转人工"),
]
UNANSWERED = {"en": "What is the weather like on Mars?", "nb": "Hva er hovedstaden i Australia?",
              "da": "Hvem vandt fodboldkampen?", "ar": "كم عمر الكون؟", "zh": "今天股票涨了吗"}
YES = {"en": "Yes", "nb": "Ja", "da": "Ja", "ar": "نعم", "zh": "解决了"}


def main():
    base = urllib.parse.urlparse(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8090")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    conn = http.client.HTTPConnection(base.hostname, base.port or 80)
    times = {"open": [], "answer": [], "feedback": [], "unanswered": [], "handoff": []}

    def post(path, body, kind, want):
        started = time.perf_counter()
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        r = conn.getresponse()
        data = json.loads(r.read())
        times[kind].append((time.perf_counter() - started) * 1000)
        if r.status != want:
            sys.exit(f"{path}: {r.status} {data}")
        return data

    for i in range(rounds):
        lang, question, person = QUESTIONS[i % len(QUESTIONS)]
        s = post("/v1/chat/sessions", {"bot": "support", "language": lang}, "open", 201)
        path = f"/v1/chat/sessions/{s['id']}/messages"
        post(path, {"text": question}, "answer", 200)
        post(path, {"text": YES[lang]}, "feedback", 200)
        post(path, {"text": UNANSWERED[lang]}, "unanswered", 200)
        r = post(path, {"text": person}, "handoff", 200)
        if not r["handoff"]:
            sys.exit(f"no handoff for {person!r}: {r}")

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    print(f"{rounds} rounds, one request at a time")
    for kind, xs in times.items():
        print(f"{kind:>10}: p50 {pct(xs, 50):6.2f} ms  p90 {pct(xs, 90):6.2f} ms  p99 {pct(xs, 99):6.2f} ms  (n={len(xs)})")


if __name__ == "__main__":
    main()
