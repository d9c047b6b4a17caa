"""qa.ingest.dates and the dates ingest finds: full dates become ISO, partial ones stay as written,
no year or day is ever invented."""

from __future__ import annotations

import json

import pytest

from qa.ingest.dates import NO_DATE, ParsedDate, date_line, find_date, parse_date
from qa.ingest.reader import ingest, normalize_date, parse_html, parse_text, record_to_article
from qa.types import Article


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
def test_full_dates_become_iso(value, iso):
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
def test_dates_without_year_or_day_are_kept_as_written_never_completed(value, text):
    got = parse_date(value)
    assert got.iso == "" and got.text == text
    assert normalize_date(value) == ""


@pytest.mark.parametrize("value", [
    "", "Friday", "yesterday", "2 days ago", "12:30", "2021", "5", "1623400000", "June 31",
    "2026-02-30", "10 people", "Mayor 5, 2021", "no date here"])
def test_what_is_not_a_date_of_the_text_gives_no_date(value):
    assert parse_date(value) == NO_DATE and not parse_date(value)


def test_find_date_inside_datelines_and_bylines():
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
def test_date_line_is_a_paragraph_that_is_only_a_date(line, iso):
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


def test_header_date_without_year_is_kept_as_date_text():
    a = parse_text("Title: Talks\nDate: 11.06\nSource: TASS\n\nBody text here.\n", "x")
    assert a.date == "" and a.date_text == ""  # "11.06" could be June 11 or Nov 6: not a date
    b = parse_text("Title: Talks\nDate: 11 июня\n\nBody text here.\n", "x")
    assert b.date == "" and b.date_text == "11 июня"


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
