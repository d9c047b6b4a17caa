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


def test_questions_are_answered_from_the_old_index_while_an_upload_indexes(built_index, tmp_path):
    import threading
    import time

    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")
    saved, _ = service.save_uploads([_upload(tmp_path, "slow.txt", "Harbour news\n\nShips arrived late.\n")])
    building, answered = threading.Event(), []

    def slow_progress(done, total):
        building.set()
        time.sleep(1.0)  # the embedding of the upload takes a while

    writer = threading.Thread(target=service.add, args=(saved,), kwargs={"progress": slow_progress})
    writer.start()
    assert building.wait(10)
    t0 = time.perf_counter()
    answer = service.ask("football team won the cup final", k=1)  # during the build
    answered.append(time.perf_counter() - t0)
    assert writer.is_alive()  # the question did not wait for the build to finish
    writer.join(20)
    assert answer.hits and answer.hits[0].doc_id == "football"
    assert "slow" in built_index.articles


def test_a_ui_write_does_not_revert_a_concurrent_cli_build(built_index, tmp_path, corpus_dir, fake_embedder):
    from qa.storage.builder import build_index, current_articles
    from qa.storage.folder import IndexFolder
    from qa.types import Article

    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")
    # another process adds an article after the UI loaded the index
    extra = Article("cli-added", "Added by the CLI", "A separate article about glaciers.", path="x.txt")
    build_index(lambda cur: cur + [extra], built_index.folder, fake_embedder)
    saved, _ = service.save_uploads([_upload(tmp_path, "ui.txt", "Harbour news\n\nShips arrived.\n")])
    service.add(saved)
    ids = {a.doc_id for a in current_articles(IndexFolder(built_index.folder))}
    assert {"cli-added", "ui", "energy"} <= ids
