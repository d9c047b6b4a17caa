"""python -m qa index | ask — the command line. Bad input: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from qa.settings import DEFAULT_DATA_DIR, DEFAULT_INDEX_DIR, Settings
from qa.errors import QAError

EXIT_BAD_INPUT = 2


def _progress_bar(desc: str, unit: str = "passage"):
    from tqdm import tqdm

    bar = {"t": None}

    def update(done: int, total: int) -> None:
        if bar["t"] is None:
            bar["t"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                            disable=not sys.stderr.isatty() and total < 1000)
        bar["t"].n = done
        bar["t"].refresh()
        if done >= total:
            bar["t"].close()

    return update


def cmd_index(args: argparse.Namespace) -> int:
    from qa.index import Index

    settings = Settings().with_(model=args.model, target_tokens=args.target_tokens,
                                overlap_sentences=args.overlap, backend=args.backend,
                                sentence_vectors=args.sentence_vectors, **scale_options(args))
    paths = args.paths or [DEFAULT_DATA_DIR]
    t0 = time.perf_counter()
    index = Index.build(paths, args.index, settings=settings, rebuild=args.rebuild,
                        progress=_progress_bar("embedding passages and sentences"
                                               if settings.sentence_vectors else "embedding passages",
                                               unit="text"))
    stats, report = index.last_build, index.last_ingest
    assert stats is not None and report is not None
    summary = {
        "index": str(args.index), "files": report.files_read, "articles": stats.articles,
        "passages": stats.passages, "embedded": stats.embedded, "reused": stats.reused,
        "sentences_embedded": stats.sentences_embedded,
        "added": len(stats.added), "changed": len(stats.changed), "removed": len(stats.removed),
        "skipped": [{"path": p, "reason": r} for p, r in report.problems],
        "up_to_date": stats.up_to_date, "seconds": round(time.perf_counter() - t0, 2),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    state = "already up to date, nothing written" if stats.up_to_date else "written"
    print(f"Index {args.index}: {state}.")
    print(f"  {stats.articles} articles, {stats.passages} passages from {report.files_read} files")
    print(f"  embedded {stats.embedded} passages, reused {stats.reused} "
          f"(added {len(stats.added)}, changed {len(stats.changed)}, removed {len(stats.removed)} articles)")
    if stats.sentences_embedded:
        print(f"  embedded {stats.sentences_embedded} sentences for answer highlighting")
    for p, r in report.problems:
        print(f"  skipped {p}: {r}")
    print(f"  {summary['seconds']} s")
    return 0


def add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """--store/--milvus-*/--engine/--ray-address (README "Scaling out")."""
    p.add_argument("--store", choices=("faiss", "milvus"), default=None,
                   help="vector store: faiss (embedded, default) or milvus (Milvus Lite in the "
                        "index folder, or the server at --milvus-uri)")
    p.add_argument("--milvus-uri", default=None, metavar="URI",
                   help="Milvus server or cluster (http://host:19530) or a Milvus Lite .db path")
    p.add_argument("--milvus-token", default=None, metavar="TOKEN",
                   help="Milvus token (user:password or API key; default $QA_MILVUS_TOKEN); never "
                        "written to the index")
    p.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="where passages are embedded: this process (default) or Ray Data actors")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join (default $RAY_ADDRESS, else a local 2-CPU runtime)")


def scale_options(args: argparse.Namespace) -> dict:
    """Settings fields from add_scale_arguments' flags (None: the default)."""
    store = args.store or ("milvus" if args.milvus_uri else None)
    return {"store": store, "milvus_uri": args.milvus_uri, "milvus_token": args.milvus_token,
            "engine": args.engine, "ray_address": args.ray_address}


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer.ask import ask
    from qa.answer.cite import format_hits
    from qa.index import Index
    from qa.search.pipeline import check_k, clean_question

    question = clean_question(args.question)
    check_k(args.k)
    index = Index.load(args.index)
    answer = ask(index, question, k=args.k, config=args.config, source=args.source,
                 since=args.since, until=args.until, group=args.group, reranker=args.reranker)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=None))
    else:
        if not answer.answerable:
            print(f"Nothing in this collection seems to answer that (best match {answer.confidence:.2f}, "
                  f"needs {answer.threshold:.2f}); the closest passages follow.\n")
        print(format_hits(question, answer.hits))
        print(f"({len(answer.hits)} hits in {answer.latency_ms:.0f} ms)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from qa.search.pipeline import CONFIGS
    from qa.embedders import EMBEDDERS

    p = argparse.ArgumentParser(prog="python -m qa", description="Cited passage retrieval over news articles.")
    sub = p.add_subparsers(dest="command", required=True)

    pi = sub.add_parser("index", help="build or update the index from article files")
    pi.add_argument("paths", nargs="*", help=f"files or folders (default {DEFAULT_DATA_DIR})")
    pi.add_argument("--index", type=Path, default=Path(DEFAULT_INDEX_DIR), help="index folder (default index)")
    pi.add_argument("--rebuild", action="store_true", help="ignore the previous index and embed everything")
    pi.add_argument("--model", default=None, help="model name or local folder (default all-MiniLM-L6-v2)")
    pi.add_argument("--target-tokens", type=int, default=None, help="passage target length in word pieces")
    pi.add_argument("--overlap", type=int, default=None, help="sentences shared by neighbouring passages")
    pi.add_argument("--backend", choices=EMBEDDERS.names(), default=None,
                    help=f"embedding backend (default {Settings().backend})")
    add_scale_arguments(pi)
    pi.add_argument("--sentence-vectors", action=argparse.BooleanOptionalAction, default=None,
                    help="embed every sentence at index time so highlighting is instant (default on; "
                         "off: ~40%% less embedding, the highlighter embeds the hits' sentences per question)")
    pi.add_argument("--json", action="store_true", help="print the summary as JSON")
    pi.set_defaults(func=cmd_index)

    pa = sub.add_parser("ask", help="ask a question; print cited passages")
    pa.add_argument("question")
    pa.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    pa.add_argument("--index", type=Path, default=Path(DEFAULT_INDEX_DIR))
    pa.add_argument("--config", choices=CONFIGS, default=None, help=f"retrieval configuration (default {Settings().config})")
    pa.add_argument("--source", default=None, help="only articles whose source contains NAME")
    pa.add_argument("--since", default=None, help="only articles dated on or after DATE (YYYY-MM-DD)")
    pa.add_argument("--until", default=None, help="only articles dated on or before DATE (YYYY-MM-DD)")
    pa.add_argument("--group", action=argparse.BooleanOptionalAction, default=None,
                    help="collapse passages of other articles that report the same thing (default off)")
    pa.add_argument("--reranker", default=None, metavar="PATH",
                    help="re-score the top candidates with a local CrossEncoder folder (or 'features')")
    pa.add_argument("--json", action="store_true", help="print one JSON object")
    pa.set_defaults(func=cmd_ask)

    for extra in _extra_commands():
        extra(sub)
    return p


def _extra_commands():
    """Sub-commands living in their own modules (evaluation, benchmarks), added when present."""
    found = []
    try:
        from qa.cli.eval_cmd import add_parser as add_eval
        found.append(add_eval)
    except ImportError:
        pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed a one-line usage error
        return EXIT_BAD_INPUT if e.code not in (0, None) else 0
    try:
        return args.func(args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
