"""A long build commits in steps (issue 25, item 2): every article is keyword-searchable from the
first step, embedded passages join the dense index step by step, a build cut short keeps its
steps, and the last commit is the index a build committed once writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.index import Index
from qa.storage.builder import build_index
from qa.storage.folder import IndexFolder
from qa.storage.steps import StepSchedule, article_groups
from qa.types import Article
from tests.support.fake_embedder import HashEmbedder, SpanHashEmbedder, WindowHashEmbedder
from tests.support.steps import ONCE, STEPS, TOPICS, articles, cut_short, step_clock

def test_the_first_step_makes_every_article_keyword_searchable_before_anything_is_embedded(tmp_path, monkeypatch):
    index = cut_short(tmp_path / "ix", monkeypatch, call=1)
    assert index.still_embedding() == {"articles": 12, "passages": len(index.passages), "articles_total": 12}
    for i, topic in enumerate(TOPICS):
        assert index.search(topic, k=1, config="bm25")[0].doc_id == f"a{i:02d}"
    assert index.search("volcano", k=5, config="dense") == []
    hit = index.search("volcano crowds", k=1)[0]  # the default configuration: keywords decide
    assert hit.doc_id == "a00" and "dense" not in hit.scores
    s, e = hit.highlight  # the highlighter falls back on the question's words
    assert "volcano" in hit.article.body[s:e]


def test_the_dense_retriever_never_returns_a_pending_passage(tmp_path, monkeypatch):
    index = cut_short(tmp_path / "ix", monkeypatch, call=4)  # groups 1-3 embedded: 6 articles
    assert index.still_embedding()["articles"] == 6
    pending = {index.passages[int(r)].doc_id for r in index.snapshot.pending}
    assert pending == {f"a{i:02d}" for i in range(6, 12)}
    found = set()
    for topic in TOPICS:
        hits = index.search(topic, k=12, config="dense")
        assert not {h.doc_id for h in hits} & pending
        found |= {h.doc_id for h in hits}
    assert found == {f"a{i:02d}" for i in range(6)}  # every embedded passage is dense-searchable
    assert index.search("volcano", k=1, config="dense")[0].doc_id == "a00"


def test_a_build_cut_short_after_two_steps_keeps_them_and_the_rerun_embeds_only_the_rest(tmp_path, monkeypatch):
    folder = tmp_path / "ix"
    index = cut_short(folder, monkeypatch, call=3)
    assert index.still_embedding()["articles"] == 8  # two groups of two articles committed
    assert index.search("glacier", k=1, config="dense")[0].doc_id == "a03"
    emb = HashEmbedder()
    stats = build_index(articles(), folder, emb, STEPS, clock=step_clock())
    assert stats.resumed == 8 and stats.embedded == 8 and stats.reused == 4
    titles = [t.split("\n")[0] for batch in emb.batches for t in batch if "\n" in t]  # passages: title line first
    assert sorted(titles) == sorted(f"The {t} story" for t in TOPICS[4:])
    final = Index.load(folder, embedder=HashEmbedder())
    assert final.still_embedding() == {"articles": 0, "passages": 0, "articles_total": 12}
    assert not IndexFolder(folder).pending_file.exists()
    once = build_index(articles(), tmp_path / "once", HashEmbedder(), ONCE)
    assert final.manifest["files"] == IndexFolder(tmp_path / "once").read_manifest()["files"]
    assert once.steps == 0


EMBEDDERS = pytest.mark.parametrize("embedder", [HashEmbedder, SpanHashEmbedder, WindowHashEmbedder],
                                    ids=["separate", "in-context", "windows"])


@EMBEDDERS
def test_the_final_index_equals_a_build_committed_once(tmp_path, embedder):
    # a wire story carried by two outlets, in different groups: embedded once either way
    corpus = articles() + [Article("z-copy", "The harbour story", articles()[1].body)]
    stepped, once = embedder(), embedder()
    stats = build_index(corpus, tmp_path / "steps", stepped, STEPS, clock=step_clock())
    build_index(corpus, tmp_path / "once", once, ONCE)
    assert stats.steps == 7  # the first, then after each group but the last
    a, b = (IndexFolder(tmp_path / name).read_manifest() for name in ("steps", "once"))
    assert a["files"] == b["files"]  # every file byte for byte
    assert {k: v for k, v in a.items() if k != "created"} == {k: v for k, v in b.items() if k != "created"}
    assert "pending" not in a and not IndexFolder(tmp_path / "steps").pending_file.exists()
    assert stepped.embedded == once.embedded
    assert not (tmp_path / "steps" / ".partial").exists()


def test_rerunning_a_finished_build_embeds_nothing_and_reports_up_to_date(tmp_path):
    build_index(articles(), tmp_path / "ix", HashEmbedder(), STEPS, clock=step_clock())
    emb = HashEmbedder()
    stats = build_index(articles(), tmp_path / "ix", emb, STEPS, clock=step_clock())
    assert stats.up_to_date and emb.embedded == 0 and stats.steps == 0


def test_a_small_update_commits_once(tmp_path):
    folder = tmp_path / "ix"
    build_index(articles(), folder, HashEmbedder(), STEPS, clock=step_clock())
    stats = build_index(articles() + articles(["lighthouse"], "b"), folder, HashEmbedder(), STEPS, clock=step_clock())
    # one group to embed: nothing to answer from sooner than the end
    assert stats.embedded == 1 and stats.steps == 0


def test_a_loaded_index_picks_up_each_step(tmp_path):
    folder = tmp_path / "ix"
    build_index(articles()[:3], folder, HashEmbedder(), STEPS, clock=step_clock())
    reader = Index.load(folder, embedder=HashEmbedder())
    seen = []

    def on_step(waiting, total):
        hits = reader.search("pharmacy", k=1, config="bm25")  # a search picks up the new build
        seen.append((waiting, total, reader.still_embedding()["articles"], hits[0].doc_id))

    build_index(articles(), folder, HashEmbedder(), STEPS, on_step=on_step, clock=step_clock())
    assert seen == [(w, 12, w, "a11") for w in (9, 7, 5, 3, 1)]
    reader.search("pharmacy", k=1)
    assert reader.still_embedding()["articles"] == 0


def test_pending_passages_are_ranked_by_their_keywords_and_never_grouped(tmp_path, monkeypatch):
    index = cut_short(tmp_path / "ix", monkeypatch, call=4)
    hits = index.search("hurricane crowds region", k=3, group=True)  # a09 is still pending
    assert hits[0].doc_id == "a09" and "dense" not in hits[0].scores and not hits[0].also_reported_by
    assert all(h.highlight is not None for h in hits)
    embedded_hit = next(h for h in hits if h.doc_id < "a06")
    assert "dense" in embedded_hit.scores


def test_a_step_is_due_after_the_interval_or_ten_times_what_the_last_cost():
    now = [0.0]
    schedule = StepSchedule(60.0, clock=lambda: now[0])
    assert schedule.due()
    schedule.committed(cost=1.0)
    now[0] = 59.9
    assert not schedule.due()
    now[0] = 60.0
    assert schedule.due()
    schedule.committed(cost=10.0)  # a step that took 10 s: the next waits 100 s, not 60
    now[0] = 159.9
    assert not schedule.due()
    now[0] = 160.0
    assert schedule.due()


def test_groups_hold_whole_articles_in_order():
    doc_ids = ["a", "a", "a", "b", "c", "c", "d", "d", "d", "d", "d", "e"]
    assert article_groups(doc_ids, list(range(12)), 4) == [[0, 1, 2, 3], [4, 5], [6, 7, 8, 9, 10], [11]]
    assert article_groups(doc_ids, [1, 2, 4, 5, 11], 2) == [[1, 2], [4, 5], [11]]
    assert article_groups(doc_ids, [], 4) == []


def test_qa_index_reports_its_steps_and_refuses_a_negative_interval(corpus_dir, tmp_path, capsys):
    from qa.cli.main import main

    ix = tmp_path / "ix"
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash", "--commit-every", "-1"]) == 2
    assert "--commit-every must be 0" in capsys.readouterr().err
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 0 and summary["resumed"] == 0 and summary["first_step_seconds"] is None


@pytest.mark.parametrize("embedder", [SpanHashEmbedder, WindowHashEmbedder], ids=["in-context", "windows"])
def test_the_pending_rows_hold_no_vector_and_the_store_leaves_them_out(tmp_path, monkeypatch, embedder):
    index = cut_short(tmp_path / "ix", monkeypatch, call=2, embedder=embedder)
    snap = index.snapshot
    pending = np.asarray(snap.pending)
    assert len(snap.dense) == len(snap.passages) - len(pending) == 2
    assert not np.asarray(snap.vectors[pending]).any()
    keys = np.load(IndexFolder(tmp_path / "ix").sentence_file("keys"))
    rows = np.concatenate([snap.sentences.spans(int(r))[:, 2] for r in pending])
    assert all(k == b"" for k in keys[rows])  # never taken for embedded sentences by a later build


@EMBEDDERS
def test_the_progress_bar_only_moves_forward_through_the_steps_and_ends_full(tmp_path, embedder):
    calls: list[tuple[int, int]] = []
    stats = build_index(articles(), tmp_path / "ix", embedder(), STEPS, clock=step_clock(),
                        progress=lambda done, total: calls.append((done, total)))
    assert stats.steps == 6
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and calls[-1][0] == calls[-1][1]
    assert len(set(dones)) >= 6 + 2  # each group moved it, and the writing at the end


def test_a_build_in_a_mount_point_commits_its_steps_by_the_link_inside_it(tmp_path, monkeypatch):
    import os

    import qa.storage.folder as folder_mod

    target = tmp_path / "volume"
    target.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(folder_mod.os.path, "ismount", lambda p: Path(p) == target or real_ismount(p))
    versions = []
    stats = build_index(articles(), target, HashEmbedder(), STEPS, clock=step_clock(),
                        on_step=lambda waiting, total: versions.append(os.readlink(target / "current")))
    assert stats.steps == 6 and len(set(versions)) == 6
    assert sorted(p.name for p in target.iterdir()) == sorted(["current", ".lock", os.readlink(target / "current")])
    index = Index.load(target, embedder=HashEmbedder())
    assert index.still_embedding()["articles"] == 0 and index.search("museum", k=1, config="dense")[0].doc_id == "a08"


def test_a_windowed_build_cut_short_resumes_with_the_rest_and_ends_as_one_built_once(tmp_path, monkeypatch):
    folder = tmp_path / "ix"
    assert cut_short(folder, monkeypatch, call=3, embedder=WindowHashEmbedder).still_embedding()["articles"] == 8
    stats = build_index(articles(), folder, WindowHashEmbedder(), STEPS, clock=step_clock())
    assert stats.resumed == 8 and stats.embedded == 8
    build_index(articles(), tmp_path / "once", WindowHashEmbedder(), ONCE)
    assert IndexFolder(folder).read_manifest()["files"] == IndexFolder(tmp_path / "once").read_manifest()["files"]
