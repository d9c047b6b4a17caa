"""The BM25 analyzer of news text (tokens, stopwords, stemming) and the key terms of a question.

Tokenisation is made for news text: lower-cased words, numbers and hyphenated names kept whole
("346-61", "al-assad") and also split into their parts, stopwords dropped, optional Snowball
stemming of alphabetic tokens. Each word is stemmed (and stopword-checked) in its own language:
the text's `language` for words in that language's script, else the script's usual language
(Latin: English, Cyrillic: Russian; see `qa.text.language`). English text takes the same
path, with the same tokens, as before languages were known.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa.text.language import script_language, script_of, stemmer, stopwords_of

# letters of scripts other than Latin may only be in these blocks (punctuation such as ’ and —
# is not): a text without them is all English words, and takes the English path
_OTHER_SCRIPTS = re.compile("[\u0370-\u1dff\u1f00-\u1fff\u2c00-\uffff\U00010000-\U0010ffff]")
_TOKEN = re.compile(r"\w+(?:[-'\u2019.]\w+)*")
_PARTS = re.compile(r"[-'.]")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The English stopwords (of key terms and of English text)."""
    return stopwords_of("en")


@lru_cache(maxsize=1)
def _stemmer():
    return stemmer("en")


def tokenize(text: str, stem: bool = True, language: str = "") -> list[str]:
    """BM25 tokens of one text (see module docstring).

    Args:
        text: the text.
        stem: Snowball-stem alphabetic tokens.
        language: the text's ISO 639-1 code ("" or "en": English for Latin-script words).
    """
    if not (language in ("", "en") and (text.isascii() or not _OTHER_SCRIPTS.search(text))):
        return _tokenize_any(text, stem, language)
    # English words only: the English analyzer, unchanged since before languages were known;
    # each distinct word is analysed once and remembered (news reuses its words: the answer
    # signals and the highlighter read thousands of sentences a second)
    cache = _STEMMED if stem else _UNSTEMMED
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        got = cache.get(tok)
        if got is None:
            got = _english_word(tok, stem)
            if len(cache) >= _WORD_CACHE_SIZE:
                cache.clear()
            cache[tok] = got
        out.extend(got)
    return out


_WORD_CACHE_SIZE = 200_000  # distinct words remembered per stem setting (~30 MB at most)
_STEMMED: dict[str, tuple[str, ...]] = {}
_UNSTEMMED: dict[str, tuple[str, ...]] = {}


def _english_word(tok: str, stem: bool) -> tuple[str, ...]:
    """The English tokens of one lower-cased word of `_TOKEN` (see `tokenize`)."""
    stop = stopwords()
    if tok.endswith("'s"):
        tok = tok[:-2]
    parts = _PARTS.split(tok) if ("-" in tok or "'" in tok or "." in tok) else None
    if parts is not None and len(parts) > 1:
        out = [tok] + [p for p in parts if p and p not in stop]
    elif tok and tok not in stop:
        out = [tok]
    else:
        return ()
    if stem:
        st = _stemmer()
        out = [st.stemWord(t) if t.isalpha() else t for t in out]
    return tuple(out)


@lru_cache(maxsize=20_000)
def sentence_terms(text: str) -> frozenset[str]:
    """The distinct stemmed BM25 terms of a sentence, remembered for the last 20,000 sentences:
    the reranker's answer signals and the highlighter read the same candidates' sentences, and
    popular passages come back for question after question (~25 MB at most)."""
    return frozenset(tokenize(text))


def _tokenize_any(text: str, stem: bool, language: str) -> list[str]:
    """`tokenize` with each token's stopwords and stemmer chosen by its language (or script)."""
    latin = script_language("latin", language) or "en"
    langs: list[str] = []  # the language of each token of `out`
    out: list[str] = []

    def lang_of(tok: str) -> str:
        return latin if tok.isascii() else script_language(script_of(tok), language)

    for tok in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if tok.endswith("'s"):
            tok = tok[:-2]
        parts = _PARTS.split(tok) if ("-" in tok or "'" in tok or "." in tok) else None
        if parts is not None and len(parts) > 1:
            out.append(tok)
            langs.append(lang_of(tok))
            for p in parts:
                if p:
                    lang = lang_of(p)
                    if p not in stopwords_of(lang):
                        out.append(p)
                        langs.append(lang)
        elif tok:
            lang = lang_of(tok)
            if tok not in stopwords_of(lang):
                out.append(tok)
                langs.append(lang)
    if stem and out:
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(out):
            if t.isalpha():
                groups.setdefault(langs[i], []).append(i)
        for lang, idx in groups.items():
            st = stemmer(lang)
            if st is not None:
                for i, s in zip(idx, st.stemWords([out[i] for i in idx])):
                    out[i] = s
    return out


_WORD = re.compile(r"[\w][\w\-'.]*\w|\w")
QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "why", "how", "which", "did",
                  "does", "do", "is", "are", "was", "were", "can", "could", "should", "would", "will"}


def key_terms(question: str) -> list[str]:
    """Names and numbers of a question: words with a digit, or capitalised past the first word."""
    words = _WORD.findall(question)
    out = []
    for i, w in enumerate(words):
        low = w.lower()
        if low in QUESTION_WORDS or low in stopwords():
            continue
        if any(c.isdigit() for c in w) or (w[0].isupper() and i > 0) or (w.isupper() and len(w) > 1):
            out.append(low)
    return list(dict.fromkeys(out))
