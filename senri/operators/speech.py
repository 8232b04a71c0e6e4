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
from typing import Any

from senri.engine.operator import Device, register
from senri.errors import MissingDependencyError
from senri.operators.gated import SAMPLE_RATE, SpanAudio, VadGated
from senri.records import Event


@register
class Speech(VadGated):
    """Transcripts of the speech in 16 kHz audio streams.

    >>> op = Speech(model="speech/en")  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.speech"
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
        super().__init__(
            vad_threshold=vad_threshold,
            min_duration=min_duration,
            merge_gap=merge_gap,
            pad=pad,
            max_span=max_span,
            vad_model=vad_model,
        )
        self.model = model
        self.language = language
        self.beam_size = beam_size
        self.threads = threads
        self._whisper: Any = None

    def setup(self, device: Device) -> None:
        if self._whisper is not None:
            return
        self.setup_vad(device)
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

    def ready(self) -> bool:
        return self._whisper is not None

    def teardown(self) -> None:
        """Release the Whisper model now: CTranslate2 aborts if it is destroyed at exit."""
        self._whisper = None
        super().teardown()
        gc.collect()

    def on_span(
        self, stream_id: str, stream: SpanAudio, start: float, end: float, cut: bool
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
