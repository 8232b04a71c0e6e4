"""Everyday words per language for the dialect corpus's ``train_words`` split.

Six training sentences per language are too few words: a classifier learns the words, and on a
held-out sentence it mistakes Polish for Czech. This list widens the vocabulary the synthetic
speakers read: for each language written in an alphabet espeak-ng reads, 500 frequent words
(ranks 50-2000, letters only) from the `wordfreq` package's data (CC-BY-SA 4.0, Robyn Speer
and contributors; https://github.com/rspeer/wordfreq), committed as ``data/dialect_words.json``
so that training needs neither the package nor a network. The Chinese voices keep the
training sentences' own words: wordfreq's Chinese is in characters, which espeak-ng's
Mandarin and Hakka voices here do not read.

    python -m senri.models.training.dialect_words  # rewrite the list (needs wordfreq)
"""

from __future__ import annotations

import json
from functools import cache
from importlib.metadata import version
from pathlib import Path

PATH = Path(__file__).resolve().parent / "data" / "dialect_words.json"
LANGUAGES = ("en", "es", "pt", "fr", "pl", "ru", "cs", "vi", "ar", "he")
SKIP, TOP, KEEP = 50, 2000, 500


@cache
def words(language: str) -> tuple[str, ...]:
    """The committed words of `language`; empty for a language the list does not cover."""
    table: dict[str, list[str]] = json.loads(PATH.read_text(encoding="utf-8"))["words"]
    return tuple(table.get(language, ()))


def build() -> dict[str, object]:
    """The list from the installed wordfreq package."""
    try:
        import wordfreq
    except ImportError:
        raise SystemExit("rewriting the word list needs `pip install wordfreq`") from None
    table = {}
    for language in LANGUAGES:
        ranked = wordfreq.top_n_list(language, TOP)[SKIP:]
        table[language] = [w for w in ranked if w.isalpha() and len(w) > 1][:KEEP]
    return {
        "source": f"wordfreq {version('wordfreq')} top_n_list, ranks {SKIP}-{TOP}, letters "
        f"only, the first {KEEP}",
        "licence": "CC-BY-SA-4.0 (wordfreq data, Robyn Speer and contributors)",
        "words": table,
    }


def main() -> None:
    """Write the list, one language per line so that a diff shows what changed."""
    table = build()
    words = table.pop("words")
    assert isinstance(words, dict)
    head = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in table.items()]
    rows = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in words.items()]
    text = "\n".join(["{", *head, ' "words": {', ",\n".join(rows), " }", "}"]) + "\n"
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(text, encoding="utf-8")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
