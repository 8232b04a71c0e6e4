"""Spans Whisper finds hard are transcribed the same way every time.

On a span whose decoding looks garbled, faster-whisper retries by sampling at rising
temperatures (``sampling``, on by default). `WhisperEngine` fixes CTranslate2's random seed
when it loads, so a fresh process that transcribes the same spans in the same order writes the
same transcripts, and an evaluation prints the same figures twice. With ``sampling: false``
decoding is beam search at temperature 0 only, and the same span reads the same however often
it is transcribed in one process (a replay inside a running worker). The clip is an espeak-ng
sentence with an Irish place name that tiny.en decodes by sampling: four random seeds gave
three different transcripts, and one process with sampling gave two different ones in four
tries (measured). Needs faster-whisper and the ``speech/en`` weights.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from senri.engine.operator import Device
from senri.evaluation.audio import espeak
from senri.operators.stt import WhisperEngine

pytestmark = pytest.mark.unit

SENTENCE = "the Tubbercurry shed door is open beside camera Dunnock"
RUN = f"""
from senri.engine.operator import Device
from senri.evaluation.audio import espeak
from senri.operators.stt import WhisperEngine
engine = WhisperEngine("speech/en", Device("cpu"), language=None, beam_size=5, threads=1)
clip = espeak({SENTENCE!r}, "en-gb", 165)
print(engine.transcribe(clip).text)
print(engine.transcribe(clip).text)
"""


def test_the_clip_is_one_whisper_decodes_by_sampling() -> None:
    engine = WhisperEngine("speech/en", Device("cpu"), language=None, beam_size=5, threads=1)
    segments, _ = engine.whisper.transcribe(
        espeak(SENTENCE, "en-gb", 165),
        language="en",
        beam_size=5,
        condition_on_previous_text=False,
        vad_filter=False,
    )
    assert max(s.temperature for s in segments) > 0.0


def test_without_sampling_a_hard_span_reads_the_same_every_time_in_one_process() -> None:
    engine = WhisperEngine(
        "speech/en", Device("cpu"), language=None, beam_size=5, threads=1, sampling=False
    )
    assert engine.temperature == 0.0
    clip = espeak(SENTENCE, "en-gb", 165)
    texts = {engine.transcribe(clip).text for _ in range(6)}
    assert len(texts) == 1 and all(texts), texts


@pytest.mark.slow
def test_every_fresh_run_transcribes_the_hard_spans_alike() -> None:
    runs = [
        subprocess.run(
            [sys.executable, "-c", RUN], check=True, capture_output=True, text=True, timeout=300
        ).stdout.splitlines()
        for _ in range(3)
    ]
    assert all(len(lines) == 2 and all(lines) for lines in runs), runs
    assert runs[1] == runs[0] and runs[2] == runs[0], runs
