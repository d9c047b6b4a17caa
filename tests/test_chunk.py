import pytest
from hypothesis import given, settings, strategies as st

from qa.text.chunking import chunk_articles, split_sentences
from qa.settings import Settings
from qa.types import Article
from tests.support.fake_embedder import HashEmbedder


def test_split_sentences_respects_abbreviations_and_paragraphs():
    text = "Mr. Smith met Dr. Jones in the U.S. capital today. They talked.\n\nNew paragraph starts here."
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["Mr. Smith met Dr. Jones in the U.S. capital today.", "They talked.",
                     "New paragraph starts here."]


def test_split_sentences_joins_a_short_dateline_to_its_sentence():
    text = "MOSCOW, June 11. /TASS/. Russia is involved in the creation of a documentary film."
    assert [text[s:e] for s, e in split_sentences(text)] == [text]


def test_split_sentences_quotes_end_sentences():
    text = '"We are ready to talk about it," he said on Monday. "It will be done soon enough," she added.'
    assert len(split_sentences(text)) == 2


def test_passages_slice_the_body_exactly_and_overlap_one_sentence():
    body = " ".join(f"Sentence number {i} talks about topic {i} at some length here." for i in range(30))
    art = Article(doc_id="d", title="T", body=body)
    emb = HashEmbedder(max_tokens=64)
    ps = chunk_articles([art], emb, Settings(target_tokens=40, overlap_sentences=1))
    assert len(ps) > 3
    for p in ps:
        assert body[p.char_start:p.char_end] == p.text
    # neighbouring passages share exactly their boundary sentence
    assert ps[1].char_start < ps[0].char_end
    assert [p.ordinal for p in ps] == list(range(len(ps)))


def test_a_20000_char_line_without_boundaries_is_cut_under_the_limit():
    body = "word " * 4000
    art = Article(doc_id="long", title="", body=body.strip())
    emb = HashEmbedder(max_tokens=128)
    ps = chunk_articles([art], emb, Settings())
    assert len(ps) > 30
    assert all(len(p.text.split()) <= 126 for p in ps)
    assert all(art.body[p.char_start:p.char_end] == p.text for p in ps)


def test_one_giant_token_is_cut_by_characters():
    body = "x" * 5000
    emb = HashEmbedder(max_tokens=32)
    ps = chunk_articles([Article(doc_id="x", title="", body=body)], emb, Settings())
    assert "".join(p.text for p in ps) == body


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("abc DEF.!?\n\"'")), min_size=1, max_size=80),
                min_size=1, max_size=40),
       st.integers(min_value=8, max_value=60), st.integers(min_value=0, max_value=2))
def test_property_offsets_slice_text_and_no_passage_over_limit(parts, target, overlap):
    body = " ".join(parts).strip() or "x"
    art = Article(doc_id="p", title="A title", body=body)
    emb = HashEmbedder(max_tokens=48)
    s = Settings(target_tokens=target, overlap_sentences=overlap)
    ps = chunk_articles([art], emb, s)
    limit = 48 - 2 - (min(2, s.title_tokens) + 1)
    covered = set()
    for p in ps:
        assert body[p.char_start:p.char_end] == p.text
        assert len(p.text.split()) <= limit
        covered.update(range(p.char_start, p.char_end))
    # every non-space character of the body is in some passage
    assert all(i in covered for i, ch in enumerate(body) if not ch.isspace())


@pytest.mark.slow
def test_real_tokenizer_passages_fit_the_model(real_embedder):
    from qa.storage.builder import embed_text
    from qa.ingest.reader import ingest

    from tests.conftest import ROOT

    arts = ingest([ROOT / "data" / "articles"]).articles
    long_art = Article(doc_id="z", title="A fairly long title " * 10, body="Supercalifragilistic " * 900)
    s = Settings()
    ps = chunk_articles(arts + [long_art], real_embedder, s)
    by = {a.doc_id: a for a in arts + [long_art]}
    counts = real_embedder.count_tokens([embed_text(p, by[p.doc_id], real_embedder, s) for p in ps])
    assert max(counts) + 2 <= real_embedder.max_tokens
    assert all(by[p.doc_id].body[p.char_start:p.char_end] == p.text for p in ps)
