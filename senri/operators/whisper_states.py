"""Whisper encoder states pooled into one vector per clip: the input of ``dialect/whisper``.

The clip's log-mel (Whisper's own feature extractor) goes through the encoder of a loaded
faster-whisper model *without* the 30-second padding Whisper's decoder needs, so a 2.5 s
window is 126 encoder positions instead of 1,500: Whisper base takes about 36 ms on a 2-core
CPU (int8) instead of 0.8 s. The mean and the standard deviation of the last layer's states
over time (x-vector-style statistics pooling) make one vector of twice the encoder's width,
whatever the clip's length. Training (`senri.models.training.dialect_whisper`) and the
`audio.dialect` operator both call `pooled_states`, so the head sees at run time what it saw
in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_SAMPLES = 400
"""One 25 ms analysis window at 16 kHz: the shortest clip the feature extractor can frame."""


def pooled_states(
    whisper: Any, clips: Sequence[npt.NDArray[np.float32]]
) -> npt.NDArray[np.float32]:
    """[N, 2 × width]: the mean, then the standard deviation, over time of each 16 kHz clip's
    unpadded encoder states. `whisper` is a faster-whisper `WhisperModel`; the clips of one
    call must have the same length (they go through the encoder as one batch)."""
    if not clips:
        raise ValueError("pooled_states needs at least one clip")
    lengths = {len(c) for c in clips}
    if len(lengths) > 1:
        raise ValueError(f"pooled_states batches clips of one length; got {sorted(lengths)}")
    if min(lengths) < MIN_SAMPLES:
        raise ValueError(f"a clip of {min(lengths)} samples is shorter than {MIN_SAMPLES}")
    import ctranslate2

    feats = np.stack([whisper.feature_extractor(np.asarray(c, np.float32)) for c in clips])
    view = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats, np.float32))
    states = np.asarray(whisper.model.encode(view, to_cpu=True), dtype=np.float32)
    return np.concatenate([states.mean(axis=1), states.std(axis=1)], axis=1)
