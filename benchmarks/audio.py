"""Real-time factor of the audio operators on CPU: audio seconds processed per wall second.

A seeded clip from the sample world's generator (espeak-ng phrases, siren, horn, beeps, noise
over a -70 dBFS floor) is cut into 1 s chunks and fed to a fresh operator per run, in batches
of 1 and of 8 chunks (the operator's `process` call); `setup` (model loading) is not timed,
`finish` is. RTF > 1 means faster than real time. All operators use one CPU thread.

Batching only groups chunks here: Silero's recurrent state is per stream and YAMNet's graph is
fixed at batch 1, so the model calls are the same either way and the two columns should agree.

Run: ``python benchmarks/audio.py [--seconds 40] [--multi]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from senri.engine.operator import Device, Operator
from senri.operators.audio import Loudness, VoiceActivity
from senri.operators.dialect import DialectId
from senri.operators.sounds import Sounds
from senri.operators.speech import Speech
from senri.records import AudioChunk, EventBatch
from senri.worlds.shapes import sound

Factory = Callable[[], Operator[AudioChunk, EventBatch]]


def clip(seconds: float, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pcm, _ = sound.mix(rng, sound.make_clips(rng, seconds), seconds)
    return (pcm.astype(np.float32) / 32768).astype(np.float32)


def rtf(factory: Factory, audio: np.ndarray, batch: int) -> tuple[float, int]:
    """Audio seconds per wall second for one fresh operator, and how many events it gave."""
    op = factory()
    op.setup(Device("cpu"))
    chunks = [
        AudioChunk("bench", k, 1e9 + k, float(k), audio[i : i + 16000], 16000)
        for k, i in enumerate(range(0, len(audio), 16000))
    ]
    start = time.perf_counter()
    out: list[EventBatch] = []
    for i in range(0, len(chunks), batch):
        out.extend(op.process(chunks[i : i + batch]))
    out.extend(op.finish())
    elapsed = time.perf_counter() - start
    return len(audio) / 16000 / elapsed, sum(len(b.events) for b in out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--multi", action="store_true", help="also time speech/multi")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    audio = clip(args.seconds)
    ops: dict[str, Factory] = {
        "audio.loudness": Loudness,
        "audio.vad": VoiceActivity,
        "audio.sounds": Sounds,
        "audio.speech (tiny.en)": lambda: Speech(model="speech/en"),
        "audio.dialect (CNN only)": lambda: DialectId(language_model=None),
        "audio.dialect": DialectId,  # with speech/multi's language identification
    }
    if args.multi:
        ops["audio.speech (base)"] = lambda: Speech(model="speech/multi")
    print(f"{len(audio) / 16000:.0f} s clip, 1 s chunks, CPU, 1 thread per operator")
    print(f"{'operator':<24} {'RTF batch=1':>12} {'RTF batch=8':>12} {'events':>7}")
    for name, factory in ops.items():
        one, events = rtf(factory, audio, 1)
        eight, _ = rtf(factory, audio, 8)
        print(f"{name:<24} {one:>12.1f} {eight:>12.1f} {events:>7}")


if __name__ == "__main__":
    main()
