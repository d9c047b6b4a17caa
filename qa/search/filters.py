"""Checks on what callers pass in: questions, k, configuration names, dates, filters.

Each failure raises `BadInput` with the bad value and what to pass instead.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Sequence

import numpy as np

from qa.errors import BadInput

MAX_QUESTION_CHARS = 4000
MAX_K = 1000


def clean_question(question: object) -> str:
    """A question fit to search: a string, control characters removed, not blank, not huge.

    Raises:
        BadInput: not a string, empty after cleaning, or longer than MAX_QUESTION_CHARS.
    """
    if not isinstance(question, str):
        raise BadInput(f"question must be a string, got {type(question).__name__}")
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in question)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise BadInput("question is empty; type a question such as "
                       "\"What did Russia propose on decarbonization?\"")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise BadInput(f"question is {len(cleaned)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return cleaned


def check_k(k: object) -> int:
    """k as an int in 1..MAX_K."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise BadInput(f"k must be a whole number, got {k!r}")
    if k < 1:
        raise BadInput(f"k must be at least 1, got {k}")
    if k > MAX_K:
        raise BadInput(f"k must be at most {MAX_K}, got {k}")
    return int(k)


def check_config(config: str, known: Sequence[str]) -> str:
    if config not in known:
        raise BadInput(f"unknown configuration {config!r}; choose one of {', '.join(known)}")
    return config


def parse_iso_date(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise BadInput(f"--{name} must be an ISO date like 2021-06-11, got {value!r}") from None


class AllowedRows(np.ndarray):
    """Sorted passage rows a filter allows, carrying the filter itself (`filters`: lower-cased
    source substring, since, until) so a store that filters natively (Milvus) pushes it down."""

    filters: dict | None = None

    @classmethod
    def of(cls, rows: np.ndarray, filters: dict) -> "AllowedRows":
        out = np.asarray(rows, dtype=np.int64).view(cls)
        out.filters = filters
        return out

    def __array_finalize__(self, obj) -> None:
        self.filters = None  # a slice or copy is another set of rows: it falls back to the row list


def filter_rows(index, source: str | None, since: str | None, until: str | None) -> np.ndarray | None:
    """Passage rows allowed by the metadata filters, or None when there is no filter.

    Raises:
        BadInput: the filters match no article (the message says which filter).
    """
    since, until = parse_iso_date(since, "since"), parse_iso_date(until, "until")
    src = (source or "").strip().lower()
    if not (src or since or until):
        return None

    def source_ok(source: str) -> bool:
        return src in source.lower()

    def date_ok(date: str) -> bool:  # an undated article never passes a date filter
        return bool(date) and not ((since and date < since) or (until and date > until))

    rows = AllowedRows.of(index.allowed_rows(source_ok if src else None, date_ok if (since or until) else None),
                          {"source": src, "since": since, "until": until})
    if len(rows) == 0:
        what = ", ".join(f"{n}={v!r}" for n, v in (("source", source), ("since", since), ("until", until)) if v)
        sources = [s for s in index.articles.source_values if s]
        raise BadInput(f"no article matches {what} (sources here: {', '.join(sources) or 'none'})")
    return rows
