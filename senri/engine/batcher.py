"""Micro-batching from an asyncio queue under a `BatchPolicy`.

A batch is released as soon as it holds `max_size` items, or when its first item has waited
`max_wait_ms`, whichever comes first; so latency is bounded while busy streams still get full
batches. An `END` marker in the queue ends the stream after the batch in hand is released.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from senri.engine.operator import BatchPolicy


class _End:
    """End-of-stream marker put into queues by producers that have finished."""

    def __repr__(self) -> str:
        return "END"


END: Final = _End()


class MicroBatcher:
    """Pull batches from `queue`; `producers` END markers must arrive before the stream ends.

    Example:
        batcher = MicroBatcher(queue, BatchPolicy(16, 20))
        while (batch := await batcher.next_batch()) is not None:
            ...
    """

    def __init__(self, queue: asyncio.Queue[Any], policy: BatchPolicy, producers: int = 1) -> None:
        self.queue = queue
        self.policy = policy
        self.remaining = producers

    @property
    def finished(self) -> bool:
        return self.remaining <= 0

    async def _get(self) -> Any:
        item = await self.queue.get()
        if item is END:
            self.remaining -= 1
        return item

    async def next_batch(self) -> list[Any] | None:
        """The next batch, or None once every producer has ended and the queue is drained."""
        batch: list[Any] = []
        while not batch:
            if self.finished:
                return None
            item = await self._get()
            if item is not END:
                batch.append(item)
        deadline = asyncio.get_running_loop().time() + self.policy.max_wait_ms / 1000.0
        try:
            # One timer for the whole batch, not one per item; a `Queue.get` cancelled by it
            # leaves its item in the queue, and a get from a non-empty queue never suspends.
            async with asyncio.timeout_at(deadline):
                while len(batch) < self.policy.max_size and not self.finished:
                    item = await self._get()
                    if item is not END:
                        batch.append(item)
        except TimeoutError:
            pass
        return batch

    def waiting(self, limit: int) -> list[Any]:
        """Up to `limit` items already in the queue, taken without waiting for more.

        The embedded runtime hands these to the same pool task as the batch in hand when
        batches are cheap, so a thread hand-off is paid per group, not per batch.
        """
        taken: list[Any] = []
        while len(taken) < limit and not self.finished:
            try:
                item = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if item is END:
                self.remaining -= 1
            else:
                taken.append(item)
        return taken
