"""Vector search with torch (`TorchKnn`) and the choice of search engine per device.

The torch path must give the FAISS flat path's ids and scores (within 1e-5) through filters,
deletes, replacements, rebuilds and snapshots; chunked and batched scans must not change them;
and a GPU asked for that nobody sees is refused with the reason, never replaced by the CPU.
"""

from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from senri.device import Device
from senri.errors import DeviceError, MissingDependencyError
from senri.indexes.vectors import backend, placement, torch_knn
from senri.indexes.vectors import collection as collection_mod
from senri.indexes.vectors.collection import (
    FaissCollection,
    Hit,
    MetaAnd,
    MetaEq,
    MetaFilter,
    MetaIn,
    MetaNot,
    MetaRange,
    VectorError,
)
from senri.indexes.vectors.placement import search_engine
from senri.indexes.vectors.torch_knn import TorchKnn

pytest.importorskip("faiss")
pytestmark = pytest.mark.unit

DIM = 24
CATS = ("shoe", "bag", "hat", "sock")
FILTERS: list[MetaFilter | None] = [
    None,
    MetaEq("category", "bag"),
    MetaIn("category", ("hat", "sock")),
    MetaAnd(MetaRange("price", gte=10, lt=30), MetaNot(MetaEq("category", "shoe"))),
    MetaRange("price", lt=1),  # fewer matches than k
    MetaEq("category", "none"),  # no match
]


@pytest.fixture
def _torch() -> None:
    pytest.importorskip("torch")


def data(n: int, seed: int = 0, start: int = 0) -> tuple[list[str], np.ndarray, list[dict]]:
    rng = np.random.default_rng(seed)
    ids = [f"item-{i}" for i in range(start, start + n)]
    meta = [{"category": CATS[i % 4], "price": float(i % 50)} for i in range(start, start + n)]
    return ids, rng.standard_normal((n, DIM)).astype(np.float32), meta


def twins(metric: str, **kwargs: Any) -> tuple[FaissCollection, FaissCollection]:
    """The FAISS flat reference (never leaves flat) and a torch-searched collection."""
    ref = FaissCollection(DIM, metric, exact_below=10**9)  # type: ignore[arg-type]
    tch = FaissCollection(DIM, metric, search_backend="torch", **kwargs)  # type: ignore[arg-type]
    return ref, tch


def both(cs: tuple[FaissCollection, ...], method: str, *args: Any) -> None:
    for c in cs:
        getattr(c, method)(*args)


def assert_parity(
    ref: FaissCollection, tch: FaissCollection, queries: np.ndarray, k: int = 10
) -> None:
    for f in FILTERS:
        want, got = ref.search(queries, k, filter=f), tch.search(queries, k, filter=f)
        for a, b in zip(want, got, strict=True):
            assert [h.id for h in b] == [h.id for h in a], f
            np.testing.assert_allclose([h.score for h in b], [h.score for h in a], atol=1e-5)
            assert [h.metadata for h in b] == [h.metadata for h in a]


def queries_for(x: np.ndarray, n: int = 12, seed: int = 7) -> np.ndarray:
    """Random queries plus two stored vectors (distance 0: where cancellation would show)."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.standard_normal((n, DIM)).astype(np.float32), x[3], x[17]])


# ---- TorchKnn on its own ----------------------------------------------------------------------


@pytest.mark.usefixtures("_torch")
@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("chunk_rows", [1, 7, 1_000_000])
def test_torch_knn_is_exact_with_any_chunking(metric: str, chunk_rows: int) -> None:
    _, x, _ = data(300)
    if metric == "cosine":
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = queries_for(x)
    if metric == "cosine":
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    mask = np.arange(300) % 3 != 0
    knn = TorchKnn(DIM, metric, Device("cpu"), chunk_rows=chunk_rows)  # type: ignore[arg-type]
    knn.extend(x[:100])
    knn.extend(x[100:])
    scores, labels = knn.search(q, 5, mask)
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    for qi in range(len(q)):
        exact = -(x64 @ q64[qi]) if metric == "cosine" else np.linalg.norm(x64 - q64[qi], axis=1)
        exact[~mask] = np.inf
        best = np.argsort(exact, kind="stable")[:5]
        assert labels[qi].tolist() == best.tolist()
        want = -exact[best] if metric == "cosine" else exact[best]
        np.testing.assert_allclose(scores[qi], want, atol=1e-5)


@pytest.mark.usefixtures("_torch")
def test_torch_knn_l2_far_from_the_origin() -> None:
    """||x||² ~ 2e6 leaves fp32's expansion no digits for distances ~0.1: shifting keeps them."""
    rng = np.random.default_rng(0)
    x = (300 + 0.05 * rng.standard_normal((2000, DIM))).astype(np.float32)
    q = (300 + 0.05 * rng.standard_normal((30, DIM))).astype(np.float32)
    knn = TorchKnn(DIM, "l2", Device("cpu"))
    knn.extend(x)
    scores, labels = knn.search(q, 5)
    for qi in range(len(q)):
        exact = np.linalg.norm(x.astype(np.float64) - q[qi], axis=1)
        assert labels[qi].tolist() == np.argsort(exact)[:5].tolist()
        np.testing.assert_allclose(scores[qi], np.sort(exact)[:5], atol=1e-4)


@pytest.mark.usefixtures("_torch")
def test_torch_knn_pads_past_the_allowed_rows_and_batches_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, x, _ = data(50)
    knn = TorchKnn(DIM, "l2", Device("cpu"))
    knn.reset(x)
    mask = np.zeros(50, bool)
    mask[[4, 9]] = True
    scores, labels = knn.search(x[[9, 4]], 4, mask)
    assert labels.tolist() == [[9, 4, -1, -1], [4, 9, -1, -1]]
    assert scores[0, 0] == 0.0 and np.isnan(scores[:, 2:]).all()
    whole = knn.search(x, 3)
    monkeypatch.setattr(torch_knn, "_SCORE_BUDGET", 50 * 3)  # a few queries per step
    batched = knn.search(x, 3)
    np.testing.assert_array_equal(batched[1], whole[1])
    np.testing.assert_allclose(batched[0], whole[0], atol=1e-6)
    with pytest.raises(ValueError, match="mask"):
        knn.search(x[:1], 1, np.ones(3, bool))
    knn.reset(x[:2])
    assert len(knn) == 2 and knn.search(x[:1], 5)[1].tolist() == [[0, 1, -1, -1, -1]]


# ---- FaissCollection with search_backend="torch" ---------------------------------------------


@pytest.mark.usefixtures("_torch")
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_torch_collection_matches_faiss_flat_through_writes(metric: str) -> None:
    ref, tch = twins(metric)
    ids, x, meta = data(400)
    both((ref, tch), "upsert", ids, x, meta)
    assert tch.engine == "torch" and ref.engine == "faiss"
    assert_parity(ref, tch, queries_for(x))
    ids2, x2, meta2 = data(100, seed=1, start=400)  # appended after a search: uploaded then
    both((ref, tch), "upsert", ids2, x2, meta2)
    assert_parity(ref, tch, queries_for(x2, seed=8))
    both((ref, tch), "delete", ids[::7])  # tombstones: masked rows
    _, x3, _ = data(30, seed=2)  # replacements: old rows die, new ones are appended
    both((ref, tch), "upsert", ids[1:31], x3, meta[1:31])
    assert len(tch) == len(ref)
    assert_parity(ref, tch, queries_for(x3, seed=9))


@pytest.mark.usefixtures("_torch")
@pytest.mark.parametrize("approx", ["hnsw", "ivfpq"])
def test_torch_collection_stays_exact_across_rebuilds(approx: str) -> None:
    """Crossing `exact_below` and compacting tombstones rebuild the layout: a full re-upload."""
    ref, tch = twins("cosine", exact_below=300, approx=approx, rebuild_ratio=0.1)
    ids, x, meta = data(600)
    both((ref, tch), "upsert", ids[:200], x[:200], meta[:200])
    tch.search(x[0], 3)
    both((ref, tch), "upsert", ids[200:], x[200:], meta[200:])
    assert tch.kind == approx
    assert_parity(ref, tch, queries_for(x))
    layout = tch._layout
    both((ref, tch), "delete", ids[:100])  # past rebuild_ratio: compaction
    assert tch._layout != layout
    assert_parity(ref, tch, queries_for(x, seed=3))


@pytest.mark.usefixtures("_torch")
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_torch_collection_after_save_and_load(metric: str, tmp_path: Path) -> None:
    ref, tch = twins(metric, exact_below=250)
    ids, x, meta = data(400)
    both((ref, tch), "upsert", ids, x, meta)
    both((ref, tch), "delete", ids[5:40:3])
    tch.save(tmp_path / "c")
    again = FaissCollection.load(tmp_path / "c", search_backend="torch")
    assert again.engine == "torch" and again.kind == "hnsw" and len(again) == len(ref)
    assert_parity(ref, again, queries_for(x))
    assert FaissCollection.load(tmp_path / "c").engine == "faiss"


@pytest.mark.usefixtures("_torch")
def test_torch_collection_with_tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collection_mod, "TorchKnn", functools.partial(TorchKnn, chunk_rows=13))
    ref, tch = twins("l2")
    assert tch._knn is not None and tch._knn.chunk_rows == 13
    ids, x, meta = data(300)
    both((ref, tch), "upsert", ids, x, meta)
    both((ref, tch), "delete", ids[::5])
    assert_parity(ref, tch, queries_for(x))


@pytest.mark.usefixtures("_torch")
def test_torch_collection_searches_while_writes_happen() -> None:
    _, tch = twins("cosine")
    ids, x, meta = data(800)
    tch.upsert(ids[:100], x[:100], meta[:100])
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                for hits in tch.search(x[:4], 5, filter=MetaEq("category", "shoe")):
                    assert all(h.metadata["category"] == "shoe" for h in hits)
            except BaseException as exc:  # reported below, with the test's traceback
                errors.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    for start in range(100, 800, 50):
        tch.upsert(ids[start : start + 50], x[start : start + 50], meta[start : start + 50])
        tch.delete(ids[start - 100 : start - 90])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    hit: Hit = tch.search(x[799], 1)[0][0]
    assert hit.id == "item-799"


# ---- which engine answers, per device ---------------------------------------------------------

ENGINES = [
    # device, search_backend, faiss-gpu sees it, torch CUDA sees it, engine or error
    ("cpu", "auto", False, False, "faiss"),
    ("cpu", "faiss", True, True, "faiss"),
    ("cpu", "torch", False, False, "torch"),
    ("cuda", "auto", True, True, "faiss-gpu"),
    ("cuda", "auto", False, True, "torch"),
    ("cuda:1", "torch", True, True, "torch"),
    ("cuda", "auto", False, False, "cuda:0 asked for, but neither faiss-gpu nor a CUDA torch"),
    ("cuda:1", "faiss", False, True, "cuda:1 asked for with search_backend='faiss'"),
    ("cuda", "torch", True, False, "cuda:0 asked for, but a CUDA torch does not see it"),
]


@pytest.mark.parametrize(("device", "choice", "faiss_gpu", "torch_gpu", "expected"), ENGINES)
def test_search_engine_per_device(
    monkeypatch: pytest.MonkeyPatch,
    device: str,
    choice: str,
    faiss_gpu: bool,
    torch_gpu: bool,
    expected: str,
) -> None:
    def available(d: Device | None) -> bool:
        return faiss_gpu and d is not None and d.kind == "cuda"

    monkeypatch.setattr(backend.GpuMirror, "available", staticmethod(available))
    monkeypatch.setattr(placement, "cuda_problem", lambda d: None if torch_gpu else "no GPU here")
    if " " not in expected:
        assert search_engine(Device.parse(device), choice) == expected  # type: ignore[arg-type]
        return
    with pytest.raises(DeviceError) as info:
        search_engine(Device.parse(device), choice)  # type: ignore[arg-type]
    assert expected in str(info.value)


def test_bad_search_backend_is_refused() -> None:
    with pytest.raises(VectorError, match="search_backend must be"):
        FaissCollection(DIM, search_backend="gpu")  # type: ignore[arg-type]


def _no_gpu() -> None:
    if backend.GpuMirror.available(Device("cuda")):
        pytest.skip("faiss-gpu sees a GPU")
    if torch_knn.cuda_problem(Device("cuda")) is None:
        pytest.skip("torch sees a GPU")


def test_cuda_without_a_gpu_is_refused_with_the_reason(tmp_path: Path) -> None:
    _no_gpu()
    message = "device cuda:0 asked for, but neither faiss-gpu nor a CUDA torch sees a GPU"
    with pytest.raises(DeviceError, match=message) as info:
        FaissCollection(DIM, device=Device("cuda"))
    assert "faiss is a CPU-only build" in str(info.value) or "faiss-gpu sees" in str(info.value)
    FaissCollection(DIM).save(tmp_path / "c")
    with pytest.raises(DeviceError, match="cuda:2 asked for, but neither"):
        FaissCollection.load(tmp_path / "c", device=Device("cuda", 2))
    with pytest.raises(DeviceError, match="cuda:0 asked for, but a CUDA torch does not see it"):
        FaissCollection(DIM, device=Device("cuda"), search_backend="torch")


def test_torch_missing_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(MissingDependencyError, match="vector search on the GPU needs the 'torch'"):
        TorchKnn(DIM, "cosine", Device("cpu"))
    assert torch_knn.cuda_problem(Device("cuda")) == "torch is not installed"


def test_cuda_collection_matches_faiss_flat_on_a_gpu() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU for torch")
    ref = FaissCollection(DIM, "l2", exact_below=10**9)
    gpu = FaissCollection(DIM, "l2", device=Device("cuda"), search_backend="torch")
    ids, x, meta = data(500)
    both((ref, gpu), "upsert", ids, x, meta)
    both((ref, gpu), "delete", ids[::9])
    assert_parity(ref, gpu, queries_for(x))


# ---- the --device options ---------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENRI_HOME", str(tmp_path / "home"))
    return tmp_path


def test_similar_device_option(home: Path) -> None:
    import cv2

    from senri.cli import app
    from senri.indexes.vectors.collections import collection_path
    from senri.operators.embed import DIM as IMAGE_DIM

    FaissCollection(IMAGE_DIM).save(collection_path("shop"))
    query = home / "q.png"
    cv2.imwrite(str(query), np.zeros((8, 8, 3), np.uint8))
    runner = CliRunner()
    bad = runner.invoke(app, ["similar", str(query), "-c", "shop", "--device", "gpu"])
    assert bad.exit_code == 2 and "use cpu, cuda or cuda:N" in bad.output
    _no_gpu()
    res = runner.invoke(app, ["similar", str(query), "-c", "shop", "--device", "cuda:1"])
    assert res.exit_code == 1
    assert "cuda:1 asked for, but neither faiss-gpu nor a CUDA torch" in " ".join(
        res.output.split()
    )


def test_serve_device_option(home: Path) -> None:
    pytest.importorskip("uvicorn")
    from senri.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["serve", "--device", "auto"])
    assert bad.exit_code == 2 and "use cpu, cuda or cuda:N" in bad.output
    _no_gpu()
    res = runner.invoke(app, ["serve", "--device", "cuda"])
    assert res.exit_code == 1
    assert "neither faiss-gpu nor a CUDA torch sees a GPU" in " ".join(res.output.split())
