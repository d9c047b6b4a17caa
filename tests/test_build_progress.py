"""One progress bar over the whole build (issue 14, item 5): chunking, embedding and writing on
one scale that only moves forward and ends full."""

from __future__ import annotations

import pytest

from qa.index import Index
from qa.storage.progress import CHUNK_SHARE, BuildProgress
from qa.types import Article
from tests.support.fake_embedder import HashEmbedder, SpanHashEmbedder


@pytest.mark.parametrize("embedder", [HashEmbedder, SpanHashEmbedder], ids=["separate", "in-context"])
def test_the_bar_only_moves_forward_and_ends_full(corpus_dir, tmp_path, embedder):
    calls: list[tuple[int, int]] = []
    index = Index.build([corpus_dir], tmp_path / "ix", embedder=embedder(),
                        progress=lambda done, total: calls.append((done, total)))
    dones = [d for d, _ in calls]
    assert dones == sorted(dones), calls
    assert calls[-1][0] == calls[-1][1] and calls[-1][1] >= len(index.passages)
    assert all(0 <= d <= t for d, t in calls)
    # chunking, the embedding of every passage and the writing each moved the bar
    assert len(calls) >= 4


def test_embedding_moves_the_bar_one_unit_per_passage():
    calls: list[tuple[int, int]] = []
    bar = BuildProgress(lambda d, t: calls.append((d, t)), [Article("a", "t", "x" * 4000)])
    bar.chunked(1.0)
    bar.to_embed(100)
    start = calls[-1][0]
    assert start == round(CHUNK_SHARE * bar.total)
    bar.embedded(40)
    assert calls[-1][0] == start + 40 and calls[-1][1] == bar.total
    bar.written(1.0)
    assert calls[-1] == (bar.total, bar.total)


def test_a_build_with_nothing_to_embed_still_ends_full(corpus_dir, tmp_path):
    folder = tmp_path / "ix"
    Index.build([corpus_dir], folder, embedder=HashEmbedder())
    (corpus_dir / "space.md").unlink()  # only a removal: every remaining passage is reused
    calls: list[tuple[int, int]] = []
    emb = HashEmbedder()
    index = Index.build([corpus_dir], folder, embedder=emb, progress=lambda d, t: calls.append((d, t)))
    assert index.last_build.removed == ["space"] and emb.embedded == 0
    assert calls and calls[-1][0] == calls[-1][1]
