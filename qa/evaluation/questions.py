"""Question sets for evaluation: JSONL/CSV files and BEIR folders -> `QuestionSet`.

A question set file holds one question per record: `id` (optional; the line number otherwise),
`question`, `answers` (strings a passage must contain) and `doc_ids` (relevant article ids). A
record with neither answers nor doc ids is a question that "should find nothing". In CSV,
`answers` and `doc_ids` are `|`-separated.

A BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`) carries its own corpus, which
is indexed once into a cache folder keyed by the corpus content and the index settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.settings import Settings
from qa.errors import BadInput
from qa.ingest.decode import csv_rows, decode_bytes
from qa.search.filters import clean_question
from qa.types import Article

MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class Question:
    """One question to evaluate with what counts as a right answer.

    `qrels` maps relevant doc ids to their grade (1 unless the set is graded); `line` is where
    the record starts in its file, for messages.
    """

    qid: str
    text: str
    answers: tuple[str, ...] = ()
    qrels: dict[str, int] = field(default_factory=dict)
    line: int = 0

    @property
    def expects_nothing(self) -> bool:
        return not self.answers and not self.qrels


@dataclass
class QuestionSet:
    """Questions from one source; `corpus` is set for a BEIR folder (its own documents)."""

    name: str
    questions: list[Question]
    corpus: Path | None = None
    notes: list[str] = field(default_factory=list)


def _read_text(path: Path) -> str:
    """The decoded text of `path`, or BadInput naming the file (empty, binary, undecodable)."""
    try:
        return decode_bytes(path.read_bytes())
    except BadInput as e:
        raise BadInput(f"{path}: {e}; expected one record per line") from None


MAX_CSV_FIELD = 64 * 2**20


def _json_lines(text: str, parse, problems: list[str]):
    """(line number, parse(record, line number)) for each non-blank JSON line of `text`; a
    malformed line, or one `parse` rejects with BadInput, is named in `problems` instead, and a
    record `parse` maps to None is skipped."""
    # only "\n" ends a record: U+2028, U+0085 and friends are valid inside JSON strings
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = parse(json.loads(line), n)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: malformed JSON ({e.msg} at column {e.colno})")
            continue
        except BadInput as e:
            problems.append(f"line {n}: {e}")
            continue
        if value is not None:
            yield n, value


def _fail(path: Path, problems: list[str]) -> BadInput:
    more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
    return BadInput(f"{path}: " + "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + more)


def _string_list(value: object, name: str, sep: str | None) -> tuple[str, ...]:
    """A list of non-empty strings from a JSON list, a `|`-separated CSV cell, or nothing."""
    if value is None or value == "":
        return ()
    if isinstance(value, str) and sep is not None:
        value = value.split(sep)
    elif isinstance(value, str):
        value = [value]
    if isinstance(value, list):  # RGB-style alternatives: [["Jul 21, 2017", "July 21 2017"]]
        value = [v for item in value for v in (item if isinstance(item, list) else [item])]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                              for v in value):
        raise BadInput(f"'{name}' must be a list of strings, got {json.dumps(value)[:60]}")
    kept = tuple(s for s in (str(v).strip() for v in value) if s)
    if value and not kept:  # else the record would silently become "should find nothing"
        raise BadInput(f"'{name}' holds only empty strings ({json.dumps(value)[:60]}); give at least one, "
                       f"or leave '{name}' out for a question that should find nothing")
    return kept


def record_to_question(rec: object, line: int, sep: str | None = None) -> Question:
    """One question record -> `Question`.

    Raises:
        BadInput: not an object, `question` missing, blank or too long, or answers/doc_ids not
            string lists (or lists of blanks only).
    """
    if not isinstance(rec, dict):
        raise BadInput(f"expected an object with 'question', got {type(rec).__name__}")
    text = rec.get("question")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("missing or empty 'question' field")
    try:  # refused here, by line, rather than mid-run without one
        clean_question(text)
    except BadInput as e:
        raise BadInput(f"'question' cannot be asked: {e}") from None
    qid = rec.get("id")
    qid = str(line) if qid is None or str(qid).strip() == "" else str(qid).strip()
    answers = _string_list(rec.get("answers"), "answers", sep)
    doc_ids = _string_list(rec.get("doc_ids"), "doc_ids", sep)
    return Question(qid=qid, text=text.strip(), answers=answers, qrels={d: 1 for d in doc_ids}, line=line)


def _check_unique(path: Path, questions: list[Question]) -> None:
    seen: dict[str, int] = {}
    dups = []
    for q in questions:
        if q.qid in seen:
            dups.append(f"line {q.line}: duplicate id {q.qid!r} (first on line {seen[q.qid]})")
        seen.setdefault(q.qid, q.line)
    if dups:
        raise _fail(path, dups)


def read_question_file(path: str | Path) -> QuestionSet:
    """Questions from a `.jsonl` or `.csv` file; every malformed record is named by line.

    Raises:
        BadInput: missing, empty or unsupported file, or any malformed record.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no such question set: {path} (give a .jsonl or .csv file or a BEIR folder)")
    ext = path.suffix.lower()
    if ext not in (".jsonl", ".csv"):
        raise BadInput(f"{path}: unsupported question set type {ext or '(none)'!r}; use .jsonl, .csv "
                       "or a BEIR folder")
    text = _read_text(path)
    if not text.strip():
        raise BadInput(f"{path}: empty file; expected one question per line")
    questions: list[Question] = []
    problems: list[str] = []
    if ext == ".jsonl":
        questions += [q for _, q in _json_lines(text, record_to_question, problems)]
    else:
        reader = csv_rows(text, MAX_CSV_FIELD)
        cols = {(c or "").strip().lower() for c in reader.fieldnames or []}
        if "question" not in cols:
            raise BadInput(f"{path}: CSV needs a 'question' column (has: {', '.join(sorted(cols)) or 'none'})")
        start = reader.line_num + 1
        for row in reader:
            rec = {(k or "").strip().lower(): v for k, v in row.items()}
            if None in row:  # more cells than header columns
                problems.append(f"line {start}: {len(row[None])} more cells than the header has columns")
            else:
                try:
                    questions.append(record_to_question(rec, start, sep="|"))
                except BadInput as e:
                    problems.append(f"line {start}: {e}")
            start = reader.line_num + 1
    if problems:
        raise _fail(path, problems)
    if not questions:
        raise BadInput(f"{path} holds no questions; expected one question per line")
    _check_unique(path, questions)
    return QuestionSet(name=path.stem, questions=questions)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (query-id, corpus-id, score; an optional header line) -> {qid: {doc: grade}}.

    Raises:
        BadInput: a line without three tab-separated fields or with a non-integer score.
    """
    qrels: dict[str, dict[str, int]] = {}
    problems = []
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        cells = line.rstrip("\n").split("\t")
        if n == 1 and cells[0].strip().lower() in ("query-id", "query_id", "qid"):
            continue
        if len(cells) != 3:
            problems.append(f"line {n}: expected query-id, corpus-id, score separated by tabs")
            continue
        try:
            grade = int(cells[2])
        except ValueError:
            problems.append(f"line {n}: score {cells[2]!r} is not a whole number")
            continue
        qrels.setdefault(cells[0].strip(), {})[cells[1].strip()] = grade
    if problems:
        raise _fail(path, problems)
    return qrels


def read_beir(folder: str | Path, split: str = "test") -> QuestionSet:
    """The queries of a BEIR folder that have judgements or answers, with their qrels.

    Queries with neither are not "should find nothing" questions in BEIR (they belong to another
    split), so they are left out and counted in `notes`.

    Raises:
        BadInput: corpus.jsonl, queries.jsonl or qrels/<split>.tsv missing or malformed, or
            qrels naming queries that do not exist.
    """
    folder = Path(folder)
    for rel in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / rel).is_file():
            raise BadInput(f"BEIR folder {folder} has no {rel}; expected corpus.jsonl, queries.jsonl "
                           f"and qrels/{split}.tsv")
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    questions, problems = [], []
    qpath = folder / "queries.jsonl"
    def beir_query(rec, n: int) -> Question:
        if not isinstance(rec, dict) or "_id" not in rec:
            raise BadInput("expected an object with '_id' and 'text'")
        q = record_to_question({"id": rec["_id"], "question": rec.get("text"),
                                "answers": rec.get("answers")}, n)
        return Question(q.qid, q.text, q.answers, qrels.get(q.qid, {}), n)

    questions += [q for _, q in _json_lines(_read_text(qpath), beir_query, problems)]
    if problems:
        raise _fail(qpath, problems)
    known = {q.qid for q in questions}
    orphans = sorted(set(qrels) - known)
    if orphans:
        raise BadInput(f"{folder}/qrels/{split}.tsv judges queries missing from queries.jsonl: "
                       f"{', '.join(orphans[:MAX_PROBLEMS_SHOWN])}")
    kept = [q for q in questions if not q.expects_nothing]
    if not kept:
        raise BadInput(f"{folder}: no query has judgements in qrels/{split}.tsv or answers")
    _check_unique(qpath, kept)
    notes = []
    if len(kept) < len(questions):
        notes.append(f"{len(questions) - len(kept)} queries without judgements or answers left out")
    return QuestionSet(name=folder.name, questions=kept, corpus=folder / "corpus.jsonl", notes=notes)


def read_source(source: str | Path) -> QuestionSet:
    """A question file or a BEIR folder, whichever `source` is."""
    p = Path(source)
    return read_beir(p) if p.is_dir() else read_question_file(p)


def read_beir_corpus(path: Path, notes: list[str] | None = None) -> list[Article]:
    """BEIR corpus records (`_id`, `title`, `text`, optional `date`) -> articles.

    Body paragraphs are normalised as `qa.ingest.reader.record_to_article` does; a record with an empty
    text is indexed by its title, and one with neither cannot be found by any search, so it is
    left out and named in `notes` (Cranfield has two such records).

    Raises:
        BadInput: malformed JSON, a record without `_id` or any text, or a duplicate `_id`.
    """
    from qa.ingest.reader import record_to_article

    articles, problems, seen, empty = [], [], set(), []

    def corpus_record(rec, n: int) -> Article | None:
        if not isinstance(rec, dict) or str(rec.get("_id", "")).strip() == "":
            raise BadInput("expected an object with '_id', 'title' and 'text'")
        if not str(rec.get("text") or "").strip():
            if not str(rec.get("title") or "").strip():
                empty.append(str(rec["_id"]))
                return None
            rec = {**rec, "text": rec.get("title")}
        return record_to_article({**rec, "id": str(rec["_id"])}, str(rec["_id"]), str(path))

    for n, art in _json_lines(_read_text(path), corpus_record, problems):
        if art.doc_id in seen:
            problems.append(f"line {n}: duplicate _id {art.doc_id!r}")
            continue
        seen.add(art.doc_id)
        articles.append(art)
    if problems:
        raise _fail(path, problems)
    if not articles:
        raise BadInput(f"{path} holds no documents")
    if empty and notes is not None:
        notes.append(f"{len(empty)} empty corpus records not indexed: {', '.join(empty[:10])}")
    return articles


def cache_folder(corpus: Path, cache_root: str | Path, settings: Settings, embedder) -> Path:
    """`<cache_root>/<set name>-<hash>`: the hash covers the corpus bytes, the model (id, weights
    fingerprint, backend), the vector store and the chunking settings, so any change gets its
    own folder."""
    h = hashlib.sha256()
    with open(corpus, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    model = {"model": embedder.model_id, "fingerprint": embedder.fingerprint(),
             "backend": getattr(embedder, "backend", "")}
    if settings.store != "faiss":  # FAISS caches keep the keys they had before stores existed
        model["store"] = [settings.store, settings.milvus_uri]
    h.update(json.dumps({**model, **settings.chunking()}, sort_keys=True).encode())
    return Path(cache_root) / f"{corpus.parent.name}-{h.hexdigest()[:16]}"


def beir_index(qset: QuestionSet, cache_root: str | Path, embedder=None, settings: Settings | None = None,
               progress=None):
    """Index a BEIR corpus into its cache folder (a no-op when it is up to date) and load it.

    Returns:
        (index, build stats); `stats.up_to_date` says the cache was reused as it was.
    """
    from qa.storage.builder import build_index
    from qa.embedders import get_embedder
    from qa.index import Index

    if qset.corpus is None:
        raise BadInput(f"{qset.name} is not a BEIR folder; it has no corpus to index")
    settings = settings or Settings()
    embedder = embedder or get_embedder(settings.model, settings.batch_size)
    folder = cache_folder(qset.corpus, cache_root, settings, embedder)
    stats = build_index(read_beir_corpus(qset.corpus, qset.notes), folder, embedder, settings, progress=progress)
    return Index.load(folder, embedder=embedder, settings=settings), stats
