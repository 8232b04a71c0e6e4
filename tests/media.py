"""Small media files for tests, written with the same libraries users' files come from."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf


def write_video(
    path: Path,
    frames: int = 20,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    faststart: bool = True,
    gop: int | None = None,
) -> Path:
    """An H.264 MP4 whose frame i has mean grey level 10 * i (mod 250) plus fixed-seed noise.

    With `faststart` the index sits before the media, so a truncated copy still opens and
    yields the frames before the cut (as a recording cut off mid-upload would). `gop` puts a
    keyframe every that many frames (default: the encoder's choice).
    """
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        for i in range(frames):
            noise = np.random.default_rng(i).integers(-40, 41, (size[1], size[0], 3))
            image = np.clip((10 * i) % 250 + noise, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def write_wav(path: Path, seconds: float = 2.0, rate: int = 16000, freq: float = 440.0) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(
        str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, subtype="PCM_16"
    )
    return path


def break_wav_header(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[8:16] = b"XXXXXXXX"  # "WAVEfmt " becomes garbage
    path.write_bytes(bytes(data))
    return path
