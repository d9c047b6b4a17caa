"""An upload never replaces another upload or an indexed article (issue 15, item 1)."""

from __future__ import annotations

from pathlib import Path

from qa.ui.service import Service


def _upload(tmp_path: Path, name: str, text: str) -> Path:
    d = tmp_path / "incoming" / str(len(list(tmp_path.glob("incoming/*"))))
    d.mkdir(parents=True)
    f = d / name
    f.write_text(text, encoding="utf-8")
    return f


def test_second_upload_of_the_same_name_is_refused_and_the_first_kept(built_index, tmp_path):
    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")
    first, rejected = service.save_uploads([_upload(tmp_path, "note.txt", "Harbour news\n\nShips arrived.\n")])
    assert rejected == []
    service.add(first)
    saved, rejected = service.save_uploads([_upload(tmp_path, "note.txt", "Other\n\nSomething else.\n")])
    assert saved == [] and "uploaded before" in rejected[0][1]
    assert "Ships arrived" in (tmp_path / "up" / "note.txt").read_text()
    assert "Ships arrived" in built_index.articles["note"].body


def test_upload_whose_id_is_an_indexed_article_is_refused_and_not_kept(built_index, tmp_path):
    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")
    original = built_index.articles["energy"].body
    saved, rejected = service.save_uploads([_upload(tmp_path, "energy.txt", "Hijack\n\nReplaced text.\n")])
    assert rejected == []
    report = service.add(saved)
    assert report.articles == [] and any("already indexed" in why for _, why in report.problems)
    assert built_index.articles["energy"].body == original
    assert not saved[0].exists()  # it would come back on the next rebuild of data/ and uploads
