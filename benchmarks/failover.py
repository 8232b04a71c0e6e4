"""The failover matrix: one fault per run of the demo graph on Kafka workers, against a clean run.

Each run (senri.evaluation.failover) is compared with an undisturbed one; it prints lost /
duplicated / changed events in the Elasticsearch index and on the results topic (read as
read_committed).

    python benchmarks/failover.py [--only NAME] [--repeat N] [--no-transactions]

Needs Kafka and Elasticsearch (`senri services up`).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from senri.config import elasticsearch_url, kafka_bootstrap
from senri.evaluation.failover import FAULTS, run_matrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = ", ".join(f.name for f in FAULTS)
    parser.add_argument("--only", action="append", help=f"Run just this fault ({names}).")
    parser.add_argument("--repeat", type=int, default=1, help="Run each fault N times.")
    parser.add_argument("--verbose", action="store_true", help="Print workers' assignments.")
    parser.add_argument(
        "--no-transactions",
        action="store_true",
        help="Run the workers with --no-transactions (at-least-once on the topics).",
    )
    parser.add_argument(
        "--packets",
        action="store_true",
        help="Ingest the camera as its compressed packets (decode.video in the graph).",
    )
    args = parser.parse_args()
    faults = tuple(f for f in FAULTS if not args.only or f.name in args.only) * args.repeat
    with tempfile.TemporaryDirectory(prefix="senri-failover-") as tmp:
        outcomes = run_matrix(
            Path(tmp),
            kafka_bootstrap(),
            elasticsearch_url(),
            faults,
            verbose=args.verbose,
            transactions=not args.no_transactions,
            packets=args.packets,
        )
    print()
    print(f"{'fault':<36} {'lost':>5} {'dup':>5} {'changed':>7}   results topic l/d/c   seconds")
    for o in outcomes:
        topic = f"{o.topic_lost}/{o.topic_duplicated}/{o.topic_changed}"
        counts = f"{o.lost:>5} {o.duplicated:>5} {o.changed:>7}"
        print(f"{o.fault:<36} {counts}   {topic:>19}   {o.seconds:>7.0f}")


if __name__ == "__main__":
    main()
