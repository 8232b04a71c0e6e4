"""The embedded runtime: one process, asyncio for flow, threads for model work.

Every stage (node or sink) reads a bounded queue, so a slow stage holds back the ones before it
(backpressure) instead of letting memory grow. Each node runs one batch at a time, which keeps
per-stream order along every edge. Model work runs in a thread pool, off the event loop;
sources run in their own threads. An item that an operator cannot process is isolated (the batch
is retried item by item) and goes to the dead-letter sink with the reason; the stream goes on.
`stop()` closes the sources and lets everything already read drain to the sinks.

Example:
    runtime = LocalRuntime(graph, sources={"frames": VideoSource(...)}, sinks={"events": sink})
    report = runtime.run()
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import GeneratorType
from typing import Any

from senri.connectors.base import Source
from senri.engine.batcher import END, MicroBatcher
from senri.engine.graph import Graph, Node
from senri.engine.handoff import BatchCost, Handoff, run_timed
from senri.engine.health import StreamHealth
from senri.engine.metrics import RuntimeMetrics
from senri.engine.operator import BatchPolicy, Device, Operator
from senri.engine.sinks import MemorySink, Sink
from senri.engine.step import stamp
from senri.records import DeadLetter

SINK_POLICY = BatchPolicy(max_size=256, max_wait_ms=50)


@dataclass
class RunReport:
    """What one run did: items per stage, dead letters, wall time (setup, then flow)."""

    items_in: dict[str, int] = field(default_factory=dict)
    items_out: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0
    stopped: bool = False


class LocalRuntime:
    """Runs a validated `Graph` in this process until its sources end or `stop()` is called."""

    def __init__(
        self,
        graph: Graph,
        *,
        sources: Mapping[str, Iterable[Any]],
        sinks: Mapping[str, Sink],
        dlq: Sink | None = None,
        queue_size: int = 64,
        workers: int | None = None,
        device: Device | None = None,
        metrics: RuntimeMetrics | None = None,
        on_health: Callable[[str], None] | None = None,
    ) -> None:
        missing = [n for n in graph.inputs if n not in sources]
        if missing:
            raise ValueError(f"no source given for input(s): {', '.join(missing)}")
        missing = [n for n in graph.outputs if n not in sinks]
        if missing:
            raise ValueError(f"no sink given for output(s): {', '.join(missing)}")
        self.graph = graph
        self.sources = dict(sources)
        self.sinks = dict(sinks)
        self.dlq: Sink = dlq if dlq is not None else MemorySink()
        self.queue_size = queue_size
        self.workers = workers or max(2, os.cpu_count() or 2)
        self.device = device or Device("cpu")
        self.metrics = metrics or RuntimeMetrics()
        self.health = StreamHealth(on_health, self.metrics.stream_state)
        """Live sources' streams: up, or down since when and why (`on_health` gets changes)."""
        self.metrics.streams = self.health.snapshot
        self._stopping = threading.Event()
        self._ops: dict[str, Operator[Any, Any]] = {}

    def stop(self) -> None:
        """Ask the sources to stop; everything already read still reaches the sinks."""
        self._stopping.set()
        for src in self.sources.values():
            # Sources close from any thread; a plain generator cannot be closed while its reader
            # runs it, and stops at the next item because the reader checks `_stopping`.
            if isinstance(src, Source) and not isinstance(src, GeneratorType):
                src.close()

    def run(self) -> RunReport:
        return asyncio.run(self.run_async())

    def operator(self, name: str) -> Operator[Any, Any]:
        """The live operator instance of a node (after `run` started)."""
        return self._ops[name]

    async def run_async(self) -> RunReport:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="senri-op")
        queues: dict[str, asyncio.Queue[Any]] = {}
        for name in self.graph.nodes:
            queues[name] = asyncio.Queue(self.queue_size)
        for name in self.graph.outputs:
            queues[f"output:{name}"] = asyncio.Queue(self.queue_size)
        dlq_queue: asyncio.Queue[Any] = asyncio.Queue()
        consumers = {
            src: [queues[c] for c in self.graph.consumers(src)]
            for src in [*self.graph.inputs, *self.graph.nodes]
        }
        producers: dict[str, int] = defaultdict(int)
        for src in consumers:
            for c in self.graph.consumers(src):
                producers[c] += 1
        report = RunReport()
        try:
            for name, node in self.graph.nodes.items():
                op = node.create()
                await loop.run_in_executor(pool, op.setup, node.device or self.device)
                self._ops[name] = op
            flow_started = time.perf_counter()
            report.setup_seconds = flow_started - started
            tasks = [
                asyncio.create_task(self._run_source(name, consumers[name], dlq_queue))
                for name in self.graph.inputs
            ]
            stage_tasks = [
                asyncio.create_task(
                    self._run_node(
                        node, queues[name], producers[name], consumers[name], dlq_queue, pool
                    )
                )
                for name, node in self.graph.nodes.items()
            ]
            sink_tasks = [
                asyncio.create_task(
                    self._run_sink(
                        f"output:{name}",
                        self.sinks[name],
                        queues[f"output:{name}"],
                        producers[f"output:{name}"],
                        dlq_queue,
                    )
                )
                for name in self.graph.outputs
            ]
            dlq_task = asyncio.create_task(self._run_sink("dlq", self.dlq, dlq_queue, 1))
            await asyncio.gather(*tasks, *stage_tasks, *sink_tasks)
            await dlq_queue.put(END)
            await dlq_task
        finally:
            for op in self._ops.values():
                await loop.run_in_executor(pool, op.teardown)
            pool.shutdown(wait=True)
        for stage in [
            *self.graph.inputs,
            *self.graph.nodes,
            *(f"output:{o}" for o in self.graph.outputs),
        ]:
            report.items_in[stage] = int(self.metrics.value("senri_items_in_total", stage))
            report.items_out[stage] = int(self.metrics.value("senri_items_out_total", stage))
        report.dead_letters = int(self.metrics.value("senri_items_in_total", "dlq"))
        report.seconds = time.perf_counter() - flow_started
        report.stopped = self._stopping.is_set()
        return report

    async def _run_source(
        self, name: str, targets: list[asyncio.Queue[Any]], dlq: asyncio.Queue[Any]
    ) -> None:
        """Forward what the source's reader thread hands over to the consumers' queues.

        The reader may run at most `queue_size` items ahead (a semaphore it must acquire per
        item), so a full downstream queue stops it reading: backpressure reaches the source.
        """
        handoff = Handoff(asyncio.get_running_loop())
        credits = threading.Semaphore(self.queue_size)
        reader = threading.Thread(
            target=self._read_source,
            args=(name, self.sources[name], handoff, credits),
            name=f"senri-source-{name}",
            daemon=True,
        )
        reader.start()
        out = self.metrics.items_out.labels(name)
        dead = self.metrics.dead_letters.labels(name)
        ended = False
        while not ended:
            items = await handoff.take()
            credits.release(len(items))
            for item in items:
                if item is END:
                    ended = True
                    break
                self.health.seen(item)
                if isinstance(item, DeadLetter):
                    dead.inc()
                    await dlq.put(item)
                    continue
                out.inc()
                for q in targets:
                    await q.put(item)
        for q in targets:
            await q.put(END)
        await asyncio.to_thread(reader.join)

    def _read_source(
        self,
        name: str,
        source: Iterable[Any],
        handoff: Handoff,
        credits: threading.Semaphore,
    ) -> None:
        """Reader thread: iterate the source, handing items to the event loop."""
        try:
            for item in source:
                credits.acquire()
                handoff.put(item)
                if self._stopping.is_set():
                    break
        except Exception as exc:  # a source bug must not hang the graph; report it and end
            letter = DeadLetter(
                name,
                "",
                f"source:{name}",
                f"source failed: {exc}",
                type(exc).__name__,
                time=time.time(),
            )
            handoff.put(letter)
        finally:
            handoff.put(END)

    async def _emit(self, stage: str, items: list[Any], targets: list[asyncio.Queue[Any]]) -> None:
        self.metrics.items_out.labels(stage).inc(len(items))
        await self._forward(items, targets)

    @staticmethod
    async def _forward(items: list[Any], targets: list[asyncio.Queue[Any]]) -> None:
        for item in items:
            for q in targets:
                await q.put(item)

    async def _run_node(
        self,
        node: Node,
        queue: asyncio.Queue[Any],
        producers: int,
        targets: list[asyncio.Queue[Any]],
        dlq: asyncio.Queue[Any],
        pool: ThreadPoolExecutor,
    ) -> None:
        loop = asyncio.get_running_loop()
        op = self._ops[node.name]
        batcher = MicroBatcher(queue, node.batch, producers)
        depth = max(1, min(op.in_flight, self.workers))
        running: deque[asyncio.Future[Any]] = deque()  # in the order their batches came
        depth_gauge = self.metrics.queue_depth.labels(node.name)
        size = node.batch.max_size
        cost = BatchCost()

        async def deliver() -> None:
            (results, dead, _), seconds, batches = await running.popleft()
            cost.add(seconds, batches)
            for letter in dead:
                await dlq.put(letter)
            await self._forward(results, targets)

        while (batch := await batcher.next_batch()) is not None:
            depth_gauge.set(queue.qsize())
            if len(batch) == size:  # full: more may be waiting; cheap batches travel together
                room = cost.batches() * size - size
                batch += batcher.waiting(min(room, queue.qsize() // size * size))
            running.append(loop.run_in_executor(pool, run_timed, node, op, batch, self.metrics))
            if len(running) >= depth:
                await deliver()
        while running:
            await deliver()
        final = await loop.run_in_executor(pool, op.finish)
        await self._emit(node.name, stamp(node.name, final), targets)
        for q in targets:
            await q.put(END)

    async def _run_sink(
        self,
        stage: str,
        sink: Sink,
        queue: asyncio.Queue[Any],
        producers: int,
        dlq: asyncio.Queue[Any] | None = None,
    ) -> None:
        """Write batches from `queue` on one thread; a failed write dead-letters its items."""
        loop = asyncio.get_running_loop()
        writer = ThreadPoolExecutor(1, thread_name_prefix=f"senri-{stage}")
        batcher = MicroBatcher(queue, SINK_POLICY, producers)
        try:
            while (batch := await batcher.next_batch()) is not None:
                self.metrics.queue_depth.labels(stage).set(queue.qsize())
                self.metrics.items_in.labels(stage).inc(len(batch))
                try:
                    await loop.run_in_executor(writer, sink.write, batch)
                except Exception as exc:
                    if dlq is None:
                        raise
                    for item in batch:
                        letter = DeadLetter(
                            str(getattr(item, "stream_id", "")),
                            str(getattr(item, "key", "")),
                            stage,
                            f"sink write failed: {exc}",
                            type(exc).__name__,
                            time=time.time(),
                        )
                        self.metrics.dead_letters.labels(stage).inc()
                        await dlq.put(letter)
                    continue
                self.metrics.items_out.labels(stage).inc(len(batch))
            await loop.run_in_executor(writer, sink.close)
        finally:
            writer.shutdown(wait=True)
