#!/usr/bin/env bash
# The one prepared device check (docs/gpu.md): the torch backend's parity tests on the device,
# then benchmarks/gpu.py. A GPU machine has torch, numpy, OpenCV and onnx but no registry, so
# what else it needs travels with the working tree: .gpu-carry/wheels (always) and .gpu-carry/PART
# (parts whose sum fits 64 MiB with the tree travel together: --part vision,knn):
#
#   scripts/gpu_check.sh --prepare                here (registries reachable): fill .gpu-carry/
#   scripts/gpu_check.sh --part vision            on the GPU machine, carrying .gpu-carry/vision:
#                                                 detector parity, detector and camera benchmarks,
#                                                 the detector's profile
#   scripts/gpu_check.sh --part faces             carrying .gpu-carry/faces: face and embedder
#                                                 parity, images/s and profiles
#   scripts/gpu_check.sh --part audio             carrying .gpu-carry/audio: op, OCR, sound and
#                                                 dialect parity
#   scripts/gpu_check.sh --part knn               carrying .gpu-carry/knn: kNN benchmark
#   scripts/gpu_check.sh --device cpu --quick     a dry run of every part in this checkout's .venv
#                                                 (the test suite runs this)
#
# Options: --device cuda|cuda:N|cpu (default cuda), --quick (small sizes), --part P[,P] (default
# all). A failing step is reported and the next one still runs; the exit status says if any failed.
# Environment: SENRI_GPU_STEP_TIMEOUT (seconds a step may run, default 900), SENRI_GPU_PY_TAG
# (the Python the wheels are prepared for, default 312: the GPU image's).
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda quick="" part=all prepare=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift ;;
    --quick) quick="--quick" ;;
    --part) part="$2"; shift ;;
    --prepare) prepare=1 ;;
    -h|--help) awk 'NR > 1 && /^set -euo/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$part" = all ] && part=vision,faces,audio,knn
IFS=, read -r -a parts <<<"$part"
for p in "${parts[@]}"; do
  case "$p" in vision|faces|audio|knn) ;; *) echo "gpu_check: a part is vision, faces, audio or knn (got $p)" >&2; exit 2 ;; esac
done

CARRY=.gpu-carry
PY_TAG=${SENRI_GPU_PY_TAG:-312}  # the GPU image's Python (cp312)
SMALL_WHEELS=(pydantic typer rich prometheus-client pyyaml pytest pytest-socket pytest-timeout)
declare -A MODELS=(
  [vision]="detector/coco detector/nanodet vad/silero data/photos"
  [faces]="faces/retinaface faces/embed image/embed data/photos"
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
  rm -rf "${CARRY:?}/wheels"
  mkdir -p "$CARRY/wheels"
  cp "$wheels"/small/*.whl "$CARRY/wheels/"
  for p in vision faces audio knn; do
    rm -rf "${CARRY:?}/$p"
    mkdir -p "$CARRY/$p/wheels" "$CARRY/$p/home/models"
    for name in ${MODELS[$p]}; do
      src=$(.venv/bin/python -c "from senri.models.registry import resolve; print(resolve('$name'))")
      rel=${src#"$(.venv/bin/python -c 'from senri import config; print(config.models_dir())')"/}
      mkdir -p "$CARRY/$p/home/models/$(dirname "$rel")"
      cp -r "$src" "$CARRY/$p/home/models/$rel"
    done
  done
  cp "$wheels"/faiss/faiss_cpu-*.whl "$CARRY/knn/wheels/"
  du -sh "$CARRY"/* | sed 's/^/  /'
  echo "prepared: run, on the GPU machine, scripts/gpu_check.sh --part P carrying .gpu-carry/wheels"
  echo "and .gpu-carry/P (with the working tree, under 64 MiB a call: vision,knn fit together)"
  exit 0
fi

home() { :; }
if [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  # the GPU machine: its own torch and numpy, plus the carried wheels, offline. The image's
  # python3 lives in a venv of its own, so a --system-site-packages venv made from it would not
  # see its torch: the wheels go to a folder on PYTHONPATH instead.
  declare -A wheels=()
  for w in "$CARRY"/wheels/*.whl; do wheels[$(basename "$w")]="$w"; done
  for p in "${parts[@]}"; do
    [ -d "$CARRY/$p" ] || { echo "gpu_check: no $CARRY/$p (run --prepare and carry it)" >&2; exit 2; }
    for w in "$CARRY/$p"/wheels/*.whl; do
      if [ -e "$w" ]; then wheels[$(basename "$w")]="$w"; fi
    done
  done
  site=/tmp/senri-gpu-site
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$site" "${wheels[@]}"
  PY=python3
  export PYTHONPATH="$PWD:$site"
  home() { export SENRI_HOME="$PWD/$CARRY/$1/home"; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  echo "cpu cores: $(nproc)"
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

export SENRI_TEST_DEVICE="$device"
failed=()
step() {
  local started=$SECONDS
  "$@" || failed+=("$*")
  echo "    ($((SECONDS - started)) s)"
}
# a hung step is stopped so that the later ones still run within the lease
limit=${SENRI_GPU_STEP_TIMEOUT:-900}
run_tests() {
  echo "==> parity on $device: $*"
  timeout "$limit" "$PY" -m pytest -q -p no:cacheprovider "$@"
}
bench() {
  echo "==> benchmarks/gpu.py on $device: $*"
  timeout "$limit" "$PY" benchmarks/gpu.py --device "$device" $quick --only "$@"
}

for p in "${parts[@]}"; do
  home "$p"
  case "$p" in
    vision)
      step run_tests tests/device/test_torch_backend.py -k "detector or resizing or refused or cuda or auto"
      step run_tests tests/device/test_device_frames.py -k "not face_detector"
      step bench detector decode profile
      step bench streams ;;
    faces)
      step run_tests tests/device/test_torch_backend.py -k "image_embeddings or face"
      step run_tests tests/device/test_device_frames.py -k face_detector
      step bench faces profile ;;
    audio)
      step run_tests tests/device/test_torch_ops.py
      step run_tests tests/device/test_torch_backend.py -k "ocr or quantised or dialect" ;;
    knn)
      step bench knn ;;
  esac
done
if [ ${#failed[@]} -gt 0 ]; then
  printf '==> gpu_check: FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "==> gpu_check done"
