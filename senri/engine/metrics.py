"""Prometheus metrics of one runtime: items, batch sizes, per-operator latency, queue depth.

Each runtime owns its own `CollectorRegistry`, so two runtimes in one process (tests, the
benchmark) never share counters. `serve(port)` exposes them over HTTP for scraping, beside
``/healthz``: each live stream up, or down since when and why.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


@dataclass(frozen=True, slots=True)
class StageMetrics:
    """The series of one stage, so a hot loop adds to them without a label lookup."""

    items_in: Counter
    items_out: Counter
    dead_letters: Counter
    batch_size: Histogram
    latency: Histogram


class RuntimeMetrics:
    """The metric families a runtime updates; labelled by stage (input, node or output)."""

    def __init__(self) -> None:
        self._stages: dict[str, StageMetrics] = {}
        self.streams: Callable[[], dict[str, dict[str, Any]]] | None = None
        """Live streams' states for ``/healthz`` (`StreamHealth.snapshot` of the runtime)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.items_in = Counter(
            "senri_items_in", "Items taken by a stage", ["stage"], registry=self.registry
        )
        self.items_out = Counter(
            "senri_items_out", "Items emitted by a stage", ["stage"], registry=self.registry
        )
        self.dead_letters = Counter(
            "senri_dead_letters",
            "Items sent to the dead-letter sink",
            ["stage"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "senri_batch_size",
            "Items per processed batch",
            ["stage"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "senri_batch_seconds",
            "Wall time of one process() call",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "senri_queue_depth",
            "Items waiting in a stage's input queue",
            ["stage"],
            registry=self.registry,
        )
        self.restores = Counter(
            "senri_restores",
            "Input partitions whose operator state a Kafka worker restored from the changelog",
            ["partition"],
            registry=self.registry,
        )
        self.restored_offset = Gauge(
            "senri_restored_offset",
            "The offset a Kafka worker resumed a partition at, after its last restore",
            ["partition"],
            registry=self.registry,
        )

        self.stream_up = Gauge(
            "senri_stream_up",
            "Whether a live source's stream is delivering (1) or down and reconnecting (0)",
            ["stream"],
            registry=self.registry,
        )
        self.stream_since = Gauge(
            "senri_stream_state_since",
            "Epoch seconds since a live source's stream has been in its current state",
            ["stream"],
            registry=self.registry,
        )

    def stage(self, name: str) -> StageMetrics:
        """One stage's labelled series, looked up once: a label lookup costs more than an add."""
        found = self._stages.get(name)
        if found is None:
            found = self._stages[name] = StageMetrics(
                self.items_in.labels(name),
                self.items_out.labels(name),
                self.dead_letters.labels(name),
                self.batch_size.labels(name),
                self.latency.labels(name),
            )
        return found

    def stream_state(self, stream: str, up: bool, since: float) -> None:
        """Mirror a stream's health (see `senri.engine.health`)."""
        self.stream_up.labels(stream).set(1.0 if up else 0.0)
        self.stream_since.labels(stream).set(since)

    def value(self, name: str, stage: str) -> float:
        """Read one sample (e.g. ``senri_items_out_total``) for a stage; 0 if never set."""
        return float(self.registry.get_sample_value(name, {"stage": stage}) or 0.0)

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers: "ok", or "degraded" while a live stream is down."""
        streams = self.streams() if self.streams is not None else {}
        down = [s for s, h in streams.items() if not h["up"]]
        return {"status": "degraded" if down else "ok", "down": down, "streams": streams}

    def serve(self, port: int, addr: str = "127.0.0.1") -> ThreadingHTTPServer:
        """Serve ``/metrics`` (Prometheus text) and ``/healthz`` (JSON) on `addr:port` from a
        daemon thread. ``/healthz`` answers 200 even when degraded: a camera that is down is a
        fact to show, not a reason for an orchestrator to restart the process reading it."""
        server = ThreadingHTTPServer((addr, port), _handler(self))
        threading.Thread(target=server.serve_forever, name="senri-metrics", daemon=True).start()
        return server


def _handler(metrics: RuntimeMetrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                body, kind = json.dumps(metrics.health()).encode(), "application/json"
            elif path in ("/", "/metrics"):
                body, kind = metrics.exposition(), CONTENT_TYPE_LATEST
            else:
                self.send_error(404, "only /metrics and /healthz are served here")
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes every few seconds are not news."""

    return Handler
