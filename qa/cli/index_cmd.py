"""`qa index [PATH ...]`: build or update an index from article files and print what changed."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

from qa.cli.common import add_scale_arguments, progress_bar, scale_options
from qa.errors import BadInput
from qa.settings import DEFAULT_DATA_DIR, DEFAULT_INDEX_DIR, FORMAT_VERSION, Settings


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `index` sub-command to the `qa` parser."""
    from qa.embedders import EMBEDDERS

    p = subparsers.add_parser("index", help="build or update the index from article files")
    p.add_argument("paths", nargs="*", help="files, folders or web page URLs (default: what the index was "
                   f"built from, as its manifest records, uploads included; {DEFAULT_DATA_DIR} for a new index)")
    p.add_argument("--urls", type=Path, default=None, metavar="FILE",
                   help="also fetch the web pages listed in FILE (one URL a line; # comments)")
    p.add_argument("--index", type=Path, default=Path(DEFAULT_INDEX_DIR), help="index folder (default index)")
    p.add_argument("--rebuild", action="store_true", help="ignore the previous index and embed everything")
    p.add_argument("--model", default=None, help="model name or local folder (default all-MiniLM-L6-v2)")
    p.add_argument("--target-tokens", type=int, default=None, help="passage target length in word pieces")
    p.add_argument("--overlap", type=int, default=None, help="sentences shared by neighbouring passages")
    p.add_argument("--backend", choices=EMBEDDERS.names(), default=None,
                   help=f"embedding backend (default {Settings().backend})")
    add_scale_arguments(p)
    p.add_argument("--sentence-vectors", action=argparse.BooleanOptionalAction, default=None,
                   help="store a vector per sentence so highlighting is instant (default on; taken from "
                        "the passages' own forward pass with the ONNX backends; off: less disk, the "
                        "highlighter embeds the hits' sentences per question)")
    p.add_argument("--window-tokens", type=int, default=None, metavar="N",
                   help=f"read each article once in windows of at most N word pieces and pool every passage "
                        f"and sentence from them (default {Settings().window_tokens}; ONNX backends; 0: embed "
                        f"each passage on its own behind its title, as before format 4)")
    p.add_argument("--commit-every", type=float, default=None, metavar="SECONDS",
                   help=f"a long build commits what is embedded at most every SECONDS, so the index "
                        f"answers while it builds (default {Settings().step_seconds:g}; 0: one commit "
                        f"at the end)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_index)
    return p


def cmd_index(args: argparse.Namespace) -> int:
    """Build or update `args.index`; print a summary (one JSON object with --json). Returns 0."""
    from qa.index import Index
    from qa.ingest.web import fetch_progress, read_url_file
    from qa.storage.pooled import WINDOW_RECIPE

    settings = Settings().with_(model=args.model, target_tokens=args.target_tokens,
                                overlap_sentences=args.overlap, backend=args.backend,
                                sentence_vectors=args.sentence_vectors, step_seconds=args.commit_every,
                                window_tokens=args.window_tokens, **scale_options(args))
    if args.window_tokens is not None and args.window_tokens < 0:
        raise BadInput(f"--window-tokens must be 0 (each passage embedded on its own) or more word pieces, "
                       f"got {args.window_tokens}")
    if args.commit_every is not None and not args.commit_every >= 0:  # NaN too
        raise BadInput(f"--commit-every must be 0 (one commit at the end) or more seconds, got {args.commit_every:g}")
    if args.target_tokens is not None and args.target_tokens < 1:
        raise BadInput(f"--target-tokens must be at least 1 word piece, got {args.target_tokens}; "
                       f"the default is {Settings().target_tokens}")
    if args.target_tokens is not None:
        from qa.embedders import get_embedder

        limit = get_embedder(settings.model, settings.batch_size, settings.backend).max_tokens - 2
        if args.target_tokens > limit:  # passages are cut at the model's limit: say so, not silently
            raise BadInput(f"--target-tokens {args.target_tokens} is more than the model reads: "
                           f"{settings.model} embeds at most {limit} word pieces of a passage; use "
                           f"--target-tokens {limit} or less (the default is {Settings().target_tokens})")
    if args.overlap is not None and args.overlap < 0:
        raise BadInput(f"--overlap must be 0 (no sentence shared) or more sentences, got {args.overlap}; "
                       f"the default is {Settings().overlap_sentences}")
    named = [*args.paths, *(read_url_file(args.urls) if args.urls else [])]
    paths, notes = (named, []) if named else default_sources(args.index)
    old = _older_format(args.index)
    if old is not None and not args.json:
        print(f"Index {args.index} was written by an older qa (format {old}); its passages are embedded "
              f"once more: since format {FORMAT_VERSION} they are pooled from article windows.", file=sys.stderr)
    repooled = _older_pooling(args.index, settings) if old is None and not args.rebuild else None
    if repooled is not None and not args.json:
        print(f"Index {args.index} pooled its passages by an older recipe ({repooled}); each is read once "
              f"more ({WINDOW_RECIPE}: a passage's tail shared with the next passage counts one half).",
              file=sys.stderr)
    t0 = time.perf_counter()
    with fetch_progress(progress_bar("fetching pages", unit="page")):
        index = Index.build(paths, args.index, settings=settings, rebuild=args.rebuild,
                            progress=progress_bar("indexing", unit="passage"),
                            on_step=None if args.json else step_note(args.index))
    stats, report = index.last_build, index.last_ingest
    assert stats is not None and report is not None
    report.problems[:0] = notes
    summary = {
        "index": str(args.index), "sources": [str(p) for p in paths], "files": report.files_read,
        "pages": report.pages_read, "articles": stats.articles,
        "passages": stats.passages, "embedded": stats.embedded, "reused": stats.reused,
        "sentences_embedded": stats.sentences_embedded, "sentences_in_context": stats.sentences_in_context,
        "added": len(stats.added), "changed": len(stats.changed), "removed": len(stats.removed),
        "skipped": [{"path": p, "reason": r} for p, r in report.problems],
        "up_to_date": stats.up_to_date, "resumed": stats.resumed, "steps": stats.steps,
        "upgraded_from": stats.upgraded_from,
        "repooled_from": repooled,
        "first_step_seconds": None if stats.first_step_seconds is None else round(stats.first_step_seconds, 2),
        "seconds": round(time.perf_counter() - t0, 2),
        "stages": {k: round(v, 2) for k, v in stats.stages.items()},
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    state = "already up to date, nothing written" if stats.up_to_date else "written"
    print(f"Index {args.index}: {state}.")
    if not named:
        print(f"  read {', '.join(map(str, paths))}")
    counts = ((report.files_read, "files"), (report.pages_read, "web pages"))
    read = [f"{n} {what}" for n, what in counts if n]
    print(f"  {stats.articles} articles, {stats.passages} passages from {' and '.join(read) or '0 files'}")
    print(f"  embedded {stats.embedded} passages, reused {stats.reused} "
          f"(added {len(stats.added)}, changed {len(stats.changed)}, removed {len(stats.removed)} articles)")
    if stats.resumed:
        print(f"  finished a build cut short: {stats.resumed} articles were still to embed")
    if stats.steps:
        print(f"  committed in {stats.steps + 1} steps; searchable by keywords after "
              f"{stats.first_step_seconds:.1f} s of {stats.seconds:.1f}")
    if stats.sentences_embedded:
        print(f"  embedded {stats.sentences_embedded} sentences for answer highlighting")
    if stats.sentences_in_context:
        print(f"  {stats.sentences_in_context} sentence vectors for answer highlighting, "
              "from the passages' own forward pass")
    for p, r in report.problems:
        print(f"  skipped {p}: {r}")
    print(f"  {summary['seconds']} s")
    return 0


def _older_format(index: Path) -> int | None:
    """The format version of the index at `index` when it is older than this qa's, else None."""
    from qa.errors import QAError
    from qa.storage.folder import IndexFolder

    try:
        fmt = IndexFolder(index).read_manifest().get("format_version") if IndexFolder(index).exists() else None
    except QAError:
        return None
    return fmt if isinstance(fmt, int) and fmt < FORMAT_VERSION else None


def _older_pooling(index: Path, settings: Settings) -> str | None:
    """The window recipe of the index at `index` when this build will pool its passages by
    another one (so every passage is read again), else None."""
    from qa.embedders import get_embedder
    from qa.errors import QAError
    from qa.storage.folder import TOKEN_STATE_BACKENDS, IndexFolder
    from qa.storage.pooled import WINDOW_RECIPE, uses_windows

    folder = IndexFolder(index)
    try:
        manifest = folder.read_manifest() if folder.exists() else None
    except QAError:
        return None
    if not manifest or manifest.get("format_version") != FORMAT_VERSION:
        return None
    windowed = uses_windows(get_embedder(settings.model, settings.batch_size, settings.backend), settings)
    model, chunking = manifest.get("model") or {}, manifest.get("chunking") or {}
    was_windowed = isinstance(chunking.get("window_tokens"), int) and chunking["window_tokens"] > 0 \
        and model.get("backend") in TOKEN_STATE_BACKENDS
    old = model.get("pooling") or ("windows-1" if was_windowed else None)  # before it was recorded
    return old if windowed and old is not None and old != WINDOW_RECIPE else None


def step_note(index: Path) -> Callable[[int, int], None]:
    """An `on_step` that says, above the progress bar, when the index answers and how much of it
    is embedded."""
    from tqdm import tqdm

    def note(waiting: int, total: int) -> None:
        done = total - waiting
        first = "every article is searchable by keywords now (qa ask --index " + str(index) + "); " \
            if not done else ""
        tqdm.write(f"{first}{done:,} of {total:,} articles embedded and searchable by meaning",
                   file=sys.stderr)
    return note


def default_sources(index: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """What `qa index` with no path reads: the sources the index's manifest records (files,
    folders, URLs; uploads included), or the data folder for a new index. Returns (sources,
    [(source, note)] for recorded sources that no longer exist and are left out)."""
    from qa.ingest.web import is_url
    from qa.storage.builder import recorded_sources
    from qa.storage.folder import IndexFolder

    recorded = recorded_sources(IndexFolder(index))
    if not recorded:
        return [DEFAULT_DATA_DIR], []
    kept, notes = [], []
    for src in recorded:
        if is_url(src) or Path(src).exists():
            kept.append(src)
        else:
            notes.append((src, "recorded source no longer exists; left out, so its articles leave the index"))
    if not kept:
        return [DEFAULT_DATA_DIR], notes
    return kept, notes
