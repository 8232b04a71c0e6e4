"""Vector collections replicated from Kafka: the embeddings topic is the source of truth.

Writers `publish` embedding upserts and `publish_delete` deletes to a compacted topic, keyed by
item id: every message for one id lands on the same partition (Kafka's key hash), so the order
per id is kept and compaction keeps the latest message per id. A `VectorReplica` is a
materialised view of that topic: a `FaissCollection` snapshot plus the topic offsets it covers.

Wire format of an upsert (the `senri.codec` envelope layout, big-endian)::

    b"SNR" | envelope version u8 | name length u8 | b"vector" | schema version u16 (1)
          | header length u32 | header: UTF-8 JSON {"id", "dim", "metadata"}
          | payload: dim float32 little-endian

A delete is a Kafka tombstone (key = id, value = null), which compaction eventually drops
(after the topic's ``delete.retention.ms``, 24 h by default).

Replica directory::

    <dir>/REPLICA             JSON: topic, dim, metric, the live generation and its offsets
    <dir>/gen-<n>/            the FaissCollection snapshot of that generation

`snapshot()` saves the collection into a new generation directory, then swaps ``REPLICA`` with
`os.replace`, so the snapshot and the offsets it covers change together; a crash leaves the
previous pair. On start a replica loads the live generation, seeks each partition to its stored
offset (the beginning where none is stored) and `catch_up()` reads to the end offsets.

Limits: a replica whose snapshot is older than ``delete.retention.ms`` may miss tombstones that
compaction removed meanwhile: rebuild it from scratch (delete its directory).

Example:
    >>> publish("localhost:9092", "senri.vectors.products", ["a"], vecs)   # doctest: +SKIP
    >>> r = VectorReplica("localhost:9092", "senri.vectors.products", "replica1", dim=128)
    >>> r.catch_up(timeout_s=30)                                          # doctest: +SKIP
    >>> r.search(query, k=10)                                             # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from senri.codec import ENVELOPE_VERSION, MAGIC
from senri.connectors.kafka import TopicSpec, ensure_topics
from senri.credentials import kafka_options
from senri.errors import DecodeError
from senri.indexes.vectors.backend import Metric
from senri.indexes.vectors.collection import FaissCollection
from senri.indexes.vectors.filters import MetaFilter, Scalar
from senri.indexes.vectors.types import Hit, VectorError

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "VectorMessage",
    "VectorReplica",
    "decode_vector",
    "encode_vector",
    "ensure_vector_topic",
    "publish",
    "publish_delete",
]

log = logging.getLogger(__name__)

SCHEMA_NAME = "vector"
SCHEMA_VERSION = 1
CONTENT_TYPE = "application/x-senri-vector"
POINTER = "REPLICA"
_PREFIX = struct.Struct(">3sBB")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_HEADERS = [
    ("content-type", CONTENT_TYPE.encode()),
    ("senri.schema", f"{SCHEMA_NAME}/{SCHEMA_VERSION}".encode()),
]


# ---- wire format ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VectorMessage:
    """One decoded upsert: the item id, its float32 vector and its flat metadata."""

    id: str
    vector: np.ndarray
    metadata: dict[str, Scalar]


def encode_vector(id: str, vector: Any, metadata: Mapping[str, Scalar] | None = None) -> bytes:
    """One upsert as an envelope (see the module docstring for the layout)."""
    v = np.asarray(vector, dtype="<f4")
    if v.ndim != 1 or not np.isfinite(v).all():
        raise VectorError(f"vector for {id!r} must be one finite row; got shape {v.shape}")
    header = {"id": id, "dim": int(v.shape[0]), "metadata": dict(metadata or {})}
    head = json.dumps(header, separators=(",", ":")).encode()
    name = SCHEMA_NAME.encode()
    return b"".join(
        (
            _PREFIX.pack(MAGIC, ENVELOPE_VERSION, len(name)),
            name,
            _U16.pack(SCHEMA_VERSION),
            _U32.pack(len(head)),
            head,
            v.tobytes(),
        )
    )


def decode_vector(data: bytes) -> VectorMessage:
    """Decode an upsert envelope; raises `DecodeError` naming what is wrong."""
    if len(data) < _PREFIX.size:
        raise DecodeError(f"vector envelope too short ({len(data)} bytes)")
    magic, env_version, name_len = _PREFIX.unpack_from(data)
    if magic != MAGIC or env_version != ENVELOPE_VERSION:
        raise DecodeError(f"not a senri v{ENVELOPE_VERSION} envelope")
    pos = _PREFIX.size
    name = bytes(data[pos : pos + name_len])
    pos += name_len
    if len(data) < pos + _U16.size + _U32.size:
        raise DecodeError("vector envelope truncated inside its prefix")
    (version,) = _U16.unpack_from(data, pos)
    if name != SCHEMA_NAME.encode() or version != SCHEMA_VERSION:
        raise DecodeError(f"unexpected schema {name!r} v{version} on a vector topic")
    (head_len,) = _U32.unpack_from(data, pos + _U16.size)
    pos += _U16.size + _U32.size
    try:
        header = json.loads(bytes(data[pos : pos + head_len]))
        vid, dim, meta = str(header["id"]), int(header["dim"]), dict(header["metadata"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"vector header is invalid: {exc!r}") from None
    payload = bytes(data[pos + head_len :])
    if len(payload) != 4 * dim:
        raise DecodeError(f"vector payload of {len(payload)} bytes, expected {4 * dim}")
    return VectorMessage(vid, np.frombuffer(payload, dtype="<f4").astype(np.float32), meta)


# ---- writers --------------------------------------------------------------------------------


def ensure_vector_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """Create the compacted embeddings topic if it does not exist yet."""
    ensure_topics(bootstrap, [TopicSpec.compacted(topic, partitions)])


def _producer(target: Any) -> tuple[Any, bool]:
    """A kafka-python producer for `target` (a bootstrap address or a producer) and ownership."""
    if not isinstance(target, str):
        return target, False
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=target,
        client_id="senri-vectors",
        acks="all",
        enable_idempotence=True,
        linger_ms=10,
        max_request_size=16 * 1024 * 1024,
        **kafka_options(),
    )
    return producer, True


def _send(target: Any, topic: str, messages: Sequence[tuple[bytes, bytes | None]]) -> int:
    producer, owned = _producer(target)
    try:
        futures = [
            producer.send(topic, key=k, value=v, headers=_HEADERS if v is not None else [])
            for k, v in messages
        ]
        producer.flush()
        for f in futures:
            f.get(timeout=30)  # raises if a delivery failed
    finally:
        if owned:
            producer.close()
    return len(messages)


def publish(
    target: Any,
    topic: str,
    ids: Sequence[str],
    vectors: Any,
    metadata: Sequence[Mapping[str, Scalar]] | None = None,
) -> int:
    """Send upserts keyed by id and wait for the acks; returns how many were sent.

    `target` is a bootstrap address (a producer is opened and closed) or a kafka-python
    ``KafkaProducer`` (kept open; use ``acks="all"``).
    """
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or len(x) != len(ids):
        raise VectorError(f"{len(ids)} ids for vectors of shape {x.shape}")
    if metadata is not None and len(metadata) != len(ids):
        raise VectorError(f"{len(ids)} ids but {len(metadata)} metadata rows")
    msgs = [
        (str(i).encode(), encode_vector(str(i), x[j], metadata[j] if metadata else None))
        for j, i in enumerate(ids)
    ]
    return _send(target, topic, msgs)


def publish_delete(target: Any, topic: str, ids: Sequence[str]) -> int:
    """Send a tombstone (key = id, value = null) per id and wait for the acks."""
    return _send(target, topic, [(str(i).encode(), None) for i in ids])


class VectorTopicSink:
    """A pipeline's ``{collection: NAME}`` output on Kafka: each `Embedding` (pHash in its
    metadata) is published to the collection's embeddings topic, and every write waits for the
    acks, so the worker commits its offsets only after the vectors are on the topic. Replicas
    (`VectorReplica`, ``senri serve --follow``) serve the collection from there."""

    def __init__(self, bootstrap: str, collection: str, partitions: int = 1) -> None:
        from senri.connectors.kafka import vectors_topic

        self.topic = vectors_topic(collection)
        ensure_vector_topic(bootstrap, self.topic, partitions)
        self._producer, _ = _producer(bootstrap)
        self.written = 0

    def write(self, items: list[Any]) -> None:
        from senri.records import Embedding

        embeddings = [item for item in items if isinstance(item, Embedding)]
        if not embeddings:
            return
        metas = [{**e.metadata, "phash": e.phash_hex} for e in embeddings]
        ids = [e.item_id for e in embeddings]
        vectors = np.stack([e.vector for e in embeddings])
        self.written += publish(self._producer, self.topic, ids, vectors, metas)

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()


# ---- the replica ----------------------------------------------------------------------------


class VectorReplica:
    """A `FaissCollection` kept equal to the embeddings topic, with atomic offset snapshots.

    Each replica reads every partition with ``assign`` (no consumer group): several replicas,
    each with its own directory, can serve the same collection. `poll()` applies what is there,
    `catch_up()` reads to the end offsets seen when it starts, `start()` follows in a daemon
    thread until `close()`. Searches (`search`, or `collection` directly) run concurrently
    with updates (the collection's own readers-writer lock). Undecodable messages are skipped,
    logged and counted in `skipped`. `collection_kwargs` go to `FaissCollection`; a reloaded
    snapshot keeps its own settings but takes `device` and `search_backend` from them.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        collection_dir: str | Path,
        dim: int,
        metric: Metric = "cosine",
        **collection_kwargs: Any,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.dir = Path(collection_dir)
        self.dim = dim
        self.metric: Metric = metric
        self.skipped = 0
        self.applied = 0
        self._lock = threading.Lock()  # consumer, offsets, collection writes, snapshots
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offsets: dict[int, int] = {}
        self._generation = 0
        pointer = self._read_pointer()
        if pointer is None:
            self.collection = FaissCollection(dim, metric, **collection_kwargs)
        else:
            if (pointer["topic"], pointer["dim"], pointer["metric"]) != (topic, dim, metric):
                raise VectorError(
                    f"{self.dir} replicates {pointer['topic']} ({pointer['dim']}-d "
                    f"{pointer['metric']}), not {topic} ({dim}-d {metric})"
                )
            self._generation = int(pointer["generation"])
            self.collection = FaissCollection.load(
                self.dir / f"gen-{self._generation:06d}",
                device=collection_kwargs.get("device"),
                search_backend=collection_kwargs.get("search_backend", "auto"),
            )
            self._offsets = {int(p): int(o) for p, o in pointer["offsets"].items()}
        self._consumer = self._open_consumer()

    # ---- state on disk -----------------------------------------------------------------------

    def _read_pointer(self) -> dict[str, Any] | None:
        path = self.dir / POINTER
        if not path.exists():
            return None
        return dict(json.loads(path.read_text()))

    @property
    def offsets(self) -> dict[int, int]:
        """The next offset to apply per partition (what the collection covers)."""
        with self._lock:
            return dict(self._offsets)

    def snapshot(self) -> Path:
        """Save the collection and the offsets it covers, atomically; returns the snapshot dir."""
        with self._lock:
            gen = self._generation + 1
            target = self.dir / f"gen-{gen:06d}"
            if target.exists():
                shutil.rmtree(target)
            self.collection.save(target)
            pointer = {
                "topic": self.topic,
                "dim": self.dim,
                "metric": self.metric,
                "generation": gen,
                "offsets": {str(p): o for p, o in sorted(self._offsets.items())},
            }
            tmp = self.dir / f".{POINTER}.tmp"
            with open(tmp, "w") as fh:
                json.dump(pointer, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / POINTER)
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._generation = gen
            for old in self.dir.glob("gen-*"):
                if old.name != target.name:
                    shutil.rmtree(old, ignore_errors=True)
            return target

    # ---- consuming ---------------------------------------------------------------------------

    def _open_consumer(self) -> Any:
        from kafka import KafkaConsumer

        return KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="senri-vector-replica",
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            **kafka_options(),
        )

    def _assign(self) -> list[Any]:
        """Assign every partition of the topic (new ones included), seeking new assignments."""
        from kafka import TopicPartition

        parts = self._consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        if set(tps) != set(self._consumer.assignment()):
            self._consumer.assign(tps)
            for tp in tps:
                off = self._offsets.get(tp.partition)
                if off is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, off)
        return tps

    def poll(self, timeout_s: float = 0.5) -> int:
        """Fetch and apply what is available within `timeout_s`; returns messages applied."""
        with self._lock:
            tps = self._assign()
            if not tps:
                return 0
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=5000)
            n = self._apply([m for records in batches.values() for m in records])
            for tp in tps:  # positions skip compaction gaps; they match what poll returned
                self._offsets[tp.partition] = self._consumer.position(tp)
            return n

    def _apply(self, messages: Sequence[Any]) -> int:
        """Apply a batch: the last message per id wins (an id always lives on one partition)."""
        last: dict[str, VectorMessage | None] = {}
        for m in messages:
            if m.key is None:
                self.skipped += 1
                log.warning("%s[%d]@%d has no key; skipped", m.topic, m.partition, m.offset)
                continue
            key = m.key.decode(errors="replace")
            if m.value is None:
                last[key] = None
                continue
            try:
                msg = decode_vector(m.value)
                if msg.vector.shape != (self.dim,) or msg.id != key:
                    raise DecodeError(f"dim {msg.vector.shape[0]} / id {msg.id!r} mismatch")
            except DecodeError as exc:
                self.skipped += 1
                log.warning("%s[%d]@%d skipped: %s", m.topic, m.partition, m.offset, exc)
                continue
            last[key] = msg
        ups = [v for v in last.values() if v is not None]
        dels = [k for k, v in last.items() if v is None]
        if dels:
            self.collection.delete(dels)
        if ups:
            self.collection.upsert(
                [u.id for u in ups], np.stack([u.vector for u in ups]), [u.metadata for u in ups]
            )
        self.applied += len(messages)
        return len(messages)

    def end_offsets(self) -> dict[int, int]:
        """The topic's current end offset per partition."""
        with self._lock:
            tps = self._assign()
            return {tp.partition: off for tp, off in self._consumer.end_offsets(tps).items()}

    def lag(self) -> int:
        """Messages (offsets) between what the collection covers and the topic's end."""
        end = self.end_offsets()
        with self._lock:
            return sum(max(0, o - self._offsets.get(p, 0)) for p, o in end.items())

    def catch_up(self, timeout_s: float = 30.0) -> int:
        """Apply everything up to the end offsets seen now; raises TimeoutError past `timeout_s`."""
        end = self.end_offsets()
        deadline = time.monotonic() + timeout_s
        n = 0
        while any(self.offsets.get(p, 0) < o for p, o in end.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica of {self.topic} did not catch up in {timeout_s}s")
            n += self.poll(0.2)
        return n

    # ---- following -----------------------------------------------------------------------------

    def start(self, poll_s: float = 0.2, snapshot_every_s: float | None = None) -> None:
        """Follow the topic in a daemon thread (optionally snapshotting every few seconds)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            last_snap = time.monotonic()
            while not self._stop.is_set():
                try:
                    self.poll(poll_s)
                    if snapshot_every_s and time.monotonic() - last_snap > snapshot_every_s:
                        self.snapshot()
                        last_snap = time.monotonic()
                except Exception:  # keep following; the broker may come back
                    log.exception("replica of %s: poll failed", self.topic)
                    self._stop.wait(1.0)

        self._thread = threading.Thread(target=run, name=f"replica-{self.topic}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the following thread (if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def close(self) -> None:
        """Stop following and close the consumer (the snapshot on disk stays)."""
        self.stop()
        with self._lock:
            self._consumer.close()

    def __enter__(self) -> VectorReplica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- queries -------------------------------------------------------------------------------

    def search(self, vectors: Any, k: int, filter: MetaFilter | None = None) -> list[list[Hit]]:
        """`FaissCollection.search` on the replica's current state."""
        return self.collection.search(vectors, k, filter=filter)

    def __len__(self) -> int:
        return len(self.collection)
