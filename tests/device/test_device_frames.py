"""Frames decoded on the device: the detector and the face detector use a frame's kept device
copy instead of uploading it, a new image never inherits one, and nvJPEG decodes what OpenCV
decodes.

On the CPU, torch tensors stand in for device ones and torchvision's libjpeg-turbo decoder for
nvJPEG; `scripts/gpu_check.sh` runs this file with SENRI_TEST_DEVICE=cuda on a GPU.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.unit

from senri import codec, device_frames  # noqa: E402
from senri.device import Device  # noqa: E402
from senri.errors import DecodeError  # noqa: E402
from senri.models import onnx  # noqa: E402
from senri.models.photos import sample_photo  # noqa: E402
from senri.records import Frame  # noqa: E402

DEVICE = Device.parse(os.environ.get("SENRI_TEST_DEVICE", "cpu"))
SIZES = [(1920, 1080), (640, 480), (512, 512)]


def test_the_detector_reads_a_frames_device_copy_instead_of_uploading_it() -> None:
    from senri.operators.detect import CenterNet

    torch.set_num_threads(2)
    session = onnx.load("detector/coco", DEVICE, backend="torch")
    detector = CenterNet(session, resize_on_device=True)
    photo = sample_photo("astronaut.png")
    blank = np.full_like(photo, 128)
    ((_, _, alone),) = detector.detect([blank])
    assert 0 not in alone.tolist()  # a grey frame holds no person
    device_frames.keep(blank, torch.from_numpy(photo).to(session.device))
    ((_, _, classes),) = detector.detect([blank])
    assert 0 in classes.tolist()  # the astronaut, from the device copy
    ((_, _, again),) = detector.detect([blank.copy()])  # a new array: no copy, uploaded
    assert 0 not in again.tolist()


def test_the_face_detector_reads_a_frames_device_copy_too() -> None:
    from senri.operators.faces import RetinaFace

    torch.set_num_threads(2)
    session = onnx.load("faces/retinaface", DEVICE, backend="torch")
    faces = RetinaFace(session, resize_on_device=True)
    photo = cv2.resize(sample_photo("astronaut.png"), (1280, 720))  # resized on the device
    blank = np.full_like(photo, 128)
    assert [len(f.boxes) for f in faces.detect([blank])] == [0]
    device_frames.keep(blank, torch.from_numpy(photo).to(session.device))
    assert [len(f.boxes) for f in faces.detect([blank, blank.copy()])] == [1, 0]


def test_device_copies_belong_to_their_image_and_go_with_it() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    tensor = torch.ones((4, 6, 3), dtype=torch.uint8)
    device_frames.keep(image, tensor)
    assert device_frames.on_device(image, tensor.device) is tensor
    assert device_frames.on_device(image, torch.device("meta")) is None
    assert device_frames.on_device(image.copy(), tensor.device) is None
    key = id(image)
    del image
    gc.collect()
    assert key not in device_frames._copies


def test_the_cpu_decodes_frames_on_threads() -> None:
    pixels = device_frames.pixel_decoder(Device("cpu"), 3)
    assert isinstance(pixels, codec.HostPixels) and pixels.threads == 3


def test_cuda_without_torchvision_decodes_on_the_host_and_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torchvision.io", None)  # as if not installed
    with caplog.at_level(logging.WARNING, logger="senri.device_frames"):
        pixels = device_frames.pixel_decoder(Device("cuda"), 2)
    assert isinstance(pixels, codec.HostPixels)
    assert "frames decode on the host (2 threads)" in caplog.text
    assert "torchvision" in caplog.text


def test_the_device_decoder_decodes_what_opencv_decodes_and_keeps_device_copies() -> None:
    """nvJPEG on a GPU; on the CPU the same calls run torchvision's libjpeg-turbo decoder. A
    truncated and a garbled JPEG in the batch fail as they do on the host, alone."""
    photos = [sample_photo(p) for p in ("astronaut.png", "coffee.png", "camera.png")]
    frames = [
        Frame("cam", i, 0.0, 0.0, cv2.resize(p if p.ndim == 3 else np.dstack([p] * 3), size))
        for i, (p, size) in enumerate(zip(photos, SIZES, strict=True))
    ]
    envelopes = [codec.encode(f) for f in frames]
    jpeg = envelopes[1][envelopes[1].index(b"\xff\xd8\xff") :]
    noise = np.random.default_rng(0).bytes(len(jpeg) - 4)
    garbled = envelopes[1][: -len(jpeg)] + jpeg[:2] + noise + jpeg[-2:]
    envelopes[1:1] = [envelopes[0][:-60], garbled]
    pixels = device_frames.DevicePixels(DEVICE)
    on_device = codec.decode_many(envelopes, pixels=pixels)
    on_host = codec.decode_many(envelopes)
    assert "truncated JPEG" in str(on_device[1])
    assert "not a decodable image" in str(on_device[2])
    for a, b in zip(on_device, on_host, strict=True):
        if isinstance(b, DecodeError):
            assert isinstance(a, DecodeError) and str(a) == str(b)
            continue
        assert a.image.shape == b.image.shape
        diff = np.abs(a.image.astype(int) - b.image.astype(int))
        assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 8  # IDCTs differ, not content
        copy = device_frames.on_device(a.image, pixels.device)
        assert copy is not None and np.array_equal(copy.cpu().numpy(), a.image)
    assert sum(isinstance(r, Frame) for r in on_device) == 3
