"""The one place that speaks FAISS for `FaissCollection`: building, searching, GPU mirrors.

Index kinds and how labels (FAISS int64 ids) map to rows of the collection's vector table:

- ``flat``:  ``IndexIDMap2(IndexFlatIP | IndexFlatL2)``, exact; ids are labels; deletes remove.
- ``hnsw``:  ``IndexHNSWFlat``; FAISS's sequential ids ARE labels (every row is added in order and
  none is ever removed, because HNSW cannot remove): deletes are tombstones hidden by a selector
  until the collection compacts and rebuilds.
- ``ivfpq``: ``IndexIVFPQ`` trained on the rows at build time, ids are labels, deletes remove;
  compressed codes give approximate scores, which the collection re-ranks with the exact vectors.

faiss is imported lazily so that importing senri never needs it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from senri.device import Device
from senri.errors import MissingDependencyError

Kind = Literal["flat", "hnsw", "ivfpq"]
Metric = Literal["cosine", "l2"]
log = logging.getLogger(__name__)


def load_faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss-cpu", "vector collections") from exc
    return faiss


@dataclass(frozen=True)
class IndexParams:
    """Tuning knobs of the approximate indexes (defaults suit 10k-1M items of 64-1024 dims)."""

    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128
    nprobe: int = 16
    refine: int = 8
    """IVF-PQ: fetch ``max(refine * k, 64)`` candidates and re-rank them with exact vectors."""
    train_sample: int = 50_000
    seed: int = 1234

    def __post_init__(self) -> None:
        for name in ("hnsw_m", "ef_construction", "ef_search", "nprobe", "refine", "train_sample"):
            if getattr(self, name) < 1:
                raise ValueError(f"IndexParams.{name} must be >= 1")


def ivfpq_shape(n: int, dim: int) -> tuple[int, int, int]:
    """(nlist, m, nbits): ~2*sqrt(n) lists with >= 39 training points each; m sub-quantizers
    of 4+ dims (codes of m bytes, at most 64); 8-bit
    codes once there are enough points to train 256 centroids well."""
    nlist = max(1, min(int(2 * math.sqrt(n)), n // 39))
    m = max(d for d in range(1, min(64, max(1, dim // 4)) + 1) if dim % d == 0)
    nbits = 8 if n >= 39 * 256 else max(4, min(8, int(math.log2(max(2, n // 39)))))
    return nlist, m, nbits


def _metric(faiss: Any, metric: Metric) -> Any:
    return faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2


def build(
    kind: Kind, dim: int, metric: Metric, vectors: np.ndarray, labels: np.ndarray, p: IndexParams
) -> Any:
    """A new index of `kind` holding `vectors` under `labels` (for hnsw, labels == arange(n))."""
    faiss = load_faiss()
    mt = _metric(faiss, metric)
    n = len(vectors)
    if kind == "flat":
        inner = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
        index = faiss.IndexIDMap2(inner)
        if n:
            index.add_with_ids(vectors, labels)
        return index
    if kind == "hnsw":
        if n and not np.array_equal(labels, np.arange(n)):
            raise AssertionError("hnsw rows must be added in label order")
        index = faiss.IndexHNSWFlat(dim, p.hnsw_m, mt)
        index.hnsw.efConstruction = p.ef_construction
        if n:
            index.add(vectors)
        return index
    nlist, m, nbits = ivfpq_shape(max(n, 1), dim)
    quantizer = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, nbits, mt)
    index.cp.seed = p.seed
    rng = np.random.default_rng(p.seed)
    train = vectors
    if n > p.train_sample:
        train = vectors[np.sort(rng.choice(n, p.train_sample, replace=False))]
    index.train(np.ascontiguousarray(train))
    index.add_with_ids(vectors, labels)
    return index


def search(
    index: Any, kind: Kind, queries: np.ndarray, k: int, sel: Any, p: IndexParams
) -> tuple[np.ndarray, np.ndarray]:
    """FAISS search with per-call parameters (never mutating the shared index, so concurrent
    readers are safe) and an optional ID selector applied inside the search."""
    faiss = load_faiss()
    if kind == "hnsw":
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(p.ef_search, k)
    elif kind == "ivfpq":
        params = faiss.SearchParametersIVF()
        params.nprobe = p.nprobe
    else:
        params = faiss.SearchParameters()
    if sel is not None:
        params.sel = sel
    distances, labels = index.search(queries, k, params=params)
    return distances, labels


def search_gpu(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Unfiltered search on a GPU mirror: plain ``search``, as GPU indexes accept few of the
    per-call parameter types."""
    distances, labels = index.search(queries, k)
    return distances, labels


def selector(labels: np.ndarray) -> Any:
    """An ID selector admitting exactly `labels`."""
    return load_faiss().IDSelectorBatch(np.ascontiguousarray(labels, dtype=np.int64))


class Excluding:
    """An ID selector admitting every label except `labels` (HNSW tombstones); keeps the inner
    selector alive as long as the outer one, which FAISS's Python layer does not promise."""

    def __init__(self, labels: np.ndarray) -> None:
        faiss = load_faiss()
        self.inner = selector(labels)
        self.sel = faiss.IDSelectorNot(self.inner)


class GpuMirror:
    """A GPU copy of a flat or IVF-PQ index, for unfiltered searches when CUDA FAISS is present.

    The CPU index stays the source of truth (writes, selectors, save); the mirror is refreshed
    lazily after writes. HNSW has no FAISS GPU implementation and stays on the CPU. Untested
    without a GPU: any failure to mirror logs once and leaves searches on the CPU.
    """

    def __init__(self, device: Device, nprobe: int) -> None:
        self.device = device
        self.nprobe = nprobe
        self._res: Any = None
        self._failed = False

    @staticmethod
    def available(device: Device | None) -> bool:
        if device is None or device.kind != "cuda":
            return False
        faiss = load_faiss()
        return hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > device.index

    def mirror(self, index: Any, kind: Kind) -> Any | None:
        if kind == "hnsw" or self._failed:
            return None
        faiss = load_faiss()
        try:
            if self._res is None:
                self._res = faiss.StandardGpuResources()
            gpu = faiss.index_cpu_to_gpu(self._res, self.device.index, index)
            if kind == "ivfpq":
                gpu.nprobe = self.nprobe  # searched without per-call parameters, see search_gpu
            return gpu
        except Exception as exc:  # a FAISS build or index type without GPU support
            log.warning("FAISS GPU mirror unavailable (%s); searching on the CPU", exc)
            self._failed = True
            return None


def write_index(index: Any, path: str) -> None:
    load_faiss().write_index(index, path)


def read_index(path: str) -> Any:
    return load_faiss().read_index(path)
