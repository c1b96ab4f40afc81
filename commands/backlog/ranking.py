"""BM25 ranking of commit messages against a backlog item's words.

The corpus is the commits a sync considers (subject and body, crudely stemmed like backlog
titles); inverse document frequencies come from that corpus, so a word every other commit uses
("update", "fix") weighs little and a rare one ("ronna", "natural_list") weighs a lot. Besides
the BM25 score (which orders candidates) it reports the share of the query's IDF mass a commit
matched: a threshold on that share does not depend on the corpus size the way a raw score does.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from opencode.commands.backlog.model import stem_words

_K1 = 1.2
_B = 0.75


@dataclass(frozen=True, slots=True)
class TextMatch:
    score: float  # BM25
    coverage: float  # share of the query's IDF mass found in the document, 0..1
    matched: tuple[str, ...]


class BM25Index:
    """An inverted index over token lists; ``search`` scores only documents sharing a term."""

    def __init__(self, documents: list[list[str]]) -> None:
        self.size = len(documents)
        self._lengths = [len(doc) for doc in documents]
        self._avg = (sum(self._lengths) / self.size) if self.size else 0.0
        self._postings: dict[str, dict[int, int]] = {}
        for index, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                self._postings.setdefault(term, {})[index] = count

    def idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def search(self, query: list[str]) -> dict[int, TextMatch]:
        terms = sorted(set(query))
        if not terms or not self.size:
            return {}
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values()) or 1.0
        scores: dict[int, float] = {}
        found: dict[int, list[str]] = {}
        for term in terms:
            for index, tf in self._postings.get(term, {}).items():
                norm = 1 - _B + _B * (self._lengths[index] / self._avg if self._avg else 1)
                scores[index] = scores.get(index, 0.0) + weights[term] * tf * (_K1 + 1) / (
                    tf + _K1 * norm
                )
                found.setdefault(index, []).append(term)
        return {
            index: TextMatch(
                round(score, 3),
                round(sum(weights[t] for t in found[index]) / total, 3),
                tuple(found[index]),
            )
            for index, score in scores.items()
        }


# Planning verbs and quantifiers: a title says "show each X" and a commit "implement X"; these
# words name no feature, and a small corpus can make them look rare.
_GENERIC = frozenset(
    "show each every make allow let use support add handle run better improve via when without "
    "instead only also more less way ability able option".split()
)


def tokens(text: str) -> list[str]:
    """Stemmed words of a commit message or title; identifiers split on ``_`` and ``-``."""
    return [w for w in stem_words(re.sub(r"[_\-./]", " ", text)) if w not in _GENERIC]
