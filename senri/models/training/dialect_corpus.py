"""A small LRE-style corpus of synthetic speech: espeak-ng dialect voices in language clusters.

No dialect-ID data set is reachable offline, so the corpus is generated: 23 espeak-ng voices in 7
language clusters read native-language sentences (`dialect_sentences`), with speaker variants
(``+m1``, ``+f3``...), speaking rate, pitch, gain, a simple reverberation (an exponentially
decaying noise impulse response) and additive noise, all drawn from fixed seeds. Every clip is
`CLIP_SECONDS` long at 16 kHz and becomes a [frames, 64] log-mel "image" through senri's own
front end (`senri.operators.melspec.log_mel`), the one the `audio.dialect` operator uses.

Two of every three training clips read the training sentences' words in a random order, so the
model cannot learn a language by memorising six sentences. Evaluation sets hold out what a real
LRE evaluation would: sentences never heard in training (`heldout_sentences`), speaker variants
never heard (`heldout_speakers`), and both at once.

    >>> feats, labels = load("train")  # built once into $SENRI_CACHE/dialect-corpus/<VERSION>
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from senri import config
from senri.models.training import dialect_words
from senri.models.training.dialect_sentences import SENTENCES, TRAIN_SENTENCES
from senri.operators.melspec import log_mel
from senri.worlds.shapes.sound import SpeechSynthError

VERSION = "v2"
SEED = 20_261_127
SAMPLE_RATE = 16_000
CLIP_SECONDS = 2.5
CLIP_SAMPLES = round(CLIP_SECONDS * SAMPLE_RATE)

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Dialect:
    """One class: its label (an espeak-ng voice name), the voice that speaks it, its cluster."""

    label: str
    voice: str
    cluster: str
    language: str  # key into SENTENCES


def _cluster(cluster: str, language: str, *labels: str) -> tuple[Dialect, ...]:
    return tuple(Dialect(label, label, cluster, language) for label in labels)


DIALECTS: tuple[Dialect, ...] = (
    *_cluster("english", "en", "en-us", "en-us-nyc", "en-gb", "en-gb-scotland", "en-029"),
    *_cluster("iberian", "es", "es", "es-419"),
    *_cluster("iberian", "pt", "pt", "pt-br"),
    *_cluster("french", "fr", "fr-fr", "fr-be", "fr-ch"),
    Dialect("cmn", "cmn-latn-pinyin", "chinese", "cmn"),
    Dialect("yue", "yue", "chinese", "yue"),
    Dialect("hak", "hak", "chinese", "hak"),
    Dialect("pl", "pl", "slavic", "pl"),
    Dialect("ru", "ru", "slavic", "ru"),
    Dialect("cs", "cs", "slavic", "cs"),
    *_cluster("vietnamese", "vi", "vi", "vi-vn-x-central", "vi-vn-x-south"),
    Dialect("ar", "ar", "semitic", "ar"),
    Dialect("he", "he", "semitic", "he"),
)
LABELS: tuple[str, ...] = tuple(d.label for d in DIALECTS)
CLUSTERS: tuple[str, ...] = tuple(dict.fromkeys(d.cluster for d in DIALECTS))

SAME_AUDIO: tuple[tuple[str, ...], ...] = (("fr-fr", "fr-be", "fr-ch"),)
"""Labels whose espeak-ng voices sound the same: the Belgian and Swiss French voices differ
from French French only in how they read the digits of 70-99 (septante, huitante, nonante).
The corpus writes no number in digits, so their clips are byte-identical in distribution and
no classifier can tell them apart. `tests/unit/test_dialect.py` checks it against the
installed espeak-ng."""


def audible(label: str) -> str:
    """`label`, or the first label of its `SAME_AUDIO` group: what the audio can tell."""
    return next((group[0] for group in SAME_AUDIO if label in group), label)


TRAIN_VARIANTS = ("", "m1", "m2", "m3", "f1", "f2", "f4")
HELDOUT_VARIANTS = ("m5", "f3", "m7")

SPLITS: dict[str, tuple[bool, bool, int]] = {
    # split: (held-out sentences?, held-out speaker variants?, draws per sentence and variant)
    "train": (False, False, 3),
    "heldout_sentences": (True, False, 2),
    "heldout_speakers": (False, True, 1),
    "heldout_both": (True, True, 1),
    "train_words": (False, False, 2),  # the training voices reading `dialect_words`
}


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one clip; its seed comes from these fields alone."""

    split: str
    dialect: int
    sentence: int
    variant: str
    draw: int

    def seed(self) -> list[int]:
        variant = sum(ord(c) << (8 * i) for i, c in enumerate(self.variant))
        split = list(SPLITS).index(self.split)
        return [SEED, split, self.dialect, self.sentence, variant, self.draw]


def specs(split: str, *, per_dialect: int | None = None) -> list[ClipSpec]:
    """Every clip of `split`, in a fixed order; `per_dialect` keeps an evenly spaced subset."""
    heldout_sentences, heldout_speakers, draws = SPLITS[split]
    variants = HELDOUT_VARIANTS if heldout_speakers else TRAIN_VARIANTS
    out = []
    for d, dialect in enumerate(DIALECTS):
        count = len(SENTENCES[dialect.language])
        sentences = range(TRAIN_SENTENCES, count) if heldout_sentences else range(TRAIN_SENTENCES)
        mine = [
            ClipSpec(split, d, s, v, k) for s in sentences for v in variants for k in range(draws)
        ]
        if per_dialect is not None and per_dialect < len(mine):
            step = len(mine) / per_dialect
            mine = [mine[int(i * step)] for i in range(per_dialect)]
        out.extend(mine)
    return out


def espeak(text: str, voice: str, *, rate: int = 160, pitch: int = 50) -> Floats:
    """espeak-ng speech at 16 kHz, trimmed of leading and trailing silence."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthError(
            "the dialect corpus needs the espeak-ng speech synthesiser: "
            "install the Debian/Ubuntu package 'espeak-ng'"
        )
    cmd = [exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text]
    wav = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout
    data, sr = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    mono = soxr.resample(data[:, 0], sr, SAMPLE_RATE, quality="HQ").astype(np.float32)
    loud = np.flatnonzero(np.abs(mono) > 10 ** (-50 / 20))
    if loud.size == 0:
        raise SpeechSynthError(f"espeak-ng voice {voice} produced no speech for {text!r}")
    return mono[loud[0] : loud[-1] + 1]


def _reverb(rng: np.random.Generator, audio: Floats) -> Floats:
    """Convolve with an exponentially decaying noise tail (RT60 0.15-0.6 s), dry path first."""
    rt60 = rng.uniform(0.15, 0.6)
    t = np.arange(round(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    ir = rng.normal(0.0, 1.0, len(t)) * np.exp(-6.9 * t / rt60)
    ir *= rng.uniform(0.2, 0.6) / np.sqrt(np.sum(ir**2))
    ir[0] = 1.0
    n = len(audio) + len(ir) - 1
    wet = np.fft.irfft(np.fft.rfft(audio, n) * np.fft.rfft(ir, n), n)[: len(audio)]
    return wet.astype(np.float32)


def _noise(rng: np.random.Generator, n: int) -> Floats:
    """White, pink-ish (1/f) or brown-ish (1/f²) noise of unit RMS."""
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, n))
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 20.0)
    spectrum /= freqs ** (rng.integers(0, 3) / 2)
    noise = np.fft.irfft(spectrum, n)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def _words(language: str) -> list[str]:
    """The training sentences' words (characters for Cantonese, written without spaces)."""
    text = " ".join(SENTENCES[language][:TRAIN_SENTENCES])
    if language == "yue":
        return [c for c in text if c.isalpha()]
    return [w.strip(".,;:!?¿¡،؟") for w in text.split() if w.strip(".,;:!?¿¡،؟")]


def _shuffled_text(rng: np.random.Generator, language: str) -> str:
    """10-16 training words in random order: new sentences, same language, no memorising."""
    words = _words(language)
    picked = [words[i] for i in rng.integers(0, len(words), int(rng.integers(10, 17)))]
    return ("" if language == "yue" else " ").join(picked)


def _word_list_text(rng: np.random.Generator, language: str) -> str:
    """10-16 everyday words of `language` (`dialect_words`) in random order; the training
    sentences' words for a language the list does not cover."""
    words = dialect_words.words(language)
    if not words:
        return _shuffled_text(rng, language)
    return " ".join(words[i] for i in rng.integers(0, len(words), int(rng.integers(10, 17))))


def synthesize(spec: ClipSpec) -> Floats:
    """The clip `spec` names: speech cut or padded to CLIP_SAMPLES, reverberated and noisy."""
    rng = np.random.default_rng(spec.seed())
    dialect = DIALECTS[spec.dialect]
    voice = dialect.voice + (f"+{spec.variant}" if spec.variant else "")
    text = SENTENCES[dialect.language][spec.sentence]
    if spec.split == "train" and spec.draw > 0:
        text = _shuffled_text(rng, dialect.language)
    elif spec.split == "train_words":
        text = _word_list_text(rng, dialect.language)
    speech = espeak(text, voice, rate=int(rng.integers(125, 196)), pitch=int(rng.integers(25, 76)))
    if len(speech) > CLIP_SAMPLES:
        start = int(rng.integers(0, len(speech) - CLIP_SAMPLES + 1))
        clip = speech[start : start + CLIP_SAMPLES].copy()
    else:
        clip = np.zeros(CLIP_SAMPLES, np.float32)
        start = int(rng.integers(0, CLIP_SAMPLES - len(speech) + 1))
        clip[start : start + len(speech)] = speech
    if rng.random() < 0.5:
        clip = _reverb(rng, clip)
    clip *= rng.uniform(0.1, 0.8) / (float(np.abs(clip).max()) + 1e-9)
    rms = float(np.sqrt(np.mean(clip**2)))
    snr_db = rng.uniform(5.0, 35.0)
    clip += _noise(rng, CLIP_SAMPLES) * rms * 10 ** (-snr_db / 20)
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def features(spec: ClipSpec) -> Floats:
    """The [frames, 64] log-mel image of one clip (the model's input, before normalisation)."""
    return log_mel(synthesize(spec))


def generate(
    items: Sequence[ClipSpec], *, workers: int = 1
) -> tuple[npt.NDArray[np.float16], npt.NDArray[np.int64]]:
    """Features (float16, [N, frames, 64]) and dialect indices of `items`, in order."""
    if workers > 1 and len(items) > 16:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            feats = list(pool.map(features, items, chunksize=16))
    else:
        feats = [features(s) for s in items]
    labels = np.array([s.dialect for s in items], np.int64)
    return np.stack(feats).astype(np.float16), labels


def corpus_dir() -> Path:
    return config.cache() / "dialect-corpus" / VERSION


def load(split: str, *, workers: int = 2) -> tuple[npt.NDArray[np.float16], npt.NDArray[np.int64]]:
    """`split` from the cache, generating and caching it first if it is not there yet."""
    path = corpus_dir() / f"{split}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["feats"], data["labels"]
    feats, labels = generate(specs(split), workers=workers)
    save(path, feats=feats, labels=labels)
    (path.parent / "manifest.json").write_text(json.dumps(describe(), indent=2))
    return feats, labels


def save(path: Path, **arrays: npt.NDArray[Any]) -> None:
    """Write `arrays` to the cache file `path` whole or not at all (a killed run leaves none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp.name, path)


def describe() -> dict[str, object]:
    """The corpus's recipe, for the model's metadata and the docs."""
    return {
        "version": VERSION,
        "seed": SEED,
        "sample_rate": SAMPLE_RATE,
        "clip_seconds": CLIP_SECONDS,
        "dialects": [{"label": d.label, "voice": d.voice, "cluster": d.cluster} for d in DIALECTS],
        "train_variants": list(TRAIN_VARIANTS),
        "heldout_variants": list(HELDOUT_VARIANTS),
        "train_sentences_per_language": TRAIN_SENTENCES,
        "heldout_sentences_per_language": len(SENTENCES["en"]) - TRAIN_SENTENCES,
        "text": "train: each sentence once as written, twice as 10-16 of its language's "
        "training words in random order; train_words: 10-16 everyday words of the language "
        "(dialect_words; the Chinese voices: training words); held-out sets: sentences as "
        "written",
        "augmentation": "rate 125-195 wpm, pitch 25-75, reverb (RT60 0.15-0.6 s) on half, "
        "white/pink/brown noise at 5-35 dB SNR, peak 0.1-0.8",
        "splits": {k: len(specs(k)) for k in SPLITS},
    }
