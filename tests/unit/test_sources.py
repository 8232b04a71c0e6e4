"""Sources: video, audio, image folders and catalogs, on media generated in tmp_path."""

from __future__ import annotations

import itertools
import os
import random
import threading
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import av
import numpy as np
import pytest
import soundfile as sf

from senri.codec import decode_jpeg
from senri.connectors import (
    AudioSource,
    CsvCatalogSource,
    ImageFolderSource,
    ReconnectPolicy,
    Source,
    VideoSource,
    open_source,
)
from senri.connectors.base import network_options, parse_creation_time
from senri.errors import DecodeError, SourceError
from senri.records import AudioChunk, DeadLetter, Frame, ImageItem

pytestmark = pytest.mark.unit

R = TypeVar("R")

FPS = 30
PALETTE = [np.array(c, np.float64) for c in itertools.product((0, 85, 170, 255), repeat=3)]
CREATED = "2024-05-01T12:00:00.000000Z"
CREATED_EPOCH = 1714564800.0


# -- media ---------------------------------------------------------------------------------------


def write_video(
    path: Path,
    n: int,
    *,
    fps: int = FPS,
    creation_time: str | None = None,
    tone_hz: float | None = None,
) -> Path:
    """An H.264 MP4 whose frame i is the solid colour PALETTE[i]; moov first (faststart)."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        if creation_time:
            out.metadata["creation_time"] = creation_time
        video = out.add_stream("libx264", rate=fps)
        video.width = video.height = 32
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "10"}
        audio = out.add_stream("aac", rate=44100) if tone_hz is not None else None
        for i in range(n):
            image = np.empty((32, 32, 3), np.uint8)
            image[:] = PALETTE[i % len(PALETTE)]
            out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(video.encode(None))
        if audio is not None and tone_hz is not None:
            for frame in _tone_frames(tone_hz, seconds=n / fps):
                out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
    return path


def _tone(hz: float, seconds: float, rate: int = 44100) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _tone_frames(hz: float, seconds: float, rate: int = 44100) -> Iterator[av.AudioFrame]:
    stereo = np.stack([_tone(hz, seconds, rate)] * 2)
    for start in range(0, stereo.shape[1], 1024):
        block = np.ascontiguousarray(stereo[:, start : start + 1024])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = start
        yield frame


def write_compressed_audio(path: Path, codec: str, hz: float = 440.0, seconds: float = 2.0) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=44100)
        assert isinstance(stream, av.audio.stream.AudioStream)
        for frame in _tone_frames(hz, seconds):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_wav(path: Path, hz: float = 440.0, seconds: float = 2.5, rate: int = 44100) -> Path:
    tone = _tone(hz, seconds, rate)
    sf.write(path, np.stack([tone, tone], axis=1), rate, subtype="PCM_16")
    return path


def colour_index(frame: Frame) -> int:
    mean = frame.image.reshape(-1, 3).mean(axis=0)
    return int(np.argmin([np.linalg.norm(mean - c) for c in PALETTE]))


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def split(items: Iterable[R | DeadLetter]) -> tuple[list[R], list[DeadLetter]]:
    """Records and dead letters, each in order."""
    records: list[R] = []
    dead: list[DeadLetter] = []
    for item in items:
        if isinstance(item, DeadLetter):
            dead.append(item)
        else:
            records.append(item)
    return records, dead


def records_of(items: Iterable[R | DeadLetter]) -> list[R]:
    """The records, checking that nothing was dead-lettered."""
    records, dead = split(items)
    assert dead == []
    return records


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    write_video(root / "clip.mp4", 30)
    write_video(root / "short.mp4", 5)
    write_video(root / "dated.mp4", 3, creation_time=CREATED)
    write_video(root / "talk.mp4", 15, tone_hz=440.0)
    write_wav(root / "tone.wav")
    return root


# -- video ---------------------------------------------------------------------------------------


def test_video_frames_in_order_with_pts_and_ts(media: Path) -> None:
    frames, dead = split(VideoSource(media / "clip.mp4", "cam1", start_time=1000.0))
    assert dead == []
    assert [f.seq for f in frames] == list(range(30))
    assert [colour_index(f) for f in frames] == list(range(30))
    assert [f.pts for f in frames] == pytest.approx([i / FPS for i in range(30)])
    assert [f.ts for f in frames] == pytest.approx([1000.0 + i / FPS for i in range(30)])
    assert frames[0].image.shape == (32, 32, 3)
    assert frames[0].image.dtype == np.uint8
    assert {f.stream_id for f in frames} == {"cam1"}


def test_video_start_time_defaults_to_creation_time_then_mtime(media: Path) -> None:
    dated = records_of(VideoSource(media / "dated.mp4", "cam"))
    assert dated[0].ts == pytest.approx(CREATED_EPOCH)
    os.utime(media / "short.mp4", (1_600_000_000, 1_600_000_000))
    undated = records_of(VideoSource(media / "short.mp4", "cam"))
    assert undated[1].ts == pytest.approx(1_600_000_000 + 1 / FPS)


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (10, list(range(0, 30, 3))),  # every 3rd frame, by pts
        (15, list(range(0, 30, 2))),
        (1, [0]),  # the clip lasts one second
        (60, list(range(30))),  # never upsample
    ],
)
def test_video_fps_sampling_by_pts(media: Path, fps: float, expected: list[int]) -> None:
    frames = records_of(VideoSource(f"file://{media / 'clip.mp4'}", "cam", fps=fps, start_time=0))
    assert [colour_index(f) for f in frames] == expected
    assert [f.seq for f in frames] == list(range(len(expected)))
    assert [f.pts for f in frames] == pytest.approx([i / FPS for i in expected])


def test_video_max_frames(media: Path) -> None:
    frames = records_of(VideoSource(media / "clip.mp4", "cam", fps=10, max_frames=4))
    assert [colour_index(f) for f in frames] == [0, 3, 6, 9]


@pytest.mark.parametrize("keep", [0.5, 0.8, 0.95])
def test_truncated_video_yields_frames_then_one_dead_letter(
    media: Path, tmp_path: Path, keep: float
) -> None:
    """Whether FFmpeg reports the cut or just stops early, one dead letter says where."""
    data = (media / "clip.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * keep)])
    items = list(VideoSource(cut, "cam"))
    frames, dead = split(items)
    assert 0 < len(frames) < 30
    assert [colour_index(f) for f in frames] == list(range(len(frames)))
    assert len(dead) == 1
    assert items[-1] is dead[0]
    assert dead[0].stage == "source.video"
    assert dead[0].key == f"cam:{len(frames)}"
    assert "after frame" in dead[0].reason


def test_corrupt_video_yields_frames_then_one_decode_dead_letter(
    media: Path, tmp_path: Path
) -> None:
    data = bytearray((media / "clip.mp4").read_bytes())
    start = int(len(data) * 0.7)
    data[start:] = random.Random(0).randbytes(len(data) - start)
    (tmp_path / "bad.mp4").write_bytes(bytes(data))
    items = list(VideoSource(tmp_path / "bad.mp4", "cam"))
    frames, dead = split(items)
    assert 0 < len(frames) < 30
    assert len(dead) == 1
    assert items[-1] is dead[0]
    assert dead[0].reason.startswith(f"video decode failed after frame {len(frames)}: ")
    assert "InvalidDataError" in dead[0].error


def test_garbage_named_mp4_is_one_dead_letter(tmp_path: Path) -> None:
    """Decision: a file that exists but is not a video dead-letters; it does not raise."""
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(random.Random(0).randbytes(4096))
    items = list(VideoSource(junk, "cam"))
    assert len(items) == 1
    assert isinstance(items[0], DeadLetter)
    assert "cannot open" in items[0].reason
    assert items[0].error


def test_video_of_an_audio_file_is_a_dead_letter(media: Path) -> None:
    (item,) = list(VideoSource(media / "tone.wav", "cam"))
    assert isinstance(item, DeadLetter)
    assert "no video stream" in item.reason


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("missing.mp4", "no such file"),
        ("udp://239.0.0.1:1234", "unsupported scheme 'udp'"),
        ("file://remote-host/x.mp4", "local path"),
        (".", "not a regular file"),
    ],
)
def test_video_that_cannot_be_opened_raises(uri: str, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        VideoSource(uri, "cam")


@pytest.mark.parametrize("fps", [0, -1, True])
def test_video_bad_fps_raises(media: Path, fps: float) -> None:
    with pytest.raises(SourceError, match="fps"):
        VideoSource(media / "clip.mp4", "cam", fps=fps)


def test_live_file_reconnects_and_continues_numbering(media: Path) -> None:
    delays: list[float] = []
    src = VideoSource(
        media / "short.mp4",
        "cam",
        live=True,
        max_frames=12,
        reconnect=ReconnectPolicy(initial=0.5, jitter=0),
        clock=lambda: 5000.0,
        sleep=delays.append,
    )
    items = list(src)
    frames, dead = split(items)
    assert [f.seq for f in frames] == list(range(12))
    assert [colour_index(f) for f in frames] == [i % 5 for i in range(12)]
    # pts (and ts) keep growing across reconnects
    assert [f.pts for f in frames] == pytest.approx([i / FPS for i in range(12)])
    assert frames[0].ts == pytest.approx(5000.0)
    assert [d.reason for d in dead] == ["stream ended after 5 frames; reconnecting in 0.50s"] * 2
    assert [d.key for d in dead] == ["cam:5", "cam:10"]
    assert delays == [0.5, 0.5]  # a connection that delivered frames resets the backoff


def test_live_backoff_and_give_up(media: Path) -> None:
    calls = itertools.count()
    delays: list[float] = []

    def flaky(target: str) -> av.container.InputContainer:
        n = next(calls)
        if n in (0, 1) or n >= 3:
            raise av.error.ConnectionRefusedError(111, "Connection refused")
        return av.open(str(media / "short.mp4"))

    src = VideoSource(
        "rtsp://camera.invalid/stream",
        "cam",
        reconnect=ReconnectPolicy(initial=0.1, factor=2, max_delay=0.3, max_attempts=3, jitter=0),
        opener=flaky,
        sleep=delays.append,
    )
    assert src.live
    items = list(src)
    kinds = ["F" if isinstance(i, Frame) else "D" for i in items]
    assert "".join(kinds) == "DD" + "F" * 5 + "DDDD"
    reasons = [i.reason for i in items if isinstance(i, DeadLetter)]
    assert reasons[0].startswith("connecting to rtsp://camera.invalid/stream failed")
    first = items[0]
    assert isinstance(first, DeadLetter)
    assert "ConnectionRefusedError" in first.error
    assert reasons[2] == "stream ended after 5 frames; reconnecting in 0.10s"
    assert reasons[-1].endswith("giving up after 3 failed attempts")
    assert delays == [0.1, 0.2, 0.1, 0.2, 0.3]  # backoff restarts after frames, capped
    assert [f.seq for f in items if isinstance(f, Frame)] == list(range(5))


def test_close_from_another_thread_interrupts_reconnect_wait() -> None:
    failed = threading.Event()

    def refuse(target: str) -> av.container.InputContainer:
        failed.set()
        raise OSError("unreachable")

    src = VideoSource(
        "rtsp://camera.invalid/s",
        "cam",
        reconnect=ReconnectPolicy(initial=60, jitter=0),
        opener=refuse,
    )
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.extend(src))
    worker.start()
    assert failed.wait(5)
    src.close()
    worker.join(2)
    assert not worker.is_alive()
    assert len(got) == 1


def test_close_stops_file_iteration(media: Path) -> None:
    src = VideoSource(media / "clip.mp4", "cam")
    seen = []
    for frame in src:
        seen.append(frame)
        if len(seen) == 3:
            src.close()
    assert len(seen) == 3


def test_close_stops_audio(media: Path) -> None:
    src = AudioSource(media / "tone.wav", "m", chunk_seconds=0.25, block_seconds=0.25)
    seen = []
    for chunk in src:
        seen.append(chunk)
        src.close()
    assert len(seen) == 1


def test_reconnect_policy_delays() -> None:
    policy = ReconnectPolicy(initial=0.5, factor=2, max_delay=3, jitter=0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = ReconnectPolicy(initial=2, jitter=0.5)
    rng = random.Random(1)
    assert all(1.0 <= jittered.delay(1, rng) <= 2.0 for _ in range(100))
    with pytest.raises(SourceError):
        ReconnectPolicy(factor=0.5)


def test_network_options_and_creation_time() -> None:
    assert network_options("rtsp", 5) == {"rtsp_transport": "tcp", "timeout": "5000000"}
    assert network_options("https", 2)["rw_timeout"] == "2000000"
    assert parse_creation_time(CREATED) == CREATED_EPOCH
    assert parse_creation_time("1970-01-01T00:00:00.000000Z") is None
    assert parse_creation_time("yesterday") is None


# -- audio ---------------------------------------------------------------------------------------


def test_wav_resampled_to_16k_mono_chunks(media: Path) -> None:
    chunks, dead = split(AudioSource(media / "tone.wav", "mic", start_time=100.0))
    assert dead == []
    assert [len(c.samples) for c in chunks[:2]] == [16000, 16000]
    assert abs(len(chunks[2].samples) - 8000) <= 2  # 2.5 s: the last chunk is shorter
    assert [c.pts for c in chunks] == [0.0, 1.0, 2.0]
    assert [c.ts for c in chunks] == [100.0, 101.0, 102.0]
    assert all(c.sample_rate == 16000 and c.samples.dtype == np.float32 for c in chunks)
    assert dominant_hz(chunks[0].samples, 16000) == pytest.approx(440, abs=2)
    assert np.abs(chunks[1].samples).max() == pytest.approx(0.5, abs=0.02)


def test_audio_block_size_does_not_change_output(media: Path) -> None:
    big = [c.samples for c in AudioSource(media / "tone.wav", "m") if isinstance(c, AudioChunk)]
    small = AudioSource(media / "tone.wav", "m", chunk_seconds=1.0, block_seconds=0.07)
    pieces = [c.samples for c in small if isinstance(c, AudioChunk)]
    assert [len(p) for p in pieces] == [len(b) for b in big]
    np.testing.assert_allclose(np.concatenate(pieces), np.concatenate(big), atol=1e-5)


def test_16k_float_wav_passes_through_exactly(tmp_path: Path) -> None:
    samples = np.random.default_rng(0).uniform(-0.9, 0.9, 40000).astype(np.float32)
    sf.write(tmp_path / "x.wav", samples, 16000, subtype="FLOAT")
    chunks = records_of(AudioSource(tmp_path / "x.wav", "m", chunk_seconds=0.5))
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), samples)


@pytest.mark.parametrize(("name", "fmt"), [("t.flac", "FLAC"), ("t.ogg", "OGG")])
def test_flac_and_ogg_through_soundfile(tmp_path: Path, name: str, fmt: str) -> None:
    tone = _tone(1000.0, 1.2, 22050)
    sf.write(tmp_path / name, tone, 22050, format=fmt)
    chunks, dead = split(AudioSource(tmp_path / name, "m"))
    assert dead == []
    assert sum(len(c.samples) for c in chunks) == pytest.approx(1.2 * 16000, abs=4)
    assert dominant_hz(chunks[0].samples, 16000) == pytest.approx(1000, abs=2)


@pytest.mark.parametrize(("name", "codec"), [("t.mp3", "libmp3lame"), ("t.m4a", "aac")])
def test_compressed_audio_through_pyav(tmp_path: Path, name: str, codec: str) -> None:
    path = write_compressed_audio(tmp_path / name, codec)
    chunks, dead = split(AudioSource(path, "m"))
    assert dead == []
    total = sum(len(c.samples) for c in chunks)
    assert 2.0 * 16000 <= total <= 2.15 * 16000  # encoders add priming/padding samples
    assert [len(c.samples) for c in chunks[:2]] == [16000, 16000]
    assert dominant_hz(chunks[1].samples, 16000) == pytest.approx(440, abs=2)


def test_video_soundtrack(media: Path) -> None:
    chunks, dead = split(AudioSource(media / "talk.mp4", "m", chunk_seconds=0.25))
    assert dead == []
    assert len(chunks[0].samples) == 4000
    assert sum(len(c.samples) for c in chunks) >= 0.5 * 16000
    assert dominant_hz(np.concatenate([c.samples for c in chunks[:2]]), 16000) == pytest.approx(
        440, abs=4
    )


def test_video_without_sound_is_a_dead_letter(media: Path) -> None:
    (item,) = list(AudioSource(media / "clip.mp4", "m"))
    assert isinstance(item, DeadLetter)
    assert "no audio stream" in item.reason


def test_wav_with_broken_header_is_a_dead_letter(media: Path, tmp_path: Path) -> None:
    data = bytearray((media / "tone.wav").read_bytes())
    data[12:16] = b"junk"  # the 'fmt ' chunk id
    broken = tmp_path / "broken.wav"
    broken.write_bytes(bytes(data))
    (item,) = list(AudioSource(broken, "mic"))
    assert isinstance(item, DeadLetter)
    assert item.stage == "source.audio"
    assert item.key == "mic:0"
    assert "cannot open" in item.reason


@pytest.mark.parametrize("name", ["cut.wav", "cut.flac"])
def test_truncated_audio_yields_what_was_read_then_dead_letter(
    media: Path, tmp_path: Path, name: str
) -> None:
    whole = tmp_path / f"whole{Path(name).suffix}"
    tone = _tone(440.0, 3.0)
    sf.write(whole, np.stack([tone, tone], axis=1), 44100)
    data = whole.read_bytes()
    (tmp_path / name).write_bytes(data[: int(len(data) * 0.6)])
    items = list(AudioSource(tmp_path / name, "mic"))
    chunks, dead = split(items)
    assert len(chunks) >= 1
    assert len(dead) == 1
    assert items[-1] is dead[0]
    assert dead[0].key == f"mic:{len(chunks)}"
    assert "after" in dead[0].reason


def test_empty_wav_is_a_dead_letter(tmp_path: Path) -> None:
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    (item,) = list(AudioSource(tmp_path / "empty.wav", "m"))
    assert isinstance(item, DeadLetter)
    assert "no audio samples" in item.reason


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"uri": "nowhere.wav"}, "no such file"),
        ({"chunk_seconds": 0}, "chunk_seconds"),
        ({"sample_rate": 16000.5}, "sample_rate"),
        ({"uri": "ftp://host/a.wav"}, "unsupported scheme"),
    ],
)
def test_audio_that_cannot_be_opened_raises(
    media: Path, kwargs: dict[str, Any], match: str
) -> None:
    args: dict[str, Any] = {"uri": media / "tone.wav", "stream_id": "m", **kwargs}
    with pytest.raises(SourceError, match=match):
        AudioSource(**args)


# -- images --------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "designs"
    (root / "shoes").mkdir(parents=True)
    (root / "bags" / "small").mkdir(parents=True)
    (root / "shoes" / "b.png").write_bytes(b"png-b")
    (root / "shoes" / "a.jpg").write_bytes(b"\xff\xd8 truncated jpeg")  # corrupt, still yielded
    (root / "bags" / "small" / "c.JPEG").write_bytes(b"jpeg-c")
    (root / "top.webp").write_bytes(b"webp")
    (root / "notes.txt").write_text("not an image")
    (root / "shoes" / "gone.jpg").symlink_to(root / "nowhere.jpg")
    os.mkfifo(root / "bags" / "pipe.png")
    return root


def test_image_folder_sorted_items_and_dead_letters(folder: Path) -> None:
    items = list(ImageFolderSource(folder, "designs"))
    good, dead = split(items)
    assert [i.item_id for i in good] == [
        "bags/small/c.JPEG",
        "shoes/a.jpg",
        "shoes/b.png",
        "top.webp",
    ]
    assert [i.seq for i in good] == [0, 1, 2, 3]
    assert [i.metadata["category"] for i in good] == ["small", "shoes", "shoes", "designs"]
    assert good[2].data == b"png-b"
    assert good[2].metadata["path"] == str((folder / "shoes" / "b.png").resolve())
    with pytest.raises(DecodeError):  # decoding is the decode.image operator's job, later
        decode_jpeg(good[1].data)
    assert sorted(d.key for d in dead) == ["designs:bags/pipe.png", "designs:shoes/gone.jpg"]
    assert all(d.stage == "source.images" for d in dead)
    assert any("not a regular file" in d.reason for d in dead)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_image_permission_denied_is_a_dead_letter(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "a.png").chmod(0)
    (item,) = list(ImageFolderSource(tmp_path, "c"))
    assert isinstance(item, DeadLetter)
    assert "Permission denied" in item.reason


def test_image_folder_options(folder: Path) -> None:
    top = [i.item_id for i in records_of(ImageFolderSource(folder, "d", recursive=False))]
    assert top == ["top.webp"]
    only_jpeg = ImageFolderSource(folder, "d", extensions=["JPEG", ".jpg"])
    assert [i.item_id for i in only_jpeg if isinstance(i, ImageItem)] == [
        "bags/small/c.JPEG",
        "shoes/a.jpg",
    ]
    with pytest.raises(SourceError, match="does not exist"):
        ImageFolderSource(folder / "missing", "d")
    with pytest.raises(SourceError, match="not a directory"):
        ImageFolderSource(folder / "notes.txt", "d")


def _catalog(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "1.jpg").write_bytes(b"one")
    (tmp_path / "img" / "2.jpg").write_bytes(b"two")
    (tmp_path / "elsewhere.png").write_bytes(b"abs")
    rows = [
        "id,image,category,title",
        "p1,img/1.jpg,shoes,Red shoe",
        "p2,img/missing.jpg,shoes,Ghost",
        "p3,img/2.jpg,bags",
        ",img/2.jpg,bags,No id",
        "p1,img/2.jpg,bags,Duplicate",
        "",
        f'p4,{tmp_path / "elsewhere.png"},bags,"Quoted, title"',
    ]
    path = tmp_path / "items.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_catalog_items_and_bad_rows(tmp_path: Path) -> None:
    items = list(CsvCatalogSource(_catalog(tmp_path), "products"))
    good, dead = split(items)
    assert [(i.item_id, i.seq, i.data) for i in good] == [("p1", 0, b"one"), ("p4", 1, b"abs")]
    assert good[0].metadata == {
        "category": "shoes",
        "title": "Red shoe",
        "path": str((tmp_path / "img" / "1.jpg").resolve()),
    }
    assert good[1].metadata["title"] == "Quoted, title"
    assert [d.key for d in dead] == [
        "products:row3",
        "products:row4",
        "products:row5",
        "products:row6",
    ]
    reasons = [d.reason for d in dead]
    assert reasons[0].startswith("row 3: cannot read")
    assert "missing.jpg" in reasons[0]
    assert reasons[1] == "row 4: has 3 fields but the header has 4"
    assert reasons[2] == "row 5: empty 'id'"
    assert reasons[3] == "row 6: duplicate id 'p1'"


def test_csv_catalog_columns_and_base_dir(tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "x.png").write_bytes(b"x")
    csv_path = tmp_path / "cat.csv"
    csv_path.write_text("sku,file,colour\nA1,x.png,red\n")
    with pytest.raises(
        SourceError, match=r"no column 'id' or 'image' \(columns present: 'sku', 'file', 'colour'\)"
    ):
        CsvCatalogSource(csv_path, "c")
    src = CsvCatalogSource(
        csv_path, "c", id_column="sku", image_column="file", base_dir=tmp_path / "pics"
    )
    (item,) = list(src)
    assert isinstance(item, ImageItem)
    assert (item.item_id, item.data, item.metadata["colour"]) == ("A1", b"x", "red")
    with pytest.raises(SourceError, match="does not exist"):
        CsvCatalogSource(tmp_path / "none.csv", "c")


# -- open_source ---------------------------------------------------------------------------------


def test_open_source_builds_each_kind(media: Path, folder: Path, tmp_path: Path) -> None:
    video = open_source(
        {"video": str(media / "clip.mp4"), "fps": 5, "reconnect": {"initial": 1}}, "cam"
    )
    assert isinstance(video, VideoSource)
    assert (video.fps, video.reconnect.initial) == (5, 1)
    audio = open_source({"audio": str(media / "tone.wav"), "chunk_seconds": 2}, "mic")
    assert isinstance(audio, AudioSource)
    assert audio.chunk_seconds == 2
    images = open_source({"images": str(folder), "recursive": False}, "designs")
    assert isinstance(images, ImageFolderSource)
    assert images.collection == "designs"
    catalog = open_source({"catalog": str(_catalog(tmp_path))}, "products")
    assert isinstance(catalog, CsvCatalogSource)
    for src in (video, audio, images, catalog):
        assert isinstance(src, Source)
    assert [v.output_type for v in (video, audio, images, catalog)] == [
        Frame,
        AudioChunk,
        ImageItem,
        ImageItem,
    ]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"camera": "x.mp4"}, "exactly one of video, packets, audio, images, catalog"),
        ({"video": "a.mp4", "audio": "a.wav"}, "exactly one of"),
        (
            {"video": "VIDEO", "fsp": 5},
            r"unknown option\(s\) 'fsp' for a video source \(valid: fps,",
        ),
        ({"video": "VIDEO", "reconnect": {"delay": 1}}, r"unknown reconnect option\(s\) 'delay'"),
        ({"video": "VIDEO", "fps": "fast"}, "bad video options"),
        ({"audio": "VIDEO", "live": True}, "valid: chunk_seconds"),
    ],
)
def test_open_source_errors(media: Path, spec: dict[str, Any], match: str) -> None:
    spec = {k: (str(media / "clip.mp4") if v == "VIDEO" else v) for k, v in spec.items()}
    with pytest.raises(SourceError, match=match):
        open_source(spec, "s")


def test_a_live_burst_of_buffered_frames_is_not_stamped_in_the_future(media: Path) -> None:
    """An RTSP connection opens with seconds of buffered packets arriving at once; their
    times must not run ahead of the clock (they were captured before, not after)."""
    ticks = itertools.count()

    def clock() -> float:
        return 5000.0 + 0.001 * next(ticks)  # a millisecond per look: the burst is instant

    src = VideoSource(media / "short.mp4", "cam", live=True, max_frames=5, clock=clock)
    frames, _ = split(list(src))
    latest = clock()
    assert len(frames) == 5
    assert frames[-1].pts == pytest.approx(4 / FPS)  # pts keep the stream's own spacing
    assert all(f.ts <= latest for f in frames)
    assert [f.ts for f in frames] == sorted(f.ts for f in frames)
    assert frames[-1].ts - frames[0].ts < 0.05  # stamped as they arrived


def test_packets_are_demuxed_not_decoded_and_start_at_keyframes(media: Path) -> None:
    from senri.connectors import PacketSource
    from senri.records import VideoPacket

    packets = list(PacketSource(media / "clip.mp4", "cam", start_time=100.0))
    assert all(isinstance(p, VideoPacket) for p in packets) and len(packets) == 30
    assert [p.seq for p in packets if isinstance(p, VideoPacket)] == list(range(30))
    first = packets[0]
    assert isinstance(first, VideoPacket) and first.keyframe and first.ts == 100.0
    assert all(p.extradata == b"" for p in packets if isinstance(p, VideoPacket) and not p.keyframe)
    with pytest.raises(SourceError, match=r"give fps to decode\.video"):
        PacketSource(media / "clip.mp4", "cam", fps=5)


def test_a_live_burst_of_packets_is_not_stamped_in_the_future(media: Path) -> None:
    from senri.connectors import PacketSource
    from senri.operators.video_decode import DecodeVideo
    from senri.records import VideoPacket

    ticks = itertools.count()

    def clock() -> float:
        return 5000.0 + 0.001 * next(ticks)

    src = PacketSource(media / "clip.mp4", "cam", live=True, max_frames=30, clock=clock)
    packets = [p for p in src if isinstance(p, VideoPacket)]
    latest = clock()
    assert len(packets) == 30 and all(p.ts <= latest for p in packets)
    op = DecodeVideo()
    frames = op.process(packets) + op.finish()
    assert len(frames) == 30 and all(f.ts <= latest for f in frames)
    assert frames[-1].pts == pytest.approx(29 / FPS)  # pts keep the stream's own spacing


def test_a_first_frame_without_pts_does_not_share_pts_0_with_the_next() -> None:
    """Over RTSP FFmpeg gives the first frame no pts; the frames after it continue from it."""
    from senri.connectors.video import _decode

    def pts_of(raw: list[int | None]) -> list[Fraction]:
        frames = [SimpleNamespace(pts=p, duration=9000, time_base=Fraction(1, 90_000)) for p in raw]
        container = SimpleNamespace(decode=lambda stream: iter(frames))
        stream = SimpleNamespace(time_base=Fraction(1, 90_000))
        return [pts for pts, _ in _decode(container, stream, base=None)]  # type: ignore[arg-type]

    tenths = [Fraction(i, 10) for i in range(4)]
    assert pts_of([None, 9000, 18000, 27000]) == tenths
    assert pts_of([4500, 13500, 22500, 31500]) == tenths


@pytest.mark.parametrize(
    ("waits", "said"),
    [
        (0.0, "failed: [Errno -1094995529] Invalid data found when processing input: 'rtsp://"),
        (0.3, "failed: timed out after 0.3 s without data (Invalid data found when processing"),
    ],
)
def test_a_camera_that_does_not_answer_within_timeout_is_said_to_time_out(
    waits: float, said: str
) -> None:
    """FFmpeg names a stalled camera "Invalid data" or "Input/output error"; after `timeout`
    seconds of waiting the reason says it timed out, while a quick refusal keeps its text."""

    def stalled(target: str) -> av.container.InputContainer:
        threading.Event().wait(waits)
        raise av.error.InvalidDataError(
            -1094995529, "Invalid data found when processing input", target
        )

    src = VideoSource(
        "rtsp://camera.invalid/s",
        "cam",
        reconnect=ReconnectPolicy(max_attempts=1),
        timeout=0.3,
        opener=stalled,
    )
    [letter] = list(src)
    assert isinstance(letter, DeadLetter)
    assert said in letter.reason
    assert "InvalidDataError" in letter.error


def test_a_camera_clock_is_reached_by_small_steps_and_a_wrong_one_ignored() -> None:
    from senri.connectors.video import SLEW, TRUSTED, towards

    step = 0.04
    assert towards(100.0, 98.0, step) == pytest.approx(100.0 - SLEW * step)  # never a jump back
    assert towards(100.0, 100.01, step) == pytest.approx(100.01)  # close: reached
    assert towards(100.0, 100.0 - TRUSTED - 1, step) == 100.0  # a camera set to another day
    origin, ts = 100.0, []
    for i in range(200):
        origin = towards(origin, 98.0, step)
        ts.append(origin + i * step)
    assert origin == pytest.approx(98.0)
    assert all(a < b for a, b in itertools.pairwise(ts))
