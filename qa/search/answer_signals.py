"""Answer signals: does a candidate passage hold what the question asks for, not only its topic?

Retrieval and the document-level features find the right article; inside it, the lead passage
matches the topic best while the passage holding the name or number asked for sits lower. These
signals read the candidate's text, sentence by sentence:

    sent_lex     the best sentence's IDF-weighted share of the question's terms: the terms of
                 the question gathered in one sentence, where an answer usually stands
    answer_type  the kind of answer the question asks for (a number, a date, a person, a place,
                 another name: "which party", "what was the name")
                 appears in that sentence or the next, and is not a word of the question itself
    year         the years the question names are in the passage (+1), or the passage names only
                 other years (-1, an account of another year's event); 0 otherwise
    answer_count how many such answer-kind tokens the best sentence holds (0, 1/3, 2/3, 1 for
                 three or more): the sentence that lists names or figures beside the question's
                 terms, rather than one that only restates its topic
    apposition   for a question asking for a name ("which judge ...?", "who was the director
                 of ...?"), a sentence of the passage puts a word of the asked-for role within
                 `APPOSITION_WORDS` words of such a name: "Judge George Sowemimo", "director,
                 Francis Ford Coppola", "Runners-up Argentina"

A date at the very start of an article is its dateline ("MOSCOW, June 11.", "Feb 7, 2021 ..."),
the day it was written, not an answer to "when". In text set all in capitals (old wire copy,
scanned magazines) every word is capitalised, and in text all in lower case (transcripts, chat,
some feeds) none is, so a name there is a rare word (IDF above 4).
"""

from __future__ import annotations

import re

import numpy as np

from qa.text.analyzer import sentence_terms, stopwords, tokenize
from qa.text.sentences import split_sentences
from qa.types import Passage

SIGNALS = ("sent_lex", "answer_type", "year", "answer_count", "apposition")

_KINDS = (  # first match wins: "how many people" asks a number, "who" a person
    ("number", re.compile(r"\b(how (many|much|far|long|old|big|large|tall|high|often)|what (number|percentage|"
                          r"share|proportion|amount|sum|price|cost)|how much did)\b", re.I)),
    ("date", re.compile(r"\b(when|(what|which) (years?|dates?|days?|months?|time)|(release|premiere|launch|"
                        r"opening|air|election|wedding|birth) dates?|the date of)\b", re.I)),
    ("person", re.compile(r"\b(who|whom|whose|which (person|man|woman|leader|president|minister))\b", re.I)),
    ("place", re.compile(r"\b(where|which (city|country|town|state|region|province|island|place)|"
                         r"what (city|country|town|state|region|place))\b", re.I)),
    # any other "which ...?" or "what is the name ...?" asks for a name: a party, a ship, a newspaper
    ("name", re.compile(r"(^|[,;:]\s*|\b(in|at|on|of|for|from|to|by|with|within|between|among|under|into|"
                        r"against|during|after|before)\s+)which\b|"
                        r"\bwhat (is|was|were|are) (the|its|his|her|their) (real |full |official )?names?\b|"
                        r"\bwhat (movie|film|book|novel|show|series|game|company|firm|team|club|party|song|"
                        r"album|play|newspaper|magazine|ship|brand|product|award|prize)s?\b", re.I)),
)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                     r"forty|fifty|hundred|thousand|million|billion|dozen|half|quarter)\b", re.I)
_MONTH = (r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t|tember)?|oct(ober)?|"
          r"nov(ember)?|dec(ember)?")
_DATE = re.compile(rf"\b(1[5-9]\d\d|20\d\d|({_MONTH})\.?\s+\d|\d+\s+({_MONTH})\b|monday|tuesday|wednesday|"
                   r"thursday|friday|saturday|sunday|yesterday|today|tomorrow)", re.I)
_CAPITAL = re.compile(r"\b[A-Z][\w'\u2019\-]+")  # a name: person, organisation or place
_UPPER_WORD = re.compile(r"\b[A-Z][A-Z'\u2019\-]+")
_LOWER_WORD = re.compile(r"\b[a-z][a-z'\u2019\-]+")
# "what was the revenue ...?" asks a number though no "how many" says so
_FIGURE = re.compile(r"\b(revenues?|price|costs?|budget|population|salary|worth|toll|score|total|rate|"
                     r"percentage|per ?cent|amount|sum|figure|gdp|profits?|loss|deficit|sales)\b", re.I)
_ASKS_WHAT = re.compile(r"\s*(what|which)\b", re.I)
DATELINE_CHARS = 25  # a date starting this close to an article's start is its dateline
NAME_IDF = 4.0  # in text of one case, a word rarer than this is taken for a name
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
APPOSITION_WORDS = 4  # a role word this close to a name stands in apposition to it
_WORD = re.compile(r"[\w'\u2019\-]+")  # the name patterns' characters: a name is one such word
_AUX = frozenset("did does do was is were are had has have will would could can".split())
_ROLE_AFTER = re.compile(r"\b(?:which|(?:who|what) (?:is|was|are|were)(?: (?:the|a|an))?)\s+(.*)", re.I)


def question_kind(question: str) -> str | None:
    """"number", "date", "person", "place" or "name": the kind of answer a question asks for, if any."""
    for kind, pattern in _KINDS:
        if pattern.search(question):
            return kind
    if _ASKS_WHAT.match(question) and _FIGURE.search(question):
        return "number"
    return None


def role_terms(question: str) -> frozenset[str]:
    """The (stemmed) words naming the role a name-asking question wants filled: the words after
    "which" or "who was (the)" up to the first stopword ("Which Scottish constituency did ..." ->
    scottish, constitu; "Who was the director of ..." -> director)."""
    out: set[str] = set()
    for m in _ROLE_AFTER.finditer(question):
        for w in _WORD.findall(m.group(1)):
            w = w.lower()
            if w in _AUX or w in stopwords():
                break
            out.update(tokenize(w))
    return frozenset(out)


def _apposition(kind: str, sentences: list[str], roles: frozenset[str], question_words: set[str], idf) -> float:
    """1.0 when a sentence has a role word within APPOSITION_WORDS words of a `kind` (a name) token."""
    for sent in sentences:
        if not roles & sentence_terms(sent):
            continue
        words = _WORD.findall(sent)
        near = [i for i, w in enumerate(words) if roles.intersection(tokenize(w))]
        names = set(kind_tokens(kind, sent, question_words, idf))  # names: no dateline to skip
        if any(abs(i - j) <= APPOSITION_WORDS for j, w in enumerate(words) if w in names for i in near):
            return 1.0
    return 0.0


def kind_tokens(kind: str, text: str, question_words: set[str], idf, at_dateline: bool = False) -> list[str]:
    """The tokens of `kind` in `text` that are not words of the question.

    `at_dateline`: `text` starts the article, so a date at its very start is the dateline.
    `idf` tells names in text of one case, all capitals or all lower case (see the module docstring).
    """
    if kind == "number":
        found = list(_NUMBER.finditer(text))
    elif kind == "date":
        found = [m for m in _DATE.finditer(text) if not (at_dateline and m.start() < DATELINE_CHARS)]
    elif text.upper() == text or text.lower() == text:  # a name in text of one case: a rare word
        found = [m for m in (_UPPER_WORD if text.upper() == text else _LOWER_WORD).finditer(text)
                 if m.group().lower() not in stopwords() and idf((tokenize(m.group()) or [""])[0]) > NAME_IDF]
    else:  # a person or a place: a capitalised word (stopwords such as "The" count as question words)
        found = list(_CAPITAL.finditer(text))
    return [m.group() for m in found if not set(tokenize(m.group(), stem=False)) <= question_words]


def answer_signals(question: str, passages: list[Passage], idf,
                   sentences: list | None = None) -> np.ndarray:
    """(len(passages), len(SIGNALS)) answer signals (see the module docstring).

    Args:
        question: the cleaned question.
        passages: the candidates.
        idf: token -> IDF of the collection (the passage BM25 index's `idf`).
        sentences: each passage's sentence spans (passage-relative start, end) when the index
            stored them (the highlighter's sentences: the same split), else they are split here.
    """
    out = np.zeros((len(passages), len(SIGNALS)), dtype=np.float32)
    weights = {t: idf(t) for t in set(tokenize(question))}
    total = sum(weights.values())
    kind = question_kind(question)
    q_words = set(tokenize(question, stem=False))
    q_years = set(_YEAR.findall(question))
    roles = role_terms(question) if kind in ("person", "place", "name") else frozenset()
    for i, p in enumerate(passages):
        spans = (sentences[i] if sentences is not None else split_sentences(p.text)) or [(0, len(p.text))]
        sents = [p.text[int(s):int(e)] for s, e in spans]
        cover = [sum(weights[t] for t in weights.keys() & sentence_terms(s)) / total if total else 0.0
                 for s in sents]
        best = int(np.argmax(cover))
        out[i, 0] = cover[best]
        if kind is not None:
            found = kind_tokens(kind, sents[best], q_words, idf, at_dateline=p.char_start == 0 and best == 0)
            out[i, 1] = float(bool(found) or (best + 1 < len(sents)
                                              and bool(kind_tokens(kind, sents[best + 1], q_words, idf))))
            out[i, 3] = min(3, len(found)) / 3
        if q_years:
            years = set(_YEAR.findall(p.text))
            out[i, 2] = 1.0 if q_years <= years else (-1.0 if years else 0.0)
        if roles:
            out[i, 4] = _apposition(kind, sents, roles, q_words, idf)
    return out
