"""Vector search side by side: FAISS flat / HNSW / IVF-PQ vs numpy brute force vs Elasticsearch kNN.

The same N x d float32 vectors (cosine: unit-normalised) and the same queries for every engine;
one query per call (the serving pattern). Reported per engine: build time (FAISS: add + train;
Elasticsearch: bulk indexing + refresh), queries/s, recall@10 against numpy's exact answers, and
bytes per vector (FAISS: the serialised index; numpy: the float32 matrix; Elasticsearch: the
index's store size, which includes the original `_source` vectors unless ``--es-no-source``).

Data: ``--data clustered`` (default; Gaussian clusters in a 32-d subspace plus noise: low intrinsic
dimension, closer to real embeddings) or
``gaussian`` (no structure: the worst case for approximate search). Elasticsearch uses
``dense_vector`` with ``index: true, similarity: cosine`` and explicit ``hnsw`` index options
(M=16, ef_construction=100), queried with a top-level ``knn`` (k=10, ``num_candidates``).

Run: ``python benchmarks/vector_search.py`` (N=100k, d=128, a few minutes on 2 cores with
Elasticsearch from ``python -m senri.services up``); the issue's 1M vectors is ``--n 1000000``
(tens of minutes and several GB here); ``--skip-es`` for FAISS and numpy only.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

K = 10


@dataclass
class Row:
    engine: str
    build_s: float
    qps: float
    recall: float
    bytes_per_vector: float


def make_data(n: int, dim: int, nq: int, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` base vectors and `nq` queries, unit length, float32."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        x = rng.standard_normal((n + nq, dim), dtype=np.float32)
    else:  # clusters in a 32-d subspace, plus a little full-rank noise
        latent = min(32, dim)
        centres = rng.standard_normal((max(16, n // 100), latent), dtype=np.float32)
        z = centres[rng.integers(0, len(centres), n + nq)]
        z += 0.5 * rng.standard_normal(z.shape, dtype=np.float32)
        proj = rng.standard_normal((latent, dim), dtype=np.float32)
        x = z @ proj + 0.5 * rng.standard_normal((n + nq, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[:n].copy(), x[n:].copy()


def exact_top_k(base: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Ground truth: the k highest inner products per query (batched numpy)."""
    out = np.empty((len(queries), k), np.int64)
    for s in range(0, len(queries), 256):
        scores = queries[s : s + 256] @ base.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, part, 1).argsort(axis=1)[:, ::-1]
        out[s : s + 256] = np.take_along_axis(part, order, 1)
    return out


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f[:K]) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def run_queries(
    search: Callable[[np.ndarray], list[int]], queries: np.ndarray
) -> tuple[float, list[list[int]]]:
    search(queries[0])  # warm-up
    t = time.perf_counter()
    found = [search(q) for q in queries]
    return len(queries) / (time.perf_counter() - t), found


def bench_numpy(base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> Row:
    def search(q: np.ndarray) -> list[int]:
        s = base @ q
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])].tolist()

    qps, found = run_queries(search, queries)
    return Row("numpy brute force", 0.0, qps, recall(found, truth), base.itemsize * base.shape[1])


def bench_faiss(
    kind: str, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace
) -> Row:
    import faiss

    n, dim = base.shape
    t = time.perf_counter()
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
        label = "FAISS flat (exact)"
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = args.ef_search
        label = f"FAISS HNSW (M={args.hnsw_m}, ef={args.ef_search})"
    elif kind in ("ivfpq", "ivfpq+refine"):
        nlist = max(16, int(4 * np.sqrt(n)))
        m = 16 if dim % 16 == 0 else 8
        index = faiss.IndexIVFPQ(
            faiss.IndexFlatIP(dim), dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT
        )
        sample = base[np.random.default_rng(1).permutation(n)[: min(n, 50 * nlist, 100_000)]]
        index.train(sample)
        index.nprobe = args.nprobe
        label = f"FAISS IVF-PQ ({nlist} lists, {m}x8 bit, nprobe={args.nprobe})"
        if kind == "ivfpq+refine":  # re-rank 8k PQ candidates exactly, as FaissCollection does
            index = faiss.IndexRefineFlat(index)
            index.k_factor = 8
            label += " + exact re-rank x8"
    else:
        raise ValueError(kind)
    index.add(base)
    build = time.perf_counter() - t

    def search(q: np.ndarray) -> list[int]:
        _, ids = index.search(q[None, :], K)
        return [int(i) for i in ids[0]]

    qps, found = run_queries(search, queries)
    size = len(faiss.serialize_index(index))
    return Row(label, build, qps, recall(found, truth), size / n)


def _docs(index: str, base: np.ndarray) -> Iterator[dict[str, object]]:
    for i, v in enumerate(base):
        yield {"_index": index, "_id": str(i), "_source": {"v": v.tolist()}}


def bench_es(
    base: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace
) -> Row:
    from elasticsearch import Elasticsearch, helpers

    from senri.services import elasticsearch_url

    es = Elasticsearch(elasticsearch_url(), request_timeout=600)
    index = f"senri-bench-knn-{uuid.uuid4().hex[:8]}"
    mappings: dict[str, object] = {
        "properties": {
            "v": {
                "type": "dense_vector",
                "dims": int(base.shape[1]),
                "index": True,
                "similarity": "cosine",
                "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100},
            }
        }
    }
    if args.es_no_source:
        mappings["_source"] = {"excludes": ["v"]}
    es.indices.create(
        index=index,
        mappings=mappings,
        settings={"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
    )
    try:
        t = time.perf_counter()
        helpers.bulk(es.options(request_timeout=600), _docs(index, base), chunk_size=2000)
        es.indices.refresh(index=index)
        if args.es_merge:
            es.options(request_timeout=3600).indices.forcemerge(index=index, max_num_segments=1)
        build = time.perf_counter() - t

        def search(q: np.ndarray) -> list[int]:
            r = es.search(
                index=index,
                knn={
                    "field": "v",
                    "query_vector": q.tolist(),
                    "k": K,
                    "num_candidates": args.num_candidates,
                },
                size=K,
                source=False,
            )
            return [int(h["_id"]) for h in r["hits"]["hits"]]

        qps, found = run_queries(search, queries[: args.es_queries])
        stats = es.indices.stats(index=index, metric="store")
        size = stats["indices"][index]["total"]["store"]["size_in_bytes"]
        segs = len(es.indices.segments(index=index)["indices"][index]["shards"]["0"][0]["segments"])
        label = f"Elasticsearch kNN (hnsw, num_candidates={args.num_candidates}, {segs} segments)"
        return Row(label, build, qps, recall(found, truth[: args.es_queries]), size / len(base))
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--n", type=int, default=100_000, help="base vectors (the issue's 1M: --n 1000000)"
    )
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--es-queries", type=int, default=300)
    p.add_argument("--data", choices=("clustered", "gaussian"), default="clustered")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-search", type=int, default=64)
    p.add_argument("--nprobe", type=int, default=32)
    p.add_argument("--num-candidates", type=int, default=100)
    p.add_argument("--es-merge", action="store_true", help="force-merge ES to one segment")
    p.add_argument("--es-no-source", action="store_true", help="exclude vectors from _source")
    p.add_argument("--skip-es", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="FAISS OpenMP threads")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.n < 1_000_000:
        print(f"note: N={args.n:,}; the issue's 1M vectors is `--n 1000000` (slow on 2 cores)")

    import faiss

    faiss.omp_set_num_threads(args.threads)  # one query per call: OpenMP only adds overhead
    base, queries = make_data(args.n, args.dim, args.queries, args.data, args.seed)
    t = time.perf_counter()
    truth = exact_top_k(base, queries)
    print(
        f"{args.n:,} x {args.dim} {args.data} vectors, {args.queries} queries, k={K}; "
        f"ground truth in {time.perf_counter() - t:.1f}s"
    )
    rows = [bench_numpy(base, queries, truth)]
    for kind in ("flat", "hnsw", "ivfpq", "ivfpq+refine"):
        rows.append(bench_faiss(kind, base, queries, truth, args))
        print(f"  done {rows[-1].engine}", flush=True)
    if not args.skip_es:
        rows.append(bench_es(base, queries, truth, args))

    print(f"\n| {'engine':<66} | build s | queries/s | recall@10 | bytes/vector |")
    print(f"|{'-' * 68}|--------:|----------:|----------:|-------------:|")
    for r in rows:
        print(
            f"| {r.engine:<66} | {r.build_s:7.1f} | {r.qps:9.0f} | {r.recall:9.3f} "
            f"| {r.bytes_per_vector:12.0f} |"
        )


if __name__ == "__main__":
    main()
