"""Audio as fixed-length mono float32 chunks, read block by block from files or URLs.

WAV/FLAC/OGG/AIFF files go through soundfile (resampled with soxr); everything else (mp3, m4a,
opus, the soundtrack of a video, http(s)/rtsp URLs) through pyav, whose resampler converts to
the target rate. Memory stays at about one block plus one chunk, whatever the file's length.

Failure rule (see `senri.connectors.base`): a missing file or unsupported scheme raises
`SourceError` from the constructor; a file that exists but cannot be opened (broken header, not
audio, no audio stream, permission denied) yields one `DeadLetter` and ends; data that breaks
mid-file (truncation, corrupt frames) yields every chunk read up to there, then a `DeadLetter`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Protocol

import av
import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from senri.connectors.base import (
    Clock,
    ClosableSource,
    Location,
    dead_letter,
    default_start_time,
    locate,
    network_options,
)
from senri.errors import SourceError
from senri.records import AudioChunk, DeadLetter, record_key

STAGE = "source.audio"
SOUNDFILE_EXTENSIONS = frozenset(
    {
        ".wav",
        ".wave",
        ".flac",
        ".ogg",
        ".oga",
        ".aif",
        ".aiff",
        ".aifc",
        ".au",
        ".w64",
        ".rf64",
        ".caf",
    }
)
"""Suffixes read with soundfile (libsndfile); anything else is decoded by pyav."""

Samples = npt.NDArray[np.float32]


class _ReadError(Exception):
    """Audio that could not be read; `reason` says what and where, for the dead letter."""

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


class _Reader(Protocol):
    rate: int
    metadata: dict[str, str]

    def blocks(self) -> Iterator[Samples]:
        """Mono float32 blocks at `rate`; raises `_ReadError` where the data breaks."""
        ...

    def close(self) -> None: ...


class AudioSource(ClosableSource):
    """Mono float32 `AudioChunk`s of `chunk_seconds` (the last may be shorter) at `sample_rate`.

    Channels are averaged; samples are clipped to [-1, 1]. `pts` counts samples from the start
    of the audio; ``ts = start_time + pts``, where `start_time` defaults to the container's
    creation time, else the file's mtime, else the wall clock when a URL is opened.

        >>> src = AudioSource("meeting.m4a", "mic1", chunk_seconds=2.0)  # doctest: +SKIP
        >>> chunks = [c for c in src if isinstance(c, AudioChunk)]  # doctest: +SKIP
    """

    output_type: type = AudioChunk

    def __init__(
        self,
        uri: str | os.PathLike[str],
        stream_id: str,
        chunk_seconds: float = 1.0,
        sample_rate: int = 16000,
        start_time: float | None = None,
        *,
        block_seconds: float = 1.0,
        timeout: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__()
        where = f"audio source {stream_id!r}"
        if isinstance(chunk_seconds, bool) or not chunk_seconds > 0:
            raise SourceError(f"{where}: chunk_seconds must be positive; got {chunk_seconds!r}")
        if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
            raise SourceError(f"{where}: sample_rate must be a positive int; got {sample_rate!r}")
        if round(chunk_seconds * sample_rate) < 1:
            raise SourceError(f"{where}: chunk_seconds={chunk_seconds} is under one sample")
        if not block_seconds > 0 or not timeout > 0:
            raise SourceError(f"{where}: block_seconds and timeout must be positive")
        self.location = locate(uri, "audio")
        self.stream_id = stream_id
        self.chunk_seconds = chunk_seconds
        self.sample_rate = int(sample_rate)
        self.start_time = start_time
        self.block_seconds = block_seconds
        self.timeout = timeout
        self._chunk = round(chunk_seconds * sample_rate)
        self._clock = clock

    def __repr__(self) -> str:
        uri, stream_id, chunk = self.location.uri, self.stream_id, self.chunk_seconds
        return f"AudioSource({uri!r}, {stream_id!r}, chunk_seconds={chunk})"

    @property
    def uses_soundfile(self) -> bool:
        path = self.location.path
        return path is not None and path.suffix.lower() in SOUNDFILE_EXTENSIONS

    def __iter__(self) -> Iterator[AudioChunk | DeadLetter]:
        seq = 0
        try:
            reader = self._open_reader()
        except _ReadError as exc:
            yield self._dead(seq, exc.reason, exc.cause)
            return
        with closing(reader):
            start = self.start_time
            if start is None:
                start = default_start_time(reader.metadata, self.location, self._clock)
            resampler = None
            if reader.rate != self.sample_rate:
                resampler = soxr.ResampleStream(reader.rate, self.sample_rate, 1, dtype="float32")
            pending: list[Samples] = []
            failure: _ReadError | None = None
            try:
                for block in reader.blocks():
                    if self._stop.is_set():
                        return
                    pending.append(block if resampler is None else resampler.resample_chunk(block))
                    for samples in _cut(pending, self._chunk, final=False):
                        yield self._make(seq, samples, start)
                        seq += 1
            except _ReadError as exc:
                failure = exc
            if resampler is not None:
                pending.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            for samples in _cut(pending, self._chunk, final=True):
                yield self._make(seq, samples, start)
                seq += 1
            if failure is not None:
                yield self._dead(seq, failure.reason, failure.cause)
            elif seq == 0:
                yield self._dead(seq, f"{self.location} contains no audio samples")

    def _open_reader(self) -> _Reader:
        if self.uses_soundfile:
            assert self.location.path is not None
            return _SoundFileReader(self.location.path, self.block_seconds)
        options = (
            network_options(self.location.scheme, self.timeout)
            if self.location.is_network
            else None
        )
        return _AvReader(self.location, self.sample_rate, options, self.timeout)

    def _make(self, seq: int, samples: Samples, start: float) -> AudioChunk:
        pts = seq * self._chunk / self.sample_rate
        np.clip(samples, -1.0, 1.0, out=samples)
        return AudioChunk(self.stream_id, seq, start + pts, pts, samples, self.sample_rate)

    def _dead(self, seq: int, reason: str, exc: BaseException | None = None) -> DeadLetter:
        """A dead letter keyed by the chunk that would have come next."""
        key = record_key(self.stream_id, seq)
        return dead_letter(self.stream_id, key, STAGE, reason, exc, self._clock)


def _cut(pending: list[Samples], size: int, final: bool) -> Iterator[Samples]:
    """Take whole chunks of `size` off the front of `pending` (and the remainder if `final`)."""
    total = sum(len(p) for p in pending)
    if total < size and not (final and total):
        return
    joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
    pending.clear()
    whole = len(joined) // size * size
    for begin in range(0, whole, size):
        yield joined[begin : begin + size].copy()
    rest = joined[whole:]
    if final and len(rest):
        yield rest.copy()
    elif len(rest):
        pending.append(rest)


def _to_mono(data: np.ndarray) -> Samples:
    """(channels, n) or (n, channels) → (n,) float32, averaging channels."""
    mono = data[0] if data.shape[0] == 1 else data.mean(axis=0)
    return np.ascontiguousarray(mono, dtype=np.float32)


class _SoundFileReader:
    """WAV/FLAC/OGG/AIFF through libsndfile, with a truncation check libsndfile does not do."""

    def __init__(self, path: Path, block_seconds: float) -> None:
        self.path = path
        try:
            self._file = sf.SoundFile(path)
        except (sf.SoundFileError, OSError) as exc:
            raise _ReadError(f"cannot open {path} as audio: {exc}", exc) from exc
        self.rate = int(self._file.samplerate)
        self.metadata: dict[str, str] = {}
        self._block = max(1, round(block_seconds * self.rate))

    def blocks(self) -> Iterator[Samples]:
        read = 0
        declared = self._file.frames
        try:
            while True:
                data = self._file.read(self._block, dtype="float32", always_2d=True)
                if not len(data):
                    break
                read += len(data)
                yield _to_mono(data.T)
        except (sf.SoundFileError, OSError) as exc:
            raise _ReadError(
                f"audio read failed after {read / self.rate:.3f}s: {exc}", exc
            ) from exc
        if declared > read:
            raise _ReadError(
                f"audio ended after {read / self.rate:.3f}s of the "
                f"{declared / self.rate:.3f}s its header declares (truncated file?)"
            )
        missing = _wav_missing_bytes(self.path)
        if missing:
            raise _ReadError(
                f"audio ended after {read / self.rate:.3f}s: the WAV header declares "
                f"{missing} more bytes of samples than the file holds (truncated file?)"
            )

    def close(self) -> None:
        self._file.close()


def _wav_missing_bytes(path: Path) -> int:
    """How many bytes of the RIFF 'data' chunk lie beyond the end of the file (0 if none).

    libsndfile quietly shortens a truncated WAV to what is there, so we compare the header's
    data size with the file size ourselves.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return 0
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    pos = 12
    while pos + 8 <= len(head):
        chunk_id, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk_id == b"data":
            if length in (0, 0xFFFFFFFF):  # streamed WAV: the size was never filled in
                return 0
            return max(0, pos + 8 + length - size)
        pos += 8 + length + (length & 1)
    return 0


class _AvReader:
    """Any container FFmpeg reads; the first audio stream, resampled to the target rate."""

    def __init__(
        self, location: Location, rate: int, options: dict[str, str] | None, timeout: float
    ) -> None:
        self.location = location
        self.rate = rate
        try:
            if options is None:
                self._container = av.open(location.target, mode="r")
            else:
                self._container = av.open(
                    location.target, mode="r", options=options, timeout=(timeout, timeout)
                )
        except (av.FFmpegError, OSError) as exc:
            raise _ReadError(f"cannot open {location} as audio: {exc}", exc) from exc
        if not self._container.streams.audio:
            kinds = ", ".join(s.type for s in self._container.streams) or "none"
            self._container.close()
            raise _ReadError(f"{location} has no audio stream (streams: {kinds})")
        self.metadata = dict(self._container.metadata)
        self._stream = self._container.streams.audio[0]
        # Keep the input's channels (we average them ourselves: FFmpeg's downmix can exceed 1.0).
        self._resampler = av.AudioResampler(format="fltp", rate=rate)

    def blocks(self) -> Iterator[Samples]:
        produced = 0
        try:
            for frame in self._container.decode(self._stream):
                for out in self._resampler.resample(frame):
                    produced += out.samples
                    yield _to_mono(out.to_ndarray())
            for out in self._resampler.resample(None):
                produced += out.samples
                yield _to_mono(out.to_ndarray())
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise _ReadError(
                f"audio decode failed after {produced / self.rate:.3f}s: {exc}", exc
            ) from exc

    def close(self) -> None:
        self._container.close()
