"""Train the `dialect/whisper` head: a small MLP over Whisper base's pooled encoder states.

The `dialect/lre` CNN learns espeak-ng's log-mel from scratch and does not carry over to
people. This head learns the same 23 voices from the states of an encoder trained on 680,000
hours of real speech (`senri.operators.whisper_states.pooled_states`, Whisper base, the
``speech/multi`` card), so what it learns is closer to how people differ. Same corpus, same
splits (`dialect_corpus`); the clips are re-synthesised from their seeds and embedded once,
cached beside the corpus. Beside the training sentences it learns from the corpus's
``train_words`` split (everyday words, `dialect_words`), so that it learns voices, not the six
sentences' words. Everything is seeded; a rerun on the same CPU gives the same
weights (CTranslate2's int8 kernels differ slightly between CPU families).

    python -m senri.models.training.dialect_whisper [--out DIR] [--epochs N]

writes ``dialect_whisper.onnx`` (the feature standardisation is inside the graph) and
``dialect_whisper.json`` (labels, clusters, the encoder card, training config, evaluation).
Needs torch (the `train` extra) and faster-whisper with the ``speech/multi`` weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.models.training import dialect_corpus as corpus
from senri.models.training.dialect import EVAL_SPLITS, WEIGHTS_DIR, check_onnx, predict, scores

ENCODER = "speech/multi"
BATCH = 16
TRAIN_SPLITS = ("train", "train_words")


@dataclass(frozen=True)
class HeadConfig:
    """Hyper-parameters; all of them are recorded in the model's metadata."""

    epochs: int = 60
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    hidden: int = 256
    dropout: float = 0.3
    seed: int = 1234
    threads: int = 2


_ENCODERS: dict[str, Any] = {}


def _encoder(model: str) -> Any:
    """One single-threaded faster-whisper per worker process, loaded on first use."""
    if model not in _ENCODERS:
        from senri.engine.operator import Device
        from senri.operators.stt import load_whisper

        _ENCODERS[model] = load_whisper(model, Device("cpu"), 1, "dialect/whisper training")
    return _ENCODERS[model]


def _embed_batch(args: tuple[str, Sequence[corpus.ClipSpec]]) -> npt.NDArray[np.float32]:
    from senri.operators.whisper_states import pooled_states

    model, items = args
    return pooled_states(_encoder(model), [corpus.synthesize(s) for s in items])


def embed(
    items: Sequence[corpus.ClipSpec], *, model: str = ENCODER, workers: int = 2
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Pooled encoder states [N, 2 × width] and dialect indices of `items`, in order."""
    batches = [(model, items[i : i + BATCH]) for i in range(0, len(items), BATCH)]
    if workers > 1 and len(batches) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_embed_batch, batches))
    else:
        parts = [_embed_batch(b) for b in batches]
    return np.concatenate(parts), np.array([s.dialect for s in items], np.int64)


def load(
    split: str, *, model: str = ENCODER, workers: int = 2
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """`split`'s states from the cache beside the corpus, embedding them first if missing."""
    path = corpus.corpus_dir() / f"whisper-{model.replace('/', '-')}-{split}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["states"], data["labels"]
    states, labels = embed(corpus.specs(split), model=model, workers=workers)
    corpus.save(path, states=states, labels=labels)
    return states, labels


def build_head(mean: npt.NDArray[Any], std: npt.NDArray[Any], n: int, cfg: HeadConfig) -> Any:
    """The head (a torch.nn.Module): input [N, width] raw pooled states, output [N, n] logits;
    the training set's per-feature mean and standard deviation are constants inside it."""
    import torch
    from torch import nn

    class DialectHead(nn.Module):
        mean: torch.Tensor
        scale: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(np.asarray(mean, np.float32)))
            self.register_buffer("scale", torch.from_numpy(1.0 / (np.asarray(std) + 1e-6)))
            self.mlp = nn.Sequential(
                nn.Dropout(cfg.dropout),
                nn.Linear(len(mean), cfg.hidden),
                nn.ReLU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden, n),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.mlp((x - self.mean) * self.scale)

    return DialectHead()


def train(states: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], cfg: HeadConfig) -> Any:
    """A trained head (eval mode) from pooled `states` and dialect indices."""
    import torch

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(cfg.seed)
    x_all = torch.from_numpy(np.asarray(states, np.float32))
    y_all = torch.from_numpy(labels)
    std = states.std(axis=0).astype(np.float32)
    model = build_head(states.mean(axis=0), std, len(corpus.LABELS), cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(y_all), generator=gen)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            loss = loss_fn(model(x_all[idx]), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        if (epoch + 1) % 10 == 0 or epoch + 1 == cfg.epochs:
            print(f"epoch {epoch + 1}/{cfg.epochs}: loss {total / len(y_all):.3f}", flush=True)
    return model.eval()


def export(model: Any, path: Path, width: int) -> float:
    """Write the head as ONNX (dynamic batch, opset 17); returns the largest |probability
    difference| between onnxruntime and torch on random states around the training mean."""
    import torch

    dummy = torch.zeros(2, width)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["states"],
        output_names=["logits"],
        dynamic_axes={"states": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    rng = np.random.default_rng(0)
    probe = model.mean.numpy() + rng.normal(0, 1, (32, width)) / model.scale.numpy()
    return check_onnx(path, model, probe, "states")


def run(out: Path, cfg: HeadConfig) -> dict[str, Any]:
    """Embed (or load) the corpus, train, evaluate, export; returns the metadata written."""
    started = time.monotonic()
    parts = [load(split) for split in TRAIN_SPLITS]
    states = np.concatenate([x for x, _ in parts])
    labels = np.concatenate([y for _, y in parts])
    embed_s = time.monotonic() - started
    started = time.monotonic()
    model = train(states, labels, cfg)
    train_s = time.monotonic() - started
    results = {"train": scores(predict(model, states[::8]), labels[::8])}
    for split in EVAL_SPLITS:
        x, y = load(split)
        results[split] = scores(predict(model, x), y)
        print(f"{split}: {results[split]}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "dialect_whisper.onnx"
    tolerance = export(model, onnx_path, states.shape[1])
    if tolerance > 1e-4:
        raise RuntimeError(f"ONNX export disagrees with torch by {tolerance:.2e}")
    import torch

    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    meta = {
        "model": "dialect/whisper",
        "labels": list(corpus.LABELS),
        "clusters": {d.label: d.cluster for d in corpus.DIALECTS},
        "features": {
            "sample_rate": corpus.SAMPLE_RATE,
            "front_end": "senri.operators.whisper_states.pooled_states",
            "encoder": ENCODER,
            "width": int(states.shape[1]),
            "window_samples": corpus.CLIP_SAMPLES,
            "input": "states float32 [N, width]: mean then std over time of the unpadded "
            "Whisper encoder output of one window (the graph standardises them)",
            "output": "logits float32 [N, classes] (softmax for probabilities)",
        },
        "training": {
            **asdict(cfg),
            "torch": torch.__version__,
            "train_splits": list(TRAIN_SPLITS),
            "train_clips": len(labels),
            "train_seconds": round(train_s, 1),
            "embed_seconds": round(embed_s, 1),
        },
        "evaluation": results,
        "onnx_vs_torch_max_prob_diff": tolerance,
        "corpus": corpus.describe(),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "sha256": digest,
    }
    (out / "dialect_whisper.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes, sha256 {digest})")
    print("update the dialect/whisper PackageFile sha256 in senri/models/cards.py if it changed")
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output directory")
    parser.add_argument("--epochs", type=int, default=HeadConfig.epochs)
    args = parser.parse_args(argv)
    run(args.out, HeadConfig(epochs=args.epochs))


if __name__ == "__main__":
    main()
