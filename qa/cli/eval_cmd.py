"""`qa eval SOURCE`: evaluate configurations on a question set or a BEIR folder; print a table, write reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.cli.common import add_scale_arguments, progress_bar, scale_options
from qa.settings import DEFAULT_INDEX_DIR, Settings

DEFAULT_CACHE = ".cache/beir"
MAX_WARNINGS_SHOWN = 10


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `eval` sub-command to the `qa` parser."""
    p = subparsers.add_parser(
        "eval", help="evaluate retrieval on a question set (JSONL/CSV) or a BEIR folder",
        description="Evaluate configurations side by side: document metrics by pytrec_eval, "
                    "answer-hit for answer strings, per-question rows and latency.")
    p.add_argument("source", help="question set .jsonl/.csv, or a BEIR folder (corpus.jsonl, "
                                   "queries.jsonl, qrels/test.tsv)")
    p.add_argument("--index", type=Path, default=Path(DEFAULT_INDEX_DIR),
                   help="index to evaluate a question set against (default index; a BEIR folder "
                        "brings its own corpus)")
    p.add_argument("--config", nargs="+", action="extend", default=None, metavar="NAME",
                   help="configurations to compare (default: every one in qa.search.pipeline.CONFIGS)")
    p.add_argument("-k", "--k", type=int, default=100, help="passages retrieved per question (default 100)")
    p.add_argument("--batch-size", type=int, default=32, help="questions per search_batch call (default 32)")
    p.add_argument("--single-sample", type=int, default=20,
                   help="questions also timed one at a time, per configuration (default 20; 0 = none)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write metrics and per-question rows as JSON")
    p.add_argument("--csv", type=Path, metavar="OUT", help="write one row per configuration and question")
    p.add_argument("--report", type=Path, metavar="OUT.md", help="write a Markdown report (+ recall PNG beside it)")
    p.add_argument("--run-file", type=Path, metavar="OUT.trec", help="write the document ranking as a TREC run (one file per "
                                                            "configuration: OUT.<config>.trec when several)")
    p.add_argument("--cache", type=Path, default=Path(DEFAULT_CACHE),
                   help=f"where BEIR corpora are indexed (default {DEFAULT_CACHE})")
    p.add_argument("--model", default=None, help="model for indexing a BEIR corpus (default all-MiniLM-L6-v2)")
    add_scale_arguments(p)  # store and embedding engine of a BEIR corpus index
    p.set_defaults(func=cmd_eval)
    return p


def _configs(asked: list[str] | None) -> list[str]:
    """The configurations to run, each checked against the registry (default: all of them)."""
    from qa.search.pipeline import PIPELINES

    return list(dict.fromkeys(PIPELINES.get(c).name for c in asked)) if asked else list(PIPELINES.names())


OUTPUT_EXAMPLES = {"json": "eval.json", "csv": "eval.csv", "report": "report.md", "run_file": "run.trec"}


def _check_outputs(args: argparse.Namespace) -> None:
    from qa.errors import BadInput

    for opt in ("json", "csv", "report", "run_file"):
        path = getattr(args, opt)
        if path is not None and not Path(path).parent.is_dir():
            raise BadInput(f"--{opt.replace('_', '-')} {path}: folder {Path(path).parent} does not exist")
        if path is not None and Path(path).is_dir():  # checked before the run, not after it
            raise BadInput(f"--{opt.replace('_', '-')} {path} is a folder; give a file name in it, "
                           f"e.g. {Path(path) / OUTPUT_EXAMPLES[opt]}")


def _warn(lines: list[str]) -> None:
    for line in lines[:MAX_WARNINGS_SHOWN]:
        print(f"warning: {line}", file=sys.stderr)
    if len(lines) > MAX_WARNINGS_SHOWN:
        print(f"warning: ... and {len(lines) - MAX_WARNINGS_SHOWN} more (all in --json/--report)", file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate `args.config` on `args.source`; print the table and warnings, write the asked files. Returns 0."""
    from tqdm import tqdm

    from qa.evaluation.questions import beir_index, read_source
    from qa.evaluation.report import (abstention_line, format_table, write_csv, write_json, write_report,
                                      write_run_file)
    from qa.evaluation.runner import evaluate_set
    from qa.index import Index
    from qa.search.pipeline import check_k

    k = check_k(args.k)
    configs = _configs(args.config)
    if args.batch_size < 1:
        from qa.errors import BadInput
        raise BadInput(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.single_sample < 0:
        from qa.errors import BadInput
        raise BadInput(f"--single-sample must be 0 (none timed one at a time) or more questions, "
                       f"got {args.single_sample}")
    _check_outputs(args)
    qset = read_source(args.source)
    if qset.corpus is not None:
        from qa.embedders import get_embedder

        # evaluation ranks passages and never highlights: the highlighter's sentence vectors
        # would cost ~70% more embedding for nothing
        settings = Settings().with_(model=args.model, sentence_vectors=False, **scale_options(args))
        index, stats = beir_index(qset, args.cache, get_embedder(settings.model, settings.batch_size),
                                  settings, progress=progress_bar("embedding " + qset.name))
        state = "reused" if stats.up_to_date else f"built, {stats.embedded} passages embedded"
        print(f"{qset.name}: corpus index {index.folder} ({state}; {len(index.articles)} documents, "
              f"{len(index)} passages)", file=sys.stderr)
    else:
        index = Index.load(args.index)
    questions = qset.questions
    bar = tqdm(total=len(questions) * len(configs), unit="question", file=sys.stderr, desc="evaluating")

    def step(done: int, total: int, config: str) -> None:
        bar.set_description(f"evaluating {config}", refresh=False)
        bar.update(done - bar.n)

    try:
        run = evaluate_set(index, questions, configs, k, args.batch_size, args.single_sample,
                           progress=step, notes=qset.notes)
    finally:
        bar.close()
    results, meta = run.results, {"source": str(args.source), **run.meta}
    _warn(meta["warnings"])
    for note in meta["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(f"{qset.name}: {len(questions)} questions, k={k}, index {index.folder}")
    print(format_table(results))
    print(abstention_line(meta["abstention"]))
    if args.json:
        write_json(args.json, results, meta)
    if args.csv:
        write_csv(args.csv, results)
    if args.run_file:
        written = write_run_file(args.run_file, results)
        print(f"run file{'s' if len(written) > 1 else ''}: {', '.join(map(str, written))}", file=sys.stderr)
    if args.report:
        png = write_report(args.report, results, meta)
        print(f"report: {args.report}" + (f" (+ {png})" if png else ""), file=sys.stderr)
    return 0
