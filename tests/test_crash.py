"""Kill `qa index` with SIGKILL at several points: the previous index keeps answering and the
rerun embeds only what no finished shard holds."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import Index

from tests.conftest import ROOT
from tests.support.fake_embedder import HashEmbedder

pytestmark = pytest.mark.slow


def _records(start, n):
    return "".join(json.dumps({"id": f"a{i}", "title": f"Story {i}",
                               "text": f"Report number {i} on topic {i % 17}. " * 12}) + "\n"
                   for i in range(start, start + n))


def _start_index(corpus, ix):
    env = {**os.environ, "QA_HASH_DELAY": "0.25", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.support.qa_cli", "index", str(corpus),
                             "--index", str(ix), "--backend", "hash"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(pred, proc, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def _shards(ix):
    return sorted((ix / ".partial").glob("shard-*.json")) if (ix / ".partial").exists() else []


def _ask_old_index_still_answers(ix, expected_articles):
    r = subprocess.run([sys.executable, "-m", "tests.support.qa_cli", "ask", "topic 3 report", "--index", str(ix),
                        "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hits"]
    assert len(Index.load(ix, embedder=HashEmbedder()).articles) == expected_articles


def test_sigkill_during_index_keeps_previous_index_and_resumes(tmp_path):
    corpus, ix = tmp_path / "corpus", tmp_path / "ix"
    corpus.mkdir()
    (corpus / "old.jsonl").write_text(_records(0, 50))
    first = Index.build([corpus], ix, embedder=HashEmbedder())
    old_passages = len(first.passages)
    old_texts = old_passages + first.manifest["counts"]["sentences"]  # passages + highlight sentences
    (corpus / "new.jsonl").write_text(_records(50, 1200))

    # 1) killed after the first shard of new embeddings was saved
    proc = _start_index(corpus, ix)
    assert _wait_for(lambda: len(_shards(ix)) >= 1, proc), proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _ask_old_index_still_answers(ix, 50)

    # 2) killed again a few shards later
    proc = _start_index(corpus, ix)
    n0 = len(_shards(ix))
    assert _wait_for(lambda: len(_shards(ix)) >= n0 + 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _ask_old_index_still_answers(ix, 50)

    # 3) killed while the new folder is being written (after embedding)
    proc = _start_index(corpus, ix)
    assert _wait_for(lambda: any(p.name.startswith(".ix.tmp-") for p in tmp_path.iterdir()), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _ask_old_index_still_answers(ix, 50)

    saved = sum(len(json.loads(p.read_text())["keys"]) for p in _shards(ix))
    assert saved > 0
    emb = HashEmbedder()
    final = Index.build([corpus], ix, embedder=emb)
    stats = final.last_build
    assert len(final.articles) == 1250
    # every text saved in a shard or held by the old index is reused; only the rest is embedded
    texts = len(final.passages) + final.manifest["counts"]["sentences"]
    embedded = stats.embedded + stats.sentences_embedded
    assert texts - embedded == old_texts + saved
    assert embedded == emb.embedded
    assert not (ix / ".partial").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ix.tmp-")]
    Index.load(ix, embedder=HashEmbedder())  # checksums verify


def test_full_disk_gives_one_error_and_keeps_the_previous_index(corpus_dir, tmp_path, fake_embedder,
                                                              monkeypatch, capsys):
    import errno

    import qa.storage.builder as builder
    from qa.errors import IndexWriteError

    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=fake_embedder)
    before = len(ix.articles)
    (corpus_dir / "more.txt").write_text("Harbour news\n\nShips arrived late at night.\n")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", "passages.jsonl")

    monkeypatch.setattr(builder, "write_tables", full)
    with pytest.raises(IndexWriteError, match="no space left.*previous index is unchanged"):
        Index.build([corpus_dir], tmp_path / "ix", embedder=fake_embedder)
    assert len(Index.load(tmp_path / "ix", embedder=fake_embedder).articles) == before
    assert not list(tmp_path.glob(".ix.tmp-*"))  # the half-written build is gone

    from qa.cli.main import main

    assert main(["index", str(corpus_dir), "--index", str(tmp_path / "ix"), "--backend", "hash"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no space left") and "Traceback" not in err


def test_index_in_a_mount_point_is_swapped_by_a_link_inside_it(corpus_dir, tmp_path, fake_embedder, monkeypatch):
    import os

    import qa.storage.folder as folder_mod

    target = tmp_path / "volume"
    target.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(folder_mod.os.path, "ismount", lambda p: Path(p) == target or real_ismount(p))

    def no_rename(a, b):
        raise AssertionError("a mount point cannot be renamed or exchanged")

    monkeypatch.setattr(folder_mod, "_exchange", no_rename)
    first = Index.build([corpus_dir], target, embedder=fake_embedder)
    assert (target / "current").is_symlink() and first.search("cup final", k=1)[0].doc_id == "football"
    v1 = os.readlink(target / "current")
    (corpus_dir / "more.txt").write_text("Harbour news\n\nShips arrived late at night in the harbour.\n")
    reader = Index.load(target, embedder=fake_embedder)
    second = Index.build([corpus_dir], target, embedder=fake_embedder)
    v2 = os.readlink(target / "current")
    assert v1 != v2 and not (target / v1).exists()  # the old version folder is gone
    assert "more" in second.articles
    assert reader.search("cup final", k=1)[0].doc_id == "football"  # picks up the new build
    assert "more" in reader.articles
    assert sorted(p.name for p in target.iterdir()) == sorted(["current", ".lock", v2])
