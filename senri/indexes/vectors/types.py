"""The vector-collection protocol and the values it speaks (`senri.indexes.vectors.collection`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from senri.errors import SenriError
from senri.indexes.vectors.backend import Metric
from senri.indexes.vectors.filters import MetaFilter, Scalar


class VectorError(SenriError, ValueError):
    """Bad input to a vector collection (wrong dimension, NaN, duplicate ids, k <= 0 …)."""


@dataclass(frozen=True)
class Hit:
    """One search result. `score`: cosine similarity in [-1, 1] (higher is closer) or Euclidean
    distance (lower is closer), matching the collection's metric."""

    id: str
    score: float
    metadata: Mapping[str, Scalar]


@dataclass(frozen=True)
class Item:
    """A stored item; for cosine collections `vector` is the unit-normalised vector."""

    id: str
    vector: np.ndarray
    metadata: Mapping[str, Scalar]


class VectorCollection(Protocol):
    """Nearest-neighbour search over items with string ids and scalar metadata."""

    dim: int
    metric: Metric

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadata: Sequence[Mapping[str, Scalar]] | None = None,
    ) -> None: ...

    def delete(self, ids: Sequence[str]) -> int: ...

    def search(
        self, vectors: np.ndarray, k: int, filter: MetaFilter | None = None
    ) -> list[list[Hit]]: ...

    def get(self, id: str) -> Item | None: ...

    def __len__(self) -> int: ...


class PersistentCollection(VectorCollection, Protocol):
    """The capability to write an atomic snapshot (reopened by the backend's ``load``)."""

    def save(self, path: str | Path | None = None) -> Path: ...


class RWLock:
    """Many readers or one writer; a waiting writer blocks new readers so writes never starve."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()
