"""Real recorded speech with its exact transcripts, from Debian packages, for the speech WER.

The synthetic set of `senri.evaluation.audio` (espeak-ng voices) shows that a model works and
whether it regresses; these sets show how it fares on people's voices. Both are installed by
``scripts/setup.sh --dev`` (``apt-get install``); nothing is downloaded at run time.

- ``asterisk``: the English prompts of the Asterisk telephone exchange, read by one
  professional US-English speaker (Allison Smith, for Digium; CC-BY-SA-3.0). Debian
  ``asterisk-core-sounds-en-g722`` holds them as 16 kHz G.722 and ``asterisk-core-sounds-en``
  their texts (``core-sounds-en.txt.gz``, one ``name: text`` line each). Bracketed parts
  (``[sound of monkeys screaming]``, ``at [@]``) and parenthesised notes (``(4 seconds of
  silence)``) are not speech and are left out; prompts of
  fewer than `MIN_WORDS` words (digits, letters) are left out too, as a WER over one word says
  little. Telephone prompts: clear, studio read, some IVR jargon ("press the pound key").
- ``librivox``: ``pocketsphinx-testdata`` (BSD-2, CMU): five sentences of a public-domain
  LibriVox reading of *Sense and Sensibility* and five spoken card names ("eight of spades four
  of clubs"), 16 kHz, with Sphinx-format transcripts.

Example:
    >>> clips = asterisk(limit=20)                          # doctest: +SKIP
    >>> clips[0].name, clips[0].text
    ('agent-alreadyon', 'That agent is already logged on. Please enter your agent ...')
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from senri.connectors.audio import AudioSource
from senri.records import AudioChunk

SR = 16_000
ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TEXTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")
MIN_WORDS = 3
SETS = ("asterisk", "librivox")
PACKAGES = {
    "asterisk": "asterisk-core-sounds-en-g722 asterisk-core-sounds-en",
    "librivox": "pocketsphinx-testdata",
}
"""The Debian packages each set comes from (``scripts/setup.sh --dev`` installs them)."""


@dataclass(frozen=True)
class Clip:
    """One recorded utterance: its name in the package, what was said, 16 kHz mono audio."""

    name: str
    text: str
    audio: npt.NDArray[np.float32]

    @property
    def seconds(self) -> float:
        return len(self.audio) / SR


class MissingSetError(RuntimeError):
    """A recorded set whose Debian packages are not installed."""


def read_audio(path: Path) -> npt.NDArray[np.float32]:
    """A sound file as 16 kHz mono float32, through the engine's own `AudioSource` (WAV, FLAC
    and Ogg by libsndfile; raw G.722, as Asterisk keeps its prompts, by PyAV)."""
    samples = []
    for item in AudioSource(path, path.stem, chunk_seconds=60.0, sample_rate=SR):
        if not isinstance(item, AudioChunk):
            raise ValueError(f"{path}: {item.reason}")
        samples.append(item.samples)
    if not samples:
        raise ValueError(f"{path}: no audio in it")
    return np.concatenate(samples).astype(np.float32)


def spoken(text: str) -> str:
    """A transcript's spoken words: bracketed and parenthesised notes ("[beep]", "(4 seconds
    of silence)", "(note: does not say "2")") gone, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", text)).strip()


def asterisk_texts(path: Path = ASTERISK_TEXTS) -> dict[str, str]:
    """``name: text`` lines of ``core-sounds-en.txt(.gz)`` (``;`` starts a comment)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    texts = {}
    for line in lines:
        if line.startswith(";") or ":" not in line:
            continue
        name, text = line.split(":", 1)
        texts[name.strip()] = text.strip()
    return texts


def evenly(n: int, limit: int | None) -> list[int]:
    """Indices of `limit` of `n` items spread evenly over them (all when no limit)."""
    if limit is None or limit >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(limit - 1, 1)) for i in range(limit)})


def asterisk(
    limit: int | None = None, root: Path = ASTERISK, texts: Path = ASTERISK_TEXTS
) -> list[Clip]:
    """The Asterisk prompts of `MIN_WORDS` words or more, by name; `limit` of them spread
    evenly over the alphabet when given (the same ones every time)."""
    if not root.is_dir() or not texts.is_file():
        raise MissingSetError(f"install Debian's {PACKAGES['asterisk']} (scripts/setup.sh --dev)")
    found = []
    for name, text in sorted(asterisk_texts(texts).items()):
        said = spoken(text)
        path = next(
            (p for ext in (".g722", ".wav") if (p := root / f"{name}{ext}").is_file()), None
        )
        if path is not None and len(re.findall(r"[A-Za-z0-9']+", said)) >= MIN_WORDS:
            found.append((name, said, path))
    return [
        Clip(name, text, read_audio(path))
        for name, text, path in (found[i] for i in evenly(len(found), limit))
    ]


_SPHINX = re.compile(r"^<s>\s*(?P<text>.*?)\s*</s>\s*\((?P<id>[^)]+)\)\s*$")


def sphinx_transcripts(path: Path) -> dict[str, str]:
    """Sphinx ``<s> words </s> (file-id)`` lines, by file id."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _SPHINX.match(line.strip())
        if m:
            found[m.group("id")] = m.group("text")
    return found


def librivox(root: Path = POCKETSPHINX) -> list[Clip]:
    """pocketsphinx-testdata's LibriVox sentences and spoken card names."""
    if not (root / "librivox").is_dir():
        raise MissingSetError(f"install Debian's {PACKAGES['librivox']} (scripts/setup.sh --dev)")
    clips = []
    for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        for file_id, text in sorted(sphinx_transcripts(root / folder / listing).items()):
            path = root / folder / f"{file_id}.wav"
            if path.is_file():
                clips.append(Clip(f"{folder}/{file_id}", text, read_audio(path)))
    return clips


def load(name: str, limit: int | None = None) -> list[Clip]:
    """Recorded set `name` (one of `SETS`)."""
    if name == "asterisk":
        return asterisk(limit)
    if name == "librivox":
        return librivox()
    raise ValueError(f"no recorded speech set {name!r}; known: {', '.join(SETS)}")
