"""FaissCollection: exact/approximate search, filters inside search, deletes, snapshots, threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from senri.engine.operator import Device
from senri.errors import QueryError, SenriError
from senri.indexes.events import query as q
from senri.indexes.vectors import persist
from senri.indexes.vectors.collection import (
    FaissCollection,
    Hit,
    IndexParams,
    MetaAnd,
    MetaEq,
    MetaFilter,
    MetaIn,
    MetaNot,
    MetaRange,
    VectorError,
)
from senri.indexes.vectors.filters import meta_matches

pytest.importorskip("faiss")
pytestmark = pytest.mark.unit

DIM = 32
CATS = ("shoe", "bag", "hat", "sock")


def data(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    ids = [f"item-{i}" for i in range(n)]
    meta = [
        {"category": CATS[i % 4], "price": float(i % 100), "time": 1000 + i, "sale": i % 3 == 0}
        for i in range(n)
    ]
    return ids, rng.standard_normal((n, DIM)).astype(np.float32), meta


def brute(
    ids: list[str],
    x: np.ndarray,
    meta: list[dict[str, Any]],
    query: np.ndarray,
    k: int,
    metric: str,
    f: MetaFilter | None = None,
) -> list[tuple[str, float]]:
    """Reference answer in float64 over the matching subset."""
    keep = [i for i, md in enumerate(meta) if meta_matches(f, md)]
    xs = x[keep].astype(np.float64)
    qv = query.astype(np.float64)
    if metric == "cosine":
        xs = xs / np.linalg.norm(xs, axis=1, keepdims=True)
        scores = xs @ (qv / np.linalg.norm(qv))
        order = np.argsort(-scores)
    else:
        scores = np.linalg.norm(xs - qv, axis=1)
        order = np.argsort(scores)
    return [(ids[keep[i]], float(scores[i])) for i in order[:k]]


def assert_same(hits: list[Hit], expected: list[tuple[str, float]]) -> None:
    """Same scores rank by rank (robust to float near-ties); ids equal where scores differ."""
    assert len(hits) == len(expected)
    np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-4)
    assert {h.id for h in hits} == {i for i, _ in expected}


def recall(a: list[list[Hit]], b: list[list[Hit]]) -> float:
    per = [len({h.id for h in x} & {h.id for h in y}) / len(y) for x, y in zip(a, b, strict=True)]
    return float(np.mean(per))


@pytest.fixture(scope="module", autouse=True)
def _one_faiss_thread() -> Any:
    """OpenMP threads fighting other jobs on a small machine make timings erratic."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    return data(2000)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_exact_search_matches_brute_force(metric: str, corpus: Any) -> None:
    ids, x, meta = corpus
    c = FaissCollection(DIM, metric)  # type: ignore[arg-type]
    c.upsert(ids, x, meta)
    assert c.kind == "flat" and len(c) == 2000
    queries = np.random.default_rng(1).standard_normal((5, DIM)).astype(np.float32)
    for qv, hits in zip(queries, c.search(queries, 10), strict=True):
        assert_same(hits, brute(ids, x, meta, qv, 10, metric))
        if metric == "cosine":
            assert all(-1.0 <= h.score <= 1.0 for h in hits)
        assert [h.score for h in hits] == sorted(
            (h.score for h in hits), reverse=metric == "cosine"
        )


@pytest.mark.parametrize(
    ("approx", "params", "bound"),
    [
        ("hnsw", IndexParams(hnsw_m=16, ef_construction=40, ef_search=64), 0.95),
        ("ivfpq", IndexParams(nprobe=64, refine=16), 0.80),
    ],
)
def test_approximate_recall_and_threshold_switch(
    approx: str, params: IndexParams, bound: float, corpus: Any
) -> None:
    """Recall@10 against the exact index on 2,000 random 32-d vectors is at least `bound`."""
    ids, x, meta = corpus
    exact = FaissCollection(DIM)
    exact.upsert(ids, x, meta)
    c = FaissCollection(DIM, exact_below=1500, approx=approx, params=params)  # type: ignore[arg-type]
    c.upsert(ids[:1000], x[:1000], meta[:1000])
    assert c.kind == "flat"
    c.upsert(ids[1000:], x[1000:], meta[1000:])  # crosses the threshold: rebuilt from vectors
    assert c.kind == approx and len(c) == 2000
    queries = np.random.default_rng(2).standard_normal((50, DIM)).astype(np.float32)
    r = recall(c.search(queries, 10), exact.search(queries, 10))
    assert r >= bound, f"{approx} recall@10 {r:.3f} < {bound}"


@pytest.fixture(scope="module")
def filtered(corpus: Any) -> dict[str, FaissCollection]:
    """One collection per index kind, shared by the (read-only) filter tests."""
    ids, x, meta = corpus
    out: dict[str, FaissCollection] = {}
    for name in ("flat", "hnsw", "ivfpq", "hnsw-exact", "ivfpq-exact"):
        kind = name.removesuffix("-exact")
        # filter_scan_below=0: approximate indexes search through the FAISS selector; the
        # "-exact" ones search the (at most 2,000) matches exactly
        c = FaissCollection(
            DIM,
            exact_below=1 if kind != "flat" else 10_000,
            approx="hnsw" if kind == "flat" else kind,  # type: ignore[arg-type]
            filter_scan_below=10_000 if name.endswith("-exact") else 0,
            params=IndexParams(nprobe=64, refine=16),
        )
        c.upsert(ids, x, meta)
        assert c.kind == kind
        out[name] = c
    return out


@pytest.mark.parametrize("approx", ["flat", "hnsw", "ivfpq", "hnsw-exact", "ivfpq-exact"])
@pytest.mark.parametrize(
    "f",
    [
        MetaEq("category", "hat"),
        MetaAnd(MetaIn("category", ["shoe", "bag"]), MetaRange("price", gte=10, lt=30)),
        MetaNot(MetaEq("sale", True)),
        q.And(q.Eq("attributes.category", "sock"), q.Range("time", gte=1500)),
        MetaAnd(MetaEq("category", "bag"), MetaRange("time", lt=1100)),  # 25 items
    ],
)
def test_filters_inside_search_return_best_matching(
    approx: str, f: Any, corpus: Any, filtered: dict[str, FaissCollection]
) -> None:
    ids, x, meta = corpus
    c = filtered[approx]
    queries = np.random.default_rng(3).standard_normal((4, DIM)).astype(np.float32)
    results = c.search(queries, 20, filter=f)
    for qv, hits in zip(queries, results, strict=True):
        assert len(hits) == 20
        assert all(meta_matches(f, h.metadata) for h in hits)
        expected = brute(ids, x, meta, qv, 20, "cosine", f)
        if approx in ("flat", "hnsw-exact", "ivfpq-exact"):
            assert_same(hits, expected)
        else:
            found = len({h.id for h in hits} & {i for i, _ in expected}) / 20
            assert found >= 0.8


def test_filter_with_fewer_matches_than_k_and_none(corpus: Any) -> None:
    ids, x, meta = corpus
    c = FaissCollection(DIM, exact_below=100, filter_scan_below=0)
    c.upsert(ids[:300], x[:300], meta[:300])
    few = MetaAnd(MetaEq("category", "shoe"), MetaRange("time", lte=1008))  # items 0, 4, 8
    hits = c.search(x[0], 10, filter=few)[0]
    assert sorted(h.id for h in hits) == ["item-0", "item-4", "item-8"]
    assert hits[0].id == "item-0" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert c.search(x[0], 10, filter=MetaEq("category", "none")) == [[]]


@pytest.mark.parametrize("approx", ["flat", "hnsw", "ivfpq"])
def test_upsert_replaces_and_delete_removes(approx: str, corpus: Any) -> None:
    ids, x, meta = corpus
    c = FaissCollection(
        DIM,
        "l2",
        exact_below=1 if approx != "flat" else 10_000,
        approx="hnsw" if approx == "flat" else approx,  # type: ignore[arg-type]
        rebuild_ratio=0.5,
    )
    c.upsert(ids[:500], x[:500], meta[:500])
    c.upsert(["item-7"], x[400], [{"category": "new"}])
    assert len(c) == 500
    item = c.get("item-7")
    assert item is not None and item.metadata == {"category": "new"}
    np.testing.assert_allclose(item.vector, x[400])
    top = c.search(x[400], 2)[0]
    assert {h.id for h in top} == {"item-7", "item-400"} and top[0].score < 1e-3
    assert c.search(x[7], 1, filter=MetaEq("category", "new"))[0][0].id == "item-7"

    assert c.delete(["item-400", "item-401", "nope", "item-400"]) == 2
    assert len(c) == 498 and c.get("item-400") is None
    assert all(h.id not in ("item-400", "item-401") for h in c.search(x[400:402], 5)[0])
    assert c.delete([f"item-{i}" for i in range(300)]) == 300  # passes rebuild_ratio: compacts
    assert len(c) == 198 and c._dead == 0
    hits = c.search(x[450], 198)[0]
    assert hits[0].id == "item-450" and len({h.id for h in hits}) == 198


def test_save_load_round_trip(tmp_path: Path, corpus: Any) -> None:
    ids, x, meta = corpus
    for approx in ("hnsw", "ivfpq"):
        c = FaissCollection(DIM, path=tmp_path / approx, exact_below=500, approx=approx)
        c.upsert(ids[:800], x[:800], meta[:800])
        c.delete(["item-3"])
        c.save()
        d = FaissCollection.load(tmp_path / approx)
        assert (d.kind, len(d), d.get("item-3")) == (approx, 799, None)
        queries = x[10:15]
        f = MetaEq("category", "bag")
        assert c.search(queries, 10, filter=f) == d.search(queries, 10, filter=f)
        assert c.search(queries, 10) == d.search(queries, 10)
        d.upsert(["extra"], x[900])  # a loaded collection keeps working
        assert d.search(x[900], 1)[0][0].id == "extra"


def test_crash_mid_save_keeps_previous_snapshot(
    tmp_path: Path, corpus: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, x, meta = corpus
    c = FaissCollection(DIM, path=tmp_path)
    c.upsert(ids[:100], x[:100], meta[:100])
    c.save()
    c.upsert(ids[100:200], x[100:200], meta[100:200])
    c.delete(["item-0"])

    def crash(path: Path, state: dict[str, Any]) -> None:
        path.write_bytes(b'{"format": 1, "di')  # a torn write, then the process "dies"
        raise OSError("disk pulled out mid-save")

    monkeypatch.setattr(persist, "_write_state", crash)
    with pytest.raises(OSError, match="mid-save"):
        c.save()
    monkeypatch.undo()
    old = FaissCollection.load(tmp_path)
    assert len(old) == 100 and old.get("item-0") is not None and old.get("item-150") is None
    assert old.search(x[5], 1)[0][0].id == "item-5"
    c.save()  # the next good save replaces it and clears the leftovers
    assert len(FaissCollection.load(tmp_path)) == 199
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("snap-")) == [
        "CURRENT"
    ]


def test_load_missing_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SenriError, match="no vector collection"):
        FaissCollection.load(tmp_path / "nothing")


def test_concurrent_searches_during_writes(corpus: Any) -> None:
    """Searchers see a consistent collection while a writer upserts, replaces and deletes."""
    ids, x, meta = corpus
    c = FaissCollection(DIM, exact_below=600, rebuild_ratio=0.1)
    c.upsert(ids[:200], x[:200], meta[:200])  # item-0..199 are never touched
    errors: list[BaseException] = []
    searches = [0, 0, 0]
    stop = threading.Event()
    started = threading.Barrier(4)

    def searcher(seed: int) -> None:
        rng = np.random.default_rng(seed)
        started.wait()
        try:
            while not stop.is_set():
                searches[seed] += 1
                i = int(rng.integers(0, 200))
                hits = c.search(x[i], 5, filter=MetaEq("category", CATS[i % 4]))[0]
                assert hits[0].id == f"item-{i}", hits[0]
                assert len(hits) == 5 and all(h.metadata["category"] == CATS[i % 4] for h in hits)
                assert len({h.id for h in c.search(x[i], 10)[0]}) == 10
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=searcher, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    started.wait()
    try:
        for r in range(8):  # crosses exact_below (hnsw rebuild) and compacts tombstones
            before = sum(searches)  # interleave for sure: a search ran since the last write
            deadline = time.monotonic() + 10
            while sum(searches) == before and not errors and time.monotonic() < deadline:
                time.sleep(0.001)
            lo = 200 + r * 100
            c.upsert(ids[lo : lo + 100], x[lo : lo + 100], meta[lo : lo + 100])
            c.upsert(ids[lo : lo + 20], x[lo + 50 : lo + 70], meta[lo : lo + 20])
            c.delete(ids[lo + 80 : lo + 100])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert sum(searches) >= 8
    assert c.kind == "hnsw" and len(c) == 200 + 8 * 80


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.upsert(["a"], np.zeros((1, DIM + 1)) + 1), r"shape \(n, 32\)"),
        (lambda c: c.upsert(["a", "b"], np.ones((1, DIM))), "2 ids but 1 vectors"),
        (lambda c: c.upsert(["a"], np.full((1, DIM), np.nan)), "row 0 contains NaN"),
        (lambda c: c.upsert(["a"], np.zeros((1, DIM))), "all zeros"),
        (lambda c: c.upsert(["a", "a"], np.ones((2, DIM))), "duplicate ids"),
        (lambda c: c.upsert([""], np.ones((1, DIM))), "non-empty strings"),
        (lambda c: c.upsert("ab", np.ones((2, DIM))), "not one string"),
        (lambda c: c.upsert(["a"], np.ones((1, DIM)), [{"k": [1]}]), "string, number or bool"),
        (lambda c: c.upsert(["a"], np.ones((1, DIM)), [{"bad key": 1}]), "metadata key"),
        (lambda c: c.upsert(["a"], np.ones((1, DIM)), [{}, {}]), "1 ids but 2 metadata"),
        (lambda c: c.search(np.ones(DIM), 0), "k must be a positive int"),
        (lambda c: c.search(np.ones(DIM), -3), "k must be a positive int"),
        (lambda c: c.search(np.ones(DIM - 1), 1), r"shape \(n, 32\)"),
        (lambda c: c.search(np.full(DIM, np.inf), 1), "NaN or infinity"),
        (lambda c: c.search(np.ones(DIM), 1, filter=q.Text("red car")), "Text filters"),
        (lambda c: c.search(np.ones(DIM), 1, filter="category == 'x'"), "must be a Meta"),
        (lambda c: c.save(), "needs a path"),
        (lambda c: MetaIn("category", []), "at least one value"),
        (lambda c: MetaRange("price"), "at least one bound"),
    ],
)
def test_bad_input_is_refused_clearly(call: Any, message: str) -> None:
    c = FaissCollection(DIM)
    with pytest.raises((VectorError, QueryError), match=message) as info:
        call(c)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SenriError)
    assert len(c) == 0


def test_bad_constructor_arguments() -> None:
    with pytest.raises(VectorError, match="dim"):
        FaissCollection(0)
    with pytest.raises(VectorError, match="metric"):
        FaissCollection(4, "dot")  # type: ignore[arg-type]


def test_cuda_device_searches_on_a_gpu_or_refuses(corpus: Any) -> None:
    """A GPU asked for is used (GPU FAISS or torch) or refused: never a silent CPU fallback
    (the engine choice itself: tests/unit/test_vectors_torch.py)."""
    from senri.indexes.vectors.placement import search_engine

    try:
        engine = search_engine(Device("cuda"))
    except SenriError:
        with pytest.raises(SenriError, match="cuda:0 asked for, but neither faiss-gpu nor"):
            FaissCollection(DIM, device=Device("cuda"))
        return
    ids, x, meta = corpus
    c = FaissCollection(DIM, device=Device("cuda"))
    assert c.engine == engine != "faiss"
    c.upsert(ids[:50], x[:50], meta[:50])
    assert c.search(x[3], 1)[0][0].id == "item-3"
