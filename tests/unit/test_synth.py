"""The sample world holds what its truth.json says, decodes cleanly and is reproducible."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import soundfile as sf

from senri.worlds import shapes
from senri.worlds.shapes import sound
from senri.worlds.shapes.__main__ import main

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> shapes.World:
    return shapes.generate(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def truth(world: shapes.World) -> dict[str, Any]:
    return shapes.load_truth(world.truth)


@pytest.fixture(scope="module")
def frames(world: shapes.World) -> list[np.ndarray]:
    with av.open(str(world.video)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def pcm(world: shapes.World) -> np.ndarray:
    data, rate = sf.read(world.audio, dtype="float64")
    assert rate == 16_000
    return np.asarray(data)


def test_files_decode_with_promised_formats(world: shapes.World, frames: list[np.ndarray]) -> None:
    with av.open(str(world.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 10
    assert abs(len(frames) - 20.0 * 10) <= 1
    assert frames[0].shape == (240, 320, 3)
    info = sf.info(str(world.audio))
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    assert info.frames == 20 * 16_000


def test_truth_layout_and_summary(truth: dict[str, Any]) -> None:
    assert truth["version"] == shapes.VERSION
    assert truth["stream_ids"] == {"video": "cam1", "audio": "mic1"}
    assert (truth["fps"], truth["size"], truth["duration"]) == (10, [320, 240], 20.0)
    summary = truth["summary"]
    assert 8 <= summary["objects"] == len(truth["objects"]) <= 12
    assert sum(summary["objects_by_colour"].values()) == summary["objects"]
    assert 3 <= summary["speech_segments"] == len(truth["speech"]) <= 4
    assert 3 <= summary["sound_segments"] == len(truth["sounds"]) <= 4
    assert truth["still"], "the world should have spans with no motion at all"


def _boxes_at(truth: dict[str, Any], t: float) -> list[tuple[int, float, float, int, int]]:
    out = []
    for obj in truth["objects"]:
        pos = shapes.position_at(obj, t)
        if pos is not None:
            out.append((obj["id"], pos[0], pos[1], *obj["size"]))
    return out


def test_objects_never_overlap_and_are_few_at_once(truth: dict[str, Any]) -> None:
    for t in np.arange(0.0, truth["duration"], 0.02):
        boxes = _boxes_at(truth, float(t))
        assert len(boxes) <= 3
        for i, (ia, xa, ya, wa, ha) in enumerate(boxes):
            for ib, xb, yb, wb, hb in boxes[i + 1 :]:
                overlap = abs(xa - xb) < (wa + wb) / 2 and abs(ya - yb) < (ha + hb) / 2
                assert not overlap, f"objects {ia} and {ib} overlap at {t:.2f}"


def test_objects_move_visibly_and_slowly_enough(truth: dict[str, Any]) -> None:
    for obj in truth["objects"]:
        assert obj["colour"] in shapes.PALETTE
        assert obj["rgb"] == list(shapes.PALETTE[obj["colour"]])
        assert obj["shape"] in ("rect", "ellipse")
        assert all(25 <= s <= 50 for s in obj["size"])
        assert 20.0 <= obj["speed"] <= 80.0
        assert obj["exit"] - obj["enter"] >= 1.5


def test_object_pixels_are_where_the_path_says(
    truth: dict[str, Any], frames: list[np.ndarray]
) -> None:
    fps = truth["fps"]
    for obj in truth["objects"]:
        lo, hi = obj["fully_inside"]
        for t in np.linspace(lo, hi, 4)[1:-1]:
            index = int(np.ceil(t * fps))
            x, y = shapes.position_at(obj, index / fps) or (-1, -1)
            pixel = frames[index][round(y), round(x)].astype(int)
            assert np.abs(pixel - obj["rgb"]).max() <= 25, (obj["id"], index, pixel)


def test_background_is_static_grey_when_nothing_moves(
    truth: dict[str, Any], frames: list[np.ndarray]
) -> None:
    head_end = truth["still"][0][1]
    still = np.stack(frames[: int(head_end * truth["fps"]) + 1]).astype(int)
    assert np.abs(still - still[0]).max() <= 4
    spread = still[0].max(axis=2) - still[0].min(axis=2)
    assert spread.max() <= 15, "the background must stay low-saturation"


def _dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(x**2))), 1e-12)))


def test_audio_is_loud_inside_events_and_silent_outside(
    truth: dict[str, Any], pcm: np.ndarray
) -> None:
    rate = truth["sample_rate"]
    events = truth["speech"] + truth["sounds"]
    quiet = np.ones(len(pcm), dtype=bool)
    for event in events:
        a, b = round(event["start"] * rate), round(event["end"] * rate)
        assert _dbfs(pcm[a:b]) > -30, event
        assert _dbfs(pcm[a : a + rate // 50]) > -50, f"{event} is not audible from its start"
        assert _dbfs(pcm[b - rate // 50 : b]) > -50, f"{event} is not audible until its end"
        quiet[max(a - 8, 0) : b + 8] = False
    assert _dbfs(pcm[quiet]) < -60
    assert np.abs(pcm[quiet]).max() < 10 ** (-50 / 20)
    spans = sorted((e["start"], e["end"]) for e in events)
    assert all(b0 - a1 >= 0.8 for (_, a1), (b0, _) in itertools.pairwise(spans))


def test_speech_and_sound_durations(truth: dict[str, Any]) -> None:
    assert all(1.5 <= s["end"] - s["start"] <= 3.0 for s in truth["speech"])
    assert all(0.8 <= s["end"] - s["start"] <= 2.3 for s in truth["sounds"])
    assert {s["label"] for s in truth["sounds"]} <= set(sound.SOUNDS)


def test_same_seed_gives_identical_truth_and_wav(world: shapes.World, tmp_path: Path) -> None:
    again = shapes.generate(tmp_path)
    assert again.truth.read_bytes() == world.truth.read_bytes()
    assert again.audio.read_bytes() == world.audio.read_bytes()


def test_different_seed_gives_a_different_world(truth: dict[str, Any], tmp_path: Path) -> None:
    other = shapes.load_truth(shapes.generate(tmp_path, seed=8).truth)
    paths = [o["path"] for o in truth["objects"]]
    assert all(o["path"] not in paths for o in other["objects"])
    assert other["speech"] + other["sounds"] != truth["speech"] + truth["sounds"]


def test_exists_needs_all_files_and_current_version(world: shapes.World, tmp_path: Path) -> None:
    assert shapes.exists(world.root)
    assert not shapes.exists(tmp_path)
    for name in ("camera.mp4", "audio.wav"):
        (tmp_path / name).write_bytes((world.root / name).read_bytes())
    stale = json.loads(world.truth.read_text()) | {"version": shapes.VERSION + 1}
    (tmp_path / "truth.json").write_text(json.dumps(stale))
    assert not shapes.exists(tmp_path)
    (tmp_path / "truth.json").write_text("{not json")
    assert not shapes.exists(tmp_path)


def test_validate_rejects_overlapping_objects(truth: dict[str, Any]) -> None:
    broken = copy.deepcopy(truth)
    a, b = broken["objects"][0], copy.deepcopy(broken["objects"][0])
    b["id"] = 99
    broken["objects"].append(b)
    with pytest.raises(ValueError, match=f"objects {a['id']} and 99 overlap"):
        shapes.validate(broken)


def test_position_at_interpolates_and_is_none_outside() -> None:
    obj = {"path": [[1.0, 0.0, 10.0], [3.0, 100.0, 30.0]]}
    assert shapes.position_at(obj, 2.0) == (50.0, 20.0)
    assert shapes.position_at(obj, 0.5) is None
    assert shapes.position_at(obj, 3.5) is None


def test_missing_espeak_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sound.shutil, "which", lambda _: None)
    with pytest.raises(shapes.SpeechSynthError, match="espeak-ng"):
        shapes.generate(tmp_path, duration=5.0)
    assert not shapes.exists(tmp_path)


def test_progress_runs_from_zero_to_one(tmp_path: Path) -> None:
    seen: list[float] = []
    shapes.generate(tmp_path, duration=4.0, progress=seen.append)
    assert seen[0] == 0.0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


def test_cli_writes_a_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--seed", "3", "--duration", "6"]) == 0
    assert shapes.exists(tmp_path)
    assert shapes.load_truth(tmp_path / "truth.json")["seed"] == 3
    assert "wrote" in capsys.readouterr().out
