"""Embedding on Ray Data: `qa index --engine ray [--ray-address ADDR]`.

The texts go through `ray.data.from_items(...).map_batches(EmbedActor, ...)`: a pool of actors,
each loading the model once (`qa.embed.get_embedder`, the same code as the local path), embeds
batches; results come back tagged with their position, so the index the builder writes is the
one the local path writes (same passages, vectors equal to float tolerance). Without an address
a local Ray runtime is started on loopback with at most 2 CPUs and shut down afterwards; with one
(or `RAY_ADDRESS`) the job joins that cluster and its nodes embed.

Ray is imported only here, and this module only when `engine="ray"` is chosen.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import BadInput, QAError

LOCAL_CPUS = 2  # a local runtime never takes more (the machine is shared)
ROWS_PER_BATCH = 64  # texts per map_batches call: one actor call, the model's own batch inside


class EmbedActor:
    """A Ray Data actor: loads the model once, then embeds batches of `text` rows."""

    def __init__(self, model: str, batch_size: int, backend: str | None, fingerprint: str):
        from qa.embed import get_embedder

        self.embedder = get_embedder(model, batch_size, backend)
        if self.embedder.fingerprint() != fingerprint:  # a node with other weights installed
            raise QAError(f"a Ray worker has other weights of {model!r} ({self.embedder.fingerprint()} "
                          f"vs {fingerprint} on the driver); install the same model package everywhere")

    def __call__(self, batch: dict) -> dict:
        vecs = self.embedder.embed_batch([str(t) for t in batch["text"]])
        return {"pos": np.asarray(batch["pos"], dtype=np.int64), "vector": vecs}


def _start(settings) -> bool:
    """Connect to a cluster, or start a local runtime; True when this call started Ray."""
    address = settings.ray_address or os.environ.get("RAY_ADDRESS")
    if not address:
        # a single-node runtime: every Ray service then binds to loopback instead of the node's
        # network address (read when ray is first imported, and inherited by its processes)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return False
    qa_dir = str(Path(__file__).resolve().parent.parent)
    if address:
        # the cluster's workers get this qa package; the model package must be installed there
        ray.init(address=address, runtime_env={"py_modules": [qa_dir]}, log_to_driver=False,
                 configure_logging=False)
    else:
        cpus = min(LOCAL_CPUS, os.cpu_count() or 1)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, _node_ip_address="127.0.0.1",
                 runtime_env={"env_vars": {"PYTHONPATH": str(Path(qa_dir).parent),
                                           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                           "TOKENIZERS_PARALLELISM": "false"}})
    return True


def embed_texts_ray(embedder, settings, texts: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(positions, vectors) batches for `texts`, in the order Ray finishes them."""
    started = _start(settings)
    import logging

    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its INFO lines would bury qa's summary
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = settings.ray_actors or max(1, cpus)
        ds = ray.data.from_items([{"pos": i, "text": t} for i, t in enumerate(texts)])
        ds = ds.map_batches(EmbedActor, batch_size=ROWS_PER_BATCH, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1,
                            fn_constructor_kwargs={"model": embedder.model_id,
                                                   "batch_size": getattr(embedder, "batch_size", 32),
                                                   "backend": getattr(embedder, "backend", None),
                                                   "fingerprint": embedder.fingerprint()})
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            yield batch["pos"], np.asarray(batch["vector"], dtype=np.float32)
    finally:
        if started:
            ray.shutdown()


def embed_shards_ray(embedder, settings, shards: list[list[str]]) -> Iterator[np.ndarray]:
    """The vectors of each shard, in shard order, as soon as the shard is complete (so the
    builder's checkpoints work as on the local path). One Ray job embeds every shard.

    Raises:
        BadInput: Ray is not installed.
    """
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise BadInput("--engine ray needs Ray Data; install it with "
                       "`pip install -r requirements-scale.txt`") from None
    if not shards:
        return
    bounds = np.cumsum([0] + [len(s) for s in shards])
    flat = [t for s in shards for t in s]
    out = np.zeros((len(flat), embedder.dim), dtype=np.float32)
    have = np.zeros(len(flat), dtype=bool)
    nxt = 0
    for pos, vecs in embed_texts_ray(embedder, settings, flat):
        out[pos], have[pos] = vecs, True
        while nxt < len(shards) and have[bounds[nxt]:bounds[nxt + 1]].all():
            yield out[bounds[nxt]:bounds[nxt + 1]].copy()
            nxt += 1
    if nxt < len(shards):
        raise QAError(f"Ray returned {int(have.sum())} of {len(flat)} embeddings; run `qa index` "
                      f"again (embedded shards are kept)")
