"""Filter and Selection: the value objects a question's metadata filter travels in.

A `Filter` says what articles a question may match (a source substring, an inclusive ISO date
range); a `Selection` is the passage rows one index allows under it, carrying the filter too.
Each store translates a selection its own way: FAISS into a bitmap selector over the rows,
Milvus into a filter expression over its scalar fields, BM25 into a row mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from qa.errors import BadInput


def parse_iso_date(value: str | None, name: str) -> str | None:
    """`value` as a canonical ISO date, or None when empty.

    Raises:
        BadInput: not a real YYYY-MM-DD date (the message names the bound: the CLI's --since /
            --until, the API's and Python's since / until).
    """
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise BadInput(f"the {name} date must be an ISO date like 2021-06-11 (--{name} in the CLI, "
                       f"{name} in the API), got {value!r}") from None


@dataclass(frozen=True)
class Filter:
    """Articles whose source contains `source` (case-insensitive) and whose date lies in
    [since, until]; an undated article never passes a date bound."""

    source: str = ""
    since: str | None = None
    until: str | None = None

    @classmethod
    def of(cls, source: str | None = None, since: str | None = None,
           until: str | None = None) -> "Filter":
        """A checked filter from user input ("" and None mean no bound).

        Raises:
            BadInput: a source that is not a string, a date that is not YYYY-MM-DD, `since`
                after `until`.
        """
        if source is not None and not isinstance(source, str):
            raise BadInput(f"source must be a string (part of a source's name), got {source!r}")
        lo, hi = parse_iso_date(since, "since"), parse_iso_date(until, "until")
        if lo and hi and lo > hi:  # else "no article matches", which hides the swap
            raise BadInput(f"the since date {lo} is after the until date {hi}: no date can lie between "
                           f"them; swap them (since {hi}, until {lo}; --since/--until in the CLI)")
        return cls((source or "").strip(), lo, hi)

    @property
    def empty(self) -> bool:
        return not (self.source or self.since or self.until)

    @property
    def dated(self) -> bool:
        return bool(self.since or self.until)

    @property
    def needle(self) -> str:
        """The source substring as matched: lower-cased."""
        return self.source.lower()

    def source_ok(self, source: str) -> bool:
        return self.needle in source.lower()

    def date_ok(self, value: str) -> bool:
        return bool(value) and not ((self.since and value < self.since) or
                                    (self.until and value > self.until))

    def describe(self) -> str:
        return ", ".join(f"{n}={v!r}" for n, v in (("source", self.source), ("since", self.since),
                                                   ("until", self.until)) if v)


@dataclass(frozen=True)
class Selection:
    """The sorted passage rows a `Filter` allows in one index."""

    rows: np.ndarray
    filter: Filter

    def __len__(self) -> int:
        return len(self.rows)
