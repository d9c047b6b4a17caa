"""Passage and sentence vectors pooled from article windows: each word piece read once.

Embedding every passage on its own reads the title line and the overlap sentence again for each
passage (TIME: 442 k word pieces for 326 k of text). Here an article is read once instead: its
body is cut into consecutive windows, each read with the (truncated) title line at its head, and

- a passage's vector is the weighted mean of the states of its own tokens and of the title
  tokens of the window that holds its first token (the title stays part of what a passage means,
  as when the passage was embedded behind the title line). Its tokens count 1, except the tail it
  shares with the next passage (the overlap sentence) when that is read in the next passage's
  window, in that passage's context: those count `SHARED_WEIGHT` (one half);
- a sentence's vector is the mean of its tokens' states.

Overlapping passages share token states: nothing is read twice. A window starts where the
previous one ended and ends at the first passage start after it, so that a window is about one
passage (passages read in a window of several others drift towards the article's mean and are
told apart less well; measured in bench/RESULTS.md), unless that is more than `window_tokens`
word pieces away: then at the last sentence start within them, or inside a sentence longer than
that at its last word start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.embedders.base import normalize_rows

Span = tuple[int, int]
WINDOW_TOKENS = 128  # default window length, in word pieces of body text (title line not counted)
# What a passage's tail shared with the next passage counts in its vector when it is read in the
# next passage's window (bench/RESULTS.md: 1 blurs neighbours, 0 drops the tail; 0.25-0.5 best)
SHARED_WEIGHT = 0.5


@dataclass(frozen=True)
class ArticleText:
    """One article to read: the title line at the head of each window ("" for none), the body,
    where windows may end (passage starts, then sentence starts: character offsets), and the
    (start, end) body character spans whose vectors are wanted: passages and sentences."""

    title: str
    body: str
    passage_starts: list[int]
    sentence_starts: list[int]
    passages: list[Span]
    sentences: list[Span]


@dataclass(frozen=True)
class Window:
    article: int  # position in the list read
    start: int  # body characters [start, end) read in this window
    end: int
    text: str  # title line + body[start:end]
    prefix: int  # characters before the body part (the title line)


def cut_windows(n_body: int, token_starts: np.ndarray, word_start: np.ndarray, passage_starts: list[int],
                sentence_starts: list[int], budget: int) -> list[Span]:
    """Body character ranges of consecutive windows of at most `budget` word pieces each.

    Args:
        n_body: characters in the body.
        token_starts: the body tokens' first characters, ascending.
        word_start: per token, whether it begins a word (a cut never splits a word).
        passage_starts, sentence_starts: characters where a window prefers to end.
        budget: most word pieces in a window (at least 1).
    """
    n = len(token_starts)
    if n == 0:
        return [(0, n_body)] if n_body else []
    passage_cuts = np.unique(np.searchsorted(token_starts, passage_starts))
    sentence_cuts = np.unique(np.searchsorted(token_starts, sentence_starts))
    spans: list[Span] = []
    pos = 0
    while pos < n:
        limit = pos + budget
        ahead = passage_cuts[passage_cuts > pos]
        if len(ahead) and ahead[0] <= min(limit, n):
            end = int(ahead[0])
        elif limit >= n:
            end = n
        else:
            ok = sentence_cuts[(sentence_cuts > pos) & (sentence_cuts <= limit)]
            if len(ok):
                end = int(ok[-1])
            else:
                words = np.flatnonzero(word_start[pos + 1:limit + 1])
                end = pos + 1 + int(words[-1]) if len(words) else limit
        spans.append((0 if not spans else int(token_starts[pos]), n_body if end >= n else int(token_starts[end])))
        pos = end
    return spans


def plan_windows(items: list[ArticleText], tokenizer, window_tokens: int, max_tokens: int) -> list[Window]:
    """The windows of every article. `tokenizer` is a `tokenizers.Tokenizer` that does not truncate;
    a window's body part is at most `window_tokens` word pieces and the whole window (title line
    and the two special tokens included) at most `max_tokens`."""
    bodies = tokenizer.encode_batch([it.body for it in items])
    titles = tokenizer.encode_batch([it.title for it in items])
    out: list[Window] = []
    for a, (it, enc, tenc) in enumerate(zip(items, bodies, titles)):
        real = np.asarray(enc.special_tokens_mask) == 0
        starts = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)[real, 0]
        words = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)[real]
        word_start = np.ones(len(starts), dtype=bool)
        word_start[1:] = words[1:] != words[:-1]
        title_cost = int((np.asarray(tenc.special_tokens_mask) == 0).sum())
        budget = max(1, min(window_tokens, max_tokens - 2 - title_cost))
        head = it.title + "\n" if it.title else ""
        for s, e in cut_windows(len(it.body), starts, word_start, it.passage_starts, it.sentence_starts, budget):
            out.append(Window(a, s, e, head + it.body[s:e], len(head)))
    return out


def pool_articles(embedder, items: list[ArticleText], window_tokens: int = WINDOW_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of every item's passages and sentences, each article read once in windows.

    `embedder` gives token states (`token_states`, `window_tokenizer`, `dim`, `max_tokens`: the
    ONNX embedder). Returns (passages, dim) and (sentences, dim), item by item in the order given.
    A span no token falls in (whitespace only) gets its article's mean window vector.
    """
    dim = embedder.dim
    p_first = np.concatenate([[0], np.cumsum([len(it.passages) for it in items])]).astype(np.int64)
    s_first = np.concatenate([[0], np.cumsum([len(it.sentences) for it in items])]).astype(np.int64)
    p_sum = np.zeros((int(p_first[-1]), dim), dtype=np.float64)
    p_title = np.zeros((int(p_first[-1]), dim), dtype=np.float64)
    s_sum = np.zeros((int(s_first[-1]), dim), dtype=np.float64)
    fallback = np.zeros((len(items), dim), dtype=np.float64)
    p_arr = [np.asarray(it.passages, dtype=np.int64).reshape(-1, 2) for it in items]
    s_arr = [np.asarray(it.sentences, dtype=np.int64).reshape(-1, 2) for it in items]
    windows = plan_windows(items, embedder.window_tokenizer(), window_tokens, embedder.max_tokens)
    following = [np.append(p[1:, 0], np.iinfo(np.int64).max) for p in p_arr]  # next passage's start
    for rows, encs, pooled, states in embedder.token_states([w.text for w in windows]):
        for r, (j, enc) in enumerate(zip(rows, encs)):
            w = windows[j]
            offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
            real = (np.asarray(enc.special_tokens_mask) == 0) & (offsets[:, 1] > offsets[:, 0])
            h = states[r, :len(offsets)].astype(np.float64)
            body = real & (offsets[:, 0] >= w.prefix)
            title = real & (offsets[:, 0] < w.prefix)
            pos = offsets[body, 0] - w.prefix + w.start  # the body character each body token starts at
            cum = np.vstack([np.zeros((1, dim)), np.cumsum(h[body], axis=0)])
            fallback[w.article] += pooled[r]
            held = _add_spans(p_arr[w.article], w, pos, cum, p_sum, int(p_first[w.article]), following[w.article])
            if title.any():  # a passage starting in this window takes its title tokens
                starts_here = held[(p_arr[w.article][held - p_first[w.article], 0] >= w.start)]
                p_title[starts_here] = h[title].sum(0)
            _add_spans(s_arr[w.article], w, pos, cum, s_sum, int(s_first[w.article]))
    for sums, first in ((p_sum, p_first), (s_sum, s_first)):
        empty = ~sums.any(axis=1)
        if empty.any():
            sums[empty] = fallback[np.repeat(np.arange(len(items)), np.diff(first))[empty]]
    return normalize_rows((p_sum + p_title).astype(np.float32)), normalize_rows(s_sum.astype(np.float32))


def _add_spans(spans: np.ndarray, w: Window, pos: np.ndarray, cum: np.ndarray, sums: np.ndarray,
               base: int, following: np.ndarray | None = None) -> np.ndarray:
    """Add the window's token states to the sums of the (start, end) `spans` (ascending starts and
    ends) it holds tokens of; returns the rows of `sums` it added to.

    With `following` (passages: where the span after each starts), a span's tokens count 1 when
    the window starts before the next span does (its own reading), else `SHARED_WEIGHT` (the tail
    it shares with the next passage, read in that passage's window)."""
    if not len(spans):
        return np.zeros(0, dtype=np.int64)
    k_lo = int(np.searchsorted(spans[:, 1], w.start, side="right"))  # first span ending after the start
    k_hi = int(np.searchsorted(spans[:, 0], w.end, side="left"))  # spans starting before the end
    if k_hi <= k_lo:
        return np.zeros(0, dtype=np.int64)
    lo = np.searchsorted(pos, spans[k_lo:k_hi, 0])
    hi = np.searchsorted(pos, spans[k_lo:k_hi, 1])
    some = hi > lo
    k = np.arange(k_lo, k_hi)[some]
    added = cum[hi[some]] - cum[lo[some]]
    if following is not None:
        added *= np.where(w.start < following[k], 1.0, SHARED_WEIGHT)[:, None]
    sums[base + k] += added
    return base + k
