"""Real labelled recordings and photos from Debian packages, and the evaluations on them.

The Qt resource reader runs on bundles the tests write; the sets themselves need the Debian
packages ``scripts/setup.sh --dev`` installs, and skip without them.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from senri.evaluation import detector, packaged
from senri.evaluation import sounds as eval_sounds
from senri.evaluation.debfiles import local
from senri.evaluation.dialect import DialectScore
from senri.evaluation.rcc import RccError, read_rcc
from senri.evaluation.recorded import MissingSetError
from senri.records import Event

pytestmark = pytest.mark.unit


def _name(text: str) -> bytes:
    return struct.pack(">HI", len(text), 0) + text.encode("utf-16-be")


def write_rcc(path: Path, files: dict[str, tuple[bytes, bool]], version: int = 2) -> None:
    """A Qt resource bundle holding `files` under one folder ``res`` (path → (data, zlib))."""
    names = b""
    offsets: dict[str, int] = {}
    for text in ["res", *[f.split("/")[-1] for f in files]]:
        offsets[text] = len(names)
        names += _name(text)
    data = b""
    leaves = []
    for full, (body, compress) in files.items():
        stored = struct.pack(">I", len(body)) + zlib.compress(body) if compress else body
        leaves.append((full.split("/")[-1], len(data), compress))
        data += struct.pack(">I", len(stored)) + stored
    pad = b"\0" * 8 if version >= 2 else b""
    tree = struct.pack(">IHII", 0, 0x02, 1, 1) + pad  # root: one child, node 1
    tree += struct.pack(">IHII", offsets["res"], 0x02, len(leaves), 2) + pad
    for leaf, at, compress in leaves:
        tree += struct.pack(">IHHHI", offsets[leaf], 0x01 if compress else 0, 0, 0, at) + pad
    header_size = 20 + (4 if version >= 3 else 0)
    tree_at = header_size
    data_at = tree_at + len(tree)
    names_at = data_at + len(data)
    header = b"qres" + struct.pack(">IIII", version, tree_at, data_at, names_at)
    if version >= 3:
        header += struct.pack(">I", 0)
    path.write_bytes(header + tree + data + names)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_reader_reads_plain_and_compressed_files(tmp_path: Path, version: int) -> None:
    bundle = tmp_path / "x.rcc"
    write_rcc(
        bundle,
        {"res/a.txt": (b"hello", False), "res/b.bin": (bytes(range(256)) * 8, True)},
        version,
    )
    files = read_rcc(bundle)
    assert files == {"res/a.txt": b"hello", "res/b.bin": bytes(range(256)) * 8}
    assert read_rcc(bundle, {"res/b.bin"}) == {"res/b.bin": bytes(range(256)) * 8}
    with pytest.raises(RccError, match=r"no res/c\.txt"):
        read_rcc(bundle, {"res/c.txt"})


def test_rcc_reader_refuses_other_files(tmp_path: Path) -> None:
    other = tmp_path / "y.rcc"
    other.write_bytes(b"PK\x03\x04 not a bundle at all")
    with pytest.raises(RccError, match="not a Qt resource bundle"):
        read_rcc(other)


def test_missing_packages_are_named(tmp_path: Path) -> None:
    with pytest.raises(MissingSetError, match="gcompris-qt-data"):
        packaged.sound_clips(gcompris=tmp_path / "none", tuxpaint=tmp_path)
    with pytest.raises(MissingSetError, match="klettres-data"):
        packaged.language_clips(klettres=tmp_path / "none", sources=("klettres",))
    if packaged.GCOMPRIS.is_dir() and packaged.TUXPAINT.is_dir():
        with pytest.raises(MissingSetError, match=r"fetch Debian's .*sumo-tools"):
            packaged.sound_clips(debian=tmp_path / "none")


def _event(label: str, start: float, end: float) -> Event:
    return Event(
        id=f"{label}{start}", stream_id="s", time=start, kind="sound", label=label, end_time=end
    )


def test_a_clip_is_the_label_that_covers_most_of_it_and_the_rest_are_false_events() -> None:
    score = eval_sounds.SoundScore()
    score.add("fire engine", "siren", [_event("siren", 0, 4.8), _event("car_horn", 5, 7.4)])
    score.add("door", "none", [])
    score.add("toilet", "none", [_event("dog_bark", 1, 1.6)])
    assert score.rows == [
        ("fire engine", "siren", "siren"),
        ("door", "none", "none"),
        ("toilet", "none", "dog_bark"),
    ]
    assert score.correct == 2 and score.false_events == [
        ("fire engine", "car_horn", 2.4),
        ("toilet", "dog_bark", 0.6),
    ]
    lines = eval_sounds.confusion_lines(score)
    assert lines[0].split()[-3:] == ["dog_bark", "siren", "none"]
    assert lines[1].split() == ["siren", ".", "1", "."]
    assert lines[2].split() == ["none", "1", ".", "1"]


def test_dialect_score_counts_exact_labels_and_clusters() -> None:
    clusters = {"en-us": "english", "en-gb": "english", "fr-fr": "french", "ru": "slavic"}
    score = DialectScore()
    score.add("en-us", ["en-gb", "en-us", "ru"], clusters)
    score.add("french", ["fr-fr", "ru"], clusters)  # a cluster: no exact label to hit
    score.add("ru", ["ru", "fr-fr"], clusters)
    assert (score.clips, score.exact_possible, score.top1, score.top5, score.cluster) == (
        3,
        2,
        1,
        2,
        3,
    )
    assert score.by_label["en-us"] == [1, 0, 1]
    assert score.top1_heard == score.top1  # no French voice was confused


def test_dialect_score_counts_french_voices_as_one_only_in_top1_heard() -> None:
    clusters = {"fr-fr": "french", "fr-be": "french", "fr-ch": "french", "en-us": "english"}
    score = DialectScore()
    score.add("fr-be", ["fr-ch", "fr-be"], clusters)  # identical audio: heard right
    score.add("fr-fr", ["en-us", "fr-fr"], clusters)  # another language: wrong either way
    score.add("fr-ch", ["fr-ch", "fr-fr"], clusters)
    assert (score.top1, score.top1_heard, score.top5) == (1, 2, 3)


def test_average_precision_of_ranked_hits() -> None:
    assert detector.average_precision([(0.9, True), (0.8, True)], 2) == pytest.approx(1.0)
    # a false positive ranked first: precision 0.5 at recall 0.5 and 2/3 at recall 1
    ap = detector.average_precision([(0.9, False), (0.8, True), (0.7, True)], 2)
    assert ap == pytest.approx((51 * 2 / 3 + 50 * 2 / 3) / 101, abs=1e-6)
    assert detector.average_precision([(0.9, True)], 2) == pytest.approx(51 / 101)
    assert detector.average_precision([], 3) == 0.0


def test_matching_takes_the_best_scored_detection_first() -> None:
    objects = (("cow", np.array([0, 0, 10, 10], np.float32), False),)
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], np.float32)
    pairs = detector.match(objects, boxes, np.array([0.5, 0.9, 0.8], np.float32), ["cow"] * 3)
    assert pairs == [(1, 0), (2, None), (0, None)]
    assert detector.match(objects, boxes[:1], np.array([0.9], np.float32), ["dog"]) == [(0, None)]


needs_packages = pytest.mark.skipif(
    not (packaged.GCOMPRIS.is_dir() and packaged.TUXPAINT.is_dir()),
    reason="Debian's gcompris-qt-data and tuxpaint-stamps-default (scripts/setup.sh --dev)",
)
needs_deb_files = pytest.mark.skipif(
    not all(local(f).is_file() for f in packaged.deb_files()),
    reason="the game packages' recordings (scripts/setup.sh --dev)",
)


@needs_packages
@needs_deb_files
def test_recorded_sounds_are_heard_as_a_listener_labels_them() -> None:
    clips = packaged.sound_clips()
    assert len(clips) == len(packaged.SOUNDS) + len(packaged.DEB_SOUNDS)
    # the shortest: Scratch's pop (23 ms), hand clap (86 ms) and two single barks
    assert all(c.seconds > 0.02 and c.audio.dtype == np.float32 for c in clips)
    score = eval_sounds.evaluate_recorded_sounds(clips=clips)
    heard = {(name, expected): got for name, expected, got in score.rows}

    def right(label: str) -> list[bool]:
        return [got == label for (_, expected), got in heard.items() if expected == label]

    # measured: barks 5/7, horns 10/10, sirens 4/4, gunfire 4/10, music 37/40, none 82/90,
    # clips 142/166 with 14 false events
    assert sum(right("dog_bark")) >= 4 and sum(right("siren")) >= 3
    assert sum(right("car_horn")) >= 8 and sum(right("gun_shot")) >= 3
    assert sum(right("street_music")) >= 30 and sum(right("none")) >= 75
    assert heard[("tuxpaint/firetruck", "siren")] == "siren"
    assert heard[("sumo-tools/car_horn2", "car_horn")] == "car_horn"
    assert heard[("hedgewars-data/ride_of_the_valkyries", "street_music")] == "street_music"
    assert score.accuracy >= 0.8, score.confusions
    assert len(score.false_events) <= 18, score.false_events


@needs_packages
def test_hand_boxed_photos_load_and_the_default_detector_finds_most_animals() -> None:
    photos = detector.photos()
    assert len(photos) >= 30
    assert sum(not difficult for p in photos for _, _, difficult in p.objects) >= 40
    assert all(p.image.ndim == 3 and p.image.dtype == np.uint8 for p in photos)
    score = detector.evaluate("detector/coco", photos)
    assert score.map50 >= 0.5, score.ap50
    for label in ("person", "motorcycle", "cow", "giraffe"):
        assert score.ap50[label] >= 0.9, (label, score.ap50[label])
    found = {(file, label) for file, label, hit, _, _ in score.rows if hit}
    assert ("astronaut.png", "person") in found and ("motorcycle_left.png", "motorcycle") in found
    assert score.negatives_false_positives <= 3
