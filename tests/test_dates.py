"""qa.ingest.dates and the dates ingest finds: full dates become ISO, partial ones stay as written,
no year or day is ever invented, and none of it depends on the day the tests run (the `clock`
fixture runs a test on several fixed days)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import time_machine

from qa.ingest import dates
from qa.ingest.dates import NO_DATE, ParsedDate, date_line, find_date, parse_date
from qa.ingest.feeds import read_feed
from qa.ingest.reader import ingest, normalize_date, parse_html, parse_text, record_to_article
from qa.types import Article

# Days to run on: the 6th, 7th and 11th are numbers of "11.06" (11:06 read as a time falls on
# the day itself or the day before), the 12th at 23:59 and New Year's Day at midnight are edges
# of a day and a year, February 29 exists only in some years, the 3rd passed before issue 22,
# and in early 2021 the test dates (June 11, 2021) still lie ahead.
CLOCKS = ["2026-12-07 10:00", "2026-12-12 23:59", "2027-01-01 00:00", "2026-06-11 11:06",
          "2026-12-06 12:00", "2028-02-29 12:00", "2026-12-03 12:00", "2021-03-01 12:00"]


def _forget_readings() -> None:
    """Empty the date readers' caches: a reading cached on another day would hide a dependence
    on this one."""
    for value in vars(dates).values():
        if hasattr(value, "cache_clear"):
            value.cache_clear()


@pytest.fixture(params=CLOCKS)
def clock(request):
    """The test runs with the clock stopped at one of CLOCKS (dateparser's own now() included)."""
    _forget_readings()
    with time_machine.travel(datetime.fromisoformat(request.param), tick=False):
        yield request.param
    _forget_readings()


@pytest.mark.parametrize("value,iso", [
    ("2021-06-11", "2021-06-11"),
    ("2021-06-11T10:00:00+03:00", "2021-06-11"),
    ("June 11, 2021", "2021-06-11"),
    ("11 June 2021", "2021-06-11"),
    ("Fri, 11 Jun 2021 10:00:00 +0300", "2021-06-11"),
    ("11.06.2021", "2021-06-11"),  # dotted dates are day first
    ("11 июня 2021", "2021-06-11"),
    ("11 июня 2021 года", "2021-06-11"),
    ("Пятница, 11 июня 2021, 10:32", "2021-06-11"),
    ("11. Juni 2021", "2021-06-11"),
    ("2021/06/11", "2021-06-11"),
])
def test_full_dates_become_iso(value, iso, clock):
    assert parse_date(value) == ParsedDate(iso=iso)
    assert normalize_date(value) == iso


@pytest.mark.parametrize("value,text", [
    ("June 11", "June 11"),
    ("Sept. 3", "Sept. 3"),
    ("11 June", "11 June"),
    ("11 июня", "11 июня"),
    ("12 марта", "12 марта"),
    ("June 2021", "June 2021"),
])
def test_dates_without_year_or_day_are_kept_as_written_never_completed(value, text, clock):
    got = parse_date(value)
    assert got.iso == "" and got.text == text
    assert normalize_date(value) == ""


@pytest.mark.parametrize("value", [
    "", "Friday", "yesterday", "2 days ago", "12:30", "2021", "5", "1623400000", "June 31",
    "2026-02-30", "10 people", "Mayor 5, 2021", "no date here"])
def test_what_is_not_a_date_of_the_text_gives_no_date(value, clock):
    assert parse_date(value) == NO_DATE and not parse_date(value)


@pytest.mark.parametrize("value", [
    "11.06", "11:06", "10:30", "10.30", "23.59", "23:59", "00:00", "06.12", "07.12", "12.12",
    "01.01", "10:30:15", "10:30 pm"])
def test_a_time_of_day_is_not_a_date_on_any_day(value, clock):
    assert parse_date(value) == NO_DATE


@pytest.mark.parametrize("value", ["11/06", "06/11", "29.02"])
def test_a_date_without_a_year_in_digits_only_is_not_a_date(value, clock):
    assert parse_date(value) == NO_DATE  # June 11 or November 6: the order is not known


# In each language the README lists: a full date, a date without a year, one without a day, and
# New Year's Day without a year.
IN_LANGUAGES = {
    "en": ("June 11, 2021", "June 11", "June 2021", "January 1"),
    "ru": ("11 июня 2021 года", "11 июня", "июнь 2021", "1 января"),
    "uk": ("11 червня 2021 року", "11 червня", "червень 2021", "1 січня"),
    "de": ("11. Juni 2021", "11. Juni", "Juni 2021", "1. Januar"),
    "fr": ("11 juin 2021", "11 juin", "juin 2021", "1er janvier"),
    "es": ("11 de junio de 2021", "11 de junio", "junio de 2021", "1 de enero"),
    "it": ("11 giugno 2021", "11 giugno", "giugno 2021", "1 gennaio"),
    "pt": ("11 de junho de 2021", "11 de junho", "junho de 2021", "1 de janeiro"),
    "pl": ("11 czerwca 2021", "11 czerwca", "czerwiec 2021", "1 stycznia"),
    "nl": ("11 juni 2021", "11 juni", "juni 2021", "1 januari"),
}


@pytest.mark.parametrize("language", sorted(IN_LANGUAGES))
def test_full_and_partial_dates_in_each_language_read_the_same_on_any_day(language, clock):
    full, no_year, no_day, new_year = IN_LANGUAGES[language]
    for lang in (language, ""):  # the article's language known, or not
        assert parse_date(full, lang) == ParsedDate(iso="2021-06-11")
        for partial in (no_year, no_day, new_year):
            assert parse_date(partial, lang) == ParsedDate(text=partial)


# Times of day as each of those languages writes them: dateparser reads them as a time of today
TIMES_IN_LANGUAGES = {
    "en": ("11:06 am", "at 11:06"), "ru": ("в 11:06", "11:06 мск"), "uk": ("о 11:06", "11.06 год"),
    "de": ("11.06 Uhr", "um 11:06 Uhr"), "fr": ("11h06", "11:06"), "es": ("a las 11:06", "11.06 h"),
    "it": ("alle 11:06", "ore 11.06"), "pt": ("às 11h06", "11h06"), "pl": ("o 11:06", "godz. 11.06"),
    "nl": ("om 11:06", "11.06 uur"),
}


@pytest.mark.parametrize("language", sorted(TIMES_IN_LANGUAGES))
def test_times_in_each_language_are_not_dates_on_any_day(language, clock):
    for value in TIMES_IN_LANGUAGES[language]:
        assert parse_date(value, language) == NO_DATE and parse_date(value) == NO_DATE, value


@pytest.mark.parametrize("value,iso", [("25.06.21", "2021-06-25"), ("25.06.75", "1975-06-25")])
def test_a_two_digit_year_is_read_the_same_on_any_day(value, iso, clock):
    # the fixed strptime rule (69-99 -> 19xx, 00-68 -> 20xx), not "the latest year not ahead of today"
    assert parse_date(value) == ParsedDate(iso=iso)


@pytest.mark.parametrize("value,expected", [
    ("11 июня 2021, 10:32", ParsedDate(iso="2021-06-11")),
    ("11 июня, 10:32", ParsedDate(text="11 июня, 10:32")),
    ("11. Juni, 11:06", ParsedDate(text="11. Juni, 11:06")),
])
def test_a_date_with_a_time_gets_no_year_or_day_it_does_not_state(value, expected, clock):
    assert parse_date(value) == expected


def test_find_date_inside_datelines_and_bylines(clock):
    assert find_date("MOSCOW, June 11. /TASS/.")[0] == ParsedDate(text="June 11")
    assert find_date("МОСКВА, 11 июня. /ТАСС/.")[0] == ParsedDate(text="11 июня")
    found, (s, e) = find_date("By Jane Doe, June 11, 2021")
    assert found.iso == "2021-06-11" and "By Jane Doe, June 11, 2021"[s:e] == "June 11, 2021"
    assert find_date("He said 10 people came")[0] == NO_DATE


@pytest.mark.parametrize("line,iso", [
    ("11 июня 2021", "2021-06-11"),
    ("Published: June 11, 2021, 10:32 GMT", "2021-06-11"),
    ("Friday, 11.06.2021", "2021-06-11"),
])
def test_date_line_is_a_paragraph_that_is_only_a_date(line, iso, clock):
    assert date_line(line).iso == iso


def test_a_sentence_with_a_date_is_not_a_date_line():
    assert date_line("The summit opened on June 11 in Dushanbe.") == NO_DATE


def test_tass_dateline_without_year_keeps_june_11_and_no_date():
    a = parse_text("Russia proposes energy talks\n\nMOSCOW, June 11. /TASS/. Russia proposes "
                   "consultations on decarbonization.\n", "tass")
    assert a.date == "" and a.date_text == "June 11"
    assert a.dateline == "MOSCOW, June 11. /TASS/." and a.source == "TASS"


def test_russian_dateline_gives_place_agency_and_partial_date():
    a = parse_text("Россия предложила консультации\n\nМОСКВА, 11 июня. /ТАСС/. Россия предложила "
                   "провести консультации по декарбонизации экономики.\n", "ru")
    assert a.date == "" and a.date_text == "11 июня"
    assert a.source == "ТАСС" and a.dateline.startswith("МОСКВА, 11 июня")


def test_full_date_anywhere_wins_over_a_partial_one():
    a = parse_text("Title: Talks\nDate: June 11\n\nMOSCOW, June 11, 2021. /TASS/. Russia proposes talks.\n", "x")
    assert a.date == "2021-06-11" and a.date_text == ""


def test_byline_date_is_read_and_taken_out_of_the_name():
    a = parse_text("Talks begin\nBy Jane Doe, June 11, 2021\n\nThe talks began in Geneva today.\n", "x")
    assert a.byline == "Jane Doe" and a.source == "Jane Doe" and a.date == "2021-06-11"


def test_date_only_line_under_the_title_is_metadata_not_body():
    a = parse_text("Россия предложила консультации\n11 июня 2021 года\n\nРоссия предложила провести "
                   "консультации.\n", "x")
    assert a.date == "2021-06-11" and "2021" not in a.body and a.title == "Россия предложила консультации"


def test_header_date_without_year_is_kept_as_date_text(clock):
    a = parse_text("Title: Talks\nDate: 11.06\nSource: TASS\n\nBody text here.\n", "x")
    assert a.date == "" and a.date_text == ""  # "11.06" could be June 11 or Nov 6: not a date
    b = parse_text("Title: Talks\nDate: 11 июня\n\nBody text here.\n", "x")
    assert b.date == "" and b.date_text == "11 июня"


@pytest.mark.parametrize("value", ["11.06", "10:30", "23.59", "11:06"])
def test_header_date_that_is_a_time_gives_neither_date_nor_date_text(value, clock):
    a = parse_text(f"Title: Talks\nDate: {value}\nSource: TASS\n\nBody text here.\n", "x")
    assert a.date == "" and a.date_text == ""


def test_record_dates_full_and_partial():
    assert record_to_article({"id": "a", "text": "t", "date": "11.06.2021"}, "f").date == "2021-06-11"
    r = record_to_article({"id": "b", "text": "t", "date": "June 11"}, "f")
    assert r.date == "" and r.date_text == "June 11"


HTML = ("<html><head><title>Russia proposes plan</title>{meta}</head><body><article><h1>Russia "
        "proposes plan</h1><p>MOSCOW, June 11. /TASS/. Russia has proposed a decarbonization plan to "
        "its partners in the organization, the ministry said on Friday.</p><p>The plan covers energy "
        "and transport and was discussed at length by the delegations at the meeting.</p></article>"
        "<footer>&copy; 2021 TASS</footer></body></html>")


def test_html_copyright_year_is_not_turned_into_january_first():
    a = parse_html(HTML.format(meta=""), "page")
    assert a.date == "" and a.date_text == "June 11" and a.dateline.startswith("MOSCOW, June 11")


def test_html_published_time_metadata_gives_the_iso_date():
    meta = '<meta property="article:published_time" content="2021-06-11T10:00:00+03:00">'
    a = parse_html(HTML.format(meta=meta), "page")
    assert a.date == "2021-06-11" and a.date_text == ""


def test_html_page_dated_after_the_day_it_is_read_keeps_its_date(clock):
    meta = '<meta property="article:published_time" content="2027-03-01T10:00:00+03:00">'
    assert parse_html(HTML.format(meta=meta), "page").date == "2027-03-01"


RSS = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item><title>Talks'
       '</title><pubDate>{date}</pubDate><description>Russia proposes consultations on '
       'decarbonization.</description></item></channel></rss>')


@pytest.mark.parametrize("raw", ["10:30", "--06-11", "2021-06", "2021"])
def test_feed_item_date_completed_by_feedparser_is_not_stored(raw, clock):
    # feedparser's ISO 8601 reader makes "10:30" today and "--06-11" June 11 of this year
    (_, item), = read_feed(RSS.format(date=raw).encode(), Path("wire.xml"), [], normalize_date)
    assert item.date == ""


def test_feed_item_date_the_item_states_is_stored(clock):
    (_, item), = read_feed(RSS.format(date="Fri, 11 Jun 2021 10:00:00 +0300").encode(),
                           Path("wire.xml"), [], normalize_date)
    assert item.date == "2021-06-11"


def test_ingest_of_the_demo_tass_article_keeps_june_11(tmp_path):
    from tests.conftest import ROOT

    report = ingest([ROOT / "data" / "articles"])
    tass = [a for a in report.articles if a.dateline.startswith("MOSCOW, June 11")]
    assert tass and all(a.date == "" and a.date_text == "June 11" for a in tass)


def test_jsonl_partial_date_is_stored_and_served(tmp_path, fake_embedder):
    from qa import Index

    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"id": "a", "title": "Talks", "date": "June 11", "source": "TASS",
                             "text": "Russia proposes consultations on decarbonization."}) + "\n")
    index = Index.build([f], tmp_path / "index", embedder=fake_embedder)
    hit = index.search("decarbonization consultations", k=1, config="bm25")[0]
    assert hit.article.date == "" and hit.article.date_text == "June 11"
    assert hit.to_dict()["date_text"] == "June 11" and "June 11" in hit.citation


def test_reindexing_an_older_index_stores_the_new_date_text_and_language(tmp_path, fake_embedder):
    from dataclasses import replace

    from qa import Index
    from qa.storage.builder import build_index

    new = Article("tass", "Talks", "MOSCOW, June 11. /TASS/. Russia proposes talks.", source="TASS",
                  date_text="June 11", language="en")
    old = replace(new, date_text="", language="")  # as read before these fields existed
    assert old.content_hash == Article("tass", "Talks", new.body, source="TASS").content_hash
    build_index([old], tmp_path / "ix", fake_embedder)
    stats = build_index([new], tmp_path / "ix", fake_embedder)
    assert stats.changed == ["tass"] and stats.reused == stats.passages
    art = Index.load(tmp_path / "ix", embedder=fake_embedder).articles["tass"]
    assert art.date_text == "June 11" and art.language == "en"
