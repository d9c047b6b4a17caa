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
