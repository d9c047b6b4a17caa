"""`qa index` with no path re-indexes what the index was built from, uploads included (issue 15, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

from qa.cli.main import main
from qa.storage.builder import recorded_sources
from qa.storage.folder import IndexFolder
from qa.ui.service import Service


def _index_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["index", *args, "--backend", "hash", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_manifest_records_the_sources_as_absolute_paths(corpus_dir, tmp_path, capsys):
    ix = tmp_path / "ix"
    _index_json(capsys, str(corpus_dir), "--index", str(ix))
    assert recorded_sources(IndexFolder(ix)) == [str(corpus_dir.resolve())]


def test_index_with_no_path_reads_the_recorded_sources_and_finds_new_files(corpus_dir, tmp_path, capsys,
                                                                           monkeypatch):
    ix = tmp_path / "ix"
    first = _index_json(capsys, str(corpus_dir), "--index", str(ix))
    (corpus_dir / "harbour.txt").write_text("Harbour news\n\nThe ships arrived at dawn.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no data/articles here: only the manifest says what to read
    again = _index_json(capsys, "--index", str(ix))
    assert again["sources"] == [str(corpus_dir.resolve())]
    assert again["articles"] == first["articles"] + 1 and again["added"] == 1
    assert again["skipped"] == []


def test_index_with_no_path_keeps_the_uploads_of_the_web_ui(built_index, tmp_path, capsys, monkeypatch):
    upload_dir = tmp_path / "uploads"
    service = Service(built_index.folder, index=built_index, upload_dir=upload_dir)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "harbour.txt").write_text("Harbour news\n\nThe ships arrived at dawn.\n", encoding="utf-8")
    saved, _ = service.save_uploads([incoming / "harbour.txt"])
    service.add(saved)
    assert str(saved[0].resolve()) in recorded_sources(IndexFolder(built_index.folder))
    monkeypatch.chdir(tmp_path)
    out = _index_json(capsys, "--index", str(built_index.folder), "--rebuild")
    ids = {a["doc_id"] for a in _articles(built_index.folder)}
    assert "harbour" in ids and "energy" in ids, out


def test_an_upload_inside_a_recorded_folder_is_not_recorded_twice(corpus_dir, tmp_path, capsys):
    from qa.storage.builder import add_sources

    recorded = [str(corpus_dir.resolve())]
    assert add_sources([corpus_dir / "sub" / "x.txt"])(recorded) == recorded
    assert add_sources([tmp_path / "other.txt"])(recorded) == recorded + [str((tmp_path / "other.txt").resolve())]


def test_a_recorded_source_that_is_gone_is_named_and_left_out(corpus_dir, tmp_path, capsys):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "harbour.txt").write_text("Harbour news\n\nThe ships arrived at dawn.\n", encoding="utf-8")
    ix = tmp_path / "ix"
    _index_json(capsys, str(corpus_dir), str(extra), "--index", str(ix))
    (extra / "harbour.txt").unlink()
    extra.rmdir()
    out = _index_json(capsys, "--index", str(ix))
    assert out["sources"] == [str(corpus_dir.resolve())]
    assert any(s["path"] == str(extra.resolve()) and "no longer exists" in s["reason"] for s in out["skipped"])
    assert out["removed"] == 1
    assert recorded_sources(IndexFolder(ix)) == [str(corpus_dir.resolve())]


def test_explicit_paths_replace_the_recorded_sources(corpus_dir, tmp_path, capsys):
    ix = tmp_path / "ix"
    _index_json(capsys, str(corpus_dir), "--index", str(ix))
    one = tmp_path / "one"
    one.mkdir()
    (one / "harbour.txt").write_text("Harbour news\n\nThe ships arrived at dawn.\n", encoding="utf-8")
    _index_json(capsys, str(one), "--index", str(ix))
    assert recorded_sources(IndexFolder(ix)) == [str(one.resolve())]


def _articles(folder: Path) -> list[dict]:
    from qa.storage.tables import iter_records

    return list(iter_records(IndexFolder(folder).articles_file))


def test_what_ingest_reads_as_a_url_is_recorded_as_given_and_never_as_a_path(tmp_path):
    from qa.storage.builder import add_sources, source_key

    assert source_key(" https://example.com/a ") == "https://example.com/a"
    assert source_key("ftp://example.com/a") == "ftp://example.com/a"  # refused by ingest, named as given
    assert source_key(tmp_path / "x" / ".." / "y") == str((tmp_path / "y").resolve())
    assert add_sources(["https://example.com/a"])([str(tmp_path)]) == [str(tmp_path), "https://example.com/a"]
