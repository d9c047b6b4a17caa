"""Embedding engines: where a build's shards of texts are embedded (this process, or Ray Data).

`ENGINES` maps `Settings.engine` to a function `(embedder, settings, shards)` that yields the
vectors of each shard, in shard order, as soon as that shard is done (the builder saves each
one as a checkpoint). Every engine embeds a shard with one `embedder.embed_batch(shard)` call,
so all of them write the same vectors. "ray" is lazy: Ray is imported only when it is chosen.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from qa.embedders.base import Embedder
from qa.registry import Registry
from qa.settings import Settings

Engine = Callable[[Embedder, Settings, list[list[str]]], Iterator[np.ndarray]]

ENGINES: Registry[Engine] = Registry("embedding engine")


def embed_shards_local(embedder: Embedder, settings: Settings, shards: list[list[str]]) -> Iterator[np.ndarray]:
    """The vectors of each shard, embedded here, one `embed_batch` call per shard.

    Args:
        embedder: the model.
        settings: unused here (the Ray engine reads its address and actor count from it).
        shards: lists of texts.

    Returns:
        An iterator of float32 (len(shard), dim) arrays, in shard order.
    """
    for texts in shards:
        yield embedder.embed_batch(texts)


ENGINES.add("local", embed_shards_local)  # the first is the default, Settings.engine
ENGINES.add_lazy("ray", "qa.embedders.ray_engine:embed_shards_ray")
