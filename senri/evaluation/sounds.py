"""Urban sound recognition (`audio.sounds`, urban labels only): synthetic and recorded sets.

`senri models eval sounds/audioset` prints both, side by side, with a confusion matrix:

- **synthetic**: sirens (wail, yelp, two-tone "nee-naw") and horns of varied pitch and speed,
  and sounds that must not be called anything (beeps, loud noise, hiss at -50 dBFS, speech,
  silence). It shows the mapping works and catches regressions.
- **recorded**: real recordings from Debian packages (`senri.evaluation.packaged`): dog barks,
  car horns, sirens, gunfire, a jackhammer, idling engines, instruments, and household,
  weather, crowd and animal sounds that are none of the urban classes.

A clip's answer is the urban label whose events cover most of it, or ``none``; a clip with
more than one label also counts its other labels as *false events*, the events an archive
would later count ("1 car horn" where there was none). Apart from both, the named files of
Debian's sound-theme-freedesktop check YAMNet's own AudioSet classes (`evaluate_sound_files`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.evaluation import packaged
from senri.evaluation.audio import SR, as_stream, espeak, one_node_graph, stream_events
from senri.evaluation.recorded import MissingSetError
from senri.records import AudioChunk, Event

URBAN = ("siren", "car_horn", "dog_bark", "gun_shot", "jackhammer")


def _tone_sweep(
    seconds: float, centre: float, depth: float, rate: float
) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(centre + depth * np.sin(2 * np.pi * rate * t)) / SR
    return np.sin(phase) + 0.2 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)


def _two_tone(seconds: float, low: float, high: float, period: float) -> npt.NDArray[np.float64]:
    """A European "nee-naw": `low` and `high` Hz alternating every `period` / 2 seconds."""
    t = np.arange(round(seconds * SR)) / SR
    freq = np.where((t % period) < period / 2, low, high)
    phase = 2 * np.pi * np.cumsum(freq) / SR
    return np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)


def _horn(seconds: float, low: float) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * SR)) / SR
    wave = sum(np.sin(2 * np.pi * k * f * t) / k for f in (low, low * 1.26) for k in range(1, 20))
    return np.asarray(wave, dtype=np.float64)


def _beeps(seconds: float, freq: float) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * SR)) / SR
    return np.sin(2 * np.pi * freq * t) * ((t % 0.3) < 0.15)


def _noise(seconds: float, seed: int) -> npt.NDArray[np.float64]:
    return np.random.default_rng(seed).normal(0.0, 1.0, round(seconds * SR))


def synthetic_clips() -> Iterator[tuple[str, str, npt.NDArray[np.float32]]]:
    """(expected urban label or "none", description, clip) of the synthetic sound set."""
    waves: list[tuple[str, str, npt.NDArray[np.float64], float]] = []
    for centre, depth, rate in ((1150, 450, 0.2), (1000, 350, 0.25), (1300, 500, 0.15)):
        wave = _tone_sweep(3.0, centre, depth, rate)
        waves.append(("siren", f"wail {centre}±{depth} Hz at {rate} Hz", wave, 0.3))
    for centre, depth, rate in ((1100, 400, 3.0), (1200, 500, 4.0)):
        wave = _tone_sweep(3.0, centre, depth, rate)
        waves.append(("siren", f"yelp {centre}±{depth} Hz at {rate} Hz", wave, 0.3))
    for low, high, period in ((440.0, 587.0, 1.2), (660.0, 880.0, 1.0), (392.0, 523.0, 1.4)):
        wave = _two_tone(3.6, low, high, period)
        waves.append(("siren", f"two-tone {low:.0f}/{high:.0f} Hz every {period} s", wave, 0.3))
    for low in (330.0, 350.0, 370.0, 400.0):
        waves.append(("car_horn", f"two-tone horn from {low:.0f} Hz", _horn(2.0, low), 0.3))
    for freq in (800.0, 1200.0):
        waves.append(("none", f"beeps at {freq:.0f} Hz", _beeps(2.0, freq), 0.3))
    waves.append(("none", "white noise", _noise(2.0, 1), 0.3))
    waves.append(("none", "hiss at -50 dBFS", _noise(3.0, 2), 10 ** (-50 / 20) * 4))
    waves.append(("none", "silence", np.zeros(2 * SR), 0.0))
    for label, description, wave, peak_to in waves:
        peak = float(np.abs(wave).max()) or 1.0
        yield label, description, (peak_to * wave / peak).astype(np.float32)
    yield "none", "speech", espeak("the lights in the garage are off", "en-us", 160)


@dataclass
class SoundScore:
    """Per clip: the label expected and the one heard; confusions; false events."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    """(clip, expected, heard)"""
    false_events: list[tuple[str, str, float]] = field(default_factory=list)
    """(clip, label, seconds): urban events a clip should not have raised."""

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def correct(self) -> int:
        return sum(expected == heard for _, expected, heard in self.rows)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.total, 1)

    @property
    def confusions(self) -> list[tuple[str, str, str]]:
        return [row for row in self.rows if row[1] != row[2]]

    def add(self, name: str, expected: str, events: list[Event]) -> None:
        """Score one clip from its urban events."""
        cover: dict[str, float] = {}
        for e in events:
            cover[e.label] = cover.get(e.label, 0.0) + (e.end_time or e.time) - e.time
        heard = max(cover, key=lambda k: (cover[k], k)) if cover else "none"
        self.rows.append((name, expected, heard))
        for label, seconds in sorted(cover.items()):
            if label != expected:
                self.false_events.append((name, label, round(seconds, 2)))


def _score(model: str, clips: Iterator[tuple[str, str, npt.NDArray[np.float32]]]) -> SoundScore:
    op = one_node_graph("audio.sounds", model=model, urban_only=True)
    score = SoundScore()
    try:
        for expected, name, clip in clips:
            score.add(name, expected, stream_events(op, as_stream(clip, name)))
    finally:
        op.close()
    return score


def evaluate_sounds(model: str = "sounds/audioset") -> SoundScore:
    """`audio.sounds` (urban labels only) on the synthetic set."""
    return _score(model, synthetic_clips())


def evaluate_recorded_sounds(
    model: str = "sounds/audioset", clips: list[packaged.Labelled] | None = None
) -> SoundScore:
    """`audio.sounds` (urban labels only) on the recorded set of `senri.evaluation.packaged`."""
    found = packaged.sound_clips() if clips is None else clips
    return _score(model, ((c.label, f"{c.source}/{c.name}", c.audio) for c in found))


def confusion_lines(score: SoundScore) -> list[str]:
    """A confusion matrix as text: rows are the expected labels, columns what was heard."""
    expected = sorted({e for _, e, _ in score.rows}, key=lambda k: (k == "none", k))
    heard = sorted({h for _, _, h in score.rows} | set(expected), key=lambda k: (k == "none", k))
    width = max(len(h) for h in heard) + 1
    lines = [f"{'expected / heard':<16}" + "".join(f"{h:>{width}}" for h in heard)]
    cells = Counter((e, h) for _, e, h in score.rows)
    for e in expected:
        lines.append(f"{e:<16}" + "".join(f"{cells[(e, h)] or '.':>{width}}" for h in heard))
    return lines


FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
"""Debian package sound-theme-freedesktop 0.8 (files under GPL-2, GPL-2+, CC-BY-3.0 or CC-BY-SA-3.0,
as its copyright file lists them)."""
FREEDESKTOP_LABELS = {
    "alarm-clock-elapsed.oga": ("Alarm clock", "Alarm"),
    "phone-incoming-call.oga": ("Telephone bell ringing", "Ringtone", "Telephone"),
    "phone-outgoing-calling.oga": ("Telephone", "Dial tone"),
    "complete.oga": ("Ding", "Chime", "Bell"),
    "trash-empty.oga": ("Crumpling, crinkling",),
}
"""Files of that theme whose names say what they are, and the AudioSet classes that fit."""


@dataclass
class LabelledFileScore:
    """Labelled sound files: the expected AudioSet class among the top 5, and no urban label."""

    rows: list[tuple[str, str, bool, str]] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return sum(ok for _, _, ok, _ in self.rows)


def evaluate_sound_files(
    model: str = "sounds/audioset", folder: Path = FREEDESKTOP
) -> LabelledFileScore:
    """YAMNet's top-5 AudioSet classes on the named files of the freedesktop sound theme."""
    from senri.connectors import open_source

    score = LabelledFileScore()
    if not folder.is_dir():
        return score
    for name, expected in FREEDESKTOP_LABELS.items():
        op = one_node_graph("audio.sounds", model=model)
        chunks = [
            c for c in open_source({"audio": str(folder / name)}, name) if isinstance(c, AudioChunk)
        ]
        events = stream_events(op, chunks)
        top5 = [str(e.attributes.get("audioset", "")).split(";")[:5] for e in events]
        heard = {label for labels in top5 for label in labels}
        urban = {e.label for e in events} & set(URBAN)
        ok = bool(heard & set(expected)) and not urban
        score.rows.append((name, expected[0], ok, "; ".join(top5[0]) if top5 else "nothing"))
    return score


def report(model: str, emit: Callable[[str], Any]) -> None:
    """The synthetic and recorded sets side by side, their confusion matrices and misses."""
    rows: list[tuple[str, SoundScore | None, str]] = [
        ("synthetic", evaluate_sounds(model), "generated sirens, horns, beeps, noise, speech")
    ]
    try:
        clips = packaged.sound_clips()
        minutes = sum(c.seconds for c in clips) / 60
        score = evaluate_recorded_sounds(model, clips)
        rows.append(("recorded", score, f"Debian packages, {minutes:.1f} min"))
    except MissingSetError as exc:
        rows.append(("recorded", None, f"not measured: {exc}"))
    emit(f"{model}: urban label per clip (urban labels only; 'none' when no class fits)")
    emit(f"  {'set':<10} {'clips':>5} {'right':>6} {'accuracy':>8} {'false events':>12}  source")
    for name, scored, source in rows:
        if scored is None:
            emit(f"  {name:<10} {'-':>5} {'-':>6} {'-':>8} {'-':>12}  {source}")
            continue
        emit(
            f"  {name:<10} {scored.total:>5} {scored.correct:>6} {scored.accuracy:>8.0%} "
            f"{len(scored.false_events):>12}  {source}"
        )
    for name, scored, _ in rows:
        if scored is None:
            continue
        emit(f"  {name}:")
        for line in confusion_lines(scored):
            emit(f"    {line}")
        for clip, expected, heard in scored.confusions:
            emit(f"    ✗ {clip}: expected {expected}, heard {heard}")
        for clip, label, seconds in scored.false_events:
            emit(f"    false event in {clip}: {label} for {seconds:.1f} s")
    files = evaluate_sound_files(model)
    if files.rows:
        emit(
            f"{model}: expected AudioSet class in the top 5 for {files.hits}/{len(files.rows)} "
            f"labelled files of Debian's sound-theme-freedesktop ({FREEDESKTOP})"
        )
        for name, expected, ok, heard in files.rows:
            emit(f"  {'✓' if ok else '✗'} {name}: want {expected}; heard {heard}")
    else:
        emit(f"  (install Debian's sound-theme-freedesktop for {FREEDESKTOP} files)")
