"""What every `qa` sub-command shares: the bad-input exit code, the progress bar and the scale-out flags."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

EXIT_BAD_INPUT = 2


def progress_bar(desc: str, unit: str = "passage") -> Callable[[int, int], None]:
    """A `progress(done, total)` callback drawing a tqdm bar on stderr.

    The bar opens on the first call (when the total is known) and closes when done reaches the
    total; it stays hidden when stderr is not a terminal and the job is small.
    """
    from tqdm import tqdm

    bar = {"t": None}

    def update(done: int, total: int) -> None:
        if bar["t"] is None:
            bar["t"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                            disable=not sys.stderr.isatty() and total < 1000)
        bar["t"].total = total  # a whole-build bar refines its total once passages are counted
        bar["t"].n = done
        bar["t"].refresh()
        if done >= total:
            bar["t"].close()

    return update


def add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """--store/--milvus-*/--engine/--ray-address (README "Scaling out")."""
    from qa.embedders.engines import ENGINES
    from qa.storage.vector_stores import STORES

    p.add_argument("--store", choices=STORES.names(), default=None,
                   help="vector store: faiss (embedded, default) or milvus (Milvus Lite in the "
                        "index folder, or the server at --milvus-uri)")
    p.add_argument("--milvus-uri", default=None, metavar="URI",
                   help="Milvus server or cluster (http://host:19530) or a Milvus Lite .db path")
    p.add_argument("--milvus-token", default=None, metavar="TOKEN",
                   help="Milvus token (user:password or API key; default $QA_MILVUS_TOKEN); never "
                        "written to the index")
    p.add_argument("--engine", choices=ENGINES.names(), default=None,
                   help="where passages are embedded: this process (default) or Ray Data actors")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join (default $RAY_ADDRESS, else a local 2-CPU runtime)")


def scale_options(args: argparse.Namespace) -> dict:
    """Settings fields from add_scale_arguments' flags (None: the default)."""
    store = args.store or ("milvus" if args.milvus_uri else None)
    return {"store": store, "milvus_uri": args.milvus_uri, "milvus_token": args.milvus_token,
            "engine": args.engine, "ray_address": args.ray_address}
