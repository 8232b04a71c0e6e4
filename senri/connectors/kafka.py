"""Kafka plumbing shared by ingest and the distributed runtime: names, topics, headers, producer.

Topic names (DESIGN.md): one topic per source, keyed by stream id so a camera stays in order
within its partition.

    senri.frames.<stream>      Frame envelopes (JPEG)         `frames_topic("cam1")`
    senri.audio.<stream>       AudioChunk envelopes (PCM16)   `audio_topic("mic1")`
    senri.images.<collection>  ImageItem envelopes (bytes)    `images_topic("products")`
    senri.results.<pipeline>   Event envelopes from workers   `results_topic("demo")`
    senri.dlq                  what could not be decoded or processed, reasons in headers
    senri.state.<group>        compacted changelog of operator state (see kafka_runtime)

Every envelope carries `content-type` and `senri.schema` (``frame/1``) headers, so tools can route
or inspect records without decoding them. `BusProducer` is the one place producer settings live:
acks=all, idempotent, lz4 (gzip when the `lz4` package is missing), and sends that block and
retry through a broker restart instead of dropping.

Example:
    with BusProducer("localhost:9092") as producer:
        producer.send_record(frames_topic("cam1"), frame)
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from senri import codec
from senri.credentials import kafka_options
from senri.errors import SenriError
from senri.records import VideoPacket

log = logging.getLogger(__name__)

DLQ_TOPIC = "senri.dlq"
_TOPIC_CHARS = re.compile(r"[^A-Za-z0-9._-]")
Headers = list[tuple[str, bytes]]


def parse_bus(url: str) -> str:
    """Bootstrap servers from ``kafka://host:port[,host:port]`` (a bare ``host:port`` is fine)."""
    text = url.strip()
    if text.startswith("kafka://"):
        text = text[len("kafka://") :]
    elif "://" in text:
        raise ValueError(f"bus {url!r}: only kafka://HOST:PORT is supported")
    text = text.rstrip("/")
    if not text or any(not part.rpartition(":")[2].isdigit() for part in text.split(",")):
        raise ValueError(f"bus {url!r}: expected kafka://HOST:PORT[,HOST:PORT]")
    return text


STATE_MAX_BYTES = 64 * 1024 * 1024
"""The largest changelog record a worker writes: all operator state of one input partition."""


def topic_part(name: str) -> str:
    """A stream or pipeline name made safe for a topic name (Kafka allows [A-Za-z0-9._-])."""
    safe = _TOPIC_CHARS.sub("-", name)
    if not safe:
        raise ValueError("empty name in a topic")
    return safe


def frames_topic(stream: str) -> str:
    return f"senri.frames.{topic_part(stream)}"


def packets_topic(stream: str) -> str:
    return f"senri.packets.{topic_part(stream)}"


def audio_topic(stream: str) -> str:
    return f"senri.audio.{topic_part(stream)}"


def images_topic(collection: str) -> str:
    return f"senri.images.{topic_part(collection)}"


def vectors_topic(collection: str) -> str:
    """The compacted embeddings topic of a vector collection (its source of truth on Kafka)."""
    return f"senri.vectors.{topic_part(collection)}"


def results_topic(pipeline: str) -> str:
    return f"senri.results.{topic_part(pipeline)}"


def changelog_topic(group: str) -> str:
    return f"senri.state.{topic_part(group)}"


def compression_type() -> str:
    """lz4 when both lz4 codecs are importable, else gzip (always available).

    kafka-python (ingest) compresses lz4 with the `lz4` package, aiokafka (workers) reads and
    writes it with `cramjam`; lz4 is used only when both are there, so any worker can read it.
    """
    try:
        import cramjam  # noqa: F401  # imported only to probe availability
        import lz4.frame  # noqa: F401
    except ImportError:
        return "gzip"
    return "lz4"


def envelope_headers(record: object) -> Headers:
    """The headers every senri envelope carries: content type and schema name/version."""
    schema = codec.schema_for(record)
    headers = [
        ("content-type", schema.content_type.encode()),
        ("senri.schema", f"{schema.name}/{schema.version}".encode()),
    ]
    if isinstance(record, VideoPacket):  # what a consumer may want without decoding
        headers += [
            ("senri.keyframe", b"1" if record.keyframe else b"0"),
            ("senri.ts", repr(record.ts).encode()),
            ("senri.codec", record.codec.encode()),
        ]
    return headers


def topic_replication() -> int:
    """The replication factor of the topics senri creates: ``$SENRI_KAFKA_REPLICATION``, default
    1 (one broker, as `senri services` runs); 3 on a production cluster."""
    value = os.environ.get("SENRI_KAFKA_REPLICATION", "1").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"SENRI_KAFKA_REPLICATION must be a whole number >= 1; got {value!r}")
    return int(value)


def topic_partitions() -> int:
    """Partitions of the input and results topics senri creates when not told:
    ``$SENRI_KAFKA_PARTITIONS``, default 3 (workers of one group share at most that many)."""
    value = os.environ.get("SENRI_KAFKA_PARTITIONS", "3").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"SENRI_KAFKA_PARTITIONS must be a whole number >= 1; got {value!r}")
    return int(value)


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: partitions, replication (default `topic_replication()`), extra
    configs (e.g. compaction)."""

    name: str
    partitions: int = 1
    replication: int = field(default_factory=topic_replication)
    configs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def compacted(cls, name: str, partitions: int = 1) -> TopicSpec:
        return cls(name, partitions, configs={"cleanup.policy": "compact"})

    @classmethod
    def changelog(cls, name: str) -> TopicSpec:
        """A worker group's state topic: compacted, and taking records of up to
        `STATE_MAX_BYTES` (a camera's motion background is a few hundred KB). A segment is
        compacted only once it is closed, and a restore reads the topic from its start, so
        segments close every 10 minutes or two of the largest records: what a restore reads
        stays bounded."""
        config = {
            "cleanup.policy": "compact",
            "max.message.bytes": str(STATE_MAX_BYTES),
            "segment.ms": str(10 * 60 * 1000),
            "segment.bytes": str(2 * STATE_MAX_BYTES),
        }
        return cls(name, 1, configs=config)


class KafkaAccessError(SenriError):
    """The broker refused the client's login or TLS handshake; the message says which."""


@contextlib.contextmanager
def access_explained(bootstrap: str) -> Iterator[None]:
    """Re-raise a client's failure as `KafkaAccessError` with the reason its connection logged.

    kafka-python reports a refused SASL login as "broker does not support MetadataRequest_v0"
    and a certificate it does not trust as "no brokers available"; the real reason is only in
    its log, so it is caught there while the block runs.
    """
    reasons: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if any(word in text for word in ("Sasl", "SSL", "uthentication")):
                reasons.append(text.split(">: ", 1)[-1])

    handler = Catch(logging.WARNING)
    conn_log = logging.getLogger("kafka.conn")
    conn_log.addHandler(handler)
    try:
        yield
    except ssl.SSLError as exc:
        raise KafkaAccessError(
            f"TLS with Kafka at {bootstrap} failed: {exc} (SENRI_KAFKA_CA_FILE names the CA "
            "that signed the brokers' certificates)"
        ) from exc
    except Exception as exc:
        if not reasons or isinstance(exc, SenriError):
            raise
        raise KafkaAccessError(
            f"Kafka at {bootstrap} refused this client: {reasons[-1]} "
            "(check the SENRI_KAFKA_* security settings, docs/deploy.md)"
        ) from exc
    finally:
        conn_log.removeHandler(handler)


def ensure_topics(bootstrap: str, topics: Iterable[TopicSpec], timeout_s: float = 30.0) -> None:
    """Create the topics that do not exist yet (idempotent; existing ones are left as they are).
    A broker that refuses the login or the TLS handshake raises `KafkaAccessError`."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    wanted = {t.name: t for t in topics}
    if not wanted:
        return
    with access_explained(bootstrap):
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="senri-admin", **kafka_options()
        )
    try:
        missing = [t for name, t in wanted.items() if name not in set(admin.list_topics())]
        if missing:
            # another process may create one between our list and create: that is fine
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [
                        NewTopic(t.name, t.partitions, t.replication, topic_configs=t.configs)
                        for t in missing
                    ],
                    timeout_ms=int(timeout_s * 1000),
                )
        _wait_for_topics(admin, list(wanted), timeout_s)
    finally:
        admin.close()


def _wait_for_topics(admin: Any, names: Sequence[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        described = admin.describe_topics(list(names))
        ready = [d for d in described if not d.get("error_code") and d.get("partitions")]
        if len(ready) == len(names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not ready after {timeout_s}s: {', '.join(names)}")
        time.sleep(0.2)


def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    """Delete the named topics that exist (for tests and `reset`-like tools)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="senri-admin", **kafka_options()
    )
    try:
        existing = set(admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()


def read_to_end(
    bootstrap: str,
    topic: str,
    *,
    committed: bool = True,
    timeout_s: float = 30.0,
    **options: Any,
) -> Iterator[Any]:
    """Every record of `topic`, from the start of each partition up to its end offset now;
    with `committed`, only records of committed transactions (up to the last stable offset).
    `options` go to kafka-python's `KafkaConsumer` (fetch sizes for big records)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
        **kafka_options(),
        **options,
    )
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took over {timeout_s:g} s")
            for records in consumer.poll(timeout_ms=500).values():
                yield from records
    finally:
        consumer.close()


class BusProducer:
    """A kafka-python producer that never drops: batches, compresses, retries until acked.

    Records are sent asynchronously; every `window` sends (and on `flush`) the producer waits for
    the acks. A record whose delivery failed (e.g. the broker was down longer than the client's
    own retries) is sent again, in order, after a backoff, until it is acked or `give_up_s`
    passes (None: never give up; ingest blocks while the broker is away).
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        linger_ms: int = 20,
        batch_bytes: int = 256 * 1024,
        max_request_bytes: int = 1024 * 1024,
        window: int = 500,
        give_up_s: float | None = None,
        retry_backoff_s: float = 0.5,
    ) -> None:
        from kafka import KafkaProducer

        self.compression = compression_type()
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="senri-ingest",
            acks="all",
            enable_idempotence=True,
            compression_type=self.compression,
            linger_ms=linger_ms,
            batch_size=batch_bytes,
            max_request_size=max_request_bytes,
            retries=2**31 - 1,
            retry_backoff_ms=200,
            reconnect_backoff_max_ms=2000,
            delivery_timeout_ms=60_000,
            request_timeout_ms=15_000,
            max_block_ms=60_000,
            **kafka_options(),
        )
        self.window = window
        self.give_up_s = give_up_s
        self.retry_backoff_s = retry_backoff_s
        self._pending: list[tuple[tuple[str, bytes | None, bytes, Headers], Any]] = []
        self.acked = 0
        self.acked_bytes = 0
        self.resent = 0

    def __enter__(self) -> BusProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        """Queue one record; blocks (acking earlier ones) when `window` records are in flight."""
        msg = (topic, key, value, headers)
        self._pending.append((msg, self._send_blocking(msg)))
        if len(self._pending) >= self.window:
            self.flush()

    def send_record(self, topic: str, record: Any, key: str | None = None) -> int:
        """Encode a record as an envelope keyed by its stream id; returns the value's size."""
        value = codec.encode(record)
        stream = key if key is not None else str(getattr(record, "stream_id", ""))
        self.send(topic, stream.encode() or None, value, envelope_headers(record))
        return len(value)

    def _send_blocking(self, msg: tuple[str, bytes | None, bytes, Headers]) -> Any:
        """`producer.send`, retried while the client cannot even queue it (no metadata yet)."""
        from kafka.errors import KafkaTimeoutError

        started = time.monotonic()
        while True:
            try:
                topic, key, value, headers = msg
                return self._producer.send(topic, key=key, value=value, headers=headers)
            except KafkaTimeoutError:
                self._check_give_up(started)
                log.warning("broker not reachable; retrying send to %s", msg[0])
                time.sleep(self.retry_backoff_s)

    def _check_give_up(self, started: float) -> None:
        if self.give_up_s is not None and time.monotonic() - started > self.give_up_s:
            raise TimeoutError(f"Kafka did not acknowledge records within {self.give_up_s}s")

    def flush(self) -> None:
        """Wait until every queued record is acked, resending failed ones in order."""
        started = time.monotonic()
        while self._pending:
            self._producer.flush()
            failed = []
            for msg, future in self._pending:
                try:
                    future.get(timeout=0)
                except Exception as exc:  # delivery failed: keep it, resend below
                    failed.append(msg)
                    log.warning("delivery to %s failed (%s); will resend", msg[0], exc)
                else:
                    self.acked += 1
                    self.acked_bytes += len(msg[2])
            self._pending = []
            if failed:
                self._check_give_up(started)
                time.sleep(self.retry_backoff_s)
                self.resent += len(failed)
                self._pending = [(m, self._send_blocking(m)) for m in failed]

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()
