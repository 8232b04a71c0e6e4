"""`scripts/gpu_check.sh --device cpu --quick`: the prepared device check, dry-run on the CPU.

On a GPU machine the same script runs the parity tests on CUDA and prints the benchmark
figures; here it runs every part with the CPU so that the script, the parity tests' device
switch and `benchmarks/gpu.py` cannot rot between the times a GPU is lent.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_gpu_check_dry_run_passes_and_prints_every_figure() -> None:
    done = subprocess.run(
        ["bash", "scripts/gpu_check.sh", "--device", "cpu", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "==> gpu_check done" in out
    assert re.search(r"\d+ passed", out), out[-2000:]
    assert "failed" not in out.split("==> benchmarks")[0]
    # each benchmark section printed a row of figures
    assert re.search(r"^\s+1\s+\d+\.\d\s+\d+\.\d", out, re.M), out[-3000:]  # detector, batch 1
    assert re.search(r"image embedder \(224x224\)\s+\d+\.\d", out), out[-3000:]
    assert re.search(r"^\s+2\s+10\.0\s+\d+\.\d", out, re.M), out[-3000:]  # 2 cameras at 5 fps
    assert re.search(r"^\s+20000\s+\d+", out, re.M), out[-3000:]  # kNN on 20k vectors
    assert re.search(r"host, 1 thread\(s\)\s+\d+\.\d+ ms\s+\(\d+ frames/s\)", out), out[-3000:]
    for model in ("detector/coco", "faces/retinaface", "image/embed"):  # the profiles
        assert re.search(rf"^{model}: \d+\.\d ms wall", out, re.M), out[-3000:]
