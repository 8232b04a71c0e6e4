"""What ingest costs per frame, without a broker: decode + JPEG envelopes, or packets as they are.

A synthetic clip (moving shapes over a gradient, H.264 by PyAV's libx264, GOP 2 s, B-frames)
is written at the chosen size; then both ingest paths read it to the bytes they would send:

- frames: `VideoSource` decodes every frame and the wire codec JPEG-encodes it (`frame/1`);
- packets: `PacketSource` demuxes access units and wraps them (`packet/1`), no decode;
- and what a worker pays to get frames back from packets (`decode.video`), for every frame
  and at `--sample-fps`, with and without leaving unreferenced pictures undecoded.

    python benchmarks/ingest_cost.py --size 1920x1080 --seconds 10
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from senri import codec
from senri.connectors import VideoSource
from senri.connectors.packets import PacketSource
from senri.engine.operator import Device
from senri.operators import video_decode
from senri.operators.video_decode import DecodeVideo
from senri.records import Frame, VideoPacket


def clip(path: Path, width: int, height: int, seconds: float, fps: int) -> None:
    """Shapes moving over a gradient: enough motion that P- and B-frames carry something."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width]
    ground = ((xx * 255 // width + yy * 128 // height) % 256).astype(np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(2 * fps), "bf": "2", "preset": "veryfast", "crf": "23"}
        stream.time_base = Fraction(1, fps)
        boxes = rng.integers(0, min(width, height) // 2, size=(6, 2))
        for i in range(int(seconds * fps)):
            image = np.stack([ground, np.roll(ground, i * 3, axis=1), ground[::-1]], axis=-1)
            for k, (x, y) in enumerate(boxes):
                x0, y0 = int(x + i * (k + 2)) % (width - 80), int(y + i * (k + 1)) % (height - 80)
                image[y0 : y0 + 80, x0 : x0 + 80] = (40 * k, 255 - 30 * k, 90)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--sample-fps", type=float, default=5.0, help="decode.video's fps")
    args = parser.parse_args()
    real = video_decode.disposable
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        clip(video, width, height, args.seconds, args.fps)
        print(f"clip: {width}x{height}, {args.seconds:g} s at {args.fps} fps, H.264 (libx264)")

        cpu, sent, n = time.process_time(), 0, 0
        for item in VideoSource(video, "cam1", start_time=0.0):
            if isinstance(item, Frame):
                sent += len(codec.encode(item))
                n += 1
        jpeg_cpu = (time.process_time() - cpu) / n
        print(f"frames   {sent / n / 1e3:8.1f} kB/frame  {jpeg_cpu * 1e3:7.2f} ms CPU/frame"
              f"  {sent * 8 / args.seconds / 1e6:6.1f} Mbit/s on the wire")  # fmt: skip

        cpu, sent, packets = time.process_time(), 0, []
        for item in PacketSource(video, "cam1", start_time=0.0):
            if isinstance(item, VideoPacket):
                sent += len(codec.encode(item))
                packets.append(item)
        packet_cpu = (time.process_time() - cpu) / len(packets)
        per = sent / len(packets) / 1e3
        print(f"packets  {per:8.1f} kB/frame  {packet_cpu * 1e3:7.2f} ms CPU/frame"
              f"  {sent * 8 / args.seconds / 1e6:6.1f} Mbit/s on the wire"
              f"  ({jpeg_cpu / packet_cpu:.0f}x less CPU)")  # fmt: skip

        print(f"decode.video at the worker, {len(packets)} packets:")
        runs = [(None, True), (args.sample_fps, False), (args.sample_fps, True)]
        for fps, skipping in runs:
            video_decode.disposable = real if skipping else (lambda packet: False)
            op = DecodeVideo(fps=fps)
            op.setup(Device("cpu"))
            cpu = time.process_time()
            got = op.process(packets) + op.finish()
            per = (time.process_time() - cpu) / len(packets) * 1e3
            how = (
                "every frame"
                if fps is None
                else f"fps={fps:g}, "
                + (
                    f"{op.undecoded} unreferenced packets not decoded"
                    if skipping
                    else "all decoded"
                )
            )
            print(f"  {how:<52} {per:6.2f} ms CPU/packet  {len(got)} frames")
        video_decode.disposable = real


if __name__ == "__main__":
    main()
