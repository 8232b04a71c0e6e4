"""Each ingested stream's health on Kafka, so one page shows every camera of a deployment.

`senri ingest` runs beside each camera, often on another host than the API. It writes its
streams' `Health` (up, or down since when and why, or gave up) to the compacted topic
``senri.health``, keyed by stream, when a stream's state changes and every `EVERY_S` while
records flow; and once more, marked ``ended``, when it stops. `HealthReader` keeps the latest
record per stream for ``GET /status``: a stream whose ingest has not reported for
`SILENT_AFTER_S` is shown as silent (its ingest is gone, or stuck).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from senri.connectors.kafka import BusProducer, TopicSpec
from senri.engine.health import StreamHealth

log = logging.getLogger(__name__)

HEALTH_TOPIC = "senri.health"
EVERY_S = 30.0
SILENT_AFTER_S = 3 * EVERY_S


def health_topic_spec() -> TopicSpec:
    """Compacted: only each stream's latest state matters; segments close every 10 minutes."""
    spec = TopicSpec.compacted(HEALTH_TOPIC)
    spec.configs["segment.ms"] = str(10 * 60 * 1000)
    return spec


class HealthReporter:
    """Publishes a `StreamHealth`'s streams through an ingest's producer.

    It watches the health's changes itself; call `tick()` after each record and `close()`
    at the end.
    """

    def __init__(
        self,
        producer: BusProducer,
        health: StreamHealth,
        *,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.producer = producer
        self.health = health
        self.every_s = every_s
        self.clock = clock
        self._dirty: set[str] = set()
        self._last = clock()
        health.watch(self.changed)

    def changed(self, stream: str, up: bool, since: float) -> None:
        self._dirty.add(stream)

    def tick(self) -> None:
        """Publish the streams that changed, or all of them when `every_s` has passed."""
        now = self.clock()
        if now - self._last >= self.every_s:
            self._publish(self.health.snapshot(), now)
        elif self._dirty:
            states = self.health.snapshot()
            self._publish({s: states[s] for s in self._dirty if s in states}, now)

    def close(self) -> None:
        """The last word: every stream, marked ended (its ingest stopped reading it)."""
        self._publish(self.health.snapshot(), self.clock(), ended=True)

    def _publish(self, states: dict[str, dict[str, Any]], now: float, ended: bool = False) -> None:
        for stream, state in states.items():
            value = {**state, "reported_at": now, "ended": ended}
            self.producer.send(HEALTH_TOPIC, stream.encode(), json.dumps(value).encode(), [])
        self._dirty.clear()
        self._last = now


def state_of(value: dict[str, Any], now: float) -> str:
    """One word for a stream's record: up, down, gave up, ended or silent."""
    if value.get("ended"):
        return "ended"
    if now - float(value.get("reported_at", 0.0)) > SILENT_AFTER_S:
        return "silent"
    if value.get("gave_up"):
        return "gave up"
    return "up" if value.get("up") else "down"


def _health_record(raw: bytes) -> dict[str, Any] | None:
    """A record as `HealthReporter` writes it (a JSON object with numeric times), or None."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    times = (value.get(k) for k in ("since", "reported_at"))
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
        return None
    return value


class HealthReader:
    """The latest `senri.health` record per stream, read on from where it last stopped.

    Each read goes up to the partitions' end offsets taken as it starts, so a sample with
    nothing new costs one offsets request, not an empty poll's wait (200 ms before)."""

    READ_FOR_S = 2.0
    """At most this long per read: a broker that stalls leaves the rest for the next one."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer  # a kafka-python KafkaConsumer of its own
        self.latest: dict[str, dict[str, Any]] = {}
        self._partitions: list[Any] = []

    def streams(self, now: float) -> list[dict[str, Any]]:
        self._read()
        return [
            {**value, "stream": stream, "state": state_of(value, now)}
            for stream, value in sorted(self.latest.items())
        ]

    def _read(self) -> None:
        from kafka import TopicPartition

        if not self._partitions:
            parts = self.consumer.partitions_for_topic(HEALTH_TOPIC)
            if not parts:
                return  # no ingest has reported yet
            self._partitions = [TopicPartition(HEALTH_TOPIC, p) for p in sorted(parts)]
            self.consumer.assign(self._partitions)
            self.consumer.seek_to_beginning(*self._partitions)
        ends = self.consumer.end_offsets(self._partitions)
        deadline = time.monotonic() + self.READ_FOR_S
        while time.monotonic() < deadline and any(
            self.consumer.position(tp) < ends[tp] for tp in self._partitions
        ):
            batches = self.consumer.poll(timeout_ms=100)
            for records in batches.values():
                for record in records:
                    stream = record.key.decode(errors="replace") if record.key else ""
                    if record.value is None:
                        self.latest.pop(stream, None)
                    elif (value := _health_record(record.value)) is not None:
                        self.latest[stream] = value
                    else:
                        log.warning("%s: ignored a malformed record for %r", HEALTH_TOPIC, stream)
