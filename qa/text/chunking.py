"""Article -> [Passage]: sentence-aware, token-bounded, with offsets into the article body.

Every passage satisfies `article.body[p.char_start:p.char_end] == p.text`, and its word-piece
count (title prefix included) never exceeds the model's `max_seq_length`. Sentences are packed up
to a target length with a sentence of overlap; a sentence longer than the limit is cut at word
boundaries.
"""

from __future__ import annotations

import re
from typing import Iterable

from qa.settings import Settings
from qa.embedders.base import Embedder
from qa.text.sentences import split_sentences
from qa.types import Article, Passage


def _split_long(text: str, span: tuple[int, int], limit: int, embedder: Embedder) -> list[tuple[int, int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most `limit` tokens."""
    words = [(m.start() + span[0], m.end() + span[0]) for m in re.finditer(r"\S+", text[span[0]:span[1]])]
    counts = embedder.count_tokens([text[s:e] for s, e in words])
    pieces: list[tuple[int, int, int]] = []
    start, total, last_end = None, 0, 0
    for (s, e), n in zip(words, counts):
        if n > limit:  # one "word" longer than the limit (a URL, a hash): cut it by characters
            if start is not None:
                pieces.append((start, last_end, total))
                start, total = None, 0
            pieces.extend(_cut_chars(text, s, e, limit, embedder))
            continue
        if start is not None and total + n > limit:
            pieces.append((start, last_end, total))
            start, total = None, 0
        if start is None:
            start = s
        total += n
        last_end = e
    if start is not None:
        pieces.append((start, last_end, total))
    return pieces


def _cut_chars(text: str, s: int, e: int, limit: int, embedder: Embedder) -> list[tuple[int, int, int]]:
    out = []
    while s < e:
        piece = embedder.truncate(text[s:e], limit)
        end = s + max(1, len(piece))
        out.append((s, end, embedder.count_tokens([text[s:end]])[0]))
        s = end
    return out


def passage_budget(article: Article, embedder: Embedder, settings: Settings) -> int:
    """Word pieces left for passage text once special tokens and the title prefix are counted."""
    title_cost = 0
    if settings.embed_title and article.title:
        title_cost = min(embedder.count_tokens([article.title])[0], settings.title_tokens) + 1
    return max(16, embedder.max_tokens - 2 - title_cost)


def chunk_articles(articles: Iterable[Article], embedder: Embedder,
                   settings: Settings | None = None) -> list[Passage]:
    """Passages of many articles, in article order."""
    settings = settings or Settings()
    out: list[Passage] = []
    for art in articles:
        body = art.body
        limit = passage_budget(art, embedder, settings)
        target = min(settings.target_tokens, limit)
        sents = split_sentences(body)
        counts = embedder.count_tokens([body[s:e] for s, e in sents])
        units: list[tuple[int, int, int]] = []
        for (s, e), n in zip(sents, counts):
            units.extend(_split_long(body, (s, e), limit, embedder) if n > limit else [(s, e, n)])
        for i, (s, e) in enumerate(_pack(units, target, limit, settings.overlap_sentences)):
            out.append(Passage(passage_id=f"{art.doc_id}:{s}-{e}", doc_id=art.doc_id,
                               text=body[s:e], char_start=s, char_end=e, ordinal=i))
    return out


def _pack(units: list[tuple[int, int, int]], target: int, limit: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of sentence units into spans near `target` tokens, never over `limit`.

    A unit joins the current passage while the total stays within `target` (or the passage is
    empty). The next passage starts with the last `overlap` units of the previous one when they
    leave room for at least one new unit.
    """
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][2] <= target) and total + units[j][2] <= limit:
            total += units[j][2]
            j += 1
        spans.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        back = min(overlap, j - i - 1)
        while back > 0 and sum(u[2] for u in units[j - back:j + 1]) > target:
            back -= 1
        i = j - back
    return spans
