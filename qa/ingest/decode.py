"""Bytes -> text for files users feed us: UTF-8, UTF-16 (BOM or not), Latin-1/CP1252; binary refused;
and CSV text -> rows, whatever its line endings."""

from __future__ import annotations

import codecs
import csv
import io

from qa.errors import BadInput


def decode_bytes(data: bytes) -> str:
    """Decode file bytes to text, refusing binary content.

    Raises:
        BadInput: the bytes are empty, binary, or no text encoding fits.
    """
    if not data.strip():
        raise BadInput("empty file")
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16")
    head = data[:4096]
    nuls = head.count(0)
    if nuls:
        # UTF-16 without BOM: NULs sit at every other byte of ASCII text.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) * 0.3 and even == 0:
            return _strict(data, "utf-16-le")
        if even > len(head) * 0.3 and odd == 0:
            return _strict(data, "utf-16-be")
        raise BadInput("binary content (NUL bytes); expected a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:4096]) * 0.05):
        raise BadInput("binary content (control bytes); expected a text file")
    return text.replace("\x00", "")


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise BadInput(f"not valid {encoding} text at byte {e.start}") from None


def csv_rows(text: str, field_limit: int) -> csv.DictReader:
    """A `csv.DictReader` over `text` with any line endings (CR LF, LF, or the bare CR of old Mac
    exports) and fields up to `field_limit` characters (the csv module's default is 128 KiB)."""
    csv.field_size_limit(field_limit)
    return csv.DictReader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"), newline=""))
