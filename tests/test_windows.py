"""Passages pooled from article windows (qa.embedders.windows, qa.storage.pooled): where windows
are cut, that each word piece is read once, that pooling gives each passage and sentence the mean
of its own tokens (and its title's), and how a build uses it (keys, reuse, resume)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from qa.embedders.base import normalize_rows
from qa.embedders.windows import SHARED_WEIGHT, ArticleText, cut_windows, plan_windows, pool_articles
from qa.settings import Settings
from qa.storage.builder import build_index
from qa.storage.folder import IndexFolder
from qa.storage.pooled import WINDOW_RECIPE
from qa.storage.tables import iter_records
from qa.text.sentences import split_sentences
from qa.types import Article
from tests.support.fake_embedder import WindowHashEmbedder

BODY = ("The council met on Monday. It voted to close the old bridge. Engineers found cracks in two "
        "piers last spring. Repairs would cost four million. A ferry will run until a new bridge opens. "
        "The mayor said the ferry is free for residents. Critics called the vote rushed. The bridge "
        "opened in 1931.")
TITLE = "Council closes the old bridge"


def words(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]


def starts_of(text: str) -> np.ndarray:
    return np.array([s for s, _ in words(text)], dtype=np.int64)


def test_windows_cover_the_body_end_to_end_each_within_the_budget():
    starts = starts_of(BODY)
    sentences = [s for s, _ in split_sentences(BODY)]
    spans = cut_windows(len(BODY), starts, np.ones(len(starts), bool), [], sentences, budget=12)
    assert spans[0][0] == 0 and spans[-1][1] == len(BODY)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # consecutive: every token once
    for s, e in spans:
        assert 0 < ((starts >= s) & (starts < e)).sum() <= 12
        assert s in sentences or s == 0  # cut at sentence starts (no sentence here is longer)


def test_a_window_ends_at_the_next_passage_start_when_it_is_within_the_budget():
    starts = starts_of(BODY)
    sentences = [s for s, _ in split_sentences(BODY)]
    passage_starts = [0, sentences[2], sentences[5]]
    spans = cut_windows(len(BODY), starts, np.ones(len(starts), bool), passage_starts, sentences, budget=40)
    assert [s for s, _ in spans] == passage_starts  # one window per passage start, not 40 tokens each


def test_a_sentence_longer_than_a_window_is_cut_at_a_word_start():
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    starts = np.array([0, 6, 6 + 5, 17, 23, 31, 36, 40, 46, 51])
    word_start = np.array([True, True, False, True, True, True, True, True, True, True])  # "gamma" is "be" "ta..."
    spans = cut_windows(len(text), starts, word_start, [], [0], budget=3)
    cuts = [int(np.searchsorted(starts, s)) for s, _ in spans]
    assert all(word_start[c] for c in cuts)  # never inside a word
    assert cuts[:2] == [0, 3] or cuts[1] <= 3


def article_text(embedder, title=TITLE, body=BODY, passage_sentences=((0, 3), (2, 6), (5, 8))):
    sents = split_sentences(body)
    passages = [(sents[a][0], sents[b - 1][1]) for a, b in passage_sentences]
    return ArticleText(title, body, [p[0] for p in passages], [s for s, _ in sents], passages, list(sents))


def token_sum(embedder, text: str) -> np.ndarray:
    return embedder.table[embedder.tokenizer.encode(text).ids[1:-1]].sum(0)


def expected(embedder, text: str, spans_text: list[str]) -> np.ndarray:
    return normalize_rows(np.stack([token_sum(embedder, t) for t in spans_text]))


def expected_passages(embedder, item: ArticleText) -> np.ndarray:
    """Title and own tokens count 1, the tail shared with the next passage SHARED_WEIGHT."""
    rows = []
    for k, (s, e) in enumerate(item.passages):
        nxt = item.passages[k + 1][0] if k + 1 < len(item.passages) else e
        cut = min(max(nxt, s), e)
        rows.append(token_sum(embedder, item.title) + token_sum(embedder, item.body[s:cut])
                    + SHARED_WEIGHT * (token_sum(embedder, item.body[cut:e]) if cut < e else 0.0))
    return normalize_rows(np.stack(rows))


@pytest.mark.parametrize("window_tokens", [6, 12, 200])
def test_a_passage_is_its_own_and_its_title_tokens_the_tail_it_shares_at_half_weight(window_tokens):
    emb = WindowHashEmbedder(TITLE + " " + BODY, dim=16)
    item = article_text(emb)
    pvecs, svecs = pool_articles(emb, [item], window_tokens)
    want_p = expected_passages(emb, item)
    want_s = expected(emb, BODY, [BODY[s:e] for s, e in item.sentences])
    assert SHARED_WEIGHT == 0.5
    unweighted = expected(emb, BODY, [TITLE + " " + BODY[s:e] for s, e in item.passages])
    assert not np.allclose(want_p[:2], unweighted[:2], atol=1e-3)  # the first two share a tail
    np.testing.assert_allclose(pvecs, want_p, atol=1e-5)
    np.testing.assert_allclose(svecs, want_s, atol=1e-5)


def test_every_body_word_piece_is_read_once_and_every_window_fits_the_model():
    emb = WindowHashEmbedder(TITLE + " " + BODY, dim=16, max_tokens=20)
    item = article_text(emb)
    windows = plan_windows([item], emb.tokenizer, 128, emb.max_tokens)
    assert len(windows) > 2
    assert "".join(w.text[w.prefix:] for w in windows) == BODY
    title_tokens = len(emb.tokenizer.encode(TITLE).ids)  # with its two special tokens
    for w in windows:
        assert w.text.startswith(TITLE + "\n")
        assert len(emb.tokenizer.encode(w.text).ids) <= emb.max_tokens
    read = sum(len(emb.tokenizer.encode(w.text).ids) - title_tokens for w in windows)
    assert read == len(emb.tokenizer.encode(BODY).ids) - 2


def test_context_moves_vectors_but_each_passage_still_pools_only_its_own_tokens():
    plain = WindowHashEmbedder(TITLE + " " + BODY, dim=16)
    ctx = WindowHashEmbedder(TITLE + " " + BODY, dim=16, contextual=True)
    item = article_text(plain)
    p_plain, _ = pool_articles(plain, [item], 12)
    p_ctx, _ = pool_articles(ctx, [item], 12)
    cos = (p_plain * p_ctx).sum(1)
    assert (cos < 0.999).all() and (cos > 0.3).all()


def test_untitled_and_empty_articles():
    emb = WindowHashEmbedder(BODY, dim=16)
    item = article_text(emb, title="")
    pvecs, _ = pool_articles(emb, [item, ArticleText("", "", [], [], [], [])], 12)
    np.testing.assert_allclose(pvecs, expected_passages(emb, item), atol=1e-5)


# ---- in a build --------------------------------------------------------------------------------

ARTICLES = [
    Article(doc_id="bridge", title=TITLE, body=BODY, source="Gazette", date="2021-06-11"),
    Article(doc_id="school", title="A new school opens", source="Gazette", date="2021-06-12",
            body="The school opened on Tuesday with four hundred pupils. It has a library and a pool. "
                 "The head teacher thanked the builders. Parents queued at the gate. Lessons begin "
                 "next week. The old school becomes a museum."),
]
SETTINGS = Settings(target_tokens=14, window_tokens=10)


def words_of(articles) -> str:
    return " ".join(f"{a.title} {a.body}" for a in articles)


def stored(folder) -> tuple[list[dict], np.ndarray]:
    f = IndexFolder(folder)
    return list(iter_records(f.passages_file)), np.load(f.vectors_file)


def test_a_build_pools_passages_from_windows_and_records_the_window_length(tmp_path):
    emb = WindowHashEmbedder(words_of(ARTICLES), dim=16)
    stats = build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    rows, vecs = stored(tmp_path / "ix")
    assert stats.embedded == len(rows) > 4 and emb.batches == []  # nothing embedded passage by passage
    want = np.concatenate([expected_passages(emb, ArticleText(
        a.title, a.body, [], [], [(r["char_start"], r["char_end"]) for r in rows if r["doc_id"] == a.doc_id], []))
        for a in ARTICLES])
    np.testing.assert_allclose(vecs, want, atol=1e-5)
    manifest = IndexFolder(tmp_path / "ix").read_manifest()
    assert manifest["chunking"]["window_tokens"] == 10 and manifest["format_version"] == 4
    # no body word piece was read twice (windows carry the title line, read once per window)
    body_read = sum(len(w.split("\n", 1)[1].split()) for w in emb.windows)
    assert body_read == sum(len(a.body.split()) for a in ARTICLES)


def test_a_rebuild_of_unchanged_articles_reads_nothing_and_a_changed_article_is_read_again_alone(tmp_path):
    emb = WindowHashEmbedder(words_of(ARTICLES) + " closed", dim=16)
    build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    emb.windows.clear()
    assert build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS).up_to_date and emb.windows == []
    changed = [ARTICLES[0], Article(**{**ARTICLES[1].__dict__, "body": ARTICLES[1].body + " The pool is closed."})]
    stats = build_index(changed, tmp_path / "ix", emb, SETTINGS)
    assert emb.windows and all(w.startswith("A new school opens\n") for w in emb.windows)
    assert stats.reused == sum(1 for r in stored(tmp_path / "ix")[0] if r["doc_id"] == "bridge")


def test_other_window_lengths_and_the_passage_by_passage_recipe_do_not_share_vectors(tmp_path):
    emb = WindowHashEmbedder(words_of(ARTICLES), dim=16, contextual=True)
    build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    _, first = stored(tmp_path / "ix")
    stats = build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS.with_(window_tokens=6))
    assert stats.reused == 0 and not np.allclose(stored(tmp_path / "ix")[1], first)
    stats = build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS.with_(window_tokens=0))
    assert stats.reused == 0 and emb.batches  # 0: each passage embedded behind its title line


def _forget_pooling(folder, backend=None):
    """Make the manifest look written before the recipe was recorded (last session's windows-1)."""
    f = IndexFolder(folder).manifest_file
    m = json.loads(f.read_text())
    m["model"].pop("pooling")
    if backend:
        m["model"]["backend"] = backend
    f.write_text(json.dumps(m))


def test_an_index_pooled_by_an_older_recipe_is_read_once_more_then_up_to_date(tmp_path, monkeypatch):
    import qa.storage.builder
    import qa.storage.pooled

    emb = WindowHashEmbedder(words_of(ARTICLES), dim=16)
    for module in (qa.storage.pooled, qa.storage.builder):  # build as last session's qa did
        monkeypatch.setattr(module, "WINDOW_RECIPE", "windows-1")
    build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    assert build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS).up_to_date
    monkeypatch.undo()
    _forget_pooling(tmp_path / "ix")  # it recorded no recipe
    emb.windows.clear()
    stats = build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    assert not stats.up_to_date and stats.reused == 0 and emb.windows  # every article read again
    assert IndexFolder(tmp_path / "ix").read_manifest()["model"]["pooling"] == WINDOW_RECIPE
    assert build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS).up_to_date
    # passage by passage, nothing is pooled and nothing is recorded
    build_index(ARTICLES, tmp_path / "pp", emb, SETTINGS.with_(window_tokens=0))
    assert "pooling" not in IndexFolder(tmp_path / "pp").read_manifest()["model"]


def test_qa_index_says_before_building_that_an_older_pooling_recipe_is_read_once_more(tmp_path):
    from qa.cli.index_cmd import _older_pooling

    emb = WindowHashEmbedder(words_of(ARTICLES), dim=16)
    build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    onnx = Settings(backend="onnx-int8")
    assert _older_pooling(tmp_path / "ix", onnx) is None  # today's recipe
    _forget_pooling(tmp_path / "ix", backend="onnx-int8")
    assert _older_pooling(tmp_path / "ix", onnx) == "windows-1"
    assert _older_pooling(tmp_path / "ix", onnx.with_(window_tokens=0)) is None  # not pooling now
    assert _older_pooling(tmp_path / "none", onnx) is None  # no index yet


def test_a_crash_while_reading_keeps_the_finished_shards_and_the_rerun_reads_only_the_rest(tmp_path):
    many = [Article(doc_id=f"a{i}", title=f"Story {i}", body=BODY.replace("Monday", f"day {i}"), source="G",
                    date="2021-06-11") for i in range(6)]
    settings = SETTINGS.with_(step_passages=4, step_seconds=0)
    emb = WindowHashEmbedder(words_of(many), dim=16, fail_after=2)
    with pytest.raises(RuntimeError):
        build_index(many, tmp_path / "ix", emb, settings)
    again = WindowHashEmbedder(words_of(many), dim=16)
    stats = build_index(many, tmp_path / "ix", again, settings)
    assert 0 < stats.reused < stats.passages  # the first groups' shards were kept
    read = {w.split("\n", 1)[0] for w in again.windows}
    assert "Story 0" not in read and "Story 5" in read
    full = WindowHashEmbedder(words_of(many), dim=16)
    build_index(many, tmp_path / "one", full, settings)
    np.testing.assert_allclose(stored(tmp_path / "ix")[1], stored(tmp_path / "one")[1], atol=1e-6)


def test_sentence_vectors_of_a_windowed_build_are_the_sentences_own_tokens(tmp_path):
    emb = WindowHashEmbedder(words_of(ARTICLES), dim=16)
    build_index(ARTICLES, tmp_path / "ix", emb, SETTINGS)
    from qa.storage.sentence_vectors import SentenceVectors

    rows, _ = stored(tmp_path / "ix")
    sv = SentenceVectors(IndexFolder(tmp_path / "ix"), len(rows))
    for i, r in enumerate(rows):
        spans = sv.entries[sv.offsets[i]:sv.offsets[i + 1]]
        got = sv.vectors[spans[:, 2]].astype(np.float32) / 127.0
        want = expected(emb, "", [r["text"][s:e] for s, e, _ in spans])
        assert ((normalize_rows(got) * want).sum(1) > 0.999).all()


# ---- the real model (slow) ---------------------------------------------------------------------

REAL_BODY = (
    "The city council voted on Monday to close the Harbour Bridge to cars. Engineers had found deep "
    "cracks in two of its piers during an inspection last spring. "
    "Repairing the piers would cost about four million dollars, the engineers said. The council "
    "chose to build a new bridge instead, which is expected to open in 2026. "
    "Until then a ferry will carry commuters across the river every twenty minutes. The mayor said "
    "the ferry will be free for residents who show a city card. "
    "Shop owners near the bridge fear they will lose customers. One baker said his sales had "
    "already fallen by a third since the closure was announced.")
REAL_QUESTIONS = {  # question -> the words only the answering passage holds
    "Why was the bridge closed to cars?": "cracks",
    "How often will the ferry run?": "twenty minutes",
    "How much have the baker's sales fallen?": "a third",
}


@pytest.mark.slow
def test_real_model_window_pooled_passages_stay_close_to_passages_embedded_alone_and_still_find_answers():
    from qa.embedders import get_embedder
    from qa.text.chunking import chunk_articles

    emb = get_embedder(backend="onnx-int8")
    art = Article(doc_id="bridge", title="Harbour Bridge closes to cars", body=REAL_BODY, source="G", date="2021-06-11")
    passages = chunk_articles([art], emb, Settings(target_tokens=40))
    assert len(passages) >= 4
    item = ArticleText(art.title, art.body, [p.char_start for p in passages], [s for s, _ in split_sentences(art.body)],
                       [(p.char_start, p.char_end) for p in passages], [])
    pooled, _ = pool_articles(emb, [item], 128)
    alone = emb.embed_batch([f"{art.title}\n{p.text}" for p in passages])
    cos = (pooled * alone).sum(1)
    assert cos.min() > 0.8, cos
    q = emb.embed_batch(list(REAL_QUESTIONS))
    for qi, (question, words) in enumerate(REAL_QUESTIONS.items()):  # an answering passage in the top 2 of 7
        top = [passages[int(i)].text for i in np.argsort(-(pooled @ q[qi]))[:2]]
        assert any(words in t for t in top), (question, top)


def test_cli_window_tokens_is_recorded_refused_when_negative_and_named_by_the_reindex_hint(corpus_dir, tmp_path, capsys):
    import json

    from qa.cli.main import main

    ix = tmp_path / "ix"
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash", "--window-tokens", "0"]) == 0
    manifest = IndexFolder(ix).read_manifest()
    assert manifest["chunking"]["window_tokens"] == 0
    assert "--window-tokens 0" in IndexFolder(ix).reindex_command(manifest)
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash", "--window-tokens", "-3"]) == 2
    assert "--window-tokens must be 0" in capsys.readouterr().err
    assert json.loads((ix / "manifest.json").read_text())["chunking"]["window_tokens"] == 0  # untouched
