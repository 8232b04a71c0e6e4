"""Sample worlds: generated media and archives with exact ground truth.

The demo, the tests and the evaluations run senri on them and compare what it measured with
what was drawn. Nothing in the runtime imports this package (docs/architecture.md).

- ``shapes`` (`senri.worlds.shapes`): coloured shapes on a camera, speech and sounds on a
  microphone; motion, tracking, colour, voice, transcripts, sirens, dialect.
- ``street`` (`senri.worlds.street`): people and motorcycles cut from real photographs; the COCO
  detector, tracking, clothing colour and licence plates.
- ``archive`` (`senri.worlds.archive`): days of events with no media, for the question benchmark.

The media worlds share one truth format (a JSON object beside the media):

    {"world": "street", "version": 3, "seed": 7, "start_time": <epoch s of pts 0>,
     "duration": s, "fps": n, "size": [w, h], "stream_ids": {"video": "street1", ...},
     "objects": [...], "summary": {...}, ...what else the world draws}

and one runner: `run(name, root)` generates the world if needed, runs its pipeline on the
embedded runtime and scores the store against the truth (a `Summary` of measured vs expected
rows). `senri demo` runs both media worlds through it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORLDS = ("shapes", "street")
"""The media worlds `run` knows."""


@dataclass
class Summary:
    """Measured against expected, per quantity."""

    rows: list[tuple[str, int, int]] = field(default_factory=list)
    dead_letters: int = 0

    @property
    def matches(self) -> bool:
        return all(measured == expected for _, measured, expected in self.rows)

    def add(self, name: str, measured: int, expected: int) -> None:
        self.rows.append((name, measured, expected))


def replace_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary sibling and rename it over `target` (atomic on one filesystem)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def load_truth(path: Path) -> dict[str, Any]:
    """The parsed ground truth of a world."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: ground truth must be a JSON object")
    return data


def is_current(root: Path, files: tuple[str, ...], truth: str, world: str, version: int) -> bool:
    """True if `root` holds every file of a world written by this version of its generator."""
    root = Path(root)
    if not all((root / name).is_file() for name in (*files, truth)):
        return False
    try:
        doc = load_truth(root / truth)
    except (OSError, ValueError):
        return False
    return doc.get("world") == world and doc.get("version") == version


def require(world: str, ok: bool, problem: str) -> None:
    """Raise ValueError when a generated world breaks a promise its truth makes."""
    if not ok:
        raise ValueError(f"{world} world breaks its contract: {problem}")


def prepare(name: str, root: Path, *, seed: int = 7, regenerate: bool = False) -> Any:
    """World `name` under `root`, generated if absent, stale or asked to; returns its paths."""
    if name == "shapes":
        from senri.worlds.shapes.run import prepare_world

        return prepare_world(Path(root), seed=seed, regenerate=regenerate)
    if name == "street":
        from senri.worlds.street.run import prepare_street

        return prepare_street(Path(root), seed=seed, regenerate=regenerate)
    raise ValueError(f"no world {name!r}; worlds: {', '.join(WORLDS)}")


def run(
    name: str,
    root: Path,
    *,
    seed: int = 7,
    regenerate: bool = False,
    on_start: Callable[[Any], None] | None = None,
) -> tuple[Any, Summary]:
    """Generate world `name` under `root` if needed, run its pipeline, score it against its
    truth; returns the run (`senri.engine.run.RunResult`) and the `Summary`."""
    if name == "shapes":
        from senri.worlds.shapes.run import run_demo

        return run_demo(Path(root), seed=seed, regenerate=regenerate, on_start=on_start)
    if name == "street":
        from senri.worlds.street.run import run_street

        return run_street(Path(root), seed=seed, regenerate=regenerate, on_start=on_start)
    raise ValueError(f"no world {name!r}; worlds: {', '.join(WORLDS)}")
