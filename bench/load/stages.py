#!/usr/bin/env python3
"""The daemon's CPU per event, stage by stage, from a `perf record --call-graph` profile.

    perf script -i perf.data --no-demangle=false | python3 bench/load/stages.py EVENTS [CPU_SECONDS]

Each sample is given to the innermost frame of its stack that names a stage (a log line written
inside a decision counts as logging, the SQLite calls under `sql::write` as the writes, the fsync
under the batch as the commit). EVENTS is how many events the profile covered; with the process's
CPU seconds over the same span (`/proc/PID/stat`), the shares become microseconds per event,
else the samples are counted at the profile's own rate.
"""

import re
import sys
from collections import Counter

# Checked against the whole stack before the walk: the FAQ bots' reading made while the event
# waits for the writer is theirs, whatever it calls.
OUTER = [
    ("FAQ bot, read ahead", r"rules::read_ahead"),
]
# Innermost first: the first stage whose pattern a frame matches, walking from the leaf out.
STAGES = [
    ("logging", r"tracing_subscriber|tracing_core::|tracing::span|tracing_log|::fmt::format"),
    ("metrics", r"\bmetrics::|metrics_exporter|metrics_util|frontdesk::service::metrics"),
    ("FAQ bot (in decide)", r"frontdesk_core::faq::|frontdesk_core::rules::Asked"),
    ("decide", r"frontdesk_core::engine::"),
    ("plan the writes", r"frontdesk_core::plan::"),
    ("read the ticket", r"store::shared::read_stored|store::shared::stored"),
    ("write the rows", r"store::sql::write"),
    ("search index (every 512)", r"writer::index_messages"),
    ("event path, other", r"store::shared::apply_one"),
    ("commit (fsync) and batch", r"writer::write_batch|writer::writer_loop"),
    ("parse the request", r"service::read_event|server::extract|server::routes::parse_json|model::strict|Event::from_value"),
    ("build the response", r"EventResponse|axum::json|axum::Json|IntoResponse"),
    ("service, other", r"frontdesk::service::"),
    ("handler, other", r"frontdesk::server::"),
    ("HTTP (hyper, axum, tower)", r"\bhyper::|\baxum::|\btower::|\bhttp::|\bhttparse::|hyper_util"),
    ("tokio runtime", r"\btokio::"),
]
COMPILED = [(name, re.compile(pat)) for name, pat in STAGES]
OUTER_COMPILED = [(name, re.compile(pat)) for name, pat in OUTER]
# The stages the one writer runs for each event in turn (SQLite): what bounds the events a
# second, with the fsync it waits for.
WRITER = {"FAQ bot (in decide)", "decide", "plan the writes", "read the ticket", "write the rows",
          "search index (every 512)", "event path, other", "commit (fsync) and batch"}


def stage_of(frames):
    for name, pat in OUTER_COMPILED:
        if any(pat.search(sym) for sym in frames):
            return name
    for sym in frames:
        for name, pat in COMPILED:
            if pat.search(sym):
                return name
    if frames and ("[kernel" in frames[0] or frames[0].startswith("__")):
        return "kernel, outside any stage"
    return "other"


def samples(lines):
    frames = []
    in_sample = False
    for line in lines:
        if not line.strip():
            if in_sample:
                yield frames
            frames, in_sample = [], False
            continue
        if line[0] in " \t":
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
        else:
            in_sample = True
    if in_sample:
        yield frames


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    events = float(sys.argv[1])
    cpu = float(sys.argv[2]) if len(sys.argv) > 2 else None
    counts = Counter()
    for frames in samples(sys.stdin):
        counts[stage_of(frames)] += 1
    total = sum(counts.values())
    if not total:
        sys.exit("no samples read")
    per_event = 1e6 * cpu / events if cpu else None
    print(f"{total} samples; {events:.0f} events" + (f"; {per_event:.0f} us of CPU each" if per_event else ""))
    order = [n for n, _ in OUTER + STAGES] + ["kernel, outside any stage", "other"]
    for name in order:
        n = counts.get(name, 0)
        share = n / total
        us = f"{share * per_event:7.1f} us" if per_event else ""
        where = "writer" if name in WRITER else ""
        print(f"| {name:<28} | {where:<6} | {100 * share:5.1f} % | {us} |")
    writer = sum(counts.get(n, 0) for n in WRITER) / total
    line = f"on the writer, one event after another: {100 * writer:.1f} %"
    print(line + (f", {writer * per_event:.0f} us an event" if per_event else ""))


if __name__ == "__main__":
    main()
