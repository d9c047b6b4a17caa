"""Distinct evidence (issue 13): no two results overlap in the same article, and each result
says how many more of its article's passages matched."""

from __future__ import annotations

import numpy as np

from qa import Index, Settings
from qa.search.distinct import cut, distinct_spans, more_in_article
from qa.types import Passage


def test_a_candidate_with_too_little_text_of_its_own_is_dropped():
    ps = {0: Passage("a:0-10", "a", "x" * 10, 0, 10), 1: Passage("a:8-20", "a", "x" * 12, 8, 20),
          2: Passage("b:0-10", "b", "x" * 10, 0, 10), 3: Passage("a:20-30", "a", "x" * 10, 20, 30)}
    assert distinct_spans(ps, np.array([1, 0, 2, 3]))[0].tolist() == [0, 2, 3]  # 0 overlaps 1, 8 chars left


def test_an_overlapping_neighbour_shows_only_its_own_sentences_when_enough_is_left():
    body = "Alpha sentence one is here. Shared sentence two is here. The answer is Wolfsgarten castle in Hesse."
    a_end = body.index(" The answer")
    b_start = body.index("Shared")
    ps = {0: Passage("d:0", "d", body[:a_end], 0, a_end),
          1: Passage("d:1", "d", body[b_start:], b_start, len(body)),
          2: Passage("d:2", "d", body[b_start:a_end], b_start, a_end)}  # inside 0: nothing of its own
    keep, shown = distinct_spans(ps, np.array([0, 1, 2]))
    assert keep.tolist() == [0, 1]
    assert shown[0] == (0, a_end)
    s, e = shown[1]
    assert body[s:e] == "The answer is Wolfsgarten castle in Hesse."  # the shared sentence is not repeated
    trimmed = cut(ps[1], shown[1])
    assert trimmed.text == body[trimmed.char_start:trimmed.char_end] == body[s:e]
    assert trimmed.passage_id == "d:1" and cut(ps[0], shown[0]) is ps[0]
    # too little left of its own: dropped
    assert distinct_spans(ps, np.array([0, 1]), min_chars=100)[0].tolist() == [0]


def test_a_passage_between_two_shown_ones_keeps_its_longest_free_part():
    ps = {0: Passage("a:0", "a", "x" * 100, 0, 100), 1: Passage("a:1", "a", "x" * 100, 200, 300),
          2: Passage("a:2", "a", "y" * 250, 50, 300)}
    keep, shown = distinct_spans(ps, np.array([0, 1, 2]))
    assert keep.tolist() == [0, 1, 2] and shown[2] == (100, 200)


def test_more_in_article_counts_candidates_not_shown():
    # candidates' articles: 7 x3, 8 x1, 9 x2; shown: one card of 7, one of 9, another of 7
    assert more_in_article(np.array([7, 7, 8, 9, 9, 7]), np.array([7, 9, 7])) == [1, 1, 1]


def test_search_results_never_overlap_within_an_article(tmp_path, fake_embedder):
    body = " ".join(f"Sentence {i} says the harbour council met about ships and cargo number {i}."
                    for i in range(40))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "long.txt").write_text(f"Harbour council\n\n{body}\n")
    (tmp_path / "a" / "other.txt").write_text("Cup final\n\nThe team won the cup final on Saturday.\n")
    ix = Index.build([tmp_path / "a"], tmp_path / "ix", embedder=fake_embedder,
                     settings=Settings(target_tokens=40))
    long_passages = [p for p in ix.passages if p.doc_id == "long"]
    assert len(long_passages) > 5 and any(  # the chunker overlaps neighbours by a sentence
        a.char_end > b.char_start for a, b in zip(long_passages, long_passages[1:]))
    hits = ix.search("harbour council ships cargo", k=10)
    spans = [(h.passage.char_start, h.passage.char_end) for h in hits if h.doc_id == "long"]
    assert len(spans) >= 2
    assert all(e1 <= s2 or e2 <= s1 for i, (s1, e1) in enumerate(spans) for s2, e2 in spans[i + 1:])
    # every passage of this tiny index is a candidate (dense search returns them all)
    assert {h.more_in_article for h in hits if h.doc_id == "long"} == {len(long_passages) - len(spans)}
    assert hits[0].to_dict()["more_in_article"] == hits[0].more_in_article
    body = ix.articles["long"].body
    for h in hits:  # cut or whole, a result cites its text exactly and highlights inside it
        assert h.article.body[h.passage.char_start:h.passage.char_end] == h.passage.text
        assert h.highlight is None or h.passage.char_start <= h.highlight[0] < h.highlight[1] <= h.passage.char_end
    # neighbours are cut to their own sentences, not dropped
    assert any(h.passage.text not in [p.text for p in long_passages] for h in hits if h.doc_id == "long")


def test_a_limit_gives_the_first_positions_of_the_full_walk_and_reads_no_further():
    from qa.types import Passage

    ps = [Passage(f"a:{i}", "a", "x", i * 10, i * 10 + 15) for i in range(12)]  # neighbours overlap

    class Counting(list):
        reads = 0

        def __getitem__(self, i):
            Counting.reads += 1
            return list.__getitem__(self, i)

    rows = np.arange(12)
    full = distinct_spans(ps, rows)[0]
    table = Counting(ps)
    first = distinct_spans(table, rows, limit=3)[0]
    assert full[:3].tolist() == [0, 2, 4] and first.tolist() == full[:3].tolist()
    assert Counting.reads == int(full[2]) + 1  # stopped at the third kept candidate
