from qa import Index
from qa.search.highlight import highlight_spans
from qa.types import Passage
from tests.support.fake_embedder import HashEmbedder

WIRE = ("Russia proposes consultations on decarbonization of the economy among member states, "
        "the envoy said at a briefing on Friday.")


def test_same_story_in_two_outlets_is_one_hit(tmp_path):
    d = tmp_path / "a"
    d.mkdir()
    (d / "tass.txt").write_text(f"Envoy briefing\n\nMOSCOW, June 11, 2021. /TASS/. {WIRE}")
    (d / "post.txt").write_text(f"SCO news\n\nWritten by The Frontier Post\n\n{WIRE}")
    (d / "other.txt").write_text("Cup final\n\nThe local team won the football cup final on Saturday.")
    ix = Index.build([d], tmp_path / "ix", embedder=HashEmbedder())
    grouped = ix.search("decarbonization consultations", k=3, group=True)
    plain = ix.search("decarbonization consultations", k=3, group=False)
    assert [h.doc_id for h in plain][:2] in (["tass", "post"], ["post", "tass"])
    top = grouped[0]
    assert len(top.also_reported_by) == 1
    other = top.also_reported_by[0]
    assert {top.doc_id, other["doc_id"]} == {"tass", "post"}
    assert other["source"] in ("TASS", "The Frontier Post")
    assert [h.doc_id for h in grouped[1:]] == ["other"]
    assert top.to_dict()["also_reported_by"][0]["char_end"] == other["char_end"]


def test_highlight_picks_the_answering_sentence():
    text = "The weather was mild and sunny for most of the day. The council approved the budget of 5 million dollars for schools on Monday. Fans cheered."
    p = Passage("d:0-1", "d", text, 100, 100 + len(text))
    emb = HashEmbedder()
    q = "How large was the budget the council approved?"
    (span,) = highlight_spans(q, emb.embed_batch([q])[0], [p], emb)
    assert text[span[0] - 100:span[1] - 100] == "The council approved the budget of 5 million dollars for schools on Monday."


def test_highlight_extends_a_very_short_sentence():
    text = "Budget passed. It was large and everyone agreed about it in the end."
    p = Passage("d:0-1", "d", text, 0, len(text))
    (span,) = highlight_spans("budget passed", None, [p])
    assert span == (0, len(text))


def test_highlight_embeds_each_distinct_sentence_once_with_a_cache():
    text = ("The council approved the budget of 5 million dollars for schools on Monday. "
            "Fans cheered loudly in the square until well after midnight.")
    p1 = Passage("d:0-1", "d", text, 0, len(text))
    p2 = Passage("d:1-2", "d", text, 0, len(text))  # same sentences again (overlap)
    emb = HashEmbedder()
    q = "budget approved"
    qv = emb.embed_batch([q])[0]
    cache = {}
    before = emb.embedded
    first = highlight_spans(q, qv, [p1, p2], emb, cache=cache)
    assert emb.embedded - before == 2 and len(cache) == 2
    again = highlight_spans(q, qv, [p1], emb, cache=cache)
    assert emb.embedded - before == 2  # nothing new to embed
    assert first[0] == first[1] == again[0] == (0, text.index(" Fans"))


def test_highlight_takes_the_sentence_holding_the_readers_answer():
    text = ("The council approved the budget on Monday after a long debate about schools. "
            "It came to 5 million dollars, more than last year.")
    p = Passage("d:0-1", "d", text, 100, 100 + len(text))
    emb = HashEmbedder()
    q = "How large was the budget the council approved?"
    (plain,) = highlight_spans(q, emb.embed_batch([q])[0], [p], emb)
    assert plain[0] == 100  # the sentence sharing the question's words
    at = text.index("5 million")
    (span,) = highlight_spans(q, emb.embed_batch([q])[0], [p], emb, answers=[(100 + at, 100 + at + 17)])
    assert text[span[0] - 100:span[1] - 100] == "It came to 5 million dollars, more than last year."
    # an answer outside the part shown is ignored: the choice falls back to the sentences' scores
    (inside,) = highlight_spans(q, emb.embed_batch([q])[0], [p], emb, answers=[(100 + at, 100 + at + 17)],
                                within=[(100, 100 + text.index(" It came"))])
    assert inside[0] == 100


def test_the_readers_answer_ends_with_its_sentence():
    from qa.search.highlight import answer_in_sentence

    text = "The council met on Monday.\n\nMOSCOW, June 11. The budget passed."
    p = Passage("d:0-1", "d", text, 50, 50 + len(text))
    at = 50 + text.index("Monday")
    first = (50, 50 + text.index("\n"))
    # runs into the next paragraph: cut at the end of the sentence it starts in (given or found)
    assert answer_in_sentence((at, at + 20), p, first) == (at, at + len("Monday."))
    assert answer_in_sentence((at, at + 20), p) == (at, at + len("Monday."))
    assert answer_in_sentence((at, at + 3), p, first) == (at, at + 3)  # inside: unchanged
    assert answer_in_sentence(None, p, first) is None
