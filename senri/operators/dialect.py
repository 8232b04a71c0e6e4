"""Dialect and language identification (`audio.dialect`): one event per speech span.

Gated like `audio.speech`: an internal `audio.vad` finds speech spans; the operator keeps each
stream's recent audio and, when a span closes (or at end of input), cuts it with `pad` seconds
either side, classifies 2.5 s windows half-overlapping (a shorter span is one window) and
averages their probabilities. A span longer than `max_span` is classified in pieces as it
grows. Two classifiers of the same 23 espeak-ng voices, both trained by senri on synthetic
speech, run on onnxruntime; labels and clusters come from the JSON beside each:

- ``dialect/whisper`` (the default): a small head over Whisper base's encoder states
  (`whisper_states.pooled_states`, the ``speech/multi`` card's encoder, about 40 ms a window
  on one CPU core);
- ``dialect/lre``: a CNN on senri's log-mel image (`melspec.log_mel`), no Whisper needed.

Neither is trained on people. On recorded people the CNN alone is at chance (3 % of clips in
the right language cluster, `senri models eval dialect/lre`), so by default Whisper's language
identification (``language_model: speech/multi``, faster-whisper's ``detect_language`` on the
span's first 30 s) decides the language and the classifier only the dialect within it
(`fuse`): P(label) = P_whisper(language of label), renormalised over the languages the
classifier covers, × P_classifier(label), renormalised within that language's labels.
``language_model: none`` keeps the classifier alone (about 1 s less per span on one core).

Events: ``kind="dialect"``, ``label`` = the dialect (an espeak-ng voice name such as
``en-gb-scotland``), `confidence` = its probability, `time`/`end_time` = the span, and
attributes ``cluster`` (the label's language cluster), ``cluster_confidence`` (the summed
probability of that cluster), ``top5`` (``"en-gb:0.61;en-us:0.20;..."``), ``windows``,
``model``, and with a language model ``language`` (Whisper's most likely language among the
covered ones, a Whisper code such as ``en`` or ``zh``) and ``language_confidence`` (its
renormalised probability).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Container, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.engine.operator import Device, Emits, register
from senri.models.registry import ModelName, OptionalModelName
from senri.operators.gated import SpanAudio, VadGated
from senri.operators.melspec import log_mel
from senri.records import Event

MIN_FRAMES = 16  # the CNN downsamples time 16-fold

WHISPER_CODES: dict[str, tuple[str, ...]] = {"cmn": ("zh",), "yue": ("yue", "zh"), "hak": ("zh",)}
"""Whisper's language for labels whose espeak-ng prefix is not a Whisper code, best first
(Whisper base has no ``yue`` token, so Cantonese is scored as ``zh``; large-v3 has one)."""


def whisper_language(label: str, scored: Container[str]) -> str:
    """The Whisper language of dialect `label`: the first of its codes that Whisper `scored`,
    else its espeak-ng prefix (``en-gb-scotland`` → ``en``, ``vi-vn-x-south`` → ``vi``)."""
    codes = WHISPER_CODES.get(label, (label.split("-")[0],))
    return next((c for c in codes if c in scored), codes[-1])


def fuse(
    cnn: npt.NDArray[np.floating[Any]], languages: Sequence[str], whisper: Mapping[str, float]
) -> tuple[npt.NDArray[np.float32], dict[str, float]]:
    """Dialect probabilities from Whisper's language and the classifier's dialect within it.

    `cnn` is the classifier's probabilities (the CNN's or the head's); `languages[i]` is label
    i's Whisper language. P(label i) = P_whisper(languages[i]), renormalised over the distinct
    `languages`, × cnn[i] / (the classifier's sum over that language's labels). Returns them
    and the renormalised language distribution. A language Whisper did not score counts as 0;
    if it gives every covered language 0, the classifier's own language sums stand in (so the
    result is the classifier's).

    >>> whisper = {"en": 0.375, "fr": 0.125, "de": 0.5}
    >>> probs, langs = fuse(np.array([0.125, 0.375, 0.5]), ["en", "en", "fr"], whisper)
    >>> probs.tolist(), langs
    ([0.1875, 0.5625, 0.25], {'en': 0.75, 'fr': 0.25})
    """
    covered = list(dict.fromkeys(languages))
    index = np.array([covered.index(lang) for lang in languages])
    p_cnn = np.clip(np.asarray(cnn, np.float64), 0.0, None)
    within = np.bincount(index, weights=p_cnn, minlength=len(covered))
    p_lang = np.array([max(float(whisper.get(lang, 0.0)), 0.0) for lang in covered])
    if p_lang.sum() <= 0.0:
        p_lang = within
    p_lang = p_lang / p_lang.sum()
    count = np.bincount(index, minlength=len(covered))
    share = np.where(
        within[index] > 0.0, p_cnn / np.maximum(within[index], 1e-300), 1.0 / count[index]
    )
    fused = (p_lang[index] * share).astype(np.float32)
    return fused, {lang: float(p) for lang, p in zip(covered, p_lang, strict=True)}


def windows(mel: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.float32]:
    """[W, size, ...] half-overlapping windows along the first axis of `mel` (log-mel frames or
    samples) covering it; one, shorter, if it is short."""
    if len(mel) <= size:
        return mel[None]
    starts = list(range(0, len(mel) - size + 1, size // 2))
    if starts[-1] + size < len(mel):
        starts.append(len(mel) - size)  # the tail, aligned to the end
    return np.stack([mel[s : s + size] for s in starts])


@register
class DialectId(VadGated):
    """The dialect (and language cluster) of each speech span in 16 kHz audio streams.

    `model` is the classifier: ``dialect/whisper`` (default; a head over Whisper base's encoder
    states, which loads the encoder its card names) or ``dialect/lre`` (a log-mel CNN).
    `language_model` (default ``speech/multi``, Whisper base) decides each span's language and
    the classifier the dialect within it: both are trained on synthetic espeak-ng speech only,
    and Whisper names real voices' language far better. ``none`` (or null) runs the classifier
    alone, about 1 s less per span on one CPU core.

    >>> op = DialectId()  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.dialect"
    emits = (Emits("dialect", "audio", "accents"),)
    kind = "dialect"

    def __init__(
        self,
        model: ModelName = "dialect/whisper",
        language_model: OptionalModelName = "speech/multi",
        vad_threshold: float = 0.5,
        min_duration: float = 0.5,
        merge_gap: float = 0.5,
        pad: float = 0.1,
        max_span: float = 20.0,
        threads: int = 1,
        vad_model: ModelName = "vad/silero",
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
        off = language_model is None or language_model.lower() == "none"
        self.language_model = None if off else language_model
        self.threads = threads
        self._session: Any = None
        self._whisper: Any = None
        self._encoder: Any = None
        self._labels: tuple[str, ...] = ()
        self._clusters: tuple[str, ...] = ()
        self._window = 248

    def setup(self, device: Device) -> None:
        if self._session is not None:
            return
        self.setup_vad(device)
        from senri.models import onnx, registry

        path = registry.resolve(self.model, fetch_missing=False)
        meta = load_metadata(path)
        self._labels = tuple(meta["labels"])
        self._clusters = tuple(meta["clusters"][label] for label in self._labels)
        features = meta["features"]
        encoder = features.get("encoder")
        self._window = int(features["window_samples" if encoder else "window_frames"])
        if self.language_model is not None:
            from senri.operators.stt import load_whisper

            whisper = load_whisper(
                self.language_model, device, self.threads, "audio.dialect's language_model"
            )
            if not whisper.model.is_multilingual:
                raise ValueError(
                    f"audio.dialect: language_model {self.language_model!r} is an English-only "
                    "Whisper and cannot tell languages apart; use speech/multi, or none"
                )
            self._whisper = whisper
        if encoder:
            from senri.operators.stt import load_whisper

            self._encoder = (
                self._whisper
                if encoder == self.language_model
                else load_whisper(encoder, device, self.threads, f"audio.dialect's {self.model}")
            )
        self._session = onnx.load(self.model, device, self.threads)

    def classify(self, samples: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], int]:
        """Class probabilities of 16 kHz `samples` (fused with Whisper's language when there
        is a language model; the classifier's averaged over windows otherwise), and the
        number of windows."""
        probs, count, _ = self.identify(samples)
        return probs, count

    def identify(
        self, samples: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], int, dict[str, float] | None]:
        """`classify`'s answer and the covered languages' renormalised Whisper probabilities
        (None without a language model)."""
        if self._session is None:
            raise RuntimeError("audio.dialect used before setup()")
        if self._encoder is not None:
            from senri.operators.whisper_states import pooled_states

            clips = windows(samples, self._window)
            states = pooled_states(self._encoder, list(clips))
            logits = self._session.run(None, {"states": states})[0].astype(np.float64)
        else:
            mel = windows(log_mel(samples), self._window)
            logits = self._session.run(None, {"logmel": mel})[0].astype(np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        alone = probs.mean(axis=0).astype(np.float32)
        if self._whisper is None:
            return alone, len(logits), None
        _, _, scored = self._whisper.detect_language(samples)
        whisper = {str(lang): float(p) for lang, p in scored}
        languages = [whisper_language(label, whisper) for label in self._labels]
        fused, by_language = fuse(alone, languages, whisper)
        return fused, len(logits), by_language

    def ready(self) -> bool:
        return self._session is not None

    def teardown(self) -> None:
        """Release the models now: CTranslate2 aborts if it is destroyed at interpreter exit."""
        self._whisper = None
        self._encoder = None
        self._session = None
        super().teardown()
        gc.collect()

    def on_span(
        self, stream_id: str, stream: SpanAudio, start: float, end: float, cut: bool
    ) -> list[Event]:
        _, clip = stream.cut(start - self.pad, end + self.pad)
        stream.done_until = max(stream.done_until, end)
        if len(clip) < 400 + 160 * (MIN_FRAMES - 1):
            return []
        probs, count, by_language = self.identify(clip)
        order = np.argsort(-probs, kind="stable")
        best = int(order[0])
        cluster = self._clusters[best]
        in_cluster = sum(
            float(p) for p, c in zip(probs, self._clusters, strict=True) if c == cluster
        )
        top5 = ";".join(f"{self._labels[i]}:{probs[i]:.2f}" for i in order[:5])
        attributes: dict[str, Any] = {
            "cluster": cluster,
            "cluster_confidence": round(in_cluster, 3),
            "top5": top5,
            "windows": count,
            "model": self.model,
        }
        if by_language is not None:
            language = max(by_language, key=lambda lang: by_language[lang])
            attributes["language"] = language
            attributes["language_confidence"] = round(by_language[language], 3)
        return [
            Event(
                id=Event.make_id(stream_id, self.kind, round(start * 1000)),
                stream_id=stream_id,
                time=stream.origin + start,
                end_time=stream.origin + end,
                kind=self.kind,
                label=self._labels[best],
                confidence=round(float(probs[best]), 3),
                attributes=attributes,
            )
        ]


def load_metadata(weights: Path) -> dict[str, Any]:
    """The labels/clusters/feature JSON of a dialect model: beside the weights, same stem."""
    path = weights.with_suffix(".json")
    if not path.is_file():
        from senri.errors import ModelUnavailableError

        raise ModelUnavailableError(
            f"the dialect model {weights} needs its metadata file {path.name} beside it "
            "(labels, clusters and feature parameters; written by "
            "`python -m senri.models.training.dialect` or `...dialect_whisper`)"
        )
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta
