"""The passage and article tables of an index folder, read lazily from memory-mapped JSONL.

A loaded index must not hold a million passages as Python objects (~4 KB each). The builder
writes, beside `passages.jsonl` and `articles.jsonl`, the byte offset of every line
(`*.offsets.npy`), the article row of every passage (`passage_article.npy`) and the few article
fields that filters and id lookups need for every article (`articles.keys.json`: doc_id, source,
date). Loading maps the files; a `Passage` or `Article` is parsed from its line only when asked
for, so the resident cost is a few bytes per passage plus what searches touch.
"""

from __future__ import annotations

import json
import mmap
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np

from qa.storage.folder import IndexFolder
from qa.types import Article, Passage


def map_npy(path: Path, random: bool = True) -> np.ndarray:
    """A read-only, memory-mapped view of an .npy file, advised for random access unless
    `random` is False (a file read whole, where the kernel's read-ahead helps).

    Searches read scattered rows (a candidate's vector, a hit's line); the kernel's default
    read-ahead would page in ~128 KB around each one, which after a few hundred questions holds
    most of a large file in memory for nothing.
    """
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0(fh))
        offset = fh.tell()
        if dtype.hasobject or fortran:
            raise ValueError(f"{path.name} is not a plain C-order numeric array")
        count = int(np.prod(shape))
        if count == 0:
            return np.zeros(shape, dtype=dtype)
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if random:
        _advise_random(mm)
    if offset + count * dtype.itemsize > len(mm):
        raise ValueError(f"{path.name} is shorter than its header says")
    return np.frombuffer(mm, dtype=dtype, count=count, offset=offset).reshape(shape)


def _advise_random(mm: mmap.mmap) -> None:
    if hasattr(mm, "madvise") and hasattr(mmap, "MADV_RANDOM"):  # Linux / BSD; elsewhere a no-op
        mm.madvise(mmap.MADV_RANDOM)


def write_records(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write `rows` as JSONL and the byte offset of each line (n + 1 values) beside it."""
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    with open(path, "wb") as fh:
        for i, row in enumerate(rows):
            line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
            fh.write(line)
            offsets[i + 1] = offsets[i] + len(line)
    np.save(IndexFolder.offsets_file(path), offsets, allow_pickle=False)


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """Each record of a JSONL file, read in order (no offsets file needed: older formats too)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def write_tables(folder: IndexFolder, passages: list[Passage], keys: list[str],
                 articles: list[Article]) -> None:
    """Write every table file of an index: records, offsets, passage -> article rows, keys."""
    write_records(folder.passages_file, [{**p.to_dict(), "embed_key": k} for p, k in zip(passages, keys)])
    write_records(folder.articles_file, [{**a.to_dict(), "content_hash": a.content_hash} for a in articles])
    row = {a.doc_id: i for i, a in enumerate(articles)}
    np.save(folder.passage_article_file, np.array([row[p.doc_id] for p in passages], dtype=np.int32),
            allow_pickle=False)
    folder.article_keys_file.write_text(json.dumps(
        {"doc_id": [a.doc_id for a in articles], "source": [a.source for a in articles],
         "date": [a.date for a in articles]}, ensure_ascii=False), encoding="utf-8")


class _LRU:
    """The last `size` parsed records by row. Holds no reference to its table, so a replaced
    table (and its memory maps) is freed as soon as the index lets go of it."""

    def __init__(self, size: int):
        self.size, self.items = size, OrderedDict()
        self.lock = threading.Lock()  # the UI reads articles while a search runs

    def get(self, key: int, make: Callable[[int], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            value = self.items[key] = make(key)
            if len(self.items) > self.size:
                self.items.popitem(last=False)
            return value


class JsonlFile:
    """Line i of a JSONL file, through a memory map and its offsets file."""

    def __init__(self, path: Path):
        self.path = path
        self.offsets = map_npy(IndexFolder.offsets_file(path))
        with open(path, "rb") as fh:  # the map keeps its own descriptor
            size = fh.seek(0, 2)
            if len(self.offsets) == 0 or int(self.offsets[-1]) != size:
                raise ValueError(f"{path.name} has {size} bytes, its offsets end at "
                                 f"{int(self.offsets[-1]) if len(self.offsets) else 'nothing'}")
            # an empty file cannot be mapped; it has no rows to read either
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if size:
            _advise_random(self._mm)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"row {i} of {self.path.name} (it has {len(self)})")
        i %= len(self)
        return json.loads(self._mm[int(self.offsets[i]):int(self.offsets[i + 1])])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter_records(self.path)


class PassageTable(Sequence):
    """`Passage` i of an index (row i == FAISS id i), parsed on access."""

    def __init__(self, folder: IndexFolder):
        self.file = JsonlFile(folder.passages_file)
        self.article_rows = map_npy(folder.passage_article_file, random=False)  # filters read it whole
        if len(self.article_rows) != len(self.file):
            raise ValueError(f"{folder.PASSAGE_ARTICLE} has {len(self.article_rows)} rows for "
                             f"{len(self.file)} passages")
        self._cache = _LRU(4096)

    def _get(self, i: int) -> Passage:
        return self._cache.get(i, lambda j: Passage.from_dict(self.file.row(j)))

    def __len__(self) -> int:
        return len(self.file)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(len(self)))]
        return self._get(int(i) % len(self) if -len(self) <= int(i) < 0 else int(i))

    def __iter__(self) -> Iterator[Passage]:
        for row in self.file:
            yield Passage.from_dict(row)


class ArticleTable(Mapping):
    """doc_id -> `Article`, in index order; bodies are parsed on access.

    Held in memory for every article: its doc_id (UTF-8 bytes in one buffer, found by binary
    search through their sort order) and codes into the distinct sources and dates, which is
    what filters read. Nothing is sized by the longest value: one very long id or source costs
    its own bytes, not that many bytes for every article.
    """

    def __init__(self, folder: IndexFolder):
        self.file = JsonlFile(folder.articles_file)
        keys = json.loads(folder.article_keys_file.read_text(encoding="utf-8"))
        if not len(keys["doc_id"]) == len(keys["source"]) == len(keys["date"]) == len(self.file):
            raise ValueError(f"{folder.ARTICLE_KEYS} does not list the {len(self.file)} articles")
        encoded = [d.encode("utf-8") for d in keys.pop("doc_id")]
        self._ids = b"".join(encoded)
        self._bounds = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self._bounds[1:])
        self._order = np.array(sorted(range(len(encoded)), key=encoded.__getitem__), dtype=np.int64)
        del encoded
        self.source_values, self.source_codes = _codes(keys.pop("source"))
        self.date_values, self.date_codes = _codes(keys.pop("date"))
        self._cache = _LRU(1024)

    def _get(self, i: int) -> Article:
        return self._cache.get(i, lambda j: Article.from_dict(self.file.row(j)))

    def _id(self, row: int) -> bytes:
        return self._ids[int(self._bounds[row]):int(self._bounds[row + 1])]

    def row_of(self, doc_id: str) -> int:
        """Row of `doc_id`. Raises KeyError when it is not in the index."""
        if not isinstance(doc_id, str) or not len(self):
            raise KeyError(doc_id)
        key = doc_id.encode("utf-8", "surrogatepass")
        lo, hi = 0, len(self._order)
        while lo < hi:  # first sorted position whose id is >= key
            mid = (lo + hi) // 2
            if self._id(self._order[mid]) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self._order) and self._id(self._order[lo]) == key:
            return int(self._order[lo])
        raise KeyError(doc_id)

    def at(self, row: int) -> Article:
        return self._get(int(row))

    def id_ranks(self) -> np.ndarray:
        """Rank of each article's doc_id in sorted order (row -> rank), for sorting by id."""
        ranks = np.empty(len(self._order), dtype=np.int64)
        ranks[self._order] = np.arange(len(self._order))
        return ranks

    def rows_where(self, source_ok: Callable[[str], bool] | None = None,
                   date_ok: Callable[[str], bool] | None = None) -> np.ndarray:
        """Boolean mask of the articles whose source passes `source_ok` and whose date passes
        `date_ok` (None: any); each predicate is asked once per distinct value."""
        ok = np.ones(len(self), dtype=bool)
        for pred, values, codes in ((source_ok, self.source_values, self.source_codes),
                                    (date_ok, self.date_values, self.date_codes)):
            if pred is not None and len(values):
                ok &= np.array([bool(pred(v)) for v in values], dtype=bool)[codes]
        return ok

    def __getitem__(self, doc_id: str) -> Article:
        return self._get(self.row_of(doc_id))

    def __contains__(self, doc_id: object) -> bool:
        try:
            self.row_of(doc_id)  # type: ignore[arg-type]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return (self._id(i).decode("utf-8") for i in range(len(self)))

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def values(self):  # one sequential read instead of one parse per key
        return [Article.from_dict(row) for row in self.file]

    def items(self):
        return list(zip(self, self.values()))


def _codes(values: list[str]) -> tuple[list[str], np.ndarray]:
    """(distinct values sorted, int32 code of each value); memory by distinct values, not by
    the longest one."""
    uniq = sorted(set(values))
    code = {v: i for i, v in enumerate(uniq)}
    return uniq, np.fromiter((code[v] for v in values), dtype=np.int32, count=len(values))
