"""The answer sentence of each hit: the sentence holding the answer the reading model points at
(passages it read), else the passage sentence closest to the question.

Sentence vectors come from the index (qa/sentences.py: embedded at index time), or, for an index
built without them, the sentences of all hits are embedded in one batch. Each sentence is scored
by cosine with the question plus a small bonus for the question's rare terms (IDF-weighted
overlap), so names and numbers break ties. A very short best sentence is extended by the next
one ("the sentence (or two)").
"""

from __future__ import annotations

import math

import numpy as np

from qa.text.sentences import split_sentences
from qa.text.analyzer import sentence_terms, tokenize
from qa.types import Passage

LEXICAL_WEIGHT = 0.15
SHORT_SENTENCE = 60
CACHE_SIZE = 20_000  # sentence vectors kept per loaded index (~30 MB at 384 dims)


def sentence_spans(passage: Passage) -> list[tuple[int, int]]:
    """Sentence spans of a passage in article-body offsets."""
    return [(passage.char_start + s, passage.char_start + e) for s, e in split_sentences(passage.text)]


def answer_in_sentence(answer: tuple[int, int] | None, passage: Passage,
                       sentence: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The reading model's answer (body offsets) cut at the end of the sentence it starts in:
    `sentence` when given (the highlight, which holds it), else the passage's sentence holding its
    start; trailing white space dropped. None when nothing of it is left."""
    if answer is None:
        return None
    start, end = answer
    if sentence is None or not sentence[0] <= start < sentence[1]:
        sentence = next((sp for sp in sentence_spans(passage) if sp[0] <= start < sp[1]), None)
    if sentence is not None:
        end = min(end, sentence[1])
    text = passage.text[start - passage.char_start:end - passage.char_start]
    end = start + len(text.rstrip())
    return (start, end) if end > start else None


def term_weights(question: str, sparse=None) -> dict[str, float]:
    """The question's BM25 terms with their IDF (1.0 each without an index)."""
    return {t: (sparse.idf(t) if sparse is not None else 1.0) for t in set(tokenize(question))}


def lexical_scores(weights: dict[str, float], passage: Passage, spans: list[tuple[int, int]]) -> list[float]:
    """IDF-weighted share of the question's terms (`term_weights`) in each sentence, in [0, 1]."""
    if not weights:
        return [0.0] * len(spans)
    total = sum(weights.values()) or 1.0
    out = []
    for s, e in spans:
        terms = sentence_terms(passage.text[s - passage.char_start:e - passage.char_start])
        out.append(sum(weights[t] for t in weights.keys() & terms) / total / math.sqrt(1 + 0.02 * len(terms)))
    return out


def sentence_vectors(texts: list[str], embedder, cache: dict | None = None,
                     cache_size: int = CACHE_SIZE) -> np.ndarray:
    """Embeddings of sentences; with a cache, each distinct sentence is embedded once (the
    sentence shared by two overlapping passages, a passage shown again for another question)."""
    if cache is None:
        return embedder.embed_batch(texts)
    missing = [t for t in dict.fromkeys(texts) if t not in cache]
    if missing:
        for t, v in zip(missing, embedder.embed_batch(missing)):
            cache[t] = v
        while len(cache) > cache_size:
            cache.pop(next(iter(cache)))
    return np.stack([cache[t] for t in texts])


def highlight_spans(question: str, qvec: np.ndarray | None, passages: list[Passage], embedder=None,
                    sparse=None, cache: dict | None = None, store=None,
                    rows: list[int] | None = None,
                    within: list[tuple[int, int]] | None = None,
                    answers: list[tuple[int, int] | None] | None = None) -> list[tuple[int, int] | None]:
    """Best sentence span (body offsets) of each passage for one question.

    `answers` (body spans or None, one per passage): where the reading model points at the
    answer in the passages it read; the sentence holding that answer is the one highlighted
    (the model read question and passage together; the sentence vectors did not).

    With the index's `store` (qa/sentences.py) and the passages' `rows`, sentence vectors come
    from the index (dot products); otherwise the sentences are embedded now, through `cache`.
    `within` (body spans, one per passage) restricts each choice to the sentences inside it: the
    part of a passage that a result shows when distinct evidence cut it (qa.search.distinct).
    """
    if store is not None and rows is not None:
        entries = [store.spans(r) for r in rows]
        all_spans = [[(p.char_start + int(s), p.char_start + int(e)) for s, e, _ in ent]
                     for p, ent in zip(passages, entries)]
        sims = (store.similarities(np.concatenate(entries), qvec) if qvec is not None and entries
                else np.zeros(sum(map(len, entries)), dtype=np.float32))
    else:
        all_spans = [sentence_spans(p) for p in passages]
        flat = [(i, s, e) for i, spans in enumerate(all_spans) for s, e in spans]
        sims = np.zeros(len(flat), dtype=np.float32)
        if embedder is not None and qvec is not None and flat:
            texts = [passages[i].text[s - passages[i].char_start:e - passages[i].char_start]
                     for i, s, e in flat]
            sims = sentence_vectors(texts, embedder, cache) @ qvec
    weights = term_weights(question, sparse)  # once per question, not per passage
    out: list[tuple[int, int] | None] = []
    pos = 0
    for i, (p, spans) in enumerate(zip(passages, all_spans)):
        sim = sims[pos:pos + len(spans)]
        pos += len(spans)
        if within is not None:
            lo, hi = within[i]
            inside = [j for j, (s, e) in enumerate(spans) if s >= lo and e <= hi]
            spans, sim = [spans[j] for j in inside], sim[inside]
        if not spans:
            out.append(None)
            continue
        answer = answers[i] if answers is not None else None
        holding = [j for j, (s, e) in enumerate(spans) if answer is not None and s <= answer[0] < e]
        if holding:
            best = holding[0]
        else:
            lex = lexical_scores(weights, p, spans)
            scores = [float(sim[j]) + LEXICAL_WEIGHT * lex[j] for j in range(len(spans))]
            best = int(np.argmax(scores))
        s, e = spans[best]
        if e - s < SHORT_SENTENCE and best + 1 < len(spans):
            e = spans[best + 1][1]
        out.append((s, e))
    return out
