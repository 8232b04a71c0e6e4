"""A two-tone ("nee-naw") siren cue from log-mel frames, beside YAMNet in `audio.sounds`.

YAMNet hears a pure two-tone siren (440/587 Hz, each tone about 0.6 s) as a telephone, an
alarm or a synthesiser, never as a siren: the sirens in its training data are mostly wails and
yelps. The pattern itself is plain in the spectrum, and few other sounds share it:

- over at least 2.5 s, most 10 ms frames are *tonal*: one mel band at least `CONTRAST`
  above the band median between 300 and 2,500 Hz;
- the tonal frames sit on **two** levels a ratio of 1.12 to 1.7 apart (a whole tone to a
  fifth), nearly all of them within a band of one or the other;
- the levels **alternate**, each held 0.15 to 1.5 s, at least `MIN_SWITCHES` times in the
  last `WINDOW_FRAMES`, and each time on one steady band (not stepping between notes).

A ringing or busy telephone is one level switched on and off; a doorbell's "ding-dong" does
not repeat; a melody has more than two notes; a wail or yelp sweeps. The cue keeps the last
`WINDOW_FRAMES` frames' peak bands per stream (small, and part of the operator's snapshot).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from senri.operators.melspec import BANDS, HOP, SAMPLE_RATE, mel_matrix

CONTRAST = 1.6
"""Natural-log units of magnitude (about 14 dB) a tonal frame's peak band stands above the
median of the siren range."""
WINDOW_FRAMES = 320
MIN_FRAMES = 250
"""The cue speaks only for 2.5 s of sound or more: a siren lasts, a word does not."""
MIN_SWITCHES = 3
MIN_RUN, MAX_RUN = 15, 150
RATIO = (1.12, 1.7)
ON_LEVELS = 0.85
MIN_TONAL = 0.5


def _band_centres() -> npt.NDArray[np.float64]:
    weights = mel_matrix()
    freqs = np.linspace(0.0, SAMPLE_RATE / 2, weights.shape[0])
    return np.asarray((freqs[:, None] * weights).sum(0) / weights.sum(0), np.float64)


CENTRES = _band_centres()
RANGE = np.flatnonzero((CENTRES >= 300) & (CENTRES <= 2500))


def peak_bands(mel: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    """Per frame of [frames, 64] log-mel: the peak band in the siren range, or -1 if not tonal."""
    band = mel[:, RANGE]
    peak = band.argmax(axis=1)
    contrast = band.max(axis=1) - np.median(band, axis=1)
    return np.where(contrast >= CONTRAST, RANGE[peak], -1).astype(np.int16)


def two_tone(bands: npt.NDArray[np.int16]) -> float:
    """How clearly `bands` (peak band per frame, -1 not tonal) hold an alternating two-tone
    pattern: 0 when they do not, else the share of tonal frames on the two levels."""
    tonal = bands[bands >= 0]
    if len(bands) < MIN_FRAMES or len(tonal) < MIN_TONAL * len(bands):
        return 0.0
    counts = np.bincount(tonal, minlength=BANDS).astype(np.float64)
    near = np.convolve(counts, np.ones(3), mode="same")  # a level and its two neighbours
    a = int(near.argmax())
    others = near.copy()
    others[max(a - 2, 0) : a + 3] = 0
    b = int(others.argmax())
    low, high = sorted((a, b))
    ratio = CENTRES[high] / max(CENTRES[low], 1.0)
    if not RATIO[0] <= ratio <= RATIO[1]:
        return 0.0
    level = np.where(np.abs(tonal - a) <= 1, 0, np.where(np.abs(tonal - b) <= 1, 1, -1))
    on = level >= 0
    if on.mean() < ON_LEVELS or min((level == 0).sum(), (level == 1).sum()) < 0.2 * len(tonal):
        return 0.0
    runs = _runs(level[on])
    inner = runs[1:-1]
    if len(runs) - 1 < MIN_SWITCHES or not all(MIN_RUN <= n <= MAX_RUN for _, n in inner):
        return 0.0
    held = tonal[on]
    if any(len(_sustained(held[start : start + n])) > 1 for start, n in inner):
        return 0.0  # a level that steps between notes: a melody, not a siren's steady tone
    return float(on.mean())


def _runs(levels: npt.NDArray[np.int_]) -> list[tuple[int, int]]:
    """(start, length) of the runs of equal values; a run of 1-2 frames is folded into the
    run before it, so a flicker at a tone change does not count as a switch."""
    runs: list[list[int]] = []
    for i, value in enumerate(levels.tolist()):
        if runs and runs[-1][0] == value:
            runs[-1][2] += 1
        else:
            runs.append([value, i, 1])
    merged: list[list[int]] = []
    for value, start, length in runs:
        if merged and (length <= 2 or merged[-1][0] == value):
            merged[-1][2] += length
        else:
            merged.append([value, start, length])
    return [(start, length) for _, start, length in merged]


def _sustained(bands: npt.NDArray[np.int16], frames: int = 10) -> set[int]:
    """The bands held for at least `frames` frames in a row."""
    held: set[int] = set()
    run = 0
    for i, band in enumerate(bands.tolist()):
        run = run + 1 if i and band == bands[i - 1] else 1
        if run >= frames:
            held.add(band)
    return held


class TwoToneCue:
    """One stream's recent peak bands; `push` a patch, read its two-tone score."""

    def __init__(self, history: list[int] | None = None, next_frame: int = 0) -> None:
        self.history = np.asarray(history or [], np.int16)
        self.next_frame = next_frame

    def push(self, start_sample: int, mel: npt.NDArray[np.float32]) -> float:
        """Add the frames of a patch starting at `start_sample` not seen yet; the score of
        the last `WINDOW_FRAMES` frames."""
        first = start_sample // HOP
        skip = max(self.next_frame - first, 0)
        if skip < len(mel):
            fresh = peak_bands(mel[skip:])
            self.history = np.concatenate([self.history, fresh])[-WINDOW_FRAMES:]
            self.next_frame = first + len(mel)
        return two_tone(self.history)

    def snapshot(self) -> dict[str, Any]:
        return {"history": self.history.tolist(), "next_frame": self.next_frame}

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> TwoToneCue:
        return cls(list(saved.get("history", [])), int(saved.get("next_frame", 0)))
