"""Exact k-nearest-neighbour search with torch: how `FaissCollection` searches on a GPU without
faiss-gpu (which has no PyPI wheels, while a CUDA torch is a pip install away).

`TorchKnn` keeps the rows as one fp32 tensor on its device (row i is the collection's FAISS
label i; dead rows stay and are masked out) and answers a batch of queries with one matmul and a
``topk`` per chunk of rows, merging the chunks' top-k, so memory stays bounded at any size. On a
GPU that exact scan beats CPU HNSW on 1M vectors, with recall 1.0.

Scores are the collection's: cosine similarity (inner product of unit vectors, higher is closer)
or Euclidean distance (lower is closer). Candidates are chosen with ``2x·q - ||x||²`` (the
``||x||² - 2x·q + ||q||²`` expansion, less the per-query constant) and the winners re-scored
exactly in fp32 (``||x - q||``), because the expansion cancels badly for near-identical vectors.
For l2, rows and queries are shifted by the mean of the first rows (distances do not change),
so the expansion keeps its digits for data far from the origin.

    knn = TorchKnn(512, "cosine", Device("cuda"))
    knn.extend(unit_vectors)
    scores, labels = knn.search(queries, k=10, mask=allowed)  # labels -1 past the allowed rows

torch is imported when a searcher is made, never when this module is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from senri.device import Device
from senri.errors import DeviceError, MissingDependencyError
from senri.indexes.vectors.backend import Metric

CHUNK_ROWS = 1_000_000
"""Rows scored per step by default."""
_SCORE_BUDGET = 1 << 26  # elements of one step's score (or re-score) tensor: 256 MiB of fp32
_MARGIN = 8  # extra candidates re-scored exactly, so rounding never swaps the k-th neighbour


def load_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("torch", "vector search on the GPU") from exc
    return torch


def cuda_problem(device: Device) -> str | None:
    """Why torch cannot run on CUDA `device` (not installed, no CUDA, too few GPUs), or None."""
    try:
        torch = load_torch()
    except MissingDependencyError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__}: torch.cuda.is_available() is False"
    count = int(torch.cuda.device_count())
    if device.index >= count:
        return f"torch sees {count} GPU(s)"
    return None


class TorchKnn:
    """Exact top-k over rows held on a torch device (`Device("cpu")` or `Device("cuda", n)`).

    Not thread-safe for writes: `reset`/`extend` must not run during a `search`, which
    `FaissCollection` ensures (it syncs under its mutex and searches under its read lock).

    Example:
        >>> knn = TorchKnn(2, "l2", Device("cpu"))
        >>> knn.extend(np.array([[0.0, 0.0], [3.0, 4.0]]))
        >>> knn.search(np.array([[3.0, 3.0]]), k=1)[1].tolist()
        [[1]]
    """

    def __init__(
        self, dim: int, metric: Metric, device: Device, *, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self.torch = load_torch()
        if device.kind == "cuda" and (why := cuda_problem(device)) is not None:
            raise DeviceError(
                f"device {device} asked for, but a CUDA torch does not see it ({why})"
            )
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1; got {chunk_rows}")
        self.dim = dim
        self.metric: Metric = metric
        self.device = device
        self.chunk_rows = chunk_rows
        self._where = self.torch.device(str(device))
        self._rows = self.torch.zeros((0, dim), dtype=self.torch.float32, device=self._where)
        self._sq = self.torch.zeros(0, dtype=self.torch.float32, device=self._where)
        self._centre: Any = 0.0  # l2: subtracted from rows and queries, set by the first rows
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _tensor(self, array: np.ndarray) -> Any:
        host = np.require(array, np.float32, ["C", "W"])  # torch refuses read-only arrays
        return self.torch.from_numpy(host).to(self._where)

    def reset(self, vectors: np.ndarray) -> None:
        """Hold exactly `vectors` (row i = label i)."""
        self._n = 0
        self._rows = self._rows.new_zeros((0, self.dim))  # frees the old buffer before the new
        self._sq = self._sq.new_zeros(0)
        self.extend(vectors)

    def extend(self, vectors: np.ndarray) -> None:
        """Append rows, growing the device buffer by doubling (so appends cost their own size)."""
        if len(vectors) == 0:
            return
        x = self._tensor(np.asarray(vectors).reshape(-1, self.dim))
        if self.metric == "l2":
            if self._n == 0:
                self._centre = x.mean(dim=0)
            x = x - self._centre
        start, end = self._n, self._n + len(x)
        if end > len(self._rows):
            size = max(end, 2 * len(self._rows), 1024)
            rows = self.torch.empty((size, self.dim), dtype=self.torch.float32, device=self._where)
            sq = self.torch.empty(size, dtype=self.torch.float32, device=self._where)
            rows[:start] = self._rows[:start]
            sq[:start] = self._sq[:start]
            self._rows, self._sq = rows, sq
        self._rows[start:end] = x
        self._sq[start:end] = (x * x).sum(dim=1)
        self._n = end

    def search(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best rows per query among those `mask` (bool, one per row) allows: (scores,
        labels), both (queries, k), best first, ties by label; labels -1 and scores NaN past
        the allowed rows. Queries must already be unit-normalised for cosine."""
        q = np.asarray(queries, np.float32).reshape(-1, self.dim)
        scores = np.full((len(q), k), np.nan, np.float32)
        labels = np.full((len(q), k), -1, np.int64)
        allow = None
        allowed = self._n
        if mask is not None:
            if mask.shape != (self._n,):
                raise ValueError(f"mask must have shape ({self._n},); got {mask.shape}")
            allowed = int(np.count_nonzero(mask))
            allow = self.torch.from_numpy(np.require(mask, bool, ["C", "W"])).to(self._where)
        take = min(k, allowed)
        if take == 0 or len(q) == 0:
            return scores, labels
        fetch = min(allowed, take + _MARGIN)
        chunk = min(self.chunk_rows, self._n)
        batch = max(1, min(_SCORE_BUDGET // chunk, _SCORE_BUDGET // (fetch * self.dim)))
        with self.torch.inference_mode():
            for s in range(0, len(q), batch):
                qt = self._tensor(q[s : s + batch])
                if self.metric == "l2":
                    qt = qt - self._centre
                idx = self._select(qt, fetch, allow, chunk)
                keys = self._exact(qt, idx).cpu().numpy()
                found = idx.cpu().numpy()
                order = np.lexsort((found, keys), axis=1)[:, :take]
                keys = np.take_along_axis(keys, order, axis=1)
                labels[s : s + batch, :take] = np.take_along_axis(found, order, axis=1)
                scores[s : s + batch, :take] = (
                    -keys if self.metric == "cosine" else np.sqrt(np.maximum(keys, 0.0))
                )
        return scores, labels

    def _select(self, q: Any, fetch: int, allow: Any, chunk: int) -> Any:
        """Labels (batch, fetch) of the best candidates, chunk by chunk (higher = closer)."""
        torch = self.torch
        best_v: Any = None
        best_i: Any = None
        for start in range(0, self._n, chunk):
            end = min(start + chunk, self._n)
            sim = q @ self._rows[start:end].T
            if self.metric == "l2":
                sim = 2 * sim - self._sq[start:end]  # -(||x-q||² - ||q||²)
            if allow is not None:
                sim.masked_fill_(~allow[start:end], float("-inf"))
            v, i = sim.topk(min(fetch, end - start), dim=1)
            i += start
            if best_v is not None:
                v, i = torch.cat([best_v, v], dim=1), torch.cat([best_i, i], dim=1)
                v, pos = v.topk(min(fetch, v.shape[1]), dim=1)
                i = i.gather(1, pos)
            best_v, best_i = v, i
        return best_i

    def _exact(self, q: Any, idx: Any) -> Any:
        """Sort keys of candidates `idx`, smaller = closer: negative cosine, or squared L2."""
        rows = self._rows[idx]  # (batch, fetch, dim)
        if self.metric == "cosine":  # elementwise, not a matmul that TF32 settings would round
            return -(rows * q[:, None, :]).sum(dim=2)
        diff = rows - q[:, None, :]
        return (diff * diff).sum(dim=2)
