#!/usr/bin/env bash
# The one prepared device check (docs/gpu.md): the torch backend's parity tests on the device,
# then benchmarks/gpu.py. A GPU machine has torch, numpy, OpenCV and onnx but no registry, so
# what else it needs travels with the working tree in .gpu-carry/PART (each under 64 MiB):
#
#   scripts/gpu_check.sh --prepare                here (registries reachable): fill .gpu-carry/
#   scripts/gpu_check.sh --part vision            on the GPU machine, carrying .gpu-carry/vision:
#                                                 detector/face/embedder parity, benchmark 1-3
#   scripts/gpu_check.sh --part audio             carrying .gpu-carry/audio: OCR, sounds, op tests
#   scripts/gpu_check.sh --part knn               carrying .gpu-carry/knn: kNN benchmark
#   scripts/gpu_check.sh --device cpu --quick     a dry run of every part in this checkout's .venv
#                                                 (the test suite runs this)
#
# Options: --device cuda|cuda:N|cpu (default cuda), --quick (small sizes), --part P (default all).
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda quick="" part=all prepare=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift ;;
    --quick) quick="--quick" ;;
    --part) part="$2"; shift ;;
    --prepare) prepare=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$part" in all|vision|audio|knn) ;; *) echo "gpu_check: --part is vision, audio, knn or all" >&2; exit 2 ;; esac

CARRY=.gpu-carry
PY_TAG=312  # the GPU image's Python
SMALL_WHEELS=(pydantic typer rich prometheus-client pyyaml pytest pytest-socket pytest-timeout)
declare -A MODELS=(
  [vision]="detector/coco faces/retinaface faces/embed image/embed data/photos"
  [audio]="ocr/det ocr/rec sounds/audioset data/photos"
  [knn]=""
)

if [ "$prepare" = 1 ]; then
  export SENRI_CACHE="${SENRI_CACHE:-$HOME/.cache/senri}"
  wheels="$SENRI_CACHE/gpu-wheels"
  mkdir -p "$wheels"
  pip_download() {
    .venv/bin/python -m pip download -q --only-binary=:all: --python-version "$PY_TAG" \
      --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$1" "${@:2}"
  }
  pip_download "$wheels/small" "${SMALL_WHEELS[@]}"
  pip_download "$wheels/faiss" "faiss-cpu>=1.8,<2"
  for p in vision audio knn; do
    rm -rf "${CARRY:?}/$p"
    mkdir -p "$CARRY/$p/wheels" "$CARRY/$p/home/models"
    cp "$wheels"/small/*.whl "$CARRY/$p/wheels/"
    for name in ${MODELS[$p]}; do
      src=$(.venv/bin/python -c "from senri.models.registry import resolve; print(resolve('$name'))")
      rel=${src#"$(.venv/bin/python -c 'from senri import config; print(config.models_dir())')"/}
      mkdir -p "$CARRY/$p/home/models/$(dirname "$rel")"
      cp -r "$src" "$CARRY/$p/home/models/$rel"
    done
  done
  cp "$wheels"/faiss/faiss_cpu-*.whl "$CARRY/knn/wheels/"
  du -sh "$CARRY"/* | sed 's/^/  /'
  echo "prepared: run, on the GPU machine, scripts/gpu_check.sh --part P carrying .gpu-carry/P"
  exit 0
fi

if [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  # the GPU machine: its own torch and numpy, plus the carried wheels, offline
  [ -d "$CARRY/$part/wheels" ] || { echo "gpu_check: no $CARRY/$part (run --prepare and carry it)" >&2; exit 2; }
  python3 -m venv --system-site-packages /tmp/senri-gpu-venv
  /tmp/senri-gpu-venv/bin/python -m pip install -q --no-index --find-links "$CARRY/$part/wheels" \
    "$CARRY/$part"/wheels/*.whl
  PY=/tmp/senri-gpu-venv/bin/python
  export SENRI_HOME="$PWD/$CARRY/$part/home" PYTHONPATH="$PWD"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

export SENRI_TEST_DEVICE="$device"
run_tests() { echo "==> parity on $device: $*"; "$PY" -m pytest -q -p no:cacheprovider "$@"; }
bench() { echo "==> benchmarks/gpu.py on $device: $*"; "$PY" benchmarks/gpu.py --device "$device" $quick --only "$@"; }

if [ "$part" = all ] || [ "$part" = vision ]; then
  run_tests tests/device/test_torch_backend.py -k "detector or image_embeddings or face or refused or cuda"
  bench detector faces streams
fi
if [ "$part" = all ] || [ "$part" = audio ]; then
  run_tests tests/device/test_torch_ops.py
  run_tests tests/device/test_torch_backend.py -k "ocr or quantised"
fi
if [ "$part" = all ] || [ "$part" = knn ]; then
  bench knn
fi
echo "==> gpu_check done"
