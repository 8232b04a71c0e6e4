"""Train the `dialect/lre` model: a small CNN on log-mel images of the synthetic dialect corpus.

The seed approach (GoogLeNet on 256×256 spectrogram images of NIST LRE speech) shrunk to what
two CPU cores train in a few minutes: four 3×3 conv blocks over a [frames, 64] log-mel image,
per-band mean normalisation (so gain and channel do not matter), then mean and standard
deviation over time (any clip length works) and a two-layer head over the 23 dialect voices.
Everything is seeded and single-order, so a rerun gives the same weights.

    python -m senri.models.training.dialect [--out DIR] [--epochs N]

writes ``dialect_lre.onnx`` (run by onnxruntime in `audio.dialect`; no torch at inference) and
``dialect_lre.json`` (labels, clusters, feature parameters, training config, evaluation).
Needs torch (the `train` extra).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.models.training import dialect_corpus as corpus

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
EVAL_SPLITS = ("heldout_sentences", "heldout_speakers", "heldout_both")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; all of them are recorded in the model's metadata."""

    epochs: int = 25
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-3
    widths: tuple[int, ...] = (16, 32, 64, 64)
    hidden: int = 128
    dropout: float = 0.3
    freq_mask: int = 8  # SpecAugment: up to this many mel bands zeroed (after normalisation)
    time_mask: int = 30  # ... and up to this many frames
    seed: int = 1234
    threads: int = 2


def build_model(n_classes: int, cfg: TrainConfig) -> Any:
    """The CNN (a torch.nn.Module): input [N, frames, 64] raw log-mel, output [N, classes]."""
    import torch
    from torch import nn

    class DialectCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.AvgPool2d((2, 1))]  # 20 ms frames are plenty
            cin = 1
            for i, cout in enumerate(cfg.widths):
                stride = 2 if i < len(cfg.widths) - 1 else 1
                layers += [
                    nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                    nn.BatchNorm2d(cout),
                    nn.ReLU(),
                ]
                cin = cout
            self.body = nn.Sequential(*layers)
            bands = 64 // 2 ** (len(cfg.widths) - 1)
            self.head = nn.Sequential(
                nn.Linear(2 * cin * bands, cfg.hidden),
                nn.ReLU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden, n_classes),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x - x.mean(dim=1, keepdim=True)  # per-band mean over time: gain/channel-free
            h = self.body(x.unsqueeze(1))  # [N, C, T', F']
            mean = h.mean(dim=2)
            std = torch.sqrt(((h - mean.unsqueeze(2)) ** 2).mean(dim=2) + 1e-5)
            return self.head(torch.cat([mean, std], dim=1).flatten(1))

    return DialectCNN()


def _augment(x: Any, gen: Any, cfg: TrainConfig) -> Any:
    """SpecAugment-style masks, one frequency and one time band per clip, from `gen`."""
    import torch

    n, frames, bands = x.shape
    x = x - x.mean(dim=1, keepdim=True)
    f_width = torch.randint(0, cfg.freq_mask + 1, (n,), generator=gen)
    f_start = (torch.rand(n, generator=gen) * (bands - f_width)).long()
    t_width = torch.randint(0, cfg.time_mask + 1, (n,), generator=gen)
    t_start = (torch.rand(n, generator=gen) * (frames - t_width)).long()
    f = torch.arange(bands)[None, :]
    t = torch.arange(frames)[None, :]
    fmask = (f >= f_start[:, None]) & (f < (f_start + f_width)[:, None])
    tmask = (t >= t_start[:, None]) & (t < (t_start + t_width)[:, None])
    return x.masked_fill(fmask[:, None, :] | tmask[:, :, None], 0.0)


def train(feats: npt.NDArray[np.float16], labels: npt.NDArray[np.int64], cfg: TrainConfig) -> Any:
    """A trained model (eval mode) from `feats` [N, frames, 64] and dialect indices."""
    import torch

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(cfg.seed)
    x_all = torch.from_numpy(feats.astype(np.float32))
    y_all = torch.from_numpy(labels)
    model = build_model(len(corpus.LABELS), cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * -(-len(y_all) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(y_all), generator=gen)
        total, started = 0.0, time.monotonic()
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            x = _augment(x_all[idx], gen, cfg)
            loss = loss_fn(model(x), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        print(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {total / len(y_all):.3f} "
            f"({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    return model.eval()


def predict(model: Any, feats: npt.NDArray[Any], batch: int = 256) -> npt.NDArray[np.float32]:
    """Class probabilities [N, classes] from the torch model."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            x = torch.from_numpy(np.asarray(feats[i : i + batch], np.float32))
            out.append(torch.softmax(model(x), dim=1).numpy())
    return np.concatenate(out)


def scores(probs: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> dict[str, float]:
    """Top-1 and top-5 dialect accuracy, and the accuracy of the top-1 dialect's cluster."""
    cluster_of = np.array([corpus.CLUSTERS.index(d.cluster) for d in corpus.DIALECTS])
    top = np.argsort(-probs, axis=1)
    return {
        "top1": round(float(np.mean(top[:, 0] == labels)), 4),
        "top5": round(float(np.mean((top[:, :5] == labels[:, None]).any(axis=1))), 4),
        "cluster": round(float(np.mean(cluster_of[top[:, 0]] == cluster_of[labels])), 4),
        "n": len(labels),
    }


def export(model: Any, path: Path, frames: int) -> None:
    """Write the model as ONNX with a dynamic batch and time axis (opset 17)."""
    import torch

    dummy = torch.zeros(2, frames, 64)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["logmel"],
        output_names=["logits"],
        dynamic_axes={"logmel": {0: "batch", 1: "frames"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def check_onnx(
    path: Path, model: Any, feats: npt.NDArray[Any], input_name: str = "logmel"
) -> float:
    """Largest |probability difference| between onnxruntime and torch on `feats`."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {input_name: np.asarray(feats, np.float32)})[0]
    ours = np.exp(logits - logits.max(1, keepdims=True))
    ours /= ours.sum(1, keepdims=True)
    return float(np.abs(ours - predict(model, feats)).max())


def run(out: Path, cfg: TrainConfig) -> dict[str, Any]:
    """Build (or load) the corpus, train, evaluate, export; returns the metadata written."""
    started = time.monotonic()
    feats, labels = corpus.load("train")
    corpus_s = time.monotonic() - started
    started = time.monotonic()
    model = train(feats, labels, cfg)
    train_s = time.monotonic() - started
    results = {"train": scores(predict(model, feats[::8]), labels[::8])}
    for split in EVAL_SPLITS:
        x, y = corpus.load(split)
        results[split] = scores(predict(model, x), y)
        print(f"{split}: {results[split]}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "dialect_lre.onnx"
    export(model, onnx_path, feats.shape[1])
    tolerance = check_onnx(onnx_path, model, corpus.load("heldout_both")[0][:32])
    if tolerance > 1e-4:
        raise RuntimeError(f"ONNX export disagrees with torch by {tolerance:.2e}")
    import torch

    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    meta = {
        "model": "dialect/lre",
        "labels": list(corpus.LABELS),
        "clusters": {d.label: d.cluster for d in corpus.DIALECTS},
        "features": {
            "sample_rate": corpus.SAMPLE_RATE,
            "front_end": "senri.operators.melspec.log_mel (25 ms Hann, 10 ms hop, 512 FFT, "
            "64 HTK mel bands 125-7500 Hz, log(mel + 0.001))",
            "bands": 64,
            "window_frames": int(feats.shape[1]),
            "input": "logmel float32 [N, frames, 64]; the model subtracts the per-band mean",
            "output": "logits float32 [N, classes] (softmax for probabilities)",
        },
        "training": {
            **asdict(cfg),
            "torch": torch.__version__,
            "train_clips": len(labels),
            "train_seconds": round(train_s, 1),
            "corpus_seconds": round(corpus_s, 1),
        },
        "evaluation": results,
        "onnx_vs_torch_max_prob_diff": tolerance,
        "corpus": corpus.describe(),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "sha256": digest,
    }
    (out / "dialect_lre.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes, sha256 {digest})")
    print(f"training took {train_s:.0f} s")
    print("update the dialect/lre PackageFile sha256 in senri/models/cards.py if it changed")
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output directory")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    args = parser.parse_args(argv)
    run(args.out, TrainConfig(epochs=args.epochs))


if __name__ == "__main__":
    main()
