"""The typed records that flow through every stage: Article -> Passage -> Hit.

A `Passage` carries `doc_id`, `char_start` and `char_end` into its article's body, so a citation
survives chunking, embedding, fusion and reranking without ever matching text again.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any

from qa.hashing import content_hash


@dataclass(frozen=True)
class Article:
    """One news article as a reader sees it.

    `body` is the text that passages are sliced from; `title` is kept apart and never part of
    the cited text. `date` is an ISO date (YYYY-MM-DD) or "" when unknown; `date_text` keeps a
    date known only in part ("June 11": no year) for display, never an invented year.
    `language` is an ISO 639-1 code ("en", "ru") or "" when unknown. `pages` holds the body offset
    where each page of a paged source (PDF) starts, so a passage's page is known from its offset.
    """

    doc_id: str
    title: str
    body: str
    source: str = ""
    date: str = ""
    url: str = ""
    dateline: str = ""
    byline: str = ""
    path: str = ""
    date_text: str = ""
    language: str = ""
    pages: tuple[int, ...] = ()

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.body, self.source, self.date)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def page_at(self, char: int) -> int | None:
        """The 1-based page that body offset `char` falls on, or None for an unpaged article."""
        if not self.pages:
            return None
        return bisect_right(self.pages, char) or 1

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Article":
        kw: dict[str, Any] = {k: d.get(k, "") for k in cls.__dataclass_fields__}
        kw["pages"] = tuple(int(x) for x in (d.get("pages") or ()))
        return cls(**kw)


@dataclass(frozen=True)
class Passage:
    """A sentence-aligned span of an article body: `body[char_start:char_end] == text`."""

    passage_id: str
    doc_id: str
    text: str
    char_start: int
    char_end: int
    ordinal: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Passage":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Hit:
    """A ranked passage with its article's citation fields and why it ranked."""

    rank: int
    score: float
    passage: Passage
    article: Article
    scores: dict[str, float] = field(default_factory=dict)
    highlight: tuple[int, int] | None = None
    also_reported_by: tuple[dict[str, Any], ...] = ()
    more_in_article: int = 0  # other matching passages of this article not shown on their own

    @property
    def doc_id(self) -> str:
        return self.passage.doc_id

    @property
    def text(self) -> str:
        return self.passage.text

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `qa ask --json` (one element of "hits")."""
        p, a = self.passage, self.article
        d: dict[str, Any] = {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": p.doc_id,
            "passage_id": p.passage_id,
            "title": a.title,
            "source": a.source,
            "date": a.date,
            "url": a.url,
            "char_start": p.char_start,
            "char_end": p.char_end,
            "text": p.text,
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
        }
        if self.highlight is not None:
            d["highlight"] = {"char_start": self.highlight[0], "char_end": self.highlight[1]}
        d["also_reported_by"] = [dict(x) for x in self.also_reported_by]
        d["more_in_article"] = self.more_in_article
        return d
