"""The distributed runtime: a Kafka consumer-group worker that runs a validated `Graph`.

Every worker of a group (`senri.worker.<pipeline>` by default) gets a share of the input topics'
partitions; adding workers scales out. A worker runs the whole graph co-located (images never
cross Kafka), one poll at a time:

1. poll up to `max_poll_records` (waiting at most the smallest `max_wait_ms` of the nodes);
2. decode each message (the frames' JPEGs together: on `decode_threads` threads, or with
   nvJPEG on a CUDA device, `senri.device_frames`); what cannot be decoded, or has the wrong
   schema for its input, goes to `senri.dlq` with the reason, error type and source
   topic/partition/offset in headers;
3. run the records through the graph (`step.run_step`: micro-batches per node's
   `BatchPolicy`, failing items isolated into the DLQ the same way);
4. write the outputs to the sinks (store writes are flushed and acknowledged);
5. in one Kafka transaction: the events to `senri.results.<pipeline>`, dead letters, the state
   of stateful operators for the batch's partitions (`kafka_state`) and the offsets reached.

A crash before 5 commits replays the batch from the state it started with; event ids are
deterministic, so stores end exactly-once, and `read_committed` readers of the results topic see
each event once. `WorkerConfig(transactional=False)` does step 5 as acknowledged writes and a
plain commit instead (at-least-once on the topics). Built on aiokafka rather than
faust-streaming; see docs/distributed.md for why.

Example:
    worker = KafkaWorker(graph, WorkerConfig("localhost:9092"), sinks={"events": sink})
    report = worker.run()          # until stop() / SIGTERM, or idle for stop_when_idle_s
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from senri import codec
from senri.connectors.kafka import (
    STATE_MAX_BYTES,
    Headers,
    TopicSpec,
    changelog_topic,
    compression_type,
    ensure_topics,
    envelope_headers,
    results_topic,
    topic_part,
    topic_partitions,
)
from senri.credentials import kafka_options
from senri.device_frames import pixel_decoder
from senri.engine.graph import Graph
from senri.engine.kafka_state import ChangelogState, partition_key, read_changelog
from senri.engine.kafka_worker_setup import (
    Crash,
    WorkerConfig,
    WorkerReport,
    input_topics,
    worker_sinks,
)
from senri.engine.metrics import RuntimeMetrics
from senri.engine.operator import Operator
from senri.engine.sinks import Sink, events_of
from senri.engine.step import run_step
from senri.errors import DecodeError
from senri.records import DeadLetter

__all__ = ["Crash", "KafkaWorker", "WorkerConfig", "WorkerReport", "input_topics", "worker_sinks"]

log = logging.getLogger(__name__)
TRANSACTIONS_START_S = 60.0


@dataclass
class _Batch:
    """One poll, decoded: records per input, where each record came from, dead letters."""

    inputs: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    origin: dict[str, Any] = field(default_factory=dict)
    letters: list[tuple[DeadLetter, Any]] = field(default_factory=list)
    offsets: dict[Any, int] = field(default_factory=dict)
    produced_ms: list[int] = field(default_factory=list)


class KafkaWorker:
    """Runs `graph` as one member of a consumer group; inputs read `input_topics(graph)`."""

    def __init__(
        self,
        graph: Graph,
        config: WorkerConfig,
        sinks: Mapping[str, Sink],
        metrics: RuntimeMetrics | None = None,
    ) -> None:
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
        self.metrics = metrics or RuntimeMetrics()
        self._topics = input_topics(graph)
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._ops: dict[str, Operator[Any, Any]] = {}
        self._state: ChangelogState | None = None
        self._tp_streams: dict[Any, set[str]] = defaultdict(set)
        self._next: dict[Any, int | None] = {}
        """Per partition, the offset the operators' state has reached: records before it are
        dropped (fetched before a restore moved the position)."""
        self._last_activity = time.monotonic()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="senri-worker")
        self._pixels = pixel_decoder(config.device, config.decode_threads)
        self._consumer: Any = None
        self._producer: Any = None
        self.assigned: frozenset[str] = frozenset()
        """The input partitions (``topic:partition``) this worker holds now, set once their
        state is restored."""
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
        topics = [TopicSpec(self.results, topic_partitions()), TopicSpec(self.config.dlq_topic, 1)]
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
            # one id per process: a dead worker's open transaction is never resumed, the broker
            # aborts it after the timeout, and its records stay invisible to read_committed
            transactional_id=(
                f"{self.group}.{self.config.client_id}.{uuid.uuid4().hex[:12]}"
                if self.config.transactional
                else None
            ),
            transaction_timeout_ms=int(self.config.transaction_timeout_s * 1000),
            **kafka_options(),
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.group,
            client_id=self.config.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",  # an input may be another worker's results
            rebalance_timeout_ms=int(self.config.rebalance_timeout_s * 1000),
            max_poll_records=self.config.max_poll_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=max(1024 * 1024, self.config.max_message_bytes + 4096),
            **kafka_options(),
        )
        self._subscribe()
        await self._producer.start()
        try:
            if self.config.transactional:
                await self._check_transactions()
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
            self._pixels.close()
            self.report.seconds = time.perf_counter() - started
        return self.report

    async def _check_transactions(self) -> None:
        """Fail clearly, not hang, when the brokers give no transaction coordinator."""
        try:
            await asyncio.wait_for(self._producer.begin_transaction(), TRANSACTIONS_START_S)
        except TimeoutError:
            raise RuntimeError(
                f"the brokers at {self.config.bootstrap} gave no transaction coordinator in "
                f"{TRANSACTIONS_START_S:g} s: a cluster of fewer than 3 brokers needs "
                "transaction.state.log.replication.factor and transaction.state.log.min.isr "
                "at most its size (`senri services` sets both to 1); or run the worker with "
                "--no-transactions (at-least-once on the results topic)"
            ) from None
        await self._producer.abort_transaction()  # an empty one: the coordinator answered

    def _subscribe(self) -> None:
        from aiokafka import ConsumerRebalanceListener

        worker = self

        class _Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked: Any) -> None:
                async with worker._lock:  # let the batch in hand commit before they move
                    worker._last_activity = time.monotonic()
                    gone: set[str] = set()
                    for tp in revoked:
                        gone |= worker._tp_streams.pop(tp, set())
                        worker._next.pop(tp, None)
                    if worker._state is not None:
                        # their new owner restores them from the changelog; a copy left here
                        # would go stale, and `finish` would flush what it held
                        worker._state.forget(gone)
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
        """Restore operator state for the new partitions and say where reading resumes.

        aiokafka starts fetching the new partitions while this runs, so it holds the batch lock:
        no batch is handled before the state is back, and `_handle` drops what was fetched
        from before the restored position (`_next`).
        """
        async with self._lock:
            self._last_activity = time.monotonic()
            keys = {tp: partition_key(tp.topic, tp.partition) for tp in assigned}
            self.report.partitions.update(keys.values())
            self._joined = True
            log.info("partitions assigned: %s", ", ".join(sorted(keys.values())) or "none")
            latest: dict[str, Any] = {}
            if assigned and self._state is not None and self._state.enabled:
                latest = await self._read_state(assigned, keys)
            for tp in assigned:
                value = latest.get(keys[tp])
                if value is None:
                    self._next[tp] = await self._consumer.committed(tp)
                    continue
                assert self._state is not None
                recorded = self._state.restore(value)
                streams = ChangelogState.streams_of(value)
                self._tp_streams[tp].update(streams)
                # The state is that of `recorded`, so reading resumes exactly there: past the
                # committed offset when a worker without transactions died between its state
                # write and its commit, or before it if the record is older (what lies between
                # is done again, with the same ids); never with state that does not fit.
                self._consumer.seek(tp, recorded)
                self._next[tp] = recorded
                self.report.restores.append((keys[tp], recorded))
                self.metrics.restores.labels(keys[tp]).inc()
                self.metrics.restored_offset.labels(keys[tp]).set(recorded)
                log.info(
                    "restored %s from the changelog: state at offset %d (%s), resuming there",
                    keys[tp], recorded, ", ".join(sorted(streams)),
                )  # fmt: skip
            self.assigned = frozenset(keys.values())  # and ready: their state is back

    async def _read_state(self, assigned: Any, keys: Mapping[Any, str]) -> dict[str, Any]:
        """The changelog's latest committed record per partition.

        With transactions a partition's state record and its offset commit are one step, so a
        record older than the committed offset means the changelog is read only up to a dead
        worker's open transaction (its records are hidden until the broker aborts it, while
        later commits of other workers are already there). Then it is read again until it
        catches up, for at most the transaction timeout plus the broker's abort interval.
        """
        loop = asyncio.get_running_loop()
        committed = self.config.transactional
        deadline = time.monotonic() + self.config.transaction_timeout_s + 15.0
        while True:
            latest: dict[str, Any] = await loop.run_in_executor(
                self._pool, read_changelog, self.config.bootstrap, self.changelog, committed
            )
            if not committed:
                return latest
            behind = []
            for tp in assigned:
                at = await self._consumer.committed(tp)
                value = latest.get(keys[tp])
                if at is not None and (value is None or int(value["offset"]) < at):
                    state_at = value and value["offset"]
                    behind.append(f"{keys[tp]} (state at {state_at}, committed {at})")
            if not behind:
                return latest
            if time.monotonic() > deadline:
                log.warning("state still behind the committed offsets: %s", ", ".join(behind))
                return latest
            log.info("waiting for an open transaction to end: %s", ", ".join(behind))
            await asyncio.sleep(1.0)

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
        messages = [(tp, msg) for tp, msgs in polled.items() for msg in msgs]
        records = codec.decode_many(
            [msg.value or b"" for _, msg in messages],
            max_bytes=self.config.max_message_bytes,
            pixels=self._pixels,
        )
        for (tp, msg), record in zip(messages, records, strict=True):
            batch.offsets[tp] = msg.offset + 1
            batch.produced_ms.append(msg.timestamp)
            name = self._input_of(tp.topic)
            wanted = self.graph.input_types.get(name) if name else None
            if name is None or wanted is None:
                record = DecodeError(f"topic {tp.topic} feeds no input of this pipeline")
            elif not isinstance(record, wanted | DecodeError):
                record = DecodeError(
                    f"{type(record).__name__} record on input '{name}', "
                    f"which takes {wanted.__name__}"
                )
            if isinstance(record, DecodeError):
                stream = msg.key.decode(errors="replace") if msg.key else ""
                letter = DeadLetter(
                    stream, "", "decode", str(record), "DecodeError", time=time.time()
                )
                batch.letters.append((letter, msg))
                continue
            assert name is not None
            batch.inputs[name].append(record)
            batch.origin[str(getattr(record, "key", ""))] = msg
            self._tp_streams[tp].add(str(getattr(record, "stream_id", "")))
        return batch

    async def _handle(self, polled: Mapping[Any, list[Any]]) -> None:
        # A rebalance can run between the poll and taking the lock: records of a partition
        # that moved on are its new owner's now (it resumes from its own state), not ours.
        owned = self._consumer.assignment()
        polled = {
            tp: [m for m in messages if self._next.get(tp) is None or m.offset >= self._next[tp]]
            for tp, messages in polled.items()
            if tp in owned
        }  # and what the restored state already holds is not done twice
        polled = {tp: messages for tp, messages in polled.items() if messages}
        if not polled:
            return
        for tp, messages in polled.items():
            self._next[tp] = messages[-1].offset + 1
        loop = asyncio.get_running_loop()
        batch = await loop.run_in_executor(self._pool, self._decode, polled)
        self.report.consumed += sum(len(m) for m in polled.values())
        step = await loop.run_in_executor(
            self._pool,
            lambda: run_step(self.graph, self._ops, batch.inputs, metrics=self.metrics),
        )
        for letter in step.dead:
            batch.letters.append((letter, batch.origin.get(letter.key)))
        for name, count in step.processed.items():
            self.report.processed[name] += count
        await self._settle(step.outputs, batch.letters, list(batch.offsets), batch.offsets)
        now_ms = time.time() * 1000
        self.report.latencies.extend((now_ms - t) / 1000 for t in batch.produced_ms if t > 0)
        self.report.batches += 1
        self.report.last_commit_at = time.perf_counter()

    async def _finish(self) -> None:
        """End of input (idle): flush operators' held-back results (open spans) and commit."""
        loop = asyncio.get_running_loop()
        step = await loop.run_in_executor(
            self._pool,
            lambda: run_step(self.graph, self._ops, {}, finishing=True, metrics=self.metrics),
        )
        owned = self._consumer.assignment()
        tps = [tp for tp in self._tp_streams if tp in owned]
        await self._settle(step.outputs, [(d, None) for d in step.dead], tps, {})

    async def _settle(
        self,
        outputs: Mapping[str, list[Any]],
        letters: list[tuple[DeadLetter, Any]],
        tps: list[Any],
        offsets: Mapping[Any, int],
    ) -> None:
        """Make a batch's effects durable: sinks first (durable on return), then its results,
        dead letters, the state of partitions `tps` and the `offsets` reached, all acknowledged;
        with transactions these four commit (or abort) together."""
        loop = asyncio.get_running_loop()
        for name, items in outputs.items():
            if items:
                await loop.run_in_executor(self._pool, self.sinks[name].write, items)
        if not self.config.transactional:
            await self._publish(outputs, letters)
            self._crash_if_asked("results", offsets)
            await self._write_state(tps, offsets)
            self._crash_if_asked("state", offsets)
            await self._commit(offsets)
            return
        await self._producer.begin_transaction()
        try:
            await self._publish(outputs, letters)
            self._crash_if_asked("results", offsets)
            await self._write_state(tps, offsets)
            self._crash_if_asked("state", offsets)
            if offsets:
                await self._producer.send_offsets_to_transaction(dict(offsets), self.group)
            await self._producer.commit_transaction()
        except BaseException:
            with contextlib.suppress(Exception):  # the error that made it fail is the one to see
                await self._producer.abort_transaction()
            raise
        if offsets:
            self.report.commits += 1

    async def _publish(
        self, outputs: Mapping[str, list[Any]], letters: list[tuple[DeadLetter, Any]]
    ) -> None:
        """Events to the results topic, dead letters to the DLQ; returns once all are acked."""
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

    def _crash_if_asked(self, point: str, offsets: Mapping[Any, int]) -> None:
        crash = self.config.crash
        if crash is None or crash.point != point:
            return
        if any(tp.topic == crash.topic and o >= crash.offset for tp, o in offsets.items()):
            if crash.marker:
                try:
                    open(crash.marker, "x").close()
                except FileExistsError:
                    return  # another worker died there already
            log.warning("failover test: dying after the %s write, before the commit", point)
            os._exit(137)

    async def _commit(self, offsets: Mapping[Any, int]) -> None:
        """Commit `offsets` through the group (without transactions)."""
        from aiokafka.errors import CommitFailedError, IllegalStateError

        if not offsets:
            return
        try:
            await self._consumer.commit(dict(offsets))
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
