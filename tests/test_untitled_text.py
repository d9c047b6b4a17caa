"""A .txt/.md holding one paragraph and no title line is indexed whole (issue 16, item 4)."""

import pytest

from qa.errors import BadInput
from qa.ingest.limits import MADE_TITLE_CHARS, title_from_text
from qa.ingest.reader import ingest, parse_text

PARA = ("MOSCOW, June 11. /TASS/. Russia has proposed that its BRICS partners cooperate on the "
        "decarbonization of their economies. The deputy prime minister said so on Friday at the forum.")


def test_one_paragraph_file_is_indexed_whole_with_its_first_sentence_as_title(tmp_path):
    (tmp_path / "bulletin.txt").write_text(PARA + "\n", encoding="utf-8")
    report = ingest([tmp_path])
    assert report.problems == []
    art, = report.articles
    assert art.body == PARA  # nothing lost to the title
    assert art.title == "Russia has proposed that its BRICS partners cooperate on the decarbonization of their economies."
    assert art.dateline == "MOSCOW, June 11. /TASS/."


def test_one_paragraph_markdown_without_heading_is_indexed(tmp_path):
    (tmp_path / "note.md").write_text("The council approved the new budget on Monday after a long debate.\n")
    report = ingest([tmp_path])
    assert [a.body for a in report.articles] == ["The council approved the new budget on Monday after a long debate."]


def test_long_first_sentence_is_cut_at_a_word_boundary():
    sentence = "The regional parliament " + "voted again on the long disputed water supply amendment " * 5 + "today."
    title = title_from_text(sentence + " Second sentence here.", "stem")
    assert title.endswith("\u2026") and len(title) <= MADE_TITLE_CHARS + 1
    assert sentence.startswith(title[:-1]) and not title[:-1].endswith(" ")


def test_unhelpful_first_sentences_fall_back_to_the_file_stem():
    art = parse_text("Yes. No. Maybe so.", "weekly-note")
    assert (art.title, art.body) == ("weekly-note", "Yes. No. Maybe so.")


def test_a_lone_title_line_or_markdown_heading_is_still_refused():
    with pytest.raises(BadInput, match="no article text"):
        parse_text("Only a title\n", "d")
    with pytest.raises(BadInput, match="no article text"):
        parse_text("# Council approves the budget.\n", "d", markdown=True)


def test_title_line_then_body_is_unchanged():
    art = parse_text("Budget approved\n\nThe council approved the budget.", "d")
    assert (art.title, art.body) == ("Budget approved", "The council approved the budget.")
