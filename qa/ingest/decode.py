"""Bytes -> text for files users feed us: UTF-8, UTF-16 (BOM or not), and the legacy single-byte
encodings news is still saved in (Windows-1251 and KOI8-R Cyrillic, Latin-2, CP1252...) detected
with charset-normalizer; binary refused; and CSV text -> rows, whatever its line endings."""

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
        # Only the spaces, digits and punctuation of Cyrillic or Greek text give NULs, so the share
        # is lower there than in English (~8% of the bytes of a Russian article): what tells UTF-16
        # is that every NUL sits on one side.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) * 0.02 and even == 0:
            return _not_binary(_strict(data, "utf-16-le"))
        if even > len(head) * 0.02 and odd == 0:
            return _not_binary(_strict(data, "utf-16-be"))
        raise BadInput("binary content (NUL bytes); expected a text file")
    try:
        text = data.decode("utf-8")  # the fast path: most files are UTF-8
    except UnicodeDecodeError:
        text = _detect_legacy(data)
    return _not_binary(text).replace("\x00", "")


# When charset-normalizer finds several encodings equally plausible (short texts, or Latin-2 Czech
# that also decodes as Windows-1250 with "ľ" for "ž"), the one news files most likely use wins:
# Western Windows-1252 first; ISO-8859-2 before Windows-1250, because Latin-2 text has no byte
# in 0x80-0x9F while Windows-1250 Czech or Polish nearly always does (š, ž, ś, ź live there), so
# a tie between them means the bytes fit Latin-2's layout.
_PREFERRED = ("cp1252", "iso8859_2", "cp1250", "cp1251", "koi8_r", "iso8859_15", "latin_1")


def _detect_legacy(data: bytes) -> str:
    """Text of bytes that are not UTF-8, in the encoding charset-normalizer finds most plausible
    (ties broken by `_PREFERRED`); Windows-1252 with replacement characters when nothing fits."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return data.decode("cp1252", errors="replace")
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos + 0.005 and m.coherence >= best.coherence - 0.005]

    def rank(match) -> int:
        names = [match.encoding, *match.could_be_from_charset]
        return min((_PREFERRED.index(n) for n in names if n in _PREFERRED), default=len(_PREFERRED))

    choice = min(tied, key=rank)  # min keeps charset-normalizer's order among equal ranks
    names = [choice.encoding, *choice.could_be_from_charset]
    encoding = min((n for n in names if n in _PREFERRED), key=_PREFERRED.index, default=choice.encoding)
    return data.decode(encoding, errors="replace")


def _not_binary(text: str) -> str:
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:4096]) * 0.05):
        raise BadInput("binary content (control bytes); expected a text file")
    return text


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
