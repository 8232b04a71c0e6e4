"""How question latency grows with the archive: `senri ask` over 1x, 10x, 100x its size.

The generated archive (`senri.worlds.archive.generate`, 2,214 events over four days) is copied
K times, each copy shifted four days later with its own ids, into a fresh SQLite store (or the
Elasticsearch index given with --store, emptied first). For each size it prints the store's
event count, the fill time, and per question the answer latency (median of 5 runs) for a
fixed set of question shapes: a count, a list of values, a when with 'last', a which-most, a
cross-modal join and a transcript search. The questions are written here, apart from the
held-out benchmark's. Run: `python benchmarks/ask_scale.py --copies 1 10 100`.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from senri.ask.engine import Asker
from senri.ask.vocab import TextEmbedder, Vocabulary
from senri.indexes.events.sqlite import SqliteEventStore
from senri.indexes.events.stores import open_store
from senri.records import Event
from senri.worlds.archive import generate

SHIFT = 4 * 86_400.0
QUESTIONS = (
    ("count", "how many red cars passed the main road?"),
    ("list", "what colours were the trucks at the loading dock?"),
    ("when", "when was the last bus on camera 3?"),
    ("which", "which camera saw the most people?"),
    ("join", "what was said in the car park when a siren sounded?"),
    ("text", "did anyone mention the forklift?"),
)


def copies(events: list[Event], k: int) -> list[Event]:
    out = []
    for i in range(k):
        for e in events:
            out.append(
                dataclasses.replace(
                    e,
                    id=f"{e.id}-{i}",
                    time=e.time + i * SHIFT,
                    end_time=None if e.end_time is None else e.end_time + i * SHIFT,
                    track_id=None if e.track_id is None else e.track_id + i * 100_000,
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument(
        "--store", default="", help="elasticsearch://HOST:PORT/INDEX (default: SQLite)"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    archive = generate(7)
    vocab = Vocabulary(TextEmbedder.load())
    print(
        f"{'copies':>6} {'events':>9} {'fill s':>7}  " + "  ".join(f"{n:>8}" for n, _ in QUESTIONS)
    )
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.copies:
            store = (
                open_store(args.store)
                if args.store
                else SqliteEventStore(Path(tmp) / f"{k}.sqlite")
            )
            store.clear()
            events = copies(archive.events, k)
            started = time.perf_counter()
            for i in range(0, len(events), 5000):
                store.put(events[i : i + 5000])
            store.flush()
            fill = time.perf_counter() - started
            now = archive.now + (k - 1) * SHIFT
            asker = Asker(store, now=now, places=archive.places, vocab=vocab)
            cells = []
            for _, question in QUESTIONS:
                times = []
                for _ in range(args.runs):
                    answer = asker.ask(question)
                    times.append(answer.seconds * 1000)
                cells.append(f"{statistics.median(times):6.1f}ms")
            print(f"{k:>6} {store.count():>9} {fill:>7.1f}  " + "  ".join(cells), flush=True)
            store.close()


if __name__ == "__main__":
    main()
