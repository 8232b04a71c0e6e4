"""The distributed runtime: a Kafka consumer-group worker that runs a validated `Graph`.

Every worker of a group (`senri.worker.<pipeline>` by default) gets a share of the input topics'
partitions; adding workers scales out. A worker runs the whole graph co-located (images never
cross Kafka), one poll at a time:

1. poll up to `max_poll_records` (waiting at most the smallest `max_wait_ms` of the nodes);
2. decode each message; what cannot be decoded, or has the wrong schema for its input, goes to
   `senri.dlq` with the reason, error type and source topic/partition/offset in headers;
3. run the records through the graph (`step.run_step`: micro-batches per node's
   `BatchPolicy`, failing items isolated into the DLQ the same way);
4. write the outputs to the sinks (store writes are flushed) and their events to
   `senri.results.<pipeline>`, and wait for every ack;
5. write the state of stateful operators for the touched partitions to the changelog
   (`kafka_state`), then commit the offsets.

So delivery is at-least-once (a crash between 4 and 5 replays the batch) and, with deterministic
event ids, stores end up exactly-once. Built on aiokafka rather than faust-streaming; see
docs/distributed.md for why.

Example:
    worker = KafkaWorker(graph, WorkerConfig("localhost:9092"), sinks={"events": sink})
    report = worker.run()          # until stop() / SIGTERM, or idle for stop_when_idle_s
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from senri import codec
from senri.connectors.kafka import (
    DLQ_TOPIC,
    STATE_MAX_BYTES,
    Headers,
    TopicSpec,
    audio_topic,
    changelog_topic,
    compression_type,
    ensure_topics,
    envelope_headers,
    frames_topic,
    images_topic,
    results_topic,
    topic_part,
)
from senri.engine.graph import Graph
from senri.engine.kafka_state import ChangelogState, partition_key, read_changelog
from senri.engine.operator import Device, Operator
from senri.engine.sinks import Sink, events_of
from senri.engine.step import run_step
from senri.errors import DecodeError
from senri.records import DeadLetter

log = logging.getLogger(__name__)


@dataclass
class WorkerConfig:
    """How a worker reaches Kafka and what it names things; defaults follow DESIGN.md."""

    bootstrap: str
    group: str | None = None
    results_topic: str | None = None
    dlq_topic: str = DLQ_TOPIC
    changelog_topic: str | None = None
    max_poll_records: int = 256
    max_message_bytes: int = codec.DEFAULT_MAX_BYTES
    dlq_payload_limit: int = 512 * 1024
    stop_when_idle_s: float | None = None
    device: Device = field(default_factory=Device)
    client_id: str = "senri-worker"


@dataclass
class WorkerReport:
    """What a worker did; `latencies` are seconds from produce time to commit, per record."""

    consumed: int = 0
    processed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events: int = 0
    dead_letters: int = 0
    batches: int = 0
    commits: int = 0
    restored: int = 0
    partitions: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    first_poll_at: float | None = None
    """`time.perf_counter()` when the first records arrived; with `last_commit_at`, busy time."""
    last_commit_at: float | None = None


@dataclass
class _Batch:
    """One poll, decoded: records per input, where each record came from, dead letters."""

    inputs: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    origin: dict[str, Any] = field(default_factory=dict)
    letters: list[tuple[DeadLetter, Any]] = field(default_factory=list)
    offsets: dict[Any, int] = field(default_factory=dict)
    streams: dict[Any, set[str]] = field(default_factory=lambda: defaultdict(set))
    produced_ms: list[int] = field(default_factory=list)


def input_topics(graph: Graph) -> dict[str, str]:
    """The topic each input of `graph` reads on Kafka.

    A ``{topic: NAME}`` input reads NAME (a glob pattern allowed); a file or camera input reads
    the topic `senri ingest` writes for its stream (``stream:``, default the input's name):
    ``senri.frames.<stream>`` for video, ``senri.audio.<stream>`` for audio and
    ``senri.images.<stream>`` for image folders and catalogs. So one pipeline file runs
    embedded (`senri run`) and distributed (`senri worker`) alike.
    """
    topics = {}
    for name, inp in graph.inputs.items():
        if inp.kind == "topic":
            topics[name] = str(inp.settings["topic"])
            continue
        stream = str(inp.settings.get("stream", name))
        by_kind = {"video": frames_topic, "audio": audio_topic}
        topics[name] = by_kind.get(inp.kind, images_topic)(stream)
    return topics


class KafkaWorker:
    """Runs `graph` as one member of a consumer group; inputs read `input_topics(graph)`."""

    def __init__(self, graph: Graph, config: WorkerConfig, sinks: Mapping[str, Sink]) -> None:
        missing = [n for n in graph.outputs if n not in sinks]
        if missing:
            raise ValueError(f"no sink given for output(s): {', '.join(missing)}")
        self.graph = graph
        self.config = config
        self.sinks = dict(sinks)
        self.group = config.group or f"senri.worker.{topic_part(graph.name)}"
        self.results = config.results_topic or results_topic(graph.name)
        self.changelog = config.changelog_topic or changelog_topic(self.group)
        self.report = WorkerReport()
        self._topics = input_topics(graph)
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._ops: dict[str, Operator[Any, Any]] = {}
        self._state: ChangelogState | None = None
        self._tp_streams: dict[Any, set[str]] = defaultdict(set)
        self._last_activity = time.monotonic()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="senri-worker")
        self._consumer: Any = None
        self._producer: Any = None
        self.assigned: frozenset[str] = frozenset()
        """The input partitions (``topic:partition``) this worker holds now."""
        self._joined = False
        self._stop_requested = False

    # ---- lifecycle -----------------------------------------------------------------------

    def run(self) -> WorkerReport:
        return asyncio.run(self.run_async())

    def stop(self) -> None:
        """Finish the batch in hand, commit it and leave the group (safe from any thread)."""
        self._stop_requested = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    async def run_async(self) -> WorkerReport:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

        self._loop = asyncio.get_running_loop()
        started = time.perf_counter()
        loop = self._loop
        for name, node in self.graph.nodes.items():
            op = node.create()
            await loop.run_in_executor(self._pool, op.setup, node.device or self.config.device)
            self._ops[name] = op
        self._state = ChangelogState(self._ops)
        topics = [TopicSpec(self.results, 3), TopicSpec(self.config.dlq_topic, 1)]
        if self._state.enabled:
            topics.append(TopicSpec.changelog(self.changelog))
        await loop.run_in_executor(self._pool, ensure_topics, self.config.bootstrap, topics)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.config.bootstrap,
            client_id=self.config.client_id,
            acks="all",
            enable_idempotence=True,
            compression_type=compression_type(),
            linger_ms=5,
            max_request_size=STATE_MAX_BYTES,  # the largest record: a partition's state
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.group,
            client_id=self.config.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.config.max_poll_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=max(1024 * 1024, self.config.max_message_bytes + 4096),
        )
        self._subscribe()
        await self._producer.start()
        try:
            await self._consumer.start()
            try:
                await self._poll_loop()
            finally:
                await self._consumer.stop()
        finally:
            await self._producer.stop()
            for op in self._ops.values():
                await loop.run_in_executor(self._pool, op.teardown)
            self._pool.shutdown(wait=True)
            self.report.seconds = time.perf_counter() - started
        return self.report

    def _subscribe(self) -> None:
        from aiokafka import ConsumerRebalanceListener

        worker = self

        class _Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked: Any) -> None:
                async with worker._lock:  # let the batch in hand commit before they move
                    worker._last_activity = time.monotonic()
                    for tp in revoked:
                        worker._tp_streams.pop(tp, None)
                    worker.assigned = frozenset()

            async def on_partitions_assigned(self, assigned: Any) -> None:
                await worker._on_assigned(assigned)

        names = list(self._topics.values())
        if any(ch in n for n in names for ch in "*?["):
            pattern = "|".join(f"(?:{fnmatch.translate(n)})" for n in names)
            self._consumer.subscribe(pattern=pattern, listener=_Listener())
        else:
            self._consumer.subscribe(topics=names, listener=_Listener())

    async def _on_assigned(self, assigned: Any) -> None:
        """Restore operator state for the new partitions and skip what the state already has."""
        self._last_activity = time.monotonic()
        self.report.partitions.update(partition_key(tp.topic, tp.partition) for tp in assigned)
        self.assigned = frozenset(partition_key(tp.topic, tp.partition) for tp in assigned)
        self._joined = True
        if not assigned or self._state is None or not self._state.enabled:
            return
        loop = asyncio.get_running_loop()
        latest = await loop.run_in_executor(
            self._pool, read_changelog, self.config.bootstrap, self.changelog
        )
        for tp in assigned:
            value = latest.get(partition_key(tp.topic, tp.partition))
            if value is None:
                continue
            recorded = await loop.run_in_executor(self._pool, self._state.restore, value)
            self._tp_streams[tp].update(ChangelogState.streams_of(value))
            self.report.restored += 1
            committed = await self._consumer.committed(tp)
            if committed is None or recorded > committed:
                self._consumer.seek(tp, recorded)

    def _input_of(self, topic: str) -> str | None:
        for name, pattern in self._topics.items():
            if topic == pattern or fnmatch.fnmatchcase(topic, pattern):
                return name
        return None

    def _poll_ms(self) -> int:
        waits = [n.batch.max_wait_ms for n in self.graph.nodes.values() if n.batch.max_wait_ms]
        return int(max(20.0, min(waits, default=100.0)))

    async def _poll_loop(self) -> None:
        """Poll and handle batches; in idle mode, idle time counts only once in the group."""
        idle_s = self.config.stop_when_idle_s
        while not (self._stopping.is_set() or self._stop_requested):
            polled = await self._consumer.getmany(
                timeout_ms=self._poll_ms(), max_records=self.config.max_poll_records
            )
            if polled:
                self._last_activity = time.monotonic()
                if self.report.first_poll_at is None:
                    self.report.first_poll_at = time.perf_counter()
                async with self._lock:
                    await self._handle(polled)
            elif (
                idle_s is not None
                and self._joined
                and time.monotonic() - self._last_activity >= idle_s
            ):
                async with self._lock:
                    await self._finish()
                return

    # ---- one batch -----------------------------------------------------------------------

    def _decode(self, polled: Mapping[Any, list[Any]]) -> _Batch:
        batch = _Batch()
        for tp, messages in polled.items():
            name = self._input_of(tp.topic)
            wanted = self.graph.input_types.get(name) if name else None
            for msg in messages:
                batch.offsets[tp] = msg.offset + 1
                batch.produced_ms.append(msg.timestamp)
                try:
                    if name is None or wanted is None:
                        raise DecodeError(f"topic {tp.topic} feeds no input of this pipeline")
                    record = codec.decode(msg.value or b"", max_bytes=self.config.max_message_bytes)
                    if not isinstance(record, wanted):
                        raise DecodeError(
                            f"{type(record).__name__} record on input '{name}', "
                            f"which takes {wanted.__name__}"
                        )
                except DecodeError as exc:
                    stream = msg.key.decode(errors="replace") if msg.key else ""
                    letter = DeadLetter(
                        stream, "", "decode", str(exc), "DecodeError", time=time.time()
                    )
                    batch.letters.append((letter, msg))
                    continue
                batch.inputs[name].append(record)
                batch.origin[str(getattr(record, "key", ""))] = msg
                stream_id = str(getattr(record, "stream_id", ""))
                batch.streams[tp].add(stream_id)
                self._tp_streams[tp].add(stream_id)
        return batch

    async def _handle(self, polled: Mapping[Any, list[Any]]) -> None:
        loop = asyncio.get_running_loop()
        batch = await loop.run_in_executor(self._pool, self._decode, polled)
        self.report.consumed += sum(len(m) for m in polled.values())
        step = await loop.run_in_executor(self._pool, run_step, self.graph, self._ops, batch.inputs)
        for letter in step.dead:
            batch.letters.append((letter, batch.origin.get(letter.key)))
        for name, count in step.processed.items():
            self.report.processed[name] += count
        await self._deliver(step.outputs, batch.letters)
        await self._commit(batch)
        now_ms = time.time() * 1000
        self.report.latencies.extend((now_ms - t) / 1000 for t in batch.produced_ms if t > 0)
        self.report.batches += 1
        self.report.last_commit_at = time.perf_counter()

    async def _finish(self) -> None:
        """End of input (idle): flush operators' held-back results (open spans) and commit."""
        loop = asyncio.get_running_loop()
        step = await loop.run_in_executor(
            self._pool, lambda: run_step(self.graph, self._ops, {}, finishing=True)
        )
        await self._deliver(step.outputs, [(d, None) for d in step.dead])
        owned = self._consumer.assignment()
        await self._write_state([tp for tp in self._tp_streams if tp in owned], {})

    async def _deliver(
        self, outputs: Mapping[str, list[Any]], letters: list[tuple[DeadLetter, Any]]
    ) -> None:
        """Sinks first (durable on return), then results and dead letters, all acknowledged."""
        loop = asyncio.get_running_loop()
        for name, items in outputs.items():
            if items:
                await loop.run_in_executor(self._pool, self.sinks[name].write, items)
        sends = []
        for items in outputs.values():
            for event in events_of(items):
                self.report.events += 1
                sends.append(
                    await self._producer.send(
                        self.results,
                        value=codec.encode(event),
                        key=event.stream_id.encode(),
                        headers=envelope_headers(event),
                    )
                )
        for letter, msg in letters:
            self.report.dead_letters += 1
            value, headers = self._dead_letter(letter, msg)
            sends.append(
                await self._producer.send(
                    self.config.dlq_topic,
                    value=value,
                    key=letter.stream_id.encode() or None,
                    headers=headers,
                )
            )
        if sends:
            await asyncio.gather(*sends)

    def _dead_letter(self, letter: DeadLetter, msg: Any) -> tuple[bytes, Headers]:
        headers: Headers = [
            ("senri.reason", letter.reason.encode()),
            ("senri.error", letter.error.encode()),
            ("senri.stage", letter.stage.encode()),
            ("senri.pipeline", self.graph.name.encode()),
            ("senri.key", letter.key.encode()),
        ]
        value = b""
        if msg is not None:
            headers += [
                ("senri.source.topic", msg.topic.encode()),
                ("senri.source.partition", str(msg.partition).encode()),
                ("senri.source.offset", str(msg.offset).encode()),
            ]
            headers += [(f"senri.source.{k}", v) for k, v in msg.headers or () if k in _KEEP]
            value = msg.value or b""
            if len(value) > self.config.dlq_payload_limit:
                headers.append(("senri.payload-truncated-from", str(len(value)).encode()))
                value = value[: self.config.dlq_payload_limit]
        return value, headers

    async def _commit(self, batch: _Batch) -> None:
        from aiokafka.errors import CommitFailedError, IllegalStateError

        await self._write_state(list(batch.streams), batch.offsets)
        if not batch.offsets:
            return
        try:
            await self._consumer.commit(dict(batch.offsets))
            self.report.commits += 1
        except (CommitFailedError, IllegalStateError) as exc:
            # the partitions moved on: their new owner replays from the state record/commit
            log.warning("commit failed after a rebalance (%s); the batch will be replayed", exc)

    async def _write_state(self, tps: list[Any], offsets: Mapping[Any, int]) -> None:
        """One record per touched partition: the offset reached and all its streams' state."""
        if self._state is None or not self._state.enabled:
            return
        sends = []
        for tp in tps:
            offset = offsets.get(tp)
            if offset is None:
                offset = await self._consumer.committed(tp) or 0
            names = self._tp_streams[tp]
            key, value = self._state.record(tp.topic, tp.partition, offset, names)
            sends.append(await self._producer.send(self.changelog, value=value, key=key))
        if sends:
            await asyncio.gather(*sends)


_KEEP = ("content-type", "senri.schema")


def worker_sinks(graph: Graph, store: Any, bootstrap: str) -> dict[str, Sink]:
    """Sinks for a graph's outputs: store outputs into `store`, jsonl outputs to their files,
    collection outputs onto their embeddings topics (``senri.vectors.NAME``, which replicas
    serve); every write is durable before the worker commits."""
    from senri.engine.sinks import JsonlSink, StoreSink
    from senri.indexes.vectors.replica import VectorTopicSink

    sinks: dict[str, Sink] = {}
    for name, out in graph.outputs.items():
        if out.kind == "store":
            sinks[name] = StoreSink(store, durable=True)
        elif out.kind == "collection":
            sinks[name] = VectorTopicSink(bootstrap, out.target)
        else:
            sinks[name] = JsonlSink(out.target)
    return sinks
