"""Dates in article text and metadata -> an ISO date, or the date as written when it is known only in part.

News states its date in many spellings: "2021-06-11", "June 11, 2021", "11.06.2021",
"11 июня 2021 года", "11. Juni 2021", and in datelines without a year ("MOSCOW, June 11. /TASS/").
`parse_date` reads one such value: a full date (year, month and day) becomes ISO YYYY-MM-DD; a
date without a year or a day ("June 11", "11 июня", "June 2021") is kept as written, for display
only, and no year or day is ever filled in from today's. `find_date` finds a date inside a
short line (a byline, a dateline, a "Published: ..." line).

The common spellings are read by regular expressions (fast, and the whole of a large JSONL
file's ISO dates); dateparser (slow to import, a millisecond or more per call) is the fallback,
imported on first need, with the relative parsers off ("yesterday" is not a date of the text)
and its answer checked against the text: it names which parts it found, and a year or day
it did not read in the value is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH_RE = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
             r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MDY = re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b")
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})(?:,?\s+(\d{{4}}))?\b")
# 11.06.2021: dotted numeric dates are day-first wherever they are written (Europe, Russia)
_DOTTED = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
# spans that may be a date in any language, for dateparser to judge: "11 июня 2021 года",
# "11. Juni 2021", "juin 11", "2021/06/11", "11/06/21"
_CANDIDATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2}\.?\s+[^\W\d_]{3,12}\.?(?:,?\s+\d{4})?"
    r"|[^\W\d_]{3,12}\.?\s+\d{1,2}(?:,?\s+\d{4})?")
# dateparser's languages when the text's is not known: the news languages qa is used with
LANGUAGES = ("en", "ru", "uk", "de", "fr", "es", "it", "pt", "pl", "nl")
MAX_CHARS = 100  # a date value longer than this is not a date field: only its start is read


@dataclass(frozen=True)
class ParsedDate:
    """A date read from text: `iso` when year, month and day are known, else `text`, the date
    as written ("June 11", "11 июня") for display; both "" when no date was found."""

    iso: str = ""
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.iso or self.text)


NO_DATE = ParsedDate()


def _iso(y: int, m: int, d: int) -> str:
    """The ISO date, or "" for one that does not exist (2026-02-30 is not a date)."""
    if not 1000 <= y <= 9999:
        return ""
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return ""


def _month(name: str) -> int:
    return next((i for i, full in enumerate(_MONTHS, 1) if full.startswith(name.lower()[:3])), 0)


def _day_exists(m: int, d: int) -> bool:
    return bool(_iso(2000, m, d))  # 2000 is a leap year: February 29 exists in some year


def _clean(text: str) -> str:
    return " ".join((text or "").split())[:MAX_CHARS]


def parse_date(value: str, language: str = "") -> ParsedDate:
    """The date of a value meant to hold one (a Date: header, a record's date, a dateline's date).

    Args:
        value: the text, e.g. "2021-06-11", "June 11, 2021", "11.06.2021", "11 июня", "June 11".
        language: the text's ISO 639-1 code, if known (dateparser tries it first).

    Returns:
        `ParsedDate(iso=...)` for a full date, `ParsedDate(text=...)` for a date without a year
        (or day), `NO_DATE` when there is none. Never a year or day the value does not hold.
    """
    text = _clean(value)
    if not text or not any(c.isdigit() for c in text):
        return NO_DATE  # "Friday", "yesterday": no date of the article's own
    m = _ISO.search(text)
    if m:
        iso = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            return ParsedDate(iso=iso)
    for rx, y, mo, d in ((_MDY, 3, 1, 2), (_DMY, 3, 2, 1)):
        m = rx.search(text)
        if m:
            month, day = _month(m.group(mo)), int(m.group(d))
            if m.group(y):
                iso = _iso(int(m.group(y)), month, day)
                if iso:
                    return ParsedDate(iso=iso)
            elif _day_exists(month, day):
                return ParsedDate(text=m.group(0).rstrip(".,"))
    m = _DOTTED.search(text)
    if m:
        iso = _iso(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if iso:
            return ParsedDate(iso=iso)
    return _dateparser(text, language)


def find_date(line: str, language: str = "") -> tuple[ParsedDate, tuple[int, int]]:
    """The first date inside a short line (byline, dateline, "Published: ...") and its span.

    Returns:
        (the date, (start, end) of its text in `line`); (NO_DATE, (0, 0)) when there is none.
    """
    for rx in (_ISO, _MDY, _DMY, _DOTTED, _CANDIDATE):
        for m in rx.finditer(line[:500]):
            found = parse_date(m.group(0), language)
            if found:
                return found, m.span()
    return NO_DATE, (0, 0)


_LABEL = re.compile(r"^(?:published|updated|posted|date|dated|опубликовано|обновлено|дата)\b[:\s]*", re.I)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\b", re.I)


def date_line(paragraph: str, language: str = "") -> ParsedDate:
    """The date of a paragraph that is only a date ("11 июня 2021", "Published: June 11, 2021,
    10:32 GMT", "Friday, 11.06.2021"), or NO_DATE for a paragraph that says more than that."""
    text = _LABEL.sub("", paragraph.strip())
    if not text or len(text) > 60:
        return NO_DATE
    found, (s, e) = find_date(text, language)
    if not found:
        return NO_DATE
    rest = _TIME.sub(" ", text[:s] + " " + text[e:])
    words = re.findall(r"[^\W\d_]+|\d+", rest)
    # one word may stay: a weekday, a time zone, "года"; a sentence is more than that
    return found if len(words) <= 2 and not any(w.isdigit() for w in words) else NO_DATE


@lru_cache(maxsize=16)
def _parser(languages: tuple[str, ...]):
    from dateparser.date import DateDataParser

    settings = {"RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DATES_FROM": "past",
                # no "relative-time" ("yesterday", "2 days ago"), no "timestamp" (any 10-digit
                # number), no "no-spaces-time" (any run of digits)
                "PARSERS": ["custom-formats", "absolute-time"]}
    return DateDataParser(languages=list(languages), settings=settings, try_previous_locales=False)


def _languages(language: str) -> tuple[str, ...]:
    lang = (language or "").lower()
    return LANGUAGES if not lang or lang in LANGUAGES else (lang, *LANGUAGES)


def _dateparser(text: str, language: str) -> ParsedDate:
    """dateparser's reading of `text`, kept only for the parts the text states."""
    try:
        data = _parser(_languages(language)).get_date_data(text)
    except (ValueError, TypeError, OverflowError):  # an unknown language code, an odd value
        try:
            data = _parser(LANGUAGES).get_date_data(text)
        except (ValueError, TypeError, OverflowError):
            return NO_DATE
    d, parts = data.date_obj, set(getattr(data, "parts", None) or ())
    if d is None:
        return NO_DATE
    numbers = set(re.findall(r"\d+", text))
    has_year = "year" in parts and (str(d.year) in numbers or f"{d.year % 100:02d}" in numbers)
    has_day = "day" in parts and (str(d.day) in numbers or f"{d.day:02d}" in numbers)
    if has_year and has_day and "month" in parts:
        return ParsedDate(iso=d.date().isoformat())
    if "month" in parts and (has_day or has_year):
        return ParsedDate(text=text.rstrip(".,"))  # "11 июня", "juin 2021": as written
    return NO_DATE


def best_date(found: list[ParsedDate]) -> ParsedDate:
    """The first full date of `found` (in order of trust), else its first partial one."""
    return next((d for d in found if d.iso), None) or next((d for d in found if d), NO_DATE)
