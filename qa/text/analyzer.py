"""The BM25 analyzer of news text (tokens, stopwords, stemming) and the key terms of a question.

Tokenisation is made for news text: lower-cased words, numbers and hyphenated names kept whole
("346-61", "al-assad") and also split into their parts, English stopwords dropped, optional
Snowball stemming of alphabetic tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"\w+(?:[-'\u2019.]\w+)*")
_PARTS = re.compile(r"[-'.]")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str, stem: bool = True) -> list[str]:
    """BM25 tokens of one text (see module docstring)."""
    stop = stopwords()
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if tok.endswith("'s"):
            tok = tok[:-2]
        parts = _PARTS.split(tok) if ("-" in tok or "'" in tok or "." in tok) else None
        if parts is not None and len(parts) > 1:
            out.append(tok)
            out.extend(p for p in parts if p and p not in stop)
        elif tok and tok not in stop:
            out.append(tok)
    if stem and out:
        # one call into the C stemmer for all alphabetic tokens (numbers stay as they are)
        alpha = [i for i, t in enumerate(out) if t.isalpha()]
        for i, s in zip(alpha, _stemmer().stemWords([out[i] for i in alpha])):
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
