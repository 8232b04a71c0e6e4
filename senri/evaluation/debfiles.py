"""Files out of Debian packages, unpacked into the cache without installing the packages.

Some labelled recordings sit in game and tool packages whose dependencies (a Java runtime,
Python tools, fonts) an evaluation machine does not need, and which would take root to
install. `fetch` downloads each package's ``.deb`` with ``apt-get download`` (no root),
unpacks it with ``dpkg-deb -x`` into a temporary folder and keeps only the files named, in
``$SENRI_CACHE/debian/<package>/<path>``, each checked against the sha256 it was labelled
with. ``scripts/setup.sh --dev`` runs ``python -m senri.evaluation.debfiles``; an evaluation
that finds a file missing raises `MissingSetError` naming its package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from senri import config
from senri.evaluation.recorded import MissingSetError
from senri.models.fetch import sha256_of


@dataclass(frozen=True)
class DebFile:
    """One file of a Debian package: its absolute path inside the package and the first 16
    hex digits of its sha256 (the content its label was given for)."""

    package: str
    path: str
    sha256: str

    @property
    def relative(self) -> str:
        """The path inside the package, relative to its root."""
        return self.path.lstrip("/")


class DebFileError(RuntimeError):
    """A package could not be downloaded or unpacked, or a file in it is not the one labelled."""


def root() -> Path:
    """Where fetched files live: ``$SENRI_CACHE/debian``."""
    return config.cache() / "debian"


def local(f: DebFile, under: Path | None = None) -> Path:
    """The cached copy of `f`."""
    return (under or root()) / f.package / f.relative


def need(files: Iterable[DebFile], under: Path | None = None) -> None:
    """Raise `MissingSetError` naming the packages whose files have not been fetched."""
    packages = sorted({f.package for f in files if not local(f, under).is_file()})
    if packages:
        raise MissingSetError(
            f"fetch Debian's {', '.join(packages)} (scripts/setup.sh --dev, or "
            "python -m senri.evaluation.debfiles)"
        )


def _download(package: str, into: Path) -> Path:
    apt = shutil.which("apt-get")
    dpkg = shutil.which("dpkg-deb")
    if apt is None or dpkg is None:
        raise DebFileError(f"{package}: needs apt-get and dpkg-deb (a Debian or Ubuntu machine)")
    done = subprocess.run(
        [apt, "download", "-q", package], cwd=into, capture_output=True, text=True, timeout=900
    )
    debs = sorted(into.glob("*.deb"))
    if done.returncode != 0 or not debs:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no .deb written"]
        raise DebFileError(f"apt-get download {package} failed: {why[0]} (apt-get update first?)")
    tree = into / "tree"
    subprocess.run([dpkg, "-x", str(debs[0]), str(tree)], check=True, timeout=900)
    return tree


def fetch(
    files: Iterable[DebFile], under: Path | None = None, emit: Callable[[str], Any] = print
) -> int:
    """Download and unpack the packages of `files` that are not cached yet; return how many
    files were added. A file missing from its package, or with another sha256, is an error
    naming it, and nothing of that package is kept."""
    by_package: dict[str, list[DebFile]] = {}
    for f in files:
        if not local(f, under).is_file():
            by_package.setdefault(f.package, []).append(f)
    added = 0
    for package, wanted in sorted(by_package.items()):
        emit(f"==> {package}: {len(wanted)} file(s) into {(under or root()) / package}")
        with tempfile.TemporaryDirectory(prefix="senri-deb-") as tmp:
            tree = _download(package, Path(tmp))
            for f in wanted:
                src = tree / f.relative
                if not src.is_file():
                    raise DebFileError(f"{package} has no {f.path}")
                digest = sha256_of(src)[:16]
                if digest != f.sha256:
                    raise DebFileError(
                        f"{package}'s {f.path} has sha256 {digest}…, not the labelled "
                        f"{f.sha256}…: the package changed; check the file and its label"
                    )
            for f in wanted:
                dest = local(f, under)
                dest.parent.mkdir(parents=True, exist_ok=True)
                part = dest.with_name(dest.name + ".part")
                shutil.copyfile(tree / f.relative, part)
                part.replace(dest)
                added += 1
    return added


def main() -> int:
    """Fetch every Debian file the packaged evaluation sets name."""
    from senri.evaluation import packaged

    try:
        added = fetch(packaged.deb_files())
    except DebFileError as exc:
        print(f"senri.evaluation.debfiles: {exc}", file=sys.stderr)
        return 1
    print(f"==> Debian evaluation files: {added} fetched, all present in {root()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
