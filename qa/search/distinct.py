"""Distinct evidence: no two results cover overlapping text of the same article.

Passages overlap by design (a sentence is shared with each neighbour, so an answer is never cut
in two), and a strong article often brings two or three neighbouring passages into the top k:
the reader would see the same sentences twice. Walking the ranked candidates, a passage that
overlaps a better one of the same article is cut to the text that no better one shows (its
sentences beyond the shared one), and dropped only when too little of it is left: the shared
sentence is shown once and the neighbour's own sentences, where the answer often stands, are not
lost with it. Each kept passage then says how many other candidates of its article matched but
are not shown.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from qa.types import Passage

MIN_REMAINDER = 40  # characters: a cut passage with less of its own text is dropped


def _uncovered(start: int, end: int, taken: list[tuple[int, int]]) -> tuple[int, int]:
    """The longest part of [start, end) that no span of `taken` covers ((start, start) if none)."""
    best, pos = (start, start), start
    for s, e in sorted(taken):
        if e <= pos or s >= end:
            continue
        if s > pos and s - pos > best[1] - best[0]:
            best = (pos, s)
        pos = max(pos, e)
    if end > pos and end - pos > best[1] - best[0]:
        best = (pos, end)
    return best


def distinct_spans(passages, rows: np.ndarray, limit: int | None = None,
                   min_chars: int = MIN_REMAINDER) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Positions in `rows` (best first) of the candidates to show, and the body span each shows.

    A candidate overlapping no better kept one of its article shows all of itself; one that
    overlaps keeps its longest part outside them when that part has at least `min_chars`
    characters, else it is left out. `passages[row]` gives a `Passage`. With `limit`, the walk
    stops at that many positions: they are the first `limit` of the full answer (a candidate is
    judged only against better ones), and no further passage is read.
    """
    kept: list[int] = []
    shown: list[tuple[int, int]] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for j, row in enumerate(rows.tolist()):
        p = passages[row]
        taken = spans.setdefault(p.doc_id, [])
        s, e = p.char_start, p.char_end
        if any(s < te and ts < e for ts, te in taken):
            s, e = _uncovered(s, e, taken)
            text = p.text[s - p.char_start:e - p.char_start]
            s, e = s + len(text) - len(text.lstrip()), e - (len(text) - len(text.rstrip()))
            if e - s < min_chars:
                continue
        taken.append((s, e))
        kept.append(j)
        shown.append((s, e))
        if limit is not None and len(kept) >= limit:
            break
    return np.asarray(kept, dtype=np.int64), shown


def cut(passage: Passage, span: tuple[int, int]) -> Passage:
    """`passage` narrowed to the body span `span` (itself when the span is all of it)."""
    s, e = span
    if (s, e) == (passage.char_start, passage.char_end):
        return passage
    return replace(passage, text=passage.text[s - passage.char_start:e - passage.char_start],
                   char_start=s, char_end=e)


def more_in_article(candidate_articles: np.ndarray, shown_articles: np.ndarray) -> list[int]:
    """For each shown result (its article row), how many other candidates of its article
    (`candidate_articles`: the article row of every candidate before any was dropped) are not
    shown as a result of their own."""
    uniq, counts = np.unique(candidate_articles, return_counts=True)
    total = dict(zip(uniq.tolist(), counts.tolist()))
    shown = np.asarray(shown_articles).tolist()
    cards = {a: shown.count(a) for a in set(shown)}
    return [max(0, total.get(a, 1) - cards[a]) for a in shown]
