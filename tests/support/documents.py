"""Tiny PDF and DOCX files made in the test itself: text pages via a content stream, an image-only
(scanned) page, metadata, encryption; Word files with python-docx."""

from __future__ import annotations

import io
from pathlib import Path


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(path: Path, pages: list[list[str] | None], info: dict[str, str] | None = None,
             password: str | None = None, algorithm: str = "AES-128", scanned: bool = False) -> Path:
    """Write a PDF whose page i shows the lines `pages[i]` in Helvetica (a real text layer); a
    page given as None is a grey image only (a scanned page), one given as [] is blank.

    Args:
        info: document information, e.g. {"/Title": "...", "/Author": "...", "/CreationDate": "D:2021..."}.
        password: encrypt with this user password ("" = opens without one, as permission-only PDFs do).
        scanned: draw a grey image on every page instead of text (no text layer, as a scan has).
    """
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

    writer = PdfWriter()
    for lines in pages:
        page = writer.add_blank_page(width=612, height=792)
        resources = DictionaryObject()
        if scanned or lines is None:
            image = DecodedStreamObject()
            image.set_data(bytes([128]) * 64)
            image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                          NameObject("/Width"): NumberObject(8), NameObject("/Height"): NumberObject(8),
                          NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                          NameObject("/BitsPerComponent"): NumberObject(8)})
            resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Im1"): writer._add_object(image)})
            ops = "q 500 0 0 700 50 50 cm /Im1 Do Q"
        else:
            font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                     NameObject("/BaseFont"): NameObject("/Helvetica"),
                                     NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
            resources[NameObject("/Font")] = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
            ops = "BT /F1 11 Tf 14 TL 72 740 Td " + " ".join(f"({_escape(ln)}) Tj T*" for ln in lines) + " ET"
        content = DecodedStreamObject()
        content.set_data(ops.encode("cp1252"))
        page[NameObject("/Resources")] = resources
        page[NameObject("/Contents")] = writer._add_object(content)
    if info:
        writer.add_metadata(info)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner-secret", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    return path


def make_docx(path: Path, paragraphs: list[str | tuple[str, str]], title: str | None = None,
              author: str | None = None, created=None) -> Path:
    """Write a Word file: each paragraph a text or (text, style name); core properties set when
    given (python-docx's template otherwise says author "python-docx", created 2013-12-23)."""
    import docx

    doc = docx.Document()
    for para in paragraphs:
        text, style = (para, None) if isinstance(para, str) else para
        doc.add_paragraph(text, style=style)
    props = doc.core_properties
    if title is not None:
        props.title = title
    if author is not None:
        props.author = author
    if created is not None:
        props.created = created
    doc.save(str(path))
    return path
