"""What a Kafka worker is given and gives back: its settings, its report, its input topics and
its sinks (`kafka_runtime.KafkaWorker` runs the graph with them).

Example:
    config = WorkerConfig("localhost:9092", group="senri.worker.street")
    topics = input_topics(graph)        # {"frames": "senri.frames.cam1", ...}
    sinks = worker_sinks(graph, store, config.bootstrap)
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from senri import codec
from senri.connectors.kafka import DLQ_TOPIC, audio_topic, frames_topic, images_topic
from senri.engine.graph import Graph
from senri.engine.operator import Device
from senri.engine.sinks import Sink


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
    decode_threads: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))
    """Threads that decode a polled batch's JPEG frames (a 1080p frame is 6-10 ms of a core)."""
    dlq_payload_limit: int = 512 * 1024
    stop_when_idle_s: float | None = None
    device: Device = field(default_factory=Device)
    client_id: str = "senri-worker"
    transactional: bool = True
    """Results, dead letters, state and offsets of a batch commit as one Kafka transaction, so
    the results topic is exactly-once for `read_committed` readers. Off: in that order, each
    acknowledged (at-least-once on the topics; the store stays exactly-once by event ids)."""
    rebalance_timeout_s: float = 300.0
    """How long a rebalance waits for a member to finish the batch in hand and rejoin. A batch
    held up by a store outage keeps its partitions that long; past it the member is dropped
    and the partitions' next owner redoes the batch (the store stays exactly-once, and so does
    the results topic unless the dropped member commits its transaction after all)."""
    transaction_timeout_s: float = 15.0
    """A dead worker's open transaction is aborted by the broker after this long."""
    crash: Crash | None = None
    """For failover tests only; `senri worker` reads it from ``SENRI_CHAOS_CRASH``."""


@dataclass(frozen=True)
class Crash:
    """A worker that dies (exit 137, like ``kill -9``) at `point` of the batch that reaches
    `offset` on `topic`: right after its results were sent (``results``) or right after its
    state was (``state``), before the commit. ``SENRI_CHAOS_CRASH=point:topic:offset``; with
    `marker` (``SENRI_CHAOS_CRASH_MARKER``), only the first worker of a group to get there
    dies (it creates the file), and the one that takes over goes on."""

    point: str
    topic: str
    offset: int
    marker: str | None = None

    @classmethod
    def parse(cls, value: str, marker: str | None = None) -> Crash:
        point, topic_offset = value.split(":", 1)
        topic, _, offset = topic_offset.rpartition(":")
        if point not in ("results", "state") or not topic:
            raise ValueError(f"expected results|state:TOPIC:OFFSET, got {value!r}")
        return cls(point, topic, int(offset), marker)


@dataclass
class WorkerReport:
    """What a worker did; `latencies` are seconds from produce time to commit, per record."""

    consumed: int = 0
    processed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events: int = 0
    dead_letters: int = 0
    batches: int = 0
    commits: int = 0
    restores: list[tuple[str, int]] = field(default_factory=list)
    """Each partition restored from the changelog and the offset reading resumed at."""
    partitions: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    first_poll_at: float | None = None
    """`time.perf_counter()` when the first records arrived; with `last_commit_at`, busy time."""
    last_commit_at: float | None = None


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
