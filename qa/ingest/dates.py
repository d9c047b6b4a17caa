"""Dates in article text and metadata -> an ISO date, or the date as written when it is known only in part.

News states its date in many spellings: "2021-06-11", "June 11, 2021", "11.06.2021",
"11 июня 2021 года", "11. Juni 2021", and in datelines without a year ("MOSCOW, June 11. /TASS/").
`parse_date` reads one such value: a full date (year, month and day) becomes ISO YYYY-MM-DD; a
date without a year or a day ("June 11", "11 июня", "June 2021") is kept as written, for display
only, and no year or day is ever filled in from today's. `find_date` finds a date inside a
short line (a byline, a dateline, a "Published: ..." line).

The common spellings are read by regular expressions (fast, and the whole of a large JSONL
file's ISO dates); dateparser (slow to import, a millisecond or more per call) is the fallback,
imported on first need, with the relative parsers off ("yesterday" is not a date of the text).
Nothing read depends on the day qa runs: dateparser completes what a value leaves out from a
"relative base" (today by default, and it reads "11.06" as 11:06 today or yesterday), so each
value is read under two fixed bases that differ in year, month and day, and only the parts both
readings agree on count; a year or day must also be a number of the value, and a date without
a year must name its month in words ("11/06" may be June 11 or November 6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
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


# Two relative bases that differ in year, month and day: a part dateparser fills in from the
# base comes out different under each, a part the text states comes out the same.
_BASES = (datetime(2004, 3, 10, 12, 0), datetime(2013, 9, 20, 12, 0))


@lru_cache(maxsize=32)
def _parser(languages: tuple[str, ...], base: datetime):
    from dateparser.date import DateDataParser

    settings = {"RETURN_AS_TIMEZONE_AWARE": False, "RELATIVE_BASE": base,
                # no shifting toward past or future: a two-digit year is read by the fixed
                # strptime rule (69-99 -> 19xx, 00-68 -> 20xx), not by its distance from the base
                "PREFER_DATES_FROM": "current_period",
                # no "relative-time" ("yesterday", "2 days ago"), no "timestamp" (any 10-digit
                # number), no "no-spaces-time" (any run of digits)
                "PARSERS": ["custom-formats", "absolute-time"]}
    return DateDataParser(languages=list(languages), settings=settings, try_previous_locales=False)


def _languages(language: str) -> tuple[str, ...]:
    lang = (language or "").lower()
    return LANGUAGES if not lang or lang in LANGUAGES else (lang, *LANGUAGES)


def _reading(text: str, language: str, base: datetime) -> dict[str, int]:
    """The year, month and day dateparser says it found in `text`, with `base` as "today"."""
    try:
        data = _parser(_languages(language), base).get_date_data(text)
    except (ValueError, TypeError, OverflowError):  # an unknown language code, an odd value
        try:
            data = _parser(LANGUAGES, base).get_date_data(text)
        except (ValueError, TypeError, OverflowError):
            return {}
    d, parts = data.date_obj, set(getattr(data, "parts", None) or ())
    if d is None:
        return {}
    return {p: getattr(d, p) for p in ("year", "month", "day") if p in parts}


def _stated(text: str, language: str) -> dict[str, int]:
    """The parts of `text`'s date that come out the same under both relative bases. A time of
    day ("11.06", "10:30") states none: dateparser puts it on each base's own day."""
    first = _reading(text, language, _BASES[0])
    if not first:
        return {}  # most values that are not dates stop here, after one call
    second = _reading(text, language, _BASES[1])
    return {p: v for p, v in first.items() if second.get(p) == v}


def _month_in_words(text: str, month: int, language: str) -> bool:
    """Whether `text` names `month` in words ("11 июня", "June 11"), not only in digits."""
    return _month_named(" ".join(re.findall(r"[^\W\d_]+", text)), language) == month


@lru_cache(maxsize=1024)  # few distinct words: "июня", "de junio", "Juni"
def _month_named(words: str, language: str) -> int:
    """The month `words` name, 0 for none."""
    return _stated(words, language).get("month", 0) if words else 0


@lru_cache(maxsize=4096)  # a large file repeats its dates ("11 июня"): each is read once
def _dateparser(text: str, language: str) -> ParsedDate:
    """dateparser's reading of `text`, kept only for the parts the text states."""
    parts = _stated(text, language)
    year, month, day = parts.get("year", 0), parts.get("month", 0), parts.get("day", 0)
    numbers = set(re.findall(r"\d+", text))
    has_year = bool(year) and (str(year) in numbers or f"{year % 100:02d}" in numbers)
    has_day = bool(day) and (str(day) in numbers or f"{day:02d}" in numbers)
    if not month:
        return NO_DATE
    if has_year and has_day:
        iso = _iso(year, month, day)
        return ParsedDate(iso=iso) if iso else NO_DATE
    if has_year or (has_day and _month_in_words(text, month, language)):
        return ParsedDate(text=text.rstrip(".,"))  # "11 июня", "juin 2021": as written
    return NO_DATE


def best_date(found: list[ParsedDate]) -> ParsedDate:
    """The first full date of `found` (in order of trust), else its first partial one."""
    return next((d for d in found if d.iso), None) or next((d for d in found if d), NO_DATE)
