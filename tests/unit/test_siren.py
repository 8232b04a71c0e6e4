"""The two-tone siren cue (`senri.operators.siren`) and `audio.sounds`'s use of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from senri.evaluation.audio import as_stream, one_node_graph, stream_events
from senri.operators.melspec import log_mel
from senri.operators.siren import TwoToneCue, peak_bands, two_tone

pytestmark = pytest.mark.unit

SR = 16_000


def tones(freqs: list[tuple[float, float]], harmonics: int = 3) -> np.ndarray:
    """Consecutive tones, (frequency in Hz, seconds) each, with a few harmonics."""
    freq = np.concatenate([np.full(round(s * SR), f) for f, s in freqs])
    phase = 2 * np.pi * np.cumsum(freq) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


def nee_naw(low: float, high: float, each: float, seconds: float) -> np.ndarray:
    return tones([(low, each), (high, each)] * round(seconds / (2 * each)))


def best(clip: np.ndarray) -> float:
    bands = peak_bands(log_mel(clip))
    return max(two_tone(bands[max(0, end - 320) : end]) for end in range(48, len(bands) + 48, 48))


@pytest.mark.parametrize(
    ("low", "high", "each"), [(440, 587, 0.6), (660, 880, 0.5), (392, 523, 0.7), (450, 600, 1.0)]
)
def test_alternating_two_tones_fire(low: float, high: float, each: float) -> None:
    assert best(nee_naw(low, high, each, 4.0)) >= 0.85


def test_the_cue_holds_in_noise() -> None:
    clip = nee_naw(440, 587, 0.6, 4.0)
    noise = np.random.default_rng(3).normal(0, 1, len(clip)).astype(np.float32)
    noise *= np.sqrt(np.mean(clip**2) / np.mean(noise**2)) / 10 ** (10 / 20)  # 10 dB SNR
    assert best(clip + noise) >= 0.85


@pytest.mark.parametrize(
    "clip",
    [
        pytest.param(tones([(425, 1.0), (1, 1.0)] * 3), id="ringback: one tone on and off"),
        pytest.param(tones([(523, 0.12), (587, 0.12)] * 16), id="a trill: too fast"),
        pytest.param(tones([(400, 0.6), (800, 0.6)] * 3), id="an octave apart"),
        pytest.param(
            tones([(f, 0.3) for f in (523, 587, 659, 698, 784, 698, 659, 587)] * 2), id="a scale"
        ),
        pytest.param(tones([(659, 0.6), (523, 1.2)]), id="a doorbell: once"),
        pytest.param(np.zeros(4 * SR, np.float32), id="silence"),
    ],
)
def test_other_sounds_do_not_fire(clip: np.ndarray) -> None:
    assert best(clip) == 0.0


def test_overlapping_patches_add_each_frame_once_and_the_state_survives_a_snapshot() -> None:
    mel = log_mel(nee_naw(440, 587, 0.6, 4.0))
    whole, pieces = TwoToneCue(), TwoToneCue()
    whole.push(0, mel)
    for start in range(0, len(mel) - 96 + 1, 48):  # 0.96 s patches every 0.48 s
        pieces.push(start * 160, mel[start : start + 96])
    covered = (len(mel) - 96) // 48 * 48 + 96
    assert np.array_equal(whole.history, peak_bands(mel)[-320:])
    assert np.array_equal(pieces.history, peak_bands(mel[:covered])[-320:])
    again = TwoToneCue.restore(pieces.snapshot())
    assert np.array_equal(again.history, pieces.history) and again.next_frame == covered


@pytest.mark.skipif(
    not Path("/usr/share/asterisk/sounds/en_US_f_Allison").is_dir(),
    reason="Debian's asterisk-core-sounds-*-g722 (scripts/setup.sh --dev)",
)
def test_recorded_speech_in_four_languages_never_fires() -> None:
    from senri.evaluation.recorded import read_audio

    prompts = sorted(Path("/usr/share/asterisk/sounds").glob("*/*.g722"))[::12]
    assert len(prompts) >= 80
    fired = [p.name for p in prompts if best(read_audio(p)) > 0]
    assert fired == []


def _siren_events(clip: np.ndarray, **settings: object) -> list[tuple[str, object]]:
    op = one_node_graph("audio.sounds", urban_only=True, **settings)
    return [
        (e.label, e.attributes.get("two_tone_patches"))
        for e in stream_events(op, as_stream(clip, "two-tone"))
    ]


def test_audio_sounds_calls_a_two_tone_a_siren_and_says_why() -> None:
    clip = nee_naw(440, 587, 0.6, 6.0)
    events = _siren_events(clip)
    assert [label for label, _ in events] == ["siren"]
    assert isinstance(events[0][1], int) and events[0][1] >= 3
    assert "siren" not in [label for label, _ in _siren_events(clip, two_tone=False)]


def test_a_label_threshold_replaces_the_global_one() -> None:
    t = np.arange(2 * SR) / SR
    horn = sum(np.sin(2 * np.pi * k * f * t) / k for f in (350, 441) for k in range(1, 20))
    clip = (0.3 * horn / np.abs(horn).max()).astype(np.float32)
    assert [label for label, _ in _siren_events(clip)] == ["car_horn"]
    assert _siren_events(clip, thresholds={"car_horn": 0.999}) == []
