"""SQuAD v1.1 files as long-article question sets: each article one document, answers as spans.

A SQuAD article is a list of paragraphs; news articles are one long text. `long_articles` joins an
article's paragraphs with blank lines (the way qa's record reader joins lines, so the body qa
stores is exactly the body written here) and moves every answer's character offsets into that
body. A question then counts as answered by a passage only when the passage covers a gold
answer's span (`covers`), not merely a string that happens to occur elsewhere ("1990").

Used by the SQuAD dev benchmark (bench/squad_dev.py) and by the reading model's training script
(training/train_reader.py), which must never read the dev file for training or tuning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.errors import BadInput

PARAGRAPH_GAP = "\n\n"


@dataclass(frozen=True)
class SpanQuestion:
    """One question with its gold answers as (start, end) offsets into its article's body."""

    qid: str
    doc_id: str
    text: str
    spans: tuple[tuple[int, int], ...]
    answers: tuple[str, ...]


@dataclass(frozen=True)
class LongArticle:
    """One SQuAD article as a record qa can ingest (`id`, `title`, `text`) and its questions."""

    doc_id: str
    title: str
    body: str
    questions: tuple[SpanQuestion, ...]

    def record(self) -> dict:
        return {"id": self.doc_id, "title": self.title, "text": self.body}


def read_squad(path: str | Path) -> list[dict]:
    """The `data` list of a SQuAD v1.1 JSON file.

    Raises:
        BadInput: the file is not SQuAD-shaped (no `data` list of articles with paragraphs).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
        assert isinstance(data, list) and all("paragraphs" in a for a in data)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as e:
        raise BadInput(f"{path} is not a SQuAD v1.1 file (a JSON object whose 'data' lists "
                       f"articles with 'paragraphs'): {e}") from None
    return data


def long_articles(data: list[dict], prefix: str = "squad") -> list[LongArticle]:
    """Each article's paragraphs joined by blank lines, answers moved into the joined body.

    Paragraph text is stripped and inner line breaks become spaces (qa's record reader would
    otherwise split a paragraph there); answer offsets follow. An answer whose text is not at its
    offset is dropped (none are in v1.1 train or dev), a question left with no answer too.
    """
    out = []
    for i, art in enumerate(data):
        doc_id = f"{prefix}-{i:03d}"
        parts, questions, at = [], [], 0
        for para in art["paragraphs"]:
            raw = para["context"]
            lead = len(raw) - len(raw.lstrip())
            text = raw.strip().replace("\r", " ").replace("\n", " ")
            for qa in para["qas"]:
                spans, answers = [], []
                for a in qa["answers"]:
                    s = at + int(a["answer_start"]) - lead
                    e = s + len(a["text"])
                    if text[s - at:e - at] == a["text"].replace("\n", " ") and (s, e) not in spans:
                        spans.append((s, e))
                        answers.append(a["text"])
                if spans:
                    questions.append(SpanQuestion(str(qa["id"]), doc_id, qa["question"].strip(),
                                                  tuple(spans), tuple(answers)))
            parts.append(text)
            at += len(text) + len(PARAGRAPH_GAP)
        title = str(art.get("title", "")).replace("_", " ").strip()
        out.append(LongArticle(doc_id, title, PARAGRAPH_GAP.join(parts), tuple(questions)))
    return out


def write_records(articles: list[LongArticle], path: str | Path) -> Path:
    """The articles as a JSONL file qa indexes (`qa index FILE`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for a in articles:
            f.write(json.dumps(a.record(), ensure_ascii=False) + "\n")
    return path


def covers(char_start: int, char_end: int, spans: tuple[tuple[int, int], ...]) -> bool:
    """Whether a passage [char_start, char_end) holds one of the gold answer spans whole."""
    return any(char_start <= s and e <= char_end for s, e in spans)
