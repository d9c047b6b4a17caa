"""Distinct evidence: no two results cover overlapping text of the same article.

Passages overlap by design (a sentence is shared with each neighbour, so an answer is never cut
in two), and a strong article often brings two or three neighbouring passages into the top k:
the reader would see the same sentences twice. Walking the ranked candidates, a passage that
overlaps a better one of the same article is dropped (the better one is kept); each kept
passage then says how many other candidates of its article matched but are not shown.
"""

from __future__ import annotations

import numpy as np


def distinct_positions(passages, rows: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Positions in `rows` (best first) of the candidates that overlap no better candidate of
    their own article. `passages[row]` gives a `Passage` (doc_id and character span). With
    `limit`, the walk stops at that many positions: they are the first `limit` of the full
    answer (a candidate is judged only against better ones), and no further passage is read."""
    kept: list[int] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for j, row in enumerate(rows.tolist()):
        p = passages[row]
        taken = spans.setdefault(p.doc_id, [])
        if any(p.char_start < e and s < p.char_end for s, e in taken):
            continue
        taken.append((p.char_start, p.char_end))
        kept.append(j)
        if limit is not None and len(kept) >= limit:
            break
    return np.asarray(kept, dtype=np.int64)


def more_in_article(candidate_articles: np.ndarray, shown_articles: np.ndarray) -> list[int]:
    """For each shown result (its article row), how many other candidates of its article
    (`candidate_articles`: the article row of every candidate before any was dropped) are not
    shown as a result of their own."""
    uniq, counts = np.unique(candidate_articles, return_counts=True)
    total = dict(zip(uniq.tolist(), counts.tolist()))
    shown = np.asarray(shown_articles).tolist()
    cards = {a: shown.count(a) for a in set(shown)}
    return [max(0, total.get(a, 1) - cards[a]) for a in shown]
