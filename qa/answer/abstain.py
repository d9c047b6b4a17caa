"""Abstention: say "nothing here answers" when the best evidence is too weak.

The signal is the best cosine the question reaches anywhere in the index. Cosines run higher in some
collections than others (long technical queries against abstracts score higher than short news
questions against articles), so the threshold is relative to the collection:

    threshold = background + margin

`background` is the median best cosine that hand-written off-topic questions
(`qa/offtopic_questions.txt`) reach in this index, measured once per loaded index. `margin`
(`Settings.abstain_margin`) is calibrated by `bench/calibrate_abstention.py` on the first halves
of news question sets (answerable and unanswerable ones) and the off-topic questions.

The reading model can overrule a "nothing here" from the cosine: when it read the hits (the
default `hybrid-read`) and its best reading score (`reading`: the reader's part of the learned
combination) reaches `answerable_above` in reader.json, the question counts as answerable. That
bar is learned on SQuAD train, not on our sets: the score that only 5% of the candidate lists
without an answer among the passages read reach (training/reader_stages.py).

A question whose names and numbers the collection never mentions ("Who won the 2018 FIFA World
Cup?" asked of 1963 magazines: no passage holds "2018" or "FIFA") is about something else even
when its topic words match, so the evidence is lowered by `Settings.abstain_unseen` times the
share of its names and numbers (`key_terms`) that no passage holds; they are reported as
`unseen_terms`.
"""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.embedders.question_cache import QuestionEncoder
from qa.hashing import content_hash
from qa.storage.snapshot import IndexSnapshot
from qa.text.analyzer import key_terms
from qa.types import Hit

OFFTOPIC_FILE = Path(__file__).with_name("offtopic_questions.txt")
MEMO_KEY = "abstain_background"


@lru_cache(maxsize=1)
def offtopic_questions() -> tuple[str, ...]:
    lines = OFFTOPIC_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


def question_confidence(snap: IndexSnapshot, encoder: QuestionEncoder, question: str) -> float:
    """Best cosine the question reaches anywhere in the index (not only among returned hits)."""
    return float(top_cosines(snap, encoder, [question])[0])


def unseen_terms(snap: IndexSnapshot, question: str) -> tuple[list[str], int]:
    """(the question's names and numbers that no passage holds, how many it names)."""
    terms = key_terms(question)
    if not len(snap.passages):
        return terms, len(terms)
    return [t for t in terms if not snap.sparse.knows(t)], len(terms)


def unseen_penalty(snap: IndexSnapshot, unseen: Sequence[str], named: int) -> float:
    """What the unseen names and numbers take off the evidence (see the module docstring)."""
    return snap.settings.abstain_unseen * len(unseen) / named if named else 0.0


def confidence(hits: Sequence[Hit]) -> float:
    """Best dense cosine among the hits; 0.0 when there is none."""
    values = [h.scores.get("dense", float("nan")) for h in hits]
    values = [v for v in values if not math.isnan(v)]
    return max(values) if values else 0.0


def top_cosines(snap: IndexSnapshot, encoder: QuestionEncoder, questions: Sequence[str]) -> np.ndarray:
    """Best cosine each question reaches over the whole index (exact, via the vector store)."""
    if not len(snap.passages) or not len(snap.dense):  # nothing embedded yet
        return np.zeros(len(questions), dtype=np.float32)
    scores, _ = snap.dense.search_batch(encoder.encode(list(questions)), 1)
    return scores[:, 0]


def background(snap: IndexSnapshot, encoder: QuestionEncoder) -> float:
    """Median best cosine of the off-topic questions in this build.

    Measured once per build: kept with the snapshot (a reload brings a new one, so a re-indexed
    folder is measured again) and in the folder's abstention file (keyed by the build and the
    question list), so a new process does not re-embed the questions at start-up. The file is
    a cache outside the checksummed build; losing it costs one measurement.
    """
    cached = snap.memo.get(MEMO_KEY)
    if cached is not None:
        return cached
    key = content_hash(json.dumps(snap.manifest, sort_keys=True), *offtopic_questions())
    cache_file = snap.folder.abstain_file
    try:
        saved = json.loads(cache_file.read_text())
        if saved.get("key") == key:
            value = snap.memo[MEMO_KEY] = float(saved["background"])
            return value
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = snap.memo[MEMO_KEY] = float(np.median(top_cosines(snap, encoder, offtopic_questions())))
    try:
        tmp = cache_file.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"key": key, "background": value}))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only index folder still works; it measures once per process
    return value


def threshold(snap: IndexSnapshot, encoder: QuestionEncoder, margin: float | None = None) -> float:
    """The confidence a hit list needs in this index to count as an answer."""
    margin = snap.settings.abstain_margin if margin is None else margin
    return background(snap, encoder) + margin


def verdict(snap: IndexSnapshot, encoder: QuestionEncoder, question: str,
            hits: Sequence[Hit] = ()) -> dict:
    """What `qa ask` says of one question: {"answerable", "confidence", "threshold", "unseen_terms"}.

    The evidence is the best cosine over the whole index (or of `hits`, when higher) less the
    unseen-terms penalty. The question is encoded alone: int8 activations are quantised per
    batch, so a question's vector, and a verdict at the margin, would move with batch-mates.
    """
    if len(snap.passages) and not len(snap.dense):
        # a build that has embedded nothing yet (its first step): no evidence to weigh; the
        # answer's "pending" says its hits were found by keywords only
        return {"answerable": True, "confidence": 0.0, "threshold": 0.0,
                "unseen_terms": unseen_terms(snap, question)[0]}
    best = question_confidence(snap, encoder, question)
    if hits:
        best = max(best, confidence(hits))
    unseen, named = unseen_terms(snap, question)
    conf = best - unseen_penalty(snap, unseen, named)
    thr = threshold(snap, encoder)
    reading, bar = reading_evidence(hits)
    answerable = conf >= thr or (reading is not None and bar is not None and reading >= bar)
    return {"answerable": bool(len(snap.passages)) and answerable, "confidence": conf,
            "threshold": thr, "unseen_terms": unseen, "reading": reading}


def reading_evidence(hits: Sequence[Hit]) -> tuple[float | None, float | None]:
    """(best reading score among the hits the reading model read, the shipped model's
    `answerable_above`); (None, None) when it read none of them (another configuration, a
    question it does not read)."""
    scores = [h.scores for h in hits if "reader" in h.scores]
    if not scores:
        return None, None
    from qa.search.reader import MODEL_DIR, best_reading, shared_reader

    meta = shared_reader(MODEL_DIR).meta
    bar = meta.get("answerable_above")
    return best_reading(scores, meta), (float(bar) if bar is not None else None)


def assess(snap: IndexSnapshot, encoder: QuestionEncoder, questions: Sequence[str],
           hits: Sequence[Sequence[Hit]] | None = None) -> list[dict]:
    """`verdict` of each question, one at a time (with its `hits`, when given: what `qa ask`
    would show for it, so the reading model's evidence counts as it does there)."""
    return [verdict(snap, encoder, q, hits[i] if hits is not None else ()) for i, q in enumerate(questions)]


def best_threshold(positive: Sequence[float], negative: Sequence[float]) -> tuple[float, float]:
    """(threshold, balanced accuracy) maximising balanced accuracy; midpoints between scores."""
    if not len(positive) or not len(negative):
        raise ValueError("calibration needs answerable and unanswerable examples")
    values = sorted(set(map(float, positive)) | set(map(float, negative)))
    cuts = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    best = (cuts[0], -1.0)
    for t in cuts:
        tpr = sum(p >= t for p in positive) / len(positive)
        tnr = sum(n < t for n in negative) / len(negative)
        if (tpr + tnr) / 2 > best[1] + 1e-12:
            best = (t, (tpr + tnr) / 2)
    return best
