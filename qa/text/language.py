"""Languages of texts: detection (py3langid), the writing system of a word, and each language's
Snowball stemmer and stopwords for the BM25 analyzer.

An article's language is detected once, at ingest, from its title and the start of its body.
A question is too short to detect reliably among ~100 languages ("Who is Angela Merkel?" can
come out German), so `question_language` decides by what is certain first: a word's script
(Cyrillic is stemmed as Russian, Greek as Greek, ...), and only for Latin-script words, which
a dozen stemmers share, does detection choose, among the languages the index actually holds.
An index of English (and non-Latin) articles never runs detection on a question, so English
questions are analysed exactly as before.
"""

from __future__ import annotations

from functools import lru_cache

# ISO 639-1 -> PyStemmer (Snowball) algorithm
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish",
    "fr": "french", "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian",
    "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}
# the script a language's stemmer reads (absent: Latin)
LANGUAGE_SCRIPT = {"ru": "cyrillic", "sr": "cyrillic", "el": "greek", "ar": "arabic", "fa": "arabic",
                   "hy": "armenian", "hi": "devanagari", "ne": "devanagari", "ta": "tamil",
                   "yi": "hebrew"}
# a word in this script, in a text of no (or another script's) language, is stemmed as
SCRIPT_LANGUAGE = {"latin": "en", "cyrillic": "ru", "greek": "el", "arabic": "ar",
                   "armenian": "hy", "devanagari": "hi", "tamil": "ta"}
_STOPWORDS = {"en": "STOPWORDS_EN", "ru": "STOPWORDS_RUSSIAN", "de": "STOPWORDS_GERMAN",
              "fr": "STOPWORDS_FRENCH", "es": "STOPWORDS_SPANISH", "it": "STOPWORDS_ITALIAN",
              "pt": "STOPWORDS_PORTUGUESE", "nl": "STOPWORDS_DUTCH", "da": "STOPWORDS_DANISH",
              "sv": "STOPWORDS_SWEDISH", "no": "STOPWORDS_NORWEGIAN", "nb": "STOPWORDS_NORWEGIAN",
              "tr": "STOPWORDS_TURKISH"}
# (first code point past the block, script): Latin up to the IPA and combining marks, Greek,
# Cyrillic (with its supplement), Armenian, Hebrew, Arabic, ..., Latin Extended Additional
_RANGES = ((0x0370, "latin"), (0x0400, "greek"), (0x0530, "cyrillic"), (0x0590, "armenian"),
           (0x0600, "hebrew"), (0x0700, "arabic"), (0x0750, "other"), (0x0780, "arabic"),
           (0x0900, "other"), (0x0980, "devanagari"), (0x0B80, "other"), (0x0C00, "tamil"),
           (0x1D00, "other"), (0x1F00, "latin"), (0x2000, "greek"))
MIN_LETTERS = 20  # fewer letters than this: too little text to tell its language
DETECT_CHARS = 500  # an article's language is judged on its title and the start of its body
MIN_CONFIDENCE = 0.5


def script_of(word: str) -> str:
    """The writing system of a word's first letter: "latin", "cyrillic", "greek", "arabic", ...
    ("other" for one without a stemmer here; "latin" for a word with no letter)."""
    for ch in word:
        if ch.isalpha():
            cp = ord(ch)
            for end, name in _RANGES:
                if cp < end:
                    return name
            return "other"
    return "latin"


def script_language(script: str, language: str = "") -> str:
    """The language whose stemmer reads a word in `script`: the text's own `language` when it is
    written in that script and has a stemmer, else the script's usual language ("" for none)."""
    if language in SNOWBALL and LANGUAGE_SCRIPT.get(language, "latin") == script:
        return language
    return SCRIPT_LANGUAGE.get(script, "")


@lru_cache(maxsize=None)
def stemmer(language: str):
    """PyStemmer's Snowball stemmer of `language` (ISO 639-1), or None when there is none."""
    name = SNOWBALL.get(language)
    if not name:
        return None
    import Stemmer

    return Stemmer.Stemmer(name)


@lru_cache(maxsize=None)
def stopwords_of(language: str) -> frozenset[str]:
    """bm25s' stopword list of `language` (empty when it has none)."""
    name = _STOPWORDS.get(language)
    if not name:
        return frozenset()
    import bm25s.stopwords

    return frozenset(getattr(bm25s.stopwords, name))


@lru_cache(maxsize=32)
def _identifier(languages: tuple[str, ...] | None):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        ident.set_languages([x for x in languages if x in ident.labels])
    return ident


def detect_language(text: str, languages: tuple[str, ...] | None = None) -> str:
    """ISO 639-1 code of the language `text` is written in, or "" when unsure or too short.

    Args:
        text: the text (only its first DETECT_CHARS characters are read).
        languages: choose among these only (None: every language py3langid knows).
    """
    sample = (text or "")[:DETECT_CHARS]
    if sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return ""
    lang, prob = _identifier(tuple(sorted(languages)) if languages else None).classify(sample)
    return lang if prob >= MIN_CONFIDENCE else ""


def question_language(question: str, index_languages: frozenset[str] | set[str] = frozenset()) -> str:
    """The language whose stemmer reads a question's Latin-script words, for an index holding
    articles in `index_languages`; "" means English (and each other script's usual language).

    Detection runs only when the index holds a Latin-script language other than English, and
    chooses among those and English: a short question is told apart from a few candidates far
    more reliably than from all languages. Non-Latin words need no detection (see module doc).
    """
    latin = {x for x in index_languages if x in SNOWBALL and x not in LANGUAGE_SCRIPT and x != "en"}
    if not latin:
        return ""
    words = " ".join(w for w in question.split() if script_of(w) == "latin")
    if sum(c.isalpha() for c in words) < 3:
        return ""
    lang, _ = _identifier(tuple(sorted(latin | {"en"}))).classify(words)
    return "" if lang == "en" else lang
