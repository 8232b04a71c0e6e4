"""Speech to text (`audio.speech`): Silero VAD spans transcribed by faster-whisper.

Only speech is transcribed: an internal `audio.vad` finds speech spans, the operator keeps each
stream's recent audio, and when a span closes (or at end of input) it cuts the span, with
`pad` seconds either side, and runs Whisper on it (CTranslate2: int8 on CPU, float16 on CUDA).
A span longer than `max_span` is transcribed in pieces as it grows, so memory stays bounded on
a stream that never pauses. Models: ``speech/en`` (Whisper tiny.en, English only),
``speech/multi`` (Whisper base, multilingual, with language identification), or
``pocketsphinx`` (its bundled en-us model; also the fallback, with a warning, when
faster-whisper or the Whisper weights are missing, unless ``fallback: false``).

A site's own names (cameras, places, people) can be given as ``vocabulary``: Whisper reads
them as hint phrases (faster-whisper's ``hotwords``) before each span, so that "Kilbarrack" is
written as the site writes it. It helps names Whisper has never seen and can, on a garbled
span, make Whisper repeat a name that was not said (docs/audio.md has both, measured).
pocketsphinx ignores it, with a warning.

Whisper decodes each span by beam search with faster-whisper's temperature fallback: a span
whose decoding looks garbled (a repetition loop, or very unlikely tokens) is retried by
sampling, seeded, at rising temperatures. ``sampling: false`` keeps temperature 0 only, so a
replay inside a running worker writes the same text over the same event; without the
fallback nothing breaks a loop, and tiny.en with a vocabulary then loops (docs/audio.md).

Events: ``kind="transcript"``, ``label="speech"``, `text`, `time`/`end_time` = the span (epoch
seconds), `confidence` = the engine's (Whisper: exp(mean token log-probability)), and
attributes ``language``, ``language_probability``, ``model``, ``word_count`` and ``words``:
compact JSON
``[[word, start, end], ...]`` with epoch-second times, aligned to the stream's clock.
The id comes from the stream and the span's start, so a replay overwrites.
"""

from __future__ import annotations

import gc
import json
import logging

from senri.engine.operator import Device, Emits, register
from senri.errors import MissingDependencyError, ModelUnavailableError
from senri.models.registry import ModelName, SpeechModelName
from senri.operators.gated import SAMPLE_RATE, SpanAudio, VadGated
from senri.operators.stt import Engine, SphinxEngine, WhisperEngine
from senri.records import Event

log = logging.getLogger(__name__)


@register
class Speech(VadGated):
    """Transcripts of the speech in 16 kHz audio streams.

    >>> op = Speech(model="speech/en")  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.speech"
    emits = (Emits("transcript", "audio", "speech"),)
    kind = "transcript"
    label = "speech"

    def __init__(
        self,
        model: SpeechModelName = "speech/en",
        language: str | None = None,
        vad_threshold: float = 0.5,
        min_duration: float = 0.3,
        merge_gap: float = 0.5,
        pad: float = 0.3,
        max_span: float = 25.0,
        beam_size: int = 5,
        threads: int = 1,
        vad_model: ModelName = "vad/silero",
        fallback: bool = True,
        vocabulary: tuple[str, ...] = (),
        sampling: bool = True,
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
        self.fallback = fallback
        self.vocabulary = tuple(vocabulary)
        self.sampling = sampling
        self._engine: Engine | None = None

    def setup(self, device: Device) -> None:
        """Load Whisper; fall back to pocketsphinx (with a warning) when Whisper is missing."""
        if self._engine is not None:
            return
        self.setup_vad(device)
        if self.model == "pocketsphinx":
            self._engine = self._sphinx()
            return
        try:
            self._engine = WhisperEngine(
                self.model,
                device,
                language=self.language,
                beam_size=self.beam_size,
                threads=self.threads,
                vocabulary=self.vocabulary,
                sampling=self.sampling,
            )
        except (MissingDependencyError, ModelUnavailableError) as exc:
            if not self.fallback:
                raise
            log.warning("audio.speech: %s; falling back to pocketsphinx (much weaker)", exc)
            self._engine = self._sphinx()

    def _sphinx(self) -> SphinxEngine:
        if self.vocabulary:
            log.warning("audio.speech: pocketsphinx ignores the vocabulary (Whisper uses it)")
        return SphinxEngine()

    def ready(self) -> bool:
        return self._engine is not None

    def teardown(self) -> None:
        """Release the model now: CTranslate2 aborts if it is destroyed at interpreter exit."""
        self._engine = None
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
        assert self._engine is not None
        heard = self._engine.transcribe(clip)
        if not heard.text:
            return []
        origin = stream.origin + clip_start
        span_start, span_end = stream.origin + start, stream.origin + end
        words: list[list[str | float]] = []
        for word, w_start, w_end in heard.words:
            # engines stretch edge words into the padding; the VAD knows the edges better
            a = min(max(origin + w_start, span_start), span_end)
            b = min(max(origin + w_end, a), span_end)
            words.append([word, round(a, 3), round(b, 3)])
        return [
            Event(
                id=Event.make_id(stream_id, self.kind, round(start * 1000)),
                stream_id=stream_id,
                time=stream.origin + start,
                end_time=stream.origin + end,
                kind=self.kind,
                label=self.label,
                confidence=round(heard.confidence, 3),
                text=heard.text,
                attributes={
                    "language": heard.language,
                    "language_probability": round(heard.language_probability, 3),
                    "model": self._engine.name,
                    "word_count": len(words),
                    "words": json.dumps(words, separators=(",", ":"), ensure_ascii=False),
                },
            )
        ]
