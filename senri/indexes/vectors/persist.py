"""Atomic, crash-safe snapshots of a vector collection.

A collection directory holds complete snapshots and a ``CURRENT`` file naming the live one::

    products/
      CURRENT                 "snap-1767261600000000000-3f2a9c1d"
      snap-…/index.faiss      the FAISS index (faiss.serialize_index bytes)
      snap-…/vectors.npy      the exact vectors, one row per label (float32)
      snap-…/state.json       settings, external id and metadata per label

A save writes a new snapshot into a hidden temporary directory, fsyncs it, renames it into
place, and only then swaps ``CURRENT`` with ``os.replace`` (atomic on POSIX and Windows). A crash
at any point leaves ``CURRENT`` naming the previous complete snapshot; leftovers of a failed save
are removed by the next successful one. A directory cannot atomically replace a non-empty
directory, hence the pointer file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from senri.errors import SenriError

FORMAT = 1
CURRENT = "CURRENT"


@dataclass
class Snapshot:
    """Everything needed to reopen a collection; `index` is ``faiss.serialize_index`` bytes."""

    state: dict[str, Any]
    vectors: np.ndarray
    index: np.ndarray


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_index(path: Path, index: np.ndarray) -> None:
    _write_bytes(path, index.tobytes())


def _write_vectors(path: Path, vectors: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, vectors, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _write_state(path: Path, state: dict[str, Any]) -> None:
    _write_bytes(path, json.dumps({"format": FORMAT, **state}).encode())


def save(root: Path, snap: Snapshot) -> Path:
    """Write `snap` as the new live snapshot under `root`; returns its directory."""
    root.mkdir(parents=True, exist_ok=True)
    tag = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".tmp-{tag}"
    tmp.mkdir()
    _write_index(tmp / "index.faiss", snap.index)
    _write_vectors(tmp / "vectors.npy", snap.vectors)
    _write_state(tmp / "state.json", snap.state)
    _fsync_dir(tmp)
    final = root / f"snap-{tag}"
    os.rename(tmp, final)
    pointer = root / f".{CURRENT}.{tag}"
    _write_bytes(pointer, final.name.encode())
    os.replace(pointer, root / CURRENT)
    _fsync_dir(root)
    for old in root.iterdir():
        if old.name != final.name and (old.name.startswith(("snap-", ".tmp-", f".{CURRENT}."))):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    return final


def load(root: Path) -> Snapshot:
    """Read the live snapshot under `root`."""
    try:
        name = (root / CURRENT).read_text().strip()
    except FileNotFoundError:
        raise SenriError(f"no vector collection at {root} (missing {CURRENT})") from None
    snap = root / name
    if not name.startswith("snap-") or not snap.is_dir():
        raise SenriError(f"{root / CURRENT} names {name!r}, which is not a snapshot directory")
    state = json.loads((snap / "state.json").read_text())
    if state.get("format") != FORMAT:
        raise SenriError(f"{snap}: unsupported snapshot format {state.get('format')!r}")
    vectors = np.load(snap / "vectors.npy", allow_pickle=False)
    index = np.frombuffer((snap / "index.faiss").read_bytes(), dtype=np.uint8)
    return Snapshot(state=state, vectors=vectors, index=index)
