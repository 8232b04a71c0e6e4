"""Held-out evaluations of the audio models; this module holds speech-to-text's word error rate.

`senri models eval speech/en speech/multi pocketsphinx sounds/audioset dialect/whisper` prints
them. The synthetic speech set is espeak-ng sentences that neither the tests nor the sample
world use, spoken by two voices (en-us, en-gb) at two rates; beside it, speech is scored on
real recordings (`senri.evaluation.recorded`). Sounds are in `senri.evaluation.sounds` and
dialects in `senri.evaluation.dialect`, each with a synthetic and a recorded set. Synthetic
sets show the models work and regress; the recorded ones how they fare on real voices and
sounds, within what the packages hold.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from senri.engine.session import GraphSession
from senri.evaluation import recorded
from senri.indexes.events.query import words
from senri.records import AudioChunk, Event

SR = 16_000
PROMPTS = 60
"""Recorded Asterisk prompts `senri models eval` transcribes by default (of 269; about 5
minutes of speech), spread evenly over them."""
HELD_OUT = (
    "the second camera shows a truck at the dock",
    "please open the east gate for the delivery",
    "a man with a red jacket is near the stairs",
    "the alarm stopped after two minutes",
    "three cars are waiting at the barrier",
    "someone left a bag next to the bench",
    "the lights in the garage are off",
    "a bus is parked outside the station",
    "the woman crossed the street quickly",
    "nothing unusual happened this morning",
    "the dog ran across the parking lot",
    "check the camera above the main entrance",
)
VOICES = ("en-us", "en-gb")
RATES = (140, 175)


def espeak(text: str, voice: str, rate: int) -> npt.NDArray[np.float32]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("the audio evaluation needs espeak-ng (apt-get install espeak-ng)")
    wav = subprocess.run(
        [exe, "-v", voice, "-s", str(rate), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    data, rate_in = sf.read(io.BytesIO(wav), dtype="float64", always_2d=True)
    return (0.5 * soxr.resample(data[:, 0], rate_in, SR)).astype(np.float32)


_T0 = 1000.0
"""The epoch second each evaluation stream starts at."""
_PAD = 0.6
"""Seconds of quiet noise before (and after) each clip in its stream."""


def as_stream(clip: npt.NDArray[np.float32], name: str) -> list[AudioChunk]:
    """The clip with `_PAD` s of quiet noise either side, as 1 s chunks of a stream of its own."""
    noise = np.random.default_rng(0).normal(0.0, 3e-4, round(_PAD * SR)).astype(np.float32)
    audio = np.concatenate([noise, clip, noise])
    return [
        AudioChunk(name, k, _T0 + i / SR, i / SR, audio[i : i + SR], SR)
        for k, i in enumerate(range(0, len(audio), SR))
    ]


def voiced(clip: npt.NDArray[np.float32], floor: float = 0.05) -> tuple[float, float]:
    """Where `clip` is sounding, in seconds: the first and last 10 ms frame whose RMS is at
    least `floor` of its loudest frame's (the truth the word timestamps are checked against;
    a clip's leading and trailing silence is not speech)."""
    n = len(clip) // 160
    if n == 0:
        return 0.0, len(clip) / SR
    rms = np.sqrt(np.mean(clip[: n * 160].reshape(n, 160).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms >= floor * rms.max())
    return float(loud[0]) * 0.01, float(loud[-1] + 1) * 0.01


def one_node_graph(op: str, **settings: Any) -> GraphSession:
    """A one-node graph of operator `op` over audio chunks, set up once (models load)."""
    nodes = {"node": {"op": op, "from": "audio", **settings}}
    return GraphSession.of(nodes, inputs={"audio": AudioChunk}).setup()


def stream_events(session: GraphSession, chunks: list[AudioChunk]) -> list[Event]:
    """The events of one stream of `chunks`, through to the end of the stream."""
    step = session.run(audio=chunks, finishing=True)
    if step.dead:
        raise ValueError(step.dead[0].reason)
    return [e for b in step.outputs["node"] for e in b.events]


@dataclass
class SpeechScore:
    """Word errors over reference words, per voice, and the real-time factor."""

    model: str
    errors: int = 0
    words: int = 0
    audio_seconds: float = 0.0
    seconds: float = 0.0
    by_voice: dict[str, list[int]] = field(default_factory=dict)
    worst: tuple[float, str, str] = (0.0, "", "")
    edge_errors: list[float] = field(default_factory=list)
    """|first word's start - where the speech starts| and the same for the ends, seconds."""
    transcripts: list[str] = field(default_factory=list)

    @property
    def wer(self) -> float:
        return self.errors / max(self.words, 1)

    @property
    def rtf(self) -> float:
        return self.audio_seconds / max(self.seconds, 1e-9)

    @property
    def edge_ms(self) -> float:
        """The mean word-timestamp error at an utterance's edges, in milliseconds."""
        return 1000 * float(np.mean(self.edge_errors)) if self.edge_errors else float("nan")

    def add(self, voice: str, text: str, clip: npt.NDArray[np.float32], heard: Heard) -> None:
        """Score one utterance: `text` said in `clip`, `heard` by the model."""
        from senri.worlds.shapes.run import word_error_rate

        said = heard.text
        self.transcripts.append(said)
        n = len(words(text))
        errors = round(word_error_rate(text, said) * n)
        self.seconds += heard.seconds
        self.audio_seconds += len(clip) / SR
        if heard.first is not None and heard.last is not None:
            start, end = voiced(clip)
            self.edge_errors += [abs(heard.first - start), abs(heard.last - end)]
        self.errors += errors
        self.words += n
        tally = self.by_voice.setdefault(voice, [0, 0])
        tally[0] += errors
        tally[1] += n
        if errors / max(n, 1) > self.worst[0]:
            self.worst = (errors / n, text, said.strip())


def speech_graph(model: str, vocabulary: tuple[str, ...] = ()) -> GraphSession:
    """`audio.speech` with `model` (Whisper base forced to English), no pocketsphinx fallback."""
    language = "en" if model == "speech/multi" else None
    settings: dict[str, Any] = {"vocabulary": vocabulary} if vocabulary else {}
    return one_node_graph(
        "audio.speech", model=model, language=language, fallback=False, **settings
    )


@dataclass(frozen=True)
class Heard:
    """A transcript of one clip: its text, the compute it took, and its first word's start
    and last word's end in seconds into the clip (None when no words)."""

    text: str
    seconds: float
    first: float | None
    last: float | None


def listen(op: GraphSession, clip: npt.NDArray[np.float32], name: str) -> Heard:
    """What `op` transcribed of `clip`, run as a stream of its own."""
    started = time.perf_counter()
    events = stream_events(op, as_stream(clip, name))
    took = time.perf_counter() - started
    spoken = [w for e in events for w in json.loads(str(e.attributes.get("words") or "[]"))]
    origin = _T0 + _PAD
    return Heard(
        " ".join(e.text or "" for e in events),
        took,
        float(spoken[0][1]) - origin if spoken else None,
        float(spoken[-1][2]) - origin if spoken else None,
    )


def evaluate_speech(model: str, vocabulary: tuple[str, ...] = ()) -> SpeechScore:
    """WER of `audio.speech` with registry model `model` (and a site `vocabulary`) on the
    held-out sentences."""
    op = speech_graph(model, vocabulary)
    score = SpeechScore(model)
    try:
        for voice in VOICES:
            for rate in RATES:
                for text in HELD_OUT:
                    clip = espeak(text, voice, rate)
                    score.add(voice, text, clip, listen(op, clip, f"{voice}-{rate}-{text}"))
    finally:
        op.close()
    return score


def evaluate_speech_recorded(model: str, clips: list[recorded.Clip], name: str) -> SpeechScore:
    """WER of `audio.speech` with `model` on real recordings (`senri.evaluation.recorded`)."""
    op = speech_graph(model)
    score = SpeechScore(model)
    try:
        for clip in clips:
            score.add(name, clip.text, clip.audio, listen(op, clip.audio, f"{name}/{clip.name}"))
    finally:
        op.close()
    return score


def supports(name: str) -> bool:
    """Whether `report` has an evaluation for `name`."""
    return name == "pocketsphinx" or name.startswith(("speech/", "sounds/", "dialect/"))


def report_speech(model: str, emit: Callable[[str], Any], prompts: int = PROMPTS) -> None:
    """The synthetic set and the recorded sets side by side: set, clips, words, WER, speed."""
    s = evaluate_speech(model)
    voices = ", ".join(f"{v} {e / max(n, 1):.1%}" for v, (e, n) in s.by_voice.items())
    emit(f"{model}: word error rate (WER), lower is better; speed in × real time on this CPU")
    emit(f"  {'set':<30} {'clips':>5} {'words':>6} {'WER':>6} {'speed':>6} {'edges':>7}")
    rows: list[tuple[str, SpeechScore, int]] = [
        ("synthetic: espeak-ng", s, len(HELD_OUT) * len(VOICES) * len(RATES))
    ]
    missing = []
    for name in recorded.SETS if prompts > 0 else ():
        try:
            clips = recorded.load(name, prompts)
        except recorded.MissingSetError as exc:
            missing.append(f"{name}: {exc}")
            continue
        minutes = sum(c.seconds for c in clips) / 60
        label = f"recorded: {name} ({minutes:.1f} min)"
        rows.append((label, evaluate_speech_recorded(model, clips, name), len(clips)))
    for label, score, count in rows:
        emit(
            f"  {label:<30} {count:>5} {score.words:>6} {score.wer:>6.1%} {score.rtf:>5.1f}× "
            f"{score.edge_ms:>4.0f} ms"
        )
    emit(f"  synthetic by voice: {voices}; {len(RATES)} rates, {len(HELD_OUT)} sentences each")
    emit(
        "  edges: mean |first word's start - speech start| and |last word's end - speech "
        "end|, speech being where the clip is within 26 dB of its loudest 10 ms"
    )
    for label, score, _ in rows:
        if score.worst[1]:
            emit(f"  worst in {label.split(' (')[0]}: {score.worst[1]!r} → {score.worst[2]!r}")
    for line in missing:
        emit(f"  (not measured: {line})")
    if model.startswith("speech/"):
        from senri.evaluation import vocabulary

        vocabulary.report(model, emit, plain=s)


def report(models: list[str], emit: Callable[[str], Any], prompts: int = PROMPTS) -> None:
    """Run the evaluations for `models` and print them through `emit`; `prompts` recorded
    Asterisk prompts are transcribed beside the synthetic speech set (0: none)."""
    for model in models:
        if model.startswith("speech/") or model == "pocketsphinx":
            report_speech(model, emit, prompts)
        elif model.startswith("sounds/"):
            from senri.evaluation import sounds

            sounds.report(model, emit)
        elif model.startswith("dialect/"):
            from senri.evaluation import dialect

            dialect.report(model, emit)
        else:
            raise ValueError(f"no audio evaluation for {model!r}")
