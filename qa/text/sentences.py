"""Sentence boundaries of news text, as character spans (the unit of chunking and highlighting)."""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "col", "lt", "sgt", "capt", "gov",
    "sen", "rep", "pres", "inc", "ltd", "co", "corp", "vs", "etc", "e.g", "i.e", "u.s", "u.k",
    "u.n", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "no", "fig", "approx", "dept", "est", "mt", "ft", "al", "cf", "vol", "pp", "ph.d", "a.m", "p.m",
}
# End punctuation, optional closing quotes/brackets, whitespace, then something a sentence starts with.
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u0400-\u042f])")
_MIN_SENTENCE_CHARS = 25


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` in `text`; paragraph breaks always end a sentence.

    Spans exclude surrounding whitespace. Sentences shorter than a datelines' worth of text
    ("MOSCOW, June 11. /TASS/.") are joined to the next one.
    """
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        p_start = para.start()
        seg_start = p_start
        for m in _BOUNDARY.finditer(para.group()):
            cut = p_start + m.start()
            word = re.search(r"(\S+)$", text[seg_start:cut + 1])
            prev = (word.group(1) if word else "").lower().rstrip(".!?").lstrip("\"'(\u201c")
            if prev in ABBREVIATIONS or re.fullmatch(r"[a-z]", prev):
                continue
            end = p_start + m.end()
            spans.append((seg_start, end))
            seg_start = end
        spans.append((seg_start, para.end()))
    spans = [_strip(text, s, e) for s, e in spans]
    spans = [(s, e) for s, e in spans if e > s]
    merged: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        s, e = spans[i]
        # A short piece joins the following sentence of the same paragraph.
        while e - s < _MIN_SENTENCE_CHARS and i + 1 < len(spans) and "\n" not in text[e:spans[i + 1][0]]:
            i += 1
            e = spans[i][1]
        merged.append((s, e))
        i += 1
    return merged


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
