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
import time
from collections.abc import Callable
from typing import Any

from senri.connectors.kafka import BusProducer, TopicSpec
from senri.engine.health import StreamHealth

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

    Pass `changed` to `StreamHealth` as its gauge; call `tick()` after each record and
    `close()` at the end.
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


class HealthReader:
    """The latest `senri.health` record per stream, read on from where it last stopped."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer  # a kafka-python KafkaConsumer of its own
        self.latest: dict[str, dict[str, Any]] = {}
        self._assigned = False

    def streams(self, now: float) -> list[dict[str, Any]]:
        self._read()
        return [
            {**value, "stream": stream, "state": state_of(value, now)}
            for stream, value in sorted(self.latest.items())
        ]

    def _read(self) -> None:
        from kafka import TopicPartition

        if not self._assigned:
            parts = self.consumer.partitions_for_topic(HEALTH_TOPIC)
            if not parts:
                return  # no ingest has reported yet
            tps = [TopicPartition(HEALTH_TOPIC, p) for p in sorted(parts)]
            self.consumer.assign(tps)
            self.consumer.seek_to_beginning(*tps)
            self._assigned = True
        while batches := self.consumer.poll(timeout_ms=200):
            for records in batches.values():
                for record in records:
                    stream = record.key.decode() if record.key else ""
                    if record.value is None:
                        self.latest.pop(stream, None)
                    else:
                        self.latest[stream] = json.loads(record.value)
