"""Answer signals (issue 13): hand-checked on tiny passages."""

from __future__ import annotations

import numpy as np
import pytest

from qa.search.answer_signals import SIGNALS, answer_signals, question_kind
from qa.types import Passage


@pytest.mark.parametrize("question, kind", [
    ("How many troops are stationed in Germany?", "number"), ("How much did it cost?", "number"),
    ("When did the summit open?", "date"), ("In what year was he born?", "date"),
    ("Who acquired WhatsApp?", "person"), ("Where is the summit held?", "place"),
    ("Which country won the most medals?", "place"), ("What did Russia propose?", None),
    # plural and noun-phrase dates; any other "which ...?" or "what is the name" asks for a name
    ("During which years did he sit in the Commons?", "date"), ("On what dates was the vote set?", "date"),
    ("What is the release date of Cyberpunk 2077?", "date"), ("Which historian does he turn to?", "name"),
    ("In which Brussels building did they meet?", "name"), ("What was the real name of the agent?", "name"),
    ("What movie won the Oscar in 2020?", "name"), ("Why did the premier resign?", None),
    ("What kind of government does it advocate?", None)])
def test_question_kind(question, kind):
    assert question_kind(question) == kind


def _p(text: str, doc: str = "d") -> Passage:
    return Passage(f"{doc}:0", doc, text, 0, len(text))


def test_signals_prefer_the_sentence_with_the_terms_the_answer_type_and_the_year():
    q = "Who acquired WhatsApp in 2014?"
    right = _p("WhatsApp grew quickly. Facebook acquired WhatsApp in 2014 for 19 billion dollars.")
    topical = _p("WhatsApp is a messaging service. It was popular in 2015 with teenagers.")
    F = answer_signals(q, [right, topical], lambda t: 1.0)
    sent_lex, answer_type, year = (SIGNALS.index(n) for n in ("sent_lex", "answer_type", "year"))
    # "acquired", "whatsapp", "2014" of the terms who/acquired/whatsapp/2014 stand in one sentence
    assert F[0, sent_lex] == pytest.approx(0.75) and F[1, sent_lex] == pytest.approx(0.25)
    assert F[0, answer_type] == 1.0  # "Facebook": a name that is not a word of the question
    assert F[0, year] == 1.0 and F[1, year] == -1.0  # 2015 only: another year's account


def test_a_question_without_years_or_kind_leaves_those_signals_at_zero():
    F = answer_signals("What did Russia propose on decarbonization?", [_p("Russia proposed talks in 2021.")],
                       lambda t: 1.0)
    assert F[0, SIGNALS.index("answer_type")] == 0 and F[0, SIGNALS.index("year")] == 0


def test_feature_matrix_reads_text_only_for_the_first_signal_depth_rows(built_index):
    from qa.search.rerank import FEATURES, feature_matrix

    rows = np.arange(len(built_index.passages))
    q = "Who won the cup final on Saturday?"
    qv = built_index.question_vectors([q])[0]
    full = feature_matrix(built_index.snapshot, q, qv, rows)
    two = feature_matrix(built_index.snapshot, q, qv, rows, signal_depth=2)
    k = len(FEATURES) - len(SIGNALS)
    assert np.array_equal(two[:2], full[:2]) and not two[2:, k:].any() and full[:, k:].any()


def test_stored_sentence_spans_give_the_signals_of_splitting_the_text(built_index):
    from qa.search.rerank import FEATURES, feature_matrix

    snap = built_index.snapshot
    assert snap.sentences is not None  # the fixture index stores its sentences
    rows = np.arange(len(built_index.passages))
    q = "Who won the cup final on Saturday in 2021?"
    qv = built_index.question_vectors([q])[0]
    stored = feature_matrix(snap, q, qv, rows)
    split = answer_signals(q, [snap.passages[int(r)] for r in rows], snap.sparse.idf)
    k = len(FEATURES) - len(SIGNALS)
    assert np.array_equal(stored[:, k:], split) and split.any()
    spans = [snap.sentences.spans(int(r))[:, :2].tolist() for r in rows]
    assert np.array_equal(answer_signals(q, [snap.passages[int(r)] for r in rows], snap.sparse.idf, spans), split)
    # the spans are used, not re-split: other spans give other signals
    heads = [[(0, 12)] for r in rows]
    assert not np.array_equal(answer_signals(q, [snap.passages[int(r)] for r in rows], snap.sparse.idf, heads), split)


def test_answer_count_grades_how_many_answer_kind_tokens_the_best_sentence_lists():
    q = "Who won the Maxwell Award in 2019?"
    listing = _p("Maxwell Award winners: 2020 DeVonta Smith, 2019 Joe Burrow, 2018 Tua Tagovailoa.")
    restating = _p("The Maxwell Award in 2019 was decided by a panel of coaches and writers.")
    F = answer_signals(q, [listing, restating], lambda t: 1.0)
    count = SIGNALS.index("answer_count")
    assert F[0, count] == 1.0  # DeVonta, Smith, Joe, ...: three or more names
    assert F[1, count] == 0.0  # no name that is not a word of the question


def test_a_dateline_is_not_an_answer_to_when_and_figures_ask_a_number():
    from qa.search.answer_signals import kind_tokens

    q_words = {"when", "was", "diablo", "3", "released"}
    text = "May 15, 2022 ... When Diablo 3 launched ten years ago, it was a mess."
    assert kind_tokens("date", text, q_words, lambda t: 1.0, at_dateline=True) == []
    assert kind_tokens("date", text, q_words, lambda t: 1.0) == ["May 1", "2022"]
    assert question_kind("What was Tesla's revenue in Q1 2021?") == "number"
    assert question_kind("What did Russia propose?") is None


def test_names_in_all_capitals_text_are_its_rare_words():
    from qa.search.answer_signals import kind_tokens

    idf = {"junta": 2.0, "colonel": 3.0, "abdul": 6.0, "salam": 6.5, "aref": 7.0}.get
    text = "THE JUNTA NAMED AS ITS NEW HEAD OF STATE COLONEL ABDUL SALAM AREF."
    assert kind_tokens("person", text, set(), lambda t: idf(t, 1.0)) == ["ABDUL", "SALAM", "AREF"]
    # mixed case: capitalised words; "The" is a stopword, never a name
    assert kind_tokens("person", "The junta named Colonel Aref.", set(), lambda t: 1.0) == ["Colonel", "Aref"]


@pytest.mark.parametrize("question, roles", [
    ("Which Scottish constituency did he represent?", {"scottish", "constitu"}),
    ("Who was the director of The Godfather?", {"director"}),
    ("In which Brussels building did the ministers meet?", {"brussel", "build"}),
    ("Who won the cup?", set())])
def test_role_terms_are_the_words_naming_what_the_question_asks_for(question, roles):
    from qa.search.answer_signals import role_terms

    assert role_terms(question) == roles


def test_apposition_marks_a_role_word_standing_next_to_a_name():
    q = "Who was the director of The Godfather?"
    named = _p("In 1972 the director, Francis Ford Coppola, made The Godfather with a small budget.")
    far = _p("The director of The Godfather was praised. Years later, critics in Paris and Rome and "
             "New York agreed.")  # names, but none within a few words of "director"
    unnamed = _p("The Godfather's director made it with a small budget.")
    F = answer_signals(q, [named, far, unnamed], lambda t: 1.0)
    appos = SIGNALS.index("apposition")
    assert F[:, appos].tolist() == [1.0, 0.0, 0.0]
    # a question that asks no name has no apposition
    assert answer_signals("How many films did the director make?", [named], lambda t: 1.0)[0, appos] == 0.0


@pytest.mark.parametrize("text", ["the maxwell award went to joe burrow of lsu.",
                                  "THE MAXWELL AWARD WENT TO JOE BURROW OF LSU."])
def test_names_in_text_of_one_case_are_its_rare_words(text):
    from qa.search.answer_signals import kind_tokens

    rare = {"joe", "burrow", "lsu", "maxwel"}  # "maxwell" is a question word anyway
    idf = lambda t: 6.0 if t in rare else 1.0  # noqa: E731
    found = kind_tokens("person", text, {"who", "won", "the", "maxwell", "award"}, idf)
    assert [w.lower() for w in found] == ["joe", "burrow", "lsu"]
