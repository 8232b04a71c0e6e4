"""Where the embedded runtime's per-item time goes at batch 1, with an operator that does nothing.

Runs N items through source thread → bounded queues → one pass-through node (batch 1, run in
the thread pool) → memory sink, prints the wall time per item, then the same run under
cProfile (the event-loop thread; the pool and source threads show only as waits) with the
functions that take the most time, and the event-loop iterations and self-pipe wake-ups per
item: the hand-offs between threads are what a cheap item costs (see docs/pipelines.md).

    python benchmarks/hot_path.py --items 20000
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Iterator
from dataclasses import dataclass

from senri.engine import spec
from senri.engine.graph import build
from senri.engine.local import LocalRuntime
from senri.engine.operator import Operator, OperatorRegistry, Stateless
from senri.engine.sinks import MemorySink


@dataclass(frozen=True)
class Item:
    stream_id: str
    seq: int

    @property
    def key(self) -> str:
        return f"{self.stream_id}:{self.seq}"


class Nothing(Stateless, Operator[Item, Item]):
    name = "bench.nothing"
    input_type = Item
    output_type = Item

    def process(self, items: list[Item]) -> list[Item]:
        return items


def runtime(n: int) -> LocalRuntime:
    ops = OperatorRegistry()
    ops.register(Nothing)
    doc = {
        "inputs": {"items": {"memory": "bench"}},
        "graph": {"a": {"op": "bench.nothing", "from": "items", "batch": 1}},
        "outputs": {"out": {"memory": "x", "from": ["a"]}},
    }
    graph = build(
        spec.from_mapping(doc), ops=ops, input_types={"items": Item}, sink_kinds={"memory": object}
    )

    def items() -> Iterator[Item]:
        for i in range(n):
            yield Item("s", i)

    return LocalRuntime(graph, sources={"items": items()}, sinks={"out": MemorySink()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    n = args.items
    started = time.perf_counter()
    runtime(n).run()
    print(f"{(time.perf_counter() - started) / n * 1e6:.0f} µs per item (wall), batch 1")
    profile = cProfile.Profile()
    profile.enable()
    runtime(n).run()
    profile.disable()
    stats = pstats.Stats(profile)
    calls = {f[2]: v[1] for f, v in stats.stats.items()}  # type: ignore[attr-defined]
    print(f"event-loop iterations per item: {calls.get('_run_once', 0) / n:.1f}")
    print(f"self-pipe reads per item: {calls.get('_read_from_self', 0) / n:.1f}")
    stats.sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
