"""Per-stream health from what live sources yield: down with the reason and the next try,
up again with how long it was down, and gave up; mirrored into the runtime's metrics."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from senri.connectors import VideoSource
from senri.connectors.base import ReconnectPolicy
from senri.engine.health import StreamHealth, cause, is_outage
from senri.engine.metrics import RuntimeMetrics
from senri.records import DeadLetter, Frame

pytestmark = pytest.mark.unit


def test_a_reason_splits_into_cause_retry_and_giving_up() -> None:
    why, retry, gave_up = cause(
        "connecting to rtsp://cam/1 failed: [Errno 111] Connection refused; reconnecting in 2.00s"
    )
    assert (why, retry, gave_up) == ("Connection refused", 2.0, False)
    assert cause("stream ended after 5 frames; giving up after 3 failed attempts") == (
        "stream ended after 5 frames",
        None,
        True,
    )
    corrupt = DeadLetter("cam", "cam:3", "source.video", "frame 3 could not be decoded")
    assert not is_outage(corrupt)  # one bad frame is not an outage


def test_a_flaky_camera_goes_down_comes_back_and_gives_up(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as out:  # five frames of a tiny video
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), i * 40, "uint8"), format="rgb24"
            )
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    calls = itertools.count()

    def flaky(target: str) -> av.container.InputContainer:
        if next(calls) in (0, 2, 3, 4):
            raise av.error.ConnectionRefusedError(111, "Connection refused")
        return av.open(str(clip))

    ticks = itertools.count(1000, 2)
    lines: list[str] = []
    metrics = RuntimeMetrics()
    health = StreamHealth(lines.append, metrics.stream_state, clock=lambda: float(next(ticks)))
    source = VideoSource(
        "rtsp://camera.invalid/1",
        "cam1",
        reconnect=ReconnectPolicy(initial=0.5, max_attempts=3, jitter=0),
        opener=flaky,
        sleep=lambda s: None,
        clock=lambda: 1000.0,
    )
    seen = []
    for item in source:
        health.seen(item)
        seen.append(item)
    assert sum(isinstance(i, Frame) for i in seen) == 5
    assert lines[0].startswith("cam1: down since ")
    assert lines[0].endswith(", Connection refused, reconnecting in 0.5 s")
    assert lines[1].startswith("cam1: up again at ") and "s down" in lines[1]
    assert lines[-1].endswith(", gave up") and "Connection refused" in lines[-1]
    state = health.snapshot()["cam1"]
    assert state["up"] is False and state["gave_up"] is True and state["outages"] == 2
    up = metrics.registry.get_sample_value("senri_stream_up", {"stream": "cam1"})
    assert up == 0.0
