"""Evaluation outputs: console table, JSON, per-question CSV, TREC run file, Markdown + PNG report.

Formatting only: every number here was computed by `qa.evaluation.runner` and `qa.evaluation.metrics`.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from qa.evaluation.metrics import ANSWER_METRICS, CURVE_CUTOFFS, IR_METRICS
from qa.evaluation.runner import ConfigResult, worst_questions
from qa.text.escape import csv_cell as _csv_cell, md_cell as _md_cell, md_code as _md_code

TABLE_METRICS = IR_METRICS + ANSWER_METRICS
_SHORT = {"ndcg@10": "nDCG@10", "recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10",
          "recall@100": "R@100", "mrr@10": "MRR@10", "map@100": "MAP@100", "answer_hit@1": "AH@1",
          "answer_hit@3": "AH@3", "answer_hit@5": "AH@5", "answer_hit@10": "AH@10"}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _present(results: dict[str, ConfigResult]) -> list[str]:
    """Metric columns that have a value for at least one configuration."""
    return [m for m in TABLE_METRICS if any(r.metrics.get(m) is not None for r in results.values())]


def abstention_line(ab: dict) -> str:
    """`abstention (threshold 0.38): flags 5.0% of 141 answerable questions, 100% of 10 that should
    find nothing` (the verdict `qa ask` gives; the same for every configuration)."""
    parts = []
    if ab.get("answerable"):
        parts.append(f"flags {ab['answerable_flagged']:.1%} of {ab['answerable']} answerable questions")
    if ab.get("should_find_nothing"):
        parts.append(f"{ab['should_find_nothing_flagged']:.0%} of {ab['should_find_nothing']} that "
                     "should find nothing")
    return f"abstention (threshold {ab.get('threshold', 0):.2f}): " + ", ".join(parts)


def format_table(results: dict[str, ConfigResult]) -> str:
    """One row per configuration: the metrics the set supports, then latency p50/p95 in ms.

    R = recall, AH = answer-hit; "1-q" is the one-question latency sample.
    """
    cols = _present(results)
    head = ["config"] + [_SHORT.get(c, c) for c in cols] + ["p50 ms", "p95 ms", "1-q p50 ms"]
    rows = [[name] + [_fmt(r.metrics.get(m)) for m in cols]
            + [_fmt(r.latency_ms.get("p50")), _fmt(r.latency_ms.get("p95")),
               _fmt(r.latency_ms.get("single_p50"))] for name, r in results.items()]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def to_json(results: dict[str, ConfigResult], meta: dict) -> dict:
    """`{"configs": {name: {"metrics", "latency_ms", "recall_curve", "per_question"}}, ...meta}`."""
    return {**meta, "configs": {name: r.to_dict() for name, r in results.items()}}


def write_json(path: Path, results: dict[str, ConfigResult], meta: dict) -> None:
    Path(path).write_text(json.dumps(to_json(results, meta), ensure_ascii=False, indent=1) + "\n",
                          encoding="utf-8")


def write_csv(path: Path, results: dict[str, ConfigResult]) -> None:
    """One row per (configuration, question): ranks, per-question metrics, top hit, latency."""
    cols = ["config", "id", "question", "kind", "first_relevant_doc_rank", "first_answer_rank",
            *TABLE_METRICS, "top_doc_id", "top_score", "top_text", "latency_ms", "unknown_doc_ids"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for name, r in results.items():
            for row in r.per_question:
                top = row["top_hit"] or {}
                record = {"config": name, **{c: row[c] for c in cols[1:6]},
                          **{m: row["metrics"].get(m, "") for m in TABLE_METRICS},
                          "top_doc_id": top.get("doc_id", ""), "top_score": top.get("score", ""),
                          "top_text": top.get("text", ""), "latency_ms": row["latency_ms"],
                          "unknown_doc_ids": "|".join(row["unknown_doc_ids"])}
                w.writerow({k: _csv_cell(v) for k, v in record.items()})


def run_file_paths(path: Path, configs: list[str]) -> dict[str, Path]:
    """Where each configuration's run goes: `path` itself for one, `<stem>.<config><suffix>` for several
    (trec_eval reads one run per file)."""
    path = Path(path)
    if len(configs) == 1:
        return {configs[0]: path}
    return {c: path.with_name(f"{path.stem}.{c}{path.suffix}") for c in configs}


def trec_id(value: str) -> str:
    """An id safe in a whitespace-separated TREC line: white space and % percent-encoded
    ("a b" -> "a%20b"); ids without them are unchanged, so they still match the qrels."""
    return re.sub(r"[\s%]", lambda m: f"%{ord(m.group()):02X}", str(value))


def write_run_file(path: Path, results: dict[str, ConfigResult]) -> list[Path]:
    """TREC run format, document level: `qid Q0 doc rank score run` (run = configuration name).

    The score is (n - rank + 1) so trec_eval, which sorts by score and breaks ties by doc id,
    sees exactly our ranking.

    Returns:
        The files written, one per configuration (see `run_file_paths`).
    """
    paths = run_file_paths(path, list(results))
    for name, r in results.items():
        with open(paths[name], "w", encoding="utf-8") as fh:
            for qid, docs in r.runs.items():
                for rank, d in enumerate(docs, 1):
                    fh.write(f"{trec_id(qid)} Q0 {trec_id(d)} {rank} {len(docs) - rank + 1} {name}\n")
    return list(paths.values())


def plot_recall(path: Path, results: dict[str, ConfigResult]) -> bool:
    """Recall@k curve per configuration as a PNG; False when no question has doc ids."""
    curves = {n: r.recall_curve for n, r in results.items() if r.recall_curve}
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, curve in curves.items():
        ks = [k for k in CURVE_CUTOFFS if k in curve]
        ax.plot(ks, [curve[k] for k in ks], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xticks(CURVE_CUTOFFS, [str(k) for k in CURVE_CUTOFFS])
    ax.set_xlabel("k (documents)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_report(path: Path, results: dict[str, ConfigResult], meta: dict, worst: int = 5) -> Path | None:
    """Markdown report with the metrics table, the recall curve PNG beside it and worst questions.

    Returns:
        The PNG path, or None when the set has no doc ids to draw recall from.
    """
    path = Path(path)
    png = path.with_name(path.stem + "-recall.png")
    has_png = plot_recall(png, results)
    cols = _present(results)
    out = [f"# Evaluation: {_md_cell(meta.get('source', ''))}", "",
           f"Index `{meta.get('index', '')}`, k = {meta.get('k')} passages per question, "
           f"{meta.get('questions')} questions. Document metrics by pytrec_eval (a document ranks at "
           "its best passage); answer-hit counts passages containing an answer string. Latency: "
           "batch wall time / batch size; 1-q = one-question searches on a sample.", ""]
    for note in meta.get("notes", []) + meta.get("warnings", []):
        out.append(f"- {_md_cell(note)}")
    if meta.get("abstention"):
        out.append(f"- {_md_cell(abstention_line(meta['abstention']))}")
    out += ["", "| config | " + " | ".join(cols) + " | p50 ms | p95 ms | p99 ms | 1-q p50 ms |",
            "|---" * (len(cols) + 5) + "|"]
    for name, r in results.items():
        lat = r.latency_ms
        out.append(f"| {name} | " + " | ".join(_fmt(r.metrics.get(m)) for m in cols)
                   + f" | {_fmt(lat.get('p50'))} | {_fmt(lat.get('p95'))} | {_fmt(lat.get('p99'))}"
                   + f" | {_fmt(lat.get('single_p50'))} |")
    if has_png:
        out += ["", "## Recall@k", "", f"![recall@k per configuration]({png.name})"]
    for name, r in results.items():
        out += ["", f"## Worst-answered questions: {name}", ""]
        for row in worst_questions(r, worst):
            out.append(f"### {_md_cell(row['id'])}: {_md_cell(row['question'])}")
            facts = []
            if "docs" in row["kind"]:
                facts += [f"first relevant document at rank {_fmt(row['first_relevant_doc_rank'])}",
                          f"nDCG@10 {_fmt(row['metrics'].get('ndcg@10'))}"]
            if "answers" in row["kind"]:
                facts.append(f"first answering passage at rank {_fmt(row['first_answer_rank'])}")
            out.append(", ".join(facts) + " (- = not in the top k)")
            out.append("")
            for p in r.previews.get(row["id"], []):
                out.append(f"{p['rank']}. {_md_code(p['doc_id'])} ({p['score']:.3f}) {_md_cell(p['text'])}")
            out.append("")
        nothing = [row for row in r.per_question if row["kind"] == "nothing"]
        if nothing:
            out += [f"Questions that should find nothing ({name}): top hit shown", ""]
            for row in nothing:
                top = row["top_hit"] or {}
                out.append(f"- {_md_cell(row['question'])} -> {_md_code(top.get('doc_id', ''))} "
                           f"({_fmt(top.get('score'))}) {_md_cell(top.get('text', ''))[:160]}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return png if has_png else None
