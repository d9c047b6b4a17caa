"""Files and records -> `Article`s (title, source, date, body), with a per-file problem report.

Plain text and Markdown are parsed the way a reader sees a news page: boilerplate lines ("All
news", "About the author" and what follows) are dropped, the first line is the title, a byline
("Written by X") and a dateline ("MOSCOW, June 11. /TASS/." or "MOSCOW (TASS):") give source,
place and date (read by `qa.ingest.dates`: a date without a year is kept as written in
`date_text`, never completed). HTML goes through trafilatura. JSONL and CSV hold one article per
record. PDF and DOCX files (qa.ingest.documents) and RSS/Atom feeds (qa.ingest.feeds) are read
from their bytes.
Unreadable input never stops the run: it is reported per file with the reason.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path

from qa.errors import BadInput
from qa.ingest.dates import NO_DATE, ParsedDate, best_date, date_line, find_date, parse_date
from qa.ingest.decode import csv_rows, decode_bytes
from qa.ingest.documents import DOCUMENT_EXTS, read_document
from qa.ingest.feeds import FEED_EXTS, read_feed
from qa.ingest.limits import clean_id, fit_fields, is_prose, title_from_text
from qa.ingest.web import cite_saved_page, read_urls, split_urls
from qa.text.language import detect_language
from qa.types import Article

TEXT_EXTS = {".txt", ".md", ".markdown"}
HTML_EXTS = {".html", ".htm"}
RECORD_EXTS = {".jsonl", ".csv"}
SUPPORTED_EXTS = TEXT_EXTS | HTML_EXTS | RECORD_EXTS | DOCUMENT_EXTS | FEED_EXTS
MAX_FILE_BYTES = 512 * 1024 * 1024  # a records file (.jsonl/.csv) may be large
MAX_ARTICLE_BYTES = 4 * 1024 * 1024  # one article file: anything larger is not one article
MAX_PACKED_BYTES = 64 * 1024 * 1024  # a PDF/DOCX carries images and fonts; a feed many items

BOILERPLATE_LINES = {
    "all news", "news", "home", "menu", "share", "share this", "share this article", "print",
    "advertisement", "subscribe", "read more", "latest news", "top stories", "skip to content",
    "follow us", "comments", "related", "related articles", "tweet", "email",
}
FOOTER_STARTS = ("about the author", "related articles", "read also", "more from", "comments (")
_MONTH_RE = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATELINE_SLASH = re.compile(  # MOSCOW, June 11. /TASS/.
    rf"^(?P<place>[A-Z][A-Z .'\-]{{1,40}}),\s*(?P<date>{_MONTH_RE}\s+\d{{1,2}}(?:,\s*\d{{4}})?)\.?"
    r"\s*/(?P<agency>[^/\n]{2,40})/\.?")
_DATELINE_PAREN = re.compile(  # MOSCOW (TASS): / LONDON (Reuters) -
    r"^(?P<place>[A-Z][A-Z .'\-]{1,40}?)\s*\((?P<agency>[A-Za-z][\w .&'\-]{1,40})\)\s*[:\-\u2013\u2014]")
_DATELINE_DATE = re.compile(  # WASHINGTON, March 3, 2022 -
    rf"^(?P<place>[A-Z][A-Z .'\-]{{1,40}}),\s*(?P<date>{_MONTH_RE}\s+\d{{1,2}}(?:,\s*\d{{4}})?)\s*[:\-\u2013\u2014.]")
_DATELINE_ANY = re.compile(  # МОСКВА, 11 июня. /ТАСС/. -- any script, the date as written
    r"^(?P<place>[A-ZА-ЯЁ][A-ZА-ЯЁ .'\-]{1,40}),\s*(?P<date>[^/\n]{3,40}?)\.?\s*/(?P<agency>[^/\n]{2,40})/\.?")
_BYLINE = re.compile(r"^(?:written by|by|posted by|author:)\s+(?P<name>.{2,80})$", re.I)
_LATEST_PAGE_DATE = "2099-12-31"  # htmldate's plausibility bound for a page's date, fixed
_HEADER = re.compile(r"^(title|source|date|url|byline|author|dateline)\s*:\s*(.*)$", re.I)


@dataclass
class IngestReport:
    """What ingest produced and what it could not use, file by file."""

    articles: list[Article] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path or path:line, reason)
    files_read: int = 0
    pages_read: int = 0  # web pages fetched (qa.ingest.web)


def normalize_date(text: str) -> str:
    """ISO date (YYYY-MM-DD) from common news spellings, or "" when there is no full date."""
    return parse_date(text).iso


def parse_text(text: str, doc_id: str, path: str = "", markdown: bool = False) -> Article:
    """Parse a plain-text (or Markdown) news article into an `Article`.

    Raises:
        BadInput: when no body text remains after removing boilerplate.
    """
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    meta: dict[str, str] = {}
    # Optional "Key: value" header block (Title:, Source:, Date:, URL:) ended by a blank line.
    i = 0
    while i < len(lines) and lines[i] and _HEADER.match(lines[i]):
        key, val = _HEADER.match(lines[i]).groups()  # type: ignore[union-attr]
        meta[key.lower()] = val.strip()
        i += 1
    if meta:
        lines = lines[i:]
    kept: list[str] = []
    headed = False  # a Markdown file that opens with a heading says which line is its title
    for ln in lines:
        low = ln.lower().strip(" :|")
        if low.startswith(FOOTER_STARTS):
            break
        if low in BOILERPLATE_LINES:
            continue
        if markdown:
            headed = headed or (not any(kept) and bool(re.match(r"#{1,6}\s+", ln)))
            ln = re.sub(r"^#{1,6}\s+", "", ln)
        kept.append(ln)
    paras = [p for p in _paragraphs(kept)]
    dates = [parse_date(meta.get("date", ""))]
    for p in paras[:4]:  # a line that is only a date ("11 июня 2021", "Published: ...") is metadata
        found = date_line(p) if len(paras) > 1 else NO_DATE
        if found:
            dates.append(found)
            paras.remove(p)
    title = meta.get("title", "")
    if not title and paras and len(paras[0]) <= 300 and (len(paras) > 1 or headed or not is_prose(paras[0])):
        title = paras.pop(0)
    byline = meta.get("byline", meta.get("author", ""))
    for j, p in enumerate(paras[:3]):
        m = _BYLINE.match(p)
        if m:
            byline = m.group("name").strip()
            paras.pop(j)
            break
    byline, by_date = _split_byline(byline)
    body = "\n\n".join(paras).strip()
    if not body:
        raise BadInput("no article text after the title; expected a title line, then the body")
    source, dateline = meta.get("source", ""), meta.get("dateline", "")
    found_line, agency, line_date = _dateline(paras)
    dateline = dateline or found_line
    source = source or byline or agency
    when = best_date([*dates, parse_date(line_date), by_date])
    title = title or title_from_text(body, doc_id)  # one paragraph, no title line: the whole is body
    return Article(
        doc_id=doc_id, title=title, body=body, source=source, date=when.iso, date_text=when.text,
        url=meta.get("url", ""), dateline=dateline, byline=byline, path=path)


def _dateline(paras: list[str]) -> tuple[str, str, str]:
    """(dateline, agency, its date as written) of the first of `paras[:3]` that opens with one."""
    for p in paras[:3]:
        m = (_DATELINE_SLASH.match(p) or _DATELINE_PAREN.match(p) or _DATELINE_DATE.match(p)
             or _DATELINE_ANY.match(p))
        if m:
            return (m.group(0).rstrip(" :-\u2013\u2014").strip(), (m.groupdict().get("agency") or "").strip(),
                    m.groupdict().get("date") or "")
    return "", "", ""


def _split_byline(byline: str) -> tuple[str, ParsedDate]:
    """("Jane Doe", its date) of a byline that carries a date ("Jane Doe, June 11, 2021")."""
    found, (s, e) = find_date(byline) if any(c.isdigit() for c in byline) else (NO_DATE, (0, 0))
    if not found:
        return byline, NO_DATE
    name = byline[:s].strip(" ,;|-\u2013\u2014\u00b7") or byline[e:].strip(" ,;|-\u2013\u2014\u00b7")
    return name, found


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated paragraphs; single newlines inside news text also start paragraphs."""
    return [ln for ln in lines if ln]


def parse_html(html: str, doc_id: str, path: str = "") -> Article:
    """Main text and metadata of an HTML page via trafilatura."""
    import trafilatura

    # no extensive date search: it turns a "(c) 2021" footer into 2021-01-01, a day the page never
    # states; a fixed latest date, because htmldate's default (the end of today) refuses a page
    # dated after the day it is read, so the same page would get its date only from that day on
    params = {"extensive_search": False, "original_date": True, "max_date": _LATEST_PAGE_DATE}
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      date_extraction_params=params)
    if doc is None:
        raise BadInput("no main text found in the HTML page")
    get = (lambda k: getattr(doc, k, None)) if not isinstance(doc, dict) else doc.get
    body = (get("text") or "").strip()
    if not body:
        raise BadInput("no main text found in the HTML page")
    paras = [ln.strip() for ln in body.split("\n") if ln.strip()]
    dateline, agency, line_date = _dateline(paras)
    when = best_date([parse_date(get("date") or ""), parse_date(line_date)])
    return Article(
        doc_id=doc_id, title=(get("title") or "").strip(), body="\n\n".join(paras),
        source=(get("sitename") or get("author") or agency).strip(), date=when.iso, date_text=when.text,
        url=(get("url") or "").strip(), dateline=dateline, byline=(get("author") or "").strip(), path=path)


def record_to_article(rec: dict, fallback_id: str, path: str = "") -> Article:
    """One JSONL/CSV record (`id`, `title`, `text`, optional `source`, `date`, `url`)."""
    if not isinstance(rec, dict):
        raise BadInput(f"expected an object with 'id', 'title', 'text', got {type(rec).__name__}")
    text = rec.get("text", rec.get("body"))
    if not isinstance(text, str) or not text.strip():
        raise BadInput("missing or empty 'text' field")
    raw_id = rec.get("id") or rec.get("_id")
    doc_id = str(raw_id) if raw_id is not None and clean_id(raw_id) else fallback_id  # fit_fields cleans it
    paras = [ln.strip() for ln in text.replace("\r", "\n").split("\n") if ln.strip()]
    when = parse_date(str(rec.get("date") or ""))
    return Article(
        doc_id=doc_id, title=str(rec.get("title") or "").strip(), body="\n\n".join(paras),
        source=str(rec.get("source") or "").strip(), date=when.iso, date_text=when.text,
        url=str(rec.get("url") or "").strip(), path=path)


def read_records(path: Path, text: str, report: IngestReport) -> list[tuple[str, Article]]:
    """("path:line", Article) of each record of a JSONL or CSV file; bad records are reported
    with their line number."""
    out: list[tuple[str, Article]] = []
    if path.suffix.lower() == ".jsonl":
        # only "\n" ends a record: U+2028, U+0085 and friends are valid inside JSON strings
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                out.append((f"{path}:{n}", record_to_article(json.loads(line), f"{path.stem}-{n}", str(path))))
            except json.JSONDecodeError as e:
                report.problems.append((f"{path}:{n}", f"malformed JSON ({e.msg})"))
            except BadInput as e:
                report.problems.append((f"{path}:{n}", str(e)))
        return out
    reader = csv_rows(text, MAX_FILE_BYTES)  # an article body is one field
    try:
        cols = {(c or "").strip().lower() for c in (reader.fieldnames or [])}
        if "text" not in cols:
            report.problems.append((str(path), f"CSV needs a 'text' column (has: {sorted(cols) or 'none'})"))
            return out
        for row in reader:
            n = reader.line_num
            row = {(k or "").strip().lower(): v for k, v in row.items() if isinstance(k, str)}
            try:
                out.append((f"{path}:{n}", record_to_article(row, f"{path.stem}-{n}", str(path))))
            except BadInput as e:
                report.problems.append((f"{path}:{n}", str(e)))
    except csv.Error as e:
        report.problems.append((f"{path}:{reader.line_num}", f"malformed CSV ({e}); the rows before it were read"))
    return out


def iter_files(paths: list[str | Path], report: IngestReport,
               exclude: list[str | Path] = ()) -> list[Path]:
    """Supported files under `paths` (folders recursively), sorted; missing paths reported.
    Files under an `exclude` folder (the index being written) are left out."""
    found: list[Path] = []
    skip = [Path(x).resolve() for x in exclude]
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUPPORTED_EXTS and not f.name.startswith(".") \
                        and not any(s in f.resolve().parents for s in skip) and _utf8_name(f, report):
                    found.append(f)
        elif p.is_file():
            if p.suffix.lower() in SUPPORTED_EXTS:
                if _utf8_name(p, report):
                    found.append(p)
            else:
                report.problems.append((str(p), f"unsupported file type {p.suffix or '(none)'!r}; "
                                        f"use one of {', '.join(sorted(SUPPORTED_EXTS))}"))
        elif p.exists():  # a pipe, a device or a socket: reading it could block or never end
            report.problems.append((str(p), "not a regular file or folder (a pipe, device or socket); "
                                    "save its content to a file and index that"))
        else:
            report.problems.append((str(p), "no such file or folder"))
    return found


def _utf8_name(f: Path, report: IngestReport) -> bool:
    """True when `f`'s path is UTF-8 text; else the file is reported (its path and id could not
    be written to the index's UTF-8 tables: the whole build failed on them)."""
    try:
        str(f).encode("utf-8")
        return True
    except UnicodeEncodeError:
        shown = str(f).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        report.problems.append((shown, "the file name is not UTF-8 text (an old archive's encoding?); "
                                       "rename it, e.g. convmv -f latin1 -t utf8 --notest FILE"))
        return False


def ingest(paths: list[str | Path], exclude: list[str | Path] = ()) -> IngestReport:
    """Read every supported file under `paths` (but not under `exclude`), and fetch every URL
    among them (qa.ingest.web), into articles; never raises on a bad file or URL.

    Duplicate `doc_id`s keep the first article and report the later ones.
    """
    report = IngestReport()
    seen: dict[str, str] = {}
    urls, paths = split_urls(paths)  # http(s) pages are fetched, then read like an HTML file
    files = ((f, _read_file(f, report)) for f in iter_files(paths, report, exclude))
    for f, pairs in chain(files, [("", read_urls(urls, report, parse_html))]):
        report.files_read += bool(f)
        for where, art in pairs:
            try:
                art, notes = fit_fields(art)
            except BadInput as e:
                report.problems.append((where, str(e)))
                continue
            report.problems.extend((where, note) for note in notes)
            if not art.language:  # a file format may know it; else it is detected from the text
                art = replace(art, language=detect_language(f"{art.title}\n{art.body}"))
            if art.doc_id in seen:
                report.problems.append((art.path or where, f"duplicate doc_id {art.doc_id!r} "
                                        f"(already from {seen[art.doc_id]}); kept the first"))
                continue
            seen[art.doc_id] = art.path or where
            report.articles.append(art)
    return report


def _read_file(f: Path, report: IngestReport) -> list[tuple[str, Article]]:
    try:
        size = f.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadInput(f"file is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit")
        if size == 0:
            raise BadInput("empty file")
        ext = f.suffix.lower()
        if ext in DOCUMENT_EXTS | FEED_EXTS:
            return _read_packed(f, ext, size, report)
        if ext not in RECORD_EXTS and size > MAX_ARTICLE_BYTES:
            raise BadInput(f"file is {size / 2**20:.1f} MiB, over the {MAX_ARTICLE_BYTES // 2**20} MiB "
                           "limit for one article; put many articles in a .jsonl file, one per line")
        text = decode_bytes(f.read_bytes())
        if ext in RECORD_EXTS:
            before = len(report.problems)
            records = read_records(f, text, report)
            if not records and len(report.problems) == before:
                raise BadInput("no records found; expected one JSON object per line (or CSV rows) "
                               "with 'id', 'title', 'text'")
            return records
        if ext in HTML_EXTS:
            return [(str(f), cite_saved_page(parse_html(text, f.stem, str(f)), text))]
        return [(str(f), parse_text(text, f.stem, str(f), markdown=ext != ".txt"))]
    except BadInput as e:
        report.problems.append((str(f), str(e)))
    except OSError as e:
        report.problems.append((str(f), f"cannot read: {e.strerror or e}"))
    return []


def _read_packed(f: Path, ext: str, size: int, report: IngestReport) -> list[tuple[str, Article]]:
    """A PDF, DOCX or feed file: parsed from its bytes (never `decode_bytes`, which refuses binary)."""
    if size > MAX_PACKED_BYTES:
        raise BadInput(f"file is {size / 2**20:.0f} MiB, over the {MAX_PACKED_BYTES // 2**20} MiB limit for {ext} files")
    data = f.read_bytes()
    if ext in FEED_EXTS:
        return read_feed(data, f, report.problems, normalize_date)
    art, notes = read_document(data, ext, f.stem, str(f), normalize_date)
    if len(art.body.encode("utf-8")) > MAX_ARTICLE_BYTES:
        raise BadInput(f"the text is {len(art.body.encode('utf-8')) / 2**20:.1f} MiB, over the {MAX_ARTICLE_BYTES // 2**20} MiB "
                       "limit for one article; split the document")
    report.problems.extend((str(f), note) for note in notes)
    return [(str(f), with_dateline(art))]


def with_dateline(art: Article) -> Article:
    """The article with the dateline its body opens with ("MOSCOW, June 11. /TASS/."): place,
    and the agency and date where the document's own metadata gave none (a PDF bulletin, a
    Word file). A date without a year stays `date_text`."""
    if art.dateline:
        return art
    line, agency, line_date = _dateline(art.body.split("\n\n")[:3])
    if not line:
        return art
    changes: dict[str, str] = {"dateline": line}
    when = parse_date(line_date) if line_date else NO_DATE
    if when and not (art.date or art.date_text):
        changes.update(date=when.iso, date_text=when.text)
    if agency and not art.source:
        changes["source"] = agency
    return replace(art, **changes)
