"""`decode.video`: a camera's compressed packets back into frames, where the model runs.

One decoder per stream (PyAV's software decoders; slice threads only, so a frame comes out
after the same packet on every machine); a batch holding several streams decodes them on
threads of their own, since PyAV decodes without the GIL. Frames are numbered per stream
in presentation order, as `VideoSource` numbers them, and `fps` keeps at most one per
``1/fps`` seconds of pts.
An H.264 picture that no other picture refers to (`nal_ref_idc` 0 in every slice, most
B-frames) and that `fps` would drop anyway is not decoded at all (counted in `undecoded`).

State, for a worker that takes a stream over mid-GOP: the packets since the last keyframe
(and the numbering). `restore` feeds them to a fresh decoder and throws away what it gives,
which is what was already emitted, so the next packet gives exactly the frames the first
worker would have given. The state is as big as one GOP of the camera's bitstream.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from senri import codec
from senri.engine.operator import BatchPolicy, Device, Operator, register
from senri.errors import MissingDependencyError
from senri.records import Frame, VideoPacket

log = logging.getLogger(__name__)

DECODE_THREADS = 4
"""Streams a worker decodes at once, each on a thread of its own (at most one per core)."""

REMEMBERED = 256
"""Pictures whose pts a decoder remembers as given: more than any GOP's reorder depth."""


@dataclass
class _Decoder:
    """One stream's decoder and what it needs to start again at the GOP's keyframe."""

    codec: str
    extradata: bytes
    context: Any
    base: int
    origin: float
    time_base: Fraction
    gop: list[VideoPacket] = field(default_factory=list)
    """Packets from the earliest keyframe whose pictures may still be inside the decoder."""
    out: int = 0
    """Pictures the decoder gave since `gop[0]` went in."""
    seq: int = 0
    last_slot: int | None = None
    given: list[int] = field(default_factory=list)
    """Raw pts of the latest pictures given (up to `REMEMBERED`): one that comes out again,
    from a decoder restarted on kept packets, is not given twice."""


@register
class DecodeVideo(Operator[VideoPacket, Frame]):
    """Frames from `VideoPacket`s (H.264, H.265, MPEG-4, VP9, ... as PyAV decodes them).

    Packets before a stream's first keyframe cannot be decoded and are skipped (counted in
    `skipped`). A packet the decoder rejects raises, and the runtime dead-letters it.
    """

    name = "decode.video"
    input_type = VideoPacket
    output_type = Frame
    batch = BatchPolicy(max_size=16, max_wait_ms=10)
    one_to_one = False  # the decoder holds pictures back, and `fps` drops frames

    def __init__(self, fps: float | None = None) -> None:
        if fps is not None and not fps > 0:
            raise ValueError(f"decode.video: fps must be positive; got {fps!r}")
        self.fps = fps
        self._rate = None if fps is None else Fraction(fps).limit_denominator(1_000_000)
        self._streams: dict[str, _Decoder] = {}
        self.skipped = 0
        self.undecoded = 0
        """Packets left undecoded: non-reference pictures in a slot `fps` had filled."""
        self._count = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None

    def setup(self, device: Device) -> None:
        try:
            import av  # noqa: F401
        except ImportError:  # pragma: no cover - PyAV is a core dependency
            raise MissingDependencyError("av", "decode.video", "core") from None
        if self._threads is None:
            workers = max(1, min(DECODE_THREADS, os.cpu_count() or 1))
            self._threads = ThreadPoolExecutor(workers, thread_name_prefix="senri-decode")

    def teardown(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None

    def process(self, items: list[VideoPacket]) -> list[Frame]:
        """Each stream's packets through its own decoder; streams on threads of their own
        (PyAV decodes without the GIL), each stream's frames in order."""
        streams: dict[str, list[VideoPacket]] = {}
        for packet in items:
            streams.setdefault(packet.stream_id, []).append(packet)
        if len(streams) > 1 and self._threads is not None:
            done = list(self._threads.map(self._decode, streams.values()))
        else:
            done = [self._decode(packets) for packets in streams.values()]
        return [frame for frames in done for frame in frames]

    def _decode(self, packets: list[VideoPacket]) -> list[Frame]:
        """One stream's packets, in order, through its decoder."""
        out: list[Frame] = []
        for packet in packets:
            dec = self._decoder(packet)
            if dec is None:
                with self._count:
                    if not self.skipped:
                        log.warning(
                            "%s: packets before the stream's first keyframe cannot be "
                            "decoded; skipping them (the camera joined mid-GOP)",
                            packet.stream_id,
                        )
                    self.skipped += 1
                continue
            dec.origin = packet.origin  # a live source moves it back after a burst
            if self._sampled_out(dec, packet) and disposable(packet):
                with self._count:
                    self.undecoded += 1  # dropped by fps, and no other picture needs it
                continue
            dec.gop.append(packet)
            for picture in dec.context.decode(_packet(packet, dec.time_base)):
                dec.out += 1
                frame = self._frame(packet.stream_id, dec, picture)
                if frame is not None:
                    out.append(frame)
            _trim(dec)
        return out

    def finish(self) -> list[Frame]:
        """The frames the decoders still hold (B-frame reordering), then each decoder starts
        again from its GOP, so packets that come later still decode."""
        out: list[Frame] = []
        for stream, dec in self._streams.items():
            for picture in dec.context.decode(None):
                frame = self._frame(stream, dec, picture)
                if frame is not None:
                    out.append(frame)
            self._replay(dec)
        return out

    # ---- state ----------------------------------------------------------------------------

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        dec = self._streams.get(stream_id)
        if dec is None:
            return {}
        return {
            "seq": dec.seq,
            "last_slot": dec.last_slot,
            "given": dec.given,
            "gop": [_saved(p) for p in dec.gop],
        }

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        self._streams.pop(stream_id, None)
        if not state or not state.get("gop"):
            return
        gop = [_loaded(p) for p in state["gop"]]
        dec = self._open(gop[0])
        dec.gop, dec.seq, dec.last_slot = gop, int(state["seq"]), state["last_slot"]
        dec.given = [int(t) for t in state.get("given", [])]
        self._replay(dec)
        self._streams[stream_id] = dec

    # ---- helpers --------------------------------------------------------------------------

    def _decoder(self, packet: VideoPacket) -> _Decoder | None:
        dec = self._streams.get(packet.stream_id)
        new_stream = dec is None or (
            packet.keyframe
            and (
                packet.codec != dec.codec
                or (packet.extradata and packet.extradata != dec.extradata)
            )
        )
        if new_stream:
            if not packet.keyframe:
                return None  # nothing decodes before the first keyframe
            seq, slot = (dec.seq, dec.last_slot) if dec is not None else (0, None)
            dec = self._open(packet)
            dec.seq, dec.last_slot = seq, slot
            self._streams[packet.stream_id] = dec
        assert dec is not None
        return dec

    def _open(self, keyframe: VideoPacket) -> _Decoder:
        import av

        context = av.CodecContext.create(keyframe.codec, "r")
        if keyframe.extradata:
            context.extradata = keyframe.extradata
        context.thread_type = "SLICE"  # frame threads would delay output by thread count
        num, den = keyframe.time_base.split("/")
        return _Decoder(
            keyframe.codec,
            keyframe.extradata,
            context,
            keyframe.base,
            keyframe.origin,
            Fraction(int(num), int(den)),
        )

    def _replay(self, dec: _Decoder) -> None:
        """A fresh decoder fed the kept packets; what it gives was emitted already, and what
        it still holds comes out later as it would have (or is dropped by `given`, after a
        flush gave it already)."""
        if not dec.gop:
            return
        dec.context = self._open(dec.gop[0]).context
        dec.out = 0
        for packet in dec.gop:
            dec.out += len(dec.context.decode(_packet(packet, dec.time_base)))

    def _sampled_out(self, dec: _Decoder, packet: VideoPacket) -> bool:
        """Whether `fps` will drop this packet's picture: its slot is one a picture already
        took (slots only grow, so reordering cannot bring it back)."""
        if self._rate is None or dec.last_slot is None or packet.pts_raw is None:
            return False
        seconds = (packet.pts_raw - dec.base) * dec.time_base
        return math.floor(seconds * self._rate) <= dec.last_slot

    def _frame(self, stream_id: str, dec: _Decoder, picture: Any) -> Frame | None:
        raw = picture.pts if picture.pts is not None else picture.dts
        if raw is not None:
            if raw in dec.given:
                return None  # given already (before a flush, or by the worker before this one)
            dec.given = [*dec.given[-(REMEMBERED - 1) :], raw]
        seconds = (raw - dec.base) * dec.time_base if raw is not None else Fraction(0)
        if self._rate is not None:
            slot = math.floor(seconds * self._rate)
            if dec.last_slot is not None and slot <= dec.last_slot:
                return None
            dec.last_slot = slot
        image = np.asarray(picture.to_ndarray(format="rgb24"), dtype=np.uint8)
        frame = Frame(stream_id, dec.seq, dec.origin + float(seconds), float(seconds), image)
        dec.seq += 1
        return frame


def disposable(packet: VideoPacket) -> bool:
    """True for an H.264 access unit whose slices all have `nal_ref_idc` 0: no other picture
    is predicted from it, so leaving it undecoded changes no other frame. Other codecs, and
    data that does not parse, are never disposable."""
    if packet.codec != "h264" or packet.keyframe:
        return False
    data = packet.data
    slices = [n for n in _nal_units(data) if n and n[0] & 0x1F in (1, 5)]
    return bool(slices) and all(n[0] & 0x60 == 0 for n in slices)


def _nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an access unit: Annex B (start codes, RTSP and TS) or the
    length-prefixed form of MP4 (4-byte sizes). [] when neither parses."""
    if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        return [u.lstrip(b"\x00") for u in data.split(b"\x00\x00\x01")[1:]]
    units, at = [], 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if size == 0 or at + 4 + size > len(data):
            return []
        units.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return units if at == len(data) else []


def _trim(dec: _Decoder) -> None:
    """Drop the packets before the latest keyframe whose predecessors all gave their
    pictures (one per packet): they can no longer be needed to restart the decoder."""
    for j in range(len(dec.gop) - 1, 0, -1):
        if dec.gop[j].keyframe and dec.out >= j:
            dec.gop = dec.gop[j:]
            dec.out -= j
            return


def _packet(p: VideoPacket, time_base: Fraction) -> Any:
    import av

    packet = av.Packet(p.data)
    packet.pts, packet.dts, packet.time_base = p.pts_raw, p.dts_raw, time_base
    return packet


def _saved(p: VideoPacket) -> str:
    """A kept packet in a JSON snapshot: its wire envelope, base64."""
    return base64.b64encode(codec.encode(p)).decode()


def _loaded(saved: str) -> VideoPacket:
    packet = codec.decode(base64.b64decode(saved))
    if not isinstance(packet, VideoPacket):
        raise ValueError(f"decode.video state holds a {type(packet).__name__}, not a packet")
    return packet
