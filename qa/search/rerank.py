"""Re-score a candidate list. Every reranker shares one interface:

    reranker.rerank(snapshot, question, qvec, rows, dense=None, bm25=None) -> Reranked

`Reranked` holds one score per row and, for a reranker that has them, named component scores
per row (the reading model's), which each hit's `scores` then carries.

`FeatureReranker` ("features", the default): a weighted sum of the `FEATURES` of each candidate
(see `feature_matrix`), no model. `ReaderReranker` ("reader", configuration hybrid-read): the
features choose the `read_depth` best candidates, qa's reading model (qa.search.reader) reads
each with the question, and weights learned on SQuAD train candidates (stored with the model)
combine the features and the reading scores. `CrossEncoderReranker` loads any local sentence-transformers
CrossEncoder folder (`--reranker PATH`); nothing is downloaded.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import BadInput
from qa.registry import Registry
from qa.search.answer_signals import SIGNALS, answer_signals
from qa.text.analyzer import key_terms
from qa.storage.snapshot import IndexSnapshot

FEATURES = ("dense", "bm25", "doc_bm25", "doc_dense", "exact") + SIGNALS


def feature_matrix(snap: IndexSnapshot, question: str, qvec: np.ndarray | None, rows: np.ndarray,
                   dense: np.ndarray | None = None, bm25: np.ndarray | None = None,
                   signal_depth: int | None = None) -> np.ndarray:
    """(len(rows), len(FEATURES)) features of candidate passages for one question.

    dense      cosine of passage and question (for a passage not embedded yet, the median of
               the embedded candidates')
    bm25       passage BM25 relative to the best candidate's
    doc_bm25   whole-article BM25 of the passage's article, relative to the best candidate article's
    doc_dense  best cosine among the candidates of the same article (document-level evidence)
    exact      share of the question's names and numbers found as whole tokens in the passage
               (looked up in the passage BM25 postings, so no passage text is read)
    sent_lex ... apposition   answer signals of the passage text (qa.search.answer_signals),
               for the first `signal_depth` rows only (all when None, none when 0): they read
               each candidate's text

    `dense` and `bm25` are the rows' cosines and raw passage BM25 scores when the caller has
    them already (retrieval computed both), so they are not computed twice.
    """
    n = len(rows)
    F = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return F
    pending = snap.pending_mask(rows)  # passages of a build still embedding: no cosine yet
    if dense is not None and np.isfinite(dense[~pending]).all():
        F[:, 0] = np.nan_to_num(dense)
    elif qvec is not None:
        F[:, 0] = np.asarray(snap.vectors[rows] @ qvec, dtype=np.float32)
    if pending.any():
        # they take the embedded candidates' median cosine, so their keywords and answer
        # signals rank them, neither pushed down nor lifted by a cosine they do not have
        F[pending, 0] = np.median(F[~pending, 0]) if (~pending).any() else 0.0
    bm = bm25 if bm25 is not None else snap.sparse.scores(question)[rows]
    F[:, 1] = bm / bm.max() if bm.max() > 0 else 0.0
    arts = snap.passage_article[rows]
    if snap.sparse_docs is not None:
        # only the candidates' articles are scored, relative to the best of them (not of every
        # article: measured equal on SciFact, TIME and rgb_en_fact, and a 1M-passage index then
        # reads a few pages of each posting list instead of all of them)
        uniq, inv = np.unique(arts, return_inverse=True)
        doc_scores = snap.sparse_docs.scores_for(question, uniq)[inv.reshape(-1)]
        top = doc_scores.max()
        F[:, 2] = doc_scores / top if top > 0 else 0.0
    best: dict[int, float] = {}
    for a, d in zip(arts.tolist(), F[:, 0].tolist()):
        best[a] = max(best.get(a, -1.0), d)
    F[:, 3] = [best[a] for a in arts.tolist()]
    terms = key_terms(question)
    if terms:  # from the BM25 postings, so no passage text is read
        F[:, 4] = np.mean([snap.sparse.rows_containing(t, rows) for t in terms], axis=0)
    m = n if signal_depth is None else min(n, signal_depth)
    if m:
        store = snap.sentences  # the stored sentence spans spare splitting the candidates again
        spans = [store.spans(int(r))[:, :2].tolist() for r in rows[:m]] if store is not None else None
        F[:m, 5:] = answer_signals(question, [snap.passages[int(r)] for r in rows[:m]], snap.sparse.idf, spans)
    return F


@dataclass(frozen=True)
class Reranked:
    """A reranker's answer: `scores` (one per row) and named component scores (NaN where a row
    was not scored by that component)."""

    scores: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> "Reranked":
        return cls(np.zeros(0, dtype=np.float32))


@dataclass(frozen=True)
class FeatureReranker:
    """A weighted sum of `FEATURES`.

    The first five weights from bench/tune_rerank.py on the first half of TIME's questions
    (nDCG@10 there 0.771 -> 0.790, held-out half 0.705 -> 0.719); the answer signals from
    bench/tune_answer.py on the first halves of rgb_en_fact, the TIME news set and the demo set.
    The grid's best also halved `doc_dense`, which cost SciFact 0.005 nDCG@10 once the signals
    read only 30 candidates, so `doc_dense` stays 1.0 (bench/RESULTS.md). `answer_count` and
    `answer_type` 0.3 / 0.1 from the same harness a session later; `apposition` 0.1 a session after
    that (0.2 did better on the tuning halves but cost the demo set a question: bench/RESULTS.md).
    """

    weights: tuple[float, ...] = (1.0, 0.5, 0.3, 1.0, 0.1, 0.3, 0.1, 0.2, 0.3, 0.1)
    name: str = "features"
    signal_depth: int = 30  # fused candidates whose text the answer signals read (~6 ms for 30)

    def __post_init__(self):
        if len(self.weights) != len(FEATURES):
            raise BadInput(f"FeatureReranker got {len(self.weights)} weights for {len(FEATURES)} features; "
                           f"give one weight per feature, in the order {', '.join(FEATURES)}")

    def rerank(self, snap: IndexSnapshot, question: str, qvec: np.ndarray | None, rows: np.ndarray,
               dense: np.ndarray | None = None, bm25: np.ndarray | None = None) -> Reranked:
        if len(rows) == 0:
            return Reranked.empty()
        return Reranked(self.features(snap, question, qvec, rows, dense, bm25) @ self.vector())

    def vector(self) -> np.ndarray:
        return np.asarray(self.weights, dtype=np.float32)

    def features(self, snap: IndexSnapshot, question: str, qvec: np.ndarray | None, rows: np.ndarray,
                 dense: np.ndarray | None = None, bm25: np.ndarray | None = None) -> np.ndarray:
        """The feature matrix this reranker weighs (answer signals for `signal_depth` rows)."""
        # the answer signals read passage text: the best-fused candidates only
        return feature_matrix(snap, question, qvec, rows, dense=dense, bm25=bm25,
                              signal_depth=self.signal_depth if self.vector()[5:].any() else 0)


class CrossEncoderReranker:
    """A local sentence-transformers CrossEncoder; loads on first use."""

    def __init__(self, path: str | Path, batch_size: int = 32):
        self.path = Path(path)
        if not (self.path / "config.json").exists():
            raise BadInput(f"--reranker {str(path)!r} is not a CrossEncoder folder (no config.json); "
                           "pass the folder of a locally saved sentence-transformers CrossEncoder")
        self.name = f"cross-encoder:{self.path.name}"
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def model(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(str(self.path), device="cpu", local_files_only=True)
            return self._model

    def rerank(self, snap: IndexSnapshot, question: str, qvec: np.ndarray | None, rows: np.ndarray,
               dense: np.ndarray | None = None, bm25: np.ndarray | None = None) -> Reranked:
        if len(rows) == 0:
            return Reranked.empty()
        pairs = [(question, snap.passages[int(r)].text) for r in rows]
        scores = self.model().predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return Reranked(np.asarray(scores, dtype=np.float32).reshape(-1))


@dataclass(frozen=True)
class ReaderReranker:
    """Features choose `read_depth` candidates; the reading model reads them; learned weights
    combine both (qa/models/reader/reader.json, from training/train_reader.py on SQuAD train
    candidates). Candidates it does not read keep the features' order below those it read."""

    read_depth: int | None = None  # None: the depth the combination was learned at (reader.json)
    name: str = "reader"
    preselect: FeatureReranker = FeatureReranker()
    folder: str | None = None  # None: the model shipped with qa

    def reader(self):
        from qa.search.reader import MODEL_DIR, shared_reader

        return shared_reader(self.folder or MODEL_DIR)

    def combination(self) -> tuple[list[str], np.ndarray]:
        """The learned combination: the names of the columns it weighs (`FEATURES` names,
        "features" for the features' weighted sum, "reader", "reader_span") and their weights."""
        spec = self.reader().meta["combination"]
        names, w = list(spec["features"]), np.asarray(spec["weights"], dtype=np.float32)
        known = set(FEATURES) | {"features", "reader", "reader_span"}
        if len(names) != len(w) or not set(names) <= known:
            raise BadInput(f"the reading model's combination weighs {names} with {len(w)} weights; "
                           f"each must be one of {', '.join(sorted(known))}: retrain it with "
                           "training/train_reader.py")
        return names, w

    def rerank(self, snap: IndexSnapshot, question: str, qvec: np.ndarray | None, rows: np.ndarray,
               dense: np.ndarray | None = None, bm25: np.ndarray | None = None) -> Reranked:
        if len(rows) == 0:
            return Reranked.empty()
        from qa.search.reader import reads

        F = self.preselect.features(snap, question, qvec, rows, dense, bm25)
        base = F @ self.preselect.vector()
        if not reads(question):  # English questions only: another script, a topic or a claim
            return Reranked(base)
        depth = self.read_depth or int(self.reader().meta.get("read_depth", 20))
        top = np.argsort(-base, kind="stable")[:depth]
        passages = [snap.passages[int(r)] for r in rows[top]]
        rank, span, answers = self.reader().read(question, [(snap.articles[p.doc_id].title, p.text) for p in passages])
        names, w = self.combination()
        cols = {**{f: F[top, i] for i, f in enumerate(FEATURES)}, "features": base[top],
                "reader": rank, "reader_span": span}
        combined = np.stack([cols[n] for n in names], 1) @ w
        # rows not read rank below every row read, in the features' order
        out = (base - base.max() + combined.min() - 1.0).astype(np.float32)
        out[top] = combined
        parts = {"reader": np.full(len(rows), np.nan, np.float32), "reader_span": np.full(len(rows), np.nan, np.float32)}
        parts["reader"][top], parts["reader_span"][top] = rank, span
        # where in each passage read the model points at the answer (ANSWER_PARTS: offsets in
        # the passage text, NaN where it read nothing or gave no span); they are not scores
        for i, name in enumerate(ANSWER_PARTS):
            parts[name] = np.full(len(rows), np.nan, np.float32)
            parts[name][top] = [a[i] if a is not None else np.nan for a in answers]
        return Reranked(out, parts)


ANSWER_PARTS = ("answer_start", "answer_end")  # Reranked.parts that locate an answer, not scores
_CROSS: dict[str, CrossEncoderReranker] = {}
RERANKERS: Registry[type] = Registry("reranker")
RERANKERS.add("features", FeatureReranker)
RERANKERS.add("reader", ReaderReranker)


def get_reranker(spec: str | None):
    """`None`/"none" -> no reranker; a `RERANKERS` name -> that reranker; any other value is
    the folder of a local CrossEncoder (loaded once per folder)."""
    if spec in (None, "", "none"):
        return None
    if spec in RERANKERS:
        return RERANKERS.get(spec)()
    key = str(Path(spec).resolve())
    if key not in _CROSS:
        _CROSS[key] = CrossEncoderReranker(spec)
    return _CROSS[key]
