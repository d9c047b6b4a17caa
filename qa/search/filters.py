"""Checks on what callers pass in (questions, k) and the passage rows a metadata filter allows.

Each failure raises `BadInput` with the bad value and what to pass instead.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from qa.errors import BadInput
from qa.storage.selection import Filter, Selection
from qa.storage.snapshot import IndexSnapshot

MAX_QUESTION_CHARS = 4000
MAX_K = 1000


def clean_question(question: object) -> str:
    """A question fit to search: a string, control characters removed, not blank, not huge.

    Raises:
        BadInput: not a string, empty after cleaning (or only U+FFFD, undecodable bytes), or
            longer than MAX_QUESTION_CHARS.
    """
    if not isinstance(question, str):
        raise BadInput(f"question must be a string, got {type(question).__name__}")
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in question)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise BadInput("question is empty; type a question such as "
                       "\"What did Russia propose on decarbonization?\"")
    if not cleaned.replace("\ufffd", "").strip():  # bytes that were not text, decoded as U+FFFD
        raise BadInput("question holds only undecodable bytes (shown as \ufffd); send it as UTF-8 text")
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


def select_rows(snap: IndexSnapshot, flt: Filter) -> Selection | None:
    """The passage rows `flt` allows in `snap`, or None when it filters nothing.

    Raises:
        BadInput: the filter matches no article (the message says which filter).
    """
    if flt.empty:
        return None
    rows = snap.allowed_rows(flt.source_ok if flt.source else None, flt.date_ok if flt.dated else None)
    if len(rows) == 0:
        sources = [s for s in snap.articles.source_values if s]
        raise BadInput(f"no article matches {flt.describe()} (sources here: {', '.join(sources) or 'none'})")
    return Selection(rows, flt)
