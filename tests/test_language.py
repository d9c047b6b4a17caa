"""Languages: detected per article at ingest; BM25 stems each word in its language, so a Russian
question finds a Russian article by its words; English tokens are exactly what they were."""

from __future__ import annotations

import pytest

from qa.text.analyzer import tokenize
from qa.text.language import detect_language, question_language, script_of

RU_TEXT = ("Россия предложила провести межведомственные консультации государств ШОС по декарбонизации "
           "экономики. Предложение поддержали министры энергетики.")

# English tokenisations pinned before languages were known: they must never change
PINNED = [
    ("Russia proposes consultations on the decarbonization of the economy.",
     ["russia", "propos", "consult", "decarbon", "economi"]),
    ("Russia\u2019s al-Assad talks: the 346-61 vote, U.S. officials said",
     ["russia", "al-assad", "al", "assad", "talk", "346-61", "346", "61", "vote", "u.s", "u", "s",
      "offici", "said"]),
    ("The café’s naïve owners weren't running", ["café", "naïv", "owner", "weren't", "weren", "t", "run"]),
    ("TNF-α and β-catenin levels rose 2-fold", ["tnf-α", "tnf", "α", "β-catenin", "β", "catenin", "level",
                                              "rose", "2-fold", "2", "fold"]),
]


@pytest.mark.parametrize("text,tokens", PINNED)
def test_english_tokens_are_unchanged(text, tokens):
    assert tokenize(text) == tokens
    assert tokenize(text, language="en") == tokens


@pytest.mark.parametrize("text,tokens", PINNED)
def test_english_words_in_a_russian_text_are_still_english(text, tokens):
    assert [t for t in tokenize(text, language="ru")] == tokens


def test_russian_words_are_stemmed_as_russian_with_russian_stopwords():
    toks = tokenize(RU_TEXT, language="ru")
    assert "декарбонизац" in toks and "предлож" in toks and "предложен" in toks
    assert "по" not in toks  # a Russian stopword
    # a question without a language: Cyrillic words are Russian by their script
    assert tokenize("Что Россия говорит о декарбонизации?") == ["росс", "говор", "декарбонизац"]


def test_a_latin_language_article_is_stemmed_in_its_own_language():
    assert tokenize("Die Vorschläge", language="de") == ["vorschlag"]  # "die": a German stopword
    assert tokenize("Die Vorschläge") == ["die", "vorschläg"]  # as English: no German stopword or ending


def test_script_of_words():
    assert [script_of(w) for w in ("news", "café", "москва", "αβ", "123", "東京")] == \
        ["latin", "latin", "cyrillic", "greek", "latin", "other"]


def test_detect_language_of_articles_and_too_short_texts():
    assert detect_language(RU_TEXT) == "ru"
    assert detect_language("Russia proposes consultations on the decarbonization of the economy.") == "en"
    assert detect_language("Die Vorschläge der Regierungen wurden gestern im Parlament abgelehnt.") == "de"
    assert detect_language("ok") == "" and detect_language("") == ""


def test_question_language_detects_only_among_the_index_languages():
    assert question_language("Who is Angela Merkel?", {"en", "ru"}) == ""  # no detection at all
    assert question_language("Welche Vorschläge wurden abgelehnt?", {"en", "de"}) == "de"
    assert question_language("Which proposals were rejected?", {"en", "de"}) == ""


def test_ingest_records_each_articles_language(tmp_path):
    from qa.ingest.reader import ingest

    (tmp_path / "ru.txt").write_text("Россия предложила консультации\n\nМОСКВА, 11 июня. /ТАСС/. "
                                     + RU_TEXT + "\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("Russia proposes talks\n\nRussia proposes consultations on the "
                                     "decarbonization of the economy among member states.\n", encoding="utf-8")
    langs = {a.doc_id: a.language for a in ingest([tmp_path]).articles}
    assert langs == {"ru": "ru", "en": "en"}


@pytest.mark.parametrize("config", ["bm25", "hybrid"])
def test_russian_question_in_another_inflected_form_finds_the_russian_article(tmp_path, fake_embedder, config):
    from qa import Index

    (tmp_path / "ru.txt").write_text("Россия предложила консультации\n\nМОСКВА, 11 июня. /ТАСС/. "
                                     + RU_TEXT + "\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("Russia proposes talks\n\nRussia proposes consultations on the "
                                     "decarbonization of the economy among member states.\n", encoding="utf-8")
    (tmp_path / "other.txt").write_text("Погода в Москве\n\nВ Москве завтра ожидается дождь и сильный "
                                        "ветер, сообщили синоптики.\n", encoding="utf-8")
    index = Index.build([tmp_path], tmp_path / "index", embedder=fake_embedder)
    assert index.snapshot.manifest["bm25"]["languages"] == ["en", "ru"]
    # "поддержал", "предложения", "декарбонизацию": none of these forms is in the article
    hits = index.search("Кто поддержал предложения о декарбонизацию?", k=2, config=config)
    assert hits[0].doc_id == "ru" and hits[0].scores["bm25"] > 0
    # the English question still finds the English article
    assert index.search("decarbonization consultations", k=1, config="bm25")[0].doc_id == "en"
