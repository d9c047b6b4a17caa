"""PDF and DOCX files (issue 16, items 1 and 2): text, pages, metadata, and the files that cannot
be read reported with the reason. The files are made here: tests/support/documents.py."""

from datetime import datetime

import pytest

from qa import Index
from qa.ingest.documents import NO_TEXT_LAYER, pdf_date, read_docx
from qa.ingest.reader import SUPPORTED_EXTS, ingest, normalize_date
from qa.text.chunking import chunk_articles
from qa.settings import Settings
from tests.support.documents import make_docx, make_pdf
from tests.support.fake_embedder import HashEmbedder

PAGE1 = ["Russia proposes energy talks",
         "MOSCOW, June 11. Russia proposed consultations on the decarbonization of the economy",
         "among member states. The envoy said this at an online briefing on Friday."]
PAGE2 = ["The energy ministers met for the first time this year in the capital.",
         "A cooperation mechanism for carbon markets will be created next spring."]
PAGE3 = ["Penguins at the southern research station were counted by drones in a new survey."]
INFO = {"/Title": "Energy talks bulletin", "/Author": "TASS", "/CreationDate": "D:20210611093000+03'00'"}


def _one(report):
    assert len(report.articles) == 1, report.problems
    return report.articles[0]


# ---- PDF ---------------------------------------------------------------------------------------

def test_pdf_text_page_by_page_with_metadata(tmp_path):
    art = _one(ingest([make_pdf(tmp_path / "bulletin.pdf", [PAGE1, PAGE2, PAGE3], info=INFO)]))
    assert (art.doc_id, art.title, art.source, art.byline, art.date) == (
        "bulletin", "Energy talks bulletin", "TASS", "TASS", "2021-06-11")
    # wrapped lines are joined into one sentence; the page breaks are recorded as body offsets
    assert "decarbonization of the economy among member states." in art.body
    assert len(art.pages) == 3 and art.pages[0] == 0
    assert art.body[art.pages[1]:].startswith("The energy ministers")
    assert art.body[art.pages[2]:].startswith("Penguins at the southern")
    assert art.page_at(art.body.index("envoy")) == 1
    assert art.page_at(art.body.index("carbon markets")) == 2
    assert art.page_at(art.body.index("Penguins")) == 3


def test_every_passage_of_a_pdf_knows_its_page(tmp_path):
    art = _one(ingest([make_pdf(tmp_path / "b.pdf", [PAGE1, PAGE2, PAGE3], info=INFO)]))
    passages = chunk_articles([art], HashEmbedder(max_tokens=24), Settings(target_tokens=12, overlap_sentences=0))
    assert len(passages) >= 3
    pages = {p.text: art.page_at(p.char_start) for p in passages}
    for text, page in pages.items():
        expected = 1 if "envoy" in text or "Russia" in text else 2 if "ministers" in text or "carbon" in text else 3
        assert page == expected, (text, page)


def test_a_hit_from_a_pdf_carries_the_page_of_its_passage(tmp_path):
    make_pdf(tmp_path / "b.pdf", [PAGE1, PAGE2, PAGE3], info=INFO)
    ix = Index.build([tmp_path / "b.pdf"], tmp_path / "ix", embedder=HashEmbedder(max_tokens=24),
                     settings=Settings(target_tokens=12, overlap_sentences=0))
    hit = next(h for h in ix.search("penguins research station drones", k=5, config="bm25") if "Penguins" in h.text)
    assert hit.article.pages and hit.article.page_at(hit.passage.char_start) == 3


def test_pdf_without_metadata_takes_its_first_line_as_title(tmp_path):
    art = _one(ingest([make_pdf(tmp_path / "plain.pdf", [PAGE1, PAGE2])]))
    assert art.title == "Russia proposes energy talks"
    assert not art.body.startswith("Russia proposes energy talks")  # the title is not cited text
    assert (art.source, art.byline, art.date) == ("", "", "")
    assert art.page_at(art.body.index("ministers")) == 2


def test_pdf_placeholder_title_falls_back_to_the_first_line(tmp_path):
    pdf = make_pdf(tmp_path / "x.pdf", [PAGE1], info={"/Title": "Microsoft Word - draft7.docx", "/Author": "Administrator"})
    art = _one(ingest([pdf]))
    assert art.title == "Russia proposes energy talks" and art.source == ""


@pytest.mark.parametrize("raw,iso", [
    ("D:20210611093000+03'00'", "2021-06-11"), ("D:20210611", "2021-06-11"), ("20210611120000Z", "2021-06-11"),
    ("D:2021", ""), ("D:202106", ""), ("D:20210231", ""), ("June 11, 2021", "2021-06-11"), ("", ""), ("garbage", "")])
def test_pdf_dates_become_iso(raw, iso):
    assert pdf_date(raw, normalize_date) == iso


def test_scanned_pdf_is_reported_not_indexed_empty(tmp_path):
    pdf = make_pdf(tmp_path / "scan.pdf", [None, None])
    report = ingest([pdf])
    assert report.articles == []
    assert report.problems == [(str(pdf), NO_TEXT_LAYER)]
    assert NO_TEXT_LAYER.startswith("no text layer; OCR it first")


def test_pdf_with_a_scanned_page_indexes_the_text_and_names_the_page(tmp_path):
    pdf = make_pdf(tmp_path / "mixed.pdf", [PAGE1, None, [], PAGE3])
    report = ingest([pdf])
    art = _one(report)
    assert "Penguins" in art.body and art.page_at(art.body.index("Penguins")) == 4
    (where, why), = report.problems  # the blank page 3 is not a problem, the image page 2 is
    assert where == str(pdf) and why.startswith("page(s) 2 of 4 are images without a text layer")


def test_password_protected_pdf_is_reported_with_the_fix(tmp_path):
    pdf = make_pdf(tmp_path / "locked.pdf", [PAGE1], password="secret")
    report = ingest([pdf])
    assert report.articles == []
    (where, why), = report.problems
    assert "encrypted PDF" in why and "password" in why and "unprotected copy" in why


@pytest.mark.parametrize("algorithm", ["AES-128", "RC4-128"])
def test_pdf_encrypted_without_a_user_password_is_read(tmp_path, algorithm):
    # permission-only protection: anyone may open it, so qa may read it
    art = _one(ingest([make_pdf(tmp_path / "open.pdf", [PAGE1, PAGE2], password="", algorithm=algorithm)]))
    assert "cooperation mechanism" in art.body


@pytest.mark.parametrize("data", [b"%PDF-1.4\n1 0 obj << /Type /Catalog", b"not a pdf at all", b"%PDF-1.7\n" + bytes(range(256)) * 4])
def test_damaged_pdf_is_reported_with_a_clear_reason(tmp_path, data):
    f = tmp_path / "broken.pdf"
    f.write_bytes(data)
    report = ingest([f])
    assert report.articles == []
    (where, why), = report.problems
    assert where == str(f) and "not a readable PDF" in why and "damaged" in why


def test_truncated_pdf_is_reported_or_read_never_a_crash(tmp_path):
    whole = make_pdf(tmp_path / "whole.pdf", [PAGE1, PAGE2]).read_bytes()
    f = tmp_path / "cut.pdf"
    f.write_bytes(whole[: len(whole) // 2])
    report = ingest([f])
    assert report.files_read == 1 and (report.articles or report.problems)
    assert all(why for _, why in report.problems)


# ---- DOCX --------------------------------------------------------------------------------------

def test_docx_paragraphs_in_order_with_title_style_and_core_properties(tmp_path):
    f = make_docx(tmp_path / "memo.docx", [
        "Desk note",  # before the Title paragraph: stays body text
        ("Russia proposes energy talks", "Title"),
        ("MOSCOW, June 11. Russia proposed consultations on decarbonization.", None),
        ("Background", "Heading 1"),
        "The energy ministers met for the first time this year."],
        title="Core title loses to the Title style", author="Anna Ivanova", created=datetime(2021, 6, 11, 8, 30))
    art = _one(ingest([f]))
    assert art.title == "Russia proposes energy talks"
    assert art.body.split("\n\n") == ["Desk note", "MOSCOW, June 11. Russia proposed consultations on decarbonization.",
                                      "Background", "The energy ministers met for the first time this year."]
    assert (art.byline, art.source, art.date, art.doc_id) == ("Anna Ivanova", "Anna Ivanova", "2021-06-11", "memo")


def test_docx_title_from_core_properties_then_first_paragraph(tmp_path):
    with_props = make_docx(tmp_path / "a.docx", ["First paragraph line", "Second paragraph."], title="Core title")
    art = _one(ingest([with_props]))
    assert art.title == "Core title" and art.body.startswith("First paragraph line")
    bare = make_docx(tmp_path / "b.docx", ["Budget approved", "The council approved the budget."])
    art = _one(ingest([bare]))
    assert (art.title, art.body) == ("Budget approved", "The council approved the budget.")
    # python-docx's own template values are not the article's author or date
    assert (art.byline, art.source, art.date) == ("", "", "")


def test_docx_tables_are_read_in_place(tmp_path):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Election results", style="Title")
    doc.add_paragraph("Turnout was high.")
    table = doc.add_table(rows=2, cols=2)
    for r, row in enumerate([("Party", "Seats"), ("Greens", "12")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    doc.add_paragraph("Counting ended at midnight.")
    doc.save(str(tmp_path / "t.docx"))
    art = _one(ingest([tmp_path / "t.docx"]))
    assert art.body.split("\n\n") == ["Turnout was high.", "Party | Seats", "Greens | 12", "Counting ended at midnight."]


def test_docx_with_only_a_title_or_nothing_is_reported(tmp_path):
    report = ingest([make_docx(tmp_path / "t.docx", [("Just a title", "Title")]),
                     make_docx(tmp_path / "e.docx", [])])
    assert report.articles == []
    assert {why for _, why in report.problems} == {
        "no text in the Word file after the title; expected paragraphs of article text",
        "no text in the Word file; expected paragraphs of article text"}


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old .doc", b"plain text"])
def test_damaged_or_mislabelled_docx_is_reported(tmp_path, data):
    f = tmp_path / "bad.docx"
    f.write_bytes(data)
    report = ingest([f])
    (where, why), = report.problems
    assert report.articles == [] and "not a readable Word .docx file" in why and "save it again as .docx" in why


def test_docx_created_as_text_date_uses_the_date_parser():
    from unittest import mock

    with mock.patch("qa.ingest.documents._docx_content",
                    return_value=(["Body text."], "T", {"title": "", "author": "", "created": "June 11, 2021"})):
        assert read_docx(b"", "d", to_iso=normalize_date).date == "2021-06-11"


def test_new_formats_are_supported_extensions_and_named_in_the_unsupported_message(tmp_path):
    assert {".pdf", ".docx", ".rss", ".atom", ".xml"} <= SUPPORTED_EXTS
    f = tmp_path / "slides.pptx"
    f.write_bytes(b"x")
    (where, why), = ingest([f]).problems
    for ext in (".pdf", ".docx", ".rss", ".atom", ".xml", ".txt"):
        assert ext in why


def test_oversized_pdf_is_refused_by_size_before_parsing(tmp_path, monkeypatch):
    import sys

    reader = sys.modules["qa.ingest.reader"]  # the package attribute qa.ingest is the function

    monkeypatch.setattr(reader, "MAX_PACKED_BYTES", 2**20)
    pdf = make_pdf(tmp_path / "big.pdf", [PAGE1])
    pdf.write_bytes(pdf.read_bytes() + b"%" + b"x" * 2 * 2**20 + b"\n")  # a comment after the end
    report = ingest([pdf])
    assert report.articles == [] and report.problems == [(str(pdf), "file is 2 MiB, over the 1 MiB limit for .pdf files")]

    monkeypatch.setattr(reader, "MAX_ARTICLE_BYTES", 100)  # the text of a small file can be too much
    docx = make_docx(tmp_path / "long.docx", ["Title line", "A paragraph of text. " * 20])
    (where, why), = ingest([docx]).problems
    assert why.startswith("the text is 0.0 MiB, over the 0 MiB limit for one article; split the document")


# ---- damaged files of every new kind: reported or read, never a crash ---------------------------

def _samples(tmp_path):
    from tests.test_feeds import ATOM, RSS

    return {".pdf": make_pdf(tmp_path / "s.pdf", [PAGE1, PAGE2], info=INFO).read_bytes(),
            ".docx": make_docx(tmp_path / "s.docx", [("T", "Title"), "Body one.", "Body two."]).read_bytes(),
            ".rss": RSS.encode(), ".atom": ATOM.encode()}


def test_mangled_pdf_docx_and_feeds_never_crash(tmp_path):
    from hypothesis import HealthCheck, given, settings, strategies as st

    samples = _samples(tmp_path)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ext=st.sampled_from(sorted(samples)), cut=st.floats(0, 1),
           flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
    def check(ext, cut, flips):
        data = bytearray(samples[ext][: max(1, int(len(samples[ext]) * cut))] if cut < 0.9 else samples[ext])
        for where, byte in flips:
            data[min(len(data) - 1, int(len(data) * where))] = byte
        f = tmp_path / f"m{ext}"
        f.write_bytes(bytes(data))
        report = ingest([f])
        assert report.files_read == 1 and (report.articles or report.problems)
        assert all(a.body.strip() for a in report.articles)
        assert all(isinstance(why, str) and why for _, why in report.problems)

    check()


def test_ui_upload_accepts_and_indexes_pdf_docx_and_feeds(built_index, tmp_path):
    from qa.ui.service import Service, safe_filename
    from tests.test_feeds import RSS

    assert safe_filename("Bulletin 7.PDF") == "Bulletin_7.pdf"
    src = tmp_path / "src"
    src.mkdir()
    files = [make_pdf(src / "bulletin.pdf", [PAGE1, PAGE3]),
             make_docx(src / "memo.docx", [("Council memo", "Title"), "The council approved the harbour budget."])]
    (src / "tass.rss").write_text(RSS, encoding="utf-8")
    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")
    saved, rejected = service.save_uploads(files + [src / "tass.rss"])
    assert rejected == [] and len(saved) == 3
    report = service.add(saved)
    assert {"bulletin", "memo"} <= {a.doc_id for a in report.articles}
    assert sum(a.doc_id.startswith("tass-") for a in report.articles) == 2
    hits = service.index().search("harbour budget council", k=3, config="bm25")
    assert hits[0].doc_id == "memo"


def test_a_pdf_bulletin_without_metadata_takes_place_agency_and_partial_date_from_its_dateline(tmp_path):
    pdf = make_pdf(tmp_path / "bulletin.pdf", [["Russia proposes energy talks", "",
                                                "MOSCOW, June 11. /TASS/. Russia proposed consultations on",
                                                "the decarbonization of the economy among member states."]])
    art = _one(ingest([pdf]))
    assert art.dateline.startswith("MOSCOW, June 11") and art.source == "TASS"
    assert art.date == "" and art.date_text == "June 11"  # no year in the dateline: none invented


def test_a_docx_dateline_never_overrides_the_date_of_its_core_properties(tmp_path):
    f = make_docx(tmp_path / "note.docx", [("Energy talks", "Title"),
                                          "MOSCOW, June 11. /TASS/. Russia proposed consultations.",
                                          "A cooperation mechanism will be created."],
                  author="Desk", created=datetime(2021, 6, 12, 9, 0))
    art = _one(ingest([f]))
    assert art.dateline.startswith("MOSCOW, June 11") and art.date == "2021-06-12" and art.source == "Desk"
