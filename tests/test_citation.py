"""Citations people can paste: `Hit.citation`, its place in `qa ask --json` and the CLI, the card's
"Copy citation" button, and the Markdown / CSV / JSON downloads of an answer."""

from __future__ import annotations

import csv
from dataclasses import replace
import html
import io
import json

import pytest

from qa.answer.ask import Answer
from qa.answer.export import CSV_COLUMNS, to_csv, to_json, to_markdown, write_exports
from qa.types import Article, Hit, Passage
from qa.ui import render

BODY = "First page text here. Second page starts here and the answer is on it."


def make_hit(rank: int = 1, **fields) -> Hit:
    a = Article(**{"doc_id": "d1", "title": "Russia proposes talks", "body": BODY, **fields})
    start = BODY.index("Second")
    p = Passage(passage_id="d1:1", doc_id=a.doc_id, text=BODY[start:], char_start=start, char_end=len(BODY))
    return Hit(rank=rank, score=0.5, passage=p, article=a, scores={"bm25": 1.0})


@pytest.mark.parametrize("fields,want", [
    ({"source": "TASS", "date": "2021-06-11", "dateline": "MOSCOW, June 11, 2021. /TASS/.",
      "url": "https://tass.com/1"},
     "\u201cRussia proposes talks\u201d, TASS, Moscow, 2021-06-11. https://tass.com/1"),
    ({"source": "TASS", "date_text": "June 11", "dateline": "MOSCOW, June 11. /TASS/."},
     "\u201cRussia proposes talks\u201d, TASS, Moscow, June 11."),
    ({"source": "TASS"}, "\u201cRussia proposes talks\u201d, TASS, undated."),
    ({"source": "Agency bulletin", "date": "2021-06-11", "pages": (0, BODY.index("Second"))},
     "\u201cRussia proposes talks\u201d, Agency bulletin, 2021-06-11, p. 2."),
    ({"dateline": "LONDON (Reuters) -", "source": "Reuters", "date": "2022-03-03"},
     "\u201cRussia proposes talks\u201d, Reuters, London, 2022-03-03."),
    ({"dateline": "New York, March 3 -", "url": "javascript bad url"},
     "\u201cRussia proposes talks\u201d, New York, undated."),
])
def test_citation_formats(fields, want):
    assert make_hit(**fields).citation == want


def test_untitled_article_and_page_of_first_page():
    hit = make_hit(title="", pages=(0, 5))  # the passage starts after offset 5: page 2
    assert hit.citation.startswith("\u201c(untitled)\u201d") and hit.page == 2
    assert make_hit(pages=(0, 10_000)).page == 1 and make_hit().page is None


def test_json_contract_has_citation_and_date_text_and_page_only_when_known():
    d = make_hit(source="TASS", date_text="June 11", pages=(0, 5)).to_dict()
    assert d["citation"] == make_hit(source="TASS", date_text="June 11", pages=(0, 5)).citation
    assert d["date"] == "" and d["date_text"] == "June 11" and d["page"] == 2
    plain = make_hit(source="TASS", date="2021-06-11").to_dict()
    assert "date_text" not in plain and "page" not in plain and plain["citation"].endswith("2021-06-11.")


def test_cli_output_prints_the_citation_and_the_partial_date():
    from qa.answer.cite import format_hits

    out = format_hits("q", [make_hit(source="TASS", date_text="June 11", dateline="MOSCOW, June 11. /TASS/.")])
    assert "[1] Russia proposes talks \u2014 TASS, June 11 (d1, chars" in out
    assert "    Cite: \u201cRussia proposes talks\u201d, TASS, Moscow, June 11." in out


def test_cli_output_prints_the_readers_answer_words_only_when_it_pointed_at_some():
    from dataclasses import replace

    from qa.answer.cite import format_hits

    hit = make_hit(source="TASS")
    assert "answer:" not in format_hits("q", [hit])
    at = BODY.index("Second")
    out = format_hits("q", [replace(hit, answer=(at, at + len("Second")))])
    assert "    Reader's answer: Second\n    Cite:" in out


def test_ask_json_of_the_cli_carries_the_citation(corpus_dir, tmp_path, capsys):
    from qa.cli.main import main

    assert main(["index", str(corpus_dir), "--index", str(tmp_path / "ix"), "--backend", "hash"]) == 0
    capsys.readouterr()
    assert main(["ask", "decarbonization consultations", "-k", "1", "--index", str(tmp_path / "ix"),
                 "--json"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["citation"] == "\u201cRussia proposes energy talks\u201d, TASS, Moscow, 2021-06-11."


EVIL_TITLE = "He said \"no\" to <script>alert('x')</script> & it's O'Brien's"


def test_card_copy_button_holds_the_escaped_citation_and_no_script():
    hit = make_hit(title=EVIL_TITLE, source="TASS", date_text="June 11")
    markup = render.render_card(hit)
    assert "<script" not in markup and "onclick" not in markup.lower()
    from tests.test_ui_render import parse

    buttons = [attrs for tag, attrs in parse(markup).tags if tag == "button" and "data-copy" in attrs]
    assert len(buttons) == 1
    assert buttons[0]["data-citation"] == hit.citation  # what the browser hands to the clipboard
    raw = markup.split("data-citation='", 1)[1].split("'", 1)[0]  # the attribute ends at its own quote
    assert html.unescape(raw) == hit.citation and "&#x27;" in raw and "&quot;" in raw and "&lt;" in raw
    assert "Copy citation" in markup


def test_card_shows_date_text_instead_of_undated_and_the_page():
    markup = render.render_card(make_hit(source="TASS", date_text="June 11", pages=(0, 5)))
    assert "<span>June 11</span>" in markup and "undated" not in markup and "<span>p. 2</span>" in markup
    assert "<span>undated</span>" in render.render_card(make_hit(source="TASS"))


def test_article_view_shows_date_text_and_language():
    markup = render.render_article(Article("d1", "T", BODY, date_text="11 июня", language="ru"))
    assert "<dt>Date</dt><dd>11 июня</dd>" in markup and "<dt>Language</dt><dd>ru</dd>" in markup


def make_answer() -> Answer:
    hits = [make_hit(1, title="=HYPERLINK(\"http://evil\")", source="TASS", date_text="June 11",
                     dateline="MOSCOW, June 11. /TASS/.", url="https://tass.com/1"),
            make_hit(2, title="Россия | <b>ШОС</b>", source="@ТАСС", date="2021-06-11", pages=(0, 5))]
    return Answer("What did Russia propose?", 2, "bm25", 3.0, hits)


def test_csv_download_neutralises_formulas_and_has_every_column():
    rows = list(csv.DictReader(io.StringIO(to_csv(make_answer()))))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == 2
    assert rows[0]["title"].startswith("'=HYPERLINK") and rows[1]["source"] == "'@ТАСС"
    assert rows[0]["date_text"] == "June 11" and rows[0]["place"] == "Moscow" and rows[0]["page"] == ""
    assert rows[1]["page"] == "2" and rows[1]["citation"].startswith("\u201cРоссия")
    assert rows[0]["text"] == BODY[BODY.index("Second"):]
    assert rows[0]["answer"] == "" and CSV_COLUMNS[-1] == "answer"  # new column last: old readers keep theirs
    hit = make_answer().hits[0]
    at = BODY.index("Second")
    pointed = Answer("q", 1, "hybrid-read", 3.0, [replace(hit, answer=(at, at + 6))])
    assert list(csv.DictReader(io.StringIO(to_csv(pointed))))[0]["answer"] == "Second"


def test_markdown_download_escapes_html_and_pipes_and_lists_citations():
    md = to_markdown(make_answer())
    assert md.startswith("# What did Russia propose?\n")
    assert "&lt;b&gt;ШОС&lt;/b&gt;" in md and "<b>" not in md and "Россия \\| " in md
    assert "1. \u201c=HYPERLINK(\"http://evil\")\u201d, TASS, Moscow, June 11. https://tass.com/1 (`d1`)" in md
    assert "   > Second page starts here" in md


def test_json_download_is_the_ask_json_object():
    assert json.loads(to_json(make_answer())) == make_answer().to_dict()


def test_write_exports_writes_three_files_named_after_the_question(tmp_path):
    paths = write_exports(make_answer(), tmp_path)
    assert {p.name for p in paths.values()} == {"qa-what-did-russia-propose.md", "qa-what-did-russia-propose.csv",
                                                "qa-what-did-russia-propose.json"}
    assert paths["csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["hits"][1]["page"] == 2


def test_a_pdf_hit_cites_its_page_in_the_citation_and_json(tmp_path):
    from qa import Index
    from qa.settings import Settings
    from tests.support.documents import make_pdf
    from tests.support.fake_embedder import HashEmbedder

    pages = [["Energy talks", "Russia proposed consultations on the decarbonization of the economy."],
             ["Penguins at the southern research station were counted by drones in a new survey."]]
    make_pdf(tmp_path / "b.pdf", pages, info={"/Title": "Bulletin", "/Author": "TASS",
                                               "/CreationDate": "D:20210611093000+03'00'"})
    ix = Index.build([tmp_path / "b.pdf"], tmp_path / "ix", embedder=HashEmbedder(max_tokens=24),
                     settings=Settings(target_tokens=12, overlap_sentences=0))
    hit = next(h for h in ix.search("penguins research station drones", k=5, config="bm25") if "Penguins" in h.text)
    assert hit.citation == "\u201cBulletin\u201d, TASS, 2021-06-11, p. 2."
    assert hit.to_dict()["page"] == 2
