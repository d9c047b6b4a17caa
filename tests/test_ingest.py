import json

import pytest

from qa.errors import BadInput
from qa.ingest.reader import ingest, normalize_date, parse_text
from qa.ingest.decode import decode_bytes

from tests.conftest import ROOT


def test_parse_text_extracts_title_source_dateline_and_drops_boilerplate():
    art = parse_text("All news\n\nBig title\n\nMOSCOW, June 11, 2021. /TASS/. Body one.\n\n"
                     "About the author\n\nJohn", "doc1")
    assert art.title == "Big title"
    assert art.source == "TASS"
    assert art.date == "2021-06-11"
    assert art.dateline.startswith("MOSCOW, June 11, 2021")
    assert "All news" not in art.body and "About the author" not in art.body
    assert art.body.startswith("MOSCOW, June 11")


def test_parse_text_byline_gives_source_and_is_not_body():
    art = parse_text("Title here\n\nWritten by The Frontier Post\n\nMOSCOW (TASS): Russia said things.", "d")
    assert art.source == "The Frontier Post"
    assert art.byline == "The Frontier Post"
    assert "Written by" not in art.body
    assert art.dateline == "MOSCOW (TASS)"


def test_parse_text_header_block_sets_metadata():
    art = parse_text("Title: T\nSource: Wire\nDate: 2020-01-02\nURL: http://x\n\nThe body text.", "d")
    assert (art.title, art.source, art.date, art.url) == ("T", "Wire", "2020-01-02", "http://x")
    assert art.body == "The body text."


def test_parse_text_without_body_raises():
    with pytest.raises(BadInput, match="no article text"):
        parse_text("All news\n\nOnly a title\n", "d")


@pytest.mark.parametrize("text,iso", [("2021-06-11", "2021-06-11"), ("June 11, 2021", "2021-06-11"),
                                      ("11 Jun 2021", "2021-06-11"), ("June 11", ""), ("", "")])
def test_normalize_date(text, iso):
    assert normalize_date(text) == iso


def test_seed_articles_parse_as_a_reader_sees_them():
    report = ingest([ROOT / "data" / "articles"])
    by_id = {a.doc_id: a for a in report.articles}
    assert report.problems == []
    tass = by_id["000_61bf0e62819f0a3a"]
    assert tass.title.startswith("Russia involved in creation of documentary")
    assert tass.source == "TASS" and tass.dateline.startswith("MOSCOW, June 11")
    fp = by_id["003_73730ed10e7a2f7e"]
    assert fp.title == "Khakimov: SCO for an inclusive Govt. in Kabul"
    assert fp.source == "The Frontier Post"
    assert "About the author" not in fp.body and "Written by" not in fp.body


def test_ingest_reports_bad_files_and_keeps_good_ones(tmp_path):
    (tmp_path / "good.txt").write_text("Title\n\nSome body text here.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03binary\x00\x00" * 10)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    report = ingest([tmp_path, tmp_path / "missing.txt"])
    assert [a.doc_id for a in report.articles] == ["good"]
    reasons = dict(report.problems)
    assert "empty file" in reasons[str(tmp_path / "empty.txt")]
    assert "binary" in reasons[str(tmp_path / "binary.txt")]
    assert "no such file" in reasons[str(tmp_path / "missing.txt")]
    assert str(tmp_path / "image.png") not in reasons  # folders only pick supported types


def test_jsonl_records_with_malformed_line_reported_with_line_number(tmp_path):
    f = tmp_path / "recs.jsonl"
    f.write_text(json.dumps({"id": "a", "title": "A", "text": "Alpha text.", "source": "S",
                             "date": "2022-03-04"}) + "\n{not json\n"
                 + json.dumps({"id": "b", "text": ""}) + "\n")
    report = ingest([f])
    assert [a.doc_id for a in report.articles] == ["a"]
    assert report.articles[0].date == "2022-03-04"
    where = [p for p, _ in report.problems]
    assert f"{f}:2" in where and f"{f}:3" in where


def test_csv_records_and_missing_text_column(tmp_path):
    good = tmp_path / "a.csv"
    good.write_text("id,title,text,source\nx1,T1,First text.,Wire\nx2,T2,Second text.,Wire\n")
    bad = tmp_path / "b.csv"
    bad.write_text("id,title\n1,no text\n")
    report = ingest([good, bad])
    assert [a.doc_id for a in report.articles] == ["x1", "x2"]
    assert any("needs a 'text' column" in r for _, r in report.problems)


def test_duplicate_doc_ids_are_reported_not_overwritten(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "same", "text": "first"}) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "same", "text": "second"}) + "\n")
    report = ingest([tmp_path])
    assert len(report.articles) == 1 and report.articles[0].body == "first"
    assert any("duplicate doc_id 'same'" in r for _, r in report.problems)


def test_html_main_text_via_trafilatura(tmp_path):
    html = ("<html><head><title>Page title</title></head><body><nav>Home | About</nav><article>"
            "<h1>Big news</h1><p>" + "The council approved the new budget on Monday after a long debate. " * 5
            + "</p></article><footer>Copyright</footer></body></html>")
    f = tmp_path / "page.html"
    f.write_text(html)
    report = ingest([f])
    assert report.problems == []
    art = report.articles[0]
    assert "approved the new budget" in art.body
    assert "Copyright" not in art.body


@pytest.mark.parametrize("data,expected", [
    ("caf\u00e9 news".encode("latin-1"), "caf\u00e9 news"),
    ("caf\u00e9 news".encode("utf-16"), "caf\u00e9 news"),
    ("caf\u00e9 news".encode("utf-16-le"), "caf\u00e9 news"),
    ("\ufeffcaf\u00e9".encode("utf-8"), "caf\u00e9"),
])
def test_decode_bytes_handles_common_encodings(data, expected):
    assert decode_bytes(data) == expected


def test_decode_bytes_refuses_binary():
    with pytest.raises(BadInput, match="binary"):
        decode_bytes(bytes(range(256)) * 4)
