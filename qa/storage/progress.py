"""One progress bar over a whole build: chunking, embedding and writing on one scale.

The caller's `progress(done, total)` sees units of "one passage embedded": embedding each passage
advances the bar by one, and chunking before it and writing after it (sentence splitting and
word-piece counts; tables, the vector store, BM25) are given the share of the build they take
when everything is embedded (the build profile of bench/bench_index.py: SciFact and TIME spend
~95% of `qa index` in the model). So the bar's rate and ETA hold for the whole build. Until the
passages are counted, their number is estimated from the articles' length.
"""

from __future__ import annotations

from typing import Callable, Sequence

from qa.types import Article

Progress = Callable[[int, int], None]  # (done, total) units of the whole build

CHUNK_SHARE = 0.03  # of a build that embeds everything (bench/RESULTS.md, issue 14 profile)
WRITE_SHARE = 0.03
CHARS_PER_PASSAGE = 400  # to estimate the passages of a corpus before it is chunked


class BuildProgress:
    """Maps the stages of one build onto the caller's `progress(done, total)`."""

    def __init__(self, progress: Progress | None, articles: Sequence[Article]):
        self.progress = progress
        self.embed_units = max(1, sum(len(a.body) for a in articles) // CHARS_PER_PASSAGE)
        self.done = 0

    @property
    def total(self) -> int:
        return max(1, round(self.embed_units / (1 - CHUNK_SHARE - WRITE_SHARE)))

    def _emit(self, done: float) -> None:
        self.done = min(max(self.done, int(done)), self.total)
        if self.progress:
            self.progress(self.done, self.total)

    def chunked(self, fraction: float) -> None:
        """`fraction` of the articles chunked."""
        self._emit(CHUNK_SHARE * self.total * fraction)

    def to_embed(self, n: int) -> None:
        """The passages to embed are known: the bar's total becomes exact."""
        self.embed_units = max(1, n)
        self._emit(CHUNK_SHARE * self.total)

    def embedded(self, done: int, _total: int = 0) -> None:
        """`done` passages embedded (a `Progress` for the embedding loop)."""
        self._emit(CHUNK_SHARE * self.total + done)

    def written(self, fraction: float) -> None:
        """`fraction` of the writing done; 1.0 ends the bar."""
        start = CHUNK_SHARE * self.total + self.embed_units
        self._emit(self.total if fraction >= 1 else start + (self.total - start) * fraction)
