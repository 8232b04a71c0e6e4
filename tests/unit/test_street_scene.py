"""The street world's planner and truth: deterministic, non-overlapping, self-consistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from senri.worlds import street

pytestmark = pytest.mark.unit


def _plan(seed: int) -> list[street.Placed]:
    """The schedule and plates `generate` draws for `seed`."""
    rng, plates = (np.random.default_rng([seed, k]) for k in (11, 13))
    return street.plan(rng, plate_rng=plates)


def _truth(seed: int) -> dict[str, Any]:
    return street.truth_of(seed, 0.0, street.FPS, _plan(seed))


def test_same_seed_same_truth_other_seed_other_plan() -> None:
    assert _truth(7) == _truth(7)
    assert _truth(7)["objects"] != _truth(8)["objects"]


@pytest.mark.parametrize("seed", range(12))
def test_truth_keeps_its_promises(seed: int) -> None:
    truth = _truth(seed)
    street.validate(truth)  # no overlaps, every object fully visible for a while
    objects = truth["objects"]
    assert isinstance(objects, list)
    assert truth["summary"] == {
        "tracks": {"horse": 1, "motorcycle": 2, "person": 3},
        "upper_colours": {
            str(o["id"]): o["upper_colour"] for o in objects if o["label"] == "person"
        },
        "plates": {str(o["id"]): o["plate"] for o in objects if o["label"] == "motorcycle"},
    }
    assert 10.0 <= truth["duration"] <= 17.0
    for obj in objects:
        rows = obj["frames"]
        indices = [r[0] for r in rows]
        assert indices == list(range(indices[0], indices[-1] + 1))  # enters once, leaves once
        assert not rows[0][5] and not rows[-1][5]  # crosses from edge to edge
        for _, x1, y1, x2, y2, full in rows:
            assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
            assert full == (x2 - x1 == obj["size"][0])
            assert y2 - y1 == min(obj["size"][1], 360 - y1)


def test_dyed_suit_gets_its_hue_and_people_their_colours() -> None:
    for seed in range(6):
        for obj in _truth(seed)["objects"]:
            if obj["sprite"] == "astronaut_dyed":
                assert obj["upper_colour"] in (["blue"], ["green"])
            elif obj["sprite"] == "astronaut":
                assert obj["upper_colour"] == ["red", "orange"]
            elif obj["sprite"] == "cameraman":
                assert obj["upper_colour"] == ["black"]
            else:
                assert "upper_colour" not in obj


def test_validate_rejects_overlap() -> None:
    truth = _truth(3)
    objects = truth["objects"]
    assert isinstance(objects, list)
    a, b = objects[0], objects[1]
    b["frames"] = [[r[0], *a["frames"][0][1:5], r[5]] for r in a["frames"]]
    with pytest.raises(ValueError, match="overlap"):
        street.validate(truth)


def test_render_draws_the_truth_boxes() -> None:
    objects = _plan(5)
    base = street.background(np.random.default_rng(0))
    sprites = {o.id: street.cutout(o) for o in objects}
    truth = street.truth_of(5, 0.0, street.FPS, objects)
    obj = truth["objects"][0]
    i, x1, y1, x2, y2, _ = next(r for r in obj["frames"] if r[5])
    image = street.render(base, objects, i / street.FPS, sprites)
    assert np.array_equal(image[y1:y2, x1:x2], sprites[obj["id"]][: y2 - y1])
    changed = np.any(image != base, axis=2)
    inside = np.zeros_like(changed)
    for o in truth["objects"]:
        for r in o["frames"]:
            if r[0] == i:
                inside[r[2] : r[4], r[1] : r[3]] = True
    assert not np.any(changed & ~inside)


def test_generate_writes_a_world(tmp_path: Path) -> None:
    world = street.generate(tmp_path, seed=2)
    assert street.exists(tmp_path)
    truth = street.load_truth(world.truth)
    assert truth == _truth_at(2, float(truth["start_time"]))
    import av

    with av.open(str(world.video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == truth["frames"]


def _truth_at(seed: int, start_time: float) -> dict[str, Any]:
    return street.truth_of(seed, start_time, street.FPS, _plan(seed))


def test_plates_are_seeded_well_formed_and_leave_the_schedule_alone() -> None:
    plates = [o["plate"] for seed in range(12) for o in _truth(seed)["objects"] if "plate" in o]
    assert len(plates) == 24 and len(set(plates)) == 24
    pattern = re.compile(r"^[A-Z]{2} \d{2} [A-HJ-NPR-Z]{2} \d{4}$")
    assert all(pattern.match(p) for p in plates), plates
    assert [o["plate"] for o in _truth(4)["objects"] if "plate" in o] == [
        o["plate"] for o in _truth(4)["objects"] if "plate" in o
    ]
    plain = street.plan(np.random.default_rng([4, 11]))
    assert [(o.sprite, o.t0, o.x0) for o in plain] == [(o.sprite, o.t0, o.x0) for o in _plan(4)]


def test_motorcycles_carry_their_plate() -> None:
    for obj in _plan(3):
        image = street.cutout(obj)
        if obj.sprite.label != "motorcycle":
            assert obj.plate is None
            continue
        assert obj.plate is not None
        (w, h), (pw, ph) = obj.size, street.PLATE_SIZE
        x, y = (w - pw) // 2, h - ph - round(0.12 * h)
        assert np.array_equal(image[y : y + ph, x : x + pw], street.plate_image(obj.plate))
        assert y >= h // 2  # in the lower half, where vision.vehicle_attributes reads
