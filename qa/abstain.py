"""Abstention: say "nothing here answers" when the best evidence is too weak.

The signal is the best dense cosine among the returned hits (the question's closest passage,
whichever stage ranked it). The threshold is calibrated by `bench/calibrate_abstention.py` on
Cranfield's own questions (answerable) against hand-written off-topic questions (not
answerable) — never on the sets we report — and lives in `Settings.abstain_threshold`.
"""

from __future__ import annotations

import math
from typing import Sequence

from .types import Hit


def confidence(hits: Sequence[Hit]) -> float:
    """Best dense cosine among the hits; 0.0 when there is none."""
    values = [h.scores.get("dense", float("nan")) for h in hits]
    values = [v for v in values if not math.isnan(v)]
    return max(values) if values else 0.0


def is_answerable(hits: Sequence[Hit], threshold: float) -> bool:
    """True when the best hit is close enough to the question to be evidence."""
    return bool(hits) and confidence(hits) >= threshold


def best_threshold(positive: Sequence[float], negative: Sequence[float]) -> tuple[float, float]:
    """(threshold, balanced accuracy) maximising balanced accuracy; midpoints between scores."""
    if not positive or not negative:
        raise ValueError("calibration needs answerable and unanswerable examples")
    values = sorted(set(positive) | set(negative))
    cuts = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    best = (cuts[0], -1.0)
    for t in cuts:
        tpr = sum(p >= t for p in positive) / len(positive)
        tnr = sum(n < t for n in negative) / len(negative)
        acc = (tpr + tnr) / 2
        if acc > best[1] + 1e-12:
            best = (t, acc)
    return best
