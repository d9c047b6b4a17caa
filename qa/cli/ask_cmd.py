"""`qa ask QUESTION`: search the index and print cited passages (or one JSON object)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.settings import DEFAULT_INDEX_DIR, Settings


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `ask` sub-command to the `qa` parser."""
    from qa.search.pipeline import CONFIGS

    p = subparsers.add_parser("ask", help="ask a question; print cited passages")
    p.add_argument("question")
    p.add_argument("-k", "--k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--index", type=Path, default=Path(DEFAULT_INDEX_DIR))
    p.add_argument("--config", choices=CONFIGS, default=None,
                   help=f"retrieval configuration (default {Settings().config})")
    p.add_argument("--source", default=None, help="only articles whose source contains NAME")
    p.add_argument("--since", default=None, help="only articles dated on or after DATE (YYYY-MM-DD)")
    p.add_argument("--until", default=None, help="only articles dated on or before DATE (YYYY-MM-DD)")
    p.add_argument("--group", action=argparse.BooleanOptionalAction, default=None,
                   help="collapse passages of other articles that report the same thing (default off)")
    p.add_argument("--reranker", default=None, metavar="PATH",
                   help="re-score the top candidates with a local CrossEncoder folder (or 'features')")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_ask)
    return p


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer `args.question` from `args.index`; print the hits (the `Answer` object with --json). Returns 0."""
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
        return 0
    if answer.pending_notice():  # the index is a build still embedding (qa index is running)
        print(answer.pending_notice() + "\n")
    if not answer.answerable:
        never = f"; no article mentions {', '.join(answer.unseen_terms)}" if answer.unseen_terms else ""
        print(f"Nothing in this collection seems to answer that (best match {answer.confidence:.2f}, "
              f"needs {answer.threshold:.2f}{never}); the closest passages follow.\n")
    print(format_hits(question, answer.hits))
    print(f"({len(answer.hits)} hits in {answer.latency_ms:.0f} ms)")
    return 0
