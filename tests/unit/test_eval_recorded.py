"""Recorded speech sets for the WER evaluation: the loaders on files the tests write, and
Whisper tiny.en on the real Debian recordings (installed by ``scripts/setup.sh --dev``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from senri.evaluation import audio as eval_audio
from senri.evaluation import recorded

pytestmark = pytest.mark.unit


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def write_g722(path: Path, audio: np.ndarray) -> None:
    """`audio` (16 kHz) as a raw G.722 file, the way Asterisk keeps its prompts."""
    with av.open(str(path), "w", format="g722") as out:
        stream = out.add_stream("g722", rate=recorded.SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            (audio * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = recorded.SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


@pytest.fixture
def prompts(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "sounds"
    root.mkdir()
    write_g722(root / "vm-intro.g722", tone(1.5, recorded.SR))
    sf.write(root / "vm-goodbye.wav", tone(1.0, 8000), 8000)  # telephone rate, resampled
    write_g722(root / "digits-1.g722", tone(0.5, recorded.SR))
    write_g722(root / "beep.g722", tone(0.3, recorded.SR))
    texts = tmp_path / "core-sounds-en.txt.gz"
    with gzip.open(texts, "wt") as f:
        f.write(
            "; Core Asterisk Sounds in English\n\n"
            "vm-intro: Please leave your message after the tone. (simple tone sound plays)\n"
            "vm-goodbye: Goodbye, and thank you for calling.\n"
            "digits-1: one\n"
            "beep: [this is a simple beep tone]\n"
            "not-installed: This prompt has no recording here.\n"
        )
    return root, texts


def test_asterisk_prompts_are_read_with_their_spoken_words(prompts: tuple[Path, Path]) -> None:
    root, texts = prompts
    clips = recorded.asterisk(root=root, texts=texts)
    # one word ("one"), a beep and a prompt whose recording is missing are left out
    assert [c.name for c in clips] == ["vm-goodbye", "vm-intro"]
    goodbye, intro = clips
    assert intro.text == "Please leave your message after the tone."  # the note is no speech
    assert intro.audio.dtype == np.float32 and intro.seconds == pytest.approx(1.5, abs=0.02)
    assert goodbye.seconds == pytest.approx(1.0, abs=0.02)  # 8 kHz, resampled to 16 kHz
    assert float(np.abs(goodbye.audio).max()) == pytest.approx(0.3, abs=0.03)
    assert [c.name for c in recorded.asterisk(limit=1, root=root, texts=texts)] == ["vm-goodbye"]


def test_a_missing_set_says_which_packages_to_install(tmp_path: Path) -> None:
    with pytest.raises(recorded.MissingSetError, match="asterisk-core-sounds-en-g722"):
        recorded.asterisk(root=tmp_path / "none", texts=tmp_path / "none.txt.gz")
    with pytest.raises(recorded.MissingSetError, match="pocketsphinx-testdata"):
        recorded.librivox(tmp_path)
    with pytest.raises(ValueError, match="known: asterisk, librivox"):
        recorded.load("timit")


def test_sphinx_transcripts_and_their_wavs(tmp_path: Path) -> None:
    for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "001.wav", tone(0.8, recorded.SR), recorded.SR)
        (tmp_path / folder / listing).write_text(
            f"<s> {folder} said here </s> (001)\n<s> no file </s> (002)\n"
        )
    clips = recorded.librivox(tmp_path)
    assert [(c.name, c.text) for c in clips] == [
        ("librivox/001", "librivox said here"),
        ("cards/001", "cards said here"),
    ]


def test_evenly_spread_picks_are_stable() -> None:
    assert recorded.evenly(10, 4) == [0, 3, 6, 9]
    assert recorded.evenly(3, None) == [0, 1, 2]
    assert recorded.evenly(3, 5) == [0, 1, 2]


def test_whisper_tiny_en_on_real_recorded_speech() -> None:
    try:
        librivox = recorded.librivox()
        prompts = recorded.asterisk(limit=8)
    except recorded.MissingSetError as exc:
        pytest.skip(str(exc))
    # measured: 7.6 % on the 10 pocketsphinx clips, 3.6 % on 60 Asterisk prompts; a model
    # that heard nothing, or the wrong language, scores near 100 %
    read = eval_audio.evaluate_speech_recorded("speech/en", librivox, "librivox")
    assert read.words >= 90 and read.wer <= 0.2, read.worst
    asked = eval_audio.evaluate_speech_recorded("speech/en", prompts, "asterisk")
    assert asked.words >= 40 and asked.wer <= 0.15, asked.worst
    # word timestamps at the utterances' edges: measured 111 ms and 90 ms on average
    for score, clips in ((read, librivox), (asked, prompts)):
        assert len(score.edge_errors) == 2 * len(clips)  # a start and an end each
        assert score.edge_ms <= 250, score.edge_errors


def test_where_a_clip_is_sounding() -> None:
    quiet = np.zeros(recorded.SR // 2, np.float32)
    clip = np.concatenate([quiet, tone(1.0, recorded.SR), quiet, 0.01 * tone(0.2, recorded.SR)])
    start, end = eval_audio.voiced(clip)
    # the tone from 0.5 s to 1.5 s; the faint tail (-30 dB) is below the 5 % floor
    assert start == pytest.approx(0.5, abs=0.011) and end == pytest.approx(1.5, abs=0.011)
