"""An `Answer` -> Markdown, CSV and JSON files people keep or paste (the web UI's downloads).

Formatting only. Every piece of article text is untrusted: CSV cells that a spreadsheet would
run as formulas are neutralised and Markdown lines are HTML-escaped (`qa.text.escape`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from qa.answer.ask import Answer
from qa.text.escape import csv_cell, md_cell, md_code

CSV_COLUMNS = ["rank", "score", "title", "source", "date", "date_text", "place", "page", "url",
               "doc_id", "passage_id", "char_start", "char_end", "citation", "text", "answer"]


def to_markdown(answer: Answer) -> str:
    """The question, then each hit: its citation and the passage as a quote."""
    out = [f"# {md_cell(answer.question)}", ""]
    if not answer.answerable:
        out += ["_Nothing in the collection seems to answer this question; the closest passages "
                "follow, weak evidence._", ""]
    if not answer.hits:
        out.append("No passage found.")
    for h in answer.hits:
        out += [f"{h.rank}. {md_cell(h.citation)} ({md_code(h.doc_id)})", "",
                f"   > {md_cell(h.text)}", ""]
    return "\n".join(out).rstrip() + "\n"


def to_csv(answer: Answer) -> str:
    """One row per hit (`CSV_COLUMNS`), formula-like cells neutralised."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for h in answer.hits:
        a, p = h.article, h.passage
        row = {"rank": h.rank, "score": round(float(h.score), 6), "title": a.title, "source": a.source,
               "date": a.date, "date_text": a.date_text, "place": a.place,
               "page": "" if h.page is None else h.page, "url": a.url, "doc_id": p.doc_id,
               "passage_id": p.passage_id, "char_start": p.char_start, "char_end": p.char_end,
               "citation": h.citation, "text": p.text,
               # the words the reading model points at (empty where it read nothing)
               "answer": h.answer_text}
        w.writerow({k: csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


def to_json(answer: Answer) -> str:
    """The `qa ask --json` object."""
    return json.dumps(answer.to_dict(), ensure_ascii=False, indent=1) + "\n"


def write_exports(answer: Answer, folder: Path) -> dict[str, Path]:
    """Write the answer as `<question>.md`, `.csv` and `.json` into `folder`.

    Returns:
        {"markdown": path, "csv": path, "json": path}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "qa-" + (re.sub(r"[^\w]+", "-", answer.question.lower()).strip("-")[:60] or "results")
    out = {}
    for kind, ext, text in (("markdown", "md", to_markdown(answer)), ("csv", "csv", to_csv(answer)),
                            ("json", "json", to_json(answer))):
        path = folder / f"{stem}.{ext}"
        # utf-8-sig for CSV: spreadsheets then read non-ASCII text (Cyrillic titles) right
        path.write_text(text, encoding="utf-8-sig" if ext == "csv" else "utf-8", newline="")
        out[kind] = path
    return out
