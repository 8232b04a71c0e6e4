"""The HTTP endpoints of a run or an ingest: /healthz (each live stream's state) and /metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from senri.engine.health import StreamHealth
from senri.engine.metrics import RuntimeMetrics
from senri.records import DeadLetter

pytestmark = pytest.mark.integration


def test_metrics_server_answers_healthz_and_metrics() -> None:
    metrics = RuntimeMetrics()
    health = StreamHealth(None, metrics.stream_state, clock=lambda: 1000.0)
    metrics.streams = health.snapshot
    server = metrics.serve(0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert json.loads(urllib.request.urlopen(f"{url}/healthz").read()) == {
            "status": "ok",
            "down": [],
            "streams": {},
        }
        reason = "connecting to rtsp://cam/1 failed: Connection refused; reconnecting in 2.00s"
        health.seen(DeadLetter("cam1", "cam1:0", "source.video", reason))
        said = json.loads(urllib.request.urlopen(f"{url}/healthz").read())
        assert said["status"] == "degraded" and said["down"] == ["cam1"]
        assert said["streams"]["cam1"]["reason"] == "Connection refused"
        assert said["streams"]["cam1"]["since"] == 1000.0
        assert b'senri_stream_up{stream="cam1"} 0.0' in urllib.request.urlopen(url).read()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{url}/nothing")
    finally:
        server.shutdown()
