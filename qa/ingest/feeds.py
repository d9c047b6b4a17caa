"""RSS 2.0 and Atom feed files -> one `Article` per item, with feedparser.

Each item gives its title, link (`url`), published (else updated) date, author (`byline`), the
feed's title as `source`, and a body from its content or its summary/description with the markup
removed (paragraphs kept). An item's `doc_id` is the feed file's stem and a short hash of its
guid/id (else its link), so re-reading a feed that gained or lost items gives every item the id
it had before. A bad item is reported as `path:item N` and the other items are read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from qa.errors import BadInput
from qa.ingest.limits import title_from_text
from qa.types import Article

FEED_EXTS = {".rss", ".atom", ".xml"}  # an .xml file is read when it is a feed, reported when not
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
               "pre", "tr", "table", "section", "article", "header", "footer", "figure", "figcaption",
               "hr", "dd", "dt", "aside", "main"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "object"}


def read_feed(data: bytes, path: Path, problems: list[tuple[str, str]],
              to_iso: Callable[[str], str] | None = None) -> list[tuple[str, Article]]:
    """("path:item N", Article) of each readable item of an RSS or Atom feed; an unreadable item
    is appended to `problems` as ("path:item N", reason).

    Args:
        data: the file's bytes (feedparser reads the XML encoding declaration itself).
        to_iso: turns a free-form date into ISO YYYY-MM-DD or "" (the reader's date parser).

    Raises:
        BadInput: the file is not a feed, or a feed without items.
    """
    import feedparser

    # Bytes, never a str: feedparser fetches a str that looks like a URL.
    try:
        parsed = feedparser.parse(bytes(data), sanitize_html=True, resolve_relative_uris=False)
    except (ValueError, LookupError, UnicodeError) as e:  # e.g. a NUL inside the encoding declaration
        raise BadInput(f"not a readable RSS or Atom feed ({type(e).__name__}: {e}); check that the file "
                       "is a whole, uncorrupted feed") from None
    if not parsed.get("version"):
        if parsed.get("bozo") and not parsed.entries:
            raise BadInput(f"not an RSS or Atom feed: not well-formed XML ({parsed.get('bozo_exception')})")
        root = _root_element(data)
        raise BadInput(f"not an RSS or Atom feed (root element {root or 'none'}); qa reads .rss, .atom "
                       "and .xml files as feeds: <rss> or Atom <feed>")
    if not parsed.entries:
        raise BadInput("the feed has no items")
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _harmless_bozo()):
        problems.append((str(path), f"the feed is not well-formed ({parsed.get('bozo_exception')}); "
                                    f"read the {len(parsed.entries)} item(s) found before the fault"))
    source = _plain(parsed.feed.get("title", ""), parsed.feed.get("title_detail", {}).get("type", ""))
    out: list[tuple[str, Article]] = []
    for n, entry in enumerate(parsed.entries, 1):
        where = f"{path}:item {n}"
        try:
            out.append((where, entry_article(entry, path, source, to_iso)))
        except BadInput as e:
            problems.append((where, str(e)))
    return out


def entry_article(entry: dict, path: Path, source: str = "",
                  to_iso: Callable[[str], str] | None = None) -> Article:
    """One feed item as an Article (see `read_feed`).

    Raises:
        BadInput: the item has neither content nor a summary/description.
    """
    body = _entry_body(entry)
    if not body:
        raise BadInput("the item has no text (no content, summary or description)")
    key = entry.get("id") or entry.get("link") or ""
    if not key:  # no guid and no link: the item's own text is what stays the same across reads
        key = "\x1f".join([entry.get("title", ""), entry.get("published", entry.get("updated", "")), body])
    doc_id = f"{path.stem}-{hashlib.sha1(key.encode('utf-8', 'replace')).hexdigest()[:12]}"
    title = _plain(entry.get("title", ""), entry.get("title_detail", {}).get("type", ""))
    title = re.sub(r"\s+", " ", title).strip()
    author = (entry.get("author_detail") or {}).get("name") or entry.get("author") or ""
    return Article(
        doc_id=doc_id, title=title or title_from_text(body, doc_id), body=body,
        source=source or author, date=entry_date(entry, to_iso), url=_web_link(entry),
        byline=author.strip(), path=str(path))


def entry_date(entry: dict, to_iso: Callable[[str], str] | None = None) -> str:
    """ISO date of an item: published, else updated; the date as the publisher wrote it (its own
    time zone), not converted to UTC, so an item of 01:30 Moscow time keeps its day."""
    for key in ("published", "updated", "created"):
        raw = (entry.get(key) or "").strip()
        if not raw:
            continue
        for parse in (parsedate_to_datetime, lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))):
            try:
                return parse(raw).date().isoformat()
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        parsed = entry.get(f"{key}_parsed")
        if parsed and _states(raw, parsed.tm_year, parsed.tm_mday):
            return f"{parsed.tm_year:04d}-{parsed.tm_mon:02d}-{parsed.tm_mday:02d}"
        iso = to_iso(raw) if to_iso else ""
        if iso:
            return iso
    return ""


def _states(raw: str, year: int, day: int) -> bool:
    """Whether `raw` itself holds feedparser's year (four digits) and day. Its ISO 8601 reader
    fills in what a value leaves out from today ("10:30" is today, "--06-11" this year, "21-06-11"
    this century) or with 1 ("2021-06" is June 1): such a date is not the item's."""
    numbers = set(re.findall(r"\d+", raw))
    return str(year) in numbers and (str(day) in numbers or f"{day:02d}" in numbers)


def _web_link(entry: dict) -> str:
    """The item's link when it is a web address (feedparser falls back to an Atom id such as
    "urn:uuid:..." when an entry has no link)."""
    link = (entry.get("link") or "").strip()
    return link if re.match(r"https?://", link, re.I) else ""


def _entry_body(entry: dict) -> str:
    """The longest of the item's content parts, else its summary/description, as plain text."""
    bodies = [_plain(c.get("value", ""), c.get("type", "")) for c in entry.get("content") or []]
    bodies = [b for b in bodies if b]
    if bodies:
        return max(bodies, key=len)
    return _plain(entry.get("summary", ""), entry.get("summary_detail", {}).get("type", "text/html"))


def _plain(value: str, mime: str) -> str:
    """Text of a feed value: markup removed when it is HTML, paragraphs kept, spaces folded."""
    value = value or ""
    if "html" in (mime or "") or re.search(r"</?[a-zA-Z][^>]*>|&[#\w]+;", value):
        extractor = _TextExtractor()
        extractor.feed(value)
        extractor.close()
        value = extractor.text()
    paras = [re.sub(r"[ \t\u00a0\r\f\v]+", " ", p).strip() for p in value.split("\n")]
    return "\n\n".join(p for p in paras if p)


class _TextExtractor(HTMLParser):
    """Text of an HTML fragment; block elements end a line, scripts and styles are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data.replace("\n", " "))

    def text(self) -> str:
        return "".join(self.parts)


def _root_element(data: bytes) -> str:
    """The first element's name of an XML document ("<urlset>"), or ""."""
    m = re.search(rb"<([A-Za-z_][\w:.\-]*)", re.sub(rb"<[?!][^>]*>", b"", data[:65536]))
    return f"<{m.group(1).decode('ascii', 'replace')}>" if m else ""


def _harmless_bozo() -> tuple[type, ...]:
    """feedparser's notes that are not faults in the text: a declared encoding it overrode, or a
    content type it could not check (a file has none)."""
    import feedparser

    return tuple(getattr(feedparser, name) for name in
                 ("CharacterEncodingOverride", "NonXMLContentType") if hasattr(feedparser, name))
