"""Sentence vectors stored with the index, so finding a hit's answer sentence is dot products.

The highlighter picks the sentence of a passage closest to the question. Embedding those
sentences when a question arrives cost ~95% of a highlighted query (bench/RESULTS.md), so the
builder embeds every distinct sentence once, at index time, and keeps it beside the passages:

    sentences/vectors.npy   int8 (m, dim): unit vectors x 127, one row per distinct sentence
    sentences/keys.npy      bytes (m,): embedding key of each row (reused by the next build)
    sentences/offsets.npy   int64 (n + 1,): passage i owns entries offsets[i]:offsets[i + 1]
    sentences/entries.npy   int32 (total, 3): sentence start, end (in the passage text), row

int8 keeps a cosine within ~0.005 of float32, enough to rank a passage's few sentences, at a
quarter of the bytes. All four files are memory-mapped on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from qa.text.sentences import split_sentences
from qa.storage.folder import IndexFolder
from qa.storage.tables import map_npy
from qa.hashing import content_hash
from qa.types import Passage

SCALE = 127.0


def sentence_key(fingerprint: str, text: str) -> str:
    """Embedding key of a sentence (salted: a one-sentence passage embeds other text)."""
    return content_hash(fingerprint, "sentence", text)


@dataclass
class SentencePlan:
    """Every passage's sentences: spans, and rows into the distinct sentences (`texts`)."""

    offsets: np.ndarray  # (n + 1,) int64
    entries: np.ndarray  # (total, 3) int32: start, end, row
    texts: list[str]
    keys: list[str]

    def rows(self, i: int) -> range:
        """The entries (and, in context, the rows) of passage i's sentences."""
        return range(int(self.offsets[i]), int(self.offsets[i + 1]))


def plan_sentences(passages: list[Passage], fingerprint: str) -> SentencePlan:
    """Split each passage into the sentences the highlighter scores; each distinct text once."""
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    entries: list[tuple[int, int, int]] = []
    row_of: dict[str, int] = {}
    texts: list[str] = []
    for i, p in enumerate(passages):
        for s, e in split_sentences(p.text):
            text = p.text[s:e]
            row = row_of.setdefault(text, len(texts))
            if row == len(texts):
                texts.append(text)
            entries.append((s, e, row))
        offsets[i + 1] = len(entries)
    arr = np.array(entries, dtype=np.int32).reshape(-1, 3)
    return SentencePlan(offsets, arr, texts, [sentence_key(fingerprint, t) for t in texts])


def plan_in_context(passages: list[Passage], passage_keys: list[str]) -> SentencePlan:
    """Every passage's sentences, each its own row: its vector is pooled from the passage's own
    forward pass (`embed_spans`), so the same sentence in two overlapping passages has two
    vectors, each read in its passage. A row's key derives from its passage's key and span, so
    an unchanged passage keeps its sentence vectors across builds. `texts` is empty: nothing is
    embedded apart from the passages."""
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    entries: list[tuple[int, int, int]] = []
    keys: list[str] = []
    for i, (p, pkey) in enumerate(zip(passages, passage_keys)):
        for s, e in split_sentences(p.text):
            entries.append((s, e, len(keys)))
            keys.append(content_hash(pkey, "span", str(s), str(e)))
        offsets[i + 1] = len(entries)
    arr = np.array(entries, dtype=np.int32).reshape(-1, 3)
    return SentencePlan(offsets, arr, [], keys)


def reuse_spans(plan: SentencePlan, passages: list[Passage], fingerprint: str, cache: dict,
                 stored: SentenceCache, todo: list[int], dim: int) -> tuple[np.ndarray, list[int]]:
    """Sentence vectors of passages that are not re-embedded, from the previous index or saved
    shards (an index of separately embedded sentences gives its vectors too, so upgrading one
    re-embeds only what changed); a passage missing any of them joins `todo`. Returns (span
    vectors, todo)."""
    spans = np.zeros((len(plan.keys), dim), dtype=np.float32)
    again = set(todo)
    for i in range(len(plan.offsets) - 1):
        if i in again:
            continue
        for r in plan.rows(i):
            key = plan.keys[r]
            if key in cache:
                spans[r] = cache[key]
            elif key in stored:
                spans[r] = stored[key]
            else:
                s, e, _ = plan.entries[r]
                alone = sentence_key(fingerprint, passages[i].text[s:e])
                if alone in stored:
                    spans[r] = stored[alone]
                    continue
                again.add(i)
                break
    return spans, sorted(again)


def quantize(vectors: np.ndarray, rows: int = 8192) -> np.ndarray:
    """int8 of unit vectors x 127, `rows` at a time (no float temporaries the size of a big
    build's sentence vectors, which a build committed in steps writes at every step)."""
    vectors = np.asarray(vectors)
    out = np.empty(vectors.shape, dtype=np.int8)
    for start in range(0, len(vectors), rows):
        part = np.asarray(vectors[start:start + rows], dtype=np.float32)
        out[start:start + rows] = np.clip(np.rint(part * SCALE), -127, 127)
    return out


def save_sentences(folder: IndexFolder, plan: SentencePlan, vectors: np.ndarray,
                   pending: np.ndarray | None = None, layout: bool = True) -> None:
    """Write the sentence files of `plan` with `vectors` (float, one row per distinct text).

    Args:
        pending: rows not embedded yet (a build committed in steps): their keys are written
            blank, so no later build takes their zero vectors for embedded ones.
        layout: also write `offsets` and `entries`, which depend on the text only (False: the
            caller links them from the build before).
    """
    folder.sentences_dir.mkdir(exist_ok=True)
    np.save(folder.sentence_file("vectors"), quantize(vectors), allow_pickle=False)
    keys = np.array([k.encode("ascii") for k in plan.keys], dtype="S16")
    if pending is not None and len(pending):
        keys[np.asarray(pending, dtype=np.int64)] = b""
    np.save(folder.sentence_file("keys"), keys, allow_pickle=False)
    if layout:
        np.save(folder.sentence_file("offsets"), plan.offsets, allow_pickle=False)
        np.save(folder.sentence_file("entries"), plan.entries, allow_pickle=False)


class SentenceCache(Mapping):
    """key -> float32 vector of the sentences an index folder stores, for the next build.

    Holds a key -> row dict and the memory-mapped int8 matrix (~120 bytes per sentence in
    memory, not a float32 array each); empty when the folder has no usable sentence files.
    """

    def __init__(self, folder: IndexFolder | None = None, dim: int = 0):
        self.rows: dict[str, int] = {}
        self.vectors = np.zeros((0, dim), dtype=np.int8)
        if folder is None or not folder.sentence_file("keys").exists():
            return
        try:
            keys = np.load(folder.sentence_file("keys"), allow_pickle=False)
            vecs = map_npy(folder.sentence_file("vectors"))
        except (OSError, ValueError):
            return  # unreadable: those sentences are embedded again
        if len(keys) == len(vecs) and vecs.ndim == 2 and vecs.shape[1] == dim:
            self.vectors = vecs
            # a blank key is a sentence a build committed in steps had not embedded yet
            self.rows = {k.decode("ascii"): i for i, k in enumerate(keys.tolist()) if k}

    def __getitem__(self, key: str) -> np.ndarray:
        return self.vectors[self.rows[key]].astype(np.float32) / SCALE

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class SentenceVectors:
    """The loaded sentence files of an index (memory-mapped)."""

    def __init__(self, folder: IndexFolder, n_passages: int):
        d = folder.sentences_dir
        self.vectors, self.offsets, self.entries = (map_npy(folder.sentence_file(name))
                                                    for name in ("vectors", "offsets", "entries"))
        # (checksums in the manifest guard the contents; these checks catch files of another build
        # without reading them whole)
        if len(self.offsets) != n_passages + 1:
            raise ValueError(f"{d} describes {len(self.offsets) - 1} passages, the index has {n_passages}")
        if int(self.offsets[-1]) != len(self.entries):
            raise ValueError(f"{d}/offsets.npy ends at entry {int(self.offsets[-1])}, "
                             f"entries.npy has {len(self.entries)}")

    @classmethod
    def open(cls, folder: IndexFolder, n_passages: int) -> "SentenceVectors | None":
        return cls(folder, n_passages) if folder.sentence_file("offsets").exists() else None

    def spans(self, row: int) -> np.ndarray:
        """(k, 3) start, end (passage-relative), vector row of passage `row`'s sentences."""
        return np.asarray(self.entries[int(self.offsets[row]):int(self.offsets[row + 1])])

    def similarities(self, entries: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Cosine of each entry's sentence with the (unit) question vector."""
        if not len(entries):
            return np.zeros(0, dtype=np.float32)
        vecs = np.asarray(self.vectors[np.asarray(entries[:, 2], dtype=np.int64)], dtype=np.float32)
        return vecs @ np.asarray(qvec, dtype=np.float32) / SCALE
