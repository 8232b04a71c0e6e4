"""Speech-to-text engines behind `audio.speech`: Whisper (faster-whisper) and pocketsphinx.

An engine turns one clip of 16 kHz mono audio into a `Transcript` with word times relative to
the clip. Whisper (``speech/en`` tiny.en, ``speech/multi`` base) is the default; pocketsphinx,
whose en-us acoustic model and language model ship inside its PyPI package, is the fallback
when faster-whisper or the Whisper weights are missing (much weaker, English only).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from senri.engine.operator import Device
from senri.errors import MissingDependencyError

SAMPLE_RATE = 16_000


@dataclass
class Transcript:
    """What an engine heard in a clip; word times in seconds from the clip's start."""

    text: str
    words: list[tuple[str, float, float]] = field(default_factory=list)
    confidence: float = 0.0
    language: str = "en"
    language_probability: float = 1.0


class Engine(Protocol):
    name: str

    def transcribe(self, clip: npt.NDArray[np.float32]) -> Transcript: ...


def load_whisper(model: str, device: Device, threads: int, purpose: str) -> Any:
    """faster-whisper's `WhisperModel` on the registry folder of `model`: int8 on CPU with
    `threads` threads, float16 on CUDA. Never asks a hub; `purpose` names the operator in the
    "install faster-whisper" message."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory; never ask a hub
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise MissingDependencyError("faster-whisper", purpose, "audio") from None
    from senri.models import registry

    folder = registry.resolve(model, fetch_missing=False)
    if device.kind == "cuda":
        return WhisperModel(
            str(folder), device="cuda", device_index=device.index, compute_type="float16"
        )
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)


SAMPLING_SEED = 20_261_203
"""CTranslate2's random seed, set when a `WhisperEngine` loads. With ``sampling`` on (the
default), a span whose decoding looks garbled is retried by sampling at rising temperatures;
CTranslate2 seeds each model's worker threads from this on their first use, so a process that
transcribes the same spans in the same order writes the same transcripts (and an evaluation
the same figures). With ``sampling`` off there is nothing random to seed."""


class WhisperEngine:
    """faster-whisper on a CTranslate2 model folder: int8 on CPU, float16 on CUDA; beam search
    with faster-whisper's temperature fallback, or at temperature 0 only without `sampling`."""

    def __init__(
        self,
        model: str,
        device: Device,
        *,
        language: str | None,
        beam_size: int,
        threads: int,
        vocabulary: Sequence[str] = (),
        sampling: bool = True,
    ) -> None:
        import ctranslate2

        ctranslate2.set_random_seed(SAMPLING_SEED)  # before the model's threads first sample
        self.whisper: Any = load_whisper(model, device, threads, "audio.speech")
        self.name = model
        self.language = language
        self.beam_size = beam_size
        self.hotwords = ", ".join(w.strip() for w in vocabulary if w.strip()) or None
        # None: faster-whisper's own fallback schedule; 0.0: beam search alone, so the same
        # span reads the same in any run
        self.temperature: float | None = None if sampling else 0.0

    def transcribe(self, clip: npt.NDArray[np.float32]) -> Transcript:
        multilingual = bool(self.whisper.model.is_multilingual)
        segments, info = self.whisper.transcribe(
            clip,
            language=self.language or (None if multilingual else "en"),
            beam_size=self.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            hotwords=self.hotwords,
            **({} if self.temperature is None else {"temperature": self.temperature}),
        )
        texts: list[str] = []
        logprobs: list[float] = []
        words: list[tuple[str, float, float]] = []
        for seg in segments:
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0:
                continue  # Whisper's own rule for "this was not speech"
            texts.append(seg.text.strip())
            logprobs.append(seg.avg_logprob)
            words.extend((w.word.strip(), float(w.start), float(w.end)) for w in seg.words or ())
        return Transcript(
            text=" ".join(t for t in texts if t),
            words=words,
            confidence=math.exp(sum(logprobs) / len(logprobs)) if logprobs else 0.0,
            language=str(info.language),
            language_probability=float(info.language_probability),
        )


class SphinxEngine:
    """pocketsphinx with the en-us model bundled in its package (CPU only)."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise MissingDependencyError(
                "pocketsphinx", "audio.speech's fallback", "audio"
            ) from None
        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self.frame_rate = 100.0  # pocketsphinx's 10 ms frames

    def transcribe(self, clip: npt.NDArray[np.float32]) -> Transcript:
        pcm = (np.clip(clip, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        d = self.decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return Transcript("")
        words = [
            (
                seg.word.split("(")[0],
                seg.start_frame / self.frame_rate,
                seg.end_frame / self.frame_rate,
            )
            for seg in d.seg()
            if not seg.word.startswith(("<", "["))
        ]
        confidence = float(d.get_logmath().exp(hyp.prob))
        return Transcript(hyp.hypstr.strip(), words, confidence)
