"""Thread hand-offs of the embedded runtime: fewer wake-ups; nothing lost; order and sizes kept."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import senri.engine.local as local
from senri.engine.batcher import END, MicroBatcher
from senri.engine.handoff import GROUP_BATCHES, GROUP_SECONDS, BatchCost, Handoff
from senri.engine.local import LocalRuntime
from senri.engine.operator import BatchPolicy
from senri.engine.sinks import MemorySink
from tests.unit.test_local_runtime import graph, items

pytestmark = pytest.mark.unit


def test_handoff_keeps_every_item_in_order_and_wakes_once_per_burst() -> None:
    wakes = [0]

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            wakes[0] += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        handoff = Handoff(loop)

        def reader() -> None:
            for burst in range(50):
                for i in range(200):
                    handoff.put(burst * 200 + i)
                time.sleep(0.002)  # the loop drains and waits again between bursts
            handoff.put(END)

        thread = threading.Thread(target=reader)
        thread.start()
        got: list[Any] = []
        while not got or got[-1] is not END:
            got += await asyncio.wait_for(handoff.take(), 10)
        thread.join()
        return got

    got = asyncio.run(main())
    assert got[:-1] == list(range(10_000))
    # a wake-up per item would be 10,000; per burst it is about 50 (a few more when the loop
    # catches up with the reader inside a burst)
    assert 1 <= wakes[0] <= 2_000


def test_handoff_wakes_a_waiting_loop_for_a_single_item() -> None:
    async def main() -> list[Any]:
        handoff = Handoff(asyncio.get_running_loop())
        threading.Timer(0.05, handoff.put, args=("late",)).start()
        return await asyncio.wait_for(handoff.take(), 5)

    assert asyncio.run(main()) == ["late"]


@pytest.mark.parametrize(
    ("share", "batches"),
    [(None, 1), (1e-4, GROUP_BATCHES), (1 / 8.5, 8), (1.0, 1), (3.0, 1)],
)
def test_batch_cost_groups_only_cheap_batches(share: float | None, batches: int) -> None:
    """A batch that takes `share` of GROUP_SECONDS travels with as many as fit."""
    cost = BatchCost()
    if share is not None:
        cost.add(share * GROUP_SECONDS * 4, 4)  # four batches in one pool task
    assert cost.batches() == batches


def test_waiting_takes_only_what_is_queued_and_counts_ends() -> None:
    async def main() -> tuple[list[Any], list[Any], bool]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for x in [1, 2, END, 3]:
            queue.put_nowait(x)
        batcher = MicroBatcher(queue, BatchPolicy(1, 1000), producers=2)
        first = batcher.waiting(2)
        rest = batcher.waiting(10)
        return first, rest, batcher.finished

    first, rest, finished = asyncio.run(main())
    assert first == [1, 2]
    assert rest == [3] and not finished  # one of two producers ended


def test_cheap_batches_share_pool_tasks_but_each_process_call_keeps_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tasks: list[int] = []
    real = local.run_timed

    def counting(node: Any, op: Any, batch: list[Any], metrics: Any) -> Any:
        tasks.append(len(batch))
        return real(node, op, batch, metrics)

    monkeypatch.setattr(local, "run_timed", counting)
    g = graph({"p": {"op": "test.pass", "from": "items", "batch": 2, "max_wait_ms": 50}})
    sink = MemorySink()
    rt = LocalRuntime(g, sources={"items": items("s", 3000)}, sinks={"out": sink})
    rt.run()
    calls = rt.operator("p").batches  # type: ignore[attr-defined]
    assert max(calls) <= 2 and sum(calls) == 3000
    assert [i.seq for i in sink.items] == list(range(3000))
    assert len(tasks) < len(calls) / 2  # most pool tasks carried several batches
    assert max(tasks) <= 2 * GROUP_BATCHES
