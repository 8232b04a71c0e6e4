"""Is a service really serving? Stdlib-only probes that speak each server's own protocol.

A TCP connect proves little (a broker accepts connections before it can answer), so the Kafka
probe sends a real Metadata request (v4, understood by Kafka 1.0 through 4.x) and needs at least
one live broker in the answer; the Elasticsearch probe needs `/_cluster/health` yellow or green.
Both are cheap enough to poll while a JVM starts and are what the integration tests use to decide
whether to skip.
"""

from __future__ import annotations

import json
import socket
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from senri.services.settings import Endpoint

_METADATA_API = 3
_METADATA_VERSION = 4
_CLIENT_ID = b"senri-services"


@dataclass(frozen=True)
class Probe:
    """Outcome of one probe: `healthy`, and a short human detail either way."""

    healthy: bool
    detail: str
    reachable: bool = False
    facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KafkaMetadata:
    """The parts of a Metadata response that say whether the cluster can serve clients."""

    cluster_id: str | None
    controller_id: int
    brokers: list[tuple[int, str, int]]
    topics: list[str]


class _Reader:
    """Big-endian reader for the non-flexible Kafka wire types used by Metadata v4."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def int8(self) -> int:
        return self._take(">b")

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def string(self) -> str | None:
        size = self.int16()
        if size < 0:
            return None
        text = self.data[self.pos : self.pos + size].decode("utf-8")
        self.pos += size
        return text

    def int32_array(self) -> list[int]:
        return [self.int32() for _ in range(max(self.int32(), 0))]


def kafka_metadata(endpoint: Endpoint, timeout: float = 2.0) -> KafkaMetadata:
    """Send one Metadata v4 request for all topics and parse the answer; raises OSError."""
    correlation = 7
    header = struct.pack(">hhih", _METADATA_API, _METADATA_VERSION, correlation, len(_CLIENT_ID))
    body = struct.pack(">ib", -1, 0)  # topics = null (all), allow_auto_topic_creation = false
    request = header + _CLIENT_ID + body
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        reader = _Reader(_recv_exact(sock, size))
    if reader.int32() != correlation:
        raise OSError("Kafka answered with a different correlation id")
    reader.int32()  # throttle_time_ms
    brokers = []
    for _ in range(max(reader.int32(), 0)):
        node_id, host, port = reader.int32(), reader.string() or "", reader.int32()
        reader.string()  # rack
        brokers.append((node_id, host, port))
    cluster_id = reader.string()
    controller_id = reader.int32()
    topics = []
    for _ in range(max(reader.int32(), 0)):
        reader.int16()  # error_code
        name = reader.string()
        internal = reader.int8()
        for _ in range(max(reader.int32(), 0)):
            reader.int16(), reader.int32(), reader.int32()  # error, partition, leader
            reader.int32_array(), reader.int32_array()  # replicas, isr
        if name is not None and not internal:
            topics.append(name)
    return KafkaMetadata(cluster_id, controller_id, brokers, sorted(topics))


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise OSError("connection closed mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


def probe_kafka(endpoint: Endpoint, timeout: float = 2.0) -> Probe:
    """Healthy when a Metadata request lists at least one broker."""
    try:
        meta = kafka_metadata(endpoint, timeout)
    except (OSError, struct.error, UnicodeDecodeError) as error:
        return Probe(False, f"no Metadata answer: {_why(error)}", reachable=_open(endpoint))
    if not meta.brokers:
        return Probe(False, "broker answers but lists no live brokers yet", reachable=True)
    facts = {"cluster": meta.cluster_id or "?", "topics": str(len(meta.topics))}
    detail = f"{_plural(len(meta.brokers), 'broker')}, {_plural(len(meta.topics), 'topic')}"
    return Probe(True, detail, reachable=True, facts=facts)


def probe_elasticsearch(endpoint: Endpoint, timeout: float = 2.0) -> Probe:
    """Healthy when `GET /_cluster/health` reports yellow or green."""
    url = f"http://{endpoint}/_cluster/health"
    # master_timeout: a node still electing itself answers 503 at once instead of after 30s
    query = "?master_timeout=1s&timeout=1s"
    try:
        with urllib.request.urlopen(url + query, timeout=timeout) as response:
            health = json.loads(response.read())
    except urllib.error.HTTPError as error:  # e.g. 503 while the node has no master yet
        return Probe(False, f"/_cluster/health answered HTTP {error.code}", reachable=True)
    except (OSError, ValueError) as error:
        return Probe(False, f"no health answer: {_why(error)}", reachable=_open(endpoint))
    status = str(health.get("status", "unknown"))
    facts = {"status": status, "cluster": str(health.get("cluster_name", "?"))}
    detail = f"{status}, {_plural(int(health.get('active_shards', 0)), 'shard')}"
    return Probe(status in ("yellow", "green"), detail, reachable=True, facts=facts)


def _open(endpoint: Endpoint) -> bool:
    """Does anything accept TCP connections there? (tells "starting" from "port taken")."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=0.5):
            return True
    except OSError:
        return False


def _why(error: Exception) -> str:
    """A short reason: "Connection refused" rather than a nested exception repr."""
    reason = getattr(error, "reason", None)  # urllib wraps the socket error
    cause = reason if isinstance(reason, Exception) else error
    return getattr(cause, "strerror", None) or str(cause) or type(cause).__name__


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
