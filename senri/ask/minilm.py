"""all-MiniLM-L6-v2 sentence embeddings in NumPy, from the registry's ``text/minilm`` files.

The model is a 6-layer, 384-wide BERT (22 M parameters); sentence-transformers embeds with
it by mean-pooling the last layer over the real tokens and L2-normalising. This module does
the same forward pass with NumPy, reading ``model.safetensors`` directly and tokenising with
the `tokenizers` package (``tokenizer.json``), so questions need neither PyTorch (gigabytes
for a 90 MB model) nor a second of import time. `tests/unit/test_ask_vocab.py` checks it
against embeddings recorded from sentence-transformers 5.7 with the same files.

Example:
    >>> model = MiniLM.load(Path("~/.senri/models/text/minilm/0.1.0"))  # doctest: +SKIP
    >>> model.encode(["red car", "crimson automobile"]).shape           # doctest: +SKIP
    (2, 384)
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from senri.errors import MissingDependencyError, ModelUnavailableError

Array = npt.NDArray[np.float32]
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file (an 8-byte header size, a JSON header, data)."""
    raw = path.read_bytes()
    if len(raw) < 8:
        raise ModelUnavailableError(f"{path} is not a safetensors file (too short)")
    (size,) = struct.unpack("<Q", raw[:8])
    try:
        header = json.loads(raw[8 : 8 + size])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelUnavailableError(f"{path}: unreadable safetensors header ({exc})") from None
    base = 8 + size
    out: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(spec["dtype"])
        if dtype is None:
            raise ModelUnavailableError(f"{path}: tensor {name} has unsupported {spec['dtype']}")
        start, end = spec["data_offsets"]
        out[name] = np.frombuffer(raw[base + start : base + end], dtype=dtype).reshape(
            spec["shape"]
        )
    return out


def _linear(name: str, value: np.ndarray) -> bool:
    return name.startswith("encoder.") and name.endswith(".weight") and value.ndim == 2


def _erf(x: Array) -> Array:
    """erf to ~1e-7 (Abramowitz and Stegun 7.1.26), for BERT's exact GELU."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def _layer_norm(x: Array, w: Array, b: Array, eps: float = 1e-12) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * w + b).astype(np.float32)


class MiniLM:
    """The BERT encoder with mean pooling; `encode` gives unit-length rows."""

    heads = 12
    max_tokens = 256

    def __init__(self, weights: dict[str, np.ndarray], tokenizer: object) -> None:
        self.w = {
            # linear weights stored transposed and contiguous: one BLAS gemm per layer
            k: np.ascontiguousarray(
                np.asarray(v, dtype=np.float32).T if _linear(k, v) else np.asarray(v, np.float32)
            )
            for k, v in weights.items()
            if v.dtype != np.int64
        }
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, folder: Path) -> MiniLM:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                "tokenizers", "questions (pip install 'senri[ask]')"
            ) from exc
        folder = Path(folder).expanduser()
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(cls.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return cls(read_safetensors(folder / "model.safetensors"), tokenizer)

    def encode(self, texts: list[str]) -> Array:
        if not texts:
            return np.zeros((0, 384), np.float32)
        batch = self.tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        return self.forward(ids, mask)

    def forward(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        w = self.w
        n, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        width = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(h: Array, name: str, p: str = p) -> Array:
                weight = w[p + name + ".weight"]  # [in, out]
                flat = h.reshape(-1, h.shape[-1]) @ weight + w[p + name + ".bias"]
                return flat.reshape(*h.shape[:-1], weight.shape[1])

            def split(h: Array) -> Array:
                return h.reshape(n, length, self.heads, width).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(width) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = _layer_norm(
                lin(context, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = lin(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / np.float32(math.sqrt(2.0))))
            x = _layer_norm(
                lin(h, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
