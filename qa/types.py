"""The typed records that flow through every stage: Article -> Passage -> Hit.

A `Passage` carries `doc_id`, `char_start` and `char_end` into its article's body, so a citation
survives chunking, embedding, fusion and reranking without ever matching text again.
"""

from __future__ import annotations

import re
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
        # the later fields join the hash only when set, so an article without them keeps the hash
        # (and a blank id the `doc-<hash>` id) it had before they existed; with them, a re-read
        # that finds a date_text or language updates the stored article
        later = (self.date_text, self.language, ",".join(map(str, self.pages)))
        return content_hash(self.title, self.body, self.source, self.date, *(later if any(later) else ()))

    @property
    def place(self) -> str:
        """The dateline's place ("MOSCOW, June 11. /TASS/." -> "Moscow"), or ""."""
        head = re.split(r"[,(/\u2013\u2014]| - ", self.dateline, maxsplit=1)[0].strip(" .:-")
        if not head or len(head) > 40 or any(c.isdigit() for c in head):
            return ""
        return head.title() if head.isupper() else head

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
    answer: tuple[int, int] | None = None  # body offsets of the words the reading model points at

    @property
    def doc_id(self) -> str:
        return self.passage.doc_id

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def page(self) -> int | None:
        """The page of a paged source (PDF) the passage starts on; None for unpaged articles."""
        return self.article.page_at(self.passage.char_start)

    @property
    def citation(self) -> str:
        """A citation to paste elsewhere: `“Title”, Source, Place, date, p. N. URL`.

        The date is the ISO date, else the date as written when only part of it is known
        ("June 11"), else "undated"; place (the dateline's), page and URL only when known.
        """
        a = self.article
        title = " ".join(a.title.split()) or "(untitled)"
        parts = [f"\u201c{title}\u201d", " ".join(a.source.split()), a.place,
                 a.date or " ".join(a.date_text.split()) or "undated"]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        out = ", ".join(x for x in parts if x) + "."
        url = a.url.strip()
        return f"{out} {url}" if url and not any(c.isspace() for c in url) else out

    @property
    def answer_text(self) -> str:
        """The words the reading model points at ("" when it pointed at none)."""
        if self.answer is None:
            return ""
        p = self.passage
        return p.text[self.answer[0] - p.char_start:self.answer[1] - p.char_start]

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
            **({"date_text": a.date_text} if a.date_text else {}),
            "url": a.url,
            **({"page": self.page} if self.page is not None else {}),
            "char_start": p.char_start,
            "char_end": p.char_end,
            "text": p.text,
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
        }
        if self.highlight is not None:
            d["highlight"] = {"char_start": self.highlight[0], "char_end": self.highlight[1]}
        if self.answer is not None:
            d["answer"] = {"char_start": self.answer[0], "char_end": self.answer[1], "text": self.answer_text}
        d["also_reported_by"] = [dict(x) for x in self.also_reported_by]
        d["more_in_article"] = self.more_in_article
        d["citation"] = self.citation
        return d
