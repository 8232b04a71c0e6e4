"""Vector collections: "find things that look like this" for products, designs, stickers, faces.

A collection is a FAISS index + external string ids + flat metadata per item. `VectorCollection`
is the protocol; `FaissCollection` the implementation (CPU FAISS; on a GPU, GPU FAISS or an exact
torch scan, `senri.indexes.vectors.torch_knn`). Filters are the metadata filters of
`senri.indexes.vectors.filters`, applied inside the search. Snapshots are atomic
(`senri.indexes.vectors.persist`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from senri.device import Device
from senri.errors import SenriError
from senri.indexes.vectors import backend as backend
from senri.indexes.vectors import persist as persist
from senri.indexes.vectors.backend import IndexParams, Kind, Metric
from senri.indexes.vectors.filters import (
    MetaAnd,
    MetaEq,
    MetaExists,
    MetaFilter,
    MetaIn,
    MetaNot,
    MetaOr,
    MetaRange,
    Scalar,
    check_filter,
    check_key,
    check_value,
    meta_matches,
)
from senri.indexes.vectors.placement import SearchBackend, search_engine
from senri.indexes.vectors.torch_knn import TorchKnn
from senri.indexes.vectors.types import (
    Hit,
    Item,
    PersistentCollection,
    RWLock,
    VectorCollection,
    VectorError,
)

__all__ = [
    "FaissCollection",
    "Hit",
    "IndexParams",
    "Item",
    "MetaAnd",
    "MetaEq",
    "MetaExists",
    "MetaIn",
    "MetaNot",
    "MetaOr",
    "MetaRange",
    "PersistentCollection",
    "SearchBackend",
    "VectorCollection",
    "VectorError",
    "search_engine",
]

_CHUNK = 16_384  # rows per block in exact scans, bounding temporary memory


class FaissCollection:
    """A FAISS-backed `VectorCollection`: exact while small, HNSW or IVF-PQ once large.

    - Index by size: ``IndexIDMap2(IndexFlatIP/L2)`` (exact) below `exact_below` live items;
      when an upsert crosses it the index is rebuilt from the stored vectors as `approx`
      (``"hnsw"``, or ``"ivfpq"`` trained on them). HNSW cannot remove, so deletes and replaced
      items become tombstones, hidden by an ID selector, and the collection compacts and rebuilds
      once they pass `rebuild_ratio` of the live items.
    - Filters (see `vector_filters`) become a FAISS ID selector inside the search, so `k` hits
      come back when `k` items match; small matching sets on approximate indexes (at most
      `filter_scan_below`) are searched exactly instead (HNSW's flat storage with the selector,
      or a scan for IVF-PQ), and an approximate search that finds fewer than `k` falls back to
      an exact scan of the matching items.
    - Exact vectors are kept beside the index: approximate candidates are re-ranked with them, so
      scores are exact, and rebuilds need no original data.
    - Cosine normalises vectors and queries (scores in [-1, 1]); l2 scores are Euclidean distances.
    - Thread-safe: searches share a readers-writer lock, writes take it exclusively; FAISS
      releases the GIL, so searches run in parallel.
    - `save()` writes an atomic snapshot (see `vector_persist`); `FaissCollection.load(path)`.
    - Where searches run: `device` and `search_backend` (`placement.search_engine`), checked
      here, so a GPU that is not there fails now with `DeviceError`, never falling back to the
      CPU. ``Device("cpu")``: CPU FAISS, or with ``search_backend="torch"`` an exact torch scan
      (for tests and comparisons). ``Device("cuda", n)``: GPU FAISS when faiss-gpu sees GPU n
      (flat/IVF-PQ, unfiltered searches; the rest stays on the CPU), else an exact torch scan
      on ``cuda:n``; ``"faiss"`` or ``"torch"`` insist on one. The torch scan answers every
      search, filtered or not, whatever `kind`, with the flat index's ids and scores; its copy
      of the vectors follows writes lazily (appends uploaded at the next search, rebuilds
      re-uploaded, deletes masked).

    Example:
        >>> c = FaissCollection(dim=3)
        >>> c.upsert(["a", "b"], np.array([[1, 0, 0], [0, 1, 0]]), [{"cat": "x"}, {"cat": "y"}])
        >>> [h.id for h in c.search(np.array([1, 0.1, 0]), k=1, filter=MetaEq("cat", "y"))[0]]
        ['b']
    """

    def __init__(
        self,
        dim: int,
        metric: Metric = "cosine",
        path: str | Path | None = None,
        *,
        exact_below: int = 50_000,
        approx: Kind = "hnsw",
        params: IndexParams | None = None,
        rebuild_ratio: float = 0.25,
        filter_scan_below: int = 10_000,
        device: Device | None = None,
        search_backend: SearchBackend = "auto",
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise VectorError(f"dim must be a positive int; got {dim!r}")
        if metric not in ("cosine", "l2"):
            raise VectorError(f"metric must be 'cosine' or 'l2'; got {metric!r}")
        if approx not in ("hnsw", "ivfpq"):
            raise VectorError(f"approx must be 'hnsw' or 'ivfpq'; got {approx!r}")
        if exact_below < 1 or rebuild_ratio <= 0 or filter_scan_below < 0:
            raise VectorError("exact_below >= 1, rebuild_ratio > 0, filter_scan_below >= 0")
        self.dim = dim
        self.metric: Metric = metric
        self.path = Path(path) if path is not None else None
        self.exact_below = exact_below
        self.approx: Kind = approx
        self.params = params or IndexParams()
        self.rebuild_ratio = rebuild_ratio
        self.filter_scan_below = filter_scan_below
        self.device = device or Device("cpu")
        self.search_backend: SearchBackend = search_backend
        self.engine = search_engine(self.device, search_backend)
        self._lock = RWLock()
        self._mutex = threading.Lock()  # the filter cache and GPU mirrors, touched by readers
        self._save_lock = threading.Lock()
        self._gpu = (
            backend.GpuMirror(self.device, self.params.nprobe)
            if self.engine == "faiss-gpu"
            else None
        )
        self._gpu_index: tuple[int, Any] | None = None
        self._knn = TorchKnn(dim, metric, self.device) if self.engine == "torch" else None
        self._knn_synced = (0, 0)  # (layout, rows) the torch copy holds
        self._cache: OrderedDict[Any, tuple[int, np.ndarray, Any]] = OrderedDict()
        self._reset(np.zeros((0, dim), np.float32), [], [], kind="flat")

    # ---- state -----------------------------------------------------------------------------

    def _reset(
        self,
        data: np.ndarray,
        ids: list[str | None],
        meta: list[dict[str, Scalar] | None],
        kind: Kind,
        index: Any = None,
    ) -> None:
        """Adopt rows `data` (labels 0..n-1) and build (or take) an index of `kind` over the
        live ones."""
        n = len(ids)
        self._data = np.ascontiguousarray(data, dtype=np.float32)
        self._n = n
        self._ids = ids
        self._meta = meta
        self._alive = np.array([i is not None for i in ids] + [False] * (len(data) - n), bool)
        self._label = {i: lab for lab, i in enumerate(ids) if i is not None}
        self._dead = n - len(self._label)
        self._kind: Kind = kind
        if index is None:
            labels = np.arange(n, dtype=np.int64)
            index = backend.build(kind, self.dim, self.metric, self._data[:n], labels, self.params)
        self._index = index
        self._trained_on = len(self._label) if kind == "ivfpq" else 0
        self._version = getattr(self, "_version", 0) + 1
        self._layout = getattr(self, "_layout", 0) + 1  # rows below _n change only here

    def _rebuild(self, kind: Kind) -> None:
        live = np.flatnonzero(self._alive[: self._n])
        ids = [self._ids[i] for i in live]
        meta = [self._meta[i] for i in live]
        self._reset(self._data[live], ids, meta, kind)

    def _maybe_rebuild(self) -> None:
        live = len(self._label)
        target: Kind = self.approx if live >= self.exact_below else "flat"
        crossed = self._kind == "flat" and target != "flat"
        if crossed or self._dead > self.rebuild_ratio * max(live, 64):
            self._rebuild(target)
        elif self._kind == "ivfpq" and live > 4 * max(self._trained_on, 1):
            self._rebuild("ivfpq")  # retrain: the coarse quantizer no longer fits the data

    @property
    def kind(self) -> Kind:
        """The index type in use now: ``flat``, ``hnsw`` or ``ivfpq``."""
        return self._kind

    def __len__(self) -> int:
        return len(self._label)

    # ---- validation --------------------------------------------------------------------------

    def _matrix(self, vectors: Any, rows: int | None, what: str) -> np.ndarray:
        try:
            x = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise VectorError(f"{what} must be a numeric array: {exc}") from None
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise VectorError(f"{what} must have shape (n, {self.dim}); got {np.shape(vectors)}")
        if rows is not None and len(x) != rows:
            raise VectorError(f"got {rows} ids but {len(x)} {what}")
        if not np.isfinite(x).all():
            bad = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
            raise VectorError(f"{what} row {bad} contains NaN or infinity")
        if self.metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            if (norms == 0).any():
                bad = int(np.flatnonzero(norms[:, 0] == 0)[0])
                raise VectorError(f"{what} row {bad} is all zeros; cosine needs a direction")
            x = x / norms
        return np.ascontiguousarray(x, dtype=np.float32)

    @staticmethod
    def _id_list(ids: Sequence[str], unique: bool) -> list[str]:
        if isinstance(ids, str):
            raise VectorError("ids must be a sequence of strings, not one string")
        out = list(ids)
        for i in out:
            if not isinstance(i, str) or not i:
                raise VectorError(f"ids must be non-empty strings; got {i!r}")
        if unique and len(set(out)) != len(out):
            dup = sorted({i for i in out if out.count(i) > 1})[:5]
            raise VectorError(f"duplicate ids in one upsert: {dup}")
        return out

    @staticmethod
    def _meta_list(metadata: Sequence[Mapping[str, Scalar]] | None, n: int) -> list[dict]:
        if metadata is None:
            return [{} for _ in range(n)]
        out = list(metadata)
        if len(out) != n:
            raise VectorError(f"got {n} ids but {len(out)} metadata entries")
        for md in out:
            if not isinstance(md, Mapping):
                raise VectorError(f"metadata entries must be mappings; got {type(md).__name__}")
            for key, value in md.items():
                check_value(check_key(key), value)
        return [dict(md) for md in out]

    # ---- writes ------------------------------------------------------------------------------

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadata: Sequence[Mapping[str, Scalar]] | None = None,
    ) -> None:
        """Add items, replacing any with the same id (vector and metadata both)."""
        id_list = self._id_list(ids, unique=True)
        x = self._matrix(vectors, len(id_list), "vectors")
        metas = self._meta_list(metadata, len(id_list))
        if not id_list:
            return
        with self._lock.write():
            self._kill([self._label.pop(i) for i in id_list if i in self._label])
            start, end = self._n, self._n + len(id_list)
            if end > len(self._data):
                grown = np.zeros((max(end, 2 * len(self._data), 1024), self.dim), np.float32)
                grown[:start] = self._data[:start]
                self._data = grown
                alive = np.zeros(len(grown), bool)
                alive[:start] = self._alive[:start]
                self._alive = alive
            self._data[start:end] = x
            self._alive[start:end] = True
            self._ids.extend(id_list)
            self._meta.extend(metas)
            self._label.update((i, start + j) for j, i in enumerate(id_list))
            self._n = end
            if self._kind == "hnsw":
                self._index.add(x)
            else:
                self._index.add_with_ids(x, np.arange(start, end, dtype=np.int64))
            self._version += 1
            self._maybe_rebuild()

    def delete(self, ids: Sequence[str]) -> int:
        """Remove items by id; returns how many existed (unknown ids are ignored)."""
        id_list = list(dict.fromkeys(self._id_list(ids, unique=False)))
        with self._lock.write():
            labels = [self._label.pop(i) for i in id_list if i in self._label]
            if labels:
                self._kill(labels)
                self._version += 1
                self._maybe_rebuild()
        return len(labels)

    def _kill(self, labels: list[int]) -> None:
        if not labels:
            return
        for lab in labels:
            self._ids[lab] = None
            self._meta[lab] = None
        self._alive[labels] = False
        self._dead += len(labels)
        if self._kind != "hnsw":
            self._index.remove_ids(np.asarray(labels, dtype=np.int64))

    # ---- reads -------------------------------------------------------------------------------

    def get(self, id: str) -> Item | None:
        """The stored item with this id, or None."""
        with self._lock.read():
            lab = self._label.get(id)
            if lab is None:
                return None
            md = self._meta[lab] or {}
            return Item(id, self._data[lab].copy(), dict(md))

    def search(
        self, vectors: np.ndarray, k: int, filter: MetaFilter | None = None
    ) -> list[list[Hit]]:
        """The `k` nearest items to each query vector (one row or a (n, dim) array), best first,
        among the items matching `filter`; one list per query, shorter only when fewer match."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
            raise VectorError(f"k must be a positive int; got {k!r}")
        queries = self._matrix(vectors, None, "query vectors")
        if filter is not None:
            check_filter(filter)
        with self._lock.read():
            subset, sel = (None, None) if filter is None else self._matching(filter)
            count = len(self._label) if subset is None else len(subset)
            want = min(int(k), count)
            if want == 0:
                return [[] for _ in queries]
            if self._knn is not None:
                return self._torch_search(queries, want, subset)
            kind = self._kind
            if subset is not None and kind != "flat" and count <= self.filter_scan_below:
                if kind == "ivfpq":
                    return [self._hits(*self._scan(q, want, subset)) for q in queries]
                kind = "flat"  # exact: HNSW's flat storage holds every row, ids == labels
            if subset is None and kind == "hnsw" and self._dead:
                sel = self._tombstones()
            return self._index_search(queries, want, subset, sel, kind)

    def _index_search(
        self, queries: np.ndarray, want: int, subset: np.ndarray | None, sel: Any, kind: Kind
    ) -> list[list[Hit]]:
        fetch = max(want * self.params.refine, 64) if kind == "ivfpq" else want
        fetch = min(fetch, self._n)
        index = self._index
        if kind != self._kind:
            index = backend.load_faiss().downcast_index(index.storage)
        gpu = self._gpu_mirror() if subset is None else None
        if gpu is not None:
            _, found = backend.search_gpu(gpu, queries, fetch)
        else:
            _, found = backend.search(index, kind, queries, fetch, sel, self.params)
        out = []
        for q, row in zip(queries, found, strict=True):
            labels = row[row >= 0]
            if len(labels) < want:  # approximate search missed some: scan the candidates exactly
                everyone = np.flatnonzero(self._alive[: self._n]) if subset is None else subset
                labels, keys = self._scan(q, want, everyone)
            else:  # re-rank with the exact vectors: exact scores, and IVF-PQ's order corrected
                labels, keys = self._rank(labels, self._keys(q, self._data[labels]), want)
            out.append(self._hits(labels, keys))
        return out

    def _torch_search(
        self, queries: np.ndarray, want: int, subset: np.ndarray | None
    ) -> list[list[Hit]]:
        """Exact search with `TorchKnn`, re-ranked like the flat path (same scores, same ties)."""
        knn = self._torch_mirror()
        mask = None if len(self._label) == self._n else self._alive[: self._n]
        if subset is not None:
            mask = np.zeros(self._n, bool)
            mask[subset] = True
        _, found = knn.search(queries, want, mask)
        return [
            self._hits(*self._rank(row, self._keys(q, self._data[row]), want))
            for q, row in zip(queries, found, strict=True)
        ]

    def _torch_mirror(self) -> TorchKnn:
        """The torch copy, brought up to date: rows appended since the last search are
        uploaded, a rebuild (a new layout) re-uploads all (readers share this; writes wait)."""
        assert self._knn is not None
        with self._mutex:
            layout, rows = self._knn_synced
            if layout != self._layout or rows > self._n:
                self._knn.reset(self._data[: self._n])
            elif rows < self._n:
                self._knn.extend(self._data[rows : self._n])
            self._knn_synced = (self._layout, self._n)
        return self._knn

    def _keys(self, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Sort keys, smaller = closer: negative cosine, or squared Euclidean distance."""
        if self.metric == "cosine":
            return -(rows @ q)
        diff = rows - q
        return np.einsum("ij,ij->i", diff, diff)

    @staticmethod
    def _rank(labels: np.ndarray, keys: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((labels, keys))[:want]  # ties broken by label: deterministic
        return labels[order], keys[order]

    def _scan(self, q: np.ndarray, want: int, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-`want` among `labels`, block by block."""
        best_l = np.zeros(0, np.int64)
        best_k = np.zeros(0, np.float32)
        for start in range(0, len(labels), _CHUNK):
            block = labels[start : start + _CHUNK]
            keys = self._keys(q, self._data[block])
            if len(block) > want:
                part = np.argpartition(keys, want - 1)[:want]
                block, keys = block[part], keys[part]
            best_l, best_k = self._rank(
                np.concatenate([best_l, block]), np.concatenate([best_k, keys]), want
            )
        return best_l, best_k

    def _hits(self, labels: np.ndarray, keys: np.ndarray) -> list[Hit]:
        if self.metric == "cosine":
            scores = np.clip(-keys, -1.0, 1.0)
        else:
            scores = np.sqrt(np.maximum(keys, 0.0))
        return [
            Hit(str(self._ids[lab]), float(s), dict(self._meta[lab] or {}))
            for lab, s in zip(labels.tolist(), scores.tolist(), strict=True)
        ]

    def _matching(self, f: MetaFilter) -> tuple[np.ndarray, Any]:
        """Labels of live items matching `f` and an ID selector for them, cached per version."""
        key: Any = f
        try:
            hash(f)
        except TypeError:  # a filter holding an unhashable value: evaluate without caching
            key = None
        with self._mutex:
            hit = self._cache.get(key) if key is not None else None
            if hit is not None and hit[0] == self._version:
                self._cache.move_to_end(key)
                return hit[1], hit[2]
        meta = self._meta
        labels = np.array(
            [
                lab
                for lab in range(self._n)
                if (md := meta[lab]) is not None and meta_matches(f, md)
            ],
            dtype=np.int64,
        )
        sel = backend.selector(labels) if len(labels) else None
        if key is not None:
            with self._mutex:
                self._cache[key] = (self._version, labels, sel)
                while len(self._cache) > 64:
                    self._cache.popitem(last=False)
        return labels, sel

    def _tombstones(self) -> Any:
        key = ("__tombstones__",)
        with self._mutex:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == self._version:
                return hit[2].sel
            excl = backend.Excluding(np.flatnonzero(~self._alive[: self._n]))
            self._cache[key] = (self._version, np.zeros(0, np.int64), excl)
            return excl.sel

    def _gpu_mirror(self) -> Any | None:
        if self._gpu is None or self._kind == "hnsw":
            return None
        with self._mutex:
            if self._gpu_index is None or self._gpu_index[0] != self._version:
                gpu = self._gpu.mirror(self._index, self._kind)
                self._gpu_index = None if gpu is None else (self._version, gpu)
            return None if self._gpu_index is None else self._gpu_index[1]

    # ---- persistence -------------------------------------------------------------------------

    def save(self, path: str | Path | None = None) -> Path:
        """Write an atomic snapshot to `path` (default: the constructor's); returns its dir."""
        root = Path(path) if path is not None else self.path
        if root is None:
            raise VectorError("save() needs a path: pass one here or to the constructor")
        faiss = backend.load_faiss()
        with self._save_lock:
            with self._lock.read():  # copy under the lock, write files outside it
                state = {
                    "dim": self.dim,
                    "metric": self.metric,
                    "kind": self._kind,
                    "approx": self.approx,
                    "exact_below": self.exact_below,
                    "rebuild_ratio": self.rebuild_ratio,
                    "filter_scan_below": self.filter_scan_below,
                    "params": asdict(self.params),
                    "trained_on": self._trained_on,
                    "ids": list(self._ids),
                    "metadata": list(self._meta),
                }
                snap = persist.Snapshot(
                    state, self._data[: self._n].copy(), faiss.serialize_index(self._index)
                )
            return persist.save(root, snap)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        device: Device | None = None,
        search_backend: SearchBackend = "auto",
    ) -> FaissCollection:
        """Reopen the live snapshot saved under `path`, searching on `device` (see the class)."""
        snap = persist.load(Path(path))
        s = snap.state
        c = cls(
            s["dim"],
            s["metric"],
            path,
            exact_below=s["exact_below"],
            approx=s["approx"],
            params=IndexParams(**s["params"]),
            rebuild_ratio=s["rebuild_ratio"],
            filter_scan_below=s["filter_scan_below"],
            device=device,
            search_backend=search_backend,
        )
        index = backend.load_faiss().deserialize_index(snap.index)
        c._reset(snap.vectors, s["ids"], s["metadata"], s["kind"], index=index)
        c._trained_on = s["trained_on"]
        expected = c._n if c._kind == "hnsw" else len(c)
        if index.ntotal != expected or snap.vectors.shape != (c._n, c.dim):
            raise SenriError(f"{path}: snapshot is inconsistent (index holds {index.ntotal})")
        return c
