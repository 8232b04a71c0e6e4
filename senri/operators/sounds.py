"""Urban sound events (`audio.sounds`): YAMNet over log-mel patches, spans per label.

YAMNet (registry name ``sounds/audioset``; quantised w8a8 ONNX, batch 1) scores each 0.96 s
patch, every ``hop_frames`` * 10 ms, against the 521 AudioSet classes. The scores are folded
onto the UrbanSound8K taxonomy with `URBAN_CLASSES` (a label scores the maximum of its AudioSet
classes); a patch with no urban label above `threshold` falls back to its best AudioSet class
above `other_threshold` (unless `urban_only`), and a patch quieter than `min_level_db` is not
classified at all. Beside YAMNet, a two-tone cue (`senri.operators.siren`, ``two_tone``)
calls a siren where the last 3.2 s alternate between two tones, a pattern YAMNet hears as a
telephone or a synthesiser. Consecutive patches with the same label form one span, bridged
over gaps up to `merge_gap`; the event is emitted when the span closes, or at end of input,
with the span's mean top AudioSet classes as attributes. Patches and spans are counted from
the stream's first sample, so how the audio is cut into chunks does not change the events.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.engine.operator import BatchPolicy, Device, Emits, Operator, register
from senri.errors import MissingDependencyError
from senri.models.registry import ModelName
from senri.operators.melspec import (
    HOP,
    PATCH_FRAMES,
    SAMPLE_RATE,
    LogMelPatcher,
    Patch,
    decode,
    encode,
)
from senri.operators.siren import TwoToneCue
from senri.operators.spans import Span, SpanTracker
from senri.records import AudioChunk, Event, EventBatch

URBAN_CLASSES: dict[str, tuple[str, ...]] = {
    "air_conditioner": ("Air conditioning", "Mechanical fan"),
    "car_horn": ("Vehicle horn, car horn, honking", "Air horn, truck horn", "Toot"),
    "children_playing": ("Children playing", "Children shouting", "Child speech, kid speaking"),
    "dog_bark": ("Bark", "Dog", "Yip", "Bow-wow", "Howl", "Growling"),
    "drilling": ("Drill", "Power tool", "Dental drill, dentist's drill"),
    "engine_idling": (
        "Idling",
        "Engine",
        "Light engine (high frequency)",
        "Medium engine (mid frequency)",
        "Heavy engine (low frequency)",
    ),
    "gun_shot": ("Gunshot, gunfire", "Machine gun", "Fusillade", "Cap gun", "Artillery fire"),
    "jackhammer": ("Jackhammer",),
    "siren": (
        "Siren",
        "Civil defense siren",
        "Police car (siren)",
        "Ambulance (siren)",
        "Fire engine, fire truck (siren)",
        "Emergency vehicle",
    ),
    "street_music": ("Music", "Musical instrument"),
}
"""UrbanSound8K label → the AudioSet display names (yamnet_class_map.csv) that count as it."""

CUE_SCORE = 0.9
"""The siren score a fully clear two-tone cue stands for (it scales with the share of the
cue's tonal frames on its two levels, 0.85 to 1)."""

NOT_EVENTS: tuple[str, ...] = (
    "Silence",
    "Speech",
    "Noise",
    "White noise",
    "Pink noise",
    "Static",
    "Hiss",
    "Hum",
    "Environmental noise",
    "Wind noise (microphone)",
)
"""AudioSet classes that never open a span of their own: silence, speech (`audio.vad` and
`audio.speech` cover it) and a microphone's noise floor. Hiss at -50 dBFS scored "White
noise" 0.82 and made events an archive then counted."""

Probs = npt.NDArray[np.float32]


class AudioSetModel:
    """The quantised YAMNet session with its class names and quantisation parameters."""

    def __init__(self, name: str, device: Device) -> None:
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError:
            raise MissingDependencyError(
                "onnx", "audio.sounds (reading the model's quantisation)", "audio"
            ) from None

        from senri.models import onnx as runtime
        from senri.models.registry import resolve

        folder = resolve(name)
        graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
        q = {
            i.name: float(numpy_helper.to_array(i))
            for i in graph.initializer
            if i.name
            in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")
        }
        self.in_scale, self.in_zero = q["audio_scale"], q["audio_zero_point"]
        self.out_scale, self.out_zero = q["class_scores_scale"], q["class_scores_zero_point"]
        self.session = runtime.load(name, device, file="model.onnx", integer_kernels=False)
        with (folder / "yamnet_class_map.csv").open(newline="") as fh:
            self.names = [row["display_name"] for row in csv.DictReader(fh)]
        self.index = {n: i for i, n in enumerate(self.names)}

    def __call__(self, patch: npt.NDArray[np.float32]) -> Probs:
        """Class probabilities (sigmoid of the dequantised logits) of one [96, 64] patch."""
        quant = np.round(patch / self.in_scale + self.in_zero)
        feed = np.clip(quant, 0, 255).astype(np.uint8)[None, None]
        (out,) = self.session.run(None, {"audio": feed})
        logits = self.out_scale * (out[0].astype(np.float32) - self.out_zero)
        return (0.5 + 0.5 * np.tanh(0.5 * logits)).astype(np.float32)  # sigmoid, no overflow


@dataclass
class _Label:
    """One label's span tracker and the AudioSet probabilities summed over its open span."""

    tracker: SpanTracker
    total: Probs | None = None
    patches: int = 0
    two_tone: int = 0


@dataclass
class _Stream:
    """A stream's clock (epoch of pts 0, and the pts of the first sample the patcher saw)."""

    origin: float
    pts0: float
    patcher: LogMelPatcher
    labels: dict[str, _Label] = field(default_factory=dict)
    last_end: int = 0
    cue: TwoToneCue = field(default_factory=TwoToneCue)


@register
class Sounds(Operator[AudioChunk, EventBatch]):
    """Sound events with UrbanSound8K labels (or the top AudioSet class), 16 kHz input.

    >>> op = Sounds(threshold=0.3)  # doctest: +SKIP
    >>> op.setup(Device("cpu")); batches = op.process(chunks) + op.finish()  # doctest: +SKIP
    """

    name = "audio.sounds"
    emits = (Emits("sound", "audio", "sounds"),)
    input_type = AudioChunk
    output_type = EventBatch
    batch = BatchPolicy(max_size=8, max_wait_ms=20)
    kind = "sound"

    def __init__(
        self,
        threshold: float = 0.3,
        other_threshold: float = 0.5,
        min_level_db: float = -50.0,
        min_duration: float = 0.5,
        merge_gap: float = 0.5,
        hop_frames: int = 48,
        top_k: int = 5,
        urban_only: bool = False,
        two_tone: bool = True,
        ignore: tuple[str, ...] = NOT_EVENTS,
        extra_labels: dict[str, tuple[str, ...]] | None = None,
        thresholds: dict[str, float] | None = None,
        model: ModelName = "sounds/audioset",
    ) -> None:
        self.threshold = threshold
        self.other_threshold = other_threshold
        self.min_level_db = min_level_db
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self.hop_frames = hop_frames
        self.top_k = top_k
        self.urban_only = urban_only
        self.two_tone = two_tone
        """Also call a siren where `senri.operators.siren` hears an alternating two-tone
        ("nee-naw") pattern, which YAMNet takes for a telephone or a synthesiser."""
        self.ignore = tuple(ignore)
        self.extra_labels = {k: tuple(v) for k, v in (extra_labels or {}).items()}
        """A site's own labels beside the urban ones, each from AudioSet classes: a loading
        dock's reversing beepers as "beeps". They compete with the urban labels by score."""
        self.thresholds = dict(thresholds or {})
        """Per-label thresholds that replace `threshold` for those labels, for a site that
        calibrates on its own recordings (``{car_horn: 0.6}``). None by default: thresholds
        set on 96 calibration recordings cost two of 33 held-out ones (docs/audio.md)."""
        self.model = model
        self._model: AudioSetModel | None = None
        self._urban: dict[str, npt.NDArray[np.intp]] = {}
        self._ignored = np.zeros(0, np.intp)
        self._streams: dict[str, _Stream] = {}

    def setup(self, device: Device) -> None:
        if self._model is not None:
            return

        self._model = AudioSetModel(self.model, device)
        index = self._model.index
        unknown = sorted({n for names in self.extra_labels.values() for n in names} - set(index))
        if unknown:
            raise ValueError(
                f"audio.sounds extra_labels: {unknown} are not AudioSet classes of "
                f"{self.model}; the names are the display_name column of its "
                "yamnet_class_map.csv (e.g. 'Beep, bleep', 'Dial tone')"
            )
        self._urban = {
            label: np.array([index[n] for n in names if n in index], np.intp)
            for label, names in {**URBAN_CLASSES, **self.extra_labels}.items()
        }
        self._ignored = np.array([index[n] for n in self.ignore if n in index], np.intp)

    def _stream(self, chunk: AudioChunk) -> _Stream:
        stream = self._streams.get(chunk.stream_id)
        if stream is None:
            stream = _Stream(chunk.ts - chunk.pts, chunk.pts, LogMelPatcher(self.hop_frames))
            self._streams[chunk.stream_id] = stream
        return stream

    def _active(self, probs: Probs, cue: float = 0.0) -> dict[str, float]:
        """The label a patch turns on (none, or one), with its score.

        The best urban label wins when it reaches `threshold`; otherwise the best AudioSet class
        not in `ignore`, when it reaches `other_threshold` (and `urban_only` is off). One label
        per patch, as in UrbanSound8K, so a siren's musical overtones do not open a
        street_music span beside it.
        """
        urban = {label: float(probs[idx].max()) for label, idx in self._urban.items() if len(idx)}
        if cue > 0:
            urban["siren"] = max(urban.get("siren", 0.0), CUE_SCORE * cue)
        passed = {k: v for k, v in urban.items() if v >= self.thresholds.get(k, self.threshold)}
        best = max(passed, key=lambda k: passed[k], default=None)
        if best is not None:
            return {best: passed[best]}
        if self.urban_only:
            return {}
        assert self._model is not None
        ranked = probs.copy()
        ranked[self._ignored] = -1.0
        top = int(ranked.argmax())
        if probs[top] >= self.other_threshold:
            return {self._model.names[top]: float(probs[top])}
        return {}

    def _patch(self, stream_id: str, stream: _Stream, patch: Patch) -> list[Event]:
        assert self._model is not None
        hop = self.hop_frames * HOP
        # A patch speaks for the middle `hop` of its 0.96 s (the first one from time 0), narrowed
        # to where it is loud; a sound only in its tail is placed by its loud frames alone.
        margin = (PATCH_FRAMES - self.hop_frames) // 2 * HOP
        middle = (patch.start + margin if patch.start else 0, patch.start + margin + hop)
        start = max(middle[0], patch.loud_from)
        end = min(middle[1], patch.loud_to)
        if start >= end:
            start, end = patch.loud_from, patch.loud_to
        end = max(end, stream.last_end)  # patches overlap: keep span ends in order
        stream.last_end = end
        start_s, end_s = stream.pts0 + start / SAMPLE_RATE, stream.pts0 + end / SAMPLE_RATE
        quiet = patch.level_db < self.min_level_db  # near silence: not worth running the model
        cue = stream.cue.push(patch.start, patch.mel) if self.two_tone else 0.0
        probs = np.zeros(len(self._model.names), np.float32) if quiet else self._model(patch.mel)
        active = {} if quiet else self._active(probs, cue)
        events: list[Event] = []
        for label in set(stream.labels) | set(active):
            state = stream.labels.setdefault(
                label, _Label(SpanTracker(self.min_duration, self.merge_gap))
            )
            previous = state.tracker.open_start
            score = active.get(label, 0.0)
            for span in state.tracker.update(start_s, end_s, label in active, score):
                events.append(self._event(stream_id, stream, label, span, state))
            if previous is not None and state.tracker.open_start != previous:
                state.total, state.patches = None, 0  # that span closed
            if label in active:
                state.total = probs if state.total is None else state.total + probs
                state.patches += 1
                state.two_tone += label == "siren" and CUE_SCORE * cue >= active[label]
            elif state.tracker.open_start is None:
                del stream.labels[label]
        return events

    def _event(
        self, stream_id: str, stream: _Stream, label: str, span: Span, state: _Label
    ) -> Event:
        assert self._model is not None
        attributes: dict[str, str | int | float] = {"duration": round(span.end - span.start, 3)}
        if state.total is not None and state.patches:
            mean = state.total / state.patches
            top = np.argsort(-mean, kind="stable")[: self.top_k]
            attributes["audioset"] = ";".join(self._model.names[i] for i in top)
            attributes["audioset_scores"] = ";".join(f"{mean[i]:.2f}" for i in top)
            attributes["patches"] = state.patches
        if state.two_tone:
            attributes["two_tone_patches"] = state.two_tone
        return Event(
            id=Event.make_id(stream_id, self.kind, label, round(span.start * 1000)),
            stream_id=stream_id,
            time=stream.origin + span.start,
            end_time=stream.origin + span.end,
            kind=self.kind,
            label=label,
            confidence=round(float(span.peak), 3),
            attributes=attributes,
        )

    def snapshot(self, stream_id: str) -> dict[str, Any]:
        """The stream's clock, its front end's unfinished frames and its open spans."""
        stream = self._streams.get(stream_id)
        if stream is None:
            return {}
        return {
            "origin": stream.origin,
            "pts0": stream.pts0,
            "last_end": stream.last_end,
            "patcher": stream.patcher.snapshot(),
            "cue": stream.cue.snapshot(),
            "labels": {
                label: {
                    "span": state.tracker.snapshot(),
                    "total": None if state.total is None else encode(state.total),
                    "patches": state.patches,
                    "two_tone": state.two_tone,
                }
                for label, state in stream.labels.items()
            },
        }

    def restore(self, stream_id: str, state: dict[str, Any]) -> None:
        if not state:
            self._streams.pop(stream_id, None)
            return
        stream = _Stream(
            float(state["origin"]),
            float(state["pts0"]),
            LogMelPatcher.restore(state["patcher"]),
            last_end=int(state["last_end"]),
            cue=TwoToneCue.restore(state.get("cue", {})),
        )
        for label, saved in state["labels"].items():
            stream.labels[label] = _Label(
                SpanTracker(**saved["span"]),
                None if saved["total"] is None else decode(saved["total"]),
                int(saved["patches"]),
                int(saved.get("two_tone", 0)),
            )
        self._streams[stream_id] = stream

    def process(self, items: list[AudioChunk]) -> list[EventBatch]:
        if self._model is None:
            raise RuntimeError("audio.sounds used before setup()")
        for chunk in items:  # refuse the batch before any state changes
            if chunk.sample_rate != SAMPLE_RATE:
                raise ValueError(
                    f"audio.sounds needs {SAMPLE_RATE} Hz audio; {chunk.key} is "
                    f"{chunk.sample_rate} Hz (let the audio source resample it)"
                )
        out = []
        for chunk in items:
            stream = self._stream(chunk)
            events: list[Event] = []
            for patch in stream.patcher.push(chunk.samples):
                events.extend(self._patch(chunk.stream_id, stream, patch))
            out.append(EventBatch(chunk.stream_id, chunk.key, tuple(events)))
        return out

    def finish(self) -> list[EventBatch]:
        out = []
        for stream_id, stream in self._streams.items():
            events: list[Event] = []
            for patch in stream.patcher.flush():
                events.extend(self._patch(stream_id, stream, patch))
            for label, state in sorted(stream.labels.items()):
                for span in state.tracker.close():
                    events.append(self._event(stream_id, stream, label, span, state))
            stream.labels.clear()
            if events:
                out.append(EventBatch(stream_id, f"{stream_id}:end", tuple(events)))
        return out
