"""PDF and Word (DOCX) files -> `Article`: text in reading order, the file's own title, author and
date, and for a PDF the body offset where each page starts (so a passage knows its page).

These are binary containers: they never go through `decode_bytes`. The libraries are imported
when a file of their kind is read. Whatever a damaged or hostile file makes them raise becomes a
`BadInput` that names the file's problem and what to do, so ingest reports it and goes on.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Callable
from datetime import date, datetime

from qa.errors import BadInput
from qa.ingest.limits import is_prose, title_from_text
from qa.types import Article

PDF_EXTS = {".pdf"}
DOCX_EXTS = {".docx"}
DOCUMENT_EXTS = PDF_EXTS | DOCX_EXTS
MAX_TITLE_LINE = 200  # a first paragraph longer than this is text, not a title
NO_TEXT_LAYER = "no text layer; OCR it first (e.g. ocrmypdf FILE.pdf OUT.pdf) and index the result"
# Values that word processors and libraries fill in on their own: not the article's metadata.
_PLACEHOLDER_NAMES = {"python-docx", "administrator", "admin", "user", "unknown", "author",
                      "microsoft office user", "owner"}
_PLACEHOLDER_TITLE = re.compile(r"^(?:microsoft (?:word|powerpoint) - .*|untitled.*|document\d*|"
                                r"slide \d+|.*\.(?:docx?|pdf|rtf|odt|txt|indd|qxd))$", re.I)
_PYTHON_DOCX_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15)  # its default.docx; not a real date
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def read_document(data: bytes, ext: str, doc_id: str, path: str = "",
                  to_iso: Callable[[str], str] | None = None) -> tuple[Article, list[str]]:
    """The article in a PDF or DOCX file, and notes about what of it could not be read.

    Args:
        data: the file's bytes.
        ext: ".pdf" or ".docx".
        doc_id: the article id (the file stem).
        to_iso: turns a free-form date into ISO YYYY-MM-DD or "" (the reader's date parser).

    Raises:
        BadInput: no text (a scanned PDF), encrypted, damaged, or not really of this type.
    """
    if ext in PDF_EXTS:
        return read_pdf(data, doc_id, path, to_iso)
    if ext in DOCX_EXTS:
        return read_docx(data, doc_id, path, to_iso), []
    raise BadInput(f"not a document type: {ext!r}; expected one of {', '.join(sorted(DOCUMENT_EXTS))}")


# ---- PDF ---------------------------------------------------------------------------------------

def read_pdf(data: bytes, doc_id: str, path: str = "",
             to_iso: Callable[[str], str] | None = None) -> tuple[Article, list[str]]:
    """Text of a PDF page by page (see `read_document`); pages without text are noted."""
    page_texts, pictured, meta = _pdf_pages(data)
    pages = [_page_paragraphs(t) for t in page_texts]
    if not any(pages):
        raise BadInput(NO_TEXT_LAYER if pages else "the PDF has no pages")
    notes = []
    scanned = [i + 1 for i, paras in enumerate(pages) if not paras and pictured[i]]  # blank ones are fine
    if scanned:
        notes.append(f"page(s) {_ranges(scanned)} of {len(pages)} are images without a text layer, so "
                     "their text is missing; OCR the file to index it")
    title = _clean_title(meta.get("title", ""))
    first = next(paras for paras in pages if paras)
    if not title or first[0].casefold() == title.casefold():
        if len(first[0]) <= MAX_TITLE_LINE and sum(map(len, pages)) > 1:
            title = title or first[0]
            first.pop(0)  # the title line is not cited text
    body, starts = _join_pages(pages)
    author = _clean_name(meta.get("author", ""))
    return Article(
        doc_id=doc_id, title=title or title_from_text(body, doc_id), body=body, source=author,
        date=pdf_date(meta.get("date", ""), to_iso), byline=author, path=path, pages=starts), notes


def _pdf_pages(data: bytes) -> tuple[list[str], list[bool], dict[str, str]]:
    """Each page's extracted text, whether each page draws images (XObjects), and the
    title/author/creation date of the document info."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is reported once, by us
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise FileNotDecryptedError("needs a password")
            texts = [page.extract_text() or "" for page in reader.pages]
            pictured = [_has_xobjects(page) for page in reader.pages]
            info = reader.metadata or {}
            meta = {key: _info_text(info.get(name)) for key, name in
                    (("title", "/Title"), ("author", "/Author"), ("date", "/CreationDate"))}
        except FileNotDecryptedError:
            raise BadInput("encrypted PDF that needs a password to open; save an unprotected copy "
                           "(e.g. print it to PDF) and index that") from None
        except DependencyError as e:
            raise BadInput(f"encrypted PDF that this installation cannot decrypt ({e}); "
                           "pip install cryptography, or save an unprotected copy") from None
        except BadInput:
            raise
        except Exception as e:  # pypdf raises many types on damaged input; all mean the same here
            raise BadInput(f"not a readable PDF ({type(e).__name__}: {str(e)[:120]}); "
                           "the file is damaged or not a PDF: export or download it again") from None
    return texts, pictured, meta


def _has_xobjects(page) -> bool:
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else {}
    return bool(resources.get("/XObject")) if hasattr(resources, "get") else False


def _info_text(value: object) -> str:
    text = str(value or "").replace("\x00", "")
    return re.sub(r"\s+", " ", text).strip()


def pdf_date(raw: str, to_iso: Callable[[str], str] | None = None) -> str:
    """ISO date of a PDF date ("D:20210611093000+03'00'" -> "2021-06-11"), else what `to_iso`
    makes of a free-form one; "" when only a year or month is known, or nothing."""
    raw = (raw or "").strip()
    m = _PDF_DATE.match(raw)
    if m and m.group(3):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return ""
    if m or not raw:
        return ""
    return to_iso(raw) if to_iso else ""


def _page_paragraphs(text: str) -> list[str]:
    """Paragraphs of one page's text: wrapped lines joined, a paragraph ended by a blank line or
    by a short line that closes a sentence or precedes a capitalised one (a headline)."""
    lines = [ln.strip() for ln in (text or "").replace("\r", "\n").split("\n")]
    width = max((len(ln) for ln in lines), default=0)
    paras: list[str] = []
    current = ""
    for i, ln in enumerate(lines):
        if not ln:
            if current:
                paras.append(current)
            current = ""
            continue
        if current.endswith("-") and current[-2:-1].islower() and ln[:1].islower():
            current = current[:-1] + ln  # a word hyphenated at the line end
        else:
            current = f"{current} {ln}" if current else ln
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        short = len(ln) < 0.75 * width
        if short and (re.search(r"[.!?:\u2026\"'\u201d\u00bb]$", ln) or nxt[:1].isupper() or nxt[:1].isdigit()):
            paras.append(current)
            current = ""
    if current:
        paras.append(current)
    return [p.replace("\u00ad", "") for p in paras if p.strip()]


def _join_pages(pages: list[list[str]]) -> tuple[str, tuple[int, ...]]:
    """The body (paragraphs joined by blank lines) and the offset where each page starts; a page
    without text starts where the next text does, so `Article.page_at` skips it."""
    parts: list[str] = []
    starts: list[int] = []
    size = 0
    for paras in pages:
        starts.append(size + 2 if parts else 0)
        for p in paras:
            if parts:
                size += 2
            parts.append(p)
            size += len(p)
    body = "\n\n".join(parts)
    return body, tuple(min(s, len(body)) for s in starts)


def _ranges(nums: list[int]) -> str:
    out: list[str] = []
    for n in nums:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _clean_title(title: str) -> str:
    title = re.sub(r"\s+", " ", title or "").strip()
    return "" if _PLACEHOLDER_TITLE.match(title) else title


def _clean_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name or "").strip()
    return "" if name.casefold() in _PLACEHOLDER_NAMES else name


# ---- DOCX --------------------------------------------------------------------------------------

def read_docx(data: bytes, doc_id: str, path: str = "",
              to_iso: Callable[[str], str] | None = None) -> Article:
    """Paragraphs (and table rows) of a Word file in order; title from the first paragraph in the
    Title style, else the core properties' title, else the first paragraph; author and created
    date from the core properties."""
    paras, styled_title, props = _docx_content(data)
    title = styled_title or _clean_title(props.get("title", ""))
    if not title and paras and len(paras[0]) <= MAX_TITLE_LINE and (len(paras) > 1 or not is_prose(paras[0])):
        title = paras.pop(0)
    body = "\n\n".join(paras)
    if not body:
        raise BadInput("no text in the Word file" + (" after the title" if title else "")
                       + "; expected paragraphs of article text")
    author = _clean_name(props.get("author", ""))
    created = props.get("created")
    iso = ""
    if isinstance(created, datetime) and created.replace(tzinfo=None) != _PYTHON_DOCX_TEMPLATE_CREATED:
        iso = created.date().isoformat()
    elif isinstance(created, str) and to_iso:
        iso = to_iso(created)
    return Article(doc_id=doc_id, title=title or title_from_text(body, doc_id), body=body,
                   source=author, date=iso, byline=author, path=path)


def _docx_content(data: bytes) -> tuple[list[str], str, dict]:
    """Paragraph texts in order (table rows as "cell | cell"), the first Title-style paragraph
    (taken out of them) and the core properties."""
    from docx import Document
    from docx.table import Table

    try:
        doc = Document(io.BytesIO(data))
        paras: list[str] = []
        title = ""
        for block in doc.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = list(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
                    if cells:
                        paras.append(" | ".join(cells))
                continue
            text = re.sub(r"[ \t\u00a0]+", " ", block.text).strip()
            if not text:
                continue
            style = getattr(block.style, "name", "") if block.style is not None else ""
            if not title and style == "Title":
                title = text
                continue
            paras.extend(ln.strip() for ln in text.split("\n") if ln.strip())  # soft line breaks
        cp = doc.core_properties
        props = {"title": cp.title or "", "author": cp.author or "", "created": cp.created}
    except Exception as e:  # zip, XML and package errors of a damaged or mislabelled file
        raise BadInput(f"not a readable Word .docx file ({type(e).__name__}: {str(e)[:120]}); "
                       "an old .doc or a damaged file: save it again as .docx") from None
    return paras, title, props
