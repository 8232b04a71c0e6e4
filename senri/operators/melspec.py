"""YAMNet's log-mel front end in numpy, streaming across chunks.

YAMNet (and the quantised copy senri runs, registry name ``sounds/audioset``) was trained on
log-mel patches computed as in its TensorFlow reference: 16 kHz audio, 25 ms periodic-Hann
frames every 10 ms, 512-point FFT magnitude, 64 HTK mel bands over 125-7500 Hz (weights as
`tf.signal.linear_to_mel_weight_matrix`, DC bin excluded), ``log(mel + 0.001)``, 96-frame
(0.96 s) patches. The quantised model's input range (zero point at log(0.001)) confirms the
offset. Reproducing it exactly matters more than any "better" spectrogram would.

    >>> patcher = LogMelPatcher(hop_frames=48)
    >>> patches = patcher.push(np.zeros(16000, np.float32))  # [Patch(start, mel, level_db)...]
"""

from __future__ import annotations

import base64
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
FFT = 512
BANDS = 64
PATCH_FRAMES = 96
LOG_OFFSET = 0.001

Array = npt.NDArray[np.float32]


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1127.0 * np.log1p(hz / 700.0)


def mel_matrix(
    bands: int = BANDS, fmin: float = 125.0, fmax: float = 7500.0
) -> npt.NDArray[np.float64]:
    """[FFT // 2 + 1, bands] triangular weights, as TensorFlow's linear_to_mel_weight_matrix."""
    bins = FFT // 2 + 1
    freqs = np.linspace(0.0, SAMPLE_RATE / 2, bins)[1:]
    mel = _hz_to_mel(freqs)[:, None]
    edges = np.linspace(
        _hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), bands + 2, dtype=np.float64
    )
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (mel - lower) / (center - lower)
    falling = (upper - mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, bands)), weights])


_WINDOW_FN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)).astype(np.float32)
_MEL = mel_matrix().astype(np.float32)


def _frames(samples: Array) -> Array:
    count = 0 if len(samples) < WINDOW else 1 + (len(samples) - WINDOW) // HOP
    if count == 0:
        return np.zeros((0, WINDOW), np.float32)
    return np.lib.stride_tricks.sliding_window_view(samples, WINDOW)[::HOP][:count]


def _log_mel(frames: Array) -> Array:
    if len(frames) == 0:
        return np.zeros((0, BANDS), np.float32)
    spectrum = np.abs(np.fft.rfft(frames * _WINDOW_FN, n=FFT, axis=1)).astype(np.float32)
    return np.log(spectrum @ _MEL + LOG_OFFSET).astype(np.float32)


def log_mel(samples: Array) -> Array:
    """[frames, 64] log-mel rows of every complete 25 ms frame in `samples` (10 ms apart)."""
    return _log_mel(_frames(samples))


def frame_level_db(frames: Array) -> Array:
    """Each frame's RMS level in dBFS (floored at -120)."""
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)) if len(frames) else []
    return (20 * np.log10(np.maximum(rms, 1e-6))).astype(np.float32)


def encode(array: npt.NDArray[Any]) -> dict[str, Any]:
    """A float32 array as JSON-able data (base64 bytes and shape), for snapshots."""
    data = np.ascontiguousarray(array, np.float32)
    return {"shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode()}


def decode(saved: dict[str, Any]) -> Array:
    raw = np.frombuffer(base64.b64decode(saved["data"]), np.float32)
    return raw.reshape(saved["shape"]).copy()


class Patch(NamedTuple):
    """A [96, 64] log-mel patch and where it lies, in samples from the stream's start.

    `level_db` is its loudest frame's level (to skip near-silent patches without running a
    model); `loud_from`..`loud_to` spans its frames within `LOUD_RANGE_DB` of that level, which
    places a sound inside the 0.96 s patch more tightly than the patch itself does.
    """

    start: int
    mel: Array
    level_db: float
    loud_from: int
    loud_to: int


LOUD_RANGE_DB = 20.0


def _patch(start_frame: int, mel: Array, levels: Array) -> Patch:
    peak = float(levels.max())
    loud = np.flatnonzero(levels >= peak - LOUD_RANGE_DB)
    first, last = (start_frame + int(loud[0]), start_frame + int(loud[-1]))
    return Patch(start_frame * HOP, mel, peak, first * HOP, last * HOP + WINDOW)


class LogMelPatcher:
    """Per-stream state: push samples in any sizes, get every complete patch exactly once.

    Frames and patches are numbered from the stream's first sample, so chunk boundaries do not
    change the result: pushing a clip whole or in 0.3 s pieces gives the same patches.
    """

    def __init__(self, hop_frames: int = 48) -> None:
        if not 1 <= hop_frames <= PATCH_FRAMES:
            raise ValueError(f"hop_frames must be in 1..{PATCH_FRAMES}; got {hop_frames}")
        self.hop_frames = hop_frames
        self._samples = np.zeros(0, np.float32)
        self._consumed = 0  # samples dropped from the front of _samples so far
        self._rows = np.zeros((0, BANDS), np.float32)
        self._levels = np.zeros(0, np.float32)
        self._first_row = 0  # frame index of _rows[0]
        self._next_patch = 0  # frame index where the next patch starts
        self._covered = 0  # frame index after the last patch emitted

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state: the samples and frames not yet in a patch, and the counters."""
        return {
            "hop_frames": self.hop_frames,
            "samples": encode(self._samples),
            "consumed": self._consumed,
            "rows": encode(self._rows),
            "levels": encode(self._levels),
            "first_row": self._first_row,
            "next_patch": self._next_patch,
            "covered": self._covered,
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> LogMelPatcher:
        patcher = cls(int(state["hop_frames"]))
        patcher._samples = decode(state["samples"])
        patcher._consumed = int(state["consumed"])
        patcher._rows = decode(state["rows"])
        patcher._levels = decode(state["levels"])
        patcher._first_row = int(state["first_row"])
        patcher._next_patch = int(state["next_patch"])
        patcher._covered = int(state["covered"])
        return patcher

    def push(self, samples: Array) -> list[Patch]:
        """The patches that `samples` complete, in order."""
        data = np.concatenate([self._samples, samples.astype(np.float32, copy=False)])
        frames = _frames(data)
        rows = _log_mel(frames)
        self._levels = np.concatenate([self._levels, frame_level_db(frames)])
        # Keep the samples from the first frame not computed yet.
        drop = len(rows) * HOP
        self._samples = data[drop:]
        self._consumed += drop
        self._rows = np.concatenate([self._rows, rows])
        out: list[Patch] = []
        while self._next_patch + PATCH_FRAMES <= self._first_row + len(self._rows):
            i = self._next_patch - self._first_row
            mel = self._rows[i : i + PATCH_FRAMES].copy()
            out.append(_patch(self._next_patch, mel, self._levels[i : i + PATCH_FRAMES]))
            self._covered = self._next_patch + PATCH_FRAMES
            self._next_patch += self.hop_frames
        keep = self._next_patch - self._first_row
        if keep > 0:
            self._rows = self._rows[keep:]
            self._levels = self._levels[keep:]
            self._first_row += keep
        return out

    def flush(self) -> list[Patch]:
        """At end of input: one last patch padded with silence, if frames remain unpatched."""
        tail = self._rows[self._next_patch - self._first_row :]
        if self._first_row + len(self._rows) <= self._covered or len(tail) == 0:
            return []
        pad = np.full((PATCH_FRAMES - len(tail), BANDS), np.log(LOG_OFFSET), np.float32)
        patch = _patch(
            self._next_patch,
            np.vstack([tail, pad]),
            self._levels[self._next_patch - self._first_row :],
        )
        self._covered = self._first_row + len(self._rows)
        self._next_patch += self.hop_frames
        self._rows = np.zeros((0, BANDS), np.float32)
        self._levels = np.zeros(0, np.float32)
        self._first_row = self._next_patch
        return [patch]
