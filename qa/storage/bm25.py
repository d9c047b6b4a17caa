"""BM25 (bm25s) over passages (or whole articles) with the same search interface as the dense
index; texts are analysed by `qa.text.analyzer`, each in its article's language, and questions
in `qa.text.language.question_language` (which needs the languages the index holds). Saved with
bm25s' own plain files (npy + json, no pickle)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from qa.storage.selection import Selection
from qa.text.analyzer import tokenize
from qa.text.language import question_language

logging.getLogger("bm25s").setLevel(logging.WARNING)


class SparseIndex:
    """bm25s BM25 over passage texts; row i == FAISS id i == passages.jsonl line i."""

    def __init__(self, bm25, n: int, stem: bool = True, languages: Iterable[str] = ()):
        self.bm25 = bm25
        self.n = n
        self.stem = stem
        self.languages = frozenset(x for x in languages if x)  # of the indexed texts

    @classmethod
    def build(cls, texts: list[str], stem: bool = True, k1: float = 1.2, b: float = 0.75,
              languages: list[str] | None = None) -> "SparseIndex":
        """BM25 of `texts`, each analysed in its language (`languages[i]`, "" = by script)."""
        import bm25s

        langs = languages if languages is not None else [""] * len(texts)
        bm = bm25s.BM25(k1=k1, b=b)
        corpus = [tokenize(t, stem, lang) or [""] for t, lang in zip(texts, langs)]
        if corpus:
            bm.index(corpus, show_progress=False)
        return cls(bm, len(texts), stem, langs)

    def question_tokens(self, question: str) -> list[str]:
        """The analysed tokens of a question, in the language chosen for it among this index's."""
        return tokenize(question, self.stem, question_language(question, self.languages))

    def __len__(self) -> int:
        return self.n

    def knows(self, term: str) -> bool:
        """Whether some passage holds `term`: its analysed token, or every part of a compound
        ("congo-brazzaville" is known when "congo" and "brazzaville" are). False for a term with
        no token (a stopword)."""
        toks = self.question_tokens(term)
        vocab = self.bm25.vocab_dict
        return bool(toks) and (toks[0] in vocab or (len(toks) > 1 and all(t in vocab for t in toks[1:])))

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every passage for one question (zeros when no term is known)."""
        vocab = self.bm25.vocab_dict
        toks = [t for t in self.question_tokens(question) if t in vocab]
        if not toks or self.n == 0:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(toks), dtype=np.float32)

    def scores_for(self, question: str, rows: np.ndarray) -> np.ndarray:
        """BM25 of `question` for the given rows only, equal to `scores(question)[rows]`.

        Each term's postings (sorted row ids) are binary-searched for the rows instead of being
        summed over the whole collection: a few pages of each posting list are read, which
        keeps a 1M-row index's working set small when only candidates need a score.
        """
        rows = np.asarray(rows, dtype=np.int64)
        vocab = self.bm25.vocab_dict
        toks = [t for t in self.question_tokens(question) if t in vocab]
        out = np.zeros(len(rows), dtype=np.float32)
        if not toks or self.n == 0 or not len(rows):
            return out
        data = self.bm25.scores["data"]
        for t in toks:  # repeated terms count again, as in bm25s.get_scores
            hit, at = self._postings(t, rows)
            out[hit] += np.asarray(data[at[hit]], dtype=np.float32)
        return out

    def _postings(self, token: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each row is in `token`'s postings, its position in the score arrays) by
        binary search in the postings' sorted row ids; all False for an unknown token."""
        sc = self.bm25.scores
        tid = self.bm25.vocab_dict.get(token)
        a, b = (int(sc["indptr"][tid]), int(sc["indptr"][tid + 1])) if tid is not None else (0, 0)
        if a == b:
            return np.zeros(len(rows), dtype=bool), np.zeros(len(rows), dtype=np.int64)
        seg = sc["indices"][a:b]
        pos = np.minimum(np.searchsorted(seg, rows), b - a - 1)
        return np.asarray(seg[pos]) == rows, a + pos

    def rows_containing(self, text: str, rows: np.ndarray) -> np.ndarray:
        """Whether each of `rows` holds every BM25 token of `text` (its postings are
        binary-searched; no passage text is read). False for all when `text` has no token."""
        rows = np.asarray(rows, dtype=np.int64)
        toks = set(self.question_tokens(text))
        if not toks or not len(rows):
            return np.zeros(len(rows), dtype=bool)
        ok = np.ones(len(rows), dtype=bool)
        for t in toks:
            ok &= self._postings(t, rows)[0]
            if not ok.any():
                break
        return ok

    def search_batch(self, questions: list[str], k: int,
                     allowed: Selection | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` per question; ids -1 pad rows with fewer positive scores."""
        return self.top_k([self.scores(q) for q in questions], k, allowed)

    def top_k(self, score_rows: list[np.ndarray], k: int,
              allowed: Selection | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` of already computed `scores()` arrays (one per question)."""
        k = max(1, min(k, max(self.n, 1)))
        all_s = np.zeros((len(score_rows), k), dtype=np.float32)
        all_i = np.full((len(score_rows), k), -1, dtype=np.int64)
        mask = None
        if allowed is not None:
            mask = np.zeros(self.n, dtype=bool)
            mask[allowed.rows] = True
        for qi, s in enumerate(score_rows):
            if mask is not None:
                s = np.where(mask, s, 0.0)
            pos = np.flatnonzero(s > 0)
            if len(pos) == 0:
                continue
            top = pos[np.argsort(-s[pos], kind="stable")[:k]] if len(pos) <= k else \
                pos[np.argpartition(-s[pos], k - 1)[:k]]
            top = top[np.argsort(-s[top], kind="stable")]
            all_s[qi, :len(top)] = s[top]
            all_i[qi, :len(top)] = top
        return all_s, all_i

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n: int, stem: bool = True, languages: Iterable[str] = ()) -> "SparseIndex":
        import bm25s

        # memory-mapped: a question reads the columns of its own terms, not the whole matrix
        bm = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False, mmap=True)
        return cls(bm, n, stem, languages)

    def idf(self, token: str) -> float:
        """log(1 + (N - df + 0.5) / (df + 0.5)) of an analysed token; 0 when unknown."""
        tid = self.bm25.vocab_dict.get(token)
        indptr = self.bm25.scores["indptr"]
        if tid is None or self.n == 0 or tid + 1 >= len(indptr):  # bm25s's "" token has no postings
            return 0.0
        df = int(indptr[tid + 1] - indptr[tid])
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))
