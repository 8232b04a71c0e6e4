"""The synthetic microphone track: near silence with speech and other sounds at known times.

Speech comes from espeak-ng (deterministic for one espeak-ng version), trimmed to its audible
extent so the ground truth marks where sound really is. The non-speech sounds (siren, car horn,
beep train, noise burst) are generated here. Events never overlap and are separated by at
least `MIN_GAP_S` of a -70 dBFS noise floor, so a loudness threshold finds each one cleanly.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from senri.errors import SenriError

Samples = npt.NDArray[np.float64]

SAMPLE_RATE = 16_000
NOISE_FLOOR_DBFS = -70.0
MIN_GAP_S = 1.0
"""Silence between events (the contract promises at least 0.8 s; keep some slack)."""
EDGE_S = 0.5
"""Silence before the first and after the last event."""
SILENCE_DBFS = -50.0
"""Level under which a sample counts as silence when trimming and measuring gaps."""

PHRASES = (
    "red car on camera one",
    "a person is walking to the door",
    "blue truck leaving the north gate",
    "all clear on camera two",
    "a delivery truck at the loading dock",
    "the green van stopped at the gate",
)


class SpeechSynthError(SenriError):
    """espeak-ng, the sample world's speech synthesiser, is missing or produced no speech."""


@dataclass(frozen=True)
class Clip:
    """A ready-to-place event: samples at SAMPLE_RATE, and its truth kind and text or label."""

    kind: str  # "speech" or "sound"
    name: str  # phrase text or sound label
    samples: Samples


def speak(text: str) -> Samples:
    """espeak-ng's en-us voice at 150 wpm, resampled to 16 kHz and trimmed of silence."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthError(
            "the sample world needs the espeak-ng speech synthesiser: "
            "install the Debian/Ubuntu package 'espeak-ng' (apt-get install espeak-ng)"
        )
    out = subprocess.run(
        [exe, "-v", "en-us", "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    data, rate = sf.read(io.BytesIO(out), dtype="float64", always_2d=True)
    mono = soxr.resample(data[:, 0], rate, SAMPLE_RATE, quality="HQ")
    loud = np.flatnonzero(np.abs(mono) > 10 ** (SILENCE_DBFS / 20))
    if loud.size == 0:
        raise SpeechSynthError(f"espeak-ng produced no audible speech for {text!r}")
    trimmed = mono[loud[0] : loud[-1] + 1]
    return _fade(0.7 * trimmed / float(np.abs(trimmed).max()), 0.003)


def siren(rng: np.random.Generator, seconds: float) -> Samples:
    """A wail: a tone sweeping around 1150 Hz (700..1600) every 5 s, with 2nd and 3rd harmonics.

    Slow and harmonic like a real one, so an AudioSet classifier (YAMNet) calls it a siren.
    """
    t = _time(seconds)
    start = rng.uniform(-0.3, 0.3)
    freq = 1150 + 450 * np.sin(2 * np.pi * 0.2 * t + start)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    return np.sin(phase) + 0.2 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)


def car_horn(rng: np.random.Generator, seconds: float) -> Samples:
    """A two-tone horn: tones a major third apart (~350 and ~441 Hz), harmonics falling as 1/k."""
    t = _time(seconds)
    low = rng.uniform(340, 360)
    wave = sum(np.sin(2 * np.pi * k * f * t) / k for f in (low, low * 1.26) for k in range(1, 20))
    return np.asarray(wave, dtype=np.float64)


def beep_train(rng: np.random.Generator, seconds: float) -> Samples:
    """1 kHz-ish beeps, 150 ms on and 60 ms off (short gaps, so it reads as one event)."""
    t = _time(seconds)
    tone = np.sin(2 * np.pi * rng.uniform(900, 1300) * t)
    on = (t % 0.21) < 0.15
    gate = np.convolve(on.astype(np.float64), np.hanning(49) / np.hanning(49).sum(), "same")
    return tone * gate


def noise_burst(rng: np.random.Generator, seconds: float) -> Samples:
    """White noise band-limited to 400..3000 Hz."""
    n = len(_time(seconds))
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[(freqs < 400) | (freqs > 3000)] = 0
    return np.fft.irfft(spectrum, n)


SOUNDS: dict[str, Callable[[np.random.Generator, float], Samples]] = {
    "siren": siren,
    "car_horn": car_horn,
    "beeps": beep_train,
    "noise_burst": noise_burst,
}


def make_clips(rng: np.random.Generator, duration: float) -> list[Clip]:
    """3-4 phrases and 3-4 sounds, thinned until they fit `duration`, in a seeded order."""
    n_speech, n_sound = (int(rng.integers(3, 5)) for _ in range(2))
    phrases = [str(p) for p in rng.choice(PHRASES, size=n_speech, replace=False)]
    labels = [str(s) for s in rng.choice(list(SOUNDS), size=n_sound, replace=False)]
    speech = [Clip("speech", p, speak(p)) for p in phrases]
    sounds = []
    for label in labels:
        # sirens and horns last long enough for a 0.96 s classifier window to hear them whole
        low, high = (1.5, 2.2) if label in ("siren", "car_horn") else (0.9, 1.6)
        raw = SOUNDS[label](rng, float(rng.uniform(low, high)))
        level = 10 ** (rng.uniform(-12.0, -8.0) / 20)
        scaled = raw * level / float(np.sqrt(np.mean(raw**2)))
        peak = float(np.abs(scaled).max())
        scaled *= min(1.0, 0.9 / peak)  # a noise burst's crest factor could otherwise clip
        sounds.append(Clip("sound", label, _fade(scaled, 0.01)))
    while speech or sounds:
        needed = sum(len(c.samples) for c in speech + sounds) / SAMPLE_RATE
        needed += MIN_GAP_S * (len(speech) + len(sounds) - 1) + 2 * EDGE_S
        if needed <= duration:
            break
        (speech if len(speech) > len(sounds) else sounds).pop()
    clips = speech + sounds
    order = rng.permutation(len(clips))
    return [clips[i] for i in order]


def mix(
    rng: np.random.Generator, clips: list[Clip], duration: float
) -> tuple[npt.NDArray[np.int16], list[dict[str, Any]]]:
    """Place the clips with seeded gaps over the noise floor; PCM16 samples and truth spans."""
    total = round(duration * SAMPLE_RATE)
    track = rng.normal(0.0, 10 ** (NOISE_FLOOR_DBFS / 20), total)
    used = sum(len(c.samples) for c in clips)
    slack = max(0.0, total - used - SAMPLE_RATE * (MIN_GAP_S * max(len(clips) - 1, 0) + 2 * EDGE_S))
    shares = rng.dirichlet(np.ones(len(clips) + 1)) * slack
    spans: list[dict[str, Any]] = []
    at = EDGE_S * SAMPLE_RATE
    for i, clip in enumerate(clips):
        at += shares[i] + (MIN_GAP_S * SAMPLE_RATE if i else 0)
        start = int(at)
        track[start : start + len(clip.samples)] += clip.samples
        key = "text" if clip.kind == "speech" else "label"
        spans.append(
            {
                "kind": clip.kind,
                "start": round(start / SAMPLE_RATE, 4),
                "end": round((start + len(clip.samples)) / SAMPLE_RATE, 4),
                key: clip.name,
                "rms_dbfs": round(_dbfs(clip.samples), 2),
                "max_gap": round(_longest_gap(clip.samples), 3),
            }
        )
        at = start + len(clip.samples)
    pcm = np.clip(np.rint(track * 32767), -32768, 32767).astype(np.int16)
    return pcm, spans


def _time(seconds: float) -> Samples:
    return np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE


def _fade(x: Samples, seconds: float) -> Samples:
    """Raised-cosine fade in and out, so clips start and stop without clicks."""
    n = min(int(seconds * SAMPLE_RATE), len(x) // 2)
    if n == 0:
        return x
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))
    out = x.copy()
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def _dbfs(x: Samples) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(x**2))), 1e-12)))


def _longest_gap(x: Samples, window: float = 0.01) -> float:
    """Longest run (s) of 10 ms windows below SILENCE_DBFS inside a clip: how much to bridge."""
    n = int(window * SAMPLE_RATE)
    frames = x[: len(x) // n * n].reshape(-1, n)
    quiet = np.sqrt(np.mean(frames**2, axis=1)) < 10 ** (SILENCE_DBFS / 20)
    best = run = 0
    for q in quiet.tolist():
        run = run + 1 if q else 0
        best = max(best, run)
    return best * window
