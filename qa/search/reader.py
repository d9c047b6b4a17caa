"""qa's reading model: a small BERT that reads question and passage together and scores them.

The model (qa/models/reader/, trained by training/train_reader.py; MODEL_CARD.md there says on
what) reads `question [SEP] title | passage` and gives two scores per pair:

    rank   how well the passage answers the question (a cross-encoder logit)
    span   how sure it is of an answer inside the passage (best start logit + best end logit
           over the passage's word pieces: the SQuAD reading task it was also trained on)

It ships as an int8 ONNX graph with its tokenizer; `reader.json` records both files' sha256,
which are checked when the model loads (lazily, on the first question), so a damaged or swapped
file is refused rather than read. Nothing is downloaded.

`encode_pairs` is the one tokenisation of a pair, used here and by the training script, so the
model reads at query time exactly what it was trained on. The model read only English questions
(SQuAD), so `reads` leaves two kinds of query to the features: one written mostly in another
script, and one that is not a question (a topic such as TIME's "u.s. policy toward the new
regime", a claim such as SciFact's, a keyword query such as "Super Bowl 2021 location"): it
never read those, and they are ranking tasks, not reading ones.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ModelCorrupt
from qa.hashing import sha256_file

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "reader"
MAX_TOKENS = 192  # question + title + passage word pieces; qa's passages aim at 120
TITLE_SEP = " | "
MAX_ANSWER_TOKENS = 30  # the longest answer span the model is asked to point at (SQuAD's are short)


# how the questions the model was trained on begin, when they do not end with "?" (fixed from
# English grammar, not fitted: 99.8% of SQuAD train's 87,599 questions are questions by this rule)
_ASKING = frozenset("who whom whose what which when where why how".split())
_AUXILIARY = frozenset("is are was were am do does did can could will would should shall may "
                       "might must has have had".split())
_IMPERATIVE = frozenset("name list give tell identify describe explain define".split())
_PREPOSITION = frozenset("in on at by for to from during of with after before since until under "
                         "about against into through".split())


def is_question(text: str) -> bool:
    """Whether `text` is put as a question: it ends with "?", or begins with a question word,
    an auxiliary verb or an imperative ("Who ...", "Did ...", "Name ..."), or with a preposition
    and a question word ("In what year ...", "According to whom ..."). A topic, a claim or a keyword list is not."""
    text = text.strip()
    if text.endswith(("?", "？")):
        return True
    low = text.lower().replace("\u2019", "'")
    low = low.replace("won't", "will not").replace("can't", "can not").replace("n't", " not")
    words = re.findall(r"[a-z]+", low)[:3]  # "what's" -> what, s
    if words[:2] == ["according", "to"]:
        words = words[1:]
    if not words:
        return False
    if words[0] in _ASKING or words[0] in _AUXILIARY or words[0] in _IMPERATIVE:
        return True
    return len(words) >= 2 and words[0] in _PREPOSITION and words[1] in _ASKING


def reads(question: str) -> bool:
    """Whether the reading model reads this query: it is put as a question (`is_question`) and
    most of its words are in Latin script (a Russian or Greek question is left to the features;
    its word pieces would be noise)."""
    from qa.text.language import script_of

    words = re.findall(r"[^\W\d_]+", question)
    return (bool(words) and sum(script_of(w) == "latin" for w in words) * 2 >= len(words)
            and is_question(question))


def pair_text(title: str, text: str) -> tuple[str, int]:
    """The second segment the model reads (title, separator, passage) and where the passage starts."""
    title = " ".join((title or "").split())[:200]
    head = f"{title}{TITLE_SEP}" if title else ""
    return head + text, len(head)


@dataclass
class EncodedPairs:
    """A padded batch of pairs: model inputs plus each pair's encoding (offsets, segments)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    encodings: list

    def feed(self) -> dict[str, np.ndarray]:
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                "token_type_ids": self.token_type_ids}


def load_tokenizer(path: Path, max_tokens: int = MAX_TOKENS):
    """The model's word-piece tokenizer, cutting a pair to `max_tokens` from its longer side: the
    passage, for any question shorter than it (a question longer than the limit is cut too,
    where cutting only the passage could not make the pair fit)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_tokens, strategy="longest_first")
    tok.no_padding()
    return tok


def encode_pairs(tokenizer, questions: list[str], seconds: list[str]) -> EncodedPairs:
    """Tokenise (question, second segment) pairs and pad them to the longest."""
    encs = tokenizer.encode_batch(list(zip(questions, seconds)))
    width = max((len(e.ids) for e in encs), default=0)
    n = len(encs)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    for i, e in enumerate(encs):
        m = len(e.ids)
        ids[i, :m], mask[i, :m], types[i, :m] = e.ids, 1, e.type_ids
    return EncodedPairs(ids, mask, types, encs)


def best_answer(start: np.ndarray, end: np.ndarray, encoding, max_tokens: int = MAX_ANSWER_TOKENS
                ) -> tuple[int, int] | None:
    """The answer the model points at in one pair: the (first, last) word piece maximising start +
    end logit with first <= last < first + `max_tokens`, as character offsets (start, end) in the
    second segment; None when the pair has no second-segment token."""
    seq = np.asarray(encoding.type_ids[:len(start)]) == 1
    if not seq.any():
        return None
    s = np.where(seq, start[:len(seq)], -np.inf)
    e = np.where(seq, end[:len(seq)], -np.inf)
    n = len(s)
    pair = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    pair[(j < i) | (j >= i + max_tokens)] = -np.inf
    first, last = np.unravel_index(int(np.argmax(pair)), pair.shape)
    offsets = encoding.offsets
    return int(offsets[first][0]), int(offsets[last][1])


def score_pairs(session, tokenizer, question: str, seconds: list[str], batch_size: int = 32,
                answers: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rank, span) of one question against second segments (`pair_text`), `batch_size` at a time.
    With a list as `answers` (and a model that gives per-token logits), it receives each pair's
    `best_answer` (character offsets in its second segment, or None)."""
    rank = np.zeros(len(seconds), np.float32)
    span = np.zeros(len(seconds), np.float32)
    pointing = answers is not None and {"start", "end"} <= {o.name for o in session.get_outputs()}
    for s in range(0, len(seconds), batch_size):
        part = seconds[s:s + batch_size]
        enc = encode_pairs(tokenizer, [question] * len(part), part)
        out = session.run(["rank", "span", "start", "end"] if pointing else ["rank", "span"], enc.feed())
        rank[s:s + len(part)], span[s:s + len(part)] = out[0].reshape(-1), out[1].reshape(-1)
        if pointing:
            answers.extend(best_answer(out[2][i], out[3][i], enc.encodings[i]) for i in range(len(part)))
        elif answers is not None:
            answers.extend([None] * len(part))
    return rank, span


class Reader:
    """The shipped reading model; the ONNX session opens on the first `score`."""

    def __init__(self, folder: str | Path = MODEL_DIR, threads: int = 0, batch_size: int = 32):
        self.folder = Path(folder)
        self.threads = threads
        self.batch_size = batch_size
        self._session = None
        self._tokenizer = None
        self._meta: dict | None = None
        self._lock = threading.Lock()

    @property
    def meta(self) -> dict:
        """reader.json: file checksums, max tokens, the learned combination weights."""
        if self._meta is None:
            path = self.folder / "reader.json"
            try:
                self._meta = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ModelCorrupt(f"the reading model's {path} cannot be read ({e}); reinstall qa "
                                   "or retrain it with training/train_reader.py") from None
        return self._meta

    def _check(self, name: str) -> Path:
        path = self.folder / name
        want = (self.meta.get("files") or {}).get(name, "unrecorded")
        got = sha256_file(path) if path.exists() else "missing"
        if got != want:
            raise ModelCorrupt(f"the reading model's {path} has sha256 {got}, not the recorded {want}; "
                               "reinstall qa or retrain it with training/train_reader.py")
        return path

    def _load(self):
        with self._lock:
            if self._session is None:
                from qa.embedders.onnx_runtime import cpu_session

                model = self._check("model.onnx")
                tok = self._check("tokenizer.json")
                self._tokenizer = load_tokenizer(tok, int(self.meta.get("max_tokens", MAX_TOKENS)))
                self._session = cpu_session(model, self.threads)
            return self._session, self._tokenizer

    def warm(self) -> None:
        """Open the session now (checking both files) instead of on the first question."""
        self._load()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def score(self, question: str, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """(rank, span) scores of (title, passage text) pairs for one question."""
        rank, span, _ = self.read(question, pairs)
        return rank, span

    def read(self, question: str, pairs: list[tuple[str, str]]
             ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int] | None]]:
        """(rank, span, answers) of (title, passage text) pairs for one question: `answers` holds,
        per pair, the answer the model points at as (start, end) in the passage text, or None
        (an older model without per-token outputs, or an answer inside the title)."""
        if not pairs:
            return np.zeros(0, np.float32), np.zeros(0, np.float32), []
        session, tok = self._load()
        seconds = [pair_text(t, x) for t, x in pairs]
        found: list = []
        rank, span = score_pairs(session, tok, question, [sec for sec, _ in seconds], self.batch_size, found)
        answers = []
        for (sec, head), a in zip(seconds, found):
            answers.append((a[0] - head, a[1] - head) if a is not None and a[0] >= head else None)
        return rank, span, answers


def best_reading(hit_scores: list[dict], meta: dict) -> float | None:
    """The best reading part of the learned combination (its weights on `reader` and
    `reader_span`) among hits the model read; None when it read none of them."""
    w = dict(zip(meta["combination"]["features"], meta["combination"]["weights"]))
    values = [w.get("reader", 0.0) * s["reader"] + w.get("reader_span", 0.0) * s["reader_span"]
              for s in hit_scores if "reader" in s and "reader_span" in s]
    return float(max(values)) if values else None


_READERS: dict[str, Reader] = {}


def shared_reader(folder: str | Path = MODEL_DIR) -> Reader:
    """One `Reader` per folder per process (the session is loaded once)."""
    key = str(Path(folder).resolve())
    if key not in _READERS:
        _READERS[key] = Reader(folder)
    return _READERS[key]
