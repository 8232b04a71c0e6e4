"""Audio operators: loudness spans (`audio.loudness`) and voice activity (`audio.vad`).

Both keep per-stream state across chunks, so a span may start in one chunk and end in a later
one; the event is emitted with the chunk in which the span closes (or at end of input). Event
ids come from the stream and the span's start sample, so a replay overwrites.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from senri.engine.operator import BatchPolicy, Device, Emits, Operator, register
from senri.models.registry import ModelName
from senri.operators.melspec import decode, encode
from senri.operators.spans import Span, SpanTracker
from senri.records import AudioChunk, Event, EventBatch


class _SpanOperator(Operator[AudioChunk, EventBatch]):
    """Shared bookkeeping: per-stream span trackers and the stream's start time."""

    input_type = AudioChunk
    output_type = EventBatch
    kind = "sound"
    label = "sound"

    def __init__(self, min_duration: float, merge_gap: float) -> None:
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self._spans: dict[str, SpanTracker] = {}
        self._origin: dict[str, float] = {}

    def _tracker(self, chunk: AudioChunk) -> SpanTracker:
        self._origin.setdefault(chunk.stream_id, chunk.ts - chunk.pts)
        return self._spans.setdefault(
            chunk.stream_id, SpanTracker(self.min_duration, self.merge_gap)
        )

    def _event(self, stream_id: str, span: Span) -> Event:
        origin = self._origin[stream_id]
        return Event(
            id=Event.make_id(stream_id, self.kind, round(span.start * 1000)),
            stream_id=stream_id,
            time=origin + span.start,
            end_time=origin + span.end,
            kind=self.kind,
            label=self.label,
            confidence=self._confidence(span),
            attributes=self._attributes(span),
        )

    def _confidence(self, span: Span) -> float:
        return 1.0

    def _attributes(self, span: Span) -> dict[str, Any]:
        return {"duration": round(span.end - span.start, 3)}

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        tracker = self._spans.get(stream_id)
        return {
            "origin": self._origin.get(stream_id),
            "span": tracker.snapshot() if tracker else None,
        }

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        if state.get("origin") is not None:
            self._origin[stream_id] = float(state["origin"])
        else:
            self._origin.pop(stream_id, None)
        if state.get("span"):
            self._spans[stream_id] = SpanTracker(**state["span"])
        else:
            self._spans.pop(stream_id, None)

    def finish(self) -> list[EventBatch]:
        out = []
        for stream_id, tracker in self._spans.items():
            events = tuple(self._event(stream_id, s) for s in tracker.close())
            if events:
                out.append(EventBatch(stream_id, f"{stream_id}:end", events))
        return out


@register
class Loudness(_SpanOperator):
    """Spans whose short-term level (RMS over `window_ms`) stays above `threshold_db` dBFS."""

    name = "audio.loudness"
    emits = (Emits("sound", "audio", "sounds"),)
    batch = BatchPolicy(max_size=8, max_wait_ms=20)
    kind = "sound"
    label = "loud"

    def __init__(
        self,
        threshold_db: float = -35.0,
        window_ms: float = 50.0,
        min_duration: float = 0.2,
        merge_gap: float = 0.3,
    ) -> None:
        super().__init__(min_duration, merge_gap)
        self.threshold_db = threshold_db
        self.window_ms = window_ms

    def _attributes(self, span: Span) -> dict[str, Any]:
        return {"duration": round(span.end - span.start, 3), "peak_db": round(span.peak, 1)}

    def process(self, items: list[AudioChunk]) -> list[EventBatch]:
        out = []
        for chunk in items:
            tracker = self._tracker(chunk)
            n = max(1, int(chunk.sample_rate * self.window_ms / 1000))
            events: list[Event] = []
            for i in range(0, len(chunk.samples), n):
                window = chunk.samples[i : i + n]
                rms = (
                    float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
                    if len(window)
                    else 0.0
                )
                db = 20 * np.log10(max(rms, 1e-10))
                start = chunk.pts + i / chunk.sample_rate
                end = start + len(window) / chunk.sample_rate
                for span in tracker.update(start, end, db > self.threshold_db, db):
                    events.append(self._event(chunk.stream_id, span))
            out.append(EventBatch(chunk.stream_id, chunk.key, tuple(events)))
        return out


@register
class VoiceActivity(_SpanOperator):
    """Speech spans from the Silero VAD model (registry name ``vad/silero``), 16 kHz input.

    Windows of 512 samples (32 ms) with 64 samples of context; speech starts above `threshold`
    and continues until the probability falls below ``threshold - 0.15`` for `merge_gap` s.
    """

    name = "audio.vad"
    emits = (Emits("speech", "audio", None),)
    batch = BatchPolicy(max_size=8, max_wait_ms=20)
    kind = "speech"
    label = "speech"
    window = 512
    context = 64

    def __init__(
        self,
        threshold: float = 0.5,
        min_duration: float = 0.25,
        merge_gap: float = 0.3,
        model: ModelName = "vad/silero",
    ) -> None:
        super().__init__(min_duration, merge_gap)
        self.threshold = threshold
        self.model = model
        self._session: Any = None
        self._rnn: dict[str, dict[str, np.ndarray]] = {}

    def setup(self, device: Device) -> None:
        """Silero VAD runs on ONNX Runtime's CPU provider whatever the device: its graph is an
        `If` over two recurrent subgraphs that the torch backend does not run, and each call
        is one 32 ms chunk of one stream, too small to gain from a GPU."""
        if self._session is None:
            from senri.models import onnx

            self._session = onnx.load(self.model, Device("cpu"))

    def _confidence(self, span: Span) -> float:
        return round(float(span.peak), 3)

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        """The span in progress, and the model's recurrent state, context and unread samples."""
        state = super().snapshot(stream_id)
        rnn = self._rnn.get(stream_id)
        state["rnn"] = None if rnn is None else {k: encode(v) for k, v in rnn.items()}
        return state

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        super().restore(stream_id, state)
        if state.get("rnn"):
            self._rnn[stream_id] = {k: decode(v) for k, v in state["rnn"].items()}
        else:
            self._rnn.pop(stream_id, None)

    def _state(self, stream_id: str) -> dict[str, np.ndarray]:
        return self._rnn.setdefault(
            stream_id,
            {
                "state": np.zeros((2, 1, 128), np.float32),
                "context": np.zeros(self.context, np.float32),
                "pending": np.zeros(0, np.float32),
            },
        )

    def process(self, items: list[AudioChunk]) -> list[EventBatch]:
        if self._session is None:
            raise RuntimeError("audio.vad used before setup()")
        out = []
        for chunk in items:
            if chunk.sample_rate != 16000:
                raise ValueError(
                    f"audio.vad needs 16 kHz audio; {chunk.key} is {chunk.sample_rate} Hz"
                )
            tracker = self._tracker(chunk)
            rnn = self._state(chunk.stream_id)
            samples = np.concatenate([rnn["pending"], chunk.samples])
            offset = chunk.pts - len(rnn["pending"]) / 16000
            events: list[Event] = []
            usable = len(samples) - len(samples) % self.window
            for i in range(0, usable, self.window):
                frame = np.concatenate([rnn["context"], samples[i : i + self.window]])[None, :]
                prob, rnn["state"] = self._session.run(
                    None, {"input": frame, "state": rnn["state"], "sr": np.array(16000, np.int64)}
                )
                rnn["context"] = frame[0, -self.context :]
                p = float(prob[0, 0])
                active = p >= self.threshold or (
                    tracker.open_start is not None and p >= self.threshold - 0.15
                )
                start = offset + i / 16000
                for span in tracker.update(start, start + self.window / 16000, active, p):
                    events.append(self._event(chunk.stream_id, span))
            rnn["pending"] = samples[usable:]
            out.append(EventBatch(chunk.stream_id, chunk.key, tuple(events)))
        return out
