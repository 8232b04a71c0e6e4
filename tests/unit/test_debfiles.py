"""Files unpacked from Debian packages without installing them (`senri.evaluation.debfiles`).

These download dopewars-data (0.3 MB) from the machine's Debian mirror with ``apt-get
download``, as ``scripts/setup.sh --dev`` does for the sound evaluation's recordings.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from senri.evaluation.debfiles import DebFile, DebFileError, fetch, local, need
from senri.evaluation.recorded import MissingSetError

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian/Ubuntu)"),
]

GUN = DebFile("dopewars-data", "/usr/share/dopewars/gun.wav", "5c7259f7b7a035d5")


def test_a_file_is_unpacked_checked_and_kept_without_installing_the_package(
    tmp_path: Path,
) -> None:
    with pytest.raises(MissingSetError, match="fetch Debian's dopewars-data"):
        need([GUN], tmp_path)
    said: list[str] = []
    assert fetch([GUN], tmp_path, emit=said.append) == 1
    kept = local(GUN, tmp_path)
    assert kept == tmp_path / "dopewars-data/usr/share/dopewars/gun.wav"
    assert kept.read_bytes()[:4] == b"RIFF" and kept.stat().st_size > 10_000
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["gun.wav"]
    assert said and "dopewars-data" in said[0]
    need([GUN], tmp_path)  # present now: no error
    assert fetch([GUN], tmp_path, emit=said.append) == 0  # nothing downloaded again
    assert len(said) == 1


def test_a_changed_or_missing_file_is_an_error_and_nothing_is_kept(tmp_path: Path) -> None:
    other = DebFile(GUN.package, GUN.path, "0123456789abcdef")
    with pytest.raises(DebFileError, match="not the labelled 0123456789abcdef"):
        fetch([other], tmp_path, emit=lambda _: None)
    gone = DebFile(GUN.package, "/usr/share/dopewars/no-such.wav", "0123456789abcdef")
    with pytest.raises(DebFileError, match="dopewars-data has no /usr/share/dopewars/no-such"):
        fetch([gone], tmp_path, emit=lambda _: None)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_package_the_mirror_does_not_have_is_named(tmp_path: Path) -> None:
    nowhere = DebFile("senri-no-such-package", "/x.wav", "0123456789abcdef")
    with pytest.raises(DebFileError, match="apt-get download senri-no-such-package failed"):
        fetch([nowhere], tmp_path, emit=lambda _: None)
