"""One question -> one `Answer`: the shared shape of `qa ask --json`, the web UI's and the JSON
API's `ask`; `ask_batch` answers questions asked together (the server's batching) the same way.

    from qa import Index
    from qa.answer.ask import ask
    ask(Index.load("index"), "What did Russia propose on decarbonization?", k=3).to_dict()
    # {"question": ..., "k": 3, "config": "hybrid", "latency_ms": 12.3, "pending": {...}, "hits": [...]}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from qa.answer import abstain
from qa.types import Hit


@dataclass
class Answer:
    """The hits for one question and how they were found."""

    question: str
    k: int
    config: str
    latency_ms: float
    hits: list[Hit] = field(default_factory=list)
    answerable: bool = True
    confidence: float = 0.0
    threshold: float = 0.0
    unseen_terms: list[str] = field(default_factory=list)
    reading: float | None = None  # the reading model's best reading score of the hits (None: not read)
    # the build answered from while it was still embedding (IndexSnapshot.still_embedding):
    # {"articles", "passages", "articles_total"}; the pending ones were found by keywords only
    pending: dict[str, int] = field(default_factory=lambda: {"articles": 0, "passages": 0,
                                                             "articles_total": 0})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed by `qa ask --json`."""
        return {"question": self.question, "k": self.k, "config": self.config,
                "latency_ms": round(self.latency_ms, 2), "answerable": self.answerable,
                "confidence": round(self.confidence, 4), "threshold": round(self.threshold, 4),
                "unseen_terms": list(self.unseen_terms),
                "reading": round(self.reading, 4) if self.reading is not None else None,
                "pending": dict(self.pending),
                "hits": [h.to_dict() for h in self.hits]}

    def pending_notice(self) -> str:
        """One line saying how many articles are still being embedded ("" when none are)."""
        return pending_notice(self.pending)


def pending_notice(pending: dict[str, int]) -> str:
    """"312 of 5,183 articles are still being embedded; their passages are found by keywords
    only." for a build still embedding; "" for a complete one."""
    waiting = pending.get("articles", 0)
    if not waiting and not pending.get("passages", 0):
        return ""
    total = pending.get("articles_total", 0)
    return (f"{waiting:,} of {total:,} article{'s' if total != 1 else ''} "
            f"{'are' if waiting != 1 else 'is'} still being embedded; their passages are found by "
            f"keywords only.")


def ask_batch(index, questions: list[str], k: int | None = None, config: str | None = None,
              source: str | None = None, since: str | None = None, until: str | None = None,
              **options) -> list[Answer]:
    """Answer several questions that share k, configuration and filters as one batch: one
    `Index.search_batch` (retrieval, fusion, reranking), then each question's verdict.

    Each question is encoded alone first, as `qa ask` encodes it: int8 activations are quantised
    per batch, so a vector embedded beside other questions would move (and with it the answer);
    the batch then finds every vector in the question cache. So each answer is the one `ask`
    gives for that question alone.

    Args:
        index: a loaded `qa.Index`.
        questions: the questions (each cleaned; a blank or huge one raises for the whole batch).
        k, config, source, since, until, options: as for `ask`, shared by every question.

    Returns:
        One `Answer` per question, in order; `latency_ms` is the time the batch took (what each
        caller waited for the search).

    Raises:
        BadInput: a bad question, k, configuration, date, or filters that match nothing.
    """
    from qa.search.pipeline import check_k, clean_question

    cleaned = [clean_question(q) for q in questions]
    k = check_k(index.settings.k if k is None else k)
    t0 = time.perf_counter()
    for q in dict.fromkeys(cleaned):
        index.question_vectors([q])
    hits = index.search_batch(cleaned, k=k, config=config or None, source=source or None,
                              since=since or None, until=until or None, **options)
    ms = (time.perf_counter() - t0) * 1000
    snap = index.snapshot  # the build just searched (a search picks up a newer one first)
    answers = []
    for q, found in zip(cleaned, hits):
        said = abstain.verdict(snap, index.encoder, q, found)  # outside the timed search
        answers.append(Answer(q, k, config or index.settings.config, ms, found,
                              answerable=bool(found) and said["answerable"], confidence=said["confidence"],
                              threshold=said["threshold"], unseen_terms=said["unseen_terms"],
                              reading=said.get("reading"), pending=snap.still_embedding()))
    return answers


def ask(index, question: str, k: int | None = None, config: str | None = None,
        source: str | None = None, since: str | None = None, until: str | None = None,
        **options) -> Answer:
    """Search `index` for one question and time it (`ask_batch` of one question).

    Args:
        index: a loaded `qa.Index`.
        question: the question (cleaned; blank or huge raises).
        k: passages to return (default `Settings.k`).
        config: a retrieval configuration of `qa.search.pipeline.CONFIGS` (default `Settings.config`).
        source, since, until: article filters; "" means no filter.
        options: passed on to `Index.search` (e.g. retriever depth).

    Returns:
        An `Answer`; `answer.to_dict()` is the `qa ask --json` object.

    Raises:
        BadInput: a bad question, k, configuration, date, or filters that match nothing.
    """
    return ask_batch(index, [question], k=k, config=config, source=source, since=since, until=until,
                     **options)[0]
