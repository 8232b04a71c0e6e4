"""Dialect identification (`audio.dialect`): the synthetic held-out set and real recordings.

`senri models eval dialect/whisper` (or ``dialect/lre``) prints both side by side:

- **synthetic**: the training corpus's held-out sentences read by held-out espeak-ng speaker
  variants (`senri.models.training.dialect_corpus`, split ``heldout_both``), and the training
  sentences read by the held-out speakers (``heldout_speakers``, the classifier alone).
- **recorded**: real voices from Debian packages (`senri.evaluation.packaged.language_clips`):
  Asterisk prompts in US English, Mexican Spanish, Canadian French and Russian, and
  KLettres's words and letters in US and British English. fr-CA is not one of the
  classifier's labels, so only its language cluster can be right.

Each set is classified twice: by the classifier alone (``language_model: none``) and by the
operator as shipped, Whisper's language (``speech/multi``) fused with the classifier's dialect
within it.
Top-1 and top-5 count the exact label; *top-1 heard* also counts as right a label whose
espeak-ng voice sounds the same as the expected one's (the three French voices,
`dialect_corpus.SAME_AUDIO`: they differ only on the digits 70-99, which the corpus never
writes); *cluster* counts the language family (english, iberian, french, ...); *s/clip* is
the classifier's time per clip on this machine. The
seed's CNN reported 83.99 % / 98.89 % top-1 / top-5 on NIST LRE telephone speech: other data,
other classes, so a reference point and not a comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from senri.evaluation import packaged
from senri.evaluation.audio import one_node_graph
from senri.evaluation.recorded import MissingSetError


@dataclass
class DialectScore:
    """Top-1, top-5 and language-cluster hits, overall and per expected label."""

    clips: int = 0
    top1: int = 0
    top1_heard: int = 0
    """top-1 hits counting labels of one `SAME_AUDIO` group as one"""
    top5: int = 0
    cluster: int = 0
    exact_possible: int = 0
    by_label: dict[str, list[int]] = field(default_factory=dict)
    """expected label → [clips, top-1 hits, cluster hits]"""
    answers: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    """time spent classifying"""

    def add(self, expected: str, ranked: list[str], clusters: dict[str, str]) -> None:
        """Score one clip whose classes ranked `ranked`; `expected` is a label or a cluster."""
        from senri.models.training.dialect_corpus import audible

        exact = expected in clusters
        want_cluster = clusters[expected] if exact else expected
        self.clips += 1
        self.exact_possible += exact
        self.top1 += exact and ranked[0] == expected
        self.top1_heard += exact and audible(ranked[0]) == audible(expected)
        self.top5 += exact and expected in ranked[:5]
        self.cluster += clusters[ranked[0]] == want_cluster
        row = self.by_label.setdefault(expected, [0, 0, 0])
        row[0] += 1
        row[1] += exact and ranked[0] == expected
        row[2] += clusters[ranked[0]] == want_cluster
        said = self.answers.setdefault(expected, {})
        said[ranked[0]] = said.get(ranked[0], 0) + 1


LANGUAGE_MODELS: tuple[str | None, ...] = (None, "speech/multi")
"""What the report compares: the classifier alone, and fused with Whisper base's language."""


def _clusters() -> dict[str, str]:
    from senri.models.training import dialect_corpus as corpus

    return {d.label: d.cluster for d in corpus.DIALECTS}


def _score(
    model: str, language_model: str | None, clips: Iterable[tuple[str, npt.NDArray[np.float32]]]
) -> DialectScore:
    """`audio.dialect`'s classifier on (expected label or cluster, 16 kHz audio) pairs."""
    from senri.models.training import dialect_corpus as corpus
    from senri.operators.dialect import DialectId

    session = one_node_graph("audio.dialect", model=model, language_model=language_model)
    op = session.operator("node")
    assert isinstance(op, DialectId)
    clusters = _clusters()
    score = DialectScore()
    try:
        for expected, audio in clips:
            started = time.perf_counter()
            probs, _ = op.classify(audio)
            score.seconds += time.perf_counter() - started
            ranked = [corpus.LABELS[int(i)] for i in np.argsort(probs)[::-1]]
            score.add(expected, ranked, clusters)
    finally:
        session.close()
    return score


def evaluate_dialect(
    model: str = "dialect/whisper",
    per_dialect: int | None = None,
    language_model: str | None = "speech/multi",
    split: str = "heldout_both",
) -> DialectScore:
    """`audio.dialect`'s classifier on a held-out split of the corpus (by default held-out
    sentences × held-out speakers)."""
    from senri.models.training import dialect_corpus as corpus

    specs = corpus.specs(split, per_dialect=per_dialect)
    clips = ((corpus.DIALECTS[s.dialect].label, corpus.synthesize(s)) for s in specs)
    return _score(model, language_model, clips)


def evaluate_recorded_dialect(
    model: str = "dialect/whisper",
    clips: list[packaged.Labelled] | None = None,
    language_model: str | None = "speech/multi",
) -> DialectScore:
    """`audio.dialect`'s classifier on the recorded languages of `senri.evaluation.packaged`."""
    found = packaged.language_clips() if clips is None else clips
    return _score(model, language_model, ((c.label, c.audio) for c in found))


def _line(name: str, language_model: str | None, s: DialectScore, source: str) -> str:
    exact = max(s.exact_possible, 1)
    return (
        f"  {name:<10} {language_model or 'none':<14} {s.clips:>5} {s.top1 / exact:>6.1%} "
        f"{s.top1_heard / exact:>11.1%} {s.top5 / exact:>6.1%} {s.cluster / max(s.clips, 1):>8.1%} "
        f"{s.seconds / max(s.clips, 1):>6.3f}  {source}"
    )


def report(model: str, emit: Callable[[str], Any]) -> None:
    """The synthetic and recorded sets side by side, by the CNN alone and fused with Whisper's
    language, then the recorded set per language."""
    emit(
        f"{model}: top-1 / top-5 over the exact labels (top-1 heard: the French voices, "
        "whose espeak-ng audio is identical, as one), the language cluster of the top-1, "
        "and seconds per clip"
    )
    emit(
        f"  {'set':<10} {'language model':<14} {'clips':>5} {'top-1':>6} {'top-1 heard':>11} "
        f"{'top-5':>6} {'cluster':>8} {'s/clip':>6}  source"
    )
    speakers = evaluate_dialect(model, language_model=None, split="heldout_speakers")
    emit(_line("synthetic", None, speakers, "training sentences × held-out espeak-ng speakers"))
    for language_model in LANGUAGE_MODELS:
        synthetic = evaluate_dialect(model, language_model=language_model)
        source = "held-out sentences × held-out espeak-ng speakers"
        emit(_line("synthetic", language_model, synthetic, source))
    try:
        clips = packaged.language_clips()
    except MissingSetError as exc:
        emit(f"  {'recorded':<10} not measured: {exc}")
        clips = []
    recorded: dict[str | None, DialectScore] = {}
    if clips:
        minutes = sum(c.seconds for c in clips) / 60
        source = f"Asterisk prompts (4 languages), KLettres words (en, en_GB), {minutes:.1f} min"
        for language_model in LANGUAGE_MODELS:
            recorded[language_model] = evaluate_recorded_dialect(model, clips, language_model)
            emit(_line("recorded", language_model, recorded[language_model], source))
    labels = _clusters()
    for language_model, score in recorded.items():
        emit(
            f"  recorded, language model {language_model or 'none'}, per expected label "
            "(top-1, cluster, the answers given most):"
        )
        for label, (n, hit, cluster) in score.by_label.items():
            said = sorted(score.answers[label].items(), key=lambda kv: -kv[1])[:3]
            answers = ", ".join(f"{k} {v}" for k, v in said)
            top1 = f"{hit}/{n}" if label in labels else "n/a"
            emit(f"    {label:<8} top-1 {top1:>6}  cluster {cluster}/{n}  said: {answers}")
    emit(
        "  the seed's CNN: 83.99 % / 98.89 % top-1 / top-5 on real NIST LRE telephone speech "
        "(other data and classes; a reference point, not a comparison)"
    )
