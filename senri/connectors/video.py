"""Video frames from files and cameras (file path, file://, rtsp(s)://, http(s)://) via pyav.

Frames come out as RGB uint8 `Frame`s. `pts` is seconds from the start of the stream, taken from
the packet timestamps (so sampling and times stay right for variable-frame-rate input), and
``ts = start_time + pts``.

Files end at EOF. A file that cannot be opened as video, or that breaks mid-stream (truncated or
corrupt), yields ONE `DeadLetter` saying how far decoding got, then ends. Live sources (RTSP,
or HTTP/files with ``live=True``) reconnect with backoff on error or EOF instead, keep numbering
frames where they left off, and yield a `DeadLetter` naming each disconnect's reason.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from senri.connectors.base import (
    Clock,
    ClosableSource,
    ReconnectPolicy,
    dead_letter,
    default_start_time,
    locate,
    network_options,
)
from senri.errors import SourceError
from senri.records import DeadLetter, Frame, record_key

Opener = Callable[[str], InputContainer]
"""Opens a demuxer for a path or URL; injectable so tests can simulate a flaky camera."""

STAGE = "source.video"
_READ_ERRORS = (av.FFmpegError, OSError)
_FALLBACK_STEP = Fraction(1, 30)
SLEW = 0.5
"""Share of each frame's duration by which a live stream's clock moves towards the camera's
own (its RTCP sender reports): times keep increasing, and 1 s of lag is gone in 2 s of video."""
TRUSTED = 30.0
"""Seconds a camera's clock may differ from ours and still be believed; beyond, it is unset."""


@dataclass
class _Progress:
    """What carries over from one connection to the next: numbering, sampling, time."""

    seq: int = 0
    last_slot: int | None = None
    next_pts: Fraction = Fraction(0)
    wall0: float | None = None  # wall clock at the first live connection
    start: float = 0.0  # ts of pts 0


@dataclass(frozen=True)
class _Ended:
    """How one live connection ended: frames decoded, why, and whether to stop for good."""

    frames: int
    reason: str
    error: BaseException | None = None
    finished: bool = False


class VideoSource(ClosableSource):
    """RGB frames of one video file or camera, optionally sampled down to `fps`.

    `fps` keeps at most one frame per ``1/fps`` seconds of pts (never more frames than the
    input has); `max_frames` stops after that many frames; `start_time` (epoch seconds) defaults
    to the container's creation time, else the file's mtime, else the wall clock at connect.
    `live` defaults to True for rtsp(s):// and False otherwise. `timeout` bounds each network
    read, and so also how long `close()` can take while a camera stalls.

        >>> src = VideoSource("cam.mp4", "cam1", fps=5)  # doctest: +SKIP
        >>> for item in src:  # Frame, or DeadLetter if the file is corrupt
        ...     ...
    """

    output_type: type = Frame
    unit = "frames"
    """What the records are called in the reasons a live stream ends with."""

    def __init__(
        self,
        uri: str | os.PathLike[str],
        stream_id: str,
        fps: float | None = None,
        start_time: float | None = None,
        live: bool | None = None,
        max_frames: int | None = None,
        reconnect: ReconnectPolicy = ReconnectPolicy(),
        *,
        timeout: float = 10.0,
        opener: Opener | None = None,
        clock: Clock = time.time,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        if fps is not None and (isinstance(fps, bool) or not fps > 0):
            raise SourceError(
                f"video source {stream_id!r}: fps must be a positive number; got {fps!r}"
            )
        if max_frames is not None and max_frames < 0:
            raise SourceError(
                f"video source {stream_id!r}: max_frames must be >= 0; got {max_frames}"
            )
        if timeout <= 0:
            raise SourceError(
                f"video source {stream_id!r}: timeout must be positive; got {timeout}"
            )
        self.location = locate(uri, "video")
        self.stream_id = stream_id
        self.fps = fps
        self.start_time = start_time
        self.live = live if live is not None else self.location.scheme in ("rtsp", "rtsps")
        self.max_frames = max_frames
        self.reconnect = reconnect
        self.timeout = timeout
        self._rate = None if fps is None else Fraction(fps).limit_denominator(1_000_000)
        self._opener = opener or self._open
        self._clock = clock
        self._sleep = sleep or self._stop.wait
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        uri, stream_id = self.location.uri, self.stream_id
        return f"VideoSource({uri!r}, {stream_id!r}, fps={self.fps}, live={self.live})"

    def __iter__(self) -> Iterator[Frame | DeadLetter]:
        return self._live() if self.live else self._file()

    def _open(self, target: str) -> InputContainer:
        if not self.location.is_network:
            return av.open(target, mode="r")
        return av.open(
            target,
            mode="r",
            options=network_options(self.location.scheme, self.timeout),
            timeout=(self.timeout, self.timeout),
        )

    # -- files ---------------------------------------------------------------------------------

    def _file(self) -> Iterator[Frame | DeadLetter]:
        progress = _Progress()
        if self._done(progress):
            return
        try:
            container = self._opener(self.location.target)
        except _READ_ERRORS as exc:
            yield self._dead(progress, f"cannot open {self.location} as video: {exc}", exc)
            return
        with closing(container):
            stream = _video_stream(container)
            if stream is None:
                yield self._dead(
                    progress, f"{self.location} has no video stream ({_kinds(container)})"
                )
                return
            yield from self._read_file(container, stream, progress)

    def _read_file(
        self, container: InputContainer, stream: VideoStream, progress: _Progress
    ) -> Iterator[Frame | DeadLetter]:
        """What one opened file yields: its frames, then a dead letter if it broke."""
        stream.thread_type = "AUTO"
        start = self._start_time(container)
        decoded = 0
        try:
            for pts, frame in _decode(container, stream, base=stream.start_time):
                decoded += 1
                if self._stop.is_set():
                    return
                out = self._emit(progress, pts, frame, start)
                if out is not None:
                    yield out
                    if self._done(progress):
                        return
        except _READ_ERRORS as exc:
            reason = f"video decode failed after frame {decoded}: {exc}"
            yield self._dead(progress, reason, exc)
            return
        declared = stream.frames
        if declared and decoded < declared:
            reason = (
                f"video ended after frame {decoded} of the {declared} its header declares "
                "(truncated file?)"
            )
            yield self._dead(progress, reason)

    # -- live ----------------------------------------------------------------------------------

    def _live(self) -> Iterator[Frame | DeadLetter]:
        progress = _Progress()
        failures = 0  # consecutive connections that delivered no frame: decides giving up
        waits = 0  # reconnect waits since frames last arrived: decides the backoff
        if self._done(progress):
            return
        while not self._stop.is_set():
            asked = time.monotonic()
            try:
                container = self._opener(self.location.target)
            except _READ_ERRORS as exc:
                why = self._failure(exc, time.monotonic() - asked)
                ended = _Ended(0, f"connecting to {self.location} failed: {why}", exc)
            else:
                with closing(container):
                    ended = yield from self._session(container, progress)
            if ended.finished or self._stop.is_set():
                return
            if ended.frames:
                failures = waits = 0
            else:
                failures += 1
            if self.reconnect.gives_up_after(failures):
                reason = f"{ended.reason}; giving up after {failures} failed attempts"
                yield self._dead(progress, reason, ended.error)
                return
            waits += 1
            delay = self.reconnect.delay(waits, self._rng)
            yield self._dead(progress, f"{ended.reason}; reconnecting in {delay:.2f}s", ended.error)
            self._sleep(delay)

    def _session(
        self, container: InputContainer, progress: _Progress
    ) -> Generator[Frame, None, _Ended]:
        """Records of one live connection, then why it ended."""
        now = self._clock()
        if progress.wall0 is None:
            progress.wall0 = now
            progress.start = now if self.start_time is None else self.start_time
        got = 0
        asked = time.monotonic()
        try:
            stream = _video_stream(container)
            if stream is None:
                return _Ended(0, f"{self.location} has no video stream ({_kinds(container)})")
            for out in self._live_items(container, stream, progress, now):
                got += 1
                if self._stop.is_set():
                    return _Ended(got, "closed", finished=True)
                if out is not None:
                    yield out
                    if self._done(progress):
                        return _Ended(got, "max_frames reached", finished=True)
                asked = time.monotonic()
        except _READ_ERRORS as exc:
            why = self._failure(exc, time.monotonic() - asked)
            return _Ended(got, f"stream failed after {got} {self.unit}: {why}", exc)
        return _Ended(got, f"stream ended after {got} {self.unit}")

    def _live_items(
        self, container: InputContainer, stream: VideoStream, progress: _Progress, now: float
    ) -> Iterator[Frame | None]:
        """What one live connection yields: a frame per decoded picture (None where `fps`
        drops it), timed by the camera's clock once it reports it."""
        # pts keep growing across reconnects: wall time since the first connect, but never
        # behind the frames already emitted.
        assert progress.wall0 is not None
        offset = max(Fraction(now - progress.wall0), progress.next_pts)
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90_000)
        for pts, frame in _decode(container, stream, base=None):
            if self.start_time is None:  # no epoch given: the camera's clock, once it tells
                told = reported(container, frame.pts, time_base)
                if told is not None:
                    target = told - float(offset + pts)
                    progress.start = towards(progress.start, target, float(_step(frame)))
            yield self._emit(progress, offset + pts, frame, progress.start, live=True)

    # -- shared --------------------------------------------------------------------------------

    def _emit(
        self,
        progress: _Progress,
        pts: Fraction,
        frame: VideoFrame,
        start: float,
        *,
        live: bool = False,
    ) -> Frame | None:
        """The `Frame` for a decoded picture (None when the fps limit drops it).

        A live frame's time is never after the moment it is read: a connection often opens
        with a burst of seconds of buffered packets, whose presentation times would put them
        in the future. Such a frame is stamped now, and the stream's origin moves back by the
        excess, so the frames after the burst are stamped at their arrival too."""
        progress.next_pts = pts + _step(frame)
        if self._rate is not None:
            slot = math.floor(pts * self._rate)
            if progress.last_slot is not None and slot <= progress.last_slot:
                return None
            progress.last_slot = slot
        seconds = float(pts)
        ts = start + seconds
        if live and ts > (now := self._clock()):
            progress.start -= ts - now
            ts = now
        image = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
        out = Frame(self.stream_id, progress.seq, ts, seconds, image)
        progress.seq += 1
        return out

    def _failure(self, exc: BaseException, waited: float) -> str:
        """What went wrong with a network read that waited `waited` s.

        FFmpeg reports a camera that stopped answering as "Input/output error" or "Invalid
        data found when processing input"; one that failed after about `timeout` s of waiting
        timed out, and says so. (A little under `timeout` still counts: the wait is measured
        from when the last frame was handed on, a bit after its data came.)"""
        if not self.location.is_network or waited < 0.8 * self.timeout:
            return str(exc)
        detail = getattr(exc, "strerror", None) or str(exc)
        return f"timed out after {waited:.1f} s without data ({detail})"

    def _done(self, progress: _Progress) -> bool:
        return self.max_frames is not None and progress.seq >= self.max_frames

    def _start_time(self, container: InputContainer) -> float:
        if self.start_time is not None:
            return self.start_time
        return default_start_time(container.metadata, self.location, self._clock)

    def _dead(
        self, progress: _Progress, reason: str, exc: BaseException | None = None
    ) -> DeadLetter:
        """A dead letter keyed by the frame that would have come next."""
        key = record_key(self.stream_id, progress.seq)
        return dead_letter(self.stream_id, key, STAGE, reason, exc, self._clock)


def reported(container: InputContainer, raw: int | None, time_base: Fraction) -> float | None:
    """The epoch at which the camera says it took the picture with raw pts `raw`, or None.

    Over RTSP, FFmpeg maps its pts to wall time from the first RTCP sender report
    (`start_time_realtime`, the camera's clock at pts 0); files and most HTTP streams have
    none, and a camera may send its first report only seconds into the stream."""
    told = container.start_time_realtime
    if not told or told < 0 or raw is None:
        return None
    return told / 1e6 + float(raw * time_base)


def towards(origin: float, target: float, step: float) -> float:
    """`origin` (the epoch of pts 0) moved towards the camera's `target` by at most
    `SLEW` of one frame's `step`, so no time goes back; a target more than `TRUSTED` s
    away is a camera whose clock is wrong, and is ignored."""
    if abs(target - origin) > TRUSTED:
        return origin
    return origin + max(-SLEW * step, min(SLEW * step, target - origin))


def _video_stream(container: InputContainer) -> VideoStream | None:
    return container.streams.video[0] if container.streams.video else None


def _kinds(container: InputContainer) -> str:
    kinds = [s.type for s in container.streams]
    return "streams: " + ", ".join(kinds) if kinds else "no streams"


def _step(frame: VideoFrame) -> Fraction:
    """How long one frame lasts, for frames without a pts and for joining reconnects."""
    if frame.duration and frame.time_base:
        return Fraction(frame.duration) * Fraction(frame.time_base)
    return _FALLBACK_STEP


def _decode(
    container: InputContainer, stream: VideoStream, base: int | None
) -> Iterator[tuple[Fraction, VideoFrame]]:
    """Decoded frames with their pts in seconds from `base` (the first frame's pts if None).

    Frames without a pts follow the one before. Over RTSP, FFmpeg gives the first frame no
    pts; the first frame that has one then continues from it rather than starting at 0 again."""
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90_000)
    previous: Fraction | None = None
    for frame in container.decode(stream):
        if frame.pts is None:
            pts = Fraction(0) if previous is None else previous + _step(frame)
        else:
            if base is None:
                after = Fraction(0) if previous is None else previous + _step(frame)
                base = frame.pts - round(after / time_base)
            pts = (frame.pts - base) * time_base
        previous = pts
        yield pts, frame
