"""Whatever scrapers produce, ingest reports it and never crashes."""

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from qa.ingest.reader import SUPPORTED_EXTS, ingest


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=3000), ext=st.sampled_from(sorted(SUPPORTED_EXTS)))
def test_arbitrary_bytes_never_crash(tmp_path, data, ext):
    f = tmp_path / f"blob{ext}"
    f.write_bytes(data)
    report = ingest([f])
    assert report.files_read == 1
    # either articles or a reason, never silence
    assert report.articles or report.problems
    for a in report.articles:
        assert a.body.strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.dictionaries(st.sampled_from(["id", "title", "text", "date", "source"]),
                                          st.one_of(st.text(max_size=30), st.integers(), st.none())),
                          st.text(max_size=20)), max_size=8))
def test_arbitrary_jsonl_records_never_crash(tmp_path, records):
    f = tmp_path / "r.jsonl"
    f.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records))
    report = ingest([f])
    assert len(report.articles) + len(report.problems) >= 0
    assert all(isinstance(a.doc_id, str) and a.doc_id for a in report.articles)


def test_50_mb_single_article_is_refused_with_reason(tmp_path):
    f = tmp_path / "huge.txt"
    with open(f, "w") as fh:
        line = "A sentence about a big event that happened somewhere. " * 100 + "\n"
        while fh.tell() < 50 * 2**20:
            fh.write(line)
    (tmp_path / "ok.txt").write_text("Title\n\nSmall article body.")
    report = ingest([tmp_path])
    assert [a.doc_id for a in report.articles] == ["ok"]
    (path, reason), = report.problems
    assert path.endswith("huge.txt") and "MiB" in reason and ".jsonl" in reason


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    from pathlib import Path

    f = tmp_path / "secret.txt"
    f.write_text("Title\n\nBody.")
    (tmp_path / "fine.txt").write_text("Title\n\nBody.")
    real = Path.read_bytes

    def deny(self):
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    report = ingest([tmp_path])
    assert [a.doc_id for a in report.articles] == ["fine"]
    assert report.problems == [(str(f), "cannot read: Permission denied")]


# ---- field limits, ids, dates, line separators (issue 15, item 3) ------------------------------

def test_jsonl_with_unicode_line_separators_inside_strings_is_read(tmp_path):
    import json

    from qa.ingest.reader import ingest

    rec = {"id": "a1", "title": "Line\u2028separated", "text": "First\u2028second\u2029third\u0085fourth."}
    (tmp_path / "r.jsonl").write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    report = ingest([tmp_path])
    assert [a.doc_id for a in report.articles] == ["a1"] and not report.problems
    assert "second" in report.articles[0].body


def test_csv_with_bare_cr_line_endings_and_a_field_over_128_kib_is_read(tmp_path):
    from qa.ingest.reader import ingest

    body = "word " * 60_000  # 300,000 characters in one field
    (tmp_path / "r.csv").write_bytes(f'id,title,text\r"b1","Big","{body}"\r"b2","Small","tiny text"\r'.encode())
    report = ingest([tmp_path])
    assert sorted(a.doc_id for a in report.articles) == ["b1", "b2"] and not report.problems


def test_impossible_date_is_not_stored():
    from qa.ingest.reader import normalize_date

    assert normalize_date("2026-02-30") == "" and normalize_date("February 30, 2026") == ""
    assert normalize_date("2024-02-29") == "2024-02-29"


def test_blank_and_odd_ids_are_made_safe_and_reported(tmp_path):
    import json

    from qa.ingest.reader import ingest

    lines = [{"id": "  ", "title": "t", "text": "blank id text"},
             {"id": "x\x1b[31my", "title": "t", "text": "escape in id"}]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    report = ingest([tmp_path])
    ids = [a.doc_id for a in report.articles]
    assert ids[0] == "r-1" and ids[1] == "x[31my" and all(i.strip() for i in ids)
    assert any("control characters" in why for _, why in report.problems)


def test_overlong_metadata_is_cut_and_reported_per_record_and_overlong_id_refused(tmp_path):
    import json

    from qa.ingest.limits import MAX_CHARS, MAX_ID_CHARS
    from qa.ingest.reader import ingest

    recs = [{"id": "ok", "title": "t", "text": "normal body", "source": "S" * 200_000},
            {"id": "i" * (MAX_ID_CHARS + 1), "title": "t", "text": "body"}]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    report = ingest([tmp_path])
    assert [a.doc_id for a in report.articles] == ["ok"]
    assert len(report.articles[0].source) == MAX_CHARS["source"]
    where = dict(report.problems)
    assert "source is 200000 characters" in where[f"{tmp_path / 'r.jsonl'}:1"]
    assert "limit is" in where[f"{tmp_path / 'r.jsonl'}:2"]


def test_article_table_memory_does_not_grow_with_the_longest_value(tmp_path):
    import tracemalloc

    from qa.storage.folder import IndexFolder
    from qa.storage.tables import ArticleTable, write_tables
    from qa.types import Article

    arts = [Article(f"a{i}", "t", "b", source=f"src{i % 7}", date="2021-06-11") for i in range(2000)]
    arts[5] = Article("a5", "t", "b", source="S" * 200_000)  # written by an older qa, uncapped
    folder = IndexFolder(tmp_path)
    write_tables(folder, [], [], arts)
    tracemalloc.start()
    table = ArticleTable(folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, peak  # fixed-width arrays sized by the longest source took ~1.6 GB
    assert table.row_of("a1999") == 1999 and "a5" in table
