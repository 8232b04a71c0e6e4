"""audio.speech's ``vocabulary``: a site's names given to Whisper as hint phrases.

The sentence and names here are not in the evaluation's site set
(`senri.evaluation.vocabulary`). Needs faster-whisper and the ``speech/multi`` weights.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from senri.engine import settings
from senri.engine.operator import Device
from senri.evaluation.audio import espeak
from senri.operators.speech import Speech
from senri.operators.stt import SphinxEngine, WhisperEngine
from senri.records import AudioChunk

pytestmark = pytest.mark.unit

SR = 16_000
SENTENCE = "send a guard to the Tolka bridge, camera Merlin has lost signal"
NAMES = ("Tolka", "Merlin")


def _transcript(vocabulary: tuple[str, ...]) -> str:
    op = Speech(model="speech/multi", language="en", fallback=False, vocabulary=vocabulary)
    op.setup(Device("cpu"))
    try:
        quiet = np.zeros(SR // 2, np.float32)
        audio = np.concatenate([quiet, espeak(SENTENCE, "en-us", 165), quiet])
        n = SR // 2
        items = [
            AudioChunk("site", k, 1000.0 + i / SR, i / SR, audio[i : i + n], SR)
            for k, i in enumerate(range(0, len(audio), n))
        ]
        batches = [b for c in items for b in op.process([c])] + op.finish()
        return " ".join(e.text or "" for b in batches for e in b.events)
    finally:
        op.teardown()


def test_the_setting_takes_a_list_of_names() -> None:
    assert settings.validate(Speech, {"vocabulary": ["Tolka", "camera Merlin"]}) == {
        "vocabulary": ("Tolka", "camera Merlin")
    }
    with pytest.raises(settings.SettingsError, match="vocabulary: Input should be a valid tuple"):
        settings.validate(Speech, {"vocabulary": "Tolka"})
    assert Speech().vocabulary == ()


def test_whisper_gets_the_names_as_one_hint_phrase() -> None:
    engine = WhisperEngine(
        "speech/multi", Device("cpu"), language="en", beam_size=5, threads=1,
        vocabulary=(" Tolka", "", "Merlin "),
    )  # fmt: skip
    assert engine.hotwords == "Tolka, Merlin"
    plain = WhisperEngine("speech/multi", Device("cpu"), language="en", beam_size=5, threads=1)
    assert plain.hotwords is None


def test_with_the_vocabulary_the_names_are_written_as_the_site_writes_them() -> None:
    """Measured on the development machine: without a vocabulary Whisper base wrote "Send a
    guard to the tower coverage, camera rolling to the last signal"; with it, "Send a guard to
    Tolka Bridge, camera Merlin for the last signal"."""
    heard = _transcript(NAMES)
    for name in NAMES:
        assert name in heard, heard


def test_pocketsphinx_warns_that_it_ignores_the_vocabulary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    op = Speech(model="pocketsphinx", vocabulary=NAMES)
    with caplog.at_level(logging.WARNING, logger="senri.operators.speech"):
        op.setup(Device("cpu"))
    assert isinstance(op._engine, SphinxEngine)
    assert "pocketsphinx ignores the vocabulary" in caplog.text
    op.teardown()
