"""Vector collections: queries/s and recall@10 of exact vs HNSW vs IVF-PQ, unfiltered and filtered.

Random Gaussian 256-d vectors (the hardest case for approximate search: no cluster structure),
cosine metric, one query per `search` call (the API's pattern). Each item has a category out of
10; the filtered runs ask for ``MetaEq("category", "c3")`` (10% of the items: up to
`filter_scan_below`, 10k, matches are scanned exactly) and for five categories (50%: a FAISS ID
selector inside the approximate search). Recall@10 is measured
against the exact index's answers to the same queries with the same filter, and build time
includes HNSW insertion or IVF-PQ training.

Run: `python benchmarks/vectors.py` (10k and 100k items, under 2 minutes on 2 cores), or
`--sizes 10000 --queries 100` for a quick look.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from senri.indexes.vectors.collection import FaissCollection, Hit, IndexParams, MetaEq, MetaIn

DIM = 256
KINDS = ("flat", "hnsw", "ivfpq")


def collection(kind: str, n: int) -> FaissCollection:
    return FaissCollection(
        DIM,
        exact_below=n + 1 if kind == "flat" else 1,
        approx="ivfpq" if kind == "ivfpq" else "hnsw",
        params=IndexParams(
            hnsw_m=16, ef_construction=40, ef_search=256, nprobe=64, refine=8, train_sample=25_000
        ),
    )


def timed_search(
    c: FaissCollection, queries: np.ndarray, f: MetaEq | MetaIn | None
) -> tuple[float, list[list[Hit]]]:
    c.search(queries[0], 10, filter=f)  # warm the filter's selector cache
    start = time.perf_counter()
    results = [c.search(qv, 10, filter=f)[0] for qv in queries]
    return len(queries) / (time.perf_counter() - start), results


def recall(found: list[list[Hit]], truth: list[list[Hit]]) -> float:
    per = [
        len({h.id for h in a} & {h.id for h in b}) / len(b)
        for a, b in zip(found, truth, strict=True)
    ]
    return float(np.mean(per))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="FAISS OpenMP threads")
    args = parser.parse_args()
    import faiss

    # one query per call: OpenMP threads only add contention (25x slower on a busy 2-core box)
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((args.queries, DIM)).astype(np.float32)
    ten = MetaEq("category", "c3")
    half = MetaIn("category", [f"c{i}" for i in range(5)])
    print(f"{'n':>7} {'index':>6} {'build s':>8} {'filter':>8} {'queries/s':>10} {'recall@10':>9}")
    for n in (int(s) for s in args.sizes.split(",")):
        x = rng.standard_normal((n, DIM)).astype(np.float32)
        ids = [f"v{i}" for i in range(n)]
        meta = [{"category": f"c{i % 10}"} for i in range(n)]
        truth: dict[str, list[list[Hit]]] = {}
        for kind in KINDS:
            c = collection(kind, n)
            start = time.perf_counter()
            c.upsert(ids, x, meta)
            build = time.perf_counter() - start
            assert c.kind == kind
            for label, f in (("none", None), ("10%", ten), ("50%", half)):
                qps, results = timed_search(c, queries, f)
                if kind == "flat":
                    truth[label] = results
                r = recall(results, truth[label])
                print(f"{n:>7} {kind:>6} {build:>8.2f} {label:>8} {qps:>10.0f} {r:>9.3f}")


if __name__ == "__main__":
    main()
