"""Dialect and language identification (`audio.dialect`): one event per speech span.

Gated like `audio.speech`: an internal `audio.vad` finds speech spans; the operator keeps each
stream's recent audio and, when a span closes (or at end of input), cuts it with `pad` seconds
either side, turns it into a log-mel image (`melspec.log_mel`, the front end the model was
trained with), classifies 2.5 s windows half-overlapping (a shorter span is one window) and
averages their probabilities. A span longer than `max_span` is classified in pieces as it
grows. The model (``dialect/lre``, trained by `senri.models.training.dialect` on synthetic
espeak-ng speech) runs on onnxruntime; labels and clusters come from the JSON beside it.

Events: ``kind="dialect"``, ``label`` = the dialect (an espeak-ng voice name such as
``en-gb-scotland``), `confidence` = its averaged probability, `time`/`end_time` = the span, and
attributes ``cluster`` (the label's language cluster), ``cluster_confidence`` (the summed
probability of that cluster), ``top5`` (``"en-gb:0.61;en-us:0.20;..."``), ``windows``, ``model``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.engine.operator import BatchPolicy, Device, Operator, register
from senri.operators.audio import VoiceActivity
from senri.operators.melspec import log_mel
from senri.records import AudioChunk, Event, EventBatch

SAMPLE_RATE = 16_000
MIN_FRAMES = 16  # the CNN downsamples time 16-fold


@dataclass
class _Stream:
    """A stream's clock and its recent audio: `audio[0]` is at stream time `start` (s)."""

    origin: float
    start: float = 0.0
    audio: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    done_until: float = 0.0  # stream time up to which speech has been classified

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / SAMPLE_RATE

    def cut(self, start: float, end: float) -> npt.NDArray[np.float32]:
        i = max(0, round((start - self.start) * SAMPLE_RATE))
        j = max(i, round((end - self.start) * SAMPLE_RATE))
        return self.audio[i:j]

    def keep_from(self, t: float) -> None:
        drop = max(0, min(len(self.audio), round((t - self.start) * SAMPLE_RATE)))
        self.audio = self.audio[drop:]
        self.start += drop / SAMPLE_RATE


def windows(mel: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.float32]:
    """[W, size, 64] half-overlapping windows covering `mel` (one, shorter, if it is short)."""
    if len(mel) <= size:
        return mel[None]
    starts = list(range(0, len(mel) - size + 1, size // 2))
    if starts[-1] + size < len(mel):
        starts.append(len(mel) - size)  # the tail, aligned to the end
    return np.stack([mel[s : s + size] for s in starts])


@register
class DialectId(Operator[AudioChunk, EventBatch]):
    """The dialect (and language cluster) of each speech span in 16 kHz audio streams.

    >>> op = DialectId()  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.dialect"
    input_type = AudioChunk
    output_type = EventBatch
    batch = BatchPolicy(max_size=8, max_wait_ms=50)
    kind = "dialect"

    def __init__(
        self,
        model: str = "dialect/lre",
        vad_threshold: float = 0.5,
        min_duration: float = 0.5,
        merge_gap: float = 0.5,
        pad: float = 0.1,
        max_span: float = 20.0,
        threads: int = 1,
        vad_model: str = "vad/silero",
    ) -> None:
        self.model = model
        self.pad = pad
        self.max_span = max_span
        self.threads = threads
        self._vad = VoiceActivity(vad_threshold, min_duration, merge_gap, vad_model)
        self._session: Any = None
        self._labels: tuple[str, ...] = ()
        self._clusters: tuple[str, ...] = ()
        self._window = 248
        self._streams: dict[str, _Stream] = {}

    def setup(self, device: Device) -> None:
        if self._session is not None:
            return
        self._vad.setup(device)
        from senri.models import registry
        from senri.models.onnx import session

        path = registry.resolve(self.model, fetch_missing=False)
        meta = load_metadata(path)
        self._labels = tuple(meta["labels"])
        self._clusters = tuple(meta["clusters"][label] for label in self._labels)
        self._window = int(meta["features"]["window_frames"])
        self._session = session(path, device, self.threads)

    def classify(self, samples: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], int]:
        """Averaged class probabilities of 16 kHz `samples`, and how many windows they took."""
        if self._session is None:
            raise RuntimeError("audio.dialect used before setup()")
        mel = windows(log_mel(samples), self._window)
        logits = self._session.run(None, {"logmel": mel})[0].astype(np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return probs.mean(axis=0).astype(np.float32), len(mel)

    def _event(self, stream_id: str, stream: _Stream, start: float, end: float) -> list[Event]:
        clip = stream.cut(start - self.pad, end + self.pad)
        stream.done_until = max(stream.done_until, end)
        if len(clip) < 400 + 160 * (MIN_FRAMES - 1):
            return []
        probs, count = self.classify(clip)
        order = np.argsort(-probs, kind="stable")
        best = int(order[0])
        cluster = self._clusters[best]
        in_cluster = sum(
            float(p) for p, c in zip(probs, self._clusters, strict=True) if c == cluster
        )
        top5 = ";".join(f"{self._labels[i]}:{probs[i]:.2f}" for i in order[:5])
        return [
            Event(
                id=Event.make_id(stream_id, self.kind, round(start * 1000)),
                stream_id=stream_id,
                time=stream.origin + start,
                end_time=stream.origin + end,
                kind=self.kind,
                label=self._labels[best],
                confidence=round(float(probs[best]), 3),
                attributes={
                    "cluster": cluster,
                    "cluster_confidence": round(in_cluster, 3),
                    "top5": top5,
                    "windows": count,
                    "model": self.model,
                },
            )
        ]

    def _spans(self, stream_id: str, stream: _Stream, vad_events: list[Event]) -> list[Event]:
        out = []
        for e in vad_events:
            start = max(e.time - stream.origin, stream.done_until)
            end = (e.end_time if e.end_time is not None else e.time) - stream.origin
            if end > start:
                out.extend(self._event(stream_id, stream, start, end))
        return out

    def process(self, items: list[AudioChunk]) -> list[EventBatch]:
        if self._session is None:
            raise RuntimeError("audio.dialect used before setup()")
        for chunk in items:  # refuse the batch before any state changes
            if chunk.sample_rate != SAMPLE_RATE:
                raise ValueError(
                    f"audio.dialect needs {SAMPLE_RATE} Hz audio; {chunk.key} is "
                    f"{chunk.sample_rate} Hz (let the audio source resample it)"
                )
        out = []
        for chunk in items:
            stream = self._streams.get(chunk.stream_id)
            if stream is None:
                stream = _Stream(chunk.ts - chunk.pts, start=chunk.pts, done_until=chunk.pts)
                self._streams[chunk.stream_id] = stream
            stream.audio = np.concatenate([stream.audio, chunk.samples])
            (vad,) = self._vad.process([chunk])
            events = self._spans(chunk.stream_id, stream, list(vad.events))
            tracker = self._vad._spans.get(chunk.stream_id)  # the span the VAD holds open
            open_start = None if tracker is None else tracker.open_start
            if open_start is not None:
                begun = max(open_start, stream.done_until)
                if stream.end - begun > self.max_span:  # classify a long span as it grows
                    events.extend(self._event(chunk.stream_id, stream, begun, stream.end))
                stream.keep_from(max(open_start, stream.done_until) - self.pad)
            else:
                stream.keep_from(stream.end - self.pad - 1.0)
            out.append(EventBatch(chunk.stream_id, chunk.key, tuple(events)))
        return out

    def finish(self) -> list[EventBatch]:
        out = []
        for batch in self._vad.finish():
            stream = self._streams[batch.stream_id]
            events = self._spans(batch.stream_id, stream, list(batch.events))
            if events:
                out.append(EventBatch(batch.stream_id, f"{batch.stream_id}:end", tuple(events)))
        return out


def load_metadata(weights: Path) -> dict[str, Any]:
    """The labels/clusters/feature JSON of a dialect model: beside the weights, same stem."""
    path = weights.with_suffix(".json")
    if not path.is_file():
        from senri.errors import ModelUnavailableError

        raise ModelUnavailableError(
            f"the dialect model {weights} needs its metadata file {path.name} beside it "
            "(labels, clusters and feature parameters; written by "
            "`python -m senri.models.training.dialect`)"
        )
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta
