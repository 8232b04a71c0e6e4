"""``python -m senri.worlds.shapes OUT [--seed N]``: write a sample world, print its summary."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from senri.errors import SenriError
from senri.worlds.shapes import generate, load_truth


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the world, print where it went; 1 on a deliberate error."""
    parser = argparse.ArgumentParser(
        prog="python -m senri.worlds.shapes",
        description="Write a sample world with known contents.",
    )
    parser.add_argument(
        "out_dir", type=Path, help="folder to write camera.mp4, audio.wav, truth.json"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds (default 20)")
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        world = generate(args.out_dir, seed=args.seed, duration=args.duration, fps=args.fps)
    except SenriError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    summary = load_truth(world.truth)["summary"]
    print(f"wrote {world.root} in {time.perf_counter() - began:.1f} s: {json.dumps(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
