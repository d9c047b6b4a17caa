"""Embedding on Ray Data: `qa index --engine ray [--ray-address ADDR]`.

The builder's shards go through `ray.data.from_items(...).map_batches(EmbedActor, ...)`, one
shard per row: a pool of actors, each loading the model once (with the backend's factory from
`qa.embedders.EMBEDDERS`, the same code as the local path), embeds each shard with the very
`embed_batch` call the local path makes
(onnx-int8 scales activations per batch, so equal batches give equal vectors); results come back
tagged with their shard, so the index the builder writes is the one the local path writes. Without an address
a local Ray runtime is started on loopback with at most 2 CPUs and shut down afterwards; with one
(or `RAY_ADDRESS`) the job joins that cluster and its nodes embed.

Ray is imported only here, and this module only when `engine="ray"` is chosen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from qa.errors import BadInput, QAError

LOCAL_CPUS = 2  # a local runtime never takes more (the machine is shared)


class EmbedActor:
    """A Ray Data actor: loads the model once, then embeds batches of `text` rows.

    Args:
        factory: the backend's entry in qa.embedders.EMBEDDERS, `(model, batch_size) -> Embedder`.
        model, batch_size: what the driver's embedder was built with.
        fingerprint: the driver's weights hash; a worker with other weights refuses to embed.
    """

    def __init__(self, factory: Callable, model: str, batch_size: int, fingerprint: str):
        self.embedder = factory(model, batch_size)
        if self.embedder.fingerprint() != fingerprint:  # a node with other weights installed
            raise QAError(f"a Ray worker has other weights of {model!r} ({self.embedder.fingerprint()} "
                          f"vs {fingerprint} on the driver); install the same model package everywhere")

    def __call__(self, batch: dict) -> dict:
        # One row is one whole shard, embedded by exactly the call the local path makes, so the
        # model sees the same batches (int8 activation scales are per batch) and the vectors
        # match the local engine's.
        out = []
        for texts in batch["texts"]:
            vecs = self.embedder.embed_batch([str(t) for t in json.loads(str(texts))])
            out.append(np.ascontiguousarray(vecs, dtype=np.float32).tobytes())
        return {"pos": np.asarray(batch["pos"], dtype=np.int64), "vector": np.array(out, dtype=object)}


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


def embed_groups_ray(embedder, settings, groups: list[list[str]]) -> Iterator[tuple[int, np.ndarray]]:
    """(group index, vectors) for each group of texts, in the order Ray finishes them."""
    from qa.embedders import embedder_factory

    # The actors get the backend's factory from the registry, not its name: Ray pickles it by
    # reference, so a worker imports its module and any registered backend (also one added at
    # run time, like the tests' fake) builds the same embedder there.
    factory = embedder_factory(getattr(embedder, "backend", None))
    started = _start(settings)
    import logging

    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its INFO lines would bury qa's summary
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = settings.ray_actors or max(1, cpus)
        ds = ray.data.from_items([{"pos": i, "texts": json.dumps(g)} for i, g in enumerate(groups)])
        ds = ds.map_batches(EmbedActor, batch_size=1, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1,
                            fn_constructor_kwargs={"factory": factory, "model": embedder.model_id,
                                                   "batch_size": getattr(embedder, "batch_size", 32),
                                                   "fingerprint": embedder.fingerprint()})
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for pos, raw in zip(batch["pos"], batch["vector"]):
                vecs = np.frombuffer(raw, dtype=np.float32).reshape(len(groups[int(pos)]), embedder.dim)
                yield int(pos), vecs
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
    done: dict[int, np.ndarray] = {}
    nxt = 0
    for pos, vecs in embed_groups_ray(embedder, settings, shards):
        done[pos] = vecs
        while nxt in done:  # shard order, as soon as each is complete (checkpoints as locally)
            yield done.pop(nxt)
            nxt += 1
    if nxt < len(shards):
        raise QAError(f"Ray returned {nxt} of {len(shards)} shards; run `qa index` "
                      f"again (embedded shards are kept)")
