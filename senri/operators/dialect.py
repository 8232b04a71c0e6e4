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
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.engine.operator import Device, Emits, register
from senri.models.registry import ModelName
from senri.operators.gated import SpanAudio, VadGated
from senri.operators.melspec import log_mel
from senri.records import Event

MIN_FRAMES = 16  # the CNN downsamples time 16-fold


def windows(mel: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.float32]:
    """[W, size, 64] half-overlapping windows covering `mel` (one, shorter, if it is short)."""
    if len(mel) <= size:
        return mel[None]
    starts = list(range(0, len(mel) - size + 1, size // 2))
    if starts[-1] + size < len(mel):
        starts.append(len(mel) - size)  # the tail, aligned to the end
    return np.stack([mel[s : s + size] for s in starts])


@register
class DialectId(VadGated):
    """The dialect (and language cluster) of each speech span in 16 kHz audio streams.

    >>> op = DialectId()  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.dialect"
    emits = (Emits("dialect", "audio", "accents"),)
    kind = "dialect"

    def __init__(
        self,
        model: ModelName = "dialect/lre",
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
        self.threads = threads
        self._session: Any = None
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
        self._window = int(meta["features"]["window_frames"])
        self._session = onnx.load(self.model, device, self.threads)

    def classify(self, samples: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], int]:
        """Averaged class probabilities of 16 kHz `samples`, and how many windows they took."""
        if self._session is None:
            raise RuntimeError("audio.dialect used before setup()")
        mel = windows(log_mel(samples), self._window)
        logits = self._session.run(None, {"logmel": mel})[0].astype(np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return probs.mean(axis=0).astype(np.float32), len(mel)

    def ready(self) -> bool:
        return self._session is not None

    def on_span(
        self, stream_id: str, stream: SpanAudio, start: float, end: float, cut: bool
    ) -> list[Event]:
        _, clip = stream.cut(start - self.pad, end + self.pad)
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
