"""A real RTSP server for tests (tests/rtsp_server.py under Debian's Python), and a reader that
drains a live source in a thread while a test breaks the server.

    >>> with RtspServer(video) as server:  # doctest: +SKIP
    ...     with Reader(VideoSource(server.url(), "cam1")) as reader:
    ...         reader.wait(reader.frames_after(30))
    ...         server.kill()
    ...         server.start()
"""

from __future__ import annotations

import functools
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from senri.engine.health import StreamHealth
from senri.records import DeadLetter

SYSTEM_PYTHON = "/usr/bin/python3"
"""GStreamer's Python bindings come from Debian (python3-gi), not from senri's virtualenv."""
SCRIPT = Path(__file__).with_name("rtsp_server.py")
_CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
    "missing = [e for e in ('qtdemux', 'rtph264pay') if not Gst.ElementFactory.find(e)]; "
    "assert not missing, 'no GStreamer element ' + ', '.join(missing)"
)


@functools.cache
def unavailable() -> str | None:
    """Why the RTSP server cannot run here (None when it can); `scripts/setup.sh --dev`
    installs what it needs."""
    try:
        check = subprocess.run(
            [SYSTEM_PYTHON, "-c", _CHECK], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run: {exc}"
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["?"])[-1]
        return (
            f"{SYSTEM_PYTHON} cannot import GstRtspServer ({last}); install python3-gi, "
            "gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-good (scripts/setup.sh --dev)"
        )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspServer:
    """tests/rtsp_server.py serving `video` at rtsp://127.0.0.1:PORT/cam, on a fixed port so it
    can be killed and started again where clients look for it."""

    def __init__(self, video: Path, log: Path, *, burst: float = 0.0, latency: float = 0.0) -> None:
        self.video = video
        self.log = log
        self.burst = burst
        self.latency = latency
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, mount: str = "/cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def start(self, deadline: float = 15.0) -> None:
        """Start the server and return once it accepts connections."""
        args = [SYSTEM_PYTHON, str(SCRIPT), "--port", str(self.port), "--file", str(self.video)]
        args += ["--burst", str(self.burst), "--latency", str(self.latency)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        until = time.monotonic() + deadline
        while time.monotonic() < until:
            if self.process.poll() is not None:
                raise RuntimeError(f"the RTSP server exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the RTSP server did not listen within {deadline:g} s")

    def kill(self) -> None:
        """SIGKILL: the server vanishes without closing anything."""
        self._signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(10)

    def pause(self) -> None:
        """SIGSTOP: connections stay open, and nothing comes through them."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def unpublish(self) -> None:
        """Take the mount away and drop its clients: new clients get 404 until `publish`."""
        self._told(signal.SIGUSR1, "unpublished")

    def publish(self) -> None:
        self._told(signal.SIGUSR2, "published")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def _signal(self, sig: signal.Signals) -> None:
        assert self.process is not None and self.process.poll() is None
        self.process.send_signal(sig)

    def _told(self, sig: signal.Signals, line: str, deadline: float = 10.0) -> None:
        """Send `sig` and wait for the server to log `line` once more than before."""
        before = self._said(line)
        self._signal(sig)
        until = time.monotonic() + deadline
        while self._said(line) <= before:
            if time.monotonic() > until:
                raise RuntimeError(f"the RTSP server did not say {line!r}")
            time.sleep(0.02)

    def _said(self, line: str) -> int:
        return self.log.read_text().splitlines().count(line)

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Reader:
    """Drains a source in a thread: each item with the wall time it arrived, and the health
    lines the items give, as `senri run` prints them."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.items: list[tuple[float, Any]] = []
        self.lines: list[str] = []
        self.health = StreamHealth(report=self.lines.append)
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    @property
    def frames(self) -> list[tuple[float, Any]]:
        """(arrival, record) of everything but dead letters."""
        with self._changed:
            return [(t, i) for t, i in self.items if not isinstance(i, DeadLetter)]

    @property
    def dead(self) -> list[DeadLetter]:
        with self._changed:
            return [i for _, i in self.items if isinstance(i, DeadLetter)]

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, until: Callable[[Reader], bool], deadline: float = 20.0) -> None:
        """Block until `until(self)` holds; fail naming what arrived if it does not in time."""
        end = time.monotonic() + deadline
        with self._changed:
            while not until(self):
                left = end - time.monotonic()
                if left <= 0 or (self.done and not until(self)):
                    break
                self._changed.wait(min(left, 0.1))
        if not until(self):
            raise AssertionError(
                f"not reached within {deadline:g} s: {len(self.frames)} records, "
                f"dead letters {[d.reason for d in self.dead]}, health {self.lines}, "
                f"error {self.error!r}"
            )

    def frames_after(self, count: int) -> Callable[[Reader], bool]:
        """A condition for `wait`: `count` more records than have arrived so far."""
        target = len(self.frames) + count
        return lambda r: len(r.frames) >= target

    def close(self) -> None:
        self.source.close()
        self._thread.join(15)
        assert self.done, "the source did not stop within 15 s of close()"

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _drain(self) -> None:
        try:
            for item in self.source:
                arrived = time.time()
                self.health.seen(item)
                with self._changed:
                    self.items.append((arrived, item))
                    self._changed.notify_all()
        except BaseException as exc:  # a source must never raise: the test reports it
            self.error = exc
        with self._changed:
            self._changed.notify_all()
