"""The audio evaluations behind `senri models eval`, and the WER they use."""

from __future__ import annotations

import pytest

from senri.evaluation import audio as eval_audio
from senri.evaluation import sounds as eval_sounds
from senri.worlds.shapes.run import word_error_rate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("reference", "hypothesis", "wer"),
    [
        ("red car on camera one", "Red car on camera one.", 0.0),
        ("all clear on camera two", "All clear on camera 2", 0.0),
        ("green van parked near the entrance", "Green man park near the entrance.", 2 / 6),
        ("a b c", "", 1.0),
        ("a b", "a x b y", 1.0),
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, wer: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(wer)


def test_sound_evaluation_recognises_wails_yelps_and_horns_and_leaves_the_rest() -> None:
    score = eval_sounds.evaluate_sounds()
    assert score.total == 18
    rows = {name: (expected, heard) for name, expected, heard in score.rows}
    for name, (expected, heard) in rows.items():
        if not name.startswith("yelp"):
            assert heard == expected, (name, heard)
    # Two-tone sirens are heard by the cue of senri.operators.siren (YAMNet takes them for a
    # telephone or a synthesiser); one fast yelp still reads as street music.
    assert score.correct >= 17, score.confusions
    assert not [f for f in score.false_events if rows[f[0]][0] == "none"], score.false_events


def test_held_out_sentences_are_not_the_demo_or_test_phrases() -> None:
    from senri.worlds.shapes.sound import PHRASES

    assert not set(eval_audio.HELD_OUT) & set(PHRASES)


def test_labelled_debian_sound_files() -> None:
    if not eval_sounds.FREEDESKTOP.is_dir():
        pytest.skip(
            "Debian's sound-theme-freedesktop is not installed (scripts/setup.sh --dev installs it)"
        )
    score = eval_sounds.evaluate_sound_files()
    assert len(score.rows) == len(eval_sounds.FREEDESKTOP_LABELS)
    assert score.hits >= len(score.rows) - 1, score.rows
