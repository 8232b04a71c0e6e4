"""How work crosses threads in the embedded runtime without costing a wake-up per item.

A thread hand-off (a self-pipe write, an event-loop iteration, a pool thread's wake-up, the
GIL passing between threads) costs 50–300 µs: nothing beside a large model's batch, much of a
small one's and all of a cheap operator's. `Handoff`
wakes the event loop once per burst of source items; `BatchCost` lets one pool task carry
several cheap batches that are already waiting. Per-stream order and backpressure are kept:
items leave in the order they came, and every queue stays bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

from senri.engine.graph import Node
from senri.engine.metrics import RuntimeMetrics
from senri.engine.operator import Operator
from senri.engine.step import run_node
from senri.records import DeadLetter

GROUP_SECONDS = 0.01
"""Work one pool task of a node may carry: the batches already waiting, while they are cheap.
A hand-off costs 50-300 µs (the event loop, the GIL passing between threads), so 10 ms keeps
it to a few percent; it is also the most a backlog delays a node's first results."""
GROUP_BATCHES = 64
"""At most this many batches in one pool task, however cheap (an operator that does nothing)."""


class BatchCost:
    """A node's seconds per batch, smoothed; says how many waiting batches one pool task takes.

    Batches that take well under `GROUP_SECONDS` are run several to a pool task, each still
    its own `process()` call of at most `max_size` items. A batch of unknown cost (the first)
    travels alone; so does any batch once they grow dear.
    """

    def __init__(self) -> None:
        self.seconds: float | None = None

    def add(self, seconds: float, batches: int) -> None:
        each = seconds / max(1, batches)
        self.seconds = each if self.seconds is None else 0.8 * self.seconds + 0.2 * each

    def batches(self) -> int:
        if self.seconds is None:
            return 1
        return max(1, min(GROUP_BATCHES, int(GROUP_SECONDS / max(self.seconds, 1e-6))))


class Handoff:
    """Items from a reader thread to the event loop, which is woken once per burst, not per item.

    `put` (any thread) appends; only when the loop waits in `take` does it schedule a wake-up,
    so a source that reads faster than the loop drains costs no self-pipe write per item.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._loop.call_soon_threadsafe(_wake, waiter)

    async def take(self) -> list[Any]:
        """Everything handed over so far (at least one item), oldest first."""
        while True:
            with self._lock:
                if self._items:
                    items = list(self._items)
                    self._items.clear()
                    return items
                waiter = self._waiter = self._loop.create_future()
            await waiter


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def run_timed(
    node: Node, op: Operator[Any, Any], items: list[Any], metrics: RuntimeMetrics
) -> tuple[tuple[list[Any], list[DeadLetter], int], float, int]:
    """`run_node` on a pool thread, with its wall time and how many batches `items` made."""
    started = time.perf_counter()
    done = run_node(node, op, items, metrics)
    return done, time.perf_counter() - started, -(-len(items) // node.batch.max_size)
