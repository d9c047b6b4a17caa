"""The Evaluate tab: a question set in (the JSONL/CSV of `qa eval`), metrics, a recall@k plot,
per-question rows worst first, and the JSON/CSV/Markdown results to download.

The numbers come from `qa.evaluation.runner.evaluate_set` and the files from `qa.evaluation.report`,
exactly as `qa eval` makes them; this module only runs them on the UI's shared index and lays the
results out.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import gradio as gr

from qa.errors import BadInput, QAError
from qa.ui import render

QUESTION_EXTS = (".jsonl", ".csv")
DEFAULT_K = 100
SINGLE_SAMPLE = 5  # one-question latency samples per configuration (the CLI's default is 20)
MAX_K = 200  # passages per question in the UI (the CLI allows 1000)
MAX_WORK = 50_000  # questions x configurations x k: a larger run belongs to `qa eval`
KEEP_RUNS = 3  # result folders kept for download; older ones are removed
PER_QUESTION_HEADERS = ["config", "id", "question", "kind", "first relevant doc rank",
                        "first answer rank", "ndcg@10", "answer_hit@5", "top doc_id"]


def run_evaluation(index, path: str | Path, configs: list[str], k: int = DEFAULT_K, out_dir: str | Path | None = None,
                   progress=None) -> dict:
    """Evaluate `configs` on the question set at `path` against `index`; write the result files.

    Args:
        index: a loaded `qa.Index`.
        path: a `.jsonl` or `.csv` question set (as for `qa eval`).
        configs: configuration names.
        k: passages retrieved per question.
        out_dir: folder for results.json/.csv/.md (+ recall PNG); a new temporary one by default.
        progress: called as progress(done, total, config) after each batch of questions
            (see `evaluate_set`).

    Returns:
        {"results": {config: ConfigResult}, "meta": dict, "files": [paths], "png": path or None}.

    Raises:
        BadInput: no configuration, a bad k, or a malformed question set (named by line).
    """
    from qa.evaluation.questions import read_question_file
    from qa.evaluation.report import write_csv, write_json, write_report
    from qa.evaluation.runner import evaluate_set
    from qa.search.pipeline import check_k

    path = Path(path)
    if not configs:
        raise BadInput("pick at least one configuration to evaluate")
    k = check_k(int(k))
    if k > MAX_K:
        raise BadInput(f"k must be at most {MAX_K} here, got {k}; run `qa eval` for deeper rankings")
    try:
        qset = read_question_file(path)
    except BadInput as e:  # name the uploaded file, not its server-side temp path
        raise BadInput(str(e).replace(str(path), path.name)) from None
    work = len(qset.questions) * len(configs) * k
    if work > MAX_WORK:
        raise BadInput(f"{len(qset.questions)} questions x {len(configs)} configurations x k={k} is "
                       f"{work:,} passages to rank; the limit here is {MAX_WORK:,}. Use fewer questions, "
                       "configurations or a smaller k, or run `qa eval` from the command line")
    run = evaluate_set(index, qset.questions, configs, k=k, single_sample=SINGLE_SAMPLE,
                       progress=progress, notes=qset.notes)
    results, meta = run.results, {"source": path.name, **run.meta}
    if out_dir is None:
        _remove_old_runs(Path(tempfile.gettempdir()))
    out = Path(out_dir or tempfile.mkdtemp(prefix=RUN_PREFIX))
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "results.json", out / "results.csv", out / "report.md"]
    write_json(files[0], results, meta)
    write_csv(files[1], results)
    png = write_report(files[2], results, meta)
    return {"results": results, "meta": meta, "files": files + ([png] if png else []), "png": png}


RUN_PREFIX = "qa-eval-"


def _remove_old_runs(tmp: Path) -> None:
    """Keep the newest KEEP_RUNS - 1 result folders (the next run makes one more)."""
    runs = sorted(tmp.glob(f"{RUN_PREFIX}*"), key=lambda d: d.stat().st_mtime, reverse=True)
    for old in runs[KEEP_RUNS - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def metrics_table(results: dict) -> tuple[list[str], list[list]]:
    """(headers, rows): one row per configuration, the metrics the set supports, latency."""
    from qa.evaluation.report import TABLE_METRICS

    cols = [m for m in TABLE_METRICS if any(r.metrics.get(m) is not None for r in results.values())]
    rows = [[name] + [_round(r.metrics.get(m)) for m in cols]
            + [_round(r.latency_ms.get("p50")), _round(r.latency_ms.get("p95"))]
            for name, r in results.items()]
    return ["config"] + cols + ["p50 ms", "p95 ms"], rows


def per_question_rows(results: dict) -> list[list]:
    """Every question of every configuration: within each configuration the imperfect ones
    worst first (`qa.evaluation.runner.worst_questions` order), then the rest in set order, then the ones
    that should find nothing."""
    from qa.evaluation.runner import worst_questions

    rows = []
    for name, r in results.items():
        worst = worst_questions(r, len(r.per_question))
        seen = {row["id"] for row in worst}
        rest = [row for row in r.per_question if row["id"] not in seen and row["kind"] != "nothing"]
        nothing = [row for row in r.per_question if row["id"] not in seen and row["kind"] == "nothing"]
        for row in worst + rest + nothing:
            top = row.get("top_hit") or {}
            rows.append([name, row["id"], row["question"], row["kind"], row["first_relevant_doc_rank"],
                         row["first_answer_rank"], _round(row["metrics"].get("ndcg@10")),
                         row["metrics"].get("answer_hit@5"), top.get("doc_id", "")])
    return rows


def _round(v):
    return round(v, 4) if isinstance(v, float) else v


def build_evaluate_tab(service, configs: list[str]) -> None:
    """Lay out the Evaluate tab inside the current `gr.Tab` and wire it (API name `evaluate`)."""
    gr.Markdown("Upload a question set as for `qa eval`: JSONL or CSV with `question`, optional `id`, "
                "`answers` and `doc_ids` (CSV: `|`-separated).")
    with gr.Row():
        qfile = gr.File(label="Question set (.jsonl or .csv)", file_count="single", scale=3,
                        elem_id="qa-eval-file")
        with gr.Column(scale=2, min_width=240):
            chosen = gr.CheckboxGroup(configs, value=list(configs), label="Configurations")
            k = gr.Number(DEFAULT_K, label="Passages per question (k)", precision=0, minimum=1)
            run = gr.Button("Run evaluation", variant="primary", elem_id="qa-eval-run")
    message = gr.HTML("", css_template=render.CSS, elem_id="qa-eval-msg")
    metrics = gr.Dataframe(label="Metrics", interactive=False, elem_id="qa-eval-metrics")
    plot = gr.Image(label="Recall@k", type="filepath", interactive=False, elem_id="qa-eval-plot")
    per_q = gr.Dataframe(headers=PER_QUESTION_HEADERS, label="Per question (worst first)",
                         interactive=False, wrap=True, elem_id="qa-eval-questions")
    downloads = gr.File(label="Results (JSON, CSV, Markdown report)", file_count="multiple",
                        interactive=False, elem_id="qa-eval-files")

    def on_run(path, picked, k_value, progress=gr.Progress()):
        empty = (None, None, None, None)
        if not path:
            return (render.render_message("Upload a question set first (.jsonl or .csv)."), *empty)
        name = Path(path).name
        if not name.lower().endswith(QUESTION_EXTS):
            return (render.render_message(f"{name}: a question set must be .jsonl or .csv", error=True),
                    *empty)
        if Path(path).stat().st_size > service.max_upload_bytes:
            return (render.render_message(f"{name} is over the {service.max_upload_bytes // 2**20} MiB "
                                          "limit", error=True), *empty)
        progress(0, desc="Loading the index")
        try:
            out = run_evaluation(service.index(), path, list(picked or []), int(k_value or DEFAULT_K),
                                 progress=lambda d, t, c: progress((d, t), desc=f"Evaluating {c}",
                                                                   unit="questions"))
        except QAError as e:
            return (render.render_message(str(e), error=True), *empty)
        headers, rows = metrics_table(out["results"])
        meta = out["meta"]
        notes = [f"{meta['questions']} questions, k = {meta['k']}, {len(out['results'])} configuration(s)."]
        notes += [f"note: {n}" for n in meta["notes"]] + [f"warning: {w}" for w in meta["warnings"][:10]]
        msg = "<div class='qa-results'>" + "".join(f"<p class='qa-msg'>{render.esc(n)}</p>" for n in notes) + "</div>"
        return (msg, {"data": rows, "headers": headers}, str(out["png"]) if out["png"] else None,
                {"data": per_question_rows(out["results"]), "headers": PER_QUESTION_HEADERS},
                [str(f) for f in out["files"]])

    run.click(on_run, [qfile, chosen, k], [message, metrics, plot, per_q, downloads], api_name="evaluate")
