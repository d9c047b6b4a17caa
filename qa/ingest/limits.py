"""Field limits for ingested articles: ids made safe, over-long metadata cut, each change named.

A record's metadata (title, source, url, byline, dateline) is short in real news; a field of
megabytes is a mistake or an attack, and every later stage would carry it (filters, the UI's
source list, each hit). Over-long values are cut at a limit and reported per record; an id is
never empty (a blank id falls back to one made from the content) and never over-long (refused:
cutting ids would merge articles). A file without a title line gets one made from its first
sentence (or its name).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from qa.errors import BadInput
from qa.types import Article

MAX_ID_CHARS = 256
MAX_CHARS = {"title": 1000, "source": 200, "url": 2048, "byline": 300, "dateline": 300}
MADE_TITLE_CHARS = 120  # a title made from a sentence is cut near here, at a word boundary
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u00bb)]*\s+")


def clean_id(value: object) -> str:
    """An id as text: control and format characters dropped, white space folded and trimmed."""
    text = "".join(ch for ch in str(value) if unicodedata.category(ch) not in ("Cc", "Cf"))
    return re.sub(r"\s+", " ", text).strip()


def fit_fields(article: Article) -> tuple[Article, list[str]]:
    """`article` within the field limits, and one note per change made.

    Raises:
        BadInput: the id is longer than MAX_ID_CHARS (the record is refused).
    """
    notes: list[str] = []
    doc_id = clean_id(article.doc_id)
    if not doc_id:
        doc_id = f"doc-{article.content_hash}"
        notes.append(f"blank id; used {doc_id!r}")
    elif doc_id != article.doc_id:
        notes.append(f"id {article.doc_id[:40]!r} had control characters or extra spaces; used {doc_id[:40]!r}")
    if len(doc_id) > MAX_ID_CHARS:
        raise BadInput(f"id is {len(doc_id)} characters long; the limit is {MAX_ID_CHARS}")
    changes = {"doc_id": doc_id}
    for name, limit in MAX_CHARS.items():
        value = getattr(article, name)
        if len(value) > limit:
            changes[name] = value[:limit].rstrip()
            notes.append(f"{name} is {len(value)} characters long; kept the first {limit}")
    return replace(article, **changes), notes


def is_prose(text: str) -> bool:
    """True when `text` reads as running text (a sentence ends in it, or it is long), not as a
    lone title line."""
    return bool(re.search(r"[.!?\u2026][\"'\u201d\u00bb)]*(\s|$)", text)) or len(text.split()) > 25


def title_from_text(text: str, fallback: str) -> str:
    """A title for text that has none: its first sentence of four or more words (so a dateline
    such as "MOSCOW, June 11. /TASS/." is passed over), cut near MADE_TITLE_CHARS at a word
    boundary; `fallback` (the file name stem) when no sentence of the first few will do."""
    first = text.strip().split("\n", 1)[0]
    for sentence in _SENTENCE_END.split(first)[:4]:
        sentence = sentence.strip()
        if len(sentence.split()) >= 4 and sum(ch.isalpha() for ch in sentence) >= 12:
            if len(sentence) <= MADE_TITLE_CHARS:
                return sentence
            return sentence[:MADE_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:-\u2013\u2014") + "\u2026"
    return fallback
