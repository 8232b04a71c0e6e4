"""A camera's own compressed packets (H.264, H.265, ...), demuxed but never decoded.

`PacketSource` reads what `VideoSource` reads (files, rtsp(s)://, http(s)://, with the same
reconnects, dead letters and timestamps) but yields one `VideoPacket` per access unit instead
of a decoded frame, so `senri ingest video --packets` costs no decode and the wire carries the
camera's bitrate, not JPEGs. The `decode.video` operator turns packets back into frames where
the model runs. Sampling by fps happens there, after decode.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from senri.connectors.video import (
    _READ_ERRORS,
    VideoSource,
    _Progress,
    reported,
    towards,
)
from senri.errors import SourceError
from senri.records import DeadLetter, VideoPacket

HELD = 8
"""Packets without a time held back until one that has a time places them (then given up on)."""


class PacketSource(VideoSource):
    """`VideoPacket`s of one video file or camera, in decode order; see `VideoSource` for
    `start_time`, `live`, `max_frames` (here: packets), `reconnect` and `timeout`.

        >>> for item in PacketSource("cam.mp4", "cam1"):  # doctest: +SKIP
        ...     ...  # VideoPacket, or DeadLetter
    """

    output_type: type = VideoPacket
    unit = "packets"

    def __init__(self, *args: object, **kwargs: object) -> None:
        if kwargs.get("fps") is not None:
            raise SourceError("a packet source does not sample: give fps to decode.video")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _read_file(  # type: ignore[override]
        self, container: InputContainer, stream: VideoStream, progress: _Progress
    ) -> Iterator[VideoPacket | DeadLetter]:
        """What one opened file yields: its packets, then a dead letter if demuxing broke."""
        try:
            for packet in self._packets(container, stream, progress, self._start_time(container)):
                yield packet
                if self._stop.is_set() or self._done(progress):
                    return
        except _READ_ERRORS as exc:
            reason = f"video demux failed after packet {progress.seq}: {exc}"
            yield self._dead(progress, reason, exc)

    def _live_items(  # type: ignore[override]
        self, container: InputContainer, stream: VideoStream, progress: _Progress, now: float
    ) -> Iterator[VideoPacket]:
        """What one live connection yields: its packets, numbered and timed on."""
        assert progress.wall0 is not None
        origin = progress.start + (now - progress.wall0)  # a reconnect goes on from wall time
        yield from self._packets(container, stream, progress, origin, live=True)

    def _packets(
        self,
        container: InputContainer,
        stream: VideoStream,
        progress: _Progress,
        origin: float,
        *,
        live: bool = False,
    ) -> Iterator[VideoPacket]:
        """The stream's packets with data, numbered on from `progress.seq`. A live packet is
        never stamped after the moment it is read (the burst of buffered packets a connection
        opens with): the origin moves back by the excess, as `VideoSource` does for frames.

        Over RTSP, FFmpeg gives the first packet no pts or dts. It is held until the next
        packet's time places it one frame before, and it carries that time (raw too, so
        `decode.video` sees it), instead of two packets at second 0."""
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90_000)
        codec = stream.codec_context.name
        extradata = bytes(stream.codec_context.extradata or b"")
        rate = stream.guessed_rate or stream.average_rate or 25
        step = max(1, round(1 / (Fraction(rate) * time_base)))  # one frame, in time_base
        base = stream.start_time
        previous: int | None = None
        held: list[Packet] = []  # packets with no time before the first that has one
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's flush packet
                continue
            raw = packet.pts if packet.pts is not None else packet.dts
            if raw is None and previous is None and len(held) < HELD:
                held.append(packet)  # RTSP's first packet has no time: it is a frame before
                continue
            if raw is None:
                raw = (previous if previous is not None else -step) + step
            if previous is None:  # the first packet with a time places those held before it
                first = raw - step * len(held)
                base = first if base is None else min(base, first)
                stamped = [(p, first + step * i) for i, p in enumerate(held)]
                held = []
            else:
                stamped = []
            previous = raw
            assert base is not None  # placed with the first packet that has a time
            for p, at in [*stamped, (packet, raw)]:
                seconds = float((at - base) * time_base)
                told = (
                    reported(container, at, time_base) if live and self.start_time is None else None
                )
                if told is not None:
                    origin = towards(origin, told - seconds, float(step * time_base))
                if live and origin + seconds > (now := self._clock()):
                    origin -= origin + seconds - now
                out = VideoPacket(
                    self.stream_id,
                    progress.seq,
                    origin + seconds,
                    seconds,
                    bytes(p),
                    bool(p.is_keyframe),
                    codec,
                    f"{time_base.numerator}/{time_base.denominator}",
                    at if p.pts is None else p.pts,
                    at if p.dts is None else p.dts,
                    base,
                    origin,
                    extradata if p.is_keyframe else b"",
                )
                progress.seq += 1
                yield out
