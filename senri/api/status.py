"""``GET /status``: how a Kafka deployment keeps up, for the web page's status view.

For every worker group (``senri.worker.*``) and each topic it reads: the records on the
topic, how many the group has committed, the lag between them, and the rates of both since
the previous sample (records/s in and done; frames/s for a camera's topic). Dead letters are
the records on ``senri.dlq`` and on any ``*.dlq`` topic. Streams: each camera's and
microphone's health as its `senri ingest` reports it on ``senri.health`` (up, down since when
and why, gave up, ended, or silent when its ingest stopped reporting). Offsets are read with
the same Kafka settings as every client (`senri.credentials`), by clients kept open between
samples; answers are cached for `every_s`.

Served when `senri serve --bus kafka://HOST:PORT` names the cluster; 503 while it cannot be
reached, with the reason.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from senri.api.openapi import errors
from senri.connectors.health_topic import HealthReader
from senri.connectors.kafka import DLQ_TOPIC
from senri.credentials import kafka_options

try:
    from fastapi import APIRouter, HTTPException
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from senri.errors import MissingDependencyError

    raise MissingDependencyError("fastapi", "the HTTP API (pip install fastapi)") from exc

GROUP_PREFIX = "senri.worker."


@dataclass
class _Sample:
    at: float
    ends: dict[str, int]  # topic -> records on it
    done: dict[tuple[str, str], int]  # (group, topic) -> committed


class KafkaStatus:
    """Samples the cluster's offsets; `report` compares the latest sample with the one before."""

    def __init__(self, bootstrap: str, every_s: float = 2.0) -> None:
        self.bootstrap = bootstrap
        self.every_s = every_s
        self._last: _Sample | None = None
        self._previous: _Sample | None = None
        self._dlq: set[str] = set()
        self._clients: tuple[Any, Any] | None = None  # (admin, consumer), kept between samples
        self._health: HealthReader | None = None
        self._streams: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _connect(self) -> tuple[Any, Any]:
        from kafka import KafkaAdminClient, KafkaConsumer

        if self._clients is None:
            options = kafka_options()
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, client_id="senri-status", **options
            )
            consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap, client_id="senri-status", **options
            )
            self._clients = (admin, consumer)
            reader = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                client_id="senri-status-health",
                enable_auto_commit=False,
                **options,
            )
            self._health = HealthReader(reader)
        return self._clients

    def close(self) -> None:
        if self._clients is not None:
            admin, consumer = self._clients
            self._clients = None
            consumer.close()
            admin.close()
        if self._health is not None:
            self._health.consumer.close()
            self._health = None

    def _sample(self) -> tuple[_Sample, set[str]]:
        from kafka import TopicPartition

        admin, consumer = self._connect()
        try:
            groups = sorted(
                g for g, *_ in admin.list_consumer_groups() if g.startswith(GROUP_PREFIX)
            )
            done: dict[tuple[str, str], int] = {}
            parts: set[Any] = set()
            for group in groups:
                for tp, meta in admin.list_consumer_group_offsets(group).items():
                    parts.add(tp)
                    key = (group, tp.topic)
                    done[key] = done.get(key, 0) + max(0, meta.offset)
            dlq = {t for t in admin.list_topics() if t == DLQ_TOPIC or t.endswith(".dlq")}
            for topic in dlq:
                for p in consumer.partitions_for_topic(topic) or ():
                    parts.add(TopicPartition(topic, p))
            ends: dict[str, int] = {}
            for tp, end in (consumer.end_offsets(list(parts)) if parts else {}).items():
                ends[tp.topic] = ends.get(tp.topic, 0) + end
            now = time.time()
            assert self._health is not None
            self._streams = self._health.streams(now)
            return _Sample(now, ends, done), dlq
        except Exception:
            self.close()  # reconnect on the next sample: the cluster may have moved or restarted
            raise

    def report(self) -> dict[str, Any]:
        with self._lock:
            if self._last is None or time.time() - self._last.at >= self.every_s:
                sample, self._dlq = self._sample()
                self._previous, self._last = self._last, sample
            last, before = self._last, self._previous
        span = last.at - before.at if before is not None else 0.0

        def rate(now: int, then: int | None) -> float | None:
            return round((now - then) / span, 2) if then is not None and span > 0 else None

        groups: dict[str, list[dict[str, Any]]] = {}
        for (group, topic), committed in sorted(last.done.items()):
            end = last.ends.get(topic, 0)
            was = before.done.get((group, topic)) if before else None
            groups.setdefault(group, []).append(
                {
                    "topic": topic,
                    "records": end,
                    "committed": committed,
                    "lag": max(0, end - committed),
                    "in_per_s": rate(end, before.ends.get(topic) if before else None),
                    "done_per_s": rate(committed, was),
                }
            )
        return {
            "bootstrap": self.bootstrap,
            "sampled_at": last.at,
            "seconds_since_previous": round(span, 3) if before is not None else None,
            "groups": [{"group": g, "topics": t} for g, t in groups.items()],
            "dead_letters": {t: last.ends.get(t, 0) for t in sorted(self._dlq)},
            "streams": self._streams,
        }


def status_router(status: KafkaStatus) -> APIRouter:
    router = APIRouter(tags=["status"])

    @router.get("/status", responses=errors(503))
    def get_status() -> dict[str, Any]:
        """Worker groups' lag and rates per topic, and dead letters, from the Kafka cluster."""
        try:
            return status.report()
        except Exception as exc:  # the cluster is away: say so, the page shows it
            raise HTTPException(
                503, f"Kafka at {status.bootstrap} cannot be read: {type(exc).__name__}: {exc}"
            ) from None

    return router
