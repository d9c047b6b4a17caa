"""Kill `qa index` with SIGKILL at several points: the last committed build (a step of the
killed one, or the index before it) keeps answering and the rerun embeds only what neither it
nor a finished shard holds."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
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
    return sorted((ix / ".partial").rglob("shard-*.json")) if (ix / ".partial").exists() else []


def _ask_the_last_committed_build_answers(ix):
    """`qa ask` answers from what is committed; returns the answer's "pending" counts."""
    r = subprocess.run([sys.executable, "-m", "tests.support.qa_cli", "ask", "topic 3 report", "--index", str(ix),
                        "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["hits"]
    return answer["pending"]


def _embedded_keys(ix):
    """The embedding keys whose vectors the committed index holds (not those still pending)."""
    from qa.storage.folder import IndexFolder
    from qa.storage.tables import iter_records

    folder = IndexFolder(ix)
    pending = set(np.load(folder.pending_file).tolist()) if folder.pending_file.exists() else set()
    keys = {p["embed_key"] for i, p in enumerate(iter_records(folder.passages_file)) if i not in pending}
    return keys | {k.decode() for k in np.load(folder.sentence_file("keys")).tolist() if k}


def test_sigkill_during_index_keeps_every_committed_step_and_resumes(tmp_path):
    corpus, ix = tmp_path / "corpus", tmp_path / "ix"
    corpus.mkdir()
    (corpus / "old.jsonl").write_text(_records(0, 50))
    Index.build([corpus], ix, embedder=HashEmbedder())
    (corpus / "new.jsonl").write_text(_records(50, 1200))

    # 1) killed after the first shard of new embeddings was saved: the build's first step (every
    #    article searchable by keywords, none of the new ones embedded yet) was committed before it
    proc = _start_index(corpus, ix)
    assert _wait_for(lambda: len(_shards(ix)) >= 1, proc), proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    pending = _ask_the_last_committed_build_answers(ix)
    assert pending["articles"] == 1200 and pending["articles_total"] == 1250
    assert len(Index.load(ix, embedder=HashEmbedder()).articles) == 1250

    # 2) killed again a few shards later: its first step already holds what run 1 saved
    proc = _start_index(corpus, ix)
    n0 = len(_shards(ix))
    assert _wait_for(lambda: len(_shards(ix)) >= n0 + 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _ask_the_last_committed_build_answers(ix)["articles"] < 1200

    # 3) killed while a new build folder is being written (a step commit)
    proc = _start_index(corpus, ix)
    assert _wait_for(lambda: any(p.name.startswith(".ix.tmp-") for p in tmp_path.iterdir()), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _ask_the_last_committed_build_answers(ix)

    saved = {k for p in _shards(ix) for k in json.loads(p.read_text())["keys"]}
    reusable = _embedded_keys(ix) | saved
    emb = HashEmbedder()
    final = Index.build([corpus], ix, embedder=emb)
    stats = final.last_build
    assert len(final.articles) == 1250 and final.still_embedding()["articles"] == 0
    # every text the committed steps hold or a shard saved is reused; only the rest is embedded
    texts = len(final.passages) + final.manifest["counts"]["sentences"]
    embedded = stats.embedded + stats.sentences_embedded
    assert texts - embedded == len(reusable)
    assert embedded == emb.embedded
    assert not (ix / ".partial").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ix.tmp-")]
    Index.load(ix, embedder=HashEmbedder())  # checksums verify


def test_full_disk_gives_one_error_and_keeps_the_previous_index(corpus_dir, tmp_path, fake_embedder,
                                                              monkeypatch, capsys):
    import errno

    import qa.storage.writer as writer
    from qa.errors import IndexWriteError

    ix = Index.build([corpus_dir], tmp_path / "ix", embedder=fake_embedder)
    before = len(ix.articles)
    (corpus_dir / "more.txt").write_text("Harbour news\n\nShips arrived late at night.\n")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", "passages.jsonl")

    monkeypatch.setattr(writer, "write_tables", full)
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
