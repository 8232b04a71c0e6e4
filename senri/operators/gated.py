"""The VAD-gated base of operators on whole speech spans (`audio.speech`, `audio.dialect`).

An internal `audio.vad` finds speech spans; the operator keeps each stream's recent audio in a
`SpanAudio` buffer and, when a span closes (or at end of input), hands the span to
`on_span(stream_id, audio, start, end, cut)`. A span longer than `max_span` is handed over in
pieces as it grows (`cut=True`), so memory stays bounded on a stream that never pauses. Audio
before the open span (less `pad`) is dropped as it ages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from senri.engine.operator import BatchPolicy, Device, Operator
from senri.operators.audio import VoiceActivity
from senri.operators.melspec import decode, encode
from senri.records import AudioChunk, Event, EventBatch

SAMPLE_RATE = 16_000


@dataclass
class SpanAudio:
    """A stream's clock and its recent audio: `audio[0]` is at stream time `start` (s)."""

    origin: float
    start: float = 0.0
    audio: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    done_until: float = 0.0  # stream time up to which speech has been handed to `on_span`
    cut_at: float | None = None  # where a long span was last cut (no padding across a cut)

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / SAMPLE_RATE

    def cut(self, start: float, end: float) -> tuple[float, npt.NDArray[np.float32]]:
        """The samples of stream time [start, end] that are still buffered, and where they begin."""
        i = max(0, round((start - self.start) * SAMPLE_RATE))
        j = max(i, round((end - self.start) * SAMPLE_RATE))
        return self.start + i / SAMPLE_RATE, self.audio[i:j]

    def keep_from(self, t: float) -> None:
        drop = max(0, min(len(self.audio), round((t - self.start) * SAMPLE_RATE)))
        self.audio = self.audio[drop:]
        self.start += drop / SAMPLE_RATE


class VadGated(Operator[AudioChunk, EventBatch]):
    """Base class: subclasses implement `ready` and `on_span`, and call `setup_vad` in `setup`."""

    input_type = AudioChunk
    output_type = EventBatch
    batch: ClassVar[BatchPolicy] = BatchPolicy(max_size=8, max_wait_ms=50)

    def __init__(
        self,
        *,
        vad_threshold: float,
        min_duration: float,
        merge_gap: float,
        pad: float,
        max_span: float,
        vad_model: str,
    ) -> None:
        self.pad = pad
        self.max_span = max_span
        self._vad = VoiceActivity(vad_threshold, min_duration, merge_gap, vad_model)
        self._streams: dict[str, SpanAudio] = {}

    def setup_vad(self, device: Device) -> None:
        self._vad.setup(device)

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        """The stream's buffered audio and where it stands, and its VAD's state."""
        audio = self._streams.get(stream_id)
        return {
            "vad": self._vad.snapshot(stream_id),
            "audio": None
            if audio is None
            else {
                "origin": audio.origin,
                "start": audio.start,
                "samples": encode(audio.audio),
                "done_until": audio.done_until,
                "cut_at": audio.cut_at,
            },
        }

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        self._vad.restore(stream_id, state.get("vad") or {})
        saved = state.get("audio")
        if not saved:
            self._streams.pop(stream_id, None)
            return
        self._streams[stream_id] = SpanAudio(
            float(saved["origin"]),
            float(saved["start"]),
            decode(saved["samples"]),
            float(saved["done_until"]),
            None if saved["cut_at"] is None else float(saved["cut_at"]),
        )

    def ready(self) -> bool:
        raise NotImplementedError

    def on_span(
        self, stream_id: str, audio: SpanAudio, start: float, end: float, cut: bool
    ) -> list[Event]:
        """Events for stream time [start, end]; `cut` marks a piece of a span still going on."""
        raise NotImplementedError

    def _spans(self, stream_id: str, audio: SpanAudio, vad_events: list[Event]) -> list[Event]:
        events = []
        for e in vad_events:
            start = max(e.time - audio.origin, audio.done_until)
            end = (e.end_time if e.end_time is not None else e.time) - audio.origin
            if end > start:
                events.extend(self.on_span(stream_id, audio, start, end, False))
        return events

    def _open_start(self, stream_id: str) -> float | None:
        tracker = self._vad._spans.get(stream_id)  # the span the VAD holds open, if any
        return None if tracker is None else tracker.open_start

    def process(self, items: list[AudioChunk]) -> list[EventBatch]:
        if not self.ready():
            raise RuntimeError(f"{self.name} used before setup()")
        for chunk in items:  # refuse the batch before any state changes
            if chunk.sample_rate != SAMPLE_RATE:
                raise ValueError(
                    f"{self.name} needs {SAMPLE_RATE} Hz audio; {chunk.key} is "
                    f"{chunk.sample_rate} Hz (let the audio source resample it)"
                )
        out = []
        for chunk in items:
            audio = self._streams.get(chunk.stream_id)
            if audio is None:
                audio = SpanAudio(chunk.ts - chunk.pts, start=chunk.pts, done_until=chunk.pts)
                self._streams[chunk.stream_id] = audio
            audio.audio = np.concatenate([audio.audio, chunk.samples])
            (vad,) = self._vad.process([chunk])
            events = self._spans(chunk.stream_id, audio, list(vad.events))
            open_start = self._open_start(chunk.stream_id)
            if open_start is not None:
                begun = max(open_start, audio.done_until)
                if audio.end - begun > self.max_span:  # hand a long span over as it grows
                    events.extend(self.on_span(chunk.stream_id, audio, begun, audio.end, True))
                audio.keep_from(max(open_start, audio.done_until) - self.pad)
            else:
                audio.keep_from(audio.end - self.pad - 1.0)
            out.append(EventBatch(chunk.stream_id, chunk.key, tuple(events)))
        return out

    def finish(self) -> list[EventBatch]:
        out = []
        for batch in self._vad.finish():
            audio = self._streams[batch.stream_id]
            events = self._spans(batch.stream_id, audio, list(batch.events))
            if events:
                out.append(EventBatch(batch.stream_id, f"{batch.stream_id}:end", tuple(events)))
        return out

    def teardown(self) -> None:
        self._vad.teardown()
