"""Pure fusion functions over ranked id lists (ids are passage rows; -1 entries are ignored)."""

from __future__ import annotations

from typing import Sequence


def rrf(rankings: Sequence[Sequence[int]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.

    Returns `(id, score)` sorted by score descending, ties broken by first appearance.
    """
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for r, doc in enumerate((d for d in ranking if d >= 0), 1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + r)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def minmax(values: Sequence[float]) -> list[float]:
    """Scale to [0, 1]; all-equal input maps to 1.0."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return [1.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def score_fusion(results: Sequence[Sequence[tuple[int, float]]],
                 weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Convex combination of min-max normalised scores; a missing id contributes 0 for that list."""
    weights = weights or [1.0 / len(results)] * len(results)
    fused: dict[int, float] = {}
    for res, w in zip(results, weights):
        res = [(d, s) for d, s in res if d >= 0]
        for (d, _), ns in zip(res, minmax([s for _, s in res])):
            fused[d] = fused.get(d, 0.0) + w * ns
    return sorted(fused.items(), key=lambda kv: -kv[1])
