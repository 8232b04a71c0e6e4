"""Speech to text (`audio.speech`): Silero VAD spans transcribed by faster-whisper.

Only speech is transcribed: an internal `audio.vad` finds speech spans, the operator keeps each
stream's recent audio, and when a span closes (or at end of input) it cuts the span, with
`pad` seconds either side, and runs Whisper on it (CTranslate2: int8 on CPU, float16 on CUDA).
A span longer than `max_span` is transcribed in pieces as it grows, so memory stays bounded on
a stream that never pauses. Models: ``speech/en`` (Whisper tiny.en, English only) or
``speech/multi`` (Whisper base, multilingual, with language identification).

Events: ``kind="transcript"``, ``label="speech"``, `text`, `time`/`end_time` = the span (epoch
seconds), `confidence` = exp(mean token log-probability), and attributes ``language``,
``language_probability``, ``model``, ``word_count`` and ``words``: compact JSON
``[[word, start, end], ...]`` with epoch-second times, aligned to the stream's clock.
The id comes from the stream and the span's start, so a replay overwrites.
"""

from __future__ import annotations

import gc
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.engine.operator import BatchPolicy, Device, Operator, register
from senri.errors import MissingDependencyError
from senri.operators.audio import VoiceActivity
from senri.records import AudioChunk, Event, EventBatch

SAMPLE_RATE = 16_000


@dataclass
class _Stream:
    """A stream's clock and its recent audio: `audio[0]` is at stream time `start` (s)."""

    origin: float
    start: float = 0.0
    audio: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    done_until: float = 0.0  # stream time up to which speech has been transcribed
    cut_at: float | None = None  # where a long span was last cut (no padding across a cut)

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / SAMPLE_RATE

    def cut(self, start: float, end: float) -> tuple[float, npt.NDArray[np.float32]]:
        i = max(0, round((start - self.start) * SAMPLE_RATE))
        j = max(i, round((end - self.start) * SAMPLE_RATE))
        return self.start + i / SAMPLE_RATE, self.audio[i:j]

    def keep_from(self, t: float) -> None:
        drop = max(0, min(len(self.audio), round((t - self.start) * SAMPLE_RATE)))
        self.audio = self.audio[drop:]
        self.start += drop / SAMPLE_RATE


@register
class Speech(Operator[AudioChunk, EventBatch]):
    """Transcripts of the speech in 16 kHz audio streams.

    >>> op = Speech(model="speech/en")  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.speech"
    input_type = AudioChunk
    output_type = EventBatch
    batch = BatchPolicy(max_size=8, max_wait_ms=50)
    kind = "transcript"
    label = "speech"

    def __init__(
        self,
        model: str = "speech/en",
        language: str | None = None,
        vad_threshold: float = 0.5,
        min_duration: float = 0.3,
        merge_gap: float = 0.5,
        pad: float = 0.3,
        max_span: float = 25.0,
        beam_size: int = 5,
        threads: int = 1,
        vad_model: str = "vad/silero",
    ) -> None:
        self.model = model
        self.language = language
        self.pad = pad
        self.max_span = max_span
        self.beam_size = beam_size
        self.threads = threads
        self._vad = VoiceActivity(vad_threshold, min_duration, merge_gap, vad_model)
        self._whisper: Any = None
        self._streams: dict[str, _Stream] = {}

    def setup(self, device: Device) -> None:
        if self._whisper is not None:
            return
        self._vad.setup(device)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory; never ask a hub
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise MissingDependencyError("faster-whisper", "audio.speech", "audio") from None
        from senri.models import registry

        folder = registry.resolve(self.model, fetch_missing=False)
        if device.kind == "cuda":
            self._whisper = WhisperModel(
                str(folder), device="cuda", device_index=device.index, compute_type="float16"
            )
        else:
            self._whisper = WhisperModel(
                str(folder), device="cpu", compute_type="int8", cpu_threads=self.threads
            )

    def teardown(self) -> None:
        """Release the Whisper model now: CTranslate2 aborts if it is destroyed at exit."""
        self._whisper = None
        self._vad.teardown()
        gc.collect()

    def _transcribe(
        self, stream_id: str, stream: _Stream, start: float, end: float, cut: bool = False
    ) -> list[Event]:
        """Transcribe stream time [start, end] and return its event, if any words.

        Padded by `pad` either side, except across a cut in a long span (the other piece has
        that audio; padding into it would transcribe its words twice).
        """
        before = 0.0 if start == stream.cut_at else self.pad
        clip_start, clip = stream.cut(start - before, end + (0.0 if cut else self.pad))
        stream.done_until = max(stream.done_until, end)
        stream.cut_at = end if cut else None
        if len(clip) < SAMPLE_RATE // 10:
            return []
        multilingual = bool(self._whisper.model.is_multilingual)
        language = self.language or (None if multilingual else "en")
        segments, info = self._whisper.transcribe(
            clip,
            language=language,
            beam_size=self.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        words: list[list[str | float]] = []
        texts, logprobs = [], []
        origin = stream.origin + clip_start
        span_start, span_end = stream.origin + start, stream.origin + end
        for seg in segments:
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0:
                continue  # Whisper's own rule for "this was not speech"
            texts.append(seg.text.strip())
            logprobs.append(seg.avg_logprob)
            for w in seg.words or ():
                # Whisper stretches edge words into the padding; the VAD knows the edges better.
                w_start = min(max(origin + w.start, span_start), span_end)
                w_end = min(max(origin + w.end, w_start), span_end)
                words.append([w.word.strip(), round(w_start, 3), round(w_end, 3)])
        text = " ".join(t for t in texts if t)
        if not text:
            return []
        return [
            Event(
                id=Event.make_id(stream_id, self.kind, round(start * 1000)),
                stream_id=stream_id,
                time=stream.origin + start,
                end_time=stream.origin + end,
                kind=self.kind,
                label=self.label,
                confidence=round(math.exp(sum(logprobs) / len(logprobs)), 3),
                text=text,
                attributes={
                    "language": str(info.language),
                    "language_probability": round(float(info.language_probability), 3),
                    "model": self.model,
                    "word_count": len(words),
                    "words": json.dumps(words, separators=(",", ":"), ensure_ascii=False),
                },
            )
        ]

    def _spans(self, stream_id: str, stream: _Stream, vad_events: list[Event]) -> list[Event]:
        events = []
        for e in vad_events:
            start = max(e.time - stream.origin, stream.done_until)
            end = (e.end_time if e.end_time is not None else e.time) - stream.origin
            if end > start:
                events.extend(self._transcribe(stream_id, stream, start, end))
        return events

    def _open_start(self, stream_id: str) -> float | None:
        tracker = self._vad._spans.get(stream_id)  # the span the VAD holds open, if any
        return None if tracker is None else tracker.open_start

    def process(self, items: list[AudioChunk]) -> list[EventBatch]:
        if self._whisper is None:
            raise RuntimeError("audio.speech used before setup()")
        for chunk in items:  # refuse the batch before any state changes
            if chunk.sample_rate != SAMPLE_RATE:
                raise ValueError(
                    f"audio.speech needs {SAMPLE_RATE} Hz audio; {chunk.key} is "
                    f"{chunk.sample_rate} Hz (let the audio source resample it)"
                )
        out = []
        for chunk in items:
            stream = self._streams.get(chunk.stream_id)
            if stream is None:
                stream = _Stream(chunk.ts - chunk.pts, start=chunk.pts)
                self._streams[chunk.stream_id] = stream
            stream.audio = np.concatenate([stream.audio, chunk.samples])
            (vad,) = self._vad.process([chunk])
            events = self._spans(chunk.stream_id, stream, list(vad.events))
            open_start = self._open_start(chunk.stream_id)
            if open_start is not None:
                begun = max(open_start, stream.done_until)
                if stream.end - begun > self.max_span:  # transcribe a long span as it grows
                    end = stream.end
                    events.extend(self._transcribe(chunk.stream_id, stream, begun, end, cut=True))
                stream.keep_from(max(open_start, stream.done_until) - self.pad)
            else:
                stream.keep_from(stream.end - self.pad - 1.0)
            out.append(EventBatch(chunk.stream_id, chunk.key, tuple(events)))
        return out

    def finish(self) -> list[EventBatch]:
        out = []
        closing = {b.stream_id: list(b.events) for b in self._vad.finish()}
        for stream_id, vad_events in closing.items():
            stream = self._streams[stream_id]
            events = self._spans(stream_id, stream, vad_events)
            if events:
                out.append(EventBatch(stream_id, f"{stream_id}:end", tuple(events)))
        return out
