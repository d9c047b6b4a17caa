"""Hit -> citation label and answer-sentence highlight. Formatting only: no retrieval here."""

from __future__ import annotations

import math

from .chunk import split_sentences
from .sparse import tokenize
from .types import Hit, Passage


def sentence_spans(passage: Passage) -> list[tuple[int, int]]:
    """Sentence spans of a passage in article-body offsets."""
    return [(passage.char_start + s, passage.char_start + e) for s, e in split_sentences(passage.text)]


def highlight_span(question: str, passage: Passage, sparse=None) -> tuple[int, int] | None:
    """Body offsets of the passage sentence that best matches the question's terms.

    Terms are weighted by inverse document frequency when a BM25 index is given (rare names
    and numbers count most); ties go to the earlier sentence.
    """
    spans = sentence_spans(passage)
    if not spans:
        return None
    q_terms = set(tokenize(question))
    if not q_terms:
        return spans[0]
    weights = {t: (sparse.idf(t) if sparse is not None else 1.0) for t in q_terms}
    best, best_score = spans[0], -1.0
    for s, e in spans:
        terms = set(tokenize(passage.text[s - passage.char_start:e - passage.char_start]))
        score = sum(weights[t] for t in q_terms & terms) / math.sqrt(1 + 0.05 * len(terms))
        if score > best_score + 1e-9:
            best, best_score = (s, e), score
    return best


def citation(hit: Hit, n: int | None = None) -> str:
    """`[n] Title — Source, date (doc_id, chars a–b)`."""
    a, p = hit.article, hit.passage
    where = ", ".join(x for x in (a.source, a.date) if x) or "unknown source"
    return (f"[{n if n is not None else hit.rank}] {a.title or '(untitled)'} \u2014 {where} "
            f"({p.doc_id}, chars {p.char_start}\u2013{p.char_end})")


def marked_text(hit: Hit, left: str = "\u00bb", right: str = "\u00ab") -> str:
    """The passage text with the highlighted sentence wrapped in markers."""
    p = hit.passage
    if hit.highlight is None:
        return p.text
    s, e = hit.highlight[0] - p.char_start, hit.highlight[1] - p.char_start
    return p.text[:s] + left + p.text[s:e] + right + p.text[e:]


def format_hits(question: str, hits: list[Hit]) -> str:
    """Human output of `qa ask`: ranked passages, each with its citation."""
    lines = [f"Q: {question}", ""]
    if not hits:
        lines.append("No passage found.")
    for h in hits:
        score_bits = ", ".join(f"{k} {v:.3f}" for k, v in h.scores.items())
        lines.append(f"{citation(h)}  score {h.score:.4f} ({score_bits})")
        for other in h.also_reported_by:
            lines.append(f"    also reported by {other.get('source') or other['doc_id']} ({other['doc_id']})")
        lines.append("    " + marked_text(h).replace("\n", "\n    "))
        lines.append("")
    return "\n".join(lines)
