"""Live video sources against a real RTSP server (GStreamer's, started per test): timestamps,
and what a camera's outages look like to `VideoSource`, `PacketSource` and their health lines.

The server (tests/rtsp_server.py) plays a generated H.264 MP4 in real time from its start for
each client. The tests stop the publisher, kill and restart the server, stall it with SIGSTOP
and ask for a path it does not serve; each checks the reasons said, the recovery and that
records are numbered on without repeats.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from senri.cli_options import DEAD_LETTER_EXIT
from senri.connectors import PacketSource, ReconnectPolicy, VideoSource
from senri.records import Frame
from tests.media import write_video
from tests.rtsp import Reader, RtspServer, unavailable

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FPS = 25  # FFmpeg reads 20 frames before an RTSP stream opens: 0.8 s at 25 fps
QUICK = ReconnectPolicy(initial=0.2, factor=2, max_delay=0.5, jitter=0)
SOURCES = [VideoSource, PacketSource]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of small H.264 video, a keyframe each second: longer than any connection here."""
    why = unavailable()
    if why:
        pytest.skip(why)
    path = tmp_path_factory.mktemp("rtsp") / "cam.mp4"
    return write_video(path, frames=30 * FPS, fps=FPS, gop=FPS)


@pytest.fixture
def server(video: Path, tmp_path: Path) -> Iterator[RtspServer]:
    with RtspServer(video, tmp_path / "server.log") as running:
        yield running


def _numbered_on(reader: Reader) -> None:
    """Records are numbered 0, 1, 2, ... across reconnects, frames' pts and ts never go back."""
    records = [r for _, r in reader.frames]
    assert [r.seq for r in records] == list(range(len(records)))
    frames = [r for r in records if isinstance(r, Frame)]
    pairs = list(itertools.pairwise(frames))
    back = [(a.seq, a.pts, b.pts) for a, b in pairs if b.pts <= a.pts]
    assert back == [], "pts that do not grow (seq, pts, next pts)"
    assert all(a.ts <= b.ts for a, b in pairs)


def _down_then_up(reader: Reader, why: str) -> None:
    """The health lines say the stream went down, once with `why`, and then came back."""
    lines = reader.lines
    down = [i for i, line in enumerate(lines) if "cam1: down since" in line]
    assert down, lines
    assert any(why in lines[i] for i in down), lines
    up = [i for i, line in enumerate(lines) if "cam1: up again" in line]
    assert up and up[-1] > max(down), lines
    assert reader.health.snapshot()["cam1"]["up"]


@pytest.mark.parametrize("kind", SOURCES)
def test_records_are_not_stamped_ahead_of_their_arrival(
    video: Path, tmp_path: Path, kind: type[VideoSource]
) -> None:
    """A camera that opens with 3 s of buffered video at once: those records are stamped at
    arrival, not up to 3 s in the future, and so are the ones after the burst."""
    with RtspServer(video, tmp_path / "server.log", burst=3.0) as server:
        source = kind(server.url(), "cam1", max_frames=5 * FPS, reconnect=QUICK)
        with Reader(source) as reader:
            reader.wait(lambda r: r.done, deadline=30)
    assert reader.error is None and reader.dead == []
    arrived = reader.frames
    assert len(arrived) == 5 * FPS
    first = arrived[0][0]
    # the burst is real: some records carry pts seconds ahead of the time they took to come
    assert max(r.pts - (t - first) for t, r in arrived) > 2.0
    ahead = [r.ts - t for t, r in arrived]
    assert max(ahead) <= 0.5, f"stamped up to {max(ahead):.2f} s after arrival"
    assert min(ahead) > -3.0, f"stamped up to {-min(ahead):.2f} s before arrival"
    _numbered_on(reader)


@pytest.mark.parametrize("kind", SOURCES)
def test_a_lagging_camera_is_stamped_by_its_own_clock(
    video: Path, tmp_path: Path, kind: type[VideoSource]
) -> None:
    """A camera whose packets arrive 2 s after their time: until its first RTCP sender report
    the records are stamped at arrival (2 s late); after it, by the camera's clock, reached
    without a time going back."""
    with RtspServer(video, tmp_path / "server.log", latency=2.0) as server:
        played = time.time()  # the server plays the file from its start for each client
        source = kind(server.url(), "cam1", max_frames=8 * FPS, reconnect=QUICK)
        with Reader(source) as reader:
            reader.wait(lambda r: r.done, deadline=30)
    assert reader.error is None and reader.dead == []
    records = [r for _, r in reader.frames]
    late = [r.ts - (played + r.pts) for r in records]
    assert late[FPS // 2] > 1.5, late[: FPS // 2 + 1]  # before the first report: arrival
    assert all(abs(x) < 0.25 for x in late[-FPS:]), late[-FPS:]  # by then: the camera's clock
    assert all(a.ts < b.ts for a, b in itertools.pairwise(records))
    _numbered_on(reader)


def test_first_packets_of_a_connection_have_their_own_time(server: RtspServer) -> None:
    """FFmpeg gives an RTSP connection's first packet no time: it is placed one frame before
    the next packet, so neither the packets nor the frames `decode.video` makes of them share
    second 0."""
    from senri.operators.video_decode import DecodeVideo

    with Reader(PacketSource(server.url(), "cam1", max_frames=10, reconnect=QUICK)) as reader:
        reader.wait(lambda r: r.done, deadline=20)
    packets = [r for _, r in reader.frames]
    assert len(packets) == 10 and packets[0].keyframe
    assert all(p.pts_raw is not None and p.dts_raw is not None for p in packets)
    assert packets[0].pts == 0.0
    assert packets[1].pts == pytest.approx(1 / FPS, abs=1e-3)
    assert len({p.pts for p in packets}) == len(packets)
    decoder = DecodeVideo()
    frames = decoder.process(packets) + decoder.finish()
    times = [f.pts for f in frames]
    assert len(times) >= 8 and times == sorted(set(times)), times
    assert times[:2] == pytest.approx([0.0, 1 / FPS], abs=1e-3)


def test_publisher_stop_then_back(server: RtspServer) -> None:
    """The mount goes away (its clients dropped, 404 for new ones) and comes back: the source
    says why it is down, reconnects by itself and numbers frames on."""
    with Reader(VideoSource(server.url(), "cam1", reconnect=QUICK, timeout=5)) as reader:
        reader.wait(reader.frames_after(30))
        server.unpublish()
        reader.wait(lambda r: any("404 Not Found" in d.reason for d in r.dead))
        assert reader.lines[-1].startswith("cam1: down since")
        server.publish()
        reader.wait(reader.frames_after(30))
    assert reader.error is None
    assert "stream ended" in reader.dead[0].reason or "stream failed" in reader.dead[0].reason
    _down_then_up(reader, "Server returned 404 Not Found")
    _numbered_on(reader)


@pytest.mark.parametrize("kind", SOURCES)
def test_server_killed_and_restarted(server: RtspServer, kind: type[VideoSource]) -> None:
    """kill -9 of the server, back on the same port 2 s later: "Connection refused" while it
    is gone, then records again, numbered on."""
    with Reader(kind(server.url(), "cam1", reconnect=QUICK, timeout=5)) as reader:
        reader.wait(reader.frames_after(30))
        server.kill()
        reader.wait(lambda r: any("Connection refused" in d.reason for d in r.dead))
        gone = len(reader.frames)
        time.sleep(2.0)
        server.start()
        reader.wait(reader.frames_after(30))
    assert reader.error is None
    # while the server was gone nothing arrived but dead letters
    refused = [d for d in reader.dead if "Connection refused" in d.reason]
    assert len(refused) >= 2 and all("reconnecting in" in d.reason for d in refused)
    assert all(d.key == f"cam1:{gone}" for d in reader.dead)
    _down_then_up(reader, "Connection refused")
    _numbered_on(reader)


@pytest.mark.parametrize("kind", SOURCES)
def test_stalled_server_times_out_and_recovers(server: RtspServer, kind: type[VideoSource]) -> None:
    """SIGSTOP for twice the source's timeout, then SIGCONT: the stall is reported as a
    timeout (not silence, not a bare "Input/output error"), and records come again."""
    timeout = 1.5
    with Reader(kind(server.url(), "cam1", reconnect=QUICK, timeout=timeout)) as reader:
        reader.wait(reader.frames_after(30))
        server.pause()
        stalled = time.monotonic()
        reader.wait(lambda r: bool(r.dead), deadline=4 * timeout)
        said = time.monotonic() - stalled
        time.sleep(max(0.0, 2 * timeout - said))
        server.resume()
        reader.wait(reader.frames_after(30))
    assert reader.error is None
    assert timeout * 0.7 <= said <= timeout * 3, f"the stall was said after {said:.1f} s"
    assert "timed out" in reader.dead[0].reason, reader.dead[0].reason
    _down_then_up(reader, "timed out")
    _numbered_on(reader)


def test_wrong_path_gives_up_after_max_attempts(server: RtspServer) -> None:
    """A path the server does not serve: 404 each time, and the source stops after 3 tries."""
    policy = ReconnectPolicy(initial=0.1, max_delay=0.2, max_attempts=3, jitter=0)
    with Reader(VideoSource(server.url("/nope"), "cam1", reconnect=policy, timeout=5)) as reader:
        reader.wait(lambda r: r.done, deadline=15)
    assert reader.error is None and reader.frames == []
    reasons = [d.reason for d in reader.dead]
    assert len(reasons) == 3 and all("Server returned 404 Not Found" in r for r in reasons)
    assert reasons[-1].endswith("giving up after 3 failed attempts")
    assert len(reader.lines) == 2, reader.lines  # more tries for the same reason are no news
    assert reader.lines[0].endswith("Server returned 404 Not Found, reconnecting in 0.1 s")
    assert reader.lines[1].endswith("Server returned 404 Not Found, gave up")


def test_wrong_path_fails_run_and_probe(server: RtspServer, tmp_path: Path) -> None:
    """`senri run` of a pipeline whose camera path is wrong ends non-zero once its source gives
    up, saying why; `senri validate --probe` exits 1 naming the input and the 404."""
    camera = {"video": server.url("/nope"), "stream": "cam1", "timeout": 5}
    camera["reconnect"] = {"max_attempts": 2, "initial": 0.1, "jitter": 0}
    pipeline = tmp_path / "cam.yaml"
    pipeline.write_text(
        yaml.safe_dump(
            {
                "name": "cam",
                "inputs": {"frames": camera},
                "graph": {"motion": {"op": "vision.motion", "from": "frames"}},
                "outputs": {"events": {"store": "events", "from": ["motion"]}},
            }
        )
    )
    senri = [sys.executable, "-m", "senri"]
    run = subprocess.run(
        [*senri, "run", str(pipeline), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = run.stdout + run.stderr
    assert run.returncode == DEAD_LETTER_EXIT, said  # done, with the dead letters
    assert "cam1: down since" in said and "Server returned 404 Not Found, gave up" in said, said

    probe = subprocess.run(
        [*senri, "validate", "--probe", str(pipeline)], capture_output=True, text=True, timeout=60
    )
    said = probe.stdout + probe.stderr
    assert probe.returncode == 1, said
    assert "✗ frames:" in said and "404 Not Found" in said, said


def test_probe_of_a_live_camera_read_as_packets(server: RtspServer, tmp_path: Path) -> None:
    """`senri validate --probe` passes a camera that is there, read as frames or as packets."""
    for kind in ("video", "packets"):
        pipeline = tmp_path / f"{kind}.yaml"
        decode = {"packets": {"decode": {"op": "decode.video", "from": "frames"}}}.get(kind, {})
        last = "decode" if decode else "frames"
        doc = {
            "name": kind,
            "inputs": {"frames": {kind: server.url(), "stream": "cam1"}},
            "graph": {**decode, "motion": {"op": "vision.motion", "from": last}},
            "outputs": {"events": {"store": "events", "from": ["motion"]}},
        }
        pipeline.write_text(yaml.safe_dump(doc))
        probe = subprocess.run(
            [sys.executable, "-m", "senri", "validate", "--probe", str(pipeline)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        said = probe.stdout + probe.stderr
        assert probe.returncode == 0, f"{kind}: {said[:500]}"
        wanted = {"video": "✓ frames: 64x48 frames", "packets": "✓ frames: h264 packets"}[kind]
        assert wanted in said, said


def test_healthz_of_a_run_says_when_its_camera_is_down(server: RtspServer, tmp_path: Path) -> None:
    """`senri run --metrics-port`: /healthz says "ok", then "degraded" with the stream, since
    when and "Connection refused" while the server is dead, then "ok" again; /metrics carries
    `senri_stream_up` the same way."""
    import json
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    camera = {"video": server.url(), "stream": "cam1", "timeout": 5, "live": True}
    camera["reconnect"] = {"initial": 0.2, "max_delay": 0.5, "jitter": 0}
    pipeline = tmp_path / "cam.yaml"
    doc = {
        "name": "cam",
        "inputs": {"frames": camera},
        "graph": {"motion": {"op": "vision.motion", "from": "frames"}},
        "outputs": {"events": {"store": "events", "from": ["motion"]}},
    }
    pipeline.write_text(yaml.safe_dump(doc))
    run = [sys.executable, "-m", "senri", "run", str(pipeline), "--out", str(tmp_path / "out")]
    process = subprocess.Popen(
        [*run, "--metrics-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def get(path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            assert answer.status == 200
            return bytes(answer.read())

    def until(status: str, why: str = "", deadline: float = 30.0) -> dict[str, Any]:
        end = time.monotonic() + deadline
        seen: Any = None
        while time.monotonic() < end:
            try:
                seen = json.loads(get("/healthz"))
                cam = seen["streams"].get("cam1", {})
                if seen["status"] == status and cam and why in str(cam.get("reason")):
                    return seen
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        raise AssertionError(f"/healthz never said {status!r}; last: {seen}")

    try:
        assert until("ok")["down"] == []
        assert b'senri_stream_up{stream="cam1"} 1.0' in get("/metrics")
        server.kill()
        killed = time.time()
        down = until("degraded", "Connection refused")  # first "stream ended", then refused
        assert down["down"] == ["cam1"]
        assert killed - 5 < down["streams"]["cam1"]["since"] <= time.time()
        assert b'senri_stream_up{stream="cam1"} 0.0' in get("/metrics")
        server.start()
        until("ok")
    finally:
        process.terminate()
        process.wait(timeout=30)
