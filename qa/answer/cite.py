"""Hit -> citation label and answer-sentence highlight. Formatting only: no retrieval here."""

from __future__ import annotations

import re

from qa.types import Hit


def citation(hit: Hit, n: int | None = None) -> str:
    """`[n] Title — Source, date (doc_id, chars a–b)`: the label of a hit in `qa ask` (the
    citation to paste elsewhere is `hit.citation`). A date known in part shows as written."""
    a, p = hit.article, hit.passage
    where = ", ".join(x for x in (a.source, a.date or a.date_text) if x) or "unknown source"
    return (f"[{n if n is not None else hit.rank}] {a.title or '(untitled)'} \u2014 {where} "
            f"({p.doc_id}, chars {p.char_start}\u2013{p.char_end})")


def marked_text(hit: Hit, left: str = "\u00bb", right: str = "\u00ab") -> str:
    """The passage text with the highlighted sentence wrapped in markers."""
    p = hit.passage
    if hit.highlight is None:
        return p.text
    s, e = hit.highlight[0] - p.char_start, hit.highlight[1] - p.char_start
    return p.text[:s] + left + p.text[s:e] + right + p.text[e:]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` without terminal control characters (ESC sequences, bidi overrides, C1 controls):
    article text must not move the cursor, recolour or retitle the reader's terminal."""
    return _CONTROL.sub("", text)


def format_hits(question: str, hits: list[Hit]) -> str:
    """Human output of `qa ask`: ranked passages, each with its citation (terminal-safe)."""
    return terminal_safe(_format_hits(question, hits))


def _format_hits(question: str, hits: list[Hit]) -> str:
    lines = [f"Q: {question}", ""]
    if not hits:
        lines.append("No passage found.")
    for h in hits:
        score_bits = ", ".join(f"{k} {v:.3f}" for k, v in h.scores.items())
        lines.append(f"{citation(h)}  score {h.score:.4f} ({score_bits})")
        if h.more_in_article:
            lines.append(f"    +{h.more_in_article} more matching passage{'s' if h.more_in_article > 1 else ''} "
                         "in this article")
        for other in h.also_reported_by:
            lines.append(f"    also reported by {other.get('source') or other['doc_id']} ({other['doc_id']})")
        lines.append("    " + marked_text(h).replace("\n", "\n    "))
        if h.answer is not None:  # the words the reading model points at
            lines.append(f"    Reader's answer: {' '.join(h.answer_text.split())}")
        lines.append(f"    Cite: {h.citation}")
        lines.append("")
    return "\n".join(lines)
