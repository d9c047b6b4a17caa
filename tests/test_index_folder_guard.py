"""An index is written only into an empty folder or an existing qa index, never over the user's
files or the articles being indexed (issue 15, item 1)."""

from __future__ import annotations

import pytest

from qa import Index
from qa.errors import BadInput


def _files(folder):
    return sorted((p.relative_to(folder).as_posix(), p.read_bytes()) for p in folder.rglob("*") if p.is_file())


def test_build_into_a_folder_of_other_files_raises_and_touches_nothing(corpus_dir, tmp_path, fake_embedder):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.docx").write_bytes(b"my work")
    (mine / "notes").mkdir()
    (mine / "notes" / "n.txt").write_text("ideas")
    before = _files(mine)
    with pytest.raises(BadInput, match="not a qa index.*chapter1.docx.*nothing was written"):
        Index.build([corpus_dir], mine, embedder=fake_embedder)
    assert _files(mine) == before
    assert not list(tmp_path.glob(".thesis*"))  # no lock file, no temporary build beside it
    assert fake_embedder.embedded == 0


def test_build_into_the_articles_folder_or_around_it_raises(corpus_dir, tmp_path, fake_embedder):
    before = _files(corpus_dir)
    for target in (corpus_dir, corpus_dir.parent):
        with pytest.raises(BadInput, match="overlaps the articles being indexed"):
            Index.build([corpus_dir], target, embedder=fake_embedder)
    assert _files(corpus_dir) == before


def test_an_index_inside_the_articles_folder_is_not_read_as_articles(corpus_dir, fake_embedder):
    target = corpus_dir / "index"
    first = Index.build([corpus_dir], target, embedder=fake_embedder)
    again = Index.build([corpus_dir], target, embedder=fake_embedder)  # its .jsonl files are skipped
    assert len(first.articles) == len(again.articles) == 3 and again.last_build.up_to_date


def test_build_into_a_file_raises(corpus_dir, tmp_path, fake_embedder):
    f = tmp_path / "index"
    f.write_text("not a folder")
    with pytest.raises(BadInput, match="is a file"):
        Index.build([corpus_dir], f, embedder=fake_embedder)
    assert f.read_text() == "not a folder"


def test_build_into_an_empty_or_placeholder_folder_or_an_index_works(corpus_dir, tmp_path, fake_embedder):
    target = tmp_path / "index"
    target.mkdir()
    (target / ".gitkeep").touch()  # the repository's own index/ placeholder
    ix = Index.build([corpus_dir], target, embedder=fake_embedder)
    assert len(ix.articles) == 3
    again = Index.build([corpus_dir], target, embedder=fake_embedder)  # an existing qa index
    assert again.last_build.up_to_date


def test_cli_index_into_a_foreign_folder_exits_2_with_one_line(corpus_dir, tmp_path, capsys):
    from qa.cli.main import main

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "photo.jpg").write_bytes(b"\xff\xd8")
    code = main(["index", str(corpus_dir), "--index", str(mine), "--backend", "hash"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "photo.jpg" in err
    assert (mine / "photo.jpg").read_bytes() == b"\xff\xd8" and len(list(mine.iterdir())) == 1

